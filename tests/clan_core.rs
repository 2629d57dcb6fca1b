//! Judges the rewrite with the real clan-core: every golden pair, before and
//! after, is evaluated by `tests/clan_core/evaluate.nix` (the legacy builder
//! for `inventory.services`, the current distributed-service machinery for
//! `inventory.instances`), and the members and settings of every (instance,
//! role, machine) must be equal. The module table is checked against the real
//! modules' interfaces (`tests/clan_core/interfaces.nix`).
//!
//! The trees come from `CLAN_CORE_TREES` (`.ci/run` sets it to
//! `../shared/clan-core-trees`). Without it the suite says that it did not
//! run; under `CI` that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;
use std::process::Command;

use common::golden::{as_inventory_arg, golden_files, user_table_args};
use common::{clan_core_trees as trees, empty_clan_directory as empty_directory, repo_root};

fn nix_eval(expression: &str, trees: &Path, extra: &[String]) -> Result<serde_json::Value, String> {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--read-write-mode"])
        .arg(repo_root().join(expression))
        .arg("--arg")
        .arg("trees")
        .arg(trees)
        .arg("--arg")
        .arg("directory")
        .arg(empty_directory())
        .args(extra)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// What `evaluate.nix` returns for a file, or the evaluation error.
type Evaluation = Result<serde_json::Value, String>;

fn evaluate(trees: &Path, file: &Path, unit_root: &Path) -> Evaluation {
    if std::fs::read(file).unwrap().starts_with(b"\xef\xbb\xbf") {
        return Err("Nix does not accept a byte-order mark".into());
    }
    let mut args = vec![
        "--arg".to_owned(),
        "file".to_owned(),
        file.display().to_string(),
    ];
    args.extend(user_table_args(file, unit_root));
    args.extend(as_inventory_arg(file).map(str::to_owned));
    nix_eval("tests/clan_core/evaluate.nix", trees, &args)
}

#[test]
fn the_module_table_matches_the_real_modules() {
    let Some(trees) = trees() else { return };
    let result = nix_eval("tests/clan_core/interfaces.nix", &trees, &[])
        .unwrap_or_else(|e| panic!("the interfaces do not evaluate:\n{e}"));
    let checked = result["checked"].as_array().unwrap();
    let mismatches: Vec<&str> = result["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    eprintln!(
        "clan-core: module table checked for {} modules",
        checked.len()
    );
    assert!(
        checked.len() >= 10,
        "only {} modules were checked",
        checked.len()
    );
    assert!(
        mismatches.is_empty(),
        "the module table disagrees with clan-core:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn before_and_after_mean_the_same_to_the_real_clan_core() {
    let Some(trees) = trees() else { return };
    let files = golden_files();
    // Two evaluations per file, on as many threads as the machine has.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(usize, Evaluation, Evaluation)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        done.push((
                            i,
                            evaluate(&trees, &file.before, &file.before_unit),
                            evaluate(&trees, &file.after, &file.after_unit),
                        ));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut results = results;
    results.sort_by_key(|(i, _, _)| *i);

    let mut compared = Vec::new();
    let mut not_evaluable = Vec::new();
    let mut skipped = std::collections::BTreeSet::new();
    for (i, before, after) in results {
        let file = &files[i];
        let name = file.name();
        match (before, after) {
            (Ok(mut b), Ok(mut a)) => {
                // An instance one side could not evaluate is compared on neither.
                let mut not_compared = Vec::new();
                for side in [&b, &a] {
                    for (instance, why) in side["skipped"].as_object().unwrap() {
                        skipped.insert(format!("{name}: {instance} ({})", why.as_str().unwrap()));
                        not_compared.push(instance.clone());
                    }
                }
                for side in [&mut b, &mut a] {
                    let instances = side["instances"].as_object_mut().unwrap();
                    instances.retain(|instance, _| !not_compared.contains(instance));
                }
                assert_eq!(
                    b["instances"], a["instances"],
                    "{name}: members or settings differ in the real clan-core"
                );
                let evaluated = b["instances"].as_object().is_some_and(|o| !o.is_empty());
                if file.unit_changed && evaluated && !compared.contains(&file.unit) {
                    compared.push(file.unit.clone());
                }
            }
            (Err(_), Err(_)) => not_evaluable.push(name),
            (Ok(_), Err(e)) => panic!("{name}: the rewrite does not evaluate with clan-core:\n{e}"),
            (Err(e), Ok(_)) => panic!("{name}: only the rewrite evaluates with clan-core:\n{e}"),
        }
    }
    eprintln!(
        "clan-core: {} rewritten units compared: {compared:?}",
        compared.len()
    );
    eprintln!("clan-core: not evaluable: {not_evaluable:?}");
    eprintln!("clan-core: instances not evaluated: {skipped:#?}");
    assert!(
        compared.len() >= 30,
        "only {} rewritten units were compared by the real clan-core",
        compared.len()
    );
}

/// clan-core's own current code (its services, their tests, its library tests)
/// is correct: `check` raises no error and no warning on it, legacy or
/// `clan.service` rule alike (clan-core's test modules registered without
/// `_class` are `info`).
#[test]
fn current_clan_core_raises_no_false_alarm() {
    let Some(trees) = trees() else { return };
    let head = trees.join("clan-head");
    let out = common::run(&["check", "--format", "json", head.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let alarms: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| format!("{} {} {}", f["path"], f["code"], f["message"]))
        .collect();
    assert!(alarms.is_empty(), "{alarms:#?}");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(doc["summary"]["files_scanned"].as_u64().unwrap() > 200);
}

/// Random legacy instances (the generator of `fix_properties`: lists, tags,
/// role and machine bodies, set-valued config, several instances per set; and
/// the same drawn as `inventory.json`) mean the same to the real clan-core
/// before and after `fix --write`, for every file the fix changes.
#[test]
fn random_migrations_mean_the_same_to_the_real_clan_core() {
    let Some(trees) = trees() else { return };
    let root = tempfile::tempdir().unwrap();
    let (before, after) = (root.path().join("before"), root.path().join("after"));
    std::fs::create_dir_all(&before).unwrap();
    let mut cases = common::random::Cases(0xc1a4);
    let mut names: Vec<String> = (0..120).map(|n| format!("c{n:03}.nix")).collect();
    for name in &names {
        let text = common::random::random_inventory(&mut cases);
        std::fs::write(before.join(name), text).unwrap();
    }
    // inventory.json files, each in a clan directory of its own.
    for n in 0..60 {
        let name = format!("j{n:03}/inventory.json");
        std::fs::create_dir_all(before.join(format!("j{n:03}"))).unwrap();
        let text = common::random::random_inventory_json(&mut cases);
        std::fs::write(before.join(&name), text).unwrap();
        names.push(name);
    }
    for name in &names {
        let to = after.join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(before.join(name), to).unwrap();
    }
    let out = common::run_in(Some(&after), &["fix", "--write", "--quiet", "."], None);
    // Some generated files define a key twice (CM000, exit code 2): Nix
    // rejects them, and they are neither fixed nor compared.
    assert!(
        !out.stderr.contains("nothing was written"),
        "{}",
        out.stderr
    );
    let changed: Vec<&String> = names
        .iter()
        .filter(|n| std::fs::read(before.join(n)).unwrap() != std::fs::read(after.join(n)).unwrap())
        .collect();
    assert!(changed.len() >= 40, "only {} files changed", changed.len());
    assert!(
        changed.iter().filter(|n| n.ends_with(".json")).count() >= 20,
        "too few inventory.json files changed"
    );
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let differences: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(name) = changed.get(i) else { break };
                        let (b, a) = (before.join(name), after.join(name));
                        let b = evaluate(&trees, &b, b.parent().unwrap());
                        let a = evaluate(&trees, &a, a.parent().unwrap());
                        match (b, a) {
                            (Ok(b), Ok(a)) if b == a => {}
                            (b, a) => found.push(format!(
                                "{name}:\n{}\nbefore: {b:?}\nafter: {a:?}",
                                std::fs::read_to_string(before.join(name)).unwrap()
                            )),
                        }
                    }
                    found
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}
