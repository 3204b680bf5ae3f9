//! Supervision: every long-running part of the hub (each source's connector, the relay, the publicity
//! sweep) runs as a supervised task. A task that fails or panics is logged, counted and started again
//! after a growing delay, and while it is down `/readyz` says so, naming it: a dead connector must not
//! hide behind a green probe.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dhub_support::retry;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::telemetry::Telemetry;

/// Which supervised tasks are down now, and why.
#[derive(Default)]
pub struct TaskHealth {
    down: Mutex<BTreeMap<String, String>>,
}

impl TaskHealth {
    /// Every task that is down, with the reason it stopped.
    pub fn down(&self) -> BTreeMap<String, String> {
        self.down
            .lock()
            .map(|down| down.clone())
            .unwrap_or_default()
    }

    fn set_down(&self, task: &str, reason: &str) {
        if let Ok(mut down) = self.down.lock() {
            down.insert(task.to_string(), reason.to_string());
        }
    }

    fn set_up(&self, task: &str) {
        if let Ok(mut down) = self.down.lock() {
            down.remove(task);
        }
    }
}

/// Aborts a task when dropped: a supervised attempt ends with its supervisor.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts tasks and keeps them running until shutdown.
pub struct Supervisor {
    pub health: Arc<TaskHealth>,
    telemetry: Arc<Telemetry>,
    tasks: JoinSet<()>,
    /// The first delay before a restart; doubles up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Supervisor {
    pub fn new(telemetry: Arc<Telemetry>) -> Supervisor {
        Supervisor {
            health: Arc::new(TaskHealth::default()),
            telemetry,
            tasks: JoinSet::new(),
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }

    /// Runs `start()` as task `name` until `shutdown` turns true. `start` is called again after the
    /// task returned an error, panicked, or returned before shutdown (a task is meant to run until
    /// then). The handle stops it at once (a lease lost to another instance).
    pub fn spawn<F, Fut>(
        &mut self,
        name: String,
        mut start: F,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::AbortHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let health = self.health.clone();
        let telemetry = self.telemetry.clone();
        let (min_delay, max_delay) = (self.min_delay, self.max_delay);
        self.tasks.spawn(async move {
            let mut delays = retry::delays(min_delay, max_delay);
            telemetry.task_started(&name);
            loop {
                // Its own task, so a panic ends only this attempt and is seen as a JoinError; aborting
                // the supervising task aborts the attempt with it.
                let attempt = tokio::spawn(start());
                let _abort_with_me = AbortOnDrop(attempt.abort_handle());
                let outcome = attempt.await;
                if *shutdown.borrow() {
                    health.set_up(&name);
                    return;
                }
                let reason = match outcome {
                    Ok(Ok(())) => "stopped before shutdown".to_string(),
                    Ok(Err(error)) => error,
                    Err(join) if join.is_panic() => {
                        "panicked (a bug: please report it)".to_string()
                    }
                    Err(_) => "was cancelled".to_string(),
                };
                health.set_down(&name, &reason);
                let delay = delays.next_delay();
                telemetry.task_failed(&name, &reason, delay);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|stop| *stop) => {
                        health.set_up(&name);
                        return;
                    }
                }
                health.set_up(&name);
                telemetry.task_started(&name);
            }
        })
    }

    /// Waits until every task has returned (after shutdown).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_failing_task_is_restarted_and_reported_down_meanwhile() {
        let telemetry = Arc::new(Telemetry::new());
        let mut supervisor = Supervisor::new(telemetry.clone());
        supervisor.min_delay = Duration::from_millis(200);
        supervisor.max_delay = Duration::from_millis(200);
        let (stop, shutdown) = watch::channel(false);
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        let stop_signal = shutdown.clone();
        supervisor.spawn(
            "source:oa".into(),
            move || {
                let attempt = counted.fetch_add(1, Ordering::SeqCst);
                let mut shutdown = stop_signal.clone();
                async move {
                    match attempt {
                        0 => Err("the folder is gone".to_string()),
                        1 => panic!("boom"),
                        _ => {
                            let _ = shutdown.wait_for(|s| *s).await;
                            Ok(())
                        }
                    }
                }
            },
            shutdown,
        );
        let health = supervisor.health.clone();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            health.down().get("source:oa").map(String::as_str),
            Some("the folder is gone")
        );
        // Two restarts, each after a delay of 200–400 ms (jitter); polled, never timed.
        for _ in 0..100 {
            if attempts.load(Ordering::SeqCst) == 3 && health.down().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "restarted after the error and the panic"
        );
        assert!(health.down().is_empty(), "up again");
        let metrics = telemetry.render();
        assert!(
            metrics.contains("dhub_task_restarts_total{task=\"source:oa\"} 2"),
            "{metrics}"
        );
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), supervisor.join())
            .await
            .expect("tasks end on shutdown");
    }
}
