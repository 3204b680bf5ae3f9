//! Property tests (issue 3): any valid resident ID, mobile or bank card number embedded anywhere in
//! any text field, between Chinese characters, punctuation, in full-width digits or grouped, is
//! always masked; enterprise codes and document numbers never are. Issue 9: another person's name
//! in any role context is always pseudonymised, place and company names never change, passport
//! numbers are always masked, and masking keeps a text's length (only pseudonyms shorten it).
//!
//! The generators compute check digits with their own code (not the crate's), and build records
//! of a legal-person counterparty so that nothing but the detectors changes the text.

use dhub_redaction::{ids, Outcome, Policy};
use proptest::prelude::*;
use serde_json::{json, Value};

// --------------------------------------------------------------------------------------------
// Check digits, written independently of the crate.

fn id_check(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    "10X98765432".chars().nth((sum % 11) as usize).unwrap()
}

fn luhn_complete(body: &str) -> String {
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|s| {
            let sum: u32 = s
                .chars()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let d = c.to_digit(10).unwrap();
                    if i % 2 == 1 {
                        let d = d * 2;
                        if d > 9 {
                            d - 9
                        } else {
                            d
                        }
                    } else {
                        d
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        })
        .unwrap()
}

const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn org_code_check(body: &str) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(36).unwrap() * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap(),
    }
}

fn uscc_check(first17: &str) -> char {
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = first17
        .chars()
        .zip(W)
        .map(|(c, w)| USCC_ALPHABET.find(c).unwrap() * w)
        .sum();
    USCC_ALPHABET.chars().nth((31 - sum % 31) % 31).unwrap()
}

// --------------------------------------------------------------------------------------------
// Generators.

/// How a number is written.
#[derive(Debug, Clone, Copy)]
struct Spelling {
    full_width: bool,
}

fn spell(ascii: &str, s: Spelling) -> String {
    if !s.full_width {
        return ascii.to_string();
    }
    ascii
        .chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' | '+' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            _ => c,
        })
        .collect()
}

const PROVINCES: [&str; 12] = [
    "11", "13", "21", "31", "32", "37", "41", "44", "51", "62", "65", "82",
];

fn resident_id() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&PROVINCES[..]),
        0u32..10_000,
        1930i32..2012,
        1u32..13,
        1u32..29,
        0u32..1000,
        prop::sample::select(&["", " ", "-"][..]),
        any::<bool>(),
    )
        .prop_map(|(p, area, year, month, day, seq, sep, lower_x)| {
            let first17 = format!("{p}{area:04}{year:04}{month:02}{day:02}{seq:03}");
            let mut check = id_check(&first17);
            if check == 'X' && lower_x {
                check = 'x';
            }
            let id = format!("{first17}{check}");
            // Grouped 6-8-4 when a separator is drawn.
            if sep.is_empty() {
                id
            } else {
                format!("{}{sep}{}{sep}{}", &id[..6], &id[6..14], &id[14..])
            }
        })
}

fn legacy_id() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&PROVINCES[..]),
        0u32..10_000,
        30u32..100,
        1u32..13,
        1u32..29,
        0u32..1000,
    )
        .prop_map(|(p, area, yy, month, day, seq)| {
            format!("{p}{area:04}{yy:02}{month:02}{day:02}{seq:03}")
        })
}

fn mobile() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["", "86", "+86", "+86 ", "86-", "0086 "][..]),
        3u8..10,
        0u64..1_000_000_000,
        prop::sample::select(&["", " ", "-"][..]),
    )
        .prop_map(|(prefix, second, rest, sep)| {
            let number = format!("1{second}{rest:09}");
            let body = if sep.is_empty() {
                number
            } else {
                format!(
                    "{}{sep}{}{sep}{}",
                    &number[..3],
                    &number[3..7],
                    &number[7..]
                )
            };
            format!("{prefix}{body}")
        })
}

fn bank_card() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["62", "4", "51", "35", "9"][..]),
        16usize..20,
        prop::collection::vec(0u8..10, 19),
        any::<bool>(),
    )
        .prop_filter_map(
            "an 18-digit card that is also a well-formed USCC reads as an enterprise code",
            |(iin, len, digits, grouped)| {
                let mut body: String = iin.to_string();
                for d in digits.iter().take(len - 1 - iin.len()) {
                    body.push(char::from(b'0' + d));
                }
                let card = luhn_complete(&body);
                if ids::is_wellformed_uscc(card.as_bytes()) {
                    return None;
                }
                Some(if grouped {
                    card.as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    card
                })
            },
        )
}

/// A well-formed unified social credit code, as enterprises and agencies hold them.
fn uscc() -> impl Strategy<Value = String> {
    let org_char = prop::sample::select(USCC_ALPHABET.chars().collect::<Vec<_>>());
    (
        prop::sample::select(&["91", "92", "93", "11", "12", "51", "52", "Y1"][..]),
        prop::sample::select(&["371523", "371500", "370000", "110105", "440300", "100000"][..]),
        prop::collection::vec(org_char, 8),
    )
        .prop_filter_map(
            "a code that is also a valid resident ID is masked by design",
            |(head, division, org)| {
                let body: String = org.into_iter().collect();
                let org_code = format!("{body}{}", org_code_check(&body));
                let first17 = format!("{head}{division}{org_code}");
                let code = format!("{first17}{}", uscc_check(&first17));
                (!ids::is_valid_resident_id18(code.as_bytes())).then_some(code)
            },
        )
}

fn org_code() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::sample::select(USCC_ALPHABET.chars().collect::<Vec<_>>()),
            8,
        ),
        any::<bool>(),
    )
        .prop_filter_map(
            "an unlabelled code shaped like a passport number (E + 8 digits) is masked by design",
            |(body, hyphen)| {
                let body: String = body.into_iter().collect();
                let check = org_code_check(&body);
                if hyphen {
                    return Some(format!("{body}-{check}"));
                }
                let code = format!("{body}{check}");
                let digits = |from: usize| code[from..].chars().all(|c| c.is_ascii_digit());
                let passport_shaped = (code.starts_with(['E', 'G', 'D', 'S', 'P']) && digits(1))
                    || (code.starts_with('E')
                        && code[1..2]
                            .chars()
                            .all(|c| c.is_ascii_uppercase() && c != 'I' && c != 'O')
                        && digits(2));
                (!passport_shaped).then_some(code)
            },
        )
}

fn document_no() -> impl Strategy<Value = String> {
    (
        prop::sample::select(
            &[
                "茌财罚",
                "东市监罚",
                "鲁政办发",
                "聊市监罚",
                "德银保监罚决字",
                "国办发",
            ][..],
        ),
        2000u32..2030,
        1u32..10_000,
        prop::sample::select(&[("〔", "〕"), ("[", "]"), ("（", "）"), ("(", ")")][..]),
    )
        .prop_map(|(agency, year, n, (open, close))| format!("{agency}{open}{year}{close}{n}号"))
}

/// Text around an identifier: Chinese characters and punctuation, full-width and ASCII. No digits
/// or letters (they would change the identifier), and no 楼/院 (after `12号` they would make an
/// address of a document number).
fn filler() -> impl Strategy<Value = String> {
    filler_from(&FILLER_PIECES)
}

/// The same without the bank labels: by design a `银行卡` / `账号` label forces what follows to be
/// masked as an account even when it is also a well-formed enterprise code (crate README).
fn filler_without_bank_labels() -> impl Strategy<Value = String> {
    filler_from(&FILLER_PIECES[..FILLER_PIECES.len() - 1])
}

const FILLER_PIECES: [&str; 39] = [
    "当事人",
    "经查",
    "，",
    "。",
    "：",
    ":",
    "（",
    "）",
    "(",
    ")",
    "、",
    "；",
    "“",
    "”",
    "《",
    "》",
    "的",
    "于",
    "在",
    "联系",
    "号码",
    "身份证",
    "手机",
    "电话",
    "罚款",
    "元",
    " ",
    "—",
    "财政局",
    "未按规定",
    "填制",
    "会计凭证",
    "处罚",
    "决定",
    "！",
    "？",
    "…",
    "·",
    // Keep last: left out by `filler_without_bank_labels`.
    "银行卡",
];

// --------------------------------------------------------------------------------------------
// Other persons, places, passports (issue 9).

/// Common surnames, single and compound. Left out: surname characters that are everyday words
/// (有, 经, 于, 向, 查 …), which the detector reads only where they cannot be a word.
const SURNAMES: [&str; 62] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "田",
    "董", "袁", "潘", "蒋", "蔡", "杜", "叶", "苏", "魏", "吕", "沈", "姚", "卢", "姜", "崔", "钟",
    "谭", "陆", "汪", "金", "石", "肖", "付", "孔", "欧阳", "司马", "诸葛", "上官", "慕容", "东方",
];

/// Characters of given names.
const GIVEN: &str = "明华国建军平英秀文海伟强芳丽娟敏静刚勇杰涛磊超霞燕红玲辉鹏斌飞洋宇浩欣林新春云龙兰凤梅玉宝贵德忠志永立祥庆兴学光才振晓丹萍";

fn person_name() -> impl Strategy<Value = (String, String)> {
    let given = prop::sample::select(GIVEN.chars().collect::<Vec<_>>());
    (
        prop::sample::select(&SURNAMES[..]),
        prop::collection::vec(given, 1..=2),
    )
        .prop_map(|(surname, given)| {
            let name = format!("{surname}{}", given.into_iter().collect::<String>());
            (name, format!("{surname}某"))
        })
}

/// Role words a name follows, with what may stand between, and how they come out (a list after
/// one role word names a first person too).
const ROLES: [(&str, &str); 22] = [
    ("证人", "证人"),
    ("其妻", "其妻"),
    ("丈夫", "丈夫"),
    ("之子", "之子"),
    ("之女", "之女"),
    ("父亲", "父亲"),
    ("母亲", "母亲"),
    ("代理人", "代理人"),
    ("委托代理人：", "委托代理人："),
    ("员工", "员工"),
    ("店员", "店员"),
    ("负责人", "负责人"),
    ("经营者", "经营者"),
    ("举报人", "举报人"),
    ("投诉人", "投诉人"),
    ("当事人", "当事人"),
    ("法定代表人", "法定代表人"),
    ("姓名：", "姓名："),
    ("证人李秀英、", "证人李某、"),
    ("雇佣", "雇佣"),
    ("驾驶员", "驾驶员"),
    ("消费者", "消费者"),
];

/// What follows a name in a sentence (each starts with a word that ends a name).
const AFTER_NAME: [&str; 14] = [
    "称",
    "，",
    "。",
    "到场",
    "在场",
    "签字确认",
    "（男，1980年生）",
    "陈述",
    "驾驶车辆",
    "的",
    "系该店员工",
    "现住院治疗",
    "供述",
    "（女）",
];

/// What may stand before a name that a statement or a bracket follows: a word boundary.
const BEFORE_STATEMENT: [&str; 7] = ["", "经查，", "据", "另查明，", "经询问", "；", "证人"];
const STATEMENTS: [&str; 7] = [
    "称",
    "供述",
    "陈述",
    "签字",
    "（男，1980年生）",
    "（女）",
    "，男，",
];

/// Place and company names (the list, in the forms case text writes them).
const PLACES: [&str; 20] = [
    "张家口市",
    "王府井大街",
    "王府井百货大楼",
    "李宁体育用品有限公司",
    "马鞍山市",
    "马鞍山钢铁股份有限公司",
    "黄山风景区",
    "高新区",
    "周村区",
    "文化路",
    "石家庄市",
    "金华市",
    "常州市",
    "白银市",
    "张店区",
    "山东省",
    "东营市",
    "宁夏回族自治区",
    "张家港市",
    "王家庄村",
];
const BEFORE_PLACE: [&str; 10] = [
    "",
    "位于",
    "，",
    "当事人",
    "经营者",
    "负责人：",
    "举报人",
    "在",
    "前往",
    "来自",
];
const AFTER_PLACE: [&str; 9] = [
    "",
    "。",
    "的",
    "于2017年",
    "开设",
    "人民政府",
    "（统一社会信用代码）",
    "称",
    "、",
];

/// A passport or travel-permit number as text writes it: the shapes read anywhere, and labelled
/// numbers of any shape.
fn passport() -> impl Strategy<Value = String> {
    let letter = prop::sample::select("ABCDEFGHJKLMNPQRSTUVWXYZ".chars().collect::<Vec<_>>());
    let alnum = prop::sample::select(
        "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (
            prop::sample::select(&['E', 'G', 'D', 'S', 'P'][..]),
            0u32..100_000_000
        )
            .prop_map(|(l, n)| format!("{l}{n:08}")),
        (letter, 0u32..10_000_000).prop_map(|(l, n)| format!("E{l}{n:07}")),
        (
            prop::sample::select(
                &[
                    "护照号码：",
                    "护照",
                    "护照号",
                    "港澳通行证",
                    "回乡证号码：",
                    "Passport No. "
                ][..]
            ),
            prop::collection::vec(alnum, 5..=11),
            0u8..10,
        )
            .prop_map(|(label, body, digit)| {
                // At least one digit, anywhere in the number.
                let mut body: String = body.into_iter().collect();
                let at = usize::from(digit) % (body.len() + 1);
                body.insert(at, char::from(b'0' + digit));
                format!("{label}\u{0}{body}")
            }),
    ]
}

fn filler_from(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces), 0..6).prop_map(|v| v.concat())
}

const TEXT_FIELDS: [&str; 8] = [
    "facts",
    "content",
    "remarks",
    "legal_basis",
    "violation_type",
    "license_affected",
    "legal_review.reviewer",
    "extra_note",
];

fn record_with(field: &str, text: &str) -> Value {
    let mut r = json!({
        "record_id": "prop:1",
        "version": 1,
        "category": "penalty",
        "status": "in_force",
        "procedure": "ordinary",
        "division_code": "371523",
        "agency": {"name": "茌平县财政局", "uscc": "113715230042112358"},
        "document_no": "茌财罚〔2017〕12号",
        "counterparty": {"name": "聊城市鑫源会计服务有限公司", "kind": "legal_person"},
        "facts": "",
        "decided_on": "2017-10-12",
        "major": false,
        "legal_review": {"passed": true, "reviewer": "法制科"},
        "classification": "public",
    });
    match field.split_once('.') {
        Some((outer, inner)) => r[outer][inner] = json!(text),
        None => r[field] = json!(text),
    }
    r
}

fn redacted_field(field: &str, text: &str) -> String {
    let policy = Policy::builtin("public").expect("builtin");
    match policy.redact(&record_with(field, text)) {
        Outcome::Publish { record, .. } => {
            let v = match field.split_once('.') {
                Some((outer, inner)) => &record[outer][inner],
                None => &record[field],
            };
            v.as_str().expect("still text").to_string()
        }
        Outcome::Withhold { reason, detail } => panic!("withheld: {reason} {detail}"),
    }
}

/// The characters of `needle` (at char offset `at`) are all `*` in `out`, and nothing was
/// inserted or deleted (the record has no natural person, so no pseudonym changes lengths).
fn assert_masked(out: &str, input: &str, at: usize, needle: &str) -> Result<(), TestCaseError> {
    let out_chars: Vec<char> = out.chars().collect();
    prop_assert_eq!(out_chars.len(), input.chars().count());
    let len = needle.chars().count();
    let span: String = out_chars[at..at + len].iter().collect();
    prop_assert!(
        span.chars().all(|c| c == '*'),
        "not masked: {} in {}",
        needle,
        out
    );
    Ok(())
}

fn check_masked(field: &str, before: &str, number: &str, after: &str) -> Result<(), TestCaseError> {
    let text = format!("{before}{number}{after}");
    let out = redacted_field(field, &text);
    assert_masked(&out, &text, before.chars().count(), number)
}

fn check_left(field: &str, before: &str, code: &str, after: &str) -> Result<(), TestCaseError> {
    let text = format!("{before}{code}{after}");
    let out = redacted_field(field, &text);
    prop_assert_eq!(out, text);
    Ok(())
}

/// 400 cases per property by default; `PROPTEST_CASES=20000` for a long hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(400);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn resident_ids_are_always_masked(
        id in resident_id(), fw in any::<bool>(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler(), after in filler(),
    ) {
        check_masked(field, &before, &spell(&id, Spelling { full_width: fw }), &after)?;
    }

    #[test]
    fn legacy_ids_are_always_masked(
        id in legacy_id(), fw in any::<bool>(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler(), after in filler(),
    ) {
        check_masked(field, &before, &spell(&id, Spelling { full_width: fw }), &after)?;
    }

    #[test]
    fn mobiles_are_always_masked(
        m in mobile(), fw in any::<bool>(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler(), after in filler(),
    ) {
        check_masked(field, &before, &spell(&m, Spelling { full_width: fw }), &after)?;
    }

    #[test]
    fn bank_cards_are_always_masked(
        card in bank_card(), fw in any::<bool>(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler(), after in filler(),
    ) {
        check_masked(field, &before, &spell(&card, Spelling { full_width: fw }), &after)?;
    }

    #[test]
    fn several_identifiers_in_one_text_are_all_masked(
        id in resident_id(), m in mobile(), card in bank_card(),
        a in filler(), b in filler(), c in filler(), d in filler(),
    ) {
        // Fillers may be empty; a separator-free CJK joint keeps the numbers apart.
        let parts = [a, "和".to_string() + &id, b + "和", m.clone(), c + "和", card.clone(), d];
        let text = parts.concat();
        let out = redacted_field("facts", &text);
        let at_id = parts[0].chars().count() + 1;
        assert_masked(&out, &text, at_id, &id)?;
        let at_m = parts[..3].concat().chars().count();
        assert_masked(&out, &text, at_m, &m)?;
        let at_card = parts[..5].concat().chars().count();
        assert_masked(&out, &text, at_card, &card)?;
    }

    #[test]
    fn enterprise_codes_are_never_masked(
        code in uscc(), org in org_code(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler_without_bank_labels(), after in filler(),
    ) {
        check_left(field, &before, &code, &after)?;
        check_left(field, &before, &org, &after)?;
    }

    #[test]
    fn document_numbers_are_never_masked(
        doc in document_no(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler_without_bank_labels(), after in filler(),
    ) {
        check_left(field, &before, &doc, &after)?;
    }

    /// Whatever the input, redaction never panics and keeps every string valid: a fuzz over
    /// arbitrary text in the free-text field.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = redacted_field("facts", &text);
    }

    /// A name after a role word, or before a statement, is always surname + 某, wherever the
    /// sentence stands and in whichever text field.
    #[test]
    fn other_persons_in_role_contexts_are_always_pseudonymised(
        (name, pseudonym) in person_name(),
        role in prop::sample::select(&ROLES[..]),
        after in prop::sample::select(&AFTER_NAME[..]),
        before_statement in prop::sample::select(&BEFORE_STATEMENT[..]),
        statement in prop::sample::select(&STATEMENTS[..]),
        field in prop::sample::select(&TEXT_FIELDS[..]),
        lead in prop::sample::select(&["", "经查，", "另查明，", "。"][..]),
    ) {
        let (role, role_out) = role;
        let text = format!("{lead}{role}{name}{after}");
        prop_assert_eq!(
            redacted_field(field, &text),
            format!("{lead}{role_out}{pseudonym}{after}")
        );
        let text = format!("{before_statement}{name}{statement}");
        prop_assert_eq!(
            redacted_field(field, &text),
            format!("{before_statement}{pseudonym}{statement}")
        );
    }

    /// Place and company names never change, with or without a role word before them.
    #[test]
    fn place_and_company_names_are_never_changed(
        place in prop::sample::select(&PLACES[..]),
        before in prop::sample::select(&BEFORE_PLACE[..]),
        after in prop::sample::select(&AFTER_PLACE[..]),
        field in prop::sample::select(&TEXT_FIELDS[..]),
    ) {
        check_left(field, before, place, after)?;
    }

    /// Passport and permit numbers are always masked, their length kept.
    #[test]
    fn passports_are_always_masked(
        number in passport(), fw in any::<bool>(), field in prop::sample::select(&TEXT_FIELDS[..]),
        before in filler(), after in filler(),
    ) {
        // `\0` separates a label from the number it labels: only the number is masked.
        let (label, number) = number.split_once('\0').unwrap_or(("", &number));
        let before = format!("{before}{label}");
        check_masked(field, &before, &spell(number, Spelling { full_width: fw }), &after)?;
    }

    /// Without pseudonyms, redaction never changes a text's length; with them it only shortens
    /// it (surname + 某 replaces a longer name).
    #[test]
    fn masks_keep_length_and_pseudonyms_only_shorten(
        text in "(证人|其妻|员工|王|小|明|李|秀英|欧阳|娜娜|称|，|（男，|张家口市|幸福路|十二|号|三|单元|室|护照|E12345678|13812345678|住址：|张庄村| ){0,24}",
        plain in "[0-9０-９a-zA-Z@.\\- 一二三十〇号路栋室单元楼组村鲁P+（）()护照]{0,80}",
    ) {
        let out = redacted_field("facts", &text);
        prop_assert!(out.chars().count() <= text.chars().count(), "{} -> {}", text, out);
        let out = redacted_field("facts", &plain);
        prop_assert_eq!(out.chars().count(), plain.chars().count());
    }

    /// Masking never changes a text's length in characters when no pseudonym is involved.
    #[test]
    fn masking_keeps_length(text in "[0-9０-９a-zA-Z@.\\- 一二三号路栋室鲁P+（）()]{0,80}") {
        let out = redacted_field("facts", &text);
        prop_assert_eq!(out.chars().count(), text.chars().count());
    }
}
