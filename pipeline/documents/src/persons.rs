//! The document pass: personal data a decision document carries beyond its record, which the
//! redaction engine cannot know about (its README: "names of natural persons other than the
//! counterparty are not detected in free text").
//!
//! Decision documents introduce people with labels: `证人李秀英`, `当事人之妻王丽华`,
//! `委托代理人：赵敏`, `现场负责人刘洋`. A name after such a label (a 百家姓 surname and one or two
//! given characters) is a natural person's: it becomes surname + 某 wherever it occurs in the
//! document (rule `person_name`). Values after personal labels are masked with `*`, one per
//! character, as the engine masks (rule `labelled_value`): home addresses (`住址：…`, `（住…）`),
//! birth dates (`1980年1月1日出生`, `出生日期：…`), ID numbers after an ID label even when their
//! check digit fails (the engine only masks valid ones).
//!
//! What is hidden follows the policy ([`NaturalPersonRules`]): under `government` this pass does
//! nothing. A legal representative's name is kept where the policy keeps it (`public`), and so
//! are enforcement officers' names, which the law has published.
//!
//! Limits: a name without a label is found only if it also occurs after one; a given name
//! followed by a verb that is not in [`STOPS`] may take the verb's first character with it
//! (`周芳负责` → `周某责`): the name is hidden all the same, the sentence reads a little wrong.

use dhub_redaction::document::{is_surname, pseudonym_of, NaturalPersonRules};

/// Rule names of this pass, beside the engine's `RULES`.
pub const DOCUMENT_RULES: [&str; 2] = ["person_name", "labelled_value"];

/// Labels after which a natural person's name follows, whoever the counterparty is.
const PERSON_LABELS: &[&str] = &[
    "委托代理人",
    "现场负责人",
    "代理人",
    "经办人",
    "联系人",
    "证人",
    "举报人",
    "投诉人",
    "报案人",
    "受害人",
    "被害人",
    "见证人",
    "员工",
    "职工",
    "店员",
    "雇员",
    "司机",
    "驾驶员",
    "驾驶人",
    "之妻",
    "其妻",
    "妻子",
    "之夫",
    "其夫",
    "丈夫",
    "配偶",
    "之子",
    "其子",
    "儿子",
    "之女",
    "其女",
    "女儿",
    "之父",
    "其父",
    "父亲",
    "之母",
    "其母",
    "母亲",
    "其兄",
    "之兄",
    "哥哥",
    "其弟",
    "之弟",
    "弟弟",
    "其姐",
    "之姐",
    "姐姐",
    "其妹",
    "之妹",
    "妹妹",
    "亲属",
    "家属",
];

/// Labels of the counterparty: a name after them is a natural person's only when the
/// counterparty is one.
const COUNTERPARTY_LABELS: &[&str] = &[
    "违法行为人",
    "行政相对人",
    "被处罚人",
    "被许可人",
    "被申请人",
    "当事人",
    "申请人",
];

/// Labels of a legal representative, whose name the `public` policy keeps.
const LEGAL_REP_LABELS: &[&str] = &["法定代表人", "主要负责人", "负责人"];

/// Characters that end a name: particles and the verbs decision documents put after one.
pub const STOPS: &str = "于在对向将把被从到与和及或等的了是系为称说证陈供负承提出所已曾亦也均都即就则并而且但因由以作签确表经同担现住家户居持未无有到去来自该其之某当应须需要可能会";

/// Words that read as surname + given name after a label but are not names.
const NOT_NAMES: &[&str] = &[
    "应当", "应该", "应予", "时任", "全部", "共同", "共计", "关于", "高于", "低于", "万元", "金额",
    "车辆", "经营", "经查", "管理", "安全", "单位", "方面", "程序", "明确", "包括", "成立", "相关",
];

/// Labels of a natural person's home address. `住所` counts only for a natural-person
/// counterparty: an organisation's 住所 is its public registered address.
const ADDRESS_LABELS: &[&str] = &[
    "家庭住址",
    "家庭地址",
    "现住址",
    "户籍地址",
    "户籍所在地",
    "居住地址",
    "居住地",
    "住址",
    "现住",
];

const ID_LABELS: &[&str] = &[
    "公民身份号码",
    "身份证件号码",
    "身份证号码",
    "身份证号",
    "证件号码",
    "身份证",
];

const BIRTH_LABELS: &[&str] = &["出生年月日", "出生日期", "出生年月", "生日"];

/// Where a labelled value ends.
const VALUE_END: &str = "，,。；;）)、\n";

/// Whether the document's counterparty is a natural person, for `住所` and counterparty labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterpartyKind {
    NaturalPerson,
    Organisation,
}

impl CounterpartyKind {
    /// From the record's `counterparty.kind`; individual businesses count as natural persons
    /// here (their operator's home is often the business address: failing closed).
    pub fn from_record(record: &serde_json::Value) -> Option<CounterpartyKind> {
        match record.pointer("/counterparty/kind")?.as_str()? {
            "legal_person" => Some(CounterpartyKind::Organisation),
            "natural_person" | "individual_business" => Some(CounterpartyKind::NaturalPerson),
            _ => None,
        }
    }

    /// From the document itself: an organisation's 当事人 block has a line that opens with its
    /// code or its representative. Only line openings count: the facts may name another
    /// company's code (「为某公司（统一社会信用代码…）代理记账」).
    pub fn infer(paragraphs: &[String]) -> CounterpartyKind {
        const MARKERS: [&str; 6] = [
            "统一社会信用代码",
            "法定代表人",
            "营业执照",
            "注册号",
            "负责人",
            "经营者",
        ];
        let organisation = paragraphs
            .iter()
            .take(12)
            .any(|p| MARKERS.iter().any(|m| p.starts_with(m)));
        if organisation {
            CounterpartyKind::Organisation
        } else {
            CounterpartyKind::NaturalPerson
        }
    }
}

/// Applies the pass to the (already engine-redacted) paragraphs; returns `(rule, count)`.
pub fn apply(
    paragraphs: &mut [String],
    rules: NaturalPersonRules,
    kind: CounterpartyKind,
) -> Vec<(&'static str, u32)> {
    let mut out = Vec::new();
    if rules.pseudonymise_names {
        let mut labels: Vec<&str> = PERSON_LABELS.to_vec();
        if kind == CounterpartyKind::NaturalPerson {
            labels.extend(COUNTERPARTY_LABELS);
        }
        if rules.pseudonymise_legal_rep {
            labels.extend(LEGAL_REP_LABELS);
        }
        // Longest first, so `委托代理人` wins over `代理人` at the same place.
        labels.sort_by_key(|l| std::cmp::Reverse(l.chars().count()));
        let mut names: Vec<String> = Vec::new();
        for p in paragraphs.iter() {
            collect_names(p, &labels, &mut names);
        }
        names.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        names.dedup();
        let mut count = 0;
        for p in paragraphs.iter_mut() {
            for name in &names {
                let n = p.matches(name.as_str()).count() as u32;
                if n > 0 {
                    *p = p.replace(name.as_str(), &pseudonym_of(name));
                    count += n;
                }
            }
        }
        if count > 0 {
            out.push(("person_name", count));
        }
    }
    let mut masked = 0;
    for p in paragraphs.iter_mut() {
        let mut chars: Vec<char> = p.chars().collect();
        if rules.hide_addresses {
            let mut labels = ADDRESS_LABELS.to_vec();
            if kind == CounterpartyKind::NaturalPerson {
                labels.extend(["住所地", "住所"]);
            }
            masked += mask_after_labels(&mut chars, &labels, |_| true);
            masked += mask_lodging(&mut chars);
        }
        if rules.hide_id_numbers {
            masked += mask_after_labels(&mut chars, ID_LABELS, |v| {
                v.iter().filter(|c| c.is_ascii_alphanumeric()).count() >= 15
            });
            masked += mask_after_labels(&mut chars, BIRTH_LABELS, |_| true);
            masked += mask_birth_dates(&mut chars);
        }
        let new: String = chars.into_iter().collect();
        if new != *p {
            *p = new;
        }
    }
    if masked > 0 {
        out.push(("labelled_value", masked));
    }
    out
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0x20000..=0x3134F)
}

/// Names after any of the labels in one paragraph.
fn collect_names(text: &str, labels: &[&str], names: &mut Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let Some(label) = labels.iter().find(|l| starts_with(&chars[i..], l)) else {
            i += 1;
            continue;
        };
        let mut j = i + label.chars().count();
        let counterparty = COUNTERPARTY_LABELS.contains(label);
        while j < chars.len() && j - i - label.chars().count() < 2 && "：: ".contains(chars[j]) {
            j += 1;
        }
        // A counterparty's name is taken from the 当事人 block's own form only
        // (「当事人：张三，男」): in the body, 「当事人应当…」 would read as a name 应当.
        let labelled = j > i + label.chars().count();
        let found = if counterparty && !labelled {
            None
        } else {
            name_at(&chars[j..], counterparty)
        };
        if let Some(len) = found {
            names.push(chars[j..j + len].iter().collect());
            i = j + len;
        } else {
            // 「其妻子周芳」: no name after 其妻, but one after 妻子, which starts inside it.
            i += 1;
        }
    }
}

/// The length of a natural person's name at the start of `s`, if one is there.
fn name_at(s: &[char], needs_delimiter: bool) -> Option<usize> {
    let surname_len = if s.len() >= 2 && is_surname(&s[..2].iter().collect::<String>()) {
        2
    } else if !s.is_empty() && is_surname(&s[0].to_string()) {
        1
    } else {
        return None;
    };
    let given = &s[surname_len..];
    let han = |c: &char| is_han(*c) && *c != '某' && !STOPS.contains(*c);
    let mut len = match given {
        [a, b, ..] if han(a) && han(b) => 2,
        [a, ..] if han(a) => 1,
        _ => return None,
    };
    if needs_delimiter {
        // 「当事人：聊城市鑫源…」 is not a name: a counterparty's name stands before a delimiter
        // (「当事人：张三，男」).
        let open = |i: usize| given.get(i).is_some_and(|c| is_han(*c));
        if open(len) {
            len = 1;
            if open(len) {
                return None;
            }
        }
    }
    let name: String = s[..surname_len + len].iter().collect();
    if NOT_NAMES.contains(&name.as_str()) {
        return None;
    }
    Some(surname_len + len)
}

fn starts_with(chars: &[char], label: &str) -> bool {
    let mut it = chars.iter();
    label.chars().all(|c| it.next() == Some(&c))
}

/// Masks the value after each label occurrence (separators skipped, up to a delimiter, at most 80
/// characters) when `accept` approves it; returns how many values were masked.
fn mask_after_labels(chars: &mut [char], labels: &[&str], accept: impl Fn(&[char]) -> bool) -> u32 {
    let mut count = 0;
    let mut i = 0;
    while i < chars.len() {
        let Some(label) = labels.iter().find(|l| starts_with(&chars[i..], l)) else {
            i += 1;
            continue;
        };
        let mut start = i + label.chars().count();
        while start < chars.len()
            && "：: 为是".contains(chars[start])
            && start - i < label.chars().count() + 2
        {
            start += 1;
        }
        let mut end = start;
        while end < chars.len() && end - start < 80 && !VALUE_END.contains(chars[end]) {
            end += 1;
        }
        count += mask(&mut chars[start..end], &accept);
        i = end.max(i + 1);
    }
    count
}

/// Masks `value` unless it is empty or already masked; returns 1 when it masked.
fn mask(value: &mut [char], accept: impl Fn(&[char]) -> bool) -> u32 {
    let unmasked = value.iter().any(|c| *c != '*' && !c.is_whitespace());
    if value.is_empty() || !unmasked || !accept(value) {
        return 0;
    }
    value.iter_mut().for_each(|c| *c = '*');
    1
}

/// `（住聊城市…88号）`, `，住…`: 住 right after an opening bracket or comma, followed by an address
/// with a number in it.
fn mask_lodging(chars: &mut [char]) -> u32 {
    let mut count = 0;
    for i in 1..chars.len() {
        if chars[i] != '住' || !"（(，,".contains(chars[i - 1]) {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < chars.len() && end - start < 80 && !VALUE_END.contains(chars[end]) {
            end += 1;
        }
        let value = &mut chars[start..end];
        // A number, or one the engine's address detector already masked.
        let has_number = value
            .iter()
            .any(|c| c.is_ascii_digit() || ('０'..='９').contains(c) || *c == '*');
        if value.len() >= 6 && has_number && !starts_with(value, "所") && !starts_with(value, "址")
        {
            count += mask(value, |_| true);
        }
    }
    count
}

/// A date right before `出生` or right after `生于`: `1980年1月1日出生`, `生于1980.01.01`.
fn mask_birth_dates(chars: &mut [char]) -> u32 {
    let date_char =
        |c: char| c.is_ascii_digit() || "年月日号.-/〇零一二三四五六七八九十".contains(c);
    let mut count = 0;
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == '出' && chars[i + 1] == '生' {
            let mut start = i;
            while start > 0 && date_char(chars[start - 1]) {
                start -= 1;
            }
            let date = &chars[start..i];
            let digits = date.iter().filter(|c| c.is_ascii_digit()).count();
            if (date.len() >= 5 && date.contains(&'年')) || digits >= 6 {
                count += mask(&mut chars[start..i], |_| true);
            }
        } else if chars[i] == '生' && chars[i + 1] == '于' {
            let start = i + 2;
            let mut end = start;
            while end < chars.len() && date_char(chars[end]) {
                end += 1;
            }
            if end - start >= 5 {
                count += mask(&mut chars[start..end], |_| true);
            }
        }
        i += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: NaturalPersonRules = NaturalPersonRules {
        pseudonymise_names: true,
        pseudonymise_legal_rep: false,
        hide_addresses: true,
        hide_id_numbers: true,
    };

    fn run(texts: &[&str], kind: CounterpartyKind) -> (Vec<String>, Vec<(&'static str, u32)>) {
        let mut p: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
        let report = apply(&mut p, PUBLIC, kind);
        (p, report)
    }

    #[test]
    fn labelled_persons_are_pseudonymised_everywhere() {
        let (out, report) = run(
            &[
                "证人李秀英（联系电话***********）证实，当事人之妻王丽华于2017年9月5日到本局。",
                "检查时，现场负责人刘洋在场。据刘洋陈述，上述产品由其妻子周芳负责上架销售。",
                "委托代理人：赵敏，该公司员工。申请人员工马超及其父马国庆在场。李秀英再次确认。",
            ],
            CounterpartyKind::Organisation,
        );
        assert_eq!(
            out[0],
            "证人李某（联系电话***********）证实，当事人之妻王某于2017年9月5日到本局。"
        );
        assert_eq!(
            out[1],
            "检查时，现场负责人刘某在场。据刘某陈述，上述产品由其妻子周某负责上架销售。"
        );
        assert_eq!(
            out[2],
            "委托代理人：赵某，该公司员工。申请人员工马某及其父马某在场。李某再次确认。"
        );
        assert_eq!(report, [("person_name", 9)]);
    }

    #[test]
    fn legal_representatives_and_organisations_are_kept() {
        let (out, report) = run(
            &[
                "当事人：聊城市鑫源食品有限公司",
                "法定代表人：张伟",
                "当事人张伟未到场。",
            ],
            CounterpartyKind::Organisation,
        );
        assert_eq!(out[1], "法定代表人：张伟");
        assert_eq!(out[0], "当事人：聊城市鑫源食品有限公司");
        assert!(report.is_empty(), "{report:?}");
    }

    #[test]
    fn a_natural_counterparty_without_a_record() {
        let (out, _) = run(
            &[
                "当事人：司马建国，男，1980年1月1日出生，汉族",
                "当事人司马建国未按规定填制会计凭证。当事人应当自收到本决定书之日起十五日内缴纳。",
                "该公司员工应当遵守规定。",
            ],
            CounterpartyKind::NaturalPerson,
        );
        assert_eq!(out[0], "当事人：司马某，男，*********出生，汉族");
        assert_eq!(
            out[1],
            "当事人司马某未按规定填制会计凭证。当事人应当自收到本决定书之日起十五日内缴纳。"
        );
        assert_eq!(out[2], "该公司员工应当遵守规定。");
        // Not a name: a company after a counterparty label.
        let (out, _) = run(
            &["申请人：山东茌平恒达建材有限公司"],
            CounterpartyKind::NaturalPerson,
        );
        assert_eq!(out[0], "申请人：山东茌平恒达建材有限公司");
    }

    #[test]
    fn addresses_ids_and_birth_dates_after_labels() {
        let (out, report) = run(
            &[
                "住址：聊城市茌平区振兴路某号",
                "当事人之妻（住聊城市茌平区信发街88号3单元502室）到场，证人（住花园路*****）。",
                "身份证号码：371523198001011234，出生日期：1980年1月1日。",
                "住所：聊城市东昌府区柳园路100号",
            ],
            CounterpartyKind::Organisation,
        );
        assert_eq!(out[0], "住址：***********");
        assert_eq!(
            out[1],
            "当事人之妻（住*******************）到场，证人（住********）。"
        );
        assert_eq!(
            out[2],
            "身份证号码：******************，出生日期：*********。"
        );
        // An organisation's registered address is public.
        assert_eq!(out[3], "住所：聊城市东昌府区柳园路100号");
        assert_eq!(report, [("labelled_value", 5)]);
        let (out, _) = run(
            &["住所：聊城市东昌府区柳园路100号"],
            CounterpartyKind::NaturalPerson,
        );
        assert_eq!(out[0], "住所：**************");
    }

    #[test]
    fn already_masked_values_are_not_counted_again() {
        let (_, report) = run(
            &["联系电话：***********，住址：******"],
            CounterpartyKind::NaturalPerson,
        );
        assert!(report.is_empty(), "{report:?}");
    }

    #[test]
    fn government_rules_change_nothing() {
        let rules = NaturalPersonRules {
            pseudonymise_names: false,
            pseudonymise_legal_rep: false,
            hide_addresses: false,
            hide_id_numbers: false,
        };
        let mut p = vec!["证人李秀英，住址：某路1号，1980年1月1日出生".to_string()];
        let before = p.clone();
        assert!(apply(&mut p, rules, CounterpartyKind::NaturalPerson).is_empty());
        assert_eq!(p, before);
    }

    #[test]
    fn kind_is_inferred_from_the_party_block() {
        let org = [
            "当事人：某某有限公司".to_string(),
            "统一社会信用代码：91…".to_string(),
        ];
        assert_eq!(
            CounterpartyKind::infer(&org),
            CounterpartyKind::Organisation
        );
        let person = [
            "当事人：张三，男".to_string(),
            "经查，当事人为某公司（统一社会信用代码91…）记账。".to_string(),
        ];
        assert_eq!(
            CounterpartyKind::infer(&person),
            CounterpartyKind::NaturalPerson
        );
    }
}
