//! JSON documents and JSON Lines → source records.
//!
//! serde_json's `Value` forgets where things were, so after it has accepted a document, a small
//! scanner walks the same text to find the line each record starts on; errors for a record then
//! point into the file like they do for XML.

use serde_json::Value;

use crate::error::DocumentError;
use crate::record::{safe_json_message, RecordBody, SourceRecord};
use crate::toml_tree::LineIndex;

/// A JSON document: `pointer` leads to an array of record objects or to a single record object.
/// An empty array is not an error: a push of zero records is a valid (empty) batch.
pub(crate) fn read_json(
    text: &str,
    origin: &str,
    pointer: &str,
) -> Result<Vec<SourceRecord>, DocumentError> {
    let lines = LineIndex::new(text);
    let document: Value = serde_json::from_str(text).map_err(|error| {
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
    let Some(target) = document.pointer(pointer) else {
        return Err(DocumentError::whole(
            origin,
            format!("nothing at the mapping's `records` pointer `{shown}`; is this the right mapping for the file?"),
        ));
    };
    let target_offset = locate(text, pointer).unwrap_or(0);
    match target {
        Value::Object(_) => Ok(vec![SourceRecord::new(
            origin,
            lines.line(target_offset),
            RecordBody::Json(target.clone()),
        )]),
        Value::Array(items) => {
            let offsets = array_item_offsets(text, target_offset);
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let line = offsets
                        .get(index)
                        .map(|offset| lines.line(*offset))
                        .unwrap_or_else(|| lines.line(target_offset));
                    match item {
                        Value::Object(_) => {
                            Ok(SourceRecord::new(origin, line, RecordBody::Json(item.clone())))
                        }
                        _ => Err(DocumentError::at(
                            origin,
                            line,
                            format!("item {index} of `{shown}` is not a JSON object; every record must be one"),
                        )),
                    }
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

/// JSON Lines: one record object per non-blank line.
pub(crate) fn read_jsonl(text: &str, origin: &str) -> Result<Vec<SourceRecord>, DocumentError> {
    let mut records = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line_number = index as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|error| {
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
        let records = read_json(text, "in.json", "/cases").unwrap();
        assert_eq!(
            records.iter().map(SourceRecord::line).collect::<Vec<_>>(),
            vec![4, 6]
        );
    }

    #[test]
    fn a_pointer_to_an_object_is_one_record_and_the_empty_pointer_is_the_document() {
        let records = read_json("\n{\"case\": {\"id\": 1}}", "in.json", "/case").unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line(), 2);
        let records = read_json("[{\"id\": 1}, {\"id\": 2}]", "in.json", "").unwrap();
        assert_eq!(records.len(), 2);
        assert!(read_json("[]", "in.json", "").unwrap().is_empty());
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
        let error = read_json("{\n\"a\": }", "in.json", "").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(
            error.message.starts_with("invalid JSON: expected value"),
            "{error}"
        );
        let error = read_json("{\"cases\": [\n{},\n 3]}", "in.json", "/cases").unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.json:3: item 1 of `/cases` is not a JSON object; every record must be one"
        );
        let error = read_json("{}", "in.json", "/cases").unwrap_err();
        assert!(error.message.contains("nothing at"), "{error}");
        let error = read_json("{\"cases\": 1}", "in.json", "/cases").unwrap_err();
        assert!(error.message.contains("neither"), "{error}");
    }

    #[test]
    fn jsonl_skips_blank_lines_and_names_the_bad_line() {
        let records = read_jsonl("{\"id\":1}\n\n{\"id\":2}\r\n", "in.jsonl").unwrap();
        assert_eq!(
            records.iter().map(SourceRecord::line).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let error = read_jsonl("{\"id\":1}\n{\"id\":\n", "in.jsonl").unwrap_err();
        assert_eq!(error.line, Some(2));
        let error = read_jsonl("{\"id\":1}\n[1]\n", "in.jsonl").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("not a JSON object"));
    }
}
