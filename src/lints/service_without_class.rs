//! CM206: a module a clan registers in `modules` without `_class`.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM206",
    name: "service-without-class",
    severity: Severity::Info,
    summary: "a module registered in a clan's `modules` does not say `_class = \"clan.service\"`",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports a module written inline where a clan registers its own services
(`clan.modules.<name> = { … };`, or `modules.<name>` in the argument of
`clan-core.lib.clan` / `buildClan`) that does not set `_class`.

## Why

clan evaluates the modules of `modules` as class `clan.service`
(clan-core `lib/evalService.nix`), so `_class` is not required there; it is
information (severity `info`, which never fails a run). It marks the module
wherever else it is used: a clan.service module given to NixOS by mistake then
fails with a message that names its class instead of an unknown option, and the
other `CM2xx` rules recognise a clan.service module by it, so a module without
it is not checked by them.

## Example

```nix
clan.modules.hello = {
  _class = "clan.service";
  manifest.name = "hello";
  roles.default = { };
};
```
"#,
};

pub fn finding(span: Span, name: &str) -> Finding {
    Finding::new(
        &RULE,
        format!("module `{name}` is registered in the clan's `modules` without `_class`"),
        Label::new(span, "registered here"),
    )
    .with_help("add `_class = \"clan.service\";` to the module")
}
