//! What a flake's `flake.nix` tells about the clan: its directory (the clan
//! directory that legacy `extraModules` strings are relative to) and the name
//! of its clan-core input.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rnix::ast::{self, HasEntry};

use crate::syntax::nix::{Key, attrpath_keys, str_literal, strip_parens};

/// The name of the input whose URL points at clan-core, when exactly one does.
pub fn clan_core_input(flake_nix: &str) -> Option<String> {
    let flake_nix = flake_nix
        .strip_prefix(crate::text::source::BOM)
        .unwrap_or(flake_nix);
    let parse = rnix::Root::parse(flake_nix);
    if !parse.errors().is_empty() {
        return None;
    }
    let ast::Expr::AttrSet(top) = strip_parens(parse.tree().expr()?) else {
        return None;
    };
    let mut found: Vec<String> = Vec::new();
    collect_inputs(&top, &mut Vec::new(), &mut found);
    found.sort();
    found.dedup();
    match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

fn collect_inputs(set: &ast::AttrSet, prefix: &mut Vec<String>, found: &mut Vec<String>) {
    for binding in set.attrpath_values() {
        let Some(path) = binding.attrpath() else {
            continue;
        };
        let keys: Option<Vec<String>> = attrpath_keys(&path)
            .into_iter()
            .map(|k| match k.key {
                Key::Static(s) => Some(s.into_string()),
                Key::Dynamic => None,
            })
            .collect();
        let Some(keys) = keys else { continue };
        let depth = prefix.len();
        prefix.extend(keys);
        match binding.value().map(strip_parens) {
            Some(ast::Expr::AttrSet(inner)) if prefix.len() < 3 => {
                collect_inputs(&inner, prefix, found)
            }
            Some(ast::Expr::Str(url)) => {
                if let [inputs, name, field] = prefix.as_slice()
                    && inputs == "inputs"
                    && field == "url"
                    && str_literal(&url).is_some_and(|u| u.contains("clan-core"))
                {
                    found.push(name.clone());
                }
            }
            _ => {}
        }
        prefix.truncate(depth);
    }
}

/// Whether a `flake.nix` belongs to a clan: it names clan-core (an input, the
/// `clan.lol` forge), a clan evaluation (`buildClan`, `clanLib`) or an
/// `inventory`. A flake that names none of them (a tool's own packaging, a
/// monorepo's top) is not the clan of the files below it.
pub fn is_clan_flake(flake_nix: &str) -> bool {
    ["clan-core", "clan.lol", "buildClan", "clanLib", "inventory"]
        .iter()
        .any(|word| flake_nix.contains(word))
}

/// The directory of the nearest `flake.nix` at or above `dir` that belongs to
/// a clan ([`is_clan_flake`]), with the clan-core input name read from it;
/// cached per directory. The search stops at a repository root (a directory
/// holding `.git`): what lies above a user's repository is not part of their
/// flake.
#[derive(Debug, Default)]
pub struct FlakeLookup {
    cache: HashMap<PathBuf, Option<(PathBuf, Option<String>)>>,
}

impl FlakeLookup {
    pub fn nearest(&mut self, dir: &Path) -> Option<(PathBuf, Option<String>)> {
        crate::io::discover::nearest_ancestor(&mut self.cache, dir, &|dir| {
            let text = std::fs::read_to_string(dir.join("flake.nix")).ok()?;
            is_clan_flake(&text).then(|| (dir.to_path_buf(), clan_core_input(&text)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_clan_core_input_in_every_spelling() {
        for src in [
            r#"{ inputs.clan-core.url = "git+https://git.clan.lol/clan/clan-core"; outputs = _: { }; }"#,
            r#"{ inputs = { nixpkgs.url = "x"; clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz"; }; }"#,
            r#"{ inputs.clan-core = { url = "github:clan-lol/clan-core"; inputs.nixpkgs.follows = "nixpkgs"; }; }"#,
        ] {
            assert_eq!(clan_core_input(src).as_deref(), Some("clan-core"), "{src}");
        }
        assert_eq!(
            clan_core_input(r#"{ inputs.clan.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz"; }"#).as_deref(),
            Some("clan")
        );
        assert_eq!(
            clan_core_input(r#"{ inputs.nixpkgs.url = "github:nixos/nixpkgs"; }"#),
            None
        );
        assert_eq!(clan_core_input("{ broken = ; }"), None);
        assert!(is_clan_flake(
            r#"{ inputs.clan.url = "https://git.clan.lol/clan/clan-core"; }"#
        ));
        assert!(is_clan_flake(
            "{ outputs = i: i.clan-core.lib.clan { inventory = { }; }; }"
        ));
        assert!(!is_clan_flake(
            r#"{ inputs.nixpkgs.url = "github:nixos/nixpkgs"; outputs = _: { }; }"#
        ));
        assert_eq!(
            clan_core_input("\u{feff}{ inputs.clan-core.url = \"github:clan-lol/clan-core\"; }")
                .as_deref(),
            Some("clan-core"),
            "a byte-order mark is not part of the expression"
        );
    }
}
