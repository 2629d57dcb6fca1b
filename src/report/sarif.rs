//! SARIF 2.1.0 (GitHub code scanning and other static-analysis viewers).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};

use super::span_positions;
use super::stream;
use crate::io::discover::IoFailure;
use crate::lints::RULES;
use crate::lints::{Finding, Label, Severity};
use crate::text::source::SourceFile;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A result, as typed data: serialized like the `json!` value it stands for
/// (fields in this order), without building a map per object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text<String>,
    locations: [Location<'a>; 1],
    related_locations: Vec<Location<'a>>,
}

#[derive(Serialize)]
struct Text<T> {
    text: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text<&'a str>>,
    /// Related locations only: 1, 2, … in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

fn location<'a>(
    source: &SourceFile,
    uri: &'a str,
    label: &'a Label,
    id: Option<usize>,
) -> Location<'a> {
    let (start, end) = span_positions(source, label.span);
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri },
            region: Region {
                start_line: start.line,
                start_column: start.column,
                end_line: end.line,
                end_column: end.column,
            },
        },
        message: (!label.message.is_empty()).then_some(Text {
            text: label.message.as_str(),
        }),
        id,
    }
}

/// A relative URI with forward slashes, as SARIF viewers expect.
fn uri(source: &SourceFile) -> String {
    let path = source.path.display().to_string().replace('\\', "/");
    path.strip_prefix("./").unwrap_or(&path).to_owned()
}

fn result<'a>(source: &SourceFile, uri: &'a str, finding: &'a Finding) -> SarifResult<'a> {
    let rule_index = RULES
        .iter()
        .position(|r| r.code == finding.rule.code)
        .unwrap_or(0);
    let mut text = finding.message.clone();
    for note in &finding.notes {
        text.push_str("\nnote: ");
        text.push_str(note);
    }
    if let Some(help) = &finding.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    SarifResult {
        rule_id: finding.rule.code,
        rule_index,
        level: level(finding.severity()),
        message: Text { text },
        locations: [location(source, uri, &finding.primary, None)],
        related_locations: finding
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| location(source, uri, l, Some(i + 1)))
            .collect(),
    }
}

fn document(results: Value, errors: &[IoFailure]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.docs },
                "defaultConfiguration": { "level": level(r.severity) },
            })
        })
        .collect();
    let notifications: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.path.display(), e.message) },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": env!("CARGO_PKG_NAME"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
        }],
    })
}

/// One SARIF log, its results written a batch of files at a time.
pub struct Stream {
    results: stream::Array,
}

impl Stream {
    pub fn begin(out: &mut dyn Write) -> io::Result<Self> {
        let (before, _, indent) = stream::split(&document(json!(stream::MARK), &[]), stream::MARK)?;
        out.write_all(before.as_bytes())?;
        Ok(Stream {
            results: stream::Array::new(indent),
        })
    }

    pub fn findings(
        &mut self,
        findings: &[(&SourceFile, &Finding)],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        super::stream_by_file(
            &mut self.results,
            findings,
            uri,
            |elements, source, uri, finding, bytes| {
                elements.render(&result(source, uri, finding), bytes)
            },
            out,
        )
    }

    pub fn finish(self, errors: &[IoFailure], out: &mut dyn Write) -> io::Result<()> {
        self.results.close(out)?;
        let (_, after, _) = stream::split(&document(json!(stream::MARK), errors), stream::MARK)?;
        writeln!(out, "{after}")
    }
}
