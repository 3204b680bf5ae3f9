//! Configuration of an `http_push` source (CONTRACT §1, §2).

use std::path::Path;

use dhub_support::Secret;
use serde::Deserialize;

/// `[[source]] kind = "http_push"`: the department POSTs its records to `POST /ingest/<name>`.
/// The mapping's format (`json`, `jsonl`, `xml`) sets the content type accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPushConfig {
    /// The bearer token the department sends (`Authorization: Bearer <token>`): at least 16 visible
    /// ASCII characters without spaces, different from every other `http_push` source's token. Give
    /// it as `{ env = "NAME" }` or `{ file = "PATH" }`; it is resolved once at start and compared in
    /// constant time.
    pub token: Secret,
    /// The largest body accepted, in bytes (default 8 MiB). A larger one is refused with 413 before
    /// it is read: by its `Content-Length`, or as soon as the stream passes the limit.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// How long one request may take, from its arrival to the answer (default 60000): waiting for a
    /// free slot, receiving the body, mapping and storing. A request over it is answered 408; what
    /// it stored stays stored (sending it again finds those records unchanged).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// How many requests of this source are worked on at once (default 64); more wait for a slot
    /// within `request_timeout_ms`. Bounds the memory one department's bodies can hold.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: u64,
}

/// The contract's default (CONTRACT §2).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

fn default_max_body_bytes() -> u64 {
    DEFAULT_MAX_BODY_BYTES
}

fn default_request_timeout_ms() -> u64 {
    60_000
}

fn default_max_concurrent_requests() -> u64 {
    64
}

/// Shortest token accepted: a guessable token would let anyone publish in the agency's name.
pub const MIN_TOKEN_CHARS: usize = 16;

/// A body is held in memory whole while it is mapped: above this, one request could take the hub's
/// memory.
const MAX_BODY_CEILING: u64 = 1024 * 1024 * 1024;

impl HttpPushConfig {
    /// Every problem with the keys, without a location (the caller adds file and line). Resolves the
    /// token, so a missing variable or file is reported by `dhub check`.
    pub fn check(&self, base_dir: &Path) -> Vec<String> {
        let mut errors = Vec::new();
        match self.token.resolve(base_dir) {
            Ok(token) => {
                if let Some(problem) = token_problem(token.expose()) {
                    errors.push(format!("token: {problem}"));
                }
            }
            Err(message) => errors.push(format!("token: {message}")),
        }
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_BODY_CEILING {
            errors.push(format!(
                "max_body_bytes = {}: must be between 1 and {MAX_BODY_CEILING} (1 GiB)",
                self.max_body_bytes
            ));
        }
        if self.request_timeout_ms < 100 {
            errors.push(format!(
                "request_timeout_ms = {}: must be at least 100",
                self.request_timeout_ms
            ));
        }
        if self.max_concurrent_requests == 0 || self.max_concurrent_requests > 10_000 {
            errors.push(format!(
                "max_concurrent_requests = {}: must be between 1 and 10000",
                self.max_concurrent_requests
            ));
        }
        errors
    }
}

/// Why a token cannot be used, never quoting it.
pub fn token_problem(token: &str) -> Option<String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Some(format!(
            "the token has {} characters; use a random one of at least {MIN_TOKEN_CHARS} (32 or more is better)",
            token.chars().count()
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Some(
            "the token holds a space, a control or a non-ASCII character; it must be sendable in an Authorization header"
                .to_string(),
        );
    }
    None
}
