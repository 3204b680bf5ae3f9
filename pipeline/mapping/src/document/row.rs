//! Database rows → source records (format `row`). The `sql` source has already turned every value
//! into text; this checks the row's columns the way the CSV reader checks a header.

use std::collections::BTreeMap;

use crate::error::DocumentError;
use crate::record::{RecordBody, SourceRecord};
use crate::{Mapping, SourceFormat};

/// Rows have no line; the record's line is 0 and its origin names the row.
const ROW_LINE: u64 = 0;

pub(crate) fn row_record(
    mapping: &Mapping,
    origin: &str,
    columns: impl IntoIterator<Item = (String, Option<String>)>,
) -> Result<SourceRecord, DocumentError> {
    if mapping.format != SourceFormat::Row {
        return Err(DocumentError::whole(
            origin,
            format!(
                "mapping `{}` reads {}, not database rows; a sql source needs a mapping with format = \"row\"",
                mapping.name, mapping.format
            ),
        ));
    }
    let mut row: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (column, value) in columns {
        if row.contains_key(&column) {
            return Err(DocumentError::whole(
                origin,
                format!("column `{column}` appears twice in the row; give the columns of the query distinct names (`AS`)"),
            ));
        }
        row.insert(column, value);
    }
    let missing: Vec<String> = mapping
        .columns
        .iter()
        .filter(|column| !row.contains_key(*column))
        .map(|column| format!("`{column}`"))
        .collect();
    if !missing.is_empty() {
        let present: Vec<String> = row.keys().map(|column| format!("`{column}`")).collect();
        return Err(DocumentError::whole(
            origin,
            format!(
                "the row lacks {}, which the mapping reads (the row has: {})",
                missing.join(", "),
                present.join(", ")
            ),
        ));
    }
    Ok(SourceRecord::new(origin, ROW_LINE, RecordBody::Row(row)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapContext;
    use serde_json::json;
    use std::path::Path;

    const ROW_MAPPING: &str = r#"
[mapping]
name = "case-db"
version = "1"
format = "row"
key = { path = "case_no" }
[fields]
category = { value = "penalty" }
decided_on = { path = "decided_on", date = "%Y-%m-%d" }
fine_amount = { path = "fine_yuan", amount = "yuan" }
division_code = { path = "org_uscc", chars = [2, 8] }
"counterparty.name" = { path = "party_name" }
"#;

    fn mapping() -> Mapping {
        Mapping::parse(ROW_MAPPING, Path::new("m.toml")).unwrap()
    }

    fn context() -> MapContext {
        MapContext {
            source_name: "case-db".into(),
            fetched_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn row(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(column, value)| (column.to_string(), value.map(str::to_string)))
            .collect()
    }

    fn full_row() -> Vec<(String, Option<String>)> {
        row(&[
            ("case_no", Some("A-1")),
            ("decided_on", Some("2026-10-12")),
            ("fine_yuan", Some("5000.00")),
            ("org_uscc", Some("113715230042112358")),
            ("party_name", None),
            ("extra", Some("not read")),
        ])
    }

    #[test]
    fn columns_lists_every_column_the_mapping_reads_once() {
        assert_eq!(
            mapping().columns(),
            [
                "case_no",
                "decided_on",
                "fine_yuan",
                "org_uscc",
                "party_name"
            ]
        );
    }

    #[test]
    fn a_row_maps_with_null_as_absent() {
        let mapping = mapping();
        let record = mapping
            .row_record("enforcement_cases (A-1)", full_row())
            .unwrap();
        assert_eq!(record.line(), 0);
        let value = mapping.apply(&record, &context()).unwrap();
        assert_eq!(
            value,
            json!({
                "record_id": "case-db:A-1",
                "source": {"name": "case-db", "key": "A-1", "fetched_at": "2026-01-01T00:00:00Z"},
                "category": "penalty",
                "decided_on": "2026-10-12",
                "fine_amount": "5000.00",
                "division_code": "371523"
            }),
            "party_name is NULL: no counterparty object"
        );
    }

    #[test]
    fn a_row_round_trips_through_raw_text_with_its_nulls() {
        let mapping = mapping();
        let record = mapping.row_record("t", full_row()).unwrap();
        let text = record.raw_text();
        assert!(text.contains("\"party_name\":null"), "{text}");
        assert_eq!(SourceRecord::from_raw_text(&text).unwrap(), record);
        let error = SourceRecord::from_raw_text(
            r#"{"origin":"t","line":0,"format":"row","record":{"a":1}}"#,
        )
        .unwrap_err();
        assert!(error.message.contains("text or null"), "{error}");
    }

    #[test]
    fn missing_and_repeated_columns_are_refused() {
        let mapping = mapping();
        let mut short = full_row();
        short.retain(|(column, _)| column != "fine_yuan" && column != "party_name");
        let error = mapping.row_record("t", short).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t: the row lacks `fine_yuan`, `party_name`, which the mapping reads (the row has: `case_no`, `decided_on`, `extra`, `org_uscc`)"
        );
        let mut twice = full_row();
        twice.push(("case_no".into(), Some("B".into())));
        let error = mapping.row_record("t", twice).unwrap_err();
        assert!(error.message.contains("`case_no` appears twice"), "{error}");
    }

    #[test]
    fn only_row_mappings_take_rows_and_rows_only_fit_row_mappings() {
        let json = Mapping::parse(
            "[mapping]\nname = \"j\"\nversion = \"1\"\nformat = \"jsonl\"\nkey = { path = \"/id\" }\n[fields]\nfacts = { path = \"/f\" }\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let error = json.row_record("t", full_row()).unwrap_err();
        assert!(error.message.contains("format = \"row\""), "{error}");
        let record = mapping().row_record("t", full_row()).unwrap();
        let error = json.apply(&record, &context()).unwrap_err();
        assert_eq!(error.field, "record");
        assert!(error.message.contains("read as row"), "{error}");
    }

    #[test]
    fn row_paths_are_plain_column_names() {
        let text = ROW_MAPPING.replace("path = \"party_name\"", "path = \"/party/name\"");
        let error = Mapping::parse(&text, Path::new("m.toml")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "m.toml:12: `/party/name` is not a column name; a row path is a plain column name of the table, like \"case_no\" (no `/`)"
        );
    }
}
