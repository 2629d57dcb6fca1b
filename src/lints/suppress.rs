//! `# clan-migrate: ignore[CODE, …] reason` comments on the line(s) before a
//! binding: they silence the findings of those codes anywhere in that binding
//! (or, when the next line starts no binding, on that line).

use rnix::{SyntaxKind, SyntaxNode, TextSize};

use crate::lints::Finding;
use crate::lints::{find_rule, unused_suppression};
use crate::text::Span;
use crate::text::source::SourceFile;

const MARKER: &str = "clan-migrate:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub span: Span,
    /// 1-based line of the comment.
    pub line: usize,
    /// What it silences: the binding that starts on the first line after the
    /// comment lines, or that line.
    pub covers: Span,
    /// Codes as written (upper-cased); empty when malformed.
    pub codes: Vec<String>,
    pub reason: String,
    pub malformed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressionProblem {
    Unused(String),
    UnknownCode(String),
    Malformed,
}

/// Suppression comments of a parsed Nix file: `#` comments that start their line.
pub fn collect(root: &SyntaxNode, source: &SourceFile) -> Vec<Suppression> {
    // Most files have none: a byte search spares the walk over every token.
    if !source.text.contains(MARKER) {
        return Vec::new();
    }
    root.descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .filter(|token| token.kind() == SyntaxKind::TOKEN_COMMENT)
        .filter_map(|token| {
            let text = token.text();
            let body = text.strip_prefix('#')?.trim();
            let rest = body.strip_prefix(MARKER)?.trim_start();
            let span = Span::from(token.text_range());
            let position = source.position(span.start);
            let starts_line = source
                .line_text(position.line)
                .trim_start()
                .starts_with('#');
            if !starts_line {
                return None;
            }
            let mut suppression = parse(rest, span, position.line);
            suppression.covers = covered(root, source, position.line);
            Some(suppression)
        })
        .collect()
}

/// The binding that starts the first line after the comment lines from
/// `line` on (the whole `name = …;`, nested bindings and all), or that line
/// when it starts no binding.
fn covered(root: &SyntaxNode, source: &SourceFile, line: usize) -> Span {
    let mut next = line + 1;
    while source.line_text(next).trim_start().starts_with('#') {
        next += 1;
    }
    let text = source.line_text(next);
    let start = source.line_start(next) + (text.len() - text.trim_start().len());
    let line_span = Span::new(start, source.line_start(next) + text.len());
    let Ok(offset) = u32::try_from(start) else {
        return line_span;
    };
    let binding = root
        .token_at_offset(TextSize::from(offset))
        .right_biased()
        .and_then(|token| token.parent())
        .into_iter()
        .flat_map(|node| node.ancestors())
        .take_while(|node| usize::from(node.text_range().start()) == start)
        .filter(|node| node.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
        .last();
    binding.map_or(line_span, |node| Span::from(node.text_range()))
}

fn parse(rest: &str, span: Span, line: usize) -> Suppression {
    let parsed = rest.strip_prefix("ignore[").and_then(|inner| {
        let (codes, reason) = inner.split_once(']')?;
        let codes: Vec<String> = codes
            .split(',')
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        (!codes.is_empty()).then(|| (codes, reason.trim().to_owned()))
    });
    match parsed {
        Some((codes, reason)) => Suppression {
            span,
            line,
            covers: span,
            codes,
            reason,
            malformed: false,
        },
        None => Suppression {
            span,
            line,
            covers: span,
            codes: Vec::new(),
            reason: String::new(),
            malformed: true,
        },
    }
}

/// Removes suppressed findings and adds a CM004 finding for every suppression
/// (or code in one) that silenced nothing.
pub fn apply(findings: Vec<Finding>, suppressions: &[Suppression]) -> Vec<Finding> {
    if suppressions.is_empty() {
        return findings;
    }
    let mut used: Vec<Vec<bool>> = suppressions
        .iter()
        .map(|s| vec![false; s.codes.len()])
        .collect();
    let mut kept = Vec::with_capacity(findings.len());
    for finding in findings {
        let at = finding.primary.span.start;
        let mut suppressed = false;
        for (i, s) in suppressions.iter().enumerate() {
            if !(s.covers.start <= at && at < s.covers.end.max(s.covers.start + 1)) {
                continue;
            }
            if let Some(j) = s.codes.iter().position(|c| c == finding.rule.code) {
                used[i][j] = true;
                suppressed = true;
            }
        }
        if !suppressed {
            kept.push(finding);
        }
    }
    for (s, used) in suppressions.iter().zip(&used) {
        if s.malformed {
            kept.push(unused_suppression::finding(
                s,
                &SuppressionProblem::Malformed,
            ));
            continue;
        }
        for (code, used) in s.codes.iter().zip(used) {
            if *used {
                continue;
            }
            let problem = if find_rule(code).is_some_and(|r| r.code == code) {
                SuppressionProblem::Unused(code.clone())
            } else {
                SuppressionProblem::UnknownCode(code.clone())
            };
            kept.push(unused_suppression::finding(s, &problem));
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suppressions(text: &str) -> Vec<(String, String)> {
        let source = SourceFile::from_bytes(
            "t.nix".into(),
            text.as_bytes().to_vec(),
            crate::text::FileKind::Nix,
        )
        .unwrap();
        let root = rnix::Root::parse(&source.text).syntax();
        collect(&root, &source)
            .into_iter()
            .map(|s| {
                (
                    s.codes.join(","),
                    text[s.covers.start..s.covers.end].to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_suppression_covers_the_whole_binding_after_it() {
        let text = "{\n  # clan-migrate: ignore[CM002] the test reads it\n  # (on purpose)\n  a = let\n    x = inventory.services;\n  in x;\n  b = [\n    # clan-migrate: ignore[CM001]\n    \"m\" \"n\"\n  ];\n}\n";
        assert_eq!(
            suppressions(text),
            [
                (
                    "CM002".to_owned(),
                    "a = let\n    x = inventory.services;\n  in x;".to_owned()
                ),
                // No binding starts the next line: that line.
                ("CM001".to_owned(), "\"m\" \"n\"".to_owned()),
            ]
        );
    }

    #[test]
    fn parses_codes_and_reason() {
        let s = parse("ignore[cm001, CM002] kept until 26.05", Span::new(0, 1), 1);
        assert_eq!(s.codes, vec!["CM001", "CM002"]);
        assert_eq!(s.reason, "kept until 26.05");
        assert!(!s.malformed);
        assert!(parse("ignore CM001", Span::new(0, 1), 1).malformed);
        assert!(parse("ignore[]", Span::new(0, 1), 1).malformed);
    }
}
