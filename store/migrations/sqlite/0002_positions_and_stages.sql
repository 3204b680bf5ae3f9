-- Connectors of every kind (issue 6): positions per partition, and two more reasons to hold a record.

-- Where each source connector has got to, per scope: a Kafka source keeps one offset per partition
-- (scope = the partition), every other source one position (scope = '').
CREATE TABLE source_cursors (
    source        TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    position      TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (source, scope)
);
INSERT INTO source_cursors (source, scope, position, updated_at_ms)
SELECT source, '', position, updated_at_ms FROM source_positions;
DROP TABLE source_positions;

-- SQLite cannot alter a CHECK constraint: the quarantine table is rebuilt with the wider one
-- (`constraint`: a source submitted a record it may not; `stale`: older than what is stored).
CREATE TABLE quarantine_new (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    source_name    TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    record_id      TEXT,
    stage          TEXT    NOT NULL CHECK (stage IN ('document', 'mapping', 'validation', 'redaction', 'constraint', 'stale')),
    reason         TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'replayed', 'dropped')),
    resolved_at_ms INTEGER
);
INSERT INTO quarantine_new SELECT * FROM quarantine;
DROP TABLE quarantine;
ALTER TABLE quarantine_new RENAME TO quarantine;
CREATE INDEX quarantine_held ON quarantine (id) WHERE state = 'held';
CREATE INDEX quarantine_record ON quarantine (record_id);
