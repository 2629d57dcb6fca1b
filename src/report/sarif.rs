//! SARIF 2.1.0 (GitHub code scanning and other static-analysis viewers).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::span_positions;
use super::stream;
use crate::diagnostic::{Finding, Label, Severity};
use crate::discover::IoFailure;
use crate::lints::RULES;
use crate::source::SourceFile;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn location(source: &SourceFile, label: &Label) -> Value {
    let (start, end) = span_positions(source, label.span);
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(source) },
            "region": {
                "startLine": start.line,
                "startColumn": start.column,
                "endLine": end.line,
                "endColumn": end.column,
            }
        }
    });
    if !label.message.is_empty() {
        location["message"] = json!({ "text": label.message });
    }
    location
}

/// A relative URI with forward slashes, as SARIF viewers expect.
fn uri(source: &SourceFile) -> String {
    let path = source.path.display().to_string().replace('\\', "/");
    path.strip_prefix("./").unwrap_or(&path).to_owned()
}

fn result(source: &SourceFile, finding: &Finding) -> Value {
    let rule_index = RULES
        .iter()
        .position(|r| r.code == finding.rule.code)
        .unwrap_or(0);
    let mut text = finding.message.clone();
    for note in &finding.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    if let Some(help) = &finding.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    json!({
        "ruleId": finding.rule.code,
        "ruleIndex": rule_index,
        "level": level(finding.severity()),
        "message": { "text": text },
        "locations": [location(source, &finding.primary)],
        "relatedLocations": finding
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut related = location(source, l);
                related["id"] = json!(i + 1);
                related
            })
            .collect::<Vec<_>>(),
    })
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
        for &(source, finding) in findings {
            self.results.push(&result(source, finding), out)?;
        }
        Ok(())
    }

    pub fn finish(self, errors: &[IoFailure], out: &mut dyn Write) -> io::Result<()> {
        self.results.close(out)?;
        let (_, after, _) = stream::split(&document(json!(stream::MARK), errors), stream::MARK)?;
        writeln!(out, "{after}")
    }
}
