//! Plans the migration of one Nix file: for every legacy instance, either the
//! text edits that turn it into `inventory.instances."<service>-<instance>"`,
//! or the reason it is left exactly as it is.
//!
//! Edits are minimal: path segments are renamed in place (`services.x.y`
//! becomes `instances.x-y`, `config` becomes `settings`), `<service> = { … };`
//! wrappers are flattened by deleting their header and footer lines, machine
//! lists become attribute sets item by item, and one `module.name` line is
//! inserted. Everything else, comments included, keeps its bytes.
//!
//! The jobs, one file each: [`read`] walks an instance's bindings into what it
//! defines; [`settings`] sends each legacy `config` where the mapping
//! ([`crate::inventory::mapping`]) says and writes the settings; [`containers`]
//! rewrites the sets around instances (`services = { … }`, service wrappers)
//! and moves migrated instances out of a set that keeps others; [`emit`] makes
//! the edits of one migrated instance.

mod containers;
mod emit;
mod read;
mod settings;
pub(crate) mod style;

use rnix::SyntaxNode;
use serde::{Deserialize, Serialize};

pub use crate::inventory::context::FileContext;
use crate::inventory::mapping;
use crate::inventory::membership::Listed;
use crate::inventory::modules::ModuleInfo;
use crate::inventory::naming::default_instance_name;
use crate::inventory::{LegacyFacts, LegacyInstance};
use crate::text::edit::TextEdit;
use crate::text::{SourceFile, Span};

use containers::{Owner, block_overlapping, block_shared_containers, containers, move_out};
use read::{Contributor, RoleReading};
use settings::PartReading;
use style::{Style, whole_lines};

/// Why an instance is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: ReasonKind,
    pub message: String,
    /// Where the problem is, when it is not the instance itself.
    pub span: Option<Span>,
}

impl Reason {
    pub fn new(kind: ReasonKind, message: impl Into<String>, span: Option<Span>) -> Self {
        Reason {
            kind,
            message: message.into(),
            span,
        }
    }
}

/// The class of a reason, for summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ReasonKind {
    /// The module has no certain clan.service counterpart (option, removed, redesigned, custom, role).
    Module,
    /// Instance-level `config` whose target role is not certain.
    InstanceConfig,
    /// Per-machine `config` of a machine in no role.
    MachineConfig,
    /// Settings that reach machines whose roles are not known statically.
    Membership,
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
    /// Its rewrite did not pass verification: a bug in clan-migrate.
    Verification,
    /// Its edits would overlap other edits: a bug in the planner.
    Overlap,
    /// CM001 is not among the rules selected.
    NotSelected,
    /// `config` of a role that certainly has no members.
    EmptyRole,
    /// Settings that would come before the set Nix would have to merge them into.
    DefinitionOrder,
    /// A role listing, after another tag, a tag that may have no machine.
    EmptyTag,
}

impl ReasonKind {
    /// What `n` instances left for this reason are, as the summary counts them.
    pub fn describe(self, n: usize) -> &'static str {
        let (one, many) = match self {
            ReasonKind::Module => (
                "module without a certain counterpart",
                "modules without a certain counterpart",
            ),
            ReasonKind::InstanceConfig => (
                "config whose keys' roles are not known",
                "configs whose keys' roles are not known",
            ),
            ReasonKind::MachineConfig => (
                "per-machine config of a machine in no role",
                "per-machine configs of machines in no role",
            ),
            ReasonKind::EmptyRole => (
                "config of a role without members",
                "configs of roles without members",
            ),
            ReasonKind::EmptyTag => (
                "role listing a tag no machine may carry",
                "roles listing a tag no machine may carry",
            ),
            ReasonKind::DefinitionOrder => (
                "config above the machine list it would join",
                "configs above the machine lists they would join",
            ),
            ReasonKind::Membership => (
                "config whose machines' roles are not known",
                "configs whose machines' roles are not known",
            ),
            ReasonKind::Settings => ("renamed or dropped settings", "renamed or dropped settings"),
            ReasonKind::ExtraModules => (
                "extraModules without a target",
                "extraModules without a target",
            ),
            ReasonKind::Disabled => ("disabled or empty instance", "disabled or empty instances"),
            ReasonKind::NameCollision => ("name collision", "name collisions"),
            ReasonKind::SharedDefinition => (
                "shares a set with an instance that is left",
                "share a set with an instance that is left",
            ),
            ReasonKind::Form => ("form that needs evaluation", "forms that need evaluation"),
            ReasonKind::Config => ("invalid clan-migrate.toml", "invalid clan-migrate.toml"),
            ReasonKind::Verification => (
                "rewrite that failed verification (a bug)",
                "rewrites that failed verification (a bug)",
            ),
            ReasonKind::Overlap => (
                "edits that would overlap (a bug)",
                "edits that would overlap (a bug)",
            ),
            ReasonKind::NotSelected => (
                "not selected (--select, --ignore)",
                "not selected (--select, --ignore)",
            ),
        };
        if n == 1 { one } else { many }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Migrated,
    /// Left as it is; the first reason, then any others.
    Left(Reason, Vec<Reason>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancePlan {
    pub service: String,
    pub instance: String,
    /// The clan of its own in the file that defines it (see
    /// [`crate::inventory::OwnClan`]).
    pub clan: Option<usize>,
    pub new_name: String,
    /// The clan.service module, when known.
    pub module: Option<String>,
    pub outcome: Outcome,
    /// Informational notes (dropped `meta`, dropped `enabled = true`).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

/// Per-instance planning state.
struct Work<'a> {
    instance: &'a LegacyInstance,
    new_name: String,
    module: Option<&'a ModuleInfo>,
    contributors: Vec<Contributor>,
    /// Edits inside the instance (not the instance key itself).
    body: Vec<TextEdit>,
    roles: Vec<RoleReading>,
    /// Legacy `config` definitions.
    parts: Vec<PartReading>,
    /// Bindings replaced by the copies of their settings.
    replaced: Vec<settings::Replacement>,
    /// Settings bindings (and the comments above them) written after the
    /// instance's last binding, relative to the instance, one per line.
    tail: Vec<String>,
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

    fn note(&mut self, text: &str) {
        if !self.notes.iter().any(|n| n == text) {
            self.notes.push(text.to_owned());
        }
    }

    /// Whether `span` lies inside a deleted range.
    fn is_deleted(&self, span: Span) -> bool {
        self.deleted.iter().any(|d| d.contains(span))
    }
}

/// Plans the migration of `facts`' instances in `source`.
pub fn plan(
    source: &SourceFile,
    root: &SyntaxNode,
    facts: &LegacyFacts,
    ctx: &FileContext,
) -> Plan {
    plan_leaving(source, root, facts, ctx, &[])
}

/// A legacy instance by what names it in its file: the clan of its own it is
/// in (if any), its service and its instance name.
pub type InstanceKey = (Option<usize>, String, String);

impl InstancePlan {
    pub fn key(&self) -> InstanceKey {
        (self.clan, self.service.clone(), self.instance.clone())
    }
}

/// [`plan`], leaving the instances of `leave`
/// as they are, each with its reason.
pub fn plan_leaving(
    source: &SourceFile,
    root: &SyntaxNode,
    facts: &LegacyFacts,
    ctx: &FileContext,
    leave: &[(InstanceKey, Reason)],
) -> Plan {
    let text = &source.text;
    // Read from the text only when an instance gets edits.
    let mut style = None;
    let machine_facts = ctx.machine_facts_for(&facts.machines);
    // A clan of its own in the file has its own directory and machines.
    let own_contexts: Vec<FileContext> = facts
        .own_clans
        .iter()
        .map(|own| ctx.for_own_clan(own))
        .collect();
    let ctx_of = |clan: Option<usize>| clan.and_then(|c| own_contexts.get(c)).unwrap_or(ctx);
    let mut works: Vec<Work<'_>> = facts
        .instances
        .iter()
        .map(|instance| {
            let mut work = read::read_instance(instance, root, text, ctx_of(instance.clan));
            let key = |(clan, service, name): &InstanceKey| {
                *clan == instance.clan && *service == instance.service && *name == instance.instance
            };
            if let Some((_, reason)) = leave.iter().find(|(at, _)| key(at)) {
                work.blockers.insert(0, reason.clone());
            }
            work
        })
        .collect();
    for work in &mut works {
        // Also for an instance already left: what its settings need is worth saying.
        let machines = match work.instance.clan {
            Some(_) => facts.machines_of(work.instance.clan),
            None => &machine_facts,
        };
        let dropped_by_tags: Vec<String> = work
            .roles
            .iter()
            .filter_map(|role| match &role.members.tags {
                Listed::Names(tags) => mapping::tags_legacy_dropped(&role.name, tags, machines),
                Listed::Computed => None,
            })
            .collect();
        for message in dropped_by_tags {
            work.block(ReasonKind::EmptyTag, message, None);
        }
        settings::plan_settings(work, text, machines);
    }
    check_names(&mut works, facts, ctx);
    let opaque_edits = check_opaque_instances(&mut works, root, facts);
    let containers = containers(&works, text);

    let owned = 'plan: loop {
        block_shared_containers(&mut works, &containers, text);
        // A `services` set that keeps some instances gives the others up: they
        // move to an `instances` set of their own, next to it.
        let mut moving_out: Vec<Option<usize>> = vec![None; works.len()];
        for (k, container) in containers.iter().enumerate() {
            if container.keeps_some(&works) {
                for &i in &container.dependents {
                    moving_out[i] = Some(k);
                }
            }
        }
        let mut owned: Vec<(TextEdit, Owner)> = Vec::new();
        let mut moves: std::collections::BTreeMap<usize, Vec<(usize, Vec<TextEdit>)>> =
            std::collections::BTreeMap::new();
        let mut opaque_done: Vec<usize> = Vec::new();
        for (i, work) in works.iter().enumerate() {
            if work.blockers.is_empty()
                && let Some((k, edits)) = &opaque_edits[i]
                && !opaque_done.contains(k)
            {
                opaque_done.push(*k);
                owned.extend(edits.iter().cloned().map(|e| (e, Owner::Instance(i))));
            }
            if work.blockers.is_empty() {
                let style = style.get_or_insert_with(|| Style::of(text));
                let edits = emit::instance_edits(work, text, style, ctx_of(work.instance.clan));
                match moving_out[i] {
                    Some(k) => moves.entry(k).or_default().push((i, edits)),
                    None => owned.extend(edits.into_iter().map(|e| (e, Owner::Instance(i)))),
                }
            }
        }
        for (k, container) in containers.iter().enumerate() {
            if container.all_migrate(&works) {
                // A wrapper that moves out of its `services` set is flattened
                // as it moves.
                let moving_with = container.dependents.first().and_then(|&i| moving_out[i]);
                match (container.kind, moving_with) {
                    (containers::ContainerKind::Wrapper, Some(to)) => moves
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
        for span in empty_deletions(root, facts) {
            let edit = TextEdit::delete(whole_lines(text, span));
            owned.push((edit, Owner::EmptyDefinition));
        }
        // Edits that overlap are a bug in the planner: the instances they
        // belong to are left, explained, and the rest is planned again.
        match crate::text::edit::first_overlap(&owned) {
            Some(overlap) if block_overlapping(&mut works, &containers, overlap, text) => {}
            _ => break owned,
        }
    };
    Plan {
        edits: owned.into_iter().map(|(edit, _)| edit).collect(),
        empties_deleted: facts.empty.len(),
        instances: works
            .into_iter()
            .map(|w| InstancePlan {
                clan: w.instance.clan,
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
            .collect(),
        ..Plan::default()
    }
}

/// The new name must be free: not an instance of this file, of another file
/// of the clan, or the name another legacy instance here would get.
/// A migrated instance becomes `….instances.<name>`; where the same attribute
/// set (the same anchor) binds `….instances = <expr>;`, Nix would see
/// `instances` defined twice. The inventory is a module, so that binding
/// becomes `….imports = [ { instances = <expr>; } ];` (the module system
/// merges both definitions of `instances`), or joins the set's `imports`
/// list, written with the first instance that migrates. Where `imports` is
/// not a list literal, the instances are left.
/// Returns, per instance, the edits of that binding when it needs them.
fn check_opaque_instances(
    works: &mut [Work<'_>],
    root: &SyntaxNode,
    facts: &LegacyFacts,
) -> Vec<Option<(usize, Vec<TextEdit>)>> {
    let mut needs = vec![None; works.len()];
    if facts.opaque_instances.is_empty() {
        return needs;
    }
    let anchor = |span: Span| {
        crate::syntax::nix::binding_at(root, span)
            .and_then(|b| crate::syntax::nix::anchor_of(rowan::ast::AstNode::syntax(&b)))
            .map(|a| a.text_range())
    };
    let opaque: Vec<(Span, Option<rnix::TextRange>, Option<Vec<TextEdit>>)> = facts
        .opaque_instances
        .iter()
        .map(|&span| (span, anchor(span), as_inventory_import(root, span)))
        .collect();
    for (i, work) in works.iter_mut().enumerate() {
        let Some(first) = work.instance.bindings.first() else {
            continue;
        };
        let here = anchor(first.binding);
        let Some(k) = opaque
            .iter()
            .position(|(_, a, _)| a.is_some() && *a == here)
        else {
            continue;
        };
        match &opaque[k].2 {
            Some(edits) => needs[i] = Some((k, edits.clone())),
            None => work.block(
                ReasonKind::SharedDefinition,
                "`instances` is set to an expression in the same attribute set, whose `imports` is not a list literal: a migrated instance cannot be added next to it; add it to what that expression gives by hand".to_owned(),
                Some(opaque[k].0),
            ),
        }
    }
    needs
}

/// `….instances = <expr>;` as `….imports = [ { instances = <expr>; } ];`, or
/// as an item of the set's `….imports` list literal.
fn as_inventory_import(root: &SyntaxNode, span: Span) -> Option<Vec<TextEdit>> {
    use rnix::ast::HasEntry;
    use rowan::ast::AstNode;
    let binding = crate::syntax::nix::binding_at(root, span)?;
    let attrpath = binding.attrpath()?;
    let last = attrpath.attrs().last()?;
    let value = binding.value()?;
    let keys = crate::syntax::nix::attrpath_keys(&attrpath);
    let leading: Vec<&crate::syntax::nix::Key> = keys[..keys.len().saturating_sub(1)]
        .iter()
        .map(|k| &k.key)
        .collect();
    let set = binding
        .syntax()
        .parent()
        .and_then(rnix::ast::AttrSet::cast)?;
    let imports: Vec<rnix::ast::AttrpathValue> = set
        .attrpath_values()
        .filter(|other| {
            other.attrpath().is_some_and(|a| {
                let other_keys = crate::syntax::nix::attrpath_keys(&a);
                other_keys.len() > leading.len()
                    && other_keys.iter().zip(&leading).all(|(o, l)| o.key == **l)
                    && other_keys[leading.len()].key.is("imports")
            })
        })
        .collect();
    let value_span = Span::from(value.syntax().text_range());
    if !imports.is_empty() {
        // `….imports = [ … ];` as a list literal: the expression joins it.
        let [only] = imports.as_slice() else {
            return None;
        };
        let list = match only.value().map(crate::syntax::nix::strip_parens) {
            Some(rnix::ast::Expr::List(list))
                if only.attrpath()?.attrs().count() == leading.len() + 1 =>
            {
                list
            }
            _ => return None,
        };
        let close =
            crate::syntax::nix::child_token_range(list.syntax(), rnix::SyntaxKind::TOKEN_R_BRACK)?;
        let text = root.text().to_string();
        let close = usize::from(close.start());
        let joint = if text[..close].ends_with([' ', '\n', '\t']) {
            ""
        } else {
            " "
        };
        return Some(vec![
            TextEdit::insert(
                close,
                format!("{joint}{{ instances = {}; }} ", value.syntax().text()),
            ),
            TextEdit::delete(whole_lines(&text, span)),
        ]);
    }
    Some(vec![
        TextEdit::replace(Span::from(last.syntax().text_range()), "imports"),
        TextEdit::replace(
            value_span,
            format!("[ {{ instances = {}; }} ]", value.syntax().text()),
        ),
    ])
}

/// The bindings that deleting the empty legacy definitions removes: each
/// empty one, or the `services = { … }` that holds nothing else (left behind,
/// it would be an empty definition of its own).
fn empty_deletions(root: &SyntaxNode, facts: &LegacyFacts) -> Vec<Span> {
    use rnix::ast;
    use rowan::ast::AstNode;
    let empties: Vec<Span> = facts.empty.iter().map(|e| e.binding).collect();
    let mut out: Vec<Span> = Vec::new();
    for empty in &facts.empty {
        let holder = empty.service.as_ref().and_then(|_| {
            let node = crate::syntax::nix::binding_at(root, empty.binding)?;
            let set = node.syntax().parent().and_then(ast::AttrSet::cast)?;
            let all_empty = set
                .syntax()
                .children()
                .filter(|c| {
                    ast::AttrpathValue::can_cast(c.kind()) || ast::Inherit::can_cast(c.kind())
                })
                .all(|c| empties.contains(&Span::from(c.text_range())));
            let owner = crate::syntax::nix::enclosing_binding(node.syntax())?;
            let names_services = owner
                .attrpath()
                .and_then(|a| crate::syntax::nix::attrpath_keys(&a).pop())
                .is_some_and(|k| k.key.is("services"));
            (all_empty && names_services).then(|| Span::from(owner.syntax().text_range()))
        });
        let span = holder.unwrap_or(empty.binding);
        if !out.contains(&span) {
            out.push(span);
        }
    }
    out
}

fn check_names(works: &mut [Work<'_>], facts: &LegacyFacts, ctx: &FileContext) {
    // Names meet within one clan: the file's, or one of its own.
    let mut generated: foldhash::HashMap<(Option<usize>, String), usize> =
        foldhash::HashMap::default();
    for work in works.iter() {
        *generated
            .entry((work.instance.clan, work.new_name.clone()))
            .or_default() += 1;
    }
    let existing_names: foldhash::HashMap<(Option<usize>, &str), &crate::inventory::NewInstance> =
        facts
            .new_instances
            .iter()
            .map(|n| ((n.clan, n.name.as_str()), n))
            .collect();
    for work in works.iter_mut() {
        let clan = work.instance.clan;
        let existing = existing_names.get(&(clan, work.new_name.as_str()));
        if let Some(span) = existing.and_then(|n| n.bindings.first()).map(|b| b.label) {
            work.block(
                ReasonKind::NameCollision,
                format!("an instance named `{}` already exists", work.new_name),
                Some(span),
            );
        }
        let elsewhere = clan
            .is_none()
            .then(|| ctx.taken_elsewhere.iter().find(|e| e.key == work.new_name))
            .flatten();
        if let Some(elsewhere) = elsewhere {
            work.block(
                ReasonKind::NameCollision,
                format!(
                    "`{}` is also an instance name in {}:{}, another file of this clan (settings are unique across files, so the definitions would conflict)",
                    work.new_name,
                    elsewhere.path.display(),
                    elsewhere.line
                ),
                None,
            );
        }
        if generated
            .get(&(clan, work.new_name.clone()))
            .is_some_and(|&n| n > 1)
        {
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

impl<'a> Work<'a> {
    fn new(instance: &'a LegacyInstance, module: Option<&'a ModuleInfo>) -> Self {
        Work {
            instance,
            new_name: default_instance_name(&instance.service, &instance.instance),
            module,
            contributors: Vec::new(),
            body: Vec::new(),
            roles: Vec::new(),
            parts: Vec::new(),
            replaced: Vec::new(),
            tail: Vec::new(),
            blockers: Vec::new(),
            notes: Vec::new(),
            deleted: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
