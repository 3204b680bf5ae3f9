//! Property tests over hostile input (issue 9), bounded for CI (`PROPTEST_CASES` raises them):
//!
//! - envelope parsing takes any bytes, and any JSON object of any field types, without panicking;
//!   an error names a field or position and never quotes the payload;
//! - the search API's parameters: any names and values parse or fail with an error naming the
//!   parameter, never echoing the value;
//! - searches with any text (LIKE wildcards, FTS5 syntax, quotes, SQL, control characters are
//!   refused before) run without a database error, and find exactly what a plain scan in Rust
//!   finds: no value ever reaches SQL as SQL.

mod common;

use common::{proptest_config, record, Feed, TestDb};
use dhub_platform::{Envelope, FeedMessage, SearchQuery, View};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Text a hostile producer or user might send: Chinese, ASCII, SQL, LIKE and FTS5 syntax.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "张",
        "某",
        "鑫源",
        "商贸",
        "有限公司",
        "罚",
        "〔2026〕",
        "号",
        "a",
        "B",
        "%",
        "_",
        "\\",
        "'",
        "\"",
        "*",
        "(",
        ")",
        ":",
        "^",
        "{",
        "}",
        "-",
        " ",
        "NEAR",
        "AND",
        "OR",
        "NOT",
        "' OR 1=1 --",
        "\"; DROP TABLE records; --",
        "$1",
        "?",
        "\u{FFFD}",
    ]);
    prop::collection::vec(pieces, 0..6).prop_map(|parts| parts.concat())
}

fn any_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        hostile_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(hostile_text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An envelope whose every field may be missing or of any type.
fn envelope_like() -> impl Strategy<Value = Value> {
    let field = |good: Value| {
        prop_oneof![
            3 => Just(Some(good)),
            1 => Just(None),
            1 => any_json(1).prop_map(Some),
        ]
    };
    (
        field(json!("disclosure.v1")),
        field(json!("upsert")),
        field(json!("oa:1")),
        field(json!(3)),
        field(json!({"record_id": "oa:1", "counterparty": {"name": "张某"}})),
        field(json!("revoked")),
    )
        .prop_map(|(schema, op, record_id, version, record, reason)| {
            let mut object = Map::new();
            for (name, value) in [
                ("schema", schema),
                ("op", op),
                ("record_id", record_id),
                ("version", version),
                ("record", record),
                ("reason", reason),
            ] {
                if let Some(value) = value {
                    object.insert(name.to_owned(), value);
                }
            }
            Value::Object(object)
        })
}

proptest! {
    #![proptest_config(proptest_config(512))]

    #[test]
    fn any_bytes_parse_or_fail_without_quoting_them(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let message = FeedMessage::new("t", 0, 0, None, bytes.clone());
        if let Err(error) = Envelope::from_message(&message) {
            let text = error.to_string();
            prop_assert!(!text.is_empty());
            // A run of the payload long enough to be content never shows up in the error.
            if let Ok(payload) = std::str::from_utf8(&bytes) {
                if payload.chars().count() >= 12 {
                    prop_assert!(!text.contains(payload), "{text}");
                }
            }
        }
    }

    #[test]
    fn any_envelope_shape_parses_or_names_the_field(envelope in envelope_like(), secret in "[\u{4e00}-\u{4e20}]{6,10}") {
        // A distinctive value planted in every string field must never reach the error text.
        let mut envelope = envelope;
        if let Some(object) = envelope.as_object_mut() {
            for value in object.values_mut() {
                if value.is_string() && value != "upsert" && value != "disclosure.v1" {
                    *value = json!(format!("{secret}{}", value.as_str().unwrap_or_default()));
                }
            }
        }
        match Envelope::parse(envelope.to_string().as_bytes()) {
            Ok(parsed) => {
                prop_assert!(!parsed.record_id.is_empty());
                prop_assert!(parsed.version >= 0);
            }
            Err(error) => {
                let text = error.to_string();
                prop_assert!(text.contains('`') || text.contains("key"), "no field named: {text}");
                prop_assert!(!text.contains(&secret), "{text}");
            }
        }
    }

    #[test]
    fn any_search_parameters_parse_or_name_the_parameter(
        pairs in prop::collection::vec(
            (prop::sample::select(vec![
                "q", "counterparty", "document_no", "agency", "category", "from", "to", "limit",
                "offset", "after", "count", "name", "Q", "",
            ]), hostile_text()),
            0..5,
        ),
        secret in "[\u{4e00}-\u{4e20}]{8}",
    ) {
        let params: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), format!("{value}{secret}")))
            .collect();
        if let Err(error) = SearchQuery::from_params(&params) {
            let text = error.to_string();
            prop_assert!(text.contains("query parameter `"), "{text}");
            prop_assert!(!text.contains(&secret), "{text}");
        }
    }
}

const NAMES: [&str; 8] = [
    "张某",
    "茌平县鑫源商贸有限公司",
    "100%纯净水厂",
    "O'Brien \"Trading\" Co",
    "a_b\\c*d",
    "NEAR(商贸 有限)",
    "东阿县恒泰建材厂",
    "鑫",
];

async fn corpus(view: &View) {
    let mut feed = Feed::new(0);
    let batch: Vec<_> = NAMES
        .iter()
        .enumerate()
        .map(|(n, name)| {
            feed.upsert(&record(
                &format!("f:{n}"),
                1,
                name,
                &format!("茌罚〔2026〕{n}号"),
                if n % 2 == 0 {
                    "茌平区财政局"
                } else {
                    "东阿县市场监督管理局"
                },
                "2026-01-01",
                "penalty",
            ))
        })
        .collect();
    view.apply(&batch).await.unwrap();
}

/// What a scan in Rust finds for `q` (counterparty, document number or agency) or a
/// counterparty filter, ASCII case folded as the view folds it.
fn expected(needle: &str, counterparty_only: bool) -> Vec<String> {
    let needle = needle.trim().to_lowercase();
    NAMES
        .iter()
        .enumerate()
        .filter(|(n, name)| {
            let agency = if n % 2 == 0 {
                "茌平区财政局"
            } else {
                "东阿县市场监督管理局"
            };
            let document_no = format!("茌罚〔2026〕{n}号");
            let fields = if counterparty_only {
                vec![name.to_lowercase()]
            } else {
                vec![
                    name.to_lowercase(),
                    document_no.to_lowercase(),
                    agency.to_lowercase(),
                ]
            };
            needle.is_empty() || fields.iter().any(|f| f.contains(&needle))
        })
        .map(|(n, _)| format!("f:{n}"))
        .collect()
}

fn search_matches_a_scan(db: TestDb, needles: Vec<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let opened = db.view().await;
        corpus(&opened).await;
        // Every search path: the walk alone (default window), or positions and candidates.
        for (n, needle) in needles.into_iter().enumerate() {
            let view = if n % 2 == 0 {
                opened.clone()
            } else {
                opened.clone().with_walk_window(1)
            };
            for counterparty_only in [false, true] {
                let params = vec![(
                    if counterparty_only {
                        "counterparty"
                    } else {
                        "q"
                    }
                    .to_owned(),
                    needle.clone(),
                )];
                let query = SearchQuery::from_params(&params).unwrap();
                let result = view
                    .search(&query)
                    .await
                    .unwrap_or_else(|e| panic!("search for {needle:?} failed: {e}"));
                let mut found: Vec<String> = result
                    .records
                    .iter()
                    .map(|r| r["record_id"].as_str().unwrap().to_owned())
                    .collect();
                found.sort();
                assert_eq!(found, expected(&needle, counterparty_only), "{needle:?}");
            }
        }
        opened.close().await;
    });
}

proptest! {
    #![proptest_config(proptest_config(8))]

    #[test]
    fn searches_with_hostile_text_find_what_a_scan_finds_on_sqlite(
        needles in prop::collection::vec(hostile_text(), 16)
    ) {
        search_matches_a_scan(TestDb::sqlite(), needles);
    }
}

proptest! {
    #![proptest_config(proptest_config(3))]

    #[test]
    fn searches_with_hostile_text_find_what_a_scan_finds_on_postgres(
        needles in prop::collection::vec(hostile_text(), 16)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let db = runtime.block_on(TestDb::postgres());
        drop(runtime);
        search_matches_a_scan(db, needles);
    }
}
