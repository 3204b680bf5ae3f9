//! The outbox relay against the real broker: rows go out in order and are marked delivered with their
//! partition and offset; an idempotent producer that fails fatally is replaced and nothing is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub::telemetry::Telemetry;
use dhub_ingest::OutboxSignal;
use dhub_publish::kafka::KafkaSettings;
use dhub_publish::Relay;
use dhub_store::{NewOutbox, NewVersion, OutboxOp, Store};
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

async fn enqueue(store: &Store, topic: &str, ids: std::ops::Range<u32>) {
    let mut tx = store.begin().await.unwrap();
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
        })
        .await
        .unwrap();
        tx.enqueue(&[NewOutbox {
            record_id: record_id.clone(),
            version: 1,
            platform: "p".into(),
            topic: topic.into(),
            op: OutboxOp::Upsert,
            payload: format!("{{\"record_id\":\"{record_id}\"}}").into_bytes(),
        }])
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
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
        if store.pending_count().await.unwrap() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_that_fails_fatally_is_replaced_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    let topic = dhub_testkit::unique_name("relay");
    let settings = settings();
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();

    let producer = fatally_failed_producer(&settings);

    enqueue(&store, &topic, 0..20).await;
    let rebuild_settings = settings.clone();
    let telemetry = Arc::new(Telemetry::new());
    let relay = Relay::new(
        store.clone(),
        producer,
        Default::default(),
        telemetry.clone(),
        OutboxSignal::default(),
    )
    .with_rebuild(Arc::new(move || rebuild_settings.producer()));
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));

    assert!(
        wait_drained(&store, Duration::from_secs(30)).await,
        "every row delivered after the producer was replaced"
    );
    assert!(
        telemetry
            .render()
            .contains("dhub_producer_replacements_total 1"),
        "{}",
        telemetry.render()
    );
    let history = store.history("t:19").await.unwrap();
    let delivery = history.outbox[0].delivery.expect("delivered");
    assert!(delivery.offset >= 0);

    let _ = stop_tx.send(true);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_replacement_a_fatal_producer_delivers_nothing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    let topic = dhub_testkit::unique_name("relay");
    let settings = settings();
    settings
        .ensure_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .unwrap();
    let producer = fatally_failed_producer(&settings);
    enqueue(&store, &topic, 0..5).await;
    let relay = Relay::new(
        store.clone(),
        producer,
        Default::default(),
        Arc::new(Telemetry::new()),
        OutboxSignal::default(),
    );
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop));
    assert!(
        !wait_drained(&store, Duration::from_secs(3)).await,
        "a fatal producer cannot deliver"
    );
    assert_eq!(
        store.pending_count().await.unwrap(),
        5,
        "the rows stay pending, not lost"
    );
    let _ = stop_tx.send(true);
    task.abort();
}
