//! Withdrawing a record by hand (`dhub retract`, and the publicity sweep), and the retraction entries
//! every withdrawal shares.

use std::collections::BTreeMap;

use dhub_schema::intake::Origin;
use dhub_store::{NewEntry, NewVersion, OutboxOp, Store, StoreError, StoreTx};
use serde_json::{json, Value};

use crate::envelope::{retract_envelope, RetractReason};
use crate::handoff::OutboxHandoff;
use crate::routing::{Platform, Routing};

/// The retraction entries of one record version: platforms that get the same bytes (same envelope
/// schema, reason and note) share one entry.
pub(crate) struct Retractions<'a> {
    record_id: &'a str,
    version: i64,
    emitted_at: &'a str,
    /// The record's category: it decides a `sgs.2021` feed's envelope schema.
    category: Option<dhub_schema::Category>,
    groups: BTreeMap<(String, RetractReason, Option<String>), Vec<String>>,
}

impl<'a> Retractions<'a> {
    pub(crate) fn new(record_id: &'a str, version: i64, emitted_at: &'a str) -> Retractions<'a> {
        Retractions {
            record_id,
            version,
            emitted_at,
            category: None,
            groups: BTreeMap::new(),
        }
    }

    /// The record's category, for the envelope schema of `sgs.2021` feeds.
    pub(crate) fn of_category(mut self, category: Option<dhub_schema::Category>) -> Self {
        self.category = category;
        self
    }

    /// Withdraws the record from `platform`. The note is written by the hub or an official, never
    /// copied from the record.
    pub(crate) fn add(&mut self, platform: &Platform, reason: RetractReason, note: Option<&str>) {
        self.groups
            .entry((
                crate::envelope::schema_for(&platform.format, self.category).to_string(),
                reason,
                note.map(str::to_string),
            ))
            .or_default()
            .push(platform.name.clone());
    }

    pub(crate) fn into_entries(self) -> Vec<NewEntry> {
        self.groups
            .into_iter()
            .map(|((format, reason, note), platforms)| NewEntry {
                record_id: self.record_id.to_string(),
                version: self.version,
                op: OutboxOp::Retract,
                platforms,
                payload: retract_envelope(
                    &format,
                    self.record_id,
                    self.version as u64,
                    self.emitted_at,
                    reason,
                    note.as_deref(),
                )
                .into(),
            })
            .collect()
    }
}

/// Withdraws a record by hand: a new version with the same content (so an unchanged re-export does not
/// bring it back), a retract entry for every platform that shows it, and an audit entry naming the
/// reason, in one transaction; then hands the entries to the running relay (`handoff`), if any.
/// Returns the number of platforms it is withdrawn from.
pub async fn retract_by_hand(
    store: &Store,
    routing: &Routing,
    record_id: &str,
    reason: RetractReason,
    note: Option<&str>,
    handoff: Option<&OutboxHandoff>,
) -> Result<usize, RetractError> {
    let today = crate::compliance::Clocks::default().today();
    retract_on(store, routing, record_id, reason, note, handoff, today).await
}

/// [`retract_by_hand`] on a given local day (the day recorded as the withdrawal's in
/// `record_facts`; the publicity sweep passes its clock's).
pub async fn retract_on(
    store: &Store,
    routing: &Routing,
    record_id: &str,
    reason: RetractReason,
    note: Option<&str>,
    handoff: Option<&OutboxHandoff>,
    today: chrono::NaiveDate,
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
    let emitted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let platforms: Vec<&Platform> = latest
        .platforms
        .iter()
        .filter_map(|name| routing.get(name))
        .collect();
    let category = record_json
        .get("category")
        .cloned()
        .and_then(|c| serde_json::from_value(c).ok());
    let mut retractions = Retractions::new(record_id, version, &emitted_at).of_category(category);
    for platform in &platforms {
        retractions.add(platform, reason, note);
    }
    let entries = retractions.into_entries();
    tx.insert_version(&NewVersion {
        record_id: record_id.to_string(),
        version,
        content_hash: latest.content_hash.clone(),
        status: current.status.clone(),
        record_json: record_json.to_string(),
        mapping_name: current.mapping_name.clone(),
        mapping_version: current.mapping_version.clone(),
        source_name: current.source_name.clone(),
        origin: Origin::Command {
            name: "dhub retract".into(),
        }
        .to_string(),
        platforms: Vec::new(),
    })
    .await?;
    tx.mark_retracted(record_id, true).await?;
    tx.withdraw_facts(record_id, version, reason.as_str(), &today.to_string())
        .await?;
    let queued = tx.append_entries(&entries).await?;
    tx.audit(
        "record.retracted",
        Some(record_id),
        &json!({"version": version, "content_hash": latest.content_hash, "reason": reason.as_str(), "platforms": latest.platforms}),
    )
    .await?;
    tx.commit().await?;
    if let Some(handoff) = handoff {
        handoff.send(queued);
    }
    Ok(platforms.len())
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
