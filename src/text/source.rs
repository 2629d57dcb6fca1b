//! A file as the tool sees it: its bytes decoded as UTF-8, a UTF-8 byte-order mark
//! set aside (rnix rejects it), and a line index for 1-based positions.

use std::fmt;
use std::path::{Path, PathBuf};

/// The UTF-8 byte-order mark.
pub const BOM: &str = "\u{feff}";

/// What kind of inventory source a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A Nix expression (`*.nix`, or any explicitly named file that is not JSON).
    Nix,
    /// A clan `inventory.json` (or any explicitly named `*.json` file).
    InventoryJson,
}

impl FileKind {
    /// The kind a path has by its name.
    pub fn of_path(path: &Path) -> FileKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => FileKind::InventoryJson,
            _ => FileKind::Nix,
        }
    }
}

/// A decoded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path used in messages (as given or as walked).
    pub path: PathBuf,
    /// The text without a leading byte-order mark.
    pub text: String,
    /// Whether the file started with a UTF-8 byte-order mark.
    pub bom: bool,
    pub kind: FileKind,
    /// Byte offsets of line starts, computed on first use (most files of a large
    /// tree are never asked for a position).
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

/// Why bytes could not be turned into a [`SourceFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the first invalid byte in the file.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "file is not valid UTF-8 (first invalid byte at line {}, column {}, byte offset {})",
            self.line, self.column, self.offset
        )
    }
}

/// A 1-based position: line, and column counted in Unicode scalar values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    /// Decodes `bytes`; fails on invalid UTF-8 with the position of the first bad byte.
    pub fn from_bytes(path: PathBuf, bytes: Vec<u8>, kind: FileKind) -> Result<Self, DecodeError> {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::from_text(path, text, kind)),
            Err(err) => {
                let offset = err.utf8_error().valid_up_to();
                let bytes = err.as_bytes();
                let valid = &bytes[..offset];
                let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
                let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                // `valid` is valid UTF-8 by construction.
                let column = std::str::from_utf8(&valid[line_start..])
                    .map_or(offset - line_start, |s| s.chars().count())
                    + 1;
                Err(DecodeError {
                    offset,
                    line,
                    column,
                })
            }
        }
    }

    /// Wraps already-decoded text, stripping a leading byte-order mark.
    pub fn from_text(path: PathBuf, text: String, kind: FileKind) -> Self {
        let (text, bom) = match text.strip_prefix(BOM) {
            Some(rest) => (rest.to_owned(), true),
            None => (text, false),
        };
        SourceFile {
            path,
            text,
            bom,
            kind,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|i| i + 1));
            starts
        })
    }

    /// The byte offset in the original file (counting a byte-order mark) of a text offset.
    pub fn file_offset(&self, text_offset: usize) -> usize {
        text_offset + if self.bom { BOM.len() } else { 0 }
    }

    /// The position of a byte offset into [`SourceFile::text`]. Offsets past the end
    /// or inside a character are clamped to the nearest character start before them.
    pub fn position(&self, offset: usize) -> Position {
        let offset = self.floor_char_boundary(offset);
        let line_starts = self.line_starts();
        let line_index = match line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = line_starts[line_index];
        let column = self.text[start..offset].chars().count() + 1;
        Position {
            line: line_index + 1,
            column,
        }
    }

    /// Number of lines (a trailing newline starts an empty last line).
    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }

    /// The text of 1-based line `line`, without its line terminator (`\n` or `\r\n`).
    pub fn line_text(&self, line: usize) -> &str {
        let line_starts = self.line_starts();
        let Some(&start) = line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        let text = &self.text[start..end];
        text.strip_suffix('\r').unwrap_or(text)
    }

    /// Byte offset of the start of 1-based line `line`.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts()
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    fn floor_char_boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile::from_text(PathBuf::from("t.nix"), text.to_owned(), FileKind::Nix)
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let s = src("ab\nçd\r\nef");
        assert_eq!(s.position(0), Position { line: 1, column: 1 });
        assert_eq!(s.position(3), Position { line: 2, column: 1 });
        // 'd' comes after the two-byte 'ç'
        assert_eq!(s.position(5), Position { line: 2, column: 2 });
        assert_eq!(s.position(8), Position { line: 3, column: 1 });
        assert_eq!(s.line_text(2), "çd");
        assert_eq!(s.line_count(), 3);
    }

    #[test]
    fn bom_is_stripped_and_offsets_shifted() {
        let s = src("\u{feff}{ }");
        assert!(s.bom);
        assert_eq!(s.text, "{ }");
        assert_eq!(s.file_offset(1), 4);
    }

    #[test]
    fn invalid_utf8_reports_line_and_column() {
        let err =
            SourceFile::from_bytes(PathBuf::from("x"), b"ab\ncd\xffe".to_vec(), FileKind::Nix)
                .unwrap_err();
        assert_eq!(
            err,
            DecodeError {
                offset: 5,
                line: 2,
                column: 3
            }
        );
    }

    #[test]
    fn offsets_inside_a_character_are_clamped() {
        let s = src("é");
        assert_eq!(s.position(1), Position { line: 1, column: 1 });
        assert_eq!(s.position(99), Position { line: 1, column: 2 });
    }
}
