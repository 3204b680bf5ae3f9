//! What the operator's view adds to `/api/status` (throughput of the last minutes per source and
//! feed, backlog, quarantine by stage, health of the state store and broker, build), and the sampler
//! that keeps `dhub_quarantine_held` current. Counts and names only: nothing here reads a record.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::http::HttpState;
use crate::telemetry::Telemetry;
use crate::telemetry_ops::RECENT_MINUTES;

/// How often the held quarantine is counted for `dhub_quarantine_held`.
pub const QUARANTINE_SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// Counts the held quarantine by stage every [`QUARANTINE_SAMPLE_EVERY`] into the gauge, until
/// the process ends (every instance does: the count is the store's, the same on each).
pub fn spawn_quarantine_sampler(store: dhub_store::Store, telemetry: Arc<Telemetry>) {
    tokio::spawn(async move {
        loop {
            match store.quarantine_held_by_stage().await {
                Ok(by_stage) => telemetry.ops.quarantine_held(&by_stage),
                Err(error) => telemetry.store_failed("count the quarantine", &error),
            }
            tokio::time::sleep(QUARANTINE_SAMPLE_EVERY).await;
        }
    });
}

/// The fields the operator's view adds to `/api/status`.
pub async fn status_fields(state: &HttpState) -> Map<String, Value> {
    let telemetry = &state.telemetry;
    let sources: Vec<Value> = telemetry
        .ops
        .sources(&state.sources)
        .into_iter()
        .map(|figures| {
            let per_minute = telemetry.ops.recent_stored.per_minute(&figures.name);
            json!({
                "name": figures.name,
                "stored_per_minute": per_minute,
                "stored_recent": per_minute.iter().sum::<u64>(),
                "last_success": figures.last_success,
                "lag_seconds": figures.lag_seconds,
            })
        })
        .collect();
    let feeds: Vec<Value> = state
        .platforms
        .iter()
        .map(|platform| {
            let per_minute = telemetry.ops.recent_published.per_minute(&platform.name);
            let (waiting, oldest) = telemetry.feed_backlog(&platform.name);
            json!({
                "name": platform.name,
                "published_per_minute": per_minute,
                "published_recent": per_minute.iter().sum::<u64>(),
                "waiting": waiting,
                "oldest_unacked_seconds": oldest,
            })
        })
        .collect();
    let quarantine = match state.store.quarantine_held_by_stage().await {
        Ok(by_stage) => {
            telemetry.ops.quarantine_held(&by_stage);
            json!(by_stage)
        }
        Err(_) => Value::Null,
    };
    let store = match state.store.ping().await {
        Ok(()) => json!({"ok": true}),
        Err(error) => json!({"ok": false, "error": error.to_string()}),
    };
    let producer = state.producer.clone();
    let broker =
        tokio::task::spawn_blocking(move || producer.broker_answers(Duration::from_secs(2)))
            .await
            .unwrap_or_else(|_| Err("metadata task failed".into()));
    let broker = match broker {
        Ok(()) => json!({"ok": true}),
        Err(error) => json!({"ok": false, "error": error.to_string()}),
    };
    let tasks_down: Vec<String> = state
        .health
        .iter()
        .flat_map(|health| health.down().into_keys())
        .collect();
    let mut fields = Map::new();
    fields.insert("recent_minutes".into(), json!(RECENT_MINUTES));
    fields.insert("source_figures".into(), json!(sources));
    fields.insert("feeds".into(), json!(feeds));
    fields.insert("quarantine_by_stage".into(), quarantine);
    fields.insert("leases_held".into(), json!(state.holdings.held().len()));
    fields.insert(
        "health".into(),
        json!({"store": store, "broker": broker, "tasks_down": tasks_down}),
    );
    fields.insert(
        "build".into(),
        json!({"version": env!("CARGO_PKG_VERSION"), "commit": crate::telemetry_ops::build_commit()}),
    );
    fields
}
