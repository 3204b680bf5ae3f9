//! Writes the yearly report of a generated year as HTML, CSV and JSON, for looking at the page in a
//! browser (and screenshotting it):
//!
//! ```sh
//! cargo run -p dhub-compliance --example annual_page [-- OUTPUT_DIR]
//! ```
//!
//! The default folder is the workspace's `target/annual-report/`.

#[path = "../tests/support/sample_rows.rs"]
mod sample_rows;

use std::path::PathBuf;

use chrono::NaiveDate;
use dhub_compliance::annual::{annual_report, render_csv, render_html, render_json};
use dhub_compliance::Calendar;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/annual-report"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir)?;
    let rows = sample_rows::sample_year(2025, 1200, 2025);
    let report = annual_report(2025, &rows, &Calendar::embedded())?;
    let generated = NaiveDate::from_ymd_opt(2026, 1, 20).expect("a valid date");
    let html = dir.join("annual-report-2025.html");
    std::fs::write(
        &html,
        render_html(&report, Some("聊城市人民政府（示例数据）"), generated),
    )?;
    std::fs::write(dir.join("annual-report-2025.csv"), render_csv(&report))?;
    std::fs::write(dir.join("annual-report-2025.json"), render_json(&report))?;
    println!("{}", html.canonicalize()?.display());
    Ok(())
}
