//! Detectors that read more than digits: e-mail, WeChat ids, vehicle plates, residential addresses.

use super::{
    char_after, char_before, classify_alnum, label_before, single_separator_between, Class, Hit,
    Rule, ScanConfig, Scratch, Token,
};

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
    Hit {
        start,
        end,
        rule,
        prio: 0,
        pseudonym: None,
    }
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
const PLATE_PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

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

/// Index of the last token of the atom (adjacent tokens) starting at `k`.
fn atom_end(toks: &[Token], k: usize) -> usize {
    let mut last = k;
    while last + 1 < toks.len() && toks[last + 1].start == toks[last].end {
        last += 1;
    }
    last
}

/// Unit markers after a number, longest first. Strong markers (building, unit, room) make a
/// residential address on their own; weak ones need a road before the number (`振兴路12号`), which
/// is what keeps document numbers (`〔2017〕12号`) and dates (`10月12号`) out.
const MARKERS: [(&str, bool); 12] = [
    ("号楼", true),
    ("号院", true),
    ("单元", true),
    ("栋", true),
    ("幢", true),
    ("室", true),
    ("号", false),
    ("座", false),
    ("楼", false),
    ("层", false),
    ("弄", false),
    ("组", false),
];

/// Characters that end a road, lane, village or compound name.
const ROAD_CHARS: &str = "路街巷弄道里村同屯庄区苑园院";

fn marker_at(text: &str, pos: usize) -> Option<(&'static str, bool)> {
    let rest = &text[pos..];
    MARKERS.iter().copied().find(|(m, _)| rest.starts_with(m))
}

/// A house-number part: an atom, possibly hyphen-joined (`3-2-301`). Returns its end, the next
/// token, and whether it holds a digit.
fn house_number(text: &str, toks: &[Token], k: usize) -> (usize, usize, bool) {
    let mut last = k;
    let mut has_digit = false;
    loop {
        let end = atom_end(toks, last);
        has_digit |= toks[last..=end].iter().any(|t| t.class == Class::Digit);
        last = end;
        let hyphen_next = last + 1 < toks.len()
            && single_separator_between(text, toks[last].end, toks[last + 1].start)
            && matches!(char_after(text, toks[last].end), Some('-' | '－'));
        if hyphen_next && toks[last + 1].end - toks[k].start < 48 {
            last += 1;
        } else {
            break;
        }
    }
    (toks[last].end, last + 1, has_digit)
}

/// Detailed residential addresses: from the first house number to the last unit marker
/// (`振兴路[123号4栋2单元301室]`, `[3-2-301室]`, `幸福小区[5号楼]`). The road and area before stay: they
/// do not single out a household.
pub(super) fn find_addresses(text: &str, s: &mut Scratch) {
    let toks = &s.tokens;
    let mut k = 0;
    while k < toks.len() {
        let start = toks[k].start;
        let (number_end, after_number, mut has_digit) = house_number(text, toks, k);
        let Some((first_marker, first_strong)) = marker_at(text, number_end) else {
            k = after_number;
            continue;
        };
        let (mut strong, mut last_strong) = (first_strong, first_strong);
        let mut end = number_end + first_marker.len();
        let mut next = after_number;
        while next < toks.len() && toks[next].start == end {
            let (n_end, n_after, n_digit) = house_number(text, toks, next);
            match marker_at(text, n_end) {
                Some((marker, st)) => {
                    end = n_end + marker.len();
                    strong |= st;
                    last_strong = st;
                    has_digit |= n_digit;
                    next = n_after;
                }
                // `3单元201`: a room number written without 室 after a building or unit.
                None if last_strong && toks[next].class == Class::Digit => {
                    end = n_end;
                    next = n_after;
                    break;
                }
                None => break,
            }
        }
        let after_road = matches!(first_marker, "号" | "弄" | "组")
            && char_before(text, start).is_some_and(|c| ROAD_CHARS.contains(c));
        if has_digit && (strong || after_road) {
            s.hits.push(hit(Rule::Address, start, end));
        }
        k = next;
    }
}
