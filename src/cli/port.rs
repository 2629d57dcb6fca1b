//! `port-module DIR [--write]`.

use std::io::{self, Write};
use std::path::Path;

use owo_colors::OwoColorize;

use super::StandardOutput;
use crate::port::{self, Remark};
use crate::report::diff::write_diff;

pub(super) fn run(dir: &Path, write: bool, color: bool) -> io::Result<u8> {
    let mut err = io::stderr().lock();
    let port = match port::port(dir) {
        Ok(port) => port,
        Err(e) => {
            writeln!(err, "clan-migrate: error: {e}")?;
            return Ok(2);
        }
    };
    let service = port.module.service.clone();
    for remark in &port.module.blockers {
        print_remark(&mut err, "error", remark, color)?;
    }
    for remark in &port.module.notes {
        print_remark(&mut err, "note", remark, color)?;
    }
    for note in &port.notes {
        writeln!(err, "{}: {note}", paint("note", color, true))?;
    }
    if !port.is_clean() {
        writeln!(
            err,
            "`{service}` needs a human ({} above); nothing is written, and its instances stay as they are",
            plural(port.module.blockers.len(), "problem")
        )?;
        return Ok(1);
    }
    if port.changes.is_empty() {
        writeln!(err, "`{service}` is ported already: nothing to write")?;
        return Ok(0);
    }
    if write {
        if let Err(e) = port::write(&port) {
            writeln!(err, "clan-migrate: error: {e}")?;
            return Ok(2);
        }
        for change in &port.changes {
            writeln!(
                err,
                "{} {}",
                if change.before.is_some() {
                    "updated"
                } else {
                    "created"
                },
                change.path.display()
            )?;
        }
        writeln!(
            err,
            "ported `{service}`; `clan-migrate fix` now migrates its instances (module.input = \"self\")"
        )?;
        return Ok(0);
    }
    let mut out = StandardOutput::lock();
    let cwd = std::env::current_dir().unwrap_or_default();
    for change in &port.changes {
        let shown = change.path.strip_prefix(&cwd).unwrap_or(&change.path);
        let before = change.before.as_ref().map_or("", |s| s.text.as_str());
        write_diff(shown, before, &change.after, color, &mut out)?;
    }
    writeln!(
        err,
        "would port `{service}`: {}; run with --write to apply",
        plural(port.changes.len(), "file")
    )?;
    Ok(1)
}

fn print_remark(out: &mut dyn Write, level: &str, remark: &Remark, color: bool) -> io::Result<()> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = remark
        .path
        .strip_prefix(&cwd)
        .unwrap_or(&remark.path)
        .display();
    let position = match remark.line {
        0 => path.to_string(),
        line => format!("{path}:{line}:{}", remark.column),
    };
    writeln!(
        out,
        "{}: {position}: {}",
        paint(level, color, level == "error"),
        remark.message
    )
}

fn paint(text: &str, color: bool, strong: bool) -> String {
    match (color, strong) {
        (false, _) => text.to_owned(),
        (true, true) => text.red().bold().to_string(),
        (true, false) => text.cyan().bold().to_string(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
