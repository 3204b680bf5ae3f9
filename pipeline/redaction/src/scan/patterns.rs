//! Detectors that read more than digits: e-mail, WeChat ids, vehicle plates, passports.

use super::cjk::CharSet;
use super::{
    atom_end, char_after, char_before, classify_alnum, label_before, Class, Hit, Rule, ScanConfig,
    Scratch, TextContext,
};
use crate::ids;

const WECHAT_LABELS: &[&str] = &[
    "微信",
    "微信号",
    "微信号码",
    "WeChat",
    "wechat",
    "Wechat",
    "WECHAT",
    "weixin",
    "Weixin",
    "vx",
    "VX",
    "wx",
    "WX",
];

fn hit(rule: Rule, start: usize, end: usize) -> Hit {
    Hit::mask(rule, start, end)
}

fn is_local_part_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// `local@domain.tld` in ASCII (the `@` may be full-width): the whole address is masked. The
/// allow-list leaves the agency's public mailboxes.
pub(super) fn find_emails(text: &str, cfg: &ScanConfig, s: &mut Scratch) {
    let b = text.as_bytes();
    for &(at, at_len) in &s.ats {
        let mut start = at;
        while start > 0 && is_local_part_byte(b[start - 1]) {
            start -= 1;
        }
        while start < at && b[start] == b'.' {
            start += 1;
        }
        let domain_start = at + at_len;
        let mut end = domain_start;
        while end < b.len() && is_domain_byte(b[end]) {
            end += 1;
        }
        while end > domain_start && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if start == at {
            continue;
        }
        let domain = &text[domain_start..end];
        let Some(dot) = domain.rfind('.') else {
            continue;
        };
        let tld = &domain[dot + 1..];
        if dot == 0 || tld.len() < 2 || !tld.bytes().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        if !cfg.allow_emails.is_empty() {
            let address = format!("{}@{}", &text[start..at], domain).to_ascii_lowercase();
            if cfg.allow_emails.contains(&address) {
                continue;
            }
        }
        s.hits.push(hit(Rule::Email, start, end));
        s.claimed.push((start, end));
    }
}

/// A WeChat id given as such (`微信号：zhang_san88`, `微信 13812345678`): the value after the label,
/// letters, digits, `_` and `-`, at least five characters.
pub(super) fn find_wechat_ids(text: &str, s: &mut Scratch) {
    let b = text.as_bytes();
    for k in 0..s.tokens.len() {
        let t = s.tokens[k];
        let atom_start = k == 0 || s.tokens[k - 1].end != t.start;
        if !atom_start || matches!(char_before(text, t.start), Some('_' | '-')) {
            continue;
        }
        if !label_before(text, t.start, WECHAT_LABELS) {
            continue;
        }
        let mut end = t.start;
        let mut chars = 0;
        while end < b.len() {
            if matches!(b[end], b'_' | b'-') {
                end += 1;
            } else if let Some((_, _, len)) = classify_alnum(b, end) {
                end += len;
            } else {
                break;
            }
            chars += 1;
        }
        if chars >= 5 {
            s.hits.push(hit(Rule::Wechat, t.start, end));
            s.claimed.push((t.start, end));
        }
    }
}

/// Province characters that open a civilian plate (embassy plates, 使/领, are a different format).
/// A bit set: tested before every letter token.
const PLATE_PROVINCES: CharSet =
    CharSet::of("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼");

/// Plate body after the province: a letter, then five characters with at least two digits
/// (ordinary), or six with `D`/`F` first or last and at least four digits (new-energy).
fn is_plate_body(p: &[u8]) -> bool {
    let Some((&city, rest)) = p.split_first() else {
        return false;
    };
    let digits = rest.iter().filter(|c| c.is_ascii_digit()).count();
    city.is_ascii_uppercase()
        && match rest.len() {
            5 => digits >= 2,
            6 => (matches!(rest[0], b'D' | b'F') || matches!(rest[5], b'D' | b'F')) && digits >= 4,
            _ => false,
        }
}

/// Vehicle plates: `鲁P12345`, `鲁P·12345`, `粤BD12345`, `粤B12345D`, `鲁P1234挂`. The province character is
/// masked with the rest; `鲁财罚〔2017〕` and `京ICP备` are not plates (no letter + 5–6 body).
pub(super) fn find_plates(text: &str, s: &mut Scratch) {
    let toks = &s.tokens;
    let mut k = 0;
    while k < toks.len() {
        let t = toks[k];
        let atom_start = k == 0 || toks[k - 1].end != t.start;
        let province = char_before(text, t.start).filter(|c| PLATE_PROVINCES.contains(*c));
        let (true, Class::Letter, Some(province)) = (atom_start, t.class, province) else {
            k += 1;
            continue;
        };
        let last = atom_end(toks, k);
        let atom = &s.norm[t.norm_start..toks[last].norm_start + toks[last].norm_len];
        let mut body: Option<(usize, usize)> = None; // (end, next token)
        let suffix = matches!(char_after(text, toks[last].end), Some('挂' | '学' | '警'));
        if (6..=7).contains(&atom.len()) && is_plate_body(atom) {
            body = Some((toks[last].end, last + 1));
        } else if atom.len() == 5 && suffix && atom[0].is_ascii_uppercase() {
            // Trailer, learner and police plates: four characters before the suffix (`鲁P1234挂`).
            body = Some((toks[last].end, last + 1));
        } else if atom.len() == 1 && last + 1 < toks.len() {
            // `鲁P·12345`: letter, one separator, the rest.
            let next = last + 1;
            let mut between = text[toks[last].end..toks[next].start].chars();
            let sep_ok = matches!(
                (between.next(), between.next()),
                (
                    Some('·' | '•' | '・' | '.' | '．' | ' ' | '-' | '\u{3000}'),
                    None
                )
            );
            let rest_last = atom_end(toks, next);
            let rest = &s.norm
                [toks[next].norm_start..toks[rest_last].norm_start + toks[rest_last].norm_len];
            if sep_ok && (5..=6).contains(&rest.len()) {
                let mut joined = atom.to_vec();
                joined.extend_from_slice(rest);
                if is_plate_body(&joined) {
                    body = Some((toks[rest_last].end, rest_last + 1));
                }
            }
        }
        match body {
            Some((mut end, next)) => {
                if let Some(c @ ('挂' | '学' | '警')) = char_after(text, end) {
                    end += c.len_utf8();
                }
                s.hits
                    .push(hit(Rule::VehiclePlate, t.start - province.len_utf8(), end));
                k = next;
            }
            None => k = last + 1,
        }
    }
}

/// Labels after which a travel document's number follows: passports, the permits of Hong Kong,
/// Macau and Taiwan residents and for travel there (`港澳通行证`, `回乡证`, `台胞证`).
const PASSPORT_LABELS: &[&str] = &[
    "护照",
    "护照号",
    "护照号码",
    "护照编号",
    "护照证号",
    "Passport",
    "passport",
    "PASSPORT",
    "Passport No.",
    "passport no.",
    "Passport No",
    "通行证",
    "通行证号",
    "通行证号码",
    "通行证编号",
    "回乡证",
    "回乡证号",
    "回乡证号码",
    "台胞证",
    "台胞证号",
    "台胞证号码",
];

/// Whether an atom is a Chinese passport number by its shape alone: `E`, `G` (ordinary), `D`
/// (diplomatic), `S` (service) or `P` (public affairs) + 8 digits, or the newer `E` + a letter
/// (not I or O) + 7 digits. Nothing else in case text has one letter before exactly eight digits
/// as a whole atom: licence numbers have more letters (`DLJZ…`, `JY…`), plates five or six
/// characters after the letter.
fn is_passport_shape(atom: &[u8]) -> bool {
    match atom {
        [b'E' | b'G' | b'D' | b'S' | b'P', rest @ ..]
            if rest.len() == 8 && rest.iter().all(u8::is_ascii_digit) =>
        {
            true
        }
        [b'E', letter, rest @ ..] => {
            rest.len() == 7
                && letter.is_ascii_uppercase()
                && !matches!(letter, b'I' | b'O')
                && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Passport and travel-permit numbers: a Chinese passport number wherever it stands
/// ([`is_passport_shape`]), and after a passport or permit label any 6–12 letters and digits with
/// at least one digit (foreign passports, `C`/`H`/`M` permit numbers). Permit numbers are masked
/// only after their label: `C12345678` alone reads as well as a serial or model number.
///
/// An organisation code (GB 11714) can have a passport's shape (`E6040000` + check `8`; one
/// passport number in eleven passes the check). As with resident IDs and USCCs, privacy wins:
/// the code is left only when the record names it as its own, after a `代码` label, or written
/// with its hyphen (`E6040000-8`, a longer atom).
pub(super) fn find_passports(text: &str, ctx: &TextContext, s: &mut Scratch) {
    let toks = &s.tokens;
    let mut k = 0;
    while k < toks.len() {
        let t = toks[k];
        let last = atom_end(toks, k);
        k = last + 1;
        let end = toks[last].end;
        let atom = &s.norm[t.norm_start..toks[last].norm_start + toks[last].norm_len];
        // Most atoms (years, amounts) are too short or too long for any reading below.
        if !(6..=12).contains(&atom.len()) {
            continue;
        }
        // `CZCF-E1234567` or `a_E12345678` are parts of a longer code, not a passport.
        let glued = matches!(char_before(text, t.start), Some('-' | '_' | '/' | '－'))
            || matches!(char_after(text, end), Some('-' | '_' | '/' | '－'));
        if glued || super::overlaps_sorted(&s.claimed, t.start, end) {
            continue;
        }
        let labelled =
            atom.iter().any(u8::is_ascii_digit) && label_before(text, t.start, PASSPORT_LABELS);
        let code = || {
            ids::is_valid_org_code(atom)
                && (ctx.codes.contains(atom) || label_before(text, t.start, &["代码"]))
        };
        if labelled || (is_passport_shape(atom) && !code()) {
            s.hits.push(hit(Rule::Passport, t.start, end));
        }
    }
}
