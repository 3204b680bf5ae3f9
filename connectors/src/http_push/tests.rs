//! The endpoint's answers, against the router in-process with a sink that stores nothing (the hub's
//! integration tests, `tests/source_http_push.rs`, run the same against the real store).

use super::*;
use crate::context::ConnectorEvents;
use dhub_schema::intake::{HoldStage, IntakeError, IntakeSink};
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::watch;
use tower::ServiceExt;

type Respond = dyn Fn(&IntakeBatch) -> Result<IntakeReport, IntakeError> + Send + Sync;

/// Answers every batch with `respond`, after `delay`, and keeps the batches.
struct Sink {
    respond: Box<Respond>,
    delay: Duration,
    batches: Mutex<Vec<Arc<IntakeBatch>>>,
}

impl IntakeSink for Sink {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let answer = (self.respond)(&batch);
            self.batches.lock().unwrap().push(batch);
            answer
        })
    }
}

fn accept_all(batch: &IntakeBatch) -> Result<IntakeReport, IntakeError> {
    Ok(IntakeReport {
        outcomes: (0..batch.items.len())
            .map(|i| ItemOutcome::Accepted {
                record_id: format!("r:{i}"),
                version: 1,
            })
            .collect(),
    })
}

#[derive(Default)]
struct Events {
    done: AtomicUsize,
    failed: Mutex<Vec<String>>,
}

impl ConnectorEvents for Events {
    fn document_done(&self, _: &str, _: usize) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
    fn document_failed(&self, _: &str, reason: &str) {
        self.failed.lock().unwrap().push(reason.to_string());
    }
    fn retrying(&self, _: &str, _: &str) {}
}

const TOKEN: &str = "county-token-0123456789abcdef";
const OTHER_TOKEN: &str = "other-token-0123456789abcdef";

fn mapping(file: &str) -> Arc<Mapping> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mappings")
        .join(file);
    Arc::new(Mapping::load(&path).unwrap())
}

fn sample() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mappings/samples/county-push/first/cpyj-push-20261030-01.json"),
    )
    .unwrap()
}

struct Setup {
    router: Router,
    sink: Arc<Sink>,
    events: Arc<Events>,
    stop: watch::Sender<bool>,
}

fn config(token: &str, change: impl FnOnce(&mut HttpPushConfig)) -> HttpPushConfig {
    let mut config = HttpPushConfig {
        token: dhub_support::Secret::Inline(token.into()),
        max_body_bytes: 64 * 1024,
        request_timeout_ms: 5_000,
        max_concurrent_requests: 4,
    };
    change(&mut config);
    config
}

fn setup_with(sink: Sink, change: impl FnOnce(&mut HttpPushConfig)) -> Setup {
    let sink = Arc::new(sink);
    let events = Arc::new(Events::default());
    let (stop, shutdown) = watch::channel(false);
    let source = |name: &str, file: &str, config: HttpPushConfig| {
        PushEndpoint::new(&config, Path::new("."))
            .unwrap()
            .bind(SourceContext {
                name: name.into(),
                mapping: mapping(file),
                sink: sink.clone(),
                positions: Vec::new(),
                base_dir: ".".into(),
                events: events.clone(),
                shutdown: shutdown.clone(),
            })
    };
    let router = router(vec![
        source("county-push", "county-push.toml", config(TOKEN, change)),
        source("other-push", "finance-oa.toml", config(OTHER_TOKEN, |_| {})),
    ])
    .unwrap();
    Setup {
        router,
        sink,
        events,
        stop,
    }
}

fn setup() -> Setup {
    setup_with(
        Sink {
            respond: Box::new(accept_all),
            delay: Duration::ZERO,
            batches: Mutex::default(),
        },
        |_| {},
    )
}

fn post(path: &str, token: Option<&str>, content_type: Option<&str>, body: Body) -> Request {
    let mut builder = axum::http::Request::post(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body).unwrap()
}

async fn send(router: &Router, request: Request) -> (StatusCode, HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("a JSON body: {}", String::from_utf8_lossy(&bytes)));
    (parts.status, parts.headers, json)
}

fn json_post(token: Option<&str>, body: impl Into<Body>) -> Request {
    post(
        "/ingest/county-push",
        token,
        Some("application/json; charset=utf-8"),
        body.into(),
    )
}

#[tokio::test]
async fn a_body_of_records_is_answered_202_once_the_sink_has_stored_it() {
    let s = setup();
    let (status, headers, body) = send(&s.router, json_post(Some(TOKEN), sample())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 4);
    let request_id = headers[REQUEST_ID_HEADER].to_str().unwrap();
    assert_eq!(body["request_id"], request_id);
    let batches = s.sink.batches.lock().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].source, "county-push");
    assert!(batches[0].positions.is_empty());
    assert_eq!(
        batches[0].items[2].origin(),
        &Origin::Request {
            request: format!("POST /ingest/county-push {request_id}"),
            index: 3
        }
    );
    assert_eq!(s.events.done.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_and_another_sources_token_403() {
    let s = setup();
    for (request, status) in [
        (json_post(None, sample()), StatusCode::UNAUTHORIZED),
        (
            json_post(Some("not-the-token-0123456789"), sample()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json_post(Some(OTHER_TOKEN), sample()),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (got, headers, body) = send(&s.router, request).await;
        assert_eq!(got, status, "{body}");
        assert!(body["error"].is_string(), "{body}");
        assert!(headers.contains_key(REQUEST_ID_HEADER));
        if status == StatusCode::UNAUTHORIZED {
            assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        }
    }
    let mut basic = json_post(None, sample());
    basic.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Basic dXNlcjpwdw=="),
    );
    assert_eq!(send(&s.router, basic).await.0, StatusCode::UNAUTHORIZED);
    assert!(
        s.sink.batches.lock().unwrap().is_empty(),
        "nothing submitted"
    );
    let failed = s.events.failed.lock().unwrap();
    assert_eq!(failed.len(), 4);
    assert!(
        failed
            .iter()
            .all(|reason| !reason.contains("not-the-token")),
        "a presented token is never repeated: {failed:?}"
    );
}

#[tokio::test]
async fn only_the_content_types_of_the_mappings_format_are_taken() {
    let s = setup();
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let request = post(
            "/ingest/county-push",
            Some(TOKEN),
            content_type,
            sample().into(),
        );
        let (status, headers, body) = send(&s.router, request).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(headers[header::ACCEPT], "application/json");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("takes application/json"),
            "{body}"
        );
    }
    // The XML source takes XML.
    let xml = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mappings/samples/finance-oa/first/czj-oa-20261030-090000.xml"),
    )
    .unwrap();
    let request = post(
        "/ingest/other-push",
        Some(OTHER_TOKEN),
        Some("text/xml"),
        xml.into(),
    );
    let (status, _, body) = send(&s.router, request).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 30);
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_the_body_is_read() {
    let s = setup();
    let polled = Arc::new(AtomicBool::new(false));
    let seen = polled.clone();
    let stream = futures::stream::once(async move {
        seen.store(true, Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 16]))
    });
    let mut request = json_post(Some(TOKEN), Body::from_stream(stream));
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(10_000_000u64));
    let (status, headers, body) = send(&s.router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(headers[header::CONNECTION], "close");
    assert!(body["error"].as_str().unwrap().contains("max_body_bytes"));
    assert!(!polled.load(Ordering::SeqCst), "not a byte was read");
}

#[tokio::test]
async fn a_stream_without_length_is_cut_off_at_the_limit() {
    let s = setup();
    let read = Arc::new(AtomicUsize::new(0));
    let counter = read.clone();
    // 1 MiB in 4 KiB chunks against a 64 KiB limit.
    let stream = futures::stream::iter(0..256).map(move |_| {
        counter.fetch_add(4096, Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 4096]))
    });
    let request = json_post(Some(TOKEN), Body::from_stream(stream));
    let (status, _, body) = send(&s.router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        read.load(Ordering::SeqCst) <= 64 * 1024 + 4096,
        "read {} bytes",
        read.load(Ordering::SeqCst)
    );
    assert!(s.sink.batches.lock().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_json_is_422_naming_line_and_column() {
    let s = setup();
    let (status, _, body) = send(
        &s.router,
        json_post(
            Some(TOKEN),
            "[\n  {\"案件编号\": \"A\"},\n  {\"案件编号\": }\n]",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("line 3, column 12"), "{error}");
    assert!(error.contains("invalid JSON"), "{error}");
    assert!(s.sink.batches.lock().unwrap().is_empty());
}

#[tokio::test]
async fn records_held_back_are_422_each_with_index_origin_stage_and_reason() {
    let s = setup_with(
        Sink {
            respond: Box::new(|batch| {
                let mut report = accept_all(batch)?;
                report.outcomes[1] = ItemOutcome::Quarantined {
                    record_id: Some("county-push:CPYJ-2026-0011".into()),
                    stage: HoldStage::Constraint,
                    reason: "agency.uscc: agency X is not one this source may submit records for"
                        .into(),
                };
                report.outcomes[3] = ItemOutcome::Unchanged {
                    record_id: "r:3".into(),
                };
                Ok(report)
            }),
            delay: Duration::ZERO,
            batches: Mutex::default(),
        },
        |_| {},
    );
    let (status, headers, body) = send(&s.router, json_post(Some(TOKEN), sample())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["accepted"], 3, "{body}");
    assert_eq!(body["unchanged"], 1, "{body}");
    let request_id = headers[REQUEST_ID_HEADER].to_str().unwrap();
    assert_eq!(
        body["rejected"],
        json!([{
            "index": 2,
            "record_id": "county-push:CPYJ-2026-0011",
            "origin": format!("POST /ingest/county-push {request_id}#2"),
            "stage": "constraint",
            "reason": "agency.uscc: agency X is not one this source may submit records for",
        }])
    );
}

#[tokio::test]
async fn a_store_that_fails_for_now_is_503_with_retry_after_and_a_stopping_hub_too() {
    let s = setup_with(
        Sink {
            respond: Box::new(|_| {
                Err(IntakeError {
                    message: "database is locked".into(),
                    retryable: true,
                })
            }),
            delay: Duration::ZERO,
            batches: Mutex::default(),
        },
        |_| {},
    );
    let (status, headers, body) = send(&s.router, json_post(Some(TOKEN), sample())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers[header::RETRY_AFTER], "5");
    assert!(
        !body["error"].as_str().unwrap().contains("locked"),
        "the store's own message stays in the log"
    );
    s.stop.send(true).unwrap();
    let (status, headers, _) = send(&s.router, json_post(Some(TOKEN), sample())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "5");
}

#[tokio::test]
async fn a_request_over_its_timeout_is_408_and_its_records_are_still_stored() {
    let s = setup_with(
        Sink {
            respond: Box::new(accept_all),
            delay: Duration::from_millis(600),
            batches: Mutex::default(),
        },
        |config| config.request_timeout_ms = 200,
    );
    let (status, _, body) = send(&s.router, json_post(Some(TOKEN), sample())).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("request_timeout_ms"));
    // The store's task was not cut: it finishes on its own.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(s.sink.batches.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_source_is_a_json_404() {
    let s = setup();
    let request = post(
        "/ingest/nobody",
        Some(TOKEN),
        Some("application/json"),
        sample().into(),
    );
    let (status, _, body) = send(&s.router, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("nobody"));
}

#[test]
fn two_sources_with_one_token_are_refused() {
    let (_stop, shutdown) = watch::channel(false);
    let source = |name: &str| {
        PushEndpoint::new(&config(TOKEN, |_| {}), Path::new("."))
            .unwrap()
            .bind(SourceContext {
                name: name.into(),
                mapping: mapping("county-push.toml"),
                sink: Arc::new(Sink {
                    respond: Box::new(accept_all),
                    delay: Duration::ZERO,
                    batches: Mutex::default(),
                }),
                positions: Vec::new(),
                base_dir: ".".into(),
                events: Arc::new(Events::default()),
                shutdown: shutdown.clone(),
            })
    };
    let error = router(vec![source("a"), source("b")]).unwrap_err();
    assert!(error.contains("`a` and `b` have the same token"), "{error}");
}

#[test]
fn keys_are_checked() {
    let short = config("short", |c| {
        c.max_body_bytes = 0;
        c.request_timeout_ms = 5;
        c.max_concurrent_requests = 0;
    });
    let problems = short.check(Path::new("."));
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].contains("at least 16"), "{problems:?}");
    assert!(
        problems.iter().all(|p| !p.contains("short")),
        "never quoted"
    );
    let spaced = config("a token with spaces inside", |_| {});
    assert!(spaced.check(Path::new("."))[0].contains("space"));
    let missing = HttpPushConfig {
        token: dhub_support::Secret::Env {
            env: "DHUB_TEST_SURELY_UNSET_PUSH_TOKEN".into(),
        },
        ..config(TOKEN, |_| {})
    };
    assert!(missing.check(Path::new("."))[0].contains("DHUB_TEST_SURELY_UNSET_PUSH_TOKEN"));
}

#[test]
fn the_kind_parses_from_a_source_table() {
    let source: crate::SourceConfig = toml::from_str(
        "name = \"county-push\"\nkind = \"http_push\"\nmapping = \"m.toml\"\ntoken = { env = \"T\" }\nmax_body_bytes = 1024\ndivision = \"371523\"\n",
    )
    .unwrap();
    let crate::SourceKind::HttpPush(config) = &source.kind else {
        panic!("{:?}", source.kind);
    };
    assert_eq!(config.max_body_bytes, 1024);
    assert_eq!(config.request_timeout_ms, 60_000);
    assert_eq!(source.division.as_deref(), Some("371523"));
    let error = toml::from_str::<crate::SourceConfig>(
        "name = \"p\"\nkind = \"http_push\"\nmapping = \"m.toml\"\ntoken = \"x\"\nmax_body = 1\n",
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("unknown field `max_body`"),
        "{error}"
    );
}

#[tokio::test]
async fn requests_waiting_together_are_stored_in_one_batch_and_answered_each_their_own() {
    let s = setup_with(
        Sink {
            // Holds back the second record of every request, wherever it sits in the batch.
            respond: Box::new(|batch| {
                let mut report = accept_all(batch)?;
                for (i, item) in batch.items.iter().enumerate() {
                    if matches!(item.origin(), Origin::Request { index: 2, .. }) {
                        report.outcomes[i] = ItemOutcome::Quarantined {
                            record_id: None,
                            stage: HoldStage::Validation,
                            reason: "decided_on: required".into(),
                        };
                    }
                }
                Ok(report)
            }),
            delay: Duration::from_millis(300),
            batches: Mutex::default(),
        },
        |_| {},
    );
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let router = s.router.clone();
            tokio::spawn(async move { send(&router, json_post(Some(TOKEN), sample())).await })
        })
        .collect();
    for request in requests {
        let (status, headers, body) = request.await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["accepted"], 3);
        let request_id = headers[REQUEST_ID_HEADER].to_str().unwrap();
        assert_eq!(body["rejected"][0]["index"], 2);
        assert_eq!(
            body["rejected"][0]["origin"],
            format!("POST /ingest/county-push {request_id}#2")
        );
    }
    let sizes: Vec<usize> = s
        .sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.items.len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 16);
    assert!(
        sizes.len() < 4,
        "the requests that waited went in together: {sizes:?}"
    );
    assert_eq!(s.events.done.load(Ordering::SeqCst), 4);
}
