//! CM108: a zerotier instance next to a legacy one of another name.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM108",
    name: "zerotier-instance-renamed",
    severity: Severity::Warning,
    summary: "a zerotier instance defined next to a legacy zerotier instance of another name",
    fix: Fixability::Never,
    docs: r#"## What it does

Warns when a file defines a zerotier instance under `inventory.instances` and,
at the same time, a legacy `inventory.services.zerotier.<instance>` whose
migrated name would be different.

## Why

Since clan 26.05, ZeroTier's network id and IP vars are keyed by the instance
name (`zerotier-network-<instance>`). A new instance with another name than the
one the legacy network is migrated to starts a new network: machines end up on
two networks, or lose their addresses, until the vars are moved by hand. The
name chosen when migrating is permanent.

## Example

```nix
inventory.services.zerotier.home.roles.controller.machines = [ "router" ];
inventory.instances.mesh = {
  module.name = "zerotier";
  roles.controller.machines.router = { };
};
```

Keep one instance: migrate the legacy one (`clan-migrate fix` names it
`zerotier-home`) and delete the other, or rename it on purpose and move the vars
before deploying.
"#,
};

pub fn finding(new_name: &str, span: Span, legacy: &str, legacy_target: &str) -> Finding {
    Finding::new(
        &RULE,
        format!("zerotier instance `{new_name}` is defined next to the legacy zerotier instance `{legacy}`"),
        Label::new(span, "another zerotier network"),
    )
    .with_help(format!(
        "ZeroTier vars are keyed by instance name: the legacy network migrates to `{legacy_target}`; keep one instance, or move the vars before deploying"
    ))
}
