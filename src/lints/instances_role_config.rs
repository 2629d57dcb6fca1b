//! CM102: `roles.<role>.config` under `inventory.instances`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM102",
    name: "instances-role-config",
    severity: Severity::Error,
    summary: "`roles.<role>.config` under `inventory.instances` must be `settings`",
    fix: Fixability::Always,
    docs: r#"## What it does

Reports `roles.<role>.config` inside `inventory.instances`.

## Why

Legacy roles had `config`; clan.service roles have `settings`. Under
`instances`, `config` is an unknown option and evaluation fails.

## Example

```nix
inventory.instances.borgbackup-home.roles.server.config.directory = "/srv/borg";
```

`clan-migrate fix`:

```nix
inventory.instances.borgbackup-home.roles.server.settings.directory = "/srv/borg";
```
"#,
};

pub fn finding(instance: &str, span: Span, role: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "`roles.{role}.config` of instance `{}` should be `settings`",
            instance
        ),
        Label::new(span, "legacy name"),
    )
    .with_help("`clan-migrate fix` renames it to `settings`")
}
