-- The outbox as an append-only queue with a watermark per feed (issue 7), leases for several
-- instances. Keep in step with ../postgres/0003_outbox_queue.sql.

-- Envelopes to publish: one entry per record version and payload variant (platforms sharing a policy
-- and a format share the bytes), fanned out by the relay to every listed platform's topic.
-- Append-only; entries every feed has acknowledged are pruned.
CREATE TABLE outbox_entries (
    seq           INTEGER NOT NULL PRIMARY KEY,  -- allocated from outbox_head, in commit order
    record_id     TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    op            TEXT    NOT NULL CHECK (op IN ('upsert', 'retract')),
    platforms     TEXT    NOT NULL,              -- the platforms it goes to, space-separated
    payload       BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

-- The last seq handed out. Appenders take this row first (UPDATE … RETURNING), which serializes
-- them: seq order and commit order agree (on Postgres too), so a relay reading forward from its
-- mark never passes over an entry that commits later.
CREATE TABLE outbox_head (
    id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO outbox_head (id, seq) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM outbox));

-- Per feed (platform): every entry for it up to `seq` is acknowledged by the broker, or parked.
CREATE TABLE feed_marks (
    platform      TEXT    NOT NULL PRIMARY KEY,
    seq           INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- What each platform was last sent of each record, as the broker acknowledged it: what `dhub
-- trace` and the compliance reports read (first_acked_at_ms: when the record first appeared there).
CREATE TABLE feed_state (
    platform          TEXT    NOT NULL,
    record_id         TEXT    NOT NULL,
    version           INTEGER NOT NULL,
    op                TEXT    NOT NULL CHECK (op IN ('upsert', 'retract')),
    seq               INTEGER NOT NULL,
    kafka_partition   INTEGER NOT NULL,
    kafka_offset      INTEGER NOT NULL,
    acked_at_ms       INTEGER NOT NULL,
    first_acked_at_ms INTEGER NOT NULL,
    PRIMARY KEY (platform, record_id)
);

-- Entries a feed could not take (over the broker's message size limit, a permanent error), set aside
-- with the envelope so the entries behind them still go out; released by an operator.
CREATE TABLE outbox_parked (
    platform       TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    record_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    op             TEXT    NOT NULL,
    payload        BLOB    NOT NULL,
    reason         TEXT    NOT NULL,
    parked_at_ms   INTEGER NOT NULL,
    released_at_ms INTEGER,
    PRIMARY KEY (platform, seq)
);

-- Who runs what when several instances share a Postgres store: each source, each feed's relay,
-- each sweep. A lease not renewed before `expires_at_ms` may be taken over.
CREATE TABLE leases (
    name           TEXT    NOT NULL PRIMARY KEY,
    holder         TEXT    NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    acquired_at_ms INTEGER NOT NULL
);

-- The platforms that show a record now (the last entry sent to them is an upsert): a retraction
-- goes to exactly these.
ALTER TABLE records ADD COLUMN platforms TEXT NOT NULL DEFAULT '';

-- Carry over the old outbox: pending rows become entries, each feed's mark sits below its first
-- pending row, acknowledged rows become the feed state, the last row per platform and record says
-- where the record is shown.
INSERT INTO outbox_entries (seq, record_id, version, op, platforms, payload, created_at_ms)
SELECT o.id, o.record_id, o.version, o.op, o.platform, p.payload, o.created_at_ms
FROM outbox o JOIN outbox_payloads p ON p.hash = o.payload_hash
WHERE o.delivered = 0;

INSERT INTO feed_marks (platform, seq, updated_at_ms)
SELECT platform, COALESCE(MIN(CASE WHEN delivered = 0 THEN id END) - 1, MAX(id)), 0
FROM outbox GROUP BY platform;

INSERT INTO feed_state (platform, record_id, version, op, seq, kafka_partition, kafka_offset,
                        acked_at_ms, first_acked_at_ms)
SELECT o.platform, o.record_id, o.version, o.op, o.id, o.kafka_partition, o.kafka_offset,
       o.acked_at_ms,
       (SELECT MIN(f.acked_at_ms) FROM outbox f
        WHERE f.platform = o.platform AND f.record_id = o.record_id AND f.delivered = 1)
FROM outbox o
WHERE o.delivered = 1
  AND o.id = (SELECT MAX(x.id) FROM outbox x
              WHERE x.platform = o.platform AND x.record_id = o.record_id AND x.delivered = 1);

UPDATE records SET platforms = COALESCE((
    SELECT group_concat(platform, ' ') FROM (
        SELECT o.platform FROM outbox o
        WHERE o.record_id = records.record_id AND o.op = 'upsert'
          AND o.id = (SELECT MAX(x.id) FROM outbox x
                      WHERE x.record_id = o.record_id AND x.platform = o.platform)
        ORDER BY o.platform)), '');

DROP TABLE outbox;
DROP TABLE outbox_payloads;
