//! The consumer thread: polls the topic in its group, turns each message into intake items, and
//! hands a batch (`batch_messages`, or what came within `batch_linger_ms`) to the connector's task
//! to store, waiting for the answer before it polls again. Only after a batch is stored are its
//! offsets committed to the group, and only for lag monitoring: the positions stored with the batch
//! are what the next assignment of a partition starts from.
//!
//! The thread is a plain OS thread: librdkafka's rebalance callback runs inside `poll` and blocks
//! while the stored positions are read, which must never happen on an async runtime's worker.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub_mapping::Mapping;
use dhub_schema::intake::{Intake, IntakeBatch, Position};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tokio::sync::{mpsc, oneshot, watch};

use super::config::KafkaSettings;
use super::group::GroupContext;
use super::message::{message_items, MessageAt};
use super::{scope, Request, StoreOutcome};
use crate::context::ConnectorEvents;
use crate::mapped::map_context;
use crate::ConnectorError;

/// How long one poll waits when no batch is being filled: also how quickly shutdown is noticed.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How often to look again for a topic that does not exist yet.
const TOPIC_WAIT: Duration = Duration::from_millis(500);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct ConsumerLoop {
    pub settings: KafkaSettings,
    pub mapping: Arc<Mapping>,
    pub source: String,
    pub events: Arc<dyn ConnectorEvents>,
    pub shutdown: watch::Receiver<bool>,
    pub requests: mpsc::Sender<Request>,
}

/// A message taken from the topic and not stored yet.
struct Taken {
    partition: i32,
    offset: i64,
    items: Vec<Intake>,
}

/// The batch being filled.
#[derive(Default)]
struct Pending {
    messages: Vec<Taken>,
    started: Option<Instant>,
}

impl Pending {
    fn push(&mut self, taken: Taken) {
        self.started.get_or_insert_with(Instant::now);
        self.messages.push(taken);
    }

    fn drop_partitions(&mut self, revoked: &BTreeSet<i32>) {
        if revoked.is_empty() {
            return;
        }
        self.messages.retain(|m| !revoked.contains(&m.partition));
        if self.messages.is_empty() {
            self.started = None;
        }
    }

    /// The next offset of each partition in the batch: where it stands once the batch is stored.
    fn next_offsets(&self) -> BTreeMap<i32, i64> {
        let mut next = BTreeMap::new();
        for message in &self.messages {
            let entry = next.entry(message.partition).or_insert(message.offset + 1);
            *entry = (*entry).max(message.offset + 1);
        }
        next
    }

    fn clear(&mut self) {
        self.messages.clear();
        self.started = None;
    }
}

impl ConsumerLoop {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Consumes until shutdown, then stores the batch in hand (one try) and leaves the group.
    pub(super) fn run(self) -> Result<(), ConnectorError> {
        let topic = self.settings.topic.clone();
        let context = GroupContext::new(&self.source, &topic, self.requests.clone());
        let consumer: BaseConsumer<GroupContext> =
            BaseConsumer::from_config_and_context(&self.settings.client_config(), context)
                .map_err(|error| {
                    ConnectorError::fatal(format!(
                        "topic {topic}: cannot create the kafka consumer: {error}; check the source's brokers and properties"
                    ))
                })?;
        if !self.wait_for_topic(&consumer)? {
            return Ok(());
        }
        consumer.subscribe(&[topic.as_str()]).map_err(|error| {
            ConnectorError::retryable(format!("topic {topic}: cannot subscribe: {error}"))
        })?;
        tracing::info!(source = %self.source, %topic, group = %self.settings.group, "consuming");

        let mut pending = Pending::default();
        let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
        let mut last_error: Option<String> = None;
        while !self.stopping() {
            let wait = match pending.started {
                Some(started) => self.settings.batch_linger.saturating_sub(started.elapsed()),
                None => IDLE_POLL,
            };
            let polled = consumer.poll(wait);
            let revoked = consumer.context().take_changes()?;
            pending.drop_partitions(&revoked);
            match polled {
                Some(Ok(message)) => {
                    last_error = None;
                    if consumer.context().holds(message.partition()) {
                        pending.push(self.take(&message));
                    }
                }
                Some(Err(error)) => self.poll_failed(error, &mut last_error)?,
                None => {}
            }
            let full = pending.messages.len() >= self.settings.batch_messages;
            let lingered = pending
                .started
                .is_some_and(|started| started.elapsed() >= self.settings.batch_linger);
            if full || lingered {
                self.flush(&consumer, &mut pending, &mut committed)?;
            }
        }
        if !pending.messages.is_empty() {
            self.flush(&consumer, &mut pending, &mut committed)?;
        }
        self.final_commit(&consumer, &committed);
        // Dropping the consumer closes it: it leaves the group, so the partitions move on at once.
        Ok(())
    }

    /// Waits until the broker knows the topic (the department creates it; subscribing to a topic
    /// that does not exist yet would idle until librdkafka's next metadata refresh, minutes later).
    /// Returns false when shutdown came first.
    fn wait_for_topic(
        &self,
        consumer: &BaseConsumer<GroupContext>,
    ) -> Result<bool, ConnectorError> {
        let topic = &self.settings.topic;
        let mut reported: Option<String> = None;
        loop {
            let state = match consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT) {
                Ok(metadata) => {
                    let ready = metadata.topics().iter().any(|t| {
                        t.name() == topic && t.error().is_none() && !t.partitions().is_empty()
                    });
                    if ready {
                        return Ok(true);
                    }
                    "the topic does not exist yet; the department system creates it".to_string()
                }
                Err(error) => format!("the broker does not answer: {error}"),
            };
            if reported.as_ref() != Some(&state) {
                tracing::warn!(source = %self.source, %topic, reason = %state, "waiting for the topic");
                reported = Some(state);
            }
            let until = Instant::now() + TOPIC_WAIT;
            while Instant::now() < until {
                if self.stopping() {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Turns one message into what the batch stores.
    fn take(&self, message: &BorrowedMessage<'_>) -> Taken {
        let at = MessageAt {
            topic: message.topic(),
            partition: message.partition(),
            offset: message.offset(),
        };
        let items = message_items(
            &self.mapping,
            &self.source,
            at,
            message.payload(),
            &self.settings.limits,
            &map_context(&self.source),
        );
        Taken {
            partition: at.partition,
            offset: at.offset,
            items,
        }
    }

    /// A poll error: the client recovers from most by itself (broker away, leader moving); a fatal
    /// one ends this consumer, and the connector starts a new one from the stored positions.
    fn poll_failed(
        &self,
        error: KafkaError,
        last_error: &mut Option<String>,
    ) -> Result<(), ConnectorError> {
        let topic = &self.settings.topic;
        if let KafkaError::MessageConsumptionFatal(code) = error {
            return Err(ConnectorError::retryable(format!(
                "topic {topic}: the consumer failed fatally: {code}"
            )));
        }
        let text = error.to_string();
        if last_error.as_ref() != Some(&text) {
            tracing::warn!(source = %self.source, %topic, error = %text, "cannot consume now; the client keeps trying");
            *last_error = Some(text);
        }
        Ok(())
    }

    /// Stores the batch (through the connector's task), then commits its offsets to the group.
    fn flush(
        &self,
        consumer: &BaseConsumer<GroupContext>,
        pending: &mut Pending,
        committed: &mut BTreeMap<i32, i64>,
    ) -> Result<(), ConnectorError> {
        let topic = &self.settings.topic;
        let next = pending.next_offsets();
        let items: Vec<Intake> = pending
            .messages
            .iter_mut()
            .flat_map(|message| std::mem::take(&mut message.items))
            .collect();
        let records = items.len();
        let batch = Arc::new(IntakeBatch {
            source: self.source.clone(),
            mapping_name: self.mapping.name().to_string(),
            mapping_version: self.mapping.version().to_string(),
            items,
            positions: next
                .iter()
                .map(|(partition, offset)| Position {
                    scope: scope(topic, *partition),
                    value: offset.to_string(),
                })
                .collect(),
            exported: None,
        });
        pending.clear();
        let (reply, answer) = oneshot::channel();
        let stopped = || ConnectorError::retryable("the kafka source is stopping");
        self.requests
            .blocking_send(Request::Store { batch, reply })
            .map_err(|_| stopped())?;
        match answer.blocking_recv().map_err(|_| stopped())? {
            StoreOutcome::Stored => {
                self.events.document_done(&self.source, records);
                let mut offsets = TopicPartitionList::new();
                for (partition, offset) in &next {
                    committed.insert(*partition, *offset);
                    let _ = offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset));
                }
                if let Err(error) = consumer.commit(&offsets, CommitMode::Async) {
                    tracing::debug!(source = %self.source, %topic, %error, "cannot commit offsets to the group");
                }
                Ok(())
            }
            // Shutdown came while the store was away: the messages are read again at the next
            // start, from the stored positions.
            StoreOutcome::NotStored(_) if self.stopping() => Ok(()),
            // Kept failing for `store_budget`: give the partitions up before the group hands them
            // to another instance behind this one's back; the next start reads from the stored
            // positions.
            StoreOutcome::NotStored(reason) => Err(ConnectorError::retryable(format!(
                "topic {topic}: a batch could not be stored for {} s: {reason}; starting again from the stored positions",
                self.settings.store_budget.as_secs()
            ))),
            StoreOutcome::Refused(reason) => Err(ConnectorError::fatal(format!(
                "topic {topic}: the hub refused a batch: {reason}"
            ))),
        }
    }

    /// Makes sure the group has the offsets of every stored batch of the partitions still held
    /// (async commits may still be in flight when the consumer closes).
    fn final_commit(&self, consumer: &BaseConsumer<GroupContext>, committed: &BTreeMap<i32, i64>) {
        let mut offsets = TopicPartitionList::new();
        for partition in consumer.context().held() {
            if let Some(offset) = committed.get(&partition) {
                let _ = offsets.add_partition_offset(
                    &self.settings.topic,
                    partition,
                    Offset::Offset(*offset),
                );
            }
        }
        if offsets.count() > 0 {
            if let Err(error) = consumer.commit(&offsets, CommitMode::Sync) {
                tracing::debug!(source = %self.source, topic = %self.settings.topic, %error, "cannot commit offsets to the group at shutdown");
            }
        }
    }
}
