//! What the pipeline reports. The binary implements this once (its telemetry), writing the log line
//! and bumping the metric together. No method takes record content: only source and platform names,
//! stages, rules, reasons and origins (which name files, rows and offsets, never values).

use std::time::Duration;

pub trait IngestEvents: Send + Sync + 'static {
    fn records_received(&self, source: &str, count: usize);
    fn record_stored(&self, source: &str);
    fn record_unchanged(&self, source: &str);
    /// `reason` names fields and rules, never values.
    fn record_quarantined(&self, source: &str, stage: &str, origin: &str, reason: &str);
    /// Accepted, with a warning (e.g. a USCC whose check digit fails, which DOMAIN.md says to accept).
    fn record_warning(&self, source: &str, origin: &str, warning: &str);
    fn outbox_enqueued(&self, platform: &str, op: &str);
    fn redacted(&self, rule: &str, count: u32);
    fn redaction_time(&self, spent: Duration);
    fn withheld(&self, platform: &str, reason: &str);
    fn store_failed(&self, operation: &str, error: &dyn std::fmt::Display);
    /// Whether a batch's transaction committed (`None`) or the state store refused it
    /// (`Some(error)`: a full disk, a lost connection): `/readyz` fails from a refusal until the
    /// next commit.
    fn store_writes(&self, _failure: Option<&str>) {}
    /// An attachment of a record was refused (too large, a type the source may not send,
    /// unreadable); the record went on without it. `reason` names the attachment and the limit.
    fn document_refused(&self, source: &str, origin: &str, reason: &str) {
        tracing::warn!(
            source,
            origin,
            reason,
            "document refused; the record goes on without it"
        );
    }
}

/// Reports nothing: for one-shot commands and tests that do not look at events.
pub struct NoEvents;

impl IngestEvents for NoEvents {
    fn records_received(&self, _: &str, _: usize) {}
    fn record_stored(&self, _: &str) {}
    fn record_unchanged(&self, _: &str) {}
    fn record_quarantined(&self, _: &str, _: &str, _: &str, _: &str) {}
    fn record_warning(&self, _: &str, _: &str, _: &str) {}
    fn outbox_enqueued(&self, _: &str, _: &str) {}
    fn redacted(&self, _: &str, _: u32) {}
    fn redaction_time(&self, _: Duration) {}
    fn withheld(&self, _: &str, _: &str) {}
    fn store_failed(&self, _: &str, _: &dyn std::fmt::Display) {}
}
