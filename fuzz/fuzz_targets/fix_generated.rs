//! Structure-aware: the fuzz input chooses a legacy inventory (services,
//! instances, roles, machines, config, forms: nested, dotted, mixed; comments,
//! quoting, CRLF; machine lists that need evaluation: `[ host "a" ]`,
//! `hosts ++ [ "a" ]`). The rewrite must re-parse, pass the verifier (which proves
//! the meaning is kept), be idempotent, and keep every byte outside its edits.
#![no_main]

use std::path::PathBuf;

use clan_migrate::engine::analysis;
use clan_migrate::engine::FileReport;
use clan_migrate::text::edit;
use clan_migrate::rewrite::plan::FileContext;
use clan_migrate::engine::verify;
use clan_migrate::text::source::{FileKind, SourceFile};
use libfuzzer_sys::fuzz_target;

const SERVICES: &[&str] = &[
    "sshd",
    "borgbackup",
    "zerotier",
    "packages",
    "user-password",
    "admin",
    "mumble",
    "custom",
];
const ROLES: &[&str] = &["server", "client", "default", "peer", "controller", "moon"];
const MACHINES: &[&str] = &["a", "b", "web", "\"my host\""];
const KEYS: &[&str] = &[
    "directory",
    "destinations.x.repo",
    "certificate.searchDomains",
    "packages",
    "user",
    "hostKeys.rsa.enable",
    "networkIps",
    "moon.stableEndpoints",
];

struct Input<'a>(&'a [u8], usize);

impl Input<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let b = self.0.get(self.1).copied().unwrap_or(0) as usize;
        self.1 += 1;
        b % n.max(1)
    }
}

fn generate(data: &[u8]) -> String {
    let mut input = Input(data, 0);
    // Names that machine lists can use without spelling them out.
    let mut out = String::from("let\n  host = \"web\";\n  hosts = [ \"b\" ];\nin\n{\n");
    let form = input.pick(3);
    let instances = 1 + input.pick(4);
    if form == 0 {
        out.push_str("  inventory.services = {\n");
    }
    for i in 0..instances {
        let svc = SERVICES[input.pick(SERVICES.len())];
        // In a shared `services` set, some instances sit in a `<svc> = { … }`
        // wrapper, and blank lines separate some.
        let wrapped = form == 0 && input.pick(3) == 0;
        let head = match form {
            0 if wrapped => format!("    {svc} = {{\n      i{i}"),
            0 => format!("    {svc}.i{i}"),
            1 => format!("  inventory.services.{svc}.i{i}"),
            _ => format!("  \"inventory\".services.${{\"{svc}\"}}.i{i}"),
        };
        if form == 0 && input.pick(4) == 0 {
            out.push('\n');
        }
        if input.pick(3) == 0 {
            out.push_str("  # a comment\n");
        }
        out.push_str(&format!("{head} = {{\n"));
        for _ in 0..1 + input.pick(3) {
            let role = ROLES[input.pick(ROLES.len())];
            match input.pick(4) {
                0 => {
                    let (a, b) = (
                        quote(MACHINES[input.pick(MACHINES.len())]),
                        quote(MACHINES[input.pick(MACHINES.len())]),
                    );
                    let list = match input.pick(4) {
                        0 => format!("[ host {b} ]"),
                        1 => format!("hosts ++ [ {a} ]"),
                        _ => format!("[ {a} {b} ]"),
                    };
                    out.push_str(&format!("      roles.{role}.machines = {list};\n"));
                }
                1 => out.push_str(&format!("      roles.{role}.tags = [ \"all\" ];\n")),
                2 => out.push_str(&format!(
                    "      roles.{role}.config.{} = \"v{}\";\n",
                    KEYS[input.pick(KEYS.len())],
                    input.pick(9)
                )),
                _ => out.push_str(&format!(
                    "      config.{} = [ \"x\" ];\n",
                    KEYS[input.pick(KEYS.len())]
                )),
            }
        }
        if input.pick(4) == 0 {
            let m = MACHINES[input.pick(2)];
            out.push_str(&format!(
                "      machines.{m}.config.{} = true;\n",
                KEYS[input.pick(KEYS.len())]
            ));
        }
        out.push_str("    };\n");
        if wrapped {
            out.push_str("    };\n");
        }
    }
    if form == 0 {
        out.push_str("  };\n");
        // An `instances` set right after it, as an earlier run writes it.
        if input.pick(3) == 0 {
            out.push_str("  inventory.instances = {\n    existing.module.name = \"admin\";\n  };\n");
        }
    }
    out.push_str("}\n");
    if input.pick(2) == 0 {
        out.replace('\n', "\r\n")
    } else {
        out
    }
}

fn quote(m: &str) -> String {
    if m.starts_with('"') {
        m.to_owned()
    } else {
        format!("\"{m}\"")
    }
}

fuzz_target!(|data: &[u8]| {
    let text = generate(data);
    let ctx = FileContext::default();
    let source = SourceFile::from_text(PathBuf::from("clan.nix"), text.clone(), FileKind::Nix);
    if !rnix::Root::parse(&source.text).errors().is_empty() {
        return;
    }
    let analysis = analysis::analyze(&source, &[], &ctx);
    let edits = analysis.plan.edits.clone();
    let new_text = edit::apply(&source.text, &edits).expect("edits never overlap");
    if let Some(overlap) = analysis.plan.overlap() {
        panic!("the planner's overlap guard left an instance: {}", overlap.message);
    }
    if edits.is_empty() {
        return;
    }
    // Bytes outside the edits are kept.
    let mut cursor = 0;
    let mut out_cursor = 0;
    for e in edit::normalize(edits.clone(), &source.text).expect("normalized") {
        let kept = &source.text[cursor..e.span.start];
        assert_eq!(
            &new_text[out_cursor..out_cursor + kept.len()],
            kept,
            "a byte outside the edits changed"
        );
        out_cursor += kept.len() + e.insert.len();
        cursor = e.span.end;
    }
    assert_eq!(&new_text[out_cursor..], &source.text[cursor..]);
    let file = FileReport::new(source.clone(), Vec::new(), ctx, analysis);
    if let Err(refusal) = verify::verify(&file, &new_text) {
        panic!(
            "the verifier refused the planner's own rewrite: {}\n--- input ---\n{text}\n--- output ---\n{new_text}",
            refusal.0
        );
    }
});
