//! Puts the clans together from what pass 1 collected: the files of one clan
//! share its machines and tags, and each learns which of its instance names and
//! settings another file of the clan defines too. A file whose analysis
//! depended on something its clan now tells differently is analysed again in
//! pass 2.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::collect::{ClanView, Collected};
use crate::inventory::MachineFacts;
use crate::inventory::context::Elsewhere;

/// Gives every file in a clan what the other files of its clan define.
/// `flakes`: the absolute paths of the `flake.nix` files the run walked (a clan
/// whose `flake.nix` is not among them was not walked whole: its tags are not
/// all known).
pub(super) fn resolve(files: &mut [Collected], flakes: &HashSet<PathBuf>) {
    let mut clans: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        if let Some(dir) = &file.dir.clan_dir {
            clans.entry(dir.clone()).or_default().push(i);
        }
    }
    for (dir, members) in clans {
        let mut machines = MachineFacts::default();
        for &i in &members {
            if let Some(own) = &files[i].facts.machines {
                machines.extend(own);
            }
        }
        machines.incomplete |= !flakes.contains(&dir.join("flake.nix"));
        let machines = Arc::new(machines);
        let mut taken = shared_keys(files, &members, |f| &f.facts.names, |n| n.to_string());
        let mut shared = shared_keys(
            files,
            &members,
            |f| &f.facts.settings,
            |(a, b)| (a.to_string(), b.to_string()),
        );
        let mut registered: Vec<String> = members
            .iter()
            .flat_map(|&i| files[i].facts.registered_modules.iter().cloned())
            .collect();
        registered.sort_unstable();
        registered.dedup();
        for &i in &members {
            let taken = taken.remove(&i).unwrap_or_default();
            let shared = shared.remove(&i).unwrap_or_default();
            let file = &mut files[i];
            let registrations = file.facts.needs_registrations && !registered.is_empty();
            if taken.is_empty()
                && shared.is_empty()
                && !file.facts.needs_membership
                && !registrations
            {
                continue;
            }
            file.clan = Some(Box::new(ClanView {
                taken_elsewhere: taken,
                settings_elsewhere: shared,
                machines: Some(machines.clone()),
                registered_modules: if registrations {
                    registered.clone()
                } else {
                    Vec::new()
                },
            }));
            // Analysed again, with what the clan tells, in pass 2.
            file.analysis = None;
        }
    }
}

/// For each file of `members` that defines a key (read by `keys_of`) that
/// another of them defines too: those keys, each with the first other
/// definition (by path order, then line).
fn shared_keys<K: Ord, T: PartialEq>(
    files: &[Collected],
    members: &[usize],
    keys_of: impl Fn(&Collected) -> &Vec<(K, usize)>,
    shown: impl Fn(&K) -> T,
) -> HashMap<usize, Vec<Elsewhere<T>>> {
    let mut all: Vec<(&K, usize, usize)> = members
        .iter()
        .flat_map(|&i| {
            keys_of(&files[i])
                .iter()
                .map(move |(key, line)| (key, i, *line))
        })
        .collect();
    all.sort_unstable();
    let mut out: HashMap<usize, Vec<Elsewhere<T>>> = HashMap::new();
    for group in all.chunk_by(|a, b| a.0 == b.0) {
        // Sorted by file, then line: each file's first definition comes first.
        let (_, first_file, first_line) = group[0];
        let Some(&(_, second_file, second_line)) =
            group.iter().find(|(_, file, _)| *file != first_file)
        else {
            continue;
        };
        let mut previous = None;
        for &(key, file, _) in group {
            if previous == Some(file) {
                continue;
            }
            previous = Some(file);
            let (path, line) = if file == first_file {
                (&files[second_file].path, second_line)
            } else {
                (&files[first_file].path, first_line)
            };
            out.entry(file).or_default().push(Elsewhere {
                key: shown(key),
                path: path.clone(),
                line,
            });
        }
    }
    out
}
