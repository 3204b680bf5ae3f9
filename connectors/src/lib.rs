//! Where records come in: one folder per kind of department system. Each connector reads its system,
//! runs the source's mapping, and hands every batch of records to an
//! [`IntakeSink`](dhub_schema::intake::IntakeSink); it acknowledges its source (moves the file, answers
//! 202, stores the cursor, commits the offset) only after the sink has stored them durably.
//!
//! # Layout
//!
//! - [`registry`]: [`SourceConfig`] (the keys every source shares) and [`SourceKind`] (one variant per
//!   kind, `#[serde(tag = "kind")]`): the one list of kinds, matched exhaustively. Adding a kind is
//!   its own folder plus one line there. [`SourceKind::build`] says how the hub runs it
//!   ([`Built`]: a supervised task, or a push endpoint on the hub's HTTP server).
//! - [`context`]: [`SourceContext`], what the hub hands a connector when it starts it (sink, stored
//!   positions, mapping, events, shutdown), and [`ConnectorEvents`].
//! - [`mapped`]: turning mapped source records into intake items, shared by every kind.
//! - [`documents`]: fetching the documents a record names (`[[documents]]`): files, URLs, base64.
//! - [`folder`]: the engine of the folder kinds: settle, claim, read within limits, store, move to
//!   `done/` or `failed/`.
//! - [`xml_dir`]: a folder of XML exports (UTF-8, GBK, GB18030), `done/` and `failed/` beside them.
//! - [`spreadsheet`]: a folder of CSV / XLSX sheets in the national 双公示 template layout (the
//!   folder engine, with the mapping's format as the default extension).
//! - [`kafka`]: a topic read in a consumer group, one case per message, positions per partition
//!   in the state store, placed at every assignment.
//! - [`http_push`]: departments POST their records to `POST /ingest/<source>`; an endpoint the hub
//!   mounts on its HTTP server ([`registry::Built::Push`]), not a task.
//! - [`http_pull`]: the hub polls a department's API page after page, storing the cursor with each
//!   page's records; retries with backoff, honours `Retry-After`.
//! - [`sql`]: a department database (Postgres, MySQL/MariaDB, SQLite) read by an incremental
//!   cursor, with a re-read window for rows that commit out of order and Postgres LISTEN/NOTIFY.
//!
//! Every kind has a typed `config` (unknown keys are errors) and a connector whose `run` ends on
//! shutdown, reporting what happens through [`ConnectorEvents`] so that logs and metrics stay in one
//! place.

pub mod context;
pub mod documents;
pub mod folder;
pub mod http_pull;
pub mod http_push;
pub mod kafka;
pub mod limits;
pub mod mapped;
pub mod registry;
pub mod spreadsheet;
pub mod sql;
pub mod xml_dir;

use futures::future::BoxFuture;

pub use context::{ConnectorEvents, SourceContext};
pub use limits::LimitsConfig;
pub use registry::{Built, HubSettings, SourceConfig, SourceDocumentsConfig, SourceKind};

/// A running source. Built from its config by [`SourceKind::build`], started once with its context.
pub trait Connector: Send + 'static {
    /// Reads the department system until the context's shutdown turns true, then finishes the batch
    /// in hand (stored and acknowledged, or left for the next start) and returns. An `Err` is a
    /// failure the connector cannot get past by itself (a folder it may not create, a table that is
    /// not there); the hub logs it and restarts the connector after a delay.
    fn run(
        self: Box<Self>,
        context: SourceContext,
    ) -> BoxFuture<'static, Result<(), ConnectorError>>;
}

/// Why a connector stopped. The message names the source's file, table, URL or topic and says what to
/// do; `retryable` says whether starting it again later can help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    pub message: String,
    pub retryable: bool,
}

impl ConnectorError {
    pub fn retryable(message: impl Into<String>) -> ConnectorError {
        ConnectorError {
            message: message.into(),
            retryable: true,
        }
    }

    pub fn fatal(message: impl Into<String>) -> ConnectorError {
        ConnectorError {
            message: message.into(),
            retryable: false,
        }
    }
}
