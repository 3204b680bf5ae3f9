//! Property tests over reading and mapping documents a hostile or broken department could send:
//! arbitrary bytes, token soup, arbitrary nesting and attributes, valid but odd documents from a
//! small grammar, GBK/GB18030 declarations over random bytes.
//!
//! Properties, for every input:
//! - reading and mapping never panic;
//! - every error names the document's origin (and only a document error may lack a line);
//! - every record read comes back equal from `raw_text` → `from_raw_text`;
//! - a document built from a model reads back as that model.
//!
//! Bounded for CI: small inputs, and proptest's case count (256 per property unless
//! `PROPTEST_CASES` says otherwise; `PROPTEST_CASES=10000` for a long local run). A failure is
//! saved in `tests/fuzz.proptest-regressions` and replayed first on every later run: commit it.

use std::collections::BTreeMap;
use std::path::Path;

use dhub_mapping::{MapContext, Mapping, ReadLimits, SourceRecord};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};

/// An origin that would show if an error lost or mangled it.
const ORIGIN: &str = "导出 2024-01.dat";

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        // `ProptestConfig::default()` reads PROPTEST_CASES (default 256).
        ..ProptestConfig::default()
    }
}

/// Mappings that read many paths with every kind of rule, so that mapping a fuzzed record goes
/// through codes, dates, amounts, splits, lists, conditions and concatenation.
fn mapping(format: &str) -> Mapping {
    let (records, key, p) = match format {
        "xml" => ("records = \"R/C\"\n", "@id", ["a", "b", "a/b", "@x", "."]),
        "json" => (
            "records = \"/cases\"\n",
            "/id",
            ["/a", "/b", "/a/b", "/x", "/c/0"],
        ),
        "jsonl" => ("", "/id", ["/a", "/b", "/a/b", "/x", "/c/0"]),
        _ => ("", "id", ["a", "b", "a", "x", "c"]),
    };
    let text = format!(
        r#"[mapping]
name = "fuzz"
version = "1"
format = "{format}"
{records}key = {{ path = "{key}" }}
[fields]
category = {{ path = "{a}", codes = "category", default = "penalty" }}
status = [
  {{ value = "revoked", when = {{ path = "{b}", equals = "1" }} }},
  {{ path = "{x}", codes = "status", default = "in_force" }},
]
decided_on = {{ path = "{ab}", date = ["%Y-%m-%d", "%Y年%m月%d日"] }}
fine_amount = {{ path = "{b}", amount = "wan_yuan" }}
penalty_kinds = {{ path = "{ab}", split = "、", codes = "kind" }}
facts = {{ concat = [{{ path = "{a}" }}, {{ text = "：" }}, {{ path = "{dot}" }}], separator = " " }}
random_check = {{ path = "{x}", codes = "yes_no" }}
"agency.name" = {{ path = "{a}", required = true }}
[codes.category]
"CF" = "penalty"
"*" = "inspection"
[codes.status]
"1" = "in_force"
[codes.kind]
"01" = "warning"
"*" = "other"
[codes.yes_no]
"是" = true
"否" = false
"#,
        a = p[0],
        b = p[1],
        ab = p[2],
        x = p[3],
        dot = p[4],
    );
    Mapping::parse(&text, Path::new("fuzz.toml")).unwrap_or_else(|errors| panic!("{errors}"))
}

fn context() -> MapContext {
    MapContext {
        source_name: "fuzz".into(),
        fetched_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// Small limits, so that fuzzed documents reach them.
fn small_limits() -> ReadLimits {
    ReadLimits {
        max_document_bytes: 4096,
        max_depth: 12,
        max_elements: 200,
        max_attributes: 8,
        max_value_bytes: 256,
        max_record_bytes: 1024,
        max_records: 20,
    }
}

/// Reads `bytes` as `format` and checks every property that holds for any input. Returns the
/// records read, if any.
fn read_and_map(
    format: &str,
    bytes: &[u8],
    limits: &ReadLimits,
) -> Result<Vec<SourceRecord>, TestCaseError> {
    let mapping = mapping(format);
    let records = match mapping.read_document_with(bytes, ORIGIN, limits) {
        Ok(records) => records,
        Err(error) => {
            prop_assert_eq!(&error.origin, ORIGIN);
            prop_assert!(error.to_string().starts_with(ORIGIN), "{}", error);
            prop_assert!(!error.message.chars().any(|c| c.is_ascii_control()));
            return Ok(Vec::new());
        }
    };
    for record in &records {
        prop_assert_eq!(record.origin(), ORIGIN);
        let raw = record.raw_text();
        let back = SourceRecord::from_raw_text(&raw);
        prop_assert!(back.is_ok(), "{:?}", back);
        prop_assert_eq!(&back.unwrap(), record);
        if let Err(error) = mapping.apply(record, &context()) {
            prop_assert_eq!(&error.origin, ORIGIN);
            prop_assert_eq!(error.line, record.line());
            prop_assert!(!error.message.chars().any(|c| c.is_ascii_control()));
        }
    }
    Ok(records)
}

const FORMATS: [&str; 4] = ["xml", "json", "jsonl", "csv"];

/// Pieces that make near-documents of every format when strung together at random.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "<R>", "</R>", "<C id=\"1\">", "<C id='2' x=\"是\">", "</C>", "<a>", "</a>", "<b/>",
            "<a><b>01、02</b></a>", "&amp;", "&#0;", "&#x4E2D;", "&#xD800;", "&nbsp;", "&", "<",
            "<![CDATA[", "]]>", "<!--", "-->", "<?pi x?>", "<!DOCTYPE R>", "<?xml version=\"1.0\"?>",
            "{", "}", "[", "]", ",", ":", "\"id\"", "\"a\"", "\"cases\"", "\"\\u0000\"", "\"\\ud800\"",
            "1e999", "-0", "null", "true", "\n", "\r\n", " ", "\t", "id,a,b", "1,CF,2", "\"x\"\"y\"",
            "\u{0}", "\u{1}", "\u{7F}", "2024-01-02", "0.5", "案件", "\u{FEFF}",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ]
}

fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(token(), 0..40).prop_map(|tokens| tokens.concat().into_bytes())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_name_the_origin(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        for format in FORMATS {
            read_and_map(format, &bytes, &ReadLimits::default())?;
            read_and_map(format, &bytes, &small_limits())?;
        }
    }

    #[test]
    fn token_soup_never_panics_and_round_trips_what_it_reads(bytes in soup()) {
        for format in FORMATS {
            read_and_map(format, &bytes, &ReadLimits::default())?;
            read_and_map(format, &bytes, &small_limits())?;
        }
    }

    #[test]
    fn arbitrary_nesting_is_read_up_to_the_limit_and_refused_beyond(
        depth in 1usize..300,
        max_depth in 1u64..=ReadLimits::DEPTH_CEILING,
        json in any::<bool>(),
    ) {
        let limits = ReadLimits { max_depth, ..ReadLimits::default() };
        let (format, text, total) = if json {
            // The record object, then `depth` nested arrays in it.
            let text = format!(
                "{{\"cases\":[{{\"id\":\"1\",\"a\":{}\"x\"{}}}]}}",
                "[".repeat(depth), "]".repeat(depth)
            );
            ("json", text, depth as u64 + 3)
        } else {
            let text = format!("<R><C id=\"1\">{}x{}</C></R>", "<a>".repeat(depth), "</a>".repeat(depth));
            ("xml", text, depth as u64 + 2)
        };
        let read = mapping(format).read_document_with(text.as_bytes(), ORIGIN, &limits);
        if total <= max_depth {
            prop_assert_eq!(read.map(|records| records.len()).ok(), Some(1));
            read_and_map(format, text.as_bytes(), &limits)?;
        } else {
            let error = read.unwrap_err();
            prop_assert!(error.message.contains(&format!("limit of {max_depth} (max_depth)")), "{}", error);
        }
    }

    #[test]
    fn arbitrary_attributes_are_read_unless_repeated_or_too_many(
        names in prop::collection::vec("[a-c]{1,2}|属性|_x", 0..40),
        max_attributes in 1u64..45,
    ) {
        let limits = ReadLimits { max_attributes, ..ReadLimits::default() };
        let attributes: String = names.iter().map(|name| format!(" {name}='v'")).collect();
        let text = format!("<R>\n<C{attributes}/></R>");
        let read = mapping("xml").read_document_with(text.as_bytes(), ORIGIN, &limits);
        let first_repeat = names.iter().enumerate().position(|(index, name)| names[..index].contains(name));
        let too_many_at = (names.len() as u64 > max_attributes).then_some(max_attributes as usize);
        match (first_repeat, too_many_at) {
            (None, None) => prop_assert_eq!(read.map(|records| records.len()).ok(), Some(1)),
            (repeat, too_many) => {
                let error = read.unwrap_err();
                prop_assert_eq!(error.line, Some(2));
                // Whichever comes first in the tag is reported.
                if repeat.is_some_and(|at| too_many.is_none_or(|limit| at < limit)) {
                    prop_assert!(error.message.contains("appears twice"), "{}", error);
                } else {
                    prop_assert!(error.message.contains("(max_attributes)"), "{}", error);
                }
            }
        }
    }

    #[test]
    fn gbk_and_gb18030_declarations_over_random_bytes_never_panic(
        label in prop::sample::select(vec!["GBK", "gbk", "GB18030", "gb2312", "GB_2312-80"]),
        body in prop::collection::vec(any::<u8>(), 0..200),
        bom in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(b"\xEF\xBB\xBF");
        }
        bytes.extend_from_slice(format!("<?xml version=\"1.0\" encoding=\"{label}\"?>\n<R><C id=\"1\"><a>").as_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(b"</a></C></R>");
        read_and_map("xml", &bytes, &ReadLimits::default())?;
        read_and_map("xml", &bytes, &small_limits())?;
        // The same bytes as a JSON string value, in a mapping that says GB18030.
        let mut json = b"{\"cases\":[{\"id\":\"1\",\"a\":\"".to_vec();
        json.extend_from_slice(&body);
        json.extend_from_slice(b"\"}]}");
        read_and_map("json", &json, &ReadLimits::default())?;
    }
}

// --- Valid but odd documents, generated from a model and expected to read back as the model. ---

/// One XML element of the model; `content` mixes text, CDATA, comments, PIs and child elements.
#[derive(Debug, Clone)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    content: Vec<Content>,
    /// Written as `<a/>` when empty.
    self_closing: bool,
}

#[derive(Debug, Clone)]
enum Content {
    Text(String),
    CData(String),
    Comment(String),
    Pi(String),
    Child(Element),
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "C", "数据", "x-y", "_z", "a.b", "项目1"])
        .prop_map(str::to_string)
}

/// Text with the characters that need escaping, CJK, and controls (which the reader lets through).
fn text() -> impl Strategy<Value = String> {
    "[a-z <>&'\"中文\t\n\u{1}\u{0}]{0,12}"
}

fn element() -> impl Strategy<Value = Element> {
    let leaf = (
        name(),
        prop::collection::btree_map(name(), text(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(name, attributes, self_closing)| Element {
            name,
            attributes,
            content: Vec::new(),
            self_closing,
        });
    leaf.prop_recursive(6, 40, 5, |inner| {
        (
            name(),
            prop::collection::btree_map(name(), text(), 0..3),
            prop::collection::vec(
                prop_oneof![
                    3 => text().prop_map(Content::Text),
                    1 => "[a-z<>&中]{0,6}".prop_map(Content::CData),
                    1 => "[a-z ]{0,6}".prop_map(Content::Comment),
                    1 => "[a-z]{1,4}".prop_map(Content::Pi),
                    3 => inner.prop_map(Content::Child),
                ],
                0..5,
            ),
        )
            .prop_map(|(name, attributes, content)| Element {
                name,
                attributes,
                content,
                self_closing: false,
            })
    })
}

/// How a character that needs escaping is written: by name, decimal or hex reference.
fn escape(text: &str, style: u8, in_attribute: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let special = matches!(c, '<' | '&')
            || (in_attribute && matches!(c, '"' | '\t' | '\n'))
            || c.is_ascii_control() && c != '\t' && c != '\n';
        if !special {
            out.push(c);
            continue;
        }
        match (style % 3, c) {
            (0, '<') => out.push_str("&lt;"),
            (0, '&') => out.push_str("&amp;"),
            (0, '"') => out.push_str("&quot;"),
            (1, c) => out.push_str(&format!("&#{};", u32::from(c))),
            (_, c) => out.push_str(&format!("&#x{:X};", u32::from(c))),
        }
    }
    out
}

fn write(element: &Element, style: u8, out: &mut String) {
    out.push('<');
    out.push_str(&element.name);
    for (name, value) in &element.attributes {
        let space = if style.is_multiple_of(2) { " " } else { "\n  " };
        out.push_str(&format!("{space}{name}=\"{}\"", escape(value, style, true)));
    }
    if element.content.is_empty() && element.self_closing {
        out.push_str(if style.is_multiple_of(2) { "/>" } else { " />" });
        return;
    }
    out.push('>');
    for part in &element.content {
        match part {
            Content::Text(text) => out.push_str(&escape(text, style, false)),
            Content::CData(text) => out.push_str(&format!("<![CDATA[{text}]]>")),
            Content::Comment(text) => out.push_str(&format!("<!--{text}-->")),
            Content::Pi(target) => out.push_str(&format!("<?p{target} data?>")),
            Content::Child(child) => write(child, style.wrapping_add(1), out),
        }
    }
    out.push_str(&format!("</{}>", element.name));
}

/// What `raw_text` must show for the element: text and CDATA joined, comments and PIs gone.
fn expected(element: &Element) -> Value {
    let mut object = Map::new();
    if !element.attributes.is_empty() {
        object.insert("attributes".into(), json!(element.attributes));
    }
    let text: String = element
        .content
        .iter()
        .filter_map(|part| match part {
            Content::Text(text) | Content::CData(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let children: Vec<Value> = element
        .content
        .iter()
        .filter_map(|part| match part {
            Content::Child(child) => Some(expected(child)),
            _ => None,
        })
        .collect();
    if !children.is_empty() {
        object.insert("children".into(), Value::Array(children));
    }
    object.insert("name".into(), json!(element.name));
    if !text.is_empty() {
        object.insert("text".into(), json!(text));
    }
    Value::Object(object)
}

/// A JSON value with every kind of scalar, odd strings included.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,8}|[\u{0}-\u{1F}\"\\\\]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\u{4E00}-\u{4E05}]{0,3}", inner, 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn json_record() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("id|a|b|x|c|[a-z]{1,3}", json_value(), 0..5)
        .prop_map(|members| Value::Object(members.into_iter().collect()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn odd_but_valid_xml_reads_back_as_its_model(
        cases in prop::collection::vec(element(), 0..4),
        style in any::<u8>(),
        declaration in any::<bool>(),
    ) {
        let mut text = String::new();
        if declaration {
            text.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- export -->\n");
        }
        text.push_str("<R>\n");
        let mut wanted = Vec::new();
        for (index, case) in cases.iter().enumerate() {
            let mut case = case.clone();
            case.name = "C".into();
            case.attributes.insert("id".into(), format!("K-{index}"));
            write(&case, style, &mut text);
            text.push_str("\n  ");
            wanted.push(expected(&case));
        }
        text.push_str("</R>\n");
        let read = read_and_map("xml", text.as_bytes(), &ReadLimits::default())?;
        if cases.is_empty() {
            return Ok(()); // no records is an error, checked in read_and_map
        }
        prop_assert_eq!(read.len(), cases.len(), "{}", text);
        for (record, wanted) in read.iter().zip(&wanted) {
            let raw: Value = serde_json::from_str(&record.raw_text()).unwrap();
            prop_assert_eq!(&raw["record"], wanted, "{}", text);
        }
    }

    #[test]
    fn odd_but_valid_json_and_jsonl_read_back_as_their_values(
        records in prop::collection::vec(json_record(), 0..5),
        pretty in any::<bool>(),
    ) {
        let document = json!({ "meta": {"cases": "not these"}, "cases": records });
        let text = if pretty {
            serde_json::to_string_pretty(&document).unwrap()
        } else {
            document.to_string()
        };
        let read = read_and_map("json", text.as_bytes(), &ReadLimits::default())?;
        prop_assert_eq!(read.len(), records.len());
        let lines: String = records.iter().map(|record| format!("{record}\n\n")).collect();
        let read_lines = read_and_map("jsonl", lines.as_bytes(), &ReadLimits::default())?;
        prop_assert_eq!(read_lines.len(), records.len());
        for ((record, line), wanted) in read.iter().zip(&read_lines).zip(&records) {
            let raw: Value = serde_json::from_str(&record.raw_text()).unwrap();
            prop_assert_eq!(&raw["record"], wanted);
            let raw: Value = serde_json::from_str(&line.raw_text()).unwrap();
            prop_assert_eq!(&raw["record"], wanted);
        }
    }

    #[test]
    fn odd_but_valid_csv_never_panics_and_round_trips(
        rows in prop::collection::vec(prop::collection::vec("[a-z,\"\n 中\u{0}]{0,5}", 5), 0..6),
        crlf in any::<bool>(),
    ) {
        let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("id,a,b,x,c{end}");
        for row in &rows {
            text.push_str(&row.iter().map(|field| quote(field)).collect::<Vec<_>>().join(","));
            text.push_str(end);
        }
        read_and_map("csv", text.as_bytes(), &ReadLimits::default())?;
        read_and_map("csv", text.as_bytes(), &small_limits())?;
    }
}
