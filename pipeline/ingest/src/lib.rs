//! The pipeline's decisions, between the connectors and the store: a batch of mapped records is
//! validated, checked against its source's constraints, versioned, redacted per platform policy,
//! routed to the platforms whose area contains the deciding agency, turned into envelopes and
//! retractions, and written to the state store with its outbox entries and the source position in
//! ONE transaction. Only after that commit does a connector acknowledge its source. Nothing here
//! talks to Kafka: the relay (`publish/`) takes the outbox from there.
//!
//! # Layout
//!
//! - [`ingest`]: [`Ingestor`], the [`IntakeSink`](dhub_schema::intake::IntakeSink) connectors submit
//!   to: prepare (validate, constrain, hash, redact; CPU work off the async threads), plan (what
//!   one new version means for each platform), store (one transaction), report (an outcome per item).
//! - [`compliance`]: the hub's time zone, publicity rules and clock, and the queryable facts of a
//!   version (`record_facts`), written in the same transaction.
//! - [`documents`]: decision documents and evidence: limits, public versions per policy, the
//!   document store, the upsert's `documents` (issue 11).
//! - [`constraints`]: what a source may submit (`agencies`, `division`), checked for every kind.
//! - [`routing`]: a disclosure platform and routing by division (CONTRACT §4).
//! - [`envelope`]: the `upsert` / `retract` envelopes, byte for byte as the contract shows them, and
//!   the retraction reasons.
//! - [`retract`]: withdrawing a record by hand (`dhub retract`) and the entries every retraction
//!   shares.
//! - [`publicity`]: withdrawal at the end of the publicity period.
//! - [`events`]: what the pipeline reports, turned into logs and metrics by the binary.
//! - [`handoff`]: committed entries handed to the relay in memory.

pub mod compliance;
pub mod constraints;
pub mod documents;
pub mod envelope;
pub mod events;
pub mod handoff;
pub mod ingest;
pub mod publicity;
pub mod retract;
pub mod routing;

pub use compliance::{Clock, Clocks};
pub use constraints::SourceConstraints;
pub use documents::{DocumentSettings, SourceDocumentLimits};
pub use envelope::{retract_envelope, upsert_envelope, RetractReason};
pub use events::IngestEvents;
pub use handoff::OutboxHandoff;
pub use ingest::{IngestError, Ingestor};
pub use retract::{retract_by_hand, RetractError};
pub use routing::{Platform, Routing};
