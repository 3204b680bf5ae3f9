//! The poll loop against a department API served by axum in the test: pages with cursors, a slow
//! answer, 500, 429 and 503 with `Retry-After`, bodies cut off or too large, refusals. The sink
//! keeps what it is given (the hub's integration tests, `tests/source_http_pull.rs`, store for real).

use super::*;
use crate::context::ConnectorEvents;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dhub_schema::intake::{IntakeError, IntakeReport, IntakeSink, ItemOutcome};
use futures::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What the API does with the next request, before serving the page.
#[derive(Clone)]
enum Fault {
    Status(u16, Option<&'static str>),
    /// The status with `Retry-After` as the HTTP date this far ahead.
    StatusUntil(u16, Duration),
    Slow(Duration),
    /// Declares more bytes than it sends.
    Truncated,
    /// A body of this many bytes.
    Huge(usize),
    Garbage,
}

#[derive(Default)]
struct Api {
    /// cursor → page body.
    pages: Mutex<HashMap<String, String>>,
    faults: Mutex<VecDeque<Fault>>,
    /// (when, cursor, authorization) of every request.
    requests: Mutex<Vec<(Instant, String, Option<String>)>>,
}

async fn serve_page(
    State(api): State<Arc<Api>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let cursor = query.get("cursor").cloned().unwrap_or_default();
    let auth = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_string());
    api.requests
        .lock()
        .unwrap()
        .push((Instant::now(), cursor.clone(), auth));
    let fault = api.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let mut response = StatusCode::from_u16(code).unwrap().into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, value.parse().unwrap());
            }
            return response;
        }
        Some(Fault::StatusUntil(code, ahead)) => {
            let date = httpdate::fmt_http_date(std::time::SystemTime::now() + ahead);
            return (
                StatusCode::from_u16(code).unwrap(),
                [(header::RETRY_AFTER, date)],
            )
                .into_response();
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Truncated) => {
            // The head and a first chunk go out; then the connection breaks, 5000 bytes promised.
            let chunks = futures::stream::iter([0, 1]).then(|n| async move {
                if n == 0 {
                    Ok(axum::body::Bytes::from_static(b"{\"items\": ["))
                } else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Err(std::io::Error::other("the department's server went away"))
                }
            });
            let body = axum::body::Body::from_stream(chunks);
            return ([(header::CONTENT_LENGTH, "5000")], body).into_response();
        }
        Some(Fault::Huge(size)) => return vec![b' '; size].into_response(),
        Some(Fault::Garbage) => return "{\"items\": [".into_response(),
        None => {}
    }
    match api.pages.lock().unwrap().get(&cursor) {
        Some(page) => ([(header::CONTENT_TYPE, "application/json")], page.clone()).into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn start_api(api: Arc<Api>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/cases", axum::routing::get(serve_page))
        .with_state(api);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/cases?cursor={{cursor}}")
}

/// The dept-api sample pages, served under the cursors their predecessors name.
fn sample_pages(api: &Api) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/samples/dept-api/first");
    let mut cursor = String::new();
    for n in 1..=3 {
        let page = std::fs::read_to_string(folder.join(format!("page-{n}.json"))).unwrap();
        let next: serde_json::Value = serde_json::from_str(&page).unwrap();
        api.pages.lock().unwrap().insert(cursor.clone(), page);
        cursor = next["next_cursor"].as_str().unwrap_or_default().to_string();
    }
}

fn first_page_requests(api: &Api) -> Vec<(Instant, String, Option<String>)> {
    api.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, cursor, _)| cursor.is_empty())
        .cloned()
        .collect()
}

#[derive(Default)]
struct Sink {
    batches: Mutex<Vec<Arc<IntakeBatch>>>,
}

impl IntakeSink for Sink {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>> {
        Box::pin(async move {
            let outcomes = (0..batch.items.len())
                .map(|i| ItemOutcome::Accepted {
                    record_id: format!("r:{i}"),
                    version: 1,
                })
                .collect();
            self.batches.lock().unwrap().push(batch);
            Ok(IntakeReport { outcomes })
        })
    }
}

#[derive(Default)]
struct Events {
    retries: Mutex<Vec<String>>,
    failed: Mutex<Vec<String>>,
    done: AtomicUsize,
}

impl ConnectorEvents for Events {
    fn document_done(&self, _: &str, _: usize) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
    fn document_failed(&self, _: &str, reason: &str) {
        self.failed.lock().unwrap().push(reason.to_string());
    }
    fn retrying(&self, _: &str, error: &str) {
        self.retries.lock().unwrap().push(error.to_string());
    }
}

const TOKEN: &str = "dept-api-token";

fn config(url: &str) -> HttpPullConfig {
    HttpPullConfig {
        url: url.to_string(),
        token: Some(dhub_support::Secret::Inline(TOKEN.into())),
        username: None,
        password: None,
        next_cursor: Some("/next_cursor".into()),
        initial_cursor: String::new(),
        interval_ms: 60_000,
        timeout_ms: 500,
        max_body_bytes: 64 * 1024,
        min_retry_delay_ms: 50,
        max_retry_delay_ms: 200,
    }
}

struct Running {
    sink: Arc<Sink>,
    events: Arc<Events>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ConnectorError>>,
}

fn start(config: &HttpPullConfig, positions: Vec<(String, String)>) -> Running {
    let sink = Arc::new(Sink::default());
    let events = Arc::new(Events::default());
    let (stop, shutdown) = watch::channel(false);
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/dept-api.toml");
    let context = SourceContext {
        name: "dept-api".into(),
        mapping: Arc::new(Mapping::load(&mapping).unwrap()),
        sink: sink.clone(),
        positions,
        base_dir: ".".into(),
        events: events.clone(),
        shutdown,
    };
    let connector = Box::new(PullConnector::new(config, Path::new(".")).unwrap());
    let task = tokio::spawn(connector.run(context));
    Running {
        sink,
        events,
        stop,
        task,
    }
}

impl Running {
    async fn wait_for_batches(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.sink.batches.lock().unwrap().len() < count {
            assert!(Instant::now() < deadline, "waited for {count} batches");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("stops on shutdown")
            .unwrap()
            .unwrap();
    }

    fn positions(&self) -> Vec<String> {
        self.sink
            .batches
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.positions[0].value.clone())
            .collect()
    }
}

#[tokio::test]
async fn pages_are_stored_one_batch_each_with_the_next_cursor_as_position() {
    let api = Arc::new(Api::default());
    sample_pages(&api);
    let url = start_api(api.clone()).await;
    let running = start(&config(&url), Vec::new());
    running.wait_for_batches(3).await;
    assert_eq!(
        running.positions(),
        [
            "2026-11-12T00:00:00Z~LCHB-2026-0110",
            "2026-11-12T00:00:00Z~LCHB-2026-0121",
            // The last page: the cursor it was fetched with, asked again after the interval.
            "2026-11-12T00:00:00Z~LCHB-2026-0121",
        ]
    );
    let batches = running.sink.batches.lock().unwrap().clone();
    assert_eq!(
        batches.iter().map(|b| b.items.len()).collect::<Vec<_>>(),
        [4, 4, 2]
    );
    let requests = api.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "waits its interval after the last page");
    assert!(requests
        .iter()
        .all(|(_, _, auth)| auth.as_deref() == Some("Bearer dept-api-token")));
    assert_eq!(
        batches[1].items[0].origin().to_string(),
        format!(
            "GET {}#1",
            url.replace("{cursor}", "2026-11-12T00%3A00%3A00Z~LCHB-2026-0110")
        ),
        "the origin names the page"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_cursor() {
    let api = Arc::new(Api::default());
    sample_pages(&api);
    let url = start_api(api.clone()).await;
    let stored = "2026-11-12T00:00:00Z~LCHB-2026-0110".to_string();
    let running = start(&config(&url), vec![(String::new(), stored.clone())]);
    running.wait_for_batches(2).await;
    let requests = api.requests.lock().unwrap().clone();
    assert_eq!(
        requests[0].1, stored,
        "the first request carries the stored cursor"
    );
    let batches = running.sink.batches.lock().unwrap().clone();
    assert_eq!(batches[0].items.len(), 4, "page 2");
    running.stop().await;
}

#[tokio::test]
async fn failures_are_retried_with_backoff_and_retry_after_until_the_page_comes_whole() {
    let api = Arc::new(Api::default());
    sample_pages(&api);
    api.faults.lock().unwrap().extend([
        Fault::Status(500, None),
        Fault::Status(429, Some("1")),
        Fault::Slow(Duration::from_millis(1500)),
        Fault::Truncated,
        Fault::Huge(100 * 1024),
        Fault::StatusUntil(503, Duration::from_secs(3)),
        Fault::Status(502, None),
    ]);
    let url = start_api(api.clone()).await;
    let running = start(&config(&url), Vec::new());
    running.wait_for_batches(1).await;
    // The requests for the first page (the next pages follow at once).
    let requests = first_page_requests(&api);
    assert_eq!(requests.len(), 8, "seven failures, then the page");
    let gap = |i: usize| requests[i].0.duration_since(requests[i - 1].0);
    assert!(
        gap(2) >= Duration::from_secs(1),
        "Retry-After: 1 honoured: {:?}",
        gap(2)
    );
    // The 503 asked for an HTTP date 3 s ahead (in whole seconds: more than 2 s).
    assert!(
        gap(6) >= Duration::from_millis(1500),
        "Retry-After date honoured: {:?}",
        gap(6)
    );
    let retries = running.events.retries.lock().unwrap().clone();
    assert_eq!(retries.len(), 7, "{retries:#?}");
    assert!(retries[0].contains("500"), "{}", retries[0]);
    assert!(retries[2].contains("timed out"), "{}", retries[2]);
    assert!(retries[3].contains("cut off"), "{}", retries[3]);
    assert!(retries[4].contains("max_body_bytes"), "{}", retries[4]);
    assert!(retries.iter().all(|r| !r.contains(TOKEN)));
    running.wait_for_batches(3).await;
    let batches = running.sink.batches.lock().unwrap().clone();
    assert_eq!(
        batches.iter().map(|b| b.items.len()).collect::<Vec<_>>(),
        [4, 4, 2],
        "each page stored once, whole"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_refusal_is_reported_and_asked_again_only_after_the_interval() {
    let api = Arc::new(Api::default());
    sample_pages(&api);
    api.faults
        .lock()
        .unwrap()
        .extend([Fault::Status(401, None), Fault::Garbage]);
    let url = start_api(api.clone()).await;
    let mut config = config(&url);
    config.interval_ms = 700;
    let running = start(&config, Vec::new());
    running.wait_for_batches(1).await;
    let requests = first_page_requests(&api);
    assert_eq!(requests.len(), 3, "401, an unreadable page, then the page");
    for i in [1, 2] {
        let gap = requests[i].0.duration_since(requests[i - 1].0);
        assert!(
            gap >= Duration::from_millis(700),
            "waited the interval: {gap:?}"
        );
    }
    let failed = running.events.failed.lock().unwrap().clone();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].contains("401") && failed[0].contains("token"),
        "{}",
        failed[0]
    );
    assert!(failed[1].contains("cannot be read"), "{}", failed[1]);
    assert!(running.events.retries.lock().unwrap().is_empty());
    running.stop().await;
}

#[tokio::test]
async fn basic_auth_is_sent_when_configured() {
    let api = Arc::new(Api::default());
    sample_pages(&api);
    let url = start_api(api.clone()).await;
    let mut config = config(&url);
    config.token = None;
    config.username = Some("hub".into());
    config.password = Some(dhub_support::Secret::Inline("pw".into()));
    let running = start(&config, Vec::new());
    running.wait_for_batches(1).await;
    assert_eq!(
        api.requests.lock().unwrap()[0].2.as_deref(),
        Some("Basic aHViOnB3")
    );
    running.stop().await;
}

#[test]
fn keys_are_checked() {
    let check = |change: &dyn Fn(&mut HttpPullConfig)| {
        let mut config = config("http://api/cases?cursor={cursor}");
        change(&mut config);
        config.check(Path::new("."))
    };
    assert!(check(&|_| {}).is_empty());
    assert!(check(&|c| c.url = "ftp://x/{cursor}".into())[0].contains("scheme `ftp`"));
    assert!(check(&|c| c.url = "http://u:p@x/{cursor}".into())[0].contains("password"));
    assert!(check(&|c| c.next_cursor = None)[0].contains("next_cursor is not set"));
    assert!(check(&|c| c.url = "http://x/cases".into())[0].contains("no {cursor}"));
    assert!(check(&|c| c.username = Some("u".into()))[0].contains("not both"));
    assert!(check(&|c| {
        c.token = None;
        c.username = Some("u".into());
    })[0]
        .contains("without password"));
    assert!(check(&|c| c.max_retry_delay_ms = 1)[0].contains("max_retry_delay_ms"));
    assert!(check(&|c| c.timeout_ms = 0)[0].contains("timeout_ms"));
    assert!(check(&|c| c.next_cursor = Some("a//b".into()))[0].contains("next_cursor"));
}

#[test]
fn the_kind_parses_from_a_source_table() {
    let source: crate::SourceConfig = toml::from_str(
        "name = \"dept-api\"\nkind = \"http_pull\"\nmapping = \"m.toml\"\nurl = \"http://127.0.0.1:9480/cases?cursor={cursor}\"\ntoken = { env = \"T\" }\nnext_cursor = \"/next_cursor\"\ninterval_ms = 5000\n",
    )
    .unwrap();
    let crate::SourceKind::HttpPull(config) = &source.kind else {
        panic!("{:?}", source.kind);
    };
    assert_eq!(config.interval_ms, 5000);
    assert_eq!(config.timeout_ms, 30_000);
    assert_eq!(config.max_body_bytes, 8 * 1024 * 1024);
}
