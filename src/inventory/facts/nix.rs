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

/// Where an attribute set sits in the logical tree.
#[derive(Debug, Clone)]
struct SetContext {
    /// Logical path of the set's contents, from its anchor.
    path: Vec<Key>,
    /// The set is the file's top-level value, or inside it.
    under_file_top: bool,
    /// Path length at which a `//` update was crossed, if any.
    update_at: Option<usize>,
    /// A binding directly in the set can be a fact (see [`reach`]);
    /// when false, neither can any binding below it, and `path` is left empty.
    live: bool,
    /// The first keys a binding directly in the set may have to be a fact
    /// (see [`reach`]).
    first_keys: FirstKeys,
}

impl SetContext {
    fn live(path: Vec<Key>, under_file_top: bool, update_at: Option<usize>) -> SetContext {
        SetContext {
            path,
            under_file_top,
            update_at,
            live: true,
            first_keys: FirstKeys::Any,
        }
    }

    /// A set in which nothing can be a fact.
    fn dead(under_file_top: bool) -> SetContext {
        SetContext {
            live: false,
            ..SetContext::live(Vec::new(), under_file_top, None)
        }
    }
}

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
    let own_clans = dirs.map_or_else(Vec::new, |dirs| own_clans(root, text, dirs));
    if own_clans.is_empty() {
        return detect(root, text, mounts);
    }
    let mut facts = LegacyFacts {
        own_clans,
        ..LegacyFacts::default()
    };
    detector_run_into(&mut facts, root, Some(text), mounts, true);
    facts
}

/// The sets of a file that define a clan of their own (see [`OwnClan`]),
/// outermost first. The one look at the file system detection makes: whether
/// such a clan's directory adds machines.
fn own_clans(root: &SyntaxNode, text: &str, dirs: ClanDirs<'_>) -> Vec<OwnClan> {
    let clan_dir = crate::io::discover::normalize(dirs.clan_dir);
    // The sets in which an `inventory` binding starts: found from the word's
    // offsets, without walking the whole tree.
    let mut sets: Vec<ast::AttrSet> = Vec::new();
    for at in memchr::memmem::find_iter(text.as_bytes(), b"inventory") {
        let Ok(offset) = TextSize::try_from(at) else {
            break;
        };
        let Some(token) = root.token_at_offset(offset).right_biased() else {
            continue;
        };
        let set = token
            .parent_ancestors()
            .find(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
            .filter(|b| b.text_range().start() == token.text_range().start())
            .and_then(|b| b.parent())
            .and_then(ast::AttrSet::cast);
        if let Some(set) = set
            && !sets.contains(&set)
        {
            sets.push(set);
        }
    }
    sets.sort_by_key(|s| {
        (
            s.syntax().text_range().start(),
            std::cmp::Reverse(s.syntax().text_range().len()),
        )
    });
    sets.into_iter()
        .filter_map(|set| {
            let (mut directory, mut has_directory, mut has_self, mut has_inventory) =
                (None, false, false, false);
            for binding in set.attrpath_values() {
                let keys = binding
                    .attrpath()
                    .map(|a| attrpath_keys(&a))
                    .unwrap_or_default();
                match keys.first() {
                    Some(first) if first.key.is("inventory") => has_inventory = true,
                    Some(first) if first.key.is("self") => has_self = true,
                    Some(first) if first.key.is("directory") => {
                        has_directory = true;
                        if keys.len() == 1 {
                            directory = binding.value().as_ref().and_then(literal_relative_path);
                        }
                    }
                    _ => {}
                }
            }
            has_self |= set.inherits().any(|i| {
                i.attrs()
                    .any(|a| matches!(a, ast::Attr::Ident(id) if id.syntax().text() == "self"))
            });
            if !has_inventory {
                return None;
            }
            let directory = match directory {
                Some(literal) => {
                    let directory = crate::io::discover::normalize(&dirs.file_dir.join(literal));
                    if directory == clan_dir {
                        return None;
                    }
                    Some(directory)
                }
                None if !has_directory && !has_self && is_clan_call_argument(&set) => None,
                None => return None,
            };
            // Clan adds the machines of `<directory>/machines/` and the
            // inventory of `<directory>/inventory.json`: with either, the
            // literal machines and tags are not all of them.
            let machines = crate::inventory::MachineFacts {
                incomplete: directory.as_ref().is_some_and(|d| {
                    d.join("machines").is_dir() || d.join("inventory.json").exists()
                }),
                ..Default::default()
            };
            Some(OwnClan {
                range: Span::from(set.syntax().text_range()),
                directory,
                machines,
            })
        })
        .collect()
}

/// Whether `set` is the argument of a call of a function whose name says
/// clan or inventory (`createTestClan { … }`, `clanLib.clan { … }`).
fn is_clan_call_argument(set: &ast::AttrSet) -> bool {
    let mut node = set.syntax().clone();
    while let Some(parent) = node.parent().filter(|p| p.kind() == SyntaxKind::NODE_PAREN) {
        node = parent;
    }
    let Some(apply) = node.parent().and_then(ast::Apply::cast) else {
        return false;
    };
    if apply.argument().map(|a| a.syntax().clone()) != Some(node) {
        return false;
    }
    let name = match apply.lambda().map(strip_parens) {
        Some(ast::Expr::Ident(id)) => id.syntax().text().to_string(),
        Some(ast::Expr::Select(select)) => select
            .attrpath()
            .and_then(|a| a.attrs().last())
            .map(|a| a.syntax().text().to_string())
            .unwrap_or_default(),
        _ => return false,
    }
    .to_ascii_lowercase();
    name.contains("clan") || name.contains("inventory")
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
    detector_run(root, text, mounts, prune).0
}

/// [`detect_with`], and how many nodes the walk visited.
fn detector_run(
    root: &SyntaxNode,
    text: Option<&str>,
    mounts: &[Vec<String>],
    prune: bool,
) -> (LegacyFacts, usize) {
    let mut facts = LegacyFacts::default();
    let walked = detector_run_into(&mut facts, root, text, mounts, prune);
    (facts, walked)
}

/// Runs the detector, adding to `facts` (which may already know the file's
/// own clans); returns how many nodes the walk visited.
fn detector_run_into(
    facts: &mut LegacyFacts,
    root: &SyntaxNode,
    text: Option<&str>,
    mounts: &[Vec<String>],
    prune: bool,
) -> usize {
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
        facts: std::mem::take(facts),
        all_mounts: &all_mounts,
        prune,
        spellings,
        walked: 0,
        anchor_paths: Vec::new(),
        in_reference: false,
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
    *facts = detector.facts;
    detector.walked
}

/// The node whose range is exactly `range`.
fn node_at(root: &SyntaxNode, range: TextRange) -> Option<SyntaxNode> {
    let start = match root.covering_element(range) {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => t.parent()?,
    };
    start.ancestors().find(|n| n.text_range() == range)
}

/// One node of the walk: its green node, and its cursor once something needs it.
/// The walk reads the green tree and makes cursors only for the bindings it
/// visits, the reads it checks and their ancestors (a cursor for every node was
/// the larger part of the detector's time).
struct WalkNode<'g, 'p> {
    green: &'g GreenNodeData,
    kind: SyntaxKind,
    /// Where the node starts in the file.
    offset: TextSize,
    /// The parent, and this node's index among the parent's child nodes.
    parent: Option<(&'p WalkNode<'g, 'p>, usize)>,
    cursor: OnceCell<Option<SyntaxNode>>,
    /// The index of the next child node `children` gives, and the iterator.
    children: RefCell<Option<(usize, rnix::SyntaxNodeChildren)>>,
}

impl WalkNode<'_, '_> {
    fn range(&self) -> TextRange {
        TextRange::at(self.offset, self.green.text_len())
    }

    fn cursor(&self) -> Option<SyntaxNode> {
        self.cursor
            .get_or_init(|| {
                let (parent, index) = self.parent?;
                parent.child(index)
            })
            .clone()
    }

    /// The cursor of child node `index`. The walk asks for children in order,
    /// so one iterator serves them all.
    fn child(&self, index: usize) -> Option<SyntaxNode> {
        let mut slot = self.children.borrow_mut();
        if slot.as_ref().is_none_or(|(next, _)| *next > index) {
            *slot = Some((0, self.cursor()?.children()));
        }
        let (next, children) = slot.as_mut()?;
        let node = children.nth(index - *next);
        *next = index + 1;
        node
    }
}

/// What a node of the walk knows from its ancestors.
#[derive(Clone, Copy)]
struct Inherited<'c, 'g, 'p> {
    /// The node is the file's value, possibly behind a function header,
    /// `let … in`, `with …;`, `assert …;`, parentheses or a `//` update.
    file_top: bool,
    /// The context of the attribute set the node is a direct child of.
    owner: Option<&'c SetContext>,
    /// The node is, through parentheses, `//` updates and what
    /// [`crate::syntax::nix::terminals`] sees through (`let … in`, a module
    /// function's body, `lib.mkMerge`, `lib.mkIf`, priorities), the value of a
    /// binding in an attribute set.
    value_of: Option<ValueOf<'c, 'g, 'p>>,
    /// The node is inside the value of an inventory instance (see
    /// [`visit_binding`]): nothing in it is inventory, not even a set that
    /// starts a logical path of its own (a list item, an argument).
    inside_instance: bool,
}

#[derive(Clone, Copy)]
struct ValueOf<'c, 'g, 'p> {
    /// The context of the set that holds the binding.
    owner: &'c SetContext,
    binding: &'c WalkNode<'g, 'p>,
    crossed_update: bool,
    /// The node is the list of a `lib.mkMerge` call: its items are values too.
    merge_list: bool,
}

impl ValueOf<'_, '_, '_> {
    /// The same value, passed through a node that is not a `mkMerge` list.
    fn passed(self) -> Self {
        ValueOf {
            merge_list: false,
            ..self
        }
    }
}

struct Detector<'m> {
    facts: LegacyFacts,
    all_mounts: &'m [Vec<Key>],
    prune: bool,
    /// Where the file may spell the key `inventory`, when subtrees are skipped
    /// by it (see [`Detector::cannot_hold_facts`]).
    spellings: Option<InventorySpellings>,
    /// Nodes visited so far (the tests check what the shortcuts skip).
    walked: usize,
    /// Sets that start at a path other than the file's top (the values of
    /// `let` variables that an inventory path is set to).
    anchor_paths: Vec<(TextRange, Vec<Key>)>,
    /// Walking such a value again (its reads were found the first time).
    in_reference: bool,
}

/// The offsets at which a file may spell the key `inventory`: the word itself, or
/// a backslash or `${` (an escape or an interpolation can spell it in a string,
/// `"invent\ory"`, `"inv${"entory"}"`). A range with none of them holds no key
/// `inventory`, read or defined.
struct InventorySpellings(Vec<TextSize>);

impl InventorySpellings {
    /// `None` for a text too long for offsets (rnix cannot parse one anyway).
    fn find(text: &str) -> Option<InventorySpellings> {
        let bytes = text.as_bytes();
        let mut at = memchr::memmem::find_iter(bytes, b"inventory")
            .chain(memchr::memchr_iter(b'\\', bytes))
            .chain(memchr::memmem::find_iter(bytes, b"${"))
            .map(TextSize::try_from)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        at.sort_unstable();
        Some(InventorySpellings(at))
    }

    fn any_in(&self, range: TextRange) -> bool {
        let first = self.0.partition_point(|&at| at < range.start());
        self.0.get(first).is_some_and(|&at| at < range.end())
    }
}

impl Detector<'_> {
    /// Visits `node` and its descendants in preorder (the order of the facts).
    fn walk(&mut self, node: &WalkNode<'_, '_>, inherited: Inherited<'_, '_, '_>) {
        self.walked += 1;
        let mut own = None;
        let mut inside_instance = inherited.inside_instance;
        match node.kind {
            SyntaxKind::NODE_ATTR_SET => own = Some(self.set_context(inherited, node.range())),
            SyntaxKind::NODE_ATTRPATH_VALUE => {
                if let Some(ctx) = inherited.owner.filter(|ctx| ctx.live)
                    && ctx.first_keys.may_start(node.green)
                    && let Some(binding) = node.cursor().and_then(ast::AttrpathValue::cast)
                {
                    for mount in mounts_for(ctx, self.all_mounts) {
                        inside_instance |= visit_binding(&binding, ctx, mount, &mut self.facts);
                    }
                }
            }
            SyntaxKind::NODE_INHERIT => {
                if let Some(ctx) = inherited.owner.filter(|ctx| ctx.live)
                    && let Some(inherit) = node.cursor().and_then(ast::Inherit::cast)
                {
                    for mount in mounts_for(ctx, self.all_mounts) {
                        visit_inherit(&inherit, ctx, mount, &mut self.facts);
                    }
                }
            }
            SyntaxKind::NODE_SELECT | SyntaxKind::NODE_HAS_ATTR if !self.in_reference => {
                if (!self.prune || may_be_legacy_read(node.green))
                    && let Some(read) = node.cursor().and_then(|node| legacy_read(&node))
                {
                    self.facts.reads.push(read);
                }
            }
            _ => {}
        }
        let update = node.kind == SyntaxKind::NODE_BIN_OP && is_update(node.green);
        // A call of `lib.mkMerge`, `lib.mkIf`, … whose result is a binding's
        // value: what it wraps is the value (rarely asked: few calls are values).
        let wrapper = match (node.kind, inherited.value_of) {
            (SyntaxKind::NODE_APPLY, Some(_)) => node
                .cursor()
                .and_then(ast::Apply::cast)
                .and_then(|apply| crate::syntax::nix::wrapper_call(&apply))
                .map(|(wrapper, _)| wrapper),
            _ => None,
        };
        let (mut index, mut exprs) = (0, 0);
        let mut child_offset = node.offset;
        for child in node.green.children() {
            let offset = child_offset;
            child_offset += child.text_len();
            let rowan::NodeOrToken::Node(green) = child else {
                continue;
            };
            let kind = rnix::NixLanguage::kind_from_raw(green.kind());
            let is_expr = ast::Expr::can_cast(kind);
            if is_leaf(green, kind) {
                index += 1;
                exprs += usize::from(is_expr);
                continue;
            }
            // Which child is the body the file's value passes through.
            let body = |n: usize| is_expr && exprs == n;
            let through = match node.kind {
                SyntaxKind::NODE_ROOT | SyntaxKind::NODE_PAREN => true,
                SyntaxKind::NODE_BIN_OP => update,
                SyntaxKind::NODE_LAMBDA | SyntaxKind::NODE_LET_IN => body(0),
                SyntaxKind::NODE_WITH | SyntaxKind::NODE_ASSERT => body(1),
                _ => false,
            };
            let value_of = match node.kind {
                SyntaxKind::NODE_ATTRPATH_VALUE => inherited.owner.map(|owner| ValueOf {
                    owner,
                    binding: node,
                    crossed_update: false,
                    merge_list: false,
                }),
                SyntaxKind::NODE_PAREN => inherited.value_of.map(ValueOf::passed),
                SyntaxKind::NODE_BIN_OP if update => inherited.value_of.map(|v| ValueOf {
                    crossed_update: true,
                    merge_list: false,
                    ..v
                }),
                SyntaxKind::NODE_LAMBDA | SyntaxKind::NODE_LET_IN if body(0) => {
                    inherited.value_of.map(ValueOf::passed)
                }
                SyntaxKind::NODE_WITH | SyntaxKind::NODE_ASSERT if body(1) => {
                    inherited.value_of.map(ValueOf::passed)
                }
                SyntaxKind::NODE_APPLY if body(1) && wrapper.is_some() => {
                    inherited.value_of.map(|v| ValueOf {
                        merge_list: wrapper == Some(crate::syntax::nix::Wrapper::Merge),
                        ..v
                    })
                }
                SyntaxKind::NODE_LIST if is_expr => inherited
                    .value_of
                    .filter(|v| v.merge_list)
                    .map(ValueOf::passed),
                _ => None,
            };
            let child = WalkNode {
                green,
                kind,
                offset,
                parent: Some((node, index)),
                cursor: OnceCell::new(),
                children: RefCell::new(None),
            };
            let inherited = Inherited {
                file_top: inherited.file_top && through,
                owner: own.as_ref(),
                value_of,
                inside_instance,
            };
            if !self.cannot_hold_facts(&child, &inherited) {
                self.walk(&child, inherited);
            }
            index += 1;
            exprs += usize::from(is_expr);
        }
    }

    /// Whether nothing in `node`'s subtree can be a fact: every fact needs the
    /// key `inventory`, in its own path (a binding's, a read's) or in the path
    /// its set has from outside the subtree (below `inventory.services = { … }`
    /// or through `inventory.services = x //`). Where neither names it, the
    /// subtree is not walked: most of a module (`users.users.alice = { … }`,
    /// `lib.mkIf cfg.enable { … }`).
    fn cannot_hold_facts(
        &self,
        node: &WalkNode<'_, '_>,
        inherited: &Inherited<'_, '_, '_>,
    ) -> bool {
        let Some(spellings) = &self.spellings else {
            return false;
        };
        let names_inventory =
            |ctx: &SetContext| ctx.live && ctx.path.iter().any(|k| k.is("inventory"));
        let from_outside = inherited.owner.is_some_and(names_inventory)
            || inherited.value_of.is_some_and(|v| {
                names_inventory(v.owner) || (v.owner.live && spellings.any_in(v.binding.range()))
            });
        !from_outside && !spellings.any_in(node.range())
    }

    /// Where an attribute set sits: below the set that holds the binding whose
    /// value it is, or at a new anchor.
    fn set_context(&self, inherited: Inherited<'_, '_, '_>, node_range: TextRange) -> SetContext {
        let mut ctx = match inherited.value_of {
            Some(ValueOf { owner, .. }) if !owner.live => SetContext::dead(owner.under_file_top),
            // Most bindings of a module (`services.nginx…`) rule themselves
            // out by their first key, before their path is read.
            Some(ValueOf { owner, binding, .. }) if !owner.first_keys.may_start(binding.green) => {
                SetContext::dead(owner.under_file_top)
            }
            Some(ValueOf {
                owner,
                binding,
                crossed_update,
                ..
            }) => {
                let mut path = owner.path.clone();
                if let Some(attrpath) = binding
                    .cursor()
                    .and_then(ast::AttrpathValue::cast)
                    .and_then(|b| b.attrpath())
                {
                    path.extend(attrpath_keys(&attrpath).into_iter().map(|k| k.key));
                }
                let update_at = owner.update_at.or(crossed_update.then_some(path.len()));
                SetContext::live(path, owner.under_file_top, update_at)
            }
            None => {
                let path = self
                    .anchor_paths
                    .iter()
                    .find(|(range, _)| *range == node_range)
                    .map(|(_, path)| path.clone());
                match path {
                    Some(path) => SetContext::live(path, false, None),
                    None => SetContext::live(Vec::new(), inherited.file_top, None),
                }
            }
        };
        if inherited.inside_instance {
            ctx.live = false;
        } else if !self.prune {
            ctx.live = true;
        } else if ctx.live {
            let reach = reach(mounts_for(&ctx, self.all_mounts), &ctx.path);
            (ctx.live, ctx.first_keys) = (reach.live, reach.first_keys);
        }
        ctx
    }
}

/// Whether the walk has nothing to do at a node: it has no child nodes (an
/// identifier, a literal, a string without interpolation) and is of none of
/// the kinds the walk visits.
fn is_leaf(green: &GreenNodeData, kind: SyntaxKind) -> bool {
    !matches!(
        kind,
        SyntaxKind::NODE_ATTR_SET
            | SyntaxKind::NODE_ATTRPATH_VALUE
            | SyntaxKind::NODE_INHERIT
            | SyntaxKind::NODE_SELECT
            | SyntaxKind::NODE_HAS_ATTR
    ) && green.children().all(|c| c.as_token().is_some())
}

/// Whether a green `NODE_BIN_OP` is a `//` update (its operator is the first
/// operator token among its children, as rnix's `BinOp::operator` reads it).
fn is_update(bin_op: &GreenNodeData) -> bool {
    bin_op
        .children()
        .filter_map(rowan::NodeOrToken::into_token)
        .find_map(|t| ast::BinOpKind::from_kind(rnix::NixLanguage::kind_from_raw(t.kind())))
        == Some(ast::BinOpKind::Update)
}

fn mounts_for<'a>(ctx: &SetContext, all: &'a [Vec<Key>]) -> &'a [Vec<Key>] {
    if ctx.under_file_top { all } else { &all[..1] }
}

/// What a binding directly in a set at logical path `mount ++ path` can be.
/// Each fact [`visit_binding`] or [`visit_inherit`] records needs the binding's
/// path to agree with `<inventory>.X` (`<inventory>` being `inventory`,
/// `clan.inventory` or `flake.clan.inventory`) as far as both go, and the set's
/// path to be short enough:
///
/// - `services`: legacy levels down to the instance (`<inventory>.services.<s>`;
///   deeper bindings are inside an instance);
/// - `instances`: the instance names (`<inventory>.instances`);
/// - `machines`: machine facts, at any depth;
/// - `tags`: `<inventory>.tags.<t>` lists (the bindings of `<inventory>.tags`);
/// - `imports`: `<inventory>.imports = [ … ]`, in the set `<inventory>`
///   (`<inventory> = import …` is a binding in a set that agrees with every `X`).
///
/// A longer path agrees with no more of them: a set that cannot hold facts
/// has no descendant that can, and a binding whose first key continues the
/// set's path along no `X` is no fact, defines no instance, and neither is nor
/// does anything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reach {
    /// A binding directly in the set can be a fact.
    live: bool,
    first_keys: FirstKeys,
}

fn reach(mounts: &[Vec<Key>], path: &[Key]) -> Reach {
    const REACH: &[(&str, Option<usize>)] = &[
        ("services", Some(2)),
        ("instances", Some(1)),
        ("machines", None),
        ("tags", Some(1)),
        ("imports", Some(0)),
    ];
    let (mut live, mut any, mut allowed) = (false, false, 0u8);
    for mount in mounts {
        let len = mount.len() + path.len();
        for prefix in SERVICES_PREFIXES {
            let inventory = &prefix[..prefix.len() - 1];
            for &(x, reach) in REACH {
                let mut expected = inventory.iter().copied().chain([x]);
                // `zip` asks the path first: `expected` stops at its length.
                let agrees = mount
                    .iter()
                    .chain(path)
                    .zip(expected.by_ref())
                    .all(|(k, e)| k.is(e));
                if !agrees {
                    continue;
                }
                live |= reach.is_none_or(|r| len <= inventory.len() + r);
                match expected.next() {
                    // Nothing more to learn.
                    None if live => {
                        return Reach {
                            live,
                            first_keys: FirstKeys::Any,
                        };
                    }
                    None => any = true,
                    Some(name) => {
                        let bit = FACT_KEYS.iter().position(|&k| k == name);
                        allowed |= bit.map_or(0, |i| 1 << i);
                    }
                }
            }
        }
    }
    let first_keys = if any {
        FirstKeys::Any
    } else {
        FirstKeys::Among(allowed)
    };
    Reach { live, first_keys }
}

/// The names [`reach`] reads.
const FACT_KEYS: [&str; 8] = [
    "inventory",
    "clan",
    "flake",
    "services",
    "instances",
    "machines",
    "tags",
    "imports",
];

/// What the first key of a binding directly in a set must be for the binding
/// to be a fact or define an instance (see [`reach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstKeys {
    Any,
    /// One of the [`FACT_KEYS`] whose bits are set.
    Among(u8),
}

impl FirstKeys {
    /// Whether a binding (its green node) may have an allowed first key. A key
    /// spelled in a way this does not read (dynamic, escaped) may.
    fn may_start(self, binding: &GreenNodeData) -> bool {
        let FirstKeys::Among(allowed) = self else {
            return true;
        };
        let first = binding
            .children()
            .find_map(rowan::NodeOrToken::into_node)
            .filter(|path| path.kind() == rnix::NixLanguage::kind_to_raw(SyntaxKind::NODE_ATTRPATH))
            .and_then(|path| path.children().find_map(rowan::NodeOrToken::into_node))
            .and_then(crate::syntax::nix::green_plain_name);
        first.is_none_or(|name| {
            FACT_KEYS
                .iter()
                .position(|&k| k == name)
                .is_some_and(|i| allowed & (1 << i) != 0)
        })
    }
}

/// The length of the services prefix that `path` starts with.
fn services_prefix_len(path: &[&Key]) -> Option<usize> {
    prefix_len(SERVICES_PREFIXES, path)
}

fn prefix_len(prefixes: &[&[&str]], path: &[&Key]) -> Option<usize> {
    prefixes
        .iter()
        .find(|prefix| path.len() >= prefix.len() && prefix.iter().zip(path).all(|(p, k)| k.is(p)))
        .map(|prefix| prefix.len())
}

/// Whether `path` is exactly the `inventory` part of a services prefix.
fn is_inventory_path(path: &[&Key]) -> bool {
    SERVICES_PREFIXES.iter().any(|prefix| {
        let inv = &prefix[..prefix.len() - 1];
        path.len() == inv.len() && inv.iter().zip(path).all(|(p, k)| k.is(p))
    })
}

fn static_path(path: &[&Key]) -> Option<Vec<String>> {
    path.iter()
        .map(|k| k.as_static().map(str::to_owned))
        .collect()
}

fn display_path(path: &[&Key]) -> String {
    path.iter()
        .map(|k| match k {
            Key::Static(s) => crate::syntax::quote::nix_attr(s),
            Key::Dynamic => "${…}".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Records the facts `binding` (in a set at `ctx`, under `mount`) defines, and
/// says whether it defines an inventory instance or something inside one
/// (`<inventory>.services.<s>.<i>…`, `<inventory>.instances.<i>…`). Its value
/// is then instance data (machine lists, settings, NixOS modules): an
/// `inventory.services` written in it is not the clan's inventory.
fn visit_binding(
    binding: &ast::AttrpathValue,
    ctx: &SetContext,
    mount: &[Key],
    facts: &mut LegacyFacts,
) -> bool {
    let Some(attrpath) = binding.attrpath() else {
        return false;
    };
    let segs: Vec<KeySeg> = attrpath_keys(&attrpath);
    if segs.is_empty() {
        return false;
    }
    let full: Vec<&Key> = mount
        .iter()
        .chain(&ctx.path)
        .chain(segs.iter().map(|s| &s.key))
        .collect();
    record_binding(binding, ctx, mount, facts, &segs, &full);
    defines_instance(&full)
}

/// Whether a binding at logical path `full` defines an instance or something
/// inside one: `<inventory>.services.<s>.<i>…` or `<inventory>.instances.<i>…`.
fn defines_instance(full: &[&Key]) -> bool {
    services_prefix_len(full).is_some_and(|k| full.len() >= k + 2)
        || prefix_len(INSTANCES_PREFIXES, full).is_some_and(|k| full.len() > k)
}

/// The facts of a binding whose own segments are `segs` and whose logical path is `full`.
fn record_binding(
    binding: &ast::AttrpathValue,
    ctx: &SetContext,
    mount: &[Key],
    facts: &mut LegacyFacts,
    segs: &[KeySeg],
    full: &[&Key],
) {
    let base = mount.len() + ctx.path.len();
    let value = crate::syntax::nix::binding_value(binding);
    let binding_span = Span::from(binding.syntax().text_range());

    // Inventory files pulled in by literal imports.
    if let Some(value) = &value {
        let seg = full.len().checked_sub(base + 1).and_then(|i| segs.get(i));
        record_imports(binding, full, value, binding_span, seg, facts);
    }

    if let Some(k) = prefix_len(INSTANCES_PREFIXES, full)
        && full.len() > k
        && base <= k
        && let Key::Static(name) = full[k]
    {
        let binding = InstanceBinding {
            binding: binding_span,
            label: Span::from(segs[k - base].range),
            base,
            prefix_len: k,
            mount_len: mount.len(),
        };
        facts.add_new_instance_binding(name, binding);
    }

    if let Some(value) = &value {
        record_machine_facts(full, value, facts);
    }
    if prefix_len(INSTANCES_PREFIXES, full) == Some(full.len())
        && base < full.len()
        && let Some(value) = &value
        && !crate::syntax::nix::terminals(value)
            .iter()
            .all(|(t, _)| matches!(t, ast::Expr::AttrSet(_)))
    {
        facts.opaque_instances.push(binding_span);
    }

    let Some(k) = services_prefix_len(full) else {
        return;
    };
    if base > k + 1 {
        return; // inside an instance
    }
    let seg_at = |index: usize| &segs[index - base];
    let update_at = ctx.update_at.map(|d| d + mount.len());

    if full.len() == k {
        check_level_value(
            value.as_ref(),
            Some(binding),
            full,
            binding_span,
            seg_at(k - 1),
            Level::Services,
            None,
            facts,
        );
        return;
    }
    // full.len() > k: the service name is known here.
    let service = full[k];
    if base <= k && matches!(service, Key::Dynamic) {
        push_unmigratable(
            facts,
            seg_at(k),
            &full[..=k],
            UnmigratableReason::DynamicKey {
                level: Level::Service,
            },
        );
        return;
    }
    let Key::Static(service) = service else {
        return;
    };
    if full.len() == k + 1 {
        check_level_value(
            value.as_ref(),
            Some(binding),
            full,
            binding_span,
            seg_at(k),
            Level::Service,
            Some(service),
            facts,
        );
        return;
    }
    let instance = full[k + 1];
    if base <= k + 1 && matches!(instance, Key::Dynamic) {
        push_unmigratable(
            facts,
            seg_at(k + 1),
            &full[..k + 2],
            UnmigratableReason::DynamicKey {
                level: Level::Instance,
            },
        );
        return;
    }
    let Key::Static(instance) = instance else {
        return;
    };
    if update_at.is_some_and(|d| d <= k + 1) {
        return; // the `//` at `services` or the service is reported instead
    }
    let first = &segs[0];
    let label = Span::new(
        usize::from(first.range.start()),
        usize::from(seg_at(k + 1).range.end()),
    );
    facts.add_instance_binding(
        service,
        instance,
        InstanceBinding {
            binding: binding_span,
            label,
            base,
            prefix_len: k,
            mount_len: mount.len(),
        },
        update_at.is_some(),
    );
}

/// `inventory.machines.<m>.tags = [ … ]`, `….machineClass = "…"`, `inventory.tags.<t> = [ … ]`:
/// literal facts for resolving tag membership; anything non-literal makes them incomplete.
fn record_machine_facts(full: &[&Key], value: &ast::Expr, all_facts: &mut LegacyFacts) {
    let Some(inv) = (1..=3).find(|&n| full.len() > n && is_inventory_path(&full[..n])) else {
        return;
    };
    let offset = usize::from(value.syntax().text_range().start());
    let facts = match all_facts.clan_at(offset) {
        Some(own) => &mut all_facts.own_clans[own],
        None => {
            return record_machine_facts_into(full, inv, value, &mut all_facts.machines);
        }
    };
    record_machine_facts_into(full, inv, value, &mut facts.machines);
}

fn record_machine_facts_into(
    full: &[&Key],
    inv: usize,
    value: &ast::Expr,
    machines: &mut crate::inventory::MachineFacts,
) {
    let rest = &full[inv..];
    let literal_strings = |v: &ast::Expr| -> Option<Vec<String>> {
        let ast::Expr::List(list) = strip_parens(v.clone()) else {
            return None;
        };
        list.items()
            .map(|i| match i {
                ast::Expr::Str(s) => crate::syntax::nix::str_literal(&s),
                _ => None,
            })
            .collect()
    };
    let value = strip_parens(value.clone());
    let is_set = matches!(value, ast::Expr::AttrSet(_));
    match rest {
        [m, ..] if m.is("machines") && rest.len() == 1 && !is_set => machines.incomplete = true,
        [m, name, tail @ ..] if m.is("machines") => {
            let Key::Static(name) = name else {
                machines.incomplete = true;
                return;
            };
            // What an expression gives this machine is not known; the
            // other machines' literal tags still are.
            let info = machines.machines.entry(name.to_string()).or_default();
            match tail {
                [] if !is_set => info.computed = true,
                [t] if t.is("tags") => match literal_strings(&value) {
                    Some(tags) => info.tags.extend(tags),
                    None => info.computed = true,
                },
                [c] if c.is("machineClass") => match &value {
                    ast::Expr::Str(s) => info.class = crate::syntax::nix::str_literal(s),
                    _ => info.computed = true,
                },
                _ => {}
            }
        }
        [t, ..] if t.is("tags") && rest.len() == 1 && !is_set => machines.incomplete = true,
        [t, tag] if t.is("tags") => match (tag, literal_strings(&value)) {
            (Key::Static(tag), Some(list)) => machines
                .tag_lists
                .entry(tag.to_string())
                .or_default()
                .extend(list),
            _ => machines.incomplete = true,
        },
        _ => {}
    }
}

/// `inventory = <value>`, `services = <value>` or `services.<svc> = <value>`:
/// what the value is made of, seen through what the walk sees through
/// ([`crate::syntax::nix::terminals`]). A set is walked on its own; `import
/// ./x.nix` mounts the file there; a variable that a `let` binds to a set,
/// used nowhere else, is walked at this path; an empty set where services
/// belong is a leftover; anything else cannot be migrated statically (a
/// function's argument is left to the call that passes it).
#[allow(clippy::too_many_arguments)]
fn check_level_value(
    value: Option<&ast::Expr>,
    owner: Option<&ast::AttrpathValue>,
    full: &[&Key],
    binding: Span,
    seg: &KeySeg,
    level: Level,
    service: Option<&str>,
    facts: &mut LegacyFacts,
) {
    let Some(value) = value else {
        return;
    };
    let terminals = crate::syntax::nix::terminals(value);
    let plain = terminals.len() == 1 && terminals[0].1.is_none();
    for (expr, _) in terminals {
        if let ast::Expr::AttrSet(set) = &expr {
            let empty = set.entries().next().is_none() && !crate::syntax::nix::is_rec(set);
            if empty && plain && level != Level::Inventory {
                facts.empty.push(EmptyLegacyServices {
                    span: Span::from(seg.range),
                    binding,
                    service: service.map(str::to_owned),
                });
            }
            continue;
        }
        if let (Some(path_text), Some(mount)) = (import_of_literal_path(&expr), static_path(full)) {
            facts.imports.push(InventoryImport {
                path_text,
                mount,
                span: if level == Level::Inventory {
                    binding
                } else {
                    Span::from(expr.syntax().text_range())
                },
            });
            continue;
        }
        let update =
            matches!(&expr, ast::Expr::BinOp(b) if b.operator() == Some(ast::BinOpKind::Update));
        if update && level == Level::Inventory {
            continue; // walked: its instances depend on the other operand
        }
        if let ast::Expr::Ident(_) = &expr {
            match crate::syntax::nix::resolve_variable(&expr) {
                crate::syntax::nix::Variable::Argument => continue,
                crate::syntax::nix::Variable::Bound(bound)
                    if used_once(&expr)
                        && let Some(path) = static_path(full) =>
                {
                    let sets = crate::syntax::nix::terminals(&bound);
                    if sets.iter().all(|(e, _)| matches!(e, ast::Expr::AttrSet(_))) {
                        facts.references.push(Reference {
                            range: bound.syntax().text_range(),
                            path,
                        });
                        continue;
                    }
                }
                _ => {}
            }
        }
        // `inventory` is also a common name outside clans (a library's
        // functions, a module's option): an expression there is reported only
        // where the set is a clan's.
        if level == Level::Inventory && !owner.is_some_and(crate::syntax::nix::in_clan_like_set) {
            continue;
        }
        push_unmigratable(
            facts,
            seg,
            full,
            UnmigratableReason::NonLiteral {
                level,
                what: describe_expr(&expr),
            },
        );
    }
}

/// Whether the variable `ident` is used once in the `let` that binds it
/// (renaming inside its value changes only this use).
fn used_once(ident: &ast::Expr) -> bool {
    let ast::Expr::Ident(ident) = ident else {
        return false;
    };
    let name = crate::syntax::nix::ident_text(ident);
    let scope = ident
        .syntax()
        .ancestors()
        .find(|n| n.kind() == SyntaxKind::NODE_LET_IN);
    scope.is_some_and(|scope| {
        scope
            .descendants()
            .filter(|n| {
                n.parent()
                    .is_some_and(|p| p.kind() != SyntaxKind::NODE_ATTRPATH)
            })
            .filter_map(ast::Ident::cast)
            .filter(|i| crate::syntax::nix::ident_text(i) == name)
            .count()
            == 1
    })
}

fn push_unmigratable(
    facts: &mut LegacyFacts,
    seg: &KeySeg,
    path: &[&Key],
    reason: UnmigratableReason,
) {
    facts.unmigratable.push(UnmigratableForm {
        span: Span::from(seg.range),
        path: display_path(path),
        reason,
    });
}

fn record_imports(
    node: &ast::AttrpathValue,
    full: &[&Key],
    value: &ast::Expr,
    binding: Span,
    seg: Option<&KeySeg>,
    facts: &mut LegacyFacts,
) {
    // `inventory = import ./x.nix;`, `inventory = let … in { … }`, …
    if is_inventory_path(full) {
        if let Some(seg) = seg {
            check_level_value(
                Some(value),
                Some(node),
                full,
                binding,
                seg,
                Level::Inventory,
                None,
                facts,
            );
        }
        return;
    }
    // `inventory.imports = [ ./x.nix ];`
    let Some((last, parent)) = full.split_last() else {
        return;
    };
    if !last.is("imports") || !is_inventory_path(parent) {
        return;
    }
    let (ast::Expr::List(list), Some(mount)) = (strip_parens(value.clone()), static_path(parent))
    else {
        return;
    };
    for item in list.items() {
        let path_text = literal_relative_path(&item).or_else(|| import_of_literal_path(&item));
        if let Some(path_text) = path_text {
            facts.imports.push(InventoryImport {
                path_text,
                mount: mount.clone(),
                span: Span::from(item.syntax().text_range()),
            });
        }
    }
}

fn visit_inherit(inherit: &ast::Inherit, ctx: &SetContext, mount: &[Key], facts: &mut LegacyFacts) {
    let from = inherit
        .from()
        .and_then(|f| f.expr())
        .map(|e| e.syntax().text().to_string());
    for attr in inherit.attrs() {
        let key = crate::syntax::nix::attr_key(&attr);
        let full: Vec<&Key> = mount.iter().chain(&ctx.path).chain([&key]).collect();
        let Some(k) = services_prefix_len(&full) else {
            continue;
        };
        let seg = KeySeg {
            key: key.clone(),
            range: attr.syntax().text_range(),
        };
        let level = match full.len().checked_sub(k) {
            Some(0) => Level::Services,
            Some(1) => Level::Service,
            Some(2) => {
                if let (Key::Static(service), Key::Static(instance)) = (full[k], full[k + 1]) {
                    facts.add_instance_binding(
                        service,
                        instance,
                        InstanceBinding {
                            binding: Span::from(inherit.syntax().text_range()),
                            label: Span::from(attr.syntax().text_range()),
                            base: full.len() - 1,
                            prefix_len: k,
                            mount_len: mount.len(),
                        },
                        ctx.update_at.is_some(),
                    );
                }
                continue;
            }
            _ => continue,
        };
        push_unmigratable(
            facts,
            &seg,
            &full,
            UnmigratableReason::Inherited {
                level,
                from: from.clone(),
            },
        );
    }
}

/// Whether a green `NODE_SELECT` or `NODE_HAS_ATTR` may be a legacy read:
/// [`legacy_read`] finds one only where this says so. It reads the same keys
/// (the selection chain of the expression, then the attribute path) from the
/// green tree, a key that is not a plain name standing for any name, so that
/// the selections of module code (`pkgs.hello`, `lib.mkIf`,
/// `config.services.nginx.enable`) are ruled out without a cursor.
fn may_be_legacy_read(green: &GreenNodeData) -> bool {
    let mut keys = AdjacentKeys::default();
    if let Some(expr) = nth_expr(green, 0) {
        keys.select_chain(expr);
    }
    if let Some(attrpath) = green_child(green, SyntaxKind::NODE_ATTRPATH) {
        keys.attrpath(attrpath);
    }
    keys.found
}

/// Keys pushed in order: whether one that may be `inventory` was followed
/// by one that may be `services`. `None` is a key that may be any name.
#[derive(Default)]
struct AdjacentKeys {
    after_inventory: bool,
    found: bool,
}

impl AdjacentKeys {
    fn push(&mut self, key: Option<&str>) {
        let (inventory, services) =
            key.map_or((true, true), |k| (k == "inventory", k == "services"));
        self.found |= self.after_inventory && services;
        self.after_inventory = inventory;
    }

    fn attrpath(&mut self, attrpath: &GreenNodeData) {
        for attr in attrpath
            .children()
            .filter_map(rowan::NodeOrToken::into_node)
        {
            self.push(crate::syntax::nix::green_plain_name(attr));
        }
    }

    /// The keys [`select_chain`] reads.
    fn select_chain(&mut self, mut expr: &GreenNodeData) {
        while raw_kind(expr) == SyntaxKind::NODE_PAREN {
            match nth_expr(expr, 0) {
                Some(inner) => expr = inner,
                None => return,
            }
        }
        match raw_kind(expr) {
            SyntaxKind::NODE_IDENT => self.push(crate::syntax::nix::green_plain_name(expr)),
            SyntaxKind::NODE_SELECT if nth_expr(expr, 1).is_none() => {
                if let Some(inner) = nth_expr(expr, 0) {
                    self.select_chain(inner);
                }
                if let Some(attrpath) = green_child(expr, SyntaxKind::NODE_ATTRPATH) {
                    self.attrpath(attrpath);
                }
            }
            _ => {}
        }
    }
}

fn raw_kind(green: &GreenNodeData) -> SyntaxKind {
    rnix::NixLanguage::kind_from_raw(green.kind())
}

/// The `n`th child of `green` that is an expression, as rnix's typed accessors count.
fn nth_expr(green: &GreenNodeData, n: usize) -> Option<&GreenNodeData> {
    green
        .children()
        .filter_map(rowan::NodeOrToken::into_node)
        .filter(|child| ast::Expr::can_cast(raw_kind(child)))
        .nth(n)
}

fn green_child(green: &GreenNodeData, kind: SyntaxKind) -> Option<&GreenNodeData> {
    green
        .children()
        .filter_map(rowan::NodeOrToken::into_node)
        .find(|child| raw_kind(child) == kind)
}

/// `x.inventory.services…` or `inventory.services…` read in an expression (the
/// outermost selection of a chain only).
fn legacy_read(node: &SyntaxNode) -> Option<LegacyRead> {
    if let Some(parent) = node.parent()
        && let Some(select) = ast::Select::cast(parent)
        && select.expr().is_some_and(|e| e.syntax() == node)
    {
        return None;
    }
    let (expr, attrpath) = match ast::Expr::cast(node.clone())? {
        ast::Expr::Select(s) => (s.expr(), s.attrpath()?),
        ast::Expr::HasAttr(h) => (h.expr(), h.attrpath()?),
        _ => return None,
    };
    let mut keys = expr.map(|e| select_chain(&e)).unwrap_or_default();
    keys.extend(attrpath_keys(&attrpath).into_iter().map(|k| k.key));
    let found = keys
        .windows(2)
        .any(|w| w[0].is("inventory") && w[1].is("services"));
    found.then(|| LegacyRead {
        span: Span::from(node.text_range()),
    })
}

/// The keys of `a.b.c` (an identifier followed by selections without `or`).
fn select_chain(expr: &ast::Expr) -> Vec<Key> {
    match strip_parens(expr.clone()) {
        ast::Expr::Ident(ident) => vec![Key::Static(crate::syntax::nix::ident_text(&ident).into())],
        ast::Expr::Select(select) if select.default_expr().is_none() => {
            let mut keys = select.expr().map(|e| select_chain(&e)).unwrap_or_default();
            if let Some(path) = select.attrpath() {
                keys.extend(attrpath_keys(&path).into_iter().map(|k| k.key));
            }
            keys
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foldhash::{HashMap, HashMapExt};

    /// The detector as it was before it walked the green tree: a cursor for every
    /// node, contexts in a map, parents climbed. The walk must find the same facts.
    fn reference_detect_with(
        root: &SyntaxNode,
        mounts: &[Vec<String>],
        prune: bool,
    ) -> LegacyFacts {
        let mut facts = LegacyFacts::default();
        let mut contexts: HashMap<SyntaxNode, SetContext> = HashMap::new();
        let mut all_mounts: Vec<Vec<Key>> = vec![Vec::new()];
        for m in mounts {
            let m: Vec<Key> = m.iter().map(|s| Key::Static(s.into())).collect();
            if !m.is_empty() && !all_mounts.contains(&m) {
                all_mounts.push(m);
            }
        }

        let mut anchors: Vec<(TextRange, Vec<Key>)> = Vec::new();
        let mut subtrees = vec![root.clone()];
        let mut walked_references: Vec<TextRange> = Vec::new();
        while let Some(subtree) = subtrees.pop() {
            for node in subtree.descendants() {
                match node.kind() {
                    SyntaxKind::NODE_ATTR_SET => {
                        let mut ctx = set_context(&node, &contexts, &anchors);
                        if reference_inside_instance(&node, &contexts, &all_mounts) {
                            ctx.live = false;
                        } else if !prune {
                            ctx.live = true;
                        } else if ctx.live {
                            ctx.live = reach(mounts_for(&ctx, &all_mounts), &ctx.path).live;
                        }
                        contexts.insert(node, ctx);
                    }
                    SyntaxKind::NODE_ATTRPATH_VALUE => {
                        let Some(ctx) = node.parent().and_then(|p| contexts.get(&p)) else {
                            continue; // a `let` binding, or a broken tree
                        };
                        if !ctx.live {
                            continue;
                        }
                        if let Some(binding) = ast::AttrpathValue::cast(node.clone()) {
                            for mount in mounts_for(ctx, &all_mounts) {
                                visit_binding(&binding, ctx, mount, &mut facts);
                            }
                        }
                    }
                    SyntaxKind::NODE_INHERIT => {
                        let Some(ctx) = node.parent().and_then(|p| contexts.get(&p)) else {
                            continue;
                        };
                        if !ctx.live {
                            continue;
                        }
                        if let Some(inherit) = ast::Inherit::cast(node.clone()) {
                            for mount in mounts_for(ctx, &all_mounts) {
                                visit_inherit(&inherit, ctx, mount, &mut facts);
                            }
                        }
                    }
                    SyntaxKind::NODE_SELECT | SyntaxKind::NODE_HAS_ATTR => {
                        if subtree == *root
                            && let Some(read) = legacy_read(&node)
                        {
                            facts.reads.push(read);
                        }
                    }
                    _ => {}
                }
            }
            // The values of `let` variables an inventory path is set to.
            while let Some(reference) = facts.references.pop() {
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
                        anchors.push((set.syntax().text_range(), path.clone()));
                    }
                }
                subtrees.push(node);
                break;
            }
        }
        facts
    }

    /// Whether `binding`, in a set at `ctx`, defines an instance under one of
    /// the set's mounts (what [`visit_binding`] says, without recording facts).
    fn binding_defines_instance(
        binding: &ast::AttrpathValue,
        ctx: &SetContext,
        all: &[Vec<Key>],
    ) -> bool {
        let Some(attrpath) = binding.attrpath() else {
            return false;
        };
        let keys = attrpath_keys(&attrpath);
        !keys.is_empty()
            && mounts_for(ctx, all).iter().any(|mount| {
                let full: Vec<&Key> = mount
                    .iter()
                    .chain(&ctx.path)
                    .chain(keys.iter().map(|k| &k.key))
                    .collect();
                defines_instance(&full)
            })
    }

    /// Whether a binding above `set`, in a live set, defines an instance.
    fn reference_inside_instance(
        set: &SyntaxNode,
        contexts: &HashMap<SyntaxNode, SetContext>,
        all_mounts: &[Vec<Key>],
    ) -> bool {
        set.ancestors().skip(1).any(|node| {
            let owner = node.parent().and_then(|p| contexts.get(&p));
            match (ast::AttrpathValue::cast(node), owner) {
                (Some(binding), Some(ctx)) if ctx.live => {
                    binding_defines_instance(&binding, ctx, all_mounts)
                }
                _ => false,
            }
        })
    }

    fn set_context(
        set: &SyntaxNode,
        contexts: &HashMap<SyntaxNode, SetContext>,
        anchors: &[(TextRange, Vec<Key>)],
    ) -> SetContext {
        let mut child = set.clone();
        let mut crossed_update = false;
        let body_of = |parent: &SyntaxNode, child: &SyntaxNode| {
            let body = match parent.kind() {
                SyntaxKind::NODE_LET_IN => ast::LetIn::cast(parent.clone()).and_then(|l| l.body()),
                SyntaxKind::NODE_LAMBDA => ast::Lambda::cast(parent.clone()).and_then(|l| l.body()),
                SyntaxKind::NODE_WITH => ast::With::cast(parent.clone()).and_then(|w| w.body()),
                SyntaxKind::NODE_ASSERT => ast::Assert::cast(parent.clone()).and_then(|a| a.body()),
                _ => None,
            };
            body.is_some_and(|b| b.syntax() == child)
        };
        let wrapped = |parent: &SyntaxNode| {
            ast::Apply::cast(parent.clone()).and_then(|a| crate::syntax::nix::wrapper_call(&a))
        };
        while let Some(parent) = child.parent() {
            match parent.kind() {
                SyntaxKind::NODE_PAREN => child = parent,
                SyntaxKind::NODE_BIN_OP if is_update_node(&parent) => {
                    crossed_update = true;
                    child = parent;
                }
                SyntaxKind::NODE_LET_IN
                | SyntaxKind::NODE_LAMBDA
                | SyntaxKind::NODE_WITH
                | SyntaxKind::NODE_ASSERT
                    if body_of(&parent, &child) =>
                {
                    child = parent;
                }
                SyntaxKind::NODE_APPLY
                    if wrapped(&parent).is_some_and(|(_, arg)| arg.syntax() == &child) =>
                {
                    child = parent;
                }
                SyntaxKind::NODE_LIST
                    if parent
                        .parent()
                        .as_ref()
                        .and_then(wrapped)
                        .is_some_and(|(w, arg)| {
                            w == crate::syntax::nix::Wrapper::Merge && arg.syntax() == &parent
                        }) =>
                {
                    child = parent;
                }
                SyntaxKind::NODE_ATTRPATH_VALUE => {
                    let binding_ctx = parent
                        .parent()
                        .and_then(|owner| contexts.get(&owner))
                        .zip(ast::AttrpathValue::cast(parent.clone()));
                    let Some((owner, binding)) = binding_ctx else {
                        break; // value of a `let` binding: a new anchor
                    };
                    if !owner.live {
                        return SetContext::dead(owner.under_file_top);
                    }
                    let mut path = owner.path.clone();
                    if let Some(attrpath) = binding.attrpath() {
                        path.extend(attrpath_keys(&attrpath).into_iter().map(|k| k.key));
                    }
                    let update_at = owner.update_at.or(crossed_update.then_some(path.len()));
                    return SetContext::live(path, owner.under_file_top, update_at);
                }
                _ => break,
            }
        }
        match anchors.iter().find(|(range, _)| *range == set.text_range()) {
            Some((_, path)) => SetContext::live(path.clone(), false, None),
            None => SetContext::live(Vec::new(), is_file_top(set), None),
        }
    }

    fn is_update_node(node: &SyntaxNode) -> bool {
        ast::BinOp::cast(node.clone()).and_then(|b| b.operator()) == Some(ast::BinOpKind::Update)
    }

    /// Whether a set is the file's value, possibly behind a function header,
    /// `let … in`, `with …;`, `assert …;`, parentheses or a `//` update.
    fn is_file_top(set: &SyntaxNode) -> bool {
        let mut child = set.clone();
        while let Some(parent) = child.parent() {
            let through = match parent.kind() {
                SyntaxKind::NODE_ROOT => return true,
                SyntaxKind::NODE_PAREN => true,
                SyntaxKind::NODE_BIN_OP => is_update_node(&parent),
                SyntaxKind::NODE_LAMBDA => ast::Lambda::cast(parent.clone())
                    .and_then(|l| l.body())
                    .is_some_and(|b| b.syntax() == &child),
                SyntaxKind::NODE_LET_IN => ast::LetIn::cast(parent.clone())
                    .and_then(|l| l.body())
                    .is_some_and(|b| b.syntax() == &child),
                SyntaxKind::NODE_WITH => ast::With::cast(parent.clone())
                    .and_then(|w| w.body())
                    .is_some_and(|b| b.syntax() == &child),
                SyntaxKind::NODE_ASSERT => ast::Assert::cast(parent.clone())
                    .and_then(|a| a.body())
                    .is_some_and(|b| b.syntax() == &child),
                _ => false,
            };
            if !through {
                return false;
            }
            child = parent;
        }
        false
    }

    fn facts(src: &str) -> LegacyFacts {
        let parse = rnix::Root::parse(src);
        assert!(parse.errors().is_empty(), "{:?}", parse.errors());
        detect(&parse.syntax(), src, &[])
    }

    /// Inventory spelled inside an instance's value (a machine list, settings,
    /// a module in extraModules) is instance data, not the clan's inventory:
    /// found there, its rewrite and that of the instance around it overlapped.
    /// The walk, with and without pruning, and the cursor walk agree.
    #[test]
    fn inventory_written_inside_an_instance_is_not_inventory() {
        let cases = [
            (
                "{ inventory.services.sshd.a = { roles.server.machines = [ { inventory.services.borgbackup.b = { }; } ]; }; }",
                vec!["sshd.a"],
                Vec::<&str>::new(),
            ),
            (
                "{ inventory.instances.sshd-a = { roles.server.machines = [ { inventory.services.borgbackup.b = { }; } ]; }; }",
                vec![],
                vec!["sshd-a"],
            ),
            (
                "{ inventory.instances.a = { roles.r.extraModules = [ ({ ... }: { inventory.instances.b = { }; }) ]; }; }",
                vec![],
                vec!["a"],
            ),
            (
                "{ inventory.services.s.i.config = f { inventory.services.t.j = { }; }; }",
                vec!["s.i"],
                vec![],
            ),
            // Next to an instance, or in a list that is not inside one, it still counts.
            (
                "{ inventory.services.s.i = { }; x = [ { inventory.services.t.j = { }; } ]; }",
                vec!["s.i", "t.j"],
                vec![],
            ),
            (
                "{ inventory.services.s = [ { inventory.services.t.j = { }; } ]; }",
                vec!["t.j"],
                vec![],
            ),
        ];
        for (src, legacy, new) in cases {
            let f = facts(src);
            assert_eq!(names(&f), legacy, "{src}");
            let new_names: Vec<&str> = f.new_instances.iter().map(|i| i.name.as_str()).collect();
            assert_eq!(new_names, new, "{src}");
            let root = rnix::Root::parse(src).syntax();
            for prune in [true, false] {
                assert_eq!(
                    detect_with(&root, Some(src), &[], prune),
                    f,
                    "{src}, prune {prune}"
                );
                assert_eq!(
                    reference_detect_with(&root, &[], prune),
                    f,
                    "{src}, prune {prune}"
                );
            }
        }
    }

    fn names(f: &LegacyFacts) -> Vec<String> {
        f.instances
            .iter()
            .map(|i| format!("{}.{}", i.service, i.instance))
            .collect()
    }

    #[test]
    fn all_spellings_give_the_same_instances() {
        for src in [
            "{ inventory.services.borgbackup.main.roles.server.machines = [ \"a\" ]; }",
            "{ inventory = { services = { borgbackup = { main = { }; }; }; }; }",
            "{ inventory.services = { borgbackup.main = { }; }; }",
            "{ \"inventory\".services = ({ borgbackup.\"main\" = { }; }); }",
            "{ inventory.${\"services\"}.borgbackup.${\"main\"} = { }; }",
            "{ self, ... }: { clan.inventory.services.borgbackup.main = { }; }",
            "{ flake.clan = { inventory.services.borgbackup.main = { }; }; }",
            "{ clan = { inventory = { services.borgbackup.main = { }; }; }; }",
            "clan-core.lib.clan { inventory.services.borgbackup.main = { }; }",
            "let x = 1; in { inventory.services.borgbackup.main = { }; }",
        ] {
            assert_eq!(names(&facts(src)), vec!["borgbackup.main"], "{src}");
        }
    }

    #[test]
    fn split_instances_are_one_instance_with_every_binding() {
        let f = facts(
            "{ inventory.services.zerotier.net.roles.controller.machines = [ \"a\" ];
               inventory.services.zerotier.net.roles.peer.tags = [ \"all\" ];
               inventory.services.zerotier = { net.machines.a.config = { }; }; }",
        );
        assert_eq!(names(&f), vec!["zerotier.net"]);
        assert_eq!(f.instances[0].bindings.len(), 3);
    }

    #[test]
    fn false_positives_are_not_reported() {
        for src in [
            "{ services.openssh.enable = true; }",
            "{ nodes.x.services.syncthing.enable = true; }",
            "let inventory.services.a.b = { }; in { }",
            "{ foo.inventory.services.a.b = { }; }",
            "{ inventory.machines.a.services = { }; }",
            "# inventory.services.a.b = { };\n{ }",
            "{ x = \"inventory.services.a.b\"; }",
            "{ inventory.instances.a.roles.default.machines.x = { }; }",
        ] {
            let f = facts(src);
            let legacy = (
                &f.instances,
                &f.unmigratable,
                &f.empty,
                &f.reads,
                &f.imports,
            );
            assert!(
                legacy.0.is_empty()
                    && legacy.1.is_empty()
                    && legacy.2.is_empty()
                    && legacy.3.is_empty()
                    && legacy.4.is_empty(),
                "{src}: {legacy:?}"
            );
        }
    }

    #[test]
    fn unmigratable_forms_are_reported_with_reason() {
        let f = facts("{ inventory.services.${name}.x = { }; }");
        assert!(matches!(
            f.unmigratable[0].reason,
            UnmigratableReason::DynamicKey {
                level: Level::Service
            }
        ));
        let f = facts("{ inventory.services = base // { a.b = { }; }; }");
        assert_eq!(f.unmigratable.len(), 1);
        assert!(f.instances.is_empty());
        let f = facts("{ inventory = { inherit (x) services; }; }");
        assert!(matches!(
            f.unmigratable[0].reason,
            UnmigratableReason::Inherited { .. }
        ));
        // Seen through: `let`, module functions, `mkMerge`, `mkIf`, priorities.
        for src in [
            "{ inventory.services = lib.mkIf c { a.b = { }; }; }",
            "{ inventory = { ... }: { services.a.b = { }; }; }",
            "{ inventory = let x = 1; in { services.a.b = { }; }; }",
            "{ inventory = lib.mkMerge [ { services.a.b = { }; } ]; }",
            "{ clan.inventory = lib.mkDefault { services.a.b = { }; }; }",
            "{ inventory.services = lib.mkOverride 50 { a.b = { }; }; }",
            "let inv = { services.a.b = { }; }; in { inventory = inv; }",
        ] {
            let f = facts(src);
            assert_eq!(names(&f), ["a.b"], "{src}");
            assert!(f.unmigratable.is_empty(), "{src}");
        }
        // What is inside them and not a set cannot be seen into.
        let f = facts("{ inventory.services = lib.mkIf c someServices; }");
        assert_eq!(f.unmigratable.len(), 1);
        let f = facts(
            "{ meta.name = \"x\"; inventory = builtins.fromJSON (builtins.readFile ./i.json); }",
        );
        assert_eq!(f.unmigratable.len(), 1);
        // Outside a clan's set, `inventory` is just a name.
        let f = facts("{ inventory = import ./inventory { inherit lib; }; lib = 1; }");
        assert!(f.unmigratable.is_empty());
        let f = facts("{ inventory = clanLib.callLib ./inventory { }; }");
        assert!(f.unmigratable.is_empty());
    }

    #[test]
    fn imports_are_recorded_with_their_mount_point() {
        let f = facts("{ inventory = import ./inv.nix; }");
        assert_eq!(f.imports[0].mount, vec!["inventory"]);
        let f = facts("{ clan.inventory.imports = [ ./a.nix (import ./b.nix) ]; }");
        assert_eq!(f.imports.len(), 2);
        assert_eq!(f.imports[1].mount, vec!["clan", "inventory"]);
        let f = facts("{ inventory.services = import ./s.nix; }");
        assert_eq!(f.imports[0].mount, vec!["inventory", "services"]);
        assert!(f.unmigratable.is_empty());
    }

    #[test]
    fn mounted_files_start_at_their_mount_point() {
        let src = "{ lib, ... }: { services.sshd.x = { }; }";
        let parse = rnix::Root::parse(src);
        let f = detect(&parse.syntax(), src, &[vec!["inventory".into()]]);
        assert_eq!(names(&f), vec!["sshd.x"]);
        let src = "{ sshd.x = { }; }";
        let parse = rnix::Root::parse(src);
        let f = detect(
            &parse.syntax(),
            src,
            &[vec!["inventory".into(), "services".into()]],
        );
        assert_eq!(names(&f), vec!["sshd.x"]);
    }

    #[test]
    fn existing_instance_names_are_recorded() {
        let f = facts(
            "{ inventory.instances = { a = { }; }; clan.inventory.instances.\"b c\".roles = { }; }",
        );
        let names: Vec<_> = f.new_instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b c"]);
    }

    #[test]
    fn machine_facts_resolve_tags() {
        let f = facts(
            r#"{ inventory.machines = { a.tags = [ "x" ]; b = { machineClass = "darwin"; }; };
                 inventory.tags.y = [ "b" ]; }"#,
        );
        use crate::inventory::membership::Known;
        let m = &f.machines;
        assert_eq!(m.tagged(&["x".into()]).0, vec!["a".to_owned()]);
        assert_eq!(
            m.tagged(&["y".into(), "darwin".into()]).0,
            vec!["b".to_owned()]
        );
        assert_eq!(
            m.tagged(&["all".into()]).0,
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(m.has_tag("a", "y"), Known::No);
        // Machines of the clan may be defined where this file does not say.
        assert_eq!(m.has_tag("c", "all"), Known::Unknown);
        let f = facts(
            r#"{ inventory.machines.a.tags = someTags; inventory.machines.b.tags = [ "x" ]; }"#,
        );
        assert_eq!(
            f.machines.has_tag("a", "x"),
            Known::Unknown,
            "non-literal tags are unknowable"
        );
        assert_eq!(
            f.machines.has_tag("b", "x"),
            Known::Yes,
            "literal tags stay certain"
        );
        assert_eq!(f.machines.has_tag("b", "y"), Known::No);
    }

    #[test]
    fn reads_are_found() {
        let f = facts(
            "{ config, ... }: { x = config.clan.inventory.services.sshd or { }; y = inventory.services; }",
        );
        assert_eq!(f.reads.len(), 2);
    }

    /// The walk skips what cannot hold a fact: the module code beside the
    /// inventory, unless the file is mounted (its top-level bindings can be
    /// inventory without naming it).
    #[test]
    fn module_code_is_not_walked() {
        let src = r#"{ config, lib, pkgs, ... }: {
          inventory.services.sshd.main.roles.server.tags = [ "all" ];
          users.users.alice = { isNormalUser = true; extraGroups = [ "wheel" ]; };
          config = lib.mkIf config.services.x.enable {
            environment.etc."x.conf".text = lib.concatStringsSep "," [ "a" "b" ];
            networking.firewall.allowedTCPPorts = [ 22 80 443 ];
          };
        }"#;
        let root = rnix::Root::parse(src).syntax();
        let nodes = |text, mounts: &[Vec<String>]| detector_run(&root, text, mounts, true).1;
        let (whole, skipping) = (nodes(None, &[]), nodes(Some(src), &[]));
        assert!(skipping * 3 < whole, "{skipping} of {whole} nodes walked");
        let mounted = [vec!["inventory".to_owned()]];
        assert_eq!(nodes(Some(src), &mounted), nodes(None, &mounted));
        assert_eq!(
            detect_with(&root, Some(src), &[], true),
            detect_with(&root, None, &[], true)
        );
    }

    /// The green precheck of a read rules out no selection that is one: the
    /// spellings of keys it does not read (escapes, interpolation, `${…}`)
    /// stand for any name.
    #[test]
    fn the_read_precheck_keeps_every_read() {
        let exprs = [
            "x.inventory.services.a",
            "inventory.services",
            "x ? inventory.services",
            "config.clan.inventory ? services",
            "(x.inventory).services",
            "((x).inventory).services.a",
            "x.\"inventory\".services",
            "x.${\"inventory\"}.services",
            "x.\"invent\\ory\".services",
            "x.\"inv${\"entory\"}\".services",
            "(x.inventory or { }).services",
            "x.inventory.services or { }",
            "x.inventory.${y}",
            "pkgs.hello",
            "lib.mkIf",
            "config.services.nginx.enable",
            "x.services.inventory",
            "x.inventory.instances",
            "(f x).inventory",
        ];
        let (mut reads, mut ruled_out) = (0, 0);
        for expr in exprs {
            let parse = rnix::Root::parse(&format!("{{ v = {expr}; }}"));
            assert!(parse.errors().is_empty(), "{expr}");
            for node in parse.syntax().descendants() {
                if !matches!(
                    node.kind(),
                    SyntaxKind::NODE_SELECT | SyntaxKind::NODE_HAS_ATTR
                ) {
                    continue;
                }
                let may = may_be_legacy_read(node.green());
                if legacy_read(&node).is_some() {
                    assert!(may, "{expr}: a read ruled out");
                    reads += 1;
                }
                ruled_out += usize::from(!may);
            }
        }
        assert_eq!((reads, ruled_out), (11, 11));
    }

    /// Attribute names the generated sources of the tests below draw from: the
    /// names detection looks for ([`FACT_KEYS`]), then others, and spellings it
    /// reads differently.
    const OTHER_KEYS: &[&str] = &[
        "sshd",
        "main",
        "roles",
        "peer",
        "config",
        "\"a\"",
        "${x}",
        "${\"services\"}",
        "\"invent\\ory\"",
        "\"inv${\"ent\"}ory\"",
    ];
    const GENERATED_KEY_COUNT: u64 = (FACT_KEYS.len() + OTHER_KEYS.len()) as u64;

    /// The `pick`-th generated name (`pick` below [`GENERATED_KEY_COUNT`]).
    fn generated_key(pick: u64) -> &'static str {
        let pick = pick as usize;
        FACT_KEYS
            .get(pick)
            .unwrap_or_else(|| &OTHER_KEYS[pick - FACT_KEYS.len()])
    }

    /// Nix sources for comparing detectors: every Nix file of testdata, and
    /// generated sets mixing the forms the walk treats apart (parentheses, `//`
    /// on either side, function headers, `let`, `with`, `assert`, list elements,
    /// function arguments, `inherit`, reads and has-attr tests).
    fn comparison_sources(count: usize) -> Vec<String> {
        let mut sources = crate::test_support::testdata_nix_sources("before");
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        fn expr(next: &mut dyn FnMut(u64) -> u64, depth: u32) -> String {
            const LEAVES: &[&str] = &[
                "1",
                "[ \"a\" \"b\" ]",
                "import ./x.nix",
                "[ ./y.nix ]",
                "{ }",
                "\"c\"",
                "x",
                "x.inventory.services.a",
                "x ? inventory.services",
                "(x.inventory).services",
                "x.inventory.services or { }",
                "inventory.services.sshd.main.roles",
                "pkgs.hello",
                "x.services.inventory",
                "(x.inventory or y).services",
                "x.\"invent\\ory\".services",
                "x.${\"inv${\"entory\"}\"}.services",
            ];
            if depth >= 4 || next(4) == 0 {
                return LEAVES[next(LEAVES.len() as u64) as usize].to_owned();
            }
            let set = |next: &mut dyn FnMut(u64) -> u64| {
                let mut out = String::from(["{ ", "rec { "][usize::from(next(8) == 0)]);
                for _ in 0..next(5) {
                    if next(10) == 0 {
                        out.push_str(
                            ["inherit services; ", "inherit (x) sshd main; "][next(2) as usize],
                        );
                        continue;
                    }
                    let keys: Vec<&str> = (0..1 + next(3))
                        .map(|_| generated_key(next(GENERATED_KEY_COUNT)))
                        .collect();
                    out.push_str(&keys.join("."));
                    out.push_str(" = ");
                    out.push_str(&expr(next, depth + 1));
                    out.push_str("; ");
                }
                out.push('}');
                out
            };
            let inner = set(next);
            match next(14) {
                0 => format!("({inner})"),
                1 | 12 => format!("x // {inner}"),
                13 => format!("({inner} // {{ }})"),
                2 => format!("{inner} // (y // {})", set(next)),
                3 => format!("[ {inner} 1 ]"),
                4 => format!("f {inner}"),
                5 => format!("a: {inner}"),
                6 => format!("{{ a, ... }}@b: with a; {inner}"),
                7 => format!("assert x; {inner}"),
                8 => format!("let inventory = {inner}; in {}", set(next)),
                9 => format!("{inner} ++ {}", set(next)),
                _ => inner,
            }
        }
        for _ in 0..count {
            let e = expr(&mut next, 0);
            sources.push(match next(4) {
                0 => format!("{{ inventory.services = x // {{ sshd.main = {e}; }}; }}"),
                1 => format!(
                    "{{ clan.inventory = (y // {{ services.sshd = {e} // {{ main = {}; }}; }}); }}",
                    expr(&mut next, 1)
                ),
                2 => format!("{{ inventory.services.sshd = ({{ main = {e}; }}); }}"),
                _ => e,
            });
        }
        sources
    }

    /// The green-tree walk finds the same facts as the walk over a cursor for
    /// every node, in the same order, under every kind of mount, pruned or not.
    #[test]
    fn the_green_walk_finds_what_the_cursor_walk_found() {
        let mounts: Vec<Vec<Vec<String>>> = [
            vec![],
            vec![vec!["inventory"]],
            vec![vec!["inventory", "machines"], vec!["inventory"]],
        ]
        .iter()
        .map(|m| {
            m.iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect())
                .collect()
        })
        .collect();
        let (mut parsed, mut with_facts, mut reads, mut updates) = (0, 0, 0, 0);
        for src in &comparison_sources(1000) {
            let parse = rnix::Root::parse(src);
            if !parse.errors().is_empty() {
                continue;
            }
            parsed += 1;
            let root = parse.syntax();
            for m in &mounts {
                for prune in [true, false] {
                    let found = detect_with(&root, Some(src), m, prune);
                    let reference = reference_detect_with(&root, m, prune);
                    assert_eq!(found, reference, "{src} mounted at {m:?}, prune {prune}");
                    with_facts += usize::from(found != LegacyFacts::default());
                    reads += found.reads.len();
                    updates += found.instances.iter().filter(|i| i.inside_update).count();
                }
            }
        }
        // The comparison must cover facts of every kind the walk decides on.
        assert!(parsed > 1000, "{parsed}");
        assert!(with_facts > 3000, "{with_facts}");
        assert!(
            reads > 1000 && updates > 100,
            "reads {reads}, updates {updates}"
        );
    }

    /// Skipping the sets that cannot hold facts changes nothing: every Nix file of
    /// testdata and generated nested sets give the same facts with and without
    /// it, under every kind of mount.
    #[test]
    fn pruning_sets_that_cannot_hold_facts_changes_nothing() {
        let mounts: Vec<Vec<Vec<String>>> = [
            vec![],
            vec![vec!["inventory"]],
            vec![vec!["clan", "inventory"]],
            vec![vec!["inventory", "services"]],
            vec![vec!["flake", "clan", "inventory", "services", "sshd"]],
            vec![vec!["inventory", "machines"], vec!["inventory"]],
        ]
        .iter()
        .map(|m| {
            m.iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect())
                .collect()
        })
        .collect();
        let mut sources = crate::test_support::testdata_nix_sources("before");
        assert!(sources.len() > 40, "{}", sources.len());
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        fn set(next: &mut dyn FnMut(u64) -> u64, depth: u32) -> String {
            const VALUES: &[&str] = &[
                "1",
                "[ \"a\" \"b\" ]",
                "import ./x.nix",
                "[ ./y.nix ]",
                "{ }",
                "\"c\"",
                "x",
            ];
            let mut out = String::from(if next(6) == 0 {
                "let y = { inventory.services.a.b = { }; }; in { "
            } else {
                "{ "
            });
            for _ in 0..next(5) {
                if next(10) == 0 {
                    out.push_str(
                        ["inherit services; ", "inherit (x) sshd main; "][next(2) as usize],
                    );
                    continue;
                }
                let keys: Vec<&str> = (0..1 + next(3))
                    .map(|_| generated_key(next(GENERATED_KEY_COUNT)))
                    .collect();
                out.push_str(&keys.join("."));
                out.push_str(" = ");
                if depth < 4 && next(3) != 0 {
                    out.push_str(&set(next, depth + 1));
                } else {
                    out.push_str(VALUES[next(VALUES.len() as u64) as usize]);
                }
                out.push_str("; ");
            }
            out.push('}');
            out
        }
        let mut with_facts = 0;
        for _ in 0..1500 {
            sources.push(set(&mut next, 0));
        }
        for src in &sources {
            let parse = rnix::Root::parse(src);
            if !parse.errors().is_empty() {
                continue;
            }
            let root = parse.syntax();
            for m in &mounts {
                let pruned = detect_with(&root, Some(src), m, true);
                let full = detect_with(&root, None, m, false);
                assert_eq!(pruned, full, "{src} mounted at {m:?}");
                with_facts += usize::from(full != LegacyFacts::default());
            }
        }
        // Enough sources must hold facts for the comparison to mean anything.
        assert!(with_facts > 4000, "{with_facts}");
    }
}
