-- The platform's view of one feed. One row per record_id ever seen: either a visible record
-- (state 'visible', its JSON and search columns) or a tombstone (state 'retracted', JSON and search
-- columns cleared) that keeps the version so a late, lower-version upsert cannot resurrect it.
CREATE TABLE records (
    record_id              TEXT    NOT NULL PRIMARY KEY,
    version                BIGINT  NOT NULL,
    state                  TEXT    NOT NULL CHECK (state IN ('visible', 'retracted')),
    schema_name            TEXT    NOT NULL,
    record_json            TEXT,
    counterparty_name      TEXT,
    document_no            TEXT,
    agency_name            TEXT,
    decided_on             TEXT,
    category               TEXT,
    -- lowercased copies, folded in Rust so that SQLite and Postgres match substrings alike
    counterparty_name_fold TEXT,
    document_no_fold       TEXT,
    agency_name_fold       TEXT,
    retract_reason         TEXT,
    retract_note           TEXT,
    emitted_at             TEXT,
    source_topic           TEXT    NOT NULL,
    source_partition       BIGINT  NOT NULL,
    source_offset          BIGINT  NOT NULL,
    applied_at             TEXT    NOT NULL
);

CREATE INDEX records_state_decided_on ON records (state, decided_on);
CREATE INDEX records_state_category ON records (state, category);
CREATE INDEX records_document_no ON records (document_no);

-- Messages that were not valid envelopes: where they were, and why (never the payload).
CREATE TABLE rejected (
    id               BIGSERIAL NOT NULL PRIMARY KEY,
    topic            TEXT    NOT NULL,
    kafka_partition  BIGINT  NOT NULL,
    kafka_offset     BIGINT  NOT NULL,
    error            TEXT    NOT NULL,
    rejected_at      TEXT    NOT NULL,
    UNIQUE (topic, kafka_partition, kafka_offset)
);

-- The highest offset applied per partition, written in the same transaction as the view.
CREATE TABLE partition_offsets (
    topic            TEXT    NOT NULL,
    kafka_partition  BIGINT  NOT NULL,
    last_offset      BIGINT  NOT NULL,
    updated_at       TEXT    NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);
