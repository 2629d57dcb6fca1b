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
    let (old_lines, new_lines) = (lines(old), lines(new));
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_secs(2))
        .newline_terminated(true)
        .diff_slices(&old_lines, &new_lines);
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

/// `text` split after each line ending (`\n`, `\r\n` or a lone `\r`), as
/// `similar` splits it for a line diff, with memchr instead of a walk over chars.
fn lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for end in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if end < start {
            continue; // the `\n` of a `\r\n` already taken
        }
        let end = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
            end + 1
        } else {
            end
        };
        out.push(&text[start..=end]);
        start = end + 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::lines;
    use similar::DiffableStr;

    #[test]
    fn lines_are_split_as_similar_splits_them() {
        let texts = [
            "",
            "a",
            "a\n",
            "a\nb",
            "\n\n",
            "a\r\nb\r\n",
            "a\rb\r",
            "a\r\r\nb",
            "\r\n\r",
            "é\nü\r\n€",
            "x\n\r\n\ry",
        ];
        for text in texts {
            assert_eq!(lines(text), text.tokenize_lines(), "{text:?}");
        }
    }
}
