//! A run over files: discover them, analyse each (pure, per file), follow
//! inventory imports across files, and collect one report. `check` renders it;
//! `fix` applies the plans it holds.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::analysis;
use crate::clan_facts::{self, DefinitionStore, FactKey};
use crate::diagnostic::{Finding, Severity};
use crate::inventory::{InventoryImport, MachineFacts};
use crate::io::discover::{self, IoFailure, Skipped, describe_io_error, normalize};
use std::sync::Arc;

use rayon::prelude::*;

use crate::inventory::config::ConfigLookup;
use crate::inventory::flake::FlakeLookup;
use crate::inventory::modules::ModuleTable;
use crate::result_spool::{self, ResultSpool};
use crate::rewrite::plan::{FileContext, Outcome, Plan, ReasonKind};
use crate::text::source::{FileKind, SourceFile};

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
    /// Keep no plans in the reports (`check` renders findings only; `fix` applies plans).
    pub drop_plans: bool,
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
        analysis: analysis::FileAnalysis,
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
        Input::Paths(paths) => run_paths(paths, options, MemoryBudget::from_env()),
    }
}

/// A run whose cross-file analysis is done: its files with findings wait to be
/// taken in path order, a batch at a time.
pub struct Run {
    /// Files with findings (or spilled), sorted by path.
    entries: std::vec::IntoIter<Entry>,
    /// The surroundings of the files' directories.
    templates: ContextTemplates,
    /// The results that did not fit in the memory budget.
    spool: ResultSpool,
    pub files_scanned: usize,
    /// Errors so far; taking a batch can add some (a spilled file that can no
    /// longer be read, or that changed).
    pub errors: Vec<IoFailure>,
    pub skipped: Vec<Skipped>,
}

impl Run {
    /// The next files with findings, in path order; `None` when all were taken.
    /// Files whose results were not kept in memory (see [`MemoryBudget`]) are
    /// read again here, on all cores, and their results read back from the
    /// spool, or analysed again with the mounts and context of the first pass.
    /// A batch holds as many files as [`BatchFill`] lets in.
    pub fn next_batch(&mut self) -> Option<Vec<FileReport>> {
        let chunk = BatchFill::take(&mut self.entries, Entry::text_len);
        if chunk.is_empty() {
            return None;
        }
        let taken: Vec<Result<Option<FileReport>, IoFailure>> = chunk
            .into_par_iter()
            .with_max_len(1)
            .map(|entry| entry.into_report(&self.templates, &self.spool))
            .collect();
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

/// How many files a batch of a run takes (`fix --write` also writes a batch at a
/// time). What a batch holds in memory while it is fixed and rendered (its
/// texts, the rewritten texts, findings, diffs; up to three batches at once, see
/// `cli::pipelined`) grows with the size of its files, so a batch is bounded by
/// their bytes as well as by their number: it ends at [`BatchFill::FILES`]
/// files, or once it holds [`BatchFill::BYTES`] of text, but not before it has
/// [`BatchFill::MIN_FILES`] files (so that `fix --write` flushes it with one
/// `syncfs`, see `atomic_write`), unless the run has no more.
#[derive(Debug, Default)]
pub struct BatchFill {
    files: usize,
    bytes: usize,
}

impl BatchFill {
    pub const FILES: usize = 512;
    pub const BYTES: usize = 1 << 20;
    pub const MIN_FILES: usize = crate::io::atomic_write::FLUSH_FILE_SYSTEM_FROM;

    /// Counts one more file of `bytes` bytes.
    fn add(&mut self, bytes: usize) {
        self.files += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Whether the batch takes no more files.
    fn is_full(&self) -> bool {
        self.files >= Self::FILES || (self.files >= Self::MIN_FILES && self.bytes >= Self::BYTES)
    }

    /// The next batch of `items`, each of `bytes_of` bytes.
    pub fn take<T>(items: &mut impl Iterator<Item = T>, bytes_of: impl Fn(&T) -> usize) -> Vec<T> {
        let mut fill = BatchFill::default();
        let mut batch = Vec::new();
        while !fill.is_full() {
            let Some(item) = items.next() else {
                break;
            };
            fill.add(bytes_of(&item));
            batch.push(item);
        }
        batch
    }
}

/// How much of the first pass's results a run keeps in memory (estimated
/// bytes). Past it, a file's text is dropped once its cross-file facts are
/// recorded, and its findings and plan go to the [`ResultSpool`]; when its batch
/// is rendered the file is read again (it must not have changed) and its
/// results read back, or, when what other files tell it changed them, analysed
/// again. Memory stays bounded on trees where every file has findings. The
/// clan's instance names and settings paths go to definition stores that hold a
/// 32nd of it each in memory, the rest in a temporary file.
/// `CLAN_MIGRATE_MEMORY_BUDGET` sets it in MiB (0: keep nothing in memory).
pub struct MemoryBudget {
    limit: usize,
    used: std::sync::atomic::AtomicUsize,
    /// Where results past the limit go.
    spool: ResultSpool,
}

impl MemoryBudget {
    const DEFAULT_MIB: usize = 24;

    pub fn from_env() -> Self {
        Self::new(Self::configured_bytes())
    }

    /// The budget `CLAN_MIGRATE_MEMORY_BUDGET` sets, in bytes (the default
    /// without it).
    pub fn configured_bytes() -> usize {
        let mib = std::env::var("CLAN_MIGRATE_MEMORY_BUDGET")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(Self::DEFAULT_MIB);
        mib.saturating_mul(1 << 20)
    }

    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            limit,
            used: std::sync::atomic::AtomicUsize::new(0),
            spool: ResultSpool::default(),
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
        digest_meaning: !options.drop_plans,
    }
}

fn run_stdin(name: &Path, options: &Options) -> Run {
    let mut bytes = Vec::new();
    let mut run = Run {
        entries: Vec::new().into_iter(),
        templates: ContextTemplates::default(),
        spool: ResultSpool::default(),
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
            let extras = ContextExtras {
                own: Some(Box::new(context)),
                ..ContextExtras::default()
            };
            let mounts = analysis::default_mounts_for(name);
            // `fix -` prints the input back even when there is nothing to change.
            let (entry, _) = Entry::analysed(source, mounts, extras, &run.templates, true);
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

/// A file with something to report, to fix, or to tell other files. Its
/// surroundings are those of its directory (rebuilt when needed) plus what the
/// clan's other files tell it; its results are kept only within the memory
/// budget. Small: a large tree can have one per file.
struct Entry {
    path: PathBuf,
    /// Text, findings and plan, while the file has findings and they are kept.
    kept: Option<Box<Kept>>,
    /// What few files have.
    uncommon: Option<Box<Uncommon>>,
    /// Set when the results were not kept in memory, to stay within the budget.
    spilled: Option<Spilled>,
    /// How many times the file was analysed again with other mounts: only the
    /// instance names and settings of its latest analysis count.
    generation: u32,
    /// Whether an instance is left because tag membership is unknown (the clan's
    /// machines may tell).
    needs_membership: bool,
    /// The results are counted in the memory budget.
    budgeted: bool,
}

/// A file's results that are not kept in memory.
#[derive(Clone, Copy)]
struct Spilled {
    /// The digest of the text that was analysed (it must not change before the
    /// file is rendered).
    digest: u64,
    /// The length of that text (what the file will take of its batch).
    len: usize,
    /// The findings and plan in the spool; `None` when they could not be written
    /// there or no longer hold (the file is analysed again).
    results: Option<result_spool::Record>,
}

/// What few files of a tree have: mounts, imports, machines, surroundings beyond
/// their directory's.
#[derive(Default)]
struct Uncommon {
    mounts: Vec<Vec<String>>,
    /// Inventory files this file pulls in with literal relative paths.
    imports: Vec<InventoryImport>,
    /// The machines and tags this file defines.
    machines: Option<MachineFacts>,
    extras: ContextExtras,
}

/// A file's results, kept for rendering and fixing.
struct Kept {
    source: SourceFile,
    findings: Vec<Finding>,
    plan: Plan,
}

/// What a file's surroundings hold beyond its directory's.
#[derive(Default)]
struct ContextExtras {
    /// Replaces the directory's surroundings (standard input).
    own: Option<Box<FileContext>>,
    /// The machines and tags of the file's clan.
    machines: Option<Arc<MachineFacts>>,
    /// Names and settings that other files of the clan define too.
    elsewhere: Option<Box<Elsewhere>>,
}

struct Elsewhere {
    taken: Vec<(FactKey, PathBuf, usize)>,
    settings: Vec<(FactKey, PathBuf, usize)>,
}

/// The instance names and settings paths a file defines (with their offsets),
/// as keys, for the clan's [`DefinitionStore`]s.
struct Definitions {
    names: Vec<(FactKey, usize)>,
    settings: Vec<(FactKey, usize)>,
}

/// The clan-wide definition stores of a run: instance names and settings paths.
struct ClanDefinitions {
    names: DefinitionStore,
    settings: DefinitionStore,
}

impl ClanDefinitions {
    fn new(budget: &MemoryBudget) -> Self {
        // Definitions are small next to results (32 bytes each, but their buckets
        // grow by doubling): a 32nd of the budget each before they move to a
        // temporary file, and at least 64 KiB, so that they are written out in
        // chunks of some size (each chunk is indexed in memory). A budget of 0
        // keeps none (every definition is written out at once).
        let limit = match budget.limit {
            0 => 0,
            limit => (limit / 32).max(64 << 10),
        };
        ClanDefinitions {
            names: DefinitionStore::new(limit),
            settings: DefinitionStore::new(limit),
        }
    }

    fn record(&mut self, file: usize, generation: u32, definitions: Definitions) {
        let Ok(file) = u32::try_from(file) else {
            return;
        };
        let stores = [
            (&mut self.names, definitions.names),
            (&mut self.settings, definitions.settings),
        ];
        for (store, keys) in stores {
            for (key, offset) in keys {
                store.push(clan_facts::Definition {
                    key,
                    file,
                    generation,
                    offset: offset as u64,
                });
            }
        }
    }
}

impl Entry {
    /// Analyses a file; also returns the names and settings it defines.
    fn new(
        source: SourceFile,
        mounts: Vec<Vec<String>>,
        extras: ContextExtras,
        templates: &ContextTemplates,
    ) -> (Self, Definitions) {
        Self::analysed(source, mounts, extras, templates, false)
    }

    /// [`Entry::new`]; `keep_text` keeps the text and plan even without findings.
    fn analysed(
        source: SourceFile,
        mounts: Vec<Vec<String>>,
        extras: ContextExtras,
        templates: &ContextTemplates,
        keep_text: bool,
    ) -> (Self, Definitions) {
        let path = source.path.clone();
        let context = extras.context(&path, templates);
        let analysis = analysis::analyze(&source, &mounts, &context);
        let needs_membership = analysis.plan.instances.iter().any(|p| {
            matches!(&p.outcome, Outcome::Left(reason, _) if reason.kind == ReasonKind::MachineConfig)
        });
        let definitions = Definitions {
            names: analysis
                .names
                .iter()
                .map(|(name, offset)| (FactKey::name(name), *offset))
                .collect(),
            settings: analysis
                .settings
                .iter()
                .map(|def| {
                    let key = FactKey::settings(&def.instance, &def.target);
                    (key, def.span.start)
                })
                .collect(),
        };
        let kept = (keep_text || !analysis.findings.is_empty()).then(|| {
            Box::new(Kept {
                source,
                findings: analysis.findings,
                plan: if templates.drop_plans {
                    Plan::default()
                } else {
                    analysis.plan
                },
            })
        });
        let uncommon = Uncommon {
            mounts,
            imports: analysis.imports,
            machines: (analysis.machines != MachineFacts::default()).then_some(analysis.machines),
            extras,
        };
        let common = uncommon.mounts.is_empty()
            && uncommon.imports.is_empty()
            && uncommon.machines.is_none()
            && uncommon.extras.is_empty();
        let entry = Entry {
            path,
            kept,
            uncommon: (!common).then(|| Box::new(uncommon)),
            spilled: None,
            generation: 0,
            needs_membership,
            budgeted: false,
        };
        (entry, definitions)
    }

    fn mounts(&self) -> &[Vec<String>] {
        self.uncommon.as_ref().map_or(&[], |u| &u.mounts)
    }

    fn imports(&self) -> &[InventoryImport] {
        self.uncommon.as_ref().map_or(&[], |u| &u.imports)
    }

    fn machines(&self) -> Option<&MachineFacts> {
        self.uncommon.as_ref()?.machines.as_ref()
    }

    /// The mounts and surroundings, to analyse the file again.
    fn take_mounts_and_extras(&mut self) -> (Vec<Vec<String>>, ContextExtras) {
        self.uncommon
            .as_mut()
            .map(|u| (std::mem::take(&mut u.mounts), std::mem::take(&mut u.extras)))
            .unwrap_or_default()
    }

    fn set_mounts_and_extras(&mut self, mounts: Vec<Vec<String>>, extras: ContextExtras) {
        let uncommon = self.uncommon.get_or_insert_default();
        uncommon.mounts = mounts;
        uncommon.extras = extras;
    }

    /// The file's whole surroundings.
    fn context(&self, templates: &ContextTemplates) -> FileContext {
        match &self.uncommon {
            Some(uncommon) => uncommon.extras.context(&self.path, templates),
            None => templates.for_file(&self.path),
        }
    }

    /// Nothing to report, to fix, or to tell other files.
    fn is_quiet(&self, definitions: &Definitions) -> bool {
        self.kept.is_none()
            && self.imports().is_empty()
            && self.machines().is_none()
            && !self.needs_membership
            && definitions.names.is_empty()
            && definitions.settings.is_empty()
    }

    /// Analyses the file again with other mounts or surroundings; its text is
    /// read again when it was not kept.
    fn reanalyze(
        &mut self,
        mounts: Vec<Vec<String>>,
        extras: ContextExtras,
        templates: &ContextTemplates,
    ) -> Result<Definitions, IoFailure> {
        let source = match self.kept.take() {
            Some(kept) => kept.source,
            None => read_source(&self.path).inspect_err(|_| {
                // Reported once, here: there is nothing left to render.
                self.spilled = None;
            })?,
        };
        // Results that were counted in the memory budget stay counted.
        let budgeted = self.budgeted;
        let generation = self.generation + 1;
        let (entry, definitions) = Entry::new(source, mounts, extras, templates);
        *self = entry;
        self.budgeted = budgeted && self.kept.is_some();
        self.generation = generation;
        Ok(definitions)
    }

    /// The length of the file's text, kept or spilled (0 when it has neither).
    fn text_len(&self) -> usize {
        match (&self.kept, &self.spilled) {
            (Some(kept), _) => kept.source.text.len(),
            (None, Some(spilled)) => spilled.len,
            (None, None) => 0,
        }
    }

    /// Keeps the results within `budget`, or moves them to its spool (or, when
    /// that fails, drops them) and keeps only the cross-file facts.
    fn keep_within(&mut self, budget: &MemoryBudget) {
        let Some(kept) = self.kept.as_ref().filter(|_| !self.budgeted) else {
            return;
        };
        // As measured on generated trees: text and findings take about twice the
        // text and 500 bytes per finding (message, labels, help); a plan about
        // the text again and 500 bytes per finding (the plan of its instance).
        let (per_text, per_finding) =
            if kept.plan.edits.is_empty() && kept.plan.instances.is_empty() {
                (2, 500)
            } else {
                (3, 1000)
            };
        let cost = kept.source.text.len() * per_text + kept.findings.len() * per_finding;
        if budget.take(cost) {
            self.budgeted = true;
            return;
        }
        self.spilled = Some(Spilled {
            digest: digest(&kept.source),
            len: kept.source.text.len(),
            results: budget.spool.write(&kept.findings, &kept.plan),
        });
        self.kept = None;
    }

    /// The file's report (`None` when it has no findings). A spilled file is read
    /// again, must not have changed since the first pass, and gets its results
    /// from the spool or from a new analysis.
    fn into_report(
        mut self,
        templates: &ContextTemplates,
        spool: &ResultSpool,
    ) -> Result<Option<FileReport>, IoFailure> {
        if let Some(spilled) = self.spilled {
            crate::failpoint::change_file("changed-before-second-read", &self.path);
            let source = read_source(&self.path)?;
            if source.text.len() != spilled.len || digest(&source) != spilled.digest {
                return Err(IoFailure {
                    path: self.path,
                    message: "the file changed while clan-migrate was reading the tree; \
                              run it again"
                        .into(),
                });
            }
            let results = spilled
                .results
                .filter(|_| !crate::failpoint::hit("spool-unreadable", &self.path))
                .and_then(|record| spool.read(record, &source.text));
            match results {
                Some((findings, plan)) => {
                    self.kept = (!findings.is_empty()).then(|| {
                        Box::new(Kept {
                            source,
                            findings,
                            plan,
                        })
                    });
                }
                None => {
                    let (mounts, extras) = self.take_mounts_and_extras();
                    self = Entry::new(source, mounts, extras, templates).0;
                }
            }
        }
        let context = self.context(templates);
        let Some(kept) = self.kept.take() else {
            return Ok(None);
        };
        Ok(Some(FileReport {
            source: kept.source,
            findings: kept.findings,
            mounts: self.take_mounts_and_extras().0,
            context,
            plan: kept.plan,
        }))
    }
}

impl ContextExtras {
    /// The whole surroundings of the file at `path`.
    fn context(&self, path: &Path, templates: &ContextTemplates) -> FileContext {
        let mut context = match &self.own {
            Some(own) => (**own).clone(),
            None => templates.for_file(path),
        };
        if let Some(machines) = &self.machines {
            context.machines = Some(machines.clone());
        }
        if let Some(elsewhere) = &self.elsewhere {
            context.taken_elsewhere = elsewhere.taken.clone();
            context.settings_elsewhere = elsewhere.settings.clone();
        }
        context
    }

    fn is_empty(&self) -> bool {
        self.own.is_none() && self.machines.is_none() && self.elsewhere.is_none()
    }

    fn clone_own(&self) -> Self {
        ContextExtras {
            own: self.own.clone(),
            machines: self.machines.clone(),
            elsewhere: None,
        }
    }
}

/// A digest of a file's content, to notice that it changed between two reads
/// (with its length, which is compared too). foldhash with a fixed seed: the
/// same in both reads, and several times faster than SipHash on whole files;
/// the change it looks for is an edit, not an attack.
fn digest(source: &SourceFile) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one((source.bom, source.text.as_str()))
}

fn run_paths(paths: &[PathBuf], options: &Options, mut budget: MemoryBudget) -> Run {
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
    let mut templates = ContextTemplates {
        by_dir: HashMap::new(),
        explicit: found.explicit.iter().cloned().collect(),
        drop_plans: options.drop_plans,
    };
    for path in &found.files {
        templates.prepare(path, options, &mut around, &mut errors);
    }
    let flakes: HashSet<PathBuf> = found
        .files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "flake.nix"))
        .filter_map(|p| templates.for_file(p).path)
        .collect();
    let progress = Progress::new(found.files.len());
    let mut definitions = ClanDefinitions::new(&budget);
    let mut entries: Vec<Entry> = Vec::new();
    let mut quiet: Vec<PathBuf> = Vec::new();
    // Files are analysed a chunk at a time, so that what they define for the
    // clan goes to the definition stores before the next chunk is analysed.
    const CHUNK: usize = 2048;
    let mut files = found.files.into_iter();
    loop {
        let chunk: Vec<PathBuf> = files.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let analysed: Vec<Analysed> = chunk
            .into_par_iter()
            .with_max_len(1)
            .map(|path| {
                progress.tick();
                let source = match read_source(&path) {
                    Ok(source) => source,
                    Err(failure) => return Analysed::Failed(failure),
                };
                let mounts = analysis::default_mounts_for(&path);
                let (mut entry, defined) =
                    Entry::new(source, mounts, ContextExtras::default(), &templates);
                if entry.is_quiet(&defined) {
                    Analysed::Quiet(path)
                } else {
                    entry.keep_within(&budget);
                    Analysed::Entry(Box::new(entry), defined)
                }
            })
            .collect();
        for result in analysed {
            match result {
                Analysed::Entry(entry, defined) => {
                    definitions.record(entries.len(), entry.generation, defined);
                    entries.push(*entry);
                }
                Analysed::Quiet(path) => quiet.push(path),
                Analysed::Failed(failure) => errors.push(failure),
            }
        }
    }
    // The walked paths' buffer is not needed past here (it is as large as the
    // entries' at 24 bytes a file).
    drop(files);
    progress.finish();
    let files_scanned = entries.len() + quiet.len();
    let imports = Imports {
        templates: &templates,
        budget: &budget,
    };
    imports.follow(&mut entries, quiet, &mut definitions, &mut errors);
    apply_clan_facts(
        &mut entries,
        definitions,
        &templates,
        &flakes,
        &budget,
        &mut errors,
    );

    entries.retain(|entry| entry.kept.is_some() || entry.spilled.is_some());
    // Paths are unique (walked files are deduplicated, imported files are
    // quiet ones), so an unstable sort gives the same order; unlike the
    // stable sort it needs no scratch buffer of half the entries, which was
    // part of the run's peak memory on trees where every file has findings.
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    debug_assert!(entries.windows(2).all(|w| w[0].path != w[1].path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    budget.spool.finish_writing();
    Run {
        entries: entries.into_iter(),
        templates,
        spool: budget.spool,
        files_scanned,
        errors,
        skipped: found.skipped,
    }
}

/// What the analysis of one file leaves: files with nothing to report or to
/// remember (most files of a large tree) keep only their path.
enum Analysed {
    Entry(Box<Entry>, Definitions),
    Quiet(PathBuf),
    Failed(IoFailure),
}

/// The surroundings of the files of a run, looked up once per directory.
#[derive(Default)]
struct ContextTemplates {
    /// Directory (as walked) -> the context of its files, `path` being the directory.
    by_dir: HashMap<PathBuf, FileContext>,
    explicit: HashSet<PathBuf>,
    /// [`Options::drop_plans`]: what the run keeps of each analysis.
    drop_plans: bool,
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

    fn of_dir(&self, path: &Path) -> Option<&FileContext> {
        self.by_dir.get(path.parent().unwrap_or(Path::new("")))
    }

    /// The context of a file whose directory was prepared.
    fn for_file(&self, path: &Path) -> FileContext {
        let mut context = self.of_dir(path).cloned().unwrap_or_default();
        context.path = match (context.path.take(), path.file_name()) {
            (Some(dir), Some(name)) => Some(dir.join(name)),
            _ => None,
        };
        context.explicit = self.explicit.contains(path);
        context
    }

    /// The clan directory of a file whose directory was prepared.
    fn clan_dir(&self, path: &Path) -> Option<&PathBuf> {
        self.of_dir(path)?.clan_dir.as_ref()
    }
}

struct Imports<'a> {
    templates: &'a ContextTemplates,
    budget: &'a MemoryBudget,
}

impl Imports<'_> {
    /// Mounts every file that another file imports as (part of) an inventory at
    /// the importer's logical path, and analyses it again, until nothing new is
    /// mounted. A quiet file that is imported is analysed here for the first time
    /// with the mount.
    fn follow(
        &self,
        entries: &mut Vec<Entry>,
        quiet: Vec<PathBuf>,
        definitions: &mut ClanDefinitions,
        errors: &mut Vec<IoFailure>,
    ) {
        if entries.iter().all(|e| e.imports().is_empty()) {
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
            let imports = entries[importer].imports().to_vec();
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
                        let extras = ContextExtras::default();
                        let (mut entry, defined) =
                            Entry::new(source, mounts, extras, self.templates);
                        entry.keep_within(self.budget);
                        definitions.record(entries.len(), entry.generation, defined);
                        entries.push(entry);
                        *slot = Ok(entries.len() - 1);
                        pending.push(entries.len() - 1);
                        continue;
                    }
                };
                if entries[target].mounts().contains(&import.mount) {
                    continue;
                }
                let mut mounts = entries[target].mounts().to_vec();
                mounts.push(import.mount);
                let extras = entries[target]
                    .uncommon
                    .as_ref()
                    .map(|u| u.extras.clone_own())
                    .unwrap_or_default();
                match entries[target].reanalyze(mounts, extras, self.templates) {
                    Ok(defined) => {
                        let entry = &mut entries[target];
                        entry.keep_within(self.budget);
                        definitions.record(target, entry.generation, defined);
                    }
                    Err(failure) => {
                        errors.push(failure);
                        continue;
                    }
                }
                pending.push(target);
            }
        }
    }
}

/// Facts that span the files of one clan (the directory of its `flake.nix`):
/// instance names must be unique across them, and tags are resolved with every
/// file's `inventory.machines`. Files that these facts concern are planned again.
/// `flakes`: the absolute paths of the `flake.nix` files among the run's files.
fn apply_clan_facts(
    entries: &mut [Entry],
    definitions: ClanDefinitions,
    templates: &ContextTemplates,
    flakes: &HashSet<PathBuf>,
    budget: &MemoryBudget,
    errors: &mut Vec<IoFailure>,
) {
    // Clans by first appearance; each file's clan as an index.
    let mut clan_index: HashMap<&PathBuf, u32> = HashMap::new();
    let mut clan_dirs: Vec<&PathBuf> = Vec::new();
    let clan_of: Vec<u32> = entries
        .iter()
        .map(|entry| match templates.clan_dir(&entry.path) {
            None => clan_facts::NO_CLAN,
            Some(dir) => *clan_index.entry(dir).or_insert_with(|| {
                clan_dirs.push(dir);
                (clan_dirs.len() - 1) as u32
            }),
        })
        .collect();
    let mut machines: Vec<MachineFacts> = vec![MachineFacts::default(); clan_dirs.len()];
    for (entry, &clan) in entries.iter().zip(&clan_of) {
        if let (Some(clan), Some(own)) = (machines.get_mut(clan as usize), entry.machines()) {
            clan.extend(own);
        }
    }
    let machines: Vec<Arc<MachineFacts>> = machines
        .into_iter()
        .zip(&clan_dirs)
        .map(|(mut facts, clan)| {
            // Tags are only known when the run covers the whole clan: its flake.nix
            // is among the files (a directory walk from the clan's root).
            facts.incomplete |= !flakes.contains(&clan.join("flake.nix"));
            Arc::new(facts)
        })
        .collect();
    let generations: Vec<u32> = entries.iter().map(|e| e.generation).collect();
    let shared = |store: DefinitionStore, errors: &mut Vec<IoFailure>| {
        store
            .shared_keys(&clan_of, &generations)
            .unwrap_or_else(|err| {
                errors.push(IoFailure {
                    path: std::env::temp_dir(),
                    message: format!(
                        "cannot read back instance names and settings of the clan from a temporary file: {}",
                        describe_io_error(&err)
                    ),
                });
                Vec::new()
            })
    };
    let names = shared(definitions.names, errors);
    let settings = shared(definitions.settings, errors);

    // The line of each definition named as "the other one": each such file is
    // read once, however many of its keys other files share.
    let mut places: Vec<(u32, u64)> = names
        .iter()
        .chain(&settings)
        .map(|s| (s.other, s.offset))
        .collect();
    places.sort_unstable();
    places.dedup();
    let mut lines: HashMap<(u32, u64), usize> = HashMap::with_capacity(places.len());
    for group in places.chunk_by(|a, b| a.0 == b.0) {
        let source = read_source(&entries[group[0].0 as usize].path).ok();
        for &(file, offset) in group {
            let line = source
                .as_ref()
                .map_or(0, |s| s.position(offset as usize).line);
            lines.insert((file, offset), line);
        }
    }
    let line_in = |j: u32, offset: u64| lines.get(&(j, offset)).copied().unwrap_or(0);
    let mut elsewhere: HashMap<usize, Elsewhere> = HashMap::new();
    for (list, is_name) in [(&names, true), (&settings, false)] {
        for shared in list {
            let other = (
                shared.key,
                entries[shared.other as usize].path.clone(),
                line_in(shared.other, shared.offset),
            );
            let found = elsewhere
                .entry(shared.file as usize)
                .or_insert_with(|| Elsewhere {
                    taken: Vec::new(),
                    settings: Vec::new(),
                });
            if is_name {
                found.taken.push(other);
            } else {
                found.settings.push(other);
            }
        }
    }
    for (i, &clan) in clan_of.iter().enumerate() {
        let Some(clan_machines) = machines.get(clan as usize) else {
            continue;
        };
        let found = elsewhere.remove(&i);
        if found.is_none() && !entries[i].needs_membership {
            continue;
        }
        let entry = &mut entries[i];
        let (mounts, extras) = entry.take_mounts_and_extras();
        let extras = ContextExtras {
            own: extras.own,
            machines: Some(clan_machines.clone()),
            elsewhere: found.map(Box::new),
        };
        if let Some(spilled) = entry.spilled.as_mut() {
            // Its results no longer hold: analysed again with these surroundings
            // when its batch is taken.
            spilled.results = None;
            entry.set_mounts_and_extras(mounts, extras);
            continue;
        }
        match entries[i].reanalyze(mounts, extras, templates) {
            Ok(_) => entries[i].keep_within(budget),
            Err(failure) => errors.push(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BatchFill;

    /// How many files of `sizes` the first batch takes.
    fn first_batch(sizes: impl IntoIterator<Item = usize>) -> usize {
        BatchFill::take(&mut sizes.into_iter(), |size| *size).len()
    }

    #[test]
    fn a_batch_is_bounded_by_files_and_by_bytes() {
        // Small files: the file count bounds the batch.
        assert_eq!(
            first_batch(std::iter::repeat_n(800, 2000)),
            BatchFill::FILES
        );
        // Files of 8 KiB: their bytes do.
        let per_batch = BatchFill::BYTES / 8192;
        assert!(BatchFill::MIN_FILES < per_batch && per_batch < BatchFill::FILES);
        assert_eq!(first_batch(std::iter::repeat_n(8192, 2000)), per_batch);
        // Large files: never fewer than the files `fix --write` flushes at once.
        assert_eq!(
            first_batch(std::iter::repeat_n(1 << 20, 2000)),
            BatchFill::MIN_FILES
        );
        // A run with fewer files takes them all.
        assert_eq!(first_batch(std::iter::repeat_n(1 << 20, 3)), 3);
        assert_eq!(first_batch([usize::MAX, usize::MAX, 1]), 3);
    }
}
