//! The one error type of the platform subscriber.
//!
//! Messages are lowercase and say what to do. None of them carries a record's content, a database
//! URL (it may hold a password) or a Kafka property value (it may be a secret): they name the field,
//! the scheme or the property instead.

use std::net::SocketAddr;

/// Why the platform subscriber, or one of its view operations, failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The `--db` URL names a database the view cannot live in.
    #[error(
        "unsupported view database URL scheme `{scheme}`: use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedDatabase {
        /// Only the scheme, never the whole URL (it may carry a password).
        scheme: String,
    },

    /// The configuration is inconsistent; nothing was started.
    #[error("invalid platform configuration: {0}")]
    InvalidConfig(String),

    /// The directory of a SQLite view could not be created.
    #[error("could not create the directory {path} for the view database: {source}; check its permissions or choose another --db path")]
    CreateDirectory {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The lock file that serializes migrations of a SQLite view could not be taken.
    #[error("could not lock {path} to migrate the view database: {source}; check its permissions or choose another --db path")]
    MigrationLock {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A statement against the view database failed.
    #[error("view database: could not {action}: {source}; check that the database is reachable and writable")]
    Database {
        /// What the view was doing, e.g. "apply a batch".
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// The view's schema could not be brought up to date.
    #[error("view database: could not apply the platform migrations: {0}; check that the database user may create tables")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A Postgres extension the view's indexes need is not installed on the server.
    #[error("view database: the Postgres server lacks the `{name}` extension the search indexes need; install the server's contrib package (Debian: postgresql-contrib) and start again")]
    MissingExtension { name: &'static str },

    /// A `--verify-key` file cannot be used.
    #[error("{0}")]
    VerifyKey(#[from] dhub_support::signature::KeyError),

    /// A row of the view could not be read back (the database was edited by hand?).
    #[error("view database: the stored row for a record is corrupt ({what}); delete the view database and let the feed rebuild it")]
    CorruptRow {
        /// Which column, never its content.
        what: &'static str,
    },

    /// The Kafka client could not be created or subscribed.
    #[error(
        "kafka: could not {action}: {source}; check --brokers, --topic and the kafka properties"
    )]
    Kafka {
        /// What the consumer was doing, e.g. "subscribe to the feed".
        action: &'static str,
        #[source]
        source: rdkafka::error::KafkaError,
    },

    /// The HTTP listener could not be bound.
    #[error("could not listen on {addr}: {source}; choose another --listen address")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    /// The HTTP server stopped with an I/O error.
    #[error("the search API server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl PlatformError {
    /// Whether trying the same operation again later can help (the database or broker may come
    /// back); configuration mistakes and corrupt rows need a person.
    pub fn is_retryable(&self) -> bool {
        match self {
            PlatformError::Database { source, .. } => !matches!(
                source,
                sqlx::Error::Configuration(_)
                    | sqlx::Error::ColumnNotFound(_)
                    | sqlx::Error::ColumnDecode { .. }
                    | sqlx::Error::Decode(_)
                    | sqlx::Error::TypeNotFound { .. }
            ),
            PlatformError::Kafka { .. } | PlatformError::Serve(_) => true,
            PlatformError::UnsupportedDatabase { .. }
            | PlatformError::InvalidConfig(_)
            | PlatformError::Migrate(_)
            | PlatformError::MissingExtension { .. }
            | PlatformError::VerifyKey(_)
            | PlatformError::MigrationLock { .. }
            | PlatformError::CorruptRow { .. }
            | PlatformError::CreateDirectory { .. }
            | PlatformError::Listen { .. } => false,
        }
    }

    pub(crate) fn database(action: &'static str) -> impl FnOnce(sqlx::Error) -> PlatformError {
        move |source| PlatformError::Database { action, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_not_retryable_but_outages_are() {
        let config = PlatformError::InvalidConfig("topic is empty".into());
        assert!(!config.is_retryable());
        let outage = PlatformError::Database {
            action: "apply a batch",
            source: sqlx::Error::PoolTimedOut,
        };
        assert!(outage.is_retryable());
        let decode = PlatformError::Database {
            action: "read a record",
            source: sqlx::Error::ColumnNotFound("record_json".into()),
        };
        assert!(!decode.is_retryable());
    }

    #[test]
    fn messages_are_lowercase_and_say_what_to_do() {
        let err = PlatformError::UnsupportedDatabase {
            scheme: "mysql".into(),
        };
        let text = err.to_string();
        assert!(text.starts_with("unsupported"));
        assert!(text.contains("use sqlite://"));
    }
}
