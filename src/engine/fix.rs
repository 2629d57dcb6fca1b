//! `fix`: apply each file's plan once, verify the result, then show a diff,
//! write it atomically, or print the bytes (stdin).

use std::path::PathBuf;

use rayon::prelude::*;

use super::{FileReport, Input, Options, Report};
use crate::engine::analysis::FileAnalysis;
use crate::engine::verify::{self, Refusal};
use crate::io::atomic_write::{AtomicWriter, Replacement};
use crate::lints::Finding;
use crate::rewrite::plan::{InstanceKey, InstancePlan, Outcome, Reason, ReasonKind};
use crate::text::edit::{self, TextEdit};
use crate::text::source::SourceFile;

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
    /// What `check` finds in the rewritten file, placed in the file as it is
    /// (a finding inside rewritten text points at the text it replaces).
    pub remaining: Vec<Finding>,
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

    /// Findings that remain after the fix: those of the rewritten files, at
    /// their positions in the new text after `--write`, otherwise placed in
    /// the files as they are ([`FileFix::remaining`]).
    pub fn remaining(&self, write: bool) -> Vec<(&SourceFile, &Finding)> {
        let mut out = Vec::new();
        for (index, file) in self.report.files.iter().enumerate() {
            let applied = self.applied(index);
            match applied.and_then(|f| Some((f.after.as_ref()?, f))) {
                None => out.extend(file.analysis.findings.iter().map(|f| (&file.source, f))),
                Some(((source, after), _)) if write => {
                    out.extend(after.iter().map(|f| (source, f)));
                }
                Some((_, fix)) => {
                    out.extend(fix.remaining.iter().map(|f| (&file.source, f)));
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
            .any(|(_, f)| f.severity() >= crate::lints::Severity::Warning);
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
            for instance in &file.analysis.plan.instances {
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
            .map(|(k, n)| (k.describe(*n), *n))
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
    let mut report = super::run(input, options);
    let files = fix_files(&mut report);
    let mut fixed = FixReport { report, files };
    if write && matches!(input, Input::Paths(_)) {
        write_files(&mut fixed, &AtomicWriter::new());
    }
    fixed
}

/// Plans, then fixes the files with findings a batch at a time ([`FixRun::next_batch`]).
pub fn start(input: &Input, options: &Options, write: bool) -> FixRun {
    FixRun {
        run: super::start(input, options),
        writer: (write && matches!(input, Input::Paths(_))).then(AtomicWriter::new),
        totals: FixTotals::default(),
    }
}

/// A fix whose files are taken, rewritten, verified (and written) a batch at a time.
pub struct FixRun {
    /// The analysis; its errors grow while batches are taken.
    pub run: super::Run,
    /// Set with `--write`.
    writer: Option<AtomicWriter>,
    pub totals: FixTotals,
}

impl FixRun {
    /// The next files with findings, fixed (and written); `None` when all were taken.
    pub fn next_batch(&mut self) -> Option<FixReport> {
        let files = self.run.next_batch()?;
        let mut report = Report {
            files,
            files_scanned: self.run.files_scanned,
            errors: Vec::new(),
            skipped: Vec::new(),
        };
        let files = fix_files(&mut report);
        let mut batch = FixReport { report, files };
        if let Some(writer) = &self.writer {
            write_files(&mut batch, writer);
        }
        self.totals.add(&batch, self.writer.is_some());
        Some(batch)
    }
}

/// Rewrites and verifies each file of `report` that has edits, on all cores.
/// A file whose instances fail verification is planned again without them
/// (its report then says why they are left).
fn fix_files(report: &mut Report) -> Vec<FileFix> {
    report
        .files
        .par_iter_mut()
        .with_max_len(1)
        .enumerate()
        .filter(|(_, file)| !file.analysis.plan.edits.is_empty())
        .map(|(report_index, file)| fix_file(report_index, file))
        .collect()
}

/// Replaces the verified files of `fixed` on disk and records how it went.
fn write_files(fixed: &mut FixReport, writer: &AtomicWriter) {
    let verified: Vec<(usize, Replacement<'_>)> = fixed
        .files
        .iter()
        .enumerate()
        .filter_map(|(index, fix)| {
            let new_text = fix.new_text()?;
            let source = &fixed.report.files[fix.report_index].source;
            Some((index, Replacement { source, new_text }))
        })
        .collect();
    let (indices, batch): (Vec<usize>, Vec<Replacement<'_>>) = verified.into_iter().unzip();
    let outcomes = writer.replace_all(&batch);
    drop(batch);
    for (index, outcome) in indices.into_iter().zip(outcomes) {
        fixed.files[index].status = match outcome {
            Ok(()) => Status::Written,
            Err(reason) => Status::WriteFailed(reason),
        };
    }
}

/// Rewrites and verifies one file; when that fails, leaves the instances whose
/// own rewrite fails verification and migrates the others.
fn fix_file(report_index: usize, file: &mut FileReport) -> FileFix {
    let fix = fix_file_as_planned(report_index, file);
    if !matches!(fix.status, Status::Refused(_)) {
        return fix;
    }
    match without_failing_instances(file) {
        Some(replanned) => {
            let original = std::mem::replace(&mut file.analysis, replanned);
            let again = fix_file_as_planned(report_index, file);
            if matches!(again.status, Status::Refused(_)) {
                file.analysis = original;
                return fix;
            }
            again
        }
        None => fix,
    }
}

/// The analysis of `file` with each migrated instance whose rewrite fails
/// verification on its own left, with the reason; `None` when no instance
/// alone fails (the failure comes from them together) or only one migrates.
fn without_failing_instances(file: &FileReport) -> Option<FileAnalysis> {
    if file.source.kind != crate::text::FileKind::Nix {
        return None;
    }
    let migrated: Vec<InstanceKey> = file
        .analysis
        .plan
        .instances
        .iter()
        .filter(|p| p.outcome == Outcome::Migrated)
        .map(InstancePlan::key)
        .collect();
    if migrated.len() < 2 {
        return None;
    }
    let set_aside = Reason::new(ReasonKind::Verification, "checked separately", None);
    let failing: Vec<(InstanceKey, Reason)> = migrated
        .iter()
        .filter_map(|i| {
            let others: Vec<(InstanceKey, Reason)> = migrated
                .iter()
                .filter(|j| *j != i)
                .map(|j| (j.clone(), set_aside.clone()))
                .collect();
            let alone = FileReport {
                analysis: crate::engine::analysis::analyze_leaving(
                    &file.source,
                    &file.mounts,
                    &file.context,
                    &others,
                ),
                ..file.clone()
            };
            let failure = match rewrite(&alone) {
                Ok(_) => return None,
                Err(Refusal(failure)) => failure,
            };
            let failure = failure.trim_end_matches("; nothing was written");
            Some((
                i.clone(),
                Reason::new(
                    ReasonKind::Verification,
                    format!("its rewrite failed verification ({failure}); the file's other instances are migrated"),
                    None,
                ),
            ))
        })
        .collect();
    if failing.is_empty() || failing.len() == migrated.len() {
        return None;
    }
    Some(crate::engine::analysis::analyze_leaving(
        &file.source,
        &file.mounts,
        &file.context,
        &failing,
    ))
}

/// Rewrites and verifies one file as its analysis plans it.
fn fix_file_as_planned(report_index: usize, file: &FileReport) -> FileFix {
    // Shown (JSON) in offset order; edits that do not normalize fail the
    // rewrite below and are shown as planned.
    let planned = &file.analysis.plan.edits;
    let edits =
        edit::normalize(planned.clone(), &file.source.text).unwrap_or_else(|_| planned.clone());
    let mut fix = FileFix {
        report_index,
        path: file.source.path.clone(),
        edits,
        status: Status::Pending,
        migrated: file.analysis.plan.migrated(),
        corrections: file.analysis.plan.corrections,
        after: None,
        remaining: Vec::new(),
    };
    match rewrite(file) {
        Err(Refusal(reason)) => fix.status = Status::Refused(reason),
        Ok(after) => {
            // The edits applied, so they are the normalized ones.
            fix.remaining = placed_in_original(&file.analysis.findings, &after.1, &fix.edits);
            fix.after = Some(after);
        }
    }
    fix
}

/// The findings of the rewritten text, placed in the text as it was: outside
/// the edits where they are; inside rewritten text at the finding of the
/// original with the same code and message in the text that edit replaced,
/// if there is one (a JSON document rewritten whole keeps its positions),
/// else at the start of what the edit replaced.
fn placed_in_original(before: &[Finding], after: &[Finding], edits: &[TextEdit]) -> Vec<Finding> {
    let mut unused: Vec<&Finding> = before.iter().collect();
    let mut out: Vec<Finding> = after
        .iter()
        .map(|finding| {
            let moved = moved_back(finding, edits);
            let span = moved.primary.span;
            let replaced = edits.iter().find(|e| {
                e.span.start <= span.start && span.end <= e.span.end && !e.span.is_empty()
            });
            let original = replaced.and_then(|edit| {
                unused.iter().position(|b| {
                    b.rule.code == finding.rule.code
                        && b.message == finding.message
                        && edit.span.start <= b.primary.span.start
                        && b.primary.span.end <= edit.span.end
                })
            });
            match original {
                Some(i) => unused.remove(i).clone(),
                None => moved,
            }
        })
        .collect();
    out.sort_by_key(|f| (f.primary.span.start, f.rule.code));
    out
}

/// A finding of the rewritten text, placed in the text as it was.
fn moved_back(finding: &Finding, edits: &[TextEdit]) -> Finding {
    let mut moved = finding.clone();
    moved.primary.span = edit::span_before(edits, moved.primary.span);
    for label in &mut moved.secondary {
        label.span = edit::span_before(edits, label.span);
    }
    moved
}

fn rewrite(file: &FileReport) -> Result<(SourceFile, Vec<Finding>), Refusal> {
    let new_text = edit::apply(&file.source.text, &file.analysis.plan.edits)
        .map_err(|e| Refusal(e.to_string()))?;
    let (rewritten, analysis) = verify::verify(file, &new_text)?;
    Ok((rewritten, analysis.findings))
}
