//! The operator's metrics that complete `telemetry.rs`: per source the lag and the time of the last
//! success, quarantine held by stage, build info, and the per-minute counts behind the dashboard's
//! throughput of the last minutes. Labels are source, feed (platform) and stage names from the config
//! and from fixed lists, never record data.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};

/// How many minutes of throughput the dashboard shows.
pub const RECENT_MINUTES: usize = 10;

/// The stages a quarantine entry can have (`dhub_store::QuarantineStage`); every one is exported
/// from the start, at 0.
pub const QUARANTINE_STAGES: [&str; 6] = [
    "document",
    "mapping",
    "validation",
    "redaction",
    "constraint",
    "stale",
];

pub struct OpsMetrics {
    source_lag: GaugeVec,
    source_last_success: GaugeVec,
    quarantine_held: IntGaugeVec,
    leases_wanted: prometheus::IntGauge,
    /// Records stored per source, by minute.
    pub recent_stored: RecentCounts,
    /// Envelopes acknowledged by the broker per feed, by minute.
    pub recent_published: RecentCounts,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

impl OpsMetrics {
    pub fn new(registry: &Registry) -> OpsMetrics {
        let source_lag = register(
            registry,
            GaugeVec::new(
                Opts::new(
                    "dhub_source_lag_seconds",
                    "Age of the oldest change a source has seen and not yet stored (a folder: the oldest waiting export); 0 when caught up. Only sources that can tell",
                ),
                &["source"],
            )
            .expect("static gauge definition"),
        );
        let source_last_success = register(
            registry,
            GaugeVec::new(
                Opts::new(
                    "dhub_source_last_success_timestamp_seconds",
                    "When a source last stored a document (file, request, page, run of rows or messages), Unix seconds",
                ),
                &["source"],
            )
            .expect("static gauge definition"),
        );
        let quarantine_held = register(
            registry,
            IntGaugeVec::new(
                Opts::new(
                    "dhub_quarantine_held",
                    "Records held in quarantine now (all instances, from the state store), by the stage that refused them",
                ),
                &["stage"],
            )
            .expect("static gauge definition"),
        );
        for stage in QUARANTINE_STAGES {
            quarantine_held.with_label_values(&[stage]);
        }
        let build_info = register(
            registry,
            IntGaugeVec::new(
                Opts::new(
                    "dhub_build_info",
                    "Always 1; the labels say which build of dhub runs",
                ),
                &["version", "commit"],
            )
            .expect("static gauge definition"),
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), build_commit()])
            .set(1);
        let leases_wanted = register(
            registry,
            prometheus::IntGauge::new(
                "dhub_leases_wanted",
                "Leases the config defines (sources, feeds, sweeps): what all instances together should hold",
            )
            .expect("static gauge definition"),
        );
        OpsMetrics {
            leases_wanted,
            source_lag,
            source_last_success,
            quarantine_held,
            recent_stored: RecentCounts::default(),
            recent_published: RecentCounts::default(),
        }
    }

    pub fn source_lag(&self, source: &str, lag: Duration) {
        self.source_lag
            .with_label_values(&[source])
            .set(lag.as_secs_f64());
    }

    pub fn leases_wanted(&self, count: usize) {
        self.leases_wanted.set(count as i64);
    }

    pub fn source_succeeded(&self, source: &str) {
        self.source_last_success
            .with_label_values(&[source])
            .set(unix_seconds(SystemTime::now()));
    }

    /// Sets the held counts by stage; stages not given are 0.
    pub fn quarantine_held(&self, by_stage: &BTreeMap<String, i64>) {
        for stage in QUARANTINE_STAGES {
            let held = by_stage.get(stage).copied().unwrap_or(0);
            self.quarantine_held.with_label_values(&[stage]).set(held);
        }
    }

    /// Each source's last success (Unix seconds) and lag (seconds), where known.
    pub fn sources(&self, names: &[String]) -> Vec<SourceFigures> {
        names
            .iter()
            .map(|name| SourceFigures {
                name: name.clone(),
                last_success: known(&self.source_last_success, name),
                lag_seconds: known(&self.source_lag, name),
            })
            .collect()
    }
}

/// Whether a series with this label exists, without creating it (a `with_label_values` would
/// export a 0 for a source that never reported).
fn known(vec: &GaugeVec, name: &str) -> Option<f64> {
    use prometheus::core::Collector;
    vec.collect()
        .iter()
        .flat_map(|family| family.get_metric())
        .find(|metric| metric.get_label().iter().any(|l| l.value() == name))
        .map(|metric| metric.get_gauge().get_value())
}

pub struct SourceFigures {
    pub name: String,
    pub last_success: Option<f64>,
    pub lag_seconds: Option<f64>,
}

/// The commit dhub was built from (`DHUB_GIT_COMMIT` at build time, as the Dockerfile passes it),
/// or `unknown`.
pub fn build_commit() -> &'static str {
    option_env!("DHUB_GIT_COMMIT")
        .filter(|c| !c.is_empty())
        .unwrap_or("unknown")
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn current_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or(0)
}

/// Counts per name and minute, the last [`RECENT_MINUTES`] minutes kept.
#[derive(Default)]
pub struct RecentCounts {
    by_name: Mutex<HashMap<String, VecDeque<(u64, u64)>>>,
}

impl RecentCounts {
    pub fn add(&self, name: &str, count: u64) {
        self.add_at(name, count, current_minute());
    }

    fn add_at(&self, name: &str, count: u64, minute: u64) {
        let Ok(mut by_name) = self.by_name.lock() else {
            return;
        };
        let minutes = by_name.entry(name.to_string()).or_default();
        match minutes.back_mut() {
            Some((last, n)) if *last == minute => *n += count,
            _ => minutes.push_back((minute, count)),
        }
        while minutes
            .front()
            .is_some_and(|(m, _)| *m + (RECENT_MINUTES as u64) <= minute)
        {
            minutes.pop_front();
        }
    }

    /// The counts of the last [`RECENT_MINUTES`] minutes, oldest first, the current minute last.
    pub fn per_minute(&self, name: &str) -> Vec<u64> {
        self.per_minute_at(name, current_minute())
    }

    fn per_minute_at(&self, name: &str, now: u64) -> Vec<u64> {
        let mut counts = vec![0; RECENT_MINUTES];
        let Ok(by_name) = self.by_name.lock() else {
            return counts;
        };
        for (minute, count) in by_name.get(name).into_iter().flatten() {
            if let Some(back) = now.checked_sub(*minute) {
                if (back as usize) < RECENT_MINUTES {
                    counts[RECENT_MINUTES - 1 - back as usize] += count;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_counts_fall_in_their_minute_and_age_out() {
        let counts = RecentCounts::default();
        counts.add_at("a", 2, 100);
        counts.add_at("a", 3, 100);
        counts.add_at("a", 1, 103);
        let now = counts.per_minute_at("a", 103);
        assert_eq!(now.len(), RECENT_MINUTES);
        assert_eq!(now[RECENT_MINUTES - 1], 1);
        assert_eq!(now[RECENT_MINUTES - 4], 5);
        assert_eq!(now.iter().sum::<u64>(), 6);
        // Ten minutes on, minute 100 is out of the window.
        let later = counts.per_minute_at("a", 110);
        assert_eq!(later.iter().sum::<u64>(), 1);
        assert_eq!(counts.per_minute_at("b", 103), vec![0; RECENT_MINUTES]);
    }

    #[test]
    fn quarantine_stages_are_the_stores() {
        for stage in QUARANTINE_STAGES {
            assert!(
                dhub_store::QuarantineStage::parse(stage).is_some(),
                "{stage}"
            );
        }
    }

    #[test]
    fn a_source_that_never_reported_lag_has_none() {
        let registry = Registry::new();
        let ops = OpsMetrics::new(&registry);
        ops.source_lag("folder", Duration::from_secs(5));
        let figures = ops.sources(&["folder".into(), "push".into()]);
        assert_eq!(figures[0].lag_seconds, Some(5.0));
        assert_eq!(figures[1].lag_seconds, None);
        assert_eq!(figures[1].last_success, None);
        ops.source_succeeded("push");
        assert!(ops.sources(&["push".into()])[0].last_success.unwrap() > 1.7e9);
    }
}
