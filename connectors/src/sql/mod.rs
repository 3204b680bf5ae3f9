//! `sql`: a department database table, view or query (Postgres, MySQL/MariaDB, SQLite), read by an
//! incremental cursor.
//!
//! # How rows are read
//!
//! `cursor = ["updated_at", "case_no"]` names columns whose values only grow when a row changes;
//! rows are read in that order, compared as a row value. Every wake-up (a Postgres NOTIFY, else
//! every `poll_interval_ms`) runs the **fast read**: the rows after the highest cursor values read
//! so far, `batch_rows` at a time, each page mapped (`Mapping::row_record`, format `row`) and stored
//! as one batch. Only the columns the mapping reads, the cursor and `row_key` are selected, each
//! decoded by the database's own sqlx driver and handed over as text (see [`db::mapping_text`]).
//!
//! # Rows that commit out of order
//!
//! A cursor value is taken before its row commits: `updated_at = now()` is the start of the writing
//! transaction in Postgres, `NOW()` the statement's time in MariaDB, an application's clock, a
//! sequence's `nextval`. So a transaction that took `t1` may commit after another one that took
//! `t2 > t1` committed and was already read: the fast read, which only looks past `t2`, would never
//! see it. The source therefore keeps a second, **safe** position `P` with this invariant:
//!
//! > every row whose first cursor value is below `P` has been stored.
//!
//! Only `P` is stored with the batches (in the same transaction as their records), so a restart
//! reads again from `P` (the ingest step recognises unchanged rows by their content hash, so the
//! rows read twice publish nothing new).
//!
//! `P` moves like this. After every fast read the source notes `(when, M)`: the instant after the
//! query returned, by its own monotonic clock, and `M`, the highest first cursor value read so far.
//! Let `overlap` (`overlap_ms`) be at least the longest time between a cursor value being taken and
//! its row committing. Claim: once `overlap` has passed since `(when, M)`, every row with a first
//! cursor value below `M` has committed. Proof: the row that gave `M` had committed when the query's
//! snapshot was taken, at some instant `S ≤ when`, so `M` was taken before `S`. A value taken after
//! `S` is `≥ M`: for a timestamp because the clock that took `M` does not go back, for a sequence
//! because it only hands out larger numbers. So a row with a value below `M` took it before `S`, and
//! committed within `overlap` of that, before `when + overlap`. (A value taken after `S` may *equal*
//! `M` when timestamps tie within the clock's resolution; that is why re-reads include `M` itself.)
//! Only the source's own clock is used, never the database's against it, so clock skew between the
//! two does not matter; skew between several writers' clocks (application-set timestamps) adds to
//! the time a value takes to commit and belongs in `overlap`.
//!
//! Every `resync_interval_ms` the **re-read** takes the newest `M` that is `overlap` old as the
//! candidate `H` and lists the cursor values (only those) of every row with `P ≤ first ≤ H`. Any
//! row not in the memory of rows already submitted is fetched and stored; then `P := H`. By the
//! claim, every row below `H` had committed before the re-read's query began, so the re-read saw it
//! (or the fast read did): the invariant holds for `H`. Rows with a first value equal to `H` may
//! still be on their way; they are listed again by the next re-read, which starts at `P = H`.
//!
//! The same re-read also lists `(H, last read]`. Correctness does not need it (those rows are
//! listed again once `H` passes them), but a row that committed late is then stored at the first
//! re-read after its commit, within `resync_interval_ms`, instead of an `overlap` later; the cost
//! is listing the cursor values of the rows of the last `overlap`, which the database serves from
//! the cursor's index.
//!
//! The memory of submitted rows ([`horizon::Seen`], 128-bit hashes of cursor values) only saves
//! needless submissions: an entry is dropped when a re-read has passed its row, or by age for rows
//! that changed again; forgetting too early costs one submission the ingest step finds unchanged,
//! never a skipped row. Its size is the rows read within about `overlap + resync_interval`.
//!
//! `overlap_ms = 0` turns the re-read off: `P` follows the fast read at once. That is only right for
//! tables whose cursor values are assigned in commit order (e.g. a single writer that commits each
//! change on its own); the tests show a late row being missed that way, and found with an overlap.
//!
//! Limits: the cursor's values must be unique per row version (end it with a unique key; a repeat
//! is reported, since a page boundary between two equal values would skip one); rows whose cursor
//! columns are NULL are not read (counted and reported at start); a row changed without raising
//! its cursor, and a deleted row, are not seen (departments withdraw a decision by its status).
//!
//! # Failures
//!
//! A database that is down, busy or unreachable is retried with a growing delay
//! ([`dhub_support::retry`]), reported through `ConnectorEvents::retrying`; so is a state store
//! that cannot take a batch. The connector returns an error (the hub restarts it after a delay)
//! only for what needs a person: a missing table or column, a statement refused, a column of a
//! type it cannot read. A cell that cannot be decoded (MariaDB's zero date `0000-00-00`) sends its
//! row to quarantine with a reason naming the row (`enforcement_cases[CASE-7]`) and the column; the
//! other rows go on. Records that do not map or validate are quarantined by the ingest step the
//! same way.
//!
//! # Layout
//!
//! - `mod.rs`: this page, [`SqlConnector`] (start: pool, listener, source).
//! - `config.rs`: [`SqlConfig`] (the keys), their checks, [`SqlSettings`] (the ready form).
//! - `source.rs`: the running source: start-up checks, the loop, the fast read, storing batches,
//!   waiting out a database or state store that is unavailable.
//! - `reread.rs`: the re-read: its listing task and what is done with what it found.
//! - `rows.rs`: rows → intake items (row names, text for the mapping, unreadable cells).
//! - `db.rs`: pools, the dialects (quoting, placeholders, the cursor comparison), decoding.
//! - `value.rs`: [`value::Value`], its text for the mapping, and the stored form of cursor values.
//! - `horizon.rs`: the safe position and the memory of submitted rows (pure).
//! - `notify.rs`: the Postgres LISTEN task; `notify_trigger.sql`: the trigger a department
//!   installs.
//! - `tests.rs`: the connector against SQLite files (Postgres and MariaDB: `tests/source_sql.rs`
//!   of the workspace).

pub mod config;
pub mod db;
pub mod horizon;
pub mod notify;
mod reread;
mod rows;
mod source;
pub mod value;

use std::path::Path;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

pub use config::{Backend, SqlConfig, SqlSettings};

use crate::context::SourceContext;
use crate::limits::LimitsConfig;
use crate::{Connector, ConnectorError};
use db::Db;
use source::SqlSource;

/// The trigger SQL a department installs in a Postgres database so that changes wake the source.
pub const NOTIFY_TRIGGER_SQL: &str = include_str!("notify_trigger.sql");

/// The connector of a `sql` source.
pub struct SqlConnector {
    settings: SqlSettings,
}

/// Checks the keys (resolving the URL secret) and builds the connector; connects only when run.
pub fn connector(config: &SqlConfig, base_dir: &Path) -> Result<SqlConnector, String> {
    let settings = config
        .settings(base_dir)
        .map_err(|errors| errors.join("; "))?;
    Ok(SqlConnector { settings })
}

impl SqlConnector {
    /// Reads rows within the source's `[source.limits]` (`max_value_bytes`, `max_record_bytes`).
    pub fn within(mut self, limits: &LimitsConfig) -> SqlConnector {
        self.settings.limits = limits.read_limits(self.settings.limits.max_document_bytes);
        self
    }
}

impl Connector for SqlConnector {
    fn run(
        self: Box<Self>,
        context: SourceContext,
    ) -> BoxFuture<'static, Result<(), ConnectorError>> {
        Box::pin(async move {
            let db = Db::connect_lazy(&self.settings).map_err(ConnectorError::fatal)?;
            let (wake_tx, wake) = mpsc::channel(1);
            let listener = self.settings.notify.clone().map(|channel| {
                notify::spawn(
                    &self.settings,
                    channel,
                    context.name.clone(),
                    context.events.clone(),
                    wake_tx.clone(),
                    context.shutdown.clone(),
                )
            });
            let result = match SqlSource::start(self.settings, db.clone(), context, wake).await {
                Ok(Some(mut source)) => source.run().await,
                Ok(None) => Ok(()),
                Err(error) => Err(error),
            };
            if let Some(listener) = listener {
                listener.abort();
            }
            db.close().await;
            result
        })
    }
}

#[cfg(test)]
mod tests;
