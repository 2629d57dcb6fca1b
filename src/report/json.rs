//! One JSON document per run; the schema is documented in `docs/json-format.md`.

use std::io::{self, Write};

use serde::Serialize;

use crate::check::Report;
use crate::diagnostic::{Finding, Label, Severity};
use crate::fix::{FixReport, Status};
use crate::source::SourceFile;

/// Bumped on any incompatible change to the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    command: &'static str,
    findings: Vec<JsonFinding<'a>>,
    /// `fix` only: what happened to each file the fix changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<Vec<JsonFix>>,
    errors: Vec<JsonError>,
    skipped: Vec<JsonSkipped>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: String,
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
struct JsonError {
    path: String,
    message: String,
}

#[derive(Serialize)]
struct JsonSkipped {
    path: String,
    reason: String,
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

fn finding<'a>(source: &SourceFile, f: &'a Finding) -> JsonFinding<'a> {
    let mut labels = vec![label(source, &f.primary, true)];
    labels.extend(f.secondary.iter().map(|l| label(source, l, false)));
    JsonFinding {
        path: source.path.display().to_string(),
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

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let findings: Vec<_> = report.findings().collect();
    write_document(report, "check", &findings, None, report.exit_code(), out)
}

pub fn render_fix(fix: &FixReport, write: bool, out: &mut dyn Write) -> io::Result<()> {
    let findings = fix.remaining(write);
    let fixes = fix
        .files
        .iter()
        .filter_map(|f| {
            let source = &fix.report.files.get(f.report_index)?.source;
            let (status, reason) = match &f.status {
                Status::Pending => ("pending", None),
                Status::Written => ("written", None),
                Status::Refused(r) => ("refused", Some(r.clone())),
                Status::WriteFailed(r) => ("write_failed", Some(r.clone())),
            };
            Some(JsonFix {
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
            })
        })
        .collect();
    write_document(
        &fix.report,
        "fix",
        &findings,
        Some(fixes),
        fix.exit_code(write),
        out,
    )
}

fn write_document(
    report: &Report,
    command: &'static str,
    findings: &[(&SourceFile, &Finding)],
    fixes: Option<Vec<JsonFix>>,
    exit_code: u8,
    out: &mut dyn Write,
) -> io::Result<()> {
    let findings: Vec<JsonFinding<'_>> = findings.iter().map(|(s, f)| finding(s, f)).collect();
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for f in &findings {
        *counts.entry(f.code).or_default() += 1;
    }
    let by_code = counts
        .into_iter()
        .map(|(code, n)| (code.to_owned(), serde_json::Value::from(n)))
        .collect();
    let count = |statuses: &[&str]| {
        fixes
            .as_ref()
            .map(|f| f.iter().filter(|x| statuses.contains(&x.status)).count())
    };
    let (files_fixed, files_failed) = (
        count(&["pending", "written"]),
        count(&["refused", "write_failed"]),
    );
    let document = Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        command,
        fixes,
        summary: Summary {
            files_scanned: report.files_scanned,
            findings: findings.len(),
            errors: report.errors.len(),
            skipped: report.skipped.len(),
            files_fixed,
            files_failed,
            by_code,
            exit_code,
        },
        findings,
        errors: report
            .errors
            .iter()
            .map(|e| JsonError {
                path: e.path.display().to_string(),
                message: e.message.clone(),
            })
            .collect(),
        skipped: report
            .skipped
            .iter()
            .map(|s| JsonSkipped {
                path: s.path.display().to_string(),
                reason: s.reason.clone(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
