//! The edits of one migrated instance: its name (`services.<s>.<i>` becomes
//! `instances."<s>-<i>"`), the edits inside it, the bindings replaced by the
//! copies of their settings, the `module` binding, and the settings written
//! after its last binding.

use rnix::SyntaxKind;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::read::{Contributor, Holder};
use super::style::{Style, line_end, line_indent, line_start, whole_lines};
use super::{FileContext, Work};
use crate::syntax::nix::{attrpath_keys, strip_parens};
use crate::syntax::quote::{nix_attr, nix_string};
use crate::text::Span;
use crate::text::edit::TextEdit;

/// Where a contributor is, and the text its path has in front of the
/// instance's new name (`inventory.instances.sshd-x`), to prefix what is
/// written relative to the instance.
struct Head<'w> {
    start: usize,
    text: String,
    contributor: &'w Contributor,
}

pub(super) fn instance_edits(
    work: &Work<'_>,
    text: &str,
    style: &Style,
    ctx: &FileContext,
) -> Vec<TextEdit> {
    let (deleted, kept_comments) = deletions(work, text);
    let is_deleted = |span: Span| deleted.iter().any(|d| d.contains(span));
    let mut edits: Vec<TextEdit> = work
        .body
        .iter()
        .filter(|e| !is_deleted(e.span))
        .cloned()
        .collect();
    // A deletion inside another is part of it.
    let outermost = deleted.iter().enumerate().filter(|(i, d)| {
        !deleted
            .iter()
            .enumerate()
            .any(|(j, outer)| j != *i && outer.contains(**d) && (outer != *d || j < *i))
    });
    // The comments of a deleted `machines` body follow the settings that moved
    // out of it to the instance's end; without any, they stay where it was.
    let mut tail = work.tail.clone();
    let outermost: Vec<Span> = outermost.map(|(_, d)| *d).collect();
    for span in &outermost {
        let comments = kept_comments
            .iter()
            .filter(|(at, _)| span.contains(*at))
            .flat_map(|(_, c)| c.lines().map(str::to_owned))
            .collect::<Vec<_>>();
        if comments.is_empty() {
            edits.push(TextEdit::delete(*span));
        } else if work.tail.is_empty() {
            let indent = line_indent(text, span.start);
            let lines: String = comments
                .iter()
                .map(|c| format!("{indent}{c}{}", style.eol))
                .collect();
            edits.push(TextEdit::replace(*span, lines));
        } else {
            edits.push(TextEdit::delete(*span));
            tail.extend(comments);
        }
    }
    let name = nix_attr(&work.new_name);
    let mut heads: Vec<Head<'_>> = Vec::new();
    for c in &work.contributors {
        if work.is_deleted(Span::from(c.node.syntax().text_range())) {
            continue;
        }
        let inst = &c.segs[c.inst_idx];
        let (replace_from, replacement) = match (&c.services, &c.service) {
            (Holder::This(s), _) => (c.segs[*s].range.start(), format!("instances.{name}")),
            (_, Holder::This(v)) => (c.segs[*v].range.start(), name.clone()),
            (_, Holder::Ancestor(wrapper)) => {
                // Flattened wrapper: its path (minus the service) prefixes the instance.
                let prefix = wrapper_prefix(wrapper);
                (inst.range.start(), format!("{prefix}{name}"))
            }
            (_, Holder::Mount) => continue,
        };
        let span = Span::new(usize::from(replace_from), usize::from(inst.range.end()));
        if is_deleted(span) {
            continue;
        }
        let first = usize::from(c.segs[0].range.start());
        let head = format!("{}{replacement}", &text[first..span.start]);
        let replaced = work
            .replaced
            .iter()
            .any(|r| r.binding.syntax() == c.node.syntax());
        if !replaced {
            edits.push(TextEdit::replace(span, replacement));
        }
        heads.push(Head {
            start: first,
            text: head,
            contributor: c,
        });
    }
    for replacement in &work.replaced {
        let span = Span::from(replacement.binding.syntax().text_range());
        if is_deleted(span) {
            continue;
        }
        // A contributor's copies keep its (renamed) path in front.
        let prefix = heads
            .iter()
            .find(|h| h.contributor.node.syntax() == replacement.binding.syntax())
            .map(|h| format!("{}.", h.text))
            .unwrap_or_default();
        let start = line_start(text, span.start);
        let indent = &text[start..span.start];
        let own_line = indent.trim().is_empty();
        let lines: Vec<String> = replacement
            .lines
            .iter()
            .map(|l| prefixed(l, &prefix))
            .collect();
        let joined = if own_line {
            lines.join(&format!("{}{indent}", style.eol))
        } else {
            lines.join(" ")
        };
        edits.push(TextEdit::replace(span, joined));
    }
    edits.extend(module_insertion(work, text, style, ctx, &heads));
    edits.extend(tail_insertion(&tail, text, style, &heads));
    edits
}

/// What the instance's rewrite deletes: the planned deletions, the bindings
/// replaced by nothing (whole lines, so no indentation is left behind), and
/// the `machines.<m> = { … };` bodies (or `machines = { … };`) left with
/// nothing but blanks and comments once their config moved to the roles:
/// instances have no `machines`. The second list holds each deleted body's
/// own comments (those of no binding that moved), one per line: they follow
/// the settings that moved out of it.
fn deletions(work: &Work<'_>, text: &str) -> (Vec<Span>, Vec<(Span, String)>) {
    let mut deleted = work.deleted.clone();
    for replacement in work.replaced.iter().filter(|r| r.lines.is_empty()) {
        let span = Span::from(replacement.binding.syntax().text_range());
        deleted.push(whole_lines(text, span));
    }
    let planned = deleted.clone();
    let mut kept: Vec<(Span, String)> = Vec::new();
    let machine_parts = work
        .parts
        .iter()
        .filter(|p| matches!(p.scope, crate::inventory::mapping::Scope::Machine(_)));
    for part in machine_parts {
        let mut node = part.binding.syntax().clone();
        while let Some(body) = crate::syntax::nix::enclosing_binding(&node) {
            let span = Span::from(body.syntax().text_range());
            if !is_machines_body(&body) || deleted.iter().any(|d| d.contains(span)) {
                break;
            }
            let Some(ast::Expr::AttrSet(set)) =
                crate::syntax::nix::binding_value(&body).map(strip_parens)
            else {
                break;
            };
            let emptied = set.inherits().next().is_none()
                && set.attrpath_values().all(|entry| {
                    let entry = Span::from(entry.syntax().text_range());
                    deleted.iter().any(|d| d.contains(entry))
                });
            if !emptied {
                break;
            }
            let lines = whole_lines(text, span);
            let comments = body
                .syntax()
                .descendants_with_tokens()
                .filter_map(|e| e.into_token())
                .filter(|t| t.kind() == SyntaxKind::TOKEN_COMMENT)
                .filter(|t| {
                    let at = Span::from(t.text_range());
                    !planned.iter().any(|d| d.contains(at))
                })
                .map(|t| t.text().to_owned())
                .collect::<Vec<_>>()
                .join("\n");
            if !comments.is_empty() {
                kept.push((lines, comments));
            }
            deleted.push(lines);
            node = body.syntax().clone();
        }
    }
    (deleted, kept)
}

/// `machines.<m> = { … }`, `machines = { … }`, or `<m> = { … }` in a
/// `machines = { … }` set.
fn is_machines_body(binding: &ast::AttrpathValue) -> bool {
    let names = |b: &ast::AttrpathValue| -> Vec<String> {
        b.attrpath()
            .and_then(|p| crate::syntax::nix::static_keys(&p))
            .unwrap_or_default()
    };
    names(binding).iter().any(|k| k == "machines")
        || crate::syntax::nix::enclosing_binding(binding.syntax())
            .is_some_and(|outer| names(&outer).last().is_some_and(|k| k == "machines"))
}

/// `line` with `prefix` in front, unless it is a comment.
fn prefixed(line: &str, prefix: &str) -> String {
    if line.starts_with('#') {
        line.to_owned()
    } else {
        format!("{prefix}{line}")
    }
}

/// The text a flattened wrapper's children get in front of their name: the
/// wrapper's path with `services` renamed and the service segment removed
/// (`inventory.services.borgbackup = {` gives `inventory.instances.`).
fn wrapper_prefix(wrapper: &ast::AttrpathValue) -> String {
    let segs = wrapper
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    if segs.len() < 2 {
        return String::new();
    }
    let text = wrapper.syntax().text().to_string();
    let base = usize::from(wrapper.syntax().text_range().start());
    let services = &segs[segs.len() - 2];
    let before = &text[..usize::from(services.range.start()) - base];
    format!("{before}instances.")
}

/// The instance's own attribute set: the value of a contributor whose path
/// ends at the instance name.
fn instance_set<'h>(heads: &'h [Head<'_>]) -> Option<(ast::AttrSet, &'h Head<'h>)> {
    heads.iter().find_map(|h| {
        let c = h.contributor;
        if c.inst_idx + 1 != c.segs.len() {
            return None;
        }
        match crate::syntax::nix::binding_value(&c.node).map(strip_parens) {
            Some(ast::Expr::AttrSet(set)) => Some((set, h)),
            _ => None,
        }
    })
}

/// `lines` inserted as bindings of `set`, right after its `{` (`at_end`:
/// before its `}`), with the indentation of its entries.
fn insert_into_set(
    set: &ast::AttrSet,
    owner: &ast::AttrpathValue,
    lines: &[String],
    text: &str,
    style: &Style,
    at_end: bool,
) -> Option<TextEdit> {
    let indent = set
        .entries()
        .next()
        .map(|e| line_indent(text, usize::from(e.syntax().text_range().start())))
        .unwrap_or_else(|| {
            format!(
                "{}{}",
                line_indent(text, usize::from(owner.syntax().text_range().start())),
                style.indent_unit
            )
        });
    let block: String = lines
        .iter()
        .map(|l| format!("{indent}{l}{}", style.eol))
        .collect();
    let inline: String = lines.iter().map(|l| format!(" {l}")).collect();
    if at_end {
        let close = crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_R_BRACE)?;
        let close = usize::from(close.start());
        let line = line_start(text, close);
        if text[line..close].trim().is_empty()
            && line > usize::from(set.syntax().text_range().start())
        {
            return Some(TextEdit::insert(line, block));
        }
        let before = text[..close].trim_end_matches(' ').len();
        return Some(TextEdit::insert(before, format!("{inline} ")));
    }
    let open = crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_L_BRACE)?;
    let after = usize::from(open.end());
    let rest_of_line = text[after..].split('\n').next().unwrap_or("");
    if rest_of_line.trim().is_empty() && text[after..].contains('\n') {
        // `{` ends its line: insert lines with the first entry's indentation.
        let line_end = after + rest_of_line.len() + 1;
        return Some(TextEdit::insert(line_end, block));
    }
    Some(TextEdit::insert(after, inline))
}

fn module_insertion(
    work: &Work<'_>,
    text: &str,
    style: &Style,
    ctx: &FileContext,
    heads: &[Head<'_>],
) -> Option<TextEdit> {
    let module_name = work.module.map_or(work.instance.service.as_str(), |m| {
        m.target_name(&work.instance.service)
    });
    let input = work
        .module
        .and_then(|m| m.input.as_ref())
        .or(ctx.module_input.as_ref());
    let mut bindings = vec![match input {
        Some(input) => format!(
            "module = {{ name = {}; input = {}; }};",
            nix_string(module_name),
            nix_string(input)
        ),
        None => format!("module.name = {};", nix_string(module_name)),
    }];
    // Settings the new module needs that the legacy module implied.
    if let Some(module) = work.module {
        for role in module
            .roles
            .iter()
            .filter(|r| work.roles.iter().any(|w| w.name == **r))
        {
            for (key, value) in &module.set {
                if let Some(value) = nix_literal(value) {
                    bindings.push(format!(
                        "roles.{}.settings.{} = {value};",
                        nix_attr(role),
                        nix_attr(key)
                    ));
                }
            }
        }
    }
    if let Some((set, head)) = instance_set(heads) {
        return insert_into_set(&set, &head.contributor.node, &bindings, text, style, false);
    }
    // Otherwise a new binding before the first contributor.
    let head = heads.iter().min_by_key(|h| h.start)?;
    let indent = line_indent(text, head.start);
    let start = line_start(text, head.start);
    if text[start..head.start].trim().is_empty() {
        let lines: String = bindings
            .iter()
            .map(|b| format!("{indent}{}.{b}{}", head.text, style.eol))
            .collect();
        Some(TextEdit::insert(start, lines))
    } else {
        let inline: String = bindings
            .iter()
            .map(|b| format!("{}.{b} ", head.text))
            .collect();
        Some(TextEdit::insert(head.start, inline))
    }
}

/// The settings written after the instance's last binding: before the `}` of
/// its own set, or after its last contributor, with the instance's path in
/// front.
fn tail_insertion(
    tail: &[String],
    text: &str,
    style: &Style,
    heads: &[Head<'_>],
) -> Option<TextEdit> {
    if tail.is_empty() {
        return None;
    }
    if let Some((set, head)) = instance_set(heads) {
        return insert_into_set(&set, &head.contributor.node, tail, text, style, true);
    }
    let last = heads
        .iter()
        .max_by_key(|h| h.contributor.node.syntax().text_range().end())?;
    let end = usize::from(last.contributor.node.syntax().text_range().end());
    let indent = line_indent(text, last.start);
    let prefix = format!("{}.", last.text);
    let lines: String = tail
        .iter()
        .map(|l| format!("{indent}{}{}", prefixed(l, &prefix), style.eol))
        .collect();
    let at = line_end(text, end);
    if at == text.len() && !text.ends_with('\n') {
        return Some(TextEdit::insert(
            at,
            format!("{}{}", style.eol, lines.trim_end()),
        ));
    }
    Some(TextEdit::insert(at, lines))
}

/// A TOML scalar from the module table as a Nix literal.
fn nix_literal(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(nix_string(s)),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}
