//! Inputs the fuzzers found (fuzz/regressions/), replayed through the pipeline:
//! analysis, planning, applying the edits and verifying the result. Nothing may
//! panic, edits may not overlap (nor need the planner's guard against overlaps),
//! and a planned rewrite must pass verification.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use clan_migrate::engine::FileReport;
use clan_migrate::engine::analysis;
use clan_migrate::engine::verify;
use clan_migrate::rewrite::plan::FileContext;
use clan_migrate::text::edit;
use clan_migrate::text::source::{FileKind, SourceFile};

#[test]
fn fuzz_regressions_replay_cleanly() {
    let dir = common::repo_root().join("fuzz/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let kind = FileKind::of_path(&path);
        let Ok(source) = SourceFile::from_bytes(path.clone(), std::fs::read(&path).unwrap(), kind)
        else {
            continue;
        };
        let ctx = FileContext::default();
        let analysis = analysis::analyze(&source, &[], &ctx);
        let new_text = edit::apply(&source.text, &analysis.plan.edits).unwrap();
        assert_eq!(analysis.plan.overlap(), None, "{}", path.display());
        if !analysis.plan.edits.is_empty() {
            let file = FileReport::new(source.clone(), Vec::new(), ctx, analysis);
            if let Err(refusal) = verify::verify(&file, &new_text) {
                panic!("{}: {}", path.display(), refusal.0);
            }
        }
        replayed += 1;
    }
    assert!(replayed >= 1);
}

#[test]
fn a_file_nix_rejects_for_a_duplicate_attribute_is_not_planned() {
    let path = common::repo_root().join("fuzz/regressions/fix-generated-duplicate-machines.nix");
    let source =
        SourceFile::from_bytes(path.clone(), std::fs::read(&path).unwrap(), FileKind::Nix).unwrap();
    let analysis = analysis::analyze(&source, &[], &FileContext::default());
    assert!(analysis.plan.edits.is_empty());
    assert_eq!(analysis.findings.len(), 1);
    assert!(
        analysis.findings[0]
            .message
            .contains("`roles.server.machines` is defined twice"),
        "{}",
        analysis.findings[0].message
    );
}
