//! Fault injection for tests: `CLAN_MIGRATE_FAILPOINT=<point>:<file name>`
//! makes that file meet the fault at `<point>` (`changed-before-write`:
//! another program changes the file after it was read; `fail-before-rename`: an
//! error after the temporary file is written; `abort-before-rename`: the process
//! dies there; `changed-before-second-read`: a file changes between the two
//! passes of a run; `flush-fails`: flushing that file's new text to disk
//! fails).
//! `fail-verification:<instance>` makes the verification of a rewrite in which
//! that instance (its new name) is migrated fail.
//! A file name of `*` matches every file. Without the variable nothing happens;
//! without the cargo feature `failpoints` (the tests turn it on) the variable
//! is not read.

use std::path::Path;

/// The fault the tests asked for, as (point, target).
#[cfg(feature = "failpoints")]
fn asked() -> Option<(String, String)> {
    let spec = std::env::var_os("CLAN_MIGRATE_FAILPOINT")?;
    let spec = spec.to_string_lossy();
    let (at, name) = spec.split_once(':')?;
    Some((at.to_owned(), name.to_owned()))
}

#[cfg(not(feature = "failpoints"))]
fn asked() -> Option<(String, String)> {
    None
}

/// Whether the test asked for the fault `point` at `path`.
pub fn hit(point: &str, path: &Path) -> bool {
    asked().is_some_and(|(at, name)| {
        at == point && (name == "*" || path.file_name().is_some_and(|n| n == name.as_str()))
    })
}

/// Whether the test asked for the fault `point` for the thing named `name`.
pub fn hit_named(point: &str, name: &str) -> bool {
    asked().is_some_and(|(at, target)| at == point && target == name)
}

/// At the fault `point`, changes the file at `path` as another program would
/// (appends a newline).
pub fn change_file(point: &str, path: &Path) {
    if hit(point, path) {
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"\n"));
    }
}
