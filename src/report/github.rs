//! GitHub Actions workflow commands (`::error file=…,line=…::message`).

use std::io::{self, Write};

use super::span_positions;
use crate::io::discover::{FailureKind, IoFailure};
use crate::lints::{Finding, Severity};
use crate::text::source::SourceFile;

/// Read errors, before the findings.
pub fn errors(errors: &[IoFailure], out: &mut dyn Write) -> io::Result<()> {
    for error in errors {
        writeln!(
            out,
            "::error file={},title={}::{}",
            escape_property(&error.path.display().to_string()),
            escape_property(match error.kind {
                FailureKind::Read => "clan-migrate: unreadable file",
                FailureKind::Configuration => "clan-migrate: invalid configuration",
            }),
            escape_data(&error.message)
        )?;
    }
    Ok(())
}

/// One annotation per finding.
pub fn findings(findings: &[(&SourceFile, &Finding)], out: &mut dyn Write) -> io::Result<()> {
    super::render_by_file(
        findings,
        |source, file| {
            let mut bytes = Vec::new();
            let path = escape_property(&source.path.display().to_string());
            for (_, finding) in file {
                annotation(source, &path, finding, &mut bytes)?;
            }
            Ok(bytes)
        },
        |bytes: io::Result<Vec<u8>>| out.write_all(&bytes?),
    )
}

/// The annotation of one finding of `source`, whose escaped path is `path`.
fn annotation(
    source: &SourceFile,
    path: &str,
    finding: &Finding,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let (start, end) = span_positions(source, finding.primary.span);
    let level = match finding.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut message = finding.message.clone();
    if let Some(help) = &finding.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let mut position = format!("line={},col={}", start.line, start.column);
    if end.line == start.line {
        position.push_str(&format!(",endColumn={}", end.column));
    } else {
        position.push_str(&format!(",endLine={}", end.line));
    }
    writeln!(
        out,
        "::{level} file={path},{position},title={}::{}",
        escape_property(&format!("{} {}", finding.rule.code, finding.rule.name)),
        escape_data(&message)
    )
}

/// Escaping for the message part of a workflow command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a property value (`file=`, `title=`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_workflow_command_syntax() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
