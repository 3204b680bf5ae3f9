//! The Kafka envelope (CONTRACT §4). Field order is the contract's, so a platform that diffs raw
//! messages sees exactly the documented shape.

use serde::Serialize;
use serde_json::Value;

/// Why a record is withdrawn from a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetractReason {
    Revoked,
    ConfirmedIllegal,
    ConfirmedVoid,
    Redecided,
    PublicityExpired,
    Manual,
}

impl RetractReason {
    pub const ALL: [RetractReason; 6] = [
        RetractReason::Revoked,
        RetractReason::ConfirmedIllegal,
        RetractReason::ConfirmedVoid,
        RetractReason::Redecided,
        RetractReason::PublicityExpired,
        RetractReason::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetractReason::Revoked => "revoked",
            RetractReason::ConfirmedIllegal => "confirmed_illegal",
            RetractReason::ConfirmedVoid => "confirmed_void",
            RetractReason::Redecided => "redecided",
            RetractReason::PublicityExpired => "publicity_expired",
            RetractReason::Manual => "manual",
        }
    }

    pub fn parse(code: &str) -> Option<RetractReason> {
        RetractReason::ALL.into_iter().find(|r| r.as_str() == code)
    }

    /// The reason a source status gives, for statuses that withdraw a decision.
    pub fn for_status(status: dhub_schema::Status) -> Option<RetractReason> {
        use dhub_schema::Status;
        match status {
            Status::Revoked => Some(RetractReason::Revoked),
            Status::ConfirmedIllegal => Some(RetractReason::ConfirmedIllegal),
            Status::ConfirmedVoid => Some(RetractReason::ConfirmedVoid),
            Status::Redecided => Some(RetractReason::Redecided),
            Status::InForce | Status::Changed => None,
        }
    }
}

/// The envelope schema a platform of `format` gets for a record of `category`: a `sgs.2021` feed gets
/// the national field codes for penalties and licences, and `disclosure.v1` for the categories
/// without them (its `schema` header says which).
pub fn schema_for(format: &str, category: Option<dhub_schema::Category>) -> &str {
    use dhub_schema::Category;
    if format == dhub_compliance::sgs2021::FORMAT_NAME
        && !matches!(category, Some(Category::Penalty | Category::Licensing))
    {
        return dhub_schema::SCHEMA_NAME;
    }
    format
}

#[derive(Serialize)]
struct Upsert<'a> {
    schema: &'a str,
    op: &'static str,
    record_id: &'a str,
    version: u64,
    emitted_at: &'a str,
    record: &'a Value,
    /// CONTRACT §4: the documents by reference, `{kind, media_type, sha256, size, url}`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    documents: &'a [dhub_documents::DocumentDescriptor],
}

#[derive(Serialize)]
struct Retract<'a> {
    schema: &'a str,
    op: &'static str,
    record_id: &'a str,
    version: u64,
    emitted_at: &'a str,
    reason: RetractReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// `{"schema","op":"upsert","record_id","version","emitted_at","record"}` with the redacted record.
pub fn upsert_envelope(
    schema: &str,
    record_id: &str,
    version: u64,
    emitted_at: &str,
    record: &Value,
) -> Vec<u8> {
    upsert_envelope_with_documents(schema, record_id, version, emitted_at, record, &[])
}

/// [`upsert_envelope`] with `"documents"` after the record (left out when there are none).
pub fn upsert_envelope_with_documents(
    schema: &str,
    record_id: &str,
    version: u64,
    emitted_at: &str,
    record: &Value,
    documents: &[dhub_documents::DocumentDescriptor],
) -> Vec<u8> {
    let envelope = Upsert {
        schema,
        op: "upsert",
        record_id,
        version,
        emitted_at,
        record,
        documents,
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// `{"schema","op":"retract","record_id","version","emitted_at","reason","note"}`: no record, so no
/// personal data. The note is written by an official, never copied from the record.
pub fn retract_envelope(
    schema: &str,
    record_id: &str,
    version: u64,
    emitted_at: &str,
    reason: RetractReason,
    note: Option<&str>,
) -> Vec<u8> {
    let envelope = Retract {
        schema,
        op: "retract",
        record_id,
        version,
        emitted_at,
        reason,
        note,
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The schema decides which statuses withdraw a decision; the retraction reasons must cover
    /// exactly those, or a withdrawn decision would stay public (or one in force be retracted).
    #[test]
    fn every_withdrawing_status_and_only_those_has_a_retraction_reason() {
        for status in dhub_schema::Status::ALL {
            assert_eq!(
                RetractReason::for_status(*status).is_some(),
                status.withdraws(),
                "{}",
                status.as_str()
            );
        }
    }

    #[test]
    fn upsert_has_the_contract_shape_and_order() {
        let bytes = upsert_envelope(
            "disclosure.v1",
            "finance-oa:1",
            3,
            "2026-11-21T00:00:00Z",
            &json!({"a": 1}),
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"schema":"disclosure.v1","op":"upsert","record_id":"finance-oa:1","version":3,"emitted_at":"2026-11-21T00:00:00Z","record":{"a":1}}"#
        );
    }

    #[test]
    fn retract_carries_reason_and_note_but_no_record() {
        let bytes = retract_envelope(
            "disclosure.v1",
            "finance-oa:1",
            4,
            "t",
            RetractReason::Revoked,
            Some("复议撤销"),
        );
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["op"], "retract");
        assert_eq!(value["reason"], "revoked");
        assert_eq!(value["note"], "复议撤销");
        assert!(value.get("record").is_none());
        let without_note =
            retract_envelope("disclosure.v1", "x:1", 2, "t", RetractReason::Manual, None);
        assert!(!String::from_utf8(without_note).unwrap().contains("note"));
    }

    #[test]
    fn reasons_parse_and_follow_statuses() {
        for reason in RetractReason::ALL {
            assert_eq!(RetractReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(RetractReason::parse("bogus"), None);
        assert_eq!(
            RetractReason::for_status(dhub_schema::Status::ConfirmedVoid),
            Some(RetractReason::ConfirmedVoid)
        );
        assert_eq!(
            RetractReason::for_status(dhub_schema::Status::Changed),
            None
        );
    }
}
