//! Command-line interface: the arguments, the commands (`check.rs`,
//! `fix.rs`, `rules.rs`) and the mapping from a run to an exit code.

mod check;
mod fix;
mod port;
mod rules;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::{Input, Options};
use crate::inventory::config::RuleSelection;
use crate::report::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  nothing left to migrate
  1  findings remain (for `fix` without --write: also when changes are pending;
     for `fix -`: findings remain in the fixed text, which is printed either way)
  2  usage error, no file found, unreadable file, a file that does not parse,
     or a rewrite that failed verification (nothing is written for that file)
--exit-zero turns 1 into 0.";

const PORT_EXIT_CODES: &str = "\
Exit codes:
  0  ported (--write), or nothing left to write
  1  changes are pending (without --write), or the module needs a human
     (the reasons are printed; nothing is written)
  2  not a legacy clanModule directory, an unreadable file, or a port that
     failed verification (nothing is written)";

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
    Check {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Print how many findings each rule has, instead of the findings
        #[arg(long)]
        statistics: bool,
    },
    /// Show the migration as a unified diff; apply it with --write
    #[command(after_help = EXIT_CODES)]
    Fix {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        rewrite: RewriteArgs,
        /// Write the verified rewrite in place (atomically; only files that change)
        #[arg(long)]
        write: bool,
    },
    /// Write a clan.service module that wraps a legacy clanModule directory,
    /// register it in the clan, and describe it in clan-migrate.toml
    #[command(name = "port-module", after_help = PORT_EXIT_CODES)]
    PortModule {
        /// The legacy clanModule directory (with roles/<role>.nix)
        dir: PathBuf,
        /// Write the files (verified first); without it, print them as a diff
        #[arg(long)]
        write: bool,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
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
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    Man,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files and directories (`-` reads standard input) [default: .]
    pub paths: Vec<PathBuf>,
    /// Name of the standard input in messages and for relative paths (e.g. `clan/inventory.nix`)
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Also walk what `.gitignore` and `.ignore` files ignore
    #[arg(long)]
    pub no_ignore: bool,
    /// Do not walk files or directories that match GLOB (gitignore syntax; repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Parse every file, also those that do not mention `inventory` (slower; by default
    /// such files are skipped, and their syntax errors are not reported)
    #[arg(long)]
    pub no_prefilter: bool,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Only these rules: codes, code prefixes (`CM1`) or names, comma-separated
    /// (replaces `select` of clan-migrate.toml)
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Not these rules (added to `ignore` of clan-migrate.toml)
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub ignore: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to colour human output (`NO_COLOR` is honoured with `auto`)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the summary line on stderr
    #[arg(long, short)]
    pub quiet: bool,
    /// Print what was read on stderr: files, and the clans read for named files
    #[arg(long, short)]
    pub verbose: bool,
    /// Exit 0 when findings remain (errors still exit 2)
    #[arg(long)]
    pub exit_zero: bool,
}

#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// Write `module.input = NAME` (default: the clan-core input named in the nearest flake.nix, if any)
    #[arg(long, value_name = "NAME")]
    pub module_input: Option<String>,
    /// Write `roles.<role>.tags` as attribute sets (`{ all = { }; }`) instead of keeping lists
    #[arg(long)]
    pub tags_as_attrs: bool,
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
    /// The rules reference, docs/rules.md
    Markdown,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Check {
            input,
            rules,
            output,
            statistics,
        } => check::run(&input, &rules, &output, statistics),
        Command::Fix {
            input,
            rules,
            output,
            rewrite,
            write,
        } => fix::run(&input, &rules, &output, &rewrite, write),
        Command::PortModule { dir, write, color } => port::run(&dir, write, use_color(color)),
        Command::Rules { format } => rules::print(format).map(|()| 0),
        Command::Explain { code } => rules::explain(&code),
        Command::Completions { shell } => rules::completions(shell).map(|()| 0),
        Command::Man => rules::man().map(|()| 0),
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

/// Standard output, whose errors say that they are errors writing it (a full
/// disk behind a redirection would otherwise read as a bare "No space left on
/// device"). The kind of an error is kept: a closed pipe stays a closed pipe.
pub(crate) struct StandardOutput(io::StdoutLock<'static>);

impl StandardOutput {
    pub(crate) fn lock() -> Self {
        StandardOutput(io::stdout().lock())
    }

    fn labelled(err: io::Error) -> io::Error {
        io::Error::new(
            err.kind(),
            format!("cannot write to standard output: {err}"),
        )
    }
}

impl Write for StandardOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(Self::labelled)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(Self::labelled)
    }
}

fn input_of(args: &InputArgs) -> Result<Input, String> {
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && args.paths.len() > 1 {
        return Err("`-` (standard input) cannot be combined with other paths".into());
    }
    Ok(if stdin {
        Input::Stdin {
            name: args
                .stdin_filename
                .clone()
                .unwrap_or_else(|| PathBuf::from("<stdin>")),
        }
    } else {
        Input::Paths(args.paths.clone())
    })
}

/// What a run of `input` reads and how, with the rules of `rules`;
/// `rewrite`: what a fix writes (`None` for `check`).
fn options_of(input: &InputArgs, rules: &RuleArgs, rewrite: Option<&RewriteArgs>) -> Options {
    Options {
        module_input: rewrite.and_then(|r| r.module_input.clone()),
        tags_as_attrs: rewrite.is_some_and(|r| r.tags_as_attrs),
        no_prefilter: input.no_prefilter,
        drop_plans: rewrite.is_none(),
        walk: crate::io::discover::WalkOptions {
            no_ignore: input.no_ignore,
            exclude: input.exclude.clone(),
        },
        rules: RuleSelection {
            select: rules.select.clone(),
            ignore: rules.ignore.clone(),
        },
    }
}

/// A usage error for rule entries that name no rule.
fn check_rules(rules: &RuleArgs) -> Result<(), String> {
    let selection = RuleSelection {
        select: rules.select.clone(),
        ignore: rules.ignore.clone(),
    };
    match crate::lints::unknown_rules(&selection).as_slice() {
        [] => Ok(()),
        unknown => Err(format!(
            "unknown rule{} {} (`clan-migrate rules` lists them)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The error for a run over paths that holds no file to check: a wrong path
/// in CI must not look like a clean tree.
fn nothing_found(input: &Input) -> Option<String> {
    let Input::Paths(paths) = input else {
        return None;
    };
    let shown: Vec<String> = if paths.is_empty() {
        vec![".".into()]
    } else {
        paths.iter().map(|p| p.display().to_string()).collect()
    };
    Some(format!(
        "no `.nix` file or `inventory.json` found in {}",
        shown.join(", ")
    ))
}

/// `1` (findings remain) as `0` under `--exit-zero`.
fn exit_code(code: u8, output: &OutputArgs) -> u8 {
    if output.exit_zero && code == 1 {
        0
    } else {
        code
    }
}

pub(crate) fn usage_error(message: &str) -> io::Result<u8> {
    writeln!(io::stderr(), "clan-migrate: error: {message}")?;
    Ok(2)
}

pub(crate) fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Takes batches from `next` and hands them to `consume`, in order; the next
/// batch is analysed (on all cores) while this thread renders the previous one.
/// A consumed batch is freed on a worker thread, without waiting: its files were
/// analysed (and their memory allocated) by the workers, and freed one after
/// another on this thread they kept the other cores waiting for the next batch.
pub(crate) fn pipelined<B: Send + 'static>(
    mut next: impl FnMut() -> Option<B> + Send,
    mut consume: impl FnMut(&B) -> io::Result<()>,
) -> io::Result<()> {
    std::thread::scope(|scope| {
        let mut current = next();
        while let Some(batch) = current {
            // `next` goes to the other thread and comes back with its batch.
            let pending = scope.spawn(move || {
                let batch = next();
                (next, batch)
            });
            let consumed = consume(&batch);
            rayon::spawn(move || drop(batch));
            (next, current) = match pending.join() {
                Ok(taken) => taken,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            consumed?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_batches_arrive_in_order_and_a_failure_stops_them() {
        let mut produced = 0..5;
        let mut seen = Vec::new();
        let result = pipelined(
            || produced.next(),
            |batch| {
                seen.push(*batch);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(seen, [0, 1, 2, 3, 4]);

        let mut produced = 0..100;
        let mut seen = Vec::new();
        let result = pipelined(
            || produced.next(),
            |batch| {
                seen.push(*batch);
                match batch {
                    2 => Err(io::Error::other("broken pipe")),
                    _ => Ok(()),
                }
            },
        );
        assert!(result.is_err());
        assert_eq!(seen, [0, 1, 2]);
        // At most one batch was taken past the failing one.
        assert_eq!(produced.next(), Some(4));
    }
}
