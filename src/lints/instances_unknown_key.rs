//! CM103: an attribute the new instance format does not have.

use super::{Fixability, Rule};
use crate::lints::{Finding, Label, Severity};
use crate::text::Span;

pub static RULE: Rule = Rule {
    code: "CM103",
    name: "instances-unknown-key",
    severity: Severity::Error,
    summary: "an attribute that `inventory.instances` does not have (`config`, `meta`, `machines`, …)",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports instance-level attributes other than `module` and `roles`
(`config`, `meta`, `enabled`, `machines`, `extraModules`, `imports`, …), and
role attributes other than `machines`, `tags`, `settings` and `extraModules`.

## Why

A clan.service instance has exactly `module` and `roles`; anything else fails
evaluation ("does not exist"). Hand migrations often keep legacy attributes.
Where the content goes depends on the module's roles, so this needs a human
(or `clan-migrate fix` on the legacy definition, which knows the roles).

## Example

```nix
inventory.instances.sshd-clan = {
  roles.server.tags = [ "all" ];
  config.certificate.searchDomains = [ "example.com" ];
};
```

Move `certificate.searchDomains` to `roles.server.settings` and
`roles.client.settings` (both roles declare it).
"#,
};

pub fn finding(instance: &str, span: Span, path: &str, target: &str) -> Finding {
    Finding::new(
        &RULE,
        format!(
            "instance `{}` has `{path}`, which the new format does not have",
            instance
        ),
        Label::new(span, "not an attribute of an instance"),
    )
    .with_help(format!("its content belongs in {target}"))
}
