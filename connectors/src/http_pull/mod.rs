//! `http_pull`: the hub polls a department's API.
//!
//! A page's life: the hub GETs `url` with the cursor in it (the stored one, else `initial_cursor`),
//! reads the body whole (never past `max_body_bytes`), maps its records and reads the next cursor
//! (`next_cursor`: a JSON pointer or an XML element path), then submits the page as ONE batch whose
//! position is that next cursor (or, on the last page, the cursor it was fetched with). Only once the
//! batch is stored does it ask for the next page; a page without a next cursor is the last one for
//! now, and the source asks again after `interval_ms`, from the same cursor: an API of changes since
//! a cursor then hands over what changed meanwhile, and records already stored come back unchanged.
//! After a restart the source resumes from the stored cursor: nothing skipped, nothing lost.
//!
//! Failures: a timeout (`timeout_ms`, body included), a connection failure, 408, 429, 5xx, a body
//! cut off before its `Content-Length` or over `max_body_bytes` are retried with exponential backoff
//! and jitter (`min_retry_delay_ms` … `max_retry_delay_ms`), or after the API's `Retry-After`
//! (seconds or an HTTP date) on 429 and 503. Another 4xx (a wrong token, an unknown cursor) and a
//! redirect are not retried at once: they are reported and asked again after `interval_ms`. A page
//! that cannot be read as a document (bad JSON or XML) is reported and asked again after
//! `interval_ms`, never skipped: its records would be lost. A record that does not map or validate
//! is held in quarantine with its origin `GET <url>#<index>` naming the page, and the page goes on.
//!
//! # Layout
//!
//! - [`config`]: the keys.
//! - [`cursor`]: `next_cursor` in JSON and XML pages, the cursor in the URL.
//! - [`fetch`]: one GET, classified into a page, a retry (with `Retry-After`) or a refusal.
//! - this file: the poll loop.

pub mod config;
pub mod cursor;
pub mod fetch;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dhub_mapping::{Mapping, ReadLimits, SourceFormat};
use dhub_schema::intake::{IntakeBatch, Origin, Position};
use dhub_support::retry;
use futures::future::BoxFuture;
use tokio::sync::watch;

pub use config::HttpPullConfig;
use cursor::CursorPath;
use fetch::{Auth, FetchError};

use crate::context::SourceContext;
use crate::documents::{DocumentFetch, LocalDocuments};
use crate::limits::LimitsConfig;
use crate::mapped::{map_context, to_intake_with};
use crate::{Connector, ConnectorError};

/// An `http_pull` source, ready to run.
pub struct PullConnector {
    url: String,
    auth: Auth,
    next_cursor: Option<CursorPath>,
    initial_cursor: String,
    interval: Duration,
    max_body_bytes: u64,
    /// `[source.limits]` with `max_body_bytes` as the document size.
    limits: ReadLimits,
    min_retry_delay: Duration,
    max_retry_delay: Duration,
    client: reqwest::Client,
}

impl PullConnector {
    /// Checks the keys, resolves the secrets and builds the HTTP client.
    pub fn new(config: &HttpPullConfig, base_dir: &Path) -> Result<PullConnector, String> {
        let problems = config.check(base_dir);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let auth = match (&config.token, &config.username, &config.password) {
            (Some(token), _, _) => Auth::Bearer(token.resolve(base_dir)?),
            (None, Some(username), Some(password)) => Auth::Basic {
                username: username.clone(),
                password: password.resolve(base_dir)?,
            },
            _ => Auth::None,
        };
        let next_cursor = config
            .next_cursor
            .as_deref()
            .map(CursorPath::parse)
            .transpose()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            // A redirect is reported instead of followed: the credentials must not travel to an
            // address nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(fetch::USER_AGENT)
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(PullConnector {
            url: config.url.clone(),
            auth,
            next_cursor,
            initial_cursor: config.initial_cursor.clone(),
            interval: Duration::from_millis(config.interval_ms),
            max_body_bytes: config.max_body_bytes,
            limits: LimitsConfig::default().read_limits(config.max_body_bytes),
            min_retry_delay: Duration::from_millis(config.min_retry_delay_ms),
            max_retry_delay: Duration::from_millis(config.max_retry_delay_ms),
            client,
        })
    }
}

impl PullConnector {
    /// Reads pages within the source's `[source.limits]`.
    pub fn within(mut self, limits: &LimitsConfig) -> PullConnector {
        self.limits = limits.read_limits(self.max_body_bytes);
        self
    }
}

impl Connector for PullConnector {
    fn run(
        self: Box<Self>,
        context: SourceContext,
    ) -> BoxFuture<'static, Result<(), ConnectorError>> {
        Box::pin(async move {
            if let Some(path) = &self.next_cursor {
                path.check_format(context.mapping.format())
                    .map_err(ConnectorError::fatal)?;
            }
            let cursor = context
                .position()
                .map(str::to_string)
                .unwrap_or_else(|| self.initial_cursor.clone());
            Poll {
                connector: *self,
                cursor,
                shutdown: context.shutdown.clone(),
                context,
            }
            .run()
            .await
        })
    }
}

/// The running state of one pull source.
struct Poll {
    connector: PullConnector,
    /// The cursor of the next request.
    cursor: String,
    context: SourceContext,
    shutdown: watch::Receiver<bool>,
}

/// A page fetched, mapped and ready to store.
struct Page {
    batch: IntakeBatch,
    next: Option<String>,
}

impl Poll {
    async fn run(mut self) -> Result<(), ConnectorError> {
        loop {
            if self.context.stopping() {
                return Ok(());
            }
            let url = cursor::page_url(&self.connector.url, &self.cursor);
            let shown = dhub_support::redact_url(&url);
            let Some(body) = self.fetch(&url, &shown).await else {
                if self.context.stopping() {
                    return Ok(());
                }
                self.wait(self.connector.interval).await;
                continue;
            };
            let page = match self.map(body, format!("GET {shown}")).await {
                Ok(page) => page,
                Err(reason) => {
                    self.context
                        .events
                        .document_failed(&self.context.name, &reason);
                    self.wait(self.connector.interval).await;
                    continue;
                }
            };
            let records = page.batch.items.len();
            if !self.store(page.batch).await? {
                return Ok(());
            }
            self.context
                .events
                .document_done(&self.context.name, records);
            match page.next {
                // A page that names itself as the next would be asked for forever: take it as the
                // last one for now.
                Some(next) if next != self.cursor => self.cursor = next,
                _ => self.wait(self.connector.interval).await,
            }
        }
    }

    /// The page's body, retried until it comes whole; `None` when the API refused the request (it
    /// was reported) or the hub is stopping.
    async fn fetch(&mut self, url: &str, shown: &str) -> Option<Vec<u8>> {
        let connector = &self.connector;
        let accept = match self.context.mapping.format() {
            SourceFormat::Xml => "application/xml, text/xml;q=0.9",
            _ => "application/json",
        };
        let mut delays = retry::delays(connector.min_retry_delay, connector.max_retry_delay);
        loop {
            let fetched = fetch::fetch(
                &connector.client,
                url,
                shown,
                &connector.auth,
                accept,
                connector.max_body_bytes,
            )
            .await;
            match fetched {
                Ok(body) => return Some(body),
                Err(FetchError::Refused { message }) => {
                    self.context
                        .events
                        .document_failed(&self.context.name, &message);
                    return None;
                }
                Err(FetchError::Retry { message, after }) => {
                    // The API's own Retry-After wins, but never below the first backoff step: a
                    // date already past must not turn into a tight loop.
                    let delay = match after {
                        Some(after) => after.max(connector.min_retry_delay),
                        None => delays.next_delay(),
                    };
                    self.context.events.retrying(
                        &self.context.name,
                        &format!("{message}; trying again in {} ms", delay.as_millis()),
                    );
                    let mut shutdown = self.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return None,
                    }
                }
            }
        }
    }

    /// Maps the page and reads its next cursor on a blocking thread (CPU work). `Err` is a reason
    /// naming the page.
    async fn map(&self, body: Vec<u8>, request: String) -> Result<Page, String> {
        let mapping = self.context.mapping.clone();
        let name = self.context.name.clone();
        let path = self.connector.next_cursor.clone();
        let cursor = self.cursor.clone();
        let limits = self.connector.limits;
        let documents = UrlDocuments {
            api: self.connector.url.clone(),
            client: self.connector.client.clone(),
            auth: self.connector.auth.clone(),
            runtime: tokio::runtime::Handle::current(),
        };
        tokio::task::spawn_blocking(move || {
            map_page(
                &mapping,
                &name,
                &body,
                &request,
                path.as_ref(),
                &cursor,
                &limits,
                &documents,
            )
        })
        .await
        .unwrap_or_else(|_| {
            Err("mapping the page failed unexpectedly (a bug: please report it)".into())
        })
    }

    /// Submits a page's batch until it is stored. `Ok(false)`: the hub stopped first (the page is
    /// fetched again at the next start, from the stored cursor).
    async fn store(&mut self, batch: IntakeBatch) -> Result<bool, ConnectorError> {
        let batch = Arc::new(batch);
        let mut delays = retry::delays(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            match self.context.sink.submit(batch.clone()).await {
                Ok(_) => return Ok(true),
                Err(error) if error.retryable => {
                    self.context
                        .events
                        .retrying(&self.context.name, &error.message);
                    let mut shutdown = self.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(delays.next_delay()) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(false),
                    }
                }
                Err(error) => {
                    return Err(ConnectorError::retryable(format!(
                        "the hub could not store a page of source `{}`: {}",
                        self.context.name, error.message
                    )))
                }
            }
        }
    }

    /// Waits `delay`, or less if the hub stops.
    async fn wait(&mut self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.shutdown.wait_for(|stop| *stop) => {}
        }
    }
}

/// One page → its batch (position: the next cursor, else the cursor it was fetched with) and its
/// next cursor.
fn map_page(
    mapping: &Mapping,
    name: &str,
    body: &[u8],
    request: &str,
    path: Option<&CursorPath>,
    cursor: &str,
    limits: &ReadLimits,
    documents: &dyn DocumentFetch,
) -> Result<Page, String> {
    let records = mapping
        .read_document_with(body, request, limits)
        .map_err(|error| {
            format!("the page cannot be read: {error}; it is asked for again later")
        })?;
    let next = match path {
        Some(path) => path.extract(body).map_err(|problem| {
            format!("{request}: {problem}; the page is asked for again later")
        })?,
        None => None,
    };
    let context = map_context(name);
    let items = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let origin = Origin::Request {
                request: request.to_string(),
                index: i + 1,
            };
            to_intake_with(mapping, name, record, origin, &context, documents)
        })
        .collect();
    let position = next.clone().unwrap_or_else(|| cursor.to_string());
    Ok(Page {
        batch: IntakeBatch {
            source: name.to_string(),
            mapping_name: mapping.name().to_string(),
            mapping_version: mapping.version().to_string(),
            items,
            positions: vec![Position::whole(position)],
            exported: None,
        },
        next,
    })
}

/// Documents of a page's records: URLs on the API's own origin (scheme, host and port), fetched
/// with the source's credentials, and base64. A URL elsewhere is refused: the credentials must not
/// travel to an address nobody configured, and a record must not make the hub fetch from anywhere.
struct UrlDocuments {
    api: String,
    client: reqwest::Client,
    auth: Auth,
    /// The pages are mapped on a blocking thread; the documents are fetched from it on the runtime.
    runtime: tokio::runtime::Handle,
}

impl DocumentFetch for UrlDocuments {
    fn fetch(&self, document: &dhub_mapping::DocumentRef) -> Result<Vec<u8>, String> {
        if document.locator != dhub_mapping::Locator::Url {
            return LocalDocuments { dir: None }.fetch(document);
        }
        let same_origin = |a: &str, b: &str| match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
            (Ok(a), Ok(b)) => a.origin() == b.origin(),
            _ => false,
        };
        if !same_origin(&document.value, &self.api) {
            return Err("the URL is not on the API's own origin (scheme, host and port of `url`)".into());
        }
        let shown = "the document URL";
        let fetched = self.runtime.block_on(fetch::fetch(
            &self.client,
            &document.value,
            shown,
            &self.auth,
            "*/*",
            crate::documents::FETCH_CAP_BYTES,
        ));
        fetched.map_err(|error| match error {
            FetchError::Refused { message } | FetchError::Retry { message, .. } => message,
        })
    }
}

#[cfg(test)]
mod tests;
