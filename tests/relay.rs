//! The outbox relay against the real broker: rows go out in order and are marked delivered with their
//! partition and offset; an idempotent producer that fails fatally is replaced and nothing is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub::telemetry::Telemetry;
use dhub_ingest::OutboxHandoff;
use dhub_publish::kafka::KafkaSettings;
use dhub_publish::{AckWriter, Feed, FeedRelay, SharedProducer};
use dhub_store::{Entry, NewEntry, NewVersion, OutboxOp, Store};
use rdkafka::producer::Producer;
use tokio::sync::watch;

fn settings() -> KafkaSettings {
    KafkaSettings {
        brokers: dhub_testkit::test_brokers(),
        properties: Vec::new(),
        partitions: 1,
        replication_factor: 1,
    }
}

fn feed(topic: &str) -> Feed {
    Feed {
        platform: "p".into(),
        topic: topic.into(),
        schema: "disclosure.v1".into(),
    }
}

/// Queues one upsert per id for platform `p`; `payload_bytes` pads the envelope to that size.
async fn enqueue_sized(
    store: &Store,
    ids: std::ops::Range<u32>,
    payload_bytes: usize,
) -> Vec<Entry> {
    let mut tx = store.begin().await.unwrap();
    let mut entries = Vec::new();
    for n in ids {
        let record_id = format!("t:{n}");
        tx.insert_version(&NewVersion {
            record_id: record_id.clone(),
            version: 1,
            content_hash: format!("h{n}"),
            status: "in_force".into(),
            record_json: "{}".into(),
            mapping_name: "m".into(),
            mapping_version: "1".into(),
            source_name: "t".into(),
            origin: "test".into(),
            platforms: vec!["p".into()],
        })
        .await
        .unwrap();
        let mut payload = format!("{{\"record_id\":\"{record_id}\",\"pad\":\"");
        while payload.len() + 2 < payload_bytes {
            payload.push('x');
        }
        payload.push_str("\"}");
        entries.push(NewEntry {
            record_id,
            version: 1,
            op: OutboxOp::Upsert,
            platforms: vec!["p".into()],
            payload: payload.into_bytes().into(),
        });
    }
    let queued = tx.append_entries(&entries).await.unwrap();
    tx.commit().await.unwrap();
    queued
}

async fn enqueue(store: &Store, ids: std::ops::Range<u32>) -> Vec<Entry> {
    enqueue_sized(store, ids, 0).await
}

async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    store.ensure_feed_marks(&["p".to_string()]).await.unwrap();
    store
}

/// A producer in the state an idempotent producer reaches when the broker has lost its sequence
/// state: librdkafka's test hook raises that fatal error, after which every message is refused.
fn fatally_failed_producer(settings: &KafkaSettings) -> rdkafka::producer::FutureProducer {
    let producer = settings.producer().unwrap();
    let reason = std::ffi::CString::new("test: fatal idempotence error").unwrap();
    // SAFETY: the client pointer is live for the call and the reason a valid C string.
    let raised = unsafe {
        rdkafka::bindings::rd_kafka_test_fatal_error(
            producer.client().native_ptr(),
            rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            reason.as_ptr(),
        )
    };
    assert_eq!(
        raised,
        rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    );
    assert!(producer.client().fatal_error().is_some());
    producer
}

async fn wait_drained(store: &Store, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let head = store.head_seq().await.unwrap();
        if store.feed_marks().await.unwrap().get("p").copied() == Some(head) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A relay of feed `p` on `topic` with a working producer, listening to `handoff` once it runs.
fn relay(
    store: &Store,
    settings: &KafkaSettings,
    topic: &str,
    handoff: &OutboxHandoff,
) -> FeedRelay {
    FeedRelay::new(
        store.clone(),
        AckWriter::start(store.clone(), Arc::new(Telemetry::new())),
        SharedProducer::new(settings.producer().unwrap(), None),
        feed(topic),
        Arc::new(Telemetry::new()),
        handoff,
    )
}

/// Tells a running relay to stop and waits until it has drained and returned.
async fn stop_relay(
    stop_tx: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), dhub_store::StoreError>>,
) {
    let _ = stop_tx.send(true);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_that_fails_fatally_is_replaced_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let topic = dhub_testkit::unique_name("relay");
    let settings = settings();
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();

    let producer = fatally_failed_producer(&settings);

    enqueue(&store, 0..20).await;
    let rebuild_settings = settings.clone();
    let telemetry = Arc::new(Telemetry::new());
    let relay = FeedRelay::new(
        store.clone(),
        AckWriter::start(store.clone(), Arc::new(Telemetry::new())),
        SharedProducer::new(
            producer,
            Some(Arc::new(move || rebuild_settings.producer())),
        ),
        feed(&topic),
        telemetry.clone(),
        &OutboxHandoff::default(),
    );
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));

    assert!(
        wait_drained(&store, Duration::from_secs(30)).await,
        "every entry delivered after the producer was replaced"
    );
    assert!(
        telemetry
            .render()
            .contains("dhub_producer_replacements_total 1"),
        "{}",
        telemetry.render()
    );
    let history = store.history("t:19").await.unwrap();
    assert_eq!(history.deliveries.len(), 1);
    assert!(history.deliveries[0].offset >= 0);

    stop_relay(stop_tx, task).await;
    settings.delete_topics(&[topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_replacement_a_fatal_producer_delivers_nothing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let topic = dhub_testkit::unique_name("relay");
    let settings = settings();
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();
    let producer = fatally_failed_producer(&settings);
    enqueue(&store, 0..5).await;
    let relay = FeedRelay::new(
        store.clone(),
        AckWriter::start(store.clone(), Arc::new(Telemetry::new())),
        SharedProducer::new(producer, None),
        feed(&topic),
        Arc::new(Telemetry::new()),
        &OutboxHandoff::default(),
    );
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));
    assert!(
        !wait_drained(&store, Duration::from_secs(3)).await,
        "a fatal producer cannot deliver"
    );
    assert_eq!(
        store.backlog("p").await.unwrap(),
        5,
        "the entries stay queued, not lost"
    );
    let _ = stop_tx.send(true);
    task.abort();
    settings.delete_topics(&[topic]).await;
}

/// Regression (issue 9): an envelope over the broker's message size blocked its feed forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_the_broker_refuses_for_good_is_parked_and_later_entries_go_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let topic = dhub_testkit::unique_name("relay");
    let mut settings = settings();
    // The producer refuses what the broker would: messages over message.max.bytes.
    settings
        .properties
        .push(("message.max.bytes".into(), "100000".into()));
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();
    enqueue(&store, 0..3).await;
    let poison = enqueue_sized(&store, 3..4, 200_000).await;
    enqueue(&store, 4..10).await;
    let telemetry = Arc::new(Telemetry::new());
    let relay = FeedRelay::new(
        store.clone(),
        AckWriter::start(store.clone(), Arc::new(Telemetry::new())),
        SharedProducer::new(settings.producer().unwrap(), None),
        feed(&topic),
        telemetry.clone(),
        &OutboxHandoff::default(),
    );
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));
    assert!(
        wait_drained(&store, Duration::from_secs(30)).await,
        "the feed's mark passes the poison entry"
    );
    let parked = store.parked(false).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].seq, poison[0].seq);
    assert!(
        parked[0].reason.to_lowercase().contains("size"),
        "{}",
        parked[0].reason
    );
    for n in (0..3).chain(4..10) {
        let history = store.history(&format!("t:{n}")).await.unwrap();
        assert_eq!(history.deliveries.len(), 1, "t:{n} delivered");
    }
    assert!(store.history("t:3").await.unwrap().deliveries.is_empty());
    assert!(telemetry
        .render()
        .contains("dhub_outbox_parked_total{platform=\"p\"} 1"));
    stop_relay(stop_tx, task).await;
    settings.delete_topics(&[topic]).await;
}

/// A relay waiting to start (its topics are created only once the broker answers) takes nothing
/// from the hand-off: while the broker is down, the batches committed meanwhile live in the table
/// only, not also in the hand-off's ring (up to 16 batches of envelopes, ≈70 MB). It subscribes
/// when it runs, and reads what was queued before from the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_has_not_started_holds_no_handed_off_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let topic = dhub_testkit::unique_name("relay");
    let settings = settings();
    let handoff = OutboxHandoff::default();
    let relay = relay(&store, &settings, &topic, &handoff);
    assert_eq!(handoff.listeners(), 0, "no listener before the relay runs");
    // Committed and handed off while the relay waits: it must find them in the table.
    let queued = enqueue(&store, 0..5).await;
    handoff.send(queued);
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));
    assert!(wait_drained(&store, Duration::from_secs(10)).await);
    assert_eq!(handoff.listeners(), 1, "the running relay listens");
    stop_relay(stop_tx, task).await;
    settings.delete_topics(&[topic]).await;
}

/// Entries handed off in memory go out without the relay reading them back; entries queued by
/// another process (no hand-off) are found at the next look at the queue's head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handed_off_and_elsewhere_queued_entries_both_go_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let topic = dhub_testkit::unique_name("relay");
    let settings = settings();
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();
    let handoff = OutboxHandoff::default();
    let relay = relay(&store, &settings, &topic, &handoff);
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));
    let queued = enqueue(&store, 0..10).await;
    handoff.send(queued);
    assert!(wait_drained(&store, Duration::from_secs(10)).await);
    // Queued by "another process": no hand-off.
    enqueue(&store, 10..20).await;
    assert!(wait_drained(&store, Duration::from_secs(10)).await);
    // A hand-off after a gap (entries 21–30 not handed off) makes the relay read the table too.
    enqueue(&store, 20..30).await;
    let after_gap = enqueue(&store, 30..35).await;
    handoff.send(after_gap);
    assert!(wait_drained(&store, Duration::from_secs(10)).await);
    for n in 0..35 {
        assert_eq!(
            store
                .history(&format!("t:{n}"))
                .await
                .unwrap()
                .deliveries
                .len(),
            1,
            "t:{n}"
        );
    }
    stop_relay(stop_tx, task).await;
    settings.delete_topics(&[topic]).await;
}
