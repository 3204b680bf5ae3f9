#![allow(dead_code)]
//! Runs one test body against both backends: a fresh SQLite file in a temp directory, and a
//! fresh Postgres database created for the test and dropped after it, also when it fails.
//!
//! Postgres is found at `DHUB_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); the role must be allowed to create
//! databases. `DHUB_TEST_POSTGRES=off` runs the SQLite half only (for machines without a
//! server; CI must not set it).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dhub_store::Store;
use sqlx::{AnyConnection, Connection, Executor};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh store and the URL it was opened with (for a second connection, or raw SQL).
pub struct TestDb {
    pub store: Store,
    pub url: String,
}

impl TestDb {
    /// A plain sqlx connection to the same database, for tampering behind the store's back.
    pub async fn raw(&self) -> AnyConnection {
        sqlx::any::install_default_drivers();
        AnyConnection::connect(&self.url)
            .await
            .expect("raw connection to the test database")
    }
}

/// Says in the test output that something was not tested. Written to stderr directly: the test
/// harness captures `eprintln!` of a passing test and shows nothing, which made an `off` switch a
/// silent pass.
pub fn skipped(what: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what}");
}

/// Runs `test` on SQLite, then on Postgres. A failure names the backend it happened on.
pub async fn on_both_backends<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory that does not exist yet: connect must create it.
    let url = format!("sqlite://{}/nested/state.db", dir.path().display());
    run_on("sqlite", url, &test).await;

    let admin_url =
        std::env::var("DHUB_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
    if admin_url == "off" {
        skipped("the Postgres half of this test (DHUB_TEST_POSTGRES=off)");
        return;
    }
    let scratch = PgScratch::create(&admin_url).await;
    let outcome = run_catching(scratch.url.clone(), &test).await;
    scratch.drop_database().await;
    if let Err(panic) = outcome {
        eprintln!("test failed on postgres");
        std::panic::resume_unwind(panic);
    }
}

async fn run_on<F, Fut>(backend: &str, url: String, test: &F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Err(panic) = run_catching(url, test).await {
        eprintln!("test failed on {backend}");
        std::panic::resume_unwind(panic);
    }
}

/// Runs the body as its own task, so a panic comes back as a value and clean-up still runs.
async fn run_catching<F, Fut>(url: String, test: &F) -> Result<(), Box<dyn std::any::Any + Send>>
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let body = test(TestDb {
        store: store.clone(),
        url,
    });
    let outcome = tokio::spawn(body).await;
    store.close().await;
    outcome.map_err(|join_error| match join_error.try_into_panic() {
        Ok(panic) => panic,
        Err(other) => Box::new(format!("test task did not finish: {other}")),
    })
}

/// A database of its own for one test.
pub struct PgScratch {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgScratch {
    pub async fn create(admin_url: &str) -> PgScratch {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "dhub_test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::any::install_default_drivers();
        let mut admin = AnyConnection::connect(admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach Postgres at DHUB_TEST_POSTGRES ({admin_url}): {e}; \
                 start one, or set DHUB_TEST_POSTGRES=off to test SQLite only"
            )
        });
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let _ = admin.close().await;
        PgScratch {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    pub async fn drop_database(self) {
        let Ok(mut admin) = AnyConnection::connect(&self.admin_url).await else {
            eprintln!("could not reconnect to drop database {}", self.name);
            return;
        };
        // FORCE: a connection the test leaked must not keep the database alive.
        if let Err(e) = admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
        {
            eprintln!("could not drop database {}: {e}", self.name);
        }
        let _ = admin.close().await;
    }
}

/// `postgres://u@h:5432/postgres?x=y` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}
