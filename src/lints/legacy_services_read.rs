//! CM002: an expression reads `….inventory.services…`.

use super::{Fixability, Rule};
use crate::inventory::LegacyRead;
use crate::lints::{Finding, Label, Severity};

pub static RULE: Rule = Rule {
    code: "CM002",
    name: "legacy-services-read",
    severity: Severity::Warning,
    summary: "an expression reads `inventory.services`, which no longer exists",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports expressions that read the legacy services tree, such as
`config.clan.inventory.services.borgbackup` in a NixOS module or
`self.clan.inventory.services` in a flake.

## Why

After migration the data lives under `inventory.instances."<service>-<instance>"`
with a different shape (`settings` instead of `config`, machines as attribute
sets). The machine-side option `clan.inventory.services` was removed upstream.
These reads fail or silently see nothing, and no tool can rewrite them without
knowing what the code wants, so they are reported for manual review.

## Example

```nix
{ config, ... }:
{
  networking.hosts = config.clan.inventory.services.zerotier.default.roles.peer.machines;
}
```

Read the same data from `inventory.instances` (e.g. the `zerotier-default`
instance's `roles.peer.machines`, now an attribute set) or from the service's
own exported options.
"#,
};

pub fn finding(read: &LegacyRead) -> Finding {
    Finding::new(
        &RULE,
        "read of the legacy `inventory.services` tree",
        Label::new(read.span, "reads `inventory.services`"),
    )
    .with_help(
        "read the migrated instance under `inventory.instances` instead; this needs a manual edit",
    )
}
