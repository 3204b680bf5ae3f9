//! Feed messages and the envelope inside them (CONTRACT §4).
//!
//! Parsing is pure and total: any byte string either becomes an [`Envelope`] or an
//! [`EnvelopeError`] that names the field at fault. Errors never quote the payload, because
//! serde's own messages do ("invalid type: string \"张三\"") and a rejected payload may hold
//! whatever a broken producer put in it.

use chrono::NaiveDate;
use serde_json::{Map, Value};

/// The longest `record_id` accepted; longer ones are rejected rather than stored as keys.
pub const MAX_RECORD_ID_CHARS: usize = 512;

/// One message as it came off the feed: where it was, its key and its value.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    /// The `signature` header (CONTRACT §4), when the message has one.
    pub signature: Option<Vec<u8>>,
}

impl FeedMessage {
    /// A message whose key is `record_id`-shaped text and whose value is `payload`, as tests and
    /// replays build them.
    pub fn new(
        topic: impl Into<String>,
        partition: i32,
        offset: i64,
        key: Option<&str>,
        payload: impl Into<Vec<u8>>,
    ) -> FeedMessage {
        FeedMessage {
            topic: topic.into(),
            partition,
            offset,
            key: key.map(|k| k.as_bytes().to_vec()),
            payload: Some(payload.into()),
            signature: None,
        }
    }

    /// The same message with a `signature` header.
    pub fn signed(mut self, signature: impl Into<Vec<u8>>) -> FeedMessage {
        self.signature = Some(signature.into());
        self
    }
}

/// Only the position: key and payload may carry data that must not reach logs.
impl std::fmt::Debug for FeedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedMessage")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("key_bytes", &self.key.as_ref().map(Vec::len))
            .field("payload_bytes", &self.payload.as_ref().map(Vec::len))
            .field("signed", &self.signature.is_some())
            .finish()
    }
}

/// What an envelope asks the platform to do.
#[derive(Clone, PartialEq)]
pub enum Operation {
    /// Show this (already redacted) record, replacing any older version.
    Upsert { record: Map<String, Value> },
    /// Withdraw the record; keep a tombstone of its version.
    Retract {
        reason: Option<String>,
        note: Option<String>,
    },
}

/// The record's content and the free-text note stay out of Debug output.
impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operation::Upsert { record } => f
                .debug_struct("Upsert")
                .field("record_fields", &record.len())
                .finish(),
            Operation::Retract { reason, note } => f
                .debug_struct("Retract")
                .field("reason", reason)
                .field("note", &note.as_ref().map(|_| "***"))
                .finish(),
        }
    }
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Upsert { .. } => "upsert",
            Operation::Retract { .. } => "retract",
        }
    }
}

/// A valid envelope.
#[derive(Clone, PartialEq)]
pub struct Envelope {
    pub schema: String,
    pub record_id: String,
    /// Non-negative; kept as `i64` because that is what both databases store.
    pub version: i64,
    pub emitted_at: Option<String>,
    pub operation: Operation,
}

/// The record is public data, but a Debug line has no business printing it whole.
impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("schema", &self.schema)
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("op", &self.operation.name())
            .finish()
    }
}

/// Why a message is not a valid envelope. Names fields, never quotes values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message has no value; a feed message must carry a JSON envelope")]
    EmptyPayload,
    #[error("value is not valid JSON ({category} error at line {line}, column {column})")]
    NotJson {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("value is JSON but not an object; an envelope is a JSON object")]
    NotAnObject,
    #[error("envelope field `{0}` is missing")]
    MissingField(&'static str),
    #[error("envelope field `{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("envelope field `op` must be \"upsert\" or \"retract\"")]
    UnknownOperation,
    #[error("envelope field `record_id` must be 1 to {MAX_RECORD_ID_CHARS} characters")]
    BadRecordId,
    #[error("envelope field `version` must be an integer from 0 to 9223372036854775807")]
    BadVersion,
    #[error("message key does not equal the envelope's `record_id`")]
    KeyMismatch,
    #[error("the record's `record_id` does not equal the envelope's `record_id`")]
    RecordIdMismatch,
}

impl Envelope {
    /// Parses and checks one feed message.
    pub fn from_message(message: &FeedMessage) -> Result<Envelope, EnvelopeError> {
        let payload = match &message.payload {
            Some(bytes) if !bytes.is_empty() => bytes,
            _ => return Err(EnvelopeError::EmptyPayload),
        };
        let envelope = Envelope::parse(payload)?;
        if let Some(key) = &message.key {
            // The contract keys every message by record_id; a different key means the partitioning
            // (and so the per-key ordering we rely on) cannot be trusted for this message.
            if key.as_slice() != envelope.record_id.as_bytes() {
                return Err(EnvelopeError::KeyMismatch);
            }
        }
        Ok(envelope)
    }

    /// Parses and checks one envelope value.
    pub fn parse(payload: &[u8]) -> Result<Envelope, EnvelopeError> {
        let value: Value = serde_json::from_slice(payload).map_err(|e| EnvelopeError::NotJson {
            category: match e.classify() {
                serde_json::error::Category::Io => "read",
                serde_json::error::Category::Syntax => "syntax",
                serde_json::error::Category::Data => "data",
                serde_json::error::Category::Eof => "unexpected end",
            },
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(mut object) = value else {
            return Err(EnvelopeError::NotAnObject);
        };

        let schema = required_string(&object, "schema")?;
        let record_id = required_string(&object, "record_id")?;
        if record_id.is_empty() || record_id.chars().count() > MAX_RECORD_ID_CHARS {
            return Err(EnvelopeError::BadRecordId);
        }
        let version = match object.get("version") {
            None | Some(Value::Null) => return Err(EnvelopeError::MissingField("version")),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|v| i64::try_from(v).ok())
                .ok_or(EnvelopeError::BadVersion)?,
            Some(_) => return Err(EnvelopeError::BadVersion),
        };
        let emitted_at = optional_string(&object, "emitted_at")?;
        let op = required_string(&object, "op")?;
        let operation = match op.as_str() {
            "upsert" => match object.remove("record") {
                None | Some(Value::Null) => return Err(EnvelopeError::MissingField("record")),
                Some(Value::Object(mut record)) => {
                    if let Some(inner) = record.get("record_id") {
                        if inner.as_str() != Some(record_id.as_str()) {
                            return Err(EnvelopeError::RecordIdMismatch);
                        }
                    }
                    // CONTRACT §4: the documents by reference, kept with the record so that the
                    // view shows and the keeper fetches them (`crate::documents`).
                    match object.remove("documents") {
                        None | Some(Value::Null) => {}
                        Some(documents) => {
                            let documents = crate::documents::check_descriptors(documents)
                                .map_err(|expected| EnvelopeError::WrongType {
                                    field: "documents",
                                    expected,
                                })?;
                            record.insert("documents".into(), documents);
                        }
                    }
                    Operation::Upsert { record }
                }
                Some(_) => {
                    return Err(EnvelopeError::WrongType {
                        field: "record",
                        expected: "a JSON object",
                    })
                }
            },
            // A retraction without a reason is still applied: showing a withdrawn decision is the
            // worse failure for a disclosure platform than an unexplained withdrawal.
            "retract" => Operation::Retract {
                reason: optional_string(&object, "reason")?,
                note: optional_string(&object, "note")?,
            },
            _ => return Err(EnvelopeError::UnknownOperation),
        };
        Ok(Envelope {
            schema,
            record_id,
            version,
            emitted_at,
            operation,
        })
    }
}

fn required_string(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<String, EnvelopeError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(EnvelopeError::MissingField(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(EnvelopeError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn optional_string(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, EnvelopeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(EnvelopeError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// The columns the search API filters on, pulled out of a record.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SearchColumns {
    pub counterparty_name: Option<String>,
    pub document_no: Option<String>,
    pub agency_name: Option<String>,
    /// Only a valid date, as `YYYY-MM-DD`, so that string order is date order in both databases.
    pub decided_on: Option<String>,
    pub category: Option<String>,
}

impl std::fmt::Debug for SearchColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The counterparty may be a (pseudonymised) natural person: show presence only.
        f.debug_struct("SearchColumns")
            .field(
                "counterparty_name",
                &self.counterparty_name.as_ref().map(|_| "***"),
            )
            .field("document_no", &self.document_no)
            .field("agency_name", &self.agency_name)
            .field("decided_on", &self.decided_on)
            .field("category", &self.category)
            .finish()
    }
}

impl SearchColumns {
    /// Extracts the search columns of a record in the feed's schema.
    ///
    /// `disclosure.v1` (CONTRACT §3) uses nested English names. A platform fed `sgs.2021` gets the
    /// national 双公示 field codes instead (CF_* for penalties, XK_* for licences); the category
    /// is implied by which family of codes the record uses. Missing or malformed fields leave the
    /// column empty: the record is still shown, it is only not findable by that filter.
    pub fn extract(schema: &str, record: &Map<String, Value>) -> SearchColumns {
        if schema == "sgs.2021" {
            let first = |codes: &[&str]| {
                codes
                    .iter()
                    .find_map(|code| record.get(*code).and_then(Value::as_str))
                    .map(str::to_owned)
            };
            let category = if record.keys().any(|k| k.starts_with("CF_")) {
                Some("penalty".to_owned())
            } else if record.keys().any(|k| k.starts_with("XK_")) {
                Some("licensing".to_owned())
            } else {
                None
            };
            return SearchColumns {
                counterparty_name: first(&["CF_XDR_MC", "XK_XDR_MC"]),
                document_no: first(&["CF_WSH", "XK_WSH"]),
                agency_name: first(&["CF_CFJG", "XK_XKJG"]),
                decided_on: first(&["CF_JDRQ", "XK_JDRQ"]).and_then(|d| normalize_date(&d)),
                category,
            };
        }
        let text = |path: &[&str]| {
            let mut value = record.get(path[0])?;
            for step in &path[1..] {
                value = value.get(step)?;
            }
            value.as_str().map(str::to_owned)
        };
        SearchColumns {
            counterparty_name: text(&["counterparty", "name"]),
            document_no: text(&["document_no"]),
            agency_name: text(&["agency", "name"]),
            decided_on: text(&["decided_on"]).and_then(|d| normalize_date(&d)),
            category: text(&["category"]),
        }
    }
}

/// `YYYY-MM-DD` (or the `YYYY/MM/DD` some national exports use) as `YYYY-MM-DD`, else nothing.
fn normalize_date(text: &str) -> Option<String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y/%m/%d"))
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// Case folding for substring search, done here rather than with SQL `lower()`, which folds only
/// ASCII in SQLite but all of Unicode in Postgres.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Envelope, EnvelopeError> {
        Envelope::parse(value.to_string().as_bytes())
    }

    fn upsert() -> Value {
        json!({"schema":"disclosure.v1","op":"upsert","record_id":"oa:1","version":3,
               "emitted_at":"2026-01-01T00:00:00Z","record":{"record_id":"oa:1","version":3}})
    }

    #[test]
    fn a_valid_upsert_and_retract_parse() {
        let envelope = parse(upsert()).unwrap();
        assert_eq!(envelope.record_id, "oa:1");
        assert_eq!(envelope.version, 3);
        assert_eq!(envelope.schema, "disclosure.v1");
        assert!(matches!(envelope.operation, Operation::Upsert { .. }));

        let retract = parse(
            json!({"schema":"disclosure.v1","op":"retract","record_id":"oa:1",
            "version":4,"emitted_at":"x","reason":"revoked","note":"复议撤销"}),
        )
        .unwrap();
        assert_eq!(
            retract.operation,
            Operation::Retract {
                reason: Some("revoked".into()),
                note: Some("复议撤销".into())
            }
        );
    }

    #[test]
    fn bad_json_is_reported_by_position_without_the_payload() {
        let err =
            Envelope::parse("{\"record_id\": \"张三 110101199003077777\",".as_bytes()).unwrap_err();
        assert!(matches!(err, EnvelopeError::NotJson { line: 1, .. }));
        let text = err.to_string();
        assert!(!text.contains("张三") && !text.contains("1101"), "{text}");
    }

    #[test]
    fn a_wrongly_typed_field_is_named_not_quoted() {
        let mut value = upsert();
        value["version"] = json!("张三");
        let err = parse(value).unwrap_err();
        assert_eq!(err, EnvelopeError::BadVersion);
        assert!(!err.to_string().contains("张三"));

        let mut value = upsert();
        value["schema"] = json!(7);
        assert_eq!(
            parse(value).unwrap_err(),
            EnvelopeError::WrongType {
                field: "schema",
                expected: "a string"
            }
        );
    }

    #[test]
    fn every_required_field_is_checked() {
        for field in ["schema", "record_id", "version", "op", "record"] {
            let mut value = upsert();
            value.as_object_mut().unwrap().remove(field);
            assert_eq!(
                parse(value).unwrap_err(),
                EnvelopeError::MissingField(field),
                "{field}"
            );
        }
    }

    #[test]
    fn unknown_op_negative_version_and_empty_id_are_rejected() {
        let mut value = upsert();
        value["op"] = json!("delete");
        assert_eq!(parse(value).unwrap_err(), EnvelopeError::UnknownOperation);

        let mut value = upsert();
        value["version"] = json!(-1);
        assert_eq!(parse(value).unwrap_err(), EnvelopeError::BadVersion);

        let mut value = upsert();
        value["version"] = json!(1.5);
        assert_eq!(parse(value).unwrap_err(), EnvelopeError::BadVersion);

        let mut value = upsert();
        value["version"] = json!(u64::MAX);
        assert_eq!(parse(value).unwrap_err(), EnvelopeError::BadVersion);

        let mut value = upsert();
        value["record_id"] = json!("");
        assert_eq!(parse(value).unwrap_err(), EnvelopeError::BadRecordId);

        let mut value = upsert();
        value["record"] = json!([1, 2]);
        assert!(matches!(
            parse(value).unwrap_err(),
            EnvelopeError::WrongType {
                field: "record",
                ..
            }
        ));

        assert_eq!(parse(json!([1])).unwrap_err(), EnvelopeError::NotAnObject);
    }

    #[test]
    fn record_id_inside_the_record_must_agree() {
        let mut value = upsert();
        value["record"]["record_id"] = json!("oa:2");
        assert_eq!(parse(value).unwrap_err(), EnvelopeError::RecordIdMismatch);
    }

    #[test]
    fn the_key_must_be_the_record_id_and_the_value_present() {
        let payload = upsert().to_string();
        let good = FeedMessage::new("t", 0, 0, Some("oa:1"), payload.clone());
        assert!(Envelope::from_message(&good).is_ok());
        let keyless = FeedMessage::new("t", 0, 0, None, payload.clone());
        assert!(Envelope::from_message(&keyless).is_ok());
        let wrong = FeedMessage::new("t", 0, 0, Some("oa:9"), payload);
        assert_eq!(
            Envelope::from_message(&wrong).unwrap_err(),
            EnvelopeError::KeyMismatch
        );
        let mut empty = good.clone();
        empty.payload = None;
        assert_eq!(
            Envelope::from_message(&empty).unwrap_err(),
            EnvelopeError::EmptyPayload
        );
    }

    #[test]
    fn a_retract_without_reason_is_still_a_retract() {
        let envelope =
            parse(json!({"schema":"disclosure.v1","op":"retract","record_id":"oa:1","version":4}))
                .unwrap();
        assert_eq!(
            envelope.operation,
            Operation::Retract {
                reason: None,
                note: None
            }
        );
    }

    #[test]
    fn search_columns_come_from_disclosure_v1_paths() {
        let record = json!({"counterparty":{"name":"张某","kind":"natural_person"},
            "document_no":"茌财罚〔2026〕3号","agency":{"name":"茌平区财政局"},
            "decided_on":"2026-03-01","category":"penalty"});
        let columns = SearchColumns::extract("disclosure.v1", record.as_object().unwrap());
        assert_eq!(columns.counterparty_name.as_deref(), Some("张某"));
        assert_eq!(columns.document_no.as_deref(), Some("茌财罚〔2026〕3号"));
        assert_eq!(columns.agency_name.as_deref(), Some("茌平区财政局"));
        assert_eq!(columns.decided_on.as_deref(), Some("2026-03-01"));
        assert_eq!(columns.category.as_deref(), Some("penalty"));
        assert!(!format!("{columns:?}").contains("张某"));
    }

    #[test]
    fn a_malformed_date_leaves_the_column_empty() {
        let record = json!({"decided_on":"2026-02-30"});
        let columns = SearchColumns::extract("disclosure.v1", record.as_object().unwrap());
        assert_eq!(columns.decided_on, None);
    }

    #[test]
    fn search_columns_come_from_national_codes_for_sgs() {
        let record = json!({"CF_XDR_MC":"某公司","CF_WSH":"罚〔2026〕1号","CF_CFJG":"局",
                            "CF_JDRQ":"2026/03/01"});
        let columns = SearchColumns::extract("sgs.2021", record.as_object().unwrap());
        assert_eq!(columns.counterparty_name.as_deref(), Some("某公司"));
        assert_eq!(columns.document_no.as_deref(), Some("罚〔2026〕1号"));
        assert_eq!(columns.agency_name.as_deref(), Some("局"));
        assert_eq!(columns.decided_on.as_deref(), Some("2026-03-01"));
        assert_eq!(columns.category.as_deref(), Some("penalty"));
    }

    #[test]
    fn debug_output_shows_position_not_content() {
        let message = FeedMessage::new("t", 1, 7, Some("oa:1"), "张三 13812345678");
        let text = format!("{message:?}");
        assert!(text.contains("offset: 7"));
        assert!(!text.contains("张三") && !text.contains("138"));
    }
}
