//! HTML: the text a reader sees in the body. Block elements (`p`, `div`, headings, list items,
//! table rows, `br`) make paragraphs; `script`, `style`, `template`, `noscript` and the head are
//! not text. Parsed by html5ever (through `scraper`), the browsers' algorithm, so malformed markup
//! gives the same text a browser would show. An inline `text-align` or `align` gives the
//! paragraph's alignment.
//!
//! The charset is the declared one, else a `<meta charset>` in the first 1024 bytes, else the
//! text rules (UTF-8, else GB18030).

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::text::decode;
use super::{Align, ExtractError, Sink};

/// Elements whose content is not text of the page.
const SKIPPED: [&str; 10] = [
    "head", "script", "style", "template", "noscript", "iframe", "object", "svg", "math", "select",
];

/// Elements that start and end a paragraph. Table cells too, as in a DOCX, where every cell
/// holds its own paragraphs.
const BLOCKS: [&str; 36] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

pub(super) fn extract(
    bytes: &[u8],
    charset: Option<&str>,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let charset = charset.map(str::to_string).or_else(|| meta_charset(bytes));
    let text = decode(bytes, charset.as_deref())?;
    let document = Html::parse_document(&text);
    let mut skipping = 0u32;
    // The tree is walked with an iterator, not recursion: nesting depth is the input's choice.
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if skipping > 0 || SKIPPED.contains(&name) {
                        skipping += 1;
                    } else if BLOCKS.contains(&name) {
                        sink.end_paragraph();
                        if let Some(align) = inline_align(e) {
                            sink.align(align);
                        }
                    }
                }
                Node::Text(t) if skipping == 0 => sink.push_str(&t.text)?,
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    if skipping > 0 {
                        skipping -= 1;
                    } else if BLOCKS.contains(&e.name()) {
                        sink.end_paragraph();
                    }
                }
            }
        }
    }
    Ok(())
}

fn inline_align(e: &scraper::node::Element) -> Option<Align> {
    let from_value = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
        "center" => Some(Align::Center),
        "right" | "end" => Some(Align::Right),
        "left" | "start" | "justify" => Some(Align::Left),
        _ => None,
    };
    if let Some(style) = e.attr("style") {
        for decl in style.split(';') {
            if let Some((key, value)) = decl.split_once(':') {
                if key.trim().eq_ignore_ascii_case("text-align") {
                    return from_value(value);
                }
            }
        }
    }
    e.attr("align").and_then(from_value)
}

/// `<meta charset="gbk">` or `content="text/html; charset=gbk"` near the top.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{extract as extract_any, DocumentLimits};

    fn paragraphs(html: &[u8]) -> Vec<(String, Align)> {
        extract_any(html, None, &DocumentLimits::default())
            .unwrap()
            .paragraphs
            .into_iter()
            .map(|p| (p.text, p.align))
            .collect()
    }

    #[test]
    fn body_text_by_block_without_script_or_style() {
        let html = r#"<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head>
            <body><script>var id = "371523198001011231";</script>
            <h1 style="color: red; text-align: center">行政处罚决定书</h1>
            <p>当事人：<b>张三</b>，男<br>住址：略</p><div align="right">2017年10月12日</div>
            <table><tr><td>证据</td><td>笔录</td></tr></table><template><p>模板</p></template></body></html>"#;
        assert_eq!(
            paragraphs(html.as_bytes()),
            [
                ("行政处罚决定书".to_string(), Align::Center),
                ("当事人：张三，男".to_string(), Align::Unknown),
                ("住址：略".to_string(), Align::Unknown),
                ("2017年10月12日".to_string(), Align::Right),
                ("证据".to_string(), Align::Unknown),
                ("笔录".to_string(), Align::Unknown),
            ]
        );
    }

    #[test]
    fn meta_charset_gbk() {
        let mut html = b"<html><head><meta charset=\"gbk\"></head><body><p>".to_vec();
        html.extend_from_slice(&encoding_rs::GBK.encode("茌平县").0);
        html.extend_from_slice(b"</p></body></html>");
        assert_eq!(paragraphs(&html), [("茌平县".to_string(), Align::Unknown)]);
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let mut html = String::from("<html><body>");
        for _ in 0..20_000 {
            html.push_str("<span>");
        }
        html.push_str("文字");
        let p = paragraphs(html.as_bytes());
        assert_eq!(p[0].0, "文字");
    }
}
