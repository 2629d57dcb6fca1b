//! Fault injection for tests: `CLAN_MIGRATE_FAILPOINT=<point>:<file name>`
//! makes that file meet the fault at `<point>` (`changed-before-write`:
//! another program changes the file after it was read; `fail-before-rename`: an
//! error after the temporary file is written; `abort-before-rename`: the process
//! dies there; `changed-before-second-read`: a file whose results were not kept
//! in memory (memory budget) changes before it is read again; `flush-fails`:
//! flushing that file's new text to disk fails, and with it, in a batch
//! flushed with one `syncfs`, every file of the batch on that file system;
//! `spool-unreadable`: that file's results cannot be read back from the spool).
//! A file name of `*` matches every file. Without the variable nothing happens.

use std::path::Path;

/// Whether the test asked for the fault `point` at `path`.
pub fn hit(point: &str, path: &Path) -> bool {
    let Some(spec) = std::env::var_os("CLAN_MIGRATE_FAILPOINT") else {
        return false;
    };
    let spec = spec.to_string_lossy();
    let Some((at, name)) = spec.split_once(':') else {
        return false;
    };
    at == point && (name == "*" || path.file_name().is_some_and(|n| n == name))
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
