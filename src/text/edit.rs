//! Text edits against the original source, applied in one pass.

use std::fmt;

use crate::text::Span;

/// Replace `span` of the original text with `insert`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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
    if let Some(pair) = edits.windows(2).find(|p| overlaps(&p[0], &p[1])) {
        return Err(OverlapError {
            first: pair[0].clone(),
            second: pair[1].clone(),
        });
    }
    Ok(edits)
}

/// Whether `b`, which sorts after `a` by (start, end), touches bytes that `a`
/// replaces, or replaces some from the same offset. Two insertions at one
/// offset do not overlap: they are applied in order.
fn overlaps(a: &TextEdit, b: &TextEdit) -> bool {
    b.span.start < a.span.end
        || (b.span.start == a.span.start && !a.span.is_empty() && !b.span.is_empty())
}

/// The first two edits, in position order, that [`normalize`] would reject as
/// overlapping: their owners and where the first one is. An edit made twice is
/// not an overlap. The edits themselves are not reordered.
pub fn first_overlap<O: Copy>(edits: &[(TextEdit, O)]) -> Option<(O, O, Span)> {
    let mut order: Vec<&(TextEdit, O)> = edits.iter().collect();
    order.sort_by_key(|(e, _)| (e.span.start, e.span.end));
    order.dedup_by(|later, earlier| later.0 == earlier.0);
    order
        .windows(2)
        .find(|p| overlaps(&p[0].0, &p[1].0))
        .map(|p| (p[0].1, p[1].1, p[0].0.span))
}

/// Where `span` of the text that normalized `edits` produced was in the
/// original text. Outside the edits, the same bytes; a start inside inserted
/// text goes to the start of what that edit replaced, an end there to its end.
/// `edits` are normalized ([`normalize`]).
pub fn span_before(edits: &[TextEdit], span: Span) -> Span {
    let map = |offset: usize, inside_to_end: bool| {
        // Positions that correspond, after the edits passed so far.
        let (mut old, mut new) = (0, 0);
        for edit in edits {
            let new_start = new + edit.span.start.saturating_sub(old);
            let new_end = new_start + edit.insert.len();
            // At a deletion, a start belongs to what follows it.
            let passed = offset == new_start && !inside_to_end && edit.insert.is_empty();
            if offset < new_start || (offset == new_start && !passed) {
                break;
            }
            if offset < new_end {
                return if inside_to_end {
                    edit.span.end
                } else {
                    edit.span.start
                };
            }
            (old, new) = (edit.span.end, new_end);
        }
        old + offset.saturating_sub(new)
    };
    Span::new(map(span.start, false), map(span.end, true))
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

    #[test]
    fn spans_of_the_new_text_map_back_to_the_original() {
        let text = "let a = [ 1 ]; in a";
        let edits = normalize(
            vec![
                TextEdit::replace(Span::new(8, 13), "{ x = 1; }"),
                TextEdit::insert(0, "# c\n"),
                TextEdit::delete(Span::new(15, 18)),
            ],
            text,
        )
        .unwrap();
        let new = apply(text, &edits).unwrap();
        assert_eq!(new, "# c\nlet a = { x = 1; }; a");
        let back = |start: usize, end: usize| {
            let span = span_before(&edits, Span::new(start, end));
            &text[span.start..span.end]
        };
        // Untouched bytes before, between and after the edits.
        assert_eq!(back(4, 7), "let");
        assert_eq!(back(8, 9), "a");
        assert_eq!(back(24, 25), "a");
        // Inside inserted text: what that edit replaced.
        assert_eq!(back(14, 19), "[ 1 ]");
        assert_eq!(back(0, 3), "");
        // Spanning an edit.
        assert_eq!(back(4, 25), "let a = [ 1 ]; in a");
    }

    #[test]
    fn every_kept_byte_maps_back_to_itself() {
        let mut next = crate::test_support::xorshift(0x5eed);
        for _ in 0..500 {
            let text: String = (0..40).map(|_| (b'a' + next(26) as u8) as char).collect();
            let mut edits = Vec::new();
            let mut at = next(8) as usize;
            while at < text.len() {
                let end = (at + next(4) as usize).min(text.len());
                let insert = "XYZ"[..next(4) as usize].to_owned();
                edits.push(TextEdit::replace(Span::new(at, end), insert));
                at = end + 1 + next(6) as usize;
            }
            let edits = normalize(edits, &text).unwrap();
            let new = apply(&text, &edits).unwrap();
            // Each byte outside the edits, where it is in the new text.
            let (mut old, mut shift) = (0, 0isize);
            for edit in edits.iter().chain([&TextEdit::insert(text.len(), "")]) {
                for byte in old..edit.span.start {
                    let moved = byte.checked_add_signed(shift).unwrap();
                    assert_eq!(new.as_bytes()[moved], text.as_bytes()[byte]);
                    let span = span_before(&edits, Span::new(moved, moved + 1));
                    assert_eq!(span, Span::new(byte, byte + 1), "{text} -> {new}");
                }
                shift += edit.insert.len() as isize - (edit.span.end - edit.span.start) as isize;
                old = edit.span.end;
            }
        }
    }

    #[test]
    fn the_first_overlap_names_the_owners_of_both_edits() {
        let owned = vec![
            (TextEdit::replace(Span::new(6, 8), "z"), 'c'),
            (TextEdit::insert(2, "+"), 'a'),
            (TextEdit::replace(Span::new(2, 4), "x"), 'b'),
            (TextEdit::insert(2, "-"), 'c'),
            (TextEdit::replace(Span::new(3, 5), "y"), 'c'),
        ];
        assert_eq!(first_overlap(&owned), Some(('b', 'c', Span::new(2, 4))));
        // The same edit twice, from two owners, is applied once.
        let twice = vec![
            (TextEdit::delete(Span::new(0, 2)), 'a'),
            (TextEdit::delete(Span::new(0, 2)), 'b'),
            (TextEdit::insert(2, "x"), 'b'),
        ];
        assert_eq!(first_overlap(&twice), None);
        assert!(
            apply(
                "abc",
                &twice.into_iter().map(|(e, _)| e).collect::<Vec<_>>()
            )
            .is_ok()
        );
        // Replacements from one offset overlap, insertions there do not.
        let same_start = vec![
            (TextEdit::replace(Span::new(1, 2), "p"), 'a'),
            (TextEdit::replace(Span::new(1, 3), "q"), 'b'),
        ];
        assert_eq!(
            first_overlap(&same_start),
            Some(('a', 'b', Span::new(1, 2)))
        );
        // Whatever first_overlap accepts, apply accepts, and the other way round.
        for owned in [owned, same_start] {
            let edits: Vec<TextEdit> = owned.into_iter().map(|(e, _)| e).collect();
            assert!(apply("abcdefgh", &edits).is_err());
        }
    }
}
