//! `dhub check --config FILE`: prints `ok`, or every error as `path:line: message`.

use std::path::Path;
use std::process::ExitCode;

pub fn check(config_path: &Path) -> ExitCode {
    match crate::config::HubConfig::load(config_path) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{error}");
            }
            ExitCode::FAILURE
        }
    }
}
