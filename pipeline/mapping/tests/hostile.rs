//! Regression tests for issue 9, "hostile input": each is named after what a hostile (or broken)
//! department export did to the hub before the readers had limits.
//!
//! Tests that could overflow a stack run on a thread of their own with a 2 MiB stack, the default
//! for threads Rust spawns (and for tokio's workers), whatever `RUST_MIN_STACK` says for the test
//! harness: a stack overflow aborts the whole test binary, so these fail loudly if recursion returns.

use std::path::Path;

use dhub_mapping::{MapContext, Mapping, ReadLimits, SourceRecord};
use serde_json::Value;

const STACK: usize = 2 * 1024 * 1024;

/// Runs `test` on a thread with a 2 MiB stack and passes its panics on.
fn on_small_stack(test: impl FnOnce() + Send + 'static) {
    let outcome = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(test)
        .expect("spawn a test thread")
        .join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A mapping; with no `fields`, one constant field (a mapping must map something).
fn mapping(format: &str, records: Option<&str>, key: &str, fields: &str) -> Mapping {
    let fields = if fields.is_empty() {
        "category = { value = \"penalty\" }\n"
    } else {
        fields
    };
    let records = records
        .map(|records| format!("records = \"{records}\"\n"))
        .unwrap_or_default();
    let text = format!(
        "[mapping]\nname = \"hostile\"\nversion = \"1\"\nformat = \"{format}\"\n{records}key = {{ path = \"{key}\" }}\n[fields]\n{fields}"
    );
    Mapping::parse(&text, Path::new("hostile.toml")).unwrap_or_else(|errors| panic!("{errors}"))
}

/// Fields that make a complete inspection record, with `facts` read from `facts_path`.
fn inspection_fields(facts_path: &str) -> String {
    format!(
        r#"category = {{ value = "inspection" }}
status = {{ value = "in_force" }}
division_code = {{ value = "371523" }}
"agency.name" = {{ value = "茌平县市场监督管理局" }}
"counterparty.name" = {{ value = "某有限公司" }}
"counterparty.kind" = {{ value = "legal_person" }}
decided_on = {{ value = "2024-05-06" }}
facts = {{ path = "{facts_path}" }}
"#
    )
}

fn context() -> MapContext {
    MapContext {
        source_name: "hostile".into(),
        fetched_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn limit_message(what: &str, limit: u64, name: &str) -> String {
    format!(
        "{what} exceeds the limit of {limit} ({name}); raise it in the source's limits if this export is genuine"
    )
}

#[test]
fn deep_nesting_of_200000_xml_elements_is_a_limit_error_not_a_stack_overflow() {
    on_small_stack(|| {
        let depth = 200_000;
        let text = format!("<R>\n{}{}</R>", "<C>".repeat(depth), "</C>".repeat(depth));
        let mapping = mapping("xml", Some("R/C"), "@id", "");
        let error = mapping
            .read_document(text.as_bytes(), "in.xml")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "in.xml:2: {}",
                limit_message("element depth", 64, "max_depth")
            )
        );
    });
}

#[test]
fn deep_nesting_of_200000_json_arrays_is_a_limit_error_not_a_stack_overflow() {
    on_small_stack(|| {
        let depth = 200_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let error = mapping("json", None, "/id", "")
            .read_document(text.as_bytes(), "in.json")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "in.json:1: {}",
                limit_message("nesting depth", 64, "max_depth")
            )
        );
        let line = format!(
            "{{\"id\":\"1\"}}\n{{\"a\":{}{}}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let error = mapping("jsonl", None, "/id", "")
            .read_document(line.as_bytes(), "in.jsonl")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "in.jsonl:2: {}",
                limit_message("nesting depth", 64, "max_depth")
            )
        );
    });
}

#[test]
fn deep_nesting_of_a_hostile_raw_record_is_refused_by_the_replay() {
    on_small_stack(|| {
        let depth = 200_000;
        let raw = format!(
            "{{\"format\":\"xml\",\"line\":1,\"origin\":\"in.xml\",\"record\":{}\"name\":\"e\"{}}}",
            "{\"children\":[{".repeat(depth),
            "}]}".repeat(depth)
        );
        let error = SourceRecord::from_raw_text(&raw).unwrap_err();
        assert!(error.message.contains("nests deeper than"), "{error}");
    });
}

/// A record nested as deep as the readers allow at all: read, mapped, written raw, replayed,
/// compared, cloned and dropped on a 2 MiB stack. This is the bound that the recursive parts
/// (serde_json's parser, the derived `Clone` and `PartialEq`) rely on.
#[test]
fn deep_nesting_at_the_depth_ceiling_is_read_mapped_and_replayed_on_a_2_mib_stack() {
    on_small_stack(|| {
        let ceiling = ReadLimits::DEPTH_CEILING as usize;
        let limits = ReadLimits {
            max_depth: ReadLimits::DEPTH_CEILING,
            ..ReadLimits::default()
        };
        // XML: the root is the record, with ceiling - 1 levels below it; the deepest element has
        // an attribute, which is the deepest level of the raw form.
        let text = format!(
            "<C id=\"X-1\">{}<e a=\"1\">最深处</e>{}</C>",
            "<e>".repeat(ceiling - 2),
            "</e>".repeat(ceiling - 2)
        );
        let path = vec!["e"; ceiling - 1].join("/");
        let xml = mapping("xml", Some("C"), "@id", &inspection_fields(&path));
        let records = xml
            .read_document_with(text.as_bytes(), "deep.xml", &limits)
            .unwrap();
        let mapped = xml.apply(&records[0], &context()).unwrap();
        assert_eq!(mapped["facts"], "最深处");
        let raw = records[0].raw_text();
        let back = SourceRecord::from_raw_text(&raw).unwrap();
        assert_eq!(back, records[0]);
        assert_eq!(back.clone(), back);
        let one_deeper = text
            .replacen("<e>", "<e><e>", 1)
            .replacen("</e>", "</e></e>", 1);
        let error = xml
            .read_document_with(one_deeper.as_bytes(), "deep.xml", &limits)
            .unwrap_err();
        assert!(error.message.contains("(max_depth)"), "{error}");

        // JSON: the record object is level 1, the innermost object level `ceiling`.
        let text = format!(
            "{{\"id\":\"J-1\",{}\"v\":\"最深处\"{}}}",
            "\"a\":{".repeat(ceiling - 1),
            "}".repeat(ceiling - 1)
        );
        let pointer = format!("{}/v", "/a".repeat(ceiling - 1));
        let json = mapping("json", None, "/id", &inspection_fields(&pointer));
        let records = json
            .read_document_with(text.as_bytes(), "deep.json", &limits)
            .unwrap();
        let mapped = json.apply(&records[0], &context()).unwrap();
        assert_eq!(mapped["facts"], "最深处");
        let back = SourceRecord::from_raw_text(&records[0].raw_text()).unwrap();
        assert_eq!(back, records[0]);
        let one_deeper = text.replacen("\"a\":{", "\"a\":{\"a\":{", 1) + "}";
        let error = json
            .read_document_with(one_deeper.as_bytes(), "deep.json", &limits)
            .unwrap_err();
        assert!(error.message.contains("(max_depth)"), "{error}");
    });
}

#[test]
fn depth_limits_above_the_ceiling_are_refused_not_trusted() {
    let limits = ReadLimits {
        max_depth: ReadLimits::DEPTH_CEILING + 1,
        ..ReadLimits::default()
    };
    let error = mapping("xml", Some("R/C"), "@id", "")
        .read_document_with(b"<R><C id=\"1\"/></R>", "in.xml", &limits)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "in.xml: cannot read: limit `max_depth` is {}, above {}, the deepest nesting the readers support",
            ReadLimits::DEPTH_CEILING + 1,
            ReadLimits::DEPTH_CEILING
        )
    );
}

#[test]
fn huge_document_is_refused_before_it_is_parsed() {
    // Zeroed memory costs nothing until touched; the reader must not touch it.
    let bytes = vec![0u8; 256 * 1024 * 1024 + 1];
    for format in ["xml", "json", "jsonl", "csv"] {
        let records = (format == "xml").then_some("R/C");
        let key = if format == "csv" { "id" } else { "/id" };
        let key = if format == "xml" { "@id" } else { key };
        let error = mapping(format, records, key, "")
            .read_document(&bytes, "huge.bin")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "huge.bin: the document is 268435457 bytes, which exceeds the limit of 268435456 bytes (max_document_bytes); raise it in the source's limits if this export is genuine",
            "{format}"
        );
    }
}

fn attribute_flood(count: usize, duplicate_last: bool) -> String {
    let mut text = String::from("<R>\n<C id=\"1\"");
    for index in 0..count {
        let index = if duplicate_last && index == count - 1 {
            0
        } else {
            index
        };
        text.push_str(&format!(" a{index}=\"v\""));
    }
    text.push_str("/></R>");
    text
}

#[test]
fn attribute_flood_of_60000_attributes_is_a_limit_error() {
    let error = mapping("xml", Some("R/C"), "@id", "")
        .read_document(attribute_flood(60_000, false).as_bytes(), "in.xml")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "in.xml:2: {}",
            limit_message("the number of attributes of `<C>`", 1000, "max_attributes")
        )
    );
}

/// Within a limit raised for it, the flood is read, and a duplicate at its very end is found: the
/// check that used to compare every attribute with every other one (5 s for 60,000) is a map now.
#[test]
fn attribute_flood_within_a_raised_limit_is_read_and_its_duplicate_found() {
    let limits = ReadLimits {
        max_attributes: 60_001, // `id` and the flood
        ..ReadLimits::default()
    };
    let xml = mapping("xml", Some("R/C"), "@id", "");
    let records = xml
        .read_document_with(attribute_flood(60_000, false).as_bytes(), "in.xml", &limits)
        .unwrap();
    assert_eq!(records.len(), 1);
    let error = xml
        .read_document_with(attribute_flood(60_000, true).as_bytes(), "in.xml", &limits)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "in.xml:2: attribute `a0` appears twice on `<C>`; an element has each attribute once"
    );
}

/// Maps the record and validates it the way the hub does; returns the validation errors.
fn validation_errors(mapping: &Mapping, bytes: &[u8], origin: &str) -> Vec<String> {
    let records = mapping.read_document(bytes, origin).unwrap();
    assert_eq!(records.len(), 1);
    let value = mapping.apply(&records[0], &context()).unwrap();
    let back = SourceRecord::from_raw_text(&records[0].raw_text()).unwrap();
    assert_eq!(
        back, records[0],
        "a record with a control character replays"
    );
    match dhub_schema::validate(&value) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn nul_in_a_json_string_reaches_validation_and_is_refused_there() {
    let json = mapping("json", None, "/id", &inspection_fields("/facts"));
    let text = r#"{"id": "J-1", "facts": "张三\u000013812345678"}"#;
    let errors = validation_errors(&json, text.as_bytes(), "in.json");
    assert_eq!(
        errors,
        vec!["facts: contains the control character U+0000; remove it at the source"]
    );
    let jsonl = mapping("jsonl", None, "/id", &inspection_fields("/facts"));
    let errors = validation_errors(&jsonl, text.as_bytes(), "in.jsonl");
    assert_eq!(
        errors,
        vec!["facts: contains the control character U+0000; remove it at the source"]
    );
}

#[test]
fn nul_in_an_xml_character_reference_reaches_validation_and_is_refused_there() {
    let xml = mapping("xml", Some("R/C"), "@id", &inspection_fields("facts"));
    for (facts, code) in [
        ("张三&#0;13812345678", "U+0000"),
        ("张三&#x1F;", "U+001F"),
        ("张三\u{1}", "U+0001"),
    ] {
        let text = format!("<R><C id=\"X-1\"><facts>{facts}</facts></C></R>");
        let errors = validation_errors(&xml, text.as_bytes(), "in.xml");
        assert_eq!(
            errors,
            vec![format!(
                "facts: contains the control character {code}; remove it at the source"
            )],
            "{facts}"
        );
    }
    let in_attribute = mapping("xml", Some("R/C"), "@id", &inspection_fields("@facts"));
    let text = "<R><C id=\"X-1\" facts=\"a&#0;b\"/></R>";
    assert_eq!(
        validation_errors(&in_attribute, text.as_bytes(), "in.xml"),
        vec!["facts: contains the control character U+0000; remove it at the source"]
    );
}

/// The key becomes the record id, which the quarantine stores too: a NUL in it must fail the
/// record at the mapping, with no key in the error.
#[test]
fn nul_in_a_source_key_fails_the_record_without_the_key() {
    let xml = mapping("xml", Some("R/C"), "@id", &inspection_fields("facts"));
    let records = xml
        .read_document(b"<R>\n<C id=\"X&#0;1\"/></R>", "in.xml")
        .unwrap();
    let error = xml.apply(&records[0], &context()).unwrap_err();
    assert_eq!(error.source_key, None);
    assert_eq!(
        error.to_string(),
        "in.xml:2: key: the key contains the control character U+0000; remove it at the source"
    );
}

/// An unknown code is quoted in its error (for fields that hold no personal data); a control
/// character in it is written out, so the quarantine reason can be stored.
#[test]
fn control_characters_in_errors_are_written_as_code_points() {
    let fields = "category = { path = \"c\", codes = \"category\" }\n[codes.category]\n\"CF\" = \"penalty\"\n";
    let xml = mapping("xml", Some("R/C"), "@id", fields);
    let records = xml
        .read_document(b"<R><C id=\"1\"><c>C&#0;F</c></C></R>", "in.xml")
        .unwrap();
    let error = xml.apply(&records[0], &context()).unwrap_err();
    assert!(!error.message.contains('\u{0}'), "{error}");
    assert!(error.message.contains("CU+0000F"), "{error}");
    let error = xml.read_document(b"<R\x01/>", "in.xml").unwrap_err();
    assert!(!error.message.contains('\u{1}'), "{error}");
    let _: Value = serde_json::from_str(&records[0].raw_text()).unwrap();
}
