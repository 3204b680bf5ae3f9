//! The outbox relay: pending outbox rows → Kafka → marked delivered with their partition and offset.
//!
//! Rows are sent in id order, a batch at a time, with a few batches in flight so the broker round trip
//! does not cap throughput. A row is marked delivered only after its delivery future resolved `Ok`
//! (rust-rdkafka's `at_least_once` pattern): a crash or a broker outage leaves it pending, and it is sent
//! again later. Duplicates carry the same `record_id` and `version`, which platforms ignore.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub_ingest::OutboxSignal;
use dhub_store::{Delivery, OutboxRow, Store};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

/// What the relay reports, so the binary can turn it into metrics and logs in one place.
pub trait RelayEvents: Send + Sync + 'static {
    /// The idempotent producer hit a fatal error (it can send nothing more) and was replaced.
    fn producer_replaced(&self, error: &str);
    fn delivered(&self, platform: &str, op: &str, latency: Duration);
    fn delivery_failed(&self, platform: &str, error: &KafkaError);
    fn store_failed(&self, error: &dhub_store::StoreError);
}

/// The headers of every feed message (CONTRACT §4): `content-type: application/json` and the
/// platform's envelope schema.
pub fn feed_headers(schema: &str) -> OwnedHeaders {
    OwnedHeaders::new()
        .insert(Header {
            key: "content-type",
            value: Some("application/json"),
        })
        .insert(Header {
            key: "schema",
            value: Some(schema),
        })
}

/// Makes a fresh producer with the hub's settings.
pub type ProducerFactory =
    Arc<dyn Fn() -> Result<FutureProducer, crate::kafka::KafkaSetupError> + Send + Sync>;

pub struct Relay {
    store: Store,
    producer: FutureProducer,
    /// An idempotent producer that hits a fatal error (e.g. the broker lost its sequence state) refuses
    /// every later message; the relay replaces it with one from here.
    rebuild: Option<ProducerFactory>,
    /// platform name → envelope schema, sent as the `schema` header.
    formats: HashMap<String, String>,
    events: Arc<dyn RelayEvents>,
    /// Raised by the pipeline after a commit that queued envelopes.
    signal: OutboxSignal,
    pub batch_size: i64,
    pub max_batches_in_flight: usize,
    /// How long to wait for new rows before looking again without a wake-up.
    pub idle_poll: Duration,
}

struct InFlight {
    rows: Vec<(i64, String, String, i64)>, // outbox id, platform, op, created_at_ms
    futures: Vec<Option<DeliveryFuture>>,
    _permit: OwnedSemaphorePermit,
}

impl Relay {
    pub fn new(
        store: Store,
        producer: FutureProducer,
        formats: HashMap<String, String>,
        events: Arc<dyn RelayEvents>,
        signal: OutboxSignal,
    ) -> Relay {
        Relay {
            store,
            producer,
            rebuild: None,
            formats,
            events,
            signal,
            batch_size: 2000,
            max_batches_in_flight: 4,
            idle_poll: Duration::from_millis(500),
        }
    }

    /// Lets the relay replace its producer after a fatal error.
    pub fn with_rebuild(mut self, factory: ProducerFactory) -> Relay {
        self.rebuild = Some(factory);
        self
    }

    /// Replaces the producer when it reports a fatal error. Runs only with nothing in flight.
    fn replace_producer_if_fatal(&mut self) {
        let Some((_, reason)) = self.producer.client().fatal_error() else {
            return;
        };
        let Some(rebuild) = &self.rebuild else { return };
        match rebuild() {
            Ok(producer) => {
                self.producer = producer;
                self.events.producer_replaced(&reason);
            }
            Err(error) => tracing::error!(%error, "cannot create a new producer; will try again"),
        }
    }

    /// Runs until `shutdown` turns true and every pending row has been delivered (or the caller's
    /// timeout around this future gives up: what is left stays pending for the next start).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.max_batches_in_flight));
        let failed = Arc::new(AtomicBool::new(false));
        let (in_flight_tx, in_flight_rx) = mpsc::channel::<InFlight>(self.max_batches_in_flight);
        let acker = tokio::spawn(acknowledge(
            self.store.clone(),
            in_flight_rx,
            self.events.clone(),
            failed.clone(),
        ));
        let mut retry_delays =
            dhub_support::retry::delays(Duration::from_millis(200), Duration::from_secs(10));
        let mut cursor = 0i64;
        let mut last_full_rescan = Instant::now();
        loop {
            if failed.swap(false, Ordering::SeqCst) {
                drain(&permits, self.max_batches_in_flight).await;
                self.replace_producer_if_fatal();
                let delay = retry_delays.next_delay();
                tokio::time::sleep(delay).await;
                cursor = 0;
            }
            // Postgres may commit ids out of order; a periodic rescan from 0 (after draining, so nothing
            // in flight is sent twice) picks up a row the cursor skipped.
            if last_full_rescan.elapsed() > Duration::from_secs(5) {
                drain(&permits, self.max_batches_in_flight).await;
                cursor = 0;
                last_full_rescan = Instant::now();
            }
            let rows = match self.store.pending_outbox(cursor, self.batch_size).await {
                Ok(rows) => rows,
                Err(error) => {
                    self.events.store_failed(&error);
                    tokio::time::sleep(retry_delays.next_delay()).await;
                    continue;
                }
            };
            if rows.is_empty() {
                drain(&permits, self.max_batches_in_flight).await;
                if failed.load(Ordering::SeqCst) {
                    continue;
                }
                if cursor == 0 && *shutdown.borrow() {
                    break;
                }
                if cursor != 0 {
                    cursor = 0;
                    continue;
                }
                tokio::select! {
                    _ = self.signal.raised() => {}
                    _ = tokio::time::sleep(self.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            retry_delays =
                dhub_support::retry::delays(Duration::from_millis(200), Duration::from_secs(10));
            cursor = rows.last().map(|row| row.id + 1).unwrap_or(cursor);
            let permit = match permits.clone().acquire_owned().await {
                Ok(permit) => permit,
                Err(_) => break,
            };
            let batch = self.send_batch(rows, permit).await;
            if in_flight_tx.send(batch).await.is_err() {
                break;
            }
        }
        drop(in_flight_tx);
        let _ = acker.await;
        let _ = self.producer.flush(Duration::from_secs(10));
    }

    async fn send_batch(&self, rows: Vec<OutboxRow>, permit: OwnedSemaphorePermit) -> InFlight {
        let mut futures = Vec::with_capacity(rows.len());
        let mut meta = Vec::with_capacity(rows.len());
        for row in &rows {
            let schema = self
                .formats
                .get(&row.platform)
                .map(String::as_str)
                .unwrap_or(dhub_schema::SCHEMA_NAME);
            let headers = feed_headers(schema);
            let mut record = FutureRecord::to(&row.topic)
                .key(&row.record_id)
                .payload(&row.payload)
                .headers(headers);
            let future = loop {
                match self.producer.send_result(record) {
                    Ok(future) => break Some(future),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        // librdkafka's local queue is full: let it drain to the broker, then retry.
                        record = returned;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((error, _)) => {
                        self.events.delivery_failed(&row.platform, &error);
                        break None;
                    }
                }
            };
            futures.push(future);
            meta.push((
                row.id,
                row.platform.clone(),
                row.op.as_str().to_string(),
                row.created_at_ms,
            ));
        }
        InFlight {
            rows: meta,
            futures,
            _permit: permit,
        }
    }
}

/// Waits until no batch is in flight.
async fn drain(permits: &Arc<Semaphore>, total: usize) {
    if let Ok(all) = permits.acquire_many(total as u32).await {
        drop(all);
    }
}

async fn acknowledge(
    store: Store,
    mut batches: mpsc::Receiver<InFlight>,
    events: Arc<dyn RelayEvents>,
    failed: Arc<AtomicBool>,
) {
    while let Some(batch) = batches.recv().await {
        let mut deliveries = Vec::with_capacity(batch.rows.len());
        for ((id, platform, op, created_at_ms), future) in batch.rows.iter().zip(batch.futures) {
            let outcome = match future {
                Some(future) => future.await,
                None => {
                    failed.store(true, Ordering::SeqCst);
                    continue;
                }
            };
            match outcome {
                Ok(Ok(delivery)) => {
                    let acked_at_ms = chrono::Utc::now().timestamp_millis();
                    let latency = Duration::from_millis(
                        acked_at_ms.saturating_sub(*created_at_ms).max(0) as u64,
                    );
                    events.delivered(platform, op, latency);
                    deliveries.push(Delivery {
                        outbox_id: *id,
                        partition: delivery.partition,
                        offset: delivery.offset,
                        acked_at_ms,
                    });
                }
                Ok(Err((error, _message))) => {
                    events.delivery_failed(platform, &error);
                    failed.store(true, Ordering::SeqCst);
                }
                Err(_canceled) => {
                    failed.store(true, Ordering::SeqCst);
                }
            }
        }
        // The broker has these; keep trying to record that, or they would be sent again after a restart
        // (harmless duplicates, but avoidable ones).
        let mut delays =
            dhub_support::retry::delays(Duration::from_millis(100), Duration::from_secs(5));
        while let Err(error) = store.mark_delivered(&deliveries).await {
            events.store_failed(&error);
            tokio::time::sleep(delays.next_delay()).await;
        }
    }
}
