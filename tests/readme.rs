//! The output README.md shows is what the tool prints: the quick start's
//! `check` of the bundled examples, and the `fix` example.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use common::run_in;

/// The `text` code blocks of README.md that follow a paragraph containing `marker`.
fn block_after(marker: &str) -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let start = readme.find(marker).expect("the README has the marker");
    let rest = &readme[start..];
    let open = rest.find("```text\n").expect("a text block follows") + "```text\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    rest[open..open + close].to_owned()
}

#[test]
fn the_quick_start_check_output_is_real() {
    let shown = block_after("Part of what the first command prints");
    let out = run_in(
        None,
        &["check", "--color", "never", "testdata/before"],
        None,
    );
    assert_eq!(out.code, 2, "the README says exit code 2");
    // Every finding shown is printed as shown.
    for finding in shown.trim_end().split("\n\n") {
        let finding = finding.trim_start_matches('\n');
        let in_output = out.stdout.contains(finding) || out.stderr.contains(finding);
        assert!(
            in_output,
            "README shows what the tool does not print:\n{finding}"
        );
    }
    // The summary line is the last one shown.
    let summary = shown.trim_end().lines().last().unwrap();
    assert!(out.stderr.lines().any(|l| l == summary), "{}", out.stderr);
}

#[test]
fn the_fix_example_output_is_real() {
    let shown = block_after("`clan-migrate fix testdata/before/meta-and-enabled.nix` prints");
    let out = run_in(
        None,
        &[
            "fix",
            "--color",
            "never",
            "testdata/before/meta-and-enabled.nix",
        ],
        None,
    );
    assert_eq!(out.code, 1, "the README says exit code 1");
    assert_eq!(shown, format!("{}{}", out.stdout, out.stderr));
}
