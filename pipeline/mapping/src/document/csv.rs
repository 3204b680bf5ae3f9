//! CSV documents → source records: a header row, then one record per row.
//!
//! The limits are checked by a scan of the text before the csv crate reads it: csv builds a whole
//! row before it can be looked at, and a row of 100 million delimiters would be 800 MB of field
//! offsets by then. The scan follows csv's own state machine (quotes open only at the start of a
//! field, `""` inside quotes is a quote, CR, LF and CRLF end a row, blank lines are skipped), so it
//! sees the rows and fields csv will see.

use std::collections::BTreeSet;

use crate::error::DocumentError;
use crate::limits::{exceeded, ReadLimits};
use crate::record::{RecordBody, SourceRecord};

/// Reads rows keyed by the header's column names. Every column the mapping reads (`columns`) must be
/// in the header: a renamed column in a department's export would otherwise map every record to
/// "absent" without anyone noticing.
pub(crate) fn read_csv(
    text: &str,
    origin: &str,
    delimiter: u8,
    columns: &[String],
    limits: &ReadLimits,
) -> Result<Vec<SourceRecord>, DocumentError> {
    check_limits(text.as_bytes(), delimiter, origin, limits)?;
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
    let mut seen = BTreeSet::new();
    for name in &header {
        if !seen.insert(name.as_str()) {
            return Err(DocumentError::at(
                origin,
                1,
                format!("column `{name}` appears twice in the header"),
            ));
        }
    }
    let missing: Vec<&str> = columns
        .iter()
        .filter(|column| !seen.contains(column.as_str()))
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
        let values: std::collections::BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(row.iter().map(str::to_string))
            .collect();
        records.push(SourceRecord::new(origin, line, RecordBody::Csv(values)));
    }
    Ok(records)
}

/// Where the scan is in csv's state machine (csv-core's NFA, for the settings `read_csv` uses).
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    InField,
    InQuotedField,
    /// A quote inside a quoted field: the field's end, or the first half of `""`.
    QuoteInQuotedField,
}

/// Checks every row against the limits: fields per row (`max_attributes`, the header included),
/// bytes per field (`max_value_bytes`, quotes included), bytes per row (`max_record_bytes`,
/// terminator excluded), rows after the header (`max_records`, blank-valued rows included).
fn check_limits(
    bytes: &[u8],
    delimiter: u8,
    origin: &str,
    limits: &ReadLimits,
) -> Result<(), DocumentError> {
    let breach = |line, what: &str, limit, unit: &str, name: &str| {
        Err(exceeded(origin, line, what, limit, unit, name))
    };
    let mut state = State::StartRecord;
    let mut line = 1u64;
    let mut rows = 0u64;
    // The row being scanned: its line, where it and its current field start, its fields so far.
    let (mut row_line, mut row_start, mut field_start, mut fields) = (1u64, 0usize, 0usize, 0u64);
    for (at, &byte) in bytes.iter().enumerate() {
        let terminator = byte == b'\n' || byte == b'\r';
        if state == State::StartRecord && !terminator {
            (row_line, row_start, field_start, fields) = (line, at, at, 0);
            state = State::StartField;
        }
        let field_ends = matches!(
            state,
            State::StartField | State::InField | State::QuoteInQuotedField
        ) && (byte == delimiter || terminator);
        if field_ends {
            fields += 1;
            if fields > limits.max_attributes {
                let what = "the number of fields in the row";
                return breach(row_line, what, limits.max_attributes, "", "max_attributes");
            }
            field_start = at + 1;
        }
        state = match state {
            State::StartRecord => State::StartRecord,
            _ if field_ends && terminator => {
                rows += 1;
                // The first row is the header.
                if rows - 1 > limits.max_records {
                    let what = "the number of records";
                    return breach(row_line, what, limits.max_records, "", "max_records");
                }
                State::StartRecord
            }
            _ if field_ends => State::StartField,
            State::StartField if byte == b'"' => State::InQuotedField,
            State::StartField | State::InField => State::InField,
            State::InQuotedField if byte == b'"' => State::QuoteInQuotedField,
            State::InQuotedField => State::InQuotedField,
            State::QuoteInQuotedField if byte == b'"' => State::InQuotedField,
            State::QuoteInQuotedField => State::InField,
        };
        if byte == b'\n' {
            line += 1;
        }
        // Sizes are checked as a field and a row grow, so one that never ends is caught early.
        if state != State::StartRecord {
            if (at + 1 - field_start) as u64 > limits.max_value_bytes {
                let what = "a field";
                return breach(
                    row_line,
                    what,
                    limits.max_value_bytes,
                    " bytes",
                    "max_value_bytes",
                );
            }
            if (at + 1 - row_start) as u64 > limits.max_record_bytes {
                let what = "the row";
                return breach(
                    row_line,
                    what,
                    limits.max_record_bytes,
                    " bytes",
                    "max_record_bytes",
                );
            }
        }
    }
    if state != State::StartRecord {
        // The last row, without a terminator: csv reads it all the same.
        if fields + 1 > limits.max_attributes {
            let what = "the number of fields in the row";
            return breach(row_line, what, limits.max_attributes, "", "max_attributes");
        }
        if rows > limits.max_records {
            return breach(
                row_line,
                "the number of records",
                limits.max_records,
                "",
                "max_records",
            );
        }
    }
    Ok(())
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
        let records = read_csv(
            text,
            "in.csv",
            b',',
            &["编号".to_string()],
            &ReadLimits::default(),
        )
        .unwrap();
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
        let error = read_csv(
            "a,b\n1,2\n",
            "in.csv",
            b',',
            &["c".to_string()],
            &ReadLimits::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.csv:1: the header lacks `c`, which the mapping reads (the header has: `a`, `b`)"
        );
        let error =
            read_csv("a,a\n1,2\n", "in.csv", b',', &[], &ReadLimits::default()).unwrap_err();
        assert!(error.message.contains("twice"));
        let error = read_csv("", "in.csv", b',', &[], &ReadLimits::default()).unwrap_err();
        assert!(error.message.contains("no header"), "{error}");
    }

    #[test]
    fn a_short_row_names_its_line() {
        let error =
            read_csv("a;b\n1;2\n3\n", "in.csv", b';', &[], &ReadLimits::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.csv:3: row has 1 fields, but the header has 2"
        );
    }

    fn limits(change: impl FnOnce(&mut ReadLimits)) -> ReadLimits {
        let mut limits = ReadLimits::default();
        change(&mut limits);
        limits
    }

    fn breach(text: &str, limits: ReadLimits) -> String {
        read_csv(text, "in.csv", b',', &[], &limits)
            .unwrap_err()
            .to_string()
    }

    const RAISE: &str = "raise it in the source's limits if this export is genuine";

    #[test]
    fn fields_per_row_are_limited_before_csv_reads_the_row() {
        let text = "a,b\n1,2\n";
        assert!(read_csv(text, "in.csv", b',', &[], &limits(|l| l.max_attributes = 2)).is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_attributes = 1)),
            format!("in.csv:1: the number of fields in the row exceeds the limit of 1 (max_attributes); {RAISE}")
        );
        // A flood of delimiters in a data row, without a line end.
        let flood = format!("a,b\n{}", ",".repeat(100_000));
        assert_eq!(
            breach(&flood, limits(|l| l.max_attributes = 2)),
            format!("in.csv:2: the number of fields in the row exceeds the limit of 2 (max_attributes); {RAISE}")
        );
        // Delimiters inside quotes are not fields.
        let quoted = "a,b\n\"1,2,3\",4\n";
        assert!(read_csv(
            quoted,
            "in.csv",
            b',',
            &[],
            &limits(|l| l.max_attributes = 2)
        )
        .is_ok());
    }

    #[test]
    fn field_and_row_bytes_are_limited() {
        let text = "a,b\n\n\"x\"\"y\",2\n";
        // The quoted field is 6 bytes as written, the row 8.
        assert!(read_csv(
            text,
            "in.csv",
            b',',
            &[],
            &limits(|l| l.max_value_bytes = 6)
        )
        .is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_value_bytes = 5)),
            format!("in.csv:3: a field exceeds the limit of 5 bytes (max_value_bytes); {RAISE}")
        );
        assert!(read_csv(
            text,
            "in.csv",
            b',',
            &[],
            &limits(|l| l.max_record_bytes = 8)
        )
        .is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_record_bytes = 7)),
            format!("in.csv:3: the row exceeds the limit of 7 bytes (max_record_bytes); {RAISE}")
        );
        // A quote that never closes swallows the rest of the file into one field.
        let open = format!("a,b\n\"{}", "x\n".repeat(1000));
        assert!(breach(&open, limits(|l| l.max_value_bytes = 100))
            .starts_with("in.csv:2: a field exceeds"));
    }

    #[test]
    fn rows_after_the_header_are_limited() {
        let text = "a\n1\n2\r\n3";
        assert_eq!(
            read_csv(text, "in.csv", b',', &[], &limits(|l| l.max_records = 3))
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            breach(text, limits(|l| l.max_records = 2)),
            format!(
                "in.csv:4: the number of records exceeds the limit of 2 (max_records); {RAISE}"
            )
        );
        assert!(breach("a\n1\n2\n3\n", limits(|l| l.max_records = 2)).starts_with("in.csv:4:"));
    }

    proptest::proptest! {
        /// The scan sees the rows and fields csv sees: with the limit at the widest row csv reads,
        /// the scan passes; one below, it refuses. Same for the number of rows.
        #[test]
        fn the_scan_counts_rows_and_fields_as_csv_does(text in "[a,\"\r\n ]{0,40}") {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let rows: Vec<u64> = reader
                .records()
                .map(|row| row.map(|row| row.len() as u64))
                .collect::<Result<_, _>>()
                .unwrap();
            let widest = rows.iter().copied().max().unwrap_or(0).max(1);
            let check = |limits: ReadLimits| check_limits(text.as_bytes(), b',', "in.csv", &limits);
            proptest::prop_assert!(check(limits(|l| l.max_attributes = widest)).is_ok());
            if widest > 1 {
                proptest::prop_assert!(check(limits(|l| l.max_attributes = widest - 1)).is_err());
            }
            let records = (rows.len() as u64).saturating_sub(1);
            proptest::prop_assert!(check(limits(|l| l.max_records = records.max(1))).is_ok());
            if records > 1 {
                proptest::prop_assert!(check(limits(|l| l.max_records = records - 1)).is_err());
            }
        }
    }
}
