//! Every fixture is judged by the real Nix parser: valid ones must parse, the
//! parse-error fixture must be rejected by Nix too. With `CI` set, a missing
//! `nix-instantiate` is a failure, not a skip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn nix_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "nix"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

/// `Some(error text)` when Nix rejects the file, `None` when it parses.
fn nix_parse(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).expect("fixture is readable");
    // Nix (2.8) rejects a UTF-8 byte-order mark; judge the expression after it.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut child = Command::new("nix-instantiate")
        .args(["--parse", "-"])
        .current_dir(path.parent().expect("fixture has a directory"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nix-instantiate starts");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(bytes)
        .expect("stdin written");
    let out = child.wait_with_output().expect("nix-instantiate finishes");
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn fixtures_are_judged_by_the_real_nix_parser() {
    if !common::nix_available() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let files = nix_files(&root);
    assert!(files.len() >= 30);
    for file in files {
        let is_broken = file.file_name().is_some_and(|n| n == "parse-error.nix");
        match (nix_parse(&file), is_broken) {
            (Some(err), false) => panic!("{} does not parse with Nix:\n{err}", file.display()),
            (None, true) => panic!(
                "{} is meant to be invalid, but Nix accepts it",
                file.display()
            ),
            _ => {}
        }
    }
}

#[test]
fn the_projects_own_nix_files_parse() {
    if !common::nix_available() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("flake.nix")];
    files.extend(nix_files(&root.join("tests/oracle")));
    files.extend(nix_files(&root.join("tests/clan_core")));
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        if let Some(err) = nix_parse(&file) {
            panic!("{} does not parse with Nix:\n{err}", file.display());
        }
    }
}
