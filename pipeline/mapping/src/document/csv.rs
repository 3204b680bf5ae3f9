//! CSV documents → source records: a header row, then one record per row.

use std::collections::BTreeMap;

use crate::error::DocumentError;
use crate::record::{RecordBody, SourceRecord};

/// Reads rows keyed by the header's column names. Every column the mapping reads (`columns`) must be
/// in the header: a renamed column in a department's export would otherwise map every record to
/// "absent" without anyone noticing.
pub(crate) fn read_csv(
    text: &str,
    origin: &str,
    delimiter: u8,
    columns: &[String],
) -> Result<Vec<SourceRecord>, DocumentError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|error| csv_error(&error, origin))?
        .iter()
        .map(|name| name.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(DocumentError::at(
            origin,
            1,
            "no header row; the first line must name the columns",
        ));
    }
    for (index, name) in header.iter().enumerate() {
        if header[..index].contains(name) {
            return Err(DocumentError::at(
                origin,
                1,
                format!("column `{name}` appears twice in the header"),
            ));
        }
    }
    let missing: Vec<&str> = columns
        .iter()
        .filter(|column| !header.contains(column))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(DocumentError::at(
            origin,
            1,
            format!(
                "the header lacks {}, which the mapping reads (the header has: {})",
                quote_list(&missing),
                quote_list(&header.iter().map(String::as_str).collect::<Vec<_>>())
            ),
        ));
    }

    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|error| csv_error(&error, origin))?;
        let line = row
            .position()
            .map(|position| first_content_line(text, position))
            .unwrap_or(1);
        if row.iter().all(|value| value.trim().is_empty()) {
            continue;
        }
        let values: BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(row.iter().map(str::to_string))
            .collect();
        records.push(SourceRecord::new(origin, line, RecordBody::Csv(values)));
    }
    Ok(records)
}

/// csv positions a row after blank lines at the first blank line; the row itself starts after them.
fn first_content_line(text: &str, position: &csv::Position) -> u64 {
    let mut line = position.line();
    let bytes = text.as_bytes();
    let mut at = position.byte() as usize;
    while let Some(byte) = bytes.get(at) {
        match byte {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
        at += 1;
    }
    line
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// csv's own messages are fine (they never quote field contents) but carry their own position text;
/// the line goes in front instead.
fn csv_error(error: &csv::Error, origin: &str) -> DocumentError {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => DocumentError {
            origin: origin.to_string(),
            line: pos.as_ref().map(csv::Position::line),
            message: format!("row has {len} fields, but the header has {expected_len}"),
        },
        csv::ErrorKind::Utf8 { pos, .. } => DocumentError {
            origin: origin.to_string(),
            line: pos.as_ref().map(csv::Position::line),
            message: "row is not valid UTF-8".to_string(),
        },
        _ => DocumentError::whole(origin, format!("malformed CSV: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_records_with_their_lines() {
        let text = "编号,状态\n1,有效\n\n\"2\",\"已\n撤销\"\n3,有效\n";
        let records = read_csv(text, "in.csv", b',', &["编号".to_string()]).unwrap();
        assert_eq!(
            records.iter().map(SourceRecord::line).collect::<Vec<_>>(),
            vec![2, 4, 6]
        );
        let RecordBody::Csv(row) = &records[1].body else {
            panic!("csv record")
        };
        assert_eq!(row["状态"], "已\n撤销");
    }

    #[test]
    fn missing_and_duplicate_columns_are_header_errors() {
        let error = read_csv("a,b\n1,2\n", "in.csv", b',', &["c".to_string()]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.csv:1: the header lacks `c`, which the mapping reads (the header has: `a`, `b`)"
        );
        let error = read_csv("a,a\n1,2\n", "in.csv", b',', &[]).unwrap_err();
        assert!(error.message.contains("twice"));
        let error = read_csv("", "in.csv", b',', &[]).unwrap_err();
        assert!(error.message.contains("no header"), "{error}");
    }

    #[test]
    fn a_short_row_names_its_line() {
        let error = read_csv("a;b\n1;2\n3\n", "in.csv", b';', &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.csv:3: row has 1 fields, but the header has 2"
        );
    }
}
