//! Where records leave the hub: the Kafka side alone. The pipeline (`pipeline/ingest`) decides what
//! each platform is sent and writes it to the state store's outbox; this crate hands the outbox to
//! the broker.
//!
//! # Layout
//!
//! - [`checkpoint`]: the audit chain's head published to a topic, and read back to verify.
//! - [`kafka`]: producer settings (idempotent, `acks=all`) and topic creation through the admin API.
//! - [`relay`]: one relay per feed moves queued entries to Kafka and moves the feed's mark only over
//!   what the broker acknowledged, so a broker outage delays publishing and never loses a record;
//!   entries the broker refuses for good are parked.
//! - [`security`]: TLS and SASL settings of `[kafka]`, validated, as librdkafka properties.
//! - [`signing`]: the `signature` header of every envelope (`[hub] signing_key`), signed once per entry.

pub mod checkpoint;
pub mod kafka;
pub mod relay;
pub mod security;
pub mod signing;

pub use relay::{
    feed_headers, AckWriter, Feed, FeedRelay, ProducerFactory, RelayEvents, SharedProducer,
};
