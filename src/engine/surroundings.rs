//! What lies around the files of a run, looked up once per directory: the
//! nearest `flake.nix` (the clan directory and the name of its clan-core input)
//! and the nearest `clan-migrate.toml` (the module table).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Options;
use crate::inventory::config::ConfigLookup;
use crate::inventory::context::FileContext;
use crate::inventory::flake::FlakeLookup;
use crate::inventory::modules::ModuleTable;
use crate::io::discover::{FailureKind, IoFailure, normalize};

/// Per-run caches of what lies around the files.
pub(super) struct Surroundings {
    options: Options,
    flakes: FlakeLookup,
    configs: ConfigLookup,
    /// Invalid configurations already reported.
    reported: Vec<PathBuf>,
    /// The invalid configurations met, each once, until taken.
    errors: Vec<IoFailure>,
    /// Directory (as walked) -> the context of its files, `path` being the directory.
    by_dir: HashMap<PathBuf, Arc<FileContext>>,
}

impl Surroundings {
    pub fn new(options: &Options) -> Self {
        Surroundings {
            options: options.clone(),
            flakes: FlakeLookup::default(),
            configs: ConfigLookup::default(),
            reported: Vec::new(),
            errors: Vec::new(),
            by_dir: HashMap::new(),
        }
    }

    /// The surroundings of the directory of the file at `path` (the context's
    /// `path` is the directory).
    pub fn dir_of(&mut self, path: &Path) -> Arc<FileContext> {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match self.by_dir.get(&dir) {
            Some(context) => context.clone(),
            None => {
                let context = Arc::new(self.directory_context(&dir));
                self.by_dir.insert(dir, context.clone());
                context
            }
        }
    }

    /// The invalid configurations met since the last call, each reported once
    /// per run whichever lookup met it first.
    pub fn take_errors(&mut self) -> Vec<IoFailure> {
        std::mem::take(&mut self.errors)
    }

    fn directory_context(&mut self, dir: &Path) -> FileContext {
        let absolute = std::path::absolute(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .ok()
        .map(|p| normalize(&p));
        let flake = absolute.as_ref().and_then(|d| self.flakes.nearest(d));
        let config = absolute.as_ref().and_then(|d| self.configs.nearest(d));
        let (modules, config_error, config_input) = match config {
            None => (Arc::new(ModuleTable::default()), None, None),
            Some((_, Ok(table))) => {
                let input = table.user.module_input.clone();
                (table, None, input)
            }
            Some((config_path, Err(error))) => {
                let shown = relative_to_cwd(&config_path);
                if !self.reported.contains(&config_path) {
                    self.reported.push(config_path.clone());
                    self.errors.push(IoFailure {
                        path: shown.clone(),
                        message: error.message.clone(),
                        kind: FailureKind::Configuration,
                    });
                }
                let message = format!("{} is invalid", shown.display());
                (Arc::new(ModuleTable::default()), Some(message), None)
            }
        };
        let configured = crate::inventory::config::RuleSelection {
            select: modules.user.select.clone(),
            ignore: modules.user.ignore.clone(),
        };
        FileContext {
            rules: self.options.rules.over(&configured),
            path: absolute,
            clan_dir: flake.as_ref().map(|(dir, _)| dir.clone()),
            module_input: self
                .options
                .module_input
                .clone()
                .or(config_input)
                .or_else(|| flake.and_then(|(_, input)| input)),
            tags_as_attrs: self.options.tags_as_attrs,
            modules,
            config_error,
            no_prefilter: self.options.no_prefilter,
            digest_meaning: !self.options.drop_plans,
            ..FileContext::default()
        }
    }
}

/// `path` relative to the working directory when it is below it (messages show
/// paths the way the user named them).
pub(super) fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            path.strip_prefix(normalize(&cwd))
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf())
}
