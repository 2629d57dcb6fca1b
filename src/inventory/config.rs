//! `clan-migrate.toml`: the nearest one at or above a file (up to the
//! repository root) extends the module table for the files below it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::inventory::modules::{ModuleTable, parse_user_config};
use crate::text::source::{FileKind, SourceFile};

pub const FILE_NAME: &str = "clan-migrate.toml";

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
