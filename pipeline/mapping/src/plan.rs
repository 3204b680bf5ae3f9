//! The compiled form of a mapping's fields, and how each is evaluated on a source record.
//!
//! Everything here was checked when the mapping was loaded (paths fit the format, code tables
//! exist, output shapes fit the target fields), so evaluation only meets problems in the data.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::convert::{amount_to_yuan, date_to_iso, AmountUnit};
use crate::record::{SourcePath, SourceRecord};
use crate::targets::Target;

/// A code table: a department's own codes → values of the schema (`"已撤销"` → `"revoked"`,
/// `"是"` → `true`).
#[derive(Debug)]
pub(crate) struct CodeTable {
    pub name: String,
    pub entries: HashMap<String, Value>,
    /// The `"*"` entry: what any code not listed maps to.
    pub fallback: Option<Value>,
}

#[derive(Debug)]
pub(crate) enum Transform {
    None,
    Codes(Arc<CodeTable>),
    /// Source date formats, tried in order.
    Date(Vec<String>),
    Amount(AmountUnit),
}

#[derive(Debug)]
pub(crate) enum Part {
    Path(SourcePath),
    Text(String),
}

#[derive(Debug)]
pub(crate) enum Source {
    Path(SourcePath),
    /// A value written in the mapping (`value = "penalty"`).
    Constant(Value),
    /// Parts joined in order, `separator` between them; absent when no path part has a value.
    Concat {
        parts: Vec<Part>,
        separator: String,
    },
}

#[derive(Debug)]
pub(crate) enum Test {
    Equals(String),
    In(Vec<String>),
    Present(bool),
}

/// `when = { path = …, equals = … }`: compares the trimmed source text, before any code table.
#[derive(Debug)]
pub(crate) struct Condition {
    pub path: SourcePath,
    pub test: Test,
}

/// `chars = [start, end]`: characters `start..end` (0-based, half-open, counted in characters, not
/// bytes) of each source value, e.g. the division code inside a unified social credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CharRange {
    pub start: usize,
    pub end: usize,
}

impl CharRange {
    /// The slice of `text`; a value too short for the range is an error that gives its length only.
    fn slice(self, text: &str, source: &Source) -> FieldResult<String> {
        let length = text.chars().count();
        if length < self.end {
            return Err(format!(
                "{} has {length} characters, but `chars = [{}, {}]` needs at least {}",
                source.describe(),
                self.start,
                self.end,
                self.end
            ));
        }
        Ok(text
            .chars()
            .skip(self.start)
            .take(self.end - self.start)
            .collect())
    }
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub when: Option<Condition>,
    pub source: Source,
    /// Applied to each source value before `split` and the conversion.
    pub chars: Option<CharRange>,
    /// Separators, any of which splits a value into several.
    pub split: Option<Vec<String>>,
    pub list: bool,
    pub transform: Transform,
    /// Output value used when the source is absent (already in output form: not run through codes).
    pub default: Option<Value>,
    pub required: bool,
}

/// One disclosure.v1 field and the rules that fill it, tried in order until one gives a value.
#[derive(Debug)]
pub(crate) struct FieldPlan {
    pub target: &'static Target,
    pub rules: Vec<Rule>,
}

/// Why a field could not be filled; never contains a value of a personal field.
pub(crate) type FieldResult<T> = Result<T, String>;

impl FieldPlan {
    pub(crate) fn evaluate(&self, record: &SourceRecord) -> FieldResult<Option<Value>> {
        for rule in &self.rules {
            if let Some(condition) = &rule.when {
                if !condition.holds(record)? {
                    continue;
                }
            }
            match rule.evaluate(record, self.target)? {
                Some(value) => return Ok(Some(value)),
                None if rule.required => {
                    return Err(format!(
                        "required, but {} has no value",
                        rule.source.describe()
                    ))
                }
                None => {}
            }
        }
        Ok(None)
    }
}

impl Condition {
    fn holds(&self, record: &SourceRecord) -> FieldResult<bool> {
        let values = record.lookup(&self.path).map_err(|error| error.0)?;
        Ok(match &self.test {
            Test::Equals(expected) => values.iter().any(|value| value == expected),
            Test::In(expected) => values.iter().any(|value| expected.contains(value)),
            Test::Present(wanted) => values.is_empty() != *wanted,
        })
    }
}

impl Source {
    /// Where the value comes from, for messages (paths only, never values).
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Path(path) => format!("`{path}`"),
            Source::Constant(_) => "the constant".to_string(),
            Source::Concat { parts, .. } => {
                let paths: Vec<String> = parts
                    .iter()
                    .filter_map(|part| match part {
                        Part::Path(path) => Some(format!("`{path}`")),
                        Part::Text(_) => None,
                    })
                    .collect();
                format!("none of {}", paths.join(", "))
            }
        }
    }

    /// The source texts: trimmed, non-empty. Constants are handled by the caller.
    pub(crate) fn texts(&self, record: &SourceRecord) -> FieldResult<Vec<String>> {
        match self {
            Source::Path(path) => record.lookup(path).map_err(|error| error.0),
            Source::Constant(_) => Ok(Vec::new()),
            Source::Concat { parts, separator } => {
                let mut pieces = Vec::new();
                let mut any_path_value = false;
                for part in parts {
                    match part {
                        Part::Text(text) => pieces.push(text.clone()),
                        Part::Path(path) => {
                            let values = record.lookup(path).map_err(|error| error.0)?;
                            match values.as_slice() {
                                [] => {}
                                [value] => {
                                    any_path_value = true;
                                    pieces.push(value.clone());
                                }
                                more => {
                                    return Err(format!(
                                        "`{path}` has {} values; concat takes one from each path",
                                        more.len()
                                    ))
                                }
                            }
                        }
                    }
                }
                if any_path_value {
                    Ok(vec![pieces.join(separator)])
                } else {
                    Ok(Vec::new())
                }
            }
        }
    }
}

impl Rule {
    fn evaluate(&self, record: &SourceRecord, target: &Target) -> FieldResult<Option<Value>> {
        if let Source::Constant(value) = &self.source {
            return Ok(Some(value.clone()));
        }
        let mut texts = self.source.texts(record)?;
        if let Some(range) = self.chars {
            texts = texts
                .iter()
                .map(|text| range.slice(text, &self.source))
                .collect::<FieldResult<Vec<String>>>()?
                .into_iter()
                .map(|slice| slice.trim().to_string())
                .filter(|slice| !slice.is_empty())
                .collect();
        }
        let items: Vec<String> = match &self.split {
            Some(separators) => texts
                .iter()
                .flat_map(|text| split_any(text, separators))
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect(),
            None => texts,
        };
        let is_list = self.split.is_some() || self.list;
        match items.as_slice() {
            [] => Ok(self.default.clone()),
            [item] if !is_list => self.transform.apply(item, target).map(Some),
            _ if !is_list => Err(format!(
                "{} has {} values where one was expected",
                self.source.describe(),
                items.len()
            )),
            _ => items
                .iter()
                .map(|item| self.transform.apply(item, target))
                .collect::<FieldResult<Vec<Value>>>()
                .map(|values| Some(Value::Array(values))),
        }
    }
}

impl Transform {
    fn apply(&self, text: &str, target: &Target) -> FieldResult<Value> {
        match self {
            Transform::None => Ok(Value::String(text.to_string())),
            Transform::Codes(table) => table
                .entries
                .get(text)
                .or(table.fallback.as_ref())
                .cloned()
                .ok_or_else(|| unknown_code(text, table, target)),
            Transform::Date(formats) => date_to_iso(text, formats).map(Value::String),
            Transform::Amount(unit) => amount_to_yuan(text, *unit).map(Value::String),
        }
    }
}

/// `text` cut at every occurrence of any of `separators` (`"警告；罚款;没收违法所得"` with `；` and `;`).
fn split_any<'t>(text: &'t str, separators: &[String]) -> Vec<&'t str> {
    let mut pieces = vec![text];
    for separator in separators {
        pieces = pieces
            .into_iter()
            .flat_map(|piece| piece.split(separator.as_str()))
            .collect();
    }
    pieces
}

fn unknown_code(text: &str, table: &CodeTable, target: &Target) -> String {
    let fix = format!(
        "add it to [codes.{}] or give the table a \"*\" fallback",
        table.name
    );
    // Codes are not personal data, and naming the code is what makes the message useful; but a
    // code table on a personal field (a mapping mistake) could be fed a name or an ID number.
    if target.personal || text.chars().count() > 40 {
        format!("a value is not in code table `{}`; {fix}", table.name)
    } else {
        format!("code `{text}` is not in code table `{}`; {fix}", table.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBody;
    use crate::targets::find;
    use std::collections::BTreeMap;

    fn row(pairs: &[(&str, &str)]) -> SourceRecord {
        let row: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SourceRecord::new("in.csv", 2, RecordBody::Csv(row))
    }

    fn column(name: &str) -> SourcePath {
        SourcePath::Column(name.to_string())
    }

    fn rule(source: Source, transform: Transform) -> Rule {
        Rule {
            when: None,
            source,
            chars: None,
            split: None,
            list: false,
            transform,
            default: None,
            required: false,
        }
    }

    fn table(name: &str, pairs: &[(&str, Value)], fallback: Option<Value>) -> Arc<CodeTable> {
        Arc::new(CodeTable {
            name: name.into(),
            entries: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            fallback,
        })
    }

    fn plan(target: &str, rules: Vec<Rule>) -> FieldPlan {
        FieldPlan {
            target: find(target).unwrap(),
            rules,
        }
    }

    #[test]
    fn unknown_code_names_the_code_but_not_on_personal_fields() {
        let codes = table("kind", &[("1", Value::from("legal_person"))], None);
        let status = plan(
            "counterparty.kind",
            vec![rule(
                Source::Path(column("k")),
                Transform::Codes(codes.clone()),
            )],
        );
        let error = status.evaluate(&row(&[("k", "7")])).unwrap_err();
        assert_eq!(
            error,
            "code `7` is not in code table `kind`; add it to [codes.kind] or give the table a \"*\" fallback"
        );
        let personal = plan(
            "counterparty.name",
            vec![rule(Source::Path(column("k")), Transform::Codes(codes))],
        );
        let error = personal.evaluate(&row(&[("k", "张三")])).unwrap_err();
        assert!(!error.contains("张三"), "{error}");
        assert!(error.contains("code table `kind`"), "{error}");
    }

    #[test]
    fn fallback_catches_unlisted_codes() {
        let codes = table(
            "id",
            &[("01", Value::from("resident_id"))],
            Some(Value::from("other")),
        );
        let field = plan(
            "counterparty.id_type",
            vec![rule(Source::Path(column("t")), Transform::Codes(codes))],
        );
        assert_eq!(
            field.evaluate(&row(&[("t", "01")])).unwrap(),
            Some(Value::from("resident_id"))
        );
        assert_eq!(
            field.evaluate(&row(&[("t", "77")])).unwrap(),
            Some(Value::from("other"))
        );
        assert_eq!(field.evaluate(&row(&[("t", "")])).unwrap(), None);
    }

    #[test]
    fn rules_are_tried_in_order_with_conditions_and_defaults() {
        let mut revoked = rule(Source::Constant(Value::from("revoked")), Transform::None);
        revoked.when = Some(Condition {
            path: column("撤销"),
            test: Test::In(vec!["1".into(), "是".into()]),
        });
        let mut from_column = rule(Source::Path(column("状态")), Transform::None);
        from_column.default = Some(Value::from("in_force"));
        let field = plan("status", vec![revoked, from_column]);
        let value = |pairs: &[(&str, &str)]| field.evaluate(&row(pairs)).unwrap();
        assert_eq!(
            value(&[("撤销", "是"), ("状态", "x")]),
            Some(Value::from("revoked"))
        );
        assert_eq!(
            value(&[("撤销", "0"), ("状态", "changed")]),
            Some(Value::from("changed"))
        );
        assert_eq!(
            value(&[("撤销", "0"), ("状态", " ")]),
            Some(Value::from("in_force"))
        );
    }

    #[test]
    fn required_rule_without_value_fails_naming_the_path() {
        let mut required = rule(Source::Path(column("类别")), Transform::None);
        required.required = true;
        let error = plan("category", vec![required])
            .evaluate(&row(&[("类别", "")]))
            .unwrap_err();
        assert_eq!(error, "required, but `类别` has no value");
    }

    #[test]
    fn concat_joins_present_parts_and_is_absent_without_any() {
        let source = Source::Concat {
            parts: vec![
                Part::Path(column("a")),
                Part::Text("：".into()),
                Part::Path(column("b")),
            ],
            separator: String::new(),
        };
        let field = plan("facts", vec![rule(source, Transform::None)]);
        assert_eq!(
            field.evaluate(&row(&[("a", "x"), ("b", " y ")])).unwrap(),
            Some(Value::from("x：y"))
        );
        assert_eq!(field.evaluate(&row(&[("a", ""), ("b", "")])).unwrap(), None);
        let separated = Source::Concat {
            parts: vec![Part::Path(column("a")), Part::Path(column("b"))],
            separator: "；".into(),
        };
        let field = plan("facts", vec![rule(separated, Transform::None)]);
        assert_eq!(
            field.evaluate(&row(&[("a", "x"), ("b", "y")])).unwrap(),
            Some(Value::from("x；y"))
        );
    }

    #[test]
    fn split_makes_a_list_and_maps_each_item() {
        let codes = table(
            "kinds",
            &[
                ("警告", Value::from("warning")),
                ("罚款", Value::from("fine")),
            ],
            None,
        );
        let mut split = rule(Source::Path(column("种类")), Transform::Codes(codes));
        split.split = Some(vec!["、".into()]);
        let field = plan("penalty_kinds", vec![split]);
        assert_eq!(
            field.evaluate(&row(&[("种类", "警告、 罚款、")])).unwrap(),
            Some(serde_json::json!(["warning", "fine"]))
        );
    }

    #[test]
    fn chars_cut_characters_not_bytes_before_the_conversion() {
        let mut division = rule(Source::Path(column("代码")), Transform::None);
        division.chars = Some(CharRange { start: 2, end: 8 });
        let field = plan("division_code", vec![division]);
        assert_eq!(
            field
                .evaluate(&row(&[("代码", "113715230042112358")]))
                .unwrap(),
            Some(Value::from("371523"))
        );
        assert_eq!(field.evaluate(&row(&[("代码", "")])).unwrap(), None);
        let error = field.evaluate(&row(&[("代码", "1137152")])).unwrap_err();
        assert_eq!(
            error,
            "`代码` has 7 characters, but `chars = [2, 8]` needs at least 8"
        );
        // Characters, not bytes: the third to fifth of a Chinese name.
        let mut name = rule(Source::Path(column("名称")), Transform::None);
        name.chars = Some(CharRange { start: 2, end: 5 });
        let field = plan("agency.name", vec![name]);
        assert_eq!(
            field
                .evaluate(&row(&[("名称", "茌平县卫生健康局")]))
                .unwrap(),
            Some(Value::from("县卫生"))
        );
        // Before the code table.
        let codes = table("div", &[("371523", Value::from("茌平县"))], None);
        let mut mapped = rule(Source::Path(column("代码")), Transform::Codes(codes));
        mapped.chars = Some(CharRange { start: 2, end: 8 });
        let field = plan("remarks", vec![mapped]);
        assert_eq!(
            field
                .evaluate(&row(&[("代码", "113715230042112358")]))
                .unwrap(),
            Some(Value::from("茌平县"))
        );
    }

    #[test]
    fn split_cuts_at_any_of_several_separators() {
        let mut split = rule(Source::Path(column("种类")), Transform::None);
        split.split = Some(vec![";".into(), "；".into()]);
        let field = plan("penalty_kinds", vec![split]);
        assert_eq!(
            field
                .evaluate(&row(&[("种类", "警告；罚款;没收违法所得；")]))
                .unwrap(),
            Some(serde_json::json!(["警告", "罚款", "没收违法所得"]))
        );
    }

    #[test]
    fn several_values_for_a_single_field_is_an_error() {
        let record = SourceRecord::new(
            "in.json",
            1,
            RecordBody::Json(serde_json::json!({"a": ["x", "y"]})),
        );
        let field = plan(
            "facts",
            vec![rule(
                Source::Path(SourcePath::Json("/a".into())),
                Transform::None,
            )],
        );
        assert_eq!(
            field.evaluate(&record).unwrap_err(),
            "`/a` has 2 values where one was expected"
        );
    }
}
