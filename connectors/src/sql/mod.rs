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
//! - `config.rs`: [`SqlConfig`] (the keys), their checks, [`SqlSettings`] (the ready form).
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
pub mod value;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub_mapping::Mapping;
use dhub_schema::intake::{Intake, IntakeBatch, Origin, Position};
use dhub_support::retry;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use config::{Backend, SqlConfig, SqlSettings};

use crate::context::SourceContext;
use crate::mapped::{map_context, to_intake};
use crate::{Connector, ConnectorError};
use db::{Cell, ColumnInfo, Db, DbError, Dialect, Kind, Sql};
use horizon::{Horizon, Seen};
use value::{TupleId, Value};

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

/// What is stored as the source's position: the cursor's columns (a changed cursor starts from
/// the beginning) and `P`, the first cursor value below which every row is stored.
#[derive(Debug, Serialize, Deserialize)]
struct StoredPosition {
    cursor: Vec<String>,
    safe: Option<Value>,
}

/// The columns the source selects and what each is for, worked out once at start.
struct Layout {
    /// Quoted and comma-separated: the cursor columns first, then the row key's and the mapping's.
    select_list: String,
    /// The quoted table, or `(<query>) AS dhub_rows`.
    from: String,
    /// `c1 IS NOT NULL AND …`: a NULL cursor value cannot be ordered or compared.
    not_null: String,
    order_by: String,
    cursor: Vec<String>,
    /// One per selected column.
    kinds: Vec<Kind>,
    /// Indices of the row key's columns in the selection.
    key: Vec<usize>,
    /// `(column, index in the selection)` of every column the mapping reads.
    mapped: Vec<(String, usize)>,
}

impl Layout {
    fn cursor_kinds(&self) -> &[Kind] {
        &self.kinds[..self.cursor.len()]
    }
}

/// A row read: its cursor values (when readable) and what goes to the sink.
struct ReadRow {
    tuple: Option<Vec<Value>>,
    key: String,
    intake: Intake,
}

/// A running `sql` source.
struct SqlSource {
    name: String,
    settings: SqlSettings,
    dialect: Dialect,
    db: Db,
    mapping: Arc<Mapping>,
    layout: Arc<Layout>,
    context: SourceContext,
    wake: mpsc::Receiver<()>,
    /// The highest cursor values read (the fast read continues after them); `None` until the first
    /// row of this run, when reading starts at `P`.
    read: Option<Vec<Value>>,
    horizon: Horizon,
    seen: Seen,
    /// Whether a repeated cursor value was reported already (once per run is enough).
    repeat_reported: bool,
}

/// How many cursor tuples one page of a re-read lists.
const KEY_PAGE_MIN: usize = 5000;

impl SqlSource {
    /// Describes the rows, checks the columns, reads the stored position. `None`: shutdown came
    /// while the database was unreachable.
    async fn start(
        settings: SqlSettings,
        db: Db,
        context: SourceContext,
        wake: mpsc::Receiver<()>,
    ) -> Result<Option<SqlSource>, ConnectorError> {
        let dialect = Dialect(settings.backend);
        let from = match (&settings.table, &settings.query) {
            (Some(table), _) => dialect.quote_path(table),
            (None, Some(query)) => format!("({query}) AS dhub_rows"),
            (None, None) => unreachable!("checked: table or query"),
        };
        let mut source = SqlSource {
            name: context.name.clone(),
            dialect,
            mapping: context.mapping.clone(),
            layout: Arc::new(Layout {
                select_list: String::new(),
                from,
                not_null: String::new(),
                order_by: String::new(),
                cursor: settings.cursor.clone(),
                kinds: Vec::new(),
                key: Vec::new(),
                mapped: Vec::new(),
            }),
            horizon: Horizon::new(settings.overlap, None),
            settings,
            db,
            context,
            wake,
            read: None,
            seen: Seen::default(),
            repeat_reported: false,
        };
        let probe = format!("SELECT * FROM {} WHERE 1 = 0", source.layout.from);
        let columns = match source
            .with_retry(|db| {
                let probe = probe.clone();
                async move { db.columns(&probe).await }
            })
            .await?
        {
            Some(columns) => columns,
            None => return Ok(None),
        };
        source.layout = Arc::new(source.plan(&columns)?);
        source.horizon = Horizon::new(source.settings.overlap, source.stored_safe());
        if !source.report_null_cursors().await? {
            return Ok(None);
        }
        Ok(Some(source))
    }

    /// Checks the described columns against the cursor, the row key and the mapping, and decides
    /// what to select.
    fn plan(&self, columns: &[ColumnInfo]) -> Result<Layout, ConnectorError> {
        let table = self.settings.origin_table();
        let find = |name: &str| columns.iter().find(|c| c.name == name);
        let listed = || {
            columns
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut wanted: Vec<(&str, &'static str)> = Vec::new();
        for column in &self.settings.cursor {
            wanted.push((column, "the cursor"));
        }
        for column in &self.settings.row_key {
            wanted.push((column, "row_key"));
        }
        for column in self.mapping.columns() {
            wanted.push((column, "the mapping"));
        }
        let mut selected: Vec<&ColumnInfo> = Vec::new();
        for (name, role) in &wanted {
            let Some(info) = find(name) else {
                return Err(ConnectorError::retryable(format!(
                    "{table} has no column `{name}`, which {role} reads (it has {}); add the column or fix the config",
                    listed()
                )));
            };
            if info.kind == Kind::Unsupported {
                return Err(ConnectorError::fatal(format!(
                    "{table}: column `{name}` is of type {}, which the sql source cannot read; use a `query` that selects it as text (CAST({name} AS …) AS {name})",
                    info.type_name
                )));
            }
            if *role == "the cursor" && !info.kind.can_be_cursor() {
                return Err(ConnectorError::fatal(format!(
                    "{table}: cursor column `{name}` is of type {}, which cannot order changes; use a change time, a change sequence or a key",
                    info.type_name
                )));
            }
            if !selected.iter().any(|c| c.name == *name) {
                selected.push(info);
            }
        }
        let index = |name: &str| selected.iter().position(|c| c.name == name).unwrap_or(0);
        let quote = |name: &str| self.dialect.quote(name);
        Ok(Layout {
            select_list: selected
                .iter()
                .map(|c| quote(&c.name))
                .collect::<Vec<_>>()
                .join(", "),
            from: self.layout.from.clone(),
            not_null: self
                .settings
                .cursor
                .iter()
                .map(|c| format!("{} IS NOT NULL", quote(c)))
                .collect::<Vec<_>>()
                .join(" AND "),
            order_by: self
                .settings
                .cursor
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            cursor: self.settings.cursor.clone(),
            kinds: selected.iter().map(|c| c.kind).collect(),
            key: self.settings.row_key.iter().map(|c| index(c)).collect(),
            mapped: self
                .mapping
                .columns()
                .iter()
                .map(|c| (c.clone(), index(c)))
                .collect(),
        })
    }

    /// `P` as stored with the last batch, if it belongs to this cursor.
    fn stored_safe(&self) -> Option<Value> {
        let stored = self.context.position()?;
        match serde_json::from_str::<StoredPosition>(stored) {
            Ok(position) if position.cursor == self.settings.cursor => position.safe,
            Ok(_) => {
                tracing::warn!(source = %self.name, "the cursor columns changed since the position was stored; reading the table from the start (stored rows are recognised as unchanged)");
                None
            }
            Err(_) => {
                tracing::warn!(source = %self.name, "the stored position is not one this source wrote; reading the table from the start (stored rows are recognised as unchanged)");
                None
            }
        }
    }

    fn position(&self) -> Vec<Position> {
        let stored = StoredPosition {
            cursor: self.settings.cursor.clone(),
            safe: self.horizon.safe().cloned(),
        };
        // A position of plain data always serializes; without it the batch stores no position,
        // which only means reading more again after a restart.
        serde_json::to_string(&stored)
            .map(|text| vec![Position::whole(text)])
            .unwrap_or_default()
    }

    /// Counts rows whose cursor columns are NULL (they cannot be read) and reports them. `false`:
    /// shutdown came first.
    async fn report_null_cursors(&mut self) -> Result<bool, ConnectorError> {
        let nulls = self
            .settings
            .cursor
            .iter()
            .map(|c| format!("{} IS NULL", self.dialect.quote(c)))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {nulls}", self.layout.from);
        let Some(count) = self
            .with_retry(|db| {
                let sql = sql.clone();
                async move { db.count(&sql).await }
            })
            .await?
        else {
            return Ok(false);
        };
        if count > 0 {
            self.context.events.document_failed(
                &self.name,
                &format!(
                    "{}: {count} rows have no value in a cursor column ({}); they are not read until it is set",
                    self.settings.origin_table(),
                    self.settings.cursor.join(", ")
                ),
            );
        }
        Ok(true)
    }

    /// Reads and stores until shutdown. The re-read's listing runs in a task of its own, on the
    /// pool's second connection, so the fast read never waits for it; what it found is handled
    /// here, between batches.
    async fn run(&mut self) -> Result<(), ConnectorError> {
        let resyncs = !self.settings.overlap.is_zero();
        let mut next_resync = Instant::now() + self.settings.resync_interval;
        let mut listing: Option<JoinHandle<Result<Listing, DbError>>> = None;
        let outcome = loop {
            if self.context.stopping() {
                break Ok(());
            }
            let read = match self.read_new().await {
                Ok(Some(read)) => read,
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            };
            if resyncs && listing.is_none() && Instant::now() >= next_resync {
                listing = self.start_listing();
                if listing.is_none() {
                    next_resync = Instant::now() + self.settings.resync_interval;
                }
            }
            if listing.as_ref().is_some_and(|task| task.is_finished()) {
                if let Some(task) = listing.take() {
                    match self.finish_resync(task.await).await {
                        Ok(true) => {}
                        Ok(false) => break Ok(()),
                        Err(error) => break Err(error),
                    }
                    next_resync = Instant::now() + self.settings.resync_interval;
                }
            }
            if read >= self.settings.batch_rows {
                // More rows are waiting: no pause.
                continue;
            }
            let mut wait = self.settings.poll_interval;
            if resyncs && listing.is_none() {
                wait = wait.min(next_resync.saturating_duration_since(Instant::now()));
            }
            let mut shutdown = self.context.shutdown.clone();
            let listed = async {
                match listing.as_mut() {
                    Some(task) => task.await,
                    None => std::future::pending().await,
                }
            };
            let finished = tokio::select! {
                _ = self.wake.recv() => None,
                _ = tokio::time::sleep(wait) => None,
                _ = shutdown.changed() => None,
                listed = listed => Some(listed),
            };
            if let Some(listed) = finished {
                listing = None;
                match self.finish_resync(listed).await {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(error) => break Err(error),
                }
                next_resync = Instant::now() + self.settings.resync_interval;
            }
        };
        if let Some(task) = listing {
            task.abort();
        }
        outcome
    }

    /// The fast read: one page of rows after the highest cursor values read (at the start: from
    /// `P`), stored as one batch. Returns how many rows it read; `None` when stopping.
    async fn read_new(&mut self) -> Result<Option<usize>, ConnectorError> {
        let layout = self.layout.clone();
        let mut sql = Sql::new(
            self.dialect,
            format!(
                "SELECT {} FROM {} WHERE {}",
                layout.select_list, layout.from, layout.not_null
            ),
        );
        match (&self.read, self.horizon.safe()) {
            (Some(last), _) => {
                sql.push(" AND ").after(&layout.cursor, last);
            }
            (None, Some(safe)) => {
                sql.push(" AND ")
                    .push(&self.dialect.quote(&layout.cursor[0]))
                    .push(" >= ")
                    .bind(safe);
            }
            (None, None) => {}
        }
        sql.push(&format!(
            " ORDER BY {} LIMIT {}",
            layout.order_by, self.settings.batch_rows
        ));
        let Some(rows) = self.fetch(&sql, &layout.kinds).await? else {
            return Ok(None);
        };
        let observed_at = Instant::now();
        let count = rows.len();
        if count == 0 {
            return Ok(Some(0));
        }
        let read = self.map_rows(rows).await?;
        let last = read.iter().rev().find_map(|row| row.tuple.clone());
        self.check_repeats(&read);
        let tuples: Vec<TupleId> = read
            .iter()
            .filter_map(|row| row.tuple.as_deref().map(TupleId::of))
            .collect();
        let Some(last) = last else {
            if count >= self.settings.batch_rows {
                return Err(ConnectorError::retryable(format!(
                    "{}: no row of a whole page ({count} rows from {}) has readable cursor values; fix the values of {} or raise batch_rows",
                    self.settings.origin_table(),
                    read.first().map(|r| r.key.as_str()).unwrap_or("?"),
                    self.settings.cursor.join(", ")
                )));
            }
            // A short page of unreadable cursors: store its rows; they sort before everything
            // readable, so the next read does not meet them again.
            if !self
                .submit(read.into_iter().map(|r| r.intake).collect())
                .await?
            {
                return Ok(None);
            }
            return Ok(Some(count));
        };
        // With no overlap, P follows the read at once and goes with this very batch.
        self.horizon.observe(observed_at, &last[0]);
        if !self
            .submit(read.into_iter().map(|r| r.intake).collect())
            .await?
        {
            return Ok(None);
        }
        if !self.settings.overlap.is_zero() {
            let now = Instant::now();
            for id in tuples {
                self.seen.insert(id, now);
            }
        }
        self.read = Some(last);
        Ok(Some(count))
    }

    /// Reports, once per run, two rows with the same cursor values in one page.
    fn check_repeats(&mut self, read: &[ReadRow]) {
        if self.repeat_reported {
            return;
        }
        for pair in read.windows(2) {
            if pair[0].tuple.is_some() && pair[0].tuple == pair[1].tuple {
                self.repeat_reported = true;
                self.context.events.document_failed(
                    &self.name,
                    &format!(
                        "{}: rows {} and {} have the same cursor values; end `cursor` with a unique key column, or rows may be skipped",
                        self.settings.origin_table(),
                        pair[0].key,
                        pair[1].key
                    ),
                );
                return;
            }
        }
    }

    /// Starts the re-read's listing (module doc): the cursor values of `[P, H]` and of
    /// `(H, last read]`. `None` when nothing was read in this run yet (the fast read starts at `P`
    /// and has not met a row, so nothing can have committed behind it).
    fn start_listing(&mut self) -> Option<JoinHandle<Result<Listing, DbError>>> {
        let last_read = self.read.as_ref()?.first()?.clone();
        let horizon = self.horizon.candidate(Instant::now());
        let lower = self.horizon.safe().cloned();
        let lister = Lister {
            db: self.db.clone(),
            dialect: self.dialect,
            layout: self.layout.clone(),
            page: self.settings.batch_rows.max(KEY_PAGE_MIN),
        };
        Some(tokio::spawn(async move {
            let mut listing = Listing {
                horizon: horizon.clone(),
                settled: Vec::new(),
                recent: Vec::new(),
            };
            // Rows up to H: by the claim every one has committed; after this re-read P moves to H
            // and only those equal to H are listed again.
            if let Some(horizon) = &horizon {
                for tuple in lister
                    .list(lower.as_ref().map(|v| (v, true)), horizon)
                    .await?
                {
                    let at_horizon = tuple[0] == *horizon;
                    listing
                        .settled
                        .push((TupleId::of(&tuple), tuple, at_horizon));
                }
            }
            // Rows above H up to the last one read: a row committed late is found here at the
            // first re-read after its commit, not only once H has passed it (an overlap later).
            let from = match &horizon {
                Some(horizon) => Some((horizon, false)),
                None => lower.as_ref().map(|v| (v, true)),
            };
            for tuple in lister.list(from, &last_read).await? {
                listing.recent.push((TupleId::of(&tuple), tuple));
            }
            Ok(listing)
        }))
    }

    /// Stores the rows of a listing not yet submitted, then moves `P` to the listing's `H`.
    /// `false` when stopping.
    async fn finish_resync(
        &mut self,
        listed: Result<Result<Listing, DbError>, tokio::task::JoinError>,
    ) -> Result<bool, ConnectorError> {
        let listing = match listed {
            Ok(Ok(listing)) => listing,
            Ok(Err(DbError::Refused(message))) => {
                return Err(ConnectorError::retryable(format!(
                    "{} at {}: {message}",
                    self.settings.origin_table(),
                    self.settings.shown_url()
                )))
            }
            Ok(Err(DbError::Unavailable(message))) => {
                // The fast read meets the same trouble and waits it out; the next re-read tries
                // again, and P stays where it is meanwhile.
                self.context.events.retrying(
                    &self.name,
                    &format!(
                        "cannot re-read {} at {}: {message}",
                        self.settings.origin_table(),
                        self.settings.shown_url()
                    ),
                );
                return Ok(true);
            }
            Err(_) => {
                return Err(ConnectorError::fatal(format!(
                    "{}: the re-read failed unexpectedly (a bug: please report it)",
                    self.settings.origin_table()
                )))
            }
        };
        let now = Instant::now();
        let mut missing: Vec<Vec<Value>> = Vec::new();
        for (id, tuple, _) in &listing.settled {
            if !self.seen.contains(id) {
                missing.push(tuple.clone());
            }
        }
        for (id, tuple) in listing.recent {
            if self.seen.contains(&id) {
                // Listed again by the next re-read: keep it as fresh as this listing.
                self.seen.insert(id, now);
            } else {
                missing.push(tuple);
            }
        }
        if !missing.is_empty() {
            tracing::info!(
                source = %self.name,
                table = self.settings.origin_table(),
                rows = missing.len(),
                "reading rows that committed after newer ones were read"
            );
        }
        let layout = self.layout.clone();
        for chunk in missing.chunks(self.settings.batch_rows) {
            let mut rows = Vec::with_capacity(chunk.len());
            for tuple in chunk {
                let mut sql = Sql::new(
                    self.dialect,
                    format!("SELECT {} FROM {} WHERE ", layout.select_list, layout.from),
                );
                for (i, (column, value)) in layout.cursor.iter().zip(tuple).enumerate() {
                    if i > 0 {
                        sql.push(" AND ");
                    }
                    sql.push(&self.dialect.quote(column))
                        .push(" = ")
                        .bind(value);
                }
                let Some(found) = self.fetch(&sql, &layout.kinds).await? else {
                    return Ok(false);
                };
                // Gone meanwhile: changed again, so its new cursor values lie ahead of the fast read.
                rows.extend(found);
            }
            if rows.is_empty() {
                continue;
            }
            let read = self.map_rows(rows).await?;
            let ids: Vec<TupleId> = read
                .iter()
                .filter_map(|row| row.tuple.as_deref().map(TupleId::of))
                .collect();
            if !self
                .submit(read.into_iter().map(|r| r.intake).collect())
                .await?
            {
                return Ok(false);
            }
            let now = Instant::now();
            for id in ids {
                self.seen.insert(id, now);
            }
        }
        let Some(horizon) = listing.horizon else {
            return Ok(true);
        };
        let moved = self.horizon.advance(horizon);
        // Rows below H are behind P now: no later re-read lists them. Rows at H are listed again
        // by the next re-read: they stay, as fresh as this listing.
        for (id, _, at_horizon) in listing.settled {
            if !at_horizon {
                self.seen.remove(&id);
            } else if self.seen.contains(&id) {
                self.seen.insert(id, now);
            }
        }
        let keep = 2 * (self.settings.overlap + self.settings.resync_interval);
        self.seen.prune_older_than(now, keep);
        if moved && !self.submit(Vec::new()).await? {
            return Ok(false);
        }
        Ok(true)
    }

    /// Maps rows on a blocking thread (mapping is CPU work).
    async fn map_rows(&self, rows: Vec<Vec<Cell>>) -> Result<Vec<ReadRow>, ConnectorError> {
        let layout = self.layout.clone();
        let mapping = self.mapping.clone();
        let source = self.name.clone();
        let table = self.settings.origin_table().to_string();
        tokio::task::spawn_blocking(move || map_rows(&layout, &mapping, &source, &table, rows))
            .await
            .map_err(|_| {
                ConnectorError::fatal(format!(
                    "{table}: mapping the rows failed unexpectedly (a bug: please report it)",
                    table = self.settings.origin_table()
                ))
            })
    }

    /// Stores one batch with the current position, waiting out a store that is unavailable.
    /// `false`: shutdown came while waiting; nothing was stored.
    async fn submit(&mut self, items: Vec<Intake>) -> Result<bool, ConnectorError> {
        let records = items.len();
        let batch = Arc::new(IntakeBatch {
            source: self.name.clone(),
            mapping_name: self.mapping.name().to_string(),
            mapping_version: self.mapping.version().to_string(),
            items,
            positions: self.position(),
        });
        let mut delays = retry::delays(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            match self.context.sink.submit(batch.clone()).await {
                Ok(_) => {
                    if records > 0 {
                        self.context.events.document_done(&self.name, records);
                    }
                    return Ok(true);
                }
                Err(error) if error.retryable => {
                    self.context.events.retrying(&self.name, &error.message);
                    if !self.pause(delays.next_delay()).await {
                        return Ok(false);
                    }
                }
                Err(error) => {
                    return Err(ConnectorError::fatal(format!(
                        "{}: the hub cannot store the rows read: {}",
                        self.settings.origin_table(),
                        error.message
                    )))
                }
            }
        }
    }

    async fn fetch(
        &mut self,
        sql: &Sql,
        kinds: &[Kind],
    ) -> Result<Option<Vec<Vec<Cell>>>, ConnectorError> {
        self.with_retry(|db| {
            let text = sql.text.clone();
            let params = sql.params.clone();
            let kinds = kinds.to_vec();
            async move { db.rows(&text, &params, &kinds).await }
        })
        .await
    }

    /// Runs a database call until it succeeds, waiting out a database that is unavailable.
    /// `Ok(None)`: shutdown came first. A refused statement ends the connector.
    async fn with_retry<T, F, Fut>(&mut self, mut call: F) -> Result<Option<T>, ConnectorError>
    where
        F: FnMut(Db) -> Fut,
        Fut: std::future::Future<Output = Result<T, DbError>>,
    {
        let mut delays = retry::delays(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            let mut shutdown = self.context.shutdown.clone();
            let outcome = tokio::select! {
                outcome = call(self.db.clone()) => outcome,
                _ = shutdown.wait_for(|stop| *stop) => return Ok(None),
            };
            match outcome {
                Ok(value) => return Ok(Some(value)),
                Err(DbError::Refused(message)) => {
                    return Err(ConnectorError::retryable(format!(
                        "{} at {}: {message}",
                        self.settings.origin_table(),
                        self.settings.shown_url()
                    )))
                }
                Err(DbError::Unavailable(message)) => {
                    self.context.events.retrying(
                        &self.name,
                        &format!(
                            "cannot read {} at {}: {message}",
                            self.settings.origin_table(),
                            self.settings.shown_url()
                        ),
                    );
                    if !self.pause(delays.next_delay()).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Sleeps, or returns `false` at once when the hub stops.
    async fn pause(&self, delay: Duration) -> bool {
        let mut shutdown = self.context.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => !self.context.stopping(),
            _ = shutdown.wait_for(|stop| *stop) => false,
        }
    }
}

/// What a re-read found: `H` (if one is ripe), the rows of `[P, H]` (with whether their first
/// value equals `H`) and of `(H, last read]`, each with its identity.
struct Listing {
    horizon: Option<Value>,
    settled: Vec<(TupleId, Vec<Value>, bool)>,
    recent: Vec<(TupleId, Vec<Value>)>,
}

/// Lists cursor values, in a task of its own.
struct Lister {
    db: Db,
    dialect: Dialect,
    layout: Arc<Layout>,
    page: usize,
}

impl Lister {
    /// The cursor values of the rows whose first cursor value lies between `from` (inclusive when
    /// its flag says so; none: from the start) and `to` (inclusive), in cursor order, paged. A row
    /// whose cursor values cannot be read is left out: it cannot be looked up, and the fast read
    /// stored it when it met it.
    async fn list(
        &self,
        from: Option<(&Value, bool)>,
        to: &Value,
    ) -> Result<Vec<Vec<Value>>, DbError> {
        let layout = &self.layout;
        let first = self.dialect.quote(&layout.cursor[0]);
        let mut tuples: Vec<Vec<Value>> = Vec::new();
        let mut after: Option<Vec<Value>> = None;
        loop {
            let mut sql = Sql::new(
                self.dialect,
                format!(
                    "SELECT {} FROM {} WHERE {}",
                    layout.order_by, layout.from, layout.not_null
                ),
            );
            if let Some((from, inclusive)) = from {
                let op = if inclusive { " >= " } else { " > " };
                sql.push(" AND ").push(&first).push(op).bind(from);
            }
            sql.push(" AND ").push(&first).push(" <= ").bind(to);
            if let Some(after) = &after {
                sql.push(" AND ").after(&layout.cursor, after);
            }
            sql.push(&format!(
                " ORDER BY {} LIMIT {}",
                layout.order_by, self.page
            ));
            let rows = self
                .db
                .rows(&sql.text, &sql.params, layout.cursor_kinds())
                .await?;
            let full = rows.len() >= self.page;
            let before = tuples.len();
            tuples.extend(rows.iter().filter_map(|row| readable_tuple(row)));
            after = tuples.last().cloned();
            if !full || tuples.len() == before {
                return Ok(tuples);
            }
        }
    }
}

/// The cursor values of a row read with only the cursor columns, if all are readable.
fn readable_tuple(row: &[Cell]) -> Option<Vec<Value>> {
    row.iter()
        .map(|cell| cell.as_ref().ok().cloned().flatten())
        .collect()
}

/// Rows → intake items: the row key, the mapping's columns as text, the mapped record (or why not).
fn map_rows(
    layout: &Layout,
    mapping: &Mapping,
    source: &str,
    table: &str,
    rows: Vec<Vec<Cell>>,
) -> Vec<ReadRow> {
    let context = map_context(source);
    rows.into_iter()
        .map(|row| {
            let tuple = readable_tuple(&row[..layout.cursor.len()]);
            let key = layout
                .key
                .iter()
                .map(|&i| match &row[i] {
                    Ok(Some(value)) => db::mapping_text(layout.kinds[i], value),
                    Ok(None) => "NULL".to_string(),
                    Err(_) => "?".to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let origin = Origin::Row {
                table: table.to_string(),
                key: key.clone(),
            };
            let shown = origin.to_string();
            let mut unreadable: Vec<(String, String)> = Vec::new();
            let columns: Vec<(String, Option<String>)> = layout
                .mapped
                .iter()
                .map(|(name, i)| {
                    let text = match &row[*i] {
                        Ok(Some(value)) => Some(db::mapping_text(layout.kinds[*i], value)),
                        Ok(None) => None,
                        Err(reason) => {
                            unreadable.push((name.clone(), reason.clone()));
                            None
                        }
                    };
                    (name.clone(), text)
                })
                .collect();
            let mut cursor_problem = None;
            if tuple.is_none() {
                if let Some((i, reason)) = row[..layout.cursor.len()]
                    .iter()
                    .enumerate()
                    .find_map(|(i, cell)| cell.as_ref().err().map(|r| (i, r)))
                {
                    cursor_problem = Some(format!(
                        "{shown}: cursor column `{}`: {reason}; the row is read but cannot be placed in the cursor's order",
                        layout.cursor[i]
                    ));
                }
            }
            let intake = match mapping.row_record(&shown, columns) {
                Err(error) => Intake::Unmapped {
                    origin,
                    record_id: None,
                    reason: error.to_string(),
                    raw: Arc::new(String::new()),
                },
                Ok(record) if unreadable.is_empty() => to_intake(mapping, source, record, origin, &context),
                Ok(record) => {
                    let raw = marked_raw(&record.raw_text(), &unreadable);
                    let record_id = match to_intake(mapping, source, record, origin.clone(), &context) {
                        Intake::Mapped { value, .. } => value
                            .get("record_id")
                            .and_then(|id| id.as_str())
                            .map(str::to_string),
                        Intake::Unmapped { record_id, .. } => record_id,
                    };
                    let reason = unreadable
                        .iter()
                        .map(|(column, reason)| format!("{shown}: column `{column}`: {reason}"))
                        .collect::<Vec<_>>()
                        .join("; ");
                    Intake::Unmapped {
                        origin,
                        record_id,
                        reason: format!("{reason}; fix the value in the database (the changed row is read again)"),
                        raw: Arc::new(raw),
                    }
                }
            };
            if let Some(problem) = cursor_problem {
                tracing::warn!(source, "{problem}");
            }
            ReadRow { tuple, key, intake }
        })
        .collect()
}

/// The raw row kept in quarantine, with each unreadable cell written as `{"unreadable": reason}`
/// instead of a text: a replay refuses it rather than map the row as if the value were absent.
fn marked_raw(raw: &str, unreadable: &[(String, String)]) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(raw) else {
        return raw.to_string();
    };
    if let Some(record) = value.get_mut("record").and_then(|r| r.as_object_mut()) {
        for (column, reason) in unreadable {
            record.insert(column.clone(), serde_json::json!({ "unreadable": reason }));
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests;
