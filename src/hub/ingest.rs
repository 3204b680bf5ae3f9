//! The heart of the hub: a connector's batch → validated, versioned, redacted, routed → stored with its
//! outbox entries in ONE transaction. Only when that transaction commits does the connector acknowledge
//! its source; the relay publishes from the outbox afterwards. So a crash anywhere loses nothing, and a
//! re-read source finds its records unchanged (same content hash) and publishes nothing twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use dhub_publish::{
    retract_envelope, upsert_envelope, Platform, RelayHandle, RetractReason, Routing,
};
use dhub_redaction::{Outcome, Policy};
use dhub_schema::intake::{Intake, IntakeBatch, IntakeError, IntakeSink, IntakeSummary};
use dhub_schema::{content_hash, validate, Record};
use dhub_store::{
    NewOutbox, NewQuarantine, NewVersion, OutboxOp, QuarantineStage, Store, StoreError, StoreTx,
    VersionRow,
};
use serde_json::{json, Value};

use crate::telemetry::Telemetry;

/// Validates, versions, redacts and routes batches into the state store.
#[derive(Clone)]
pub struct Ingestor {
    pub store: Store,
    pub routing: Arc<Routing>,
    /// Policy by platform name.
    pub policies: Arc<HashMap<String, Arc<Policy>>>,
    pub telemetry: Arc<Telemetry>,
    pub relay: RelayHandle,
}

/// What to store for one accepted record.
struct Plan {
    version: NewVersion,
    outbox: Vec<NewOutbox>,
    retracted: bool,
    withheld: Option<String>,
}

impl IntakeSink for Ingestor {
    async fn submit(&self, batch: IntakeBatch) -> Result<IntakeSummary, IntakeError> {
        self.ingest(batch, false).await.map_err(|error| {
            self.telemetry.store_failed("ingest", &error);
            let retryable = matches!(&error, IngestError::Store(store) if store.is_retryable());
            IntakeError {
                retryable,
                message: error.to_string(),
            }
        })
    }
}

/// A validated record with everything that can be computed before the transaction: its content hash,
/// its JSON and its redaction under each policy of the platforms it is routed to. Computed on a
/// blocking thread, so one source's CPU work overlaps another's database writes.
struct Prepared {
    record: Record,
    origin: String,
    raw: String,
    hash: String,
    /// The record as stored, without `version` (set once the transaction has assigned it).
    record_json: Value,
    /// Policy name → outcome, for the policies of the platforms covering the agency's division.
    outcomes: HashMap<String, Outcome>,
}

/// Whether a decision has come down (status) or its publicity period has ended (date).
fn withdrawal(record: &Record, today: chrono::NaiveDate) -> Option<RetractReason> {
    RetractReason::for_status(record.status).or(record
        .publicity_until
        .is_some_and(|until| until < today)
        .then_some(RetractReason::PublicityExpired))
}

impl Ingestor {
    /// Stores one batch. `force` stores a new version even when the content is unchanged (a quarantine
    /// replay after a policy fix).
    pub async fn ingest(
        &self,
        batch: IntakeBatch,
        force: bool,
    ) -> Result<IntakeSummary, IngestError> {
        let source = batch.source.clone();
        let source = source.as_str();
        self.telemetry.records_received(source, batch.items.len());
        let items = batch.items;
        let preparer = self.clone();
        let prepare_source = source.to_string();
        let (prepared, mut quarantines) =
            tokio::task::spawn_blocking(move || preparer.prepare(&prepare_source, items))
                .await
                .map_err(|_| IngestError::Prepare)?;

        let mut summary = IntakeSummary::default();
        let mut tx = self.store.begin().await?;
        let ids: Vec<&str> = prepared
            .iter()
            .map(|p| p.record.record_id.as_str())
            .collect();
        let mut latest: HashMap<String, VersionRow> = tx.latest_many(&ids).await?;
        let emitted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let today = chrono::Utc::now().date_naive();
        let mut versions = Vec::new();
        let mut outbox = Vec::new();
        let mut final_retracted: HashMap<String, bool> = HashMap::new();
        let mut audit_versions = Vec::new();
        let mut routed_in_batch: HashMap<String, BTreeSet<String>> = HashMap::new();
        for prepared in prepared {
            let previous = latest.get(&prepared.record.record_id);
            if !force && previous.is_some_and(|p| p.content_hash == prepared.hash) {
                summary.unchanged += 1;
                self.telemetry.record_unchanged(source);
                continue;
            }
            // Only a record seen before can have platforms to withdraw it from: those stored, and
            // those an earlier version in this same batch is about to be sent to.
            let mut routed = match previous {
                Some(_) => tx.routed_platforms(&prepared.record.record_id).await?,
                None => Vec::new(),
            };
            if let Some(in_batch) = routed_in_batch.get(&prepared.record.record_id) {
                routed.extend(
                    in_batch
                        .iter()
                        .filter(|p| !routed.contains(p))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
            let version = previous.map_or(1, |p| p.version + 1);
            let origin = prepared.origin.clone();
            let raw = prepared.raw.clone();
            let plan = self.plan(
                prepared,
                version,
                &routed,
                &batch.mapping_name,
                &batch.mapping_version,
                source,
                &emitted_at,
                today,
            );
            if let Some(reason) = &plan.withheld {
                quarantines.push(NewQuarantine {
                    source_name: source.into(),
                    origin,
                    record_id: Some(plan.version.record_id.clone()),
                    stage: QuarantineStage::Redaction,
                    reason: reason.clone(),
                    payload: raw,
                });
            }
            // Storing a version clears the record's `retracted` flag; the batch's last version of a
            // record decides whether it is set again.
            final_retracted.insert(plan.version.record_id.clone(), plan.retracted);
            latest.insert(
                plan.version.record_id.clone(),
                VersionRow {
                    version,
                    content_hash: plan.version.content_hash.clone(),
                    status: plan.version.status.clone(),
                    retracted: plan.retracted,
                },
            );
            audit_versions.push(json!([
                plan.version.record_id,
                version,
                plan.version.content_hash
            ]));
            summary.accepted += 1;
            self.telemetry.record_stored(source);
            versions.push(plan.version);
            for entry in plan.outbox.iter().filter(|e| e.op == OutboxOp::Upsert) {
                routed_in_batch
                    .entry(entry.record_id.clone())
                    .or_default()
                    .insert(entry.platform.clone());
            }
            outbox.extend(plan.outbox);
        }
        // Versions are inserted in batch order, so of a record stored twice in one batch the later
        // version becomes its latest.
        tx.insert_versions(&versions).await?;
        for (record_id, _) in final_retracted.iter().filter(|(_, retracted)| **retracted) {
            tx.mark_retracted(record_id, true).await?;
        }
        tx.enqueue(&outbox).await?;
        for quarantine in &quarantines {
            tx.quarantine(quarantine).await?;
        }
        if !audit_versions.is_empty() || !quarantines.is_empty() {
            let held: Vec<Value> = quarantines
                .iter()
                .map(|q| json!([q.origin, q.stage.as_str(), q.record_id]))
                .collect();
            tx.audit(
                "batch.stored",
                None,
                &json!({"source": source, "mapping": [batch.mapping_name, batch.mapping_version], "versions": audit_versions, "quarantined": held}),
            )
            .await?;
        }
        if let Some(position) = &batch.position {
            tx.set_source_position(source, position).await?;
        }
        tx.commit().await?;

        summary.quarantined = quarantines.len();
        for quarantine in &quarantines {
            self.telemetry.record_quarantined(
                source,
                quarantine.stage.as_str(),
                &quarantine.origin,
                &quarantine.reason,
            );
        }
        for entry in &outbox {
            self.telemetry
                .outbox_enqueued(&entry.platform, entry.op.as_str());
        }
        if !outbox.is_empty() {
            self.relay.wake();
        }
        Ok(summary)
    }

    /// Validation, hashing and redaction: pure CPU work, no state needed.
    fn prepare(&self, source: &str, items: Vec<Intake>) -> (Vec<Prepared>, Vec<NewQuarantine>) {
        let today = chrono::Utc::now().date_naive();
        let mut prepared = Vec::with_capacity(items.len());
        let mut quarantines = Vec::new();
        for item in items {
            match item {
                Intake::Unmapped {
                    origin,
                    record_id,
                    reason,
                    raw,
                } => {
                    quarantines.push(NewQuarantine {
                        source_name: source.into(),
                        origin,
                        record_id,
                        stage: QuarantineStage::Mapping,
                        reason,
                        payload: raw,
                    });
                }
                Intake::Mapped { value, origin, raw } => match validate(&value) {
                    Ok(validated) => {
                        for warning in &validated.warnings {
                            tracing::warn!(source, origin = %origin, warning = %warning, "accepted with a warning");
                        }
                        let record = validated.record;
                        let hash = content_hash(&record);
                        let record_json = serde_json::to_value(&record).unwrap_or(Value::Null);
                        let mut outcomes = HashMap::new();
                        // A record coming down needs no redacted copy: its retraction carries none.
                        if withdrawal(&record, today).is_none() {
                            for platform in self.routing.route(&record.division_code) {
                                let Some(policy) = self.policies.get(&platform.name) else {
                                    continue;
                                };
                                if outcomes.contains_key(policy.name()) {
                                    continue;
                                }
                                let started = std::time::Instant::now();
                                let outcome = policy.redact(&record_json);
                                self.telemetry.redaction_time(started.elapsed());
                                for redaction in outcome.redactions() {
                                    self.telemetry.redacted(redaction.rule, redaction.count);
                                }
                                outcomes.insert(policy.name().to_string(), outcome);
                            }
                        }
                        prepared.push(Prepared {
                            record,
                            origin,
                            raw,
                            hash,
                            record_json,
                            outcomes,
                        });
                    }
                    Err(errors) => {
                        let record_id = value
                            .get("record_id")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        quarantines.push(NewQuarantine {
                            source_name: source.into(),
                            origin,
                            record_id,
                            stage: QuarantineStage::Validation,
                            reason: errors.to_string(),
                            payload: raw,
                        });
                    }
                },
            }
        }
        (prepared, quarantines)
    }

    /// Decides what one new version means for each platform. Pure: no I/O.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        prepared: Prepared,
        version: i64,
        routed: &[String],
        mapping_name: &str,
        mapping_version: &str,
        source: &str,
        emitted_at: &str,
        today: chrono::NaiveDate,
    ) -> Plan {
        let Prepared {
            record,
            origin,
            hash,
            mut record_json,
            outcomes,
            ..
        } = prepared;
        record_json["version"] = json!(version);
        let mut outbox = Vec::new();
        let mut withheld_reasons = BTreeSet::new();
        let record_id = record.record_id.clone();
        let retract = |platform: &str, reason: RetractReason, note: Option<&str>| {
            let platform = self.routing.get(platform)?;
            Some(retract_entry(
                platform, &record_id, version, emitted_at, reason, note,
            ))
        };

        let retracted = if let Some(reason) = withdrawal(&record, today) {
            // Revoked, annulled, redecided or past its publicity period: withdraw it from every
            // platform that was sent it.
            outbox.extend(
                routed
                    .iter()
                    .filter_map(|platform| retract(platform, reason, None)),
            );
            true
        } else {
            let mut targets = BTreeSet::new();
            let mut envelopes: HashMap<(&str, &str), Vec<u8>> = HashMap::new();
            for platform in self.routing.route(&record.division_code) {
                targets.insert(platform.name.as_str());
                let Some(policy) = self.policies.get(&platform.name) else {
                    continue;
                };
                match outcomes.get(policy.name()) {
                    Some(Outcome::Publish {
                        record: redacted, ..
                    }) => {
                        // Platforms sharing a policy and a format get the same bytes: build them once.
                        let payload = envelopes
                            .entry((policy.name(), platform.format.as_str()))
                            .or_insert_with(|| {
                                let mut redacted = redacted.clone();
                                redacted["version"] = json!(version);
                                upsert_envelope(
                                    &platform.format,
                                    &record_id,
                                    version as u64,
                                    emitted_at,
                                    &redacted,
                                )
                            })
                            .clone();
                        outbox.push(NewOutbox {
                            record_id: record_id.clone(),
                            version,
                            platform: platform.name.clone(),
                            topic: platform.topic.clone(),
                            op: OutboxOp::Upsert,
                            payload,
                        });
                    }
                    Some(Outcome::Withhold { reason, detail }) => {
                        self.telemetry.withheld(&platform.name, reason.code());
                        withheld_reasons.insert(format!(
                            "withheld by policy {}: {}: {detail}",
                            policy.name(),
                            reason.code()
                        ));
                        // A version that may no longer be shown must come down where the last one is up.
                        if routed.iter().any(|p| p == &platform.name) {
                            outbox.extend(retract(
                                &platform.name,
                                RetractReason::Manual,
                                Some("withheld by redaction policy"),
                            ));
                        }
                    }
                    None => {}
                }
            }
            // The agency's division changed: the platforms it no longer belongs to withdraw it.
            for platform in routed.iter().filter(|p| !targets.contains(p.as_str())) {
                outbox.extend(retract(
                    platform,
                    RetractReason::Manual,
                    Some("no longer in this platform's area"),
                ));
            }
            false
        };
        let withheld = (!withheld_reasons.is_empty())
            .then(|| withheld_reasons.into_iter().collect::<Vec<_>>().join("; "));
        Plan {
            version: NewVersion {
                record_id: record_id.clone(),
                version,
                content_hash: hash,
                status: record.status.as_str().to_string(),
                record_json: record_json.to_string(),
                mapping_name: mapping_name.to_string(),
                mapping_version: mapping_version.to_string(),
                source_name: source.to_string(),
                origin,
            },
            outbox,
            retracted,
            withheld,
        }
    }
}

/// The outbox entry that withdraws `record_id` at `version` from one platform.
fn retract_entry(
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
    let mut record_json: Value = serde_json::from_str(&current.record_json).unwrap_or(Value::Null);
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
        origin: "dhub retract".into(),
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
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Validation or redaction panicked: a bug, never bad input (both report bad input as values).
    #[error(
        "preparing the batch failed unexpectedly; the batch was not stored, please report this"
    )]
    Prepare,
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
