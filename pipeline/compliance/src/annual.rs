//! The yearly enforcement statistics (行政执法统计年报), due by January 31 (国办发〔2018〕118号), and their
//! three renderings for `dhub report annual --format json|csv|html` (CONTRACT §1).
//!
//! The caller passes one [`AnnualRow`] per record decided in the year (by `decided_on`, its latest
//! version, withheld ones included); [`annual_report`] counts each once.
//!
//! # Figures
//!
//! - `decisions`: total, and by category (all six, zeros included), by division code as recorded
//!   (old codes such as 371523 stay apart from their successors: the table reports what was decided),
//!   by agency USCC (`"unknown"` for an agency without one), by month `"01"`–`"12"` (all twelve).
//! - `withdrawn`: decisions of the year withdrawn since, by reason (all six CONTRACT §4 reasons).
//! - `publication_delay_working_days`: over the decisions that were published, the working days from
//!   the decision to the first acknowledged publication ([`Calendar::working_days_between`]: published
//!   on the decision day or the weekend after a Friday decision is 0). `median` and `p90` are
//!   nearest-rank percentiles (the smallest delay that at least half / 90 % of the decisions did not
//!   exceed), whole days, exactly reproducible; `null` when nothing was published. `"estimated": true`
//!   is added when a delay ran through a year the calendar does not cover.
//! - `overdue`: decisions whose publication, or withdrawal, deadline was missed (flags computed by
//!   the caller with [`crate::deadlines`]).
//!
//! # Renderings
//!
//! - [`render_json`]: the CONTRACT object, pretty-printed.
//! - [`render_csv`]: the same figures, one section per table, each a title row
//!   (`section,<name>,<中文>`), a header row and data rows of three columns `key,名称,数值`, sections
//!   separated by an empty row. UTF-8 **with a byte-order mark** and CRLF line ends: Excel (the tool
//!   departments open CSV with) reads a BOM-less UTF-8 file as the local ANSI code page and garbles
//!   Chinese; other tools skip the BOM.
//! - [`render_html`]: a page a department can publish as it is: Chinese headings, tables, bar charts as
//!   inline SVG, print CSS, no external assets (no fonts, scripts, images or style sheets from
//!   elsewhere), every text escaped. It is well-formed XML (void elements self-closed), so it can be
//!   checked by an XML parser.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use dhub_schema::{divisions, Category};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;

/// The key used in `by_agency` for an agency without a USCC.
pub const UNKNOWN_AGENCY: &str = "unknown";

/// Why a decision was withdrawn (CONTRACT §4 retract reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalReason {
    Revoked,
    ConfirmedIllegal,
    ConfirmedVoid,
    Redecided,
    PublicityExpired,
    Manual,
}

impl WithdrawalReason {
    pub const ALL: [WithdrawalReason; 6] = [
        WithdrawalReason::Revoked,
        WithdrawalReason::ConfirmedIllegal,
        WithdrawalReason::ConfirmedVoid,
        WithdrawalReason::Redecided,
        WithdrawalReason::PublicityExpired,
        WithdrawalReason::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalReason::Revoked => "revoked",
            WithdrawalReason::ConfirmedIllegal => "confirmed_illegal",
            WithdrawalReason::ConfirmedVoid => "confirmed_void",
            WithdrawalReason::Redecided => "redecided",
            WithdrawalReason::PublicityExpired => "publicity_expired",
            WithdrawalReason::Manual => "manual",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            WithdrawalReason::Revoked => "被撤销",
            WithdrawalReason::ConfirmedIllegal => "被确认违法",
            WithdrawalReason::ConfirmedVoid => "被确认无效",
            WithdrawalReason::Redecided => "重新作出",
            WithdrawalReason::PublicityExpired => "公示期满",
            WithdrawalReason::Manual => "人工撤回",
        }
    }
}

/// The Chinese name of a category.
pub fn category_chinese(category: Category) -> &'static str {
    match category {
        Category::Licensing => "行政许可",
        Category::Penalty => "行政处罚",
        Category::Coercion => "行政强制",
        Category::Levy => "行政征收",
        Category::Fee => "行政收费",
        Category::Inspection => "行政检查",
    }
}

/// One record decided in the year, as the state store knows it (latest version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnualRow {
    pub record_id: String,
    pub category: Category,
    pub division_code: String,
    pub agency_uscc: Option<String>,
    /// Shown in the HTML beside the USCC (an agency is a public body: its name is public).
    pub agency_name: String,
    pub decided_on: NaiveDate,
    /// Why it was withdrawn, if it was.
    pub withdrawn: Option<WithdrawalReason>,
    /// The local date the platforms first acknowledged it, if they did.
    pub first_published_on: Option<NaiveDate>,
    pub publication_overdue: bool,
    pub withdrawal_overdue: bool,
}

/// Rows that cannot make a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnualError {
    #[error("record {record_id} was decided on {decided_on}, not in {year}; pass only the year's decisions")]
    OutsideYear {
        record_id: String,
        decided_on: NaiveDate,
        year: i32,
    },
    #[error("record {record_id} is given twice; pass each record's latest version once")]
    Duplicate { record_id: String },
}

/// The CONTRACT §1 object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnualReport {
    pub year: i32,
    pub decisions: DecisionCounts,
    pub withdrawn: WithdrawnCounts,
    pub publication_delay_working_days: DelayFigures,
    pub overdue: OverdueCounts,
    /// Agency USCC → name, for the HTML page; not part of the JSON.
    #[serde(skip)]
    pub agency_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionCounts {
    pub total: u64,
    pub by_category: BTreeMap<String, u64>,
    pub by_division: BTreeMap<String, u64>,
    pub by_agency: BTreeMap<String, u64>,
    pub by_month: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawnCounts {
    pub total: u64,
    pub by_reason: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayFigures {
    pub median: Option<i64>,
    pub p90: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub estimated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueCounts {
    pub publication: u64,
    pub withdrawal: u64,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The statistics of `year` from its rows.
pub fn annual_report(
    year: i32,
    rows: &[AnnualRow],
    calendar: &Calendar,
) -> Result<AnnualReport, AnnualError> {
    let mut seen = HashSet::new();
    let mut decisions = DecisionCounts {
        by_category: Category::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), 0))
            .collect(),
        by_month: (1..=12).map(|m| (format!("{m:02}"), 0)).collect(),
        ..DecisionCounts::default()
    };
    let mut withdrawn = WithdrawnCounts {
        total: 0,
        by_reason: WithdrawalReason::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), 0))
            .collect(),
    };
    let mut overdue = OverdueCounts::default();
    let mut agency_names = BTreeMap::new();
    let mut delays = Vec::new();
    let mut estimated = false;
    for row in rows {
        if row.decided_on.year() != year {
            return Err(AnnualError::OutsideYear {
                record_id: row.record_id.clone(),
                decided_on: row.decided_on,
                year,
            });
        }
        if !seen.insert(row.record_id.as_str()) {
            return Err(AnnualError::Duplicate {
                record_id: row.record_id.clone(),
            });
        }
        decisions.total += 1;
        *decisions
            .by_category
            .entry(row.category.as_str().to_owned())
            .or_default() += 1;
        *decisions
            .by_division
            .entry(row.division_code.clone())
            .or_default() += 1;
        let agency = row
            .agency_uscc
            .clone()
            .unwrap_or_else(|| UNKNOWN_AGENCY.to_owned());
        *decisions.by_agency.entry(agency.clone()).or_default() += 1;
        agency_names
            .entry(agency)
            .or_insert_with(|| row.agency_name.clone());
        *decisions
            .by_month
            .entry(format!("{:02}", row.decided_on.month()))
            .or_default() += 1;
        if let Some(reason) = row.withdrawn {
            withdrawn.total += 1;
            *withdrawn
                .by_reason
                .entry(reason.as_str().to_owned())
                .or_default() += 1;
        }
        if let Some(published) = row.first_published_on {
            let delay = calendar.working_days_between(row.decided_on, published);
            estimated |= delay.estimated();
            delays.push(delay.value);
        }
        overdue.publication += u64::from(row.publication_overdue);
        overdue.withdrawal += u64::from(row.withdrawal_overdue);
    }
    delays.sort_unstable();
    Ok(AnnualReport {
        year,
        decisions,
        withdrawn,
        publication_delay_working_days: DelayFigures {
            median: nearest_rank(&delays, 50),
            p90: nearest_rank(&delays, 90),
            estimated,
        },
        overdue,
        agency_names,
    })
}

/// The nearest-rank `percent`-th percentile of sorted values: the value at rank ⌈percent/100 · n⌉.
fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// The CONTRACT §1 JSON object, pretty-printed.
pub fn render_json(report: &AnnualReport) -> String {
    serde_json::to_string_pretty(report).expect("the report is plain data and serializes")
}

fn division_label(code: &str) -> String {
    divisions::name(code).map_or_else(|| "（未知区划）".to_owned(), str::to_owned)
}

fn agency_label(report: &AnnualReport, key: &str) -> String {
    match report.agency_names.get(key) {
        Some(name) if !name.is_empty() => name.clone(),
        _ if key == UNKNOWN_AGENCY => "（无统一社会信用代码）".to_owned(),
        _ => String::new(),
    }
}

fn month_label(key: &str) -> String {
    format!("{}月", key.trim_start_matches('0'))
}

fn reason_label(key: &str) -> &'static str {
    WithdrawalReason::ALL
        .iter()
        .find(|r| r.as_str() == key)
        .map_or("", |r| r.chinese())
}

/// A table of the report: `(key, 名称, 数值)` rows.
struct Table {
    key: &'static str,
    title: &'static str,
    rows: Vec<(String, String, String)>,
}

fn number(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The report's tables, in reading order; the CSV and the HTML both render these.
fn tables(report: &AnnualReport) -> Vec<Table> {
    let counts = |map: &BTreeMap<String, u64>, label: &dyn Fn(&str) -> String| {
        map.iter()
            .map(|(key, count)| (key.clone(), label(key), count.to_string()))
            .collect()
    };
    let delay = &report.publication_delay_working_days;
    vec![
        Table {
            key: "summary",
            title: "概况",
            rows: vec![
                ("year".into(), "年度".into(), report.year.to_string()),
                (
                    "decisions.total".into(),
                    "执法决定总数".into(),
                    report.decisions.total.to_string(),
                ),
                (
                    "withdrawn.total".into(),
                    "已撤回决定数".into(),
                    report.withdrawn.total.to_string(),
                ),
            ],
        },
        Table {
            key: "by_category",
            title: "按执法类别",
            // The order of the law (许可, 处罚, 强制, 征收, 收费, 检查), not of the English codes.
            rows: Category::ALL
                .iter()
                .map(|c| {
                    let count = report.decisions.by_category.get(c.as_str()).copied();
                    let label = category_chinese(*c).to_owned();
                    (c.as_str().to_owned(), label, count.unwrap_or(0).to_string())
                })
                .collect(),
        },
        Table {
            key: "by_month",
            title: "按月份",
            rows: counts(&report.decisions.by_month, &month_label),
        },
        Table {
            key: "by_division",
            title: "按行政区划",
            rows: counts(&report.decisions.by_division, &division_label),
        },
        Table {
            key: "by_agency",
            title: "按执法机关",
            rows: counts(&report.decisions.by_agency, &|k| agency_label(report, k)),
        },
        Table {
            key: "withdrawn_by_reason",
            title: "撤回原因",
            rows: counts(&report.withdrawn.by_reason, &|k| reason_label(k).to_owned()),
        },
        Table {
            key: "publication_delay_working_days",
            title: "公开用时（工作日）",
            rows: vec![
                ("median".into(), "中位数".into(), number(delay.median)),
                ("p90".into(), "第90百分位数".into(), number(delay.p90)),
            ],
        },
        Table {
            key: "overdue",
            title: "逾期情况",
            rows: vec![
                (
                    "publication".into(),
                    "逾期公开".into(),
                    report.overdue.publication.to_string(),
                ),
                (
                    "withdrawal".into(),
                    "逾期撤回".into(),
                    report.overdue.withdrawal.to_string(),
                ),
            ],
        },
    ]
}

/// The figures as CSV bytes (UTF-8 with BOM, CRLF), one section per table (see the module doc).
pub fn render_csv(report: &AnnualReport) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    for (index, table) in tables(report).iter().enumerate() {
        if index > 0 {
            // A truly empty line between sections (a csv writer would write `""` for an empty row).
            out.extend_from_slice(b"\r\n");
        }
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to memory cannot fail; a failure would be a bug in the csv crate.
        let mut write =
            |fields: [&str; 3]| writer.write_record(fields).expect("writing CSV to memory");
        write(["section", table.key, table.title]);
        write(["key", "名称", "数值"]);
        for (key, label, value) in &table.rows {
            write([key, label, value]);
        }
        writer.flush().expect("flushing CSV to memory");
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub use dhub_support::html::escape;

const STYLE: &str = r#"
:root { --ink: #1f2933; --muted: #52606d; --line: #cbd2d9; --bar: #2f6f9f; --accent: #9f2f2f; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 880px; padding: 24px 32px; color: var(--ink); background: #fff;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimSun", sans-serif;
  line-height: 1.6; }
header { border-bottom: 3px double var(--accent); margin-bottom: 24px; text-align: center; }
h1 { font-size: 26px; margin: 8px 0 4px; letter-spacing: 2px; }
.issuer { font-size: 16px; margin: 0; }
.scope, .generated { color: var(--muted); font-size: 13px; margin: 4px 0 12px; }
h2 { font-size: 18px; border-left: 4px solid var(--accent); padding-left: 8px; margin: 28px 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; }
thead th { background: #f0f4f8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.code { font-family: monospace; white-space: nowrap; }
.summary td.n { font-size: 18px; font-weight: bold; }
svg { display: block; width: 100%; height: auto; margin: 8px 0; }
svg text { font-size: 12px; fill: var(--ink); }
svg .bar { fill: var(--bar); }
svg .axis { stroke: var(--line); }
footer { border-top: 1px solid var(--line); margin-top: 32px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 18mm 16mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 12pt; }
  section { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  svg .bar { fill: #555; }
}
"#;

/// Horizontal bars: one per `(label, value)`.
fn bar_chart(title: &str, items: &[(String, u64)]) -> String {
    const WIDTH: u64 = 640;
    const LABEL: u64 = 170;
    const ROW: u64 = 26;
    let bar_space = WIDTH - LABEL - 60;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let height = ROW * items.len() as u64 + 10;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    for (index, (label, value)) in items.iter().enumerate() {
        let y = 5 + ROW * index as u64;
        let length = value * bar_space / max;
        let _ = write!(
            svg,
            r#"<text x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect class="bar" x="{LABEL}" y="{by}" width="{length}" height="{bh}"/><text x="{vx}" y="{ty}">{value}</text>"#,
            lx = LABEL - 8,
            ty = y + 17,
            label = escape(label),
            by = y + 4,
            bh = ROW - 8,
            vx = LABEL + length + 6,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical columns for the twelve months.
fn month_chart(title: &str, items: &[(String, u64)]) -> String {
    const WIDTH: u64 = 640;
    const HEIGHT: u64 = 220;
    const BASE: u64 = 190;
    const TOP: u64 = 20;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let slot = (WIDTH - 40) / items.len().max(1) as u64;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}"><title>{t}</title><line class="axis" x1="20" y1="{BASE}" x2="{x2}" y2="{BASE}"/>"#,
        t = escape(title),
        x2 = WIDTH - 20,
    );
    for (index, (label, value)) in items.iter().enumerate() {
        let x = 20 + slot * index as u64;
        let height = value * (BASE - TOP - 16) / max;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{bx}" y="{by}" width="{bw}" height="{height}"/><text x="{cx}" y="{vy}" text-anchor="middle">{value}</text><text x="{cx}" y="{ly}" text-anchor="middle">{label}</text>"#,
            bx = x + slot / 6,
            by = BASE - height,
            bw = slot * 2 / 3,
            cx = x + slot / 2,
            vy = BASE - height - 4,
            ly = BASE + 18,
            label = escape(label),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn table_html(table: &Table, key_header: &str, code_keys: bool) -> String {
    let mut html = format!(
        r#"<table id="t-{key}" class="{key}"><thead><tr><th>{kh}</th><th>名称</th><th>数量</th></tr></thead><tbody>"#,
        key = table.key,
        kh = escape(key_header),
    );
    for (key, label, value) in &table.rows {
        let _ = write!(
            html,
            r#"<tr data-key="{k}"><td class="{class}">{k}</td><td>{l}</td><td class="n">{v}</td></tr>"#,
            k = escape(key),
            class = if code_keys { "code" } else { "key" },
            l = escape(label),
            v = escape(if value.is_empty() { "—" } else { value }),
        );
    }
    html.push_str("</tbody></table>");
    html
}

/// The page a department publishes: `issuer` (e.g. "茌平区人民政府") heads it when given;
/// `generated_on` is printed at the foot.
pub fn render_html(report: &AnnualReport, issuer: Option<&str>, generated_on: NaiveDate) -> String {
    let tables = tables(report);
    let find = |key: &str| {
        tables
            .iter()
            .find(|t| t.key == key)
            .expect("every table is built by tables()")
    };
    let year = report.year;
    let title = format!("{year}年度行政执法统计年报");
    let mut html = String::with_capacity(32 * 1024);
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="zh-CN" xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>{t}</title><style>{STYLE}</style></head><body><header>"#,
        t = escape(&title),
    );
    if let Some(issuer) = issuer {
        let _ = write!(html, r#"<p class="issuer">{}</p>"#, escape(issuer));
    }
    let _ = write!(
        html,
        r#"<h1>{t}</h1><p class="scope">统计范围：{year}年1月1日至12月31日作出的行政执法决定（以决定日期计；每项决定按其最新版本计一次，未予公开的决定一并计入）</p></header>"#,
        t = escape(&title),
    );

    // 一、总体情况
    let delay = &report.publication_delay_working_days;
    let summary_rows = [
        (
            "decisions.total",
            "执法决定总数",
            report.decisions.total.to_string(),
            "项",
        ),
        (
            "withdrawn.total",
            "已撤回决定数",
            report.withdrawn.total.to_string(),
            "项",
        ),
        (
            "publication_delay_working_days.median",
            "公开用时中位数",
            number(delay.median),
            "个工作日",
        ),
        (
            "publication_delay_working_days.p90",
            "公开用时第90百分位数",
            number(delay.p90),
            "个工作日",
        ),
        (
            "overdue.publication",
            "逾期公开决定数",
            report.overdue.publication.to_string(),
            "项",
        ),
        (
            "overdue.withdrawal",
            "逾期撤回决定数",
            report.overdue.withdrawal.to_string(),
            "项",
        ),
    ];
    html.push_str(r#"<section id="summary"><h2>一、总体情况</h2><table id="t-summary" class="summary"><tbody>"#);
    for (key, label, value, unit) in summary_rows {
        let shown = if value.is_empty() {
            "—".to_owned()
        } else {
            value
        };
        let _ = write!(
            html,
            r#"<tr data-key="{key}"><th>{label}</th><td class="n">{v}</td><td>{unit}</td></tr>"#,
            v = escape(&shown),
        );
    }
    html.push_str("</tbody></table></section>");

    // 二、按执法类别
    let by_category = find("by_category");
    let items: Vec<(String, u64)> = by_category
        .rows
        .iter()
        .map(|(_, label, count)| (label.clone(), count.parse().unwrap_or(0)))
        .collect();
    let _ = write!(
        html,
        r#"<section id="by-category"><h2>二、按执法类别</h2>{}{}</section>"#,
        bar_chart("各类别执法决定数", &items),
        table_html(by_category, "类别代码", false),
    );

    // 三、按月份
    let items: Vec<(String, u64)> = report
        .decisions
        .by_month
        .iter()
        .map(|(k, v)| (month_label(k), *v))
        .collect();
    let _ = write!(
        html,
        r#"<section id="by-month"><h2>三、按月份</h2>{}{}</section>"#,
        month_chart("各月执法决定数", &items),
        table_html(find("by_month"), "月份", false),
    );

    // 四、按行政区划
    let items: Vec<(String, u64)> = report
        .decisions
        .by_division
        .iter()
        .map(|(k, v)| (format!("{} {}", division_label(k), k), *v))
        .collect();
    let _ = write!(
        html,
        r#"<section id="by-division"><h2>四、按行政区划</h2>{}{}</section>"#,
        bar_chart("各行政区划执法决定数", &items),
        table_html(find("by_division"), "区划代码", true),
    );

    // 五、按执法机关
    let _ = write!(
        html,
        r#"<section id="by-agency"><h2>五、按执法机关</h2>{}</section>"#,
        table_html(find("by_agency"), "统一社会信用代码", true),
    );

    // 六、撤回情况
    let _ = write!(
        html,
        r#"<section id="withdrawn"><h2>六、撤回情况</h2><p>本年度作出的决定中，已从公示平台撤回 {} 项，原因如下。</p>{}</section>"#,
        report.withdrawn.total,
        table_html(find("withdrawn_by_reason"), "原因代码", false),
    );

    // 七、公开时效
    let _ = write!(
        html,
        r#"<section id="timeliness"><h2>七、公开时效</h2><p>公开用时为自作出决定之次日起至各公示平台确认公开之日止的工作日数（不含法定节假日，计入调休上班日）。行政许可、行政处罚决定应在7个工作日内公开，其他决定在20个工作日内公开（国办发〔2018〕118号）；决定被撤销、确认违法、确认无效或重新作出的，应在3日内撤回。</p>{}{}</section>"#,
        table_html(find("publication_delay_working_days"), "指标", false),
        table_html(find("overdue"), "类型", false),
    );
    if delay.estimated {
        html.push_str(
            r#"<p class="note">注：部分公开用时涉及尚无国务院放假安排的年份，按周末推算。</p>"#,
        );
    }
    let _ = writeln!(
        html,
        r#"<footer><p class="generated">本页由行政执法公示数据枢纽于{}生成。</p></footer></body></html>"#,
        generated_on.format("%Y年%m月%d日"),
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn row(id: &str, decided_on: &str, published: Option<&str>) -> AnnualRow {
        AnnualRow {
            record_id: id.into(),
            category: Category::Penalty,
            division_code: "371523".into(),
            agency_uscc: Some("11371523004211234X".into()),
            agency_name: "茌平县财政局".into(),
            decided_on: date(decided_on),
            withdrawn: None,
            first_published_on: published.map(date),
            publication_overdue: false,
            withdrawal_overdue: false,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[4], 50), Some(4));
        assert_eq!(nearest_rank(&[1, 2], 50), Some(1));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
    }

    #[test]
    fn an_empty_year_has_every_category_and_month_and_no_delay() {
        let report = annual_report(2026, &[], &Calendar::embedded()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&render_json(&report)).unwrap();
        assert_eq!(json["decisions"]["total"], 0);
        assert_eq!(
            json["decisions"]["by_category"].as_object().unwrap().len(),
            6
        );
        assert_eq!(json["decisions"]["by_month"].as_object().unwrap().len(), 12);
        assert_eq!(json["decisions"]["by_month"]["01"], 0);
        assert_eq!(json["withdrawn"]["by_reason"].as_object().unwrap().len(), 6);
        assert_eq!(
            json["publication_delay_working_days"],
            serde_json::json!({"median": null, "p90": null})
        );
        assert_eq!(
            json["overdue"],
            serde_json::json!({"publication": 0, "withdrawal": 0})
        );
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            5,
            "year, decisions, withdrawn, publication_delay_working_days, overdue"
        );
    }

    #[test]
    fn delays_count_working_days_after_the_decision() {
        let rows = [
            row("a", "2025-09-30", Some("2025-10-16")), // 7 across the National Day week
            row("b", "2025-09-26", Some("2025-09-28")), // Sunday worked (调休): 1
            row("c", "2025-03-07", Some("2025-03-08")), // Friday → Saturday: 0
            row("d", "2025-03-03", None),               // not published: no delay
        ];
        let report = annual_report(2025, &rows, &Calendar::embedded()).unwrap();
        assert_eq!(report.publication_delay_working_days.median, Some(1));
        assert_eq!(report.publication_delay_working_days.p90, Some(7));
        assert!(!report.publication_delay_working_days.estimated);
    }

    #[test]
    fn rows_outside_the_year_and_duplicates_are_errors() {
        let calendar = Calendar::embedded();
        let error = annual_report(2025, &[row("a", "2024-12-31", None)], &calendar).unwrap_err();
        assert_eq!(
            error.to_string(),
            "record a was decided on 2024-12-31, not in 2025; pass only the year's decisions"
        );
        let rows = [row("a", "2025-01-02", None), row("a", "2025-01-03", None)];
        assert_eq!(
            annual_report(2025, &rows, &calendar).unwrap_err(),
            AnnualError::Duplicate {
                record_id: "a".into()
            }
        );
    }

    #[test]
    fn every_text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let mut hostile = row("a", "2025-01-02", None);
        hostile.agency_name = "<script>alert(1)</script>局".into();
        let report = annual_report(2025, &[hostile], &Calendar::embedded()).unwrap();
        let html = render_html(&report, Some("某&某<政府>"), date("2026-01-10"));
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;局"));
        assert!(html.contains("某&amp;某&lt;政府&gt;"));
    }
}
