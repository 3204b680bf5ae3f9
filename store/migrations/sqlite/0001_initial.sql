-- The hub's state store, SQLite flavour. Keep in step with ../postgres/0001_initial.sql:
-- same tables, columns and meanings; only the types differ. Every integer is read as i64
-- and every flag is 0/1, because the sqlx Any driver speaks only a common subset of types.

-- Every version of every record the hub accepted, as normalized (before redaction).
CREATE TABLE record_versions (
    record_id       TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    content_hash    TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    record_json     TEXT    NOT NULL,
    mapping_name    TEXT    NOT NULL,
    mapping_version TEXT    NOT NULL,
    source_name     TEXT    NOT NULL,
    origin          TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (record_id, version)
);

-- One row per record: its latest version, kept in the same transaction as record_versions,
-- so the "has this record changed?" check is one primary-key lookup.
CREATE TABLE records (
    record_id      TEXT    NOT NULL PRIMARY KEY,
    latest_version INTEGER NOT NULL,
    latest_hash    TEXT    NOT NULL,
    latest_status  TEXT    NOT NULL,
    retracted      INTEGER NOT NULL DEFAULT 0 CHECK (retracted IN (0, 1)),
    updated_at_ms  INTEGER NOT NULL
);

-- Envelopes waiting for (delivered = 0) or delivered to (delivered = 1) a platform's topic.
-- A delivered row is the per-platform delivery: topic, partition, offset.
-- AUTOINCREMENT: ids never go back, which the relay's `from_id` cursor relies on.
CREATE TABLE outbox (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    record_id       TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    platform        TEXT    NOT NULL,
    topic           TEXT    NOT NULL,
    op              TEXT    NOT NULL CHECK (op IN ('upsert', 'retract')),
    -- The envelope lives in outbox_payloads: platforms sharing a policy share one copy, and
    -- marking a row delivered rewrites a small row, not the envelope.
    payload_hash    TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    delivered       INTEGER NOT NULL DEFAULT 0 CHECK (delivered IN (0, 1)),
    kafka_partition INTEGER,
    kafka_offset    INTEGER,
    acked_at_ms     INTEGER
);
-- Envelopes by sha256 of their bytes (hex).
CREATE TABLE outbox_payloads (
    hash    TEXT    NOT NULL PRIMARY KEY,
    payload BLOB    NOT NULL
);

-- The relay's scan: only the (few) pending rows are in this index.
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered = 0;
CREATE INDEX outbox_record ON outbox (record_id, platform);

-- Where each source connector has got to (a file name, a cursor, a Kafka offset...).
CREATE TABLE source_positions (
    source        TEXT    NOT NULL PRIMARY KEY,
    position      TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- Records held back, with the raw input kept so it can be replayed after a fix.
CREATE TABLE quarantine (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    source_name    TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    record_id      TEXT,
    stage          TEXT    NOT NULL CHECK (stage IN ('document', 'mapping', 'validation', 'redaction')),
    reason         TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'replayed', 'dropped')),
    resolved_at_ms INTEGER
);
CREATE INDEX quarantine_held ON quarantine (id) WHERE state = 'held';
CREATE INDEX quarantine_record ON quarantine (record_id);

-- The tamper-evident audit trail: hash = sha256(prev_hash || canonical entry), seq gapless.
CREATE TABLE audit (
    seq       INTEGER NOT NULL PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    record_id TEXT,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_record ON audit (record_id);

-- The chain head: one row, updated by every append. Updating it first is what serializes
-- appenders (a row lock on Postgres; SQLite has one writer anyway), and it lets
-- `audit verify` notice entries cut off the end of the chain.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
