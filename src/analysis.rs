//! Per-file analysis: a pure function from a decoded file (and the logical paths at
//! which other files mount it) to owned findings. Syntax trees never leave it, so
//! files can be analysed on any thread.

use crate::diagnostic::Finding;
use crate::inventory::{InventoryImport, LegacyFacts, legacy_json, legacy_nix};
use crate::lints::{self, parse_error};
use crate::source::{FileKind, SourceFile};
use crate::{json_tree, suppress};

/// What one file contributes to a run.
#[derive(Debug, Clone, Default)]
pub struct FileAnalysis {
    /// Findings after suppression, ordered by position.
    pub findings: Vec<Finding>,
    /// Inventory files this file pulls in with literal relative paths.
    pub imports: Vec<InventoryImport>,
    /// The file had syntax errors (and was not analysed further).
    pub syntax_error: bool,
}

/// Analyses one file. `mounts` are the logical paths at which other files import it.
pub fn analyze(source: &SourceFile, mounts: &[Vec<String>]) -> FileAnalysis {
    let mut analysis = match source.kind {
        FileKind::Nix => analyze_nix(source, mounts),
        FileKind::InventoryJson => analyze_json(source),
    };
    analysis
        .findings
        .sort_by_key(|f| (f.primary.span.start, f.rule.code));
    analysis
}

/// Analyses a file with the mounts its name implies (`inventory.nix` is an inventory).
pub fn default_mounts(source: &SourceFile) -> Vec<Vec<String>> {
    let is_inventory_nix = source
        .path
        .file_name()
        .is_some_and(|n| n == "inventory.nix");
    if is_inventory_nix {
        vec![vec!["inventory".to_owned()]]
    } else {
        Vec::new()
    }
}

fn analyze_nix(source: &SourceFile, mounts: &[Vec<String>]) -> FileAnalysis {
    let parse = rnix::Root::parse(&source.text);
    if !parse.errors().is_empty() {
        return FileAnalysis {
            findings: parse_error::nix_findings(parse.errors(), source.text.len()),
            imports: Vec::new(),
            syntax_error: true,
        };
    }
    let root = parse.syntax();
    let facts = legacy_nix::detect(&root, mounts);
    let findings = lints::legacy_findings(&facts, source.kind);
    let suppressions = suppress::collect(&root, source);
    FileAnalysis {
        findings: suppress::apply(findings, &suppressions, source),
        imports: facts.imports,
        syntax_error: false,
    }
}

fn analyze_json(source: &SourceFile) -> FileAnalysis {
    match json_tree::parse(&source.text) {
        Err(error) => FileAnalysis {
            findings: vec![parse_error::json_finding(&error)],
            imports: Vec::new(),
            syntax_error: true,
        },
        Ok(root) => {
            let facts: LegacyFacts = legacy_json::detect(&root);
            FileAnalysis {
                findings: lints::legacy_findings(&facts, source.kind),
                imports: Vec::new(),
                syntax_error: false,
            }
        }
    }
}
