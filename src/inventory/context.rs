//! What the analysis of a file knows about its surroundings: the clan it
//! belongs to (directory, clan-core input, module table) and what the other
//! files of that clan define.

use std::path::PathBuf;

use super::modules::ModuleTable;

/// Something this file defines that another file of its clan defines too: the
/// first such other definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere<K> {
    pub key: K,
    pub path: PathBuf,
    /// 1-based line of the other definition.
    pub line: usize,
}

/// What the planner needs to know about a file's surroundings.
#[derive(Debug, Clone, Default)]
pub struct FileContext {
    /// The file's absolute path (for extraModules paths); `None` for unknown.
    pub path: Option<PathBuf>,
    /// The clan directory (that of the nearest `flake.nix`), absolute.
    pub clan_dir: Option<PathBuf>,
    /// The name of the clan-core flake input, when known.
    pub module_input: Option<String>,
    /// Write `roles.<r>.tags` as attribute sets instead of keeping lists.
    pub tags_as_attrs: bool,
    /// Instance names (existing or generated) of this file that other files of
    /// the clan define too, with where.
    pub taken_elsewhere: Vec<Elsewhere<String>>,
    /// The module table, with the nearest `clan-migrate.toml` on top.
    pub modules: std::sync::Arc<ModuleTable>,
    /// The nearest `clan-migrate.toml` is invalid: nothing is rewritten.
    pub config_error: Option<String>,
    /// The machines and tags of the whole clan (all its files), once known.
    pub machines: Option<std::sync::Arc<crate::inventory::MachineFacts>>,
    /// Instance settings of this file that other files of the clan define too:
    /// (instance, settings path), with where.
    pub settings_elsewhere: Vec<Elsewhere<(String, String)>>,
    /// `@clan/` module names the other files of the flake register
    /// (`clan.modules."@clan/<x>" = …;`).
    pub registered_modules: Vec<String>,
    /// The rules reported and fixed here.
    pub rules: super::config::RuleSelection,
    /// Parse every file, even one that cannot hold inventory code.
    pub no_prefilter: bool,
    /// The file was named explicitly (or is standard input): always analysed fully.
    pub explicit: bool,
    /// Record in plans with edits the digest of the file's instances as they
    /// are (`fix` verifies its rewrite against it).
    pub digest_meaning: bool,
}

impl FileContext {
    /// The surroundings of what a clan of its own in the file defines: its
    /// directory and machines, and nothing from other files.
    pub fn for_own_clan(&self, own: &crate::inventory::OwnClan) -> FileContext {
        FileContext {
            clan_dir: own.directory.clone(),
            machines: Some(std::sync::Arc::new(own.machines.clone())),
            taken_elsewhere: Vec::new(),
            settings_elsewhere: Vec::new(),
            registered_modules: self.registered_modules.clone(),
            ..self.clone()
        }
    }

    /// The machine facts to resolve membership with: the clan's once known;
    /// for a file outside any flake its own; otherwise its own, with the
    /// absence of a machine or tag uncertain (other files of the clan may add
    /// them).
    pub fn machine_facts_for<'a>(
        &'a self,
        own: &'a crate::inventory::MachineFacts,
    ) -> std::borrow::Cow<'a, crate::inventory::MachineFacts> {
        match (&self.machines, &self.clan_dir) {
            (Some(clan), _) => std::borrow::Cow::Borrowed(clan),
            (None, None) => std::borrow::Cow::Borrowed(own),
            (None, Some(_)) => {
                let mut partial = own.clone();
                partial.incomplete = true;
                std::borrow::Cow::Owned(partial)
            }
        }
    }

    /// The machine facts to resolve tags with: the clan's, or for a file outside
    /// any flake its own.
    pub fn machine_facts<'a>(
        &'a self,
        own: &'a crate::inventory::MachineFacts,
    ) -> Option<&'a crate::inventory::MachineFacts> {
        match (&self.machines, &self.clan_dir) {
            (Some(clan), _) => Some(clan),
            (None, None) => Some(own),
            (None, Some(_)) => None,
        }
    }
}
