//! CM204: an interface option whose type no JSON value has.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

/// Option types of an interface that the inventory cannot give.
pub const TYPES: &[&str] = &[
    "package",
    "functionTo",
    "deferredModule",
    "deferredModuleWith",
];

pub static RULE: Rule = Rule {
    code: "CM204",
    name: "service-settings-not-serializable",
    severity: Severity::Warning,
    summary: "an option of a clan.service interface has a type that settings (JSON) cannot hold",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports `types.package`, `types.functionTo`, `types.deferredModule` and
`types.deferredModuleWith` in `roles.<role>.interface` of a clan.service.

## Why

A role's settings are data: the inventory gives them, `inventory.json` stores
them and the clan CLI edits them, all as JSON. A package, a function or a module
cannot be written there. Take a name (a string) and look the package up in
`perInstance`, or move the module to `roles.<role>.extraModules` of the instance.

## Example

```nix
roles.default.interface.options.package = lib.mkOption { type = lib.types.package; };
```

Take the attribute name instead:

```nix
roles.default.interface.options.packageName = lib.mkOption { type = lib.types.str; };
```
"#,
};

pub fn finding(span: Span, role: &str, ty: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "the interface of role `{role}` uses `types.{ty}`, which JSON settings cannot hold"
        ),
        Label::new(span, "not serializable"),
    )
    .with_help("take a string (a name or a path) and resolve it in `perInstance`")
}
