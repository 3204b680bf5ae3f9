//! The rows the store reads and writes, as plain Rust values.
//!
//! Types that carry record content (`record_json`, outbox `payload`, quarantined input, audit
//! `detail`) implement `Debug` by hand and print the content's size, never the content: it may
//! hold personal data that must not reach logs.

use std::fmt;
use std::sync::Arc;

/// Which database engine a [`crate::Store`] talks to, chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite file (`sqlite://PATH`), the default.
    Sqlite,
    /// PostgreSQL server (`postgres://…`), for production.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The latest version of a record: what the hub compares a re-export against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// The latest version number.
    pub version: i64,
    /// Its content hash: an unchanged re-export has the same hash and is not republished.
    pub content_hash: String,
    /// Its `disclosure.v1` status (`in_force`, `revoked`, …).
    pub status: String,
    /// Whether the record is currently withdrawn from the platforms.
    pub retracted: bool,
    /// The platforms that show the record now (the last entry queued for them was an upsert), in
    /// name order: a retraction goes to exactly these.
    pub platforms: Vec<String>,
    /// The source-side stamp of the latest version that carried one (`dhub_schema::stamp`); a
    /// version older than it is stale.
    pub source_stamp: Option<String>,
}

/// A version to store. The store stamps `created_at_ms`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewVersion {
    /// `source name + source key`, stable across versions.
    pub record_id: String,
    /// Must not exist yet for this record: versions are immutable.
    pub version: i64,
    /// Hash of the normalized record's content (the caller decides what it covers).
    pub content_hash: String,
    /// The record's `disclosure.v1` status.
    pub status: String,
    /// The normalized record, as JSON text (before redaction: may hold personal data).
    pub record_json: String,
    /// The mapping that produced the record.
    pub mapping_name: String,
    /// That mapping's version, for `dhub trace`.
    pub mapping_version: String,
    /// The source connector's name.
    pub source_name: String,
    /// Where in the source the record came from, e.g. `file.xml:12`.
    pub origin: String,
    /// The platforms that show the record once this version's entries are sent (stored with the
    /// record when this version becomes its latest).
    pub platforms: Vec<String>,
}

impl fmt::Debug for NewVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewVersion")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("content_hash", &self.content_hash)
            .field("status", &self.status)
            .field("record_json", &Elided(self.record_json.len()))
            .field("mapping_name", &self.mapping_name)
            .field("mapping_version", &self.mapping_version)
            .field("source_name", &self.source_name)
            .field("origin", &self.origin)
            .field("platforms", &self.platforms)
            .finish()
    }
}

/// A stored version, as `dhub trace` shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordVersion {
    /// The record.
    pub record_id: String,
    /// The version number.
    pub version: i64,
    /// Content hash.
    pub content_hash: String,
    /// `disclosure.v1` status.
    pub status: String,
    /// The normalized record as JSON text (before redaction: may hold personal data).
    pub record_json: String,
    /// The mapping that produced it.
    pub mapping_name: String,
    /// That mapping's version.
    pub mapping_version: String,
    /// The source connector's name.
    pub source_name: String,
    /// `file:line` or similar.
    pub origin: String,
    /// When the hub stored it (Unix ms).
    pub created_at_ms: i64,
}

impl fmt::Debug for RecordVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordVersion")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("content_hash", &self.content_hash)
            .field("status", &self.status)
            .field("record_json", &Elided(self.record_json.len()))
            .field("mapping_name", &self.mapping_name)
            .field("mapping_version", &self.mapping_version)
            .field("source_name", &self.source_name)
            .field("origin", &self.origin)
            .field("created_at_ms", &self.created_at_ms)
            .finish()
    }
}

/// A record's latest version with its content, for reports that walk every record.
#[derive(Clone, PartialEq, Eq)]
pub struct CurrentRecord {
    /// The record.
    pub record_id: String,
    /// Its latest version.
    pub version: i64,
    /// That version's status.
    pub status: String,
    /// Whether it is withdrawn from the platforms.
    pub retracted: bool,
    /// That version's normalized JSON (before redaction).
    pub record_json: String,
}

impl fmt::Debug for CurrentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentRecord")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("status", &self.status)
            .field("retracted", &self.retracted)
            .field("record_json", &Elided(self.record_json.len()))
            .finish()
    }
}

/// The envelope operation of an outbox row (contract §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxOp {
    /// Publish or replace the record.
    Upsert,
    /// Withdraw the record.
    Retract,
}

impl OutboxOp {
    /// The text stored in the `op` column and used in envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxOp::Upsert => "upsert",
            OutboxOp::Retract => "retract",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<OutboxOp> {
        match text {
            "upsert" => Some(OutboxOp::Upsert),
            "retract" => Some(OutboxOp::Retract),
            _ => None,
        }
    }
}

impl fmt::Display for OutboxOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An envelope to queue, written in the same transaction as the version it announces: one per record
/// version and payload variant, fanned out by the relay to every platform it names.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The record (the Kafka key).
    pub record_id: String,
    /// The version the envelope carries.
    pub version: i64,
    /// Upsert or retract.
    pub op: OutboxOp,
    /// The platforms (configured names) whose feeds get these bytes.
    pub platforms: Vec<String>,
    /// The serialized envelope, already redacted for these platforms.
    pub payload: Arc<[u8]>,
}

impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEntry")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("op", &self.op)
            .field("platforms", &self.platforms)
            .field("payload", &Elided(self.payload.len()))
            .finish()
    }
}

/// A queued envelope, as the relay takes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its place in the queue: commit order, increasing.
    pub seq: i64,
    pub record_id: String,
    pub version: i64,
    pub op: OutboxOp,
    pub platforms: Vec<String>,
    pub payload: Arc<[u8]>,
    /// When it was queued (Unix ms).
    pub created_at_ms: i64,
}

impl Entry {
    /// Whether the entry goes to this platform's feed.
    pub fn is_for(&self, platform: &str) -> bool {
        self.platforms.iter().any(|p| p == platform)
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("seq", &self.seq)
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("op", &self.op)
            .field("platforms", &self.platforms)
            .field("payload", &Elided(self.payload.len()))
            .field("created_at_ms", &self.created_at_ms)
            .finish()
    }
}

/// The broker's acknowledgement of one entry on one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedAck {
    pub record_id: String,
    pub version: i64,
    pub op: OutboxOp,
    pub seq: i64,
    /// Kafka partition and offset.
    pub partition: i32,
    pub offset: i64,
    /// When the broker acknowledged it (Unix ms).
    pub acked_at_ms: i64,
}

/// What a platform was last sent of a record, as the broker acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    pub platform: String,
    pub record_id: String,
    pub version: i64,
    pub op: OutboxOp,
    pub seq: i64,
    pub partition: i32,
    pub offset: i64,
    pub acked_at_ms: i64,
    /// When the record first appeared on this platform (Unix ms).
    pub first_acked_at_ms: i64,
}

/// An entry a feed could not take, set aside with the reason.
#[derive(Clone, PartialEq, Eq)]
pub struct ParkedEntry {
    pub platform: String,
    pub seq: i64,
    pub record_id: String,
    pub version: i64,
    pub op: OutboxOp,
    pub payload: Arc<[u8]>,
    /// Why the broker or the producer refused it (never content).
    pub reason: String,
    pub parked_at_ms: i64,
    /// Set once an operator released it (queued again).
    pub released_at_ms: Option<i64>,
}

impl fmt::Debug for ParkedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParkedEntry")
            .field("platform", &self.platform)
            .field("seq", &self.seq)
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("op", &self.op)
            .field("payload", &Elided(self.payload.len()))
            .field("reason", &self.reason)
            .field("parked_at_ms", &self.parked_at_ms)
            .field("released_at_ms", &self.released_at_ms)
            .finish()
    }
}

/// Who holds a lease, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What it is for: `source:<name>`, `feed:<platform>`, `sweep:<name>`.
    pub name: String,
    /// The instance holding it.
    pub holder: String,
    /// When it runs out unless renewed (Unix ms, the database's clock).
    pub expires_at_ms: i64,
    pub acquired_at_ms: i64,
}

/// The pipeline stage that held a record back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuarantineStage {
    /// The source document could not be read (bad XML, encoding, …).
    Document,
    /// The mapping failed on the record.
    Mapping,
    /// The normalized record broke a `disclosure.v1` rule.
    Validation,
    /// The redaction policy withholds the record (secret, minor, unreviewed major decision).
    Redaction,
    /// The source may not submit this record (another agency or division).
    Constraint,
    /// Older than what is already stored (a resent old export).
    Stale,
}

impl QuarantineStage {
    /// The text stored in the `stage` column.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineStage::Document => "document",
            QuarantineStage::Mapping => "mapping",
            QuarantineStage::Validation => "validation",
            QuarantineStage::Redaction => "redaction",
            QuarantineStage::Constraint => "constraint",
            QuarantineStage::Stale => "stale",
        }
    }

    pub fn parse(text: &str) -> Option<QuarantineStage> {
        match text {
            "document" => Some(QuarantineStage::Document),
            "mapping" => Some(QuarantineStage::Mapping),
            "validation" => Some(QuarantineStage::Validation),
            "redaction" => Some(QuarantineStage::Redaction),
            "constraint" => Some(QuarantineStage::Constraint),
            "stale" => Some(QuarantineStage::Stale),
            _ => None,
        }
    }
}

impl fmt::Display for QuarantineStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a quarantine entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuarantineState {
    /// Waiting for a fix.
    Held,
    /// Released to the pipeline again.
    Replayed,
    /// Given up on, with an audit entry.
    Dropped,
}

impl QuarantineState {
    /// The text stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineState::Held => "held",
            QuarantineState::Replayed => "replayed",
            QuarantineState::Dropped => "dropped",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<QuarantineState> {
        match text {
            "held" => Some(QuarantineState::Held),
            "replayed" => Some(QuarantineState::Replayed),
            "dropped" => Some(QuarantineState::Dropped),
            _ => None,
        }
    }
}

impl fmt::Display for QuarantineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record to hold back.
#[derive(Clone, PartialEq, Eq)]
pub struct NewQuarantine {
    /// The source connector's name.
    pub source_name: String,
    /// `file:line` or similar.
    pub origin: String,
    /// The record id, when the record got far enough to have one.
    pub record_id: Option<String>,
    /// The stage that refused it.
    pub stage: QuarantineStage,
    /// Why, naming fields, never values.
    pub reason: String,
    /// The raw input as text, to replay after a fix (may hold personal data).
    pub payload: String,
}

impl fmt::Debug for NewQuarantine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewQuarantine")
            .field("source_name", &self.source_name)
            .field("origin", &self.origin)
            .field("record_id", &self.record_id)
            .field("stage", &self.stage)
            .field("reason", &self.reason)
            .field("payload", &Elided(self.payload.len()))
            .finish()
    }
}

/// A stored quarantine entry.
#[derive(Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// Its id, as `dhub quarantine show ID` takes it.
    pub id: i64,
    /// The source connector's name.
    pub source_name: String,
    /// `file:line` or similar.
    pub origin: String,
    /// The record id, if known.
    pub record_id: Option<String>,
    /// The stage that refused it.
    pub stage: QuarantineStage,
    /// Why.
    pub reason: String,
    /// The raw input as text.
    pub payload: String,
    /// When it was held (Unix ms).
    pub created_at_ms: i64,
    /// Held, replayed or dropped.
    pub state: QuarantineState,
    /// When it was replayed or dropped (Unix ms).
    pub resolved_at_ms: Option<i64>,
}

impl fmt::Debug for QuarantineEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuarantineEntry")
            .field("id", &self.id)
            .field("source_name", &self.source_name)
            .field("origin", &self.origin)
            .field("record_id", &self.record_id)
            .field("stage", &self.stage)
            .field("reason", &self.reason)
            .field("payload", &Elided(self.payload.len()))
            .field("created_at_ms", &self.created_at_ms)
            .field("state", &self.state)
            .field("resolved_at_ms", &self.resolved_at_ms)
            .finish()
    }
}

/// One link of the audit chain.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was appended (Unix ms).
    pub at_ms: i64,
    /// What happened, e.g. `quarantine.dropped`, `record.retracted`.
    pub kind: String,
    /// The record concerned, if any.
    pub record_id: Option<String>,
    /// Details as JSON text, exactly as hashed.
    pub detail: String,
    /// The previous entry's hash (64 zeros for the first).
    pub prev_hash: String,
    /// sha256 over `prev_hash` and this entry (see `audit.rs`), hex.
    pub hash: String,
}

impl AuditEntry {
    /// `detail` parsed as JSON (`None` if the stored text is not JSON: tampered).
    pub fn detail_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.detail).ok()
    }
}

impl fmt::Debug for AuditEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditEntry")
            .field("seq", &self.seq)
            .field("at_ms", &self.at_ms)
            .field("kind", &self.kind)
            .field("record_id", &self.record_id)
            // Operator notes in details are free text: no telling what they hold.
            .field("detail", &Elided(self.detail.len()))
            .field("prev_hash", &self.prev_hash)
            .field("hash", &self.hash)
            .finish()
    }
}

/// How the audit chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditBreak {
    /// The entry's content no longer matches its hash: it was edited.
    ContentChanged,
    /// The entry does not link to the one before: an entry before it was replaced or removed.
    LinkBroken,
    /// The entry with this seq is missing.
    Missing,
    /// The entry exists but the chain head does not cover it: it was added outside dhub.
    NotInHead,
    /// The chain head's hash does not match the last entry: the head or the last entry was replaced.
    HeadMismatch,
    /// The entry is keyed (HMAC) and no audit key was given to check it.
    KeyRequired,
    /// The entry carries no HMAC where the chain is keyed (or a key is configured and no entry is
    /// keyed): the chain was rewritten without the key.
    NotKeyed,
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuditBreak::ContentChanged => "the entry was changed after it was written",
            AuditBreak::LinkBroken => "the entry does not follow from the one before it",
            AuditBreak::Missing => "the entry is missing",
            AuditBreak::NotInHead => "the entry was added outside dhub",
            AuditBreak::HeadMismatch => "the chain head does not match the last entry",
            AuditBreak::KeyRequired => {
                "the entry is keyed: configure [hub] audit_key to check it"
            }
            AuditBreak::NotKeyed => {
                "the entry has no HMAC where the chain is keyed: rewritten without the audit key (or \
                 the hub has not yet run with this audit_key: start it once to key the chain)"
            }
        })
    }
}

/// The outcome of [`crate::Store::audit_verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every entry checks out.
    Intact {
        /// How many entries the chain holds.
        entries: i64,
    },
    /// The first entry that does not.
    Broken {
        /// Its seq.
        seq: i64,
        /// What is wrong with it.
        reason: AuditBreak,
    },
}

/// How a stored record version disagrees with the audit chain
/// ([`crate::Store::verify_versions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionBreak {
    /// The version's content no longer hashes to its stored content hash: it was edited.
    ContentChanged,
    /// The stored content hash differs from the one the audit entry `seq` recorded.
    HashDiffers { seq: i64 },
    /// No audit entry records this version: it was added outside dhub.
    NotInChain,
    /// The audit entry `seq` records this version, and it is gone.
    Missing { seq: i64 },
    /// The version's record JSON cannot be read back (the recompute function's reason).
    Unreadable(String),
}

impl fmt::Display for VersionBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionBreak::ContentChanged => f.write_str(
                "its content does not match its content hash: edited after it was stored",
            ),
            VersionBreak::HashDiffers { seq } => write!(
                f,
                "its content hash differs from the one audit entry {seq} recorded"
            ),
            VersionBreak::NotInChain => {
                f.write_str("no audit entry records it: added outside dhub")
            }
            VersionBreak::Missing { seq } => {
                write!(f, "audit entry {seq} records it, and it is gone")
            }
            VersionBreak::Unreadable(reason) => write!(f, "its content cannot be read: {reason}"),
        }
    }
}

/// The outcome of [`crate::Store::verify_versions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCheck {
    /// Every stored version matches the chain.
    Intact {
        /// How many versions were checked.
        versions: i64,
    },
    /// The first version (in record id, version order) that does not.
    Broken {
        record_id: String,
        version: i64,
        reason: VersionBreak,
    },
}

/// Everything the store knows about one record, for `dhub trace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHistory {
    /// The record.
    pub record_id: String,
    /// The latest version, if any version was stored.
    pub latest: Option<VersionRow>,
    /// All versions, oldest first.
    pub versions: Vec<RecordVersion>,
    /// Entries still queued for the record (not yet pruned), in seq order.
    pub queued: Vec<Entry>,
    /// What each platform was last sent of the record, as acknowledged, in platform order.
    pub deliveries: Vec<FeedState>,
    /// Entries of the record a feed could not take.
    pub parked: Vec<ParkedEntry>,
    /// Quarantine entries that name the record, in id order.
    pub quarantine: Vec<QuarantineEntry>,
    /// Audit entries that name the record, in seq order.
    pub audit: Vec<AuditEntry>,
}

/// Prints `<N bytes>` in place of content in Debug output.
struct Elided(usize);

impl fmt::Debug for Elided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_content() {
        let secret = "张三 370102199001011234 13812345678";
        let version = NewVersion {
            record_id: "finance-oa:1".into(),
            version: 1,
            content_hash: "abc".into(),
            status: "in_force".into(),
            record_json: secret.into(),
            mapping_name: "finance-oa".into(),
            mapping_version: "1".into(),
            source_name: "finance-oa".into(),
            origin: "a.xml:3".into(),
            platforms: vec!["p".into()],
        };
        let outbox = NewEntry {
            record_id: "finance-oa:1".into(),
            version: 1,
            op: OutboxOp::Upsert,
            platforms: vec!["p".into()],
            payload: secret.as_bytes().into(),
        };
        let quarantine = NewQuarantine {
            source_name: "s".into(),
            origin: "a.xml:3".into(),
            record_id: None,
            stage: QuarantineStage::Validation,
            reason: "counterparty.id_number: bad check digit".into(),
            payload: secret.into(),
        };
        let audit = AuditEntry {
            seq: 1,
            at_ms: 0,
            kind: "record.retracted".into(),
            record_id: None,
            detail: format!("{{\"note\":\"{secret}\"}}"),
            prev_hash: String::new(),
            hash: String::new(),
        };
        for printed in [
            format!("{version:?}"),
            format!("{outbox:?}"),
            format!("{quarantine:?}"),
            format!("{audit:?}"),
        ] {
            assert!(!printed.contains("张三"), "{printed}");
            assert!(!printed.contains("13812345678"), "{printed}");
            assert!(printed.contains("bytes>"), "{printed}");
        }
    }

    #[test]
    fn enum_texts_round_trip() {
        for op in [OutboxOp::Upsert, OutboxOp::Retract] {
            assert_eq!(OutboxOp::parse(op.as_str()), Some(op));
        }
        for stage in [
            QuarantineStage::Document,
            QuarantineStage::Mapping,
            QuarantineStage::Validation,
            QuarantineStage::Redaction,
            QuarantineStage::Constraint,
            QuarantineStage::Stale,
        ] {
            assert_eq!(QuarantineStage::parse(stage.as_str()), Some(stage));
        }
        for state in [
            QuarantineState::Held,
            QuarantineState::Replayed,
            QuarantineState::Dropped,
        ] {
            assert_eq!(QuarantineState::parse(state.as_str()), Some(state));
        }
        assert_eq!(OutboxOp::parse("UPSERT"), None);
    }
}
