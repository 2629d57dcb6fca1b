//! CM101: `roles.<role>.machines` is a list under `inventory.instances`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM101",
    name: "instances-machine-list",
    severity: Severity::Error,
    summary: "`roles.<role>.machines` of an instance is a list; the new format takes an attribute set",
    fix: Fixability::Always,
    docs: r#"## What it does

Reports `roles.<role>.machines = [ … ];` inside `inventory.instances`.

## Why

The legacy format took a list of machine names; `inventory.instances` takes an
attribute set (`machines.<name>.settings`). A list fails evaluation with
"is not of type `attribute set of (submodule)`". The option documentation of
`inventory.modules` upstream still shows the list form.

## Example

```nix
inventory.instances.sshd-default.roles.server.machines = [ "web" "db" ];
```

`clan-migrate fix`:

```nix
inventory.instances.sshd-default.roles.server.machines = { web = { }; db = { }; };
```
"#,
};

pub fn finding(instance: &str, span: Span, role: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "`roles.{role}.machines` of instance `{}` is a list",
            instance
        ),
        Label::new(span, "a list of machine names"),
    )
    .with_help("`clan-migrate fix` writes it as an attribute set: `{ <machine> = { }; … }`")
}
