//! Checks a rewritten file before anything is written: it parses, defines no
//! attribute twice (by Nix's rules), every instance has the same normal form as
//! before (module, role members, tags, role and per-machine settings,
//! extraModules; see `inventory::model`), fixing it again changes nothing, and
//! every instance the plan migrated is gone from the legacy tree.

use crate::engine::FileReport;
use crate::engine::analysis::{self, FileAnalysis};
use crate::inventory::normal_form as model;
use crate::rewrite::plan::{Outcome, ReasonKind};
use crate::syntax::duplicates;
use crate::text::source::SourceFile;

/// Why a rewrite was refused (nothing is written for the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Verifies `new_text` as the rewrite of `file`; on success returns the rewritten
/// file and its analysis (the findings that remain).
pub fn verify(file: &FileReport, new_text: &str) -> Result<(SourceFile, FileAnalysis), Refusal> {
    let source = &file.source;
    let rewritten = SourceFile::from_text(source.path.clone(), new_text.to_owned(), source.kind);
    if source.kind == crate::text::source::FileKind::InventoryJson {
        verify_json(file, &rewritten)?;
        let again = analysis::analyze(&rewritten, &file.mounts, &file.context);
        return settled(file, rewritten, again);
    }
    let injected = file.analysis.plan.instances.iter().find(|p| {
        p.outcome == Outcome::Migrated
            && crate::failpoint::hit_named("fail-verification", &p.new_name)
    });
    if let Some(instance) = injected {
        return Err(Refusal(format!(
            "the rewrite of `{}` is refused (injected fault); nothing was written",
            instance.new_name
        )));
    }
    let parse = rnix::Root::parse(new_text);
    if let Some(error) = parse.errors().first() {
        return Err(Refusal(format!(
            "internal error: the rewritten file does not parse ({error}); nothing was written"
        )));
    }
    if let Some(dup) = duplicates::find(&parse.syntax()).first() {
        let line = |offset: usize| rewritten.position(offset).line;
        return Err(Refusal(format!(
            "the rewritten file would define `{}` twice (lines {} and {}), which Nix rejects; nothing was written",
            dup.path,
            line(dup.first.start),
            line(dup.second.start)
        )));
    }
    let new_root = parse.syntax();
    // The analysis of the rewritten file serves twice: its legacy facts give the
    // model after the rewrite, its plan shows whether fixing again changes anything.
    // Instances the plan leaves on purpose (their rewrite failed verification)
    // are left when fixing again too.
    let leave: Vec<_> = file
        .analysis
        .plan
        .instances
        .iter()
        .filter_map(|p| match &p.outcome {
            Outcome::Left(reason, _) if reason.kind == ReasonKind::Verification => {
                Some((p.key(), reason.clone()))
            }
            _ => None,
        })
        .collect();
    let (again, facts_after) = analysis::analyze_valid_tree_leaving(
        &rewritten,
        &new_root,
        &file.mounts,
        &file.context,
        &leave,
    );
    let after = model::meaning(
        &new_root,
        &facts_after,
        &file.context,
        &facts_after.machines,
    );
    if file.analysis.plan.meaning_before != Some(model::Digest::of(&after)) {
        // No digest of the original's meaning, or another one: the original is
        // parsed again and compared in full, with its own machines on both sides
        // (they resolve tags outside a clan), to say what would change.
        let original = rnix::Root::parse(&source.text).syntax();
        let facts_before =
            analysis::detect_nix(&original, &source.text, &file.mounts, &file.context);
        let before = model::meaning(
            &original,
            &facts_before,
            &file.context,
            &facts_before.machines,
        );
        let after = model::meaning(
            &new_root,
            &facts_after,
            &file.context,
            &facts_before.machines,
        );
        if let Some(difference) = model::difference(&before, &after) {
            return Err(Refusal(format!(
                "the rewrite would not keep the meaning: {difference}; nothing was written"
            )));
        }
    }
    // The meaning is kept as the model sees it; a mistake in
    // `inventory.instances` code (CM1xx, error) that the original did not have
    // is something clan rejects that the model does not see, such as an
    // attribute instances do not have.
    let is_new_mistake = |f: &&crate::lints::Finding| {
        f.rule.code.starts_with("CM1")
            && f.severity() == crate::lints::Severity::Error
            && !file
                .analysis
                .findings
                .iter()
                .any(|old| std::ptr::eq(old.rule, f.rule) && old.message == f.message)
    };
    if let Some(new) = again.findings.iter().find(is_new_mistake) {
        return Err(Refusal(format!(
            "the rewritten file would be rejected by clan ({}: {}, line {}); nothing was written",
            new.rule.code,
            new.message,
            rewritten.position(new.primary.span.start).line
        )));
    }
    settled(file, rewritten, again)
}

/// The JSON document parses, and every instance has the same normal form.
fn verify_json(file: &FileReport, rewritten: &SourceFile) -> Result<(), Refusal> {
    let parse = |text: &str| {
        crate::syntax::json::parse(text).map_err(|e| Refusal(format!("internal error: the rewritten inventory.json is not valid JSON ({e}); nothing was written")))
    };
    let before = parse(&file.source.text)?;
    let after = parse(&rewritten.text)?;
    let paths = model::paths_for(
        file.context.path.as_deref(),
        file.context.clan_dir.as_deref(),
    );
    let table = &file.context.modules;
    let own = crate::inventory::facts::json::detect(&before).machines;
    let machines = file.context.machine_facts_for(&own);
    let a = model::json_instances(&before, &paths, table, &machines);
    let b = model::json_instances(&after, &paths, table, &machines);
    match model::difference(&a, &b) {
        Some(difference) => Err(Refusal(format!(
            "the rewrite would not keep the meaning: {difference}; nothing was written"
        ))),
        None => Ok(()),
    }
}

/// Fixing the rewritten file again changes nothing, and every migrated instance
/// left the legacy tree.
fn settled(
    file: &FileReport,
    rewritten: SourceFile,
    again: FileAnalysis,
) -> Result<(SourceFile, FileAnalysis), Refusal> {
    if !again.plan.edits.is_empty() {
        return Err(Refusal(
            "internal error: fixing the rewritten file again would change it; nothing was written"
                .into(),
        ));
    }
    let still_legacy: foldhash::HashSet<(Option<usize>, &str, &str)> = again
        .plan
        .instances
        .iter()
        .map(|p| (p.clan, p.service.as_str(), p.instance.as_str()))
        .collect();
    for migrated in file
        .analysis
        .plan
        .instances
        .iter()
        .filter(|p| p.outcome == Outcome::Migrated)
    {
        let key = (
            migrated.clan,
            migrated.service.as_str(),
            migrated.instance.as_str(),
        );
        if still_legacy.contains(&key) {
            return Err(Refusal(format!(
                "internal error: `{}.{}` is still a legacy instance after the rewrite; nothing was written",
                migrated.service, migrated.instance
            )));
        }
    }
    Ok((rewritten, again))
}
