//! The re-read (see the module doc of [`crate::sql`]): its listing of cursor values runs in a task
//! of its own, on the pool's second connection, so the fast read never waits for it; the rows it
//! finds missing are fetched and stored between batches, and then `P` moves.

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::db::{Db, DbError, Dialect, Sql};
use super::rows::readable_tuple;
use super::source::{Layout, SqlSource, KEY_PAGE_MIN};
use super::value::{TupleId, Value};
use crate::ConnectorError;

/// What a re-read found: `H` (if one is ripe), the rows of `[P, H]` (with whether their first
/// value equals `H`) and of `(H, last read]`, each with its identity.
pub(super) struct Listing {
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

impl SqlSource {
    /// Starts the re-read's listing (module doc): the cursor values of `[P, H]` and of
    /// `(H, last read]`. `None` when nothing was read in this run yet (the fast read starts at `P`
    /// and has not met a row, so nothing can have committed behind it).
    pub(super) fn start_listing(&mut self) -> Option<JoinHandle<Result<Listing, DbError>>> {
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
    pub(super) async fn finish_resync(
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
}
