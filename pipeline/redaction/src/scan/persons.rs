//! Names of natural persons other than the counterparty: witnesses, relatives, agents,
//! employees (行政处罚结果信息网上公开暂行办法 Art. 7). Replaced by surname + 某, like the
//! counterparty's own name.
//!
//! There is no name dictionary and no language model: a name is read where the text says that
//! a person stands there, and only there.
//!
//! - After a role word (`证人王小明`, `其妻李秀英`, `委托代理人：赵刚`, `姓名：张三`), read forwards: a
//!   surname of `data/` (compound first), then one or two given-name characters.
//! - Before a statement (`王小明称`, `李四供述`, `张三签字`) or a bracket that describes a person
//!   (`刘洋（男，1980年生）`, `王五（身份证号…）`, `，女，`), read backwards: two to four characters
//!   that start with a surname, where the character before them ends a word (punctuation, a role
//!   word, `询问`, `经查`).
//!
//! What keeps place and company names out (`张家口市`, `王府井`, `李宁体育用品有限公司`, `周村区`):
//! given-name characters never include place or organisation characters (市, 区, 村, 路, 府 …),
//! the character after a name may not be one either, the words up to the next verb or
//! punctuation may not hold a company word (公司, 有限, 集团 …), and two-character words that
//! start with a surname character (`高新`, `文化`, `金额`, `应当`) are not names. A role word right
//! before a company (`当事人李宁体育用品有限公司`) is the common case these rules are for.
//!
//! Names the record publishes (the legal representative's, CONTRACT §5) are left where they
//! recur, and a name found once is replaced wherever else it stands in the same string.
//! Already pseudonymised names (`张某`, `张某某`) are left as they are.

use std::sync::OnceLock;

use super::cjk::{self, CharSet};
use super::{Hit, Replace, Rule, Scratch, TextContext};
use crate::names;

/// Words after which a person's name follows. `法定代表人` is one: a legal representative's name
/// in text is kept when it is the record's own `legal_rep.name` (kept by the policy), and
/// pseudonymised otherwise (another company's representative is a natural person too).
const ROLES_BEFORE: &[&str] = &[
    // Statements and proceedings.
    "证人",
    "见证人",
    "保证人",
    "当事人",
    "举报人",
    "投诉人",
    "举报者",
    "投诉者",
    "申请人",
    "受害人",
    "被害人",
    "受害者",
    "监护人",
    "代理人",
    "委托人",
    "联系人",
    "经办人",
    "责任人",
    "负责人",
    "经营者",
    "法定代表人",
    "实际控制人",
    "投资人",
    "合伙人",
    "股东",
    "承租人",
    "出租人",
    "收款人",
    "消费者",
    "购买者",
    "患者",
    "姓名",
    // Family.
    "其妻",
    "之妻",
    "妻子",
    "丈夫",
    "其夫",
    "之夫",
    "之子",
    "其子",
    "儿子",
    "之女",
    "其女",
    "女儿",
    "父亲",
    "母亲",
    "其父",
    "之父",
    "其母",
    "之母",
    "哥哥",
    "姐姐",
    "弟弟",
    "妹妹",
    "亲属",
    "家属",
    // Work.
    "员工",
    "职工",
    "雇工",
    "店员",
    "职员",
    "雇员",
    "营业员",
    "收银员",
    "业务员",
    "销售员",
    "驾驶员",
    "驾驶人",
    "服务员",
    "售货员",
    "工作人员",
    "执法人员",
    "会计",
    "出纳",
    "司机",
    "厨师",
    "医生",
    "护士",
    "店主",
    "摊主",
    "车主",
    "户主",
    "业主",
    "房东",
    "老板",
    // Hiring and directing: the person hired or directed follows.
    "雇佣",
    "雇用",
    "聘用",
    "聘请",
    "指使",
    // Others.
    "男子",
    "女子",
    "村民",
    "居民",
];

/// A role word followed by these is a different word, not a role (`会计法`, `会计师事务所`).
const NOT_ROLES: &[&str] = &[
    "会计法",
    "会计师",
    "会计年度",
    "会计从业",
    "员工宿舍",
    "消费者权益",
    "业主委员会",
];

/// Words after a name that say what the person said or did. Where the text says `称` after a
/// word (`名称`, `简称`, `声称`), the word is not a name: see [`not_a_statement`].
const SAID_AFTER: &[&str] = &[
    "辩称",
    "称",
    "说",
    "供述",
    "陈述",
    "签字",
    "签名",
    "证实",
    "作证",
    "承认",
    "身份证",
    "证件号",
    "系",
];

/// What opens a bracket after a name (`王五（身份证号…）`, `刘洋（男，1980年生）`). 男 and 女 count
/// after a comma too (`王小明，男，汉族`).
const BRACKETED_AFTER: &[&str] = &[
    "男",
    "女",
    "身份证",
    "旧身份证",
    "公民身份",
    "证件",
    "电话",
    "手机",
    "联系电话",
    "住",
    "系",
];

const ROLE_LAST: CharSet = CharSet::last_chars(ROLES_BEFORE);
const SAID_FIRST: CharSet = CharSet::first_chars(SAID_AFTER);
const BRACKET_FIRST: CharSet = CharSet::first_chars(BRACKETED_AFTER);

/// The anchors this module starts from (see the tokenizer).
pub(super) const ANCHOR_CHARS: CharSet = ROLE_LAST.union(&SAID_FIRST).union(&BRACKET_FIRST);

/// Characters that never begin a given name but often follow a surname character in ordinary
/// words (`经营`, `于是`, `向本机关`, `应当`): function words, and words of offices and law.
/// Common given-name characters (有, 来, 和, 月 …) are deliberately absent.
static NOT_GIVEN: CharSet = CharSet::of(
    "的了是在与及或等对向将把被于从自由以因为其之所该本此这那们个位称说也都又亦即并且而但却则就\
     还再各每不未没无已当事务业司局部处科室厂店市县区省镇乡村路街巷号楼第条款项罚律规证照执行府\
     机关单人员者式面理营查济过历办销庭属具度价额案排置识期候限效贴边末围独请辩报品户标系闭急解\
     间段线任知同某氏舍述联身手电话码财填会决经元份卡",
);

/// Place and organisation characters: a name holding one, or followed by one, is a place or an
/// organisation (`张家口市`, `周村区`, `张店区`, `王府井`, `高新区`).
static PLACE: CharSet = CharSet::of("省市县区镇乡村路街巷旗州盟厂店局司府院馆站社庄港口");

/// Characters that end a name read forwards when they come third (`王芳称`, `王芳家住`,
/// `王芳在场`): verbs, prepositions and particles that follow names.
static CUT: CharSet = CharSet::of(
    "称说讲述供陈签作证承认交表系是的地得和与及或等因向对将把被让给于在到去从自由以为之其同并则便\
     就还再又也都亦曾已未不没无现即均各共家住居驾持携带用使叫请告拒提出前后时处手电身联名岁负经\
     申违所至随跟陪帮替要想能会可应需须仍却但而且如若虽故某确购买卖销收付拿取送接",
);

/// Characters after which a name read backwards may start: a role word's end, `询问`, `经查`,
/// `据`, conjunctions and copulas.
static LEFT_OK: CharSet = ROLE_LAST.union(&CharSet::of("问查据和与及同向对让叫由将把被是系为的事"));

/// Where a run of words that might be a company or place name stops: verbs and particles.
static RUN_END: CharSet = CharSet::of(
    "的于在称说和与及等向对将把被到是系为已未不并也都又亦曾即从自由以因住现居驾持携带负打拿走买\
     卖购收付交送接给让帮做拒签作讲述陈供证承认表示要想会能可应需须仍却但而且如若虽故均共各每",
);

/// Words of organisations and places: a run holding one is not a person.
const ORG_WORDS: &[&str] = &[
    "公司",
    "有限",
    "集团",
    "商行",
    "商店",
    "超市",
    "银行",
    "信用社",
    "合作社",
    "事务所",
    "经营部",
    "门市",
    "医院",
    "诊所",
    "药店",
    "药房",
    "学校",
    "幼儿园",
    "协会",
    "酒店",
    "饭店",
    "宾馆",
    "旅馆",
    "大厦",
    "商场",
    "中心",
    "景区",
    "大街",
    "广场",
    "工作室",
    "俱乐部",
    "加油站",
    "委员会",
];

const ORG_FIRST: CharSet = CharSet::first_chars(ORG_WORDS);

/// The last character of an organisation or place name.
static PLACE_END: CharSet =
    CharSet::of("省市县区镇乡村路街巷旗州盟厂店局司行部处所院馆站社楼场园苑港");

/// Two-character words that start with a surname character and are not names: provinces and
/// cities, and common words of case text.
const COMMON_WORDS: &[&str] = &[
    "山东", "山西", "江苏", "江西", "云南", "海南", "安徽", "吉林", "甘肃", "宁夏", "马鞍", "高新",
    "文化", "白银", "高于", "应当", "应该", "应急", "安全", "安排", "安装", "方式", "方面", "方法",
    "方案", "方便", "文件", "文书", "成本", "成立", "成年", "成员", "成交", "关于", "单位", "申请",
    "申辩", "商品", "常年", "常住", "周边", "马上", "黄金", "石油", "张贴", "白天", "万元", "高度",
    "金额", "金融", "于是", "路段", "路口", "解除", "程序", "管理", "严重", "任何", "曾经", "曾任",
    "权益", "余额", "余款", "华侨", "左右",
];

/// Surnames of the list that are rare as surnames but everyday words: after a role word they
/// start a verb or a noun far more often than a name (`当事人有…`, `当事人通过…`, `当事人符合…`,
/// `当事人车辆…`). The detector does not read a name from them; the counterparty's own name is
/// still pseudonymised whatever its surname.
static WORD_SURNAMES: CharSet = CharSet::of(
    "有和时都能后经党法计双全元家那从年言福爱阳红空广国利益养须相别通步终居满充慎习容暨劳贡扶农\
     连越简干包诸封储车符印暴归况明司师宣东",
);

/// A name found in text: its span and the length of its surname, in bytes.
#[derive(Clone, Copy)]
struct Found {
    start: usize,
    end: usize,
    surname: usize,
}

/// Finds other persons' names at the anchors and their recurrences in the same string; they go
/// to `s.persons`, where they join the counterparty's name (`find_needles`).
pub(super) fn find_person_names(text: &str, ctx: &TextContext, s: &mut Scratch) {
    let mut found: Vec<Found> = Vec::new();
    let lex = surnames();
    // Anchors are common characters (人, 用, 作, 证): each test below starts with the cheapest
    // question that rules a name out (does a surname follow? could the character before end a
    // given name?), and reads words only when that passes.
    for &(p, c) in &s.anchors {
        if ROLE_LAST.contains(c) {
            let end = p + c.len_utf8();
            let start = skip_role_filler(text, end);
            if cjk::at(text, start).is_some_and(|n| lex.starts.contains(n)) {
                after_role(lex, text, end, start, &mut found);
            }
        }
        if SAID_FIRST.contains(c)
            && cjk::before(text, p).is_some_and(could_end_a_name)
            && SAID_AFTER.iter().any(|w| text[p..].starts_with(w))
            && !not_a_statement(text, p)
        {
            if let Some(f) = name_before(lex, text, p, false) {
                found.push(f);
            }
        }
        if BRACKET_FIRST.contains(c) {
            // Only a sex (`（男，`) says for certain that a person stands before it: a name read
            // before it needs no word boundary. `（身份证号` may follow a company too.
            let strong = matches!(c, '男' | '女');
            if let Some(f) =
                bracket_before(text, p).and_then(|end| name_before(lex, text, end, strong))
            {
                found.push(f);
            }
        }
    }
    found.retain(|f| {
        !ctx.kept_names
            .iter()
            .any(|k| !k.is_empty() && text[f.start..].starts_with(k.as_str()))
    });
    if found.is_empty() {
        return;
    }
    recurrences(text, &mut found);
    s.persons.extend(found.into_iter().map(|f| Hit {
        replace: Replace::Surname(f.surname as u8),
        ..Hit::mask(Rule::PersonName, f.start, f.end)
    }));
}

/// Beyond this many different first characters, recurrences are found in one pass over the text
/// instead of one SIMD search per character.
const MAX_SEARCHED_FIRSTS: usize = 8;

/// The same names elsewhere in the string, where nothing announces them (`证人王小明称…，王小明还…`).
/// Every name starts with a surname character: with few different ones (the usual case, one to
/// three persons), each is searched for with `memmem`; with many (a long text naming dozens), one
/// pass tests each CJK character against a bit set of them, so the cost never grows with the
/// number of names. The search finds the occurrences already found too (each is an occurrence of
/// its own name, followed by no place character): `found` is rebuilt from it, without duplicates.
fn recurrences(text: &str, found: &mut Vec<Found>) {
    let mut names: Vec<(&str, usize)> = Vec::new();
    for f in found.iter() {
        let name = &text[f.start..f.end];
        if !names.iter().rev().any(|(n, _)| *n == name) {
            names.push((name, f.surname));
        }
    }
    let mut firsts: Vec<&str> = names
        .iter()
        .filter_map(|(n, _)| n.get(..n.chars().next()?.len_utf8()))
        .collect();
    firsts.sort_unstable();
    firsts.dedup();
    found.clear();
    let b = text.as_bytes();
    let at_position = |i: usize, found: &mut Vec<Found>| {
        for &(name, surname) in &names {
            let end = i + name.len();
            // The first character (three bytes) decides for most names: compare it inline.
            if b[i..].get(..3) == name.as_bytes().get(..3)
                && b[i..].starts_with(name.as_bytes())
                && !cjk::at(text, end).is_some_and(|c| PLACE.contains(c))
            {
                found.push(Found {
                    start: i,
                    end,
                    surname,
                });
            }
        }
    };
    if firsts.len() <= MAX_SEARCHED_FIRSTS {
        for first in firsts {
            for i in memchr::memmem::find_iter(b, first.as_bytes()) {
                at_position(i, found);
            }
        }
        return;
    }
    let mut set = CharSet::EMPTY;
    for first in &firsts {
        if let Some(c) = first.chars().next() {
            set.insert(c);
        }
    }
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        let step = usize::from(super::BYTE_INFO[usize::from(lead)] & super::STEP_MASK);
        if step == 3 && i + 2 < b.len() && set.contains_utf8_3(lead, b[i + 1], b[i + 2]) {
            at_position(i, found);
        }
        i += step.max(1);
    }
}

/// The surnames the detector reads, built once from `data/` (without [`WORD_SURNAMES`]): sets
/// and a sorted list, so a lookup is a bit test or a binary search, never a hash.
struct Surnames {
    single: CharSet,
    /// First characters of compound surnames.
    compound_first: CharSet,
    compound: Vec<[char; 2]>,
    /// Characters a name may start with: `single` and `compound_first`.
    starts: CharSet,
    /// [`COMMON_WORDS`], sorted.
    common: Vec<[char; 2]>,
}

fn surnames() -> &'static Surnames {
    static SURNAMES: OnceLock<Surnames> = OnceLock::new();
    SURNAMES.get_or_init(|| {
        let mut single = CharSet::EMPTY;
        for c in ('\u{3400}'..='\u{9FFF}')
            .filter(|c| names::single_surnames().contains(*c) && !WORD_SURNAMES.contains(*c))
        {
            single.insert(c);
        }
        let mut compound: Vec<[char; 2]> = names::compound_surnames()
            .iter()
            .filter_map(|s| {
                let mut chars = s.chars();
                Some([chars.next()?, chars.next()?])
            })
            .collect();
        compound.sort_unstable();
        let mut compound_first = CharSet::EMPTY;
        for [c, _] in &compound {
            compound_first.insert(*c);
        }
        let starts = single.clone().union(&compound_first);
        let mut common: Vec<[char; 2]> = COMMON_WORDS
            .iter()
            .filter_map(|w| {
                let mut chars = w.chars();
                Some([chars.next()?, chars.next()?])
            })
            .collect();
        common.sort_unstable();
        Surnames {
            single,
            compound_first,
            compound,
            starts,
            common,
        }
    })
}

/// Whether `c` may be the last character of a name: an ideograph that given names use.
fn could_end_a_name(c: char) -> bool {
    cjk::is_ideograph(c) && !NOT_GIVEN.contains(c) && !PLACE.contains(c)
}

/// Where a name after a role word ending at `end` starts: after `：`, a space, or 为/是/系.
fn skip_role_filler(text: &str, end: usize) -> usize {
    let mut start = end;
    for _ in 0..2 {
        match cjk::at(text, start) {
            Some(c @ ('：' | ':' | ' ' | '\u{3000}' | '为' | '是' | '系')) => {
                start += c.len_utf8()
            }
            _ => break,
        }
    }
    start
}

/// After a role word ending at `end`: the name at `start`, and further names listed with 、 和
/// 及 与.
fn after_role(lex: &Surnames, text: &str, end: usize, mut start: usize, found: &mut Vec<Found>) {
    // The name's shape first: it fails on most text (`当事人于2017年`, `当事人于本`); then the role
    // (a list of a hundred words); then the costly word checks (`本机关责令` stops at the role).
    let Some(first) = name_after(lex, text, start) else {
        return;
    };
    // Every role ends with a three-byte character: compare those bytes inline before `memcmp`.
    let head = &text.as_bytes()[..end];
    let tail = &head[end.saturating_sub(3)..];
    let Some(role) = ROLES_BEFORE.iter().find(|r| {
        let r = r.as_bytes();
        r[r.len() - 3..] == *tail && head.ends_with(r)
    }) else {
        return;
    };
    let role_start = end - role.len();
    if NOT_ROLES
        .iter()
        .any(|w| w.starts_with(role) && text[role_start..].starts_with(w))
    {
        return;
    }
    let mut next = Some(first).filter(|f| is_plausible(lex, text, f));
    for _ in 0..8 {
        let Some(f) = next else {
            return;
        };
        found.push(f);
        match cjk::at(text, f.end) {
            Some(c @ ('、' | '和' | '及' | '与')) => start = f.end + c.len_utf8(),
            _ => return,
        }
        next = name_after(lex, text, start).filter(|f| is_plausible(lex, text, f));
    }
}

/// The surname lengths to try at `pos`, in bytes: a compound surname of the list first, then a
/// single one.
fn surnames_at(lex: &Surnames, text: &str, pos: usize) -> [Option<usize>; 2] {
    let Some(c0) = cjk::at(text, pos).filter(|c| lex.starts.contains(*c)) else {
        return [None, None];
    };
    let l0 = c0.len_utf8();
    let compound = if lex.compound_first.contains(c0) {
        cjk::at(text, pos + l0).and_then(|c1| {
            lex.compound
                .binary_search(&[c0, c1])
                .is_ok()
                .then_some(l0 + c1.len_utf8())
        })
    } else {
        None
    };
    [compound, lex.single.contains(c0).then_some(l0)]
}

fn is_common_word(lex: &Surnames, text: &str, start: usize) -> bool {
    let Some(c0) = cjk::at(text, start) else {
        return false;
    };
    cjk::at(text, start + c0.len_utf8())
        .is_some_and(|c1| lex.common.binary_search(&[c0, c1]).is_ok())
}

/// A name read forwards from `start`: surname, one given-name character, and a second one unless
/// it is a word that follows names ([`CUT`]). Without a word to stop at, two given-name characters
/// are taken, the common length: a wrong cut swallows a character of the text, never leaves one
/// of the name.
fn name_after(lex: &Surnames, text: &str, start: usize) -> Option<Found> {
    for surname in surnames_at(lex, text, start).into_iter().flatten() {
        let g = start + surname;
        let Some(g1) = cjk::at(text, g).filter(|c| cjk::is_ideograph(*c)) else {
            continue;
        };
        if g1 == '某' || g1 == '氏' {
            // `张某`, `张某某`, `王氏`: no given name to hide.
            return None;
        }
        if NOT_GIVEN.contains(g1) || PLACE.contains(g1) {
            continue;
        }
        let mut end = g + g1.len_utf8();
        if let Some(g2) = cjk::at(text, end).filter(|c| cjk::is_ideograph(*c)) {
            if PLACE.contains(g2) {
                return None;
            }
            if !CUT.contains(g2) && !NOT_GIVEN.contains(g2) {
                end += g2.len_utf8();
            }
        }
        if cjk::at(text, end).is_some_and(|c| PLACE.contains(c)) {
            return None;
        }
        return Some(Found {
            start,
            end,
            surname,
        });
    }
    None
}

/// The word-level checks of a name read forwards, after its shape passed: not a common word
/// (`高新`, `应当`), not the start of an organisation or a place. Kept apart from [`name_after`]
/// because they cost the most and most shapes fail earlier (or their role word does).
fn is_plausible(lex: &Surnames, text: &str, f: &Found) -> bool {
    let single = f.surname < 6;
    let common = single && is_common_word(lex, text, f.start);
    !common && !is_organisation(text, f.start)
}

/// Whether the words from `start` up to the next verb or punctuation (16 characters at most)
/// name an organisation or a place: a company word inside, a place character at the end, or a
/// document number's bracket right after.
fn is_organisation(text: &str, start: usize) -> bool {
    // The surname itself may be a word that ends runs (`于银行`): the run starts after it.
    let mut last = cjk::at(text, start);
    let mut end = start + last.map_or(0, char::len_utf8);
    for _ in 0..16 {
        match cjk::at(text, end) {
            Some(c) if cjk::is_ideograph(c) && !RUN_END.contains(c) => {
                end += c.len_utf8();
                last = Some(c);
            }
            _ => break,
        }
    }
    let run = &text[start..end];
    let org_word = run
        .char_indices()
        .any(|(i, c)| ORG_FIRST.contains(c) && ORG_WORDS.iter().any(|w| run[i..].starts_with(w)));
    // `鲁政办发〔2017〕32号`, `鲁政办发（2017）32号`: an issuing office's abbreviation, right before
    // a document number's bracketed year.
    let document_no = cjk::at(text, end)
        .filter(|c| matches!(c, '〔' | '[' | '【' | '［' | '（' | '('))
        .and_then(|c| cjk::at(text, end + c.len_utf8()))
        .is_some_and(|c| c.is_ascii_digit() || ('０'..='９').contains(&c));
    document_no || org_word || last.is_some_and(|c| PLACE_END.contains(c))
}

/// `称`, `说` and `系` after some words are not a person speaking (`名称`, `简称`, `据说`, `说明`,
/// `联系`).
fn not_a_statement(text: &str, p: usize) -> bool {
    let before = cjk::before(text, p);
    match cjk::at(text, p) {
        Some('称') => before.is_some_and(|b| {
            "名简声号自据统俗职对宣谎人爱尊总昵合并通全又也亦或著堪相指戏辩".contains(b)
        }),
        // `联系`, `关系`, `体系`, `直系`: words ending in 系, not `王小明系…`.
        Some('系') => before.is_some_and(|b| "联关体派世谱星水院直旁母父嫡维".contains(b)),
        Some('说') => {
            before.is_some_and(|b| "小据听传学解演游劝诉述或再就总所来虽是也又都".contains(b))
                || matches!(cjk::at(text, p + '说'.len_utf8()), Some('明' | '服' | '法'))
        }
        _ => false,
    }
}

/// For a bracket or comma that describes a person (`（男，`, `（身份证号`, `，女，`) whose word
/// starts at the anchor `p`: where the name before it ends.
fn bracket_before(text: &str, p: usize) -> Option<usize> {
    let open = cjk::before(text, p)?;
    let c = cjk::at(text, p)?;
    let name_end = p - open.len_utf8();
    if matches!(c, '男' | '女') {
        let after = cjk::at(text, p + c.len_utf8());
        let closes = after
            .is_none_or(|a| matches!(a, '，' | ',' | '、' | '）' | ')' | '；' | ';' | '。' | '性'));
        return (matches!(open, '（' | '(' | '，' | ',') && closes).then_some(name_end);
    }
    (matches!(open, '（' | '(') && BRACKETED_AFTER.iter().any(|w| text[p..].starts_with(w)))
        .then_some(name_end)
}

/// A name read backwards from `end`: two to four characters starting with a surname. Where
/// several readings fit, the one with a word boundary before it wins, the longest first
/// (`证人王小明称` → 王小明); `经查王明称` reads 王明, not 查王明, since 查 ends a word. `strong`
/// (a sex in brackets after the name) takes the longest reading even without a boundary.
fn name_before(lex: &Surnames, text: &str, end: usize, strong: bool) -> Option<Found> {
    // Start positions of the 1st..4th character before `end`.
    let mut pos = [0usize; 5];
    pos[0] = end;
    let mut have = 0;
    for k in 1..5 {
        match cjk::before(text, pos[k - 1]).filter(|c| cjk::is_ideograph(*c)) {
            Some(c) => {
                pos[k] = pos[k - 1] - c.len_utf8();
                have = k;
            }
            None => break,
        }
    }
    if have < 2 {
        return None;
    }
    let ch = |k: usize| cjk::at(text, pos[k]);
    if ch(1) == Some('某') || ch(2) == Some('某') {
        return None; // `张某称`, `张某某称`
    }
    // A reading of `len` characters: its surname length in bytes, when its given name is one.
    let reading = |len: usize| -> Option<Found> {
        if len > have {
            return None;
        }
        let start = pos[len];
        let surname = surnames_at(lex, text, start)
            .into_iter()
            .flatten()
            .find(|&sl| start + sl < end && (sl > 3 || len <= 3))?;
        let given = &text[start + surname..end];
        let given_count = given.chars().count();
        if !(1..=2).contains(&given_count)
            || given
                .chars()
                .any(|g| NOT_GIVEN.contains(g) || PLACE.contains(g))
            || (surname == 3 && is_common_word(lex, text, start))
        {
            return None;
        }
        Some(Found {
            start,
            end,
            surname,
        })
    };
    let boundary = |f: &Found| {
        cjk::before(text, f.start).is_none_or(|c| !cjk::is_ideograph(c) || LEFT_OK.contains(c))
    };
    let readings = [reading(4), reading(3), reading(2)];
    // `经查王明称`: the three-character reading starts with a word's last character.
    if let (Some(_), Some(two)) = (readings[1], readings[2]) {
        if ch(3).is_some_and(|c| LEFT_OK.contains(c)) {
            return Some(two);
        }
    }
    readings
        .iter()
        .flatten()
        .find(|f| boundary(f))
        .or_else(|| {
            if strong {
                readings.iter().flatten().next()
            } else {
                None
            }
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_in_the_tokenizers_range() {
        let words = ROLES_BEFORE.iter().chain(SAID_AFTER).chain(BRACKETED_AFTER);
        for w in words {
            for c in [w.chars().next().unwrap(), w.chars().last().unwrap()] {
                if ANCHOR_CHARS.contains(c) {
                    assert!(('\u{4000}'..='\u{9FFF}').contains(&c), "{c} of {w}");
                }
            }
        }
    }

    #[test]
    fn common_words_start_with_a_surname_character() {
        // A common word that no surname starts is dead weight in the list.
        for w in COMMON_WORDS {
            assert_eq!(w.chars().count(), 2, "{w}: looked up as a pair");
            assert!(
                surnames_at(surnames(), w, 0).iter().any(Option::is_some),
                "{w}"
            );
            assert!(is_common_word(surnames(), w, 0), "{w}");
        }
    }

    #[test]
    fn reading_forwards_stops_at_words_that_follow_names() {
        fn read(t: &str) -> Option<(&str, usize)> {
            name_after(surnames(), t, 0)
                .filter(|f| is_plausible(surnames(), t, f))
                .map(|f| (&t[f.start..f.end], f.surname))
        }
        assert_eq!(read("王小明称"), Some(("王小明", 3)));
        assert_eq!(read("王芳在场"), Some(("王芳", 3)));
        assert_eq!(read("欧阳娜娜，"), Some(("欧阳娜娜", 6)));
        assert_eq!(read("司马光到场"), Some(("司马光", 6)));
        assert_eq!(read("张某某"), None);
        assert_eq!(read("王氏"), None);
        assert_eq!(read("张家口市"), None);
        assert_eq!(read("李宁体育用品有限公司"), None);
        assert_eq!(read("应当"), None);
    }

    #[test]
    fn reading_backwards_prefers_a_word_boundary() {
        fn read(t: &str, strong: bool) -> Option<&str> {
            let end = t.find('称').or_else(|| t.find('（')).unwrap();
            name_before(surnames(), t, end, strong).map(|f| &t[f.start..f.end])
        }
        assert_eq!(read("证人王小明称", false), Some("王小明"));
        assert_eq!(read("经查王明称", false), Some("王明"));
        assert_eq!(read("，欧阳娜娜称", false), Some("欧阳娜娜"));
        assert_eq!(read("证人司马光称", false), Some("司马光"));
        assert_eq!(read("张某称", false), None);
        // No boundary: only a bracket that describes a person takes a reading anyway.
        assert_eq!(read("今天王小明称", false), None);
        assert_eq!(read("今天王小明（", true), Some("王小明"));
    }
}
