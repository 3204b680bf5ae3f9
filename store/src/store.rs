//! [`Store`]: the pool, plus everything that reads or writes outside a caller's transaction
//! (the outbox relay's scan and acknowledgements, and the queries behind the CLI).

use std::sync::Arc;

use sqlx::{Any, AnyPool, Row, Transaction};

use crate::audit::{entry_checks_out, is_keyed, AuditKey, ChainCheck};
use crate::connect;
use crate::error::StoreError;
use crate::model::{
    AuditCheck, Backend, CurrentRecord, QuarantineEntry, RecordHistory, VersionRow,
};
use crate::rows;
use crate::tx::StoreTx;

/// Audit entries read per round trip while verifying: bounded memory for any chain length.
const AUDIT_PAGE: i64 = 5000;

/// The hub's state store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// `[hub] audit_key`: audit entries are keyed with it, and checked with it.
    audit_key: Option<Arc<AuditKey>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `sqlite://PATH` (creating the file and its directory) or `postgres://…`, and
    /// applies any migrations not yet applied (so connecting twice is harmless).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let (pool, backend) = connect::open(url).await?;
        Ok(Store {
            pool,
            backend,
            audit_key: None,
        })
    }

    /// The same store, keying the audit entries it appends (and checking them) with `key`.
    pub fn with_audit_key(mut self, key: Option<AuditKey>) -> Store {
        self.audit_key = key.map(Arc::new);
        self
    }

    pub(crate) fn audit_key(&self) -> Option<&AuditKey> {
        self.audit_key.as_deref()
    }

    /// At start-up: whether this process can extend the chain. `Err` when the chain is keyed and no
    /// key is configured, or when the configured key does not verify the last entry (a wrong key
    /// would otherwise only show at the next `dhub audit verify`).
    pub async fn check_audit_key(&self) -> Result<(), StoreError> {
        let (seq, hash) = self.audit_head().await?;
        if !is_keyed(&hash) {
            return Ok(());
        }
        let Some(key) = self.audit_key() else {
            return Err(StoreError::AuditKeyRequired);
        };
        let sql = format!("SELECT {} FROM audit WHERE seq = $1", rows::AUDIT_COLUMNS);
        let last = sqlx::query(&sql)
            .bind(seq)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("read the last audit entry"))?
            .as_ref()
            .map(rows::audit_entry)
            .transpose()?;
        match last {
            Some(entry) if entry_checks_out(Some(key), &entry) => Ok(()),
            _ => Err(StoreError::AuditKeyMismatch { seq }),
        }
    }

    /// The chain head: the last seq and its hash (seq 0 and [`crate::GENESIS_HASH`] when empty).
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("read the audit chain head"))?
            .ok_or(StoreError::Corrupt {
                table: "audit_head",
                column: "id",
                key: "1".into(),
            })?;
        let decode = || StoreError::db("read the audit chain head");
        Ok((
            row.try_get("seq").map_err(decode())?,
            row.try_get("hash").map_err(decode())?,
        ))
    }

    /// The stored hash of the entry `seq`, if it exists.
    pub async fn audit_hash_at(&self, seq: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT hash FROM audit WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("read an audit entry"))?;
        row.map(|row| row.try_get("hash"))
            .transpose()
            .map_err(StoreError::db("read an audit entry"))
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers when the database does (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("answer a ping"))?;
        Ok(())
    }

    /// Closes every connection; later calls fail with a non-retryable error.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction. Nothing it does is visible to others until
    /// [`StoreTx::commit`]; dropping it without commit rolls everything back.
    ///
    /// On SQLite this takes the write lock at once (`BEGIN IMMEDIATE`): SQLite has one writer,
    /// and a transaction that read first and then tried to write could otherwise fail with
    /// SQLITE_BUSY no matter how long it waited. Writers thus queue up (see the busy timeout in
    /// `connect.rs`); readers are never blocked. While holding a `StoreTx`, use its methods,
    /// not the `Store`'s: the pool is small, and waiting on it while holding a connection can
    /// stall.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        Ok(StoreTx::new(self.write_tx().await?, self.backend)
            .with_audit_key(self.audit_key.clone()))
    }

    pub(crate) async fn write_tx(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.map_err(StoreError::db("begin a transaction"))
    }

    /// A read-only transaction over one consistent snapshot, for answers assembled from
    /// several queries (`history`, `audit_verify`).
    pub(crate) async fn snapshot(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.backend {
            // A deferred transaction's first read fixes its WAL snapshot.
            Backend::Sqlite => self.pool.begin().await,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        };
        tx.map_err(StoreError::db("begin a read transaction"))
    }

    /// The pool, for the other `impl Store` blocks of this crate.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// How many entries wait for any feed: the sum of every platform's backlog (for commands and
    /// the status page; the running relay keeps its own count). Counts rows, never loads payloads.
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        let mut total = 0;
        for platform in self.feed_marks().await?.keys() {
            total += self.backlog(platform).await?;
        }
        Ok(total)
    }

    /// Where a source connector left off: every scope it stored a position for (one, under the empty
    /// scope, for sources without partitions), in scope order.
    pub async fn source_positions(
        &self,
        source: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope, position FROM source_cursors WHERE source = $1 ORDER BY scope",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("read source positions"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("scope")?, row.try_get("position")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::db("read source positions"))
    }

    /// The position of a source without partitions (the empty scope), if it ever stored one.
    pub async fn source_position(&self, source: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .source_positions(source)
            .await?
            .into_iter()
            .find(|(scope, _)| scope.is_empty())
            .map(|(_, position)| position))
    }

    /// The record's latest version, outside any transaction.
    pub async fn latest(&self, record_id: &str) -> Result<Option<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM records WHERE record_id = $1",
            rows::VERSION_ROW_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(record_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("read the latest version"))?;
        row.as_ref()
            .map(rows::version_row)
            .transpose()
            .map(|found| found.map(|(_, version)| version))
    }

    /// Everything about one record, read from one snapshot, for `dhub trace`.
    pub async fn history(&self, record_id: &str) -> Result<RecordHistory, StoreError> {
        let mut tx = self.snapshot().await?;
        let latest_sql = format!(
            "SELECT {} FROM records WHERE record_id = $1",
            rows::VERSION_ROW_COLUMNS
        );
        let latest = sqlx::query(&latest_sql)
            .bind(record_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::db("read the latest version"))?
            .as_ref()
            .map(rows::version_row)
            .transpose()?
            .map(|(_, version)| version);

        let versions_sql = format!(
            "SELECT {} FROM record_versions WHERE record_id = $1 ORDER BY version",
            rows::RECORD_VERSION_COLUMNS
        );
        let versions = sqlx::query(&versions_sql)
            .bind(record_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("read record versions"))?
            .iter()
            .map(rows::record_version)
            .collect::<Result<Vec<_>, _>>()?;

        let queued_sql = format!(
            "SELECT {} FROM outbox_entries WHERE record_id = $1 ORDER BY seq",
            rows::ENTRY_COLUMNS
        );
        let queued = sqlx::query(&queued_sql)
            .bind(record_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("read outbox entries"))?
            .iter()
            .map(rows::entry)
            .collect::<Result<Vec<_>, _>>()?;

        let deliveries_sql = format!(
            "SELECT {} FROM feed_state WHERE record_id = $1 ORDER BY platform",
            rows::FEED_STATE_COLUMNS
        );
        let deliveries = sqlx::query(&deliveries_sql)
            .bind(record_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("read feed state"))?
            .iter()
            .map(rows::feed_state)
            .collect::<Result<Vec<_>, _>>()?;

        let parked_sql = format!(
            "SELECT {} FROM outbox_parked WHERE record_id = $1 ORDER BY platform, seq",
            rows::PARKED_COLUMNS
        );
        let parked = sqlx::query(&parked_sql)
            .bind(record_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("read parked entries"))?
            .iter()
            .map(rows::parked_entry)
            .collect::<Result<Vec<_>, _>>()?;

        let quarantine_sql = format!(
            "SELECT {} FROM quarantine WHERE record_id = $1 ORDER BY id",
            rows::QUARANTINE_COLUMNS
        );
        let quarantine = sqlx::query(&quarantine_sql)
            .bind(record_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("read quarantine entries"))?
            .iter()
            .map(rows::quarantine_entry)
            .collect::<Result<Vec<_>, _>>()?;

        let audit_sql = format!(
            "SELECT {} FROM audit WHERE record_id = $1 ORDER BY seq",
            rows::AUDIT_COLUMNS
        );
        let audit = sqlx::query(&audit_sql)
            .bind(record_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("read audit entries"))?
            .iter()
            .map(rows::audit_entry)
            .collect::<Result<Vec<_>, _>>()?;

        tx.rollback()
            .await
            .map_err(StoreError::db("end a read transaction"))?;
        Ok(RecordHistory {
            record_id: record_id.to_owned(),
            latest,
            versions,
            queued,
            deliveries,
            parked,
            quarantine,
            audit,
        })
    }

    /// How many entries are held in quarantine (a count: no payload is read).
    pub async fn quarantine_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM quarantine WHERE state = 'held'")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::db("count quarantine entries"))?;
        row.try_get("n")
            .map_err(StoreError::db("count quarantine entries"))
    }

    /// Held quarantine entries counted by the stage that refused them (stage → count).
    pub async fn quarantine_held_by_stage(
        &self,
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT stage, COUNT(*) AS n FROM quarantine WHERE state = 'held' GROUP BY stage",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("count quarantine entries by stage"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("stage")?, row.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::db("count quarantine entries by stage"))
    }

    /// Quarantine entries in id order: only held ones, or all of them.
    pub async fn quarantine_list(
        &self,
        include_resolved: bool,
    ) -> Result<Vec<QuarantineEntry>, StoreError> {
        let filter = if include_resolved {
            ""
        } else {
            "WHERE state = 'held' "
        };
        let sql = format!(
            "SELECT {} FROM quarantine {filter}ORDER BY id",
            rows::QUARANTINE_COLUMNS
        );
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("list quarantine entries"))?
            .iter()
            .map(rows::quarantine_entry)
            .collect()
    }

    /// One quarantine entry, in any state.
    pub async fn quarantine_get(&self, id: i64) -> Result<Option<QuarantineEntry>, StoreError> {
        let sql = format!(
            "SELECT {} FROM quarantine WHERE id = $1",
            rows::QUARANTINE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("read a quarantine entry"))?
            .as_ref()
            .map(rows::quarantine_entry)
            .transpose()
    }

    /// Recomputes the audit chain from its first entry, on one snapshot (appends running
    /// meanwhile are neither seen nor mistaken for tampering), and names the first entry that
    /// does not check out. Keyed entries are checked with the store's audit key (see `audit.rs`).
    pub async fn audit_verify(&self) -> Result<AuditCheck, StoreError> {
        let mut tx = self.snapshot().await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::db("read the audit chain head"))?;
        let Some(head) = head else {
            return Err(StoreError::Corrupt {
                table: "audit_head",
                column: "id",
                key: "1".into(),
            });
        };
        let head_seq: i64 = head
            .try_get("seq")
            .map_err(StoreError::db("read the audit chain head"))?;
        let head_hash: String = head
            .try_get("hash")
            .map_err(StoreError::db("read the audit chain head"))?;

        let mut check = ChainCheck::new(head_seq, self.audit_key().cloned());
        // Pages continue after the last seq seen rather than by OFFSET: each page is an index
        // range scan, and a missing seq cannot shift entries between pages.
        let sql = format!(
            "SELECT {} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            rows::AUDIT_COLUMNS
        );
        let mut after = i64::MIN;
        loop {
            let page = sqlx::query(&sql)
                .bind(after)
                .bind(AUDIT_PAGE)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("read audit entries"))?;
            for row in &page {
                let entry = rows::audit_entry(row)?;
                if let Err(broken) = check.next(&entry) {
                    return Ok(broken);
                }
                after = entry.seq;
            }
            if (page.len() as i64) < AUDIT_PAGE {
                break;
            }
        }
        tx.rollback()
            .await
            .map_err(StoreError::db("end a read transaction"))?;
        Ok(check.finish(&head_hash))
    }

    /// Records with their latest version, in record-id order, `limit` at a time after
    /// `after_record_id`: for reports that walk every record (annual statistics, deadlines).
    pub async fn current_records(
        &self,
        after_record_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CurrentRecord>, StoreError> {
        let filter = if after_record_id.is_some() {
            "WHERE r.record_id > $2 "
        } else {
            ""
        };
        let sql = format!(
            "SELECT r.record_id, r.latest_version, r.latest_status, r.retracted, v.record_json \
             FROM records r JOIN record_versions v \
             ON v.record_id = r.record_id AND v.version = r.latest_version \
             {filter}ORDER BY r.record_id LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(limit);
        if let Some(after) = after_record_id {
            query = query.bind(after);
        }
        let found = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read current records"))?;
        found
            .iter()
            .map(|row| {
                let decode = || StoreError::db("read current records");
                let retracted: i64 = row.try_get("retracted").map_err(decode())?;
                Ok(CurrentRecord {
                    record_id: row.try_get("record_id").map_err(decode())?,
                    version: row.try_get("latest_version").map_err(decode())?,
                    status: row.try_get("latest_status").map_err(decode())?,
                    retracted: retracted != 0,
                    record_json: row.try_get("record_json").map_err(decode())?,
                })
            })
            .collect()
    }
}
