//! Past its memory budget a run drops a file's text after the first pass, moves
//! its results to a temporary file (or, when they cannot be read back from there
//! or other files change them, analyses the file again when its batch is
//! rendered), and moves the clan's instance names and settings paths to a
//! temporary file. That must never change what the tool prints or writes: with
//! a budget of 0 (nothing kept in memory, every definition written out), with
//! that and no results readable from the temporary file, with that and no
//! temporary file at all (`TMPDIR` names a missing directory), and with the
//! default budget, every format of `check` and `fix` gives the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;

use common::scratch;

/// More files with findings than one batch (512) holds, with facts that span
/// files: a clan flake, an instance name defined twice, tags resolved with the
/// clan's machines, an imported services file, and a file that does not parse.
fn generate(root: &Path) {
    fs::write(
        root.join("flake.nix"),
        "{ inputs.clan-core.url = \"github:clan-lol/clan-core\"; outputs = _: { }; }\n",
    )
    .unwrap();
    for i in 0..1200 {
        let dir = root.join(format!("d{}", i / 100));
        fs::create_dir_all(&dir).unwrap();
        let text = match i % 6 {
            0 => format!(
                "{{ inventory.services.sshd.s{i}.roles.server.machines = [ \"m{i}\" ]; }}\n"
            ),
            1 => format!(
                "{{ inventory.services.zerotier.z{i} = {{ roles.peer.tags = [ \"all\" ]; }}; }}\n"
            ),
            2 => format!(
                "{{ inventory.machines.m{i}.tags = [ \"web\" ];\n  inventory.services.admin.a{i}.roles.default.tags = [ \"web\" ]; }}\n"
            ),
            3 => {
                "{ inventory.services.sshd.shared.roles.server.machines = [ \"x\" ]; }\n".to_owned()
            }
            4 => format!("{{ services.nginx.enable = true; networking.hostName = \"h{i}\"; }}\n"),
            _ => format!(
                "{{ inventory.instances.i{i} = {{ module.name = \"sshd\"; roles.server.machines = [ \"a\" ]; }}; }}\n"
            ),
        };
        fs::write(dir.join(format!("f{i:04}.nix")), text).unwrap();
    }
    fs::write(root.join("d0/broken.nix"), "{ inventory.services = ; }\n").unwrap();
    common::write_imported_services(root);
}

fn run(dir: &Path, budget: &str, args: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    run_with_failpoint(dir, budget, "", args)
}

fn run_with_failpoint(
    dir: &Path,
    budget: &str,
    failpoint: &str,
    args: &[&str],
) -> (i32, Vec<u8>, Vec<u8>) {
    run_with_env(dir, budget, &[("CLAN_MIGRATE_FAILPOINT", failpoint)], args)
}

/// A run whose temporary files cannot be created: `TMPDIR` names a directory
/// that does not exist.
fn run_without_temporary_files(dir: &Path, budget: &str, args: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    let missing = dir.join("no-such-directory");
    assert!(!missing.exists());
    run_with_env(dir, budget, &[("TMPDIR", missing.to_str().unwrap())], args)
}

fn run_with_env(
    dir: &Path,
    budget: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, Vec<u8>, Vec<u8>) {
    let out = common::bin()
        .current_dir(dir)
        .env("CLAN_MIGRATE_MEMORY_BUDGET", budget)
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

fn tree_contents(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let name = e.path().strip_prefix(root).unwrap().display().to_string();
            (name, fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn output_does_not_depend_on_the_memory_budget() {
    let dir = scratch("memory-budget");
    generate(&dir);
    let mut compared = 0;
    for command in ["check", "fix"] {
        for format in ["human", "concise", "json", "github", "sarif"] {
            let args = [command, "--format", format, "--color", "never", "."];
            let kept = run(&dir, "1000", &args);
            let spooled = run(&dir, "0", &args);
            let analysed_again = run_with_failpoint(&dir, "0", "spool-unreadable:*", &args);
            let no_temporary_files = run_without_temporary_files(&dir, "0", &args);
            for (dropped, how) in [
                (spooled, "a budget of 0"),
                (analysed_again, "a budget of 0 and an unreadable spool"),
                (
                    no_temporary_files,
                    "a budget of 0 and no temporary directory",
                ),
            ] {
                assert_eq!(kept.0, dropped.0, "{args:?}: exit codes differ with {how}");
                assert!(kept.1 == dropped.1, "{args:?}: stdout differs with {how}");
                assert!(kept.2 == dropped.2, "{args:?}: stderr differs with {how}");
            }
            assert_eq!(kept.0, 2, "{args:?}: broken.nix does not parse");
            compared += kept.1.len();
        }
    }
    // The runs found and printed plenty (a run that prints nothing proves nothing).
    assert!(compared > 500_000, "{compared} bytes compared");
    let json = run(&dir, "0", &["check", "--format", "json", "."]);
    let report: serde_json::Value = serde_json::from_slice(&json.1).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.len() > 900, "{} findings", findings.len());
    // Cross-file facts survive dropped results: the name defined in 200 files.
    assert!(
        findings.iter().any(|f| f["code"] == "CM001"
            && f["help"]
                .as_str()
                .is_some_and(|h| h.contains("sshd-shared"))),
        "no finding mentions the colliding instance name"
    );

    // `fix --write` writes the same files either way.
    type Runner = fn(&Path, &[&str]) -> (i32, Vec<u8>, Vec<u8>);
    let runs: [(&str, Runner); 4] = [
        ("a budget of 1000 MiB", |dir, args| run(dir, "1000", args)),
        ("a budget of 0", |dir, args| run(dir, "0", args)),
        ("a budget of 0 and an unreadable spool", |dir, args| {
            run_with_failpoint(dir, "0", "spool-unreadable:*", args)
        }),
        ("a budget of 0 and no temporary directory", |dir, args| {
            run_without_temporary_files(dir, "0", args)
        }),
    ];
    let written: Vec<_> = runs
        .iter()
        .enumerate()
        .map(|(i, (how, runner))| {
            let copy = scratch(&format!("memory-budget-write-{i}"));
            generate(&copy);
            let out = runner(&copy, &["fix", "--write", "--quiet", "."]);
            assert_eq!(out.0, 2, "{how}: broken.nix does not parse");
            (how, tree_contents(&copy))
        })
        .collect();
    for (how, files) in &written[1..] {
        assert!(*files == written[0].1, "fix --write differs with {how}");
    }
    let original = tree_contents(&dir);
    assert!(written[0].1 != original, "fix --write changed nothing");
}

#[test]
fn a_file_that_changes_between_the_two_reads_is_an_error() {
    let dir = scratch("memory-budget-changed");
    generate(&dir);
    let out = common::bin()
        .current_dir(&dir)
        .env("CLAN_MIGRATE_MEMORY_BUDGET", "0")
        .env(
            "CLAN_MIGRATE_FAILPOINT",
            "changed-before-second-read:f0006.nix",
        )
        .args(["fix", "--write", "--format", "concise", "."])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "./d0/f0006.nix: error: the file changed while clan-migrate was reading the tree"
        ),
        "{stderr}"
    );
    // Not rewritten: the failpoint's change is all that happened to it.
    let text = fs::read_to_string(dir.join("d0/f0006.nix")).unwrap();
    assert!(text.contains("inventory.services"), "{text}");
}
