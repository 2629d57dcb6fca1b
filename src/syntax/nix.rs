//! Helpers over the rnix CST: the logical key of an attribute (`foo`, `"foo"`,
//! `${"foo"}` are the same key), parentheses, literal relative paths.

use compact_str::CompactString;
use rnix::ast::{self, HasEntry, InterpolPart};
use rnix::{SyntaxKind, SyntaxNode, TextRange};
use rowan::GreenNodeData;
use rowan::ast::AstNode;

/// One segment of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A name known without evaluation (names up to 24 bytes, nearly all of
    /// them, are kept inline instead of allocated).
    Static(CompactString),
    /// `${expr}` or an interpolated string whose value needs evaluation.
    Dynamic,
}

impl Key {
    pub fn as_static(&self) -> Option<&str> {
        match self {
            Key::Static(s) => Some(s),
            Key::Dynamic => None,
        }
    }

    pub fn is(&self, name: &str) -> bool {
        self.as_static() == Some(name)
    }
}

/// A key with the source range of the attribute that spells it.
#[derive(Debug, Clone)]
pub struct KeySeg {
    pub key: Key,
    pub range: TextRange,
}

/// The logical key of an attribute.
pub fn attr_key(attr: &ast::Attr) -> Key {
    match attr {
        ast::Attr::Ident(ident) => Key::Static(ident_text(ident).into()),
        ast::Attr::Str(s) => str_literal(s).map_or(Key::Dynamic, |s| Key::Static(s.into())),
        ast::Attr::Dynamic(d) => match d.expr().map(strip_parens) {
            Some(ast::Expr::Str(s)) => {
                str_literal(&s).map_or(Key::Dynamic, |s| Key::Static(s.into()))
            }
            _ => Key::Dynamic,
        },
    }
}

/// The value of a binding, as rnix's `AttrpathValue::value` gives it: in a
/// tree without errors the binding's nodes are its path and its value, so the
/// value is its last node (rnix's accessor builds a node for every child).
/// Files with parse errors are not analysed (see `analysis`), so every tree
/// this reads is one without errors.
pub fn binding_value(binding: &ast::AttrpathValue) -> Option<ast::Expr> {
    binding.syntax().last_child().and_then(ast::Expr::cast)
}

/// The names of an attribute path, when none needs evaluation.
pub fn static_keys(path: &ast::Attrpath) -> Option<Vec<String>> {
    attrpath_keys(path)
        .iter()
        .map(|k| k.key.as_static().map(str::to_owned))
        .collect()
}

/// The segments of an attribute path, in order.
pub fn attrpath_keys(path: &ast::Attrpath) -> Vec<KeySeg> {
    plain_attrpath_keys(path).unwrap_or_else(|| attrpath_keys_by_attrs(path))
}

/// [`attrpath_keys`] of a path of identifiers and plain strings, read from the
/// green tree (the typed API allocates a node per attribute and per token).
fn plain_attrpath_keys(path: &ast::Attrpath) -> Option<Vec<KeySeg>> {
    let mut offset = path.syntax().text_range().start();
    let green = path.syntax().green();
    // Attributes alternate with dots: one allocation for the whole path.
    let mut keys = Vec::with_capacity(green.children().len().div_ceil(2));
    for child in green.children() {
        if let rowan::NodeOrToken::Node(attr) = child {
            keys.push(KeySeg {
                key: Key::Static(green_plain_name(attr)?.into()),
                range: TextRange::at(offset, child.text_len()),
            });
        }
        offset += child.text_len();
    }
    Some(keys)
}

fn attrpath_keys_by_attrs(path: &ast::Attrpath) -> Vec<KeySeg> {
    path.attrs()
        .map(|attr| KeySeg {
            key: attr_key(&attr),
            range: attr.syntax().text_range(),
        })
        .collect()
}

/// The value of a string without interpolation of non-literal expressions.
/// `"a${"b"}"` is `ab`; `"a${x}"` is not literal.
pub fn str_literal(s: &ast::Str) -> Option<String> {
    plain_str_content(s).or_else(|| str_literal_by_parts(s))
}

/// The content of a `"…"` string that Nix reads exactly as written (see
/// [`green_plain_string`]; rnix's `normalized_parts` allocates for every string).
fn plain_str_content(s: &ast::Str) -> Option<String> {
    green_plain_string(s.syntax().green()).map(str::to_owned)
}

fn raw(kind: SyntaxKind) -> rowan::SyntaxKind {
    rowan::SyntaxKind(kind as u16)
}

/// The name an attribute spells, read from its green node, when it is an
/// identifier or a plain string; `None` for anything else.
pub fn green_plain_name(attr: &GreenNodeData) -> Option<&str> {
    if attr.kind() == raw(SyntaxKind::NODE_IDENT) {
        attr.children()
            .filter_map(rowan::NodeOrToken::into_token)
            .find(|t| t.kind() == raw(SyntaxKind::TOKEN_IDENT))
            .map(|t| t.text())
    } else {
        green_plain_string(attr)
    }
}

/// The content of a green `"…"` string node that Nix reads exactly as written:
/// no interpolation, escape, `$` or carriage return.
pub fn green_plain_string(s: &GreenNodeData) -> Option<&str> {
    if s.kind() != raw(SyntaxKind::NODE_STRING) {
        return None;
    }
    let mut children = s.children().map(rowan::NodeOrToken::into_token);
    let start = children.next()??;
    if start.kind() != raw(SyntaxKind::TOKEN_STRING_START) || start.text() != "\"" {
        return None;
    }
    let mut next = children.next()??;
    let mut content = "";
    if next.kind() == raw(SyntaxKind::TOKEN_STRING_CONTENT) {
        content = next.text();
        next = children.next()??;
    }
    let plain = !content.contains(['\\', '$', '\r']);
    let closed = next.kind() == raw(SyntaxKind::TOKEN_STRING_END) && children.next().is_none();
    (plain && closed).then_some(content)
}

fn str_literal_by_parts(s: &ast::Str) -> Option<String> {
    let mut out = String::new();
    for part in s.normalized_parts() {
        match part {
            InterpolPart::Literal(text) => out.push_str(&text),
            InterpolPart::Interpolation(interpol) => match interpol.expr().map(strip_parens) {
                Some(ast::Expr::Str(inner)) => out.push_str(&str_literal(&inner)?),
                _ => return None,
            },
        }
    }
    Some(out)
}

/// The expression inside any number of parentheses.
pub fn strip_parens(mut expr: ast::Expr) -> ast::Expr {
    while let ast::Expr::Paren(paren) = &expr {
        match paren.expr() {
            Some(inner) => expr = inner,
            None => break,
        }
    }
    expr
}

/// The range of `node`'s first direct child token of `kind`, as rnix's token
/// accessors (`rec_token`, `l_brack_token`, …) find it, read from the green tree
/// (the accessors build a cursor for every child before the token).
pub fn child_token_range(node: &SyntaxNode, kind: SyntaxKind) -> Option<TextRange> {
    let mut offset = node.text_range().start();
    for child in node.green().children() {
        if let rowan::NodeOrToken::Token(token) = child
            && token.kind() == raw(kind)
        {
            return Some(TextRange::at(offset, child.text_len()));
        }
        offset += child.text_len();
    }
    None
}

/// Whether an attribute set is `rec { … }`.
pub fn is_rec(set: &ast::AttrSet) -> bool {
    child_token_range(set.syntax(), SyntaxKind::TOKEN_REC).is_some()
}

/// The text of a relative path literal without interpolation (`./x.nix`, `../a/b`).
pub fn literal_relative_path(expr: &ast::Expr) -> Option<String> {
    match strip_parens(expr.clone()) {
        ast::Expr::PathRel(p) => {
            let node = p.syntax();
            let literal = node
                .children_with_tokens()
                .all(|c| c.kind() == SyntaxKind::TOKEN_PATH_REL);
            literal.then(|| node.text().to_string())
        }
        _ => None,
    }
}

/// `import ./x.nix` (or `import (./x.nix)`): the path text.
pub fn import_of_literal_path(expr: &ast::Expr) -> Option<String> {
    let ast::Expr::Apply(apply) = strip_parens(expr.clone()) else {
        return None;
    };
    match apply.lambda().map(strip_parens)? {
        ast::Expr::Ident(ident) if ident.syntax().text() == "import" => {}
        // `import ./x.nix { … }`: the file is a function, its body the value.
        ast::Expr::Apply(inner) => return import_of_literal_path(&ast::Expr::Apply(inner)),
        _ => return None,
    }
    literal_relative_path(&apply.argument()?)
}

/// Whether the set holding `binding` looks like the arguments of a clan: it
/// is passed to `buildClan`, `lib.clan`, … or has a clan's other attributes
/// (`meta`, `machines`, `directory`, `self`, `specialArgs`), or the binding's
/// own path is that of flake-parts (`clan.…`, `flake.clan.…`).
pub fn in_clan_like_set(binding: &ast::AttrpathValue) -> bool {
    let own = binding
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    if own
        .first()
        .is_some_and(|k| k.key.is("clan") || k.key.is("flake"))
    {
        return true;
    }
    let Some(set) = binding.syntax().parent().and_then(ast::AttrSet::cast) else {
        return false;
    };
    const SIBLINGS: [&str; 5] = ["meta", "machines", "directory", "self", "specialArgs"];
    let has_sibling = set.entries().any(|entry| match entry {
        ast::Entry::AttrpathValue(b) => b
            .attrpath()
            .and_then(|p| attrpath_keys(&p).into_iter().next())
            .is_some_and(|k| SIBLINGS.iter().any(|s| k.key.is(s))),
        ast::Entry::Inherit(inherit) => inherit
            .attrs()
            .any(|a| SIBLINGS.iter().any(|s| attr_key(&a).is(s))),
    });
    if has_sibling {
        return true;
    }
    let call = value_owner(set.syntax(), true)
        .and_then(ast::Apply::cast)
        .and_then(|apply| apply.lambda())
        .and_then(|f| function_name(&f));
    call.is_some_and(|name| {
        matches!(
            name.as_str(),
            "buildClan" | "clan" | "buildInventory" | "createTestClan"
        )
    })
}

/// The `AttrpathValue` whose range is exactly `span` (found from the covering
/// element, without walking the whole tree).
pub fn binding_at(root: &SyntaxNode, span: crate::text::Span) -> Option<ast::AttrpathValue> {
    let range = rnix::TextRange::new(
        u32::try_from(span.start).ok()?.into(),
        u32::try_from(span.end).ok()?.into(),
    );
    if !root.text_range().contains_range(range) {
        return None;
    }
    let start = match root.covering_element(range) {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => t.parent()?,
    };
    start
        .ancestors()
        .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE && n.text_range() == range)
        .find_map(ast::AttrpathValue::cast)
}

/// A function call the module system sees through: `lib.mkMerge [ … ]` (each
/// element a definition of its own), `lib.mkIf cond x`, and the priorities
/// `lib.mkDefault x`, `lib.mkForce x`, `lib.mkOverride n x`, `lib.mkBefore x`,
/// `lib.mkAfter x`, `lib.mkOrder n x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    Merge,
    If,
    Priority,
}

/// The last name of a function: `mkIf` for `lib.mkIf`, `lib.modules.mkIf` or `mkIf`.
fn function_name(expr: &ast::Expr) -> Option<String> {
    match strip_parens(expr.clone()) {
        ast::Expr::Ident(ident) => Some(ident_text(&ident)),
        ast::Expr::Select(select) if select.default_expr().is_none() => {
            let keys = attrpath_keys(&select.attrpath()?);
            keys.last()?.key.as_static().map(str::to_owned)
        }
        _ => None,
    }
}

/// The wrapper a call is, and the expression it wraps (for `mkMerge`, the list).
pub fn wrapper_call(apply: &ast::Apply) -> Option<(Wrapper, ast::Expr)> {
    let argument = apply.argument()?;
    let function = apply.lambda()?;
    let one = |name: &str| match name {
        "mkMerge" => Some(Wrapper::Merge),
        "mkDefault" | "mkForce" | "mkBefore" | "mkAfter" | "mkOptionDefault" => {
            Some(Wrapper::Priority)
        }
        _ => None,
    };
    if let Some(wrapper) = function_name(&function).as_deref().and_then(one) {
        return Some((wrapper, argument));
    }
    let ast::Expr::Apply(inner) = strip_parens(function) else {
        return None;
    };
    let wrapper = match function_name(&inner.lambda()?)?.as_str() {
        "mkIf" => Wrapper::If,
        "mkOverride" | "mkOrder" => Wrapper::Priority,
        _ => return None,
    };
    Some((wrapper, argument))
}

/// The expressions a value is made of, seen through what Nix and the module
/// system pass a value through: parentheses, `let … in`, a module function's
/// body, `with …;`, `assert …;`, and [`wrapper_call`]s (each element of a
/// `mkMerge` list). Each comes with the innermost wrapper it is in.
pub fn terminals(expr: &ast::Expr) -> Vec<(ast::Expr, Option<Wrapper>)> {
    let mut out = Vec::new();
    let mut pending = vec![(expr.clone(), None)];
    while let Some((expr, wrapped)) = pending.pop() {
        match strip_parens(expr) {
            ast::Expr::LetIn(let_in) => {
                if let Some(body) = let_in.body() {
                    pending.push((body, wrapped));
                }
            }
            ast::Expr::Lambda(lambda) => {
                if let Some(body) = lambda.body() {
                    pending.push((body, wrapped));
                }
            }
            ast::Expr::With(with) => {
                if let Some(body) = with.body() {
                    pending.push((body, wrapped));
                }
            }
            ast::Expr::Assert(assert) => {
                if let Some(body) = assert.body() {
                    pending.push((body, wrapped));
                }
            }
            ast::Expr::Apply(apply) => match wrapper_call(&apply) {
                Some((Wrapper::Merge, list)) => match strip_parens(list) {
                    ast::Expr::List(list) => {
                        let items: Vec<ast::Expr> = list.items().collect();
                        for item in items.into_iter().rev() {
                            pending.push((item, Some(Wrapper::Merge)));
                        }
                    }
                    other => out.push((other, Some(Wrapper::Merge))),
                },
                Some((wrapper, inner)) => pending.push((inner, Some(wrapper))),
                None => out.push((ast::Expr::Apply(apply), wrapped)),
            },
            other => out.push((other, wrapped)),
        }
    }
    out
}

/// The node whose value `node` is, climbing through what [`terminals`] sees
/// through; `stop_at_merge`: not out of a `mkMerge` list (its elements are
/// definitions of their own).
fn value_owner(node: &SyntaxNode, stop_at_merge: bool) -> Option<SyntaxNode> {
    let mut child = node.clone();
    loop {
        let parent = child.parent()?;
        let through = match parent.kind() {
            SyntaxKind::NODE_PAREN => true,
            SyntaxKind::NODE_LET_IN => ast::LetIn::cast(parent.clone())
                .and_then(|l| l.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_LAMBDA => ast::Lambda::cast(parent.clone())
                .and_then(|l| l.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_WITH => ast::With::cast(parent.clone())
                .and_then(|w| w.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_ASSERT => ast::Assert::cast(parent.clone())
                .and_then(|a| a.body())
                .is_some_and(|b| b.syntax() == &child),
            SyntaxKind::NODE_APPLY => ast::Apply::cast(parent.clone())
                .and_then(|a| wrapper_call(&a))
                .is_some_and(|(wrapper, arg)| {
                    arg.syntax() == &child && !(stop_at_merge && wrapper == Wrapper::Merge)
                }),
            SyntaxKind::NODE_LIST => {
                let merge = parent
                    .parent()
                    .and_then(ast::Apply::cast)
                    .and_then(|a| wrapper_call(&a))
                    .is_some_and(|(wrapper, arg)| {
                        wrapper == Wrapper::Merge && arg.syntax() == &parent
                    });
                merge && !stop_at_merge
            }
            _ => return Some(parent),
        };
        if !through {
            return Some(parent);
        }
        child = parent;
    }
}

/// The binding whose value (through parentheses and what [`terminals`] sees
/// through) is the set containing `node`.
pub fn enclosing_binding(node: &SyntaxNode) -> Option<ast::AttrpathValue> {
    enclosing(node, false)
}

fn enclosing(node: &SyntaxNode, stop_at_merge: bool) -> Option<ast::AttrpathValue> {
    let set = node
        .parent()
        .filter(|p| p.kind() == SyntaxKind::NODE_ATTR_SET)?;
    let binding = ast::AttrpathValue::cast(value_owner(&set, stop_at_merge)?)?;
    binding
        .syntax()
        .parent()
        .filter(|p| p.kind() == SyntaxKind::NODE_ATTR_SET)?;
    Some(binding)
}

/// The outermost attribute set reached through binding values: bindings under
/// one anchor are one definition, which Nix merges while parsing; each
/// element of a `mkMerge` list is an anchor of its own.
pub fn anchor_of(node: &SyntaxNode) -> Option<SyntaxNode> {
    let mut current = node.clone();
    loop {
        match enclosing(&current, true) {
            Some(binding) => current = binding.syntax().clone(),
            None => return current.parent(),
        }
    }
}

/// What `expr` stands for: itself, or, for a variable that an enclosing `let`
/// (or `rec` set) binds, the expression bound to it, followed through chains
/// of such variables. `None` for a variable whose value is not known without
/// evaluation (a function argument, `with`, `inherit`, a name bound nowhere).
pub fn resolve_let(expr: &ast::Expr) -> Option<ast::Expr> {
    match resolve_variable(expr) {
        Variable::Bound(expr) => Some(expr),
        Variable::Argument | Variable::Unknown => None,
    }
}

/// What a variable is bound to, as far as the file tells.
#[derive(Debug, Clone)]
pub enum Variable {
    /// The expression (`expr` itself when it is not a variable).
    Bound(ast::Expr),
    /// An argument of a function around it: its value comes from the caller.
    Argument,
    /// Bound by `with`, `inherit`, or nowhere in the file.
    Unknown,
}

/// [`resolve_let`], saying why a variable's value is not known.
pub fn resolve_variable(expr: &ast::Expr) -> Variable {
    let mut current = strip_parens(expr.clone());
    // A chain longer than this is a cycle (`let a = b; b = a;`) or not worth following.
    for _ in 0..16 {
        let ast::Expr::Ident(ident) = &current else {
            return Variable::Bound(current);
        };
        let name = ident_text(ident);
        match binding_of_variable(ident.syntax(), &name) {
            Variable::Bound(bound) => current = strip_parens(bound),
            other => return other,
        }
    }
    Variable::Unknown
}

/// What the variable `name` at `node` is bound to by a `let`, a `rec` set or
/// a function around it.
fn binding_of_variable(node: &SyntaxNode, name: &str) -> Variable {
    match bound_by_scope(node, name) {
        Some(Ok(expr)) => Variable::Bound(expr),
        Some(Err(variable)) => variable,
        None => Variable::Unknown,
    }
}

fn bound_by_scope(node: &SyntaxNode, name: &str) -> Option<Result<ast::Expr, Variable>> {
    for ancestor in node.ancestors().skip(1) {
        let entries: Vec<ast::Entry> = match ancestor.kind() {
            SyntaxKind::NODE_LET_IN => ast::LetIn::cast(ancestor.clone())?.entries().collect(),
            SyntaxKind::NODE_ATTR_SET => {
                let set = ast::AttrSet::cast(ancestor.clone())?;
                if !is_rec(&set) {
                    continue;
                }
                set.entries().collect()
            }
            SyntaxKind::NODE_LAMBDA => {
                let lambda = ast::Lambda::cast(ancestor.clone())?;
                if lambda_binds(&lambda, name) {
                    return Some(Err(Variable::Argument));
                }
                continue;
            }
            SyntaxKind::NODE_WITH => return Some(Err(Variable::Unknown)),
            _ => continue,
        };
        for entry in entries {
            match entry {
                ast::Entry::AttrpathValue(binding) => {
                    let keys = attrpath_keys(&binding.attrpath()?);
                    match keys.first().map(|k| &k.key) {
                        Some(Key::Static(first)) if first == name && keys.len() == 1 => {
                            return binding_value(&binding).map(Ok);
                        }
                        // `name.x = …` makes `name` a set of such bindings.
                        Some(Key::Static(first)) if first == name => {
                            return Some(Err(Variable::Unknown));
                        }
                        _ => {}
                    }
                }
                ast::Entry::Inherit(inherit) => {
                    let inherits_it = inherit
                        .attrs()
                        .any(|attr| matches!(attr_key(&attr), Key::Static(k) if k == name));
                    if inherits_it {
                        return Some(Err(Variable::Unknown));
                    }
                }
            }
        }
    }
    None
}

/// Whether a function's argument binds `name` (`name: …` or `{ name, … }: …`).
fn lambda_binds(lambda: &ast::Lambda, name: &str) -> bool {
    match lambda.param() {
        Some(ast::Param::IdentParam(p)) => p.ident().is_some_and(|i| ident_text(&i) == name),
        Some(ast::Param::Pattern(pattern)) => {
            pattern
                .pat_entries()
                .any(|e| e.ident().is_some_and(|i| ident_text(&i) == name))
                || pattern
                    .pat_bind()
                    .and_then(|b| b.ident())
                    .is_some_and(|i| ident_text(&i) == name)
        }
        None => false,
    }
}

/// The text of an ident token, or of a whole node for anything else.
pub fn ident_text(ident: &ast::Ident) -> String {
    ident.ident_token().map_or_else(
        || ident.syntax().text().to_string(),
        |t| t.text().to_owned(),
    )
}

/// A short description of the kind of an expression, for messages.
pub fn describe_expr(expr: &ast::Expr) -> &'static str {
    match strip_parens(expr.clone()) {
        ast::Expr::AttrSet(_) => "an attribute set",
        ast::Expr::Apply(_) => "a function call",
        ast::Expr::Select(_) => "an attribute selection",
        ast::Expr::Ident(_) => "a variable",
        ast::Expr::BinOp(b) if b.operator() == Some(ast::BinOpKind::Update) => {
            "a `//` update of attribute sets"
        }
        ast::Expr::BinOp(_) => "an operator expression",
        ast::Expr::IfElse(_) => "an `if` expression",
        ast::Expr::LetIn(_) => "a `let` expression",
        ast::Expr::With(_) => "a `with` expression",
        ast::Expr::Lambda(_) => "a function",
        ast::Expr::List(_) => "a list",
        ast::Expr::Str(_) => "a string",
        ast::Expr::PathAbs(_)
        | ast::Expr::PathRel(_)
        | ast::Expr::PathHome(_)
        | ast::Expr::PathSearch(_) => "a path",
        _ => "an expression that needs evaluation",
    }
}

/// The `@clan/` module names a file registers: `….modules."@clan/<x>" = …;`,
/// also written as `modules = { "@clan/<x>" = …; };` (a flake's
/// `clan.modules`, a test's `clan.modules`).
pub fn registered_module_names(root: &SyntaxNode, text: &str) -> Vec<String> {
    if memchr::memmem::find(text.as_bytes(), b"@clan/").is_none() {
        return Vec::new();
    }
    let mut names = Vec::new();
    for binding in root.descendants().filter_map(ast::AttrpathValue::cast) {
        let Some(attrpath) = binding.attrpath() else {
            continue;
        };
        let keys: Vec<Key> = attrpath_keys(&attrpath)
            .into_iter()
            .map(|k| k.key)
            .collect();
        let under_modules = |i: usize| match i {
            0 => enclosing_binding(binding.syntax())
                .and_then(|b| b.attrpath())
                .and_then(|a| attrpath_keys(&a).pop())
                .is_some_and(|k| k.key.is("modules")),
            _ => keys[i - 1].is("modules"),
        };
        for (i, key) in keys.iter().enumerate() {
            if let Some(name) = key.as_static().filter(|n| n.starts_with("@clan/"))
                && under_modules(i)
            {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_attrpath(src: &str) -> ast::Attrpath {
        let root = rnix::Root::parse(src).syntax();
        root.descendants()
            .find_map(ast::Attrpath::cast)
            .expect("test source has an attrpath")
    }

    fn keys(src: &str) -> Vec<Key> {
        attrpath_keys(&first_attrpath(src))
            .into_iter()
            .map(|k| k.key)
            .collect()
    }

    fn s(x: &str) -> Key {
        Key::Static(x.into())
    }

    fn first_str(src: &str) -> ast::Str {
        let root = rnix::Root::parse(src).syntax();
        root.descendants()
            .find_map(ast::Str::cast)
            .expect("test source has a string")
    }

    #[test]
    fn plain_strings_are_read_as_written_and_others_by_rnix() {
        let plain = [
            "\"\"",
            "\"abc\"",
            "\"a b-c_d.e\"",
            "\"a\nb\"",
            "\"é ☃\"",
            "\"it's\"",
        ];
        for src in plain {
            let s = first_str(src);
            assert_eq!(plain_str_content(&s), str_literal_by_parts(&s), "{src}");
            assert!(plain_str_content(&s).is_some(), "{src} takes the fast path");
        }
        let general = [
            r#""a\nb""#,
            r#""a\"b""#,
            r#""$x""#,
            r#""$${x}""#,
            r#""a${"b"}""#,
            r#""a${x}""#,
            "\"a\r\nb\"",
            "''abc''",
            "''\n  a\n  b\n''",
        ];
        for src in general {
            let s = first_str(src);
            assert_eq!(plain_str_content(&s), None, "{src}");
        }
        assert_eq!(
            str_literal(&first_str(r#""a\nb""#)).as_deref(),
            Some("a\nb")
        );
        assert_eq!(
            str_literal(&first_str("''\n  a\n''")).as_deref(),
            Some("a\n")
        );
    }

    #[test]
    fn plain_attribute_paths_are_read_from_the_green_tree_like_the_others() {
        let plain = [
            "{ a = 1; }",
            "{ a.b.c = 1; }",
            "{ inventory . \"services\" .x-y_z' = 1; }",
            "{ a./* c */ \"\".\"é\" = 1; }",
            "{ or = 1; }",
        ];
        let general = [
            "{ a.${x} = 1; }",
            "{ ${\"a\"}.b = 1; }",
            "{ \"a\\nb\" = 1; }",
            "{ a.\"${x}\" = 1; }",
        ];
        let seg = |k: &KeySeg| (k.key.clone(), k.range);
        for src in plain.iter().chain(&general) {
            let path = first_attrpath(src);
            let by_attrs: Vec<_> = attrpath_keys_by_attrs(&path).iter().map(seg).collect();
            match plain_attrpath_keys(&path) {
                Some(keys) => {
                    assert!(plain.contains(src), "{src} is not plain");
                    assert_eq!(keys.iter().map(seg).collect::<Vec<_>>(), by_attrs, "{src}");
                }
                None => assert!(general.contains(src), "{src} is plain"),
            }
            assert_eq!(
                attrpath_keys(&path).iter().map(seg).collect::<Vec<_>>(),
                by_attrs
            );
        }
    }

    /// Every attribute path in testdata reads the same from the green tree as
    /// from the typed tree, where the green reader takes it at all, and in files
    /// without syntax errors every binding's value is the one rnix's accessor gives.
    #[test]
    fn fast_readers_agree_with_rnix_on_testdata() {
        let testdata = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
        let seg = |k: &KeySeg| (k.key.clone(), k.range);
        let (mut plain, mut general, mut bindings, mut tokens) = (0, 0, 0, 0);
        for entry in walkdir::WalkDir::new(testdata) {
            let entry = entry.expect("testdata is readable");
            if entry.path().extension().is_none_or(|e| e != "nix") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).expect("testdata is UTF-8");
            let parse = rnix::Root::parse(&text);
            let root = parse.syntax();
            for path in root.descendants().filter_map(ast::Attrpath::cast) {
                let by_attrs: Vec<_> = attrpath_keys_by_attrs(&path).iter().map(seg).collect();
                match plain_attrpath_keys(&path) {
                    Some(keys) => {
                        plain += 1;
                        let green: Vec<_> = keys.iter().map(seg).collect();
                        assert_eq!(green, by_attrs, "{}: {path}", entry.path().display());
                    }
                    None => general += 1,
                }
            }
            // Every node, every kind of token it has as a direct child.
            for node in root.descendants() {
                let kinds: std::collections::BTreeSet<_> = node
                    .children_with_tokens()
                    .filter_map(|c| c.into_token())
                    .map(|t| t.kind())
                    .chain([SyntaxKind::TOKEN_REC])
                    .collect();
                for kind in kinds {
                    let first = node
                        .children_with_tokens()
                        .filter_map(|c| c.into_token())
                        .find(|t| t.kind() == kind);
                    tokens += usize::from(first.is_some());
                    assert_eq!(
                        child_token_range(&node, kind),
                        first.map(|t| t.text_range()),
                        "{}: {kind:?} in {node}",
                        entry.path().display()
                    );
                }
                if let Some(set) = ast::AttrSet::cast(node) {
                    assert_eq!(is_rec(&set), set.rec_token().is_some());
                }
            }
            if !parse.errors().is_empty() {
                continue; // the analysis reads values of trees without errors only
            }
            for binding in root.descendants().filter_map(ast::AttrpathValue::cast) {
                bindings += 1;
                let range = |e: ast::Expr| e.syntax().text_range();
                assert_eq!(
                    binding_value(&binding).map(range),
                    binding.value().map(range),
                    "{}: {binding}",
                    entry.path().display()
                );
            }
        }
        assert!(bindings > 900, "{bindings} bindings");
        assert!(tokens > 5000, "{tokens} tokens");
        // Most paths are plain; the others exercise the fallback.
        assert!(
            plain > 1000 && general > 5,
            "plain {plain}, general {general}"
        );
    }

    #[test]
    fn child_tokens_are_read_from_the_green_tree() {
        let text = "{ a = rec /* c */ { b = [ 1 ]; }; c = { }; d = rec{}; e = [ ]; }";
        let root = rnix::Root::parse(text).syntax();
        let sets: Vec<_> = root.descendants().filter_map(ast::AttrSet::cast).collect();
        let rec: Vec<_> = sets.iter().map(is_rec).collect();
        assert_eq!(rec, [false, true, false, true]);
        let range = |node: &SyntaxNode, kind| child_token_range(node, kind).map(|r| &text[r]);
        let lists: Vec<_> = root.descendants().filter_map(ast::List::cast).collect();
        for list in &lists {
            assert_eq!(range(list.syntax(), SyntaxKind::TOKEN_L_BRACK), Some("["));
            assert_eq!(range(list.syntax(), SyntaxKind::TOKEN_R_BRACK), Some("]"));
        }
        let inner = sets[1].syntax();
        let open =
            child_token_range(inner, SyntaxKind::TOKEN_L_BRACE).map(|r| usize::from(r.start()));
        assert_eq!(open, text.find("{ b"));
        assert_eq!(range(inner, SyntaxKind::TOKEN_COMMENT), Some("/* c */"));
        assert_eq!(range(inner, SyntaxKind::TOKEN_L_BRACK), None);
    }

    #[test]
    fn quoted_and_literal_dynamic_keys_are_static() {
        assert_eq!(
            keys(r#"{ inventory."services".${"sshd"}."a${"b"}" = 1; }"#),
            vec![s("inventory"), s("services"), s("sshd"), s("ab")]
        );
        assert_eq!(keys(r#"{ "a\"b" = 1; }"#), vec![s("a\"b")]);
        assert_eq!(keys(r#"{ ${("x")} = 1; }"#), vec![s("x")]);
    }

    #[test]
    fn interpolated_keys_are_dynamic() {
        assert_eq!(
            keys(r#"{ inventory.services.${name}."x-${y}" = 1; }"#),
            vec![s("inventory"), s("services"), Key::Dynamic, Key::Dynamic]
        );
    }

    #[test]
    fn recognises_literal_imports() {
        let root = rnix::Root::parse("import (./a/b.nix)").tree();
        assert_eq!(
            import_of_literal_path(&root.expr().unwrap()).as_deref(),
            Some("./a/b.nix")
        );
        let root = rnix::Root::parse("import ./${x}.nix").tree();
        assert_eq!(import_of_literal_path(&root.expr().unwrap()), None);
        let root = rnix::Root::parse("import <nixpkgs>").tree();
        assert_eq!(import_of_literal_path(&root.expr().unwrap()), None);
    }
}
