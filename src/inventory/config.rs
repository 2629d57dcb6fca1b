//! `clan-migrate.toml`: the nearest one at or above a file (up to the
//! repository root) extends the module table for the files below it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::inventory::modules::{ModuleTable, parse_user_config};
use crate::text::source::{FileKind, SourceFile};

pub const FILE_NAME: &str = "clan-migrate.toml";

/// Which rules a run reports (and fixes): `--select` / `--ignore`, or `select`
/// / `ignore` in `clan-migrate.toml`. An entry is a code (`CM104`), a code
/// prefix (`CM1`: every rule of `inventory.instances` code) or a rule name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSelection {
    /// Only these; `None`: every rule.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
}

impl RuleSelection {
    /// Whether `entry` names the rule of `code` and `name`.
    pub fn names(entry: &str, code: &str, name: &str) -> bool {
        name == entry || (!entry.is_empty() && code.starts_with(&entry.to_ascii_uppercase()))
    }

    pub fn allows(&self, code: &str, name: &str) -> bool {
        let names = |entry: &String| Self::names(entry, code, name);
        self.select.as_ref().is_none_or(|s| s.iter().any(names)) && !self.ignore.iter().any(names)
    }

    /// Every entry, selected or ignored.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.select
            .iter()
            .flatten()
            .chain(&self.ignore)
            .map(String::as_str)
    }

    /// `self` (from the command line) over `config` (from `clan-migrate.toml`):
    /// a `select` given here replaces the file's, ignores add up.
    pub fn over(&self, config: &RuleSelection) -> RuleSelection {
        RuleSelection {
            select: self.select.clone().or_else(|| config.select.clone()),
            ignore: config.ignore.iter().chain(&self.ignore).cloned().collect(),
        }
    }

    /// Whether it is every rule.
    pub fn is_all(&self) -> bool {
        self.select.is_none() && self.ignore.is_empty()
    }
}

/// A configuration that could not be read, with a message naming the position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

/// The table for the files of one directory, or why there is none.
pub type Loaded = Result<Arc<ModuleTable>, ConfigError>;

/// Finds and loads configurations, once per directory.
#[derive(Debug, Default)]
pub struct ConfigLookup {
    by_dir: HashMap<PathBuf, Option<(PathBuf, Loaded)>>,
}

impl ConfigLookup {
    /// The nearest configuration at or above `dir`: `None` when there is none.
    pub fn nearest(&mut self, dir: &Path) -> Option<(PathBuf, Loaded)> {
        crate::io::discover::nearest_ancestor(&mut self.by_dir, dir, &|dir| {
            let candidate = dir.join(FILE_NAME);
            candidate
                .is_file()
                .then(|| (candidate.clone(), load(&candidate)))
        })
    }
}

fn load(path: &Path) -> Loaded {
    let error = |message: String| ConfigError {
        path: path.to_path_buf(),
        message,
    };
    let bytes =
        std::fs::read(path).map_err(|e| error(crate::io::discover::describe_io_error(&e)))?;
    let source = SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::Nix)
        .map_err(|e| error(e.to_string()))?;
    match parse_user_config(&source.text) {
        Ok(user) => Ok(Arc::new(ModuleTable { user })),
        Err((offset, message)) => {
            let p = source.position(offset);
            Err(error(format!(
                "invalid configuration at line {}, column {}: {message}",
                p.line, p.column
            )))
        }
    }
}
