//! The checks of `clan.service` modules (CM201–CM206): every attribute set that
//! defines `_class = "clan.service"` is one, wherever it is written (a module
//! file, or inline where a clan registers it in `modules.<name>`); a module a
//! clan registers inline without `_class` is reported too.

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use super::{
    Finding, service_interface_config, service_legacy_leftover, service_missing_manifest_name,
    service_settings_not_serializable, service_unknown_result, service_without_class,
};
use crate::syntax::nix::{attrpath_keys, binding_value, static_keys, str_literal, strip_parens};
use crate::text::Span;

/// The word every file with a clan.service module holds (the prefilter looks for it).
pub const MARKER: &str = "clan.service";

/// One binding of a module, at its logical path from the module's top.
struct Binding {
    path: Vec<String>,
    /// The binding's attribute path (the part of the source that spells it).
    key_span: Span,
    /// `None` for an `inherit`.
    value: Option<ast::Expr>,
}

/// The findings of every clan.service module in the file, and of the
/// modules the file registers in a clan without `_class`.
pub fn check(root: &SyntaxNode, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    if text.contains("modules") {
        findings.extend(registered_without_class(root));
    }
    if text.contains(MARKER) {
        findings.extend(
            root.descendants()
                .filter_map(ast::AttrSet::cast)
                .filter_map(|set| service_class(&set).map(|class| (set, class)))
                .flat_map(|(set, class)| check_module(&set, class)),
        );
    }
    findings
}

/// Inline modules registered in a clan's `modules` (`clan.modules.<name>`,
/// or `modules.<name>` in a set that also defines the clan's `inventory`)
/// that set no `_class`. Modules given as paths or imports are not read.
fn registered_without_class(root: &SyntaxNode) -> Vec<Finding> {
    let mut findings = Vec::new();
    for set in root.descendants().filter_map(ast::AttrSet::cast) {
        let clan_set = set.attrpath_values().any(|b| {
            b.attrpath()
                .and_then(|p| attrpath_keys(&p).first().map(|k| k.key.is("inventory")))
                .unwrap_or(false)
        });
        for binding in set.attrpath_values() {
            let (Some(attrpath), Some(value)) = (binding.attrpath(), binding_value(&binding))
            else {
                continue;
            };
            let Some(keys) = static_keys(&attrpath) else {
                continue;
            };
            let Some(at) = keys.iter().position(|k| k == "modules") else {
                continue;
            };
            let in_clan = if at == 0 {
                clan_set
            } else {
                keys[at - 1] == "clan"
            };
            if !in_clan {
                continue;
            }
            let registered: Vec<(String, Span, ast::Expr)> = match &keys[at + 1..] {
                [name] => vec![(
                    name.clone(),
                    Span::from(attrpath.syntax().text_range()),
                    value,
                )],
                [] => match strip_parens(value) {
                    ast::Expr::AttrSet(modules) => modules
                        .attrpath_values()
                        .filter_map(|b| {
                            let path = b.attrpath()?;
                            let keys = attrpath_keys(&path);
                            let [key] = keys.as_slice() else { return None };
                            Some((
                                key.key.as_static()?.to_owned(),
                                Span::from(path.syntax().text_range()),
                                binding_value(&b)?,
                            ))
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            for (name, span, module) in registered {
                if let Some(body) = module_body(module)
                    && class_binding(&body).is_none()
                {
                    findings.push(service_without_class::finding(span, &name));
                }
            }
        }
    }
    findings
}

/// The span of `set`'s `_class = …` binding, with the class when it is a
/// string literal.
fn class_binding(set: &ast::AttrSet) -> Option<(Span, Option<String>)> {
    set.attrpath_values().find_map(|binding| {
        let keys = attrpath_keys(&binding.attrpath()?);
        let [key] = keys.as_slice() else { return None };
        if !key.key.is("_class") {
            return None;
        }
        let class = match binding_value(&binding).map(strip_parens) {
            Some(ast::Expr::Str(value)) => str_literal(&value),
            _ => None,
        };
        Some((Span::from(binding.syntax().text_range()), class))
    })
}

/// The span of `_class = "clan.service"` when `set` defines it.
fn service_class(set: &ast::AttrSet) -> Option<Span> {
    class_binding(set).and_then(|(span, class)| (class.as_deref() == Some(MARKER)).then_some(span))
}

fn check_module(set: &ast::AttrSet, class: Span) -> Vec<Finding> {
    let mut bindings = Vec::new();
    flatten(set, &[], &mut bindings);
    // `{ _class = …; config = { manifest.name = …; … }; }`: the module's
    // definitions are under `config`.
    for binding in &mut bindings {
        if binding.path.first().is_some_and(|k| k == "config") {
            binding.path.remove(0);
        }
    }
    let mut findings = Vec::new();
    let manifest_name = bindings
        .iter()
        .any(|b| b.path.starts_with(&strs(&["manifest", "name"])));
    // `manifest = import ./manifest.nix;` or the like: its name is not known here.
    let manifest_computed = bindings.iter().any(|b| {
        b.path == ["manifest"]
            && !matches!(
                b.value.clone().map(strip_parens),
                Some(ast::Expr::AttrSet(_))
            )
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
        if let (["roles", role, "interface"], Some(value)) = (path.as_slice(), &binding.value) {
            findings.extend(not_serializable(value.syntax(), role));
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
    // `inherit name;` and `inherit (x) name;` define `name` too.
    for inherit in set.inherits() {
        for attr in inherit.attrs() {
            if let Some(name) = crate::syntax::nix::attr_key(&attr).as_static() {
                let mut path = prefix.to_vec();
                path.push(name.to_owned());
                out.push(Binding {
                    path,
                    key_span: Span::from(attr.syntax().text_range()),
                    value: None,
                });
            }
        }
    }
    for binding in set.attrpath_values() {
        let (Some(attrpath), Some(value)) = (binding.attrpath(), binding_value(&binding)) else {
            continue;
        };
        let Some(keys) = static_keys(&attrpath) else {
            continue;
        };
        let mut path = prefix.to_vec();
        path.extend(keys);
        out.push(Binding {
            path: path.clone(),
            key_span: Span::from(attrpath.syntax().text_range()),
            value: Some(value.clone()),
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
    non_serializable_types(interface)
        .into_iter()
        .map(|(span, ty)| service_settings_not_serializable::finding(span, role, &ty))
        .collect()
}

/// The uses of option types whose values are not JSON (`types.package`,
/// `lib.types.functionTo`, …) in `node`.
pub fn non_serializable_types(node: &SyntaxNode) -> Vec<(Span, String)> {
    node.descendants()
        .filter_map(ast::Select::cast)
        .filter_map(|select| {
            let keys = attrpath_keys(&select.attrpath()?);
            let last = keys.last()?.key.as_static()?.to_owned();
            let receiver = select.expr()?.syntax().text().to_string();
            let is_types = receiver == "types"
                || receiver.ends_with(".types")
                || (keys.len() > 1 && keys[keys.len() - 2].key.is("types"));
            (is_types && service_settings_not_serializable::TYPES.contains(&last.as_str()))
                .then(|| (Span::from(select.syntax().text_range()), last))
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
          roles.a.perInstance = { instanceConfig, ... }: { nixosModule = { }; vars = instanceConfig; };
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
        // Without `_class`: in `clan.modules`, in the clan call's `modules`
        // set, as a module function.
        let without = r#"{
          clan.modules.a = { roles.default = { }; };
          x = clan-core.lib.clan { inventory = { }; modules = { b = { lib, ... }: { roles.default = { }; }; c = ./c.nix; }; };
          nixos = lib.nixosSystem { modules = [ { networking.hostName = "x"; } ]; };
          other.modules.d = { services.x.enable = true; };
        }"#;
        assert_eq!(codes(without), ["CM206", "CM206"]);
    }
}
