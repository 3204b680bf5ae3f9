//! `xml_dir`: a folder of XML exports (UTF-8, GBK, GB18030, as declared), `done/` and `failed/`
//! beside them. The folder engine is shared with `spreadsheet` ([`crate::folder`]); this kind reads
//! `*.xml` by default and any mapping format a document can be written in.

use std::path::Path;

use crate::folder::{FolderConfig, FolderConnector};

/// The kind's keys are the folder's (CONTRACT §2: `path`, `done_dir`, `failed_dir`,
/// `poll_interval_ms`, plus `settle_ms`, `extensions`, `max_file_bytes`).
pub type XmlDirConfig = FolderConfig;

/// The connector of an `xml_dir` source.
pub fn connector(config: &XmlDirConfig, base_dir: &Path) -> FolderConnector {
    FolderConnector::new(config, base_dir, &["xml"])
}
