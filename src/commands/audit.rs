//! `dhub audit verify`: the audit chain recomputed (with `[hub] audit_key` when the chain is keyed),
//! then every stored record version checked against what the chain recorded of it.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use dhub_store::{AuditCheck, VersionCheck};

/// The content hash of a stored version's record JSON, as the pipeline computed it when storing.
pub fn recompute_content_hash(record_json: &str) -> Result<String, String> {
    let record: dhub_schema::Record = serde_json::from_str(record_json)
        .map_err(|error| format!("not a normalized record: {error}"))?;
    dhub_schema::content_hash(&record).map_err(|error| format!("cannot be serialized: {error}"))
}

pub async fn verify(config_path: &Path, with_checkpoints: bool) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let store = super::open_store(&config).await?;
    let entries = match store.audit_verify().await? {
        AuditCheck::Intact { entries } => entries,
        AuditCheck::Broken { seq, reason } => {
            eprintln!("error: audit chain broken at entry {seq}: {reason}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut checked = String::new();
    if with_checkpoints {
        let (settings, topic) = (config.kafka.clone(), config.checkpoint_topic());
        let checkpoints = tokio::task::spawn_blocking(move || {
            dhub_publish::checkpoint::read_all(&settings, &topic, Duration::from_secs(30))
        })
        .await?
        .map_err(|error| anyhow::anyhow!("cannot read the audit checkpoints: {error}"))?;
        let (head, _) = store.audit_head().await?;
        for checkpoint in &checkpoints {
            if checkpoint.seq > head {
                eprintln!(
                    "error: audit chain broken at entry {}: a checkpoint covers it and the chain ends at {head} (cut short)",
                    checkpoint.seq
                );
                return Ok(ExitCode::FAILURE);
            }
            if store.audit_hash_at(checkpoint.seq).await?.as_deref() != Some(&checkpoint.hash) {
                eprintln!(
                    "error: audit chain broken at entry {}: it differs from the checkpoint published for it (the chain was rewritten)",
                    checkpoint.seq
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        checked = format!(", {} checkpoints match it", checkpoints.len());
    }
    let versions = match store.verify_versions(&recompute_content_hash).await? {
        VersionCheck::Intact { versions } => versions,
        VersionCheck::Broken {
            record_id,
            version,
            reason,
        } => {
            eprintln!(
                "error: audit chain broken at record {record_id} version {version}: {reason}"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let keyed = if config.audit_key.is_some() {
        "keyed"
    } else {
        "unkeyed"
    };
    println!(
        "audit chain intact: {entries} entries ({keyed}), {versions} record versions match it{checked}"
    );
    Ok(ExitCode::SUCCESS)
}
