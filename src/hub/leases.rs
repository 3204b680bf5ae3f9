//! Who runs what (CONTRACT §2 "Several instances"): every source, every feed's relay and every sweep is
//! a leased task. Each round (every `RENEW_EVERY`) this instance claims or renews all leases in one
//! transaction; a task runs while its lease is held, and is stopped at once when another instance has
//! taken it over. A lease lives `LEASE_TTL`, so the tasks of an instance that died are taken over
//! within `LEASE_TTL + RENEW_EVERY` (8 s; the contract asks for 10). With SQLite there is one
//! instance, which simply holds every lease.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dhub_store::Store;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::supervise::Supervisor;
use crate::telemetry::Telemetry;

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(6);
/// How often leases are renewed and free ones claimed.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Which supervisor runs a task: sources and sweeps stop first at shutdown, feeds drain after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Source,
    Feed,
}

/// Starts a task with its own stop signal, in the supervisor it is given.
pub type Starter = Box<dyn Fn(&mut Supervisor, watch::Receiver<bool>) -> AbortHandle + Send>;

/// A task that runs only while its lease is held.
pub struct Leased {
    /// `source:<name>`, `feed:<platform>`, `sweep:<name>`.
    pub lease: String,
    pub class: Class,
    pub start: Starter,
}

struct Running {
    stop: watch::Sender<bool>,
    abort: AbortHandle,
    class: Class,
}

/// What this instance holds now, for `/api/status`.
#[derive(Default)]
pub struct Holdings {
    held: Mutex<BTreeMap<String, i64>>,
}

impl Holdings {
    /// Lease name → when this instance took it (Unix ms).
    pub fn held(&self) -> BTreeMap<String, i64> {
        self.held.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

/// Runs leased tasks until shutdown.
pub struct LeaseRunner {
    pub store: Store,
    /// This instance's name in the lease table: host, process id and start time.
    pub holder: String,
    pub tasks: Vec<Leased>,
    pub sources: Supervisor,
    pub feeds: Supervisor,
    pub telemetry: Arc<Telemetry>,
    pub holdings: Arc<Holdings>,
}

/// A name for this instance that no other running instance has.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    )
}

impl LeaseRunner {
    /// Claims, renews and runs until `shutdown` turns true; then stops the sources and sweeps,
    /// lets the feeds drain for at most `drain_timeout`, and gives every lease back.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>, drain_timeout: Duration) {
        let names: Vec<String> = self.tasks.iter().map(|t| t.lease.clone()).collect();
        let mut running: BTreeMap<String, Running> = BTreeMap::new();
        let mut last_renewed = Instant::now();
        let mut round = tokio::time::interval(RENEW_EVERY);
        loop {
            tokio::select! {
                _ = round.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            match self
                .store
                .claim_leases(&names, &self.holder, LEASE_TTL.as_millis() as i64)
                .await
            {
                Ok(held) => {
                    last_renewed = Instant::now();
                    for (task, holds) in self.tasks.iter().zip(held) {
                        match (holds, running.contains_key(&task.lease)) {
                            (true, false) => {
                                let (stop, stopped) = watch::channel(false);
                                let supervisor = match task.class {
                                    Class::Source => &mut self.sources,
                                    Class::Feed => &mut self.feeds,
                                };
                                let abort = (task.start)(supervisor, stopped);
                                tracing::info!(lease = %task.lease, holder = %self.holder, "lease taken; starting");
                                running.insert(
                                    task.lease.clone(),
                                    Running {
                                        stop,
                                        abort,
                                        class: task.class,
                                    },
                                );
                            }
                            (false, true) => {
                                if let Some(lost) = running.remove(&task.lease) {
                                    // Another instance runs it now: stop at once, no draining.
                                    lost.abort.abort();
                                    self.telemetry.lease_lost(&task.lease);
                                    tracing::warn!(lease = %task.lease, "lease taken over by another instance; stopped");
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Err(error) => {
                    self.telemetry.store_failed("claim leases", &error);
                    // Unrenewed for longer than a lease lives: another instance may run these now.
                    if last_renewed.elapsed() >= LEASE_TTL {
                        for (lease, lost) in std::mem::take(&mut running) {
                            lost.abort.abort();
                            self.telemetry.lease_lost(&lease);
                            tracing::warn!(%lease, "lease could not be renewed in time; stopped");
                        }
                    }
                }
            }
            self.publish_holdings(&running);
        }
        // Sources and sweeps first (the file in hand is finished), then the feeds drain.
        for class in [Class::Source, Class::Feed] {
            for held in running.values().filter(|r| r.class == class) {
                let _ = held.stop.send(true);
            }
            match class {
                Class::Source => {
                    tracing::info!("shutting down: finishing the batches in hand");
                    std::mem::replace(&mut self.sources, Supervisor::new(self.telemetry.clone()))
                        .join()
                        .await;
                }
                Class::Feed => {
                    tracing::info!("draining the outbox to the broker");
                    let feeds =
                        std::mem::replace(&mut self.feeds, Supervisor::new(self.telemetry.clone()));
                    match tokio::time::timeout(drain_timeout, feeds.join()).await {
                        Ok(()) => tracing::info!("outbox drained"),
                        Err(_) => tracing::warn!(
                            timeout_ms = drain_timeout.as_millis() as u64,
                            "the broker did not take every queued entry in time; they are sent at the next start"
                        ),
                    }
                }
            }
        }
        for lease in running.keys() {
            if let Err(error) = self.store.release_lease(lease, &self.holder).await {
                self.telemetry.store_failed("release a lease", &error);
            }
        }
        running.clear();
        self.publish_holdings(&running);
    }

    fn publish_holdings(&self, running: &BTreeMap<String, Running>) {
        if let Ok(mut held) = self.holdings.held.lock() {
            held.retain(|lease, _| running.contains_key(lease));
            for lease in running.keys() {
                held.entry(lease.clone())
                    .or_insert_with(|| chrono::Utc::now().timestamp_millis());
            }
        }
        self.telemetry.leases_held(running.len());
    }
}
