//! Redacting the text of a decision document (行政处罚决定书, 行政许可决定书) with its record's own
//! context, for the public version (公开版) that `dhub-documents` renders.
//!
//! The document's paragraphs go through [`Policy::redact`] as one more scanned field of the record
//! they belong to, so they get exactly what the record's free text gets: the withholding rules (a
//! record the policy withholds has no public version), every detector, the counterparty's name
//! replaced by the same pseudonym as in the record, and the record's removed values (ID number,
//! address, phone) masked wherever they recur. One engine, so the document and the record can
//! never disagree about what is personal.
//!
//! What the engine does not know about documents (other persons named in them, labelled values
//! such as a home address that is not the record's) is `dhub-documents`' own pass; it asks
//! [`Policy::natural_person_rules`] whether the policy hides those at all, and uses
//! [`is_surname`] and [`pseudonym_of`] for names.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::policy::{Action, Kind};
use crate::{names, Outcome, Policy, WithholdReason};

/// The same list `names.rs` embeds (百家姓, with compound surnames).
const SURNAMES_CSV: &str = include_str!("../data/baijiaxing-surnames.csv");

/// The key under which the paragraphs ride through the engine; a record never has it (CONTRACT §3
/// field names are snake_case letters), and one that does is refused rather than overwritten.
const DOCUMENT_KEY: &str = "$document";

/// What the engine decided about a document's text.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentOutcome {
    /// The redacted paragraphs, in order, and the redactions in them by rule.
    Publish {
        paragraphs: Vec<String>,
        /// `(rule, count)`, one of [`crate::RULES`] each, sorted by rule.
        redactions: Vec<(&'static str, u32)>,
    },
    /// The record is withheld, so its document has no public version either.
    Withhold {
        reason: WithholdReason,
        /// Names fields and rules, never values.
        detail: String,
    },
}

/// What a policy does with natural persons' personal data, for the document pass outside the
/// engine: names, home addresses and birth dates of persons the record does not describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaturalPersonRules {
    /// A natural person's name becomes surname + 某 (`counterparty.name` is pseudonymised).
    pub pseudonymise_names: bool,
    /// A legal representative's name is pseudonymised too (`public` keeps it).
    pub pseudonymise_legal_rep: bool,
    /// Home addresses are hidden (`counterparty.address` is removed or masked for natural persons).
    pub hide_addresses: bool,
    /// ID numbers, and the birth dates they contain, are hidden (`counterparty.id_number`).
    pub hide_id_numbers: bool,
}

impl Policy {
    /// Redacts a document's paragraphs as part of `record`, or says why the record (and so the
    /// document) is withheld.
    ///
    /// Without a record (a document redacted on its own, `dhub redact --document`), no withholding
    /// rule can be applied and only the detectors run; the hub always passes the record.
    pub fn redact_document(
        &self,
        record: Option<&Value>,
        paragraphs: &[String],
    ) -> DocumentOutcome {
        let mut carrier = match record {
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                return DocumentOutcome::Withhold {
                    reason: WithholdReason::Undecidable,
                    detail: "the record is not a JSON object".to_string(),
                }
            }
            None => standalone_record(),
        };
        if carrier.contains_key(DOCUMENT_KEY) {
            return DocumentOutcome::Withhold {
                reason: WithholdReason::Undecidable,
                detail: format!("the record has a field `{DOCUMENT_KEY}`, which is reserved"),
            };
        }
        carrier.insert(
            DOCUMENT_KEY.to_string(),
            Value::Array(paragraphs.iter().cloned().map(Value::String).collect()),
        );
        match self.redact(&Value::Object(carrier)) {
            Outcome::Withhold { reason, detail } => DocumentOutcome::Withhold { reason, detail },
            Outcome::Publish {
                mut record,
                redactions,
            } => {
                let Some(Value::Array(items)) =
                    record.as_object_mut().and_then(|m| m.remove(DOCUMENT_KEY))
                else {
                    // A policy rule that removed the whole key: nothing of the text may be shown.
                    return DocumentOutcome::Withhold {
                        reason: WithholdReason::Undecidable,
                        detail: "the policy removed the document's text".to_string(),
                    };
                };
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s),
                        _ => {
                            return DocumentOutcome::Withhold {
                                reason: WithholdReason::Undecidable,
                                detail: "the engine returned a paragraph that is not text"
                                    .to_string(),
                            }
                        }
                    }
                }
                let mut counts: Vec<(&'static str, u32)> = Vec::new();
                for r in redactions
                    .iter()
                    .filter(|r| r.field.starts_with(DOCUMENT_KEY))
                {
                    match counts.iter_mut().find(|(rule, _)| *rule == r.rule) {
                        Some((_, n)) => *n += r.count,
                        None => counts.push((r.rule, r.count)),
                    }
                }
                counts.sort();
                DocumentOutcome::Publish {
                    paragraphs: out,
                    redactions: counts,
                }
            }
        }
    }

    /// What this policy hides of natural persons, read from its own field rules.
    pub fn natural_person_rules(&self) -> NaturalPersonRules {
        let hides = |path: &str| {
            matches!(
                self.action_for(path, Kind::NaturalPerson),
                Action::Remove | Action::Mask { .. } | Action::Pseudonymise
            )
        };
        NaturalPersonRules {
            pseudonymise_names: self.action_for("counterparty.name", Kind::NaturalPerson)
                == Action::Pseudonymise,
            pseudonymise_legal_rep: self
                .action_for("counterparty.legal_rep.name", Kind::LegalPerson)
                == Action::Pseudonymise,
            hide_addresses: hides("counterparty.address"),
            hide_id_numbers: hides("counterparty.id_number"),
        }
    }
}

/// The record a document without one is redacted as: public, of an organisation, so that no
/// withholding rule fires and no field rule applies; only the detectors run over the text.
fn standalone_record() -> Map<String, Value> {
    match json!({"classification": "public", "counterparty": {"kind": "legal_person"}}) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The pseudonym of a natural person's name: surname + 某, compound surnames kept (CONTRACT §5).
pub fn pseudonym_of(name: &str) -> String {
    names::pseudonym_of(name)
}

/// Whether `s` is a surname of the embedded 百家姓 list (single or compound).
pub fn is_surname(s: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        SURNAMES_CSV
            .lines()
            .skip(1)
            .filter_map(|line| line.split(',').nth(1))
            .filter(|s| !s.is_empty())
            .collect()
    })
    .contains(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person_record() -> Value {
        json!({
            "record_id": "t:1",
            "classification": "public",
            "counterparty": {"name": "欧阳娜娜", "kind": "natural_person",
                             "id_number": "371523198001011231",
                             "address": "聊城市茌平区振兴路123号4栋2单元301室", "phone": "13812345678"},
            "decided_on": "2017-10-12",
        })
    }

    fn published(outcome: DocumentOutcome) -> (Vec<String>, Vec<(&'static str, u32)>) {
        match outcome {
            DocumentOutcome::Publish {
                paragraphs,
                redactions,
            } => (paragraphs, redactions),
            DocumentOutcome::Withhold { reason, detail } => panic!("withheld: {reason}: {detail}"),
        }
    }

    #[test]
    fn paragraphs_get_the_records_pseudonym_and_removed_values() {
        let public = Policy::builtin("public").unwrap();
        let paragraphs = vec![
            "当事人：欧阳娜娜".to_string(),
            "住址：聊城市茌平区振兴路123号4栋2单元301室，电话13812345678".to_string(),
        ];
        let (out, redactions) =
            published(public.redact_document(Some(&person_record()), &paragraphs));
        assert_eq!(out[0], "当事人：欧阳某");
        assert!(!out[1].contains("振兴路123号"), "{}", out[1]);
        assert!(!out[1].contains("13812345678"));
        assert!(
            redactions.contains(&("counterparty_name", 1)),
            "{redactions:?}"
        );
        // Only the document's redactions are reported, not the record's own fields.
        assert!(!redactions.iter().any(|(r, _)| r.starts_with("field_")));
    }

    #[test]
    fn a_withheld_record_withholds_its_document() {
        let public = Policy::builtin("public").unwrap();
        let mut record = person_record();
        record["classification"] = json!("internal");
        let outcome = public.redact_document(Some(&record), &["x".to_string()]);
        assert!(matches!(
            outcome,
            DocumentOutcome::Withhold {
                reason: WithholdReason::Classified,
                ..
            }
        ));
    }

    #[test]
    fn without_a_record_the_detectors_still_run() {
        let public = Policy::builtin("public").unwrap();
        let (out, redactions) =
            published(public.redact_document(None, &["电话13812345678".to_string()]));
        assert_eq!(out, ["电话***********"]);
        assert_eq!(redactions, [("mobile", 1)]);
    }

    #[test]
    fn a_record_with_the_reserved_key_is_refused() {
        let public = Policy::builtin("public").unwrap();
        let mut record = person_record();
        record[DOCUMENT_KEY] = json!([]);
        assert!(matches!(
            public.redact_document(Some(&record), &[]),
            DocumentOutcome::Withhold {
                reason: WithholdReason::Undecidable,
                ..
            }
        ));
    }

    #[test]
    fn natural_person_rules_follow_the_policy() {
        let public = Policy::builtin("public").unwrap().natural_person_rules();
        assert!(public.pseudonymise_names && public.hide_addresses && public.hide_id_numbers);
        assert!(!public.pseudonymise_legal_rep);
        let government = Policy::builtin("government")
            .unwrap()
            .natural_person_rules();
        assert!(!government.pseudonymise_names && !government.hide_addresses);
    }

    #[test]
    fn surnames_and_pseudonyms() {
        assert!(is_surname("李") && is_surname("司马") && !is_surname("茌"));
        assert_eq!(pseudonym_of("司马建国"), "司马某");
    }
}
