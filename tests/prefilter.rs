//! The prefilter (files that do not mention `inventory` are not parsed) never
//! changes a report: with and without it, `check` and `fix` print the same.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::path::Path;

use common::{run_in, scratch};

/// A deterministic tree: NixOS modules, legacy inventories in several forms,
/// a read, a suppression, and a services file mounted by an import.
fn generate(root: &Path) {
    for i in 0..300 {
        let dir = root.join(format!("d{}", i / 50));
        fs::create_dir_all(&dir).unwrap();
        let text = match i % 10 {
            0 => format!(
                "{{ inventory.services.sshd.s{i}.roles.server.machines = [ \"m{i}\" ]; }}\n"
            ),
            1 => format!(
                "{{ clan.inventory = {{ services.zerotier.z{i} = {{ roles.peer.tags = [ \"all\" ]; }}; }}; }}\n"
            ),
            2 => format!(
                "{{ config, ... }}: {{ x{i} = config.clan.inventory.services.sshd or {{ }}; }}\n"
            ),
            3 => "{\n  # clan-migrate: ignore[CM001] stale\n  services.openssh.enable = true;\n}\n"
                .to_owned(),
            4 => format!(
                "{{ inventory.instances.i{i} = {{ module.name = \"sshd\"; roles.server.machines = [ \"a\" ]; }}; }}\n"
            ),
            5 => "{ broken = ; }\n".to_owned(),
            _ => format!(
                "{{ pkgs, ... }}: {{\n  services.nginx.enable = true;\n  networking.hostName = \"h{i}\";\n}}\n"
            ),
        };
        fs::write(dir.join(format!("f{i}.nix")), text).unwrap();
    }
    common::write_imported_services(root);
}

fn compare(dir: &Path, path: &str) -> usize {
    let mut findings = 0;
    for args in [
        vec!["check", "--format", "json", "--quiet"],
        vec!["fix", "--format", "json", "--quiet"],
    ] {
        let with = run_in(Some(dir), &[args.as_slice(), &[path]].concat(), None);
        let without = run_in(
            Some(dir),
            &[args.as_slice(), &["--no-prefilter", path]].concat(),
            None,
        );
        let parse = |out: &str| -> serde_json::Value { serde_json::from_str(out).unwrap() };
        let (a, b) = (parse(&with.stdout), parse(&without.stdout));
        if args[0] == "check" {
            findings = a["findings"].as_array().unwrap().len();
        }
        assert_eq!(a, b, "{args:?} {path}: the prefilter changed the report");
        assert_eq!(with.code, without.code);
    }
    findings
}

#[test]
fn the_prefilter_never_changes_a_report() {
    let findings = compare(&common::repo_root(), "testdata/before");
    assert!(findings > 50);

    let dir = scratch("prefilter-tree");
    generate(&dir);
    let findings = compare(&dir, ".");
    assert!(findings > 100, "{findings} findings in the generated tree");
}

#[test]
fn syntax_errors_of_walked_files_without_inventory_code_are_not_reported() {
    let dir = scratch("prefilter-syntax");
    fs::write(dir.join("module.nix"), "{ a = ; }\n").unwrap();
    fs::write(dir.join("clan.nix"), "{ inventory.services.sshd.x = ; }\n").unwrap();
    // Walked: only the file that can hold inventory code is reported.
    let walked = run_in(
        Some(&dir),
        &["check", "--format", "concise", "--quiet", "."],
        None,
    );
    assert_eq!(
        walked.stdout.lines().collect::<Vec<_>>(),
        vec![
            "clan.nix:1:31: CM000 unexpected `;`, expected `(`, `rec`, `{`, `[`, `\"` or an identifier"
        ]
    );
    assert_eq!(walked.code, 2);
    // Named explicitly: always analysed.
    let named = run_in(
        Some(&dir),
        &["check", "--format", "concise", "--quiet", "module.nix"],
        None,
    );
    assert_eq!(named.code, 2);
    assert!(
        named.stdout.starts_with("module.nix:1:7: CM000"),
        "{}",
        named.stdout
    );
}
