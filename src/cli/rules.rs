//! `rules`, `explain`, `completions` and `man`.

use std::io::{self, Write};

use clap::CommandFactory;

use super::{Cli, RulesFormat, StandardOutput};
use crate::lints::{Fixability, RULES, find_rule};

pub(super) fn print(format: RulesFormat) -> io::Result<()> {
    let mut out = StandardOutput::lock();
    match format {
        RulesFormat::Human => {
            let width = RULES.iter().map(|r| r.name.len()).max().unwrap_or(0);
            for rule in RULES {
                let fix = match rule.fix {
                    Fixability::Always => "fix",
                    Fixability::Sometimes => "fix*",
                    Fixability::Never => "-",
                };
                writeln!(
                    out,
                    "{}  {:<width$}  {:<8} {:<5} {}",
                    rule.code,
                    rule.name,
                    rule.severity.as_str(),
                    fix,
                    rule.summary
                )?;
            }
            writeln!(
                out,
                "\nfix* = fixed when the mapping is certain; `clan-migrate explain CODE` for details"
            )
        }
        RulesFormat::Json => {
            let rules: Vec<_> = RULES
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "code": r.code,
                        "name": r.name,
                        "severity": r.severity,
                        "fix": r.fix,
                        "summary": r.summary,
                        "docs": r.docs,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rules)?;
            writeln!(out)
        }
    }
}

pub(super) fn explain(code: &str) -> io::Result<u8> {
    match find_rule(code) {
        Some(rule) => {
            let mut out = StandardOutput::lock();
            writeln!(out, "{} ({}): {}\n", rule.code, rule.name, rule.summary)?;
            write!(out, "{}", rule.docs)?;
            Ok(0)
        }
        None => {
            writeln!(
                io::stderr(),
                "clan-migrate: error: unknown rule `{code}` (`clan-migrate rules` lists them)"
            )?;
            Ok(2)
        }
    }
}

/// A completion script for `shell`, from the command-line definition.
pub(super) fn completions(shell: clap_complete::Shell) -> io::Result<()> {
    let mut out = StandardOutput::lock();
    clap_complete::generate(shell, &mut Cli::command(), "clan-migrate", &mut out);
    out.flush()
}

/// The manual page, from the command-line definition.
pub(super) fn man() -> io::Result<()> {
    let mut out = StandardOutput::lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()
}
