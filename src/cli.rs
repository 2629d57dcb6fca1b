//! Command-line interface and the mapping from a run to an exit code.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::fix::{self, FixReport, Status};
use crate::engine::{self, Input, Options};
use crate::io::atomic_write;
use crate::lints::{Fixability, RULES, find_rule};
use crate::report::{self, Format};
use crate::rewrite::plan::Outcome;

const EXIT_CODES: &str = "\
Exit codes:
  0  nothing left to migrate
  1  findings remain (for `fix` without --write: also when changes are pending)
  2  usage error, unreadable file, a file that does not parse, or a rewrite that
     failed verification (nothing is written for that file)";

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
        output: OutputArgs,
        #[command(flatten)]
        rewrite: RewriteArgs,
    },
    /// Show the migration as a unified diff; apply it with --write
    #[command(after_help = EXIT_CODES)]
    Fix {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        rewrite: RewriteArgs,
        /// Write the verified rewrite in place (atomically; only files that change)
        #[arg(long)]
        write: bool,
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
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files and directories (`-` reads standard input) [default: .]
    pub paths: Vec<PathBuf>,
    /// Name of the standard input in messages and for relative paths (e.g. `clan/inventory.nix`)
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
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
}

#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// Write `module.input = NAME` (default: the clan-core input named in the nearest flake.nix, if any)
    #[arg(long, value_name = "NAME")]
    pub module_input: Option<String>,
    /// Write `roles.<role>.tags` as attribute sets (`{ all = { }; }`) instead of keeping lists
    #[arg(long)]
    pub tags_as_attrs: bool,
    /// Parse every file, also those that do not mention `inventory` (slower; by default
    /// such files are skipped, and their syntax errors are not reported)
    #[arg(long)]
    pub no_prefilter: bool,
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
        Command::Check {
            input,
            output,
            rewrite,
        } => run_check(&input, &output, &rewrite),
        Command::Fix {
            input,
            output,
            rewrite,
            write,
        } => run_fix(&input, &output, &rewrite, write),
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

/// Standard output, whose errors say that they are errors writing it (a full
/// disk behind a redirection would otherwise read as a bare "No space left on
/// device"). The kind of an error is kept: a closed pipe stays a closed pipe.
struct StandardOutput(io::StdoutLock<'static>);

impl StandardOutput {
    fn lock() -> Self {
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

fn options_of(args: &RewriteArgs) -> Options {
    Options {
        module_input: args.module_input.clone(),
        tags_as_attrs: args.tags_as_attrs,
        no_prefilter: args.no_prefilter,
        drop_plans: false,
    }
}

fn run_check(input: &InputArgs, output: &OutputArgs, rewrite: &RewriteArgs) -> io::Result<u8> {
    let input = match input_of(input) {
        Ok(input) => input,
        Err(message) => return usage_error(&message),
    };
    let options = Options {
        drop_plans: true,
        ..options_of(rewrite)
    };
    let mut run = engine::start(&input, &options);
    let mut out = io::BufWriter::new(StandardOutput::lock());
    // Files are taken and rendered a batch at a time: a run never holds them all.
    let mut renderer = report::Renderer::begin(
        output.format,
        use_color(output.color),
        &run.errors,
        &mut out,
    )?;
    pipelined(|| run.next_batch(), |batch| renderer.files(batch, &mut out))?;
    let totals = renderer.finish(run.files_scanned, &run.errors, &run.skipped, &mut out)?;
    out.flush()?;
    if !output.quiet {
        let line = report::summary_line(
            run.files_scanned,
            &totals,
            run.errors.len(),
            run.skipped.len(),
        );
        writeln!(io::stderr(), "{line}")?;
    }
    Ok(totals.exit_code(!run.errors.is_empty()))
}

fn run_fix(
    input: &InputArgs,
    output: &OutputArgs,
    rewrite: &RewriteArgs,
    write: bool,
) -> io::Result<u8> {
    let input = match input_of(input) {
        Ok(input) => input,
        Err(message) => return usage_error(&message),
    };
    if write && matches!(input, Input::Stdin { .. }) {
        return usage_error("`--write` cannot be used with `-`; the result is printed on stdout");
    }
    if let Input::Stdin { .. } = input {
        return run_fix_stdin(&input, output, rewrite);
    }
    let mut fix_run = fix::start(&input, &options_of(rewrite), write);
    let color = use_color(output.color);
    let mut out = io::BufWriter::new(StandardOutput::lock());
    // Notes and remaining findings can run to many lines: stderr is buffered
    // (one write per line to an unbuffered stderr cost more than the fix on
    // large trees), and written a batch at a time after that batch's output.
    let mut err = io::BufWriter::new(io::stderr().lock());
    let human = matches!(output.format, Format::Human | Format::Concise);
    if human {
        write_errors(&fix_run.run.errors, &mut err)?;
    }
    let errors_before = fix_run.run.errors.len();

    let mut json = None;
    let mut renderer = None;
    match output.format {
        Format::Json => json = Some(report::json::FixStream::begin(&mut out)?),
        Format::Github | Format::Sarif => {
            renderer = Some(report::Renderer::begin(
                output.format,
                false,
                &fix_run.run.errors,
                &mut out,
            )?);
        }
        Format::Human | Format::Concise => {}
    }
    pipelined(
        || fix_run.next_batch(),
        |batch| {
            if let Some(stream) = &mut json {
                return stream.batch(batch, write, &mut out);
            }
            if let Some(renderer) = &mut renderer {
                renderer.findings(&batch.remaining(write), &mut out)?;
            } else if !write {
                write_diffs(batch, color, &mut out)?;
            }
            if human {
                out.flush()?;
                write_failures(batch, &mut err)?;
                write_migration_notes(batch, &mut err)?;
                report::concise::findings(&batch.remaining(write), true, &mut err)?;
                err.flush()?;
            }
            Ok(())
        },
    )?;
    let errors = std::mem::take(&mut fix_run.run.errors);
    let exit_code = fix_run.totals.exit_code(!errors.is_empty());
    if let Some(stream) = json {
        let (scanned, skipped) = (fix_run.run.files_scanned, &fix_run.run.skipped);
        stream.finish(scanned, &errors, skipped, exit_code, &mut out)?;
    }
    if let Some(renderer) = renderer {
        let (scanned, skipped) = (fix_run.run.files_scanned, &fix_run.run.skipped);
        renderer.finish(scanned, &errors, skipped, &mut out)?;
    }
    out.flush()?;
    if human {
        write_errors(errors.get(errors_before..).unwrap_or_default(), &mut err)?;
    }
    if !output.quiet {
        writeln!(err, "{}", fix_summary(&fix_run.totals, errors.len(), write))?;
    }
    err.flush()?;
    Ok(exit_code)
}

/// Takes batches from `next` and hands them to `consume`, in order; the next
/// batch is analysed (on all cores) while this thread renders the previous one.
/// A consumed batch is freed on a worker thread, without waiting: its files were
/// analysed (and their memory allocated) by the workers, and freed one after
/// another on this thread they kept the other cores waiting for the next batch.
fn pipelined<B: Send + 'static>(
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

/// `fix -`: the migrated bytes on stdout (or the input unchanged).
fn run_fix_stdin(input: &Input, output: &OutputArgs, rewrite: &RewriteArgs) -> io::Result<u8> {
    let fixed = fix::run(input, &options_of(rewrite), false);
    let mut out = io::BufWriter::new(StandardOutput::lock());
    write_stdin_result(&fixed, &mut out)?;
    out.flush()?;
    let mut err = io::BufWriter::new(io::stderr().lock());
    for error in &fixed.report.errors {
        writeln!(err, "{}: error: {}", error.path.display(), error.message)?;
    }
    write_failures(&fixed, &mut err)?;
    if matches!(output.format, Format::Human | Format::Concise) {
        write_migration_notes(&fixed, &mut err)?;
        report::concise::findings(&fixed.remaining(false), true, &mut err)?;
    }
    if !output.quiet {
        let mut totals = fix::FixTotals::default();
        totals.add(&fixed, false);
        let line = fix_summary(&totals, fixed.report.errors.len(), false);
        writeln!(err, "{line}")?;
    }
    err.flush()?;
    // For `fix -` the output is the fix: only what remains counts.
    Ok(fixed.exit_code(true))
}

fn write_errors(errors: &[crate::io::discover::IoFailure], err: &mut dyn Write) -> io::Result<()> {
    for error in errors {
        writeln!(err, "{}: error: {}", error.path.display(), error.message)?;
    }
    Ok(())
}

/// The diffs of the files whose fix is verified and waiting.
fn write_diffs(fixed: &FixReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    for file in fixed.files.iter().filter(|f| f.status == Status::Pending) {
        let original = fixed.report.files.get(file.report_index);
        if let (Some(original), Some(new_text)) = (original, file.new_text()) {
            report::diff::write_diff(&file.path, &original.source.text, new_text, color, out)?;
        }
    }
    Ok(())
}

/// Files whose rewrite was refused or could not be written.
fn write_failures(fixed: &FixReport, err: &mut dyn Write) -> io::Result<()> {
    for file in &fixed.files {
        if let Status::Refused(reason) | Status::WriteFailed(reason) = &file.status {
            writeln!(err, "{}: error: {reason}", file.path.display())?;
        }
    }
    Ok(())
}

/// What a user must know about instances that were migrated (vars that move,
/// names that become permanent, dropped metadata).
fn write_migration_notes(fixed: &FixReport, err: &mut dyn Write) -> io::Result<()> {
    for (index, file) in fixed.report.files.iter().enumerate() {
        let changed = fixed
            .fix_for(index)
            .is_some_and(|f| matches!(f.status, Status::Pending | Status::Written));
        if !changed {
            continue;
        }
        for instance in file
            .analysis
            .plan
            .instances
            .iter()
            .filter(|i| i.outcome == Outcome::Migrated)
        {
            for note in &instance.notes {
                writeln!(
                    err,
                    "{}: note: `{}.{}` -> `{}`: {note}",
                    file.source.path.display(),
                    instance.service,
                    instance.instance,
                    instance.new_name
                )?;
            }
        }
    }
    Ok(())
}

fn write_stdin_result(fixed: &FixReport, out: &mut dyn Write) -> io::Result<()> {
    let Some(file) = fixed.report.files.first() else {
        return Ok(()); // unreadable input: reported on stderr
    };
    let text = fixed
        .files
        .iter()
        .find(|f| f.status == Status::Pending)
        .and_then(|f| f.new_text())
        .unwrap_or(file.source.text.as_str());
    out.write_all(&atomic_write::with_bom(&file.source, text))
}

fn fix_summary(totals: &fix::FixTotals, read_errors: usize, write: bool) -> String {
    let (migrated, changed, failed) = (totals.migrated, totals.changed, totals.failed);
    let remaining = totals.remaining;
    let left = totals.left.describe();
    let verb = if write { "migrated" } else { "would migrate" };
    let corrections = totals.corrections;
    let corrected = if corrections == 0 {
        String::new()
    } else {
        let verb = if write { "corrected" } else { "correct" };
        format!(
            " and {verb} {corrections} mistake{}",
            if corrections == 1 { "" } else { "s" }
        )
    };
    let mut line = format!(
        "{verb} {migrated} instance{}{corrected} in {changed} file{}",
        if migrated == 1 { "" } else { "s" },
        if changed == 1 { "" } else { "s" }
    );
    if write {
        line.push_str(&format!(" ({} written)", totals.written));
    }
    if failed > 0 {
        line.push_str(&format!(
            "; {failed} file{} not changed because of an error",
            if failed == 1 { "" } else { "s" }
        ));
    }
    if !left.is_empty() {
        let total: usize = left.iter().map(|(_, n)| n).sum();
        let parts: Vec<String> = left.iter().map(|(what, n)| format!("{n} {what}")).collect();
        line.push_str(&format!(
            "; left {total} as they are ({})",
            parts.join(", ")
        ));
    }
    line.push_str(&format!(
        "; {remaining} finding{} remain{}",
        if remaining == 1 { "" } else { "s" },
        if remaining == 1 { "s" } else { "" }
    ));
    if read_errors > 0 {
        line.push_str(&format!(
            "; {} could not be read",
            crate::report::plural(read_errors, "path", "paths")
        ));
    }
    line
}

fn usage_error(message: &str) -> io::Result<u8> {
    writeln!(io::stderr(), "clan-migrate: error: {message}")?;
    Ok(2)
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
    let mut out = StandardOutput::lock();
    match format {
        RulesFormat::Human => {
            for rule in RULES {
                let fix = match rule.fix {
                    Fixability::Always => "fix",
                    Fixability::Sometimes => "fix*",
                    Fixability::Never => "-",
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
