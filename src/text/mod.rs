//! Source text: decoded files, byte spans and positions, and edits of it.

pub mod edit;
pub mod source;

pub use source::{BOM, FileKind, Position, SourceFile};

use rnix::TextRange;

/// A byte range into a source text (without a byte-order mark).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// Whether `other` lies within this span.
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

impl From<TextRange> for Span {
    fn from(r: TextRange) -> Self {
        Span {
            start: usize::from(r.start()),
            end: usize::from(r.end()),
        }
    }
}
