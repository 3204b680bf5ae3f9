//! Rows → intake items: the row's name for origins (`enforcement_cases[CASE-7]`), the mapping's
//! columns as text, the mapped record, or why it cannot be (a cell no driver can read, a record
//! that does not map).

use std::sync::Arc;

use dhub_mapping::{Mapping, ReadLimits};
use dhub_schema::intake::{Intake, Origin};

use super::db::{self, Cell};
use super::source::Layout;
use super::value::Value;
use crate::documents::DocumentFetch;
use crate::mapped::{map_context, to_intake, to_intake_with};

/// A row read: its cursor values (when readable) and what goes to the sink.
pub(super) struct ReadRow {
    pub tuple: Option<Vec<Value>>,
    pub key: String,
    pub intake: Intake,
}

/// The cursor values of a row read with only the cursor columns, if all are readable.
pub(super) fn readable_tuple(row: &[Cell]) -> Option<Vec<Value>> {
    row.iter()
        .map(|cell| cell.as_ref().ok().cloned().flatten())
        .collect()
}

/// Rows → intake items: the row key, the mapping's columns as text, the mapped record (or why not).
pub(super) fn map_rows(
    layout: &Layout,
    mapping: &Mapping,
    source: &str,
    table: &str,
    rows: Vec<Vec<Cell>>,
    limits: &ReadLimits,
    documents: &dyn DocumentFetch,
) -> Vec<ReadRow> {
    let context = map_context(source);
    rows.into_iter()
        .map(|row| {
            let tuple = readable_tuple(&row[..layout.cursor.len()]);
            let key = layout
                .key
                .iter()
                .map(|&i| match &row[i] {
                    Ok(Some(value)) => db::mapping_text(layout.kinds[i], value),
                    Ok(None) => "NULL".to_string(),
                    Err(_) => "?".to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let origin = Origin::Row {
                table: table.to_string(),
                key: key.clone(),
            };
            let shown = origin.to_string();
            let mut unreadable: Vec<(String, String)> = Vec::new();
            let mut row_bytes = 0u64;
            let columns: Vec<(String, Option<String>)> = layout
                .mapped
                .iter()
                .map(|(name, i)| {
                    let text = match &row[*i] {
                        Ok(Some(value)) => Some(db::mapping_text(layout.kinds[*i], value)),
                        Ok(None) => None,
                        Err(reason) => {
                            unreadable.push((name.clone(), reason.clone()));
                            None
                        }
                    };
                    // A cell over the limit is treated like an unreadable one: the row is held with
                    // the reason, and the text is not kept (holding it would defeat the limit).
                    let text = text.and_then(|text| {
                        let bytes = text.len() as u64;
                        row_bytes += bytes;
                        if bytes > limits.max_value_bytes {
                            unreadable.push((name.clone(), format!(
                                "the text is {bytes} bytes, over the source's limit of {} bytes (max_value_bytes); raise it in the source's limits if the value is genuine",
                                limits.max_value_bytes
                            )));
                            return None;
                        }
                        Some(text)
                    });
                    (name.clone(), text)
                })
                .collect();
            if row_bytes > limits.max_record_bytes && unreadable.is_empty() {
                let reason = format!(
                    "{shown}: the row's columns are {row_bytes} bytes together, over the source's limit of {} bytes (max_record_bytes); raise it in the source's limits if the row is genuine",
                    limits.max_record_bytes
                );
                return ReadRow {
                    tuple,
                    key,
                    intake: Intake::Unmapped {
                        origin,
                        // The origin names the row by its key; the record is not mapped at all.
                        record_id: None,
                        reason,
                        raw: Arc::new(String::new()),
                    },
                };
            }
            let mut cursor_problem = None;
            if tuple.is_none() {
                if let Some((i, reason)) = row[..layout.cursor.len()]
                    .iter()
                    .enumerate()
                    .find_map(|(i, cell)| cell.as_ref().err().map(|r| (i, r)))
                {
                    cursor_problem = Some(format!(
                        "{shown}: cursor column `{}`: {reason}; the row is read but cannot be placed in the cursor's order",
                        layout.cursor[i]
                    ));
                }
            }
            let intake = match mapping.row_record(&shown, columns) {
                Err(error) => Intake::Unmapped {
                    origin,
                    record_id: None,
                    reason: error.to_string(),
                    raw: Arc::new(String::new()),
                },
                Ok(record) if unreadable.is_empty() => {
                    to_intake_with(mapping, source, record, origin, &context, documents)
                }
                Ok(record) => {
                    let raw = marked_raw(&record.raw_text(), &unreadable);
                    let record_id = match to_intake(mapping, source, record, origin.clone(), &context) {
                        Intake::Mapped { value, .. } => value
                            .get("record_id")
                            .and_then(|id| id.as_str())
                            .map(str::to_string),
                        Intake::Unmapped { record_id, .. } => record_id,
                        // to_intake never makes one: that is a document-stage failure.
                        Intake::Unreadable { .. } => None,
                    };
                    let reason = unreadable
                        .iter()
                        .map(|(column, reason)| format!("{shown}: column `{column}`: {reason}"))
                        .collect::<Vec<_>>()
                        .join("; ");
                    Intake::Unmapped {
                        origin,
                        record_id,
                        reason: format!("{reason}; fix the value in the database (the changed row is read again)"),
                        raw: Arc::new(raw),
                    }
                }
            };
            if let Some(problem) = cursor_problem {
                tracing::warn!(source, "{problem}");
            }
            ReadRow { tuple, key, intake }
        })
        .collect()
}

/// The raw row kept in quarantine, with each unreadable cell written as `{"unreadable": reason}`
/// instead of a text: a replay refuses it rather than map the row as if the value were absent.
fn marked_raw(raw: &str, unreadable: &[(String, String)]) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(raw) else {
        return raw.to_string();
    };
    if let Some(record) = value.get_mut("record").and_then(|r| r.as_object_mut()) {
        for (column, reason) in unreadable {
            record.insert(column.clone(), serde_json::json!({ "unreadable": reason }));
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::db::Kind;
    use std::path::Path;

    const MAPPING: &str = "[mapping]\nname = \"case-db\"\nversion = \"1\"\nformat = \"row\"\nkey = { path = \"case_no\" }\n[fields]\ncategory = { value = \"penalty\" }\nfacts = { path = \"facts\" }\n";

    fn layout() -> Layout {
        Layout {
            select_list: String::new(),
            from: String::new(),
            not_null: String::new(),
            order_by: String::new(),
            cursor: vec!["case_no".into()],
            kinds: vec![Kind::Text, Kind::Text],
            key: vec![0],
            mapped: vec![("case_no".into(), 0), ("facts".into(), 1)],
        }
    }

    fn read(facts: &str, limits: &ReadLimits) -> Intake {
        let mapping = Mapping::parse(MAPPING, Path::new("m.toml")).unwrap();
        let row = vec![
            Ok(Some(Value::Text("A-1".into()))),
            Ok(Some(Value::Text(facts.into()))),
        ];
        let mut read = map_rows(
            &layout(),
            &mapping,
            "case-db",
            "cases",
            vec![row],
            limits,
            &crate::documents::LocalDocuments { dir: None },
        );
        read.remove(0).intake
    }

    /// Issue 9: a column's text over `max_value_bytes`, or a row over `max_record_bytes`, holds the
    /// row in quarantine naming row, column and limit, without keeping the oversized text.
    #[test]
    fn a_row_over_the_sources_limits_is_held_naming_row_column_and_limit() {
        let limits = ReadLimits {
            max_value_bytes: 10,
            max_record_bytes: 12,
            ..ReadLimits::default()
        };
        assert!(matches!(read("short", &limits), Intake::Mapped { .. }));
        let Intake::Unmapped {
            reason,
            raw,
            record_id,
            ..
        } = read("far too long a text", &limits)
        else {
            panic!("held");
        };
        assert!(
            reason.starts_with("cases[A-1]: column `facts`: the text is 19 bytes, over the source's limit of 10 bytes (max_value_bytes)"),
            "{reason}"
        );
        assert_eq!(record_id.as_deref(), Some("case-db:A-1"));
        assert!(
            !raw.raw_text().contains("far too long"),
            "{}",
            raw.raw_text()
        );
        let wide = ReadLimits {
            max_value_bytes: 10,
            max_record_bytes: 8,
            ..ReadLimits::default()
        };
        let Intake::Unmapped { reason, .. } = read("ten bytes!", &wide) else {
            panic!("held");
        };
        assert!(
            reason.starts_with("cases[A-1]: the row's columns are 13 bytes together, over the source's limit of 8 bytes (max_record_bytes)"),
            "{reason}"
        );
    }
}
