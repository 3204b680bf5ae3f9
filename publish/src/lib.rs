//! Where records leave the hub: the Kafka side alone. The pipeline (`pipeline/ingest`) decides what
//! each platform is sent and writes it to the state store's outbox; this crate hands the outbox to
//! the broker.
//!
//! # Layout
//!
//! - [`kafka`]: producer settings (idempotent, `acks=all`) and topic creation through the admin API.
//! - [`relay`]: moves outbox rows to Kafka and marks them delivered only once the broker acknowledged
//!   them, so a broker outage delays publishing and never loses a record.

pub mod kafka;
pub mod relay;

pub use relay::{feed_headers, ProducerFactory, Relay, RelayEvents};
