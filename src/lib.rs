//! `dhub`, the enforcement disclosure hub: department case systems in, county / city / province
//! disclosure feeds out, withdrawn when revoked.
//!
//! # Layout
//!
//! - `connectors/` (crate `dhub-connectors`): where records come in.
//! - `pipeline/` (crates `dhub-schema`, `dhub-mapping`, `dhub-redaction`): where they are changed:
//!   the `disclosure.v1` schema and its validation, declarative mappings, redaction.
//! - `store/` (crate `dhub-store`): the state store: versions, outbox, deliveries, quarantine, audit.
//! - `publish/` (crate `dhub-publish`): where they leave: routing, envelopes, the Kafka relay.
//! - `platform/` (crate `dhub-platform`): the reference subscriber a disclosure platform runs.
//! - this crate: the `dhub` binary: [`allocator`] (how freed memory goes back to the OS),
//!   [`compliance`] (the law's clocks in the hub, the report
//!   commands' queries), [`config`] (parse → validate → compile), [`hub`] (the running
//!   hub: ingest, HTTP endpoints), [`commands`] (one module per subcommand), [`telemetry`] (every log
//!   line and metric in one place).

pub mod allocator;
pub mod commands;
pub mod compliance;
pub mod config;
pub mod hub;
pub mod telemetry;
pub mod telemetry_ops;
