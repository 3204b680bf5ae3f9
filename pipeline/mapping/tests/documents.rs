//! `[[documents]]`: a mapping names each record's decision document and evidence (issue 11).

use std::path::Path;

use dhub_mapping::{Locator, Mapping};
use serde_json::json;

const XML_MAPPING: &str = r#"
[mapping]
name = "t"
version = "1"
format = "xml"
records = "Export/Case"
key = { path = "@id" }
[fields]
category = { value = "penalty" }

[[documents]]
kind = "decision"
file = "DecisionFile"
media_type = "application/pdf"

[[documents]]
kind = "evidence"
file = "Evidence/Photo"
"#;

#[test]
fn a_file_beside_the_export_and_several_evidence_photos_are_named_per_record() {
    let mapping = Mapping::parse(XML_MAPPING, Path::new("t.toml")).unwrap();
    assert!(mapping.has_documents());
    let xml = "<Export><Case id=\"A\"><DecisionFile>a.pdf</DecisionFile><Evidence><Photo>1.jpg</Photo><Photo>2.png</Photo></Evidence></Case><Case id=\"B\"/></Export>";
    let records = mapping.read_document(xml.as_bytes(), "in.xml").unwrap();
    let a = mapping.documents(&records[0]).unwrap();
    let summary: Vec<_> = a
        .iter()
        .map(|d| (d.kind, d.locator, d.value.as_str(), d.media_type.as_deref(), d.entry))
        .collect();
    assert_eq!(
        summary,
        [
            ("decision", Locator::File, "a.pdf", Some("application/pdf"), 1),
            ("evidence", Locator::File, "1.jpg", None, 2),
            ("evidence", Locator::File, "2.png", None, 2),
        ]
    );
    assert!(
        mapping.documents(&records[1]).unwrap().is_empty(),
        "a record without the paths names no document"
    );
    // The debug form never shows the value (a path may name a person, base64 is a whole file).
    assert!(!format!("{:?}", a[0]).contains("a.pdf"));
}

#[test]
fn base64_and_url_with_a_media_type_read_from_the_record() {
    let text = r#"
[mapping]
name = "p"
version = "1"
format = "json"
key = { path = "/id" }
[fields]
category = { value = "penalty" }
[[documents]]
kind = "decision"
base64 = "/decision/content"
media_type_path = "/decision/type"
[[documents]]
kind = "evidence"
url = "/photoUrl"
"#;
    let mapping = Mapping::parse(text, Path::new("p.toml")).unwrap();
    let record = mapping
        .json_record(
            "push",
            1,
            json!({"id": "1", "decision": {"content": "aGVsbG8=", "type": "text/plain"}, "photoUrl": "http://x/p.jpg"}),
        )
        .unwrap();
    let refs = mapping.documents(&record).unwrap();
    assert_eq!(refs.len(), 2);
    assert_eq!(
        (refs[0].locator, refs[0].value.as_str(), refs[0].media_type.as_deref()),
        (Locator::Base64, "aGVsbG8=", Some("text/plain"))
    );
    assert_eq!(
        (refs[1].kind, refs[1].locator, refs[1].value.as_str()),
        ("evidence", Locator::Url, "http://x/p.jpg")
    );
}

#[test]
fn a_sql_path_column_is_a_column_the_table_must_have() {
    let text = r#"
[mapping]
name = "r"
version = "1"
format = "row"
key = { path = "case_no" }
[fields]
category = { value = "penalty" }
[[documents]]
kind = "decision"
file = "decision_path"
"#;
    let mapping = Mapping::parse(text, Path::new("r.toml")).unwrap();
    assert!(mapping.columns().iter().any(|c| c == "decision_path"));
}

#[test]
fn mistakes_in_documents_entries_are_reported_with_their_lines() {
    let text = r#"
[mapping]
name = "t"
version = "1"
format = "json"
key = { path = "/id" }
[fields]
category = { value = "penalty" }
[[documents]]
kind = "photo"
file = "/f"
[[documents]]
kind = "decision"
file = "/f"
url = "/u"
[[documents]]
file = "/f"
[[documents]]
kind = "evidence"
sha = "/s"
[[documents]]
kind = "decision"
"#;
    let errors = Mapping::parse(text, Path::new("t.toml")).unwrap_err().to_string();
    for expected in [
        "t.toml:10: unknown document kind `photo`; use decision or evidence",
        "t.toml:15: a [[documents]] entry takes one of `file`, `url` and `base64`, not several",
        "needs `kind` (decision or evidence)",
        "t.toml:20: unknown key `sha` in [[documents]]",
        "needs one of `file`, `url` and `base64`",
    ] {
        assert!(errors.contains(expected), "{expected} in:\n{errors}");
    }
}
