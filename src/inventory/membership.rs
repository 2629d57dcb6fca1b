//! Which machines exist, which tags they carry, and so which machines are
//! members of a role, as far as literal definitions tell.
//!
//! Membership is read the way Nix evaluates it, with what cannot be known
//! kept apart: literal evidence (a machine listed in a role, a literal tag in a
//! literal `inventory.machines.<m>.tags`) is certain whatever else the clan
//! computes, because merging definitions only adds list items; only the
//! *absence* of membership is uncertain once something is computed.

use std::collections::BTreeMap;

/// Which machines exist and which tags they carry, from literal definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineFacts {
    /// Machine → its literal `tags` and `machineClass`.
    pub machines: BTreeMap<String, MachineInfo>,
    /// `inventory.tags.<tag> = [ machines ]`.
    pub tag_lists: BTreeMap<String, Vec<String>>,
    /// Machines or tags are defined by expressions somewhere, or not every
    /// definition was seen: that a machine lacks a tag is not certain.
    pub incomplete: bool,
    /// Every machine of the clan is in `machines` (clan also makes machines of
    /// the directories in `machines/` and of its `machines.<name>` options):
    /// a machine not there is not one.
    pub all_known: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineInfo {
    pub tags: Vec<String>,
    pub class: Option<String>,
    /// Its tags or class are (also) given by an expression.
    pub computed: bool,
}

/// A three-valued answer: literal evidence says yes, complete knowledge says
/// no, or it is not known without evaluating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Yes,
    No,
    Unknown,
}

impl Known {
    fn any(answers: impl IntoIterator<Item = Known>) -> Known {
        let mut out = Known::No;
        for answer in answers {
            match answer {
                Known::Yes => return Known::Yes,
                Known::Unknown => out = Known::Unknown,
                Known::No => {}
            }
        }
        out
    }
}

impl MachineFacts {
    /// The machines carrying any of `tags`; `None` when not all are known.
    pub fn members_by_tags(&self, tags: &[String]) -> Option<Vec<String>> {
        let (certain, complete) = self.tagged(tags);
        complete.then_some(certain)
    }

    /// Adds another source's facts (lists of one machine concatenate, as in Nix).
    pub fn extend(&mut self, other: &MachineFacts) {
        for (name, info) in &other.machines {
            let entry = self.machines.entry(name.clone()).or_default();
            entry.tags.extend(info.tags.iter().cloned());
            if info.class.is_some() {
                entry.class.clone_from(&info.class);
            }
            entry.computed |= info.computed;
        }
        for (tag, list) in &other.tag_lists {
            self.tag_lists
                .entry(tag.clone())
                .or_default()
                .extend(list.iter().cloned());
        }
        self.incomplete |= other.incomplete;
        self.all_known &= other.all_known;
    }

    /// Whether `machine` carries `tag` (built-in `all`, `nixos`, `darwin` included).
    pub fn has_tag(&self, machine: &str, tag: &str) -> Known {
        // Tags are resolved over the clan's machines: one not seen may exist
        // (a directory in `machines/`), with the built-in tags.
        let Some(info) = self.machines.get(machine) else {
            return if self.all_known {
                Known::No
            } else {
                Known::Unknown
            };
        };
        let info = Some(info);
        let listed_with_tag = self
            .tag_lists
            .get(tag)
            .is_some_and(|l| l.iter().any(|m| m == machine));
        let literal = info.is_some_and(|i| i.tags.iter().any(|t| t == tag) || listed_with_tag);
        if literal {
            return Known::Yes;
        }
        let builtin = match (tag, info) {
            ("all", Some(_)) => Known::Yes,
            ("nixos" | "darwin", Some(info)) => match (&info.class, info.computed) {
                (Some(class), _) if class == tag => Known::Yes,
                (None, false) if tag == "nixos" => Known::Yes,
                (_, true) => Known::Unknown,
                _ => Known::No,
            },
            _ => Known::No,
        };
        if builtin == Known::Yes {
            return Known::Yes;
        }
        let computed = info.is_some_and(|i| i.computed);
        if self.incomplete || computed || builtin == Known::Unknown {
            Known::Unknown
        } else {
            Known::No
        }
    }

    /// Whether `machine` carries any of `tags`.
    pub fn has_any_tag(&self, machine: &str, tags: &[String]) -> Known {
        Known::any(tags.iter().map(|t| self.has_tag(machine, t)))
    }

    /// The machines certainly carrying any of `tags`, and whether they are all
    /// of them.
    pub fn tagged(&self, tags: &[String]) -> (Vec<String>, bool) {
        let mut certain = Vec::new();
        let mut complete = !self.incomplete && self.all_known;
        for machine in self.machines.keys() {
            match self.has_any_tag(machine, tags) {
                Known::Yes => certain.push(machine.clone()),
                Known::Unknown => complete = false,
                Known::No => {}
            }
        }
        certain.sort();
        (certain, complete)
    }
}

/// How a role's members are written: literal lists, or expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    Names(Vec<String>),
    Computed,
}

impl Listed {
    pub fn names(&self) -> &[String] {
        match self {
            Listed::Names(names) => names,
            Listed::Computed => &[],
        }
    }
}

/// The members of one role: listed machines and machines with one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMembers {
    pub machines: Listed,
    pub tags: Listed,
}

impl Default for RoleMembers {
    fn default() -> Self {
        RoleMembers {
            machines: Listed::Names(Vec::new()),
            tags: Listed::Names(Vec::new()),
        }
    }
}

impl RoleMembers {
    /// Whether `machine` is a member.
    pub fn has(&self, machine: &str, facts: &MachineFacts) -> Known {
        if self.machines.names().iter().any(|m| m == machine) {
            return Known::Yes;
        }
        let by_tags = match &self.tags {
            Listed::Names(tags) => facts.has_any_tag(machine, tags),
            Listed::Computed => Known::Unknown,
        };
        match (by_tags, &self.machines) {
            (Known::Yes, _) => Known::Yes,
            (_, Listed::Computed) => Known::Unknown,
            (answer, Listed::Names(_)) => answer,
        }
    }

    /// Every member, when all of them are known.
    pub fn all(&self, facts: &MachineFacts) -> Option<Vec<String>> {
        let (Listed::Names(machines), Listed::Names(tags)) = (&self.machines, &self.tags) else {
            return None;
        };
        let mut all = machines.clone();
        if !tags.is_empty() {
            let (tagged, complete) = facts.tagged(tags);
            if !complete {
                return None;
            }
            all.extend(tagged);
        }
        all.sort();
        all.dedup();
        Some(all)
    }

    /// The members known for certain.
    pub fn certain(&self, facts: &MachineFacts) -> Vec<String> {
        let mut out = self.machines.names().to_vec();
        if let Listed::Names(tags) = &self.tags
            && !tags.is_empty()
        {
            out.extend(facts.tagged(tags).0);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether every member of this role is certainly a member of `other`:
    /// from their lists and tags alone (this role's tags are among `other`'s
    /// and each listed machine is a member there), or machine by machine
    /// when all members are known.
    pub fn within(&self, other: &RoleMembers, facts: &MachineFacts) -> Known {
        let listed_within =
            |machines: &[String]| Known::all(machines.iter().map(|m| other.has(m, facts)));
        if let (Listed::Names(machines), Listed::Names(tags), Listed::Names(other_tags)) =
            (&self.machines, &self.tags, &other.tags)
            && tags.iter().all(|t| other_tags.contains(t))
            && listed_within(machines) == Known::Yes
        {
            return Known::Yes;
        }
        match self.all(facts) {
            Some(all) => listed_within(&all),
            None => Known::Unknown,
        }
    }
}

impl Known {
    /// `Yes` when every answer is yes (or there is none), `No` when one is no,
    /// `Unknown` otherwise.
    fn all(answers: impl IntoIterator<Item = Known>) -> Known {
        let mut out = Known::Yes;
        for answer in answers {
            match answer {
                Known::No => return Known::No,
                Known::Unknown => out = Known::Unknown,
                Known::Yes => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(machines: &[(&str, &[&str])], incomplete: bool) -> MachineFacts {
        MachineFacts {
            machines: machines
                .iter()
                .map(|(m, tags)| {
                    let info = MachineInfo {
                        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                        ..MachineInfo::default()
                    };
                    ((*m).to_owned(), info)
                })
                .collect(),
            tag_lists: BTreeMap::new(),
            incomplete,
            all_known: !incomplete,
        }
    }

    fn names(list: &[&str]) -> Listed {
        Listed::Names(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn literal_evidence_is_certain_and_only_absence_is_not() {
        let complete = facts(&[("a", &["web"]), ("b", &[])], false);
        let partial = facts(&[("a", &["web"]), ("b", &[])], true);
        for f in [&complete, &partial] {
            assert_eq!(f.has_tag("a", "web"), Known::Yes);
            assert_eq!(f.has_tag("a", "all"), Known::Yes);
            assert_eq!(f.has_tag("a", "nixos"), Known::Yes);
        }
        assert_eq!(complete.has_tag("b", "web"), Known::No);
        assert_eq!(partial.has_tag("b", "web"), Known::Unknown);
        assert_eq!(complete.has_tag("c", "all"), Known::No);
        assert_eq!(partial.has_tag("c", "all"), Known::Unknown);
        assert_eq!(complete.tagged(&["web".into()]), (vec!["a".into()], true));
        assert_eq!(partial.tagged(&["web".into()]), (vec!["a".into()], false));
    }

    #[test]
    fn role_membership_and_inclusion() {
        let f = facts(&[("a", &["web"]), ("b", &[])], false);
        let servers = RoleMembers {
            machines: names(&["b"]),
            tags: names(&["web"]),
        };
        let clients = RoleMembers {
            machines: names(&[]),
            tags: names(&["all"]),
        };
        assert_eq!(servers.has("a", &f), Known::Yes);
        assert_eq!(servers.has("b", &f), Known::Yes);
        assert_eq!(servers.all(&f), Some(vec!["a".into(), "b".into()]));
        assert_eq!(servers.within(&clients, &f), Known::Yes);
        let only_a = RoleMembers {
            machines: names(&["a"]),
            tags: names(&[]),
        };
        assert_eq!(servers.within(&only_a, &f), Known::No);
        // Tags that are the other role's are enough, whatever the machines are.
        let partial = facts(&[], true);
        let same_tags = RoleMembers {
            machines: names(&[]),
            tags: names(&["all"]),
        };
        assert_eq!(same_tags.within(&clients, &partial), Known::Yes);
        assert_eq!(clients.within(&only_a, &partial), Known::Unknown);
        let computed = RoleMembers {
            machines: Listed::Computed,
            tags: names(&[]),
        };
        assert_eq!(computed.has("a", &f), Known::Unknown);
        assert_eq!(computed.within(&clients, &f), Known::Unknown);
    }
}
