//! `path:line:col: CODE message`, one line per finding.

use std::io::{self, Write};

use super::span_positions;
use crate::diagnostic::Finding;
use crate::discover::IoFailure;
use crate::source::SourceFile;

/// Read errors, before the findings.
pub fn errors(errors: &[IoFailure], out: &mut dyn Write) -> io::Result<()> {
    for error in errors {
        writeln!(out, "{}: error: {}", error.path.display(), error.message)?;
    }
    Ok(())
}

/// One line per finding (and its `help:` line with `with_help`).
pub fn findings(
    findings: &[(&SourceFile, &Finding)],
    with_help: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    for &(source, finding) in findings {
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
