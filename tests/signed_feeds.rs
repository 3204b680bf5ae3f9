//! Signed feeds end to end (CONTRACT §4), against the real broker: a hub with `[hub] signing_key`
//! publishes the demo exports, a reference platform started with `--verify-key` (in-process) applies
//! every one of the hub's envelopes, and rejects, counting them, a forged envelope (the hub's
//! signature over other bytes) and an unsigned one that the test produces itself. The deliveries are
//! in the (keyed) audit chain, which `dhub audit verify` accepts.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{repo, start_hub_in_process, HubSetup};
use dhub_platform::{PlatformConfig, View};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

fn test_key(name: &str) -> PathBuf {
    repo().join("support/tests/keys").join(name)
}

/// The county feed's topic under the setup's prefix.
fn county_topic(setup: &HubSetup) -> String {
    format!("{}disclosure.county.371523", setup.prefix)
}

async fn send(topic: &str, key: &str, value: &[u8], signature: Option<&str>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", dhub_testkit::test_brokers())
        .create()
        .unwrap();
    let mut headers = OwnedHeaders::new().insert(Header {
        key: "content-type",
        value: Some("application/json"),
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
                .payload(value)
                .headers(headers),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
}

/// The first message of the topic that carries a `signature` header: (key, value, signature).
fn first_signed_message(topic: &str) -> (String, Vec<u8>, String) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", dhub_testkit::test_brokers())
        .set("group.id", dhub_testkit::unique_name("signed-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let signature = message.headers().and_then(|headers| {
            headers
                .iter()
                .find(|h| h.key == "signature")
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        if let (Some(signature), Some(key), Some(value)) =
            (signature, message.key(), message.payload())
        {
            return (
                String::from_utf8_lossy(key).into_owned(),
                value.to_vec(),
                signature,
            );
        }
    }
    panic!("no signed message on {topic}");
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verifying_platform_applies_the_hubs_envelopes_and_rejects_forged_and_unsigned_ones() {
    let setup = HubSetup::new(None);
    std::fs::write(setup.dir.path().join("audit.key"), "k".repeat(40)).unwrap();
    let text = std::fs::read_to_string(&setup.config_path).unwrap();
    std::fs::write(
        &setup.config_path,
        text.replacen(
            "[hub]\n",
            &format!(
                "[hub]\naudit_key = {{ file = \"audit.key\" }}\nsigning_key = {{ file = \"{}\" }}\n",
                test_key("test-only-hub.key").display()
            ),
            1,
        ),
    )
    .unwrap();

    let topic = county_topic(&setup);
    let views_dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", views_dir.path().join("county.db").display());
    let view = View::open(&db_url).await.unwrap();
    let mut platform = PlatformConfig::new(dhub_testkit::test_brokers(), topic.clone(), db_url);
    platform.group = dhub_testkit::unique_name("verifying-platform");
    platform.verify_keys = vec![test_key("test-only-hub.pub")];
    let (stop_platform, platform_stopped) = tokio::sync::watch::channel(false);
    let platform_task = tokio::spawn(dhub_platform::run(platform, async move {
        let mut stopped = platform_stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));

    let (stop_hub, hub_task) = start_hub_in_process(setup.config());
    setup.copy_samples("first");
    let store = setup.store().await;
    // Every record the hub queued for the county feed is in the view, none rejected.
    wait_until("the county view to show the hub's records", async || {
        let stats = view.stats().await.unwrap();
        let delivered = store.feed_marks().await.unwrap();
        let head = store.head_seq().await.unwrap();
        stats.visible > 0 && delivered.values().all(|mark| *mark >= head) && head > 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let honest = view.stats().await.unwrap();
    assert_eq!(honest.rejected, 0, "{:?}", view.rejected().await.unwrap());

    // A forgery: the hub's signature over other bytes (an envelope of a record the hub never sent).
    let (key, value, signature) = first_signed_message(&topic);
    let forged_id = format!("{key}-forged");
    let forged = String::from_utf8(value)
        .unwrap()
        .replace(&format!("\"{key}\""), &format!("\"{forged_id}\""));
    send(&topic, &forged_id, forged.as_bytes(), Some(&signature)).await;
    // Unsigned, and signed by a key the platform does not trust.
    let unsigned_id = format!("{key}-unsigned");
    let unsigned = forged.replace(&forged_id, &unsigned_id);
    send(&topic, &unsigned_id, unsigned.as_bytes(), None).await;

    wait_until("both bad envelopes to be rejected", async || {
        view.stats().await.unwrap().rejected >= 2
    })
    .await;
    let reasons: Vec<String> = view
        .rejected()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.error)
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("does not verify")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("no `signature` header")),
        "{reasons:?}"
    );
    let visible = view.visible_ids().await.unwrap();
    assert!(!visible.contains(&forged_id) && !visible.contains(&unsigned_id));
    assert_eq!(visible.len() as u64, honest.visible);

    stop_hub.send(true).unwrap();
    hub_task.await.unwrap().unwrap();
    stop_platform.send(true).unwrap();
    platform_task.await.unwrap().unwrap();

    // The deliveries are in the keyed chain, and the chain and the versions check out.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(["audit", "verify", "--config"])
        .arg(&setup.config_path)
        .env("DHUB_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history = store.history(&key).await.unwrap();
    assert!(history
        .deliveries
        .iter()
        .any(|d| d.platform == "county-371523"));
    let pool = sqlx::SqlitePool::connect(&setup.state_url()).await.unwrap();
    let (delivered,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit WHERE kind = 'feed.delivered' AND detail LIKE $1",
    )
    .bind(format!("%\"topic\":\"{topic}\"%"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        delivered > 0,
        "the county deliveries are in the audit chain"
    );
}
