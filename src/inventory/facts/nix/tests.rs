use super::*;
use foldhash::{HashMap, HashMapExt};

/// A reference detector, written the plain way: a cursor for every node,
/// contexts in a map, parents climbed. The green-tree walk must find the same
/// facts.
fn reference_detect_with(root: &SyntaxNode, mounts: &[Vec<String>], prune: bool) -> LegacyFacts {
    let mut facts = LegacyFacts::default();
    let mut contexts: HashMap<SyntaxNode, SetContext> = HashMap::new();
    let mut all_mounts: Vec<Vec<Key>> = vec![Vec::new()];
    for m in mounts {
        let m: Vec<Key> = m.iter().map(|s| Key::Static(s.into())).collect();
        if !m.is_empty() && !all_mounts.contains(&m) {
            all_mounts.push(m);
        }
    }

    let mut anchors: Vec<(TextRange, Vec<Key>)> = Vec::new();
    let mut subtrees = vec![root.clone()];
    let mut walked_references: Vec<TextRange> = Vec::new();
    while let Some(subtree) = subtrees.pop() {
        for node in subtree.descendants() {
            match node.kind() {
                SyntaxKind::NODE_ATTR_SET => {
                    let mut ctx = set_context(&node, &contexts, &anchors);
                    if reference_inside_instance(&node, &contexts, &all_mounts) {
                        ctx.live = false;
                    } else if !prune {
                        ctx.live = true;
                    } else if ctx.live {
                        ctx.live = reach(mounts_for(&ctx, &all_mounts), &ctx.path).live;
                    }
                    contexts.insert(node, ctx);
                }
                SyntaxKind::NODE_ATTRPATH_VALUE => {
                    let Some(ctx) = node.parent().and_then(|p| contexts.get(&p)) else {
                        continue; // a `let` binding, or a broken tree
                    };
                    if !ctx.live {
                        continue;
                    }
                    if let Some(binding) = ast::AttrpathValue::cast(node.clone()) {
                        for mount in mounts_for(ctx, &all_mounts) {
                            visit_binding(&binding, ctx, mount, &mut facts);
                        }
                    }
                }
                SyntaxKind::NODE_INHERIT => {
                    let Some(ctx) = node.parent().and_then(|p| contexts.get(&p)) else {
                        continue;
                    };
                    if !ctx.live {
                        continue;
                    }
                    if let Some(inherit) = ast::Inherit::cast(node.clone()) {
                        for mount in mounts_for(ctx, &all_mounts) {
                            visit_inherit(&inherit, ctx, mount, &mut facts);
                        }
                    }
                }
                SyntaxKind::NODE_SELECT | SyntaxKind::NODE_HAS_ATTR => {
                    if subtree == *root
                        && let Some(read) = legacy_read(&node)
                    {
                        facts.reads.push(read);
                    }
                }
                _ => {}
            }
        }
        // The values of `let` variables an inventory path is set to.
        while let Some(reference) = facts.references.pop() {
            if walked_references.contains(&reference.range) {
                continue;
            }
            walked_references.push(reference.range);
            let Some(node) = node_at(root, reference.range) else {
                continue;
            };
            let path: Vec<Key> = reference
                .path
                .iter()
                .map(|k| Key::Static(k.as_str().into()))
                .collect();
            if let Some(expr) = ast::Expr::cast(node.clone()) {
                for (set, _) in crate::syntax::nix::terminals(&expr) {
                    anchors.push((set.syntax().text_range(), path.clone()));
                }
            }
            subtrees.push(node);
            break;
        }
    }
    facts
}

/// Whether `binding`, in a set at `ctx`, defines an instance under one of
/// the set's mounts (what [`visit_binding`] says, without recording facts).
fn binding_defines_instance(
    binding: &ast::AttrpathValue,
    ctx: &SetContext,
    all: &[Vec<Key>],
) -> bool {
    let Some(attrpath) = binding.attrpath() else {
        return false;
    };
    let keys = attrpath_keys(&attrpath);
    !keys.is_empty()
        && mounts_for(ctx, all).iter().any(|mount| {
            let full: Vec<&Key> = mount
                .iter()
                .chain(&ctx.path)
                .chain(keys.iter().map(|k| &k.key))
                .collect();
            defines_instance(&full)
        })
}

/// Whether a binding above `set`, in a live set, defines an instance.
fn reference_inside_instance(
    set: &SyntaxNode,
    contexts: &HashMap<SyntaxNode, SetContext>,
    all_mounts: &[Vec<Key>],
) -> bool {
    set.ancestors().skip(1).any(|node| {
        let owner = node.parent().and_then(|p| contexts.get(&p));
        match (ast::AttrpathValue::cast(node), owner) {
            (Some(binding), Some(ctx)) if ctx.live => {
                binding_defines_instance(&binding, ctx, all_mounts)
            }
            _ => false,
        }
    })
}

fn set_context(
    set: &SyntaxNode,
    contexts: &HashMap<SyntaxNode, SetContext>,
    anchors: &[(TextRange, Vec<Key>)],
) -> SetContext {
    let mut child = set.clone();
    let mut crossed_update = false;
    let body_of = |parent: &SyntaxNode, child: &SyntaxNode| {
        let body = match parent.kind() {
            SyntaxKind::NODE_LET_IN => ast::LetIn::cast(parent.clone()).and_then(|l| l.body()),
            SyntaxKind::NODE_LAMBDA => ast::Lambda::cast(parent.clone()).and_then(|l| l.body()),
            SyntaxKind::NODE_WITH => ast::With::cast(parent.clone()).and_then(|w| w.body()),
            SyntaxKind::NODE_ASSERT => ast::Assert::cast(parent.clone()).and_then(|a| a.body()),
            _ => None,
        };
        body.is_some_and(|b| b.syntax() == child)
    };
    let wrapped = |parent: &SyntaxNode| {
        ast::Apply::cast(parent.clone()).and_then(|a| crate::syntax::nix::wrapper_call(&a))
    };
    while let Some(parent) = child.parent() {
        match parent.kind() {
            SyntaxKind::NODE_PAREN => child = parent,
            SyntaxKind::NODE_BIN_OP if is_update_node(&parent) => {
                crossed_update = true;
                child = parent;
            }
            SyntaxKind::NODE_LET_IN
            | SyntaxKind::NODE_LAMBDA
            | SyntaxKind::NODE_WITH
            | SyntaxKind::NODE_ASSERT
                if body_of(&parent, &child) =>
            {
                child = parent;
            }
            SyntaxKind::NODE_APPLY
                if wrapped(&parent).is_some_and(|(_, arg)| arg.syntax() == &child) =>
            {
                child = parent;
            }
            SyntaxKind::NODE_LIST
                if parent
                    .parent()
                    .as_ref()
                    .and_then(wrapped)
                    .is_some_and(|(w, arg)| {
                        w == crate::syntax::nix::Wrapper::Merge && arg.syntax() == &parent
                    }) =>
            {
                child = parent;
            }
            SyntaxKind::NODE_ATTRPATH_VALUE => {
                let binding_ctx = parent
                    .parent()
                    .and_then(|owner| contexts.get(&owner))
                    .zip(ast::AttrpathValue::cast(parent.clone()));
                let Some((owner, binding)) = binding_ctx else {
                    break; // value of a `let` binding: a new anchor
                };
                if !owner.live {
                    return SetContext::dead(owner.under_file_top);
                }
                let mut path = owner.path.clone();
                if let Some(attrpath) = binding.attrpath() {
                    path.extend(attrpath_keys(&attrpath).into_iter().map(|k| k.key));
                }
                let update_at = owner.update_at.or(crossed_update.then_some(path.len()));
                return SetContext::live(path, owner.under_file_top, update_at);
            }
            _ => break,
        }
    }
    match anchors.iter().find(|(range, _)| *range == set.text_range()) {
        Some((_, path)) => SetContext::live(path.clone(), false, None),
        None => SetContext::live(Vec::new(), is_file_top(set), None),
    }
}

fn is_update_node(node: &SyntaxNode) -> bool {
    ast::BinOp::cast(node.clone()).and_then(|b| b.operator()) == Some(ast::BinOpKind::Update)
}

/// Whether a set is the file's value, possibly behind a function header,
/// `let … in`, `with …;`, `assert …;`, parentheses or a `//` update.
fn is_file_top(set: &SyntaxNode) -> bool {
    let mut child = set.clone();
    while let Some(parent) = child.parent() {
        let through = match parent.kind() {
            SyntaxKind::NODE_ROOT => return true,
            SyntaxKind::NODE_PAREN => true,
            SyntaxKind::NODE_BIN_OP => is_update_node(&parent),
            SyntaxKind::NODE_LAMBDA => ast::Lambda::cast(parent.clone())
                .and_then(|l| l.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_LET_IN => ast::LetIn::cast(parent.clone())
                .and_then(|l| l.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_WITH => ast::With::cast(parent.clone())
                .and_then(|w| w.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_ASSERT => ast::Assert::cast(parent.clone())
                .and_then(|a| a.body())
                .is_some_and(|b| b.syntax() == &child),
            _ => false,
        };
        if !through {
            return false;
        }
        child = parent;
    }
    false
}

fn facts(src: &str) -> LegacyFacts {
    let parse = rnix::Root::parse(src);
    assert!(parse.errors().is_empty(), "{:?}", parse.errors());
    detect(&parse.syntax(), src, &[])
}

/// Inventory spelled inside an instance's value (a machine list, settings,
/// a module in extraModules) is instance data, not the clan's inventory:
/// found there, its rewrite and that of the instance around it overlapped.
/// The walk, with and without pruning, and the cursor walk agree.
#[test]
fn inventory_written_inside_an_instance_is_not_inventory() {
    let cases = [
        (
            "{ inventory.services.sshd.a = { roles.server.machines = [ { inventory.services.borgbackup.b = { }; } ]; }; }",
            vec!["sshd.a"],
            Vec::<&str>::new(),
        ),
        (
            "{ inventory.instances.sshd-a = { roles.server.machines = [ { inventory.services.borgbackup.b = { }; } ]; }; }",
            vec![],
            vec!["sshd-a"],
        ),
        (
            "{ inventory.instances.a = { roles.r.extraModules = [ ({ ... }: { inventory.instances.b = { }; }) ]; }; }",
            vec![],
            vec!["a"],
        ),
        (
            "{ inventory.services.s.i.config = f { inventory.services.t.j = { }; }; }",
            vec!["s.i"],
            vec![],
        ),
        // Next to an instance, or in a list that is not inside one, it still counts.
        (
            "{ inventory.services.s.i = { }; x = [ { inventory.services.t.j = { }; } ]; }",
            vec!["s.i", "t.j"],
            vec![],
        ),
        (
            "{ inventory.services.s = [ { inventory.services.t.j = { }; } ]; }",
            vec!["t.j"],
            vec![],
        ),
    ];
    for (src, legacy, new) in cases {
        let f = facts(src);
        assert_eq!(names(&f), legacy, "{src}");
        let new_names: Vec<&str> = f.new_instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(new_names, new, "{src}");
        let root = rnix::Root::parse(src).syntax();
        for prune in [true, false] {
            assert_eq!(
                detect_with(&root, Some(src), &[], prune),
                f,
                "{src}, prune {prune}"
            );
            assert_eq!(
                reference_detect_with(&root, &[], prune),
                f,
                "{src}, prune {prune}"
            );
        }
    }
}

fn names(f: &LegacyFacts) -> Vec<String> {
    f.instances
        .iter()
        .map(|i| format!("{}.{}", i.service, i.instance))
        .collect()
}

#[test]
fn all_spellings_give_the_same_instances() {
    for src in [
        "{ inventory.services.borgbackup.main.roles.server.machines = [ \"a\" ]; }",
        "{ inventory = { services = { borgbackup = { main = { }; }; }; }; }",
        "{ inventory.services = { borgbackup.main = { }; }; }",
        "{ \"inventory\".services = ({ borgbackup.\"main\" = { }; }); }",
        "{ inventory.${\"services\"}.borgbackup.${\"main\"} = { }; }",
        "{ self, ... }: { clan.inventory.services.borgbackup.main = { }; }",
        "{ flake.clan = { inventory.services.borgbackup.main = { }; }; }",
        "{ clan = { inventory = { services.borgbackup.main = { }; }; }; }",
        "clan-core.lib.clan { inventory.services.borgbackup.main = { }; }",
        "let x = 1; in { inventory.services.borgbackup.main = { }; }",
    ] {
        assert_eq!(names(&facts(src)), vec!["borgbackup.main"], "{src}");
    }
}

#[test]
fn split_instances_are_one_instance_with_every_binding() {
    let f = facts(
        "{ inventory.services.zerotier.net.roles.controller.machines = [ \"a\" ];
           inventory.services.zerotier.net.roles.peer.tags = [ \"all\" ];
           inventory.services.zerotier = { net.machines.a.config = { }; }; }",
    );
    assert_eq!(names(&f), vec!["zerotier.net"]);
    assert_eq!(f.instances[0].bindings.len(), 3);
}

#[test]
fn false_positives_are_not_reported() {
    for src in [
        "{ services.openssh.enable = true; }",
        "{ nodes.x.services.syncthing.enable = true; }",
        "let inventory.services.a.b = { }; in { }",
        "{ foo.inventory.services.a.b = { }; }",
        "{ inventory.machines.a.services = { }; }",
        "# inventory.services.a.b = { };\n{ }",
        "{ x = \"inventory.services.a.b\"; }",
        "{ inventory.instances.a.roles.default.machines.x = { }; }",
    ] {
        let f = facts(src);
        let legacy = (
            &f.instances,
            &f.unmigratable,
            &f.empty,
            &f.reads,
            &f.imports,
        );
        assert!(
            legacy.0.is_empty()
                && legacy.1.is_empty()
                && legacy.2.is_empty()
                && legacy.3.is_empty()
                && legacy.4.is_empty(),
            "{src}: {legacy:?}"
        );
    }
}

#[test]
fn unmigratable_forms_are_reported_with_reason() {
    let f = facts("{ inventory.services.${name}.x = { }; }");
    assert!(matches!(
        f.unmigratable[0].reason,
        UnmigratableReason::DynamicKey {
            level: Level::Service
        }
    ));
    let f = facts("{ inventory.services = base // { a.b = { }; }; }");
    assert_eq!(f.unmigratable.len(), 1);
    assert!(f.instances.is_empty());
    let f = facts("{ inventory = { inherit (x) services; }; }");
    assert!(matches!(
        f.unmigratable[0].reason,
        UnmigratableReason::Inherited { .. }
    ));
    // Seen through: `let`, module functions, `mkMerge`, `mkIf`, priorities.
    for src in [
        "{ inventory.services = lib.mkIf c { a.b = { }; }; }",
        "{ inventory = { ... }: { services.a.b = { }; }; }",
        "{ inventory = let x = 1; in { services.a.b = { }; }; }",
        "{ inventory = lib.mkMerge [ { services.a.b = { }; } ]; }",
        "{ clan.inventory = lib.mkDefault { services.a.b = { }; }; }",
        "{ inventory.services = lib.mkOverride 50 { a.b = { }; }; }",
        "let inv = { services.a.b = { }; }; in { inventory = inv; }",
    ] {
        let f = facts(src);
        assert_eq!(names(&f), ["a.b"], "{src}");
        assert!(f.unmigratable.is_empty(), "{src}");
    }
    // What is inside them and not a set cannot be seen into.
    let f = facts("{ inventory.services = lib.mkIf c someServices; }");
    assert_eq!(f.unmigratable.len(), 1);
    let f =
        facts("{ meta.name = \"x\"; inventory = builtins.fromJSON (builtins.readFile ./i.json); }");
    assert_eq!(f.unmigratable.len(), 1);
    // Outside a clan's set, `inventory` is just a name.
    let f = facts("{ inventory = import ./inventory { inherit lib; }; lib = 1; }");
    assert!(f.unmigratable.is_empty());
    let f = facts("{ inventory = clanLib.callLib ./inventory { }; }");
    assert!(f.unmigratable.is_empty());
}

#[test]
fn imports_are_recorded_with_their_mount_point() {
    let f = facts("{ inventory = import ./inv.nix; }");
    assert_eq!(f.imports[0].mount, vec!["inventory"]);
    let f = facts("{ clan.inventory.imports = [ ./a.nix (import ./b.nix) ]; }");
    assert_eq!(f.imports.len(), 2);
    assert_eq!(f.imports[1].mount, vec!["clan", "inventory"]);
    let f = facts("{ inventory.services = import ./s.nix; }");
    assert_eq!(f.imports[0].mount, vec!["inventory", "services"]);
    assert!(f.unmigratable.is_empty());
}

#[test]
fn mounted_files_start_at_their_mount_point() {
    let src = "{ lib, ... }: { services.sshd.x = { }; }";
    let parse = rnix::Root::parse(src);
    let f = detect(&parse.syntax(), src, &[vec!["inventory".into()]]);
    assert_eq!(names(&f), vec!["sshd.x"]);
    let src = "{ sshd.x = { }; }";
    let parse = rnix::Root::parse(src);
    let f = detect(
        &parse.syntax(),
        src,
        &[vec!["inventory".into(), "services".into()]],
    );
    assert_eq!(names(&f), vec!["sshd.x"]);
}

#[test]
fn existing_instance_names_are_recorded() {
    let f = facts(
        "{ inventory.instances = { a = { }; }; clan.inventory.instances.\"b c\".roles = { }; }",
    );
    let names: Vec<_> = f.new_instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b c"]);
}

#[test]
fn machine_facts_resolve_tags() {
    let f = facts(
        r#"{ inventory.machines = { a.tags = [ "x" ]; b = { machineClass = "darwin"; }; };
             inventory.tags.y = [ "b" ]; }"#,
    );
    use crate::inventory::membership::Known;
    let m = &f.machines;
    assert_eq!(m.tagged(&["x".into()]).0, vec!["a".to_owned()]);
    assert_eq!(
        m.tagged(&["y".into(), "darwin".into()]).0,
        vec!["b".to_owned()]
    );
    assert_eq!(
        m.tagged(&["all".into()]).0,
        vec!["a".to_owned(), "b".to_owned()]
    );
    assert_eq!(m.has_tag("a", "y"), Known::No);
    // Machines of the clan may be defined where this file does not say.
    assert_eq!(m.has_tag("c", "all"), Known::Unknown);
    let f =
        facts(r#"{ inventory.machines.a.tags = someTags; inventory.machines.b.tags = [ "x" ]; }"#);
    assert_eq!(
        f.machines.has_tag("a", "x"),
        Known::Unknown,
        "non-literal tags are unknowable"
    );
    assert_eq!(
        f.machines.has_tag("b", "x"),
        Known::Yes,
        "literal tags stay certain"
    );
    assert_eq!(f.machines.has_tag("b", "y"), Known::No);
}

#[test]
fn reads_are_found() {
    let f = facts(
        "{ config, ... }: { x = config.clan.inventory.services.sshd or { }; y = inventory.services; }",
    );
    assert_eq!(f.reads.len(), 2);
}

/// The walk skips what cannot hold a fact: the module code beside the
/// inventory, unless the file is mounted (its top-level bindings can be
/// inventory without naming it).
#[test]
fn module_code_is_not_walked() {
    let src = r#"{ config, lib, pkgs, ... }: {
      inventory.services.sshd.main.roles.server.tags = [ "all" ];
      users.users.alice = { isNormalUser = true; extraGroups = [ "wheel" ]; };
      config = lib.mkIf config.services.x.enable {
        environment.etc."x.conf".text = lib.concatStringsSep "," [ "a" "b" ];
        networking.firewall.allowedTCPPorts = [ 22 80 443 ];
      };
    }"#;
    let root = rnix::Root::parse(src).syntax();
    let nodes = |text, mounts: &[Vec<String>]| detector_run(&root, text, mounts, true, None).1;
    let (whole, skipping) = (nodes(None, &[]), nodes(Some(src), &[]));
    assert!(skipping * 3 < whole, "{skipping} of {whole} nodes walked");
    let mounted = [vec!["inventory".to_owned()]];
    assert_eq!(nodes(Some(src), &mounted), nodes(None, &mounted));
    assert_eq!(
        detect_with(&root, Some(src), &[], true),
        detect_with(&root, None, &[], true)
    );
}

/// The green precheck of a read rules out no selection that is one: the
/// spellings of keys it does not read (escapes, interpolation, `${…}`)
/// stand for any name.
#[test]
fn the_read_precheck_keeps_every_read() {
    let exprs = [
        "x.inventory.services.a",
        "inventory.services",
        "x ? inventory.services",
        "config.clan.inventory ? services",
        "(x.inventory).services",
        "((x).inventory).services.a",
        "x.\"inventory\".services",
        "x.${\"inventory\"}.services",
        "x.\"invent\\ory\".services",
        "x.\"inv${\"entory\"}\".services",
        "(x.inventory or { }).services",
        "x.inventory.services or { }",
        "x.inventory.${y}",
        "pkgs.hello",
        "lib.mkIf",
        "config.services.nginx.enable",
        "x.services.inventory",
        "x.inventory.instances",
        "(f x).inventory",
    ];
    let (mut reads, mut ruled_out) = (0, 0);
    for expr in exprs {
        let parse = rnix::Root::parse(&format!("{{ v = {expr}; }}"));
        assert!(parse.errors().is_empty(), "{expr}");
        for node in parse.syntax().descendants() {
            if !matches!(
                node.kind(),
                SyntaxKind::NODE_SELECT | SyntaxKind::NODE_HAS_ATTR
            ) {
                continue;
            }
            let may = may_be_legacy_read(node.green());
            if legacy_read(&node).is_some() {
                assert!(may, "{expr}: a read ruled out");
                reads += 1;
            }
            ruled_out += usize::from(!may);
        }
    }
    assert_eq!((reads, ruled_out), (11, 11));
}

/// Attribute names the generated sources of the tests below draw from: the
/// names detection looks for ([`FACT_KEYS`]), then others, and spellings it
/// reads differently.
const OTHER_KEYS: &[&str] = &[
    "sshd",
    "main",
    "roles",
    "peer",
    "config",
    "\"a\"",
    "${x}",
    "${\"services\"}",
    "\"invent\\ory\"",
    "\"inv${\"ent\"}ory\"",
];
const GENERATED_KEY_COUNT: u64 = (FACT_KEYS.len() + OTHER_KEYS.len()) as u64;

/// The `pick`-th generated name (`pick` below [`GENERATED_KEY_COUNT`]).
fn generated_key(pick: u64) -> &'static str {
    let pick = pick as usize;
    FACT_KEYS
        .get(pick)
        .unwrap_or_else(|| &OTHER_KEYS[pick - FACT_KEYS.len()])
}

/// Nix sources for comparing detectors: every Nix file of testdata, and
/// generated sets mixing the forms the walk treats apart (parentheses, `//`
/// on either side, function headers, `let`, `with`, `assert`, list elements,
/// function arguments, `inherit`, reads and has-attr tests).
fn comparison_sources(count: usize) -> Vec<String> {
    let mut sources = crate::test_support::testdata_nix_sources("before");
    let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
    fn expr(next: &mut dyn FnMut(u64) -> u64, depth: u32) -> String {
        const LEAVES: &[&str] = &[
            "1",
            "[ \"a\" \"b\" ]",
            "import ./x.nix",
            "[ ./y.nix ]",
            "{ }",
            "\"c\"",
            "x",
            "x.inventory.services.a",
            "x ? inventory.services",
            "(x.inventory).services",
            "x.inventory.services or { }",
            "inventory.services.sshd.main.roles",
            "pkgs.hello",
            "x.services.inventory",
            "(x.inventory or y).services",
            "x.\"invent\\ory\".services",
            "x.${\"inv${\"entory\"}\"}.services",
        ];
        if depth >= 4 || next(4) == 0 {
            return LEAVES[next(LEAVES.len() as u64) as usize].to_owned();
        }
        let set = |next: &mut dyn FnMut(u64) -> u64| {
            let mut out = String::from(["{ ", "rec { "][usize::from(next(8) == 0)]);
            for _ in 0..next(5) {
                if next(10) == 0 {
                    out.push_str(
                        ["inherit services; ", "inherit (x) sshd main; "][next(2) as usize],
                    );
                    continue;
                }
                let keys: Vec<&str> = (0..1 + next(3))
                    .map(|_| generated_key(next(GENERATED_KEY_COUNT)))
                    .collect();
                out.push_str(&keys.join("."));
                out.push_str(" = ");
                out.push_str(&expr(next, depth + 1));
                out.push_str("; ");
            }
            out.push('}');
            out
        };
        let inner = set(next);
        match next(14) {
            0 => format!("({inner})"),
            1 | 12 => format!("x // {inner}"),
            13 => format!("({inner} // {{ }})"),
            2 => format!("{inner} // (y // {})", set(next)),
            3 => format!("[ {inner} 1 ]"),
            4 => format!("f {inner}"),
            5 => format!("a: {inner}"),
            6 => format!("{{ a, ... }}@b: with a; {inner}"),
            7 => format!("assert x; {inner}"),
            8 => format!("let inventory = {inner}; in {}", set(next)),
            9 => format!("{inner} ++ {}", set(next)),
            _ => inner,
        }
    }
    for _ in 0..count {
        let e = expr(&mut next, 0);
        sources.push(match next(4) {
            0 => format!("{{ inventory.services = x // {{ sshd.main = {e}; }}; }}"),
            1 => format!(
                "{{ clan.inventory = (y // {{ services.sshd = {e} // {{ main = {}; }}; }}); }}",
                expr(&mut next, 1)
            ),
            2 => format!("{{ inventory.services.sshd = ({{ main = {e}; }}); }}"),
            _ => e,
        });
    }
    sources
}

/// The green-tree walk finds the same facts as the walk over a cursor for
/// every node, in the same order, under every kind of mount, pruned or not.
#[test]
fn the_green_walk_finds_what_the_cursor_walk_found() {
    let mounts: Vec<Vec<Vec<String>>> = [
        vec![],
        vec![vec!["inventory"]],
        vec![vec!["inventory", "machines"], vec!["inventory"]],
    ]
    .iter()
    .map(|m| {
        m.iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect()
    })
    .collect();
    let (mut parsed, mut with_facts, mut reads, mut updates) = (0, 0, 0, 0);
    for src in &comparison_sources(1000) {
        let parse = rnix::Root::parse(src);
        if !parse.errors().is_empty() {
            continue;
        }
        parsed += 1;
        let root = parse.syntax();
        for m in &mounts {
            for prune in [true, false] {
                let found = detect_with(&root, Some(src), m, prune);
                let reference = reference_detect_with(&root, m, prune);
                assert_eq!(found, reference, "{src} mounted at {m:?}, prune {prune}");
                with_facts += usize::from(found != LegacyFacts::default());
                reads += found.reads.len();
                updates += found.instances.iter().filter(|i| i.inside_update).count();
            }
        }
    }
    // The comparison must cover facts of every kind the walk decides on.
    assert!(parsed > 1000, "{parsed}");
    assert!(with_facts > 3000, "{with_facts}");
    assert!(
        reads > 1000 && updates > 100,
        "reads {reads}, updates {updates}"
    );
}

/// Skipping the sets that cannot hold facts changes nothing: every Nix file of
/// testdata and generated nested sets give the same facts with and without
/// it, under every kind of mount.
#[test]
fn pruning_sets_that_cannot_hold_facts_changes_nothing() {
    let mounts: Vec<Vec<Vec<String>>> = [
        vec![],
        vec![vec!["inventory"]],
        vec![vec!["clan", "inventory"]],
        vec![vec!["inventory", "services"]],
        vec![vec!["flake", "clan", "inventory", "services", "sshd"]],
        vec![vec!["inventory", "machines"], vec!["inventory"]],
    ]
    .iter()
    .map(|m| {
        m.iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect()
    })
    .collect();
    let mut sources = crate::test_support::testdata_nix_sources("before");
    assert!(sources.len() > 40, "{}", sources.len());
    let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
    fn set(next: &mut dyn FnMut(u64) -> u64, depth: u32) -> String {
        const VALUES: &[&str] = &[
            "1",
            "[ \"a\" \"b\" ]",
            "import ./x.nix",
            "[ ./y.nix ]",
            "{ }",
            "\"c\"",
            "x",
        ];
        let mut out = String::from(if next(6) == 0 {
            "let y = { inventory.services.a.b = { }; }; in { "
        } else {
            "{ "
        });
        for _ in 0..next(5) {
            if next(10) == 0 {
                out.push_str(["inherit services; ", "inherit (x) sshd main; "][next(2) as usize]);
                continue;
            }
            let keys: Vec<&str> = (0..1 + next(3))
                .map(|_| generated_key(next(GENERATED_KEY_COUNT)))
                .collect();
            out.push_str(&keys.join("."));
            out.push_str(" = ");
            if depth < 4 && next(3) != 0 {
                out.push_str(&set(next, depth + 1));
            } else {
                out.push_str(VALUES[next(VALUES.len() as u64) as usize]);
            }
            out.push_str("; ");
        }
        out.push('}');
        out
    }
    let mut with_facts = 0;
    for _ in 0..1500 {
        sources.push(set(&mut next, 0));
    }
    for src in &sources {
        let parse = rnix::Root::parse(src);
        if !parse.errors().is_empty() {
            continue;
        }
        let root = parse.syntax();
        for m in &mounts {
            let pruned = detect_with(&root, Some(src), m, true);
            let full = detect_with(&root, None, m, false);
            assert_eq!(pruned, full, "{src} mounted at {m:?}");
            with_facts += usize::from(full != LegacyFacts::default());
        }
    }
    // Enough sources must hold facts for the comparison to mean anything.
    assert!(with_facts > 4000, "{with_facts}");
}
