//! rustc-style diagnostics: code, message, location, source snippet with primary
//! (`^^^`) and secondary (`---`) labels, notes and a `help:` line.

use std::borrow::Cow;
use std::io::{self, Write};

use owo_colors::Style;

use crate::io::discover::IoFailure;
use crate::lints::{Finding, Severity};
use crate::text::source::SourceFile;

const TAB_WIDTH: usize = 4;

/// The escape sequences that paint text in one style (both empty when colours
/// are off), worked out once per run: painting a piece of text is then two
/// copies of bytes, not a formatting call.
#[derive(Default)]
struct Paint {
    prefix: String,
    suffix: String,
}

impl Paint {
    fn new(style: Style, enabled: bool) -> Self {
        if !enabled {
            return Paint::default();
        }
        Paint {
            prefix: style.prefix_formatter().to_string(),
            suffix: style.suffix_formatter().to_string(),
        }
    }
}

struct Palette {
    error: Paint,
    warning: Paint,
    info: Paint,
    gutter: Paint,
    bold: Paint,
}

impl Palette {
    fn new(enabled: bool) -> Self {
        Palette {
            error: Paint::new(Style::new().red().bold(), enabled),
            warning: Paint::new(Style::new().yellow().bold(), enabled),
            info: Paint::new(Style::new().cyan().bold(), enabled),
            gutter: Paint::new(Style::new().blue().bold(), enabled),
            bold: Paint::new(Style::new().bold(), enabled),
        }
    }

    fn severity(&self, severity: Severity) -> &Paint {
        match severity {
            Severity::Error => &self.error,
            Severity::Warning => &self.warning,
            Severity::Info => &self.info,
        }
    }
}

/// Rendered text, written straight into a buffer of bytes.
struct Output<'a> {
    bytes: &'a mut Vec<u8>,
}

impl Output<'_> {
    fn text(&mut self, text: &str) -> &mut Self {
        self.bytes.extend_from_slice(text.as_bytes());
        self
    }

    /// `pieces`, one after the other, in `paint`.
    fn painted(&mut self, paint: &Paint, pieces: &[&str]) -> &mut Self {
        self.text(&paint.prefix);
        for piece in pieces {
            self.text(piece);
        }
        self.text(&paint.suffix)
    }

    /// `n` times the byte `byte` (an ASCII character).
    fn repeat(&mut self, byte: u8, n: usize) -> &mut Self {
        self.bytes.resize(self.bytes.len() + n, byte);
        self
    }

    fn spaces(&mut self, n: usize) -> &mut Self {
        self.repeat(b' ', n)
    }

    /// `n` in decimal, after spaces up to `width` characters.
    fn number(&mut self, n: usize, width: usize) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let digits = &digits[at..];
        self.spaces(width.saturating_sub(digits.len()));
        self.bytes.extend_from_slice(digits);
        self
    }

    fn newline(&mut self) -> &mut Self {
        self.text("\n")
    }

    /// A label's underline (`^^^` or `---`, at least one mark) and its message.
    fn underline(&mut self, paint: &Paint, primary: bool, width: usize, message: &str) {
        self.text(&paint.prefix);
        self.repeat(if primary { b'^' } else { b'-' }, width.max(1));
        if !message.is_empty() {
            self.text(" ").text(message);
        }
        self.text(&paint.suffix);
    }
}

/// Read errors, before the findings.
pub fn errors(errors: &[IoFailure], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let palette = Palette::new(color);
    let mut bytes = Vec::new();
    let mut output = Output { bytes: &mut bytes };
    for error in errors {
        let path = error.path.display().to_string();
        output
            .painted(&palette.error, &["error"])
            .text(": ")
            .text(&path)
            .text(": ")
            .text(&error.message)
            .newline()
            .newline();
    }
    out.write_all(&bytes)
}

/// `findings`, in order.
pub fn findings(
    findings: &[(&SourceFile, &Finding)],
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let palette = Palette::new(color);
    super::render_by_file(
        findings,
        |source, file| {
            let mut bytes = Vec::new();
            let path = source.path.display().to_string();
            let mut output = Output { bytes: &mut bytes };
            for (_, finding) in file {
                render_finding(source, &path, finding, &palette, &mut output);
            }
            bytes
        },
        |bytes| out.write_all(&bytes),
    )
}

/// One label as it is drawn on its first line.
struct Mark<'a> {
    line: usize,
    /// Display columns (0-based) of the underline.
    from: usize,
    width: usize,
    primary: bool,
    message: &'a str,
}

/// One finding of `source`, whose path is written as `path`.
fn render_finding(
    source: &SourceFile,
    path: &str,
    finding: &Finding,
    palette: &Palette,
    out: &mut Output<'_>,
) {
    let severity = palette.severity(finding.severity());
    out.painted(
        severity,
        &[finding.severity().as_str(), "[", finding.rule.code, "]"],
    )
    .painted(&palette.bold, &[": ", &finding.message])
    .newline();

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
    let gutter = &palette.gutter;
    // `  |`: the gutter's bar after the width of the line numbers.
    let bar = |out: &mut Output<'_>| {
        out.spaces(width).text(" ").painted(gutter, &["|"]);
    };

    out.spaces(width)
        .painted(gutter, &["-->"])
        .text(" ")
        .text(path)
        .text(":")
        .number(start.line, 0)
        .text(":")
        .number(start.column, 0)
        .newline();
    bar(out);
    out.newline();

    let mut lines: Vec<usize> = marks.iter().map(|m| m.line).collect();
    lines.dedup();
    let mut previous: Option<usize> = None;
    for &line in &lines {
        if let Some(prev) = previous {
            if line == prev + 2 {
                write_source_line(source, prev + 1, width, palette, out);
            } else if line > prev + 2 {
                out.painted(gutter, &["..."]).newline();
            }
        }
        write_source_line(source, line, width, palette, out);
        for m in marks.iter().filter(|m| m.line == line) {
            let paint = if m.primary { severity } else { gutter };
            bar(out);
            out.text(" ").spaces(m.from);
            out.underline(paint, m.primary, m.width, m.message);
            out.newline();
        }
        previous = Some(line);
    }
    bar(out);
    out.newline();
    let notes = finding.notes.iter().map(|note| ("note", note));
    for (kind, text) in notes.chain(finding.help.iter().map(|help| ("help", help))) {
        out.spaces(width)
            .text(" ")
            .painted(gutter, &["="])
            .text(" ")
            .painted(&palette.bold, &[kind])
            .text(": ")
            .text(text)
            .newline();
    }
    out.newline();
}

fn write_source_line(
    source: &SourceFile,
    line: usize,
    width: usize,
    palette: &Palette,
    out: &mut Output<'_>,
) {
    let text = expand_tabs(source.line_text(line));
    out.text(&palette.gutter.prefix)
        .number(line, width)
        .text(" |")
        .text(&palette.gutter.suffix);
    if !text.is_empty() {
        out.text(" ").text(&text);
    }
    out.newline();
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
    use owo_colors::OwoColorize;

    fn rendered(write: impl FnOnce(&mut Output<'_>)) -> String {
        let mut bytes = Vec::new();
        write(&mut Output { bytes: &mut bytes });
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn spaces_of_any_width() {
        for n in [0, 1, 63, 64, 65, 200] {
            assert_eq!(
                rendered(|o| {
                    o.spaces(n);
                }),
                " ".repeat(n),
                "{n} spaces"
            );
        }
    }

    #[test]
    fn numbers_are_decimal_and_right_aligned() {
        for (n, width, expected) in [
            (0, 0, "0".to_owned()),
            (7, 3, "  7".to_owned()),
            (12_345, 2, "12345".to_owned()),
            (usize::MAX, 0, usize::MAX.to_string()),
        ] {
            assert_eq!(
                rendered(|o| {
                    o.number(n, width);
                }),
                expected
            );
        }
    }

    #[test]
    fn underline_is_at_least_one_mark_then_its_message() {
        let plain = Paint::default();
        let line =
            |primary, width, message| rendered(|o| o.underline(&plain, primary, width, message));
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
    fn painting_is_what_owo_colors_writes() {
        let styles = [
            Style::new().red().bold(),
            Style::new().yellow().bold(),
            Style::new().cyan().bold(),
            Style::new().blue().bold(),
            Style::new().bold(),
        ];
        for style in styles {
            for text in ["", "help", "warning[CM001]", "  3 |"] {
                let coloured = rendered(|o| {
                    o.painted(&Paint::new(style, true), &[text]);
                });
                assert_eq!(coloured, text.style(style).to_string());
                assert!(coloured.starts_with('\x1b'), "{coloured:?}");
                let plain = rendered(|o| {
                    o.painted(&Paint::new(style, false), &[text]);
                });
                assert_eq!(plain, text);
            }
        }
    }

    #[test]
    fn tabs_expand_and_other_lines_are_borrowed() {
        assert!(matches!(expand_tabs("a b"), Cow::Borrowed("a b")));
        assert_eq!(expand_tabs("\ta"), "    a");
    }
}
