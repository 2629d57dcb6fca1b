//! The rules registry. Each rule lives in its own file, named after the rule, with
//! its code, severity and documentation (shown by `clan-migrate explain CODE`).

pub mod empty_legacy_services;
mod finding;
pub mod instance_checks;
pub mod instances_clan_prefixed_module;
pub mod instances_duplicate_settings;
pub mod instances_machine_list;
pub mod instances_role_config;
pub mod instances_string_extra_modules;
pub mod instances_unknown_key;
pub mod instances_unknown_module_or_role;
pub mod legacy_service_instance;
pub mod legacy_services_read;
pub mod parse_error;
pub mod service_checks;
pub mod service_interface_config;
pub mod service_legacy_leftover;
pub mod service_missing_manifest_name;
pub mod service_settings_not_serializable;
pub mod service_unknown_result;
pub mod service_without_class;
pub mod suppress;
pub mod unmigratable_legacy_form;
pub mod unused_suppression;
pub mod zerotier_instance_renamed;

pub use finding::{Finding, Fixability, Label, Rule, Severity};

/// Every rule, in code order.
pub static RULES: &[&Rule] = &[
    &parse_error::RULE,
    &legacy_service_instance::RULE,
    &legacy_services_read::RULE,
    &unmigratable_legacy_form::RULE,
    &unused_suppression::RULE,
    &empty_legacy_services::RULE,
    &instances_machine_list::RULE,
    &instances_role_config::RULE,
    &instances_unknown_key::RULE,
    &instances_clan_prefixed_module::RULE,
    &instances_string_extra_modules::RULE,
    &instances_unknown_module_or_role::RULE,
    &instances_duplicate_settings::RULE,
    &zerotier_instance_renamed::RULE,
    &service_interface_config::RULE,
    &service_unknown_result::RULE,
    &service_missing_manifest_name::RULE,
    &service_settings_not_serializable::RULE,
    &service_legacy_leftover::RULE,
    &service_without_class::RULE,
];

/// CM108: new zerotier instances next to legacy zerotier instances of other names.
/// `modules_of_new` (the module of each new instance) is asked for only when the
/// file has a legacy zerotier instance.
pub fn zerotier_renames(
    facts: &crate::inventory::LegacyFacts,
    modules_of_new: impl FnOnce() -> Vec<(String, String, crate::text::Span)>,
) -> Vec<crate::lints::Finding> {
    let legacy: Vec<(&str, String)> = facts
        .instances
        .iter()
        .filter(|i| i.service == "zerotier")
        .map(|i| {
            (
                i.instance.as_str(),
                crate::inventory::naming::default_instance_name(&i.service, &i.instance),
            )
        })
        .collect();
    if legacy.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (name, module, span) in &modules_of_new() {
        if module != "zerotier" {
            continue;
        }
        for (instance, target) in &legacy {
            if name != target && name != instance {
                out.push(zerotier_instance_renamed::finding(
                    name, *span, instance, target,
                ));
            }
        }
    }
    out
}

pub use crate::inventory::config::RuleSelection;

/// Whether `selection` reports `rule`; parse errors (CM000) are always reported.
pub fn selected(selection: &RuleSelection, rule: &Rule) -> bool {
    std::ptr::eq(rule, &parse_error::RULE) || selection.allows(rule.code, rule.name)
}

/// The entries of `selection` that name no rule (a typo would silently
/// select nothing).
pub fn unknown_rules(selection: &RuleSelection) -> Vec<&str> {
    selection
        .entries()
        .filter(|entry| {
            !RULES
                .iter()
                .any(|r| RuleSelection::names(entry, r.code, r.name))
        })
        .collect()
}

/// A rule by code (`CM001`, any case) or by name (`legacy-service-instance`).
pub fn find_rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// The findings of every legacy-definition rule for one file's facts.
pub fn legacy_findings(
    facts: &crate::inventory::LegacyFacts,
    kind: crate::text::source::FileKind,
    plan: &crate::rewrite::plan::Plan,
) -> Vec<crate::lints::Finding> {
    let mut findings = Vec::new();
    // The plan lists the instances in the order they were detected.
    findings.extend(facts.instances.iter().enumerate().filter_map(|(n, i)| {
        let planned = plan
            .instances
            .get(n)
            .filter(|p| p.service == i.service && p.instance == i.instance);
        legacy_service_instance::finding(i, kind, planned)
    }));
    findings.extend(facts.reads.iter().map(legacy_services_read::finding));
    findings.extend(
        facts
            .unmigratable
            .iter()
            .map(unmigratable_legacy_form::finding),
    );
    let empties_fixed = kind == crate::text::source::FileKind::Nix || plan.empties_deleted > 0;
    findings.extend(
        facts
            .empty
            .iter()
            .map(|e| empty_legacy_services::finding(e, empties_fixed)),
    );
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_docs_complete() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.name, b.name);
            }
            for heading in ["## What it does", "## Why", "## Example"] {
                assert!(a.docs.contains(heading), "{} lacks {heading}", a.code);
            }
            assert!(a.code.starts_with("CM") && a.code.len() == 5, "{}", a.code);
        }
    }

    #[test]
    fn rules_are_listed_in_code_order() {
        let codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(find_rule("cm001").map(|r| r.code), Some("CM001"));
        assert_eq!(
            find_rule("legacy-service-instance").map(|r| r.code),
            Some("CM001")
        );
        assert!(find_rule("CM999").is_none());
    }
}
