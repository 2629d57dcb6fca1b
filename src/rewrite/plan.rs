//! Plans the migration of one Nix file: for every legacy instance, either the text
//! edits that turn it into `inventory.instances."<service>-<instance>"`, or the
//! reason it is left exactly as it is.
//!
//! Edits are minimal: path segments are renamed in place (`services.x.y` becomes
//! `instances.x-y`, `config` becomes `settings`), `<service> = { … };` wrappers are
//! flattened by deleting their header and footer lines, machine lists become
//! attribute sets item by item, and one `module.name` line is inserted. Everything
//! else, comments included, keeps its bytes.

use std::collections::{BTreeMap, BTreeSet};

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use super::convert::{
    self, line_start, whole_lines, whole_lines_or_leading_space, whole_lines_or_trailing_space,
};
use super::edit::TextEdit;
pub use crate::inventory::context::FileContext;
use crate::inventory::modules::{ModuleInfo, Status};
use crate::inventory::naming::{default_instance_name, nix_attr, nix_string};
use crate::inventory::{LegacyFacts, LegacyInstance, Span};
use crate::syntax::nix::{Key, KeySeg, attrpath_keys, str_literal, strip_parens};
use crate::text::source::SourceFile;

/// Why an instance is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reason {
    pub kind: ReasonKind,
    pub message: String,
    /// Where the problem is, when it is not the instance itself.
    pub span: Option<Span>,
}

impl Reason {
    fn new(kind: ReasonKind, message: impl Into<String>, span: Option<Span>) -> Self {
        Reason {
            kind,
            message: message.into(),
            span,
        }
    }
}

/// The class of a reason, for summaries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ReasonKind {
    /// The module has no certain clan.service counterpart (option, removed, redesigned, custom, role).
    Module,
    /// Instance-level `config` whose target role is not certain.
    InstanceConfig,
    /// Per-machine `config` whose role is not certain.
    MachineConfig,
    /// A settings key that is renamed or dropped in the new module.
    Settings,
    /// extraModules without a faithful target.
    ExtraModules,
    /// `enabled = false`, or nothing but metadata.
    Disabled,
    /// The new name is already taken.
    NameCollision,
    /// Shares a `services`/service set with an instance that is left.
    SharedDefinition,
    /// A form that needs evaluation or cannot be restructured.
    Form,
    /// The nearest clan-migrate.toml is invalid.
    Config,
    /// Its edits would overlap other edits: a bug in the planner.
    Overlap,
}

impl ReasonKind {
    pub fn describe(self) -> &'static str {
        match self {
            ReasonKind::Module => "module without a certain counterpart",
            ReasonKind::InstanceConfig => "instance config of several roles",
            ReasonKind::MachineConfig => "per-machine config with an uncertain role",
            ReasonKind::Settings => "renamed or dropped settings",
            ReasonKind::ExtraModules => "extraModules without a target",
            ReasonKind::Disabled => "disabled or empty instance",
            ReasonKind::NameCollision => "name collision",
            ReasonKind::SharedDefinition => "shares a set with an instance that is left",
            ReasonKind::Form => "form that needs evaluation",
            ReasonKind::Config => "invalid clan-migrate.toml",
            ReasonKind::Overlap => "edits that would overlap (a bug)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Migrated,
    /// Left as it is; the first reason, then any others.
    Left(Reason, Vec<Reason>),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstancePlan {
    pub service: String,
    pub instance: String,
    pub new_name: String,
    /// The clan.service module, when known.
    pub module: Option<String>,
    pub outcome: Outcome,
    /// Informational notes (dropped `meta`, dropped `enabled = true`).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub edits: Vec<TextEdit>,
    pub instances: Vec<InstancePlan>,
    /// Empty `services`/service definitions deleted.
    pub empties_deleted: usize,
    /// Mistakes in `inventory.instances` code corrected (CM101, CM102, CM104, CM105).
    pub corrections: usize,
    /// The digest of the normal forms of the file's instances before the
    /// rewrite ([`FileContext::digest_meaning`]): the rewritten file must have
    /// the same.
    pub meaning_before: Option<crate::inventory::normal_form::Digest>,
}

impl Plan {
    pub fn migrated(&self) -> usize {
        self.instances
            .iter()
            .filter(|i| i.outcome == Outcome::Migrated)
            .count()
    }

    /// Why an instance is left because its edits would overlap others': a bug
    /// in the planner, which the fuzz targets and the tests look for.
    pub fn overlap(&self) -> Option<&Reason> {
        self.instances.iter().find_map(|i| match &i.outcome {
            Outcome::Left(reason, _) if reason.kind == ReasonKind::Overlap => Some(reason),
            _ => None,
        })
    }
}

/// Where a contributor's `services` and service segments are.
#[derive(Debug, Clone)]
enum Holder {
    /// In the contributor's own attribute path, at this index.
    This(usize),
    /// In an enclosing binding (the last segments of its path).
    Ancestor(ast::AttrpathValue),
    /// In the file that imports this one.
    Mount,
}

#[derive(Debug, Clone)]
struct Contributor {
    node: ast::AttrpathValue,
    segs: Vec<KeySeg>,
    inst_idx: usize,
    services: Holder,
    service: Holder,
    anchor: Option<SyntaxNode>,
}

/// Whose legacy `config` a binding sets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Instance,
    Machine(String),
    Role(String),
}

/// A legacy `config` binding: instance-level, `machines.<m>.config` or `roles.<r>.config`.
#[derive(Debug, Clone)]
struct ConfigPart {
    scope: Scope,
    binding: ast::AttrpathValue,
    /// The segments a rename replaces: `config`, or `machines.<m>.config`.
    path_span: Span,
    /// Keys after `config` spelled in this binding, with their spans.
    after: Vec<KeySeg>,
}

/// A binding replaced by one binding per target role.
#[derive(Debug, Clone)]
struct Replacement {
    binding: ast::AttrpathValue,
    /// (target path, `.rest = value;`) per generated binding.
    lines: Vec<String>,
}

/// Per-instance planning state.
struct Work<'a> {
    instance: &'a LegacyInstance,
    new_name: String,
    module: Option<&'a ModuleInfo>,
    contributors: Vec<Contributor>,
    /// Edits inside the instance (not the instance key itself).
    body: Vec<TextEdit>,
    roles: BTreeSet<String>,
    /// Literal machine lists per role (`None`: not a literal list).
    role_machines: BTreeMap<String, Option<Vec<String>>>,
    /// Literal tag lists per role (`None`: not a literal list).
    role_tags: BTreeMap<String, Option<Vec<String>>>,
    /// The clan's machines and tags, when statically known.
    machine_facts: Option<&'a crate::inventory::MachineFacts>,
    /// Instance-level and per-machine `config`, distributed once all roles are known.
    config_parts: Vec<ConfigPart>,
    /// Bindings replaced as a whole (a config part copied or split over roles).
    replaced: Vec<Replacement>,
    /// Every settings definition the rewrite produces: (target, key path,
    /// value is an attribute-set literal, where).
    settings_defs: Vec<(String, Vec<String>, bool, Span)>,
    blockers: Vec<Reason>,
    notes: Vec<String>,
    /// Line ranges deleted entirely (edits inside them are dropped).
    deleted: Vec<Span>,
}

impl Work<'_> {
    fn block(&mut self, kind: ReasonKind, message: impl Into<String>, span: Option<Span>) {
        let reason = Reason::new(kind, message, span);
        if !self.blockers.contains(&reason) {
            self.blockers.push(reason);
        }
    }
}

/// Plans the migration of `facts`' instances in `source`.
pub fn plan(
    source: &SourceFile,
    root: &SyntaxNode,
    facts: &LegacyFacts,
    ctx: &FileContext,
) -> Plan {
    let text = &source.text;
    // Read from the text only when an instance gets edits.
    let mut style = None;
    let mut works: Vec<Work<'_>> = facts
        .instances
        .iter()
        .map(|instance| {
            analyse_instance(
                instance,
                root,
                text,
                ctx,
                ctx.machine_facts(&facts.machines),
            )
        })
        .collect();

    check_names(&mut works, facts, ctx);
    let containers = containers(&works, text);

    let mut plan = Plan::default();
    let owned = 'plan: loop {
        block_shared_containers(&mut works, &containers, text);
        // A `services` set that keeps some instances gives the others up: they
        // move to an `instances` set of their own, next to it.
        let mut moving_out: Vec<Option<usize>> = vec![None; works.len()];
        for (k, container) in containers.iter().enumerate() {
            if container.kind == ContainerKind::Services
                && container.problem.is_none()
                && container
                    .dependents
                    .iter()
                    .any(|&i| !works[i].blockers.is_empty())
            {
                for &i in &container.dependents {
                    moving_out[i] = Some(k);
                }
            }
        }
        let mut owned: Vec<(TextEdit, Owner)> = Vec::new();
        let mut moves: BTreeMap<usize, Vec<(usize, Vec<TextEdit>)>> = BTreeMap::new();
        for (i, work) in works.iter().enumerate() {
            if work.blockers.is_empty() {
                let style = style.get_or_insert_with(|| Style::of(text));
                let edits = instance_edits(work, text, style, ctx);
                match moving_out[i] {
                    Some(k) => moves.entry(k).or_default().push((i, edits)),
                    None => owned.extend(edits.into_iter().map(|e| (e, Owner::Instance(i)))),
                }
            }
        }
        for (k, container) in containers.iter().enumerate() {
            let all_migrated = container
                .dependents
                .iter()
                .all(|&i| works[i].blockers.is_empty());
            if all_migrated && container.problem.is_none() {
                // A wrapper that moves out of its `services` set is flattened
                // as it moves.
                let moving_with = container.dependents.first().and_then(|&i| moving_out[i]);
                match (container.kind, moving_with) {
                    (ContainerKind::Wrapper, Some(to)) => moves
                        .entry(to)
                        .or_default()
                        .push((container.dependents[0], container.edits.clone())),
                    _ => {
                        let edits = container.edits.iter().cloned();
                        owned.extend(edits.map(|e| (e, Owner::Container(k))));
                    }
                }
            }
        }
        for (k, moving) in &moves {
            let style = style.get_or_insert_with(|| Style::of(text));
            match move_out(*k, &containers[*k], moving, &works, text, style) {
                Ok(edits) => owned.extend(edits),
                Err((i, message)) => {
                    works[i].block(
                        ReasonKind::SharedDefinition,
                        message,
                        Some(containers[*k].span),
                    );
                    continue 'plan;
                }
            }
        }
        for empty in &facts.empty {
            let edit = TextEdit::delete(whole_lines(text, empty.binding));
            owned.push((edit, Owner::EmptyDefinition));
        }
        // Edits that overlap are a bug in the planner: the instances they
        // belong to are left, explained, and the rest is planned again.
        match super::edit::first_overlap(&owned) {
            Some(overlap) if block_overlapping(&mut works, &containers, overlap, text) => {}
            _ => break owned,
        }
    };
    plan.edits = owned.into_iter().map(|(edit, _)| edit).collect();
    plan.empties_deleted = facts.empty.len();
    plan.instances = works
        .into_iter()
        .map(|w| InstancePlan {
            service: w.instance.service.clone(),
            instance: w.instance.instance.clone(),
            new_name: w.new_name,
            module: w
                .module
                .map(|m| m.target_name(&w.instance.service).to_owned()),
            outcome: {
                let mut reasons = w.blockers.into_iter();
                match reasons.next() {
                    None => Outcome::Migrated,
                    Some(first) => Outcome::Left(first, reasons.collect()),
                }
            },
            notes: w.notes,
        })
        .collect();
    plan
}

// ---------------------------------------------------------------------------
// Per-instance analysis

fn analyse_instance<'a>(
    instance: &'a LegacyInstance,
    root: &SyntaxNode,
    text: &str,
    ctx: &'a FileContext,
    machine_facts: Option<&'a crate::inventory::MachineFacts>,
) -> Work<'a> {
    let module = ctx.modules.lookup(&instance.service);
    let mut work = Work {
        instance,
        new_name: default_instance_name(&instance.service, &instance.instance),
        module,
        contributors: Vec::new(),
        body: Vec::new(),
        roles: BTreeSet::new(),
        role_machines: BTreeMap::new(),
        role_tags: BTreeMap::new(),
        machine_facts: None,
        config_parts: Vec::new(),
        replaced: Vec::new(),
        settings_defs: Vec::new(),
        blockers: Vec::new(),
        notes: Vec::new(),
        deleted: Vec::new(),
    };
    work.machine_facts = machine_facts;
    check_module(&mut work);
    if let Some(error) = &ctx.config_error {
        work.block(
            ReasonKind::Config,
            format!("nothing is rewritten while {error}"),
            None,
        );
    }
    if instance.inside_update {
        work.block(
            ReasonKind::Form,
            "the instance is inside a `//` update, so its value depends on the other operand",
            None,
        );
    }
    for binding in &instance.bindings {
        let Some(node) = crate::syntax::nix::binding_at(root, binding.binding) else {
            work.block(
                ReasonKind::Form,
                "the instance is (partly) inherited, so its value is only known after evaluation",
                Some(binding.binding),
            );
            continue;
        };
        match contributor(&node, binding.base, binding.prefix_len, binding.mount_len) {
            Some(c) => work.contributors.push(c),
            None => work.block(
                ReasonKind::Form,
                "the instance's attribute path could not be resolved",
                Some(binding.label),
            ),
        }
    }
    let anchors: Vec<_> = work.contributors.iter().map(|c| c.anchor.clone()).collect();
    if anchors.windows(2).any(|w| w[0] != w[1]) {
        work.block(ReasonKind::Form,
            "the instance is defined in several separate attribute sets (for example in different `mkMerge` elements); its settings would become several definitions",
            None,
        );
    }
    if work
        .contributors
        .iter()
        .any(|c| matches!(c.services, Holder::Mount) || matches!(c.service, Holder::Mount))
    {
        work.block(ReasonKind::Form,
            "the instance is in a file imported as `inventory.services = import …` or as a service; migrating across the import is not supported yet",
            None,
        );
    }
    // Visiting reads the contributors' nodes but never the list itself.
    let contributors = std::mem::take(&mut work.contributors);
    for c in &contributors {
        let rel = &c.segs[c.inst_idx + 1..];
        if rel.is_empty() {
            match crate::syntax::nix::binding_value(&c.node).map(strip_parens) {
                Some(ast::Expr::AttrSet(set)) => visit_set(&mut work, &set, &[], text, ctx),
                Some(other) => work.block(
                    ReasonKind::Form,
                    format!(
                        "the instance's value is {}, not an attribute set literal",
                        crate::syntax::nix::describe_expr(&other)
                    ),
                    Some(Span::from(other.syntax().text_range())),
                ),
                None => {}
            }
        } else {
            visit_binding(&mut work, &c.node, &[], rel, text, ctx);
        }
    }
    work.contributors = contributors;
    resolve_roles(&mut work);
    let all_deleted = work.contributors.iter().all(|c| {
        let span = Span::from(c.node.syntax().text_range());
        work.deleted
            .iter()
            .any(|d| d.start <= span.start && span.end <= d.end)
    });
    if all_deleted && !work.contributors.is_empty() {
        work.block(
            ReasonKind::Disabled,
            "the instance holds nothing but `meta`/`enabled`; delete it by hand",
            None,
        );
    }
    work
}

fn check_module(work: &mut Work<'_>) {
    let service = work.instance.service.clone();
    let Some(module) = work.module else {
        // Reported once the roles are known (`resolve_roles`), with the
        // clan-migrate.toml entry that would describe the module.
        return;
    };
    let note_suffix = module
        .note
        .as_deref()
        .map(|n| format!("; {n}"))
        .unwrap_or_default();
    match module.status {
        Status::Migrated | Status::Renamed => {
            if let Some(text) = &module.note {
                note(work, text);
            }
        }
        Status::Option => work.block(ReasonKind::Module,
            format!(
                "`{service}` is now a NixOS option, not a service: delete the instance and set `{}` on its machines{note_suffix}",
                module.option.as_deref().unwrap_or("the option")
            ),
            None,
        ),
        Status::Removed => work.block(ReasonKind::Module,
            format!("`{service}` was removed from clan-core and has no clan.service counterpart{note_suffix}"),
            None,
        ),
        Status::Redesigned => work.block(ReasonKind::Module,
            format!("`{service}` was redesigned as a clan.service and cannot be migrated mechanically{note_suffix}"),
            None,
        ),
    }
}

fn contributor(
    node: &ast::AttrpathValue,
    base: usize,
    k: usize,
    mount_len: usize,
) -> Option<Contributor> {
    let segs = attrpath_keys(&node.attrpath()?);
    let inst_idx = (k + 1).checked_sub(base)?;
    if inst_idx >= segs.len() {
        return None;
    }
    let locate = |position: usize| -> Option<Holder> {
        if position >= base {
            return Some(Holder::This(position - base));
        }
        if position < mount_len {
            return Some(Holder::Mount);
        }
        // Climb enclosing bindings; each covers the segments just before its child.
        let mut child = node.syntax().clone();
        let mut child_base = base;
        loop {
            let parent = crate::syntax::nix::enclosing_binding(&child)?;
            let len = parent.attrpath().map(|p| attrpath_keys(&p).len())?;
            let parent_base = child_base.checked_sub(len)?;
            if position >= parent_base {
                return Some(Holder::Ancestor(parent));
            }
            child = parent.syntax().clone();
            child_base = parent_base;
        }
    };
    let services = locate(k - 1)?;
    let service = locate(k)?;
    Some(Contributor {
        anchor: crate::syntax::nix::anchor_of(node.syntax()),
        node: node.clone(),
        segs,
        inst_idx,
        services,
        service,
    })
}

/// Visits the entries of an attribute set at relative path `prefix` inside the instance.
fn visit_set(
    work: &mut Work<'_>,
    set: &ast::AttrSet,
    prefix: &[&str],
    text: &str,
    ctx: &FileContext,
) {
    if crate::syntax::nix::is_rec(set) {
        work.block(
            ReasonKind::Form,
            "a `rec` attribute set inside the instance cannot be restructured safely",
            Some(Span::from(set.syntax().text_range())),
        );
    }
    for entry in set.entries() {
        match entry {
            ast::Entry::Inherit(inherit) => work.block(
                ReasonKind::Form,
                "`inherit` inside the instance: its value is only known after evaluation",
                Some(Span::from(inherit.syntax().text_range())),
            ),
            ast::Entry::AttrpathValue(binding) => {
                let Some(path) = binding.attrpath() else {
                    continue;
                };
                let segs = attrpath_keys(&path);
                visit_binding(work, &binding, prefix, &segs, text, ctx);
            }
        }
    }
}

/// Visits one binding whose own segments `segs` follow `prefix` inside the instance.
fn visit_binding(
    work: &mut Work<'_>,
    binding: &ast::AttrpathValue,
    prefix: &[&str],
    segs: &[KeySeg],
    text: &str,
    ctx: &FileContext,
) {
    let binding_span = Span::from(binding.syntax().text_range());
    let mut rel: Vec<&str> = Vec::with_capacity(prefix.len() + segs.len());
    rel.extend_from_slice(prefix);
    for seg in segs {
        match &seg.key {
            Key::Static(s) => rel.push(s),
            Key::Dynamic => {
                work.block(
                    ReasonKind::Form,
                    "a computed attribute name inside the instance",
                    Some(Span::from(seg.range)),
                );
                return;
            }
        }
    }
    // Index in `segs` of relative position `p` (if this binding spells it).
    let own = |p: usize| p.checked_sub(prefix.len()).filter(|&i| i < segs.len());
    let seg_span = |p: usize| own(p).map(|i| Span::from(segs[i].range));
    let value = crate::syntax::nix::binding_value(binding);
    let recurse = |work: &mut Work<'_>, rel: &[&str]| match value.clone().map(strip_parens) {
        Some(ast::Expr::AttrSet(set)) => visit_set(work, &set, rel, text, ctx),
        Some(other) => work.block(
            ReasonKind::Form,
            format!(
                "`{}` is {}, not an attribute set literal",
                rel.join("."),
                crate::syntax::nix::describe_expr(&other)
            ),
            Some(Span::from(other.syntax().text_range())),
        ),
        None => {}
    };

    match rel.first().copied() {
        Some("roles") => {
            let Some(role) = rel.get(1).map(|r| (*r).to_owned()) else {
                return recurse(work, &rel);
            };
            work.roles.insert(role.clone());
            match rel.get(2).copied() {
                None => recurse(work, &rel),
                Some("machines") if rel.len() == 3 => {
                    let machines = value.as_ref().and_then(|v| machine_list_edits(work, v, text, &role, "machines"));
                    work.role_machines.insert(role, machines);
                }
                Some("tags") if rel.len() == 3 => {
                    let tags = value.as_ref().and_then(|v| match strip_parens(v.clone()) {
                        ast::Expr::List(list) => list
                            .items()
                            .map(|i| match i {
                                ast::Expr::Str(s) => str_literal(&s),
                                _ => None,
                            })
                            .collect(),
                        _ => None,
                    });
                    work.role_tags.insert(role.clone(), tags);
                    if ctx.tags_as_attrs
                        && let Some(v) = &value
                    {
                        machine_list_edits(work, v, text, &role, "tags");
                    }
                }
                Some("config") => {
                    // The `config` value is never walked into, so the binding
                    // that spells `config` is this one.
                    if let (Some(span), Some(i)) = (seg_span(2), own(2)) {
                        work.config_parts.push(ConfigPart {
                            scope: Scope::Role(role.clone()),
                            binding: binding.clone(),
                            path_span: span,
                            after: segs[i + 1..].to_vec(),
                        });
                    }
                }
                Some(key @ ("extraModules" | "imports")) if rel.len() == 3 => {
                    if key == "imports"
                        && let Some(span) = seg_span(2)
                    {
                        work.body.push(TextEdit::replace(span, "extraModules"));
                    }
                    if let Some(v) = &value {
                        extra_modules_edits(work, &role, v, ctx);
                    }
                }
                Some(other) => work.block(ReasonKind::Form,
                    format!("`roles.{}.{other}` has no counterpart in the new format", nix_attr(&role)),
                    Some(binding_span),
                ),
            }
        }
        Some("config") => match (seg_span(0), own(0)) {
            (Some(span), Some(i)) => work.config_parts.push(ConfigPart {
                scope: Scope::Instance,
                binding: binding.clone(),
                path_span: span,
                after: segs[i + 1..].to_vec(),
            }),
            _ => work.block(ReasonKind::InstanceConfig, "instance `config` in an unexpected form", Some(binding_span)),
        },
        Some("machines") => {
            let Some(machine) = rel.get(1).map(|m| (*m).to_owned()) else {
                return recurse(work, &rel);
            };
            match rel.get(2).copied() {
                Some("config") => match (own(0), own(2)) {
                    (Some(first), Some(last)) => {
                        let span = Span::new(usize::from(segs[first].range.start()), usize::from(segs[last].range.end()));
                        work.config_parts.push(ConfigPart {
                            scope: Scope::Machine(machine),
                            binding: binding.clone(),
                            path_span: span,
                            after: segs[last + 1..].to_vec(),
                        });
                    }
                    _ => work.block(ReasonKind::MachineConfig,
                        "per-machine `config` written as a nested set is not migrated yet; write it as `machines.<name>.config = …;`",
                        Some(binding_span),
                    ),
                },
                None => recurse(work, &rel),
                Some("extraModules" | "imports") => work.block(ReasonKind::ExtraModules,
                    format!("per-machine extraModules (machine `{machine}`) have no counterpart in the new format"),
                    Some(binding_span),
                ),
                Some(other) => work.block(ReasonKind::Form, format!("`machines.{machine}.{other}` is not a legacy instance attribute"), Some(binding_span)),
            }
        }
        Some("meta") => {
            if own(0).is_some() {
                work.deleted.push(whole_lines(text, binding_span));
                note(work, "`meta` was UI metadata only and is dropped");
            } else {
                recurse(work, &rel);
            }
        }
        Some("enabled") => {
            let literal = value.as_ref().map(|v| strip_parens(v.clone()).syntax().text().to_string());
            if literal.as_deref() == Some("true") && own(0).is_some() {
                work.deleted.push(whole_lines(text, binding_span));
                note(work, "`enabled = true` is the default and is dropped");
            } else {
                work.block(ReasonKind::Disabled,
                    "`enabled` is not `true`: a disabled instance has no equivalent; delete it or comment it out by hand",
                    Some(binding_span),
                );
            }
        }
        Some(key @ ("extraModules" | "imports")) => work.block(ReasonKind::ExtraModules,
            format!("instance-level `{key}` has no counterpart in the new format (only `roles.<role>.extraModules`)"),
            Some(binding_span),
        ),
        Some(other) => work.block(ReasonKind::Form, format!("`{other}` is not a legacy instance attribute"), Some(binding_span)),
        None => recurse(work, &rel),
    }
}

fn note(work: &mut Work<'_>, text: &str) {
    if !work.notes.iter().any(|n| n == text) {
        work.notes.push(text.to_owned());
    }
}

fn collect_key_paths(prefix: Vec<String>, value: Option<&ast::Expr>, out: &mut Vec<Vec<String>>) {
    match value.cloned().map(strip_parens) {
        Some(ast::Expr::AttrSet(set)) => {
            for binding in set.attrpath_values() {
                let mut path = prefix.clone();
                if let Some(attrpath) = binding.attrpath() {
                    path.extend(
                        attrpath_keys(&attrpath)
                            .into_iter()
                            .map(|k| k.key.as_static().unwrap_or("${…}").to_owned()),
                    );
                }
                collect_key_paths(
                    path,
                    crate::syntax::nix::binding_value(&binding).as_ref(),
                    out,
                );
            }
            out.push(prefix);
        }
        _ => out.push(prefix),
    }
}

/// `a.*.b` matches `[a, x, b]` and anything below it.
fn pattern_matches(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    path.len() >= parts.len() && parts.iter().zip(path).all(|(p, k)| *p == "*" || p == k)
}

/// Turns a list of names into an attribute set of empty sets (see
/// [`convert::list_to_attrs`]). Returns the names when every item is a string literal.
fn machine_list_edits(
    work: &mut Work<'_>,
    value: &ast::Expr,
    text: &str,
    role: &str,
    what: &str,
) -> Option<Vec<String>> {
    match convert::list_to_attrs(value, text) {
        Some(conversion) => {
            work.body.extend(conversion.edits);
            conversion.names
        }
        None => {
            work.block(
                ReasonKind::Form,
                format!("`roles.{role}.{what}` is not a complete list"),
                None,
            );
            None
        }
    }
}

/// String extraModules (relative to the clan directory) become path literals
/// relative to the file; other items are kept. When they cannot be (the list
/// is computed, a string is interpolated, no `flake.nix` says where the clan
/// directory is), the value is kept as written: role `extraModules` strings
/// resolve against the clan directory in the new format as in the legacy one,
/// so it means the same (clan warns that such strings are deprecated).
fn extra_modules_edits(work: &mut Work<'_>, role: &str, value: &ast::Expr, ctx: &FileContext) {
    match convert::string_modules_to_paths(value, ctx) {
        Ok(edits) => work.body.extend(edits),
        Err(reason) => note(
            work,
            &format!(
                "`roles.{}.extraModules` is kept as written ({reason}): its strings resolve against the clan directory as before, with clan's warning that string `extraModules` are deprecated",
                nix_attr(role)
            ),
        ),
    }
}

/// Decides where instance-level and per-machine config go, now that all roles are known.
fn resolve_roles(work: &mut Work<'_>) {
    if work.module.is_none() {
        let service = work.instance.service.clone();
        let roles: Vec<String> = work.roles.iter().map(|r| nix_string(r)).collect();
        work.block(
            ReasonKind::Module,
            format!(
                "`{service}` is not a module clan-migrate knows: a custom module must first be rewritten as a clan.service by its author; then describe it in clan-migrate.toml, e.g. `modules.{} = {{ status = \"migrated\", roles = [{}], input = \"self\" }}` (add `keys` when instances have `config`)",
                nix_attr(&service),
                roles.join(", ")
            ),
            None,
        );
    }
    if let Some(module) = work.module {
        for role in work.roles.clone() {
            if !module.roles.contains(&role) {
                work.block(
                    ReasonKind::Module,
                    format!(
                        "role `{role}` does not exist in the `{}` clan.service (roles: {})",
                        module.target_name(&work.instance.service),
                        module.roles.join(", ")
                    ),
                    None,
                );
            }
        }
    }
    // Distributing adds settings and edits, never config parts.
    let parts = std::mem::take(&mut work.config_parts);
    for part in &parts {
        distribute(work, part);
    }
    work.config_parts = parts;
    check_settings_conflicts(work);
}

/// Roles that may receive a config part.
struct Candidates {
    /// Every role for instance config; the roles a machine is certainly a
    /// member of for machine config.
    members: Vec<String>,
    /// Roles a machine may or may not be a member of (through tags, or a
    /// computed list, that cannot be resolved statically).
    uncertain: Vec<String>,
}

fn candidate_roles(work: &mut Work<'_>, part: &ConfigPart) -> Option<Candidates> {
    let certain = |members| {
        Some(Candidates {
            members,
            uncertain: Vec::new(),
        })
    };
    match &part.scope {
        Scope::Role(role) => certain(vec![role.clone()]),
        Scope::Instance => certain(work.roles.iter().cloned().collect()),
        Scope::Machine(machine) => {
            let mut members: Vec<String> = work
                .role_machines
                .iter()
                .filter(|(_, list)| list.as_ref().is_some_and(|l| l.contains(machine)))
                .map(|(role, _)| role.clone())
                .collect();
            // Membership through tags, when the clan's tags are statically known.
            let machine_tags = work.machine_facts.and_then(|f| f.tags_of(machine));
            let mut uncertain: Vec<String> = Vec::new();
            for role in work.roles.clone() {
                if members.contains(&role) {
                    continue;
                }
                let computed_list = matches!(work.role_machines.get(&role), Some(None));
                let by_tags = match (work.role_tags.get(&role), &machine_tags) {
                    (None, _) => Some(false),
                    (Some(Some(tags)), Some(has)) => Some(tags.iter().any(|t| has.contains(t))),
                    _ => None,
                };
                match (computed_list, by_tags) {
                    (false, Some(true)) => members.push(role),
                    (false, Some(false)) => {}
                    _ => uncertain.push(role),
                }
            }
            if members.is_empty() && uncertain.is_empty() {
                work.block(
                    ReasonKind::MachineConfig,
                    format!("machine `{machine}` has `config` but is in no role of this instance (legacy ignored it; the new format would make it a member)"),
                    Some(part.path_span),
                );
                return None;
            }
            members.sort();
            Some(Candidates { members, uncertain })
        }
    }
}

/// Blocks a machine's config part whose receiving roles depend on memberships
/// that cannot be resolved statically. It can be distributed anyway when the
/// machine is certainly a member of some role and each of its top-level keys is
/// declared (by the module table) by such roles and by none of the uncertain
/// ones: then the keys go to the same roles whatever the uncertain memberships
/// turn out to be. `keys` are the part's top-level keys (empty when the part is
/// not an attribute set literal).
fn uncertain_membership(
    work: &mut Work<'_>,
    part: &ConfigPart,
    candidates: &Candidates,
    keys: &[&str],
) -> bool {
    // Only a machine's membership can be uncertain.
    let Scope::Machine(machine) = &part.scope else {
        return false;
    };
    if candidates.uncertain.is_empty() {
        return false;
    }
    let module = work.module;
    let decided = !candidates.members.is_empty()
        && !keys.is_empty()
        && keys.iter().all(|key| {
            module.is_some_and(|m| {
                m.key_owners_certain(key, &candidates.members, &candidates.uncertain)
            })
        });
    if decided {
        return false;
    }
    work.block(
        ReasonKind::MachineConfig,
        format!(
            "machine `{machine}` has `config` and may be a member of role(s) {} through tags or a computed list that cannot be resolved statically (the clan's `inventory.machines` tags are not all literal, or not all in the files checked); which role's settings it belongs to is not decided",
            candidates.uncertain.join(", ")
        ),
        Some(part.path_span),
    );
    true
}

/// The settings path of `role` for a config part.
fn target_path(scope: &Scope, role: &str) -> String {
    match scope {
        Scope::Role(_) => "settings".to_owned(),
        Scope::Instance => format!("roles.{}.settings", nix_attr(role)),
        Scope::Machine(machine) => format!(
            "roles.{}.machines.{}.settings",
            nix_attr(role),
            nix_attr(machine)
        ),
    }
}

/// Sends a config part to the roles that declare its keys: a rename when one role
/// gets all of it, one copy per role otherwise. Settings keys the module renamed
/// are renamed where their old path is spelled in one attribute path.
fn distribute(work: &mut Work<'_>, part: &ConfigPart) {
    let Some(possible) = candidate_roles(work, part) else {
        return;
    };
    let module = work.module;
    let value = crate::syntax::nix::binding_value(&part.binding);
    let after: Vec<String> = part
        .after
        .iter()
        .filter_map(|k| k.key.as_static().map(str::to_owned))
        .collect();
    if after.len() != part.after.len() {
        work.block(
            ReasonKind::Form,
            "a computed attribute name in `config`",
            Some(part.path_span),
        );
        return;
    }
    // The top-level settings entries: (key path, attrpath text, value text).
    let entries: Vec<(Vec<String>, String, String)> = if after.is_empty() {
        match value.clone().map(strip_parens) {
            Some(ast::Expr::AttrSet(set)) if !crate::syntax::nix::is_rec(&set) => {
                let mut out = Vec::new();
                for entry in set.entries() {
                    let ast::Entry::AttrpathValue(b) = entry else {
                        work.block(
                            ReasonKind::Form,
                            "`inherit` inside `config`",
                            Some(part.path_span),
                        );
                        return;
                    };
                    let (Some(path), Some(v)) =
                        (b.attrpath(), crate::syntax::nix::binding_value(&b))
                    else {
                        return;
                    };
                    let keys: Option<Vec<String>> = attrpath_keys(&path)
                        .into_iter()
                        .map(|k| k.key.as_static().map(str::to_owned))
                        .collect();
                    let Some(keys) = keys else {
                        work.block(
                            ReasonKind::Form,
                            "a computed attribute name in `config`",
                            Some(part.path_span),
                        );
                        return;
                    };
                    out.push((
                        keys,
                        path.syntax().text().to_string(),
                        v.syntax().text().to_string(),
                    ));
                }
                out
            }
            _ if !possible.uncertain.is_empty() => {
                uncertain_membership(work, part, &possible, &[]);
                return;
            }
            _ if possible.members.len() == 1 => Vec::new(),
            _ => {
                work.block(
                    ReasonKind::InstanceConfig,
                    "`config` is not an attribute set literal, so its keys cannot be given to the roles that declare them",
                    Some(part.path_span),
                );
                return;
            }
        }
    } else {
        vec![(after.clone(), String::new(), String::new())]
    };
    let top_keys: Vec<&str> = entries
        .iter()
        .map(|(keys, _, _)| keys.first().map_or("", String::as_str))
        .collect();
    if uncertain_membership(work, part, &possible, &top_keys) {
        return;
    }
    let candidates = possible.members;
    // Which roles receive each entry.
    let mut owners_of: Vec<Vec<String>> = Vec::new();
    for (keys, _, _) in &entries {
        let key = &keys[0];
        let owners: Vec<String> = if candidates.len() == 1 {
            candidates.clone()
        } else {
            match module.and_then(|m| m.keys.get(key)) {
                Some(declared) => candidates
                    .iter()
                    .filter(|r| declared.contains(r))
                    .cloned()
                    .collect(),
                None => {
                    work.block(
                        ReasonKind::InstanceConfig,
                        format!(
                            "no role of `{}` is known to declare `{key}` (roles here: {}); say which in clan-migrate.toml: `modules.{}.keys.{} = [ \"<role>\" ]`",
                            work.instance.service,
                            candidates.join(", "),
                            nix_attr(&work.instance.service),
                            nix_attr(key)
                        ),
                        Some(part.path_span),
                    );
                    return;
                }
            }
        };
        if owners.is_empty() {
            work.block(
                ReasonKind::InstanceConfig,
                format!(
                    "`{key}` is declared by no role that receives this `config` ({})",
                    candidates.join(", ")
                ),
                Some(part.path_span),
            );
            return;
        }
        owners_of.push(owners);
    }
    for (keys, _, _) in &entries {
        check_dropped(work, module, keys);
    }
    record_settings(
        work,
        part,
        &candidates,
        &entries,
        &owners_of,
        value.as_ref(),
    );
    let single_target = match owners_of.first() {
        None => candidates.first().cloned(),
        Some(first) if first.len() == 1 && owners_of.iter().all(|o| o == first) => {
            first.first().cloned()
        }
        _ => None,
    };
    if let Some(role) = single_target {
        // One role gets everything: rename in place.
        work.body.push(TextEdit::replace(
            part.path_span,
            target_path(&part.scope, &role),
        ));
        rename_keys_in_place(work, module, part, &after, value.as_ref());
        return;
    }
    // Several roles: one binding per (entry, owning role), copied verbatim.
    let value_text = value
        .map(|v| v.syntax().text().to_string())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for ((keys, path_text, entry_value), owners) in entries.iter().zip(&owners_of) {
        let renamed = module.and_then(|m| renamed_keys(m, keys));
        for role in owners {
            let target = target_path(&part.scope, role);
            let rest = match (&renamed, after.is_empty()) {
                (Some(new), _) => format!(
                    "{}.{} = {};",
                    target,
                    nix_path(new),
                    if after.is_empty() {
                        entry_value
                    } else {
                        &value_text
                    }
                ),
                (None, true) => format!("{target}.{path_text} = {entry_value};"),
                (None, false) => {
                    let first = usize::from(part.after[0].range.start());
                    let last = usize::from(part.after[part.after.len() - 1].range.end());
                    let binding_start = usize::from(part.binding.syntax().text_range().start());
                    let text = part.binding.syntax().text().to_string();
                    format!(
                        "{target}.{} = {value_text};",
                        &text[first - binding_start..last - binding_start]
                    )
                }
            };
            lines.push(rest);
        }
    }
    if has_comment(part.binding.syntax()) {
        work.block(
            ReasonKind::InstanceConfig,
            "the `config` to split between roles contains comments, which would have no place in the copies",
            Some(part.path_span),
        );
        return;
    }
    work.replaced.push(Replacement {
        binding: part.binding.clone(),
        lines,
    });
}

/// Remembers which settings each target role gets from this part.
fn record_settings(
    work: &mut Work<'_>,
    part: &ConfigPart,
    candidates: &[String],
    entries: &[(Vec<String>, String, String)],
    owners_of: &[Vec<String>],
    value: Option<&ast::Expr>,
) {
    let is_set =
        |v: Option<&ast::Expr>| matches!(v.cloned().map(strip_parens), Some(ast::Expr::AttrSet(_)));
    let target = |role: &str| match &part.scope {
        Scope::Role(r) => format!("roles.{}.settings", nix_attr(r)),
        scope => target_path(scope, role),
    };
    if entries.is_empty() {
        // The whole value goes to the single candidate.
        for role in candidates {
            work.settings_defs
                .push((target(role), Vec::new(), is_set(value), part.path_span));
        }
        return;
    }
    let entry_values: Vec<bool> = match value.cloned().map(strip_parens) {
        Some(ast::Expr::AttrSet(set)) if part.after.is_empty() => set
            .attrpath_values()
            .map(|b| is_set(crate::syntax::nix::binding_value(&b).as_ref()))
            .collect(),
        _ => vec![is_set(value)],
    };
    for (i, ((keys, _, _), owners)) in entries.iter().zip(owners_of).enumerate() {
        let literal = entry_values.get(i).copied().unwrap_or(false);
        for role in owners {
            work.settings_defs
                .push((target(role), keys.clone(), literal, part.path_span));
        }
    }
}

/// Two parts that set the same setting (or one replaces what the other extends)
/// would be two definitions; Nix and the module system reject that.
fn check_settings_conflicts(work: &mut Work<'_>) {
    let defs = std::mem::take(&mut work.settings_defs);
    let conflict = settings_conflict(&defs);
    work.settings_defs = defs;
    if let Some((message, span)) = conflict {
        work.block(ReasonKind::InstanceConfig, message, Some(span));
    }
}

/// The first pair of settings definitions that would define one path twice.
fn settings_conflict(defs: &[(String, Vec<String>, bool, Span)]) -> Option<(String, Span)> {
    for (i, (target, path, literal, span)) in defs.iter().enumerate() {
        for (other_target, other_path, other_literal, other_span) in &defs[i + 1..] {
            if target != other_target || span == other_span {
                continue;
            }
            let (shorter, shorter_literal, longer) = if path.len() <= other_path.len() {
                (path, *literal, other_path)
            } else {
                (other_path, *other_literal, path)
            };
            if !longer.starts_with(shorter) {
                continue;
            }
            let equal = path.len() == other_path.len();
            if equal && *literal && *other_literal {
                continue; // two set literals merge one level (and the verifier checks the rest)
            }
            if !equal && shorter_literal {
                continue;
            }
            let what = if shorter.is_empty() {
                format!("`{target}`")
            } else {
                format!("`{target}.{}`", shorter.join("."))
            };
            let message = if !shorter_literal && shorter.is_empty() {
                format!(
                    "{what} is given as an expression and would have to be merged with other parts; merge them by hand into one attribute set"
                )
            } else {
                format!(
                    "{what} would be set twice (by two legacy `config` parts); legacy merged them, the new format needs one definition"
                )
            };
            return Some((message, *other_span));
        }
    }
    None
}

fn has_comment(node: &SyntaxNode) -> bool {
    node.descendants_with_tokens()
        .any(|e| e.kind() == SyntaxKind::TOKEN_COMMENT)
}

fn nix_path(keys: &[String]) -> String {
    keys.iter()
        .map(|k| nix_attr(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// The new key path for a legacy settings path the module renames (`*`-free patterns).
fn renamed_keys(module: &ModuleInfo, keys: &[String]) -> Option<Vec<String>> {
    module.renames.iter().find_map(|(old, new)| {
        let old: Vec<&str> = old.split('.').collect();
        (!old.contains(&"*")
            && old.len() <= keys.len()
            && old.iter().zip(keys).all(|(a, b)| a == b))
        .then(|| {
            let mut out: Vec<String> = new.split('.').map(str::to_owned).collect();
            out.extend(keys[old.len()..].iter().cloned());
            out
        })
    })
}

/// Applies key renames inside a config part that keeps its place (rename mode).
fn rename_keys_in_place(
    work: &mut Work<'_>,
    module: Option<&ModuleInfo>,
    part: &ConfigPart,
    after: &[String],
    value: Option<&ast::Expr>,
) {
    let Some(module) = module else { return };
    if !after.is_empty()
        && let Some(new) = renamed_keys(module, after)
    {
        let span = Span::new(
            usize::from(part.after[0].range.start()),
            usize::from(part.after[part.after.len() - 1].range.end()),
        );
        work.body.push(TextEdit::replace(span, nix_path(&new)));
        return;
    }
    let mut paths = Vec::new();
    collect_key_paths(after.to_vec(), value, &mut paths);
    // Top-level entries of a set value whose attribute path spells a renamed key.
    let mut handled: Vec<Vec<String>> = Vec::new();
    if after.is_empty()
        && let Some(ast::Expr::AttrSet(set)) = value.cloned().map(strip_parens)
    {
        for entry in set.attrpath_values() {
            let Some(path) = entry.attrpath() else {
                continue;
            };
            let keys: Option<Vec<String>> = attrpath_keys(&path)
                .into_iter()
                .map(|k| k.key.as_static().map(str::to_owned))
                .collect();
            if let Some(keys) = keys
                && let Some(new) = renamed_keys(module, &keys)
            {
                work.body.push(TextEdit::replace(
                    Span::from(path.syntax().text_range()),
                    nix_path(&new),
                ));
                handled.push(keys);
            }
        }
    }
    for path in paths {
        check_dropped(work, Some(module), &path);
        let unhandled =
            renamed_keys(module, &path).is_some() && !handled.iter().any(|h| path.starts_with(h));
        let wildcard = module
            .renames
            .keys()
            .any(|old| old.contains('*') && pattern_matches(old, &path));
        if unhandled || wildcard {
            work.block(
                ReasonKind::Settings,
                format!("setting `{}` is renamed in the new module, and it is not spelled as one attribute path that can be renamed", path.join(".")),
                Some(part.path_span),
            );
        }
    }
}

/// Refuses settings the new module does not have.
fn check_dropped(work: &mut Work<'_>, module: Option<&ModuleInfo>, path: &[String]) {
    let Some(module) = module else { return };
    for dropped in &module.dropped {
        if pattern_matches(dropped, path) {
            work.block(
                ReasonKind::Settings,
                format!(
                    "setting `{}` has no counterpart in the new module",
                    path.join(".")
                ),
                None,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Names

fn check_names(works: &mut [Work<'_>], facts: &LegacyFacts, ctx: &FileContext) {
    let mut generated: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    for work in works.iter() {
        *generated.entry(work.new_name.clone()).or_default() += 1;
    }
    let existing_names: foldhash::HashMap<&str, &crate::inventory::NewInstance> = facts
        .new_instances
        .iter()
        .map(|n| (n.name.as_str(), n))
        .collect();
    for work in works.iter_mut() {
        let existing = existing_names.get(work.new_name.as_str());
        if let Some(span) = existing.and_then(|n| n.bindings.first()).map(|b| b.label) {
            work.block(
                ReasonKind::NameCollision,
                format!("an instance named `{}` already exists", work.new_name),
                Some(span),
            );
        }
        if let Some(elsewhere) = ctx.taken_elsewhere.iter().find(|e| e.key == work.new_name) {
            let (path, line) = (&elsewhere.path, elsewhere.line);
            work.block(
                ReasonKind::NameCollision,
                format!(
                    "`{}` is also an instance name in {}:{line}, another file of this clan (settings are unique across files, so the definitions would conflict)",
                    work.new_name,
                    path.display()
                ),
                None,
            );
        }
        if generated.get(&work.new_name).is_some_and(|&n| n > 1) {
            work.block(
                ReasonKind::NameCollision,
                format!(
                    "another legacy instance in this file would also be named `{}`",
                    work.new_name
                ),
                None,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Containers: bindings above the instances (`services = {`, `<service> = {`)

/// The edits that rewrite a container, or why it cannot be rewritten.
type ContainerEdits = (Vec<TextEdit>, Option<Reason>);

struct Container {
    node: ast::AttrpathValue,
    span: Span,
    kind: ContainerKind,
    dependents: Vec<usize>,
    edits: Vec<TextEdit>,
    problem: Option<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainerKind {
    /// `services = { … }`, renamed `instances` when all its instances migrate.
    Services,
    /// `<service> = { <instance> = …; }`, flattened.
    Wrapper,
}

fn containers(works: &[Work<'_>], text: &str) -> Vec<Container> {
    let mut out: Vec<Container> = Vec::new();
    let mut add = |node: &ast::AttrpathValue,
                   dependent: usize,
                   kind: ContainerKind,
                   build: &dyn Fn(&ast::AttrpathValue) -> ContainerEdits| {
        let span = Span::from(node.syntax().text_range());
        if let Some(c) = out.iter_mut().find(|c| c.span == span) {
            if !c.dependents.contains(&dependent) {
                c.dependents.push(dependent);
            }
        } else {
            let (edits, problem) = build(node);
            out.push(Container {
                node: node.clone(),
                span,
                kind,
                dependents: vec![dependent],
                edits,
                problem,
            });
        }
    };
    for (i, work) in works.iter().enumerate() {
        for c in &work.contributors {
            if let Holder::Ancestor(node) = &c.services {
                let same_as_service =
                    matches!(&c.service, Holder::Ancestor(s) if s.syntax() == node.syntax());
                if !same_as_service {
                    add(node, i, ContainerKind::Services, &|n| {
                        rename_last_segment(n, 1, "instances")
                    });
                }
            }
            if let Holder::Ancestor(node) = &c.service {
                add(node, i, ContainerKind::Wrapper, &|n| {
                    flatten_wrapper(n, text)
                });
            }
        }
    }
    out
}

/// Renames the segment `from_end` places before the end of a binding's path.
fn rename_last_segment(
    node: &ast::AttrpathValue,
    from_end: usize,
    to: &str,
) -> (Vec<TextEdit>, Option<Reason>) {
    let segs = node
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    match segs.len().checked_sub(from_end).and_then(|i| segs.get(i)) {
        Some(seg) => (vec![TextEdit::replace(Span::from(seg.range), to)], None),
        None => (
            Vec::new(),
            Some(Reason::new(
                ReasonKind::Form,
                "unexpected attribute path",
                None,
            )),
        ),
    }
}

/// Deletes the header (`svc = {`) and footer (`};`) of a service wrapper; its
/// instance bindings get the wrapper's path as prefix (done by `instance_edits`).
fn flatten_wrapper(node: &ast::AttrpathValue, text: &str) -> ContainerEdits {
    let problem = |m: &str| {
        (
            Vec::new(),
            Some(Reason::new(
                ReasonKind::Form,
                m,
                Some(Span::from(node.syntax().text_range())),
            )),
        )
    };
    let Some(ast::Expr::AttrSet(set)) = crate::syntax::nix::binding_value(node).map(strip_parens)
    else {
        return problem("the service's value is not an attribute set literal");
    };
    if crate::syntax::nix::is_rec(&set) {
        return problem("the service is a `rec` attribute set");
    }
    if set.inherits().next().is_some() {
        return problem("the service's attribute set uses `inherit`");
    }
    let (Some(open), Some(close)) = (
        crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_L_BRACE),
        crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_R_BRACE),
    ) else {
        return problem("the service's attribute set is incomplete");
    };
    let binding = Span::from(node.syntax().text_range());
    let header = Span::new(binding.start, usize::from(open.end()));
    let footer = Span::new(usize::from(close.start()), binding.end);
    let comment_in = |part: Span| {
        node.syntax()
            .descendants_with_tokens()
            .filter(|e| e.kind() == SyntaxKind::TOKEN_COMMENT)
            .any(|e| {
                let span = Span::from(e.text_range());
                part.start <= span.start && span.end <= part.end
            })
    };
    if comment_in(header) || comment_in(footer) {
        return problem("a comment inside the service wrapper's `{` or `};` line");
    }
    (
        vec![
            TextEdit::delete(whole_lines_or_trailing_space(text, header)),
            TextEdit::delete(whole_lines_or_leading_space(text, footer)),
        ],
        None,
    )
}

fn block_shared_containers(works: &mut [Work<'_>], containers: &[Container], text: &str) {
    loop {
        let mut changed = false;
        for container in containers {
            let blocked: Option<(usize, Reason)> = container
                .problem
                .clone()
                .map(|r| (usize::MAX, r))
                .or_else(|| {
                    container
                        .dependents
                        .iter()
                        .find_map(|&i| works[i].blockers.first().map(|r| (i, r.clone())))
                });
            let Some((culprit, reason)) = blocked else {
                continue;
            };
            let line = line_of(text, container.span.start);
            for &i in &container.dependents {
                if i == culprit || !works[i].blockers.is_empty() {
                    continue;
                }
                // Moved out of the set into an `instances` set of its own (`move_out`).
                if culprit != usize::MAX && movable(&works[i], container, containers, works, text) {
                    continue;
                }
                let message = if culprit == usize::MAX {
                    format!(
                        "the enclosing definition at line {line} cannot be rewritten: {}",
                        reason.message
                    )
                } else {
                    let other = &works[culprit].instance;
                    format!(
                        "shares the attribute set at line {line} with `{}.{}`, which is not migrated ({})",
                        nix_attr(&other.service),
                        nix_attr(&other.instance),
                        reason.message
                    )
                };
                works[i].blockers.push(Reason::new(
                    ReasonKind::SharedDefinition,
                    message,
                    Some(container.span),
                ));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Whether an instance can leave the `services` set it shares with instances
/// that are not migrated: each of its bindings is an entry of that set that
/// spells the service in its own path, or sits in a `<service> = { … }`
/// wrapper that is such an entry and whose instances all migrate (the wrapper
/// then moves whole); these entries have lines of their own; and the set's
/// binding ends its line, so that an `instances` set can follow it.
fn movable(
    work: &Work<'_>,
    container: &Container,
    containers: &[Container],
    works: &[Work<'_>],
    text: &str,
) -> bool {
    if container.kind != ContainerKind::Services || container.problem.is_some() {
        return false;
    }
    let Some(ast::Expr::AttrSet(set)) =
        crate::syntax::nix::binding_value(&container.node).map(strip_parens)
    else {
        return false;
    };
    let ends_line = |end: usize| {
        let rest = text[end..].split('\n').next().unwrap_or("");
        let rest = rest.trim();
        (rest.is_empty() || rest.starts_with('#')) && text[end..].contains('\n')
    };
    let starts_line = |start: usize| text[line_start(text, start)..start].trim().is_empty();
    let wrapper_moves_whole = |wrapper: &ast::AttrpathValue| {
        containers.iter().any(|w| {
            w.kind == ContainerKind::Wrapper
                && w.node.syntax() == wrapper.syntax()
                && w.problem.is_none()
                && w.dependents.iter().all(|&i| works[i].blockers.is_empty())
        })
    };
    ends_line(container.span.end)
        && !work.contributors.is_empty()
        && work.contributors.iter().all(|c| {
            let entry = match &c.service {
                Holder::This(_) => &c.node,
                Holder::Ancestor(wrapper) if wrapper_moves_whole(wrapper) => wrapper,
                Holder::Ancestor(_) | Holder::Mount => return false,
            };
            let span = Span::from(entry.syntax().text_range());
            matches!(&c.services, Holder::Ancestor(n) if n.syntax() == container.node.syntax())
                && entry.syntax().parent().as_ref() == Some(set.syntax())
                && starts_line(span.start)
                && ends_line(span.end)
        })
}

/// The entry of the `services` set that a contributor of a moving instance
/// moves with: its own binding, or its wrapper.
fn moving_entry(c: &Contributor) -> &ast::AttrpathValue {
    match &c.service {
        Holder::Ancestor(wrapper) => wrapper,
        Holder::This(_) | Holder::Mount => &c.node,
    }
}

/// The lines a binding that moves takes along: its own, and the lines of the
/// comments right above it (each on lines of its own, no blank line between).
fn moving_lines(text: &str, binding: &ast::AttrpathValue) -> Span {
    let span = Span::from(binding.syntax().text_range());
    let mut start = line_start(text, span.start);
    let end = text[span.end..]
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    let mut previous = binding.syntax().prev_sibling_or_token();
    while let Some(element) = previous {
        match element.kind() {
            SyntaxKind::TOKEN_WHITESPACE => {
                let newlines = element.to_string().matches('\n').count();
                if newlines > 1 {
                    break;
                }
            }
            SyntaxKind::TOKEN_COMMENT => {
                let comment = usize::from(element.text_range().start());
                let own_line = line_start(text, comment);
                if !text[own_line..comment].trim().is_empty() {
                    break;
                }
                start = own_line;
            }
            _ => break,
        }
        previous = element.prev_sibling_or_token();
    }
    Span::new(start, end)
}

/// The end of the blank line that starts at `start`, if it is one.
fn blank_line_at(text: &str, start: usize) -> Option<usize> {
    let end = start + text.get(start..)?.find('\n')? + 1;
    text[start..end].trim().is_empty().then_some(end)
}

/// The start of the blank line that ends at `end`, if it is one.
fn blank_line_before(text: &str, end: usize) -> Option<usize> {
    let start = line_start(text, end.checked_sub(1)?);
    text[start..end].trim().is_empty().then_some(start)
}

/// The deletions of the lines that moved out of a set (each with the instance
/// it belongs to), with the blank lines around them tidied: where moved lines
/// and blank lines alternate between two lines that stay, one blank line is
/// kept if there was one, none next to the set's `{` or `}`.
fn vacate(text: &str, mut vacated: Vec<(Span, usize)>) -> Vec<(TextEdit, Owner)> {
    enum Item {
        Moved(usize),
        Blank(Span),
    }
    vacated.sort_by_key(|(span, _)| span.start);
    let mut deletions: Vec<Span> = vacated.iter().map(|(span, _)| *span).collect();
    let mut next = 0;
    while next < vacated.len() {
        // A gap: blank and moved lines between two lines that stay.
        let mut items: Vec<Item> = Vec::new();
        let mut start = vacated[next].0.start;
        while let Some(blank) = blank_line_before(text, start) {
            items.insert(0, Item::Blank(Span::new(blank, start)));
            start = blank;
        }
        let mut end = vacated[next].0.start;
        loop {
            if vacated.get(next).is_some_and(|(span, _)| span.start == end) {
                items.push(Item::Moved(next));
                end = vacated[next].0.end;
                next += 1;
            } else if let Some(blank) = blank_line_at(text, end) {
                items.push(Item::Blank(Span::new(end, blank)));
                end = blank;
            } else {
                break;
            }
        }
        let above = line_start(text, start.saturating_sub(1));
        let below = text[end..].split('\n').next().unwrap_or("");
        let at_edge =
            text[above..start].trim_end().ends_with('{') || below.trim_start().starts_with('}');
        let mut keep = usize::from(!at_edge);
        // Each deleted blank line joins the deletion of the moved lines next to it.
        let mut last_moved: Option<usize> = None;
        let mut pending: Vec<Span> = Vec::new();
        for item in &items {
            match item {
                Item::Blank(_) if keep > 0 => {
                    keep -= 1;
                    last_moved = None;
                }
                Item::Blank(blank) => match last_moved {
                    Some(m) => deletions[m].end = blank.end,
                    None => pending.push(*blank),
                },
                Item::Moved(m) => {
                    if let Some(first) = pending.first() {
                        deletions[*m].start = first.start;
                        pending.clear();
                    }
                    last_moved = Some(*m);
                }
            }
        }
    }
    deletions
        .into_iter()
        .zip(&vacated)
        .map(|(span, (_, i))| (TextEdit::delete(span), Owner::Instance(*i)))
        .collect()
}

/// The edits that move the migrated instances of a `services` set that keeps
/// others: each instance's bindings, rewritten, leave the set and go, in their
/// order, into a new `instances` set right after it. `Err`: an instance whose
/// rewrite reaches outside its own lines, with the reason.
fn move_out(
    k: usize,
    container: &Container,
    moving: &[(usize, Vec<TextEdit>)],
    works: &[Work<'_>],
    text: &str,
    style: &Style,
) -> Result<Vec<(TextEdit, Owner)>, (usize, String)> {
    let outside = |i: usize| {
        (
            i,
            "its rewrite would change text outside its own lines, so it cannot move out of the `services` set it shares with instances that are not migrated".to_owned(),
        )
    };
    // The lines that move (each with the first instance that takes them).
    let mut spans: Vec<(Span, usize)> = Vec::new();
    for (i, _) in moving {
        for c in &works[*i].contributors {
            let span = moving_lines(text, moving_entry(c));
            if !spans.iter().any(|(s, _)| *s == span) {
                spans.push((span, *i));
            }
        }
    }
    spans.sort_by_key(|(s, _)| (s.start, s.end));
    let mut local: Vec<Vec<TextEdit>> = vec![Vec::new(); spans.len()];
    for (i, instance_edits) in moving {
        for edit in instance_edits {
            let e = edit.span;
            // An insertion where one span ends and the next starts belongs to the next.
            let at = spans
                .iter()
                .position(|(s, _)| s.start == e.start && e.end <= s.end)
                .or_else(|| {
                    spans
                        .iter()
                        .position(|(s, _)| s.start <= e.start && e.end <= s.end)
                })
                .ok_or_else(|| outside(*i))?;
            let base = spans[at].0.start;
            local[at].push(TextEdit::replace(
                Span::new(e.start - base, e.end - base),
                edit.insert.clone(),
            ));
        }
    }
    let mut pieces: Vec<(usize, String)> = Vec::new();
    let mut edits: Vec<(TextEdit, Owner)> = Vec::new();
    for ((span, i), local) in spans.iter().zip(&local) {
        let moved =
            super::edit::apply(&text[span.start..span.end], local).map_err(|_| outside(*i))?;
        pieces.push((span.start, moved));
    }
    let vacated = spans;
    pieces.sort_by_key(|(start, _)| *start);
    edits.extend(vacate(text, vacated));
    let segs = container
        .node
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    let (Some(last), Some(line_end)) = (
        segs.last(),
        text[container.span.end..]
            .find('\n')
            .map(|i| container.span.end + i + 1),
    ) else {
        return Err(outside(moving.first().map_or(0, |(i, _)| *i)));
    };
    let head = &text[container.span.start..usize::from(last.range.start())];
    let indent = line_indent(text, container.span.start);
    let body: String = pieces.into_iter().map(|(_, piece)| piece).collect();
    let eol = style.eol;
    let insertion = match following_instances_set(container, &segs, text) {
        // Into the `instances` set that follows (one an earlier run wrote).
        Some(closing_line) => TextEdit::insert(closing_line, body),
        None => TextEdit::insert(
            line_end,
            format!("{indent}{head}instances = {{{eol}{body}{indent}}};{eol}"),
        ),
    };
    edits.push((insertion, Owner::Container(k)));
    Ok(edits)
}

/// Where moved instances go when the binding right after the `services` set
/// (nothing but whitespace between them) defines the `instances` next to it
/// as a non-`rec` attribute-set literal whose `}` starts its line: the start
/// of that line.
fn following_instances_set(container: &Container, segs: &[KeySeg], text: &str) -> Option<usize> {
    let next = ast::AttrpathValue::cast(container.node.syntax().next_sibling()?)?;
    let between = &text[container.span.end..usize::from(next.syntax().text_range().start())];
    if !between.trim().is_empty() {
        return None;
    }
    let next_keys = attrpath_keys(&next.attrpath()?);
    let (_, prefix) = segs.split_last()?;
    let (last, next_prefix) = next_keys.split_last()?;
    let same_prefix = prefix.len() == next_prefix.len()
        && prefix
            .iter()
            .zip(next_prefix)
            .all(|(a, b)| a.key.as_static().is_some() && a.key.as_static() == b.key.as_static());
    if !same_prefix || last.key.as_static() != Some("instances") {
        return None;
    }
    let Some(ast::Expr::AttrSet(set)) = crate::syntax::nix::binding_value(&next).map(strip_parens)
    else {
        return None;
    };
    if crate::syntax::nix::is_rec(&set) {
        return None;
    }
    let close = crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_R_BRACE)?;
    let close = usize::from(close.start());
    let line = line_start(text, close);
    text[line..close].trim().is_empty().then_some(line)
}

/// What a planned edit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Instance(usize),
    Container(usize),
    EmptyDefinition,
}

/// Leaves the instances whose edits overlap (one instance's edits, or two's),
/// with the reason; `false` when there is none left to leave.
fn block_overlapping(
    works: &mut [Work<'_>],
    containers: &[Container],
    (first, second, at): (Owner, Owner, Span),
    text: &str,
) -> bool {
    let describe = |owner: Owner, works: &[Work<'_>]| match owner {
        Owner::Instance(i) => format!(
            "the rewrite of `{}.{}`",
            nix_attr(&works[i].instance.service),
            nix_attr(&works[i].instance.instance)
        ),
        Owner::Container(k) => format!(
            "the rewrite of the enclosing definition at line {}",
            line_of(text, containers[k].span.start)
        ),
        Owner::EmptyDefinition => "the deletion of an empty definition".to_owned(),
    };
    let edits = if first == second {
        format!("two edits of {}", describe(first, works))
    } else {
        format!("{} and {}", describe(first, works), describe(second, works))
    };
    let message = format!(
        "{edits} would change the same text, at line {}; this is a bug in clan-migrate, please report it",
        line_of(text, at.start)
    );
    let mut blocked = false;
    for owner in [first, second] {
        let instances = match owner {
            Owner::Instance(i) => vec![i],
            Owner::Container(k) => containers[k].dependents.clone(),
            Owner::EmptyDefinition => Vec::new(),
        };
        for i in instances {
            if works[i].blockers.is_empty() {
                works[i].block(ReasonKind::Overlap, message.clone(), Some(at));
                blocked = true;
            }
        }
    }
    blocked
}

// ---------------------------------------------------------------------------
// Edits of a migrated instance

/// Line-ending and indentation conventions of a file.
struct Style {
    eol: &'static str,
    indent_unit: String,
}

impl Style {
    fn of(text: &str) -> Style {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        // The narrowest indentation of a non-blank line, in spaces, unless a
        // line is indented with a tab first. Lines are read as bytes: a line
        // whose first byte after its indentation is ASCII other than
        // whitespace is not blank, and only the others are decoded to be sure.
        let bytes = text.as_bytes();
        let mut narrowest: Option<usize> = None;
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let line = &bytes[start..end];
            let lead = line
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(line.len());
            let blank = match line.get(lead) {
                Some(&b) if b.is_ascii() => {
                    (b as char).is_whitespace() && is_blank(text, start + lead, end)
                }
                Some(_) => is_blank(text, start + lead, end),
                None => true,
            };
            if lead > 0 && !blank {
                if line[0] == b'\t' {
                    return Style {
                        eol,
                        indent_unit: "\t".to_owned(),
                    };
                }
                if narrowest.is_none_or(|n| lead < n) {
                    narrowest = Some(lead);
                }
            }
            start = end + 1;
        }
        Style {
            eol,
            indent_unit: " ".repeat(narrowest.unwrap_or(2)),
        }
    }
}

/// Whether `text[start..end]` is all whitespace (both ends are on character
/// boundaries: after ASCII indentation, at a newline or the end).
fn is_blank(text: &str, start: usize, end: usize) -> bool {
    text.get(start..end)
        .is_none_or(|rest| rest.trim().is_empty())
}

fn instance_edits(work: &Work<'_>, text: &str, style: &Style, ctx: &FileContext) -> Vec<TextEdit> {
    let inside_deleted = |span: Span| {
        work.deleted
            .iter()
            .any(|d| d.start <= span.start && span.end <= d.end)
    };
    let mut edits: Vec<TextEdit> = work
        .body
        .iter()
        .filter(|e| !inside_deleted(e.span))
        .cloned()
        .collect();
    edits.extend(work.deleted.iter().map(|d| TextEdit::delete(*d)));
    let name = nix_attr(&work.new_name);
    let mut heads: Vec<(usize, String, &Contributor)> = Vec::new();
    for c in &work.contributors {
        if inside_deleted(Span::from(c.node.syntax().text_range())) {
            continue;
        }
        let inst = &c.segs[c.inst_idx];
        let (replace_from, replacement) = match (&c.services, &c.service) {
            (Holder::This(s), _) => (c.segs[*s].range.start(), format!("instances.{name}")),
            (_, Holder::This(v)) => (c.segs[*v].range.start(), name.clone()),
            (_, Holder::Ancestor(wrapper)) => {
                // Flattened wrapper: its path (minus the service) prefixes the instance.
                let prefix = wrapper_prefix(wrapper);
                (inst.range.start(), format!("{prefix}{name}"))
            }
            (_, Holder::Mount) => continue,
        };
        let span = Span::new(usize::from(replace_from), usize::from(inst.range.end()));
        let first = usize::from(c.segs[0].range.start());
        let head = format!("{}{replacement}", &text[first..span.start]);
        let replaced = work
            .replaced
            .iter()
            .any(|r| r.binding.syntax() == c.node.syntax());
        if !replaced {
            edits.push(TextEdit::replace(span, replacement));
        }
        heads.push((first, head, c));
    }
    for replacement in &work.replaced {
        let span = Span::from(replacement.binding.syntax().text_range());
        // A contributor's copies keep its (renamed) path in front.
        let prefix = heads
            .iter()
            .find(|(_, _, c)| c.node.syntax() == replacement.binding.syntax())
            .map(|(_, head, _)| format!("{head}."))
            .unwrap_or_default();
        let line_start = convert::line_start(text, span.start);
        let separator = if text[line_start..span.start].trim().is_empty() {
            format!("{}{}", style.eol, &text[line_start..span.start])
        } else {
            " ".to_owned()
        };
        let lines: Vec<String> = replacement
            .lines
            .iter()
            .map(|l| format!("{prefix}{l}"))
            .collect();
        edits.push(TextEdit::replace(span, lines.join(&separator)));
    }
    edits.extend(module_insertion(work, text, style, ctx, &heads));
    edits
}

/// The text a flattened wrapper's children get in front of their name: the
/// wrapper's path with `services` renamed and the service segment removed
/// (`inventory.services.borgbackup = {` gives `inventory.instances.`).
fn wrapper_prefix(wrapper: &ast::AttrpathValue) -> String {
    let segs = wrapper
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    if segs.len() < 2 {
        return String::new();
    }
    let text = wrapper.syntax().text().to_string();
    let base = usize::from(wrapper.syntax().text_range().start());
    let services = &segs[segs.len() - 2];
    let before = &text[..usize::from(services.range.start()) - base];
    format!("{before}instances.")
}

fn module_insertion(
    work: &Work<'_>,
    text: &str,
    style: &Style,
    ctx: &FileContext,
    heads: &[(usize, String, &Contributor)],
) -> Option<TextEdit> {
    let module_name = work.module.map_or(work.instance.service.as_str(), |m| {
        m.target_name(&work.instance.service)
    });
    let input = work
        .module
        .and_then(|m| m.input.as_ref())
        .or(ctx.module_input.as_ref());
    let module_value = match input {
        Some(input) => format!(
            "{{ name = {}; input = {}; }}",
            nix_string(module_name),
            nix_string(input)
        ),
        None => String::new(),
    };
    let mut bindings = vec![if module_value.is_empty() {
        format!("module.name = {};", nix_string(module_name))
    } else {
        format!("module = {module_value};")
    }];
    // Settings the new module needs that the legacy module implied.
    if let Some(module) = work.module {
        for role in module.roles.iter().filter(|r| work.roles.contains(*r)) {
            for (key, value) in &module.set {
                if let Some(value) = nix_literal(value) {
                    bindings.push(format!(
                        "roles.{}.settings.{} = {value};",
                        nix_attr(role),
                        nix_attr(key)
                    ));
                }
            }
        }
    }
    // Inside the first body `{ … }` that is the instance's own value.
    for (_, _, c) in heads {
        if c.inst_idx + 1 != c.segs.len() {
            continue;
        }
        let Some(ast::Expr::AttrSet(set)) =
            crate::syntax::nix::binding_value(&c.node).map(strip_parens)
        else {
            continue;
        };
        let Some(open) =
            crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_L_BRACE)
        else {
            continue;
        };
        let after = usize::from(open.end());
        let rest_of_line = text[after..].split('\n').next().unwrap_or("");
        if rest_of_line.trim().is_empty() && text[after..].contains('\n') {
            // `{` ends its line: insert a line with the first entry's indentation.
            let line_end = after + rest_of_line.len() + 1;
            let indent = set
                .entries()
                .next()
                .map(|e| line_indent(text, usize::from(e.syntax().text_range().start())))
                .unwrap_or_else(|| {
                    format!(
                        "{}{}",
                        line_indent(text, usize::from(c.node.syntax().text_range().start())),
                        style.indent_unit
                    )
                });
            let lines: String = bindings
                .iter()
                .map(|b| format!("{indent}{b}{}", style.eol))
                .collect();
            return Some(TextEdit::insert(line_end, lines));
        }
        let inline: String = bindings.iter().map(|b| format!(" {b}")).collect();
        return Some(TextEdit::insert(after, inline));
    }
    // Otherwise a new binding before the first contributor.
    let (start, head, _) = heads.iter().min_by_key(|(s, _, _)| *s)?;
    let indent = line_indent(text, *start);
    let line_start = convert::line_start(text, *start);
    if text[line_start..*start].trim().is_empty() {
        let lines: String = bindings
            .iter()
            .map(|b| format!("{indent}{head}.{b}{}", style.eol))
            .collect();
        Some(TextEdit::insert(line_start, lines))
    } else {
        let inline: String = bindings.iter().map(|b| format!("{head}.{b} ")).collect();
        Some(TextEdit::insert(*start, inline))
    }
}

/// A TOML scalar from the module table as a Nix literal.
fn nix_literal(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(nix_string(s)),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The 1-based line of `offset` (the last line for an offset past the end).
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

fn line_indent(text: &str, offset: usize) -> String {
    text[line_start(text, offset)..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn instances_whose_edits_would_overlap_are_left_and_the_rest_is_migrated() {
        let text = "{\n  inventory.services.sshd.a = {\n    roles.server.machines = [ \"m\" ];\n  };\n  inventory.services.borgbackup.b = {\n    roles.client.machines = [ \"m\" ];\n  };\n}\n";
        let source = SourceFile::from_text(
            PathBuf::from("flake.nix"),
            text.to_owned(),
            crate::text::source::FileKind::Nix,
        );
        let root = rnix::Root::parse(text).syntax();
        let mut facts = crate::inventory::facts::nix::detect(&root, text, &[]);
        let ctx = FileContext::default();
        let planned = plan(&source, &root, &facts, &ctx);
        assert_eq!(planned.migrated(), 2);
        assert!(super::super::edit::apply(text, &planned.edits).is_ok());

        // A third instance made of the same binding as the first, under another
        // name, as a planner bug would see it: the two rename the same key.
        let mut twin = facts.instances[0].clone();
        twin.instance = "twin".to_owned();
        facts.instances.push(twin);
        let planned = plan(&source, &root, &facts, &ctx);
        let outcomes: Vec<(&str, &Outcome)> = planned
            .instances
            .iter()
            .map(|i| (i.instance.as_str(), &i.outcome))
            .collect();
        assert!(
            matches!(outcomes[1], ("b", Outcome::Migrated)),
            "{outcomes:?}"
        );
        for (name, outcome) in [outcomes[0], outcomes[2]] {
            let Outcome::Left(reason, _) = outcome else {
                panic!("{name} migrated: {outcomes:?}");
            };
            assert_eq!(reason.kind, ReasonKind::Overlap);
            assert_eq!(
                reason.message,
                "the rewrite of `sshd.a` and the rewrite of `sshd.twin` would change the same text, at line 2; this is a bug in clan-migrate, please report it"
            );
        }
        let after = super::super::edit::apply(text, &planned.edits).expect("no overlap left");
        assert!(after.contains("inventory.services.sshd.a = {"), "{after}");
        assert!(
            after.contains("inventory.instances.borgbackup-b = {"),
            "{after}"
        );

        // Two edits of one instance; then nothing is left to leave, which
        // ends the planner's loop (the overlap is then reported when applied).
        let mut works: Vec<Work<'_>> = facts.instances[..1]
            .iter()
            .map(|instance| analyse_instance(instance, &root, text, &ctx, None))
            .collect();
        let own = (Owner::Instance(0), Owner::Instance(0), Span::new(40, 41));
        assert!(block_overlapping(&mut works, &[], own, text));
        assert_eq!(
            works[0].blockers[0].message,
            "two edits of the rewrite of `sshd.a` would change the same text, at line 3; this is a bug in clan-migrate, please report it"
        );
        assert!(!block_overlapping(&mut works, &[], own, text));
        let empties = (
            Owner::EmptyDefinition,
            Owner::EmptyDefinition,
            Span::new(0, 1),
        );
        assert!(!block_overlapping(&mut [], &[], empties, text));
    }

    /// The plan of `text` as a `flake.nix` of its own.
    fn planned(text: &str) -> Plan {
        let source = SourceFile::from_text(
            PathBuf::from("flake.nix"),
            text.to_owned(),
            crate::text::source::FileKind::Nix,
        );
        let root = rnix::Root::parse(text).syntax();
        let facts = crate::inventory::facts::nix::detect(&root, text, &[]);
        plan(&source, &root, &facts, &FileContext::default())
    }

    /// The outcome of the one instance of `text`: `None` when migrated, the
    /// first reason's kind otherwise.
    fn outcome_of(text: &str) -> Option<ReasonKind> {
        let planned = planned(text);
        assert_eq!(planned.instances.len(), 1, "{text}");
        match &planned.instances[0].outcome {
            Outcome::Migrated => None,
            Outcome::Left(reason, _) => Some(reason.kind),
        }
    }

    #[test]
    fn machine_config_with_uncertain_memberships_moves_only_when_they_cannot_matter() {
        // The clan's machines are not in the file: tag memberships are unknown.
        let zerotier = |roles: &str, config: &str| {
            format!(
                "{{\n  inventory.services.zerotier.z = {{\n{roles}    machines.relay.config = {config};\n  }};\n}}\n"
            )
        };
        let moon_and_peer_tag =
            "    roles.moon.machines = [ \"relay\" ];\n    roles.peer.tags = [ \"all\" ];\n";
        // `moon` is declared by the moon role only: relay's peer membership does not matter.
        let moved = zerotier(moon_and_peer_tag, "{ moon.stableEndpoints = [ \"a\" ]; }");
        assert_eq!(outcome_of(&moved), None);
        // `excludeHosts` is declared by the peer role too.
        let both = zerotier(moon_and_peer_tag, "{ excludeHosts = [ \"b\" ]; }");
        assert_eq!(outcome_of(&both), Some(ReasonKind::MachineConfig));
        // One key of two is declared by the uncertain role.
        let mixed = zerotier(
            moon_and_peer_tag,
            "{ moon.stableEndpoints = [ \"a\" ]; excludeHosts = [ \"b\" ]; }",
        );
        assert_eq!(outcome_of(&mixed), Some(ReasonKind::MachineConfig));
        // A key the module table does not know.
        let unknown = zerotier(moon_and_peer_tag, "{ somethingElse = 1; }");
        assert_eq!(outcome_of(&unknown), Some(ReasonKind::MachineConfig));
        // A config that is not an attribute set literal: its keys are not known.
        let opaque = zerotier(moon_and_peer_tag, "relayConfig");
        assert_eq!(outcome_of(&opaque), Some(ReasonKind::MachineConfig));
        // Certainly in no role, perhaps in one: not decided either.
        let only_tags = zerotier(
            "    roles.moon.tags = [ \"relays\" ];\n",
            "{ moon.stableEndpoints = [ \"a\" ]; }",
        );
        assert_eq!(outcome_of(&only_tags), Some(ReasonKind::MachineConfig));
        // A computed machine list is an uncertain membership like a tag.
        let computed = zerotier(
            "    roles.moon.machines = [ \"relay\" ];\n    roles.peer.machines = peers;\n",
            "{ moon.stableEndpoints = [ \"a\" ]; }",
        );
        assert_eq!(outcome_of(&computed), None);
        let computed_both = zerotier(
            "    roles.moon.machines = [ \"relay\" ];\n    roles.peer.machines = peers;\n",
            "{ excludeHosts = [ \"b\" ]; }",
        );
        assert_eq!(outcome_of(&computed_both), Some(ReasonKind::MachineConfig));
    }

    /// The text `fix` makes of `text`.
    fn fixed(text: &str) -> String {
        super::super::edit::apply(text, &planned(text).edits).expect("no overlap")
    }

    #[test]
    fn instances_move_out_of_a_services_set_that_keeps_others() {
        // A nested `services` set, CRLF, a comment after the set's `};`.
        let crlf = "{\r\n  inventory = {\r\n    services = {\r\n      custom.x.roles.default.machines = [ \"a\" ];\r\n      sshd.y = {\r\n        roles.server.machines = [ \"a\" ];\r\n      };\r\n    }; # end\r\n  };\r\n}\r\n";
        assert_eq!(
            fixed(crlf),
            "{\r\n  inventory = {\r\n    services = {\r\n      custom.x.roles.default.machines = [ \"a\" ];\r\n    }; # end\r\n    instances = {\r\n      sshd-y = {\r\n        module.name = \"sshd\";\r\n        roles.server.machines = { a = { }; };\r\n      };\r\n    };\r\n  };\r\n}\r\n"
        );
        // Tabs; a comment above a binding goes along with it; an `instances`
        // definition next to the set stays as it is.
        let tabs = "{\n\tinventory.services = {\n\t\tsshd.y.roles.server.machines = [ \"a\" ];\n\t\tcustom.x.roles.default.machines = [ \"a\" ];\n\t\t# about z\n\t\tzerotier.z.roles.controller.machines = [ \"a\" ];\n\t};\n\tinventory.instances.existing = { module.name = \"admin\"; };\n}\n";
        assert_eq!(
            fixed(tabs),
            "{\n\tinventory.services = {\n\t\tcustom.x.roles.default.machines = [ \"a\" ];\n\t};\n\tinventory.instances = {\n\t\tsshd-y.module.name = \"sshd\";\n\t\tsshd-y.roles.server.machines = { a = { }; };\n\t\t# about z\n\t\tzerotier-z.module.name = \"zerotier\";\n\t\tzerotier-z.roles.controller.machines = { a = { }; };\n\t};\n\tinventory.instances.existing = { module.name = \"admin\"; };\n}\n"
        );
        // The `instances` set right after the `services` set (as an earlier
        // run writes it) takes the instances; one further away does not.
        let next_to = "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n    sshd.y.roles.server.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    admin-z.module.name = \"admin\";\n  };\n}\n";
        assert_eq!(
            fixed(next_to),
            "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    admin-z.module.name = \"admin\";\n    sshd-y.module.name = \"sshd\";\n    sshd-y.roles.server.machines = { a = { }; };\n  };\n}\n"
        );
        let apart = next_to.replace(
            "  };\n  inventory.instances",
            "  };\n  # ours\n  inventory.instances",
        );
        assert_eq!(
            fixed(&apart),
            "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    sshd-y.module.name = \"sshd\";\n    sshd-y.roles.server.machines = { a = { }; };\n  };\n  # ours\n  inventory.instances = {\n    admin-z.module.name = \"admin\";\n  };\n}\n"
        );
        // A wrapper whose instances all migrate moves whole, flattened.
        let wrapper = "{\n  inventory.services = {\n    # ours\n    custom.x.roles.default.machines = [ \"a\" ];\n    # both\n    sshd = {\n      y.roles.server.machines = [ \"a\" ];\n      z.roles.client.machines = [ \"a\" ];\n    };\n  };\n}\n";
        assert_eq!(
            fixed(wrapper),
            "{\n  inventory.services = {\n    # ours\n    custom.x.roles.default.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    # both\n      sshd-y.module.name = \"sshd\";\n      sshd-y.roles.server.machines = { a = { }; };\n      sshd-z.module.name = \"sshd\";\n      sshd-z.roles.client.machines = { a = { }; };\n  };\n}\n"
        );
        // Blank lines: one kept between lines that stay, none next to `{` or `}`.
        let blanks = "{\n  inventory.services = {\n\n    sshd.a.roles.server.machines = [ \"m\" ];\n\n    custom.b.roles.default.machines = [ \"m\" ];\n\n    sshd.c.roles.server.machines = [ \"m\" ];\n\n    custom.d.roles.default.machines = [ \"m\" ];\n\n    sshd.e.roles.server.machines = [ \"m\" ];\n\n  };\n}\n";
        assert_eq!(
            fixed(blanks),
            "{\n  inventory.services = {\n    custom.b.roles.default.machines = [ \"m\" ];\n\n    custom.d.roles.default.machines = [ \"m\" ];\n  };\n  inventory.instances = {\n    sshd-a.module.name = \"sshd\";\n    sshd-a.roles.server.machines = { m = { }; };\n    sshd-c.module.name = \"sshd\";\n    sshd-c.roles.server.machines = { m = { }; };\n    sshd-e.module.name = \"sshd\";\n    sshd-e.roles.server.machines = { m = { }; };\n  };\n}\n"
        );
    }

    #[test]
    fn instances_that_cannot_move_stay_and_say_why() {
        // A binding that shares its line with another instance's cannot move.
        let shared_line = "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ]; sshd.y.roles.server.machines = [ \"a\" ];\n  };\n}\n";
        assert_eq!(fixed(shared_line), shared_line);
        // Nor one inside a `<service> = { … }` wrapper with an instance that
        // is left: the wrapper moves whole or not at all.
        let wrapper = "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n    sshd = {\n      y.roles.server.machines = [ \"a\" ];\n      z.roles.nobody.machines = [ \"a\" ];\n    };\n  };\n}\n";
        assert_eq!(fixed(wrapper), wrapper);
        let planned = planned(shared_line);
        let sshd = planned.instances.iter().find(|i| i.service == "sshd");
        let Some(Outcome::Left(reason, _)) = sshd.map(|i| &i.outcome) else {
            panic!("{:?}", planned.instances);
        };
        assert_eq!(reason.kind, ReasonKind::SharedDefinition);
        assert!(
            reason
                .message
                .starts_with("shares the attribute set at line 2 with `custom.x`"),
            "{}",
            reason.message
        );
    }

    /// `Style::of` as it read lines before it read bytes.
    fn reference_style(text: &str) -> (&'static str, String) {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut narrowest: Option<usize> = None;
        for line in text.lines() {
            let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
            if lead == 0 || line.trim().is_empty() {
                continue;
            }
            if line.starts_with('\t') {
                return (eol, "\t".to_owned());
            }
            if narrowest.is_none_or(|n| lead < n) {
                narrowest = Some(lead);
            }
        }
        (eol, " ".repeat(narrowest.unwrap_or(2)))
    }

    #[test]
    fn style_reads_bytes_as_the_reference_reads_lines() {
        let pieces = [
            "",
            "\n",
            "\r\n",
            "\r",
            " ",
            "  ",
            "\t",
            " \t",
            "a",
            "{",
            "\u{a0}",
            "\u{3000}x",
            "\u{b}",
            "\u{c}",
            "é",
            "# c",
            "\u{85}",
        ];
        // Every line of up to three pieces, in files of up to three such lines.
        let mut lines = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = lines
                .iter()
                .flat_map(|l| pieces.iter().map(move |p| format!("{l}{p}")))
                .collect();
            lines.extend(longer);
            lines.sort();
            lines.dedup();
        }
        let mut checked = 0;
        for a in lines.iter().step_by(31) {
            for b in lines.iter().step_by(37) {
                for text in [
                    format!("{a}\n{b}"),
                    format!("{b}\n{a}\n"),
                    format!("{a}\r\n{b}\n{a}"),
                ] {
                    let s = Style::of(&text);
                    assert_eq!((s.eol, s.indent_unit), reference_style(&text), "{text:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn style_is_the_files_line_ending_and_narrowest_indentation() {
        let style = |text: &str| {
            let s = Style::of(text);
            (s.eol, s.indent_unit)
        };
        assert_eq!(
            style("{\n    a = {\n        b = 1;\n    };\n}\n"),
            ("\n", "    ".into())
        );
        assert_eq!(
            style("{\r\n   a = 1;\r\n \r\n}\r\n"),
            ("\r\n", "   ".into())
        );
        assert_eq!(
            style("{\n    a = 1;\n\tb = 1;\n  c = 1;\n}"),
            ("\n", "\t".into())
        );
        assert_eq!(style("{\n  \t a = 1;\n}"), ("\n", "    ".into()));
        assert_eq!(style("{ a = 1; }"), ("\n", "  ".into()));
    }

    #[test]
    fn key_patterns() {
        assert!(pattern_matches(
            "networks.*.AutoConnect",
            &["networks".into(), "home".into(), "AutoConnect".into()]
        ));
        assert!(!pattern_matches(
            "networks.*.AutoConnect",
            &["networks".into()]
        ));
        assert!(pattern_matches(
            "moon.stableEndpoints",
            &["moon".into(), "stableEndpoints".into()]
        ));
    }
}
