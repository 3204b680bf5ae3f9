//! `dhub redact [--policy NAME|FILE] [--input FILE] [--report]` (CONTRACT §1).

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use dhub_redaction::Policy;

pub fn redact(policy: &str, input: Option<&Path>, report: bool) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let policy = Policy::resolve(policy, &cwd).map_err(|error| anyhow::anyhow!("{error}"))?;
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    dhub_redaction::run_redact_command(&policy, reader, out, report)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(ExitCode::SUCCESS)
}
