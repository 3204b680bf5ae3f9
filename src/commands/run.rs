//! `dhub run --config FILE`.

use std::path::Path;
use std::process::ExitCode;

pub async fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    crate::hub::run(config, crate::hub::termination_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
