//! Configuration of an `http_pull` source.

use std::path::Path;

use dhub_support::Secret;
use serde::Deserialize;

use super::cursor::CursorPath;

/// `[[source]] kind = "http_pull"`: the hub asks a department's API for its cases, page after page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPullConfig {
    /// The page URL (`http://` or `https://`). `{cursor}` in it is replaced by the cursor,
    /// percent-encoded: the stored one, else `initial_cursor`.
    pub url: String,
    /// Bearer token (`Authorization: Bearer …`); or `username` + `password` for basic auth; or none.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Basic auth user name (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth password (with `username`).
    #[serde(default)]
    pub password: Option<Secret>,
    /// Where a page says the cursor of the next one. JSON: a JSON pointer (`/next_cursor`); XML: the
    /// element path from the root (`Page/NextCursor`), or an attribute (`Page/@next`). A page without
    /// it (absent, `null`, empty) is the last one for now. Required when `url` holds `{cursor}`.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// The cursor of the very first request, before any is stored (default empty).
    #[serde(default)]
    pub initial_cursor: String,
    /// How long to wait after the last page (or a refused request) before asking again (default
    /// 60000).
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// The longest one request may take, body included (default 30000); a slower one is retried.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The largest page accepted, in bytes (default 8 MiB); a larger one is an error that is
    /// retried (and reported), never half-stored.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// The first delay before retrying a failed request (default 500); it doubles, with jitter, up
    /// to `max_retry_delay_ms` (default 300000). A `Retry-After` of the API wins over both.
    #[serde(default = "default_min_retry_delay_ms")]
    pub min_retry_delay_ms: u64,
    #[serde(default = "default_max_retry_delay_ms")]
    pub max_retry_delay_ms: u64,
}

fn default_interval_ms() -> u64 {
    60_000
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_max_body_bytes() -> u64 {
    8 * 1024 * 1024
}
fn default_min_retry_delay_ms() -> u64 {
    500
}
fn default_max_retry_delay_ms() -> u64 {
    300_000
}

/// A page is held in memory whole while it is mapped.
const MAX_BODY_CEILING: u64 = 1024 * 1024 * 1024;

/// The cursor placeholder in `url`.
pub const CURSOR_PLACEHOLDER: &str = "{cursor}";

impl HttpPullConfig {
    /// Every problem with the keys, without a location (the caller adds file and line). Resolves the
    /// secrets, so a missing variable or file is reported by `dhub check`.
    pub fn check(&self, base_dir: &Path) -> Vec<String> {
        let mut errors = Vec::new();
        let probe = self.url.replace(CURSOR_PLACEHOLDER, "c");
        match reqwest::Url::parse(&probe) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                if !url.username().is_empty() || url.password().is_some() {
                    errors.push(
                        "url: carries a user name or password; use `username` and `password` (a secret) instead"
                            .to_string(),
                    );
                }
            }
            Ok(url) => errors.push(format!(
                "url: scheme `{}` is not supported; use http:// or https://",
                url.scheme()
            )),
            Err(error) => errors.push(format!("url: not a URL ({error})")),
        }
        let templated = self.url.contains(CURSOR_PLACEHOLDER);
        match (&self.next_cursor, templated) {
            (Some(path), true) => {
                if let Err(problem) = CursorPath::parse(path) {
                    errors.push(format!("next_cursor: {problem}"));
                }
            }
            (Some(_), false) => errors.push(
                "next_cursor is set but url has no {cursor}: the cursor would never be sent; put {cursor} where the API takes it"
                    .to_string(),
            ),
            (None, true) => errors.push(
                "url holds {cursor} but next_cursor is not set: say where a page gives the next cursor"
                    .to_string(),
            ),
            (None, false) => {}
        }
        match (&self.token, &self.username, &self.password) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => errors.push(
                "give either token (bearer) or username and password (basic), not both".to_string(),
            ),
            (None, Some(_), None) => errors.push("username is set without password".to_string()),
            (None, None, Some(_)) => errors.push("password is set without username".to_string()),
            _ => {}
        }
        for (key, secret) in [("token", &self.token), ("password", &self.password)] {
            if let Some(Err(message)) = secret.as_ref().map(|s| s.resolve(base_dir)) {
                errors.push(format!("{key}: {message}"));
            }
        }
        for (key, value, min) in [
            ("interval_ms", self.interval_ms, 10),
            ("timeout_ms", self.timeout_ms, 100),
            ("min_retry_delay_ms", self.min_retry_delay_ms, 10),
        ] {
            if value < min {
                errors.push(format!("{key} = {value}: must be at least {min}"));
            }
        }
        if self.max_retry_delay_ms < self.min_retry_delay_ms {
            errors.push(format!(
                "max_retry_delay_ms = {}: must be at least min_retry_delay_ms ({})",
                self.max_retry_delay_ms, self.min_retry_delay_ms
            ));
        }
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_BODY_CEILING {
            errors.push(format!(
                "max_body_bytes = {}: must be between 1 and {MAX_BODY_CEILING} (1 GiB)",
                self.max_body_bytes
            ));
        }
        errors
    }
}
