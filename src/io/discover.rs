//! Which files a run looks at: `*.nix` and `inventory.json` under the given paths,
//! walked without following symlinks, skipping hidden directories, `result*`
//! links, what `.gitignore` and `.ignore` files ignore (unless `no_ignore`) and
//! what an `--exclude` glob matches. A path named explicitly is always processed.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// How directories are walked.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Walk what `.gitignore` and `.ignore` files ignore too.
    pub no_ignore: bool,
    /// Globs (gitignore syntax, relative to the walked path) of files and
    /// directories not to walk.
    pub exclude: Vec<String>,
}

/// A path that was not processed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// A path that could not be read, or a configuration that is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoFailure {
    pub path: PathBuf,
    pub message: String,
    pub kind: FailureKind,
}

/// What went wrong with a path: both stop the run with exit code 2, but a user
/// fixes them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Missing, permission denied, not UTF-8, not a regular file, a loop.
    Read,
    /// A `clan-migrate.toml` that was read but is not a valid configuration.
    Configuration,
}

impl FailureKind {
    /// The name JSON and GitHub annotations use.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Read => "read",
            FailureKind::Configuration => "configuration",
        }
    }
}

#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to analyse, sorted, without duplicates.
    pub files: Vec<PathBuf>,
    /// The files among them that were named explicitly (not found by walking).
    pub explicit: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<IoFailure>,
}

/// Whether a walked file is one the tool reads.
pub fn is_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name == "inventory.json" || path.extension().is_some_and(|e| e == "nix")
}

pub fn discover(paths: &[PathBuf], options: &WalkOptions) -> Discovery {
    let mut found = Discovery::default();
    for path in paths {
        match fs::metadata(path) {
            Err(err) => found.errors.push(IoFailure {
                kind: FailureKind::Read,
                path: path.clone(),
                message: describe_io_error(&err),
            }),
            Ok(meta) if meta.is_dir() => walk(path, options, &mut found),
            Ok(meta) if meta.is_file() => {
                found.files.push(path.clone());
                found.explicit.push(path.clone());
            }
            Ok(_) => found.errors.push(IoFailure {
                kind: FailureKind::Read,
                path: path.clone(),
                message: "not a regular file or directory (a FIFO, socket or device is never read)"
                    .into(),
            }),
        }
    }
    found.files.sort();
    found.files.dedup();
    found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    found.skipped.dedup();
    found
}

fn walk(root: &Path, options: &WalkOptions, found: &mut Discovery) {
    let mut overrides = ignore::overrides::OverrideBuilder::new(root);
    for glob in &options.exclude {
        // An override glob selects; `!glob` excludes.
        if let Err(err) = overrides.add(&format!("!{glob}")) {
            found.errors.push(IoFailure {
                kind: FailureKind::Read,
                path: PathBuf::from(glob),
                message: format!("invalid --exclude glob: {err}"),
            });
            return;
        }
    }
    let overrides = match overrides.build() {
        Ok(overrides) => overrides,
        Err(err) => {
            found.errors.push(IoFailure {
                kind: FailureKind::Read,
                path: root.to_path_buf(),
                message: format!("invalid --exclude glob: {err}"),
            });
            return;
        }
    };
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(false)
        .hidden(true)
        .parents(true)
        .ignore(!options.no_ignore)
        .git_ignore(!options.no_ignore)
        .git_global(false)
        .git_exclude(!options.no_ignore)
        .overrides(overrides)
        .sort_by_file_name(std::ffi::OsStr::cmp)
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                found.errors.push(IoFailure {
                    kind: FailureKind::Read,
                    path: walk_error_path(&err).unwrap_or_else(|| root.to_path_buf()),
                    message: walk_error_message(&err),
                });
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        // Paths under `.` are shown without `./`, as the user would type them.
        let path = match entry.path().strip_prefix(".") {
            Ok(rest) if root == Path::new(".") && !rest.as_os_str().is_empty() => rest,
            _ => entry.path(),
        };
        if file_type.is_symlink() {
            let name = entry.file_name().to_string_lossy();
            if name.starts_with("result") {
                continue; // build outputs in the Nix store
            }
            if is_candidate(path) || fs::metadata(path).is_ok_and(|m| m.is_dir()) {
                found.skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason: "symbolic link, not followed (name it explicitly to check it)".into(),
                });
            }
        } else if file_type.is_file() {
            if is_candidate(path) {
                found.files.push(path.to_path_buf());
            }
        } else if !file_type.is_dir() && is_candidate(path) {
            found.skipped.push(Skipped {
                path: path.to_path_buf(),
                reason: "not a regular file".into(),
            });
        }
    }
}

/// The path an error of the walk is about.
fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => None,
    }
}

/// An error of the walk, in the words of [`describe_io_error`] when it is one.
fn walk_error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => walk_error_message(err),
        ignore::Error::Io(io) => describe_io_error(io),
        ignore::Error::Loop { child, .. } => {
            format!("symbolic link loop at {}", child.display())
        }
        other => other.to_string(),
    }
}

/// An IO error as a message without the OS error number noise.
pub fn describe_io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        }
    }
}

/// The first answer of `probe` for `dir` or one of its ancestors, cached per
/// directory. The search stops at a repository root (a directory holding
/// `.git`): what lies above a user's repository is not part of their flake.
pub fn nearest_ancestor<T: Clone>(
    cache: &mut std::collections::HashMap<PathBuf, Option<T>>,
    dir: &Path,
    probe: &dyn Fn(&Path) -> Option<T>,
) -> Option<T> {
    if let Some(hit) = cache.get(dir) {
        return hit.clone();
    }
    let found = match probe(dir) {
        Some(found) => Some(found),
        None if dir.join(".git").exists() => None,
        None => dir
            .parent()
            .and_then(|parent| nearest_ancestor(cache, parent, probe)),
    };
    cache.insert(dir.to_path_buf(), found.clone());
    found
}

/// `a/./b/../c` → `a/c`, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("./a/./b/../c.nix")),
            PathBuf::from("a/c.nix")
        );
        assert_eq!(
            normalize(Path::new("../x/../../y")),
            PathBuf::from("../../y")
        );
    }

    #[test]
    fn candidates_by_name() {
        assert!(is_candidate(Path::new("a/b.nix")));
        assert!(is_candidate(Path::new("inventory.json")));
        assert!(!is_candidate(Path::new("flake.lock")));
        assert!(!is_candidate(Path::new("other.json")));
    }
}
