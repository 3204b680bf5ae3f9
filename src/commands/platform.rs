//! `dhub platform --brokers B --topic T --db URL [--listen ADDR] [--verify-key FILE]…`: the
//! reference subscriber.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use dhub_platform::PlatformConfig;

#[allow(clippy::too_many_arguments)]
pub async fn platform(
    brokers: String,
    topic: String,
    db: String,
    listen: Option<SocketAddr>,
    group: Option<String>,
    properties: Vec<String>,
    verify_keys: Vec<PathBuf>,
    documents: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let kafka_properties = properties
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.to_string()))
            }
            _ => Err(anyhow::anyhow!(
                "--property `{pair}` must be KEY=VALUE, e.g. security.protocol=SASL_SSL"
            )),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = PlatformConfig {
        group: group.unwrap_or_else(|| format!("dhub-platform-{topic}")),
        brokers,
        topic,
        db_url: db,
        listen,
        kafka_properties,
        verify_keys,
        http: dhub_platform::HttpLimits::default(),
        documents_dir: documents,
    };
    dhub_platform::run(config, crate::hub::termination_signal())
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(ExitCode::SUCCESS)
}
