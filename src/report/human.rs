//! rustc-style diagnostics, drawn by `annotate-snippets`: code, message,
//! location, the source lines with the primary (`^^^`) and secondary (`---`)
//! labels, then notes and a `help:` line.

use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::io::discover::IoFailure;
use crate::lints::{Finding, Severity};
use crate::text::source::SourceFile;

fn renderer(color: bool) -> Renderer {
    if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

/// Read errors, before the findings.
pub fn errors(errors: &[IoFailure], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let renderer = renderer(color);
    let mut text = String::new();
    for error in errors {
        let title = format!("{}: {}", error.path.display(), error.message);
        text.push_str(&renderer.render(&[Group::with_title(Level::ERROR.primary_title(title))]));
        text.push_str("\n\n");
    }
    out.write_all(text.as_bytes())
}

/// `findings`, in order.
pub fn findings(
    findings: &[(&SourceFile, &Finding)],
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let renderer = renderer(color);
    super::render_by_file(
        findings,
        |source, file| {
            let path = source.path.display().to_string();
            let mut text = String::new();
            for (_, finding) in file {
                text.push_str(&render_finding(&renderer, source, &path, finding));
                text.push_str("\n\n");
            }
            text.into_bytes()
        },
        |bytes| out.write_all(&bytes),
    )
}

/// One finding of `source`, whose path is written as `path`. The snippet is
/// the lines its labels are on (and those between), not the whole file.
fn render_finding(
    renderer: &Renderer,
    source: &SourceFile,
    path: &str,
    finding: &Finding,
) -> String {
    let labels = std::iter::once((&finding.primary, true))
        .chain(finding.secondary.iter().map(|l| (l, false)));
    let text_len = source.text.len();
    let first_line = labels
        .clone()
        .map(|(l, _)| source.position(l.span.start.min(text_len)).line)
        .min()
        .unwrap_or(1);
    let last_line = labels
        .clone()
        .map(|(l, _)| source.position(l.span.start.min(text_len)).line)
        .max()
        .unwrap_or(first_line);
    let window_start = source.line_start(first_line);
    let last_text = source.line_text(last_line);
    let window_end = (source.line_start(last_line) + last_text.len()).clamp(window_start, text_len);
    let window = source.text.get(window_start..window_end).unwrap_or("");
    // A label is drawn on its first line, as far as that line goes.
    let in_window = |start: usize, end: usize| {
        let line = source.position(start.min(text_len)).line;
        let line_end = source.line_start(line) + source.line_text(line).len();
        let from = start.clamp(window_start, window_end) - window_start;
        let to = end.clamp(start, line_end).clamp(window_start, window_end) - window_start;
        from..to
    };
    let mut snippet = Snippet::source(window).line_start(first_line).path(path);
    for (label, primary) in labels {
        let kind = if primary {
            AnnotationKind::Primary
        } else {
            AnnotationKind::Context
        };
        let span = in_window(label.span.start, label.span.end);
        let annotation = kind.span(span);
        snippet = snippet.annotation(if label.message.is_empty() {
            annotation
        } else {
            annotation.label(&label.message)
        });
    }
    let level = match finding.severity() {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let mut group = level
        .primary_title(&finding.message)
        .id(finding.rule.code)
        .element(snippet);
    for note in &finding.notes {
        group = group.element(Level::NOTE.message(note));
    }
    if let Some(help) = &finding.help {
        group = group.element(Level::HELP.message(help));
    }
    renderer.render(&[group])
}
