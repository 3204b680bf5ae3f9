//! What the hub hands a connector when it starts it.

use std::path::PathBuf;
use std::sync::Arc;

use dhub_mapping::Mapping;
use dhub_schema::intake::IntakeSink;
use tokio::sync::watch;

/// Everything a connector needs from the hub. The positions are read from the state store just
/// before the start, so a connector resumes where its last stored batch left off.
pub struct SourceContext {
    /// The source's name (`[[source]] name`); record ids are `<name>:<source key>`.
    pub name: String,
    /// The source's compiled mapping.
    pub mapping: Arc<Mapping>,
    /// Where batches go; `submit` returns once they are durably stored.
    pub sink: Arc<dyn IntakeSink>,
    /// `(scope, position)` as stored with the last batch: one entry under the empty scope for most
    /// kinds, one per partition for Kafka; empty on the first start.
    pub positions: Vec<(String, String)>,
    /// The config file's folder: relative paths in the source's keys are relative to it.
    pub base_dir: PathBuf,
    pub events: Arc<dyn ConnectorEvents>,
    /// Turns true when the hub stops (or hands the source to another instance).
    pub shutdown: watch::Receiver<bool>,
}

impl SourceContext {
    /// The stored position of a source without partitions.
    pub fn position(&self) -> Option<&str> {
        self.positions
            .iter()
            .find(|(scope, _)| scope.is_empty())
            .map(|(_, position)| position.as_str())
    }

    /// Whether the hub is stopping.
    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// What connectors report; the hub turns it into log lines and metrics. Never called with record data:
/// reasons name files, lines, rows, offsets and fields.
pub trait ConnectorEvents: Send + Sync + 'static {
    /// A document (file, request, page, run of rows or messages) was stored and acknowledged.
    fn document_done(&self, source: &str, records: usize);
    /// A document could not be read at all and was set aside or refused, with a reason naming it.
    fn document_failed(&self, source: &str, reason: &str);
    /// Storing or fetching failed for now; the connector tries again after a delay.
    fn retrying(&self, source: &str, error: &str);
    /// How far behind the source is, where it can know: the age of the oldest change it has seen
    /// and not yet stored (for a folder, the oldest export waiting in it), zero when caught up.
    /// Sources that cannot tell never call it.
    fn source_lag(&self, _source: &str, _lag: std::time::Duration) {}
}
