//! rustc-style diagnostics: code, message, location, source snippet with primary
//! (`^^^`) and secondary (`---`) labels, notes and a `help:` line.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};
use rayon::prelude::*;

use crate::diagnostic::{Finding, Severity};
use crate::discover::IoFailure;
use crate::source::SourceFile;

const TAB_WIDTH: usize = 4;

struct Palette {
    enabled: bool,
}

impl Palette {
    /// `value`, in `style` when colours are on; formatted where it is written,
    /// without a string of its own.
    fn paint<T: fmt::Display>(&self, value: T, style: Style) -> Painted<T> {
        Painted {
            value,
            style: self.enabled.then_some(style),
        }
    }

    fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Error => Style::new().red().bold(),
            Severity::Warning => Style::new().yellow().bold(),
            Severity::Info => Style::new().cyan().bold(),
        }
    }

    fn gutter(&self) -> Style {
        Style::new().blue().bold()
    }
}

struct Painted<T> {
    value: T,
    style: Option<Style>,
}

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.style {
            Some(style) => self.value.style(style).fmt(f),
            None => self.value.fmt(f),
        }
    }
}

/// `n` spaces.
struct Spaces(usize);

impl fmt::Display for Spaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        repeat(
            f,
            "                                                                ",
            self.0,
        )
    }
}

/// `n` times the one-byte character `run` is made of, written a run at a time.
fn repeat(f: &mut fmt::Formatter<'_>, run: &str, n: usize) -> fmt::Result {
    let mut left = n;
    while left > 0 {
        let n = left.min(run.len());
        f.write_str(&run[..n])?;
        left -= n;
    }
    Ok(())
}

/// A label's underline (`^^^` or `---`) and its message.
struct Underline<'a> {
    primary: bool,
    width: usize,
    message: &'a str,
}

impl fmt::Display for Underline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = if self.primary {
            "^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
        } else {
            "----------------------------------------------------------------"
        };
        repeat(f, run, self.width.max(1))?;
        if !self.message.is_empty() {
            write!(f, " {}", self.message)?;
        }
        Ok(())
    }
}

/// Read errors, before the findings.
pub fn errors(errors: &[IoFailure], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let palette = Palette { enabled: color };
    let error_style = palette.severity(Severity::Error);
    for error in errors {
        writeln!(
            out,
            "{}: {}: {}\n",
            palette.paint("error", error_style),
            error.path.display(),
            error.message
        )?;
    }
    Ok(())
}

/// `findings`, in order.
pub fn findings(
    findings: &[(&SourceFile, &Finding)],
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let palette = Palette { enabled: color };
    // The findings of one file go to one buffer; files are rendered on all cores,
    // a bounded batch at a time, and written in order.
    let by_file: Vec<&[(&SourceFile, &Finding)]> =
        findings.chunk_by(|a, b| std::ptr::eq(a.0, b.0)).collect();
    for batch in by_file.chunks(RENDER_BATCH) {
        let rendered: Vec<io::Result<Vec<u8>>> = batch
            .par_iter()
            .map(|file| {
                let mut buffer = Vec::new();
                for (source, finding) in *file {
                    render_finding(source, finding, &palette, &mut buffer)?;
                }
                Ok(buffer)
            })
            .collect();
        for buffer in rendered {
            out.write_all(&buffer?)?;
        }
    }
    Ok(())
}

/// Files rendered per batch (their output is held until the batch is written).
const RENDER_BATCH: usize = 512;

/// One label as it is drawn on its first line.
struct Mark<'a> {
    line: usize,
    /// Display columns (0-based) of the underline.
    from: usize,
    width: usize,
    primary: bool,
    message: &'a str,
}

fn render_finding(
    source: &SourceFile,
    finding: &Finding,
    palette: &Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let severity = finding.severity();
    let sev_style = palette.severity(severity);
    let bold = Style::new().bold();
    writeln!(
        out,
        "{}{}",
        palette.paint(
            format_args!("{}[{}]", severity.as_str(), finding.rule.code),
            sev_style
        ),
        palette.paint(format_args!(": {}", finding.message), bold)
    )?;

    let mut marks: Vec<Mark<'_>> = std::iter::once((&finding.primary, true))
        .chain(finding.secondary.iter().map(|l| (l, false)))
        .map(|(label, primary)| {
            mark(
                source,
                label.span.start,
                label.span.end,
                primary,
                &label.message,
            )
        })
        .collect();
    marks.sort_by_key(|m| (m.line, m.from, !m.primary));

    let start = source.position(finding.primary.span.start);
    let last_line = marks.iter().map(|m| m.line).max().unwrap_or(start.line);
    let width = decimal_digits(last_line);
    let pad = Spaces(width);
    let gutter = palette.gutter();
    let bar = palette.paint("|", gutter);

    writeln!(
        out,
        "{pad}{} {}:{}:{}",
        palette.paint("-->", gutter),
        source.path.display(),
        start.line,
        start.column
    )?;
    writeln!(out, "{pad} {bar}")?;

    let mut lines: Vec<usize> = marks.iter().map(|m| m.line).collect();
    lines.dedup();
    let mut previous: Option<usize> = None;
    for &line in &lines {
        if let Some(prev) = previous {
            if line == prev + 2 {
                write_source_line(source, prev + 1, width, palette, out)?;
            } else if line > prev + 2 {
                writeln!(out, "{}", palette.paint("...", gutter))?;
            }
        }
        write_source_line(source, line, width, palette, out)?;
        for m in marks.iter().filter(|m| m.line == line) {
            let style = if m.primary { sev_style } else { gutter };
            let underline = Underline {
                primary: m.primary,
                width: m.width,
                message: m.message,
            };
            writeln!(
                out,
                "{pad} {bar} {}{}",
                Spaces(m.from),
                palette.paint(underline, style)
            )?;
        }
        previous = Some(line);
    }
    writeln!(out, "{pad} {bar}")?;
    for note in &finding.notes {
        writeln!(
            out,
            "{pad} {} {}: {note}",
            palette.paint("=", gutter),
            palette.paint("note", bold)
        )?;
    }
    if let Some(help) = &finding.help {
        writeln!(
            out,
            "{pad} {} {}: {help}",
            palette.paint("=", gutter),
            palette.paint("help", bold)
        )?;
    }
    writeln!(out)
}

fn write_source_line(
    source: &SourceFile,
    line: usize,
    width: usize,
    palette: &Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let text = expand_tabs(source.line_text(line));
    let number = format_args!("{line:>width$} |");
    let number = palette.paint(number, palette.gutter());
    if text.is_empty() {
        writeln!(out, "{number}")
    } else {
        writeln!(out, "{number} {text}")
    }
}

fn mark<'a>(
    source: &SourceFile,
    start: usize,
    end: usize,
    primary: bool,
    message: &'a str,
) -> Mark<'a> {
    let position = source.position(start);
    let line_text = source.line_text(position.line);
    let line_start = source.line_start(position.line);
    let from_byte = start.saturating_sub(line_start).min(line_text.len());
    let to_byte = end
        .saturating_sub(line_start)
        .clamp(from_byte, line_text.len());
    let before = line_text.get(..from_byte).unwrap_or("");
    let inside = line_text.get(from_byte..to_byte).unwrap_or("");
    Mark {
        line: position.line,
        from: display_width(before),
        width: display_width(inside),
        primary,
        message,
    }
}

fn expand_tabs(text: &str) -> Cow<'_, str> {
    if text.contains('\t') {
        Cow::Owned(text.replace('\t', &" ".repeat(TAB_WIDTH)))
    } else {
        Cow::Borrowed(text)
    }
}

/// How many digits `n` has in decimal.
fn decimal_digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c == '\t' { TAB_WIDTH } else { 1 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_of_any_width() {
        for n in [0, 1, 63, 64, 65, 200] {
            assert_eq!(Spaces(n).to_string(), " ".repeat(n), "{n} spaces");
        }
    }

    #[test]
    fn underline_is_at_least_one_mark_then_its_message() {
        let line = |primary, width, message| {
            Underline {
                primary,
                width,
                message,
            }
            .to_string()
        };
        assert_eq!(line(true, 0, ""), "^");
        assert_eq!(line(true, 3, ""), "^^^");
        assert_eq!(line(false, 2, "here"), "-- here");
        assert_eq!(line(true, 130, ""), "^".repeat(130));
        assert_eq!(line(false, 64, "x"), "-".repeat(64) + " x");
    }

    #[test]
    fn decimal_digits_match_the_printed_number() {
        for n in [0, 9, 10, 99, 100, 12_345, usize::MAX] {
            assert_eq!(decimal_digits(n), n.to_string().len(), "{n}");
        }
    }

    #[test]
    fn painting_without_colour_writes_the_value_as_it_is() {
        let plain = Palette { enabled: false };
        let bold = Style::new().bold();
        assert_eq!(
            plain
                .paint(format_args!("{}[{}]", "warning", "CM001"), bold)
                .to_string(),
            "warning[CM001]"
        );
        let colour = Palette { enabled: true };
        assert_eq!(
            colour.paint("help", bold).to_string(),
            "help".style(bold).to_string()
        );
    }

    #[test]
    fn tabs_expand_and_other_lines_are_borrowed() {
        assert!(matches!(expand_tabs("a b"), Cow::Borrowed("a b")));
        assert_eq!(expand_tabs("\ta"), "    a");
    }
}
