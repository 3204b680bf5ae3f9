//! Where records leave the hub: the platforms they are routed to, the Kafka envelopes they travel in,
//! and the outbox relay that hands them to the broker.
//!
//! # Layout
//!
//! - [`platforms`]: a disclosure platform (name, level, division, topic) and routing: a record goes to
//!   every platform whose area contains the deciding agency's division (CONTRACT §4).
//! - [`envelope`]: the `upsert` / `retract` JSON envelopes, byte for byte as the contract shows them.
//! - [`kafka`]: producer settings (idempotent, `acks=all`) and topic creation through the admin API.
//! - [`relay`]: moves outbox rows to Kafka and marks them delivered only once the broker acknowledged
//!   them, so a broker outage delays publishing and never loses a record.

pub mod envelope;
pub mod kafka;
pub mod platforms;
pub mod relay;

pub use envelope::{retract_envelope, upsert_envelope, RetractReason};
pub use platforms::{Platform, Routing};
pub use relay::{feed_headers, ProducerFactory, Relay, RelayEvents, RelayHandle};
