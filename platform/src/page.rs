//! The public's page (行政执法信息公示): `GET /` searches, `GET /record/{record_id}` shows one
//! record. Server-rendered HTML in Chinese, as a county disclosure platform shows it: no script,
//! no external asset (the style is inline), every value escaped, so the page works in any browser
//! and behind any content security policy.
//!
//! The search form submits to `/` with the parameter names of the JSON API (`GET /records`), so a
//! page's URL and the API's URL for the same search differ only in their path.

use std::fmt::Write as _;

use serde_json::Value;

use crate::search::{SearchQuery, SearchResult, CATEGORIES};

/// Escapes text for HTML element content and quoted attribute values.
pub use dhub_support::html::escape;

/// Percent-encodes a URL component (query value or path segment): everything but unreserved
/// ASCII characters.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The Chinese name of a category (CONTRACT §3).
pub fn category_label(category: &str) -> &str {
    match category {
        "licensing" => "行政许可",
        "penalty" => "行政处罚",
        "coercion" => "行政强制",
        "levy" => "行政征收",
        "fee" => "行政收费",
        "inspection" => "行政检查",
        other => other,
    }
}

const STYLE: &str = "\
body{margin:0;font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;background:#f4f6f9;color:#222}\
header{background:#b71c1c;color:#fff;padding:18px 32px}\
header h1{margin:0;font-size:24px;letter-spacing:2px}\
header p{margin:6px 0 0;font-size:13px;opacity:.85}\
main{max-width:1180px;margin:20px auto;padding:0 16px}\
form{background:#fff;border:1px solid #dde2ea;padding:16px;display:grid;\
grid-template-columns:repeat(4,1fr);gap:10px 16px}\
label{font-size:13px;color:#555;display:flex;flex-direction:column;gap:4px}\
input,select{font:inherit;padding:6px 8px;border:1px solid #c7ced9;border-radius:3px}\
.actions{grid-column:1/-1;display:flex;gap:12px;align-items:center}\
button{background:#b71c1c;color:#fff;border:0;padding:8px 28px;font:inherit;cursor:pointer;border-radius:3px}\
.summary{margin:16px 0 8px;font-size:14px;color:#444}\
table{width:100%;border-collapse:collapse;background:#fff;font-size:14px}\
th{background:#eef1f6;text-align:left;padding:8px;border-bottom:2px solid #d5dbe5;white-space:nowrap}\
td{padding:8px;border-bottom:1px solid #e6e9ef;vertical-align:top}\
tr:hover td{background:#fafbfd}\
a{color:#0d47a1;text-decoration:none}a:hover{text-decoration:underline}\
.pager{margin:14px 0;display:flex;gap:16px}\
.empty,.error{background:#fff;border:1px solid #dde2ea;padding:24px;text-align:center;color:#666}\
.error{color:#b71c1c}\
dl{background:#fff;border:1px solid #dde2ea;padding:16px 24px;display:grid;\
grid-template-columns:180px 1fr;gap:8px 16px;font-size:14px}\
dt{color:#666}dd{margin:0;white-space:pre-wrap;word-break:break-all}\
footer{text-align:center;color:#888;font-size:12px;margin:28px 0}";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\
         <header><h1>行政执法信息公示</h1><p>行政执法公示平台 · 执法决定信息查询</p></header>\
         <main>{body}</main><footer>本平台公示信息由各行政执法机关依法发布；已撤销、已失效的决定不予公示。</footer>\
         </body></html>",
        escape(title)
    )
}

/// The search form, filled with the query's values (`params` as the request gave them).
fn form(params: &[(String, String)]) -> String {
    let value = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| escape(v.trim()))
            .unwrap_or_default()
    };
    let text_input = |name: &str, label: &str, placeholder: &str| {
        format!(
            "<label>{label}<input type=\"text\" name=\"{name}\" value=\"{}\" placeholder=\"{placeholder}\" maxlength=\"200\"></label>",
            value(name)
        )
    };
    let chosen = value("category");
    let mut options = String::from("<option value=\"\">全部</option>");
    for category in CATEGORIES {
        let selected = if chosen == category { " selected" } else { "" };
        let _ = write!(
            options,
            "<option value=\"{category}\"{selected}>{}</option>",
            category_label(category)
        );
    }
    format!(
        "<form method=\"get\" action=\"/\" role=\"search\">{}{}{}{}\
         <label>执法类别<select name=\"category\">{options}</select></label>\
         <label>决定日期（起）<input type=\"date\" name=\"from\" value=\"{}\"></label>\
         <label>决定日期（止）<input type=\"date\" name=\"to\" value=\"{}\"></label>\
         <div class=\"actions\"><button type=\"submit\">查询</button><a href=\"/\">重置</a></div></form>",
        text_input("q", "关键字", "相对人、文书号或执法机关"),
        text_input("counterparty", "行政相对人", "单位或个人名称"),
        text_input("document_no", "决定文书号", "完整文书号"),
        text_input("agency", "执法机关", "机关名称"),
        value("from"),
        value("to"),
    )
}

/// A record's field as text, or an empty string.
fn field<'a>(record: &'a Value, path: &[&str]) -> &'a str {
    let mut value = record;
    for step in path {
        match value.get(step) {
            Some(next) => value = next,
            None => return "",
        }
    }
    value.as_str().unwrap_or_default()
}

/// The search page with a result.
pub fn search_page(
    params: &[(String, String)],
    query: &SearchQuery,
    result: &SearchResult,
) -> String {
    let mut body = form(params);
    let total = if result.total_exact {
        format!("共 {} 条", result.total)
    } else {
        format!("超过 {} 条", result.total)
    };
    let _ = write!(
        body,
        "<p class=\"summary\" id=\"summary\">查询结果：{total}</p>"
    );
    if result.records.is_empty() {
        body.push_str("<div class=\"empty\" id=\"no-results\">没有符合条件的公示信息。</div>");
    } else {
        body.push_str(
            "<table id=\"results\"><thead><tr><th>决定文书号</th><th>行政相对人</th>\
             <th>执法类别</th><th>执法机关</th><th>决定日期</th></tr></thead><tbody>",
        );
        for record in &result.records {
            let record_id = field(record, &["record_id"]);
            let _ = write!(
                body,
                "<tr data-record-id=\"{}\"><td><a href=\"/record/{}\">{}</a></td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                escape(record_id),
                encode_component(record_id),
                escape(field(record, &["document_no"])),
                escape(field(record, &["counterparty", "name"])),
                escape(category_label(field(record, &["category"]))),
                escape(field(record, &["agency", "name"])),
                escape(field(record, &["decided_on"])),
            );
            if let Some(sha256) = record["documents"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["kind"] == "decision"))
                .and_then(|d| d["sha256"].as_str())
            {
                // The decision's public version, after the row's last cell.
                body.truncate(body.len() - "</td></tr>".len());
                let _ = write!(
                    body,
                    " <a class=\"decision\" href=\"/documents/{}\">公开版</a></td></tr>",
                    encode_component(sha256)
                );
            }
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("<div class=\"pager\">");
    if query.after.is_some() || query.offset > 0 {
        body.push_str(&format!(
            "<a id=\"first-page\" href=\"/?{}\">首页</a>",
            keep_filters(params, None)
        ));
    }
    if let Some(next) = &result.next {
        body.push_str(&format!(
            "<a id=\"next-page\" href=\"/?{}\">下一页</a>",
            keep_filters(params, Some(next))
        ));
    }
    body.push_str("</div>");
    document("行政执法信息公示 - 查询", &body)
}

/// The query string of the same search, at the page after `next` (or the first page).
fn keep_filters(params: &[(String, String)], next: Option<&str>) -> String {
    let mut pairs: Vec<String> = params
        .iter()
        .filter(|(name, value)| {
            !matches!(name.as_str(), "after" | "offset") && !value.trim().is_empty()
        })
        .map(|(name, value)| {
            format!(
                "{}={}",
                encode_component(name),
                encode_component(value.trim())
            )
        })
        .collect();
    if let Some(next) = next {
        pairs.push(format!("after={}", encode_component(next)));
    }
    escape(&pairs.join("&"))
}

/// The search page when the parameters cannot be used.
pub fn bad_query_page(params: &[(String, String)], message: &str) -> String {
    let body = format!(
        "{}<div class=\"error\" id=\"error\">查询条件有误，请修改后重试：{}</div>",
        form(params),
        escape(message)
    );
    document("行政执法信息公示 - 查询条件有误", &body)
}

/// A page that says something went wrong (unknown record, database away).
pub fn message_page(title: &str, message: &str) -> String {
    let body = format!(
        "<div class=\"error\" id=\"error\">{}</div><p><a href=\"/\">返回查询</a></p>",
        escape(message)
    );
    document(title, &body)
}

/// Labels of the `disclosure.v1` fields a reader cares about, in display order.
const LABELS: &[(&str, &str)] = &[
    ("document_no", "决定文书号"),
    ("document_title", "文书名称"),
    ("category", "执法类别"),
    ("counterparty.name", "行政相对人"),
    ("counterparty.kind", "相对人类别"),
    ("counterparty.uscc", "统一社会信用代码"),
    ("agency.name", "执法机关"),
    ("agency.uscc", "执法机关统一社会信用代码"),
    ("violation", "违法行为类型"),
    ("facts", "违法事实"),
    ("legal_basis", "依据"),
    ("content", "决定内容"),
    ("penalty_kinds", "处罚类别"),
    ("fine_yuan", "罚款金额（元）"),
    ("confiscated_yuan", "没收金额（元）"),
    ("decided_on", "决定日期"),
    ("valid_from", "有效期自"),
    ("valid_to", "有效期至"),
    ("publicity_until", "公示截止期"),
    ("status", "状态"),
    ("division_code", "行政区划代码"),
    ("record_id", "记录编号"),
    ("version", "版本"),
];

/// Links to the documents a record names (CONTRACT §4), served by the platform from what it
/// fetched and checked: the decision's public version (公开版) and, on feeds that get them,
/// evidence. Empty when it names none.
fn document_links(record: &Value) -> String {
    let Some(documents) = record.get("documents").and_then(Value::as_array) else {
        return String::new();
    };
    let mut links = String::new();
    for document in documents {
        let sha256 = document["sha256"].as_str().unwrap_or_default();
        let kind = document["kind"].as_str().unwrap_or_default();
        let label = match kind {
            "decision" => "决定书（公开版）",
            _ => "证据材料",
        };
        let _ = write!(
            links,
            "<li><a href=\"/documents/{}\" data-kind=\"{}\">{}</a></li>",
            encode_component(sha256),
            escape(kind),
            label
        );
    }
    if links.is_empty() {
        return links;
    }
    format!("<h3>决定文书</h3><ul id=\"documents\">{links}</ul>")
}

/// Every leaf of `value` as (dotted path, text).
fn leaves(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, inner, out);
            }
        }
        Value::Null => {}
        Value::String(text) => out.push((prefix.to_owned(), text.clone())),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let texts: Vec<String> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect();
            out.push((prefix.to_owned(), texts.join("、")));
        }
        Value::Array(items) => {
            for (n, inner) in items.iter().enumerate() {
                leaves(&format!("{prefix}[{}]", n + 1), inner, out);
            }
        }
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// The page of one record in force: every public field it carries, known ones labelled first.
pub fn record_page(record: &Value) -> String {
    let mut fields = Vec::new();
    // The documents are links (below), not fields.
    let mut without_documents = record.clone();
    if let Some(object) = without_documents.as_object_mut() {
        object.remove("documents");
    }
    leaves("", &without_documents, &mut fields);
    let mut rows = String::new();
    let mut shown = vec![false; fields.len()];
    for (path, label) in LABELS {
        if let Some(index) = fields.iter().position(|(p, _)| p == path) {
            let text = &fields[index].1;
            let text = if *path == "category" {
                category_label(text).to_owned()
            } else {
                text.clone()
            };
            let _ = write!(
                rows,
                "<dt>{}</dt><dd data-field=\"{}\">{}</dd>",
                escape(label),
                escape(path),
                escape(&text)
            );
            shown[index] = true;
        }
    }
    for ((path, text), shown) in fields.iter().zip(shown) {
        if !shown {
            let _ = write!(
                rows,
                "<dt>{}</dt><dd data-field=\"{}\">{}</dd>",
                escape(path),
                escape(path),
                escape(text)
            );
        }
    }
    let title = field(record, &["document_no"]);
    let body = format!(
        "<p><a href=\"/\">← 返回查询</a></p><h2 id=\"record-title\">{}</h2><dl id=\"record\">{rows}</dl>{}",
        escape(if title.is_empty() { "公示信息" } else { title }),
        document_links(record)
    );
    document(&format!("{title} - 行政执法信息公示"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(encode_component("oa:1/张"), "oa%3A1%2F%E5%BC%A0");
    }

    #[test]
    fn a_hostile_record_is_shown_as_text() {
        let record = json!({"record_id": "x\"><script>1</script>", "document_no": "<b>罚</b>",
                            "counterparty": {"name": "<img src=x onerror=alert(1)>"},
                            "extra": ["<i>", 3]});
        let page = record_page(&record);
        assert!(!page.contains("<script>1") && !page.contains("<img") && !page.contains("<b>罚"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("&lt;i&gt;、3"));
        let result = SearchResult {
            total: 1,
            total_exact: true,
            records: vec![record],
            next: Some("abc".into()),
        };
        let params = vec![("q".to_owned(), "\"><script>".to_owned())];
        let page = search_page(&params, &SearchQuery::default(), &result);
        assert!(
            !page.contains("<script>") && !page.contains("<img"),
            "{page}"
        );
        assert!(page.contains("href=\"/record/x%22%3E%3Cscript%3E1%3C%2Fscript%3E\""));
        assert!(page.contains("after=abc"));
    }
}
