//! `dhub map --mapping FILE [--input FILE]`: one mapping, offline. Valid records go to stdout as JSONL;
//! each record that fails to map or validate is one line on stderr naming file, line and field, and the
//! command then exits 1. Nothing is dropped silently.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use dhub_mapping::{MapContext, Mapping};

pub fn map(mapping_path: &Path, input: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mapping = Mapping::load(mapping_path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let (bytes, origin) = match input {
        Some(path) => (
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?,
            path.display().to_string(),
        ),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            (bytes, "stdin".to_string())
        }
    };
    let records = mapping
        .read_document(&bytes, &origin)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let context = MapContext {
        source_name: mapping.name().to_string(),
        fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failures = 0usize;
    for record in &records {
        match mapping.apply(record, &context) {
            Ok(value) => match dhub_schema::validate(&value) {
                Ok(validated) => {
                    serde_json::to_writer(&mut out, &validated.record)?;
                    out.write_all(b"\n")?;
                }
                Err(errors) => {
                    failures += 1;
                    eprintln!("{}:{}: {}", record.origin(), record.line(), errors);
                }
            },
            Err(error) => {
                failures += 1;
                eprintln!("{error}");
            }
        }
    }
    out.flush()?;
    if failures > 0 {
        eprintln!("error: {failures} of {} records failed", records.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
