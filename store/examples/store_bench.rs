//! Throughput of the store's hot paths, on SQLite and on Postgres.
//!
//! ```text
//! cargo run --release -p dhub-store --example store_bench
//! ```
//!
//! 1. outbox: enqueue 300,000 rows in transactions of 1,000, then the relay's loop
//!    (`pending_outbox` 1,000 at a time + `mark_delivered`) until nothing is pending;
//! 2. ingest: 30,000 records in transactions of 1,000, each record with its latest-version
//!    lookup, a new version and 3 outbox rows (one per platform level), then the relay;
//!    once with the batch calls (`latest_many`, `insert_versions`), once record by record,
//!    then the relay;
//! 3. pipelined: the batched ingest of 2. with the relay running at the same time, as in the
//!    hub, timed until the last row is delivered.
//!
//! The end-to-end target is about 10,000 records/s with 3 outbox rows each.
//! Postgres is taken from `DHUB_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; a scratch database is created and dropped);
//! `DHUB_TEST_POSTGRES=off` benches SQLite only.

#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use dhub_store::{Delivery, NewOutbox, NewVersion, OutboxOp, Store, StoreError};

const OUTBOX_ROWS: usize = 300_000;
const BATCH: usize = 1_000;
const RECORDS: usize = 30_000;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PLATFORMS: [&str; 3] = ["county", "city", "province"];

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}/bench/state.db", dir.path().display());
    bench("sqlite", &sqlite_url).await?;

    let admin = std::env::var("DHUB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if admin != "off" {
        let scratch = common::PgScratch::create(&admin).await;
        let outcome = bench("postgres", &scratch.url).await;
        scratch.drop_database().await;
        outcome?;
    }
    Ok(())
}

async fn bench(backend: &str, url: &str) -> Result<(), BoxError> {
    println!("== {backend}");
    let store = Store::connect(url).await?;
    // A realistic envelope is 1–2 KiB of JSON.
    let payload = vec![b'x'; 1200];

    // 1. Raw outbox throughput.
    let started = Instant::now();
    for batch in 0..OUTBOX_ROWS / BATCH {
        let entries: Vec<NewOutbox> = (0..BATCH)
            .map(|i| NewOutbox {
                record_id: format!("bench:{}", batch * BATCH + i),
                version: 1,
                platform: PLATFORMS[i % 3].into(),
                topic: format!("disclosure.{}.371523", PLATFORMS[i % 3]),
                op: OutboxOp::Upsert,
                payload: payload.clone(),
            })
            .collect();
        let mut tx = store.begin().await?;
        tx.enqueue(&entries).await?;
        tx.commit().await?;
    }
    let enqueue = started.elapsed();
    let (relayed, relay) = relay_all(&store).await?;
    assert_eq!(relayed, OUTBOX_ROWS);
    let total = enqueue + relay;
    println!(
        "outbox  {OUTBOX_ROWS} rows, batches of {BATCH}: enqueue {:.0} rows/s ({:.2} s), \
         scan+mark_delivered {:.0} rows/s ({:.2} s), both {:.0} rows/s",
        OUTBOX_ROWS as f64 / enqueue.as_secs_f64(),
        enqueue.as_secs_f64(),
        OUTBOX_ROWS as f64 / relay.as_secs_f64(),
        relay.as_secs_f64(),
        OUTBOX_ROWS as f64 / total.as_secs_f64(),
    );

    // 2. The ingest path, batched and record by record, then the relay.
    for (label, batched) in [("batched", true), ("per-record", false)] {
        let started = Instant::now();
        ingest(&store, label, batched, &payload).await?;
        let ingest = started.elapsed();
        let (relayed, relay) = relay_all(&store).await?;
        assert_eq!(relayed, RECORDS * 3);
        println!(
            "ingest  {RECORDS} records x 3 outbox rows ({label}): ingest {:.0} records/s ({:.2} s), \
             relay {:.0} rows/s, one after the other {:.0} records/s",
            RECORDS as f64 / ingest.as_secs_f64(),
            ingest.as_secs_f64(),
            relayed as f64 / relay.as_secs_f64(),
            RECORDS as f64 / (ingest + relay).as_secs_f64(),
        );
    }

    // 3. Ingest and relay at the same time.
    let started = Instant::now();
    let relay_store = store.clone();
    let relay = tokio::spawn(async move {
        let mut cursor = 0;
        let mut relayed = 0;
        while relayed < RECORDS * 3 {
            let (n, next) = relay_page(&relay_store, cursor).await?;
            relayed += n;
            cursor = next;
            if n == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        Ok::<usize, StoreError>(relayed)
    });
    ingest(&store, "pipelined", true, &payload).await?;
    let relayed = relay.await??;
    let elapsed = started.elapsed();
    println!(
        "pipelined {RECORDS} records x 3 outbox rows, relay concurrent: {:.0} records/s \
         ({:.0} outbox rows/s) end to end ({:.2} s)",
        RECORDS as f64 / elapsed.as_secs_f64(),
        relayed as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
    );
    store.close().await;
    Ok(())
}

/// `RECORDS` new records in transactions of `BATCH`: latest-version lookup, version, 3 outbox
/// rows each, and the source position.
async fn ingest(
    store: &Store,
    label: &str,
    batched: bool,
    payload: &[u8],
) -> Result<(), StoreError> {
    for batch in 0..RECORDS / BATCH {
        let ids: Vec<String> = (0..BATCH)
            .map(|i| format!("{label}:{}", batch * BATCH + i))
            .collect();
        let versions: Vec<NewVersion> = ids
            .iter()
            .map(|id| NewVersion {
                record_id: id.clone(),
                version: 1,
                content_hash: "0".repeat(64),
                status: "in_force".into(),
                record_json: String::from_utf8_lossy(payload).into_owned(),
                mapping_name: "finance-oa".into(),
                mapping_version: "1".into(),
                source_name: "finance-bureau-oa".into(),
                origin: format!("export.xml:{batch}"),
            })
            .collect();
        let entries: Vec<NewOutbox> = ids
            .iter()
            .flat_map(|id| {
                PLATFORMS.iter().map(|platform| NewOutbox {
                    record_id: id.clone(),
                    version: 1,
                    platform: (*platform).into(),
                    topic: format!("disclosure.{platform}.371523"),
                    op: OutboxOp::Upsert,
                    payload: payload.to_vec(),
                })
            })
            .collect();
        let mut tx = store.begin().await?;
        if batched {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let latest = tx.latest_many(&refs).await?;
            assert!(latest.is_empty());
            tx.insert_versions(&versions).await?;
            tx.enqueue(&entries).await?;
        } else {
            for (version, outbox) in versions.iter().zip(entries.chunks(3)) {
                assert!(tx.latest(&version.record_id).await?.is_none());
                tx.insert_version(version).await?;
                tx.enqueue(outbox).await?;
            }
        }
        tx.set_source_position("finance-bureau-oa", "", &format!("export-{batch}.xml"))
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The relay's loop without the broker, until nothing is pending.
async fn relay_all(store: &Store) -> Result<(usize, std::time::Duration), StoreError> {
    let started = Instant::now();
    let mut cursor = 0;
    let mut relayed = 0;
    loop {
        let (n, next) = relay_page(store, cursor).await?;
        if n == 0 {
            break;
        }
        relayed += n;
        cursor = next;
    }
    Ok((relayed, started.elapsed()))
}

/// One relay step: scan a page from the cursor, acknowledge it; returns the count and the
/// next cursor.
async fn relay_page(store: &Store, cursor: i64) -> Result<(usize, i64), StoreError> {
    let page = store.pending_outbox(cursor, BATCH as i64).await?;
    let Some(last) = page.last() else {
        return Ok((0, cursor));
    };
    let next = last.id + 1;
    let acks: Vec<Delivery> = page
        .iter()
        .map(|row| Delivery {
            outbox_id: row.id,
            partition: (row.id % 3) as i32,
            offset: row.id,
            acked_at_ms: 0,
        })
        .collect();
    store.mark_delivered(&acks).await?;
    Ok((page.len(), next))
}
