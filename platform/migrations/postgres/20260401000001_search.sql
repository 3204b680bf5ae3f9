-- Search at a province's scale (a million records): substring search through pg_trgm GIN
-- indexes, keyset pagination over one ordered index, and counts kept by triggers instead of
-- COUNT(*) over the whole view. pg_trgm ships with Postgres (Debian: postgresql-contrib); the
-- platform checks it is available before migrating and says so if not.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- decided_on, or '' when there is none: sorts after every date in descending order, on both
-- databases, and keeps the keyset condition free of NULL cases.
ALTER TABLE records ADD COLUMN sort_date TEXT NOT NULL DEFAULT '';
UPDATE records SET sort_date = decided_on WHERE decided_on IS NOT NULL;

DROP INDEX records_state_decided_on;
DROP INDEX records_state_category;
DROP INDEX records_document_no;

-- The order of every result page (newest decision first, then record_id in byte order). It
-- carries the columns the filters test, so a page of a common term is an index-only walk.
CREATE INDEX records_order ON records (sort_date COLLATE "C" DESC, record_id COLLATE "C")
    INCLUDE (counterparty_name_fold, document_no_fold, agency_name, category)
    WHERE state = 'visible';
CREATE INDEX records_category_order ON records
    (category, sort_date COLLATE "C" DESC, record_id COLLATE "C") WHERE state = 'visible';
CREATE INDEX records_agency_order ON records
    (agency_name, sort_date COLLATE "C" DESC, record_id COLLATE "C") WHERE state = 'visible';
CREATE INDEX records_document_no ON records (document_no) WHERE state = 'visible';
CREATE INDEX records_counterparty_trgm ON records
    USING gin (counterparty_name_fold gin_trgm_ops) WHERE state = 'visible';
CREATE INDEX records_document_no_trgm ON records
    USING gin (document_no_fold gin_trgm_ops) WHERE state = 'visible';

-- The agencies ever seen: a few hundred names even for a province, so an agency substring is
-- resolved against this table first and the records are then found by exact name.
CREATE TABLE agencies (
    name TEXT NOT NULL PRIMARY KEY,
    fold TEXT NOT NULL
);
INSERT INTO agencies (name, fold)
    SELECT DISTINCT agency_name, agency_name_fold FROM records
    WHERE agency_name IS NOT NULL AND agency_name_fold IS NOT NULL
ON CONFLICT DO NOTHING;

-- Visible records and tombstones, kept exact by statement-level triggers.
CREATE TABLE view_counts (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    visible    BIGINT  NOT NULL,
    tombstones BIGINT  NOT NULL
);
INSERT INTO view_counts (id, visible, tombstones) VALUES (1,
    (SELECT COUNT(*) FROM records WHERE state = 'visible'),
    (SELECT COUNT(*) FROM records WHERE state = 'retracted'));

CREATE FUNCTION dhub_records_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE view_counts SET
        visible = visible + (SELECT COUNT(*) FROM inserted WHERE state = 'visible'),
        tombstones = tombstones + (SELECT COUNT(*) FROM inserted WHERE state = 'retracted')
    WHERE id = 1;
    INSERT INTO agencies (name, fold)
        SELECT DISTINCT agency_name, agency_name_fold FROM inserted
        WHERE agency_name IS NOT NULL AND agency_name_fold IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER records_inserted AFTER INSERT ON records
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION dhub_records_inserted();

CREATE FUNCTION dhub_records_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE view_counts SET
        visible = visible
            + (SELECT COUNT(*) FROM after_rows WHERE state = 'visible')
            - (SELECT COUNT(*) FROM before_rows WHERE state = 'visible'),
        tombstones = tombstones
            + (SELECT COUNT(*) FROM after_rows WHERE state = 'retracted')
            - (SELECT COUNT(*) FROM before_rows WHERE state = 'retracted')
    WHERE id = 1;
    INSERT INTO agencies (name, fold)
        SELECT DISTINCT agency_name, agency_name_fold FROM after_rows
        WHERE agency_name IS NOT NULL AND agency_name_fold IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER records_updated AFTER UPDATE ON records
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dhub_records_updated();

CREATE FUNCTION dhub_records_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE view_counts SET
        visible = visible - (SELECT COUNT(*) FROM deleted WHERE state = 'visible'),
        tombstones = tombstones - (SELECT COUNT(*) FROM deleted WHERE state = 'retracted')
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER records_deleted AFTER DELETE ON records
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION dhub_records_deleted();
