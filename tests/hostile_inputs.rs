//! Hostile inputs against the real binary: every case exits with the documented
//! code, names the file, never panics or hangs, and `fix --write` modifies nothing
//! it should not. The observed behaviour is tabulated in docs/reliability.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Run, run_in};

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().display().to_string(), fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

/// Runs `check` and `fix --write` on `args` in `dir`; both must exit `code`, and
/// neither may change a file.
fn both(dir: &Path, args: &[&str], code: i32) -> (Run, Run) {
    let before = snapshot(dir);
    let check = run_in(
        Some(dir),
        &[&["check", "--format", "concise"], args].concat(),
        None,
    );
    let fix = run_in(Some(dir), &[&["fix", "--write"], args].concat(), None);
    assert!(
        !check.stderr.contains("panicked") && !fix.stderr.contains("panicked"),
        "{}{}",
        check.stderr,
        fix.stderr
    );
    assert_eq!(
        check.code, code,
        "check {args:?}: {}{}",
        check.stdout, check.stderr
    );
    assert_eq!(fix.code, code, "fix {args:?}: {}{}", fix.stdout, fix.stderr);
    assert_eq!(snapshot(dir), before, "fix --write {args:?} modified files");
    (check, fix)
}

fn dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

#[test]
fn non_utf8_and_binary_files() {
    let d = dir();
    fs::write(d.path().join("latin1.nix"), b"{ a = \"caf\xe9\"; }").unwrap();
    let (check, _) = both(d.path(), &["latin1.nix"], 2);
    assert!(
        check.stdout.contains(
            "latin1.nix: error: file is not valid UTF-8 (first invalid byte at line 1, column 11"
        ),
        "{}",
        check.stdout
    );
    let d = dir();
    fs::write(
        d.path().join("binary.nix"),
        (0..=255u8).cycle().take(10_000).collect::<Vec<_>>(),
    )
    .unwrap();
    let (check, _) = both(d.path(), &["binary.nix"], 2);
    assert!(
        check
            .stdout
            .contains("binary.nix: error: file is not valid UTF-8"),
        "{}",
        check.stdout
    );
}

#[test]
fn empty_and_truncated_files() {
    let d = dir();
    fs::write(d.path().join("empty.nix"), "").unwrap();
    let (check, _) = both(d.path(), &["empty.nix"], 2);
    assert!(
        check
            .stdout
            .contains("empty.nix:1:1: CM000 unexpected end of file"),
        "{}",
        check.stdout
    );
    fs::write(
        d.path().join("inventory.json"),
        "{\"services\": {\"sshd\": ",
    )
    .unwrap();
    let (check, _) = both(d.path(), &["inventory.json"], 2);
    assert!(
        check
            .stdout
            .contains("inventory.json:1:23: CM000 invalid JSON: unexpected end of file"),
        "{}",
        check.stdout
    );
    fs::write(
        d.path().join("inventory.json"),
        "{\"services\": {}, \"services\": {}}",
    )
    .unwrap();
    let (check, _) = both(d.path(), &["inventory.json"], 2);
    assert!(
        check
            .stdout
            .contains("CM000 invalid JSON: duplicate key \"services\""),
        "{}",
        check.stdout
    );
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let d = dir();
    let deep = format!(
        "{{ inventory.services.a.b = {}1{}; }}",
        "{ x = ".repeat(10_000),
        "; }".repeat(10_000)
    );
    fs::write(d.path().join("deep.nix"), deep).unwrap();
    let (check, _) = both(d.path(), &["deep.nix"], 2);
    assert!(check.stdout.contains("deep.nix:1:"), "{}", check.stdout);
    assert!(
        check.stdout.contains("nested too deeply"),
        "{}",
        check.stdout
    );

    let d = dir();
    let dotted = format!(
        "{{ inventory.services.zerotier.x.{} = 1; }}",
        vec!["k"; 10_000].join(".")
    );
    fs::write(d.path().join("dotted.nix"), dotted).unwrap();
    let (check, _) = both(d.path(), &["dotted.nix"], 1);
    assert!(
        check.stdout.contains("dotted.nix:1:3: CM001"),
        "{}",
        check.stdout
    );

    let d = dir();
    fs::write(
        d.path().join("inventory.json"),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let (check, _) = both(d.path(), &["inventory.json"], 2);
    assert!(
        check.stdout.contains("nesting deeper than 256 levels"),
        "{}",
        check.stdout
    );
}

/// rnix refuses expressions nested 512 deep; anything shallower is analysed, and
/// every walk of the tree (detection, planning, the verifier's model) must fit
/// the stack of a worker thread, in the debug build the tests run.
#[test]
fn the_deepest_nesting_rnix_accepts_is_analysed() {
    let d = dir();
    let n = 250;
    let deep = format!(
        "{{ inventory.services.a.b = {}1{}; inventory.x = {}1{}; y = {}{}; }}",
        "{ x = (".repeat(n),
        "); }".repeat(n),
        "{ inventory.services.c.d = ".repeat(n),
        "; }".repeat(n),
        "[ ".repeat(2 * n),
        "]".repeat(2 * n)
    );
    fs::write(d.path().join("deep.nix"), deep).unwrap();
    let (check, fix) = both(d.path(), &["deep.nix"], 1);
    assert!(
        check.stdout.contains("deep.nix:1:3: CM001") && !check.stdout.contains("CM000"),
        "{}",
        check.stdout
    );
    assert!(!fix.stdout.contains("CM000"), "{}", fix.stdout);
}

#[test]
fn large_file() {
    // 5 MB of ordinary NixOS options (the suite runs a debug build; the
    // 50 MB figure is measured with the release build, see docs/reliability.md).
    let d = dir();
    let mut text = String::from("{\n");
    let mut i = 0;
    while text.len() < 5_000_000 {
        text.push_str(&format!(
            "  services.nginx.virtualHosts.\"h{i}\".root = \"/srv/{i}\";\n"
        ));
        i += 1;
    }
    text.push_str("}\n");
    fs::write(d.path().join("big.nix"), &text).unwrap();
    both(d.path(), &["big.nix"], 0);
}

#[test]
fn mixed_line_endings_are_kept() {
    let d = dir();
    let text =
        "{\r\n  inventory.services.sshd.x = {\n    roles.server.tags = [ \"all\" ];\r\n  };\n}\r\n";
    fs::write(d.path().join("mixed.nix"), text).unwrap();
    let out = run_in(Some(d.path()), &["fix", "--write", "mixed.nix"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = fs::read_to_string(d.path().join("mixed.nix")).unwrap();
    // Untouched line endings keep their bytes; the inserted line uses CRLF.
    assert!(
        after.starts_with("{\r\n  inventory.instances.sshd-x = {\n    module.name = \"sshd\";\r\n"),
        "{after:?}"
    );
    assert!(after.ends_with("  };\n}\r\n"), "{after:?}");
}

#[test]
fn special_files_and_links() {
    let d = dir();
    let root = d.path();
    fs::create_dir(root.join("dir.nix")).unwrap();
    fs::write(root.join("dir.nix/inner.nix"), "{ }").unwrap();
    symlink("loop-b.nix", root.join("loop-a.nix")).unwrap();
    symlink("loop-a.nix", root.join("loop-b.nix")).unwrap();
    symlink("missing.nix", root.join("dangling.nix")).unwrap();
    let fifo = Command::new("mkfifo")
        .arg(root.join("fifo.nix"))
        .status()
        .unwrap();
    assert!(fifo.success());

    // Walked: the directory is walked, links and the FIFO are skipped with a reason.
    let out = run_in(Some(root), &["check", "--format", "json", "."], None);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let skipped: Vec<&str> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    for name in ["dangling.nix", "fifo.nix", "loop-a.nix", "loop-b.nix"] {
        assert!(
            skipped.contains(&name),
            "{name} not reported as skipped: {skipped:?}"
        );
    }
    assert_eq!(doc["summary"]["files_scanned"], 1);

    // Named explicitly: clear errors, no hang on the FIFO.
    for (name, message) in [
        ("fifo.nix", "not a regular file"),
        ("loop-a.nix", "symbolic links"),
        ("dangling.nix", "no such file"),
    ] {
        let out = run_in(Some(root), &["check", "--format", "concise", name], None);
        assert_eq!(out.code, 2, "{name}");
        assert!(
            out.stdout.contains(name) && out.stdout.to_lowercase().contains(message),
            "{name}: {}",
            out.stdout
        );
    }
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let d = dir();
    for i in 0..50 {
        fs::write(
            d.path().join(format!("f{i}.nix")),
            "{ inventory.services.sshd.x.roles.server.tags = [ \"all\" ]; }\n",
        )
        .unwrap();
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' fix . | head -1",
            env!("CARGO_BIN_EXE_clan-migrate")
        ))
        .current_dir(d.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn a_full_disk_behind_stdout_is_an_error_that_says_so() {
    let d = dir();
    fs::write(d.path().join("clan.nix"), MIGRATABLE).unwrap();
    // Every write to /dev/full fails with "no space left on device".
    for args in [&["check", "."][..], &["fix", "."], &["rules"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_clan-migrate"))
            .args(args)
            .current_dir(d.path())
            .stdout(fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: cannot write to standard output: No space left on device"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        fs::read_to_string(d.path().join("clan.nix")).unwrap(),
        MIGRATABLE
    );
}

/// A legacy inventory `fix --write` rewrites.
const MIGRATABLE: &str =
    "{\n  inventory.services.sshd.default = {\n    roles.server.machines = [ \"a\" ];\n  };\n}\n";

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs the binary in `dir` as an unprivileged user: `nobody` through `setpriv`
/// when the tests run as root (root ignores permission bits, and CI runs as
/// root), the current user otherwise.
fn run_unprivileged(dir: &Path, args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_clan-migrate");
    let mut cmd = if running_as_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        cmd
    } else {
        Command::new(bin)
    };
    let out = cmd
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("the binary starts (setpriv from util-linux when running as root)");
    Run {
        code: out.status.code().expect("the binary exits normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn unreadable_files_and_read_only_files_and_directories() {
    // The control: the same content is rewritten when nothing stands in the way.
    let d = dir();
    chmod(d.path(), 0o777);
    fs::write(d.path().join("ok.nix"), MIGRATABLE).unwrap();
    if running_as_root() {
        std::os::unix::fs::chown(d.path().join("ok.nix"), Some(65534), Some(65534)).unwrap();
    }
    let fixed = run_unprivileged(d.path(), &["fix", "--write", "ok.nix"]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    assert_ne!(
        fs::read_to_string(d.path().join("ok.nix")).unwrap(),
        MIGRATABLE
    );

    // An unreadable file, named and walked.
    let d = dir();
    chmod(d.path(), 0o755);
    fs::write(d.path().join("secret.nix"), MIGRATABLE).unwrap();
    chmod(&d.path().join("secret.nix"), 0o000);
    for target in ["secret.nix", "."] {
        for command in [&["check"][..], &["fix", "--write"][..]] {
            let run = run_unprivileged(d.path(), &[command, &[target]].concat());
            assert_eq!(
                run.code, 2,
                "{command:?} {target}: {}{}",
                run.stdout, run.stderr
            );
            let output = format!("{}{}", run.stdout, run.stderr);
            assert!(
                output.contains("secret.nix")
                    && output.contains("error")
                    && output.contains("permission denied")
                    && output.contains("1 path could not be read"),
                "{command:?} {target}: {output}"
            );
        }
    }
    chmod(&d.path().join("secret.nix"), 0o644);
    assert_eq!(
        fs::read_to_string(d.path().join("secret.nix")).unwrap(),
        MIGRATABLE
    );

    // A read-only file is not replaced, even by root.
    let d = dir();
    fs::write(d.path().join("ro.nix"), MIGRATABLE).unwrap();
    chmod(&d.path().join("ro.nix"), 0o444);
    let before = snapshot(d.path());
    let run = run_in(Some(d.path()), &["fix", "--write", "ro.nix"], None);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains("ro.nix: error: the file is read-only; not written"),
        "{output}"
    );
    assert_eq!(snapshot(d.path()), before);

    // A read-only directory: no temporary file can be created next to the file.
    let d = dir();
    chmod(d.path(), 0o755);
    let sub = d.path().join("ro-dir");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("flake.nix"), MIGRATABLE).unwrap();
    chmod(&sub.join("flake.nix"), 0o666);
    chmod(&sub, 0o555);
    let before = snapshot(d.path());
    let run = run_unprivileged(d.path(), &["fix", "--write", "ro-dir/flake.nix"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains("ro-dir/flake.nix: error: cannot create a temporary file in ro-dir"),
        "{output}"
    );
    chmod(&sub, 0o755);
    assert_eq!(snapshot(d.path()), before);
    assert_eq!(
        fs::read_dir(&sub).unwrap().count(),
        1,
        "no temporary file is left"
    );
}

#[test]
fn a_rewritten_file_keeps_its_owner_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let d = dir();
    let file = d.path().join("owned.nix");
    fs::write(&file, MIGRATABLE).unwrap();
    chmod(&file, 0o640);
    // As root (CI) the file is handed to another user first, so that keeping the
    // owner is something the fix has to do; otherwise the owner is ours.
    let (uid, gid) = if running_as_root() {
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
        (65534, 65534)
    } else {
        let meta = fs::metadata(&file).unwrap();
        (meta.uid(), meta.gid())
    };
    let run = run_in(Some(d.path()), &["fix", "--write", "owned.nix"], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let meta = fs::metadata(&file).unwrap();
    assert_ne!(fs::read_to_string(&file).unwrap(), MIGRATABLE);
    assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
}

#[test]
fn a_file_that_changes_between_the_two_passes_is_an_error() {
    let dir = common::scratch("changed-between-passes");
    std::fs::write(
        dir.join("clan.nix"),
        "{ inventory.services.sshd.a.roles.server.machines = [ \"m\" ]; }\n",
    )
    .unwrap();
    let out = common::bin()
        .current_dir(&dir)
        .env(
            "CLAN_MIGRATE_FAILPOINT",
            "changed-before-second-read:clan.nix",
        )
        .args(["fix", "--write", "--format", "concise", "."])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("clan.nix: error: the file changed while clan-migrate was reading the tree"),
        "{stderr}"
    );
    // Not rewritten: the failpoint's change is all that happened to it.
    let text = std::fs::read_to_string(dir.join("clan.nix")).unwrap();
    assert!(text.contains("inventory.services"), "{text}");
}

/// Inputs deeper than any real clan, in several files at once: files are
/// analysed on worker threads, whose stacks are smaller than the main
/// thread's. Every instance is either migrated or left with a reason; no run
/// aborts.
#[test]
fn deep_inputs_on_worker_threads_are_handled() {
    let dir = common::scratch("deep-inputs");
    let keys: Vec<String> = (0..10_000).map(|i| format!("k{i}")).collect();
    let dotted = format!(
        "{{\n  inventory.services.sshd.deep.roles.server.machines = [ \"a\" ];\n  inventory.services.sshd.deep.roles.server.config.{} = 1;\n  inventory.services.sshd.fine.roles.server.machines = [ \"a\" ];\n}}\n",
        keys.join(".")
    );
    let nested = format!(
        "{{\n  inventory.services.sshd.nested.roles.server.machines = [ \"a\" ];\n  inventory.services.sshd.nested.roles.server.config = {}1{};\n}}\n",
        "{ a = ".repeat(300),
        "; }".repeat(300)
    );
    let parens = format!(
        "{{ inventory.machines.m = {{ }}; x = {}1{}; }}\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    // Two of each: the rnix tokenizer takes seconds over a path this long.
    for i in 0..2 {
        std::fs::write(dir.join(format!("dotted{i}.nix")), &dotted).unwrap();
        std::fs::write(dir.join(format!("nested{i}.nix")), &nested).unwrap();
        std::fs::write(dir.join(format!("parens{i}.nix")), &parens).unwrap();
    }
    for args in [["check", "."], ["fix", "."]] {
        let out = common::bin()
            .current_dir(&dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // 2: the parenthesized files are too deep to parse, which is reported.
        assert_eq!(out.status.code(), Some(2), "{args:?}: {printed}");
        assert!(printed.contains("nested too deeply"), "{args:?}: {printed}");
    }
    let out = run_in(Some(&dir), &["fix", "--write", "."], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let dotted0 = std::fs::read_to_string(dir.join("dotted0.nix")).unwrap();
    assert!(
        dotted0.contains("inventory.instances.sshd-fine"),
        "{dotted0}"
    );
    assert!(
        dotted0.contains("inventory.services.sshd.deep"),
        "{dotted0}"
    );
    assert!(
        out.stderr
            .contains("an attribute path of more than 256 keys"),
        "{}",
        out.stderr
    );
}
