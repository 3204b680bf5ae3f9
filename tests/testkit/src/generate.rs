//! Deterministic synthetic cases for the two department systems.
//!
//! One seed gives the same cases on every machine and every run (the sample exports under
//! `mappings/samples/` are committed output of this module). Each system draws from its own forked
//! stream, so changing the market-supervision count does not change a single finance case.
//!
//! "Bad" cases are planted on purpose, one withholding reason each, so a test can count them:
//! `BadCases` says how many per system.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate};

use crate::case::{
    Agency, Case, Category, Classification, Counterparty, CounterpartyKind, LegalReview, License,
    Mention, MentionKind, PenaltyKind, Person, Procedure, Status, System, CHIPING_FINANCE,
    DONGE_MARKET, LIAOCHENG_MARKET,
};
use crate::ids;
use crate::rng::SplitMix64;
use crate::vocab::{self, ViolationSpec};

/// How many cases of each withholding kind to plant in one system's cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BadCases {
    /// `classification = secret` (withheld as `classified`).
    pub secret: usize,
    /// `classification = internal` (withheld as `classified` too).
    pub internal: usize,
    /// Natural-person counterparties under 18 on the decision date.
    pub minors: usize,
    /// Major decisions with no legal review or a failed one.
    pub majors_without_review: usize,
}

impl BadCases {
    pub const NONE: BadCases = BadCases {
        secret: 0,
        internal: 0,
        minors: 0,
        majors_without_review: 0,
    };

    pub fn total(&self) -> usize {
        self.secret + self.internal + self.minors + self.majors_without_review
    }
}

/// Everything the generator varies. `Default` is the shape of the demo samples.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    pub seed: u64,
    /// Cases of 茌平县财政局 (finance-oa).
    pub finance_cases: usize,
    /// Cases of the market-supervision system (东阿县 and 聊城市).
    pub market_cases: usize,
    pub finance_bad: BadCases,
    pub market_bad: BadCases,
    /// Share of market cases decided by 聊城市市场监督管理局 rather than 东阿县's bureau.
    pub market_city_fraction: f64,
    /// For each natural person: the chance that the facts mention the ID number, and separately the
    /// phone; half of it for the home address and for a legal representative's or operator's phone.
    pub facts_pii_fraction: f64,
    /// Decision dates are drawn uniformly from this window (inclusive).
    pub decided_from: NaiveDate,
    pub decided_to: NaiveDate,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            // Picked among the first hundred seeds so that the committed samples show every feature:
            // published natural persons with personal data in the facts in both systems, and a
            // compound surname among them.
            seed: 60,
            finance_cases: 30,
            market_cases: 32,
            finance_bad: BadCases {
                secret: 1,
                internal: 0,
                minors: 0,
                majors_without_review: 1,
            },
            market_bad: BadCases {
                secret: 1,
                internal: 1,
                minors: 1,
                majors_without_review: 1,
            },
            market_city_fraction: 0.15,
            facts_pii_fraction: 0.5,
            // Recent decisions, so the publicity periods (one year or more) have not yet run out
            // when the demo runs and nothing is withdrawn as `publicity_expired` straight away.
            decided_from: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default(),
            decided_to: NaiveDate::from_ymd_opt(2026, 10, 30).unwrap_or_default(),
        }
    }
}

/// A configuration the generator cannot honour. Retrying does not help: change the configuration.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GenerateError {
    #[error("{system}: {bad} bad cases asked for but only {cases} cases generated; lower the bad-case counts or raise the case count")]
    TooManyBadCases {
        system: &'static str,
        bad: usize,
        cases: usize,
    },
    #[error(
        "{system}: {cases} cases do not fit the case-number format (at most {max}); generate fewer"
    )]
    TooManyCases {
        system: &'static str,
        cases: usize,
        max: usize,
    },
    #[error("{name} must be between 0 and 1, got {value}")]
    FractionOutOfRange { name: &'static str, value: f64 },
    #[error("the decision window is empty ({from} is after {to}); swap the dates")]
    EmptyWindow { from: NaiveDate, to: NaiveDate },
}

/// Most cases one system may have: the finance key has a four-digit sequence per category and year.
pub const MAX_CASES_PER_SYSTEM: usize = 5000;

/// Generates the cases of both systems: finance-oa first, then market-supervision, each sorted by key.
pub fn generate(config: &GenConfig) -> Result<Vec<Case>, GenerateError> {
    check_fraction("market_city_fraction", config.market_city_fraction)?;
    check_fraction("facts_pii_fraction", config.facts_pii_fraction)?;
    if config.decided_from > config.decided_to {
        return Err(GenerateError::EmptyWindow {
            from: config.decided_from,
            to: config.decided_to,
        });
    }
    for (system, cases, bad) in [
        (System::FinanceOa, config.finance_cases, config.finance_bad),
        (
            System::MarketSupervision,
            config.market_cases,
            config.market_bad,
        ),
    ] {
        if cases > MAX_CASES_PER_SYSTEM {
            return Err(GenerateError::TooManyCases {
                system: system.source_name(),
                cases,
                max: MAX_CASES_PER_SYSTEM,
            });
        }
        if bad.total() > cases {
            return Err(GenerateError::TooManyBadCases {
                system: system.source_name(),
                bad: bad.total(),
                cases,
            });
        }
    }

    let mut root = SplitMix64::new(config.seed);
    let mut finance_rng = root.fork();
    let mut market_rng = root.fork();
    let mut generator = Generator {
        config,
        used: HashSet::new(),
        license_seq: BTreeMap::new(),
    };
    let mut cases = generator.system(&mut finance_rng, System::FinanceOa);
    cases.extend(generator.system(&mut market_rng, System::MarketSupervision));
    Ok(cases)
}

/// Copies of about `fraction` of `cases` (rounded), chosen among the published ones, with their
/// status changed as a later export would carry them: mostly `revoked`, every fourth one
/// `confirmed_illegal`. Sorted by key.
pub fn revoke(
    cases: &[Case],
    fraction: f64,
    seed: u64,
    on: NaiveDate,
) -> Result<Vec<Case>, GenerateError> {
    check_fraction("revoke fraction", fraction)?;
    let wanted = (fraction * cases.len() as f64).round() as usize;
    let mut candidates: Vec<&Case> = cases
        .iter()
        .filter(|case| case.expected_outcome().is_published())
        .collect();
    SplitMix64::new(seed ^ 0x5EED_0F2E_70CA).shuffle(&mut candidates);
    candidates.truncate(wanted);
    candidates.sort_by(|a, b| (a.system, &a.key).cmp(&(b.system, &b.key)));
    Ok(candidates
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let status = if i % 4 == 3 {
                Status::ConfirmedIllegal
            } else {
                Status::Revoked
            };
            case.with_status(status, on)
        })
        .collect())
}

/// The revocation export that follows a first export of `cases` (both systems), as `gen-exports`
/// writes it and the demo ships it: about `fraction` of each system's published cases, changed a week
/// after the later of the two systems' first exports (`fallback_day` when there is none). Finance
/// cases first, then market cases.
pub fn revocation_export(
    cases: &[Case],
    fraction: f64,
    seed: u64,
    fallback_day: NaiveDate,
) -> Result<Vec<Case>, GenerateError> {
    let of = |system| {
        cases
            .iter()
            .filter(|c| c.system == system)
            .cloned()
            .collect::<Vec<Case>>()
    };
    let (finance, market) = (of(System::FinanceOa), of(System::MarketSupervision));
    let first_day = [
        crate::export::export_time(&finance),
        crate::export::export_time(&market),
    ]
    .into_iter()
    .flatten()
    .map(|t| t.date())
    .max();
    let revoked_on = first_day.unwrap_or(fallback_day) + chrono::Duration::days(7);
    let mut later = revoke(&finance, fraction, seed, revoked_on)?;
    later.extend(revoke(&market, fraction, seed.wrapping_add(1), revoked_on)?);
    Ok(later)
}

/// The cases as a platform should hold them after `later` has been applied on top of `earlier`:
/// a case in `later` replaces the one with the same record id.
pub fn apply_export(earlier: &[Case], later: &[Case]) -> Vec<Case> {
    let mut by_id: BTreeMap<String, Case> = earlier
        .iter()
        .map(|case| (case.record_id(), case.clone()))
        .collect();
    for case in later {
        by_id.insert(case.record_id(), case.clone());
    }
    by_id.into_values().collect()
}

impl Case {
    /// This case with a new status as of `on`, with the reason written into the remarks the way
    /// the department systems do.
    pub fn with_status(&self, status: Status, on: NaiveDate) -> Case {
        let date = cn_date(on);
        let remarks = match status {
            Status::InForce => String::new(),
            Status::Changed => format!("该决定已于{date}依法变更。"),
            Status::Revoked => format!("该决定已于{date}经行政复议决定撤销。"),
            Status::ConfirmedIllegal => format!("该决定已于{date}经人民法院判决确认违法。"),
            Status::ConfirmedVoid => format!("该决定已于{date}经人民法院判决确认无效。"),
            Status::Redecided => format!("该决定已于{date}被撤销并重新作出。"),
        };
        Case {
            status,
            status_changed_on: Some(on),
            remarks,
            ..self.clone()
        }
    }
}

/// `2026年6月12日`: the finance OA's date format (no zero padding, as such systems print dates).
pub fn cn_date(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

fn check_fraction(name: &'static str, value: f64) -> Result<(), GenerateError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(GenerateError::FractionOutOfRange { name, value })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Normal,
    Secret,
    Internal,
    Minor,
    MajorWithoutReview,
}

/// The categories the generator writes (levy and fee have no cases in these two systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Penalty,
    Licensing,
    Inspection,
    Coercion,
}

struct Generator<'c> {
    config: &'c GenConfig,
    /// Names, ID numbers and codes already handed out: every person and company is distinct.
    used: HashSet<String>,
    license_seq: BTreeMap<&'static str, u32>,
}

impl Generator<'_> {
    fn system(&mut self, rng: &mut SplitMix64, system: System) -> Vec<Case> {
        let (count, bad) = match system {
            System::FinanceOa => (self.config.finance_cases, self.config.finance_bad),
            System::MarketSupervision => (self.config.market_cases, self.config.market_bad),
        };
        let mut agencies: Vec<&'static Agency> = match system {
            System::FinanceOa => vec![&CHIPING_FINANCE; count],
            System::MarketSupervision => {
                let city =
                    ((count as f64 * self.config.market_city_fraction).round() as usize).min(count);
                let mut list = vec![&LIAOCHENG_MARKET; city];
                list.extend(std::iter::repeat_n(&DONGE_MARKET, count - city));
                list
            }
        };
        rng.shuffle(&mut agencies);
        let mut flavors = Vec::with_capacity(count);
        flavors.extend(std::iter::repeat_n(Flavor::Secret, bad.secret));
        flavors.extend(std::iter::repeat_n(Flavor::Internal, bad.internal));
        flavors.extend(std::iter::repeat_n(Flavor::Minor, bad.minors));
        flavors.extend(std::iter::repeat_n(
            Flavor::MajorWithoutReview,
            bad.majors_without_review,
        ));
        flavors.resize(count, Flavor::Normal);
        rng.shuffle(&mut flavors);

        let mut cases: Vec<Case> = agencies
            .into_iter()
            .zip(flavors)
            .map(|(agency, flavor)| self.case(rng, agency, flavor))
            .collect();
        assign_numbers(rng, &mut cases);
        cases.sort_by(|a, b| a.key.cmp(&b.key));
        cases
    }

    fn case(&mut self, rng: &mut SplitMix64, agency: &'static Agency, flavor: Flavor) -> Case {
        let window = (self.config.decided_to - self.config.decided_from)
            .num_days()
            .max(0) as u64;
        let decided_on = self.config.decided_from + Duration::days(rng.below(window + 1) as i64);
        let kind = match flavor {
            Flavor::Minor | Flavor::MajorWithoutReview => Kind::Penalty,
            _ => pick_kind(rng, agency.system),
        };
        let mut case = match kind {
            Kind::Penalty => self.penalty(rng, agency, decided_on, flavor),
            Kind::Licensing => self.licensing(rng, agency, decided_on),
            Kind::Inspection => self.inspection(rng, agency, decided_on),
            Kind::Coercion => self.coercion(rng, agency, decided_on),
        };
        case.classification = match flavor {
            Flavor::Secret => Classification::Secret,
            Flavor::Internal => Classification::Internal,
            _ => Classification::Public,
        };
        case
    }

    fn penalty(
        &mut self,
        rng: &mut SplitMix64,
        agency: &'static Agency,
        decided_on: NaiveDate,
        flavor: Flavor,
    ) -> Case {
        let system = agency.system;
        let major = match flavor {
            Flavor::MajorWithoutReview => true,
            Flavor::Minor => false,
            _ => rng.chance(0.1),
        };
        let kind = if flavor == Flavor::Minor {
            CounterpartyKind::NaturalPerson
        } else if major {
            CounterpartyKind::LegalPerson
        } else {
            pick_counterparty_kind(rng, system, Kind::Penalty)
        };
        let specs = match system {
            System::FinanceOa => vocab::FINANCE_VIOLATIONS,
            System::MarketSupervision => vocab::MARKET_VIOLATIONS,
        };
        let natural = kind == CounterpartyKind::NaturalPerson;
        let mut candidates: Vec<&ViolationSpec> = specs
            .iter()
            .filter(|spec| {
                if natural {
                    spec.person_fine.is_some()
                } else {
                    spec.for_units
                }
            })
            .collect();
        if flavor == Flavor::Minor && candidates.iter().any(|spec| !spec.for_units) {
            // A minor is typically a street vendor without a licence.
            candidates.retain(|spec| !spec.for_units);
        }
        if major && candidates.iter().any(|spec| !spec.major_kinds.is_empty()) {
            candidates.retain(|spec| !spec.major_kinds.is_empty());
        }
        let spec = *rng.pick(&candidates).unwrap_or(&&specs[0]);

        let minor = flavor == Flavor::Minor;
        let counterparty = self.counterparty(rng, agency, kind, decided_on, minor);

        let range = if natural {
            spec.person_fine.unwrap_or(spec.unit_fine)
        } else {
            spec.unit_fine
        };
        let warning_only = !major && spec.warning_alone && rng.chance(0.5);
        let mut kinds = Vec::new();
        let mut confiscated = None;
        let fine = (!warning_only).then(|| {
            let (low, high) = if major {
                (range.1 * 6 / 10, range.1)
            } else {
                (range.0, range.0 + (range.1 - range.0) / 2)
            };
            let step = if high >= 2000 { 100 } else { 10 };
            round_to(rng.between(low, high), step).clamp(range.0, range.1)
        });
        // The facts quote the goods' value and the illegal gains; they must agree with the fine
        // (where the statute sets it as a multiple of the value) and with the confiscation.
        let value = match (spec.value_multiple, fine) {
            (Some((low, high)), Some(fine)) => round_to(fine / rng.between(low, high), 10),
            _ => round_to(rng.between(300, 9800), 10),
        };
        let gains = spec
            .gains
            .then(|| round_to(value * rng.between(10, 60) / 100, 10).max(10));
        if warning_only {
            kinds.push(PenaltyKind::Warning);
        } else {
            if !major && rng.chance(0.3) {
                kinds.push(PenaltyKind::Warning);
            }
            kinds.push(PenaltyKind::Fine);
            if let Some(gains) = gains {
                if major || rng.chance(0.7) {
                    kinds.push(PenaltyKind::ConfiscateGains);
                    confiscated = Some(gains);
                }
            }
            if major {
                kinds.extend_from_slice(spec.major_kinds);
            }
        }
        // 行政处罚法 Art. 51: warnings and fines up to 200 yuan (persons) / 3000 yuan (units) may be
        // decided on the spot under the simple procedure.
        let simple_limit = if natural { 200 } else { 3000 };
        let simple_allowed = kinds
            .iter()
            .all(|k| matches!(k, PenaltyKind::Warning | PenaltyKind::Fine))
            && fine.is_none_or(|f| f <= simple_limit);
        let procedure = if !major && simple_allowed && (warning_only || rng.chance(0.7)) {
            Procedure::Simple
        } else {
            Procedure::Ordinary
        };

        let mut mentions = Vec::new();
        let party = self.party_clause(rng, &counterparty, "当事人", &mut mentions);
        let filler = Filler::new(rng, spec, decided_on, fine, value, gains, agency);
        let mut facts = format!("经查，{party}，");
        if natural && system == System::FinanceOa {
            let employer = self.company_name(rng, agency.home_county, vocab::FINANCE_INDUSTRIES);
            facts.push_str(&format!("系{employer}会计人员，"));
        }
        facts.push_str(&filler.fill(spec.body));
        if rng.chance(0.6) {
            let evidence = match system {
                System::FinanceOa => vocab::FINANCE_EVIDENCE,
                System::MarketSupervision => vocab::MARKET_EVIDENCE,
            };
            facts.push_str(rng.pick(evidence).copied().unwrap_or_default());
        }

        let content = penalty_content(system, &kinds, fine, confiscated);
        let office = review_office(system);
        let legal_review = if major {
            if flavor == Flavor::MajorWithoutReview {
                // Half with no review at all, half with a failed one: both must be held back.
                rng.chance(0.5).then(|| LegalReview {
                    passed: false,
                    reviewer: office.to_owned(),
                    reviewed_on: decided_on - Duration::days(rng.between(1, 5) as i64),
                })
            } else {
                Some(LegalReview {
                    passed: true,
                    reviewer: office.to_owned(),
                    reviewed_on: decided_on - Duration::days(rng.between(1, 5) as i64),
                })
            }
        } else if procedure == Procedure::Ordinary && rng.chance(0.6) {
            Some(LegalReview {
                passed: true,
                reviewer: office.to_owned(),
                reviewed_on: decided_on - Duration::days(rng.between(1, 5) as i64),
            })
        } else {
            None
        };
        // Publicity periods (市场监督管理行政处罚信息公示规定 Art. 14): three years for serious
        // decisions; the three-month period for minor ones is raised to one year here so that a
        // demo run months after generation still shows them.
        let serious = major || fine.is_some_and(|f| f >= 10_000) || confiscated.is_some();
        let publicity_until = add_years(decided_on, if serious { 3 } else { 1 });
        let document_title = if procedure == Procedure::Simple {
            "当场行政处罚决定书"
        } else {
            "行政处罚决定书"
        };

        Case {
            system,
            key: String::new(),
            agency,
            category: Category::Penalty,
            procedure,
            status: Status::InForce,
            document_no: String::new(),
            document_title: document_title.to_owned(),
            counterparty,
            violation: spec.name.to_owned(),
            facts,
            facts_mentions: mentions,
            legal_basis: spec.basis.to_owned(),
            penalty_kinds: kinds,
            content,
            fine_yuan: fine,
            confiscated_yuan: confiscated,
            license: None,
            random_check: None,
            decided_on,
            publicity_until,
            major,
            legal_review,
            classification: Classification::Public,
            remarks: String::new(),
            status_changed_on: None,
        }
    }

    fn licensing(
        &mut self,
        rng: &mut SplitMix64,
        agency: &'static Agency,
        decided_on: NaiveDate,
    ) -> Case {
        let system = agency.system;
        let kind = pick_counterparty_kind(rng, system, Kind::Licensing);
        let counterparty = match system {
            System::FinanceOa => {
                self.legal_person(rng, agency, decided_on, vocab::BOOKKEEPING_INDUSTRIES)
            }
            System::MarketSupervision => self.counterparty(rng, agency, kind, decided_on, false),
        };
        let seq = self.next_license_seq(agency.key_prefix, rng);
        let valid_to = add_years(decided_on, 5) - Duration::days(1);
        let applied_on = cn_date(decided_on - Duration::days(rng.between(5, 20) as i64));
        let mut mentions = Vec::new();
        let party = self.party_clause(rng, &counterparty, "申请人", &mut mentions);
        let production = system == System::MarketSupervision
            && kind == CounterpartyKind::LegalPerson
            && rng.chance(0.3);
        let (certificate, number, facts, content, basis) = match system {
            System::FinanceOa => (
                "代理记账许可证书",
                format!("DLJZ{}{}{:04}", agency.division, decided_on.year(), seq),
                format!(
                    "{party}于{applied_on}提交代理记账资格申请。经审查，申请人有3名以上专职从业人员，主管代理记账业务的负责人具有会计师以上专业技术职务资格，有固定的办公场所和健全的代理记账业务内部规范，符合《代理记账管理办法》第四条规定的条件。"
                ),
                "准予从事代理记账业务".to_owned(),
                "《代理记账管理办法》第三条",
            ),
            System::MarketSupervision if production => {
                let food_class = rng.pick(&["糕点", "饮料", "肉制品", "方便食品", "速冻食品"]).copied().unwrap_or("糕点");
                (
                    "食品生产许可证",
                    format!("SC1{:02}{}{:04}{}", rng.between(1, 31), agency.home_county, seq, rng.below(10)),
                    format!(
                        "{party}于{applied_on}提交食品生产许可申请，经审查申请材料并现场核查，其生产场所、设备布局和工艺流程符合《食品生产许可管理办法》规定的条件。"
                    ),
                    format!("准予食品生产许可，食品类别：{food_class}"),
                    "《中华人民共和国食品安全法》第三十五条",
                )
            }
            System::MarketSupervision => {
                let subject = if kind == CounterpartyKind::LegalPerson { 1 } else { 2 };
                (
                    "食品经营许可证",
                    format!("JY{subject}{}{:07}", agency.home_county, seq),
                    format!(
                        "{party}于{applied_on}提交食品经营许可申请，经审查申请材料并现场核查，其经营场所、设施设备及食品安全管理制度符合《食品经营许可和备案管理办法》规定的条件。"
                    ),
                    "准予食品经营许可，经营项目：预包装食品销售（含冷藏冷冻食品）、散装食品销售".to_owned(),
                    "《中华人民共和国食品安全法》第三十五条",
                )
            }
        };
        Case {
            system,
            key: String::new(),
            agency,
            category: Category::Licensing,
            procedure: Procedure::Ordinary,
            status: Status::InForce,
            document_no: String::new(),
            document_title: "准予行政许可决定书".to_owned(),
            counterparty,
            violation: String::new(),
            facts,
            facts_mentions: mentions,
            legal_basis: basis.to_owned(),
            penalty_kinds: Vec::new(),
            content,
            fine_yuan: None,
            confiscated_yuan: None,
            license: Some(License {
                kind: "普通".to_owned(),
                certificate: certificate.to_owned(),
                number,
                valid_from: decided_on,
                valid_to,
            }),
            random_check: None,
            decided_on,
            // A licence stays on the platform while it is valid.
            publicity_until: valid_to,
            major: false,
            legal_review: None,
            classification: Classification::Public,
            remarks: String::new(),
            status_changed_on: None,
        }
    }

    fn inspection(
        &mut self,
        rng: &mut SplitMix64,
        agency: &'static Agency,
        decided_on: NaiveDate,
    ) -> Case {
        let system = agency.system;
        let kind = pick_counterparty_kind(rng, system, Kind::Inspection);
        let counterparty = self.counterparty(rng, agency, kind, decided_on, false);
        let random_check = rng.chance(0.7);
        let found_problem = rng.chance(0.3);
        let mut mentions = Vec::new();
        let party = self.party_clause(rng, &counterparty, "被检查人", &mut mentions);
        let date = cn_date(decided_on - Duration::days(rng.between(3, 20) as i64));
        let year = decided_on.year();
        let (facts, content, basis, title) = match system {
            System::FinanceOa => {
                let trigger = if random_check {
                    format!("根据{year}年度会计信息质量检查“双随机、一公开”工作安排")
                } else {
                    "根据群众举报线索".to_owned()
                };
                let result = if found_problem {
                    "发现部分原始凭证填制不规范、会计账簿登记不及时，已责令限期整改。"
                } else {
                    "未发现违反《中华人民共和国会计法》的问题。"
                };
                (
                    format!(
                        "{party}。{trigger}，于{date}对其{}年度会计信息质量进行检查，{result}",
                        year - 1
                    ),
                    if found_problem {
                        "检查结论：责令限期改正"
                    } else {
                        "检查结论：未发现问题"
                    },
                    "《中华人民共和国会计法》第三十二条",
                    "检查结论通知书",
                )
            }
            System::MarketSupervision => {
                let trigger = if random_check {
                    format!("根据{year}年“双随机、一公开”抽查工作计划")
                } else {
                    "根据12315平台投诉举报线索".to_owned()
                };
                let result = if found_problem {
                    "发现个别食品贮存温度不符合标签标示要求，已责令当场改正。"
                } else {
                    "检查结果为符合要求。"
                };
                (
                    format!(
                        "{party}。{trigger}，于{date}对其经营场所开展食品安全监督检查，重点检查进货查验记录、从业人员健康证明和食品贮存条件，{result}"
                    ),
                    if found_problem { "检查结果：基本符合，责令改正" } else { "检查结果：符合" },
                    "《中华人民共和国食品安全法》第一百一十条",
                    "行政检查结果告知书",
                )
            }
        };
        Case {
            system,
            key: String::new(),
            agency,
            category: Category::Inspection,
            procedure: if found_problem {
                Procedure::Ordinary
            } else {
                Procedure::Simple
            },
            status: Status::InForce,
            document_no: String::new(),
            document_title: title.to_owned(),
            counterparty,
            violation: String::new(),
            facts,
            facts_mentions: mentions,
            legal_basis: basis.to_owned(),
            penalty_kinds: Vec::new(),
            content: content.to_owned(),
            fine_yuan: None,
            confiscated_yuan: None,
            license: None,
            random_check: Some(random_check),
            decided_on,
            publicity_until: add_years(decided_on, 1),
            major: false,
            legal_review: None,
            classification: Classification::Public,
            remarks: String::new(),
            status_changed_on: None,
        }
    }

    fn coercion(
        &mut self,
        rng: &mut SplitMix64,
        agency: &'static Agency,
        decided_on: NaiveDate,
    ) -> Case {
        let system = agency.system;
        let kind = pick_counterparty_kind(rng, system, Kind::Coercion);
        let counterparty = self.counterparty(rng, agency, kind, decided_on, false);
        let mut mentions = Vec::new();
        let party = self.party_clause(rng, &counterparty, "当事人", &mut mentions);
        let (goods, unit) = rng.pick(vocab::FOODS).copied().unwrap_or(("食品", "箱"));
        let qty = format!("{}{unit}", rng.between(3, 80));
        let date = cn_date(decided_on);
        Case {
            system,
            key: String::new(),
            agency,
            category: Category::Coercion,
            procedure: Procedure::Ordinary,
            status: Status::InForce,
            document_no: String::new(),
            document_title: "实施行政强制措施决定书".to_owned(),
            counterparty,
            violation: String::new(),
            facts: format!(
                "{party}。{date}，执法人员在其经营场所检查时发现涉嫌超过保质期的{goods}{qty}，为防止证据损毁、转移，依法予以扣押。"
            ),
            facts_mentions: mentions,
            legal_basis: "《中华人民共和国食品安全法》第一百一十条第（四）项".to_owned(),
            penalty_kinds: Vec::new(),
            content: format!("扣押涉嫌超过保质期的{goods}{qty}，扣押期限三十日"),
            fine_yuan: None,
            confiscated_yuan: None,
            license: None,
            random_check: None,
            decided_on,
            publicity_until: add_years(decided_on, 1),
            major: false,
            legal_review: rng.chance(0.5).then(|| LegalReview {
                passed: true,
                reviewer: review_office(system).to_owned(),
                reviewed_on: decided_on,
            }),
            classification: Classification::Public,
            remarks: String::new(),
            status_changed_on: None,
        }
    }

    fn counterparty(
        &mut self,
        rng: &mut SplitMix64,
        agency: &'static Agency,
        kind: CounterpartyKind,
        on: NaiveDate,
        minor: bool,
    ) -> Counterparty {
        match kind {
            CounterpartyKind::LegalPerson => {
                let industries = match agency.system {
                    System::FinanceOa => vocab::FINANCE_INDUSTRIES,
                    System::MarketSupervision => vocab::MARKET_INDUSTRIES,
                };
                self.legal_person(rng, agency, on, industries)
            }
            CounterpartyKind::NaturalPerson => {
                let county = home_county(rng, agency);
                // Minors are 15–17 on the decision date (under 14 no penalty is imposed at all).
                let ages = if minor { (15, 16) } else { (18, 74) };
                Counterparty::NaturalPerson(self.person(rng, county, ages, on))
            }
            CounterpartyKind::IndividualBusiness => {
                let county = home_county(rng, agency);
                let operator = self.person(rng, county, (22, 62), on);
                let prefix = vocab::county(county).business_prefix;
                let shop = rng.pick(vocab::SHOP_TYPES).copied().unwrap_or("商店");
                let name = self.unique(rng, |rng| {
                    let trade = match rng.below(10) {
                        0..=4 => rng
                            .pick(vocab::TRADE_NAMES)
                            .copied()
                            .unwrap_or("兴隆")
                            .to_owned(),
                        5..=7 => format!("{}记", operator.surname),
                        _ => format!("老{}", operator.surname),
                    };
                    format!("{prefix}{trade}{shop}")
                });
                // About one in five older 个体工商户 never got a credit code and still carry the
                // placeholder plus their old registration number.
                let (uscc, registration_no) = if rng.chance(0.2) {
                    let number =
                        ids::registration_no(county, 60_000_000 + rng.below(10_000_000) as u32);
                    (ids::USCC_PLACEHOLDER.to_owned(), Some(number))
                } else {
                    (self.uscc(rng, '2', county), None)
                };
                Counterparty::IndividualBusiness {
                    name,
                    uscc,
                    registration_no,
                    operator,
                }
            }
        }
    }

    fn legal_person(
        &mut self,
        rng: &mut SplitMix64,
        agency: &'static Agency,
        on: NaiveDate,
        industries: &[&str],
    ) -> Counterparty {
        let county = home_county(rng, agency);
        let name = self.company_name(rng, county, industries);
        let uscc = self.uscc(rng, '1', county);
        let legal_rep = self.person(rng, county, (28, 62), on);
        Counterparty::LegalPerson {
            name,
            uscc,
            legal_rep,
        }
    }

    fn company_name(&mut self, rng: &mut SplitMix64, county: &str, industries: &[&str]) -> String {
        let prefix = vocab::county(county).business_prefix;
        self.unique(rng, |rng| {
            let region = match rng.below(10) {
                0 => "山东",
                1 => "聊城",
                _ => prefix,
            };
            let trade = rng.pick(vocab::TRADE_NAMES).copied().unwrap_or("兴隆");
            let industry = rng.pick(industries).copied().unwrap_or("商贸有限公司");
            format!("{region}{trade}{industry}")
        })
    }

    /// A USCC registered by 工商 (`9`) with a valid embedded organisation code: mostly the post-2015
    /// `MA…` codes, some older all-digit ones.
    fn uscc(&mut self, rng: &mut SplitMix64, org_type: char, county: &str) -> String {
        let alphabet: Vec<char> = ids::USCC_ALPHABET.chars().collect();
        self.unique(rng, |rng| {
            let body: String = if rng.chance(0.7) {
                let tail: String = (0..5)
                    .map(|_| *rng.pick(&alphabet).unwrap_or(&'0'))
                    .collect();
                format!("MA3{tail}")
            } else {
                format!("{:08}", rng.below(100_000_000))
            };
            ids::uscc('9', org_type, county, &ids::org_code(&body))
        })
    }

    fn person(
        &mut self,
        rng: &mut SplitMix64,
        county_code: &'static str,
        ages: (u64, u64),
        on: NaiveDate,
    ) -> Person {
        let county = vocab::county(county_code);
        let male = rng.chance(0.55);
        // Born in the year before `on.year() - age`, so the age on `on` is `age` or `age + 1`.
        let age = rng.between(ages.0, ages.1) as i32;
        let birth = NaiveDate::from_ymd_opt(
            on.year() - age - 1,
            rng.between(1, 12) as u32,
            rng.between(1, 28) as u32,
        )
        .unwrap_or(on);
        let young = birth.year() >= 1995;
        let (surname, name) = {
            let mut surname = String::new();
            let name = self.unique(rng, |rng| {
                surname = if rng.chance(0.1) {
                    rng.pick(vocab::COMPOUND_SURNAMES)
                        .copied()
                        .unwrap_or("欧阳")
                        .to_owned()
                } else {
                    // The lower of two draws: frequent surnames come up more often.
                    let index = rng
                        .below(vocab::SURNAMES.len() as u64)
                        .min(rng.below(vocab::SURNAMES.len() as u64));
                    vocab::SURNAMES[index as usize].to_owned()
                };
                let pool = match (male, young && rng.chance(0.6)) {
                    (true, true) => vocab::GIVEN_YOUNG_MALE,
                    (false, true) => vocab::GIVEN_YOUNG_FEMALE,
                    (true, false) => vocab::GIVEN_MALE,
                    (false, false) => vocab::GIVEN_FEMALE,
                };
                format!("{surname}{}", rng.pick(pool).copied().unwrap_or("明"))
            });
            (surname, name)
        };
        // People born before 1997 often still carry the old 聊城地区 code in their ID.
        let id_division = if birth.year() < 1997 && rng.chance(0.4) {
            county.code_before_1997
        } else {
            county.code
        };
        let id_number = self.unique(rng, |rng| {
            // The sequence's last digit is odd for men, even for women (GB 11643).
            let sequence = rng.between(0, 498) as u16 * 2 + if male { 1 } else { 2 };
            ids::resident_id(id_division, birth, sequence)
        });
        let town = rng.pick(county.towns).copied().unwrap_or("城区");
        let address = match rng.below(3) {
            0 => format!(
                "山东省聊城市{}{town}{}{}号",
                county.name,
                rng.pick(vocab::ROADS).copied().unwrap_or("人民路"),
                rng.between(1, 299)
            ),
            1 => format!(
                "山东省聊城市{}{town}{}小区{}号楼{}单元{}室",
                county.name,
                rng.pick(vocab::COMMUNITIES).copied().unwrap_or("幸福"),
                rng.between(1, 24),
                rng.between(1, 4),
                rng.between(1, 6) * 100 + rng.between(1, 3)
            ),
            _ => format!(
                "山东省聊城市{}{town}{}村{}号",
                county.name,
                rng.pick(vocab::VILLAGES).copied().unwrap_or("王庄"),
                rng.between(1, 150)
            ),
        };
        let phone = self.unique(rng, |rng| {
            format!(
                "{}{:08}",
                rng.pick(vocab::MOBILE_PREFIXES).copied().unwrap_or("138"),
                rng.below(100_000_000)
            )
        });
        Person {
            name,
            surname,
            id_number,
            birth_date: birth,
            male,
            address,
            phone,
        }
    }

    /// Draws until the value has not been handed out before. Bounded: after 50 tries the last draw
    /// is kept even if it repeats (the distinctness tests would show that happening).
    fn unique(
        &mut self,
        rng: &mut SplitMix64,
        mut draw: impl FnMut(&mut SplitMix64) -> String,
    ) -> String {
        let mut value = draw(rng);
        for _ in 0..50 {
            if !self.used.contains(&value) {
                break;
            }
            value = draw(rng);
        }
        self.used.insert(value.clone());
        value
    }

    fn next_license_seq(&mut self, prefix: &'static str, rng: &mut SplitMix64) -> u32 {
        let seq = self
            .license_seq
            .entry(prefix)
            .or_insert_with(|| rng.between(100, 900) as u32);
        *seq += 1;
        *seq
    }

    /// "当事人张三（身份证号码：…，联系电话：…），住址：…" and the mentions it contains.
    fn party_clause(
        &mut self,
        rng: &mut SplitMix64,
        counterparty: &Counterparty,
        role: &str,
        mentions: &mut Vec<Mention>,
    ) -> String {
        let p = self.config.facts_pii_fraction;
        let mut mention = |kind, text: &str| {
            mentions.push(Mention {
                kind,
                text: text.to_owned(),
            })
        };
        match counterparty {
            Counterparty::NaturalPerson(person) => {
                mention(MentionKind::Name, &person.name);
                let mut inner = Vec::new();
                if rng.chance(p) {
                    inner.push(format!("身份证号码：{}", person.id_number));
                    mention(MentionKind::IdNumber, &person.id_number);
                }
                if rng.chance(p) {
                    inner.push(format!("联系电话：{}", person.phone));
                    mention(MentionKind::Phone, &person.phone);
                }
                let mut clause = format!("{role}{}", person.name);
                if !inner.is_empty() {
                    clause.push_str(&format!("（{}）", inner.join("，")));
                }
                if rng.chance(p / 2.0) {
                    clause.push_str(&format!("，住址：{}", person.address));
                    mention(MentionKind::Address, &person.address);
                }
                clause
            }
            Counterparty::LegalPerson {
                name,
                uscc,
                legal_rep,
            } => {
                let mut clause = format!("{role}{name}");
                if rng.chance(0.5) {
                    clause.push_str(&format!("（统一社会信用代码：{uscc}）"));
                }
                if rng.chance(0.5) {
                    clause.push_str(&format!("，法定代表人{}", legal_rep.name));
                    if rng.chance(p / 2.0) {
                        clause.push_str(&format!("（联系电话：{}）", legal_rep.phone));
                        mention(MentionKind::Phone, &legal_rep.phone);
                    }
                }
                clause
            }
            Counterparty::IndividualBusiness { name, operator, .. } => {
                let mut clause = format!("{role}{name}（经营者：{}", operator.name);
                if rng.chance(p / 2.0) {
                    clause.push_str(&format!("，联系电话：{}", operator.phone));
                    mention(MentionKind::Phone, &operator.phone);
                }
                clause.push('）');
                clause
            }
        }
    }
}

/// Fills the placeholders of a violation's fact template.
struct Filler {
    values: Vec<(&'static str, String)>,
}

impl Filler {
    fn new(
        rng: &mut SplitMix64,
        spec: &ViolationSpec,
        decided_on: NaiveDate,
        fine: Option<u64>,
        value: u64,
        gains: Option<u64>,
        agency: &Agency,
    ) -> Filler {
        let (goods, unit) = rng.pick(spec.goods).copied().unwrap_or(("食品", "箱"));
        let project = spec.body.contains("{project}");
        // Government procurement fines are 0.5–1 % of the contract (政府采购法 Art. 77).
        let amount = match (project, fine) {
            (true, Some(fine)) => fine * rng.between(100, 200),
            _ => round_to(rng.between(20_000, 2_000_000), 100),
        };
        let county = vocab::county(agency.home_county);
        let place = format!(
            "{}{}{}",
            county.business_prefix,
            rng.pick(county.towns).copied().unwrap_or("城区"),
            rng.pick(vocab::STALL_PLACES).copied().unwrap_or("集市")
        );
        Filler {
            values: vec![
                (
                    "{date}",
                    cn_date(decided_on - Duration::days(rng.between(15, 90) as i64)),
                ),
                ("{year}", (decided_on.year() - 1).to_string()),
                ("{n}", rng.between(3, 25).to_string()),
                ("{amount}", amount.to_string()),
                ("{goods}", goods.to_owned()),
                ("{qty}", format!("{}{unit}", rng.between(2, 60))),
                ("{value}", value.to_string()),
                (
                    "{gains}",
                    gains
                        .unwrap_or_else(|| round_to(rng.between(100, 3000), 10))
                        .to_string(),
                ),
                ("{place}", place),
                (
                    "{business}",
                    rng.pick(vocab::STALL_BUSINESSES)
                        .copied()
                        .unwrap_or("小商品")
                        .to_owned(),
                ),
                (
                    "{project}",
                    rng.pick(vocab::PROCUREMENT_PROJECTS)
                        .copied()
                        .unwrap_or("政府采购")
                        .to_owned(),
                ),
            ],
        }
    }

    fn fill(&self, template: &str) -> String {
        self.values
            .iter()
            .fold(template.to_owned(), |text, (key, value)| {
                text.replace(key, value)
            })
    }
}

fn pick_kind(rng: &mut SplitMix64, system: System) -> Kind {
    let roll = rng.below(100);
    match system {
        System::FinanceOa => match roll {
            0..=59 => Kind::Penalty,
            60..=79 => Kind::Licensing,
            _ => Kind::Inspection,
        },
        System::MarketSupervision => match roll {
            0..=54 => Kind::Penalty,
            55..=74 => Kind::Licensing,
            75..=91 => Kind::Inspection,
            _ => Kind::Coercion,
        },
    }
}

fn pick_counterparty_kind(rng: &mut SplitMix64, system: System, kind: Kind) -> CounterpartyKind {
    let roll = rng.below(100);
    let (legal, natural) = match (system, kind) {
        (System::FinanceOa, Kind::Penalty) => (70, 25),
        (System::FinanceOa, _) => (100, 0),
        (System::MarketSupervision, Kind::Penalty) => (40, 28),
        (System::MarketSupervision, _) => (55, 0),
    };
    if roll < legal {
        CounterpartyKind::LegalPerson
    } else if roll < legal + natural {
        CounterpartyKind::NaturalPerson
    } else {
        CounterpartyKind::IndividualBusiness
    }
}

/// Most counterparties live where the agency sits; some come from the neighbouring counties.
fn home_county(rng: &mut SplitMix64, agency: &Agency) -> &'static str {
    if rng.chance(0.85) {
        vocab::county(agency.home_county).code
    } else {
        rng.pick(vocab::COUNTIES)
            .map(|county| county.code)
            .unwrap_or("371524")
    }
}

fn review_office(system: System) -> &'static str {
    match system {
        System::FinanceOa => "法制科",
        System::MarketSupervision => "法规科",
    }
}

fn penalty_content(
    system: System,
    kinds: &[PenaltyKind],
    fine: Option<u64>,
    confiscated: Option<u64>,
) -> String {
    let mut parts = Vec::new();
    let warning = kinds.contains(&PenaltyKind::Warning);
    for kind in kinds {
        let part = match kind {
            PenaltyKind::Warning
                if kinds.contains(&PenaltyKind::Fine) && system == System::FinanceOa =>
            {
                continue
            }
            PenaltyKind::Warning => "警告".to_owned(),
            PenaltyKind::Fine => {
                let amount = fine.unwrap_or_default();
                if warning && system == System::FinanceOa {
                    format!("警告并处罚款{amount}元")
                } else {
                    format!("罚款{amount}元")
                }
            }
            PenaltyKind::ConfiscateGains => {
                format!("没收违法所得{}元", confiscated.unwrap_or_default())
            }
            PenaltyKind::PublicCriticism => "予以通报批评".to_owned(),
            PenaltyKind::RevokeLicense => "吊销食品经营许可证".to_owned(),
            PenaltyKind::SuspendBusiness => "责令停产停业十五日".to_owned(),
            PenaltyKind::Other => match system {
                System::FinanceOa => "列入不良行为记录名单，一年内禁止参加政府采购活动".to_owned(),
                System::MarketSupervision => "一年内不受理其广告审查申请".to_owned(),
            },
            other => other.finance_label().to_owned(),
        };
        parts.push(part);
    }
    parts.join("，")
}

/// Numbers the cases in decision-date order: case keys and document numbers grow with time, as
/// they do in a real register, starting from a random offset (earlier cases of the year exist).
fn assign_numbers(rng: &mut SplitMix64, cases: &mut [Case]) {
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| (cases[i].decided_on, i));
    let mut key_counters: BTreeMap<(String, i32), u32> = BTreeMap::new();
    let mut doc_counters: BTreeMap<(&'static str, Category, i32), u32> = BTreeMap::new();
    for i in order {
        let case = &mut cases[i];
        let year = case.decided_on.year();
        let (letters, abbreviation) = category_codes(case.category);
        let key_prefix = match case.system {
            System::FinanceOa => format!("{}{letters}", case.agency.key_prefix),
            System::MarketSupervision => case.agency.key_prefix.to_owned(),
        };
        let key_seq = key_counters
            .entry((key_prefix.clone(), year))
            .or_insert_with(|| rng.between(0, 30) as u32);
        *key_seq += 1;
        case.key = match case.system {
            System::FinanceOa => format!("{key_prefix}-{year}-{:04}", key_seq),
            System::MarketSupervision => format!("{key_prefix}-{year}-{:06}", key_seq),
        };
        let doc_seq = doc_counters
            .entry((case.agency.doc_prefix, case.category, year))
            .or_insert_with(|| rng.between(0, 20) as u32);
        *doc_seq += 1;
        case.document_no = format!(
            "{}{abbreviation}〔{year}〕{}号",
            case.agency.doc_prefix, doc_seq
        );
    }
}

/// The finance key letters and the document-number abbreviation of a category.
fn category_codes(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::Licensing => ("XK", "许"),
        Category::Penalty => ("CF", "罚"),
        Category::Inspection => ("JC", "检"),
        Category::Coercion => ("QZ", "强"),
        Category::Levy => ("ZS", "征"),
        Category::Fee => ("SF", "费"),
    }
}

fn round_to(value: u64, step: u64) -> u64 {
    value.div_ceil(step) * step
}

/// The same day `years` later (29 February becomes 28 February).
fn add_years(date: NaiveDate, years: i32) -> NaiveDate {
    date.with_year(date.year() + years)
        .or_else(|| NaiveDate::from_ymd_opt(date.year() + years, date.month(), 28))
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Outcome, WithholdReason};

    fn config() -> GenConfig {
        GenConfig::default()
    }

    fn cases() -> Vec<Case> {
        generate(&config()).unwrap_or_default()
    }

    #[test]
    fn generation_is_deterministic_for_a_seed() {
        let a = generate(&config());
        let b = generate(&config());
        assert!(a.is_ok());
        assert_eq!(a, b);
        let other = generate(&GenConfig {
            seed: 7,
            ..config()
        });
        assert_ne!(a, other);
    }

    #[test]
    fn finance_cases_do_not_depend_on_the_market_count() {
        let a = cases();
        let b = generate(&GenConfig {
            market_cases: 5,
            market_bad: BadCases::NONE,
            ..config()
        })
        .unwrap_or_default();
        let finance = |cases: &[Case]| {
            cases
                .iter()
                .filter(|c| c.system == System::FinanceOa)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(finance(&a), finance(&b));
    }

    #[test]
    fn counts_systems_and_agencies_follow_the_config() {
        let cases = cases();
        let finance: Vec<&Case> = cases
            .iter()
            .filter(|c| c.system == System::FinanceOa)
            .collect();
        let market: Vec<&Case> = cases
            .iter()
            .filter(|c| c.system == System::MarketSupervision)
            .collect();
        assert_eq!(finance.len(), 30);
        assert_eq!(market.len(), 32);
        assert!(finance.iter().all(|c| c.agency == &CHIPING_FINANCE));
        let city = market
            .iter()
            .filter(|c| c.agency == &LIAOCHENG_MARKET)
            .count();
        assert_eq!(city, 5); // round(32 * 0.15)
        assert!(market
            .iter()
            .all(|c| c.agency == &LIAOCHENG_MARKET || c.agency == &DONGE_MARKET));
    }

    #[test]
    fn record_ids_are_source_name_and_key_and_unique() {
        let cases = cases();
        let ids: HashSet<String> = cases.iter().map(Case::record_id).collect();
        assert_eq!(ids.len(), cases.len());
        for case in &cases {
            let id = case.record_id();
            assert!(
                id.starts_with(case.system.source_name()) && id.ends_with(&case.key),
                "{id}"
            );
        }
        assert!(cases
            .iter()
            .any(|c| c.record_id().starts_with("finance-oa:CZCF-2026-")));
        assert!(cases
            .iter()
            .any(|c| c.record_id().starts_with("market-supervision:DESC-2026-")));
        assert!(cases
            .iter()
            .any(|c| c.record_id().starts_with("market-supervision:LCSC-2026-")));
    }

    #[test]
    fn every_identifier_has_a_valid_check_digit() {
        let cases = generate(&GenConfig {
            finance_cases: 300,
            market_cases: 300,
            ..config()
        })
        .unwrap_or_default();
        assert_eq!(cases.len(), 600);
        let mut placeholders = 0;
        for case in &cases {
            let person = case.counterparty.person();
            assert!(ids::is_valid_resident_id(&person.id_number), "{case:?}");
            assert_eq!(
                ids::resident_id_birth_date(&person.id_number),
                Some(person.birth_date)
            );
            let sequence_digit = person.id_number.as_bytes()[16] - b'0';
            assert_eq!(sequence_digit % 2 == 1, person.male, "{case:?}");
            assert!(ids::is_valid_mobile(&person.phone));
            match &case.counterparty {
                Counterparty::IndividualBusiness {
                    uscc,
                    registration_no: Some(number),
                    ..
                } => {
                    placeholders += 1;
                    assert_eq!(uscc, ids::USCC_PLACEHOLDER);
                    assert!(ids::is_valid_registration_no(number), "{case:?}");
                }
                other => {
                    if let Some(uscc) = other.uscc() {
                        assert!(ids::is_valid_uscc(uscc), "{case:?}");
                        assert!(
                            other.org_code().is_some_and(ids::is_valid_org_code),
                            "{case:?}"
                        );
                    }
                }
            }
        }
        assert!(
            placeholders > 0,
            "some individual businesses carry the placeholder"
        );
    }

    #[test]
    fn people_ids_and_company_names_are_distinct() {
        let cases = generate(&GenConfig {
            finance_cases: 300,
            market_cases: 300,
            ..config()
        })
        .unwrap_or_default();
        let mut ids_seen = HashSet::new();
        let mut names_seen = HashSet::new();
        for case in &cases {
            assert!(ids_seen.insert(case.counterparty.person().id_number.clone()));
            assert!(names_seen.insert(case.counterparty.name().to_owned()));
        }
    }

    #[test]
    fn expected_outcomes_match_the_knobs() {
        let cases = cases();
        let count = |system: System, outcome: Outcome| {
            cases
                .iter()
                .filter(|c| c.system == system && c.expected_outcome() == outcome)
                .count()
        };
        use WithholdReason::*;
        assert_eq!(count(System::FinanceOa, Outcome::Withheld(Classified)), 1);
        assert_eq!(count(System::FinanceOa, Outcome::Withheld(Minor)), 0);
        assert_eq!(
            count(
                System::FinanceOa,
                Outcome::Withheld(MajorWithoutLegalReview)
            ),
            1
        );
        assert_eq!(count(System::FinanceOa, Outcome::Published), 28);
        assert_eq!(
            count(System::MarketSupervision, Outcome::Withheld(Classified)),
            2
        );
        assert_eq!(
            count(System::MarketSupervision, Outcome::Withheld(Minor)),
            1
        );
        assert_eq!(
            count(
                System::MarketSupervision,
                Outcome::Withheld(MajorWithoutLegalReview)
            ),
            1
        );
        assert_eq!(count(System::MarketSupervision, Outcome::Published), 28);
        assert!(cases
            .iter()
            .any(|c| c.classification == Classification::Secret));
        assert!(cases
            .iter()
            .any(|c| c.classification == Classification::Internal));
    }

    #[test]
    fn bad_cases_have_exactly_the_planted_defect() {
        let bad = BadCases {
            secret: 5,
            internal: 5,
            minors: 5,
            majors_without_review: 5,
        };
        let cases = generate(&GenConfig {
            finance_bad: bad,
            market_bad: bad,
            ..config()
        })
        .unwrap_or_default();
        for case in &cases {
            let minor = case
                .natural_person()
                .is_some_and(|p| p.age_on(case.decided_on) < 18);
            let unreviewed_major =
                case.major && !case.legal_review.as_ref().is_some_and(|r| r.passed);
            let classified = case.classification != Classification::Public;
            let defects = [minor, unreviewed_major, classified]
                .iter()
                .filter(|d| **d)
                .count();
            assert!(defects <= 1, "{case:?}");
            if minor {
                let age = case
                    .natural_person()
                    .map(|p| p.age_on(case.decided_on))
                    .unwrap_or_default();
                assert!((15..18).contains(&age), "{case:?}");
            }
        }
        for system in [System::FinanceOa, System::MarketSupervision] {
            let withheld = cases
                .iter()
                .filter(|c| c.system == system && !c.expected_outcome().is_published())
                .count();
            assert_eq!(withheld, 20, "{system:?}");
        }
        // Normal natural persons are adults, normal majors passed review.
        let clean = generate(&GenConfig {
            finance_bad: BadCases::NONE,
            market_bad: BadCases::NONE,
            ..config()
        })
        .unwrap_or_default();
        assert!(clean.iter().all(|c| c.expected_outcome().is_published()));
        assert!(
            clean.iter().any(|c| c.major),
            "some majors with a passed review"
        );
    }

    #[test]
    fn categories_counterparties_and_procedures_are_mixed() {
        let cases = generate(&GenConfig {
            finance_cases: 100,
            market_cases: 100,
            ..config()
        })
        .unwrap_or_default();
        for category in [
            Category::Penalty,
            Category::Licensing,
            Category::Inspection,
            Category::Coercion,
        ] {
            assert!(cases.iter().any(|c| c.category == category), "{category:?}");
        }
        let penalties = cases
            .iter()
            .filter(|c| c.category == Category::Penalty)
            .count();
        assert!(penalties * 2 > cases.len(), "penalties are the majority");
        for kind in [
            CounterpartyKind::LegalPerson,
            CounterpartyKind::NaturalPerson,
            CounterpartyKind::IndividualBusiness,
        ] {
            assert!(
                cases.iter().any(|c| c.counterparty.kind() == kind),
                "{kind:?}"
            );
        }
        assert!(cases.iter().any(|c| c.procedure == Procedure::Simple));
        assert!(cases.iter().any(|c| c.procedure == Procedure::Ordinary));
        assert!(cases.iter().any(|c| c.random_check == Some(true)));
        assert!(cases.iter().any(|c| c.random_check == Some(false)));
        assert!(
            cases
                .iter()
                .any(|c| c.counterparty.person().surname.chars().count() == 2),
            "compound surnames"
        );
        assert!(cases.iter().all(|c| c
            .counterparty
            .person()
            .name
            .starts_with(&c.counterparty.person().surname)));
        for case in &cases {
            assert_eq!(
                case.random_check.is_some(),
                case.category == Category::Inspection
            );
            assert_eq!(case.license.is_some(), case.category == Category::Licensing);
            assert_eq!(
                case.fine_yuan.is_some(),
                case.penalty_kinds.contains(&PenaltyKind::Fine)
            );
            assert_eq!(
                case.confiscated_yuan.is_some(),
                case.penalty_kinds.contains(&PenaltyKind::ConfiscateGains)
            );
            if case.procedure == Procedure::Simple && case.category == Category::Penalty {
                let limit = if case.natural_person().is_some() {
                    200
                } else {
                    3000
                };
                assert!(case.fine_yuan.is_none_or(|f| f <= limit), "{case:?}");
            }
            assert!(
                case.decided_on >= config().decided_from && case.decided_on <= config().decided_to
            );
            assert!(case.publicity_until > case.decided_on);
            if let Some(review) = &case.legal_review {
                assert!(review.reviewed_on <= case.decided_on);
            }
        }
    }

    #[test]
    fn facts_mention_personal_data_that_is_really_there() {
        let cases = generate(&GenConfig {
            facts_pii_fraction: 1.0,
            ..config()
        })
        .unwrap_or_default();
        let mut natural = 0;
        for case in &cases {
            for mention in &case.facts_mentions {
                assert!(case.facts.contains(&mention.text), "{case:?} {mention:?}");
            }
            if let Some(person) = case.natural_person() {
                natural += 1;
                assert!(
                    case.facts.contains(&person.id_number) && case.facts.contains(&person.phone),
                    "{case:?}"
                );
                let kinds: Vec<MentionKind> = case.facts_mentions.iter().map(|m| m.kind).collect();
                assert!(
                    kinds.contains(&MentionKind::Name) && kinds.contains(&MentionKind::IdNumber)
                );
            }
        }
        assert!(natural > 0);
        let none = generate(&GenConfig {
            facts_pii_fraction: 0.0,
            ..config()
        })
        .unwrap_or_default();
        for case in &none {
            let person = case.counterparty.person();
            assert!(
                !case.facts.contains(&person.id_number) && !case.facts.contains(&person.phone),
                "{case:?}"
            );
        }
    }

    /// The number written right after `marker` in `text` (`货值金额6260元` → 6260).
    fn quoted(text: &str, marker: &str) -> Option<u64> {
        let rest = &text[text.find(marker)? + marker.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    #[test]
    fn quoted_amounts_agree_with_the_decision() {
        let cases = generate(&GenConfig {
            finance_cases: 200,
            market_cases: 300,
            ..config()
        })
        .unwrap_or_default();
        let mut checked = (0, 0, 0);
        for case in cases.iter().filter(|c| c.category == Category::Penalty) {
            let value = quoted(&case.facts, "货值金额");
            let gains = quoted(&case.facts, "违法所得");
            if let (Some(value), Some(gains)) = (value, gains) {
                assert!(gains <= value, "{case:?}");
                checked.0 += 1;
            }
            if let (Some(gains), Some(confiscated)) = (gains, case.confiscated_yuan) {
                assert_eq!(gains, confiscated, "{case:?}");
                checked.1 += 1;
            }
            if let (Some(fee), Some(fine)) = (quoted(&case.facts, "广告费用"), case.fine_yuan) {
                // Rounded to 10 yuan: allow that much slack per multiple.
                assert!(fine + 50 >= fee * 3 && fine <= fee * 5 + 50, "{case:?}");
                checked.2 += 1;
            }
        }
        assert!(
            checked.0 > 0 && checked.1 > 0 && checked.2 > 0,
            "{checked:?}"
        );
    }

    #[test]
    fn document_numbers_grow_with_the_decision_date() {
        let cases = cases();
        let mut penalties: Vec<&Case> = cases
            .iter()
            .filter(|c| c.system == System::FinanceOa && c.category == Category::Penalty)
            .collect();
        penalties.sort_by_key(|c| (c.decided_on, c.key.clone()));
        let numbers: Vec<u32> = penalties
            .iter()
            .filter_map(|c| {
                c.document_no
                    .split('〕')
                    .nth(1)?
                    .trim_end_matches('号')
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(numbers.len(), penalties.len());
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert!(penalties
            .iter()
            .all(|c| c.document_no.starts_with("茌财罚〔2026〕")));
    }

    #[test]
    fn bad_configs_are_refused() {
        let too_many = GenConfig {
            finance_cases: 1,
            ..config()
        };
        assert_eq!(
            generate(&too_many),
            Err(GenerateError::TooManyBadCases {
                system: "finance-oa",
                bad: 2,
                cases: 1
            })
        );
        assert!(matches!(
            generate(&GenConfig {
                market_city_fraction: 1.5,
                ..config()
            }),
            Err(GenerateError::FractionOutOfRange { .. })
        ));
        let window = GenConfig {
            decided_from: config().decided_to,
            decided_to: config().decided_from,
            ..config()
        };
        assert!(matches!(
            generate(&window),
            Err(GenerateError::EmptyWindow { .. })
        ));
        assert!(matches!(
            generate(&GenConfig {
                market_cases: MAX_CASES_PER_SYSTEM + 1,
                ..config()
            }),
            Err(GenerateError::TooManyCases { .. })
        ));
        let message = GenerateError::TooManyBadCases {
            system: "finance-oa",
            bad: 2,
            cases: 1,
        }
        .to_string();
        assert!(message.contains("lower the bad-case counts"), "{message}");
    }

    #[test]
    fn revoke_picks_published_cases_and_changes_only_their_status() {
        let cases = cases();
        let on = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap_or_default();
        let revoked = revoke(&cases, 0.125, 3, on).unwrap_or_default();
        assert_eq!(revoked.len(), 8); // round(62 * 0.125) = 7.75
        for (i, changed) in revoked.iter().enumerate() {
            let original = cases.iter().find(|c| c.record_id() == changed.record_id());
            let Some(original) = original else {
                panic!("revoked case not among the originals")
            };
            assert!(original.expected_outcome().is_published());
            let expected = if i % 4 == 3 {
                Status::ConfirmedIllegal
            } else {
                Status::Revoked
            };
            assert_eq!(changed.status, expected);
            assert!(matches!(changed.expected_outcome(), Outcome::Retracted(_)));
            assert_eq!(changed.status_changed_on, Some(on));
            assert!(changed.remarks.contains("2026年11月10日"));
            let restored = Case {
                status: original.status,
                status_changed_on: None,
                remarks: original.remarks.clone(),
                ..changed.clone()
            };
            assert_eq!(&restored, original);
        }
        assert_eq!(revoke(&cases, 0.125, 3, on), Ok(revoked));
        assert!(revoke(&cases, -0.1, 3, on).is_err());
    }

    #[test]
    fn apply_export_replaces_by_record_id() {
        let cases = cases();
        let on = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap_or_default();
        let revoked = revoke(&cases, 0.1, 1, on).unwrap_or_default();
        let after = apply_export(&cases, &revoked);
        assert_eq!(after.len(), cases.len());
        let published_before = cases
            .iter()
            .filter(|c| c.expected_outcome().is_published())
            .count();
        let published_after = after
            .iter()
            .filter(|c| c.expected_outcome().is_published())
            .count();
        assert_eq!(published_after, published_before - revoked.len());
    }

    #[test]
    fn outcome_on_a_date_expires_publicity() {
        let case = cases()
            .into_iter()
            .find(|c| c.expected_outcome().is_published());
        let Some(case) = case else {
            panic!("no published case")
        };
        assert_eq!(
            case.expected_outcome_on(case.publicity_until),
            Outcome::Published
        );
        assert_eq!(
            case.expected_outcome_on(case.publicity_until + Duration::days(1)),
            Outcome::Retracted(crate::case::RetractReason::PublicityExpired)
        );
    }

    #[test]
    fn helpers_round_and_add_years() {
        assert_eq!(round_to(1234, 100), 1300);
        assert_eq!(round_to(1200, 100), 1200);
        let leap = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default();
        assert_eq!(
            add_years(leap, 1),
            NaiveDate::from_ymd_opt(2025, 2, 28).unwrap_or_default()
        );
        assert_eq!(
            cn_date(NaiveDate::from_ymd_opt(2026, 6, 2).unwrap_or_default()),
            "2026年6月2日"
        );
    }

    #[test]
    fn unpadded_chinese_dates_parse_with_the_mappings_format() {
        // mappings/finance-oa.toml reads dates with chrono's `%Y年%m月%d日`; that format must
        // accept the unpadded month and day the OA system prints.
        for date in [(2026, 6, 2), (2026, 10, 12), (2026, 1, 31)] {
            let date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap_or_default();
            assert_eq!(
                NaiveDate::parse_from_str(&cn_date(date), "%Y年%m月%d日").ok(),
                Some(date)
            );
        }
    }
}
