//! Unified diffs of rewritten files (`fix` without `--write`).

use std::io::{self, Write};
use std::path::Path;

use owo_colors::{OwoColorize, Style};
use similar::TextDiff;

/// Writes a unified diff (`--- a/path`, `+++ b/path`, three lines of context)
/// that `git apply` / `patch -p1` accept from the current directory.
pub fn write_diff(
    path: &Path,
    old: &str,
    new: &str,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let display = path.display().to_string();
    let display = display.strip_prefix("./").unwrap_or(&display);
    // A huge rewrite (tens of thousands of changed lines) must not make the diff
    // quadratic: after the deadline the diff is coarser, never wrong.
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_secs(2))
        .diff_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{display}"), &format!("b/{display}"))
        .to_string();
    if !color {
        return out.write_all(text.as_bytes());
    }
    for line in text.split_inclusive('\n') {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            Style::new().bold()
        } else if line.starts_with('+') {
            Style::new().green()
        } else if line.starts_with('-') {
            Style::new().red()
        } else if line.starts_with("@@") {
            Style::new().cyan()
        } else {
            Style::new()
        };
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        write!(out, "{}{newline}", body.style(style))?;
    }
    Ok(())
}
