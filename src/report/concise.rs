//! `path:line:col: CODE message`, one line per finding.

use std::io::{self, Write};

use super::span_positions;
use crate::check::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for error in &report.errors {
        writeln!(out, "{}: error: {}", error.path.display(), error.message)?;
    }
    for (source, finding) in report.findings() {
        let (start, _) = span_positions(source, finding.primary.span);
        writeln!(
            out,
            "{}:{}:{}: {} {}",
            source.path.display(),
            start.line,
            start.column,
            finding.rule.code,
            finding.message
        )?;
    }
    Ok(())
}

/// Concise lines followed by an indented `help:` line (used by `fix` on stderr).
pub fn render_with_help(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for (source, finding) in report.findings() {
        let (start, _) = span_positions(source, finding.primary.span);
        writeln!(
            out,
            "{}:{}:{}: {} {}",
            source.path.display(),
            start.line,
            start.column,
            finding.rule.code,
            finding.message
        )?;
        if let Some(help) = &finding.help {
            writeln!(out, "  help: {help}")?;
        }
    }
    Ok(())
}
