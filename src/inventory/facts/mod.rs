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
    /// Position in `instances` of each (service, instance), for grouping bindings.
    index: foldhash::HashMap<(String, String), usize>,
    /// Position in `new_instances` of each name.
    new_index: foldhash::HashMap<String, usize>,
}

/// An `inventory.instances.<name>` (the new format), possibly split over bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub name: String,
    /// Every binding that spells the name, in source order (`label` is the name key).
    pub bindings: Vec<InstanceBinding>,
}

impl LegacyFacts {
    /// Adds a binding to the new-format instance `name`, creating it on first sight.
    pub(crate) fn add_new_instance_binding(&mut self, name: &str, binding: InstanceBinding) {
        if let Some(&i) = self.new_index.get(name) {
            let existing = &mut self.new_instances[i];
            if !existing.bindings.contains(&binding) {
                existing.bindings.push(binding);
            }
        } else {
            self.new_index
                .insert(name.to_owned(), self.new_instances.len());
            self.new_instances.push(NewInstance {
                name: name.to_owned(),
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
        let key = (service.to_owned(), instance.to_owned());
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
                bindings: vec![binding],
                inside_update,
            });
        }
    }
}
