//! `port-module` on a clan of legacy clanModules (`testdata/port-module/before`:
//! a module with two roles and shared options that reads its peers from
//! `clan.inventory.services`, a one-role module written `with lib;`, two
//! instances of each on one machine, and a module that needs a human).
//! `port-module --write` on each module and then `fix --write` must give
//! `testdata/port-module/after` exactly, and the real clan-core must give
//! every machine the same `clan.<service>` values, legacy files and peers
//! before (legacy builder) and after (current clan-core with the generated
//! modules): `tests/port_module/evaluate.nix`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, clan_core_trees, empty_clan_directory, repo_root};

const PORTED: &[&str] = &["monitoring", "motd"];

fn fixture(side: &str) -> PathBuf {
    repo_root().join("testdata/port-module").join(side)
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `root`, relative, with its bytes.
fn files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(root).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A copy of the `before` clan, ported and migrated the way the docs say.
fn ported_and_migrated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("before"), dir.path());
    for module in PORTED {
        let (code, _, stderr) = run(
            dir.path(),
            &["port-module", &format!("modules/{module}"), "--write"],
        );
        assert_eq!(code, 0, "port-module {module}:\n{stderr}");
    }
    let untouched = files(dir.path());
    let (code, stdout, stderr) = run(dir.path(), &["port-module", "modules/vpn", "--write"]);
    assert_eq!(code, 1, "the vpn module needs a human:\n{stdout}{stderr}");
    assert!(
        stderr.contains("modules/vpn/roles/peer.nix:10:36: an option declaration reads `config`")
            && stderr
                .contains("modules/vpn/roles/peer.nix:14:3: `clan.core.facts` no longer exists"),
        "each reason at its position:\n{stderr}"
    );
    assert_eq!(
        files(dir.path()),
        untouched,
        "a module that needs a human writes nothing"
    );
    let (code, _, stderr) = run(dir.path(), &["fix", "--write", "."]);
    assert_eq!(code, 1, "fix leaves the vpn instance:\n{stderr}");
    dir
}

#[test]
fn port_then_fix_gives_the_after_clan() {
    let dir = ported_and_migrated();
    let got = files(dir.path());
    let want = files(&fixture("after"));
    let names = |f: &[(PathBuf, Vec<u8>)]| f.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "the same files");
    for ((path, got), (_, want)) in got.iter().zip(&want) {
        assert!(
            got == want,
            "{} differs from testdata/port-module/after:\n{}",
            path.display(),
            String::from_utf8_lossy(got)
        );
    }
}

#[test]
fn after_the_port_only_the_module_that_needs_a_human_is_left() {
    let dir = ported_and_migrated();
    let (code, stdout, stderr) = run(
        dir.path(),
        &["check", "--format", "concise", "--color", "never", "."],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    let findings: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(
        findings,
        ["clan.nix:14:7: CM001 legacy service instance `vpn.mesh` in `inventory.services`"],
        "no other finding (the legacy files' reads of their peers are filled):\n{stdout}"
    );
    let (_, human, _) = run(dir.path(), &["check", "--color", "never", "."]);
    assert!(
        human.contains("clan-migrate port-module DIR --write"),
        "the finding says how to port:\n{human}"
    );
    for file in [
        "clan.nix",
        "modules/monitoring/clan-service.nix",
        "modules/motd/clan-service.nix",
    ] {
        let parse = Command::new("nix-instantiate")
            .arg("--parse")
            .arg(dir.path().join(file))
            .output();
        if let Ok(parse) = parse {
            assert!(
                parse.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&parse.stderr)
            );
        }
    }
}

#[test]
fn without_write_the_port_is_a_diff_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("before"), dir.path());
    let untouched = files(dir.path());
    let (code, stdout, stderr) = run(
        dir.path(),
        &["port-module", "modules/monitoring", "--color", "never"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(files(dir.path()), untouched);
    for header in [
        "+++ b/modules/monitoring/clan-service.nix",
        "+++ b/clan.nix",
        "+++ b/clan-migrate.toml",
    ] {
        assert!(stdout.contains(header), "{header} in:\n{stdout}");
    }
    assert!(
        stdout.contains("+  modules.monitoring = ./modules/monitoring/clan-service.nix;"),
        "{stdout}"
    );
}

#[test]
fn a_second_port_writes_nothing() {
    let dir = ported_and_migrated();
    let before = files(dir.path());
    for module in PORTED {
        let (code, _, stderr) = run(
            dir.path(),
            &["port-module", &format!("modules/{module}"), "--write"],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("is ported already"), "{stderr}");
    }
    assert_eq!(files(dir.path()), before);
}

#[test]
fn a_file_in_the_way_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("before"), dir.path());
    let mine = dir.path().join("modules/motd/clan-service.nix");
    std::fs::write(&mine, "{ }\n").unwrap();
    let (code, _, stderr) = run(dir.path(), &["port-module", "modules/motd", "--write"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was not written by `clan-migrate port-module`"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "{ }\n");
}

#[test]
fn a_directory_without_roles_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(dir.path(), &["port-module", "."]);
    assert_eq!(code, 2);
    assert!(stderr.contains("roles"), "{stderr}");
}

/// Evaluates the comparison of `before` and `after` with the real clan-core.
fn compare(trees: &Path, after: &Path) -> serde_json::Value {
    let list = |items: &[&str]| {
        format!(
            "[ {} ]",
            items.iter().map(|s| format!("\"{s}\"")).collect::<String>()
        )
    };
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--read-write-mode"])
        .arg(repo_root().join("tests/port_module/evaluate.nix"))
        .args(["--arg", "trees"])
        .arg(trees)
        .args(["--arg", "directory"])
        .arg(empty_clan_directory())
        .args(["--arg", "before"])
        .arg(fixture("before").join("clan.nix"))
        .args(["--arg", "after"])
        .arg(after)
        .args(["--arg", "services", &list(PORTED)])
        .args(["--arg", "peers", &list(&["monitoring"])])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Per machine and service, what differs between the two sides.
fn differences(result: &serde_json::Value) -> Vec<String> {
    let before = result["before"].as_object().unwrap();
    let mut differences = Vec::new();
    for (machine, services) in before {
        for (service, legacy) in services.as_object().unwrap() {
            let new = &result["after"][machine][service];
            if legacy != new {
                differences.push(format!(
                    "{machine} {service}:\n  legacy {legacy}\n  ported {new}"
                ));
            }
        }
    }
    differences
}

#[test]
fn every_machine_gets_the_same_values_from_the_ported_modules() {
    let Some(trees) = clan_core_trees() else {
        return;
    };
    let result = compare(&trees, &fixture("after").join("clan.nix"));
    let machines = result["before"].as_object().unwrap().len();
    assert_eq!(machines, 3, "every machine is compared: {result}");
    let differences = differences(&result);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // Two instances of each module on `gateway`, merged as in legacy.
    assert_eq!(
        result["after"]["gateway"]["motd"]["clan"]["lines"],
        serde_json::json!(["This machine faces the internet.", "Welcome to the fleet."])
    );
    assert_eq!(
        result["after"]["gateway"]["monitoring"]["inventory"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn the_comparison_sees_a_setting_that_is_lost() {
    let Some(trees) = clan_core_trees() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("after"), dir.path());
    let clan = dir.path().join("clan.nix");
    let text = std::fs::read_to_string(&clan).unwrap();
    let lost = text.replace(
        "roles.agent.settings.collectors = [ \"cpu\" \"disk\" ];",
        "",
    );
    assert_ne!(lost, text, "the fixture has the setting");
    std::fs::write(&clan, lost).unwrap();
    let differences = differences(&compare(&trees, &clan));
    assert_eq!(
        differences.len(),
        2,
        "gateway and lab lose `collectors`: {differences:?}"
    );
}
