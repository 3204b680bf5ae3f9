//! Golden cases: one folder per case under `tests/golden/<case>/`, each with
//!
//! - the mapping: `mapping.toml`, or a file `mapping` holding the name of a file in `/mappings`
//!   (the demo mappings, tested as shipped);
//! - one input: `input.<ext>`, used as bytes, or `input.<encoding>.<ext>` (e.g. `input.gb18030.xml`),
//!   kept in UTF-8 in the repository for readability and encoded by this runner before use
//!   (`input.xlsx` workbooks are written by `make_xlsx.py` in this folder);
//! - optionally `feed`: how records arrive when they are not a document read whole. `rows`: each
//!   line of `input.jsonl` is a database row, `{"column": "text" or null}`, handed to
//!   `Mapping::row_record` (as the sql source does); `objects`: each line is a JSON value handed to
//!   `Mapping::json_record` (as the http_push and kafka sources do with parsed bodies and messages);
//! - optionally `source` (the source name; default: the mapping's name);
//! - the expectation: `expected.jsonl` (one record per line, compared as JSON values) and/or
//!   `expected.err` (every error, one per line, exactly as displayed: mapping errors, a document
//!   error, or record errors). Without `expected.err`, any error fails the case.
//!
//! Runs use `fetched_at = "2026-01-01T00:00:00Z"`. Set `DHUB_BLESS=1` to write the actual output
//! into the expectation files (then review the diff before committing).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use dhub_mapping::{DocumentError, MapContext, Mapping, SourceRecord};
use serde_json::Value;

const FETCHED_AT: &str = "2026-01-01T00:00:00Z";

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/golden exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "expected the golden cases, found {}",
        cases.len()
    );
    let bless = std::env::var("DHUB_BLESS").is_ok_and(|value| value == "1");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case, bless).err().map(|message| {
                format!(
                    "--- golden case `{}`:\n{message}",
                    case.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// What a case produced.
struct Outcome {
    records: Vec<Value>,
    errors: Vec<String>,
}

fn run_case(case: &Path, bless: bool) -> Result<(), String> {
    let outcome = produce(case)?;
    let expected_jsonl = case.join("expected.jsonl");
    let expected_err = case.join("expected.err");
    if bless {
        let jsonl: String = outcome
            .records
            .iter()
            .map(|record| format!("{record}\n"))
            .collect();
        if !jsonl.is_empty() || expected_jsonl.exists() {
            fs::write(&expected_jsonl, jsonl).map_err(|e| e.to_string())?;
        }
        if !outcome.errors.is_empty() {
            fs::write(&expected_err, outcome.errors.join("\n") + "\n")
                .map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    if !expected_jsonl.exists() && !expected_err.exists() {
        return Err("the case has neither expected.jsonl nor expected.err".into());
    }
    let mut problems = Vec::new();

    let wanted_errors: Vec<String> = match fs::read_to_string(&expected_err) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    };
    if wanted_errors != outcome.errors {
        problems.push(format!(
            "errors differ:\n  expected:\n{}\n  actual:\n{}",
            indent(&wanted_errors),
            indent(&outcome.errors)
        ));
    }

    let wanted_records: Vec<Value> = match fs::read_to_string(&expected_jsonl) {
        Ok(text) => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(index, line)| {
                serde_json::from_str(line)
                    .map_err(|e| format!("expected.jsonl line {}: {e}", index + 1))
            })
            .collect::<Result<_, _>>()?,
        Err(_) => Vec::new(),
    };
    if wanted_records.len() != outcome.records.len() {
        problems.push(format!(
            "expected {} records, got {}; actual records:\n{}",
            wanted_records.len(),
            outcome.records.len(),
            indent(
                &outcome
                    .records
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
            )
        ));
    }
    for (index, (wanted, actual)) in wanted_records.iter().zip(&outcome.records).enumerate() {
        let differences = diff(wanted, actual);
        if !differences.is_empty() {
            problems.push(format!(
                "record {} differs:\n{}\n  actual record: {actual}",
                index + 1,
                indent(&differences)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn produce(case: &Path) -> Result<Outcome, String> {
    let mut outcome = Outcome {
        records: Vec::new(),
        errors: Vec::new(),
    };
    let (text, shown_path) = if case.join("mapping.toml").exists() {
        let text = fs::read_to_string(case.join("mapping.toml")).map_err(|e| e.to_string())?;
        (text, PathBuf::from("mapping.toml"))
    } else {
        let name = fs::read_to_string(case.join("mapping"))
            .map_err(|_| "the case has neither mapping.toml nor mapping".to_string())?;
        let name = name.trim();
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../mappings")
            .join(name);
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        (text, Path::new("mappings").join(name))
    };
    let mapping = match Mapping::parse(&text, &shown_path) {
        Ok(mapping) => mapping,
        Err(errors) => {
            outcome.errors = errors.to_string().lines().map(str::to_string).collect();
            return Ok(outcome);
        }
    };
    let (origin, bytes) = input(case)?;
    let feed = fs::read_to_string(case.join("feed"))
        .map(|feed| feed.trim().to_string())
        .ok();
    let source_name = fs::read_to_string(case.join("source"))
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| mapping.name().to_string());
    let context = MapContext {
        source_name,
        fetched_at: FETCHED_AT.to_string(),
    };
    let records: Vec<Result<SourceRecord, DocumentError>> = match feed.as_deref() {
        None => match mapping.read_document(&bytes, &origin) {
            Ok(records) => records.into_iter().map(Ok).collect(),
            Err(error) => vec![Err(error)],
        },
        Some(feed @ ("rows" | "objects")) => {
            let text = String::from_utf8(bytes).map_err(|_| format!("{origin} is not UTF-8"))?;
            let mut records = Vec::new();
            for (index, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(line)
                    .map_err(|e| format!("{origin} line {}: {e}", index + 1))?;
                let origin = format!("{origin} #{}", index + 1);
                records.push(if feed == "rows" {
                    let Value::Object(columns) = value else {
                        return Err(format!("{origin}: a row must be a JSON object"));
                    };
                    let mut row = Vec::new();
                    for (column, value) in columns {
                        match value {
                            Value::String(text) => row.push((column, Some(text))),
                            Value::Null => row.push((column, None)),
                            _ => return Err(format!("{origin}: `{column}` must be text or null")),
                        }
                    }
                    mapping.row_record(&origin, row)
                } else {
                    mapping.json_record(&origin, 1, value)
                });
            }
            records
        }
        Some(other) => return Err(format!("unknown feed `{other}`; expected rows or objects")),
    };
    for record in records {
        match record.map(|record| mapping.apply(&record, &context)) {
            Ok(Ok(record)) => outcome.records.push(record),
            Ok(Err(error)) => outcome.errors.push(error.to_string()),
            Err(error) => outcome.errors.push(error.to_string()),
        }
    }
    Ok(outcome)
}

/// The case's input file name and bytes, encoded if the name asks for it.
fn input(case: &Path) -> Result<(String, Vec<u8>), String> {
    let inputs: Vec<String> = fs::read_dir(case)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("input."))
        .collect();
    let [name] = inputs.as_slice() else {
        return Err(format!(
            "expected exactly one input.* file, found {inputs:?}"
        ));
    };
    let bytes = fs::read(case.join(name)).map_err(|e| e.to_string())?;
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 3 {
        let encoding = encoding_rs::Encoding::for_label(parts[1].as_bytes())
            .ok_or_else(|| format!("{name}: unknown encoding `{}`", parts[1]))?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{name} must be stored as UTF-8"))?;
        let (encoded, _, unmappable) = encoding.encode(&text);
        if unmappable {
            return Err(format!(
                "{name}: text not representable in {}",
                encoding.name()
            ));
        }
        return Ok((name.clone(), encoded.into_owned()));
    }
    Ok((name.clone(), bytes))
}

fn indent(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Field-by-field differences, as `field: expected X, got Y` lines.
fn diff(wanted: &Value, actual: &Value) -> Vec<String> {
    let mut wanted_fields = BTreeMap::new();
    let mut actual_fields = BTreeMap::new();
    flatten(wanted, "", &mut wanted_fields);
    flatten(actual, "", &mut actual_fields);
    let mut names: Vec<&String> = wanted_fields.keys().chain(actual_fields.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (wanted, actual) = (wanted_fields.get(name), actual_fields.get(name));
            (wanted != actual).then(|| {
                let show =
                    |value: Option<&Value>| value.map_or("(absent)".to_string(), Value::to_string);
                format!("{name}: expected {}, got {}", show(wanted), show(actual))
            })
        })
        .collect()
}

fn flatten(value: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(inner, &name, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}
