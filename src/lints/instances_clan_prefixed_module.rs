//! CM104: `module.name = "@clan/…"`.

use super::{Fixability, Rule};
use crate::diagnostic::{Finding, Label, Severity};
use crate::inventory::instance_checks::InstanceIssue;
use crate::inventory::naming::nix_string;

pub static RULE: Rule = Rule {
    code: "CM104",
    name: "instances-clan-prefixed-module",
    severity: Severity::Error,
    summary: "`module.name = \"@clan/<name>\"` is not a clan-core module name",
    fix: Fixability::Always,
    docs: r#"## What it does

Reports `module.name` values that start with `@clan/`.

## Why

clan-core's modules are named plainly (`importer`, `borgbackup`, …). `@clan/`
names exist only as test-local aliases inside clan-core; the upstream migration
guide's importer example still uses `@clan/importer`, and evaluation fails with
it.

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

pub fn finding(issue: &InstanceIssue, name: &str, plain: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "instance `{}` uses the module name {}",
            issue.instance,
            nix_string(name)
        ),
        Label::new(issue.span, "not a clan-core module name"),
    )
    .with_help(format!("`clan-migrate fix` writes {}", nix_string(plain)))
}
