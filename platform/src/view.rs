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

use std::collections::BTreeMap;
use std::sync::Arc;

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
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("backend", &self.backend)
            .finish()
    }
}

/// How long an operation waits for a database connection, including the first one at start.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

const UPSERT_RECORD: &str = "\
INSERT INTO records (record_id, version, state, schema_name, record_json,
    counterparty_name, document_no, agency_name, decided_on, category,
    counterparty_name_fold, document_no_fold, agency_name_fold,
    retract_reason, retract_note, emitted_at, source_topic, source_partition, source_offset,
    applied_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
ON CONFLICT (record_id) DO UPDATE SET
    version = excluded.version, state = excluded.state, schema_name = excluded.schema_name,
    record_json = excluded.record_json, counterparty_name = excluded.counterparty_name,
    document_no = excluded.document_no, agency_name = excluded.agency_name,
    decided_on = excluded.decided_on, category = excluded.category,
    counterparty_name_fold = excluded.counterparty_name_fold,
    document_no_fold = excluded.document_no_fold, agency_name_fold = excluded.agency_name_fold,
    retract_reason = excluded.retract_reason, retract_note = excluded.retract_note,
    emitted_at = excluded.emitted_at, source_topic = excluded.source_topic,
    source_partition = excluded.source_partition, source_offset = excluded.source_offset,
    applied_at = excluded.applied_at
WHERE records.version < excluded.version
   OR (records.version = excluded.version AND records.state = 'visible'
       AND excluded.state = 'retracted')";

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
            .connect(&url)
            .await
            .map_err(PlatformError::database("connect"))?;
        match backend {
            Backend::Sqlite => {
                // WAL lets the search API read while a batch is being applied. It is a property
                // of the file, so setting it once per open is enough.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .map_err(PlatformError::database("switch to WAL journaling"))?;
                // sqlx does not serialize SQLite migrations between processes: two subscribers
                // (or a subscriber and a reader) opening a new view file at once would both create
                // its tables. A lock file beside it serializes them.
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
                sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            }
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(View {
            pool,
            backend,
            apply_lock: Arc::new(Mutex::new(())),
        })
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
    /// Invalid envelopes go to the `rejected` table (and the log, after the commit) and do not
    /// stop the batch. The highest offset per partition is recorded in the same transaction. When
    /// this returns `Ok`, the whole batch is durable and its offsets may be committed to Kafka;
    /// on `Err` nothing of it is, and the batch can be applied again unchanged.
    pub async fn apply(&self, batch: &[FeedMessage]) -> Result<ApplyStats, PlatformError> {
        let _writer = self.apply_lock.lock().await;
        let now = now_text();
        let mut stats = ApplyStats::default();
        let mut rejections = Vec::new();
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
                .bind(now.clone())
                .execute(&mut *tx)
                .await
                .map_err(PlatformError::database("record the partition offset"))?;
        }
        for message in batch {
            match Envelope::from_message(message) {
                Ok(envelope) => match apply_envelope(&mut tx, message, &envelope, &now).await? {
                    (Decision::Apply, Operation::Upsert { .. }) => stats.upserted += 1,
                    (Decision::Apply, Operation::Retract { .. }) => stats.retracted += 1,
                    (Decision::Stale, _) => stats.stale += 1,
                    (Decision::Duplicate, _) => stats.duplicates += 1,
                },
                Err(error) => {
                    let error = error.to_string();
                    sqlx::query(INSERT_REJECTED)
                        .bind(message.topic.clone())
                        .bind(i64::from(message.partition))
                        .bind(message.offset)
                        .bind(error.clone())
                        .bind(now.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(PlatformError::database("record a rejected message"))?;
                    stats.rejected += 1;
                    rejections.push((message, error));
                }
            }
        }
        tx.commit()
            .await
            .map_err(PlatformError::database("commit a batch"))?;

        // Logged only now: a batch that fails to commit is applied again, and would log twice.
        for (message, error) in rejections {
            events::EnvelopeRejected {
                topic: &message.topic,
                partition: message.partition,
                offset: message.offset,
                error: &error,
            }
            .emit();
        }
        Ok(stats)
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

    /// One page of the records in force that match `query`, and how many match in all.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResult, PlatformError> {
        let mut filter = Filter::default();
        filter.clauses.push("state = 'visible'".to_owned());
        if let Some(text) = &query.text {
            let pattern = like_pattern(&fold(text));
            let a = filter.bind(Bind::Text(pattern.clone()));
            let b = filter.bind(Bind::Text(pattern.clone()));
            let c = filter.bind(Bind::Text(pattern));
            filter.clauses.push(format!(
                "(counterparty_name_fold LIKE {a} ESCAPE '\\' \
                 OR document_no_fold LIKE {b} ESCAPE '\\' \
                 OR agency_name_fold LIKE {c} ESCAPE '\\')"
            ));
        }
        if let Some(counterparty) = &query.counterparty {
            let p = filter.bind(Bind::Text(like_pattern(&fold(counterparty))));
            filter
                .clauses
                .push(format!("counterparty_name_fold LIKE {p} ESCAPE '\\'"));
        }
        if let Some(agency) = &query.agency {
            let p = filter.bind(Bind::Text(like_pattern(&fold(agency))));
            filter
                .clauses
                .push(format!("agency_name_fold LIKE {p} ESCAPE '\\'"));
        }
        if let Some(document_no) = &query.document_no {
            let p = filter.bind(Bind::Text(document_no.clone()));
            filter.clauses.push(format!("document_no = {p}"));
        }
        if let Some(category) = &query.category {
            let p = filter.bind(Bind::Text(category.clone()));
            filter.clauses.push(format!("category = {p}"));
        }
        if let Some(from) = query.decided_from {
            let p = filter.bind(Bind::Text(from.format("%Y-%m-%d").to_string()));
            filter.clauses.push(format!("decided_on >= {p}"));
        }
        if let Some(to) = query.decided_to {
            let p = filter.bind(Bind::Text(to.format("%Y-%m-%d").to_string()));
            filter.clauses.push(format!("decided_on <= {p}"));
        }
        let where_clause = filter.clauses.join(" AND ");

        // Byte order for the tie-break on both databases: Postgres would otherwise use the
        // database's locale collation.
        let record_id_order = match self.backend {
            Backend::Sqlite => "record_id",
            Backend::Postgres => "record_id COLLATE \"C\"",
        };
        let count_sql = format!("SELECT COUNT(*) AS total FROM records WHERE {where_clause}");
        let mut page = filter.clone();
        let limit = page.bind(Bind::Int(i64::from(query.limit)));
        // from_params caps the offset at i64::MAX; a hand-built query is clamped the same way.
        let offset = page.bind(Bind::Int(i64::try_from(query.offset).unwrap_or(i64::MAX)));
        let page_sql = format!(
            "SELECT record_json FROM records WHERE {where_clause} \
             ORDER BY CASE WHEN decided_on IS NULL THEN 1 ELSE 0 END, decided_on DESC, \
             {record_id_order} LIMIT {limit} OFFSET {offset}"
        );

        // One transaction, so the total and the page describe the same moment.
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(PlatformError::database("begin a search"))?;
        let total_row = filter
            .apply(sqlx::query(&count_sql))
            .fetch_one(&mut *tx)
            .await
            .map_err(PlatformError::database("count search results"))?;
        let total = count_column(&total_row, "total")?;
        let rows = page
            .apply(sqlx::query(&page_sql))
            .fetch_all(&mut *tx)
            .await
            .map_err(PlatformError::database("read search results"))?;
        tx.commit()
            .await
            .map_err(PlatformError::database("finish a search"))?;
        let records = rows
            .iter()
            .map(record_json)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResult { total, records })
    }

    /// Counts of visible records, tombstones and rejected messages, and the offsets applied.
    pub async fn stats(&self) -> Result<ViewStats, PlatformError> {
        let counts = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM records WHERE state = 'visible') AS visible, \
               (SELECT COUNT(*) FROM records WHERE state = 'retracted') AS tombstones, \
               (SELECT COUNT(*) FROM rejected) AS rejected",
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

async fn apply_envelope(
    tx: &mut Transaction<'static, Any>,
    message: &FeedMessage,
    envelope: &Envelope,
    now: &str,
) -> Result<(Decision, Operation), PlatformError> {
    let is_retract = matches!(envelope.operation, Operation::Retract { .. });
    let held = held_version(tx, &envelope.record_id).await?;
    let decision = decide(held, envelope.version, is_retract);
    if decision != Decision::Apply {
        return Ok((decision, envelope.operation.clone()));
    }

    let (state, record_json, columns, reason, note) = match &envelope.operation {
        Operation::Upsert { record } => (
            "visible",
            Some(Value::Object(record.clone()).to_string()),
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
    let folded = |v: &Option<String>| v.as_deref().map(fold);
    let result = sqlx::query(UPSERT_RECORD)
        .bind(envelope.record_id.clone())
        .bind(envelope.version)
        .bind(state)
        .bind(envelope.schema.clone())
        .bind(record_json)
        .bind(columns.counterparty_name.clone())
        .bind(columns.document_no.clone())
        .bind(columns.agency_name.clone())
        .bind(columns.decided_on.clone())
        .bind(columns.category.clone())
        .bind(folded(&columns.counterparty_name))
        .bind(folded(&columns.document_no))
        .bind(folded(&columns.agency_name))
        .bind(reason)
        .bind(note)
        .bind(envelope.emitted_at.clone())
        .bind(message.topic.clone())
        .bind(i64::from(message.partition))
        .bind(message.offset)
        .bind(now.to_owned())
        .execute(&mut **tx)
        .await
        .map_err(PlatformError::database("write a record"))?;
    // Zero rows means another writer got a newer version in between: ours is stale after all.
    let decision = if result.rows_affected() == 0 {
        Decision::Stale
    } else {
        Decision::Apply
    };
    Ok((decision, envelope.operation.clone()))
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
    row.map(|row| {
        Ok(HeldVersion {
            version: int_column(&row, "version")?,
            retracted: text_column(&row, "state")? == "retracted",
        })
    })
    .transpose()
}

/// A `WHERE` clause under construction: clauses with `$N` placeholders and their values.
#[derive(Default, Clone)]
struct Filter {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

impl Filter {
    /// Adds a value and returns its placeholder. Each use gets its own number: reusing `$1`
    /// works on Postgres but relies on SQLite treating `$1` as a named parameter.
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn apply<'q>(
        &self,
        mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        for value in &self.binds {
            query = match value {
                Bind::Text(text) => query.bind(text.clone()),
                Bind::Int(int) => query.bind(*int),
            };
        }
        query
    }
}

/// `%text%` with LIKE's wildcards in `text` escaped (the queries say `ESCAPE '\'`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
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
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(like_pattern("罚"), "%罚%");
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
