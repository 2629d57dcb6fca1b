//! The golden pairs' files, for the tests that evaluate before and after with Nix.

use std::path::{Path, PathBuf};

use super::{before_units, repo_root};

/// One `.nix` or `.json` file of a golden pair.
pub struct GoldenFile {
    pub unit: String,
    /// The file within its unit (empty when the unit is a single file).
    pub rel: PathBuf,
    pub before: PathBuf,
    pub after: PathBuf,
    /// The unit's directory on each side (the parent of a single-file unit).
    pub before_unit: PathBuf,
    pub after_unit: PathBuf,
    /// Whether any file of the unit differs between before and after.
    pub unit_changed: bool,
}

impl GoldenFile {
    pub fn name(&self) -> String {
        if self.rel.as_os_str().is_empty() {
            self.unit.clone()
        } else {
            format!("{}/{}", self.unit, self.rel.display())
        }
    }
}

/// Every `.nix` and `.json` file of every golden pair, unit by unit.
pub fn golden_files() -> Vec<GoldenFile> {
    let mut out = Vec::new();
    for unit in before_units() {
        let before_root = repo_root().join("testdata/before").join(&unit);
        let after_root = repo_root().join("testdata/after").join(&unit);
        let rels: Vec<PathBuf> = if before_root.is_dir() {
            walkdir::WalkDir::new(&before_root)
                .sort_by_file_name()
                .into_iter()
                .map(|e| e.expect("testdata is readable"))
                .filter(|e| {
                    e.path()
                        .extension()
                        .is_some_and(|x| x == "nix" || x == "json")
                })
                .map(|e| {
                    e.path()
                        .strip_prefix(&before_root)
                        .expect("walked below its root")
                        .to_path_buf()
                })
                .collect()
        } else if unit.ends_with(".nix") {
            vec![PathBuf::new()]
        } else {
            Vec::new()
        };
        let at = |root: &Path, rel: &Path| {
            if rel.as_os_str().is_empty() {
                root.to_path_buf()
            } else {
                root.join(rel)
            }
        };
        let unit_changed = rels.iter().any(|rel| {
            std::fs::read(at(&before_root, rel)).ok() != std::fs::read(at(&after_root, rel)).ok()
        });
        let unit_dir = |root: &Path| {
            if root.is_dir() {
                root.to_path_buf()
            } else {
                root.parent().expect("a unit has a parent").to_path_buf()
            }
        };
        for rel in rels {
            out.push(GoldenFile {
                unit: unit.clone(),
                before: at(&before_root, &rel),
                after: at(&after_root, &rel),
                before_unit: unit_dir(&before_root),
                after_unit: unit_dir(&after_root),
                rel,
                unit_changed,
            });
        }
    }
    out
}

/// `--arg userTable /path` for the nearest clan-migrate.toml within the unit.
pub fn user_table_args(file: &Path, unit_root: &Path) -> Vec<String> {
    let mut dir = file.parent().expect("a file has a parent").to_path_buf();
    loop {
        let candidate = dir.join("clan-migrate.toml");
        if candidate.exists() {
            return vec![
                "--arg".into(),
                "userTable".into(),
                candidate.display().to_string(),
            ];
        }
        if dir == unit_root || !dir.pop() {
            return Vec::new();
        }
    }
}

/// `--arg asInventory true` for a file whose value is an inventory.
pub fn as_inventory_arg(file: &Path) -> [&'static str; 3] {
    let is_inventory = file.file_name().is_some_and(|n| n == "inventory.nix");
    [
        "--arg",
        "asInventory",
        if is_inventory { "true" } else { "false" },
    ]
}
