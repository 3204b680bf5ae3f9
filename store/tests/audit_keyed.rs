//! The keyed audit chain (`[hub] audit_key`), deliveries in the chain, and stored versions checked
//! against the chain: each test on SQLite and on Postgres (see `common/mod.rs`).

mod common;

use common::{on_both_backends, TestDb};
use dhub_store::{
    AuditBreak, AuditCheck, AuditKey, FeedAck, FeedAcks, NewVersion, OutboxOp, Store, StoreError,
    VersionBreak, VersionCheck,
};
use sha2::{Digest, Sha256};
use sqlx::{Executor, Row};

fn key() -> AuditKey {
    AuditKey::new(b"test audit key: 32 bytes or more, never in the db".to_vec()).unwrap()
}

fn other_key() -> AuditKey {
    AuditKey::new(b"another audit key, also long enough to be accepted".to_vec()).unwrap()
}

async fn append(store: &Store, n: usize) {
    for i in 0..n {
        let mut tx = store.begin().await.unwrap();
        tx.audit("test.event", Some("r:1"), &serde_json::json!({ "i": i }))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn assert_broken(store: &Store, seq: i64, reason: AuditBreak) {
    assert_eq!(
        store.audit_verify().await.unwrap(),
        AuditCheck::Broken { seq, reason }
    );
}

/// The same database under another key (or none): a second store handle.
async fn reopen(db: &TestDb, key: Option<AuditKey>) -> Store {
    Store::connect(&db.url).await.unwrap().with_audit_key(key)
}

/// An attacker who knows the algorithm but not the key: rehashes entries `from..` with plain
/// SHA-256 after editing, keeping the keyed format's prefix or not.
async fn rehash_without_key(db: &TestDb, from: i64, keep_prefix: bool) {
    let mut raw = db.raw().await;
    let rows = sqlx::query(
        "SELECT seq, at_ms, kind, record_id, detail FROM audit WHERE seq >= $1 ORDER BY seq",
    )
    .bind(from)
    .fetch_all(&mut raw)
    .await
    .unwrap();
    let mut prev: String = sqlx::query("SELECT hash FROM audit WHERE seq = $1")
        .bind(from - 1)
        .fetch_optional(&mut raw)
        .await
        .unwrap()
        .map_or(dhub_store::GENESIS_HASH.to_owned(), |row| row.get("hash"));
    for row in rows {
        let seq: i64 = row.get("seq");
        let at_ms: i64 = row.get("at_ms");
        let kind: String = row.get("kind");
        let record_id: Option<String> = row.get("record_id");
        let detail: String = row.get("detail");
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(prev.as_bytes());
        field(&seq.to_be_bytes());
        field(&at_ms.to_be_bytes());
        field(kind.as_bytes());
        match &record_id {
            None => field(&[0]),
            Some(id) => field(&[&[1u8][..], id.as_bytes()].concat()),
        }
        field(detail.as_bytes());
        let hex = hex::encode(hasher.finalize());
        let hash = if keep_prefix {
            format!("{}{hex}", dhub_store::KEYED_PREFIX)
        } else {
            hex
        };
        sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(prev.as_str())
            .bind(hash.as_str())
            .bind(seq)
            .execute(&mut raw)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(prev.as_str())
        .execute(&mut raw)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unkeyed_chain_continues_keyed_from_a_marker() {
    on_both_backends(|db: TestDb| async move {
        // Written before the key was configured.
        append(&db.store, 3).await;
        let keyed = reopen(&db, Some(key())).await;
        // Configured but not yet used: no entry is keyed, which is refused until the hub appends.
        assert_broken(&keyed, 3, AuditBreak::NotKeyed).await;
        keyed.check_audit_key().await.unwrap();
        append(&keyed, 2).await;

        // The first keyed append wrote the marker (seq 4), naming the last unkeyed entry.
        let mut raw = db.raw().await;
        let marker = sqlx::query("SELECT kind, detail, hash FROM audit WHERE seq = 4")
            .fetch_one(&mut raw)
            .await
            .unwrap();
        assert_eq!(marker.get::<String, _>("kind"), dhub_store::KEYED_MARKER);
        let detail: serde_json::Value =
            serde_json::from_str(&marker.get::<String, _>("detail")).unwrap();
        assert_eq!(detail["after_seq"], 3);
        assert!(dhub_store::is_keyed(&marker.get::<String, _>("hash")));
        assert_eq!(
            keyed.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 6 }
        );
        keyed.check_audit_key().await.unwrap();

        // Without the key: cannot check, cannot extend, cannot start.
        let unkeyed = reopen(&db, None).await;
        assert_broken(&unkeyed, 4, AuditBreak::KeyRequired).await;
        assert!(matches!(
            unkeyed.check_audit_key().await,
            Err(StoreError::AuditKeyRequired)
        ));
        let mut tx = unkeyed.begin().await.unwrap();
        assert!(matches!(
            tx.audit("x", None, &serde_json::json!({})).await,
            Err(StoreError::AuditKeyRequired)
        ));
        drop(tx);
        // With a wrong key: start-up refuses, verification names the marker.
        let wrong = reopen(&db, Some(other_key())).await;
        assert!(matches!(
            wrong.check_audit_key().await,
            Err(StoreError::AuditKeyMismatch { seq: 6 })
        ));
        assert_broken(&wrong, 4, AuditBreak::ContentChanged).await;
    })
    .await;
}

#[tokio::test]
async fn a_chain_rewritten_without_the_key_is_found() {
    on_both_backends(|db: TestDb| async move {
        let keyed = reopen(&db, Some(key())).await;
        append(&keyed, 6).await;
        assert_eq!(
            keyed.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 7 }
        );
        let mut raw = db.raw().await;
        raw.execute("UPDATE audit SET detail = '{\"i\":99}' WHERE seq = 4")
            .await
            .unwrap();
        // Edited and rehashed in the keyed format, with plain SHA-256 (no key): the MAC fails.
        rehash_without_key(&db, 4, true).await;
        assert_broken(&keyed, 4, AuditBreak::ContentChanged).await;
        // Rehashed as an unkeyed chain from there on: unkeyed entries after keyed ones.
        rehash_without_key(&db, 4, false).await;
        assert_broken(&keyed, 4, AuditBreak::NotKeyed).await;
        // The whole chain rehashed unkeyed (the marker too): no keyed entry remains.
        rehash_without_key(&db, 1, false).await;
        assert_eq!(
            reopen(&db, None).await.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 7 },
            "the forgery is a valid unkeyed chain"
        );
        assert_eq!(
            keyed.audit_verify().await.unwrap(),
            AuditCheck::Broken {
                seq: 7,
                reason: AuditBreak::NotKeyed
            },
            "but not with the key configured"
        );
    })
    .await;
}

#[tokio::test]
async fn truncated_or_thinned_keyed_chains_are_found() {
    on_both_backends(|db: TestDb| async move {
        let keyed = reopen(&db, Some(key())).await;
        append(&keyed, 6).await;
        let mut raw = db.raw().await;
        raw.execute("DELETE FROM audit WHERE seq = 3")
            .await
            .unwrap();
        assert_broken(&keyed, 3, AuditBreak::Missing).await;
        raw.execute("DELETE FROM audit WHERE seq >= 3")
            .await
            .unwrap();
        assert_broken(&keyed, 3, AuditBreak::Missing).await;
    })
    .await;
}

#[tokio::test]
async fn deliveries_are_in_the_chain() {
    on_both_backends(|db: TestDb| async move {
        let keyed = reopen(&db, Some(key())).await;
        let acks = [
            FeedAck {
                record_id: "r:1".into(),
                version: 2,
                op: OutboxOp::Upsert,
                seq: 1,
                partition: 0,
                offset: 41,
                acked_at_ms: 1000,
            },
            FeedAck {
                record_id: "r:2".into(),
                version: 1,
                op: OutboxOp::Retract,
                seq: 2,
                partition: 0,
                offset: 42,
                acked_at_ms: 1001,
            },
        ];
        keyed
            .record_acks_of_feeds(&[FeedAcks {
                platform: "county",
                mark: 2,
                acks: &acks,
                topic: Some("t.disclosure.county.371523"),
                fence: None,
            }])
            .await
            .unwrap();
        // An idle flush (mark only) adds nothing to the chain.
        keyed.record_acks("county", 2, &[], None).await.unwrap();
        let history = keyed.audit_verify().await.unwrap();
        assert_eq!(history, AuditCheck::Intact { entries: 2 });
        let mut raw = db.raw().await;
        let row = sqlx::query("SELECT kind, detail FROM audit WHERE seq = 2")
            .fetch_one(&mut raw)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>("kind"), "feed.delivered");
        let detail: serde_json::Value =
            serde_json::from_str(&row.get::<String, _>("detail")).unwrap();
        assert_eq!(detail["platform"], "county");
        assert_eq!(detail["topic"], "t.disclosure.county.371523");
        assert_eq!(
            detail["deliveries"],
            serde_json::json!([["r:1", 2, "upsert", 0, 41], ["r:2", 1, "retract", 0, 42]])
        );
        // Moving a delivery to another offset breaks the chain there.
        raw.execute("UPDATE audit SET detail = REPLACE(detail, '41]', '40]') WHERE seq = 2")
            .await
            .unwrap();
        assert_broken(&keyed, 2, AuditBreak::ContentChanged).await;
    })
    .await;
}

/// The test's content hash: SHA-256 of the record JSON (the hub uses the pipeline's hash).
fn content_hash(json: &str) -> Result<String, String> {
    if json.is_empty() {
        return Err("empty".into());
    }
    Ok(hex::encode(Sha256::digest(json.as_bytes())))
}

fn version(record_id: &str, version: i64) -> NewVersion {
    let record_json = format!("{{\"record_id\":\"{record_id}\",\"n\":{version}}}");
    NewVersion {
        record_id: record_id.into(),
        version,
        content_hash: content_hash(&record_json).unwrap(),
        status: "in_force".into(),
        record_json,
        mapping_name: "m".into(),
        mapping_version: "1".into(),
        source_name: "s".into(),
        origin: "a.xml:1".into(),
        platforms: vec!["county".into()],
    }
}

/// Stores versions and their `batch.stored` entry, as the pipeline does.
async fn store_batch(store: &Store, versions: &[NewVersion]) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_versions(versions).await.unwrap();
    let audited: Vec<serde_json::Value> = versions
        .iter()
        .map(|v| serde_json::json!([v.record_id, v.version, v.content_hash]))
        .collect();
    tx.audit(
        "batch.stored",
        None,
        &serde_json::json!({"source": "s", "versions": audited}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn stored_versions_are_checked_against_the_chain() {
    on_both_backends(|db: TestDb| async move {
        let keyed = reopen(&db, Some(key())).await;
        store_batch(&keyed, &[version("r:1", 1), version("r:2", 1)]).await;
        store_batch(&keyed, &[version("r:1", 2)]).await;
        // A retraction's entry names the version and its hash.
        let mut tx = keyed.begin().await.unwrap();
        let retracted = version("r:2", 2);
        tx.insert_version(&retracted).await.unwrap();
        tx.audit(
            "record.retracted",
            Some("r:2"),
            &serde_json::json!({"version": 2, "content_hash": retracted.content_hash, "reason": "revoked"}),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            keyed.verify_versions(&content_hash).await.unwrap(),
            VersionCheck::Intact { versions: 4 }
        );

        let mut raw = db.raw().await;
        // Edited content, hash left alone.
        raw.execute("UPDATE record_versions SET record_json = '{\"record_id\":\"r:1\",\"n\":99}' WHERE record_id = 'r:1' AND version = 2")
            .await
            .unwrap();
        assert_eq!(
            keyed.verify_versions(&content_hash).await.unwrap(),
            VersionCheck::Broken {
                record_id: "r:1".into(),
                version: 2,
                reason: VersionBreak::ContentChanged
            }
        );
        // Edited content with its hash recomputed: the chain still has the old hash.
        let forged = content_hash("{\"record_id\":\"r:1\",\"n\":99}").unwrap();
        sqlx::query("UPDATE record_versions SET content_hash = $1 WHERE record_id = 'r:1' AND version = 2")
            .bind(forged.as_str())
            .execute(&mut raw)
            .await
            .unwrap();
        let seq_of_second_batch = 3; // 1: marker, 2: first batch, 3: second batch
        assert_eq!(
            keyed.verify_versions(&content_hash).await.unwrap(),
            VersionCheck::Broken {
                record_id: "r:1".into(),
                version: 2,
                reason: VersionBreak::HashDiffers {
                    seq: seq_of_second_batch
                }
            }
        );
        raw.execute("DELETE FROM record_versions WHERE record_id = 'r:1' AND version = 2")
            .await
            .unwrap();
        assert_eq!(
            keyed.verify_versions(&content_hash).await.unwrap(),
            VersionCheck::Broken {
                record_id: "r:1".into(),
                version: 2,
                reason: VersionBreak::Missing {
                    seq: seq_of_second_batch
                }
            }
        );
        // A version slipped in without an audit entry.
        let mut tx = keyed.begin().await.unwrap();
        tx.insert_version(&version("r:1", 2)).await.unwrap();
        tx.insert_version(&version("r:0", 1)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            keyed.verify_versions(&content_hash).await.unwrap(),
            VersionCheck::Broken {
                record_id: "r:0".into(),
                version: 1,
                reason: VersionBreak::NotInChain
            }
        );
        // The chain itself was never touched.
        assert_eq!(
            keyed.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 4 }
        );
    })
    .await;
}
