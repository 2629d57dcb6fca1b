//! Attributes defined twice, by Nix's rules. rnix accepts `{ a = 1; a = 2; }`;
//! Nix does not. Nix (its parser's `addAttr`) walks a dotted path through
//! existing attribute-set *literals*, and when a name is defined again with a set
//! literal it merges the two sets one level deep; every other repetition is an
//! "attribute already defined" error:
//!
//! ```text
//! { a = { b = 1; }; a = { c = 2; }; }       ok: { a = { b = 1; c = 2; }; }
//! { a = { b = 1; }; a.c = 2; }              ok
//! { x.a = { b = 1; }; x = { a.c = 2; }; }   error: attribute 'a' already defined
//! ```

use std::collections::HashMap;

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use crate::inventory::Span;
use crate::syntax::{Key, attrpath_keys, strip_parens};

/// An attribute defined twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The attribute path within its set, e.g. `inventory.instances.sshd-default`.
    pub path: String,
    pub first: Span,
    pub second: Span,
}

/// The attributes of a set: name → (definition, where it was first defined).
type Children = HashMap<String, (Def, Span)>;

enum Def {
    /// An attribute-set literal (or a set created by a dotted path).
    Set(Children),
    /// Anything else, including inherited attributes.
    Other,
}

impl Def {
    fn children(&mut self) -> Option<&mut Children> {
        match self {
            Def::Set(children) => Some(children),
            Def::Other => None,
        }
    }
}

/// Every attribute defined twice in the file.
pub fn find(root: &SyntaxNode) -> Vec<Duplicate> {
    let mut found = Vec::new();
    for node in root.descendants() {
        let is_binder = matches!(
            node.kind(),
            SyntaxKind::NODE_ATTR_SET | SyntaxKind::NODE_LET_IN
        );
        if is_binder && !is_nested_set_value(&node) {
            build(&node, &mut found);
        }
    }
    found
}

/// A set that is the value of a binding is checked as part of its parent.
fn is_nested_set_value(node: &SyntaxNode) -> bool {
    if node.kind() != SyntaxKind::NODE_ATTR_SET {
        return false;
    }
    let Some((parent, _)) = crate::syntax::parent_skipping_parens(node) else {
        return false;
    };
    parent.kind() == SyntaxKind::NODE_ATTRPATH_VALUE
        && parent.parent().is_some_and(|p| {
            matches!(
                p.kind(),
                SyntaxKind::NODE_ATTR_SET | SyntaxKind::NODE_LET_IN
            )
        })
}

fn entries(node: &SyntaxNode) -> Vec<ast::Entry> {
    if let Some(set) = ast::AttrSet::cast(node.clone()) {
        set.entries().collect()
    } else if let Some(let_in) = ast::LetIn::cast(node.clone()) {
        let_in.entries().collect()
    } else {
        Vec::new()
    }
}

fn build(node: &SyntaxNode, found: &mut Vec<Duplicate>) -> Def {
    let mut children = Children::new();
    for entry in entries(node) {
        match entry {
            ast::Entry::Inherit(inherit) => {
                for attr in inherit.attrs() {
                    let key = crate::syntax::attr_key(&attr);
                    let span = Span::from(attr.syntax().text_range());
                    if let Key::Static(name) = key {
                        add(&mut children, &[name], Def::Other, span, found);
                    }
                }
            }
            ast::Entry::AttrpathValue(binding) => {
                let Some(attrpath) = binding.attrpath() else {
                    continue;
                };
                let keys = attrpath_keys(&attrpath);
                // A dynamic key creates a set Nix cannot check statically.
                let Some(names) = keys
                    .iter()
                    .map(|k| k.key.as_static().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                else {
                    continue;
                };
                let value = match binding.value().map(strip_parens) {
                    Some(ast::Expr::AttrSet(set)) => build(set.syntax(), found),
                    _ => Def::Other,
                };
                let span = Span::from(attrpath.syntax().text_range());
                add(&mut children, &names, value, span, found);
            }
        }
    }
    Def::Set(children)
}

/// Adds `path = value` to `set`. Iterative: a dotted path may have thousands of
/// components, and recursion per component would overflow the stack.
fn add(set: &mut Children, path: &[String], value: Def, span: Span, found: &mut Vec<Duplicate>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = set;
    for (depth, name) in parents.iter().enumerate() {
        let (def, first) = current
            .entry(name.clone())
            .or_insert_with(|| (Def::Set(Children::new()), span));
        match def {
            Def::Set(children) => current = children,
            Def::Other => {
                found.push(duplicate(&path[..=depth], *first, span));
                return;
            }
        }
    }
    let Some((def, first)) = current.get_mut(last) else {
        current.insert(last.clone(), (value, span));
        return;
    };
    let first = *first;
    match (def.children(), value) {
        (Some(existing), Def::Set(new)) => {
            let mut new: Vec<(String, (Def, Span))> = new.into_iter().collect();
            new.sort_by_key(|(_, (_, s))| *s);
            for (child, (child_def, child_span)) in new {
                if let Some((_, first_child)) = existing.get(&child) {
                    let mut child_path = path.to_vec();
                    child_path.push(child);
                    found.push(duplicate(&child_path, *first_child, child_span));
                } else {
                    existing.insert(child, (child_def, child_span));
                }
            }
        }
        _ => found.push(duplicate(path, first, span)),
    }
}

fn duplicate(prefix: &[String], first: Span, second: Span) -> Duplicate {
    Duplicate {
        path: crate::inventory::naming::nix_attr_path(prefix.iter().map(String::as_str)),
        first,
        second,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dups(src: &str) -> Vec<String> {
        let parse = rnix::Root::parse(src);
        assert!(parse.errors().is_empty());
        find(&parse.syntax()).into_iter().map(|d| d.path).collect()
    }

    /// The expectations below were checked with `nix-instantiate --eval` (Nix 2.8).
    #[test]
    fn follows_nix_merging_rules() {
        assert_eq!(
            dups("{ a = { b = 1; }; a = { c = 2; }; }"),
            Vec::<String>::new()
        );
        assert_eq!(dups("{ a = { b = 1; }; a.c = 2; }"), Vec::<String>::new());
        assert_eq!(dups("{ a.c = 2; a = { b = 1; }; }"), Vec::<String>::new());
        assert_eq!(
            dups("{ x.a = { b = 1; }; x.a = { c = 2; }; }"),
            Vec::<String>::new()
        );
        assert_eq!(dups("{ a = ({ b = 1; }); a.c = 2; }"), Vec::<String>::new());
        assert_eq!(dups("{ x.a = { b = 1; }; x = { a.c = 2; }; }"), vec!["x.a"]);
        assert_eq!(dups("{ a = 1; a = 2; }"), vec!["a"]);
        assert_eq!(dups("{ a.b = 1; a = 2; }"), vec!["a"]);
        assert_eq!(dups("{ a = 1; a.b = 2; }"), vec!["a"]);
        assert_eq!(dups("{ inherit a; a = 1; }"), vec!["a"]);
        assert_eq!(dups("{ a = { b = 1; }; a = { b = 2; }; }"), vec!["a.b"]);
        assert_eq!(dups("let a = 1; a = 2; in a"), vec!["a"]);
        assert_eq!(dups("{ x = { y = { a = 1; a = 2; }; }; }"), vec!["a"]);
        assert_eq!(dups("{ ${x} = 1; ${x} = 2; }"), Vec::<String>::new());
    }
}
