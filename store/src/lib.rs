//! The hub's state store: every record version it accepted, the outbox of envelopes to publish
//! and their per-platform deliveries, where each source has got to, the quarantine, and a
//! tamper-evident audit trail. Embedded SQLite by default (`sqlite://.dhub/state.db`),
//! Postgres for production (`postgres://…`); one code path serves both through sqlx's `Any`
//! driver, and one test suite (`tests/`) runs against both.
//!
//! The hub writes a record's version, its outbox rows and the source position in one
//! [`StoreTx`]; the relay then reads [`Store::pending_outbox`], publishes, and records the
//! broker's acknowledgements with [`Store::mark_delivered`] (the transactional outbox: a crash
//! between the two steps republishes, never loses, and platforms see duplicates with the same
//! `record_id` and `version`).
//!
//! # Layout
//!
//! - `store.rs`: [`Store`]: connect, begin, the relay's scan and acknowledgements, and the
//!   queries behind `dhub trace`, `dhub quarantine` and `dhub audit verify`.
//! - `tx.rs`: [`StoreTx`]: everything written inside a transaction.
//! - `connect.rs`: URL → backend, SQLite file and pragmas (WAL, `synchronous=FULL`, busy
//!   timeout), pool sizes, migrations.
//! - `audit.rs`: the chain's hash (plain or keyed) and its checker, independent of the database.
//! - `verify.rs`: the stored record versions checked against what the chain recorded.
//! - `rows.rs`: SQL builders and row decoding shared by the two.
//! - `model.rs`: the row types; `error.rs`: [`StoreError`] and which errors a retry can cure.
//! - `migrations/sqlite/`, `migrations/postgres/`: the schema, one folder per dialect, embedded
//!   with `sqlx::migrate!` and applied on connect.
//!
//! # Tables
//!
//! | table | one row per | notes |
//! |---|---|---|
//! | `record_versions` | (record_id, version) | content hash, status, normalized JSON, mapping name and version, source, origin (`file:line`) |
//! | `records` | record | latest version, hash and status, `retracted` 0/1; kept in the same transaction as `record_versions` |
//! | `outbox` | envelope per platform | `op` upsert/retract, `payload_hash`; `delivered` 0/1 with `kafka_partition`, `kafka_offset`, `acked_at_ms` once acknowledged |
//! | `outbox_payloads` | envelope bytes by sha256 | stored once when several platforms get the same envelope |
//! | `source_cursors` | (source, scope) | opaque position text; scope = a Kafka partition, else empty |
//! | `quarantine` | held record | stage document/mapping/validation/redaction, reason, raw input, state held/replayed/dropped |
//! | `audit` | audit entry | gapless `seq`, `hash = sha256(prev_hash ‖ entry)`, or an HMAC with `[hub] audit_key` (see `audit.rs`) |
//! | `audit_head` | (one row) | last seq and hash: serializes appenders, catches truncation |
//! | `record_facts` | record | its latest version's category, division, agency, `decided_on`, effective `publicity_until`, fine in fen, withdrawal reason and day: the columns the compliance clocks and reports query (`facts.rs`) |
//!
//! # Portability rules
//!
//! SQL is written once: `$N` placeholders, `ON CONFLICT`, `RETURNING`, `UPDATE … FROM
//! (VALUES …)`. Columns hold only what `Any` maps on both engines: i64 (`INTEGER`/`BIGINT`),
//! text, bytes (`BLOB`/`BYTEA`); flags are 0/1 integers. Times are Unix milliseconds.
//!
//! Nothing here logs or prints record content: `Debug` of content-bearing rows shows sizes
//! only, and errors name tables, operations and ids.

mod audit;
mod connect;
mod documents;
mod error;
mod facts;
mod leases;
mod model;
mod queue;
mod rows;
mod store;
mod tx;
mod verify;

pub use audit::{is_keyed, AuditKey, GENESIS_HASH, KEYED_MARKER, KEYED_PREFIX};
pub use documents::{NewRecordDocument, ServedDocument};
pub use error::StoreError;
pub use facts::{DeliveryFacts, RecordFacts, StoredFacts};
pub use model::{
    AuditBreak, AuditCheck, AuditEntry, Backend, CurrentRecord, Entry, FeedAck, FeedState, Lease,
    NewEntry, NewQuarantine, NewVersion, OutboxOp, ParkedEntry, QuarantineEntry, QuarantineStage,
    QuarantineState, RecordHistory, RecordVersion, VersionBreak, VersionCheck, VersionRow,
};
pub use queue::{FeedAcks, PRUNE_PER_STATEMENT};
pub use store::Store;
pub use tx::StoreTx;
