//! The relay: one task per feed (platform) takes the queued entries meant for it, in seq order, hands
//! them to the producer, and moves the feed's mark over every run of acknowledged entries.
//!
//! Where entries come from: the in-memory hand-off right after each commit of this instance
//! ([`dhub_ingest::OutboxHandoff`]); the queue table at start, after a failure, when the relay lagged
//! behind the hand-off, or when another process (a command, another instance) queued entries, which a
//! cheap look at the queue's head every `idle_poll` notices. Commit order is seq order (see the
//! store's `append_entries`), so reading forward from what was sent never skips an entry.
//!
//! Delivery (rust-rdkafka's `at_least_once` pattern): the mark moves only over entries whose delivery
//! future resolved `Ok`, in seq order, so a crash or a broker outage resends from the mark; platforms
//! see duplicates with the same `record_id` and `version`, which they ignore. An entry the broker
//! refuses for good (over its message size limit) is parked with the reason and counted; the entries
//! behind it go on. A producer that fails fatally (the idempotence state is lost) is replaced.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use dhub_ingest::OutboxHandoff;
use dhub_store::{Entry, FeedAck, FeedAcks, Store, StoreError};
use dhub_support::cpu::{self, Stage};
use dhub_support::retry;
use futures::stream::{FuturesOrdered, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// What the relay reports, so the binary can turn it into metrics and logs in one place.
pub trait RelayEvents: Send + Sync + 'static {
    /// The idempotent producer hit a fatal error (it can send nothing more) and was replaced.
    fn producer_replaced(&self, error: &str);
    fn delivered(&self, platform: &str, op: &str, latency: Duration);
    fn delivery_failed(&self, platform: &str, error: &KafkaError);
    /// An entry the broker refuses for good was set aside (`reason` names the error, never content).
    fn parked(&self, platform: &str, reason: &str);
    fn store_failed(&self, error: &StoreError);
    /// A feed's state: entries waiting (queued above what was acknowledged, as far as this relay
    /// knows) and the age of the oldest one not yet acknowledged.
    fn feed_progress(&self, platform: &str, waiting: u64, oldest_unacked: Duration);
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

/// [`feed_headers`] plus the `signature` header (CONTRACT §4) when the feed is signed.
pub fn signed_feed_headers(schema: &str, signature: Option<&str>) -> OwnedHeaders {
    let headers = feed_headers(schema);
    match signature {
        Some(signature) => headers.insert(Header {
            key: dhub_support::signature::SIGNATURE_HEADER,
            value: Some(signature),
        }),
        None => headers,
    }
}

/// The `schema` of an envelope: every envelope the hub builds starts with `{"schema":"<name>"`, so
/// this is a prefix check, not a parse. `None` for anything else.
pub fn envelope_schema(payload: &[u8]) -> Option<&str> {
    let rest = payload.strip_prefix(br#"{"schema":""#)?;
    let end = rest.iter().take(64).position(|b| *b == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()
}

#[cfg(test)]
mod schema_tests {
    use super::envelope_schema;

    #[test]
    fn the_header_follows_the_envelope() {
        assert_eq!(
            envelope_schema(br#"{"schema":"sgs.2021","op":"upsert"}"#),
            Some("sgs.2021")
        );
        assert_eq!(
            envelope_schema(br#"{"schema":"disclosure.v1","op":"retract"}"#),
            Some("disclosure.v1")
        );
        assert_eq!(envelope_schema(b"not json"), None);
    }
}

/// Makes a fresh producer with the hub's settings.
pub type ProducerFactory =
    Arc<dyn Fn() -> Result<FutureProducer, crate::kafka::KafkaSetupError> + Send + Sync>;

/// The producer every feed relay of an instance shares (one librdkafka client, whatever the number
/// of platforms), replaced as a whole when it fails fatally.
#[derive(Clone)]
pub struct SharedProducer {
    current: Arc<RwLock<(u64, FutureProducer)>>,
    rebuild: Option<ProducerFactory>,
}

impl SharedProducer {
    pub fn new(producer: FutureProducer, rebuild: Option<ProducerFactory>) -> SharedProducer {
        SharedProducer {
            current: Arc::new(RwLock::new((0, producer))),
            rebuild,
        }
    }

    /// The producer and its generation.
    fn get(&self) -> (u64, FutureProducer) {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        (guard.0, guard.1.clone())
    }

    /// Replaces the producer of generation `seen` if it failed fatally (the first feed to notice
    /// does it; the others find a newer generation). Returns the fatal error's reason if it
    /// replaced it.
    fn replace_if_fatal(&self, seen: u64) -> Option<String> {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        if guard.0 != seen {
            return None;
        }
        let (_, reason) = guard.1.client().fatal_error()?;
        let rebuild = self.rebuild.as_ref()?;
        match rebuild() {
            Ok(producer) => {
                *guard = (guard.0 + 1, producer);
                Some(reason)
            }
            Err(error) => {
                tracing::error!(%error, "cannot create a new producer; will try again");
                None
            }
        }
    }

    /// Whether the broker answers a metadata request within `timeout` (for `/readyz`). Blocking:
    /// call it on a blocking thread.
    pub fn broker_answers(&self, timeout: Duration) -> Result<(), String> {
        let (_, producer) = self.get();
        producer
            .client()
            .fetch_metadata(None, timeout)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    /// Waits up to `timeout` for what the producer holds to reach the broker.
    pub fn flush(&self, timeout: Duration) {
        let (_, producer) = self.get();
        if let Err(error) = producer.flush(timeout) {
            // What is left is sent again from the feed marks at the next start.
            dhub_support::errors::swallowed(dhub_support::errors::Site::ProducerFlush, &error);
        }
    }
}

/// Writes the acknowledgements of every feed relay of an instance, one transaction per round for all
/// feeds: a relay hands its acknowledgements over and goes on sending, never waiting on the state
/// store (whose single SQLite writer the ingest transactions also want). Written in the order
/// received; marks and per-platform state only ever move forward, so a batch written late is
/// harmless.
#[derive(Clone)]
pub struct AckWriter {
    batches: mpsc::UnboundedSender<AckBatch>,
}

struct AckBatch {
    platform: String,
    mark: i64,
    acks: Vec<FeedAck>,
    topic: String,
    fence: Option<(String, String)>,
    /// Told whether it was written (`false`: the feed's lease is another instance's now).
    written: Option<oneshot::Sender<bool>>,
}

impl AckWriter {
    /// Starts the writer task; it ends when every handle is dropped and the queue is written.
    pub fn start(store: Store, events: Arc<dyn RelayEvents>) -> AckWriter {
        let (batches, mut queue) = mpsc::unbounded_channel::<AckBatch>();
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut round = vec![first];
                while let Ok(more) = queue.try_recv() {
                    round.push(more);
                }
                let mut delays = retry::delays(Duration::from_millis(100), Duration::from_secs(5));
                // The broker has these; the store does not know yet.
                dhub_support::failpoint::hit("relay.after_broker_ack");
                let written = loop {
                    let feeds: Vec<FeedAcks<'_>> = round
                        .iter()
                        .map(|batch| FeedAcks {
                            platform: &batch.platform,
                            mark: batch.mark,
                            acks: &batch.acks,
                            topic: Some(&batch.topic),
                            fence: batch
                                .fence
                                .as_ref()
                                .map(|(lease, holder)| (lease.as_str(), holder.as_str())),
                        })
                        .collect();
                    match store.record_acks_of_feeds(&feeds).await {
                        Ok(written) => break written,
                        // The broker has these: keep trying to record that, or they would be sent
                        // again after a restart (harmless duplicates, but avoidable ones).
                        Err(error) => {
                            events.store_failed(&error);
                            tokio::time::sleep(delays.next_delay()).await;
                        }
                    }
                };
                for (batch, written) in round.into_iter().zip(written) {
                    if let Some(tell) = batch.written {
                        let _ = tell.send(written);
                    }
                }
            }
        });
        AckWriter { batches }
    }

    fn hand_over(&self, batch: AckBatch) {
        // The writer ends only when every handle is gone: a send cannot fail while we hold one.
        let _ = self.batches.send(batch);
    }
}

/// One platform's feed.
#[derive(Debug, Clone)]
pub struct Feed {
    pub platform: String,
    pub topic: String,
    /// The envelope schema, sent as the `schema` header.
    pub schema: String,
}

/// The relay of one feed.
pub struct FeedRelay {
    store: Store,
    acks: AckWriter,
    producer: SharedProducer,
    feed: Feed,
    events: Arc<dyn RelayEvents>,
    /// Subscribed to when [`FeedRelay::run`] starts: a relay that waits to start (for its topics, a
    /// broker that is down) would otherwise pin the last batches handed off, payloads and all.
    handoff: OutboxHandoff,
    /// `(lease, holder)`: acknowledgements are recorded only while this instance holds the feed.
    fence: Option<(String, String)>,
    /// Signs every envelope (`[hub] signing_key`), shared by the instance's feeds.
    signer: Option<Arc<crate::signing::EnvelopeSigner>>,
    /// Entries handed to the producer and not yet acknowledged, at most.
    pub max_in_flight: usize,
    /// How often acknowledgements are written to the store.
    pub flush_interval: Duration,
    /// How often an idle relay looks at the queue's head for entries queued elsewhere.
    pub idle_poll: Duration,
    /// Entries read from the queue table per page.
    pub page: i64,
}

/// An entry on its way: what is needed to acknowledge it.
struct Sent {
    entry: Entry,
    /// `None`: the producer refused it at once (the error is in `refused`).
    future: Option<DeliveryFuture>,
    refused: Option<KafkaError>,
}

/// The feed's mark once everything below the first entry still pending (in flight, then buffered)
/// is settled: acknowledged, parked, or not for this feed at all. With nothing pending, everything
/// read so far (`sent`) is settled. A mark never moves back.
fn settled_mark(
    mark: i64,
    sent: i64,
    first_in_flight: Option<&i64>,
    first_buffered: Option<&Entry>,
) -> i64 {
    let first_pending = match (first_in_flight, first_buffered.map(|e| e.seq)) {
        (Some(a), Some(b)) => Some((*a).min(b)),
        (Some(a), None) => Some(*a),
        (None, b) => b,
    };
    mark.max(first_pending.map_or(sent, |seq| seq - 1))
}

/// Whether the broker will never take this message, however often it is sent.
fn is_permanent(error: &KafkaError) -> bool {
    let code = match error {
        KafkaError::MessageProduction(code) => *code,
        _ => return false,
    };
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::InvalidMessage
    )
}

impl FeedRelay {
    pub fn new(
        store: Store,
        acks: AckWriter,
        producer: SharedProducer,
        feed: Feed,
        events: Arc<dyn RelayEvents>,
        handoff: &OutboxHandoff,
    ) -> FeedRelay {
        FeedRelay {
            store,
            acks,
            producer,
            feed,
            events,
            handoff: handoff.clone(),
            fence: None,
            signer: None,
            max_in_flight: 20_000,
            flush_interval: Duration::from_millis(100),
            idle_poll: Duration::from_millis(500),
            page: 2000,
        }
    }

    /// Acknowledgements are written only while `lease` is held by `holder`.
    pub fn fenced_by(mut self, lease: String, holder: String) -> FeedRelay {
        self.fence = Some((lease, holder));
        self
    }

    /// Every envelope is sent with a `signature` header made by `signer`.
    pub fn signed_by(mut self, signer: Option<Arc<crate::signing::EnvelopeSigner>>) -> FeedRelay {
        self.signer = signer;
        self
    }

    /// Runs until `shutdown` turns true and everything queued for the feed is acknowledged (or the
    /// caller's timeout around this future gives up: what is left is sent again from the mark at the
    /// next start). `Err` for a state store it cannot read at start.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), StoreError> {
        let platform = self.feed.platform.clone();
        // Before the first read of the table, so every entry committed from now on is either in
        // that read or handed over (what is in both is skipped by seq).
        let mut handoff = self.handoff.subscribe();
        self.store
            .ensure_feed_marks(std::slice::from_ref(&platform))
            .await?;
        let mut mark = self
            .store
            .feed_marks()
            .await?
            .get(&platform)
            .copied()
            .unwrap_or(0);
        // `sent`: the highest seq handed to the producer (or known not to be for this feed).
        let mut sent = mark;
        // The highest seq this relay has seen queued anywhere: a head above it means entries it was
        // not handed (another process, or it lagged).
        let mut seen = mark;
        let mut from_table = true;
        let mut buffer: VecDeque<Entry> = VecDeque::new();
        let mut in_flight: FuturesOrdered<_> = FuturesOrdered::new();
        // The seqs in flight, in the order `in_flight` yields them (seq order).
        let mut in_flight_seqs: VecDeque<i64> = VecDeque::new();
        let mut acks: Vec<FeedAck> = Vec::new();
        // The mark as last handed to the writer: an idle feed writes nothing.
        let mut flushed = mark;
        // The writer's answer to one batch in flight: `false` means the lease went elsewhere.
        let mut lost: Option<oneshot::Receiver<bool>> = None;
        let mut failed_at: Option<Instant> = None;
        let mut retry_delays = retry::delays(Duration::from_millis(200), Duration::from_secs(10));
        let mut flush = tokio::time::interval(self.flush_interval);
        let mut poll = tokio::time::interval(self.idle_poll);
        let (mut generation, mut producer) = self.producer.get();
        loop {
            // After a failure, once nothing is in flight: wait, replace a fatally failed producer,
            // and send again from the mark.
            if let Some(since) = failed_at {
                if in_flight.is_empty() {
                    if let Some(reason) = self.producer.replace_if_fatal(generation) {
                        self.events.producer_replaced(&reason);
                    }
                    (generation, producer) = self.producer.get();
                    let delay = retry_delays.next_delay();
                    let mut stopping = shutdown.clone();
                    let stopped = async move { stopping.wait_for(|stop| *stop).await.is_ok() };
                    tokio::select! {
                        _ = tokio::time::sleep(delay.saturating_sub(since.elapsed())) => {}
                        _ = stopped => {
                            self.flush_acks(&mut acks, mark, &mut flushed, &mut lost, true)
                                .await;
                            return Ok(());
                        }
                    }
                    failed_at = None;
                    buffer.clear();
                    in_flight_seqs.clear();
                    sent = mark;
                    from_table = true;
                }
            }
            // Take more work while there is room in flight.
            if failed_at.is_none() {
                if buffer.is_empty() && from_table {
                    match self.store.entries_after(sent, self.page).await {
                        Ok(page) => {
                            if let Some(last) = page.last() {
                                seen = seen.max(last.seq);
                                if (page.len() as i64) < self.page {
                                    from_table = false;
                                }
                                sent = sent.max(last.seq);
                                buffer.extend(page.into_iter().filter(|e| e.is_for(&platform)));
                            } else {
                                from_table = false;
                            }
                        }
                        Err(error) => {
                            self.events.store_failed(&error);
                            failed_at = Some(Instant::now());
                            continue;
                        }
                    }
                }
                let started = cpu::thread_nanos();
                while in_flight.len() < self.max_in_flight {
                    let Some(entry) = buffer.pop_front() else {
                        break;
                    };
                    let sending = self.send(&producer, entry).await;
                    in_flight_seqs.push_back(sending.entry.seq);
                    in_flight.push_back(async move {
                        let outcome = match sending.future {
                            Some(future) => Some(future.await),
                            None => None,
                        };
                        (sending.entry, sending.refused, outcome)
                    });
                }
                cpu::add(Stage::Relay, cpu::thread_nanos().saturating_sub(started));
            }
            let waiting = (buffer.len() + in_flight.len()) as u64;
            if *shutdown.borrow() && waiting == 0 && !from_table && failed_at.is_none() {
                // Drained: nothing buffered, in flight or left in the table up to the head.
                match self.store.head_seq().await {
                    Ok(head) if head <= sent => {
                        mark = settled_mark(mark, sent, None, None);
                        self.flush_acks(&mut acks, mark, &mut flushed, &mut lost, true)
                            .await;
                        return Ok(());
                    }
                    Ok(_) => from_table = true,
                    Err(error) => self.events.store_failed(&error),
                }
                continue;
            }
            tokio::select! {
                Some((entry, refused, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                    in_flight_seqs.pop_front();
                    let started = cpu::thread_nanos();
                    let error = match outcome {
                        Some(Ok(Ok(delivery))) => {
                            let acked_at_ms = chrono::Utc::now().timestamp_millis();
                            let latency = Duration::from_millis(
                                acked_at_ms.saturating_sub(entry.created_at_ms).max(0) as u64,
                            );
                            self.events.delivered(&platform, entry.op.as_str(), latency);
                            mark = mark.max(entry.seq);
                            acks.push(FeedAck {
                                record_id: entry.record_id.clone(),
                                version: entry.version,
                                op: entry.op,
                                seq: entry.seq,
                                partition: delivery.partition,
                                offset: delivery.offset,
                                acked_at_ms,
                            });
                            retry_delays = retry::delays(Duration::from_millis(200), Duration::from_secs(10));
                            None
                        }
                        Some(Ok(Err((error, _)))) => Some(error),
                        Some(Err(_canceled)) => Some(KafkaError::Canceled),
                        None => refused,
                    };
                    if let Some(error) = error {
                        if failed_at.is_none() && is_permanent(&error) {
                            // Parked: the mark moves over it, and the entries behind it go on.
                            let reason = error.to_string();
                            match self.store.park(&platform, &entry, &reason).await {
                                Ok(()) => {
                                    self.events.parked(&platform, &reason);
                                    mark = mark.max(entry.seq);
                                }
                                Err(store_error) => {
                                    self.events.store_failed(&store_error);
                                    failed_at = Some(Instant::now());
                                }
                            }
                        } else {
                            self.events.delivery_failed(&platform, &error);
                            failed_at.get_or_insert_with(Instant::now);
                        }
                    }
                    cpu::add(Stage::Relay, cpu::thread_nanos().saturating_sub(started));
                }
                handed = handoff.recv(), if !from_table && failed_at.is_none() => {
                    match handed {
                        Ok(entries) => {
                            if let Some(last) = entries.last() {
                                seen = seen.max(last.seq);
                            }
                            // The hand-off carries every entry of this instance in commit order, so
                            // the next batch starts right after `sent`; a gap means entries queued
                            // elsewhere (a command, another instance): the table has them all.
                            if entries.first().is_some_and(|first| first.seq > sent + 1) {
                                from_table = true;
                                continue;
                            }
                            // What the table read already covered is skipped.
                            for entry in entries.iter() {
                                if entry.seq <= sent {
                                    continue;
                                }
                                sent = entry.seq;
                                if entry.is_for(&platform) {
                                    buffer.push_back(entry.clone());
                                }
                            }
                        }
                        // Lagged: some batches were dropped for this relay; read them from the table.
                        Err(broadcast::error::RecvError::Lagged(_)) => from_table = true,
                        Err(broadcast::error::RecvError::Closed) => from_table = true,
                    }
                }
                _ = flush.tick() => {
                    if failed_at.is_none() {
                        mark = settled_mark(mark, sent, in_flight_seqs.front(), buffer.front());
                    }
                    if !self
                        .flush_acks(&mut acks, mark, &mut flushed, &mut lost, false)
                        .await
                    {
                        // The feed was taken over by another instance: stop here.
                        return Ok(());
                    }
                    let oldest = buffer
                        .front()
                        .map(|e| e.created_at_ms)
                        .map(|at| Duration::from_millis(
                            (chrono::Utc::now().timestamp_millis() - at).max(0) as u64,
                        ))
                        .unwrap_or_default();
                    self.events.feed_progress(&platform, waiting, oldest);
                }
                _ = poll.tick(), if !from_table => {
                    match self.store.head_seq().await {
                        Ok(head) if head > seen.max(sent) => from_table = true,
                        Ok(_) => {}
                        Err(error) => self.events.store_failed(&error),
                    }
                }
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Hands one entry to the producer, waiting while librdkafka's local queue is full.
    async fn send(&self, producer: &FutureProducer, entry: Entry) -> Sent {
        // A feed may carry two schemas (a `sgs.2021` feed keeps `disclosure.v1` for the categories
        // without national codes): the header says the envelope's own.
        let signature = self.signer.as_ref().map(|signer| signer.header_for(&entry));
        let headers = signed_feed_headers(
            envelope_schema(&entry.payload).unwrap_or(&self.feed.schema),
            signature.as_deref(),
        );
        let record = FutureRecord::to(&self.feed.topic)
            .key(&entry.record_id)
            .payload(&entry.payload[..])
            .headers(headers);
        let mut record = record;
        loop {
            match producer.send_result(record) {
                Ok(future) => {
                    return Sent {
                        entry,
                        future: Some(future),
                        refused: None,
                    }
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // librdkafka's local queue is full: let it drain to the broker, then retry.
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => {
                    return Sent {
                        entry,
                        future: None,
                        refused: Some(error),
                    }
                }
            }
        }
    }

    /// Hands the acknowledgements gathered so far and the feed's mark to the writer. `wait`: until
    /// written (the last flush before the relay returns), `false` if the feed's lease is another
    /// instance's now. Without waiting, `false` if an earlier batch found the lease lost.
    async fn flush_acks(
        &self,
        acks: &mut Vec<FeedAck>,
        mark: i64,
        flushed: &mut i64,
        lost: &mut Option<oneshot::Receiver<bool>>,
        wait: bool,
    ) -> bool {
        // An earlier batch's answer: the lease went elsewhere.
        if let Some(answer) = lost.as_mut() {
            match answer.try_recv() {
                Ok(false) => return false,
                Ok(true) | Err(oneshot::error::TryRecvError::Closed) => *lost = None,
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
        }
        if acks.is_empty() && mark == *flushed && !wait {
            return true;
        }
        let (tell, answer) = oneshot::channel();
        self.acks.hand_over(AckBatch {
            platform: self.feed.platform.clone(),
            mark,
            acks: std::mem::take(acks),
            topic: self.feed.topic.clone(),
            fence: self.fence.clone(),
            written: Some(tell),
        });
        *flushed = mark;
        if wait {
            return answer.await.unwrap_or(false);
        }
        if lost.is_none() {
            *lost = Some(answer);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64) -> Entry {
        Entry {
            seq,
            record_id: "r:1".into(),
            version: 1,
            op: dhub_store::OutboxOp::Upsert,
            platforms: vec!["p".into()],
            payload: Arc::from(&b"{}"[..]),
            created_at_ms: 0,
        }
    }

    #[test]
    fn the_mark_passes_entries_of_other_feeds_but_never_a_pending_one() {
        // Nothing pending: everything read is settled, also entries meant for other feeds.
        assert_eq!(settled_mark(10, 25, None, None), 25);
        // Seq 17 in flight: settled up to 16 only.
        assert_eq!(settled_mark(10, 25, Some(&17), None), 16);
        // Buffered 14 below the first in flight: up to 13.
        assert_eq!(settled_mark(10, 25, Some(&17), Some(&entry(14))), 13);
        // Never back.
        assert_eq!(settled_mark(20, 25, Some(&17), None), 20);
    }
}
