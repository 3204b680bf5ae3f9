//! Plain text: one paragraph per line. The encoding is the declared charset, else a byte-order
//! mark, else UTF-8 when the bytes are valid UTF-8, else GB18030 (the superset of GBK and GB2312
//! that Chinese case systems export) when they decode without error. Anything else is refused:
//! a wrongly decoded text would be redacted wrongly.

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::{ExtractError, Sink};

pub(super) fn extract(
    bytes: &[u8],
    charset: Option<&str>,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let text = decode(bytes, charset)?;
    for line in text.split(['\n', '\r']) {
        sink.push_str(line)?;
        sink.end_paragraph();
    }
    Ok(())
}

/// Decodes text by the rules above; shared with HTML.
pub(super) fn decode(bytes: &[u8], charset: Option<&str>) -> Result<String, ExtractError> {
    let encoding = match charset {
        Some(label) => {
            Some(Encoding::for_label(label.as_bytes()).ok_or(ExtractError::UnknownCharset)?)
        }
        None => Encoding::for_bom(bytes).map(|(e, _)| e),
    };
    let encoding = match encoding {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => GB18030,
    };
    // BOM sniffing wins over a declared charset, as browsers do; the BOM is removed either way.
    let (text, used, malformed) = encoding.decode(bytes);
    if malformed {
        let (_, valid_up_to) = first_error(used, bytes);
        return Err(ExtractError::Undecodable {
            encoding: used.name(),
            offset: valid_up_to,
        });
    }
    Ok(text.into_owned())
}

/// The offset of the first undecodable byte, for the error message (an offset, never text).
fn first_error(encoding: &'static Encoding, bytes: &[u8]) -> (&'static Encoding, usize) {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3);
    let mut offset = 0;
    while offset < bytes.len() {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[offset..], &mut out, true);
        match result {
            encoding_rs::DecoderResult::Malformed(bad, _) => {
                return (encoding, (offset + read).saturating_sub(bad as usize))
            }
            encoding_rs::DecoderResult::InputEmpty => break,
            encoding_rs::DecoderResult::OutputFull => out.reserve(bytes.len()),
        }
        offset += read;
    }
    (encoding, bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{extract as extract_any, DocumentLimits};
    use crate::MediaType;

    fn lines(bytes: &[u8], declared: Option<&str>) -> Result<Vec<String>, ExtractError> {
        extract_any(bytes, declared, &DocumentLimits::default())
            .map(|e| e.paragraphs.into_iter().map(|p| p.text).collect())
    }

    #[test]
    fn gbk_is_detected_and_declared() {
        let (gbk, _, _) = GB18030.encode("茌平县财政局\r\n行政处罚决定书\r\n");
        assert_eq!(
            lines(&gbk, None).unwrap(),
            ["茌平县财政局", "行政处罚决定书"]
        );
        assert_eq!(
            lines(&gbk, Some("text/plain; charset=gbk")).unwrap(),
            ["茌平县财政局", "行政处罚决定书"]
        );
        // Declared UTF-8, but it is GBK: refused with the offset, not guessed.
        let err = lines(&gbk, Some("text/plain; charset=utf-8")).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::Undecodable {
                    encoding: "UTF-8",
                    offset: 0
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn utf8_with_bom_and_utf16() {
        assert_eq!(
            lines("\u{FEFF}甲\n\n乙".as_bytes(), None).unwrap(),
            ["甲", "乙"]
        );
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "丙\n丁".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        assert_eq!(lines(&utf16, None).unwrap(), ["丙", "丁"]);
    }

    #[test]
    fn an_unknown_charset_is_refused() {
        let err = lines(b"abc", Some("text/plain; charset=klingon")).unwrap_err();
        assert_eq!(err, ExtractError::UnknownCharset);
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_gb18030_are_refused() {
        // 0xFF is neither UTF-8 nor a GB18030 lead byte.
        let err = lines(b"abc\xFF", None).unwrap_err();
        assert_eq!(
            err,
            ExtractError::Undecodable {
                encoding: "gb18030",
                offset: 3
            }
        );
        assert_eq!(MediaType::sniff(b"abc\xFF"), Some(MediaType::Text));
    }
}
