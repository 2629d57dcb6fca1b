//! Where a clan registers a legacy module (`inventory.modules.<name> =
//! ./dir;`), and the edit that registers the generated clan.service module
//! beside it, in the clan's own `modules`.

use std::path::{Path, PathBuf};

use rnix::ast;
use rowan::ast::AstNode;

use crate::syntax::nix::{binding_value, enclosing_binding, literal_relative_path, static_keys};
use crate::text::edit::TextEdit;
use crate::text::{FileKind, SourceFile};

/// A registration of the legacy module's directory.
#[derive(Debug, Clone)]
pub struct Registration {
    pub source: SourceFile,
    /// The name the clan gives the module (its `clan.<name>` namespace).
    pub service: String,
    /// 1-based line of the registration.
    pub line: usize,
    /// The edit that registers the clan.service module; `None` when the clan
    /// registers it already, or when there is no place to (the `Why`).
    pub edit: Result<Option<TextEdit>, String>,
}

/// The registrations of `dir` in the `.nix` files below `root`.
pub fn find(root: &Path, dir: &Path, file_name: &str) -> Vec<Registration> {
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let walk = ignore::WalkBuilder::new(root).hidden(true).build();
    for entry in walk.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "nix") || !path.is_file() {
            continue;
        }
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok(source) = SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::Nix) else {
            continue;
        };
        if !source.text.contains("modules") {
            continue;
        }
        let parsed = rnix::Root::parse(&source.text);
        if !parsed.errors().is_empty() {
            continue;
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let root_node = parsed.syntax();
        for binding in root_node.descendants().filter_map(ast::AttrpathValue::cast) {
            let Some(value) = binding_value(&binding) else {
                continue;
            };
            let Some(relative) = literal_relative_path(&value) else {
                continue;
            };
            if base.join(&relative).canonicalize().ok().as_deref() != Some(dir.as_path()) {
                continue;
            }
            let Some(chain) = chain_of(&binding) else {
                continue;
            };
            let keys: Vec<String> = chain.iter().flat_map(|(_, k)| k.clone()).collect();
            let [.., inventory, modules, service] = keys.as_slice() else {
                continue;
            };
            if inventory != "inventory" || modules != "modules" {
                continue;
            }
            let line = source
                .position(usize::from(binding.syntax().text_range().start()))
                .line;
            let edit = registration_edit(&source, &root_node, &chain, service, &value, file_name);
            found.push(Registration {
                source: source.clone(),
                service: service.clone(),
                line,
                edit,
            });
        }
    }
    found
}

/// The bindings from the outermost to `binding`, with their static keys.
fn chain_of(binding: &ast::AttrpathValue) -> Option<Vec<(ast::AttrpathValue, Vec<String>)>> {
    let mut chain = Vec::new();
    let mut current = Some(binding.clone());
    while let Some(b) = current {
        let keys = static_keys(&b.attrpath()?)?;
        current = enclosing_binding(b.syntax());
        chain.push((b, keys));
    }
    chain.reverse();
    Some(chain)
}

fn registration_edit(
    source: &SourceFile,
    root: &rnix::SyntaxNode,
    chain: &[(ast::AttrpathValue, Vec<String>)],
    service: &str,
    value: &ast::Expr,
    file_name: &str,
) -> Result<Option<TextEdit>, String> {
    // The binding that spells `inventory`: the new one goes beside it.
    let Some((at, (binding, keys))) = chain
        .iter()
        .enumerate()
        .rev()
        .find(|(_, (_, keys))| keys.iter().any(|k| k == "inventory"))
    else {
        return Err("the registration is not inside a clan's `inventory`".to_owned());
    };
    let prefix: Vec<String> = chain[..at].iter().flat_map(|(_, k)| k.clone()).collect();
    let own: Vec<String> = keys
        .iter()
        .take_while(|k| *k != "inventory")
        .cloned()
        .collect();
    let mut wanted = prefix.clone();
    wanted.extend(own.iter().cloned());
    wanted.extend(["modules".to_owned(), service.to_owned()]);
    let registered = root
        .descendants()
        .filter_map(ast::AttrpathValue::cast)
        .any(|b| {
            chain_of(&b).is_some_and(|c| {
                c.iter().flat_map(|(_, k)| k.clone()).collect::<Vec<_>>() == wanted
            })
        });
    if registered {
        return Ok(None);
    }
    let path = value.syntax().text().to_string();
    let new_path = format!("{}/{file_name}", path.trim_end_matches('/'));
    let mut new_keys = own;
    new_keys.extend([
        "modules".to_owned(),
        crate::syntax::quote::nix_attr(service),
    ]);
    // After the clan's other `modules.<name>` registrations, if any; else
    // after the binding with `inventory`.
    let mut modules_prefix = new_keys[..new_keys.len() - 1].to_vec();
    modules_prefix[new_keys.len() - 2] = "modules".to_owned();
    let after = binding
        .syntax()
        .parent()
        .and_then(ast::AttrSet::cast)
        .and_then(|set| {
            rnix::ast::HasEntry::attrpath_values(&set)
                .filter(|b| {
                    b.attrpath()
                        .and_then(|p| static_keys(&p))
                        .is_some_and(|k| k.starts_with(&modules_prefix) || k == modules_prefix)
                })
                .last()
        })
        .unwrap_or_else(|| binding.clone());
    let binding = &after;
    let end = usize::from(binding.syntax().text_range().end());
    let start = usize::from(binding.syntax().text_range().start());
    let line_start = source.text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = source.text[line_start..start]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    if source.text[line_start..start].trim().is_empty() {
        Ok(Some(TextEdit::insert(
            end,
            format!("\n{indent}{} = {new_path};", new_keys.join(".")),
        )))
    } else {
        Ok(Some(TextEdit::insert(
            end,
            format!(" {} = {new_path};", new_keys.join(".")),
        )))
    }
}

/// The nearest directory at or above `start` with a `flake.nix`.
pub fn flake_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("flake.nix").is_file())
        .map(Path::to_path_buf)
}
