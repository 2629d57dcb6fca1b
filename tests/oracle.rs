//! The semantic oracle: every golden pair is evaluated by Nix itself through
//! `tests/oracle/resolve.nix`, and the normal forms of before and after must be
//! equal. A rewrite that makes a file stop evaluating is a failure too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{before_units, repo_root};

/// The directory of the nearest `flake.nix` within the unit, else the file's own.
fn clan_dir(file: &Path, unit_root: &Path) -> PathBuf {
    let mut dir = file.parent().unwrap().to_path_buf();
    loop {
        if dir.join("flake.nix").exists() {
            return dir;
        }
        if dir == unit_root || !dir.pop() {
            return file.parent().unwrap().to_path_buf();
        }
    }
}

/// `--arg userTable /path` for the nearest clan-migrate.toml within the unit.
fn user_table(file: &Path, unit_root: &Path) -> Vec<String> {
    let mut dir = file.parent().unwrap().to_path_buf();
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

/// The normal form as JSON, or the evaluation error.
fn resolve(file: &Path, unit_root: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(file).unwrap();
    if bytes.starts_with(b"\xef\xbb\xbf") {
        return Err("Nix does not accept a byte-order mark".into());
    }
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(repo_root().join("tests/oracle/resolve.nix"))
        .arg("--arg")
        .arg("file")
        .arg(file)
        .arg("--argstr")
        .arg("clanDir")
        .arg(clan_dir(file, unit_root))
        .args(user_table(file, unit_root))
        .args(["--arg", "asInventory"])
        .arg(if file.file_name().is_some_and(|n| n == "inventory.nix") {
            "true"
        } else {
            "false"
        })
        .output()
        .unwrap();
    if out.status.success() {
        // Paths are compared relative to the tree (before/ and after/ differ).
        let text = String::from_utf8(out.stdout).unwrap();
        let text = text.replace(unit_root.to_str().unwrap(), "<unit>");
        Ok(serde_json::from_str(&text).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn before_and_after_mean_the_same_to_nix() {
    if !common::nix_available() {
        return;
    }
    let mut compared_changed = Vec::new();
    let mut not_evaluable = Vec::new();
    for unit in before_units() {
        let before_root = repo_root().join("testdata/before").join(&unit);
        let after_root = repo_root().join("testdata/after").join(&unit);
        let files: Vec<PathBuf> = if before_root.is_dir() {
            walkdir::WalkDir::new(&before_root)
                .into_iter()
                .map(|e| e.unwrap())
                .filter(|e| {
                    e.path()
                        .extension()
                        .is_some_and(|x| x == "nix" || x == "json")
                })
                .map(|e| e.path().strip_prefix(&before_root).unwrap().to_path_buf())
                .collect()
        } else if unit.ends_with(".nix") {
            vec![PathBuf::new()]
        } else {
            Vec::new()
        };
        let unit_changed = files.iter().any(|rel| {
            let read = |root: &Path| {
                std::fs::read(if rel.as_os_str().is_empty() {
                    root.to_path_buf()
                } else {
                    root.join(rel)
                })
                .unwrap()
            };
            read(&before_root) != read(&after_root)
        });
        for rel in files {
            let (before, after) = if rel.as_os_str().is_empty() {
                (before_root.clone(), after_root.clone())
            } else {
                (before_root.join(&rel), after_root.join(&rel))
            };
            let unit_dirs = (
                if before_root.is_dir() {
                    before_root.clone()
                } else {
                    before_root.parent().unwrap().to_path_buf()
                },
                if after_root.is_dir() {
                    after_root.clone()
                } else {
                    after_root.parent().unwrap().to_path_buf()
                },
            );
            match (
                resolve(&before, &unit_dirs.0),
                resolve(&after, &unit_dirs.1),
            ) {
                (Ok(b), Ok(a)) => {
                    assert_eq!(b, a, "{unit}/{}: the normal forms differ", rel.display());
                    let has_instances = b.as_object().is_some_and(|o| !o.is_empty());
                    if unit_changed && has_instances && !compared_changed.contains(&unit) {
                        compared_changed.push(unit.clone());
                    }
                }
                (Err(_), Err(_)) => not_evaluable.push(format!("{unit}/{}", rel.display())),
                (Ok(_), Err(e)) => panic!(
                    "{unit}/{}: the rewrite no longer evaluates:\n{e}",
                    rel.display()
                ),
                (Err(e), Ok(_)) => {
                    panic!("{unit}/{}: only the rewrite evaluates:\n{e}", rel.display())
                }
            }
        }
    }
    eprintln!(
        "oracle: {} rewritten units compared: {compared_changed:?}",
        compared_changed.len()
    );
    eprintln!("oracle: not evaluable standalone: {not_evaluable:?}");
    assert!(
        compared_changed.len() >= 18,
        "only {} rewritten units were compared by Nix",
        compared_changed.len()
    );
}
