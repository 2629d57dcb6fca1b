//! Text edits against the original source, applied in one pass.

use std::fmt;

use crate::inventory::Span;

/// Replace `span` of the original text with `insert`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TextEdit {
    pub span: Span,
    pub insert: String,
}

impl TextEdit {
    pub fn replace(span: Span, insert: impl Into<String>) -> Self {
        TextEdit {
            span,
            insert: insert.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self::replace(Span::new(at, at), text)
    }

    pub fn delete(span: Span) -> Self {
        Self::replace(span, "")
    }
}

/// Two edits that touch the same bytes: a bug in the planner, never skipped silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlapError {
    pub first: TextEdit,
    pub second: TextEdit,
}

impl fmt::Display for OverlapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "internal error: overlapping edits at bytes {}..{} and {}..{}",
            self.first.span.start,
            self.first.span.end,
            self.second.span.start,
            self.second.span.end
        )
    }
}

/// Sorts edits by position (insertions at one offset keep their order), removes
/// exact duplicates, and rejects overlaps and edits outside the text or inside a
/// character.
pub fn normalize(mut edits: Vec<TextEdit>, text: &str) -> Result<Vec<TextEdit>, OverlapError> {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    edits.dedup();
    for edit in &edits {
        let valid = edit.span.start <= edit.span.end
            && edit.span.end <= text.len()
            && text.is_char_boundary(edit.span.start)
            && text.is_char_boundary(edit.span.end);
        if !valid {
            return Err(OverlapError {
                first: edit.clone(),
                second: edit.clone(),
            });
        }
    }
    for pair in edits.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let overlaps = b.span.start < a.span.end
            || (b.span.start == a.span.start && !a.span.is_empty() && !b.span.is_empty());
        if overlaps {
            return Err(OverlapError {
                first: a.clone(),
                second: b.clone(),
            });
        }
    }
    Ok(edits)
}

/// Applies normalized edits.
pub fn apply(text: &str, edits: &[TextEdit]) -> Result<String, OverlapError> {
    let edits = normalize(edits.to_vec(), text)?;
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for edit in &edits {
        out.push_str(&text[pos..edit.span.start]);
        out.push_str(&edit.insert);
        pos = edit.span.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_position_order() {
        let text = "abcdef";
        let edits = vec![
            TextEdit::replace(Span::new(4, 6), "XY"),
            TextEdit::insert(0, ">"),
            TextEdit::delete(Span::new(1, 2)),
            TextEdit::insert(0, ">"),
        ];
        // duplicates collapse: the same insertion twice is one edit
        assert_eq!(apply(text, &edits).unwrap(), ">acdXY");
    }

    #[test]
    fn insertion_before_a_replacement_at_the_same_offset() {
        let edits = vec![
            TextEdit::replace(Span::new(1, 2), "B"),
            TextEdit::insert(1, "+"),
        ];
        assert_eq!(apply("abc", &edits).unwrap(), "a+Bc");
    }

    #[test]
    fn overlaps_are_errors() {
        let edits = vec![
            TextEdit::replace(Span::new(0, 3), "x"),
            TextEdit::replace(Span::new(2, 4), "y"),
        ];
        assert!(apply("abcdef", &edits).is_err());
        assert!(apply("abc", &[TextEdit::delete(Span::new(2, 9))]).is_err());
        assert!(apply("é", &[TextEdit::delete(Span::new(0, 1))]).is_err());
    }
}
