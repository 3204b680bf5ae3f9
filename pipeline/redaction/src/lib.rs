//! Redaction engine: withholding, field rules and Chinese PII detectors, failing closed.
//!
//! Every normalized record (`disclosure.v1`, CONTRACT §3, validated upstream) passes through a
//! [`Policy`] before it leaves the hub. [`Policy::redact`] either withholds the record with a stable
//! [`WithholdReason`] (it then goes to quarantine) or returns the record to publish and what was
//! redacted, by rule and field. Whatever the engine cannot decide about, a record of an unknown
//! shape, a natural person whose age cannot be read, is withheld as `undecidable`, never published.
//! What the detectors catch, and what they deliberately leave, is in the crate's `README.md`.
//!
//! # Layout
//!
//! - `policy.rs`: the policy file format, compiled once into [`Policy`]; errors as `path:line`.
//! - `policies/public.toml`, `policies/government.toml`: the built-in policies (CONTRACT §5), in
//!   the same format as custom ones and compiled by the same code.
//! - `engine.rs`: [`Policy::redact`]: withholding rules, then field rules, then every remaining
//!   string through the scanner.
//! - `scan/`: the free-text scanner, one pass over the bytes (`mod.rs`), then numbers
//!   (`numbers.rs`: IDs, phones, cards, and the enterprise codes that look like them), patterns
//!   (`patterns.rs`: e-mail, WeChat, plates, passports), addresses (`address.rs`: house numbers in
//!   digits or Chinese numerals, residences after a label) and other persons' names
//!   (`persons.rs`: after a role word, before a statement); `cjk.rs`: character sets.
//! - `ids.rs`: check-digit arithmetic (GB 11643, GB 32100, GB 11714, MOD 11,10, Luhn).
//! - `names.rs`: pseudonyms (surname + 某) with the compound surnames of `data/`.
//! - `command.rs`: [`run_redact_command`], the body of `dhub redact`.
//! - `tests/golden/`: one folder per case (input, policy, expected output); `tests/properties.rs`:
//!   property tests; `benches/redaction.rs`: throughput.
//!
//! # Policy files
//!
//! A policy is a TOML file. Unknown keys are errors, and every error names the file and line.
//!
//! ```toml
//! name = "province"            # required; shown in logs and withhold details
//! extends = "public"           # optional: start from a built-in policy (files cannot be extended)
//! description = "…"            # optional, for readers
//!
//! [withhold]                   # every key optional; without `extends` the defaults are strict
//! classification_allowed = ["public"]      # others are withheld as `classified`; `secret` is refused
//! minors = true                            # natural person under 18 on decided_on → `minor`
//! major_without_legal_review = true        # major without legal_review.passed → `major_without_legal_review`
//! simple_warning_not_published = true      # simple-procedure penalty whose only kind is a warning
//! simple_warning_divisions = ["3715"]      # … only in divisions with these prefixes (default: all)
//!
//! [detect]                     # which free-text detectors run (default: all of them)
//! detectors = ["resident_id", "mobile", "landline", "bank_card", "bank_account", "email",
//!              "vehicle_plate", "qq", "wechat", "address", "person_name", "passport"]
//!
//! [allow]                      # what the detectors must leave
//! phones = ["0635-8512345"]    # the agency's public numbers (with or without area code in text)
//! emails = ["czj@chiping.gov.cn"]
//!
//! [documents]                  # a decision's documents (issue 11)
//! evidence = true              # the feed may be sent evidence (photos, video); default false,
//!                              # `government` true. The decision always goes as its public version.
//!
//! [[field]]                    # one table per rule; the first rule whose `kinds` match applies
//! path = "counterparty.id_number"   # a disclosure.v1 field path, or an object above fields
//! action = "mask"              # keep | scan | remove | mask | pseudonymise
//! keep_front = 6               # mask only: characters kept at the front / back
//! keep_back = 4
//! kinds = ["natural_person"]   # optional: only for these counterparty kinds
//! ```
//!
//! Actions: `keep` publishes the field verbatim and does not scan it; `scan` (what every field
//! without a rule gets) runs the detectors over its strings; `remove` drops the key; `mask`
//! replaces the characters between the kept ends with `*`; `pseudonymise` writes surname + 某.
//! Whatever a rule removes, masks or pseudonymises is also searched for in every scanned string
//! of the same record: a removed ID number is masked where it recurs, a pseudonymised name is
//! replaced by the same pseudonym (rules `removed_value`, `counterparty_name`).
//!
//! With `extends`, the file's `[withhold]` keys override the parent's, `detectors` replaces the
//! parent's list, allow-lists are added to, and the file's rules for a path replace all of the
//! parent's rules for that path. Two rules for one path in one file must have disjoint `kinds`.
//!
//! # Masking
//!
//! A detected identifier is replaced by `*`, one per character of the whole match, separators and
//! prefixes included (`+86 138-1234-5678` → 17 `*`): the text keeps its length in characters, and
//! no grouping or country code survives to hint at what was there.

mod command;
pub mod document;
mod engine;
pub mod ids;
mod names;
mod policy;
mod scan;

use serde::Serialize;

pub use command::{run_redact_command, RedactCommandError, RedactStats, UNREADABLE};
pub use names::pseudonymise_field;
pub use policy::{Policy, PolicyError, BUILTIN_POLICIES, KNOWN_FIELDS};

/// What the engine decided about one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Publish this redacted record.
    Publish {
        record: serde_json::Value,
        redactions: Vec<Redaction>,
    },
    /// Do not publish; send to quarantine with the reason.
    Withhold {
        reason: WithholdReason,
        /// Names fields and rules, never values.
        detail: String,
    },
}

impl Outcome {
    /// The reason when withheld.
    pub fn withheld_reason(&self) -> Option<WithholdReason> {
        match self {
            Outcome::Withhold { reason, .. } => Some(*reason),
            Outcome::Publish { .. } => None,
        }
    }

    /// The redactions when published (empty when withheld).
    pub fn redactions(&self) -> &[Redaction] {
        match self {
            Outcome::Publish { redactions, .. } => redactions,
            Outcome::Withhold { .. } => &[],
        }
    }
}

/// One kind of redaction in one field: `{"rule":"mobile","field":"facts","count":2}`. Never the
/// removed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redaction {
    /// One of [`RULES`].
    pub rule: &'static str,
    /// Dotted path, with list indices (`penalty_kinds[0]`).
    pub field: String,
    pub count: u32,
}

/// Every redaction rule name, the label set of the redaction metric.
pub const RULES: [&str; 17] = [
    "resident_id",
    "mobile",
    "landline",
    "bank_card",
    "bank_account",
    "email",
    "vehicle_plate",
    "qq",
    "wechat",
    "address",
    "person_name",
    "passport",
    "counterparty_name",
    "removed_value",
    "field_remove",
    "field_mask",
    "field_pseudonymise",
];

/// Why a record is withheld: stable snake_case codes, used as metric labels and in quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WithholdReason {
    /// `classification` not allowed by the policy (`secret` never is).
    Classified,
    /// A natural-person counterparty under 18 on `decided_on`.
    Minor,
    /// A major decision without a passed legal review.
    MajorWithoutLegalReview,
    /// A simple-procedure warning in a region that does not publish them.
    SimpleWarningNotPublished,
    /// The engine cannot decide: malformed shape, unknown counterparty kind, unreadable birth date.
    Undecidable,
}

impl WithholdReason {
    pub const ALL: [WithholdReason; 5] = [
        WithholdReason::Classified,
        WithholdReason::Minor,
        WithholdReason::MajorWithoutLegalReview,
        WithholdReason::SimpleWarningNotPublished,
        WithholdReason::Undecidable,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            WithholdReason::Classified => "classified",
            WithholdReason::Minor => "minor",
            WithholdReason::MajorWithoutLegalReview => "major_without_legal_review",
            WithholdReason::SimpleWarningNotPublished => "simple_warning_not_published",
            WithholdReason::Undecidable => "undecidable",
        }
    }
}

impl std::fmt::Display for WithholdReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_rule_list_matches_the_scanner() {
        let internal: Vec<&str> = scan::Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(internal, RULES);
    }

    #[test]
    fn reason_codes_serialize_as_their_code() {
        for r in WithholdReason::ALL {
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.code())
            );
            assert_eq!(r.to_string(), r.code());
        }
    }
}
