//! What an upsert says about a document (CONTRACT §4), and evidence attachments.
//!
//! `{"kind": "decision"|"evidence", "media_type", "sha256", "size", "url"}`: the bytes are fetched
//! from `url` (the hub's `GET /documents/{sha256}`) and checked against `sha256`. A descriptor of a
//! decision is only made from a [`PublicVersion`], and one of evidence only from checked
//! [`Evidence`]: there is no constructor that takes arbitrary bytes, so an original decision cannot
//! be described to a feed by mistake.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{MediaType, PublicVersion};

/// The two kinds of document an upsert may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The decision's public version (公开版).
    Decision,
    /// Photos and videos of the case, only on feeds whose policy allows them.
    Evidence,
}

/// One entry of an upsert's `documents` list, serialized exactly as CONTRACT §4 shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDescriptor {
    kind: DocumentKind,
    media_type: MediaType,
    sha256: String,
    size: u64,
    url: String,
}

impl DocumentDescriptor {
    /// The descriptor of a public version, served at `{base_url}/documents/{sha256}`.
    pub fn public_version(version: &PublicVersion, base_url: &str) -> DocumentDescriptor {
        DocumentDescriptor {
            kind: DocumentKind::Decision,
            media_type: version.media_type(),
            sha256: version.sha256().to_string(),
            size: version.size(),
            url: document_url(base_url, version.sha256()),
        }
    }

    /// The descriptor of a piece of evidence, served at `{base_url}/documents/{sha256}`.
    pub fn evidence(evidence: &Evidence, base_url: &str) -> DocumentDescriptor {
        DocumentDescriptor {
            kind: DocumentKind::Evidence,
            media_type: evidence.media_type,
            sha256: evidence.sha256.clone(),
            size: evidence.bytes.len() as u64,
            url: document_url(base_url, &evidence.sha256),
        }
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether fetched bytes are the ones described (size and SHA-256): what a platform checks.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        bytes.len() as u64 == self.size && sha256_hex(bytes) == self.sha256
    }
}

/// `https://hub.example/` + `abc…` → `https://hub.example/documents/abc…`.
pub fn document_url(base_url: &str, sha256: &str) -> String {
    format!("{}/documents/{sha256}", base_url.trim_end_matches('/'))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Size limits of evidence; the config's `[documents.evidence]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceLimits {
    /// Largest photo, in bytes (default 20 MiB).
    pub max_image_bytes: u64,
    /// Largest video, in bytes (default 512 MiB; a few minutes of a body camera).
    pub max_video_bytes: u64,
}

impl Default for EvidenceLimits {
    fn default() -> Self {
        EvidenceLimits {
            max_image_bytes: 20 * 1024 * 1024,
            max_video_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Why an evidence attachment is refused. A retry cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence must be declared as image/jpeg, image/png or video/mp4")]
    NotEvidenceType,
    #[error(
        "declared as {declared} but the bytes are {sniffed}: fix the media type the source sends"
    )]
    Mismatch {
        declared: MediaType,
        sniffed: String,
    },
    #[error("the evidence is {size} bytes, over the limit {limit_name} = {limit}")]
    TooLarge {
        size: u64,
        limit: u64,
        limit_name: &'static str,
    },
}

/// An evidence attachment whose bytes are what they claim to be and within the limits. Stored as
/// it is (no re-encoding: evidence stays evidence), including any metadata the camera wrote.
#[derive(Clone, PartialEq, Eq)]
pub struct Evidence {
    bytes: Vec<u8>,
    media_type: MediaType,
    sha256: String,
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evidence")
            .field("media_type", &self.media_type)
            .field("sha256", &self.sha256)
            .field("size", &self.bytes.len())
            .finish()
    }
}

impl Evidence {
    /// Checks the magic bytes against the declared type, and the size against the limits.
    pub fn check(
        bytes: Vec<u8>,
        declared: &str,
        limits: &EvidenceLimits,
    ) -> Result<Evidence, EvidenceError> {
        let declared = MediaType::parse(declared)
            .filter(|t| t.is_evidence_format())
            .ok_or(EvidenceError::NotEvidenceType)?;
        let sniffed = MediaType::sniff(&bytes);
        if sniffed != Some(declared) {
            return Err(EvidenceError::Mismatch {
                declared,
                sniffed: sniffed.map_or("of no known type".to_string(), |t| t.to_string()),
            });
        }
        let (limit, limit_name) = match declared {
            MediaType::Mp4 => (limits.max_video_bytes, "max_video_bytes"),
            _ => (limits.max_image_bytes, "max_image_bytes"),
        };
        let size = bytes.len() as u64;
        if size > limit {
            return Err(EvidenceError::TooLarge {
                size,
                limit,
                limit_name,
            });
        }
        let sha256 = sha256_hex(&bytes);
        Ok(Evidence {
            bytes,
            media_type: declared,
            sha256,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

    #[test]
    fn evidence_descriptor_serializes_as_the_contract_shows() {
        let e = Evidence::check(PNG.to_vec(), "image/png", &EvidenceLimits::default()).unwrap();
        let d = DocumentDescriptor::evidence(&e, "http://127.0.0.1:9464/");
        let json = serde_json::to_string(&d).unwrap();
        let sha = sha256_hex(PNG);
        assert_eq!(
            json,
            format!(
                r#"{{"kind":"evidence","media_type":"image/png","sha256":"{sha}","size":{},"url":"http://127.0.0.1:9464/documents/{sha}"}}"#,
                PNG.len()
            )
        );
        let back: DocumentDescriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert!(d.matches(PNG));
        assert!(!d.matches(b"other"));
    }

    #[test]
    fn evidence_type_is_checked_by_magic_bytes() {
        let limits = EvidenceLimits::default();
        let err = Evidence::check(PNG.to_vec(), "image/jpeg", &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "declared as image/jpeg but the bytes are image/png: fix the media type the source sends"
        );
        assert_eq!(
            Evidence::check(b"%PDF-1.7".to_vec(), "application/pdf", &limits).unwrap_err(),
            EvidenceError::NotEvidenceType
        );
        let mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
        assert!(Evidence::check(mp4.clone(), "video/mp4", &limits).is_ok());
        let small = EvidenceLimits {
            max_video_bytes: 10,
            ..limits
        };
        let err = Evidence::check(mp4, "video/mp4", &small).unwrap_err();
        assert!(err.to_string().contains("max_video_bytes = 10"), "{err}");
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
        assert!(Evidence::check(jpeg, "image/jpg", &limits).is_ok());
    }
}
