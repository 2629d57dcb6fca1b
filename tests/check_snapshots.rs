//! `check` output for every fixture unit of `testdata/before`, in the concise and
//! human formats. Reviewed by hand: a change here is a change users see.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use common::{before_units, run};

#[test]
fn concise_and_human_output_of_every_fixture() {
    let units = before_units();
    assert!(
        units.len() >= 30,
        "testdata/before has {} units",
        units.len()
    );
    for unit in units {
        let path = format!("testdata/before/{unit}");
        let concise = run(&["check", "--format", "concise", "--quiet", &path]);
        let human = run(&[
            "check", "--format", "human", "--color", "never", "--quiet", &path,
        ]);
        assert!(concise.stderr.is_empty(), "{unit}: {}", concise.stderr);
        assert_eq!(concise.code, human.code, "{unit}");
        let slug = unit.replace('.', "_");
        insta::assert_snapshot!(
            format!("concise__{slug}"),
            format!("exit code: {}\n{}", concise.code, concise.stdout)
        );
        insta::assert_snapshot!(format!("human__{slug}"), human.stdout);
    }
}
