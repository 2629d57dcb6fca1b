//! CM003: a legacy definition whose content is only known after evaluation.

use super::{Fixability, Rule};
use crate::inventory::{Level, UnmigratableForm, UnmigratableReason};
use crate::lints::{Finding, Label, Severity};

pub static RULE: Rule = Rule {
    code: "CM003",
    name: "unmigratable-legacy-form",
    severity: Severity::Error,
    summary: "a legacy `inventory.services` definition that cannot be migrated without evaluating Nix",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports legacy definitions whose services or instances cannot be known by
reading the file:

- a computed name: `inventory.services.${name}.default = …;`
- a value that is not an attribute set literal:
  `inventory.services = base // { … };`, `services = lib.mkIf cond { … };`,
  `services.borgbackup = mkBackups hosts;`
- an inherited value: `inventory = { inherit (shared) services; };`

## Why

Any definition of `inventory.services` fails evaluation since clan 26.05, so
these must be rewritten too, but the instances they produce only exist after
evaluation. `clan-migrate` never guesses: it reports the place and why.

## Example

```nix
inventory.services = shared.services // {
  sshd.default.roles.server.tags = [ "all" ];
};
```

Write the result as literal `inventory.instances` definitions (evaluate
`shared.services` with `nix eval` to see what it contains), or move the
computation so that it produces `instances` in the new shape.
"#,
};

pub fn finding(form: &UnmigratableForm) -> Finding {
    let (message, label) = match &form.reason {
        UnmigratableReason::DynamicKey { level } => (
            format!(
                "{} under `{}` is computed",
                level.noun(),
                trim_path(&form.path)
            ),
            "computed name".to_owned(),
        ),
        UnmigratableReason::NonLiteral {
            level: Level::Inventory,
            what,
        } => (
            format!(
                "`{}` is {what} that clan-migrate cannot see into: legacy `services` in it would not be found",
                form.path
            ),
            (*what).to_owned(),
        ),
        UnmigratableReason::NonLiteral { level, what } => (
            format!(
                "{} is {what}, not an attribute set literal",
                subject(*level, &form.path)
            ),
            (*what).to_owned(),
        ),
        UnmigratableReason::Inherited { level, from } => (
            match from {
                Some(from) => format!("{} is inherited from `{from}`", subject(*level, &form.path)),
                None => format!(
                    "{} is inherited from a variable",
                    subject(*level, &form.path)
                ),
            },
            "inherited".to_owned(),
        ),
        UnmigratableReason::NotAnObject { level } => (
            format!("{} is not a JSON object", subject(*level, &form.path)),
            "not an object".to_owned(),
        ),
    };
    Finding::new(&RULE, message, Label::new(form.span, label)).with_help(
        "its instances are only known after evaluation; rewrite them by hand as literal `inventory.instances` definitions",
    )
}

fn subject(level: Level, path: &str) -> String {
    match level {
        Level::Inventory | Level::Services => format!("`{path}`"),
        Level::Service | Level::Instance => format!("legacy `{path}`"),
    }
}

/// `inventory.services.${…}` → `inventory.services`
fn trim_path(path: &str) -> &str {
    path.rsplit_once('.').map_or(path, |(head, _)| head)
}
