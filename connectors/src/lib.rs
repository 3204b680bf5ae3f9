//! Where records come in: one module per kind of department system. Each connector reads its system,
//! runs the source's mapping, and hands every document's records to an
//! [`IntakeSink`](dhub_schema::intake::IntakeSink); it acknowledges its source only after the sink has
//! stored them durably.
//!
//! # Layout
//!
//! - [`xml_dir`]: a folder of XML exports (UTF-8, GBK, GB18030), `done/` and `failed/` beside them.
//!
//! Every connector has a typed `config` (unknown keys are errors), a `run` that ends on shutdown, and
//! reports what happens through [`ConnectorEvents`] so that logs and metrics stay in one place.

pub mod xml_dir;

/// What connectors report; the hub turns it into log lines and metrics. Never called with record data.
pub trait ConnectorEvents: Send + Sync + 'static {
    /// A document was stored and acknowledged.
    fn document_done(&self, source: &str, records: usize);
    /// A document could not be read at all and was set aside with a reason naming file and line.
    fn document_failed(&self, source: &str, reason: &str);
    /// Storing a document failed; the connector will try it again.
    fn retrying(&self, source: &str, error: &str);
}

/// Maps one source record into what the sink takes: the mapped record, or the mapping failure with the
/// raw record kept for a replay after the mapping is fixed.
pub fn to_intake(
    mapping: &dhub_mapping::Mapping,
    source: &str,
    record: &dhub_mapping::SourceRecord,
    context: &dhub_mapping::MapContext,
) -> dhub_schema::intake::Intake {
    use dhub_schema::intake::Intake;
    let origin = format!("{}:{}", record.origin(), record.line());
    match mapping.apply(record, context) {
        Ok(value) => Intake::Mapped {
            value,
            origin,
            raw: record.raw_text(),
        },
        Err(error) => Intake::Unmapped {
            origin,
            record_id: error
                .source_key
                .as_ref()
                .map(|key| format!("{source}:{key}")),
            reason: format!("{}: {}", error.field, error.message),
            raw: record.raw_text(),
        },
    }
}
