//! The `sql` source against real department databases (Postgres, MariaDB, SQLite files), storing
//! through the real ingest step into a real state store: first load, incremental changes, a
//! revocation that retracts, a restart from the stored position without loss or skip, rows that
//! commit out of order (with and without the re-read window), malformed cells quarantined, a
//! database that is down, and a SIGKILL of the real `dhub` binary while it stores thousands of rows.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dhub::telemetry::Telemetry;
use dhub_connectors::{ConnectorEvents, SourceConfig, SourceContext};
use dhub_ingest::{Ingestor, OutboxHandoff, Platform, Routing};
use dhub_mapping::Mapping;
use dhub_redaction::Policy;
use dhub_schema::divisions::Level;
use dhub_store::{OutboxOp, QuarantineStage, Store};
use dhub_testkit::{TestDb, DEMO_PLATFORMS};
use sqlx::{MySqlPool, PgPool, SqlitePool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The statements of a SQL file: `--` comments dropped, split at `;` outside quotes (MariaDB takes
/// one statement per query).
fn statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            '-' if !quoted && chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                current.push('\n');
            }
            ';' if !quoted => {
                statements.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Postgres,
    MariaDb,
    Sqlite,
}

/// A department database holding the case-db table, loaded with `first.sql`.
enum Dept {
    Postgres(TestDb, PgPool),
    MariaDb(TestDb, MySqlPool),
    Sqlite(tempfile::TempDir, SqlitePool),
}

/// A writing transaction left open (Postgres and MariaDB).
enum Open {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    MariaDb(sqlx::Transaction<'static, sqlx::MySql>),
}

impl Open {
    async fn commit(self) {
        match self {
            Open::Postgres(tx) => tx.commit().await.unwrap(),
            Open::MariaDb(tx) => tx.commit().await.unwrap(),
        }
    }
}

impl Dept {
    async fn new(kind: Kind) -> Dept {
        let dept = match kind {
            Kind::Postgres => {
                let db = dhub_testkit::fresh_postgres_db()
                    .await
                    .expect("postgres for tests (DHUB_TEST_POSTGRES)");
                let pool = PgPool::connect(db.url()).await.unwrap();
                Dept::Postgres(db, pool)
            }
            Kind::MariaDb => {
                let db = dhub_testkit::fresh_mariadb_db()
                    .await
                    .expect("mariadb for tests (DHUB_TEST_MARIADB)");
                let pool = MySqlPool::connect(db.url()).await.unwrap();
                Dept::MariaDb(db, pool)
            }
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("cases.db").display()
                );
                let pool = SqlitePool::connect(&url).await.unwrap();
                Dept::Sqlite(dir, pool)
            }
        };
        for file in ["schema.sql", "first.sql"] {
            let path = repo().join("mappings/samples/case-db").join(file);
            dept.exec(&std::fs::read_to_string(path).unwrap()).await;
        }
        dept
    }

    fn url(&self) -> String {
        match self {
            Dept::Postgres(db, _) | Dept::MariaDb(db, _) => db.url().to_string(),
            Dept::Sqlite(dir, _) => format!("sqlite://{}", dir.path().join("cases.db").display()),
        }
    }

    async fn exec(&self, sql: &str) {
        for statement in statements(sql) {
            match self {
                Dept::Postgres(_, pool) => {
                    sqlx::raw_sql(&statement).execute(pool).await.unwrap();
                }
                Dept::MariaDb(_, pool) => {
                    sqlx::raw_sql(&statement).execute(pool).await.unwrap();
                }
                Dept::Sqlite(_, pool) => {
                    sqlx::raw_sql(&statement).execute(pool).await.unwrap();
                }
            }
        }
    }

    /// The database's own clock, as a value for `updated_at`: the transaction's start in Postgres,
    /// the statement's time in MariaDB.
    fn now(&self) -> &'static str {
        match self {
            Dept::Postgres(..) => "now()",
            Dept::MariaDb(..) => "NOW(6)",
            Dept::Sqlite(..) => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        }
    }

    /// Begins a transaction on a connection of its own, runs `sql` in it and leaves it open.
    async fn open(&self, sql: &str) -> Open {
        match self {
            Dept::Postgres(_, pool) => {
                let mut tx = pool.begin().await.unwrap();
                sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
                Open::Postgres(tx)
            }
            Dept::MariaDb(_, pool) => {
                let mut tx = pool.begin().await.unwrap();
                sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
                Open::MariaDb(tx)
            }
            Dept::Sqlite(..) => panic!("SQLite runs one writer at a time"),
        }
    }

    async fn finish(self) {
        match self {
            Dept::Postgres(db, pool) => {
                pool.close().await;
                db.drop().await.unwrap();
            }
            Dept::MariaDb(db, pool) => {
                pool.close().await;
                db.drop().await.unwrap();
            }
            Dept::Sqlite(_, pool) => pool.close().await,
        }
    }
}

/// The hub's side: a SQLite state store and the real ingest step with the four demo platforms.
struct Hub {
    dir: tempfile::TempDir,
    store: Store,
    ingestor: Arc<Ingestor>,
}

impl Hub {
    async fn new() -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let store = Store::connect(&url).await.unwrap();
        let platform = |name: &str, level, division: &str| Platform {
            name: name.into(),
            level,
            division: division.into(),
            policy: "public".into(),
            format: "disclosure.v1".into(),
            topic: Platform::topic_name("", level, division),
        };
        let routing = Routing::new(vec![
            platform("chiping-county", Level::County, "371523"),
            platform("donge-county", Level::County, "371524"),
            platform("liaocheng-city", Level::City, "371500"),
            platform("shandong-province", Level::Province, "370000"),
        ]);
        let public = Arc::new(Policy::builtin("public").unwrap());
        let policies = routing
            .platforms()
            .iter()
            .map(|p| (p.name.clone(), public.clone()))
            .collect();
        let ingestor = Ingestor {
            store: store.clone(),
            routing: Arc::new(routing),
            policies: Arc::new(policies),
            constraints: Arc::new(Default::default()),
            events: Arc::new(Telemetry::new()),
            handoff: OutboxHandoff::default(),
            handoff_order: Arc::default(),
            clocks: Default::default(),
            documents: None,
        };
        Hub {
            dir,
            store,
            ingestor: Arc::new(ingestor),
        }
    }

    async fn version(&self, key: &str) -> Option<i64> {
        self.store
            .latest(&format!("case-db:{key}"))
            .await
            .unwrap()
            .map(|row| row.version)
    }

    /// Waits until `key` is stored at `version`; panics after `timeout`.
    async fn wait_version(&self, key: &str, version: i64, timeout: Duration) {
        let start = Instant::now();
        loop {
            let have = self.version(key).await;
            if have == Some(version) {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{key}: wanted version {version}, have {have:?} after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn versions(&self, keys: &[&str]) -> Vec<Option<i64>> {
        let mut out = Vec::new();
        for key in keys {
            out.push(self.version(key).await);
        }
        out
    }
}

/// What the connector reported.
#[derive(Default)]
struct Events {
    retrying: Mutex<Vec<String>>,
    failed: Mutex<Vec<String>>,
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

/// A `sql` source running in a task against `hub`.
struct Running {
    task: JoinHandle<Result<(), dhub_connectors::ConnectorError>>,
    stop: watch::Sender<bool>,
    events: Arc<Events>,
}

impl Running {
    /// With polling every 100 ms and re-reads every 100 ms, and `keys` on top.
    async fn start(hub: &Hub, url: &str, keys: &str) -> Running {
        Running::start_with(
            hub,
            url,
            &format!("poll_interval_ms = 100\nresync_interval_ms = 100\n{keys}"),
        )
        .await
    }

    /// With only `keys` beyond the URL, table and cursor.
    async fn start_with(hub: &Hub, url: &str, keys: &str) -> Running {
        let text = format!(
            "name = \"case-db\"\nkind = \"sql\"\nmapping = \"{}\"\nurl = \"{url}\"\ntable = \"enforcement_cases\"\ncursor = [\"updated_at\", \"case_no\"]\n{keys}",
            repo().join("mappings/case-db.toml").display()
        );
        let config: SourceConfig = toml::from_str(&text).unwrap();
        assert_eq!(config.kind.check(hub.dir.path()), Vec::<String>::new());
        let hub_settings = dhub_connectors::HubSettings {
            kafka_brokers: dhub_testkit::test_brokers(),
            kafka_properties: Vec::new(),
        };
        let dhub_connectors::Built::Task(connector) =
            config.kind.build(hub.dir.path(), &hub_settings).unwrap()
        else {
            panic!("a sql source runs as a task");
        };
        let mapping = Arc::new(Mapping::load(&config.mapping).unwrap());
        let events = Arc::new(Events::default());
        let (stop, shutdown) = watch::channel(false);
        let context = SourceContext {
            name: "case-db".into(),
            mapping,
            sink: hub.ingestor.clone(),
            positions: hub.store.source_positions("case-db").await.unwrap(),
            base_dir: hub.dir.path().to_path_buf(),
            events: events.clone(),
            shutdown,
        };
        Running {
            task: tokio::spawn(connector.run(context)),
            stop,
            events,
        }
    }

    async fn stop(self) -> Arc<Events> {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the source stops promptly")
            .unwrap()
            .expect("the source ends without an error");
        self.events
    }
}

const FIRST: [&str; 10] = [
    "LCZF-2026-0031",
    "LCZF-2026-0034",
    "LCZF-2026-0040",
    "CPZF-2026-0112",
    "CPZF-2026-0118",
    "CPZF-2026-0121",
    "CPZF-2026-0125",
    "DEZF-2026-0077",
    "DEZF-2026-0081",
    "DEZF-2026-0085",
];

/// `CPZF-2026-0121` carries a resident ID with a wrong check digit: validation holds it.
const INVALID: &str = "CPZF-2026-0121";

/// The sample rows that are stored.
fn stored_keys() -> impl Iterator<Item = &'static str> {
    FIRST.into_iter().filter(|key| *key != INVALID)
}

const WAIT: Duration = Duration::from_secs(30);

/// First load, the revocations of `second.sql` (retracted on every platform that was sent the
/// record), changes while stopped, and a restart from the stored position: every change stored
/// once, nothing stored twice.
async fn load_change_restart(kind: Kind) {
    let dept = Dept::new(kind).await;
    let hub = Hub::new().await;
    let keys = "overlap_ms = 300\n";
    let running = Running::start(&hub, &dept.url(), keys).await;
    for key in stored_keys() {
        hub.wait_version(key, 1, WAIT).await;
    }
    let record = hub.store.latest("case-db:LCZF-2026-0031").await.unwrap();
    assert_eq!(record.unwrap().status, "in_force");
    // Bad data is held with a reason, under the row's name.
    let held = hub.store.quarantine_list(false).await.unwrap();
    let invalid = held
        .iter()
        .find(|entry| entry.origin == format!("enforcement_cases[{INVALID}]"))
        .expect("the invalid row is held");
    assert_eq!(invalid.stage, QuarantineStage::Validation);
    assert!(
        invalid.reason.contains("counterparty.id_number"),
        "{}",
        invalid.reason
    );

    dept.exec(
        &std::fs::read_to_string(repo().join("mappings/samples/case-db/second.sql")).unwrap(),
    )
    .await;
    hub.wait_version("LCZF-2026-0031", 2, WAIT).await;
    hub.wait_version("DEZF-2026-0077", 2, WAIT).await;
    for (key, platforms) in [
        // 聊城市 (371500): the city and the province were sent it.
        (
            "LCZF-2026-0031",
            ["liaocheng-city", "shandong-province"].as_slice(),
        ),
        // 东阿县 (371524): the county, the city and the province.
        (
            "DEZF-2026-0077",
            ["donge-county", "liaocheng-city", "shandong-province"].as_slice(),
        ),
    ] {
        let history = hub.store.history(&format!("case-db:{key}")).await.unwrap();
        assert_eq!(history.latest.as_ref().unwrap().status, "revoked");
        // No relay runs here: every queued entry is still in the queue.
        let mut retracted: Vec<&str> = history
            .queued
            .iter()
            .filter(|entry| entry.op == OutboxOp::Retract && entry.version == 2)
            .flat_map(|entry| entry.platforms.iter().map(String::as_str))
            .collect();
        retracted.sort();
        let mut wanted = platforms.to_vec();
        wanted.sort();
        assert_eq!(retracted, wanted, "{key} is retracted where it was sent");
    }
    // Let the safe position pass the revocations before stopping.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let events = running.stop().await;
    assert!(events.failed.lock().unwrap().is_empty());

    // While the source is stopped: a new case, and a change of an old one.
    let insert = std::fs::read_to_string(repo().join("mappings/samples/case-db/first.sql"))
        .unwrap()
        .lines()
        .skip_while(|line| !line.starts_with("INSERT"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        .replace("LCZF-2026-0031", "LCZF-2026-0099")
        .replace("'2026-09-08 16:20:00'", "'2026-11-20 08:00:00'");
    dept.exec(&insert).await;
    dept.exec("UPDATE enforcement_cases SET remarks = '已复核', updated_at = '2026-11-21 09:00:00' WHERE case_no = 'CPZF-2026-0125'").await;
    let running = Running::start(&hub, &dept.url(), keys).await;
    hub.wait_version("LCZF-2026-0099", 1, WAIT).await;
    hub.wait_version("CPZF-2026-0125", 2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.stop().await;
    // The rows read again after the restart were recognised as unchanged: no third versions.
    let versions = hub.versions(&FIRST).await;
    let expected: Vec<Option<i64>> = FIRST
        .iter()
        .map(|key| match *key {
            "LCZF-2026-0031" | "DEZF-2026-0077" | "CPZF-2026-0125" => Some(2),
            INVALID => None,
            _ => Some(1),
        })
        .collect();
    assert_eq!(versions, expected);
    dept.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_first_load_changes_retraction_and_restart() {
    load_change_restart(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_first_load_changes_retraction_and_restart() {
    load_change_restart(Kind::MariaDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_first_load_changes_retraction_and_restart() {
    load_change_restart(Kind::Sqlite).await;
}

/// Two writers: transaction A takes `updated_at` from the database's clock and waits; B changes
/// another row later, commits, and the source reads it; then A commits, with the older value.
/// Returns whether A's change was stored within `wait`.
async fn out_of_order_commit(kind: Kind, overlap_ms: u64, wait: Duration) -> bool {
    let dept = Dept::new(kind).await;
    let hub = Hub::new().await;
    let running = Running::start(&hub, &dept.url(), &format!("overlap_ms = {overlap_ms}\n")).await;
    for key in stored_keys() {
        hub.wait_version(key, 1, WAIT).await;
    }
    let now = dept.now();
    let late = dept
        .open(&format!("UPDATE enforcement_cases SET remarks = 'late', updated_at = {now} WHERE case_no = 'CPZF-2026-0112'"))
        .await;
    // MariaDB's TIMESTAMP keeps whole seconds: B's value is then later, or equal with a larger
    // case_no; either way A's row sorts before B's.
    tokio::time::sleep(Duration::from_millis(50)).await;
    dept.exec(&format!("UPDATE enforcement_cases SET remarks = 'newer', updated_at = {now} WHERE case_no = 'DEZF-2026-0085'"))
        .await;
    hub.wait_version("DEZF-2026-0085", 2, WAIT).await;
    late.commit().await;
    let start = Instant::now();
    let mut found = false;
    while start.elapsed() < wait {
        if hub.version("CPZF-2026-0112").await == Some(2) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    running.stop().await;
    assert_eq!(hub.version("DEZF-2026-0085").await, Some(2), "B once");
    dept.finish().await;
    found
}

/// The late row is stored at the next re-read after its commit (every 100 ms here), long before
/// the 20 s overlap has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_row_committed_after_a_newer_one_was_read_is_stored() {
    assert!(out_of_order_commit(Kind::Postgres, 20_000, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_the_overlap_the_late_row_is_missed() {
    // The control: several polls and what would have been re-reads pass, and A stays unread.
    assert!(!out_of_order_commit(Kind::Postgres, 0, Duration::from_secs(3)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_a_row_committed_after_a_newer_one_was_read_is_stored() {
    assert!(out_of_order_commit(Kind::MariaDb, 20_000, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_without_the_overlap_the_late_row_is_missed() {
    assert!(!out_of_order_commit(Kind::MariaDb, 0, Duration::from_secs(3)).await);
}

/// A NOTIFY wakes the source at once: with polling every minute, a change is stored in well under
/// that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notify_wakes_the_source() {
    let dept = Dept::new(Kind::Postgres).await;
    let trigger =
        std::fs::read_to_string(repo().join("connectors/src/sql/notify_trigger.sql")).unwrap();
    // The function body holds `;` inside dollar quotes: one simple-protocol batch.
    if let Dept::Postgres(_, pool) = &dept {
        sqlx::raw_sql(&trigger).execute(pool).await.unwrap();
    }
    let hub = Hub::new().await;
    let running = Running::start_with(
        &hub,
        &dept.url(),
        "notify = \"dhub_cases\"\npoll_interval_ms = 60000\nresync_interval_ms = 60000\n",
    )
    .await;
    for key in stored_keys() {
        hub.wait_version(key, 1, WAIT).await;
    }
    // The listener is connected once it woke the source; give it a moment beyond the first load.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let changed = Instant::now();
    dept.exec("UPDATE enforcement_cases SET remarks = 'notified', updated_at = now() WHERE case_no = 'CPZF-2026-0118'")
        .await;
    hub.wait_version("CPZF-2026-0118", 2, Duration::from_secs(10))
        .await;
    assert!(
        changed.elapsed() < Duration::from_secs(10),
        "woken by the notification, not the minute's poll"
    );
    running.stop().await;
    dept.finish().await;
}

/// The LISTEN connection is cut (an administrator, a network blip): the source reconnects, reads
/// at once (a notification sent meanwhile is gone), and the next NOTIFY wakes it again; the minute's
/// poll never comes into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_dropped_listener_connects_again() {
    let dept = Dept::new(Kind::Postgres).await;
    let Dept::Postgres(db, pool) = &dept else {
        unreachable!()
    };
    let trigger =
        std::fs::read_to_string(repo().join("connectors/src/sql/notify_trigger.sql")).unwrap();
    sqlx::raw_sql(&trigger).execute(pool).await.unwrap();
    let hub = Hub::new().await;
    let running = Running::start_with(
        &hub,
        &dept.url(),
        "notify = \"dhub_cases\"\npoll_interval_ms = 60000\nresync_interval_ms = 60000\n",
    )
    .await;
    for key in stored_keys() {
        hub.wait_version(key, 1, WAIT).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'dhub-listen'",
    )
    .bind(db.name())
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(cut, [(true,)], "one LISTEN connection, cut");
    // Changed while the listener may still be away: read when it is back, at the latest.
    dept.exec("UPDATE enforcement_cases SET remarks = 'during', updated_at = now() WHERE case_no = 'CPZF-2026-0112'")
        .await;
    hub.wait_version("CPZF-2026-0112", 2, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    dept.exec("UPDATE enforcement_cases SET remarks = 'after', updated_at = now() WHERE case_no = 'CPZF-2026-0118'")
        .await;
    hub.wait_version("CPZF-2026-0118", 2, Duration::from_secs(15))
        .await;
    let events = running.stop().await;
    let retrying = events.retrying.lock().unwrap().clone();
    assert!(
        retrying.iter().any(|r| r.contains("LISTEN connection")),
        "the cut is reported: {retrying:?}"
    );
    dept.finish().await;
}

/// Cells the drivers cannot read as what their type says, and codes the mapping does not know:
/// each row goes to quarantine under its name (`enforcement_cases[KEY]`) with the reason, and the
/// other rows are stored.
async fn malformed_rows_are_held(kind: Kind, bad_cell: &str, reason: &str) {
    let dept = Dept::new(kind).await;
    dept.exec(&format!(
        "{bad_cell}; UPDATE enforcement_cases SET status = '作废' WHERE case_no = 'LCZF-2026-0034'"
    ))
    .await;
    let hub = Hub::new().await;
    let running = Running::start(&hub, &dept.url(), "").await;
    let bad = ["CPZF-2026-0118", "LCZF-2026-0034"];
    for key in stored_keys().filter(|k| !bad.contains(k)) {
        hub.wait_version(key, 1, WAIT).await;
    }
    let start = Instant::now();
    let held = loop {
        let held = hub.store.quarantine_list(false).await.unwrap();
        if held.len() >= 3 || start.elapsed() > WAIT {
            break held;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    running.stop().await;
    let cell = held
        .iter()
        .find(|entry| entry.origin == "enforcement_cases[CPZF-2026-0118]")
        .expect("the row with the bad cell is held");
    assert_eq!(cell.stage, QuarantineStage::Mapping);
    assert_eq!(cell.record_id.as_deref(), Some("case-db:CPZF-2026-0118"));
    assert!(cell.reason.starts_with(reason), "{}", cell.reason);
    if kind == Kind::Postgres {
        assert!(cell.payload.contains("\"unreadable\""), "{}", cell.payload);
    }
    let code = held
        .iter()
        .find(|entry| entry.origin == "enforcement_cases[LCZF-2026-0034]")
        .expect("the unknown status is held");
    assert!(code.reason.starts_with("status:"), "{}", code.reason);
    for key in bad {
        assert_eq!(hub.version(key).await, None);
    }
    dept.finish().await;
}

/// MariaDB stores the zero date `0000-00-00` (its default mode lacks NO_ZERO_DATE); it reaches
/// the source as no date at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_a_zero_date_and_an_unknown_code_are_quarantined() {
    malformed_rows_are_held(
        Kind::MariaDb,
        "UPDATE enforcement_cases SET decided_on = '0000-00-00' WHERE case_no = 'CPZF-2026-0118'",
        "decided_on: required, but `decided_on` has no value",
    )
    .await;
}

/// Postgres takes `NaN` in a NUMERIC column; it is no amount. The raw row kept for a replay marks
/// the cell, so a replay refuses it instead of mapping the row without its fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_unreadable_cell_and_an_unknown_code_are_quarantined() {
    malformed_rows_are_held(
        Kind::Postgres,
        "UPDATE enforcement_cases SET fine_yuan = 'NaN' WHERE case_no = 'CPZF-2026-0118'",
        "enforcement_cases[CPZF-2026-0118]: column `fine_yuan`: its NUMERIC value cannot be read",
    )
    .await;
}

/// A database that does not answer is waited for: `retrying` is reported, the source does not
/// stop, and it ends cleanly when the hub stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_is_retried() {
    let hub = Hub::new().await;
    let running = Running::start(
        &hub,
        "postgres://postgres:s3cret@127.0.0.1:1/cases",
        "connect_timeout_ms = 200\n",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!running.task.is_finished(), "waits, does not give up");
    let events = running.stop().await;
    let retrying = events.retrying.lock().unwrap();
    assert!(retrying.len() >= 2, "{retrying:?}");
    assert!(
        retrying[0].starts_with(
            "cannot read enforcement_cases at postgres://postgres:***@127.0.0.1:1/cases:"
        ),
        "{}",
        retrying[0]
    );
    assert!(retrying.iter().all(|r| !r.contains("s3cret")));
}

// --- the real binary, killed while it stores ---

/// One generated case row: agencies and divisions cycle through the city and the two counties.
fn case_row(n: usize) -> (String, String, String) {
    let (org, uscc, division) = [
        ("聊城市综合行政执法局", "11371500MB28561014", "371500"),
        ("茌平县综合行政执法局", "11371523MB1966245Q", "371523"),
        ("东阿县综合行政执法局", "11371524MB19731894", "371524"),
    ][n % 3];
    let key = format!("GEN-{n:05}");
    let sql = format!(
        "INSERT INTO enforcement_cases (case_no, case_type, proc_type, status, org_name, org_uscc, org_division, doc_no, party_kind, party_name, party_uscc, violation, facts, basis, penalty_kinds, content, fine_yuan, decided_on, publicity_until, major, secrecy, updated_at) VALUES ('{key}', 'CF', 'PT', '有效', '{org}', '{uscc}', '{division}', '综执罚〔2026〕{n}号', 'ORG', '茌平县信发物流有限公司', '91371523MA3BQ5T45C', '运输渣土车辆未密闭', '当事人所属渣土运输车辆运输建筑垃圾时未采取密闭措施。', '《城市建筑垃圾管理规定》第二十三条', '罚款', '罚款人民币五千元', 5000.00, '2026-10-15', '2027-10-15', 0, '公开', '2026-11-{day:02} {hour:02}:{minute:02}:{second:02}')",
        day = 1 + n / 3600 % 20,
        hour = n / 60 % 60 % 24,
        minute = n % 60,
        second = n % 7,
    );
    (key, division.to_string(), sql)
}

/// The hub as a child process; killed when dropped.
struct HubProcess(Option<Child>);

impl HubProcess {
    fn start(config: &std::path::Path) -> HubProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_dhub"))
            .args(["run", "--config"])
            .arg(config)
            .env("DHUB_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dhub run");
        HubProcess(Some(child))
    }

    fn kill_hard(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap()
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_storing_rows_loses_and_repeats_nothing() {
    const ROWS: usize = 3000;
    let dept = Dept::new(Kind::Sqlite).await;
    dept.exec("DELETE FROM enforcement_cases").await;
    let mut expected: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        DEMO_PLATFORMS
            .iter()
            .map(|p| (p.topic(), Default::default()))
            .collect();
    let mut inserts = String::from("BEGIN;\n");
    for n in 0..ROWS {
        let (key, division, sql) = case_row(n);
        inserts.push_str(&sql);
        inserts.push_str(";\n");
        for platform in DEMO_PLATFORMS.iter().filter(|p| p.contains(&division)) {
            expected
                .get_mut(&platform.topic())
                .unwrap()
                .insert(format!("case-db:{key}"));
        }
    }
    inserts.push_str("COMMIT;\n");
    if let Dept::Sqlite(_, pool) = &dept {
        sqlx::raw_sql(&inserts).execute(pool).await.unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("{}.", dhub_testkit::unique_name("sql"));
    let mut text = format!(
        "[hub]\nstate = \"sqlite://{}\"\nlisten = \"127.0.0.1:{}\"\ndrain_timeout_ms = 20000\n\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{prefix}\"\npartitions = 2\n",
        dir.path().join("state.db").display(),
        common::free_port(),
        dhub_testkit::test_brokers()
    );
    for platform in DEMO_PLATFORMS {
        text.push_str(&format!(
            "\n[[platform]]\nname = \"{level}-{division}\"\nlevel = \"{level}\"\ndivision = \"{division}\"\npolicy = \"public\"\n",
            level = platform.level.as_str(),
            division = platform.division
        ));
    }
    text.push_str(&format!(
        "\n[[source]]\nname = \"case-db\"\nkind = \"sql\"\nmapping = \"{}\"\nurl = \"{}\"\ntable = \"enforcement_cases\"\ncursor = [\"updated_at\", \"case_no\"]\npoll_interval_ms = 200\nbatch_rows = 50\noverlap_ms = 1000\nresync_interval_ms = 300\n",
        repo().join("mappings/case-db.toml").display(),
        dept.url()
    ));
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, text).unwrap();
    let platforms = common::Platforms::start(&prefix).await;

    let state = format!("sqlite://{}", dir.path().join("state.db").display());
    let stored = || async {
        let Ok(pool) = SqlitePool::connect(&state).await else {
            return 0;
        };
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records")
            .fetch_one(&pool)
            .await
            .unwrap_or(0);
        pool.close().await;
        count as usize
    };
    let mut hub = HubProcess::start(&config);
    let start = Instant::now();
    let mut at_kill = 0;
    while start.elapsed() < Duration::from_secs(60) {
        at_kill = stored().await;
        if at_kill >= ROWS / 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hub.kill_hard();
    eprintln!("killed with {at_kill} of {ROWS} rows stored");
    assert!(
        at_kill > 0 && at_kill < ROWS,
        "killed while storing: {at_kill} of {ROWS} rows stored"
    );
    let mut hub = HubProcess::start(&config);
    platforms
        .wait_for(&expected, Duration::from_secs(180))
        .await;
    for (topic, view) in &platforms.views {
        for record_id in &expected[topic] {
            let held = view.held(record_id).await.unwrap().expect("held");
            assert_eq!(held.version, 1, "{record_id} on {topic}: stored once");
        }
    }
    assert!(hub.terminate().success(), "dhub run exits 0 after SIGTERM");
    let store = Store::connect(&state).await.unwrap();
    assert_eq!(stored().await, ROWS);
    assert_eq!(store.pending_count().await.unwrap(), 0);
    assert!(matches!(
        store.audit_verify().await.unwrap(),
        dhub_store::AuditCheck::Intact { .. }
    ));
    platforms.stop().await;
    dept.finish().await;
}
