//! CM106: a module name that is not a clan.service, or a role it does not define.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM106",
    name: "instances-unknown-module-or-role",
    severity: Severity::Error,
    summary: "a legacy-only or removed module name, or a role the module does not define",
    fix: Fixability::Never,
    docs: r#"## What it does

For instances of clan-core modules (`module.input` absent, `null` or the
clan-core input), reports module names that only existed as legacy
clanModules (`user-password`, `iwd`, …), became NixOS options (`state-version`,
`machine-id`, `postgresql`) or were removed, and role names the module does
not define (e.g. zerotier `client`, syncthing `introducer`, data-mesher
`admin` since 26.05).

## Why

The instance fails evaluation: the module does not exist in clan-core's
clan.service modules, or "Instance … uses the following roles … But the
clan-service module … only defines roles …".

## Example

```nix
inventory.instances.wifi-home = {
  module.name = "iwd";
  roles.default.machines.laptop = { };
};
```

Use the clan.service `wifi` (its settings differ: see its README).
"#,
};

pub fn module_finding(instance: &str, span: Span, name: &str, advice: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "instance `{}` uses `{name}`, which is not a clan.service module",
            instance
        ),
        Label::new(span, "legacy or removed module"),
    )
    .with_help(advice.to_owned())
}

pub fn role_finding(
    instance: &str,
    span: Span,
    module: &str,
    role: &str,
    roles: &[String],
) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "instance `{}`: the `{module}` module has no role `{role}`",
            instance
        ),
        Label::new(span, "unknown role"),
    )
    .with_help(format!("its roles are: {}", roles.join(", ")))
}
