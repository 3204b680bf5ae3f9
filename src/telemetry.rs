//! Internal events: every happening the operator should see is one method here that writes the log
//! line and bumps the metric together, so logs and metrics never drift apart (vector's
//! `internal_events`). Labels come from small fixed sets (source, platform, stage, rule, reason), never
//! a record id, and no method takes record data.

use std::time::Duration;

use prometheus::{
    Counter, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub struct Telemetry {
    registry: Registry,
    documents: IntCounterVec,
    records_received: IntCounterVec,
    records_stored: IntCounterVec,
    records_unchanged: IntCounterVec,
    records_quarantined: IntCounterVec,
    outbox_enqueued: IntCounterVec,
    published: IntCounterVec,
    publish_failures: IntCounterVec,
    publish_latency: HistogramVec,
    redactions: IntCounterVec,
    withheld: IntCounterVec,
    documents_refused: IntCounterVec,
    store_errors: IntCounterVec,
    redaction_seconds: Counter,
    producer_replacements: prometheus::IntCounter,
    task_restarts: IntCounterVec,
    parked: IntCounterVec,
    pruned: prometheus::IntCounter,
    feed_waiting: prometheus::IntGaugeVec,
    feed_oldest: prometheus::GaugeVec,
    leases_held: IntGauge,
    broker_errors: prometheus::IntCounter,
    stage_cpu: prometheus::CounterVec,
    task_up: prometheus::IntGaugeVec,
    warnings: IntCounterVec,
    pub outbox_pending: IntGauge,
    /// Each feed's waiting entries, summed into `dhub_outbox_pending`.
    waiting_by_feed: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), labels)
        .expect("metric definitions are static and valid");
    registry
        .register(Box::new(counter.clone()))
        .expect("each metric is registered once");
    counter
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let registry = Registry::new();
        let publish_latency = HistogramVec::new(
            HistogramOpts::new(
                "dhub_publish_latency_seconds",
                "Time from a record's outbox entry to the broker's acknowledgement",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
            &["platform"],
        )
        .expect("static histogram definition");
        registry
            .register(Box::new(publish_latency.clone()))
            .expect("registered once");
        let outbox_pending = IntGauge::new(
            "dhub_outbox_pending",
            "Entries queued for any feed and not yet acknowledged by the broker (the sum of dhub_feed_waiting)",
        )
        .expect("static gauge definition");
        registry
            .register(Box::new(outbox_pending.clone()))
            .expect("registered once");
        let redaction_seconds = Counter::new(
            "dhub_redaction_seconds_total",
            "Time spent redacting records (CPU, one thread at a time)",
        )
        .expect("static counter definition");
        registry
            .register(Box::new(redaction_seconds.clone()))
            .expect("registered once");
        let producer_replacements = prometheus::IntCounter::new(
            "dhub_producer_replacements_total",
            "Kafka producers replaced after a fatal error",
        )
        .expect("static counter definition");
        registry
            .register(Box::new(producer_replacements.clone()))
            .expect("registered once");
        let task_up = prometheus::IntGaugeVec::new(
            Opts::new(
                "dhub_task_up",
                "Whether a supervised task (a source's connector, the relay, a sweep) is running (1) or waiting to be restarted (0)",
            ),
            &["task"],
        )
        .expect("static gauge definition");
        registry
            .register(Box::new(task_up.clone()))
            .expect("registered once");
        let stage_cpu = prometheus::CounterVec::new(
            Opts::new(
                "dhub_stage_cpu_seconds_total",
                "CPU time of the hub's own work per pipeline stage (thread CPU clock)",
            ),
            &["stage"],
        )
        .expect("static counter definition");
        registry
            .register(Box::new(stage_cpu.clone()))
            .expect("registered once");
        for stage in dhub_support::cpu::Stage::ALL {
            stage_cpu.with_label_values(&[stage.as_str()]);
        }
        let feed_waiting = prometheus::IntGaugeVec::new(
            Opts::new(
                "dhub_feed_waiting",
                "Entries queued for a feed and not yet acknowledged by the broker",
            ),
            &["platform"],
        )
        .expect("static gauge definition");
        registry
            .register(Box::new(feed_waiting.clone()))
            .expect("registered once");
        let feed_oldest = prometheus::GaugeVec::new(
            Opts::new(
                "dhub_feed_oldest_unacked_seconds",
                "Age of the oldest entry queued for a feed and not yet acknowledged",
            ),
            &["platform"],
        )
        .expect("static gauge definition");
        registry
            .register(Box::new(feed_oldest.clone()))
            .expect("registered once");
        let leases_held = IntGauge::new(
            "dhub_leases_held",
            "Leases (sources, feeds, sweeps) this instance holds",
        )
        .expect("static gauge definition");
        registry
            .register(Box::new(leases_held.clone()))
            .expect("registered once");
        let pruned = prometheus::IntCounter::new(
            "dhub_outbox_pruned_total",
            "Queue entries deleted after every feed acknowledged them",
        )
        .expect("static counter definition");
        registry
            .register(Box::new(pruned.clone()))
            .expect("registered once");
        let broker_errors = prometheus::IntCounter::new(
            "dhub_broker_unavailable_total",
            "Times the broker could not be reached to create the feed topics",
        )
        .expect("static counter definition");
        registry
            .register(Box::new(broker_errors.clone()))
            .expect("registered once");
        let telemetry = Telemetry {
            documents: counter(
                &registry,
                "dhub_documents_total",
                "Source documents by outcome (done, failed)",
                &["source", "outcome"],
            ),
            records_received: counter(
                &registry,
                "dhub_records_received_total",
                "Records read from sources",
                &["source"],
            ),
            records_stored: counter(
                &registry,
                "dhub_records_stored_total",
                "New record versions stored",
                &["source"],
            ),
            records_unchanged: counter(
                &registry,
                "dhub_records_unchanged_total",
                "Records re-exported without change (not republished)",
                &["source"],
            ),
            records_quarantined: counter(
                &registry,
                "dhub_records_quarantined_total",
                "Records held in quarantine by stage",
                &["source", "stage"],
            ),
            outbox_enqueued: counter(
                &registry,
                "dhub_outbox_enqueued_total",
                "Envelopes queued for a platform",
                &["platform", "op"],
            ),
            published: counter(
                &registry,
                "dhub_records_published_total",
                "Envelopes acknowledged by the broker",
                &["platform", "op"],
            ),
            publish_failures: counter(
                &registry,
                "dhub_publish_failures_total",
                "Failed deliveries (retried later)",
                &["platform"],
            ),
            redactions: counter(
                &registry,
                "dhub_redactions_total",
                "Values redacted, by rule",
                &["rule"],
            ),
            withheld: counter(
                &registry,
                "dhub_records_withheld_total",
                "Records withheld from a platform, by reason",
                &["reason"],
            ),
            documents_refused: counter(
                &registry,
                "dhub_documents_refused_total",
                "Attachments refused (over a limit, a type the source may not send, unreadable); the record went on",
                &["source"],
            ),
            store_errors: counter(
                &registry,
                "dhub_store_errors_total",
                "State store errors by operation",
                &["operation"],
            ),
            task_restarts: counter(
                &registry,
                "dhub_task_restarts_total",
                "Supervised tasks that failed or panicked and were started again",
                &["task"],
            ),
            parked: counter(
                &registry,
                "dhub_outbox_parked_total",
                "Entries a feed could not take (over the broker's size limit, a permanent error), set aside",
                &["platform"],
            ),
            pruned,
            feed_waiting,
            feed_oldest,
            leases_held,
            broker_errors,
            warnings: counter(
                &registry,
                "dhub_records_warnings_total",
                "Records accepted with a warning (e.g. a USCC whose check digit fails)",
                &["source"],
            ),
            task_up,
            stage_cpu,
            publish_latency,
            redaction_seconds,
            producer_replacements,
            outbox_pending,
            waiting_by_feed: Default::default(),
            registry,
        };
        // Every rule and reason is exported from the start (at 0), so a dashboard or an alert sees
        // the series before the first occurrence.
        for rule in dhub_redaction::RULES {
            telemetry.redactions.with_label_values(&[rule]);
        }
        for reason in dhub_redaction::WithholdReason::ALL {
            telemetry.withheld.with_label_values(&[reason.code()]);
        }
        telemetry
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        // The stage counters live in `dhub_support::cpu` (process-wide, bumped without a handle);
        // bring the exported counters up to them.
        for (stage, seconds) in dhub_support::cpu::totals() {
            let counter = self.stage_cpu.with_label_values(&[stage.as_str()]);
            let behind = seconds - counter.get();
            if behind > 0.0 {
                counter.inc_by(behind);
            }
        }
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }

    pub fn store_failed(&self, operation: &str, error: &dyn std::fmt::Display) {
        tracing::error!(operation, %error, "state store error");
        self.store_errors.with_label_values(&[operation]).inc();
    }

    /// The broker cannot be reached to create the feed topics; entries wait in the queue.
    pub fn broker_unavailable(&self, error: &str) {
        tracing::warn!(
            error,
            "cannot create the feed topics yet; records wait in the queue"
        );
        self.broker_errors.inc();
    }

    /// Queue entries every feed acknowledged were deleted.
    pub fn pruned(&self, deleted: i64) {
        if deleted > 0 {
            tracing::debug!(deleted, "pruned delivered queue entries");
            self.pruned.inc_by(deleted as u64);
        }
    }

    /// How many leases this instance holds now.
    pub fn leases_held(&self, count: usize) {
        self.leases_held.set(count as i64);
    }

    /// A supervised task (re)started.
    pub fn task_started(&self, task: &str) {
        self.task_up.with_label_values(&[task]).set(1);
    }

    /// A supervised task failed or panicked; it is started again after `delay`.
    pub fn task_failed(&self, task: &str, reason: &str, delay: Duration) {
        tracing::error!(
            task,
            reason,
            retry_in_ms = delay.as_millis() as u64,
            "task stopped; restarting it"
        );
        self.task_up.with_label_values(&[task]).set(0);
        self.task_restarts.with_label_values(&[task]).inc();
    }
}

impl dhub_ingest::IngestEvents for Telemetry {
    fn document_refused(&self, source: &str, origin: &str, reason: &str) {
        tracing::warn!(source, origin, reason, "document refused; the record goes on without it");
        self.documents_refused.with_label_values(&[source]).inc();
    }

    fn records_received(&self, source: &str, count: usize) {
        self.records_received
            .with_label_values(&[source])
            .inc_by(count as u64);
    }

    fn record_stored(&self, source: &str) {
        self.records_stored.with_label_values(&[source]).inc();
    }

    fn record_unchanged(&self, source: &str) {
        self.records_unchanged.with_label_values(&[source]).inc();
    }

    /// `origin` is `file:line`, `table[key]`, `topic/partition@offset` or `request#n`; `reason` names
    /// fields and rules, never values.
    fn record_quarantined(&self, source: &str, stage: &str, origin: &str, reason: &str) {
        tracing::warn!(source, stage, origin, reason, "record quarantined");
        self.records_quarantined
            .with_label_values(&[source, stage])
            .inc();
    }

    fn record_warning(&self, source: &str, origin: &str, warning: &str) {
        tracing::warn!(source, origin, warning, "accepted with a warning");
        self.warnings.with_label_values(&[source]).inc();
    }

    fn outbox_enqueued(&self, platform: &str, op: &str) {
        self.outbox_enqueued
            .with_label_values(&[platform, op])
            .inc();
    }

    fn redacted(&self, rule: &str, count: u32) {
        self.redactions
            .with_label_values(&[rule])
            .inc_by(u64::from(count));
    }

    fn redaction_time(&self, spent: Duration) {
        self.redaction_seconds.inc_by(spent.as_secs_f64());
    }

    fn withheld(&self, platform: &str, reason: &str) {
        tracing::info!(platform, reason, "record withheld from platform");
        self.withheld.with_label_values(&[reason]).inc();
    }

    fn store_failed(&self, operation: &str, error: &dyn std::fmt::Display) {
        Telemetry::store_failed(self, operation, error);
    }
}

impl dhub_connectors::ConnectorEvents for Telemetry {
    fn document_done(&self, source: &str, records: usize) {
        tracing::info!(source, records, "document stored");
        self.documents.with_label_values(&[source, "done"]).inc();
    }

    fn document_failed(&self, source: &str, reason: &str) {
        tracing::warn!(source, reason, "document set aside in failed/");
        self.documents.with_label_values(&[source, "failed"]).inc();
    }

    fn retrying(&self, source: &str, error: &str) {
        tracing::warn!(source, error, "cannot store a document yet; retrying");
    }
}

impl dhub_publish::RelayEvents for Telemetry {
    fn producer_replaced(&self, error: &str) {
        tracing::error!(error, "the kafka producer failed fatally and was replaced; unacknowledged records are sent again");
        self.producer_replacements.inc();
    }

    fn delivered(&self, platform: &str, op: &str, latency: Duration) {
        self.published.with_label_values(&[platform, op]).inc();
        self.publish_latency
            .with_label_values(&[platform])
            .observe(latency.as_secs_f64());
    }

    fn delivery_failed(&self, platform: &str, error: &rdkafka::error::KafkaError) {
        tracing::warn!(platform, %error, "delivery failed; the record stays pending and is sent again");
        self.publish_failures.with_label_values(&[platform]).inc();
    }

    fn parked(&self, platform: &str, reason: &str) {
        tracing::error!(platform, reason, "the broker refuses an entry for good; parked (dhub quarantine parked), the entries behind it go on");
        self.parked.with_label_values(&[platform]).inc();
    }

    fn store_failed(&self, error: &dhub_store::StoreError) {
        Telemetry::store_failed(self, "relay", error);
    }

    fn feed_progress(&self, platform: &str, waiting: u64, oldest_unacked: Duration) {
        self.feed_waiting
            .with_label_values(&[platform])
            .set(waiting as i64);
        if let Ok(mut by_feed) = self.waiting_by_feed.lock() {
            by_feed.insert(platform.to_string(), waiting);
            self.outbox_pending
                .set(by_feed.values().sum::<u64>() as i64);
        }
        self.feed_oldest
            .with_label_values(&[platform])
            .set(oldest_unacked.as_secs_f64());
    }
}
