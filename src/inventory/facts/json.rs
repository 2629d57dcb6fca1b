//! Legacy `services` in an `inventory.json` (the file the clan CLI writes).

use super::{
    EmptyLegacyServices, InstanceBinding, LegacyFacts, Level, Span, UnmigratableForm,
    UnmigratableReason,
};
use crate::syntax::json::{JsonMember, JsonNode, JsonValue};
use crate::syntax::quote::nix_attr_path;

/// Detects legacy instances in a parsed `inventory.json`.
pub fn detect(root: &JsonNode) -> LegacyFacts {
    let mut facts = LegacyFacts::default();
    for machine in root
        .get("machines")
        .map(|m| m.value.members())
        .unwrap_or_default()
    {
        let info = facts
            .machines
            .machines
            .entry(machine.key.clone())
            .or_default();
        if let Some(tags) = machine.value.get("tags") {
            match &tags.value.value {
                JsonValue::Array(items) => {
                    for item in items {
                        match &item.value {
                            JsonValue::String(t) => info.tags.push(t.clone()),
                            _ => facts.machines.incomplete = true,
                        }
                    }
                }
                _ => facts.machines.incomplete = true,
            }
        }
        if let Some(class) = machine.value.get("machineClass")
            && let JsonValue::String(c) = &class.value.value
        {
            info.class = Some(c.clone());
        }
    }
    for instance in root
        .get("instances")
        .map(|i| i.value.members())
        .unwrap_or_default()
    {
        facts.add_new_instance_binding(
            &instance.key,
            InstanceBinding {
                binding: member_span(instance),
                label: key_span(instance),
                base: 1,
                prefix_len: 1,
                mount_len: 0,
            },
        );
    }
    let Some(services) = root.get("services") else {
        return facts;
    };
    let JsonValue::Object(by_service) = &services.value.value else {
        facts
            .unmigratable
            .push(not_an_object(services, &["services"], Level::Services));
        return facts;
    };
    if by_service.is_empty() {
        facts.empty.push(EmptyLegacyServices {
            span: key_span(services),
            binding: member_span(services),
            service: None,
        });
        return facts;
    }
    for service in by_service {
        let JsonValue::Object(instances) = &service.value.value else {
            facts.unmigratable.push(not_an_object(
                service,
                &["services", &service.key],
                Level::Service,
            ));
            continue;
        };
        if instances.is_empty() {
            facts.empty.push(EmptyLegacyServices {
                span: key_span(service),
                binding: member_span(service),
                service: Some(service.key.clone()),
            });
        }
        for instance in instances {
            facts.add_instance_binding(
                &service.key,
                &instance.key,
                InstanceBinding {
                    binding: member_span(instance),
                    label: key_span(instance),
                    base: 2,
                    prefix_len: 1,
                    mount_len: 0,
                },
                false,
            );
        }
    }
    facts
}

fn key_span(member: &JsonMember) -> Span {
    Span::new(member.key_start, member.key_end)
}

fn member_span(member: &JsonMember) -> Span {
    Span::new(member.key_start, member.value.end)
}

fn not_an_object(member: &JsonMember, path: &[&str], level: Level) -> UnmigratableForm {
    UnmigratableForm {
        span: key_span(member),
        path: nix_attr_path(path.iter().copied()),
        reason: UnmigratableReason::NotAnObject { level },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::json::parse;

    #[test]
    fn one_instance_per_service_instance_pair() {
        let text = r#"{"machines": {}, "services": {"sshd": {"a": {}, "b": {"roles": {}}}, "admin": {"x": {}}}}"#;
        let facts = detect(&parse(text).unwrap());
        let found: Vec<_> = facts
            .instances
            .iter()
            .map(|i| {
                (
                    i.service.as_str(),
                    i.instance.as_str(),
                    &text[i.bindings[0].label.start..i.bindings[0].label.end],
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                ("sshd", "a", "\"a\""),
                ("sshd", "b", "\"b\""),
                ("admin", "x", "\"x\"")
            ]
        );
    }

    #[test]
    fn empty_and_malformed_services() {
        let facts = detect(&parse(r#"{"services": {}}"#).unwrap());
        assert_eq!(facts.empty.len(), 1);
        let facts = detect(&parse(r#"{"services": []}"#).unwrap());
        assert_eq!(facts.unmigratable.len(), 1);
        let facts = detect(&parse(r#"{"instances": {"a": {}}}"#).unwrap());
        assert!(
            facts.instances.is_empty() && facts.empty.is_empty() && facts.unmigratable.is_empty()
        );
        let names: Vec<_> = facts
            .new_instances
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(
            names,
            vec!["a"],
            "existing instances are recorded for collision checks"
        );
    }
}
