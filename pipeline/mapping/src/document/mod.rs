//! Source documents (file bytes) → source records, by format.

mod csv;
mod decode;
mod json;
mod xml;

use crate::error::DocumentError;
use crate::record::SourceRecord;
use crate::{Mapping, SourceFormat};

pub(crate) fn read_document(
    mapping: &Mapping,
    bytes: &[u8],
    origin: &str,
) -> Result<Vec<SourceRecord>, DocumentError> {
    match mapping.format {
        SourceFormat::Xml => {
            let declared = decode::xml_declared_encoding(bytes, origin)?;
            let text = decode::decode(bytes, declared.or(mapping.encoding), origin)?;
            xml::read_xml(&text, origin, &mapping.records_path)
        }
        SourceFormat::Json => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            json::read_json(&text, origin, &mapping.json_pointer)
        }
        SourceFormat::Jsonl => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            json::read_jsonl(&text, origin)
        }
        SourceFormat::Csv => {
            let text = decode::decode(bytes, mapping.encoding, origin)?;
            csv::read_csv(&text, origin, mapping.delimiter, &mapping.csv_columns)
        }
    }
}
