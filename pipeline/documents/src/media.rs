//! Media types of decision documents and evidence, sniffed from the bytes. What a source declares
//! is only believed when the bytes agree: a file's name or header is no evidence of what it is.

use std::io::Cursor;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The media types dhub reads (decision documents) or stores as they are (evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    /// `application/vnd.openxmlformats-officedocument.wordprocessingml.document`
    Docx,
    /// `application/pdf`
    Pdf,
    /// `text/html`; also what the public version is.
    Html,
    /// `text/plain`
    Text,
    /// `image/jpeg` (evidence)
    Jpeg,
    /// `image/png` (evidence)
    Png,
    /// `video/mp4` (evidence)
    Mp4,
}

impl MediaType {
    pub const ALL: [MediaType; 7] = [
        MediaType::Docx,
        MediaType::Pdf,
        MediaType::Html,
        MediaType::Text,
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::Mp4,
    ];
    /// The formats a decision document may come in.
    pub const DECISION: [MediaType; 4] = [
        MediaType::Docx,
        MediaType::Pdf,
        MediaType::Html,
        MediaType::Text,
    ];
    /// The formats of evidence attachments.
    pub const EVIDENCE: [MediaType; 3] = [MediaType::Jpeg, MediaType::Png, MediaType::Mp4];

    pub const fn as_str(self) -> &'static str {
        match self {
            MediaType::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            MediaType::Pdf => "application/pdf",
            MediaType::Html => "text/html",
            MediaType::Text => "text/plain",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Mp4 => "video/mp4",
        }
    }

    pub fn is_decision_format(self) -> bool {
        MediaType::DECISION.contains(&self)
    }

    pub fn is_evidence_format(self) -> bool {
        MediaType::EVIDENCE.contains(&self)
    }

    /// The type of a media type string, parameters ignored, case-insensitive.
    pub fn parse(s: &str) -> Option<MediaType> {
        MediaType::parse_declared(s).map(|(t, _)| t)
    }

    /// The type and the `charset` parameter of a declared media type (`text/plain; charset=gbk`).
    /// The one alias accepted is `image/jpg`, which cameras and old systems write.
    pub fn parse_declared(s: &str) -> Option<(MediaType, Option<&str>)> {
        let mut parts = s.split(';');
        let essence = parts.next()?.trim();
        let media_type = MediaType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(essence))
            .or_else(|| {
                essence
                    .eq_ignore_ascii_case("image/jpg")
                    .then_some(MediaType::Jpeg)
            })?;
        let charset = parts.find_map(|p| {
            let (key, value) = p.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"'))
        });
        Some((media_type, charset))
    }

    /// What the bytes are, by their magic numbers; `None` for anything else (including a zip
    /// that is not a DOCX, and binary data that is no text).
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(b"PK\x03\x04") {
            return is_docx(bytes).then_some(MediaType::Docx);
        }
        if bytes.starts_with(b"%PDF-") {
            return Some(MediaType::Pdf);
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(MediaType::Jpeg);
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(MediaType::Png);
        }
        if is_mp4(bytes) {
            return Some(MediaType::Mp4);
        }
        if is_html(bytes) {
            return Some(MediaType::Html);
        }
        // Text has no magic number: text is what has no NUL byte (UTF-16 has them, but starts
        // with a byte-order mark).
        let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
        (utf16 || !bytes.contains(&0)).then_some(MediaType::Text)
    }
}

impl std::fmt::Display for MediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MediaType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MediaType, D::Error> {
        let s = String::deserialize(d)?;
        MediaType::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown media type `{s}`: use one of {}",
                MediaType::ALL.map(|t| t.as_str()).join(", ")
            ))
        })
    }
}

/// A zip whose central directory lists `word/document.xml`. Reading the directory only, not the
/// entries: a zip bomb does no harm here.
fn is_docx(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes))
        .map(|z| z.index_for_name("word/document.xml").is_some())
        .unwrap_or(false)
}

/// ISO base media: a first box `ftyp` with a sane size.
fn is_mp4(bytes: &[u8]) -> bool {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    (8..=4096).contains(&size)
}

/// Markup that opens like an HTML page, after a byte-order mark, whitespace and comments.
fn is_html(bytes: &[u8]) -> bool {
    let mut rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    loop {
        rest = trim_ascii_start(rest);
        if let Some(after) = rest.strip_prefix(b"<!--") {
            match after.windows(3).position(|w| w == b"-->") {
                Some(end) => rest = &after[end + 3..],
                None => return false,
            }
            continue;
        }
        break;
    }
    const OPENINGS: [&[u8]; 4] = [b"<!doctype html", b"<html", b"<head", b"<body"];
    OPENINGS.iter().any(|o| {
        rest.len() >= o.len()
            && rest[..o.len()].eq_ignore_ascii_case(o)
            && rest
                .get(o.len())
                .is_none_or(|c| c.is_ascii_whitespace() || *c == b'>')
    })
}

fn trim_ascii_start(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_declared_types_with_charset() {
        assert_eq!(
            MediaType::parse_declared("Text/Plain; charset=\"GBK\""),
            Some((MediaType::Text, Some("GBK")))
        );
        assert_eq!(MediaType::parse("application/pdf"), Some(MediaType::Pdf));
        assert_eq!(MediaType::parse("image/jpg"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::parse("application/msword"), None);
        for t in MediaType::ALL {
            assert_eq!(MediaType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.as_str())
            );
        }
    }

    #[test]
    fn sniffs_magic_numbers() {
        assert_eq!(MediaType::sniff(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        assert_eq!(
            MediaType::sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(MediaType::Png)
        );
        assert_eq!(
            MediaType::sniff(b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom"),
            Some(MediaType::Mp4)
        );
        assert_eq!(
            MediaType::sniff(b"\xEF\xBB\xBF <!-- x --> <!DOCTYPE html><html>"),
            Some(MediaType::Html)
        );
        assert_eq!(MediaType::sniff(b"<HTML lang=zh>"), Some(MediaType::Html));
        assert_eq!(MediaType::sniff(b"<htmlx>"), Some(MediaType::Text));
        assert_eq!(
            MediaType::sniff("当事人：张三".as_bytes()),
            Some(MediaType::Text)
        );
        assert_eq!(MediaType::sniff(b"\x01\x02\0\x03"), None);
        // A zip that is not a DOCX (no word/document.xml), and a broken zip.
        assert_eq!(MediaType::sniff(b"PK\x03\x04garbage"), None);
    }
}
