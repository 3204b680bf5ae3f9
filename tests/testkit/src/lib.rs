//! Test and benchmark support: synthetic department exports, broker and database helpers.
//!
//! The hub's integration tests, its benchmark and the demo all need department exports that look
//! real (Chinese names, GBK files, valid check digits, personal data buried in free text) and whose
//! correct outcome is known in advance. This crate makes them from a seed, writes them in the two
//! export formats of `mappings/README.md`, and says for each case what the hub must do with it:
//! publish it (and to which platforms), withhold it (and why), or retract it.
//!
//! # Layout
//!
//! - [`case`]: the `Case` type, its code lists in both systems' spellings, and `expected_outcome`.
//! - [`generate`]: `generate(&GenConfig)` (deterministic cases with planted bad ones) and
//!   `revoke` (the same cases with a changed status, for a second export).
//! - [`export`]: `write_finance_export` (GBK or UTF-8, Chinese elements) and `write_market_export`
//!   (UTF-8, coded), both atomic via `*.tmp` + rename.
//! - [`expect`]: per-platform counts of what should be in force.
//! - [`ids`]: check digits of resident IDs, USCCs, organisation codes and registration numbers,
//!   written here independently of `dhub-schema` so the two cannot share a bug.
//! - [`services`]: the broker, Postgres and MariaDB of the integration tests (`test_brokers`,
//!   `fresh_postgres_db`, `fresh_mariadb_db`, `unique_name`), and their log switch (`test_logs`).
//! - [`kafka`]: topics created and deleted through the admin API, JSONL files as messages, an
//!   idempotent producer (what `kafka-produce` and the Kafka source's tests use).
//! - [`feed`]: the raw feed reader: every message of a run's feed topics, checked against
//!   CONTRACT §4 (keys, headers, version order, identical duplicates) and reduced by the platform rule.
//! - [`rng`]: SplitMix64, the only source of randomness in generation.
//! - [`browser`]: headless Chromium (`--dump-dom`, screenshots) for tests of pages.
//! - `vocab` (private): names, places, violations and sentence templates.
//! - `src/bin/gen-exports.rs`: writes a first and a revocation export to a folder, with a summary;
//!   `mappings/samples/` is its committed output.
//! - `src/bin/kafka-produce.rs`: sends a JSONL file to a topic, one line per message (the demo's
//!   department system publishing its cases; Debian's kcat cannot talk to tansu).
//! - `src/bin/dept-api.rs`: a department case API (pages with cursors, bearer token, stages switched
//!   at run time) for the demo and tests of the `http_pull` source.
//!
//! Every person, company and number produced here is invented.

pub mod browser;
pub mod case;
pub mod expect;
pub mod export;
pub mod feed;
pub mod generate;
pub mod ids;
pub mod kafka;
pub mod rng;
pub mod services;
mod vocab;

pub use case::{
    Agency, Case, Category, Classification, Counterparty, CounterpartyKind, LegalReview, License,
    Mention, MentionKind, Outcome, PenaltyKind, Person, Procedure, RetractReason, Status, System,
    WithholdReason, AGENCIES, CHIPING_FINANCE, DONGE_MARKET, LIAOCHENG_MARKET,
};
pub use expect::{records_in_force, Level, Platform, DEMO_PLATFORMS};
pub use export::{
    write_export_files, write_export_files_after, write_finance_export, write_market_export,
    write_system_export,
    ExportError, TextEncoding,
};
pub use generate::{
    apply_export, generate, revocation_export, revoke, BadCases, GenConfig, GenerateError,
};
pub use services::{
    fresh_mariadb_db, fresh_postgres_db, test_brokers, test_logs, test_mariadb_url,
    test_postgres_url, unique_name, TestDb,
};
