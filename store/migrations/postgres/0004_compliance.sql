-- The law's clocks and statistics (issue 8): what the deadline report, the publicity sweep and the
-- annual statistics ask of a record, as columns of its latest version, so each is an indexed query
-- rather than a scan of JSON. Written in the ingest transaction. Keep in step with
-- ../sqlite/0004_compliance.sql.
CREATE TABLE record_facts (
    record_id         TEXT    NOT NULL PRIMARY KEY,
    version           BIGINT  NOT NULL,
    category          TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    division_code     TEXT    NOT NULL,
    agency_uscc       TEXT,
    agency_name       TEXT    NOT NULL,
    decided_on        TEXT    NOT NULL,
    publicity_until   TEXT,
    publicity_basis   TEXT    NOT NULL,
    fine_fen          BIGINT,
    status_changed_on TEXT,
    received_on       TEXT    NOT NULL,
    withdrawn_reason  TEXT,
    withdrawn_on      TEXT,
    updated_at_ms     BIGINT  NOT NULL
);
CREATE INDEX record_facts_publicity ON record_facts (publicity_until) WHERE withdrawn_reason IS NULL;
CREATE INDEX record_facts_decided ON record_facts (decided_on);
CREATE INDEX feed_state_record ON feed_state (record_id);

INSERT INTO record_facts (record_id, version, category, status, division_code, agency_uscc,
                          agency_name, decided_on, publicity_until, publicity_basis, fine_fen,
                          status_changed_on, received_on, withdrawn_reason, withdrawn_on,
                          updated_at_ms)
SELECT r.record_id, r.latest_version,
       COALESCE(j ->> 'category', ''),
       r.latest_status,
       COALESCE(j ->> 'division_code', ''),
       j -> 'agency' ->> 'uscc',
       COALESCE(j -> 'agency' ->> 'name', ''),
       COALESCE(j ->> 'decided_on', ''),
       j ->> 'publicity_until',
       'carried',
       ROUND((j ->> 'fine_amount')::numeric * 100)::bigint,
       j ->> 'status_changed_on',
       to_char(to_timestamp(v.created_at_ms / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
       CASE WHEN r.retracted = 1 THEN
            CASE WHEN r.latest_status IN ('revoked', 'confirmed_illegal', 'confirmed_void', 'redecided')
                 THEN r.latest_status ELSE 'manual' END END,
       CASE WHEN r.retracted = 1 THEN
            COALESCE(j ->> 'status_changed_on',
                     to_char(to_timestamp(v.created_at_ms / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')) END,
       r.updated_at_ms
FROM records r
JOIN record_versions v ON v.record_id = r.record_id AND v.version = r.latest_version
CROSS JOIN LATERAL (SELECT v.record_json::jsonb AS j) parsed;
