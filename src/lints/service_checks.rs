//! The checks of `clan.service` modules (CM201–CM205): every attribute set that
//! defines `_class = "clan.service"` is one, wherever it is written (a module
//! file, or inline where a clan registers it in `modules.<name>`).

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use super::{
    Finding, service_interface_config, service_legacy_leftover, service_missing_manifest_name,
    service_settings_not_serializable, service_unknown_result,
};
use crate::syntax::nix::{attrpath_keys, binding_value, str_literal, strip_parens};
use crate::text::Span;

/// The word every file with a clan.service module holds (the prefilter looks for it).
pub const MARKER: &str = "clan.service";

/// One binding of a module, at its logical path from the module's top.
struct Binding {
    path: Vec<String>,
    /// The binding's attribute path (the part of the source that spells it).
    key_span: Span,
    value: ast::Expr,
}

/// The findings of every clan.service module in the file.
pub fn check(root: &SyntaxNode, text: &str) -> Vec<Finding> {
    if !text.contains(MARKER) {
        return Vec::new();
    }
    root.descendants()
        .filter_map(ast::AttrSet::cast)
        .filter_map(|set| class_binding(&set).map(|class| (set, class)))
        .flat_map(|(set, class)| check_module(&set, class))
        .collect()
}

/// The span of `_class = "clan.service"` when `set` defines it.
fn class_binding(set: &ast::AttrSet) -> Option<Span> {
    set.attrpath_values().find_map(|binding| {
        let keys = attrpath_keys(&binding.attrpath()?);
        let [key] = keys.as_slice() else { return None };
        if !key.key.is("_class") {
            return None;
        }
        let ast::Expr::Str(value) = strip_parens(binding_value(&binding)?) else {
            return None;
        };
        (str_literal(&value).as_deref() == Some(MARKER))
            .then(|| Span::from(binding.syntax().text_range()))
    })
}

fn check_module(set: &ast::AttrSet, class: Span) -> Vec<Finding> {
    let mut bindings = Vec::new();
    flatten(set, &[], &mut bindings);
    let mut findings = Vec::new();
    let manifest_name = bindings
        .iter()
        .any(|b| b.path.starts_with(&strs(&["manifest", "name"])));
    // `manifest = import ./manifest.nix;` or the like: its name is not known here.
    let manifest_computed = bindings.iter().any(|b| {
        b.path == ["manifest"] && !matches!(strip_parens(b.value.clone()), ast::Expr::AttrSet(_))
    });
    if !manifest_name && !manifest_computed {
        findings.push(service_missing_manifest_name::finding(class));
    }
    let mut results_seen: Vec<(String, String)> = Vec::new();
    for binding in &bindings {
        let path: Vec<&str> = binding.path.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["roles", role, "interface", "config", ..] => {
                findings.push(service_interface_config::finding(binding.key_span, role));
            }
            ["roles", role, "perInstance", key, ..] => {
                let scope = format!("roles.{role}.perInstance");
                unknown_result(&mut findings, &mut results_seen, binding, scope, key);
            }
            ["perMachine", key, ..] => {
                let scope = "perMachine".to_owned();
                unknown_result(&mut findings, &mut results_seen, binding, scope, key);
            }
            _ => {}
        }
        if let ["roles", role, "interface", ..] = path.as_slice()
            && path.len() == 3
        {
            findings.extend(not_serializable(binding.value.syntax(), role));
        }
    }
    // The first use stands for the others (a parameter and its reads).
    findings.extend(
        set.syntax()
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
            .find(|t| t.kind() == SyntaxKind::TOKEN_IDENT && t.text() == "instanceConfig")
            .map(|t| service_legacy_leftover::finding(Span::from(t.text_range()))),
    );
    findings
}

/// CM202 for the first binding of result `key` of `scope` that is not one a
/// clan.service reads.
fn unknown_result(
    findings: &mut Vec<Finding>,
    seen: &mut Vec<(String, String)>,
    binding: &Binding,
    scope: String,
    key: &str,
) {
    let result = (scope, key.to_owned());
    if service_unknown_result::RESULTS.contains(&key) || seen.contains(&result) {
        return;
    }
    findings.push(service_unknown_result::finding(
        binding.key_span,
        &result.0,
        key,
    ));
    seen.push(result);
}

fn strs(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// The bindings of `set` at their logical paths (below `prefix`), through
/// nested sets, and through the bodies of module functions
/// (`interface = { lib, ... }: { … }`, `perInstance = { settings, ... }: { … }`).
fn flatten(set: &ast::AttrSet, prefix: &[String], out: &mut Vec<Binding>) {
    for binding in set.attrpath_values() {
        let (Some(attrpath), Some(value)) = (binding.attrpath(), binding_value(&binding)) else {
            continue;
        };
        let mut path = prefix.to_vec();
        let mut dynamic = false;
        for key in attrpath_keys(&attrpath) {
            match key.key.as_static() {
                Some(name) => path.push(name.to_owned()),
                None => dynamic = true,
            }
        }
        if dynamic {
            continue;
        }
        out.push(Binding {
            path: path.clone(),
            key_span: Span::from(attrpath.syntax().text_range()),
            value: value.clone(),
        });
        if let Some(inner) = module_body(value) {
            flatten(&inner, &path, out);
        }
    }
}

/// The attribute set a value defines: the set itself, or the body of a
/// function (of functions) returning one, through `let … in` and parentheses.
fn module_body(value: ast::Expr) -> Option<ast::AttrSet> {
    let mut value = strip_parens(value);
    loop {
        value = match value {
            ast::Expr::AttrSet(set) => return Some(set),
            ast::Expr::Lambda(lambda) => strip_parens(lambda.body()?),
            ast::Expr::LetIn(let_in) => strip_parens(let_in.body()?),
            _ => return None,
        };
    }
}

/// Option types that no JSON value can give, in an interface.
fn not_serializable(interface: &SyntaxNode, role: &str) -> Vec<Finding> {
    interface
        .descendants()
        .filter_map(ast::Select::cast)
        .filter_map(|select| {
            let keys = attrpath_keys(&select.attrpath()?);
            let last = keys.last()?.key.as_static()?.to_owned();
            let receiver = select.expr()?.syntax().text().to_string();
            let is_types = receiver == "types"
                || receiver.ends_with(".types")
                || (keys.len() > 1 && keys[keys.len() - 2].key.is("types"));
            (is_types && service_settings_not_serializable::TYPES.contains(&last.as_str())).then(
                || {
                    service_settings_not_serializable::finding(
                        Span::from(select.syntax().text_range()),
                        role,
                        &last,
                    )
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        let root = rnix::Root::parse(text).syntax();
        let mut codes: Vec<&str> = check(&root, text).iter().map(|f| f.rule.code).collect();
        codes.sort_unstable();
        codes
    }

    #[test]
    fn each_mistake_is_reported_once() {
        let module = r#"{ _class = "clan.service";
          roles.a.interface.config.x = 1;
          roles.a.perInstance = { instanceConfig, ... }: { nixosModule = { }; config = instanceConfig; };
          perMachine = { ... }: let x = 1; in { services = { }; services.b = x; };
          roles.b.interface = { lib, ... }: { options.f = lib.mkOption { type = types.functionTo types.str; }; };
        }"#;
        assert_eq!(
            codes(module),
            ["CM201", "CM202", "CM202", "CM203", "CM204", "CM205"]
        );
    }

    #[test]
    fn modules_as_clan_core_writes_them_are_clean() {
        // A computed manifest, results through `let`, NixOS `config` inside
        // `nixosModule`, a `package` option of the NixOS module (not of the
        // interface), dynamic keys.
        let module = r#"{ lib, ... }: {
          _class = "clan.service";
          manifest = import ./manifest.nix;
          roles.peer.interface.options.port = lib.mkOption { type = lib.types.port; };
          roles.peer.perInstance = { settings, ... }: let p = settings.port; in {
            nixosModule = { config, ... }: { config.services.x.port = p; options.y = lib.mkOption { type = lib.types.package; }; };
            exports.${"x"} = { };
          };
          perMachine = { ... }: { darwinModule = { }; };
        }"#;
        assert_eq!(codes(module), Vec::<&str>::new());
        // Without the class it is not a clan.service module.
        assert_eq!(
            codes(&module.replace("clan.service", "nixos")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn inline_modules_where_a_clan_registers_them_are_checked() {
        let flake = r#"{ clan = { modules.hello = { _class = "clan.service"; manifest.name = "hello"; perMachine = _: { vars = { }; }; }; }; }"#;
        assert_eq!(codes(flake), ["CM202"]);
    }
}
