//! How much of a document the readers accept: [`ReadLimits`].
//!
//! A department's export is input from outside the hub. Without limits, one hostile or broken file
//! takes the hub down: 200,000 nested elements overflowed the stack (an abort, not a panic that a
//! worker could survive), 60,000 attributes on one element took seconds in a quadratic check, and
//! a 10 GB file would be read into memory whole. Every reader checks these limits while it reads,
//! and a breach rejects the document with its file, line, the limit's name and its configured value,
//! so that an operator can tell a hostile file from a genuine export that needs a larger limit.
//!
//! The defaults are far above anything a real export reaches; they are per source, so a source with
//! unusual exports raises one limit without loosening the others.

use crate::error::DocumentError;

/// Limits on one document, checked by [`crate::Mapping::read_document_with`]. `Default` gives
/// generous values; see each field for its unit and what it counts in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The largest document, in bytes of the file as stored (before decoding). Checked before
    /// anything is parsed. Default 256 MiB.
    pub max_document_bytes: u64,
    /// The deepest nesting, in levels. XML: elements open at once, the root element being level 1.
    /// JSON and JSONL: arrays and objects open at once, the outermost being level 1. Default 64; at
    /// most [`ReadLimits::DEPTH_CEILING`].
    pub max_depth: u64,
    /// The most elements in one document, counted as they are read. XML: every element, inside
    /// records or not. JSON and JSONL: every array and object, and every value in one (member or
    /// item). Default 10,000,000.
    pub max_elements: u64,
    /// The most attributes on one XML element. CSV: the most columns in the header (every row must
    /// have as many fields as the header). Default 1,000.
    pub max_attributes: u64,
    /// The longest text value, in bytes of UTF-8 text: an XML element's own text (all its text and
    /// CDATA joined, references resolved), an XML attribute value, a JSON string as written in the
    /// file (escapes count with their written length; object keys too), a CSV field.
    /// Default 16 MiB.
    pub max_value_bytes: u64,
    /// The largest record, in bytes of its decoded (UTF-8) text from its first byte to its last:
    /// an XML record element from its start tag to its end tag, a JSON record object, a JSONL line,
    /// a CSV row. Default 64 MiB.
    pub max_record_bytes: u64,
    /// The most records in one document. Default 1,000,000.
    pub max_records: u64,
}

impl ReadLimits {
    /// The deepest nesting the readers support, whatever `max_depth` says.
    ///
    /// Nesting is where recursion would hide: the readers build trees with explicit stacks, and the
    /// XML tree is written, read back and dropped without recursion, but serde_json (JSON documents,
    /// and the raw form of a quarantined record that [`crate::SourceRecord::from_raw_text`] reads)
    /// parses, clones and drops a `Value` recursively, one stack frame per level. Depth is checked
    /// on the text before serde_json sees it, so that recursion is bounded by this ceiling (twice
    /// it, plus one, for the raw form of an XML record); `tests/hostile.rs` reads, maps and replays
    /// records at the ceiling on a 2 MiB thread stack, the default of Rust's spawned threads and
    /// tokio's workers. (In a debug build that test passes at 512 and overflows at 1024: the
    /// ceiling leaves a margin of two.)
    pub const DEPTH_CEILING: u64 = 256;

    /// Checks that every limit is usable: positive, and `max_depth` at most
    /// [`ReadLimits::DEPTH_CEILING`]. A configuration loader calls this at start-up; the readers
    /// call it too and refuse to read with invalid limits.
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in self.named() {
            if value == 0 {
                return Err(format!(
                    "limit `{name}` is 0; every read limit must be at least 1"
                ));
            }
        }
        if self.max_depth > Self::DEPTH_CEILING {
            return Err(format!(
                "limit `max_depth` is {}, above {}, the deepest nesting the readers support",
                self.max_depth,
                Self::DEPTH_CEILING
            ));
        }
        Ok(())
    }

    /// Every limit with its name, in declaration order.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("max_document_bytes", self.max_document_bytes),
            ("max_depth", self.max_depth),
            ("max_elements", self.max_elements),
            ("max_attributes", self.max_attributes),
            ("max_value_bytes", self.max_value_bytes),
            ("max_record_bytes", self.max_record_bytes),
            ("max_records", self.max_records),
        ]
    }

    /// Refuses a document that is too large, before it is decoded or parsed.
    pub(crate) fn check_document(&self, bytes: usize, origin: &str) -> Result<(), DocumentError> {
        self.check()
            .map_err(|problem| DocumentError::whole(origin, format!("cannot read: {problem}")))?;
        if bytes as u64 > self.max_document_bytes {
            return Err(DocumentError::whole(
                origin,
                format!(
                    "the document is {bytes} bytes, which exceeds the limit of {} bytes (max_document_bytes); {RAISE}",
                    self.max_document_bytes
                ),
            ));
        }
        Ok(())
    }
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            max_document_bytes: 256 * 1024 * 1024,
            max_depth: 64,
            max_elements: 10_000_000,
            max_attributes: 1_000,
            max_value_bytes: 16 * 1024 * 1024,
            max_record_bytes: 64 * 1024 * 1024,
            max_records: 1_000_000,
        }
    }
}

/// The advice every limit error ends with.
const RAISE: &str = "raise it in the source's limits if this export is genuine";

/// A limit breach at `line`: `what` exceeds the limit (`"element depth"`, `"the text of `<a>`"`),
/// with the limit's configured value and name. `unit` follows the value (`" bytes"` or `""`).
pub(crate) fn exceeded(
    origin: &str,
    line: u64,
    what: &str,
    limit: u64,
    unit: &str,
    name: &str,
) -> DocumentError {
    DocumentError::at(
        origin,
        line,
        format!("{what} exceeds the limit of {limit}{unit} ({name}); {RAISE}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_or_too_deep_is_not() {
        assert_eq!(ReadLimits::default().check(), Ok(()));
        let zero = ReadLimits {
            max_records: 0,
            ..ReadLimits::default()
        };
        assert_eq!(
            zero.check().unwrap_err(),
            "limit `max_records` is 0; every read limit must be at least 1"
        );
        let deep = ReadLimits {
            max_depth: ReadLimits::DEPTH_CEILING + 1,
            ..ReadLimits::default()
        };
        assert!(deep.check().unwrap_err().contains("max_depth"));
        let at_ceiling = ReadLimits {
            max_depth: ReadLimits::DEPTH_CEILING,
            ..ReadLimits::default()
        };
        assert_eq!(at_ceiling.check(), Ok(()));
    }

    #[test]
    fn a_document_over_the_byte_limit_is_refused_with_the_limit_named() {
        let limits = ReadLimits {
            max_document_bytes: 10,
            ..ReadLimits::default()
        };
        assert!(limits.check_document(10, "in.xml").is_ok());
        assert_eq!(
            limits.check_document(11, "in.xml").unwrap_err().to_string(),
            "in.xml: the document is 11 bytes, which exceeds the limit of 10 bytes (max_document_bytes); raise it in the source's limits if this export is genuine"
        );
        let invalid = ReadLimits {
            max_depth: 0,
            ..limits
        };
        assert!(invalid
            .check_document(1, "in.xml")
            .unwrap_err()
            .message
            .contains("`max_depth` is 0"));
    }

    #[test]
    fn a_breach_names_file_line_limit_and_value() {
        assert_eq!(
            exceeded("in.xml", 12, "element depth", 64, "", "max_depth").to_string(),
            "in.xml:12: element depth exceeds the limit of 64 (max_depth); raise it in the source's limits if this export is genuine"
        );
    }
}
