//! The consumer's place in its group: [`GroupContext`] overrides librdkafka's rebalance handling so
//! that every partition handed to this consumer starts exactly at the position stored with the last
//! batch of it (read from the state store at that moment, since another instance may have stored
//! batches of it since this one started), and so that messages of a partition taken away are
//! dropped before they could be stored.
//!
//! librdkafka runs these callbacks inside `poll`, on the consumer thread, which is also the thread
//! that stores batches: a partition can never be taken away while a batch of it is being stored.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaResult;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use tokio::sync::{mpsc, oneshot};

use super::Request;
use crate::ConnectorError;

/// What the rebalance callbacks tell the consumer loop.
#[derive(Default)]
struct GroupState {
    /// Partitions this consumer holds now.
    held: BTreeSet<i32>,
    /// Partitions taken away since the loop last looked: their messages not yet stored are dropped
    /// (whoever reads them next starts at the stored position, before them).
    revoked: BTreeSet<i32>,
    /// A failure the loop must stop on before it stores anything more (the stored positions could
    /// not be read, so the assignment may start at the wrong place).
    failure: Option<ConnectorError>,
}

pub(super) struct GroupContext {
    source: String,
    topic: String,
    requests: mpsc::Sender<Request>,
    state: Mutex<GroupState>,
}

impl GroupContext {
    pub(super) fn new(source: &str, topic: &str, requests: mpsc::Sender<Request>) -> GroupContext {
        GroupContext {
            source: source.to_string(),
            topic: topic.to_string(),
            requests,
            state: Mutex::new(GroupState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GroupState> {
        // Only the consumer thread takes the lock, never across a panic that matters: recover.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether messages of `partition` may be taken now.
    pub(super) fn holds(&self, partition: i32) -> bool {
        self.state().held.contains(&partition)
    }

    /// The partitions held now.
    pub(super) fn held(&self) -> Vec<i32> {
        self.state().held.iter().copied().collect()
    }

    /// What happened in the group since the loop last looked: partitions taken away (their pending
    /// messages are to be dropped), or a failure to stop on.
    pub(super) fn take_changes(&self) -> Result<BTreeSet<i32>, ConnectorError> {
        let mut state = self.state();
        if let Some(failure) = state.failure.take() {
            return Err(failure);
        }
        Ok(std::mem::take(&mut state.revoked))
    }

    /// Asks the connector's task for the stored positions and waits for them (this runs on the
    /// consumer thread, never on the async runtime).
    fn stored_positions(&self) -> Result<HashMap<i32, i64>, ConnectorError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || ConnectorError::retryable("the kafka source is stopping");
        self.requests
            .blocking_send(Request::Positions { reply })
            .map_err(|_| stopped())?;
        answer.blocking_recv().map_err(|_| stopped())?
    }

    fn assign(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let partitions: Vec<i32> = tpl
            .elements_for_topic(&self.topic)
            .iter()
            .map(|element| element.partition())
            .collect();
        let mut failure = None;
        match self.stored_positions() {
            Ok(stored) => {
                for &partition in &partitions {
                    // No stored position: nothing of this partition was ever stored; read it all.
                    let offset = stored
                        .get(&partition)
                        .map_or(Offset::Beginning, |next| Offset::Offset(*next));
                    if let Err(error) = tpl.set_partition_offset(&self.topic, partition, offset) {
                        failure = Some(ConnectorError::retryable(format!(
                            "topic {}: cannot start partition {partition} at its stored position: {error}",
                            self.topic
                        )));
                    }
                }
                tracing::info!(source = %self.source, topic = %self.topic, ?partitions, "partitions assigned; each starts at its stored position");
            }
            Err(error) => failure = Some(error),
        }
        // librdkafka expects the assignment to be taken even when it will not be used: after a
        // failure the loop stops before it stores anything, and the consumer leaves the group.
        let assigned = match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_assign(tpl),
            _ => consumer.assign(tpl),
        };
        if let Err(error) = assigned {
            failure.get_or_insert(ConnectorError::retryable(format!(
                "topic {}: cannot take the partitions the group assigned: {error}",
                self.topic
            )));
        }
        let mut state = self.state();
        state.held.extend(&partitions);
        if let Some(failure) = failure {
            state.failure.get_or_insert(failure);
        }
    }

    fn revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let partitions: Vec<i32> = tpl
            .elements_for_topic(&self.topic)
            .iter()
            .map(|element| element.partition())
            .collect();
        self.give_up(&partitions);
        tracing::info!(source = %self.source, topic = %self.topic, ?partitions, "partitions revoked; what was not stored of them is left to their next reader");
        let released = match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_unassign(tpl),
            _ => consumer.unassign(),
        };
        if let Err(error) = released {
            tracing::warn!(source = %self.source, topic = %self.topic, %error, "cannot release the revoked partitions");
        }
    }

    fn give_up(&self, partitions: &[i32]) {
        let mut state = self.state();
        for partition in partitions {
            state.held.remove(partition);
            state.revoked.insert(*partition);
        }
    }
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.assign(consumer, tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.revoke(consumer, tpl),
            other => {
                // As librdkafka's default handling: give everything up; the group assigns again.
                tracing::warn!(source = %self.source, topic = %self.topic, error = ?other, "rebalance failed; giving up every partition until the group assigns again");
                let held = self.held();
                self.give_up(&held);
                let _ = match consumer.rebalance_protocol() {
                    RebalanceProtocol::Cooperative => consumer.incremental_unassign(tpl),
                    _ => consumer.unassign(),
                };
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            // The group's offsets serve lag monitoring; positions live in the state store.
            tracing::debug!(source = %self.source, topic = %self.topic, %error, "committing offsets to the group failed");
        }
    }
}
