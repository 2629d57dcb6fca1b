//! The module table: clan-core's legacy clanModules and their clan.service
//! counterparts, as data (`modules.toml`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

const TABLE: &str = include_str!("modules.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Migrated,
    Renamed,
    Option,
    Removed,
    Redesigned,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleInfo {
    pub status: Status,
    /// The clan.service name when it differs from the legacy name.
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Top-level legacy config key → roles that declare it.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    /// Legacy key path → new key path (`*` matches any one attribute name).
    #[serde(default)]
    pub renames: BTreeMap<String, String>,
    /// Legacy key paths without a counterpart.
    #[serde(default)]
    pub dropped: Vec<String>,
    /// Settings the new module needs that the legacy module implied.
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
    /// For `option`: what to set instead.
    #[serde(default)]
    pub option: Option<String>,
    /// `module.input` to write for this module (e.g. `"self"` for a clan's own
    /// module whose name shadows a clan-core one).
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl ModuleInfo {
    /// The clan.service module name that replaces `legacy`.
    pub fn target_name<'a>(&'a self, legacy: &'a str) -> &'a str {
        self.new_name.as_deref().unwrap_or(legacy)
    }

    /// Whether a machine's config key `key` goes to the same roles whether or
    /// not the machine is a member of the `uncertain` roles: a role it is
    /// certainly a member of (`members`) declares the key, none of `uncertain`.
    pub fn key_owners_certain(&self, key: &str, members: &[String], uncertain: &[String]) -> bool {
        self.keys.get(key).is_some_and(|declared| {
            declared.iter().any(|r| members.contains(r))
                && !declared.iter().any(|r| uncertain.contains(r))
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    modules: BTreeMap<String, ModuleInfo>,
}

fn table() -> &'static BTreeMap<String, ModuleInfo> {
    static TABLE_CELL: OnceLock<BTreeMap<String, ModuleInfo>> = OnceLock::new();
    TABLE_CELL.get_or_init(|| {
        // The table is part of the binary and checked by a unit test, so a
        // parse failure here cannot come from user input.
        toml::from_str::<Table>(TABLE).map_or_else(|_| BTreeMap::new(), |t| t.modules)
    })
}

/// What clan-migrate knows about the legacy module `name` (built-in table only).
pub fn lookup(name: &str) -> Option<&'static ModuleInfo> {
    table().get(name)
}

/// A user's `clan-migrate.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Modules added to the table, or replacing a built-in entry.
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleInfo>,
    /// `module.input` to write for every migrated instance (unless the module sets its own).
    #[serde(default)]
    pub module_input: Option<String>,
    /// Only these rules (codes, code prefixes or names), as `--select`.
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// Not these rules, as `--ignore`.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// The built-in table with a user's additions on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleTable {
    pub user: UserConfig,
}

impl ModuleTable {
    pub fn lookup(&self, name: &str) -> Option<&ModuleInfo> {
        self.user.modules.get(name).or_else(|| lookup(name))
    }

    /// The roles of the clan.service module `name` (a new-format name), when known.
    pub fn service_roles(&self, name: &str) -> Option<&[String]> {
        let entries = self.user.modules.iter().chain(table().iter());
        for (legacy, info) in entries {
            let service = match info.status {
                Status::Migrated | Status::Redesigned => legacy.as_str(),
                Status::Renamed => info.target_name(legacy),
                Status::Option | Status::Removed => continue,
            };
            if service == name && !info.roles.is_empty() {
                return Some(&info.roles);
            }
        }
        None
    }
}

/// Parses a `clan-migrate.toml`; the error has the byte offset of the problem.
pub fn parse_user_config(text: &str) -> Result<UserConfig, (usize, String)> {
    let config: UserConfig = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        (offset, e.message().to_owned())
    })?;
    for (name, info) in &config.modules {
        for owners in info.keys.values() {
            if let Some(role) = owners.iter().find(|r| !info.roles.contains(r)) {
                return Err((
                    0,
                    format!("module `{name}`: key owner `{role}` is not one of its roles"),
                ));
            }
        }
        if info.status == Status::Renamed && info.new_name.is_none() {
            return Err((
                0,
                format!("module `{name}`: status \"renamed\" needs `new_name`"),
            ));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_is_consistent() {
        let parsed: Table = toml::from_str(TABLE).unwrap();
        assert!(parsed.modules.len() > 30);
        for (name, info) in &parsed.modules {
            for owners in info.keys.values() {
                for role in owners {
                    assert!(
                        info.roles.contains(role),
                        "{name}: key owner {role} is not a role"
                    );
                }
            }
            match info.status {
                Status::Migrated | Status::Renamed => assert!(!info.roles.is_empty(), "{name}"),
                Status::Option => assert!(info.option.is_some(), "{name}"),
                Status::Removed | Status::Redesigned => {}
            }
            assert_eq!(
                info.status == Status::Renamed,
                info.new_name.is_some(),
                "{name}"
            );
        }
        assert_eq!(lookup("iwd").map(|m| m.target_name("iwd")), Some("wifi"));
        assert_eq!(lookup("sshd").map(|m| m.target_name("sshd")), Some("sshd"));
    }

    #[test]
    fn user_config_extends_and_overrides_the_table() {
        let config = parse_user_config(
            r#"
module_input = "clan-core"
[modules.my-monitoring]
status = "migrated"
roles = ["agent", "server"]
keys = { retention = ["server"] }
[modules.admin]
status = "migrated"
roles = ["default"]
input = "self"
"#,
        )
        .unwrap();
        let table = ModuleTable { user: config };
        assert_eq!(
            table.lookup("my-monitoring").map(|m| m.roles.len()),
            Some(2)
        );
        assert_eq!(
            table.lookup("admin").and_then(|m| m.input.as_deref()),
            Some("self")
        );
        assert!(table.lookup("sshd").is_some(), "built-in entries remain");
        let err = parse_user_config("[modules.x]\nstatus = \"bogus\"\n").unwrap_err();
        assert!(err.1.contains("unknown variant"), "{err:?}");
        let err = parse_user_config(
            "[modules.x]\nstatus = \"migrated\"\nroles = [\"a\"]\nkeys = { k = [\"b\"] }\n",
        )
        .unwrap_err();
        assert!(err.1.contains("not one of its roles"), "{err:?}");
    }
}
