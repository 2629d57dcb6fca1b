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

use foldhash::{HashMap, HashSet, HashSetExt};

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode, TextRange};
use rowan::ast::AstNode;

use crate::syntax::nix::{Key, attrpath_keys, strip_parens};
use crate::text::Span;

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
    find_with(root, true)
}

/// `fast`: skip the map of sets whose paths are prefix-free (false in tests only).
fn find_with(root: &SyntaxNode, fast: bool) -> Vec<Duplicate> {
    let mut found = Vec::new();
    // Sets that a full check of an enclosing set already covered (it merged them).
    let mut covered: HashSet<TextRange> = HashSet::new();
    if fast {
        // Where no path prefixes another nothing merges, so no attribute can be
        // defined twice at this level and the sets below are checked on their
        // own: the common case needs no map of the set. The scan reads the
        // green tree; only the sets it cannot clear are looked at as nodes.
        for range in green_scan::suspects(root) {
            if covered.contains(&range) {
                continue;
            }
            if let Some(node) = binder_at(root, range) {
                build(&node, &mut found, &mut covered);
            }
        }
    } else {
        for node in root.descendants() {
            let is_binder = matches!(
                node.kind(),
                SyntaxKind::NODE_ATTR_SET | SyntaxKind::NODE_LET_IN
            );
            if is_binder && !covered.contains(&node.text_range()) {
                build(&node, &mut found, &mut covered);
            }
        }
    }
    found.sort_by_key(|d| (d.second.start, d.first.start));
    found
}

/// The attribute set or `let` whose range is exactly `range`.
fn binder_at(root: &SyntaxNode, range: TextRange) -> Option<SyntaxNode> {
    let start = match root.covering_element(range) {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => t.parent()?,
    };
    start.ancestors().find(|n| {
        matches!(
            n.kind(),
            SyntaxKind::NODE_ATTR_SET | SyntaxKind::NODE_LET_IN
        ) && n.text_range() == range
    })
}

/// The prefix-freedom test on the green tree, which borrows its children
/// instead of allocating a node per child visited as the typed API does.
mod green_scan {
    use rnix::{SyntaxKind, SyntaxNode, TextRange, TextSize};
    use rowan::{GreenNodeData, NodeOrToken};

    fn raw(kind: SyntaxKind) -> rowan::SyntaxKind {
        rowan::SyntaxKind(kind as u16)
    }

    /// The ranges of the sets and `let`s, in document order, whose static
    /// attribute paths may not be prefix-free: a path is a prefix of another,
    /// two hashes collide, or a key is spelled in a way this scan does not read
    /// (escapes, interpolation, `${…}`); the full check decides those.
    pub(super) fn suspects(root: &SyntaxNode) -> Vec<TextRange> {
        let mut out = Vec::new();
        let mut paths = Paths::default();
        // Iterative preorder: expressions can nest deeper than the stack allows.
        let mut stack: Vec<(&GreenNodeData, TextSize)> =
            vec![(root.green(), root.text_range().start())];
        while let Some((node, offset)) = stack.pop() {
            let kind = node.kind();
            if kind == raw(SyntaxKind::NODE_ATTR_SET) || kind == raw(SyntaxKind::NODE_LET_IN) {
                paths.clear();
                if !prefix_free(node, &mut paths) {
                    out.push(TextRange::at(offset, node.text_len()));
                }
            }
            // Children go on the stack last first, so that they come off it in
            // document order. Names and literals hold only a token: no set.
            let mut child_end = offset + node.text_len();
            for child in node.children().rev() {
                child_end -= child.text_len();
                if let NodeOrToken::Node(child) = child {
                    let kind = child.kind();
                    if kind != raw(SyntaxKind::NODE_IDENT) && kind != raw(SyntaxKind::NODE_LITERAL)
                    {
                        stack.push((child, child_end));
                    }
                }
            }
        }
        out
    }

    /// The hashed static paths of one set, in one buffer (a set has many
    /// bindings, most of one or two keys: no allocation per path).
    #[derive(Default)]
    struct Paths {
        keys: Vec<u64>,
        /// Each path's range in `keys`.
        ranges: Vec<std::ops::Range<usize>>,
    }

    impl Paths {
        fn clear(&mut self) {
            self.keys.clear();
            self.ranges.clear();
        }

        /// Ends the path whose keys were pushed since `start`, unless it is empty.
        fn end_path(&mut self, start: usize) {
            if self.keys.len() > start {
                self.ranges.push(start..self.keys.len());
            }
        }

        fn prefix_free(&mut self) -> bool {
            let keys = &self.keys;
            self.ranges
                .sort_unstable_by(|a, b| keys[a.clone()].cmp(&keys[b.clone()]));
            // In sorted order a path that prefixes another also prefixes its successor.
            self.ranges
                .windows(2)
                .all(|w| !keys[w[1].clone()].starts_with(&keys[w[0].clone()]))
        }
    }

    fn prefix_free(set: &GreenNodeData, paths: &mut Paths) -> bool {
        for entry in set.children().filter_map(NodeOrToken::into_node) {
            if entry.kind() == raw(SyntaxKind::NODE_INHERIT) {
                for attr in entry.children().filter_map(NodeOrToken::into_node) {
                    match key_hash(attr) {
                        Key::Hash(h) => {
                            let start = paths.keys.len();
                            paths.keys.push(h);
                            paths.end_path(start);
                        }
                        Key::Dynamic | Key::NotAttr => {}
                        Key::Unread => return false,
                    }
                }
            } else if entry.kind() == raw(SyntaxKind::NODE_ATTRPATH_VALUE) {
                let attrpath = entry
                    .children()
                    .filter_map(NodeOrToken::into_node)
                    .find(|n| n.kind() == raw(SyntaxKind::NODE_ATTRPATH));
                let Some(attrpath) = attrpath else {
                    continue;
                };
                let start = paths.keys.len();
                for attr in attrpath.children().filter_map(NodeOrToken::into_node) {
                    match key_hash(attr) {
                        Key::Hash(h) => paths.keys.push(h),
                        Key::Dynamic => break,
                        Key::NotAttr => {}
                        Key::Unread => return false,
                    }
                }
                paths.end_path(start);
            }
        }
        paths.prefix_free()
    }

    enum Key {
        /// A static name, hashed.
        Hash(u64),
        /// `${…}` of something other than a string or parentheses: never static.
        Dynamic,
        /// A node that is not an attribute (`inherit (x)`'s source).
        NotAttr,
        /// A spelling this scan does not read.
        Unread,
    }

    fn key_hash(attr: &GreenNodeData) -> Key {
        let kind = attr.kind();
        if kind == raw(SyntaxKind::NODE_IDENT) || kind == raw(SyntaxKind::NODE_STRING) {
            crate::syntax::nix::green_plain_name(attr)
                .map_or(Key::Unread, |name| Key::Hash(hash(name)))
        } else if kind == raw(SyntaxKind::NODE_DYNAMIC) {
            let inner = attr.children().filter_map(NodeOrToken::into_node).next();
            match inner.map(GreenNodeData::kind) {
                Some(k)
                    if k == raw(SyntaxKind::NODE_STRING) || k == raw(SyntaxKind::NODE_PAREN) =>
                {
                    Key::Unread
                }
                Some(_) => Key::Dynamic,
                None => Key::Unread,
            }
        } else {
            Key::NotAttr
        }
    }

    /// foldhash with a fixed seed: a collision only sends a set to the full check.
    fn hash(text: &str) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::with_seed(0).hash_one(text)
    }
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

fn build(node: &SyntaxNode, found: &mut Vec<Duplicate>, covered: &mut HashSet<TextRange>) -> Def {
    let mut children = Children::default();
    for entry in entries(node) {
        match entry {
            ast::Entry::Inherit(inherit) => {
                for attr in inherit.attrs() {
                    let key = crate::syntax::nix::attr_key(&attr);
                    let span = Span::from(attr.syntax().text_range());
                    if let Key::Static(name) = key {
                        add(
                            &mut children,
                            &[name.into_string()],
                            Def::Other,
                            span,
                            found,
                        );
                    }
                }
            }
            ast::Entry::AttrpathValue(binding) => {
                let Some(attrpath) = binding.attrpath() else {
                    continue;
                };
                let keys = attrpath_keys(&attrpath);
                let names: Vec<String> = keys
                    .iter()
                    .map_while(|k| k.key.as_static().map(str::to_owned))
                    .collect();
                let span = Span::from(attrpath.syntax().text_range());
                if names.len() < keys.len() {
                    // A dynamic key is added when Nix evaluates the set, but the
                    // static path before it is walked (and created) as sets now.
                    if !names.is_empty() {
                        add(
                            &mut children,
                            &names,
                            Def::Set(Children::default()),
                            span,
                            found,
                        );
                    }
                    continue;
                }
                let value = match crate::syntax::nix::binding_value(&binding).map(strip_parens) {
                    Some(ast::Expr::AttrSet(set)) => {
                        covered.insert(set.syntax().text_range());
                        build(set.syntax(), found, covered)
                    }
                    _ => Def::Other,
                };
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
            .or_insert_with(|| (Def::Set(Children::default()), span));
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
        path: crate::syntax::quote::nix_attr_path(prefix.iter().map(String::as_str)),
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

    /// The shortcut for prefix-free sets finds exactly what the full check finds,
    /// on generated sets with shared prefixes, merges, `inherit` and dynamic keys.
    #[test]
    fn shortcut_agrees_with_the_full_check() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        fn set(next: &mut dyn FnMut(u64) -> u64, depth: u32) -> String {
            let mut out = String::from("{ ");
            for _ in 0..next(5) {
                if next(8) == 0 {
                    out.push_str(["inherit a; ", "inherit b c; "][next(2) as usize]);
                    continue;
                }
                let len = 1 + next(3);
                let keys: Vec<&str> = (0..len)
                    .map(|_| {
                        [
                            "a",
                            "b",
                            "c",
                            "\"a\"",
                            "${x}",
                            "${\"b\"}",
                            "\"\\a\"",
                            "${(\"c\")}",
                        ][next(8) as usize]
                    })
                    .collect();
                out.push_str(&keys.join("."));
                out.push_str(" = ");
                if depth < 2 && next(2) == 0 {
                    out.push_str(&set(next, depth + 1));
                } else {
                    out.push('1');
                }
                out.push_str("; ");
            }
            out.push('}');
            out
        }
        let mut with_duplicates = 0;
        for _ in 0..3000 {
            let src = set(&mut next, 0);
            let parse = rnix::Root::parse(&src);
            assert!(parse.errors().is_empty(), "{src}");
            let root = parse.syntax();
            let fast = find_with(&root, true);
            let full = find_with(&root, false);
            assert_eq!(fast, full, "{src}");
            with_duplicates += usize::from(!full.is_empty());
        }
        // The generator must produce both kinds of sets for the comparison to mean anything.
        assert!((300..2700).contains(&with_duplicates), "{with_duplicates}");
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
        assert_eq!(dups("{ ${x} = { a = 1; a = 2; }; }"), vec!["a"]);
        assert_eq!(dups("{ a = 1; a.${x} = 2; }"), vec!["a"]);
        assert_eq!(dups("{ a.b.${x} = 2; a.b = 3; }"), vec!["a.b"]);
        assert_eq!(
            dups("{ a.${x} = 2; a = { b = 1; }; }"),
            Vec::<String>::new()
        );
        assert_eq!(
            dups("{ a.${x}.c = 2; a.${x}.d = 1; }"),
            Vec::<String>::new()
        );
        assert_eq!(
            dups("{ a = { b = 1; }; a = { c = { d = 1; d = 2; }; }; }"),
            vec!["d"]
        );
        assert_eq!(
            dups("{ a = { b = 1; }; a = { c = 1; }; e = { f = 1; f = 2; }; }"),
            vec!["f"]
        );
        assert_eq!(
            dups("{ a = { b = 1; }; a.c = { d = 1; }; a.c.e = 2; }"),
            Vec::<String>::new()
        );
    }
}
