//! Pass 1: every file is read and parsed once, analysed with what it alone
//! tells (and its directory's surroundings), and reduced to what it says for
//! other files and what it has to report. Files that other files import as
//! (part of) an inventory are mounted there and collected again, until no new
//! mount appears.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use compact_str::CompactString;

use rayon::prelude::*;

use super::surroundings::Surroundings;
use super::{Options, read_source};
use crate::engine::analysis::{self, FileAnalysis};
use crate::inventory::context::{Elsewhere, FileContext};
use crate::inventory::{InventoryImport, MachineFacts};
use crate::io::discover::{self, IoFailure, Skipped, normalize};
use crate::text::SourceFile;

/// What pass 1 keeps of a file: what it tells other files of its clan, and its
/// analysis while that still holds. Its text is read again in pass 2.
pub(super) struct Collected {
    pub path: PathBuf,
    /// The logical paths at which other files mount this one.
    pub mounts: Vec<Vec<String>>,
    /// The length and digest of the text pass 1 read (the digest only for a
    /// file that is kept, see [`Collected::is_quiet`]).
    pub len: usize,
    pub digest: u64,
    pub facts: ClanFacts,
    /// The surroundings of its directory (shared by the files there).
    pub dir: Arc<FileContext>,
    /// The file was named explicitly.
    pub explicit: bool,
    /// What the other files of its clan define, once it matters (see `clans`).
    pub clan: Option<Box<ClanView>>,
    /// The analysis with its surroundings, while they hold (`None` when it has
    /// nothing to report, or once the surroundings changed: it is made again in
    /// pass 2).
    pub analysis: Option<Held>,
    /// Standard input's text, which cannot be read again.
    pub stdin: Option<Box<SourceFile>>,
    /// Reported even without findings (`fix -` prints its input back).
    pub keep_text: bool,
    /// Read only for what it tells the named files of its clan: not reported.
    pub context_only: bool,
}

/// An analysis held from pass 1 to pass 2, encoded (postcard) and compressed
/// (LZ4): a run holds the analyses of all its files with findings between the
/// passes, and their messages, labels and edits repeat from instance to
/// instance.
pub(super) struct Held(Box<[u8]>);

impl Held {
    /// `None` when it cannot be encoded (it is then made again in pass 2).
    fn keep(analysis: &FileAnalysis) -> Option<Held> {
        let encoded = postcard::to_allocvec(analysis).ok()?;
        Some(Held(
            lz4_flex::compress_prepend_size(&encoded).into_boxed_slice(),
        ))
    }

    /// The analysis as it was kept; `None` if it does not decode.
    pub fn take(self) -> Option<FileAnalysis> {
        let encoded = lz4_flex::decompress_size_prepended(&self.0).ok()?;
        postcard::from_bytes(&encoded).ok()
    }
}

/// What the other files of a file's clan tell it.
#[derive(Debug, Default)]
pub(super) struct ClanView {
    pub taken_elsewhere: Vec<Elsewhere<String>>,
    pub settings_elsewhere: Vec<Elsewhere<(String, String)>>,
    pub machines: Option<Arc<MachineFacts>>,
    pub registered_modules: Vec<String>,
}

/// What a file tells the other files of its clan.
#[derive(Debug, Default)]
pub(super) struct ClanFacts {
    /// Instance names it defines or would generate, with their lines.
    pub names: Vec<(CompactString, usize)>,
    /// (instance, settings path) it defines, with their lines.
    pub settings: Vec<((CompactString, CompactString), usize)>,
    /// The machines and tags it defines.
    pub machines: Option<Box<MachineFacts>>,
    /// Inventory files it imports with literal relative paths.
    pub imports: Vec<InventoryImport>,
    /// An instance is left because tag membership is unknown (the clan's
    /// machines may tell).
    pub needs_membership: bool,
    /// `@clan/` module names it registers.
    pub registered_modules: Vec<String>,
    /// It uses an `@clan/` name that another file of the flake may register.
    pub needs_registrations: bool,
}

impl ClanFacts {
    fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.settings.is_empty()
            && self.machines.is_none()
            && self.imports.is_empty()
            && !self.needs_membership
            && self.registered_modules.is_empty()
            && !self.needs_registrations
    }
}

impl Collected {
    pub fn stdin(source: SourceFile, dir: Arc<FileContext>, options: &Options) -> Self {
        let mounts = analysis::default_mounts_for(&source.path);
        let (mut collected, source) = Collected::analysed(source, mounts, dir, true, options);
        collected.keep_text = true;
        if collected.analysis.is_none() {
            let analysis = analysis::analyze(&source, &collected.mounts, &collected.context());
            collected.analysis = Held::keep(&analysis);
        }
        collected.stdin = Some(Box::new(source));
        collected
    }

    /// The surroundings of its analysis: its directory's, with what its clan tells.
    pub fn context(&self) -> FileContext {
        let mut context = (*self.dir).clone();
        context.path = match (context.path.take(), self.path.file_name()) {
            (Some(dir), Some(name)) => Some(dir.join(name)),
            _ => None,
        };
        context.explicit = self.explicit;
        if let Some(clan) = &self.clan {
            context.taken_elsewhere = clan.taken_elsewhere.clone();
            context.settings_elsewhere = clan.settings_elsewhere.clone();
            context.machines = clan.machines.clone();
            context.registered_modules = clan.registered_modules.clone();
        }
        context
    }

    /// Analyses `source` with `context`; the text is dropped (and kept, for
    /// standard input, in `stdin` by the caller).
    fn analysed(
        source: SourceFile,
        mounts: Vec<Vec<String>>,
        dir: Arc<FileContext>,
        explicit: bool,
        options: &Options,
    ) -> (Self, SourceFile) {
        let mut collected = Collected {
            path: source.path.clone(),
            mounts,
            len: source.text.len(),
            digest: 0,
            facts: ClanFacts::default(),
            dir,
            explicit,
            clan: None,
            analysis: None,
            stdin: None,
            keep_text: false,
            context_only: false,
        };
        let mut analysis = analysis::analyze(&source, &collected.mounts, &collected.context());
        collected.facts = ClanFacts {
            names: lines_of(&source, &analysis.names),
            settings: analysis
                .settings
                .iter()
                .map(|def| {
                    let line = source.position(def.span.start).line;
                    let key = (def.instance.as_str().into(), def.target.as_str().into());
                    (key, line)
                })
                .collect(),
            machines: (analysis.machines != MachineFacts::default())
                .then(|| Box::new(analysis.machines.clone())),
            imports: std::mem::take(&mut analysis.imports),
            needs_membership: analysis.needs_membership(),
            registered_modules: std::mem::take(&mut analysis.registered_modules),
            needs_registrations: analysis.unregistered_modules,
        };
        // What other files need is in `facts` now.
        if options.drop_plans {
            analysis.plan = Default::default();
        }
        analysis.names = Vec::new();
        analysis.settings = Vec::new();
        analysis.machines = MachineFacts::default();
        if !analysis.findings.is_empty() {
            collected.analysis = Held::keep(&analysis);
        }
        // Pass 2 reads again only the files kept: only theirs is needed.
        if !collected.is_quiet() {
            collected.digest = digest(&source);
        }
        (collected, source)
    }

    /// Whether the file has nothing to report or to tell other files.
    fn is_quiet(&self) -> bool {
        self.analysis.is_none() && self.facts.is_empty() && !self.keep_text
    }
}

fn lines_of(source: &SourceFile, names: &[(String, usize)]) -> Vec<(CompactString, usize)> {
    names
        .iter()
        .map(|(name, offset)| (name.as_str().into(), source.position(*offset).line))
        .collect()
}

/// A digest of a file's content, to notice that it changed between the two
/// passes (with its length, which is compared too). The change it looks for is
/// an edit, not an attack: a fast hash with a fixed seed.
pub(super) fn digest(source: &SourceFile) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one((source.bom, source.text.as_str()))
}

/// The result of pass 1 over some paths.
pub(super) struct Collection {
    /// Files with something to report or to tell, sorted by path.
    pub files: Vec<Collected>,
    pub files_scanned: usize,
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
    /// The absolute paths of the walked `flake.nix` files.
    pub flakes: HashSet<PathBuf>,
    /// The clan directories read for what they tell the named files, and how
    /// many files that took.
    pub context_roots: Vec<PathBuf>,
    pub context_files: usize,
}

/// Pass 1 over `paths` (`.` when empty).
pub(super) fn collect(paths: &[PathBuf], options: &Options) -> Collection {
    let default_paths = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default_paths[..]
    } else {
        paths
    };
    let found = discover::discover(paths, &options.walk);
    let mut errors = found.errors;
    let mut around = Surroundings::new(options);
    let (context_roots, context_files) =
        clans_around(paths, &found.files, &mut around, &options.walk);
    let context_count = context_files.len();
    // Surroundings are looked up once per directory (cheap, sequential);
    // reading and analysing are per file, on all cores.
    let jobs: Vec<(PathBuf, Arc<FileContext>, bool)> = found
        .files
        .into_iter()
        .map(|path| (path, false))
        .chain(context_files.iter().map(|path| (path.clone(), true)))
        .map(|(path, context_only)| {
            let dir = around.dir_of(&path);
            (path, dir, context_only)
        })
        .collect();
    let flakes: HashSet<PathBuf> = jobs
        .iter()
        .filter(|(path, _, _)| path.file_name().is_some_and(|n| n == "flake.nix"))
        .filter_map(|(_, dir, _)| dir.path.as_ref().map(|d| d.join("flake.nix")))
        .collect();
    let explicit: HashSet<PathBuf> = found.explicit.into_iter().collect();
    let progress = Progress::new(jobs.len());
    let outcomes: Vec<(Outcome, bool)> = jobs
        .into_par_iter()
        .with_max_len(1)
        .map(|(path, dir, context_only)| {
            progress.tick();
            let outcome = match read_source(&path) {
                // A file read only for its clan's facts is not the user's
                // concern when it cannot be read.
                Err(_) if context_only => Outcome::Quiet(path),
                Err(failure) => Outcome::Failed(failure),
                Ok(source) => {
                    let mounts = analysis::default_mounts_for(&path);
                    let explicit = explicit.contains(&path);
                    let (mut collected, _) =
                        Collected::analysed(source, mounts, dir, explicit, options);
                    collected.context_only = context_only;
                    if collected.is_quiet() {
                        Outcome::Quiet(path)
                    } else {
                        Outcome::Kept(Box::new(collected))
                    }
                }
            };
            (outcome, context_only)
        })
        .collect();
    progress.finish();
    let files_scanned = outcomes.iter().filter(|(_, context)| !context).count();
    let mut files = Vec::new();
    let mut quiet = Vec::new();
    for (outcome, _) in outcomes {
        match outcome {
            Outcome::Kept(file) => files.push(*file),
            Outcome::Quiet(path) => quiet.push(path),
            Outcome::Failed(failure) => errors.push(failure),
        }
    }
    let context_files: HashSet<PathBuf> = context_files.into_iter().collect();
    follow_imports(
        options,
        &mut files,
        quiet,
        &context_files,
        &mut around,
        &mut errors,
    );
    errors.append(&mut around.take_errors());
    files.retain(|file| !file.is_quiet());
    // Paths are unique: walked files are deduplicated, imported files are quiet ones.
    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Collection {
        files,
        files_scanned,
        errors,
        skipped: found.skipped,
        flakes,
        context_roots,
        context_files: context_count,
    }
}

/// The files of the clans the named `paths` belong to that the run does not
/// walk: a file named alone (as a pre-commit hook names it) is analysed with
/// what the rest of its clan defines, as in a run over the whole clan. The
/// clan of a path is the directory of its nearest `flake.nix`.
fn clans_around(
    paths: &[PathBuf],
    walked: &[PathBuf],
    around: &mut Surroundings,
    walk: &discover::WalkOptions,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let absolute = |p: &Path| std::path::absolute(p).map(|a| normalize(&a)).ok();
    let walked_dirs: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| absolute(p))
        .collect();
    let mut roots: Vec<PathBuf> = Vec::new();
    for path in paths {
        // The surroundings of a directory are those of a file in it.
        let probe = if path.is_dir() {
            path.join("flake.nix")
        } else {
            path.clone()
        };
        let Some(clan_dir) = around.dir_of(&probe).clan_dir.clone() else {
            continue;
        };
        if walked_dirs.iter().any(|d| clan_dir.starts_with(d)) || roots.contains(&clan_dir) {
            continue;
        }
        roots.push(clan_dir);
    }
    if roots.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let shown: Vec<PathBuf> = roots
        .iter()
        .map(|r| super::surroundings::relative_to_cwd(r))
        .map(|r| {
            if r.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                r
            }
        })
        .collect();
    let named: HashSet<PathBuf> = walked.iter().filter_map(|p| absolute(p)).collect();
    let files = discover::discover(&shown, walk)
        .files
        .into_iter()
        .filter(|p| absolute(p).is_none_or(|a| !named.contains(&a)))
        .collect();
    (shown, files)
}

enum Outcome {
    Kept(Box<Collected>),
    Quiet(PathBuf),
    Failed(IoFailure),
}

/// Mounts every file that another file imports as (part of) an inventory at the
/// importer's logical path, and collects it again, until nothing new is
/// mounted. A quiet file that is imported is collected here for the first time.
fn follow_imports(
    options: &Options,
    files: &mut Vec<Collected>,
    quiet: Vec<PathBuf>,
    context_files: &HashSet<PathBuf>,
    around: &mut Surroundings,
    errors: &mut Vec<IoFailure>,
) {
    if files.iter().all(|f| f.facts.imports.is_empty()) {
        return;
    }
    // Normalized path -> the file, or the quiet file's path (not kept yet).
    let mut index: HashMap<PathBuf, Result<usize, PathBuf>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (normalize(&f.path), Ok(i)))
        .collect();
    index.extend(quiet.into_iter().map(|p| (normalize(&p), Err(p))));
    let mut pending: Vec<usize> = (0..files.len()).collect();
    while let Some(importer) = pending.pop() {
        let dir = files[importer]
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for import in files[importer].facts.imports.clone() {
            let target = normalize(&dir.join(&import.path_text));
            let key = if index.contains_key(&target) {
                target
            } else {
                target.join("default.nix")
            };
            let Some(slot) = index.get_mut(&key) else {
                continue;
            };
            let (path, mut mounts, dir, explicit, context_only) = match slot {
                Ok(i) => {
                    let file = &files[*i];
                    if file.mounts.contains(&import.mount) {
                        continue;
                    }
                    let mounts = file.mounts.clone();
                    let (explicit, context_only) = (file.explicit, file.context_only);
                    (
                        file.path.clone(),
                        mounts,
                        file.dir.clone(),
                        explicit,
                        context_only,
                    )
                }
                Err(path) => {
                    let dir = around.dir_of(path);
                    let mounts = analysis::default_mounts_for(path);
                    let context_only = context_files.contains(path);
                    (path.clone(), mounts, dir, false, context_only)
                }
            };
            mounts.push(import.mount);
            let source = match read_source(&path) {
                Ok(source) => source,
                Err(failure) => {
                    errors.push(failure);
                    continue;
                }
            };
            let (mut collected, _) = Collected::analysed(source, mounts, dir, explicit, options);
            collected.context_only = context_only;
            let at = match slot {
                Ok(i) => {
                    files[*i] = collected;
                    *i
                }
                Err(_) => {
                    files.push(collected);
                    *slot = Ok(files.len() - 1);
                    files.len() - 1
                }
            };
            pending.push(at);
        }
    }
}

/// A file counter on stderr for long runs, only when stderr is a terminal.
struct Progress {
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    shown: bool,
}

impl Progress {
    /// Runs shorter than this many files finish before a counter helps.
    const MIN_FILES: usize = 2000;

    fn new(total: usize) -> Self {
        use std::io::IsTerminal;
        Progress {
            total,
            done: std::sync::atomic::AtomicUsize::new(0),
            shown: total >= Self::MIN_FILES && std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.shown && done.is_multiple_of(500) {
            eprint!("\rclan-migrate: {done}/{} files", self.total);
        }
    }

    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::FileKind;

    /// An analysis held between the passes is the analysis made: every file of
    /// the test data, analysed as a `fix` would, round-trips.
    #[test]
    fn held_analyses_come_back_as_they_were() {
        let mut held = 0;
        for dir in ["before", "after"] {
            for text in crate::test_support::testdata_nix_sources(dir) {
                let source = SourceFile::from_text(PathBuf::from("x.nix"), text, FileKind::Nix);
                let context = FileContext {
                    digest_meaning: true,
                    explicit: true,
                    ..FileContext::default()
                };
                let analysis = analysis::analyze(&source, &[], &context);
                let back = Held::keep(&analysis).and_then(Held::take);
                let back = back.expect("the analysis is kept");
                assert_eq!(back.findings, analysis.findings);
                assert_eq!(back.plan.edits, analysis.plan.edits);
                assert_eq!(back.plan.instances, analysis.plan.instances);
                assert_eq!(back.plan.meaning_before, analysis.plan.meaning_before);
                assert_eq!(back.plan.corrections, analysis.plan.corrections);
                held += usize::from(!analysis.findings.is_empty());
            }
        }
        assert!(held > 50, "{held}");
    }
}
