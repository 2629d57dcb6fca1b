//! Fault injection for tests: `CLAN_MIGRATE_FAILPOINT=<point>:<file name>`
//! makes that file meet the fault at `<point>` (`changed-before-write`:
//! another program changes the file after it was read; `fail-before-rename`: an
//! error after the temporary file is written; `abort-before-rename`: the process
//! dies there; `changed-before-second-read`: a file changes between the two
//! passes of a run; `flush-fails`: flushing that file's new text to disk
//! fails, and with it, in a batch flushed with one `syncfs`, every file of the
//! batch on that file system).
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
