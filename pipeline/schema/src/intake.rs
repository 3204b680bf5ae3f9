//! The seam between connectors and the pipeline. A connector reads a department system, maps what it
//! reads, and hands each batch of records to an [`IntakeSink`]; the sink validates, versions, redacts,
//! routes and stores them, and answers with an [`ItemOutcome`] per record. Connectors depend on this
//! module, never on the hub that implements the sink.

use std::fmt;
use std::sync::Arc;

use futures_core::future::BoxFuture;

/// Where one record came from, in the terms of its source system. Stored with the record version and
/// quarantine entries, shown by `dhub trace`, named in every error about the record. Never holds record
/// content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of an export file (XML, CSV, XLSX row, JSONL line).
    File { path: String, line: u64 },
    /// A row of a department database, by table (or `query`) and its key.
    Row { table: String, key: String },
    /// A message of a Kafka topic.
    Message {
        topic: String,
        partition: i32,
        offset: i64,
    },
    /// The `index`-th record (from 1) of an HTTP request the hub received (`http_push`) or fetched
    /// (`http_pull`, where `request` names the page).
    Request { request: String, index: usize },
    /// Written by an operator's command (`dhub retract`, a replay).
    Command { name: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Row { table, key } => write!(f, "{table}[{key}]"),
            Origin::Message {
                topic,
                partition,
                offset,
            } => write!(f, "{topic}/{partition}@{offset}"),
            Origin::Request { request, index } => write!(f, "{request}#{index}"),
            Origin::Command { name } => f.write_str(name),
        }
    }
}

/// The source record as it arrived, materialized as text only when it must be kept (a record that
/// goes to quarantine keeps it for a replay after a fix); the common path never copies it.
pub trait RawSource: Send + Sync {
    /// The record as one line of text the source's mapping can read back.
    fn raw_text(&self) -> String;

    /// The documents the record came with (its mapping's `[[documents]]`), fetched by the source.
    fn attachments(&self) -> &[Attachment] {
        &[]
    }
}

/// A document a record came with (issue 11): its decision document or an evidence attachment, as
/// the source fetched it, or why it could not be fetched. The hub checks its size and type against
/// the source's limits, stores it and makes the public version; a refused attachment never stops
/// the record's other parts.
#[derive(Clone)]
pub struct Attachment {
    /// `decision` or `evidence`.
    pub kind: &'static str,
    /// As the mapping or the record declared it; `None`: sniffed from the bytes.
    pub media_type: Option<String>,
    /// Names it in reasons (`documents[1] (file)`), never its content or name.
    pub label: String,
    pub content: Result<Arc<Vec<u8>>, String>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("kind", &self.kind)
            .field("media_type", &self.media_type)
            .field("label", &self.label)
            .field("size", &self.content.as_ref().map(|b| b.len()))
            .finish()
    }
}

impl RawSource for String {
    fn raw_text(&self) -> String {
        self.clone()
    }
}

/// A shared handle on a [`RawSource`].
pub type Raw = Arc<dyn RawSource>;

/// One record as a connector hands it over.
#[derive(Clone)]
pub enum Intake {
    /// The mapping produced a record (not yet validated).
    Mapped {
        value: serde_json::Value,
        origin: Origin,
        raw: Raw,
    },
    /// The mapping failed; the reason names the field, and `raw` keeps the source record for replay.
    Unmapped {
        origin: Origin,
        record_id: Option<String>,
        reason: String,
        raw: Raw,
    },
    /// The source document could not be read at all (a Kafka message that is not JSON, or over the
    /// source's size limit): held at the document stage. Sources whose documents are files set such a
    /// file aside in `failed/` instead; a message cannot be set aside, so it is held here, and its
    /// partition goes on. `raw` is what is worth keeping of it (never more than the source's limit).
    Unreadable {
        origin: Origin,
        reason: String,
        raw: Raw,
    },
}

impl Intake {
    pub fn origin(&self) -> &Origin {
        match self {
            Intake::Mapped { origin, .. }
            | Intake::Unmapped { origin, .. }
            | Intake::Unreadable { origin, .. } => origin,
        }
    }
}

/// Where a source stands after a batch: stored with the batch's records in one transaction, read
/// back at start. Sources with partitions (Kafka) keep one position per partition (`scope`); the
/// others use the empty scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub scope: String,
    pub value: String,
}

impl Position {
    /// A position of a source without partitions.
    pub fn whole(value: impl Into<String>) -> Position {
        Position {
            scope: String::new(),
            value: value.into(),
        }
    }
}

/// The records of one source document (a file, an HTTP request, a poll, a run of messages), stored
/// all or nothing.
#[derive(Clone)]
pub struct IntakeBatch {
    pub source: String,
    pub mapping_name: String,
    pub mapping_version: String,
    pub items: Vec<Intake>,
    /// Where the source stands after this batch (a file name, a cursor, offsets).
    pub positions: Vec<Position>,
    /// How old the batch's document is, for records whose mapping gives no source stamp
    /// ([`crate::stamp::export_stamp`], [`crate::stamp::file_stamp`]); `None` where the source has
    /// no such time (rows, messages, requests: they arrive in the order they were made).
    pub exported: Option<String>,
}

/// The pipeline stage that held a record back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldStage {
    /// The source document could not be read (bad XML, encoding, …).
    Document,
    /// The mapping failed on the record.
    Mapping,
    /// The normalized record broke a `disclosure.v1` rule.
    Validation,
    /// The redaction policy withholds the record (secret, minor, unreviewed major decision).
    Redaction,
    /// The source may not submit this record (another agency or division: `agencies`, `division`).
    Constraint,
    /// Older than what is already stored (a resent old export).
    Stale,
}

impl HoldStage {
    pub const ALL: [HoldStage; 6] = [
        HoldStage::Document,
        HoldStage::Mapping,
        HoldStage::Validation,
        HoldStage::Redaction,
        HoldStage::Constraint,
        HoldStage::Stale,
    ];

    /// The text stored and shown (`dhub quarantine list`, metric label `stage`).
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStage::Document => "document",
            HoldStage::Mapping => "mapping",
            HoldStage::Validation => "validation",
            HoldStage::Redaction => "redaction",
            HoldStage::Constraint => "constraint",
            HoldStage::Stale => "stale",
        }
    }

    pub fn parse(text: &str) -> Option<HoldStage> {
        HoldStage::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for HoldStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the sink did with one item of a batch, in the batch's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Stored as a new version.
    Accepted { record_id: String, version: i64 },
    /// Identical to the stored version: nothing new to publish.
    Unchanged { record_id: String },
    /// Held in quarantine; `reason` names fields and rules, never values.
    Quarantined {
        record_id: Option<String>,
        stage: HoldStage,
        reason: String,
    },
}

impl ItemOutcome {
    /// Whether the item was taken (stored, or already stored).
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            ItemOutcome::Accepted { .. } | ItemOutcome::Unchanged { .. }
        )
    }
}

/// What the sink did with a batch: one outcome per item, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntakeReport {
    pub outcomes: Vec<ItemOutcome>,
}

impl IntakeReport {
    pub fn accepted(&self) -> usize {
        self.count(|o| matches!(o, ItemOutcome::Accepted { .. }))
    }

    pub fn unchanged(&self) -> usize {
        self.count(|o| matches!(o, ItemOutcome::Unchanged { .. }))
    }

    pub fn quarantined(&self) -> usize {
        self.count(|o| matches!(o, ItemOutcome::Quarantined { .. }))
    }

    fn count(&self, wanted: impl Fn(&ItemOutcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| wanted(o)).count()
    }
}

/// A failure to store a batch. Nothing of the batch was stored; `retryable` says whether trying again
/// later can help (a database that is down) or not (a bug, a constraint).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct IntakeError {
    pub message: String,
    pub retryable: bool,
}

/// Where connectors deliver records. `submit` returns once the batch is durably stored: only then may a
/// connector acknowledge its source (move the file to `done/`, answer 202, commit the offset). The
/// batch is shared, not moved, so a connector can submit it again after a retryable failure without
/// copying it.
pub trait IntakeSink: Send + Sync + 'static {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>>;

    /// Where `source` stands now: every position stored with its batches, read afresh. A source whose
    /// parts can move between instances (Kafka partitions in a consumer group) reads it each time it
    /// is handed a part, since another instance may have stored batches of it since this one started.
    /// A sink that keeps no positions says so with a non-retryable error.
    fn positions<'a>(
        &'a self,
        source: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Position>, IntakeError>> {
        Box::pin(async move {
            Err(IntakeError {
                message: format!("this sink keeps no positions for source `{source}`"),
                retryable: false,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_read_as_their_source_system_writes_them() {
        let shown: Vec<String> = [
            Origin::File {
                path: "in/a.xml".into(),
                line: 12,
            },
            Origin::Row {
                table: "enforcement_cases".into(),
                key: "CF-1".into(),
            },
            Origin::Message {
                topic: "dept.cases".into(),
                partition: 2,
                offset: 41,
            },
            Origin::Request {
                request: "POST /ingest/oa 7f3a".into(),
                index: 3,
            },
            Origin::Command {
                name: "dhub retract".into(),
            },
        ]
        .iter()
        .map(Origin::to_string)
        .collect();
        assert_eq!(
            shown,
            [
                "in/a.xml:12",
                "enforcement_cases[CF-1]",
                "dept.cases/2@41",
                "POST /ingest/oa 7f3a#3",
                "dhub retract"
            ]
        );
    }

    #[test]
    fn stages_parse_back() {
        for stage in HoldStage::ALL {
            assert_eq!(HoldStage::parse(stage.as_str()), Some(stage));
        }
        assert_eq!(HoldStage::parse("bogus"), None);
    }

    #[test]
    fn a_report_counts_its_outcomes() {
        let report = IntakeReport {
            outcomes: vec![
                ItemOutcome::Accepted {
                    record_id: "a:1".into(),
                    version: 1,
                },
                ItemOutcome::Unchanged {
                    record_id: "a:2".into(),
                },
                ItemOutcome::Quarantined {
                    record_id: None,
                    stage: HoldStage::Mapping,
                    reason: "key: missing".into(),
                },
            ],
        };
        assert_eq!(
            (report.accepted(), report.unchanged(), report.quarantined()),
            (1, 1, 1)
        );
        assert!(report.outcomes[1].is_accepted());
        assert!(!report.outcomes[2].is_accepted());
    }
}
