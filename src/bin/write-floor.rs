//! The benchmark's floor for `fix --write`: what replacing files atomically
//! costs the file system, with no analysis. For each listed file, on all cores,
//! as `clan-migrate fix --write` does: read it (has it changed?), write its bytes
//! to a temporary file in the same directory, flush that to disk, give it the
//! original's permissions, rename it over the file; then flush each directory
//! once. The bytes written are the file's own, so the tree is left as it was.
//! `scripts/bench.sh` runs it on the files `fix` changes, in the same run as
//! `fix --write`, so that the time the tool adds can be told from the file
//! system's.
//!
//!   write-floor ROOT LIST   (LIST: one path per line, relative to ROOT)

use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
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
    let fail = |what: &str, e: std::io::Error| format!("{}: {what}: {e}", path.display());
    let bytes = fs::read(path).map_err(|e| fail("read", e))?;
    let permissions = fs::metadata(path)
        .map_err(|e| fail("metadata", e))?
        .permissions();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".write-floor-")
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file", e))?;
    temp.write_all(&bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| fail("write", e))?;
    fs::set_permissions(temp.path(), permissions).map_err(|e| fail("set permissions", e))?;
    temp.persist(path).map_err(|e| fail("rename", e.error))?;
    Ok(dir.to_path_buf())
}
