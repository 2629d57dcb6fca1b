//! The benchmark baseline: the same file walk as `clan-migrate`, then an rnix
//! parse of every file on one thread, and nothing else. `scripts/bench.sh`
//! reports clan-migrate's times as ratios to this one, measured in the same run.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: parse-baseline PATHS...");
        return ExitCode::from(2);
    }
    let found = clan_migrate::io::discover::discover(&paths, &Default::default());
    let (mut files, mut bytes, mut with_errors) = (0usize, 0usize, 0usize);
    for path in &found.files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let parse = rnix::Root::parse(&text);
        files += 1;
        bytes += text.len();
        with_errors += usize::from(!parse.errors().is_empty());
    }
    eprintln!("parsed {files} files, {bytes} bytes, {with_errors} with syntax errors");
    ExitCode::SUCCESS
}
