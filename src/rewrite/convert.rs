//! Conversions shared by the migration and by the fixes of lints on
//! `inventory.instances`: a list of names as an attribute set, string modules as
//! path literals, and the spans that delete whole lines.

use std::collections::BTreeSet;
use std::path::Path;

use rnix::ast;
use rowan::ast::AstNode;

use super::plan::FileContext;
use super::plan::style::whole_lines_or_trailing_space;
use crate::syntax::nix::{child_token_range, str_literal, strip_parens};
use crate::syntax::quote::nix_attr;
use crate::text::Span;
use crate::text::edit::TextEdit;
use rnix::SyntaxKind;

/// The edits that turn a list of names into an attribute set of empty sets.
#[derive(Debug, Clone, Default)]
pub struct ListConversion {
    pub edits: Vec<TextEdit>,
    /// The names, when every item is a string literal.
    pub names: Option<Vec<String>>,
}

/// `[ "a" "b" "a" ]` becomes `{ a = { }; b = { }; }` item by item (comments inside
/// stay, duplicates go); any other list or expression `E` becomes
/// `builtins.listToAttrs (map (name: { inherit name; value = { }; }) E)`.
/// `None` when the list is incomplete (a recovered syntax error).
pub fn list_to_attrs(value: &ast::Expr, text: &str) -> Option<ListConversion> {
    let inner = strip_parens(value.clone());
    let wrap = |expr: &str| {
        let function = crate::inventory::normal_form::NAMES_FUNCTION;
        format!("builtins.listToAttrs (map ({function}) {expr})")
    };
    let ast::Expr::List(list) = &inner else {
        let expr = value.syntax().text().to_string();
        return Some(ListConversion {
            edits: vec![TextEdit::replace(
                Span::from(value.syntax().text_range()),
                wrap(&parenthesize(&inner, &expr)),
            )],
            names: None,
        });
    };
    let items: Vec<ast::Expr> = list.items().collect();
    let names: Option<Vec<String>> = items
        .iter()
        .map(|item| match item {
            ast::Expr::Str(s) => str_literal(s),
            _ => None,
        })
        .collect();
    let Some(names) = names else {
        let expr = list.syntax().text().to_string();
        return Some(ListConversion {
            edits: vec![TextEdit::replace(
                Span::from(list.syntax().text_range()),
                wrap(&expr),
            )],
            names: None,
        });
    };
    let (open, close) = (
        child_token_range(list.syntax(), SyntaxKind::TOKEN_L_BRACK)?,
        child_token_range(list.syntax(), SyntaxKind::TOKEN_R_BRACK)?,
    );
    let mut edits = vec![
        TextEdit::replace(Span::from(open), "{"),
        TextEdit::replace(Span::from(close), "}"),
    ];
    let mut seen = BTreeSet::new();
    for (item, name) in items.iter().zip(&names) {
        let span = Span::from(item.syntax().text_range());
        if seen.insert(name.as_str()) {
            let mut entry = nix_attr(name);
            entry.push_str(" = { };");
            edits.push(TextEdit::replace(span, entry));
        } else {
            edits.push(TextEdit::delete(whole_lines_or_trailing_space(text, span)));
        }
    }
    Some(ListConversion {
        edits,
        names: Some(names.into_iter().filter(|n| !n.is_empty()).collect()),
    })
}

fn parenthesize(expr: &ast::Expr, text: &str) -> String {
    match expr {
        ast::Expr::Ident(_)
        | ast::Expr::Select(_)
        | ast::Expr::List(_)
        | ast::Expr::Paren(_)
        | ast::Expr::AttrSet(_) => text.to_owned(),
        _ => format!("({text})"),
    }
}

/// String items of an extraModules list (relative to the clan directory) as path
/// literals relative to the file; other items are kept. `Err` says why not.
pub fn string_modules_to_paths(
    value: &ast::Expr,
    ctx: &FileContext,
) -> Result<Vec<TextEdit>, String> {
    let ast::Expr::List(list) = strip_parens(value.clone()) else {
        return Err("`extraModules` is not a list literal".into());
    };
    let mut edits = Vec::new();
    for item in list.items() {
        let ast::Expr::Str(s) = &item else { continue };
        let Some(relative) = str_literal(s) else {
            return Err(
                "an interpolated string in `extraModules` cannot be turned into a path".into(),
            );
        };
        let (Some(file), Some(clan_dir)) = (&ctx.path, &ctx.clan_dir) else {
            return Err("no `flake.nix` above this file says where the clan directory is".into());
        };
        let Some(path) = path_literal(file, clan_dir, &relative) else {
            return Err(format!(
                "`{relative}` cannot be written as a Nix path literal"
            ));
        };
        edits.push(TextEdit::replace(
            Span::from(item.syntax().text_range()),
            path,
        ));
    }
    Ok(edits)
}

/// `dir/x.nix` (relative to `clan_dir`) as a path literal relative to `file`.
pub fn path_literal(file: &Path, clan_dir: &Path, relative: &str) -> Option<String> {
    if relative.is_empty() || relative.starts_with('/') {
        return None;
    }
    let target = crate::io::discover::normalize(&clan_dir.join(relative));
    let from = crate::io::discover::normalize(file.parent()?);
    let target_parts: Vec<_> = target.components().collect();
    let from_parts: Vec<_> = from.components().collect();
    let common = target_parts
        .iter()
        .zip(&from_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out: Vec<String> = Vec::new();
    for _ in common..from_parts.len() {
        out.push("..".into());
    }
    for part in &target_parts[common..] {
        out.push(part.as_os_str().to_str()?.to_owned());
    }
    let joined = out.join("/");
    let literal = if joined.starts_with("..") {
        joined
    } else {
        format!("./{joined}")
    };
    let valid = literal
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '/'))
        && !literal.ends_with('/')
        && !literal.contains("//");
    valid.then_some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_literals_relative_to_the_file() {
        let file = Path::new("/c/machines/flake-module.nix");
        assert_eq!(
            path_literal(file, Path::new("/c"), "modules/z.nix").as_deref(),
            Some("../modules/z.nix")
        );
        assert_eq!(
            path_literal(Path::new("/c/flake.nix"), Path::new("/c"), "modules/z.nix").as_deref(),
            Some("./modules/z.nix")
        );
        assert_eq!(
            path_literal(file, Path::new("/c"), "machines/x.nix").as_deref(),
            Some("./x.nix")
        );
        assert_eq!(path_literal(file, Path::new("/c"), "a b.nix"), None);
        assert_eq!(path_literal(file, Path::new("/c"), "/abs.nix"), None);
    }
}
