//! `path:line:col: CODE message`, one line per finding.

use std::io::{self, Write};

use super::span_positions;
use crate::io::discover::IoFailure;
use crate::lints::Finding;
use crate::text::source::SourceFile;

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
    super::render_by_file(
        findings,
        |source, file| {
            let mut bytes = Vec::new();
            let path = source.path.display().to_string();
            for (_, finding) in file {
                let (start, _) = span_positions(source, finding.primary.span);
                writeln!(
                    bytes,
                    "{path}:{}:{}: {} {}",
                    start.line, start.column, finding.rule.code, finding.message
                )?;
                if let (true, Some(help)) = (with_help, &finding.help) {
                    writeln!(bytes, "  help: {help}")?;
                }
            }
            Ok(bytes)
        },
        |bytes: io::Result<Vec<u8>>| out.write_all(&bytes?),
    )
}
