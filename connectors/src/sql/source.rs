//! The running source: start-up (describe the rows, check the columns, read the stored
//! position), the loop of fast reads and re-reads, storing batches, and waiting out a database or
//! state store that is unavailable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub_mapping::Mapping;
use dhub_schema::intake::{Intake, IntakeBatch, Position};
use dhub_support::retry;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::SqlSettings;
use super::db::{Cell, ColumnInfo, Db, DbError, Dialect, Kind, Sql};
use super::horizon::{Horizon, Seen};
use super::reread::Listing;
use super::rows::{map_rows, ReadRow};
use super::value::{TupleId, Value};
use crate::context::SourceContext;
use crate::ConnectorError;

/// What is stored as the source's position: the cursor's columns (a changed cursor starts from
/// the beginning) and `P`, the first cursor value below which every row is stored.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredPosition {
    pub(super) cursor: Vec<String>,
    pub(super) safe: Option<Value>,
}

/// The columns the source selects and what each is for, worked out once at start.
pub(super) struct Layout {
    /// Quoted and comma-separated: the cursor columns first, then the row key's and the mapping's.
    pub(super) select_list: String,
    /// The quoted table, or `(<query>) AS dhub_rows`.
    pub(super) from: String,
    /// `c1 IS NOT NULL AND …`: a NULL cursor value cannot be ordered or compared.
    pub(super) not_null: String,
    pub(super) order_by: String,
    pub(super) cursor: Vec<String>,
    /// One per selected column.
    pub(super) kinds: Vec<Kind>,
    /// Indices of the row key's columns in the selection.
    pub(super) key: Vec<usize>,
    /// `(column, index in the selection)` of every column the mapping reads.
    pub(super) mapped: Vec<(String, usize)>,
}

impl Layout {
    pub(super) fn cursor_kinds(&self) -> &[Kind] {
        &self.kinds[..self.cursor.len()]
    }
}

/// A running `sql` source.
pub(super) struct SqlSource {
    pub(super) name: String,
    pub(super) settings: SqlSettings,
    pub(super) dialect: Dialect,
    pub(super) db: Db,
    pub(super) mapping: Arc<Mapping>,
    pub(super) layout: Arc<Layout>,
    pub(super) context: SourceContext,
    pub(super) wake: mpsc::Receiver<()>,
    /// The highest cursor values read (the fast read continues after them); `None` until the first
    /// row of this run, when reading starts at `P`.
    pub(super) read: Option<Vec<Value>>,
    pub(super) horizon: Horizon,
    pub(super) seen: Seen,
    /// Whether a repeated cursor value was reported already (once per run is enough).
    pub(super) repeat_reported: bool,
}

/// How many cursor tuples one page of a re-read lists.
pub(super) const KEY_PAGE_MIN: usize = 5000;

impl SqlSource {
    /// Describes the rows, checks the columns, reads the stored position. `None`: shutdown came
    /// while the database was unreachable.
    pub(super) async fn start(
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
    pub(super) async fn run(&mut self) -> Result<(), ConnectorError> {
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

    /// Maps rows on a blocking thread (mapping is CPU work).
    pub(super) async fn map_rows(
        &self,
        rows: Vec<Vec<Cell>>,
    ) -> Result<Vec<ReadRow>, ConnectorError> {
        let layout = self.layout.clone();
        let mapping = self.mapping.clone();
        let source = self.name.clone();
        let table = self.settings.origin_table().to_string();
        let limits = self.settings.limits;
        let documents = crate::documents::LocalDocuments {
            dir: self.settings.documents_dir.clone(),
        };
        tokio::task::spawn_blocking(move || {
            map_rows(&layout, &mapping, &source, &table, rows, &limits, &documents)
        })
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
    pub(super) async fn submit(&mut self, items: Vec<Intake>) -> Result<bool, ConnectorError> {
        let records = items.len();
        let batch = Arc::new(IntakeBatch {
            source: self.name.clone(),
            mapping_name: self.mapping.name().to_string(),
            mapping_version: self.mapping.version().to_string(),
            items,
            positions: self.position(),
            exported: None,
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

    pub(super) async fn fetch(
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
    pub(super) async fn with_retry<T, F, Fut>(
        &mut self,
        mut call: F,
    ) -> Result<Option<T>, ConnectorError>
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
    pub(super) async fn pause(&self, delay: Duration) -> bool {
        let mut shutdown = self.context.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => !self.context.stopping(),
            _ = shutdown.wait_for(|stop| *stop) => false,
        }
    }
}
