//! The hub's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process answers), `/readyz`
//! (the state store and the broker answer), `/` (the live operator dashboard) and `/api/status` (what
//! the dashboard shows, as JSON), and `POST /ingest/<source>` of each `http_push` source (routes,
//! timeouts and concurrency limits built by `dhub_connectors::http_push::router`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Json, Router};
use dhub_ingest::Platform;
use dhub_store::Store;
use serde_json::json;
use tower::ServiceBuilder;

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
    /// The cached answer of the store and broker probe: `/readyz` never waits on either.
    pub readiness: Arc<super::readiness::Readiness>,
}

/// What the hub's own routes (not the push endpoints, which have their per-source limits) allow.
#[derive(Debug, Clone, Copy)]
pub struct HubHttpLimits {
    /// A request not answered by then gets 503.
    pub timeout: Duration,
    /// Requests served at once; more get 503 at once instead of queueing.
    pub max_concurrent: usize,
}

impl Default for HubHttpLimits {
    fn default() -> HubHttpLimits {
        HubHttpLimits {
            // Every route answers from memory or one small query.
            timeout: Duration::from_secs(10),
            max_concurrent: 64,
        }
    }
}

/// `routes` behind a timeout and a concurrency limit that sheds load: a flood of dashboard or
/// health requests is refused with 503, never queued on the connections ingestion uses.
pub fn guarded(routes: Router, limits: HubHttpLimits) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |error: BoxError| async move {
                refused(error, limits)
            }))
            .load_shed()
            // Global: `Router::layer` wraps each route on its own, and the limit is on the server.
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                limits.max_concurrent,
            ))
            .timeout(limits.timeout),
    )
}

/// The answer when a limit refused a request (the only errors the layers make).
fn refused(error: BoxError, limits: HubHttpLimits) -> Response {
    let message = if error.is::<tower::timeout::error::Elapsed>() {
        format!(
            "the request took longer than {} ms",
            limits.timeout.as_millis()
        )
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        format!(
            "more than {} requests at once; try again shortly",
            limits.max_concurrent
        )
    } else {
        format!("the request could not be served: {error}")
    };
    (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
}

/// The warning a `hub.listen` reachable from other machines deserves: the dashboard, `/api/status`
/// and `/metrics` answer without authentication (push endpoints check their tokens).
pub fn exposure_warning(listen: SocketAddr) -> Option<String> {
    (!listen.ip().is_loopback()).then(|| {
        format!(
            "hub.listen {listen} is not a loopback address: the dashboard, /api/status and /metrics answer anyone who can reach it, without authentication; listen on 127.0.0.1 or put an authenticating proxy in front"
        )
    })
}

/// The hub's routes, with `push` (the `http_push` sources' routes) merged in.
pub fn router(state: HttpState, push: Router) -> Router {
    let own = Router::new()
        .route("/", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/status", get(status))
        .route("/documents/{sha256}", get(super::documents::serve))
        .with_state(state);
    guarded(own, HubHttpLimits::default()).merge(push)
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
    if let Some(reason) = state.telemetry.store_writes_failing() {
        return (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
    }
    match state.readiness.current() {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}

/// The probe behind `/readyz`: the state store answers a ping, and the broker its metadata.
pub fn store_and_broker_probe(
    store: Store,
    producer: dhub_publish::SharedProducer,
) -> super::readiness::Probe {
    Box::new(move || {
        let (store, producer) = (store.clone(), producer.clone());
        // Each check has its own deadline, inside the probe's (2 s), so that a hang is reported
        // by name ("broker: …") rather than as the whole probe's silence.
        Box::pin(async move {
            match tokio::time::timeout(Duration::from_millis(800), store.ping()).await {
                Ok(answer) => answer.map_err(|error| format!("state store: {error}"))?,
                Err(_) => return Err("state store: no answer within 800 ms".into()),
            }
            tokio::task::spawn_blocking(move || producer.broker_answers(Duration::from_secs(1)))
                .await
                .unwrap_or_else(|_| Err("metadata task failed".into()))
                .map_err(|error| format!("broker: {error}"))
        })
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn slow_routes() -> Router {
        Router::new().route("/fast", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "late"
            }),
        )
    }

    async fn answer(app: &Router, path: &str) -> (StatusCode, String) {
        let response = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_request_over_the_timeout_gets_503() {
        let limits = HubHttpLimits {
            timeout: Duration::from_millis(50),
            max_concurrent: 4,
        };
        let app = guarded(slow_routes(), limits);
        assert_eq!(answer(&app, "/fast").await, (StatusCode::OK, "ok".into()));
        assert_eq!(
            answer(&app, "/slow").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the request took longer than 50 ms".into()
            )
        );
    }

    #[tokio::test]
    async fn requests_over_the_concurrency_limit_are_shed_not_queued() {
        let limits = HubHttpLimits {
            timeout: Duration::from_secs(3600),
            max_concurrent: 1,
        };
        let app = guarded(slow_routes(), limits);
        let held = tokio::spawn({
            let app = app.clone();
            async move { answer(&app, "/slow").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let shed = tokio::time::timeout(Duration::from_secs(5), answer(&app, "/fast"))
            .await
            .expect("answered at once, not queued");
        assert_eq!(
            shed,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "more than 1 requests at once; try again shortly".into()
            )
        );
        held.abort();
    }

    #[test]
    fn only_a_loopback_listen_goes_without_a_warning() {
        assert_eq!(exposure_warning("127.0.0.1:9464".parse().unwrap()), None);
        assert_eq!(exposure_warning("[::1]:9464".parse().unwrap()), None);
        for exposed in ["0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464"] {
            let warning = exposure_warning(exposed.parse().unwrap()).unwrap();
            assert!(warning.contains("without authentication"), "{warning}");
        }
    }
}
