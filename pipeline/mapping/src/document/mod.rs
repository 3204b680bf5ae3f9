//! Source documents (file bytes) → source records, by format.

mod csv;
mod decode;
pub(crate) mod json;
mod xml;

use crate::error::DocumentError;
use crate::limits::ReadLimits;
use crate::record::SourceRecord;
use crate::{Mapping, SourceFormat};

pub(crate) fn read_document(
    mapping: &Mapping,
    bytes: &[u8],
    origin: &str,
    limits: &ReadLimits,
) -> Result<Vec<SourceRecord>, DocumentError> {
    limits.check_document(bytes.len(), origin)?;
    match mapping.format {
        SourceFormat::Xml => {
            let declared = decode::xml_declared_encoding(bytes, origin)?;
            let text = decode::decode(bytes, declared.or(mapping.encoding), origin)?;
            xml::read_xml(&text, origin, &mapping.records_path, limits)
        }
        SourceFormat::Json => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            json::read_json(&text, origin, &mapping.json_pointer, limits)
        }
        SourceFormat::Jsonl => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            json::read_jsonl(&text, origin, limits)
        }
        SourceFormat::Csv => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            csv::read_csv(
                &text,
                origin,
                mapping.delimiter,
                &mapping.csv_columns,
                limits,
            )
        }
    }
}
