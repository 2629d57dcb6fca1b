//! CM005: an empty legacy `services` (or service) definition.

use super::{Fixability, Rule};
use crate::inventory::EmptyLegacyServices;
use crate::lints::{Finding, Label, Severity};
use crate::syntax::quote::nix_attr;

pub static RULE: Rule = Rule {
    code: "CM005",
    name: "empty-legacy-services",
    severity: Severity::Error,
    summary: "an empty `inventory.services` (or service) definition that still breaks evaluation",
    fix: Fixability::Always,
    docs: r#"## What it does

Reports `inventory.services = { };`, `services.<service> = { };` and
`"services": {}` in `inventory.json`: legacy definitions that hold no instance.

## Why

Since clan 26.05 *any* definition of `inventory.services`, even an empty one,
fails evaluation ("The option definition `services' … no longer has any
effect"). Templates shipped `"services": {}` in `inventory.json` until mid-2025.
The clan CLI removes an empty `services` from `inventory.json` only when
`clan machines update` runs; Nix files are never touched.

## Example

```nix
inventory = {
  machines.jon = { };
  services = { };
};
```

Delete the empty definition.
"#,
};

/// `fixed`: `clan-migrate fix` deletes it (always in Nix files; in inventory.json
/// when the file is in the clan CLI's layout).
pub fn finding(empty: &EmptyLegacyServices, fixed: bool) -> Finding {
    let what = match &empty.service {
        None => "`services`".to_owned(),
        Some(service) => format!("legacy service `{}`", nix_attr(service)),
    };
    Finding::new(
        &RULE,
        format!("empty {what} in the inventory still fails evaluation since clan 26.05"),
        Label::new(empty.span, "defines no instance"),
    )
    .with_help(if fixed {
        "`clan-migrate fix` deletes this definition"
    } else {
        "delete it by hand (`clan machines update` also removes an empty `services` from inventory.json)"
    })
}
