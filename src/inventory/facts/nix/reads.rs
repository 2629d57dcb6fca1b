//! Reads of `….inventory.services…` in expressions.

use super::*;

/// Whether a green `NODE_SELECT` or `NODE_HAS_ATTR` may be a legacy read:
/// [`legacy_read`] finds one only where this says so. It reads the same keys
/// (the selection chain of the expression, then the attribute path) from the
/// green tree, a key that is not a plain name standing for any name, so that
/// the selections of module code (`pkgs.hello`, `lib.mkIf`,
/// `config.services.nginx.enable`) are ruled out without a cursor.
pub(super) fn may_be_legacy_read(green: &GreenNodeData) -> bool {
    let mut keys = AdjacentKeys::default();
    if let Some(expr) = nth_expr(green, 0) {
        keys.select_chain(expr);
    }
    if let Some(attrpath) = green_child(green, SyntaxKind::NODE_ATTRPATH) {
        keys.attrpath(attrpath);
    }
    keys.found
}

/// Keys pushed in order: whether one that may be `inventory` was followed
/// by one that may be `services`. `None` is a key that may be any name.
#[derive(Default)]
pub(super) struct AdjacentKeys {
    pub(super) after_inventory: bool,
    pub(super) found: bool,
}

impl AdjacentKeys {
    pub(super) fn push(&mut self, key: Option<&str>) {
        let (inventory, services) =
            key.map_or((true, true), |k| (k == "inventory", k == "services"));
        self.found |= self.after_inventory && services;
        self.after_inventory = inventory;
    }

    pub(super) fn attrpath(&mut self, attrpath: &GreenNodeData) {
        for attr in attrpath
            .children()
            .filter_map(rowan::NodeOrToken::into_node)
        {
            self.push(crate::syntax::nix::green_plain_name(attr));
        }
    }

    /// The keys [`select_chain`] reads.
    pub(super) fn select_chain(&mut self, mut expr: &GreenNodeData) {
        while raw_kind(expr) == SyntaxKind::NODE_PAREN {
            match nth_expr(expr, 0) {
                Some(inner) => expr = inner,
                None => return,
            }
        }
        match raw_kind(expr) {
            SyntaxKind::NODE_IDENT => self.push(crate::syntax::nix::green_plain_name(expr)),
            SyntaxKind::NODE_SELECT if nth_expr(expr, 1).is_none() => {
                if let Some(inner) = nth_expr(expr, 0) {
                    self.select_chain(inner);
                }
                if let Some(attrpath) = green_child(expr, SyntaxKind::NODE_ATTRPATH) {
                    self.attrpath(attrpath);
                }
            }
            _ => {}
        }
    }
}

pub(super) fn raw_kind(green: &GreenNodeData) -> SyntaxKind {
    rnix::NixLanguage::kind_from_raw(green.kind())
}

/// The `n`th child of `green` that is an expression, as rnix's typed accessors count.
pub(super) fn nth_expr(green: &GreenNodeData, n: usize) -> Option<&GreenNodeData> {
    green
        .children()
        .filter_map(rowan::NodeOrToken::into_node)
        .filter(|child| ast::Expr::can_cast(raw_kind(child)))
        .nth(n)
}

pub(super) fn green_child(green: &GreenNodeData, kind: SyntaxKind) -> Option<&GreenNodeData> {
    green
        .children()
        .filter_map(rowan::NodeOrToken::into_node)
        .find(|child| raw_kind(child) == kind)
}

/// `x.inventory.services…` or `inventory.services…` read in an expression (the
/// outermost selection of a chain only).
pub(super) fn legacy_read(node: &SyntaxNode) -> Option<LegacyRead> {
    if let Some(parent) = node.parent()
        && let Some(select) = ast::Select::cast(parent)
        && select.expr().is_some_and(|e| e.syntax() == node)
    {
        return None;
    }
    let (expr, attrpath) = match ast::Expr::cast(node.clone())? {
        ast::Expr::Select(s) => (s.expr(), s.attrpath()?),
        ast::Expr::HasAttr(h) => (h.expr(), h.attrpath()?),
        _ => return None,
    };
    let mut keys = expr.map(|e| select_chain(&e)).unwrap_or_default();
    keys.extend(attrpath_keys(&attrpath).into_iter().map(|k| k.key));
    let found = keys
        .windows(2)
        .any(|w| w[0].is("inventory") && w[1].is("services"));
    found.then(|| LegacyRead {
        span: Span::from(node.text_range()),
    })
}

/// The keys of `a.b.c` (an identifier followed by selections without `or`).
pub(super) fn select_chain(expr: &ast::Expr) -> Vec<Key> {
    match strip_parens(expr.clone()) {
        ast::Expr::Ident(ident) => vec![Key::Static(crate::syntax::nix::ident_text(&ident).into())],
        ast::Expr::Select(select) if select.default_expr().is_none() => {
            let mut keys = select.expr().map(|e| select_chain(&e)).unwrap_or_default();
            if let Some(path) = select.attrpath() {
                keys.extend(attrpath_keys(&path).into_iter().map(|k| k.key));
            }
            keys
        }
        _ => Vec::new(),
    }
}
