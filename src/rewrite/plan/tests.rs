//! The planner's behaviour on whole files: overlaps, uncertain memberships,
//! moves out of shared sets.

use super::*;
use std::path::PathBuf;

#[test]
fn instances_whose_edits_would_overlap_are_left_and_the_rest_is_migrated() {
    let text = "{\n  inventory.services.sshd.a = {\n    roles.server.machines = [ \"m\" ];\n  };\n  inventory.services.borgbackup.b = {\n    roles.client.machines = [ \"m\" ];\n  };\n}\n";
    let source = SourceFile::from_text(
        PathBuf::from("flake.nix"),
        text.to_owned(),
        crate::text::source::FileKind::Nix,
    );
    let root = rnix::Root::parse(text).syntax();
    let mut facts = crate::inventory::facts::nix::detect(&root, text, &[]);
    let ctx = FileContext::default();
    let planned = plan(&source, &root, &facts, &ctx);
    assert_eq!(planned.migrated(), 2);
    assert!(crate::text::edit::apply(text, &planned.edits).is_ok());

    // A third instance made of the same binding as the first, under another
    // name, as a planner bug would see it: the two rename the same key.
    let mut twin = facts.instances[0].clone();
    twin.instance = "twin".to_owned();
    facts.instances.push(twin);
    let planned = plan(&source, &root, &facts, &ctx);
    let outcomes: Vec<(&str, &Outcome)> = planned
        .instances
        .iter()
        .map(|i| (i.instance.as_str(), &i.outcome))
        .collect();
    assert!(
        matches!(outcomes[1], ("b", Outcome::Migrated)),
        "{outcomes:?}"
    );
    for (name, outcome) in [outcomes[0], outcomes[2]] {
        let Outcome::Left(reason, _) = outcome else {
            panic!("{name} migrated: {outcomes:?}");
        };
        assert_eq!(reason.kind, ReasonKind::Overlap);
        assert_eq!(
            reason.message,
            "the rewrite of `sshd.a` and the rewrite of `sshd.twin` would change the same text, at line 2; this is a bug in clan-migrate, please report it"
        );
    }
    let after = crate::text::edit::apply(text, &planned.edits).expect("no overlap left");
    assert!(after.contains("inventory.services.sshd.a = {"), "{after}");
    assert!(
        after.contains("inventory.instances.borgbackup-b = {"),
        "{after}"
    );

    // Two edits of one instance; then nothing is left to leave, which
    // ends the planner's loop (the overlap is then reported when applied).
    let mut works: Vec<Work<'_>> = facts.instances[..1]
        .iter()
        .map(|instance| read::read_instance(instance, &root, text, &ctx))
        .collect();
    let own = (Owner::Instance(0), Owner::Instance(0), Span::new(40, 41));
    assert!(block_overlapping(&mut works, &[], own, text));
    assert_eq!(
        works[0].blockers[0].message,
        "two edits of the rewrite of `sshd.a` would change the same text, at line 3; this is a bug in clan-migrate, please report it"
    );
    assert!(!block_overlapping(&mut works, &[], own, text));
    let empties = (
        Owner::EmptyDefinition,
        Owner::EmptyDefinition,
        Span::new(0, 1),
    );
    assert!(!block_overlapping(&mut [], &[], empties, text));
}

/// The plan of `text` as a `flake.nix` of its own.
fn planned(text: &str) -> Plan {
    let source = SourceFile::from_text(
        PathBuf::from("flake.nix"),
        text.to_owned(),
        crate::text::source::FileKind::Nix,
    );
    let root = rnix::Root::parse(text).syntax();
    let facts = crate::inventory::facts::nix::detect(&root, text, &[]);
    plan(&source, &root, &facts, &FileContext::default())
}

/// The outcome of the one instance of `text`: `None` when migrated, the
/// first reason's kind otherwise.
fn outcome_of(text: &str) -> Option<ReasonKind> {
    let planned = planned(text);
    assert_eq!(planned.instances.len(), 1, "{text}");
    match &planned.instances[0].outcome {
        Outcome::Migrated => None,
        Outcome::Left(reason, _) => Some(reason.kind),
    }
}

#[test]
fn machine_config_with_uncertain_memberships_moves_only_when_they_cannot_matter() {
    // The clan's machines are not in the file: tag memberships are unknown.
    let sshd = |roles: &str, config: &str| {
        format!(
            "{{\n  inventory.services.sshd.s = {{\n{roles}    machines.gate.config = {config};\n  }};\n}}\n"
        )
    };
    let server_and_client_tag =
        "    roles.server.machines = [ \"gate\" ];\n    roles.client.tags = [ \"all\" ];\n";
    // `hostKeys` is declared by the server role only: gate's client membership does not matter.
    let host_keys = "{ hostKeys.rsa.enable = true; }";
    let moved = sshd(server_and_client_tag, host_keys);
    assert_eq!(outcome_of(&moved), None);
    // `certificate` is declared by the client role too.
    let certificate = "{ certificate.searchDomains = [ \"b\" ]; }";
    let both = sshd(server_and_client_tag, certificate);
    assert_eq!(outcome_of(&both), Some(ReasonKind::Membership));
    // One key of two is declared by the uncertain role.
    let mixed = sshd(
        server_and_client_tag,
        "{ hostKeys.rsa.enable = true; certificate.searchDomains = [ \"b\" ]; }",
    );
    assert_eq!(outcome_of(&mixed), Some(ReasonKind::Membership));
    // A key the module table does not know.
    let unknown = sshd(server_and_client_tag, "{ somethingElse = 1; }");
    assert_eq!(outcome_of(&unknown), Some(ReasonKind::InstanceConfig));
    // A config that is not an attribute set literal: its keys are not known.
    let opaque = sshd(server_and_client_tag, "gateConfig");
    assert_eq!(outcome_of(&opaque), Some(ReasonKind::InstanceConfig));
    // Certainly in no role, perhaps in one: not decided either.
    let only_tags = sshd("    roles.server.tags = [ \"gates\" ];\n", host_keys);
    assert_eq!(outcome_of(&only_tags), Some(ReasonKind::Membership));
    // A computed machine list is an uncertain membership like a tag.
    let computed_clients =
        "    roles.server.machines = [ \"gate\" ];\n    roles.client.machines = clients;\n";
    assert_eq!(outcome_of(&sshd(computed_clients, host_keys)), None);
    assert_eq!(
        outcome_of(&sshd(computed_clients, certificate)),
        Some(ReasonKind::Membership)
    );
}

#[test]
fn legacy_options_without_a_counterpart_leave_their_instance() {
    // zerotier's `excludeHosts` was declared and never read; the new module has no such setting.
    let text = "{\n  inventory.services.zerotier.z = {\n    roles.controller.machines = [ \"a\" ];\n    config.excludeHosts = [ \"b\" ];\n  };\n}\n";
    assert_eq!(outcome_of(text), Some(ReasonKind::Settings));
}

/// The text `fix` makes of `text`.
fn fixed(text: &str) -> String {
    crate::text::edit::apply(text, &planned(text).edits).expect("no overlap")
}

#[test]
fn instances_move_out_of_a_services_set_that_keeps_others() {
    // A nested `services` set, CRLF, a comment after the set's `};`.
    let crlf = "{\r\n  inventory = {\r\n    services = {\r\n      custom.x.roles.default.machines = [ \"a\" ];\r\n      sshd.y = {\r\n        roles.server.machines = [ \"a\" ];\r\n      };\r\n    }; # end\r\n  };\r\n}\r\n";
    assert_eq!(
        fixed(crlf),
        "{\r\n  inventory = {\r\n    services = {\r\n      custom.x.roles.default.machines = [ \"a\" ];\r\n    }; # end\r\n    instances = {\r\n      sshd-y = {\r\n        module.name = \"sshd\";\r\n        roles.server.machines = { a = { }; };\r\n      };\r\n    };\r\n  };\r\n}\r\n"
    );
    // Tabs; a comment above a binding goes along with it; an `instances`
    // definition next to the set stays as it is.
    let tabs = "{\n\tinventory.services = {\n\t\tsshd.y.roles.server.machines = [ \"a\" ];\n\t\tcustom.x.roles.default.machines = [ \"a\" ];\n\t\t# about z\n\t\tzerotier.z.roles.controller.machines = [ \"a\" ];\n\t};\n\tinventory.instances.existing = { module.name = \"admin\"; };\n}\n";
    assert_eq!(
        fixed(tabs),
        "{\n\tinventory.services = {\n\t\tcustom.x.roles.default.machines = [ \"a\" ];\n\t};\n\tinventory.instances = {\n\t\tsshd-y.module.name = \"sshd\";\n\t\tsshd-y.roles.server.machines = { a = { }; };\n\t\t# about z\n\t\tzerotier-z.module.name = \"zerotier\";\n\t\tzerotier-z.roles.controller.machines = { a = { }; };\n\t};\n\tinventory.instances.existing = { module.name = \"admin\"; };\n}\n"
    );
    // The `instances` set right after the `services` set (as an earlier
    // run writes it) takes the instances; one further away does not.
    let next_to = "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n    sshd.y.roles.server.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    admin-z.module.name = \"admin\";\n  };\n}\n";
    assert_eq!(
        fixed(next_to),
        "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    admin-z.module.name = \"admin\";\n    sshd-y.module.name = \"sshd\";\n    sshd-y.roles.server.machines = { a = { }; };\n  };\n}\n"
    );
    let apart = next_to.replace(
        "  };\n  inventory.instances",
        "  };\n  # ours\n  inventory.instances",
    );
    assert_eq!(
        fixed(&apart),
        "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    sshd-y.module.name = \"sshd\";\n    sshd-y.roles.server.machines = { a = { }; };\n  };\n  # ours\n  inventory.instances = {\n    admin-z.module.name = \"admin\";\n  };\n}\n"
    );
    // A wrapper whose instances all migrate moves whole, flattened.
    let wrapper = "{\n  inventory.services = {\n    # ours\n    custom.x.roles.default.machines = [ \"a\" ];\n    # both\n    sshd = {\n      y.roles.server.machines = [ \"a\" ];\n      z.roles.client.machines = [ \"a\" ];\n    };\n  };\n}\n";
    assert_eq!(
        fixed(wrapper),
        "{\n  inventory.services = {\n    # ours\n    custom.x.roles.default.machines = [ \"a\" ];\n  };\n  inventory.instances = {\n    # both\n      sshd-y.module.name = \"sshd\";\n      sshd-y.roles.server.machines = { a = { }; };\n      sshd-z.module.name = \"sshd\";\n      sshd-z.roles.client.machines = { a = { }; };\n  };\n}\n"
    );
    // Blank lines: one kept between lines that stay and between instances
    // that move, none next to `{` or `}`.
    let blanks = "{\n  inventory.services = {\n\n    sshd.a.roles.server.machines = [ \"m\" ];\n\n    custom.b.roles.default.machines = [ \"m\" ];\n\n    sshd.c.roles.server.machines = [ \"m\" ];\n\n    custom.d.roles.default.machines = [ \"m\" ];\n\n    sshd.e.roles.server.machines = [ \"m\" ];\n\n  };\n}\n";
    assert_eq!(
        fixed(blanks),
        "{\n  inventory.services = {\n    custom.b.roles.default.machines = [ \"m\" ];\n\n    custom.d.roles.default.machines = [ \"m\" ];\n  };\n  inventory.instances = {\n    sshd-a.module.name = \"sshd\";\n    sshd-a.roles.server.machines = { m = { }; };\n\n    sshd-c.module.name = \"sshd\";\n    sshd-c.roles.server.machines = { m = { }; };\n\n    sshd-e.module.name = \"sshd\";\n    sshd-e.roles.server.machines = { m = { }; };\n  };\n}\n"
    );
}

#[test]
fn instances_that_cannot_move_stay_and_say_why() {
    // A binding that shares its line with another instance's cannot move.
    let shared_line = "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ]; sshd.y.roles.server.machines = [ \"a\" ];\n  };\n}\n";
    assert_eq!(fixed(shared_line), shared_line);
    // Nor one inside a `<service> = { … }` wrapper with an instance that
    // is left: the wrapper moves whole or not at all.
    let wrapper = "{\n  inventory.services = {\n    custom.x.roles.default.machines = [ \"a\" ];\n    sshd = {\n      y.roles.server.machines = [ \"a\" ];\n      z.roles.nobody.machines = [ \"a\" ];\n    };\n  };\n}\n";
    assert_eq!(fixed(wrapper), wrapper);
    let planned = planned(shared_line);
    let sshd = planned.instances.iter().find(|i| i.service == "sshd");
    let Some(Outcome::Left(reason, _)) = sshd.map(|i| &i.outcome) else {
        panic!("{:?}", planned.instances);
    };
    assert_eq!(reason.kind, ReasonKind::SharedDefinition);
    assert!(
        reason
            .message
            .starts_with("shares the attribute set at line 2 with `custom.x`"),
        "{}",
        reason.message
    );
}
