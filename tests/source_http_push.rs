//! `POST /ingest/{source}` against the running hub (in-process `dhub::hub::run`, SQLite state, the
//! four demo platforms on the test broker): every status code of CONTRACT §1, what a 202 promises
//! (the records are in the state store when it comes), a resubmission, and 50 clients at once.

mod common;

use std::time::{Duration, Instant};

use common::{free_port, repo, start_hub_in_process};
use dhub_testkit::DEMO_PLATFORMS;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const COUNTY_TOKEN: &str = "county-push-token-7f3a9c1e5b";
const DIVISION_TOKEN: &str = "division-push-token-4d2e8a6f1c";
const OTHER_TOKEN: &str = "other-push-token-9b5c3e7a2d";
/// 茌平县应急管理局, the county-push samples' agency.
const COUNTY_AGENCY: &str = "11371523MB1739421Y";
/// 聊城市生态环境局 (division 371500), a valid code of another agency.
const CITY_AGENCY: &str = "11371500004154672H";

struct Hub {
    _dir: tempfile::TempDir,
    base: String,
    state_url: String,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start_hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mapping = repo().join("mappings/county-push.toml");
    let mut text = format!(
        "[hub]\nstate = \"sqlite://{}\"\nlisten = \"127.0.0.1:{port}\"\n\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{}.\"\n",
        dir.path().join("state.db").display(),
        dhub_testkit::test_brokers(),
        dhub_testkit::unique_name("push"),
    );
    for platform in DEMO_PLATFORMS {
        text.push_str(&format!(
            "\n[[platform]]\nname = \"{level}-{division}\"\nlevel = \"{level}\"\ndivision = \"{division}\"\n",
            level = platform.level.as_str(),
            division = platform.division
        ));
    }
    for (name, token, constraints) in [
        (
            "county-push",
            COUNTY_TOKEN,
            format!("agencies = [\"{COUNTY_AGENCY}\"]\ndivision = \"371523\"\n"),
        ),
        (
            "division-push",
            DIVISION_TOKEN,
            "division = \"371523\"\n".to_string(),
        ),
        ("other-push", OTHER_TOKEN, String::new()),
    ] {
        text.push_str(&format!(
            "\n[[source]]\nname = \"{name}\"\nkind = \"http_push\"\nmapping = \"{}\"\ntoken = \"{token}\"\n{constraints}",
            mapping.display()
        ));
    }
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, &text).unwrap();
    let config = dhub::config::HubConfig::parse(&text, &path, &[]).unwrap();
    let state_url = config.state_url.clone();
    let (stop, task) = start_hub_in_process(config);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the hub answers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Hub {
        _dir: dir,
        base,
        state_url,
        stop,
        task,
    }
}

impl Hub {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
    }

    async fn store(&self) -> dhub_store::Store {
        dhub_store::Store::connect(&self.state_url).await.unwrap()
    }

    async fn post(&self, source: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/ingest/{source}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body["request_id"].as_str(),
        request_id.as_deref(),
        "every answer names its request, in the header and the body: {body}"
    );
    (status, body)
}

/// The first sample push of 茌平县应急管理局 (4 cases, all valid; the second file holds a case
/// planted without its decision date).
fn samples() -> Vec<Value> {
    let file = repo().join("mappings/samples/county-push/first/cpyj-push-20261030-01.json");
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

/// A sample case under its own key.
fn case(key: &str) -> Value {
    let mut case = samples()[0].clone();
    case["案件编号"] = json!(key);
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_code_of_the_push_endpoint() {
    let hub = start_hub().await;
    let store = hub.store().await;
    let cases = Value::Array(samples());
    let count = cases.as_array().unwrap().len();

    // 401: no token, a wrong one; 403: another source's.
    for (token, status) in [
        (None, 401),
        (Some("not-a-token-of-anyone-1234"), 401),
        (Some(OTHER_TOKEN), 403),
    ] {
        let (got, body) = hub.post("county-push", token, &cases).await;
        assert_eq!(got, status, "{body}");
        assert!(body["error"].is_string(), "{body}");
    }

    // 415: not the mapping's format.
    let response = reqwest::Client::new()
        .post(format!("{}/ingest/county-push", hub.base))
        .bearer_auth(COUNTY_TOKEN)
        .header("content-type", "text/csv")
        .body(cases.to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, 415, "{body}");

    // 422: a body that is not JSON names line and column; nothing is stored.
    let response = reqwest::Client::new()
        .post(format!("{}/ingest/county-push", hub.base))
        .bearer_auth(COUNTY_TOKEN)
        .header("content-type", "application/json")
        .body("[\n  {\"案件编号\": \"X-1\",\n   \"案件类别\" \"行政处罚\"}\n]")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("line 3, column 11"), "{error}");

    // 202 only once every record is stored: the state store holds them when the answer comes.
    let (status, body) = hub.post("county-push", Some(COUNTY_TOKEN), &cases).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], count, "{body}");
    for case in cases.as_array().unwrap() {
        let id = format!("county-push:{}", case["案件编号"].as_str().unwrap());
        let latest = store.latest(&id).await.unwrap();
        assert_eq!(latest.map(|l| l.version), Some(1), "{id} stored");
    }

    // The same body again: accepted, stored nothing new.
    let (status, body) = hub.post("county-push", Some(COUNTY_TOKEN), &cases).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], count);
    assert_eq!(body["unchanged"], count);
    let id = format!("county-push:{}", cases[0]["案件编号"].as_str().unwrap());
    assert_eq!(store.latest(&id).await.unwrap().unwrap().version, 1);

    // 422 per record: another agency's record, and a record that does not map; the rest stored.
    let mut other_agency = case("CPYJ-T-OTHER");
    other_agency["执法机关"]["统一社会信用代码"] = json!(CITY_AGENCY);
    let mut unmappable = case("CPYJ-T-UNMAPPED");
    unmappable["案件类别"] = json!("行政奖励");
    let batch = json!([
        case("CPYJ-T-GOOD-1"),
        other_agency,
        unmappable,
        case("CPYJ-T-GOOD-2")
    ]);
    let (status, body) = hub.post("county-push", Some(COUNTY_TOKEN), &batch).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["accepted"], 2, "{body}");
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{body}");
    assert_eq!(rejected[0]["index"], 2);
    assert_eq!(rejected[0]["record_id"], "county-push:CPYJ-T-OTHER");
    assert_eq!(rejected[0]["stage"], "constraint");
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("agencies"),
        "{body}"
    );
    assert_eq!(rejected[1]["index"], 3);
    assert_eq!(rejected[1]["stage"], "mapping");
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("category:"),
        "{body}"
    );
    let request_id = body["request_id"].as_str().unwrap();
    assert_eq!(
        rejected[1]["origin"],
        format!("POST /ingest/county-push {request_id}#3")
    );
    for good in ["CPYJ-T-GOOD-1", "CPYJ-T-GOOD-2"] {
        let stored = store.latest(&format!("county-push:{good}")).await.unwrap();
        assert!(stored.is_some(), "{good} stored despite its neighbours");
    }
    assert!(store
        .latest("county-push:CPYJ-T-OTHER")
        .await
        .unwrap()
        .is_none());
    let held = store.quarantine_list(false).await.unwrap();
    let origins: Vec<&str> = held.iter().map(|q| q.origin.as_str()).collect();
    assert!(
        origins.contains(&format!("POST /ingest/county-push {request_id}#2").as_str()),
        "{origins:?}"
    );

    // 422 for a record of another division, on a source bound only to a division.
    let mut other_division = case("CPYJ-T-CITY");
    other_division["执法机关"]["统一社会信用代码"] = json!(CITY_AGENCY);
    let batch = json!([other_division, case("CPYJ-T-DIV-GOOD")]);
    let (status, body) = hub
        .post("division-push", Some(DIVISION_TOKEN), &batch)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["rejected"][0]["stage"], "constraint");
    assert!(
        body["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("division_code: division 371500 is outside the source's division 371523"),
        "{body}"
    );

    // 413: a 64 MB body is refused by its length: the answer comes before a byte of it is sent.
    let (status, sent) = post_raw(&hub.base, 64 * 1024 * 1024, false).await;
    assert_eq!(status, 413);
    assert_eq!(sent, 0);
    // …and a 64 MB body without a length as soon as it passes the 8 MiB default.
    let (status, sent) = post_raw(&hub.base, 64 * 1024 * 1024, true).await;
    assert_eq!(status, 413);
    assert!(
        sent < 32 * 1024 * 1024,
        "refused after {sent} bytes of 64 MB"
    );

    // The hub still serves after all that.
    let (status, _) = hub
        .post(
            "county-push",
            Some(COUNTY_TOKEN),
            &json!([case("CPYJ-T-LAST")]),
        )
        .await;
    assert_eq!(status, 202);
    hub.stop().await;
}

/// POSTs a body of `size` bytes over a raw connection, writing while it reads the answer, and
/// returns the status and how many body bytes were sent before the hub answered. With
/// `Content-Length`, nothing of the body is sent until the answer: the hub must answer on the
/// head alone.
async fn post_raw(base: &str, size: usize, chunked: bool) -> (u16, usize) {
    let address = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {size}")
    };
    let head = format!(
        "POST /ingest/county-push HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {COUNTY_TOKEN}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let (answered_tx, answered) = tokio::sync::watch::channel(false);
    let writing = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        if !chunked {
            let mut answered = answered;
            let _ = answered.wait_for(|answered| *answered).await;
            return sent;
        }
        while sent < size && !*answered.borrow() {
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            if writer.write_all(&framed).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(30), reader.read(&mut buffer))
            .await
            .expect("the hub answers")
            .unwrap();
        assert!(read > 0, "the hub answered before closing");
        response.extend_from_slice(&buffer[..read]);
    }
    let _ = answered_tx.send(true);
    let sent = writing.await.unwrap();
    let head = String::from_utf8_lossy(&response).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_at_once_are_all_stored() {
    let hub = start_hub().await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for n in 0..50 {
        let client = client.clone();
        let url = format!("{}/ingest/county-push", hub.base);
        tasks.push(tokio::spawn(async move {
            let batch: Vec<Value> = (0..20).map(|i| case(&format!("CPYJ-C{n}-{i}"))).collect();
            let response = client
                .post(url)
                .bearer_auth(COUNTY_TOKEN)
                .header("content-type", "application/json")
                .body(Value::Array(batch).to_string())
                .send()
                .await
                .unwrap();
            answer(response).await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["accepted"], 20);
    }
    let store = hub.store().await;
    for n in 0..50 {
        for i in 0..20 {
            let id = format!("county-push:CPYJ-C{n}-{i}");
            assert!(store.latest(&id).await.unwrap().is_some(), "{id}");
        }
    }
    hub.stop().await;
}
