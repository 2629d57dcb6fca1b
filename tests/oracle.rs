//! The semantic oracle: every golden pair is evaluated by Nix itself through
//! `tests/oracle/resolve.nix`, and the normal forms of before and after must be
//! equal. A rewrite that makes a file stop evaluating is a failure too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::golden::{as_inventory_arg, golden_files, user_table_args};
use common::repo_root;

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
        .args(user_table_args(file, unit_root))
        .args(as_inventory_arg(file))
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
    for file in golden_files() {
        let name = file.name();
        match (
            resolve(&file.before, &file.before_unit),
            resolve(&file.after, &file.after_unit),
        ) {
            (Ok(b), Ok(a)) => {
                assert_eq!(b, a, "{name}: the normal forms differ");
                let has_instances = b.as_object().is_some_and(|o| !o.is_empty());
                if file.unit_changed && has_instances && !compared_changed.contains(&file.unit) {
                    compared_changed.push(file.unit.clone());
                }
            }
            (Err(_), Err(_)) => not_evaluable.push(name),
            (Ok(_), Err(e)) => panic!("{name}: the rewrite no longer evaluates:\n{e}"),
            (Err(e), Ok(_)) => panic!("{name}: only the rewrite evaluates:\n{e}"),
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
