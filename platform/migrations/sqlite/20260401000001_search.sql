-- Search at a province's scale (a million records): substring search through an FTS5 trigram
-- index, keyset pagination over one ordered index, and counts kept by triggers instead of
-- COUNT(*) over the whole view.
--
-- The table is rebuilt to gain an INTEGER PRIMARY KEY: the FTS index refers to rows by rowid, and
-- VACUUM may renumber the implicit rowid of a table that has no such key.
CREATE TABLE records_keyed (
    id                     INTEGER PRIMARY KEY,
    record_id              TEXT    NOT NULL UNIQUE,
    version                BIGINT  NOT NULL,
    state                  TEXT    NOT NULL CHECK (state IN ('visible', 'retracted')),
    schema_name            TEXT    NOT NULL,
    record_json            TEXT,
    counterparty_name      TEXT,
    document_no            TEXT,
    agency_name            TEXT,
    decided_on             TEXT,
    category               TEXT,
    counterparty_name_fold TEXT,
    document_no_fold       TEXT,
    agency_name_fold       TEXT,
    -- decided_on, or '' when there is none: sorts after every date in descending order, on both
    -- databases, and keeps the keyset condition free of NULL cases
    sort_date              TEXT    NOT NULL DEFAULT '',
    retract_reason         TEXT,
    retract_note           TEXT,
    emitted_at             TEXT,
    source_topic           TEXT    NOT NULL,
    source_partition       BIGINT  NOT NULL,
    source_offset          BIGINT  NOT NULL,
    applied_at             TEXT    NOT NULL
);
INSERT INTO records_keyed (record_id, version, state, schema_name, record_json,
    counterparty_name, document_no, agency_name, decided_on, category,
    counterparty_name_fold, document_no_fold, agency_name_fold, sort_date,
    retract_reason, retract_note, emitted_at, source_topic, source_partition, source_offset,
    applied_at)
SELECT record_id, version, state, schema_name, record_json,
    counterparty_name, document_no, agency_name, decided_on, category,
    counterparty_name_fold, document_no_fold, agency_name_fold, COALESCE(decided_on, ''),
    retract_reason, retract_note, emitted_at, source_topic, source_partition, source_offset,
    applied_at
FROM records;
DROP TABLE records;
ALTER TABLE records_keyed RENAME TO records;

-- The order of every result page (newest decision first, then record_id). It carries the columns
-- the filters test, so a page of a common term is found by walking this index alone.
CREATE INDEX records_order ON records
    (sort_date DESC, record_id, counterparty_name_fold, document_no_fold, agency_name, category)
    WHERE state = 'visible';
CREATE INDEX records_category_order ON records (category, sort_date DESC, record_id)
    WHERE state = 'visible';
CREATE INDEX records_agency_order ON records (agency_name, sort_date DESC, record_id)
    WHERE state = 'visible';
CREATE INDEX records_document_no ON records (document_no) WHERE state = 'visible';

-- Trigram index of the folded counterparty and document number. detail=column: the search
-- checks every candidate with LIKE anyway, so positions would only cost space and write time.
-- Tombstones have NULL columns and index nothing.
CREATE VIRTUAL TABLE records_fts USING fts5(
    counterparty_name_fold, document_no_fold,
    content = 'records', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1', detail = 'column', columnsize = 0);
INSERT INTO records_fts (records_fts) VALUES ('rebuild');

CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
    INSERT INTO records_fts (rowid, counterparty_name_fold, document_no_fold)
    VALUES (new.id, new.counterparty_name_fold, new.document_no_fold);
END;
CREATE TRIGGER records_fts_update AFTER UPDATE ON records BEGIN
    INSERT INTO records_fts (records_fts, rowid, counterparty_name_fold, document_no_fold)
    VALUES ('delete', old.id, old.counterparty_name_fold, old.document_no_fold);
    INSERT INTO records_fts (rowid, counterparty_name_fold, document_no_fold)
    VALUES (new.id, new.counterparty_name_fold, new.document_no_fold);
END;
CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
    INSERT INTO records_fts (records_fts, rowid, counterparty_name_fold, document_no_fold)
    VALUES ('delete', old.id, old.counterparty_name_fold, old.document_no_fold);
END;

-- The agencies ever seen: a few hundred names even for a province, so an agency substring is
-- resolved against this table first and the records are then found by exact name.
CREATE TABLE agencies (
    name TEXT NOT NULL PRIMARY KEY,
    fold TEXT NOT NULL
);
INSERT OR IGNORE INTO agencies (name, fold)
    SELECT DISTINCT agency_name, agency_name_fold FROM records
    WHERE agency_name IS NOT NULL AND agency_name_fold IS NOT NULL;
-- NOT EXISTS rather than INSERT OR IGNORE: inside a trigger fired by an UPSERT, SQLite applies
-- the outer statement's conflict handling, and OR IGNORE would fail as a plain INSERT.
CREATE TRIGGER records_agency_insert AFTER INSERT ON records
WHEN new.agency_name IS NOT NULL BEGIN
    INSERT INTO agencies (name, fold) SELECT new.agency_name, new.agency_name_fold
    WHERE NOT EXISTS (SELECT 1 FROM agencies WHERE name = new.agency_name);
END;
CREATE TRIGGER records_agency_update AFTER UPDATE OF agency_name ON records
WHEN new.agency_name IS NOT NULL BEGIN
    INSERT INTO agencies (name, fold) SELECT new.agency_name, new.agency_name_fold
    WHERE NOT EXISTS (SELECT 1 FROM agencies WHERE name = new.agency_name);
END;

-- Visible records and tombstones, kept exact by triggers: the unfiltered total and /stats no
-- longer count a million rows.
CREATE TABLE view_counts (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    visible    BIGINT  NOT NULL,
    tombstones BIGINT  NOT NULL
);
INSERT INTO view_counts (id, visible, tombstones) VALUES (1,
    (SELECT COUNT(*) FROM records WHERE state = 'visible'),
    (SELECT COUNT(*) FROM records WHERE state = 'retracted'));
CREATE TRIGGER records_count_insert AFTER INSERT ON records BEGIN
    UPDATE view_counts SET visible = visible + (new.state = 'visible'),
        tombstones = tombstones + (new.state = 'retracted') WHERE id = 1;
END;
CREATE TRIGGER records_count_update AFTER UPDATE OF state ON records
WHEN old.state <> new.state BEGIN
    UPDATE view_counts
    SET visible = visible + (new.state = 'visible') - (old.state = 'visible'),
        tombstones = tombstones + (new.state = 'retracted') - (old.state = 'retracted')
    WHERE id = 1;
END;
CREATE TRIGGER records_count_delete AFTER DELETE ON records BEGIN
    UPDATE view_counts SET visible = visible - (old.state = 'visible'),
        tombstones = tombstones - (old.state = 'retracted') WHERE id = 1;
END;
