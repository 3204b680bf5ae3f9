//! `dhub retract --config FILE --record ID --reason CODE [--note TEXT]`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use dhub_ingest::{retract_by_hand, RetractReason, Routing};

use crate::hub::publish_pending;

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
    let platforms = retract_by_hand(&store, &routing, record_id, reason, note).await?;
    if publish_pending(&config, &store, Duration::from_secs(30)).await? {
        println!("retracted {record_id} from {platforms} platform(s)");
    } else {
        println!("retraction of {record_id} stored for {platforms} platform(s); the broker did not take it yet, the hub sends it when it can");
    }
    Ok(ExitCode::SUCCESS)
}
