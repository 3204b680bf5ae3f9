//! The search API, driven through the axum router with `tower::ServiceExt::oneshot`, and once
//! over a real listener through `run`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{record, simple, Feed, TestDb};
use dhub_platform::{router, View};
use serde_json::Value;
use tower::ServiceExt;

async fn get(view: &View, uri: &str) -> (StatusCode, Value) {
    let response = router(view.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(content_type, "application/json", "{uri}");
    (status, serde_json::from_slice(&body).unwrap())
}

/// `uri` with its query value percent-encoded, as a browser would send it.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn seeded() -> (TestDb, View) {
    let db = TestDb::sqlite();
    let view = db.view().await;
    let mut feed = Feed::new(0);
    view.apply(&[
        feed.upsert(&record(
            "h:1",
            1,
            "茌平某商贸有限公司",
            "茌市监罚〔2026〕1号",
            "茌平区市场监督管理局",
            "2026-01-10",
            "penalty",
        )),
        feed.upsert(&record(
            "h:2",
            1,
            "张某",
            "茌财罚〔2026〕2号",
            "茌平区财政局",
            "2026-02-20",
            "penalty",
        )),
        feed.upsert(&record(
            "h:3",
            1,
            "茌平某药店",
            "茌市监许〔2026〕3号",
            "茌平区市场监督管理局",
            "2026-03-05",
            "licensing",
        )),
        feed.upsert(&simple("h:4", 1)),
        feed.retract("h:4", 2),
        feed.raw(Some("h:5"), b"{broken"),
    ])
    .await
    .unwrap();
    (db, view)
}

fn record_ids(body: &Value) -> Vec<&str> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn records_lists_everything_in_force_with_a_total() {
    let (_db, view) = seeded().await;
    let (status, body) = get(&view, "/records").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 3);
    assert_eq!(record_ids(&body), vec!["h:3", "h:2", "h:1"]);
    // The records are returned whole, as published.
    assert_eq!(body["records"][1]["agency"]["name"], "茌平区财政局");
}

#[tokio::test]
async fn q_searches_counterparty_document_number_and_agency() {
    let (_db, view) = seeded().await;
    for (q, expected) in [
        ("张某", vec!["h:2"]),
        ("〔2026〕3号", vec!["h:3"]),
        ("市场监督", vec!["h:3", "h:1"]),
    ] {
        let (status, body) = get(&view, &format!("/records?q={}", encoded(q))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(record_ids(&body), expected, "q={q}");
        assert_eq!(body["total"], expected.len());
    }
}

#[tokio::test]
async fn field_filters_date_range_and_paging_combine() {
    let (_db, view) = seeded().await;
    let uri = format!(
        "/records?agency={}&category=penalty&from=2026-01-01&to=2026-01-31",
        encoded("市场监督管理局")
    );
    let (_, body) = get(&view, &uri).await;
    assert_eq!(record_ids(&body), vec!["h:1"]);

    let uri = format!("/records?document_no={}", encoded("茌财罚〔2026〕2号"));
    assert_eq!(record_ids(&get(&view, &uri).await.1), vec!["h:2"]);

    let uri = format!("/records?counterparty={}", encoded("茌平"));
    assert_eq!(get(&view, &uri).await.1["total"], 2);

    let (_, body) = get(&view, "/records?limit=1&offset=1").await;
    assert_eq!(body["total"], 3);
    assert_eq!(record_ids(&body), vec!["h:2"]);

    // Empty values are ignored, as an HTML form sends them.
    let (status, body) = get(&view, "/records?q=&counterparty=&from=&to=&limit=").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 3);
}

#[tokio::test]
async fn bad_parameters_get_a_json_400_naming_the_parameter() {
    let (_db, view) = seeded().await;
    for (uri, names) in [
        ("/records?from=2026-13-01", "`from`"),
        ("/records?to=yesterday", "`to`"),
        ("/records?from=2026-03-01&to=2026-01-01", "`from`"),
        ("/records?limit=0", "`limit`"),
        ("/records?limit=abc", "`limit`"),
        ("/records?offset=-5", "`offset`"),
        ("/records?category=parking", "`category`"),
        ("/records?name=x", "`name`"),
        ("/records?q=a&q=b", "`q`"),
    ] {
        let (status, body) = get(&view, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(names), "{uri}: {message}");
    }
    // Bytes that are not UTF-8 are decoded lossily (as browsers do), not refused.
    let (status, body) = get(&view, "/records?q=%FF%FE").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 0);
}

#[tokio::test]
async fn a_record_is_served_by_id_and_a_withdrawn_one_is_404() {
    let (_db, view) = seeded().await;
    let (status, body) = get(&view, "/records/h:2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["document_no"], "茌财罚〔2026〕2号");

    let (status, body) = get(&view, "/records/h:4").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("withdrawn"));
    let (status, _) = get(&view, "/records/never-published").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A record_id with characters that need encoding.
    let (status, _) = get(&view, &format!("/records/{}", encoded("oa:不存在/1"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn healthz_and_stats_report_the_view() {
    let (_db, view) = seeded().await;
    let (status, body) = get(&view, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");

    let (status, body) = get(&view, "/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["visible"], 3);
    assert_eq!(body["tombstones"], 1);
    assert_eq!(body["rejected"], 1);
    assert_eq!(body["partitions"][0]["partition"], 0);
    assert_eq!(body["partitions"][0]["last_offset"], 5);
}

#[tokio::test]
async fn a_database_outage_is_a_json_503_not_a_panic() {
    let (_db, view) = seeded().await;
    view.close().await;
    for uri in ["/records", "/records/h:1", "/healthz", "/stats"] {
        let (status, body) = get(&view, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(body["error"].as_str().unwrap().contains("retry later"));
    }
}

#[tokio::test]
async fn the_api_works_on_postgres_too() {
    let db = TestDb::postgres().await;
    let view = db.view().await;
    let mut feed = Feed::new(0);
    view.apply(&[
        feed.upsert(&record(
            "p:1",
            1,
            "Acme Trading Co",
            "罚〔2026〕1号",
            "茌平区财政局",
            "2026-01-10",
            "penalty",
        )),
        feed.upsert(&simple("p:2", 1)),
    ])
    .await
    .unwrap();
    let (status, body) = get(&view, "/records?q=ACME").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record_ids(&body), vec!["p:1"]);
    let (status, _) = get(&view, "/records/p:2").await;
    assert_eq!(status, StatusCode::OK);
    view.close().await;
}

#[tokio::test]
async fn run_refuses_a_listen_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let db = TestDb::sqlite();
    let mut config =
        dhub_platform::PlatformConfig::new("127.0.0.1:9092", "disclosure.county.371523", db.url());
    config.listen = Some(taken.local_addr().unwrap());
    let result = dhub_platform::run(config, std::future::pending()).await;
    match result {
        Err(err @ dhub_platform::PlatformError::Listen { .. }) => {
            assert!(!err.is_retryable());
            assert!(err.to_string().contains("--listen"), "{err}");
        }
        other => panic!("expected a listen error, got {other:?}"),
    }
}

/// Keyset paging over HTTP: `next` leads to the following page, the last page has none, and a
/// cursor that was not made by the API is a 400 naming `after`.
#[tokio::test]
async fn next_cursors_page_through_the_results() {
    let (_db, view) = seeded().await;
    let (_, first) = get(&view, "/records?limit=2").await;
    assert_eq!(record_ids(&first), vec!["h:3", "h:2"]);
    assert_eq!(first["total_exact"], true);
    let next = first["next"].as_str().expect("a next cursor").to_owned();
    let (status, second) = get(&view, &format!("/records?limit=2&after={next}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record_ids(&second), vec!["h:1"]);
    assert_eq!(second["next"], Value::Null);
    assert_eq!(second["total"], 3);

    for (uri, names) in [
        ("/records?after=bm9wZQ", "`after`"),
        ("/records?count=some", "`count`"),
        ("/records?offset=10001", "`after`"),
        ("/records?q=%01", "`q`"),
    ] {
        let (status, body) = get(&view, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            body["error"].as_str().unwrap().contains(names),
            "{uri}: {body}"
        );
    }
    let (_, exact) = get(
        &view,
        &format!("/records?q={}&count=exact", encoded("茌平")),
    )
    .await;
    assert_eq!(
        (exact["total"].as_u64(), exact["total_exact"].as_bool()),
        (Some(3), Some(true))
    );
}

/// Issue 9: a request stuck on the database is answered 408 at the timeout instead of holding
/// its connection forever; requests beyond the concurrency limit wait their turn within their
/// own timeout; a body over the limit is 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_requests_time_out_excess_ones_queue_and_big_bodies_are_refused() {
    use sqlx::Connection;
    use std::time::{Duration, Instant};

    let db = TestDb::postgres().await;
    let view = db.view().await;
    let mut feed = Feed::new(0);
    view.apply(&[feed.upsert(&simple("l:1", 1))]).await.unwrap();
    let limits = dhub_platform::HttpLimits {
        request_timeout: Duration::from_millis(500),
        max_concurrent_requests: 1,
        max_body_bytes: 1024,
    };
    let app = dhub_platform::router_with_limits(view.clone(), limits);
    let call = |uri: &'static str| {
        let app = app.clone();
        async move {
            app.oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        }
    };

    // Another session holds the table: searches block on it.
    let mut locker = sqlx::PgConnection::connect(db.url()).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let started = Instant::now();
    let stuck = tokio::spawn(call("/records"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    // /healthz does not touch the table, but the one slot is taken: it waits until the stuck
    // search gives the slot up at its timeout, then answers.
    let waited = Instant::now();
    assert_eq!(call("/healthz").await, StatusCode::OK);
    assert!(
        waited.elapsed() >= Duration::from_millis(300),
        "{:?}",
        waited.elapsed()
    );
    assert_eq!(stuck.await.unwrap(), StatusCode::REQUEST_TIMEOUT);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    locker.close().await.unwrap();
    assert_eq!(call("/healthz").await, StatusCode::OK);
    assert_eq!(call("/records").await, StatusCode::OK);

    let big = app
        .clone()
        .oneshot(
            Request::get("/records")
                .header("content-length", "4096")
                .body(Body::from(vec![b'x'; 4096]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    view.close().await;
}
