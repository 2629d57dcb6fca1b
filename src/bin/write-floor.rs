//! The benchmark's floor for `fix --write`: what replacing files atomically
//! costs, with no analysis. For each listed file, on all cores, it reads the file
//! and hands its own text to `clan_migrate::fix::write_atomically`, the function
//! `fix --write` writes with (read again and compare, temporary file in the same
//! directory, fsync, permissions and owner, rename); then it flushes each
//! directory once, as `fix --write` does per batch. The tree is left as it was.
//! `scripts/bench.sh` runs it on the files `fix` changes, in the same run as
//! `fix --write`, so that the time the tool adds can be told from the file
//! system's.
//!
//!   write-floor ROOT LIST   (LIST: one path per line, relative to ROOT)

use clan_migrate::source::{FileKind, SourceFile};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [root, list] = args.as_slice() else {
        eprintln!("usage: write-floor ROOT LIST");
        return ExitCode::from(2);
    };
    let list = match fs::read_to_string(list) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("write-floor: cannot read {}: {e}", list.display());
            return ExitCode::from(2);
        }
    };
    let paths: Vec<PathBuf> = list
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| root.join(line))
        .collect();
    let replaced: Vec<Result<PathBuf, String>> = paths.par_iter().map(|p| replace(p)).collect();
    let mut dirs = BTreeSet::new();
    let mut failed = 0usize;
    for result in replaced {
        match result {
            Ok(dir) => {
                dirs.insert(dir);
            }
            Err(message) => {
                eprintln!("write-floor: {message}");
                failed += 1;
            }
        }
    }
    dirs.into_par_iter().for_each(|dir| {
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    });
    eprintln!("replaced {} files", paths.len() - failed);
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Replaces `path` by a copy of itself, atomically; returns its directory.
fn replace(path: &Path) -> Result<PathBuf, String> {
    let fail = |e: String| format!("{}: {e}", path.display());
    let bytes = fs::read(path).map_err(|e| fail(e.to_string()))?;
    let source = SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::of_path(path))
        .map_err(|e| fail(e.to_string()))?;
    clan_migrate::fix::write_atomically(&source, &source.text).map_err(fail)
}
