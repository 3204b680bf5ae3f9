//! Migrating a state store written before the queue (issue 7): the old outbox's pending rows become
//! entries, each feed's mark sits below its first pending row, acknowledged rows become the feed
//! state, and each record knows the platforms that show it. On SQLite and Postgres.

mod common;

use std::path::{Path, PathBuf};

use dhub_store::{OutboxOp, Store};
use sqlx::migrate::Migrator;
use sqlx::AnyConnection;
use sqlx::{Connection, Executor};

/// A folder with the migrations before 0003 only, for one dialect.
fn migrations_before_the_queue(dialect: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    for file in ["0001_initial.sql", "0002_positions_and_stages.sql"] {
        std::fs::copy(from.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

/// The old outbox of one record, `r:1`, sent to county and city as v1 (county acknowledged at offset
/// 7, city pending), then retracted from the city as v2 (pending); and `r:2`, acknowledged on county.
fn old_rows(dialect: &str) -> String {
    let blob = |text: &str| match dialect {
        "postgres" => format!("convert_to('{text}', 'UTF8')"),
        _ => format!("CAST('{text}' AS BLOB)"),
    };
    format!("
INSERT INTO records (record_id, latest_version, latest_hash, latest_status, retracted, updated_at_ms)
VALUES ('r:1', 2, 'h', 'in_force', 0, 1), ('r:2', 1, 'h', 'in_force', 0, 1);
INSERT INTO outbox_payloads (hash, payload) VALUES ('a', {}), ('b', {}), ('c', {});
INSERT INTO outbox (record_id, version, platform, topic, op, payload_hash, created_at_ms, delivered, kafka_partition, kafka_offset, acked_at_ms) VALUES
('r:1', 1, 'county', 't.c', 'upsert', 'a', 10, 1, 0, 7, 100),
('r:1', 1, 'city', 't.y', 'upsert', 'a', 10, 0, NULL, NULL, NULL),
('r:2', 1, 'county', 't.c', 'upsert', 'c', 11, 1, 1, 3, 101),
('r:1', 2, 'city', 't.y', 'retract', 'b', 12, 0, NULL, NULL, NULL);
", blob("upsert-1"), blob("retract-2"), blob("upsert-r2"))
}

async fn check_carry_over(url: &str, dialect: &str) {
    let old = migrations_before_the_queue(dialect);
    let migrator = Migrator::new(old.path()).await.unwrap();
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(url).await.unwrap();
    migrator.run(&mut connection).await.unwrap();
    connection
        .execute(old_rows(dialect).as_str())
        .await
        .unwrap();
    connection.close().await.unwrap();

    let store = Store::connect(url).await.unwrap();
    let entries = store.entries_after(0, 10).await.unwrap();
    let shape: Vec<(i64, &str, i64, OutboxOp, Vec<String>, Vec<u8>)> = entries
        .iter()
        .map(|e| {
            (
                e.seq,
                e.record_id.as_str(),
                e.version,
                e.op,
                e.platforms.clone(),
                e.payload.to_vec(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                2,
                "r:1",
                1,
                OutboxOp::Upsert,
                vec!["city".to_string()],
                b"upsert-1".to_vec()
            ),
            (
                4,
                "r:1",
                2,
                OutboxOp::Retract,
                vec!["city".to_string()],
                b"retract-2".to_vec()
            ),
        ],
        "the pending rows, with their envelopes"
    );
    let marks = store.feed_marks().await.unwrap();
    assert_eq!(marks["county"], 3, "nothing pending: the last row");
    assert_eq!(marks["city"], 1, "below its first pending row");
    assert_eq!(store.head_seq().await.unwrap(), 4);
    let state = store.feed_states("r:1").await.unwrap();
    assert_eq!(state.len(), 1);
    assert_eq!(
        (
            state[0].platform.as_str(),
            state[0].offset,
            state[0].first_acked_at_ms
        ),
        ("county", 7, 100)
    );
    assert_eq!(
        store.latest("r:1").await.unwrap().unwrap().platforms,
        ["county"],
        "retracted from the city (pending), still shown on the county"
    );
    assert_eq!(
        store.latest("r:2").await.unwrap().unwrap().platforms,
        ["county"]
    );
    // A new entry continues after the old ids.
    let mut tx = store.begin().await.unwrap();
    let queued = tx
        .append_entries(&[dhub_store::NewEntry {
            record_id: "r:3".into(),
            version: 1,
            op: OutboxOp::Upsert,
            platforms: vec!["county".into()],
            payload: b"{}".as_slice().into(),
        }])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued[0].seq, 5);
    store.close().await;
}

#[tokio::test]
async fn an_old_outbox_is_carried_over_into_the_queue_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("state.db");
    std::fs::File::create(&file).unwrap();
    check_carry_over(&format!("sqlite://{}", file.display()), "sqlite").await;
}

#[tokio::test]
async fn an_old_outbox_is_carried_over_into_the_queue_on_postgres() {
    let admin_url = std::env::var("DHUB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if admin_url == "off" {
        common::skipped("the Postgres carry-over (DHUB_TEST_POSTGRES=off)");
        return;
    }
    let scratch = common::PgScratch::create(&admin_url).await;
    check_carry_over(&scratch.url, "postgres").await;
    scratch.drop_database().await;
}
