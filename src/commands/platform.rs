//! `dhub platform --brokers B --topic T --db URL [--listen ADDR]`: the reference subscriber.

use std::net::SocketAddr;
use std::process::ExitCode;

use dhub_platform::PlatformConfig;

pub async fn platform(
    brokers: String,
    topic: String,
    db: String,
    listen: Option<SocketAddr>,
    group: Option<String>,
) -> anyhow::Result<ExitCode> {
    let config = PlatformConfig {
        group: group.unwrap_or_else(|| format!("dhub-platform-{topic}")),
        brokers,
        topic,
        db_url: db,
        listen,
        kafka_properties: Vec::new(),
    };
    dhub_platform::run(config, crate::hub::termination_signal())
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(ExitCode::SUCCESS)
}
