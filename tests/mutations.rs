//! Deterministic mutation testing of the pure per-file pipeline: every fixture
//! mutated many times (bytes deleted, duplicated, or Nix/JSON punctuation
//! inserted) is analysed and planned. Nothing may panic, and a plan's edits may
//! never overlap (that would be a planner bug, not a property of the input).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::PathBuf;

use clan_migrate::engine::analysis;
use clan_migrate::rewrite::plan::FileContext;
use clan_migrate::text::edit;
use clan_migrate::text::source::{FileKind, SourceFile};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

const PIECES: &[&str] = &[
    "{",
    "}",
    ";",
    "=",
    "\"",
    "${",
    ".",
    "[",
    "]",
    "(",
    ")",
    "''",
    "#",
    "inventory.services.",
    "services.",
    "roles.",
    "config.",
    "machines.",
    " x ",
    "\n",
    "\r\n",
    "rec ",
    "inherit ",
    "//",
    "\"@clan/",
    ",",
    ":",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(3) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 if !bytes.is_empty() => {
                let start = rng.below(bytes.len());
                let end = (start + 1 + rng.below(16)).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                bytes.splice(at..at, piece.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_fixtures_never_panic_and_never_plan_overlapping_edits() {
    let root = common::repo_root().join("testdata/before");
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "nix" || x == "json"))
        .collect();
    let ctx = FileContext {
        no_prefilter: true,
        ..FileContext::default()
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut analysed = 0;
    for file in &files {
        let original = fs_text(file);
        let kind = FileKind::of_path(file);
        // CLAN_MIGRATE_MUTATIONS raises the count for a longer run.
        let rounds: usize = std::env::var("CLAN_MIGRATE_MUTATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400);
        for _ in 0..rounds {
            let text = mutate(&original, &mut rng);
            let source = SourceFile::from_text(file.clone(), text.clone(), kind);
            for mounts in [Vec::new(), vec![vec!["inventory".to_owned()]]] {
                let result = analysis::analyze(&source, &mounts, &ctx);
                if let Err(overlap) = edit::apply(&source.text, &result.plan.edits) {
                    panic!(
                        "{}: overlapping edits ({overlap}) for the mutation:\n{text}",
                        file.display()
                    );
                }
                if let Some(overlap) = result.plan.overlap() {
                    panic!(
                        "{}: {} (the planner's guard) for the mutation:\n{text}",
                        file.display(),
                        overlap.message
                    );
                }
                analysed += 1;
            }
        }
    }
    assert!(analysed > 40_000, "{analysed}");
}

fn fs_text(path: &std::path::Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}
