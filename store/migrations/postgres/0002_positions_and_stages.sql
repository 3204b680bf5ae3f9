-- Connectors of every kind (issue 6): positions per partition, and two more reasons to hold a record.

-- Where each source connector has got to, per scope: a Kafka source keeps one offset per partition
-- (scope = the partition), every other source one position (scope = '').
CREATE TABLE source_cursors (
    source        TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    position      TEXT    NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (source, scope)
);
INSERT INTO source_cursors (source, scope, position, updated_at_ms)
SELECT source, '', position, updated_at_ms FROM source_positions;
DROP TABLE source_positions;

-- `constraint`: a source submitted a record it may not; `stale`: older than what is stored.
ALTER TABLE quarantine DROP CONSTRAINT quarantine_stage_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_stage_check
    CHECK (stage IN ('document', 'mapping', 'validation', 'redaction', 'constraint', 'stale'));
