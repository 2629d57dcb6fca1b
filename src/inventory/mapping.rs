//! Where the settings of a legacy instance go in the new format: one mapping,
//! used by the planner of Nix files and by that of `inventory.json`.
//!
//! Legacy clan merged every `config` that reached a machine (the instance's,
//! the machine's own `machines.<m>.config`, and that of *each* role the machine
//! is a member of) into one `clan.<service>` option set, which every role
//! module on that machine read. In the new format settings belong to a role:
//! each role a machine has must receive exactly the keys that role declares,
//! out of that merged config. So a key goes to every role that declares it
//! (by the module table), for the machines the legacy config reached there:
//! role-wide when that is every member of the receiving role, per machine
//! otherwise, and not at all (the instance is left) when which machines those
//! are is not certain.

use super::membership::{Known, MachineFacts, RoleMembers};
use super::modules::ModuleInfo;
use crate::syntax::quote::nix_attr;

/// Whose legacy `config` a part is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `services.<s>.<i>.config`
    Instance,
    /// `roles.<role>.config`
    Role(String),
    /// `machines.<machine>.config`
    Machine(String),
}

/// One legacy `config` definition: its scope, the keys its own attribute path
/// spells after `config` (`config.a.b = …` spells `a.b`), and, when its value is
/// an attribute set literal, the key paths of its top-level entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub scope: Scope,
    pub prefix: Vec<String>,
    /// `None` when the value is not an attribute set literal (its keys are not
    /// known); unused when `prefix` is not empty.
    pub entries: Option<Vec<Vec<String>>>,
}

/// A role of the instance and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub members: RoleMembers,
}

/// Where settings are written in the new format.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `roles.<role>.settings`
    Role(String),
    /// `roles.<role>.machines.<machine>.settings`
    Machine { role: String, machine: String },
}

impl Target {
    pub fn role(&self) -> &str {
        match self {
            Target::Role(role) | Target::Machine { role, .. } => role,
        }
    }

    /// The target's path relative to the instance, as Nix writes it.
    pub fn nix_path(&self) -> String {
        match self {
            Target::Role(role) => format!("roles.{}.settings", nix_attr(role)),
            Target::Machine { role, machine } => format!(
                "roles.{}.machines.{}.settings",
                nix_attr(role),
                nix_attr(machine)
            ),
        }
    }
}

/// Part of a part that goes to a target: all of it, or some of its top-level
/// entries (indices into [`Part::entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Share {
    All,
    Entries(Vec<usize>),
}

/// One destination of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub target: Target,
    pub share: Share,
}

/// Why the settings of an instance cannot be mapped with certainty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncertain {
    pub kind: UncertainKind,
    pub message: String,
    /// The part at fault, if one is.
    pub part: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UncertainKind {
    /// Which role declares a key, or which keys a value has, is not known.
    Keys,
    /// Which machines are members of a role is not known.
    Membership,
    /// A machine's config reaches no role: it is certainly in none.
    NoRole,
    /// A role's config reaches no machine: the role certainly has no members.
    EmptyRole,
}

/// The legacy instance, as the mapping needs it.
pub struct Instance<'a> {
    pub service: &'a str,
    /// The module table's entry; `None` for a module the table does not know.
    pub module: Option<&'a ModuleInfo>,
    pub roles: &'a [Role],
    pub parts: &'a [Part],
    /// The clan's machines and tags.
    pub machines: &'a MachineFacts,
}

impl Instance<'_> {
    fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The roles of this instance that declare `key` (the only role, for a
    /// module with one; from the module table otherwise).
    fn declaring(&self, key: &str, part: usize) -> Result<Vec<&Role>, Uncertain> {
        let names: Vec<&str> = self.roles.iter().map(|r| r.name.as_str()).collect();
        let single_role_module = self.module.is_none_or(|m| m.roles.len() <= 1);
        if self.roles.len() == 1 && single_role_module {
            return Ok(self.roles.iter().collect());
        }
        let Some(declared) = self.module.and_then(|m| m.keys.get(key)) else {
            return Err(Uncertain {
                kind: UncertainKind::Keys,
                message: format!(
                    "no role of `{}` is known to declare `{key}` (roles here: {}); say which in clan-migrate.toml: `modules.{}.keys.{} = [ \"<role>\" ]`",
                    self.service,
                    names.join(", "),
                    nix_attr(self.service),
                    nix_attr(key)
                ),
                part: Some(part),
            });
        };
        Ok(self
            .roles
            .iter()
            .filter(|r| declared.contains(&r.name))
            .collect())
    }
}

/// The destinations of every part of `instance`, in order.
pub fn distribute(instance: &Instance<'_>) -> Result<Vec<Vec<Move>>, Uncertain> {
    let mut out = Vec::with_capacity(instance.parts.len());
    for (index, part) in instance.parts.iter().enumerate() {
        out.push(distribute_part(instance, index, part)?);
    }
    Ok(out)
}

/// The top-level keys of a part, each with the entry it comes from (`None`:
/// the part's own path spells it).
fn top_keys(part: &Part) -> Option<Vec<(Option<usize>, &str)>> {
    if let Some(first) = part.prefix.first() {
        return Some(vec![(None, first.as_str())]);
    }
    let entries = part.entries.as_ref()?;
    Some(
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, keys)| Some((Some(i), keys.first()?.as_str())))
            .collect(),
    )
}

fn distribute_part(
    instance: &Instance<'_>,
    index: usize,
    part: &Part,
) -> Result<Vec<Move>, Uncertain> {
    let machines = instance.machines;
    if let Scope::Machine(machine) = &part.scope {
        check_machine_has_a_role(instance, index, machine)?;
    }
    let Some(keys) = top_keys(part) else {
        return opaque_part(instance, index, part);
    };
    // Target -> the entries it receives (None: the part's own keys).
    let mut moves: Vec<(Target, Vec<Option<usize>>)> = Vec::new();
    let mut add =
        |target: Target, entry: Option<usize>| match moves.iter_mut().find(|(t, _)| *t == target) {
            Some((_, entries)) => entries.push(entry),
            None => moves.push((target, vec![entry])),
        };
    for (entry, key) in &keys {
        let declaring = instance.declaring(key, index)?;
        if declaring.is_empty() {
            let roles: Vec<&str> = instance.roles.iter().map(|r| r.name.as_str()).collect();
            return Err(Uncertain {
                kind: UncertainKind::Keys,
                message: format!(
                    "`{key}` is declared by no role that receives this `config` ({})",
                    roles.join(", ")
                ),
                part: Some(index),
            });
        }
        for receiver in declaring {
            for target in targets(instance, index, &part.scope, receiver, key, machines)? {
                add(target, *entry);
            }
        }
    }
    if moves.is_empty()
        && let Scope::Role(role) = &part.scope
    {
        check_role_has_members(instance, index, role)?;
    }
    let every_entry = |entries: &[Option<usize>]| {
        entries.iter().all(Option::is_none)
            || (entries.len() == keys.len() && keys.iter().all(|(e, _)| entries.contains(e)))
    };
    Ok(moves
        .into_iter()
        .map(|(target, entries)| {
            let share = if every_entry(&entries) {
                Share::All
            } else {
                Share::Entries(entries.into_iter().flatten().collect())
            };
            Move { target, share }
        })
        .collect())
}

/// Where the keys of a part of `scope` go in role `receiver`, which declares `key`.
fn targets(
    instance: &Instance<'_>,
    index: usize,
    scope: &Scope,
    receiver: &Role,
    key: &str,
    machines: &MachineFacts,
) -> Result<Vec<Target>, Uncertain> {
    let role_wide = Target::Role(receiver.name.clone());
    match scope {
        Scope::Instance => Ok(vec![role_wide]),
        Scope::Role(giver) if *giver == receiver.name => Ok(vec![role_wide]),
        Scope::Role(giver) => {
            let Some(giver) = instance.role(giver) else {
                return Ok(Vec::new());
            };
            match receiver.members.within(&giver.members, machines) {
                Known::Yes => return Ok(vec![role_wide]),
                Known::No | Known::Unknown => {}
            }
            // The members of both roles: from the receiving role's members when
            // all are known, or from the giving role's.
            let unknown = || Uncertain {
                kind: UncertainKind::Membership,
                message: format!(
                    "`roles.{}.config.{key}` reached every role of its machines in legacy clan, and role `{}` declares `{key}` too; which of its machines are also in role `{}` is not known statically (tags or machine lists are computed, or not all in the files checked)",
                    nix_attr(&giver.name),
                    receiver.name,
                    giver.name
                ),
                part: Some(index),
            };
            let (candidates, other) =
                match (receiver.members.all(machines), giver.members.all(machines)) {
                    (Some(all), _) => (all, &giver.members),
                    (None, Some(all)) => (all, &receiver.members),
                    (None, None) => return Err(unknown()),
                };
            let mut out = Vec::new();
            for machine in candidates {
                match other.has(&machine, machines) {
                    Known::Yes => out.push(Target::Machine {
                        role: receiver.name.clone(),
                        machine,
                    }),
                    Known::No => {}
                    Known::Unknown => return Err(unknown()),
                }
            }
            Ok(out)
        }
        Scope::Machine(machine) => match receiver.members.has(machine, machines) {
            Known::Yes => Ok(vec![Target::Machine {
                role: receiver.name.clone(),
                machine: machine.clone(),
            }]),
            Known::No => Ok(Vec::new()),
            Known::Unknown => Err(Uncertain {
                kind: UncertainKind::Membership,
                message: format!(
                    "machine `{machine}` has `config` and may be a member of role `{}`, which declares `{key}`, through tags or a computed list that cannot be resolved statically (the clan's `inventory.machines` tags are not all literal, or not all in the files checked); which role's settings it belongs to is not decided",
                    receiver.name
                ),
                part: Some(index),
            }),
        },
    }
}

/// Legacy clan resolved a role's tags in order and, on a tag no machine
/// carries, warned "no machine with tag … found" and dropped the members of
/// the tags before it (clan-core `lib/modules/inventoryClass/builder/default.nix`
/// at the last legacy commit: the fold returns `[ ]` instead of its
/// accumulator). The new format keeps them, so a role whose tag after the
/// first may have no machine changes members: the user decides. `None` when
/// every tag after the first certainly has a machine.
pub fn tags_legacy_dropped(role: &str, tags: &[String], machines: &MachineFacts) -> Option<String> {
    let empty = tags
        .iter()
        .skip(1)
        .find(|tag| machines.tagged(std::slice::from_ref(tag)).0.is_empty())?;
    let before: Vec<String> = tags
        .iter()
        .take_while(|t| *t != empty)
        .map(|t| format!("`{t}`"))
        .collect();
    Some(format!(
        "role `{role}` lists tag `{empty}`, which may have no machine: legacy clan then dropped the members of the tags before it ({}), the new format keeps them; remove `{empty}` to keep them, or the tags before it to keep what legacy deployed",
        before.join(", ")
    ))
}

/// Legacy applied the config of a role without members to no machine; when
/// none of its keys has a place in the new format (no role may hold keys it
/// does not declare), dropping it is the user's decision.
fn check_role_has_members(
    instance: &Instance<'_>,
    index: usize,
    role: &str,
) -> Result<(), Uncertain> {
    let empty = instance
        .role(role)
        .and_then(|r| r.members.all(instance.machines))
        .is_some_and(|all| all.is_empty());
    if !empty {
        return Ok(());
    }
    Err(Uncertain {
        kind: UncertainKind::EmptyRole,
        message: format!(
            "role `{role}` has `config` but no members (legacy applied it to no machine): delete the config, or add the machines it was meant for"
        ),
        part: Some(index),
    })
}

/// Legacy ignored the config of a machine that is in no role; the new format
/// would make it a member.
fn check_machine_has_a_role(
    instance: &Instance<'_>,
    index: usize,
    machine: &str,
) -> Result<(), Uncertain> {
    let answers: Vec<Known> = instance
        .roles
        .iter()
        .map(|r| r.members.has(machine, instance.machines))
        .collect();
    if answers.contains(&Known::Yes) {
        return Ok(());
    }
    let (kind, message) = if answers.contains(&Known::Unknown) {
        (
            UncertainKind::Membership,
            format!(
                "machine `{machine}` has `config` but is listed in no role of this instance, and may be in one through tags or a computed list; legacy ignored the config of a machine in no role"
            ),
        )
    } else {
        (
            UncertainKind::NoRole,
            format!(
                "machine `{machine}` has `config` but is in no role of this instance (legacy ignored it; the new format would make it a member)"
            ),
        )
    };
    Err(Uncertain {
        kind,
        message,
        part: Some(index),
    })
}

/// A part whose value is not an attribute set literal: its keys are not known,
/// so it can go, whole, only where it reaches a single role that can take
/// every key, and no other role of those machines declares any.
fn opaque_part(instance: &Instance<'_>, index: usize, part: &Part) -> Result<Vec<Move>, Uncertain> {
    let whole = |target: Target| {
        Ok(vec![Move {
            target,
            share: Share::All,
        }])
    };
    let alone = instance.roles.len() == 1 || instance.module.is_some_and(|m| m.roles.len() == 1);
    let machines = instance.machines;
    match &part.scope {
        _ if alone && instance.roles.len() == 1 => {
            let role = &instance.roles[0];
            match &part.scope {
                Scope::Machine(machine) => whole(Target::Machine {
                    role: role.name.clone(),
                    machine: machine.clone(),
                }),
                _ => whole(Target::Role(role.name.clone())),
            }
        }
        Scope::Role(giver) => {
            // It stays with its role when no other role shares a machine with it.
            let giver_members = instance.role(giver).map(|r| &r.members);
            let shares = instance.roles.iter().filter(|r| r.name != *giver).any(|other| {
                giver_members.is_none_or(|g| {
                    let certain = other.members.certain(machines);
                    other.members.all(machines).is_none()
                        || certain.iter().any(|m| g.has(m, machines) != Known::No)
                })
            });
            if shares {
                return Err(Uncertain {
                    kind: UncertainKind::Keys,
                    message: format!(
                        "`roles.{}.config` is not an attribute set literal, and its machines may have other roles that declare some of its keys; legacy merged it into every role of those machines",
                        nix_attr(giver)
                    ),
                    part: Some(index),
                });
            }
            whole(Target::Role(giver.clone()))
        }
        Scope::Machine(machine) => {
            let member_of: Vec<&Role> = instance
                .roles
                .iter()
                .filter(|r| r.members.has(machine, machines) != Known::No)
                .collect();
            match member_of.as_slice() {
                [role] if role.members.has(machine, machines) == Known::Yes => {
                    whole(Target::Machine {
                        role: role.name.clone(),
                        machine: machine.clone(),
                    })
                }
                _ => Err(Uncertain {
                    kind: UncertainKind::Keys,
                    message: format!(
                        "the `config` of machine `{machine}` is not an attribute set literal, so its keys cannot be given to the roles of the machine that declare them"
                    ),
                    part: Some(index),
                }),
            }
        }
        Scope::Instance => Err(Uncertain {
            kind: UncertainKind::Keys,
            message: "`config` is not an attribute set literal, so its keys cannot be given to the roles that declare them".into(),
            part: Some(index),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::membership::{Listed, MachineInfo};
    use crate::inventory::modules::lookup;

    fn role(name: &str, machines: &[&str], tags: &[&str]) -> Role {
        let names = |l: &[&str]| Listed::Names(l.iter().map(|s| (*s).to_owned()).collect());
        Role {
            name: name.to_owned(),
            members: RoleMembers {
                machines: names(machines),
                tags: names(tags),
            },
        }
    }

    fn part(scope: Scope, entries: &[&str]) -> Part {
        Part {
            scope,
            prefix: Vec::new(),
            entries: Some(
                entries
                    .iter()
                    .map(|e| e.split('.').map(str::to_owned).collect())
                    .collect(),
            ),
        }
    }

    fn machines(list: &[(&str, &[&str])]) -> MachineFacts {
        MachineFacts {
            machines: list
                .iter()
                .map(|(m, tags)| {
                    let info = MachineInfo {
                        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                        ..MachineInfo::default()
                    };
                    ((*m).to_owned(), info)
                })
                .collect(),
            all_known: true,
            ..MachineFacts::default()
        }
    }

    fn moves(
        service: &str,
        roles: &[Role],
        parts: &[Part],
        facts: &MachineFacts,
    ) -> Result<Vec<Vec<Move>>, Uncertain> {
        distribute(&Instance {
            service,
            module: lookup(service),
            roles,
            parts,
            machines: facts,
        })
    }

    fn to(target: Target) -> Move {
        Move {
            target,
            share: Share::All,
        }
    }

    fn on(role: &str, machine: &str) -> Target {
        Target::Machine {
            role: role.into(),
            machine: machine.into(),
        }
    }

    /// The case a public clan met after migrating by hand: a client config key
    /// that the server role declares too reached the machines that are both.
    #[test]
    fn role_config_reaches_the_other_roles_of_its_machines() {
        let roles = [
            role("server", &["a", "b"], &[]),
            role("client", &["a", "c"], &[]),
        ];
        let facts = machines(&[("a", &[]), ("b", &[]), ("c", &[])]);
        let parts = [part(
            Scope::Role("client".into()),
            &["certificate.searchDomains"],
        )];
        assert_eq!(
            moves("sshd", &roles, &parts, &facts),
            Ok(vec![vec![
                to(on("server", "a")),
                to(Target::Role("client".into()))
            ]])
        );
        // Every server is a client: role-wide.
        let roles = [role("server", &[], &["all"]), role("client", &[], &["all"])];
        assert_eq!(
            moves(
                "sshd",
                &roles,
                &parts,
                &MachineFacts {
                    incomplete: true,
                    ..MachineFacts::default()
                }
            ),
            Ok(vec![vec![
                to(Target::Role("server".into())),
                to(Target::Role("client".into()))
            ]])
        );
        // Servers through a tag whose machines are not known: not decided.
        let roles = [role("server", &[], &["web"]), role("client", &["a"], &[])];
        let err = moves(
            "sshd",
            &roles,
            &parts,
            &MachineFacts {
                incomplete: true,
                ..MachineFacts::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.kind, UncertainKind::Membership);
        // A key only the giving role declares stays there.
        let hostkeys = [part(Scope::Role("server".into()), &["hostKeys.rsa.enable"])];
        let roles = [role("server", &["a"], &[]), role("client", &["a"], &[])];
        assert_eq!(
            moves("sshd", &roles, &hostkeys, &facts),
            Ok(vec![vec![to(Target::Role("server".into()))]])
        );
    }

    #[test]
    fn instance_and_machine_config_go_to_the_declaring_roles() {
        let roles = [
            role("client", &["laptop"], &[]),
            role("server", &["nas"], &[]),
        ];
        let facts = machines(&[("laptop", &[]), ("nas", &[])]);
        let config = [part(Scope::Instance, &["destinations.x.repo", "directory"])];
        assert_eq!(
            moves("borgbackup", &roles, &config, &facts),
            Ok(vec![vec![
                Move {
                    target: Target::Role("client".into()),
                    share: Share::Entries(vec![0])
                },
                Move {
                    target: Target::Role("server".into()),
                    share: Share::Entries(vec![1])
                },
            ]])
        );
        let machine = [part(Scope::Machine("nas".into()), &["directory"])];
        assert_eq!(
            moves("borgbackup", &roles, &machine, &facts),
            Ok(vec![vec![to(on("server", "nas"))]])
        );
        let nobody = [part(Scope::Machine("tv".into()), &["directory"])];
        let err = moves("borgbackup", &roles, &nobody, &facts).unwrap_err();
        assert!(err.message.contains("in no role"), "{}", err.message);
        let unknown = [part(Scope::Instance, &["mystery"])];
        let err = moves("borgbackup", &roles, &unknown, &facts).unwrap_err();
        assert_eq!(err.kind, UncertainKind::Keys);
    }
}
