//! Per-file analysis: a pure function from a decoded file (and the logical paths at
//! which other files mount it) to owned findings. Syntax trees never leave it, so
//! files can be analysed on any thread.

use crate::inventory::facts::{json as legacy_json, nix as legacy_nix};
use crate::inventory::{InventoryImport, LegacyFacts};
use crate::lints::Finding;
use crate::lints::instance_checks::{self, SettingsDef};
use crate::lints::suppress;
use crate::lints::{self, parse_error};
use crate::rewrite::plan::{self, FileContext, InstanceKey, Outcome, Plan, Reason, ReasonKind};
use crate::syntax::json as json_tree;
use crate::text::source::{FileKind, SourceFile};

/// What one file contributes to a run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FileAnalysis {
    /// Findings after suppression, ordered by position.
    pub findings: Vec<Finding>,
    /// Inventory files this file pulls in with literal relative paths.
    #[serde(skip)]
    pub imports: Vec<InventoryImport>,
    /// The file had syntax errors (and was not analysed further).
    pub syntax_error: bool,
    /// What `fix` would do to the file.
    pub plan: Plan,
    /// Instance names this file defines or would generate, with their offsets.
    #[serde(skip)]
    pub names: Vec<(String, usize)>,
    /// The machines and tags this file defines.
    #[serde(skip)]
    pub machines: crate::inventory::MachineFacts,
    /// Where this file defines instance settings.
    #[serde(skip)]
    pub settings: Vec<SettingsDef>,
    /// `@clan/` module names this file registers.
    #[serde(skip)]
    pub registered_modules: Vec<String>,
    /// An instance uses an `@clan/` name of another input than clan-core
    /// that neither this file nor (as far as known) its flake registers.
    #[serde(skip)]
    pub unregistered_modules: bool,
}

impl FileAnalysis {
    /// Whether an instance is left because tag membership is unknown (the
    /// clan's machines may tell).
    pub fn needs_membership(&self) -> bool {
        self.plan.instances.iter().any(|p| {
            matches!(&p.outcome, Outcome::Left(reason, _) if reason.kind == ReasonKind::Membership)
        })
    }
}

/// Analyses one file. `mounts` are the logical paths at which other files import it.
pub fn analyze(source: &SourceFile, mounts: &[Vec<String>], ctx: &FileContext) -> FileAnalysis {
    let irrelevant = source.kind == FileKind::Nix
        && mounts.is_empty()
        && !ctx.explicit
        && !may_hold_inventory(&source.text);
    if irrelevant && !ctx.no_prefilter {
        return FileAnalysis::default();
    }
    let mut analysis = match source.kind {
        FileKind::Nix => analyze_nix(source, mounts, ctx, &[]),
        FileKind::InventoryJson => analyze_json(source, ctx),
    };
    if irrelevant {
        // Syntax errors are reported for files that can hold inventory code only,
        // with or without the prefilter; anything else found here would mean the
        // prefilter is wrong (tests/prefilter.rs).
        analysis
            .findings
            .retain(|f| !std::ptr::eq(f.rule, &parse_error::RULE));
    }
    analysis
        .findings
        .sort_by_key(|f| (f.primary.span.start, f.rule.code));
    analysis
}

/// Whether a walked file that no other file imports can hold anything the tool reports:
/// every legacy definition, read, instance and machine fact is spelled under an
/// `inventory` path, suppressions start with `clan-migrate:`, and registered
/// `@clan/` module names spell `@clan/`, clan.service modules `clan.service`,
/// and modules a clan registers `clan.modules` (or sit beside its `inventory`).
/// Files without any of them are not parsed (so their syntax errors are not
/// reported either).
pub fn may_hold_inventory(text: &str) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // SIMD searches, built once. Most walked files contain none of the words,
    // so each search reads the whole text: `clan` is read once for the two
    // words that contain it.
    static WORDS: LazyLock<[Finder<'static>; 6]> = LazyLock::new(|| {
        [
            Finder::new("inventory"),
            Finder::new("clan"),
            Finder::new("clan-migrate:"),
            Finder::new("@clan/"),
            Finder::new(crate::lints::service_checks::MARKER),
            Finder::new("clan.modules"),
        ]
    });
    let [inventory, clan, suppression, module, service, registry] = &*WORDS;
    let bytes = text.as_bytes();
    inventory.find(bytes).is_some()
        || clan.find(bytes).is_some_and(|at| {
            // The four words have `clan` at most one byte in.
            let from = &bytes[at.saturating_sub(1)..];
            [suppression, module, service, registry]
                .iter()
                .any(|word| word.find(from).is_some())
        })
}

/// The mounts a file's name implies: an `inventory.nix` is an inventory.
pub fn default_mounts_for(path: &std::path::Path) -> Vec<Vec<String>> {
    if path.file_name().is_some_and(|n| n == "inventory.nix") {
        vec![vec!["inventory".to_owned()]]
    } else {
        Vec::new()
    }
}

/// [`analyze`] of a Nix file whose instances `leave` are left as they are,
/// each with its reason: `fix` leaves the instances whose rewrite fails
/// verification and migrates the rest.
pub fn analyze_leaving(
    source: &SourceFile,
    mounts: &[Vec<String>],
    ctx: &FileContext,
    leave: &[(InstanceKey, Reason)],
) -> FileAnalysis {
    let mut analysis = analyze_nix(source, mounts, ctx, leave);
    analysis
        .findings
        .sort_by_key(|f| (f.primary.span.start, f.rule.code));
    analysis
}

fn analyze_nix(
    source: &SourceFile,
    mounts: &[Vec<String>],
    ctx: &FileContext,
    leave: &[(InstanceKey, Reason)],
) -> FileAnalysis {
    let parse = rnix::Root::parse(&source.text);
    if !parse.errors().is_empty() {
        return FileAnalysis {
            findings: parse_error::nix_findings(parse.errors(), source.text.len()),
            syntax_error: true,
            ..FileAnalysis::default()
        };
    }
    let root = parse.syntax();
    // rnix accepts an attribute defined twice; Nix rejects the file while parsing.
    let duplicates = crate::syntax::duplicates::find(&root);
    if !duplicates.is_empty() {
        return FileAnalysis {
            findings: duplicates
                .iter()
                .map(parse_error::duplicate_finding)
                .collect(),
            syntax_error: true,
            ..FileAnalysis::default()
        };
    }
    let (mut analysis, facts) = analyze_valid_tree_leaving(source, &root, mounts, ctx, leave);
    if ctx.digest_meaning && !analysis.plan.edits.is_empty() {
        let before = crate::inventory::normal_form::meaning(&root, &facts, ctx, &facts.machines);
        analysis.plan.meaning_before = Some(crate::inventory::normal_form::Digest::of(&before));
    }
    analysis
}

/// Analyses the tree of a Nix file that parsed without errors and defines no
/// attribute twice; also returns the legacy facts found in it (the verifier
/// builds its model of the rewritten file from them).
pub fn analyze_valid_tree(
    source: &SourceFile,
    root: &rnix::SyntaxNode,
    mounts: &[Vec<String>],
    ctx: &FileContext,
) -> (FileAnalysis, LegacyFacts) {
    analyze_valid_tree_leaving(source, root, mounts, ctx, &[])
}

/// [`analyze_valid_tree`], leaving the instances of `leave`.
pub fn analyze_valid_tree_leaving(
    source: &SourceFile,
    root: &rnix::SyntaxNode,
    mounts: &[Vec<String>],
    ctx: &FileContext,
    leave: &[(InstanceKey, Reason)],
) -> (FileAnalysis, LegacyFacts) {
    let mut facts = detect_nix(root, &source.text, mounts, ctx);
    if !facts.reads.is_empty()
        && let Some(path) = &ctx.path
    {
        // A legacy module that `port-module` wrapped reads the option its
        // generated module fills.
        let filled = crate::port::filled_inventory_services(path);
        if !filled.is_empty() {
            facts.reads.retain(|read| {
                crate::port::inventory_service_read(&source.text[read.span.start..read.span.end])
                    .is_none_or(|service| !filled.contains(&service))
            });
        }
    }
    let mut plan = plan_selected(source, root, &facts, ctx, leave);
    let mut findings = lints::legacy_findings(&facts, source.kind, &plan);
    let registered = crate::syntax::nix::registered_module_names(root, &source.text);
    let known: Vec<String> = ctx
        .registered_modules
        .iter()
        .chain(&registered)
        .cloned()
        .collect();
    let (instance_findings, mut settings) =
        instance_checks::check(root, &source.text, &facts, ctx, &known);
    // What clans of their own in the file define meets nothing elsewhere.
    settings.retain(|def| def.clan.is_none());
    let cm104 = &lints::instances_clan_prefixed_module::RULE;
    let unregistered = instance_findings
        .iter()
        .any(|f| std::ptr::eq(f.rule, cm104) && f.fix.is_empty());
    findings.extend(instance_findings);
    findings.extend(settings_defined_elsewhere(&settings, ctx));
    findings.extend(lints::zerotier_renames(&facts, || {
        instance_checks::instance_modules(root, &facts)
    }));
    findings.extend(lints::service_checks::check(root, &source.text));
    let suppressions = suppress::collect(root, source);
    let mut findings = suppress::apply(findings, &suppressions);
    findings.retain(|f| lints::selected(&ctx.rules, f.rule));
    findings.sort_by_key(|f| (f.primary.span.start, f.rule.code));
    // The fixes the findings carry (mistakes in `inventory.instances` code).
    let fixed: Vec<&lints::Finding> = findings.iter().filter(|f| !f.fix.is_empty()).collect();
    plan.corrections = fixed.len();
    plan.edits
        .extend(fixed.into_iter().flat_map(|f| f.fix.iter().cloned()));
    let analysis = FileAnalysis {
        findings,
        names: instance_names(&facts),
        machines: facts.machines.clone(),
        settings,
        imports: facts.imports.clone(),
        syntax_error: false,
        plan,
        registered_modules: registered,
        unregistered_modules: unregistered,
    };
    (analysis, facts)
}

/// The plan of `facts`, as far as the selected rules go: without CM001 every
/// legacy instance is left, without CM005 no empty definition is deleted.
fn plan_selected(
    source: &SourceFile,
    root: &rnix::SyntaxNode,
    facts: &LegacyFacts,
    ctx: &FileContext,
    leave: &[(InstanceKey, Reason)],
) -> Plan {
    if ctx.rules.is_all() {
        return plan::plan_leaving(source, root, facts, ctx, leave);
    }
    let migrate = lints::selected(&ctx.rules, &lints::legacy_service_instance::RULE);
    let delete_empty = lints::selected(&ctx.rules, &lints::empty_legacy_services::RULE);
    let not_selected: Vec<(InstanceKey, Reason)>;
    let leave = if migrate {
        leave
    } else {
        let reason = Reason::new(
            ReasonKind::NotSelected,
            "CM001 is not among the selected rules",
            None,
        );
        not_selected = facts
            .instances
            .iter()
            .map(|i| {
                (
                    (i.clan, i.service.clone(), i.instance.clone()),
                    reason.clone(),
                )
            })
            .collect();
        &not_selected
    };
    if delete_empty {
        plan::plan_leaving(source, root, facts, ctx, leave)
    } else {
        let mut kept = facts.clone();
        kept.empty.clear();
        plan::plan_leaving(source, root, &kept, ctx, leave)
    }
}

/// The legacy facts of a parsed Nix file in its surroundings: sets that define
/// a clan of their own are told apart from the clan the file belongs to.
pub fn detect_nix(
    root: &rnix::SyntaxNode,
    text: &str,
    mounts: &[Vec<String>],
    ctx: &FileContext,
) -> LegacyFacts {
    let file_dir = ctx.path.as_deref().and_then(std::path::Path::parent);
    let dirs = file_dir
        .zip(ctx.clan_dir.as_deref())
        .map(|(file_dir, clan_dir)| crate::inventory::ClanDirs { file_dir, clan_dir });
    legacy_nix::detect_in(root, text, mounts, dirs)
}

fn analyze_json(source: &SourceFile, ctx: &FileContext) -> FileAnalysis {
    match json_tree::parse(&source.text) {
        Err(error) => FileAnalysis {
            findings: vec![parse_error::json_finding(&error)],
            syntax_error: true,
            ..FileAnalysis::default()
        },
        Ok(root) => {
            let facts: LegacyFacts = legacy_json::detect(&root);
            let plan = crate::rewrite::plan_json::plan(source, &root, &facts, ctx);
            let settings = instance_checks::json_settings(&root);
            let mut findings = lints::legacy_findings(&facts, source.kind, &plan);
            findings.extend(settings_defined_elsewhere(&settings, ctx));
            findings.retain(|f| lints::selected(&ctx.rules, f.rule));
            FileAnalysis {
                findings,
                settings,
                plan,
                names: instance_names(&facts),
                machines: facts.machines.clone(),
                ..FileAnalysis::default()
            }
        }
    }
}

/// Names of existing instances and the names legacy instances would get, in
/// the clan the file belongs to (not in clans of its own).
fn instance_names(facts: &LegacyFacts) -> Vec<(String, usize)> {
    let existing = facts
        .new_instances
        .iter()
        .filter(|i| i.clan.is_none())
        .filter_map(|i| Some((i.name.clone(), i.bindings.first()?.label.start)));
    let generated = facts
        .instances
        .iter()
        .filter(|i| i.clan.is_none())
        .filter_map(|i| {
            let name = crate::inventory::naming::default_instance_name(&i.service, &i.instance);
            Some((name, i.bindings.first()?.label.start))
        });
    existing.chain(generated).collect()
}

/// CM107 for settings this file defines that another file of the clan defines too.
fn settings_defined_elsewhere(defs: &[SettingsDef], ctx: &FileContext) -> Vec<lints::Finding> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    defs.iter()
        .filter(|def| {
            let key = (def.instance.as_str(), def.target.as_str());
            let first = !seen.contains(&key);
            seen.push(key);
            first
        })
        .filter_map(|def| {
            let elsewhere = ctx
                .settings_elsewhere
                .iter()
                .find(|e| e.key.0 == def.instance && e.key.1 == def.target)?;
            let other = format!("{}:{}", elsewhere.path.display(), elsewhere.line);
            Some(lints::instances_duplicate_settings::finding(
                &def.instance,
                def.span,
                &def.target,
                &other,
            ))
        })
        .collect()
}
