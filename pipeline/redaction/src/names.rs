//! Pseudonyms of natural persons' names: surname + 某, compound surnames kept (CONTRACT §5).
//!
//! The compound surnames come from 百家姓 (`data/baijiaxing-surnames.csv`, copied from
//! `shared/data/surnames` and embedded so the product never reads `../shared` at run time). The list is
//! a seed, not the truth (its SOURCE.md says so): a compound surname missing from it gives `欧某`
//! instead of `欧阳某`, which hides more, never less.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::scan::cjk::CharSet;

const SURNAMES_CSV: &str = include_str!("../data/baijiaxing-surnames.csv");

/// Common modern surnames that 百家姓 lacks (肖 and 付 are among today's hundred most frequent),
/// for the detector of other persons' names. Characters that are mostly ordinary words (原, 来,
/// 门, 位) are left out on purpose: each would start a false name after every role word.
const MODERN_SURNAMES: &str = "肖付覃兰芦麦苟隋丛苑迟邝栗谌粟冼仝";

/// The single-character surnames of the embedded list, with [`MODERN_SURNAMES`].
pub(crate) fn single_surnames() -> &'static CharSet {
    static SET: OnceLock<CharSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = CharSet::EMPTY;
        for line in SURNAMES_CSV.lines().skip(1) {
            let mut cols = line.split(',');
            let (Some(_seq), Some(surname), Some(_traditional), Some("false")) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            if let Some(c) = surname.chars().next() {
                set.insert(c);
            }
        }
        for c in MODERN_SURNAMES.chars() {
            set.insert(c);
        }
        set
    })
}

/// The compound surnames of the embedded list (`is_compound = true`).
pub fn compound_surnames() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        SURNAMES_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.split(',');
                let _seq = cols.next()?;
                let surname = cols.next()?;
                let _traditional = cols.next()?;
                (cols.next()? == "true").then_some(surname)
            })
            .collect()
    })
}

/// Splits a name field into the person's name and a trailing parenthesised part that is kept as it
/// is: published records write a person's employer that way (`刘峰(上饶银行股份有限公司鹰潭分行)`).
pub fn split_name(field: &str) -> (&str, &str) {
    let trimmed = field.trim();
    match trimmed.find(['(', '（']) {
        Some(at) if at > 0 => (trimmed[..at].trim_end(), &trimmed[at..]),
        _ => (trimmed, ""),
    }
}

/// `张三` → `张某`, `欧阳娜娜` → `欧阳某`. A two-character name that is itself a compound surname
/// (`欧阳`) is read as surname + given name (`欧某`), since a compound surname needs a given name
/// after it. Names without a Han surname (`买买提·吐尔逊`, `John Smith`) keep their first character.
pub fn pseudonym_of(name: &str) -> String {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let second = chars.next();
    let has_more = chars.next().is_some();
    let mut out = String::with_capacity(name.len().min(12));
    out.push(first);
    if let (Some(second), true) = (second, has_more) {
        let mut pair = String::with_capacity(8);
        pair.push(first);
        pair.push(second);
        if compound_surnames().contains(pair.as_str()) {
            out.push(second);
        }
    }
    out.push('某');
    out
}

/// The pseudonym of a whole name field: the name part pseudonymised, a parenthesised part kept.
pub fn pseudonymise_field(field: &str) -> String {
    let (name, rest) = split_name(field);
    let mut out = pseudonym_of(name);
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_has_the_61_compound_surnames() {
        let set = compound_surnames();
        assert_eq!(set.len(), 61);
        for s in ["欧阳", "司马", "诸葛", "第五", "万俟"] {
            assert!(set.contains(s), "{s}");
        }
        assert!(!set.contains("张"));
    }

    #[test]
    fn single_surname_set_has_the_list_and_the_modern_additions() {
        let set = single_surnames();
        for c in ['王', '张', '欧', '肖', '付'] {
            assert!(set.contains(c), "{c}");
        }
        for c in ['的', '某', '原'] {
            assert!(!set.contains(c), "{c}");
        }
    }

    #[test]
    fn single_and_compound_surnames() {
        assert_eq!(pseudonym_of("张三"), "张某");
        assert_eq!(pseudonym_of("王小明"), "王某");
        assert_eq!(pseudonym_of("欧阳娜娜"), "欧阳某");
        assert_eq!(pseudonym_of("司马光"), "司马某");
        assert_eq!(pseudonym_of("欧阳"), "欧某");
        assert_eq!(pseudonym_of("买买提·吐尔逊"), "买某");
        assert_eq!(pseudonym_of("张"), "张某");
        assert_eq!(pseudonym_of(""), "");
    }

    #[test]
    fn employer_in_parentheses_is_kept() {
        assert_eq!(
            pseudonymise_field("刘峰(上饶银行股份有限公司鹰潭分行)"),
            "刘某(上饶银行股份有限公司鹰潭分行)"
        );
        assert_eq!(
            split_name(" 欧阳娜娜（某公司） "),
            ("欧阳娜娜", "（某公司）")
        );
    }
}
