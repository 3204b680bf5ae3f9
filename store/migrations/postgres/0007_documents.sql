-- Decision documents and evidence carried by reference (issue 11). Keep in step with
-- ../sqlite/0007_documents.sql.

-- The documents each stored version sent, by SHA-256 (the bytes are in the document store): what
-- GET /documents/{sha256} may serve (a document of a record's latest version that is not
-- retracted), and what keeps a stored document from being pruned.
CREATE TABLE record_documents (
    sha256     TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('decision', 'evidence')),
    media_type TEXT    NOT NULL,
    size       BIGINT  NOT NULL,
    platforms  TEXT    NOT NULL,              -- the platforms it was sent to, space-separated
    PRIMARY KEY (sha256, record_id, version)
);
CREATE INDEX record_documents_record ON record_documents (record_id, version);
