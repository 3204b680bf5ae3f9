//! `[[documents]]`: the decision document and evidence attachments a mapping names per record
//! (issue 11). A mapping only says *where* the bytes are — a file beside the export or a path
//! column (`file`), a URL (`url`), or the bytes themselves in base64 (`base64`) — and what they
//! are (`kind`, optional `media_type`); the source fetches them and the hub checks, stores and
//! redacts them.
//!
//! ```toml
//! [[documents]]
//! kind = "decision"              # decision | evidence
//! file = "DecisionFile"          # a path of the record: the file's name beside the export
//! media_type = "application/pdf" # optional; else taken from `media_type_path`, else sniffed
//!
//! [[documents]]
//! kind = "evidence"
//! base64 = "/证据/内容"          # exactly one of file, url, base64
//! media_type_path = "/证据/类型"
//! ```

use crate::plan::Source;
use crate::record::SourceRecord;

/// Where a document's bytes are, as the mapping names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// A file name or path: beside the export file (folder sources) or under the source's
    /// `documents_dir` (a `sql` path column).
    File,
    /// An `http(s)` URL the source fetches (`http_pull`).
    Url,
    /// The bytes themselves, base64-encoded in the record (`http_push`, JSON exports).
    Base64,
}

impl Locator {
    pub const fn as_str(self) -> &'static str {
        match self {
            Locator::File => "file",
            Locator::Url => "url",
            Locator::Base64 => "base64",
        }
    }
}

/// The two kinds of documents (CONTRACT §4).
pub const DOCUMENT_KINDS: [&str; 2] = ["decision", "evidence"];

/// One compiled `[[documents]]` entry.
#[derive(Debug)]
pub(crate) struct DocumentRule {
    pub kind: &'static str,
    pub locator: Locator,
    pub source: Source,
    pub media_type: Option<String>,
    pub media_type_source: Option<Source>,
}

/// A document a record names: kind, where its bytes are, and the declared media type if any.
/// `value` is a file name, a URL or base64 text, never shown in errors or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentRef {
    pub kind: &'static str,
    pub locator: Locator,
    pub value: String,
    pub media_type: Option<String>,
    /// Which `[[documents]]` entry (from 1) named it, for errors.
    pub entry: usize,
}

impl std::fmt::Debug for DocumentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value may be a whole document in base64, or a path naming a person: not shown.
        f.debug_struct("DocumentRef")
            .field("kind", &self.kind)
            .field("locator", &self.locator)
            .field("media_type", &self.media_type)
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

impl DocumentRule {
    /// Every document this rule finds in `record`: one per value of its path (several evidence
    /// photos), none when the path is absent.
    pub(crate) fn refs(
        &self,
        record: &SourceRecord,
        entry: usize,
    ) -> Result<Vec<DocumentRef>, String> {
        let values = self.source.texts(record)?;
        let media_type = match (&self.media_type, &self.media_type_source) {
            (Some(constant), _) => Some(constant.clone()),
            (None, Some(source)) => source.texts(record)?.into_iter().next(),
            (None, None) => None,
        };
        Ok(values
            .into_iter()
            .map(|value| DocumentRef {
                kind: self.kind,
                locator: self.locator,
                value,
                media_type: media_type.clone(),
                entry,
            })
            .collect())
    }
}
