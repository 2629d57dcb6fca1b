//! CM205: legacy clanModule names in a clan.service module.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM205",
    name: "service-legacy-leftover",
    severity: Severity::Error,
    summary: "a clan.service module uses `instanceConfig`, which only legacy clanModules had",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports `instanceConfig` in a module with `_class = "clan.service"`.
(Reads of `inventory.services`, which no longer exists, are `CM002`.)

## Why

Legacy role modules received their instance's configuration through
`instanceConfig`; a clan.service receives it as the `settings` argument of
`perInstance` (`roles.<role>.perInstance = { settings, instanceName, roles, ... }: …`).
In a clan.service the name is undefined.

## Example

```nix
roles.default.perInstance = { settings, ... }: {
  nixosModule.services.foo.port = settings.port;
};
```
"#,
};

pub fn finding(span: Span) -> Finding {
    Finding::new(
        &RULE,
        "`instanceConfig` in a clan.service module",
        Label::new(span, "legacy clanModule argument"),
    )
    .with_help("use the `settings` argument of `perInstance`")
}
