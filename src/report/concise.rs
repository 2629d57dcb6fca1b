//! `path:line:col: CODE message`, one line per finding.

use std::io::{self, Write};

use super::span_positions;
use crate::check::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for error in &report.errors {
        writeln!(out, "{}: error: {}", error.path.display(), error.message)?;
    }
    write_findings(report, false, out)
}

/// Concise lines followed by an indented `help:` line (used by `fix` on stderr).
pub fn render_with_help(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_findings(report, true, out)
}

fn write_findings(report: &Report, with_help: bool, out: &mut dyn Write) -> io::Result<()> {
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
        if let (true, Some(help)) = (with_help, &finding.help) {
            writeln!(out, "  help: {help}")?;
        }
    }
    Ok(())
}
