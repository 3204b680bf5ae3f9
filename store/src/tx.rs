//! [`StoreTx`]: one write transaction. The hub writes a record's version, its outbox rows,
//! the source position and any audit entry together, so a crash leaves either all or none.

use std::collections::{HashMap, HashSet};

use sqlx::{Any, Row, Transaction};

use std::sync::Arc;

use crate::audit::{entry_hash, is_keyed, AuditKey, KEYED_MARKER};
use crate::error::StoreError;
use crate::model::{
    Backend, Entry, NewEntry, NewQuarantine, NewVersion, QuarantineState, VersionRow,
};
use crate::rows::{self, now_ms, param_list, values_list, ROWS_PER_STATEMENT};

/// A write transaction; see [`crate::Store::begin`]. Dropping it without
/// [`commit`](StoreTx::commit) rolls it back. After any error, drop it: on Postgres a failed
/// statement aborts the whole transaction.
pub struct StoreTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    audit_key: Option<Arc<AuditKey>>,
}

impl std::fmt::Debug for StoreTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTx").finish_non_exhaustive()
    }
}

impl StoreTx {
    pub(crate) fn new(tx: Transaction<'static, Any>, backend: Backend) -> StoreTx {
        StoreTx {
            tx,
            backend,
            audit_key: None,
        }
    }

    /// Audit entries appended in this transaction are keyed with `key`.
    pub(crate) fn with_audit_key(mut self, key: Option<Arc<AuditKey>>) -> StoreTx {
        self.audit_key = key;
        self
    }

    /// The transaction's connection, for the crate's other modules.
    pub(crate) fn connection(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// On Postgres, reads of a record's latest version lock its row (`FOR UPDATE`) so two
    /// writers of one record (say the ingest loop and `dhub retract`) take turns instead of
    /// both deriving the same next version. SQLite needs nothing: the transaction already
    /// holds the database's only write lock.
    fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// The record's latest version (locked until commit on Postgres).
    pub async fn latest(&mut self, record_id: &str) -> Result<Option<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM records WHERE record_id = $1{}",
            rows::VERSION_ROW_COLUMNS,
            self.lock_suffix()
        );
        let row = sqlx::query(&sql)
            .bind(record_id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(StoreError::db("read the latest version"))?;
        row.as_ref()
            .map(rows::version_row)
            .transpose()
            .map(|found| found.map(|(_, version)| version))
    }

    /// [`latest`](StoreTx::latest) for a batch: one query per 1,000 ids instead of one per
    /// record. Records never stored are absent from the map.
    pub async fn latest_many(
        &mut self,
        record_ids: &[&str],
    ) -> Result<HashMap<String, VersionRow>, StoreError> {
        let mut found = HashMap::with_capacity(record_ids.len());
        for chunk in record_ids.chunks(ROWS_PER_STATEMENT) {
            // Ordered, so concurrent batches lock rows in the same order and cannot deadlock.
            let sql = format!(
                "SELECT {} FROM records WHERE record_id IN ({}) ORDER BY record_id{}",
                rows::VERSION_ROW_COLUMNS,
                param_list(self.backend, chunk.len()),
                self.lock_suffix()
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            let rows = query
                .fetch_all(&mut *self.tx)
                .await
                .map_err(StoreError::db("read the latest versions"))?;
            for row in &rows {
                let (record_id, version) = rows::version_row(row)?;
                found.insert(record_id, version);
            }
        }
        Ok(found)
    }

    /// Stores a new version and makes it the record's latest (unless a higher version is
    /// already stored). See [`insert_versions`](StoreTx::insert_versions).
    pub async fn insert_version(&mut self, version: &NewVersion) -> Result<(), StoreError> {
        self.insert_versions(std::slice::from_ref(version)).await
    }

    /// Stores new versions, one statement per 1,000, and updates each record's latest-version
    /// row in the same transaction. A version that becomes the latest clears the record's
    /// `retracted` flag: a new version supersedes the withdrawn one, so call
    /// [`mark_retracted`](StoreTx::mark_retracted) after this when the new version is itself a
    /// withdrawal. A version that already exists fails with
    /// [`StoreError::VersionExists`]: versions are immutable.
    pub async fn insert_versions(&mut self, versions: &[NewVersion]) -> Result<(), StoreError> {
        if versions.is_empty() {
            return Ok(());
        }
        let created_at_ms = now_ms();
        for chunk in versions.chunks(ROWS_PER_STATEMENT) {
            // DO NOTHING + RETURNING instead of letting the primary key fail: the rows not
            // returned tell exactly which version was a duplicate, and the transaction stays
            // usable on Postgres.
            let sql = format!(
                "INSERT INTO record_versions ({}) VALUES {} \
                 ON CONFLICT (record_id, version) DO NOTHING RETURNING record_id, version",
                rows::RECORD_VERSION_COLUMNS,
                values_list(self.backend, chunk.len(), 10)
            );
            let mut query = sqlx::query(&sql);
            for v in chunk {
                query = query
                    .bind(v.record_id.as_str())
                    .bind(v.version)
                    .bind(v.content_hash.as_str())
                    .bind(v.status.as_str())
                    .bind(v.record_json.as_str())
                    .bind(v.mapping_name.as_str())
                    .bind(v.mapping_version.as_str())
                    .bind(v.source_name.as_str())
                    .bind(v.origin.as_str())
                    .bind(created_at_ms);
            }
            let inserted = query
                .fetch_all(&mut *self.tx)
                .await
                .map_err(StoreError::db("insert record versions"))?;
            if inserted.len() != chunk.len() {
                return Err(first_duplicate(chunk, &inserted)?);
            }
        }

        // Only the highest version per record in this batch can become its latest (and
        // Postgres refuses to upsert one row twice in a statement).
        let newest = rows::highest_per_record(versions, |v| &v.record_id, |v| v.version);
        for chunk in newest.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO records (record_id, latest_version, latest_hash, latest_status, \
                 retracted, updated_at_ms, platforms) VALUES {} \
                 ON CONFLICT (record_id) DO UPDATE SET latest_version = excluded.latest_version, \
                 latest_hash = excluded.latest_hash, latest_status = excluded.latest_status, \
                 retracted = 0, updated_at_ms = excluded.updated_at_ms, \
                 platforms = excluded.platforms \
                 WHERE records.latest_version < excluded.latest_version",
                values_list(self.backend, chunk.len(), 7)
            );
            let mut query = sqlx::query(&sql);
            for v in chunk {
                query = query
                    .bind(v.record_id.as_str())
                    .bind(v.version)
                    .bind(v.content_hash.as_str())
                    .bind(v.status.as_str())
                    .bind(0_i64)
                    .bind(created_at_ms)
                    .bind(rows::join_platforms(&v.platforms));
            }
            query
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("update latest versions"))?;
        }
        Ok(())
    }

    /// Keeps the source-side stamp of each record's latest version (`dhub_schema::stamp`), after
    /// [`insert_versions`](StoreTx::insert_versions) stored them; `(record_id, stamp)`. Only
    /// versions that carry a stamp come here, so sources without one pay nothing.
    pub async fn set_source_stamps(&mut self, stamps: &[(&str, &str)]) -> Result<(), StoreError> {
        for (record_id, stamp) in stamps {
            sqlx::query("UPDATE records SET source_stamp = $1 WHERE record_id = $2")
                .bind(*stamp)
                .bind(*record_id)
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("keep the source stamps"))?;
        }
        Ok(())
    }

    /// Sets whether the record is withdrawn from the platforms.
    pub async fn mark_retracted(
        &mut self,
        record_id: &str,
        retracted: bool,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE records SET retracted = $1, updated_at_ms = $2 WHERE record_id = $3",
        )
        .bind(i64::from(retracted))
        .bind(now_ms())
        .bind(record_id)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("mark a record retracted"))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::RecordNotFound {
                record_id: record_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Queues envelopes for the relay, one statement per 1,000. Takes the queue's head first: that
    /// serializes appenders until commit, so seq order is commit order (see the migration), and a
    /// relay reading forward never passes over an entry committed later. Returns the entries with
    /// their seqs, for the in-memory hand-off to the relay after commit. On Postgres it also
    /// notifies `dhub_outbox`, delivered at commit, which wakes the relays of other instances.
    pub async fn append_entries(&mut self, entries: &[NewEntry]) -> Result<Vec<Entry>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let count = entries.len() as i64;
        let head = sqlx::query("UPDATE outbox_head SET seq = seq + $1 WHERE id = 1 RETURNING seq")
            .bind(count)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(StoreError::db("take the outbox head"))?
            .ok_or(StoreError::Corrupt {
                table: "outbox_head",
                column: "id",
                key: "1".into(),
            })?;
        let last: i64 = head
            .try_get("seq")
            .map_err(StoreError::db("take the outbox head"))?;
        let first = last - count + 1;
        let created_at_ms = now_ms();
        let mut queued = Vec::with_capacity(entries.len());
        for (n, entry) in entries.iter().enumerate() {
            queued.push(Entry {
                seq: first + n as i64,
                record_id: entry.record_id.clone(),
                version: entry.version,
                op: entry.op,
                platforms: entry.platforms.clone(),
                payload: entry.payload.clone(),
                created_at_ms,
            });
        }
        for chunk in queued.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO outbox_entries ({}) VALUES {}",
                rows::ENTRY_COLUMNS,
                values_list(self.backend, chunk.len(), 7)
            );
            let mut query = sqlx::query(&sql);
            for entry in chunk {
                query = query
                    .bind(entry.seq)
                    .bind(entry.record_id.as_str())
                    .bind(entry.version)
                    .bind(entry.op.as_str())
                    .bind(rows::join_platforms(&entry.platforms))
                    .bind(&entry.payload[..])
                    .bind(entry.created_at_ms);
            }
            query
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("queue outbox entries"))?;
        }
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('dhub_outbox', $1)")
                .bind(last.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("notify the relays"))?;
        }
        Ok(queued)
    }

    /// Marks a parked entry released and returns it (the caller queues it again in this
    /// transaction).
    pub async fn release_parked(
        &mut self,
        platform: &str,
        seq: i64,
    ) -> Result<crate::model::ParkedEntry, StoreError> {
        let sql = format!(
            "UPDATE outbox_parked SET released_at_ms = $1 \
             WHERE platform = $2 AND seq = $3 AND released_at_ms IS NULL RETURNING {}",
            rows::PARKED_COLUMNS
        );
        sqlx::query(&sql)
            .bind(now_ms())
            .bind(platform)
            .bind(seq)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(StoreError::db("release a parked entry"))?
            .as_ref()
            .map(rows::parked_entry)
            .transpose()?
            .ok_or_else(|| StoreError::ParkedNotFound {
                platform: platform.to_string(),
                seq,
            })
    }

    /// Holds a record back; returns the entry's id.
    pub async fn quarantine(&mut self, entry: &NewQuarantine) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO quarantine (source_name, origin, record_id, stage, reason, payload, \
             created_at_ms, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'held') RETURNING id",
        )
        .bind(entry.source_name.as_str())
        .bind(entry.origin.as_str())
        .bind(entry.record_id.as_deref())
        .bind(entry.stage.as_str())
        .bind(entry.reason.as_str())
        .bind(entry.payload.as_str())
        .bind(now_ms())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(StoreError::db("quarantine a record"))?;
        row.try_get("id")
            .map_err(StoreError::db("quarantine a record"))
    }

    /// Marks a held entry replayed or dropped and appends the matching audit entry
    /// (`quarantine.replayed` / `quarantine.dropped`, with the entry's id, source and stage)
    /// in this transaction: the caller need not write one.
    pub async fn resolve_quarantine(
        &mut self,
        id: i64,
        state: QuarantineState,
    ) -> Result<(), StoreError> {
        let kind = match state {
            QuarantineState::Held => return Err(StoreError::InvalidResolution { id }),
            QuarantineState::Replayed => "quarantine.replayed",
            QuarantineState::Dropped => "quarantine.dropped",
        };
        // The `state = 'held'` condition makes a concurrent second resolution find nothing.
        let resolved = sqlx::query(
            "UPDATE quarantine SET state = $1, resolved_at_ms = $2 \
             WHERE id = $3 AND state = 'held' RETURNING source_name, stage, record_id",
        )
        .bind(state.as_str())
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(StoreError::db("resolve a quarantine entry"))?;

        let Some(resolved) = resolved else {
            let current = sqlx::query("SELECT state FROM quarantine WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(StoreError::db("read a quarantine entry"))?;
            let Some(current) = current else {
                return Err(StoreError::QuarantineNotFound { id });
            };
            let text: String = current
                .try_get("state")
                .map_err(StoreError::db("read a quarantine entry"))?;
            let state = QuarantineState::parse(&text).ok_or(StoreError::Corrupt {
                table: "quarantine",
                column: "state",
                key: id.to_string(),
            })?;
            return Err(StoreError::QuarantineNotHeld { id, state });
        };
        let decode = || StoreError::db("resolve a quarantine entry");
        let source: String = resolved.try_get("source_name").map_err(decode())?;
        let stage: String = resolved.try_get("stage").map_err(decode())?;
        let record_id: Option<String> = resolved.try_get("record_id").map_err(decode())?;
        let detail = serde_json::json!({
            "quarantine_id": id,
            "source": source,
            "stage": stage,
        });
        self.audit(kind, record_id.as_deref(), &detail).await
    }

    /// Stores where a source connector has got to, in one scope (the empty scope for sources without
    /// partitions, the partition for Kafka).
    pub async fn set_source_position(
        &mut self,
        source: &str,
        scope: &str,
        position: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO source_cursors (source, scope, position, updated_at_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, scope) DO UPDATE SET position = excluded.position, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(source)
        .bind(scope)
        .bind(position)
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("store a source position"))?;
        Ok(())
    }

    /// Appends an entry to the audit chain (see [`append_audit`]).
    pub async fn audit(
        &mut self,
        kind: &str,
        record_id: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        append_audit(
            &mut *self.tx,
            self.audit_key.as_deref(),
            kind,
            record_id,
            detail,
        )
        .await?;
        Ok(())
    }

    /// Makes everything durable and visible (on SQLite, on disk when this returns).
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx
            .commit()
            .await
            .map_err(StoreError::db("commit a transaction"))
    }

    /// Undoes everything now rather than when the transaction is dropped.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx
            .rollback()
            .await
            .map_err(StoreError::db("roll back a transaction"))
    }
}

/// Names the first version in `chunk` that the insert skipped (already stored, or twice in
/// the batch).
fn first_duplicate(
    chunk: &[NewVersion],
    inserted: &[sqlx::any::AnyRow],
) -> Result<StoreError, StoreError> {
    let mut fresh: HashSet<(String, i64)> = HashSet::with_capacity(inserted.len());
    for row in inserted {
        let decode = || StoreError::db("insert record versions");
        fresh.insert((
            row.try_get("record_id").map_err(decode())?,
            row.try_get("version").map_err(decode())?,
        ));
    }
    for v in chunk {
        // `remove`: the second copy of a version inserted once is the duplicate.
        if !fresh.remove(&(v.record_id.clone(), v.version)) {
            return Ok(StoreError::VersionExists {
                record_id: v.record_id.clone(),
                version: v.version,
            });
        }
    }
    // Unreachable when the counts differ, but say something true rather than panic.
    Ok(StoreError::VersionExists {
        record_id: chunk[0].record_id.clone(),
        version: chunk[0].version,
    })
}

/// Appends an entry to the audit chain and returns its seq. `detail` is stored as its JSON text,
/// exactly as hashed. Appends are serialized: the first statement moves the chain head, which locks
/// its row until commit on Postgres (SQLite's transaction holds the write lock already), so
/// concurrent transactions link one after another, and a rolled-back append leaves no gap.
///
/// With `key`, the entry is keyed; the first keyed append after unkeyed entries writes the
/// [`KEYED_MARKER`] entry before it (see `audit.rs`). Without `key`, a keyed chain is not extended
/// ([`StoreError::AuditKeyRequired`]): an unkeyed entry after keyed ones would read as tampering.
pub(crate) async fn append_audit(
    conn: &mut sqlx::AnyConnection,
    key: Option<&AuditKey>,
    kind: &str,
    record_id: Option<&str>,
    detail: &serde_json::Value,
) -> Result<i64, StoreError> {
    let (seq, prev_hash) = move_audit_head(conn).await?;
    let at_ms = now_ms();
    let prev_hash = match key {
        None if is_keyed(&prev_hash) => return Err(StoreError::AuditKeyRequired),
        Some(key) if !is_keyed(&prev_hash) => {
            let marker = serde_json::json!({"after_seq": seq - 1, "after_hash": prev_hash});
            let hash = insert_audit(
                conn,
                Some(key),
                seq,
                at_ms,
                KEYED_MARKER,
                None,
                &marker.to_string(),
                &prev_hash,
            )
            .await?;
            let (next, _) = move_audit_head(conn).await?;
            debug_assert_eq!(next, seq + 1);
            let detail_text = detail.to_string();
            let entry_hash = insert_audit(
                conn,
                Some(key),
                next,
                at_ms,
                kind,
                record_id,
                &detail_text,
                &hash,
            )
            .await?;
            set_audit_head_hash(conn, &entry_hash).await?;
            return Ok(next);
        }
        _ => prev_hash,
    };
    let detail_text = detail.to_string();
    let hash = insert_audit(
        conn,
        key,
        seq,
        at_ms,
        kind,
        record_id,
        &detail_text,
        &prev_hash,
    )
    .await?;
    set_audit_head_hash(conn, &hash).await?;
    Ok(seq)
}

/// Moves the chain head one seq on; returns the new seq and the previous entry's hash.
async fn move_audit_head(conn: &mut sqlx::AnyConnection) -> Result<(i64, String), StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::db("move the audit chain head"))?;
    let Some(head) = head else {
        return Err(StoreError::Corrupt {
            table: "audit_head",
            column: "id",
            key: "1".into(),
        });
    };
    let decode = || StoreError::db("move the audit chain head");
    Ok((
        head.try_get("seq").map_err(decode())?,
        head.try_get("hash").map_err(decode())?,
    ))
}

async fn set_audit_head_hash(conn: &mut sqlx::AnyConnection, hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("move the audit chain head"))?;
    Ok(())
}

/// Writes one entry; returns its hash.
#[allow(clippy::too_many_arguments)]
async fn insert_audit(
    conn: &mut sqlx::AnyConnection,
    key: Option<&AuditKey>,
    seq: i64,
    at_ms: i64,
    kind: &str,
    record_id: Option<&str>,
    detail_text: &str,
    prev_hash: &str,
) -> Result<String, StoreError> {
    let hash = entry_hash(key, prev_hash, seq, at_ms, kind, record_id, detail_text);
    sqlx::query(
        "INSERT INTO audit (seq, at_ms, kind, record_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(seq)
    .bind(at_ms)
    .bind(kind)
    .bind(record_id)
    .bind(detail_text)
    .bind(prev_hash)
    .bind(hash.as_str())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("append an audit entry"))?;
    Ok(hash)
}
