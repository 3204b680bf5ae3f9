//! Check digits of the identifiers in DOMAIN.md: resident ID (GB 11643), unified social credit code
//! (GB 32100) and organisation code (GB 11714). Pure functions; they never echo the checked value, so
//! their results are safe to put into error messages.

use chrono::NaiveDate;

/// Why an identifier was refused. The text names the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdProblem {
    Length {
        expected: &'static str,
        found: usize,
    },
    Charset(&'static str),
    BirthDate,
    CheckDigit,
}

impl std::fmt::Display for IdProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdProblem::Length { expected, found } => {
                write!(f, "must be {expected} characters long, found {found}")
            }
            IdProblem::Charset(rule) => write!(f, "has a character outside {rule}"),
            IdProblem::BirthDate => f.write_str("has no valid birth date"),
            IdProblem::CheckDigit => f.write_str("check digit does not match"),
        }
    }
}

const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_ID_CHECK: [u8; 11] = *b"10X98765432";

/// The check character of the first 17 digits of an 18-character resident ID.
pub fn resident_id_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(RESIDENT_ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    Some(RESIDENT_ID_CHECK[(sum % 11) as usize])
}

/// Validates an 18-character resident ID (valid birth date and check digit) or a 15-digit legacy one
/// (valid birth date, 2-digit year read as 19YY). Returns the birth date.
pub fn check_resident_id(id: &str) -> Result<NaiveDate, IdProblem> {
    let bytes = id.as_bytes();
    match bytes.len() {
        18 => {
            if !bytes[..17].iter().all(u8::is_ascii_digit) {
                return Err(IdProblem::Charset("digits (last may be X)"));
            }
            let last = bytes[17].to_ascii_uppercase();
            if !(last.is_ascii_digit() || last == b'X') {
                return Err(IdProblem::Charset("digits (last may be X)"));
            }
            let birth = parse_birth(&id[6..14]).ok_or(IdProblem::BirthDate)?;
            if resident_id_check_char(&bytes[..17]) != Some(last) {
                return Err(IdProblem::CheckDigit);
            }
            Ok(birth)
        }
        15 => {
            if !bytes.iter().all(u8::is_ascii_digit) {
                return Err(IdProblem::Charset("digits"));
            }
            parse_birth(&format!("19{}", &id[6..12])).ok_or(IdProblem::BirthDate)
        }
        found => Err(IdProblem::Length {
            expected: "18 (or 15 for legacy IDs)",
            found,
        }),
    }
}

fn parse_birth(yyyymmdd: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(yyyymmdd, "%Y%m%d").ok()
}

/// The 31 characters of GB 32100 in value order (no I, O, S, V, Z).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Individual businesses without a code may carry this placeholder (DOMAIN.md); it fails the check.
pub const USCC_PLACEHOLDER: &str = "00000000000000000X";

fn uscc_value(c: u8) -> Option<u32> {
    USCC_ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character of the first 17 characters of a unified social credit code.
pub fn uscc_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, weight) in first17.iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(*c)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[check as usize])
}

/// The outcome of checking a USCC: early pilot codes may fail the check digit yet be legal, so that is
/// a warning for the caller to record, not a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsccCheck {
    Valid,
    Placeholder,
    CheckDigitMismatch,
}

/// Validates length and alphabet of a USCC; the check digit only yields a warning.
pub fn check_uscc(code: &str) -> Result<UsccCheck, IdProblem> {
    if code == USCC_PLACEHOLDER {
        return Ok(UsccCheck::Placeholder);
    }
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return Err(IdProblem::Length {
            expected: "18",
            found: code.chars().count(),
        });
    }
    if !bytes.iter().all(|&c| uscc_value(c).is_some()) {
        return Err(IdProblem::Charset("0-9 and A-Y without I, O, S, V, Z"));
    }
    Ok(if uscc_check_char(&bytes[..17]) == Some(bytes[17]) {
        UsccCheck::Valid
    } else {
        UsccCheck::CheckDigitMismatch
    })
}

const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The check character of the first 8 characters of an organisation code.
pub fn org_code_check_char(first8: &[u8]) -> Option<u8> {
    if first8.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, weight) in first8.iter().zip(ORG_CODE_WEIGHTS) {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        sum += value * weight;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        n => b'0' + n as u8,
    })
}

/// Validates an organisation code, written `12345678-9` or `123456789`.
pub fn check_org_code(code: &str) -> Result<(), IdProblem> {
    let compact: Vec<u8> = code.bytes().filter(|&b| b != b'-').collect();
    if compact.len() != 9 {
        return Err(IdProblem::Length {
            expected: "9 (8 + check, optionally with a hyphen)",
            found: compact.len(),
        });
    }
    if !compact
        .iter()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return Err(IdProblem::Charset("digits and capital letters"));
    }
    if org_code_check_char(&compact[..8]) != Some(compact[8]) {
        return Err(IdProblem::CheckDigit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_example_from_domain_is_valid() {
        let birth = check_resident_id("11010519491231002X").unwrap();
        assert_eq!(birth, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
    }

    #[test]
    fn resident_id_with_wrong_check_digit_is_refused() {
        assert_eq!(
            check_resident_id("110105194912310021"),
            Err(IdProblem::CheckDigit)
        );
    }

    #[test]
    fn resident_id_with_impossible_birth_date_is_refused() {
        let mut id = b"11010519491331002".to_vec();
        id.push(resident_id_check_char(&id).unwrap());
        assert_eq!(
            check_resident_id(std::str::from_utf8(&id).unwrap()),
            Err(IdProblem::BirthDate)
        );
    }

    #[test]
    fn legacy_15_digit_id_reads_19yy_birth() {
        let birth = check_resident_id("110105491231002").unwrap();
        assert_eq!(birth, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
    }

    #[test]
    fn uscc_known_valid_code_passes_and_altered_one_warns() {
        let body = b"91371523MA3C8K7T0";
        let check = uscc_check_char(body).unwrap();
        let mut good = body.to_vec();
        good.push(check);
        let good = String::from_utf8(good).unwrap();
        assert_eq!(check_uscc(&good), Ok(UsccCheck::Valid));
        let other = if check == b'0' { '1' } else { '0' };
        let bad = format!("{}{}", &good[..17], other);
        assert_eq!(check_uscc(&bad), Ok(UsccCheck::CheckDigitMismatch));
    }

    #[test]
    fn uscc_placeholder_is_accepted_and_bad_alphabet_refused() {
        assert_eq!(check_uscc(USCC_PLACEHOLDER), Ok(UsccCheck::Placeholder));
        assert!(matches!(
            check_uscc("91371523MA3C8K7TOI"),
            Err(IdProblem::Charset(_))
        ));
        assert!(matches!(check_uscc("9137"), Err(IdProblem::Length { .. })));
    }

    #[test]
    fn org_code_check_digit() {
        // GB 11714 worked example: D2143569-X.
        assert_eq!(check_org_code("D2143569-X"), Ok(()));
        assert_eq!(check_org_code("D2143569-1"), Err(IdProblem::CheckDigit));
    }

    #[test]
    fn problems_never_echo_the_value() {
        let message = check_resident_id("110105194912310021")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("1101051949"));
    }
}
