//! The public version (公开版) of a decision document: its paragraphs redacted as part of its
//! record, then rendered as one self-contained HTML page with the layout of a 决定书.
//!
//! Redaction is two passes. First the engine ([`Policy::redact_document`]): the record's
//! withholding rules (a withheld record has no public version), every detector, the counterparty's
//! pseudonym and the record's removed values wherever they recur. Then the document pass
//! (`persons.rs`): other persons named in the text, and values after personal labels.
//!
//! Layout is read from the text, helped by the alignment the source gave: the agency and the title
//! (`…决定书`) centred at the top, the document number (`茌财罚〔2017〕12号`) under it, right-
//! aligned unless the source centred it; the 当事人 block unindented; the body indented; the
//! closing (agency, date, seal) right-aligned, with a placeholder where the seal was. Output is
//! deterministic: the same input gives the same bytes, so the SHA-256 is stable across runs.

use dhub_redaction::document::DocumentOutcome;
use dhub_redaction::{Policy, WithholdReason};
use dhub_support::html::escape_into as escape;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::extract::{extract, Align, DocumentLimits, ExtractError, Extracted};
use crate::persons::{self, CounterpartyKind};
use crate::MediaType;

/// One rule's redactions in a document: `{"rule":"mobile","count":2}`. Never the removed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentRedaction {
    /// One of the engine's `RULES` or [`crate::DOCUMENT_RULES`].
    pub rule: &'static str,
    pub count: u32,
}

/// The public version of a decision document. Only this crate makes one, from redacted text: a
/// value of this type is never the original document, and the descriptor of a decision is built
/// from it alone ([`crate::DocumentDescriptor::public_version`]).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicVersion {
    html: String,
    sha256: String,
    redactions: Vec<DocumentRedaction>,
    source_media_type: MediaType,
}

impl PublicVersion {
    /// The HTML page (UTF-8).
    pub fn html(&self) -> &str {
        &self.html
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.html.as_bytes()
    }

    /// Lowercase hex SHA-256 of [`PublicVersion::as_bytes`].
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn size(&self) -> u64 {
        self.html.len() as u64
    }

    /// Always `text/html`.
    pub fn media_type(&self) -> MediaType {
        MediaType::Html
    }

    /// What the original was (DOCX, PDF, HTML, text).
    pub fn source_media_type(&self) -> MediaType {
        self.source_media_type
    }

    /// What was redacted, by rule, sorted by rule.
    pub fn redactions(&self) -> &[DocumentRedaction] {
        &self.redactions
    }
}

impl std::fmt::Debug for PublicVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Redacted, but still a person's decision: Debug shows its identity, not its text.
        f.debug_struct("PublicVersion")
            .field("sha256", &self.sha256)
            .field("size", &self.html.len())
            .field("source_media_type", &self.source_media_type)
            .field("redactions", &self.redactions)
            .finish()
    }
}

/// What became of a document under a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum PublicOutcome {
    Published(PublicVersion),
    /// The record is withheld, so the document has no public version either.
    Withheld {
        reason: WithholdReason,
        /// Names fields and rules, never values.
        detail: String,
    },
}

/// The entry point of `dhub redact --document FILE [--policy …] [--record RECORD_JSON_FILE]`, and
/// of the hub: the file's bytes (media type sniffed, checked against `declared` when given), the
/// record it belongs to (for its own fields; `None`: the detectors and the document pass only, no
/// withholding rule), a policy. Returns the public HTML and the report, or why there is none.
pub fn redact_document(
    bytes: &[u8],
    declared: Option<&str>,
    record: Option<&Value>,
    policy: &Policy,
    limits: &DocumentLimits,
) -> Result<PublicOutcome, ExtractError> {
    let extracted = extract(bytes, declared, limits)?;
    Ok(public_version(&extracted, record, policy))
}

/// The public version of already extracted text.
pub fn public_version(
    extracted: &Extracted,
    record: Option<&Value>,
    policy: &Policy,
) -> PublicOutcome {
    let texts: Vec<String> = extracted
        .paragraphs
        .iter()
        .map(|p| p.text.clone())
        .collect();
    let (mut texts, engine) = match policy.redact_document(record, &texts) {
        DocumentOutcome::Publish {
            paragraphs,
            redactions,
        } => (paragraphs, redactions),
        DocumentOutcome::Withhold { reason, detail } => {
            return PublicOutcome::Withheld { reason, detail }
        }
    };
    let kind = record
        .and_then(CounterpartyKind::from_record)
        .unwrap_or_else(|| CounterpartyKind::infer(&texts));
    let own = persons::apply(&mut texts, policy.natural_person_rules(), kind);
    let mut redactions: Vec<DocumentRedaction> = engine
        .into_iter()
        .chain(own)
        .map(|(rule, count)| DocumentRedaction { rule, count })
        .collect();
    redactions.sort_by(|a, b| a.rule.cmp(b.rule));

    let aligns: Vec<Align> = extracted.paragraphs.iter().map(|p| p.align).collect();
    let html = render(&texts, &aligns);
    let sha256 = hex::encode(Sha256::digest(html.as_bytes()));
    PublicOutcome::Published(PublicVersion {
        html,
        sha256,
        redactions,
        source_media_type: extracted.media_type,
    })
}

/// What a paragraph is in the layout of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Agency,
    Title,
    DocNo,
    Party,
    Body,
    Sign,
    Date,
    Seal,
    Trailer,
}

/// Labels that open a line of the 当事人 block.
const PARTY_LABELS: &[&str] = &[
    "当事人",
    "被处罚人",
    "违法行为人",
    "申请人",
    "被申请人",
    "被许可人",
    "行政相对人",
    "名称",
    "统一社会信用代码",
    "注册号",
    "营业执照",
    "住所",
    "住址",
    "地址",
    "经营场所",
    "经营地址",
    "法定代表人",
    "负责人",
    "主要负责人",
    "经营者",
    "身份证",
    "公民身份号码",
    "证件号码",
    "性别",
    "出生",
    "民族",
    "联系电话",
    "电话",
    "联系方式",
    "委托代理人",
    "代理人",
    "经办人",
    "联系人",
    "职务",
    "工作单位",
];

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn is_title(text: &str) -> bool {
    let t = compact(text);
    t.chars().count() <= 30
        && (t.ends_with("决定书") || t.ends_with("决定") || t.ends_with("决定书（公开版）"))
}

/// `茌财罚〔2017〕12号`, `聊市监处字[2019]45号`, `（2020）第3号`.
fn is_document_number(text: &str) -> bool {
    let t = compact(text);
    if t.chars().count() > 40 || !t.ends_with('号') {
        return false;
    }
    let chars: Vec<char> = t.chars().collect();
    chars.windows(6).any(|w| {
        "〔[（(【".contains(w[0])
            && w[1..5].iter().all(|c| c.is_ascii_digit())
            && "〕]）)】".contains(w[5])
    })
}

/// `2017年10月12日`, `二〇一七年十月十二日`, `2017-10-12`.
fn is_date(text: &str) -> bool {
    let t = compact(text);
    let n = t.chars().count();
    if !(8..=16).contains(&n) {
        return false;
    }
    let numeral = |c: char| c.is_ascii_digit() || "〇零一二三四五六七八九十".contains(c);
    let chinese = t.ends_with('日')
        && t.contains('年')
        && t.contains('月')
        && t.chars().all(|c| numeral(c) || "年月日".contains(c));
    let iso = t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
        && n == 10;
    chinese || iso
}

fn is_seal(text: &str) -> bool {
    let t = compact(text);
    let core = t.trim_matches(['（', '）', '(', ')', '[', ']', '【', '】']);
    matches!(
        core,
        "印章" | "盖章" | "公章" | "签章" | "印" | "章" | "此处盖章"
    )
}

/// A label and its colon: 「当事人：…」, 「法定代表人（负责人）：…」; not 「当事人应当…」.
fn is_party_line(text: &str) -> bool {
    PARTY_LABELS.iter().any(|l| {
        text.strip_prefix(l).is_some_and(|rest| {
            let rest = rest.trim_start();
            let rest = match rest.strip_prefix(['（', '(']) {
                Some(inner) => inner.split_once(['）', ')']).map_or("", |(_, after)| after),
                None => rest,
            };
            rest.starts_with(['：', ':'])
        })
    })
}

/// Short, without sentence punctuation: an agency's name in the closing.
fn is_signature(text: &str) -> bool {
    let t = compact(text);
    let n = t.chars().count();
    (2..=40).contains(&n) && !t.contains(['。', '；', '，', '：'])
}

fn roles(texts: &[String]) -> Vec<Role> {
    let n = texts.len();
    let mut roles = vec![Role::Body; n];
    // Head: agency lines, the title, the number.
    let mut body_start = 0;
    if let Some(title) = (0..n.min(6)).find(|&i| is_title(&texts[i])) {
        for role in roles.iter_mut().take(title) {
            *role = Role::Agency;
        }
        roles[title] = Role::Title;
        body_start = title + 1;
        if let Some(no) =
            (body_start..n.min(body_start + 2)).find(|&i| is_document_number(&texts[i]))
        {
            for role in roles.iter_mut().take(no).skip(body_start) {
                *role = Role::Agency;
            }
            roles[no] = Role::DocNo;
            body_start = no + 1;
        }
    }
    // Tail: the date, with the signature before it and the seal around it.
    let tail_start = n.saturating_sub(6).max(body_start);
    if let Some(date) = (tail_start..n).rev().find(|&i| is_date(&texts[i])) {
        roles[date] = Role::Date;
        let mut i = date;
        let mut signatures = 0;
        while i > body_start {
            i -= 1;
            if is_seal(&texts[i]) {
                roles[i] = Role::Seal;
            } else if signatures < 2 && is_signature(&texts[i]) {
                roles[i] = Role::Sign;
                signatures += 1;
            } else {
                break;
            }
        }
        for i in date + 1..n {
            roles[i] = if is_seal(&texts[i]) {
                Role::Seal
            } else {
                Role::Trailer
            };
        }
    }
    // The 当事人 block: label lines right after the head.
    for i in body_start..n {
        if roles[i] != Role::Body || !is_party_line(&texts[i]) {
            break;
        }
        roles[i] = Role::Party;
    }
    roles
}

const STYLE: &str = "body{margin:0;background:#fff;color:#000}\
.document{max-width:38em;margin:2em auto;padding:0 1.5em;font-family:\"FangSong\",\"仿宋\",\"STFangsong\",\"Noto Serif CJK SC\",serif;font-size:16pt;line-height:1.75}\
.document p{margin:0}\
.agency,.title{text-align:center;font-size:22pt;font-weight:normal;margin:0}\
.title{letter-spacing:.2em;margin-bottom:.4em}\
.docno{margin-bottom:1em}\
.center{text-align:center}.right{text-align:right}\
.body p{text-indent:2em}\
.closing{margin-top:2em;text-align:right}\
.seal{color:#b00}";

/// Renders the page. Every byte depends on the paragraphs and their alignment only.
fn render(texts: &[String], aligns: &[Align]) -> String {
    let roles = roles(texts);
    let title = roles
        .iter()
        .position(|r| *r == Role::Title)
        .map(|i| compact(&texts[i]))
        .unwrap_or_else(|| "决定文书".to_string());
    let mut out = String::with_capacity(texts.iter().map(|t| t.len() + 16).sum::<usize>() + 1500);
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"generator\" content=\"dhub-documents (public version)\">\n<title>");
    escape(&title, &mut out);
    out.push_str("（公开版）</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<article class=\"document\">\n");

    let mut open: Option<&str> = None;
    let mut has_seal = false;
    let mut has_date = false;
    for (i, text) in texts.iter().enumerate() {
        let role = roles[i];
        let section = match role {
            Role::Agency | Role::Title | Role::DocNo => "header",
            Role::Party => "section class=\"party\"",
            Role::Body => "section class=\"body\"",
            Role::Sign | Role::Date | Role::Seal => "footer class=\"closing\"",
            Role::Trailer => "section class=\"trailer\"",
        };
        if open != Some(section) {
            close(open, &mut out, has_date && !has_seal);
            out.push('<');
            out.push_str(section);
            out.push_str(">\n");
            open = Some(section);
        }
        let align = aligns.get(i).copied().unwrap_or_default();
        let (tag, class) = match role {
            Role::Agency => ("p", "agency"),
            Role::Title => ("h1", "title"),
            Role::DocNo if align == Align::Center => ("p", "docno center"),
            Role::DocNo => ("p", "docno right"),
            Role::Sign => ("p", "sign"),
            Role::Date => ("p", "date"),
            Role::Seal => ("p", "seal"),
            Role::Party | Role::Body | Role::Trailer => match align {
                Align::Center => ("p", "center"),
                Align::Right => ("p", "right"),
                Align::Left | Align::Unknown => ("p", ""),
            },
        };
        has_seal |= role == Role::Seal;
        has_date |= role == Role::Date;
        out.push('<');
        out.push_str(tag);
        if !class.is_empty() {
            out.push_str(" class=\"");
            out.push_str(class);
            out.push('"');
        }
        out.push('>');
        escape(text, &mut out);
        out.push_str("</");
        out.push_str(tag);
        out.push_str(">\n");
    }
    close(open, &mut out, has_date && !has_seal);
    out.push_str("</article>\n</body>\n</html>\n");
    out
}

/// Closes a section; the closing gets the seal placeholder when the source had no seal line
/// (the seal is an image on the original, and never part of the public version).
fn close(section: Option<&str>, out: &mut String, seal_placeholder: bool) {
    let Some(section) = section else { return };
    if section.starts_with("footer") && seal_placeholder {
        out.push_str("<p class=\"seal\">（印章）</p>\n");
    }
    let tag = section.split(' ').next().unwrap_or(section);
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Paragraph;
    use serde_json::json;

    fn extracted(texts: &[&str]) -> Extracted {
        Extracted {
            media_type: MediaType::Text,
            pages: None,
            paragraphs: texts
                .iter()
                .map(|t| Paragraph {
                    text: t.to_string(),
                    align: Align::Unknown,
                })
                .collect(),
        }
    }

    const DOC: &[&str] = &[
        "茌平县财政局",
        "行政处罚决定书",
        "茌财罚〔2017〕12号",
        "当事人：司马建国，男",
        "联系电话：13812345678",
        "经查明，当事人未按规定填制会计凭证。",
        "茌平县财政局",
        "2017年10月12日",
    ];

    #[test]
    fn layout_roles() {
        let texts: Vec<String> = DOC.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            roles(&texts),
            [
                Role::Agency,
                Role::Title,
                Role::DocNo,
                Role::Party,
                Role::Party,
                Role::Body,
                Role::Sign,
                Role::Date
            ]
        );
    }

    #[test]
    fn rendering_is_deterministic_and_has_the_layout() {
        let public = Policy::builtin("public").unwrap();
        let a = match public_version(&extracted(DOC), None, &public) {
            PublicOutcome::Published(v) => v,
            other => panic!("{other:?}"),
        };
        let b = match public_version(&extracted(DOC), None, &public) {
            PublicOutcome::Published(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_eq!(a.sha256(), b.sha256());
        assert_eq!(a.sha256(), hex::encode(Sha256::digest(a.as_bytes())));
        let html = a.html();
        assert!(html.contains("<h1 class=\"title\">行政处罚决定书</h1>"));
        assert!(html.contains("<p class=\"docno right\">茌财罚〔2017〕12号</p>"));
        assert!(html.contains("<p class=\"seal\">（印章）</p>\n</footer>"));
        assert!(html.contains("<p>当事人：司马某，男</p>"), "{html}");
        assert!(!html.contains("13812345678"));
        assert_eq!(
            a.redactions(),
            [
                DocumentRedaction {
                    rule: "mobile",
                    count: 1
                },
                DocumentRedaction {
                    rule: "person_name",
                    count: 1
                },
            ]
        );
        assert!(!format!("{a:?}").contains("司马"));
    }

    #[test]
    fn markup_in_the_text_is_escaped() {
        let public = Policy::builtin("public").unwrap();
        let PublicOutcome::Published(v) = public_version(
            &extracted(&["<script>alert('x')</script> & \"q\""]),
            None,
            &public,
        ) else {
            panic!()
        };
        assert!(v
            .html()
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
    }

    #[test]
    fn a_withheld_record_has_no_public_version() {
        let public = Policy::builtin("public").unwrap();
        let record = json!({"classification": "secret", "counterparty": {"kind": "legal_person"}});
        assert!(matches!(
            public_version(&extracted(DOC), Some(&record), &public),
            PublicOutcome::Withheld {
                reason: WithholdReason::Classified,
                ..
            }
        ));
    }

    #[test]
    fn detectors() {
        assert!(is_document_number("茌财罚〔2017〕12号"));
        assert!(is_document_number("聊市监处字[2019]45号"));
        assert!(!is_document_number("2017年10月12号"));
        assert!(
            is_date("2017年10月12日") && is_date("二〇一七年十月十二日") && is_date("2017-10-12")
        );
        assert!(!is_date("经查明，2017年10月12日"));
        assert!(is_seal("（印章）") && is_seal("(盖章)") && !is_seal("印章管理办法"));
        assert!(is_title("行 政 处 罚 决 定 书") && is_title("行政许可决定书"));
    }
}
