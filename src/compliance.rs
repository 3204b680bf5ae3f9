//! The law's clocks in the running hub and the report commands: the `[compliance]` config section,
//! the deadline states of every record (measured against the platforms' acknowledgements in
//! `feed_state`, never against queuing), and the rows of the annual statistics. The rules and the
//! arithmetic are `dhub_compliance`'s; this module reads the state store's `record_facts` columns and
//! turns them into the library's inputs.
//!
//! ```toml
//! [compliance]
//! time_zone = "Asia/Shanghai"            # where a day ends (publicity, deadlines, "today")
//! calendar_dir = "holidays"              # extra YYYY.json holiday files (holiday-cn format), optional
//! divisions_file = "divisions.csv"       # extra GB/T 2260 rows (history CSV format), optional
//! issuer = "聊城市人民政府办公室"           # shown on the annual report's page, optional
//! deadline_check_interval_ms = 60000     # how often dhub_deadlines and /api/status are refreshed
//!
//! [compliance.deadlines]                 # dhub_compliance::DeadlinesConfig
//! publication_working_days = { inspection = 10 }
//! withdrawal_days = 3
//! withdrawal_day_kind = "calendar"       # or "working"
//! [[compliance.deadlines.region]]
//! division = "370000"
//! withdrawal_day_kind = "working"
//!
//! [compliance.publicity]                 # dhub_compliance::PublicityConfig (without time_zone)
//! minor_penalty_months = 3               # present: periods by category and severity apply
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use dhub_compliance::{
    AnnualRow, Calendar, Deadline, DeadlineKind, DeadlineRules, DeadlineState, DeadlinesConfig,
    PublicityConfig, PublicityRules, WithdrawalReason,
};
use dhub_ingest::Clocks;
use dhub_schema::{Category, Status};
use dhub_store::{Store, StoreError, StoredFacts};
use serde::Deserialize;

/// `[compliance]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceSection {
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    calendar_dir: Option<PathBuf>,
    #[serde(default)]
    divisions_file: Option<PathBuf>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    deadline_check_interval_ms: Option<u64>,
    #[serde(default)]
    deadlines: DeadlinesConfig,
    #[serde(default)]
    publicity: Option<PublicityConfig>,
}

/// The compiled section.
#[derive(Clone)]
pub struct ComplianceSetup {
    pub clocks: Clocks,
    pub deadlines: DeadlineRules,
    pub calendar: Arc<Calendar>,
    pub issuer: Option<String>,
    pub deadline_check_interval: Duration,
}

impl Default for ComplianceSetup {
    fn default() -> Self {
        ComplianceSetup {
            clocks: Clocks::default(),
            deadlines: DeadlineRules::default(),
            calendar: Arc::new(Calendar::embedded()),
            issuer: None,
            deadline_check_interval: Duration::from_secs(60),
        }
    }
}

/// Validates `[compliance]` (`at` is `file:line`); every problem is one message. Loads the extra
/// division rows into the process-wide table, so the platforms and sources checked after it see them.
pub fn compile(
    section: Option<&ComplianceSection>,
    base_dir: &Path,
    at: &str,
) -> Result<ComplianceSetup, Vec<String>> {
    let Some(section) = section else {
        return Ok(ComplianceSetup::default());
    };
    let mut errors = Vec::new();
    let mut setup = ComplianceSetup::default();
    let zone_text = section.time_zone.as_deref().unwrap_or("Asia/Shanghai");
    match zone_text.parse::<chrono_tz::Tz>() {
        Ok(zone) => setup.clocks.time_zone = zone,
        Err(_) => errors.push(format!(
            "{at}: compliance.time_zone: {zone_text:?} is not an IANA time zone; give a name such as \"Asia/Shanghai\""
        )),
    }
    if let Some(dir) = &section.calendar_dir {
        match Calendar::with_dir(&base_dir.join(dir)) {
            Ok(calendar) => setup.calendar = Arc::new(calendar),
            Err(error) => errors.push(format!("{at}: compliance.calendar_dir: {error}")),
        }
    }
    if let Some(file) = &section.divisions_file {
        if let Err(error) = dhub_schema::divisions::load_extra(&base_dir.join(file)) {
            errors.push(format!("{at}: compliance.divisions_file: {error}"));
        }
    }
    match DeadlineRules::compile(&section.deadlines) {
        Ok(rules) => setup.deadlines = rules,
        Err(problems) => errors.extend(
            problems
                .into_iter()
                .map(|p| format!("{at}: compliance.deadlines.{p}")),
        ),
    }
    if let Some(publicity) = &section.publicity {
        if publicity.time_zone.is_some() {
            errors.push(format!(
                "{at}: compliance.publicity.time_zone: give the time zone once, as compliance.time_zone"
            ));
        }
        let mut config = publicity.clone();
        config.time_zone = Some(zone_text.to_string());
        match PublicityRules::compile(&config) {
            Ok(rules) => setup.clocks.publicity = Some(rules),
            Err(problems) => errors.extend(
                problems
                    .into_iter()
                    .filter(|p| p.key != "time_zone")
                    .map(|p| format!("{at}: compliance.publicity.{p}")),
            ),
        }
    }
    match section.deadline_check_interval_ms {
        Some(0) => errors.push(format!(
            "{at}: compliance.deadline_check_interval_ms: must be at least 1"
        )),
        Some(ms) => setup.deadline_check_interval = Duration::from_millis(ms),
        None => {}
    }
    setup.issuer = section.issuer.clone();
    if errors.is_empty() {
        Ok(setup)
    } else {
        Err(errors)
    }
}

/// One deadline of one record, with its state today.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub record_id: String,
    pub deadline: Deadline,
    pub state: DeadlineState,
    /// The local date the platforms acknowledged it, if they did.
    pub acknowledged_on: Option<NaiveDate>,
    /// Calendar years the answer had to guess (weekends only).
    pub uncovered_years: Vec<i32>,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

fn date(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(|t| t.parse().ok())
}

/// The publication and withdrawal deadlines of one record and their states on `today`.
///
/// - Publication: for a record the hub publishes (it is shown on a platform, or was); met on the
///   day the last of the platforms showing it acknowledged it.
/// - Withdrawal: for a record withdrawn by its status (revoked, confirmed illegal or void,
///   redecided), from `status_changed_on` or the day the hub received it; met on the day the last
///   platform that had received it acknowledged the retraction (at once when none had).
pub fn evaluate(setup: &ComplianceSetup, stored: &StoredFacts, today: NaiveDate) -> Vec<Evaluated> {
    let facts = &stored.facts;
    let delivery = &stored.delivery;
    let clocks = &setup.clocks;
    let calendar = &setup.calendar;
    let mut out = Vec::new();
    let (Some(category), Some(decided_on)) = (
        parse::<Category>(&facts.category),
        date(Some(&facts.decided_on)),
    ) else {
        return out;
    };
    let published = delivery
        .published_at_ms()
        .map(|ms| clocks.local_date_ms(ms));
    let publishable = !delivery.shown_to.is_empty() || !delivery.acks.is_empty();
    if publishable {
        let deadline =
            setup
                .deadlines
                .publication(calendar, category, &facts.division_code, decided_on);
        out.push(judge(setup, &facts.record_id, deadline, today, published));
    }
    let status_withdrawal = facts
        .withdrawn_reason
        .as_deref()
        .and_then(parse::<WithdrawalReason>)
        .is_some_and(|r| {
            !matches!(
                r,
                WithdrawalReason::PublicityExpired | WithdrawalReason::Manual
            )
        });
    if status_withdrawal {
        if let (Some(status), Some(start)) = (
            parse::<Status>(&facts.status),
            date(facts.withdrawn_on.as_deref()),
        ) {
            if let Some(deadline) = setup.deadlines.withdrawal(
                calendar,
                status,
                &facts.division_code,
                Some(start),
                start,
            ) {
                let acknowledged = match delivery.withdrawn_at_ms() {
                    None => None,
                    Some(Some(ms)) => Some(clocks.local_date_ms(ms)),
                    // Never shown anywhere: nothing was left to withdraw.
                    Some(None) => Some(start),
                };
                out.push(judge(
                    setup,
                    &facts.record_id,
                    deadline,
                    today,
                    acknowledged,
                ));
            }
        }
    }
    out
}

fn judge(
    setup: &ComplianceSetup,
    record_id: &str,
    deadline: Deadline,
    today: NaiveDate,
    acknowledged_on: Option<NaiveDate>,
) -> Evaluated {
    let state = setup
        .deadlines
        .state(&setup.calendar, &deadline, today, acknowledged_on);
    Evaluated {
        record_id: record_id.to_string(),
        deadline,
        state: state.value,
        acknowledged_on,
        uncovered_years: state.uncovered_years,
    }
}

/// Counts per (kind, state), and the calendar years that had to be guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlineCounts {
    /// `[publication, withdrawal]` × `[open, due_soon, overdue, met]`.
    pub counts: [[u64; 4]; 2],
    /// Deadlines per calendar year that had to be guessed.
    pub uncovered_years: BTreeMap<i32, u64>,
    pub estimated: u64,
}

pub const KINDS: [DeadlineKind; 2] = [DeadlineKind::Publication, DeadlineKind::Withdrawal];
pub const STATES: [DeadlineState; 4] = [
    DeadlineState::Open,
    DeadlineState::DueSoon,
    DeadlineState::Overdue,
    DeadlineState::Met,
];

pub fn kind_name(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::Publication => "publication",
        DeadlineKind::Withdrawal => "withdrawal",
    }
}

pub fn state_name(state: DeadlineState) -> &'static str {
    match state {
        DeadlineState::Open => "open",
        DeadlineState::DueSoon => "due_soon",
        DeadlineState::Overdue => "overdue",
        DeadlineState::Met => "met",
    }
}

impl DeadlineCounts {
    pub fn add(&mut self, evaluated: &Evaluated) {
        let k = KINDS
            .iter()
            .position(|k| *k == evaluated.deadline.kind)
            .unwrap_or(0);
        let s = STATES
            .iter()
            .position(|s| *s == evaluated.state)
            .unwrap_or(0);
        self.counts[k][s] += 1;
        if !evaluated.uncovered_years.is_empty() {
            self.estimated += 1;
            for year in &evaluated.uncovered_years {
                *self.uncovered_years.entry(*year).or_default() += 1;
            }
        }
    }

    pub fn get(&self, kind: DeadlineKind, state: DeadlineState) -> u64 {
        let k = KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        let s = STATES.iter().position(|s| *s == state).unwrap_or(0);
        self.counts[k][s]
    }

    /// The `deadlines` object of `/api/status`: per kind `met`, `due` (not met, not overdue: `open` +
    /// `due_soon`), `due_soon`, `overdue`.
    pub fn to_json(&self) -> serde_json::Value {
        let kind = |k| {
            serde_json::json!({
                "met": self.get(k, DeadlineState::Met),
                "due": self.get(k, DeadlineState::Open) + self.get(k, DeadlineState::DueSoon),
                "due_soon": self.get(k, DeadlineState::DueSoon),
                "overdue": self.get(k, DeadlineState::Overdue),
            })
        };
        serde_json::json!({
            "publication": kind(DeadlineKind::Publication),
            "withdrawal": kind(DeadlineKind::Withdrawal),
            "estimated": self.estimated,
            "uncovered_years": self.uncovered_years.keys().collect::<Vec<_>>(),
        })
    }
}

/// Records' facts read per statement by [`deadline_counts`].
pub const DEADLINE_PAGE: i64 = 1000;

/// The counts of every record's deadlines on `today`, read `page` records at a time: the running
/// hub refreshes them every `deadline_check_interval_ms`, and holding every record's facts at once
/// (as [`all_deadlines`] does for the report) raised its peak RSS by 165 MB at 360,000 records
/// (`cargo bench --bench e2e`, broker-down phase), growing with the store.
pub async fn deadline_counts(
    store: &Store,
    setup: &ComplianceSetup,
    today: NaiveDate,
    page: i64,
) -> Result<DeadlineCounts, StoreError> {
    let mut counts = DeadlineCounts::default();
    let mut after: Option<String> = None;
    loop {
        let facts = store.facts_page(after.as_deref(), None, page).await?;
        for stored in &facts {
            for evaluated in evaluate(setup, stored, today) {
                counts.add(&evaluated);
            }
        }
        match facts.last() {
            Some(last) if facts.len() as i64 == page => after = Some(last.facts.record_id.clone()),
            _ => return Ok(counts),
        }
    }
}

/// Every record's deadlines on `today`.
pub async fn all_deadlines(
    store: &Store,
    setup: &ComplianceSetup,
    today: NaiveDate,
) -> Result<(Vec<Evaluated>, DeadlineCounts), StoreError> {
    let mut counts = DeadlineCounts::default();
    let mut all = Vec::new();
    for stored in store.all_facts(None).await? {
        for evaluated in evaluate(setup, &stored, today) {
            counts.add(&evaluated);
            all.push(evaluated);
        }
    }
    Ok((all, counts))
}

/// The rows of the annual statistics of `year`: every record decided in it (latest version, withheld
/// ones included), with its first acknowledged publication and whether a deadline was missed.
pub async fn annual_rows(
    store: &Store,
    setup: &ComplianceSetup,
    year: i32,
    today: NaiveDate,
) -> Result<(Vec<AnnualRow>, DeadlineCounts), StoreError> {
    let from = format!("{year:04}-01-01");
    let to = format!("{year:04}-12-31");
    let mut rows = Vec::new();
    let mut counts = DeadlineCounts::default();
    for stored in store.all_facts(Some((&from, &to))).await? {
        let facts = &stored.facts;
        let (Some(category), Some(decided_on)) = (
            parse::<Category>(&facts.category),
            date(Some(&facts.decided_on)),
        ) else {
            continue;
        };
        let mut row = AnnualRow {
            record_id: facts.record_id.clone(),
            category,
            division_code: facts.division_code.clone(),
            agency_uscc: facts.agency_uscc.clone(),
            agency_name: facts.agency_name.clone(),
            decided_on,
            withdrawn: facts
                .withdrawn_reason
                .as_deref()
                .and_then(parse::<WithdrawalReason>),
            first_published_on: stored
                .delivery
                .first_published_at_ms()
                .map(|ms| setup.clocks.local_date_ms(ms)),
            publication_overdue: false,
            withdrawal_overdue: false,
        };
        for evaluated in evaluate(setup, &stored, today) {
            counts.add(&evaluated);
            let late = evaluated.deadline.late(today, evaluated.acknowledged_on);
            match evaluated.deadline.kind {
                DeadlineKind::Publication => row.publication_overdue = late,
                DeadlineKind::Withdrawal => row.withdrawal_overdue = late,
            }
        }
        rows.push(row);
    }
    Ok((rows, counts))
}

/// Computes every record's deadlines now and then for `dhub_deadlines` and `/api/status`, until
/// `stop`. Read-only, so every instance runs it for its own metrics.
pub async fn watch_deadlines(
    store: Store,
    setup: ComplianceSetup,
    telemetry: Arc<crate::telemetry::Telemetry>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let today = setup.clocks.today();
        match deadline_counts(&store, &setup, today, DEADLINE_PAGE).await {
            Ok(counts) => telemetry.deadlines_checked(&counts),
            Err(error) => telemetry.store_failed("compute deadlines", &error),
        }
        tokio::select! {
            _ = tokio::time::sleep(setup.deadline_check_interval) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// Sets the publicity end of records carried over by migration 0004 (their facts have only the
/// source's date) with the configured periods. Returns how many. Without configured periods the
/// source's date is already the rule and the rows are only relabelled.
pub async fn settle_carried(store: &Store, clocks: &Clocks) -> Result<usize, StoreError> {
    let mut settled = 0;
    loop {
        let page = store.carried_facts(500).await?;
        if page.is_empty() {
            return Ok(settled);
        }
        for (record_id, json) in page {
            let publicity = serde_json::from_str::<dhub_schema::Record>(&json)
                .ok()
                .map(|record| clocks.publicity(&record));
            let (until, basis) = match publicity {
                Some(p) => (
                    p.until.map(|d| d.to_string()),
                    dhub_ingest::compliance::basis_name(p.basis),
                ),
                // Unreadable as a record: keep no end rather than guess one.
                None => (None, "no_end"),
            };
            store
                .set_publicity(&record_id, until.as_deref(), basis)
                .await?;
            settled += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::HubConfig;

    const BASE: &str = "[kafka]\nbrokers = \"127.0.0.1:9092\"\n\n[[platform]]\nname = \"city\"\nlevel = \"city\"\ndivision = \"371500\"\n";

    fn parse(extra: &str) -> Result<HubConfig, String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/demo/hub.toml");
        HubConfig::parse(&format!("{BASE}{extra}"), &path, &[]).map_err(|e| e.to_string())
    }

    #[test]
    fn without_the_section_the_defaults_apply() {
        let config = parse("").unwrap();
        assert_eq!(
            config.compliance.clocks.time_zone,
            chrono_tz::Tz::Asia__Shanghai
        );
        assert!(config.compliance.clocks.publicity.is_none());
        assert!(config.compliance.calendar.covers(2025));
    }

    #[test]
    fn the_section_compiles_deadlines_publicity_and_zone() {
        let config = parse(
            "\n[compliance]\ntime_zone = \"Asia/Urumqi\"\nissuer = \"聊城市司法局\"\n\
             [compliance.deadlines]\nwithdrawal_day_kind = \"working\"\n\
             [compliance.deadlines.publication_working_days]\ninspection = 10\n\
             [[compliance.deadlines.region]]\ndivision = \"371500\"\nwithdrawal_days = 5\n\
             [compliance.publicity]\nminor_penalty_months = 6\n",
        )
        .unwrap();
        let setup = &config.compliance;
        assert_eq!(setup.clocks.time_zone, chrono_tz::Tz::Asia__Urumqi);
        assert_eq!(setup.issuer.as_deref(), Some("聊城市司法局"));
        let rules = setup.deadlines.for_division("371523");
        assert_eq!(rules.withdrawal_days, 5);
        assert_eq!(
            rules.publication_working_days(dhub_schema::Category::Inspection),
            10
        );
        assert_eq!(setup.deadlines.for_division("370100").withdrawal_days, 3);
        assert!(setup.clocks.publicity.is_some());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_with_the_line() {
        let errors = parse("\n[compliance]\ntimezone = \"UTC\"\n").unwrap_err();
        assert!(
            errors.contains("hub.toml:10: unknown field `timezone`"),
            "{errors}"
        );
        let errors = parse("\n[compliance.deadlines]\nwithdrawl_days = 3\n").unwrap_err();
        assert!(
            errors.contains("unknown field `withdrawl_days`"),
            "{errors}"
        );
        let errors = parse("\n[compliance]\ntime_zone = \"Mars/Base\"\n").unwrap_err();
        assert!(
            errors.contains(
                "hub.toml:9: compliance.time_zone: \"Mars/Base\" is not an IANA time zone"
            ),
            "{errors}"
        );
        let errors = parse("\n[compliance.publicity]\ntime_zone = \"UTC\"\npenalty_months = 0\n")
            .unwrap_err();
        assert!(
            errors.contains("compliance.publicity.time_zone: give the time zone once"),
            "{errors}"
        );
        assert!(
            errors.contains("compliance.publicity.penalty_months: 0 months is out of range"),
            "{errors}"
        );
        let errors =
            parse("\n[[compliance.deadlines.region]]\ndivision = \"379999\"\n").unwrap_err();
        assert!(errors.contains("compliance.deadlines.region"), "{errors}");
        let errors = parse("\n[compliance]\ncalendar_dir = \"no-such-dir\"\n").unwrap_err();
        assert!(errors.contains("compliance.calendar_dir"), "{errors}");
    }

    #[test]
    fn sgs2021_is_a_platform_format_and_others_are_refused() {
        let sgs = BASE.replace(
            "division = \"371500\"\n",
            "division = \"371500\"\nformat = \"sgs.2021\"\n",
        );
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/demo/hub.toml");
        assert_eq!(
            HubConfig::parse(&sgs, &path, &[]).unwrap().platforms[0].format,
            "sgs.2021"
        );
        let other = BASE.replace(
            "division = \"371500\"\n",
            "division = \"371500\"\nformat = \"xml\"\n",
        );
        let errors = HubConfig::parse(&other, &path, &[])
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("format `xml` is not supported; use `disclosure.v1` or `sgs.2021`"),
            "{errors}"
        );
    }
}
