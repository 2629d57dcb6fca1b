//! `clan-migrate check`.

use std::io::{self, Write};

use super::{
    InputArgs, OutputArgs, RuleArgs, StandardOutput, check_rules, exit_code, input_of,
    nothing_found, options_of, pipelined, usage_error, use_color,
};
use crate::engine;
use crate::report;

pub(super) fn run(
    input: &InputArgs,
    rules: &RuleArgs,
    output: &OutputArgs,
    statistics: bool,
) -> io::Result<u8> {
    if let Err(message) = check_rules(rules) {
        return usage_error(&message);
    }
    let args = input;
    let input = match input_of(args) {
        Ok(input) => input,
        Err(message) => return usage_error(&message),
    };
    let options = options_of(args, rules, None);
    let mut run = engine::start(&input, &options);
    if output.verbose {
        verbose(&run)?;
    }
    let mut out = io::BufWriter::new(StandardOutput::lock());
    let totals = if statistics {
        let mut totals = report::Totals::default();
        pipelined(
            || run.next_batch(),
            |batch| {
                for file in batch {
                    file.analysis.findings.iter().for_each(|f| totals.add(f));
                }
                Ok(())
            },
        )?;
        report::write_statistics(&totals, &mut out)?;
        totals
    } else {
        // Files are taken and rendered a batch at a time: a run never holds them all.
        let mut renderer = report::Renderer::begin(
            output.format,
            use_color(output.color),
            &run.errors,
            &mut out,
        )?;
        pipelined(|| run.next_batch(), |batch| renderer.files(batch, &mut out))?;
        renderer.finish(run.files_scanned, &run.errors, &run.skipped, &mut out)?
    };
    out.flush()?;
    if run.files_scanned == 0
        && run.errors.is_empty()
        && let Some(message) = nothing_found(&input)
    {
        return usage_error(&message);
    }
    if !output.quiet {
        let line = report::summary_line(run.files_scanned, &totals, &run.errors, run.skipped.len());
        writeln!(io::stderr(), "{line}")?;
    }
    Ok(exit_code(totals.exit_code(!run.errors.is_empty()), output))
}

/// `-v`: what the run reads, on stderr.
pub(super) fn verbose(run: &engine::Run) -> io::Result<()> {
    let mut err = io::stderr().lock();
    writeln!(err, "clan-migrate: {} files to check", run.files_scanned)?;
    for root in &run.context_roots {
        writeln!(
            err,
            "clan-migrate: read the clan in {} for the named paths ({} more files, not reported)",
            root.display(),
            run.context_files
        )?;
    }
    for skipped in &run.skipped {
        writeln!(
            err,
            "clan-migrate: skipped {}: {}",
            skipped.path.display(),
            skipped.reason
        )?;
    }
    Ok(())
}
