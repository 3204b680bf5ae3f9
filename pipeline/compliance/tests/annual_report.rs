//! The yearly report against counts computed here, independently, from a generated year of rows; and
//! its CSV and HTML renderings carry every figure.

#[path = "support/sample_rows.rs"]
mod sample_rows;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use dhub_compliance::annual::{annual_report, render_csv, render_html, render_json, AnnualReport};
use dhub_compliance::Calendar;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;

const YEAR: i32 = 2025;

fn report() -> (Vec<dhub_compliance::AnnualRow>, AnnualReport) {
    let rows = sample_rows::sample_year(YEAR, 2000, 0x5eed);
    let report = annual_report(YEAR, &rows, &Calendar::embedded()).unwrap();
    (rows, report)
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank - 1])
}

#[test]
fn figures_match_independent_counts() {
    let (rows, report) = report();
    let calendar = Calendar::embedded();
    let json: Value = serde_json::from_str(&render_json(&report)).unwrap();
    assert_eq!(json["year"], YEAR);
    assert_eq!(json["decisions"]["total"], rows.len());

    let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_division: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_agency: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_month = [0u64; 12];
    let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut withdrawn, mut late_publication, mut late_withdrawal) = (0, 0, 0);
    let mut delays = Vec::new();
    for row in &rows {
        *by_category.entry(row.category.as_str()).or_default() += 1;
        *by_division.entry(&row.division_code).or_default() += 1;
        *by_agency
            .entry(row.agency_uscc.as_deref().unwrap_or("unknown"))
            .or_default() += 1;
        by_month[row.decided_on.month0() as usize] += 1;
        if let Some(reason) = row.withdrawn {
            withdrawn += 1;
            *by_reason.entry(reason.as_str()).or_default() += 1;
        }
        late_publication += u64::from(row.publication_overdue);
        late_withdrawal += u64::from(row.withdrawal_overdue);
        if let Some(published) = row.first_published_on {
            // Day by day, with the calendar's single-day answer.
            let mut day = row.decided_on;
            let mut count = 0;
            while day < published {
                day = day.succ_opt().unwrap();
                if calendar.is_working_day(day).value {
                    count += 1;
                }
            }
            delays.push(count);
        }
    }
    for (key, count) in &by_category {
        assert_eq!(
            json["decisions"]["by_category"][key], *count,
            "category {key}"
        );
    }
    assert_eq!(
        json["decisions"]["by_category"].as_object().unwrap().len(),
        6
    );
    assert_eq!(
        json["decisions"]["by_division"].as_object().unwrap().len(),
        by_division.len()
    );
    for (key, count) in &by_division {
        assert_eq!(
            json["decisions"]["by_division"][key], *count,
            "division {key}"
        );
    }
    assert_eq!(
        json["decisions"]["by_agency"].as_object().unwrap().len(),
        by_agency.len()
    );
    for (key, count) in &by_agency {
        assert_eq!(json["decisions"]["by_agency"][key], *count, "agency {key}");
    }
    for (month, count) in by_month.iter().enumerate() {
        assert_eq!(
            json["decisions"]["by_month"][format!("{:02}", month + 1)],
            *count
        );
    }
    assert_eq!(json["withdrawn"]["total"], withdrawn);
    for (key, count) in &by_reason {
        assert_eq!(json["withdrawn"]["by_reason"][key], *count, "reason {key}");
    }
    delays.sort_unstable();
    assert!(delays.len() > 1500, "the sample publishes most decisions");
    assert_eq!(
        json["publication_delay_working_days"]["median"],
        percentile(&delays, 50.0).unwrap()
    );
    assert_eq!(
        json["publication_delay_working_days"]["p90"],
        percentile(&delays, 90.0).unwrap()
    );
    assert_eq!(json["overdue"]["publication"], late_publication);
    assert_eq!(json["overdue"]["withdrawal"], late_withdrawal);
    assert!(
        late_publication > 0 && late_withdrawal > 0,
        "the sample has late ones of both"
    );
    // Round trip: the JSON is exactly the report.
    let back: AnnualReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.decisions, report.decisions);
}

/// Every `(section, key) → value` of the CSV.
fn csv_figures(bytes: &[u8]) -> BTreeMap<(String, String), String> {
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "UTF-8 BOM for Excel"
    );
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[3..]);
    let mut section = String::new();
    let mut figures = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        match (record.get(0).unwrap_or(""), record.len()) {
            ("section", 3) => section = record[1].to_owned(),
            ("key", 3) | ("", 1) => {}
            (key, 3) => {
                figures.insert((section.clone(), key.to_owned()), record[2].to_owned());
            }
            other => panic!("unexpected CSV row {other:?}"),
        }
    }
    figures
}

/// The figures a report must show, as `(section, key) → value`.
fn expected_figures(report: &AnnualReport) -> BTreeMap<(String, String), String> {
    let mut expected = BTreeMap::new();
    let mut put = |section: &str, key: &str, value: String| {
        expected.insert((section.to_owned(), key.to_owned()), value);
    };
    put("summary", "year", report.year.to_string());
    put(
        "summary",
        "decisions.total",
        report.decisions.total.to_string(),
    );
    put(
        "summary",
        "withdrawn.total",
        report.withdrawn.total.to_string(),
    );
    for (section, map) in [
        ("by_category", &report.decisions.by_category),
        ("by_month", &report.decisions.by_month),
        ("by_division", &report.decisions.by_division),
        ("by_agency", &report.decisions.by_agency),
        ("withdrawn_by_reason", &report.withdrawn.by_reason),
    ] {
        for (key, count) in map {
            put(section, key, count.to_string());
        }
    }
    let delay = &report.publication_delay_working_days;
    put(
        "publication_delay_working_days",
        "median",
        delay.median.unwrap().to_string(),
    );
    put(
        "publication_delay_working_days",
        "p90",
        delay.p90.unwrap().to_string(),
    );
    put(
        "overdue",
        "publication",
        report.overdue.publication.to_string(),
    );
    put(
        "overdue",
        "withdrawal",
        report.overdue.withdrawal.to_string(),
    );
    expected
}

#[test]
fn the_csv_carries_the_same_figures() {
    let (_, report) = report();
    let csv = render_csv(&report);
    assert_eq!(csv_figures(&csv), expected_figures(&report));
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("penalty,行政处罚,") && text.contains("371523,茌平县,"));
}

/// Parses the page as XML (which fails on any unbalanced or mismatched tag) and collects, per table
/// id, every row's `data-key` and the text of its numeric cell.
fn html_figures(html: &str) -> BTreeMap<(String, String), String> {
    let mut reader = Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut table = String::new();
    let mut row_key: Option<String> = None;
    let mut in_number = false;
    let mut figures = BTreeMap::new();
    let decoder = reader.decoder();
    let attribute = |e: &quick_xml::events::BytesStart, name: &str| {
        e.try_get_attribute(name)
            .unwrap()
            .map(|a| a.decode_and_unescape_value(decoder).unwrap().into_owned())
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                b"table" => {
                    table = attribute(&e, "id")
                        .unwrap()
                        .trim_start_matches("t-")
                        .to_owned()
                }
                b"tr" => row_key = attribute(&e, "data-key"),
                b"td" => in_number = attribute(&e, "class").as_deref() == Some("n"),
                _ => {}
            },
            Event::Text(text) if in_number => {
                let key = row_key.clone().expect("a numeric cell sits in a keyed row");
                figures.insert((table.clone(), key), text.decode().unwrap().into_owned());
            }
            Event::End(e) if e.name().as_ref() == b"td" => in_number = false,
            _ => {}
        }
    }
    figures
}

#[test]
fn the_html_page_is_well_formed_self_contained_and_shows_every_figure() {
    let (_, report) = report();
    let generated = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
    let html = render_html(&report, Some("聊城市人民政府"), generated);
    let figures = html_figures(&html);
    let mut expected = expected_figures(&report);
    // The summary table shows the headline figures under their JSON paths; the year is the title.
    expected.remove(&("summary".to_owned(), "year".to_owned()));
    let delay = &report.publication_delay_working_days;
    for (key, value) in [
        (
            "publication_delay_working_days.median",
            delay.median.unwrap().to_string(),
        ),
        (
            "publication_delay_working_days.p90",
            delay.p90.unwrap().to_string(),
        ),
        (
            "overdue.publication",
            report.overdue.publication.to_string(),
        ),
        ("overdue.withdrawal", report.overdue.withdrawal.to_string()),
    ] {
        expected.insert(("summary".to_owned(), key.to_owned()), value);
    }
    assert_eq!(figures, expected);
    for heading in [
        "2025年度行政执法统计年报",
        "按执法类别",
        "按月份",
        "按行政区划",
        "撤回情况",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    for name in [
        "行政处罚",
        "行政许可",
        "茌平县",
        "茌平区",
        "东阿县",
        "聊城市",
        "12月",
        "东阿县市场监督管理局",
    ] {
        assert!(html.contains(name), "{name}");
    }
    assert_eq!(
        html.matches("<svg ").count(),
        3,
        "charts by category, by month, by division"
    );
    assert!(html.contains("@media print"));
    // No external assets: the only URLs are the XHTML and SVG namespace names, never fetched.
    let urls = html.matches("http").count();
    let namespaces = html.matches("http://www.w3.org/2000/svg").count()
        + html.matches("http://www.w3.org/1999/xhtml").count();
    assert_eq!(urls, namespaces);
    for forbidden in ["<script", "<link", "<img", "url(", "@import", "src="] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
}
