//! CM104: `module.name = "@clan/…"`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::syntax::quote::nix_string;
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM104",
    name: "instances-clan-prefixed-module",
    severity: Severity::Error,
    summary: "`module.name = \"@clan/<name>\"` is not a clan-core module name",
    fix: Fixability::Sometimes,
    docs: r#"## What it does

Reports `module.name` values that start with `@clan/`: for a module taken
from clan-core (no `module.input`, or clan-core's input), always; for a module
of another input (`module.input = "self"`), when no file of the flake
registers a module of that name (`clan.modules."@clan/<name>" = …;`).

## Why

clan-core's modules are named plainly (`importer`, `borgbackup`, …). `@clan/`
names exist only as aliases that a flake registers itself (clan-core's own
tests do); the upstream migration guide's importer example still uses
`@clan/importer`, and evaluation fails with it.

## Example

```nix
inventory.instances.importer-base.module.name = "@clan/importer";
```

`clan-migrate fix`:

```nix
inventory.instances.importer-base.module.name = "importer";
```
"#,
};

pub fn finding(
    instance: &str,
    span: Span,
    name: &str,
    plain: &str,
    from_clan_core: bool,
) -> Finding {
    let finding = Finding::new(
        &RULE,
        format!(
            "instance `{}` uses the module name {}",
            instance,
            nix_string(name)
        ),
        Label::new(
            span,
            if from_clan_core {
                "not a clan-core module name"
            } else {
                "no module of this name is registered in this clan"
            },
        ),
    );
    if from_clan_core {
        finding.with_help(format!("`clan-migrate fix` writes {}", nix_string(plain)))
    } else {
        finding.with_help(format!(
            "register it (`clan.modules.{} = …;`), or use clan-core's {} without `module.input`",
            nix_string(name),
            nix_string(plain)
        ))
    }
}
