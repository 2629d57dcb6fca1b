//! CM105: string items in `roles.<role>.extraModules`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM105",
    name: "instances-string-extra-modules",
    severity: Severity::Warning,
    summary: "string `extraModules` (deprecated upstream) instead of paths",
    fix: Fixability::Sometimes,
    docs: r#"## What it does

Reports string items in `roles.<role>.extraModules` of an instance.

## Why

Strings are resolved relative to the clan directory and clan warns
"String types for 'extraModules' will be deprecated". A path literal is
explicit, checked by Nix, and does not depend on the clan directory.

## Example

In `machines/flake-module.nix` of a flake at the repository root:

```nix
roles.default.extraModules = [ "modules/base.nix" ];
```

`clan-migrate fix`:

```nix
roles.default.extraModules = [ ../modules/base.nix ];
```
"#,
};

pub fn finding(instance: &str, span: Span, role: &str, reason: Option<&str>) -> Finding {
    let finding = Finding::new(
        &RULE,
        format!(
            "`roles.{role}.extraModules` of instance `{}` has string items",
            instance
        ),
        Label::new(span, "strings are relative to the clan directory"),
    );
    match reason {
        None => finding
            .with_help("`clan-migrate fix` writes them as path literals relative to this file"),
        Some(reason) => finding.with_help(format!("write them as path literals by hand: {reason}")),
    }
}
