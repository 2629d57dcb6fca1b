//! Deliberately wrong rewrites are refused by the verifier, each with a reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::fs;

use clan_migrate::engine::verify::verify;
use clan_migrate::engine::{self, Input, Options};
use clan_migrate::inventory::normal_form::Digest;

const ORIGINAL: &str = r#"{
  inventory.services.sshd.default = {
    roles.server.machines = [ "a" "b" ];
    roles.server.config.hostKeys.rsa.enable = true;
  };
}
"#;

const RIGHT: &str = r#"{
  inventory.instances.sshd-default = {
    module.name = "sshd";
    roles.server.machines = { a = { }; b = { }; };
    roles.server.settings.hostKeys.rsa.enable = true;
  };
}
"#;

#[test]
fn wrong_rewrites_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clan.nix");
    fs::write(&path, ORIGINAL).unwrap();
    let report = engine::run(&Input::Paths(vec![path]), &Options::default());
    let planned = &report.files[0];
    // The plan holds the digest of the original's meaning; the verifier compares
    // the rewrite's with it, and without it (or with another one) compares the
    // two meanings in full. Either way, the same rewrites pass and fail.
    assert!(planned.analysis.plan.meaning_before.is_some());
    let mut without_digest = planned.clone();
    without_digest.analysis.plan.meaning_before = None;
    let mut other_digest = planned.clone();
    other_digest.analysis.plan.meaning_before = Some(Digest([0, 0]));
    for file in [planned, &without_digest, &other_digest] {
        refuses_wrong_rewrites(file);
    }
}

fn refuses_wrong_rewrites(file: &engine::FileReport) {
    assert!(
        verify(file, RIGHT).is_ok(),
        "{:?}",
        verify(file, RIGHT).err()
    );

    for (wrong, expected) in [
        (RIGHT.replace(" b = { };", ""), "members of role `server`"),
        (
            RIGHT.replace("enable = true", "enable = false"),
            "settings of role `server`",
        ),
        (
            RIGHT.replace("roles.server.settings", "roles.client.settings"),
            "roles [server] would become [client, server]",
        ),
        (
            RIGHT.replace("\"sshd\"", "\"zerotier\""),
            "module `sshd` would become `zerotier`",
        ),
        (
            RIGHT.replace("sshd-default", "sshd-other"),
            "the instances would change",
        ),
        (
            RIGHT.replace(
                "roles.server.machines = { a = { }; b = { }; };",
                "roles.server.machines = { a = { }; b = { }; };\n    roles.server.machines.a = 1;",
            ),
            "twice",
        ),
        (RIGHT.replace("};\n}", "\n}"), "does not parse"),
        (
            ORIGINAL.replace("[ \"a\" \"b\" ]", "[ \"a\" ]"),
            "members of role `server`",
        ),
    ] {
        let refused = verify(file, &wrong).expect_err(&wrong);
        assert!(
            refused.0.contains(expected),
            "expected `{expected}` in: {}\n{wrong}",
            refused.0
        );
        assert!(refused.0.contains("nothing was written"), "{}", refused.0);
    }
}
