//! Residential addresses: house-number chains, in digits or Chinese numerals
//! (`振兴路[123号4栋2单元301室]`, `幸福路[十二号]`, `[三单元五〇二室]`), and the whole address after a
//! residence label (`家住聊城市茌平区[幸福小区5号楼]`).
//!
//! Unlabelled, only the house number is masked: the road and the area stay, they do not single
//! out a household. After a residence label (`住址`, `家住`, `户籍地` …) the text is a person's
//! home, so everything below the township is masked too, the road, village or compound included:
//! `茌平县贾寨镇[张庄村]`.

use super::cjk::{self, CharSet};
use super::{atom_end, char_before, classify_alnum, Class, Hit, Rule, Scratch, TextContext};

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

/// Chinese numerals as house numbers use them (`十二号`, `五〇二室`). `两` counts things, never
/// houses, and is left out.
const CN_NUMERALS: CharSet = CharSet::of("〇零一二三四五六七八九十百");

/// Residence labels, longest first where one ends another. `住所` is a company's registered seat
/// too: a legal person's own address is spared where it recurs ([`TextContext::public_addresses`]),
/// any other address after it is masked, which hides more, never less.
const RESIDENCE_LABELS: &[&str] = &[
    "家庭住址",
    "现住址",
    "住址",
    "家庭地址",
    "现住所",
    "住所地",
    "住所",
    "家住",
    "现住",
    "住在",
    "暂住地",
    "暂住",
    "现居住地",
    "现居住",
    "居住地",
    "居住在",
    "居住于",
    "现居",
    "居所",
    "户籍所在地",
    "户籍地址",
    "户籍地",
    "户籍",
];

/// A legal person's business premises: left whole when the counterparty is a legal person
/// ([`TextContext::business_addresses_public`]), as published in the enterprise registry.
const BUSINESS_LABELS: &[&str] = &[
    "经营场所",
    "营业场所",
    "经营地址",
    "注册地址",
    "注册地",
    "办公地址",
    "办公场所",
    "生产场所",
];

/// The anchors this module starts from: house-number markers and residence-label characters.
pub(super) const ANCHOR_CHARS: CharSet = CharSet::first_chars(&[
    "号", "室", "栋", "幢", "楼", "组", "弄", "单", "层", "座", "住", "居", "籍", "址",
]);

/// Where an address after a residence label stops: words that follow an address in a sentence.
/// Characters common in place names stay out (和平路, 成都, 即墨, 自治区, 于庄村): an address that
/// runs on is masked a little too far, never too short.
const ADDRESS_STOP_CHARS: CharSet =
    CharSet::of("的与及并且在时处旁系是为因被将把从到至等已未不也又曾其该此");
const ADDRESS_STOP_WORDS: &[&str] = &[
    "开设", "开办", "经营", "从事", "务工", "打工", "租用", "租赁", "期间", "附近", "一带", "门前",
    "门口", "家中", "院内", "室内", "屋内", "对面", "旁边", "居住", "生活", "工作", "上班",
];

/// Characters that end a unit of an address (a road, a village, a building, a room).
/// Characters of city names (聊城, 厦门, 潍坊) are not among them.
const ADDRESS_UNIT_CHARS: CharSet =
    CharSet::of("路街巷道村组号室栋幢楼弄里屯庄苑园院区县市镇乡省旗州盟寓舍队社元层座");

/// Administrative levels kept in front of a labelled address: province, city, county, township.
const ADMIN_CHARS: CharSet = CharSet::of("省市县区旗州盟镇乡");

/// A `区` after these is a compound or a park, not a district (`幸福小区`, `社区`, `工业园区`).
const NOT_DISTRICT_BEFORE: CharSet = CharSet::of("小社园校厂营矿景");

/// Layout words after `室` (`三室一厅`, `3室2厅`): a flat's size, not a room number.
fn is_layout_after(text: &str, pos: usize) -> bool {
    let mut chars = text[pos..].chars();
    match chars.next() {
        Some('厅') => true,
        Some(c) if c.is_ascii_digit() || CN_NUMERALS.contains(c) || c == '两' => {
            chars.next() == Some('厅')
        }
        _ => false,
    }
}

/// First characters of [`MARKERS`]: most numbers are followed by none of them (年, 元, 日), and
/// one bit test says so.
const MARKER_FIRST: CharSet = CharSet::of("号单栋幢室座楼层弄组");

fn marker_at(text: &str, pos: usize) -> Option<(&'static str, bool)> {
    if !cjk::at(text, pos).is_some_and(|c| MARKER_FIRST.contains(c)) {
        return None;
    }
    let rest = &text[pos..];
    let (marker, strong) = MARKERS.iter().copied().find(|(m, _)| rest.starts_with(m))?;
    if marker == "室" && is_layout_after(text, pos + marker.len()) {
        return None;
    }
    Some((marker, strong))
}

/// A house-number part: an alphanumeric atom, possibly hyphen-joined (`3-2-301`), or a run of
/// Chinese numerals (`二十三`).
struct Part {
    end: usize,
    /// Holds a digit (Chinese numerals count).
    digit: bool,
    /// Starts with a digit (`301`, not `A`): may stand as a room number without 室.
    digit_first: bool,
    /// Characters in a Chinese-numeral run (0 for an alphanumeric atom).
    chinese: usize,
}

fn number_part(text: &str, pos: usize) -> Option<Part> {
    let b = text.as_bytes();
    if pos >= b.len() {
        return None;
    }
    if let Some((class, _, _)) = classify_alnum(b, pos) {
        let digit_first = class == Class::Digit;
        let mut digit = false;
        let mut i = pos;
        loop {
            while i < b.len() {
                let Some((class, _, len)) = classify_alnum(b, i) else {
                    break;
                };
                digit |= class == Class::Digit;
                i += len;
            }
            // `3-2-301`: a hyphen joins the next atom, within a house number's length.
            let hyphen = match cjk::at(text, i) {
                Some(h @ ('-' | '－')) => h.len_utf8(),
                _ => break,
            };
            let next = i + hyphen;
            let mut next_end = next;
            while next_end < b.len() {
                let Some((_, _, len)) = classify_alnum(b, next_end) else {
                    break;
                };
                next_end += len;
            }
            if next_end == next || next_end - pos >= 48 {
                break;
            }
            i = next;
        }
        return Some(Part {
            end: i,
            digit,
            digit_first,
            chinese: 0,
        });
    }
    let mut end = pos;
    let mut chinese = 0;
    while let Some(c) = cjk::at(text, end).filter(|c| CN_NUMERALS.contains(*c)) {
        end += c.len_utf8();
        chinese += 1;
        if chinese > 8 {
            return None;
        }
    }
    (chinese > 0).then_some(Part {
        end,
        digit: true,
        digit_first: false,
        chinese,
    })
}

/// A chain of house-number parts, each with its unit marker (`5号楼3单元201`).
struct Chain {
    end: usize,
    first_marker: &'static str,
    /// Some marker is strong (building, unit, room).
    strong: bool,
    /// Some marker is one that never counts things: 号楼, 号院, 单元, 室 (`三栋` may be three
    /// buildings, `三单元` is a unit).
    firm: bool,
    has_digit: bool,
    parts: usize,
}

/// The chain starting at `start`; without one, where the number part there ends (`Err`), so
/// that the scan skips the rest of it (`CZCF-2017-0001` is read once, not from each token).
fn chain_at(text: &str, start: usize) -> Result<Chain, usize> {
    let first = number_part(text, start).ok_or(start)?;
    let (first_marker, first_strong) = marker_at(text, first.end).ok_or(first.end)?;
    let mut chain = Chain {
        end: first.end + first_marker.len(),
        first_marker,
        strong: first_strong,
        firm: matches!(first_marker, "号楼" | "号院" | "单元" | "室"),
        has_digit: first.digit,
        parts: 1,
    };
    let mut last_strong = first_strong;
    while let Some(part) = number_part(text, chain.end) {
        match marker_at(text, part.end) {
            Some((marker, strong)) => {
                chain.end = part.end + marker.len();
                chain.strong |= strong;
                chain.firm |= matches!(marker, "号楼" | "号院" | "单元" | "室");
                chain.has_digit |= part.digit;
                chain.parts += 1;
                last_strong = strong;
            }
            // `3单元201`, `三单元五〇二`: a room number written without 室 after a building or unit.
            None if last_strong && (part.digit_first || part.chinese >= 2) => {
                chain.end = part.end;
                chain.parts += 1;
                break;
            }
            None => break,
        }
    }
    Ok(chain)
}

/// Whether a chain starting at `start` with digits or letters is an address: a strong marker, or
/// a house number right after a road (the rule from before Chinese numerals were read).
fn accept_alnum_chain(text: &str, start: usize, c: &Chain) -> bool {
    let after_road = matches!(c.first_marker, "号" | "弄" | "组")
        && char_before(text, start).is_some_and(|c| ROAD_CHARS.contains(c));
    c.has_digit && (c.strong || after_road)
}

/// Whether a chain starting with Chinese numerals is an address. Chinese numerals count things in
/// prose (`三栋厂房`, `第三单元`, `十月十二号`, `一号文件`), so more is asked: a marker that never
/// counts (号楼, 号院, 单元, 室), or two strong parts (`三栋二单元`), or a road, village or
/// compound right before (`幸福路十二号`, `张庄村七组`); never after 第.
fn accept_chinese_chain(text: &str, start: usize, c: &Chain) -> bool {
    let before = char_before(text, start);
    if before == Some('第') {
        return false;
    }
    if c.first_marker == "号" && matches!(cjk::at(text, c.end), Some('文' | '令' | '字')) {
        return false;
    }
    let after_road = before.is_some_and(|b| {
        ROAD_CHARS.contains(b)
            // `同一组`: 同 ends a road only in 胡同.
            && (b != '同' || char_before(text, start - b.len_utf8()) == Some('胡'))
    });
    c.firm || (c.parts >= 2 && c.strong) || after_road
}

/// The start of a Chinese-numeral run that ends right before the marker at `pos`.
fn chinese_run_before(text: &str, pos: usize) -> Option<usize> {
    // Most anchors are not markers after a numeral: rule that out on the raw bytes first (every
    // numeral is three bytes, so this never misses one; other bytes may pass and are decoded).
    let b = text.as_bytes();
    if pos < 3 || !CN_NUMERALS.contains_utf8_3(b[pos - 3], b[pos - 2], b[pos - 1]) {
        return None;
    }
    let mut start = pos;
    while let Some(c) = cjk::before(text, start).filter(|c| CN_NUMERALS.contains(*c)) {
        start -= c.len_utf8();
        if pos - start > 8 * 3 {
            return None;
        }
    }
    (start < pos).then_some(start)
}

/// Finds house-number chains and labelled residences, and pushes them as `address` hits.
pub(super) fn find_addresses(text: &str, ctx: &TextContext, s: &mut Scratch) {
    let first_hit = s.hits.len();
    find_house_numbers(text, s);
    if ctx.business_addresses_public {
        spare_business_premises(text, s, first_hit);
    }
    find_residences(text, s);
}

/// House-number chains, starting at every token (digits, letters) and at every Chinese-numeral
/// run before a marker, in text order.
fn find_house_numbers(text: &str, s: &mut Scratch) {
    let mut covered = 0;
    let (mut k, mut a) = (0, 0);
    loop {
        let token_start = s.tokens.get(k).map(|t| t.start);
        let chinese_start = loop {
            let Some(&(anchor, _)) = s.anchors.get(a) else {
                break None;
            };
            match chinese_run_before(text, anchor) {
                Some(start) if start >= covered => break Some(start),
                _ => a += 1,
            }
        };
        let (start, chinese) = match (token_start, chinese_start) {
            (None, None) => break,
            (Some(t), Some(c)) if c < t => (c, true),
            (Some(t), _) => (t, false),
            (None, Some(c)) => (c, true),
        };
        if chinese {
            a += 1;
        } else {
            k += 1;
            // Most atoms (years, amounts, codes) are followed by neither a marker nor a hyphen:
            // they start no chain and are skipped whole without being read again.
            if start >= covered {
                let last = atom_end(&s.tokens, k - 1);
                let end = s.tokens[last].end;
                let next = cjk::at(text, end);
                if !next.is_some_and(|c| MARKER_FIRST.contains(c) || c == '-' || c == '－') {
                    covered = end;
                    k = last + 1;
                    continue;
                }
            }
        }
        if start < covered {
            continue;
        }
        let chain = match chain_at(text, start) {
            Ok(chain) => chain,
            Err(end) => {
                covered = covered.max(end);
                continue;
            }
        };
        let accepted = if chinese {
            accept_chinese_chain(text, start, &chain)
        } else {
            accept_alnum_chain(text, start, &chain)
        };
        if accepted {
            s.hits.push(Hit::mask(Rule::Address, start, chain.end));
        }
        covered = chain.end;
    }
}

/// Drops the house-number hits (from `first_hit` on) that follow a business-premises label in
/// the same clause: the legal person's premises are public.
fn spare_business_premises(text: &str, s: &mut Scratch, first_hit: usize) {
    let mut i = first_hit;
    while i < s.hits.len() {
        let h = s.hits[i];
        let mut clause = h.start;
        for c in text[..h.start].chars().rev().take(48) {
            if matches!(
                c,
                '，' | '。' | '；' | ';' | ',' | '\n' | '！' | '？' | '!' | '?'
            ) {
                break;
            }
            clause -= c.len_utf8();
        }
        let head = &text[clause..h.start];
        if h.rule == Rule::Address && BUSINESS_LABELS.iter().any(|l| head.contains(l)) {
            s.hits.remove(i);
        } else {
            i += 1;
        }
    }
}

/// The residence label ending at or containing the anchor at `pos`: its end.
fn residence_label_at(text: &str, pos: usize) -> Option<usize> {
    let anchor = cjk::at(text, pos)?;
    let mut best: Option<(usize, usize)> = None; // (start, end)
    for label in RESIDENCE_LABELS {
        for (offset, c) in label.char_indices() {
            if c != anchor || offset > pos {
                continue;
            }
            let start = pos - offset;
            if text.get(start..).is_some_and(|t| t.starts_with(label)) {
                let end = start + label.len();
                if best.is_none_or(|(s, e)| end - start > e - s) {
                    best = Some((start, end));
                }
            }
        }
    }
    let (_, end) = best?;
    // `现住院治疗`: staying in hospital, not an address.
    (cjk::at(text, end) != Some('院')).then_some(end)
}

/// The address after a residence label, with its administrative levels kept: the hidden span.
fn residence_span(text: &str, label_end: usize) -> Option<(usize, usize)> {
    let mut start = label_end;
    for _ in 0..3 {
        match cjk::at(text, start) {
            Some(c @ ('：' | ':' | ' ' | '\u{3000}' | '为' | '是' | '在' | '于')) => {
                start += c.len_utf8();
            }
            _ => break,
        }
    }
    // The address runs to punctuation or a word that follows addresses, 40 characters at most; it
    // ends with its last unit (a marker, or the room number after one).
    let b = text.as_bytes();
    let mut i = start;
    let mut end = start;
    let mut after_marker = false;
    let mut has_unit = false;
    for _ in 0..40 {
        let Some(c) = cjk::at(text, i) else { break };
        let alnum = i < b.len() && classify_alnum(b, i).is_some();
        let rest = &text[i..];
        if ADDRESS_STOP_WORDS.iter().any(|w| rest.starts_with(w)) {
            break;
        }
        if alnum || CN_NUMERALS.contains(c) || matches!(c, '-' | '－' | '#' | '＃') {
            i += c.len_utf8();
            if after_marker {
                end = i;
            }
            continue;
        }
        if !cjk::is_ideograph(c) || ADDRESS_STOP_CHARS.contains(c) {
            break;
        }
        i += c.len_utf8();
        after_marker = ADDRESS_UNIT_CHARS.contains(c);
        if after_marker {
            has_unit = true;
            end = i;
        }
    }
    if !has_unit {
        return None;
    }
    // Keep the administrative levels in front: province, city, county, district, township.
    let mut keep = start;
    let mut prev: Option<char> = None;
    let mut j = start;
    while j < end {
        let Some(c) = cjk::at(text, j) else { break };
        let len = c.len_utf8();
        if c == '街' && cjk::at(text, j + len) == Some('道') {
            // 街道, a subdistrict; 街 alone is a street.
            j += len + '道'.len_utf8();
            keep = j;
        } else if ADMIN_CHARS.contains(c)
            && !(c == '区' && prev.is_some_and(|p| NOT_DISTRICT_BEFORE.contains(p)))
        {
            j += len;
            keep = j;
        } else if !cjk::is_ideograph(c)
            || CN_NUMERALS.contains(c)
            || (ADDRESS_UNIT_CHARS.contains(c)
                // `石家庄市`: a unit character inside a city's name.
                && !cjk::at(text, j + len).is_some_and(|n| ADMIN_CHARS.contains(n)))
        {
            break;
        } else {
            j += len;
        }
        prev = Some(c);
    }
    (keep < end).then_some((keep, end))
}

/// Addresses after a residence label.
fn find_residences(text: &str, s: &mut Scratch) {
    let mut last_label_end = 0;
    for &(anchor, c) in &s.anchors {
        if !matches!(c, '住' | '居' | '籍' | '址') {
            continue;
        }
        let Some(label_end) = residence_label_at(text, anchor) else {
            continue;
        };
        if label_end <= last_label_end {
            continue;
        }
        last_label_end = label_end;
        if let Some((start, end)) = residence_span(text, label_end) {
            s.hits.push(Hit::mask(Rule::Address, start, end));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_in_the_tokenizers_range() {
        // The tokenizer tests anchors only on lead bytes 0xE4–0xE9 (U+4000–U+9FFF).
        for c in "号室栋幢楼组弄单层座住居籍址".chars() {
            assert!(ANCHOR_CHARS.contains(c));
            assert!(('\u{4000}'..='\u{9FFF}').contains(&c), "{c}");
        }
    }

    #[test]
    fn residence_span_keeps_the_administrative_levels() {
        fn span(t: &str) -> Option<&str> {
            residence_span(t, 0).map(|(a, b)| &t[a..b])
        }
        assert_eq!(
            span("山东省聊城市茌平区振兴街道幸福路十二号，"),
            Some("幸福路十二号")
        );
        assert_eq!(span("茌平县贾寨镇张庄村2组15号。"), Some("张庄村2组15号"));
        assert_eq!(
            span("聊城市茌平区幸福小区5号楼3单元201，"),
            Some("幸福小区5号楼3单元201")
        );
        assert_eq!(span("振兴路88号开设超市"), Some("振兴路88号"));
        assert_eq!(span("：振兴路88号的房屋"), Some("振兴路88号"));
        // Only administrative levels, or no address at all: nothing to hide.
        assert_eq!(span("茌平区。"), None);
        assert_eq!(span("不详。"), None);
    }
}
