//! Arbitrary bytes through the per-file pipeline (as Nix, as inventory.json,
//! with and without an inventory mount) and, when a rewrite is planned, through
//! the verifier `fix` runs before writing: no panic, no hang, and the planned
//! edits never overlap, not even before the planner's guard against overlaps
//! leaves the instances concerned. (The verifier may refuse a rewrite; that is
//! its job.) Detection with its shortcuts finds what it finds without them.
#![no_main]

use std::path::PathBuf;

use clan_migrate::engine::analysis;
use clan_migrate::engine::FileReport;
use clan_migrate::inventory::facts::nix as legacy_nix;
use clan_migrate::rewrite::plan::FileContext;
use clan_migrate::engine::verify;
use clan_migrate::text::edit;
use clan_migrate::text::source::{FileKind, SourceFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = FileContext {
        no_prefilter: true,
        ..FileContext::default()
    };
    for (name, kind) in [
        ("clan.nix", FileKind::Nix),
        ("inventory.json", FileKind::InventoryJson),
    ] {
        let Ok(source) = SourceFile::from_bytes(PathBuf::from(name), data.to_vec(), kind) else {
            return;
        };
        let parse = (kind == FileKind::Nix).then(|| rnix::Root::parse(&source.text));
        for mounts in [Vec::new(), vec![vec!["inventory".to_owned()]]] {
            if let Some(parse) = parse.as_ref().filter(|p| p.errors().is_empty()) {
                let root = parse.syntax();
                assert_eq!(
                    legacy_nix::detect(&root, &source.text, &mounts),
                    legacy_nix::detect_without_shortcuts(&root, &mounts),
                    "detection's shortcuts changed what it found"
                );
            }
            let analysis = analysis::analyze(&source, &mounts, &ctx);
            let new_text = match edit::apply(&source.text, &analysis.plan.edits) {
                Ok(text) => text,
                Err(overlap) => panic!("overlapping edits: {overlap}"),
            };
            if let Some(overlap) = analysis.plan.overlap() {
                panic!("the planner's overlap guard left an instance: {}", overlap.message);
            }
            if !analysis.plan.edits.is_empty() {
                let file = FileReport::new(source.clone(), mounts.clone(), ctx.clone(), analysis);
                let _ = verify::verify(&file, &new_text);
            }
        }
    }
});
