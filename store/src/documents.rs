//! The documents each version sent (issue 11, migration 0007): written with the version in its
//! transaction, read by `GET /documents/{sha256}` (only a document of a record's latest version
//! that is not retracted is served) and by pruning (a stored document no such version names is
//! deleted).

use std::collections::HashSet;

use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, StoreTx};

/// One document a version sent to some platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecordDocument {
    pub sha256: String,
    pub record_id: String,
    pub version: i64,
    /// `decision` or `evidence`.
    pub kind: String,
    pub media_type: String,
    pub size: i64,
    pub platforms: Vec<String>,
}

impl StoreTx {
    /// Records the documents versions sent, in this transaction.
    pub async fn insert_record_documents(
        &mut self,
        documents: &[NewRecordDocument],
    ) -> Result<(), StoreError> {
        for document in documents {
            sqlx::query(
                "INSERT INTO record_documents (sha256, record_id, version, kind, media_type, size, platforms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&document.sha256)
            .bind(&document.record_id)
            .bind(document.version)
            .bind(&document.kind)
            .bind(&document.media_type)
            .bind(document.size)
            .bind(document.platforms.join(" "))
            .execute(self.connection())
            .await
            .map_err(StoreError::db("record the documents of a version"))?;
        }
        Ok(())
    }
}

/// What the hub may serve of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedDocument {
    pub media_type: String,
    pub size: i64,
}

/// The documents of every record's latest version that is not retracted.
const IN_FORCE: &str = "FROM record_documents d JOIN records r \
     ON r.record_id = d.record_id AND r.latest_version = d.version AND r.retracted = 0";

impl Store {
    /// The document `sha256`, if a platform was sent it with a version still in force.
    pub async fn document_in_force(
        &self,
        sha256: &str,
    ) -> Result<Option<ServedDocument>, StoreError> {
        let sql = format!("SELECT d.media_type, d.size {IN_FORCE} WHERE d.sha256 = $1 LIMIT 1");
        let row = sqlx::query(&sql)
            .bind(sha256)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::db("look up a document"))?;
        row.map(|row| {
            Ok(ServedDocument {
                media_type: row.try_get("media_type")?,
                size: row.try_get("size")?,
            })
        })
        .transpose()
        .map_err(StoreError::db("look up a document"))
    }

    /// Every document some version in force names: what pruning keeps.
    pub async fn documents_in_force(&self) -> Result<HashSet<String>, StoreError> {
        let sql = format!("SELECT DISTINCT d.sha256 {IN_FORCE}");
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("list documents in force"))?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("sha256"))
            .collect::<Result<_, _>>()
            .map_err(StoreError::db("list documents in force"))
    }
}

impl Store {
    /// Every document some version ever sent: pruning deletes those of them no version in force
    /// names. (A file put for a batch that has not committed yet is in neither list, so it is never
    /// taken for garbage.)
    pub async fn documents_ever_sent(&self) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT sha256 FROM record_documents")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::db("list documents sent"))?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("sha256"))
            .collect::<Result<_, _>>()
            .map_err(StoreError::db("list documents sent"))
    }
}
