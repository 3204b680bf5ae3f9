//! `http_push`: departments POST their records to `POST /ingest/<source>` (CONTRACT §1).
//!
//! A push source runs no task of its own: it answers requests. [`SourceKind::build`] hands the hub a
//! [`PushEndpoint`] (the source's keys, its token resolved once), the hub binds it to the source's
//! [`SourceContext`] and mounts [`router`] of every push source into its own HTTP server.
//!
//! One request, in order (the first failing check answers):
//!
//! 1. the hub is stopping → 503 with `Retry-After`;
//! 2. `Authorization: Bearer <token>`: missing, malformed or unknown → 401; the token of another
//!    `http_push` source → 403. Tokens are compared as SHA-256 digests in constant time, against
//!    every push source's token whatever the first match, so timing tells nothing;
//! 3. `Content-Type` one of the types of the mapping's format ([`accepted_types`]) → else 415;
//! 4. `Content-Length` over `max_body_bytes` → 413 before a byte of the body is read; a body
//!    without a length is read only up to the limit, then refused with 413;
//! 5. the body is read and mapped on a blocking thread; a document that cannot be read (bad JSON,
//!    XML, encoding, limits) → 422 naming line (and column, for JSON);
//! 6. the batch is submitted to the sink ([`group`]: with the source's other requests waiting at that
//!    moment, in one transaction); only when it has been stored does the answer go out:
//!    202 `{"accepted": n}` when every record was taken (stored, or unchanged), 422 `{"accepted": n,
//!    "rejected": [{"index", "record_id", "origin", "stage", "reason"}]}` when some were held back
//!    (mapping, validation, the source's `agencies`/`division`): the others are stored all the same.
//!    A store that fails for now → 503 with `Retry-After`; that is the hub's state, not bad input.
//!
//! Every answer is JSON and carries the request's id (`x-request-id`), which is also the
//! [`Origin::Request`] of its records (`POST /ingest/<source> <id>#<index>`). Reasons name fields,
//! rules and positions, never values (the mapping's and validation's messages never quote them).
//!
//! A timeout (`request_timeout_ms`, answered 408) and a limit on requests worked on at once
//! (`max_concurrent_requests`, the others wait) are tower layers on the source's route. The body
//! limit is checked in the handler instead of by a layer, so that an unauthenticated request is told
//! 401 rather than how large a body may be. The store is written by a task of its own ([`group`]),
//! so a request cut by its timeout or a dropped connection never cuts a transaction in half.

pub mod config;
pub mod group;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{BoxError, Json, Router};
use dhub_mapping::{DocumentError, Mapping, ReadLimits, SourceFormat};
use dhub_schema::intake::{IntakeBatch, IntakeReport, ItemOutcome, Origin};
use futures::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::ServiceBuilder;

pub use config::HttpPushConfig;
use group::GroupCommit;

use crate::context::SourceContext;
use crate::limits::LimitsConfig;
use crate::mapped::{map_context, to_intake};

/// How long a client is asked to wait before sending again when the hub cannot store now.
const RETRY_AFTER_SECONDS: u64 = 5;

/// The header carrying the request's id in every answer.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A push source's keys, ready to serve: what [`SourceKind::build`](crate::SourceKind::build) gives
/// for `http_push`.
pub struct PushEndpoint {
    token: TokenDigest,
    max_body_bytes: u64,
    /// `[source.limits]`; the document size is `max_body_bytes`.
    limits: LimitsConfig,
    request_timeout: Duration,
    max_concurrent_requests: usize,
}

/// SHA-256 of a token: equal lengths for the constant-time comparison, and the token itself is not
/// kept in memory longer than start-up.
#[derive(Clone, Copy, PartialEq, Eq)]
struct TokenDigest([u8; 32]);

impl TokenDigest {
    fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    fn matches(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for PushEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushEndpoint")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl PushEndpoint {
    /// Resolves the token and checks the keys (the same checks as `dhub check`).
    pub fn new(config: &HttpPushConfig, base_dir: &Path) -> Result<PushEndpoint, String> {
        let problems = config.check(base_dir);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let token = config.token.resolve(base_dir)?;
        Ok(PushEndpoint {
            token: TokenDigest::of(token.expose()),
            max_body_bytes: config.max_body_bytes,
            limits: LimitsConfig::default(),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            max_concurrent_requests: config.max_concurrent_requests as usize,
        })
    }

    /// Reads bodies within the source's `[source.limits]`.
    pub fn within(mut self, limits: &LimitsConfig) -> PushEndpoint {
        self.limits = limits.clone();
        self
    }

    /// The endpoint of the source `context` names, ready for [`router`]. The context's positions are
    /// not used: a push source has nothing to resume.
    pub fn bind(self, context: SourceContext) -> PushSource {
        PushSource {
            endpoint: self,
            context,
        }
    }
}

/// A push source bound to its context.
pub struct PushSource {
    endpoint: PushEndpoint,
    context: SourceContext,
}

impl PushSource {
    pub fn name(&self) -> &str {
        &self.context.name
    }
}

/// Content types accepted for a mapping format (compared without parameters, case-insensitively).
/// The document's encoding is the document's own (byte order mark, XML declaration, the mapping's
/// `encoding`), as for files, so a `charset` parameter is not consulted.
pub fn accepted_types(format: SourceFormat) -> &'static [&'static str] {
    match format {
        SourceFormat::Json => &["application/json"],
        SourceFormat::Jsonl => &[
            "application/x-ndjson",
            "application/jsonl",
            "application/x-jsonl",
            "application/jsonlines",
            "application/x-jsonlines",
        ],
        SourceFormat::Xml => &["application/xml", "text/xml"],
        SourceFormat::Csv | SourceFormat::Xlsx | SourceFormat::Row => &[],
    }
}

/// What one route's handler knows.
struct Endpoint {
    name: String,
    /// `POST /ingest/<name>`: with the request id, the origin of the request's records.
    request_prefix: String,
    mapping: Arc<Mapping>,
    context: SourceContext,
    token: TokenDigest,
    /// Every other push source's token: presenting one of them is a 403.
    others: Vec<TokenDigest>,
    max_body_bytes: u64,
    limits: ReadLimits,
    /// Stores the source's requests, several in one transaction when they come together.
    writer: GroupCommit,
}

/// The routes of every push source: `POST /ingest/<name>` each, with its timeout and concurrency
/// limit, and a JSON 404 for names that are not push sources. Fails when two sources share a token
/// (a department could then submit as the other).
pub fn router(sources: Vec<PushSource>) -> Result<Router, String> {
    for (i, a) in sources.iter().enumerate() {
        for b in &sources[i + 1..] {
            if a.endpoint.token.matches(&b.endpoint.token) {
                return Err(format!(
                    "http_push sources `{}` and `{}` have the same token; give each department its own",
                    a.name(),
                    b.name()
                ));
            }
        }
    }
    let tokens: Vec<TokenDigest> = sources.iter().map(|s| s.endpoint.token).collect();
    let mut router = Router::new();
    for (i, source) in sources.into_iter().enumerate() {
        let PushSource { endpoint, context } = source;
        let name = context.name.clone();
        let shared = Arc::new(Endpoint {
            request_prefix: format!("POST /ingest/{name}"),
            name: name.clone(),
            mapping: context.mapping.clone(),
            token: endpoint.token,
            others: tokens
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, t)| *t)
                .collect(),
            max_body_bytes: endpoint.max_body_bytes,
            limits: endpoint.limits.read_limits(endpoint.max_body_bytes),
            writer: GroupCommit::new(context.sink.clone()),
            context,
        });
        let timeout = endpoint.request_timeout;
        let layers = ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |error: BoxError| async move {
                overloaded(error, timeout)
            }))
            .timeout(timeout)
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                endpoint.max_concurrent_requests,
            ));
        let handler = post(move |request: Request| ingest(shared.clone(), request)).layer(layers);
        router = router.route(&format!("/ingest/{name}"), handler);
    }
    Ok(router.route("/ingest/{source}", post(unknown_source)))
}

/// The answer when the timeout layer ran out (the only error the layers make).
fn overloaded(error: BoxError, timeout: Duration) -> Response {
    let request_id = new_request_id();
    let message = if error.is::<tower::timeout::error::Elapsed>() {
        format!(
            "the request took longer than {} ms (request_timeout_ms); records it stored stay stored, and sending it again finds them unchanged",
            timeout.as_millis()
        )
    } else {
        format!("the request could not be served: {error}")
    };
    answer(
        StatusCode::REQUEST_TIMEOUT,
        &request_id,
        json!({ "error": message }),
    )
}

async fn unknown_source(axum::extract::Path(source): axum::extract::Path<String>) -> Response {
    let request_id = new_request_id();
    answer(
        StatusCode::NOT_FOUND,
        &request_id,
        json!({ "error": format!("no http_push source is named `{source}`") }),
    )
}

/// A JSON answer with the request id in the body and in `x-request-id`.
fn answer(status: StatusCode, request_id: &str, mut body: Value) -> Response {
    body["request_id"] = json!(request_id);
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

fn with_header(mut response: Response, name: header::HeaderName, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// 16 hex digits, unique within the process and unpredictable across processes (std's hasher keys
/// are random per process).
fn new_request_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut hasher = KEYS
        .get_or_init(std::collections::hash_map::RandomState::new)
        .build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}

/// Why a request is refused before its body is mapped.
struct Refusal {
    status: StatusCode,
    message: String,
    headers: Vec<(header::HeaderName, String)>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Refusal {
        self.headers.push((name, value.into()));
        self
    }
}

async fn ingest(endpoint: Arc<Endpoint>, request: Request) -> Response {
    let request_id = new_request_id();
    match serve(&endpoint, &request_id, request).await {
        Ok(response) => response,
        Err(refusal) => {
            let events = &endpoint.context.events;
            events.document_failed(
                &endpoint.name,
                &format!(
                    "{} {request_id}: refused with {}: {}",
                    endpoint.request_prefix,
                    refusal.status.as_u16(),
                    refusal.message
                ),
            );
            let mut response = answer(
                refusal.status,
                &request_id,
                json!({ "error": refusal.message }),
            );
            for (name, value) in refusal.headers {
                response = with_header(response, name, &value);
            }
            response
        }
    }
}

async fn serve(
    endpoint: &Arc<Endpoint>,
    request_id: &str,
    request: Request,
) -> Result<Response, Refusal> {
    if endpoint.context.stopping() {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the hub is stopping; send the request again in a moment",
        )
        .header(header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
    }
    let (parts, body) = request.into_parts();
    authorize(endpoint, &parts.headers)?;
    check_content_type(endpoint, &parts.headers)?;
    let bytes = read_body(endpoint, &parts.headers, body).await?;

    let request_name = format!("{} {request_id}", endpoint.request_prefix);
    let mapper = endpoint.clone();
    let named = request_name.clone();
    let batch = tokio::task::spawn_blocking(move || map_body(&mapper, &bytes, &named))
        .await
        .map_err(|_| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "mapping the body failed unexpectedly (a bug: please report it); nothing was stored",
            )
        })??;
    let count = batch.items.len();
    let report = match endpoint.writer.submit(batch).await {
        Ok(report) => report,
        Err(error) if error.retryable => {
            endpoint
                .context
                .events
                .retrying(&endpoint.name, &error.message);
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the hub cannot store records right now; nothing of this request was stored, send it again later",
            )
            .header(header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
        }
        Err(error) => {
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the hub could not store the records: {}; nothing of this request was stored",
                    error.message
                ),
            ))
        }
    };
    endpoint.context.events.document_done(&endpoint.name, count);
    Ok(report_answer(&request_name, &report, request_id))
}

/// 202 when every record was taken, else 422 listing the ones held back.
fn report_answer(request_name: &str, report: &IntakeReport, request_id: &str) -> Response {
    let accepted = report.outcomes.iter().filter(|o| o.is_accepted()).count();
    let rejected: Vec<Value> = report
        .outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, outcome)| match outcome {
            ItemOutcome::Quarantined {
                record_id,
                stage,
                reason,
            } => Some(json!({
                "index": i + 1,
                "record_id": record_id,
                "origin": Origin::Request { request: request_name.to_string(), index: i + 1 }.to_string(),
                "stage": stage.as_str(),
                "reason": reason,
            })),
            ItemOutcome::Accepted { .. } | ItemOutcome::Unchanged { .. } => None,
        })
        .collect();
    if rejected.is_empty() {
        answer(
            StatusCode::ACCEPTED,
            request_id,
            json!({ "accepted": accepted, "unchanged": report.unchanged() }),
        )
    } else {
        answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            request_id,
            json!({ "accepted": accepted, "unchanged": report.unchanged(), "rejected": rejected }),
        )
    }
}

fn authorize(endpoint: &Endpoint, headers: &HeaderMap) -> Result<(), Refusal> {
    let unauthorized = |message: &str, challenge: &str| {
        Refusal::new(StatusCode::UNAUTHORIZED, message)
            .header(header::WWW_AUTHENTICATE, challenge.to_string())
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "no Authorization header; send `Authorization: Bearer <the source's token>`",
            "Bearer realm=\"dhub\"",
        ));
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    let Some(presented) = presented else {
        return Err(unauthorized(
            "the Authorization header is not `Bearer <token>`",
            "Bearer realm=\"dhub\", error=\"invalid_request\"",
        ));
    };
    let digest = TokenDigest::of(presented);
    // Compared with every token, whichever matches first: the time taken does not tell which.
    let own = endpoint.token.matches(&digest);
    let other = endpoint
        .others
        .iter()
        .fold(false, |found, token| found | token.matches(&digest));
    if own {
        Ok(())
    } else if other {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "the token is another source's; a department may only push to its own source, not to `{}`",
                endpoint.name
            ),
        ))
    } else {
        Err(unauthorized(
            "the token is not valid for this source",
            "Bearer realm=\"dhub\", error=\"invalid_token\"",
        ))
    }
}

fn check_content_type(endpoint: &Endpoint, headers: &HeaderMap) -> Result<(), Refusal> {
    let accepted = accepted_types(endpoint.mapping.format());
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match media_type {
        Some(media_type) if accepted.contains(&media_type.as_str()) => Ok(()),
        other => {
            let given = match other {
                Some(media_type) if !media_type.is_empty() => format!("`{media_type}`"),
                _ => "no content type".to_string(),
            };
            Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "{given}: source `{}` takes {} ({}, the format of mapping `{}`)",
                    endpoint.name,
                    accepted.join(" or "),
                    endpoint.mapping.format(),
                    endpoint.mapping.name()
                ),
            )
            .header(header::ACCEPT, accepted.join(", ")))
        }
    }
}

/// The body, read only up to `max_body_bytes`: a declared length over it is refused before reading,
/// a stream that passes it is cut off there.
async fn read_body(
    endpoint: &Endpoint,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, Refusal> {
    let limit = endpoint.max_body_bytes;
    let too_large = |size: String| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is {size}, over the source's limit of {limit} bytes (max_body_bytes); send the records in smaller batches"
            ),
        )
        // The rest of the body is not read: the connection cannot be used again.
        .header(header::CONNECTION, "close")
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = declared {
        if length > limit {
            return Err(too_large(format!("{length} bytes")));
        }
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("the body could not be received: {error}; send it again"),
            )
        })?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large(format!("more than {limit} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads and maps the body into one batch (CPU work: on a blocking thread).
fn map_body(endpoint: &Endpoint, bytes: &[u8], request_name: &str) -> Result<IntakeBatch, Refusal> {
    let mapping = &endpoint.mapping;
    let records = mapping
        .read_document_with(bytes, "body", &endpoint.limits)
        .map_err(|error| unreadable(mapping.format(), bytes, &error))?;
    let context = map_context(&endpoint.name);
    let items = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let origin = Origin::Request {
                request: request_name.to_string(),
                index: i + 1,
            };
            to_intake(mapping, &endpoint.name, record, origin, &context)
        })
        .collect();
    Ok(IntakeBatch {
        source: endpoint.name.clone(),
        mapping_name: mapping.name().to_string(),
        mapping_version: mapping.version().to_string(),
        items,
        positions: Vec::new(),
        exported: None,
    })
}

/// 422 for a body that cannot be read as a document at all, naming its line (and, for a JSON
/// syntax error, its column).
fn unreadable(format: SourceFormat, bytes: &[u8], error: &DocumentError) -> Refusal {
    let column = match error.line {
        Some(line) if error.message.starts_with("invalid JSON") => {
            json_error_column(format, bytes, line)
        }
        _ => None,
    };
    let at = match (error.line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}: "),
        (Some(line), None) => format!("line {line}: "),
        _ => String::new(),
    };
    Refusal::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "the body cannot be read: {at}{}; nothing of it was stored",
            error.message
        ),
    )
}

/// The column (in characters, from 1) of a JSON syntax error the mapping's reader found at `line`:
/// serde_json knows it (in bytes), the reader's message leaves it out. Only on the error path, so
/// parsing again costs nothing that matters.
fn json_error_column(format: SourceFormat, bytes: &[u8], line: u64) -> Option<u64> {
    let text = bytes
        .split(|b| *b == b'\n')
        .nth(line.checked_sub(1)? as usize)?;
    let byte_column = match format {
        SourceFormat::Json => {
            let error = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).err()?;
            (error.line() as u64 == line).then_some(error.column())?
        }
        SourceFormat::Jsonl => serde_json::from_slice::<serde::de::IgnoredAny>(text)
            .err()?
            .column(),
        _ => return None,
    };
    let before = &text[..byte_column.saturating_sub(1).min(text.len())];
    Some(String::from_utf8_lossy(before).chars().count() as u64 + 1)
}

#[cfg(test)]
mod tests;
