//! Golden tests over the made-up decisions of `tests/samples/` (made by `generate.py`): each
//! sample's public version holds none of the personal data its `.case.json` lists under
//! `must_not_leak`, keeps everything under `must_keep`, and equals `tests/golden/<file>.html` byte
//! for byte. `DHUB_BLESS=1 cargo test -p dhub-documents --test golden` rewrites the golden files
//! (read the diff before committing it).

use std::path::{Path, PathBuf};

use dhub_documents::{
    extract, redact_document, DocumentDescriptor, DocumentLimits, ExtractError, MediaType,
    PublicOutcome, PublicVersion,
};
use dhub_redaction::{Policy, WithholdReason};
use serde_json::Value;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(case: &Value, key: &str) -> Vec<String> {
    case[key]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// `(file, sample name, declared media type)`.
const CASES: &[(&str, &str, &str)] = &[
    (
        "penalty-person.docx",
        "penalty-person",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("penalty-person.pdf", "penalty-person", "application/pdf"),
    (
        "penalty-person.type3.pdf",
        "penalty-person",
        "application/pdf",
    ),
    (
        "penalty-person.html",
        "penalty-person",
        "text/html; charset=utf-8",
    ),
    (
        "penalty-person.gbk.txt",
        "penalty-person",
        "text/plain; charset=gbk",
    ),
    (
        "penalty-company.docx",
        "penalty-company",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("penalty-company.pdf", "penalty-company", "application/pdf"),
    (
        "license-company.docx",
        "license-company",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("license-company.pdf", "license-company", "application/pdf"),
    (
        "penalty-long.docx",
        "penalty-long",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("penalty-long.pdf", "penalty-long", "application/pdf"),
];

fn published(outcome: PublicOutcome) -> PublicVersion {
    match outcome {
        PublicOutcome::Published(v) => v,
        PublicOutcome::Withheld { reason, detail } => panic!("withheld: {reason}: {detail}"),
    }
}

/// What must never be in a public version, checked on the text with whitespace removed too (a
/// value split by a line break or a tab is still a leak).
fn assert_no_leak(file: &str, what: &str, html: &str, leaks: &[String]) {
    let compact: String = html.chars().filter(|c| !c.is_whitespace()).collect();
    for leak in leaks {
        // The values are made up (generate.py): naming them in a failing test is safe.
        assert!(
            !html.contains(leak.as_str()) && !compact.contains(leak.as_str()),
            "{file} ({what}): the public version contains `{leak}` (must_not_leak)"
        );
    }
}

#[test]
fn public_versions_hide_personal_data_keep_the_decision_and_match_golden() {
    let public = Policy::builtin("public").unwrap();
    let limits = DocumentLimits::default();
    let bless = std::env::var("DHUB_BLESS").as_deref() == Ok("1");
    let mut failures = Vec::new();
    for (file, sample, declared) in CASES {
        let bytes = std::fs::read(samples().join(file)).unwrap();
        let record = read_json(&samples().join(format!("{sample}.record.json")));
        let case = read_json(&samples().join(format!("{sample}.case.json")));
        let leaks = strings(&case, "must_not_leak");
        let hidden = strings(&case, "hidden_in_source");

        // The test means something only if the original has the personal data in its text.
        let original = extract(&bytes, Some(declared), &limits).unwrap();
        let text: String = original
            .paragraphs
            .iter()
            .map(|p| p.text.as_str())
            .collect();
        for leak in leaks.iter().filter(|l| !hidden.contains(l)) {
            assert!(
                text.contains(leak.as_str()),
                "{file}: the original lacks a must_not_leak value"
            );
        }
        for value in &hidden {
            assert!(
                !text.contains(value.as_str()),
                "{file}: deleted text was extracted"
            );
        }

        let version = published(
            redact_document(&bytes, Some(declared), Some(&record), &public, &limits).unwrap(),
        );
        let html = version.html();
        assert_no_leak(file, "with its record", html, &leaks);
        for keep in strings(&case, "must_keep") {
            assert!(
                html.contains(&keep),
                "{file}: the public version lost `{keep}`"
            );
        }
        assert!(html.contains("<h1 class=\"title\">"), "{file}: no title");
        assert!(
            html.contains("<p class=\"docno"),
            "{file}: no document number"
        );
        assert!(
            html.contains("<footer class=\"closing\">"),
            "{file}: no closing"
        );
        assert!(
            html.contains("<p class=\"seal\">（印章）</p>"),
            "{file}: no seal placeholder"
        );
        assert!(!version.redactions().is_empty());

        // Without its record the document pass alone must still hide everything.
        let alone =
            published(redact_document(&bytes, Some(declared), None, &public, &limits).unwrap());
        assert_no_leak(file, "without a record", alone.html(), &leaks);

        let golden = golden_dir().join(format!("{file}.html"));
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&golden, html).unwrap();
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(expected) if expected == html => {}
                Ok(_) => failures.push(format!("{file}: differs from {}", golden.display())),
                Err(_) => failures.push(format!("{file}: no golden file {}", golden.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches (rerun with DHUB_BLESS=1 after checking the change):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_format_of_a_decision_reads_the_same() {
    let limits = DocumentLimits::default();
    let read = |file: &str| -> Vec<String> {
        let bytes = std::fs::read(samples().join(file)).unwrap();
        extract(&bytes, None, &limits)
            .unwrap()
            .paragraphs
            .into_iter()
            .map(|p| p.text)
            .collect()
    };
    let docx = read("penalty-person.docx");
    assert_eq!(docx.len(), 18);
    for other in [
        "penalty-person.pdf",
        "penalty-person.html",
        "penalty-person.gbk.txt",
    ] {
        assert_eq!(read(other), docx, "{other} reads differently from the DOCX");
    }
    // Noto CJK draws 户 and 戶 with one glyph, and Chromium's ToUnicode map names the first code
    // point of a glyph: no text layer can tell which of the two was typed. Everything else,
    // radicals included (⾏ for 行), reads the same.
    let type3: Vec<String> = read("penalty-person.type3.pdf")
        .into_iter()
        .map(|p| p.replace('戶', "户"))
        .collect();
    assert_eq!(
        type3, docx,
        "the Type 3 PDF reads differently from the DOCX"
    );
    for sample in ["penalty-company", "license-company", "penalty-long"] {
        assert_eq!(
            read(&format!("{sample}.pdf")),
            read(&format!("{sample}.docx")),
            "{sample}: PDF and DOCX differ"
        );
    }
}

#[test]
fn page_counts_of_the_samples() {
    let limits = DocumentLimits::default();
    for (file, pages) in [
        ("penalty-long.pdf", 5),
        ("penalty-long.docx", 5),
        ("penalty-person.pdf", 2),
    ] {
        let bytes = std::fs::read(samples().join(file)).unwrap();
        assert_eq!(
            extract(&bytes, None, &limits).unwrap().pages,
            Some(pages),
            "{file}"
        );
    }
    let bytes = std::fs::read(samples().join("penalty-long.pdf")).unwrap();
    let four = DocumentLimits {
        max_pages: 4,
        ..DocumentLimits::default()
    };
    let err = extract(&bytes, None, &four).unwrap_err();
    assert_eq!(err, ExtractError::TooManyPages { pages: 5, limit: 4 });
    assert_eq!(
        err.to_string(),
        "the document has 5 pages, over the limit max_pages = 4"
    );
}

#[test]
fn a_scan_without_a_text_layer_goes_to_quarantine() {
    let bytes = std::fs::read(samples().join("scanned.pdf")).unwrap();
    let public = Policy::builtin("public").unwrap();
    let err = redact_document(
        &bytes,
        Some("application/pdf"),
        None,
        &public,
        &DocumentLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err, ExtractError::NoTextLayer);
    assert_eq!(
        err.to_string(),
        "the PDF has no text layer (a scan?); the public version cannot be generated: quarantine"
    );
}

#[test]
fn declared_types_are_checked_against_the_bytes() {
    let limits = DocumentLimits::default();
    let docx = std::fs::read(samples().join("penalty-person.docx")).unwrap();
    let err = extract(&docx, Some("application/pdf"), &limits).unwrap_err();
    assert_eq!(
        err,
        ExtractError::MediaTypeMismatch {
            declared: MediaType::Pdf,
            sniffed: MediaType::Docx
        }
    );
    let err = extract(&docx, Some("application/msword"), &limits).unwrap_err();
    assert!(matches!(err, ExtractError::UnknownDeclared { .. }));
    let pdf_only = DocumentLimits {
        allowed: vec![MediaType::Pdf],
        ..DocumentLimits::default()
    };
    let err = extract(&docx, None, &pdf_only).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not allowed as a decision document"),
        "{err}"
    );
    let small = DocumentLimits {
        max_bytes: 100,
        ..DocumentLimits::default()
    };
    let err = extract(&docx, None, &small).unwrap_err();
    assert!(err.to_string().contains("max_bytes = 100"), "{err}");
    let few = DocumentLimits {
        max_chars: 50,
        ..DocumentLimits::default()
    };
    for file in [
        "penalty-person.docx",
        "penalty-person.pdf",
        "penalty-person.html",
        "penalty-person.gbk.txt",
    ] {
        let bytes = std::fs::read(samples().join(file)).unwrap();
        assert_eq!(
            extract(&bytes, None, &few).unwrap_err(),
            ExtractError::TooManyChars { limit: 50 },
            "{file}"
        );
    }
}

#[test]
fn a_withheld_record_gives_no_public_version() {
    let public = Policy::builtin("public").unwrap();
    let bytes = std::fs::read(samples().join("penalty-person.docx")).unwrap();
    let mut record = read_json(&samples().join("penalty-person.record.json"));
    record["major"] = Value::Bool(true);
    let outcome = redact_document(
        &bytes,
        None,
        Some(&record),
        &public,
        &DocumentLimits::default(),
    )
    .unwrap();
    assert!(matches!(
        outcome,
        PublicOutcome::Withheld {
            reason: WithholdReason::MajorWithoutLegalReview,
            ..
        }
    ));
}

#[test]
fn the_government_policy_keeps_identifiers() {
    let government = Policy::builtin("government").unwrap();
    let bytes = std::fs::read(samples().join("penalty-person.docx")).unwrap();
    let record = read_json(&samples().join("penalty-person.record.json"));
    let version = published(
        redact_document(
            &bytes,
            None,
            Some(&record),
            &government,
            &DocumentLimits::default(),
        )
        .unwrap(),
    );
    let id = record["counterparty"]["id_number"].as_str().unwrap();
    assert!(version.html().contains(id));
    assert!(version.html().contains("李秀英"));
    assert!(version.redactions().is_empty());
}

#[test]
fn the_samples_carry_valid_identifiers() {
    // Detectors only mask IDs with a valid check digit: made-up data must pass the real checks.
    for sample in ["penalty-person", "penalty-company", "license-company"] {
        let record = read_json(&samples().join(format!("{sample}.record.json")));
        let cp = &record["counterparty"];
        for id in [&cp["id_number"], &cp["legal_rep"]["id_number"]] {
            if let Some(id) = id.as_str() {
                assert!(
                    dhub_schema::identifiers::check_resident_id(id).is_ok(),
                    "{sample}"
                );
            }
        }
        for code in [&cp["uscc"], &record["agency"]["uscc"]] {
            if let Some(code) = code.as_str() {
                assert!(
                    dhub_schema::identifiers::check_uscc(code).is_ok(),
                    "{sample}"
                );
            }
        }
    }
}

#[test]
fn the_descriptor_of_a_public_version_is_as_the_contract_shows() {
    let public = Policy::builtin("public").unwrap();
    let bytes = std::fs::read(samples().join("license-company.pdf")).unwrap();
    let version = published(
        redact_document(&bytes, None, None, &public, &DocumentLimits::default()).unwrap(),
    );
    let d = DocumentDescriptor::public_version(&version, "https://hub.example/");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "decision",
            "media_type": "text/html",
            "sha256": version.sha256(),
            "size": version.size(),
            "url": format!("https://hub.example/documents/{}", version.sha256()),
        })
    );
    assert!(d.matches(version.as_bytes()));
    assert!(
        !d.matches(&bytes),
        "the original is not what the descriptor describes"
    );
}

#[test]
fn truncated_and_damaged_samples_are_errors_not_panics() {
    // Every format cut at many places, and with bytes flipped: an error or some text, never a
    // panic, and never an error that quotes the document.
    let limits = DocumentLimits::default();
    for file in [
        "penalty-person.docx",
        "penalty-person.pdf",
        "penalty-person.html",
        "penalty-person.gbk.txt",
    ] {
        let bytes = std::fs::read(samples().join(file)).unwrap();
        let step = (bytes.len() / 12).max(1);
        for cut in (1..bytes.len()).step_by(step) {
            let mut damaged = bytes[..cut].to_vec();
            if let Err(e) = extract(&damaged, None, &limits) {
                assert!(!e.to_string().contains("司马"), "{file}: {e}");
            }
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0x5A;
            if let Err(e) = extract(&damaged, None, &limits) {
                assert!(!e.to_string().contains("司马"), "{file}: {e}");
            }
            // The whole file with one byte damaged: its structure still parses (a PDF's xref
            // offsets hold), so the damage reaches the content streams and fonts.
            let mut flipped = bytes.clone();
            flipped[cut] ^= 0xA5;
            if let Err(e) = extract(&flipped, None, &limits) {
                assert!(!e.to_string().contains("司马"), "{file}: {e}");
            }
        }
    }
}
