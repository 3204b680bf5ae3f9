//! The shared disclosure schema `disclosure.v1` (CONTRACT §3): the one shape every department's
//! records are normalized into before they are redacted and published.
//!
//! # Layout
//!
//! - [`record`]: the record as Rust types, with the contract's enum spellings.
//! - [`validate`]: strict validation of a mapped JSON object into a [`Record`]; errors name the field.
//! - [`identifiers`]: check digits of resident IDs, USCCs and organisation codes (DOMAIN.md).
//! - [`divisions`]: GB/T 2260 division codes (embedded, 1981–2024) and area containment.
//! - [`amount`]: exact yuan amounts.
//! - [`intake`]: the trait connectors hand their records to.
//!
//! The schema has no I/O: the reference data is compiled in, so validation is the same everywhere.

pub mod amount;
pub mod divisions;
pub mod identifiers;
pub mod intake;
pub mod record;
pub mod stamp;
pub mod validate;

pub use amount::Amount;
pub use record::{
    Category, Classification, CounterpartyKind, IdType, PenaltyKind, Procedure, Record, Status,
};
pub use validate::{content_hash, validate, validate_on, FieldError, Validated, ValidationErrors};

/// The schema's name as it appears in envelopes and Kafka headers.
pub const SCHEMA_NAME: &str = "disclosure.v1";
