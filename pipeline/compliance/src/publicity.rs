//! Publicity periods (公示期限): how long a decision stays public, and the exact instant it ends.
//!
//! # Which period
//!
//! 1. The source's `publicity_until` (CF_GSJZQ) wins: the deciding agency knows its local rule.
//! 2. Otherwise a configured period by category and severity. Defaults for penalties:
//!    - **3 months** for a *minor* penalty: only warnings, public criticism and/or a *small* fine.
//!      市场监督管理行政处罚信息公示规定 (总局令第45号, 2021) Art. 13: "仅受到通报批评或者较低数额罚款的行政
//!      处罚信息自公示之日起届满三个月的，停止公示", "较低数额罚款由省级以上市场监督管理部门结合工作实际规定";
//!      发改办财金〔2019〕527号 gives 3 months as the shortest period of ordinary penalties.
//!      **Small** is a fine *below* (not equal to) a threshold per counterparty kind, defaults
//!      5,000 yuan for natural persons (and individual businesses, which 民法典 Art. 54 places among
//!      natural persons) and 50,000 yuan for legal persons and other organisations: the figures the
//!      provinces that have set the rule adopted (闽市监规〔2024〕3号, Fujian; 贵州省市场监督管理局
//!      2023-12-19, both "对自然人处以五千元（不含本数）以下的罚款，对法人或者其他组织处以五万元（不含本数）以下的
//!      罚款"). A fine without an amount is not small.
//!    - **3 years** for a *serious* penalty: one that includes a kind in `serious_penalty_kinds`
//!      (default: revoke licence, order to close, detention, restrict practice) or a `major` decision
//!      (重大执法决定). 527号: serious-dishonesty penalties at most 3 years; 45号令 Art. 13: 3 years for
//!      all the others.
//!    - **1 year** for every other penalty (527号: ordinary penalties at most 1 year).
//! 3. Licensing: until the licence's `valid_to` when given (`licensing_until_validity`), else
//!    `licensing_months` when set, else no end. Other categories: `other_months` per category when
//!    set, else no end (the record stays public until withdrawn for another reason).
//!
//! Periods count from `decided_on` by default (527号: "自行政处罚决定之日起"); with
//! `period_starts_on = "first_published_on"` they count from the first publication (45号令: "自公示之日
//! 起"), and a record not yet published has no end yet. "N months from D" ends on the same day of the
//! month N months later, or the month's last day when it has no such day (民法典 Art. 201–202: the
//! first day is not counted, the period ends on the corresponding day): 2025-01-31 + 1 month →
//! 2025-02-28.
//!
//! # When it ends
//!
//! `publicity_until = D` means public through the end of D **in the configured time zone** (default
//! `Asia/Shanghai`, not UTC) and withdrawn from the first instant of D+1 there: [`expires_at`] gives
//! that instant in UTC so the hub can schedule its next sweep exactly, [`expired`] compares with "now".

use chrono::{DateTime, Days, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use dhub_schema::{Amount, Category, CounterpartyKind, PenaltyKind, Record};
use serde::{Deserialize, Serialize};

const MAX_MONTHS: u32 = 1200;

/// Which day a configured period counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStart {
    DecidedOn,
    FirstPublishedOn,
}

/// Small-fine thresholds in yuan (decimal strings, exclusive: a fine below the figure is small).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmallFineBelowYuan {
    /// Natural persons and individual businesses (default "5000.00").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_person: Option<String>,
    /// Legal persons and other organisations (default "50000.00").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_person: Option<String>,
}

/// Months per category outside licensing and penalties; absent: no end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherMonths {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coercion: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levy: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<u32>,
}

/// The publicity rules as configured (all keys optional; defaults in the module doc).
///
/// ```toml
/// time_zone = "Asia/Shanghai"
/// period_starts_on = "decided_on"          # or "first_published_on"
/// minor_penalty_months = 3
/// penalty_months = 12
/// serious_penalty_months = 36
/// small_fine_below_yuan = { natural_person = "5000.00", legal_person = "50000.00" }
/// serious_penalty_kinds = ["revoke_license", "close", "detention", "restrict_practice"]
/// major_is_serious = true
/// licensing_until_validity = true
/// licensing_months = 36                    # when the licence gives no validity; absent: no end
/// other_months = { inspection = 12 }       # coercion, levy, fee, inspection; absent: no end
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicityConfig {
    /// IANA time zone in which a publicity day ends (default "Asia/Shanghai").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `decided_on` (default) or `first_published_on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_starts_on: Option<PeriodStart>,
    /// Warnings, public criticism, small fines (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor_penalty_months: Option<u32>,
    /// Other penalties (default 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty_months: Option<u32>,
    /// Serious penalties and major decisions (default 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serious_penalty_months: Option<u32>,
    #[serde(default)]
    pub small_fine_below_yuan: SmallFineBelowYuan,
    /// Penalty kinds that make a penalty serious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serious_penalty_kinds: Option<Vec<PenaltyKind>>,
    /// Whether a `major` penalty is serious (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major_is_serious: Option<bool>,
    /// Whether a licence is public until its `valid_to` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensing_until_validity: Option<bool>,
    /// Licensing period when the licence gives no validity (default: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensing_months: Option<u32>,
    #[serde(default)]
    pub other_months: OtherMonths,
}

/// A configuration value that cannot be used; `key` is relative to the publicity table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct PublicityConfigError {
    pub key: String,
    pub message: String,
}

/// The validated publicity rules.
#[derive(Debug, Clone)]
pub struct PublicityRules {
    time_zone: Tz,
    starts_on: PeriodStart,
    minor_months: u32,
    standard_months: u32,
    serious_months: u32,
    small_natural: Amount,
    small_legal: Amount,
    serious_kinds: Vec<PenaltyKind>,
    major_is_serious: bool,
    licensing_until_validity: bool,
    licensing_months: Option<u32>,
    other: OtherMonths,
}

impl Default for PublicityRules {
    fn default() -> Self {
        PublicityRules::compile(&PublicityConfig::default()).expect("the defaults are valid")
    }
}

impl PublicityRules {
    /// Validates the configuration; every problem is an error, nothing is clamped.
    pub fn compile(config: &PublicityConfig) -> Result<PublicityRules, Vec<PublicityConfigError>> {
        let mut errors = Vec::new();
        let time_zone_text = config.time_zone.as_deref().unwrap_or("Asia/Shanghai");
        let time_zone = time_zone_text.parse::<Tz>().unwrap_or_else(|_| {
            errors.push(PublicityConfigError {
                key: "time_zone".into(),
                message: format!(
                    "{time_zone_text:?} is not an IANA time zone; give a name such as \"Asia/Shanghai\""
                ),
            });
            Tz::Asia__Shanghai
        });
        // An out-of-range value is reported and then treated as absent, so that every error is listed.
        let mut months = |key: &str, value: Option<u32>| -> Option<u32> {
            match value {
                Some(n) if n == 0 || n >= MAX_MONTHS => {
                    errors.push(PublicityConfigError {
                        key: key.into(),
                        message: format!(
                            "{n} months is out of range; give 1 to {}",
                            MAX_MONTHS - 1
                        ),
                    });
                    None
                }
                other => other,
            }
        };
        let minor_months = months("minor_penalty_months", config.minor_penalty_months).unwrap_or(3);
        let standard_months = months("penalty_months", config.penalty_months).unwrap_or(12);
        let serious_months =
            months("serious_penalty_months", config.serious_penalty_months).unwrap_or(36);
        let licensing_months = months("licensing_months", config.licensing_months);
        let other = OtherMonths {
            coercion: months("other_months.coercion", config.other_months.coercion),
            levy: months("other_months.levy", config.other_months.levy),
            fee: months("other_months.fee", config.other_months.fee),
            inspection: months("other_months.inspection", config.other_months.inspection),
        };
        let mut yuan = |key: &str, value: &Option<String>, default: i64| -> Amount {
            match value {
                None => Amount::from_fen(default * 100),
                Some(text) => Amount::parse_yuan(text).unwrap_or_else(|problem| {
                    errors.push(PublicityConfigError {
                        key: key.into(),
                        message: format!("{text:?} {problem}"),
                    });
                    Amount::from_fen(default * 100)
                }),
            }
        };
        let small_natural = yuan(
            "small_fine_below_yuan.natural_person",
            &config.small_fine_below_yuan.natural_person,
            5_000,
        );
        let small_legal = yuan(
            "small_fine_below_yuan.legal_person",
            &config.small_fine_below_yuan.legal_person,
            50_000,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        if !(minor_months <= standard_months && standard_months <= serious_months) {
            return Err(vec![PublicityConfigError {
                key: "minor_penalty_months".into(),
                message: format!(
                    "periods must not shrink with severity: minor {minor_months} ≤ penalty \
                     {standard_months} ≤ serious {serious_months} months"
                ),
            }]);
        }
        Ok(PublicityRules {
            time_zone,
            starts_on: config.period_starts_on.unwrap_or(PeriodStart::DecidedOn),
            minor_months,
            standard_months,
            serious_months,
            small_natural,
            small_legal,
            serious_kinds: config.serious_penalty_kinds.clone().unwrap_or_else(|| {
                vec![
                    PenaltyKind::RevokeLicense,
                    PenaltyKind::Close,
                    PenaltyKind::Detention,
                    PenaltyKind::RestrictPractice,
                ]
            }),
            major_is_serious: config.major_is_serious.unwrap_or(true),
            licensing_until_validity: config.licensing_until_validity.unwrap_or(true),
            licensing_months,
            other,
        })
    }

    /// The time zone in which publicity days end.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// How long a decision stays public.
    pub fn publicity(&self, facts: &PublicityFacts) -> Publicity {
        if let Some(until) = facts.publicity_until {
            return Publicity {
                until: Some(until),
                basis: PublicityBasis::Source,
            };
        }
        let start = match self.starts_on {
            PeriodStart::DecidedOn => facts.decided_on,
            PeriodStart::FirstPublishedOn => match facts.first_published_on {
                Some(date) => date,
                None => {
                    return Publicity {
                        until: None,
                        basis: PublicityBasis::AwaitingPublication,
                    }
                }
            },
        };
        let after = |months: u32, basis| Publicity {
            until: Some(
                start
                    .checked_add_months(Months::new(months))
                    .unwrap_or(NaiveDate::MAX),
            ),
            basis,
        };
        let no_end = Publicity {
            until: None,
            basis: PublicityBasis::NoEnd,
        };
        match facts.category {
            Category::Penalty => match self.severity(facts) {
                Severity::Minor => after(self.minor_months, PublicityBasis::MinorPenalty),
                Severity::Standard => after(self.standard_months, PublicityBasis::Penalty),
                Severity::Serious => after(self.serious_months, PublicityBasis::SeriousPenalty),
            },
            Category::Licensing => match (facts.license_valid_to, self.licensing_months) {
                (Some(valid_to), _) if self.licensing_until_validity => Publicity {
                    until: Some(valid_to),
                    basis: PublicityBasis::LicenceValidity,
                },
                (_, Some(months)) => after(months, PublicityBasis::CategoryPeriod),
                _ => no_end,
            },
            Category::Coercion | Category::Levy | Category::Fee | Category::Inspection => {
                let months = match facts.category {
                    Category::Coercion => self.other.coercion,
                    Category::Levy => self.other.levy,
                    Category::Fee => self.other.fee,
                    _ => self.other.inspection,
                };
                months.map_or(no_end, |m| after(m, PublicityBasis::CategoryPeriod))
            }
        }
    }

    fn severity(&self, facts: &PublicityFacts) -> Severity {
        let serious = (self.major_is_serious && facts.major)
            || facts
                .penalty_kinds
                .iter()
                .any(|k| self.serious_kinds.contains(k));
        if serious {
            return Severity::Serious;
        }
        let threshold = match facts.counterparty_kind {
            CounterpartyKind::NaturalPerson | CounterpartyKind::IndividualBusiness => {
                self.small_natural
            }
            CounterpartyKind::LegalPerson => self.small_legal,
        };
        let minor = !facts.penalty_kinds.is_empty()
            && facts.penalty_kinds.iter().all(|kind| match kind {
                PenaltyKind::Warning | PenaltyKind::PublicCriticism => true,
                PenaltyKind::Fine => facts.fine_amount.is_some_and(|amount| amount < threshold),
                _ => false,
            });
        if minor {
            Severity::Minor
        } else {
            Severity::Standard
        }
    }

    /// [`expires_at`] in the configured zone.
    pub fn expires_at(&self, until: NaiveDate) -> DateTime<Utc> {
        expires_at(until, self.time_zone)
    }

    /// [`expired`] in the configured zone.
    pub fn expired(&self, until: NaiveDate, now: DateTime<Utc>) -> bool {
        expired(until, now, self.time_zone)
    }

    /// [`local_date`] in the configured zone: "today" for deadlines and sweeps.
    pub fn local_date(&self, now: DateTime<Utc>) -> NaiveDate {
        local_date(now, self.time_zone)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Minor,
    Standard,
    Serious,
}

/// What the period depends on, read from a record (or given directly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicityFacts {
    pub category: Category,
    pub penalty_kinds: Vec<PenaltyKind>,
    pub fine_amount: Option<Amount>,
    pub counterparty_kind: CounterpartyKind,
    pub major: bool,
    pub decided_on: NaiveDate,
    /// The source's own end of publicity, which wins.
    pub publicity_until: Option<NaiveDate>,
    pub license_valid_to: Option<NaiveDate>,
    /// The local date the platforms first acknowledged the record, if they have.
    pub first_published_on: Option<NaiveDate>,
}

impl PublicityFacts {
    pub fn from_record(record: &Record, first_published_on: Option<NaiveDate>) -> PublicityFacts {
        PublicityFacts {
            category: record.category,
            penalty_kinds: record.penalty_kinds.clone(),
            fine_amount: record.fine_amount,
            counterparty_kind: record.counterparty.kind,
            major: record.major,
            decided_on: record.decided_on,
            publicity_until: record.publicity_until,
            license_valid_to: record.license.as_ref().and_then(|l| l.valid_to),
            first_published_on,
        }
    }
}

/// Why a record has the period it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicityBasis {
    /// The source's `publicity_until`.
    Source,
    MinorPenalty,
    Penalty,
    SeriousPenalty,
    /// The licence's `valid_to`.
    LicenceValidity,
    /// A configured period for the category.
    CategoryPeriod,
    /// No period applies: public until withdrawn for another reason.
    NoEnd,
    /// The period counts from the first publication, which has not happened yet.
    AwaitingPublication,
}

/// The end of a record's publicity: the last public day, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publicity {
    pub until: Option<NaiveDate>,
    pub basis: PublicityBasis,
}

/// The first instant (UTC) at which a record public through `until` is no longer public: midnight
/// at the start of the next day in `zone`. Where a zone skips that midnight (a DST change at 00:00),
/// the first instant that exists that day.
pub fn expires_at(until: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let Some(next_day) = until.checked_add_days(Days::new(1)) else {
        return DateTime::<Utc>::MAX_UTC;
    };
    let mut local = next_day.and_time(NaiveTime::MIN);
    // At most a few hours are ever skipped; a day has 1440 minutes.
    for _ in 0..1440 {
        if let Some(instant) = zone.from_local_datetime(&local).earliest() {
            return instant.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(1);
    }
    DateTime::<Utc>::MAX_UTC
}

/// Whether a record public through `until` has expired at `now`.
pub fn expired(until: NaiveDate, now: DateTime<Utc>, zone: Tz) -> bool {
    now >= expires_at(until, zone)
}

/// The calendar date of `now` in `zone`.
pub fn local_date(now: DateTime<Utc>, zone: Tz) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn penalty(
        kinds: &[PenaltyKind],
        fine: Option<&str>,
        kind: CounterpartyKind,
    ) -> PublicityFacts {
        PublicityFacts {
            category: Category::Penalty,
            penalty_kinds: kinds.to_vec(),
            fine_amount: fine.map(|f| Amount::parse_yuan(f).unwrap()),
            counterparty_kind: kind,
            major: false,
            decided_on: date("2025-01-15"),
            publicity_until: None,
            license_valid_to: None,
            first_published_on: Some(date("2025-01-20")),
        }
    }

    #[test]
    fn penalty_periods_by_severity() {
        use CounterpartyKind::*;
        use PenaltyKind::*;
        let rules = PublicityRules::default();
        let until = |facts: &PublicityFacts| {
            let p = rules.publicity(facts);
            (p.until.unwrap().to_string(), p.basis)
        };
        let minor = ("2025-04-15".to_string(), PublicityBasis::MinorPenalty);
        let standard = ("2026-01-15".to_string(), PublicityBasis::Penalty);
        let serious = ("2028-01-15".to_string(), PublicityBasis::SeriousPenalty);
        assert_eq!(until(&penalty(&[Warning], None, LegalPerson)), minor);
        assert_eq!(
            until(&penalty(&[PublicCriticism, Warning], None, NaturalPerson)),
            minor
        );
        // Thresholds are exclusive and depend on the counterparty.
        assert_eq!(
            until(&penalty(&[Fine], Some("4999.99"), NaturalPerson)),
            minor
        );
        assert_eq!(
            until(&penalty(&[Fine], Some("5000.00"), NaturalPerson)),
            standard
        );
        assert_eq!(
            until(&penalty(&[Fine], Some("4999.99"), IndividualBusiness)),
            minor
        );
        assert_eq!(
            until(&penalty(&[Fine], Some("49999.99"), LegalPerson)),
            minor
        );
        assert_eq!(
            until(&penalty(&[Fine], Some("50000"), LegalPerson)),
            standard
        );
        assert_eq!(
            until(&penalty(&[Fine], None, LegalPerson)),
            standard,
            "no amount: not small"
        );
        assert_eq!(
            until(&penalty(&[Warning, ConfiscateGains], None, LegalPerson)),
            standard
        );
        assert_eq!(
            until(&penalty(&[Fine, SuspendBusiness], Some("100"), LegalPerson)),
            standard
        );
        for kind in [RevokeLicense, Close, Detention, RestrictPractice] {
            assert_eq!(
                until(&penalty(&[Fine, kind], Some("100"), LegalPerson)),
                serious,
                "{kind:?}"
            );
        }
        let mut major = penalty(&[Warning], None, LegalPerson);
        major.major = true;
        assert_eq!(until(&major), serious, "a major decision is serious");
        assert_eq!(
            until(&penalty(&[], None, LegalPerson)),
            standard,
            "no kinds: not minor"
        );
    }

    #[test]
    fn the_source_period_wins_and_months_end_on_the_corresponding_day() {
        let rules = PublicityRules::default();
        let mut facts = penalty(
            &[PenaltyKind::RevokeLicense],
            None,
            CounterpartyKind::LegalPerson,
        );
        facts.publicity_until = Some(date("2025-02-01"));
        assert_eq!(
            rules.publicity(&facts),
            Publicity {
                until: Some(date("2025-02-01")),
                basis: PublicityBasis::Source
            }
        );
        let mut facts = penalty(&[PenaltyKind::Warning], None, CounterpartyKind::LegalPerson);
        facts.decided_on = date("2024-11-30");
        assert_eq!(
            rules.publicity(&facts).until,
            Some(date("2025-02-28")),
            "no Feb 30: month end"
        );
    }

    #[test]
    fn periods_can_count_from_the_first_publication() {
        let rules = PublicityRules::compile(
            &toml::from_str(r#"period_starts_on = "first_published_on""#).unwrap(),
        )
        .unwrap();
        let mut facts = penalty(&[PenaltyKind::Warning], None, CounterpartyKind::LegalPerson);
        assert_eq!(rules.publicity(&facts).until, Some(date("2025-04-20")));
        facts.first_published_on = None;
        assert_eq!(
            rules.publicity(&facts),
            Publicity {
                until: None,
                basis: PublicityBasis::AwaitingPublication
            }
        );
    }

    #[test]
    fn licensing_and_other_categories() {
        let config: PublicityConfig =
            toml::from_str("licensing_months = 24\nother_months = { inspection = 6 }").unwrap();
        let rules = PublicityRules::compile(&config).unwrap();
        let mut facts = penalty(&[], None, CounterpartyKind::LegalPerson);
        facts.category = Category::Licensing;
        facts.license_valid_to = Some(date("2030-06-30"));
        assert_eq!(
            rules.publicity(&facts),
            Publicity {
                until: Some(date("2030-06-30")),
                basis: PublicityBasis::LicenceValidity
            }
        );
        facts.license_valid_to = None;
        assert_eq!(rules.publicity(&facts).until, Some(date("2027-01-15")));
        assert_eq!(
            PublicityRules::default().publicity(&facts).basis,
            PublicityBasis::NoEnd
        );
        facts.category = Category::Inspection;
        assert_eq!(rules.publicity(&facts).until, Some(date("2025-07-15")));
        facts.category = Category::Levy;
        assert_eq!(
            rules.publicity(&facts),
            Publicity {
                until: None,
                basis: PublicityBasis::NoEnd
            }
        );
    }

    #[test]
    fn expiry_is_midnight_in_shanghai_not_utc() {
        let until = date("2025-06-30");
        let shanghai = Tz::Asia__Shanghai;
        // Midnight 07-01 in Shanghai is 16:00 UTC on 06-30.
        let expiry = expires_at(until, shanghai);
        assert_eq!(expiry.to_rfc3339(), "2025-06-30T16:00:00+00:00");
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert!(
            !expired(until, at("2025-06-30T15:59:59Z"), shanghai),
            "23:59:59 on D there"
        );
        assert!(
            expired(until, at("2025-06-30T16:00:00Z"), shanghai),
            "16:00 UTC on D is D+1 there"
        );
        // The same instant in UTC would still be day D.
        assert!(!expired(until, at("2025-06-30T16:00:00Z"), Tz::UTC));
        assert!(expired(until, at("2025-07-01T00:00:00Z"), Tz::UTC));
        assert_eq!(
            local_date(at("2025-06-30T16:00:00Z"), shanghai),
            date("2025-07-01")
        );
        assert_eq!(
            local_date(at("2025-06-30T15:59:59Z"), shanghai),
            date("2025-06-30")
        );
        let rules = PublicityRules::default();
        assert_eq!(rules.time_zone(), shanghai);
        assert_eq!(rules.expires_at(until), expiry);
        assert!(rules.expired(until, expiry));
    }

    #[test]
    fn a_midnight_skipped_by_daylight_saving_expires_at_the_first_instant_of_the_day() {
        // America/Santiago skipped 2022-09-11 00:00–01:00 local (clocks went to 01:00).
        let zone: Tz = "America/Santiago".parse().unwrap();
        let expiry = expires_at(date("2022-09-10"), zone);
        assert_eq!(
            expiry.with_timezone(&zone).to_rfc3339(),
            "2022-09-11T01:00:00-03:00"
        );
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let config: PublicityConfig = toml::from_str(
            r#"
            time_zone = "Asia/Beijing"
            minor_penalty_months = 0
            small_fine_below_yuan = { natural_person = "5e3" }
            other_months = { fee = 5000 }
            "#,
        )
        .unwrap();
        let errors: Vec<String> = PublicityRules::compile(&config)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            vec![
                "time_zone: \"Asia/Beijing\" is not an IANA time zone; give a name such as \"Asia/Shanghai\"",
                "minor_penalty_months: 0 months is out of range; give 1 to 1199",
                "other_months.fee: 5000 months is out of range; give 1 to 1199",
                "small_fine_below_yuan.natural_person: \"5e3\" must be a decimal number of yuan such as \"5000.00\"",
            ]
        );
        let shrinking: PublicityConfig = toml::from_str("minor_penalty_months = 24").unwrap();
        assert!(PublicityRules::compile(&shrinking).unwrap_err()[0]
            .message
            .contains("must not shrink"));
        assert!(toml::from_str::<PublicityConfig>("serious_penalty_kinds = [\"jail\"]").is_err());
        assert!(toml::from_str::<PublicityConfig>("small_fine_below = {}").is_err());
        assert!(toml::from_str::<PublicityConfig>("other_months = { penalty = 3 }").is_err());
    }
}
