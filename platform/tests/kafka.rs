//! `run` against a real Kafka-compatible broker (`DHUB_TEST_BROKERS`, default 127.0.0.1:9092;
//! start one with `bash tests/broker.sh`). Each test creates its own topic: the broker does not
//! auto-create topics, and topics are never shared between tests.

mod common;

use std::time::{Duration, Instant};

use common::{record, retract_envelope, simple, unique_suffix, upsert_envelope, TestDb};
use dhub_platform::{run, PlatformConfig, View};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use tokio::sync::oneshot;

const PARTITIONS: i32 = 3;

fn brokers() -> String {
    std::env::var("DHUB_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

async fn create_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("an admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(name, PARTITIONS, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap_or_else(|e| {
            panic!("cannot create a topic; is the broker up (bash tests/broker.sh)? {e}")
        });
    for result in results {
        result.unwrap_or_else(|(topic, code)| panic!("creating {topic} failed: {code}"));
    }
}

fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.timeout.ms", "10000")
        .create()
        .expect("a producer")
}

/// Sends one message keyed by `key`, with the headers of CONTRACT §4, and waits for the ack.
async fn send(producer: &FutureProducer, topic: &str, key: &str, payload: &str) {
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "content-type",
            value: Some("application/json"),
        })
        .insert(Header {
            key: "schema",
            value: Some("disclosure.v1"),
        });
    producer
        .send(
            FutureRecord::to(topic)
                .key(key)
                .payload(payload)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce failed: {e}"));
}

async fn send_envelope(producer: &FutureProducer, topic: &str, envelope: &Value) {
    let key = envelope["record_id"]
        .as_str()
        .expect("a record_id")
        .to_owned();
    send(producer, topic, &key, &envelope.to_string()).await;
}

/// Polls the view until its visible ids are `expected`, or fails after 30 s.
async fn wait_for_view(view: &View, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = view.visible_ids().await.expect("the view answers");
        if ids == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "view never became {expected:?}; last seen {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The group's committed offsets, summed over the topic's partitions.
fn committed_total(topic: &str, group: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", group)
        .create()
        .expect("a consumer");
    let mut partitions = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        partitions.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|element| match element.offset() {
            Offset::Offset(offset) => offset,
            _ => 0,
        })
        .sum()
}

/// Starts `run` in the background; returns its stop switch and handle.
fn start(
    config: PlatformConfig,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), dhub_platform::PlatformError>>,
) {
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(run(config, async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

async fn stop(
    switch: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), dhub_platform::PlatformError>>,
) {
    let _ = switch.send(());
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("run stops within 30 s of shutdown")
        .expect("run does not panic")
        .expect("run returns Ok after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_on_a_real_broker_becomes_the_records_in_force() {
    let topic = format!("platform-test-{}", unique_suffix());
    create_topic(&topic).await;
    let producer = producer();

    // Phase 1: upserts, an out-of-order stale version, a duplicate, a retraction followed by a
    // late lower-version upsert, and one message that is not an envelope.
    let mut sent = 0i64;
    for id in ["k:1", "k:2", "k:3", "k:4"] {
        send_envelope(&producer, &topic, &upsert_envelope(&simple(id, 2))).await;
        sent += 1;
    }
    for envelope in [
        upsert_envelope(&simple("k:1", 1)),
        upsert_envelope(&simple("k:2", 2)),
        retract_envelope("k:3", 3, "revoked"),
        upsert_envelope(&simple("k:3", 2)),
    ] {
        send_envelope(&producer, &topic, &envelope).await;
        sent += 1;
    }
    send(&producer, &topic, "k:9", "{\"op\":\"upsert\",").await;
    sent += 1;

    let db = TestDb::sqlite();
    // Opened (and migrated) before `run`, so the two never migrate the same file at once.
    let view = db.view().await;
    let config = PlatformConfig::new(brokers(), topic.clone(), db.url());
    let group = config.group.clone();
    let (switch, handle) = start(config.clone());

    wait_for_view(&view, &["k:1", "k:2", "k:4"]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while view.stats().await.unwrap().rejected < 1 {
        assert!(
            Instant::now() < deadline,
            "the bad message was never rejected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view.get("k:1").await.unwrap().unwrap()["version"], 2);
    assert_eq!(view.get("k:3").await.unwrap(), None);
    let rejected = view.rejected().await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].topic, topic);
    stop(switch, handle).await;

    // Every applied message's offset is committed by the clean stop.
    assert_eq!(committed_total(&topic, &group), sent);
    let stats = view.stats().await.unwrap();
    let applied: i64 = stats.partitions.iter().map(|p| p.last_offset + 1).sum();
    assert!(applied <= sent, "last offsets {:?}", stats.partitions);

    // Phase 2: the platform restarts in the same group and picks up where it stopped: a
    // re-publication with a higher version brings k:3 back, k:2 is withdrawn.
    let republished = record(
        "k:3",
        4,
        "茌平某商贸有限公司",
        "茌市监罚〔2026〕40号",
        "茌平区市场监督管理局",
        "2026-05-01",
        "penalty",
    );
    send_envelope(&producer, &topic, &upsert_envelope(&republished)).await;
    send_envelope(&producer, &topic, &retract_envelope("k:2", 3, "redecided")).await;
    sent += 2;
    let (switch, handle) = start(config);
    wait_for_view(&view, &["k:1", "k:3", "k:4"]).await;
    assert_eq!(view.get("k:3").await.unwrap().unwrap(), republished);
    stop(switch, handle).await;
    assert_eq!(committed_total(&topic, &group), sent);
    // The restart did not re-read phase 1: its bad message was rejected once only.
    assert_eq!(view.rejected().await.unwrap().len(), 1);
    view.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_on_a_real_broker_fills_a_postgres_view() {
    let topic = format!("platform-test-{}", unique_suffix());
    create_topic(&topic).await;
    let producer = producer();
    let total = 300;
    for n in 0..total {
        let id = format!("bulk:{n:04}");
        send_envelope(&producer, &topic, &upsert_envelope(&simple(&id, 1))).await;
    }
    for n in (0..total).step_by(3) {
        let id = format!("bulk:{n:04}");
        send_envelope(
            &producer,
            &topic,
            &retract_envelope(&id, 2, "publicity_expired"),
        )
        .await;
    }
    let expected: Vec<String> = (0..total)
        .filter(|n| n % 3 != 0)
        .map(|n| format!("bulk:{n:04}"))
        .collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();

    let db = TestDb::postgres().await;
    let view = db.view().await;
    let mut config = PlatformConfig::new(brokers(), topic.clone(), db.url());
    config.group = format!("platform-test-group-{}", unique_suffix());
    let (switch, handle) = start(config);
    let started = Instant::now();
    wait_for_view(&view, &expected).await;
    let stats = view.stats().await.unwrap();
    assert_eq!(stats.tombstones, 100);
    eprintln!(
        "postgres view: {} messages applied in {:?}",
        total + total / 3,
        started.elapsed()
    );
    stop(switch, handle).await;
    view.close().await;
}

/// A plain HTTP/1.1 GET over a fresh connection; returns the status code and the body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_the_search_api_while_it_consumes() {
    let topic = format!("platform-test-{}", unique_suffix());
    create_topic(&topic).await;
    let producer = producer();
    send_envelope(&producer, &topic, &upsert_envelope(&simple("api:1", 1))).await;

    let db = TestDb::sqlite();
    let addr = {
        // A port that was free a moment ago.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut config = PlatformConfig::new(brokers(), topic.clone(), db.url());
    config.listen = Some(addr);
    let (switch, handle) = start(config);

    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        if let Some((200, body)) = http_get(addr, "/records/api:1").await {
            break body;
        }
        assert!(Instant::now() < deadline, "the API never served api:1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(record["record_id"], "api:1");
    let (status, stats) = http_get(addr, "/stats").await.expect("stats answer");
    assert_eq!(status, 200);
    assert_eq!(stats["visible"], 1);
    assert_eq!(stats["partitions"][0]["topic"], topic.as_str());

    stop(switch, handle).await;
    // Stopped means stopped: the port no longer answers.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Regression: a platform started before the hub has created its topic used to sit idle until
/// librdkafka's next metadata refresh (5 minutes by default); it now waits for the topic and then
/// consumes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_started_before_its_topic_exists_consumes_once_it_appears() {
    let topic = format!("platform-test-{}", unique_suffix());
    let db = TestDb::sqlite();
    let view = db.view().await;
    let (switch, handle) = start(PlatformConfig::new(brokers(), topic.clone(), db.url()));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    create_topic(&topic).await;
    let producer = producer();
    send_envelope(&producer, &topic, &upsert_envelope(&simple("late:1", 1))).await;
    let started = Instant::now();
    wait_for_view(&view, &["late:1"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    stop(switch, handle).await;
    view.close().await;
}

/// Sends `payload` keyed by `key` with a `signature` header (when given) besides the usual ones.
async fn send_signed(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &str,
    signature: Option<&str>,
) {
    let mut headers = OwnedHeaders::new()
        .insert(Header {
            key: "content-type",
            value: Some("application/json"),
        })
        .insert(Header {
            key: "schema",
            value: Some("disclosure.v1"),
        });
    if let Some(signature) = signature {
        headers = headers.insert(Header {
            key: "signature",
            value: Some(signature),
        });
    }
    producer
        .send(
            FutureRecord::to(topic)
                .key(key)
                .payload(payload)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce failed: {e}"));
}

fn test_key(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../support/tests/keys")
        .join(name)
}

/// CONTRACT §4 signed feeds: with `--verify-key`, a valid signature is applied; a forged one
/// (the hub's key id over another key's signature), an unsigned envelope, a signature by a key
/// the platform does not trust and a signed value altered afterwards are rejected, with reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_envelopes_signed_by_a_trusted_key_are_applied() {
    use dhub_support::signature::Signer;

    let topic = format!("platform-test-{}", unique_suffix());
    create_topic(&topic).await;
    let producer = producer();
    let hub = Signer::from_file(&test_key("test-only-hub.key")).unwrap();
    let other = Signer::from_file(&test_key("test-only-other.key")).unwrap();

    let value = |id: &str| upsert_envelope(&simple(id, 1)).to_string();
    // Valid: signed by the hub over exactly these bytes (the lead's hub signs with Signer::sign).
    let good = value("s:good");
    send_signed(
        &producer,
        &topic,
        "s:good",
        &good,
        Some(&hub.sign(good.as_bytes())),
    )
    .await;
    // Unsigned.
    send_signed(&producer, &topic, "s:unsigned", &value("s:unsigned"), None).await;
    // Signed by a key the platform does not trust.
    let foreign = value("s:foreign");
    let signature = other.sign(foreign.as_bytes());
    send_signed(&producer, &topic, "s:foreign", &foreign, Some(&signature)).await;
    // Forged: the hub's key id in front of another key's signature.
    let forged = value("s:forged");
    let signature = other
        .sign(forged.as_bytes())
        .replace(other.key_id().as_str(), hub.key_id().as_str());
    send_signed(&producer, &topic, "s:forged", &forged, Some(&signature)).await;
    // Altered: a genuine signature of the hub, over a value changed afterwards.
    let original = value("s:altered");
    let signature = hub.sign(original.as_bytes());
    let altered = original.replace("茌平某商贸有限公司", "另一家公司");
    assert_ne!(altered, original);
    send_signed(&producer, &topic, "s:altered", &altered, Some(&signature)).await;

    let db = TestDb::sqlite();
    let view = db.view().await;
    let mut config = PlatformConfig::new(brokers(), topic.clone(), db.url());
    config.verify_keys = vec![test_key("test-only-hub.pub")];
    let (switch, handle) = start(config);

    let deadline = Instant::now() + Duration::from_secs(30);
    while view.stats().await.unwrap().rejected < 4 {
        assert!(
            Instant::now() < deadline,
            "the bad envelopes were never all rejected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_view(&view, &["s:good"]).await;
    stop(switch, handle).await;

    let reasons: Vec<String> = view
        .rejected()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.error)
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    let count = |needle: &str| reasons.iter().filter(|r| r.contains(needle)).count();
    assert_eq!(count("no `signature` header"), 1, "{reasons:?}");
    assert_eq!(
        count("not among this platform's verification keys"),
        1,
        "{reasons:?}"
    );
    assert_eq!(count("does not verify"), 2, "{reasons:?}");
}

#[tokio::test]
async fn a_verify_key_that_is_not_a_public_key_stops_the_start() {
    let db = TestDb::sqlite();
    let mut config = PlatformConfig::new(brokers(), "disclosure.county.371523", db.url());
    config.verify_keys = vec![test_key("test-only-hub.key")];
    let err = run(config, std::future::pending()).await.unwrap_err();
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("test-only-hub.key") && text.contains("openssl pkey"),
        "{text}"
    );
    assert!(!text.contains("MC4C"), "{text}");
}

/// Partitions an operator adds to a feed topic are read too: the subscriber assigns itself the
/// topic's partitions, so it looks for new ones (every 30 s) rather than waiting for a rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_added_to_the_feed_later_are_read_too() {
    let topic = format!("platform-test-{}", unique_suffix());
    create_topic(&topic).await;
    let db = TestDb::sqlite();
    let view = db.view().await;
    let (switch, handle) = start(PlatformConfig::new(brokers(), topic.clone(), db.url()));
    let producer = producer();
    send_envelope(&producer, &topic, &upsert_envelope(&simple("k:1", 1))).await;
    wait_for_view(&view, &["k:1"]).await;

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("an admin client");
    let added = admin
        .create_partitions(
            &[rdkafka::admin::NewPartitions::new(
                &topic,
                PARTITIONS as usize + 1,
            )],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await;
    let added = match added {
        Err(rdkafka::error::KafkaError::AdminOp(
            rdkafka::types::RDKafkaErrorCode::UnsupportedFeature,
        )) => {
            // tansu 0.6.0 has no CreatePartitions; Apache Kafka (DHUB_TEST_BROKERS) runs this.
            eprintln!("SKIPPED partitions_added_to_the_feed_later_are_read_too: the broker cannot add partitions (CreatePartitions unsupported)");
            stop(switch, handle).await;
            return;
        }
        other => other.expect("the broker answers"),
    };
    for result in added {
        result.unwrap_or_else(|(topic, code)| panic!("adding a partition to {topic}: {code}"));
    }
    let envelope = upsert_envelope(&simple("k:2", 1));
    producer
        .send(
            FutureRecord::to(&topic)
                .partition(PARTITIONS)
                .key("k:2")
                .payload(&envelope.to_string()),
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to the new partition failed: {e}"));
    // Within the next check (30 s) and the wait's own 30 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    while view.visible_ids().await.unwrap() != ["k:1", "k:2"] {
        assert!(
            Instant::now() < deadline,
            "the record on the added partition never reached the view"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(switch, handle).await;
}
