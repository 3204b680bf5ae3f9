-- Issue 9 (hostile input): the source-side stamp of each record's latest version
-- (`source.updated_at` / `source.seq`, normalized to sort in time order; NULL when the mapping
-- gives neither). A version older than it is held back as `stale`, so an old export resent after a
-- revoking one cannot republish the revoked decision. Keep in step with ../sqlite/0006_hardening.sql.
ALTER TABLE records ADD COLUMN source_stamp TEXT;
