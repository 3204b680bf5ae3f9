//! Opening the store: URL → backend, SQLite file preparation, pool settings, migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor};

use dhub_support::redact_url;

use crate::error::StoreError;
use crate::model::Backend;

/// The schema, one folder per dialect (same tables and meanings; only types differ).
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Set on every SQLite connection.
/// - WAL: readers (dashboard, `dhub trace`) never block the writer, nor it them.
/// - synchronous=FULL: a commit is on disk when it returns, so a source file may be moved to
///   done/ right after its records are committed; WAL's default NORMAL could lose the last
///   commits on power loss.
/// - busy_timeout: writers queue behind each other (BEGIN IMMEDIATE) for up to 30 s rather
///   than fail at once with SQLITE_BUSY.
/// - wal_autocheckpoint: checkpoint every 8,000 pages (32 MB) instead of 1,000: one export file of
///   1,000 cases writes about 6 MB, and a checkpoint per transaction cost throughput.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 30000; PRAGMA wal_autocheckpoint = 8000;";

/// SQLite has one writer at a time, so more connections only help concurrent readers.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// A few: the hub's writers are the ingest loop and the relay, plus readers for the dashboard.
const POSTGRES_MAX_CONNECTIONS: u32 = 6;

/// A URL made ready for sqlx, with what the store needs to know about it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) backend: Backend,
    /// The URL sqlx connects to.
    pub(crate) driver_url: String,
    /// The SQLite file (absolute), whose directory must exist.
    pub(crate) sqlite_file: Option<PathBuf>,
}

/// Reads `hub.state`. A relative SQLite path is taken against `cwd` (the hub passes absolute
/// paths, resolved against the config file; the CLI may not).
pub(crate) fn parse_url(url: &str, cwd: &Path) -> Result<Target, StoreError> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let (path, params) = match rest.split_once('?') {
            Some((path, params)) => (path, Some(params)),
            None => (rest, None),
        };
        let in_memory = path.is_empty()
            || path == ":memory:"
            || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory"));
        if in_memory {
            return Err(StoreError::InMemorySqlite);
        }
        let file = cwd.join(path);
        let Some(file_text) = file.to_str() else {
            return Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            });
        };
        // The path is taken literally; sqlx percent-decodes, so escape what it would decode
        // or what would end the path.
        let mut driver_url = String::from("sqlite://");
        for ch in file_text.chars() {
            match ch {
                '%' => driver_url.push_str("%25"),
                '?' => driver_url.push_str("%3F"),
                '#' => driver_url.push_str("%23"),
                ' ' => driver_url.push_str("%20"),
                other => driver_url.push(other),
            }
        }
        let params = params.unwrap_or_default();
        let has_mode = params.split('&').any(|kv| kv.starts_with("mode="));
        let mut query: Vec<&str> = params.split('&').filter(|kv| !kv.is_empty()).collect();
        if !has_mode {
            query.push("mode=rwc");
        }
        driver_url.push('?');
        driver_url.push_str(&query.join("&"));
        return Ok(Target {
            backend: Backend::Sqlite,
            driver_url,
            sqlite_file: Some(file),
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target {
            backend: Backend::Postgres,
            driver_url: url.to_owned(),
            sqlite_file: None,
        });
    }
    Err(StoreError::UnsupportedUrl {
        url: redact_url(url),
    })
}

/// Opens the pool and brings the schema up to date.
pub(crate) async fn open(url: &str) -> Result<(AnyPool, Backend), StoreError> {
    sqlx::any::install_default_drivers();
    let cwd = std::env::current_dir().map_err(|source| StoreError::CreateDir {
        path: PathBuf::from("."),
        source,
    })?;
    let target = parse_url(url, &cwd)?;
    let shown_url = redact_url(url);

    if let Some(parent) = target.sqlite_file.as_deref().and_then(Path::parent) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
    }

    let options: AnyConnectOptions =
        target
            .driver_url
            .parse()
            .map_err(|source| StoreError::Connect {
                url: shown_url.clone(),
                source,
            })?;

    let pool_options = match target.backend {
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
            // A COMMIT that fails (SQLITE_FULL: a full disk) lets SQLite roll the transaction back
            // itself; the ROLLBACK sqlx then sends fails, and its connection stayed "in a
            // transaction" for good, so every later BEGIN on it failed, not retryably, and sent
            // the files read meanwhile to failed/ (issue 9). The ping runs the queued ROLLBACK
            // first; a connection still in a transaction after it is closed, not reused.
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            }),
        Backend::Postgres => AnyPoolOptions::new().max_connections(POSTGRES_MAX_CONNECTIONS),
    }
    .acquire_timeout(Duration::from_secs(30));

    let pool = pool_options
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect {
            url: shown_url.clone(),
            source,
        })?;

    let migrator = match target.backend {
        Backend::Sqlite => &SQLITE_MIGRATOR,
        Backend::Postgres => &POSTGRES_MIGRATOR,
    };
    // sqlx serializes migrations on Postgres with an advisory lock but not on SQLite, where two
    // processes opening a new state file at once (`dhub run` and `dhub quarantine list`, say) would
    // both create the tables and one would fail. A lock file beside the database serializes them.
    let _migration_lock = match target.sqlite_file.as_deref() {
        Some(file) => Some(
            dhub_support::sqlite::lock_for_migration(file)
                .await
                .map_err(|(path, source)| StoreError::CreateDir { path, source })?,
        ),
        None => None,
    };
    migrator
        .run(&pool)
        .await
        .map_err(|source| StoreError::Migrate {
            url: shown_url,
            source,
        })?;
    Ok((pool, target.backend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[test]
    fn sqlite_urls_become_absolute_and_creatable() {
        let cwd = Path::new("/srv/hub");
        let target = parse_url("sqlite://.dhub/state.db", cwd).unwrap();
        assert_eq!(target.backend, Backend::Sqlite);
        assert_eq!(
            target.driver_url,
            "sqlite:///srv/hub/.dhub/state.db?mode=rwc"
        );
        assert_eq!(
            target.sqlite_file.as_deref(),
            Some(Path::new("/srv/hub/.dhub/state.db"))
        );

        let absolute = parse_url("sqlite:///var/lib/dhub/state.db", cwd).unwrap();
        assert_eq!(
            absolute.driver_url,
            "sqlite:///var/lib/dhub/state.db?mode=rwc"
        );

        let short = parse_url("sqlite:state.db", cwd).unwrap();
        assert_eq!(short.driver_url, "sqlite:///srv/hub/state.db?mode=rwc");
    }

    #[test]
    fn sqlite_paths_are_literal_and_own_params_are_kept() {
        let cwd = Path::new("/d");
        let odd = parse_url("sqlite://a b/50%#x.db", cwd).unwrap();
        assert_eq!(odd.driver_url, "sqlite:///d/a%20b/50%25%23x.db?mode=rwc");
        let with_mode = parse_url("sqlite:///x.db?mode=rw&cache=private", cwd).unwrap();
        assert_eq!(with_mode.driver_url, "sqlite:///x.db?mode=rw&cache=private");
    }

    #[test]
    fn in_memory_and_unknown_urls_are_refused() {
        let cwd = Path::new("/d");
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://",
            "sqlite://x.db?mode=memory",
        ] {
            assert!(
                matches!(parse_url(url, cwd), Err(StoreError::InMemorySqlite)),
                "{url}"
            );
        }
        let err = parse_url("mysql://hub:pw@db/dhub", cwd).unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedUrl { .. }));
        let message = err.to_string();
        assert!(!message.contains("pw"), "{message}");
        assert!(message.contains("mysql://hub:***@db/dhub"), "{message}");
    }

    #[test]
    fn postgres_urls_pass_through() {
        let target = parse_url("postgresql://hub@db:5432/dhub", Path::new("/")).unwrap();
        assert_eq!(target.backend, Backend::Postgres);
        assert_eq!(target.driver_url, "postgresql://hub@db:5432/dhub");
        assert_eq!(target.sqlite_file, None);
    }

    /// Regression: two processes opening a new SQLite state file at once raced to create its tables,
    /// and one failed with "table already exists".
    #[tokio::test]
    async fn concurrent_first_opens_of_one_sqlite_file_all_succeed() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/state.db", dir.path().display());
            let opens: Vec<_> = (0..6)
                .map(|_| {
                    let url = url.clone();
                    tokio::spawn(async move { open(&url).await.map(|_| ()) })
                })
                .collect();
            for open in opens {
                open.await.unwrap().unwrap();
            }
        }
    }

    /// The durability settings must hold on every pooled connection, not just the first.
    #[tokio::test]
    async fn sqlite_connections_are_wal_full_sync_with_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/new/dir/state.db", dir.path().display());
        let (pool, backend) = open(&url).await.unwrap();
        assert_eq!(backend, Backend::Sqlite);
        assert!(dir.path().join("new/dir/state.db").exists());
        // Hold several connections at once so the pool must open more than one.
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = pool.acquire().await.unwrap();
            let journal: String = sqlx::query("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            let synchronous: i64 = sqlx::query("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            let busy: i64 = sqlx::query("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            let checkpoint: i64 = sqlx::query("PRAGMA wal_autocheckpoint")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            assert_eq!(journal, "wal");
            assert_eq!(synchronous, 2, "FULL");
            assert_eq!(busy, 30000);
            assert_eq!(checkpoint, 8000);
            held.push(conn);
        }
        drop(held);
        pool.close().await;
    }
}
