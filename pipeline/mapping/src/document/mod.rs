//! Source documents (file bytes) → source records, by format; and records that arrive already
//! split (a database row, a parsed JSON object).

mod csv;
mod decode;
pub(crate) mod json;
pub(crate) mod row;
mod xlsx;
mod xml;

use serde_json::Value;

use crate::error::DocumentError;
use crate::limits::ReadLimits;
use crate::record::{RecordBody, SourceRecord};
use crate::{Mapping, ReadExport, SourceFormat};

pub(crate) fn read_document(
    mapping: &Mapping,
    bytes: &[u8],
    origin: &str,
    limits: &ReadLimits,
) -> Result<ReadExport, DocumentError> {
    limits.check_document(bytes.len(), origin)?;
    let mut exported_at = None;
    let records = match mapping.format {
        SourceFormat::Xml => {
            let declared = decode::xml_declared_encoding(bytes, origin)?;
            let text = decode::decode(bytes, declared.or(mapping.encoding), origin)?;
            let (records, stated) = xml::read_xml_export(
                &text,
                origin,
                &mapping.records_path,
                limits,
                mapping.exported_at.as_deref(),
            )?;
            exported_at = stated;
            records
        }
        SourceFormat::Json => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            json::read_json(&text, origin, &mapping.json_pointer, limits)?
        }
        SourceFormat::Jsonl => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            json::read_jsonl(&text, origin, limits)?
        }
        SourceFormat::Csv => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            csv::read_csv(&text, origin, mapping.delimiter, &mapping.columns, limits)?
        }
        SourceFormat::Xlsx => {
            xlsx::read_xlsx(
                bytes,
                origin,
                mapping.sheet.as_deref(),
                &mapping.columns,
                limits,
            )?
        }
        SourceFormat::Row => {
            return Err(DocumentError::whole(
                origin,
                format!(
                    "mapping `{}` reads database rows (format row), not documents; rows come from a source of kind sql",
                    mapping.name
                ),
            ))
        }
    };
    Ok(ReadExport {
        records,
        exported_at,
    })
}

/// A parsed JSON object as a record of a `json` / `jsonl` mapping.
pub(crate) fn json_record(
    mapping: &Mapping,
    origin: &str,
    line: u64,
    value: Value,
) -> Result<SourceRecord, DocumentError> {
    if !matches!(mapping.format, SourceFormat::Json | SourceFormat::Jsonl) {
        return Err(DocumentError::at(
            origin,
            line,
            format!(
                "mapping `{}` reads {}, not JSON objects",
                mapping.name, mapping.format
            ),
        ));
    }
    if !value.is_object() {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        return Err(DocumentError::at(
            origin,
            line,
            format!("the record is {kind}, not a JSON object; every record must be one object"),
        ));
    }
    Ok(SourceRecord::new(origin, line, RecordBody::Json(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapContext;
    use serde_json::json;
    use std::path::Path;

    const JSON_MAPPING: &str = "[mapping]\nname = \"push\"\nversion = \"1\"\nformat = \"json\"\nrecords = \"/cases\"\nkey = { path = \"/id\" }\n[fields]\nfacts = { path = \"/facts\" }\n";

    fn context() -> MapContext {
        MapContext {
            source_name: "push".into(),
            fetched_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_parsed_object_maps_like_one_read_from_bytes() {
        let mapping = Mapping::parse(JSON_MAPPING, Path::new("m.toml")).unwrap();
        let value = json!({"id": 7, "facts": " 事实 "});
        let record = mapping.json_record("message 3", 1, value.clone()).unwrap();
        let from_bytes = mapping
            .read_document(
                json!({ "cases": [value] }).to_string().as_bytes(),
                "message 3",
            )
            .unwrap();
        assert_eq!(record, from_bytes[0]);
        let mapped = mapping.apply(&record, &context()).unwrap();
        assert_eq!(mapped["record_id"], json!("push:7"));
        assert_eq!(mapped["facts"], json!("事实"));
        let replayed = SourceRecord::from_raw_text(&record.raw_text()).unwrap();
        assert_eq!(replayed, record);
    }

    #[test]
    fn anything_but_an_object_is_refused_naming_what_it_is() {
        let mapping = Mapping::parse(JSON_MAPPING, Path::new("m.toml")).unwrap();
        for (value, kind) in [
            (json!([{"id": 1}]), "an array"),
            (json!("x"), "a string"),
            (json!(null), "null"),
            (json!(3), "a number"),
        ] {
            let error = mapping.json_record("body", 4, value).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("body:4: the record is {kind}, not a JSON object; every record must be one object")
            );
        }
    }

    #[test]
    fn json_record_needs_a_json_mapping_and_row_mappings_read_no_documents() {
        let csv = Mapping::parse(
            "[mapping]\nname = \"c\"\nversion = \"1\"\nformat = \"csv\"\nkey = { path = \"id\" }\n[fields]\nfacts = { path = \"f\" }\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let error = csv.json_record("m", 1, json!({})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "m:1: mapping `c` reads csv, not JSON objects"
        );
        let row = Mapping::parse(
            "[mapping]\nname = \"db\"\nversion = \"1\"\nformat = \"row\"\nkey = { path = \"id\" }\n[fields]\nfacts = { path = \"f\" }\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let error = row.read_document(b"id\n1\n", "x.csv").unwrap_err();
        assert!(error.message.contains("reads database rows"), "{error}");
    }
}
