//! The sets around instances: `services = { … }` (renamed `instances` when
//! all its instances migrate) and `<service> = { <instance> = …; }` wrappers
//! (flattened). A `services` set that keeps instances that are not migrated
//! gives up the others: they move, with the comments above them, into an
//! `instances` set right after it.

use rnix::SyntaxKind;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::read::{Contributor, Holder};
use super::style::{
    Style, blank_line_at, blank_line_before, ends_line, line_indent, line_of, line_start,
    lines_with_comments_above, starts_line, whole_lines_or_leading_space,
    whole_lines_or_trailing_space,
};
use super::{Reason, ReasonKind, Work};
use crate::syntax::nix::{KeySeg, attrpath_keys, strip_parens};
use crate::syntax::quote::nix_attr;
use crate::text::Span;
use crate::text::edit::TextEdit;

/// The edits that rewrite a container, or why it cannot be rewritten.
type ContainerEdits = (Vec<TextEdit>, Option<Reason>);

pub(super) struct Container {
    pub node: ast::AttrpathValue,
    pub span: Span,
    pub kind: ContainerKind,
    pub dependents: Vec<usize>,
    pub edits: Vec<TextEdit>,
    pub problem: Option<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ContainerKind {
    /// `services = { … }`, renamed `instances` when all its instances migrate.
    Services,
    /// `<service> = { <instance> = …; }`, flattened.
    Wrapper,
}

pub(super) fn containers(works: &[Work<'_>], text: &str) -> Vec<Container> {
    let mut out: Vec<Container> = Vec::new();
    let mut add = |node: &ast::AttrpathValue,
                   dependent: usize,
                   kind: ContainerKind,
                   build: &dyn Fn(&ast::AttrpathValue) -> ContainerEdits| {
        let span = Span::from(node.syntax().text_range());
        if let Some(c) = out.iter_mut().find(|c| c.span == span) {
            if !c.dependents.contains(&dependent) {
                c.dependents.push(dependent);
            }
        } else {
            let (edits, problem) = build(node);
            out.push(Container {
                node: node.clone(),
                span,
                kind,
                dependents: vec![dependent],
                edits,
                problem,
            });
        }
    };
    for (i, work) in works.iter().enumerate() {
        for c in &work.contributors {
            if let Holder::Ancestor(node) = &c.services {
                let same_as_service =
                    matches!(&c.service, Holder::Ancestor(s) if s.syntax() == node.syntax());
                if !same_as_service {
                    add(node, i, ContainerKind::Services, &|n| {
                        rename_last_segment(n, 1, "instances")
                    });
                }
            }
            if let Holder::Ancestor(node) = &c.service {
                add(node, i, ContainerKind::Wrapper, &|n| {
                    flatten_wrapper(n, text)
                });
            }
        }
    }
    out
}

/// Renames the segment `from_end` places before the end of a binding's path.
fn rename_last_segment(
    node: &ast::AttrpathValue,
    from_end: usize,
    to: &str,
) -> (Vec<TextEdit>, Option<Reason>) {
    let segs = node
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    match segs.len().checked_sub(from_end).and_then(|i| segs.get(i)) {
        Some(seg) => (vec![TextEdit::replace(Span::from(seg.range), to)], None),
        None => (
            Vec::new(),
            Some(Reason::new(
                ReasonKind::Form,
                "unexpected attribute path",
                None,
            )),
        ),
    }
}

/// Deletes the header (`svc = {`) and footer (`};`) of a service wrapper; its
/// instance bindings get the wrapper's path as prefix (done by `instance_edits`).
fn flatten_wrapper(node: &ast::AttrpathValue, text: &str) -> ContainerEdits {
    let problem = |m: &str| {
        (
            Vec::new(),
            Some(Reason::new(
                ReasonKind::Form,
                m,
                Some(Span::from(node.syntax().text_range())),
            )),
        )
    };
    let Some(ast::Expr::AttrSet(set)) = crate::syntax::nix::binding_value(node).map(strip_parens)
    else {
        return problem("the service's value is not an attribute set literal");
    };
    if crate::syntax::nix::is_rec(&set) {
        return problem("the service is a `rec` attribute set");
    }
    if set.inherits().next().is_some() {
        return problem("the service's attribute set uses `inherit`");
    }
    let (Some(open), Some(close)) = (
        crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_L_BRACE),
        crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_R_BRACE),
    ) else {
        return problem("the service's attribute set is incomplete");
    };
    let binding = Span::from(node.syntax().text_range());
    let header = Span::new(binding.start, usize::from(open.end()));
    let footer = Span::new(usize::from(close.start()), binding.end);
    let comment_in = |part: Span| {
        node.syntax()
            .descendants_with_tokens()
            .filter(|e| e.kind() == SyntaxKind::TOKEN_COMMENT)
            .any(|e| {
                let span = Span::from(e.text_range());
                part.start <= span.start && span.end <= part.end
            })
    };
    if comment_in(header) || comment_in(footer) {
        return problem("a comment inside the service wrapper's `{` or `};` line");
    }
    (
        vec![
            TextEdit::delete(whole_lines_or_trailing_space(text, header)),
            TextEdit::delete(whole_lines_or_leading_space(text, footer)),
        ],
        None,
    )
}

pub(super) fn block_shared_containers(
    works: &mut [Work<'_>],
    containers: &[Container],
    text: &str,
) {
    loop {
        let mut changed = false;
        for container in containers {
            let blocked: Option<(usize, Reason)> = container
                .problem
                .clone()
                .map(|r| (usize::MAX, r))
                .or_else(|| {
                    container
                        .dependents
                        .iter()
                        .find_map(|&i| works[i].blockers.first().map(|r| (i, r.clone())))
                });
            let Some((culprit, reason)) = blocked else {
                continue;
            };
            let line = line_of(text, container.span.start);
            for &i in &container.dependents {
                if i == culprit || !works[i].blockers.is_empty() {
                    continue;
                }
                // Moved out of the set into an `instances` set of its own (`move_out`).
                if culprit != usize::MAX && movable(&works[i], container, containers, works, text) {
                    continue;
                }
                let message = if culprit == usize::MAX {
                    format!(
                        "the enclosing definition at line {line} cannot be rewritten: {}",
                        reason.message
                    )
                } else {
                    let other = &works[culprit].instance;
                    format!(
                        "shares the attribute set at line {line} with `{}.{}`, which is not migrated ({})",
                        nix_attr(&other.service),
                        nix_attr(&other.instance),
                        reason.message
                    )
                };
                works[i].blockers.push(Reason::new(
                    ReasonKind::SharedDefinition,
                    message,
                    Some(container.span),
                ));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Whether an instance can leave the `services` set it shares with instances
/// that are not migrated: each of its bindings is an entry of that set that
/// spells the service in its own path, or sits in a `<service> = { … }`
/// wrapper that is such an entry and whose instances all migrate (the wrapper
/// then moves whole); these entries have lines of their own; and the set's
/// binding ends its line, so that an `instances` set can follow it.
fn movable(
    work: &Work<'_>,
    container: &Container,
    containers: &[Container],
    works: &[Work<'_>],
    text: &str,
) -> bool {
    if container.kind != ContainerKind::Services || container.problem.is_some() {
        return false;
    }
    let Some(ast::Expr::AttrSet(set)) =
        crate::syntax::nix::binding_value(&container.node).map(strip_parens)
    else {
        return false;
    };
    let wrapper_moves_whole = |wrapper: &ast::AttrpathValue| {
        containers.iter().any(|w| {
            w.kind == ContainerKind::Wrapper
                && w.node.syntax() == wrapper.syntax()
                && w.problem.is_none()
                && w.dependents.iter().all(|&i| works[i].blockers.is_empty())
        })
    };
    ends_line(text, container.span.end)
        && !work.contributors.is_empty()
        && work.contributors.iter().all(|c| {
            let entry = match &c.service {
                Holder::This(_) => &c.node,
                Holder::Ancestor(wrapper) if wrapper_moves_whole(wrapper) => wrapper,
                Holder::Ancestor(_) | Holder::Mount => return false,
            };
            let span = Span::from(entry.syntax().text_range());
            matches!(&c.services, Holder::Ancestor(n) if n.syntax() == container.node.syntax())
                && entry.syntax().parent().as_ref() == Some(set.syntax())
                && starts_line(text, span.start)
                && ends_line(text, span.end)
        })
}

/// The entry of the `services` set that a contributor of a moving instance
/// moves with: its own binding, or its wrapper.
fn moving_entry(c: &Contributor) -> &ast::AttrpathValue {
    match &c.service {
        Holder::Ancestor(wrapper) => wrapper,
        Holder::This(_) | Holder::Mount => &c.node,
    }
}

/// The deletions of the lines that moved out of a set (each with the instance
/// it belongs to), with the blank lines around them tidied: where moved lines
/// and blank lines alternate between two lines that stay, one blank line is
/// kept if there was one, none next to the set's `{` or `}`.
fn vacate(text: &str, mut vacated: Vec<(Span, usize)>) -> Vec<(TextEdit, Owner)> {
    enum Item {
        Moved(usize),
        Blank(Span),
    }
    vacated.sort_by_key(|(span, _)| span.start);
    let mut deletions: Vec<Span> = vacated.iter().map(|(span, _)| *span).collect();
    let mut next = 0;
    while next < vacated.len() {
        // A gap: blank and moved lines between two lines that stay.
        let mut items: Vec<Item> = Vec::new();
        let mut start = vacated[next].0.start;
        while let Some(blank) = blank_line_before(text, start) {
            items.insert(0, Item::Blank(Span::new(blank, start)));
            start = blank;
        }
        let mut end = vacated[next].0.start;
        loop {
            if vacated.get(next).is_some_and(|(span, _)| span.start == end) {
                items.push(Item::Moved(next));
                end = vacated[next].0.end;
                next += 1;
            } else if let Some(blank) = blank_line_at(text, end) {
                items.push(Item::Blank(Span::new(end, blank)));
                end = blank;
            } else {
                break;
            }
        }
        let above = line_start(text, start.saturating_sub(1));
        let below = text[end..].split('\n').next().unwrap_or("");
        let at_edge =
            text[above..start].trim_end().ends_with('{') || below.trim_start().starts_with('}');
        let mut keep = usize::from(!at_edge);
        // Each deleted blank line joins the deletion of the moved lines next to it.
        let mut last_moved: Option<usize> = None;
        let mut pending: Vec<Span> = Vec::new();
        for item in &items {
            match item {
                Item::Blank(_) if keep > 0 => {
                    keep -= 1;
                    last_moved = None;
                }
                Item::Blank(blank) => match last_moved {
                    Some(m) => deletions[m].end = blank.end,
                    None => pending.push(*blank),
                },
                Item::Moved(m) => {
                    if let Some(first) = pending.first() {
                        deletions[*m].start = first.start;
                        pending.clear();
                    }
                    last_moved = Some(*m);
                }
            }
        }
    }
    deletions
        .into_iter()
        .zip(&vacated)
        .map(|(span, (_, i))| (TextEdit::delete(span), Owner::Instance(*i)))
        .collect()
}

/// The edits that move the migrated instances of a `services` set that keeps
/// others: each instance's bindings, rewritten, leave the set and go, in their
/// order, into a new `instances` set right after it. `Err`: an instance whose
/// rewrite reaches outside its own lines, with the reason.
pub(super) fn move_out(
    k: usize,
    container: &Container,
    moving: &[(usize, Vec<TextEdit>)],
    works: &[Work<'_>],
    text: &str,
    style: &Style,
) -> Result<Vec<(TextEdit, Owner)>, (usize, String)> {
    let outside = |i: usize| {
        (
            i,
            "its rewrite would change text outside its own lines, so it cannot move out of the `services` set it shares with instances that are not migrated".to_owned(),
        )
    };
    // The lines that move (each with the first instance that takes them).
    let mut spans: Vec<(Span, usize)> = Vec::new();
    for (i, _) in moving {
        for c in &works[*i].contributors {
            let span = lines_with_comments_above(text, moving_entry(c));
            if !spans.iter().any(|(s, _)| *s == span) {
                spans.push((span, *i));
            }
        }
    }
    spans.sort_by_key(|(s, _)| (s.start, s.end));
    let mut local: Vec<Vec<TextEdit>> = vec![Vec::new(); spans.len()];
    for (i, instance_edits) in moving {
        for edit in instance_edits {
            let e = edit.span;
            // An insertion where one span ends and the next starts belongs to the next.
            let at = spans
                .iter()
                .position(|(s, _)| s.start == e.start && e.end <= s.end)
                .or_else(|| {
                    spans
                        .iter()
                        .position(|(s, _)| s.start <= e.start && e.end <= s.end)
                })
                .ok_or_else(|| outside(*i))?;
            let base = spans[at].0.start;
            local[at].push(TextEdit::replace(
                Span::new(e.start - base, e.end - base),
                edit.insert.clone(),
            ));
        }
    }
    let mut pieces: Vec<(usize, String)> = Vec::new();
    let mut edits: Vec<(TextEdit, Owner)> = Vec::new();
    for ((span, i), local) in spans.iter().zip(&local) {
        let moved = crate::text::edit::apply(&text[span.start..span.end], local)
            .map_err(|_| outside(*i))?;
        pieces.push((span.start, moved));
    }
    let vacated = spans;
    pieces.sort_by_key(|(start, _)| *start);
    edits.extend(vacate(text, vacated));
    let segs = container
        .node
        .attrpath()
        .map(|p| attrpath_keys(&p))
        .unwrap_or_default();
    let (Some(last), Some(line_end)) = (
        segs.last(),
        text[container.span.end..]
            .find('\n')
            .map(|i| container.span.end + i + 1),
    ) else {
        return Err(outside(moving.first().map_or(0, |(i, _)| *i)));
    };
    let head = &text[container.span.start..usize::from(last.range.start())];
    let indent = line_indent(text, container.span.start);
    let eol = style.eol;
    let existing = following_instances_set(container, &segs, text);
    // A piece that followed a blank line is still set apart by one, except at
    // the top of a new set.
    let mut body = String::new();
    for (n, (start, piece)) in pieces.into_iter().enumerate() {
        if (n > 0 || existing.is_some()) && blank_line_before(text, start).is_some() {
            body.push_str(eol);
        }
        body.push_str(&piece);
    }
    let insertion = match existing {
        // Into the `instances` set that follows (one an earlier run wrote).
        Some(closing_line) => TextEdit::insert(closing_line, body),
        None => TextEdit::insert(
            line_end,
            format!("{indent}{head}instances = {{{eol}{body}{indent}}};{eol}"),
        ),
    };
    edits.push((insertion, Owner::Container(k)));
    Ok(edits)
}

/// Where moved instances go when the binding right after the `services` set
/// (nothing but whitespace between them) defines the `instances` next to it
/// as a non-`rec` attribute-set literal whose `}` starts its line: the start
/// of that line.
fn following_instances_set(container: &Container, segs: &[KeySeg], text: &str) -> Option<usize> {
    let next = ast::AttrpathValue::cast(container.node.syntax().next_sibling()?)?;
    let between = &text[container.span.end..usize::from(next.syntax().text_range().start())];
    if !between.trim().is_empty() {
        return None;
    }
    let next_keys = attrpath_keys(&next.attrpath()?);
    let (_, prefix) = segs.split_last()?;
    let (last, next_prefix) = next_keys.split_last()?;
    let same_prefix = prefix.len() == next_prefix.len()
        && prefix
            .iter()
            .zip(next_prefix)
            .all(|(a, b)| a.key.as_static().is_some() && a.key.as_static() == b.key.as_static());
    if !same_prefix || last.key.as_static() != Some("instances") {
        return None;
    }
    let Some(ast::Expr::AttrSet(set)) = crate::syntax::nix::binding_value(&next).map(strip_parens)
    else {
        return None;
    };
    if crate::syntax::nix::is_rec(&set) {
        return None;
    }
    let close = crate::syntax::nix::child_token_range(set.syntax(), SyntaxKind::TOKEN_R_BRACE)?;
    let close = usize::from(close.start());
    let line = line_start(text, close);
    text[line..close].trim().is_empty().then_some(line)
}

/// What a planned edit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Instance(usize),
    Container(usize),
    EmptyDefinition,
}

/// Leaves the instances whose edits overlap (one instance's edits, or two's),
/// with the reason; `false` when there is none left to leave.
pub(super) fn block_overlapping(
    works: &mut [Work<'_>],
    containers: &[Container],
    (first, second, at): (Owner, Owner, Span),
    text: &str,
) -> bool {
    let describe = |owner: Owner, works: &[Work<'_>]| match owner {
        Owner::Instance(i) => format!(
            "the rewrite of `{}.{}`",
            nix_attr(&works[i].instance.service),
            nix_attr(&works[i].instance.instance)
        ),
        Owner::Container(k) => format!(
            "the rewrite of the enclosing definition at line {}",
            line_of(text, containers[k].span.start)
        ),
        Owner::EmptyDefinition => "the deletion of an empty definition".to_owned(),
    };
    let edits = if first == second {
        format!("two edits of {}", describe(first, works))
    } else {
        format!("{} and {}", describe(first, works), describe(second, works))
    };
    let message = format!(
        "{edits} would change the same text, at line {}; this is a bug in clan-migrate, please report it",
        line_of(text, at.start)
    );
    let mut blocked = false;
    for owner in [first, second] {
        let instances = match owner {
            Owner::Instance(i) => vec![i],
            Owner::Container(k) => containers[k].dependents.clone(),
            Owner::EmptyDefinition => Vec::new(),
        };
        for i in instances {
            if works[i].blockers.is_empty() {
                works[i].block(ReasonKind::Overlap, message.clone(), Some(at));
                blocked = true;
            }
        }
    }
    blocked
}

impl Container {
    /// Whether its instances all migrate and it can be rewritten.
    pub fn all_migrate(&self, works: &[Work<'_>]) -> bool {
        self.problem.is_none()
            && self
                .dependents
                .iter()
                .all(|&i| works[i].blockers.is_empty())
    }

    /// Whether it is a `services` set that keeps instances that are left.
    pub fn keeps_some(&self, works: &[Work<'_>]) -> bool {
        self.kind == ContainerKind::Services
            && self.problem.is_none()
            && self
                .dependents
                .iter()
                .any(|&i| !works[i].blockers.is_empty())
    }
}
