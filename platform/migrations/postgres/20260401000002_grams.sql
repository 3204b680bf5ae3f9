-- Search that stays fast at a province's scale (issue 10): an index of grams in date order.
--
-- pg_trgm's GIN indexes could not narrow a substring of one or two characters, and a GIN bitmap
-- has no order: a rare short string, or a common term whose matches are all old (a year inside
-- document numbers), was found by walking the whole view in date order. `search_grams` holds one
-- row per distinct bigram and trigram of the folded counterparty name (prefix 'c') and document
-- number (prefix 'd') of every visible record, keyed by (month, gram, sort_date, record): a
-- gram's postings are read newest first, month by month (`search_months`, newest first; a
-- backward index scan in each), so a search walks the postings of its rarest gram and stops as
-- soon as it has a page. Tombstones index nothing. The month leads the key so that a batch of
-- new decisions writes its postings into a few pages at the end of the index, not one per gram.
--
-- `records.grams` is the record's grams as a JSON array, cut by the platform when it writes the
-- row (`query::grams::posted`), as on SQLite.
DROP INDEX records_counterparty_trgm;
DROP INDEX records_document_no_trgm;

ALTER TABLE records ADD COLUMN grams TEXT;

CREATE TABLE search_grams (
    month     TEXT COLLATE "C" NOT NULL,  -- left(sort_date, 7): 'YYYY-MM', or '' without a date
    gram      TEXT COLLATE "C" NOT NULL,
    sort_date TEXT COLLATE "C" NOT NULL,
    record    TEXT COLLATE "C" NOT NULL,  -- records.record_id
    PRIMARY KEY (month, gram, sort_date, record)
);

-- Every month that has (or had) postings; a search reads them newest first.
CREATE TABLE search_months (month TEXT COLLATE "C" NOT NULL PRIMARY KEY);

-- The grams of what the view already holds (a view written by an older platform), cut in SQL
-- the way the platform cuts them.
UPDATE records SET grams = (
    SELECT COALESCE(json_agg(DISTINCT prefix || substr(t, i, n)), '[]'::json)::text
    FROM (VALUES ('c', counterparty_name_fold), ('d', document_no_fold)) AS v(prefix, t),
         generate_series(1, char_length(t) - 1) AS i,
         (VALUES (2), (3)) AS k(n)
    WHERE i + n - 1 <= char_length(t))
WHERE state = 'visible';
INSERT INTO search_grams (month, gram, sort_date, record)
    SELECT left(r.sort_date, 7), g, r.sort_date, r.record_id FROM records AS r,
        LATERAL json_array_elements_text(r.grams::json) AS g
    WHERE r.state = 'visible';
INSERT INTO search_months (month) SELECT DISTINCT month FROM search_grams;

-- Statement-level, like the counters: one INSERT of a batch's postings, not one per record.
CREATE FUNCTION dhub_grams_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_grams (month, gram, sort_date, record)
    SELECT left(i.sort_date, 7), g, i.sort_date, i.record_id FROM inserted AS i,
        LATERAL json_array_elements_text(i.grams::json) AS g
    WHERE i.state = 'visible';
    INSERT INTO search_months (month)
    SELECT DISTINCT left(sort_date, 7) FROM inserted WHERE state = 'visible'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER records_grams_inserted AFTER INSERT ON records
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION dhub_grams_inserted();

-- An upsert sets every column: only a change of what is indexed rewrites the postings, the old
-- ones first, so a new posting with the same key cannot collide with an old one.
CREATE FUNCTION dhub_grams_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT b.* FROM before_rows AS b JOIN after_rows AS a ON a.record_id = b.record_id
        WHERE a.state IS DISTINCT FROM b.state OR a.sort_date IS DISTINCT FROM b.sort_date
           OR a.grams IS DISTINCT FROM b.grams)
    DELETE FROM search_grams AS s
    USING changed AS b, LATERAL json_array_elements_text(b.grams::json) AS g
    WHERE b.state = 'visible' AND s.month = left(b.sort_date, 7)
      AND s.gram = g AND s.sort_date = b.sort_date AND s.record = b.record_id;
    WITH changed AS (
        SELECT a.* FROM after_rows AS a JOIN before_rows AS b ON b.record_id = a.record_id
        WHERE a.state IS DISTINCT FROM b.state OR a.sort_date IS DISTINCT FROM b.sort_date
           OR a.grams IS DISTINCT FROM b.grams)
    INSERT INTO search_grams (month, gram, sort_date, record)
    SELECT left(a.sort_date, 7), g, a.sort_date, a.record_id FROM changed AS a,
        LATERAL json_array_elements_text(a.grams::json) AS g
    WHERE a.state = 'visible';
    INSERT INTO search_months (month)
    SELECT DISTINCT left(sort_date, 7) FROM after_rows WHERE state = 'visible'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER records_grams_updated AFTER UPDATE ON records
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dhub_grams_updated();

CREATE FUNCTION dhub_grams_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_grams AS s
    USING deleted AS d, LATERAL json_array_elements_text(d.grams::json) AS g
    WHERE d.state = 'visible' AND s.month = left(d.sort_date, 7) AND s.gram = g
      AND s.sort_date = d.sort_date AND s.record = d.record_id;
    RETURN NULL;
END $$;
CREATE TRIGGER records_grams_deleted AFTER DELETE ON records
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION dhub_grams_deleted();
