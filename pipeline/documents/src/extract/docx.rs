//! DOCX: the paragraphs of `word/document.xml` (ECMA-376 WordprocessingML).
//!
//! Text is what a reader sees: `w:t` inside runs, tabs and line breaks as whitespace and paragraph
//! breaks. Not text: deleted runs of tracked changes (`w:delText`, `w:moveFrom`), field
//! instructions (`w:instrText`), tab-stop definitions. A deleted ID number in a tracked change is
//! still in the file, and must not reach the public version.
//!
//! Zip bombs: a part is read through a reader capped at `max_uncompressed_bytes`, whatever its
//! header claims, and a part whose compression ratio is beyond `max_compression_ratio` is refused
//! before it is inflated.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{Align, DocumentLimits, ExtractError, Sink};

const DOCUMENT_XML: &str = "word/document.xml";
const APP_XML: &str = "docProps/app.xml";

fn docx_error(reason: impl Into<String>) -> ExtractError {
    ExtractError::Docx {
        reason: reason.into(),
    }
}

/// Extracts the paragraphs; returns the page count (`docProps/app.xml`, else page breaks + 1).
pub(super) fn extract(
    bytes: &[u8],
    limits: &DocumentLimits,
    sink: &mut Sink,
) -> Result<Option<u32>, ExtractError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| docx_error("the zip archive is damaged"))?;
    let xml = read_part(&mut archive, DOCUMENT_XML, limits)?
        .ok_or_else(|| docx_error("it has no word/document.xml"))?;
    let page_breaks = walk_document(&xml, sink)?;
    let pages = match read_part(&mut archive, APP_XML, limits)? {
        Some(app) => app_pages(&app),
        None => None,
    };
    Ok(Some(pages.unwrap_or(page_breaks.saturating_add(1))))
}

/// One part of the package, inflated within the limits; `None` when the package lacks it.
fn read_part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    part: &'static str,
    limits: &DocumentLimits,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let Some(index) = archive.index_for_name(part) else {
        return Ok(None);
    };
    let file = archive
        .by_index(index)
        .map_err(|_| docx_error(format!("the zip entry {part} cannot be opened (encrypted, or an unsupported compression method)")))?;
    let claimed = file.size();
    let compressed = file.compressed_size().max(1);
    if claimed > limits.max_uncompressed_bytes {
        return Err(ExtractError::EntryTooLarge {
            part,
            limit: limits.max_uncompressed_bytes,
        });
    }
    // Small parts may compress well (a run of spaces); only larger ones are judged by ratio.
    let ratio = claimed / compressed;
    if claimed > 1024 * 1024 && ratio > u64::from(limits.max_compression_ratio) {
        return Err(ExtractError::ZipBomb {
            part,
            ratio,
            limit: limits.max_compression_ratio,
        });
    }
    // The header may lie: read at most one byte more than the limit, whatever it claims.
    let mut out = Vec::with_capacity(claimed.min(limits.max_uncompressed_bytes) as usize);
    file.take(limits.max_uncompressed_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|_| docx_error(format!("the zip entry {part} does not inflate")))?;
    if out.len() as u64 > limits.max_uncompressed_bytes {
        return Err(ExtractError::EntryTooLarge {
            part,
            limit: limits.max_uncompressed_bytes,
        });
    }
    let actual_ratio = out.len() as u64 / compressed;
    if out.len() > 1024 * 1024 && actual_ratio > u64::from(limits.max_compression_ratio) {
        return Err(ExtractError::ZipBomb {
            part,
            ratio: actual_ratio,
            limit: limits.max_compression_ratio,
        });
    }
    Ok(Some(out))
}

/// Where the reader is inside the document's elements, by the ones that matter for text.
#[derive(Default)]
struct State {
    /// Inside `w:r` (tabs and breaks count only there, not in tab-stop definitions).
    run_depth: u32,
    /// Inside `w:t`.
    in_text: bool,
    /// Inside `w:pPr` (`w:jc` there sets the paragraph's alignment).
    in_ppr: u32,
    /// Inside deleted or moved-away content of a tracked change.
    deleted_depth: u32,
    page_breaks: u32,
}

fn walk_document(xml: &[u8], sink: &mut Sink) -> Result<u32, ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let mut state = State::default();
    loop {
        let event = reader.read_event().map_err(|_| {
            docx_error(format!(
                "word/document.xml is not well-formed XML (near byte {})",
                reader.error_position()
            ))
        })?;
        match event {
            Event::Start(e) => start(&e, false, &mut state, sink)?,
            Event::Empty(e) => start(&e, true, &mut state, sink)?,
            Event::End(e) => match e.local_name().as_ref() {
                b"p" => sink.end_paragraph(),
                b"r" => state.run_depth = state.run_depth.saturating_sub(1),
                b"t" => state.in_text = false,
                b"pPr" => state.in_ppr = state.in_ppr.saturating_sub(1),
                b"del" | b"moveFrom" => state.deleted_depth = state.deleted_depth.saturating_sub(1),
                _ => {}
            },
            Event::Text(t) if state.in_text && state.deleted_depth == 0 => {
                let text = t
                    .decode()
                    .map_err(|_| docx_error("word/document.xml has text that is not UTF-8"))?;
                sink.push_str(&text)?;
            }
            Event::CData(t) if state.in_text && state.deleted_depth == 0 => {
                let text = t
                    .decode()
                    .map_err(|_| docx_error("word/document.xml has text that is not UTF-8"))?;
                sink.push_str(&text)?;
            }
            Event::GeneralRef(r) if state.in_text && state.deleted_depth == 0 => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*r {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        _ => {
                            return Err(docx_error(
                                "word/document.xml uses an entity XML does not define",
                            ))
                        }
                    },
                    Err(_) => {
                        return Err(docx_error(
                            "word/document.xml has an invalid character reference",
                        ))
                    }
                };
                sink.push(c)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(state.page_breaks)
}

fn start(
    e: &BytesStart<'_>,
    empty: bool,
    state: &mut State,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    match e.local_name().as_ref() {
        b"p" if empty => sink.end_paragraph(),
        // A paragraph inside a paragraph (a text box) ends the text before it.
        b"p" => sink.end_paragraph(),
        b"r" if !empty => state.run_depth += 1,
        b"t" if !empty => state.in_text = true,
        b"pPr" if !empty => state.in_ppr += 1,
        b"del" | b"moveFrom" if !empty => state.deleted_depth += 1,
        b"jc" if state.in_ppr > 0 => {
            let value = attribute(e, b"val");
            sink.align(match value.as_deref() {
                Some(b"center") => Align::Center,
                Some(b"right") | Some(b"end") => Align::Right,
                _ => Align::Left,
            });
        }
        b"tab" | b"ptab" if state.run_depth > 0 && state.deleted_depth == 0 => sink.push('\t')?,
        b"br" | b"cr" if state.run_depth > 0 && state.deleted_depth == 0 => {
            if attribute(e, b"type").as_deref() == Some(b"page") {
                state.page_breaks += 1;
                sink.push(' ')?;
            } else {
                // A line break inside a paragraph separates lines the author meant apart
                // (「当事人：…」「住址：…」 typed with Shift+Enter).
                sink.end_paragraph();
            }
        }
        b"noBreakHyphen" if state.run_depth > 0 && state.deleted_depth == 0 => sink.push('-')?,
        _ => {}
    }
    Ok(())
}

/// The raw value of an attribute by its local name (`w:val` → `val`).
fn attribute(e: &BytesStart<'_>, local: &[u8]) -> Option<Vec<u8>> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| a.value.into_owned())
}

/// `<Pages>N</Pages>` of `docProps/app.xml`, as the last program that saved the file counted.
fn app_pages(xml: &[u8]) -> Option<u32> {
    let mut reader = Reader::from_reader(xml);
    let mut in_pages = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == b"Pages" => in_pages = true,
            Event::Text(t) if in_pages => return t.decode().ok()?.trim().parse().ok(),
            Event::End(_) => in_pages = false,
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::extract::{extract as extract_any, DocumentLimits};

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    /// A DOCX with the given document.xml body (stored or deflated).
    pub(crate) fn docx(body: &str, deflate: bool) -> Vec<u8> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{body}</w:body></w:document>"#
        );
        docx_with_part(DOCUMENT_XML, xml.as_bytes(), deflate)
    }

    fn docx_with_part(name: &str, data: &[u8], deflate: bool) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut z = zip::ZipWriter::new(Cursor::new(&mut out));
            let method = if deflate {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            z.start_file(name, options).unwrap();
            z.write_all(data).unwrap();
            if name != DOCUMENT_XML {
                z.start_file(DOCUMENT_XML, options).unwrap();
                z.write_all(format!("<w:document {W}><w:body><w:p><w:r><w:t>x</w:t></w:r></w:p></w:body></w:document>").as_bytes()).unwrap();
            }
            z.finish().unwrap();
        }
        out
    }

    fn texts(bytes: &[u8]) -> Vec<(String, Align)> {
        extract_any(bytes, None, &DocumentLimits::default())
            .unwrap()
            .paragraphs
            .into_iter()
            .map(|p| (p.text, p.align))
            .collect()
    }

    #[test]
    fn runs_tabs_breaks_and_alignment() {
        let body = r#"<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:t>行政处罚</w:t></w:r><w:r><w:t xml:space="preserve">决定书</w:t></w:r></w:p>
            <w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>当事人：</w:t><w:tab/><w:t>张三</w:t><w:br/><w:t>住址：略</w:t></w:r></w:p>
            <w:p><w:r><w:t>A&amp;B &#x4E00;</w:t></w:r></w:p>"#;
        assert_eq!(
            texts(&docx(body, true)),
            [
                ("行政处罚决定书".to_string(), Align::Center),
                ("当事人：张三".to_string(), Align::Unknown),
                ("住址：略".to_string(), Align::Unknown),
                ("A&B 一".to_string(), Align::Unknown),
            ]
        );
    }

    #[test]
    fn deleted_text_and_field_codes_are_not_text() {
        let body = r#"<w:p><w:r><w:t>身份证号码：</w:t></w:r><w:del w:id="1"><w:r><w:delText>371523198001011231</w:delText></w:r></w:del>
            <w:moveFrom><w:r><w:t>旧地址</w:t></w:r></w:moveFrom><w:ins><w:r><w:t>已核实</w:t></w:r></w:ins>
            <w:r><w:instrText> PAGE </w:instrText></w:r></w:p>"#;
        assert_eq!(
            texts(&docx(body, false)),
            [("身份证号码：已核实".to_string(), Align::Unknown)]
        );
    }

    #[test]
    fn page_count_from_breaks_without_app_xml() {
        let body = r#"<w:p><w:r><w:t>一</w:t><w:br w:type="page"/><w:t>二</w:t></w:r></w:p>"#;
        let e = extract_any(&docx(body, true), None, &DocumentLimits::default()).unwrap();
        assert_eq!(e.pages, Some(2));
        let limits = DocumentLimits {
            max_pages: 1,
            ..DocumentLimits::default()
        };
        assert_eq!(
            extract_any(&docx(body, true), None, &limits),
            Err(ExtractError::TooManyPages { pages: 2, limit: 1 })
        );
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_inflated() {
        // 50 MB of zeros deflate to about 50 KB: a ratio of about 1000.
        let zeros = vec![b' '; 50 * 1024 * 1024];
        let bomb = docx_with_part(DOCUMENT_XML, &zeros, true);
        let err = extract_any(&bomb, None, &DocumentLimits::default()).unwrap_err();
        assert!(
            matches!(err, ExtractError::ZipBomb { part: DOCUMENT_XML, ratio, limit: 100 } if ratio > 100),
            "{err:?}"
        );
        assert!(err.to_string().contains("max_compression_ratio"));
        let limits = DocumentLimits {
            max_uncompressed_bytes: 1024,
            ..DocumentLimits::default()
        };
        let err = extract_any(&bomb, None, &limits).unwrap_err();
        assert!(matches!(err, ExtractError::EntryTooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("max_uncompressed_bytes"));
    }

    #[test]
    fn broken_xml_is_an_error_without_document_text() {
        let bytes = docx("<w:p><w:r><w:t>张三371523198001011231</w:r></w:p>", true);
        let err = extract_any(&bytes, None, &DocumentLimits::default()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("not well-formed"), "{message}");
        assert!(!message.contains("张三") && !message.contains("3715"));
    }

    #[test]
    fn app_xml_pages_win() {
        let app = br#"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Pages>7</Pages></Properties>"#;
        let bytes = docx_with_part(APP_XML, app, true);
        let e = extract_any(&bytes, None, &DocumentLimits::default()).unwrap();
        assert_eq!(e.pages, Some(7));
    }
}
