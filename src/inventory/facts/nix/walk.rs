//! The walk of a syntax tree: where each attribute set sits in the logical
//! tree, and which subtrees cannot hold a fact.

use super::*;

/// Where an attribute set sits in the logical tree.
#[derive(Debug, Clone)]
pub(super) struct SetContext {
    /// Logical path of the set's contents, from its anchor.
    pub(super) path: Vec<Key>,
    /// The set is the file's top-level value, or inside it.
    pub(super) under_file_top: bool,
    /// Path length at which a `//` update was crossed, if any.
    pub(super) update_at: Option<usize>,
    /// A binding directly in the set can be a fact (see [`reach`]);
    /// when false, neither can any binding below it, and `path` is left empty.
    pub(super) live: bool,
    /// The first keys a binding directly in the set may have to be a fact
    /// (see [`reach`]).
    pub(super) first_keys: FirstKeys,
}

impl SetContext {
    pub(super) fn live(
        path: Vec<Key>,
        under_file_top: bool,
        update_at: Option<usize>,
    ) -> SetContext {
        SetContext {
            path,
            under_file_top,
            update_at,
            live: true,
            first_keys: FirstKeys::Any,
        }
    }

    /// A set in which nothing can be a fact.
    pub(super) fn dead(under_file_top: bool) -> SetContext {
        SetContext {
            live: false,
            ..SetContext::live(Vec::new(), under_file_top, None)
        }
    }
}

/// One node of the walk: its green node, and its cursor once something needs it.
/// The walk reads the green tree and makes cursors only for the bindings it
/// visits, the reads it checks and their ancestors (a cursor for every node was
/// the larger part of the detector's time).
pub(super) struct WalkNode<'g, 'p> {
    pub(super) green: &'g GreenNodeData,
    pub(super) kind: SyntaxKind,
    /// Where the node starts in the file.
    pub(super) offset: TextSize,
    /// The parent, and this node's index among the parent's child nodes.
    pub(super) parent: Option<(&'p WalkNode<'g, 'p>, usize)>,
    pub(super) cursor: OnceCell<Option<SyntaxNode>>,
    /// The index of the next child node `children` gives, and the iterator.
    pub(super) children: RefCell<Option<(usize, rnix::SyntaxNodeChildren)>>,
}

impl WalkNode<'_, '_> {
    pub(super) fn range(&self) -> TextRange {
        TextRange::at(self.offset, self.green.text_len())
    }

    pub(super) fn cursor(&self) -> Option<SyntaxNode> {
        self.cursor
            .get_or_init(|| {
                let (parent, index) = self.parent?;
                parent.child(index)
            })
            .clone()
    }

    /// The cursor of child node `index`. The walk asks for children in order,
    /// so one iterator serves them all.
    pub(super) fn child(&self, index: usize) -> Option<SyntaxNode> {
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
pub(super) struct Inherited<'c, 'g, 'p> {
    /// The node is the file's value, possibly behind a function header,
    /// `let … in`, `with …;`, `assert …;`, parentheses or a `//` update.
    pub(super) file_top: bool,
    /// The context of the attribute set the node is a direct child of.
    pub(super) owner: Option<&'c SetContext>,
    /// The node is, through parentheses, `//` updates and what
    /// [`crate::syntax::nix::terminals`] sees through (`let … in`, a module
    /// function's body, `lib.mkMerge`, `lib.mkIf`, priorities), the value of a
    /// binding in an attribute set.
    pub(super) value_of: Option<ValueOf<'c, 'g, 'p>>,
    /// The node is inside the value of an inventory instance (see
    /// [`visit_binding`]): nothing in it is inventory, not even a set that
    /// starts a logical path of its own (a list item, an argument).
    pub(super) inside_instance: bool,
}

#[derive(Clone, Copy)]
pub(super) struct ValueOf<'c, 'g, 'p> {
    /// The context of the set that holds the binding.
    pub(super) owner: &'c SetContext,
    pub(super) binding: &'c WalkNode<'g, 'p>,
    pub(super) crossed_update: bool,
    /// The node is the list of a `lib.mkMerge` call: its items are values too.
    pub(super) merge_list: bool,
}

impl ValueOf<'_, '_, '_> {
    /// The same value, passed through a node that is not a `mkMerge` list.
    pub(super) fn passed(self) -> Self {
        ValueOf {
            merge_list: false,
            ..self
        }
    }
}

pub(super) struct Detector<'m> {
    pub(super) facts: LegacyFacts,
    pub(super) all_mounts: &'m [Vec<Key>],
    pub(super) prune: bool,
    /// Where the file may spell the key `inventory`, when subtrees are skipped
    /// by it (see [`Detector::cannot_hold_facts`]).
    pub(super) spellings: Option<InventorySpellings>,
    /// Nodes visited so far (the tests check what the shortcuts skip).
    pub(super) walked: usize,
    /// Sets that start at a path other than the file's top (the values of
    /// `let` variables that an inventory path is set to).
    pub(super) anchor_paths: Vec<(TextRange, Vec<Key>)>,
    /// Walking such a value again (its reads were found the first time).
    pub(super) in_reference: bool,
    /// Where the file is, to tell the sets that define a clan of their own
    /// (and its clan directory, normalized); `None`: none is looked for.
    pub(super) dirs: Option<(ClanDirs<'m>, std::path::PathBuf)>,
}

/// The offsets at which a file may spell the key `inventory`: the word itself, or
/// a backslash or `${` (an escape or an interpolation can spell it in a string,
/// `"invent\ory"`, `"inv${"entory"}"`). A range with none of them holds no key
/// `inventory`, read or defined.
pub(super) struct InventorySpellings(pub(super) Vec<TextSize>);

impl InventorySpellings {
    /// `None` for a text too long for offsets (rnix cannot parse one anyway).
    pub(super) fn find(text: &str) -> Option<InventorySpellings> {
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

    pub(super) fn any_in(&self, range: TextRange) -> bool {
        let first = self.0.partition_point(|&at| at < range.start());
        self.0.get(first).is_some_and(|&at| at < range.end())
    }
}

impl Detector<'_> {
    /// Visits `node` and its descendants in preorder (the order of the facts).
    pub(super) fn walk(&mut self, node: &WalkNode<'_, '_>, inherited: Inherited<'_, '_, '_>) {
        self.walked += 1;
        let mut own = None;
        let mut inside_instance = inherited.inside_instance;
        match node.kind {
            SyntaxKind::NODE_ATTR_SET => {
                // Before its bindings are recorded: they belong to it.
                if let Some((dirs, clan_dir)) = &self.dirs
                    && !self.in_reference
                    && binds_inventory(node.green)
                    && let Some(set) = node.cursor().and_then(ast::AttrSet::cast)
                    && let Some(clan) = own_clan(&set, *dirs, clan_dir)
                {
                    self.facts.own_clans.push(clan);
                }
                own = Some(self.set_context(inherited, node.range()));
            }
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
    pub(super) fn cannot_hold_facts(
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
    pub(super) fn set_context(
        &self,
        inherited: Inherited<'_, '_, '_>,
        node_range: TextRange,
    ) -> SetContext {
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
pub(super) fn is_leaf(green: &GreenNodeData, kind: SyntaxKind) -> bool {
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
pub(super) fn is_update(bin_op: &GreenNodeData) -> bool {
    bin_op
        .children()
        .filter_map(rowan::NodeOrToken::into_token)
        .find_map(|t| ast::BinOpKind::from_kind(rnix::NixLanguage::kind_from_raw(t.kind())))
        == Some(ast::BinOpKind::Update)
}

pub(super) fn mounts_for<'a>(ctx: &SetContext, all: &'a [Vec<Key>]) -> &'a [Vec<Key>] {
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
pub(super) struct Reach {
    /// A binding directly in the set can be a fact.
    pub(super) live: bool,
    pub(super) first_keys: FirstKeys,
}

pub(super) fn reach(mounts: &[Vec<Key>], path: &[Key]) -> Reach {
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
pub(super) const FACT_KEYS: [&str; 8] = [
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
pub(super) enum FirstKeys {
    Any,
    /// One of the [`FACT_KEYS`] whose bits are set.
    Among(u8),
}

impl FirstKeys {
    /// Whether a binding (its green node) may have an allowed first key. A key
    /// spelled in a way this does not read (dynamic, escaped) may.
    pub(super) fn may_start(self, binding: &GreenNodeData) -> bool {
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
