//! Decision documents on a platform (issue 11, CONTRACT §4 `documents`): an upsert names its
//! documents by `{kind, media_type, sha256, size, url}`; the keeper fetches each from the hub's
//! `url`, keeps it only if its SHA-256 matches, stores it beside the view (`--documents DIR`,
//! one file per hash) and deletes the files no record in force names any more (a retraction, a
//! newer version with another document). `GET /documents/{sha256}` serves what is kept and named
//! by a record in force; the record page links it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::view::View;

/// The largest document fetched (the hub's own cap on evidence video).
pub const MAX_DOCUMENT_BYTES: u64 = 512 * 1024 * 1024;

/// How often the keeper compares what is kept with what the view names.
pub const KEEP_EVERY: Duration = Duration::from_secs(1);

/// Checks an envelope's `documents`: an array of `{kind, media_type, sha256, size, url}` with a
/// known kind, 64 lowercase hex digits and an http(s) URL. `Err` says what was expected.
pub fn check_descriptors(documents: Value) -> Result<Value, &'static str> {
    const EXPECTED: &str =
        "an array of {kind: decision|evidence, media_type, sha256 (64 hex digits), size, url (http or https)}";
    let Value::Array(items) = &documents else {
        return Err(EXPECTED);
    };
    for item in items {
        let text = |key: &str| item.get(key).and_then(Value::as_str);
        let ok = matches!(text("kind"), Some("decision" | "evidence"))
            && text("media_type").is_some_and(|m| !m.is_empty() && m.len() < 200)
            && text("sha256").is_some_and(is_sha256)
            && item.get("size").and_then(Value::as_u64).is_some()
            && text("url").is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
        if !ok {
            return Err(EXPECTED);
        }
    }
    Ok(documents)
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One document a record in force names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub url: String,
    pub media_type: String,
    pub size: u64,
}

/// The documents the records in force name, by hash.
pub async fn named_documents(view: &View) -> Result<BTreeMap<String, Named>, crate::PlatformError> {
    let mut named = BTreeMap::new();
    for record_id in view.visible_ids().await? {
        let Some(record) = view.get(&record_id).await? else {
            continue;
        };
        for document in record["documents"].as_array().into_iter().flatten() {
            let text = |key: &str| document[key].as_str().unwrap_or_default().to_string();
            named.insert(
                text("sha256"),
                Named {
                    url: text("url"),
                    media_type: text("media_type"),
                    size: document["size"].as_u64().unwrap_or(0),
                },
            );
        }
    }
    Ok(named)
}

/// What one round of the keeper did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeptRound {
    pub fetched: usize,
    pub deleted: usize,
    /// Fetches that failed (retried next round): reasons name the hash and the failure.
    pub failed: Vec<String>,
}

/// Keeps `dir` in step with the view: fetches what is named and missing (verifying the hash),
/// deletes what is kept and no longer named.
pub async fn keep_round(view: &View, dir: &Path, client: &reqwest::Client) -> KeptRound {
    let mut round = KeptRound::default();
    let named = match named_documents(view).await {
        Ok(named) => named,
        Err(error) => {
            round.failed.push(format!("the view: {error}"));
            return round;
        }
    };
    for (sha256, document) in &named {
        let path = dir.join(sha256);
        if path.exists() {
            continue;
        }
        match fetch(client, document).await {
            Ok(bytes) if hex(&Sha256::digest(&bytes)) == *sha256 => {
                let partial = dir.join(format!(".{sha256}.part"));
                let written = tokio::fs::write(&partial, &bytes).await;
                match written.and(tokio::fs::rename(&partial, &path).await) {
                    Ok(()) => round.fetched += 1,
                    Err(error) => round.failed.push(format!("{sha256}: cannot be kept: {error}")),
                }
            }
            Ok(_) => round
                .failed
                .push(format!("{sha256}: the bytes fetched do not have this SHA-256; not kept")),
            Err(reason) => round.failed.push(format!("{sha256}: {reason}")),
        }
    }
    let kept: HashSet<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|name| is_sha256(name))
                .collect()
        })
        .unwrap_or_default();
    for sha256 in kept.iter().filter(|s| !named.contains_key(*s)) {
        if std::fs::remove_file(dir.join(sha256)).is_ok() {
            round.deleted += 1;
        }
    }
    round
}

async fn fetch(client: &reqwest::Client, document: &Named) -> Result<Vec<u8>, String> {
    if document.size > MAX_DOCUMENT_BYTES {
        return Err(format!("{} bytes, over {MAX_DOCUMENT_BYTES}", document.size));
    }
    let mut response = client
        .get(&document.url)
        .send()
        .await
        .map_err(|error| format!("GET failed: {error}"))?;
    if !response.status().is_success() {
        return Err(format!("GET answered {}", response.status()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| format!("GET cut off: {error}"))?
    {
        if (bytes.len() + chunk.len()) as u64 > document.size.max(1) {
            return Err("the body is longer than the descriptor's size".into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keeper, until `stop` turns true.
pub async fn keep(view: View, dir: PathBuf, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    loop {
        let round = keep_round(&view, &dir, &client).await;
        if round.fetched + round.deleted > 0 {
            tracing::info!(fetched = round.fetched, deleted = round.deleted, "documents kept in step with the view");
        }
        for reason in &round.failed {
            tracing::warn!(reason, "document not kept; trying again");
        }
        tokio::select! {
            _ = tokio::time::sleep(KEEP_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

#[derive(Clone)]
struct Kept {
    view: View,
    dir: PathBuf,
}

/// `GET /documents/{sha256}`: a kept document that a record in force names.
pub fn router(view: View, dir: PathBuf) -> Router {
    Router::new()
        .route("/documents/{sha256}", get(serve))
        .with_state(Kept { view, dir })
}

async fn serve(State(kept): State<Kept>, UrlPath(sha256): UrlPath<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such document").into_response();
    if !is_sha256(&sha256) {
        return not_found();
    }
    let named = match named_documents(&kept.view).await {
        Ok(named) => named,
        Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "the view is unavailable").into_response(),
    };
    let Some(document) = named.get(&sha256) else {
        return not_found();
    };
    match tokio::fs::read(kept.dir.join(&sha256)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, document.media_type.clone()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}
