//! `/readyz` from a cached probe (issue 9).
//!
//! `/readyz` used to ping the state store and fetch the broker's metadata on every request, on the
//! pool and the blocking threads ingestion uses: a monitor polling hard (or anyone reaching the port)
//! could take connections and threads from the connectors. Now one task probes every `interval`
//! and `/readyz` reads its last answer, so a request costs a lock and a clock read whatever the rate.
//! A probe that stops answering (a hung connection) turns the answer stale, and stale is not ready.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

/// One check of what readiness depends on; `Err` says what does not answer.
pub type Probe = Box<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The last probe's answer, kept for `/readyz`.
pub struct Readiness {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
    /// An answer older than this is stale: the probe hangs or its task died.
    max_age: Duration,
}

impl Readiness {
    /// Starts the probe task: `probe` runs at once, then every `interval`, each run cut off after
    /// `interval`. The task ends once the returned handle (and every clone) is dropped.
    pub fn spawn(probe: Probe, interval: Duration) -> Arc<Readiness> {
        let readiness = Arc::new(Readiness {
            last: Mutex::new(None),
            // Two missed probes plus the one running.
            max_age: interval * 3,
        });
        let weak: Weak<Readiness> = Arc::downgrade(&readiness);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if weak.strong_count() == 0 {
                    return;
                }
                let answer = match tokio::time::timeout(interval, probe()).await {
                    Ok(answer) => answer,
                    Err(_) => Err(format!("no answer within {} ms", interval.as_millis())),
                };
                let Some(readiness) = weak.upgrade() else {
                    return;
                };
                *readiness.lock() = Some((Instant::now(), answer));
            }
        });
        readiness
    }

    /// Whether the hub is ready, by the last probe: `Err` says why not (not probed yet, stale, or
    /// what did not answer).
    pub fn current(&self) -> Result<(), String> {
        match &*self.lock() {
            None => Err("not probed yet".into()),
            Some((at, _)) if at.elapsed() > self.max_age => Err(format!(
                "the readiness probe has not answered for {} ms",
                at.elapsed().as_millis()
            )),
            Some((_, answer)) => answer.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Result<(), String>)>> {
        // A poisoned lock only means a panic elsewhere while holding it; the value is still whole.
        self.last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting(answer: Result<(), String>, delay: Duration) -> (Probe, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let probe: Probe = Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                answer
            })
        });
        (probe, calls)
    }

    async fn settled(readiness: &Readiness) {
        for _ in 0..100 {
            if readiness.lock().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the probe never answered");
    }

    #[tokio::test]
    async fn many_readiness_checks_cost_one_probe_per_interval() {
        let (probe, calls) = counting(Ok(()), Duration::ZERO);
        let readiness = Readiness::spawn(probe, Duration::from_secs(60));
        settled(&readiness).await;
        for _ in 0..10_000 {
            assert_eq!(readiness.current(), Ok(()));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failing_probe_is_not_ready_with_its_reason() {
        let (probe, _) = counting(
            Err("state store: connection refused".into()),
            Duration::ZERO,
        );
        let readiness = Readiness::spawn(probe, Duration::from_secs(60));
        assert_eq!(readiness.current(), Err("not probed yet".into()));
        settled(&readiness).await;
        assert_eq!(
            readiness.current(),
            Err("state store: connection refused".into())
        );
    }

    #[tokio::test]
    async fn a_probe_that_hangs_turns_the_answer_stale() {
        let (probe, _) = counting(Ok(()), Duration::from_secs(3600));
        let readiness = Readiness::spawn(probe, Duration::from_millis(50));
        settled(&readiness).await;
        assert_eq!(readiness.current(), Err("no answer within 50 ms".into()));
        let stale = Readiness {
            last: Mutex::new(Some((Instant::now() - Duration::from_secs(1), Ok(())))),
            max_age: Duration::from_millis(150),
        };
        assert!(stale
            .current()
            .unwrap_err()
            .contains("has not answered for"));
    }
}
