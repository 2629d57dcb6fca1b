//! A run over files: discover them, analyse each (pure, per file), follow
//! inventory imports across files, and collect one report. `check` renders it;
//! `fix` applies the plans it holds.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::analysis::{self, FileAnalysis};
use crate::diagnostic::{Finding, Severity};
use crate::discover::{self, IoFailure, Skipped, describe_io_error, normalize};
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::ConfigLookup;
use crate::inventory::flake::FlakeLookup;
use crate::inventory::modules::ModuleTable;
use crate::rewrite::plan::{FileContext, Outcome, Plan, ReasonKind};
use crate::source::{FileKind, SourceFile};

/// What to read.
#[derive(Debug, Clone)]
pub enum Input {
    /// Files and directories (walked).
    Paths(Vec<PathBuf>),
    /// Standard input, named `name` in messages.
    Stdin { name: PathBuf },
}

/// Options that change what a fix would write (and so what `check` says).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `module.input` to write; read from the nearest `flake.nix` when `None`.
    pub module_input: Option<String>,
    pub tags_as_attrs: bool,
    /// Parse every file (by default files that cannot hold inventory code are skipped).
    pub no_prefilter: bool,
}

/// One file with findings: its text, findings, and what `fix` would do.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub source: SourceFile,
    pub findings: Vec<Finding>,
    pub mounts: Vec<Vec<String>>,
    pub context: FileContext,
    pub plan: Plan,
}

impl FileReport {
    /// A file's report from its analysis, in the surroundings it was analysed in.
    pub fn new(
        source: SourceFile,
        mounts: Vec<Vec<String>>,
        context: FileContext,
        analysis: FileAnalysis,
    ) -> Self {
        Self {
            source,
            findings: analysis.findings,
            mounts,
            context,
            plan: analysis.plan,
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    /// Files with findings, sorted by path.
    pub files: Vec<FileReport>,
    pub files_scanned: usize,
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    /// What the findings add up to.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for file in &self.files {
            totals.add_file(file);
        }
        totals
    }

    pub fn has_errors(&self) -> bool {
        self.totals().has_errors(!self.errors.is_empty())
    }
}

/// What the findings of a run add up to; kept while the files are rendered a
/// batch at a time.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    by_code: std::collections::BTreeMap<&'static str, usize>,
    parse_errors: bool,
    warnings: bool,
}

impl Totals {
    pub fn add(&mut self, finding: &Finding) {
        *self.by_code.entry(finding.rule.code).or_default() += 1;
        self.parse_errors |= finding.rule.code == crate::lints::parse_error::RULE.code;
        self.warnings |= finding.severity() >= Severity::Warning;
    }

    pub fn add_file(&mut self, file: &FileReport) {
        for finding in &file.findings {
            self.add(finding);
        }
    }

    /// Counts per rule code, in code order.
    pub fn counts_by_code(&self) -> Vec<(&'static str, usize)> {
        self.by_code.iter().map(|(c, n)| (*c, *n)).collect()
    }

    pub fn findings(&self) -> usize {
        self.by_code.values().sum()
    }

    /// Whether something could not be read (`read_errors`) or parsed.
    pub fn has_errors(&self, read_errors: bool) -> bool {
        read_errors || self.parse_errors
    }

    /// 2 when something could not be read or parsed, 1 when findings remain, 0 otherwise.
    pub fn exit_code(&self, read_errors: bool) -> u8 {
        if self.has_errors(read_errors) {
            2
        } else {
            u8::from(self.warnings)
        }
    }
}

/// Runs the analysis over `input` and keeps every file with findings.
pub fn run(input: &Input, options: &Options) -> Report {
    start(input, options).into_report()
}

/// Runs the analysis over `input`; the files with findings are then taken a
/// batch at a time, in path order, from the returned [`Run`].
pub fn start(input: &Input, options: &Options) -> Run {
    match input {
        Input::Stdin { name } => run_stdin(name, options),
        Input::Paths(paths) => run_paths(paths, options, &MemoryBudget::from_env()),
    }
}

/// A run whose cross-file analysis is done: its files with findings wait to be
/// taken in path order, a batch at a time.
pub struct Run {
    /// Files with findings (or spilled), sorted by path.
    entries: std::vec::IntoIter<Entry>,
    pub files_scanned: usize,
    /// Errors so far; taking a batch can add some (a spilled file that can no
    /// longer be read, or that changed).
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
}

impl Run {
    /// Files taken per batch.
    const BATCH: usize = 512;

    /// The next files with findings, in path order; `None` when all were taken.
    /// Files whose results were not kept (see [`MemoryBudget`]) are analysed
    /// again here, on all cores, with the mounts and context of the first pass.
    pub fn next_batch(&mut self) -> Option<Vec<FileReport>> {
        let chunk: Vec<Entry> = self.entries.by_ref().take(Self::BATCH).collect();
        if chunk.is_empty() {
            return None;
        }
        let taken: Vec<Result<Option<FileReport>, IoFailure>> =
            chunk.into_par_iter().map(Entry::into_report).collect();
        let mut files = Vec::new();
        for result in taken {
            match result {
                Ok(Some(file)) => files.push(file),
                Ok(None) => {}
                Err(failure) => self.errors.push(failure),
            }
        }
        Some(files)
    }

    /// The whole run as one report.
    pub fn into_report(mut self) -> Report {
        let mut files = Vec::new();
        while let Some(batch) = self.next_batch() {
            files.extend(batch);
        }
        self.errors.sort_by(|a, b| a.path.cmp(&b.path));
        Report {
            files,
            files_scanned: self.files_scanned,
            errors: self.errors,
            skipped: self.skipped,
        }
    }
}

/// How much of the first pass's results a run keeps (estimated bytes). Past it,
/// a file's results are dropped once its cross-file facts are recorded, and the
/// file is analysed again when its batch is rendered: memory stays bounded on
/// trees where every file has findings, at the cost of a second analysis of
/// those files. `CLAN_MIGRATE_MEMORY_BUDGET` sets it in MiB (0: keep nothing).
pub struct MemoryBudget {
    limit: usize,
    used: std::sync::atomic::AtomicUsize,
}

impl MemoryBudget {
    const DEFAULT_MIB: usize = 24;

    pub fn from_env() -> Self {
        let mib = std::env::var("CLAN_MIGRATE_MEMORY_BUDGET")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(Self::DEFAULT_MIB);
        Self::new(mib.saturating_mul(1 << 20))
    }

    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            limit,
            used: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget; false (and nothing taken) when they do not fit.
    fn take(&self, bytes: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
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

    /// Clears the counter line.
    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

/// `path` relative to the working directory when it is below it (messages show
/// paths the way the user named them).
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            path.strip_prefix(normalize(&cwd))
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf())
}

/// Per-run caches of what lies around the files.
#[derive(Default)]
struct Surroundings {
    flakes: FlakeLookup,
    configs: ConfigLookup,
    /// Invalid configurations already reported.
    reported: Vec<PathBuf>,
}

/// The surroundings of a file that the rewrite depends on.
fn file_context(
    path: &Path,
    options: &Options,
    around: &mut Surroundings,
    errors: &mut Vec<IoFailure>,
) -> FileContext {
    let absolute = std::path::absolute(path).ok().map(|p| normalize(&p));
    let dir = absolute
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf);
    let flake = dir.as_ref().and_then(|d| around.flakes.nearest(d));
    let config = dir.as_ref().and_then(|d| around.configs.nearest(d));
    let (modules, config_error, config_input) = match config {
        None => (Arc::new(ModuleTable::default()), None, None),
        Some((_, Ok(table))) => {
            let input = table.user.module_input.clone();
            (table, None, input)
        }
        Some((config_path, Err(error))) => {
            let shown = relative_to_cwd(&config_path);
            if !around.reported.contains(&config_path) {
                around.reported.push(config_path.clone());
                errors.push(IoFailure {
                    path: shown.clone(),
                    message: error.message.clone(),
                });
            }
            let message = format!("{} is invalid", shown.display());
            (Arc::new(ModuleTable::default()), Some(message), None)
        }
    };
    FileContext {
        path: absolute,
        clan_dir: flake.as_ref().map(|(dir, _)| dir.clone()),
        module_input: options
            .module_input
            .clone()
            .or(config_input)
            .or_else(|| flake.and_then(|(_, input)| input)),
        tags_as_attrs: options.tags_as_attrs,
        taken_elsewhere: Vec::new(),
        modules,
        config_error,
        machines: None,
        settings_elsewhere: Vec::new(),
        no_prefilter: options.no_prefilter,
        explicit: false,
    }
}

fn run_stdin(name: &Path, options: &Options) -> Run {
    let mut bytes = Vec::new();
    let mut run = Run {
        entries: Vec::new().into_iter(),
        files_scanned: 0,
        errors: Vec::new(),
        skipped: Vec::new(),
    };
    if let Err(err) = std::io::stdin().read_to_end(&mut bytes) {
        run.errors.push(IoFailure {
            path: name.to_path_buf(),
            message: format!("cannot read standard input: {}", describe_io_error(&err)),
        });
        return run;
    }
    match decode(name, bytes) {
        Err(failure) => run.errors.push(failure),
        Ok(source) => {
            let mut context =
                file_context(name, options, &mut Surroundings::default(), &mut run.errors);
            context.explicit = true;
            let mut entry = Entry::new(source.clone(), analysis::default_mounts_for(name), context);
            // `fix -` prints the input back even when there is nothing to change.
            entry.source = Some(source);
            run.files_scanned = 1;
            run.entries = vec![entry].into_iter();
        }
    }
    run
}

/// Reads a file as a [`SourceFile`].
pub fn read_source(path: &Path) -> Result<SourceFile, IoFailure> {
    let bytes = std::fs::read(path).map_err(|err| IoFailure {
        path: path.to_path_buf(),
        message: describe_io_error(&err),
    })?;
    decode(path, bytes)
}

fn decode(path: &Path, bytes: Vec<u8>) -> Result<SourceFile, IoFailure> {
    SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::of_path(path)).map_err(|err| {
        IoFailure {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    })
}

/// A file's analysis; its text is kept only while it has findings (to render them).
struct Entry {
    path: PathBuf,
    source: Option<SourceFile>,
    mounts: Vec<Vec<String>>,
    context: FileContext,
    analysis: FileAnalysis,
    /// Whether an instance is left because tag membership is unknown (the clan's
    /// machines may tell).
    needs_membership: bool,
    /// Set when the results were dropped to stay within the memory budget: the
    /// digest of the text that was analysed; only cross-file facts are kept.
    spilled: Option<u64>,
    /// The results are counted in the memory budget.
    budgeted: bool,
}

impl Entry {
    /// Analyses the file again with other mounts or context; its text is read
    /// again when it was dropped (the file had no findings).
    fn reanalyze(
        &mut self,
        mounts: Vec<Vec<String>>,
        context: FileContext,
    ) -> Result<(), IoFailure> {
        let source = match self.source.take() {
            Some(source) => source,
            None => read_source(&self.path)?,
        };
        // Results that were counted in the memory budget stay counted.
        let budgeted = self.budgeted;
        *self = Entry::new(source, mounts, context);
        self.budgeted = budgeted && self.source.is_some();
        Ok(())
    }

    fn new(source: SourceFile, mounts: Vec<Vec<String>>, context: FileContext) -> Self {
        let analysis = analysis::analyze(&source, &mounts, &context);
        let needs_membership = analysis.plan.instances.iter().any(|p| {
            matches!(&p.outcome, Outcome::Left(reason, _) if reason.kind == ReasonKind::MachineConfig)
        });
        Entry {
            path: source.path.clone(),
            source: (!analysis.findings.is_empty()).then_some(source),
            mounts,
            context,
            analysis,
            needs_membership,
            spilled: None,
            budgeted: false,
        }
    }

    /// Keeps the results within `budget`, or drops all but the cross-file facts.
    fn keep_within(&mut self, budget: &MemoryBudget) {
        let Some(source) = self.source.as_ref().filter(|_| !self.budgeted) else {
            return;
        };
        // Text, plan (edits hold new text) and findings: about three times the text.
        let cost = source.text.len() * 3 + self.analysis.findings.len() * 256;
        if budget.take(cost) {
            self.budgeted = true;
            return;
        }
        self.spilled = Some(digest(source));
        self.source = None;
        self.analysis.findings = Vec::new();
        self.analysis.plan = Plan::default();
    }

    /// The file's report (`None` when it has no findings); a spilled file is read
    /// and analysed again, and must not have changed since the first pass.
    fn into_report(self) -> Result<Option<FileReport>, IoFailure> {
        let entry = match self.spilled {
            None => self,
            Some(expected) => {
                crate::failpoint::change_file("changed-before-second-read", &self.path);
                let source = read_source(&self.path)?;
                if digest(&source) != expected {
                    return Err(IoFailure {
                        path: self.path,
                        message: "the file changed while clan-migrate was reading the tree; \
                                  run it again"
                            .into(),
                    });
                }
                Entry::new(source, self.mounts, self.context)
            }
        };
        let Some(source) = entry.source else {
            return Ok(None);
        };
        Ok(Some(FileReport::new(
            source,
            entry.mounts,
            entry.context,
            entry.analysis,
        )))
    }
}

/// A digest of a file's content, to notice that it changed between two reads.
fn digest(source: &SourceFile) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    source.bom.hash(&mut hasher);
    source.text.hash(&mut hasher);
    hasher.finish()
}

fn run_paths(paths: &[PathBuf], options: &Options, budget: &MemoryBudget) -> Run {
    let default_paths = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default_paths[..]
    } else {
        paths
    };
    let found = discover::discover(paths);
    let mut errors = found.errors;

    let mut around = Surroundings::default();
    // Surroundings are looked up once per directory (cheap, sequential); reading
    // and analysing are per file and pure, so they run on all cores, in path order.
    let mut contexts = ContextTemplates {
        by_dir: HashMap::new(),
        explicit: found.explicit.iter().cloned().collect(),
    };
    for path in &found.files {
        contexts.prepare(path, options, &mut around, &mut errors);
    }
    let flakes: HashSet<PathBuf> = found
        .files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "flake.nix"))
        .filter_map(|p| contexts.for_file(p).path)
        .collect();
    let progress = Progress::new(found.files.len());
    let analysed: Vec<Analysed> = found
        .files
        .into_par_iter()
        .map(|path| {
            progress.tick();
            let source = match read_source(&path) {
                Ok(source) => source,
                Err(failure) => return Analysed::Failed(failure),
            };
            let mounts = analysis::default_mounts_for(&path);
            let mut entry = Entry::new(source, mounts, contexts.for_file(&path));
            if entry.analysis.is_empty() {
                Analysed::Quiet(path)
            } else {
                entry.keep_within(budget);
                Analysed::Entry(Box::new(entry))
            }
        })
        .collect();
    progress.finish();
    // Sized once: an entry is large, and growing the vector by doubling would
    // copy them all and briefly hold half as many again.
    let kept = analysed
        .iter()
        .filter(|a| matches!(a, Analysed::Entry(_)))
        .count();
    let mut entries: Vec<Entry> = Vec::with_capacity(kept);
    let mut quiet: Vec<PathBuf> = Vec::with_capacity(analysed.len() - kept);
    for result in analysed {
        match result {
            Analysed::Entry(entry) => entries.push(*entry),
            Analysed::Quiet(path) => quiet.push(path),
            Analysed::Failed(failure) => errors.push(failure),
        }
    }
    let files_scanned = entries.len() + quiet.len();
    follow_imports(&mut entries, quiet, &contexts, budget, &mut errors);
    apply_clan_facts(&mut entries, &flakes, budget, &mut errors);

    entries.retain(|entry| entry.source.is_some() || entry.spilled.is_some());
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Run {
        entries: entries.into_iter(),
        files_scanned,
        errors,
        skipped: found.skipped,
    }
}

/// What the analysis of one file leaves: files with nothing to report or to
/// remember (most files of a large tree) keep only their path.
enum Analysed {
    Entry(Box<Entry>),
    Quiet(PathBuf),
    Failed(IoFailure),
}

/// The surroundings of the files of a run, looked up once per directory.
struct ContextTemplates {
    /// Directory (as walked) -> the context of its files, `path` being the directory.
    by_dir: HashMap<PathBuf, FileContext>,
    explicit: HashSet<PathBuf>,
}

impl ContextTemplates {
    fn prepare(
        &mut self,
        path: &Path,
        options: &Options,
        around: &mut Surroundings,
        errors: &mut Vec<IoFailure>,
    ) {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.by_dir.entry(dir).or_insert_with(|| {
            let mut context = file_context(path, options, around, errors);
            context.path = context
                .path
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf);
            context
        });
    }

    /// The context of a file whose directory was prepared.
    fn for_file(&self, path: &Path) -> FileContext {
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut context = self.by_dir.get(dir).cloned().unwrap_or_default();
        context.path = match (context.path.take(), path.file_name()) {
            (Some(dir), Some(name)) => Some(dir.join(name)),
            _ => None,
        };
        context.explicit = self.explicit.contains(path);
        context
    }
}

/// Mounts every file that another file imports as (part of) an inventory at the
/// importer's logical path, and analyses it again, until nothing new is mounted.
/// A quiet file that is imported is analysed here for the first time with the mount.
fn follow_imports(
    entries: &mut Vec<Entry>,
    quiet: Vec<PathBuf>,
    contexts: &ContextTemplates,
    budget: &MemoryBudget,
    errors: &mut Vec<IoFailure>,
) {
    if entries.iter().all(|e| e.analysis.imports.is_empty()) {
        return;
    }
    // Normalized path -> the entry, or the quiet file's path (not analysed yet).
    let mut index: HashMap<PathBuf, Result<usize, PathBuf>> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (normalize(&e.path), Ok(i)))
        .collect();
    index.extend(quiet.into_iter().map(|p| (normalize(&p), Err(p))));
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    while let Some(importer) = pending.pop() {
        let dir = entries[importer]
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let imports = entries[importer].analysis.imports.clone();
        for import in imports {
            let target = normalize(&dir.join(&import.path_text));
            let key = if index.contains_key(&target) {
                target
            } else {
                target.join("default.nix")
            };
            let Some(slot) = index.get_mut(&key) else {
                continue;
            };
            let target = match slot {
                Ok(i) => *i,
                Err(path) => {
                    let mut mounts = analysis::default_mounts_for(path);
                    mounts.push(import.mount.clone());
                    let source = match read_source(path) {
                        Ok(source) => source,
                        Err(failure) => {
                            errors.push(failure);
                            continue;
                        }
                    };
                    let mut entry = Entry::new(source, mounts, contexts.for_file(path));
                    entry.keep_within(budget);
                    entries.push(entry);
                    *slot = Ok(entries.len() - 1);
                    pending.push(entries.len() - 1);
                    continue;
                }
            };
            if entries[target].mounts.contains(&import.mount) {
                continue;
            }
            let mut mounts = entries[target].mounts.clone();
            mounts.push(import.mount);
            let context = entries[target].context.clone();
            if let Err(failure) = entries[target].reanalyze(mounts, context) {
                errors.push(failure);
                continue;
            }
            entries[target].keep_within(budget);
            pending.push(target);
        }
    }
}

/// Where a key (an instance name, a settings path) is first defined, and where
/// first in another file than that one: enough to name, for any file, the
/// first other file that defines it, without a list per key.
#[derive(Debug, Clone, Copy)]
struct FirstDefinitions {
    /// (entry, offset)
    first: (usize, usize),
    in_another_file: Option<(usize, usize)>,
}

impl FirstDefinitions {
    fn record<K>(
        slot: std::collections::hash_map::Entry<'_, K, FirstDefinitions>,
        at: (usize, usize),
    ) {
        use std::collections::hash_map::Entry::{Occupied, Vacant};
        match slot {
            Vacant(slot) => {
                slot.insert(FirstDefinitions {
                    first: at,
                    in_another_file: None,
                });
            }
            Occupied(mut slot) => {
                let defs = slot.get_mut();
                if defs.in_another_file.is_none() && defs.first.0 != at.0 {
                    defs.in_another_file = Some(at);
                }
            }
        }
    }

    /// The first definition in a file other than `entry`.
    fn other_than(&self, entry: usize) -> Option<(usize, usize)> {
        if self.first.0 != entry {
            Some(self.first)
        } else {
            self.in_another_file
        }
    }
}

/// Facts that span the files of one clan (the directory of its `flake.nix`):
/// instance names must be unique across them, and tags are resolved with every
/// file's `inventory.machines`. Files that these facts concern are planned again.
/// `flakes`: the absolute paths of the `flake.nix` files among the run's files.
fn apply_clan_facts(
    entries: &mut [Entry],
    flakes: &HashSet<PathBuf>,
    budget: &MemoryBudget,
    errors: &mut Vec<IoFailure>,
) {
    let mut clans: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(clan) = entry.context.clan_dir.clone() {
            clans.entry(clan).or_default().push(i);
        }
    }
    for (clan, members) in &clans {
        let mut machines = crate::inventory::MachineFacts::default();
        for &i in members {
            machines.extend(&entries[i].analysis.machines);
        }
        // Tags are only known when the run covers the whole clan: its flake.nix
        // is among the files (a directory walk from the clan's root).
        let whole_clan = flakes.contains(&clan.join("flake.nix"));
        machines.incomplete |= !whole_clan;
        let machines = Arc::new(machines);
        // Who defines each instance name and each (instance, settings path): one
        // pass over the clan's files, so the lookups below do not grow with it.
        let mut by_name: HashMap<&str, FirstDefinitions> = HashMap::new();
        let mut by_settings: HashMap<(&str, &str), FirstDefinitions> = HashMap::new();
        for &j in members {
            for (name, offset) in &entries[j].analysis.names {
                FirstDefinitions::record(by_name.entry(name.as_str()), (j, *offset));
            }
            for def in &entries[j].analysis.settings {
                let key = (def.instance.as_str(), def.target.as_str());
                FirstDefinitions::record(by_settings.entry(key), (j, def.span.start));
            }
        }
        let line_in = |j: usize, offset: usize| {
            read_source(&entries[j].path).map_or(0, |s| s.position(offset).line)
        };
        let mut updates: Vec<(usize, FileContext)> = Vec::new();
        for &i in members {
            let mut taken: Vec<(String, PathBuf, usize)> = Vec::new();
            let mut mine: Vec<&str> = Vec::new();
            for (name, _) in &entries[i].analysis.names {
                if mine.contains(&name.as_str()) {
                    continue;
                }
                mine.push(name);
                // The first other file that has the name is the one reported.
                let other = by_name.get(name.as_str()).and_then(|d| d.other_than(i));
                if let Some((j, offset)) = other {
                    taken.push((name.clone(), entries[j].path.clone(), line_in(j, offset)));
                }
            }
            let mut settings_elsewhere: Vec<(String, String, PathBuf, usize)> = Vec::new();
            for def in &entries[i].analysis.settings {
                let key = (def.instance.as_str(), def.target.as_str());
                let other = by_settings.get(&key).and_then(|d| d.other_than(i));
                if let Some((j, offset)) = other {
                    settings_elsewhere.push((
                        def.instance.clone(),
                        def.target.clone(),
                        entries[j].path.clone(),
                        line_in(j, offset),
                    ));
                }
            }
            let needs_membership = entries[i].needs_membership;
            if taken.is_empty() && !needs_membership && settings_elsewhere.is_empty() {
                continue;
            }
            let mut context = entries[i].context.clone();
            context.taken_elsewhere = taken;
            context.settings_elsewhere = settings_elsewhere;
            context.machines = Some(machines.clone());
            updates.push((i, context));
        }
        for (i, context) in updates {
            let mounts = entries[i].mounts.clone();
            match entries[i].reanalyze(mounts, context) {
                Ok(()) => entries[i].keep_within(budget),
                Err(failure) => errors.push(failure),
            }
        }
    }
}
