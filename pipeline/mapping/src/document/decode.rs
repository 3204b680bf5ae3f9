//! Bytes → text: byte order marks, the encoding an XML declaration names, and strict decoding that
//! reports the line of the first bad byte instead of silently replacing it with U+FFFD (a replaced
//! character in a name or a document number would be published wrong).

use encoding_rs::{DecoderResult, Encoding, UTF_8};

use crate::error::DocumentError;

/// Decodes a whole document. A byte order mark wins over everything; otherwise `encoding` is used
/// (the XML declaration's or the mapping's), else UTF-8.
pub(crate) fn decode(
    bytes: &[u8],
    encoding: Option<&'static Encoding>,
    origin: &str,
) -> Result<String, DocumentError> {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((bom_encoding, bom_length)) => (bom_encoding, &bytes[bom_length..]),
        None => (encoding.unwrap_or(UTF_8), bytes),
    };
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(body.len())
            .unwrap_or(body.len()),
    );
    let mut consumed = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&body[consumed..], &mut text, true);
        consumed += read;
        match result {
            DecoderResult::InputEmpty => return Ok(text),
            DecoderResult::OutputFull => {
                let more = decoder
                    .max_utf8_buffer_length_without_replacement(body.len() - consumed)
                    .unwrap_or(body.len() - consumed)
                    .max(16);
                text.reserve(more);
            }
            DecoderResult::Malformed(_, _) => {
                // Everything before the bad bytes has been written to `text`.
                let line = text.bytes().filter(|byte| *byte == b'\n').count() as u64 + 1;
                return Err(DocumentError::at(
                    origin,
                    line,
                    format!(
                        "bytes that are not valid {}; re-export the file in the encoding it declares",
                        encoding.name()
                    ),
                ));
            }
        }
    }
}

/// The encoding named by the XML declaration at the start of `bytes` (after a UTF-8 BOM), if any.
///
/// Read from the raw bytes because the declaration is ASCII in every encoding a department uses;
/// the document cannot be decoded before this is known.
pub(crate) fn xml_declared_encoding(
    bytes: &[u8],
    origin: &str,
) -> Result<Option<&'static Encoding>, DocumentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if !bytes.starts_with(b"<?xml") {
        return Ok(None);
    }
    let head = &bytes[..bytes.len().min(1024)];
    let Some(end) = find(head, b"?>") else {
        return Ok(None); // the XML parser reports the unclosed declaration
    };
    let declaration = &head[..end];
    let Some(at) = find(declaration, b"encoding") else {
        return Ok(None);
    };
    let rest = &declaration[at + b"encoding".len()..];
    let rest = trim_start(rest);
    let Some(rest) = rest.strip_prefix(b"=") else {
        return Ok(None);
    };
    let rest = trim_start(rest);
    let Some((&quote, rest)) = rest.split_first() else {
        return Ok(None);
    };
    if quote != b'"' && quote != b'\'' {
        return Ok(None);
    }
    let Some(close) = rest.iter().position(|byte| *byte == quote) else {
        return Ok(None);
    };
    let label = &rest[..close];
    let line = declaration[..at]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count() as u64
        + 1;
    let printable: String = String::from_utf8_lossy(label).chars().take(40).collect();
    match Encoding::for_label(label) {
        Some(encoding) if encoding.is_ascii_compatible() => Ok(Some(encoding)),
        // A declaration readable as ASCII cannot be in UTF-16; without a BOM that is a lie.
        Some(encoding) => Err(DocumentError::at(
            origin,
            line,
            format!(
                "the XML declaration names encoding `{}`, but the file is not in it (no byte order mark); fix the declaration",
                encoding.name()
            ),
        )),
        None => Err(DocumentError::at(
            origin,
            line,
            format!(
                "the XML declaration names unknown encoding `{printable}`; use UTF-8, GBK or GB18030"
            ),
        )),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{GB18030, GBK};

    #[test]
    fn declared_encoding_is_read_from_the_declaration() {
        let found = xml_declared_encoding(b"<?xml version=\"1.0\" encoding=\"GBK\"?><a/>", "a.xml");
        assert_eq!(found.unwrap(), Some(GBK));
        let found = xml_declared_encoding(b"<?xml version='1.0' encoding = 'gb18030' ?>", "a.xml");
        assert_eq!(found.unwrap(), Some(GB18030));
        assert_eq!(
            xml_declared_encoding(b"<?xml version=\"1.0\"?><a/>", "a.xml").unwrap(),
            None
        );
        assert_eq!(xml_declared_encoding(b"<a/>", "a.xml").unwrap(), None);
    }

    #[test]
    fn unknown_or_impossible_declared_encodings_are_errors() {
        let error = xml_declared_encoding(b"<?xml version=\"1.0\" encoding=\"klingon\"?>", "a.xml")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xml:1: the XML declaration names unknown encoding `klingon`; use UTF-8, GBK or GB18030"
        );
        let error = xml_declared_encoding(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "a.xml")
            .unwrap_err();
        assert!(error.message.contains("UTF-16LE"), "{}", error.message);
    }

    #[test]
    fn gbk_bytes_decode_and_a_utf8_bom_wins() {
        let (bytes, _, _) = GBK.encode("行政处罚\n罚款");
        assert_eq!(decode(&bytes, Some(GBK), "a").unwrap(), "行政处罚\n罚款");
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice("行政".as_bytes());
        assert_eq!(decode(&with_bom, Some(GBK), "a").unwrap(), "行政");
    }

    #[test]
    fn invalid_bytes_report_their_line() {
        let mut bytes = GBK.encode("第一行\n第二行\n").0.into_owned();
        bytes.extend_from_slice(b"ab\xFFcd\n");
        let error = decode(&bytes, Some(GBK), "in.xml").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("not valid GBK"), "{}", error.message);
        let error = decode(b"ok\n\xC3\x28", None, "in.xml").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("UTF-8"));
    }

    #[test]
    fn large_input_grows_the_buffer_as_needed() {
        let text = "案件".repeat(100_000);
        let bytes = GB18030.encode(&text).0.into_owned();
        assert_eq!(decode(&bytes, Some(GB18030), "a").unwrap(), text);
    }
}
