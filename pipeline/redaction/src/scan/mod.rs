//! The free-text scanner: one pass over a string's bytes, then cheap checks on what it found.
//!
//! Why this shape: Chinese case text is mostly CJK characters, and every identifier the law cares
//! about is made of ASCII or full-width digits and letters. So the pass ([`tokenize`]) jumps a whole
//! character at a time over everything else (one table lookup per character), and records only
//! *tokens*, maximal runs of digits or of letters, normalised to ASCII. Every detector then works on
//! that short token list: digit runs joined by single separators become *chains* whose sub-ranges
//! are tested as IDs, cards and phone numbers (`numbers.rs`); letter tokens after a province
//! character are tested as plates, letter-and-digit atoms as passports, `@` positions as e-mail
//! (`patterns.rs`). Labels (`QQ号：`, `电话`) are looked up backwards from a candidate only when its
//! shape needs one. The per-record needles (the counterparty's name, removed field values) are found
//! with `memchr::memmem`, a SIMD substring search, since there are only a handful.
//!
//! Names and addresses are written in CJK characters, so the same pass also records *anchors*: the
//! few CJK characters where one can start or end (the last character of a role word like 证人, a
//! statement like 称, a house-number marker like 号 or 室, a residence label's 住), one bitmap test
//! per character. The name detector (`persons.rs`) and the address detector (`address.rs`, digits
//! and Chinese numerals, residence labels) look only around those; `cjk.rs` holds the character
//! sets and the reading of characters around a position.
//!
//! Every detection becomes a [`Hit`] (byte span + rule). Overlapping hits are merged and the union is
//! masked: when two detectors disagree about where a secret ends, both ends stay hidden. Names are
//! replaced by surname + 某 instead, unless a mask overlaps them.

mod address;
pub(crate) mod cjk;
mod numbers;
mod patterns;
mod persons;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::HashSet;

use memchr::memmem::Finder;

/// What a redaction was made by: a detector on free text, or a field rule. The names are the
/// `rule` of a report entry and the label of the redaction metric; the set is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    ResidentId,
    Mobile,
    Landline,
    BankCard,
    BankAccount,
    Email,
    VehiclePlate,
    Qq,
    Wechat,
    Address,
    /// A natural person other than the counterparty, named in text next to a role word
    /// (`证人王小明`) or a statement (`王小明称`): surname + 某.
    PersonName,
    Passport,
    /// The counterparty's name (or another pseudonymised field value) recurring in text.
    CounterpartyName,
    /// A value a field rule removed or masked (ID, phone, address …) recurring in text.
    RemovedValue,
    FieldRemove,
    FieldMask,
    FieldPseudonymise,
}

impl Rule {
    pub const COUNT: usize = 17;
    pub const ALL: [Rule; Rule::COUNT] = [
        Rule::ResidentId,
        Rule::Mobile,
        Rule::Landline,
        Rule::BankCard,
        Rule::BankAccount,
        Rule::Email,
        Rule::VehiclePlate,
        Rule::Qq,
        Rule::Wechat,
        Rule::Address,
        Rule::PersonName,
        Rule::Passport,
        Rule::CounterpartyName,
        Rule::RemovedValue,
        Rule::FieldRemove,
        Rule::FieldMask,
        Rule::FieldPseudonymise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ResidentId => "resident_id",
            Rule::Mobile => "mobile",
            Rule::Landline => "landline",
            Rule::BankCard => "bank_card",
            Rule::BankAccount => "bank_account",
            Rule::Email => "email",
            Rule::VehiclePlate => "vehicle_plate",
            Rule::Qq => "qq",
            Rule::Wechat => "wechat",
            Rule::Address => "address",
            Rule::PersonName => "person_name",
            Rule::Passport => "passport",
            Rule::CounterpartyName => "counterparty_name",
            Rule::RemovedValue => "removed_value",
            Rule::FieldRemove => "field_remove",
            Rule::FieldMask => "field_mask",
            Rule::FieldPseudonymise => "field_pseudonymise",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The detectors a policy can switch on (`[detect] detectors = [...]`); each names its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detector {
    ResidentId,
    Mobile,
    Landline,
    BankCard,
    BankAccount,
    Email,
    VehiclePlate,
    Qq,
    Wechat,
    Address,
    PersonName,
    Passport,
}

impl Detector {
    pub const ALL: [Detector; 12] = [
        Detector::ResidentId,
        Detector::Mobile,
        Detector::Landline,
        Detector::BankCard,
        Detector::BankAccount,
        Detector::Email,
        Detector::VehiclePlate,
        Detector::Qq,
        Detector::Wechat,
        Detector::Address,
        Detector::PersonName,
        Detector::Passport,
    ];

    pub fn rule(self) -> Rule {
        match self {
            Detector::ResidentId => Rule::ResidentId,
            Detector::Mobile => Rule::Mobile,
            Detector::Landline => Rule::Landline,
            Detector::BankCard => Rule::BankCard,
            Detector::BankAccount => Rule::BankAccount,
            Detector::Email => Rule::Email,
            Detector::VehiclePlate => Rule::VehiclePlate,
            Detector::Qq => Rule::Qq,
            Detector::Wechat => Rule::Wechat,
            Detector::Address => Rule::Address,
            Detector::PersonName => Rule::PersonName,
            Detector::Passport => Rule::Passport,
        }
    }

    pub fn name(self) -> &'static str {
        self.rule().as_str()
    }

    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// A set of [`Detector`]s as a bit mask: checked once per detector per string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectorSet(u16);

impl DetectorSet {
    pub fn all() -> Self {
        let mut set = DetectorSet::default();
        for d in Detector::ALL {
            set.insert(d);
        }
        set
    }
    pub fn insert(&mut self, d: Detector) {
        self.0 |= 1 << (d as u16);
    }
    pub fn has(self, d: Detector) -> bool {
        self.0 & (1 << (d as u16)) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The policy's side of scanning: which detectors run, and what they must leave.
#[derive(Clone, Debug, Default)]
pub struct ScanConfig {
    pub detectors: DetectorSet,
    /// Allow-listed phone numbers as ASCII digits, with and without area code.
    pub allow_phones: HashSet<Vec<u8>>,
    /// Allow-listed e-mail addresses, lower-cased.
    pub allow_emails: HashSet<String>,
}

/// The allow-list keys of a phone number as a policy writes it (`0635-8512345`, `+86 138…`): its
/// digits (a mobile without `86`/`0086`), and a landline's local part as well, so that the agency's
/// number is left with or without its area code. Empty when it has fewer than five digits.
pub fn phone_allow_keys(raw: &str) -> Vec<Vec<u8>> {
    let digits: Vec<u8> = crate::ids::normalize_code(raw)
        .into_iter()
        .filter(u8::is_ascii_digit)
        .collect();
    if digits.len() < 5 {
        return Vec::new();
    }
    let core = match digits.len() {
        13 if digits.starts_with(b"861") => digits[2..].to_vec(),
        15 if digits.starts_with(b"00861") => digits[4..].to_vec(),
        _ => digits,
    };
    let mut keys = Vec::with_capacity(2);
    if let Some(area) = numbers::area_code_len(&core) {
        if core.len() > area + 4 {
            keys.push(core[area..].to_vec());
        }
    }
    keys.push(core);
    keys
}

/// A name to replace wherever it occurs, and its pseudonym.
pub struct NameNeedle {
    pub finder: Finder<'static>,
    pub pseudonym: String,
}

/// The record's side of scanning, built once per record. Holds personal data: deliberately no
/// `Debug`.
#[derive(Default)]
pub struct TextContext {
    /// Pseudonymised names (longest first, so `欧阳娜娜` is found before `欧阳`).
    pub names: Vec<NameNeedle>,
    /// Removed or masked field values that must not survive in text.
    pub values: Vec<Finder<'static>>,
    /// The record's own enterprise codes (normalised), never masked in its text.
    pub codes: HashSet<Vec<u8>>,
    /// A legal person's registered address, published in its own field: not an address to hide.
    pub public_addresses: Vec<Finder<'static>>,
    /// Names the record publishes in its own fields (the legal representative's, an individual
    /// business's name when kept): never pseudonymised where they recur in text.
    pub kept_names: Vec<String>,
    /// The counterparty is a legal person whose address is public: an address given as its
    /// business premises (`经营场所：`, `注册地址：`) is left whole.
    pub business_addresses_public: bool,
}

/// Character class of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Digit,
    Letter,
}

/// A maximal run of digits or of letters, ASCII or full-width; `norm` is its ASCII form
/// (`norm_start..norm_start + norm_len` in [`Scratch::norm`]), one byte per character.
#[derive(Clone, Copy, Debug)]
struct Token {
    start: usize,
    end: usize,
    norm_start: usize,
    norm_len: usize,
    class: Class,
}

/// What a hit is replaced with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Replace {
    /// One `*` per character.
    Mask,
    /// The pseudonym of [`TextContext::names`] at this index.
    Needle(usize),
    /// The first this many bytes of the match (the surname) followed by 某.
    Surname(u8),
}

/// One detection: a byte span of the text and the rule that found it. `prio` orders competing
/// number readings of the same digits (lower wins); `replace` says whether it is masked or
/// replaced by a pseudonym.
#[derive(Clone, Copy, Debug)]
struct Hit {
    start: usize,
    end: usize,
    rule: Rule,
    prio: u8,
    replace: Replace,
}

impl Hit {
    fn mask(rule: Rule, start: usize, end: usize) -> Hit {
        Hit {
            start,
            end,
            rule,
            prio: 0,
            replace: Replace::Mask,
        }
    }
}

/// A span that must not be masked as a number: an enterprise code. `strong` codes (the record's own,
/// or labelled 信用代码 / 注册号) win even against a resident-ID reading; weak ones (well-formed but
/// unlabelled) only against card and phone readings.
#[derive(Clone, Copy, Debug)]
struct Protected {
    start: usize,
    end: usize,
    strong: bool,
}

/// Buffers reused across the strings of a record, so scanning allocates only its output.
#[derive(Default)]
pub struct Scratch {
    tokens: Vec<Token>,
    norm: Vec<u8>,
    /// Byte positions of the CJK characters in [`ANCHORS`], with the characters: where the name
    /// and address detectors look closer.
    anchors: Vec<(usize, char)>,
    /// Names found by the person-name detector, merged with the needles' names in one sweep.
    persons: Vec<Hit>,
    /// Byte position and length of every `@` / `＠`.
    ats: Vec<(usize, usize)>,
    hits: Vec<Hit>,
    /// Spans whose digits belong to an e-mail or WeChat id: no number reading inside them.
    claimed: Vec<(usize, usize)>,
    protected: Vec<Protected>,
    candidates: Vec<Hit>,
    digits: Vec<u8>,
    /// Redactions of the last scan, by [`Rule::index`].
    pub counts: [u32; Rule::COUNT],
}

impl Scratch {
    fn reset(&mut self) {
        self.tokens.clear();
        self.norm.clear();
        self.anchors.clear();
        self.persons.clear();
        self.ats.clear();
        self.hits.clear();
        self.claimed.clear();
        self.protected.clear();
        self.candidates.clear();
        self.counts = [0; Rule::COUNT];
    }

    #[cfg(test)]
    fn token_norm(&self, t: &Token) -> &[u8] {
        &self.norm[t.norm_start..t.norm_start + t.norm_len]
    }

    /// The rules of the last scan that fired, with their counts.
    pub fn fired(&self) -> impl Iterator<Item = (Rule, u32)> + '_ {
        Rule::ALL
            .into_iter()
            .map(|r| (r, self.counts[r.index()]))
            .filter(|(_, n)| *n > 0)
    }
}

impl ScanConfig {
    /// Scans `text`; returns the redacted text, or `None` when nothing was found. The counts of the
    /// scan are left in `scratch.counts`.
    pub fn scan(&self, text: &str, ctx: &TextContext, s: &mut Scratch) -> Option<String> {
        s.reset();
        let det = self.detectors;
        if !det.is_empty() {
            if det.has(Detector::PersonName) || det.has(Detector::Address) {
                tokenize::<true>(text, s);
            } else {
                tokenize::<false>(text, s);
            }
            if det.has(Detector::Email) {
                patterns::find_emails(text, self, s);
            }
            if det.has(Detector::Wechat) {
                patterns::find_wechat_ids(text, s);
            }
            s.claimed.sort_unstable();
            numbers::find_protected(text, ctx, s);
            numbers::find_numbers(text, self, s);
            if det.has(Detector::VehiclePlate) {
                patterns::find_plates(text, s);
            }
            if det.has(Detector::Passport) {
                patterns::find_passports(text, ctx, s);
            }
            if det.has(Detector::Address) {
                address::find_addresses(text, ctx, s);
            }
            if det.has(Detector::PersonName) {
                persons::find_person_names(text, ctx, s);
            }
        }
        if !ctx.public_addresses.is_empty() {
            spare_public_addresses(text, ctx, s);
        }
        find_needles(text, ctx, s);
        if s.hits.is_empty() {
            return None;
        }
        Some(apply_hits(text, ctx, &mut s.hits, &mut s.counts))
    }
}

/// Drops address hits inside the legal person's own registered address: it is published in its
/// own field, so hiding its house number where it recurs protects no one.
fn spare_public_addresses(text: &str, ctx: &TextContext, s: &mut Scratch) {
    let hay = text.as_bytes();
    let spans: Vec<(usize, usize)> = ctx
        .public_addresses
        .iter()
        .flat_map(|f| f.find_iter(hay).map(move |at| (at, at + f.needle().len())))
        .collect();
    if !spans.is_empty() {
        s.hits.retain(|h| {
            h.rule != Rule::Address || !spans.iter().any(|&(a, b)| a <= h.start && h.end <= b)
        });
    }
}

/// The counterparty's name and removed field values, wherever they recur; the names of other
/// persons found by the detector join the counterparty's before overlaps are settled.
fn find_needles(text: &str, ctx: &TextContext, s: &mut Scratch) {
    let hay = text.as_bytes();
    for (index, name) in ctx.names.iter().enumerate() {
        let len = name.finder.needle().len();
        for at in name.finder.find_iter(hay) {
            s.hits.push(Hit {
                start: at,
                end: at + len,
                rule: Rule::CounterpartyName,
                prio: 0,
                replace: Replace::Needle(index),
            });
        }
    }
    // Where two names overlap is settled in `apply_hits`.
    s.hits.append(&mut s.persons);
    for value in &ctx.values {
        let len = value.needle().len();
        for at in value.find_iter(hay) {
            s.hits.push(Hit::mask(Rule::RemovedValue, at, at + len));
        }
    }
}

/// Writes the text with every hit replaced. Overlapping hits are merged and the union masked,
/// also when one of them was a pseudonym: hiding more is the safe side of a disagreement.
///
/// One exception: a name inside another name that starts there or before (`欧阳` inside
/// `欧阳娜娜`, the counterparty's `王明` inside a witness's `王明华`) is the same occurrence read
/// twice, not a second secret: it is dropped, and the longer name gets its pseudonym (on equal
/// spans the counterparty's own). Masking their union would hide a name a pseudonym hides already.
///
/// A merged span is one secret seen by several rules (an ID number that is also the removed
/// `id_number` value), so it counts once, for the rule of its longest hit (on a tie, the earlier
/// rule in [`Rule::ALL`], a detector before a recurrence).
fn apply_hits(
    text: &str,
    ctx: &TextContext,
    hits: &mut [Hit],
    counts: &mut [u32; Rule::COUNT],
) -> String {
    hits.sort_unstable_by_key(|h| (h.start, Reverse(h.end), h.replace));
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    let mut i = 0;
    while i < hits.len() {
        let start = hits[i].start;
        let mut end = hits[i].end;
        let mut merged = false;
        let mut j = i + 1;
        let mut credited = hits[i];
        let pseudonym = hits[i].replace != Replace::Mask;
        while j < hits.len() && hits[j].start < end {
            let h = hits[j];
            if pseudonym && !merged && h.replace != Replace::Mask && h.end <= end {
                j += 1; // the same name read twice: see above
                continue;
            }
            end = end.max(h.end);
            merged = true;
            let longer = h.end - h.start > credited.end - credited.start;
            let tie = h.end - h.start == credited.end - credited.start;
            if longer || (tie && h.rule.index() < credited.rule.index()) {
                credited = h;
            }
            j += 1;
        }
        counts[credited.rule.index()] += 1;
        // Hits never start before the cursor: the merge above swallowed every overlap.
        out.push_str(&text[cursor..start]);
        match (merged, hits[i].replace) {
            (false, Replace::Needle(index)) => out.push_str(&ctx.names[index].pseudonym),
            (false, Replace::Surname(len)) => {
                out.push_str(&text[start..start + usize::from(len)]);
                out.push('某');
            }
            _ => out.extend(std::iter::repeat_n('*', text[start..end].chars().count())),
        }
        cursor = end;
        i = j;
    }
    out.push_str(&text[cursor..]);
    out
}

// ---------------------------------------------------------------------------------------------
// The single pass.

const STEP_MASK: u8 = 0b0111;
const INTERESTING: u8 = 0b1000;
/// Lead bytes 0xE4–0xE9: CJK Unified Ideographs (U+4000–U+9FFF), where anchors are.
const CJK_LEAD: u8 = 0b1_0000;

/// The characters the name and address detectors start from: the last character of a role word
/// (`证人`), the first of a statement (`称`, `（男`), house-number markers (`号`, `室`) and the
/// characters of residence labels (`住`, `籍`). The tokenizer records where they occur, so those
/// detectors look only there instead of walking the text again.
static ANCHORS: cjk::CharSet = persons::ANCHOR_CHARS.union(&address::ANCHOR_CHARS);

/// Per first byte: how far to jump to the next character, and whether the character may start a
/// token or an `@`. Only ASCII alphanumerics, `@` and the 0xEF lead byte of full-width forms are
/// interesting; CJK characters are skipped three bytes at a time, after one bitmap test for an
/// anchor when the name or address detector runs.
const BYTE_INFO: [u8; 256] = {
    let mut table = [1u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_alphanumeric() || byte == b'@' {
            1 | INTERESTING
        } else if byte < 0xC0 {
            1
        } else if byte < 0xE0 {
            2
        } else if matches!(byte, 0xE4..=0xE9) {
            3 | CJK_LEAD
        } else if byte < 0xEF {
            3
        } else if byte == 0xEF {
            3 | INTERESTING
        } else if byte < 0xF8 {
            4
        } else {
            1
        };
        b += 1;
    }
    table
};

/// The class and ASCII form of an alphanumeric character at `i` (ASCII or full-width), and its
/// length in bytes.
#[inline]
fn classify_alnum(b: &[u8], i: usize) -> Option<(Class, u8, usize)> {
    let c = b[i];
    if c.is_ascii_digit() {
        return Some((Class::Digit, c, 1));
    }
    if c.is_ascii_alphabetic() {
        return Some((Class::Letter, c.to_ascii_uppercase(), 1));
    }
    if c == 0xEF && i + 2 < b.len() {
        let (b1, b2) = (b[i + 1], b[i + 2]);
        // U+FF10..FF19 ０-９, U+FF21..FF3A Ａ-Ｚ, U+FF41..FF5A ａ-ｚ.
        if b1 == 0xBC && (0x90..=0x99).contains(&b2) {
            return Some((Class::Digit, b'0' + (b2 - 0x90), 3));
        }
        if b1 == 0xBC && (0xA1..=0xBA).contains(&b2) {
            return Some((Class::Letter, b'A' + (b2 - 0xA1), 3));
        }
        if b1 == 0xBD && (0x81..=0x9A).contains(&b2) {
            return Some((Class::Letter, b'A' + (b2 - 0x81), 3));
        }
    }
    None
}

/// The single pass: tokens, `@` positions and, with `ANCHORED`, the anchors.
fn tokenize<const ANCHORED: bool>(text: &str, s: &mut Scratch) {
    let b = text.as_bytes();
    let n = b.len();
    if ANCHORED {
        // Anchors come about once in 20 bytes of case text: one allocation, not a dozen doublings.
        s.anchors.reserve(n / 24);
    }
    let mut i = 0;
    while i < n {
        let info = BYTE_INFO[b[i] as usize];
        if info & INTERESTING == 0 {
            // A lead byte of valid UTF-8 is followed by its continuation bytes.
            if ANCHORED
                && info & CJK_LEAD != 0
                && i + 2 < n
                && ANCHORS.contains_utf8_3(b[i], b[i + 1], b[i + 2])
            {
                if let Some(c) = cjk::at(text, i) {
                    s.anchors.push((i, c));
                }
            }
            i += (info & STEP_MASK) as usize;
            continue;
        }
        if b[i] == b'@' {
            s.ats.push((i, 1));
            i += 1;
            continue;
        }
        if b[i] == 0xEF && i + 2 < n && b[i + 1] == 0xBC && b[i + 2] == 0xA0 {
            s.ats.push((i, 3)); // ＠
            i += 3;
            continue;
        }
        let Some((class, first, len)) = classify_alnum(b, i) else {
            i += (info & STEP_MASK) as usize;
            continue;
        };
        let start = i;
        let norm_start = s.norm.len();
        s.norm.push(first);
        i += len;
        while i < n {
            match classify_alnum(b, i) {
                Some((c, norm, len)) if c == class => {
                    s.norm.push(norm);
                    i += len;
                }
                _ => break,
            }
        }
        s.tokens.push(Token {
            start,
            end: i,
            norm_start,
            norm_len: s.norm.len() - norm_start,
            class,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the detectors.

/// Index of the last token of the atom (adjacent tokens) starting at `k`.
fn atom_end(toks: &[Token], k: usize) -> usize {
    let mut last = k;
    while last + 1 < toks.len() && toks[last + 1].start == toks[last].end {
        last += 1;
    }
    last
}

fn char_before(text: &str, pos: usize) -> Option<char> {
    text[..pos].chars().next_back()
}

fn char_after(text: &str, pos: usize) -> Option<char> {
    text[pos..].chars().next()
}

/// Characters that may sit between the digit groups of one number: `138 1234 5678`,
/// `138-1234-5678`, and their full-width and typographic variants.
fn is_group_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '\u{a0}' | '\u{3000}' | '\u{ff0d}' | '\u{2010}'..='\u{2015}'
    )
}

/// Whether exactly one group separator lies between byte `a` and byte `b`.
fn single_separator_between(text: &str, a: usize, b: usize) -> bool {
    if b <= a || b - a > 3 {
        return false;
    }
    let mut chars = text[a..b].chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_group_separator(c))
}

/// What may stand between a label and its value: `QQ：`, `电话 `, `微信是`, `卡号为（`.
fn is_label_filler(c: char) -> bool {
    matches!(
        c,
        '：' | ':'
            | ' '
            | '\u{3000}'
            | '\u{a0}'
            | '是'
            | '为'
            | '（'
            | '('
            | '='
            | '＝'
            | '#'
            | '＃'
    )
}

/// Whether the text just before `pos` ends with one of `labels`, after at most four filler
/// characters. Labels are compared exactly (give case variants explicitly).
fn label_before(text: &str, pos: usize, labels: &[&str]) -> bool {
    let head = &text[..pos];
    let mut end = head.len();
    for c in head.chars().rev().take(4) {
        if !is_label_filler(c) {
            break;
        }
        end -= c.len_utf8();
    }
    let head = &head.as_bytes()[..end];
    // Comparing the last byte first spares a call to `memcmp` for almost every label.
    let Some(last) = head.last() else {
        return false;
    };
    labels.iter().any(|l| {
        let l = l.as_bytes();
        l.last() == Some(last) && head.ends_with(l)
    })
}

/// Whether `[start, end)` overlaps any span of a list sorted by start.
fn overlaps_sorted(spans: &[(usize, usize)], start: usize, end: usize) -> bool {
    // Spans in the list do not overlap each other much; the one just before `end` decides, but
    // a long earlier span may still reach into ours, so look back a little.
    let upto = spans.partition_point(|&(s, _)| s < end);
    spans[..upto].iter().rev().take(8).any(|&(_, e)| e > start)
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn scan_all(text: &str) -> (Option<String>, Vec<(&'static str, u32)>) {
        let cfg = ScanConfig {
            detectors: DetectorSet::all(),
            ..ScanConfig::default()
        };
        let ctx = TextContext::default();
        let mut s = Scratch::default();
        let out = cfg.scan(text, &ctx, &mut s);
        let fired = s.fired().map(|(r, n)| (r.as_str(), n)).collect();
        (out, fired)
    }

    #[test]
    fn rule_names_are_unique_and_snake_case() {
        let names: HashSet<_> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Rule::COUNT);
        for (i, r) in Rule::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(r
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn tokenizer_normalises_full_width_and_skips_cjk() {
        let mut s = Scratch::default();
        tokenize::<false>("电话１３８ab，X9", &mut s);
        let norms: Vec<String> = s
            .tokens
            .iter()
            .map(|t| String::from_utf8(s.token_norm(t).to_vec()).unwrap())
            .collect();
        assert_eq!(norms, ["138", "AB", "X", "9"]);
        assert_eq!(s.tokens[0].start, "电话".len());
    }

    #[test]
    fn label_before_skips_filler() {
        let t = "联系QQ号：12345";
        assert!(label_before(t, t.find('1').unwrap(), &["QQ号"]));
        let t = "电话 是 85123456";
        assert!(label_before(t, t.find('8').unwrap(), &["电话"]));
        let t = "金额85123456";
        assert!(!label_before(t, t.find('8').unwrap(), &["电话"]));
    }

    #[test]
    fn overlapping_hits_mask_their_union() {
        // A mobile number that is also the local part of an e-mail: one masked run.
        let (out, fired) = scan_all("邮箱13812345678@163.com。");
        assert_eq!(out.unwrap(), format!("邮箱{}。", "*".repeat(19)));
        assert_eq!(fired, [("email", 1)]);
    }

    #[test]
    fn nothing_found_returns_none() {
        assert_eq!(scan_all("茌平县财政局依法作出处罚决定。").0, None);
    }
}
