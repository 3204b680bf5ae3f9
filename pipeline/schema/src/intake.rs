//! The seam between connectors and the pipeline. A connector reads a department system, maps what it
//! reads, and hands each document's records to an [`IntakeSink`]; the sink validates, versions, redacts,
//! routes and stores them. Connectors depend on this trait, never on the hub that implements it.

use std::future::Future;

/// One record as a connector hands it over.
#[derive(Clone)]
pub enum Intake {
    /// The mapping produced a record (not yet validated).
    Mapped {
        value: serde_json::Value,
        origin: String,
        raw: String,
    },
    /// The mapping failed; the reason names the field, and `raw` keeps the source record for replay.
    Unmapped {
        origin: String,
        record_id: Option<String>,
        reason: String,
        raw: String,
    },
}

/// The records of one source document (a file, an HTTP request, a poll), stored all or nothing.
#[derive(Clone)]
pub struct IntakeBatch {
    pub source: String,
    pub mapping_name: String,
    pub mapping_version: String,
    pub items: Vec<Intake>,
    /// Where the source stands after this batch (a file name, a cursor); stored with the records.
    pub position: Option<String>,
}

/// What the sink did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeSummary {
    pub accepted: usize,
    pub unchanged: usize,
    pub quarantined: usize,
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
/// connector acknowledge its source (move the file to `done/`, answer 202, commit the offset).
pub trait IntakeSink: Send + Sync + 'static {
    fn submit(
        &self,
        batch: IntakeBatch,
    ) -> impl Future<Output = Result<IntakeSummary, IntakeError>> + Send;
}
