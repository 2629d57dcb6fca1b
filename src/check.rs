//! A `check` run: discover files, analyse each, follow inventory imports across
//! files, and collect one report.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::analysis::{self, FileAnalysis};
use crate::diagnostic::{Finding, Severity};
use crate::discover::{self, IoFailure, Skipped, describe_io_error, normalize};
use crate::source::{FileKind, SourceFile};

/// What to read.
#[derive(Debug, Clone)]
pub enum Input {
    /// Files and directories (walked).
    Paths(Vec<PathBuf>),
    /// Standard input, named `name` in messages.
    Stdin { name: PathBuf },
}

/// The findings of one file, with its text for rendering snippets.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub source: SourceFile,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Files with findings, sorted by path.
    pub files: Vec<FileReport>,
    pub files_scanned: usize,
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = (&SourceFile, &Finding)> {
        self.files
            .iter()
            .flat_map(|f| f.findings.iter().map(move |x| (&f.source, x)))
    }

    /// Counts per rule code, in code order.
    pub fn counts_by_code(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for (_, finding) in self.findings() {
            match counts.iter_mut().find(|(c, _)| *c == finding.rule.code) {
                Some((_, n)) => *n += 1,
                None => counts.push((finding.rule.code, 1)),
            }
        }
        counts.sort_unstable();
        counts
    }

    /// 2 when something could not be read or parsed, 1 when findings remain, 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        let parse_errors = self
            .findings()
            .any(|(_, f)| f.rule.code == crate::lints::parse_error::RULE.code);
        if !self.errors.is_empty() || parse_errors {
            2
        } else if self
            .findings()
            .any(|(_, f)| f.severity() >= Severity::Warning)
        {
            1
        } else {
            0
        }
    }
}

/// Runs `check` over `input`.
pub fn run(input: &Input) -> Report {
    match input {
        Input::Stdin { name } => run_stdin(name),
        Input::Paths(paths) => run_paths(paths),
    }
}

fn run_stdin(name: &Path) -> Report {
    let mut bytes = Vec::new();
    let mut report = Report::default();
    if let Err(err) = std::io::stdin().read_to_end(&mut bytes) {
        report.errors.push(IoFailure {
            path: name.to_path_buf(),
            message: format!("cannot read standard input: {}", describe_io_error(&err)),
        });
        return report;
    }
    match decode(name, bytes) {
        Err(failure) => report.errors.push(failure),
        Ok(source) => {
            let analysis = analysis::analyze(&source, &analysis::default_mounts(&source));
            report.files_scanned = 1;
            push_file(&mut report, source, analysis);
        }
    }
    report
}

/// Reads a file as a [`SourceFile`].
pub fn read_source(path: &Path) -> Result<SourceFile, IoFailure> {
    let bytes = std::fs::read(path).map_err(|err| IoFailure {
        path: path.to_path_buf(),
        message: describe_io_error(&err),
    })?;
    decode(path, bytes)
}

fn decode(path: &Path, bytes: Vec<u8>) -> Result<SourceFile, IoFailure> {
    SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::of_path(path)).map_err(|err| {
        IoFailure {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    })
}

/// A file's analysis; its text is kept only while it has findings (to render them).
struct Entry {
    path: PathBuf,
    source: Option<SourceFile>,
    mounts: Vec<Vec<String>>,
    analysis: FileAnalysis,
}

impl Entry {
    fn new(source: SourceFile, mounts: Vec<Vec<String>>) -> Self {
        let analysis = analysis::analyze(&source, &mounts);
        Entry {
            path: source.path.clone(),
            source: (!analysis.findings.is_empty()).then_some(source),
            mounts,
            analysis,
        }
    }
}

fn run_paths(paths: &[PathBuf]) -> Report {
    let default_paths = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default_paths[..]
    } else {
        paths
    };
    let found = discover::discover(paths);
    let mut report = Report {
        errors: found.errors,
        skipped: found.skipped,
        ..Report::default()
    };

    let mut entries: Vec<Entry> = Vec::with_capacity(found.files.len());
    for path in &found.files {
        match read_source(path) {
            Err(failure) => report.errors.push(failure),
            Ok(source) => {
                let mounts = analysis::default_mounts(&source);
                entries.push(Entry::new(source, mounts));
            }
        }
    }
    follow_imports(&mut entries, &mut report.errors);

    report.files_scanned = entries.len();
    for entry in entries {
        if let Some(source) = entry.source {
            push_file(&mut report, source, entry.analysis);
        }
    }
    report.errors.sort_by(|a, b| a.path.cmp(&b.path));
    report
}

/// Mounts every file that another file imports as (part of) an inventory at the
/// importer's logical path, and analyses it again, until nothing new is mounted.
fn follow_imports(entries: &mut [Entry], errors: &mut Vec<IoFailure>) {
    let index: HashMap<PathBuf, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (normalize(&e.path), i))
        .collect();
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    while let Some(importer) = pending.pop() {
        let dir = entries[importer]
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let imports = entries[importer].analysis.imports.clone();
        for import in imports {
            let target = normalize(&dir.join(&import.path_text));
            let found = index
                .get(&target)
                .or_else(|| index.get(&target.join("default.nix")));
            let Some(&target) = found else {
                continue;
            };
            if entries[target].mounts.contains(&import.mount) {
                continue;
            }
            let mut mounts = entries[target].mounts.clone();
            mounts.push(import.mount);
            // The text was dropped if the file had no findings: read it again.
            let source = match entries[target].source.take() {
                Some(source) => source,
                None => match read_source(&entries[target].path) {
                    Ok(source) => source,
                    Err(failure) => {
                        errors.push(failure);
                        continue;
                    }
                },
            };
            entries[target] = Entry::new(source, mounts);
            pending.push(target);
        }
    }
}

fn push_file(report: &mut Report, source: SourceFile, analysis: FileAnalysis) {
    if !analysis.findings.is_empty() {
        report.files.push(FileReport {
            source,
            findings: analysis.findings,
        });
    }
}
