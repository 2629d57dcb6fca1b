//! CM203: a clan.service module without `manifest.name`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM203",
    name: "service-missing-manifest-name",
    severity: Severity::Error,
    summary: "a clan.service module does not set `manifest.name`",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports a module with `_class = "clan.service"` that sets no `manifest.name`
(and no `manifest` computed elsewhere).

## Why

`manifest.name` has no default (clan-core
`lib/inventory/distributed-service/service-module.nix`): clan reads it for the
context of every error the service raises, so a module without it fails with
"The option `manifest.name' was accessed but has no value defined" instead of
its own message.

## Example

```nix
{
  _class = "clan.service";
  manifest.name = "my-monitoring";
  roles.agent = { };
}
```
"#,
};

pub fn finding(class: Span) -> Finding {
    Finding::new(
        &RULE,
        "clan.service module without `manifest.name`",
        Label::new(class, "a clan.service module"),
    )
    .with_help("add `manifest.name = \"<name>\";` (and `manifest.description`)")
}
