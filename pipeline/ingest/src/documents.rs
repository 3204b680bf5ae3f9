//! Decision documents and evidence on a record (issue 11, CONTRACT §4 `documents`): the
//! attachments a source fetched are checked against the source's limits (size, media types), the
//! decision's text is extracted once and its public version (公开版) made per platform policy with
//! the record's own fields, evidence is checked by its magic bytes; the bytes go to the
//! content-addressed document store before the transaction, and each upsert names them by
//! descriptor. A feed never gets an original; evidence only under a policy that allows it
//! (`[documents] evidence = true`, the built-in `government`).
//!
//! A decision without a text layer (a scan) cannot be redacted: its record is held with that
//! reason. Any other refused attachment (too large, a type the source may not send, unreadable) is
//! reported and left out; the record goes on.

use std::collections::{BTreeMap, HashMap};

use dhub_documents::{
    extract, public_version, DocumentDescriptor, DocumentLimits, DocumentStore, Evidence,
    EvidenceLimits, ExtractError, MediaType, PublicOutcome, PublicVersion,
};
use dhub_redaction::Policy;
use dhub_schema::intake::Attachment;
use serde_json::Value;

/// What the hub does with documents: where it keeps them, the address platforms fetch them from,
/// and each source's limits.
pub struct DocumentSettings {
    pub store: DocumentStore,
    /// The hub's own address as platforms reach it (`http://hub:9464`); descriptors carry
    /// `<base_url>/documents/<sha256>`.
    pub base_url: String,
    /// Limits by source name; a source not listed gets the defaults.
    pub limits: HashMap<String, SourceDocumentLimits>,
}

/// A source's limits on the documents its records bring (`[[source]] documents = {…}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDocumentLimits {
    /// Largest attachment, decision or evidence, in bytes (default 20 MiB).
    pub max_bytes: u64,
    /// Media types the source may send (default: every type the hub reads).
    pub media_types: Vec<MediaType>,
}

impl Default for SourceDocumentLimits {
    fn default() -> Self {
        SourceDocumentLimits {
            max_bytes: 20 * 1024 * 1024,
            media_types: MediaType::ALL.to_vec(),
        }
    }
}

impl DocumentSettings {
    fn limits_of(&self, source: &str) -> SourceDocumentLimits {
        self.limits.get(source).cloned().unwrap_or_default()
    }
}

/// A record's documents once checked: public versions by policy name, evidence, and what was
/// refused (reasons naming the attachment and the limit, never content).
#[derive(Default)]
pub(crate) struct CheckedDocuments {
    pub public: BTreeMap<String, Vec<PublicVersion>>,
    pub evidence: Vec<Evidence>,
    pub refused: Vec<String>,
    /// SHA-256 of every accepted original, in order: part of the record's content hash, so a
    /// changed document is a new version.
    pub originals: Vec<String>,
}

/// The stored documents of a record: descriptors by policy name, and the evidence descriptors.
#[derive(Default)]
pub(crate) struct StoredDocuments {
    pub public: BTreeMap<String, Vec<DocumentDescriptor>>,
    pub evidence: Vec<DocumentDescriptor>,
}

impl StoredDocuments {
    /// What an upsert under `policy` names: the decision's public version under that policy, and
    /// evidence only if the policy allows it.
    pub fn for_policy(&self, policy: &Policy) -> Vec<DocumentDescriptor> {
        let mut documents = self.public.get(policy.name()).cloned().unwrap_or_default();
        if policy.allows_evidence() {
            documents.extend(self.evidence.iter().cloned());
        }
        documents
    }
}

/// Checks a record's attachments and makes the decision's public versions under `policies` (the
/// policies that publish the record). `Err` is the reason to hold the record (a decision without
/// a text layer).
pub(crate) fn check_documents(
    settings: &DocumentSettings,
    source: &str,
    attachments: &[Attachment],
    record_json: &Value,
    policies: &[&Policy],
) -> Result<CheckedDocuments, String> {
    let limits = settings.limits_of(source);
    let mut checked = CheckedDocuments::default();
    for attachment in attachments {
        let bytes = match &attachment.content {
            Ok(bytes) => bytes,
            Err(reason) => {
                checked.refused.push(reason.clone());
                continue;
            }
        };
        let label = &attachment.label;
        if bytes.len() as u64 > limits.max_bytes {
            checked.refused.push(format!(
                "{label}: {} bytes, over the source's limit of {} bytes (documents.max_bytes)",
                bytes.len(),
                limits.max_bytes
            ));
            continue;
        }
        let declared = attachment.media_type.as_deref();
        let media_type = declared
            .and_then(|d| MediaType::parse_declared(d).map(|(t, _)| t))
            .or_else(|| MediaType::sniff(bytes));
        let Some(media_type) = media_type else {
            checked.refused.push(format!(
                "{label}: the bytes are of no type the hub reads (declare a media type)"
            ));
            continue;
        };
        if !limits.media_types.contains(&media_type) {
            checked.refused.push(format!(
                "{label}: {media_type} is not a type this source may send (documents.media_types)"
            ));
            continue;
        }
        if attachment.kind == "evidence" {
            let evidence_limits = EvidenceLimits {
                max_image_bytes: limits.max_bytes,
                max_video_bytes: limits.max_bytes,
            };
            match Evidence::check(bytes.to_vec(), media_type.as_str(), &evidence_limits) {
                Ok(evidence) => {
                    checked.originals.push(evidence.sha256().to_string());
                    checked.evidence.push(evidence);
                }
                Err(error) => checked.refused.push(format!("{label}: {error}")),
            }
            continue;
        }
        let document_limits = DocumentLimits {
            max_bytes: limits.max_bytes,
            allowed: limits
                .media_types
                .iter()
                .copied()
                .filter(|t| t.is_decision_format())
                .collect(),
            ..DocumentLimits::default()
        };
        let extracted = match extract(bytes, declared, &document_limits) {
            Ok(extracted) => extracted,
            Err(ExtractError::NoTextLayer) => {
                return Err(format!("{label}: {}", ExtractError::NoTextLayer));
            }
            Err(error) => {
                checked.refused.push(format!("{label}: {error}"));
                continue;
            }
        };
        checked.originals.push(dhub_documents::sha256_hex(bytes));
        for policy in policies {
            if let PublicOutcome::Published(public) =
                public_version(&extracted, Some(record_json), policy)
            {
                checked
                    .public
                    .entry(policy.name().to_string())
                    .or_default()
                    .push(public);
            }
        }
    }
    Ok(checked)
}

/// Puts a record's checked documents into the store (idempotent: content-addressed).
pub(crate) async fn store_documents(
    settings: &DocumentSettings,
    checked: &CheckedDocuments,
) -> Result<StoredDocuments, dhub_documents::StoreError> {
    let mut stored = StoredDocuments::default();
    for (policy, versions) in &checked.public {
        for version in versions {
            let descriptor = settings
                .store
                .put_public_version(version, &settings.base_url)
                .await?;
            stored.public.entry(policy.clone()).or_default().push(descriptor);
        }
    }
    for evidence in &checked.evidence {
        stored
            .evidence
            .push(settings.store.put_evidence(evidence, &settings.base_url).await?);
    }
    Ok(stored)
}
