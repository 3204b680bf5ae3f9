//! Statutory deadlines: when a decision must be public, and when a withdrawn one must be off the
//! platforms; their states for `dhub report deadlines` (CONTRACT §1).
//!
//! # The rules (defaults)
//!
//! - **Publication**: licensing and penalty decisions within 7 working days of `decided_on`, the other
//!   categories within 20 (国办发〔2018〕118号). The decision day is not counted; the N-th working
//!   day after it is the last day (see [`crate::calendar`] for the legal reading).
//! - **Withdrawal**: a decision whose status withdraws it (`revoked`, `confirmed_illegal`,
//!   `confirmed_void`, `redecided`: [`Status::withdraws`]) must be withdrawn within 3 days
//!   (行政处罚法 (2021) Art. 48), counted from `status_changed_on`, or from the day the hub received the
//!   withdrawing version when the record does not say. The default counts **calendar** days, the
//!   strict reading (the deadline is never later than the working-day one); `withdrawal_day_kind =
//!   "working"` counts working days, as 市场监管 does and as 行政处罚法 Art. 85 reads its "三日".
//!   Calendar days are not extended past a holiday: the platforms are automatic, nothing stops a
//!   withdrawal on a Sunday.
//! - Every number can differ per region: `[[region]]` entries keyed by a division code apply to the
//!   agencies inside that area; province, then city, then county entries are applied in turn, each
//!   overriding only the values it sets.
//!
//! # States
//!
//! A deadline is **met** once the platforms acknowledged the publication (or retraction), whatever
//! the date: the caller passes the acknowledgement date from the delivery state, never the date it
//! was queued. Otherwise it is **overdue** after its due day, **due soon** when at most
//! `due_soon_working_days` (default 2, CONTRACT §1) working days remain (`(today, due]` holds at most
//! that many working days, the due day itself included), else **open**. [`Deadline::late`] says
//! whether a deadline was or is missed (met after its day, or overdue), for the yearly statistics.
//!
//! All dates are local dates in the hub's time zone ([`crate::publicity::local_date`]).
//!
//! # Configuration (TOML, under the table the hub chooses, e.g. `[deadlines]`)
//!
//! ```toml
//! publication_working_days = { licensing = 7, penalty = 7, coercion = 20, levy = 20, fee = 20, inspection = 20 }
//! withdrawal_days = 3
//! withdrawal_day_kind = "calendar"   # or "working"
//! due_soon_working_days = 2
//!
//! [[region]]                         # e.g. [[deadlines.region]]
//! division = "370000"                # the agencies inside this area (province, city or county code)
//! withdrawal_day_kind = "working"
//! publication_working_days = { inspection = 10 }
//! ```

use chrono::{Days, NaiveDate};
use dhub_schema::divisions::{self, Level};
use dhub_schema::{Category, Status};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, Due, Reckoned};

const MAX_DAYS: u32 = 365;
const MAX_DUE_SOON: u32 = 30;

/// How days of a period are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Every day counts.
    Calendar,
    /// Only working days count ([`Calendar::is_working_day`]).
    Working,
}

/// Days per enforcement category; an absent category keeps the value from the level below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDays {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensing: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coercion: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levy: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<u32>,
}

impl CategoryDays {
    fn get(&self, category: Category) -> Option<u32> {
        match category {
            Category::Licensing => self.licensing,
            Category::Penalty => self.penalty,
            Category::Coercion => self.coercion,
            Category::Levy => self.levy,
            Category::Fee => self.fee,
            Category::Inspection => self.inspection,
        }
    }

    fn is_empty(&self) -> bool {
        Category::ALL.iter().all(|c| self.get(*c).is_none())
    }
}

/// The deadline rules as configured (all keys optional; see the module doc for the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinesConfig {
    /// Working days after `decided_on` within which a decision must be public, per category
    /// (default 7 for licensing and penalty, 20 for the others).
    #[serde(default)]
    pub publication_working_days: CategoryDays,
    /// Days after the withdrawing status took effect within which the decision must be withdrawn
    /// (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_days: Option<u32>,
    /// How `withdrawal_days` are counted: `calendar` (default) or `working`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_day_kind: Option<DayKind>,
    /// A deadline this many working days off or nearer is `due_soon` (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_soon_working_days: Option<u32>,
    /// Regional rules, applied to the agencies inside each area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region: Vec<RegionDeadlines>,
}

/// A regional rule: values for the agencies inside `division`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionDeadlines {
    /// GB/T 2260 code of the area (province `PP0000`, city `PPCC00` or county).
    pub division: String,
    /// Per category, as the top-level key.
    #[serde(default)]
    pub publication_working_days: CategoryDays,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_day_kind: Option<DayKind>,
}

/// A configuration value that cannot be used; `key` is relative to the deadlines table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct DeadlinesConfigError {
    pub key: String,
    pub message: String,
}

/// The rules for one area, all values resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaRules {
    publication: [u32; 6],
    pub withdrawal_days: u32,
    pub withdrawal_day_kind: DayKind,
}

impl AreaRules {
    /// Working days allowed for publishing a decision of `category`.
    pub fn publication_working_days(&self, category: Category) -> u32 {
        self.publication[category_index(category)]
    }

    fn apply(&mut self, days: &CategoryDays, withdrawal: Option<u32>, kind: Option<DayKind>) {
        for category in Category::ALL {
            if let Some(n) = days.get(*category) {
                self.publication[category_index(*category)] = n;
            }
        }
        if let Some(n) = withdrawal {
            self.withdrawal_days = n;
        }
        if let Some(kind) = kind {
            self.withdrawal_day_kind = kind;
        }
    }
}

fn category_index(category: Category) -> usize {
    Category::ALL
        .iter()
        .position(|c| *c == category)
        .expect("Category::ALL lists every category")
}

/// The validated rules, ready to compute deadlines.
#[derive(Debug, Clone)]
pub struct DeadlineRules {
    base: AreaRules,
    /// Regional rules, provinces first, then cities, then counties.
    regions: Vec<(String, Level, RegionDeadlines)>,
    due_soon_working_days: u32,
}

impl Default for DeadlineRules {
    fn default() -> Self {
        DeadlineRules::compile(&DeadlinesConfig::default()).expect("the defaults are valid")
    }
}

impl DeadlineRules {
    /// Validates the configuration (every problem is an error; nothing is clamped).
    pub fn compile(config: &DeadlinesConfig) -> Result<DeadlineRules, Vec<DeadlinesConfigError>> {
        let mut errors = Vec::new();
        let mut check = |key: String, value: Option<u32>, max: u32| {
            if let Some(n) = value.filter(|n| *n > max) {
                errors.push(DeadlinesConfigError {
                    key,
                    message: format!(
                        "{n} is more than {max}; give a number of days from 0 to {max}"
                    ),
                });
            }
        };
        let mut check_days = |prefix: &str, days: &CategoryDays, withdrawal: Option<u32>| {
            for category in Category::ALL {
                check(
                    format!("{prefix}publication_working_days.{}", category.as_str()),
                    days.get(*category),
                    MAX_DAYS,
                );
            }
            check(format!("{prefix}withdrawal_days"), withdrawal, MAX_DAYS);
        };
        check_days("", &config.publication_working_days, config.withdrawal_days);
        for (index, region) in config.region.iter().enumerate() {
            check_days(
                &format!("region[{index}]."),
                &region.publication_working_days,
                region.withdrawal_days,
            );
        }
        if let Some(n) = config.due_soon_working_days.filter(|n| *n > MAX_DUE_SOON) {
            errors.push(DeadlinesConfigError {
                key: "due_soon_working_days".into(),
                message: format!("{n} is more than {MAX_DUE_SOON}; give 0 to {MAX_DUE_SOON}"),
            });
        }
        let mut regions: Vec<(String, Level, RegionDeadlines)> = Vec::new();
        let mut configured_at: Vec<usize> = Vec::new();
        for (index, region) in config.region.iter().enumerate() {
            let key = format!("region[{index}].division");
            if !divisions::is_known(&region.division) {
                errors.push(DeadlinesConfigError {
                    key,
                    message: format!(
                        "{:?} is not a GB/T 2260 division code; give six digits such as \"370000\"",
                        region.division
                    ),
                });
                continue;
            }
            if region.publication_working_days.is_empty()
                && region.withdrawal_days.is_none()
                && region.withdrawal_day_kind.is_none()
            {
                errors.push(DeadlinesConfigError {
                    key: format!("region[{index}]"),
                    message: "sets nothing; give publication_working_days, withdrawal_days or \
                              withdrawal_day_kind, or remove it"
                        .into(),
                });
            }
            let canonical = divisions::canonical(&region.division).to_owned();
            if let Some(other) = regions
                .iter()
                .position(|(code, _, _)| *code == canonical)
                .map(|position| configured_at[position])
            {
                errors.push(DeadlinesConfigError {
                    key,
                    message: format!(
                        "the area {} is already configured by region[{other}]; merge the two",
                        region.division
                    ),
                });
                continue;
            }
            regions.push((
                canonical,
                divisions::level_of(&region.division),
                region.clone(),
            ));
            configured_at.push(index);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut base = AreaRules {
            publication: default_publication_days(),
            withdrawal_days: 3,
            withdrawal_day_kind: DayKind::Calendar,
        };
        base.apply(
            &config.publication_working_days,
            config.withdrawal_days,
            config.withdrawal_day_kind,
        );
        // A stable sort keeps configuration order within a level (areas of one level do not overlap).
        regions.sort_by_key(|(_, level, _)| match level {
            Level::Province => 0,
            Level::City => 1,
            Level::County => 2,
        });
        Ok(DeadlineRules {
            base,
            regions,
            due_soon_working_days: config.due_soon_working_days.unwrap_or(2),
        })
    }

    /// The rules for an agency in `division`.
    pub fn for_division(&self, division: &str) -> AreaRules {
        let mut rules = self.base;
        for (code, level, region) in &self.regions {
            if divisions::contains(code, *level, division) {
                rules.apply(
                    &region.publication_working_days,
                    region.withdrawal_days,
                    region.withdrawal_day_kind,
                );
            }
        }
        rules
    }

    /// The publication deadline of a decision.
    pub fn publication(
        &self,
        calendar: &Calendar,
        category: Category,
        division: &str,
        decided_on: NaiveDate,
    ) -> Deadline {
        let days = self
            .for_division(division)
            .publication_working_days(category);
        Deadline {
            kind: DeadlineKind::Publication,
            due: calendar.add_working_days(decided_on, days),
        }
    }

    /// The withdrawal deadline of a version with `status`, or `None` when the status does not
    /// withdraw the decision. `received_on` is the local date the hub received that version, used
    /// when the record has no `status_changed_on`.
    pub fn withdrawal(
        &self,
        calendar: &Calendar,
        status: Status,
        division: &str,
        status_changed_on: Option<NaiveDate>,
        received_on: NaiveDate,
    ) -> Option<Deadline> {
        if !status.withdraws() {
            return None;
        }
        let rules = self.for_division(division);
        let start = status_changed_on.unwrap_or(received_on);
        let due = match rules.withdrawal_day_kind {
            DayKind::Working => calendar.add_working_days(start, rules.withdrawal_days),
            DayKind::Calendar => Reckoned {
                value: start
                    .checked_add_days(Days::new(rules.withdrawal_days.into()))
                    .unwrap_or(NaiveDate::MAX),
                uncovered_years: Vec::new(),
            },
        };
        Some(Deadline {
            kind: DeadlineKind::Withdrawal,
            due,
        })
    }

    /// The state of `deadline` on `today`, given the date the platforms acknowledged it, if they have.
    pub fn state(
        &self,
        calendar: &Calendar,
        deadline: &Deadline,
        today: NaiveDate,
        acknowledged_on: Option<NaiveDate>,
    ) -> Reckoned<DeadlineState> {
        let due = &deadline.due;
        let exact = |state| Reckoned {
            value: state,
            uncovered_years: due.uncovered_years.clone(),
        };
        if acknowledged_on.is_some() {
            return exact(DeadlineState::Met);
        }
        if today > due.value {
            return exact(DeadlineState::Overdue);
        }
        let remaining = calendar.working_days_between(today, due.value);
        let mut uncovered = due.uncovered_years.clone();
        uncovered.extend(remaining.uncovered_years);
        uncovered.sort_unstable();
        uncovered.dedup();
        let state = if remaining.value <= i64::from(self.due_soon_working_days) {
            DeadlineState::DueSoon
        } else {
            DeadlineState::Open
        };
        Reckoned {
            value: state,
            uncovered_years: uncovered,
        }
    }

    /// The line `dhub report deadlines` prints for this deadline: overdue and due-soon ones, and with
    /// `all` every one not yet met; `None` for the others.
    pub fn report_line(
        &self,
        calendar: &Calendar,
        record_id: &str,
        deadline: &Deadline,
        today: NaiveDate,
        acknowledged_on: Option<NaiveDate>,
        all: bool,
    ) -> Option<DeadlineLine> {
        let state = self.state(calendar, deadline, today, acknowledged_on);
        let shown = match state.value {
            DeadlineState::Met => false,
            DeadlineState::Overdue | DeadlineState::DueSoon => true,
            DeadlineState::Open => all,
        };
        shown.then(|| DeadlineLine {
            record_id: record_id.to_owned(),
            deadline: deadline.kind,
            due: deadline.due.value,
            state: state.value,
            estimated: state.estimated(),
        })
    }
}

/// 国办发〔2018〕118号: 7 working days for licensing and penalties, 20 for the rest.
fn default_publication_days() -> [u32; 6] {
    let mut days = [20; 6];
    for (index, category) in Category::ALL.iter().enumerate() {
        days[index] = match category {
            Category::Licensing | Category::Penalty => 7,
            Category::Coercion | Category::Levy | Category::Fee | Category::Inspection => 20,
        };
    }
    days
}

/// Which statutory clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Publication,
    Withdrawal,
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Open,
    DueSoon,
    Overdue,
    Met,
}

/// A computed deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub kind: DeadlineKind,
    /// The last day (inclusive); estimated when it rests on uncovered calendar years.
    pub due: Due,
}

impl Deadline {
    /// Whether the deadline was missed: acknowledged after its day, or not acknowledged and past it.
    pub fn late(&self, today: NaiveDate, acknowledged_on: Option<NaiveDate>) -> bool {
        acknowledged_on.unwrap_or(today) > self.due.value
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One line of `dhub report deadlines` (CONTRACT §1):
/// `{"record_id","deadline":"publication"|"withdrawal","due":"YYYY-MM-DD","state":…}`, plus
/// `"estimated": true` when the due day rests on a year the calendar does not cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineLine {
    pub record_id: String,
    pub deadline: DeadlineKind,
    pub due: NaiveDate,
    pub state: DeadlineState,
    #[serde(default, skip_serializing_if = "is_false")]
    pub estimated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn rules(toml_text: &str) -> DeadlineRules {
        let config: DeadlinesConfig = toml::from_str(toml_text).unwrap();
        DeadlineRules::compile(&config).unwrap()
    }

    #[test]
    fn publication_defaults_per_category() {
        let calendar = Calendar::embedded();
        let rules = DeadlineRules::default();
        // Monday 2025-03-03, no holiday near: 7 working days → Wednesday 03-12, 20 → Monday 03-31.
        for category in [Category::Licensing, Category::Penalty] {
            let due = rules.publication(&calendar, category, "371523", date("2025-03-03"));
            assert_eq!(due.due.value, date("2025-03-12"), "{category:?}");
            assert_eq!(due.kind, DeadlineKind::Publication);
        }
        for category in [
            Category::Coercion,
            Category::Levy,
            Category::Fee,
            Category::Inspection,
        ] {
            let due = rules.publication(&calendar, category, "371523", date("2025-03-03"));
            assert_eq!(due.due.value, date("2025-03-31"), "{category:?}");
        }
        // Across the National Day week with its adjusted working days.
        let due = rules.publication(&calendar, Category::Penalty, "371523", date("2025-09-30"));
        assert_eq!(due.due.value, date("2025-10-16"));
        assert!(!due.due.estimated());
    }

    #[test]
    fn regional_rules_apply_inside_their_area_most_specific_last() {
        let calendar = Calendar::embedded();
        let rules = rules(
            r#"
            publication_working_days = { inspection = 15 }
            [[region]]
            division = "371500"
            publication_working_days = { penalty = 5, inspection = 10 }
            [[region]]
            division = "370000"
            publication_working_days = { penalty = 6, coercion = 12 }
            withdrawal_day_kind = "working"
            [[region]]
            division = "371503"
            publication_working_days = { penalty = 3 }
            "#,
        );
        let chiping_old = rules.for_division("371523");
        assert_eq!(
            chiping_old.publication_working_days(Category::Penalty),
            3,
            "county rule, old code"
        );
        assert_eq!(
            chiping_old.publication_working_days(Category::Inspection),
            10,
            "city rule"
        );
        assert_eq!(
            chiping_old.publication_working_days(Category::Coercion),
            12,
            "province rule"
        );
        assert_eq!(
            chiping_old.publication_working_days(Category::Licensing),
            7,
            "default"
        );
        assert_eq!(chiping_old.withdrawal_day_kind, DayKind::Working);
        let donga = rules.for_division("371524");
        assert_eq!(donga.publication_working_days(Category::Penalty), 5);
        let jinan = rules.for_division("370102");
        assert_eq!(jinan.publication_working_days(Category::Penalty), 6);
        assert_eq!(
            jinan.publication_working_days(Category::Inspection),
            15,
            "top-level value"
        );
        let beijing = rules.for_division("110105");
        assert_eq!(beijing.publication_working_days(Category::Penalty), 7);
        assert_eq!(beijing.withdrawal_day_kind, DayKind::Calendar);
        let due = rules.publication(&calendar, Category::Penalty, "371524", date("2025-03-03"));
        assert_eq!(due.due.value, date("2025-03-10"), "5 working days");
    }

    #[test]
    fn withdrawal_in_calendar_or_working_days() {
        let calendar = Calendar::embedded();
        let calendar_days = DeadlineRules::default();
        let working_days = rules(r#"withdrawal_day_kind = "working""#);
        // Revoked on Thursday 2025-09-25: calendar days end on Sunday 09-28; working days count
        // Fri 26 (1), Sun 28 worked (2), Mon 29 (3).
        let calendar_due = calendar_days
            .withdrawal(
                &calendar,
                Status::Revoked,
                "371523",
                Some(date("2025-09-25")),
                date("2025-10-20"),
            )
            .unwrap();
        assert_eq!(calendar_due.due.value, date("2025-09-28"));
        assert_eq!(calendar_due.kind, DeadlineKind::Withdrawal);
        let working_due = working_days
            .withdrawal(
                &calendar,
                Status::Revoked,
                "371523",
                Some(date("2025-09-25")),
                date("2025-10-20"),
            )
            .unwrap();
        assert_eq!(working_due.due.value, date("2025-09-29"));
        // Without status_changed_on the clock starts on the day the hub received the version.
        let from_receipt = calendar_days
            .withdrawal(
                &calendar,
                Status::ConfirmedVoid,
                "371523",
                None,
                date("2025-09-30"),
            )
            .unwrap();
        assert_eq!(from_receipt.due.value, date("2025-10-03"));
        let from_receipt = working_days
            .withdrawal(
                &calendar,
                Status::Redecided,
                "371523",
                None,
                date("2025-09-30"),
            )
            .unwrap();
        // Tue 09-30, then 10-01..08 off: Thu 9 (1), Fri 10 (2), Sat 11 worked (3).
        assert_eq!(from_receipt.due.value, date("2025-10-11"));
    }

    #[test]
    fn statuses_that_do_not_withdraw_have_no_withdrawal_deadline() {
        let calendar = Calendar::embedded();
        let rules = DeadlineRules::default();
        for status in [Status::InForce, Status::Changed] {
            assert!(rules
                .withdrawal(&calendar, status, "371523", None, date("2025-01-06"))
                .is_none());
        }
        for status in [
            Status::Revoked,
            Status::ConfirmedIllegal,
            Status::ConfirmedVoid,
            Status::Redecided,
        ] {
            assert!(rules
                .withdrawal(&calendar, status, "371523", None, date("2025-01-06"))
                .is_some());
        }
    }

    #[test]
    fn due_soon_boundaries() {
        let calendar = Calendar::embedded();
        let rules = DeadlineRules::default();
        // Due Wednesday 2025-03-12.
        let deadline =
            rules.publication(&calendar, Category::Penalty, "371523", date("2025-03-03"));
        let state = |today: &str| rules.state(&calendar, &deadline, date(today), None).value;
        assert_eq!(
            state("2025-03-07"),
            DeadlineState::Open,
            "Fri: Mon, Tue, Wed remain (3)"
        );
        assert_eq!(
            state("2025-03-08"),
            DeadlineState::Open,
            "Sat: still 3 working days"
        );
        assert_eq!(
            state("2025-03-09"),
            DeadlineState::Open,
            "Sun: still 3 working days"
        );
        assert_eq!(
            state("2025-03-10"),
            DeadlineState::DueSoon,
            "Mon: Tue, Wed remain (2)"
        );
        assert_eq!(
            state("2025-03-11"),
            DeadlineState::DueSoon,
            "Tue: Wed remains (1)"
        );
        assert_eq!(
            state("2025-03-12"),
            DeadlineState::DueSoon,
            "the due day itself"
        );
        assert_eq!(state("2025-03-13"), DeadlineState::Overdue);
        assert_eq!(
            rules
                .state(
                    &calendar,
                    &deadline,
                    date("2025-03-20"),
                    Some(date("2025-03-14"))
                )
                .value,
            DeadlineState::Met,
            "acknowledged (late) is met"
        );
        assert!(deadline.late(date("2025-03-20"), Some(date("2025-03-14"))));
        assert!(!deadline.late(date("2025-03-20"), Some(date("2025-03-12"))));
        assert!(deadline.late(date("2025-03-13"), None));
        assert!(!deadline.late(date("2025-03-12"), None));
        // A wider window.
        let wide = rules_with_due_soon(0);
        assert_eq!(
            wide.state(&calendar, &deadline, date("2025-03-11"), None)
                .value,
            DeadlineState::Open
        );
        assert_eq!(
            wide.state(&calendar, &deadline, date("2025-03-12"), None)
                .value,
            DeadlineState::DueSoon
        );
    }

    fn rules_with_due_soon(n: u32) -> DeadlineRules {
        rules(&format!("due_soon_working_days = {n}"))
    }

    #[test]
    fn report_lines_have_the_contract_shape() {
        let calendar = Calendar::embedded();
        let rules = DeadlineRules::default();
        let deadline =
            rules.publication(&calendar, Category::Penalty, "371523", date("2025-03-03"));
        let line = rules
            .report_line(
                &calendar,
                "oa:1",
                &deadline,
                date("2025-03-13"),
                None,
                false,
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"record_id":"oa:1","deadline":"publication","due":"2025-03-12","state":"overdue"}"#
        );
        assert!(rules
            .report_line(
                &calendar,
                "oa:1",
                &deadline,
                date("2025-03-03"),
                None,
                false
            )
            .is_none());
        let open = rules
            .report_line(&calendar, "oa:1", &deadline, date("2025-03-03"), None, true)
            .unwrap();
        assert_eq!(open.state, DeadlineState::Open);
        let met = rules.report_line(
            &calendar,
            "oa:1",
            &deadline,
            date("2025-03-13"),
            Some(date("2025-03-05")),
            true,
        );
        assert!(met.is_none(), "--all lists deadlines not yet met");
        // A due day in a year without calendar data says so.
        let estimated =
            rules.publication(&calendar, Category::Penalty, "371523", date("2026-12-28"));
        let line = rules
            .report_line(
                &calendar,
                "oa:2",
                &estimated,
                date("2027-01-05"),
                None,
                false,
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"record_id":"oa:2","deadline":"publication","due":"2027-01-06","state":"due_soon","estimated":true}"#
        );
    }

    #[test]
    fn configuration_errors_name_the_key_and_nothing_is_clamped() {
        let config: DeadlinesConfig = toml::from_str(
            r#"
            publication_working_days = { penalty = 400 }
            due_soon_working_days = 31
            [[region]]
            division = "379999"
            withdrawal_days = 2
            [[region]]
            division = "371500"
            [[region]]
            division = "371503"
            withdrawal_days = 1000
            [[region]]
            division = "371523"
            withdrawal_days = 2
            "#,
        )
        .unwrap();
        let errors: Vec<String> = DeadlineRules::compile(&config)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            vec![
                "publication_working_days.penalty: 400 is more than 365; give a number of days from 0 to 365",
                "region[2].withdrawal_days: 1000 is more than 365; give a number of days from 0 to 365",
                "due_soon_working_days: 31 is more than 30; give 0 to 30",
                "region[0].division: \"379999\" is not a GB/T 2260 division code; give six digits such as \"370000\"",
                "region[1]: sets nothing; give publication_working_days, withdrawal_days or withdrawal_day_kind, or remove it",
                "region[3].division: the area 371523 is already configured by region[2]; merge the two",
            ]
        );
        assert!(toml::from_str::<DeadlinesConfig>("publication_working_day = {}").is_err());
        assert!(
            toml::from_str::<DeadlinesConfig>("publication_working_days = { penalties = 3 }")
                .is_err()
        );
        assert!(toml::from_str::<DeadlinesConfig>(r#"withdrawal_day_kind = "weekdays""#).is_err());
        assert!(toml::from_str::<DeadlinesConfig>("withdrawal_days = -1").is_err());
    }
}
