//! The `gen-exports` binary end to end: files, layout, determinism, refusal to mix runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(out: &Path, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen-exports"));
    command
        .arg("--out")
        .arg(out)
        .args(["--seed", "42", "--finance", "12", "--market", "14"])
        .args(extra);
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run gen-exports: {e}"))
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn writes_both_exports_and_expected_md() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let output = run(
        dir.path(),
        &["--revoke-fraction", "0.25", "--market-cases-per-file", "5"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = files(dir.path());
    let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
    assert!(names.contains(&"EXPECTED.md".to_owned()), "{names:?}");
    let finance_first: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("finance-oa/first/czj-oa-"))
        .collect();
    let finance_second: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("finance-oa/second/czj-oa-"))
        .collect();
    assert_eq!(
        (finance_first.len(), finance_second.len()),
        (1, 1),
        "{names:?}"
    );
    // The second export's name sorts after the first's.
    let first_name = finance_first[0].rsplit('/').next().unwrap_or_default();
    let second_name = finance_second[0].rsplit('/').next().unwrap_or_default();
    assert!(second_name > first_name, "{first_name} {second_name}");
    let market_first = names
        .iter()
        .filter(|n| n.starts_with("market-supervision/first/samr-case-371524-"))
        .count();
    assert!(market_first >= 2, "14 cases in files of 5: {names:?}");
    assert!(names
        .iter()
        .any(|n| n.starts_with("market-supervision/first/samr-case-371500-")));
    assert!(names
        .iter()
        .any(|n| n.starts_with("market-supervision/second/")));
    assert!(names.iter().all(|n| !n.ends_with(".tmp")));

    let gbk = fs::read(dir.path().join(finance_first[0])).unwrap_or_default();
    let (text, _, malformed) = encoding_rs::GBK.decode(&gbk);
    assert!(!malformed && text.starts_with("<?xml version=\"1.0\" encoding=\"GBK\"?>"));
    assert_eq!(text.matches("<案件 编号=").count(), 12);
    let second = fs::read(dir.path().join(finance_second[0])).unwrap_or_default();
    let (second, _, _) = encoding_rs::GBK.decode(&second);
    assert_eq!(second.matches("<案件 编号=").count(), 3, "round(12 * 0.25)");
    assert!(!second.contains("<状态>有效</状态>"));

    let expected = fs::read_to_string(dir.path().join("EXPECTED.md")).unwrap_or_default();
    assert!(expected.contains("cargo run -p dhub-testkit --bin gen-exports -- --out"));
    assert!(expected.contains("--seed 42 --finance 12 --market 14"));
    for topic in [
        "disclosure.county.371523",
        "disclosure.county.371524",
        "disclosure.city.371500",
        "disclosure.province.370000",
    ] {
        assert!(expected.contains(topic), "{topic}");
    }
    assert!(
        expected.contains("`classified`")
            && expected.contains("`minor`")
            && expected.contains("`major_without_legal_review`")
    );
    assert!(
        stdout.contains("records in force per platform") && stdout.contains("province 370000"),
        "{stdout}"
    );
}

#[test]
fn same_seed_gives_identical_files() {
    let a = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let b = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    assert!(run(a.path(), &[]).status.success());
    assert!(run(b.path(), &[]).status.success());
    let listed = files(a.path());
    assert_eq!(listed, files(b.path()));
    for rel in listed
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
    {
        assert_eq!(
            fs::read(a.path().join(rel)).ok(),
            fs::read(b.path().join(rel)).ok(),
            "{}",
            rel.display()
        );
    }
    let other = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen-exports"));
    command.arg("--out").arg(other.path()).args([
        "--seed",
        "43",
        "--finance",
        "12",
        "--market",
        "14",
    ]);
    assert!(command
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false));
    let differs = listed
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .any(|rel| fs::read(a.path().join(rel)).ok() != fs::read(other.path().join(rel)).ok());
    assert!(differs, "another seed gives other files");
}

#[test]
fn rerun_into_the_same_folder_is_fine_but_foreign_xml_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    assert!(run(dir.path(), &[]).status.success());
    assert!(
        run(dir.path(), &[]).status.success(),
        "same run again overwrites its own files"
    );
    let stray = dir
        .path()
        .join("finance-oa")
        .join("first")
        .join("old-export.xml");
    assert!(fs::write(&stray, "<x/>").is_ok());
    let output = run(dir.path(), &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("old-export.xml") && stderr.contains("choose another --out"),
        "{stderr}"
    );
}

#[test]
fn bad_options_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let output = run(dir.path(), &["--finance-secret", "20"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("finance-oa") && stderr.contains("bad cases"),
        "{stderr}"
    );
    let output = run(dir.path(), &["--from", "2026-13-01"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("YYYY-MM-DD"));
    assert!(
        files(dir.path()).is_empty(),
        "nothing written on bad options"
    );
}
