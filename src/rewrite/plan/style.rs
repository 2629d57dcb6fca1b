//! The layout of a text: its line ending and indentation, and the spans of
//! whole lines, blank lines and the comments above a binding that edits work
//! with.

use rnix::SyntaxKind;
use rnix::ast;
use rowan::ast::AstNode;

use crate::text::Span;

/// Line-ending and indentation conventions of a file.
pub(crate) struct Style {
    pub eol: &'static str,
    pub indent_unit: String,
}

impl Style {
    pub fn of(text: &str) -> Style {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        // The narrowest indentation of a non-blank line, in spaces, unless a
        // line is indented with a tab first. Lines are read as bytes: a line
        // whose first byte after its indentation is ASCII other than
        // whitespace is not blank, and only the others are decoded to be sure.
        let bytes = text.as_bytes();
        let mut narrowest: Option<usize> = None;
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let line = &bytes[start..end];
            let lead = line
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(line.len());
            let blank = match line.get(lead) {
                Some(&b) if b.is_ascii() => {
                    (b as char).is_whitespace() && is_blank(text, start + lead, end)
                }
                Some(_) => is_blank(text, start + lead, end),
                None => true,
            };
            if lead > 0 && !blank {
                if line[0] == b'\t' {
                    return Style {
                        eol,
                        indent_unit: "\t".to_owned(),
                    };
                }
                if narrowest.is_none_or(|n| lead < n) {
                    narrowest = Some(lead);
                }
            }
            start = end + 1;
        }
        Style {
            eol,
            indent_unit: " ".repeat(narrowest.unwrap_or(2)),
        }
    }
}

/// Whether `text[start..end]` is all whitespace (both ends are on character
/// boundaries: after ASCII indentation, at a newline or the end).
fn is_blank(text: &str, start: usize, end: usize) -> bool {
    text.get(start..end)
        .is_none_or(|rest| rest.trim().is_empty())
}

/// The offset where the line holding `offset` starts.
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The offset after the line break that ends the line holding `offset` (the
/// end of the text on the last line).
pub(crate) fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// The 1-based line of `offset` (the last line for an offset past the end).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

/// The indentation of the line holding `offset`.
pub(crate) fn line_indent(text: &str, offset: usize) -> String {
    text[line_start(text, offset)..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// `span` widened to whole lines when nothing else is on them.
pub(crate) fn whole_lines(text: &str, span: Span) -> Span {
    let start = line_start(text, span.start);
    let end = line_end(text, span.end);
    if text[start..span.start].trim().is_empty() && text[span.end..end].trim().is_empty() {
        Span::new(start, end)
    } else {
        span
    }
}

/// Whole lines, or the span plus the spaces after it (for an item inside a line).
pub(crate) fn whole_lines_or_trailing_space(text: &str, span: Span) -> Span {
    let widened = whole_lines(text, span);
    if widened != span {
        return widened;
    }
    let spaces = text[span.end..].chars().take_while(|c| *c == ' ').count();
    Span::new(span.start, span.end + spaces)
}

/// Whole lines, or the span plus the spaces before it.
pub(crate) fn whole_lines_or_leading_space(text: &str, span: Span) -> Span {
    let widened = whole_lines(text, span);
    if widened != span {
        return widened;
    }
    let spaces = text[..span.start]
        .chars()
        .rev()
        .take_while(|c| *c == ' ')
        .count();
    Span::new(span.start - spaces, span.end)
}

/// Whether nothing but whitespace or a comment follows `end` on its line, and
/// a line break ends it.
pub(crate) fn ends_line(text: &str, end: usize) -> bool {
    let rest = text[end..].split('\n').next().unwrap_or("").trim();
    (rest.is_empty() || rest.starts_with('#')) && text[end..].contains('\n')
}

/// Whether nothing but whitespace precedes `start` on its line.
pub(crate) fn starts_line(text: &str, start: usize) -> bool {
    text[line_start(text, start)..start].trim().is_empty()
}

/// The end of the blank line that starts at `start`, if it is one.
pub(crate) fn blank_line_at(text: &str, start: usize) -> Option<usize> {
    let end = start + text.get(start..)?.find('\n')? + 1;
    text[start..end].trim().is_empty().then_some(end)
}

/// The start of the blank line that ends at `end`, if it is one.
pub(crate) fn blank_line_before(text: &str, end: usize) -> Option<usize> {
    let start = line_start(text, end.checked_sub(1)?);
    text[start..end].trim().is_empty().then_some(start)
}

/// The lines a binding takes when it moves: its own, and those of the
/// comments right above it (each on lines of its own, no blank line between).
pub(crate) fn lines_with_comments_above(text: &str, binding: &ast::AttrpathValue) -> Span {
    let span = Span::from(binding.syntax().text_range());
    let mut start = line_start(text, span.start);
    let end = line_end(text, span.end);
    let mut previous = binding.syntax().prev_sibling_or_token();
    while let Some(element) = previous {
        match element.kind() {
            SyntaxKind::TOKEN_WHITESPACE => {
                let newlines = element.to_string().matches('\n').count();
                if newlines > 1 {
                    break;
                }
            }
            SyntaxKind::TOKEN_COMMENT => {
                let comment = usize::from(element.text_range().start());
                let own_line = line_start(text, comment);
                if !text[own_line..comment].trim().is_empty() {
                    break;
                }
                start = own_line;
            }
            _ => break,
        }
        previous = element.prev_sibling_or_token();
    }
    Span::new(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Style::of` as it read lines before it read bytes.
    fn reference_style(text: &str) -> (&'static str, String) {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut narrowest: Option<usize> = None;
        for line in text.lines() {
            let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
            if lead == 0 || line.trim().is_empty() {
                continue;
            }
            if line.starts_with('\t') {
                return (eol, "\t".to_owned());
            }
            if narrowest.is_none_or(|n| lead < n) {
                narrowest = Some(lead);
            }
        }
        (eol, " ".repeat(narrowest.unwrap_or(2)))
    }

    #[test]
    fn style_reads_bytes_as_the_reference_reads_lines() {
        let pieces = [
            "",
            "\n",
            "\r\n",
            "\r",
            " ",
            "  ",
            "\t",
            " \t",
            "a",
            "{",
            "\u{a0}",
            "\u{3000}x",
            "\u{b}",
            "\u{c}",
            "é",
            "# c",
            "\u{85}",
        ];
        // Every line of up to three pieces, in files of up to three such lines.
        let mut lines = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = lines
                .iter()
                .flat_map(|l| pieces.iter().map(move |p| format!("{l}{p}")))
                .collect();
            lines.extend(longer);
            lines.sort();
            lines.dedup();
        }
        let mut checked = 0;
        for a in lines.iter().step_by(31) {
            for b in lines.iter().step_by(37) {
                for text in [
                    format!("{a}\n{b}"),
                    format!("{b}\n{a}\n"),
                    format!("{a}\r\n{b}\n{a}"),
                ] {
                    let s = Style::of(&text);
                    assert_eq!((s.eol, s.indent_unit), reference_style(&text), "{text:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn style_is_the_files_line_ending_and_narrowest_indentation() {
        let style = |text: &str| {
            let s = Style::of(text);
            (s.eol, s.indent_unit)
        };
        assert_eq!(
            style("{\n    a = {\n        b = 1;\n    };\n}\n"),
            ("\n", "    ".into())
        );
        assert_eq!(
            style("{\r\n   a = 1;\r\n \r\n}\r\n"),
            ("\r\n", "   ".into())
        );
        assert_eq!(
            style("{\n    a = 1;\n\tb = 1;\n  c = 1;\n}"),
            ("\n", "\t".into())
        );
        assert_eq!(style("{\n  \t a = 1;\n}"), ("\n", "    ".into()));
        assert_eq!(style("{ a = 1; }"), ("\n", "  ".into()));
    }
}
