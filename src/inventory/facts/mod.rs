//! What a file says about its inventory, found without evaluation.

pub mod json;
pub mod nix;

use super::membership::MachineFacts;
use crate::text::Span;

/// Logical attribute paths under which new-format instances live: `<prefix>.<name>`.
pub const INSTANCES_PREFIXES: &[&[&str]] = &[
    &["inventory", "instances"],
    &["clan", "inventory", "instances"],
    &["flake", "clan", "inventory", "instances"],
];

/// Logical attribute paths under which legacy instances live: `<prefix>.<service>.<instance>`.
pub const SERVICES_PREFIXES: &[&[&str]] = &[
    &["inventory", "services"],
    &["clan", "inventory", "services"],
    &["flake", "clan", "inventory", "services"],
];

/// One legacy `services.<service>.<instance>`, possibly split over several bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyInstance {
    pub service: String,
    pub instance: String,
    /// The clan of its own that defines it (an index into
    /// [`LegacyFacts::own_clans`]); `None`: the clan the file belongs to.
    pub clan: Option<usize>,
    /// Every binding that defines part of the instance, in source order.
    pub bindings: Vec<InstanceBinding>,
    /// The instance is inside a `//` update above `services`, so its final value
    /// depends on the other operand.
    pub inside_update: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceBinding {
    /// The whole binding (`a.b = …;`), or the member (`"a": …`) in JSON.
    pub binding: Span,
    /// The keys that name the instance in this binding (`inventory.services.x.y`, `y`, `"y"`).
    pub label: Span,
    /// Number of logical path segments before this binding's own (mount included).
    pub base: usize,
    /// Length of the `….services` prefix in the logical path.
    pub prefix_len: usize,
    /// Number of leading segments that come from the importing file's mount.
    pub mount_len: usize,
}

/// A legacy definition that no tool can migrate without evaluating Nix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmigratableForm {
    pub span: Span,
    /// The logical path up to the problem, e.g. `inventory.services`.
    pub path: String,
    pub reason: UnmigratableReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnmigratableReason {
    /// `${expr}` (or an interpolated string) where a service or instance name belongs.
    DynamicKey { level: Level },
    /// `services = <expr>` where `<expr>` is not an attribute set literal.
    NonLiteral { level: Level, what: &'static str },
    /// `inherit services;` / `inherit (x) services;`.
    Inherited { level: Level, from: Option<String> },
    /// In `inventory.json`: a value that is not a JSON object.
    NotAnObject { level: Level },
}

/// A `let` variable's value that an inventory path is set to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub range: rnix::TextRange,
    pub path: Vec<String>,
}

/// Which level of `inventory.services.<service>.<instance>` a form is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Inventory,
    Services,
    Service,
    Instance,
}

impl Level {
    pub fn noun(self) -> &'static str {
        match self {
            Level::Inventory => "`inventory`",
            Level::Services => "`services`",
            Level::Service => "a service name",
            Level::Instance => "an instance name",
        }
    }
}

/// `inventory.services = { }` or `services.<svc> = { }`: no instance, but any
/// definition of `inventory.services` fails evaluation since clan 26.05.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyLegacyServices {
    pub span: Span,
    /// The binding or member to delete.
    pub binding: Span,
    /// `None` for `services` itself, the service name otherwise.
    pub service: Option<String>,
}

/// A read of `….inventory.services…` in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRead {
    pub span: Span,
}

/// A file that the inventory pulls in with a literal relative path, and the logical
/// path at which its top-level value is mounted (e.g. `inventory` for
/// `inventory = import ./inventory.nix;`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryImport {
    pub path_text: String,
    pub mount: Vec<String>,
    pub span: Span,
}

/// Everything the detector found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyFacts {
    pub instances: Vec<LegacyInstance>,
    pub unmigratable: Vec<UnmigratableForm>,
    pub empty: Vec<EmptyLegacyServices>,
    pub reads: Vec<LegacyRead>,
    pub imports: Vec<InventoryImport>,
    /// Instances already under `inventory.instances`.
    pub new_instances: Vec<NewInstance>,
    /// `inventory.machines` and `inventory.tags` as far as they are literal.
    pub machines: MachineFacts,
    /// Values of `let` variables that an inventory path is set to: walked at that path.
    pub(crate) references: Vec<Reference>,
    /// Clan evaluations of their own in this file (see [`OwnClan`]), outermost first.
    pub own_clans: Vec<OwnClan>,
    /// `inventory.instances = <expr>` where the expression is not an attribute
    /// set literal (`import ./instances.nix`): the whole bindings. No
    /// `instances.<name>` can be added next to one in the same attribute set.
    pub opaque_instances: Vec<Span>,
    /// Position in `instances` of each (clan, service, instance), for grouping bindings.
    index: foldhash::HashMap<(Option<usize>, String, String), usize>,
    /// Position in `new_instances` of each (clan, name).
    new_index: foldhash::HashMap<(Option<usize>, String), usize>,
}

/// A clan evaluation of its own inside a file: an attribute set that defines
/// `inventory` and
///
/// - a literal `directory` other than the directory of the clan the file
///   belongs to (a test harness's `clan = { directory = ./.; … }`, a
///   `buildClan { directory = ./.; … }` below the flake), or
/// - neither `directory` nor `self`, as the argument of a function whose name
///   says clan or inventory (`createTestClan { … }`, `buildInventory { … }`):
///   a real clan needs one of them, a test harness does not.
///
/// What it defines does not meet what the rest of the flake defines: its own
/// machines, tags and instance names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnClan {
    pub range: Span,
    /// Its `directory`, absolute, when it has one.
    pub directory: Option<std::path::PathBuf>,
    /// Its machines and tags, as far as they are literal.
    pub machines: MachineFacts,
}

/// Where a file is, for finding the clans of its own (see [`OwnClan`]).
#[derive(Debug, Clone, Copy)]
pub struct ClanDirs<'a> {
    /// The directory of the file.
    pub file_dir: &'a std::path::Path,
    /// The directory of the clan the file belongs to.
    pub clan_dir: &'a std::path::Path,
}

/// An `inventory.instances.<name>` (the new format), possibly split over bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub name: String,
    /// As [`LegacyInstance::clan`].
    pub clan: Option<usize>,
    /// Every binding that spells the name, in source order (`label` is the name key).
    pub bindings: Vec<InstanceBinding>,
}

impl LegacyFacts {
    /// The innermost clan of its own that holds `offset`.
    pub fn clan_at(&self, offset: usize) -> Option<usize> {
        self.own_clans
            .iter()
            .rposition(|c| c.range.start <= offset && offset < c.range.end)
    }

    /// The machine facts of the clan of an instance: its own clan's, or the file's.
    pub fn machines_of(&self, clan: Option<usize>) -> &MachineFacts {
        match clan.and_then(|c| self.own_clans.get(c)) {
            Some(own) => &own.machines,
            None => &self.machines,
        }
    }

    /// Adds a binding to the new-format instance `name`, creating it on first sight.
    pub(crate) fn add_new_instance_binding(&mut self, name: &str, binding: InstanceBinding) {
        let clan = self.clan_at(binding.binding.start);
        let key = (clan, name.to_owned());
        if let Some(&i) = self.new_index.get(&key) {
            let existing = &mut self.new_instances[i];
            if !existing.bindings.contains(&binding) {
                existing.bindings.push(binding);
            }
        } else {
            self.new_index.insert(key, self.new_instances.len());
            self.new_instances.push(NewInstance {
                name: name.to_owned(),
                clan,
                bindings: vec![binding],
            });
        }
    }

    /// Adds a binding to the instance `(service, instance)`, creating it on first sight.
    pub(crate) fn add_instance_binding(
        &mut self,
        service: &str,
        instance: &str,
        binding: InstanceBinding,
        inside_update: bool,
    ) {
        let clan = self.clan_at(binding.binding.start);
        let key = (clan, service.to_owned(), instance.to_owned());
        if let Some(&i) = self.index.get(&key) {
            let existing = &mut self.instances[i];
            if !existing.bindings.contains(&binding) {
                existing.bindings.push(binding);
            }
            existing.inside_update |= inside_update;
        } else {
            self.index.insert(key, self.instances.len());
            self.instances.push(LegacyInstance {
                service: service.to_owned(),
                instance: instance.to_owned(),
                clan,
                bindings: vec![binding],
                inside_update,
            });
        }
    }
}
