//! Identifier check digits, implemented here independently of `dhub-schema`.
//!
//! The testkit must not share the hub's check functions: a bug there would otherwise be copied into
//! the test data and the tests would agree with it. Rules from DOMAIN.md: GB 11643 (resident ID),
//! GB 32100 (unified social credit code), GB 11714 (organisation code), and the 15-digit business
//! registration number (ISO 7064 MOD 11,10 check, as used by the former 工商 registries).

use chrono::NaiveDate;

const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 32100 alphabet: digits and capitals without I, O, S, V, Z; a character's value is its index.
pub const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// What individual businesses without a code carry; it fails the GB 32100 check on purpose.
pub const USCC_PLACEHOLDER: &str = "00000000000000000X";

const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The check character of the first 17 digits of a resident ID; `None` unless exactly 17 ASCII digits.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    let digits = ascii_digits(first17)?;
    if digits.len() != 17 {
        return None;
    }
    let sum: u32 = digits
        .iter()
        .zip(RESIDENT_ID_WEIGHTS)
        .map(|(d, w)| d * w)
        .sum();
    Some(RESIDENT_ID_CHECK[(sum % 11) as usize])
}

/// An 18-character resident ID with a real birth date and a matching check character.
pub fn is_valid_resident_id(id: &str) -> bool {
    if id.len() != 18 || !id.is_ascii() {
        return false;
    }
    let (first17, check) = id.split_at(17);
    resident_id_birth_date(id).is_some()
        && resident_id_check_char(first17).map(String::from).as_deref() == Some(check)
}

/// The birth date written in positions 7–14 of an 18-character resident ID.
pub fn resident_id_birth_date(id: &str) -> Option<NaiveDate> {
    let date = id.get(6..14)?;
    NaiveDate::parse_from_str(date, "%Y%m%d").ok()
}

/// Builds a resident ID: division, birth date, a sequence number `0..=999` (odd for men), check.
pub fn resident_id(division: &str, birth: NaiveDate, sequence: u16) -> String {
    let first17 = format!("{division}{}{:03}", birth.format("%Y%m%d"), sequence % 1000);
    // Only `None` for a malformed division, which callers take from the fixed lists in this crate.
    let check = resident_id_check_char(&first17).unwrap_or('?');
    format!("{first17}{check}")
}

fn uscc_value(c: char) -> Option<u32> {
    USCC_ALPHABET.find(c).map(|p| p as u32)
}

/// The GB 32100 check character of the first 17 characters of a USCC.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let values: Option<Vec<u32>> = first17.chars().map(uscc_value).collect();
    let values = values?;
    if values.len() != 17 {
        return None;
    }
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    USCC_ALPHABET.chars().nth(((31 - sum % 31) % 31) as usize)
}

/// An 18-character USCC whose check character matches (the placeholder does not pass).
pub fn is_valid_uscc(code: &str) -> bool {
    if code.len() != 18 || !code.is_ascii() {
        return false;
    }
    let (first17, check) = code.split_at(17);
    uscc_check_char(first17).map(String::from).as_deref() == Some(check)
}

/// Builds a USCC: registration authority (`1` 机构编制, `9` 工商), organisation type (`1` 机关 or
/// enterprise, `2` 个体工商户), six-digit division, nine-character organisation code, check.
pub fn uscc(authority: char, org_type: char, division: &str, org_code: &str) -> String {
    let first17 = format!("{authority}{org_type}{division}{org_code}");
    let check = uscc_check_char(&first17).unwrap_or('?');
    format!("{first17}{check}")
}

fn org_code_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A'..='Z' => Some(u32::from(c) - u32::from('A') + 10),
        _ => None,
    }
}

/// The GB 11714 check character of an organisation code's first eight characters.
pub fn org_code_check_char(first8: &str) -> Option<char> {
    let values: Option<Vec<u32>> = first8.chars().map(org_code_value).collect();
    let values = values?;
    if values.len() != 8 {
        return None;
    }
    let sum: u32 = values
        .iter()
        .zip(ORG_CODE_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

/// A nine-character organisation code (`12345678-9` with the hyphen is accepted too).
pub fn is_valid_org_code(code: &str) -> bool {
    let compact: String = code.chars().filter(|&c| c != '-').collect();
    if compact.len() != 9 || !compact.is_ascii() {
        return false;
    }
    let (first8, check) = compact.split_at(8);
    org_code_check_char(first8).map(String::from).as_deref() == Some(check)
}

/// Appends the GB 11714 check character to an eight-character body.
pub fn org_code(first8: &str) -> String {
    let check = org_code_check_char(first8).unwrap_or('?');
    format!("{first8}{check}")
}

/// The ISO 7064 MOD 11,10 check digit of a registration number's first 14 digits.
pub fn registration_no_check_digit(first14: &str) -> Option<char> {
    let digits = ascii_digits(first14)?;
    if digits.len() != 14 {
        return None;
    }
    let mut product = 10;
    for d in digits {
        let mut sum = (product + d) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    char::from_digit((11 - product) % 10, 10)
}

/// A 15-digit business registration number (注册号) with a matching check digit.
pub fn is_valid_registration_no(number: &str) -> bool {
    if number.len() != 15 || !number.is_ascii() {
        return false;
    }
    let (first14, check) = number.split_at(14);
    registration_no_check_digit(first14)
        .map(String::from)
        .as_deref()
        == Some(check)
}

/// Builds a registration number from the six-digit division and an eight-digit sequence.
pub fn registration_no(division: &str, sequence: u32) -> String {
    let first14 = format!("{division}{:08}", sequence % 100_000_000);
    let check = registration_no_check_digit(&first14).unwrap_or('?');
    format!("{first14}{check}")
}

/// A mainland mobile number: `1[3-9]` and nine more digits.
pub fn is_valid_mobile(number: &str) -> bool {
    let bytes = number.as_bytes();
    bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && bytes.iter().all(u8::is_ascii_digit)
}

fn ascii_digits(text: &str) -> Option<Vec<u32>> {
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_digit(10)
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_example_resident_id_is_valid() {
        assert!(is_valid_resident_id("11010519491231002X"));
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
    }

    #[test]
    fn resident_id_with_wrong_check_or_date_is_invalid() {
        assert!(!is_valid_resident_id("110105194912310021"));
        // 1949-02-30 does not exist; the check digit is right for the digits.
        let bad_date = resident_id(
            "110105",
            NaiveDate::from_ymd_opt(1949, 2, 28).unwrap_or_default(),
            2,
        )
        .replacen("19490228", "19490230", 1);
        let fixed = format!(
            "{}{}",
            &bad_date[..17],
            resident_id_check_char(&bad_date[..17]).unwrap_or('?')
        );
        assert!(!is_valid_resident_id(&fixed));
        assert!(!is_valid_resident_id("11010519491231002"));
        assert!(!is_valid_resident_id("１1010519491231002X"));
    }

    #[test]
    fn built_resident_id_round_trips_birth_date() {
        let birth = NaiveDate::from_ymd_opt(1985, 3, 12).unwrap_or_default();
        let id = resident_id("371524", birth, 123);
        assert!(is_valid_resident_id(&id), "{id}");
        assert_eq!(resident_id_birth_date(&id), Some(birth));
        assert_eq!(&id[14..17], "123");
    }

    #[test]
    fn uscc_check_matches_a_hand_computed_code() {
        // 11 371523 004211235 + check, computed by hand from the GB 32100 weights.
        assert!(is_valid_uscc("113715230042112358"));
        assert!(!is_valid_uscc("113715230042112359"));
        assert_eq!(uscc('1', '1', "371500", "004152095"), "11371500004152095C");
    }

    #[test]
    fn uscc_placeholder_and_bad_alphabet_fail() {
        assert!(!is_valid_uscc(USCC_PLACEHOLDER));
        assert!(!is_valid_uscc("91371524MA3OOOOOO1"));
        assert_eq!(uscc_check_char("9137152"), None);
    }

    #[test]
    fn org_code_check_handles_letters_and_x_and_zero() {
        assert!(is_valid_org_code("004211235"));
        assert!(is_valid_org_code("00421123-5"));
        assert!(!is_valid_org_code("004211236"));
        // Find bodies whose check is X (remainder 1) and 0 (remainder 0) to cover both mappings.
        let mut saw_x = false;
        let mut saw_zero = false;
        for n in 0..200u32 {
            let code = org_code(&format!("MA{:06}", n));
            assert!(is_valid_org_code(&code), "{code}");
            saw_x |= code.ends_with('X');
            saw_zero |= code.ends_with('0');
        }
        assert!(saw_x && saw_zero);
    }

    #[test]
    fn registration_no_check_digit() {
        // A published example of a valid 15-digit registration number.
        assert!(is_valid_registration_no("110108000000016"));
        assert!(!is_valid_registration_no("110108000000017"));
        let built = registration_no("371524", 600_123);
        assert!(is_valid_registration_no(&built), "{built}");
    }

    #[test]
    fn mobile_shape() {
        assert!(is_valid_mobile("13812345678"));
        assert!(!is_valid_mobile("12812345678"));
        assert!(!is_valid_mobile("1381234567"));
    }
}
