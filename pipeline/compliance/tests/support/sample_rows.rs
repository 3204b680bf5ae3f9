//! A generated year of annual-report rows, deterministic from a seed (shared by the annual-report test
//! and `examples/annual_page.rs`). The flags come from the real deadline rules, as the hub would set
//! them, judged on January 31 of the next year.

use chrono::{Datelike, Days, NaiveDate};
use dhub_compliance::deadlines::DeadlineRules;
use dhub_compliance::{AnnualRow, Calendar, WithdrawalReason};
use dhub_schema::{Category, Status};

/// xorshift64*: small, deterministic, good enough to spread test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const DIVISIONS: &[&str] = &[
    "371523", "371503", "371524", "371525", "371500", "371581", "370102",
];

const AGENCIES: &[(Option<&str>, &str)] = &[
    (Some("11371523004211234X"), "茌平县财政局"),
    (Some("11371503MB1234567Y"), "聊城市茌平区市场监督管理局"),
    (Some("11371524MB2850123X"), "东阿县市场监督管理局"),
    (Some("11371500004302318K"), "聊城市生态环境局"),
    (Some("113701000042015570"), "济南市城市管理局"),
    (None, "阳谷县某乡镇人民政府"),
];

pub fn sample_year(year: i32, count: usize, seed: u64) -> Vec<AnnualRow> {
    let calendar = Calendar::embedded();
    let rules = DeadlineRules::default();
    let judged_on = NaiveDate::from_ymd_opt(year + 1, 1, 31).expect("a valid date");
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("a valid date");
    let days_in_year = NaiveDate::from_ymd_opt(year, 12, 31)
        .expect("a valid date")
        .ordinal0() as u64
        + 1;
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|index| {
            let category = *rng.pick(Category::ALL);
            let division = *rng.pick(DIVISIONS);
            let (uscc, name) = *rng.pick(AGENCIES);
            let decided_on = first + Days::new(rng.below(days_in_year));
            let published = rng.below(100) < 85;
            // Most are published within a fortnight, one in ten up to 40 days late.
            let spread = if rng.below(10) == 0 { 40 } else { 12 };
            let delay = rng.below(spread);
            let first_published_on = published.then(|| decided_on + Days::new(delay));
            let publication = rules.publication(&calendar, category, division, decided_on);
            let withdrawn = (rng.below(100) < 10).then(|| *rng.pick(&WithdrawalReason::ALL));
            let withdrawal_overdue = match withdrawn {
                Some(WithdrawalReason::PublicityExpired | WithdrawalReason::Manual) | None => false,
                Some(_) => {
                    let changed_on = decided_on + Days::new(rng.below(60));
                    let retracted_on = changed_on + Days::new(rng.below(6));
                    rules
                        .withdrawal(
                            &calendar,
                            Status::Revoked,
                            division,
                            Some(changed_on),
                            changed_on,
                        )
                        .expect("revoked withdraws")
                        .late(judged_on, Some(retracted_on))
                }
            };
            AnnualRow {
                record_id: format!("sample:{year}-{index:05}"),
                category,
                division_code: division.to_owned(),
                agency_uscc: uscc.map(str::to_owned),
                agency_name: name.to_owned(),
                decided_on,
                withdrawn,
                first_published_on,
                publication_overdue: publication.late(judged_on, first_published_on),
                withdrawal_overdue,
            }
        })
        .collect()
}
