//! [`Ingestor`]: a connector's batch → validated, constrained, versioned, redacted, routed → stored
//! with its outbox entries in ONE transaction, answered with an outcome per item. Only when that
//! transaction commits does the connector acknowledge its source; the relay publishes from the outbox
//! afterwards. So a crash anywhere loses nothing, and a re-read source finds its records unchanged
//! (same content hash) and publishes nothing twice.
//!
//! The steps, each a function below: [`Ingestor::prepare`] (pure CPU work on a blocking thread),
//! [`Ingestor::plan`] (what one new version means for each platform, pure), [`Ingestor::store`] (the
//! transaction), then the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use dhub_redaction::{Outcome, Policy};
use dhub_schema::intake::{
    HoldStage, Intake, IntakeBatch, IntakeError, IntakeReport, IntakeSink, ItemOutcome, Position,
};
use dhub_schema::{content_hash, stamp, validate, Record};
use dhub_store::{
    NewEntry, NewQuarantine, NewVersion, OutboxOp, QuarantineStage, RecordFacts, Store, StoreError,
    VersionRow,
};
use dhub_support::cpu::{self, Stage};
use futures::future::BoxFuture;
use serde_json::{json, Value};

use crate::compliance::Clocks;
use crate::constraints::SourceConstraints;
use crate::documents::{
    check_documents, store_documents, CheckedDocuments, DocumentSettings, StoredDocuments,
};
use crate::envelope::{upsert_envelope_with_documents, RetractReason};
use crate::events::IngestEvents;
use crate::handoff::OutboxHandoff;
use crate::retract::Retractions;
use crate::routing::Routing;

/// Validates, versions, redacts and routes batches into the state store.
#[derive(Clone)]
pub struct Ingestor {
    pub store: Store,
    pub routing: Arc<Routing>,
    /// Policy by platform name.
    pub policies: Arc<HashMap<String, Arc<Policy>>>,
    /// What each source may submit, by source name; a source not listed may submit anything.
    pub constraints: Arc<HashMap<String, SourceConstraints>>,
    pub events: Arc<dyn IngestEvents>,
    /// Where committed entries go at once (the relays of this instance).
    pub handoff: OutboxHandoff,
    /// Held from queuing entries until they are handed off, so hand-offs leave in commit order (the
    /// queue's head lock orders the commits; this keeps the sends in the same order).
    pub handoff_order: Arc<tokio::sync::Mutex<()>>,
    /// The hub's time zone, publicity rules and clock: "today", publicity ends, the stored facts.
    pub clocks: Clocks,
    /// Decision documents and evidence (`[documents]`); `None`: records' attachments are refused
    /// with a reason and the records go on.
    pub documents: Option<Arc<DocumentSettings>>,
}

impl IntakeSink for Ingestor {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>> {
        Box::pin(async move {
            let stored = self.ingest(batch, false).await;
            if stored.is_ok() {
                self.events.store_writes(None);
            }
            stored.map_err(|error| {
                self.events.store_failed("ingest", &error);
                let retryable = match &error {
                    IngestError::Store(store) => {
                        self.events.store_writes(Some(&store.to_string()));
                        store.is_retryable()
                    }
                    IngestError::Documents { retryable, .. } => *retryable,
                    IngestError::Prepare => false,
                };
                IntakeError {
                    retryable,
                    message: error.to_string(),
                }
            })
        })
    }

    fn positions<'a>(
        &'a self,
        source: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Position>, IntakeError>> {
        Box::pin(async move {
            let stored = self.store.source_positions(source).await.map_err(|error| {
                self.events.store_failed("read source positions", &error);
                IntakeError {
                    retryable: error.is_retryable(),
                    message: error.to_string(),
                }
            })?;
            Ok(stored
                .into_iter()
                .map(|(scope, value)| Position { scope, value })
                .collect())
        })
    }
}

/// A validated record with everything that can be computed before the transaction: its content hash,
/// its JSON and its redaction under each policy of the platforms it is routed to.
struct Prepared {
    /// The item's place in its batch, for the report.
    index: usize,
    record: Record,
    origin: String,
    raw: dhub_schema::intake::Raw,
    hash: String,
    /// The record as stored, without `version` (set once the transaction has assigned it).
    record_json: Value,
    /// Policy name → outcome, for the policies of the platforms covering the agency's division.
    outcomes: HashMap<String, Outcome>,
    /// The source-side stamp (`source.updated_at` / `source.seq`), normalized; `None` when the
    /// mapping gives neither.
    stamp: Option<String>,
    /// The record's checked documents (empty when it has none).
    documents: CheckedDocuments,
}

/// An item held back before the transaction, with its place in the batch.
struct Held {
    index: usize,
    entry: NewQuarantine,
}

/// What to store for one accepted record.
struct Plan {
    /// The version, with the platforms that show the record once its entries are sent.
    version: NewVersion,
    /// One entry per payload variant: upserts per (policy, format), retractions per (format, reason).
    entries: Vec<NewEntry>,
    retracted: bool,
    withheld: Option<String>,
    /// The version's queryable facts (`record_facts`).
    facts: RecordFacts,
    /// The documents the version's upserts name, with the platforms they go to.
    documents: Vec<dhub_store::NewRecordDocument>,
}

/// Everything one batch writes, gathered before the transaction starts writing.
#[derive(Default)]
struct Writes {
    versions: Vec<NewVersion>,
    facts: Vec<RecordFacts>,
    entries: Vec<NewEntry>,
    quarantines: Vec<NewQuarantine>,
    /// Record id → whether the batch's last version of it withdraws it.
    final_retracted: HashMap<String, bool>,
    /// `[record_id, version, content_hash]` per stored version, for the audit entry.
    audited: Vec<Value>,
    /// `(record_id, stamp)` of stored versions that carry a source-side stamp.
    stamps: Vec<(String, String)>,
    /// The documents the batch's versions name, with the platforms they go to.
    documents: Vec<dhub_store::NewRecordDocument>,
}

impl Ingestor {
    /// Stores one batch. `force` stores a new version even when the content is unchanged.
    pub async fn ingest(
        &self,
        batch: Arc<IntakeBatch>,
        force: bool,
    ) -> Result<IntakeReport, IngestError> {
        self.ingest_resolving(batch, force, None).await
    }

    /// Replays a quarantined record (after a fix of the mapping or the policy): stored as a new
    /// version even when its content is unchanged, and the quarantine entry marked replayed, in one
    /// transaction.
    pub async fn replay(
        &self,
        batch: Arc<IntakeBatch>,
        quarantine_id: i64,
    ) -> Result<IntakeReport, IngestError> {
        self.ingest_resolving(batch, true, Some(quarantine_id))
            .await
    }

    async fn ingest_resolving(
        &self,
        batch: Arc<IntakeBatch>,
        force: bool,
        replayed: Option<i64>,
    ) -> Result<IntakeReport, IngestError> {
        let source = batch.source.as_str();
        self.events.records_received(source, batch.items.len());
        let preparer = self.clone();
        let shared = batch.clone();
        let (prepared, held) = tokio::task::spawn_blocking(move || preparer.prepare(&shared))
            .await
            .map_err(|_| IngestError::Prepare)?;
        // Document bytes go to the content-addressed store before the transaction: a crash between
        // the two leaves only a file that pruning removes.
        let mut stored_documents: Vec<StoredDocuments> = Vec::with_capacity(prepared.len());
        for prepared in &prepared {
            for reason in &prepared.documents.refused {
                self.events
                    .document_refused(source, &prepared.origin, reason);
            }
            stored_documents.push(match &self.documents {
                Some(settings) => store_documents(settings, &prepared.documents)
                    .await
                    .map_err(|error| IngestError::Documents {
                        retryable: error.is_retryable(),
                        message: format!("document store: {error}"),
                    })?,
                None => StoredDocuments::default(),
            });
        }
        let mut outcomes: Vec<Option<ItemOutcome>> = vec![None; batch.items.len()];
        for held in &held {
            outcomes[held.index] = Some(quarantined_outcome(&held.entry));
        }
        let mut writes = Writes {
            quarantines: held.into_iter().map(|h| h.entry).collect(),
            ..Writes::default()
        };

        let mut tx = self.store.begin().await?;
        let ids: Vec<&str> = prepared
            .iter()
            .map(|p| p.record.record_id.as_str())
            .collect();
        let mut latest: HashMap<String, VersionRow> = tx.latest_many(&ids).await?;
        let emitted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let today = self.clocks.today();
        for (prepared, stored) in prepared.into_iter().zip(stored_documents) {
            let index = prepared.index;
            let record_id = prepared.record.record_id.clone();
            let previous = latest.get(&record_id);
            if !force && previous.is_some_and(|p| p.content_hash == prepared.hash) {
                self.events.record_unchanged(source);
                outcomes[index] = Some(ItemOutcome::Unchanged { record_id });
                continue;
            }
            // An old export resent after a newer one (by the source's own stamp, else the export's
            // time or the file's, see `dhub_schema::stamp`) must not undo what came since, above
            // all a revocation: held back, never republished. A replay (`force`) is the operator's
            // decision and is stored.
            let stored_stamp = previous.and_then(|p| p.source_stamp.clone());
            if !force && stamp::is_older(prepared.stamp.as_deref(), stored_stamp.as_deref()) {
                let reason = format!(
                    "{}: {} is older than {} of the stored version {}; an old export resent? it is held back so that it cannot undo a later change (`dhub quarantine replay` stores it if it is meant)",
                    prepared.origin,
                    stamp::shown(prepared.stamp.as_deref().unwrap_or_default()),
                    stamp::shown(stored_stamp.as_deref().unwrap_or_default()),
                    previous.map_or(0, |p| p.version),
                );
                let entry = NewQuarantine {
                    source_name: source.into(),
                    origin: prepared.origin.clone(),
                    record_id: Some(record_id.clone()),
                    stage: QuarantineStage::Stale,
                    reason,
                    payload: prepared.raw.raw_text(),
                };
                outcomes[index] = Some(quarantined_outcome(&entry));
                writes.quarantines.push(entry);
                continue;
            }
            let stamp = prepared.stamp.clone();
            // The platforms showing the record now: stored with its latest version, or set by an
            // earlier version of it in this same batch (`latest` is updated below).
            let shown: Vec<String> = previous.map(|p| p.platforms.clone()).unwrap_or_default();
            let version = previous.map_or(1, |p| p.version + 1);
            let origin = prepared.origin.clone();
            let raw = prepared.raw.clone();
            let plan = cpu::measure(Stage::Redact, || {
                self.plan(
                    prepared,
                    &stored,
                    version,
                    &shown,
                    &batch,
                    &emitted_at,
                    today,
                )
            });
            if let Some(reason) = &plan.withheld {
                writes.quarantines.push(NewQuarantine {
                    source_name: source.into(),
                    origin,
                    record_id: Some(record_id.clone()),
                    stage: QuarantineStage::Redaction,
                    reason: reason.clone(),
                    payload: raw.raw_text(),
                });
            }
            // Storing a version clears the record's `retracted` flag; the batch's last version of a
            // record decides whether it is set again.
            writes
                .final_retracted
                .insert(record_id.clone(), plan.retracted);
            latest.insert(
                record_id.clone(),
                VersionRow {
                    version,
                    content_hash: plan.version.content_hash.clone(),
                    status: plan.version.status.clone(),
                    retracted: plan.retracted,
                    platforms: plan.version.platforms.clone(),
                    source_stamp: stamp.clone().or(stored_stamp),
                },
            );
            if let Some(stamp) = stamp {
                writes.stamps.push((record_id.clone(), stamp));
            }
            writes
                .audited
                .push(json!([record_id, version, plan.version.content_hash]));
            self.events.record_stored(source);
            outcomes[index] = Some(ItemOutcome::Accepted { record_id, version });
            writes.versions.push(plan.version);
            writes.facts.push(plan.facts);
            writes.entries.extend(plan.entries);
            writes.documents.extend(plan.documents);
        }
        self.store(tx, &batch, &writes, replayed).await?;
        self.report_stored(source, &writes);
        Ok(IntakeReport {
            // Every item got an outcome above: prepare sorts each into prepared or held.
            outcomes: outcomes.into_iter().flatten().collect(),
        })
    }

    /// Validation, constraints, hashing and redaction: pure CPU work, no state needed.
    fn prepare(&self, batch: &IntakeBatch) -> (Vec<Prepared>, Vec<Held>) {
        let source = batch.source.as_str();
        let today = self.clocks.today();
        let constraints = self.constraints.get(source);
        let mut prepared = Vec::with_capacity(batch.items.len());
        let mut held = Vec::new();
        let hold = |index: usize,
                    origin: String,
                    record_id: Option<String>,
                    stage: QuarantineStage,
                    reason: String,
                    raw: &dhub_schema::intake::Raw| Held {
            index,
            entry: NewQuarantine {
                source_name: source.into(),
                origin,
                record_id,
                stage,
                reason,
                payload: raw.raw_text(),
            },
        };
        for (index, item) in batch.items.iter().enumerate() {
            let origin = item.origin().to_string();
            let (value, raw) = match item {
                Intake::Unmapped {
                    record_id,
                    reason,
                    raw,
                    ..
                } => {
                    held.push(hold(
                        index,
                        origin,
                        record_id.clone(),
                        QuarantineStage::Mapping,
                        reason.clone(),
                        raw,
                    ));
                    continue;
                }
                Intake::Unreadable { reason, raw, .. } => {
                    held.push(hold(
                        index,
                        origin,
                        None,
                        QuarantineStage::Document,
                        reason.clone(),
                        raw,
                    ));
                    continue;
                }
                Intake::Mapped { value, raw, .. } => (value, raw),
            };
            let validated = match cpu::measure(Stage::Validate, || validate(value)) {
                Ok(validated) => validated,
                Err(errors) => {
                    let record_id = value
                        .get("record_id")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    held.push(hold(
                        index,
                        origin,
                        record_id,
                        QuarantineStage::Validation,
                        errors.to_string(),
                        raw,
                    ));
                    continue;
                }
            };
            for warning in &validated.warnings {
                self.events.record_warning(source, &origin, warning);
            }
            let record = validated.record;
            if let Some(Err(reason)) = constraints.map(|c| c.check(&record)) {
                held.push(hold(
                    index,
                    origin,
                    Some(record.record_id.clone()),
                    QuarantineStage::Constraint,
                    reason,
                    raw,
                ));
                continue;
            }
            let serialized = cpu::measure(Stage::Validate, || {
                Ok::<_, serde_json::Error>((content_hash(&record)?, serde_json::to_value(&record)?))
            });
            let (hash, record_json) = match serialized {
                Ok(serialized) => serialized,
                Err(error) => {
                    // A typed record always serializes; fail closed rather than store an empty one.
                    held.push(hold(
                        index,
                        origin,
                        Some(record.record_id.clone()),
                        QuarantineStage::Validation,
                        format!("record: cannot be serialized: {error}"),
                        raw,
                    ));
                    continue;
                }
            };
            let outcomes = cpu::measure(Stage::Redact, || {
                self.redact_for_platforms(&record, &record_json, today)
            });
            // The record's own stamp where its mapping gives one, else its document's age.
            let stamp = stamp::source_stamp(&record.source)
                .ok()
                .flatten()
                .or_else(|| batch.exported.clone());
            let documents = match self.prepare_documents(source, raw, &record_json, &outcomes) {
                Ok(documents) => documents,
                Err(reason) => {
                    held.push(hold(
                        index,
                        origin,
                        Some(record.record_id.clone()),
                        QuarantineStage::Document,
                        reason,
                        raw,
                    ));
                    continue;
                }
            };
            // A changed document is a new version of the record.
            let hash = if documents.originals.is_empty() {
                hash
            } else {
                dhub_documents::sha256_hex(
                    format!("{hash} {}", documents.originals.join(" ")).as_bytes(),
                )
            };
            prepared.push(Prepared {
                index,
                record,
                origin,
                raw: raw.clone(),
                hash,
                record_json,
                outcomes,
                stamp,
                documents,
            });
        }
        (prepared, held)
    }

    /// The record's attachments checked, and its decision's public version made under each policy
    /// that publishes the record. `Err`: the record is held (a decision without a text layer).
    fn prepare_documents(
        &self,
        source: &str,
        raw: &dhub_schema::intake::Raw,
        record_json: &Value,
        outcomes: &HashMap<String, Outcome>,
    ) -> Result<CheckedDocuments, String> {
        let attachments = raw.attachments();
        if attachments.is_empty() {
            return Ok(CheckedDocuments::default());
        }
        let Some(settings) = &self.documents else {
            return Ok(CheckedDocuments {
                refused: attachments
                    .iter()
                    .map(|a| format!("{}: the hub has no [documents] store configured", a.label))
                    .collect(),
                ..CheckedDocuments::default()
            });
        };
        let mut publishing: Vec<&Policy> = Vec::new();
        for policy in self.policies.values() {
            let publishes = matches!(outcomes.get(policy.name()), Some(Outcome::Publish { .. }));
            if publishes && !publishing.iter().any(|p| p.name() == policy.name()) {
                publishing.push(policy.as_ref());
            }
        }
        check_documents(settings, source, attachments, record_json, &publishing)
    }

    /// The record redacted once per policy among the platforms it is routed to. A record coming down
    /// needs no redacted copy: its retraction carries none.
    fn redact_for_platforms(
        &self,
        record: &Record,
        record_json: &Value,
        today: chrono::NaiveDate,
    ) -> HashMap<String, Outcome> {
        let mut outcomes = HashMap::new();
        if self.clocks.withdrawal(record, today).is_some() {
            return outcomes;
        }
        for platform in self.routing.route(&record.division_code) {
            let Some(policy) = self.policies.get(&platform.name) else {
                continue;
            };
            if outcomes.contains_key(policy.name()) {
                continue;
            }
            let started = std::time::Instant::now();
            let outcome = policy.redact(record_json);
            self.events.redaction_time(started.elapsed());
            for redaction in outcome.redactions() {
                self.events.redacted(redaction.rule, redaction.count);
            }
            outcomes.insert(policy.name().to_string(), outcome);
        }
        outcomes
    }

    /// Decides what one new version means for each platform. Pure: no I/O. `shown` are the platforms
    /// that show the record now.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        prepared: Prepared,
        stored: &StoredDocuments,
        version: i64,
        shown: &[String],
        batch: &IntakeBatch,
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
        let record_id = record.record_id.clone();
        let mut retractions =
            Retractions::new(&record_id, version, emitted_at).of_category(Some(record.category));
        let mut withheld_reasons = BTreeSet::new();
        let mut showing: BTreeSet<String> = BTreeSet::new();
        let mut entries = Vec::new();
        // sha256 → (descriptor, platforms it goes to).
        let mut sent: BTreeMap<String, (dhub_documents::DocumentDescriptor, BTreeSet<String>)> =
            BTreeMap::new();

        let withdrawn = self.clocks.withdrawal(&record, today);
        let facts = self.clocks.facts(&record, version, withdrawn, today);
        let retracted = if let Some(reason) = withdrawn {
            // Revoked, annulled, redecided or past its publicity period: withdraw it from every
            // platform that shows it.
            for platform in shown.iter().filter_map(|name| self.routing.get(name)) {
                retractions.add(platform, reason, None);
            }
            true
        } else {
            // Upserts: one entry per (policy, format), naming every platform it goes to.
            let mut variants: Vec<((&str, &str), Vec<String>)> = Vec::new();
            let mut targets = BTreeSet::new();
            for platform in self.routing.route(&record.division_code) {
                targets.insert(platform.name.as_str());
                let Some(policy) = self.policies.get(&platform.name) else {
                    continue;
                };
                match outcomes.get(policy.name()) {
                    Some(Outcome::Publish { .. }) => {
                        let key = (policy.name(), platform.format.as_str());
                        match variants.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, platforms)) => platforms.push(platform.name.clone()),
                            None => variants.push((key, vec![platform.name.clone()])),
                        }
                        showing.insert(platform.name.clone());
                    }
                    Some(Outcome::Withhold { reason, detail }) => {
                        self.events.withheld(&platform.name, reason.code());
                        withheld_reasons.insert(format!(
                            "withheld by policy {}: {}: {detail}",
                            policy.name(),
                            reason.code()
                        ));
                        // A version that may no longer be shown must come down where the last one is up.
                        if shown.iter().any(|p| p == &platform.name) {
                            retractions.add(
                                platform,
                                RetractReason::Manual,
                                Some("withheld by redaction policy"),
                            );
                        }
                    }
                    None => {}
                }
            }
            // The agency's division changed: the platforms it no longer belongs to withdraw it.
            for platform in shown
                .iter()
                .filter(|p| !targets.contains(p.as_str()))
                .filter_map(|name| self.routing.get(name))
            {
                retractions.add(
                    platform,
                    RetractReason::Manual,
                    Some("no longer in this platform's area"),
                );
            }
            for ((policy, format), platforms) in variants {
                let Some(Outcome::Publish {
                    record: redacted, ..
                }) = outcomes.get(policy)
                else {
                    continue;
                };
                let mut redacted = redacted.clone();
                redacted["version"] = json!(version);
                // `sgs.2021` feeds: the national field codes for penalties and licences, built from
                // the redacted record (nothing the policy removed comes back).
                let (schema, body) = if format == dhub_compliance::sgs2021::FORMAT_NAME {
                    match dhub_compliance::to_sgs2021(&redacted) {
                        Ok(Some(codes)) => (format, codes),
                        Ok(None) => (dhub_schema::SCHEMA_NAME, redacted),
                        Err(error) => {
                            // Named by field, never by value; held like a policy's refusal.
                            withheld_reasons.insert(error.to_string());
                            for platform in &platforms {
                                showing.remove(platform);
                            }
                            continue;
                        }
                    }
                } else {
                    (format, redacted)
                };
                let documents = self
                    .policies
                    .get(&platforms[0])
                    .map(|p| stored.for_policy(p))
                    .unwrap_or_default();
                for document in &documents {
                    sent.entry(document.sha256().to_string())
                        .or_insert_with(|| (document.clone(), BTreeSet::new()))
                        .1
                        .extend(platforms.iter().cloned());
                }
                entries.push(NewEntry {
                    record_id: record_id.clone(),
                    version,
                    op: OutboxOp::Upsert,
                    platforms,
                    payload: upsert_envelope_with_documents(
                        schema,
                        &record_id,
                        version as u64,
                        emitted_at,
                        &body,
                        &documents,
                    )
                    .into(),
                });
            }
            false
        };
        entries.extend(retractions.into_entries());
        let withheld = (!withheld_reasons.is_empty())
            .then(|| withheld_reasons.into_iter().collect::<Vec<_>>().join("; "));
        Plan {
            version: NewVersion {
                record_id: record_id.clone(),
                version,
                content_hash: hash,
                status: record.status.as_str().to_string(),
                record_json: record_json.to_string(),
                mapping_name: batch.mapping_name.clone(),
                mapping_version: batch.mapping_version.clone(),
                source_name: batch.source.clone(),
                origin,
                platforms: showing.into_iter().collect(),
            },
            entries,
            retracted,
            withheld,
            facts,
            documents: sent
                .into_iter()
                .map(
                    |(sha256, (descriptor, platforms))| dhub_store::NewRecordDocument {
                        sha256,
                        record_id: record_id.clone(),
                        version,
                        kind: match descriptor.kind() {
                            dhub_documents::DocumentKind::Decision => "decision",
                            dhub_documents::DocumentKind::Evidence => "evidence",
                        }
                        .to_string(),
                        media_type: descriptor.media_type().as_str().to_string(),
                        size: descriptor.size() as i64,
                        platforms: platforms.into_iter().collect(),
                    },
                )
                .collect(),
        }
    }

    /// Writes one batch's versions, outbox entries, quarantine entries, audit entry and source
    /// positions, and commits.
    async fn store(
        &self,
        mut tx: dhub_store::StoreTx,
        batch: &IntakeBatch,
        writes: &Writes,
        replayed: Option<i64>,
    ) -> Result<(), IngestError> {
        // Versions are inserted in batch order, so of a record stored twice in one batch the later
        // version becomes its latest.
        tx.insert_versions(&writes.versions).await?;
        if !writes.stamps.is_empty() {
            let stamps: Vec<(&str, &str)> = writes
                .stamps
                .iter()
                .map(|(id, stamp)| (id.as_str(), stamp.as_str()))
                .collect();
            tx.set_source_stamps(&stamps).await?;
        }
        tx.upsert_facts(&writes.facts).await?;
        // The crash tests' points: half of the transaction written, nothing committed.
        dhub_support::failpoint::hit("store.mid_batch");
        if !writes.documents.is_empty() {
            tx.insert_record_documents(&writes.documents).await?;
        }
        for (record_id, _) in writes.final_retracted.iter().filter(|(_, r)| **r) {
            tx.mark_retracted(record_id, true).await?;
            dhub_support::failpoint::hit("store.mid_retraction");
        }
        // Taken before the queue's head: whoever holds the head holds this too, so no two
        // appenders wait on each other in opposite order.
        let _in_order = if writes.entries.is_empty() {
            None
        } else {
            Some(self.handoff_order.lock().await)
        };
        let queued = tx.append_entries(&writes.entries).await?;
        for quarantine in &writes.quarantines {
            tx.quarantine(quarantine).await?;
        }
        if !writes.audited.is_empty() || !writes.quarantines.is_empty() {
            let held: Vec<Value> = writes
                .quarantines
                .iter()
                .map(|q| json!([q.origin, q.stage.as_str(), q.record_id]))
                .collect();
            tx.audit(
                "batch.stored",
                None,
                &json!({"source": batch.source, "mapping": [batch.mapping_name, batch.mapping_version], "versions": writes.audited, "quarantined": held}),
            )
            .await?;
        }
        if let Some(id) = replayed {
            tx.resolve_quarantine(id, dhub_store::QuarantineState::Replayed)
                .await?;
        }
        for position in &batch.positions {
            tx.set_source_position(&batch.source, &position.scope, &position.value)
                .await?;
        }
        tx.commit().await?;
        self.handoff.send(queued);
        Ok(())
    }

    fn report_stored(&self, source: &str, writes: &Writes) {
        for quarantine in &writes.quarantines {
            self.events.record_quarantined(
                source,
                quarantine.stage.as_str(),
                &quarantine.origin,
                &quarantine.reason,
            );
        }
        for entry in &writes.entries {
            for platform in &entry.platforms {
                self.events.outbox_enqueued(platform, entry.op.as_str());
            }
        }
    }
}

/// The report line of an item held before the transaction.
fn quarantined_outcome(entry: &NewQuarantine) -> ItemOutcome {
    ItemOutcome::Quarantined {
        record_id: entry.record_id.clone(),
        stage: hold_stage(entry.stage),
        reason: entry.reason.clone(),
    }
}

/// The store's stage as the seam names it.
fn hold_stage(stage: QuarantineStage) -> HoldStage {
    match stage {
        QuarantineStage::Document => HoldStage::Document,
        QuarantineStage::Mapping => HoldStage::Mapping,
        QuarantineStage::Validation => HoldStage::Validation,
        QuarantineStage::Redaction => HoldStage::Redaction,
        QuarantineStage::Constraint => HoldStage::Constraint,
        QuarantineStage::Stale => HoldStage::Stale,
    }
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
    /// The document store could not take a record's documents; nothing of the batch was stored.
    #[error("{message}")]
    Documents { message: String, retryable: bool },
}
