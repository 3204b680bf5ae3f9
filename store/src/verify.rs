//! [`Store::verify_versions`]: the stored record versions checked against what the audit chain
//! recorded of them, so that editing, adding or deleting a version in the database shows even when
//! the chain itself was left alone.
//!
//! The chain records every version it stores: `batch.stored` entries list `[record_id, version,
//! content_hash]`, `record.retracted` entries the record, its `version` and (since keyed chains)
//! its `content_hash`. Each stored version must hash (by the caller's function, the pipeline's
//! content hash) to its stored content hash, that hash must be the one the chain recorded, and
//! every version the chain recorded must still be stored.

use std::collections::HashMap;

use sqlx::Row;

use crate::error::StoreError;
use crate::model::{VersionBreak, VersionCheck};
use crate::rows;
use crate::store::Store;

/// Rows read per round trip.
const PAGE: i64 = 2000;

/// What the chain says of one version: the entry that recorded it, and the content hash it gave.
struct Claim {
    seq: i64,
    content_hash: Option<String>,
}

impl Store {
    /// Checks every stored record version against the audit chain, on one snapshot. `recompute`
    /// turns a version's record JSON into its content hash (the pipeline's `content_hash`; the store
    /// does not know the record schema). Run [`Store::audit_verify`] first: the claims read here are
    /// only as good as the chain.
    ///
    /// Memory: one entry per version the chain records (record id, version, hash).
    pub async fn verify_versions(
        &self,
        recompute: &(dyn Fn(&str) -> Result<String, String> + Sync),
    ) -> Result<VersionCheck, StoreError> {
        let mut tx = self.snapshot().await?;
        let mut claims: HashMap<(String, i64), Claim> = HashMap::new();
        let sql = format!(
            "SELECT {} FROM audit WHERE seq > $1 AND kind IN ('batch.stored', 'record.retracted') \
             ORDER BY seq LIMIT $2",
            rows::AUDIT_COLUMNS
        );
        let mut after = i64::MIN;
        loop {
            let page = sqlx::query(&sql)
                .bind(after)
                .bind(PAGE)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("read audit entries"))?;
            for row in &page {
                let entry = rows::audit_entry(row)?;
                after = entry.seq;
                let Some(detail) = entry.detail_json() else {
                    continue;
                };
                if entry.kind == "batch.stored" {
                    for item in detail["versions"].as_array().into_iter().flatten() {
                        if let (Some(id), Some(version)) = (item[0].as_str(), item[1].as_i64()) {
                            claims.insert(
                                (id.to_owned(), version),
                                Claim {
                                    seq: entry.seq,
                                    content_hash: item[2].as_str().map(str::to_owned),
                                },
                            );
                        }
                    }
                } else if let (Some(id), Some(version)) =
                    (entry.record_id.as_deref(), detail["version"].as_i64())
                {
                    claims.insert(
                        (id.to_owned(), version),
                        Claim {
                            seq: entry.seq,
                            content_hash: detail["content_hash"].as_str().map(str::to_owned),
                        },
                    );
                }
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }

        let sql = "SELECT record_id, version, content_hash, record_json FROM record_versions \
                   WHERE record_id > $1 OR (record_id = $1 AND version > $2) \
                   ORDER BY record_id, version LIMIT $3";
        let (mut after_id, mut after_version) = (String::new(), i64::MIN);
        let mut checked = 0_i64;
        loop {
            let page = sqlx::query(sql)
                .bind(after_id.as_str())
                .bind(after_version)
                .bind(PAGE)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("read record versions"))?;
            for row in &page {
                let decode = || StoreError::db("read record versions");
                let record_id: String = row.try_get("record_id").map_err(decode())?;
                let version: i64 = row.try_get("version").map_err(decode())?;
                let stored_hash: String = row.try_get("content_hash").map_err(decode())?;
                let record_json: String = row.try_get("record_json").map_err(decode())?;
                let broken = |reason| VersionCheck::Broken {
                    record_id: record_id.clone(),
                    version,
                    reason,
                };
                match recompute(&record_json) {
                    Ok(hash) if hash == stored_hash => {}
                    Ok(_) => return Ok(broken(VersionBreak::ContentChanged)),
                    Err(reason) => return Ok(broken(VersionBreak::Unreadable(reason))),
                }
                match claims.remove(&(record_id.clone(), version)) {
                    None => return Ok(broken(VersionBreak::NotInChain)),
                    Some(Claim {
                        seq,
                        content_hash: Some(claimed),
                    }) if claimed != stored_hash => {
                        return Ok(broken(VersionBreak::HashDiffers { seq }))
                    }
                    Some(_) => {}
                }
                checked += 1;
                (after_id, after_version) = (record_id, version);
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        tx.rollback()
            .await
            .map_err(StoreError::db("end a read transaction"))?;
        // What the chain recorded and the table no longer holds; the earliest claim first.
        if let Some(((record_id, version), claim)) = claims
            .into_iter()
            .min_by_key(|(key, claim)| (claim.seq, key.clone()))
        {
            return Ok(VersionCheck::Broken {
                record_id,
                version,
                reason: VersionBreak::Missing { seq: claim.seq },
            });
        }
        Ok(VersionCheck::Intact { versions: checked })
    }
}
