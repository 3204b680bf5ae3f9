//! Withdrawing a record by hand (`dhub retract`, and the publicity sweep), and the outbox entry every
//! retraction shares.

use dhub_store::{NewOutbox, NewVersion, OutboxOp, Store, StoreError, StoreTx};
use serde_json::{json, Value};

use crate::envelope::{retract_envelope, RetractReason};
use crate::routing::{Platform, Routing};

/// The outbox entry that withdraws `record_id` at `version` from one platform.
pub(crate) fn retract_entry(
    platform: &Platform,
    record_id: &str,
    version: i64,
    emitted_at: &str,
    reason: RetractReason,
    note: Option<&str>,
) -> NewOutbox {
    NewOutbox {
        record_id: record_id.to_string(),
        version,
        platform: platform.name.clone(),
        topic: platform.topic.clone(),
        op: OutboxOp::Retract,
        payload: retract_envelope(
            &platform.format,
            record_id,
            version as u64,
            emitted_at,
            reason,
            note,
        ),
    }
}

/// Withdraws a record by hand (`dhub retract`): a new version with the same content (so an unchanged
/// re-export does not bring it back), a retract envelope for every platform that was sent it, and an
/// audit entry naming the reason. Returns the number of platforms it is withdrawn from.
pub async fn retract_by_hand(
    store: &Store,
    routing: &Routing,
    record_id: &str,
    reason: RetractReason,
    note: Option<&str>,
) -> Result<usize, RetractError> {
    // The stored versions are read before the transaction: a transaction must not wait on a second
    // pooled connection. A version stored in between is caught below, and the read is repeated.
    let mut attempts = 0;
    let (mut tx, latest, current) = loop {
        let history = store.history(record_id).await?;
        let mut tx: StoreTx = store.begin().await?;
        let Some(latest) = tx.latest(record_id).await? else {
            return Err(RetractError::UnknownRecord(record_id.to_string()));
        };
        if latest.retracted {
            return Err(RetractError::AlreadyRetracted(record_id.to_string()));
        }
        match history
            .versions
            .into_iter()
            .find(|v| v.version == latest.version)
        {
            Some(current) => break (tx, latest, current),
            None if attempts < 3 => {
                attempts += 1;
                drop(tx);
            }
            None => return Err(RetractError::UnknownRecord(record_id.to_string())),
        }
    };
    let version = latest.version + 1;
    // A stored version that no longer parses is corruption: refuse rather than write a null record.
    let mut record_json: Value =
        serde_json::from_str(&current.record_json).map_err(|_| StoreError::Corrupt {
            table: "record_versions",
            column: "record_json",
            key: format!("{record_id} v{}", current.version),
        })?;
    record_json["version"] = json!(version);
    let routed = tx.routed_platforms(record_id).await?;
    let emitted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let outbox: Vec<NewOutbox> = routed
        .iter()
        .filter_map(|name| routing.get(name))
        .map(|platform| retract_entry(platform, record_id, version, &emitted_at, reason, note))
        .collect();
    tx.insert_version(&NewVersion {
        record_id: record_id.to_string(),
        version,
        content_hash: latest.content_hash.clone(),
        status: current.status.clone(),
        record_json: record_json.to_string(),
        mapping_name: current.mapping_name.clone(),
        mapping_version: current.mapping_version.clone(),
        source_name: current.source_name.clone(),
        origin: dhub_schema::intake::Origin::Command {
            name: "dhub retract".into(),
        }
        .to_string(),
    })
    .await?;
    tx.mark_retracted(record_id, true).await?;
    tx.enqueue(&outbox).await?;
    tx.audit(
        "record.retracted",
        Some(record_id),
        &json!({"version": version, "reason": reason.as_str(), "platforms": routed}),
    )
    .await?;
    tx.commit().await?;
    Ok(outbox.len())
}

#[derive(Debug, thiserror::Error)]
pub enum RetractError {
    #[error("record {0} is not known to the hub; check the id with `dhub trace`")]
    UnknownRecord(String),
    #[error("record {0} is already withdrawn")]
    AlreadyRetracted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
