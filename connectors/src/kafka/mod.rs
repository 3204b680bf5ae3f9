//! `kafka`: department systems publish their cases to a topic, one case per message; the hub
//! consumes it in a consumer group.
//!
//! **Positions.** The truth is the state store: every batch is stored with the next offset of each
//! of its partitions (`Position { scope: "<topic>/<partition>", value: "<next offset>" }`) in the
//! same transaction as its records. Whenever the group hands this consumer a partition, the stored
//! positions are read afresh (through [`IntakeSink::positions`]) and the partition starts exactly
//! there, from its beginning if nothing of it was ever stored. Offsets are committed to the group
//! only after a batch is stored, for lag monitoring; the hub never reads them back. So a crash or a
//! rebalance loses nothing and skips nothing, and no instance stores an old message after another
//! stored a newer one of the same partition:
//!
//! - a partition is taken away only inside `poll`, which the consumer thread calls only between
//!   batches: never while a batch of it is being stored; what was taken of it and not stored yet is
//!   dropped, and its next reader starts at the stored position;
//! - a batch that keeps failing to store is given up after half of `max.poll.interval.ms` (the time
//!   after which the group would hand its partitions on), and the consumer starts again.
//!
//! **Messages.** Each message is one document, read with the source's mapping (JSON, JSONL or XML);
//! its records carry `Origin::Message { topic, partition, offset }`. A message without a value, over
//! `max_message_bytes`, that does not parse or holds no record is held in quarantine at the
//! document stage, naming `topic/partition@offset`; its partition goes on.
//!
//! # Layout
//!
//! - `config.rs`: [`KafkaConfig`] (the keys), [`KafkaSettings`] (compiled, with the hub's
//!   `[kafka]` section as the default cluster).
//! - `message.rs`: one message → intake items.
//! - `group.rs`: the rebalance callbacks (assign at the stored positions, drop what was revoked).
//! - `consumer.rs`: the consumer thread (poll, batch, hand over, commit).
//! - this file: the connector, and its async side, which stores batches and reads positions for
//!   the consumer thread.

pub mod config;
mod consumer;
mod group;
pub mod message;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub_schema::intake::{IntakeBatch, IntakeSink, Position};
use dhub_support::retry;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};

pub use config::{KafkaConfig, KafkaSettings, MANAGED_PROPERTIES};

use crate::context::{ConnectorEvents, SourceContext};
use crate::limits::LimitsConfig;
use crate::registry::HubSettings;
use crate::{Connector, ConnectorError};

/// How long reading the stored positions may keep failing inside a rebalance before the consumer
/// gives up and starts again (the group waits for this consumer meanwhile).
const POSITIONS_BUDGET: Duration = Duration::from_secs(10);

/// The scope under which a partition's position is stored: the topic is part of it, so a source
/// moved to another topic starts that topic from its beginning rather than at offsets of the old one.
pub fn scope(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

/// The stored next offset of each partition of `topic`; positions of other topics are ignored.
pub fn partition_positions(
    topic: &str,
    stored: &[Position],
) -> Result<HashMap<i32, i64>, ConnectorError> {
    let mut positions = HashMap::new();
    for position in stored {
        let Some((stored_topic, partition)) = position.scope.rsplit_once('/') else {
            continue;
        };
        if stored_topic != topic {
            continue;
        }
        let partition: i32 = partition.parse().map_err(|_| {
            ConnectorError::fatal(format!(
                "the stored position scope `{}` does not name a partition of topic {topic}; the state store was changed by hand?",
                position.scope
            ))
        })?;
        let offset: i64 = position
            .value
            .parse()
            .ok()
            .filter(|offset| *offset >= 0)
            .ok_or_else(|| {
                ConnectorError::fatal(format!(
                    "the stored position of {} is `{}`, not an offset; the state store was changed by hand?",
                    position.scope, position.value
                ))
            })?;
        positions.insert(partition, offset);
    }
    Ok(positions)
}

/// What the consumer thread asks of the connector's task.
pub(crate) enum Request {
    /// The stored next offset of each partition of the topic.
    Positions {
        reply: oneshot::Sender<Result<HashMap<i32, i64>, ConnectorError>>,
    },
    /// Store a batch; the answer comes once it is stored, or given up.
    Store {
        batch: Arc<IntakeBatch>,
        reply: oneshot::Sender<StoreOutcome>,
    },
}

pub(crate) enum StoreOutcome {
    Stored,
    /// Not stored: shutdown came, or storing kept failing for the store budget. The reason is the
    /// last error.
    NotStored(String),
    /// The sink refused the batch for good (a bug or a constraint, not the input).
    Refused(String),
}

/// A `kafka` source, ready to run.
pub struct KafkaConnector {
    settings: KafkaSettings,
}

/// The connector of a `kafka` source; `hub` gives the default cluster.
pub fn connector(
    config: &KafkaConfig,
    base_dir: &Path,
    hub: &HubSettings,
) -> Result<KafkaConnector, String> {
    Ok(KafkaConnector {
        settings: config.compile(base_dir, hub)?,
    })
}

impl KafkaConnector {
    /// Reads messages within the source's `[source.limits]`.
    pub fn within(mut self, limits: &LimitsConfig) -> KafkaConnector {
        self.settings.limits = limits.read_limits(self.settings.max_message_bytes);
        self
    }
}

impl Connector for KafkaConnector {
    fn run(
        self: Box<Self>,
        context: SourceContext,
    ) -> BoxFuture<'static, Result<(), ConnectorError>> {
        Box::pin(async move {
            let settings = self.settings;
            let (requests, mut incoming) = mpsc::channel(1);
            let (finished, result) = oneshot::channel();
            let consumer = consumer::ConsumerLoop {
                settings: settings.clone(),
                mapping: context.mapping.clone(),
                source: context.name.clone(),
                events: context.events.clone(),
                shutdown: context.shutdown.clone(),
                requests,
            };
            std::thread::Builder::new()
                .name(format!("kafka {}", settings.topic))
                .spawn(move || {
                    let _ = finished.send(consumer.run());
                })
                .map_err(|error| {
                    ConnectorError::retryable(format!("cannot start the consumer thread: {error}"))
                })?;
            let side = StoreSide {
                source: context.name.clone(),
                topic: settings.topic.clone(),
                store_budget: settings.store_budget,
                sink: context.sink.clone(),
                events: context.events.clone(),
                shutdown: context.shutdown.clone(),
            };
            // Served until the consumer thread ends (it drops its sender).
            while let Some(request) = incoming.recv().await {
                match request {
                    Request::Positions { reply } => {
                        let _ = reply.send(side.positions().await);
                    }
                    Request::Store { batch, reply } => {
                        let _ = reply.send(side.store(batch).await);
                    }
                }
            }
            result.await.unwrap_or_else(|_| {
                Err(ConnectorError::retryable(format!(
                    "topic {}: the consumer thread ended unexpectedly (a bug: please report it)",
                    settings.topic
                )))
            })
        })
    }
}

/// The connector's async side: talks to the sink for the consumer thread.
struct StoreSide {
    source: String,
    topic: String,
    store_budget: Duration,
    sink: Arc<dyn IntakeSink>,
    events: Arc<dyn ConnectorEvents>,
    shutdown: watch::Receiver<bool>,
}

impl StoreSide {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn positions(&self) -> Result<HashMap<i32, i64>, ConnectorError> {
        let deadline = Instant::now() + POSITIONS_BUDGET;
        let mut delays = retry::delays(Duration::from_millis(100), Duration::from_secs(2));
        loop {
            match self.sink.positions(&self.source).await {
                Ok(stored) => return partition_positions(&self.topic, &stored),
                Err(error) if error.retryable && Instant::now() < deadline && !self.stopping() => {
                    self.events.retrying(
                        &self.source,
                        &format!(
                            "topic {}: cannot read the stored positions: {}",
                            self.topic, error.message
                        ),
                    );
                    tokio::time::sleep(delays.next_delay()).await;
                }
                Err(error) => {
                    return Err(ConnectorError {
                        message: format!(
                            "topic {}: cannot read the stored positions: {}",
                            self.topic, error.message
                        ),
                        retryable: error.retryable,
                    })
                }
            }
        }
    }

    /// Submits until stored, refused, shutdown, or the store budget is spent.
    async fn store(&self, batch: Arc<IntakeBatch>) -> StoreOutcome {
        let deadline = Instant::now() + self.store_budget;
        let mut delays = retry::delays(Duration::from_millis(100), Duration::from_secs(10));
        let mut shutdown = self.shutdown.clone();
        loop {
            match self.sink.submit(batch.clone()).await {
                Ok(_) => return StoreOutcome::Stored,
                Err(error) if error.retryable => {
                    self.events.retrying(
                        &self.source,
                        &format!("topic {}: {}", self.topic, error.message),
                    );
                    let delay = delays.next_delay();
                    if self.stopping() || Instant::now() + delay > deadline {
                        return StoreOutcome::NotStored(error.message);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                }
                Err(error) => return StoreOutcome::Refused(error.message),
            }
        }
    }
}

#[cfg(test)]
mod tests;
