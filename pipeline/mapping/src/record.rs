//! Source records: one case as read from a department's document, in a small owned tree, and the
//! path lookups a mapping does on it.
//!
//! A record can be written out as JSON (`raw_text`) and read back (`from_raw_text`) so that the
//! quarantine can keep a record that did not map and replay it through a fixed mapping later.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::document::json::{check_depth, from_str_unbounded};
use crate::error::DocumentError;
use crate::limits::ReadLimits;

/// One XML element: what the mapping can see of it. Direct text chunks (and CDATA) are concatenated;
/// comments and processing instructions are dropped.
///
/// Nothing walks this tree by recursion on its depth except the derived `Clone` and `PartialEq`:
/// the reader builds it with an explicit stack, [`SourceRecord::raw_text`] writes it and
/// [`SourceRecord::from_raw_text`] rebuilds it with explicit stacks, lookups go level by level along
/// a mapping's path, and `Drop` takes it apart on the heap. `Clone` and `PartialEq` recurse, but
/// every tree comes from the reader or from a raw record, both of which refuse nesting deeper than
/// [`ReadLimits::DEPTH_CEILING`]; `tests/hostile.rs` clones and compares trees at that depth.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct XmlElement {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub text: String,
    pub children: Vec<XmlElement>,
}

impl Drop for XmlElement {
    /// The default drop recurses once per level; this one moves descendants onto a heap stack, so
    /// even a tree built by hand, beyond any limit, is dropped safely.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut element) = pending.pop() {
            pending.append(&mut element.children);
        }
    }
}

impl XmlElement {
    pub(crate) fn new(name: String) -> XmlElement {
        XmlElement {
            name,
            attributes: BTreeMap::new(),
            text: String::new(),
            children: Vec::new(),
        }
    }

    /// Appends the JSON form (`{"attributes":{…},"children":[…],"name":…,"text":…}`, empty parts
    /// left out, keys in serde_json's sorted order) to `out`, without recursion.
    fn write_json(&self, out: &mut String) {
        enum Step<'a> {
            Open(&'a XmlElement),
            Comma,
            Close(&'a XmlElement),
        }
        let mut steps = vec![Step::Open(self)];
        while let Some(step) = steps.pop() {
            match step {
                Step::Open(element) => {
                    out.push('{');
                    if !element.attributes.is_empty() {
                        out.push_str("\"attributes\":");
                        write_string_object(element.attributes.iter(), out);
                    }
                    if element.children.is_empty() {
                        element.write_json_tail(out);
                        continue;
                    }
                    if !element.attributes.is_empty() {
                        out.push(',');
                    }
                    out.push_str("\"children\":[");
                    steps.push(Step::Close(element));
                    for (index, child) in element.children.iter().enumerate().rev() {
                        steps.push(Step::Open(child));
                        if index > 0 {
                            steps.push(Step::Comma);
                        }
                    }
                }
                Step::Comma => out.push(','),
                Step::Close(element) => {
                    out.push(']');
                    element.write_json_tail(out);
                }
            }
        }
    }

    /// `"name"` and `"text"` and the closing brace, after whatever came before in the object.
    fn write_json_tail(&self, out: &mut String) {
        if !out.ends_with('{') {
            out.push(',');
        }
        out.push_str("\"name\":");
        write_json_string(&self.name, out);
        if !self.text.is_empty() {
            out.push_str(",\"text\":");
            write_json_string(&self.text, out);
        }
        out.push('}');
    }

    /// Rebuilds an element tree from its JSON form, consuming it, without recursion.
    fn from_json(value: Value) -> Result<XmlElement, String> {
        struct Open {
            element: XmlElement,
            children: std::vec::IntoIter<Value>,
        }
        let open = |value: Value| -> Result<Open, String> {
            let (element, children) = XmlElement::shallow_from_json(value)?;
            Ok(Open {
                element,
                children: children.into_iter(),
            })
        };
        let mut stack = vec![open(value)?];
        loop {
            let Some(top) = stack.last_mut() else {
                return Err("an element is missing".into()); // not reached: the root is pushed above
            };
            match top.children.next() {
                Some(child) => {
                    let child = open(child)?;
                    stack.push(child);
                }
                None => {
                    let Some(done) = stack.pop() else {
                        return Err("an element is missing".into());
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.element.children.push(done.element),
                        None => return Ok(done.element),
                    }
                }
            }
        }
    }

    /// One element's own parts from its JSON form; its children come back unread.
    fn shallow_from_json(value: Value) -> Result<(XmlElement, Vec<Value>), String> {
        let Value::Object(object) = value else {
            return Err("an element is not a JSON object".into());
        };
        let mut element = XmlElement::default();
        let mut name = None;
        let mut children = Vec::new();
        for (key, value) in object {
            match (key.as_str(), value) {
                ("name", Value::String(text)) => name = Some(text),
                ("text", Value::String(text)) => element.text = text,
                ("attributes", Value::Object(attributes)) => {
                    for (attribute, value) in attributes {
                        let Value::String(value) = value else {
                            return Err("an attribute value is not a string".into());
                        };
                        element.attributes.insert(attribute, value);
                    }
                }
                ("children", Value::Array(items)) => children = items,
                ("name" | "text" | "attributes" | "children", _) => {
                    return Err(format!("`{key}` of an element has the wrong type"))
                }
                _ => {
                    return Err(
                        "an element has a member other than name, attributes, text and children"
                            .into(),
                    )
                }
            }
        }
        element.name = name.ok_or("an element has no `name`")?;
        Ok((element, children))
    }
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it (so that `raw_text`
/// stays byte-for-byte what it was when it was built with serde_json).
fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_string_object<K: AsRef<str>, V: AsRef<str>>(
    members: impl Iterator<Item = (K, V)>,
    out: &mut String,
) {
    out.push('{');
    for (index, (key, value)) in members.enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_json_string(key.as_ref(), out);
        out.push(':');
        write_json_string(value.as_ref(), out);
    }
    out.push('}');
}

/// One cell of a spreadsheet row: its text, or the error value Excel shows in it (`#N/A`), kept
/// with the cell's reference so that a record reading it fails naming the cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SheetCell {
    Text(String),
    /// `cell` is the reference (`Sheet1!C7`), `error` what Excel shows (`#N/A`, `#DIV/0!`).
    Error {
        cell: String,
        error: String,
    },
}

/// The content of a record, by document kind (JSON and JSONL records are both JSON objects).
#[derive(Clone, PartialEq)]
pub(crate) enum RecordBody {
    Xml(XmlElement),
    Json(Value),
    Csv(BTreeMap<String, String>),
    /// A spreadsheet row (format `xlsx`), keyed by the header's column names.
    Sheet(BTreeMap<String, SheetCell>),
    /// A database row (format `row`), keyed by column name; `None` is SQL NULL.
    Row(BTreeMap<String, Option<String>>),
}

impl RecordBody {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            RecordBody::Xml(_) => "xml",
            RecordBody::Json(_) => "json",
            RecordBody::Csv(_) => "csv",
            RecordBody::Sheet(_) => "xlsx",
            RecordBody::Row(_) => "row",
        }
    }
}

/// One source record, split out of a document by [`crate::Mapping::read_document`].
#[derive(Clone, PartialEq)]
pub struct SourceRecord {
    origin: String,
    line: u64,
    pub(crate) body: RecordBody,
}

/// Shows where the record came from, never its content (which holds personal data).
impl fmt::Debug for SourceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceRecord")
            .field("origin", &self.origin)
            .field("line", &self.line)
            .field("kind", &self.body.kind())
            .finish_non_exhaustive()
    }
}

/// The shape `raw_text` writes and `from_raw_text` reads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    origin: String,
    line: u64,
    format: String,
    record: Value,
}

impl SourceRecord {
    pub(crate) fn new(origin: &str, line: u64, body: RecordBody) -> SourceRecord {
        SourceRecord {
            origin: origin.to_string(),
            line,
            body,
        }
    }

    /// The file path or name of the document the record came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// 1-based line where the record starts in its document.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The record as one line of JSON, for the quarantine to keep and replay:
    /// `{"format":"xml"|"json"|"csv"|"xlsx"|"row","line":…,"origin":…,"record":…}`. An XML record is
    /// written as `{"attributes":{…},"children":[…],"name":…,"text":…}` (empty parts left out); a
    /// spreadsheet row as `{"column":"text"}` with an error cell as
    /// `{"column":{"cell":"Sheet1!C7","error":"#N/A"}}`; a database row as `{"column":"text"}` with
    /// NULL as `null`.
    ///
    /// Written by hand rather than through a `serde_json::Value`: serde_json serializes and drops a
    /// `Value` by recursion, and an XML record's JSON form nests twice as deep as the record.
    pub fn raw_text(&self) -> String {
        let mut out = String::from("{\"format\":");
        write_json_string(self.body.kind(), &mut out);
        out.push_str(&format!(",\"line\":{},\"origin\":", self.line));
        write_json_string(&self.origin, &mut out);
        out.push_str(",\"record\":");
        match &self.body {
            RecordBody::Xml(element) => element.write_json(&mut out),
            // Nested no deeper than the reader's depth limit (see `ReadLimits::DEPTH_CEILING`).
            RecordBody::Json(value) => out.push_str(&value.to_string()),
            RecordBody::Csv(row) => write_string_object(row.iter(), &mut out),
            RecordBody::Sheet(row) => {
                out.push('{');
                for (index, (column, cell)) in row.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_json_string(column, &mut out);
                    out.push(':');
                    match cell {
                        SheetCell::Text(text) => write_json_string(text, &mut out),
                        SheetCell::Error { cell, error } => write_string_object(
                            [("cell", cell.as_str()), ("error", error.as_str())].into_iter(),
                            &mut out,
                        ),
                    }
                }
                out.push('}');
            }
            RecordBody::Row(row) => {
                out.push('{');
                for (index, (column, value)) in row.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_json_string(column, &mut out);
                    out.push(':');
                    match value {
                        Some(text) => write_json_string(text, &mut out),
                        None => out.push_str("null"),
                    }
                }
                out.push('}');
            }
        }
        out.push('}');
        out
    }

    /// Reads back what [`SourceRecord::raw_text`] wrote.
    pub fn from_raw_text(text: &str) -> Result<SourceRecord, DocumentError> {
        const ORIGIN: &str = "raw record";
        // The deepest raw record the readers can produce: an XML record nested to the ceiling, each
        // element an object inside its parent's `children` array, the deepest one's `attributes`
        // one more level, all inside the raw object. Checked before serde_json recurses into it.
        let deepest = 2 * ReadLimits::DEPTH_CEILING + 1;
        if check_depth(text, deepest).is_err() {
            return Err(DocumentError::whole(
                ORIGIN,
                format!("not a raw record written by raw_text: it nests deeper than {deepest} levels, deeper than any record the readers produce"),
            ));
        }
        let raw: RawRecord = from_str_unbounded(text).map_err(|error| {
            DocumentError::whole(
                ORIGIN,
                format!(
                    "not a raw record written by raw_text: {}",
                    safe_json_message(&error)
                ),
            )
        })?;
        let body = match raw.format.as_str() {
            "xml" => RecordBody::Xml(XmlElement::from_json(raw.record).map_err(|problem| {
                DocumentError::whole(
                    &raw.origin,
                    format!("raw XML record is malformed: {problem}"),
                )
            })?),
            "json" => match raw.record {
                Value::Object(_) => RecordBody::Json(raw.record),
                _ => {
                    return Err(DocumentError::whole(
                        &raw.origin,
                        "raw JSON record is not an object",
                    ))
                }
            },
            "csv" => RecordBody::Csv(serde_json::from_value(raw.record).map_err(|error| {
                DocumentError::whole(
                    &raw.origin,
                    format!("raw CSV record is malformed: {}", safe_json_message(&error)),
                )
            })?),
            "xlsx" => RecordBody::Sheet(raw_sheet_row(raw.record, &raw.origin)?),
            "row" => RecordBody::Row(serde_json::from_value(raw.record).map_err(|error| {
                DocumentError::whole(
                    &raw.origin,
                    format!(
                        "raw database row is malformed (each column is text or null): {}",
                        safe_json_message(&error)
                    ),
                )
            })?),
            other => {
                return Err(DocumentError::whole(
                    &raw.origin,
                    format!(
                    "raw record has unknown format `{other}`; expected xml, json, csv, xlsx or row"
                ),
                ))
            }
        };
        Ok(SourceRecord {
            origin: raw.origin,
            line: raw.line,
            body,
        })
    }
}

/// A raw spreadsheet row: each column is text, or `{"error":…,"cell":…}` for an error cell.
fn raw_sheet_row(
    record: Value,
    origin: &str,
) -> Result<BTreeMap<String, SheetCell>, DocumentError> {
    let malformed = || {
        DocumentError::whole(
            origin,
            "raw spreadsheet row is malformed: each column is text or {\"error\":…,\"cell\":…}",
        )
    };
    let Value::Object(columns) = record else {
        return Err(malformed());
    };
    columns
        .into_iter()
        .map(|(column, value)| {
            let cell = match value {
                Value::String(text) => SheetCell::Text(text),
                Value::Object(mut error) if error.len() == 2 => {
                    match (error.remove("error"), error.remove("cell")) {
                        (Some(Value::String(error)), Some(Value::String(cell))) => {
                            SheetCell::Error { cell, error }
                        }
                        _ => return Err(malformed()),
                    }
                }
                _ => return Err(malformed()),
            };
            Ok((column, cell))
        })
        .collect()
}

/// serde_json's message without the " at line L column C" suffix (the caller says where), and
/// without the message at all for shape errors: serde quotes the offending value in those
/// (`invalid type: string "…"`), which may be personal data.
pub(crate) fn safe_json_message(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Data => "a value has the wrong type".to_string(),
        serde_json::error::Category::Io
        | serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof => {
            let message = error.to_string();
            match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_string(),
                None => message,
            }
        }
    }
}

/// Where a value sits in a source record; the syntax depends on the mapping's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourcePath {
    /// `a/b` (text of every `b` under every `a`), `a/b/@c` (attribute `c` of those), `@c` (attribute
    /// of the record element), `.` (the record element's own text).
    Xml {
        elements: Vec<String>,
        attribute: Option<String>,
    },
    /// A JSON pointer (RFC 6901) into the record object.
    Json(String),
    /// A column name: a CSV or spreadsheet header, or a database column.
    Column(String),
}

impl fmt::Display for SourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourcePath::Xml {
                elements,
                attribute,
            } => {
                let mut parts: Vec<String> = elements.clone();
                if let Some(attribute) = attribute {
                    parts.push(format!("@{attribute}"));
                }
                if parts.is_empty() {
                    f.write_str(".")
                } else {
                    f.write_str(&parts.join("/"))
                }
            }
            SourcePath::Json(pointer) => f.write_str(pointer),
            SourcePath::Column(column) => f.write_str(column),
        }
    }
}

/// A lookup that found something the path cannot turn into text (never includes the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupError(pub String);

impl SourceRecord {
    /// Every value at `path`, trimmed, with empty ones left out (an empty element or column counts as
    /// absent). Several values come back when an XML path crosses repeated elements or a JSON pointer
    /// ends at an array.
    pub(crate) fn lookup(&self, path: &SourcePath) -> Result<Vec<String>, LookupError> {
        let raw = match (&self.body, path) {
            (
                RecordBody::Xml(root),
                SourcePath::Xml {
                    elements,
                    attribute,
                },
            ) => {
                let mut current: Vec<&XmlElement> = vec![root];
                for name in elements {
                    current = current
                        .iter()
                        .flat_map(|element| element.children.iter())
                        .filter(|child| &child.name == name)
                        .collect();
                }
                match attribute {
                    Some(attribute) => current
                        .iter()
                        .filter_map(|element| element.attributes.get(attribute).cloned())
                        .collect(),
                    None => current.iter().map(|element| element.text.clone()).collect(),
                }
            }
            (RecordBody::Json(root), SourcePath::Json(pointer)) => json_values(root, pointer)?,
            (RecordBody::Csv(row), SourcePath::Column(column)) => {
                row.get(column).cloned().into_iter().collect()
            }
            (RecordBody::Sheet(row), SourcePath::Column(column)) => match row.get(column) {
                None => Vec::new(),
                Some(SheetCell::Text(text)) => vec![text.clone()],
                Some(SheetCell::Error { cell, error }) => {
                    return Err(LookupError(format!(
                        "cell {cell} holds the error {error}; correct the sheet and send it again"
                    )))
                }
            },
            (RecordBody::Row(row), SourcePath::Column(column)) => {
                row.get(column).cloned().flatten().into_iter().collect()
            }
            (body, _) => {
                return Err(LookupError(format!(
                    "the record is {} but the mapping reads a different format",
                    body.kind()
                )))
            }
        };
        Ok(raw
            .into_iter()
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
            .collect())
    }
}

fn json_values(root: &Value, pointer: &str) -> Result<Vec<String>, LookupError> {
    match root.pointer(pointer) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .filter(|item| !item.is_null())
            .map(|item| {
                json_scalar(item).ok_or_else(|| {
                    LookupError(format!(
                        "`{pointer}` is an array holding {}; only text, numbers and booleans can be mapped",
                        json_type(item)
                    ))
                })
            })
            .collect(),
        Some(value) => json_scalar(value).map(|text| vec![text]).ok_or_else(|| {
            LookupError(format!(
                "`{pointer}` is {}, not a value; point at a field inside it",
                json_type(value)
            ))
        }),
    }
}

/// Numbers keep serde_json's shortest round-trip form (`0.5`, `5000`), which the amount parser reads.
fn json_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn element(name: &str) -> XmlElement {
        XmlElement::new(name.into())
    }

    /// The JSON form as it was built before it was written by hand: through serde_json, recursively.
    fn recursive_json(element: &XmlElement) -> Value {
        let mut object = Map::new();
        object.insert("name".into(), Value::String(element.name.clone()));
        if !element.attributes.is_empty() {
            let attributes = element
                .attributes
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect();
            object.insert("attributes".into(), Value::Object(attributes));
        }
        if !element.text.is_empty() {
            object.insert("text".into(), Value::String(element.text.clone()));
        }
        if !element.children.is_empty() {
            let children = element.children.iter().map(recursive_json).collect();
            object.insert("children".into(), Value::Array(children));
        }
        Value::Object(object)
    }

    fn xml_record() -> SourceRecord {
        let mut case = element("Case");
        case.attributes.insert("id".into(), "C-1".into());
        let mut types = element("PenaltyTypes");
        for code in ["01", " 03 ", ""] {
            let mut item = element("Type");
            item.text = code.into();
            types.children.push(item);
        }
        case.children.push(types);
        let mut org = element("Org");
        org.text = "\n  东阿县市场监督管理局\n".into();
        org.attributes.insert("division".into(), "371524".into());
        case.children.push(org);
        SourceRecord::new("a.xml", 3, RecordBody::Xml(case))
    }

    fn xml(path: &str) -> SourcePath {
        let mut elements: Vec<String> = path.split('/').map(String::from).collect();
        let attribute = elements
            .last()
            .and_then(|last| last.strip_prefix('@'))
            .map(String::from);
        if attribute.is_some() {
            elements.pop();
        }
        SourcePath::Xml {
            elements,
            attribute,
        }
    }

    #[test]
    fn xml_lookup_reads_text_attributes_and_repeated_elements() {
        let record = xml_record();
        assert_eq!(record.lookup(&xml("@id")).unwrap(), vec!["C-1"]);
        assert_eq!(
            record.lookup(&xml("Org")).unwrap(),
            vec!["东阿县市场监督管理局"]
        );
        assert_eq!(
            record.lookup(&xml("Org/@division")).unwrap(),
            vec!["371524"]
        );
        assert_eq!(
            record.lookup(&xml("PenaltyTypes/Type")).unwrap(),
            vec!["01", "03"],
            "trimmed, and the empty element left out"
        );
        assert!(record.lookup(&xml("Missing/Deeper")).unwrap().is_empty());
        assert!(record.lookup(&xml("Org/@missing")).unwrap().is_empty());
    }

    #[test]
    fn json_lookup_turns_numbers_and_booleans_into_text_and_rejects_objects() {
        let record = SourceRecord::new(
            "a.json",
            1,
            RecordBody::Json(
                json!({"a": {"b": 0.5, "c": true, "d": null, "e": ["x", 2]}, "f": ""}),
            ),
        );
        let pointer = |p: &str| SourcePath::Json(p.into());
        assert_eq!(record.lookup(&pointer("/a/b")).unwrap(), vec!["0.5"]);
        assert_eq!(record.lookup(&pointer("/a/c")).unwrap(), vec!["true"]);
        assert!(record.lookup(&pointer("/a/d")).unwrap().is_empty());
        assert!(record.lookup(&pointer("/f")).unwrap().is_empty());
        assert_eq!(record.lookup(&pointer("/a/e")).unwrap(), vec!["x", "2"]);
        let error = record.lookup(&pointer("/a")).unwrap_err();
        assert!(error.0.contains("is an object"), "{}", error.0);
    }

    #[test]
    fn lookup_with_a_path_of_another_format_is_an_error() {
        let record = xml_record();
        assert!(record.lookup(&SourcePath::Column("a".into())).is_err());
    }

    #[test]
    fn raw_text_round_trips_every_kind() {
        let csv = SourceRecord::new(
            "a.csv",
            9,
            RecordBody::Csv(BTreeMap::from([("编号".to_string(), "1".to_string())])),
        );
        let json = SourceRecord::new("a.jsonl", 2, RecordBody::Json(json!({"k": [1, "2"]})));
        for record in [xml_record(), csv, json] {
            let text = record.raw_text();
            assert!(!text.contains('\n'), "one line: {text}");
            let back = SourceRecord::from_raw_text(&text).unwrap();
            assert_eq!(back, record);
        }
    }

    #[test]
    fn raw_text_is_what_serde_json_wrote() {
        let mut record = xml_record();
        if let RecordBody::Xml(case) = &mut record.body {
            case.text =
                "quote \" backslash \\ controls \u{0}\u{8}\u{C}\n\r\t\u{1F}\u{7F} 中文".into();
            case.attributes.insert("空".into(), String::new());
            case.children.push(element("only-name"));
        }
        let RecordBody::Xml(case) = &record.body else {
            unreachable!()
        };
        let expected = json!({
            "origin": "a.xml",
            "line": 3,
            "format": "xml",
            "record": recursive_json(case),
        })
        .to_string();
        assert_eq!(record.raw_text(), expected);
        let mut text_only = element("t");
        text_only.text = "x".into();
        let mut out = String::new();
        text_only.write_json(&mut out);
        assert_eq!(out, recursive_json(&text_only).to_string());
    }

    #[test]
    fn a_tree_deeper_than_any_stack_is_written_and_dropped_without_recursion() {
        let mut root = element("e");
        for _ in 0..200_000 {
            let mut parent = element("e");
            parent.children.push(root);
            root = parent;
        }
        let record = SourceRecord::new("deep.xml", 1, RecordBody::Xml(root));
        let text = record.raw_text();
        let innermost = "[{\"name\":\"e\"}]";
        assert_eq!(text.matches(innermost).count(), 1);
        assert!(text.ends_with(&format!("{}}}", "],\"name\":\"e\"}".repeat(3))));
        assert_eq!(text.matches("{\"children\":[").count(), 200_000);
        let error = SourceRecord::from_raw_text(&text).unwrap_err();
        assert!(
            error.message.contains("nests deeper than 513 levels"),
            "{error}"
        );
        drop(record);
    }

    #[test]
    fn malformed_raw_xml_records_are_errors_without_values() {
        for (record, problem) in [
            (r#"[]"#, "an element is not a JSON object"),
            (r#"{"text":"x"}"#, "an element has no `name`"),
            (r#"{"name":1}"#, "`name` of an element has the wrong type"),
            (
                r#"{"name":"a","attributes":{"k":1}}"#,
                "an attribute value is not a string",
            ),
            (
                r#"{"name":"a","children":[{"name":"b","secret":"张三"}]}"#,
                "an element has a member other than",
            ),
        ] {
            let text = format!(r#"{{"origin":"a.xml","line":1,"format":"xml","record":{record}}}"#);
            let error = SourceRecord::from_raw_text(&text).unwrap_err();
            assert!(error.message.contains(problem), "{record}: {error}");
            assert!(!error.message.contains("张三"), "{error}");
        }
    }

    #[test]
    fn from_raw_text_rejects_garbage_and_unknown_formats() {
        assert!(SourceRecord::from_raw_text("{").is_err());
        let error =
            SourceRecord::from_raw_text(r#"{"origin":"a","line":1,"format":"yaml","record":{}}"#)
                .unwrap_err();
        assert!(error.message.contains("unknown format `yaml`"));
        assert!(SourceRecord::from_raw_text(
            r#"{"origin":"a","line":1,"format":"json","record":[1]}"#
        )
        .is_err());
    }

    #[test]
    fn debug_does_not_show_the_content() {
        let debug = format!("{:?}", xml_record());
        assert!(!debug.contains("东阿县"), "{debug}");
        assert!(debug.contains("a.xml"));
    }
}
