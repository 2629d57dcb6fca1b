//! The real binary: exit codes, machine formats, stdin, explicit vs walked paths.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::{run, run_in};

const LEGACY: &str = "{ inventory.services.sshd.default.roles.server.tags = [ \"all\" ]; }\n";
const CLEAN: &str = "{ services.openssh.enable = true; }\n";

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{stdout}"))
}

#[test]
fn exit_codes_follow_the_documented_contract() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.nix");
    let legacy = dir.path().join("legacy.nix");
    let broken = dir.path().join("broken.nix");
    fs::write(&clean, CLEAN).unwrap();
    fs::write(&legacy, LEGACY).unwrap();
    fs::write(&broken, "{ a = ; }").unwrap();
    let p = |p: &std::path::Path| p.to_str().unwrap().to_owned();

    assert_eq!(run(&["check", &p(&clean)]).code, 0);
    assert_eq!(run(&["check", &p(&legacy)]).code, 1);
    assert_eq!(run(&["check", &p(&broken)]).code, 2);
    assert_eq!(run(&["check", &p(&legacy), &p(&broken)]).code, 2);
    assert_eq!(run(&["check", &p(&dir.path().join("missing.nix"))]).code, 2);
    assert_eq!(run(&["check", "--format", "nope"]).code, 2);
    assert_eq!(run(&["frobnicate"]).code, 2);
}

#[test]
fn help_documents_exit_codes() {
    let out = run(&["check", "--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Exit codes:"), "{}", out.stdout);
    assert!(out.stdout.contains("2  usage error"), "{}", out.stdout);
}

#[test]
fn json_output_is_one_document_even_with_errors() {
    let out = run(&[
        "check",
        "--format",
        "json",
        "testdata/before",
        "testdata/does-not-exist",
    ]);
    assert_eq!(out.code, 2);
    let doc = json(&out.stdout);
    assert_eq!(doc["schema_version"], 1);
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "CM000"),
        "parse errors are findings"
    );
    let errors: Vec<&str> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(errors.contains(&"testdata/does-not-exist"), "{errors:?}");
    assert!(
        errors.contains(&"testdata/before/toml-invalid/clan-migrate.toml"),
        "{errors:?}"
    );
    assert_eq!(doc["summary"]["exit_code"], 2);
    assert_eq!(
        doc["summary"]["findings"].as_u64().unwrap() as usize,
        findings.len()
    );
    let first = &findings[0];
    for key in [
        "path", "code", "name", "severity", "message", "start", "end", "labels",
    ] {
        assert!(first.get(key).is_some(), "finding lacks {key}: {first}");
    }
    // The human summary goes to stderr only.
    assert!(out.stderr.starts_with("checked "), "{}", out.stderr);
}

#[test]
fn json_offsets_count_the_byte_order_mark() {
    let out = run(&["check", "--format", "json", "testdata/before/bom.nix"]);
    let doc = json(&out.stdout);
    let start = &doc["findings"][0]["start"];
    let bytes = fs::read(common::repo_root().join("testdata/before/bom.nix")).unwrap();
    let offset = start["offset"].as_u64().unwrap() as usize;
    assert!(bytes[offset..].starts_with(b"inventory.services.mumble"));
    assert_eq!(
        (start["line"].as_u64(), start["column"].as_u64()),
        (Some(2), Some(3))
    );
}

#[test]
fn stdin_is_read_and_named() {
    let out = run_in(
        None,
        &[
            "check",
            "--format",
            "concise",
            "--stdin-filename",
            "clan/flake-module.nix",
            "-",
        ],
        Some(LEGACY.as_bytes()),
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.starts_with("clan/flake-module.nix:1:3: CM001"),
        "{}",
        out.stdout
    );

    // An inventory.nix name makes the top level an inventory.
    let out = run_in(
        None,
        &[
            "check",
            "--format",
            "concise",
            "--stdin-filename",
            "inventory.nix",
            "-",
        ],
        Some(b"{ services.admin.default = { }; }"),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);

    let out = run_in(None, &["check", "-"], Some(CLEAN.as_bytes()));
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("1 file"), "{}", out.stderr);

    let out = run_in(None, &["check", "-", "other.nix"], Some(b""));
    assert_eq!(out.code, 2);
}

#[test]
fn walking_skips_hidden_dirs_and_symlinks_but_explicit_paths_are_processed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join(".hidden")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::create_dir_all(root.join("real")).unwrap();
    fs::write(root.join(".hidden/legacy.nix"), LEGACY).unwrap();
    fs::write(root.join(".git/legacy.nix"), LEGACY).unwrap();
    fs::write(root.join("real/legacy.nix"), LEGACY).unwrap();
    fs::write(root.join("real/notes.txt"), LEGACY).unwrap();
    symlink(root.join("real/legacy.nix"), root.join("link.nix")).unwrap();
    symlink(root.join("real"), root.join("result")).unwrap();

    let out = run_in(Some(root), &["check", "--format", "json", "."], None);
    let doc = json(&out.stdout);
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["real/legacy.nix"], "{}", out.stdout);
    let skipped: Vec<&str> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        vec!["link.nix"],
        "the link is reported, `result` is not"
    );

    // Named explicitly: the hidden file, the symlink, and a file with another extension.
    for explicit in [
        ".hidden/legacy.nix",
        "link.nix",
        "real/notes.txt",
        ".hidden",
    ] {
        let out = run_in(
            Some(root),
            &["check", "--format", "concise", explicit],
            None,
        );
        assert_eq!(out.code, 1, "{explicit}: {}{}", out.stdout, out.stderr);
    }
}

#[test]
fn output_order_is_sorted_by_path() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b.nix", "a.nix", "c/a.nix"] {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, LEGACY).unwrap();
    }
    let out = run_in(
        Some(dir.path()),
        &["check", "--format", "concise", "c", "b.nix", "a.nix"],
        None,
    );
    let files: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(files, vec!["a.nix", "b.nix", "c/a.nix"]);
}

#[test]
fn imported_inventory_files_are_legacy_through_their_importer_even_when_named_alone() {
    // Named alone, the file is read with the rest of its clan (the directory
    // of its flake.nix), whose importer mounts it at `inventory`.
    let alone = run(&[
        "check",
        "--format",
        "concise",
        "testdata/before/inventory-import/clan-inventory.nix",
    ]);
    let with_importer = run(&[
        "check",
        "--format",
        "concise",
        "testdata/before/inventory-import",
    ]);
    assert_eq!(with_importer.code, 1);
    let of_the_file = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("testdata/before/inventory-import/clan-inventory.nix:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of_the_file(&with_importer.stdout).len(),
        2,
        "{}",
        with_importer.stdout
    );
    assert_eq!(alone.code, 1, "{}", alone.stdout);
    assert_eq!(
        alone.stdout.lines().count(),
        2,
        "only the named file is reported: {}",
        alone.stdout
    );
    assert_eq!(
        of_the_file(&alone.stdout),
        of_the_file(&with_importer.stdout)
    );

    // Outside any flake, no importer: just an attribute set.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::copy(
        common::repo_root().join("testdata/before/inventory-import/clan-inventory.nix"),
        dir.path().join("clan-inventory.nix"),
    )
    .unwrap();
    let no_clan = run_in(Some(dir.path()), &["check", "clan-inventory.nix"], None);
    assert_eq!(no_clan.code, 0, "{}", no_clan.stdout);
}

#[test]
fn colour_is_used_only_when_asked_or_on_a_terminal() {
    let path = "testdata/before/crlf.nix";
    assert!(
        !run(&["check", path]).stdout.contains('\x1b'),
        "not a terminal"
    );
    assert!(
        run(&["check", "--color", "always", path])
            .stdout
            .contains('\x1b')
    );
    assert!(
        !run(&["check", "--color", "never", path])
            .stdout
            .contains('\x1b')
    );
}

#[test]
fn github_annotations() {
    let out = run(&[
        "check",
        "--format",
        "github",
        "testdata/before/split-dotted.nix",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.starts_with(
            "::error file=testdata/before/split-dotted.nix,line=5,col=3,endColumn=40,title=CM001 legacy-service-instance::"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "newlines in messages are escaped"
    );
}

#[test]
fn invalid_json_and_non_utf8_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("inventory.json"),
        "{\n  \"services\": {,\n}",
    )
    .unwrap();
    let out = run_in(
        Some(dir.path()),
        &["check", "--format", "concise", "."],
        None,
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stdout,
        "inventory.json:2:16: CM000 invalid JSON: expected an object key (a string in double quotes)\n"
    );

    fs::write(dir.path().join("inventory.json"), "{}").unwrap();
    fs::write(dir.path().join("latin1.nix"), b"{ a = \"caf\xe9\"; }").unwrap();
    let out = run_in(
        Some(dir.path()),
        &["check", "--format", "concise", "."],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains(
            "latin1.nix: error: file is not valid UTF-8 (first invalid byte at line 1, column 11"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn rules_and_explain() {
    let out = run(&["rules"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("CM001  legacy-service-instance"),
        "{}",
        out.stdout
    );
    let rules = json(&run(&["rules", "--format", "json"]).stdout);
    assert!(rules.as_array().unwrap().len() >= 6);

    let out = run(&["explain", "cm001"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("## Why"));
    let out = run(&["explain", "legacy-services-read"]);
    assert!(out.stdout.starts_with("CM002"));
    assert_eq!(run(&["explain", "CM999"]).code, 2);
}

#[test]
fn whole_testdata_run_matches_the_per_file_runs() {
    // Cross-file facts must not depend on which other files are in the run.
    let findings = |out: String| -> Vec<String> {
        out.lines()
            .filter(|l| l.contains(": CM"))
            .map(str::to_owned)
            .collect()
    };
    let whole =
        findings(run(&["check", "--format", "concise", "--quiet", "testdata/before"]).stdout);
    let mut per_unit = Vec::new();
    for unit in common::before_units() {
        let path = format!("testdata/before/{unit}");
        per_unit.extend(findings(
            run(&["check", "--format", "concise", "--quiet", &path]).stdout,
        ));
    }
    assert!(whole.len() > 40);
    assert_eq!(whole, per_unit);
}

#[test]
fn sarif_output_matches_the_json_findings() {
    let sarif = run(&["check", "--format", "sarif", "--quiet", "testdata/before"]);
    let json_out = run(&["check", "--format", "json", "--quiet", "testdata/before"]);
    assert_eq!(sarif.code, json_out.code);
    let doc = json(&sarif.stdout);
    assert_eq!(doc["version"], "2.1.0");
    let run0 = &doc["runs"][0];
    let results = run0["results"].as_array().unwrap();
    let findings = json(&json_out.stdout)["findings"].as_array().unwrap().len();
    assert_eq!(results.len(), findings);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run0["tool"]["driver"]["rules"][index]["id"],
            result["ruleId"]
        );
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
    assert_eq!(
        run0["invocations"][0]["executionSuccessful"], false,
        "an unreadable config is an error"
    );
}

/// A repository with a legacy file, an instance mistake, and what ignore
/// files and `--exclude` leave out.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join(".gitignore"), "ignored/\n").unwrap();
    for sub in ["ignored", "vendor", "clan"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    fs::write(dir.path().join("ignored/old.nix"), LEGACY).unwrap();
    fs::write(dir.path().join("vendor/old.nix"), LEGACY).unwrap();
    fs::write(dir.path().join("clan/legacy.nix"), LEGACY).unwrap();
    fs::write(
        dir.path().join("clan/instances.nix"),
        "{ inventory.instances.a.roles.server.config.x = 1; }\n",
    )
    .unwrap();
    dir
}

fn concise_paths(out: &common::Run) -> Vec<String> {
    out.stdout
        .lines()
        .map(|l| l.split(": ").next().unwrap().to_owned())
        .collect()
}

#[test]
fn ignore_files_and_exclude_globs_leave_paths_out_of_the_walk() {
    let dir = repository();
    let args = ["check", "--format", "concise", "--quiet"];
    let all = run_in(Some(dir.path()), &[&args[..], &["."]].concat(), None);
    assert_eq!(
        concise_paths(&all),
        vec![
            "clan/instances.nix:1:38",
            "clan/legacy.nix:1:3",
            "vendor/old.nix:1:3"
        ]
    );
    let excluded = run_in(
        Some(dir.path()),
        &[&args[..], &["--exclude", "vendor", "."]].concat(),
        None,
    );
    assert_eq!(
        concise_paths(&excluded),
        vec!["clan/instances.nix:1:38", "clan/legacy.nix:1:3"]
    );
    let everything = run_in(
        Some(dir.path()),
        &[&args[..], &["--no-ignore", "."]].concat(),
        None,
    );
    assert_eq!(concise_paths(&everything).len(), 4, "{}", everything.stdout);
    // A file named explicitly is read whatever ignores it.
    let named = run_in(
        Some(dir.path()),
        &[&args[..], &["ignored/old.nix"]].concat(),
        None,
    );
    assert_eq!(concise_paths(&named), vec!["ignored/old.nix:1:3"]);
}

#[test]
fn rules_are_selected_and_ignored_on_the_command_line_and_in_the_configuration() {
    let dir = repository();
    let codes = |extra: &[&str]| {
        let args = [
            &["check", "--format", "concise", "--quiet", "clan"][..],
            extra,
        ]
        .concat();
        let out = run_in(Some(dir.path()), &args, None);
        let codes: Vec<String> = out
            .stdout
            .lines()
            .map(|l| l.split(' ').nth(1).unwrap().to_owned())
            .collect();
        (out.code, codes)
    };
    assert_eq!(codes(&[]), (1, vec!["CM102".into(), "CM001".into()]));
    assert_eq!(codes(&["--select", "CM1"]), (1, vec!["CM102".into()]));
    assert_eq!(
        codes(&["--ignore", "instances-role-config"]),
        (1, vec!["CM001".into()])
    );
    assert_eq!(
        codes(&["--select", "CM001,CM102", "--ignore", "CM001,CM102"]),
        (0, vec![])
    );
    fs::write(
        dir.path().join("clan/clan-migrate.toml"),
        "ignore = [\"CM001\"]\n",
    )
    .unwrap();
    assert_eq!(codes(&[]), (1, vec!["CM102".into()]));
    assert_eq!(codes(&["--select", "CM0"]), (0, vec![]), "ignores add up");

    let unknown = run_in(
        Some(dir.path()),
        &["check", "--select", "CM9,typo", "clan"],
        None,
    );
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("unknown rules `CM9`, `typo`"),
        "{}",
        unknown.stderr
    );

    // `fix` leaves what is not selected as it is.
    fs::remove_file(dir.path().join("clan/clan-migrate.toml")).unwrap();
    let fix = run_in(
        Some(dir.path()),
        &["fix", "--select", "CM102", "clan"],
        None,
    );
    assert!(
        fix.stdout.contains("+++ b/clan/instances.nix"),
        "{}",
        fix.stdout
    );
    assert!(!fix.stdout.contains("legacy.nix"), "{}", fix.stdout);
    assert!(
        fix.stderr
            .contains("would migrate 0 instances and correct 1 mistake in 1 file"),
        "{}",
        fix.stderr
    );
}

#[test]
fn exit_zero_statistics_and_verbose() {
    let dir = repository();
    let zero = run_in(
        Some(dir.path()),
        &["check", "--exit-zero", "--quiet", "clan"],
        None,
    );
    assert_eq!(zero.code, 0);
    assert!(!zero.stdout.is_empty());
    fs::write(dir.path().join("clan/broken.nix"), "{ inventory = ; }\n").unwrap();
    let broken = run_in(
        Some(dir.path()),
        &["check", "--exit-zero", "--quiet", "clan"],
        None,
    );
    assert_eq!(
        broken.code, 2,
        "a file that does not parse is still an error"
    );
    fs::remove_file(dir.path().join("clan/broken.nix")).unwrap();

    let statistics = run_in(Some(dir.path()), &["check", "--statistics", "."], None);
    assert_eq!(statistics.code, 1);
    assert_eq!(
        statistics.stdout,
        "2  CM001  legacy-service-instance\n1  CM102  instances-role-config\n"
    );

    fs::write(
        dir.path().join("flake.nix"),
        "{ inputs.clan-core.url = \"https://git.clan.lol/clan/clan-core\"; outputs = _: { }; }\n",
    )
    .unwrap();
    let verbose = run_in(Some(dir.path()), &["check", "-v", "clan/legacy.nix"], None);
    assert!(
        verbose.stderr.contains("clan-migrate: 1 files to check")
            && verbose
                .stderr
                .contains("clan-migrate: read the clan in . for the named paths"),
        "{}",
        verbose.stderr
    );
}

#[test]
fn a_path_without_files_to_check_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("docs")).unwrap();
    fs::write(dir.path().join("docs/README.md"), "# nothing here\n").unwrap();
    for command in ["check", "fix"] {
        let out = run_in(Some(dir.path()), &[command, "docs"], None);
        assert_eq!(out.code, 2, "{command}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("no `.nix` file or `inventory.json` found in docs"),
            "{command}: {}",
            out.stderr
        );
    }
}

#[test]
fn completions_and_the_manual_come_from_the_command_line_definition() {
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("clan-migrate") && bash.stdout.contains("--select"));
    let man = run(&["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        &man.stdout[..200]
    );
    assert!(man.stdout.contains("clan\\-migrate"));
}

#[test]
fn check_help_lists_no_fix_only_option_and_rules_are_aligned() {
    let help = run(&["check", "--help"]);
    assert!(!help.stdout.contains("--module-input") && !help.stdout.contains("--tags-as-attrs"));
    assert!(run(&["fix", "--help"]).stdout.contains("--module-input"));
    let rules = run(&["rules"]);
    let columns: Vec<usize> = rules
        .stdout
        .lines()
        .filter(|l| l.starts_with("CM"))
        .map(|l| {
            [" error ", " warning ", " info "]
                .iter()
                .find_map(|s| l.find(s))
                .unwrap()
        })
        .collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{}", rules.stdout);
}

/// An invalid `clan-migrate.toml` is a configuration error, whatever path the
/// run was given (its directory, the file beside it, the file on stdin) and in
/// every format: exit 2, and never "could not be read".
#[test]
fn an_invalid_configuration_is_reported_as_such_from_every_entry_point() {
    let config = "testdata/before/toml-invalid/clan-migrate.toml";
    for path in [
        "testdata/before/toml-invalid",
        "testdata/before/toml-invalid/clan.nix",
    ] {
        let out = run(&["check", "--color", "never", path]);
        assert_eq!(out.code, 2, "{path}: {}", out.stderr);
        assert!(
            out.stdout
                .contains(&format!("error: {config}: invalid configuration at line 2")),
            "{path}: {}",
            out.stdout
        );
        assert!(
            out.stderr.ends_with("; 1 configuration is invalid\n"),
            "{path}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("could not be read"), "{}", out.stderr);

        let github = run(&["check", "--format", "github", path]);
        assert_eq!(github.code, 2);
        assert!(
            github.stdout.starts_with(&format!(
                "::error file={config},title=clan-migrate%3A invalid configuration::"
            )),
            "{}",
            github.stdout
        );

        let doc = json(&run(&["check", "--format", "json", path]).stdout);
        assert_eq!(doc["errors"][0]["kind"], "configuration", "{doc}");
        assert_eq!(doc["errors"][0]["path"], config);
    }
    let stdin = run_in(
        None,
        &[
            "fix",
            "--stdin-filename",
            "testdata/before/toml-invalid/clan.nix",
            "-",
        ],
        Some(b"{ inventory.services.sshd.default.roles.server.tags = [ \"all\" ]; }\n"),
    );
    assert_eq!(stdin.code, 2, "{}", stdin.stderr);
    assert!(
        stdin.stderr.contains("1 configuration is invalid"),
        "{}",
        stdin.stderr
    );
}
