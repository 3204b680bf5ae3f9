//! Applying a policy to one record: withholding first, then field rules, then the detectors over
//! every remaining string. Anything the engine cannot decide about withholds the record as
//! `undecidable` instead of publishing it.

use chrono::{Datelike, NaiveDate};
use memchr::memmem::Finder;
use serde_json::{Map, Value};

use crate::ids;
use crate::names;
use crate::policy::{Action, Kind, Policy};
use crate::scan::{NameNeedle, Rule, Scratch, TextContext};
use crate::{Outcome, Redaction, WithholdReason};

/// Deeper nesting than any `disclosure.v1` record has; beyond it the record is malformed.
const MAX_DEPTH: usize = 32;

/// Removed values shorter than this are not searched for in text: a short value (`男`, `茌平县`)
/// recurs innocently; IDs, phone numbers and street addresses are longer.
const MIN_REMOVED_VALUE_CHARS: usize = 7;

/// Why a record is withheld, with a detail that names fields and rules, never values.
struct Withheld {
    reason: WithholdReason,
    detail: String,
}

fn withheld(reason: WithholdReason, detail: impl Into<String>) -> Withheld {
    Withheld {
        reason,
        detail: detail.into(),
    }
}

fn undecidable(detail: impl Into<String>) -> Withheld {
    withheld(WithholdReason::Undecidable, detail)
}

impl Policy {
    /// Redacts one normalized record (`disclosure.v1`, CONTRACT §3) for publication, or says why it
    /// must be withheld.
    pub fn redact(&self, record: &Value) -> Outcome {
        match self.redact_record(record) {
            Ok((record, redactions)) => Outcome::Publish { record, redactions },
            Err(w) => Outcome::Withhold {
                reason: w.reason,
                detail: w.detail,
            },
        }
    }

    fn redact_record(&self, record: &Value) -> Result<(Value, Vec<Redaction>), Withheld> {
        let object = record
            .as_object()
            .ok_or_else(|| undecidable("the record is not a JSON object"))?;
        let kind = self.check_withholding(object)?;
        let ctx = self.text_context(object, kind)?;
        let mut out = record.clone();
        let mut walker = Walker {
            policy: self,
            kind,
            ctx: &ctx,
            scratch: Scratch::default(),
            redactions: Vec::new(),
            path: String::new(),
            rule_path: String::new(),
        };
        match &mut out {
            Value::Object(map) => walker.walk_object(map, 0)?,
            _ => return Err(undecidable("the record is not a JSON object")),
        }
        Ok((out, walker.redactions))
    }

    /// The withholding rules, in order of gravity; returns the counterparty kind when the record
    /// may be published.
    fn check_withholding(&self, record: &Map<String, Value>) -> Result<Kind, Withheld> {
        let rules = &self.withhold;
        let classification = record
            .get("classification")
            .and_then(Value::as_str)
            .ok_or_else(|| undecidable("field `classification` is missing or not a string"))?;
        if !rules
            .allowed_classifications
            .iter()
            .any(|c| c == classification)
        {
            return Err(match classification {
                // Known enum values are not personal data; naming them helps the operator.
                "public" | "internal" | "secret" => withheld(
                    WithholdReason::Classified,
                    format!(
                        "field `classification` is `{classification}`, which policy `{}` does not publish",
                        self.name
                    ),
                ),
                _ => undecidable("field `classification` has an unknown value"),
            });
        }

        let counterparty = record
            .get("counterparty")
            .and_then(Value::as_object)
            .ok_or_else(|| undecidable("field `counterparty` is missing or not an object"))?;
        let kind = counterparty
            .get("kind")
            .and_then(Value::as_str)
            .and_then(Kind::from_code)
            .ok_or_else(|| {
                undecidable(format!(
                    "field `counterparty.kind` is missing or not one of {}",
                    Kind::CODES.join(", ")
                ))
            })?;

        if rules.minors && kind == Kind::NaturalPerson {
            check_minor(record, counterparty)?;
        }

        if rules.major_without_legal_review {
            let major = match record.get("major") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(undecidable("field `major` is not a boolean")),
            };
            let passed = record
                .get("legal_review")
                .and_then(|r| r.get("passed"))
                .and_then(Value::as_bool);
            if major && passed != Some(true) {
                return Err(withheld(
                    WithholdReason::MajorWithoutLegalReview,
                    "field `major` is true and `legal_review.passed` is not true",
                ));
            }
        }

        if let Some(divisions) = &rules.simple_warning {
            self.check_simple_warning(record, divisions)?;
        }
        Ok(kind)
    }

    fn check_simple_warning(
        &self,
        record: &Map<String, Value>,
        divisions: &[String],
    ) -> Result<(), Withheld> {
        if !divisions.is_empty() {
            let division = record.get("division_code").and_then(Value::as_str).ok_or_else(|| {
                undecidable("field `division_code` is missing, so the simple-warning rule cannot be applied")
            })?;
            if !divisions.iter().any(|p| division.starts_with(p.as_str())) {
                return Ok(());
            }
        }
        let category = record
            .get("category")
            .and_then(Value::as_str)
            .ok_or_else(|| undecidable("field `category` is missing or not a string"))?;
        if category != "penalty" {
            return Ok(());
        }
        let procedure = record
            .get("procedure")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                undecidable(
                    "field `procedure` is missing, so the simple-warning rule cannot be applied",
                )
            })?;
        if procedure != "simple" {
            return Ok(());
        }
        let kinds = record
            .get("penalty_kinds")
            .and_then(Value::as_array)
            .ok_or_else(|| undecidable("field `penalty_kinds` is missing or not a list"))?;
        let only_warning = !kinds.is_empty() && kinds.iter().all(|k| k.as_str() == Some("warning"));
        if only_warning {
            return Err(withheld(
                WithholdReason::SimpleWarningNotPublished,
                format!(
                    "a simple-procedure warning (fields `procedure`, `penalty_kinds`) is not published under policy `{}`",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// What the record's text must be searched for: the pseudonymised names, the removed values,
    /// and the record's own enterprise codes.
    fn text_context(
        &self,
        record: &Map<String, Value>,
        kind: Kind,
    ) -> Result<TextContext, Withheld> {
        let mut names: Vec<(String, String)> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        for (path, rules) in &self.fields {
            let Some(rule) = rules
                .iter()
                .find(|r| r.kinds.as_ref().is_none_or(|k| k.contains(&kind)))
            else {
                continue;
            };
            let Some(value) = get_path(record, path) else {
                continue;
            };
            match rule.action {
                Action::Pseudonymise => {
                    for text in strings_of(value, path, "pseudonymised")? {
                        let (name, _) = names::split_name(text);
                        let pseudonym = names::pseudonym_of(name);
                        if name.chars().count() >= 2 && pseudonym != name {
                            names.push((name.to_string(), pseudonym));
                        }
                    }
                }
                Action::Remove | Action::Mask { .. } => {
                    collect_strings(value, &mut |text| {
                        let text = text.trim();
                        if text.chars().count() >= MIN_REMOVED_VALUE_CHARS {
                            values.push(text.to_string());
                        }
                    });
                }
                Action::Keep | Action::Scan => {}
            }
        }
        // Longest first: `欧阳娜娜` must be found before a shorter name inside it.
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        names.dedup_by(|a, b| a.0 == b.0);
        values.sort();
        values.dedup();

        let mut ctx = TextContext {
            names: names
                .into_iter()
                .map(|(name, pseudonym)| NameNeedle {
                    finder: Finder::new(name.as_bytes()).into_owned(),
                    pseudonym,
                })
                .collect(),
            values: values
                .iter()
                .map(|v| Finder::new(v.as_bytes()).into_owned())
                .collect(),
            codes: Default::default(),
            public_addresses: Vec::new(),
            kept_names: Vec::new(),
            business_addresses_public: false,
        };
        // Names the policy publishes in their own fields (the legal representative's, CONTRACT
        // §5; an individual business's name, which may be its operator's) are not another
        // person's name to hide where they recur in text.
        for path in ["counterparty.legal_rep.name", "counterparty.name"] {
            if self.action_for(path, kind) != Action::Keep {
                continue;
            }
            if let Some(name) = get_path(record, path).and_then(Value::as_str) {
                let (name, _) = names::split_name(name);
                if name.chars().count() >= 2 {
                    ctx.kept_names.push(name.to_string());
                }
            }
        }
        if kind == Kind::LegalPerson
            && self.action_for("counterparty.address", kind) == Action::Keep
        {
            ctx.business_addresses_public = true;
            if let Some(address) = get_path(record, "counterparty.address").and_then(Value::as_str)
            {
                let address = address.trim();
                if !address.is_empty() {
                    ctx.public_addresses
                        .push(Finder::new(address.as_bytes()).into_owned());
                }
            }
        }

        // The record's own enterprise codes are left in its text even when they read like an ID
        // number, except a value that is also the record's ID number (a source's mistake).
        let id_numbers: Vec<Vec<u8>> =
            ["counterparty.id_number", "counterparty.legal_rep.id_number"]
                .iter()
                .filter_map(|p| get_path(record, p).and_then(Value::as_str))
                .map(ids::normalize_code)
                .collect();
        let mut code_paths = vec!["agency.uscc", "source_unit.uscc"];
        if kind != Kind::NaturalPerson {
            code_paths.extend([
                "counterparty.uscc",
                "counterparty.registration_no",
                "counterparty.org_code",
                "counterparty.institution_no",
                "counterparty.social_org_no",
            ]);
        }
        for path in code_paths {
            if let Some(code) = get_path(record, path).and_then(Value::as_str) {
                let code = ids::normalize_code(code);
                if code.len() >= 8 && !id_numbers.contains(&code) {
                    ctx.codes.insert(code);
                }
            }
        }
        Ok(ctx)
    }
}

/// Under 18 on the decision date, with the age read from the resident ID. The 18th birthday itself
/// still counts as under 18 (周岁 is reached the day after the birthday), and 29 February births
/// turn 18 on 1 March: both choices withhold rather than publish in the doubtful case.
fn check_minor(
    record: &Map<String, Value>,
    counterparty: &Map<String, Value>,
) -> Result<(), Withheld> {
    let birth = counterparty
        .get("id_number")
        .and_then(Value::as_str)
        .and_then(ids::birth_date_of_id_number)
        .ok_or_else(|| {
            undecidable("field `counterparty.id_number` gives no readable birth date, so the minor check cannot be made")
        })?;
    let decided = record
        .get("decided_on")
        .and_then(Value::as_str)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            undecidable("field `decided_on` is missing or not a YYYY-MM-DD date, so the minor check cannot be made")
        })?;
    if birth > decided {
        return Err(undecidable(
            "the birth date in `counterparty.id_number` is after `decided_on`",
        ));
    }
    let year = birth.year() + 18;
    let eighteenth = NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .ok_or_else(|| undecidable("the birth date in `counterparty.id_number` is out of range"))?;
    if decided <= eighteenth {
        return Err(withheld(
            WithholdReason::Minor,
            "the natural-person counterparty is under 18 on `decided_on` (birth date from `counterparty.id_number`)",
        ));
    }
    Ok(())
}

fn get_path<'a>(record: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = record.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The strings of a field that a rule must rewrite: a string, or a list of strings. `null` and a
/// missing value are nothing to do; any other shape is undecidable.
fn strings_of<'a>(value: &'a Value, path: &str, verb: &str) -> Result<Vec<&'a str>, Withheld> {
    let shape_error = || undecidable(format!("field `{path}` is to be {verb} but is not text"));
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(shape_error()),
            })
            .collect(),
        _ => Err(shape_error()),
    }
}

fn collect_strings<'a>(value: &'a Value, out: &mut impl FnMut(&'a str)) {
    match value {
        Value::String(s) => out(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Masks all but `front` and `back` characters; a value too short to keep both ends is masked
/// whole, since keeping them would reveal all of it.
fn mask_keeping(text: &str, front: u32, back: u32) -> String {
    let total = text.chars().count();
    let (front, back) = (front as usize, back as usize);
    if front + back >= total {
        return "*".repeat(total);
    }
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < front || i >= total - back {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Walks the output record in place, applying field rules and scanning strings.
struct Walker<'p> {
    policy: &'p Policy,
    kind: Kind,
    ctx: &'p TextContext,
    scratch: Scratch,
    redactions: Vec<Redaction>,
    /// The field being visited, as reported (`penalty_kinds[1]`).
    path: String,
    /// The same without array indices, as field rules name it.
    rule_path: String,
}

impl Walker<'_> {
    fn count(&mut self, rule: Rule, count: u32) {
        if count == 0 {
            return;
        }
        let name = rule.as_str();
        match self
            .redactions
            .iter_mut()
            .find(|r| r.rule == name && r.field == self.path)
        {
            Some(r) => r.count += count,
            None => self.redactions.push(Redaction {
                rule: name,
                field: self.path.clone(),
                count,
            }),
        }
    }

    fn walk_object(&mut self, map: &mut Map<String, Value>, depth: usize) -> Result<(), Withheld> {
        if depth > MAX_DEPTH {
            return Err(undecidable(format!(
                "the record nests deeper than {MAX_DEPTH} levels"
            )));
        }
        let mut removed: Vec<String> = Vec::new();
        for (key, value) in map.iter_mut() {
            let (saved, saved_rule) = (self.path.len(), self.rule_path.len());
            if !self.path.is_empty() {
                self.path.push('.');
                self.rule_path.push('.');
            }
            self.path.push_str(key);
            self.rule_path.push_str(key);
            let result = match self.policy.action_for(&self.rule_path, self.kind) {
                Action::Keep => Ok(()),
                Action::Remove => {
                    let had_content = !matches!(value, Value::Null) && value.as_str() != Some("");
                    self.count(Rule::FieldRemove, u32::from(had_content));
                    removed.push(key.clone());
                    Ok(())
                }
                Action::Mask {
                    keep_front,
                    keep_back,
                } => self.rewrite(value, "masked", Rule::FieldMask, |s| {
                    mask_keeping(s, keep_front, keep_back)
                }),
                Action::Pseudonymise => self.rewrite(
                    value,
                    "pseudonymised",
                    Rule::FieldPseudonymise,
                    names::pseudonymise_field,
                ),
                Action::Scan => self.walk_value(value, depth + 1),
            };
            self.path.truncate(saved);
            self.rule_path.truncate(saved_rule);
            result?;
        }
        for key in removed {
            map.remove(&key);
        }
        Ok(())
    }

    fn walk_value(&mut self, value: &mut Value, depth: usize) -> Result<(), Withheld> {
        match value {
            Value::String(text) => {
                if let Some(redacted) = self.policy.scan.scan(text, self.ctx, &mut self.scratch) {
                    let fired: Vec<(Rule, u32)> = self.scratch.fired().collect();
                    for (rule, n) in fired {
                        self.count(rule, n);
                    }
                    *text = redacted;
                }
                Ok(())
            }
            Value::Object(map) => self.walk_object(map, depth + 1),
            Value::Array(items) => {
                if depth > MAX_DEPTH {
                    return Err(undecidable(format!(
                        "the record nests deeper than {MAX_DEPTH} levels"
                    )));
                }
                for (i, item) in items.iter_mut().enumerate() {
                    let saved = self.path.len();
                    self.path.push_str(&format!("[{i}]"));
                    let result = self.walk_value(item, depth + 1);
                    self.path.truncate(saved);
                    result?;
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }

    /// Rewrites a text field (or a list of texts) with `f`, counting changed values under `rule`.
    fn rewrite(
        &mut self,
        value: &mut Value,
        verb: &str,
        rule: Rule,
        f: impl Fn(&str) -> String,
    ) -> Result<(), Withheld> {
        let shape_error =
            |path: &str| undecidable(format!("field `{path}` is to be {verb} but is not text"));
        let mut changed = 0;
        match value {
            Value::Null => {}
            Value::String(s) => {
                let new = f(s);
                changed += u32::from(new != *s);
                *s = new;
            }
            Value::Array(items) => {
                for item in items.iter_mut() {
                    let Value::String(s) = item else {
                        return Err(shape_error(&self.path));
                    };
                    let new = f(s);
                    changed += u32::from(new != *s);
                    *s = new;
                }
            }
            _ => return Err(shape_error(&self.path)),
        }
        self.count(rule, changed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn legal_person_record() -> Value {
        json!({
            "record_id": "t:1",
            "classification": "public",
            "counterparty": {"name": "某某有限公司", "kind": "legal_person"},
            "decided_on": "2017-10-12",
        })
    }

    fn published(policy: &Policy, record: &Value) -> (Value, Vec<Redaction>) {
        match policy.redact(record) {
            Outcome::Publish { record, redactions } => (record, redactions),
            Outcome::Withhold { reason, detail } => panic!("withheld: {reason}: {detail}"),
        }
    }

    fn withheld_as(policy: &Policy, record: &Value) -> (WithholdReason, String) {
        match policy.redact(record) {
            Outcome::Withhold { reason, detail } => (reason, detail),
            Outcome::Publish { .. } => panic!("published"),
        }
    }

    #[test]
    fn a_record_that_is_not_an_object_is_undecidable() {
        let public = Policy::builtin("public").unwrap();
        for v in [json!([1, 2]), json!("x"), json!(null)] {
            assert_eq!(withheld_as(&public, &v).0, WithholdReason::Undecidable);
        }
    }

    #[test]
    fn absurd_nesting_is_undecidable_not_a_stack_overflow() {
        let public = Policy::builtin("public").unwrap();
        let mut deep = json!("13812345678");
        for _ in 0..100 {
            deep = json!({ "x": deep });
        }
        let mut record = legal_person_record();
        record["extra"] = deep;
        let (reason, detail) = withheld_as(&public, &record);
        assert_eq!(reason, WithholdReason::Undecidable);
        assert!(detail.contains("nests deeper"));
    }

    #[test]
    fn list_items_are_scanned_and_reported_with_their_index() {
        let public = Policy::builtin("public").unwrap();
        let mut record = legal_person_record();
        record["attachments"] = json!(["笔录", "证人电话13812345678"]);
        let (out, redactions) = published(&public, &record);
        assert_eq!(out["attachments"], json!(["笔录", "证人电话***********"]));
        assert_eq!(
            redactions,
            [Redaction {
                rule: "mobile",
                field: "attachments[1]".into(),
                count: 1
            }]
        );
    }

    #[test]
    fn numbers_and_booleans_are_left_alone() {
        let public = Policy::builtin("public").unwrap();
        let mut record = legal_person_record();
        record["version"] = json!(13812345678u64);
        record["random_check"] = json!(true);
        let (out, redactions) = published(&public, &record);
        assert_eq!(out, record);
        assert!(redactions.is_empty());
    }

    #[test]
    fn removing_an_empty_field_drops_it_without_counting() {
        let public = Policy::builtin("public").unwrap();
        let mut record = legal_person_record();
        record["counterparty"]["legal_rep"] = json!({"name": "张三", "id_number": ""});
        let (out, redactions) = published(&public, &record);
        assert_eq!(out["counterparty"]["legal_rep"], json!({"name": "张三"}));
        assert!(redactions.is_empty());
    }

    fn custom(text: &str) -> Policy {
        let dir = std::env::temp_dir().join(format!(
            "dhub-redaction-engine-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.toml");
        std::fs::write(&path, text).unwrap();
        let policy = Policy::load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        policy
    }

    #[test]
    fn mask_or_pseudonymise_of_a_non_text_value_is_undecidable() {
        let policy = custom("name = \"m\"\nextends = \"public\"\n[[field]]\npath = \"remarks\"\naction = \"mask\"\n");
        let mut record = legal_person_record();
        record["remarks"] = json!({"nested": "x"});
        let (reason, detail) = withheld_as(&policy, &record);
        assert_eq!(reason, WithholdReason::Undecidable);
        assert_eq!(detail, "field `remarks` is to be masked but is not text");
        // A list of texts is masked item by item.
        record["remarks"] = json!(["abcdef", "xy"]);
        let (out, redactions) = published(&policy, &record);
        assert_eq!(out["remarks"], json!(["******", "**"]));
        assert_eq!(
            redactions,
            [Redaction {
                rule: "field_mask",
                field: "remarks".into(),
                count: 2
            }]
        );
    }

    #[test]
    fn a_policy_without_detectors_still_replaces_a_pseudonymised_name() {
        let policy = custom(
            "name = \"n\"\n[detect]\ndetectors = []\n[[field]]\npath = \"counterparty.name\"\naction = \"pseudonymise\"\n",
        );
        let record = json!({
            "classification": "public",
            "counterparty": {"name": "欧阳娜娜", "kind": "natural_person", "id_number": "371523198001011231"},
            "decided_on": "2017-10-12",
            "facts": "欧阳娜娜电话13812345678",
        });
        let (out, _) = published(&policy, &record);
        assert_eq!(out["facts"], json!("欧阳某电话13812345678"));
        assert_eq!(out["counterparty"]["name"], json!("欧阳某"));
    }

    #[test]
    fn withhold_details_never_carry_values() {
        let public = Policy::builtin("public").unwrap();
        let id = "37152320050601002X";
        let record = json!({
            "record_id": "t:2",
            "classification": "public",
            "counterparty": {"name": "王小明", "kind": "natural_person", "id_number": id},
            "decided_on": "2017-10-12",
        });
        let outcome = public.redact(&record);
        let debug = format!("{outcome:?}");
        assert_eq!(outcome.withheld_reason(), Some(WithholdReason::Minor));
        for secret in [id, "王小明", "2005"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn reports_never_carry_a_detected_name_or_passport() {
        let public = Policy::builtin("public").unwrap();
        let mut record = legal_person_record();
        record["facts"] = json!("证人王小明称，其妻李秀英（护照号码E12345678）家住张庄村2组15号。");
        let (out, redactions) = published(&public, &record);
        assert_eq!(
            out["facts"],
            json!(format!(
                "证人王某称，其妻李某（护照号码{}）家住{}。",
                "*".repeat(9),
                "*".repeat(8)
            ))
        );
        let report = format!(
            "{redactions:?} {}",
            serde_json::to_string(&redactions).unwrap()
        );
        for secret in ["王小明", "小明", "李秀英", "秀英", "E12345678", "张庄村"] {
            assert!(!report.contains(secret), "{report}");
        }
        let rules: Vec<&str> = redactions.iter().map(|r| r.rule).collect();
        assert_eq!(rules, ["address", "person_name", "passport"]);
    }

    #[test]
    fn mask_keeping_ends() {
        assert_eq!(
            mask_keeping("371523198001011234", 6, 4),
            "371523********1234"
        );
        assert_eq!(mask_keeping("1234", 2, 2), "****");
        assert_eq!(mask_keeping("张三", 0, 0), "**");
    }

    #[test]
    fn eighteenth_birthday_is_still_minor() {
        let cp = |id: &str| json!({"id_number": id}).as_object().unwrap().clone();
        let rec = |d: &str| json!({"decided_on": d}).as_object().unwrap().clone();
        // Born 2000-06-15 (valid check digit not needed for the date).
        let id = "371523200006150000";
        assert!(check_minor(&rec("2018-06-15"), &cp(id))
            .is_err_and(|w| w.reason == WithholdReason::Minor));
        assert!(check_minor(&rec("2018-06-16"), &cp(id)).is_ok());
        // 29 February: 18 on 1 March of a common year, so 1 March itself is still withheld.
        let leap = "371523200002290000";
        assert!(check_minor(&rec("2018-03-01"), &cp(leap))
            .is_err_and(|w| w.reason == WithholdReason::Minor));
        assert!(check_minor(&rec("2018-03-02"), &cp(leap)).is_ok());
        // Legacy 15-digit ID, 19YY.
        assert!(check_minor(&rec("2010-01-01"), &cp("371523950101123"))
            .is_err_and(|w| w.reason == WithholdReason::Minor));
        // No readable birth date: undecidable, not published.
        assert!(check_minor(&rec("2018-01-01"), &cp("E12345678"))
            .is_err_and(|w| w.reason == WithholdReason::Undecidable));
        assert!(check_minor(&rec("2018/01/01"), &cp(id))
            .is_err_and(|w| w.reason == WithholdReason::Undecidable));
        assert!(check_minor(&rec("1999-01-01"), &cp(id))
            .is_err_and(|w| w.reason == WithholdReason::Undecidable));
    }
}
