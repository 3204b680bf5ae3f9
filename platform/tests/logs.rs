//! The log lines the platform writes while rejecting bad envelopes and serving searches carry
//! positions and field names, never the personal data that was in the payload or the query.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{simple, upsert_envelope, Feed, TestDb};
use dhub_platform::SearchQuery;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PII: [&str; 3] = ["张三", "110101199003077777", "13812345678"];

#[tokio::test]
async fn rejections_and_failures_are_logged_without_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDb::sqlite();
    let view = db.view().await;
    let mut feed = Feed::new(0);
    let mut wrong_type = upsert_envelope(&simple("oa:1", 1));
    wrong_type["version"] = json!("张三 110101199003077777");
    let mut wrong_record = upsert_envelope(&simple("oa:1", 1));
    wrong_record["record"] = json!("张三 13812345678");
    view.apply(&[
        feed.raw(
            Some("oa:1"),
            "{\"counterparty\":\"张三 110101199003077777".as_bytes(),
        ),
        feed.envelope(&wrong_type),
        feed.envelope(&wrong_record),
        feed.raw(
            Some("张三"),
            upsert_envelope(&simple("oa:1", 1)).to_string().as_bytes(),
        ),
    ])
    .await
    .unwrap();

    // A search for a person's name that fails on a closed database is logged too.
    let query = SearchQuery {
        counterparty: Some("张三".into()),
        ..SearchQuery::default()
    };
    view.close().await;
    let app = dhub_platform::router(view.clone());
    let response = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get("/records?counterparty=%E5%BC%A0%E4%B8%89")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 503);
    assert!(view.search(&query).await.is_err());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(logs.matches("rejected a feed message").count(), 4, "{logs}");
    assert!(logs.contains("search API request failed"), "{logs}");
    for fragment in PII {
        assert!(
            !logs.contains(fragment),
            "`{fragment}` leaked into the logs:\n{logs}"
        );
    }
}
