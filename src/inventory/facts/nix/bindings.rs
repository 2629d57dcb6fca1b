//! What one binding says: legacy instances, new instances, machines and
//! tags, imports, and the forms that cannot be migrated.

use super::*;

/// The length of the services prefix that `path` starts with.
pub(super) fn services_prefix_len(path: &[&Key]) -> Option<usize> {
    prefix_len(SERVICES_PREFIXES, path)
}

pub(super) fn prefix_len(prefixes: &[&[&str]], path: &[&Key]) -> Option<usize> {
    prefixes
        .iter()
        .find(|prefix| path.len() >= prefix.len() && prefix.iter().zip(path).all(|(p, k)| k.is(p)))
        .map(|prefix| prefix.len())
}

/// Whether `path` is exactly the `inventory` part of a services prefix.
pub(super) fn is_inventory_path(path: &[&Key]) -> bool {
    SERVICES_PREFIXES.iter().any(|prefix| {
        let inv = &prefix[..prefix.len() - 1];
        path.len() == inv.len() && inv.iter().zip(path).all(|(p, k)| k.is(p))
    })
}

pub(super) fn static_path(path: &[&Key]) -> Option<Vec<String>> {
    path.iter()
        .map(|k| k.as_static().map(str::to_owned))
        .collect()
}

pub(super) fn display_path(path: &[&Key]) -> String {
    path.iter()
        .map(|k| match k {
            Key::Static(s) => crate::syntax::quote::nix_attr(s),
            Key::Dynamic => "${…}".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Records the facts `binding` (in a set at `ctx`, under `mount`) defines, and
/// says whether it defines an inventory instance or something inside one
/// (`<inventory>.services.<s>.<i>…`, `<inventory>.instances.<i>…`). Its value
/// is then instance data (machine lists, settings, NixOS modules): an
/// `inventory.services` written in it is not the clan's inventory.
pub(super) fn visit_binding(
    binding: &ast::AttrpathValue,
    ctx: &SetContext,
    mount: &[Key],
    facts: &mut LegacyFacts,
) -> bool {
    let Some(attrpath) = binding.attrpath() else {
        return false;
    };
    let segs: Vec<KeySeg> = attrpath_keys(&attrpath);
    if segs.is_empty() {
        return false;
    }
    let full: Vec<&Key> = mount
        .iter()
        .chain(&ctx.path)
        .chain(segs.iter().map(|s| &s.key))
        .collect();
    record_binding(binding, ctx, mount, facts, &segs, &full);
    defines_instance(&full)
}

/// Whether a binding at logical path `full` defines an instance or something
/// inside one: `<inventory>.services.<s>.<i>…` or `<inventory>.instances.<i>…`.
pub(super) fn defines_instance(full: &[&Key]) -> bool {
    services_prefix_len(full).is_some_and(|k| full.len() >= k + 2)
        || prefix_len(INSTANCES_PREFIXES, full).is_some_and(|k| full.len() > k)
}

/// The facts of a binding whose own segments are `segs` and whose logical path is `full`.
pub(super) fn record_binding(
    binding: &ast::AttrpathValue,
    ctx: &SetContext,
    mount: &[Key],
    facts: &mut LegacyFacts,
    segs: &[KeySeg],
    full: &[&Key],
) {
    let base = mount.len() + ctx.path.len();
    let value = crate::syntax::nix::binding_value(binding);
    let binding_span = Span::from(binding.syntax().text_range());

    // Inventory files pulled in by literal imports.
    if let Some(value) = &value {
        let seg = full.len().checked_sub(base + 1).and_then(|i| segs.get(i));
        record_imports(binding, full, value, binding_span, seg, facts);
    }

    if let Some(k) = prefix_len(INSTANCES_PREFIXES, full)
        && full.len() > k
        && base <= k
        && let Key::Static(name) = full[k]
    {
        let binding = InstanceBinding {
            binding: binding_span,
            label: Span::from(segs[k - base].range),
            base,
            prefix_len: k,
            mount_len: mount.len(),
        };
        facts.add_new_instance_binding(name, binding);
    }

    if let Some(value) = &value {
        record_machine_facts(full, value, facts);
    }
    if prefix_len(INSTANCES_PREFIXES, full) == Some(full.len())
        && base < full.len()
        && let Some(value) = &value
        && !crate::syntax::nix::terminals(value)
            .iter()
            .all(|(t, _)| matches!(t, ast::Expr::AttrSet(_)))
    {
        facts.opaque_instances.push(binding_span);
    }

    let Some(k) = services_prefix_len(full) else {
        return;
    };
    if base > k + 1 {
        return; // inside an instance
    }
    let seg_at = |index: usize| &segs[index - base];
    let update_at = ctx.update_at.map(|d| d + mount.len());

    if full.len() == k {
        check_level_value(
            value.as_ref(),
            Some(binding),
            full,
            binding_span,
            seg_at(k - 1),
            Level::Services,
            None,
            facts,
        );
        return;
    }
    // full.len() > k: the service name is known here.
    let service = full[k];
    if base <= k && matches!(service, Key::Dynamic) {
        push_unmigratable(
            facts,
            seg_at(k),
            &full[..=k],
            UnmigratableReason::DynamicKey {
                level: Level::Service,
            },
        );
        return;
    }
    let Key::Static(service) = service else {
        return;
    };
    if full.len() == k + 1 {
        check_level_value(
            value.as_ref(),
            Some(binding),
            full,
            binding_span,
            seg_at(k),
            Level::Service,
            Some(service),
            facts,
        );
        return;
    }
    let instance = full[k + 1];
    if base <= k + 1 && matches!(instance, Key::Dynamic) {
        push_unmigratable(
            facts,
            seg_at(k + 1),
            &full[..k + 2],
            UnmigratableReason::DynamicKey {
                level: Level::Instance,
            },
        );
        return;
    }
    let Key::Static(instance) = instance else {
        return;
    };
    if update_at.is_some_and(|d| d <= k + 1) {
        return; // the `//` at `services` or the service is reported instead
    }
    let first = &segs[0];
    let label = Span::new(
        usize::from(first.range.start()),
        usize::from(seg_at(k + 1).range.end()),
    );
    facts.add_instance_binding(
        service,
        instance,
        InstanceBinding {
            binding: binding_span,
            label,
            base,
            prefix_len: k,
            mount_len: mount.len(),
        },
        update_at.is_some(),
    );
}

/// `inventory.machines.<m>.tags = [ … ]`, `….machineClass = "…"`, `inventory.tags.<t> = [ … ]`:
/// literal facts for resolving tag membership; anything non-literal makes them incomplete.
pub(super) fn record_machine_facts(full: &[&Key], value: &ast::Expr, all_facts: &mut LegacyFacts) {
    let Some(inv) = (1..=3).find(|&n| full.len() > n && is_inventory_path(&full[..n])) else {
        return;
    };
    let offset = usize::from(value.syntax().text_range().start());
    let facts = match all_facts.clan_at(offset) {
        Some(own) => &mut all_facts.own_clans[own],
        None => {
            return record_machine_facts_into(full, inv, value, &mut all_facts.machines);
        }
    };
    record_machine_facts_into(full, inv, value, &mut facts.machines);
}

pub(super) fn record_machine_facts_into(
    full: &[&Key],
    inv: usize,
    value: &ast::Expr,
    machines: &mut crate::inventory::MachineFacts,
) {
    let rest = &full[inv..];
    let literal_strings = |v: &ast::Expr| -> Option<Vec<String>> {
        let ast::Expr::List(list) = strip_parens(v.clone()) else {
            return None;
        };
        list.items()
            .map(|i| match i {
                ast::Expr::Str(s) => crate::syntax::nix::str_literal(&s),
                _ => None,
            })
            .collect()
    };
    let value = strip_parens(value.clone());
    let is_set = matches!(value, ast::Expr::AttrSet(_));
    match rest {
        [m, ..] if m.is("machines") && rest.len() == 1 && !is_set => machines.incomplete = true,
        [m, name, tail @ ..] if m.is("machines") => {
            let Key::Static(name) = name else {
                machines.incomplete = true;
                return;
            };
            // What an expression gives this machine is not known; the
            // other machines' literal tags still are.
            let info = machines.machines.entry(name.to_string()).or_default();
            match tail {
                [] if !is_set => info.computed = true,
                [t] if t.is("tags") => match literal_strings(&value) {
                    Some(tags) => info.tags.extend(tags),
                    None => info.computed = true,
                },
                [c] if c.is("machineClass") => match &value {
                    ast::Expr::Str(s) => info.class = crate::syntax::nix::str_literal(s),
                    _ => info.computed = true,
                },
                _ => {}
            }
        }
        [t, ..] if t.is("tags") && rest.len() == 1 && !is_set => machines.incomplete = true,
        [t, tag] if t.is("tags") => match (tag, literal_strings(&value)) {
            (Key::Static(tag), Some(list)) => machines
                .tag_lists
                .entry(tag.to_string())
                .or_default()
                .extend(list),
            _ => machines.incomplete = true,
        },
        _ => {}
    }
}

/// `inventory = <value>`, `services = <value>` or `services.<svc> = <value>`:
/// what the value is made of, seen through what the walk sees through
/// ([`crate::syntax::nix::terminals`]). A set is walked on its own; `import
/// ./x.nix` mounts the file there; a variable that a `let` binds to a set,
/// used nowhere else, is walked at this path; an empty set where services
/// belong is a leftover; anything else cannot be migrated statically (a
/// function's argument is left to the call that passes it).
#[allow(clippy::too_many_arguments)]
pub(super) fn check_level_value(
    value: Option<&ast::Expr>,
    owner: Option<&ast::AttrpathValue>,
    full: &[&Key],
    binding: Span,
    seg: &KeySeg,
    level: Level,
    service: Option<&str>,
    facts: &mut LegacyFacts,
) {
    let Some(value) = value else {
        return;
    };
    let terminals = crate::syntax::nix::terminals(value);
    let plain = terminals.len() == 1 && terminals[0].1.is_none();
    for (expr, _) in terminals {
        if let ast::Expr::AttrSet(set) = &expr {
            let empty = set.entries().next().is_none() && !crate::syntax::nix::is_rec(set);
            if empty && plain && level != Level::Inventory {
                facts.empty.push(EmptyLegacyServices {
                    span: Span::from(seg.range),
                    binding,
                    service: service.map(str::to_owned),
                });
            }
            continue;
        }
        if let (Some(path_text), Some(mount)) = (import_of_literal_path(&expr), static_path(full)) {
            facts.imports.push(InventoryImport {
                path_text,
                mount,
                span: if level == Level::Inventory {
                    binding
                } else {
                    Span::from(expr.syntax().text_range())
                },
            });
            continue;
        }
        let update =
            matches!(&expr, ast::Expr::BinOp(b) if b.operator() == Some(ast::BinOpKind::Update));
        if update && level == Level::Inventory {
            continue; // walked: its instances depend on the other operand
        }
        if let ast::Expr::Ident(_) = &expr {
            match crate::syntax::nix::resolve_variable(&expr) {
                crate::syntax::nix::Variable::Argument => continue,
                crate::syntax::nix::Variable::Bound(bound)
                    if used_once(&expr)
                        && let Some(path) = static_path(full) =>
                {
                    let sets = crate::syntax::nix::terminals(&bound);
                    if sets.iter().all(|(e, _)| matches!(e, ast::Expr::AttrSet(_))) {
                        facts.references.push(Reference {
                            range: bound.syntax().text_range(),
                            path,
                        });
                        continue;
                    }
                }
                _ => {}
            }
        }
        // `inventory` is also a common name outside clans (a library's
        // functions, a module's option): an expression there is reported only
        // where the set is a clan's.
        if level == Level::Inventory && !owner.is_some_and(crate::syntax::nix::in_clan_like_set) {
            continue;
        }
        push_unmigratable(
            facts,
            seg,
            full,
            UnmigratableReason::NonLiteral {
                level,
                what: describe_expr(&expr),
            },
        );
    }
}

/// Whether the variable `ident` is used once in the `let` that binds it
/// (renaming inside its value changes only this use).
pub(super) fn used_once(ident: &ast::Expr) -> bool {
    let ast::Expr::Ident(ident) = ident else {
        return false;
    };
    let name = crate::syntax::nix::ident_text(ident);
    let scope = ident
        .syntax()
        .ancestors()
        .find(|n| n.kind() == SyntaxKind::NODE_LET_IN);
    scope.is_some_and(|scope| {
        scope
            .descendants()
            .filter(|n| {
                n.parent()
                    .is_some_and(|p| p.kind() != SyntaxKind::NODE_ATTRPATH)
            })
            .filter_map(ast::Ident::cast)
            .filter(|i| crate::syntax::nix::ident_text(i) == name)
            .count()
            == 1
    })
}

pub(super) fn push_unmigratable(
    facts: &mut LegacyFacts,
    seg: &KeySeg,
    path: &[&Key],
    reason: UnmigratableReason,
) {
    facts.unmigratable.push(UnmigratableForm {
        span: Span::from(seg.range),
        path: display_path(path),
        reason,
    });
}

pub(super) fn record_imports(
    node: &ast::AttrpathValue,
    full: &[&Key],
    value: &ast::Expr,
    binding: Span,
    seg: Option<&KeySeg>,
    facts: &mut LegacyFacts,
) {
    // `inventory = import ./x.nix;`, `inventory = let … in { … }`, …
    if is_inventory_path(full) {
        if let Some(seg) = seg {
            check_level_value(
                Some(value),
                Some(node),
                full,
                binding,
                seg,
                Level::Inventory,
                None,
                facts,
            );
        }
        return;
    }
    // `inventory.imports = [ ./x.nix ];`
    let Some((last, parent)) = full.split_last() else {
        return;
    };
    if !last.is("imports") || !is_inventory_path(parent) {
        return;
    }
    let (ast::Expr::List(list), Some(mount)) = (strip_parens(value.clone()), static_path(parent))
    else {
        return;
    };
    for item in list.items() {
        let path_text = literal_relative_path(&item).or_else(|| import_of_literal_path(&item));
        if let Some(path_text) = path_text {
            facts.imports.push(InventoryImport {
                path_text,
                mount: mount.clone(),
                span: Span::from(item.syntax().text_range()),
            });
        }
    }
}

pub(super) fn visit_inherit(
    inherit: &ast::Inherit,
    ctx: &SetContext,
    mount: &[Key],
    facts: &mut LegacyFacts,
) {
    let from = inherit
        .from()
        .and_then(|f| f.expr())
        .map(|e| e.syntax().text().to_string());
    for attr in inherit.attrs() {
        let key = crate::syntax::nix::attr_key(&attr);
        let full: Vec<&Key> = mount.iter().chain(&ctx.path).chain([&key]).collect();
        let Some(k) = services_prefix_len(&full) else {
            continue;
        };
        let seg = KeySeg {
            key: key.clone(),
            range: attr.syntax().text_range(),
        };
        let level = match full.len().checked_sub(k) {
            Some(0) => Level::Services,
            Some(1) => Level::Service,
            Some(2) => {
                if let (Key::Static(service), Key::Static(instance)) = (full[k], full[k + 1]) {
                    facts.add_instance_binding(
                        service,
                        instance,
                        InstanceBinding {
                            binding: Span::from(inherit.syntax().text_range()),
                            label: Span::from(attr.syntax().text_range()),
                            base: full.len() - 1,
                            prefix_len: k,
                            mount_len: mount.len(),
                        },
                        ctx.update_at.is_some(),
                    );
                }
                continue;
            }
            _ => continue,
        };
        push_unmigratable(
            facts,
            &seg,
            &full,
            UnmigratableReason::Inherited {
                level,
                from: from.clone(),
            },
        );
    }
}
