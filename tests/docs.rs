//! The documentation tells the truth: the generated rules reference is current,
//! every `clan-migrate` command shown in README.md and docs/ runs as shown on a
//! small clan, and the pre-commit hooks' commands work on the files pre-commit
//! passes them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{repo_root, run, run_in};

#[test]
fn the_rules_reference_is_generated_from_the_rules() {
    let out = run(&["rules", "--format", "markdown"]);
    assert_eq!(out.code, 0);
    let written = fs::read_to_string(repo_root().join("docs/rules.md")).unwrap();
    assert!(
        written == out.stdout,
        "docs/rules.md is stale: run `cargo run -- rules --format markdown > docs/rules.md`"
    );
    // Every rule is in it, with its own docs.
    let rules = run(&["rules", "--format", "json"]);
    let rules: serde_json::Value = serde_json::from_str(&rules.stdout).unwrap();
    for rule in rules.as_array().unwrap() {
        let heading = format!(
            "## {} {}",
            rule["code"].as_str().unwrap(),
            rule["name"].as_str().unwrap()
        );
        assert!(written.contains(&heading), "{heading}");
    }
}

/// A small clan like the guide's: a flake naming clan-core, one instance `fix`
/// migrates, one it leaves (a custom module).
fn demo_clan() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let before = repo_root().join("testdata/before");
    fs::copy(
        before.join("sshd-shared-config.nix"),
        dir.path().join("clan.nix"),
    )
    .unwrap();
    fs::copy(
        before.join("custom-module.nix"),
        dir.path().join("custom-module.nix"),
    )
    .unwrap();
    fs::write(
        dir.path().join("flake.nix"),
        "{\n  inputs.clan-core.url = \"https://git.clan.lol/clan/clan-core/archive/main.tar.gz\";\n  outputs = { self, clan-core, ... }: import ./clan.nix { inherit self clan-core; };\n}\n",
    )
    .unwrap();
    dir
}

/// The `clan-migrate …` lines of the `sh` code blocks of `markdown`, and the
/// arguments of `nix run …clan-migrate -- …` in any code block (workflows),
/// without comments, pipes and redirections.
fn shown_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let (mut in_block, mut in_sh) = (false, false);
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_block = !in_block && line != "```";
            in_sh = line == "```sh";
            continue;
        }
        let line = line.trim();
        let line = match line.split_once("/clan-migrate -- ") {
            Some((before, args)) if in_block && before.contains("nix run ") => {
                format!("clan-migrate {args}")
            }
            _ if in_sh && line.starts_with("clan-migrate ") => line.to_owned(),
            _ => continue,
        };
        let command = line
            .split(" #")
            .next()
            .and_then(|c| c.split(" | ").next())
            .and_then(|c| c.split(" > ").next())
            .unwrap()
            .trim();
        commands.push(command.to_owned());
    }
    commands
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo_root().join("README.md")];
    let mut more: Vec<PathBuf> = fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

fn run_shown(dir: &Path, command: &str) -> common::Run {
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    run_in(Some(dir), &args, None)
}

#[test]
fn every_command_the_docs_show_runs() {
    let mut seen = 0;
    for doc in documents() {
        let text = fs::read_to_string(&doc).unwrap();
        for command in shown_commands(&text) {
            let clan = demo_clan();
            let out = run_shown(clan.path(), &command);
            assert!(
                out.code == 0 || out.code == 1,
                "{}: `{command}` exited {}:\n{}",
                doc.display(),
                out.code,
                out.stderr
            );
            seen += 1;
        }
    }
    // The guide, the CI page and the README show commands; a parser that
    // finds none would make this test pass vacuously.
    assert!(seen >= 18, "only {seen} commands found");
}

#[test]
fn the_guide_shows_the_real_diff_of_its_example() {
    let guide = fs::read_to_string(repo_root().join("docs/migrating-a-clan.md")).unwrap();
    let start = guide.find("```diff\n").unwrap() + "```diff\n".len();
    let shown = &guide[start..start + guide[start..].find("```").unwrap()];
    let clan = demo_clan();
    let out = run_in(
        Some(clan.path()),
        &["fix", "--color", "never", "clan.nix"],
        None,
    );
    assert_eq!(out.code, 1);
    for line in shown.lines() {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "the guide shows a line `fix` does not print: {line}\n{}",
            out.stdout
        );
    }
}

/// Each hook's entry, given file names as pre-commit gives them, gives the
/// answer of a run over the whole clan for those files.
#[test]
fn the_pre_commit_hooks_run_on_the_files_they_are_given() {
    let hooks = fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    let entries: Vec<&str> = hooks
        .lines()
        .filter_map(|l| l.trim().strip_prefix("entry: "))
        .collect();
    assert_eq!(entries, ["clan-migrate check", "clan-migrate fix --write"]);

    let clan = demo_clan();
    let check = run_shown(clan.path(), "clan-migrate check clan.nix custom-module.nix");
    let whole = run_in(Some(clan.path()), &["check"], None);
    assert_eq!(check.code, 1);
    assert_eq!(check.stdout, whole.stdout);

    let fix = run_shown(clan.path(), "clan-migrate fix --write clan.nix");
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    let fixed = fs::read_to_string(clan.path().join("clan.nix")).unwrap();
    assert_eq!(
        fixed,
        fs::read_to_string(repo_root().join("testdata/after/sshd-shared-config.nix"))
            .unwrap()
            .replace(
                "module.name = \"sshd\";",
                "module = { name = \"sshd\"; input = \"clan-core\"; };"
            )
    );
}
