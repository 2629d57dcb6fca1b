//! `# clan-migrate: ignore[CODE, …] reason` comments on the line(s) before a binding.

use rnix::{SyntaxKind, SyntaxNode};

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
            Some(parse(rest, span, position.line))
        })
        .collect()
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
            codes,
            reason,
            malformed: false,
        },
        None => Suppression {
            span,
            line,
            codes: Vec::new(),
            reason: String::new(),
            malformed: true,
        },
    }
}

/// Removes suppressed findings and adds a CM004 finding for every suppression
/// (or code in one) that silenced nothing.
pub fn apply(
    findings: Vec<Finding>,
    suppressions: &[Suppression],
    source: &SourceFile,
) -> Vec<Finding> {
    if suppressions.is_empty() {
        return findings;
    }
    let mut used: Vec<Vec<bool>> = suppressions
        .iter()
        .map(|s| vec![false; s.codes.len()])
        .collect();
    let mut kept = Vec::with_capacity(findings.len());
    for finding in findings {
        let line = source.position(finding.primary.span.start).line;
        let mut suppressed = false;
        let mut above = line;
        while above > 1 {
            above -= 1;
            if !source.line_text(above).trim_start().starts_with('#') {
                break;
            }
            for (i, s) in suppressions
                .iter()
                .enumerate()
                .filter(|(_, s)| s.line == above)
            {
                if let Some(j) = s.codes.iter().position(|c| c == finding.rule.code) {
                    used[i][j] = true;
                    suppressed = true;
                }
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
