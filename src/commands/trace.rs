//! `dhub trace --config FILE RECORD_ID` and `dhub audit verify --config FILE`.

use std::path::Path;
use std::process::ExitCode;

use dhub_redaction::Outcome;
use serde_json::{json, Value};

fn time(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| Value::String(t.to_rfc3339()))
        .unwrap_or(Value::Null)
}

/// Prints the record's history as JSON: each version with its source, mapping and what each platform's
/// policy redacted (rules and fields, never the values), every delivery and retraction with its topic,
/// partition and offset, quarantine entries and audit entries.
pub async fn trace(config_path: &Path, record_id: &str) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let store = super::open_store(&config).await?;
    let history = store.history(record_id).await?;
    if history.versions.is_empty() && history.quarantine.is_empty() {
        anyhow::bail!("record {record_id} is not known to the hub");
    }
    let versions: Vec<Value> = history
        .versions
        .iter()
        .map(|version| {
            let record: Value = serde_json::from_str(&version.record_json).unwrap_or(Value::Null);
            let redactions: Vec<Value> = config
                .platforms
                .iter()
                .filter_map(|platform| {
                    let policy = config.policies.get(&platform.name)?;
                    Some(match policy.redact(&record) {
                        Outcome::Publish { redactions, .. } => json!({"platform": platform.name, "policy": policy.name(), "redactions": redactions}),
                        Outcome::Withhold { reason, detail } => json!({"platform": platform.name, "policy": policy.name(), "withheld": reason.code(), "detail": detail}),
                    })
                })
                .collect();
            json!({
                "version": version.version,
                "status": version.status,
                "content_hash": version.content_hash,
                "source": version.source_name,
                "origin": version.origin,
                "mapping": {"name": version.mapping_name, "version": version.mapping_version},
                "stored_at": time(version.created_at_ms),
                "redaction": redactions,
            })
        })
        .collect();
    let topic_of = |platform: &str| {
        config
            .platforms
            .iter()
            .find(|p| p.name == platform)
            .map(|p| p.topic.clone())
    };
    let deliveries: Vec<Value> = history
        .deliveries
        .iter()
        .map(|state| {
            json!({
                "platform": state.platform,
                "topic": topic_of(&state.platform),
                "op": state.op.as_str(),
                "version": state.version,
                "partition": state.partition,
                "offset": state.offset,
                "acked_at": time(state.acked_at_ms),
                "first_acked_at": time(state.first_acked_at_ms),
            })
        })
        .collect();
    let queued: Vec<Value> = history
        .queued
        .iter()
        .map(|entry| {
            json!({
                "seq": entry.seq,
                "op": entry.op.as_str(),
                "version": entry.version,
                "platforms": entry.platforms,
                "queued_at": time(entry.created_at_ms),
            })
        })
        .collect();
    let parked: Vec<Value> = history
        .parked
        .iter()
        .map(|entry| {
            json!({
                "platform": entry.platform,
                "seq": entry.seq,
                "op": entry.op.as_str(),
                "version": entry.version,
                "reason": entry.reason,
                "parked_at": time(entry.parked_at_ms),
                "released_at": entry.released_at_ms.map(time),
            })
        })
        .collect();
    let quarantine: Vec<Value> = history
        .quarantine
        .iter()
        .map(|q| json!({"id": q.id, "stage": q.stage.as_str(), "reason": q.reason, "state": q.state.as_str(), "origin": q.origin}))
        .collect();
    let audit: Vec<Value> = history
        .audit
        .iter()
        .map(|a| json!({"seq": a.seq, "at": time(a.at_ms), "kind": a.kind, "detail": a.detail_json()}))
        .collect();
    let output = json!({
        "record_id": record_id,
        "retracted": history.latest.as_ref().map(|l| l.retracted),
        "versions": versions,
        "shown_on": history.latest.as_ref().map(|l| l.platforms.clone()),
        "deliveries": deliveries,
        "queued": queued,
        "parked": parked,
        "quarantine": quarantine,
        "audit": audit,
    });
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(ExitCode::SUCCESS)
}

