//! CM000: the file is not valid Nix or JSON.

use rnix::{ParseError, SyntaxKind, TextRange, TextSize};

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::syntax::json::JsonError;
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM000",
    name: "parse-error",
    severity: Severity::Error,
    summary: "the file is not valid Nix (or JSON); it is neither analysed nor fixed",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports a syntax error that stops the file from being read: the Nix parser (rnix)
or the JSON reader rejected it (the position is where the parser gave up), or an
attribute defined twice, which rnix accepts but Nix rejects while parsing.

## Why

A file that does not parse cannot be analysed reliably (error recovery can move
bindings into the wrong set), so `clan-migrate` reports the error, does not look
for legacy definitions in the file, and never rewrites it. The run exits with
code 2.

## Example

```nix
{
  inventory.services.sshd.default = {
    roles.server.tags = [ "all" ]  # missing `;`
  };
}
```

Fix the syntax (for example with `nix-instantiate --parse file.nix`), then run
`clan-migrate check` again.
"#,
};

/// The finding for the first parse error; later errors are mostly consequences of
/// the first (rnix recovers and re-synchronises), so they are only counted.
pub fn nix_findings(errors: &[ParseError], text_len: usize) -> Vec<Finding> {
    let eof = TextRange::empty(TextSize::try_from(text_len).unwrap_or_default());
    let Some(first) = errors.first() else {
        return Vec::new();
    };
    let (range, message) = describe(first, eof);
    let mut finding = Finding::new(&RULE, message, Label::new(Span::from(range), ""))
        .with_help("fix the syntax; this file is not analysed and never rewritten");
    if errors.len() > 1 {
        let more = errors.len() - 1;
        finding = finding.with_note(format!(
            "the parser reported {more} more error{} after this one; they may be consequences of it",
            if more == 1 { "" } else { "s" }
        ));
    }
    vec![finding]
}

/// A finding for an attribute defined twice: rnix parses it, Nix rejects the file.
pub fn duplicate_finding(dup: &crate::syntax::duplicates::Duplicate) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "attribute `{}` is defined twice; Nix rejects this file",
            dup.path
        ),
        Label::new(dup.second, "defined again here"),
    )
    .with_secondary(Label::new(dup.first, "first defined here"))
    .with_help(
        "remove or merge one of the definitions; this file is not analysed and never rewritten",
    )
}

/// A finding for an `inventory.json` that is not valid JSON.
pub fn json_finding(error: &JsonError) -> Finding {
    Finding::new(
        &RULE,
        format!("invalid JSON: {}", error.message),
        Label::new(Span::new(error.offset, error.offset), ""),
    )
    .with_help("fix the JSON; this file is not analysed and never rewritten")
}

pub(crate) fn describe(error: &ParseError, eof: TextRange) -> (TextRange, String) {
    match error {
        ParseError::Unexpected(range) => (*range, "syntax error".into()),
        ParseError::UnexpectedExtra(range) => (
            *range,
            "unexpected input after the end of the expression".into(),
        ),
        ParseError::UnexpectedWanted(got, range, wanted) => (
            *range,
            format!(
                "unexpected {}, expected {}",
                kind_name(*got),
                one_of(wanted)
            ),
        ),
        ParseError::UnexpectedDoubleBind(range) => (
            *range,
            "the function argument pattern is bound twice".into(),
        ),
        ParseError::UnexpectedEOF => (eof, "unexpected end of file".into()),
        ParseError::UnexpectedEOFWanted(wanted) => (
            eof,
            format!("unexpected end of file, expected {}", one_of(wanted)),
        ),
        ParseError::DuplicatedArgs(range, name) => {
            (*range, format!("duplicate function argument `{name}`"))
        }
        ParseError::RecursionLimitExceeded => (
            eof,
            "the expression is nested too deeply to be parsed".into(),
        ),
        _ => (eof, format!("syntax error ({error})")),
    }
}

fn one_of(kinds: &[SyntaxKind]) -> String {
    let names: Vec<String> = kinds.iter().map(|k| kind_name(*k)).collect();
    match names.as_slice() {
        [] => "something else".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A readable name for a token kind (`` `;` ``, `an identifier`).
fn kind_name(kind: SyntaxKind) -> String {
    use SyntaxKind::*;
    let punct = match kind {
        TOKEN_SEMICOLON => ";",
        TOKEN_COLON => ":",
        TOKEN_COMMA => ",",
        TOKEN_DOT => ".",
        TOKEN_ELLIPSIS => "...",
        TOKEN_QUESTION => "?",
        TOKEN_AT => "@",
        TOKEN_ASSIGN => "=",
        TOKEN_L_BRACE => "{",
        TOKEN_R_BRACE => "}",
        TOKEN_L_BRACK => "[",
        TOKEN_R_BRACK => "]",
        TOKEN_L_PAREN => "(",
        TOKEN_R_PAREN => ")",
        TOKEN_INTERPOL_START => "${",
        TOKEN_INTERPOL_END => "}",
        TOKEN_STRING_START | TOKEN_STRING_END => "\"",
        TOKEN_IN => "in",
        TOKEN_THEN => "then",
        TOKEN_ELSE => "else",
        _ => "",
    };
    if !punct.is_empty() {
        return format!("`{punct}`");
    }
    match kind {
        TOKEN_IDENT | NODE_IDENT => "an identifier".into(),
        NODE_ATTRPATH => "an attribute name".into(),
        TOKEN_ERROR => "an invalid token".into(),
        other => {
            let debug = format!("{other:?}");
            let name = debug
                .trim_start_matches("TOKEN_")
                .trim_start_matches("NODE_")
                .to_lowercase()
                .replace('_', " ");
            format!("`{name}`")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_missing_semicolon() {
        let src = "{ a = 1 }";
        let parse = rnix::Root::parse(src);
        let findings = nix_findings(parse.errors(), src.len());
        assert!(!findings.is_empty());
        assert!(
            findings[0].message.contains("expected"),
            "{}",
            findings[0].message
        );
        assert!(
            !findings[0].message.contains(".."),
            "no byte ranges in messages"
        );
    }

    #[test]
    fn end_of_file_errors_point_at_the_end() {
        let src = "{ a = ";
        let parse = rnix::Root::parse(src);
        let findings = nix_findings(parse.errors(), src.len());
        assert!(findings.iter().any(|f| f.primary.span == Span::new(6, 6)));
    }
}
