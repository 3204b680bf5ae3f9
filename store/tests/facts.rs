//! `record_facts` (migration 0004): rows stored before it are carried over from their JSON, and the
//! publicity sweep's and the reports' queries answer from the columns. On SQLite and Postgres.

mod common;

use std::path::Path;

use common::PgScratch;
use dhub_store::{RecordFacts, Store};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, Connection, Executor};

/// A folder with the migrations before 0004, for one dialect.
fn migrations_before_facts(dialect: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    for file in [
        "0001_initial.sql",
        "0002_positions_and_stages.sql",
        "0003_outbox_queue.sql",
    ] {
        std::fs::copy(from.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

/// `r:1` a penalty shown on county, `r:2` a revoked licence (withdrawn), stored before 0004.
const OLD_ROWS: &str = r#"
INSERT INTO records (record_id, latest_version, latest_hash, latest_status, retracted, updated_at_ms, platforms)
VALUES ('r:1', 1, 'h', 'in_force', 0, 1, 'county'), ('r:2', 2, 'h', 'revoked', 1, 1, '');
INSERT INTO record_versions (record_id, version, content_hash, status, record_json, mapping_name, mapping_version, source_name, origin, created_at_ms) VALUES
('r:1', 1, 'h', 'in_force', '{"category":"penalty","division_code":"371523","agency":{"name":"茌平县财政局","uscc":"113715230042112358"},"decided_on":"2026-05-01","publicity_until":"2027-05-01","fine_amount":"5700.00"}', 'm', '1', 's', 'f:1', 1777593600000),
('r:2', 1, 'h', 'in_force', '{}', 'm', '1', 's', 'f:2', 1),
('r:2', 2, 'h', 'revoked', '{"category":"licensing","division_code":"371524","agency":{"name":"东阿县市场监督管理局"},"decided_on":"2026-06-02","status_changed_on":"2026-07-01"}', 'm', '1', 's', 'f:3', 1777593600000);
"#;

async fn check_carry_over(url: &str, dialect: &str) {
    let old = migrations_before_facts(dialect);
    let migrator = Migrator::new(old.path()).await.unwrap();
    sqlx::any::install_default_drivers();
    // SQLite: create the file (the store's own connect does that itself).
    let raw_url = match dialect {
        "sqlite" => format!("{url}?mode=rwc"),
        _ => url.to_string(),
    };
    let mut connection = AnyConnection::connect(&raw_url).await.unwrap();
    migrator.run(&mut connection).await.unwrap();
    connection.execute(OLD_ROWS).await.unwrap();
    connection.close().await.unwrap();

    let store = Store::connect(url).await.unwrap();
    let facts = store.all_facts(None).await.unwrap();
    assert_eq!(facts.len(), 2);
    let penalty = &facts[0].facts;
    assert_eq!(
        (
            penalty.category.as_str(),
            penalty.division_code.as_str(),
            penalty.agency_uscc.as_deref(),
            penalty.decided_on.as_str(),
            penalty.publicity_until.as_deref(),
            penalty.publicity_basis.as_str(),
            penalty.fine_fen,
            penalty.withdrawn_reason.as_deref(),
        ),
        (
            "penalty",
            "371523",
            Some("113715230042112358"),
            "2026-05-01",
            Some("2027-05-01"),
            "carried",
            Some(570_000),
            None
        )
    );
    // 1777593600000 ms is 2026-05-01 00:00 UTC, 08:00 in Shanghai.
    assert_eq!(penalty.received_on, "2026-05-01");
    assert_eq!(facts[0].delivery.shown_to, ["county"]);
    let licence = &facts[1].facts;
    assert_eq!(licence.version, 2);
    assert_eq!(licence.withdrawn_reason.as_deref(), Some("revoked"));
    assert_eq!(licence.withdrawn_on.as_deref(), Some("2026-07-01"));
    assert_eq!(licence.agency_uscc, None);
    assert!(facts[1].delivery.retracted);

    // The sweep's query: only the shown record, only once its day has passed.
    assert!(store
        .publicity_expired("2027-05-01", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.publicity_expired("2027-05-02", 10).await.unwrap(),
        ["r:1"]
    );
    assert_eq!(
        store.next_publicity_end().await.unwrap().as_deref(),
        Some("2027-05-01")
    );
    // The year's decisions by the indexed column.
    let june = store
        .all_facts(Some(("2026-06-01", "2026-06-30")))
        .await
        .unwrap();
    assert_eq!(june.len(), 1);
    assert_eq!(june[0].facts.record_id, "r:2");
    // Carried rows are listed for the hub to settle with its configured periods.
    let carried = store.carried_facts(10).await.unwrap();
    assert_eq!(carried.len(), 2);
    store
        .set_publicity("r:1", Some("2026-08-01"), "minor_penalty")
        .await
        .unwrap();
    assert_eq!(store.carried_facts(10).await.unwrap().len(), 1);

    // A newer version's facts replace them; an older one does not.
    let mut tx = store.begin().await.unwrap();
    let newer = RecordFacts {
        record_id: "r:1".into(),
        version: 2,
        category: "penalty".into(),
        status: "revoked".into(),
        division_code: "371523".into(),
        agency_uscc: None,
        agency_name: "茌平县财政局".into(),
        decided_on: "2026-05-01".into(),
        publicity_until: None,
        publicity_basis: "no_end".into(),
        fine_fen: None,
        status_changed_on: None,
        received_on: "2026-09-01".into(),
        withdrawn_reason: Some("revoked".into()),
        withdrawn_on: Some("2026-09-01".into()),
    };
    let older = RecordFacts {
        version: 1,
        withdrawn_reason: None,
        ..newer.clone()
    };
    tx.upsert_facts(&[newer.clone()]).await.unwrap();
    tx.upsert_facts(&[older]).await.unwrap();
    tx.commit().await.unwrap();
    let facts = store.all_facts(None).await.unwrap();
    assert_eq!(facts[0].facts.withdrawn_reason.as_deref(), Some("revoked"));
    assert!(store.next_publicity_end().await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn facts_are_carried_over_and_queried_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    check_carry_over(&url, "sqlite").await;
}

#[tokio::test]
async fn facts_are_carried_over_and_queried_on_postgres() {
    let admin_url = std::env::var("DHUB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if admin_url == "off" {
        return;
    }
    let scratch = PgScratch::create(&admin_url).await;
    check_carry_over(&scratch.url, "postgres").await;
    scratch.drop_database().await;
}
