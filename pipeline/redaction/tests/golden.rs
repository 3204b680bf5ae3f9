//! Golden cases: every folder under `tests/golden/` holds `input.json` (a list of records),
//! `policy` (a built-in policy name, or a policy file path relative to the folder), and
//! `expected.json` (the lines `dhub redact --report` writes for them). See `tests/golden/README.md`.
//!
//! `DHUB_BLESS=1 cargo test -p dhub-redaction --test golden` rewrites `expected.json` from the
//! engine's output (only the value `1` does; `DHUB_BLESS=0` compares); review the diff before
//! committing it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dhub_redaction::{run_redact_command, Policy, RedactCommandError, WithholdReason, RULES};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one case; returns the output lines as JSON values.
fn run_case(dir: &Path) -> Vec<Value> {
    let policy_ref = std::fs::read_to_string(dir.join("policy")).expect("policy file");
    let policy = Policy::resolve(policy_ref.trim(), dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let records = read_json(&dir.join("input.json"));
    let records = records.as_array().expect("input.json is a list of records");
    let mut input = String::new();
    for r in records {
        input.push_str(&serde_json::to_string(r).expect("serializable"));
        input.push('\n');
    }
    let mut output = Vec::new();
    run_redact_command(&policy, input.as_bytes(), &mut output, true)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    String::from_utf8(output)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

/// Whether the golden files are to be rewritten: only with `DHUB_BLESS=1` exactly. Any other value
/// (`0`, empty, `true`) compares, so that `DHUB_BLESS=0` never rewrites what it should check.
fn bless_requested(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| v == "1")
}

#[test]
fn bless_only_with_one() {
    assert!(bless_requested(Some("1".as_ref())));
    for value in ["0", "", "true", "yes", " 1", "1 "] {
        assert!(!bless_requested(Some(value.as_ref())), "{value:?}");
    }
    assert!(!bless_requested(None));
}

#[test]
fn golden_cases() {
    let bless = bless_requested(std::env::var_os("DHUB_BLESS").as_deref());
    let mut failures = Vec::new();
    let dirs = case_dirs();
    assert!(dirs.len() >= 15, "golden cases missing");
    for dir in &dirs {
        let actual = Value::Array(run_case(dir));
        let expected_path = dir.join("expected.json");
        if bless {
            let mut text = serde_json::to_string_pretty(&actual).expect("serializable");
            text.push('\n');
            // Written aside and renamed: the other tests of this file read the same files, in
            // parallel, and must never see a half-written one.
            let fresh = dir.join("expected.json.new");
            std::fs::write(&fresh, text).expect("writable");
            std::fs::rename(&fresh, &expected_path).expect("renamable");
            continue;
        }
        let expected = read_json(&expected_path);
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {}\n  actual   {}",
                dir.display(),
                serde_json::to_string(&expected).unwrap_or_default(),
                serde_json::to_string(&actual).unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The cases together exercise every redaction rule and every withhold reason.
#[test]
fn golden_cases_cover_every_rule_and_reason() {
    let mut rules = BTreeSet::new();
    let mut reasons = BTreeSet::new();
    for dir in case_dirs() {
        for line in read_json(&dir.join("expected.json"))
            .as_array()
            .expect("list")
        {
            if let Some(list) = line.get("redactions").and_then(Value::as_array) {
                for r in list {
                    rules.insert(r["rule"].as_str().expect("rule").to_string());
                }
            }
            if let Some(reason) = line.get("reason").and_then(Value::as_str) {
                reasons.insert(reason.to_string());
            }
        }
    }
    for rule in RULES {
        assert!(
            rules.contains(rule),
            "no golden case exercises rule `{rule}`"
        );
    }
    for reason in WithholdReason::ALL {
        assert!(
            reasons.contains(reason.code()),
            "no golden case withholds as `{reason}`"
        );
    }
}

/// The golden outputs never contain the personal data of their inputs: every detected value
/// listed in a case's `must_not_leak` file is absent from the output.
#[test]
fn golden_outputs_do_not_leak() {
    for dir in case_dirs() {
        let leak_file = dir.join("must_not_leak");
        let Ok(list) = std::fs::read_to_string(&leak_file) else {
            continue;
        };
        let output = serde_json::to_string(&run_case(&dir)).expect("serializable");
        for secret in list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            assert!(
                !output.contains(secret),
                "{}: output contains `{secret}`",
                dir.display()
            );
        }
    }
}

#[test]
fn demo_province_policy_loads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/demo/policies/province.toml");
    let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.name(), "province");
    // It resolves the way the demo config names it, relative to the config's folder.
    let demo_dir = path.parent().and_then(Path::parent).expect("deploy/demo");
    assert_eq!(
        Policy::resolve("policies/province.toml", demo_dir)
            .unwrap()
            .name(),
        "province"
    );
}

#[test]
fn unreadable_lines_are_written_and_fail_the_command() {
    let policy = Policy::builtin("public").unwrap();
    let input = "\n{\"record_id\":\"x\",\"classification\":\"secret\"}\nnot json\n[1,2]\n\n\u{0}\n";
    let mut output = Vec::new();
    let err = run_redact_command(&policy, input.as_bytes(), &mut output, false).unwrap_err();
    let lines: Vec<&str> = std::str::from_utf8(&output).unwrap().lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"record_id":"x","withheld":true,"reason":"classified"}"#,
            r#"{"line":3,"withheld":true,"reason":"unreadable"}"#,
            r#"{"line":4,"withheld":true,"reason":"unreadable"}"#,
            r#"{"line":6,"withheld":true,"reason":"unreadable"}"#,
        ]
    );
    assert_eq!(
        err.to_string(),
        "input line 3 is not a JSON object (3 such line(s), each written as withheld `unreadable`): fix the input and run again"
    );
    let RedactCommandError::Unreadable { lines, stats } = err else {
        panic!("expected Unreadable");
    };
    assert_eq!(lines, [3, 4, 6]);
    assert_eq!(stats.records, 4);
    assert_eq!(stats.withheld.get("unreadable"), Some(&3));
    assert_eq!(stats.withheld.get("classified"), Some(&1));
}

#[test]
fn invalid_utf8_line_is_unreadable_not_a_crash() {
    let policy = Policy::builtin("public").unwrap();
    let input: &[u8] = b"\xff\xfe{}\n";
    let mut output = Vec::new();
    let err = run_redact_command(&policy, input, &mut output, false).unwrap_err();
    assert!(matches!(err, RedactCommandError::Unreadable { ref lines, .. } if lines == &[1]));
}

#[test]
fn without_report_lines_are_exactly_the_contract_shape() {
    let policy = Policy::builtin("public").unwrap();
    let dir = golden_dir().join("01_natural_person_public");
    let records = read_json(&dir.join("input.json"));
    let mut input = serde_json::to_string(&records[0]).unwrap();
    input.push('\n');
    let mut output = Vec::new();
    let stats = run_redact_command(&policy, input.as_bytes(), &mut output, false).unwrap();
    let line: Value = serde_json::from_slice(&output).unwrap();
    let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["record"]);
    assert_eq!(stats.published, 1);
    assert!(stats.redactions.get("resident_id").is_some_and(|n| *n >= 1));
}

/// A closed output (a broken pipe) is an error, not a panic.
#[test]
fn write_errors_are_reported() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let policy = Policy::builtin("public").unwrap();
    let err = run_redact_command(
        &policy,
        "{\"classification\":\"secret\"}\n".as_bytes(),
        Broken,
        false,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("cannot write the output"));
}

/// The decoy case must come out exactly as it went in, whatever a careless re-bless writes.
#[test]
fn decoys_come_out_unchanged() {
    let dir = golden_dir().join("10_decoys_left_untouched");
    let input = read_json(&dir.join("input.json"));
    let output = run_case(&dir);
    assert_eq!(output.len(), 1);
    assert_eq!(output[0]["record"], input[0]);
    assert_eq!(output[0]["redactions"], serde_json::json!([]));
}
