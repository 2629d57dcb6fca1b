//! Renderers for a report, one per output format.

pub mod concise;
pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::check::Report;
use crate::inventory::Span;
use crate::source::{Position, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics with source snippets
    Human,
    /// one line per finding: `path:line:col: CODE message`
    Concise,
    /// one JSON document (schema: docs/json-format.md)
    Json,
    /// GitHub Actions workflow annotations
    Github,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

/// Writes `report` to `out` in `format`.
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::render(report, color, out),
        Format::Concise => concise::render(report, out),
        Format::Json => json::render(report, out),
        Format::Github => github::render(report, out),
        Format::Sarif => sarif::render(report, out),
    }
}

/// Start and end positions of a span.
pub fn span_positions(source: &SourceFile, span: Span) -> (Position, Position) {
    (source.position(span.start), source.position(span.end))
}

/// The one-line summary printed on stderr.
pub fn summary_line(report: &Report) -> String {
    let files = plural(report.files_scanned, "file", "files");
    let counts = report.counts_by_code();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let mut line = if total == 0 {
        format!("checked {files}: no findings")
    } else {
        let by_code: Vec<String> = counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        format!(
            "checked {files}: {} ({})",
            plural(total, "finding", "findings"),
            by_code.join(", ")
        )
    };
    if !report.errors.is_empty() {
        line.push_str(&format!(
            "; {} could not be read",
            plural(report.errors.len(), "path", "paths")
        ));
    }
    if !report.skipped.is_empty() {
        line.push_str(&format!(
            "; {} skipped",
            plural(report.skipped.len(), "path", "paths")
        ));
    }
    line
}

/// `n` with the singular or plural noun: "1 path", "2 paths".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
