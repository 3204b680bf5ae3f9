//! Fetching the documents a record names (its mapping's `[[documents]]`, issue 11): a file beside
//! the export (folder kinds) or under `documents_dir` (a `sql` path column), a URL on the API's own
//! origin (`http_pull`), or base64 in the record (`http_push`, `kafka`, JSON exports). The bytes go
//! to the pipeline with the record ([`Attachment`]); the hub checks them against the source's size
//! and type limits. A document that cannot be fetched is an [`Attachment`] with a reason, so the
//! record's other parts still go on.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use dhub_mapping::{DocumentRef, Locator};
use dhub_schema::intake::Attachment;

/// No document is read past this, whatever the source's own limit (which the hub checks): the
/// largest evidence video the hub takes (`EvidenceLimits::max_video_bytes`).
pub const FETCH_CAP_BYTES: u64 = 512 * 1024 * 1024;

/// How a source fetches the documents its records name.
pub trait DocumentFetch: Send + Sync {
    /// The document's bytes, or a reason that names the entry and the locator, never the value.
    fn fetch(&self, document: &DocumentRef) -> Result<Vec<u8>, String>;
}

/// Files under one folder and base64 in the record; no URLs. `dir: None` (a source that has no
/// files: `http_push`, `kafka`) takes base64 only.
pub struct LocalDocuments {
    pub dir: Option<PathBuf>,
}

impl DocumentFetch for LocalDocuments {
    fn fetch(&self, document: &DocumentRef) -> Result<Vec<u8>, String> {
        match document.locator {
            Locator::Base64 => decode_base64(&document.value),
            Locator::File => match &self.dir {
                Some(dir) => read_beside(dir, &document.value),
                None => Err("this kind of source has no folder to read a document file from; send it as base64".into()),
            },
            Locator::Url => Err(
                "only an http_pull source fetches documents by URL".into(),
            ),
        }
    }
}

/// The label of a document in reasons: its `[[documents]]` entry and locator.
pub fn label(document: &DocumentRef) -> String {
    format!("documents[{}] ({})", document.entry, document.locator.as_str())
}

/// Every document `refs` names, fetched.
pub fn attachments(refs: &[DocumentRef], fetch: &dyn DocumentFetch) -> Vec<Attachment> {
    refs.iter()
        .map(|document| Attachment {
            kind: document.kind,
            media_type: document.media_type.clone(),
            label: label(document),
            content: fetch
                .fetch(document)
                .map(Arc::new)
                .map_err(|reason| format!("{}: {reason}", label(document))),
        })
        .collect()
}

/// Base64 (standard alphabet, padding optional, whitespace such as line breaks ignored).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() as u64 / 4 * 3 > FETCH_CAP_BYTES {
        return Err(format!("over {FETCH_CAP_BYTES} bytes"));
    }
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(compact.trim_end_matches('='))
        .map_err(|error| format!("not valid base64: {error}"))
}

/// A file named relative to `dir`: a plain relative path (no `..`, not absolute), so a record can
/// never make the hub read a file outside the folder it was given.
pub fn read_beside(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let relative = Path::new(name.trim());
    let plain = relative.components().count() > 0
        && relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    if !plain {
        return Err("the file name must be a relative path inside the source's folder (no `..`, not absolute)".into());
    }
    let path = dir.join(relative);
    let file = std::fs::File::open(&path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => "no such file beside the export".to_string(),
        _ => format!("cannot be read: {error}"),
    })?;
    let metadata = file
        .metadata()
        .map_err(|error| format!("cannot be read: {error}"))?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.len() > FETCH_CAP_BYTES {
        return Err(format!("{} bytes, over {FETCH_CAP_BYTES}", metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(FETCH_CAP_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot be read: {error}"))?;
    if bytes.len() as u64 > FETCH_CAP_BYTES {
        return Err(format!("over {FETCH_CAP_BYTES} bytes"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(locator: Locator, value: &str) -> DocumentRef {
        DocumentRef {
            kind: "decision",
            locator,
            value: value.into(),
            media_type: None,
            entry: 1,
        }
    }

    #[test]
    fn files_are_read_only_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/a.txt"), "决定书").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        let inner = LocalDocuments {
            dir: Some(dir.path().join("docs")),
        };
        assert_eq!(
            inner.fetch(&reference(Locator::File, "a.txt")).unwrap(),
            "决定书".as_bytes()
        );
        for outside in ["../secret.txt", "/etc/passwd", "", "./../secret.txt"] {
            let error = inner.fetch(&reference(Locator::File, outside)).unwrap_err();
            assert!(error.contains("relative path inside"), "{outside}: {error}");
        }
        let missing = inner.fetch(&reference(Locator::File, "b.pdf")).unwrap_err();
        assert_eq!(missing, "no such file beside the export");
    }

    #[test]
    fn base64_is_decoded_and_urls_are_refused_outside_http_pull() {
        let none = LocalDocuments { dir: None };
        assert_eq!(
            none.fetch(&reference(Locator::Base64, "5Yaz5a6a\n5Lmm")).unwrap(),
            "决定书".as_bytes()
        );
        assert!(none
            .fetch(&reference(Locator::Base64, "not base64!"))
            .unwrap_err()
            .starts_with("not valid base64"));
        assert!(none.fetch(&reference(Locator::File, "a.pdf")).is_err());
        assert!(none.fetch(&reference(Locator::Url, "http://x/a")).is_err());
        let attachments = attachments(&[reference(Locator::Url, "http://x/a")], &none);
        let reason = attachments[0].content.as_ref().unwrap_err();
        assert!(reason.starts_with("documents[1] (url): "), "{reason}");
        assert!(!reason.contains("http://x"), "the value is never in the reason");
    }
}
