//! XML documents → source records, streaming with quick-xml.
//!
//! Only the elements at the mapping's `records` path are kept as trees; everything else is read for
//! well-formedness and dropped, so a large export with many cases does not become one big tree.

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use crate::error::DocumentError;
use crate::record::{RecordBody, SourceRecord, XmlElement};
use crate::toml_tree::LineIndex;

/// Reading state: the open elements and the record being built.
struct Walk<'a> {
    origin: &'a str,
    records_path: &'a [String],
    /// Names and start lines of the open elements, root first.
    open: Vec<(String, u64)>,
    /// The record being read and its open descendants; empty outside records.
    capture: Vec<XmlElement>,
    capture_line: u64,
    records: Vec<SourceRecord>,
    root_seen: bool,
}

/// Splits a decoded XML document into the elements at `records_path` (`["root", …, "record"]`).
pub(crate) fn read_xml(
    text: &str,
    origin: &str,
    records_path: &[String],
) -> Result<Vec<SourceRecord>, DocumentError> {
    let lines = LineIndex::new(text);
    let mut reader = Reader::from_str(text);
    let mut walk = Walk {
        origin,
        records_path,
        open: Vec::new(),
        capture: Vec::new(),
        capture_line: 0,
        records: Vec::new(),
        root_seen: false,
    };

    loop {
        // With text trimming off, every element starts exactly here (text before it is its own event).
        let position = reader.buffer_position() as usize;
        let line = lines.line(position);
        let event = reader.read_event().map_err(|error| {
            DocumentError::at(
                origin,
                lines.line(reader.error_position() as usize),
                format!("malformed XML: {error}"),
            )
        })?;
        match event {
            Event::Start(start) => walk.open_element(&start, reader.decoder(), line)?,
            Event::Empty(start) => {
                walk.open_element(&start, reader.decoder(), line)?;
                walk.close_element();
            }
            Event::End(_) => walk.close_element(),
            Event::Text(chunk) => {
                let content = chunk.xml10_content().map_err(|error| {
                    DocumentError::at(origin, line, format!("malformed text: {error}"))
                })?;
                walk.add_text(&content, line)?;
            }
            Event::CData(chunk) => {
                let content = chunk.decode().map_err(|error| {
                    DocumentError::at(origin, line, format!("malformed CDATA: {error}"))
                })?;
                walk.add_text(&content, line)?;
            }
            Event::GeneralRef(reference) => {
                let character = resolve_reference(&reference, origin, line)?;
                walk.add_text(character.encode_utf8(&mut [0; 4]), line)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    walk.finish()
}

impl Walk<'_> {
    fn open_element(
        &mut self,
        start: &BytesStart<'_>,
        decoder: Decoder,
        line: u64,
    ) -> Result<(), DocumentError> {
        let element = element_of(start, decoder, self.origin, line)?;
        if self.open.is_empty() {
            self.check_root(&element.name, line)?;
        }
        let starts_record = self.capture.is_empty()
            && self.open.len() + 1 == self.records_path.len()
            && self
                .open
                .iter()
                .map(|(name, _)| name)
                .chain(std::iter::once(&element.name))
                .eq(self.records_path.iter());
        self.open.push((element.name.clone(), line));
        if starts_record {
            self.capture_line = line;
        }
        if starts_record || !self.capture.is_empty() {
            self.capture.push(element);
        }
        Ok(())
    }

    fn check_root(&mut self, name: &str, line: u64) -> Result<(), DocumentError> {
        if self.root_seen {
            return Err(DocumentError::at(
                self.origin,
                line,
                format!("a second root element `<{name}>`; an XML document has exactly one"),
            ));
        }
        self.root_seen = true;
        let expected = self.records_path.first().map(String::as_str).unwrap_or("");
        if name != expected {
            return Err(DocumentError::at(
                self.origin,
                line,
                format!(
                    "the root element is `<{name}>`, but the mapping's `records` path `{}` starts at `<{expected}>`; is this the right mapping for the file?",
                    self.records_path.join("/")
                ),
            ));
        }
        Ok(())
    }

    /// quick-xml has already checked that the end tag matches the open one.
    fn close_element(&mut self) {
        self.open.pop();
        let Some(element) = self.capture.pop() else {
            return;
        };
        match self.capture.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.records.push(SourceRecord::new(
                self.origin,
                self.capture_line,
                RecordBody::Xml(element),
            )),
        }
    }

    fn add_text(&mut self, content: &str, line: u64) -> Result<(), DocumentError> {
        if let Some(element) = self.capture.last_mut() {
            element.text.push_str(content);
        } else if self.open.is_empty() && !content.trim().is_empty() {
            let place = if self.root_seen { "after" } else { "before" };
            // Point at the garbage itself, not at the end of the line before it.
            let leading = &content[..content.len() - content.trim_start().len()];
            let line = line + leading.matches('\n').count() as u64;
            return Err(DocumentError::at(
                self.origin,
                line,
                format!("text {place} the root element; the file is not well-formed XML"),
            ));
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<SourceRecord>, DocumentError> {
        if let Some((name, line)) = self.open.last() {
            return Err(DocumentError::at(
                self.origin,
                *line,
                format!("element `<{name}>` is not closed before the end of the file"),
            ));
        }
        if !self.root_seen {
            return Err(DocumentError::whole(
                self.origin,
                "no root element: the file is empty or not XML",
            ));
        }
        if self.records.is_empty() {
            let (record, parents) = match self.records_path.split_last() {
                Some((record, parents)) => (record.as_str(), parents),
                None => ("", &[][..]),
            };
            let under = if parents.is_empty() {
                String::new()
            } else {
                format!(" under `<{}>`", parents.join("/"))
            };
            return Err(DocumentError::whole(
                self.origin,
                format!("no `<{record}>` records{under}; check the mapping's `records` path"),
            ));
        }
        Ok(self.records)
    }
}

fn element_of(
    start: &BytesStart<'_>,
    decoder: Decoder,
    origin: &str,
    line: u64,
) -> Result<XmlElement, DocumentError> {
    let name = utf8(start.name().as_ref(), origin, line)?;
    let mut element = XmlElement {
        name,
        ..XmlElement::default()
    };
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| {
            DocumentError::at(origin, line, format!("malformed attribute: {error}"))
        })?;
        let key = utf8(attribute.key.as_ref(), origin, line)?;
        let value = attribute
            .decode_and_unescape_value(decoder)
            .map_err(|error| {
                DocumentError::at(
                    origin,
                    line,
                    format!("malformed value of attribute `{key}`: {error}"),
                )
            })?;
        element.attributes.insert(key, value.into_owned());
    }
    Ok(element)
}

fn utf8(bytes: &[u8], origin: &str, line: u64) -> Result<String, DocumentError> {
    // The reader works on an already decoded `str`, so this only fails on a quick-xml bug.
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|_| DocumentError::at(origin, line, "a name is not valid UTF-8"))
}

/// `&amp;`-style references: the five XML entities and character references. A document type may
/// declare more, but department exports do not, and expanding DTD entities invites entity bombs.
fn resolve_reference(
    reference: &BytesRef<'_>,
    origin: &str,
    line: u64,
) -> Result<char, DocumentError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(character)) => Ok(character),
            Ok(None) | Err(_) => Err(DocumentError::at(
                origin,
                line,
                "malformed character reference; write `&#NNNN;` or `&#xHHHH;`",
            )),
        };
    }
    let name = reference.decode().map_err(|error| {
        DocumentError::at(origin, line, format!("malformed entity reference: {error}"))
    })?;
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(DocumentError::at(
            origin,
            line,
            format!(
                "unknown entity `&{}`; only &amp; &lt; &gt; &quot; &apos; and character references are supported",
                other.chars().take(32).collect::<String>() + ";"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('/').map(String::from).collect()
    }

    fn read(text: &str, records: &str) -> Result<Vec<SourceRecord>, DocumentError> {
        read_xml(text, "in.xml", &path(records))
    }

    fn element(record: &SourceRecord) -> &XmlElement {
        match &record.body {
            RecordBody::Xml(element) => element,
            _ => panic!("xml record"),
        }
    }

    #[test]
    fn records_are_split_with_their_start_lines_and_content() {
        let text = "<?xml version=\"1.0\"?>\n<导出>\n  <案件 编号=\"A&amp;1\">\n    <类别>行政处罚</类别>\n    <空/>\n  </案件>\n  <案件 编号=\"2\"><![CDATA[x<y]]>&#x4E2D;&lt;</案件>\n</导出>\n";
        let records = read(text, "导出/案件").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].line(), 3);
        assert_eq!(records[1].line(), 7);
        let first = element(&records[0]);
        assert_eq!(first.attributes["编号"], "A&1");
        assert_eq!(first.children.len(), 2);
        assert_eq!(first.children[0].text, "行政处罚");
        assert_eq!(first.children[1].name, "空");
        assert_eq!(element(&records[1]).text, "x<y中<");
    }

    #[test]
    fn the_root_itself_can_be_the_record() {
        let records = read("<Case id=\"1\"><A>x</A></Case>", "Case").unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(element(&records[0]).children[0].text, "x");
    }

    #[test]
    fn elements_with_the_record_name_elsewhere_are_not_records() {
        let text = "<R><Other><Case/></Other><Case id=\"1\"><Case id=\"inner\"/></Case></R>";
        let records = read(text, "R/Case").unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(element(&records[0]).attributes["id"], "1");
        assert_eq!(element(&records[0]).children[0].attributes["id"], "inner");
    }

    #[test]
    fn mismatched_end_tag_names_the_line() {
        let error = read("<R>\n<Case>\n<A></B>\n</Case>\n</R>", "R/Case").unwrap_err();
        assert_eq!(error.line, Some(3), "{error}");
        assert!(error.message.contains("`</A>`"), "{error}");
    }

    #[test]
    fn unclosed_element_names_where_it_was_opened() {
        let error = read("<R>\n<Case>\n<A>x</A>\n", "R/Case").unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.xml:2: element `<Case>` is not closed before the end of the file"
        );
    }

    #[test]
    fn garbage_around_the_root_is_an_error() {
        let error = read("<R><Case/></R>\ngarbage", "R/Case").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("after the root"), "{error}");
        let error = read("<R><Case/></R>\n<R/>", "R/Case").unwrap_err();
        assert!(error.message.contains("second root"), "{error}");
        let error = read("", "R/Case").unwrap_err();
        assert!(error.message.contains("no root element"), "{error}");
    }

    #[test]
    fn wrong_root_and_no_records_are_errors() {
        let error = read("<Other/>", "R/Case").unwrap_err();
        assert!(
            error.message.contains("root element is `<Other>`"),
            "{error}"
        );
        let error = read("<R><X/></R>", "R/Case").unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.xml: no `<Case>` records under `<R>`; check the mapping's `records` path"
        );
    }

    #[test]
    fn unknown_entities_and_bad_attributes_are_errors() {
        let error = read("<R>\n<Case>&nbsp;</Case></R>", "R/Case").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("unknown entity `&nbsp;`"), "{error}");
        let error = read("<R>\n<Case a=\"1\" a=\"2\"/></R>", "R/Case").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("attribute"), "{error}");
    }
}
