//! The engine behind `check` and `fix`, in two passes over the files of a run.
//!
//! Pass 1 ([`collect`]) reads and parses every file once and keeps what it says
//! for other files (instance names, settings paths, machines and tags, inventory
//! imports), together with its analysis done with what the file alone tells; the
//! text and syntax tree are dropped. Imported inventory files are mounted and
//! collected until no new mount appears. The clans are then put together from
//! those facts ([`clans`]): each file learns what the other files of its clan
//! define. Pass 2 ([`Run::next_batch`]) hands out the files with something to
//! report in path order, a batch at a time: each is read again (it must not have
//! changed), and analysed again only when what its clan told it differs from
//! what pass 1 assumed. `fix` then verifies and writes each batch
//! ([`fix`]).

pub mod analysis;
mod clans;
mod collect;
pub mod fix;
mod surroundings;
pub mod verify;

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::inventory::context::FileContext;
use crate::io::discover::{FailureKind, IoFailure, Skipped, describe_io_error};
use crate::text::{FileKind, SourceFile};
use analysis::FileAnalysis;

use collect::Collected;

/// What to read.
#[derive(Debug, Clone)]
pub enum Input {
    /// Files and directories (walked).
    Paths(Vec<PathBuf>),
    /// Standard input, named `name` in messages.
    Stdin { name: PathBuf },
}

/// Options that change what a fix would write (and so what `check` says).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `module.input` to write; read from the nearest `flake.nix` when `None`.
    pub module_input: Option<String>,
    pub tags_as_attrs: bool,
    /// Parse every file (by default files that cannot hold inventory code are skipped).
    pub no_prefilter: bool,
    /// Keep no migration plans in the reports (`check` renders findings only;
    /// `fix` applies plans).
    pub drop_plans: bool,
    /// How directories are walked (ignore files, `--exclude`).
    pub walk: crate::io::discover::WalkOptions,
    /// `--select` / `--ignore` (over those of `clan-migrate.toml`).
    pub rules: crate::inventory::config::RuleSelection,
}

/// One file with findings: its text, where other files mount it, the
/// surroundings it was analysed in, and what the analysis found.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub source: SourceFile,
    pub mounts: Vec<Vec<String>>,
    pub context: FileContext,
    pub analysis: FileAnalysis,
}

impl FileReport {
    pub fn new(
        source: SourceFile,
        mounts: Vec<Vec<String>>,
        context: FileContext,
        analysis: FileAnalysis,
    ) -> Self {
        FileReport {
            source,
            mounts,
            context,
            analysis,
        }
    }
}

/// A whole run at once (tests and `fix -`).
#[derive(Debug, Default)]
pub struct Report {
    /// Files with findings, sorted by path.
    pub files: Vec<FileReport>,
    pub files_scanned: usize,
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    /// Whether something could not be read or parsed.
    pub fn has_errors(&self) -> bool {
        let parse_error = &crate::lints::parse_error::RULE;
        !self.errors.is_empty()
            || self.files.iter().any(|file| {
                file.analysis
                    .findings
                    .iter()
                    .any(|f| std::ptr::eq(f.rule, parse_error))
            })
    }
}

/// A run whose first pass is done: its files with something to report wait to
/// be taken in path order, a batch at a time.
pub struct Run {
    files: std::vec::IntoIter<Collected>,
    options: Options,
    pub files_scanned: usize,
    /// The clan directories read for what they tell the named files, and how
    /// many files of them were read.
    pub context_roots: Vec<std::path::PathBuf>,
    pub context_files: usize,
    /// Errors so far; taking a batch can add some (a file that changed or can no
    /// longer be read).
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
}

/// Runs pass 1 over `input` and puts the clans together.
pub fn start(input: &Input, options: &Options) -> Run {
    match input {
        Input::Stdin { name } => start_stdin(name, options),
        Input::Paths(paths) => {
            let collection = collect::collect(paths, options);
            let mut files = collection.files;
            clans::resolve(&mut files, &collection.flakes);
            files.retain(|file| !file.context_only);
            Run {
                files: files.into_iter(),
                options: options.clone(),
                files_scanned: collection.files_scanned,
                context_roots: collection.context_roots,
                context_files: collection.context_files,
                errors: collection.errors,
                skipped: collection.skipped,
            }
        }
    }
}

/// Runs both passes over `input` and keeps every file with findings.
pub fn run(input: &Input, options: &Options) -> Report {
    start(input, options).into_report()
}

impl Run {
    /// The next files with findings, in path order; `None` when all were taken.
    pub fn next_batch(&mut self) -> Option<Vec<FileReport>> {
        let batch = BatchFill::take(&mut self.files, |file| file.len);
        if batch.is_empty() {
            return None;
        }
        let options = &self.options;
        let taken: Vec<Result<Option<FileReport>, IoFailure>> = batch
            .into_par_iter()
            .with_max_len(1)
            .map(|file| report(file, options))
            .collect();
        let mut files = Vec::new();
        for result in taken {
            match result {
                Ok(Some(file)) => files.push(file),
                Ok(None) => {}
                Err(failure) => self.errors.push(failure),
            }
        }
        Some(files)
    }

    /// The whole run as one report.
    pub fn into_report(mut self) -> Report {
        let mut files = Vec::new();
        while let Some(batch) = self.next_batch() {
            files.extend(batch);
        }
        self.errors.sort_by(|a, b| a.path.cmp(&b.path));
        Report {
            files,
            files_scanned: self.files_scanned,
            errors: self.errors,
            skipped: self.skipped,
        }
    }
}

/// Pass 2 for one file: its text read again, and its analysis (kept from pass
/// 1, or made now with the clan's facts).
fn report(mut file: Collected, options: &Options) -> Result<Option<FileReport>, IoFailure> {
    let source = match file.stdin.take() {
        Some(source) => *source,
        None => {
            crate::failpoint::change_file("changed-before-second-read", &file.path);
            let source = read_source(&file.path)?;
            if source.text.len() != file.len || collect::digest(&source) != file.digest {
                return Err(IoFailure {
                    kind: FailureKind::Read,
                    path: file.path,
                    message:
                        "the file changed while clan-migrate was reading the tree; run it again"
                            .into(),
                });
            }
            source
        }
    };
    let context = file.context();
    let mut analysis = match file.analysis.and_then(collect::Held::take) {
        Some(analysis) => analysis,
        None => analysis::analyze(&source, &file.mounts, &context),
    };
    if options.drop_plans {
        analysis.plan = Default::default();
    }
    if analysis.findings.is_empty() && !file.keep_text {
        return Ok(None);
    }
    Ok(Some(FileReport {
        source,
        mounts: file.mounts,
        context,
        analysis,
    }))
}

/// Standard input: one file, in the surroundings of its name.
fn start_stdin(name: &Path, options: &Options) -> Run {
    let mut run = Run {
        files: Vec::new().into_iter(),
        options: options.clone(),
        files_scanned: 0,
        context_roots: Vec::new(),
        context_files: 0,
        errors: Vec::new(),
        skipped: Vec::new(),
    };
    let mut bytes = Vec::new();
    if let Err(err) = std::io::stdin().read_to_end(&mut bytes) {
        run.errors.push(IoFailure {
            kind: FailureKind::Read,
            path: name.to_path_buf(),
            message: format!("cannot read standard input: {}", describe_io_error(&err)),
        });
        return run;
    }
    match decode(name, bytes) {
        Err(failure) => run.errors.push(failure),
        Ok(source) => {
            let mut around = surroundings::Surroundings::new(options);
            let dir = around.dir_of(name);
            run.errors.append(&mut around.take_errors());
            run.files_scanned = 1;
            run.files = vec![Collected::stdin(source, dir, options)].into_iter();
        }
    }
    run
}

/// Reads a file as a [`SourceFile`].
pub fn read_source(path: &Path) -> Result<SourceFile, IoFailure> {
    let bytes = std::fs::read(path).map_err(|err| IoFailure {
        kind: FailureKind::Read,
        path: path.to_path_buf(),
        message: describe_io_error(&err),
    })?;
    decode(path, bytes)
}

fn decode(path: &Path, bytes: Vec<u8>) -> Result<SourceFile, IoFailure> {
    SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::of_path(path)).map_err(|err| {
        IoFailure {
            kind: FailureKind::Read,
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    })
}

/// How many files a batch of pass 2 takes: up to [`BatchFill::FILES`] files,
/// or fewer once they hold [`BatchFill::BYTES`] of text, but never fewer than
/// [`BatchFill::MIN_FILES`] unless the run has no more. A batch's texts,
/// findings, rewritten texts and diffs are what a run holds at a time.
#[derive(Debug, Default)]
pub struct BatchFill {
    files: usize,
    bytes: usize,
}

impl BatchFill {
    pub const FILES: usize = 512;
    pub const BYTES: usize = 1 << 20;
    pub const MIN_FILES: usize = 64;

    fn add(&mut self, bytes: usize) {
        self.files += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }

    fn is_full(&self) -> bool {
        self.files >= Self::FILES || (self.files >= Self::MIN_FILES && self.bytes >= Self::BYTES)
    }

    /// The next batch of `items`, each of `bytes_of` bytes.
    pub fn take<T>(items: &mut impl Iterator<Item = T>, bytes_of: impl Fn(&T) -> usize) -> Vec<T> {
        let mut fill = BatchFill::default();
        let mut batch = Vec::new();
        while !fill.is_full() {
            let Some(item) = items.next() else {
                break;
            };
            fill.add(bytes_of(&item));
            batch.push(item);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::BatchFill;

    fn first_batch(sizes: impl IntoIterator<Item = usize>) -> usize {
        BatchFill::take(&mut sizes.into_iter(), |size| *size).len()
    }

    #[test]
    fn a_batch_is_bounded_by_files_and_by_bytes() {
        assert_eq!(
            first_batch(std::iter::repeat_n(800, 2000)),
            BatchFill::FILES
        );
        let per_batch = BatchFill::BYTES / 8192;
        assert!(BatchFill::MIN_FILES < per_batch && per_batch < BatchFill::FILES);
        assert_eq!(first_batch(std::iter::repeat_n(8192, 2000)), per_batch);
        assert_eq!(
            first_batch(std::iter::repeat_n(1 << 20, 2000)),
            BatchFill::MIN_FILES
        );
        assert_eq!(first_batch(std::iter::repeat_n(1 << 20, 3)), 3);
        assert_eq!(first_batch([usize::MAX, usize::MAX, 1]), 3);
    }
}
