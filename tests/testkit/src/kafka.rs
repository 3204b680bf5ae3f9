//! Kafka for tests, benchmarks and the demo: topics created and deleted through the admin API (tansu,
//! like production clusters, does not create topics on first use), and JSONL files produced one line
//! per message, as a department system publishes its cases.

use std::time::Duration;

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// One message to send: its key (optional), its value, and its partition (`None`: by key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: Option<String>,
    pub value: Vec<u8>,
    pub partition: Option<i32>,
}

impl Message {
    pub fn new(value: impl Into<Vec<u8>>) -> Message {
        Message {
            key: None,
            value: value.into(),
            partition: None,
        }
    }
}

fn client_config(brokers: &str, properties: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (key, value) in properties {
        config.set(key, value);
    }
    config.set("bootstrap.servers", brokers);
    config
}

fn admin(
    brokers: &str,
    properties: &[(String, String)],
) -> anyhow::Result<AdminClient<DefaultClientContext>> {
    client_config(brokers, properties)
        .create()
        .with_context(|| format!("cannot create a kafka admin client for {brokers}"))
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .operation_timeout(Some(ADMIN_TIMEOUT))
        .request_timeout(Some(ADMIN_TIMEOUT))
}

/// Creates `topic` with `partitions` (replication 1) unless it exists. Returns whether it was
/// created.
pub async fn create_topic(
    brokers: &str,
    properties: &[(String, String)],
    topic: &str,
    partitions: i32,
) -> anyhow::Result<bool> {
    let admin = admin(brokers, properties)?;
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &options(),
        )
        .await
        .with_context(|| format!("the broker at {brokers} did not answer topic creation"))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => bail!("cannot create topic {topic}: {code}"),
        None => bail!("the broker gave no answer for topic {topic}"),
    }
}

/// Deletes the topics (those that do not exist are no error): tests delete what they created.
pub async fn delete_topics(
    brokers: &str,
    properties: &[(String, String)],
    topics: &[&str],
) -> anyhow::Result<()> {
    let admin = admin(brokers, properties)?;
    let results = admin
        .delete_topics(topics, &options())
        .await
        .with_context(|| format!("the broker at {brokers} did not answer topic deletion"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((topic, code)) => bail!("cannot delete topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// Deletes consumer groups (those unknown are no error).
pub async fn delete_groups(brokers: &str, groups: &[&str]) -> anyhow::Result<()> {
    let admin = admin(brokers, &[])?;
    let results = admin
        .delete_groups(groups, &options())
        .await
        .with_context(|| format!("the broker at {brokers} did not answer group deletion"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((group, code)) => bail!("cannot delete consumer group {group}: {code}"),
        }
    }
    Ok(())
}

/// Deletes topics and consumer groups when dropped, also when a test panics first (on a helper
/// thread with its own runtime: `Drop` cannot await, and blocking the test's runtime could deadlock
/// it). Failures are printed, not raised: a test's outcome does not hang on its cleanup.
pub struct Cleanup {
    pub brokers: String,
    pub topics: Vec<String>,
    pub groups: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let brokers = self.brokers.clone();
        let topics = std::mem::take(&mut self.topics);
        let groups = std::mem::take(&mut self.groups);
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
                // The admin API refuses an empty list.
                if topics.is_empty() {
                } else if let Err(error) = delete_topics(&brokers, &[], &topics).await {
                    eprintln!("dhub-testkit: could not delete test topics {topics:?}: {error:#}");
                }
                if groups.is_empty() {
                } else if let Err(error) = delete_groups(&brokers, &groups).await {
                    eprintln!("dhub-testkit: could not delete test groups {groups:?}: {error:#}");
                }
            });
        });
        let _ = worker.join();
    }
}

/// The messages of a JSONL text: one per non-blank line, its value the line as written. With
/// `key_pointer` (a JSON pointer such as `/case_id`), each line must be a JSON object with a string
/// or number there, which becomes the key (so every version of a case lands in one partition, in
/// order). Errors name the line.
pub fn jsonl_messages(text: &str, key_pointer: Option<&str>) -> anyhow::Result<Vec<Message>> {
    let mut messages = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let key = match key_pointer {
            None => None,
            Some(pointer) => {
                let value: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("line {number}: not JSON"))?;
                match value.pointer(pointer) {
                    Some(serde_json::Value::String(key)) => Some(key.clone()),
                    Some(serde_json::Value::Number(key)) => Some(key.to_string()),
                    _ => bail!("line {number}: no string or number at {pointer} for the key"),
                }
            }
        };
        messages.push(Message {
            key,
            value: line.as_bytes().to_vec(),
            partition: None,
        });
    }
    Ok(messages)
}

/// Sends every message to `topic` with an idempotent producer (`acks=all`) and waits until the
/// broker has them all. Returns `(partition, offset)` of each, in order.
///
/// Each message travels in a record batch of its own: tansu 0.6 answers a fetch only from the first
/// offset of a stored batch (its storage looks batches up by base offset), so a consumer resuming in
/// the middle of a multi-message batch would be served the *next* batch and skip the rest of this
/// one. Apache Kafka returns the batch holding the offset; with single-message batches both behave
/// alike.
pub async fn produce(
    brokers: &str,
    properties: &[(String, String)],
    topic: &str,
    messages: &[Message],
) -> anyhow::Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = client_config(brokers, properties)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("batch.num.messages", "1")
        .create()
        .with_context(|| format!("cannot create a kafka producer for {brokers}"))?;
    let sends: Vec<_> = messages
        .iter()
        .map(|message| {
            let mut record = FutureRecord::<str, [u8]>::to(topic).payload(&message.value);
            if let Some(key) = &message.key {
                record = record.key(key.as_str());
            }
            if let Some(partition) = message.partition {
                record = record.partition(partition);
            }
            producer.send(record, Duration::from_secs(30))
        })
        .collect();
    let mut placed = Vec::with_capacity(messages.len());
    for (index, sent) in futures::future::join_all(sends)
        .await
        .into_iter()
        .enumerate()
    {
        match sent {
            Ok(delivery) => placed.push((delivery.partition, delivery.offset)),
            Err((error, _)) => bail!(
                "message {} was not delivered to {topic}: {error}",
                index + 1
            ),
        }
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_lines_become_messages_keyed_by_pointer() {
        let text = "{\"case_id\": \"A-1\", \"n\": 1}\n\n{\"case_id\": 7}\r\n";
        let messages = jsonl_messages(text, Some("/case_id")).unwrap();
        assert_eq!(messages.len(), 2, "the blank line is skipped");
        assert_eq!(messages[0].key.as_deref(), Some("A-1"));
        assert_eq!(messages[0].value, b"{\"case_id\": \"A-1\", \"n\": 1}");
        assert_eq!(messages[1].key.as_deref(), Some("7"));
        assert_eq!(messages[1].value, b"{\"case_id\": 7}");

        let unkeyed = jsonl_messages("not json\n", None).unwrap();
        assert_eq!(unkeyed, [Message::new("not json")]);
    }

    #[test]
    fn a_line_without_its_key_is_named() {
        let error = jsonl_messages("{\"case_id\": \"A\"}\n{\"other\": 1}\n", Some("/case_id"))
            .unwrap_err()
            .to_string();
        assert_eq!(error, "line 2: no string or number at /case_id for the key");
        let error = jsonl_messages("{oops\n", Some("/case_id"))
            .unwrap_err()
            .to_string();
        assert_eq!(error, "line 1: not JSON");
    }
}
