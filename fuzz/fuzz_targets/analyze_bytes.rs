//! Arbitrary bytes through the per-file pipeline (as Nix, as inventory.json,
//! with and without an inventory mount): no panic, no hang, and the planned
//! edits never overlap.
#![no_main]

use std::path::PathBuf;

use clan_migrate::analysis;
use clan_migrate::rewrite::edit;
use clan_migrate::rewrite::plan::FileContext;
use clan_migrate::source::{FileKind, SourceFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = FileContext { no_prefilter: true, ..FileContext::default() };
    for (name, kind) in [("clan.nix", FileKind::Nix), ("inventory.json", FileKind::InventoryJson)] {
        let Ok(source) = SourceFile::from_bytes(PathBuf::from(name), data.to_vec(), kind) else {
            return;
        };
        for mounts in [Vec::new(), vec![vec!["inventory".to_owned()]]] {
            let analysis = analysis::analyze(&source, &mounts, &ctx);
            if let Err(overlap) = edit::apply(&source.text, &analysis.plan.edits) {
                panic!("overlapping edits: {overlap}");
            }
        }
    }
});
