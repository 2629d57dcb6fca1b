//! CM202: `perInstance` / `perMachine` returning an attribute clan does not read.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

/// What `perInstance` and `perMachine` may return (clan-core
/// `lib/inventory/distributed-service/service-module.nix`): the result is a
/// module whose options are these three, so the module system's own keys
/// (`options`, `config`, `imports`, …) are allowed too.
pub const RESULTS: &[&str] = &[
    "nixosModule",
    "darwinModule",
    "exports",
    "options",
    "config",
    "imports",
    "_file",
    "key",
    "_class",
    "_module",
    "freeformType",
];

pub static RULE: Rule = Rule {
    code: "CM202",
    name: "service-unknown-result",
    severity: Severity::Error,
    summary: "`perInstance` or `perMachine` returns an attribute other than `nixosModule`, `darwinModule` or `exports`",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports an attribute of the set that `roles.<role>.perInstance` or
`perMachine` of a clan.service returns, other than `nixosModule`,
`darwinModule` and `exports` (and the module system's own `options`, `config`,
`imports`: the result is a module).

## Why

Those three are the only results clan-core reads (their options are declared
in `lib/inventory/distributed-service/service-module.nix`); anything else fails
evaluation with "The option … does not exist" once a machine uses the service,
and a legacy habit such as returning `config` or `services` directly never
reaches the machine.

## Example

```nix
roles.default.perInstance = { settings, ... }: {
  services.nginx.enable = true;
};
```

Return a NixOS module instead:

```nix
roles.default.perInstance = { settings, ... }: {
  nixosModule = { services.nginx.enable = true; };
};
```
"#,
};

pub fn finding(span: Span, scope: &str, key: &str) -> Finding {
    Finding::new(
        &RULE,
        format!("`{scope}` returns `{key}`, which clan.service does not read"),
        Label::new(span, "not a result of a clan.service"),
    )
    .with_help(format!(
        "move it into `nixosModule` (or `darwinModule`); `{scope}` may return only `nixosModule`, `darwinModule` and `exports`"
    ))
}
