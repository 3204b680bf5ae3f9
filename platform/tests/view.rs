//! `View::apply` semantics and search, each scenario run on SQLite and on a fresh Postgres
//! database (`DHUB_TEST_POSTGRES`, default postgres://postgres@127.0.0.1:5432/postgres).

mod common;

use common::{record, simple, upsert_envelope, Feed, TestDb, TOPIC};
use dhub_platform::{ApplyStats, HeldVersion, PartitionOffset, SearchQuery, View, ViewStats};
use serde_json::json;

/// Runs each named scenario against both databases.
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let db = super::TestDb::sqlite();
                    let view = db.view().await;
                    super::$scenario(&view).await;
                    view.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let db = super::TestDb::postgres().await;
                    let view = db.view().await;
                    super::$scenario(&view).await;
                    view.close().await;
                }
            )*
        }
    };
}

on_both_databases!(
    out_of_order_versions_keep_the_highest,
    duplicates_are_idempotent_within_and_across_batches,
    retract_then_late_upsert_stays_withdrawn,
    republish_with_a_higher_version_after_retraction_is_visible_again,
    retract_of_an_unknown_record_leaves_a_tombstone,
    a_retraction_wins_a_tie_with_the_same_version,
    bad_envelopes_are_rejected_without_stopping_the_batch,
    partition_offsets_and_stats_are_recorded,
    search_matches_substrings_filters_and_pages,
    search_escapes_like_wildcards,
    an_envelope_the_database_refuses_is_rejected_alone,
    keyset_pages_walk_every_match_once,
    short_and_long_substrings_find_the_same_records_as_a_scan,
    more_matches_than_are_counted_cap_the_total_and_still_page_in_order,
    agency_and_text_searches_page_like_a_sorted_scan,
);

async fn out_of_order_versions_keep_the_highest(view: &View) {
    let mut feed = Feed::new(0);
    let stats = view
        .apply(&[
            feed.upsert(&simple("oa:1", 2)),
            feed.upsert(&simple("oa:1", 1)),
        ])
        .await
        .unwrap();
    assert_eq!(
        stats,
        ApplyStats {
            upserted: 1,
            stale: 1,
            ..ApplyStats::default()
        }
    );
    assert_eq!(view.get("oa:1").await.unwrap().unwrap()["version"], 2);

    let stats = view
        .apply(&[feed.upsert(&simple("oa:1", 3))])
        .await
        .unwrap();
    assert_eq!(stats.upserted, 1);
    let shown = view.get("oa:1").await.unwrap().unwrap();
    assert_eq!(shown["version"], 3);
    assert_eq!(shown["document_no"], "茌市监罚〔2026〕3号");
    assert_eq!(
        view.held("oa:1").await.unwrap(),
        Some(HeldVersion {
            version: 3,
            retracted: false
        })
    );
    assert_eq!(view.visible_ids().await.unwrap(), vec!["oa:1"]);
}

async fn duplicates_are_idempotent_within_and_across_batches(view: &View) {
    let mut feed = Feed::new(0);
    let first = feed.upsert(&simple("oa:1", 1));
    let mut redelivered = first.clone();
    redelivered.offset = 5;
    let stats = view
        .apply(&[first.clone(), feed.upsert(&simple("oa:2", 1)), redelivered])
        .await
        .unwrap();
    assert_eq!(stats.upserted, 2);
    assert_eq!(stats.duplicates, 1);

    // A whole batch delivered again (at least once, after a crash before the Kafka commit).
    let stats = view.apply(&[first.clone(), first]).await.unwrap();
    assert_eq!(
        stats,
        ApplyStats {
            duplicates: 2,
            ..ApplyStats::default()
        }
    );
    assert_eq!(view.visible_ids().await.unwrap(), vec!["oa:1", "oa:2"]);
    assert_eq!(view.stats().await.unwrap().visible, 2);
}

async fn retract_then_late_upsert_stays_withdrawn(view: &View) {
    let mut feed = Feed::new(0);
    view.apply(&[feed.upsert(&simple("oa:1", 1)), feed.retract("oa:1", 2)])
        .await
        .unwrap();
    assert_eq!(view.get("oa:1").await.unwrap(), None);
    assert!(view.visible_ids().await.unwrap().is_empty());

    // The version-1 upsert arrives again, late (another partition's replay, a redelivery).
    let stats = view
        .apply(&[feed.upsert(&simple("oa:1", 1))])
        .await
        .unwrap();
    assert_eq!(stats.stale, 1);
    assert_eq!(view.get("oa:1").await.unwrap(), None);
    assert_eq!(
        view.held("oa:1").await.unwrap(),
        Some(HeldVersion {
            version: 2,
            retracted: true
        })
    );
    // Neither is a retraction's duplicate a change.
    let stats = view.apply(&[feed.retract("oa:1", 2)]).await.unwrap();
    assert_eq!(stats.duplicates, 1);
    let result = view.search(&SearchQuery::default()).await.unwrap();
    assert_eq!(result.total, 0);
    let stats = view.stats().await.unwrap();
    assert_eq!((stats.visible, stats.tombstones), (0, 1));
}

async fn republish_with_a_higher_version_after_retraction_is_visible_again(view: &View) {
    let mut feed = Feed::new(0);
    view.apply(&[feed.upsert(&simple("oa:1", 1)), feed.retract("oa:1", 2)])
        .await
        .unwrap();
    let redecided = record(
        "oa:1",
        3,
        "茌平某商贸有限公司",
        "茌市监罚〔2026〕9号",
        "茌平区市场监督管理局",
        "2026-04-01",
        "penalty",
    );
    let stats = view.apply(&[feed.upsert(&redecided)]).await.unwrap();
    assert_eq!(stats.upserted, 1);
    let shown = view.get("oa:1").await.unwrap().unwrap();
    assert_eq!(shown, redecided);
    // The search columns come back with the record.
    let query = SearchQuery {
        document_no: Some("茌市监罚〔2026〕9号".into()),
        ..SearchQuery::default()
    };
    assert_eq!(view.search(&query).await.unwrap().total, 1);
    let stats = view.stats().await.unwrap();
    assert_eq!((stats.visible, stats.tombstones), (1, 0));
}

async fn retract_of_an_unknown_record_leaves_a_tombstone(view: &View) {
    let mut feed = Feed::new(0);
    // The retraction overtook the upsert (e.g. the platform subscribed after the upsert's
    // retention ran out, or they were reordered across a re-partitioning).
    let stats = view.apply(&[feed.retract("oa:7", 4)]).await.unwrap();
    assert_eq!(stats.retracted, 1);
    let stats = view
        .apply(&[feed.upsert(&simple("oa:7", 3))])
        .await
        .unwrap();
    assert_eq!(stats.stale, 1);
    assert_eq!(view.get("oa:7").await.unwrap(), None);
    assert_eq!(view.stats().await.unwrap().tombstones, 1);
}

async fn a_retraction_wins_a_tie_with_the_same_version(view: &View) {
    let mut feed = Feed::new(0);
    view.apply(&[feed.upsert(&simple("oa:1", 3)), feed.retract("oa:1", 3)])
        .await
        .unwrap();
    assert_eq!(view.get("oa:1").await.unwrap(), None);
    // And in the other order the upsert does not undo it.
    view.apply(&[feed.retract("oa:2", 3), feed.upsert(&simple("oa:2", 3))])
        .await
        .unwrap();
    assert_eq!(view.get("oa:2").await.unwrap(), None);
}

async fn bad_envelopes_are_rejected_without_stopping_the_batch(view: &View) {
    let mut feed = Feed::new(2);
    let pii = "张三 110101199003077777 13812345678";
    let mut unknown_op = upsert_envelope(&simple("oa:9", 1));
    unknown_op["op"] = json!("delete");
    let mut missing_id = upsert_envelope(&simple("oa:9", 1));
    missing_id.as_object_mut().unwrap().remove("record_id");
    let mut bad_version = upsert_envelope(&simple("oa:9", 1));
    bad_version["version"] = json!(pii);

    let batch = vec![
        feed.raw(
            Some("oa:9"),
            format!("{{\"record_id\":\"{pii}\",").as_bytes(),
        ),
        feed.upsert(&simple("oa:1", 1)),
        feed.envelope(&unknown_op),
        feed.raw(None, missing_id.to_string().as_bytes()),
        feed.raw(Some("oa:9"), bad_version.to_string().as_bytes()),
        feed.raw(
            Some("oa:8"),
            upsert_envelope(&simple("oa:9", 1)).to_string().as_bytes(),
        ),
        feed.raw(Some("oa:9"), b""),
        feed.upsert(&simple("oa:2", 1)),
    ];
    let stats = view.apply(&batch).await.unwrap();
    assert_eq!(stats.rejected, 6);
    assert_eq!(stats.upserted, 2);
    assert_eq!(view.visible_ids().await.unwrap(), vec!["oa:1", "oa:2"]);

    let rejected = view.rejected().await.unwrap();
    let offsets: Vec<i64> = rejected.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 2, 3, 4, 5, 6]);
    assert!(rejected
        .iter()
        .all(|r| r.topic == TOPIC && r.partition == 2));
    assert!(
        rejected[0].error.contains("not valid JSON"),
        "{}",
        rejected[0].error
    );
    assert!(rejected[1].error.contains("`op`"));
    assert!(rejected[2].error.contains("`record_id`"));
    assert!(rejected[3].error.contains("`version`"));
    assert!(rejected[4].error.contains("key"));
    assert!(rejected[5].error.contains("no value"));
    for entry in &rejected {
        for fragment in ["张三", "110101", "13812345678"] {
            assert!(!entry.error.contains(fragment), "{}", entry.error);
        }
    }

    // Redelivered, the same bad messages are not recorded twice.
    let stats = view.apply(&batch).await.unwrap();
    assert_eq!(stats.rejected, 6);
    assert_eq!(view.rejected().await.unwrap().len(), 6);
    assert_eq!(view.stats().await.unwrap().rejected, 6);
}

async fn partition_offsets_and_stats_are_recorded(view: &View) {
    let mut p0 = Feed::new(0);
    let mut p1 = Feed::new(1);
    let batch = vec![
        p0.upsert(&simple("oa:1", 1)),
        p1.upsert(&simple("oa:2", 1)),
        p0.upsert(&simple("oa:3", 1)),
        p1.retract("oa:2", 2),
        p1.raw(Some("oa:4"), b"not json"),
    ];
    view.apply(&batch).await.unwrap();
    // An older batch applied again does not lower the recorded offset.
    view.apply(&batch[..1]).await.unwrap();
    let stats = view.stats().await.unwrap();
    assert_eq!(
        stats,
        ViewStats {
            visible: 2,
            tombstones: 1,
            rejected: 1,
            partitions: vec![
                PartitionOffset {
                    topic: TOPIC.into(),
                    partition: 0,
                    last_offset: 1
                },
                PartitionOffset {
                    topic: TOPIC.into(),
                    partition: 1,
                    last_offset: 2
                },
            ],
        }
    );
}

/// Five records across agencies, counterparties, dates and categories.
async fn seed_search(view: &View) {
    let mut feed = Feed::new(0);
    let records = [
        record(
            "s:1",
            1,
            "茌平某商贸有限公司",
            "茌市监罚〔2026〕1号",
            "茌平区市场监督管理局",
            "2026-01-10",
            "penalty",
        ),
        record(
            "s:2",
            1,
            "张某",
            "茌财罚〔2026〕2号",
            "茌平区财政局",
            "2026-02-20",
            "penalty",
        ),
        record(
            "s:3",
            1,
            "Acme Trading Co",
            "茌市监许〔2026〕3号",
            "茌平区市场监督管理局",
            "2026-03-05",
            "licensing",
        ),
        record(
            "s:4",
            1,
            "聊城某建材厂",
            "聊环罚〔2025〕44号",
            "聊城市生态环境局",
            "2025-12-31",
            "penalty",
        ),
        record(
            "s:5",
            1,
            "茌平某餐饮店",
            "茌市监检〔2026〕5号",
            "茌平区市场监督管理局",
            "not a date",
            "inspection",
        ),
    ];
    let batch: Vec<_> = records.iter().map(|r| feed.upsert(r)).collect();
    view.apply(&batch).await.unwrap();
}

fn ids(result: &dhub_platform::SearchResult) -> Vec<&str> {
    result
        .records
        .iter()
        .map(|r| r["record_id"].as_str().unwrap())
        .collect()
}

async fn search_matches_substrings_filters_and_pages(view: &View) {
    seed_search(view).await;
    let search = |query: SearchQuery| async move { view.search(&query).await.unwrap() };

    // Everything, newest decision first, the undated record last.
    let all = search(SearchQuery::default()).await;
    assert_eq!(all.total, 5);
    assert_eq!(ids(&all), vec!["s:3", "s:2", "s:1", "s:4", "s:5"]);

    // q: counterparty, document number or agency, substring.
    let by_agency = search(SearchQuery {
        text: Some("市场监督".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&by_agency), vec!["s:3", "s:1", "s:5"]);
    let by_document = search(SearchQuery {
        text: Some("〔2025〕".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&by_document), vec!["s:4"]);
    let by_counterparty = search(SearchQuery {
        text: Some("张某".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&by_counterparty), vec!["s:2"]);
    // ASCII case does not matter.
    let folded = search(SearchQuery {
        text: Some("acme TRADING".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&folded), vec!["s:3"]);

    // Field filters, ANDed.
    let query = SearchQuery {
        agency: Some("茌平区市场监督管理局".into()),
        category: Some("penalty".into()),
        ..Default::default()
    };
    assert_eq!(ids(&search(query).await), vec!["s:1"]);
    let query = SearchQuery {
        counterparty: Some("某".into()),
        ..Default::default()
    };
    assert_eq!(search(query).await.total, 4);
    // document_no is exact.
    let query = SearchQuery {
        document_no: Some("茌财罚〔2026〕2号".into()),
        ..Default::default()
    };
    assert_eq!(ids(&search(query).await), vec!["s:2"]);
    let query = SearchQuery {
        document_no: Some("茌财罚".into()),
        ..Default::default()
    };
    assert_eq!(search(query).await.total, 0);

    // Date range, inclusive at both ends; an undated record never matches a bound.
    let query = SearchQuery {
        decided_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 10),
        decided_to: chrono::NaiveDate::from_ymd_opt(2026, 2, 20),
        ..Default::default()
    };
    assert_eq!(ids(&search(query).await), vec!["s:2", "s:1"]);
    let query = SearchQuery {
        decided_to: chrono::NaiveDate::from_ymd_opt(2025, 12, 31),
        ..Default::default()
    };
    assert_eq!(ids(&search(query).await), vec!["s:4"]);

    // Pages: the total counts all matches, the page holds `limit` of them.
    let page = search(SearchQuery {
        limit: 2,
        offset: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(page.total, 5);
    assert_eq!(ids(&page), vec!["s:1", "s:4"]);
    let past_the_end = search(SearchQuery {
        offset: 10,
        ..Default::default()
    })
    .await;
    assert_eq!((past_the_end.total, past_the_end.records.len()), (5, 0));
}

async fn search_escapes_like_wildcards(view: &View) {
    let mut feed = Feed::new(0);
    view.apply(&[
        feed.upsert(&record(
            "w:1",
            1,
            "100%纯净水厂",
            "罚_1",
            "局",
            "2026-01-01",
            "penalty",
        )),
        feed.upsert(&record(
            "w:2",
            1,
            "纯净水厂",
            "罚21",
            "局",
            "2026-01-01",
            "penalty",
        )),
    ])
    .await
    .unwrap();
    let query = SearchQuery {
        text: Some("%".into()),
        ..Default::default()
    };
    assert_eq!(ids(&view.search(&query).await.unwrap()), vec!["w:1"]);
    let query = SearchQuery {
        text: Some("罚_".into()),
        ..Default::default()
    };
    assert_eq!(ids(&view.search(&query).await.unwrap()), vec!["w:1"]);
}

/// Two appliers race with interleaved versions of the same records, each through its own view
/// (as two platform processes on one database would, with no lock shared in memory); whatever
/// the interleaving, each record ends at its highest version.
async fn concurrent_appliers_never_move_a_record_backwards(db: &TestDb) {
    let mut evens = Feed::new(0);
    let mut odds = Feed::new(1);
    let even_batches: Vec<_> = (1..=60)
        .filter(|v| v % 2 == 0)
        .map(|v| {
            vec![
                evens.upsert(&simple("c:1", v)),
                evens.upsert(&simple("c:2", v)),
            ]
        })
        .collect();
    let odd_batches: Vec<_> = (1..=60)
        .filter(|v| v % 2 == 1)
        .map(|v| {
            vec![
                odds.upsert(&simple("c:1", v)),
                odds.upsert(&simple("c:2", v)),
            ]
        })
        .collect();
    let first_view = db.view().await;
    let second_view = db.view().await;
    let first = tokio::spawn(async move {
        for batch in even_batches.iter().rev() {
            first_view.apply(batch).await.unwrap();
        }
        first_view
    });
    let second = tokio::spawn(async move {
        for batch in &odd_batches {
            second_view.apply(batch).await.unwrap();
        }
        second_view
    });
    let first_view = first.await.unwrap();
    let second_view = second.await.unwrap();
    for id in ["c:1", "c:2"] {
        assert_eq!(first_view.get(id).await.unwrap().unwrap()["version"], 60);
    }
    first_view.close().await;
    second_view.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appliers_on_sqlite_never_move_a_record_backwards() {
    concurrent_appliers_never_move_a_record_backwards(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appliers_on_postgres_never_move_a_record_backwards() {
    concurrent_appliers_never_move_a_record_backwards(&TestDb::postgres().await).await;
}

#[tokio::test]
async fn reopening_a_view_keeps_its_contents_and_runs_no_migration_twice() {
    let db = TestDb::sqlite();
    let view = db.view().await;
    let mut feed = Feed::new(0);
    view.apply(&[feed.upsert(&simple("oa:1", 1)), feed.retract("oa:2", 2)])
        .await
        .unwrap();
    view.close().await;
    let reopened = db.view().await;
    assert_eq!(reopened.visible_ids().await.unwrap(), vec!["oa:1"]);
    assert_eq!(reopened.stats().await.unwrap().tombstones, 1);
    reopened.close().await;
}

#[tokio::test]
async fn reopening_a_postgres_view_runs_no_migration_twice() {
    let db = TestDb::postgres().await;
    let view = db.view().await;
    view.apply(&[Feed::new(0).upsert(&simple("oa:1", 1))])
        .await
        .unwrap();
    view.close().await;
    let reopened = db.view().await;
    assert_eq!(reopened.visible_ids().await.unwrap(), vec!["oa:1"]);
    reopened.close().await;
}

#[tokio::test]
async fn an_in_memory_view_works_across_calls() {
    let view = View::open("sqlite::memory:").await.unwrap();
    view.apply(&[Feed::new(0).upsert(&simple("oa:1", 1))])
        .await
        .unwrap();
    assert_eq!(view.visible_ids().await.unwrap(), vec!["oa:1"]);
}

#[tokio::test]
async fn a_closed_view_reports_an_error_instead_of_panicking() {
    let db = TestDb::sqlite();
    let view = db.view().await;
    view.close().await;
    let err = view
        .apply(&[Feed::new(0).upsert(&simple("oa:1", 1))])
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("view database: could not"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_postgres_is_an_error_without_the_password() {
    let err = View::open("postgres://platform:hunter2@127.0.0.1:1/view")
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// Regression: two processes opening a new SQLite view at once raced to create its tables, and one
/// failed with "table already exists".
#[tokio::test]
async fn concurrent_first_opens_of_one_sqlite_view_all_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("view.db").display());
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { View::open(&url).await.map(|_| ()) })
            })
            .collect();
        for open in opens {
            open.await.unwrap().unwrap();
        }
    }
}

/// Issue 9: a NUL character (Postgres refuses it in text) or a document number too long for an
/// index row must not make the consumer retry its whole batch forever. The batch is applied,
/// the one envelope is rejected with a reason that names no value, and the next batch takes the
/// fast path again. SQLite stores both values, so there they are simply applied.
async fn an_envelope_the_database_refuses_is_rejected_alone(view: &View) {
    let mut feed = Feed::new(0);
    let with_nul = record(
        "n:2",
        1,
        "茌平某\u{0}商贸有限公司",
        "茌市监罚〔2026〕2号",
        "茌平区市场监督管理局",
        "2026-01-02",
        "penalty",
    );
    // Varied characters, so that Postgres cannot compress the value below its index row limit.
    let huge_document_no: String = (0..4_000u32)
        .map(|n| char::from_u32(0x4e00 + (n * 7_919) % 20_000).unwrap())
        .collect();
    let too_large = record(
        "n:3",
        1,
        "茌平某超长文号公司",
        &huge_document_no,
        "茌平区市场监督管理局",
        "2026-01-03",
        "penalty",
    );
    let batch = vec![
        feed.upsert(&simple("n:1", 1)),
        feed.upsert(&with_nul),
        feed.upsert(&too_large),
        feed.upsert(&simple("n:4", 1)),
        feed.retract("n:1", 2),
    ];
    let stats = view.apply(&batch).await.unwrap();
    let postgres = view.backend() == dhub_platform::Backend::Postgres;
    let refused = if postgres { 2 } else { 0 };
    assert_eq!(
        stats,
        ApplyStats {
            upserted: 4 - refused,
            retracted: 1,
            rejected: refused,
            ..ApplyStats::default()
        }
    );
    assert!(view
        .visible_ids()
        .await
        .unwrap()
        .contains(&"n:4".to_owned()));
    assert_eq!(view.get("n:1").await.unwrap(), None);
    let rejected = view.rejected().await.unwrap();
    assert_eq!(rejected.len() as u64, refused);
    for message in &rejected {
        assert!(
            message.error.contains("refused to store"),
            "{}",
            message.error
        );
        assert!(
            !message.error.contains("商贸") && !message.error.contains(&huge_document_no[..30])
        );
    }
    if postgres {
        assert_eq!(
            rejected.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(view.get("n:2").await.unwrap(), None);
    } else {
        assert!(view.get("n:2").await.unwrap().is_some());
    }
    assert_eq!(view.stats().await.unwrap().rejected, refused);

    // The next batch is applied as usual, and the counts stay right.
    let stats = view.apply(&[feed.upsert(&simple("n:5", 1))]).await.unwrap();
    assert_eq!(stats.upserted, 1);
    let counts = view.stats().await.unwrap();
    assert_eq!(counts.visible, if postgres { 2 } else { 4 });
    assert_eq!(counts.tombstones, 1);
}

/// Following `next` from the first page visits every match exactly once, in order, whichever
/// path (walk or candidates) serves each page.
async fn keyset_pages_walk_every_match_once(view: &View) {
    keyset_pages_with(view.clone()).await;
    // A window of 3 entries: pages come from the match positions or the sorted candidates.
    keyset_pages_with(view.clone().with_walk_window(3)).await;
}

async fn keyset_pages_with(view: View) {
    let view = &view;
    if view.visible_ids().await.unwrap().is_empty() {
        seed_keyset(view).await;
    }
    keyset_pages_check(view).await;
}

async fn seed_keyset(view: &View) {
    let mut feed = Feed::new(0);
    let mut batch = Vec::new();
    for n in 0..120 {
        // Dates repeat, so ties are broken by record_id across page boundaries; some undated.
        let date = if n % 17 == 0 {
            "unknown".to_owned()
        } else {
            format!("2026-0{}-1{}", 1 + n % 3, n % 5)
        };
        let name = if n % 3 == 0 {
            "茌平鑫源商贸有限公司"
        } else {
            "东阿县某建材厂"
        };
        batch.push(feed.upsert(&record(
            &format!("k:{n:03}"),
            1,
            name,
            &format!("罚〔2026〕{n}号"),
            "茌平区市场监督管理局",
            &date,
            "penalty",
        )));
    }
    view.apply(&batch).await.unwrap();
}

async fn keyset_pages_check(view: &View) {
    for (query, expected) in [
        (SearchQuery::default(), 120),
        (
            SearchQuery {
                counterparty: Some("鑫源商贸".into()),
                ..Default::default()
            },
            40,
        ),
        (
            SearchQuery {
                text: Some("鑫源".into()),
                ..Default::default()
            },
            40,
        ),
    ] {
        let all = view
            .search(&SearchQuery {
                limit: 500,
                ..query.clone()
            })
            .await
            .unwrap();
        assert_eq!(all.records.len(), expected);
        assert_eq!(all.next, None);
        let (paged, totals) = every_page(view, &query).await;
        assert!(totals.iter().all(|&t| t == (expected as u64, true)));
        let whole: Vec<_> = all.records.iter().map(|r| r["record_id"].clone()).collect();
        assert_eq!(paged, whole);
    }
}

/// Trigram indexes serve three characters or more; shorter substrings take another path. Both
/// must give what a plain scan gives, whatever the length.
async fn short_and_long_substrings_find_the_same_records_as_a_scan(view: &View) {
    let names = [
        "张某",
        "茌平县鑫源商贸有限公司",
        "鑫",
        "ab",
        "东阿县恒泰鑫源建材厂",
        "Acme Trading",
    ];
    let mut feed = Feed::new(0);
    let batch: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            feed.upsert(&record(
                &format!("t:{n}"),
                1,
                name,
                &format!("茌罚〔2026〕{n}号"),
                "茌平区财政局",
                "2026-01-01",
                "penalty",
            ))
        })
        .collect();
    view.apply(&batch).await.unwrap();
    // The default window (the walk serves everything) and a window of one entry (positions).
    for window in [20_000, 1] {
        let view = &view.clone().with_walk_window(window);
        for needle in [
            "鑫",
            "鑫源",
            "鑫源商",
            "张",
            "某",
            "ab",
            "b",
            "AB",
            "acme",
            "恒泰鑫源建材厂",
            "不存在",
        ] {
            let expected: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(_, name)| name.to_lowercase().contains(&needle.to_lowercase()))
                .map(|(n, _)| format!("t:{n}"))
                .collect();
            for query in [
                SearchQuery {
                    counterparty: Some(needle.into()),
                    ..Default::default()
                },
                SearchQuery {
                    text: Some(needle.into()),
                    ..Default::default()
                },
            ] {
                let mut found: Vec<String> = view
                    .search(&query)
                    .await
                    .unwrap()
                    .records
                    .iter()
                    .map(|r| r["record_id"].as_str().unwrap().to_owned())
                    .collect();
                found.sort();
                assert_eq!(found, expected, "{needle}");
            }
        }
    }
}

/// Past 1,000 matches the total is capped (unless `count=exact`), and with a tiny walk window the
/// page comes from the long walk: still the first matches in order, and `next` goes on.
async fn more_matches_than_are_counted_cap_the_total_and_still_page_in_order(view: &View) {
    let mut feed = Feed::new(0);
    // 1,100 of 1,200 match.
    let batch: Vec<_> = (0..1_200)
        .map(|n| {
            feed.upsert(&record(
                &format!("m:{n:04}"),
                1,
                if n % 12 == 0 {
                    "东阿县某建材厂"
                } else {
                    "茌平县鑫源商贸有限公司"
                },
                &format!("茌罚〔2026〕{n}号"),
                "茌平区财政局",
                &format!("2025-{:02}-{:02}", 1 + n % 12, 1 + n % 28),
                "penalty",
            ))
        })
        .collect();
    view.apply(&batch).await.unwrap();
    for window in [20_000, 1] {
        let view = view.clone().with_walk_window(window);
        for text in ["鑫源商贸", "鑫源"] {
            let query = SearchQuery {
                text: Some(text.into()),
                limit: 20,
                ..Default::default()
            };
            let first = view.search(&query).await.unwrap();
            assert_eq!(
                (first.total, first.total_exact),
                (1_000, false),
                "{text} {window}"
            );
            let exact = view
                .search(&SearchQuery {
                    exact_total: true,
                    ..query.clone()
                })
                .await
                .unwrap();
            assert_eq!(
                (exact.total, exact.total_exact),
                (1_100, true),
                "{text} {window}"
            );
            // The first page is the newest matches: December 2025, in record_id order.
            let dates: Vec<&str> = first
                .records
                .iter()
                .map(|r| r["decided_on"].as_str().unwrap())
                .collect();
            let mut sorted = dates.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(dates, sorted);
            assert!(dates[0].starts_with("2025-12"), "{dates:?}");
            let second = view
                .search(&SearchQuery {
                    after: dhub_platform::search::Cursor::decode(first.next.as_deref().unwrap()),
                    ..query.clone()
                })
                .await
                .unwrap();
            assert_eq!(second.records.len(), 20);
            assert!(second.records[0]["decided_on"].as_str().unwrap() <= dates[19]);
        }
    }
}

/// The agency path (each matching agency read in order, merged) and the first-page window path
/// give what sorting every match gives: the same page, total and `next`, for an agency named
/// whole, by its county or by its kind of bureau, alone or with a category, and for text.
async fn agency_and_text_searches_page_like_a_sorted_scan(view: &View) {
    let agencies = ["茌平区财政局", "东阿县财政局", "茌平区市场监督管理局"];
    let mut feed = Feed::new(0);
    let mut all = Vec::new();
    let batch: Vec<_> = (0..90)
        .map(|n| {
            let agency = agencies[n % 3];
            // Dates repeat (ties are settled by record_id), and one record has none.
            let date = if n == 7 {
                String::new()
            } else {
                format!("2025-{:02}-{:02}", 1 + (n * 7) % 12, 1 + n % 5)
            };
            let category = if n % 2 == 0 { "penalty" } else { "licensing" };
            let name = if n % 4 == 0 {
                "鑫源商贸有限公司"
            } else {
                "恒泰建材厂"
            };
            let id = format!("ag:{:02}", (n * 37) % 90);
            all.push((id.clone(), date.clone(), agency, category, name));
            let mut value = record(
                &id,
                1,
                name,
                &format!("茌罚〔2025〕{n}号"),
                agency,
                &date,
                category,
            );
            if date.is_empty() {
                value.as_object_mut().unwrap().remove("decided_on");
            }
            feed.upsert(&value)
        })
        .collect();
    view.apply(&batch).await.unwrap();
    // Newest first, undated last, then record_id.
    all.sort_by(|a, b| {
        let key = |d: &str| {
            if d.is_empty() {
                String::new()
            } else {
                d.to_owned()
            }
        };
        key(&b.1).cmp(&key(&a.1)).then(a.0.cmp(&b.0))
    });
    // (field, substring, category): the agency path, then the window path (text).
    let cases = [
        ("agency", "财政局", None),
        ("agency", "茌平区", None),
        ("agency", "东阿县财政局", None),
        ("agency", "茌平区", Some("penalty")),
        ("agency", "不存在", None),
        ("text", "鑫源商贸", None),
        ("counterparty", "建材", None),
    ];
    let cases: Vec<(SearchQuery, Vec<&str>)> = cases
        .iter()
        .map(|&(field, value, category)| {
            let mut query = SearchQuery {
                category: category.map(str::to_owned),
                ..Default::default()
            };
            match field {
                "agency" => query.agency = Some(value.into()),
                "text" => query.text = Some(value.into()),
                _ => query.counterparty = Some(value.into()),
            }
            let expected = all
                .iter()
                .filter(|r| {
                    let searched = if field == "agency" { r.2 } else { r.4 };
                    searched.contains(value) && category.is_none_or(|c| c == r.3)
                })
                .map(|r| r.0.as_str())
                .collect();
            (query, expected)
        })
        .collect();
    for window in [20_000, 10, 1] {
        let view = view.clone().with_walk_window(window);
        for (query, expected) in &cases {
            let first = view.search(query).await.unwrap();
            assert_eq!(
                (first.total, first.total_exact),
                (expected.len() as u64, true),
                "{query:?} window {window}"
            );
            // Every page of 7, through `next`, and the same with an offset.
            let (paged, _) = every_page(&view, query).await;
            assert_eq!(paged, *expected, "{query:?} window {window}");
            let offset = view
                .search(&SearchQuery {
                    limit: 5,
                    offset: 3,
                    ..query.clone()
                })
                .await
                .unwrap();
            let ids: Vec<&str> = offset
                .records
                .iter()
                .map(|r| r["record_id"].as_str().unwrap())
                .collect();
            let want: Vec<&str> = expected.iter().skip(3).take(5).copied().collect();
            assert_eq!(ids, want, "{query:?} window {window} offset");
        }
    }
}

/// The record_ids of every page of 7 of `query`, through `next`, and each page's total.
async fn every_page(
    view: &View,
    query: &SearchQuery,
) -> (Vec<serde_json::Value>, Vec<(u64, bool)>) {
    let mut paged = Vec::new();
    let mut totals = Vec::new();
    let mut after = None;
    loop {
        let page = view
            .search(&SearchQuery {
                limit: 7,
                after: after.take(),
                ..query.clone()
            })
            .await
            .unwrap();
        totals.push((page.total, page.total_exact));
        paged.extend(page.records.iter().map(|r| r["record_id"].clone()));
        match page.next {
            Some(next) => after = dhub_platform::search::Cursor::decode(&next),
            None => break,
        }
    }
    (paged, totals)
}
