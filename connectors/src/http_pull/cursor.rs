//! Cursors: where a page names the next one (`next_cursor`), and how a cursor goes into the URL.

use dhub_mapping::SourceFormat;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;

use super::config::CURSOR_PLACEHOLDER;

/// Everything but RFC 3986's unreserved characters is encoded: a cursor may hold `&`, `=`, `/`,
/// `+` or spaces and must arrive as one query value or path segment.
const CURSOR_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL of the page at `cursor`.
pub fn page_url(template: &str, cursor: &str) -> String {
    template.replace(
        CURSOR_PLACEHOLDER,
        &utf8_percent_encode(cursor, CURSOR_ENCODE).to_string(),
    )
}

/// `next_cursor`, parsed: a JSON pointer (it starts with `/`) or an XML element path from the root,
/// optionally ending in an attribute (`Page/Next`, `Page/@next`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorPath {
    Json(String),
    Xml {
        elements: Vec<String>,
        attribute: Option<String>,
    },
}

impl CursorPath {
    pub fn parse(text: &str) -> Result<CursorPath, String> {
        if text.starts_with('/') {
            return Ok(CursorPath::Json(text.to_string()));
        }
        let mut elements: Vec<String> = text.split('/').map(str::to_string).collect();
        let attribute = match elements.last() {
            Some(last) if last.starts_with('@') => {
                let name = last[1..].to_string();
                elements.pop();
                Some(name)
            }
            _ => None,
        };
        let bad = |part: &str| part.is_empty() || part.contains(['@', ' ', '<', '>']);
        if elements.is_empty()
            || elements.iter().any(|e| bad(e))
            || attribute.as_deref().is_some_and(bad)
        {
            return Err(format!(
                "`{text}` is neither a JSON pointer (`/next_cursor`) nor an XML element path from the root (`Page/NextCursor`, `Page/@next`)"
            ));
        }
        Ok(CursorPath::Xml {
            elements,
            attribute,
        })
    }

    /// Whether pages of `format` can be read with this path.
    pub fn check_format(&self, format: SourceFormat) -> Result<(), String> {
        match (self, format) {
            (CursorPath::Json(_), SourceFormat::Json) | (CursorPath::Xml { .. }, SourceFormat::Xml) => {
                Ok(())
            }
            (CursorPath::Json(pointer), _) => Err(format!(
                "next_cursor `{pointer}` is a JSON pointer, but the mapping reads {format}; give the element path of the cursor"
            )),
            (CursorPath::Xml { .. }, _) => Err(format!(
                "next_cursor is an XML element path, but the mapping reads {format}; give a JSON pointer such as /next_cursor"
            )),
        }
    }

    /// The next cursor a page gives: `None` when it is absent, `null` or empty (the last page for
    /// now). `Err` names what is wrong with the page, never a value from it.
    pub fn extract(&self, page: &[u8]) -> Result<Option<String>, String> {
        match self {
            CursorPath::Json(pointer) => json_cursor(page, pointer),
            CursorPath::Xml {
                elements,
                attribute,
            } => xml_cursor(page, elements, attribute.as_deref()),
        }
    }
}

fn json_cursor(page: &[u8], pointer: &str) -> Result<Option<String>, String> {
    let document: Value = serde_json::from_slice(page).map_err(|error| {
        format!(
            "the page is not UTF-8 JSON (line {}, column {}), so next_cursor {pointer} cannot be read",
            error.line(),
            error.column()
        )
    })?;
    match document.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(format!(
            "next_cursor {pointer} is neither a string nor a number in the page"
        )),
    }
}

fn xml_cursor(
    page: &[u8],
    elements: &[String],
    attribute: Option<&str>,
) -> Result<Option<String>, String> {
    let mut reader = Reader::from_reader(page);
    let mut open: Vec<String> = Vec::new();
    let mut text: Option<String> = None;
    let malformed =
        |error: &dyn std::fmt::Display| format!("the page is not well-formed XML ({error})");
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let name = reader
                    .decoder()
                    .decode(start.name().as_ref())
                    .map_err(|e| malformed(&e))?
                    .into_owned();
                open.push(name);
                if open.as_slice() == elements {
                    match attribute {
                        Some(wanted) => {
                            for found in start.attributes() {
                                let found = found.map_err(|e| malformed(&e))?;
                                let key = reader
                                    .decoder()
                                    .decode(found.key.as_ref())
                                    .map_err(|e| malformed(&e))?;
                                if key == wanted {
                                    let value = found
                                        .decode_and_unescape_value(reader.decoder())
                                        .map_err(|e| malformed(&e))?;
                                    return Ok(non_empty(value.trim()));
                                }
                            }
                            return Ok(None);
                        }
                        None => text = Some(String::new()),
                    }
                }
                if matches!(event, Event::Empty(_)) {
                    if text.is_some() {
                        return Ok(None);
                    }
                    open.pop();
                }
            }
            Event::End(_) => {
                if open.len() == elements.len() {
                    if let Some(found) = text.take() {
                        return Ok(non_empty(found.trim()));
                    }
                }
                open.pop();
            }
            Event::Text(chunk) => {
                if let Some(found) = text.as_mut() {
                    found.push_str(&chunk.xml10_content().map_err(|e| malformed(&e))?);
                }
            }
            Event::CData(chunk) => {
                if let Some(found) = text.as_mut() {
                    found.push_str(&chunk.decode().map_err(|e| malformed(&e))?);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(found) = text.as_mut() {
                    let resolved = match reference.resolve_char_ref().map_err(|e| malformed(&e))? {
                        Some(character) => character.to_string(),
                        None => {
                            let name = reference.decode().map_err(|e| malformed(&e))?;
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| {
                                    format!("the page uses the unknown entity &{name};")
                                })?
                                .to_string()
                        }
                    };
                    found.push_str(&resolved);
                }
            }
            Event::Eof => return Ok(None),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_goes_into_the_url_percent_encoded() {
        assert_eq!(
            page_url(
                "http://api/cases?cursor={cursor}&limit=4",
                "2026-11-12T00:00:00Z~LCHB 1&x=/+"
            ),
            "http://api/cases?cursor=2026-11-12T00%3A00%3A00Z~LCHB%201%26x%3D%2F%2B&limit=4"
        );
        assert_eq!(
            page_url("http://api/cases?cursor={cursor}", ""),
            "http://api/cases?cursor="
        );
    }

    #[test]
    fn paths_parse_as_json_pointers_or_xml_paths() {
        assert_eq!(
            CursorPath::parse("/next_cursor"),
            Ok(CursorPath::Json("/next_cursor".into()))
        );
        assert_eq!(
            CursorPath::parse("Page/@next"),
            Ok(CursorPath::Xml {
                elements: vec!["Page".into()],
                attribute: Some("next".into())
            })
        );
        assert!(CursorPath::parse("Page//Next").is_err());
        assert!(CursorPath::parse("@next").is_err());
        assert!(CursorPath::parse("")
            .unwrap_err()
            .contains("neither a JSON pointer"));
        assert!(CursorPath::parse("/x")
            .unwrap()
            .check_format(SourceFormat::Xml)
            .is_err());
    }

    #[test]
    fn json_pages_give_their_cursor_or_none_when_last() {
        let path = CursorPath::parse("/next_cursor").unwrap();
        assert_eq!(
            path.extract(br#"{"items":[],"next_cursor":"abc"}"#),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            path.extract(br#"{"items":[],"next_cursor":42}"#),
            Ok(Some("42".into()))
        );
        for last in [
            &br#"{"items":[],"next_cursor":null}"#[..],
            br#"{"items":[],"next_cursor":""}"#,
            br#"{"items":[]}"#,
        ] {
            assert_eq!(path.extract(last), Ok(None));
        }
        assert!(path
            .extract(br#"{"next_cursor":{"a":1}}"#)
            .unwrap_err()
            .contains("neither a string nor a number"));
        assert!(path.extract(b"{").unwrap_err().contains("line 1"));
    }

    #[test]
    fn xml_pages_give_their_cursor_from_an_element_or_attribute() {
        let page = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Page next=\"p&amp;2\"><Case id=\"1\"/><Next> c&#x41;2 </Next></Page>";
        let element = CursorPath::parse("Page/Next").unwrap();
        assert_eq!(element.extract(page.as_bytes()), Ok(Some("cA2".into())));
        let attribute = CursorPath::parse("Page/@next").unwrap();
        assert_eq!(attribute.extract(page.as_bytes()), Ok(Some("p&2".into())));
        let missing = CursorPath::parse("Page/Other").unwrap();
        assert_eq!(missing.extract(page.as_bytes()), Ok(None));
        let empty = CursorPath::parse("Page/Next").unwrap();
        assert_eq!(empty.extract(b"<Page><Next/></Page>"), Ok(None));
        assert!(element
            .extract(b"<Page><Next>a</Wrong></Page>")
            .unwrap_err()
            .contains("not well-formed"));
    }

    #[test]
    fn a_gbk_page_gives_its_cursor_decoded() {
        let (bytes, _, _) = encoding_rs::GBK
            .encode("<?xml version=\"1.0\" encoding=\"GBK\"?><页><下页>第二页</下页></页>");
        let path = CursorPath::parse("页/下页").unwrap();
        assert_eq!(path.extract(&bytes), Ok(Some("第二页".into())));
    }
}
