//! Sets of Chinese characters, and reading characters around a byte position.
//!
//! The word lists of the name and address detectors are tested a character at a time, often
//! several times per candidate, so they are bitmaps over the Basic Multilingual Plane (8 KiB
//! each, one bit per code point) built at compile time from string literals: one load and a
//! shift per test, and the lists stay readable in the source.

/// A set of BMP characters as a bitmap indexed by code point.
#[derive(Clone)]
pub(crate) struct CharSet([u64; 1024]);

/// Decodes the UTF-8 character at byte `i` of a valid UTF-8 string (for `const` use).
const fn decode(b: &[u8], i: usize) -> (u32, usize) {
    let c = b[i] as u32;
    if c < 0x80 {
        (c, 1)
    } else if c < 0xE0 {
        (((c & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
    } else if c < 0xF0 {
        (
            ((c & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F),
            3,
        )
    } else {
        (
            ((c & 0x07) << 18)
                | ((b[i + 1] as u32 & 0x3F) << 12)
                | ((b[i + 2] as u32 & 0x3F) << 6)
                | (b[i + 3] as u32 & 0x3F),
            4,
        )
    }
}

impl CharSet {
    pub(crate) const EMPTY: CharSet = CharSet([0; 1024]);

    const fn with(mut self, cp: u32) -> CharSet {
        assert!(cp < 0x10000, "character sets hold BMP characters only");
        self.0[(cp >> 6) as usize] |= 1 << (cp & 63);
        self
    }

    /// Every character of `chars`.
    pub(crate) const fn of(chars: &str) -> CharSet {
        let b = chars.as_bytes();
        let mut set = CharSet::EMPTY;
        let mut i = 0;
        while i < b.len() {
            let (cp, len) = decode(b, i);
            set = set.with(cp);
            i += len;
        }
        set
    }

    /// The last character of each word.
    pub(crate) const fn last_chars(words: &[&str]) -> CharSet {
        let mut set = CharSet::EMPTY;
        let mut w = 0;
        while w < words.len() {
            let b = words[w].as_bytes();
            let mut i = 0;
            let mut last = 0;
            while i < b.len() {
                let (cp, len) = decode(b, i);
                last = cp;
                i += len;
            }
            set = set.with(last);
            w += 1;
        }
        set
    }

    /// The first character of each word.
    pub(crate) const fn first_chars(words: &[&str]) -> CharSet {
        let mut set = CharSet::EMPTY;
        let mut w = 0;
        while w < words.len() {
            set = set.with(decode(words[w].as_bytes(), 0).0);
            w += 1;
        }
        set
    }

    pub(crate) const fn union(mut self, other: &CharSet) -> CharSet {
        let mut i = 0;
        while i < 1024 {
            self.0[i] |= other.0[i];
            i += 1;
        }
        self
    }

    /// Adds characters at run time (the surname list is read from the embedded CSV).
    pub(crate) fn insert(&mut self, c: char) {
        let cp = c as u32;
        if cp < 0x10000 {
            self.0[(cp >> 6) as usize] |= 1 << (cp & 63);
        }
    }

    #[inline]
    pub(crate) fn contains(&self, c: char) -> bool {
        let cp = c as u32;
        cp < 0x10000 && self.0[(cp >> 6) as usize] & (1 << (cp & 63)) != 0
    }

    /// Whether the three-byte UTF-8 character `b0 b1 b2` is in the set: the tokenizer's test,
    /// without decoding the whole character.
    #[inline]
    pub(crate) fn contains_utf8_3(&self, b0: u8, b1: u8, b2: u8) -> bool {
        let word = (((b0 & 0x0F) as usize) << 6) | (b1 & 0x3F) as usize;
        self.0[word] & (1 << (b2 & 0x3F)) != 0
    }
}

/// CJK Unified Ideographs (the basic block and extension A): what names and place names are
/// written in. Punctuation, digits and letters are not.
#[inline]
pub(crate) fn is_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// The three-byte character `b0 b1 b2` (a lead byte 0xE0–0xEF and two continuation bytes).
#[inline]
fn decode3(b0: u8, b1: u8, b2: u8) -> Option<char> {
    char::from_u32(((b0 as u32 & 0x0F) << 12) | ((b1 as u32 & 0x3F) << 6) | (b2 as u32 & 0x3F))
}

/// The character starting at byte `pos`, if any (`None` inside a character). The detectors read
/// characters one at a time around their anchors, almost all of them ASCII or three-byte CJK: those
/// two are decoded directly, the rest by the standard decoder.
#[inline]
pub(crate) fn at(text: &str, pos: usize) -> Option<char> {
    let b = text.as_bytes();
    match *b.get(pos)? {
        b0 @ 0..=0x7F => Some(b0 as char),
        b0 @ 0xE0..=0xEF if pos + 2 < b.len() => decode3(b0, b[pos + 1], b[pos + 2]),
        _ => text.get(pos..)?.chars().next(),
    }
}

/// The character ending at byte `pos`, if any (`None` inside a character).
#[inline]
pub(crate) fn before(text: &str, pos: usize) -> Option<char> {
    let b = text.as_bytes();
    if pos == 0 || !text.is_char_boundary(pos) {
        return None;
    }
    match b[pos - 1] {
        b0 @ 0..=0x7F => Some(b0 as char),
        _ if pos >= 3 && (0xE0..=0xEF).contains(&b[pos - 3]) => {
            decode3(b[pos - 3], b[pos - 2], b[pos - 1])
        }
        _ => text[..pos].chars().next_back(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_built_at_compile_time_hold_their_characters() {
        const SET: CharSet = CharSet::of("证人a，");
        for c in ['证', '人', 'a', '，'] {
            assert!(SET.contains(c), "{c}");
        }
        assert!(!SET.contains('王'));
        assert!(!SET.contains('😀'));
        const LAST: CharSet = CharSet::last_chars(&["证人", "其妻"]);
        assert!(LAST.contains('人') && LAST.contains('妻') && !LAST.contains('证'));
        const FIRST: CharSet = CharSet::first_chars(&["证人", "其妻"]);
        assert!(FIRST.contains('证') && FIRST.contains('其') && !FIRST.contains('人'));
        let both = CharSet::of("甲").union(&CharSet::of("乙"));
        assert!(both.contains('甲') && both.contains('乙'));
        let b = "号".as_bytes();
        assert!(CharSet::of("号").contains_utf8_3(b[0], b[1], b[2]));
        let b = "另".as_bytes();
        assert!(!CharSet::of("号").contains_utf8_3(b[0], b[1], b[2]));
    }

    #[test]
    fn reading_around_a_position() {
        let t = "证人王";
        assert_eq!(at(t, 3), Some('人'));
        let mixed = "a©人😀z";
        let chars: Vec<char> = mixed.chars().collect();
        let mut pos = 0;
        for (i, c) in chars.iter().enumerate() {
            assert_eq!(at(mixed, pos), Some(*c));
            pos += c.len_utf8();
            assert_eq!(before(mixed, pos), Some(*c), "{i}");
        }
        assert_eq!(before(mixed, 2), None, "inside ©");
        assert_eq!(at(mixed, 4), None, "inside 人");
        assert_eq!(before(t, 3), Some('证'));
        assert_eq!(before(t, 0), None);
        assert_eq!(at(t, t.len()), None);
        assert_eq!(at(t, 1), None, "not a character boundary");
        assert!(is_ideograph('王') && !is_ideograph('，') && !is_ideograph('1'));
    }
}
