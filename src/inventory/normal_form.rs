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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Role {
    pub machines: Names,
    pub tags: Names,
    pub settings: Value,
    pub machine_settings: BTreeMap<String, Value>,
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
    machines: Option<&MachineFacts>,
) -> Vec<(String, Result<Instance, String>)> {
    let mut out = Vec::new();
    for legacy in &facts.instances {
        let name = default_instance_name(&legacy.service, &legacy.instance);
        out.push((name, legacy_instance(root, legacy, paths, table, machines)));
    }
    for new in &facts.new_instances {
        out.push((
            new.name.clone(),
            new_instance(root, new, paths).map(|i| resolved(i, machines)),
        ));
    }
    // Stable: a legacy instance and a new one of the same name keep their order.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Membership as Nix resolves it: listed machines plus those carrying one of the
/// role's tags (when the clan's machines and tags are known).
fn resolved(mut instance: Instance, machines: Option<&MachineFacts>) -> Instance {
    let Some(machines) = machines else {
        return instance;
    };
    for role in instance.roles.values_mut() {
        let (Names::Listed(listed), Names::Listed(tags)) = (&mut role.machines, &role.tags) else {
            continue;
        };
        let tags: Vec<String> = tags.iter().cloned().collect();
        if let Some(members) = machines.members_by_tags(&tags) {
            listed.extend(members);
        }
    }
    instance
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
            let what = if ra.machines != rb.machines {
                "machines"
            } else if ra.tags != rb.tags {
                "tags"
            } else if ra.settings != rb.settings {
                "settings"
            } else if ra.machine_settings != rb.machine_settings {
                "per-machine settings"
            } else {
                "extraModules"
            };
            if ra != rb {
                return Some(format!(
                    "instance `{name}`: the {what} of role `{role}` would change"
                ));
            }
        }
    }
    None
}

fn legacy_instance(
    root: &SyntaxNode,
    legacy: &LegacyInstance,
    paths: &Paths,
    table: &ModuleTable,
    machines: Option<&MachineFacts>,
) -> Result<Instance, String> {
    let tree = instance_tree(root, &legacy.bindings, |b| b.prefix_len + 2, paths)?;
    legacy_from_tree(&tree, &legacy.service, paths, table, machines)
}

/// The normal form of a legacy instance from its merged value.
pub fn legacy_from_tree(
    tree: &Value,
    service: &str,
    paths: &Paths,
    table: &ModuleTable,
    machines: Option<&MachineFacts>,
) -> Result<Instance, String> {
    let info = table.lookup(service);
    let module = info.map_or(service, |m| m.target_name(service));
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    for (name, role) in tree
        .get("roles")
        .and_then(Value::attrs)
        .into_iter()
        .flatten()
    {
        let mut extra = list_items(role.get("extraModules"));
        extra.extend(list_items(role.get("imports")));
        let config = role
            .get("config")
            .cloned()
            .unwrap_or(Value::Attrs(BTreeMap::new()));
        roles.insert(
            name.clone(),
            Role {
                machines: names_of_list(role.get("machines"))?,
                tags: names_of_list(role.get("tags"))?,
                settings: renamed(info, config),
                machine_settings: BTreeMap::new(),
                extra_modules: extra
                    .into_iter()
                    .map(|v| legacy_module_path(v, paths))
                    .collect(),
            },
        );
    }
    // Settings the new module needs that the legacy one implied (root-password: user = "root").
    if let Some(info) = info.filter(|i| !i.set.is_empty()) {
        let implied: BTreeMap<String, Value> = info
            .set
            .iter()
            .map(|(k, v)| (k.clone(), toml_value(v)))
            .collect();
        for role in roles.values_mut() {
            role.settings = merge(role.settings.clone(), Value::Attrs(implied.clone()))?;
        }
    }
    // Instance config: every role gets the keys its interface declares.
    if let Some(config) = tree.get("config").filter(|c| !c.is_empty_attrs()) {
        let names: Vec<String> = roles.keys().cloned().collect();
        for name in &names {
            let part = renamed(info, owned_by(info, name, config, names.len())?);
            if let Some(role) = roles.get_mut(name) {
                role.settings = merge(role.settings.clone(), part)?;
            }
        }
    }
    // Machine config: each role the machine is a member of (listed, or through
    // tags) gets the keys it declares.
    let mut instance = resolved(
        Instance {
            module: module.to_owned(),
            roles,
        },
        machines,
    );
    for (machine, value) in tree
        .get("machines")
        .and_then(Value::attrs)
        .into_iter()
        .flatten()
    {
        let Some(config) = value.get("config").filter(|c| !c.is_empty_attrs()) else {
            continue;
        };
        let listed: Vec<String> = instance
            .roles
            .iter()
            .filter(|(_, r)| matches!(&r.machines, Names::Listed(l) if l.contains(machine)))
            .map(|(n, _)| n.clone())
            .collect();
        if listed.is_empty() {
            return Err(format!(
                "per-machine config of `{machine}`, which is in no role"
            ));
        }
        for name in &listed {
            let part = renamed(info, owned_by(info, name, config, listed.len())?);
            if part.is_empty_attrs() {
                continue;
            }
            if let Some(role) = instance.roles.get_mut(name) {
                role.machine_settings.insert(machine.clone(), part);
            }
        }
    }
    Ok(instance)
}

/// The part of a legacy config that `role` declares (by top-level key, from the
/// module table); with a single receiving role, all of it.
fn owned_by(
    info: Option<&ModuleInfo>,
    role: &str,
    config: &Value,
    receivers: usize,
) -> Result<Value, String> {
    if receivers == 1 {
        return Ok(config.clone());
    }
    let Value::Attrs(entries) = config else {
        return Err("a non-literal config for several roles".into());
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

/// Applies the module table's key renames (patterns without `*`).
fn renamed(info: Option<&ModuleInfo>, value: Value) -> Value {
    let Some(info) = info else { return value };
    let mut value = value;
    for (old, new) in &info.renames {
        if old.contains('*') {
            continue;
        }
        let old: Vec<&str> = old.split('.').collect();
        if let Some(found) = take_path(&mut value, &old) {
            let new: Vec<&str> = new.split('.').collect();
            if let Ok(v) = insert(value.clone(), &new, found) {
                value = v;
            }
        }
    }
    value
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

fn new_instance(root: &SyntaxNode, new: &NewInstance, paths: &Paths) -> Result<Instance, String> {
    let tree = instance_tree(root, &new.bindings, |b| b.prefix_len + 1, paths)?;
    new_from_tree(&tree, &new.name, paths)
}

/// The normal form of a new-format instance from its merged value.
pub fn new_from_tree(tree: &Value, instance_name: &str, paths: &Paths) -> Result<Instance, String> {
    // Mistakes that clan-migrate corrects are read as what they meant: `@clan/x`
    // is `x`, a machine list is its names, a role's `config` is its `settings`.
    let module = match tree.get("module").and_then(|m| m.get("name")) {
        Some(Value::String(s)) => s.strip_prefix("@clan/").unwrap_or(s).to_owned(),
        None => instance_name.to_owned(),
        Some(other) => return Err(format!("module.name is not a string: {other:?}")),
    };
    let mut roles = BTreeMap::new();
    for (name, role) in tree
        .get("roles")
        .and_then(Value::attrs)
        .into_iter()
        .flatten()
    {
        let mut machine_settings = BTreeMap::new();
        let machines = match role.get("machines") {
            None => Names::Listed(BTreeSet::new()),
            Some(Value::Attrs(m)) => {
                for (machine, value) in m {
                    if let Some(settings) = value.get("settings").filter(|s| !s.is_empty_attrs()) {
                        machine_settings.insert(machine.clone(), settings.clone());
                    }
                }
                Names::Listed(m.keys().cloned().collect())
            }
            Some(list @ (Value::Opaque(_) | Value::List(_) | Value::NamesOf(_))) => {
                names_of_list(Some(list))?
            }
            Some(other) => return Err(format!("roles.{name}.machines is {other:?}")),
        };
        let tags = match role.get("tags") {
            Some(Value::Attrs(t)) => Names::Listed(t.keys().cloned().collect()),
            other => names_of_list(other)?,
        };
        roles.insert(
            name.clone(),
            Role {
                machines,
                tags,
                settings: merge(
                    role.get("settings")
                        .cloned()
                        .unwrap_or(Value::Attrs(BTreeMap::new())),
                    role.get("config")
                        .cloned()
                        .unwrap_or(Value::Attrs(BTreeMap::new())),
                )?,
                machine_settings,
                extra_modules: list_items(role.get("extraModules"))
                    .into_iter()
                    .map(|v| legacy_module_path(v, paths))
                    .collect(),
            },
        );
    }
    Ok(Instance { module, roles })
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
        let value =
            crate::syntax::nix::binding_value(&node).map_or(Value::Null, |v| value_of(&v, paths));
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

/// The value of an expression without evaluating it.
pub fn value_of(expr: &ast::Expr, paths: &Paths) -> Value {
    let expr = strip_parens(expr.clone());
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
                let value = crate::syntax::nix::binding_value(&binding)
                    .map_or(Value::Null, |v| value_of(&v, paths));
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
        ast::Expr::List(list) => Value::List(list.items().map(|i| value_of(&i, paths)).collect()),
        ast::Expr::Apply(apply) => match names_wrapper_argument(apply) {
            Some(list) => Value::NamesOf(Box::new(value_of(&list, paths))),
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
    machines: Option<&MachineFacts>,
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
            new_from_tree(&tree, &instance.key, paths).map(|i| resolved(i, machines)),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
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
            None,
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
