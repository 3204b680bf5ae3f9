//! The connector against SQLite files, with a sink that records what it is given. Postgres and
//! MariaDB, the real ingest step and the real binary are covered by `tests/source_sql.rs` of the
//! workspace.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dhub_mapping::Mapping;
use dhub_schema::intake::{
    Intake, IntakeBatch, IntakeError, IntakeReport, IntakeSink, ItemOutcome,
};
use futures::future::BoxFuture;
use serde_json::Value as Json;
use sqlx::sqlite::SqlitePool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use std::time::Instant;

use super::*;
use crate::context::ConnectorEvents;
use crate::registry::SourceConfig;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Stores nothing; keeps every batch, and the last position like the state store would.
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Arc<IntakeBatch>>>,
}

impl IntakeSink for Recorder {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>> {
        Box::pin(async move {
            let outcomes = batch
                .items
                .iter()
                .map(|_| ItemOutcome::Unchanged {
                    record_id: String::new(),
                })
                .collect();
            self.batches.lock().unwrap().push(batch);
            Ok(IntakeReport { outcomes })
        })
    }
}

impl Recorder {
    /// Mapped records by key, in the order they were submitted.
    fn records(&self) -> Vec<(String, Json)> {
        let mut out = Vec::new();
        for batch in self.batches.lock().unwrap().iter() {
            for item in &batch.items {
                if let Intake::Mapped { value, .. } = item {
                    let key = value["source"]["key"].as_str().unwrap().to_string();
                    out.push((key, value.clone()));
                }
            }
        }
        out
    }

    fn unmapped(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for batch in self.batches.lock().unwrap().iter() {
            for item in &batch.items {
                if let Intake::Unmapped { origin, reason, .. } = item {
                    out.push((origin.to_string(), reason.clone()));
                }
            }
        }
        out
    }

    fn positions(&self) -> Vec<(String, String)> {
        let batches = self.batches.lock().unwrap();
        batches
            .iter()
            .rev()
            .find_map(|b| b.positions.first().cloned())
            .map(|p| vec![(p.scope, p.value)])
            .unwrap_or_default()
    }

    /// The keys of mapped records whose `remarks` is `remarks`.
    fn with_remarks(&self, remarks: &str) -> Vec<String> {
        self.records()
            .into_iter()
            .filter(|(_, value)| value["remarks"] == remarks)
            .map(|(key, _)| key)
            .collect()
    }
}

#[derive(Default)]
struct Events {
    failed: Mutex<Vec<String>>,
    retrying: Mutex<Vec<String>>,
}

impl ConnectorEvents for Events {
    fn document_done(&self, _source: &str, _records: usize) {}
    fn document_failed(&self, _source: &str, reason: &str) {
        self.failed.lock().unwrap().push(reason.to_string());
    }
    fn retrying(&self, _source: &str, error: &str) {
        self.retrying.lock().unwrap().push(error.to_string());
    }
}

/// A department SQLite database with the case-db table and the first sample state.
struct CaseDb {
    dir: tempfile::TempDir,
    pool: SqlitePool,
}

impl CaseDb {
    async fn new() -> CaseDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("cases.db").display()
        );
        let pool = SqlitePool::connect(&url).await.unwrap();
        for file in ["schema.sql", "first.sql"] {
            let text = std::fs::read_to_string(repo().join("mappings/samples/case-db").join(file))
                .unwrap();
            sqlx::raw_sql(&text).execute(&pool).await.unwrap();
        }
        CaseDb { dir, pool }
    }

    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sql).execute(&self.pool).await.unwrap();
    }

    fn config(&self, extra: &str) -> SqlConfig {
        let text = format!(
            "name = \"case-db\"\nkind = \"sql\"\nmapping = \"m.toml\"\nurl = \"sqlite://cases.db\"\ntable = \"enforcement_cases\"\ncursor = [\"updated_at\", \"case_no\"]\npoll_interval_ms = 50\nresync_interval_ms = 50\n{extra}"
        );
        let config: SourceConfig = toml::from_str(&text).unwrap();
        match config.kind {
            crate::SourceKind::Sql(sql) => sql,
            _ => unreachable!(),
        }
    }
}

/// A connector running in a task, with its sink and events.
struct Running {
    task: JoinHandle<Result<(), ConnectorError>>,
    stop: watch::Sender<bool>,
    sink: Arc<Recorder>,
    events: Arc<Events>,
}

fn start(db: &CaseDb, config: &SqlConfig, positions: Vec<(String, String)>) -> Running {
    let mapping = Arc::new(Mapping::load(&repo().join("mappings/case-db.toml")).unwrap());
    let connector = connector(config, db.dir.path()).unwrap();
    let sink = Arc::new(Recorder::default());
    let events = Arc::new(Events::default());
    let (stop, shutdown) = watch::channel(false);
    let context = SourceContext {
        name: "case-db".into(),
        mapping,
        sink: sink.clone(),
        positions,
        base_dir: db.dir.path().to_path_buf(),
        events: events.clone(),
        shutdown,
    };
    let task = tokio::spawn(Box::new(connector).run(context));
    Running {
        task,
        stop,
        sink,
        events,
    }
}

impl Running {
    async fn stop(self) -> (Arc<Recorder>, Arc<Events>) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
        (self.sink, self.events)
    }

    async fn wait_until(&self, what: &str, done: impl Fn(&Recorder) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.sink) {
            if self.task.is_finished() {
                panic!("the connector stopped while waiting for {what}");
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

const FIRST_KEYS: usize = 10;

#[tokio::test]
async fn first_load_maps_every_row_with_dates_and_amounts_as_text() {
    let db = CaseDb::new().await;
    let running = start(&db, &db.config(""), Vec::new());
    running
        .wait_until("the first load", |sink| sink.records().len() >= FIRST_KEYS)
        .await;
    let (sink, events) = running.stop().await;
    let records = sink.records();
    assert_eq!(records.len(), FIRST_KEYS, "each row once");
    let (_, first) = records
        .iter()
        .find(|(key, _)| key == "LCZF-2026-0031")
        .unwrap();
    assert_eq!(first["decided_on"], "2026-09-08");
    // SQLite keeps 3000.00 in a DECIMAL column as the integer 3000; the mapping adds the fen.
    assert_eq!(first["fine_amount"], "3000.00");
    assert_eq!(
        first["penalty_kinds"],
        serde_json::json!(["warning", "fine"])
    );
    // Read in cursor order: updated_at, then case_no.
    let order: Vec<&str> = records.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(order[0], "LCZF-2026-0031");
    assert_eq!(order[FIRST_KEYS - 1], "DEZF-2026-0085");
    assert!(events.failed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn changes_are_read_incrementally_and_a_restart_resumes_without_loss() {
    let db = CaseDb::new().await;
    let config = db.config("overlap_ms = 200\n");
    let running = start(&db, &config, Vec::new());
    running
        .wait_until("the first load", |sink| sink.records().len() >= FIRST_KEYS)
        .await;
    db.exec(&std::fs::read_to_string(repo().join("mappings/samples/case-db/second.sql")).unwrap())
        .await;
    running
        .wait_until("the revocations", |sink| {
            sink.records().len() >= FIRST_KEYS + 2
        })
        .await;
    // Let the safe position pass the revocations before stopping.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (sink, _) = running.stop().await;
    let revoked: Vec<String> = sink
        .records()
        .into_iter()
        .skip(FIRST_KEYS)
        .filter(|(_, value)| value["status"] == "revoked")
        .map(|(key, _)| key)
        .collect();
    assert_eq!(revoked, ["LCZF-2026-0031", "DEZF-2026-0077"]);
    let positions = sink.positions();
    let stored: Json = serde_json::from_str(&positions[0].1).unwrap();
    assert_eq!(stored["safe"]["text"], "2026-11-18 15:20:00");

    // Changes while the source is stopped, then a restart from the stored position.
    db.exec("UPDATE enforcement_cases SET remarks = 'while stopped', updated_at = '2026-11-20 09:00:00' WHERE case_no = 'CPZF-2026-0112'").await;
    let running = start(&db, &config, positions);
    running
        .wait_until("the change made while stopped", |sink| {
            !sink.with_remarks("while stopped").is_empty()
        })
        .await;
    let (sink, _) = running.stop().await;
    let keys: Vec<String> = sink.records().into_iter().map(|(key, _)| key).collect();
    // From P on: the last revocation again (the ingest step finds it unchanged) and the new change;
    // nothing before P.
    assert_eq!(keys, ["DEZF-2026-0077", "CPZF-2026-0112"]);
}

/// The application that writes `enforcement_cases` takes `updated_at` when its transaction starts;
/// one transaction commits after a later one was already read. SQLite runs one writer at a time,
/// so the late commit is played by writing the older timestamp after the newer one was read.
async fn late_commit(overlap_ms: u64) -> (Arc<Recorder>, Arc<Events>) {
    let db = CaseDb::new().await;
    let running = start(
        &db,
        &db.config(&format!("overlap_ms = {overlap_ms}\n")),
        Vec::new(),
    );
    running
        .wait_until("the first load", |sink| sink.records().len() >= FIRST_KEYS)
        .await;
    db.exec("UPDATE enforcement_cases SET remarks = 'newer', updated_at = '2026-12-01 10:00:05' WHERE case_no = 'DEZF-2026-0085'").await;
    running
        .wait_until("the newer change", |sink| {
            !sink.with_remarks("newer").is_empty()
        })
        .await;
    db.exec("UPDATE enforcement_cases SET remarks = 'late', updated_at = '2026-12-01 10:00:01' WHERE case_no = 'CPZF-2026-0112'").await;
    tokio::time::sleep(Duration::from_millis(overlap_ms.max(300) * 4)).await;
    running.stop().await
}

#[tokio::test]
async fn a_row_committed_after_a_newer_one_was_read_is_still_read() {
    let (sink, _) = late_commit(300).await;
    assert_eq!(sink.with_remarks("late"), ["CPZF-2026-0112"]);
    assert_eq!(sink.with_remarks("newer"), ["DEZF-2026-0085"], "each once");
}

#[tokio::test]
async fn without_the_overlap_the_late_row_is_missed() {
    // The control: the mechanism is what finds it.
    let (sink, _) = late_commit(0).await;
    assert!(sink.with_remarks("late").is_empty());
    assert_eq!(sink.with_remarks("newer"), ["DEZF-2026-0085"]);
}

#[tokio::test]
async fn a_row_that_does_not_map_is_named_and_the_rest_goes_on() {
    let db = CaseDb::new().await;
    db.exec("UPDATE enforcement_cases SET decided_on = 'soon' WHERE case_no = 'CPZF-2026-0118'")
        .await;
    let running = start(&db, &db.config(""), Vec::new());
    running
        .wait_until("the first load", |sink| {
            sink.records().len() + sink.unmapped().len() >= FIRST_KEYS
        })
        .await;
    let (sink, _) = running.stop().await;
    assert_eq!(sink.records().len(), FIRST_KEYS - 1);
    let unmapped = sink.unmapped();
    assert_eq!(unmapped.len(), 1);
    assert_eq!(unmapped[0].0, "enforcement_cases[CPZF-2026-0118]");
    assert!(
        unmapped[0].1.starts_with("decided_on:"),
        "{:?}",
        unmapped[0]
    );
}

#[tokio::test]
async fn a_missing_column_stops_the_source_naming_it() {
    let db = CaseDb::new().await;
    db.exec("ALTER TABLE enforcement_cases RENAME COLUMN fine_yuan TO fine")
        .await;
    let running = start(&db, &db.config(""), Vec::new());
    let error = running.task.await.unwrap().unwrap_err();
    assert!(
        error
            .message
            .starts_with("enforcement_cases has no column `fine_yuan`, which the mapping reads"),
        "{}",
        error.message
    );
    assert!(error.retryable);
    let cursor = db.config("").clone();
    let mut bad = cursor;
    bad.cursor = vec!["changed_at".into(), "case_no".into()];
    let error = start(&db, &bad, Vec::new())
        .task
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        error
            .message
            .contains("no column `changed_at`, which the cursor reads"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_query_is_read_as_a_subquery_and_null_cursors_are_reported() {
    let db = CaseDb::new().await;
    // CREATE TABLE … AS drops the NOT NULL of updated_at.
    db.exec("CREATE TABLE cases AS SELECT * FROM enforcement_cases; CREATE TABLE notes (case_no TEXT, note TEXT); INSERT INTO notes VALUES ('LCZF-2026-0031', '复核'); UPDATE cases SET updated_at = NULL WHERE case_no = 'DEZF-2026-0085'").await;
    let mut config = db.config("");
    config.table = None;
    config.query = Some(
        "SELECT c.*, n.note FROM cases c LEFT JOIN notes n ON n.case_no = c.case_no WHERE c.case_type <> 'QZ' OR c.updated_at IS NULL".into(),
    );
    let running = start(&db, &config, Vec::new());
    running
        .wait_until("the first load", |sink| {
            sink.records().len() >= FIRST_KEYS - 1
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (sink, events) = running.stop().await;
    let keys: Vec<String> = sink.records().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), FIRST_KEYS - 1, "{keys:?}");
    assert!(!keys.contains(&"DEZF-2026-0085".to_string()));
    let failed = events.failed.lock().unwrap();
    assert_eq!(
        *failed,
        ["query: 1 rows have no value in a cursor column (updated_at, case_no); they are not read until it is set"]
    );
}

#[tokio::test]
async fn repeated_cursor_values_are_reported() {
    let db = CaseDb::new().await;
    let mut config = db.config("");
    config.cursor = vec!["case_type".into()];
    config.row_key = Some(vec!["case_no".into()]);
    let running = start(&db, &config, Vec::new());
    running
        .wait_until("the first load", |sink| !sink.records().is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, events) = running.stop().await;
    let failed = events.failed.lock().unwrap();
    assert!(
        failed
            .iter()
            .any(|f| f
                .contains("have the same cursor values; end `cursor` with a unique key column")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_missing_database_file_is_waited_for_and_never_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = CaseDb::new().await;
    let mut config = db.config("connect_timeout_ms = 100\n");
    config.url = dhub_support::Secret::Inline(format!(
        "sqlite://{}",
        dir.path().join("missing.db").display()
    ));
    let running = start(&db, &config, Vec::new());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // SQLite says CANTOPEN: refused, so the hub restarts the source later (it is not created).
    assert!(running.task.is_finished());
    let error = running.task.await.unwrap().unwrap_err();
    assert!(
        error.message.contains("unable to open database file"),
        "{}",
        error.message
    );
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn the_trigger_sql_is_shipped() {
    assert!(NOTIFY_TRIGGER_SQL.contains("pg_notify(TG_ARGV[0]"));
    assert!(NOTIFY_TRIGGER_SQL.contains("FOR EACH STATEMENT"));
}
