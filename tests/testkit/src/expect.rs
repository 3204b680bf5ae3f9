//! What each disclosure platform should show for a set of cases (CONTRACT §4 routing: a record
//! goes to every platform whose area contains the agency's division).

use std::collections::BTreeMap;

use crate::case::{Case, Outcome};

/// The level of a disclosure platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    County,
    City,
    Province,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::City => "city",
            Level::Province => "province",
        }
    }
}

/// One disclosure platform: its level and GB/T 2260 division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub level: Level,
    pub division: &'static str,
    pub name: &'static str,
}

impl Platform {
    /// The feed topic without prefix: `disclosure.<level>.<division>`.
    pub fn topic(&self) -> String {
        format!("disclosure.{}.{}", self.level.as_str(), self.division)
    }

    /// Whether this platform's area contains `division`: the province by its first two digits, a
    /// city by its first four, a county only itself.
    pub fn contains(&self, division: &str) -> bool {
        let digits = match self.level {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
        };
        division.len() == 6 && self.division.get(..digits) == division.get(..digits)
    }
}

/// The four platforms of the demo.
pub const DEMO_PLATFORMS: [Platform; 4] = [
    Platform {
        level: Level::County,
        division: "371523",
        name: "茌平县",
    },
    Platform {
        level: Level::County,
        division: "371524",
        name: "东阿县",
    },
    Platform {
        level: Level::City,
        division: "371500",
        name: "聊城市",
    },
    Platform {
        level: Level::Province,
        division: "370000",
        name: "山东省",
    },
];

/// How many of `cases` (each in its latest version) are published on `platform`.
pub fn records_in_force(platform: &Platform, cases: &[Case]) -> usize {
    cases
        .iter()
        .filter(|case| {
            platform.contains(case.division_code()) && case.expected_outcome().is_published()
        })
        .count()
}

/// Cases per (division, outcome label), for summaries.
pub fn outcome_counts(cases: &[Case]) -> BTreeMap<(&'static str, String), usize> {
    let mut counts = BTreeMap::new();
    for case in cases {
        *counts
            .entry((case.division_code(), case.expected_outcome().label()))
            .or_insert(0) += 1;
    }
    counts
}

/// The cases whose outcome is not `Published`, with it, sorted by record id.
pub fn not_published(cases: &[Case]) -> Vec<(String, Outcome)> {
    let mut list: Vec<(String, Outcome)> = cases
        .iter()
        .map(|case| (case.record_id(), case.expected_outcome()))
        .filter(|(_, outcome)| !outcome.is_published())
        .collect();
    list.sort();
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Classification, Status};
    use crate::generate::{generate, GenConfig};

    #[test]
    fn containment_follows_the_division_hierarchy() {
        let [chiping, donge, city, province] = DEMO_PLATFORMS;
        assert!(
            chiping.contains("371523")
                && !chiping.contains("371524")
                && !chiping.contains("371500")
        );
        assert!(donge.contains("371524"));
        assert!(city.contains("371523") && city.contains("371524") && city.contains("371500"));
        assert!(!city.contains("371600"));
        assert!(
            province.contains("371500")
                && province.contains("370102")
                && !province.contains("110101")
        );
        assert!(!province.contains("37"));
        assert_eq!(city.topic(), "disclosure.city.371500");
    }

    #[test]
    fn counts_only_published_cases_in_the_area() {
        let mut cases = generate(&GenConfig::default()).unwrap_or_default();
        let [chiping, donge, city, province] = DEMO_PLATFORMS;
        let published = |division: &str| {
            cases
                .iter()
                .filter(|c| c.division_code() == division && c.expected_outcome().is_published())
                .count()
        };
        let (a, b, c) = (
            published("371523"),
            published("371524"),
            published("371500"),
        );
        assert_eq!(records_in_force(&chiping, &cases), a);
        assert_eq!(records_in_force(&donge, &cases), b);
        assert_eq!(records_in_force(&city, &cases), a + b + c);
        assert_eq!(records_in_force(&province, &cases), a + b + c);
        // Withholding or revoking one county case lowers the county, the city and the province.
        let index = cases
            .iter()
            .position(|c| c.division_code() == "371523" && c.expected_outcome().is_published());
        let Some(index) = index else {
            panic!("no published chiping case")
        };
        cases[index].status = Status::Revoked;
        assert_eq!(records_in_force(&chiping, &cases), a - 1);
        assert_eq!(records_in_force(&province, &cases), a + b + c - 1);
        cases[index].status = Status::InForce;
        cases[index].classification = Classification::Secret;
        assert_eq!(records_in_force(&city, &cases), a + b + c - 1);
        assert_eq!(not_published(&cases).len(), 7);
        let total: usize = outcome_counts(&cases).values().sum();
        assert_eq!(total, cases.len());
    }
}
