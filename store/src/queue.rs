//! The outbox queue on the relay's side: entries read forward from a feed's mark, acknowledgements
//! recorded as a new mark plus the narrow per-platform state, pruning below every feed's mark,
//! parked entries. The ingest side appends with [`crate::StoreTx::append_entries`].
//!
//! A feed's mark is the highest seq up to which every entry for that platform is acknowledged (or
//! parked). The relay keeps the acknowledgements above it in memory and moves the mark only over a
//! contiguous run, so a crash resends at most what was in flight: at least once, never a gap.

use std::collections::HashMap;

use sqlx::Row;

use crate::error::StoreError;
use crate::model::{Backend, Entry, FeedAck, FeedState, NewEntry, ParkedEntry};
use crate::rows::{self, now_ms, values_list, ROWS_PER_STATEMENT};
use crate::store::Store;
use crate::tx::append_audit;

/// One feed's acknowledgements for [`Store::record_acks_of_feeds`].
#[derive(Debug, Clone, Copy)]
pub struct FeedAcks<'a> {
    pub platform: &'a str,
    /// The feed's new mark: every entry for it up to here is acknowledged or parked.
    pub mark: i64,
    pub acks: &'a [FeedAck],
    /// The feed's Kafka topic, recorded with the deliveries in the audit chain.
    pub topic: Option<&'a str>,
    /// `(lease, holder)`: written only while `holder` holds `lease`.
    pub fence: Option<(&'a str, &'a str)>,
}

/// Entries deleted per statement while pruning: keeps each transaction short, so the writer lock is
/// never held long.
pub const PRUNE_PER_STATEMENT: i64 = 5000;

impl Store {
    /// The last seq handed out (0 on an empty queue).
    pub async fn head_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT seq FROM outbox_head WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::db("read the outbox head"))?;
        row.try_get("seq")
            .map_err(StoreError::db("read the outbox head"))
    }

    /// Up to `limit` entries with `seq > after`, in seq order.
    pub async fn entries_after(&self, after: i64, limit: i64) -> Result<Vec<Entry>, StoreError> {
        let sql = format!(
            "SELECT {} FROM outbox_entries WHERE seq > $1 ORDER BY seq LIMIT $2",
            rows::ENTRY_COLUMNS
        );
        sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("read outbox entries"))?
            .iter()
            .map(rows::entry)
            .collect()
    }

    /// Every feed's mark, by platform.
    pub async fn feed_marks(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query("SELECT platform, seq FROM feed_marks")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("read feed marks"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("platform")?, row.try_get("seq")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::db("read feed marks"))
    }

    /// Gives every platform without a mark one at the queue's head: a platform added to the config
    /// gets what is queued from now on, not the history.
    pub async fn ensure_feed_marks(&self, platforms: &[String]) -> Result<(), StoreError> {
        for platform in platforms {
            sqlx::query(
                "INSERT INTO feed_marks (platform, seq, updated_at_ms) \
                 SELECT $1, seq, $2 FROM outbox_head WHERE id = 1 \
                 ON CONFLICT (platform) DO NOTHING",
            )
            .bind(platform.as_str())
            .bind(now_ms())
            .execute(self.pool())
            .await
            .map_err(StoreError::db("create a feed mark"))?;
        }
        Ok(())
    }

    /// Records a feed's acknowledgements: the per-platform state of each record (one statement per
    /// 1,000; an older seq never overwrites a newer one), a `feed.delivered` audit entry listing
    /// `[record_id, version, op, partition, offset]` per delivery, and the feed's new mark, in one
    /// transaction.
    /// With `fence = Some((lease, holder))` nothing is written unless that lease is still held by
    /// `holder` (another instance took the feed over): returns `false` then.
    pub async fn record_acks(
        &self,
        platform: &str,
        mark: i64,
        acks: &[FeedAck],
        fence: Option<(&str, &str)>,
    ) -> Result<bool, StoreError> {
        let written = self
            .record_acks_of_feeds(&[FeedAcks {
                platform,
                mark,
                acks,
                topic: None,
                fence,
            }])
            .await?;
        Ok(written.first().copied().unwrap_or(false))
    }

    /// [`Store::record_acks`] for several feeds in one transaction (one commit for every feed of an
    /// instance): whether each feed's acknowledgements were written, in the order given.
    pub async fn record_acks_of_feeds(
        &self,
        feeds: &[FeedAcks<'_>],
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut written = Vec::with_capacity(feeds.len());
        for feed in feeds {
            if let Some((lease, holder)) = feed.fence {
                let held = sqlx::query("SELECT holder FROM leases WHERE name = $1 AND holder = $2")
                    .bind(lease)
                    .bind(holder)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::db("check a lease"))?;
                if held.is_none() {
                    written.push(false);
                    continue;
                }
            }
            // One row per record: a round can acknowledge two versions of one record (an upsert
            // and its retraction), and Postgres refuses an upsert that touches a row twice
            // ("ON CONFLICT DO UPDATE command cannot affect row a second time"), which would
            // fail the round for good. The audit entry below still lists every delivery.
            let latest = rows::highest_per_record(feed.acks, |a| &a.record_id, |a| a.seq);
            for chunk in latest.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO feed_state ({}) VALUES {} \
                     ON CONFLICT (platform, record_id) DO UPDATE SET version = excluded.version, \
                     op = excluded.op, seq = excluded.seq, kafka_partition = excluded.kafka_partition, \
                     kafka_offset = excluded.kafka_offset, acked_at_ms = excluded.acked_at_ms \
                     WHERE feed_state.seq <= excluded.seq",
                    rows::FEED_STATE_COLUMNS,
                    values_list(self.backend(), chunk.len(), 9)
                );
                let mut query = sqlx::query(&sql);
                for ack in chunk {
                    query = query
                        .bind(feed.platform)
                        .bind(ack.record_id.as_str())
                        .bind(ack.version)
                        .bind(ack.op.as_str())
                        .bind(ack.seq)
                        .bind(i64::from(ack.partition))
                        .bind(ack.offset)
                        .bind(ack.acked_at_ms)
                        .bind(ack.acked_at_ms);
                }
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("record feed state"))?;
            }
            if !feed.acks.is_empty() {
                // The deliveries go into the audit chain with the state they update: what a
                // platform was sent, where, is as tamper-evident as what was stored.
                let deliveries: Vec<serde_json::Value> = feed
                    .acks
                    .iter()
                    .map(|ack| {
                        serde_json::json!([
                            ack.record_id,
                            ack.version,
                            ack.op.as_str(),
                            ack.partition,
                            ack.offset
                        ])
                    })
                    .collect();
                append_audit(
                    &mut *tx,
                    self.audit_key(),
                    "feed.delivered",
                    None,
                    &serde_json::json!({
                        "platform": feed.platform,
                        "topic": feed.topic,
                        "deliveries": deliveries,
                    }),
                )
                .await?;
            }
            sqlx::query(
                "INSERT INTO feed_marks (platform, seq, updated_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (platform) DO UPDATE SET seq = excluded.seq, \
                 updated_at_ms = excluded.updated_at_ms WHERE feed_marks.seq < excluded.seq",
            )
            .bind(feed.platform)
            .bind(feed.mark)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("move a feed mark"))?;
            written.push(true);
        }
        tx.commit()
            .await
            .map_err(StoreError::db("commit feed acknowledgements"))?;
        Ok(written)
    }

    /// Deletes entries every listed feed has acknowledged and that were queued before
    /// `queued_before_ms` (delivered entries may be kept a while: `[hub] keep_delivered_ms`), at
    /// most a few thousand per call; call again while it returns a full count. Returns how many went.
    pub async fn prune(
        &self,
        platforms: &[String],
        queued_before_ms: i64,
    ) -> Result<i64, StoreError> {
        if platforms.is_empty() {
            return Ok(0);
        }
        let (marks, cutoff) = match self.backend() {
            Backend::Postgres => (
                (2..=platforms.len() + 1)
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                "$1".to_string(),
            ),
            Backend::Sqlite => (vec!["?"; platforms.len()].join(", "), "?".to_string()),
        };
        // SQLite binds `?` in order of appearance: there the cutoff is bound after the platforms.
        let sql = format!(
            "DELETE FROM outbox_entries WHERE seq IN (SELECT seq FROM outbox_entries \
             WHERE seq <= (SELECT MIN(seq) FROM feed_marks WHERE platform IN ({marks})) \
             AND created_at_ms < {cutoff} ORDER BY seq LIMIT {PRUNE_PER_STATEMENT})"
        );
        let mut query = sqlx::query(&sql);
        if self.backend() == Backend::Postgres {
            query = query.bind(queued_before_ms);
        }
        for platform in platforms {
            query = query.bind(platform.as_str());
        }
        if self.backend() == Backend::Sqlite {
            query = query.bind(queued_before_ms);
        }
        let deleted = query
            .execute(self.pool())
            .await
            .map_err(StoreError::db("prune the outbox"))?;
        Ok(deleted.rows_affected() as i64)
    }

    /// How many entries wait for a platform's feed (above its mark). A count over the queue, never
    /// its payloads.
    pub async fn backlog(&self, platform: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox_entries \
             WHERE seq > COALESCE((SELECT seq FROM feed_marks WHERE platform = $1), 0) \
             AND (' ' || platforms || ' ') LIKE ('% ' || $1 || ' %')",
        )
        .bind(platform)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::db("count a feed's backlog"))?;
        row.try_get("n")
            .map_err(StoreError::db("count a feed's backlog"))
    }

    /// Sets an entry aside for one feed (the broker refuses it for good); the feed's relay then
    /// counts it as done, so the entries behind it go on.
    pub async fn park(
        &self,
        platform: &str,
        entry: &Entry,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO outbox_parked (platform, seq, record_id, version, op, payload, reason, \
             parked_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (platform, seq) DO NOTHING",
        )
        .bind(platform)
        .bind(entry.seq)
        .bind(entry.record_id.as_str())
        .bind(entry.version)
        .bind(entry.op.as_str())
        .bind(&entry.payload[..])
        .bind(reason)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .map_err(StoreError::db("park an outbox entry"))?;
        Ok(())
    }

    /// Parked entries in (platform, seq) order: those still parked, or all.
    pub async fn parked(&self, include_released: bool) -> Result<Vec<ParkedEntry>, StoreError> {
        let filter = if include_released {
            ""
        } else {
            "WHERE released_at_ms IS NULL "
        };
        let sql = format!(
            "SELECT {} FROM outbox_parked {filter}ORDER BY platform, seq",
            rows::PARKED_COLUMNS
        );
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("read parked entries"))?
            .iter()
            .map(rows::parked_entry)
            .collect()
    }

    /// Queues a parked entry again for its platform (after the broker's limit was raised, say), in
    /// one transaction with the release and its audit entry. Returns the new entry.
    pub async fn release_parked(&self, platform: &str, seq: i64) -> Result<Entry, StoreError> {
        let mut tx = self.begin().await?;
        let parked = tx.release_parked(platform, seq).await?;
        let queued = tx
            .append_entries(&[NewEntry {
                record_id: parked.record_id.clone(),
                version: parked.version,
                op: parked.op,
                platforms: vec![platform.to_string()],
                payload: parked.payload.clone(),
            }])
            .await?;
        tx.audit(
            "outbox.released",
            Some(&parked.record_id),
            &serde_json::json!({"platform": platform, "seq": seq, "queued_as": queued[0].seq}),
        )
        .await?;
        tx.commit().await?;
        queued.into_iter().next().ok_or(StoreError::Corrupt {
            table: "outbox_entries",
            column: "seq",
            key: seq.to_string(),
        })
    }

    /// What each platform was last sent of a record, as acknowledged.
    pub async fn feed_states(&self, record_id: &str) -> Result<Vec<FeedState>, StoreError> {
        let sql = format!(
            "SELECT {} FROM feed_state WHERE record_id = $1 ORDER BY platform",
            rows::FEED_STATE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(record_id)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("read feed state"))?
            .iter()
            .map(rows::feed_state)
            .collect()
    }

    /// The acknowledged state of many records on one platform (for reports), by record id.
    pub async fn feed_states_of(
        &self,
        platform: &str,
        record_ids: &[&str],
    ) -> Result<HashMap<String, FeedState>, StoreError> {
        let mut found = HashMap::with_capacity(record_ids.len());
        for chunk in record_ids.chunks(ROWS_PER_STATEMENT) {
            let placeholders = match self.backend() {
                // `$1` is the platform; the ids follow.
                Backend::Postgres => (2..=chunk.len() + 1)
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                Backend::Sqlite => vec!["?"; chunk.len()].join(", "),
            };
            let platform_param = match self.backend() {
                Backend::Postgres => "$1",
                Backend::Sqlite => "?",
            };
            let sql = format!(
                "SELECT {} FROM feed_state WHERE platform = {platform_param} AND record_id IN ({placeholders})",
                rows::FEED_STATE_COLUMNS
            );
            let mut query = sqlx::query(&sql).bind(platform);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::db("read feed state"))?
            {
                let state = rows::feed_state(&row)?;
                found.insert(state.record_id.clone(), state);
            }
        }
        Ok(found)
    }
}
