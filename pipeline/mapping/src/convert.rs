//! Value conversions a field may declare: amounts (元 / 万元 → yuan with 2 decimals) and dates
//! (any chrono format → `YYYY-MM-DD`).
//!
//! Amounts are done on the decimal digits as text, never through floats: `0.1` 万元 must become
//! exactly `"1000.00"`, and an amount finer than a fen is an error rather than silently rounded,
//! because a disclosed fine must be the decided fine.

use std::fmt::Write as _;

use chrono::format::{Item, ParseErrorKind, StrftimeItems};
use chrono::NaiveDate;

/// The unit a source writes amounts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountUnit {
    /// 元: `5000`, `5000.5`, `5000.50`.
    Yuan,
    /// 万元 (10 000 元): `0.5` → `5000.00`.
    WanYuan,
}

impl AmountUnit {
    pub(crate) fn from_name(name: &str) -> Option<AmountUnit> {
        match name {
            "yuan" => Some(AmountUnit::Yuan),
            "wan_yuan" => Some(AmountUnit::WanYuan),
            _ => None,
        }
    }

    fn decimal_shift(self) -> usize {
        match self {
            AmountUnit::Yuan => 0,
            AmountUnit::WanYuan => 4,
        }
    }

    fn label(self) -> &'static str {
        match self {
            AmountUnit::Yuan => "元",
            AmountUnit::WanYuan => "万元",
        }
    }
}

/// Converts a source amount to yuan with exactly two decimals (`"5000.00"`).
///
/// Accepts digits with an optional decimal point (full-width digits and `．` too, as some Chinese
/// systems export them). Errors never quote the value.
pub(crate) fn amount_to_yuan(text: &str, unit: AmountUnit) -> Result<String, String> {
    let normalized: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' => '.',
            other => other,
        })
        .collect();
    let (integer, fraction) = match normalized.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (normalized.as_str(), ""),
    };
    let is_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty()
        || !is_digits(integer)
        || !is_digits(fraction)
        || (normalized.contains('.') && fraction.is_empty())
    {
        return Err(format!(
            "value shaped `{}` is not an amount in {}: write digits with an optional decimal point, like 0.5",
            shape(text),
            unit.label()
        ));
    }
    // Move the decimal point `shift` places right: 0.5 万元 = 5000 元.
    let digits = format!("{integer}{fraction}");
    let point = integer.len() + unit.decimal_shift();
    let padded = if digits.len() < point {
        format!("{digits}{}", "0".repeat(point - digits.len()))
    } else {
        digits
    };
    let (yuan, fen) = padded.split_at(point);
    let fen = fen.trim_end_matches('0');
    if fen.len() > 2 {
        return Err(format!(
            "amount in {} is finer than a fen (0.01 元); the source must give whole fen",
            unit.label()
        ));
    }
    let yuan = yuan.trim_start_matches('0');
    let yuan = if yuan.is_empty() { "0" } else { yuan };
    Ok(format!("{yuan}.{fen:0<2}"))
}

/// Checks a chrono date format when the mapping is loaded: it must parse, and must describe a whole
/// date (a format with only `%Y`, or with a time specifier like `%H`, cannot turn a value into a
/// `YYYY-MM-DD` date). Returns a message for the mapping author.
pub(crate) fn check_date_format(format: &str) -> Result<(), String> {
    if format.trim().is_empty() {
        return Err("date format is empty; write e.g. \"%Y年%m月%d日\" or \"%Y%m%d\"".into());
    }
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "date format `{format}` is not a valid chrono format (see the `%` specifiers of chrono::format::strftime)"
        ));
    }
    let Some(sample) = NaiveDate::from_ymd_opt(2017, 10, 12) else {
        return Err("internal: sample date".into());
    };
    let mut written = String::new();
    // `write!` instead of `to_string()`: formatting a date with a time specifier fails, and
    // `to_string()` would panic on that failure.
    if write!(written, "{}", sample.format(format)).is_err() {
        return Err(format!(
            "date format `{format}` asks for more than a date (a time or zone); use only date specifiers"
        ));
    }
    match NaiveDate::parse_from_str(&written, format) {
        Ok(parsed) if parsed == sample => Ok(()),
        _ => Err(format!(
            "date format `{format}` does not describe a whole date; it needs a year, a month and a day"
        )),
    }
}

/// Parses a source date with the first of `formats` that fits and writes it as `YYYY-MM-DD`.
pub(crate) fn date_to_iso(text: &str, formats: &[String]) -> Result<String, String> {
    let text = text.trim();
    let mut out_of_range = false;
    for format in formats {
        match NaiveDate::parse_from_str(text, format) {
            Ok(date) => return Ok(date.format("%Y-%m-%d").to_string()),
            Err(error) => {
                if matches!(
                    error.kind(),
                    ParseErrorKind::OutOfRange | ParseErrorKind::Impossible
                ) {
                    out_of_range = true;
                }
            }
        }
    }
    let wanted = formats
        .iter()
        .map(|format| format!("`{format}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    if out_of_range {
        Err(format!(
            "value shaped `{}` matches date format {wanted} but is not a calendar date",
            shape(text)
        ))
    } else {
        Err(format!(
            "value shaped `{}` does not match date format {wanted}",
            shape(text)
        ))
    }
}

/// A value's outline for error messages: digits become `9`, ASCII letters `a`, the characters that
/// make up dates and amounts stay, anything else becomes `?`. Tells a reader why a date or amount did
/// not parse without ever printing what might be personal data.
pub(crate) fn shape(text: &str) -> String {
    const KEPT: &str = "年月日元万.,:-/ ．，";
    let outline: String = text
        .trim()
        .chars()
        .take(24)
        .map(|c| {
            if c.is_ascii_digit() || ('０'..='９').contains(&c) {
                '9'
            } else if c.is_ascii_alphabetic() {
                'a'
            } else if KEPT.contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect();
    if text.trim().chars().count() > 24 {
        format!("{outline}…")
    } else {
        outline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wan_yuan_moves_the_point_four_places_exactly() {
        let cases = [
            ("0.5", "5000.00"),
            ("0.1", "1000.00"),
            ("1", "10000.00"),
            ("1.23456", "12345.60"),
            ("0.000001", "0.01"),
            ("12.3456789", "123456.789"),
            ("0", "0.00"),
            ("００．５", "5000.00"),
            ("99999999999999999999", "999999999999999999990000.00"),
        ];
        for (source, expected) in cases {
            let got = amount_to_yuan(source, AmountUnit::WanYuan);
            if expected.split('.').nth(1).map_or(0, str::len) > 2 {
                assert!(got.is_err(), "{source} is finer than a fen: {got:?}");
            } else {
                assert_eq!(got.as_deref(), Ok(expected), "{source}");
            }
        }
    }

    #[test]
    fn yuan_pads_to_two_decimals_and_strips_leading_zeros() {
        assert_eq!(amount_to_yuan("5000", AmountUnit::Yuan).unwrap(), "5000.00");
        assert_eq!(
            amount_to_yuan("5000.5", AmountUnit::Yuan).unwrap(),
            "5000.50"
        );
        assert_eq!(
            amount_to_yuan(" 007.10 ", AmountUnit::Yuan).unwrap(),
            "7.10"
        );
        assert_eq!(amount_to_yuan("0.120", AmountUnit::Yuan).unwrap(), "0.12");
        assert!(amount_to_yuan("0.125", AmountUnit::Yuan).is_err());
    }

    #[test]
    fn malformed_amounts_are_errors_that_do_not_quote_the_value() {
        for bad in [
            "", "-5", "5,000", "5.", ".5", "1e3", "五千", "5000元", "1.2.3",
        ] {
            let error = amount_to_yuan(bad, AmountUnit::Yuan).unwrap_err();
            assert!(
                bad.is_empty() || !error.contains(&format!("`{bad}`")),
                "{bad}: {error}"
            );
        }
        let error = amount_to_yuan("13812345678x", AmountUnit::Yuan).unwrap_err();
        assert!(error.contains("99999999999a"), "{error}");
    }

    #[test]
    fn both_source_date_styles_become_iso() {
        let chinese = vec!["%Y年%m月%d日".to_string()];
        let compact = vec!["%Y%m%d".to_string()];
        assert_eq!(
            date_to_iso("2017年10月12日", &chinese).unwrap(),
            "2017-10-12"
        );
        assert_eq!(date_to_iso("2017年1月5日", &chinese).unwrap(), "2017-01-05");
        assert_eq!(date_to_iso("20171012", &compact).unwrap(), "2017-10-12");
        assert_eq!(date_to_iso(" 20190315 ", &compact).unwrap(), "2019-03-15");
    }

    #[test]
    fn date_tries_each_format_in_order() {
        let formats = vec!["%Y%m%d".to_string(), "%Y-%m-%d".to_string()];
        assert_eq!(date_to_iso("2019-03-15", &formats).unwrap(), "2019-03-15");
    }

    #[test]
    fn bad_dates_say_why_without_the_value() {
        let compact = vec!["%Y%m%d".to_string()];
        let error = date_to_iso("20170230", &compact).unwrap_err();
        assert!(error.contains("not a calendar date"), "{error}");
        assert!(error.contains("99999999"), "{error}");
        let error = date_to_iso("2017/10/12", &compact).unwrap_err();
        assert!(
            error.contains("does not match date format `%Y%m%d`"),
            "{error}"
        );
        assert!(!error.contains("2017"), "{error}");
    }

    #[test]
    fn date_formats_are_checked_when_loading() {
        assert!(check_date_format("%Y年%m月%d日").is_ok());
        assert!(check_date_format("%Y%m%d").is_ok());
        assert!(check_date_format("%Y").unwrap_err().contains("whole date"));
        assert!(check_date_format("%Y-%m-%d %H")
            .unwrap_err()
            .contains("more than a date"));
        assert!(check_date_format("%Q").unwrap_err().contains("not a valid"));
        assert!(check_date_format("").is_err());
    }

    #[test]
    fn shape_hides_letters_and_digits_but_keeps_date_punctuation() {
        assert_eq!(shape("2017年10月12日"), "9999年99月99日");
        assert_eq!(shape("张三"), "??");
        assert_eq!(shape("ab-1"), "aa-9");
        assert!(shape(&"1".repeat(40)).ends_with('…'));
    }
}
