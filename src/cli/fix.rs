//! `clan-migrate fix`: the diff, `--write`, and `fix -`.

use std::io::{self, Write};

use super::{
    InputArgs, OutputArgs, RewriteArgs, RuleArgs, StandardOutput, check_rules, exit_code, input_of,
    nothing_found, options_of, pipelined, usage_error, use_color,
};
use crate::engine::fix::{self, FixReport, Status};
use crate::engine::{Input, Options};
use crate::io::atomic_write;
use crate::report::{self, Format};
use crate::rewrite::plan::Outcome;

pub(super) fn run(
    input: &InputArgs,
    rules: &RuleArgs,
    output: &OutputArgs,
    rewrite: &RewriteArgs,
    write: bool,
) -> io::Result<u8> {
    if let Err(message) = check_rules(rules) {
        return usage_error(&message);
    }
    let options = options_of(input, rules, Some(rewrite));
    let input = match input_of(input) {
        Ok(input) => input,
        Err(message) => return usage_error(&message),
    };
    if write && matches!(input, Input::Stdin { .. }) {
        return usage_error("`--write` cannot be used with `-`; the result is printed on stdout");
    }
    if let Input::Stdin { .. } = input {
        return run_stdin(&input, output, &options);
    }
    let mut fix_run = fix::start(&input, &options, write);
    if output.verbose {
        super::check::verbose(&fix_run.run)?;
    }
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
    let exit_code = exit_code(fix_run.totals.exit_code(!errors.is_empty()), output);
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
    if fix_run.run.files_scanned == 0
        && errors.is_empty()
        && let Some(message) = nothing_found(&input)
    {
        err.flush()?;
        return usage_error(&message);
    }
    if !output.quiet {
        writeln!(err, "{}", fix_summary(&fix_run.totals, &errors, write))?;
    }
    err.flush()?;
    Ok(exit_code)
}

/// `fix -`: the migrated bytes on stdout (or the input unchanged). Its exit
/// code is that of the fixed text: 1 when findings remain in it.
fn run_stdin(input: &Input, output: &OutputArgs, options: &Options) -> io::Result<u8> {
    let fixed = fix::run(input, options, false);
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
        let line = fix_summary(&totals, &fixed.report.errors, false);
        writeln!(err, "{line}")?;
    }
    err.flush()?;
    // For `fix -` the output is the fix: only what remains counts.
    Ok(exit_code(fixed.exit_code(true), output))
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

fn fix_summary(
    totals: &fix::FixTotals,
    errors: &[crate::io::discover::IoFailure],
    write: bool,
) -> String {
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
    line.push_str(&crate::report::failures_summary(errors));
    line
}
