//! The bottom floor: small pieces every dhub crate shares, so that one rule lives in one place.
//! Nothing here knows about records, mappings, stores or Kafka.
//!
//! # Layout
//!
//! - [`cpu`]: CPU time per pipeline stage, for the metrics and the benchmark's breakdown.
//! - [`failpoint`]: named points where the crash tests make the hub die by SIGKILL (`failpoints`
//!   feature only; empty otherwise).
//! - [`html`]: [`html::escape`], HTML escaping for every page dhub writes.
//! - [`errors`]: errors recovered from silently, logged and counted by site (`dhub_errors_total`).
//! - [`secret`]: [`Secret`] (a config value given inline, from the environment or a file) and
//!   [`SecretString`] (its resolved value), neither of which ever prints its content.
//! - [`url`]: [`redact_url`], a URL without its password, for messages.
//! - [`retry`]: [`retry::delays`], the exponential backoff with jitter used wherever the hub waits
//!   for something to come back (broker, database, a department's API).
//! - [`sqlite`]: [`sqlite::lock_for_migration`], the lock file that serializes SQLite migrations
//!   across processes.
//! - [`signature`]: [`signature::Signer`] and [`signature::Verifier`], the Ed25519 signatures of
//!   feed envelopes (CONTRACT §4) and their `signature` header.

pub mod cpu;
pub mod errors;
pub mod failpoint;
pub mod html;
pub mod retry;
pub mod secret;
pub mod signature;
pub mod sqlite;
pub mod url;

pub use secret::{Secret, SecretString};
pub use url::redact_url;
