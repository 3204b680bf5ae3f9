//! XML documents → source records, streaming with quick-xml.
//!
//! Only the elements at the mapping's `records` path are kept as trees; everything else is read for
//! well-formedness and dropped, so a large export with many cases does not become one big tree.
//! The tree is built with an explicit stack of open elements, never by recursion, and the
//! [`ReadLimits`] are checked as each event is read: nesting, element and record counts, attribute
//! counts, value and record sizes.
//!
//! Control characters: XML 1.0 forbids C0 control characters other than TAB, LF and CR, even
//! written as character references (`&#0;`, `&#x1;`). This reader lets them through, literal or as
//! references, into the record: one such character is a problem of one case, not of the export, so
//! `dhub-schema`'s validation refuses that record alone, naming the field and the character, and
//! the rest of the document still goes through. (Rejecting the document here would hold back every
//! other case in it until the department re-exports.)

use std::collections::btree_map::Entry;

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::DocumentError;
use crate::limits::{exceeded, ReadLimits};
use crate::record::{RecordBody, SourceRecord, XmlElement};
use crate::toml_tree::LineIndex;

/// Reading state: the open elements and the record being built.
struct Walk<'a> {
    origin: &'a str,
    records_path: &'a [String],
    limits: &'a ReadLimits,
    /// Names and start lines of the open elements, root first.
    open: Vec<(String, u64)>,
    /// The record being read and its open descendants; empty outside records.
    capture: Vec<XmlElement>,
    capture_line: u64,
    /// Byte offset where the record being read starts.
    capture_start: usize,
    records: Vec<SourceRecord>,
    /// Elements read so far, in records or not.
    elements: u64,
    root_seen: bool,
    /// The root element's attributes (an export's own data, such as when it was made).
    root_attributes: std::collections::BTreeMap<String, String>,
}

/// Splits a decoded XML document into the elements at `records_path` (`["root", …, "record"]`);
/// with the value of the root element's attribute `root_attribute` (if asked for and there).
pub(crate) fn read_xml_export(
    text: &str,
    origin: &str,
    records_path: &[String],
    limits: &ReadLimits,
    root_attribute: Option<&str>,
) -> Result<(Vec<SourceRecord>, Option<String>), DocumentError> {
    let lines = LineIndex::new(text);
    let mut reader = Reader::from_str(text);
    let mut walk = Walk {
        origin,
        records_path,
        limits,
        open: Vec::new(),
        capture: Vec::new(),
        capture_line: 0,
        capture_start: 0,
        records: Vec::new(),
        elements: 0,
        root_seen: false,
        root_attributes: Default::default(),
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
        let end = reader.buffer_position() as usize;
        match event {
            Event::Start(start) => walk.open_element(&start, reader.decoder(), line, position)?,
            Event::Empty(start) => {
                walk.open_element(&start, reader.decoder(), line, position)?;
                walk.close_element(end)?;
            }
            Event::End(_) => walk.close_element(end)?,
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
                let name = reference.decode().map_err(|error| {
                    DocumentError::at(origin, line, format!("malformed reference: {error}"))
                })?;
                let character = resolve_reference(&name, origin, line)?;
                walk.add_text(character.encode_utf8(&mut [0; 4]), line)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
        walk.check_record_size(end)?;
    }
    let attribute = root_attribute.and_then(|name| walk.root_attributes.get(name).cloned());
    Ok((walk.finish()?, attribute))
}

impl Walk<'_> {
    fn open_element(
        &mut self,
        start: &BytesStart<'_>,
        decoder: Decoder,
        line: u64,
        position: usize,
    ) -> Result<(), DocumentError> {
        let limits = self.limits;
        if self.open.len() as u64 >= limits.max_depth {
            return Err(exceeded(
                self.origin,
                line,
                "element depth",
                limits.max_depth,
                "",
                "max_depth",
            ));
        }
        self.elements += 1;
        if self.elements > limits.max_elements {
            return Err(exceeded(
                self.origin,
                line,
                "the number of elements",
                limits.max_elements,
                "",
                "max_elements",
            ));
        }
        let element = element_of(start, decoder, self.origin, line, limits)?;
        if self.open.is_empty() {
            self.check_root(&element.name, line)?;
            self.root_attributes = element.attributes.clone();
        }
        let starts_record = self.capture.is_empty()
            && self.open.len() + 1 == self.records_path.len()
            && self
                .open
                .iter()
                .map(|(name, _)| name)
                .chain(std::iter::once(&element.name))
                .eq(self.records_path.iter());
        if starts_record {
            if self.records.len() as u64 >= limits.max_records {
                return Err(exceeded(
                    self.origin,
                    line,
                    "the number of records",
                    limits.max_records,
                    "",
                    "max_records",
                ));
            }
            self.capture_line = line;
            self.capture_start = position;
        }
        self.open.push((element.name.clone(), line));
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

    /// quick-xml has already checked that the end tag matches the open one. `end` is the offset just
    /// after the end tag (or the empty element).
    fn close_element(&mut self, end: usize) -> Result<(), DocumentError> {
        self.open.pop();
        let Some(element) = self.capture.pop() else {
            return Ok(());
        };
        match self.capture.last_mut() {
            Some(parent) => parent.children.push(element),
            None => {
                self.check_record_size_to(end)?;
                self.records.push(SourceRecord::new(
                    self.origin,
                    self.capture_line,
                    RecordBody::Xml(element),
                ));
            }
        }
        Ok(())
    }

    /// While a record is being read: whether it has grown over `max_record_bytes` by `end`.
    fn check_record_size(&self, end: usize) -> Result<(), DocumentError> {
        if self.capture.is_empty() {
            return Ok(());
        }
        self.check_record_size_to(end)
    }

    fn check_record_size_to(&self, end: usize) -> Result<(), DocumentError> {
        let limit = self.limits.max_record_bytes;
        if end.saturating_sub(self.capture_start) as u64 > limit {
            return Err(exceeded(
                self.origin,
                self.capture_line,
                "the record",
                limit,
                " bytes",
                "max_record_bytes",
            ));
        }
        Ok(())
    }

    fn add_text(&mut self, content: &str, line: u64) -> Result<(), DocumentError> {
        if let Some(element) = self.capture.last_mut() {
            element.text.push_str(content);
            let limit = self.limits.max_value_bytes;
            if element.text.len() as u64 > limit {
                let what = format!("the text of `<{}>`", element.name);
                return Err(exceeded(
                    self.origin,
                    line,
                    &what,
                    limit,
                    " bytes",
                    "max_value_bytes",
                ));
            }
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

/// The element a start tag opens, with its attributes.
///
/// quick-xml's own duplicate-attribute check compares each attribute with every one before it,
/// quadratic in their number (60,000 attributes took 5 s); it is off, and the map the attributes go
/// into finds duplicates in O(log n) each instead. The count is checked as they are read.
fn element_of(
    start: &BytesStart<'_>,
    decoder: Decoder,
    origin: &str,
    line: u64,
    limits: &ReadLimits,
) -> Result<XmlElement, DocumentError> {
    let mut element = XmlElement::new(utf8(start.name().as_ref(), origin, line)?);
    let mut attributes = start.attributes();
    attributes.with_checks(false);
    for (index, attribute) in attributes.enumerate() {
        if index as u64 >= limits.max_attributes {
            let what = format!("the number of attributes of `<{}>`", element.name);
            return Err(exceeded(
                origin,
                line,
                &what,
                limits.max_attributes,
                "",
                "max_attributes",
            ));
        }
        let attribute = attribute.map_err(|error| {
            DocumentError::at(origin, line, format!("malformed attribute: {error}"))
        })?;
        let key = utf8(attribute.key.as_ref(), origin, line)?;
        let raw = decoder.decode(&attribute.value).map_err(|error| {
            DocumentError::at(
                origin,
                line,
                format!("malformed value of attribute `{key}`: {error}"),
            )
        })?;
        let value = unescape(&raw, origin, line)?;
        if value.len() as u64 > limits.max_value_bytes {
            let what = format!("the value of attribute `{key}`");
            return Err(exceeded(
                origin,
                line,
                &what,
                limits.max_value_bytes,
                " bytes",
                "max_value_bytes",
            ));
        }
        match element.attributes.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(value);
            }
            Entry::Occupied(slot) => {
                return Err(DocumentError::at(
                    origin,
                    line,
                    format!(
                    "attribute `{}` appears twice on `<{}>`; an element has each attribute once",
                    slot.key(),
                    element.name
                ),
                ))
            }
        }
    }
    Ok(element)
}

fn utf8(bytes: &[u8], origin: &str, line: u64) -> Result<String, DocumentError> {
    // The reader works on an already decoded `str`, so this only fails on a quick-xml bug.
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|_| DocumentError::at(origin, line, "a name is not valid UTF-8"))
}

/// An attribute value with its references resolved (by [`resolve_reference`]).
fn unescape(raw: &str, origin: &str, line: u64) -> Result<String, DocumentError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(semicolon) = after.find(';') else {
            return Err(DocumentError::at(
                origin,
                line,
                "a `&` in an attribute value starts no reference; write `&amp;` for a literal `&`",
            ));
        };
        out.push(resolve_reference(&after[..semicolon], origin, line)?);
        rest = &after[semicolon + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A reference's name (between `&` and `;`) → its character: the five XML entities and character
/// references. A document type may declare more, but department exports do not, and expanding DTD
/// entities invites entity bombs. Character references to C0 controls are let through (see the
/// file header); validation refuses the record that holds one.
fn resolve_reference(name: &str, origin: &str, line: u64) -> Result<char, DocumentError> {
    if let Some(number) = name.strip_prefix('#') {
        let (digits, radix) = match number.strip_prefix('x') {
            Some(hex) => (hex, 16),
            None => (number, 10),
        };
        let code = if !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) {
            u32::from_str_radix(digits, radix).ok()
        } else {
            None
        };
        return code.and_then(char::from_u32).ok_or_else(|| {
            DocumentError::at(
                origin,
                line,
                "malformed character reference; write `&#NNNN;` or `&#xHHHH;` with a Unicode scalar value",
            )
        });
    }
    match name {
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
        read_xml_export(text, "in.xml", &path(records), &ReadLimits::default(), None)
            .map(|(records, _)| records)
    }

    fn read_within(
        text: &str,
        records: &str,
        limits: ReadLimits,
    ) -> Result<Vec<SourceRecord>, DocumentError> {
        read_xml_export(text, "in.xml", &path(records), &limits, None).map(|(records, _)| records)
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

    fn limits(change: impl FnOnce(&mut ReadLimits)) -> ReadLimits {
        let mut limits = ReadLimits::default();
        change(&mut limits);
        limits
    }

    fn breach(text: &str, limits: ReadLimits) -> String {
        read_within(text, "R/C", limits).unwrap_err().to_string()
    }

    const RAISE: &str = "raise it in the source's limits if this export is genuine";

    #[test]
    fn element_depth_counts_from_the_root_and_names_the_line() {
        let text = "<R>\n<C id=\"1\">\n<a>\n<b/></a></C></R>";
        assert!(read_within(text, "R/C", limits(|l| l.max_depth = 4)).is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_depth = 3)),
            format!("in.xml:4: element depth exceeds the limit of 3 (max_depth); {RAISE}")
        );
    }

    #[test]
    fn elements_are_counted_in_and_out_of_records() {
        let text = "<R>\n<X/>\n<C id=\"1\"/>\n<C id=\"2\"/></R>";
        assert!(read_within(text, "R/C", limits(|l| l.max_elements = 4)).is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_elements = 3)),
            format!(
                "in.xml:4: the number of elements exceeds the limit of 3 (max_elements); {RAISE}"
            )
        );
    }

    #[test]
    fn attributes_per_element_are_limited() {
        let text = "<R>\n<C id=\"1\" a=\"2\"/></R>";
        assert!(read_within(text, "R/C", limits(|l| l.max_attributes = 2)).is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_attributes = 1)),
            format!("in.xml:2: the number of attributes of `<C>` exceeds the limit of 1 (max_attributes); {RAISE}")
        );
    }

    #[test]
    fn text_and_attribute_values_are_limited_in_bytes() {
        let text = "<R><C id=\"1\">\n中文<![CDATA[ab]]>&amp;</C></R>";
        // "\n中文ab&" is 10 bytes of UTF-8, read in four chunks.
        assert!(read_within(text, "R/C", limits(|l| l.max_value_bytes = 10)).is_ok());
        assert_eq!(
            breach(text, limits(|l| l.max_value_bytes = 9)),
            format!("in.xml:2: the text of `<C>` exceeds the limit of 9 bytes (max_value_bytes); {RAISE}")
        );
        // References count resolved: `&#x4E2D;` is the 3 bytes of 中.
        let text = "<R>\n<C id=\"&#x4E2D;\"/></R>";
        assert!(read_within(text, "R/C", limits(|l| l.max_value_bytes = 3)).is_ok());
        let text = "<R>\n<C id=\"12345\"/></R>";
        assert_eq!(
            breach(text, limits(|l| l.max_value_bytes = 4)),
            format!("in.xml:2: the value of attribute `id` exceeds the limit of 4 bytes (max_value_bytes); {RAISE}")
        );
    }

    #[test]
    fn record_size_is_limited_and_named_at_the_record_start() {
        let record = "<C id=\"1\">\n<a>xy</a>\n</C>";
        let text = format!("<R>\n{record}</R>");
        let size = record.len() as u64;
        assert!(read_within(&text, "R/C", limits(|l| l.max_record_bytes = size)).is_ok());
        assert_eq!(
            breach(&text, limits(|l| l.max_record_bytes = size - 1)),
            format!(
                "in.xml:2: the record exceeds the limit of {} bytes (max_record_bytes); {RAISE}",
                size - 1
            )
        );
        let empty = "<R>\n<C id=\"1\"/></R>";
        assert!(breach(empty, limits(|l| l.max_record_bytes = 5)).contains("(max_record_bytes)"));
        // A record that never ends is refused as soon as it is too large, not at the end of the file.
        let endless = format!("<R>\n<C>{}", "<a>x</a>".repeat(1000));
        assert!(breach(&endless, limits(|l| l.max_record_bytes = 100))
            .starts_with("in.xml:2: the record exceeds"));
    }

    #[test]
    fn records_per_document_are_limited() {
        let text = "<R>\n<C id=\"1\"/>\n<C id=\"2\"/>\n<C id=\"3\"/></R>";
        assert_eq!(
            read_within(text, "R/C", limits(|l| l.max_records = 3))
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            breach(text, limits(|l| l.max_records = 2)),
            format!(
                "in.xml:4: the number of records exceeds the limit of 2 (max_records); {RAISE}"
            )
        );
    }

    #[test]
    fn control_characters_pass_through_to_validation_literal_or_referenced() {
        let text = "<R><C id=\"a&#0;b\" t=\"\u{1}\">x&#0;y&#x1F;\u{2}</C></R>";
        let records = read(text, "R/C").unwrap();
        let case = element(&records[0]);
        assert_eq!(case.attributes["id"], "a\u{0}b");
        assert_eq!(case.attributes["t"], "\u{1}");
        assert_eq!(case.text, "x\u{0}y\u{1F}\u{2}");
    }

    #[test]
    fn references_in_attributes_resolve_and_malformed_ones_are_errors() {
        let records = read("<R><C a=\"x&amp;y&#x4E2D;&#20013;&lt;&quot;\"/></R>", "R/C").unwrap();
        assert_eq!(element(&records[0]).attributes["a"], "x&y中中<\"");
        for bad in [
            "&#xD800;",
            "&#1114112;",
            "&#;",
            "&#x;",
            "&#-1;",
            "&#x+1;",
            "&#12a;",
        ] {
            for text in [
                format!("<R>\n<C a=\"{bad}\"/></R>"),
                format!("<R>\n<C>{bad}</C></R>"),
            ] {
                let error = read(&text, "R/C").unwrap_err();
                assert_eq!(error.line, Some(2), "{text}: {error}");
                assert!(error.message.contains("reference"), "{text}: {error}");
            }
        }
        let error = read("<R><C a=\"x & y\"/></R>", "R/C").unwrap_err();
        assert!(error.message.contains("write `&amp;`"), "{error}");
    }
}
