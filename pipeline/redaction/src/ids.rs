//! Check-digit arithmetic of the identifiers the scanner tells apart (DOMAIN.md, "Identifiers").
//!
//! Every function takes the identifier already normalised to ASCII (full-width digits and letters
//! mapped, letters upper-cased, separators removed), as the scanner produces it. They are public so
//! that tests and the hub can ask the engine's own definition of "a valid resident ID" rather than
//! re-implementing it.

use chrono::NaiveDate;

/// The check characters themselves are the schema's: one implementation of each GB formula, shared by
/// validation and redaction, so the two can never disagree on what a valid code is.
pub use dhub_schema::identifiers::{org_code_check_char, resident_id_check_char, uscc_check_char};

/// Two-digit province prefixes that can open a resident ID: the 31 mainland provinces, plus 71
/// (Taiwan), 81/82 (Hong Kong / Macau residence permits) and 83 (Taiwan residents' permits).
/// Requiring one is what keeps random 18-digit serials with a lucky check digit from being masked.
pub fn is_province_prefix(two: &[u8]) -> bool {
    if two.len() != 2 || !two.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = (two[0] - b'0') * 10 + (two[1] - b'0');
    matches!(n, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

fn digits_value(d: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn date(year: u32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// The birth date of an 18-character resident ID (`17 digits + digit or X`) whose province prefix
/// and date are plausible, without looking at the check digit.
pub fn resident_id18_birth_date(id: &[u8]) -> Option<NaiveDate> {
    if id.len() != 18 || !id[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !(id[17].is_ascii_digit() || id[17] == b'X') || !is_province_prefix(&id[..2]) {
        return None;
    }
    let year = digits_value(&id[6..10])?;
    if !(1900..=2100).contains(&year) {
        return None;
    }
    date(year, digits_value(&id[10..12])?, digits_value(&id[12..14])?)
}

/// An 18-character resident ID with a plausible prefix and birth date and a valid check character.
pub fn is_valid_resident_id18(id: &[u8]) -> bool {
    resident_id18_birth_date(id).is_some() && resident_id_check_char(&id[..17]) == Some(id[17])
}

/// The birth date of a legacy 15-digit resident ID: 6 division + `YYMMDD` (19YY) + 3 sequence. There
/// is no check digit, so prefix and date are all that can be checked.
pub fn resident_id15_birth_date(id: &[u8]) -> Option<NaiveDate> {
    if id.len() != 15 || !id.iter().all(u8::is_ascii_digit) || !is_province_prefix(&id[..2]) {
        return None;
    }
    date(
        1900 + digits_value(&id[6..8])?,
        digits_value(&id[8..10])?,
        digits_value(&id[10..12])?,
    )
}

/// The birth date written in an ID-number field, for the minor check: an 18-character ID (check
/// digit not required: the date is readable even when a clerk mistyped the last digit) or a legacy
/// 15-digit one. Full-width digits and surrounding spaces are accepted.
pub fn birth_date_of_id_number(raw: &str) -> Option<NaiveDate> {
    let normalized = normalize_code(raw);
    match normalized.len() {
        18 => resident_id18_birth_date(&normalized),
        15 => resident_id15_birth_date(&normalized),
        _ => None,
    }
}

/// Upper-cased ASCII alphanumerics of `raw`, with full-width forms mapped and everything else
/// (spaces, hyphens) dropped: how codes from structured fields are compared with text.
pub fn normalize_code(raw: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for c in raw.chars() {
        let c = match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            _ => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase() as u8);
        }
    }
    out
}

/// A unified social credit code that is well formed all the way down: registration authority
/// (`1`–`9`, `A`, `N`, `Y`), a type digit, a 6-digit division starting with a province (or `10`,
/// central level), an organisation code with a valid GB 11714 check, and a valid GB 32100 check.
///
/// This is the scanner's test for "an enterprise code, not a card number": an 18-digit bank card
/// passes all of it only by a coincidence of roughly 1 in 341 on top of the structural checks, and
/// resident IDs are tested before it (an ID always wins, see the crate README).
pub fn is_wellformed_uscc(code: &[u8]) -> bool {
    if code.len() != 18 {
        return false;
    }
    let authority_ok = matches!(code[0], b'1'..=b'9' | b'A' | b'N' | b'Y');
    let type_ok = matches!(code[1], b'1'..=b'9');
    let division_ok = code[2..8].iter().all(u8::is_ascii_digit)
        && (is_province_prefix(&code[2..4]) || &code[2..4] == b"10");
    authority_ok
        && type_ok
        && division_ok
        && is_valid_org_code(&code[8..17])
        && uscc_check_char(&code[..17]) == Some(code[17])
}

/// A 9-character organisation code (8 body characters and the check, without the hyphen).
pub fn is_valid_org_code(code: &[u8]) -> bool {
    code.len() == 9 && org_code_check_char(&code[..8]) == Some(code[8])
}

/// A 15-digit business registration number (注册号) with a valid ISO 7064 MOD 11,10 check digit.
pub fn is_valid_registration_no(no: &[u8]) -> bool {
    if no.len() != 15 || !no.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut p = 10u32;
    for &c in &no[..14] {
        let mut s = (p + u32::from(c - b'0')) % 10;
        if s == 0 {
            s = 10;
        }
        p = (s * 2) % 11;
    }
    (p + u32::from(no[14] - b'0')) % 10 == 1
}

/// The Luhn checksum that every bank card number satisfies.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in digits.iter().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_example_from_domain_md_is_valid() {
        assert!(is_valid_resident_id18(b"11010519491231002X"));
        assert!(!is_valid_resident_id18(b"110105194912310021"));
        assert_eq!(
            resident_id18_birth_date(b"11010519491231002X"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
    }

    #[test]
    fn resident_id_needs_province_prefix_and_real_date() {
        // 99 is no province; month 13 is no month.
        let mut bad_prefix = b"99010519491231000".to_vec();
        bad_prefix.push(resident_id_check_char(&bad_prefix).unwrap());
        assert!(!is_valid_resident_id18(&bad_prefix));
        let mut bad_month = b"11010519491331000".to_vec();
        bad_month.push(resident_id_check_char(&bad_month).unwrap());
        assert!(!is_valid_resident_id18(&bad_month));
    }

    #[test]
    fn legacy_id_reads_19yy() {
        assert_eq!(
            resident_id15_birth_date(b"371523800101123"),
            NaiveDate::from_ymd_opt(1980, 1, 1)
        );
        assert_eq!(resident_id15_birth_date(b"371523801301123"), None);
    }

    #[test]
    fn birth_date_of_id_number_accepts_full_width_and_bad_check() {
        assert_eq!(
            birth_date_of_id_number("１１０１０５１９４９１２３１００２Ｘ"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        // Wrong check character: the date is still readable.
        assert_eq!(
            birth_date_of_id_number("110105194912310021"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        assert_eq!(birth_date_of_id_number("E12345678"), None);
    }

    #[test]
    fn uscc_of_a_known_company_is_wellformed() {
        // Huawei Technologies Co., Ltd., a published code.
        assert!(is_wellformed_uscc(b"914403001922038216"));
        assert!(!is_wellformed_uscc(b"914403001922038217"));
        // The placeholder of individual businesses fails, as DOMAIN.md says.
        assert!(!is_wellformed_uscc(b"00000000000000000X"));
    }

    #[test]
    fn org_code_check() {
        assert!(is_valid_org_code(b"192203821"));
        assert!(!is_valid_org_code(b"192203822"));
    }

    #[test]
    fn registration_number_check() {
        // Build one with the algorithm's own check digit, then break it.
        let body = b"37152360012345";
        let good: Vec<u8> = (0..10u8)
            .map(|d| {
                let mut v = body.to_vec();
                v.push(b'0' + d);
                v
            })
            .find(|v| is_valid_registration_no(v))
            .unwrap();
        let mut bad = good.clone();
        bad[14] = if bad[14] == b'9' { b'0' } else { bad[14] + 1 };
        assert!(!is_valid_registration_no(&bad));
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(luhn_valid(b"79927398713"));
    }
}
