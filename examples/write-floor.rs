//! The benchmark's floor for `fix --write`: what replacing files atomically
//! costs, with no analysis. It reads the listed files, on all cores, in batches
//! as large as `fix --write`'s, and hands each batch, every file with its own
//! text, to `clan_migrate::io::atomic_write::AtomicWriter`, which `fix --write`
//! writes with (temporary files beside the originals with their permissions and
//! owner, one flush to disk per file system, a second read and comparison, the
//! renames, one flush per directory, the replaced files closed on a thread of
//! their own). The tree is left as it was.
//! `scripts/bench.sh` runs it on the files `fix` changes, in the same run as
//! `fix --write`, so that the time the tool adds can be told from the file
//! system's.
//!
//!   write-floor ROOT LIST   (LIST: one path per line, relative to ROOT)

use clan_migrate::engine::BatchFill;
use clan_migrate::io::atomic_write::{AtomicWriter, Replacement};
use clan_migrate::text::source::{FileKind, SourceFile};
use rayon::prelude::*;
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
    let mut failed = 0usize;
    let writer = AtomicWriter::new();
    // In batches as large as `fix --write`'s (the file's size stands for the
    // length of its text), each flushed to disk at once.
    let mut rest = paths.iter();
    loop {
        let size = |path: &&PathBuf| fs::metadata(path).map_or(0, |m| m.len() as usize);
        let chunk: Vec<PathBuf> = BatchFill::take(&mut rest, size)
            .into_iter()
            .cloned()
            .collect();
        if chunk.is_empty() {
            break;
        }
        failed += replace_batch(&writer, &chunk);
    }
    eprintln!("replaced {} files", paths.len() - failed);
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Replaces each file of `paths` by a copy of itself; returns how many failed.
fn replace_batch(writer: &AtomicWriter, paths: &[PathBuf]) -> usize {
    let sources: Vec<Result<SourceFile, String>> = paths.par_iter().map(|p| read(p)).collect();
    let mut failed = 0usize;
    let mut read = Vec::new();
    for source in sources {
        match source {
            Ok(source) => read.push(source),
            Err(message) => {
                eprintln!("write-floor: {message}");
                failed += 1;
            }
        }
    }
    let batch: Vec<Replacement<'_>> = read
        .iter()
        .map(|source| Replacement {
            source,
            new_text: &source.text,
        })
        .collect();
    for (source, outcome) in read.iter().zip(writer.replace_all(&batch)) {
        if let Err(message) = outcome {
            eprintln!("write-floor: {}: {message}", source.path.display());
            failed += 1;
        }
    }
    failed
}

/// Reads the file at `path` as `clan-migrate` does.
fn read(path: &Path) -> Result<SourceFile, String> {
    let fail = |e: String| format!("{}: {e}", path.display());
    let bytes = fs::read(path).map_err(|e| fail(e.to_string()))?;
    SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::of_path(path))
        .map_err(|e| fail(e.to_string()))
}
