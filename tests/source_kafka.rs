//! The `kafka` source against the real broker (`DHUB_TEST_BROKERS`) and the real ingest path: every
//! message is stored exactly once with `topic/partition@offset` as its origin, bad messages are held
//! at the document stage without blocking their partition, positions per partition are stored with
//! the records, a revocation message retracts, and neither a rebalance (two consumers in one group,
//! one stopped mid-run) nor SIGKILL of the real `dhub` loses, skips or re-stores a message.
//!
//! Every test creates its topics and groups under unique names and deletes them at the end.

mod intake;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dhub_connectors::HubSettings;
use dhub_schema::intake::{IntakeBatch, IntakeError, IntakeReport, IntakeSink, Origin, Position};
use dhub_store::{OutboxOp, QuarantineStage, Store};
use dhub_testkit::kafka::{create_topic, produce, Cleanup, Message};
use dhub_testkit::{test_brokers, unique_name};
use futures::future::BoxFuture;
use intake::{ingestor, outbox, platforms_of, repo, sqlite_store, wait_until, Running};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::Value;

fn hub() -> HubSettings {
    HubSettings {
        kafka_brokers: test_brokers(),
        kafka_properties: Vec::new(),
    }
}

fn sample_lines(stage: &str) -> Vec<String> {
    let folder = repo().join("mappings/samples/dept-kafka").join(stage);
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(text.lines().map(str::to_string));
    }
    lines
}

/// A message keyed by its case id, as the department system sends them.
fn case_message(line: &str) -> Message {
    let value: Value = serde_json::from_str(line).unwrap();
    Message {
        key: Some(value["case_id"].as_str().unwrap().to_string()),
        value: line.as_bytes().to_vec(),
        partition: None,
    }
}

/// A synthetic case (valid, legal person, 东阿县交通运输局) with `remarks` telling its version.
fn load_case(case: usize, version: u32) -> Message {
    let mut value: Value = serde_json::from_str(&sample_lines("first")[0]).unwrap();
    let id = format!("LOAD-{case:05}");
    value["case_id"] = Value::String(id.clone());
    value["doc_no"] = Value::String(format!("东交罚〔2026〕{case}号"));
    value["remarks"] = Value::String(format!("v{version}"));
    Message {
        key: Some(id),
        value: serde_json::to_vec(&value).unwrap(),
        partition: None,
    }
}

fn source_toml(name: &str, topic: &str, group: &str, extra: &str) -> String {
    format!(
        "name = \"{name}\"\nkind = \"kafka\"\nmapping = \"mappings/dept-kafka.toml\"\ntopic = \"{topic}\"\ngroup = \"{group}\"\n{extra}"
    )
}

/// The next offset of every partition that received messages: where the source must end up.
fn expected_positions(topic: &str, placed: &[(i32, i64)]) -> Vec<(String, String)> {
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for (partition, offset) in placed {
        let entry = next.entry(*partition).or_insert(0);
        *entry = (*entry).max(offset + 1);
    }
    let mut positions: Vec<(String, String)> = next
        .into_iter()
        .map(|(partition, offset)| (format!("{topic}/{partition}"), offset.to_string()))
        .collect();
    positions.sort();
    positions
}

async fn wait_for_positions(store: &Store, source: &str, expected: &[(String, String)]) {
    let start = std::time::Instant::now();
    loop {
        let stored = store.source_positions(source).await.unwrap();
        if stored == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the positions did not reach the end of the topic: stored {stored:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The group's committed offsets (for lag monitoring) of `partitions`.
fn committed(group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, Offset> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", test_brokers())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut wanted = TopicPartitionList::new();
    for partition in 0..partitions {
        wanted.add_partition(topic, partition);
    }
    consumer
        .committed_offsets(wanted, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect()
}

/// Deletes what a test created on the broker when the test ends, passed or not.
fn cleanup(topics: &[&str], groups: &[&str]) -> Cleanup {
    Cleanup {
        brokers: test_brokers(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_stored_once_with_their_origin_and_bad_ones_held_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let ingestor = ingestor(&store);
    let topic = unique_name("djt.cases");
    let group = unique_name("dhub-djt");
    let _cleanup = cleanup(&[&topic], &[&group]);
    create_topic(&test_brokers(), &[], &topic, 3).await.unwrap();

    // The sample cases keyed by case id, then a malformed and an oversized message on partition 0,
    // then a good case behind them on the same partition.
    let mut messages: Vec<Message> = sample_lines("first")
        .iter()
        .map(|l| case_message(l))
        .collect();
    let mut malformed = Message::new("{\"case_id\": \"DEJT-2026-0999\", \"category\": ");
    malformed.partition = Some(0);
    let mut oversized = load_case(1, 1);
    let padding = "很".repeat(2000);
    let mut value: Value = serde_json::from_slice(&oversized.value).unwrap();
    value["facts"] = Value::String(padding);
    oversized.value = serde_json::to_vec(&value).unwrap();
    oversized.partition = Some(0);
    let mut behind = load_case(2, 1);
    behind.partition = Some(0);
    messages.extend([malformed, oversized, behind]);
    let placed = produce(&test_brokers(), &[], &topic, &messages)
        .await
        .unwrap();
    let at = |index: usize| format!("{topic}/{}@{}", placed[index].0, placed[index].1);

    let running = Running::start(
        &source_toml(
            "dept-kafka",
            &topic,
            &group,
            "max_message_bytes = 4096\nbatch_messages = 4\n",
        ),
        dir.path(),
        &hub(),
        &ingestor,
    )
    .await;
    let expected = expected_positions(&topic, &placed);
    wait_for_positions(&store, "dept-kafka", &expected).await;

    // Seven valid sample cases and the case behind the bad messages: stored once, each with its
    // message as origin.
    let samples = sample_lines("first");
    for (index, line) in samples.iter().enumerate() {
        let key = serde_json::from_str::<Value>(line).unwrap()["case_id"]
            .as_str()
            .unwrap()
            .to_string();
        let history = store.history(&format!("dept-kafka:{key}")).await.unwrap();
        if key == "DEJT-2026-0049" {
            assert!(
                history.versions.is_empty(),
                "the bad USCC case is not stored"
            );
            continue;
        }
        assert_eq!(history.versions.len(), 1, "{key}");
        assert_eq!(history.versions[0].origin, at(index), "{key}");
    }
    let behind = store.history("dept-kafka:LOAD-00002").await.unwrap();
    assert_eq!(
        behind.versions.len(),
        1,
        "the bad messages did not block their partition"
    );
    assert_eq!(behind.versions[0].origin, at(samples.len() + 2));

    let held = store.quarantine_list(false).await.unwrap();
    assert_eq!(held.len(), 3, "{held:?}");
    let invalid = held
        .iter()
        .find(|q| q.stage == QuarantineStage::Validation)
        .unwrap();
    assert_eq!(
        invalid.record_id.as_deref(),
        Some("dept-kafka:DEJT-2026-0049")
    );
    let index = samples
        .iter()
        .position(|l| l.contains("DEJT-2026-0049"))
        .unwrap();
    assert_eq!(invalid.origin, at(index));
    assert!(
        invalid.reason.starts_with("counterparty.uscc:"),
        "{}",
        invalid.reason
    );
    let documents: Vec<_> = held
        .iter()
        .filter(|q| q.stage == QuarantineStage::Document)
        .collect();
    assert_eq!(documents.len(), 2);
    let malformed = documents
        .iter()
        .find(|q| q.origin == at(samples.len()))
        .unwrap();
    assert!(
        malformed
            .reason
            .starts_with(&format!("{}:", at(samples.len()))),
        "the reason names topic/partition@offset: {}",
        malformed.reason
    );
    let oversized = documents
        .iter()
        .find(|q| q.origin == at(samples.len() + 1))
        .unwrap();
    assert!(
        oversized
            .reason
            .contains("over the source's limit of 4096 bytes (max_message_bytes)"),
        "{}",
        oversized.reason
    );
    assert!(
        oversized.payload.is_empty(),
        "an oversized message is not kept"
    );

    // The revoking second export: a new version, retracted from every platform that had it.
    let revocations: Vec<Message> = sample_lines("second")
        .iter()
        .map(|l| case_message(l))
        .collect();
    let mut placed_all = placed.clone();
    placed_all.extend(
        produce(&test_brokers(), &[], &topic, &revocations)
            .await
            .unwrap(),
    );
    let expected = expected_positions(&topic, &placed_all);
    wait_for_positions(&store, "dept-kafka", &expected).await;
    let rows = outbox(&store, "dept-kafka:DEJT-2026-0046").await;
    assert_eq!(
        platforms_of(&rows, OutboxOp::Upsert, 1),
        ["donge-county", "liaocheng-city", "shandong-province"]
    );
    assert_eq!(
        platforms_of(&rows, OutboxOp::Retract, 2),
        ["donge-county", "liaocheng-city", "shandong-province"]
    );
    assert!(
        store
            .latest("dept-kafka:DEJT-2026-0046")
            .await
            .unwrap()
            .unwrap()
            .retracted
    );

    running.stop().await;
    // Offsets were committed to the group after the records were stored, for lag monitoring.
    let group_offsets = committed(&group, &topic, 3);
    for (scope, next) in &expected {
        let partition: i32 = scope.rsplit_once('/').unwrap().1.parse().unwrap();
        assert_eq!(
            group_offsets.get(&partition),
            Some(&Offset::Offset(next.parse().unwrap())),
            "{scope}"
        );
    }

    // A restart resumes at the stored positions: nothing is read again.
    let records_before = store.current_records(None, 1000).await.unwrap().len();
    let running = Running::start(
        &source_toml("dept-kafka", &topic, &group, ""),
        dir.path(),
        &hub(),
        &ingestor,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.stop().await;
    assert_eq!(
        store.source_positions("dept-kafka").await.unwrap(),
        expected
    );
    assert_eq!(
        store.current_records(None, 1000).await.unwrap().len(),
        records_before
    );
    assert_eq!(
        store.quarantine_list(false).await.unwrap().len(),
        3,
        "nothing held twice"
    );
}

/// What the store must hold after `cases` cases were sent once and the first `updated` of them a
/// second time: every case at the version of the messages sent for it, each version's content that
/// of its own message.
async fn assert_stored_exactly_once(store: &Store, source: &str, cases: usize, updated: usize) {
    let records = store.current_records(None, 100_000).await.unwrap();
    assert_eq!(records.len(), cases, "every case stored");
    for record in &records {
        let case: usize = record
            .record_id
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let expected = if case < updated { 2 } else { 1 };
        assert_eq!(
            record.version, expected,
            "{}: stored once per message, never an old message over a newer one",
            record.record_id
        );
        let history = store.history(&record.record_id).await.unwrap();
        let remarks: Vec<String> = history
            .versions
            .iter()
            .map(|v| {
                serde_json::from_str::<Value>(&v.record_json).unwrap()["remarks"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let want: Vec<String> = (1..=expected).map(|v| format!("v{v}")).collect();
        assert_eq!(remarks, want, "{}", record.record_id);
        assert!(
            history.versions.iter().all(|v| v.source_name == source),
            "{}",
            record.record_id
        );
    }
}

/// The messages of the load tests: every case once, then the first `updated` again (same key, so
/// the second version follows the first in its partition).
fn load_messages(cases: usize, updated: usize) -> Vec<Message> {
    (0..cases)
        .map(|case| load_case(case, 1))
        .chain((0..updated).map(|case| load_case(case, 2)))
        .collect()
}

/// One batch a consumer stored: the message offsets it held, per partition.
#[derive(Debug, Clone)]
struct StoredBatch {
    consumer: &'static str,
    offsets: BTreeMap<i32, Vec<i64>>,
}

/// The real ingest path, recording which consumer stored which messages; each batch takes at least
/// `pause`, so that a run lasts long enough to be interrupted.
struct RecordingSink {
    inner: Arc<dhub_ingest::Ingestor>,
    consumer: &'static str,
    pause: Duration,
    stored: Arc<Mutex<Vec<StoredBatch>>>,
}

impl IntakeSink for RecordingSink {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>> {
        Box::pin(async move {
            tokio::time::sleep(self.pause).await;
            let report = self.inner.submit(batch.clone()).await?;
            let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
            for item in &batch.items {
                if let Origin::Message {
                    partition, offset, ..
                } = item.origin()
                {
                    offsets.entry(*partition).or_default().push(*offset);
                }
            }
            self.stored.lock().unwrap().push(StoredBatch {
                consumer: self.consumer,
                offsets,
            });
            Ok(report)
        })
    }

    fn positions<'a>(
        &'a self,
        source: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Position>, IntakeError>> {
        self.inner.positions(source)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_in_one_group_store_every_message_once_when_one_stops_mid_run() {
    let db = dhub_testkit::fresh_postgres_db()
        .await
        .expect("postgres for tests (DHUB_TEST_POSTGRES)");
    let store = Store::connect(db.url()).await.unwrap();
    let ingestor = ingestor(&store);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_name("djt.cases");
    let group = unique_name("dhub-djt");
    let _cleanup = cleanup(&[&topic], &[&group]);
    create_topic(&test_brokers(), &[], &topic, 4).await.unwrap();
    let (cases, updated) = (1800, 600);
    let placed = produce(&test_brokers(), &[], &topic, &load_messages(cases, updated))
        .await
        .unwrap();
    let expected = expected_positions(&topic, &placed);
    assert_eq!(
        expected.len(),
        4,
        "the messages are spread over every partition"
    );
    let ends: BTreeMap<i32, i64> = expected
        .iter()
        .map(|(scope, next)| {
            (
                scope.rsplit_once('/').unwrap().1.parse().unwrap(),
                next.parse().unwrap(),
            )
        })
        .collect();

    let stored = Arc::new(Mutex::new(Vec::<StoredBatch>::new()));
    let sink = |consumer| -> Arc<dyn IntakeSink> {
        Arc::new(RecordingSink {
            inner: ingestor.clone(),
            consumer,
            pause: Duration::from_millis(30),
            stored: stored.clone(),
        })
    };
    // A short heartbeat, so that the group rebalances soon after the second consumer joins.
    let toml = source_toml(
        "dept-kafka",
        &topic,
        &group,
        "batch_messages = 10\nbatch_linger_ms = 20\n[properties]\n\"heartbeat.interval.ms\" = \"300\"\n",
    );
    let first = Running::start_on(&toml, dir.path(), &hub(), sink("first"), &store).await;
    wait_until(
        "the first consumer to store a batch",
        Duration::from_secs(60),
        || async { !stored.lock().unwrap().is_empty() },
    )
    .await;
    // The second joins: the group rebalances while the first is storing, and splits the partitions.
    let second = Running::start_on(&toml, dir.path(), &hub(), sink("second"), &store).await;
    wait_until(
        "the second consumer to store batches",
        Duration::from_secs(60),
        || async {
            stored
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b.consumer == "second")
                .count()
                >= 3
        },
    )
    .await;
    // The first leaves mid-run: its partitions move to the second, which resumes where the first
    // stored its last batch of each.
    let positions: BTreeMap<String, String> = store
        .source_positions("dept-kafka")
        .await
        .unwrap()
        .into_iter()
        .collect();
    first.stop().await;
    let unfinished: Vec<&(String, String)> = expected
        .iter()
        .filter(|(scope, next)| positions.get(scope) != Some(next))
        .collect();
    assert!(!unfinished.is_empty(), "the first consumer stops mid-run");
    wait_for_positions(&store, "dept-kafka", &expected).await;
    assert!(!second.is_finished());
    second.stop().await;

    // Both held partitions at once, and the second took over the first's.
    let batches = stored.lock().unwrap().clone();
    let partitions_of = |consumer: &str| -> BTreeSet<i32> {
        batches
            .iter()
            .filter(|b| b.consumer == consumer)
            .flat_map(|b| b.offsets.keys().copied())
            .collect()
    };
    let last_first = batches.iter().rposition(|b| b.consumer == "first").unwrap();
    let taken_over: BTreeSet<i32> = batches[last_first + 1..]
        .iter()
        .flat_map(|b| b.offsets.keys().copied())
        .filter(|p| partitions_of("first").contains(p))
        .collect();
    assert!(
        !taken_over.is_empty(),
        "the second read on where the first stopped: {batches:?}"
    );
    assert!(
        batches[..last_first].iter().any(|b| b.consumer == "second"),
        "the group split the partitions between the two consumers"
    );
    // Every message of every partition was stored exactly once, in offset order.
    for (partition, end) in &ends {
        let offsets: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.offsets.get(partition).cloned().unwrap_or_default())
            .collect();
        assert_eq!(
            offsets,
            (0..*end).collect::<Vec<i64>>(),
            "partition {partition}: each message once, none skipped"
        );
    }
    assert_stored_exactly_once(&store, "dept-kafka", cases, updated).await;
    assert!(store.quarantine_list(true).await.unwrap().is_empty());
    store.close().await;
    db.drop().await.unwrap();
}

/// Messages stored so far, from the stored positions (every partition starts at offset 0).
async fn stored_messages(store: &Store, source: &str) -> usize {
    store
        .source_positions(source)
        .await
        .unwrap()
        .iter()
        .map(|(_, next)| next.parse::<usize>().unwrap())
        .sum()
}

/// `dhub run` as a child process, killed when dropped.
struct HubProcess(Option<Child>);

impl HubProcess {
    fn start(config: &Path) -> HubProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_dhub"))
            .args(["run", "--config"])
            .arg(config)
            .env(
                "DHUB_LOG",
                std::env::var("DHUB_TEST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dhub run");
        HubProcess(Some(child))
    }

    fn kill_hard(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    async fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap()
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_hub_mid_topic_loses_skips_and_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique_name("djt.cases");
    let group = unique_name("dhub-djt");
    let prefix = format!("{}.", unique_name("t"));
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            r#"[hub]
state = "sqlite://{state}"
listen = "127.0.0.1:{listen}"
drain_timeout_ms = 20000

[kafka]
brokers = "{brokers}"
topic_prefix = "{prefix}"

[[platform]]
name = "donge-county"
level = "county"
division = "371524"

[[source]]
name = "dept-kafka"
kind = "kafka"
mapping = "{mapping}"
topic = "{topic}"
group = "{group}"
batch_messages = 10
batch_linger_ms = 20
# A killed hub's partitions wait for its session to expire before the group hands them on.
properties = {{ "session.timeout.ms" = "6000", "heartbeat.interval.ms" = "500" }}
"#,
            state = dir.path().join("state.db").display(),
            brokers = test_brokers(),
            mapping = repo().join("mappings/dept-kafka.toml").display(),
        ),
    )
    .unwrap();
    let feed = format!("{prefix}disclosure.county.371524");
    let _cleanup = cleanup(&[&topic, &feed], &[&group]);
    create_topic(&test_brokers(), &[], &topic, 3).await.unwrap();
    let (cases, updated) = (1500, 500);
    let messages = load_messages(cases, updated);
    let (early, late) = messages.split_at(cases);
    let mut placed = produce(&test_brokers(), &[], &topic, early).await.unwrap();

    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("state.db").display()
    ))
    .await
    .unwrap();
    let mut hub = HubProcess::start(&config);
    // Killed at different moments while it stores batches; the second versions arrive meanwhile.
    let mut before = 0;
    for (round, delay_ms) in [300u64, 50, 500, 150].into_iter().enumerate() {
        wait_until(
            "the restarted hub to store batches",
            Duration::from_secs(60),
            || async { stored_messages(&store, "dept-kafka").await > before },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        hub.kill_hard();
        before = stored_messages(&store, "dept-kafka").await;
        assert!(before < messages.len(), "killed mid-run");
        if round == 1 {
            placed.extend(produce(&test_brokers(), &[], &topic, late).await.unwrap());
        }
        hub = HubProcess::start(&config);
    }
    let expected = expected_positions(&topic, &placed);
    wait_for_positions(&store, "dept-kafka", &expected).await;
    let status = hub.terminate().await;
    assert!(
        status.success(),
        "dhub run exits 0 after SIGTERM: {status:?}"
    );

    assert_stored_exactly_once(&store, "dept-kafka", cases, updated).await;
    assert_eq!(
        store.pending_count().await.unwrap(),
        0,
        "every version published"
    );
    store.close().await;
}
