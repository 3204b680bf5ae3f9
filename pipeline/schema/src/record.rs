//! The `disclosure.v1` record (CONTRACT §3) as Rust types. Field names and enum spellings are the
//! contract's; `deny_unknown_fields` everywhere, so a mapping that writes a misspelt field fails loudly.
//!
//! `Debug` of a record prints only its id and version: records carry personal data, and a stray
//! `{:?}` in a log line must not leak it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

string_enum!(
    /// 执法类别: the six enforcement categories.
    Category {
        Licensing = "licensing",
        Penalty = "penalty",
        Coercion = "coercion",
        Levy = "levy",
        Fee = "fee",
        Inspection = "inspection",
    }
);

string_enum!(
    /// 当前状态. Every status but `in_force` and `changed` takes the decision off the platforms.
    Status {
        InForce = "in_force",
        Changed = "changed",
        Revoked = "revoked",
        ConfirmedIllegal = "confirmed_illegal",
        ConfirmedVoid = "confirmed_void",
        Redecided = "redecided",
    }
);

impl Status {
    /// Whether a decision with this status must be withdrawn from every platform (行政处罚法 Art. 48).
    pub fn withdraws(self) -> bool {
        !matches!(self, Status::InForce | Status::Changed)
    }
}

string_enum!(
    /// 程序.
    Procedure { Simple = "simple", Ordinary = "ordinary" }
);

string_enum!(
    /// 行政相对人类别.
    CounterpartyKind {
        LegalPerson = "legal_person",
        NaturalPerson = "natural_person",
        IndividualBusiness = "individual_business",
    }
);

string_enum!(
    /// 证件类型 of a natural person or legal representative.
    IdType {
        ResidentId = "resident_id",
        Passport = "passport",
        HkMacaoPermit = "hk_macao_permit",
        TaiwanPermit = "taiwan_permit",
        ForeignPermanentResidence = "foreign_permanent_residence",
        Other = "other",
    }
);

string_enum!(
    /// 处罚类别.
    PenaltyKind {
        Warning = "warning",
        PublicCriticism = "public_criticism",
        Fine = "fine",
        ConfiscateGains = "confiscate_gains",
        ConfiscateProperty = "confiscate_property",
        SuspendLicense = "suspend_license",
        LowerQualification = "lower_qualification",
        RevokeLicense = "revoke_license",
        RestrictOperations = "restrict_operations",
        SuspendBusiness = "suspend_business",
        Close = "close",
        RestrictPractice = "restrict_practice",
        Detention = "detention",
        Other = "other",
    }
);

string_enum!(
    /// 密级. `secret` never leaves the hub.
    Classification { Public = "public", Internal = "internal", Secret = "secret" }
);

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub record_id: String,
    /// Assigned by the hub's state store; a mapping leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_check: Option<bool>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Procedure>,
    pub division_code: String,
    pub agency: Unit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_unit: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_title: Option<String>,
    pub counterparty: Counterparty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub penalty_kinds: Vec<PenaltyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confiscated_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<License>,
    pub decided_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicity_until: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub major: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_review: Option<LegalReview>,
    #[serde(default = "default_classification")]
    pub classification: Classification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    /// When a withdrawing or changing status took effect (状态变更日期): the 3-day withdrawal
    /// deadline counts from it (absent: from the day the hub received the version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed_on: Option<NaiveDate>,
    pub source: SourceRef,
}

fn default_classification() -> Classification {
    Classification::Public
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// An agency or data-source unit: public bodies, so their names and codes are public too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterparty {
    pub name: String,
    pub kind: CounterpartyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_org_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_rep: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<IdType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl std::fmt::Debug for Counterparty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counterparty")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A legal representative.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<IdType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Person(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct License {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalReview {
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_on: Option<NaiveDate>,
}

/// Lineage: which source system and which of its keys the record came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub name: String,
    pub key: String,
    pub fetched_at: String,
    /// When the source system last changed the case, where the mapping gives it (see
    /// [`crate::stamp`]): a version older than the stored one is held back as stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The source system's change sequence of the case, where the mapping gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<String>,
}
