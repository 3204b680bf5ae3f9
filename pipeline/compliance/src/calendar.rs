//! The working-day calendar: weekends and statutory holidays are off, and some weekend days are
//! adjusted working days (调休上班).
//!
//! The data is the State Council's yearly holiday notices as published by NateScarlet/holiday-cn
//! (MIT; `data/holidays-cn/SOURCE.md`), one `YYYY.json` file per notice year, embedded at build time
//! (`build.rs` embeds every such file in the folder, so a new year is a new file, no code change). At
//! run time [`Calendar::with_dir`] adds or replaces years from a folder of files in the same format.
//!
//! # Years the calendar does not cover
//!
//! A year is *covered* when a file for it is loaded. A date in an uncovered year is judged by the
//! weekday alone, and every answer that looked at such a date says so: [`Reckoned::uncovered_years`]
//! is not empty and [`Reckoned::estimated`] is true. The caller turns that into a loud warning and a
//! metric; it is never a silent guess.
//!
//! # Counting rule
//!
//! "Within N working days of the decision" (国办发〔2018〕118号: 7 working days for licensing and
//! penalties, 20 for the rest): the decision day itself is not counted, and the period ends with the
//! N-th working day after it, inclusive. This is the general rule for periods: 民法典 Art. 201 ("按照年、
//! 月、日、小时计算期间的，开始的当日不计入，自下一日开始计算") and 行政处罚法 (2021) Art. 85, which reads
//! its "two / three / five / seven days" as working days excluding statutory holidays. So a decision on
//! a Monday with no holiday in the week is due on the Wednesday of the next week (7 working days); a
//! decision on a holiday or weekend counts from the next working day just the same.
//! [`Calendar::add_working_days`] returns that last day; [`Calendar::working_days_between`] counts the
//! working days in `(a, b]`, so `working_days_between(d, add_working_days(d, n)) == n`.
//!
//! # Caveat from the data
//!
//! Files are keyed by the notice's year, and a notice may list days of the previous December
//! (`2023.json` has `2022-12-31`). All loaded files are merged, so such a day is known when its notice
//! is loaded; a late-December date is judged by its own year's coverage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/embedded_holidays.rs"));

/// An answer that may rest on a weekday-only guess for years the calendar does not cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reckoned<T> {
    pub value: T,
    /// Years of the dates looked at that the calendar has no data for, ascending; empty when exact.
    pub uncovered_years: Vec<i32>,
}

impl<T> Reckoned<T> {
    /// Whether the answer guessed (weekends only) for at least one uncovered year.
    pub fn estimated(&self) -> bool {
        !self.uncovered_years.is_empty()
    }

    /// Applies `f` to the value, keeping the uncovered years.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reckoned<U> {
        Reckoned {
            value: f(self.value),
            uncovered_years: self.uncovered_years,
        }
    }
}

/// A due date: the last day of a period.
pub type Due = Reckoned<NaiveDate>;

/// A calendar file or folder that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read the holiday calendar {}: {source}; check the path", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error(
        "{date} is a day off in {first} but a working day in {second}, or the other way round; \
         correct one of the files"
    )]
    Conflict {
        date: NaiveDate,
        first: String,
        second: String,
    },
}

/// One notice year as upstream publishes it (`schema.json`). Upstream's `$schema` / `$id` keys are
/// allowed, so unknown keys are not refused here.
#[derive(Debug, Deserialize)]
struct YearFile {
    year: i32,
    #[allow(dead_code)]
    papers: Vec<String>,
    days: Vec<DayEntry>,
}

#[derive(Debug, Deserialize)]
struct DayEntry {
    #[allow(dead_code)]
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

#[derive(Debug, Clone)]
struct ParsedYear {
    origin: String,
    /// `(date, day off?)`
    days: Vec<(NaiveDate, bool)>,
}

/// Working days: weekends and statutory holidays off, adjusted working days on.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Listed days: `true` a day off, `false` an adjusted working day.
    listed: BTreeMap<NaiveDate, bool>,
    /// Covered year → the file it came from.
    years: BTreeMap<i32, String>,
}

impl Calendar {
    /// The calendar compiled into the binary (2023–2026 at the time of writing).
    pub fn embedded() -> Calendar {
        let years = embedded_years().expect("the embedded holiday files parse (tested)");
        Calendar::build(years).expect("the embedded holiday files agree (tested)")
    }

    /// The embedded calendar plus every `YYYY.json` file in `dir`: a file for a year the binary
    /// already has replaces it, others add years. Other files in the folder (`SOURCE.md`,
    /// `schema.json`) are not calendar files and are left alone.
    pub fn with_dir(dir: &Path) -> Result<Calendar, CalendarError> {
        let mut years = embedded_years()?;
        let read_error = |source| CalendarError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if file_year(&path).is_some() {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| CalendarError::Read {
                path: path.clone(),
                source,
            })?;
            let (year, parsed) = parse_year(&text, &path.display().to_string(), file_year(&path))?;
            years.insert(year, parsed);
        }
        Calendar::build(years)
    }

    fn build(years: BTreeMap<i32, ParsedYear>) -> Result<Calendar, CalendarError> {
        let mut listed = BTreeMap::new();
        let mut listed_by: BTreeMap<NaiveDate, &str> = BTreeMap::new();
        for parsed in years.values() {
            for &(date, off) in &parsed.days {
                if let Some(previous) = listed.insert(date, off) {
                    if previous != off {
                        return Err(CalendarError::Conflict {
                            date,
                            first: listed_by[&date].to_owned(),
                            second: parsed.origin.clone(),
                        });
                    }
                }
                listed_by.insert(date, &parsed.origin);
            }
        }
        Ok(Calendar {
            listed,
            years: years.into_iter().map(|(y, p)| (y, p.origin)).collect(),
        })
    }

    /// The years with calendar data, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether `year` has calendar data.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The file a covered year came from (for diagnostics).
    pub fn origin(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(String::as_str)
    }

    fn working(&self, date: NaiveDate) -> bool {
        match self.listed.get(&date) {
            Some(&off) => !off,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Reckoned<bool> {
        let mut uncovered = BTreeSet::new();
        self.note(date, &mut uncovered);
        Reckoned {
            value: self.working(date),
            uncovered_years: uncovered.into_iter().collect(),
        }
    }

    fn note(&self, date: NaiveDate, uncovered: &mut BTreeSet<i32>) {
        if !self.covers(date.year()) {
            uncovered.insert(date.year());
        }
    }

    /// The `n`-th working day after `start` (`start` itself not counted; `n == 0` gives `start`).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Due {
        let mut uncovered = BTreeSet::new();
        let mut date = start;
        let mut counted = 0;
        while counted < n {
            date = date.succ_opt().unwrap_or(NaiveDate::MAX);
            if date == NaiveDate::MAX {
                break;
            }
            self.note(date, &mut uncovered);
            if self.working(date) {
                counted += 1;
            }
        }
        Reckoned {
            value: date,
            uncovered_years: uncovered.into_iter().collect(),
        }
    }

    /// The number of working days in `(a, b]`; negative (the count in `(b, a]`) when `b < a`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Reckoned<i64> {
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut uncovered = BTreeSet::new();
        let mut count = 0i64;
        for date in from.iter_days().skip(1).take_while(|d| *d <= to) {
            self.note(date, &mut uncovered);
            if self.working(date) {
                count += 1;
            }
        }
        Reckoned {
            value: sign * count,
            uncovered_years: uncovered.into_iter().collect(),
        }
    }
}

/// The year a file name says (`2026.json` → 2026), or `None` for files that are not calendar years.
fn file_year(path: &Path) -> Option<i32> {
    if path.extension()? != "json" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    if stem.len() == 4 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}

fn embedded_years() -> Result<BTreeMap<i32, ParsedYear>, CalendarError> {
    let mut years = BTreeMap::new();
    for (name, text) in EMBEDDED_YEARS {
        let origin = format!("data/holidays-cn/{name} (embedded)");
        let (year, parsed) = parse_year(text, &origin, file_year(Path::new(name)))?;
        years.insert(year, parsed);
    }
    Ok(years)
}

fn parse_year(
    text: &str,
    origin: &str,
    named_year: Option<i32>,
) -> Result<(i32, ParsedYear), CalendarError> {
    let invalid = |message: String| CalendarError::Invalid {
        origin: origin.to_owned(),
        message,
    };
    let file: YearFile = serde_json::from_str(text).map_err(|error| {
        invalid(format!(
            "{error}; expected {{\"year\", \"papers\", \"days\": [{{\"name\", \"date\", \"isOffDay\"}}]}}"
        ))
    })?;
    if !(1949..=2200).contains(&file.year) {
        return Err(invalid(format!("year {} is out of range", file.year)));
    }
    if let Some(named) = named_year {
        if named != file.year {
            return Err(invalid(format!(
                "the file is named for {named} but holds year {}; rename it",
                file.year
            )));
        }
    }
    if file.days.is_empty() {
        return Err(invalid(format!(
            "lists no days: the State Council notice for {} is not out yet; remove the file until \
             it is, the year is then reported as not covered",
            file.year
        )));
    }
    let mut days: BTreeMap<NaiveDate, bool> = BTreeMap::new();
    for (index, entry) in file.days.iter().enumerate() {
        let date = NaiveDate::parse_from_str(&entry.date, "%Y-%m-%d").map_err(|_| {
            invalid(format!(
                "days[{index}].date {:?} is not YYYY-MM-DD",
                entry.date
            ))
        })?;
        if (date.year() - file.year).abs() > 1 {
            return Err(invalid(format!(
                "days[{index}].date {date} is not within a year of the notice year {}",
                file.year
            )));
        }
        if days
            .insert(date, entry.is_off_day)
            .is_some_and(|previous| previous != entry.is_off_day)
        {
            return Err(invalid(format!(
                "days[{index}]: {date} is listed both as a day off and as a working day"
            )));
        }
    }
    Ok((
        file.year,
        ParsedYear {
            origin: origin.to_owned(),
            days: days.into_iter().collect(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_embedded_calendar_covers_2023_to_2026() {
        let calendar = Calendar::embedded();
        assert_eq!(
            calendar.covered_years().collect::<Vec<_>>(),
            vec![2023, 2024, 2025, 2026]
        );
        // Day counts from SOURCE.md: 34 + 36 + 33 + 39 entries, none repeated across files.
        assert_eq!(calendar.listed.len(), 142);
    }

    #[test]
    fn holidays_and_adjusted_working_days() {
        let calendar = Calendar::embedded();
        assert!(!calendar.is_working_day(date("2025-10-01")).value, "国庆节");
        assert!(
            !calendar.is_working_day(date("2025-10-08")).value,
            "国庆节、中秋节, a Wednesday"
        );
        assert!(
            calendar.is_working_day(date("2025-09-28")).value,
            "调休: a Sunday worked"
        );
        assert!(
            calendar.is_working_day(date("2025-10-11")).value,
            "调休: a Saturday worked"
        );
        assert!(
            !calendar.is_working_day(date("2025-10-12")).value,
            "an ordinary Sunday"
        );
        assert!(calendar.is_working_day(date("2025-10-09")).value);
        assert!(!calendar.is_working_day(date("2025-10-09")).estimated());
    }

    #[test]
    fn seven_working_days_across_the_national_day_week() {
        let calendar = Calendar::embedded();
        // Tuesday 2025-09-30, the last working day before the holiday: 10-01..08 are off, then
        // Thu 9 (1), Fri 10 (2), Sat 11 worked (3), Mon 13 (4), Tue 14 (5), Wed 15 (6), Thu 16 (7).
        let due = calendar.add_working_days(date("2025-09-30"), 7);
        assert_eq!(due.value, date("2025-10-16"));
        assert!(!due.estimated());
        // Friday 2025-09-26: Sun 28 is worked (1), Mon 29 (2), Tue 30 (3), Thu 9 (4), Fri 10 (5),
        // Sat 11 (6), Mon 13 (7). A weekday-only count would give 2025-10-07, inside the holiday.
        assert_eq!(
            calendar.add_working_days(date("2025-09-26"), 7).value,
            date("2025-10-13")
        );
        // 2026: Wednesday 09-30, then 10-01..07 off: Thu 8 (1), Fri 9 (2), Sat 10 worked (3),
        // Mon 12 (4) … Thu 15 (7).
        assert_eq!(
            calendar.add_working_days(date("2026-09-30"), 7).value,
            date("2026-10-15")
        );
        assert_eq!(
            calendar
                .working_days_between(date("2025-09-30"), date("2025-10-16"))
                .value,
            7
        );
        assert_eq!(
            calendar
                .working_days_between(date("2025-10-16"), date("2025-09-30"))
                .value,
            -7
        );
        assert_eq!(
            calendar
                .working_days_between(date("2025-09-30"), date("2025-09-30"))
                .value,
            0
        );
        assert_eq!(
            calendar.add_working_days(date("2025-09-30"), 0).value,
            date("2025-09-30")
        );
    }

    #[test]
    fn a_decision_on_a_holiday_counts_from_the_next_working_day() {
        let calendar = Calendar::embedded();
        assert_eq!(
            calendar.add_working_days(date("2025-10-03"), 1).value,
            date("2025-10-09")
        );
    }

    #[test]
    fn a_year_without_data_is_flagged_never_silently_guessed() {
        let calendar = Calendar::embedded();
        // 2026-12-28 is a Monday; seven working days run into 2027, which has no notice yet.
        let due = calendar.add_working_days(date("2026-12-28"), 7);
        assert!(due.estimated());
        assert_eq!(due.uncovered_years, vec![2027]);
        assert_eq!(due.value, date("2027-01-06"), "weekends only");
        let day = calendar.is_working_day(date("2030-05-01"));
        assert!(day.estimated() && day.value, "a guess, and said to be one");
        let span = calendar.working_days_between(date("2022-12-30"), date("2023-01-03"));
        assert_eq!(span.uncovered_years, vec![2022]);
        assert_eq!(
            span.value, 1,
            "12-31 (listed by the 2023 notice), 01-01, 01-02 off; 01-03 on"
        );
    }

    #[test]
    fn a_folder_adds_a_year_and_replaces_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("2027.json"),
            r#"{"year":2027,"papers":["x"],"days":[{"name":"元旦","date":"2027-01-01","isOffDay":true},
               {"name":"元旦","date":"2027-01-04","isOffDay":true}]}"#,
        )
        .unwrap();
        // A replacement 2025 without the National Day block: 2025-10-01 becomes a working day.
        std::fs::write(
            dir.path().join("2025.json"),
            r#"{"$schema":"x","year":2025,"papers":[],"days":[{"name":"元旦","date":"2025-01-01","isOffDay":true}]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("SOURCE.md"), "not a calendar file").unwrap();
        std::fs::write(dir.path().join("schema.json"), "{}").unwrap();
        let calendar = Calendar::with_dir(dir.path()).unwrap();
        assert!(calendar.covers(2027));
        assert!(
            !calendar.is_working_day(date("2027-01-04")).value,
            "a Monday made a holiday"
        );
        assert!(!calendar.is_working_day(date("2027-01-04")).estimated());
        assert!(
            calendar.is_working_day(date("2025-10-01")).value,
            "the year was replaced"
        );
        assert!(calendar.origin(2027).unwrap().ends_with("2027.json"));
        assert!(calendar.origin(2026).unwrap().contains("embedded"));
    }

    #[test]
    fn bad_files_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("2027.json", r#"{"year":2027,"papers":[],"days":[]}"#);
        let error = Calendar::with_dir(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("2027.json") && error.contains("not out yet"),
            "{error}"
        );
        write(
            "2027.json",
            r#"{"year":2028,"papers":[],"days":[{"name":"a","date":"2028-01-01","isOffDay":true}]}"#,
        );
        let error = Calendar::with_dir(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("named for 2027 but holds year 2028"),
            "{error}"
        );
        write(
            "2027.json",
            r#"{"year":2027,"papers":[],"days":[{"name":"a","date":"2027-13-01","isOffDay":true}]}"#,
        );
        let error = Calendar::with_dir(dir.path()).unwrap_err().to_string();
        assert!(error.contains("days[0].date \"2027-13-01\""), "{error}");
        write("2027.json", r#"{"year":2027,"days":[]}"#);
        let error = Calendar::with_dir(dir.path()).unwrap_err().to_string();
        assert!(error.contains("missing field `papers`"), "{error}");
        // A late-December day listed differently by two notices.
        write(
            "2027.json",
            r#"{"year":2027,"papers":[],"days":[{"name":"a","date":"2026-12-31","isOffDay":true},{"name":"a","date":"2026-10-10","isOffDay":true}]}"#,
        );
        let error = Calendar::with_dir(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("2026-10-10") && error.contains("2027.json"),
            "{error}"
        );
        let missing = Calendar::with_dir(Path::new("/nonexistent/holidays")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/holidays"));
    }
}
