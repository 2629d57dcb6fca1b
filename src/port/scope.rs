//! Which names an expression reads from outside itself: what a declaration
//! needs when it is moved out of its file.

use rnix::SyntaxKind;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use crate::syntax::nix::{attr_key, ident_text};
use crate::text::Span;

/// Names every Nix expression can read.
const GLOBALS: &[&str] = &[
    "abort",
    "baseNameOf",
    "builtins",
    "derivation",
    "dirOf",
    "false",
    "fetchTarball",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "null",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
    "true",
];

/// A name `expr` reads that nothing inside it binds, at its first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeName {
    pub name: String,
    pub span: Span,
    /// A `with` inside `expr` may provide it.
    pub under_with: bool,
}

/// The names `expr` reads from its surroundings, in order of first use
/// (globals such as `builtins` and `toString` left out).
pub fn free_names(expr: &rnix::SyntaxNode) -> Vec<FreeName> {
    let mut free: Vec<FreeName> = Vec::new();
    for node in expr.descendants() {
        let Some(ident) = ast::Ident::cast(node.clone()) else {
            continue;
        };
        if !is_reference(&node) {
            continue;
        }
        let name = ident_text(&ident);
        if GLOBALS.contains(&name.as_str()) || name.starts_with("__") {
            continue;
        }
        let mut under_with = false;
        if bound_within(&node, expr, &name, &mut under_with) {
            continue;
        }
        if !free.iter().any(|f| f.name == name) {
            free.push(FreeName {
                name,
                span: Span::from(node.text_range()),
                under_with,
            });
        }
    }
    free
}

/// An identifier that reads a variable: not an attribute name, not a
/// parameter, not a name `inherit (x)` takes from a set.
fn is_reference(node: &rnix::SyntaxNode) -> bool {
    let Some(parent) = node.parent() else {
        return true;
    };
    match parent.kind() {
        SyntaxKind::NODE_ATTRPATH
        | SyntaxKind::NODE_PAT_ENTRY
        | SyntaxKind::NODE_PAT_BIND
        | SyntaxKind::NODE_IDENT_PARAM => false,
        SyntaxKind::NODE_INHERIT => ast::Inherit::cast(parent).is_some_and(|i| i.from().is_none()),
        _ => true,
    }
}

/// Whether `name`, read at `node`, is bound by something between it and `top`.
fn bound_within(
    node: &rnix::SyntaxNode,
    top: &rnix::SyntaxNode,
    name: &str,
    under_with: &mut bool,
) -> bool {
    let mut child = node.clone();
    while child != *top {
        let Some(parent) = child.parent() else {
            return false;
        };
        if binds(&parent, &child, name, under_with) {
            return true;
        }
        child = parent;
    }
    false
}

/// Whether `scope`, seen from its child `from`, binds `name`.
fn binds(
    scope: &rnix::SyntaxNode,
    from: &rnix::SyntaxNode,
    name: &str,
    under_with: &mut bool,
) -> bool {
    match scope.kind() {
        SyntaxKind::NODE_LET_IN => ast::LetIn::cast(scope.clone())
            .is_some_and(|l| entry_names(&l).iter().any(|n| n == name)),
        SyntaxKind::NODE_ATTR_SET => ast::AttrSet::cast(scope.clone())
            .is_some_and(|s| s.rec_token().is_some() && entry_names(&s).iter().any(|n| n == name)),
        SyntaxKind::NODE_LAMBDA => ast::Lambda::cast(scope.clone())
            .and_then(|l| l.param())
            .is_some_and(|p| param_names(&p).iter().any(|n| n == name)),
        SyntaxKind::NODE_WITH => {
            // The body of `with e; body` may read any name from `e`.
            let in_body = ast::With::cast(scope.clone())
                .and_then(|w| w.body())
                .is_some_and(|b| b.syntax() == from);
            if in_body {
                *under_with = true;
            }
            false
        }
        _ => false,
    }
}

/// The names a `let` or a set binds (the first key of each binding, and what
/// `inherit` binds).
pub fn entry_names(entries: &impl HasEntry) -> Vec<String> {
    let mut names: Vec<String> = entries
        .attrpath_values()
        .filter_map(|b| b.attrpath()?.attrs().next())
        .filter_map(|a| attr_key(&a).as_static().map(str::to_owned))
        .collect();
    for inherit in entries.inherits() {
        names.extend(
            inherit
                .attrs()
                .filter_map(|a| attr_key(&a).as_static().map(str::to_owned)),
        );
    }
    names
}

/// The names a function's parameter binds.
pub fn param_names(param: &ast::Param) -> Vec<String> {
    match param {
        ast::Param::IdentParam(p) => p.ident().map(|i| ident_text(&i)).into_iter().collect(),
        ast::Param::Pattern(p) => {
            let mut names: Vec<String> = p
                .pat_entries()
                .filter_map(|e| e.ident())
                .map(|i| ident_text(&i))
                .collect();
            if let Some(bind) = p.pat_bind().and_then(|b| b.ident()) {
                names.push(ident_text(&bind));
            }
            names
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(src: &str) -> Vec<(String, bool)> {
        let root = rnix::Root::parse(src).syntax();
        let expr = root.first_child().expect("an expression");
        free_names(&expr)
            .into_iter()
            .map(|f| (f.name, f.under_with))
            .collect()
    }

    #[test]
    fn names_bound_inside_are_not_free() {
        assert_eq!(
            free("let t = lib.types; in { x = t.int; }"),
            [("lib".into(), false)]
        );
        assert_eq!(
            free("{ a, b ? a, ... }@args: a + b + args.c + d"),
            [("d".into(), false)]
        );
        assert_eq!(
            free("let inherit (lib.types) str int; in str"),
            [("lib".into(), false)]
        );
        assert_eq!(free("rec { a = 1; b = a + c; }"), [("c".into(), false)]);
        assert_eq!(free("{ a = 1; b = a; }"), [("a".into(), false)]);
        assert_eq!(free("x: { inherit x y; }"), [("y".into(), false)]);
        assert_eq!(free("{ x = toString true; y = builtins.z; }"), []);
        assert_eq!(free("s: s.config.a or pkgs.b"), [("pkgs".into(), false)]);
    }

    #[test]
    fn names_in_the_body_of_a_with_may_come_from_it() {
        assert_eq!(
            free("with lib; mkOption { type = types.int; }"),
            [
                ("lib".into(), false),
                ("mkOption".into(), true),
                ("types".into(), true)
            ]
        );
    }
}
