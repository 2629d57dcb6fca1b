//! Sets that define a clan of their own (see [`OwnClan`]).

use super::*;

/// Whether the set `green` binds `inventory` directly (`inventory = …;`,
/// `inventory.x = …;`): read from the green tree, before a set is looked at
/// more closely.
pub(super) fn binds_inventory(green: &GreenNodeData) -> bool {
    fn node<'g>(
        child: rowan::NodeOrToken<&'g GreenNodeData, &'g rowan::GreenTokenData>,
    ) -> Option<&'g GreenNodeData> {
        child.into_node()
    }
    green
        .children()
        .filter_map(node)
        .filter(|b| raw_kind(b) == SyntaxKind::NODE_ATTRPATH_VALUE)
        .any(|binding| {
            let first_key = binding
                .children()
                .filter_map(node)
                .find(|p| raw_kind(p) == SyntaxKind::NODE_ATTRPATH)
                .and_then(|path| path.children().filter_map(node).next());
            first_key.is_some_and(|key| {
                raw_kind(key) == SyntaxKind::NODE_IDENT
                    && key
                        .children()
                        .filter_map(|c| c.into_token())
                        .any(|t| t.text() == "inventory")
            })
        })
}

/// The clan of its own that `set` defines, if it defines one (see
/// [`OwnClan`]). `clan_dir` is `dirs.clan_dir`, normalized. The one look at
/// the file system detection makes: whether such a clan's directory adds
/// machines.
pub(super) fn own_clan(
    set: &ast::AttrSet,
    dirs: ClanDirs<'_>,
    clan_dir: &std::path::Path,
) -> Option<OwnClan> {
    let (mut directory, mut has_directory, mut has_self, mut has_inventory) =
        (None, false, false, false);
    for binding in set.attrpath_values() {
        let keys = binding
            .attrpath()
            .map(|a| attrpath_keys(&a))
            .unwrap_or_default();
        match keys.first() {
            Some(first) if first.key.is("inventory") => has_inventory = true,
            Some(first) if first.key.is("self") => has_self = true,
            Some(first) if first.key.is("directory") => {
                has_directory = true;
                if keys.len() == 1 {
                    directory = binding.value().as_ref().and_then(literal_relative_path);
                }
            }
            _ => {}
        }
    }
    has_self |= set.inherits().any(|i| {
        i.attrs()
            .any(|a| matches!(a, ast::Attr::Ident(id) if id.syntax().text() == "self"))
    });
    if !has_inventory {
        return None;
    }
    let directory = match directory {
        Some(literal) => {
            let directory = crate::io::discover::normalize(&dirs.file_dir.join(literal));
            if directory == clan_dir {
                return None;
            }
            Some(directory)
        }
        None if !has_directory && !has_self && is_clan_call_argument(set) => None,
        None => return None,
    };
    // Clan adds the machines of `<directory>/machines/` and the
    // inventory of `<directory>/inventory.json`: with either, the
    // literal machines and tags are not all of them.
    let machines = crate::inventory::MachineFacts {
        incomplete: directory
            .as_ref()
            .is_some_and(|d| d.join("machines").is_dir() || d.join("inventory.json").exists()),
        ..Default::default()
    };
    Some(OwnClan {
        range: Span::from(set.syntax().text_range()),
        directory,
        machines,
    })
}

/// Whether `set` is the argument of a call of a function whose name says
/// clan or inventory (`createTestClan { … }`, `clanLib.clan { … }`).
pub(super) fn is_clan_call_argument(set: &ast::AttrSet) -> bool {
    let mut node = set.syntax().clone();
    while let Some(parent) = node.parent().filter(|p| p.kind() == SyntaxKind::NODE_PAREN) {
        node = parent;
    }
    let Some(apply) = node.parent().and_then(ast::Apply::cast) else {
        return false;
    };
    if apply.argument().map(|a| a.syntax().clone()) != Some(node) {
        return false;
    }
    let name = match apply.lambda().map(strip_parens) {
        Some(ast::Expr::Ident(id)) => id.syntax().text().to_string(),
        Some(ast::Expr::Select(select)) => select
            .attrpath()
            .and_then(|a| a.attrs().last())
            .map(|a| a.syntax().text().to_string())
            .unwrap_or_default(),
        _ => return false,
    }
    .to_ascii_lowercase();
    name.contains("clan") || name.contains("inventory")
}
