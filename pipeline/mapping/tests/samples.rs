//! The demo's sample data (`mappings/samples/<source>/…`) must map with the shipped mappings:
//!
//! - the XML exports of the file sources: every record, every element the exports carry;
//! - the samples of the other sources (sql, http_push, http_pull, kafka, spreadsheet): each case
//!   maps and validates, or is quarantined for its reason, exactly as
//!   `mappings/samples/expected-sources.json` says (written with `EXPECTED.md` by
//!   `mappings/samples/make_samples.py`). Nothing may be dropped on the way, nothing added.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use dhub_mapping::{MapContext, Mapping, SourceRecord};
use serde_json::Value;

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

fn files_under(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == extension) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_sample_export_maps_with_its_demo_mapping() {
    let mappings = mappings_dir();
    for name in ["finance-oa", "market-supervision"] {
        let mapping = Mapping::load(&mappings.join(format!("{name}.toml")))
            .unwrap_or_else(|errors| panic!("{errors}"));
        let context = MapContext {
            source_name: name.to_string(),
            fetched_at: "2026-01-01T00:00:00Z".to_string(),
        };
        let files = files_under(&mappings.join("samples").join(name), "xml");
        assert!(!files.is_empty(), "no sample exports for {name}");
        let mut mapped = 0;
        for file in files {
            let bytes = fs::read(&file).expect("sample readable");
            let origin = file.display().to_string();
            let results = mapping
                .map_document(&bytes, &origin, &context)
                .unwrap_or_else(|error| panic!("{error}"));
            for result in results {
                let record = result.unwrap_or_else(|error| panic!("{error}"));
                assert!(record["record_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(name)));
                assert!(record.get("category").is_some() && record.get("agency").is_some());
                mapped += 1;
            }
        }
        assert!(mapped > 0, "{name}: no records");
    }
}

/// The day the samples are checked against ("decided_on not in the future"): after the last
/// sample decision, fixed so that the test does not depend on the clock.
fn check_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).expect("a date")
}

/// What happened to one case: it validated (the mapped record, with the validator's warnings), or
/// the reason it was held back.
enum Outcome {
    Valid(Value, Vec<String>),
    Quarantined(String),
}

#[test]
fn the_samples_of_every_other_source_map_and_validate_as_expected() {
    let samples = mappings_dir().join("samples");
    let expected: Value = serde_json::from_str(
        &fs::read_to_string(samples.join("expected-sources.json")).expect("expected-sources.json"),
    )
    .expect("expected-sources.json is JSON");
    let sources = expected.as_object().expect("an object of sources");
    assert_eq!(
        sources.keys().collect::<Vec<_>>(),
        [
            "case-db",
            "county-push",
            "dept-api",
            "dept-kafka",
            "sgs-licensing",
            "sgs-penalty"
        ]
    );
    let mut problems = Vec::new();
    for (name, source) in sources {
        let mapping = Mapping::load(&mappings_dir().join(source["mapping"].as_str().unwrap()))
            .unwrap_or_else(|errors| panic!("{errors}"));
        let kind = source["kind"].as_str().unwrap();
        let context = MapContext {
            source_name: name.clone(),
            fetched_at: "2026-11-25T08:00:00Z".to_string(),
        };
        for stage in ["first", "second"] {
            let records = match kind {
                "sql" => case_db_rows(&samples.join(name), stage)
                    .into_iter()
                    .map(|(origin, row)| {
                        mapping
                            .row_record(&origin, row)
                            .unwrap_or_else(|error| panic!("{error}"))
                    })
                    .collect(),
                "kafka" => kafka_messages(&mapping, &samples.join(name).join(stage)),
                _ => documents(&mapping, &samples.join(name).join(stage), kind),
            };
            let outcomes = outcomes(&mapping, &records, &context);
            let wanted = source[stage].as_object().expect("cases of a stage");
            let seen: Vec<&String> = outcomes.keys().collect();
            let listed: Vec<&String> = wanted.keys().collect();
            if seen != listed {
                problems.push(format!(
                    "{name}/{stage}: cases {seen:?}, expected {listed:?}"
                ));
                continue;
            }
            for (key, want) in wanted {
                if let Some(problem) = compare(&outcomes[key], want) {
                    problems.push(format!("{name}/{stage} {key}: {problem}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Maps and validates each record, keyed by its source key.
fn outcomes(
    mapping: &Mapping,
    records: &[SourceRecord],
    context: &MapContext,
) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for record in records {
        let (key, outcome) = match mapping.apply(record, context) {
            Ok(value) => {
                let key = value["source"]["key"].as_str().unwrap().to_string();
                match dhub_schema::validate::validate_on(&value, check_day()) {
                    Ok(validated) => (key, Outcome::Valid(value, validated.warnings)),
                    Err(errors) => (key, Outcome::Quarantined(errors.to_string())),
                }
            }
            Err(error) => {
                let key = error
                    .source_key
                    .clone()
                    .unwrap_or_else(|| panic!("a sample record without a key: {error}"));
                (
                    key,
                    Outcome::Quarantined(format!("{}: {}", error.field, error.message)),
                )
            }
        };
        assert!(
            outcomes.insert(key.clone(), outcome).is_none(),
            "{key} twice"
        );
    }
    outcomes
}

fn compare(outcome: &Outcome, want: &Value) -> Option<String> {
    match (outcome, want["outcome"].as_str()) {
        (Outcome::Valid(_, warnings), Some("valid")) if !warnings.is_empty() => Some(format!(
            "valid with warnings (a check digit in the samples is wrong): {warnings:?}"
        )),
        (Outcome::Valid(record, _), Some("valid")) => {
            for (field, expected) in [
                ("category", &want["category"]),
                ("status", &want["status"]),
                ("division_code", &want["division"]),
            ] {
                if &record[field] != expected {
                    return Some(format!("{field} is {}, expected {expected}", record[field]));
                }
            }
            let classification = record
                .get("classification")
                .and_then(Value::as_str)
                .unwrap_or("public");
            match (want.get("withheld").and_then(Value::as_str), classification) {
                (Some("classified"), "public") => {
                    Some("expected a classified record, it is public".into())
                }
                (None, other) if other != "public" => Some(format!("classification {other}")),
                _ => None,
            }
        }
        (Outcome::Quarantined(reason), Some("quarantined")) => {
            let wanted = want["reason_contains"].as_str().unwrap();
            (!reason.contains(wanted))
                .then(|| format!("quarantined for `{reason}`, expected `{wanted}`"))
        }
        (Outcome::Valid(..), _) => Some("valid, expected quarantined".into()),
        (Outcome::Quarantined(reason), _) => Some(format!("quarantined: {reason}")),
    }
}

/// Every document of a folder, read whole: request bodies (http_push), API pages (http_pull) and
/// spreadsheets. Each sample folder holds files of one extension.
fn documents(mapping: &Mapping, dir: &Path, kind: &str) -> Vec<SourceRecord> {
    let extension = match mapping.format().as_str() {
        "xlsx" => "xlsx",
        "csv" => "csv",
        _ => "json",
    };
    let files = files_under(dir, extension);
    assert!(
        !files.is_empty(),
        "{kind}: no .{extension} files in {}",
        dir.display()
    );
    files
        .iter()
        .flat_map(|file| {
            let bytes = fs::read(file).expect("sample readable");
            mapping
                .read_document(&bytes, &file.display().to_string())
                .unwrap_or_else(|error| panic!("{error}"))
        })
        .collect()
}

/// Kafka: one message per line of the sample files, each parsed on its own, as the connector does.
fn kafka_messages(mapping: &Mapping, dir: &Path) -> Vec<SourceRecord> {
    let files = files_under(dir, "jsonl");
    assert!(!files.is_empty(), "no .jsonl files in {}", dir.display());
    let mut records = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("sample readable");
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let message: Value = serde_json::from_str(line).expect("a JSON message");
            let origin = format!("{} message {}", file.display(), index + 1);
            records.push(
                mapping
                    .json_record(&origin, 1, message)
                    .unwrap_or_else(|error| panic!("{error}")),
            );
        }
    }
    records
}

// --- case-db: the table after first.sql (and second.sql), read the way the sql source reads it ---

type Row = Vec<(String, Option<String>)>;

/// `first`: every row after first.sql. `second`: after second.sql, the rows whose `updated_at` is
/// past the largest of the first state (what a source reading by its cursor sees next).
fn case_db_rows(dir: &Path, stage: &str) -> Vec<(String, Row)> {
    let mut table: BTreeMap<String, Row> = BTreeMap::new();
    for statement in statements(&fs::read_to_string(dir.join("first.sql")).unwrap()) {
        let row = parse_insert(&statement);
        let key = value_of(&row, "case_no").expect("case_no");
        table.insert(key, row);
    }
    let first_cursor = table
        .values()
        .filter_map(|row| value_of(row, "updated_at"))
        .max()
        .expect("rows");
    if stage == "second" {
        for statement in statements(&fs::read_to_string(dir.join("second.sql")).unwrap()) {
            let (key, changes) = parse_update(&statement);
            let row = table.get_mut(&key).expect("an UPDATE of an existing row");
            for (column, value) in changes {
                let cell = row
                    .iter_mut()
                    .find(|(name, _)| *name == column)
                    .expect("an existing column");
                cell.1 = value;
            }
        }
    }
    table
        .into_iter()
        .filter(|(_, row)| {
            stage == "first" || value_of(row, "updated_at").is_some_and(|at| at > first_cursor)
        })
        .map(|(key, row)| (format!("enforcement_cases ({key})"), row))
        .collect()
}

fn value_of(row: &Row, column: &str) -> Option<String> {
    row.iter()
        .find(|(name, _)| name == column)
        .and_then(|(_, value)| value.clone())
}

/// The statements of a SQL file: comments dropped, split at `;` outside quotes.
fn statements(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in code.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => {
                statements.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    assert!(current.trim().is_empty(), "a statement without `;`");
    statements
}

/// `INSERT INTO t (a, b) VALUES ('x', NULL)` → `[(a, Some(x)), (b, None)]`.
fn parse_insert(statement: &str) -> Row {
    let open = statement.find('(').expect("a column list");
    let close = statement[open..].find(')').expect("a column list") + open;
    let columns: Vec<String> = statement[open + 1..close]
        .split(',')
        .map(|column| column.trim().to_string())
        .collect();
    let rest = statement[close + 1..].trim_start();
    let values = rest.strip_prefix("VALUES").expect("VALUES").trim();
    let values = values
        .strip_prefix('(')
        .and_then(|values| values.strip_suffix(')'))
        .expect("one row of values");
    let values = sql_values(values);
    assert_eq!(columns.len(), values.len(), "{statement}");
    columns.into_iter().zip(values).collect()
}

/// `UPDATE t SET a = 'x', b = 'y' WHERE case_no = 'k'` → `(k, [(a, x), (b, y)])`.
fn parse_update(statement: &str) -> (String, Row) {
    let set = statement.find(" SET ").expect("SET") + 5;
    let filter = statement.rfind(" WHERE ").expect("WHERE");
    let assignments = sql_values_with_names(&statement[set..filter]);
    let condition = sql_values_with_names(&statement[filter + 7..]);
    let [(column, Some(key))] = condition.as_slice() else {
        panic!("WHERE case_no = '…' expected: {statement}")
    };
    assert_eq!(column, "case_no");
    (key.clone(), assignments)
}

fn sql_values_with_names(text: &str) -> Row {
    split_outside_quotes(text)
        .iter()
        .map(|assignment| {
            let (column, value) = assignment.split_once('=').expect("column = value");
            (column.trim().to_string(), sql_literal(value.trim()))
        })
        .collect()
}

fn sql_values(text: &str) -> Vec<Option<String>> {
    split_outside_quotes(text)
        .iter()
        .map(|value| sql_literal(value.trim()))
        .collect()
}

fn split_outside_quotes(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                parts.last_mut().unwrap().push(c);
            }
            ',' if !quoted => parts.push(String::new()),
            _ => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

/// `NULL` → None, `'it''s'` → it's, `3000.00` → 3000.00 (what the sql source hands over for a
/// DECIMAL, DATE or SMALLINT: its text).
fn sql_literal(text: &str) -> Option<String> {
    if text == "NULL" {
        return None;
    }
    match text
        .strip_prefix('\'')
        .and_then(|inner| inner.strip_suffix('\''))
    {
        Some(inner) => Some(inner.replace("''", "'")),
        None => Some(text.to_string()),
    }
}
