//! `dhub retract --config FILE --record ID --reason CODE [--note TEXT]`.

use std::path::Path;
use std::process::ExitCode;

use dhub_ingest::{retract_by_hand, RetractReason, Routing};

use crate::hub::hub_answers;

pub async fn retract(
    config_path: &Path,
    record_id: &str,
    reason: &str,
    note: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let Some(reason) = RetractReason::parse(reason) else {
        let known: Vec<&str> = RetractReason::ALL.iter().map(|r| r.as_str()).collect();
        anyhow::bail!("--reason `{reason}` is not one of {}", known.join(", "));
    };
    let store = super::open_store(&config).await?;
    let routing = Routing::new(config.platforms.clone());
    let platforms = retract_by_hand(&store, &routing, record_id, reason, note, None).await?;
    if hub_answers(&config).await {
        println!("retraction of {record_id} queued for {platforms} platform(s); the running hub sends it within a second");
    } else {
        println!("retraction of {record_id} queued for {platforms} platform(s); no hub answers on {}: it is sent when the hub starts", config.listen);
    }
    Ok(ExitCode::SUCCESS)
}
