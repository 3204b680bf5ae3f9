//! Decision documents on the hub (issue 11): the document store opened from `[documents]`,
//! `GET /documents/{sha256}` serving what a platform was sent (a document of a record's latest
//! version that is not retracted; any other hash is 404, so the endpoint is no open file server),
//! and pruning the stored documents no version in force names any more.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use dhub_documents::{DocumentStore, S3Options};
use dhub_ingest::DocumentSettings;
use dhub_store::Store;

use crate::config::HubConfig;

use super::http::HttpState;

/// How often stored documents are compared with those in force.
pub const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// The document settings of the ingest step, `None` without `[documents]`.
pub async fn settings(config: &HubConfig) -> anyhow::Result<Option<Arc<DocumentSettings>>> {
    let Some(setup) = &config.documents else {
        return Ok(None);
    };
    let s3 = S3Options {
        endpoint: setup.s3_endpoint.clone(),
        allow_http: setup
            .s3_endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://")),
        ..S3Options::default()
    };
    let store = DocumentStore::open(&setup.store, &config.base_dir, &s3)
        .await
        .with_context(|| "cannot open the document store ([documents] store)".to_string())?;
    let mut limits = std::collections::HashMap::new();
    for source in &config.sources {
        let source_limits = source.document_limits().map_err(anyhow::Error::msg)?;
        limits.insert(source.name().to_string(), source_limits);
    }
    Ok(Some(Arc::new(DocumentSettings {
        store,
        base_url: setup.base_url.clone(),
        limits,
    })))
}

/// `GET /documents/{sha256}`.
pub async fn serve(State(state): State<HttpState>, Path(sha256): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such document").into_response();
    let Some(documents) = &state.documents else {
        return not_found();
    };
    let valid = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !valid {
        return not_found();
    }
    let served = match state.store.document_in_force(&sha256).await {
        Ok(Some(served)) => served,
        Ok(None) => return not_found(),
        Err(error) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("state store: {error}"))
                .into_response()
        }
    };
    match documents.get(&sha256).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, served.media_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                // The public version is HTML the hub wrote; served without scripts all the same.
                (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(error) => {
            tracing::error!(%error, "document store: cannot serve a document");
            (StatusCode::SERVICE_UNAVAILABLE, "document store unavailable").into_response()
        }
    }
}

/// Deletes the stored documents that some version sent but no version in force names any more
/// (revoked, expired, replaced). Returns how many were deleted.
pub async fn prune(store: &Store, documents: &DocumentStore) -> anyhow::Result<usize> {
    let sent = store.documents_ever_sent().await?;
    let in_force = store.documents_in_force().await?;
    let mut deleted = 0;
    for sha256 in sent.difference(&in_force) {
        if documents.delete(sha256).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}
