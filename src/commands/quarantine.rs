//! `dhub quarantine list|show ID|replay ID|drop ID|parked|release PLATFORM SEQ --config FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use dhub_ingest::OutboxHandoff;
use dhub_mapping::SourceRecord;
use dhub_schema::intake::{IntakeBatch, Origin};
use dhub_store::{QuarantineEntry, QuarantineState, Store};

use crate::hub::hub_answers;
use crate::telemetry::Telemetry;

#[derive(Subcommand)]
pub enum Action {
    /// Records held back, with their reason.
    List {
        #[arg(long)]
        config: PathBuf,
        /// Also list entries already replayed or dropped.
        #[arg(long)]
        all: bool,
    },
    /// One entry, with the held source record.
    Show {
        id: i64,
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the held record through today's mapping, validation and policy again; with `--all`,
    /// every held record (of `--source`, of `--stage`), with progress on stderr.
    Replay {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        all: bool,
        /// With `--all`: only this source's entries.
        #[arg(long, requires = "all")]
        source: Option<String>,
        /// With `--all`: only entries held at this stage (mapping, validation, …).
        #[arg(long, requires = "all")]
        stage: Option<String>,
    },
    /// Give up on the entry (an audit entry records it).
    Drop {
        id: i64,
        #[arg(long)]
        config: PathBuf,
    },
    /// Envelopes a feed could not take (over the broker's size limit, a permanent error).
    Parked {
        #[arg(long)]
        config: PathBuf,
        /// Also list entries already released.
        #[arg(long)]
        all: bool,
    },
    /// Queue a parked envelope again for its platform (after the broker's limit was raised, say).
    Release {
        /// The platform (as configured).
        platform: String,
        /// The entry's seq, as `dhub quarantine parked` shows it.
        seq: i64,
        #[arg(long)]
        config: PathBuf,
    },
}

fn summary(entry: &QuarantineEntry) -> serde_json::Value {
    serde_json::json!({
        "id": entry.id,
        "state": entry.state.as_str(),
        "source": entry.source_name,
        "origin": entry.origin,
        "record_id": entry.record_id,
        "stage": entry.stage.as_str(),
        "reason": entry.reason,
        "created_at": chrono::DateTime::from_timestamp_millis(entry.created_at_ms).map(|t| t.to_rfc3339()),
    })
}

pub async fn execute(action: Action) -> anyhow::Result<ExitCode> {
    match action {
        Action::List { config, all } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config).await?;
            for entry in store.quarantine_list(all).await? {
                println!("{}", summary(&entry));
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Show { id, config } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config).await?;
            let entry = held_or_any(&store, id).await?;
            let mut shown = summary(&entry);
            // The operator sees the held record to fix it: this is their terminal, not a log.
            shown["payload"] = serde_json::from_str(&entry.payload)
                .unwrap_or(serde_json::Value::String(entry.payload.clone()));
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        Action::Replay {
            id: Some(id),
            config,
            ..
        } => replay(id, &config).await,
        Action::Replay {
            id: None,
            config,
            source,
            stage,
            ..
        } => replay_all(&config, source.as_deref(), stage.as_deref()).await,
        Action::Drop { id, config } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config).await?;
            let mut tx = store.begin().await?;
            tx.resolve_quarantine(id, QuarantineState::Dropped).await?;
            tx.commit().await?;
            println!("dropped quarantine entry {id}");
            Ok(ExitCode::SUCCESS)
        }
        Action::Parked { config, all } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config).await?;
            for entry in store.parked(all).await? {
                println!(
                    "{}",
                    serde_json::json!({
                        "platform": entry.platform,
                        "seq": entry.seq,
                        "record_id": entry.record_id,
                        "version": entry.version,
                        "op": entry.op.as_str(),
                        "bytes": entry.payload.len(),
                        "reason": entry.reason,
                        "parked_at": chrono::DateTime::from_timestamp_millis(entry.parked_at_ms).map(|t| t.to_rfc3339()),
                        "released_at": entry.released_at_ms.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.to_rfc3339()),
                    })
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Release {
            platform,
            seq,
            config,
        } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config).await?;
            let queued = store.release_parked(&platform, seq).await?;
            let when = if hub_answers(&config).await {
                "the running hub sends it within a second"
            } else {
                "it is sent when the hub starts"
            };
            println!(
                "released parked entry {seq} of {platform}: queued again as {}; {when}",
                queued.seq
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn held_or_any(store: &Store, id: i64) -> anyhow::Result<QuarantineEntry> {
    store.quarantine_get(id).await?.ok_or_else(|| {
        anyhow::anyhow!("quarantine entry {id} does not exist; see `dhub quarantine list`")
    })
}

async fn replay(id: i64, config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let store = super::open_store(&config).await?;
    let entry = held_or_any(&store, id).await?;
    if entry.state != QuarantineState::Held {
        anyhow::bail!("quarantine entry {id} was already {}", entry.state.as_str());
    }
    let ingestor = crate::hub::ingestor(
        &config,
        &store,
        Arc::new(Telemetry::new()),
        OutboxHandoff::default(),
    );
    // Held again is anything the replay added to the quarantine: a mapping or validation failure
    // (the item's outcome), or a policy that still withholds the stored version from a platform.
    let newest_before = store
        .quarantine_list(true)
        .await?
        .iter()
        .map(|e| e.id)
        .max()
        .unwrap_or(0);
    replay_entry(&config, config_path, &ingestor, &entry).await?;
    let held_again: Vec<String> = store
        .quarantine_list(false)
        .await?
        .into_iter()
        .filter(|e| e.id > newest_before)
        .map(|e| format!("#{}: {}", e.id, e.reason))
        .collect();
    if !held_again.is_empty() {
        println!(
            "replayed quarantine entry {id}; held again {}",
            held_again.join("; ")
        );
        return Ok(ExitCode::FAILURE);
    }
    if hub_answers(&config).await {
        println!("replayed quarantine entry {id}: stored as a new version; the running hub publishes it within a second");
    } else {
        println!("replayed quarantine entry {id}: stored as a new version; no hub answers on {}: it is published when the hub starts", config.listen);
    }
    Ok(ExitCode::SUCCESS)
}

/// Replays every held entry (of a source, of a stage), in id order, with progress on stderr; one
/// summary line on stdout. Exit 1 when some were held again (each is a new quarantine entry).
async fn replay_all(
    config_path: &Path,
    source: Option<&str>,
    stage: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let store = super::open_store(&config).await?;
    if let Some(stage) = stage {
        if dhub_store::QuarantineStage::parse(stage).is_none() {
            anyhow::bail!("--stage {stage}: not a quarantine stage (document, mapping, validation, redaction, constraint, stale)");
        }
    }
    let all = store.quarantine_list(true).await?;
    let newest_before = all.iter().map(|e| e.id).max().unwrap_or(0);
    let chosen: Vec<QuarantineEntry> = all
        .into_iter()
        .filter(|e| e.state == QuarantineState::Held)
        .filter(|e| source.is_none_or(|s| e.source_name == s))
        .filter(|e| stage.is_none_or(|s| e.stage.as_str() == s))
        .collect();
    let ingestor = crate::hub::ingestor(
        &config,
        &store,
        Arc::new(Telemetry::new()),
        OutboxHandoff::default(),
    );
    let mut progress = super::progress::Progress::new("quarantine replay", chosen.len() as u64);
    let mut failed = Vec::new();
    for entry in &chosen {
        if let Err(error) = replay_entry(&config, config_path, &ingestor, entry).await {
            failed.push(format!("#{}: {error:#}", entry.id));
        }
        progress.advance(1);
    }
    progress.finish();
    let held_again = store
        .quarantine_list(false)
        .await?
        .into_iter()
        .filter(|e| e.id > newest_before)
        .count();
    let replayed = chosen.len() - failed.len();
    println!(
        "replayed {replayed} of {} quarantine entries; {held_again} held again{}",
        chosen.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; not replayed {}", failed.join("; "))
        }
    );
    Ok(if held_again == 0 && failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs one held entry through today's mapping, validation and policy again.
async fn replay_entry(
    config: &crate::config::HubConfig,
    config_path: &Path,
    ingestor: &dhub_ingest::Ingestor,
    entry: &QuarantineEntry,
) -> anyhow::Result<()> {
    let id = entry.id;
    let Some(source) = config
        .sources
        .iter()
        .find(|s| s.name() == entry.source_name)
    else {
        anyhow::bail!(
            "quarantine entry {id}: source `{}` is no longer in {}",
            entry.source_name,
            config_path.display()
        );
    };
    let record = SourceRecord::from_raw_text(&entry.payload)
        .map_err(|error| anyhow::anyhow!("quarantine entry {id}: {error}"))?;
    let context = dhub_connectors::mapped::map_context(&entry.source_name);
    let origin = Origin::Command {
        name: format!("quarantine replay #{id} of {}", entry.origin),
    };
    let intake = dhub_connectors::mapped::to_intake(
        &source.mapping,
        &entry.source_name,
        record,
        origin,
        &context,
    );
    let batch = Arc::new(IntakeBatch {
        source: entry.source_name.clone(),
        mapping_name: source.mapping.name().to_string(),
        mapping_version: source.mapping.version().to_string(),
        items: vec![intake],
        positions: Vec::new(),
        exported: None,
    });
    ingestor.replay(batch, id).await?;
    Ok(())
}
