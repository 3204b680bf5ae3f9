//! The search API over a [`View`]: `GET /records`, `GET /records/{record_id}`, `GET /healthz`,
//! `GET /stats`. Every error is JSON `{"error": "..."}`; bad parameters are 400, a database
//! outage is 503 (the details go to the log, not to the client).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::events;
use crate::search::SearchQuery;
use crate::view::View;
use crate::PlatformError;

/// The routes of the search API, ready for `axum::serve` or `tower::ServiceExt::oneshot`.
pub fn router(view: View) -> Router {
    Router::new()
        .route("/records", get(search_records))
        .route("/records/{record_id}", get(get_record))
        .route("/healthz", get(healthz))
        .route("/stats", get(stats))
        .with_state(view)
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
