//! Strict validation: a mapped JSON object becomes a typed [`Record`] only when every field is of the
//! contract's shape and every code checks out. Failures name the field (`counterparty.id_number`) and the
//! rule, never the value, because most values here are personal data.
//!
//! No text field may hold a control character other than TAB, LF and CR (C0 controls and DEL): a
//! NUL makes Postgres refuse the row, and none of them is meant as text. A department's JSON can
//! carry one as `"\u0000"` and its XML as `&#0;`; both readers let it through to here, where the
//! record alone is refused, naming the field and the character's code point, never the value.

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::divisions;
use crate::identifiers::{check_org_code, check_resident_id, check_uscc, UsccCheck};
use crate::record::{Category, CounterpartyKind, IdType, PenaltyKind, Record};

/// One failed rule: the dotted field path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every rule a record failed. Display joins them with `; ` for a one-line quarantine reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors {
    pub errors: Vec<FieldError>,
}

/// A record that passed, with the warnings worth keeping (e.g. a USCC from the early pilots whose check
/// digit fails, which DOMAIN.md says to accept).
#[derive(Debug, Clone)]
pub struct Validated {
    pub record: Record,
    pub warnings: Vec<String>,
}

/// Validates a mapped record against `disclosure.v1`, with today's date for the "not in the future" rule.
pub fn validate(value: &Value) -> Result<Validated, ValidationErrors> {
    validate_on(value, Utc::now().date_naive())
}

/// [`validate`] with an explicit "today", for reproducible tests.
pub fn validate_on(value: &Value, today: NaiveDate) -> Result<Validated, ValidationErrors> {
    let controls = control_characters(value);
    // Field paths cost an allocation per field: they are worked out only for a record that fails.
    let record: Record = match Record::deserialize(value) {
        Ok(record) => record,
        Err(_) => match serde_path_to_error::deserialize::<_, Record>(value) {
            Ok(record) => record,
            Err(error) => {
                let field = error.path().to_string();
                let field = printable(if field == "." { "record".into() } else { field });
                let mut errors = controls;
                // A shape error on a field already refused for a control character is most likely that
                // character (`unknown variant`), said twice.
                if !errors.iter().any(|known| known.field == field) {
                    errors.push(FieldError {
                        field,
                        message: printable(without_quoted_values(&error.inner().to_string())),
                    });
                }
                return Err(ValidationErrors { errors });
            }
        },
    };
    let mut checks = Checks {
        errors: controls,
        ..Checks::default()
    };
    checks.run(&record, today);
    if checks.errors.is_empty() {
        Ok(Validated {
            record,
            warnings: checks.warnings,
        })
    } else {
        Err(ValidationErrors {
            errors: checks.errors,
        })
    }
}

/// serde's messages quote offending string values (`invalid type: string "张三"`); drop those quotes'
/// contents so a type error on a personal field cannot leak it. Backtick-quoted parts (enum variants,
/// field names) are kept: they are schema words, not data.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…\"");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// Every text in the record, object keys included, at any depth, that holds a control character
/// other than TAB, LF and CR: one error per field, naming the first such character. Walked with an
/// explicit stack, so a hostile nesting cannot exhaust the thread's stack.
fn control_characters(value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    // The paths cost an allocation per field: they are worked out only when there is one to name.
    if !holds_control_character(value) {
        return errors;
    }
    let mut pending: Vec<(String, &Value)> = vec![(String::new(), value)];
    while let Some((path, value)) = pending.pop() {
        match value {
            Value::String(text) => {
                if let Some(control) = control_character(text) {
                    errors.push(FieldError {
                        field: if path.is_empty() {
                            "record".into()
                        } else {
                            path
                        },
                        message: format!(
                            "contains the control character U+{:04X}; remove it at the source",
                            u32::from(control)
                        ),
                    });
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate().rev() {
                    pending.push((format!("{path}[{index}]"), item));
                }
            }
            Value::Object(members) => {
                for (key, member) in members.iter().rev() {
                    if let Some(control) = control_character(key) {
                        errors.push(FieldError {
                            field: if path.is_empty() { "record".into() } else { path.clone() },
                            message: format!(
                                "a field name contains the control character U+{:04X}; remove it at the source",
                                u32::from(control)
                            ),
                        });
                        continue;
                    }
                    let field = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    pending.push((field, member));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    errors
}

/// Whether any text in the record, object keys included, holds a control character other than TAB,
/// LF and CR ([`control_characters`] without the field paths). An explicit stack, as there.
fn holds_control_character(value: &Value) -> bool {
    let mut pending: Vec<&Value> = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) if control_character(text).is_some() => return true,
            Value::Array(items) => pending.extend(items),
            Value::Object(members) => {
                for (key, member) in members {
                    if control_character(key).is_some() {
                        return true;
                    }
                    pending.push(member);
                }
            }
            _ => {}
        }
    }
    false
}

/// The first character no text may hold: a C0 control other than TAB, LF and CR, or DEL.
fn control_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// `text` with control characters written as `U+XXXX`: serde's messages and paths can quote a
/// field name or an enum variant from the record, and a NUL in a quarantine reason would make the
/// store refuse the row that records the failure.
fn printable(text: String) -> String {
    if !text.chars().any(|c| c.is_ascii_control()) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_ascii_control() {
                format!("U+{:04X}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[derive(Default)]
struct Checks {
    errors: Vec<FieldError>,
    warnings: Vec<String>,
}

impl Checks {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn run(&mut self, record: &Record, today: NaiveDate) {
        let expected_id = format!("{}:{}", record.source.name, record.source.key);
        if record.source.name.is_empty() || record.source.key.is_empty() {
            self.fail("source", "name and key must not be empty");
        } else if record.record_id != expected_id {
            self.fail(
                "record_id",
                "must be the source name and source key joined by ':'",
            );
        }
        if let Err((field, message)) = crate::stamp::source_stamp(&record.source) {
            self.fail(field, message);
        }
        if !divisions::is_known(&record.division_code) {
            self.fail(
                "division_code",
                "is not a GB/T 2260 division code (6 digits, in use 1981–2024)",
            );
        } else if !divisions::valid_on(&record.division_code, record.decided_on)
            && !divisions::valid_on(
                divisions::canonical(&record.division_code),
                record.decided_on,
            )
        {
            // An old code whose successor was in use is accepted (and routed to the successor's
            // platforms); a code not yet created, or revoked without a successor, is not.
            self.fail(
                "division_code",
                "was not in use on decided_on (GB/T 2260), and no successor of it was",
            );
        }
        self.non_empty("agency.name", &record.agency.name);
        self.uscc("agency.uscc", record.agency.uscc.as_deref());
        if let Some(unit) = &record.source_unit {
            self.non_empty("source_unit.name", &unit.name);
            self.uscc("source_unit.uscc", unit.uscc.as_deref());
        }
        self.counterparty(record);
        self.category_rules(record);
        self.dates(record, today);
        if record.major && record.legal_review.is_none() {
            self.fail("legal_review", "is required when major is true");
        }
    }

    fn non_empty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        }
    }

    fn uscc(&mut self, field: &str, code: Option<&str>) {
        match code.map(check_uscc) {
            None | Some(Ok(UsccCheck::Valid)) | Some(Ok(UsccCheck::Placeholder)) => {}
            Some(Ok(UsccCheck::CheckDigitMismatch)) => self.warnings.push(format!(
                "{field}: check digit does not match (accepted: early pilot codes may fail it)"
            )),
            Some(Err(problem)) => self.fail(
                field,
                format!("is not a unified social credit code: {problem}"),
            ),
        }
    }

    fn person_id(&mut self, field: &str, id_type: Option<IdType>, id_number: Option<&str>) {
        let Some(id_number) = id_number else { return };
        match id_type {
            Some(IdType::ResidentId) => {
                if let Err(problem) = check_resident_id(id_number) {
                    self.fail(field, format!("is not a valid resident ID: {problem}"));
                }
            }
            Some(_) => {
                if id_number.trim().is_empty() {
                    self.fail(field, "must not be empty");
                }
            }
            None => self.fail(field, "needs an id_type beside it"),
        }
    }

    fn counterparty(&mut self, record: &Record) {
        let party = &record.counterparty;
        self.non_empty("counterparty.name", &party.name);
        self.uscc("counterparty.uscc", party.uscc.as_deref());
        if let Some(code) = &party.org_code {
            if let Err(problem) = check_org_code(code) {
                self.fail(
                    "counterparty.org_code",
                    format!("is not a valid organisation code: {problem}"),
                );
            }
        }
        if let Some(rep) = &party.legal_rep {
            self.non_empty("counterparty.legal_rep.name", &rep.name);
            self.person_id(
                "counterparty.legal_rep.id_number",
                rep.id_type,
                rep.id_number.as_deref(),
            );
        }
        self.person_id(
            "counterparty.id_number",
            party.id_type,
            party.id_number.as_deref(),
        );
        if party.kind == CounterpartyKind::LegalPerson && party.id_number.is_some() {
            self.fail(
                "counterparty.id_number",
                "belongs to natural persons; a legal person's representative goes in legal_rep",
            );
        }
    }

    fn category_rules(&mut self, record: &Record) {
        if record.random_check.is_some() && record.category != Category::Inspection {
            self.fail("random_check", "applies to inspections only");
        }
        if record.category == Category::Penalty {
            if record.penalty_kinds.is_empty() {
                self.fail("penalty_kinds", "a penalty needs at least one penalty kind");
            }
            if record.penalty_kinds.contains(&PenaltyKind::Fine) && record.fine_amount.is_none() {
                self.fail(
                    "fine_amount",
                    "is required when penalty_kinds contains fine",
                );
            }
        } else if !record.penalty_kinds.is_empty() {
            self.fail("penalty_kinds", "applies to penalties only");
        }
    }

    fn dates(&mut self, record: &Record, today: NaiveDate) {
        // One day of slack: a decision dated "today" in UTC+8 is still "tomorrow" for a UTC clock.
        if record.decided_on > today + chrono::Days::new(1) {
            self.fail("decided_on", "lies in the future");
        }
        if record
            .status_changed_on
            .is_some_and(|date| date > today + chrono::Days::new(1))
        {
            self.fail("status_changed_on", "lies in the future");
        }
        for (field, date) in [
            ("valid_until", record.valid_until),
            ("publicity_until", record.publicity_until),
            ("status_changed_on", record.status_changed_on),
        ] {
            if date.is_some_and(|date| date < record.decided_on) {
                self.fail(field, "lies before decided_on");
            }
        }
        if let Some(license) = &record.license {
            if let (Some(from), Some(to)) = (license.valid_from, license.valid_to) {
                if to < from {
                    self.fail("license.valid_to", "lies before license.valid_from");
                }
            }
        }
    }
}

/// The hash that decides whether a re-exported record changed: the record without the hub-assigned
/// `version` and without `source.fetched_at`, which differs on every export of the same content.
pub fn content_hash(record: &Record) -> Result<String, serde_json::Error> {
    let mut stable = record.clone();
    stable.version = None;
    stable.source.fetched_at.clear();
    // A source that restamps a case without changing it has nothing new to publish.
    stable.source.updated_at = None;
    stable.source.seq = None;
    // One buffer, one digest: serializing straight into the hasher (many small writes) measured
    // slower (`benches/validate.rs`: 3.5–4.0 against 2.9–3.2 µs). No hash of an empty buffer when
    // the record does not serialize: that would look like a record that never changes.
    let bytes = serde_json::to_vec(&stable)?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    fn penalty() -> Value {
        json!({
            "record_id": "finance-oa:CZCF-2017-0001",
            "category": "penalty",
            "status": "in_force",
            "procedure": "ordinary",
            "division_code": "371523",
            "agency": {"name": "茌平县财政局"},
            "document_no": "茌财罚〔2017〕12号",
            "counterparty": {"name": "张三", "kind": "natural_person", "id_type": "resident_id", "id_number": "11010519491231002X"},
            "penalty_kinds": ["warning", "fine"],
            "fine_amount": "5000.00",
            "decided_on": "2017-10-12",
            "publicity_until": "2018-10-12",
            "source": {"name": "finance-oa", "key": "CZCF-2017-0001", "fetched_at": "2026-01-01T00:00:00Z"}
        })
    }

    fn errors_of(value: &Value) -> Vec<String> {
        validate_on(value, today())
            .unwrap_err()
            .errors
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_content_hash_is_the_sha256_of_the_record_serialized_without_its_stamps() {
        // Stored hashes decide whether a record changed: how they are computed must not drift.
        let record = validate_on(&penalty(), today()).unwrap().record;
        let mut stable = record.clone();
        stable.version = None;
        stable.source.fetched_at.clear();
        stable.source.updated_at = None;
        stable.source.seq = None;
        let expected = hex::encode(Sha256::digest(serde_json::to_vec(&stable).unwrap()));
        assert_eq!(content_hash(&record).unwrap(), expected);
        let mut restamped = record.clone();
        restamped.source.fetched_at = "2026-11-02T00:00:00Z".into();
        restamped.version = Some(7);
        assert_eq!(content_hash(&restamped).unwrap(), expected);
    }

    #[test]
    fn a_complete_penalty_validates_and_round_trips() {
        let validated = validate_on(&penalty(), today()).unwrap();
        assert!(validated.warnings.is_empty());
        let back = serde_json::to_value(&validated.record).unwrap();
        let mut expected = penalty();
        expected["classification"] = json!("public");
        assert_eq!(back, expected);
    }

    #[test]
    fn unknown_enum_names_the_field() {
        let mut value = penalty();
        value["status"] = json!("cancelled");
        let errors = errors_of(&value);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("status: unknown variant `cancelled`"),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_field_is_refused() {
        let mut value = penalty();
        value["counterparty"]["nickname"] = json!("x");
        assert!(errors_of(&value)[0].contains("unknown field `nickname`"));
    }

    #[test]
    fn failed_resident_id_check_digit_names_field_not_value() {
        let mut value = penalty();
        value["counterparty"]["id_number"] = json!("110105194912310021");
        let errors = errors_of(&value);
        assert_eq!(
            errors,
            vec!["counterparty.id_number: is not a valid resident ID: check digit does not match"]
        );
    }

    #[test]
    fn type_errors_do_not_echo_string_values() {
        let mut value = penalty();
        value["major"] = json!("张三的电话13812345678");
        let errors = errors_of(&value);
        assert!(errors[0].starts_with("major:"), "{errors:?}");
        assert!(!errors[0].contains("13812345678"), "{errors:?}");
    }

    #[test]
    fn unknown_division_and_fine_without_amount_are_all_reported() {
        let mut value = penalty();
        value["division_code"] = json!("379999");
        value.as_object_mut().unwrap().remove("fine_amount");
        let errors = errors_of(&value);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("division_code:"));
        assert!(errors[1].starts_with("fine_amount:"));
    }

    #[test]
    fn a_division_code_not_in_use_on_the_decision_day_is_refused() {
        // 371503 茌平区 exists since 2019: a 2017 decision cannot name it.
        let mut value = penalty();
        value["division_code"] = json!("371503");
        let errors = errors_of(&value);
        assert_eq!(
            errors,
            ["division_code: was not in use on decided_on (GB/T 2260), and no successor of it was"]
        );
        // The old code 371523 茌平县 on a 2026 decision: its successor 371503 is in use, so it is
        // accepted (and routed there), as on its own 2017 decision.
        let mut later = penalty();
        later["decided_on"] = json!("2026-05-01");
        later["publicity_until"] = json!("2029-05-01");
        assert!(
            validate_on(&later, today()).is_ok(),
            "{:?}",
            validate_on(&later, today()).err()
        );
        assert!(validate_on(&penalty(), today()).is_ok());
    }

    #[test]
    fn uscc_check_digit_mismatch_is_a_warning() {
        let mut value = penalty();
        value["agency"]["uscc"] = json!("11371523004211234Y");
        let validated = validate_on(&value, today()).unwrap();
        assert_eq!(validated.warnings.len(), 1);
        assert!(validated.warnings[0].starts_with("agency.uscc"));
    }

    #[test]
    fn malformed_uscc_and_org_code_are_errors() {
        let mut value = penalty();
        value["counterparty"] = json!({"name": "某公司", "kind": "legal_person", "uscc": "91-bad", "org_code": "D2143569-1"});
        let errors = errors_of(&value);
        assert!(errors.iter().any(|e| e.starts_with("counterparty.uscc:")));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("counterparty.org_code:")));
    }

    #[test]
    fn major_needs_legal_review_and_random_check_needs_inspection() {
        let mut value = penalty();
        value["major"] = json!(true);
        value["random_check"] = json!(true);
        let errors = errors_of(&value);
        assert!(errors.iter().any(|e| e.starts_with("legal_review:")));
        assert!(errors.iter().any(|e| e.starts_with("random_check:")));
    }

    #[test]
    fn a_status_change_cannot_precede_the_decision_nor_lie_in_the_future() {
        let mut value = penalty();
        value["status_changed_on"] = json!("2017-10-01");
        assert!(errors_of(&value)
            .iter()
            .any(|e| e == "status_changed_on: lies before decided_on"));
        value["status_changed_on"] = json!("2099-01-01");
        assert!(errors_of(&value)
            .iter()
            .any(|e| e == "status_changed_on: lies in the future"));
        value["status_changed_on"] = json!("2018-03-01");
        assert!(validate_on(&value, today()).is_ok());
    }

    #[test]
    fn record_id_must_match_lineage_and_dates_must_be_ordered() {
        let mut value = penalty();
        value["record_id"] = json!("other:1");
        value["publicity_until"] = json!("2016-01-01");
        value["decided_on"] = json!("2017-10-12");
        let errors = errors_of(&value);
        assert!(errors.iter().any(|e| e.starts_with("record_id:")));
        assert!(errors.iter().any(|e| e.starts_with("publicity_until:")));
    }

    #[test]
    fn control_characters_in_any_text_field_are_refused_by_code_point_never_by_value() {
        let mut value = penalty();
        value["facts"] = json!("张三\u{0}13812345678");
        value["counterparty"]["name"] = json!("某\u{1B}公司");
        value["source_unit"] = json!({"name": "科\u{7F}室"});
        let errors = errors_of(&value);
        assert_eq!(
            errors,
            vec![
                "counterparty.name: contains the control character U+001B; remove it at the source",
                "facts: contains the control character U+0000; remove it at the source",
                "source_unit.name: contains the control character U+007F; remove it at the source",
            ]
        );
        assert!(errors.iter().all(|e| !e.contains("13812345678")));
    }

    #[test]
    fn control_characters_in_list_items_and_enum_values_name_the_item_once() {
        let mut value = penalty();
        value["penalty_kinds"] = json!(["warning", "fine\u{0}"]);
        let errors = errors_of(&value);
        assert_eq!(
            errors,
            vec![
                "penalty_kinds[1]: contains the control character U+0000; remove it at the source"
            ],
            "the unknown variant that the NUL makes is not reported beside it"
        );
        assert!(!errors.concat().contains('\u{0}'));
    }

    #[test]
    fn control_characters_in_field_names_are_refused_and_never_echoed() {
        let mut value = penalty();
        value["agency"]["na\u{0}me"] = json!("x");
        let errors = errors_of(&value);
        assert!(
            errors.contains(&"agency: a field name contains the control character U+0000; remove it at the source".to_string()),
            "{errors:?}"
        );
        assert!(errors.iter().all(|e| !e.contains('\u{0}')), "{errors:?}");
    }

    #[test]
    fn tab_newline_and_carriage_return_are_text() {
        let mut value = penalty();
        value["facts"] = json!("第一行\r\n第二行\t完");
        assert!(validate_on(&value, today()).is_ok());
    }

    #[test]
    fn content_hash_ignores_version_and_fetch_time_only() {
        let a = validate_on(&penalty(), today()).unwrap().record;
        let mut b = a.clone();
        b.version = Some(7);
        b.source.fetched_at = "2027-01-01T00:00:00Z".into();
        assert_eq!(content_hash(&a).unwrap(), content_hash(&b).unwrap());
        b.status = crate::record::Status::Revoked;
        assert_ne!(content_hash(&a).unwrap(), content_hash(&b).unwrap());
    }

    #[test]
    fn debug_output_hides_personal_data() {
        let record = validate_on(&penalty(), today()).unwrap().record;
        let debug = format!("{record:?}");
        assert!(
            !debug.contains("张三") && !debug.contains("11010519491231002X"),
            "{debug}"
        );
    }
}
