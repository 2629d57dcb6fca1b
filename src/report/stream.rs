//! Pretty-printed JSON documents written a piece at a time: one array of the
//! document (the findings, the SARIF results) is written element by element
//! while the files of a run are analysed, so no renderer holds a whole run.
//! The bytes are the same as `serde_json::to_writer_pretty` of the whole
//! document would write.

use std::io::{self, Write};

use serde::Serialize;

/// Stands for the streamed array in the document before it is split.
pub const MARK: &str = "@@clan-migrate-streamed-array@@";

/// `document` (which holds the string `mark` as the value of the streamed array)
/// pretty-printed and split around it: what comes before the array, what comes
/// after, and the indentation of the line holding it.
pub fn split(document: &impl Serialize, mark: &str) -> io::Result<(String, String, String)> {
    let text = serde_json::to_string_pretty(document)?;
    let quoted = format!("\"{mark}\"");
    let Some(at) = text.find(&quoted) else {
        return Err(io::Error::other("streamed array missing from the document"));
    };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let after = text[at + quoted.len()..].to_owned();
    let mut before = text;
    before.truncate(at);
    Ok((before, after, indent))
}

/// The elements of one streamed array.
#[derive(Debug, Default)]
pub struct Array {
    /// Indentation of the line that holds the array.
    indent: String,
    count: usize,
}

impl Array {
    pub fn new(indent: String) -> Self {
        Array { indent, count: 0 }
    }

    /// Writes one element (after `[` or `,`), indented one level below the array's line.
    pub fn push(&mut self, element: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
        let mut bytes = Vec::new();
        self.elements().render(element, &mut bytes)?;
        self.write(&bytes, 1, out)
    }

    /// Renders elements of this array, on any thread.
    pub fn elements(&self) -> Elements {
        Elements {
            line_start: [b"\n", self.indent.as_bytes(), b"  "].concat(),
        }
    }

    /// Writes `elements` elements that [`Elements::render`] put in `rendered`.
    pub fn write(
        &mut self,
        rendered: &[u8],
        elements: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if elements == 0 {
            return Ok(());
        }
        if self.count == 0 {
            // The first element follows the `[` instead of a `,`.
            out.write_all(b"[")?;
            out.write_all(rendered.get(1..).unwrap_or_default())?;
        } else {
            out.write_all(rendered)?;
        }
        self.count += elements;
        Ok(())
    }

    /// Closes the array (`[]` when it had no element).
    pub fn close(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.count == 0 {
            out.write_all(b"[]")
        } else {
            write!(out, "\n{}]", self.indent)
        }
    }
}

/// Renders the elements of one [`Array`] as it writes them.
pub struct Elements {
    /// A line break and the indentation of the array's elements.
    line_start: Vec<u8>,
}

impl Elements {
    /// Appends `element` to `bytes` as the array writes it after a `,`: the
    /// `,`, then each of its lines after a line break and the indentation.
    pub fn render(&self, element: &impl Serialize, bytes: &mut Vec<u8>) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(element)?;
        // Every line break of pretty-printed JSON is one of its own (strings
        // escape theirs).
        bytes.reserve(text.len() + text.len() / 8 + self.line_start.len() + 1);
        bytes.push(b',');
        bytes.extend_from_slice(&self.line_start);
        let mut rest = text.as_slice();
        while let Some(at) = memchr::memchr(b'\n', rest) {
            bytes.extend_from_slice(&rest[..at]);
            bytes.extend_from_slice(&self.line_start);
            rest = &rest[at + 1..];
        }
        bytes.extend_from_slice(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `elements` streamed into a document, `group` at a time (one at a time
    /// with [`Array::push`] when `group` is 1), checked against the document
    /// written whole.
    fn streamed(elements: &[serde_json::Value], nest: bool, group: usize) -> String {
        let document = |array: serde_json::Value| {
            if nest {
                json!({ "a": 1, "runs": [{ "x": "y", "results": array, "z": [1, 2] }], "b": {} })
            } else {
                json!({ "a": 1, "results": array, "b": "c\nd" })
            }
        };
        let whole = serde_json::to_string_pretty(&document(json!(elements))).unwrap();
        let (before, after, indent) = split(&document(json!(MARK)), MARK).unwrap();
        let mut out = before.into_bytes();
        let mut array = Array::new(indent);
        // A group of no element writes nothing, not even the `[`.
        array.write(&[], 0, &mut out).unwrap();
        for chunk in elements.chunks(group) {
            if group == 1 {
                array.push(&chunk[0], &mut out).unwrap();
                continue;
            }
            let mut bytes = Vec::new();
            for e in chunk {
                array.elements().render(e, &mut bytes).unwrap();
            }
            array.write(&bytes, chunk.len(), &mut out).unwrap();
        }
        array.close(&mut out).unwrap();
        out.extend_from_slice(after.as_bytes());
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, whole);
        out
    }

    #[test]
    fn writes_the_bytes_of_the_whole_document() {
        let elements = [
            json!({ "k": [1, { "deep": "line\nbreak" }], "e": [], "o": {} }),
            json!("plain"),
            json!([[], [1]]),
        ];
        for nest in [false, true] {
            for group in [1, 2, 3] {
                streamed(&[], nest, group);
                streamed(&elements[..1], nest, group);
                streamed(&elements, nest, group);
            }
        }
    }
}
