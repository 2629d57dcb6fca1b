//! CM107: an instance's settings are defined twice.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM107",
    name: "instances-duplicate-settings",
    severity: Severity::Error,
    summary: "the same role, machine or tag settings are defined by two definitions",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports `roles.<role>.settings`, `roles.<role>.machines.<machine>.settings` or
`roles.<role>.tags.<tag>.settings` of one instance defined by two separate
definitions: two elements of `lib.mkMerge`, two files of the same clan, or a Nix
file and `inventory.json`.

## Why

Instance settings have a type that accepts exactly one definition
(`uniqueDeferredSerializableModule`): even with disjoint keys, two definitions
fail evaluation with "defined multiple times while it's expected to be unique".
Legacy `config` merged such definitions; hand migrations often keep them apart.
(Several bindings inside one attribute-set literal are one definition: Nix
merges them while parsing.)

## Example

```nix
# clan.nix
inventory.instances.sshd-default.roles.server.settings.hostKeys.rsa.enable = true;
# services.nix
inventory.instances.sshd-default.roles.server.settings.certificate.searchDomains = [ "lan" ];
```

Merge them into one `roles.server.settings = { … };` in one file.
"#,
};

pub fn finding(instance: &str, span: Span, target: &str, other: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "`{target}` of instance `{}` is defined twice (also at {other})",
            instance
        ),
        Label::new(span, "second definition"),
    )
    .with_help(
        "settings take exactly one definition: merge both into one attribute set in one place",
    )
}
