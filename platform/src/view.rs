//! The platform's view of a feed, in SQLite or Postgres through sqlx's `any` driver.
//!
//! One row per record_id ever seen. The rule that makes the view equal to "the records in force"
//! (CONTRACT §4) is [`decide`]: a lower version than the one held is stale and ignored, an equal
//! version is a duplicate, a higher one replaces what is held. A retraction leaves a tombstone that
//! keeps its version, so a late upsert of an older version cannot bring the record back.
//!
//! The rule is applied twice: [`decide`] classifies each envelope for the stats, and the `WHERE`
//! of the upsert statement repeats it, so that even two processes writing one database cannot
//! move a record backwards.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use dhub_support::signature::Verifier;

use serde::Serialize;
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::Mutex;

use crate::envelope::{fold, Envelope, FeedMessage, Operation, SearchColumns};
use crate::error::PlatformError;
use crate::events;
use crate::search::{SearchQuery, SearchResult};

/// The database behind a view, read off the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(db_url: &str) -> Result<Backend, PlatformError> {
        let scheme = db_url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(PlatformError::UnsupportedDatabase {
                // At most a few characters of what was given: the rest may be a password.
                scheme: scheme.chars().take(16).collect(),
            }),
        }
    }
}

/// What a version held for a record_id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldVersion {
    pub version: i64,
    /// True for a tombstone.
    pub retracted: bool,
}

/// How an envelope relates to what the view holds for its record_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Newer than what is held (or nothing is held): apply it.
    Apply,
    /// Older than what is held: ignore it.
    Stale,
    /// The version held: a redelivery, nothing to do.
    Duplicate,
}

/// The ordering rule of the view.
///
/// At an equal version a retraction still wins over a visible record: a conforming hub never
/// emits two different envelopes with one version, but if one did, hiding the record is the safe
/// side, and the outcome no longer depends on the order the two arrive in.
pub fn decide(held: Option<HeldVersion>, version: i64, is_retract: bool) -> Decision {
    match held {
        None => Decision::Apply,
        Some(held) if version > held.version => Decision::Apply,
        Some(held) if version < held.version => Decision::Stale,
        Some(held) if is_retract && !held.retracted => Decision::Apply,
        Some(_) => Decision::Duplicate,
    }
}

/// What one [`View::apply`] did, message by message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyStats {
    /// Upserts that made a record visible or replaced it.
    pub upserted: u64,
    /// Retractions that hid a record or raised a tombstone's version.
    pub retracted: u64,
    /// Envelopes older than the version held, ignored.
    pub stale: u64,
    /// Envelopes of the version held (redeliveries), ignored.
    pub duplicates: u64,
    /// Messages that were not valid envelopes, written to the `rejected` table.
    pub rejected: u64,
}

impl ApplyStats {
    pub fn messages(&self) -> u64 {
        self.upserted + self.retracted + self.stale + self.duplicates + self.rejected
    }
}

/// The highest offset applied from one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub last_offset: i64,
}

/// Counts for `GET /stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewStats {
    pub visible: u64,
    pub tombstones: u64,
    pub rejected: u64,
    pub partitions: Vec<PartitionOffset>,
}

/// One message that was not a valid envelope: where it was and why, never its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub error: String,
}

/// The searchable view of one feed. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct View {
    pool: AnyPool,
    backend: Backend,
    /// Serialises `apply` within a process: SQLite allows one writer anyway, and on Postgres it
    /// keeps the read-decide-write of a batch free of interleavings with another batch.
    apply_lock: Arc<Mutex<()>>,
    /// When set, only envelopes whose `signature` header verifies are applied.
    verifier: Option<Arc<Verifier>>,
    /// Index entries a search walks before it looks the matches up by index instead.
    walk_window: u32,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("backend", &self.backend)
            .field("verifier", &self.verifier)
            .finish()
    }
}

/// Per SQLite connection: a page cache of up to 256 MB (filled only as pages are read: a small
/// view never takes it), reads through a memory map of up to 4 GB (address space, not memory),
/// sorts in memory, and a checkpoint every 65,536 WAL pages (256 MB) rather than 1,000: index pages
/// near the newest decisions change in batch after batch, and a longer interval copies each of them
/// back once instead of many times. At a million records the two took the apply from 106 to 92 µs
/// of CPU per envelope (32 MB and 8,192 pages before; the platform bench, one run of each).
/// `synchronous` stays FULL: Kafka offsets are committed once a batch is applied, so a batch the
/// view lost in a power cut would never come back.
const SQLITE_CONNECTION_PRAGMAS: &[&str] = &[
    "PRAGMA cache_size = -262144",
    "PRAGMA mmap_size = 4294967296",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA wal_autocheckpoint = 65536",
];

/// How long an operation waits for a database connection, including the first one at start.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The columns of one row of `records`, in the order of [`RecordRow::bind`].
const RECORD_COLUMNS: &str = "record_id, version, state, schema_name, record_json, \
    counterparty_name, document_no, agency_name, decided_on, category, \
    counterparty_name_fold, document_no_fold, agency_name_fold, sort_date, \
    retract_reason, retract_note, emitted_at, source_topic, source_partition, source_offset, \
    applied_at, grams";
const RECORD_COLUMN_COUNT: usize = 22;

/// The version rule again, in SQL: even a second process writing the same database cannot move a
/// record backwards. `RETURNING` tells which rows it let through.
const UPSERT_CONFLICT: &str = "\
ON CONFLICT (record_id) DO UPDATE SET
    version = excluded.version, state = excluded.state, schema_name = excluded.schema_name,
    record_json = excluded.record_json, counterparty_name = excluded.counterparty_name,
    document_no = excluded.document_no, agency_name = excluded.agency_name,
    decided_on = excluded.decided_on, category = excluded.category,
    counterparty_name_fold = excluded.counterparty_name_fold,
    document_no_fold = excluded.document_no_fold, agency_name_fold = excluded.agency_name_fold,
    sort_date = excluded.sort_date, grams = excluded.grams,
    retract_reason = excluded.retract_reason, retract_note = excluded.retract_note,
    emitted_at = excluded.emitted_at, source_topic = excluded.source_topic,
    source_partition = excluded.source_partition, source_offset = excluded.source_offset,
    applied_at = excluded.applied_at
WHERE records.version < excluded.version
   OR (records.version = excluded.version AND records.state = 'visible'
       AND excluded.state = 'retracted')
RETURNING record_id";

/// Rows per multi-row statement: 22 parameters each stays under SQLite's 32766 and Postgres'
/// 65535 bound parameters. As many as fit: fewer, larger statements mean fewer round trips, and
/// on Postgres fewer runs of the statement-level triggers that post the grams.
const ROWS_PER_STATEMENT: usize = 1_400;

const INSERT_REJECTED: &str = "\
INSERT INTO rejected (topic, kafka_partition, kafka_offset, error, rejected_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING";

const UPSERT_PARTITION_OFFSET: &str = "\
INSERT INTO partition_offsets (topic, kafka_partition, last_offset, updated_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (topic, kafka_partition) DO UPDATE SET
    last_offset = excluded.last_offset, updated_at = excluded.updated_at
WHERE partition_offsets.last_offset < excluded.last_offset";

impl View {
    /// Opens (and for SQLite creates) the view database and brings its schema up to date.
    ///
    /// `sqlite://PATH` creates the file and its directory when missing; `sqlite::memory:` is a
    /// private in-memory view (one connection, so every query sees the same database).
    /// `postgres://…` needs an existing database.
    pub async fn open(db_url: &str) -> Result<View, PlatformError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(db_url)?;
        let (url, max_connections) = match backend {
            Backend::Sqlite => sqlite_url(db_url)?,
            Backend::Postgres => (db_url.to_owned(), 8),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // Fail a request (503) or a start-up rather than hang: the consumer retries a failed
            // batch by itself, and a supervisor restarts a platform that cannot reach its database.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // SQLite's default page cache is 2 MB: at a million records every
                        // batch and search would re-read index pages through system calls.
                        // A larger cache per connection, and reads through a memory map.
                        for pragma in SQLITE_CONNECTION_PRAGMAS {
                            sqlx::Executor::execute(&mut *conn, *pragma).await?;
                        }
                    } else {
                        // A search's statements are estimated at a million rows, above
                        // `jit_above_cost`, and compiling them took 40 ms: more than running them.
                        sqlx::Executor::execute(&mut *conn, "SET jit = off").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(PlatformError::database("connect"))?;
        match backend {
            Backend::Sqlite => {
                // sqlx does not serialize SQLite migrations between processes: two subscribers
                // (or a subscriber and a reader) opening a new view file at once would both create
                // its tables. A lock file beside it serializes them, and the switch to WAL too:
                // two opens switching at once failed with "database is locked".
                let _lock = match sqlite_file(db_url) {
                    Some(file) => Some(
                        dhub_support::sqlite::lock_for_migration(&file)
                            .await
                            .map_err(|(path, source)| PlatformError::MigrationLock {
                                path,
                                source,
                            })?,
                    ),
                    None => None,
                };
                // WAL lets the search API read while a batch is being applied. It is a property
                // of the file, so setting it once per open is enough.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .map_err(PlatformError::database("switch to WAL journaling"))?;
                sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            }
            Backend::Postgres => {
                require_pg_trgm(&pool).await?;
                sqlx::migrate!("migrations/postgres").run(&pool).await?
            }
        }
        Ok(View {
            pool,
            backend,
            apply_lock: Arc::new(Mutex::new(())),
            verifier: None,
            walk_window: crate::query::WALK_WINDOW,
        })
    }

    /// Searches walk at most `entries` index entries before they look matches up by index
    /// (default [`crate::query::WALK_WINDOW`]). For tests, which reach every search path on a
    /// few records with a tiny window.
    #[doc(hidden)]
    pub fn with_walk_window(mut self, entries: u32) -> View {
        self.walk_window = entries.max(1);
        self
    }

    /// From now on, applies only envelopes whose `signature` header verifies with one of the
    /// verifier's keys (CONTRACT §4); the others are rejected with the reason.
    pub fn require_signatures(mut self, verifier: Verifier) -> View {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies a batch of feed messages, in the order given, in one transaction.
    ///
    /// Invalid envelopes (and, with [`View::require_signatures`], envelopes whose signature does
    /// not verify) go to the `rejected` table (and the log, after the commit) and do not stop the
    /// batch. So does an envelope the database itself refuses to store (a NUL character in a text
    /// on Postgres, a value over a size limit): the batch is then applied again envelope by
    /// envelope, each in a savepoint, and only the refused one is rejected. The highest offset per
    /// partition is recorded in the same transaction. When this returns `Ok`, the whole batch is
    /// durable and its offsets may be committed to Kafka; on `Err` nothing of it is, and the batch
    /// can be applied again unchanged.
    pub async fn apply(&self, batch: &[FeedMessage]) -> Result<ApplyStats, PlatformError> {
        let _writer = self.apply_lock.lock().await;
        let now = now_text();
        // Parsing and signature checks are pure: done once, outside any transaction.
        let checked: Vec<Result<Envelope, String>> =
            batch.iter().map(|message| self.check(message)).collect();
        let outcome = match self.apply_together(batch, &checked, &now).await {
            Ok(outcome) => outcome,
            Err(Failure::Row(_)) => self.apply_one_by_one(batch, &checked, &now).await?,
            Err(Failure::Other(error)) => return Err(error),
        };
        // Logged only now: a batch that fails to commit is applied again, and would log twice.
        for (message, error) in &outcome.rejections {
            events::EnvelopeRejected {
                topic: &message.topic,
                partition: message.partition,
                offset: message.offset,
                error,
            }
            .emit();
        }
        Ok(outcome.stats)
    }

    /// The envelope in `message`, if it is one and (when signatures are required) its signature
    /// verifies; else the reason it is rejected.
    fn check(&self, message: &FeedMessage) -> Result<Envelope, String> {
        if let Some(verifier) = &self.verifier {
            let value = message.payload.as_deref().unwrap_or_default();
            verifier
                .verify(message.signature.as_deref(), value)
                .map_err(|error| error.to_string())?;
        }
        Envelope::from_message(message).map_err(|error| error.to_string())
    }

    /// The fast path: every statement covers many envelopes (one read of the versions held, one
    /// upsert per [`ROWS_PER_STATEMENT`] records).
    async fn apply_together<'b>(
        &self,
        batch: &'b [FeedMessage],
        checked: &[Result<Envelope, String>],
        now: &str,
    ) -> Result<Outcome<'b>, Failure> {
        let mut tx = self.begin_batch(batch, now).await?;

        let mut ids: Vec<&str> = checked
            .iter()
            .filter_map(|c| c.as_ref().ok().map(|e| e.record_id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut held: HashMap<String, HeldVersion> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
            let placeholders = placeholders(self.backend, 1, chunk.len());
            let sql = format!(
                "SELECT record_id, version, state FROM records WHERE record_id IN ({placeholders})"
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id.to_string());
            }
            let rows = query
                .fetch_all(&mut *tx)
                .await
                .map_err(Failure::from_sqlx(self.backend, "read the versions held"))?;
            for row in &rows {
                held.insert(text_column(row, "record_id")?, held_from_row(row)?);
            }
        }

        // The version rule, envelope by envelope in offset order, against what is held as
        // updated by the envelopes before it. Only the last applied envelope of a record is
        // written: the earlier ones are overtaken within the batch.
        let mut stats = ApplyStats::default();
        let mut rejections = Vec::new();
        let mut applied: Vec<(usize, bool)> = Vec::new(); // (index in batch, is a retraction)
        let mut last_write: HashMap<&str, usize> = HashMap::new();
        for (index, (message, checked)) in batch.iter().zip(checked).enumerate() {
            let envelope = match checked {
                Ok(envelope) => envelope,
                Err(error) => {
                    rejections.push((message, error.clone()));
                    continue;
                }
            };
            let is_retract = matches!(envelope.operation, Operation::Retract { .. });
            match decide(
                held.get(&envelope.record_id).copied(),
                envelope.version,
                is_retract,
            ) {
                Decision::Apply => {
                    held.insert(
                        envelope.record_id.clone(),
                        HeldVersion {
                            version: envelope.version,
                            retracted: is_retract,
                        },
                    );
                    last_write.insert(envelope.record_id.as_str(), index);
                    applied.push((index, is_retract));
                }
                Decision::Stale => stats.stale += 1,
                Decision::Duplicate => stats.duplicates += 1,
            }
        }

        // Rows in record_id order, so two writers of one Postgres database lock rows in the same
        // order and cannot deadlock.
        let mut writes: Vec<(&str, usize)> = last_write.into_iter().collect();
        writes.sort_unstable();
        let rows: Vec<RecordRow> = writes
            .iter()
            .map(|(_, index)| {
                let envelope = checked[*index]
                    .as_ref()
                    .expect("only envelopes are written");
                RecordRow::new(&batch[*index], envelope, now)
            })
            .collect();
        let mut written: HashSet<String> = HashSet::with_capacity(rows.len());
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            written.extend(
                upsert_rows(&mut tx, chunk, self.backend)
                    .await
                    .map_err(Failure::from_sqlx(self.backend, "write records"))?,
            );
        }
        // A record the statement did not write was overtaken by another writer in between: its
        // envelopes were stale after all.
        for (index, is_retract) in applied {
            let envelope = checked[index].as_ref().expect("only envelopes are applied");
            if !written.contains(&envelope.record_id) {
                stats.stale += 1;
            } else if is_retract {
                stats.retracted += 1;
            } else {
                stats.upserted += 1;
            }
        }

        for (message, error) in &rejections {
            insert_rejected(&mut tx, message, error, now)
                .await
                .map_err(Failure::from_sqlx(
                    self.backend,
                    "record a rejected message",
                ))?;
        }
        stats.rejected = rejections.len() as u64;
        tx.commit()
            .await
            .map_err(Failure::from_sqlx(self.backend, "commit a batch"))?;
        Ok(Outcome { stats, rejections })
    }

    /// The slow path, taken after the database refused a row of the fast path: each envelope in
    /// a savepoint of its own, so the one it refuses is rejected and the others are applied.
    async fn apply_one_by_one<'b>(
        &self,
        batch: &'b [FeedMessage],
        checked: &[Result<Envelope, String>],
        now: &str,
    ) -> Result<Outcome<'b>, PlatformError> {
        let mut tx = self.begin_batch(batch, now).await?;
        let mut stats = ApplyStats::default();
        let mut rejections = Vec::new();
        for (message, checked) in batch.iter().zip(checked) {
            let envelope = match checked {
                Ok(envelope) => envelope,
                Err(error) => {
                    rejections.push((message, error.clone()));
                    continue;
                }
            };
            let mut savepoint = sqlx::Connection::begin(&mut *tx)
                .await
                .map_err(PlatformError::database("open a savepoint"))?;
            match apply_envelope(&mut savepoint, message, envelope, now, self.backend).await {
                Ok(decision) => {
                    savepoint
                        .commit()
                        .await
                        .map_err(PlatformError::database("release a savepoint"))?;
                    match decision {
                        (Decision::Apply, true) => stats.retracted += 1,
                        (Decision::Apply, false) => stats.upserted += 1,
                        (Decision::Stale, _) => stats.stale += 1,
                        (Decision::Duplicate, _) => stats.duplicates += 1,
                    }
                }
                Err(Failure::Row(reason)) => {
                    savepoint
                        .rollback()
                        .await
                        .map_err(PlatformError::database("roll back a savepoint"))?;
                    rejections.push((message, reason));
                }
                Err(Failure::Other(error)) => return Err(error),
            }
        }
        for (message, error) in &rejections {
            insert_rejected(&mut tx, message, error, now)
                .await
                .map_err(PlatformError::database("record a rejected message"))?;
        }
        stats.rejected = rejections.len() as u64;
        tx.commit()
            .await
            .map_err(PlatformError::database("commit a batch"))?;
        Ok(Outcome { stats, rejections })
    }

    /// Opens a batch's transaction and records its highest offset per partition.
    async fn begin_batch(
        &self,
        batch: &[FeedMessage],
        now: &str,
    ) -> Result<Transaction<'static, Any>, PlatformError> {
        let mut last_offsets: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for message in batch {
            let last = last_offsets
                .entry((message.topic.as_str(), message.partition))
                .or_insert(message.offset);
            *last = (*last).max(message.offset);
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(PlatformError::database("begin a transaction"))?;
        // Written first, so that the transaction takes the write lock before it reads anything:
        // a second process applying to the same SQLite file then waits (busy timeout) instead of
        // failing its upgrade from reader to writer, and on Postgres two appliers of the same
        // partition queue on its row.
        for ((topic, partition), offset) in &last_offsets {
            sqlx::query(UPSERT_PARTITION_OFFSET)
                .bind(topic.to_string())
                .bind(i64::from(*partition))
                .bind(*offset)
                .bind(now.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(PlatformError::database("record the partition offset"))?;
        }
        Ok(tx)
    }

    /// The record_ids in force, sorted (byte order, the same on both databases).
    pub async fn visible_ids(&self) -> Result<Vec<String>, PlatformError> {
        let rows = sqlx::query("SELECT record_id FROM records WHERE state = 'visible'")
            .fetch_all(&self.pool)
            .await
            .map_err(PlatformError::database("list the visible records"))?;
        let mut ids = rows
            .iter()
            .map(|row| text_column(row, "record_id"))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }

    /// The record in force under `record_id`, or `None` if there is none or it was retracted.
    pub async fn get(&self, record_id: &str) -> Result<Option<Value>, PlatformError> {
        let row = sqlx::query(
            "SELECT record_json FROM records WHERE record_id = $1 AND state = 'visible'",
        )
        .bind(record_id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(PlatformError::database("read a record"))?;
        row.map(|row| record_json(&row)).transpose()
    }

    /// The version held for `record_id`, visible or tombstone.
    pub async fn held(&self, record_id: &str) -> Result<Option<HeldVersion>, PlatformError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(PlatformError::database("read a record's version"))?;
        held_version(&mut conn, record_id).await
    }

    /// One page of the records in force that match `query`, how many match, and the cursor of
    /// the next page (see the `query` module for how it stays fast at a million records).
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResult, PlatformError> {
        crate::query::search(&self.pool, self.backend, self.walk_window, query).await
    }

    /// Counts of visible records, tombstones and rejected messages, and the offsets applied.
    pub async fn stats(&self) -> Result<ViewStats, PlatformError> {
        // Kept by triggers (see the search migration): no COUNT(*) over a million rows.
        let counts = sqlx::query(
            "SELECT visible, tombstones, (SELECT COUNT(*) FROM rejected) AS rejected \
             FROM view_counts WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(PlatformError::database("count the view"))?;
        let rows = sqlx::query(
            "SELECT topic, kafka_partition, last_offset FROM partition_offsets \
             ORDER BY topic, kafka_partition",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(PlatformError::database("read the partition offsets"))?;
        let partitions = rows
            .iter()
            .map(|row| {
                Ok(PartitionOffset {
                    topic: text_column(row, "topic")?,
                    partition: partition_column(row, "kafka_partition")?,
                    last_offset: int_column(row, "last_offset")?,
                })
            })
            .collect::<Result<Vec<_>, PlatformError>>()?;
        Ok(ViewStats {
            visible: count_column(&counts, "visible")?,
            tombstones: count_column(&counts, "tombstones")?,
            rejected: count_column(&counts, "rejected")?,
            partitions,
        })
    }

    /// The rejected messages, oldest first.
    pub async fn rejected(&self) -> Result<Vec<RejectedMessage>, PlatformError> {
        let rows = sqlx::query(
            "SELECT topic, kafka_partition, kafka_offset, error FROM rejected ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(PlatformError::database("list the rejected messages"))?;
        rows.iter()
            .map(|row| {
                Ok(RejectedMessage {
                    topic: text_column(row, "topic")?,
                    partition: partition_column(row, "kafka_partition")?,
                    offset: int_column(row, "kafka_offset")?,
                    error: text_column(row, "error")?,
                })
            })
            .collect()
    }

    /// Whether the database answers, for `GET /healthz`.
    pub async fn ping(&self) -> Result<(), PlatformError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(PlatformError::database("answer a health check"))?;
        Ok(())
    }
}

/// What a batch did, and the messages it rejected (logged once the batch is durable).
struct Outcome<'b> {
    stats: ApplyStats,
    rejections: Vec<(&'b FeedMessage, String)>,
}

/// Why a batch statement failed: the database refused one row's values (retrying the same
/// batch would fail the same way forever), or anything else (an outage: retry later).
enum Failure {
    Row(String),
    Other(PlatformError),
}

impl Failure {
    fn from_sqlx(backend: Backend, action: &'static str) -> impl FnOnce(sqlx::Error) -> Failure {
        move |source| match refused_row(backend, &source) {
            Some(reason) => Failure::Row(reason),
            None => Failure::Other(PlatformError::Database { action, source }),
        }
    }
}

impl From<PlatformError> for Failure {
    fn from(error: PlatformError) -> Failure {
        Failure::Other(error)
    }
}

/// The reason to store when the database refused a row for its values, or `None` when the error
/// is anything else. Classes, not messages: a database's message or detail may quote the value.
///
/// Postgres: SQLSTATE classes 22 (data exception, e.g. 22021 for a NUL character), 23 (integrity
/// constraint) and 54 (program limit, e.g. an index row too large). SQLite: TOOBIG, CONSTRAINT,
/// MISMATCH and RANGE. Outages (connection, I/O, busy, serialization, shutdown) are never here.
fn refused_row(backend: Backend, error: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(database) = error else {
        return None;
    };
    let code = database.code()?;
    let what = match backend {
        Backend::Postgres => match code.get(..2)? {
            "22" => "a value it cannot store (data exception)",
            "23" => "a value that breaks a constraint",
            "54" => "a value over one of its limits",
            _ => return None,
        },
        Backend::Sqlite => match code.parse::<i32>().ok()? & 0xff {
            18 => "a value over its size limit",
            19 => "a value that breaks a constraint",
            20 => "a value of the wrong type",
            25 => "a value out of range",
            _ => return None,
        },
    };
    Some(format!(
        "the view database refused to store this envelope: {what} (code {code}); the envelope \
         is skipped, fix the producer"
    ))
}

/// `$first, $first+1, …` for `count` parameters on Postgres; `?, ?, …` on SQLite, whose
/// `sqlite3_bind_parameter_name` walks a list of every named parameter: binding thousands of
/// `$N` costs time quadratic in their number (a 500-row upsert took 0.3 s instead of 10 ms).
fn placeholders(backend: Backend, first: usize, count: usize) -> String {
    let mut text = String::with_capacity(count * 6);
    for n in first..first + count {
        if n > first {
            text.push_str(", ");
        }
        match backend {
            Backend::Sqlite => text.push('?'),
            Backend::Postgres => {
                text.push('$');
                text.push_str(&n.to_string());
            }
        }
    }
    text
}

/// One row of `records` as an envelope sets it.
struct RecordRow {
    record_id: String,
    version: i64,
    state: &'static str,
    schema: String,
    record_json: Option<String>,
    columns: SearchColumns,
    /// The folded counterparty name, document number and agency name.
    folded: [Option<String>; 3],
    /// The grams the search index posts the record under, as a JSON array (`None` for a
    /// tombstone): see the grams migration.
    grams: Option<String>,
    reason: Option<String>,
    note: Option<String>,
    emitted_at: Option<String>,
    topic: String,
    partition: i64,
    offset: i64,
    applied_at: String,
}

impl RecordRow {
    fn new(message: &FeedMessage, envelope: &Envelope, now: &str) -> RecordRow {
        let (state, record_json, columns, reason, note) = match &envelope.operation {
            Operation::Upsert { record } => (
                "visible",
                Some(serde_json::to_string(record).expect("a JSON map serializes")),
                SearchColumns::extract(&envelope.schema, record),
                None,
                None,
            ),
            Operation::Retract { reason, note } => (
                "retracted",
                None,
                SearchColumns::default(),
                reason.clone(),
                note.clone(),
            ),
        };
        let folded = [
            &columns.counterparty_name,
            &columns.document_no,
            &columns.agency_name,
        ]
        .map(|v| v.as_deref().map(fold));
        let grams = (state == "visible")
            .then(|| crate::query::posted_grams(folded[0].as_deref(), folded[1].as_deref()));
        RecordRow {
            record_id: envelope.record_id.clone(),
            version: envelope.version,
            state,
            schema: envelope.schema.clone(),
            record_json,
            columns,
            folded,
            grams,
            reason,
            note,
            emitted_at: envelope.emitted_at.clone(),
            topic: message.topic.clone(),
            partition: i64::from(message.partition),
            offset: message.offset,
            applied_at: now.to_owned(),
        }
    }

    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        let columns = &self.columns;
        let [counterparty_fold, document_no_fold, agency_fold] = &self.folded;
        query
            .bind(self.record_id.clone())
            .bind(self.version)
            .bind(self.state)
            .bind(self.schema.clone())
            .bind(self.record_json.clone())
            .bind(columns.counterparty_name.clone())
            .bind(columns.document_no.clone())
            .bind(columns.agency_name.clone())
            .bind(columns.decided_on.clone())
            .bind(columns.category.clone())
            .bind(counterparty_fold.clone())
            .bind(document_no_fold.clone())
            .bind(agency_fold.clone())
            .bind(columns.decided_on.clone().unwrap_or_default())
            .bind(self.reason.clone())
            .bind(self.note.clone())
            .bind(self.emitted_at.clone())
            .bind(self.topic.clone())
            .bind(self.partition)
            .bind(self.offset)
            .bind(self.applied_at.clone())
            .bind(self.grams.clone())
    }
}

/// Upserts `rows` (distinct record_ids) in one statement; returns the record_ids it wrote.
async fn upsert_rows(
    tx: &mut Transaction<'static, Any>,
    rows: &[RecordRow],
    backend: Backend,
) -> Result<Vec<String>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = format!("INSERT INTO records ({RECORD_COLUMNS}) VALUES ");
    for n in 0..rows.len() {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&placeholders(
            backend,
            n * RECORD_COLUMN_COUNT + 1,
            RECORD_COLUMN_COUNT,
        ));
        sql.push(')');
    }
    sql.push('\n');
    sql.push_str(UPSERT_CONFLICT);
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = row.bind(query);
    }
    let returned = query.fetch_all(&mut **tx).await?;
    returned
        .iter()
        .map(|row| row.try_get::<String, _>("record_id"))
        .collect()
}

async fn insert_rejected(
    tx: &mut Transaction<'static, Any>,
    message: &FeedMessage,
    error: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_REJECTED)
        .bind(message.topic.clone())
        .bind(i64::from(message.partition))
        .bind(message.offset)
        .bind(error.to_owned())
        .bind(now.to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One envelope on its own (the slow path): read what is held, decide, write.
async fn apply_envelope(
    tx: &mut Transaction<'_, Any>,
    message: &FeedMessage,
    envelope: &Envelope,
    now: &str,
    backend: Backend,
) -> Result<(Decision, bool), Failure> {
    let is_retract = matches!(envelope.operation, Operation::Retract { .. });
    let held = held_version(tx, &envelope.record_id).await?;
    let decision = decide(held, envelope.version, is_retract);
    if decision != Decision::Apply {
        return Ok((decision, is_retract));
    }
    let row = RecordRow::new(message, envelope, now);
    let sql = format!(
        "INSERT INTO records ({RECORD_COLUMNS}) VALUES ({})\n{UPSERT_CONFLICT}",
        placeholders(backend, 1, RECORD_COLUMN_COUNT)
    );
    let written = row
        .bind(sqlx::query(&sql))
        .fetch_all(&mut **tx)
        .await
        .map_err(Failure::from_sqlx(backend, "write a record"))?;
    // Zero rows means another writer got a newer version in between: ours is stale after all.
    let decision = if written.is_empty() {
        Decision::Stale
    } else {
        Decision::Apply
    };
    Ok((decision, is_retract))
}

fn held_from_row(row: &AnyRow) -> Result<HeldVersion, PlatformError> {
    Ok(HeldVersion {
        version: int_column(row, "version")?,
        retracted: text_column(row, "state")? == "retracted",
    })
}

/// pg_trgm is a contrib extension: say what to install rather than fail inside a migration.
async fn require_pg_trgm(pool: &AnyPool) -> Result<(), PlatformError> {
    let available =
        sqlx::query("SELECT 1 AS one FROM pg_available_extensions WHERE name = 'pg_trgm'")
            .fetch_optional(pool)
            .await
            .map_err(PlatformError::database("look for the pg_trgm extension"))?;
    if available.is_none() {
        return Err(PlatformError::MissingExtension { name: "pg_trgm" });
    }
    Ok(())
}

async fn held_version(
    conn: &mut sqlx::AnyConnection,
    record_id: &str,
) -> Result<Option<HeldVersion>, PlatformError> {
    let row = sqlx::query("SELECT version, state FROM records WHERE record_id = $1")
        .bind(record_id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(PlatformError::database("read a record's version"))?;
    row.map(|row| held_from_row(&row)).transpose()
}

/// The database file of a `sqlite:` URL, or `None` for an in-memory view.
fn sqlite_file(db_url: &str) -> Option<std::path::PathBuf> {
    let rest = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))?;
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path == ":memory:" || path.is_empty() || params.contains("mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(path))
}

/// The `sqlite:` URL to connect with, and the pool size.
fn sqlite_url(db_url: &str) -> Result<(String, u32), PlatformError> {
    let rest = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path == ":memory:" || path.is_empty() || params.contains("mode=memory");
    if in_memory {
        // Every connection to an in-memory database is a database of its own.
        return Ok((db_url.to_owned(), 1));
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|source| PlatformError::CreateDirectory {
                path: parent.to_path_buf(),
                source,
            })?;
        }
    }
    let url = if params.contains("mode=") {
        db_url.to_owned()
    } else if params.is_empty() {
        format!("sqlite://{path}?mode=rwc")
    } else {
        format!("sqlite://{path}?{params}&mode=rwc")
    };
    Ok((url, 4))
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn text_column(row: &AnyRow, column: &'static str) -> Result<String, PlatformError> {
    row.try_get::<String, _>(column)
        .map_err(|_| PlatformError::CorruptRow { what: column })
}

fn int_column(row: &AnyRow, column: &'static str) -> Result<i64, PlatformError> {
    row.try_get::<i64, _>(column)
        .map_err(|_| PlatformError::CorruptRow { what: column })
}

fn count_column(row: &AnyRow, column: &'static str) -> Result<u64, PlatformError> {
    u64::try_from(int_column(row, column)?).map_err(|_| PlatformError::CorruptRow { what: column })
}

fn partition_column(row: &AnyRow, column: &'static str) -> Result<i32, PlatformError> {
    i32::try_from(int_column(row, column)?).map_err(|_| PlatformError::CorruptRow { what: column })
}

fn record_json(row: &AnyRow) -> Result<Value, PlatformError> {
    let text = text_column(row, "record_json")?;
    serde_json::from_str(&text).map_err(|_| PlatformError::CorruptRow {
        what: "record_json",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3: Option<HeldVersion> = Some(HeldVersion {
        version: 3,
        retracted: false,
    });
    const T3: Option<HeldVersion> = Some(HeldVersion {
        version: 3,
        retracted: true,
    });

    #[test]
    fn decide_orders_by_version() {
        assert_eq!(decide(None, 1, false), Decision::Apply);
        assert_eq!(decide(None, 1, true), Decision::Apply);
        assert_eq!(decide(V3, 4, false), Decision::Apply);
        assert_eq!(decide(V3, 2, false), Decision::Stale);
        assert_eq!(decide(V3, 2, true), Decision::Stale);
        assert_eq!(decide(V3, 3, false), Decision::Duplicate);
        assert_eq!(decide(T3, 3, true), Decision::Duplicate);
        assert_eq!(decide(T3, 2, false), Decision::Stale);
        assert_eq!(decide(T3, 3, false), Decision::Duplicate);
        assert_eq!(decide(T3, 4, false), Decision::Apply);
    }

    #[test]
    fn a_retraction_wins_a_tie_with_a_visible_record() {
        assert_eq!(decide(V3, 3, true), Decision::Apply);
    }

    #[test]
    fn sqlite_urls_gain_create_mode_and_memory_gets_one_connection() {
        let dir = std::env::temp_dir().join("dhub-platform-url-test");
        let path = dir.join("nested").join("view.db");
        let url = format!("sqlite://{}", path.display());
        let (opened, pool) = sqlite_url(&url).unwrap();
        assert_eq!(opened, format!("{url}?mode=rwc"));
        assert_eq!(pool, 4);
        assert!(path.parent().unwrap().is_dir());
        let _ = std::fs::remove_dir_all(&dir);

        let (opened, _) = sqlite_url("sqlite://x.db?mode=ro").unwrap();
        assert_eq!(opened, "sqlite://x.db?mode=ro");
        let (opened, pool) = sqlite_url("sqlite::memory:").unwrap();
        assert_eq!((opened.as_str(), pool), ("sqlite::memory:", 1));
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted_and_secrets_are_not_echoed() {
        assert_eq!(Backend::from_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("mysql://root:hunter2@h/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(err.to_string().contains("`mysql`"));
    }
}
