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
/// Decodes into a fixed buffer: the output's size never decides whether the loop advances.
fn first_error(encoding: &'static Encoding, bytes: &[u8]) -> (&'static Encoding, usize) {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut buf = [0u8; 4096];
    let mut offset = 0;
    loop {
        let (result, read, _) =
            decoder.decode_to_utf8_without_replacement(&bytes[offset..], &mut buf, true);
        offset += read;
        match result {
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                return (
                    encoding,
                    offset.saturating_sub(bad as usize + after as usize),
                )
            }
            encoding_rs::DecoderResult::InputEmpty => return (encoding, bytes.len()),
            encoding_rs::DecoderResult::OutputFull => {}
        }
    }
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

    /// Regression: a lone GBK lead byte at the end made the offset search loop forever.
    #[test]
    fn a_truncated_gbk_character_is_refused_not_looped_on() {
        let (gbk, _, _) = GB18030.encode("茌平县");
        let err = lines(&gbk[..3], None).unwrap_err();
        assert_eq!(
            err,
            ExtractError::Undecodable {
                encoding: "gb18030",
                offset: 2
            }
        );
        let long = "甲".repeat(5000);
        let (gbk, _, _) = GB18030.encode(&long);
        let mut cut = gbk[..gbk.len() - 1].to_vec();
        let err = lines(&cut, None).unwrap_err();
        assert!(
            matches!(err, ExtractError::Undecodable { offset: 9998, .. }),
            "{err:?}"
        );
        cut.truncate(1);
        assert!(lines(&cut, None).is_err());
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
