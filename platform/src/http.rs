//! The HTTP side of a [`View`]: the search API (`GET /records`, `GET /records/{record_id}`,
//! `GET /healthz`, `GET /stats`, JSON) and the public's page (`GET /`, `GET /record/{record_id}`,
//! HTML, see [`crate::page`]). API errors are JSON `{"error": "..."}`; bad parameters are 400, a
//! database outage is 503 (the details go to the log, not to the client).
//!
//! Every route sits behind the same guards ([`HttpLimits`]): a request that takes longer than the
//! timeout gets 408, a body over the limit 413 (no route takes a body), and at most so many
//! requests run at once; the others wait their turn, within their timeout.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::events;
use crate::page;
use crate::search::SearchQuery;
use crate::view::View;
use crate::PlatformError;

/// The guards around every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longer requests are answered 408 (and their database work dropped).
    pub request_timeout: Duration,
    /// Requests served at once; more wait (within their timeout).
    pub max_concurrent_requests: usize,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            request_timeout: Duration::from_secs(10),
            // The database pool has 4 (SQLite) or 8 (Postgres) connections: more requests at once
            // would only queue inside the pool.
            max_concurrent_requests: 32,
            max_body_bytes: 16 * 1024,
        }
    }
}

/// The routes with the default [`HttpLimits`], ready for `axum::serve` or
/// `tower::ServiceExt::oneshot`.
pub fn router(view: View) -> Router {
    router_with_limits(view, HttpLimits::default())
}

/// The routes behind the given limits.
pub fn router_with_limits(view: View, limits: HttpLimits) -> Router {
    Router::new()
        .route("/", get(search_page))
        .route("/record/{record_id}", get(record_page))
        .route("/records", get(search_records))
        .route("/records/{record_id}", get(get_record))
        .route("/healthz", get(healthz))
        .route("/stats", get(stats))
        .with_state(view)
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(GlobalConcurrencyLimitLayer::new(
            limits.max_concurrent_requests,
        ))
        // Outermost, so that waiting for a turn counts against the timeout too.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn unavailable(route: &'static str, err: &PlatformError) -> Response {
    events::ApiDatabaseError { route, error: err }.emit();
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the view database is unavailable; retry later",
    )
}

async fn search_records(
    State(view): State<View>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Query(params) = match params {
        Ok(params) => params,
        // Decoding into string pairs is lossy and does not fail today; should a future axum
        // refuse a query string, the client still gets the API's JSON error shape.
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "the query string is not valid URL encoding",
            )
        }
    };
    let query = match SearchQuery::from_params(&params) {
        Ok(query) => query,
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    match view.search(&query).await {
        Ok(result) => Json(result).into_response(),
        Err(err) => unavailable("/records", &err),
    }
}

async fn get_record(State(view): State<View>, Path(record_id): Path<String>) -> Response {
    match view.get(&record_id).await {
        Ok(Some(record)) => Json(record).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "no record in force has this record_id (never published, or withdrawn)",
        ),
        Err(err) => unavailable("/records/{record_id}", &err),
    }
}

async fn healthz(State(view): State<View>) -> Response {
    match view.ping().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(err) => unavailable("/healthz", &err),
    }
}

async fn stats(State(view): State<View>) -> Response {
    match view.stats().await {
        Ok(stats) => Json(stats).into_response(),
        Err(err) => unavailable("/stats", &err),
    }
}

/// Pages are built per request and may name withdrawn records' absence: never cached by a proxy
/// for long.
fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-cache")], Html(body)).into_response()
}

async fn search_page(
    State(view): State<View>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return html(
            StatusCode::BAD_REQUEST,
            page::bad_query_page(&[], "the query string is not valid URL encoding"),
        );
    };
    let query = match SearchQuery::from_params(&params) {
        Ok(query) => query,
        Err(err) => {
            return html(
                StatusCode::BAD_REQUEST,
                page::bad_query_page(&params, &err.to_string()),
            )
        }
    };
    match view.search(&query).await {
        Ok(result) => html(StatusCode::OK, page::search_page(&params, &query, &result)),
        Err(err) => {
            events::ApiDatabaseError {
                route: "/",
                error: &err,
            }
            .emit();
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::message_page("暂时无法查询", "查询服务暂时不可用，请稍后再试。"),
            )
        }
    }
}

async fn record_page(State(view): State<View>, Path(record_id): Path<String>) -> Response {
    match view.get(&record_id).await {
        Ok(Some(record)) => html(StatusCode::OK, page::record_page(&record)),
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            page::message_page(
                "未找到公示信息",
                "未找到该公示信息：它可能从未公示，或已依法撤销、停止公示。",
            ),
        ),
        Err(err) => {
            events::ApiDatabaseError {
                route: "/record/{record_id}",
                error: &err,
            }
            .emit();
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::message_page("暂时无法查询", "查询服务暂时不可用，请稍后再试。"),
            )
        }
    }
}
