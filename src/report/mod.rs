//! Renderers for a report, one per output format.

pub mod concise;
pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;
pub mod stream;

use std::io::{self, Write};

use clap::ValueEnum;
use rayon::prelude::*;

use crate::engine::FileReport;
use crate::io::discover::{FailureKind, IoFailure, Skipped};
use crate::lints::Finding;
use crate::lints::Severity;
use crate::text::Span;
use crate::text::source::{Position, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics with source snippets
    Human,
    /// one line per finding: `path:line:col: CODE message`
    Concise,
    /// one JSON document (schema: docs/json-format.md)
    Json,
    /// GitHub Actions workflow annotations
    Github,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

/// Writes a run in `format` a batch of files at a time, so that a run never has
/// to hold all its files: [`Renderer::begin`] with the errors known before the
/// files, [`Renderer::files`] for each batch (in path order), [`Renderer::finish`].
pub struct Renderer {
    format: Format,
    color: bool,
    /// Errors written by `begin` (those that come later are written by `finish`).
    errors_written: usize,
    json: Option<json::CheckStream>,
    sarif: Option<sarif::Stream>,
    totals: Totals,
}

impl Renderer {
    pub fn begin(
        format: Format,
        color: bool,
        errors: &[IoFailure],
        out: &mut dyn Write,
    ) -> io::Result<Self> {
        let mut renderer = Renderer {
            format,
            color,
            errors_written: 0,
            json: None,
            sarif: None,
            totals: Totals::default(),
        };
        match format {
            Format::Json => renderer.json = Some(json::CheckStream::begin(out)?),
            Format::Sarif => renderer.sarif = Some(sarif::Stream::begin(out)?),
            Format::Human | Format::Concise | Format::Github => renderer.errors(errors, out)?,
        }
        Ok(renderer)
    }

    /// Read errors, where the format puts them before the findings.
    fn errors(&mut self, errors: &[IoFailure], out: &mut dyn Write) -> io::Result<()> {
        let new = errors.get(self.errors_written..).unwrap_or_default();
        match self.format {
            Format::Human => human::errors(new, self.color, out)?,
            Format::Concise => concise::errors(new, out)?,
            Format::Github => github::errors(new, out)?,
            Format::Json | Format::Sarif => {}
        }
        self.errors_written = errors.len();
        Ok(())
    }

    /// The findings of the next files of the run, in path order.
    pub fn files(&mut self, files: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
        self.findings(&findings_of(files), out)
    }

    /// The next findings of the run, in path order, each with its file.
    pub fn findings(
        &mut self,
        findings: &[(&SourceFile, &Finding)],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        for (_, finding) in findings {
            self.totals.add(finding);
        }
        match self.format {
            Format::Human => human::findings(findings, self.color, out),
            Format::Concise => concise::findings(findings, false, out),
            Format::Github => github::findings(findings, out),
            Format::Json => match &mut self.json {
                Some(stream) => stream.findings(findings, out),
                None => Ok(()),
            },
            Format::Sarif => match &mut self.sarif {
                Some(stream) => stream.findings(findings, out),
                None => Ok(()),
            },
        }
    }

    /// Ends the output; `errors` are all the run's errors (those not written yet
    /// are written now). Returns what the findings added up to.
    pub fn finish(
        mut self,
        files_scanned: usize,
        errors: &[IoFailure],
        skipped: &[Skipped],
        out: &mut dyn Write,
    ) -> io::Result<Totals> {
        let exit_code = self.totals.exit_code(!errors.is_empty());
        match self.format {
            Format::Human | Format::Concise | Format::Github => self.errors(errors, out)?,
            Format::Json => {
                if let Some(stream) = self.json.take() {
                    stream.finish(files_scanned, errors, skipped, exit_code, out)?;
                }
            }
            Format::Sarif => {
                if let Some(stream) = self.sarif.take() {
                    stream.finish(errors, out)?;
                }
            }
        }
        Ok(self.totals)
    }
}

/// The findings of `files`, in order, each with its file.
pub fn findings_of(files: &[FileReport]) -> Vec<(&SourceFile, &Finding)> {
    files
        .iter()
        .flat_map(|f| f.analysis.findings.iter().map(move |x| (&f.source, x)))
        .collect()
}

/// Files whose findings are rendered per batch (their output is held until the
/// batch is written).
const RENDER_BATCH: usize = 512;

/// The findings of each file rendered by `render` (given the file and its
/// findings) on all cores, a bounded batch of files at a time, and handed to
/// `write` in order.
fn render_by_file<T: Send>(
    findings: &[(&SourceFile, &Finding)],
    render: impl Fn(&SourceFile, &[(&SourceFile, &Finding)]) -> T + Sync,
    mut write: impl FnMut(T) -> io::Result<()>,
) -> io::Result<()> {
    let by_file: Vec<&[(&SourceFile, &Finding)]> =
        findings.chunk_by(|a, b| std::ptr::eq(a.0, b.0)).collect();
    for batch in by_file.chunks(RENDER_BATCH) {
        let rendered: Vec<T> = batch
            .par_iter()
            .with_max_len(1)
            .filter_map(|file| Some(render(file.first()?.0, file)))
            .collect();
        for file in rendered {
            write(file)?;
        }
    }
    Ok(())
}

/// The findings of each file as elements of the streamed JSON `array`: each
/// file's path as `path_of` spells it is worked out once, `element` renders a
/// finding with it (on all cores, see [`render_by_file`]), and the elements are
/// written in order.
fn stream_by_file(
    array: &mut stream::Array,
    findings: &[(&SourceFile, &Finding)],
    path_of: impl Fn(&SourceFile) -> String + Sync,
    element: impl Fn(&stream::Elements, &SourceFile, &str, &Finding, &mut Vec<u8>) -> io::Result<()>
    + Sync,
    out: &mut dyn Write,
) -> io::Result<()> {
    let elements = array.elements();
    render_by_file(
        findings,
        |source, file| {
            let path = path_of(source);
            let mut bytes = Vec::new();
            for (_, finding) in file {
                element(&elements, source, &path, finding, &mut bytes)?;
            }
            Ok((bytes, file.len()))
        },
        |rendered: io::Result<(Vec<u8>, usize)>| {
            let (bytes, count) = rendered?;
            array.write(&bytes, count, out)
        },
    )
}

/// What the findings of a run add up to; kept while the files are rendered a
/// batch at a time.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    by_code: std::collections::BTreeMap<&'static str, usize>,
    parse_errors: bool,
    warnings: bool,
}

impl Totals {
    pub fn add(&mut self, finding: &Finding) {
        *self.by_code.entry(finding.rule.code).or_default() += 1;
        self.parse_errors |= finding.rule.code == crate::lints::parse_error::RULE.code;
        self.warnings |= finding.severity() >= Severity::Warning;
    }

    /// Counts per rule code, in code order.
    pub fn counts_by_code(&self) -> Vec<(&'static str, usize)> {
        self.by_code.iter().map(|(c, n)| (*c, *n)).collect()
    }

    pub fn findings(&self) -> usize {
        self.by_code.values().sum()
    }

    /// Whether something could not be read (`read_errors`) or parsed.
    pub fn has_errors(&self, read_errors: bool) -> bool {
        read_errors || self.parse_errors
    }

    /// 2 when something could not be read or parsed, 1 when findings remain, 0 otherwise.
    pub fn exit_code(&self, read_errors: bool) -> u8 {
        if self.has_errors(read_errors) {
            2
        } else {
            u8::from(self.warnings)
        }
    }
}

/// `--statistics`: the number of findings of each rule, with its name, in code order.
pub fn write_statistics(totals: &Totals, out: &mut dyn Write) -> io::Result<()> {
    let counts = totals.counts_by_code();
    let width = counts
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(1);
    for (code, n) in counts {
        let name = crate::lints::find_rule(code).map_or("", |r| r.name);
        writeln!(out, "{n:>width$}  {code}  {name}")?;
    }
    Ok(())
}

/// Start and end positions of a span.
pub fn span_positions(source: &SourceFile, span: Span) -> (Position, Position) {
    (source.position(span.start), source.position(span.end))
}

/// The one-line summary printed on stderr.
pub fn summary_line(
    files_scanned: usize,
    totals: &Totals,
    errors: &[IoFailure],
    skipped: usize,
) -> String {
    let files = plural(files_scanned, "file", "files");
    let counts = totals.counts_by_code();
    let total = totals.findings();
    let mut line = if total == 0 {
        format!("checked {files}: no findings")
    } else {
        let by_code: Vec<String> = counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        format!(
            "checked {files}: {} ({})",
            plural(total, "finding", "findings"),
            by_code.join(", ")
        )
    };
    line.push_str(&failures_summary(errors));
    if skipped > 0 {
        line.push_str(&format!("; {} skipped", plural(skipped, "path", "paths")));
    }
    line
}

/// What the summary line says of the run's failures: "; 1 path could not be
/// read; 1 configuration is invalid" (empty without failures).
pub fn failures_summary(errors: &[IoFailure]) -> String {
    let count = |kind| errors.iter().filter(|e| e.kind == kind).count();
    let mut text = String::new();
    let unread = count(FailureKind::Read);
    if unread > 0 {
        text.push_str(&format!(
            "; {} could not be read",
            plural(unread, "path", "paths")
        ));
    }
    let invalid = count(FailureKind::Configuration);
    if invalid > 0 {
        let verb = if invalid == 1 { "is" } else { "are" };
        text.push_str(&format!(
            "; {} {verb} invalid",
            plural(invalid, "configuration", "configurations")
        ));
    }
    text
}

/// `n` with the singular or plural noun: "1 path", "2 paths".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
