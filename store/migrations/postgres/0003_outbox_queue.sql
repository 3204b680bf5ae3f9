-- The outbox as an append-only queue with a watermark per feed (issue 7), leases for several
-- instances. Keep in step with ../sqlite/0003_outbox_queue.sql.

CREATE TABLE outbox_entries (
    seq           BIGINT  NOT NULL PRIMARY KEY,
    record_id     TEXT    NOT NULL,
    version       BIGINT  NOT NULL,
    op            TEXT    NOT NULL CHECK (op IN ('upsert', 'retract')),
    platforms     TEXT    NOT NULL,
    payload       BYTEA   NOT NULL,
    created_at_ms BIGINT  NOT NULL
);

CREATE TABLE outbox_head (
    id  BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO outbox_head (id, seq) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM outbox));

CREATE TABLE feed_marks (
    platform      TEXT    NOT NULL PRIMARY KEY,
    seq           BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL
);

CREATE TABLE feed_state (
    platform          TEXT    NOT NULL,
    record_id         TEXT    NOT NULL,
    version           BIGINT  NOT NULL,
    op                TEXT    NOT NULL CHECK (op IN ('upsert', 'retract')),
    seq               BIGINT  NOT NULL,
    kafka_partition   BIGINT  NOT NULL,
    kafka_offset      BIGINT  NOT NULL,
    acked_at_ms       BIGINT  NOT NULL,
    first_acked_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (platform, record_id)
);

CREATE TABLE outbox_parked (
    platform       TEXT    NOT NULL,
    seq            BIGINT  NOT NULL,
    record_id      TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    op             TEXT    NOT NULL,
    payload        BYTEA   NOT NULL,
    reason         TEXT    NOT NULL,
    parked_at_ms   BIGINT  NOT NULL,
    released_at_ms BIGINT,
    PRIMARY KEY (platform, seq)
);

CREATE TABLE leases (
    name           TEXT    NOT NULL PRIMARY KEY,
    holder         TEXT    NOT NULL,
    expires_at_ms  BIGINT  NOT NULL,
    acquired_at_ms BIGINT  NOT NULL
);

ALTER TABLE records ADD COLUMN platforms TEXT NOT NULL DEFAULT '';

INSERT INTO outbox_entries (seq, record_id, version, op, platforms, payload, created_at_ms)
SELECT o.id, o.record_id, o.version, o.op, o.platform, p.payload, o.created_at_ms
FROM outbox o JOIN outbox_payloads p ON p.hash = o.payload_hash
WHERE o.delivered = 0;

INSERT INTO feed_marks (platform, seq, updated_at_ms)
SELECT platform, COALESCE(MIN(CASE WHEN delivered = 0 THEN id END) - 1, MAX(id)), 0
FROM outbox GROUP BY platform;

INSERT INTO feed_state (platform, record_id, version, op, seq, kafka_partition, kafka_offset,
                        acked_at_ms, first_acked_at_ms)
SELECT DISTINCT ON (o.platform, o.record_id)
       o.platform, o.record_id, o.version, o.op, o.id, o.kafka_partition, o.kafka_offset,
       o.acked_at_ms,
       MIN(o.acked_at_ms) OVER (PARTITION BY o.platform, o.record_id)
FROM outbox o
WHERE o.delivered = 1
ORDER BY o.platform, o.record_id, o.id DESC;

UPDATE records SET platforms = COALESCE((
    SELECT string_agg(last.platform, ' ' ORDER BY last.platform) FROM (
        SELECT DISTINCT ON (o.platform) o.platform, o.op FROM outbox o
        WHERE o.record_id = records.record_id
        ORDER BY o.platform, o.id DESC) AS last
    WHERE last.op = 'upsert'), '');

DROP TABLE outbox;
DROP TABLE outbox_payloads;
