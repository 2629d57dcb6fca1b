//! Writes a [`JsonNode`] the way the clan CLI does (Python's
//! `json.dump(data, f, indent=N)`): `": "` after keys, one member per line,
//! `{}`/`[]` for empty containers, non-ASCII escaped when `ensure_ascii`.
//! A document is only rewritten when writing it back unchanged reproduces its
//! bytes, so untouched parts keep every byte.

use crate::syntax::json::{JsonNode, JsonValue};

/// How a document is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonStyle {
    pub indent: String,
    pub ensure_ascii: bool,
    pub crlf: bool,
    /// Whatever follows the root value (the CLI writes nothing; editors add `\n`).
    pub trailing: String,
}

impl JsonStyle {
    /// The style that reproduces `text` exactly from `root`, if there is one.
    pub fn detect(text: &str, root: &JsonNode) -> Option<JsonStyle> {
        let crlf = text.contains("\r\n");
        let indent: String = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .find_map(|l| {
                let lead: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
                (!lead.is_empty()).then_some(lead)
            })
            .unwrap_or_else(|| "  ".to_owned());
        let trailing = text.get(root.end..)?.to_owned();
        [true, false].into_iter().find_map(|ensure_ascii| {
            let style = JsonStyle {
                indent: indent.clone(),
                ensure_ascii,
                crlf,
                trailing: trailing.clone(),
            };
            (style.write(root) == text).then_some(style)
        })
    }

    /// The document text.
    pub fn write(&self, root: &JsonNode) -> String {
        let mut out = String::new();
        self.value(&root.value, 0, &mut out);
        if self.crlf {
            out = out.replace('\n', "\r\n");
        }
        out.push_str(&self.trailing);
        out
    }

    fn value(&self, value: &JsonValue, depth: usize, out: &mut String) {
        match value {
            JsonValue::Null => out.push_str("null"),
            JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonValue::Number(n) => out.push_str(n),
            JsonValue::String(s) => self.string(s, out),
            JsonValue::Array(items) if items.is_empty() => out.push_str("[]"),
            JsonValue::Object(members) if members.is_empty() => out.push_str("{}"),
            JsonValue::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    self.pad(depth + 1, out);
                    self.value(&item.value, depth + 1, out);
                }
                out.push('\n');
                self.pad(depth, out);
                out.push(']');
            }
            JsonValue::Object(members) => {
                out.push('{');
                for (i, member) in members.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    self.pad(depth + 1, out);
                    self.string(&member.key, out);
                    out.push_str(": ");
                    self.value(&member.value.value, depth + 1, out);
                }
                out.push('\n');
                self.pad(depth, out);
                out.push('}');
            }
        }
    }

    fn pad(&self, depth: usize, out: &mut String) {
        for _ in 0..depth {
            out.push_str(&self.indent);
        }
    }

    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if self.ensure_ascii && !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// A node without a position (for values built by the rewrite).
pub fn node(value: JsonValue) -> JsonNode {
    JsonNode {
        start: 0,
        end: 0,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::json::parse;

    #[test]
    fn round_trips_what_python_json_dump_writes() {
        // `json.dump({"a": {"b": [], "c": {}}, "d": ["\u00e9", 1.5, None]}, f, indent=2)`
        let text = "{\n  \"a\": {\n    \"b\": [],\n    \"c\": {}\n  },\n  \"d\": [\n    \"\\u00e9\",\n    1.5,\n    null\n  ]\n}";
        let root = parse(text).unwrap();
        let style = JsonStyle::detect(text, &root).expect("round trip");
        assert!(style.ensure_ascii);
        assert_eq!(style.write(&root), text);
    }

    #[test]
    fn raw_non_ascii_crlf_and_a_trailing_newline() {
        let text = "{\r\n    \"name\": \"Café\"\r\n}\n";
        let root = parse(text).unwrap();
        let style = JsonStyle::detect(text, &root).expect("round trip");
        assert_eq!(
            (style.indent.as_str(), style.ensure_ascii, style.crlf),
            ("    ", false, true)
        );
    }

    #[test]
    fn other_layouts_are_not_claimed() {
        for text in ["{\"a\": 1}", "{\n  \"a\" : 1\n}", "{\n  \"a\": [1, 2]\n}"] {
            let root = parse(text).unwrap();
            assert_eq!(JsonStyle::detect(text, &root), None, "{text}");
        }
    }
}
