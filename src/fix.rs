//! `fix`: apply each file's plan once, verify the result, then show a diff,
//! write it atomically, or print the bytes (stdin).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::check::{self, FileReport, Input, Options, Report};
use crate::diagnostic::Finding;
use crate::discover::describe_io_error;
use crate::rewrite::edit::{self, TextEdit};
use crate::rewrite::plan::{Outcome, ReasonKind};
use crate::rewrite::verify::{self, Refusal};
use crate::source::{BOM, SourceFile};

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The rewrite is verified and waiting (diff mode, stdin).
    Pending,
    Written,
    /// Verification failed; nothing was written.
    Refused(String),
    /// The write itself failed; the file is unchanged.
    WriteFailed(String),
}

#[derive(Debug, Clone)]
pub struct FileFix {
    /// Index of the file in `FixReport::report.files`.
    pub report_index: usize,
    pub path: PathBuf,
    pub edits: Vec<TextEdit>,
    pub status: Status,
    pub migrated: usize,
    /// Mistakes in `inventory.instances` code corrected.
    pub corrections: usize,
    /// The rewritten file and what `check` finds in it, once verified.
    pub after: Option<(SourceFile, Vec<Finding>)>,
}

#[derive(Debug)]
pub struct FixReport {
    /// The analysis before fixing (its findings, files and plans).
    pub report: Report,
    /// Files the fix changes (or tried to), in path order.
    pub files: Vec<FileFix>,
}

impl FileFix {
    /// The rewritten text, once verified.
    pub fn new_text(&self) -> Option<&str> {
        self.after.as_ref().map(|(source, _)| source.text.as_str())
    }
}

impl FixReport {
    /// The fix of the report's `index`-th file, if it has one.
    pub fn fix_for(&self, index: usize) -> Option<&FileFix> {
        // `files` is in report order, so a binary search finds it.
        self.files
            .binary_search_by_key(&index, |f| f.report_index)
            .ok()
            .map(|i| &self.files[i])
    }

    /// The fix of a file that was applied (shown or written).
    fn applied(&self, index: usize) -> Option<&FileFix> {
        self.fix_for(index)
            .filter(|f| matches!(f.status, Status::Pending | Status::Written))
    }

    /// Findings that remain after the fix. After `--write`, those of the rewritten
    /// files (positions in the new text). Otherwise the original findings (positions
    /// in the files as they are) that the rewritten text still has: a finding is
    /// resolved when no finding with its code and message is left.
    pub fn remaining(&self, write: bool) -> Vec<(&SourceFile, &Finding)> {
        let mut out = Vec::new();
        for (index, file) in self.report.files.iter().enumerate() {
            let after = self.applied(index).and_then(|f| f.after.as_ref());
            match after {
                None => out.extend(file.findings.iter().map(|f| (&file.source, f))),
                Some((source, after)) if write => out.extend(after.iter().map(|f| (source, f))),
                Some((_, after)) => {
                    let mut left: Vec<&Finding> = after.iter().collect();
                    for finding in &file.findings {
                        let same = |a: &&Finding| {
                            a.rule.code == finding.rule.code && a.message == finding.message
                        };
                        if let Some(i) = left.iter().position(same) {
                            left.swap_remove(i);
                            out.push((&file.source, finding));
                        }
                    }
                }
            }
        }
        out
    }

    pub fn instances_migrated(&self) -> usize {
        self.files
            .iter()
            .filter(|f| matches!(f.status, Status::Pending | Status::Written))
            .map(|f| f.migrated)
            .sum()
    }

    pub fn corrections(&self) -> usize {
        self.files
            .iter()
            .filter(|f| matches!(f.status, Status::Pending | Status::Written))
            .map(|f| f.corrections)
            .sum()
    }

    pub fn exit_code(&self, write: bool) -> u8 {
        self.exit_code_with(write, &self.remaining(write))
    }

    /// [`FixReport::exit_code`] with `remaining` (from [`FixReport::remaining`]) at hand.
    fn exit_code_with(&self, write: bool, remaining: &[(&SourceFile, &Finding)]) -> u8 {
        let failed = self
            .files
            .iter()
            .any(|f| matches!(f.status, Status::Refused(_) | Status::WriteFailed(_)));
        if self.report.has_errors() || failed {
            return 2;
        }
        let remaining = remaining
            .iter()
            .any(|(_, f)| f.severity() >= crate::diagnostic::Severity::Warning);
        let pending = !write && self.files.iter().any(|f| f.status == Status::Pending);
        u8::from(remaining || pending)
    }
}

/// Legacy instances left as they are, by the class of the first reason, and
/// migrated instances in files whose fix failed.
#[derive(Debug, Default, Clone)]
pub struct LeftInstances {
    by_reason: std::collections::BTreeMap<ReasonKind, usize>,
    refused: usize,
    unwritten: usize,
}

impl LeftInstances {
    pub fn add(&mut self, fix: &FixReport) {
        for (index, file) in fix.report.files.iter().enumerate() {
            let status = fix.fix_for(index).map(|f| &f.status);
            for instance in &file.plan.instances {
                match (&instance.outcome, status) {
                    (Outcome::Left(reason, _), _) => {
                        *self.by_reason.entry(reason.kind).or_default() += 1;
                    }
                    (Outcome::Migrated, Some(Status::Refused(_))) => self.refused += 1,
                    (Outcome::Migrated, Some(Status::WriteFailed(_))) => self.unwritten += 1,
                    (Outcome::Migrated, _) => {}
                }
            }
        }
    }

    /// Counts with what they count, in the order of the reasons' classes.
    pub fn describe(&self) -> Vec<(&'static str, usize)> {
        let mut out: Vec<(&'static str, usize)> = self
            .by_reason
            .iter()
            .map(|(k, n)| (k.describe(), *n))
            .collect();
        if self.refused > 0 {
            out.push(("in files whose rewrite failed verification", self.refused));
        }
        if self.unwritten > 0 {
            out.push(("in files that could not be written", self.unwritten));
        }
        out
    }
}

/// What the batches of a fix add up to (for the summary line and the exit code).
#[derive(Debug, Default, Clone)]
pub struct FixTotals {
    pub migrated: usize,
    pub corrections: usize,
    /// Files changed (shown or written), written, and not changed because of an error.
    pub changed: usize,
    pub written: usize,
    pub failed: usize,
    /// Findings that remain.
    pub remaining: usize,
    pub left: LeftInstances,
    /// The exit code the batches call for (read errors aside).
    exit_code: u8,
}

impl FixTotals {
    pub fn add(&mut self, fix: &FixReport, write: bool) {
        let changed = |f: &&FileFix| matches!(f.status, Status::Pending | Status::Written);
        self.migrated += fix.instances_migrated();
        self.corrections += fix.corrections();
        self.changed += fix.files.iter().filter(changed).count();
        self.written += fix
            .files
            .iter()
            .filter(|f| f.status == Status::Written)
            .count();
        self.failed += fix
            .files
            .iter()
            .filter(|f| matches!(f.status, Status::Refused(_) | Status::WriteFailed(_)))
            .count();
        let remaining = fix.remaining(write);
        self.remaining += remaining.len();
        self.left.add(fix);
        self.exit_code = self.exit_code.max(fix.exit_code_with(write, &remaining));
    }

    /// The run's exit code; `read_errors`: something could not be read.
    pub fn exit_code(&self, read_errors: bool) -> u8 {
        if read_errors { 2 } else { self.exit_code }
    }
}

/// Plans, applies and verifies; writes when `write` is set.
pub fn run(input: &Input, options: &Options, write: bool) -> FixReport {
    let report = check::run(input, options);
    let write = write && matches!(input, Input::Paths(_));
    let files = fix_files(&report, write);
    FixReport { report, files }
}

/// Plans, then fixes the files with findings a batch at a time ([`FixRun::next_batch`]).
pub fn start(input: &Input, options: &Options, write: bool) -> FixRun {
    FixRun {
        run: check::start(input, options),
        write: write && matches!(input, Input::Paths(_)),
        totals: FixTotals::default(),
    }
}

/// A fix whose files are taken, rewritten, verified (and written) a batch at a time.
pub struct FixRun {
    /// The analysis; its errors grow while batches are taken.
    pub run: check::Run,
    write: bool,
    pub totals: FixTotals,
}

impl FixRun {
    /// The next files with findings, fixed; `None` when all were taken.
    pub fn next_batch(&mut self) -> Option<FixReport> {
        let files = self.run.next_batch()?;
        let report = Report {
            files,
            files_scanned: self.run.files_scanned,
            errors: Vec::new(),
            skipped: Vec::new(),
        };
        let files = fix_files(&report, self.write);
        let batch = FixReport { report, files };
        self.totals.add(&batch, self.write);
        Some(batch)
    }
}

/// Rewrites, verifies (and writes) each file of `report` that has edits, on all cores.
fn fix_files(report: &Report, write: bool) -> Vec<FileFix> {
    let fixed: Vec<(FileFix, Option<PathBuf>)> = report
        .files
        .par_iter()
        .enumerate()
        .filter(|(_, file)| !file.plan.edits.is_empty())
        .map(|(report_index, file)| fix_file(report_index, file, write))
        .collect();
    // The renames are made durable once per directory, not once per file.
    let dirs: std::collections::BTreeSet<&PathBuf> =
        fixed.iter().filter_map(|(_, dir)| dir.as_ref()).collect();
    dirs.into_par_iter().for_each(|dir| {
        if let Ok(dir) = fs::File::open(dir) {
            // Best effort: the rename is already durable on most file systems, and a
            // failure here does not undo the write.
            let _ = dir.sync_all();
        }
    });
    fixed.into_iter().map(|(fix, _)| fix).collect()
}

/// Rewrites, verifies and (with `write`) writes one file; also returns the
/// directory a file was renamed into.
fn fix_file(report_index: usize, file: &FileReport, write: bool) -> (FileFix, Option<PathBuf>) {
    let mut fix = FileFix {
        report_index,
        path: file.source.path.clone(),
        edits: file.plan.edits.clone(),
        status: Status::Pending,
        migrated: file.plan.migrated(),
        corrections: file.plan.corrections,
        after: None,
    };
    let mut renamed_in = None;
    match rewrite(file) {
        Err(Refusal(reason)) => fix.status = Status::Refused(reason),
        Ok(after) => {
            if write {
                fix.status = match write_atomically(&file.source, &after.0.text) {
                    Ok(dir) => {
                        renamed_in = Some(dir);
                        Status::Written
                    }
                    Err(reason) => Status::WriteFailed(reason),
                };
            }
            fix.after = Some(after);
        }
    }
    (fix, renamed_in)
}

fn rewrite(file: &FileReport) -> Result<(SourceFile, Vec<Finding>), Refusal> {
    let new_text =
        edit::apply(&file.source.text, &file.plan.edits).map_err(|e| Refusal(e.to_string()))?;
    let (rewritten, analysis) = verify::verify(file, &new_text)?;
    Ok((rewritten, analysis.findings))
}

/// The file's bytes as they were read.
pub fn original_bytes(source: &SourceFile) -> Vec<u8> {
    with_bom(source, &source.text)
}

pub fn with_bom(source: &SourceFile, text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if source.bom {
        bytes.extend_from_slice(BOM.as_bytes());
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// Replaces the file with `new_text` (its byte-order mark kept): a temporary file
/// in the same directory, flushed to disk, given the original's permissions and
/// owner, then renamed over it. Refuses when the file changed since it was read
/// or is read-only. Returns the directory that holds the file (the caller
/// flushes it, once for all the files written there). Public for the
/// benchmark's file-system floor (`src/bin/write-floor.rs`).
pub fn write_atomically(source: &SourceFile, new_text: &str) -> Result<PathBuf, String> {
    let path = target_of(&source.path);
    crate::failpoint::change_file("changed-before-write", &path);
    let current = fs::read(&path).map_err(|e| {
        format!(
            "cannot read it again before writing: {}",
            describe_io_error(&e)
        )
    })?;
    if current != original_bytes(source) {
        return Err("the file changed since it was read; not written (run the fix again)".into());
    }
    let metadata = fs::metadata(&path).map_err(|e| describe_io_error(&e))?;
    let permissions = metadata.permissions();
    // A read-only file is a decision of its owner; replacing it by rename would
    // sidestep it (and root ignores the mode bits altogether).
    if permissions.readonly() || fs::OpenOptions::new().write(true).open(&path).is_err() {
        return Err("the file is read-only; not written (make it writable to fix it)".into());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".clan-migrate-")
        .tempfile_in(dir)
        .map_err(|e| {
            format!(
                "cannot create a temporary file in {}: {}",
                dir.display(),
                describe_io_error(&e)
            )
        })?;
    temp.write_all(&with_bom(source, new_text))
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| format!("cannot write the temporary file: {}", describe_io_error(&e)))?;
    fs::set_permissions(temp.path(), permissions).map_err(|e| describe_io_error(&e))?;
    keep_owner(&temp, &metadata)?;
    if crate::failpoint::hit("fail-before-rename", &path) {
        return Err("cannot replace the file: injected failure".into());
    }
    if crate::failpoint::hit("abort-before-rename", &path) {
        std::process::abort();
    }
    temp.persist(&path)
        .map_err(|e| format!("cannot replace the file: {}", describe_io_error(&e.error)))?;
    Ok(dir.to_path_buf())
}

/// Gives the temporary file the original's owner and group (the rename would
/// otherwise hand the file to whoever runs the fix, e.g. root).
fn keep_owner(temp: &tempfile::NamedTempFile, original: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let current = temp
        .as_file()
        .metadata()
        .map_err(|e| describe_io_error(&e))?;
    if current.uid() == original.uid() && current.gid() == original.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(temp.as_file(), Some(original.uid()), Some(original.gid())).map_err(
        |e| {
            format!(
                "cannot give the new file the original's owner {}:{}: {}; not written",
                original.uid(),
                original.gid(),
                describe_io_error(&e)
            )
        },
    )
}

/// A symbolic link named explicitly is written through: its target is replaced.
fn target_of(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}
