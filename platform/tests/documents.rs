//! Decision documents on the platform (issue 11): an upsert's `documents` are kept with the
//! record, fetched from the hub and checked against their SHA-256, linked from the record page,
//! served, and deleted once no record in force names them (a retraction).

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{simple, upsert_envelope, Feed, TestDb};
use dhub_platform::documents::{keep_round, router};
use dhub_platform::page::record_page;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A stand-in for the hub's `GET /documents/{sha256}`: serves `body` at every path.
async fn hub(body: &'static [u8]) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/documents/{sha256}",
        axum::routing::get(move || async move { body }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn descriptor(addr: SocketAddr, sha256: &str, size: usize) -> Value {
    json!({"kind": "decision", "media_type": "text/html", "sha256": sha256, "size": size,
           "url": format!("http://{addr}/documents/{sha256}")})
}

#[tokio::test]
async fn documents_are_fetched_checked_linked_served_and_removed_with_a_retraction() {
    let db = TestDb::sqlite();
    let view = db.view().await;
    let dir = tempfile::tempdir().unwrap();
    let body: &'static [u8] = "<html><body>行政处罚决定书（公开版）</body></html>".as_bytes();
    let addr = hub(body).await;
    let good = sha256(body);
    let mut feed = Feed::new(0);

    let mut envelope = upsert_envelope(&simple("r-1", 1));
    envelope["documents"] = json!([descriptor(addr, &good, body.len())]);
    // Another record names a document whose bytes do not match its hash: never kept.
    let mut lying = upsert_envelope(&simple("r-2", 1));
    let forged = "f".repeat(64);
    lying["documents"] = json!([descriptor(addr, &forged, body.len())]);
    let stats = view
        .apply(&[feed.envelope(&envelope), feed.envelope(&lying)])
        .await
        .unwrap();
    assert_eq!(stats.upserted, 2);

    let record = view.get("r-1").await.unwrap().unwrap();
    assert_eq!(record["documents"][0]["sha256"], good.as_str());
    let page = record_page(&record);
    assert!(page.contains(&format!("<a href=\"/documents/{good}\" data-kind=\"decision\">决定书（公开版）</a>")), "{page}");

    let client = reqwest::Client::new();
    let round = keep_round(&view, dir.path(), &client).await;
    assert_eq!(round.fetched, 1, "{round:?}");
    assert_eq!(round.failed.len(), 1, "{round:?}");
    assert!(round.failed[0].contains("do not have this SHA-256"), "{round:?}");
    assert_eq!(std::fs::read(dir.path().join(&good)).unwrap(), body);
    assert!(!dir.path().join(&forged).exists());

    let served = router(view.clone(), dir.path().to_path_buf())
        .oneshot(Request::get(format!("/documents/{good}")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "text/html");

    // Revoked: the record leaves the view, its document is deleted and no longer served.
    view.apply(&[feed.retract("r-1", 2)]).await.unwrap();
    let round = keep_round(&view, dir.path(), &client).await;
    assert_eq!(round.deleted, 1, "{round:?}");
    assert!(!dir.path().join(&good).exists());
    let gone = router(view.clone(), dir.path().to_path_buf())
        .oneshot(Request::get(format!("/documents/{good}")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_documents_reject_the_envelope() {
    let db = TestDb::sqlite();
    let view = db.view().await;
    let mut feed = Feed::new(0);
    let mut envelope = upsert_envelope(&simple("r-3", 1));
    envelope["documents"] = json!([{"kind": "decision", "sha256": "../etc/passwd", "size": 1,
                                     "media_type": "text/html", "url": "file:///etc/passwd"}]);
    let stats = view.apply(&[feed.envelope(&envelope)]).await.unwrap();
    assert_eq!(stats.rejected, 1);
    let rejected = view.rejected().await.unwrap();
    assert!(format!("{rejected:?}").contains("documents"), "{rejected:?}");
}
