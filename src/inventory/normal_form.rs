//! A normal form of inventory instances, built from the syntax tree of either
//! format, used to prove that a rewrite keeps the meaning: same instances,
//! modules, role members, tags, role and per-machine settings, extraModules.
//!
//! Values are read without evaluation: literals become values, anything else is
//! kept as its (whitespace-normalised) source text, so two definitions compare
//! equal only when they are the same literal data or the same expression.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rnix::SyntaxNode;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;
use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hash;

use super::membership::{Known, Listed, RoleMembers};
use super::modules::{ModuleInfo, ModuleTable};
use super::naming::default_instance_name;
use super::{InstanceBinding, LegacyFacts, LegacyInstance, MachineFacts, NewInstance};
use crate::syntax::nix::{attrpath_keys, str_literal, strip_parens};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    /// A path literal, resolved to an absolute path.
    Path(PathBuf),
    List(Vec<Value>),
    Attrs(BTreeMap<String, Value>),
    /// An expression that needs evaluation, as normalised source text.
    Opaque(String),
    /// `builtins.listToAttrs (map (name: { inherit name; value = { }; }) E)`:
    /// an attribute set of empty sets named by the items of `E` (the value of
    /// `E` here), as `fix` writes a machine or tag list it cannot spell out.
    NamesOf(Box<Value>),
}

impl Value {
    fn attrs(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Attrs(a) => Some(a),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.attrs().and_then(|a| a.get(key))
    }

    fn is_empty_attrs(&self) -> bool {
        self.attrs().is_some_and(BTreeMap::is_empty)
    }
}

/// Who is a member of a role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Names {
    Listed(BTreeSet<String>),
    /// An expression (the list a legacy role had, or what builds the new set).
    Opaque(String),
}

/// One role of an instance: who its members are, and what each receives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Role {
    /// The members known for certain: listed, or carrying one of its tags.
    pub members: BTreeSet<String>,
    /// The expression that lists more members, if one does.
    pub listed_by: Option<String>,
    pub tags: Names,
    /// Whether it may have members beyond `members`.
    pub open: bool,
    /// The settings each member receives: each member of `members` by name,
    /// and (`None`) any member not known by name, when the role is open.
    pub settings: BTreeMap<Option<String>, Value>,
    /// Sorted (see [`module_set`]).
    pub extra_modules: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Instance {
    pub module: String,
    pub roles: BTreeMap<String, Role>,
}

/// A digest of the normal forms of a file's instances (see [`instances`]), by
/// [`crate::digest128`]. Two different lists of normal forms share one with a
/// chance of about 2⁻¹²⁸.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Digest(pub [u64; 2]);

impl Digest {
    pub fn of(instances: &[(String, Result<Instance, String>)]) -> Self {
        Digest(digest128(instances))
    }
}

/// A 128-bit digest of a hashable value: SipHash-1-3's 128-bit output with
/// fixed keys, the same in every run.
fn digest128<T: Hash + ?Sized>(value: &T) -> [u64; 2] {
    let mut hasher = SipHasher13::new();
    value.hash(&mut hasher);
    let hash = hasher.finish128();
    [hash.h1, hash.h2]
}

/// Where relative paths point.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// Directory of the file (path literals are relative to it).
    pub file_dir: Option<PathBuf>,
    /// The clan directory (legacy extraModules strings are relative to it).
    pub clan_dir: Option<PathBuf>,
}

/// The normal form of every instance in a file, keyed by its new-format name.
/// Legacy instances map to `<service>-<instance>`; `Err` says why one has no
/// normal form (it cannot be compared, so it must not have been migrated).
pub fn instances(
    root: &SyntaxNode,
    facts: &LegacyFacts,
    paths: &Paths,
    table: &ModuleTable,
    machines: &MachineFacts,
) -> Vec<(String, Result<Instance, String>)> {
    let mut out = Vec::new();
    // An instance of a clan of its own in the file: that clan's machines and
    // directory, and its name apart from the file clan's names.
    let scoped = |clan: Option<usize>, name: String| match clan {
        Some(own) => format!("{name} (clan at {})", own + 1),
        None => name,
    };
    let own_paths: Vec<Paths> = facts
        .own_clans
        .iter()
        .map(|own| Paths {
            file_dir: paths.file_dir.clone(),
            clan_dir: own.directory.clone(),
        })
        .collect();
    let paths_of = |clan: Option<usize>| clan.and_then(|c| own_paths.get(c)).unwrap_or(paths);
    let machines_of = |clan: Option<usize>| match clan {
        Some(_) => facts.machines_of(clan),
        None => machines,
    };
    for legacy in &facts.instances {
        let (clan, name) = (
            legacy.clan,
            default_instance_name(&legacy.service, &legacy.instance),
        );
        let instance = legacy_instance(root, legacy, paths_of(clan), table, machines_of(clan));
        out.push((scoped(clan, name), instance));
    }
    for new in &facts.new_instances {
        let instance = new_instance(root, new, paths_of(new.clan), machines_of(new.clan));
        out.push((scoped(new.clan, new.name.clone()), instance));
    }
    // Stable: a legacy instance and a new one of the same name keep their order.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The first difference between two normal forms of the same file, in words.
pub fn difference(
    before: &[(String, Result<Instance, String>)],
    after: &[(String, Result<Instance, String>)],
) -> Option<String> {
    let names = |m: &[(String, Result<Instance, String>)]| {
        m.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    };
    if names(before) != names(after) {
        return Some(format!(
            "the instances would change from [{}] to [{}]",
            names(before).join(", "),
            names(after).join(", ")
        ));
    }
    for ((name, a), (_, b)) in before.iter().zip(after) {
        if a == b {
            continue;
        }
        let (Ok(a), Ok(b)) = (a, b) else {
            return Some(format!(
                "instance `{name}` cannot be compared ({})",
                a.as_ref()
                    .err()
                    .or(b.as_ref().err())
                    .map_or("", String::as_str)
            ));
        };
        if a.module != b.module {
            return Some(format!(
                "instance `{name}`: module `{}` would become `{}`",
                a.module, b.module
            ));
        }
        let roles = |i: &Instance| i.roles.keys().cloned().collect::<Vec<_>>().join(", ");
        if a.roles.keys().ne(b.roles.keys()) {
            return Some(format!(
                "instance `{name}`: roles [{}] would become [{}]",
                roles(a),
                roles(b)
            ));
        }
        for (role, ra) in &a.roles {
            let Some(rb) = b.roles.get(role) else {
                continue;
            };
            if ra == rb {
                continue;
            }
            let what = if ra.members != rb.members
                || ra.listed_by != rb.listed_by
                || ra.open != rb.open
            {
                "members".to_owned()
            } else if ra.tags != rb.tags {
                "tags".to_owned()
            } else if ra.settings != rb.settings {
                let member = ra
                    .settings
                    .keys()
                    .chain(rb.settings.keys())
                    .find(|m| ra.settings.get(*m) != rb.settings.get(*m));
                return Some(match member {
                    Some(Some(machine)) => format!(
                        "instance `{name}`: the settings of role `{role}` would change for machine `{machine}`"
                    ),
                    _ => format!(
                        "instance `{name}`: the settings of role `{role}` would change for its members"
                    ),
                });
            } else {
                "extraModules".to_owned()
            };
            return Some(format!(
                "instance `{name}`: the {what} of role `{role}` would change"
            ));
        }
    }
    None
}

fn legacy_instance(
    root: &SyntaxNode,
    legacy: &LegacyInstance,
    paths: &Paths,
    table: &ModuleTable,
    machines: &MachineFacts,
) -> Result<Instance, String> {
    let tree = instance_tree(root, &legacy.bindings, |b| b.prefix_len + 2, paths)?;
    legacy_from_tree(&tree, &legacy.service, paths, table, machines)
}

/// Whether the config of role `giver` reaches the members of `role` that are
/// not certain (the open rest): yes when all of `role` is within `giver`; no
/// when every member of `giver` is known and none of them can be in that
/// rest (each is a certain member of `role`, or certainly not one).
fn rest_reached(role: &RoleMembers, giver: &RoleMembers, machines: &MachineFacts) -> Known {
    match role.within(giver, machines) {
        Known::Unknown => {}
        known => return known,
    }
    let Some(givers) = giver.all(machines) else {
        return Known::Unknown;
    };
    let certain = role.certain(machines);
    let outside_the_rest = givers
        .iter()
        .all(|m| certain.contains(m) || role.has(m, machines) == Known::No);
    if outside_the_rest {
        Known::No
    } else {
        Known::Unknown
    }
}

/// Members of a role as lists and tags write them.
struct Membership {
    members: RoleMembers,
    listed_by: Option<String>,
    tags: Names,
}

impl Membership {
    fn of(machines: Option<&Value>, tags: Option<&Value>) -> Result<Self, String> {
        let machines = names_of_list(machines)?;
        let tags = names_of_list(tags)?;
        let listed = |names: &Names| match names {
            Names::Listed(n) => Listed::Names(n.iter().cloned().collect()),
            Names::Opaque(_) => Listed::Computed,
        };
        Ok(Membership {
            members: RoleMembers {
                machines: listed(&machines),
                tags: listed(&tags),
            },
            listed_by: match machines {
                Names::Opaque(text) => Some(text),
                Names::Listed(_) => None,
            },
            tags,
        })
    }

    fn role(
        &self,
        facts: &MachineFacts,
        settings: BTreeMap<Option<String>, Value>,
        extra_modules: Vec<Value>,
    ) -> Role {
        let members: BTreeSet<String> = self.members.certain(facts).into_iter().collect();
        Role {
            open: self.members.all(facts).is_none(),
            members,
            listed_by: self.listed_by.clone(),
            tags: self.tags.clone(),
            settings,
            extra_modules,
        }
    }
}

/// The normal form of a legacy instance from its merged value. Legacy clan
/// merged the instance's `config`, the machine's own and that of every role
/// the machine has into one option set; each role reads the keys it declares.
pub fn legacy_from_tree(
    tree: &Value,
    service: &str,
    paths: &Paths,
    table: &ModuleTable,
    machines: &MachineFacts,
) -> Result<Instance, String> {
    let info = table.lookup(service);
    let module = info.map_or(service, |m| m.target_name(service));
    let empty = Value::Attrs(BTreeMap::new());
    let mut memberships: BTreeMap<&String, (Membership, &Value, Vec<Value>)> = BTreeMap::new();
    for (name, role) in tree
        .get("roles")
        .and_then(Value::attrs)
        .into_iter()
        .flatten()
    {
        let membership = Membership::of(role.get("machines"), role.get("tags"))?;
        let mut extra = list_items(role.get("extraModules"));
        extra.extend(list_items(role.get("imports")));
        let extra = module_set(extra.into_iter().map(|v| legacy_module_path(v, paths)));
        memberships.insert(
            name,
            (membership, role.get("config").unwrap_or(&empty), extra),
        );
    }
    let role_count = memberships.len();
    let instance_config = tree.get("config").unwrap_or(&empty);
    let machine_configs: Vec<(&String, &Value)> = tree
        .get("machines")
        .and_then(Value::attrs)
        .into_iter()
        .flatten()
        .filter_map(|(m, v)| Some((m, v.get("config")?)))
        .filter(|(_, c)| !c.is_empty_attrs())
        .collect();
    let implied: BTreeMap<String, Value> = info
        .map(|i| {
            i.set
                .iter()
                .map(|(k, v)| (k.clone(), toml_value(v)))
                .collect()
        })
        .unwrap_or_default();
    // What role `role` reads of a config: the keys it declares.
    let declared = |role: &str, config: &Value| -> Result<Value, String> {
        owned_by(info, role, config, role_count)
    };
    let mut roles = BTreeMap::new();
    for (name, (membership, _, extra)) in &memberships {
        let mut settings = BTreeMap::new();
        let certain = membership.members.certain(machines);
        let open = membership.members.all(machines).is_none();
        let members = certain.iter().map(Some).chain(open.then_some(None));
        for member in members {
            let mut merged = declared(name, instance_config)?;
            for (other, (other_membership, config, _)) in &memberships {
                let part = declared(name, config)?;
                if part.is_empty_attrs() {
                    continue;
                }
                let reaches = match member {
                    Some(machine) => other_membership.members.has(machine, machines),
                    None if other == name => Known::Yes,
                    None => rest_reached(&membership.members, &other_membership.members, machines),
                };
                match reaches {
                    Known::Yes => merged = merge(merged, part)?,
                    Known::No => {}
                    Known::Unknown => {
                        return Err(format!(
                            "whether the config of role `{other}` reaches the members of role `{name}` is not known"
                        ));
                    }
                }
            }
            for (machine, config) in &machine_configs {
                let part = declared(name, config)?;
                if part.is_empty_attrs() {
                    continue;
                }
                match member {
                    Some(m) if m == *machine => merged = merge(merged, part)?,
                    Some(_) => {}
                    None => {
                        if membership.members.has(machine, machines) == Known::Unknown {
                            return Err(format!(
                                "whether machine `{machine}` is a member of role `{name}` is not known"
                            ));
                        }
                    }
                }
            }
            let settings_value = merge(Value::Attrs(implied.clone()), renamed(info, merged))?;
            settings.insert(member.cloned(), settings_value);
        }
        roles.insert(
            (*name).clone(),
            membership.role(machines, settings, extra.clone()),
        );
    }
    // A machine with config in no role: legacy ignored it.
    for (machine, _) in &machine_configs {
        let somewhere = memberships
            .values()
            .any(|(m, _, _)| m.members.has(machine, machines) != Known::No);
        if !somewhere {
            continue;
        }
        let member = memberships
            .values()
            .any(|(m, _, _)| m.members.has(machine, machines) == Known::Yes);
        if !member {
            return Err(format!(
                "whether machine `{machine}`, which has config, is in a role is not known"
            ));
        }
    }
    Ok(Instance {
        module: module.to_owned(),
        roles,
    })
}

/// The part of a legacy config that `role` declares (by top-level key, from the
/// module table); with a single role, all of it.
fn owned_by(
    info: Option<&ModuleInfo>,
    role: &str,
    config: &Value,
    roles: usize,
) -> Result<Value, String> {
    if config.is_empty_attrs() {
        return Ok(config.clone());
    }
    if roles <= 1 && info.is_none_or(|i| i.roles.len() <= 1) {
        return Ok(config.clone());
    }
    let Value::Attrs(entries) = config else {
        return Err("a non-literal config in an instance of several roles".into());
    };
    let mut out = BTreeMap::new();
    for (key, value) in entries {
        let owners = info
            .and_then(|i| i.keys.get(key))
            .ok_or_else(|| format!("no role is known to declare `{key}`"))?;
        if owners.iter().any(|o| o == role) {
            out.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Attrs(out))
}

/// Applies the module table's key renames (`*` matches any one key).
fn renamed(info: Option<&ModuleInfo>, value: Value) -> Value {
    let Some(info) = info else { return value };
    let mut value = value;
    for (old, new) in &info.renames {
        let old: Vec<&str> = old.split('.').collect();
        let new: Vec<&str> = new.split('.').collect();
        value = rename_path(value, &old, &new);
    }
    value
}

/// `value` with what is at `old` (`*` any key) moved to `new` (whose `*`s are
/// the keys the `*`s of `old` matched).
fn rename_path(value: Value, old: &[&str], new: &[&str]) -> Value {
    let mut matches: Vec<Vec<String>> = Vec::new();
    collect_matches(&value, old, &mut Vec::new(), &mut matches);
    let mut value = value;
    for keys in matches {
        let path: Vec<&str> = keys.iter().map(String::as_str).collect();
        let Some(found) = take_path(&mut value, &path) else {
            continue;
        };
        let mut stars = old
            .iter()
            .zip(&keys)
            .filter(|(p, _)| **p == "*")
            .map(|(_, k)| k.clone());
        let target: Vec<String> = new
            .iter()
            .map(|p| {
                if *p == "*" {
                    stars.next().unwrap_or_default()
                } else {
                    (*p).to_owned()
                }
            })
            .collect();
        let target: Vec<&str> = target.iter().map(String::as_str).collect();
        if let Ok(v) = insert(value.clone(), &target, found) {
            value = v;
        }
    }
    value
}

fn collect_matches(
    value: &Value,
    pattern: &[&str],
    at: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let Some((first, rest)) = pattern.split_first() else {
        out.push(at.clone());
        return;
    };
    let Value::Attrs(map) = value else { return };
    for (key, inner) in map {
        if *first == "*" || first == key {
            at.push(key.clone());
            collect_matches(inner, rest, at, out);
            at.pop();
        }
    }
}

fn take_path(value: &mut Value, path: &[&str]) -> Option<Value> {
    let Value::Attrs(map) = value else {
        return None;
    };
    let (first, rest) = path.split_first()?;
    if rest.is_empty() {
        return map.remove(*first);
    }
    let child = map.get_mut(*first)?;
    let found = take_path(child, rest)?;
    if child.is_empty_attrs() {
        map.remove(*first);
    }
    Some(found)
}

fn toml_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Integer(i) => Value::Number(i.to_string()),
        toml::Value::Float(f) => Value::Number(f.to_string()),
        toml::Value::Array(items) => Value::List(items.iter().map(toml_value).collect()),
        toml::Value::Table(t) => {
            Value::Attrs(t.iter().map(|(k, v)| (k.clone(), toml_value(v))).collect())
        }
        toml::Value::Datetime(d) => Value::String(d.to_string()),
    }
}

fn new_instance(
    root: &SyntaxNode,
    new: &NewInstance,
    paths: &Paths,
    machines: &MachineFacts,
) -> Result<Instance, String> {
    let tree = instance_tree(root, &new.bindings, |b| b.prefix_len + 1, paths)?;
    new_from_tree(&tree, &new.name, paths, machines)
}

/// The normal form of a new-format instance from its merged value: each
/// member receives its role's settings and its own.
pub fn new_from_tree(
    tree: &Value,
    instance_name: &str,
    paths: &Paths,
    machines: &MachineFacts,
) -> Result<Instance, String> {
    // Mistakes that clan-migrate corrects are read as what they meant: `@clan/x`
    // is `x`, a machine list is its names, a role's `config` is its `settings`.
    let module = match tree.get("module").and_then(|m| m.get("name")) {
        Some(Value::String(s)) => s.strip_prefix("@clan/").unwrap_or(s).to_owned(),
        None => instance_name.to_owned(),
        Some(other) => return Err(format!("module.name is not a string: {other:?}")),
    };
    let empty = Value::Attrs(BTreeMap::new());
    let mut roles = BTreeMap::new();
    for (name, role) in tree
        .get("roles")
        .and_then(Value::attrs)
        .into_iter()
        .flatten()
    {
        let mut own_settings: BTreeMap<String, Value> = BTreeMap::new();
        let listed = match role.get("machines") {
            Some(Value::Attrs(m)) => {
                for (machine, value) in m {
                    if let Some(settings) = value.get("settings").filter(|s| !s.is_empty_attrs()) {
                        own_settings.insert(machine.clone(), settings.clone());
                    }
                }
                let names = m.keys().map(|k| Value::String(k.clone())).collect();
                Some(Value::List(names))
            }
            Some(list @ (Value::Opaque(_) | Value::List(_) | Value::NamesOf(_))) => {
                Some(list.clone())
            }
            None => None,
            Some(other) => return Err(format!("roles.{name}.machines is {other:?}")),
        };
        let tags = match role.get("tags") {
            Some(Value::Attrs(t)) => Some(Value::List(
                t.keys().map(|k| Value::String(k.clone())).collect(),
            )),
            other => other.cloned(),
        };
        let membership = Membership::of(listed.as_ref(), tags.as_ref())?;
        let role_settings = merge(
            role.get("settings").cloned().unwrap_or(empty.clone()),
            role.get("config").cloned().unwrap_or(empty.clone()),
        )?;
        let certain = membership.members.certain(machines);
        let open = membership.members.all(machines).is_none();
        let mut settings = BTreeMap::new();
        for member in certain.iter().map(Some).chain(open.then_some(None)) {
            let own = member
                .and_then(|m| own_settings.get(m))
                .cloned()
                .unwrap_or(empty.clone());
            settings.insert(member.cloned(), merge(role_settings.clone(), own)?);
        }
        let extra = module_set(
            list_items(role.get("extraModules"))
                .into_iter()
                .map(|v| legacy_module_path(v, paths)),
        );
        roles.insert(name.clone(), membership.role(machines, settings, extra));
    }
    Ok(Instance { module, roles })
}

/// The modules a role imports, in a fixed order: the module system merges
/// imports whatever their order.
fn module_set(modules: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut modules: Vec<Value> = modules.collect();
    modules.sort();
    modules
}

/// Strings in extraModules are relative to the clan directory, in both formats.
fn legacy_module_path(value: Value, paths: &Paths) -> Value {
    match (value, &paths.clan_dir) {
        (Value::String(s), Some(dir)) => Value::Path(crate::io::discover::normalize(&dir.join(s))),
        (other, _) => other,
    }
}

fn list_items(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::List(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

fn names_of_list(value: Option<&Value>) -> Result<Names, String> {
    match value {
        None => Ok(Names::Listed(BTreeSet::new())),
        Some(Value::List(items)) => {
            let mut names = BTreeSet::new();
            for item in items {
                match item {
                    Value::String(s) => {
                        names.insert(s.clone());
                    }
                    _ => return Ok(Names::Opaque(format!("{value:?}"))),
                }
            }
            Ok(Names::Listed(names))
        }
        Some(Value::Opaque(text)) => Ok(Names::Opaque(text.clone())),
        // The set's names are the list's items: the same members.
        Some(Value::NamesOf(list)) => names_of_list(Some(list)),
        Some(other) => Err(format!("not a list: {other:?}")),
    }
}

/// The merged value of an instance's bindings (everything below its name).
fn instance_tree(
    root: &SyntaxNode,
    bindings: &[InstanceBinding],
    name_end: fn(&InstanceBinding) -> usize,
    paths: &Paths,
) -> Result<Value, String> {
    let mut tree = Value::Attrs(BTreeMap::new());
    for binding in bindings {
        let node = crate::syntax::nix::binding_at(root, binding.binding)
            .ok_or("the instance is (partly) inherited")?;
        let keys = node
            .attrpath()
            .map(|p| attrpath_keys(&p))
            .unwrap_or_default();
        let skip = name_end(binding).saturating_sub(binding.base);
        let rel: Option<Vec<&str>> = keys.iter().skip(skip).map(|k| k.key.as_static()).collect();
        let rel = rel.ok_or("a computed attribute name inside the instance")?;
        let Some(left) = MAX_DEPTH.checked_sub(rel.len()) else {
            return Err(format!(
                "an attribute path of more than {MAX_DEPTH} keys inside the instance"
            ));
        };
        let value = crate::syntax::nix::binding_value(&node)
            .map_or(Value::Null, |v| value_within(&v, paths, left));
        tree = insert(tree, &rel, value)?;
    }
    Ok(tree)
}

fn insert(tree: Value, path: &[&str], value: Value) -> Result<Value, String> {
    let Some((&first, rest)) = path.split_first() else {
        return merge(tree, value);
    };
    let Value::Attrs(mut map) = tree else {
        return Err(format!(
            "`{first}` is set inside a value that is not an attribute set"
        ));
    };
    // The key is allocated only when it is new.
    match map.get_mut(first) {
        Some(slot) => {
            let current = std::mem::replace(slot, Value::Null);
            *slot = insert(current, rest, value)?;
        }
        None => {
            let inserted = insert(Value::Attrs(BTreeMap::new()), rest, value)?;
            map.insert(first.to_owned(), inserted);
        }
    }
    Ok(Value::Attrs(map))
}

/// Merges two definitions: attribute sets key by key, anything else must be absent on one side.
fn merge(a: Value, b: Value) -> Result<Value, String> {
    match (a, b) {
        (Value::Attrs(mut a), Value::Attrs(b)) => {
            for (key, value) in b {
                let merged = match a.remove(&key) {
                    Some(existing) => merge(existing, value)?,
                    None => value,
                };
                a.insert(key, merged);
            }
            Ok(Value::Attrs(a))
        }
        (a, b) if a.is_empty_attrs() => Ok(b),
        (a, b) if b.is_empty_attrs() => Ok(a),
        (a, b) => Err(format!("defined twice: {a:?} and {b:?}")),
    }
}

/// How deep a value is read: nested sets and dotted paths below it count
/// (the comparisons of values recurse once per level, on threads with small
/// stacks). Deeper values are compared by their text.
pub const MAX_DEPTH: usize = 256;

/// The value of an expression without evaluating it.
pub fn value_of(expr: &ast::Expr, paths: &Paths) -> Value {
    value_within(expr, paths, MAX_DEPTH)
}

/// [`value_of`], with `depth` levels left.
fn value_within(expr: &ast::Expr, paths: &Paths, depth: usize) -> Value {
    let expr = strip_parens(expr.clone());
    if depth == 0 {
        return opaque(&expr);
    }
    match &expr {
        ast::Expr::AttrSet(set) if !crate::syntax::nix::is_rec(set) => {
            let mut tree = Value::Attrs(BTreeMap::new());
            for entry in set.entries() {
                let ast::Entry::AttrpathValue(binding) = entry else {
                    return opaque(&expr);
                };
                let segs = binding
                    .attrpath()
                    .map(|p| attrpath_keys(&p))
                    .unwrap_or_default();
                let keys: Option<Vec<&str>> = segs.iter().map(|k| k.key.as_static()).collect();
                let Some(keys) = keys else {
                    return opaque(&expr);
                };
                let Some(left) = depth.checked_sub(keys.len()) else {
                    return opaque(&expr);
                };
                let value = crate::syntax::nix::binding_value(&binding)
                    .map_or(Value::Null, |v| value_within(&v, paths, left));
                match insert(tree, &keys, value) {
                    Ok(t) => tree = t,
                    Err(_) => return opaque(&expr),
                }
            }
            tree
        }
        ast::Expr::Str(s) => str_literal(s).map_or_else(|| opaque(&expr), Value::String),
        ast::Expr::Literal(_) => Value::Number(expr.syntax().text().to_string()),
        ast::Expr::Ident(ident) => match crate::syntax::nix::ident_text(ident).as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            _ => opaque(&expr),
        },
        ast::Expr::List(list) => Value::List(
            list.items()
                .map(|i| value_within(&i, paths, depth - 1))
                .collect(),
        ),
        ast::Expr::Apply(apply) => match names_wrapper_argument(apply) {
            Some(list) => Value::NamesOf(Box::new(value_within(&list, paths, depth - 1))),
            None => opaque(&expr),
        },
        ast::Expr::PathRel(_) => {
            match (
                crate::syntax::nix::literal_relative_path(&expr),
                &paths.file_dir,
            ) {
                (Some(rel), Some(dir)) => {
                    Value::Path(crate::io::discover::normalize(&dir.join(rel)))
                }
                _ => opaque(&expr),
            }
        }
        _ => opaque(&expr),
    }
}

/// The function `fix` maps a list of names with to make them an attribute set
/// of empty sets (see [`names_wrapper_argument`]).
pub const NAMES_FUNCTION: &str = "name: { inherit name; value = { }; }";

/// `E` of `builtins.listToAttrs (map (name: { inherit name; value = { }; }) E)`
/// (parentheses and spacing aside), the form `fix` gives a list of names.
fn names_wrapper_argument(apply: &ast::Apply) -> Option<ast::Expr> {
    let normalised = |expr: ast::Expr| normalised_text(&strip_parens(expr));
    if normalised(apply.lambda()?) != "builtins.listToAttrs" {
        return None;
    }
    let ast::Expr::Apply(map_call) = strip_parens(apply.argument()?) else {
        return None;
    };
    let ast::Expr::Apply(map_with_function) = strip_parens(map_call.lambda()?) else {
        return None;
    };
    let function = normalised(map_with_function.argument()?);
    (normalised(map_with_function.lambda()?) == "map" && function == NAMES_FUNCTION)
        .then(|| map_call.argument())
        .flatten()
}

fn opaque(expr: &ast::Expr) -> Value {
    Value::Opaque(normalised_text(expr))
}

/// An expression's source text with each run of whitespace made one space.
fn normalised_text(expr: &ast::Expr) -> String {
    let text = expr.syntax().text().to_string();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Paths for a file at `path` in a clan at `clan_dir`.
pub fn paths_for(path: Option<&Path>, clan_dir: Option<&Path>) -> Paths {
    Paths {
        file_dir: path.and_then(Path::parent).map(Path::to_path_buf),
        clan_dir: clan_dir.map(Path::to_path_buf),
    }
}

/// A JSON value as a model value.
pub fn from_json(value: &crate::syntax::json::JsonValue) -> Value {
    use crate::syntax::json::JsonValue as J;
    match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Number(n.clone()),
        J::String(s) => Value::String(s.clone()),
        J::Array(items) => Value::List(items.iter().map(|i| from_json(&i.value)).collect()),
        J::Object(members) => Value::Attrs(
            members
                .iter()
                .map(|m| (m.key.clone(), from_json(&m.value.value)))
                .collect(),
        ),
    }
}

/// The normal form of every instance of an `inventory.json`, keyed like [`instances`].
pub fn json_instances(
    root: &crate::syntax::json::JsonNode,
    paths: &Paths,
    table: &ModuleTable,
    machines: &MachineFacts,
) -> Vec<(String, Result<Instance, String>)> {
    let mut out = Vec::new();
    for service in root
        .get("services")
        .map(|s| s.value.members())
        .unwrap_or_default()
    {
        for instance in service.value.members() {
            let name = default_instance_name(&service.key, &instance.key);
            let tree = from_json(&instance.value.value);
            out.push((
                name,
                legacy_from_tree(&tree, &service.key, paths, table, machines),
            ));
        }
    }
    for instance in root
        .get("instances")
        .map(|s| s.value.members())
        .unwrap_or_default()
    {
        let tree = from_json(&instance.value.value);
        out.push((
            instance.key.clone(),
            new_from_tree(&tree, &instance.key, paths, machines),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The normal forms of the instances of a parsed Nix file, with tags resolved
/// by the clan's machines (outside a clan, by the file's `own`).
pub fn meaning(
    root: &rnix::SyntaxNode,
    facts: &LegacyFacts,
    context: &crate::inventory::context::FileContext,
    own: &MachineFacts,
) -> Vec<(String, Result<Instance, String>)> {
    let paths = paths_for(context.path.as_deref(), context.clan_dir.as_deref());
    let machines = context.machine_facts_for(own);
    instances(root, facts, &paths, &context.modules, &machines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::facts::nix as legacy_nix;

    fn model(src: &str) -> BTreeMap<String, Result<Instance, String>> {
        let parse = rnix::Root::parse(src);
        assert!(parse.errors().is_empty());
        let root = parse.syntax();
        let facts = legacy_nix::detect(&root, src, &[]);
        instances(
            &root,
            &facts,
            &Paths::default(),
            &ModuleTable::default(),
            &facts.machines,
        )
        .into_iter()
        .collect()
    }

    #[test]
    fn legacy_and_new_spellings_have_the_same_normal_form() {
        let legacy = model(
            r#"{ inventory.services.sshd.x = {
                 roles.server.machines = [ "a" "b" "a" ];
                 roles.server.config.hostKeys.rsa.enable = true;
                 machines.a.config = { certificate.searchDomains = [ "x" ]; };
               }; }"#,
        );
        let new = model(
            r#"{ inventory.instances.sshd-x = {
                 module.name = "sshd";
                 roles.server.machines = { a = { settings.certificate.searchDomains = [ "x" ]; }; b = { }; };
                 roles.server.settings = { hostKeys = { rsa.enable = true; }; };
               }; }"#,
        );
        assert_eq!(legacy["sshd-x"], new["sshd-x"]);
        assert!(legacy["sshd-x"].is_ok());
    }

    #[test]
    fn a_lost_setting_or_member_is_a_difference() {
        let legacy = model(
            r#"{ inventory.services.sshd.x.roles.server = { machines = [ "a" ]; config.p = 1; }; }"#,
        );
        for wrong in [
            r#"{ inventory.instances.sshd-x = { module.name = "sshd"; roles.server.machines.a = { }; }; }"#,
            r#"{ inventory.instances.sshd-x = { module.name = "sshd"; roles.server.machines.b = { }; roles.server.settings.p = 1; }; }"#,
            r#"{ inventory.instances.sshd-x = { module.name = "zerotier"; roles.server.machines.a = { }; roles.server.settings.p = 1; }; }"#,
            r#"{ inventory.instances.sshd-x = { module.name = "sshd"; roles.client.machines.a = { }; roles.client.settings.p = 1; }; }"#,
        ] {
            assert_ne!(legacy["sshd-x"], model(wrong)["sshd-x"], "{wrong}");
        }
    }

    #[test]
    fn lists_of_names_that_need_evaluation_match_their_wrapper() {
        let legacy =
            model(r#"{ inventory.services.sshd.x.roles.server.machines = [ host "db" ]; }"#);
        let wrapped = |list: &str| {
            model(&format!(
                r#"{{ inventory.instances.sshd-x = {{ module.name = "sshd"; roles.server.machines = builtins.listToAttrs (map (name: {{ inherit name; value = {{ }}; }}) {list}); }}; }}"#
            ))
        };
        assert_eq!(legacy["sshd-x"], wrapped(r#"[ host "db" ]"#)["sshd-x"]);
        assert_eq!(legacy["sshd-x"], wrapped(r#"([ host "db" ])"#)["sshd-x"]);
        // Other names, or another function, are another meaning.
        assert_ne!(legacy["sshd-x"], wrapped(r#"[ host "web" ]"#)["sshd-x"]);
        let other_function = model(
            r#"{ inventory.instances.sshd-x = { module.name = "sshd"; roles.server.machines = builtins.listToAttrs (map (name: { inherit name; value = { x = 1; }; }) [ host "db" ]); }; }"#,
        );
        assert_ne!(legacy["sshd-x"], other_function["sshd-x"]);
        // A literal list and its wrapped spelling name the same machines.
        let literal = model(r#"{ inventory.services.sshd.x.roles.server.machines = [ "a" ]; }"#);
        assert_eq!(literal["sshd-x"], wrapped(r#"[ "a" ]"#)["sshd-x"]);
    }

    #[test]
    fn non_literal_machine_lists_match_their_wrapper() {
        let legacy = model(r#"{ inventory.services.sshd.x.roles.server.machines = hosts; }"#);
        let new = model(
            r#"{ inventory.instances.sshd-x = { module.name = "sshd"; roles.server.machines = builtins.listToAttrs (map (name: { inherit name; value = { }; }) hosts); }; }"#,
        );
        assert_eq!(legacy["sshd-x"], new["sshd-x"]);
    }
}
