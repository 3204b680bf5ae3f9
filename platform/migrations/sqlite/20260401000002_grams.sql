-- Search that stays fast at a province's scale (issue 10): an index of grams in date order.
--
-- The FTS5 trigram index could not serve a substring of one or two characters, and it lists a
-- term's rows in rowid order: a common term whose matches are all old (a year inside document
-- numbers) was found by walking the whole view in date order. `search_grams` holds one row per
-- distinct bigram and trigram of the folded counterparty name (prefix 'c') and document number
-- (prefix 'd') of every visible record, keyed by (month, gram, sort_date, record): a gram's
-- postings are read newest first, month by month (`search_months`, newest first), so a search
-- walks the postings of its rarest gram and stops as soon as it has a page. Tombstones index
-- nothing. The month leads the key so that a batch of new decisions writes its postings into a
-- few pages at the end of the index, not into one page per gram: keyed by gram first, a batch of
-- 5,000 records dirtied tens of thousands of pages and the apply took three times as long.
--
-- `records.grams` is the record's grams as a JSON array, cut by the platform when it writes the
-- row (`query::grams::posted`): cutting them here, in SQL, cost more than writing them.
DROP TRIGGER records_fts_insert;
DROP TRIGGER records_fts_update;
DROP TRIGGER records_fts_delete;
DROP TABLE records_fts;

ALTER TABLE records ADD COLUMN grams TEXT;

-- WITHOUT ROWID: the key is the row, so a posting costs one B-tree entry, not two.
CREATE TABLE search_grams (
    month     TEXT    NOT NULL,  -- substr(sort_date, 1, 7): 'YYYY-MM', or '' without a date
    gram      TEXT    NOT NULL,
    sort_date TEXT    NOT NULL,
    record    INTEGER NOT NULL,  -- records.id
    PRIMARY KEY (month, gram, sort_date, record)
) WITHOUT ROWID;

-- Every month that has (or had) postings; a search reads them newest first.
CREATE TABLE search_months (month TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID;

-- The grams of what the view already holds (a view written by an older platform), cut in SQL
-- the way the platform cuts them.
CREATE TABLE search_positions (i INTEGER PRIMARY KEY);
INSERT INTO search_positions (i)
    WITH RECURSIVE n(i) AS (
        SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < (
            SELECT MAX(COALESCE(MAX(length(counterparty_name_fold)), 0),
                       COALESCE(MAX(length(document_no_fold)), 0)) FROM records))
    SELECT i FROM n;
UPDATE records SET grams = (SELECT json_group_array(gram) FROM (
    SELECT 'c' || substr(counterparty_name_fold, i, 2) AS gram FROM search_positions
        WHERE i < length(counterparty_name_fold)
    UNION SELECT 'c' || substr(counterparty_name_fold, i, 3) FROM search_positions
        WHERE i < length(counterparty_name_fold) - 1
    UNION SELECT 'd' || substr(document_no_fold, i, 2) FROM search_positions
        WHERE i < length(document_no_fold)
    UNION SELECT 'd' || substr(document_no_fold, i, 3) FROM search_positions
        WHERE i < length(document_no_fold) - 1))
WHERE state = 'visible';
DROP TABLE search_positions;
INSERT INTO search_grams (month, gram, sort_date, record)
    SELECT substr(r.sort_date, 1, 7), j.value, r.sort_date, r.id
    FROM records AS r, json_each(r.grams) AS j
    WHERE r.state = 'visible';
INSERT INTO search_months (month) SELECT DISTINCT month FROM search_grams;

CREATE TRIGGER records_grams_insert AFTER INSERT ON records
WHEN new.state = 'visible' AND new.grams IS NOT NULL BEGIN
    INSERT INTO search_grams (month, gram, sort_date, record)
    SELECT substr(new.sort_date, 1, 7), value, new.sort_date, new.id FROM json_each(new.grams);
    INSERT INTO search_months (month) SELECT substr(new.sort_date, 1, 7)
    WHERE NOT EXISTS (SELECT 1 FROM search_months WHERE month = substr(new.sort_date, 1, 7));
END;

-- An upsert sets every column: only a change of what is indexed rewrites the postings. The old
-- ones go first, so a new posting with the same key cannot collide with an old one.
CREATE TRIGGER records_grams_update AFTER UPDATE ON records
WHEN old.state IS NOT new.state OR old.sort_date IS NOT new.sort_date OR old.id IS NOT new.id
    OR old.grams IS NOT new.grams
BEGIN
    DELETE FROM search_grams
    WHERE old.state = 'visible' AND month = substr(old.sort_date, 1, 7)
      AND gram IN (SELECT value FROM json_each(old.grams))
      AND sort_date = old.sort_date AND record = old.id;
    INSERT INTO search_grams (month, gram, sort_date, record)
    SELECT substr(new.sort_date, 1, 7), value, new.sort_date, new.id FROM json_each(new.grams)
    WHERE new.state = 'visible';
    INSERT INTO search_months (month) SELECT substr(new.sort_date, 1, 7)
    WHERE new.state = 'visible'
      AND NOT EXISTS (SELECT 1 FROM search_months WHERE month = substr(new.sort_date, 1, 7));
END;

CREATE TRIGGER records_grams_delete AFTER DELETE ON records WHEN old.state = 'visible' BEGIN
    DELETE FROM search_grams
    WHERE month = substr(old.sort_date, 1, 7) AND gram IN (SELECT value FROM json_each(old.grams))
      AND sort_date = old.sort_date AND record = old.id;
END;
