//! How legacy instances are named in the new format.

/// The default new-format name of a legacy instance: `<service>-<instance>`.
pub fn default_instance_name(service: &str, instance: &str) -> String {
    // Built by hand: `format!` costs more than the concatenation, once per instance.
    let mut name = String::with_capacity(service.len() + 1 + instance.len());
    name.push_str(service);
    name.push('-');
    name.push_str(instance);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_instances_are_named_service_dash_instance() {
        assert_eq!(
            default_instance_name("borgbackup", "main"),
            "borgbackup-main"
        );
    }
}
