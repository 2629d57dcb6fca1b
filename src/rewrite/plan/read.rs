//! Reads one legacy instance from its bindings: its roles and their members,
//! its `config` definitions, and the edits that do not depend on other
//! instances (machine lists as attribute sets, string extraModules as paths,
//! dropped metadata). What cannot be read faithfully blocks the instance.

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use super::settings::PartReading;
use super::style::whole_lines;
use super::{FileContext, ReasonKind, Work};
use crate::inventory::LegacyInstance;
use crate::inventory::mapping::Scope;
use crate::inventory::membership::{Listed, RoleMembers};
use crate::inventory::modules::Status;
use crate::rewrite::convert;
use crate::syntax::nix::{Key, KeySeg, attrpath_keys, str_literal, strip_parens};
use crate::syntax::quote::{nix_attr, nix_string};
use crate::text::Span;
use crate::text::edit::TextEdit;

/// Where a contributor's `services` and service segments are.
#[derive(Debug, Clone)]
pub(super) enum Holder {
    /// In the contributor's own attribute path, at this index.
    This(usize),
    /// In an enclosing binding (the last segments of its path).
    Ancestor(ast::AttrpathValue),
    /// In the file that imports this one.
    Mount,
}

/// One binding that defines (part of) an instance.
#[derive(Debug, Clone)]
pub(super) struct Contributor {
    pub node: ast::AttrpathValue,
    pub segs: Vec<KeySeg>,
    /// Index in `segs` of the instance name.
    pub inst_idx: usize,
    pub services: Holder,
    pub service: Holder,
    pub anchor: Option<SyntaxNode>,
}

/// A role of the instance, as its bindings define it.
#[derive(Debug, Clone)]
pub(super) struct RoleReading {
    pub name: String,
    pub members: RoleMembers,
    /// `roles.<r>.machines` is written as an expression the rewrite keeps
    /// (per-machine settings cannot be added to it).
    pub machines_computed: bool,
    /// Where the binding of `roles.<r>.machines` starts, when there is one.
    pub machines_at: Option<usize>,
    /// `roles.<r>.extraModules` and `roles.<r>.imports` (2024's name).
    pub extra_modules: Vec<ast::AttrpathValue>,
}

impl RoleReading {
    fn new(name: &str) -> Self {
        RoleReading {
            name: name.to_owned(),
            members: RoleMembers::default(),
            machines_computed: false,
            machines_at: None,
            extra_modules: Vec::new(),
        }
    }
}

/// Reads `instance` from the syntax tree `root` of `text`.
pub(super) fn read_instance<'a>(
    instance: &'a LegacyInstance,
    root: &SyntaxNode,
    text: &str,
    ctx: &'a FileContext,
) -> Work<'a> {
    let mut work = Work::new(instance, ctx.modules.lookup(&instance.service));
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
    // Reading visits the contributors' nodes but never the list itself.
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
    merge_imports_into_extra_modules(&mut work, text);
    check_roles(&mut work);
    let all_deleted = work.contributors.iter().all(|c| {
        let span = Span::from(c.node.syntax().text_range());
        work.is_deleted(span)
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
        // Reported once the roles are known (`check_roles`), with the
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
                work.note(text);
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

/// The module must be known, and every role one it defines.
fn check_roles(work: &mut Work<'_>) {
    let service = work.instance.service.clone();
    match work.module {
        None => {
            let roles: Vec<String> = work.roles.iter().map(|r| nix_string(&r.name)).collect();
            work.block(
                ReasonKind::Module,
                format!(
                    "`{service}` is not a module clan-migrate knows: a custom module must first be rewritten as a clan.service (for a legacy clanModule directory, `clan-migrate port-module DIR --write` writes a wrapper, registers it and describes it in clan-migrate.toml); or describe your own port in clan-migrate.toml, e.g. `modules.{} = {{ status = \"migrated\", roles = [{}], input = \"self\" }}` (add `keys` when instances have `config`)",
                    nix_attr(&service),
                    roles.join(", ")
                ),
                None,
            );
        }
        Some(module) if matches!(module.status, Status::Migrated | Status::Renamed) => {
            let unknown: Vec<String> = work
                .roles
                .iter()
                .filter(|r| !module.roles.contains(&r.name))
                .map(|r| r.name.clone())
                .collect();
            if module.roles.is_empty() {
                work.block(
                    ReasonKind::Module,
                    format!(
                        "the module table lists no roles for `{service}`: add `roles = [ … ]` to its entry in clan-migrate.toml"
                    ),
                    None,
                );
                return;
            }
            for role in unknown {
                work.block(
                    ReasonKind::Module,
                    format!(
                        "role `{role}` does not exist in the `{}` clan.service (roles: {})",
                        module.target_name(&service),
                        module.roles.join(", ")
                    ),
                    None,
                );
            }
        }
        Some(_) => {}
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

fn role_mut<'w>(work: &'w mut Work<'_>, name: &str) -> &'w mut RoleReading {
    let at = match work.roles.iter().position(|r| r.name == name) {
        Some(at) => at,
        None => {
            work.roles.push(RoleReading::new(name));
            work.roles.len() - 1
        }
    };
    &mut work.roles[at]
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
    if rel.len() > crate::inventory::normal_form::MAX_DEPTH {
        work.block(
            ReasonKind::Form,
            format!(
                "an attribute path of more than {} keys inside the instance",
                crate::inventory::normal_form::MAX_DEPTH
            ),
            Some(binding_span),
        );
        return;
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
    let part = |scope: Scope, path_span: Option<Span>, after_from: usize| PartReading {
        scope,
        binding: binding.clone(),
        path_span,
        after: segs[after_from.min(segs.len())..].to_vec(),
        parent: prefix.iter().map(|s| (*s).to_owned()).collect(),
        value: value.clone(),
    };

    match rel.first().copied() {
        Some("roles") => {
            let Some(role) = rel.get(1).map(|r| (*r).to_owned()) else {
                return recurse(work, &rel);
            };
            role_mut(work, &role);
            match rel.get(2).copied() {
                None => recurse(work, &rel),
                Some("machines") if rel.len() == 3 => {
                    let listed = value.as_ref().map_or(Listed::Computed, |v| {
                        machine_list_edits(work, v, text, &role, "machines")
                    });
                    let reading = role_mut(work, &role);
                    reading.machines_computed = listed == Listed::Computed;
                    reading.machines_at = Some(binding_span.start);
                    reading.members.machines = listed;
                }
                Some("tags") if rel.len() == 3 => {
                    let tags = value
                        .as_ref()
                        .and_then(literal_names)
                        .map_or(Listed::Computed, Listed::Names);
                    role_mut(work, &role).members.tags = tags;
                    if ctx.tags_as_attrs
                        && let Some(v) = &value
                    {
                        machine_list_edits(work, v, text, &role, "tags");
                    }
                }
                Some("config") => {
                    // The `config` value is never walked into, so the binding
                    // that spells `config` is this one.
                    if own(2).is_some() {
                        let at = own(2).map_or(segs.len(), |i| i + 1);
                        work.parts
                            .push(part(Scope::Role(role.clone()), seg_span(2), at));
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
                    role_mut(work, &role).extra_modules.push(binding.clone());
                }
                Some(other) => work.block(
                    ReasonKind::Form,
                    format!(
                        "`roles.{}.{other}` has no counterpart in the new format",
                        nix_attr(&role)
                    ),
                    Some(binding_span),
                ),
            }
        }
        Some("config") => {
            let at = own(0).map_or(segs.len(), |i| i + 1);
            work.parts.push(part(Scope::Instance, seg_span(0), at));
        }
        Some("machines") => {
            let Some(machine) = rel.get(1).map(|m| (*m).to_owned()) else {
                return recurse(work, &rel);
            };
            match rel.get(2).copied() {
                Some("config") => {
                    // Renamed in place when this binding spells `machines.<m>.config`.
                    let path_span = match (own(0), own(2)) {
                        (Some(first), Some(last)) => Some(Span::new(
                            usize::from(segs[first].range.start()),
                            usize::from(segs[last].range.end()),
                        )),
                        _ => None,
                    };
                    let at = own(2).map_or(segs.len(), |i| i + 1);
                    work.parts.push(part(Scope::Machine(machine), path_span, at));
                }
                None => recurse(work, &rel),
                Some("extraModules" | "imports") if is_empty_list(value.as_ref()) => {
                    work.deleted.push(whole_lines(text, binding_span));
                    work.note("an empty per-machine `extraModules` has no counterpart and is dropped");
                }
                Some("extraModules" | "imports") => work.block(ReasonKind::ExtraModules,
                    format!("per-machine extraModules (machine `{machine}`) have no counterpart in the new format"),
                    Some(binding_span),
                ),
                Some(other) => work.block(
                    ReasonKind::Form,
                    format!("`machines.{machine}.{other}` is not a legacy instance attribute"),
                    Some(binding_span),
                ),
            }
        }
        Some("meta") => {
            if own(0).is_some() {
                work.deleted.push(whole_lines(text, binding_span));
                work.note("`meta` was UI metadata only and is dropped");
            } else {
                recurse(work, &rel);
            }
        }
        Some("enabled") => {
            let literal = value
                .as_ref()
                .map(|v| strip_parens(v.clone()).syntax().text().to_string());
            if literal.as_deref() == Some("true") && own(0).is_some() {
                work.deleted.push(whole_lines(text, binding_span));
                work.note("`enabled = true` is the default and is dropped");
            } else {
                work.block(ReasonKind::Disabled,
                    "`enabled` is not `true`: a disabled instance has no equivalent; delete it or comment it out by hand",
                    Some(binding_span),
                );
            }
        }
        Some("extraModules" | "imports") if own(0).is_some() && is_empty_list(value.as_ref()) => {
            work.deleted.push(whole_lines(text, binding_span));
            work.note("an empty instance-level `extraModules` has no counterpart and is dropped");
        }
        Some(key @ ("extraModules" | "imports")) => work.block(ReasonKind::ExtraModules,
            format!("instance-level `{key}` has no counterpart in the new format (only `roles.<role>.extraModules`)"),
            Some(binding_span),
        ),
        Some(other) => work.block(
            ReasonKind::Form,
            format!("`{other}` is not a legacy instance attribute"),
            Some(binding_span),
        ),
        None => recurse(work, &rel),
    }
}

fn is_empty_list(value: Option<&ast::Expr>) -> bool {
    matches!(value.cloned().map(strip_parens), Some(ast::Expr::List(list)) if list.items().next().is_none())
}

/// The names of a list of string literals (through a `let` binding).
fn literal_names(value: &ast::Expr) -> Option<Vec<String>> {
    let ast::Expr::List(list) = crate::syntax::nix::resolve_let(value)? else {
        return None;
    };
    list.items()
        .map(|i| match strip_parens(i) {
            ast::Expr::Str(s) => str_literal(&s),
            _ => None,
        })
        .collect()
}

/// Turns a list of names into an attribute set of empty sets (see
/// [`convert::list_to_attrs`]). The members it lists, when they are known (the
/// list's string literals, or those of the list a `let` binds its name to).
fn machine_list_edits(
    work: &mut Work<'_>,
    value: &ast::Expr,
    text: &str,
    role: &str,
    what: &str,
) -> Listed {
    match convert::list_to_attrs(value, text) {
        Some(conversion) => {
            work.body.extend(conversion.edits);
            match conversion.names {
                Some(names) => Listed::Names(names),
                None => literal_names(value).map_or(Listed::Computed, Listed::Names),
            }
        }
        None => {
            work.block(
                ReasonKind::Form,
                format!("`roles.{role}.{what}` is not a complete list"),
                None,
            );
            Listed::Computed
        }
    }
}

/// String extraModules (relative to the clan directory) become path literals
/// relative to the file; other items are kept. When they cannot be (the list
/// is computed, a string is interpolated, the clan directory is not known),
/// the value is kept as written: role `extraModules` strings resolve against
/// the clan directory in the new format as in the legacy one, so it means the
/// same (clan warns that such strings are deprecated).
fn extra_modules_edits(work: &mut Work<'_>, role: &str, value: &ast::Expr, ctx: &FileContext) {
    match convert::string_modules_to_paths(value, ctx) {
        Ok(edits) => work.body.extend(edits),
        Err(reason) => work.note(&format!(
            "`roles.{}.extraModules` is kept as written ({reason}): its strings resolve against the clan directory as before, with clan's warning that string `extraModules` are deprecated",
            nix_attr(role)
        )),
    }
}

/// A role with both `extraModules` and `imports` (2024's name): the second
/// list joins the first, so that the new format gets one definition.
fn merge_imports_into_extra_modules(work: &mut Work<'_>, text: &str) {
    let mut merges = Vec::new();
    for role in &work.roles {
        let [first, second] = role.extra_modules.as_slice() else {
            if role.extra_modules.len() > 2 {
                merges.push(Err(role.name.clone()));
            }
            continue;
        };
        let list =
            |b: &ast::AttrpathValue| match crate::syntax::nix::binding_value(b).map(strip_parens) {
                Some(ast::Expr::List(list)) => Some(list),
                _ => None,
            };
        let (Some(into), Some(from)) = (list(first), list(second)) else {
            merges.push(Err(role.name.clone()));
            continue;
        };
        let Some(close) =
            crate::syntax::nix::child_token_range(into.syntax(), SyntaxKind::TOKEN_R_BRACK)
        else {
            merges.push(Err(role.name.clone()));
            continue;
        };
        let items: Vec<String> = from
            .items()
            .map(|i| i.syntax().text().to_string())
            .collect();
        let close = usize::from(close.start());
        let before_close = &text[..close];
        let joint = if before_close.ends_with([' ', '\n', '\t']) {
            ""
        } else {
            " "
        };
        let insertion = format!("{joint}{} ", items.join(" "));
        merges.push(Ok((
            TextEdit::insert(close, insertion),
            whole_lines(text, Span::from(second.syntax().text_range())),
        )));
    }
    for merge in merges {
        match merge {
            Ok((insertion, deletion)) => {
                work.body.push(insertion);
                work.deleted.push(deletion);
            }
            Err(role) => work.block(
                ReasonKind::ExtraModules,
                format!(
                    "`roles.{}` has both `extraModules` and `imports` (its 2024 name), not both as list literals; join them into one `extraModules` list by hand",
                    nix_attr(&role)
                ),
                None,
            ),
        }
    }
}
