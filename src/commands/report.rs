//! `dhub report annual|deadlines` (CONTRACT §1): the yearly statistics (统计年报) and the statutory
//! deadlines, read from the state store's `record_facts` and the platforms' acknowledgements.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use dhub_compliance::{annual_report, render_csv, render_html, render_json};

use super::{load_config, open_store};
use crate::compliance::{self, DeadlineCounts};

#[derive(Subcommand)]
pub enum Action {
    /// The yearly enforcement statistics (统计年报) as JSON, CSV or a printable HTML page.
    Annual {
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        #[arg(long)]
        config: PathBuf,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// One JSON line per record past or within 2 working days of its publication or withdrawal
    /// deadline (`--all`: every deadline not yet met).
    Deadlines {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Html,
}

pub async fn execute(action: Action) -> anyhow::Result<ExitCode> {
    match action {
        Action::Annual {
            year,
            format,
            config,
            output,
        } => annual(&config, year, format, output.as_deref()).await,
        Action::Deadlines { config, all } => deadlines(&config, all).await,
    }
}

/// A date in a year without calendar data is never a silent guess: one line per such year.
fn warn_uncovered(counts: &DeadlineCounts) {
    for (year, count) in &counts.uncovered_years {
        eprintln!(
            "warning: the holiday calendar has no data for {year}: {count} deadline(s) in it are estimated by weekdays only (marked \"estimated\"); add {year}.json to [compliance] calendar_dir"
        );
    }
}

async fn deadlines(config: &Path, all: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(config)?;
    let store = open_store(&config).await?;
    let setup = &config.compliance;
    let today = setup.clocks.today();
    let (evaluated, counts) = compliance::all_deadlines(&store, setup, today)
        .await
        .context("cannot read the records' deadlines from the state store")?;
    let mut lines: Vec<_> = evaluated
        .iter()
        .filter_map(|e| {
            setup.deadlines.report_line(
                &setup.calendar,
                &e.record_id,
                &e.deadline,
                today,
                e.acknowledged_on,
                all,
            )
        })
        .collect();
    lines.sort_by(|a, b| (a.due, &a.record_id).cmp(&(b.due, &b.record_id)));
    let mut out = std::io::stdout().lock();
    for line in &lines {
        writeln!(out, "{}", serde_json::to_string(line)?)?;
    }
    warn_uncovered(&counts);
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn annual(
    config: &Path,
    year: i32,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if !(1000..=9999).contains(&year) {
        anyhow::bail!("--year {year}: give a four-digit year");
    }
    let config = load_config(config)?;
    let store = open_store(&config).await?;
    let setup = &config.compliance;
    let today = setup.clocks.today();
    let (rows, counts) = compliance::annual_rows(&store, setup, year, today)
        .await
        .context("cannot read the year's decisions from the state store")?;
    store.close().await;
    let report = annual_report(year, &rows, &setup.calendar)?;
    let bytes = match format {
        Format::Json => format!("{}\n", render_json(&report)).into_bytes(),
        Format::Csv => render_csv(&report),
        Format::Html => render_html(&report, setup.issuer.as_deref(), today).into_bytes(),
    };
    match output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    warn_uncovered(&counts);
    Ok(ExitCode::SUCCESS)
}
