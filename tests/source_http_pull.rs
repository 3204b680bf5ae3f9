//! `http_pull` in the running hub (in-process `dhub::hub::run`, SQLite state, the four demo
//! platforms on the test broker) against a department API served by axum in the test: pages with
//! cursors, a failure on the way, a restart that resumes from the stored cursor without loss or
//! skip, a malformed record held with an origin naming its page, and a revocation on a later page
//! that becomes retraction outbox entries. (Timeouts, 429/503 `Retry-After`, cut-off and oversize
//! bodies are exercised against the connector alone: `connectors/src/http_pull/tests.rs`.)

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{free_port, repo, start_hub_in_process};
use dhub_store::OutboxOp;
use dhub_testkit::DEMO_PLATFORMS;
use serde_json::{json, Value};

const TOKEN: &str = "dept-api-token-5e1b7c";
const PAGE_2_CURSOR: &str = "2026-11-12T00:00:00Z~LCHB-2026-0110";
const PAGE_3_CURSOR: &str = "2026-11-12T00:00:00Z~LCHB-2026-0121";

/// The department's API: pages by cursor; a cursor may be held back (503) until released.
#[derive(Default)]
struct Api {
    pages: Mutex<HashMap<String, Value>>,
    held: Mutex<BTreeSet<String>>,
    fail_next: Mutex<u32>,
    /// The cursor of every request, in order.
    requests: Mutex<Vec<String>>,
}

async fn page(
    State(api): State<Arc<Api>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let cursor = query.get("cursor").cloned().unwrap_or_default();
    api.requests.lock().unwrap().push(cursor.clone());
    {
        let mut fail = api.fail_next.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    if api.held.lock().unwrap().contains(&cursor) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
        )
            .into_response();
    }
    match api.pages.lock().unwrap().get(&cursor) {
        Some(page) => axum::Json(page.clone()).into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn sample(stage: &str, n: u32) -> Value {
    let path = repo().join(format!("mappings/samples/dept-api/{stage}/page-{n}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

async fn start_api(api: Arc<Api>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/cases", axum::routing::get(page))
        .with_state(api);
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn config(dir: &std::path::Path, api_port: u16) -> dhub::config::HubConfig {
    let mut text = format!(
        "[hub]\nstate = \"sqlite://{}\"\nlisten = \"127.0.0.1:{}\"\n\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{}.\"\n",
        dir.join("state.db").display(),
        free_port(),
        dhub_testkit::test_brokers(),
        dhub_testkit::unique_name("pull"),
    );
    for platform in DEMO_PLATFORMS {
        text.push_str(&format!(
            "\n[[platform]]\nname = \"{level}-{division}\"\nlevel = \"{level}\"\ndivision = \"{division}\"\n",
            level = platform.level.as_str(),
            division = platform.division
        ));
    }
    text.push_str(&format!(
        "\n[[source]]\nname = \"dept-api\"\nkind = \"http_pull\"\nmapping = \"{}\"\nurl = \"http://127.0.0.1:{api_port}/cases?cursor={{cursor}}\"\ntoken = \"{TOKEN}\"\nnext_cursor = \"/next_cursor\"\ninterval_ms = 300\ntimeout_ms = 2000\nmin_retry_delay_ms = 50\nmax_retry_delay_ms = 500\ndivision = \"371500\"\n",
        repo().join("mappings/dept-api.toml").display()
    ));
    let path = dir.join("hub.toml");
    std::fs::write(&path, &text).unwrap();
    dhub::config::HubConfig::parse(&text, &path, &[]).unwrap()
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "waited for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| format!("dept-api:{}", item["caseId"].as_str().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_resume_from_the_stored_cursor_and_a_later_revocation_is_retracted() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(Api::default());
    // Page 2 of the samples opens with a malformed record (LCHB-2026-0113: a penalty kind the
    // mapping's code table lacks).
    let page_2 = sample("first", 2);
    {
        let mut pages = api.pages.lock().unwrap();
        pages.insert(String::new(), sample("first", 1));
        pages.insert(PAGE_2_CURSOR.into(), page_2.clone());
        pages.insert(PAGE_3_CURSOR.into(), sample("first", 3));
    }
    *api.fail_next.lock().unwrap() = 1;
    api.held.lock().unwrap().insert(PAGE_3_CURSOR.into());
    let api_port = start_api(api.clone()).await;

    // First run: pages 1 and 2 are stored; page 3 is held back by the API.
    let (stop, hub) = start_hub_in_process(config(dir.path(), api_port));
    let store = dhub_store::Store::connect(&config(dir.path(), api_port).state_url)
        .await
        .unwrap();
    wait_until("the cursor of page 3 stored", || async {
        store.source_position("dept-api").await.unwrap().as_deref() == Some(PAGE_3_CURSOR)
    })
    .await;
    wait_until("page 3 asked for", || async {
        api.requests.lock().unwrap().last().map(String::as_str) == Some(PAGE_3_CURSOR)
    })
    .await;
    stop.send(true).unwrap();
    hub.await.unwrap().unwrap();
    let first_run = api.requests.lock().unwrap().clone();
    assert_eq!(
        &first_run[..3],
        ["", "", PAGE_2_CURSOR],
        "500, page 1 again, page 2"
    );
    let malformed = "dept-api:LCHB-2026-0113";
    let mut expected: Vec<String> = ids(&sample("first", 1));
    expected.extend(ids(&page_2).into_iter().filter(|id| id != malformed));
    for id in &expected {
        assert!(store.latest(id).await.unwrap().is_some(), "{id} stored");
    }
    let held = store.quarantine_list(false).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].record_id.as_deref(), Some(malformed));
    assert_eq!(held[0].stage.as_str(), "mapping");
    assert_eq!(
        held[0].origin,
        format!(
            "GET http://127.0.0.1:{api_port}/cases?cursor=2026-11-12T00%3A00%3A00Z~LCHB-2026-0110#1"
        ),
        "the origin names the page and the record's place in it"
    );

    // Second run: resumes at page 3 (nothing fetched twice, nothing skipped).
    api.requests.lock().unwrap().clear();
    api.held.lock().unwrap().clear();
    let (stop, hub) = start_hub_in_process(config(dir.path(), api_port));
    let page_3_ids = ids(&sample("first", 3));
    wait_until("page 3 stored", || async {
        store.latest(&page_3_ids[1]).await.unwrap().is_some()
    })
    .await;
    assert_eq!(
        api.requests.lock().unwrap()[0],
        PAGE_3_CURSOR,
        "the first request after the restart carries the stored cursor"
    );

    // The API's next change log entry revokes a decision of page 1: page 3 now names a next page.
    let revoked = "dept-api:LCHB-2026-0104";
    // The platforms that show it (its entries may already be delivered and pruned from the queue).
    let upserted: BTreeSet<String> = store
        .latest(revoked)
        .await
        .unwrap()
        .unwrap()
        .platforms
        .into_iter()
        .collect();
    assert_eq!(
        upserted,
        BTreeSet::from(["city-371500".to_string(), "province-370000".to_string()])
    );
    {
        let mut pages = api.pages.lock().unwrap();
        let mut page_3 = sample("first", 3);
        page_3["next_cursor"] = json!("first~end");
        pages.insert(PAGE_3_CURSOR.into(), page_3);
        pages.insert("first~end".into(), sample("second", 1));
    }
    wait_until("the revocation stored", || async {
        store
            .latest(revoked)
            .await
            .unwrap()
            .is_some_and(|latest| latest.status == "revoked")
    })
    .await;
    // Delivered as retractions of version 2 to every platform that showed it.
    let retracted = || async {
        store
            .history(revoked)
            .await
            .unwrap()
            .deliveries
            .iter()
            .filter(|state| state.op == OutboxOp::Retract && state.version == 2)
            .map(|state| state.platform.clone())
            .collect::<BTreeSet<String>>()
    };
    wait_until("the retractions delivered", || async {
        retracted().await == upserted
    })
    .await;
    let history = store.history(revoked).await.unwrap();
    assert!(history.latest.unwrap().retracted);
    assert_eq!(
        store.source_position("dept-api").await.unwrap().as_deref(),
        Some("first~end")
    );
    stop.send(true).unwrap();
    hub.await.unwrap().unwrap();
    for id in expected.iter().chain(&page_3_ids) {
        assert_eq!(
            store.latest(id).await.unwrap().map(|l| l.version),
            Some(if id == revoked { 2 } else { 1 }),
            "{id}: stored once, no duplicate version"
        );
    }
}
