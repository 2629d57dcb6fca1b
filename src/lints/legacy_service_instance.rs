//! CM001: a legacy `inventory.services.<service>.<instance>`.

use super::{Fixability, Rule};
use crate::inventory::LegacyInstance;
use crate::inventory::naming::default_instance_name;
use crate::lints::{Finding, Label, Severity};
use crate::rewrite::plan::{InstancePlan, Outcome};
use crate::syntax::quote::{nix_attr, nix_attr_path, nix_string};
use crate::text::source::FileKind;

pub static RULE: Rule = Rule {
    code: "CM001",
    name: "legacy-service-instance",
    severity: Severity::Error,
    summary: "a legacy `inventory.services.<service>.<instance>` that must move to `inventory.instances`",
    fix: Fixability::Sometimes,
    docs: r#"## What it does

Reports every instance of the legacy `inventory.services.<service>.<instance>`
format, once per (service, instance), wherever it is written: as the argument of
`buildClan` / `clan-core.lib.clan`, in a flake-parts module (`clan.inventory…`,
`flake.clan.inventory…`), in a module file, in an inventory file pulled in with
`inventory = import ./x.nix;` or `inventory.imports = [ ./x.nix ];`, or in
`inventory.json`. Nested sets, dotted paths, quoted keys and `${"literal"}` keys
are all understood. When an instance is split over several bindings, the first
one is the primary location and the others are labelled too.

## Why

Clan replaced `inventory.services` with `inventory.instances` (clan.service
modules). Clan 25.11 silently ignores `inventory.services` (the services are
simply not deployed), and since clan 26.05 any definition is an evaluation
error. There is no automatic migration upstream.

## Example

Before:

```nix
inventory.services.borgbackup.main = {
  roles.client.machines = [ "laptop" ];
  roles.server.machines = [ "nas" ];
  roles.server.config.directory = "/srv/borg";
};
```

After (`clan-migrate fix`):

```nix
inventory.instances.borgbackup-main = {
  module.name = "borgbackup";
  roles.client.machines = { laptop = { }; };
  roles.server.machines = { nas = { }; };
  roles.server.settings.directory = "/srv/borg";
};
```

The new name is `<service>-<instance>`. Role `config` becomes `settings`,
machine lists become attribute sets, instance-level and per-machine `config`
move to the role that declares them. When the mapping is not certain (for
example per-machine config of a machine that is a member of several roles) the
instance is left untouched and the finding says what to do by hand.
"#,
};

/// The finding for one legacy instance; `plan` says what `fix` does with it.
pub fn finding(
    instance: &LegacyInstance,
    kind: FileKind,
    plan: Option<&InstancePlan>,
) -> Option<Finding> {
    let (first, rest) = instance.bindings.split_first()?;
    let name = nix_attr_path([instance.service.as_str(), instance.instance.as_str()]);
    let target = default_instance_name(&instance.service, &instance.instance);
    let mut finding = Finding::new(
        &RULE,
        format!("legacy service instance `{name}` in `inventory.services`"),
        Label::new(first.label, "defined here"),
    );
    for binding in rest {
        finding = finding.with_secondary(Label::new(binding.label, "also part of this instance"));
    }
    let help = match (kind, plan.map(|p| &p.outcome)) {
        (FileKind::InventoryJson, Some(Outcome::Migrated)) => format!(
            "`clan-migrate fix` moves it to `instances` as {}",
            nix_string(&target)
        ),
        (FileKind::Nix, Some(Outcome::Migrated)) => {
            let module = plan
                .and_then(|p| p.module.as_deref())
                .unwrap_or(&instance.service);
            format!(
                "`clan-migrate fix` rewrites it as `inventory.instances.{}` with `module.name = {}`",
                nix_attr(&target),
                nix_string(module)
            )
        }
        (_, Some(Outcome::Left(reason, more))) => {
            if let Some(span) = reason.span {
                finding =
                    finding.with_secondary(Label::new(span, "this is why it is not migrated"));
            }
            for other in more {
                finding = finding.with_note(format!("also: {}", other.message));
            }
            format!("not migrated automatically: {}", reason.message)
        }
        (_, None) => format!("migrate it to `inventory.instances.{}`", nix_attr(&target)),
    };
    finding = finding.with_help(help);
    for note in plan.map(|p| p.notes.as_slice()).unwrap_or_default() {
        finding = finding.with_note(note.clone());
    }
    if instance.inside_update {
        finding = finding.with_note(
            "this instance is inside a `//` update, so its final value depends on the other operand",
        );
    }
    Some(finding)
}
