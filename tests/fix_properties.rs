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

/// A deterministic generator (64-bit LCG): the same cases on every run.
struct Cases(u64);

impl Cases {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.next(100) < percent
    }

    fn some<'a>(&mut self, items: &[&'a str], at_least: usize) -> Vec<&'a str> {
        let count = at_least + self.next(items.len() + 1 - at_least);
        let mut picked: Vec<&str> = Vec::new();
        while picked.len() < count {
            let item = items[self.next(items.len())];
            if !picked.contains(&item) {
                picked.push(item);
            }
        }
        picked
    }
}

/// A module for random instances: its name, roles, and settings with a value.
type RandomModule = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const RANDOM_MODULES: [RandomModule; 5] = [
    (
        "sshd",
        &["server", "client"],
        &[
            ("certificate.searchDomains", "[ \"a.example\" ]"),
            ("certificate", "{ searchDomains = [ \"b.example\" ]; }"),
            ("hostKeys.rsa.enable", "true"),
        ],
    ),
    (
        "borgbackup",
        &["client", "server"],
        &[
            ("directory", "\"/srv/borg\""),
            ("destinations.x.repo", "\"u@h:r\""),
            ("destinations", "{ y.repo = \"v@h:r\"; }"),
        ],
    ),
    (
        "zerotier",
        &["controller", "moon", "peer"],
        &[
            ("networkIps", "[ \"10.0.0.1\" ]"),
            ("moon.stableEndpoints", "[ \"1.2.3.4\" ]"),
            ("moon", "{ stableEndpoints = [ \"5.6.7.8\" ]; }"),
        ],
    ),
    (
        "admin",
        &["default"],
        &[
            ("allowedKeys", "{ a = \"ssh-ed25519 AAAA\"; }"),
            ("allowedKeys.b", "\"ssh-ed25519 BBBB\""),
        ],
    ),
    ("my-custom", &["default"], &[("x", "1")]),
];

/// Config lines: `config.<k> = v;` one per key, or one `config = { … };` set.
fn random_config(cases: &mut Cases, keys: &[(&str, &str)]) -> Vec<String> {
    let mut chosen: Vec<(&str, &str)> = Vec::new();
    for _ in 0..=cases.next(2) {
        let key = keys[cases.next(keys.len())];
        if !chosen.contains(&key) {
            chosen.push(key);
        }
    }
    if cases.chance(50) {
        let mut lines = vec!["config = {".to_owned()];
        lines.extend(chosen.iter().map(|(k, v)| format!("  {k} = {v};")));
        lines.push("};".to_owned());
        lines
    } else {
        chosen
            .iter()
            .map(|(k, v)| format!("config.{k} = {v};"))
            .collect()
    }
}

/// A `services` set of one to three legacy instances with random members
/// (lists, tags, `all`, an `inventory.tags` list) and config at instance, role
/// and machine level, written as dotted paths or nested bodies, in a clan of
/// four tagged machines.
fn random_inventory(cases: &mut Cases) -> String {
    let machines = ["m0", "m1", "m2", "m3"];
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec!["{".to_owned(), "  inventory.machines = {".to_owned()];
    for machine in machines {
        let tags = cases.some(&["web", "db"], 0);
        lines.push(format!(
            "    {machine} = {{ tags = [ {} ]; }};",
            quoted(&tags)
        ));
    }
    lines.push("  };".to_owned());
    if cases.chance(30) {
        let listed = cases.some(&machines, 1);
        lines.push(format!("  inventory.tags.ops = [ {} ];", quoted(&listed)));
    }
    lines.push("  inventory.services = {".to_owned());
    for n in 0..=cases.next(3) {
        let (service, roles, keys) = RANDOM_MODULES[cases.next(RANDOM_MODULES.len())];
        let mut body: Vec<String> = Vec::new();
        for role in roles {
            if !cases.chance(85) {
                continue;
            }
            let mut role_lines: Vec<String> = Vec::new();
            if cases.chance(60) {
                let listed = cases.some(&machines, 1);
                role_lines.push(format!("machines = [ {} ];", quoted(&listed)));
            }
            if cases.chance(50) {
                let tags = cases.some(&["web", "db", "all", "ops"], 1);
                role_lines.push(format!("tags = [ {} ];", quoted(&tags)));
            }
            if cases.chance(35) {
                role_lines.extend(random_config(cases, keys));
            }
            if cases.chance(50) {
                body.push(format!("roles.{role} = {{"));
                body.extend(role_lines.iter().map(|l| format!("  {l}")));
                body.push("};".to_owned());
            } else {
                let mut open = false;
                for line in role_lines {
                    if open || line.starts_with("  ") || line == "};" {
                        open = line != "};";
                        body.push(line);
                    } else {
                        open = line.ends_with('{');
                        body.push(format!("roles.{role}.{line}"));
                    }
                }
            }
        }
        if cases.chance(35) {
            body.extend(random_config(cases, keys));
        }
        if cases.chance(35) {
            let machine = machines[cases.next(machines.len())];
            let config = random_config(cases, keys);
            if cases.chance(50) {
                body.push(format!("machines.{machine} = {{"));
                body.extend(config.iter().map(|l| format!("  {l}")));
                body.push("};".to_owned());
            } else {
                for line in config {
                    if line.starts_with("config") {
                        body.push(format!("machines.{machine}.{line}"));
                    } else {
                        body.push(line);
                    }
                }
            }
        }
        lines.push(format!("    {service}.i{n} = {{"));
        lines.extend(body.iter().map(|l| format!("      {l}")));
        lines.push("    };".to_owned());
        if cases.chance(30) {
            lines.push(String::new());
        }
    }
    lines.push("  };".to_owned());
    lines.push("}".to_owned());
    lines.join("\n") + "\n"
}

/// What the planner decides to rewrite, the verifier accepts: on random
/// memberships and configs, `fix` migrates an instance or leaves it with a
/// reason, and never ends in a rewrite refused by its own verification
/// (which the user would see as an error, exit code 2).
#[test]
fn the_planner_and_the_verifier_agree_on_random_instances() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Cases(0x5eed);
    for n in 0..300 {
        fs::write(
            dir.path().join(format!("c{n:03}.nix")),
            random_inventory(&mut cases),
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
