//! The store's one error type, and which of its failures a retry can cure.
//!
//! No variant carries record content: payloads, record JSON and quarantined input never reach an
//! error message. Database messages from sqlx name tables, columns and constraints, not values
//! (every value is bound as a parameter, never spliced into SQL text).

use std::path::PathBuf;

use sqlx::error::DatabaseError;

use crate::model::QuarantineState;

/// Everything that can go wrong in the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The `hub.state` URL names neither SQLite nor Postgres.
    #[error("unsupported state store url `{url}`: use sqlite://PATH (embedded) or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl {
        /// The URL with any password replaced by `***`.
        url: String,
    },

    /// `sqlite::memory:` and friends: nothing would survive a restart.
    #[error("in-memory sqlite is not durable: give the state store a file, e.g. sqlite://.dhub/state.db")]
    InMemorySqlite,

    /// The SQLite file's directory could not be created.
    #[error("could not create the state store directory {path}: {source}; check that the path is writable")]
    CreateDir {
        /// The directory that could not be created.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The lock file that serializes SQLite migrations could not be taken.
    #[error("could not lock {path} to migrate the state store: {source}; check that the directory is writable")]
    MigrationLock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// Opening the first connection failed.
    #[error("could not connect to the state store at {url}: {source}; check that the database is running and `hub.state` is right")]
    Connect {
        /// The URL with any password replaced by `***`.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },

    /// The schema migrations could not be applied.
    #[error("could not migrate the state store at {url}: {source}; the database may belong to a newer dhub, or an applied migration file was edited")]
    Migrate {
        /// The URL with any password replaced by `***`.
        url: String,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },

    /// A statement failed; `op` says which store operation it served.
    #[error("state store could not {op}: {source}")]
    Database {
        /// What the store was doing, e.g. "enqueue outbox rows".
        op: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },

    /// The audit chain is keyed and this process has no `[hub] audit_key`.
    #[error("the audit chain is keyed (HMAC) and no [hub] audit_key is configured: give the hub its audit key; an unkeyed entry would break the chain")]
    AuditKeyRequired,

    /// The configured audit key does not verify the chain's last entry.
    #[error("the configured [hub] audit_key does not verify the audit chain's last entry ({seq}): wrong key, or the chain was rewritten; run `dhub audit verify`")]
    AuditKeyMismatch {
        /// The last entry's seq.
        seq: i64,
    },

    /// A version of a record was written twice: versions are immutable.
    #[error("record {record_id} already has version {version} in the state store: versions are immutable, give the change a new version")]
    VersionExists {
        /// The record.
        record_id: String,
        /// The version that already exists.
        version: i64,
    },

    /// The record was never stored (e.g. `dhub retract --record ID` with a typo).
    #[error("record {record_id} is not in the state store: check the id with `dhub trace`")]
    RecordNotFound {
        /// The id asked for.
        record_id: String,
    },

    /// `quarantine show/replay/drop ID` with an unknown id.
    #[error("quarantine entry {id} does not exist: `dhub quarantine list` shows the held entries")]
    QuarantineNotFound {
        /// The id asked for.
        id: i64,
    },

    /// Releasing a parked entry that is not (or no longer) parked.
    #[error("no parked entry {seq} for platform {platform}: `dhub quarantine parked` lists them")]
    ParkedNotFound { platform: String, seq: i64 },

    /// Replaying or dropping an entry that was already replayed or dropped.
    #[error(
        "quarantine entry {id} is already {state}: only held entries can be replayed or dropped"
    )]
    QuarantineNotHeld {
        /// The entry.
        id: i64,
        /// Its current state.
        state: QuarantineState,
    },

    /// `resolve_quarantine(id, Held)`: holding is not a resolution.
    #[error("quarantine entry {id} cannot be resolved as held: resolve it as replayed or dropped")]
    InvalidResolution {
        /// The entry.
        id: i64,
    },

    /// A row holds a value dhub never writes: someone edited the database by hand.
    #[error("state store table {table} holds an unknown {column} value in row {key}; the database was changed outside dhub")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The row's key (an id or record id, never content).
        key: String,
    },
}

impl StoreError {
    /// Whether trying the same operation again later can succeed: lost connections, a busy
    /// database, serialization failures and deadlocks yes; bad URLs, constraint violations,
    /// migrations and corrupt rows no (retrying would fail the same way).
    pub fn is_retryable(&self) -> bool {
        match self {
            // At connect time a database error is mostly "wrong password" or "no such database"
            // (not retryable by the codes below); an unreachable or starting server is.
            StoreError::Connect { source, .. } | StoreError::Database { source, .. } => {
                sqlx_retryable(source)
            }
            StoreError::UnsupportedUrl { .. }
            | StoreError::InMemorySqlite
            | StoreError::CreateDir { .. }
            | StoreError::MigrationLock { .. }
            | StoreError::Migrate { .. }
            | StoreError::VersionExists { .. }
            | StoreError::RecordNotFound { .. }
            | StoreError::QuarantineNotFound { .. }
            | StoreError::ParkedNotFound { .. }
            | StoreError::QuarantineNotHeld { .. }
            | StoreError::InvalidResolution { .. }
            | StoreError::AuditKeyRequired
            | StoreError::AuditKeyMismatch { .. }
            | StoreError::Corrupt { .. } => false,
        }
    }

    /// A closure for `map_err` that names the operation.
    pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { op, source }
    }
}

fn sqlx_retryable(error: &sqlx::Error) -> bool {
    match error {
        // Not `Protocol`: sqlx also uses it for statements it cannot bind, which fail again.
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                sqlite_code_retryable(sqlite.code().as_deref())
            } else if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_code_retryable(pg.code())
            } else {
                false
            }
        }
        _ => false,
    }
}

/// SQLite reports extended result codes; the primary code is the low byte.
/// SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended forms, mean "another writer";
/// SQLITE_IOERR (10) and SQLITE_FULL (13) a disk that refuses writes for now (full, or failing):
/// the transaction is rolled back whole, and it commits once space is back, so the batch waits and
/// its source is not acknowledged (before, a full disk sent every file read meanwhile to `failed/`).
fn sqlite_code_retryable(code: Option<&str>) -> bool {
    let Some(code) = code.and_then(|c| c.parse::<i64>().ok()) else {
        return false;
    };
    matches!(code & 0xff, 5 | 6 | 10 | 13)
}

/// Postgres SQLSTATEs: class 08 connection exception, 40001 serialization failure, 40P01
/// deadlock, 55P03 lock not available, class 53 insufficient resources, 57P01..57P03 shutdown
/// or start-up in progress.
fn postgres_code_retryable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_locked_and_full_sqlite_codes_are_retryable_constraints_are_not() {
        assert!(sqlite_code_retryable(Some("5")));
        assert!(sqlite_code_retryable(Some("517"))); // SQLITE_BUSY_SNAPSHOT
        assert!(sqlite_code_retryable(Some("6")));
        assert!(sqlite_code_retryable(Some("13"))); // SQLITE_FULL
        assert!(sqlite_code_retryable(Some("778"))); // SQLITE_IOERR_WRITE
        assert!(!sqlite_code_retryable(Some("2067"))); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!sqlite_code_retryable(Some("19")));
        assert!(!sqlite_code_retryable(None));
    }

    #[test]
    fn postgres_transient_states_are_retryable_constraints_are_not() {
        for code in ["08006", "40001", "40P01", "57P01", "53300"] {
            assert!(postgres_code_retryable(code), "{code}");
        }
        for code in ["23505", "23514", "42P01", "28P01", "3D000"] {
            assert!(!postgres_code_retryable(code), "{code}");
        }
    }

    #[test]
    fn error_kinds_say_whether_to_retry() {
        assert!(StoreError::Database {
            op: "ping",
            source: sqlx::Error::PoolTimedOut
        }
        .is_retryable());
        assert!(StoreError::Connect {
            url: "postgres://x@y/z".into(),
            source: sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
        }
        .is_retryable());
        assert!(!StoreError::Database {
            op: "ping",
            source: sqlx::Error::RowNotFound
        }
        .is_retryable());
        assert!(!StoreError::VersionExists {
            record_id: "r".into(),
            version: 1
        }
        .is_retryable());
        assert!(!StoreError::InMemorySqlite.is_retryable());
    }
}
