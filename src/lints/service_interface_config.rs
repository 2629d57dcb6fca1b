//! CM201: a clan.service role interface that defines `config`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM201",
    name: "service-interface-config",
    severity: Severity::Error,
    summary: "`roles.<role>.interface` of a clan.service defines `config`; an interface declares options only",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports `config` inside `roles.<role>.interface` of a module with
`_class = "clan.service"`.

## Why

The interface is the abstract type of a role's settings: clan evaluates it
without a machine, and the settings come from the inventory. clan-core's
`lib/inventory/distributed-service/service-module.nix` documents it as "an
abstract module which should define 'options' for the role's settings". A
default belongs in the option declaration (`default = …;`); configuration that
depends on the machine belongs in `perInstance` or `perMachine`. Legacy
clanModules set `config.clan.<service>` in the role file itself; moved as they
were into an interface, those definitions do not do what they did.

## Example

```nix
roles.server.interface = {
  options.port = lib.mkOption { type = lib.types.port; };
  config.port = 8080;
};
```

Declare the default with the option:

```nix
roles.server.interface = {
  options.port = lib.mkOption { type = lib.types.port; default = 8080; };
};
```
"#,
};

pub fn finding(span: Span, role: &str) -> Finding {
    Finding::new(
        &RULE,
        format!("the interface of role `{role}` defines `config`"),
        Label::new(span, "not an option declaration"),
    )
    .with_help(
        "declare defaults in the options (`default = …;`); configure machines in `perInstance` or `perMachine`",
    )
}
