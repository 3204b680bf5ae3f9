//! Mapped source records → intake items, the same for every kind of source.

use std::sync::Arc;

use dhub_mapping::{MapContext, Mapping, SourceRecord};
use dhub_schema::intake::{Attachment, Intake, Origin, RawSource};

use crate::documents::{attachments, DocumentFetch, LocalDocuments};

/// A source record kept as it was read: its raw text is only written out if the record has to be held
/// in quarantine (for a replay after a fix); with the documents it named, fetched.
struct KeptRecord(SourceRecord, Vec<Attachment>);

impl RawSource for KeptRecord {
    fn raw_text(&self) -> String {
        self.0.raw_text()
    }

    fn attachments(&self) -> &[Attachment] {
        &self.1
    }
}

/// The context a mapping needs: the source's name and the time of the fetch.
pub fn map_context(source: &str) -> MapContext {
    MapContext {
        source_name: source.to_string(),
        fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Maps one source record into what the sink takes: the mapped record, or the mapping failure with the
/// raw record kept for a replay after the mapping is fixed.
pub fn to_intake(
    mapping: &Mapping,
    source: &str,
    record: SourceRecord,
    origin: Origin,
    context: &MapContext,
) -> Intake {
    to_intake_with(
        mapping,
        source,
        record,
        origin,
        context,
        &LocalDocuments { dir: None },
    )
}

/// [`to_intake`], with the documents the record names (`[[documents]]`) fetched by `fetch`.
pub fn to_intake_with(
    mapping: &Mapping,
    source: &str,
    record: SourceRecord,
    origin: Origin,
    context: &MapContext,
    fetch: &dyn DocumentFetch,
) -> Intake {
    let documents = if mapping.has_documents() {
        mapping.documents(&record)
    } else {
        Ok(Vec::new())
    };
    match (mapping.apply(&record, context), documents) {
        (Ok(value), Ok(documents)) => {
            let fetched = attachments(&documents, fetch);
            Intake::Mapped {
                value,
                origin,
                raw: Arc::new(KeptRecord(record, fetched)),
            }
        }
        (Ok(value), Err(error)) => Intake::Unmapped {
            origin,
            record_id: value
                .get("record_id")
                .and_then(|id| id.as_str())
                .map(str::to_string),
            reason: format!("{}: {}", error.field, error.message),
            raw: Arc::new(KeptRecord(record, Vec::new())),
        },
        (Err(error), _) => Intake::Unmapped {
            origin,
            record_id: error
                .source_key
                .as_ref()
                .map(|key| format!("{source}:{key}")),
            reason: format!("{}: {}", error.field, error.message),
            raw: Arc::new(KeptRecord(record, Vec::new())),
        },
    }
}

/// The origin of a record read from a file: the file and the record's line.
pub fn file_origin(record: &SourceRecord) -> Origin {
    Origin::File {
        path: record.origin().to_string(),
        line: record.line(),
    }
}
