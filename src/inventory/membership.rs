//! Which machines exist and which tags they carry, as far as the files say.

/// Which machines exist and which tags they carry, from literal definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineFacts {
    /// Machine → its `tags` and `machineClass`.
    pub machines: std::collections::BTreeMap<String, MachineInfo>,
    /// `inventory.tags.<tag> = [ machines ]`.
    pub tag_lists: std::collections::BTreeMap<String, Vec<String>>,
    /// A definition was not literal (or was seen nowhere): tags cannot be resolved.
    pub incomplete: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineInfo {
    pub tags: Vec<String>,
    pub class: Option<String>,
}

impl MachineFacts {
    /// Adds another source's facts (lists of one machine concatenate, as in Nix).
    pub fn extend(&mut self, other: &MachineFacts) {
        for (name, info) in &other.machines {
            let entry = self.machines.entry(name.clone()).or_default();
            entry.tags.extend(info.tags.iter().cloned());
            if info.class.is_some() {
                entry.class.clone_from(&info.class);
            }
        }
        for (tag, list) in &other.tag_lists {
            self.tag_lists
                .entry(tag.clone())
                .or_default()
                .extend(list.iter().cloned());
        }
        self.incomplete |= other.incomplete;
    }

    /// The tags of a machine, built-in ones included; `None` when not knowable.
    pub fn tags_of(&self, machine: &str) -> Option<Vec<String>> {
        if self.incomplete {
            return None;
        }
        let info = self.machines.get(machine)?;
        let mut tags = info.tags.clone();
        tags.extend(
            self.tag_lists
                .iter()
                .filter(|(_, l)| l.iter().any(|m| m == machine))
                .map(|(t, _)| t.clone()),
        );
        tags.push("all".into());
        tags.push(
            if info.class.as_deref() == Some("darwin") {
                "darwin"
            } else {
                "nixos"
            }
            .into(),
        );
        Some(tags)
    }

    /// The machines carrying any of `tags`; `None` when not knowable.
    pub fn members_by_tags(&self, tags: &[String]) -> Option<Vec<String>> {
        if self.incomplete {
            return None;
        }
        let mut out = Vec::new();
        for machine in self.machines.keys() {
            let machine_tags = self.tags_of(machine)?;
            if machine_tags.iter().any(|t| tags.contains(t)) {
                out.push(machine.clone());
            }
        }
        Some(out)
    }
}
