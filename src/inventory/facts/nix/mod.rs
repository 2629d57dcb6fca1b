//! Finds legacy `inventory.services` definitions in a Nix syntax tree by their
//! *logical* attribute path: nested sets, dotted paths, quoted keys, `${"literal"}`
//! keys and parentheses all give the same path.
//!
//! Paths are measured from an *anchor*: an attribute set that is not itself the
//! value of an attribute (a file's top-level set, a function argument such as
//! `clan-core.lib.clan { … }`, a list element, a `let` value). Bindings of `let`
//! are variables, not attributes, and never match. A file can also be *mounted*
//! at a logical path by the file that imports it (`inventory = import ./x.nix;`
//! mounts `x.nix` at `inventory`): its top-level set then starts there.

use std::cell::{OnceCell, RefCell};

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode, TextRange, TextSize};
use rowan::ast::AstNode;
use rowan::{GreenNodeData, Language};

use super::{
    ClanDirs, EmptyLegacyServices, INSTANCES_PREFIXES, InstanceBinding, InventoryImport,
    LegacyFacts, LegacyRead, Level, OwnClan, Reference, SERVICES_PREFIXES, Span, UnmigratableForm,
    UnmigratableReason,
};
use crate::syntax::nix::{
    Key, KeySeg, attrpath_keys, describe_expr, import_of_literal_path, literal_relative_path,
    strip_parens,
};

mod bindings;
mod own_clans;
mod reads;
mod walk;

use bindings::*;
use own_clans::*;
use reads::*;
use walk::*;

/// Detects legacy definitions in a parsed file whose text is `text`. `mounts`
/// are the logical paths at which other files import this one (the empty path
/// always applies).
pub fn detect(root: &SyntaxNode, text: &str, mounts: &[Vec<String>]) -> LegacyFacts {
    detect_with(root, Some(text), mounts, true)
}

/// [`detect`] for a file at a known place: sets that define a clan of their
/// own (see [`super::OwnClan`]) keep their instances, machines and tags apart.
pub fn detect_in(
    root: &SyntaxNode,
    text: &str,
    mounts: &[Vec<String>],
    dirs: Option<ClanDirs<'_>>,
) -> LegacyFacts {
    let dirs = dirs.map(|d| (d, crate::io::discover::normalize(d.clan_dir)));
    detector_run(root, Some(text), mounts, true, dirs).0
}

/// [`detect`] without its shortcuts: every binding, selection and subtree is
/// read in full. What `detect` finds must be the same (the fuzz target
/// `analyze_bytes` compares them).
#[doc(hidden)]
pub fn detect_without_shortcuts(root: &SyntaxNode, mounts: &[Vec<String>]) -> LegacyFacts {
    detect_with(root, None, mounts, false)
}

/// `prune`: skip the bindings of sets that cannot hold facts, rule selections
/// out as reads from their green nodes, and skip the subtrees that cannot hold
/// a fact when `text` is given (false in tests only).
fn detect_with(
    root: &SyntaxNode,
    text: Option<&str>,
    mounts: &[Vec<String>],
    prune: bool,
) -> LegacyFacts {
    detector_run(root, text, mounts, prune, None).0
}

/// [`detect_with`], and how many nodes the walk visited.
/// `dirs`: where the file is, when clans of its own are looked for.
fn detector_run(
    root: &SyntaxNode,
    text: Option<&str>,
    mounts: &[Vec<String>],
    prune: bool,
    dirs: Option<(ClanDirs<'_>, std::path::PathBuf)>,
) -> (LegacyFacts, usize) {
    let mut all_mounts: Vec<Vec<Key>> = vec![Vec::new()];
    for m in mounts {
        let m: Vec<Key> = m.iter().map(|s| Key::Static(s.into())).collect();
        if !m.is_empty() && !all_mounts.contains(&m) {
            all_mounts.push(m);
        }
    }
    // A mounted file's top-level bindings can be inventory without naming it.
    // The walk's offsets are those of `text` only if the tree is all of it.
    let whole_text =
        |text: &&str| TextSize::try_from(text.len()).map(TextRange::up_to) == Ok(root.text_range());
    let spellings = text
        .filter(|text| prune && all_mounts.len() == 1 && whole_text(text))
        .and_then(InventorySpellings::find);
    let mut detector = Detector {
        facts: LegacyFacts::default(),
        all_mounts: &all_mounts,
        prune,
        spellings,
        walked: 0,
        anchor_paths: Vec::new(),
        in_reference: false,
        dirs,
    };
    let green = root.green();
    let top = WalkNode {
        green,
        kind: root.kind(),
        offset: root.text_range().start(),
        parent: None,
        cursor: OnceCell::from(Some(root.clone())),
        children: RefCell::new(None),
    };
    let inherited = Inherited {
        file_top: true,
        owner: None,
        value_of: None,
        inside_instance: false,
    };
    detector.walk(&top, inherited);
    // The values of `let` variables an inventory path is set to, each walked
    // once at that path.
    let mut walked_references: Vec<TextRange> = Vec::new();
    while let Some(reference) = detector.facts.references.pop() {
        if walked_references.contains(&reference.range) {
            continue;
        }
        walked_references.push(reference.range);
        let Some(node) = node_at(root, reference.range) else {
            continue;
        };
        let path: Vec<Key> = reference
            .path
            .iter()
            .map(|k| Key::Static(k.as_str().into()))
            .collect();
        if let Some(expr) = ast::Expr::cast(node.clone()) {
            for (set, _) in crate::syntax::nix::terminals(&expr) {
                detector
                    .anchor_paths
                    .push((set.syntax().text_range(), path.clone()));
            }
        }
        let start = WalkNode {
            green: node.green(),
            kind: node.kind(),
            offset: node.text_range().start(),
            parent: None,
            cursor: OnceCell::from(Some(node.clone())),
            children: RefCell::new(None),
        };
        let inherited = Inherited {
            file_top: false,
            owner: None,
            value_of: None,
            inside_instance: false,
        };
        let spellings = detector.spellings.take();
        detector.in_reference = true;
        detector.walk(&start, inherited);
        detector.in_reference = false;
        detector.spellings = spellings;
    }
    (detector.facts, detector.walked)
}

/// The node whose range is exactly `range`.
fn node_at(root: &SyntaxNode, range: TextRange) -> Option<SyntaxNode> {
    let start = match root.covering_element(range) {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => t.parent()?,
    };
    start.ancestors().find(|n| n.text_range() == range)
}

#[cfg(test)]
mod tests;
