//! JSON documents and JSON Lines → source records.
//!
//! serde_json's `Value` forgets where things were, so after it has accepted a document, a small
//! scanner walks the same text to find the line each record starts on; errors for a record then
//! point into the file like they do for XML.
//!
//! Before serde_json sees the text, [`scan`] checks the [`ReadLimits`] on it (nesting, elements,
//! string sizes) in one pass without recursion; serde_json then parses without its own fixed
//! recursion limit, bounded by that scan instead, so that `max_depth` is the one limit on nesting.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::DocumentError;
use crate::limits::{exceeded, ReadLimits};
use crate::record::{safe_json_message, RecordBody, SourceRecord};
use crate::toml_tree::LineIndex;

/// A JSON document: `pointer` leads to an array of record objects or to a single record object.
/// An empty array is not an error: a push of zero records is a valid (empty) batch.
pub(crate) fn read_json(
    text: &str,
    origin: &str,
    pointer: &str,
    limits: &ReadLimits,
) -> Result<Vec<SourceRecord>, DocumentError> {
    let lines = LineIndex::new(text);
    let mut bounds = Bounds::of(limits);
    scan(text.as_bytes(), &mut bounds)
        .map_err(|breach| breach.error(origin, lines.line(breach.offset), limits))?;
    let mut document: Value = from_str_unbounded(text).map_err(|error| {
        DocumentError::at(
            origin,
            error.line().max(1) as u64,
            format!("invalid JSON: {}", safe_json_message(&error)),
        )
    })?;
    let shown = if pointer.is_empty() {
        "(the whole document)"
    } else {
        pointer
    };
    let Some(target) = document.pointer_mut(pointer) else {
        return Err(DocumentError::whole(
            origin,
            format!("nothing at the mapping's `records` pointer `{shown}`; is this the right mapping for the file?"),
        ));
    };
    // Taken out, not cloned: the records are the document, and it may be large.
    let target = std::mem::take(target);
    let target_offset = locate(text, pointer).unwrap_or(0);
    let record = |offset: usize, value: Value| -> Result<SourceRecord, DocumentError> {
        let line = lines.line(offset);
        if (skip_value(text.as_bytes(), offset) - offset) as u64 > limits.max_record_bytes {
            return Err(exceeded(
                origin,
                line,
                "the record",
                limits.max_record_bytes,
                " bytes",
                "max_record_bytes",
            ));
        }
        Ok(SourceRecord::new(origin, line, RecordBody::Json(value)))
    };
    match target {
        Value::Object(_) => Ok(vec![record(target_offset, target)?]),
        Value::Array(items) => {
            let offsets = array_item_offsets(text, target_offset);
            let offset_of = |index: usize| offsets.get(index).copied().unwrap_or(target_offset);
            if items.len() as u64 > limits.max_records {
                return Err(exceeded(
                    origin,
                    lines.line(offset_of(limits.max_records as usize)),
                    "the number of records",
                    limits.max_records,
                    "",
                    "max_records",
                ));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::Object(_) => record(offset_of(index), item),
                    _ => Err(DocumentError::at(
                        origin,
                        lines.line(offset_of(index)),
                        format!("item {index} of `{shown}` is not a JSON object; every record must be one"),
                    )),
                })
                .collect()
        }
        _ => Err(DocumentError::at(
            origin,
            lines.line(target_offset),
            format!("`{shown}` is neither an array of records nor a record object"),
        )),
    }
}

/// JSON Lines: one record object per non-blank line. The limits apply per line (depth, values,
/// record bytes) and per document (elements, records).
pub(crate) fn read_jsonl(
    text: &str,
    origin: &str,
    limits: &ReadLimits,
) -> Result<Vec<SourceRecord>, DocumentError> {
    let mut records = Vec::new();
    let mut bounds = Bounds::of(limits);
    for (index, line) in text.split('\n').enumerate() {
        let line_number = index as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if records.len() as u64 >= limits.max_records {
            return Err(exceeded(
                origin,
                line_number,
                "the number of records",
                limits.max_records,
                "",
                "max_records",
            ));
        }
        if line.len() as u64 > limits.max_record_bytes {
            return Err(exceeded(
                origin,
                line_number,
                "the record",
                limits.max_record_bytes,
                " bytes",
                "max_record_bytes",
            ));
        }
        scan(line.as_bytes(), &mut bounds)
            .map_err(|breach| breach.error(origin, line_number, limits))?;
        let value: Value = from_str_unbounded(line).map_err(|error| {
            DocumentError::at(
                origin,
                line_number,
                format!("invalid JSON: {}", safe_json_message(&error)),
            )
        })?;
        if !value.is_object() {
            return Err(DocumentError::at(
                origin,
                line_number,
                "line is not a JSON object; every line must be one record object",
            ));
        }
        records.push(SourceRecord::new(
            origin,
            line_number,
            RecordBody::Json(value),
        ));
    }
    Ok(records)
}

// --- Limits, checked on the text before serde_json parses it. ---

/// What [`scan`] checks, and the elements counted so far (JSONL counts across lines).
pub(crate) struct Bounds {
    max_depth: u64,
    max_elements: u64,
    max_value_bytes: u64,
    elements: u64,
}

impl Bounds {
    fn of(limits: &ReadLimits) -> Bounds {
        Bounds {
            max_depth: limits.max_depth,
            max_elements: limits.max_elements,
            max_value_bytes: limits.max_value_bytes,
            elements: 0,
        }
    }
}

/// A limit that [`scan`] found exceeded, at a byte offset of the scanned text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Breach {
    kind: BreachKind,
    offset: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum BreachKind {
    Depth,
    Elements,
    Value,
}

impl Breach {
    fn error(&self, origin: &str, line: u64, limits: &ReadLimits) -> DocumentError {
        match self.kind {
            BreachKind::Depth => exceeded(
                origin,
                line,
                "nesting depth",
                limits.max_depth,
                "",
                "max_depth",
            ),
            BreachKind::Elements => exceeded(
                origin,
                line,
                "the number of elements",
                limits.max_elements,
                "",
                "max_elements",
            ),
            BreachKind::Value => exceeded(
                origin,
                line,
                "a string",
                limits.max_value_bytes,
                " bytes",
                "max_value_bytes",
            ),
        }
    }
}

/// Walks JSON text, valid or not, without parsing it: counts the nesting of arrays and objects,
/// the elements (every array and object, and every member or item in one: the first one after the
/// opening bracket and one per comma) and the length of every string as written.
///
/// serde_json reads the same text front to back and recurses only at a `[` or `{` outside a
/// string, where strings start and end at the same unescaped quotes as here, and it stops at its
/// first error; so it never nests deeper than the depth this scan allows.
pub(crate) fn scan(bytes: &[u8], bounds: &mut Bounds) -> Result<(), Breach> {
    let breach = |kind, offset| Err(Breach { kind, offset });
    let mut depth = 0u64;
    let mut after_open = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        // The first member or item after an opening bracket, every further one after a comma,
        // and every array or object itself.
        let first = after_open && !matches!(byte, b'}' | b']');
        let counted = u64::from(first) + u64::from(matches!(byte, b'{' | b'[' | b','));
        if counted > 0 {
            bounds.elements += counted;
            if bounds.elements > bounds.max_elements {
                return breach(BreachKind::Elements, i);
            }
        }
        after_open = false;
        match byte {
            b'"' => {
                let end = skip_string(bytes, i);
                if end.saturating_sub(i + 2) as u64 > bounds.max_value_bytes {
                    return breach(BreachKind::Value, i);
                }
                i = end;
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > bounds.max_depth {
                    return breach(BreachKind::Depth, i);
                }
                after_open = true;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Whether `text` nests arrays and objects at most `max_depth` levels deep.
pub(crate) fn check_depth(text: &str, max_depth: u64) -> Result<(), Breach> {
    scan(
        text.as_bytes(),
        &mut Bounds {
            max_depth,
            max_elements: u64::MAX,
            max_value_bytes: u64::MAX,
            elements: 0,
        },
    )
}

/// serde_json without its fixed recursion limit (128 levels), so that `max_depth` is the one
/// limit on nesting whatever it is set to. Only for text that [`scan`] or [`check_depth`] has
/// bounded: serde_json recurses once per level, and the ceiling on `max_depth` keeps that within a
/// thread's stack (see `ReadLimits::DEPTH_CEILING`).
pub(crate) fn from_str_unbounded<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.disable_recursion_limit();
    let value = T::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

// --- A minimal scanner over text that serde_json has already accepted as valid JSON. ---

/// Byte offset of the value `pointer` leads to.
fn locate(text: &str, pointer: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if pointer.is_empty() {
        return Some(at);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        at = match bytes.get(at)? {
            b'{' => member_offset(text, at, &token)?,
            b'[' => {
                let index: usize = token.parse().ok()?;
                *array_item_offsets(text, at).get(index)?
            }
            _ => return None,
        };
    }
    Some(at)
}

/// Offsets of the items of the array starting at `at`.
fn array_item_offsets(text: &str, at: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut offsets = Vec::new();
    if bytes.get(at) != Some(&b'[') {
        return offsets;
    }
    let mut i = skip_whitespace(bytes, at + 1);
    if bytes.get(i) == Some(&b']') {
        return offsets;
    }
    while i < bytes.len() {
        offsets.push(i);
        i = skip_whitespace(bytes, skip_value(bytes, i));
        match bytes.get(i) {
            Some(b',') => i = skip_whitespace(bytes, i + 1),
            _ => break,
        }
    }
    offsets
}

/// Offset of the value of member `name` in the object starting at `at`.
fn member_offset(text: &str, at: usize, name: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = skip_whitespace(bytes, at + 1);
    while bytes.get(i) == Some(&b'"') {
        let key_end = skip_string(bytes, i);
        let key: String = serde_json::from_str(text.get(i..key_end)?).ok()?;
        i = skip_whitespace(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_whitespace(bytes, i + 1);
        if key == name {
            return Some(i);
        }
        i = skip_whitespace(bytes, skip_value(bytes, i));
        if bytes.get(i) == Some(&b',') {
            i = skip_whitespace(bytes, i + 1);
        }
    }
    None
}

fn skip_whitespace(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// End (exclusive) of the string starting with the quote at `i`.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while let Some(byte) = bytes.get(i) {
        match byte {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// End (exclusive) of the value starting at `i`.
fn skip_value(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(b'"') => skip_string(bytes, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(byte) = bytes.get(j) {
                match byte {
                    b'"' => {
                        j = skip_string(bytes, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth <= 1 {
                            return j + 1;
                        }
                        depth -= 1;
                    }
                    _ => {}
                }
                j += 1;
            }
            j
        }
        _ => {
            let mut j = i;
            while let Some(byte) = bytes.get(j) {
                if matches!(byte, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_records_get_the_line_where_each_object_starts() {
        let text = "{\n \"meta\": {\"a\": [1, \"]\"]},\n \"cases\": [\n  {\"id\": \"1\"},\n\n  {\"id\": \"2\",\n   \"x\": {\"y\": \"\\\"}\"}}\n ]\n}";
        let records = read_json(text, "in.json", "/cases", &ReadLimits::default()).unwrap();
        assert_eq!(
            records.iter().map(SourceRecord::line).collect::<Vec<_>>(),
            vec![4, 6]
        );
    }

    #[test]
    fn a_pointer_to_an_object_is_one_record_and_the_empty_pointer_is_the_document() {
        let records = read_json(
            "\n{\"case\": {\"id\": 1}}",
            "in.json",
            "/case",
            &ReadLimits::default(),
        )
        .unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line(), 2);
        let records = read_json(
            "[{\"id\": 1}, {\"id\": 2}]",
            "in.json",
            "",
            &ReadLimits::default(),
        )
        .unwrap();
        assert_eq!(records.len(), 2);
        assert!(read_json("[]", "in.json", "", &ReadLimits::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn members_with_escaped_names_and_pointer_escapes_are_found() {
        let text = "{\"a\\u002fb\": 1,\n \"x~y\": [0,\n {\"k\": 2}]}";
        assert_eq!(locate(text, "/a~1b"), Some(13));
        assert_eq!(
            locate(text, "/x~0y/1").map(|at| &text[at..at + 1]),
            Some("{")
        );
    }

    #[test]
    fn bad_documents_and_items_are_errors_with_lines() {
        let error = read_json("{\n\"a\": }", "in.json", "", &ReadLimits::default()).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(
            error.message.starts_with("invalid JSON: expected value"),
            "{error}"
        );
        let error = read_json(
            "{\"cases\": [\n{},\n 3]}",
            "in.json",
            "/cases",
            &ReadLimits::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.json:3: item 1 of `/cases` is not a JSON object; every record must be one"
        );
        let error = read_json("{}", "in.json", "/cases", &ReadLimits::default()).unwrap_err();
        assert!(error.message.contains("nothing at"), "{error}");
        let error = read_json(
            "{\"cases\": 1}",
            "in.json",
            "/cases",
            &ReadLimits::default(),
        )
        .unwrap_err();
        assert!(error.message.contains("neither"), "{error}");
    }

    #[test]
    fn jsonl_skips_blank_lines_and_names_the_bad_line() {
        let records = read_jsonl(
            "{\"id\":1}\n\n{\"id\":2}\r\n",
            "in.jsonl",
            &ReadLimits::default(),
        )
        .unwrap();
        assert_eq!(
            records.iter().map(SourceRecord::line).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let error =
            read_jsonl("{\"id\":1}\n{\"id\":\n", "in.jsonl", &ReadLimits::default()).unwrap_err();
        assert_eq!(error.line, Some(2));
        let error =
            read_jsonl("{\"id\":1}\n[1]\n", "in.jsonl", &ReadLimits::default()).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("not a JSON object"));
    }

    fn limits(change: impl FnOnce(&mut ReadLimits)) -> ReadLimits {
        let mut limits = ReadLimits::default();
        change(&mut limits);
        limits
    }

    const RAISE: &str = "raise it in the source's limits if this export is genuine";

    #[test]
    fn nesting_depth_is_the_limit_not_serde_jsons_own() {
        let text = "{\"cases\": [\n{\"a\": [[1]]}]}";
        assert!(read_json(text, "in.json", "/cases", &limits(|l| l.max_depth = 5)).is_ok());
        let error = read_json(text, "in.json", "/cases", &limits(|l| l.max_depth = 4)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("in.json:2: nesting depth exceeds the limit of 4 (max_depth); {RAISE}")
        );
        // Past serde_json's fixed limit of 128 levels, when the configured limit allows it.
        let deep = format!("[{}1{}]", "{\"a\":".repeat(200), "}".repeat(200));
        let records = read_json(&deep, "in.json", "", &limits(|l| l.max_depth = 201)).unwrap();
        assert_eq!(records.len(), 1);
        assert!(read_json(&deep, "in.json", "", &limits(|l| l.max_depth = 200)).is_err());
    }

    #[test]
    fn elements_count_containers_members_and_items() {
        let mut bounds = Bounds::of(&ReadLimits::default());
        scan(br#"{"a": [1, {"b": "x,]"}], "c": []}"#, &mut bounds).unwrap();
        // {…}, "a", [ ], 1, {…} as item and container, "b", "c", [] as member and container.
        assert_eq!(bounds.elements, 9);
        let text = "[\n{\"a\": 1},\n{\"a\": 2}]";
        assert!(read_json(text, "in.json", "", &limits(|l| l.max_elements = 7)).is_ok());
        let error = read_json(text, "in.json", "", &limits(|l| l.max_elements = 6)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "in.json:3: the number of elements exceeds the limit of 6 (max_elements); {RAISE}"
            )
        );
    }

    #[test]
    fn strings_keys_included_are_limited_as_written() {
        let text = "[{\"id\": \"12\\n4\"}]";
        assert!(read_json(text, "in.json", "", &limits(|l| l.max_value_bytes = 5)).is_ok());
        let error = read_json(text, "in.json", "", &limits(|l| l.max_value_bytes = 4)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("in.json:1: a string exceeds the limit of 4 bytes (max_value_bytes); {RAISE}")
        );
        let error = read_jsonl(
            "{\"long-key\": 1}",
            "in.jsonl",
            &limits(|l| l.max_value_bytes = 4),
        )
        .unwrap_err();
        assert!(error.message.contains("(max_value_bytes)"), "{error}");
    }

    #[test]
    fn record_size_and_count_are_limited() {
        let text = "[\n{\"id\": 1},\n{\"id\": 22}]";
        assert!(read_json(text, "in.json", "", &limits(|l| l.max_record_bytes = 10)).is_ok());
        let error =
            read_json(text, "in.json", "", &limits(|l| l.max_record_bytes = 9)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "in.json:3: the record exceeds the limit of 9 bytes (max_record_bytes); {RAISE}"
            )
        );
        let error = read_json(text, "in.json", "", &limits(|l| l.max_records = 1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "in.json:3: the number of records exceeds the limit of 1 (max_records); {RAISE}"
            )
        );
        let lines = "{\"id\": 1}\n\n{\"id\": 22}\n";
        assert_eq!(
            read_jsonl(lines, "in.jsonl", &limits(|l| l.max_records = 2))
                .unwrap()
                .len(),
            2
        );
        let error = read_jsonl(lines, "in.jsonl", &limits(|l| l.max_records = 1)).unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("(max_records)"), "{error}");
        let error = read_jsonl(lines, "in.jsonl", &limits(|l| l.max_record_bytes = 9)).unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("(max_record_bytes)"), "{error}");
    }

    #[test]
    fn jsonl_counts_elements_across_lines() {
        let lines = "{\"id\": 1}\n{\"id\": 2}\n";
        assert!(read_jsonl(lines, "in.jsonl", &limits(|l| l.max_elements = 4)).is_ok());
        let error = read_jsonl(lines, "in.jsonl", &limits(|l| l.max_elements = 3)).unwrap_err();
        assert_eq!(error.line, Some(2));
    }
}
