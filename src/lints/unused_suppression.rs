//! CM004: a suppression comment that silences nothing.

use super::{Fixability, Rule};
use crate::lints::suppress::{Suppression, SuppressionProblem};
use crate::lints::{Finding, Label, Severity};

pub static RULE: Rule = Rule {
    code: "CM004",
    name: "unused-suppression",
    severity: Severity::Warning,
    summary: "a `# clan-migrate: ignore[…]` comment that silences nothing, or is malformed",
    fix: Fixability::Never,
    docs: r#"## What it does

Reports suppression comments that do not silence any finding: the code is
unknown, nothing with that code is reported on the binding below, or the
comment is not of the form `# clan-migrate: ignore[CODE, …] reason`.

## Why

A stale suppression hides the next real problem at that place, and a misspelled
one silences nothing while looking as if it did.

## Example

```nix
# clan-migrate: ignore[CM001] migrated by hand in PR #42
inventory.instances.sshd-default = { … };
```

`inventory.instances` is not a legacy definition, so the comment is unused:
delete it.
"#,
};

pub fn finding(suppression: &Suppression, problem: &SuppressionProblem) -> Finding {
    let message = match problem {
        SuppressionProblem::Unused(code) => {
            format!("unused suppression: no `{code}` finding on the next binding")
        }
        SuppressionProblem::UnknownCode(code) => {
            format!("suppression names an unknown rule `{code}`")
        }
        SuppressionProblem::Malformed => {
            "malformed suppression; expected `# clan-migrate: ignore[CODE] reason`".to_owned()
        }
    };
    Finding::new(&RULE, message, Label::new(suppression.span, ""))
        .with_help("delete the comment, or correct it (`clan-migrate rules` lists the codes)")
}
