//! `[source.limits]`: how much of one document a source accepts (issue 9).
//!
//! Every kind reads within the same [`ReadLimits`]: nesting, element count, attributes, text and
//! record size, record count. The document's own size is each kind's own key, because each kind
//! meets it at a different place (`max_file_bytes` of the folder kinds, before the file is read;
//! `max_body_bytes` of `http_push` / `http_pull`, before the body is taken; `max_message_bytes` of
//! `kafka`); a `sql` row is limited by `max_value_bytes` per column and `max_record_bytes` for the
//! row. A breach sets the file aside in `failed/`, answers 413/422, or holds the record in quarantine,
//! each with a reason naming the file, line, request, message or row and the limit's key.
//!
//! The defaults are far above anything a real export reaches; a source with genuinely unusual
//! exports raises one limit in its own table without loosening the others or any other source's.

use dhub_mapping::ReadLimits;
use serde::Deserialize;

/// The keys of `[source.limits]`; each absent key keeps [`ReadLimits::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deepest nesting (XML elements, JSON arrays and objects) open at once; default 64, at most
    /// [`ReadLimits::DEPTH_CEILING`].
    #[serde(default)]
    pub max_depth: Option<u64>,
    /// Most elements (XML) or values (JSON) in one document; default 10,000,000.
    #[serde(default)]
    pub max_elements: Option<u64>,
    /// Most attributes on one XML element, or columns of a CSV header; default 1,000.
    #[serde(default)]
    pub max_attributes: Option<u64>,
    /// Longest text value in bytes (element text, attribute, JSON string, CSV field, SQL column);
    /// default 16 MiB.
    #[serde(default)]
    pub max_value_bytes: Option<u64>,
    /// Largest record in bytes (XML record element, JSON object, JSONL line, CSV row, SQL row);
    /// default 64 MiB.
    #[serde(default)]
    pub max_record_bytes: Option<u64>,
    /// Most records in one document; default 1,000,000.
    #[serde(default)]
    pub max_records: Option<u64>,
}

impl LimitsConfig {
    /// The limits, with the kind's own document size limit (`max_file_bytes`, `max_body_bytes`,
    /// `max_message_bytes`).
    pub fn read_limits(&self, max_document_bytes: u64) -> ReadLimits {
        let defaults = ReadLimits::default();
        ReadLimits {
            max_document_bytes,
            max_depth: self.max_depth.unwrap_or(defaults.max_depth),
            max_elements: self.max_elements.unwrap_or(defaults.max_elements),
            max_attributes: self.max_attributes.unwrap_or(defaults.max_attributes),
            max_value_bytes: self.max_value_bytes.unwrap_or(defaults.max_value_bytes),
            max_record_bytes: self.max_record_bytes.unwrap_or(defaults.max_record_bytes),
            max_records: self.max_records.unwrap_or(defaults.max_records),
        }
    }

    /// Every problem with the keys, without a location (the caller adds file and line).
    pub fn check(&self) -> Vec<String> {
        match self
            .read_limits(ReadLimits::default().max_document_bytes)
            .check()
        {
            Ok(()) => Vec::new(),
            Err(problem) => vec![problem],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_keep_the_defaults_and_set_ones_override_only_themselves() {
        let none: LimitsConfig = toml::from_str("").unwrap();
        assert_eq!(
            none.read_limits(10),
            ReadLimits {
                max_document_bytes: 10,
                ..ReadLimits::default()
            }
        );
        let some: LimitsConfig = toml::from_str("max_depth = 8\nmax_records = 5\n").unwrap();
        assert_eq!(
            some.read_limits(10),
            ReadLimits {
                max_document_bytes: 10,
                max_depth: 8,
                max_records: 5,
                ..ReadLimits::default()
            }
        );
    }

    #[test]
    fn unknown_zero_and_too_deep_limits_are_refused() {
        let unknown = toml::from_str::<LimitsConfig>("max_dept = 8\n").unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `max_dept`"),
            "{unknown}"
        );
        let zero: LimitsConfig = toml::from_str("max_attributes = 0\n").unwrap();
        assert_eq!(
            zero.check(),
            vec!["limit `max_attributes` is 0; every read limit must be at least 1".to_string()]
        );
        let deep: LimitsConfig = toml::from_str("max_depth = 100000\n").unwrap();
        assert!(deep.check()[0].contains("max_depth"));
        assert!(LimitsConfig::default().check().is_empty());
    }
}
