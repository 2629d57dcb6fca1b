//! `fix` through the real binary: diff, --write, stdin, JSON, exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::run_in;

const MIGRATABLE: &str = "{\n  inventory.services.sshd.default = {\n    roles.server.machines = [ \"a\" \"b\" \"a\" ];\n  };\n}\n";
const MIGRATED: &str = "{\n  inventory.instances.sshd-default = {\n    module.name = \"sshd\";\n    roles.server.machines = { a = { }; b = { }; };\n  };\n}\n";
const UNMIGRATABLE: &str =
    "{ inventory.services.mumble.voice.roles.server.machines = [ \"hub\" ]; }\n";

#[test]
fn diff_then_write_then_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clan.nix");
    fs::write(&file, MIGRATABLE).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();

    let diff = run_in(Some(dir.path()), &["fix", "clan.nix"], None);
    assert_eq!(diff.code, 1, "changes pending: {}", diff.stderr);
    assert!(
        diff.stdout.starts_with("--- a/clan.nix\n+++ b/clan.nix\n"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("+    module.name = \"sshd\";\n"),
        "{}",
        diff.stdout
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        MIGRATABLE,
        "diff mode writes nothing"
    );

    let write = run_in(Some(dir.path()), &["fix", "--write", "clan.nix"], None);
    assert_eq!(write.code, 0, "{}", write.stderr);
    assert_eq!(write.stdout, "");
    assert!(
        write
            .stderr
            .contains("migrated 1 instance in 1 file (1 written)"),
        "{}",
        write.stderr
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), MIGRATED);
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o640,
        "permissions kept"
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");

    assert_eq!(
        run_in(Some(dir.path()), &["check", "clan.nix"], None).code,
        0
    );
    let again = run_in(Some(dir.path()), &["fix", "clan.nix"], None);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
}

#[test]
fn files_without_changes_are_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keep.nix");
    fs::write(&file, UNMIGRATABLE).unwrap();
    let before = fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = run_in(Some(dir.path()), &["fix", "--write", "keep.nix"], None);
    assert_eq!(out.code, 1, "the unmigratable instance remains");
    assert!(out.stderr.contains("keep.nix:1:3: CM001"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("help: not migrated automatically: `mumble` was removed"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), UNMIGRATABLE);
    assert_eq!(
        fs::metadata(&file).unwrap().modified().unwrap(),
        before,
        "not rewritten"
    );
}

#[test]
fn stdin_prints_the_result_bytes_exactly() {
    let crlf_bom = format!("\u{feff}{}", MIGRATABLE.replace('\n', "\r\n"));
    let out = run_in(
        None,
        &["fix", "--stdin-filename", "clan.nix", "-"],
        Some(crlf_bom.as_bytes()),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("\u{feff}{}", MIGRATED.replace('\n', "\r\n"))
    );

    let no_newline = "{ services.openssh.enable = true; }";
    let out = run_in(None, &["fix", "-"], Some(no_newline.as_bytes()));
    assert_eq!((out.code, out.stdout.as_str()), (0, no_newline));

    let out = run_in(None, &["fix", "-"], Some(UNMIGRATABLE.as_bytes()));
    assert_eq!((out.code, out.stdout.as_str()), (1, UNMIGRATABLE));

    assert_eq!(run_in(None, &["fix", "--write", "-"], Some(b"{ }")).code, 2);
}

#[test]
fn json_lists_the_edits_and_what_remains() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.nix"), MIGRATABLE).unwrap();
    fs::write(dir.path().join("b.nix"), UNMIGRATABLE).unwrap();
    let out = run_in(Some(dir.path()), &["fix", "--format", "json", "."], None);
    assert_eq!(out.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["command"], "fix");
    let fixes = doc["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 1);
    assert_eq!(fixes[0]["path"], "a.nix");
    assert_eq!(fixes[0]["status"], "pending");
    assert_eq!(fixes[0]["instances_migrated"], 1);
    let edits = fixes[0]["edits"].as_array().unwrap();
    assert!(
        edits
            .iter()
            .any(|e| e["insert"] == "instances.sshd-default"),
        "{edits:?}"
    );
    let first = &edits[0]["start"];
    assert!(first["offset"].is_u64() && first["line"].is_u64() && first["column"].is_u64());
    assert_eq!(
        (
            doc["summary"]["files_fixed"].as_u64(),
            doc["summary"]["files_failed"].as_u64()
        ),
        (Some(1), Some(0))
    );
    let remaining: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(remaining, vec!["b.nix"]);
}

#[test]
fn instances_set_to_an_expression_move_into_the_inventory_imports() {
    // `instances` is a variable: the migrated instance cannot be added next to
    // it; as an inventory import it merges with the new instance instead.
    let dir = tempfile::tempdir().unwrap();
    let text = "{\n  inventory.instances = existing;\n  inventory.services.sshd.default.roles.server.tags = [ \"all\" ];\n}\n";
    fs::write(dir.path().join("c.nix"), text).unwrap();
    let out = run_in(Some(dir.path()), &["fix", "--write", "c.nix"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(dir.path().join("c.nix")).unwrap(),
        "{\n  inventory.imports = [ { instances = existing; } ];\n  inventory.instances.sshd-default.module.name = \"sshd\";\n  inventory.instances.sshd-default.roles.server.tags = [ \"all\" ];\n}\n"
    );

    // With an `imports` list there, the expression joins it.
    let text = "{\n  inventory.imports = [ ./more.nix ];\n  inventory.instances = existing;\n  inventory.services.sshd.default.roles.server.tags = [ \"all\" ];\n}\n";
    fs::write(dir.path().join("c.nix"), text).unwrap();
    let out = run_in(Some(dir.path()), &["fix", "--write", "c.nix"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(dir.path().join("c.nix")).unwrap(),
        "{\n  inventory.imports = [ ./more.nix { instances = existing; } ];\n  inventory.instances.sshd-default.module.name = \"sshd\";\n  inventory.instances.sshd-default.roles.server.tags = [ \"all\" ];\n}\n"
    );

    // An `imports` that is not a list literal: the instance is left, with the reason.
    let text = "{\n  inventory.imports = more;\n  inventory.instances = existing;\n  inventory.services.sshd.default.roles.server.tags = [ \"all\" ];\n}\n";
    fs::write(dir.path().join("c.nix"), text).unwrap();
    let out = run_in(Some(dir.path()), &["fix", "--write", "c.nix"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("`instances` is set to an expression in the same attribute set, whose `imports` is not a list literal"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(dir.path().join("c.nix")).unwrap(), text);
}

#[test]
fn a_file_named_alone_is_fixed_with_what_its_whole_clan_defines() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join("flake.nix"), "{ inputs.clan-core.url = \"https://git.clan.lol/clan/clan-core/archive/main.tar.gz\"; outputs = _: { }; }\n").unwrap();
    let clan =
        fs::read_to_string(common::repo_root().join("testdata/before/tag-membership.nix")).unwrap();
    fs::write(dir.path().join("clan.nix"), &clan).unwrap();
    let migrated = "+    roles.server.machines.gateway.settings.hostKeys.rsa.enable = true;";

    // One file named alone (as a pre-commit hook names it) gets the answer of
    // the whole clan: the clan's machines and tags are known.
    let one = run_in(Some(dir.path()), &["fix", "clan.nix"], None);
    assert!(one.stdout.contains(migrated), "{}", one.stderr);
    let all = run_in(Some(dir.path()), &["fix", "."], None);
    assert_eq!(one.stdout, all.stdout);

    // Another file of the clan that defines `sshd-default` too: the legacy
    // instance named alone would merge into it, so it is left.
    fs::write(
        dir.path().join("other.nix"),
        "{ inventory.instances.sshd-default.roles.server.tags = [ \"edge\" ]; }\n",
    )
    .unwrap();
    let collided = run_in(Some(dir.path()), &["fix", "clan.nix"], None);
    assert_eq!(collided.stdout, "", "{}", collided.stderr);
    assert!(
        collided.stderr.contains("is also an instance name in")
            && collided.stderr.contains("other.nix"),
        "{}",
        collided.stderr
    );
    assert!(
        !collided.stderr.contains("other.nix:1:"),
        "files read only for the clan's facts are not reported: {}",
        collided.stderr
    );
}

fn write_three(dir: &std::path::Path) {
    for name in ["a.nix", "b.nix", "c.nix"] {
        fs::write(dir.join(name), MIGRATABLE).unwrap();
    }
}

/// `files` migratable files, `f0000.nix` on: more than one batch from 513 on.
fn write_many(dir: &std::path::Path, files: usize) {
    for i in 0..files {
        fs::write(dir.join(format!("f{i:04}.nix")), MIGRATABLE).unwrap();
    }
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".clan-migrate-"))
        .collect()
}

fn run_with_failpoint(dir: &std::path::Path, spec: &str) -> common::Run {
    let out = common::bin()
        .current_dir(dir)
        .env("CLAN_MIGRATE_FAILPOINT", spec)
        .args(["fix", "--write", "."])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Three files, of which `b.nix` meets the fault `point`: it must fail with
/// `message`, stay intact and leave no temporary file; the others are written.
fn b_of_three_fails(point: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let out = run_with_failpoint(dir.path(), &format!("{point}:b.nix"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("b.nix: error: {message}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "migrated 2 instances in 2 files (2 written); 1 file not changed because of an error"
        ),
        "{}",
        out.stderr
    );
    for (name, expected) in [
        ("a.nix", MIGRATED),
        ("b.nix", MIGRATABLE),
        ("c.nix", MIGRATED),
    ] {
        assert_eq!(
            fs::read_to_string(dir.path().join(name)).unwrap(),
            expected,
            "{name}"
        );
    }
    assert!(
        leftovers(dir.path()).is_empty(),
        "temporary files left: {:?}",
        leftovers(dir.path())
    );
}

#[test]
fn a_failed_write_leaves_that_file_intact_and_the_others_written() {
    b_of_three_fails(
        "fail-before-rename",
        "cannot replace the file: injected failure",
    );
}

#[test]
fn a_file_changed_after_it_was_read_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let out = run_with_failpoint(dir.path(), "changed-before-write:a.nix");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("a.nix: error: the file changed since it was read; not written"),
        "{}",
        out.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a.nix")).unwrap(),
        format!("{MIGRATABLE}\n"),
        "the other program's change is kept"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("b.nix")).unwrap(),
        MIGRATED
    );
}

#[test]
fn a_process_killed_mid_write_leaves_the_original_intact() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.nix"), MIGRATABLE).unwrap();
    let out = run_with_failpoint(dir.path(), "abort-before-rename:a.nix");
    assert_ne!(out.code, 0, "the process died");
    assert_eq!(
        fs::read_to_string(dir.path().join("a.nix")).unwrap(),
        MIGRATABLE,
        "the original is intact"
    );
    // The temporary file may remain; it is hidden and never taken for a .nix file.
    let check = run_in(
        Some(dir.path()),
        &["check", "--format", "concise", "--quiet", "."],
        None,
    );
    assert_eq!(check.stdout.lines().count(), 1, "{}", check.stdout);
}

#[test]
fn write_failures_in_any_batch_are_reported_with_their_file() {
    // More files than three batches hold: each batch is written while the next
    // one is analysed, and its outcome must still reach the report.
    let files = 1_300;
    // One file of the first batch, and the last file of the last batch.
    for failing in ["f0007.nix", "f1299.nix"] {
        let dir = tempfile::tempdir().unwrap();
        write_many(dir.path(), files);
        let out = run_with_failpoint(dir.path(), &format!("fail-before-rename:{failing}"));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "{failing}: error: cannot replace the file: injected failure"
            )),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(
                "migrated 1299 instances in 1299 files (1299 written); \
                 1 file not changed because of an error"
            ),
            "{}",
            out.stderr
        );
        for i in 0..files {
            let name = format!("f{i:04}.nix");
            let expected = if name == failing {
                MIGRATABLE
            } else {
                MIGRATED
            };
            assert_eq!(
                fs::read_to_string(dir.path().join(&name)).unwrap(),
                expected,
                "{name}"
            );
        }
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );

        let again = run_with_failpoint(dir.path(), "none:none");
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(
            again
                .stderr
                .contains("migrated 1 instance in 1 file (1 written)"),
            "{}",
            again.stderr
        );
    }
}

#[test]
fn a_failed_flush_leaves_its_file_intact_and_the_others_written() {
    b_of_three_fails(
        "flush-fails",
        "cannot write the temporary file: injected failure",
    );

    // Across the batches of a large run: that file alone is left.
    let dir = tempfile::tempdir().unwrap();
    let files = 1_300;
    write_many(dir.path(), files);
    let out = run_with_failpoint(dir.path(), "flush-fails:f0007.nix");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let unchanged: Vec<String> = (0..files)
        .map(|i| format!("f{i:04}.nix"))
        .filter(|name| fs::read_to_string(dir.path().join(name)).unwrap() == MIGRATABLE)
        .collect();
    assert_eq!(unchanged, vec!["f0007.nix".to_string()]);
    assert!(
        out.stderr
            .contains("f0007.nix: error: cannot write the temporary file: injected failure"),
        "{}",
        out.stderr
    );
    let written = files - 1;
    assert!(
        out.stderr.contains(&format!(
            "migrated {written} instances in {written} files ({written} written); \
             1 file not changed because of an error"
        )),
        "{}",
        out.stderr
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn a_low_limit_on_open_files_does_not_fail_writes() {
    // Files are written on all cores, each closed once it is replaced.
    let dir = tempfile::tempdir().unwrap();
    let files = 1_300;
    write_many(dir.path(), files);
    let out = std::process::Command::new("sh")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec '{}' fix --write --quiet .",
            env!("CARGO_BIN_EXE_clan-migrate")
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for i in 0..files {
        let name = format!("f{i:04}.nix");
        assert_eq!(
            fs::read_to_string(dir.path().join(&name)).unwrap(),
            MIGRATED,
            "{name}"
        );
    }
}

#[test]
fn an_instance_whose_rewrite_fails_verification_does_not_block_the_others() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::write(
        dir.path().join("clan.nix"),
        "{\n  inventory.services.sshd.default.roles.server.machines = [ \"a\" ];\n  inventory.services.borgbackup.home.roles.server.machines = [ \"a\" ];\n}\n",
    )
    .unwrap();
    let out = run_with_failpoint(dir.path(), "fail-verification:sshd-default");
    assert_eq!(out.code, 1, "one instance is left: {}", out.stderr);
    let text = fs::read_to_string(dir.path().join("clan.nix")).unwrap();
    assert_eq!(
        text,
        "{\n  inventory.services.sshd.default.roles.server.machines = [ \"a\" ];\n  inventory.instances.borgbackup-home.module.name = \"borgbackup\";\n  inventory.instances.borgbackup-home.roles.server.machines = { a = { }; };\n}\n"
    );
    assert!(
        out.stderr.contains("its rewrite failed verification (the rewrite of `sshd-default` is refused (injected fault))"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("migrated 1 instance in 1 file"),
        "{}",
        out.stderr
    );

    // Every instance failing: the file is left whole, with the error.
    fs::write(
        dir.path().join("one.nix"),
        "{\n  inventory.services.sshd.default.roles.server.machines = [ \"a\" ];\n}\n",
    )
    .unwrap();
    fs::remove_file(dir.path().join("clan.nix")).unwrap();
    let out = run_with_failpoint(dir.path(), "fail-verification:sshd-default");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("one.nix: error: the rewrite of `sshd-default` is refused"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_suppressed_finding_is_not_fixed() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    let text = "{\n  # clan-migrate: ignore[CM102] kept on purpose\n  inventory.instances.a.roles.server.config.x = 1;\n  inventory.instances.b.roles.server.config.x = 1;\n}\n";
    fs::write(dir.path().join("c.nix"), text).unwrap();
    let out = run_in(Some(dir.path()), &["fix", "--write", "c.nix"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(dir.path().join("c.nix")).unwrap(),
        "{\n  # clan-migrate: ignore[CM102] kept on purpose\n  inventory.instances.a.roles.server.config.x = 1;\n  inventory.instances.b.roles.server.settings.x = 1;\n}\n"
    );
}

#[test]
fn the_summary_counts_in_plurals() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::write(
        dir.path().join("c.nix"),
        "{\n  inventory.services.ergochat.a.roles.default.tags = [ \"all\" ];\n  inventory.services.ergochat.b.roles.default.tags = [ \"all\" ];\n  inventory.services.mumble.c.roles.server.tags = [ \"all\" ];\n}\n",
    )
    .unwrap();
    let out = run_in(Some(dir.path()), &["fix", "c.nix"], None);
    assert!(
        out.stderr.contains(
            "left 3 as they are (3 modules without a certain counterpart); 3 findings remain"
        ),
        "{}",
        out.stderr
    );
}

/// `fix --format json` lists each file's edits in offset order, disjoint, and
/// applying them to the original bytes gives what `fix --write` writes.
#[test]
fn json_edits_are_in_offset_order_and_reproduce_the_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        fs::read_to_string(common::repo_root().join("testdata/before/split-dotted.nix")).unwrap();
    fs::write(dir.path().join("clan.nix"), &original).unwrap();
    let out = run_in(
        Some(dir.path()),
        &["fix", "--format", "json", "clan.nix"],
        None,
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let edits = doc["fixes"][0]["edits"].as_array().unwrap();
    assert!(edits.len() > 2, "{edits:?}");
    let spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                e["start"]["offset"].as_u64().unwrap() as usize,
                e["end"]["offset"].as_u64().unwrap() as usize,
                e["insert"].as_str().unwrap(),
            )
        })
        .collect();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "out of order or overlapping: {pair:?}"
        );
    }
    let mut applied = original.clone();
    for (start, end, insert) in spans.iter().rev() {
        applied.replace_range(start..end, insert);
    }
    let write = run_in(Some(dir.path()), &["fix", "--write", "clan.nix"], None);
    assert_eq!(write.code, 0, "{}", write.stderr);
    assert_eq!(
        applied,
        fs::read_to_string(dir.path().join("clan.nix")).unwrap()
    );
}
