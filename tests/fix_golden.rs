//! `fix --write` on a copy of every `testdata/before/<unit>` produces exactly
//! `testdata/after/<unit>`, and fixing an after-unit changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{before_units, repo_root, run_in, scratch};

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap();
    }
}

fn files_of(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
        .collect();
    files.sort();
    files
}

#[test]
fn fix_write_on_before_gives_exactly_after() {
    for unit in before_units() {
        let dir = scratch(&format!("golden-{unit}"));
        copy_tree(
            &repo_root().join("testdata/before").join(&unit),
            &dir.join(&unit),
        );
        let out = run_in(Some(&dir), &["fix", "--write", "--quiet", &unit], None);
        assert!(matches!(out.code, 0..=2), "{unit}: {}", out.stderr);
        let expected_root = repo_root().join("testdata/after").join(&unit);
        let (got_root, want_root) = if expected_root.is_dir() {
            (dir.join(&unit), expected_root.clone())
        } else {
            (dir.clone(), repo_root().join("testdata/after"))
        };
        let files = if expected_root.is_dir() {
            files_of(&got_root)
        } else {
            vec![PathBuf::from(&unit)]
        };
        assert!(!files.is_empty());
        for file in files {
            let got = fs::read(got_root.join(&file)).unwrap();
            let want = fs::read(want_root.join(&file))
                .unwrap_or_else(|_| panic!("testdata/after lacks {unit}/{}", file.display()));
            assert!(
                got == want,
                "{unit}/{}: fix output differs from testdata/after\n--- got ---\n{}",
                file.display(),
                String::from_utf8_lossy(&got)
            );
        }
    }
}

#[test]
fn every_before_unit_has_an_after_unit() {
    for unit in before_units() {
        assert!(
            repo_root().join("testdata/after").join(&unit).exists(),
            "testdata/after/{unit} is missing"
        );
    }
}

#[test]
fn fixing_after_units_changes_nothing() {
    let dir = scratch("noop-after");
    copy_tree(&repo_root().join("testdata/after"), &dir.join("after"));
    let before: Vec<(PathBuf, Vec<u8>)> = files_of(&dir)
        .into_iter()
        .map(|f| {
            let bytes = fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    let diff = run_in(Some(&dir), &["fix", "--quiet", "after"], None);
    assert_eq!(diff.stdout, "", "fix proposes changes to after-files");
    run_in(Some(&dir), &["fix", "--write", "--quiet", "after"], None);
    for (file, bytes) in before {
        assert_eq!(
            fs::read(dir.join(&file)).unwrap(),
            bytes,
            "{} changed",
            file.display()
        );
    }
}

#[test]
fn reasons_for_what_is_left_are_reviewed() {
    let out = run_in(None, &["fix", "--quiet", "testdata/before"], None);
    assert_eq!(out.code, 2, "the parse-error fixture makes the run exit 2");
    insta::assert_snapshot!("fix_remaining_reasons", out.stderr);
}

/// What `fix` says remains after it is what `check` reports on the written
/// result: `testdata/after` holds exactly the findings `fix` leaves, rule by
/// rule and message by message.
#[test]
fn check_of_after_reports_exactly_what_fix_leaves() {
    let key = |doc: &serde_json::Value, side: &str| {
        let mut keys: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f["path"].as_str().unwrap(),
                    f["code"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
                .replace(&format!("testdata/{side}/"), "testdata/UNIT/")
            })
            .collect();
        keys.sort();
        keys
    };
    let fix = run_in(None, &["fix", "--format", "json", "testdata/before"], None);
    let check = run_in(None, &["check", "--format", "json", "testdata/after"], None);
    let (fix, check): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&fix.stdout).unwrap(),
        serde_json::from_str(&check.stdout).unwrap(),
    );
    let (left, found) = (key(&fix, "before"), key(&check, "after"));
    assert!(left.len() > 20, "{left:?}");
    let missing: Vec<&String> = left.iter().filter(|k| !found.contains(k)).collect();
    let extra: Vec<&String> = found.iter().filter(|k| !left.contains(k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "fix leaves but check of after does not report: {missing:#?}\ncheck of after reports but fix did not leave: {extra:#?}"
    );
}
