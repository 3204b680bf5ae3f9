//! The store's behaviour, each test run on SQLite and on Postgres (see `common/mod.rs`).

mod common;

use common::{on_both_backends, TestDb};
use dhub_store::{
    AuditBreak, AuditCheck, Backend, FeedAck, NewEntry, NewQuarantine, NewVersion, OutboxOp,
    QuarantineStage, QuarantineState, Store, StoreError,
};
use sqlx::Executor;

fn version(record_id: &str, version: i64, hash: &str) -> NewVersion {
    NewVersion {
        record_id: record_id.into(),
        version,
        content_hash: hash.into(),
        status: "in_force".into(),
        record_json: format!("{{\"record_id\":\"{record_id}\",\"version\":{version}}}"),
        mapping_name: "finance-oa".into(),
        mapping_version: "3".into(),
        source_name: "finance-bureau-oa".into(),
        origin: "export-0001.xml:12".into(),
        platforms: vec!["county".into()],
    }
}

fn entry(
    record_id: &str,
    version: i64,
    platforms: &[&str],
    op: OutboxOp,
    payload: &[u8],
) -> NewEntry {
    NewEntry {
        record_id: record_id.into(),
        version,
        op,
        platforms: platforms.iter().map(|p| p.to_string()).collect(),
        payload: payload.into(),
    }
}

fn ack(record_id: &str, seq: i64, offset: i64) -> FeedAck {
    FeedAck {
        record_id: record_id.into(),
        version: 1,
        op: OutboxOp::Upsert,
        seq,
        partition: 0,
        offset,
        acked_at_ms: 1000 + offset,
    }
}

fn quarantined(record_id: Option<&str>, stage: QuarantineStage) -> NewQuarantine {
    NewQuarantine {
        source_name: "finance-bureau-oa".into(),
        origin: "export-0002.xml:7".into(),
        record_id: record_id.map(Into::into),
        stage,
        reason: "counterparty.id_number: check digit does not match".into(),
        payload: "<案件><当事人>张三</当事人></案件>".into(),
    }
}

async fn audit_entries(store: &Store, n: usize) {
    for i in 0..n {
        let mut tx = store.begin().await.unwrap();
        tx.audit(
            "test.event",
            Some("r:audit"),
            &serde_json::json!({ "i": i, "note": "备注" }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connect_reports_the_backend_and_answers_pings() {
    on_both_backends(|db: TestDb| async move {
        let expected = if db.url.starts_with("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        assert_eq!(db.store.backend(), expected);
        db.store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent_connecting_twice_keeps_the_data() {
    on_both_backends(|db: TestDb| async move {
        let mut tx = db.store.begin().await.unwrap();
        tx.insert_version(&version("r:1", 1, "h1")).await.unwrap();
        tx.commit().await.unwrap();

        let again = Store::connect(&db.url).await.unwrap();
        let latest = again.latest("r:1").await.unwrap().unwrap();
        assert_eq!(latest.version, 1);
        let third = Store::connect(&db.url).await.unwrap();
        third.ping().await.unwrap();
        again.close().await;
        third.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_version_becomes_the_latest_and_older_versions_do_not_displace_it() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        assert_eq!(store.latest("r:1").await.unwrap(), None);

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.latest("r:1").await.unwrap(), None);
        tx.insert_version(&version("r:1", 1, "h1")).await.unwrap();
        // The transaction sees its own write before commit.
        assert_eq!(tx.latest("r:1").await.unwrap().unwrap().version, 1);
        tx.commit().await.unwrap();

        let latest = store.latest("r:1").await.unwrap().unwrap();
        assert_eq!(latest.version, 1);
        assert_eq!(latest.content_hash, "h1");
        assert_eq!(latest.status, "in_force");
        assert!(!latest.retracted);

        let mut tx = store.begin().await.unwrap();
        let mut revoked = version("r:1", 5, "h5");
        revoked.status = "revoked".into();
        tx.insert_version(&revoked).await.unwrap();
        // A late, lower version is stored but does not become the latest.
        tx.insert_version(&version("r:1", 3, "h3")).await.unwrap();
        tx.commit().await.unwrap();

        let latest = store.latest("r:1").await.unwrap().unwrap();
        assert_eq!((latest.version, latest.content_hash.as_str()), (5, "h5"));
        assert_eq!(latest.status, "revoked");

        let history = store.history("r:1").await.unwrap();
        let versions: Vec<i64> = history.versions.iter().map(|v| v.version).collect();
        assert_eq!(versions, vec![1, 3, 5]);
        let first = &history.versions[0];
        assert_eq!(first.mapping_name, "finance-oa");
        assert_eq!(first.mapping_version, "3");
        assert_eq!(first.source_name, "finance-bureau-oa");
        assert_eq!(first.origin, "export-0001.xml:12");
        assert_eq!(first.record_json, "{\"record_id\":\"r:1\",\"version\":1}");
        assert!(first.created_at_ms > 1_600_000_000_000);
        assert_eq!(store.latest("r:other").await.unwrap(), None);
    })
    .await;
}

/// The hub republishes only when the hash changed: the store must hand back the stored hash,
/// and refuse to store the same version twice.
#[tokio::test]
async fn an_unchanged_re_export_is_recognisable_and_a_version_cannot_be_rewritten() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        tx.insert_version(&version("r:1", 1, "same-hash"))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let latest = tx.latest("r:1").await.unwrap().unwrap();
        assert_eq!(
            latest.content_hash, "same-hash",
            "re-export with this hash is unchanged"
        );

        let err = tx
            .insert_version(&version("r:1", 1, "other-hash"))
            .await
            .unwrap_err();
        match &err {
            StoreError::VersionExists { record_id, version } => {
                assert_eq!((record_id.as_str(), *version), ("r:1", 1));
            }
            other => panic!("expected VersionExists, got {other}"),
        }
        assert!(!err.is_retryable());
        // The refused insert left the transaction usable and wrote nothing.
        tx.insert_version(&version("r:1", 2, "other-hash"))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let history = store.history("r:1").await.unwrap();
        let hashes: Vec<&str> = history
            .versions
            .iter()
            .map(|v| v.content_hash.as_str())
            .collect();
        assert_eq!(hashes, vec!["same-hash", "other-hash"]);
    })
    .await;
}

#[tokio::test]
async fn batches_of_versions_store_every_row_and_name_a_duplicate() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        // 2,300 versions: more than one statement's worth; r:0..r:999 get two versions each,
        // out of order within the batch.
        let mut batch = Vec::new();
        for i in 0..1000 {
            batch.push(version(&format!("r:{i}"), 2, &format!("b{i}")));
            batch.push(version(&format!("r:{i}"), 1, &format!("a{i}")));
        }
        for i in 1000..1300 {
            batch.push(version(&format!("r:{i}"), 1, &format!("a{i}")));
        }
        let mut tx = store.begin().await.unwrap();
        tx.insert_versions(&batch).await.unwrap();
        tx.commit().await.unwrap();

        let ids: Vec<String> = (0..1300).map(|i| format!("r:{i}")).chain(["r:none".into()]).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut tx = store.begin().await.unwrap();
        let latest = tx.latest_many(&id_refs).await.unwrap();
        assert_eq!(latest.len(), 1300);
        assert_eq!(latest["r:7"].version, 2);
        assert_eq!(latest["r:7"].content_hash, "b7");
        assert_eq!(latest["r:1200"].version, 1);
        assert!(!latest.contains_key("r:none"));

        let err = tx
            .insert_versions(&[version("r:new", 1, "x"), version("r:5", 2, "again")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::VersionExists { record_id, version: 2 } if record_id == "r:5"),
            "{err}"
        );
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        let err = tx
            .insert_versions(&[version("r:twice", 1, "x"), version("r:twice", 1, "y")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::VersionExists { record_id, version: 1 } if record_id == "r:twice"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn retraction_flag_is_set_and_a_newer_version_clears_it() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        let err = tx.mark_retracted("r:unknown", true).await.unwrap_err();
        assert!(matches!(err, StoreError::RecordNotFound { .. }), "{err}");
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        tx.insert_version(&version("r:1", 1, "h1")).await.unwrap();
        tx.mark_retracted("r:1", true).await.unwrap();
        tx.commit().await.unwrap();
        assert!(store.latest("r:1").await.unwrap().unwrap().retracted);

        // A lower version arriving late does not undo the withdrawal.
        let mut tx = store.begin().await.unwrap();
        tx.insert_version(&version("r:1", 0, "h0")).await.unwrap();
        tx.commit().await.unwrap();
        assert!(store.latest("r:1").await.unwrap().unwrap().retracted);

        let mut tx = store.begin().await.unwrap();
        tx.insert_version(&version("r:1", 2, "h2")).await.unwrap();
        tx.commit().await.unwrap();
        assert!(!store.latest("r:1").await.unwrap().unwrap().retracted);

        let mut tx = store.begin().await.unwrap();
        tx.mark_retracted("r:1", true).await.unwrap();
        tx.mark_retracted("r:1", false).await.unwrap();
        tx.commit().await.unwrap();
        assert!(!store.latest("r:1").await.unwrap().unwrap().retracted);
    })
    .await;
}

#[tokio::test]
async fn the_platforms_showing_a_record_are_kept_with_its_latest_version() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        let mut v1 = version("r:1", 1, "h1");
        v1.platforms = vec!["county".into(), "province".into()];
        tx.insert_version(&v1).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.latest("r:1").await.unwrap().unwrap().platforms,
            ["county", "province"]
        );
        let mut tx = store.begin().await.unwrap();
        let mut v2 = version("r:1", 2, "h2");
        v2.platforms = Vec::new();
        tx.insert_version(&v2).await.unwrap();
        let latest = tx.latest_many(&["r:1"]).await.unwrap();
        assert!(latest["r:1"].platforms.is_empty(), "withdrawn everywhere");
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn entries_come_out_in_seq_order_and_a_feed_mark_moves_over_acknowledgements() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        assert_eq!(store.pending_count().await.unwrap(), 0);
        assert_eq!(store.head_seq().await.unwrap(), 0);
        store
            .ensure_feed_marks(&["county".to_string(), "city".to_string()])
            .await
            .unwrap();
        // Three transactions; a fourth rolled back leaves no gap in the seqs.
        for batch in 0..3 {
            let mut tx = store.begin().await.unwrap();
            let entries: Vec<NewEntry> = (0..1200)
                .map(|i| {
                    let platforms: &[&str] = if i % 2 == 0 {
                        &["county", "city"]
                    } else {
                        &["city"]
                    };
                    entry(
                        &format!("r:{batch}:{i}"),
                        1,
                        platforms,
                        OutboxOp::Upsert,
                        b"{}",
                    )
                })
                .collect();
            let queued = tx.append_entries(&entries).await.unwrap();
            assert_eq!(queued.len(), 1200);
            assert_eq!(queued[0].seq, batch * 1200 + 1);
            tx.commit().await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        tx.append_entries(&[entry("r:x", 1, &["city"], OutboxOp::Upsert, b"{}")])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(store.head_seq().await.unwrap(), 3600);
        assert_eq!(store.backlog("county").await.unwrap(), 1800);
        assert_eq!(store.backlog("city").await.unwrap(), 3600);
        assert_eq!(store.pending_count().await.unwrap(), 5400);

        let page = store.entries_after(1190, 20).await.unwrap();
        let seqs: Vec<i64> = page.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1191..=1210).collect::<Vec<_>>());
        assert_eq!(
            page[0].platforms,
            ["county", "city"],
            "seq 1191 is r:0:1190 (even i)"
        );
        assert_eq!(page[1].platforms, ["city"]);
        assert!(page.iter().all(|e| e.payload.as_ref() == b"{}"));

        // County acknowledges its first 600 entries (seqs 1, 3, …, 1199): mark 1199.
        let acks: Vec<FeedAck> = (0..600)
            .map(|i| ack(&format!("r:0:{}", 2 * i), 2 * i + 1, i))
            .collect();
        assert!(store
            .record_acks("county", 1199, &acks, None)
            .await
            .unwrap());
        assert_eq!(store.feed_marks().await.unwrap()["county"], 1199);
        assert_eq!(store.backlog("county").await.unwrap(), 1200);
        let states = store.feed_states("r:0:4").await.unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!(
            (states[0].platform.as_str(), states[0].seq, states[0].offset),
            ("county", 5, 2)
        );
        // A mark never moves back, and an older acknowledgement never overwrites a newer one.
        let stale = FeedAck {
            seq: 1,
            offset: 99,
            ..ack("r:0:4", 1, 99)
        };
        assert!(store
            .record_acks("county", 3, &[stale], None)
            .await
            .unwrap());
        assert_eq!(store.feed_marks().await.unwrap()["county"], 1199);
        assert_eq!(store.feed_states("r:0:4").await.unwrap()[0].offset, 2);

        // Nothing is pruned while the city feed has acknowledged nothing; then up to the lower mark.
        let both = ["county".to_string(), "city".to_string()];
        assert_eq!(store.prune(&both, i64::MAX).await.unwrap(), 0);
        assert!(store.record_acks("city", 2000, &[], None).await.unwrap());
        assert_eq!(
            store.prune(&both, 0).await.unwrap(),
            0,
            "kept: queued after the cutoff"
        );
        assert_eq!(store.prune(&both, i64::MAX).await.unwrap(), 1199);
        assert_eq!(store.entries_after(0, 1).await.unwrap()[0].seq, 1200);
        let history = store.history("r:2:0").await.unwrap();
        assert_eq!(history.queued.len(), 1);
    })
    .await;
}

/// Regression: a round that acknowledged an upsert and the retraction of the same record failed on
/// Postgres ("ON CONFLICT DO UPDATE command cannot affect row a second time") and was retried for
/// ever, so no delivery of any feed was recorded again.
#[tokio::test]
async fn two_versions_of_one_record_acknowledged_in_one_round_are_recorded() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let retraction = FeedAck {
            version: 2,
            op: OutboxOp::Retract,
            ..ack("r:1", 7, 11)
        };
        let acks = [ack("r:1", 3, 10), ack("r:2", 5, 12), retraction];
        assert!(store.record_acks("county", 7, &acks, None).await.unwrap());
        assert_eq!(store.feed_marks().await.unwrap()["county"], 7);
        let state = &store.feed_states("r:1").await.unwrap()[0];
        assert_eq!(
            (state.version, state.op, state.seq, state.offset),
            (2, OutboxOp::Retract, 7, 11),
            "the later delivery is what the platform was last sent"
        );
        assert_eq!(store.feed_states("r:2").await.unwrap()[0].seq, 5);
    })
    .await;
}

#[tokio::test]
async fn acknowledgements_are_written_only_while_the_feed_lease_is_held() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        assert!(store
            .acquire_lease("feed:county", "a", 60_000)
            .await
            .unwrap());
        assert!(
            !store
                .acquire_lease("feed:county", "b", 60_000)
                .await
                .unwrap(),
            "held by a"
        );
        assert!(store
            .record_acks("county", 5, &[ack("r:1", 5, 1)], Some(("feed:county", "a")))
            .await
            .unwrap());
        assert!(
            !store
                .record_acks("county", 9, &[ack("r:1", 9, 2)], Some(("feed:county", "b")))
                .await
                .unwrap(),
            "b does not hold the feed: nothing written"
        );
        assert_eq!(store.feed_marks().await.unwrap()["county"], 5);
        // An expired lease is taken over; the holder's name and times are listed.
        assert!(store.acquire_lease("feed:city", "a", -1).await.unwrap());
        assert!(
            store.acquire_lease("feed:city", "b", 60_000).await.unwrap(),
            "expired: taken over"
        );
        let leases = store.leases().await.unwrap();
        let holders: Vec<(&str, &str)> = leases
            .iter()
            .map(|l| (l.name.as_str(), l.holder.as_str()))
            .collect();
        assert_eq!(holders, [("feed:city", "b"), ("feed:county", "a")]);
        let claimed = store
            .claim_leases(&["feed:county".into(), "feed:other".into()], "b", 60_000)
            .await
            .unwrap();
        assert_eq!(claimed, [false, true]);
        store.release_lease("feed:county", "a").await.unwrap();
        assert!(
            store
                .acquire_lease("feed:county", "b", 60_000)
                .await
                .unwrap(),
            "released: free"
        );
    })
    .await;
}

#[tokio::test]
async fn a_parked_entry_is_kept_and_released_as_a_new_entry() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        let queued = tx
            .append_entries(&[entry(
                "r:1",
                1,
                &["county", "city"],
                OutboxOp::Upsert,
                b"{big}",
            )])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store
            .park("county", &queued[0], "Broker: Message size too large")
            .await
            .unwrap();
        let parked = store.parked(false).await.unwrap();
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].reason, "Broker: Message size too large");
        let released = store.release_parked("county", queued[0].seq).await.unwrap();
        assert_eq!(released.platforms, ["county"]);
        assert_eq!(released.payload.as_ref(), b"{big}");
        assert!(released.seq > queued[0].seq);
        assert!(store.parked(false).await.unwrap().is_empty());
        assert_eq!(store.parked(true).await.unwrap().len(), 1);
        assert!(matches!(
            store.release_parked("county", queued[0].seq).await,
            Err(StoreError::ParkedNotFound { .. })
        ));
        let history = store.history("r:1").await.unwrap();
        assert!(history.audit.iter().any(|a| a.kind == "outbox.released"));
    })
    .await;
}

#[tokio::test]
async fn a_transaction_dropped_without_commit_leaves_nothing_behind() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        {
            let mut tx = store.begin().await.unwrap();
            tx.insert_version(&version("r:1", 1, "h1")).await.unwrap();
            tx.append_entries(&[entry("r:1", 1, &["county"], OutboxOp::Upsert, b"{}")])
                .await
                .unwrap();
            tx.quarantine(&quarantined(Some("r:2"), QuarantineStage::Mapping))
                .await
                .unwrap();
            tx.set_source_position("finance-bureau-oa", "", "export-0001.xml")
                .await
                .unwrap();
            tx.audit("record.published", Some("r:1"), &serde_json::json!({}))
                .await
                .unwrap();
            // dropped here
        }
        assert_eq!(store.latest("r:1").await.unwrap(), None);
        assert_eq!(store.pending_count().await.unwrap(), 0);
        assert!(store.quarantine_list(true).await.unwrap().is_empty());
        assert_eq!(
            store.source_position("finance-bureau-oa").await.unwrap(),
            None
        );
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 0 }
        );

        // An explicit rollback too; and the chain has no gap where the rolled-back entries were.
        let mut tx = store.begin().await.unwrap();
        tx.audit("x", None, &serde_json::json!({})).await.unwrap();
        tx.rollback().await.unwrap();
        audit_entries(store, 1).await;
        let history = store.history("r:audit").await.unwrap();
        assert_eq!(history.audit[0].seq, 1);
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 1 }
        );
    })
    .await;
}

#[tokio::test]
async fn quarantine_entries_are_held_then_replayed_or_dropped_with_an_audit_entry() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        let first = tx
            .quarantine(&quarantined(Some("r:1"), QuarantineStage::Validation))
            .await
            .unwrap();
        let second = tx
            .quarantine(&quarantined(None, QuarantineStage::Document))
            .await
            .unwrap();
        let third = tx
            .quarantine(&quarantined(Some("r:3"), QuarantineStage::Redaction))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(first < second && second < third);

        let held = store.quarantine_list(false).await.unwrap();
        assert_eq!(held.iter().map(|e| e.id).collect::<Vec<_>>(), vec![first, second, third]);
        let entry = store.quarantine_get(first).await.unwrap().unwrap();
        assert_eq!(entry.stage, QuarantineStage::Validation);
        assert_eq!(entry.state, QuarantineState::Held);
        assert_eq!(entry.record_id.as_deref(), Some("r:1"));
        assert_eq!(entry.source_name, "finance-bureau-oa");
        assert_eq!(entry.origin, "export-0002.xml:7");
        assert_eq!(entry.reason, "counterparty.id_number: check digit does not match");
        assert_eq!(entry.payload, "<案件><当事人>张三</当事人></案件>");
        assert_eq!(entry.resolved_at_ms, None);
        assert_eq!(store.quarantine_get(second).await.unwrap().unwrap().record_id, None);
        assert_eq!(store.quarantine_get(999_999).await.unwrap(), None);

        let mut tx = store.begin().await.unwrap();
        tx.resolve_quarantine(first, QuarantineState::Dropped).await.unwrap();
        tx.resolve_quarantine(second, QuarantineState::Replayed).await.unwrap();
        tx.commit().await.unwrap();

        let held = store.quarantine_list(false).await.unwrap();
        assert_eq!(held.iter().map(|e| e.id).collect::<Vec<_>>(), vec![third]);
        let all = store.quarantine_list(true).await.unwrap();
        assert_eq!(all.len(), 3);
        let dropped = store.quarantine_get(first).await.unwrap().unwrap();
        assert_eq!(dropped.state, QuarantineState::Dropped);
        assert!(dropped.resolved_at_ms.is_some());
        assert_eq!(
            store.quarantine_get(second).await.unwrap().unwrap().state,
            QuarantineState::Replayed
        );

        // The drop is audited under the record, inside the chain.
        let history = store.history("r:1").await.unwrap();
        assert_eq!(history.quarantine.len(), 1);
        assert_eq!(history.audit.len(), 1);
        let audit = &history.audit[0];
        assert_eq!(audit.kind, "quarantine.dropped");
        let detail = audit.detail_json().unwrap();
        assert_eq!(detail["quarantine_id"], first);
        assert_eq!(detail["stage"], "validation");
        assert_eq!(store.audit_verify().await.unwrap(), AuditCheck::Intact { entries: 2 });

        let mut tx = store.begin().await.unwrap();
        let err = tx.resolve_quarantine(first, QuarantineState::Replayed).await.unwrap_err();
        assert!(
            matches!(err, StoreError::QuarantineNotHeld { id, state: QuarantineState::Dropped } if id == first),
            "{err}"
        );
        let err = tx.resolve_quarantine(999_999, QuarantineState::Dropped).await.unwrap_err();
        assert!(matches!(err, StoreError::QuarantineNotFound { id: 999_999 }), "{err}");
        let err = tx.resolve_quarantine(third, QuarantineState::Held).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidResolution { .. }), "{err}");
        // None of the refusals wrote an audit entry.
        drop(tx);
        assert_eq!(store.audit_verify().await.unwrap(), AuditCheck::Intact { entries: 2 });
    })
    .await;
}

#[tokio::test]
async fn source_positions_are_stored_and_replaced_per_scope() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        assert_eq!(store.source_position("a").await.unwrap(), None);
        let mut tx = store.begin().await.unwrap();
        tx.set_source_position("a", "", "export-0001.xml")
            .await
            .unwrap();
        tx.set_source_position("k", "0", "41").await.unwrap();
        tx.set_source_position("k", "1", "7").await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.set_source_position("a", "", "export-0002.xml")
            .await
            .unwrap();
        tx.set_source_position("k", "1", "9").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.source_position("a").await.unwrap().as_deref(),
            Some("export-0002.xml")
        );
        assert_eq!(
            store.source_positions("k").await.unwrap(),
            vec![
                ("0".to_string(), "41".to_string()),
                ("1".to_string(), "9".to_string())
            ]
        );
        assert_eq!(
            store.source_position("k").await.unwrap(),
            None,
            "a partitioned source has no whole position"
        );
    })
    .await;
}

#[tokio::test]
async fn constraint_and_stale_holds_are_stored() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        tx.quarantine(&quarantined(Some("r:1"), QuarantineStage::Constraint))
            .await
            .unwrap();
        tx.quarantine(&quarantined(Some("r:2"), QuarantineStage::Stale))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let stages: Vec<QuarantineStage> = store
            .quarantine_list(false)
            .await
            .unwrap()
            .iter()
            .map(|entry| entry.stage)
            .collect();
        assert_eq!(
            stages,
            [QuarantineStage::Constraint, QuarantineStage::Stale]
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_chain_verifies_and_a_tampered_entry_is_named() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 0 }
        );
        audit_entries(store, 5).await;
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 5 }
        );

        let history = store.history("r:audit").await.unwrap();
        let seqs: Vec<i64> = history.audit.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        assert_eq!(history.audit[0].prev_hash, dhub_store::GENESIS_HASH);
        assert!(history
            .audit
            .windows(2)
            .all(|w| w[1].prev_hash == w[0].hash));
        assert_eq!(history.audit[2].detail_json().unwrap()["note"], "备注");

        let mut raw = db.raw().await;
        raw.execute("UPDATE audit SET detail = '{\"i\":2,\"note\":\"changed\"}' WHERE seq = 3")
            .await
            .unwrap();
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Broken {
                seq: 3,
                reason: AuditBreak::ContentChanged
            }
        );
    })
    .await;
}

#[tokio::test]
async fn removing_audit_entries_breaks_the_chain() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        audit_entries(store, 6).await;
        let mut raw = db.raw().await;
        raw.execute("DELETE FROM audit WHERE seq = 6")
            .await
            .unwrap();
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Broken {
                seq: 6,
                reason: AuditBreak::Missing
            }
        );
        raw.execute("DELETE FROM audit WHERE seq = 2")
            .await
            .unwrap();
        assert_eq!(
            store.audit_verify().await.unwrap(),
            AuditCheck::Broken {
                seq: 2,
                reason: AuditBreak::Missing
            }
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactions_append_one_unbroken_chain() {
    on_both_backends(|db: TestDb| async move {
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    for i in 0..12 {
                        let record = format!("r:{task}:{i}");
                        let mut tx = store.begin().await.unwrap();
                        tx.insert_version(&version(&record, 1, "h")).await.unwrap();
                        tx.audit(
                            "record.published",
                            Some(&record),
                            &serde_json::json!({ "task": task }),
                        )
                        .await
                        .unwrap();
                        tx.append_entries(&[entry(
                            &record,
                            1,
                            &["county"],
                            OutboxOp::Upsert,
                            b"{}",
                        )])
                        .await
                        .unwrap();
                        tx.audit(
                            "record.routed",
                            Some(&record),
                            &serde_json::json!({ "i": i }),
                        )
                        .await
                        .unwrap();
                        tx.commit().await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            db.store.audit_verify().await.unwrap(),
            AuditCheck::Intact { entries: 192 }
        );
        assert_eq!(
            db.store.head_seq().await.unwrap(),
            96,
            "no seq lost or taken twice"
        );
        // Each transaction's two entries are adjacent: appenders took turns per transaction.
        let history = db.store.history("r:3:7").await.unwrap();
        assert_eq!(history.audit.len(), 2);
        assert_eq!(history.audit[1].seq, history.audit[0].seq + 1);
    })
    .await;
}

#[tokio::test]
async fn current_records_pages_through_latest_versions() {
    on_both_backends(|db: TestDb| async move {
        let store = &db.store;
        let mut tx = store.begin().await.unwrap();
        for id in ["r:c", "r:a", "r:b"] {
            tx.insert_version(&version(id, 1, "h1")).await.unwrap();
        }
        tx.insert_version(&version("r:b", 2, "h2")).await.unwrap();
        tx.mark_retracted("r:c", true).await.unwrap();
        tx.commit().await.unwrap();

        let first = store.current_records(None, 2).await.unwrap();
        assert_eq!(
            first
                .iter()
                .map(|r| r.record_id.as_str())
                .collect::<Vec<_>>(),
            vec!["r:a", "r:b"]
        );
        assert_eq!(first[1].version, 2);
        assert_eq!(
            first[1].record_json,
            "{\"record_id\":\"r:b\",\"version\":2}"
        );
        let rest = store.current_records(Some("r:b"), 2).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].record_id, "r:c");
        assert!(rest[0].retracted);
        assert!(store
            .current_records(Some("r:c"), 2)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

/// The ingest loop and `dhub retract` may both derive a record's next version from its
/// latest: the second reader must wait for the first writer, not read a stale version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_record_take_turns() {
    on_both_backends(|db: TestDb| async move {
        let store = db.store.clone();
        let mut tx = store.begin().await.unwrap();
        tx.insert_version(&version("r:1", 1, "h1")).await.unwrap();
        tx.commit().await.unwrap();

        let mut first = store.begin().await.unwrap();
        let seen_first = first.latest("r:1").await.unwrap().unwrap().version;
        assert_eq!(seen_first, 1);

        let other = store.clone();
        let second = tokio::spawn(async move {
            let mut tx = other.begin().await.unwrap();
            let seen = tx.latest("r:1").await.unwrap().unwrap().version;
            tx.insert_version(&version("r:1", seen + 1, "second"))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            seen
        });
        // Give the second writer time to reach its read while the first still holds on.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        first
            .insert_version(&version("r:1", seen_first + 1, "first"))
            .await
            .unwrap();
        first.commit().await.unwrap();

        assert_eq!(
            second.await.unwrap(),
            2,
            "the second writer saw the first's version"
        );
        let latest = store.latest("r:1").await.unwrap().unwrap();
        assert_eq!(
            (latest.version, latest.content_hash.as_str()),
            (3, "second")
        );
    })
    .await;
}

/// `DHUB_TEST_POSTGRES=off` is a pass of the SQLite half only; the test output must say so even when
/// the test passes (the harness hides `eprintln!` of passing tests). Runs one test of this binary in
/// a child process with the switch and reads what it printed.
#[test]
fn postgres_off_says_in_the_output_what_was_skipped() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "connect_reports_the_backend_and_answers_pings",
            "--test-threads=1",
        ])
        .env("DHUB_TEST_POSTGRES", "off")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.contains(
            "SKIPPED connect_reports_the_backend_and_answers_pings: the Postgres half of this test (DHUB_TEST_POSTGRES=off)"
        ),
        "{printed}"
    );
    assert!(printed.contains("1 passed"), "{printed}");
}
