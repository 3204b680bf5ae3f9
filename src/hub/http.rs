//! The hub's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process answers), `/readyz`
//! (the state store and the broker answer), `/` (the live operator dashboard) and `/api/status` (what
//! the dashboard shows, as JSON), and `POST /ingest/<source>` of each `http_push` source (routes,
//! timeouts and concurrency limits built by `dhub_connectors::http_push::router`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dhub_ingest::Platform;
use dhub_store::Store;
use serde_json::json;

use crate::telemetry::Telemetry;

#[derive(Clone)]
pub struct HttpState {
    pub telemetry: Arc<Telemetry>,
    pub store: Store,
    pub producer: dhub_publish::SharedProducer,
    pub platforms: Vec<Platform>,
    pub sources: Vec<String>,
    /// The supervisors' view of their tasks: `/readyz` fails while one is down.
    pub health: Vec<Arc<super::supervise::TaskHealth>>,
    /// This instance's name in the lease table, and what it holds.
    pub holder: String,
    pub holdings: Arc<super::leases::Holdings>,
    /// The document store (`[documents]`), for `GET /documents/{sha256}`.
    pub documents: Option<dhub_documents::DocumentStore>,
}

/// The hub's routes, with `push` (the `http_push` sources' routes) merged in.
pub fn router(state: HttpState, push: Router) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/status", get(status))
        .route("/documents/{sha256}", get(super::documents::serve))
        .with_state(state)
        .merge(push)
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.telemetry.render(),
    )
        .into_response()
}

async fn readyz(State(state): State<HttpState>) -> Response {
    let down: Vec<String> = state
        .health
        .iter()
        .flat_map(|health| health.down())
        .map(|(task, reason)| format!("{task}: {reason}"))
        .collect();
    if !down.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("tasks down: {}", down.join("; ")),
        )
            .into_response();
    }
    if let Err(error) = state.store.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("state store: {error}"),
        )
            .into_response();
    }
    let producer = state.producer.clone();
    let broker =
        tokio::task::spawn_blocking(move || producer.broker_answers(Duration::from_secs(2)))
            .await
            .unwrap_or_else(|_| Err("metadata task failed".into()));
    match broker {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("broker: {error}")).into_response(),
    }
}

async fn status(State(state): State<HttpState>) -> Response {
    // Counts and names only: nothing here loads a payload or a record.
    let held = state.store.quarantine_count().await.ok();
    let leases = state.store.leases().await.ok().map(|leases| {
        leases
            .iter()
            .map(|l| json!({"name": l.name, "holder": l.holder, "expires_at_ms": l.expires_at_ms}))
            .collect::<Vec<_>>()
    });
    let mut body = json!({
        "instance": state.holder,
        "holds": state.holdings.held().keys().collect::<Vec<_>>(),
        "leases": leases,
        "sources": state.sources,
        "platforms": state.platforms.iter().map(|p| json!({"name": p.name, "level": p.level.as_str(), "division": p.division, "topic": p.topic, "policy": p.policy})).collect::<Vec<_>>(),
        "outbox_pending": state.telemetry.outbox_pending.get(),
        "quarantine_held": held,
        "deadlines": state.telemetry.deadlines_json(),
    });
    if let Some(body) = body.as_object_mut() {
        body.extend(super::ops::status_fields(&state).await);
    }
    Json(body).into_response()
}

async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
