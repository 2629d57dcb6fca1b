//! Plans the migration of an `inventory.json` (the file the clan CLI writes):
//! each certain legacy instance moves from `services` to `instances` with the
//! same mapping as in Nix files (module table, ownership of keys, membership);
//! empty legacy defaults are dropped, extraModules strings stay strings, and
//! `services` goes away once nothing is left in it. The document is written back
//! in its own layout (see `json_write`), or left alone when that layout is not
//! the CLI's.

use std::collections::BTreeMap;

use super::plan::{FileContext, InstancePlan, Outcome, Plan, Reason, ReasonKind};
use crate::inventory::MachineFacts;
use crate::inventory::mapping::{self, Scope, Share, Target, UncertainKind};
use crate::inventory::membership::{Listed, RoleMembers};
use crate::inventory::modules::{ModuleInfo, Status};
use crate::inventory::naming::default_instance_name;
use crate::inventory::{LegacyFacts, Span};
use crate::syntax::json::{JsonMember, JsonNode, JsonValue};
use crate::syntax::json_write::{JsonStyle, node};
use crate::text::edit::TextEdit;
use crate::text::source::SourceFile;

type Obj = Vec<JsonMember>;

fn member(key: &str, value: JsonValue) -> JsonMember {
    JsonMember {
        key: key.to_owned(),
        key_start: 0,
        key_end: 0,
        value: node(value),
    }
}

fn get<'a>(obj: &'a Obj, key: &str) -> Option<&'a JsonValue> {
    obj.iter().find(|m| m.key == key).map(|m| &m.value.value)
}

fn is_empty(value: &JsonValue) -> bool {
    match value {
        JsonValue::Object(o) => o.is_empty(),
        JsonValue::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Deep merge of JSON objects; the same leaf twice is a conflict.
fn merge(a: JsonValue, b: JsonValue) -> Result<JsonValue, String> {
    match (a, b) {
        (JsonValue::Object(mut a), JsonValue::Object(b)) => {
            for m in b {
                match a.iter().position(|x| x.key == m.key) {
                    Some(i) => {
                        let existing = std::mem::replace(&mut a[i].value.value, JsonValue::Null);
                        a[i].value.value = merge(existing, m.value.value).map_err(|e| {
                            if e.is_empty() {
                                m.key.clone()
                            } else {
                                format!("{}.{e}", m.key)
                            }
                        })?;
                    }
                    None => a.push(m),
                }
            }
            Ok(JsonValue::Object(a))
        }
        (a, b) if is_empty(&a) => Ok(b),
        (a, b) if is_empty(&b) => Ok(a),
        _ => Err(String::new()),
    }
}

/// Applies the module's key renames (patterns without `*`) to a settings object.
fn renamed(info: &ModuleInfo, value: JsonValue) -> JsonValue {
    let JsonValue::Object(mut obj) = value else {
        return value;
    };
    for (old, new) in &info.renames {
        if old.contains('*') {
            continue;
        }
        let old: Vec<&str> = old.split('.').collect();
        if let Some(found) = take(&mut obj, &old) {
            let mut inner = found;
            for key in new.split('.').rev() {
                inner = JsonValue::Object(vec![member(key, inner)]);
            }
            if let Ok(JsonValue::Object(merged)) = merge(JsonValue::Object(obj.clone()), inner) {
                obj = merged;
            }
        }
    }
    JsonValue::Object(obj)
}

fn take(obj: &mut Obj, path: &[&str]) -> Option<JsonValue> {
    let (first, rest) = path.split_first()?;
    let i = obj.iter().position(|m| m.key == *first)?;
    if rest.is_empty() {
        return Some(obj.remove(i).value.value);
    }
    let JsonValue::Object(child) = &mut obj[i].value.value else {
        return None;
    };
    let found = take(child, rest)?;
    if child.is_empty() {
        obj.remove(i);
    }
    Some(found)
}

struct Role {
    machines: Vec<String>,
    tags: Vec<String>,
    settings: JsonValue,
    machine_settings: BTreeMap<String, JsonValue>,
    extra_modules: Vec<JsonNode>,
}

/// The new-format value of one legacy instance, or why there is none.
fn migrate_instance(
    service: &str,
    value: &JsonValue,
    ctx: &FileContext,
    machines: &MachineFacts,
) -> Result<JsonValue, Reason> {
    let block = |kind, message: String| Reason {
        kind,
        message,
        span: None,
    };
    let Some(info) = ctx.modules.lookup(service) else {
        return Err(block(
            ReasonKind::Module,
            format!(
                "`{service}` is not a module clan-migrate knows (describe it in clan-migrate.toml)"
            ),
        ));
    };
    match info.status {
        Status::Migrated | Status::Renamed => {}
        Status::Option => {
            return Err(block(
                ReasonKind::Module,
                format!(
                    "`{service}` is now a NixOS option: {}",
                    info.option.as_deref().unwrap_or("see the module table")
                ),
            ));
        }
        Status::Removed => {
            return Err(block(
                ReasonKind::Module,
                format!("`{service}` was removed from clan-core"),
            ));
        }
        Status::Redesigned => {
            return Err(block(
                ReasonKind::Module,
                format!("`{service}` was redesigned and cannot be migrated mechanically"),
            ));
        }
    }
    let JsonValue::Object(inst) = value else {
        return Err(block(
            ReasonKind::Form,
            "the instance is not a JSON object".into(),
        ));
    };
    for m in inst {
        match (m.key.as_str(), &m.value.value) {
            ("roles" | "config" | "machines" | "meta", _) => {}
            ("extraModules" | "imports", v) if is_empty(v) => {}
            ("enabled", JsonValue::Bool(true)) => {}
            ("enabled", _) => {
                return Err(block(
                    ReasonKind::Disabled,
                    "`enabled` is not `true`: a disabled instance has no equivalent".into(),
                ));
            }
            ("extraModules" | "imports", _) => {
                return Err(block(
                    ReasonKind::ExtraModules,
                    "instance-level `extraModules` has no counterpart in the new format".into(),
                ));
            }
            (other, _) => {
                return Err(block(
                    ReasonKind::Form,
                    format!("`{other}` is not a legacy instance attribute"),
                ));
            }
        }
    }
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    for r in match get(inst, "roles") {
        Some(JsonValue::Object(r)) => r.as_slice(),
        _ => &[],
    } {
        if !info.roles.contains(&r.key) {
            return Err(block(
                ReasonKind::Module,
                format!(
                    "role `{}` does not exist in the `{}` clan.service",
                    r.key,
                    info.target_name(service)
                ),
            ));
        }
        let JsonValue::Object(role) = &r.value.value else {
            return Err(block(
                ReasonKind::Form,
                format!("role `{}` is not an object", r.key),
            ));
        };
        let strings = |key: &str| -> Result<Vec<String>, Reason> {
            match get(role, key) {
                None => Ok(Vec::new()),
                Some(JsonValue::Array(items)) => items
                    .iter()
                    .map(|i| match &i.value {
                        JsonValue::String(s) => Ok(s.clone()),
                        _ => Err(block(
                            ReasonKind::Form,
                            format!("`roles.{}.{key}` holds a non-string", r.key),
                        )),
                    })
                    .collect(),
                Some(_) => Err(block(
                    ReasonKind::Form,
                    format!("`roles.{}.{key}` is not a list", r.key),
                )),
            }
        };
        let mut extra_modules = Vec::new();
        for key in ["extraModules", "imports"] {
            if let Some(JsonValue::Array(items)) = get(role, key) {
                extra_modules.extend(items.iter().cloned());
            }
        }
        for m in role {
            if !matches!(
                m.key.as_str(),
                "machines" | "tags" | "config" | "extraModules" | "imports"
            ) {
                return Err(block(
                    ReasonKind::Form,
                    format!(
                        "`roles.{}.{}` has no counterpart in the new format",
                        r.key, m.key
                    ),
                ));
            }
        }
        let tags = strings("tags")?;
        let mut machines = strings("machines")?;
        machines.dedup();
        roles.insert(
            r.key.clone(),
            Role {
                machines,
                tags,
                settings: JsonValue::Object(Vec::new()),
                machine_settings: BTreeMap::new(),
                extra_modules,
            },
        );
    }
    // Implied settings (root-password: user = "root").
    for role in roles.values_mut() {
        let implied: Obj = info
            .set
            .iter()
            .filter_map(|(k, v)| {
                v.as_str()
                    .map(|s| member(k, JsonValue::String(s.to_owned())))
            })
            .collect();
        if !implied.is_empty() {
            role.settings = merge(
                std::mem::replace(&mut role.settings, JsonValue::Null),
                JsonValue::Object(implied),
            )
            .map_err(|k| block(ReasonKind::InstanceConfig, format!("`{k}` is set twice")))?;
        }
    }
    // Every `config`, where the mapping sends each of its keys.
    let empty: Obj = Vec::new();
    fn object(value: Option<&JsonValue>) -> Option<&Obj> {
        match value {
            Some(JsonValue::Object(o)) => Some(o),
            _ => None,
        }
    }
    let mut parts: Vec<(Scope, &Obj)> = Vec::new();
    if let Some(config) = object(get(inst, "config")).filter(|c| !c.is_empty()) {
        parts.push((Scope::Instance, config));
    }
    for r in object(get(inst, "roles")).unwrap_or(&empty) {
        if let JsonValue::Object(role) = &r.value.value
            && let Some(config) = object(get(role, "config")).filter(|c| !c.is_empty())
        {
            parts.push((Scope::Role(r.key.clone()), config));
        }
    }
    for m in object(get(inst, "machines")).unwrap_or(&empty) {
        let JsonValue::Object(machine) = &m.value.value else {
            continue;
        };
        for part in machine {
            match (part.key.as_str(), &part.value.value) {
                ("config", JsonValue::Object(config)) if !config.is_empty() => {
                    parts.push((Scope::Machine(m.key.clone()), config));
                }
                ("config", JsonValue::Object(_)) => {}
                ("config", _) => {
                    return Err(block(
                        ReasonKind::Form,
                        format!("`machines.{}.config` is not an object", m.key),
                    ));
                }
                ("extraModules" | "imports", v) if is_empty(v) => {}
                (key, _) => {
                    return Err(block(
                        ReasonKind::ExtraModules,
                        format!(
                            "`machines.{}.{key}` has no counterpart in the new format",
                            m.key
                        ),
                    ));
                }
            }
        }
    }
    for (name, role) in &roles {
        if let Some(message) = mapping::tags_legacy_dropped(name, &role.tags, machines) {
            return Err(block(ReasonKind::EmptyTag, message));
        }
    }
    let mapped_roles: Vec<mapping::Role> = roles
        .iter()
        .map(|(name, role)| mapping::Role {
            name: name.clone(),
            members: RoleMembers {
                machines: Listed::Names(role.machines.clone()),
                tags: Listed::Names(role.tags.clone()),
            },
        })
        .collect();
    let mapped_parts: Vec<mapping::Part> = parts
        .iter()
        .map(|(scope, config)| mapping::Part {
            scope: scope.clone(),
            prefix: Vec::new(),
            entries: Some(config.iter().map(|e| vec![e.key.clone()]).collect()),
        })
        .collect();
    let moves = mapping::distribute(&mapping::Instance {
        service,
        module: Some(info),
        roles: &mapped_roles,
        parts: &mapped_parts,
        machines,
    })
    .map_err(|u| {
        let kind = match u.kind {
            UncertainKind::Keys => ReasonKind::InstanceConfig,
            UncertainKind::NoRole => ReasonKind::MachineConfig,
            UncertainKind::EmptyRole => ReasonKind::EmptyRole,
            UncertainKind::Membership => ReasonKind::Membership,
        };
        block(kind, u.message)
    })?;
    // Role settings first, as legacy roles held them; then what other parts give.
    for ((_, config), moves) in parts.iter().zip(&moves) {
        for m in moves {
            let chosen: Obj = match &m.share {
                Share::All => (*config).clone(),
                Share::Entries(entries) => entries
                    .iter()
                    .filter_map(|&i| config.get(i).cloned())
                    .collect(),
            };
            let part = renamed(info, JsonValue::Object(chosen));
            let (slot, what) = match &m.target {
                Target::Role(role) => {
                    let Some(entry) = roles.get_mut(role) else {
                        continue;
                    };
                    (&mut entry.settings, format!("roles.{role}.settings"))
                }
                Target::Machine { role, machine } => {
                    let Some(entry) = roles.get_mut(role) else {
                        continue;
                    };
                    let slot = entry
                        .machine_settings
                        .entry(machine.clone())
                        .or_insert(JsonValue::Object(Vec::new()));
                    (slot, format!("roles.{role}.machines.{machine}.settings"))
                }
            };
            *slot = merge(std::mem::replace(slot, JsonValue::Null), part).map_err(|k| {
                block(
                    ReasonKind::InstanceConfig,
                    format!("`{what}.{k}` would be set twice (by two legacy `config` parts); legacy merged them, the new format needs one definition"),
                )
            })?;
        }
    }
    // The new instance, without empty legacy defaults.
    let mut module = vec![member(
        "name",
        JsonValue::String(info.target_name(service).to_owned()),
    )];
    if let Some(input) = info.input.as_ref().or(ctx.module_input.as_ref()) {
        module.push(member("input", JsonValue::String(input.clone())));
    }
    let mut new_roles: Obj = Vec::new();
    for (name, role) in roles {
        let mut obj: Obj = Vec::new();
        if !role.machines.is_empty() || !role.machine_settings.is_empty() {
            let mut machines: Obj = Vec::new();
            let mut names = role.machines.clone();
            for m in role.machine_settings.keys() {
                if !names.contains(m) {
                    names.push(m.clone());
                }
            }
            for m in names {
                let value = match role.machine_settings.get(&m) {
                    Some(settings) if !is_empty(settings) => {
                        JsonValue::Object(vec![member("settings", settings.clone())])
                    }
                    _ => JsonValue::Object(Vec::new()),
                };
                machines.push(member(&m, value));
            }
            obj.push(member("machines", JsonValue::Object(machines)));
        }
        if !role.tags.is_empty() {
            obj.push(member(
                "tags",
                JsonValue::Array(
                    role.tags
                        .iter()
                        .map(|t| node(JsonValue::String(t.clone())))
                        .collect(),
                ),
            ));
        }
        if !is_empty(&role.settings) {
            obj.push(member("settings", role.settings));
        }
        if !role.extra_modules.is_empty() {
            obj.push(member("extraModules", JsonValue::Array(role.extra_modules)));
        }
        new_roles.push(member(&name, JsonValue::Object(obj)));
    }
    Ok(JsonValue::Object(vec![
        member("module", JsonValue::Object(module)),
        member("roles", JsonValue::Object(new_roles)),
    ]))
}

/// Plans `inventory.json`; the plan's one edit rewrites the whole document.
pub fn plan(source: &SourceFile, root: &JsonNode, facts: &LegacyFacts, ctx: &FileContext) -> Plan {
    let mut plan = Plan::default();
    let style = JsonStyle::detect(&source.text, root);
    let machines = ctx.machine_facts_for(&facts.machines);
    let existing: Vec<&str> = root
        .get("instances")
        .map(|i| i.value.members())
        .unwrap_or_default()
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    let mut generated: BTreeMap<String, usize> = BTreeMap::new();
    for i in &facts.instances {
        *generated
            .entry(default_instance_name(&i.service, &i.instance))
            .or_default() += 1;
    }
    let mut migrated: Vec<(String, String, JsonValue)> = Vec::new();
    for instance in &facts.instances {
        let new_name = default_instance_name(&instance.service, &instance.instance);
        let value = root
            .get("services")
            .and_then(|s| s.value.get(&instance.service))
            .and_then(|s| s.value.get(&instance.instance))
            .map(|m| m.value.value.clone());
        let outcome = if style.is_none() {
            Err(Reason {
                kind: ReasonKind::Form,
                message: "inventory.json is not laid out the way the clan CLI writes it (json.dump with an indent), so it cannot be rewritten without reformatting it; reformat it with `python3 -m json.tool --indent 2` first".into(),
                span: None,
            })
        } else if existing.contains(&new_name.as_str())
            || generated.get(&new_name).is_some_and(|&n| n > 1)
        {
            Err(Reason {
                kind: ReasonKind::NameCollision,
                message: format!("an instance named `{new_name}` already exists"),
                span: None,
            })
        } else if let Some(elsewhere) = ctx.taken_elsewhere.iter().find(|e| e.key == new_name) {
            let (path, line) = (&elsewhere.path, elsewhere.line);
            Err(Reason {
                kind: ReasonKind::NameCollision,
                message: format!(
                    "`{new_name}` is also an instance name in {}:{line}, another file of this clan",
                    path.display()
                ),
                span: None,
            })
        } else if let Some(value) = &value {
            migrate_instance(&instance.service, value, ctx, &machines)
        } else {
            Err(Reason {
                kind: ReasonKind::Form,
                message: "the instance could not be read".into(),
                span: None,
            })
        };
        let mut notes = Vec::new();
        if let Some(note) = ctx
            .modules
            .lookup(&instance.service)
            .and_then(|i| i.note.clone())
        {
            notes.push(note);
        }
        plan.instances.push(InstancePlan {
            clan: None,
            service: instance.service.clone(),
            instance: instance.instance.clone(),
            new_name: new_name.clone(),
            module: ctx
                .modules
                .lookup(&instance.service)
                .map(|m| m.target_name(&instance.service).to_owned()),
            outcome: match outcome {
                Ok(new) => {
                    migrated.push((instance.service.clone(), instance.instance.clone(), new));
                    Outcome::Migrated
                }
                Err(reason) => Outcome::Left(reason, Vec::new()),
            },
            notes,
        });
    }
    let Some(style) = style else { return plan };
    let empty_services = facts.empty.iter().any(|e| e.service.is_none());
    if migrated.is_empty() && !empty_services && facts.empty.is_empty() {
        return plan;
    }
    let mut new_root = root.clone();
    let JsonValue::Object(top) = &mut new_root.value else {
        return plan;
    };
    // Take the migrated instances (and empty services) out of `services`.
    let services_at = top.iter().position(|m| m.key == "services");
    if let Some(at) = services_at
        && let JsonValue::Object(services) = &mut top[at].value.value
    {
        for (service, instance, _) in &migrated {
            if let Some(s) = services.iter_mut().find(|s| s.key == *service)
                && let JsonValue::Object(instances) = &mut s.value.value
            {
                instances.retain(|i| i.key != *instance);
            }
        }
        let before = services.len();
        services.retain(|s| !is_empty(&s.value.value));
        plan.empties_deleted += before - services.len();
    }
    let new_members: Obj = migrated
        .into_iter()
        .map(|(s, i, v)| member(&default_instance_name(&s, &i), v))
        .collect();
    let services_gone = services_at.is_some_and(|at| is_empty(&top[at].value.value));
    if let Some(at) = top.iter().position(|m| m.key == "instances") {
        if let JsonValue::Object(instances) = &mut top[at].value.value {
            instances.extend(new_members);
        }
        if services_gone && let Some(at) = services_at {
            top.remove(at);
        }
    } else if !new_members.is_empty() || services_gone {
        let instances = member("instances", JsonValue::Object(new_members.clone()));
        match services_at {
            Some(at) if services_gone => {
                if new_members.is_empty() {
                    top.remove(at);
                } else {
                    top[at] = instances;
                }
            }
            Some(at) => top.insert(at + 1, instances),
            None => top.push(instances),
        }
    }
    let new_text = style.write(&new_root);
    if new_text != source.text {
        plan.edits
            .push(TextEdit::replace(Span::new(0, source.text.len()), new_text));
    }
    plan
}
