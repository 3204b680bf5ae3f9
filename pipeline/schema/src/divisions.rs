//! GB/T 2260 administrative division codes, embedded from `data/gb2260` (yescallop/areacodes, CC0).
//!
//! A code is accepted when it was in use at any time 1981–2024: decisions from 2017 name agencies by
//! the code of their time (茌平县 `371523`, revoked in 2019), and those records stay valid.
//! Containment is by prefix, as the code structure `PPCCXX` defines it.

use std::collections::HashMap;
use std::sync::OnceLock;

const HISTORY_CSV: &str = include_str!("../data/gb2260/history-1981-2024.csv");

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

/// Every code ever in use, with its most recent name.
fn known_codes() -> &'static HashMap<&'static str, &'static str> {
    static CODES: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    CODES.get_or_init(|| {
        HISTORY_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut columns = line.split(',');
                let code = columns.next()?;
                let name = columns.nth(2)?;
                Some((code, name))
            })
            .collect()
    })
}

/// Whether `code` is a six-digit GB/T 2260 code that was in use at some time.
pub fn is_known(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && known_codes().contains_key(code)
}

/// The recorded name of a known code.
pub fn name(code: &str) -> Option<&'static str> {
    known_codes().get(code).copied()
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
/// division): county `371523` ⊂ city `371500` ⊂ province `370000`.
pub fn contains(outer: &str, level: Level, inner: &str) -> bool {
    let n = level.prefix_len();
    outer.len() == 6 && inner.len() == 6 && outer[..n] == inner[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
