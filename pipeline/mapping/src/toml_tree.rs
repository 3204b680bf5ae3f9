//! A mapping file as a plain tree of TOML values, each with the line it was written on.
//!
//! Why not `serde` + `toml::Spanned`: serde stops at the first unknown key or wrong type, and a
//! mapping author should see every mistake at once; `toml::Spanned` cannot be put on map keys inside
//! a TOML datetime either. So the file is parsed with `toml_edit` (the parser under `toml`), which
//! keeps a span on every key and value, copied into this small tree, and `compile` walks it by hand.

use std::ops::Range;

/// Turns byte offsets into 1-based line numbers.
pub(crate) struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        LineIndex {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(offset, _)| offset)
                .collect(),
        }
    }

    /// Line of the byte at `offset` (offsets past the end count as the last line).
    pub(crate) fn line(&self, offset: usize) -> u64 {
        let newlines_before = self.newlines.partition_point(|newline| *newline < offset);
        newlines_before as u64 + 1
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub line: usize,
    pub value: NodeValue,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeValue {
    String(String),
    Integer(i64),
    Float,
    Bool(bool),
    Datetime,
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    /// Line of the key (where an "unknown key" error points).
    pub line: usize,
    pub node: Node,
}

impl NodeValue {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            NodeValue::String(_) => "a string",
            NodeValue::Integer(_) => "an integer",
            NodeValue::Float => "a float",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Datetime => "a date-time",
            NodeValue::Array(_) => "an array",
            NodeValue::Table(_) => "a table",
        }
    }
}

/// A TOML syntax error: the line and the parser's message.
pub(crate) struct SyntaxError {
    pub line: Option<usize>,
    pub message: String,
}

/// Parses `text` into a tree whose root is a table.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let lines = LineIndex::new(text);
    let document = toml_edit::ImDocument::parse(text).map_err(|error| SyntaxError {
        line: error.span().map(|span| lines.line(span.start) as usize),
        message: one_line(error.message()),
    })?;
    let converter = Converter { lines: &lines };
    Ok(converter.table(document.as_table(), 1))
}

/// toml_edit's messages span several lines ("invalid inline table" / "expected `}`"); they are
/// joined so that each error stays one `path:line: message` line.
fn one_line(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if parts.is_empty() {
        "invalid TOML".to_string()
    } else {
        parts.join("; ")
    }
}

struct Converter<'a> {
    lines: &'a LineIndex,
}

impl Converter<'_> {
    fn line_of(&self, span: Option<Range<usize>>, fallback: usize) -> usize {
        span.map(|span| self.lines.line(span.start) as usize)
            .unwrap_or(fallback)
    }

    fn table(&self, table: &toml_edit::Table, fallback: usize) -> Node {
        let table_line = self.line_of(table.span(), fallback);
        let entries = table
            .iter()
            .map(|(key, item)| {
                let key_line = table
                    .get_key_value(key)
                    .map(|(key, _)| self.line_of(key.span(), table_line))
                    .unwrap_or(table_line);
                Entry {
                    key: key.to_string(),
                    line: key_line,
                    node: self.item(item, key_line),
                }
            })
            .collect();
        Node {
            line: table_line,
            value: NodeValue::Table(entries),
        }
    }

    fn item(&self, item: &toml_edit::Item, fallback: usize) -> Node {
        match item {
            toml_edit::Item::Value(value) => self.value(value, fallback),
            toml_edit::Item::Table(table) => self.table(table, fallback),
            toml_edit::Item::ArrayOfTables(array) => {
                let line = self.line_of(array.span(), fallback);
                Node {
                    line,
                    value: NodeValue::Array(
                        array.iter().map(|table| self.table(table, line)).collect(),
                    ),
                }
            }
            // Only appears in documents built by hand, never in parsed ones.
            toml_edit::Item::None => Node {
                line: fallback,
                value: NodeValue::Table(Vec::new()),
            },
        }
    }

    fn value(&self, value: &toml_edit::Value, fallback: usize) -> Node {
        let line = self.line_of(value.span(), fallback);
        let value = match value {
            toml_edit::Value::String(text) => NodeValue::String(text.value().clone()),
            toml_edit::Value::Integer(number) => NodeValue::Integer(*number.value()),
            toml_edit::Value::Float(_) => NodeValue::Float,
            toml_edit::Value::Boolean(flag) => NodeValue::Bool(*flag.value()),
            toml_edit::Value::Datetime(_) => NodeValue::Datetime,
            toml_edit::Value::Array(array) => {
                NodeValue::Array(array.iter().map(|item| self.value(item, line)).collect())
            }
            toml_edit::Value::InlineTable(table) => NodeValue::Table(
                table
                    .iter()
                    .map(|(key, item)| {
                        let key_line = table
                            .get_key_value(key)
                            .map(|(key, _)| self.line_of(key.span(), line))
                            .unwrap_or(line);
                        Entry {
                            key: key.to_string(),
                            line: key_line,
                            node: self.value(item, key_line),
                        }
                    })
                    .collect(),
            ),
        };
        Node { line, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_newlines_before_the_offset() {
        let lines = LineIndex::new("a\nbc\n\nd");
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(1), 1);
        assert_eq!(lines.line(2), 2);
        assert_eq!(lines.line(5), 3);
        assert_eq!(lines.line(6), 4);
        assert_eq!(lines.line(100), 4);
    }

    #[test]
    fn keys_and_values_keep_their_lines_also_in_inline_tables_and_dates() {
        let text =
            "[a]\nx = 1\n\ny = { z = \"s\", w = 1979-05-27 }\nv = [\n  1,\n  { k = true },\n]\n";
        let root = match parse(text) {
            Ok(root) => root,
            Err(error) => panic!("{:?}: {}", error.line, error.message),
        };
        let NodeValue::Table(entries) = root.value else {
            panic!("root is a table")
        };
        let a = &entries[0];
        assert_eq!((a.key.as_str(), a.line), ("a", 1));
        let NodeValue::Table(a_entries) = &a.node.value else {
            panic!("a is a table")
        };
        assert_eq!(a_entries[0].line, 2);
        assert_eq!(a_entries[1].line, 4);
        let NodeValue::Table(y) = &a_entries[1].node.value else {
            panic!("y is a table")
        };
        assert_eq!((y[0].key.as_str(), y[0].line), ("z", 4));
        assert!(matches!(y[1].node.value, NodeValue::Datetime));
        let NodeValue::Array(v) = &a_entries[2].node.value else {
            panic!("v is an array")
        };
        assert_eq!(v[0].line, 6);
        assert_eq!(v[1].line, 7);
        let NodeValue::Table(k) = &v[1].value else {
            panic!("an inline table")
        };
        assert_eq!(k[0].line, 7);
    }

    #[test]
    fn syntax_error_has_a_line_and_a_one_line_message() {
        let Err(error) = parse("a = 1\nb = \n") else {
            panic!("must fail")
        };
        assert_eq!(error.line, Some(2));
        assert!(!error.message.contains('\n'));
    }
}
