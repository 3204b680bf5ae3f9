//! Checkpoints of the audit chain's head, published to a Kafka topic (`<topic_prefix>audit.checkpoints`)
//! every `[hub] audit_checkpoint_interval_ms` and at shutdown. The broker keeps what the state
//! store's owner cannot rewrite: `dhub audit verify --checkpoints` reads them back and compares each
//! with the stored chain, so a chain rewritten (or cut short) even by someone holding the audit key
//! is found, back to the last checkpoint before the rewrite.
//!
//! Message: key `audit`, value `{"seq":N,"hash":"…","at_ms":…}`, signed like the envelopes when the
//! hub has a signing key.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::kafka::KafkaSettings;

/// One published chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at_ms: i64,
}

/// The checkpoint topic under a prefix.
pub fn topic_name(prefix: &str) -> String {
    format!("{prefix}audit.checkpoints")
}

/// Publishes one checkpoint and waits for the broker's acknowledgement.
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    checkpoint: &Checkpoint,
    signer: Option<&dhub_support::signature::Signer>,
) -> Result<(), String> {
    let value = serde_json::to_vec(checkpoint).map_err(|error| error.to_string())?;
    let signature = signer.map(|signer| signer.sign(&value));
    let headers =
        crate::relay::signed_feed_headers("dhub.audit-checkpoint.v1", signature.as_deref());
    producer
        .send(
            FutureRecord::to(topic)
                .key("audit")
                .payload(&value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map(|_| ())
        .map_err(|(error, _)| error.to_string())
}

/// Every checkpoint on the topic, oldest first per partition. Blocking: call it on a blocking
/// thread. A message that is not a checkpoint is an error naming its offset.
pub fn read_all(
    settings: &KafkaSettings,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<Checkpoint>, String> {
    let consumer: BaseConsumer = settings
        .client_config()
        .set("group.id", "dhub-audit-verify")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|error| format!("cannot create a kafka consumer: {error}"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|error| format!("cannot read the metadata of {topic}: {error}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(format!(
            "topic {topic} does not exist: the hub has published no checkpoint"
        ));
    }
    let mut checkpoints = Vec::new();
    for partition in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(|error| format!("cannot read the offsets of {topic}/{partition}: {error}"))?;
        if high <= low {
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(low))
            .map_err(|error| error.to_string())?;
        consumer
            .assign(&assignment)
            .map_err(|error| error.to_string())?;
        let deadline = std::time::Instant::now() + timeout;
        let mut next = low;
        while next < high {
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "timed out reading {topic}/{partition} at offset {next}"
                ));
            }
            let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = polled.map_err(|error| format!("cannot read {topic}: {error}"))?;
            next = message.offset() + 1;
            let checkpoint: Checkpoint =
                serde_json::from_slice(message.payload().unwrap_or_default()).map_err(|_| {
                    format!(
                        "{topic}/{partition} offset {} is not an audit checkpoint",
                        message.offset()
                    )
                })?;
            checkpoints.push(checkpoint);
        }
    }
    Ok(checkpoints)
}
