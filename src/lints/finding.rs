//! Rules (what they are: code, severity, docs) and findings: what a rule
//! reports, with labelled source spans.

use serde::{Deserialize, Serialize};

use crate::text::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never fails a run.
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Whether `clan-migrate fix` can repair what a rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fixability {
    /// `fix` repairs every instance of it.
    Always,
    /// `fix` repairs it when the mapping is certain, and explains otherwise.
    Sometimes,
    /// Needs a human.
    Never,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, e.g. `CM001`, used in suppressions and `--format json`.
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what the rule reports.
    pub summary: &'static str,
    pub fix: Fixability,
    /// Markdown with `## What it does`, `## Why`, `## Example`.
    pub docs: &'static str,
}

/// A span with a message, pointing into the file's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// One reported problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(with = "rule_by_code")]
    pub rule: &'static Rule,
    pub message: String,
    pub primary: Label,
    /// Other places that contribute, in source order.
    pub secondary: Vec<Label>,
    /// What `fix` does about it, or why it cannot.
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// The edits that repair it, when the rule can repair it on its own (a
    /// legacy instance's migration is planned per instance instead: see
    /// `rewrite::plan`). `fix` applies the fixes of the findings that are not
    /// suppressed.
    pub fix: Vec<crate::text::edit::TextEdit>,
}

impl Finding {
    pub fn new(rule: &'static Rule, message: impl Into<String>, primary: Label) -> Self {
        Finding {
            rule,
            message: message.into(),
            primary,
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
            fix: Vec::new(),
        }
    }

    pub fn with_fix(mut self, edits: Vec<crate::text::edit::TextEdit>) -> Self {
        self.fix = edits;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_secondary(mut self, label: Label) -> Self {
        self.secondary.push(label);
        self
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

/// A rule is kept (for findings held between the passes) as its code.
mod rule_by_code {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::super::{Rule, find_rule};

    pub fn serialize<S: Serializer>(rule: &&'static Rule, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(rule.code)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Rule, D::Error> {
        let code = <&str>::deserialize(d)?;
        find_rule(code).ok_or_else(|| serde::de::Error::custom(format!("unknown rule {code}")))
    }
}
