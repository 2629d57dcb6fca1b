//! Sends each legacy `config` of an instance where the mapping
//! ([`crate::inventory::mapping`]) says, and writes it: renamed in place when
//! all of it goes where its own place names (`roles.<r>.config` to
//! `roles.<r>.settings`, instance `config` of a one-role instance to that
//! role), copied key by key otherwise, each key with the comments above it.
//! Copies replace the `config` where it was, or, when a target lies outside
//! the set that holds it, go after the instance's last binding.

use rnix::SyntaxKind;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::style::{line_start, lines_with_comments_above, whole_lines};
use super::{ReasonKind, Work};
use crate::inventory::MachineFacts;
use crate::inventory::mapping::{self, Move, Scope, Share, Target, UncertainKind};
use crate::inventory::modules::ModuleInfo;
use crate::syntax::nix::{KeySeg, attrpath_keys, strip_parens};
use crate::syntax::quote::nix_attr;
use crate::text::Span;
use crate::text::edit::TextEdit;

/// One legacy `config` definition of an instance, as read from its binding.
#[derive(Debug, Clone)]
pub(super) struct PartReading {
    pub scope: Scope,
    pub binding: ast::AttrpathValue,
    /// The segments of the binding that name the part (`config`, or
    /// `machines.<m>.config`), when it spells all of them: renamed in place.
    pub path_span: Option<Span>,
    /// Keys after `config` spelled in the binding.
    pub after: Vec<KeySeg>,
    /// The path of the set that holds the binding, relative to the instance.
    pub parent: Vec<String>,
    pub value: Option<ast::Expr>,
}

/// A top-level entry of a part's value (or the part itself, when its path
/// spells keys after `config`): its keys below `config`, what to write, and
/// the comments that document it.
#[derive(Debug, Clone)]
struct Entry {
    keys: Vec<String>,
    /// The entry's own attribute path, when it spells all of its keys
    /// (renames of such keys can be made in place).
    path: Option<ast::Attrpath>,
    /// The keys as the file writes them (quoting kept), when it spells them all.
    spelled: Option<String>,
    value: ast::Expr,
    /// Comment lines right above the entry, and one after it on its line.
    comments_above: Vec<String>,
    comment_after: Option<String>,
}

/// Distributes and writes the settings of `work`'s parts.
pub(super) fn plan_settings(work: &mut Work<'_>, text: &str, machines: &MachineFacts) {
    if work.parts.is_empty() {
        return;
    }
    let parts = std::mem::take(&mut work.parts);
    let module = work.module;
    let mut entries_of: Vec<Option<Vec<Entry>>> = Vec::with_capacity(parts.len());
    for part in &parts {
        match read_entries(part, module) {
            Ok(entries) => entries_of.push(entries),
            Err((kind, message)) => {
                work.block(kind, message, part.path_span.or(Some(part_span(part))));
                work.parts = parts;
                return;
            }
        }
    }
    for (part, entries) in parts.iter().zip(&entries_of) {
        for entry in entries.iter().flatten() {
            check_dropped(work, module, entry, part);
        }
    }
    // By name: copies for several roles come in the same order whatever the
    // order the file defines the roles in.
    let mut roles: Vec<mapping::Role> = work
        .roles
        .iter()
        .map(|r| mapping::Role {
            name: r.name.clone(),
            members: r.members.clone(),
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let mapped: Vec<mapping::Part> = parts
        .iter()
        .zip(&entries_of)
        .map(|(part, entries)| mapping::Part {
            scope: part.scope.clone(),
            prefix: Vec::new(),
            entries: entries
                .as_ref()
                .map(|e| e.iter().map(|entry| entry.keys.clone()).collect()),
        })
        .collect();
    let instance = mapping::Instance {
        service: &work.instance.service,
        module,
        roles: &roles,
        parts: &mapped,
        machines,
    };
    let moves = match mapping::distribute(&instance) {
        Ok(moves) => moves,
        Err(uncertain) => {
            let kind = match uncertain.kind {
                UncertainKind::Keys => ReasonKind::InstanceConfig,
                UncertainKind::NoRole => ReasonKind::MachineConfig,
                UncertainKind::EmptyRole => ReasonKind::EmptyRole,
                UncertainKind::Membership => ReasonKind::Membership,
            };
            let span = uncertain
                .part
                .map(|i| parts[i].path_span.unwrap_or(part_span(&parts[i])));
            work.block(kind, uncertain.message, span);
            work.parts = parts;
            return;
        }
    };
    check_per_machine_targets(work, &parts, &moves);
    check_conflicts(work, &parts, &entries_of, &moves);
    if work.blockers.is_empty() {
        note_dropped(work, &parts, &entries_of, &moves);
        for ((part, entries), moves) in parts.iter().zip(&entries_of).zip(&moves) {
            write_part(work, text, part, entries.as_deref(), moves);
        }
    }
    work.parts = parts;
}

/// The binding of a part, for messages.
fn part_span(part: &PartReading) -> Span {
    Span::from(part.binding.syntax().text_range())
}

type Blocked = (ReasonKind, String);

/// The entries of a part: its top-level entries when its value is an
/// attribute set literal, the part itself when its path spells keys after
/// `config`, `None` when its value is some other expression. Entries whose keys
/// lead to a renamed key are expanded through attribute set literals, so that
/// the renamed key is an entry of its own.
fn read_entries(
    part: &PartReading,
    module: Option<&ModuleInfo>,
) -> Result<Option<Vec<Entry>>, Blocked> {
    let computed = || {
        (
            ReasonKind::Form,
            "a computed attribute name in `config`".to_owned(),
        )
    };
    let after: Option<Vec<String>> = part
        .after
        .iter()
        .map(|k| k.key.as_static().map(str::to_owned))
        .collect();
    let after = after.ok_or_else(computed)?;
    let Some(value) = part.value.clone() else {
        return Ok(None);
    };
    let mut entries = if after.is_empty() {
        match strip_parens(value.clone()) {
            ast::Expr::AttrSet(set) if !crate::syntax::nix::is_rec(&set) => set_entries(&set, &[])?,
            _ => return Ok(None),
        }
    } else {
        let spelled = match (part.after.first(), part.after.last()) {
            (Some(first), Some(last)) => {
                let binding = part.binding.syntax();
                let start = usize::from(first.range.start() - binding.text_range().start());
                let end = usize::from(last.range.end() - binding.text_range().start());
                binding
                    .text()
                    .to_string()
                    .get(start..end)
                    .map(str::to_owned)
            }
            _ => None,
        };
        vec![Entry {
            keys: after,
            path: None,
            spelled,
            value,
            comments_above: Vec::new(),
            comment_after: None,
        }]
    };
    if let Some(module) = module {
        entries = expand_for_renames(entries, module)?;
    }
    Ok(Some(entries))
}

/// The entries of an attribute set literal, each with the keys before it.
fn set_entries(set: &ast::AttrSet, before: &[String]) -> Result<Vec<Entry>, Blocked> {
    let mut out = Vec::new();
    if set.inherits().next().is_some() {
        return Err((ReasonKind::Form, "`inherit` inside `config`".to_owned()));
    }
    for binding in set.attrpath_values() {
        let (Some(path), Some(value)) = (
            binding.attrpath(),
            crate::syntax::nix::binding_value(&binding),
        ) else {
            continue;
        };
        let Some(keys) = crate::syntax::nix::static_keys(&path) else {
            return Err((
                ReasonKind::Form,
                "a computed attribute name in `config`".to_owned(),
            ));
        };
        let (comments_above, comment_after) = comments_of(&binding);
        let mut all = before.to_vec();
        all.extend(keys);
        let spelled = before.is_empty().then(|| path.syntax().text().to_string());
        out.push(Entry {
            keys: all,
            path: before.is_empty().then_some(path),
            spelled,
            value,
            comments_above,
            comment_after,
        });
    }
    Ok(out)
}

/// The comments on the lines right above a binding (inside its set) and the
/// one after it on its own line.
fn comments_of(binding: &ast::AttrpathValue) -> (Vec<String>, Option<String>) {
    let mut above = Vec::new();
    let mut previous = binding.syntax().prev_sibling_or_token();
    while let Some(element) = previous {
        match element.kind() {
            SyntaxKind::TOKEN_WHITESPACE if element.to_string().matches('\n').count() > 1 => break,
            SyntaxKind::TOKEN_WHITESPACE => {}
            SyntaxKind::TOKEN_COMMENT => {
                // Only a comment on lines of its own documents the entry below it.
                let before = element.prev_sibling_or_token();
                let own_line = before.as_ref().is_none_or(|b| {
                    b.kind() != SyntaxKind::TOKEN_WHITESPACE || b.to_string().contains('\n')
                });
                if !own_line {
                    break;
                }
                above.insert(0, element.to_string());
            }
            _ => break,
        }
        previous = element.prev_sibling_or_token();
    }
    let mut after = None;
    let mut next = binding.syntax().next_sibling_or_token();
    while let Some(element) = next {
        match element.kind() {
            SyntaxKind::TOKEN_WHITESPACE if element.to_string().contains('\n') => break,
            SyntaxKind::TOKEN_WHITESPACE => {}
            SyntaxKind::TOKEN_COMMENT => {
                after = Some(element.to_string());
                break;
            }
            _ => break,
        }
        next = element.next_sibling_or_token();
    }
    (above, after)
}

/// Whether `pattern` (`a.*.b`, `*` any one key) matches the first keys of `path`.
fn pattern_matches(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    path.len() >= parts.len() && parts.iter().zip(path).all(|(p, k)| *p == "*" || p == k)
}

/// Whether `path` is a proper prefix of what `pattern` matches.
fn leads_to(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    path.len() < parts.len() && parts.iter().zip(path).all(|(p, k)| *p == "*" || p == k)
}

/// The new keys for a legacy settings path the module renames.
fn renamed_keys(module: &ModuleInfo, keys: &[String]) -> Option<Vec<String>> {
    module.renames.iter().find_map(|(old, new)| {
        if !pattern_matches(old, keys) {
            return None;
        }
        let old: Vec<&str> = old.split('.').collect();
        let new: Vec<&str> = new.split('.').collect();
        // `*` in the new path takes the key the same `*` matched.
        let mut out: Vec<String> = Vec::new();
        let mut stars = old
            .iter()
            .zip(keys)
            .filter(|(p, _)| **p == "*")
            .map(|(_, k)| k.clone());
        for part in new {
            out.push(if part == "*" {
                stars.next()?
            } else {
                part.to_owned()
            });
        }
        out.extend(keys[old.len()..].iter().cloned());
        Some(out)
    })
}

/// Splits entries that lead to a renamed key into the entries of their
/// attribute set values, until the renamed keys are entries of their own.
fn expand_for_renames(entries: Vec<Entry>, module: &ModuleInfo) -> Result<Vec<Entry>, Blocked> {
    let mut out = Vec::new();
    let mut pending = entries;
    pending.reverse();
    while let Some(entry) = pending.pop() {
        let leads = module.renames.keys().any(|old| leads_to(old, &entry.keys));
        if !leads {
            out.push(entry);
            continue;
        }
        match strip_parens(entry.value.clone()) {
            ast::Expr::AttrSet(set) if !crate::syntax::nix::is_rec(&set) => {
                let mut inner = set_entries(&set, &entry.keys)?;
                if let Some(first) = inner.first_mut() {
                    let mut comments = entry.comments_above.clone();
                    comments.append(&mut first.comments_above);
                    first.comments_above = comments;
                }
                inner.reverse();
                pending.extend(inner);
            }
            _ => {
                return Err((
                    ReasonKind::Settings,
                    format!(
                        "setting `{}` holds a key the new module renames, but it is not an attribute set literal",
                        entry.keys.join(".")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Every key path below `keys` through attribute set literals.
fn collect_key_paths(keys: Vec<String>, value: &ast::Expr, out: &mut Vec<Vec<String>>) {
    if let ast::Expr::AttrSet(set) = strip_parens(value.clone()) {
        for binding in set.attrpath_values() {
            let mut path = keys.clone();
            if let Some(attrpath) = binding.attrpath() {
                path.extend(
                    attrpath_keys(&attrpath)
                        .into_iter()
                        .map(|k| k.key.as_static().unwrap_or("${…}").to_owned()),
                );
            }
            if let Some(inner) = crate::syntax::nix::binding_value(&binding) {
                collect_key_paths(path, &inner, out);
            }
        }
    }
    out.push(keys);
}

/// Refuses settings the new module does not have.
fn check_dropped(
    work: &mut Work<'_>,
    module: Option<&ModuleInfo>,
    entry: &Entry,
    part: &PartReading,
) {
    let Some(module) = module.filter(|m| !m.dropped.is_empty()) else {
        return;
    };
    let mut paths = Vec::new();
    collect_key_paths(entry.keys.clone(), &entry.value, &mut paths);
    for path in paths {
        if module.dropped.iter().any(|d| pattern_matches(d, &path)) {
            work.block(
                ReasonKind::Settings,
                format!(
                    "setting `{}` has no counterpart in the new module",
                    path.join(".")
                ),
                part.path_span,
            );
        }
    }
}

/// Says which config reaches no machine whose role declares it (legacy
/// applied it to none): it has nowhere to go, and is dropped.
fn note_dropped(
    work: &mut Work<'_>,
    parts: &[PartReading],
    entries_of: &[Option<Vec<Entry>>],
    moves: &[Vec<Move>],
) {
    for ((part, entries), moves) in parts.iter().zip(entries_of).zip(moves) {
        let scope = match &part.scope {
            Scope::Instance => "config".to_owned(),
            Scope::Role(role) => format!("roles.{}.config", nix_attr(role)),
            Scope::Machine(machine) => format!("machines.{}.config", nix_attr(machine)),
        };
        let dropped: Vec<String> = match entries {
            Some(entries) => entries
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    !moves.iter().any(|m| match &m.share {
                        Share::All => true,
                        Share::Entries(chosen) => chosen.contains(i),
                    })
                })
                .map(|(_, e)| format!("{scope}.{}", nix_path(&e.keys)))
                .collect(),
            None if moves.is_empty() => vec![scope],
            None => Vec::new(),
        };
        for what in dropped {
            work.note(&format!(
                "`{what}` reaches no machine of a role that declares it (legacy applied it to none) and is dropped"
            ));
        }
    }
}

/// Per-machine settings go into `roles.<r>.machines`, which must then be an
/// attribute set the rewrite writes (not an expression it keeps), defined
/// before them: they are written where their `config` was, and Nix merges
/// `roles.<r>.machines.<m>.settings` into a `roles.<r>.machines = { … }`
/// set only when the set comes first.
fn check_per_machine_targets(work: &mut Work<'_>, parts: &[PartReading], moves: &[Vec<Move>]) {
    for (part, moves) in parts.iter().zip(moves) {
        for target in moves.iter().map(|m| &m.target) {
            let Target::Machine { role, machine } = target else {
                continue;
            };
            let Some(reading) = work.roles.iter().find(|r| r.name == *role) else {
                continue;
            };
            let at = part_span(part).start;
            let blocked = if reading.machines_computed {
                Some((
                    ReasonKind::Membership,
                    format!(
                        "machine `{machine}` gets settings of role `{role}`, whose `machines` is an expression: per-machine settings cannot be added to it"
                    ),
                ))
            } else {
                reading.machines_at.filter(|&m| m > at).map(|_| {
                    (ReasonKind::DefinitionOrder, format!(
                        "machine `{machine}` gets settings of role `{role}` where this `config` is, above `roles.{role}.machines`, and Nix does not merge a set defined after its attributes: move `roles.{role}.machines` above the `config`, then run fix again"
                    ))
                })
            };
            if let Some((kind, message)) = blocked {
                work.block(kind, message, part.path_span);
            }
        }
    }
}

/// Two parts that set the same setting (or one replaces what the other
/// extends) would be two definitions; Nix and the module system reject that.
fn check_conflicts(
    work: &mut Work<'_>,
    parts: &[PartReading],
    entries_of: &[Option<Vec<Entry>>],
    moves: &[Vec<Move>],
) {
    let mut defs: Vec<SettingsDef> = Vec::new();
    let module = work.module;
    for ((part, entries), moves) in parts.iter().zip(entries_of).zip(moves) {
        let span = part.path_span.unwrap_or(part_span(part));
        for m in moves {
            match (entries, &m.share) {
                (None, _) => defs.push((
                    m.target.clone(),
                    Vec::new(),
                    set_literal(part.value.clone()),
                    span,
                )),
                (Some(entries), share) => {
                    // `config = { … };` whole to one target is renamed in
                    // place: a set literal at the target's root, whose place
                    // in the file matters to Nix next to the other parts.
                    if matches!(share, Share::All) && part.after.is_empty() {
                        defs.push((
                            m.target.clone(),
                            Vec::new(),
                            set_literal(part.value.clone()),
                            span,
                        ));
                    }
                    for (i, entry) in entries.iter().enumerate() {
                        if let Share::Entries(chosen) = share
                            && !chosen.contains(&i)
                        {
                            continue;
                        }
                        let keys = module
                            .and_then(|m| renamed_keys(m, &entry.keys))
                            .unwrap_or_else(|| entry.keys.clone());
                        defs.push((
                            m.target.clone(),
                            keys,
                            set_literal(Some(entry.value.clone())),
                            span,
                        ));
                    }
                }
            }
        }
    }
    if let Some(module) = module {
        for role in work.roles.iter().filter(|r| module.roles.contains(&r.name)) {
            for key in module.set.keys() {
                defs.push((
                    Target::Role(role.name.clone()),
                    vec![key.clone()],
                    None,
                    Span::default(),
                ));
            }
        }
    }
    if let Some((message, span)) = settings_conflict(&defs) {
        work.block(ReasonKind::InstanceConfig, message, Some(span));
    }
}

/// A settings definition: where it goes, its keys there, its value when that
/// is an attribute set literal, and the span reported.
type SettingsDef = (Target, Vec<String>, Option<ast::AttrSet>, Span);

/// The attribute set literal `value` is, if it is one.
fn set_literal(value: Option<ast::Expr>) -> Option<ast::AttrSet> {
    match value.map(strip_parens) {
        Some(ast::Expr::AttrSet(set)) if !crate::syntax::nix::is_rec(&set) => Some(set),
        _ => None,
    }
}

/// The bindings of a set literal, each at its attribute path with its value
/// when that is a set literal; `None` when a key needs evaluation or the set
/// inherits.
type Leaves = Vec<(Vec<String>, Option<ast::AttrSet>)>;

fn leaves(set: &ast::AttrSet) -> Option<Leaves> {
    if set.inherits().next().is_some() {
        return None;
    }
    let mut out = Vec::new();
    for binding in set.attrpath_values() {
        out.push((
            crate::syntax::nix::static_keys(&binding.attrpath()?)?,
            set_literal(crate::syntax::nix::binding_value(&binding)),
        ));
    }
    Some(out)
}

/// Whether two groups of bindings, under one path, would define some
/// attribute twice: Nix merges set literals (recursively), and `x = { … };`
/// with `x.y = …;` when the set comes first; the rest clashes.
fn leaves_clash(left: &Leaves, right: &Leaves) -> bool {
    left.iter().any(|(path, set)| {
        right.iter().any(|(other, other_set)| {
            let (shorter, longer) = if path.len() <= other.len() {
                (path, other)
            } else {
                (other, path)
            };
            if !longer.starts_with(shorter) {
                return false;
            }
            match (set, other_set) {
                (Some(x), Some(y)) if path.len() == other.len() => sets_clash(x, y),
                (Some(x), _) if path.len() < other.len() => {
                    set_clashes_with(x, &other[path.len()..], other_set.clone())
                }
                (_, Some(y)) if other.len() < path.len() => {
                    set_clashes_with(y, &path[other.len()..], set.clone())
                }
                _ => true,
            }
        })
    })
}

/// Whether two set literals defined at one path would define some attribute
/// twice. Keys that need evaluation count as a clash.
fn sets_clash(a: &ast::AttrSet, b: &ast::AttrSet) -> bool {
    match (leaves(a), leaves(b)) {
        (Some(left), Some(right)) => leaves_clash(&left, &right),
        _ => true,
    }
}

/// Whether set literal `set` clashes with a definition at `rest` below it
/// (whose value is `value` when a set literal).
fn set_clashes_with(set: &ast::AttrSet, rest: &[String], value: Option<ast::AttrSet>) -> bool {
    match leaves(set) {
        Some(left) => leaves_clash(&left, &vec![(rest.to_vec(), value)]),
        None => true,
    }
}

/// The first pair of settings definitions that would define one path twice.
fn settings_conflict(defs: &[SettingsDef]) -> Option<(String, Span)> {
    for (i, (target, path, literal, span)) in defs.iter().enumerate() {
        for (other_target, other_path, other_literal, other_span) in &defs[i + 1..] {
            if target != other_target || span == other_span {
                continue;
            }
            let (shorter, shorter_literal, longer) = if path.len() <= other_path.len() {
                (path, literal.is_some(), other_path)
            } else {
                (other_path, other_literal.is_some(), path)
            };
            if !longer.starts_with(shorter) {
                continue;
            }
            let equal = path.len() == other_path.len();
            if equal
                && let (Some(a), Some(b)) = (literal, other_literal)
                && !sets_clash(a, b)
            {
                continue; // Nix merges two set literals that share no attribute
            }
            if !equal && shorter_literal {
                let (set, set_span, value, value_span) = if path.len() < other_path.len() {
                    (literal, span, other_literal, other_span)
                } else {
                    (other_literal, other_span, literal, span)
                };
                let rest = &longer[shorter.len()..];
                let merges = set.as_ref().is_some_and(|set| {
                    if set_span.start < value_span.start {
                        // `x = { … }; x.y = …;`: Nix merges what does not clash.
                        !set_clashes_with(set, rest, value.clone())
                    } else {
                        // `x.y = …; x = { … };`: Nix merges only keys the set
                        // does not touch at all.
                        leaves(set).is_some_and(|leaves| {
                            leaves.iter().all(|(keys, _)| keys.first() != rest.first())
                        })
                    }
                });
                if merges {
                    continue;
                }
            }
            let target = target.nix_path();
            let what = if shorter.is_empty() {
                format!("`{target}`")
            } else {
                format!("`{target}.{}`", shorter.join("."))
            };
            let message = if !shorter_literal && shorter.is_empty() {
                format!(
                    "{what} is given as an expression and would have to be merged with other parts; merge them by hand into one attribute set"
                )
            } else {
                format!(
                    "{what} would be set twice (by two legacy `config` parts); legacy merged them, the new format needs one definition"
                )
            };
            let span = if *other_span == Span::default() {
                *span
            } else {
                *other_span
            };
            return Some((message, span));
        }
    }
    None
}

fn nix_path(keys: &[String]) -> String {
    keys.iter()
        .map(|k| nix_attr(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// The instance-relative path of a target, key by key.
fn target_keys(target: &Target) -> Vec<String> {
    match target {
        Target::Role(role) => vec!["roles".into(), role.clone(), "settings".into()],
        Target::Machine { role, machine } => vec![
            "roles".into(),
            role.clone(),
            "machines".into(),
            machine.clone(),
            "settings".into(),
        ],
    }
}

/// Whether a target is the one the part's own place names, so that renaming
/// its segments in place gives it all.
fn is_home(part: &PartReading, target: &Target, moves: &[Move]) -> bool {
    match (&part.scope, target) {
        (Scope::Role(giver), Target::Role(role)) => giver == role,
        (Scope::Instance, Target::Role(_)) | (Scope::Machine(_), Target::Machine { .. }) => {
            moves.len() == 1
        }
        _ => false,
    }
}

/// Writes one part: renamed in place, copied in place, or copied after the
/// instance's last binding.
fn write_part(
    work: &mut Work<'_>,
    text: &str,
    part: &PartReading,
    entries: Option<&[Entry]>,
    moves: &[Move],
) {
    let module = work.module;
    let renames_in_place = entries.is_none_or(|entries| {
        entries.iter().all(|e| {
            module.and_then(|m| renamed_keys(m, &e.keys)).is_none()
                || (e.path.is_some() || part.after.len() == e.keys.len())
        })
    });
    let home = moves
        .iter()
        .position(|m| m.share == Share::All && is_home(part, &m.target, moves));
    if let (Some(home), Some(path_span), true) = (home, part.path_span, renames_in_place) {
        let replacement = match &part.scope {
            Scope::Role(_) => "settings".to_owned(),
            Scope::Instance | Scope::Machine(_) => moves[home].target.nix_path(),
        };
        work.body.push(TextEdit::replace(path_span, replacement));
        if let (Some(entries), Some(module)) = (entries, module) {
            rename_in_place(work, part, entries, module);
        }
        let others: Vec<&Move> = moves
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != home)
            .map(|(_, m)| m)
            .collect();
        // The comments stay with the part that keeps its place.
        let lines = copy_lines(module, part, entries, &others, &[], false);
        work.tail.extend(lines);
        return;
    }
    // Copies where the part was, when every target is below the set that
    // holds it and nothing after it would define a prefix of theirs again.
    let below_parent = moves
        .iter()
        .all(|m| target_keys(&m.target).starts_with(&part.parent));
    if below_parent && !later_literal_prefix(part, moves) {
        let all: Vec<&Move> = moves.iter().collect();
        let lines = copy_lines(module, part, entries, &all, &part.parent, true);
        work.replaced.push(Replacement {
            binding: part.binding.clone(),
            lines,
        });
        return;
    }
    // Otherwise after the instance: the part goes, and the sets around it it
    // leaves empty, each with the comments above it.
    let mut comments = deleted_with_comments(work, text, &part.binding);
    let mut child = part.binding.clone();
    while let Some(parent) = emptied_parent(work, &child) {
        let mut outer = deleted_with_comments(work, text, &parent);
        outer.append(&mut comments);
        comments = outer;
        child = parent;
    }
    work.tail.extend(comments);
    let all: Vec<&Move> = moves.iter().collect();
    let lines = copy_lines(module, part, entries, &all, &[], true);
    work.tail.extend(lines);
}

/// Deletes a binding, with the comments on the lines right above it when it
/// has its lines to itself; returns those comments.
fn deleted_with_comments(
    work: &mut Work<'_>,
    text: &str,
    binding: &ast::AttrpathValue,
) -> Vec<String> {
    let span = lines_with_comments_above(text, binding);
    let own = whole_lines(text, Span::from(binding.syntax().text_range()));
    if own.start != line_start(text, own.start) || own.end < span.end {
        work.deleted.push(own);
        return Vec::new();
    }
    work.deleted.push(span);
    text[span.start..own.start]
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Whether a binding after the part, in the set that holds it, defines a
/// prefix of a copy's path with an attribute set literal: copies placed before
/// it would make Nix reject that set (it merges only one level deep).
fn later_literal_prefix(part: &PartReading, moves: &[Move]) -> bool {
    let copies: Vec<Vec<String>> = moves
        .iter()
        .map(|m| target_keys(&m.target)[part.parent.len()..].to_vec())
        .collect();
    let mut next = part.binding.syntax().next_sibling();
    while let Some(node) = next {
        if let Some(binding) = ast::AttrpathValue::cast(node.clone())
            && let Some(path) = binding.attrpath()
        {
            let keys: Vec<String> = attrpath_keys(&path)
                .into_iter()
                .map(|k| k.key.as_static().unwrap_or("${…}").to_owned())
                .collect();
            let literal = matches!(
                crate::syntax::nix::binding_value(&binding).map(strip_parens),
                Some(ast::Expr::AttrSet(_))
            );
            if literal
                && copies
                    .iter()
                    .any(|c| c.len() > keys.len() && c.starts_with(&keys))
            {
                return true;
            }
        }
        next = node.next_sibling();
    }
    false
}

/// The bindings `moves` write, each on its own line, in the order of the
/// part's entries, relative to the set at `base` (a prefix of the targets'
/// paths). `comments`: the comments of each entry go with its first copy (a
/// comment is kept once, where its key is first written).
fn copy_lines(
    module: Option<&ModuleInfo>,
    part: &PartReading,
    entries: Option<&[Entry]>,
    moves: &[&Move],
    base: &[String],
    comments: bool,
) -> Vec<String> {
    let target = |m: &Move| {
        target_keys(&m.target)[base.len()..]
            .iter()
            .map(|k| nix_attr(k))
            .collect::<Vec<_>>()
            .join(".")
    };
    let Some(entries) = entries else {
        let value = part
            .value
            .as_ref()
            .map(|v| v.syntax().text().to_string())
            .unwrap_or_default();
        return moves
            .iter()
            .map(|m| format!("{} = {value};", target(m)))
            .collect();
    };
    let mut moves = moves.to_vec();
    moves.sort_by(|a, b| a.target.cmp(&b.target));
    let mut lines = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let keys = match module.and_then(|mo| renamed_keys(mo, &entry.keys)) {
            Some(renamed) => nix_path(&renamed),
            None => entry
                .spelled
                .clone()
                .unwrap_or_else(|| nix_path(&entry.keys)),
        };
        let value = entry.value.syntax().text().to_string();
        let after = entry
            .comment_after
            .as_ref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        let mut commented = !comments;
        for m in &moves {
            if let Share::Entries(chosen) = &m.share
                && !chosen.contains(&i)
            {
                continue;
            }
            let after = if commented { "" } else { after.as_str() };
            if !commented {
                lines.extend(entry.comments_above.iter().cloned());
                commented = true;
            }
            lines.push(format!("{}.{keys} = {value};{after}", target(m)));
        }
    }
    lines
}

/// Renames, inside a part that keeps its place, the entries whose keys the
/// module renames (each spelled by one attribute path).
fn rename_in_place(
    work: &mut Work<'_>,
    part: &PartReading,
    entries: &[Entry],
    module: &ModuleInfo,
) {
    for entry in entries {
        let Some(new) = renamed_keys(module, &entry.keys) else {
            continue;
        };
        if let Some(path) = &entry.path {
            work.body.push(TextEdit::replace(
                Span::from(path.syntax().text_range()),
                nix_path(&new),
            ));
        } else if !part.after.is_empty() {
            let span = Span::new(
                usize::from(part.after[0].range.start()),
                usize::from(part.after[part.after.len() - 1].range.end()),
            );
            work.body.push(TextEdit::replace(span, nix_path(&new)));
        }
    }
}

/// The binding of the set around `child`, inside the instance, once nothing
/// else is left in that set (`machines = { m = { config = …; }; }` after its
/// config moved out).
fn emptied_parent(work: &Work<'_>, child: &ast::AttrpathValue) -> Option<ast::AttrpathValue> {
    let parent = crate::syntax::nix::enclosing_binding(child.syntax())?;
    let ast::Expr::AttrSet(set) = crate::syntax::nix::binding_value(&parent).map(strip_parens)?
    else {
        return None;
    };
    let set_span = Span::from(set.syntax().text_range());
    let instance_set = work.contributors.iter().any(|c| {
        c.node.syntax() == parent.syntax()
            || crate::syntax::nix::binding_value(&c.node)
                .is_some_and(|v| Span::from(v.syntax().text_range()) == set_span)
    });
    let empty = set
        .entries()
        .all(|e| work.is_deleted(Span::from(e.syntax().text_range())));
    (!instance_set && empty).then_some(parent)
}

/// A binding replaced by the copies of its settings, written relative to
/// the set that holds it.
#[derive(Debug, Clone)]
pub(super) struct Replacement {
    pub binding: ast::AttrpathValue,
    pub lines: Vec<String>,
}
