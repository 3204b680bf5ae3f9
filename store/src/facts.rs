//! `record_facts`: what the compliance clocks and reports ask of a record's latest version
//! (category, division, agency, `decided_on`, the effective `publicity_until`, the fine in fen, the
//! withdrawal reason and the day its clock starts), written in the ingest transaction, so the
//! publicity sweep, `dhub report deadlines` and `dhub report annual` are indexed queries instead of
//! scans of the stored JSON. Dates are `YYYY-MM-DD` text (they sort as they read) in the hub's
//! time zone.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::model::Backend;
use crate::rows::{self, now_ms, values_list, ROWS_PER_STATEMENT};
use crate::store::Store;
use crate::tx::StoreTx;

const FACT_COLUMNS: &str = "record_id, version, category, status, division_code, agency_uscc, \
     agency_name, decided_on, publicity_until, publicity_basis, fine_fen, status_changed_on, \
     received_on, withdrawn_reason, withdrawn_on, updated_at_ms";

/// The facts of one record version, as the ingest step computed them.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordFacts {
    pub record_id: String,
    pub version: i64,
    /// `disclosure.v1` category (`penalty`, `licensing`, …).
    pub category: String,
    pub status: String,
    /// The deciding agency's division as recorded.
    pub division_code: String,
    pub agency_uscc: Option<String>,
    pub agency_name: String,
    /// `YYYY-MM-DD`.
    pub decided_on: String,
    /// The end of publicity (source's, else the configured period); `None`: no end.
    pub publicity_until: Option<String>,
    /// Why that end (`source`, `minor_penalty`, …, `no_end`).
    pub publicity_basis: String,
    pub fine_fen: Option<i64>,
    pub status_changed_on: Option<String>,
    /// The local date this version was stored.
    pub received_on: String,
    /// CONTRACT §4 retract reason, once the record is withdrawn.
    pub withdrawn_reason: Option<String>,
    /// The day the withdrawal clock starts (`status_changed_on`, else the day it was received).
    pub withdrawn_on: Option<String>,
}

/// Names and dates only: the agency name is public, but keep `Debug` short and uniform.
impl fmt::Debug for RecordFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordFacts")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("category", &self.category)
            .field("decided_on", &self.decided_on)
            .field("publicity_until", &self.publicity_until)
            .field("withdrawn_reason", &self.withdrawn_reason)
            .finish_non_exhaustive()
    }
}

/// What the platforms acknowledged of a record (from `feed_state`), and where it should be shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFacts {
    /// The platforms that show the record once its queued entries are sent (`records.platforms`).
    pub shown_to: Vec<String>,
    /// Whether the record is withdrawn (`records.retracted`).
    pub retracted: bool,
    /// Per platform that acknowledged anything: (last op, first acknowledgement ms, last
    /// acknowledgement ms).
    pub acks: BTreeMap<String, (String, i64, i64)>,
}

impl DeliveryFacts {
    /// When every platform the record is shown on had acknowledged it (the latest of their first
    /// acknowledgements); `None` while one has not. A record shown nowhere is published once any
    /// platform acknowledged it (it was shown, then withdrawn).
    pub fn published_at_ms(&self) -> Option<i64> {
        if self.shown_to.is_empty() {
            return self.acks.values().map(|(_, first, _)| *first).max();
        }
        self.shown_to
            .iter()
            .map(|p| self.acks.get(p).map(|(_, first, _)| *first))
            .collect::<Option<Vec<i64>>>()
            .and_then(|firsts| firsts.into_iter().max())
    }

    /// When the first platform acknowledged the record.
    pub fn first_published_at_ms(&self) -> Option<i64> {
        self.acks.values().map(|(_, first, _)| *first).min()
    }

    /// When every platform that had received the record acknowledged its retraction; `None` while
    /// one still shows it. `Some(None)` when no platform ever received it (nothing to withdraw).
    pub fn withdrawn_at_ms(&self) -> Option<Option<i64>> {
        if self.acks.values().any(|(op, _, _)| op == "upsert") {
            return None;
        }
        Some(self.acks.values().map(|(_, _, last)| *last).max())
    }
}

/// A record's facts with its delivery state, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFacts {
    pub facts: RecordFacts,
    pub delivery: DeliveryFacts,
}

impl StoreTx {
    /// Writes the facts of new versions; of several versions of one record only the highest counts,
    /// and a stored row of a higher version is kept. A withdrawal that carries on (the record was
    /// withdrawn already and the new version says no `status_changed_on`) keeps its first day.
    pub async fn upsert_facts(&mut self, facts: &[RecordFacts]) -> Result<(), StoreError> {
        let newest = crate::rows::highest_per_record(facts, |f| &f.record_id, |f| f.version);
        let updated_at_ms = now_ms();
        for chunk in newest.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO record_facts ({FACT_COLUMNS}) VALUES {} \
                 ON CONFLICT (record_id) DO UPDATE SET version = excluded.version, \
                 category = excluded.category, status = excluded.status, \
                 division_code = excluded.division_code, agency_uscc = excluded.agency_uscc, \
                 agency_name = excluded.agency_name, decided_on = excluded.decided_on, \
                 publicity_until = excluded.publicity_until, \
                 publicity_basis = excluded.publicity_basis, fine_fen = excluded.fine_fen, \
                 status_changed_on = excluded.status_changed_on, \
                 received_on = excluded.received_on, \
                 withdrawn_on = CASE WHEN excluded.withdrawn_reason IS NOT NULL \
                   AND record_facts.withdrawn_reason IS NOT NULL \
                   AND excluded.status_changed_on IS NULL \
                   THEN record_facts.withdrawn_on ELSE excluded.withdrawn_on END, \
                 withdrawn_reason = excluded.withdrawn_reason, \
                 updated_at_ms = excluded.updated_at_ms \
                 WHERE record_facts.version < excluded.version",
                values_list(self.backend, chunk.len(), 16)
            );
            let mut query = sqlx::query(&sql);
            for f in chunk {
                query = query
                    .bind(f.record_id.as_str())
                    .bind(f.version)
                    .bind(f.category.as_str())
                    .bind(f.status.as_str())
                    .bind(f.division_code.as_str())
                    .bind(f.agency_uscc.clone())
                    .bind(f.agency_name.as_str())
                    .bind(f.decided_on.as_str())
                    .bind(f.publicity_until.clone())
                    .bind(f.publicity_basis.as_str())
                    .bind(f.fine_fen)
                    .bind(f.status_changed_on.clone())
                    .bind(f.received_on.as_str())
                    .bind(f.withdrawn_reason.clone())
                    .bind(f.withdrawn_on.clone())
                    .bind(updated_at_ms);
            }
            query
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("write record facts"))?;
        }
        Ok(())
    }

    /// Records a withdrawal by hand or by the publicity sweep: `version` is the withdrawing version,
    /// `on` the day its clock starts. A record without facts (stored before they were kept and not
    /// carried over) is left alone.
    pub async fn withdraw_facts(
        &mut self,
        record_id: &str,
        version: i64,
        reason: &str,
        on: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE record_facts SET version = $1, withdrawn_reason = $2, \
             withdrawn_on = COALESCE(withdrawn_on, $3), updated_at_ms = $4 \
             WHERE record_id = $5 AND version < $1",
        )
        .bind(version)
        .bind(reason)
        .bind(on)
        .bind(now_ms())
        .bind(record_id)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("withdraw record facts"))?;
        Ok(())
    }
}

impl Store {
    /// Records still shown whose publicity ended before `today` (`publicity_until < today`), at most
    /// `limit`, earliest end first (the partial index `record_facts_publicity`).
    pub async fn publicity_expired(
        &self,
        today: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let found = sqlx::query(
            "SELECT record_id FROM record_facts WHERE withdrawn_reason IS NULL \
             AND publicity_until IS NOT NULL AND publicity_until < $1 \
             ORDER BY publicity_until, record_id LIMIT $2",
        )
        .bind(today)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::db("find expired publicity"))?;
        found
            .iter()
            .map(|row| {
                row.try_get("record_id")
                    .map_err(StoreError::db("find expired publicity"))
            })
            .collect()
    }

    /// The earliest publicity end of the records still shown: the sweep's next wake-up.
    pub async fn next_publicity_end(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(publicity_until) AS until FROM record_facts \
             WHERE withdrawn_reason IS NULL AND publicity_until IS NOT NULL",
        )
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::db("find the next publicity end"))?;
        row.try_get::<Option<String>, _>("until")
            .map_err(StoreError::db("find the next publicity end"))
    }

    /// Facts with delivery state, `limit` at a time in record-id order after `after`; with
    /// `decided` only the records decided in `[from, to]` (`YYYY-MM-DD`, index `record_facts_decided`).
    pub async fn facts_page(
        &self,
        after: Option<&str>,
        decided: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<StoredFacts>, StoreError> {
        let mut conditions = vec!["1 = 1".to_string()];
        let mut n = 1;
        if after.is_some() {
            n += 1;
            conditions.push(format!("f.record_id > ${n}"));
        }
        if decided.is_some() {
            conditions.push(format!(
                "f.decided_on >= ${} AND f.decided_on <= ${}",
                n + 1,
                n + 2
            ));
        }
        let sql = format!(
            "SELECT {}, r.platforms AS shown_to, r.retracted AS retracted FROM record_facts f \
             JOIN records r ON r.record_id = f.record_id WHERE {} ORDER BY f.record_id LIMIT $1",
            FACT_COLUMNS
                .split(", ")
                .map(|c| format!("f.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            conditions.join(" AND ")
        );
        let mut query = sqlx::query(&sql).bind(limit);
        if let Some(after) = after {
            query = query.bind(after);
        }
        if let Some((from, to)) = decided {
            query = query.bind(from).bind(to);
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("read record facts"))?;
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let facts = decode_facts(row)?;
            let decode = || StoreError::db("read record facts");
            let shown: String = row.try_get("shown_to").map_err(decode())?;
            let retracted: i64 = row.try_get("retracted").map_err(decode())?;
            page.push(StoredFacts {
                facts,
                delivery: DeliveryFacts {
                    shown_to: rows::split_platforms(&shown),
                    retracted: retracted != 0,
                    acks: BTreeMap::new(),
                },
            });
        }
        let ids: Vec<&str> = page.iter().map(|s| s.facts.record_id.as_str()).collect();
        let mut acks = self.acks_of(&ids).await?;
        for stored in &mut page {
            if let Some(found) = acks.remove(&stored.facts.record_id) {
                stored.delivery.acks = found;
            }
        }
        Ok(page)
    }

    /// Every record's facts with delivery state (optionally only those decided in `[from, to]`).
    pub async fn all_facts(
        &self,
        decided: Option<(&str, &str)>,
    ) -> Result<Vec<StoredFacts>, StoreError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.facts_page(after.as_deref(), decided, 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.facts.record_id.clone());
            let full = page.len() == 1000;
            all.extend(page);
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// The `feed_state` rows of these records (index `feed_state_record`), by record.
    async fn acks_of(
        &self,
        record_ids: &[&str],
    ) -> Result<HashMap<String, BTreeMap<String, (String, i64, i64)>>, StoreError> {
        let mut found: HashMap<String, BTreeMap<String, (String, i64, i64)>> = HashMap::new();
        for chunk in record_ids.chunks(ROWS_PER_STATEMENT) {
            let placeholders = match self.backend() {
                Backend::Postgres => (1..=chunk.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                Backend::Sqlite => vec!["?"; chunk.len()].join(", "),
            };
            let sql = format!(
                "SELECT record_id, platform, op, first_acked_at_ms, acked_at_ms FROM feed_state \
                 WHERE record_id IN ({placeholders})"
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            let rows = query
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::db("read feed state of records"))?;
            for row in &rows {
                let decode = || StoreError::db("read feed state of records");
                let record_id: String = row.try_get("record_id").map_err(decode())?;
                let platform: String = row.try_get("platform").map_err(decode())?;
                let op: String = row.try_get("op").map_err(decode())?;
                let first: i64 = row.try_get("first_acked_at_ms").map_err(decode())?;
                let last: i64 = row.try_get("acked_at_ms").map_err(decode())?;
                found
                    .entry(record_id)
                    .or_default()
                    .insert(platform, (op, first, last));
            }
        }
        Ok(found)
    }

    /// Records whose facts were carried over by the migration (publicity basis `carried`), with
    /// their latest JSON, so the hub can compute their publicity period with its configured rules.
    pub async fn carried_facts(&self, limit: i64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.record_id AS record_id, v.record_json AS record_json FROM record_facts f \
             JOIN record_versions v ON v.record_id = f.record_id AND v.version = f.version \
             WHERE f.publicity_basis = 'carried' ORDER BY f.record_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::db("read carried record facts"))?;
        rows.iter()
            .map(|row| {
                let decode = || StoreError::db("read carried record facts");
                Ok((
                    row.try_get("record_id").map_err(decode())?,
                    row.try_get("record_json").map_err(decode())?,
                ))
            })
            .collect()
    }

    /// Sets a carried-over record's publicity end as the configured rules give it.
    pub async fn set_publicity(
        &self,
        record_id: &str,
        until: Option<&str>,
        basis: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE record_facts SET publicity_until = $1, publicity_basis = $2, updated_at_ms = $3 \
             WHERE record_id = $4",
        )
        .bind(until)
        .bind(basis)
        .bind(now_ms())
        .bind(record_id)
        .execute(self.pool())
        .await
        .map_err(StoreError::db("set a publicity end"))?;
        Ok(())
    }
}

fn decode_facts(row: &AnyRow) -> Result<RecordFacts, StoreError> {
    let decode = || StoreError::db("read record facts");
    Ok(RecordFacts {
        record_id: row.try_get("record_id").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        category: row.try_get("category").map_err(decode())?,
        status: row.try_get("status").map_err(decode())?,
        division_code: row.try_get("division_code").map_err(decode())?,
        agency_uscc: row.try_get("agency_uscc").map_err(decode())?,
        agency_name: row.try_get("agency_name").map_err(decode())?,
        decided_on: row.try_get("decided_on").map_err(decode())?,
        publicity_until: row.try_get("publicity_until").map_err(decode())?,
        publicity_basis: row.try_get("publicity_basis").map_err(decode())?,
        fine_fen: row.try_get("fine_fen").map_err(decode())?,
        status_changed_on: row.try_get("status_changed_on").map_err(decode())?,
        received_on: row.try_get("received_on").map_err(decode())?,
        withdrawn_reason: row.try_get("withdrawn_reason").map_err(decode())?,
        withdrawn_on: row.try_get("withdrawn_on").map_err(decode())?,
    })
}
