//! Internal events: every log line of the platform subscriber lives here, one struct per
//! happening with an `emit()`, so what is logged for a happening is decided in one place.
//!
//! Fields are positions, counts and error texts built by this crate (which name fields, not
//! values); never a record's content.

use std::net::SocketAddr;
use std::time::Duration;

use crate::view::ApplyStats;

/// A message that was not a valid envelope was written to the `rejected` table.
pub struct EnvelopeRejected<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub error: &'a str,
}

impl EnvelopeRejected<'_> {
    pub fn emit(self) {
        tracing::warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            error = self.error,
            "rejected a feed message that is not a valid envelope; it is kept in the rejected table"
        );
    }
}

/// A batch was applied and its transaction committed.
pub struct BatchApplied {
    pub stats: ApplyStats,
    pub elapsed: Duration,
}

impl BatchApplied {
    pub fn emit(self) {
        tracing::debug!(
            messages = self.stats.messages(),
            upserted = self.stats.upserted,
            retracted = self.stats.retracted,
            stale = self.stats.stale,
            duplicates = self.stats.duplicates,
            rejected = self.stats.rejected,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "applied a batch to the view"
        );
    }
}

/// Applying a batch failed; it will be tried again, its offsets are not committed.
pub struct ApplyFailed<'a> {
    pub error: &'a crate::PlatformError,
    pub attempt: u32,
    pub retry_in: Duration,
}

impl ApplyFailed<'_> {
    pub fn emit(self) {
        tracing::warn!(
            error = %self.error,
            attempt = self.attempt,
            retry_in_ms = self.retry_in.as_millis() as u64,
            "could not apply a batch to the view; retrying, offsets stay uncommitted"
        );
    }
}

/// The Kafka client reported an error while receiving.
pub struct ReceiveFailed<'a> {
    pub error: &'a rdkafka::error::KafkaError,
}

impl ReceiveFailed<'_> {
    pub fn emit(self) {
        tracing::warn!(error = %self.error, "kafka receive error; the consumer keeps polling");
    }
}

/// An offset could not be stored for commit (typically: the partition was revoked by a
/// rebalance; its new owner reapplies the messages, which the version rule makes harmless).
pub struct OffsetStoreFailed<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub error: &'a rdkafka::error::KafkaError,
}

impl OffsetStoreFailed<'_> {
    pub fn emit(self) {
        tracing::info!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            error = %self.error,
            "could not store an offset for commit; the messages will be delivered again"
        );
    }
}

/// The final synchronous offset commit at shutdown failed.
pub struct FinalCommitFailed<'a> {
    pub error: &'a rdkafka::error::KafkaError,
}

impl FinalCommitFailed<'_> {
    pub fn emit(self) {
        tracing::warn!(
            error = %self.error,
            "could not commit offsets at shutdown; the last messages will be delivered again"
        );
    }
}

/// The consumer joined its group.
pub struct ConsumerStarted<'a> {
    pub topic: &'a str,
    pub group: &'a str,
    pub partitions: usize,
}

impl ConsumerStarted<'_> {
    pub fn emit(self) {
        tracing::info!(
            topic = self.topic,
            group = self.group,
            partitions = self.partitions,
            "platform consumer started"
        );
    }
}

/// The feed topic gained partitions (an operator added them) and the consumer took them on.
pub struct PartitionsAdded<'a> {
    pub topic: &'a str,
    pub partitions: usize,
}

impl PartitionsAdded<'_> {
    pub fn emit(self) {
        tracing::info!(
            topic = self.topic,
            partitions = self.partitions,
            "the feed topic has new partitions; consuming them too"
        );
    }
}

/// The consumer stopped after draining its last batch.
pub struct ConsumerStopped {
    pub messages: u64,
}

impl ConsumerStopped {
    pub fn emit(self) {
        tracing::info!(
            messages = self.messages,
            "platform consumer stopped; applied offsets committed"
        );
    }
}

/// The search API is listening.
pub struct ApiListening {
    pub addr: SocketAddr,
}

impl ApiListening {
    pub fn emit(self) {
        tracing::info!(addr = %self.addr, "platform search API listening");
    }
}

/// A search API request failed on the database side (the client gets a 503).
pub struct ApiDatabaseError<'a> {
    pub route: &'static str,
    pub error: &'a crate::PlatformError,
}

impl ApiDatabaseError<'_> {
    pub fn emit(self) {
        tracing::warn!(route = self.route, error = %self.error, "search API request failed");
    }
}

/// The feed topic does not exist yet (the hub creates it when it starts); the subscriber waits for it.
pub struct WaitingForTopic<'a> {
    pub topic: &'a str,
}

impl WaitingForTopic<'_> {
    pub fn emit(self) {
        tracing::info!(
            topic = self.topic,
            "the feed topic does not exist yet; waiting for the hub to create it"
        );
    }
}

/// The platform applies only signed envelopes.
pub struct VerifyingSignatures<'a> {
    pub key_ids: Vec<&'a str>,
}

impl VerifyingSignatures<'_> {
    pub fn emit(self) {
        tracing::info!(
            key_ids = ?self.key_ids,
            "applying only envelopes signed by these keys; the others are rejected"
        );
    }
}
