//! Mistakes in code already on `inventory.instances` (hand migrations copy them
//! from the upstream guide): machine lists, `config` instead of `settings`, keys
//! the new format does not have, `@clan/` module names, string extraModules,
//! legacy-only module names and roles a module does not define.

use rnix::SyntaxNode;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::{
    Finding, instances_clan_prefixed_module, instances_duplicate_settings, instances_machine_list,
    instances_role_config, instances_string_extra_modules, instances_unknown_key,
    instances_unknown_module_or_role,
};
use crate::inventory::LegacyFacts;
use crate::inventory::modules::Status;
use crate::rewrite::convert;
use crate::rewrite::plan::FileContext;
use crate::syntax::nix::{Key, KeySeg, attrpath_keys, str_literal, strip_parens};
use crate::text::Span;
use crate::text::edit::TextEdit;

/// One definition of an instance's settings (`roles.<r>.settings`,
/// `roles.<r>.machines.<m>.settings`, `roles.<r>.tags.<t>.settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsDef {
    pub instance: String,
    /// The clan of its own the instance is in (see [`crate::inventory::OwnClan`]).
    pub clan: Option<usize>,
    pub target: String,
    /// The attribute set the definition belongs to (one module definition).
    pub anchor: usize,
    pub span: Span,
}

struct Walk<'a> {
    instance: String,
    text: &'a str,
    ctx: &'a FileContext,
    findings: Vec<Finding>,
    module_name: Option<(String, Span)>,
    module_input: Option<String>,
    /// `module.name = "@clan/<x>"`: the name as written, and its span.
    clan_prefixed: Option<(String, Span)>,
    roles: Vec<(String, Span)>,
    settings: Vec<SettingsDef>,
    /// `@clan/` module names this file or its clan registers.
    registered: &'a [String],
}

impl Walk<'_> {
    fn report(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

/// Checks every `inventory.instances.<name>` of a parsed file; also returns where
/// each instance's settings are defined.
/// `registered`: the `@clan/` module names this file and its flake register.
pub fn check(
    root: &SyntaxNode,
    text: &str,
    facts: &LegacyFacts,
    ctx: &FileContext,
    registered: &[String],
) -> (Vec<Finding>, Vec<SettingsDef>) {
    let mut findings = Vec::new();
    let mut settings = Vec::new();
    let own_contexts: Vec<FileContext> = facts
        .own_clans
        .iter()
        .map(|own| ctx.for_own_clan(own))
        .collect();
    for instance in &facts.new_instances {
        let mut walk = Walk {
            instance: instance.name.clone(),
            text,
            ctx: instance
                .clan
                .and_then(|c| own_contexts.get(c))
                .unwrap_or(ctx),
            findings: Vec::new(),
            module_name: None,
            module_input: None,
            clan_prefixed: None,
            roles: Vec::new(),
            settings: Vec::new(),
            registered,
        };
        for binding in &instance.bindings {
            let Some(node) = crate::syntax::nix::binding_at(root, binding.binding) else {
                continue;
            };
            let Some(path) = node.attrpath() else {
                continue;
            };
            let segs = attrpath_keys(&path);
            let after_name = (binding.prefix_len + 1).saturating_sub(binding.base);
            if after_name >= segs.len() {
                if let Some(ast::Expr::AttrSet(set)) =
                    crate::syntax::nix::binding_value(&node).map(strip_parens)
                {
                    visit_set(&mut walk, &set, &[]);
                }
            } else {
                visit_binding(&mut walk, &node, &[], &segs[after_name..]);
            }
        }
        check_module(&mut walk);
        findings.extend(walk.findings);
        settings.extend(walk.settings.into_iter().map(|def| SettingsDef {
            clan: instance.clan,
            ..def
        }));
    }
    // Within one file: definitions in different attribute sets (e.g. two `mkMerge` elements).
    for (i, def) in settings.iter().enumerate() {
        if let Some(first) = settings[..i].iter().find(|d| {
            d.clan == def.clan
                && d.instance == def.instance
                && d.target == def.target
                && d.anchor != def.anchor
        }) {
            let line = text[..first.span.start.min(text.len())]
                .matches('\n')
                .count()
                + 1;
            findings.push(instances_duplicate_settings::finding(
                &def.instance,
                def.span,
                &def.target,
                &format!("line {line}"),
            ));
        }
    }
    (findings, settings)
}

fn visit_set(walk: &mut Walk<'_>, set: &ast::AttrSet, prefix: &[String]) {
    for binding in set.attrpath_values() {
        if let Some(path) = binding.attrpath() {
            let segs = attrpath_keys(&path);
            visit_binding(walk, &binding, prefix, &segs);
        }
    }
}

fn visit_binding(
    walk: &mut Walk<'_>,
    binding: &ast::AttrpathValue,
    prefix: &[String],
    segs: &[KeySeg],
) {
    let mut rel: Vec<String> = prefix.to_vec();
    for seg in segs {
        match &seg.key {
            Key::Static(s) => rel.push(s.to_string()),
            Key::Dynamic => return,
        }
    }
    let own = |p: usize| {
        p.checked_sub(prefix.len())
            .and_then(|i| segs.get(i))
            .map(|s| Span::from(s.range))
    };
    let value = crate::syntax::nix::binding_value(binding);
    let recurse = |walk: &mut Walk<'_>, rel: &[String]| {
        if let Some(ast::Expr::AttrSet(set)) = value.clone().map(strip_parens) {
            visit_set(walk, &set, rel);
        }
    };
    match rel.first().map(String::as_str) {
        None => recurse(walk, &rel),
        Some("module") => match rel.get(1).map(String::as_str) {
            None => recurse(walk, &rel),
            Some("name") if rel.len() == 2 => {
                if let Some(ast::Expr::Str(s)) = value.clone().map(strip_parens)
                    && let Some(name) = str_literal(&s)
                {
                    let span = Span::from(s.syntax().text_range());
                    if let Some(plain) = name.strip_prefix("@clan/") {
                        walk.module_name = Some((plain.to_owned(), span));
                        walk.clan_prefixed = Some((name, span));
                    } else {
                        walk.module_name = Some((name, span));
                    }
                }
            }
            Some("input") if rel.len() == 2 => {
                if let Some(ast::Expr::Str(s)) = value.clone().map(strip_parens) {
                    walk.module_input = str_literal(&s);
                }
            }
            Some(_) => {}
        },
        Some("roles") => {
            let Some(role) = rel.get(1).cloned() else {
                return recurse(walk, &rel);
            };
            if let Some(span) = own(1) {
                walk.roles.push((role.clone(), span));
            }
            let record = |walk: &mut Walk<'_>, target: String, span: Option<Span>| {
                if let Some(span) = span {
                    let anchor = crate::syntax::nix::anchor_of(binding.syntax())
                        .map_or(0, |a| usize::from(a.text_range().start()));
                    walk.settings.push(SettingsDef {
                        instance: walk.instance.clone(),
                        clan: None,
                        target,
                        anchor,
                        span,
                    });
                }
            };
            match rel.get(2).map(String::as_str) {
                None => recurse(walk, &rel),
                Some("settings") => record(walk, format!("roles.{role}.settings"), own(2)),
                Some(kind @ ("machines" | "tags")) if rel.len() >= 4 => {
                    match rel.get(4).map(String::as_str) {
                        None => recurse(walk, &rel),
                        Some("settings") => record(
                            walk,
                            format!("roles.{role}.{kind}.{}.settings", rel[3]),
                            own(4),
                        ),
                        Some(_) => {}
                    }
                }
                Some("machines") if rel.len() == 3 => {
                    if let Some(ast::Expr::AttrSet(_)) = value.clone().map(strip_parens) {
                        return recurse(walk, &rel);
                    }
                    let Some(v) = value.clone() else { return };
                    if let ast::Expr::List(_) = strip_parens(v.clone()) {
                        let edits = convert::list_to_attrs(&v, walk.text)
                            .map(|c| c.edits)
                            .unwrap_or_default();
                        let span = Span::from(v.syntax().text_range());
                        let finding = instances_machine_list::finding(&walk.instance, span, &role);
                        walk.report(finding.with_fix(edits));
                    }
                }
                Some("config") => {
                    if let Some(span) = own(2) {
                        let finding = instances_role_config::finding(&walk.instance, span, &role);
                        walk.report(finding.with_fix(vec![TextEdit::replace(span, "settings")]));
                    }
                }
                Some("extraModules") if rel.len() == 3 => {
                    let Some(v) = value.clone() else { return };
                    let has_strings = matches!(strip_parens(v.clone()), ast::Expr::List(list) if list.items().any(|i| matches!(i, ast::Expr::Str(_))));
                    if has_strings {
                        let span = Span::from(v.syntax().text_range());
                        let instance = walk.instance.clone();
                        let finding = match convert::string_modules_to_paths(&v, walk.ctx) {
                            Ok(edits) => instances_string_extra_modules::finding(
                                &instance, span, &role, None,
                            )
                            .with_fix(edits),
                            Err(reason) => instances_string_extra_modules::finding(
                                &instance,
                                span,
                                &role,
                                Some(&reason),
                            ),
                        };
                        walk.report(finding);
                    }
                }
                Some("tags") => recurse(walk, &rel),
                Some("extraModules") => {}
                Some(other) => {
                    if let Some(span) = own(2) {
                        let finding = instances_unknown_key::finding(
                            &walk.instance,
                            span,
                            &format!("roles.{role}.{other}"),
                            "a role has only `machines`, `tags`, `settings` and `extraModules`",
                        );
                        walk.report(finding);
                    }
                }
            }
        }
        Some(key) => {
            if let Some(span) = own(0) {
                let target = match key {
                    "config" => "`roles.<role>.settings` of the roles that declare each key",
                    "machines" => "`roles.<role>.machines.<machine>.settings`",
                    "extraModules" => "`roles.<role>.extraModules`",
                    "meta" | "enabled" => {
                        "nothing: the new format has no such attribute; delete it"
                    }
                    "imports" => "`module` (to name the module) or `roles.<role>.extraModules`",
                    _ => "an instance has only `module` and `roles`",
                };
                let finding = instances_unknown_key::finding(&walk.instance, span, key, target);
                walk.report(finding);
            }
        }
    }
}

/// Legacy-only or removed module names, and roles the module does not define.
fn check_module(walk: &mut Walk<'_>) {
    // Only modules taken from clan-core: `input` absent/null, or clan-core's input.
    let from_clan_core = match &walk.module_input {
        None => true,
        Some(input) => {
            input == "clan-core" || walk.ctx.module_input.as_deref() == Some(input.as_str())
        }
    };
    // clan-core names its modules plainly; another input (a clan's own
    // flake, as in clan-core's tests) may register `@clan/` names.
    if let Some((name, span)) = walk.clan_prefixed.take()
        && (from_clan_core || !walk.registered.contains(&name))
    {
        let plain = name.trim_start_matches("@clan/").to_owned();
        let edits = if from_clan_core {
            vec![TextEdit::replace(
                span,
                crate::syntax::quote::nix_string(&plain),
            )]
        } else {
            Vec::new()
        };
        let finding = instances_clan_prefixed_module::finding(
            &walk.instance,
            span,
            &name,
            &plain,
            from_clan_core,
        );
        walk.report(finding.with_fix(edits));
    }
    if !from_clan_core {
        return;
    }
    let (name, span) = walk.module_name.clone().unwrap_or_else(|| {
        let span = walk.roles.first().map_or(Span::new(0, 0), |(_, s)| *s);
        (walk.instance.clone(), span)
    });
    let modules = walk.ctx.modules.clone();
    if let Some(roles) = modules.service_roles(&name) {
        for (role, role_span) in walk.roles.clone() {
            if !roles.contains(&role) {
                let finding = instances_unknown_module_or_role::role_finding(
                    &walk.instance,
                    role_span,
                    &name,
                    &role,
                    roles,
                );
                walk.report(finding);
            }
        }
        return;
    }
    let Some(info) = modules.lookup(&name) else {
        return;
    };
    let advice = match info.status {
        Status::Renamed => format!("the clan.service is `{}`", info.target_name(&name)),
        Status::Option => format!(
            "it is now a NixOS option: `{}`",
            info.option.as_deref().unwrap_or("see the module table")
        ),
        Status::Removed => "it was removed from clan-core and has no clan.service".to_owned(),
        Status::Migrated | Status::Redesigned => return,
    };
    let finding =
        instances_unknown_module_or_role::module_finding(&walk.instance, span, &name, &advice);
    walk.report(finding);
}

/// Where an `inventory.json` defines instance settings (one definition per file).
pub fn json_settings(root: &crate::syntax::json::JsonNode) -> Vec<SettingsDef> {
    let mut out = Vec::new();
    for instance in root
        .get("instances")
        .map(|i| i.value.members())
        .unwrap_or_default()
    {
        for role in instance
            .value
            .get("roles")
            .map(|r| r.value.members())
            .unwrap_or_default()
        {
            let mut push = |target: String, m: &crate::syntax::json::JsonMember| {
                out.push(SettingsDef {
                    instance: instance.key.clone(),
                    clan: None,
                    target,
                    anchor: 0,
                    span: Span::new(m.key_start, m.key_end),
                });
            };
            if let Some(settings) = role.value.get("settings") {
                push(format!("roles.{}.settings", role.key), settings);
            }
            for kind in ["machines", "tags"] {
                for entry in role
                    .value
                    .get(kind)
                    .map(|k| k.value.members())
                    .unwrap_or_default()
                {
                    if let Some(settings) = entry.value.get("settings") {
                        push(
                            format!("roles.{}.{kind}.{}.settings", role.key, entry.key),
                            settings,
                        );
                    }
                }
            }
        }
    }
    out
}

/// The module of each new-format instance (its `module.name`, or its own name),
/// with the span of its first binding's name.
pub fn instance_modules(root: &SyntaxNode, facts: &LegacyFacts) -> Vec<(String, String, Span)> {
    let mut out = Vec::new();
    for instance in &facts.new_instances {
        let Some(first) = instance.bindings.first() else {
            continue;
        };
        let mut module = None;
        for binding in &instance.bindings {
            let Some(node) = crate::syntax::nix::binding_at(root, binding.binding) else {
                continue;
            };
            let keys: Vec<String> = node
                .attrpath()
                .map(|p| attrpath_keys(&p))
                .unwrap_or_default()
                .into_iter()
                .skip((binding.prefix_len + 1).saturating_sub(binding.base))
                .filter_map(|k| k.key.as_static().map(str::to_owned))
                .collect();
            // Only a binding of the instance, of its `module` or of `module.name`
            // can name the module: the others' values are not read.
            let read: fn(&crate::inventory::normal_form::Value) -> Option<String> =
                match keys.as_slice() {
                    [] => tree_module,
                    [m] if m == "module" => tree_module_inner,
                    [m, n] if m == "module" && n == "name" => tree_string,
                    _ => continue,
                };
            let Some(value) = crate::syntax::nix::binding_value(&node) else {
                continue;
            };
            let name = read(&crate::inventory::normal_form::value_of(
                &value,
                &crate::inventory::normal_form::Paths::default(),
            ));
            if name.is_some() {
                module = name;
            }
        }
        out.push((
            instance.name.clone(),
            module.unwrap_or_else(|| instance.name.clone()),
            first.label,
        ));
    }
    out
}

fn tree_module(tree: &crate::inventory::normal_form::Value) -> Option<String> {
    match tree {
        crate::inventory::normal_form::Value::Attrs(a) => {
            a.get("module").and_then(tree_module_inner)
        }
        _ => None,
    }
}

fn tree_module_inner(tree: &crate::inventory::normal_form::Value) -> Option<String> {
    match tree {
        crate::inventory::normal_form::Value::Attrs(a) => a.get("name").and_then(tree_string),
        _ => None,
    }
}

fn tree_string(tree: &crate::inventory::normal_form::Value) -> Option<String> {
    match tree {
        crate::inventory::normal_form::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::instance_modules;
    use crate::inventory::facts::nix as legacy_nix;

    #[test]
    fn the_module_is_read_from_the_instance_its_module_or_module_name() {
        let text = r#"{
  inventory.instances = {
    a = { module.name = "zerotier"; roles.peer.tags = [ "all" ]; };
    b.module = { name = "zerotier"; };
    c.module.name = "zerotier";
    c.roles.peer.machines.m = { };
    d.roles.peer.machines.m = { };
    e.roles.module.name = "zerotier";
  };
}"#;
        let root = rnix::Root::parse(text).syntax();
        let facts = legacy_nix::detect(&root, text, &[]);
        let modules: Vec<(String, String)> = instance_modules(&root, &facts)
            .into_iter()
            .map(|(name, module, _)| (name, module))
            .collect();
        let expected = [
            ("a", "zerotier"),
            ("b", "zerotier"),
            ("c", "zerotier"),
            ("d", "d"),
            ("e", "e"),
        ];
        assert_eq!(
            modules,
            expected.map(|(n, m)| (n.to_owned(), m.to_owned())).to_vec()
        );
    }
}
