//! The planned edits of every fixture are safe by construction: each edit starts
//! and ends on a token boundary (or inside whitespace), and no edit touches a
//! comment. Everything outside the edits is therefore kept byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::PathBuf;

use clan_migrate::engine::{self, Input, Options};
use rnix::SyntaxKind;

#[test]
fn edits_respect_tokens_and_never_touch_comments() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/before");
    let report = engine::run(&Input::Paths(vec![root]), &Options::default());
    let mut checked = 0;
    for file in &report.files {
        if file.analysis.plan.edits.is_empty() {
            continue;
        }
        let parse = rnix::Root::parse(&file.source.text);
        let tokens: Vec<_> = parse
            .syntax()
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
            .map(|t| {
                (
                    t.kind(),
                    usize::from(t.text_range().start()),
                    usize::from(t.text_range().end()),
                )
            })
            .collect();
        for edit in &file.analysis.plan.edits {
            for offset in [edit.span.start, edit.span.end] {
                let inside = tokens.iter().find(|(_, s, e)| *s < offset && offset < *e);
                if let Some((kind, s, e)) = inside {
                    assert_eq!(
                        *kind,
                        SyntaxKind::TOKEN_WHITESPACE,
                        "{}: edit {:?} cuts into {kind:?} at {s}..{e}",
                        file.source.path.display(),
                        edit
                    );
                }
            }
            for (kind, s, e) in &tokens {
                if *kind == SyntaxKind::TOKEN_COMMENT {
                    // Only a binding that moves (out of a `services` set it
                    // shares) takes its comments along: deleted whole here,
                    // inserted again by another edit.
                    let overlaps = edit.span.start < *e && *s < edit.span.end;
                    let comment = &file.source.text[*s..*e];
                    let carried = edit.insert.is_empty()
                        && edit.span.start <= *s
                        && *e <= edit.span.end
                        && file
                            .analysis
                            .plan
                            .edits
                            .iter()
                            .any(|o| o.insert.contains(comment));
                    assert!(
                        !overlaps || carried,
                        "{}: edit {:?} touches a comment",
                        file.source.path.display(),
                        edit
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} edits were checked");
}

/// Fixing a fixture keeps every comment: the comments of the result are those
/// of the original, as many times each.
#[test]
fn fixing_keeps_every_comment() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/before");
    let report = engine::run(&Input::Paths(vec![root]), &Options::default());
    let comments = |text: &str| {
        let mut found: Vec<String> = rnix::Root::parse(text)
            .syntax()
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
            .filter(|t| t.kind() == SyntaxKind::TOKEN_COMMENT)
            .map(|t| t.text().to_owned())
            .collect();
        found.sort();
        found
    };
    let mut compared = 0;
    for file in &report.files {
        if file.analysis.plan.edits.is_empty()
            || file.source.path.extension().is_none_or(|e| e != "nix")
        {
            continue;
        }
        let fixed = clan_migrate::text::edit::apply(&file.source.text, &file.analysis.plan.edits)
            .expect("the planned edits apply");
        assert_eq!(
            comments(&file.source.text),
            comments(&fixed),
            "{}: the comments changed",
            file.source.path.display()
        );
        compared += 1;
    }
    assert!(compared > 20, "only {compared} files were compared");
}
