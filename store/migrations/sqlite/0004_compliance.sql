-- The law's clocks and statistics (issue 8): what the deadline report, the publicity sweep and the
-- annual statistics ask of a record, as columns of its latest version, so each is an indexed query
-- rather than a scan of JSON. Written in the ingest transaction. Keep in step with
-- ../postgres/0004_compliance.sql.
CREATE TABLE record_facts (
    record_id         TEXT    NOT NULL PRIMARY KEY,
    version           INTEGER NOT NULL,               -- the latest version these facts describe
    category          TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    division_code     TEXT    NOT NULL,               -- as recorded (old codes stay as they are)
    agency_uscc       TEXT,
    agency_name       TEXT    NOT NULL,
    decided_on        TEXT    NOT NULL,               -- YYYY-MM-DD: sorts as it reads
    publicity_until   TEXT,                           -- the source's, else the configured period; NULL: no end
    publicity_basis   TEXT    NOT NULL,               -- source, minor_penalty, …, no_end; 'carried' before 0004
    fine_fen          INTEGER,                        -- fine_amount in fen (1/100 yuan)
    status_changed_on TEXT,
    received_on       TEXT    NOT NULL,               -- local date the latest version was stored
    withdrawn_reason  TEXT,                           -- CONTRACT §4 retract reason once withdrawn
    withdrawn_on      TEXT,                           -- the day the withdrawal clock starts
    updated_at_ms     INTEGER NOT NULL
);
-- The publicity sweep and its next wake-up: only records still shown.
CREATE INDEX record_facts_publicity ON record_facts (publicity_until) WHERE withdrawn_reason IS NULL;
-- The annual report: one year of decisions.
CREATE INDEX record_facts_decided ON record_facts (decided_on);
-- Delivery state per record (deadlines are met when the platforms acknowledged).
CREATE INDEX feed_state_record ON feed_state (record_id);

-- Carry over the records stored before this migration: their latest version's facts, read once from
-- the JSON. The publicity period is the source's only (basis 'carried'): the hub recomputes those
-- rows with its configured periods when it starts.
INSERT INTO record_facts (record_id, version, category, status, division_code, agency_uscc,
                          agency_name, decided_on, publicity_until, publicity_basis, fine_fen,
                          status_changed_on, received_on, withdrawn_reason, withdrawn_on,
                          updated_at_ms)
SELECT r.record_id, r.latest_version,
       COALESCE(json_extract(v.record_json, '$.category'), ''),
       r.latest_status,
       COALESCE(json_extract(v.record_json, '$.division_code'), ''),
       json_extract(v.record_json, '$.agency.uscc'),
       COALESCE(json_extract(v.record_json, '$.agency.name'), ''),
       COALESCE(json_extract(v.record_json, '$.decided_on'), ''),
       json_extract(v.record_json, '$.publicity_until'),
       'carried',
       CAST(ROUND(CAST(json_extract(v.record_json, '$.fine_amount') AS REAL) * 100) AS INTEGER),
       json_extract(v.record_json, '$.status_changed_on'),
       date(v.created_at_ms / 1000, 'unixepoch', '+8 hours'),
       CASE WHEN r.retracted = 1 THEN
            CASE WHEN r.latest_status IN ('revoked', 'confirmed_illegal', 'confirmed_void', 'redecided')
                 THEN r.latest_status ELSE 'manual' END END,
       CASE WHEN r.retracted = 1 THEN
            COALESCE(json_extract(v.record_json, '$.status_changed_on'),
                     date(v.created_at_ms / 1000, 'unixepoch', '+8 hours')) END,
       r.updated_at_ms
FROM records r JOIN record_versions v ON v.record_id = r.record_id AND v.version = r.latest_version
WHERE json_valid(v.record_json);
