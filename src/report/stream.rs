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

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes one element (after `[` or `,`), indented one level below the array's line.
    pub fn push(&mut self, element: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
        let text = serde_json::to_string_pretty(element)?;
        out.write_all(if self.count == 0 { b"[" } else { b"," })?;
        for line in text.split('\n') {
            write!(out, "\n{}  {line}", self.indent)?;
        }
        self.count += 1;
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

/// Bytes kept for later: in memory, moved to an anonymous temporary file once
/// they outgrow [`Spool::MEMORY`].
#[derive(Default)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<io::BufWriter<std::fs::File>>,
}

impl Spool {
    const MEMORY: usize = 1 << 20;

    /// Writes what was kept to `out`.
    pub fn copy_to(&mut self, out: &mut dyn Write) -> io::Result<()> {
        use std::io::Seek;
        match &mut self.file {
            None => out.write_all(&self.memory),
            Some(file) => {
                file.flush()?;
                let file = file.get_mut();
                file.seek(io::SeekFrom::Start(0))?;
                io::copy(file, out).map(|_| ())
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > Self::MEMORY {
            let mut file = io::BufWriter::new(tempfile::tempfile()?);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write(buf),
            None => self.memory.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn streamed(elements: &[serde_json::Value], nest: bool) -> String {
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
        for e in elements {
            array.push(e, &mut out).unwrap();
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
            streamed(&[], nest);
            streamed(&elements[..1], nest);
            streamed(&elements, nest);
        }
    }
}
