//! Results that do not fit in the memory budget: a file's findings and plan,
//! encoded and appended to one anonymous temporary file while the tree is
//! analysed, and read back when the file's batch is rendered or fixed. Reading
//! them back (and the file's text, whose digest must not have changed) costs far
//! less than analysing the file again.
//!
//! The spool never decides an outcome: when it cannot be created, written or
//! read, or a record does not decode against the file's text, the caller
//! analyses the file again, as it would without a spool.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use crate::diagnostic::{Finding, Label};
use crate::inventory::normal_form::Digest;
use crate::lints::RULES;
use crate::rewrite::edit::TextEdit;
use crate::rewrite::plan::{InstancePlan, Outcome, Plan, Reason, ReasonKind};
use crate::text::Span;

/// Where one file's results are in the spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    offset: u64,
    len: u32,
}

/// The temporary file, created on the first write.
#[derive(Default)]
pub struct ResultSpool {
    state: Mutex<State>,
}

#[derive(Default)]
enum State {
    /// Nothing written yet.
    #[default]
    Empty,
    Writing {
        file: io::BufWriter<std::fs::File>,
        len: u64,
    },
    /// Written out and flushed: records can be read.
    Reading(std::fs::File),
    /// Could not be created, written or flushed: no record is read.
    Failed,
}

impl ResultSpool {
    /// Appends a file's results; `None` when they cannot be written (or encoded),
    /// and the caller keeps nothing but analyses the file again later.
    pub fn write(&self, findings: &[Finding], plan: &Plan) -> Option<Record> {
        let bytes = encode(findings, plan)?;
        let len = u32::try_from(bytes.len()).ok()?;
        let mut state = self.state.lock().ok()?;
        if matches!(*state, State::Empty) {
            *state = match tempfile::tempfile() {
                Ok(file) => State::Writing {
                    file: io::BufWriter::with_capacity(64 << 10, file),
                    len: 0,
                },
                Err(_) => State::Failed,
            };
        }
        let State::Writing { file, len: written } = &mut *state else {
            return None;
        };
        let offset = *written;
        if file.write_all(&bytes).is_err() {
            *state = State::Failed;
            return None;
        }
        *written += u64::from(len);
        Some(Record { offset, len })
    }

    /// Ends the writing: what was written becomes readable.
    pub fn finish_writing(&mut self) {
        let Ok(state) = self.state.get_mut() else {
            return;
        };
        if let State::Writing { .. } = state {
            let State::Writing { file, .. } = std::mem::take(state) else {
                return;
            };
            *state = match file.into_inner() {
                Ok(file) => State::Reading(file),
                Err(_) => State::Failed,
            };
        }
    }

    /// A file's results, checked against its text; `None` when they cannot be
    /// read or do not fit the text (the caller analyses the file again).
    pub fn read(&self, record: Record, text: &str) -> Option<(Vec<Finding>, Plan)> {
        let mut bytes = vec![0; record.len as usize];
        {
            let mut state = self.state.lock().ok()?;
            let State::Reading(file) = &mut *state else {
                return None;
            };
            file.seek(SeekFrom::Start(record.offset)).ok()?;
            file.read_exact(&mut bytes).ok()?;
        }
        decode(&bytes, text)
    }
}

/// Encodes findings and a plan; `None` for a finding whose rule is not in the
/// registry (it could not be decoded).
fn encode(findings: &[Finding], plan: &Plan) -> Option<Vec<u8>> {
    let mut out = Encoder(Vec::with_capacity(256));
    out.len(findings.len());
    for finding in findings {
        let rule = RULES.iter().position(|r| std::ptr::eq(*r, finding.rule))?;
        out.len(rule);
        out.str(&finding.message);
        out.label(&finding.primary);
        out.len(finding.secondary.len());
        for label in &finding.secondary {
            out.label(label);
        }
        out.opt_str(finding.help.as_deref());
        out.strs(&finding.notes);
    }
    out.len(plan.edits.len());
    for edit in &plan.edits {
        out.span(edit.span);
        out.str(&edit.insert);
    }
    out.len(plan.instances.len());
    for instance in &plan.instances {
        out.str(&instance.service);
        out.str(&instance.instance);
        out.str(&instance.new_name);
        out.opt_str(instance.module.as_deref());
        match &instance.outcome {
            Outcome::Migrated => out.len(0),
            Outcome::Left(first, others) => {
                out.len(1 + others.len());
                for reason in std::iter::once(first).chain(others) {
                    out.reason(reason);
                }
            }
        }
        out.strs(&instance.notes);
    }
    out.len(plan.empties_deleted);
    out.len(plan.corrections);
    match plan.meaning_before {
        None => out.len(0),
        Some(Digest(halves)) => {
            out.len(1);
            for half in halves {
                out.0.extend_from_slice(&half.to_le_bytes());
            }
        }
    }
    Some(out.0)
}

/// Decodes what [`encode`] wrote; `None` unless every byte is used and every
/// span lies within `text` on character boundaries.
fn decode(bytes: &[u8], text: &str) -> Option<(Vec<Finding>, Plan)> {
    let mut input = Decoder { bytes, text };
    let count = input.len()?;
    let mut findings = Vec::with_capacity(count.min(bytes.len()));
    for _ in 0..count {
        let rule = *RULES.get(input.len()?)?;
        let message = input.str()?;
        let primary = input.label()?;
        let secondary = input.list(Decoder::label)?;
        let help = input.opt_str()?;
        let notes = input.list(Decoder::str)?;
        findings.push(Finding {
            rule,
            message,
            primary,
            secondary,
            help,
            notes,
        });
    }
    let edits = input.list(|input| {
        Some(TextEdit {
            span: input.span()?,
            insert: input.str()?,
        })
    })?;
    let instances = input.list(|input| {
        let service = input.str()?;
        let instance = input.str()?;
        let new_name = input.str()?;
        let module = input.opt_str()?;
        let mut reasons = input.list(Decoder::reason)?.into_iter();
        let outcome = match reasons.next() {
            None => Outcome::Migrated,
            Some(first) => Outcome::Left(first, reasons.collect()),
        };
        let notes = input.list(Decoder::str)?;
        Some(InstancePlan {
            service,
            instance,
            new_name,
            module,
            outcome,
            notes,
        })
    })?;
    let plan = Plan {
        edits,
        instances,
        empties_deleted: input.len()?,
        corrections: input.len()?,
        meaning_before: match input.len()? {
            0 => None,
            1 => Some(Digest([input.u64()?, input.u64()?])),
            _ => return None,
        },
    };
    input.bytes.is_empty().then_some((findings, plan))
}

struct Encoder(Vec<u8>);

impl Encoder {
    /// An unsigned LEB128 number.
    fn len(&mut self, mut n: usize) {
        while n >= 0x80 {
            self.0.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.len(0),
            Some(s) => {
                self.len(1);
                self.str(s);
            }
        }
    }

    fn strs(&mut self, list: &[String]) {
        self.len(list.len());
        for s in list {
            self.str(s);
        }
    }

    fn span(&mut self, span: Span) {
        self.len(span.start);
        self.len(span.end);
    }

    fn label(&mut self, label: &Label) {
        self.span(label.span);
        self.str(&label.message);
    }

    fn reason(&mut self, reason: &Reason) {
        self.len(reason.kind as usize);
        self.str(&reason.message);
        match reason.span {
            None => self.len(0),
            Some(span) => {
                self.len(1);
                self.span(span);
            }
        }
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    /// The text the spans point into.
    text: &'a str,
}

impl Decoder<'_> {
    fn len(&mut self) -> Option<usize> {
        let mut n: usize = 0;
        for shift in (0..usize::BITS).step_by(7) {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            n |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.bytes.split_first_chunk::<8>()?;
        self.bytes = rest;
        Some(u64::from_le_bytes(*head))
    }

    fn str(&mut self) -> Option<String> {
        let len = self.len()?;
        let (head, rest) = self.bytes.split_at_checked(len)?;
        self.bytes = rest;
        String::from_utf8(head.to_vec()).ok()
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.len()? {
            0 => Some(None),
            1 => self.str().map(Some),
            _ => None,
        }
    }

    /// A list of items (each at least one byte, so a bad count fails early).
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.len()?;
        let mut out = Vec::with_capacity(count.min(self.bytes.len()));
        for _ in 0..count {
            out.push(item(self)?);
        }
        Some(out)
    }

    fn span(&mut self) -> Option<Span> {
        let (start, end) = (self.len()?, self.len()?);
        let fits = start <= end
            && end <= self.text.len()
            && self.text.is_char_boundary(start)
            && self.text.is_char_boundary(end);
        fits.then(|| Span::new(start, end))
    }

    fn label(&mut self) -> Option<Label> {
        Some(Label::new(self.span()?, self.str()?))
    }

    fn reason(&mut self) -> Option<Reason> {
        let kind = match self.len()? {
            0 => ReasonKind::Module,
            1 => ReasonKind::InstanceConfig,
            2 => ReasonKind::MachineConfig,
            3 => ReasonKind::Settings,
            4 => ReasonKind::ExtraModules,
            5 => ReasonKind::Disabled,
            6 => ReasonKind::NameCollision,
            7 => ReasonKind::SharedDefinition,
            8 => ReasonKind::Form,
            9 => ReasonKind::Config,
            10 => ReasonKind::Overlap,
            _ => return None,
        };
        let message = self.str()?;
        let span = match self.len()? {
            0 => None,
            1 => Some(self.span()?),
            _ => return None,
        };
        Some(Reason {
            kind,
            message,
            span,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::plan::FileContext;
    use crate::text::source::{FileKind, SourceFile};

    fn same_plan(a: &Plan, b: &Plan) -> bool {
        a.edits == b.edits
            && a.instances == b.instances
            && a.empties_deleted == b.empties_deleted
            && a.corrections == b.corrections
            && a.meaning_before == b.meaning_before
    }

    /// Every file of the test data, with the analysis a run would spool.
    fn analysed_testdata() -> Vec<(SourceFile, Vec<Finding>, Plan)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/before");
        walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let bytes = std::fs::read(e.path()).ok()?;
                let kind = FileKind::of_path(e.path());
                let source = SourceFile::from_bytes(e.path().to_path_buf(), bytes, kind).ok()?;
                let context = FileContext {
                    explicit: true,
                    digest_meaning: true,
                    ..FileContext::default()
                };
                let mounts = crate::analysis::default_mounts_for(e.path());
                let analysis = crate::analysis::analyze(&source, &mounts, &context);
                Some((source, analysis.findings, analysis.plan))
            })
            .collect()
    }

    #[test]
    fn every_analysis_of_the_test_data_reads_back_as_written() {
        let files = analysed_testdata();
        let mut spool = ResultSpool::default();
        let records: Vec<Record> = files
            .iter()
            .map(|(source, findings, plan)| {
                spool
                    .write(findings, plan)
                    .unwrap_or_else(|| panic!("{} not written", source.path.display()))
            })
            .collect();
        spool.finish_writing();
        // Read back in another order than written.
        for ((source, findings, plan), record) in files.iter().zip(&records).rev() {
            let (read_findings, read_plan) = spool
                .read(*record, &source.text)
                .unwrap_or_else(|| panic!("{} not read back", source.path.display()));
            assert_eq!(&read_findings, findings, "{}", source.path.display());
            assert!(same_plan(&read_plan, plan), "{}", source.path.display());
        }
        // The data covers what the encoding has to carry.
        let findings = files.iter().flat_map(|f| &f.1);
        assert!(findings.clone().any(|f| !f.secondary.is_empty()));
        assert!(findings.clone().any(|f| f.help.is_some()));
        assert!(findings.clone().any(|f| !f.notes.is_empty()));
        let plans = || files.iter().map(|f| &f.2);
        assert!(plans().any(|p| p.edits.iter().any(|e| !e.insert.is_empty())));
        assert!(plans().any(|p| p.corrections > 0));
        assert!(plans().any(|p| p.empties_deleted > 0));
        assert!(plans().any(|p| p.meaning_before.is_some()));
        let instances = || plans().flat_map(|p| &p.instances);
        assert!(instances().any(|i| i.module.is_some() && !i.notes.is_empty()));
        let reasons = || {
            instances().filter_map(|i| match &i.outcome {
                Outcome::Left(first, others) => Some((first, others)),
                Outcome::Migrated => None,
            })
        };
        assert!(reasons().any(|(first, _)| first.span.is_some()));
        assert!(reasons().any(|(_, others)| !others.is_empty()));
        assert!(instances().any(|i| i.outcome == Outcome::Migrated));
    }

    #[test]
    fn every_reason_kind_reads_back() {
        use ReasonKind::*;
        let kinds = [
            Module,
            InstanceConfig,
            MachineConfig,
            Settings,
            ExtraModules,
            Disabled,
            NameCollision,
            SharedDefinition,
            Form,
            Config,
            Overlap,
        ];
        // A new kind must be added above (and to the decoder).
        for kind in kinds {
            match kind {
                Module | InstanceConfig | MachineConfig | Settings | ExtraModules | Disabled
                | NameCollision | SharedDefinition | Form | Config | Overlap => {}
            }
        }
        let reasons: Vec<Reason> = kinds
            .iter()
            .map(|&kind| Reason {
                kind,
                message: format!("{kind:?}"),
                span: None,
            })
            .collect();
        let plan = Plan {
            instances: vec![InstancePlan {
                service: "s".into(),
                instance: "i".into(),
                new_name: "s-i".into(),
                module: None,
                outcome: Outcome::Left(reasons[0].clone(), reasons[1..].to_vec()),
                notes: Vec::new(),
            }],
            ..Plan::default()
        };
        let bytes = encode(&[], &plan).unwrap_or_default();
        let read = decode(&bytes, "").map(|(_, plan)| plan);
        assert!(read.is_some_and(|read| same_plan(&read, &plan)));
    }

    #[test]
    fn records_that_do_not_fit_the_text_are_not_read() {
        let text = "{ inventory.services.a.b = { }; }\n";
        let source = SourceFile::from_text("a.nix".into(), text.into(), FileKind::Nix);
        let context = FileContext::default();
        let analysis = crate::analysis::analyze(&source, &[], &context);
        assert!(!analysis.findings.is_empty());
        let bytes = encode(&analysis.findings, &analysis.plan).unwrap_or_default();
        assert!(decode(&bytes, text).is_some());
        // Truncated, with a byte more, or against a shorter text.
        assert!(decode(&bytes[..bytes.len() - 1], text).is_none());
        assert!(decode(&[&bytes[..], &[0]].concat(), text).is_none());
        assert!(decode(&bytes, &text[..10]).is_none());
        // A span inside a character.
        let finding = Finding::new(
            &crate::lints::parse_error::RULE,
            "m",
            Label::new(Span::new(1, 1), "l"),
        );
        let bytes = encode(&[finding], &Plan::default()).unwrap_or_default();
        assert!(decode(&bytes, "é").is_none());
        assert!(decode(&bytes, "ab").is_some());
    }

    #[test]
    fn nothing_is_read_before_the_writing_ends() {
        let spool = ResultSpool::default();
        let record = spool.write(&[], &Plan::default());
        assert!(record.is_some_and(|r| spool.read(r, "").is_none()));
    }
}
