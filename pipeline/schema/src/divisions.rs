//! GB/T 2260 administrative division codes, embedded from `data/gb2260` (yescallop/areacodes, CC0),
//! with their history: when each code was in use, and what replaced it.
//!
//! A code is *known* when it was in use at any time 1981–2024: decisions from 2017 name agencies by
//! the code of their time (茌平县 `371523`, revoked in 2019), and those records stay valid.
//! Containment is by prefix, as the code structure `PPCCXX` defines it, after both codes are mapped to
//! their [`canonical`] (current) code, so a platform configured with `371503` 茌平区 receives records
//! that still carry `371523` 茌平县, and the other way round.
//!
//! # The history table
//!
//! `history-1981-2024.csv` has one row per code *and period* (a code may be reused):
//! `代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码`. `状态` is `在用` (in use at the
//! end of 2024), `弃用` (revoked) or `变更` (the code+name record was superseded, the code possibly
//! kept). The two times are years. `新代码` lists `;`-separated codes: a bare code is what the area went
//! to when the row ended; a code with `[YYYY]` is a *partial* transfer of territory in that year while
//! the row stayed in force (not a succession).
//!
//! # Succession ([`canonical`])
//!
//! A code with a row in use is its own canonical code. Otherwise its latest row's bare successors
//! decide: exactly one successor (other than the code itself) is followed, repeatedly, to the end of
//! the chain (`371523` → `371503`). That includes merges (several old codes → one new code: each old
//! area lies wholly inside the new one, so the new area's platform is the right one). A split (two
//! or more bare successors) or no successor stops the chain: the code stays as it is and routing falls
//! back to plain prefix containment of the old code (right for the old code's city and province in
//! nearly all cases, since splits rarely cross city lines). Partial transfers (`[YYYY]`) are ignored.
//!
//! # Validity on a date ([`valid_on`])
//!
//! The table has years only, so a code is valid on a date when one of its rows covers that year,
//! *both ends inclusive*: in the year of a change the old and the new code are both accepted (the
//! month of the change is not recorded; rejecting either would quarantine correct records). Dates
//! after 2024 are judged by the 2024 state: a code in use then is assumed still in use.
//!
//! # Extending the table without a code change
//!
//! [`load_extra`] (or [`Divisions::with_extra_file`]) reads a CSV file of the same format (same
//! header). Each of its rows replaces the embedded row with the same code and start year, or is added:
//! record a 2025 revocation by repeating the code's row with `状态` `弃用`, the end year and the
//! successor; add a new code as a new `在用` row.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, RwLock};

use chrono::{Datelike, NaiveDate};

const HISTORY_CSV: &str = include_str!("../data/gb2260/history-1981-2024.csv");
const HISTORY_ORIGIN: &str = "history-1981-2024.csv (embedded)";
const HEADER: &str = "代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码";
/// Longest succession chain followed; real chains are 1–3 steps, this only stops a cycle.
const MAX_CHAIN: usize = 16;

/// The level of an administrative division, read from the code's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    City,
    County,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
        }
    }

    /// How many leading digits of a code identify an area of this level.
    fn prefix_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
        }
    }
}

/// A table file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DivisionsError {
    #[error("cannot read the division table {}: {source}; check the path", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}:{line}: {message}")]
    Line {
        origin: String,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowStatus {
    InUse,
    Revoked,
    Changed,
}

/// One row of the history: a code with one name over one period.
#[derive(Debug, Clone)]
struct Period {
    name: String,
    status: RowStatus,
    from_year: i32,
    until_year: Option<i32>,
    /// Bare `新代码` entries: where the area went when this row ended.
    successors: Vec<String>,
}

/// A division table: the embedded history, possibly extended from a file.
#[derive(Debug, Clone)]
pub struct Divisions {
    periods: HashMap<String, Vec<Period>>,
    /// Revoked code → its current code, for every code whose chain of single successors is non-empty.
    canonical: HashMap<String, String>,
}

impl Divisions {
    /// The embedded 1981–2024 history (parsed once).
    pub fn embedded() -> &'static Divisions {
        static EMBEDDED: OnceLock<Divisions> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            let mut periods = HashMap::new();
            parse_into(&mut periods, HISTORY_CSV, HISTORY_ORIGIN)
                .expect("the embedded division history parses (tested)");
            Divisions::from_periods(periods)
        })
    }

    /// The embedded history plus the rows of a CSV file in the same format (see the module doc).
    pub fn with_extra_file(path: &Path) -> Result<Divisions, DivisionsError> {
        let text = std::fs::read_to_string(path).map_err(|source| DivisionsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Divisions::with_extra(&text, &path.display().to_string())
    }

    /// The embedded history plus rows given as CSV text; `origin` names the text in errors.
    pub fn with_extra(csv: &str, origin: &str) -> Result<Divisions, DivisionsError> {
        let mut periods = Divisions::embedded().periods.clone();
        parse_into(&mut periods, csv, origin)?;
        Ok(Divisions::from_periods(periods))
    }

    fn from_periods(periods: HashMap<String, Vec<Period>>) -> Divisions {
        let mut table = Divisions {
            periods,
            canonical: HashMap::new(),
        };
        let canonical = table
            .periods
            .keys()
            .filter_map(|code| {
                let current = table.follow(code)?;
                Some((code.clone(), current))
            })
            .collect();
        table.canonical = canonical;
        table
    }

    /// The single successor of a code that is no longer in use, if the history names exactly one.
    fn single_successor(&self, code: &str) -> Option<&str> {
        let periods = self.periods.get(code)?;
        if periods.iter().any(|p| p.status == RowStatus::InUse) {
            return None;
        }
        let latest = periods.iter().max_by_key(|p| p.from_year)?;
        match latest.successors.as_slice() {
            [only] if only != code => Some(only),
            _ => None,
        }
    }

    /// The end of the chain of single successors from `code`, or `None` when there is no step.
    fn follow(&self, code: &str) -> Option<String> {
        let mut current = self.single_successor(code)?;
        let mut seen = vec![code];
        while let Some(next) = self.single_successor(current) {
            if seen.contains(&next) || seen.len() >= MAX_CHAIN {
                break;
            }
            seen.push(current);
            current = next;
        }
        Some(current.to_owned())
    }

    /// Whether `code` is a six-digit code that was in use at some time.
    pub fn is_known(&self, code: &str) -> bool {
        is_six_digits(code) && self.periods.contains_key(code)
    }

    /// The name of a known code in its latest period.
    pub fn name(&self, code: &str) -> Option<&str> {
        let periods = self.periods.get(code)?;
        periods
            .iter()
            .max_by_key(|p| p.from_year)
            .map(|p| p.name.as_str())
    }

    /// The current code for `code`: itself when in use, unknown or without a clear successor, else the
    /// end of its chain of single successors (`371523` → `371503`).
    pub fn canonical<'a>(&'a self, code: &'a str) -> &'a str {
        self.canonical.get(code).map_or(code, String::as_str)
    }

    /// Whether `code` was in use in the year of `date` (both ends of a period inclusive; see the
    /// module doc).
    pub fn valid_on(&self, code: &str, date: NaiveDate) -> bool {
        let year = date.year();
        self.periods.get(code).is_some_and(|periods| {
            periods
                .iter()
                .any(|p| p.from_year <= year && p.until_year.is_none_or(|until| year <= until))
        })
    }

    /// The years a code was in use, `(from, until)` with `until` absent while in use: for messages
    /// such as "371523 was in use 1997–2019".
    pub fn periods(&self, code: &str) -> Vec<(i32, Option<i32>)> {
        let mut spans: Vec<_> = self
            .periods
            .get(code)
            .map(|periods| {
                periods
                    .iter()
                    .map(|p| (p.from_year, p.until_year))
                    .collect()
            })
            .unwrap_or_default();
        spans.sort();
        spans
    }

    /// Whether the area `outer` (a platform's division at `level`) contains the area `inner` (an
    /// agency's division), comparing canonical codes: county `371523` ⊂ city `371500` ⊂ province
    /// `370000`, and county `371503` receives records of `371523`.
    pub fn contains(&self, outer: &str, level: Level, inner: &str) -> bool {
        let n = level.prefix_len();
        let outer = self.canonical(outer);
        let inner = self.canonical(inner);
        outer.len() == 6 && inner.len() == 6 && outer[..n] == inner[..n]
    }
}

fn is_six_digits(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Parses CSV text of the history format into `periods`; a row replaces the row with the same code
/// and start year.
fn parse_into(
    periods: &mut HashMap<String, Vec<Period>>,
    csv: &str,
    origin: &str,
) -> Result<(), DivisionsError> {
    let error = |line: usize, message: String| DivisionsError::Line {
        origin: origin.to_owned(),
        line,
        message,
    };
    let mut lines = csv.lines().enumerate().map(|(i, line)| (i + 1, line));
    match lines.next() {
        Some((_, header)) if header.trim_start_matches('\u{feff}').trim_end() == HEADER => {}
        _ => {
            return Err(error(
                1,
                format!("the first line must be the header `{HEADER}`"),
            ))
        }
    }
    for (number, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.contains('"') {
            return Err(error(
                number,
                "quoted fields are not supported; fields hold no commas".into(),
            ));
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [code, _province, _prefecture, name, level, status, from, until, successors] =
            fields[..]
        else {
            return Err(error(
                number,
                format!("expected 9 fields, found {}", fields.len()),
            ));
        };
        if !is_six_digits(code) {
            return Err(error(number, format!("code {code:?} is not six digits")));
        }
        if name.is_empty() {
            return Err(error(number, format!("code {code} has no name")));
        }
        if !matches!(level, "省级" | "地级" | "县级") {
            return Err(error(
                number,
                format!("级别 {level:?} must be 省级, 地级 or 县级"),
            ));
        }
        let status = match status {
            "在用" => RowStatus::InUse,
            "弃用" => RowStatus::Revoked,
            "变更" => RowStatus::Changed,
            other => {
                return Err(error(
                    number,
                    format!("状态 {other:?} must be 在用, 弃用 or 变更"),
                ))
            }
        };
        let year = |text: &str, what: &str| {
            text.parse::<i32>()
                .ok()
                .filter(|y| (1949..=2200).contains(y))
                .ok_or_else(|| error(number, format!("{what} {text:?} is not a year")))
        };
        let from_year = year(from, "启用时间")?;
        let until_year = match (status, until) {
            (RowStatus::InUse, "") => None,
            (RowStatus::InUse, _) => {
                return Err(error(number, "a row 在用 has no 变更/弃用时间".into()))
            }
            (_, "") => {
                return Err(error(
                    number,
                    "a row 弃用 or 变更 needs its 变更/弃用时间".into(),
                ))
            }
            (_, text) => Some(year(text, "变更/弃用时间")?),
        };
        if until_year.is_some_and(|until| until < from_year) {
            return Err(error(number, "变更/弃用时间 is before 启用时间".into()));
        }
        let mut bare = Vec::new();
        for entry in successors.split(';').filter(|e| !e.is_empty()) {
            let (successor, partial) = match entry.split_once('[') {
                Some((successor, rest)) => {
                    let year_text = rest.strip_suffix(']').ok_or_else(|| {
                        error(
                            number,
                            format!("新代码 entry {entry:?} must look like 371503[2019]"),
                        )
                    })?;
                    year(year_text, "新代码 year")?;
                    (successor, true)
                }
                None => (entry, false),
            };
            if !is_six_digits(successor) {
                return Err(error(
                    number,
                    format!("新代码 {successor:?} is not six digits"),
                ));
            }
            if !partial {
                bare.push(successor.to_owned());
            }
        }
        let period = Period {
            name: name.to_owned(),
            status,
            from_year,
            until_year,
            successors: bare,
        };
        let rows = periods.entry(code.to_owned()).or_default();
        match rows.iter_mut().find(|p| p.from_year == from_year) {
            Some(existing) => *existing = period,
            None => rows.push(period),
        }
    }
    Ok(())
}

static CURRENT: RwLock<Option<&'static Divisions>> = RwLock::new(None);

/// The table the free functions of this module use: the embedded history, or what [`load_extra`]
/// installed.
pub fn current() -> &'static Divisions {
    let installed = *CURRENT
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    installed.unwrap_or_else(Divisions::embedded)
}

/// Extends the process-wide table with the rows of `path` (see the module doc). Meant for start-up:
/// each call builds a new table from the embedded history plus this file and keeps it for the life
/// of the process (the previous extension is replaced, its memory is not reclaimed).
pub fn load_extra(path: &Path) -> Result<(), DivisionsError> {
    let table: &'static Divisions = Box::leak(Box::new(Divisions::with_extra_file(path)?));
    *CURRENT
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(table);
    Ok(())
}

/// Whether `code` is a six-digit GB/T 2260 code that was in use at some time.
pub fn is_known(code: &str) -> bool {
    current().is_known(code)
}

/// The recorded name of a known code (its latest period's).
pub fn name(code: &str) -> Option<&'static str> {
    current().name(code)
}

/// The current code for `code` (see [`Divisions::canonical`]).
pub fn canonical(code: &str) -> &str {
    let table = current();
    match table.canonical.get(code) {
        Some(current) => current.as_str(),
        None => code,
    }
}

/// Whether `code` was in use on `date` (see [`Divisions::valid_on`]).
pub fn valid_on(code: &str, date: NaiveDate) -> bool {
    current().valid_on(code, date)
}

/// The level a code's shape says: `PP0000` province, `PPCC00` city, otherwise county.
pub fn level_of(code: &str) -> Level {
    if code.ends_with("0000") {
        Level::Province
    } else if code.ends_with("00") {
        Level::City
    } else {
        Level::County
    }
}

/// Whether the area `outer` (a platform's division at `level`) contains the area `inner` (an agency's
/// division), comparing canonical codes (see [`Divisions::contains`]).
pub fn contains(outer: &str, level: Level, inner: &str) -> bool {
    current().contains(outer, level, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn revoked_codes_stay_known() {
        assert!(
            is_known("371523"),
            "茌平县 was revoked in 2019 but old decisions carry it"
        );
        assert!(is_known("371503"));
        assert_eq!(name("371524"), Some("东阿县"));
        assert!(!is_known("371599"));
        assert!(!is_known("37152"));
        assert!(!is_known("abcdef"));
    }

    #[test]
    fn containment_follows_the_code_structure() {
        assert!(contains("371523", Level::County, "371523"));
        assert!(!contains("371524", Level::County, "371523"));
        assert!(contains("371500", Level::City, "371523"));
        assert!(contains("371500", Level::City, "371500"));
        assert!(!contains("371500", Level::City, "371600"));
        assert!(contains("370000", Level::Province, "371523"));
        assert!(!contains("370000", Level::Province, "110105"));
        assert!(contains("110000", Level::Province, "110105"));
    }

    #[test]
    fn level_from_shape() {
        assert_eq!(level_of("370000"), Level::Province);
        assert_eq!(level_of("371500"), Level::City);
        assert_eq!(level_of("371523"), Level::County);
    }

    #[test]
    fn the_embedded_history_parses_completely() {
        let table = Divisions::embedded();
        assert_eq!(table.periods.len(), 6450, "distinct codes per SOURCE.md");
        let rows: usize = table.periods.values().map(Vec::len).sum();
        assert_eq!(rows, 6823, "every row of SOURCE.md's count");
    }

    #[test]
    fn chiping_county_succeeds_to_chiping_district() {
        assert_eq!(canonical("371523"), "371503");
        assert_eq!(canonical("371503"), "371503", "in use: its own code");
        assert_eq!(canonical("999999"), "999999", "unknown: unchanged");
        // 372524 茌平县 of 聊城地区 (1981–1997) → 371523 → 371503: the chain is followed to its end.
        assert_eq!(canonical("372524"), "371503");
    }

    #[test]
    fn routing_sends_old_and_new_codes_to_the_same_county_platform() {
        assert!(
            contains("371503", Level::County, "371523"),
            "new platform, old record"
        );
        assert!(
            contains("371523", Level::County, "371503"),
            "old platform, new record"
        );
        assert!(!contains("371524", Level::County, "371503"));
        assert!(!contains("371524", Level::County, "371523"));
    }

    #[test]
    fn a_merge_is_followed_across_cities() {
        // 371202 莱城区 of 莱芜市 went to 370116 莱芜区 of 济南市 in 2018 (its `[2006]` entry is a
        // partial transfer, not a successor).
        assert_eq!(canonical("371202"), "370116");
        assert!(contains("370100", Level::City, "371202"));
        assert!(
            !contains("371200", Level::City, "371202"),
            "莱芜市 has no successor code"
        );
    }

    #[test]
    fn a_split_is_not_followed() {
        // 130103 桥东区 (石家庄) was split between 130102 and 130104 in 2014.
        assert_eq!(canonical("130103"), "130103");
        assert!(
            contains("130100", Level::City, "130103"),
            "prefix containment still holds"
        );
        assert!(!contains("130102", Level::County, "130103"));
    }

    #[test]
    fn validity_by_year_with_the_change_year_inclusive() {
        assert!(valid_on("371523", date("2017-06-01")));
        assert!(
            valid_on("371523", date("2019-11-30")),
            "year of the change: both accepted"
        );
        assert!(valid_on("371503", date("2019-01-02")));
        assert!(!valid_on("371523", date("2020-01-01")));
        assert!(!valid_on("371503", date("2018-12-31")));
        assert!(
            valid_on("371503", date("2026-03-01")),
            "in use in 2024: assumed still"
        );
        assert!(!valid_on("999999", date("2020-01-01")));
        assert_eq!(current().periods("371523"), vec![(1997, Some(2019))]);
    }

    #[test]
    fn an_extra_file_revokes_a_code_and_adds_its_successor() {
        let extra = format!(
            "{HEADER}\n371524,山东省,聊城市,东阿县,县级,弃用,1997,2025,371599\n\
             371599,山东省,聊城市,东阿区,县级,在用,2025,,\n"
        );
        let table = Divisions::with_extra(&extra, "extra.csv").unwrap();
        assert!(table.is_known("371599"));
        assert_eq!(table.name("371599"), Some("东阿区"));
        assert_eq!(table.canonical("371524"), "371599");
        assert!(table.contains("371599", Level::County, "371524"));
        assert!(!table.valid_on("371524", date("2026-01-01")));
        assert_eq!(
            table.periods("371524"),
            vec![(1997, Some(2025))],
            "replaced, not added"
        );
        // The embedded table is untouched.
        assert!(!Divisions::embedded().is_known("371599"));
    }

    #[test]
    fn a_bad_extra_file_names_its_line() {
        let bad = format!(
            "{HEADER}\n371599,山东省,聊城市,东阿区,县级,在用,2025,,\n3715,x,y,z,县级,在用,2025,,\n"
        );
        let error = Divisions::with_extra(&bad, "extra.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "extra.csv:3: code \"3715\" is not six digits"
        );
        let error = Divisions::with_extra("code,name\n", "extra.csv").unwrap_err();
        assert!(error
            .to_string()
            .starts_with("extra.csv:1: the first line must be the header"));
        let bad = format!("{HEADER}\n371599,山东省,聊城市,东阿区,县级,在用,2025,2026,\n");
        assert_eq!(
            Divisions::with_extra(&bad, "x.csv")
                .unwrap_err()
                .to_string(),
            "x.csv:2: a row 在用 has no 变更/弃用时间"
        );
        let bad =
            format!("{HEADER}\n371599,山东省,聊城市,东阿区,县级,弃用,2025,2026,371503[20x]\n");
        assert!(Divisions::with_extra(&bad, "x.csv").is_err());
        let missing = Divisions::with_extra_file(Path::new("/nonexistent/divisions.csv"));
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/divisions.csv"));
    }
}
