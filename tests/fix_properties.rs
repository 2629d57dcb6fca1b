//! Properties of `fix` over every fixture and generated variants of it: line
//! endings, a byte-order mark and indentation commute with the fix; comments are
//! never lost; a second fix changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{before_units, repo_root, run_in, scratch};

/// Copies a fixture tree, transforming every `.nix` file's text.
fn copy_transformed(from: &Path, to: &Path, transform: &dyn Fn(&str) -> String) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_transformed(&entry.path(), &to.join(entry.file_name()), transform);
        }
    } else if let Some(parent) = to.parent().filter(|p| !p.exists()) {
        fs::create_dir_all(parent).unwrap();
        copy_transformed(from, to, transform);
    } else if from.extension().is_some_and(|e| e == "nix") {
        let text = String::from_utf8(fs::read(from).unwrap()).unwrap();
        fs::write(to, transform(&text)).unwrap();
    } else {
        fs::copy(from, to).unwrap();
    }
}

/// A named transformation of a file's text.
type Transform<'a> = (&'a str, &'a dyn Fn(&str) -> String);

fn crlf(text: &str) -> String {
    if text.contains('\r') {
        text.to_owned()
    } else {
        text.replace('\n', "\r\n")
    }
}

fn bom(text: &str) -> String {
    if text.starts_with('\u{feff}') {
        text.to_owned()
    } else {
        format!("\u{feff}{text}")
    }
}

/// Doubles the leading spaces of every line.
fn wide_indent(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let n = line.len() - line.trim_start_matches(' ').len();
            format!("{}{line}", " ".repeat(n))
        })
        .collect()
}

fn read_all(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
            (rel, String::from_utf8(fs::read(e.path()).unwrap()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn line_endings_bom_and_indentation_commute_with_fix() {
    let transforms: [Transform<'_>; 3] = [("crlf", &crlf), ("bom", &bom), ("indent", &wide_indent)];
    for (name, transform) in transforms {
        for unit in before_units() {
            let dir = scratch(&format!("prop-{name}-{unit}"));
            copy_transformed(
                &repo_root().join("testdata/before").join(&unit),
                &dir.join("got").join(&unit),
                transform,
            );
            copy_transformed(
                &repo_root().join("testdata/after").join(&unit),
                &dir.join("want").join(&unit),
                transform,
            );
            run_in(
                Some(&dir.join("got")),
                &["fix", "--write", "--quiet", &unit],
                None,
            );
            let got = read_all(&dir.join("got"));
            let want = read_all(&dir.join("want"));
            assert_eq!(got.len(), want.len());
            for ((path, g), (_, w)) in got.iter().zip(&want) {
                assert!(
                    g == w,
                    "{name} variant of {unit}/{}: fix(T(x)) != T(fix(x))\n--- got ---\n{g}\n--- want ---\n{w}",
                    path.display()
                );
            }
            // Idempotent: fixing again changes nothing.
            let again = run_in(Some(&dir.join("got")), &["fix", "--quiet", &unit], None);
            assert_eq!(
                again.stdout, "",
                "{name} variant of {unit} is not idempotent"
            );
        }
    }
}

/// Comments between bindings are kept, in order, and do not change what is migrated.
#[test]
fn comments_between_bindings_survive() {
    let add_comments = |text: &str| -> String {
        text.split_inclusive('\n')
            .map(|line| {
                let trimmed = line.trim_start();
                if trimmed.starts_with("roles.")
                    || trimmed.starts_with("config")
                    || trimmed.starts_with("machines.")
                {
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}# note: kept\n{line}")
                } else {
                    line.to_owned()
                }
            })
            .collect()
    };
    for unit in before_units() {
        let dir = scratch(&format!("prop-comments-{unit}"));
        copy_transformed(
            &repo_root().join("testdata/before").join(&unit),
            &dir.join(&unit),
            &add_comments,
        );
        let before = read_all(&dir);
        let out = run_in(Some(&dir), &["fix", "--write", "--quiet", &unit], None);
        assert!(
            !out.stderr.contains("nothing was written"),
            "{unit}: a rewrite was refused: {}",
            out.stderr
        );
        let after = read_all(&dir);
        for ((path, b), (_, a)) in before.iter().zip(&after) {
            let comments = |t: &str| {
                t.lines()
                    .filter(|l| l.trim_start().starts_with('#'))
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                comments(b),
                comments(a),
                "{unit}/{}: comments changed",
                path.display()
            );
        }
        let again = run_in(Some(&dir), &["fix", "--quiet", &unit], None);
        assert_eq!(again.stdout, "", "{unit} with comments is not idempotent");
    }
}

/// What the planner decides to rewrite, the verifier accepts: on random
/// memberships and configs, `fix` migrates an instance or leaves it with a
/// reason, and never ends in a rewrite refused by its own verification
/// (which the user would see as an error, exit code 2).
#[test]
fn the_planner_and_the_verifier_agree_on_random_instances() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = common::random::Cases(0x5eed);
    for n in 0..300 {
        fs::write(
            dir.path().join(format!("c{n:03}.nix")),
            common::random::random_inventory(&mut cases),
        )
        .unwrap();
    }
    let out = run_in(Some(dir.path()), &["fix", "--format", "json", "."], None);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let refused: Vec<String> = doc["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "pending")
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let text = fs::read_to_string(dir.path().join(path)).unwrap();
            format!("{path}: {}\n{text}", f["reason"])
        })
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
    let fixed = doc["summary"]["files_fixed"].as_u64().unwrap();
    assert!(
        fixed > 100,
        "only {fixed} of 300 migrate: the cases lost their variety"
    );
}
