//! Writing names and strings back as Nix literals.

const KEYWORDS: &[&str] = &[
    "assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with",
];

/// Whether `name` can be written as a bare Nix identifier.
pub fn is_nix_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        && !KEYWORDS.contains(&name)
}

/// A Nix string literal with the value `s`.
pub fn nix_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name as it would be written in Nix: bare if possible, quoted otherwise.
pub fn nix_attr(name: &str) -> String {
    if is_nix_ident(name) {
        name.to_owned()
    } else {
        nix_string(name)
    }
}

/// `a.b.c` with each segment written as a Nix attribute name.
pub fn nix_attr_path<'a>(segments: impl IntoIterator<Item = &'a str>) -> String {
    segments
        .into_iter()
        .map(nix_attr)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(nix_attr("borgbackup-main"), "borgbackup-main");
        assert_eq!(nix_attr("in"), "\"in\"");
        assert_eq!(nix_attr("1st"), "\"1st\"");
        assert_eq!(nix_attr("a.b"), "\"a.b\"");
        assert_eq!(nix_attr(""), "\"\"");
        assert_eq!(nix_string("x${y}\"\\"), r#""x\${y}\"\\""#);
    }
}
