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
    deadlines: prometheus::IntGaugeVec,
    calendar_uncovered: prometheus::IntGaugeVec,
    /// The last deadline counts, for `/api/status`.
    deadline_counts: std::sync::Mutex<Option<crate::compliance::DeadlineCounts>>,
    /// Errors recovered from silently, by site (`dhub_support::errors`).
    swallowed_errors: IntCounterVec,
    pub outbox_pending: IntGauge,
    /// Source lag, last success, quarantine held, throughput of the last minutes (`ops.rs`).
    pub ops: crate::telemetry_ops::OpsMetrics,
    /// Each feed's waiting entries, summed into `dhub_outbox_pending`.
    waiting_by_feed: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// Since when, and why, the state store has refused to commit batches (a full disk, say): set by
    /// a failed batch, cleared by the next one that commits. `/readyz` fails meanwhile.
    store_writes_failing: std::sync::Mutex<Option<(std::time::Instant, String)>>,
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
            deadlines: {
                let gauge = prometheus::IntGaugeVec::new(
                    Opts::new(
                        "dhub_deadlines",
                        "Statutory deadlines of the stored records by kind (publication, withdrawal) and state (open, due_soon, overdue, met), measured against the platforms' acknowledgements",
                    ),
                    &["kind", "state"],
                )
                .expect("static gauge definition");
                registry
                    .register(Box::new(gauge.clone()))
                    .expect("registered once");
                gauge
            },
            calendar_uncovered: {
                let gauge = prometheus::IntGaugeVec::new(
                    Opts::new(
                        "dhub_calendar_uncovered_deadlines",
                        "Deadlines that fall into a year the holiday calendar does not cover (estimated by weekdays only), by year",
                    ),
                    &["year"],
                )
                .expect("static gauge definition");
                registry
                    .register(Box::new(gauge.clone()))
                    .expect("registered once");
                gauge
            },
            deadline_counts: Default::default(),
            swallowed_errors: counter(
                &registry,
                "dhub_errors_total",
                "Errors recovered from without failing the caller (logged), by site",
                &["site"],
            ),
            task_up,
            stage_cpu,
            publish_latency,
            redaction_seconds,
            producer_replacements,
            outbox_pending,
            waiting_by_feed: Default::default(),
            store_writes_failing: Default::default(),
            ops: crate::telemetry_ops::OpsMetrics::new(&registry),
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
        for site in dhub_support::errors::Site::ALL {
            telemetry
                .swallowed_errors
                .with_label_values(&[site.as_str()]);
        }
        telemetry
    }

    /// Exports every configured source's record counters from the start (at 0), so that a rate or
    /// an alert over them sees the series before the first record.
    pub fn export_sources<'a>(&self, sources: impl IntoIterator<Item = &'a str>) {
        for source in sources {
            self.records_received.with_label_values(&[source]);
            self.records_stored.with_label_values(&[source]);
            self.records_unchanged.with_label_values(&[source]);
        }
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
        for (site, count) in dhub_support::errors::totals() {
            let counter = self.swallowed_errors.with_label_values(&[site.as_str()]);
            counter.inc_by(count.saturating_sub(counter.get()));
        }
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }

    pub fn store_failed(&self, operation: &str, error: &dyn std::fmt::Display) {
        tracing::error!(operation, %error, "state store error");
        self.store_errors.with_label_values(&[operation]).inc();
    }

    /// Why batches cannot be stored now, and for how long, while the last one failed; `None` once
    /// one committed again.
    pub fn store_writes_failing(&self) -> Option<String> {
        let failing = self
            .store_writes_failing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failing.as_ref().map(|(since, error)| {
            format!(
                "state store: batches have not committed for {} s: {error}",
                since.elapsed().as_secs()
            )
        })
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

    /// A feed's entries waiting for the broker and the age of the oldest, in seconds, as this
    /// instance last saw them (0 where another instance runs the feed).
    pub fn feed_backlog(&self, platform: &str) -> (i64, f64) {
        let waiting = self
            .waiting_by_feed
            .lock()
            .ok()
            .and_then(|by_feed| by_feed.get(platform).copied())
            .unwrap_or(0);
        let oldest = self
            .feed_oldest
            .get_metric_with_label_values(&[platform])
            .map(|g| g.get())
            .unwrap_or(0.0);
        (waiting as i64, oldest)
    }

    /// This instance stopped running a leased task (another instance took it over): its feed
    /// backlog and source lag are zeroed here, so only the instance that runs it reports them
    /// (alerts take the max over instances).
    pub fn lease_lost(&self, lease: &str) {
        if let Some(platform) = lease.strip_prefix("feed:") {
            dhub_publish::RelayEvents::feed_progress(self, platform, 0, Duration::ZERO);
        } else if let Some(source) = lease.strip_prefix("source:") {
            self.ops.source_lag(source, Duration::ZERO);
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

/// The law's clocks (`crate::compliance`).
impl Telemetry {
    /// The deadline states of every record, as last computed: sets `dhub_deadlines{kind,state}`, and
    /// warns loudly (log and `dhub_calendar_uncovered_deadlines{year}`) when a deadline falls into a
    /// year the holiday calendar does not cover: its due day is a weekday-only estimate.
    pub fn deadlines_checked(&self, counts: &crate::compliance::DeadlineCounts) {
        for kind in crate::compliance::KINDS {
            for state in crate::compliance::STATES {
                self.deadlines
                    .with_label_values(&[
                        crate::compliance::kind_name(kind),
                        crate::compliance::state_name(state),
                    ])
                    .set(counts.get(kind, state) as i64);
            }
        }
        self.calendar_uncovered.reset();
        for (year, count) in &counts.uncovered_years {
            tracing::warn!(
                year,
                deadlines = count,
                "no holiday calendar for this year: its deadlines are estimated by weekdays only; add a {year}.json to [compliance] calendar_dir"
            );
            self.calendar_uncovered
                .with_label_values(&[&year.to_string()])
                .set(*count as i64);
        }
        *self
            .deadline_counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(counts.clone());
    }

    /// The `deadlines` object of `/api/status` (null until first computed).
    pub fn deadlines_json(&self) -> serde_json::Value {
        self.deadline_counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map_or(serde_json::Value::Null, |c| c.to_json())
    }
}

impl dhub_ingest::IngestEvents for Telemetry {
    fn document_refused(&self, source: &str, origin: &str, reason: &str) {
        tracing::warn!(
            source,
            origin,
            reason,
            "document refused; the record goes on without it"
        );
        self.documents_refused.with_label_values(&[source]).inc();
    }

    fn records_received(&self, source: &str, count: usize) {
        self.records_received
            .with_label_values(&[source])
            .inc_by(count as u64);
    }

    fn record_stored(&self, source: &str) {
        self.records_stored.with_label_values(&[source]).inc();
        self.ops.recent_stored.add(source, 1);
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

    fn store_writes(&self, failure: Option<&str>) {
        let mut failing = self
            .store_writes_failing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match (failure, failing.as_mut()) {
            (None, _) => {
                if let Some((since, _)) = failing.take() {
                    tracing::warn!(
                        after_s = since.elapsed().as_secs(),
                        "the state store commits batches again"
                    );
                }
            }
            (Some(error), Some((_, last))) => *last = error.to_string(),
            (Some(error), None) => *failing = Some((std::time::Instant::now(), error.to_string())),
        }
    }
}

impl dhub_connectors::ConnectorEvents for Telemetry {
    fn document_done(&self, source: &str, records: usize) {
        tracing::info!(source, records, "document stored");
        self.documents.with_label_values(&[source, "done"]).inc();
        self.ops.source_succeeded(source);
    }

    fn document_failed(&self, source: &str, reason: &str) {
        tracing::warn!(source, reason, "document set aside in failed/");
        self.documents.with_label_values(&[source, "failed"]).inc();
    }

    fn retrying(&self, source: &str, error: &str) {
        tracing::warn!(source, error, "cannot store a document yet; retrying");
    }

    fn source_lag(&self, source: &str, lag: Duration) {
        self.ops.source_lag(source, lag);
    }
}

impl dhub_publish::RelayEvents for Telemetry {
    fn producer_replaced(&self, error: &str) {
        tracing::error!(error, "the kafka producer failed fatally and was replaced; unacknowledged records are sent again");
        self.producer_replacements.inc();
    }

    fn delivered(&self, platform: &str, op: &str, latency: Duration) {
        self.published.with_label_values(&[platform, op]).inc();
        self.ops.recent_published.add(platform, 1);
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

#[cfg(test)]
mod lease_tests {
    use super::*;
    use dhub_publish::RelayEvents;

    #[test]
    fn a_lost_feed_lease_zeroes_this_instances_backlog_of_it() {
        let telemetry = Telemetry::new();
        telemetry.feed_progress("city", 5, Duration::from_secs(60));
        telemetry.feed_progress("county", 2, Duration::from_secs(9));
        assert_eq!(telemetry.feed_backlog("city"), (5, 60.0));
        telemetry.lease_lost("feed:city");
        assert_eq!(telemetry.feed_backlog("city"), (0, 0.0));
        assert_eq!(telemetry.feed_backlog("county"), (2, 9.0));
        assert_eq!(telemetry.outbox_pending.get(), 2);
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn configured_sources_are_exported_at_zero_before_their_first_record() {
        let telemetry = Telemetry::new();
        telemetry.export_sources(["case-db"]);
        let text = telemetry.render();
        for metric in [
            "dhub_records_received_total{source=\"case-db\"} 0",
            "dhub_records_stored_total{source=\"case-db\"} 0",
            "dhub_records_unchanged_total{source=\"case-db\"} 0",
        ] {
            assert!(text.contains(metric), "{metric} missing from:\n{text}");
        }
    }
}

#[cfg(test)]
mod swallowed_error_tests {
    use super::*;
    use dhub_support::errors::{swallowed, Site};

    #[test]
    fn swallowed_errors_are_exported_by_site_from_zero() {
        let telemetry = Telemetry::new();
        let text = telemetry.render();
        for site in Site::ALL {
            assert!(
                text.contains(&format!("dhub_errors_total{{site=\"{}\"}}", site.as_str())),
                "{text}"
            );
        }
        swallowed(Site::CheckpointRead, &"state store unavailable");
        let text = telemetry.render();
        let line = text
            .lines()
            .find(|l| l.starts_with("dhub_errors_total{site=\"checkpoint_read\"}"))
            .unwrap();
        assert!(!line.ends_with(" 0"), "{line}");
    }
}

#[cfg(test)]
mod store_write_tests {
    use super::*;
    use dhub_ingest::IngestEvents;

    #[test]
    fn a_refused_batch_reports_the_store_failing_until_one_commits() {
        let telemetry = Telemetry::new();
        assert_eq!(telemetry.store_writes_failing(), None);
        telemetry.store_writes(Some("database or disk is full"));
        telemetry.store_writes(Some("database or disk is full (again)"));
        let failing = telemetry.store_writes_failing().expect("failing");
        assert!(
            failing.starts_with(
                "state store: batches have not committed for 0 s: database or disk is full (again)"
            ),
            "{failing}"
        );
        telemetry.store_writes(None);
        assert_eq!(telemetry.store_writes_failing(), None);
    }
}
