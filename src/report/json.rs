//! One JSON document per run; the schema is documented in `docs/json-format.md`.

use std::io::{self, Write};

use serde::Serialize;

use std::collections::BTreeMap;

use super::stream;
use crate::engine::fix::{FixReport, Status};
use crate::io::discover::{IoFailure, Skipped};
use crate::lints::{Finding, Label, Severity};
use crate::text::source::SourceFile;

/// Bumped on any incompatible change to the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    command: &'static str,
    /// Written a file at a time (`stream::MARK` stands for it).
    findings: &'static str,
    /// `fix` only: what happened to each file the fix changes (streamed too).
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<&'static str>,
    errors: Vec<JsonError<'a>>,
    skipped: Vec<JsonSkipped<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: &'a str,
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    start: Location,
    end: Location,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    primary: bool,
    message: &'a str,
    start: Location,
    end: Location,
}

#[derive(Serialize)]
struct Location {
    /// Byte offset in the file as stored (a byte-order mark counts).
    offset: usize,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonError<'a> {
    path: String,
    message: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
struct JsonSkipped<'a> {
    path: String,
    reason: &'a str,
}

#[derive(Serialize)]
struct Summary {
    files_scanned: usize,
    findings: usize,
    errors: usize,
    skipped: usize,
    /// `fix` only: files changed (shown or written) and files whose fix failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    files_fixed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files_failed: Option<usize>,
    by_code: serde_json::Map<String, serde_json::Value>,
    exit_code: u8,
}

fn location(source: &SourceFile, offset: usize) -> Location {
    let p = source.position(offset);
    Location {
        offset: source.file_offset(offset),
        line: p.line,
        column: p.column,
    }
}

fn label<'a>(source: &SourceFile, label: &'a Label, primary: bool) -> JsonLabel<'a> {
    JsonLabel {
        primary,
        message: &label.message,
        start: location(source, label.span.start),
        end: location(source, label.span.end),
    }
}

/// `f`, a finding of `source`, whose path is written as `path`.
fn finding<'a>(source: &SourceFile, path: &'a str, f: &'a Finding) -> JsonFinding<'a> {
    let mut labels = vec![label(source, &f.primary, true)];
    labels.extend(f.secondary.iter().map(|l| label(source, l, false)));
    JsonFinding {
        path,
        code: f.rule.code,
        name: f.rule.name,
        severity: f.severity(),
        message: &f.message,
        start: location(source, f.primary.span.start),
        end: location(source, f.primary.span.end),
        labels,
        help: f.help.as_deref(),
        notes: &f.notes,
    }
}

#[derive(Serialize)]
struct JsonFix {
    path: String,
    /// `pending` (shown, not written), `written`, `refused` or `write_failed`.
    status: &'static str,
    reason: Option<String>,
    instances_migrated: usize,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
struct JsonEdit {
    start: Location,
    end: Location,
    insert: String,
}

/// The findings array of the JSON documents.
const FINDINGS_MARK: &str = stream::MARK;
/// The fixes array of `fix`'s document.
const FIXES_MARK: &str = "@@clan-migrate-fixes@@";

/// What the document says besides its streamed arrays.
struct Ending<'a> {
    command: &'static str,
    with_fixes: bool,
    files_scanned: usize,
    errors: &'a [IoFailure],
    skipped: &'a [Skipped],
    /// `fix` only: files changed (shown or written) and files whose fix failed.
    fix_counts: Option<(usize, usize)>,
    exit_code: u8,
}

fn document<'a>(ending: &Ending<'a>, by_code: &BTreeMap<&'static str, u64>) -> Document<'a> {
    Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        command: ending.command,
        findings: FINDINGS_MARK,
        fixes: ending.with_fixes.then_some(FIXES_MARK),
        errors: ending
            .errors
            .iter()
            .map(|e| JsonError {
                path: e.path.display().to_string(),
                message: &e.message,
                kind: e.kind.name(),
            })
            .collect(),
        skipped: ending
            .skipped
            .iter()
            .map(|s| JsonSkipped {
                path: s.path.display().to_string(),
                reason: &s.reason,
            })
            .collect(),
        summary: Summary {
            files_scanned: ending.files_scanned,
            findings: by_code.values().sum::<u64>() as usize,
            errors: ending.errors.len(),
            skipped: ending.skipped.len(),
            files_fixed: ending.fix_counts.map(|(fixed, _)| fixed),
            files_failed: ending.fix_counts.map(|(_, failed)| failed),
            by_code: by_code
                .iter()
                .map(|(code, n)| ((*code).to_owned(), serde_json::Value::from(*n)))
                .collect(),
            exit_code: ending.exit_code,
        },
    }
}

/// The text of the document before the findings, and the indentation of their line.
fn beginning(command: &'static str, with_fixes: bool) -> io::Result<(String, String)> {
    let ending = Ending {
        command,
        with_fixes,
        files_scanned: 0,
        errors: &[],
        skipped: &[],
        fix_counts: None,
        exit_code: 0,
    };
    let (before, _, indent) = stream::split(&document(&ending, &BTreeMap::new()), FINDINGS_MARK)?;
    Ok((before, indent))
}

/// The streamed findings of a document, counted by code for its summary.
struct Findings {
    array: stream::Array,
    by_code: BTreeMap<&'static str, u64>,
}

impl Findings {
    fn new(indent: String) -> Self {
        Findings {
            array: stream::Array::new(indent),
            by_code: BTreeMap::new(),
        }
    }

    /// The next findings of the run, in order.
    fn push(
        &mut self,
        findings: &[(&SourceFile, &Finding)],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        for (_, f) in findings {
            *self.by_code.entry(f.rule.code).or_default() += 1;
        }
        super::stream_by_file(
            &mut self.array,
            findings,
            |source| source.path.display().to_string(),
            |elements, source, path, f, bytes| elements.render(&finding(source, path, f), bytes),
            out,
        )
    }

    /// Closes the array; returns the rest of the document after it.
    fn close(self, ending: Ending<'_>, out: &mut dyn Write) -> io::Result<String> {
        self.array.close(out)?;
        let document = document(&ending, &self.by_code);
        let (_, after, _) = stream::split(&document, FINDINGS_MARK)?;
        Ok(after)
    }
}

/// `check --format json`, written a batch of files at a time.
pub struct CheckStream {
    findings: Findings,
}

impl CheckStream {
    pub fn begin(out: &mut dyn Write) -> io::Result<Self> {
        let (before, indent) = beginning("check", false)?;
        out.write_all(before.as_bytes())?;
        Ok(CheckStream {
            findings: Findings::new(indent),
        })
    }

    pub fn findings(
        &mut self,
        findings: &[(&SourceFile, &Finding)],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.findings.push(findings, out)
    }

    pub fn finish(
        self,
        files_scanned: usize,
        errors: &[IoFailure],
        skipped: &[Skipped],
        exit_code: u8,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let ending = Ending {
            command: "check",
            with_fixes: false,
            files_scanned,
            errors,
            skipped,
            fix_counts: None,
            exit_code,
        };
        let after = self.findings.close(ending, out)?;
        writeln!(out, "{after}")
    }
}

/// `fix --format json`, written a batch of files at a time: the findings that
/// remain go out as they come; the fixes, which the document lists after them,
/// are kept until the end.
pub struct FixStream {
    findings: Findings,
    fixes: stream::Array,
    spool: Vec<u8>,
    fixed: usize,
    failed: usize,
}

impl FixStream {
    pub fn begin(out: &mut dyn Write) -> io::Result<Self> {
        let (before, indent) = beginning("fix", true)?;
        out.write_all(before.as_bytes())?;
        Ok(FixStream {
            findings: Findings::new(indent.clone()),
            fixes: stream::Array::new(indent),
            spool: Vec::new(),
            fixed: 0,
            failed: 0,
        })
    }

    /// The next files of the run: what remains of their findings, and their fixes.
    pub fn batch(&mut self, fix: &FixReport, write: bool, out: &mut dyn Write) -> io::Result<()> {
        self.findings.push(&fix.remaining(write), out)?;
        for f in &fix.files {
            let Some(file) = fix.report.files.get(f.report_index) else {
                continue;
            };
            let source = &file.source;
            let (status, reason) = match &f.status {
                Status::Pending => ("pending", None),
                Status::Written => ("written", None),
                Status::Refused(r) => ("refused", Some(r.clone())),
                Status::WriteFailed(r) => ("write_failed", Some(r.clone())),
            };
            if reason.is_none() {
                self.fixed += 1;
            } else {
                self.failed += 1;
            }
            let entry = JsonFix {
                path: f.path.display().to_string(),
                status,
                reason,
                instances_migrated: f.migrated,
                edits: f
                    .edits
                    .iter()
                    .map(|e| JsonEdit {
                        start: location(source, e.span.start),
                        end: location(source, e.span.end),
                        insert: e.insert.clone(),
                    })
                    .collect(),
            };
            self.fixes.push(&entry, &mut self.spool)?;
        }
        Ok(())
    }

    pub fn finish(
        self,
        files_scanned: usize,
        errors: &[IoFailure],
        skipped: &[Skipped],
        exit_code: u8,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let ending = Ending {
            command: "fix",
            with_fixes: true,
            files_scanned,
            errors,
            skipped,
            fix_counts: Some((self.fixed, self.failed)),
            exit_code,
        };
        let after = self.findings.close(ending, out)?;
        let quoted = format!("\"{FIXES_MARK}\"");
        let Some((between, after)) = after.split_once(&quoted) else {
            return Err(io::Error::other("fixes missing from the document"));
        };
        out.write_all(between.as_bytes())?;
        out.write_all(&self.spool)?;
        self.fixes.close(out)?;
        writeln!(out, "{after}")
    }
}
