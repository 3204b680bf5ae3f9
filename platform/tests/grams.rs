//! The gram index (issue 10) against brute force: any feed of upserts, newer versions, stale
//! versions and retractions, then any substring search (`q` or `counterparty`, one to four
//! characters, with or without a category and dates), paged through by cursor in small pages,
//! finds exactly the records in force that a scan in Rust finds, in result order, with the
//! right total. On SQLite and on Postgres, and with the walk window at its default and at one
//! entry (so the searches that do not go through the grams take every path too).

mod common;

use common::{proptest_config, record, Feed, TestDb};
use dhub_platform::{SearchQuery, View};
use proptest::prelude::*;
use serde_json::Value;

/// Few characters, so that grams repeat across records and within one text, and a search has
/// many matches on one date (more than a page).
const ALPHABET: &[&str] = &["张某", "张", "2", "0", "a", "%"];
const AGENCIES: &[&str] = &["茌平区财政局", "东阿县市场监督管理局", "某鑫源局"];
/// Few dates, so that many records share one (the order within a date is by record_id), two of
/// them in one month (the index is read month by month).
const DATES: &[&str] = &["2021-05-01", "2024-01-01", "2024-01-31", "2026-06-30", ""];
const CATEGORIES: &[&str] = &["penalty", "licensing"];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET.to_vec()), 0..=max)
        .prop_map(|pieces| pieces.concat())
}

#[derive(Debug, Clone)]
struct Fields {
    counterparty: String,
    document_no: String,
    agency: usize,
    date: usize,
    category: usize,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        text(7),
        text(7),
        0..AGENCIES.len(),
        0..DATES.len(),
        0..CATEGORIES.len(),
    )
        .prop_map(
            |(counterparty, document_no, agency, date, category)| Fields {
                counterparty,
                document_no,
                agency,
                date,
                category,
            },
        )
}

/// What happens to record n after its first version.
#[derive(Debug, Clone)]
enum Then {
    Nothing,
    /// Version 2 with new fields.
    Update(Fields),
    /// Version 2 with new fields, then a late version 1 that must not win.
    UpdateThenStale(Fields, Fields),
    /// Retracted at version 2.
    Retract,
    /// Retracted, then an older upsert that must not bring it back.
    RetractThenStale(Fields),
}

fn then() -> impl Strategy<Value = Then> {
    prop_oneof![
        3 => Just(Then::Nothing),
        2 => fields().prop_map(Then::Update),
        1 => (fields(), fields()).prop_map(|(a, b)| Then::UpdateThenStale(a, b)),
        1 => Just(Then::Retract),
        1 => fields().prop_map(Then::RetractThenStale),
    ]
}

#[derive(Debug, Clone)]
struct Search {
    needle: String,
    counterparty_only: bool,
    category: Option<usize>,
    from: Option<usize>,
    to: Option<usize>,
    limit: u32,
}

fn search() -> impl Strategy<Value = Search> {
    (
        prop::collection::vec(prop::sample::select(ALPHABET.to_vec()), 1..=4),
        any::<bool>(),
        prop::option::of(0..CATEGORIES.len()),
        prop::option::of(0..DATES.len() - 1),
        prop::option::of(0..DATES.len() - 1),
        1u32..6,
    )
        .prop_map(
            |(needle, counterparty_only, category, from, to, limit)| Search {
                needle: needle.concat(),
                counterparty_only,
                category,
                from,
                to,
                limit,
            },
        )
}

fn json(n: usize, version: i64, f: &Fields) -> Value {
    let mut value = record(
        &format!("r{n}"),
        version,
        &f.counterparty,
        &f.document_no,
        AGENCIES[f.agency],
        DATES[f.date],
        CATEGORIES[f.category],
    );
    let record = value.as_object_mut().unwrap();
    for (key, empty) in [
        ("decided_on", DATES[f.date].is_empty()),
        ("document_no", f.document_no.is_empty()),
    ] {
        if empty {
            record.remove(key);
        }
    }
    if f.counterparty.is_empty() {
        record.remove("counterparty");
    }
    value
}

async fn load(view: &View, first: &[Fields], then: &[Then]) {
    let mut feed = Feed::new(0);
    let batch: Vec<_> = first
        .iter()
        .enumerate()
        .map(|(n, f)| feed.upsert(&json(n, 1, f)))
        .collect();
    view.apply(&batch).await.unwrap();
    // The changes in two batches: the second holds the stale envelopes, after what they lose to.
    let (mut changes, mut stale) = (Vec::new(), Vec::new());
    for (n, then) in then.iter().enumerate().take(first.len()) {
        match then {
            Then::Nothing => {}
            Then::Update(f) => changes.push(feed.upsert(&json(n, 2, f))),
            Then::UpdateThenStale(f, old) => {
                changes.push(feed.upsert(&json(n, 2, f)));
                stale.push(feed.upsert(&json(n, 1, old)));
            }
            Then::Retract => changes.push(feed.retract(&format!("r{n}"), 2)),
            Then::RetractThenStale(old) => {
                changes.push(feed.retract(&format!("r{n}"), 2));
                stale.push(feed.upsert(&json(n, 1, old)));
            }
        }
    }
    view.apply(&changes).await.unwrap();
    view.apply(&stale).await.unwrap();
}

/// The records in force that `search` matches, in result order, by a scan in Rust over what
/// the view holds.
async fn scan(view: &View, search: &Search) -> Vec<String> {
    let needle = search.needle.to_lowercase();
    let mut matches: Vec<(String, String)> = Vec::new();
    for id in view.visible_ids().await.unwrap() {
        let record = view.get(&id).await.unwrap().unwrap();
        let field = |path: &[&str]| {
            let mut value = &record;
            for key in path {
                value = &value[*key];
            }
            value.as_str().unwrap_or_default().to_lowercase()
        };
        let counterparty = field(&["counterparty", "name"]);
        let texts = if search.counterparty_only {
            vec![counterparty]
        } else {
            vec![
                counterparty,
                field(&["document_no"]),
                field(&["agency", "name"]),
            ]
        };
        let date = field(&["decided_on"]);
        let found = texts.iter().any(|t| t.contains(&needle))
            && search
                .category
                .is_none_or(|c| field(&["category"]) == CATEGORIES[c])
            && search
                .from
                .is_none_or(|f| !date.is_empty() && date.as_str() >= DATES[f])
            && search
                .to
                .is_none_or(|t| !date.is_empty() && date.as_str() <= DATES[t]);
        if found {
            matches.push((date, id));
        }
    }
    matches.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    matches.into_iter().map(|(_, id)| id).collect()
}

/// Every page of `search`, following `next`, and the first page's total.
async fn paged(view: &View, search: &Search) -> (Vec<String>, u64) {
    let mut params = vec![
        (
            if search.counterparty_only {
                "counterparty"
            } else {
                "q"
            }
            .to_owned(),
            search.needle.clone(),
        ),
        ("limit".to_owned(), search.limit.to_string()),
    ];
    if let Some(c) = search.category {
        params.push(("category".to_owned(), CATEGORIES[c].to_owned()));
    }
    let (from, to) = match (search.from, search.to) {
        (Some(f), Some(t)) => (Some(f.min(t)), Some(f.max(t))),
        other => other,
    };
    if let Some(f) = from {
        params.push(("from".to_owned(), DATES[f].to_owned()));
    }
    if let Some(t) = to {
        params.push(("to".to_owned(), DATES[t].to_owned()));
    }
    let mut found = Vec::new();
    let mut total = None;
    let mut after: Option<String> = None;
    loop {
        let mut params = params.clone();
        if let Some(after) = &after {
            params.push(("after".to_owned(), after.clone()));
        }
        let query = SearchQuery::from_params(&params).unwrap();
        let result = view
            .search(&query)
            .await
            .unwrap_or_else(|e| panic!("{search:?}: {e}"));
        total.get_or_insert(result.total);
        found.extend(
            result
                .records
                .iter()
                .map(|r| r["record_id"].as_str().unwrap().to_owned()),
        );
        assert!(found.len() <= 10_000, "{search:?}: pages do not end");
        match result.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    (found, total.unwrap_or_default())
}

fn index_matches_a_scan(db: TestDb, first: Vec<Fields>, then: Vec<Then>, searches: Vec<Search>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let opened = db.view().await;
        load(&opened, &first, &then).await;
        for (n, search) in searches.iter().enumerate() {
            let view = if n % 2 == 0 {
                opened.clone()
            } else {
                opened.clone().with_walk_window(1)
            };
            let mut search = search.clone();
            if let (Some(f), Some(t)) = (search.from, search.to) {
                (search.from, search.to) = (Some(f.min(t)), Some(f.max(t)));
            }
            let expected = scan(&view, &search).await;
            let (found, total) = paged(&view, &search).await;
            assert_eq!(found, expected, "{search:?}");
            assert_eq!(total, expected.len() as u64, "{search:?}");
        }
        opened.close().await;
    });
}

proptest! {
    #![proptest_config(proptest_config(16))]

    #[test]
    fn the_gram_index_finds_what_a_scan_finds_on_sqlite(
        first in prop::collection::vec(fields(), 1..60),
        then in prop::collection::vec(then(), 60),
        searches in prop::collection::vec(search(), 12),
    ) {
        index_matches_a_scan(TestDb::sqlite(), first, then, searches);
    }
}

proptest! {
    #![proptest_config(proptest_config(6))]

    #[test]
    fn the_gram_index_finds_what_a_scan_finds_on_postgres(
        first in prop::collection::vec(fields(), 1..60),
        then in prop::collection::vec(then(), 60),
        searches in prop::collection::vec(search(), 12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let db = runtime.block_on(TestDb::postgres());
        drop(runtime);
        index_matches_a_scan(db, first, then, searches);
    }
}

/// Regression: a gram stream reads one date's postings in key order, not record_id order. More
/// matches on one date than a page must still come out in record_id order, none left out.
#[tokio::test]
async fn many_matches_on_one_date_page_in_record_id_order() {
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        let view = db.view().await;
        let same = Fields {
            counterparty: "张某".into(),
            document_no: "20".into(),
            agency: 0,
            date: 1,
            category: 0,
        };
        load(&view, &vec![same; 25], &[]).await;
        for counterparty_only in [true, false] {
            let search = Search {
                needle: "张某".into(),
                counterparty_only,
                category: None,
                from: None,
                to: None,
                limit: 2,
            };
            let expected = scan(&view, &search).await;
            assert_eq!(expected.len(), 25);
            assert_eq!(paged(&view, &search).await, (expected, 25));
        }
        view.close().await;
    }
}

/// Grams too common to count (more than 5,000 postings each, none in the newest three months)
/// are told apart by how far back their newest postings reach before one is picked to drive the
/// search; the search finds the same either way.
#[tokio::test]
async fn grams_too_common_to_count_are_told_apart_by_how_far_back_they_reach() {
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        let view = db.view().await;
        let mut feed = Feed::new(0);
        let mut n = 0;
        let dates = [
            ("2022-03-01", 5_200),
            ("2026-04-30", 10),
            ("2026-05-30", 10),
            ("2026-06-30", 10),
        ];
        for (date, count) in dates {
            let batch: Vec<_> = (0..count)
                .map(|i| {
                    n += 1;
                    let document_no = if date.starts_with("2022") {
                        format!("罚〔2022〕{}号", 500 + i % 3)
                    } else {
                        format!("罚〔2026〕{i}号")
                    };
                    feed.upsert(&record(
                        &format!("t{n:05}"),
                        1,
                        "某商贸有限公司",
                        &document_no,
                        "茌平区财政局",
                        date,
                        "penalty",
                    ))
                })
                .collect();
            view.apply(&batch).await.unwrap();
        }
        let query = SearchQuery::from_params(&[("q".into(), "22〕5".into())]).unwrap();
        let result = view.search(&query).await.unwrap();
        assert_eq!((result.total, result.total_exact), (1_000, false));
        assert_eq!(result.records.len(), 50);
        assert_eq!(result.records[0]["record_id"], "t00001");
        view.close().await;
    }
}

/// A term common in the newest records (over 5,000 postings in the newest three months) takes
/// its first page and capped total from the newest entries of the ordered index; later pages and
/// exact counts still go through the grams. Both agree with a scan.
#[tokio::test]
async fn a_term_common_in_the_newest_records_pages_alike_either_way() {
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        let view = db.view().await;
        let mut feed = Feed::new(0);
        let batch: Vec<_> = (0..5_100)
            .map(|i| {
                let date = if i % 100 == 7 {
                    "2025-01-01"
                } else {
                    "2026-06-30"
                };
                feed.upsert(&record(
                    &format!("c{i:05}"),
                    1,
                    "某商贸有限公司",
                    &format!("罚〔2026〕{i}号"),
                    "茌平区财政局",
                    date,
                    "penalty",
                ))
            })
            .collect();
        view.apply(&batch).await.unwrap();
        let search = Search {
            needle: "商贸有".into(),
            counterparty_only: false,
            category: None,
            from: None,
            to: None,
            limit: 500,
        };
        let first = SearchQuery::from_params(&[("q".into(), "商贸有".into())]).unwrap();
        let result = view.search(&first).await.unwrap();
        assert_eq!((result.total, result.total_exact), (1_000, false));
        assert_eq!(result.records[0]["record_id"], "c00000");
        let exact = SearchQuery::from_params(&[
            ("q".into(), "商贸有".into()),
            ("count".into(), "exact".into()),
        ])
        .unwrap();
        assert_eq!(view.search(&exact).await.unwrap().total, 5_100);
        let expected = scan(&view, &search).await;
        assert_eq!(paged(&view, &search).await.0, expected);
        view.close().await;
    }
}
