//! The three error types of the crate, one per stage: a mapping file that does not compile, a source
//! document that cannot be split into records, and one record that does not map.
//!
//! None of them ever carries a value read from a source record that could be personal data: they
//! name the file, the line, the source key and the field instead (see the crate header).
//!
//! Nor do their messages carry control characters: a message can quote a name or a code from the
//! file (an element name, an unknown code), and a NUL in a quarantine reason would make Postgres
//! refuse the row that records the failure. `printable` writes them as `U+0000`.

use std::fmt;
use std::path::PathBuf;

/// One problem in a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The mapping file, as given to [`crate::Mapping::load`] or [`crate::Mapping::parse`].
    pub path: PathBuf,
    /// 1-based line of the offending key or value; `None` when the problem is the whole file
    /// (it cannot be read, or a required table is missing).
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Every problem found in a mapping file, not just the first: a mapping author fixes them all in
/// one round. `Display` prints one `path:line: message` per line, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_lines(.errors))]
pub struct MappingErrors {
    pub errors: Vec<MappingError>,
}

impl MappingErrors {
    pub fn errors(&self) -> &[MappingError] {
        &self.errors
    }
}

fn render_lines(errors: &[MappingError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A source document that cannot be split into records: bad encoding, malformed XML/JSON/CSV,
/// a root element that does not match the mapping, no records at all.
///
/// Retrying does not help: the department must re-export the document (or the mapping must be fixed
/// when the document has a shape the mapping does not expect).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_document_error(self))]
pub struct DocumentError {
    /// The file path or name the document came from.
    pub origin: String,
    /// 1-based line of the problem when it has one.
    pub line: Option<u64>,
    pub message: String,
}

impl DocumentError {
    pub(crate) fn at(origin: &str, line: u64, message: impl Into<String>) -> DocumentError {
        DocumentError {
            origin: origin.to_string(),
            line: Some(line),
            message: printable(message.into()),
        }
    }

    pub(crate) fn whole(origin: &str, message: impl Into<String>) -> DocumentError {
        DocumentError {
            origin: origin.to_string(),
            line: None,
            message: printable(message.into()),
        }
    }
}

fn render_document_error(error: &DocumentError) -> String {
    match error.line {
        Some(line) => format!("{}:{}: {}", error.origin, line, error.message),
        None => format!("{}: {}", error.origin, error.message),
    }
}

/// One source record that does not map: a missing key, an unknown code, a bad date or amount.
///
/// The record goes to quarantine; retrying the same record with the same mapping fails the same way,
/// so the fix is in the mapping (a code table entry) or at the department (the data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_record_error(self))]
pub struct RecordError {
    pub origin: String,
    /// Line where the record starts in its document; 0 for a record without lines (a database
    /// row), whose origin names it and whose message then leaves the line out.
    pub line: u64,
    /// The record's source key, when it could be read.
    pub source_key: Option<String>,
    /// The disclosure.v1 field being mapped (`key` for the source key, `record` for the record as a whole).
    pub field: String,
    pub message: String,
}

fn render_record_error(error: &RecordError) -> String {
    let at = match error.line {
        0 => error.origin.clone(),
        line => format!("{}:{line}", error.origin),
    };
    match &error.source_key {
        Some(key) => format!("{at}: record {key}: {}: {}", error.field, error.message),
        None => format!("{at}: {}: {}", error.field, error.message),
    }
}

/// The first character of `text` that no text field may hold: a C0 control character other than
/// TAB, LF and CR, or DEL. `dhub-schema` refuses records holding one (Postgres cannot store NUL,
/// and the others are never meant as text); the mapping refuses a source key holding one, because
/// the key becomes the record's id everywhere, the quarantine included.
pub(crate) fn control_character(text: &str) -> Option<char> {
    text.chars().find(
        |c| matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'),
    )
}

/// `text` with every C0 control character and DEL written as `U+XXXX`, for messages.
pub(crate) fn printable(text: String) -> String {
    if !text.chars().any(|c| c.is_ascii_control()) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_ascii_control() {
            out.push_str(&format!("U+{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_errors_print_one_line_each_with_and_without_a_line() {
        let errors = MappingErrors {
            errors: vec![
                MappingError {
                    path: PathBuf::from("m.toml"),
                    line: Some(3),
                    message: "first".into(),
                },
                MappingError {
                    path: PathBuf::from("m.toml"),
                    line: None,
                    message: "second".into(),
                },
            ],
        };
        assert_eq!(errors.to_string(), "m.toml:3: first\nm.toml: second");
    }

    #[test]
    fn document_error_prints_origin_and_optional_line() {
        assert_eq!(
            DocumentError::at("a.xml", 7, "bad").to_string(),
            "a.xml:7: bad"
        );
        assert_eq!(
            DocumentError::whole("a.xml", "bad").to_string(),
            "a.xml: bad"
        );
    }

    #[test]
    fn messages_never_carry_control_characters() {
        let error = DocumentError::at("a.xml", 1, "the root element is `<a\u{0}b>`");
        assert_eq!(error.message, "the root element is `<aU+0000b>`");
        assert_eq!(printable("tab\there".into()), "tabU+0009here");
        assert_eq!(printable("中文".into()), "中文");
    }

    #[test]
    fn control_characters_are_c0_except_tab_lf_cr_and_del() {
        assert_eq!(control_character("a\u{0}b"), Some('\u{0}'));
        assert_eq!(control_character("a\u{1F}"), Some('\u{1F}'));
        assert_eq!(control_character("\u{7F}"), Some('\u{7F}'));
        assert_eq!(control_character("a\tb\nc\r\n"), None);
        assert_eq!(control_character("\u{80}中文"), None);
    }

    #[test]
    fn record_error_prints_key_and_field_and_omits_a_missing_key() {
        let mut error = RecordError {
            origin: "a.xml".into(),
            line: 4,
            source_key: Some("K-1".into()),
            field: "status".into(),
            message: "bad".into(),
        };
        assert_eq!(error.to_string(), "a.xml:4: record K-1: status: bad");
        error.source_key = None;
        assert_eq!(error.to_string(), "a.xml:4: status: bad");
        error.line = 0;
        error.origin = "enforcement_cases (K-1)".into();
        assert_eq!(error.to_string(), "enforcement_cases (K-1): status: bad");
    }
}
