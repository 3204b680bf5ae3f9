//! Numbers: resident IDs, mobiles, landlines, bank cards and accounts, QQ numbers, and the
//! enterprise codes that must be told apart from them.
//!
//! A *chain* is a run of digit tokens joined by single separators (`138 1234 5678`). Every
//! contiguous sub-range of a chain (up to 30 digits) is read as each kind of number; competing
//! readings of the same chain are settled by priority (resident ID, card, legacy ID, mobile,
//! landline, account, QQ), the longest first, and never overlap. The order encodes two decisions:
//!
//! - An 18-character string that is a valid resident ID is masked even when it is also a
//!   well-formed enterprise code, unless the record itself names it as its code or a `信用代码`
//!   label stands before it: a leaked ID is worse than a hidden code.
//! - A well-formed unified social credit code (structure, organisation-code check and code check)
//!   is not read as a card, a phone or a legacy ID.

use super::{
    char_after, char_before, label_before, overlaps_sorted, single_separator_between, Class,
    Detector, Hit, Protected, Rule, ScanConfig, Scratch, TextContext, Token,
};
use crate::ids;

const MAX_GROUPS: usize = 16;
const MAX_DIGITS: usize = 30;

const PHONE_LABELS: &[&str] = &[
    "电话",
    "电话号码",
    "座机",
    "固话",
    "固定电话",
    "联系方式",
    "手机",
    "手机号",
    "手机号码",
    "传真",
    "Tel",
    "TEL",
    "tel",
    "Phone",
    "phone",
    "PHONE",
];
const QQ_LABELS: &[&str] = &[
    "QQ",
    "QQ号",
    "QQ号码",
    "qq",
    "qq号",
    "qq号码",
    "Qq",
    "ＱＱ",
    "ＱＱ号",
    "扣扣",
];
const ACCOUNT_LABELS: &[&str] = &[
    "账号",
    "帐号",
    "账户",
    "帐户",
    "卡号",
    "银行卡",
    "银行卡号",
    "存折",
    "存折号",
];
const USCC_LABELS: &[&str] = &["信用代码"];
const REGISTRATION_LABELS: &[&str] = &["注册号", "执照号", "营业执照", "注册号码"];

// Priorities of competing readings of one chain: lower wins.
const PRIO_ID18: u8 = 0;
const PRIO_CARD: u8 = 1;
const PRIO_ID15: u8 = 2;
const PRIO_MOBILE: u8 = 3;
const PRIO_LANDLINE: u8 = 4;
const PRIO_ACCOUNT: u8 = 5;
const PRIO_QQ: u8 = 6;

/// Finds the enterprise codes of the text (see [`Protected`]).
pub(super) fn find_protected(text: &str, ctx: &TextContext, s: &mut Scratch) {
    let toks = &s.tokens;
    let mut k = 0;
    while k < toks.len() {
        let first = k;
        let mut last = k;
        while last + 1 < toks.len() && toks[last + 1].start == toks[last].end {
            last += 1;
        }
        k = last + 1;
        let (start, end) = (toks[first].start, toks[last].end);
        let atom = &s.norm[toks[first].norm_start..toks[last].norm_start + toks[last].norm_len];
        // Codes are 8 characters or more (see `text_context`): a shorter atom needs no hashing.
        let own_code = atom.len() >= 8 && ctx.codes.contains(atom);
        let protected = match atom.len() {
            18 if ids::is_wellformed_uscc(atom) => Some(Protected {
                start,
                end,
                strong: own_code || label_before(text, start, USCC_LABELS),
            }),
            15 if ids::is_valid_registration_no(atom)
                && (own_code || label_before(text, start, REGISTRATION_LABELS)) =>
            {
                Some(Protected {
                    start,
                    end,
                    strong: true,
                })
            }
            9 if ids::is_valid_org_code(atom) => Some(Protected {
                start,
                end,
                strong: true,
            }),
            // `12345678-9`: an organisation code written with its hyphen.
            8 => org_code_with_hyphen(text, toks, &s.norm, atom, last).map(|end| Protected {
                start,
                end,
                strong: true,
            }),
            _ if own_code => Some(Protected {
                start,
                end,
                strong: true,
            }),
            _ => None,
        };
        if let Some(p) = protected {
            s.protected.push(p);
        }
    }
}

fn org_code_with_hyphen(
    text: &str,
    toks: &[Token],
    norm: &[u8],
    body: &[u8],
    last: usize,
) -> Option<usize> {
    let next = toks.get(last + 1)?;
    if !single_separator_between(text, toks[last].end, next.start)
        || !matches!(char_after(text, toks[last].end), Some('-' | '－'))
        || next.norm_len != 1
        || toks.get(last + 2).is_some_and(|t| t.start == next.end)
    {
        return None;
    }
    let mut code = body.to_vec();
    code.push(norm[next.norm_start]);
    ids::is_valid_org_code(&code).then_some(next.end)
}

/// Finds the numbers of the text and pushes the winning readings to `s.hits`.
pub(super) fn find_numbers(text: &str, cfg: &ScanConfig, s: &mut Scratch) {
    let det = cfg.detectors;
    let numeric = [
        Detector::ResidentId,
        Detector::Mobile,
        Detector::Landline,
        Detector::BankCard,
        Detector::BankAccount,
        Detector::Qq,
    ];
    if !numeric.iter().any(|d| det.has(*d)) {
        return;
    }
    let mut groups = [0usize; MAX_GROUPS];
    let mut k = 0;
    while k < s.tokens.len() {
        if s.tokens[k].class != Class::Digit {
            k += 1;
            continue;
        }
        let mut m = 1;
        groups[0] = k;
        let mut last = k;
        while m < MAX_GROUPS {
            let next = last + 1;
            match s.tokens.get(next) {
                Some(t)
                    if t.class == Class::Digit
                        && single_separator_between(text, s.tokens[last].end, t.start) =>
                {
                    groups[m] = next;
                    m += 1;
                    last = next;
                }
                _ => break,
            }
        }
        let x_end = x_tail(text, s, last);
        read_chain(text, cfg, s, &groups[..m], x_end);
        k = last + 1;
    }
}

/// The end of an `X` check character right after the chain's last digit token (`…123X`). Letters
/// glued after it (`…123XQQ号`) do not matter: the X is read as the check character and the rest
/// stays text.
fn x_tail(text: &str, s: &Scratch, last: usize) -> Option<usize> {
    let t = s.tokens.get(last + 1)?;
    let starts_with_x =
        t.class == Class::Letter && t.start == s.tokens[last].end && s.norm[t.norm_start] == b'X';
    // `X` is one byte in ASCII, three as a full-width `Ｘ`.
    let x_len = if text.as_bytes()[t.start].is_ascii() {
        1
    } else {
        3
    };
    starts_with_x.then_some(t.start + x_len)
}

/// One sub-range of a chain being read: its digits and where its groups sit.
struct Reading<'a> {
    digits: &'a [u8],
    /// Lengths of the groups, first to last.
    lens: &'a [usize],
    start: usize,
    end: usize,
    /// End of a trailing `X`, only for the chain's last group.
    x_end: Option<usize>,
}

fn read_chain(
    text: &str,
    cfg: &ScanConfig,
    s: &mut Scratch,
    groups: &[usize],
    x_end: Option<usize>,
) {
    s.candidates.clear();
    let mut lens = [0usize; MAX_GROUPS];
    for i in 0..groups.len() {
        s.digits.clear();
        for j in i..groups.len() {
            let t = s.tokens[groups[j]];
            s.digits
                .extend_from_slice(&s.norm[t.norm_start..t.norm_start + t.norm_len]);
            lens[j - i] = t.norm_len;
            if s.digits.len() > MAX_DIGITS {
                break;
            }
            let reading = Reading {
                digits: &s.digits,
                lens: &lens[..=j - i],
                start: s.tokens[groups[i]].start,
                end: t.end,
                x_end: if j + 1 == groups.len() { x_end } else { None },
            };
            read_one(text, cfg, &s.tokens, groups[i], &reading, &mut s.candidates);
        }
    }
    if s.candidates.is_empty() {
        return;
    }
    s.candidates
        .sort_unstable_by_key(|h| (h.prio, std::cmp::Reverse(h.end - h.start), h.start));
    let first_new = s.hits.len();
    for index in 0..s.candidates.len() {
        let c = s.candidates[index];
        let overlaps_accepted = s.hits[first_new..]
            .iter()
            .any(|h| h.start < c.end && c.start < h.end);
        if overlaps_accepted
            || overlaps_sorted(&s.claimed, c.start, c.end)
            || is_protected(&s.protected, &c)
        {
            continue;
        }
        s.hits.push(c);
    }
}

/// Whether an enterprise code forbids this reading (see [`Protected`]). The list is in text order
/// and its spans (at least 8 characters each) do not overlap, so a reading of at most 30 digits
/// can only overlap the last few spans that start before its end.
fn is_protected(protected: &[Protected], c: &Hit) -> bool {
    let upto = protected.partition_point(|p| p.start < c.end);
    protected[..upto].iter().rev().take(4).any(|p| {
        let overlaps = c.start < p.end;
        let id_wins = c.prio == PRIO_ID18 || c.rule == Rule::BankAccount;
        overlaps && (p.strong || !id_wins)
    })
}

fn hit(rule: Rule, prio: u8, start: usize, end: usize) -> Hit {
    Hit {
        prio,
        ..Hit::mask(rule, start, end)
    }
}

fn read_one(
    text: &str,
    cfg: &ScanConfig,
    toks: &[Token],
    first_group: usize,
    r: &Reading<'_>,
    out: &mut Vec<Hit>,
) {
    let det = cfg.detectors;
    let d = r.digits;
    let n = d.len();
    let single = r.lens.len() == 1;

    if det.has(Detector::ResidentId) {
        if n == 18 && ids::is_valid_resident_id18(d) {
            out.push(hit(Rule::ResidentId, PRIO_ID18, r.start, r.end));
        } else if let (17, Some(x_end)) = (n, r.x_end) {
            let mut with_x = [0u8; 18];
            with_x[..17].copy_from_slice(d);
            with_x[17] = b'X';
            if ids::is_valid_resident_id18(&with_x) {
                out.push(hit(Rule::ResidentId, PRIO_ID18, r.start, x_end));
            }
        }
        if n == 15 && ids::resident_id15_birth_date(d).is_some() {
            out.push(hit(Rule::ResidentId, PRIO_ID15, r.start, r.end));
        }
    }

    if det.has(Detector::BankCard)
        && (16..=19).contains(&n)
        && grouped_in_fours(r.lens)
        && ids::luhn_valid(d)
        && !(n == 18 && ids::is_wellformed_uscc(d))
    {
        out.push(hit(Rule::BankCard, PRIO_CARD, r.start, r.end));
    }

    if det.has(Detector::Mobile) {
        if let Some(h) = read_mobile(text, cfg, r) {
            out.push(h);
        }
    }

    if det.has(Detector::Landline) {
        if let Some(h) = read_landline(text, cfg, toks, first_group, r) {
            out.push(h);
        }
    }

    if det.has(Detector::BankAccount)
        && (12..=MAX_DIGITS).contains(&n)
        && (single || grouped_in_fours(r.lens))
        && label_before(text, r.start, ACCOUNT_LABELS)
    {
        out.push(hit(Rule::BankAccount, PRIO_ACCOUNT, r.start, r.end));
    }

    if det.has(Detector::Qq)
        && single
        && (5..=11).contains(&n)
        && d[0] != b'0'
        && label_before(text, r.start, QQ_LABELS)
    {
        out.push(hit(Rule::Qq, PRIO_QQ, r.start, r.end));
    }
}

/// Card numbers are written in one run or in groups of four with a shorter last group.
fn grouped_in_fours(lens: &[usize]) -> bool {
    match lens.split_last() {
        None => false,
        Some((_, [])) => true,
        Some((last, init)) => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
    }
}

/// `1[3-9]` + 9 digits, optionally after `86` / `0086` (in the same group or its own) and `+`, or
/// after a trunk `0`.
fn read_mobile(text: &str, cfg: &ScanConfig, r: &Reading<'_>) -> Option<Hit> {
    let d = r.digits;
    let prefix = match d.len() {
        11 => 0,
        // `0138…`: a trunk prefix written before a mobile.
        12 if d[0] == b'0' => 1,
        13 if d.starts_with(b"86") => 2,
        15 if d.starts_with(b"0086") => 4,
        _ => return None,
    };
    let core = &d[prefix..];
    if core[0] != b'1' || !(b'3'..=b'9').contains(&core[1]) {
        return None;
    }
    // The core's first group must hold at least its first three digits (`138 1234 5678`, not
    // `1 3812 345678`); a prefix is either inside the first group or the whole of it.
    let core_first_group = if prefix == 0 {
        r.lens[0]
    } else if r.lens[0] == prefix {
        *r.lens.get(1)?
    } else {
        r.lens[0] - prefix
    };
    if core_first_group < 3 || cfg.allow_phones.contains(core) {
        return None;
    }
    let mut start = r.start;
    if let Some(c @ ('+' | '＋')) = char_before(text, start) {
        start -= c.len_utf8();
    }
    Some(hit(Rule::Mobile, PRIO_MOBILE, start, r.end))
}

/// Length of the area code that opens `d`, if it is one: `010`, `02x`, or `0[3-9]xx`.
pub(super) fn area_code_len(d: &[u8]) -> Option<usize> {
    match d {
        [b'0', b'1', b'0', ..] => Some(3),
        [b'0', b'2', _, ..] => Some(3),
        [b'0', b'3'..=b'9', _, _, ..] => Some(4),
        _ => None,
    }
}

fn is_local_number(d: &[u8]) -> bool {
    (7..=8).contains(&d.len()) && (b'2'..=b'9').contains(&d[0])
}

/// A landline: area code + 7–8 digit local number (`0635-8512345`, `063585123456`,
/// `（0635）8512345`), or a bare local number after a phone label (`电话：8512345`). Allow-listed
/// numbers (the agency's own) are left, with or without their area code.
fn read_landline(
    text: &str,
    cfg: &ScanConfig,
    toks: &[Token],
    first_group: usize,
    r: &Reading<'_>,
) -> Option<Hit> {
    let d = r.digits;
    if let Some(area) = area_code_len(d) {
        let local = &d[area..];
        let grouping_ok = r.lens.len() == 1 || r.lens[0] == area;
        let local_ok = if area == 3 {
            local.len() == 8
        } else {
            is_local_number(local)
        };
        if grouping_ok && local_ok && (b'2'..=b'9').contains(&local[0]) {
            if cfg.allow_phones.contains(d) || cfg.allow_phones.contains(local) {
                return None;
            }
            return Some(hit(Rule::Landline, PRIO_LANDLINE, r.start, r.end));
        }
        return None;
    }
    if !is_local_number(d) || r.lens.len() > 2 {
        return None;
    }
    // `（0635）8512345`: the area code in brackets just before.
    if let Some(open) = bracketed_area_code(text, toks, first_group) {
        let mut full = open.1;
        full.extend_from_slice(d);
        if cfg.allow_phones.contains(&full) || cfg.allow_phones.contains(d) {
            return None;
        }
        return Some(hit(Rule::Landline, PRIO_LANDLINE, open.0, r.end));
    }
    if label_before(text, r.start, PHONE_LABELS) && !cfg.allow_phones.contains(d) {
        return Some(hit(Rule::Landline, PRIO_LANDLINE, r.start, r.end));
    }
    None
}

/// For a local number at token `first`, an area code written `(0635)` or `（0635）` right before
/// it: the byte where the opening bracket starts, and the area code's digits.
fn bracketed_area_code(text: &str, toks: &[Token], first: usize) -> Option<(usize, Vec<u8>)> {
    let close = char_before(text, toks[first].start)?;
    if !matches!(close, ')' | '）') || first == 0 {
        return None;
    }
    let area_tok = toks[first - 1];
    if area_tok.class != Class::Digit || area_tok.end + close.len_utf8() != toks[first].start {
        return None;
    }
    let open = char_before(text, area_tok.start)?;
    if !matches!(open, '(' | '（') {
        return None;
    }
    // Rebuilt from the text (at most four characters) rather than from the scratch buffer, which
    // the caller holds borrowed.
    let area: Vec<u8> = ids::normalize_code(&text[area_tok.start..area_tok.end]);
    (area_code_len(&area) == Some(area.len())).then(|| (area_tok.start - open.len_utf8(), area))
}
