//! Command-line interface and the mapping from a run to an exit code.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::check::{self, Input};
use crate::lints::{RULES, find_rule};
use crate::report::{self, Format};

const EXIT_CODES: &str = "\
Exit codes:
  0  nothing left to migrate
  1  findings remain
  2  usage error, unreadable file, or a file that does not parse";

#[derive(Debug, Parser)]
#[command(
    name = "clan-migrate",
    version,
    about = "Migrate Clan inventories from `inventory.services` to `inventory.instances`, and lint both",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report legacy `inventory.services` definitions (a CI gate)
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// List all rules
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
    },
    /// Explain a rule: what it reports, why, and an example
    Explain {
        /// A rule code (`CM001`) or name (`legacy-service-instance`)
        code: String,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files and directories to check (`-` reads standard input) [default: .]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to colour human output (`NO_COLOR` is honoured with `auto`)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Name of the standard input in messages (e.g. `clan/inventory.nix`)
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Do not print the summary line on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Human,
    Json,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Rules { format } => print_rules(format).map(|()| 0),
        Command::Explain { code } => explain(&code),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`clan-migrate check | head`) is not an error of ours.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(0),
        Err(err) => {
            let _ = writeln!(io::stderr(), "clan-migrate: error: {err}");
            ExitCode::from(2)
        }
    }
}

fn run_check(args: &CheckArgs) -> io::Result<u8> {
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && args.paths.len() > 1 {
        writeln!(
            io::stderr(),
            "clan-migrate: error: `-` (standard input) cannot be combined with other paths"
        )?;
        return Ok(2);
    }
    let input = if stdin {
        Input::Stdin {
            name: args
                .stdin_filename
                .clone()
                .unwrap_or_else(|| PathBuf::from("<stdin>")),
        }
    } else {
        Input::Paths(args.paths.clone())
    };
    let report = check::run(&input);
    let color = use_color(args.color);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    report::render(&report, args.format, color, &mut out)?;
    out.flush()?;
    if !args.quiet {
        writeln!(io::stderr(), "{}", report::summary_line(&report))?;
    }
    Ok(report.exit_code())
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn print_rules(format: RulesFormat) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        RulesFormat::Human => {
            for rule in RULES {
                let fix = match rule.fix {
                    crate::lints::Fixability::Always => "fix",
                    crate::lints::Fixability::Sometimes => "fix*",
                    crate::lints::Fixability::Never => "-",
                };
                writeln!(
                    out,
                    "{}  {:<26} {:<8} {:<5} {}",
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

fn explain(code: &str) -> io::Result<u8> {
    match find_rule(code) {
        Some(rule) => {
            let mut out = io::stdout().lock();
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
