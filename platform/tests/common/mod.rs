//! Shared test support: fresh databases (a temp SQLite file, or a new Postgres database that is
//! dropped afterwards) and envelope builders.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use dhub_platform::{FeedMessage, View};
use serde_json::{json, Value};

pub const TOPIC: &str = "disclosure.county.371523";

/// A database that exists for one test.
pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

/// A name no other test (or test run) uses.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn postgres_admin_url() -> String {
    std::env::var("DHUB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (scheme, rest) = admin_url.split_once("://").expect("a postgres:// URL");
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

async fn admin_execute(admin_url: &str, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach the test Postgres (set DHUB_TEST_POSTGRES to its URL): {e}")
        });
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
    let _ = conn.close().await;
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temp dir");
        // A subdirectory that does not exist yet: the view creates it.
        let url = format!("sqlite://{}/view/platform.db", dir.path().display());
        TestDb::Sqlite { dir, url }
    }

    pub async fn postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let name = format!("dhub_test_{}", unique_suffix());
        admin_execute(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let url = with_database(&admin_url, &name);
        TestDb::Postgres {
            admin_url,
            name,
            url,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub async fn view(&self) -> View {
        View::open(self.url()).await.expect("the view opens")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            // Drop runs inside the test's runtime, which cannot block on async work: use a
            // runtime of our own on a thread of our own. FORCE ends the view's open connections.
            let admin_url = admin_url.clone();
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(admin_execute(&admin_url, &sql));
            })
            .join();
        }
    }
}

/// A disclosure.v1 record with the fields the search API reads.
pub fn record(
    record_id: &str,
    version: i64,
    counterparty: &str,
    document_no: &str,
    agency: &str,
    decided_on: &str,
    category: &str,
) -> Value {
    json!({
        "record_id": record_id,
        "version": version,
        "category": category,
        "status": "in_force",
        "division_code": "371523",
        "agency": {"name": agency, "uscc": "11371523MB0000000X"},
        "document_no": document_no,
        "counterparty": {"name": counterparty, "kind": "legal_person"},
        "decided_on": decided_on,
        "classification": "public",
    })
}

pub fn upsert_envelope(record: &Value) -> Value {
    json!({
        "schema": "disclosure.v1",
        "op": "upsert",
        "record_id": record["record_id"],
        "version": record["version"],
        "emitted_at": "2026-03-01T08:00:00Z",
        "record": record,
    })
}

pub fn retract_envelope(record_id: &str, version: i64, reason: &str) -> Value {
    json!({
        "schema": "disclosure.v1",
        "op": "retract",
        "record_id": record_id,
        "version": version,
        "emitted_at": "2026-03-02T08:00:00Z",
        "reason": reason,
        "note": "撤销",
    })
}

/// Builds messages with increasing offsets on one partition, as the broker would number them.
pub struct Feed {
    pub partition: i32,
    next_offset: i64,
}

impl Feed {
    pub fn new(partition: i32) -> Feed {
        Feed {
            partition,
            next_offset: 0,
        }
    }

    pub fn raw(&mut self, key: Option<&str>, payload: &[u8]) -> FeedMessage {
        let message = FeedMessage::new(TOPIC, self.partition, self.next_offset, key, payload);
        self.next_offset += 1;
        message
    }

    pub fn envelope(&mut self, envelope: &Value) -> FeedMessage {
        let key = envelope["record_id"].as_str().map(str::to_owned);
        self.raw(key.as_deref(), envelope.to_string().as_bytes())
    }

    pub fn upsert(&mut self, record: &Value) -> FeedMessage {
        self.envelope(&upsert_envelope(record))
    }

    pub fn retract(&mut self, record_id: &str, version: i64) -> FeedMessage {
        self.envelope(&retract_envelope(record_id, version, "revoked"))
    }
}

/// A record with only an id and version that matter.
pub fn simple(record_id: &str, version: i64) -> Value {
    record(
        record_id,
        version,
        "茌平某商贸有限公司",
        &format!("茌市监罚〔2026〕{version}号"),
        "茌平区市场监督管理局",
        "2026-02-01",
        "penalty",
    )
}

/// Property-test settings: `default_cases` cases (bounded for CI) unless `PROPTEST_CASES` says
/// otherwise, and no failure files written into the source tree.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
