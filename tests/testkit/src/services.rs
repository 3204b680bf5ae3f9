//! The real services integration tests run against: a Kafka broker, a Postgres server and a
//! MariaDB server (department databases of the `sql` source).
//!
//! Addresses come from the environment so CI can point elsewhere; the defaults are the local
//! development setup (broker on 127.0.0.1:9092, Postgres on 127.0.0.1:5432 with trust auth, MariaDB
//! on 127.0.0.1:3306 as root without a password).
//! Every test gets its own names (topics, consumer groups) and its own database, so tests can run
//! in parallel and leave nothing behind that another run could trip over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use sqlx::{Connection, Executor, MySqlConnection, PgConnection};

use dhub_support::redact_url;

use crate::rng::SplitMix64;

pub const DEFAULT_BROKERS: &str = "127.0.0.1:9092";
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/mysql";

/// Log lines of the code under test (connectors, platform subscribers, librdkafka through `log`)
/// when `DHUB_TEST_LOG` asks for them (`DHUB_TEST_LOG=info`, `warn,dhub_platform=debug`); shown with
/// `--nocapture`. Safe to call from every test: the first call installs the subscriber.
pub fn test_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("DHUB_TEST_LOG"))
        .with_test_writer()
        .try_init();
}

/// The Kafka bootstrap servers for tests: `DHUB_TEST_BROKERS`, else `127.0.0.1:9092`.
pub fn test_brokers() -> String {
    env_or("DHUB_TEST_BROKERS", DEFAULT_BROKERS)
}

/// The URL of a Postgres database the tests may create databases from: `DHUB_TEST_POSTGRES`,
/// else `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn test_postgres_url() -> String {
    env_or("DHUB_TEST_POSTGRES", DEFAULT_POSTGRES_URL)
}

/// The URL of a MariaDB (or MySQL) database the tests may create databases from:
/// `DHUB_TEST_MARIADB`, else `mysql://root@127.0.0.1:3306/mysql`.
pub fn test_mariadb_url() -> String {
    env_or("DHUB_TEST_MARIADB", DEFAULT_MARIADB_URL)
}

fn env_or(name: &str, default: &str) -> String {
    value_or(std::env::var(name).ok(), default)
}

/// An unset or blank variable means the default (CI files often export `VAR=`).
fn value_or(value: Option<String>, default: &str) -> String {
    match value {
        Some(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => default.to_owned(),
    }
}

/// A name no other test, run or process is using: `<prefix>-<16 hex digits>`. Only characters
/// Kafka topic and group names allow (`[a-zA-Z0-9._-]`) are added to the prefix.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", unique_u64())
}

/// Time, process id and a counter, mixed: distinct within a process by the counter, across
/// processes by the pid and the clock.
fn unique_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed =
        nanos ^ (u64::from(std::process::id()) << 40) ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    SplitMix64::new(mixed).next_u64()
}

/// A throwaway Postgres or MariaDB database. Drop it with [`TestDb::drop`] at the end of a test; if
/// a test panics first, `Drop` removes it on a helper thread (best effort).
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
    server: Server,
    dropped: bool,
}

/// The kind of server a [`TestDb`] lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Postgres,
    MariaDb,
}

/// Creates `dhub_test_<random>` on the server of [`test_postgres_url`] and returns it.
pub async fn fresh_postgres_db() -> anyhow::Result<TestDb> {
    fresh_postgres_db_on(&test_postgres_url()).await
}

/// Like [`fresh_postgres_db`], on the server of `admin_url` (a database the user may connect to,
/// with the right to create databases).
pub async fn fresh_postgres_db_on(admin_url: &str) -> anyhow::Result<TestDb> {
    let name = format!("dhub_test_{:016x}", unique_u64());
    let url = with_database(admin_url, &name)?;
    let mut conn = PgConnection::connect(admin_url).await.with_context(|| {
        format!(
            "cannot connect to postgres at {} (set DHUB_TEST_POSTGRES)",
            redact_url(admin_url)
        )
    })?;
    // The name is ours (letters, digits, underscore), so quoting it is enough; identifiers cannot be bound.
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .with_context(|| format!("cannot create database {name}; does the user have CREATEDB?"))?;
    conn.close().await.ok();
    Ok(TestDb {
        name,
        url,
        admin_url: admin_url.to_owned(),
        server: Server::Postgres,
        dropped: false,
    })
}

/// Creates `dhub_test_<random>` (utf8mb4) on the MariaDB server of [`test_mariadb_url`] and
/// returns it.
pub async fn fresh_mariadb_db() -> anyhow::Result<TestDb> {
    fresh_mariadb_db_on(&test_mariadb_url()).await
}

/// Like [`fresh_mariadb_db`], on the server of `admin_url` (a user with the right to create
/// databases).
pub async fn fresh_mariadb_db_on(admin_url: &str) -> anyhow::Result<TestDb> {
    let name = format!("dhub_test_{:016x}", unique_u64());
    let url = with_database(admin_url, &name)?;
    let mut conn = MySqlConnection::connect(admin_url).await.with_context(|| {
        format!(
            "cannot connect to mariadb at {} (set DHUB_TEST_MARIADB)",
            redact_url(admin_url)
        )
    })?;
    conn.execute(
        format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            .as_str(),
    )
    .await
    .with_context(|| format!("cannot create database {name}; may the user create databases?"))?;
    conn.close().await.ok();
    Ok(TestDb {
        name,
        url,
        admin_url: admin_url.to_owned(),
        server: Server::MariaDb,
        dropped: false,
    })
}

impl TestDb {
    /// The database's own URL, for the code under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, closing any connections still open to it.
    pub async fn drop(mut self) -> anyhow::Result<()> {
        self.dropped = true;
        drop_database(self.server, &self.admin_url, &self.name).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // `Drop` cannot await, and blocking inside the test's runtime could deadlock it: run a
        // private runtime on its own thread and wait for it.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let server = self.server;
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                if let Err(err) = runtime.block_on(drop_database(server, &admin_url, &name)) {
                    eprintln!("dhub-testkit: could not drop test database {name}: {err:#}");
                }
            }
        });
        let _ = worker.join();
    }
}

async fn drop_database(server: Server, admin_url: &str, name: &str) -> anyhow::Result<()> {
    if server == Server::MariaDb {
        return drop_mariadb_database(admin_url, name).await;
    }
    let mut conn = PgConnection::connect(admin_url).await.with_context(|| {
        format!(
            "cannot connect to postgres at {} to drop {name}",
            redact_url(admin_url)
        )
    })?;
    // WITH (FORCE) (Postgres 13+) ends the pools the test left open instead of failing on them.
    conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
        .await
        .with_context(|| format!("cannot drop database {name}"))?;
    conn.close().await.ok();
    Ok(())
}

async fn drop_mariadb_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = MySqlConnection::connect(admin_url).await.with_context(|| {
        format!(
            "cannot connect to mariadb at {} to drop {name}",
            redact_url(admin_url)
        )
    })?;
    // MariaDB has no DROP … FORCE: end the connections a test left open first, or the drop waits
    // for their metadata locks.
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    )
    .bind(name)
    .fetch_all(&mut conn)
    .await
    .with_context(|| format!("cannot list the connections to {name}"))?;
    for (id,) in ids {
        // Gone already is fine.
        let _ = conn.execute(format!("KILL {id}").as_str()).await;
    }
    conn.execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
        .await
        .with_context(|| format!("cannot drop database {name}"))?;
    conn.close().await.ok();
    Ok(())
}

/// `url` with its database path replaced by `database`, keeping user, host, port and query.
pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let Some(scheme_end) = url.find("://") else {
        bail!(
            "postgres url {} has no scheme; write it as postgres://user@host:port/db",
            redact_url(url)
        );
    };
    let (base, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let authority_start = scheme_end + 3;
    let path_start = base[authority_start..]
        .find('/')
        .map(|p| authority_start + p)
        .unwrap_or(base.len());
    Ok(format!("{}/{database}{query}", &base[..path_start]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        assert_eq!(value_or(None, DEFAULT_BROKERS), "127.0.0.1:9092");
        assert_eq!(
            value_or(Some("  ".to_owned()), DEFAULT_BROKERS),
            "127.0.0.1:9092"
        );
        assert_eq!(
            value_or(Some(" kafka:9093 ".to_owned()), DEFAULT_BROKERS),
            "kafka:9093"
        );
    }

    #[test]
    fn environment_overrides_the_defaults() {
        // Set only here: no other test of this crate reads these variables.
        std::env::set_var("DHUB_TEST_BROKERS", "broker-a:9092,broker-b:9092");
        assert_eq!(test_brokers(), "broker-a:9092,broker-b:9092");
        std::env::remove_var("DHUB_TEST_BROKERS");
        assert_eq!(test_brokers(), DEFAULT_BROKERS);
        assert_eq!(
            env_or("DHUB_TESTKIT_SURELY_UNSET", DEFAULT_POSTGRES_URL),
            DEFAULT_POSTGRES_URL
        );
    }

    #[test]
    fn unique_names_are_unique_and_topic_safe() {
        let names: HashSet<String> = (0..10_000).map(|_| unique_name("dhub.test")).collect();
        assert_eq!(names.len(), 10_000);
        for name in names.iter().take(50) {
            assert!(name.starts_with("dhub.test-"));
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)),
                "{name}"
            );
        }
    }

    #[test]
    fn with_database_replaces_only_the_path() {
        let swap = |url: &str| with_database(url, "x").unwrap_or_default();
        assert_eq!(
            swap("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            swap("postgres://u:p@h/db?sslmode=disable"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(swap("postgres://h:5432"), "postgres://h:5432/x");
        assert_eq!(
            swap("postgres://h?application_name=t"),
            "postgres://h/x?application_name=t"
        );
        assert!(with_database("127.0.0.1:5432/db", "x").is_err());
    }

    #[test]
    fn redacted_urls_hide_the_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        let err = with_database("nohost", "x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("postgres://user@host"), "{err}");
    }

    async fn database_exists(name: &str) -> anyhow::Result<bool> {
        let mut conn = PgConnection::connect(&test_postgres_url()).await?;
        let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await?;
        conn.close().await.ok();
        Ok(found.is_some())
    }

    #[tokio::test]
    async fn fresh_database_is_usable_and_dropped_explicitly() -> anyhow::Result<()> {
        let db = fresh_postgres_db().await?;
        assert!(db.name().starts_with("dhub_test_"));
        assert!(db.url().ends_with(db.name()));
        let mut conn = PgConnection::connect(db.url()).await?;
        let (current,): (String,) = sqlx::query_as("SELECT current_database()")
            .fetch_one(&mut conn)
            .await?;
        assert_eq!(current, db.name());
        conn.execute("CREATE TABLE t (id int)").await?;
        // Left open on purpose: dropping must not be blocked by a test's leftover connection.
        let name = db.name().to_owned();
        assert!(database_exists(&name).await?);
        db.drop().await?;
        assert!(!database_exists(&name).await?);
        drop(conn);
        Ok(())
    }

    #[tokio::test]
    async fn fresh_database_is_dropped_when_the_handle_is_dropped() -> anyhow::Result<()> {
        let db = fresh_postgres_db().await?;
        let name = db.name().to_owned();
        assert!(database_exists(&name).await?);
        drop(db);
        assert!(!database_exists(&name).await?);
        Ok(())
    }

    #[tokio::test]
    async fn two_fresh_databases_differ() -> anyhow::Result<()> {
        let a = fresh_postgres_db().await?;
        let b = fresh_postgres_db().await?;
        assert_ne!(a.name(), b.name());
        a.drop().await?;
        b.drop().await?;
        Ok(())
    }

    async fn mariadb_database_exists(name: &str) -> anyhow::Result<bool> {
        let mut conn = MySqlConnection::connect(&test_mariadb_url()).await?;
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
        conn.close().await.ok();
        Ok(found.is_some())
    }

    #[tokio::test]
    async fn fresh_mariadb_database_is_usable_and_dropped_even_with_a_connection_open(
    ) -> anyhow::Result<()> {
        let db = fresh_mariadb_db().await?;
        assert!(db.name().starts_with("dhub_test_"));
        let mut conn = MySqlConnection::connect(db.url()).await?;
        let (current,): (String,) = sqlx::query_as("SELECT DATABASE()")
            .fetch_one(&mut conn)
            .await?;
        assert_eq!(current, db.name());
        conn.execute("CREATE TABLE t (id INT, name VARCHAR(10)); INSERT INTO t VALUES (1, '茌平')")
            .await?;
        let (name,): (String,) = sqlx::query_as("SELECT name FROM t")
            .fetch_one(&mut conn)
            .await?;
        assert_eq!(name, "茌平", "utf8mb4 round trip");
        let dropped = db.name().to_owned();
        assert!(mariadb_database_exists(&dropped).await?);
        db.drop().await?;
        assert!(!mariadb_database_exists(&dropped).await?);
        drop(conn);
        let other = fresh_mariadb_db().await?;
        let name = other.name().to_owned();
        drop(other);
        assert!(
            !mariadb_database_exists(&name).await?,
            "Drop removes it too"
        );
        Ok(())
    }

    #[tokio::test]
    async fn unreachable_server_is_a_clear_error() {
        let err = fresh_postgres_db_on("postgres://postgres:pw@127.0.0.1:1/postgres")
            .await
            .err();
        let message = err.map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(
            message.contains("cannot connect to postgres")
                && message.contains("DHUB_TEST_POSTGRES"),
            "{message}"
        );
        assert!(!message.contains(":pw@"), "{message}");
    }
}
