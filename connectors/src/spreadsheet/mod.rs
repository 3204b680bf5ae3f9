//! `spreadsheet`: a folder of CSV and XLSX sheets in the national 双公示 template layout, dropped by
//! small units that have no case system. The folder engine ([`crate::folder`]) does the work, as
//! for `xml_dir`: a file is read once it has settled, its rows are stored, and it moves to `done/`;
//! a file that cannot be read (an XLSX that is not a workbook, a renamed or missing column, bytes
//! invalid in the declared encoding) moves to `failed/` with a `.reason` file. A row that does not
//! map or validate is held in quarantine naming `file:row`, and the file's other rows are stored.
//!
//! The files read by default are those of the mapping's format (`csv` → `*.csv`, `xlsx` →
//! `*.xlsx`); the registry accepts only `csv` and `xlsx` mappings for this kind.

use std::path::{Path, PathBuf};

use dhub_mapping::SourceFormat;
use futures::future::BoxFuture;

use crate::context::SourceContext;
use crate::folder::{FolderConfig, FolderConnector};
use crate::limits::LimitsConfig;
use crate::{Connector, ConnectorError};

/// The kind's keys are the folder's (CONTRACT §2: `path`, `done_dir`, `failed_dir`,
/// `poll_interval_ms`, plus `settle_ms`, `extensions`, `max_file_bytes`).
pub type SpreadsheetConfig = FolderConfig;

/// The mapping formats a spreadsheet source reads.
pub const FORMATS: [SourceFormat; 2] = [SourceFormat::Csv, SourceFormat::Xlsx];

/// The file extensions read when the config names none: the mapping's format.
pub fn default_extensions(format: SourceFormat) -> Result<&'static [&'static str], String> {
    match format {
        SourceFormat::Csv => Ok(&["csv"]),
        SourceFormat::Xlsx => Ok(&["xlsx"]),
        other => Err(format!(
            "a spreadsheet source reads csv or xlsx mappings, not {other}"
        )),
    }
}

/// A `spreadsheet` source. The folder engine is built when it starts, once the mapping (and so the
/// default extensions) is known.
pub struct SpreadsheetConnector {
    config: SpreadsheetConfig,
    base_dir: PathBuf,
    limits: LimitsConfig,
}

/// The connector of a `spreadsheet` source.
pub fn connector(config: &SpreadsheetConfig, base_dir: &Path) -> SpreadsheetConnector {
    SpreadsheetConnector {
        config: config.clone(),
        base_dir: base_dir.to_path_buf(),
        limits: LimitsConfig::default(),
    }
}

impl SpreadsheetConnector {
    /// Reads within the source's `[source.limits]`.
    pub fn within(mut self, limits: &LimitsConfig) -> SpreadsheetConnector {
        self.limits = limits.clone();
        self
    }

    /// The folder engine for a mapping of `format`.
    pub fn folder(&self, format: SourceFormat) -> Result<FolderConnector, String> {
        Ok(
            FolderConnector::new(&self.config, &self.base_dir, default_extensions(format)?)
                .within(&self.limits),
        )
    }
}

impl Connector for SpreadsheetConnector {
    fn run(
        self: Box<Self>,
        context: SourceContext,
    ) -> BoxFuture<'static, Result<(), ConnectorError>> {
        Box::pin(async move {
            let folder = self
                .folder(context.mapping.format())
                .map_err(ConnectorError::fatal)?;
            Box::new(folder).run(context).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extensions: Option<Vec<String>>) -> SpreadsheetConfig {
        SpreadsheetConfig {
            path: "in".into(),
            done_dir: None,
            failed_dir: None,
            poll_interval_ms: 1000,
            settle_ms: 100,
            extensions,
            max_file_bytes: 1024,
        }
    }

    #[test]
    fn the_mapping_format_chooses_the_files_read() {
        let spreadsheet = connector(&config(None), Path::new("/srv/hub"));
        assert_eq!(
            spreadsheet.folder(SourceFormat::Xlsx).unwrap().extensions,
            ["xlsx"]
        );
        let folder = spreadsheet.folder(SourceFormat::Csv).unwrap();
        assert_eq!(folder.extensions, ["csv"]);
        assert_eq!(folder.paths.inbox, Path::new("/srv/hub/in"));
        assert_eq!(folder.paths.failed, Path::new("/srv/hub/in/failed"));
        let error = spreadsheet.folder(SourceFormat::Xml).err().unwrap();
        assert_eq!(
            error,
            "a spreadsheet source reads csv or xlsx mappings, not xml"
        );
    }

    #[test]
    fn listed_extensions_win() {
        let spreadsheet = connector(
            &config(Some(vec!["TXT".into(), "csv".into()])),
            Path::new("."),
        );
        assert_eq!(
            spreadsheet.folder(SourceFormat::Csv).unwrap().extensions,
            ["txt", "csv"]
        );
    }
}
