//! The one list of source kinds (CONTRACT §2). [`SourceKind`] is matched exhaustively wherever sources
//! are handled, so a new kind shows the compiler every place it must be wired; adding one is its own
//! folder plus a variant here.

use std::path::{Path, PathBuf};

use dhub_mapping::SourceFormat;
use serde::Deserialize;

use crate::sql::{self, SqlConfig};
use crate::xml_dir::{self, XmlDirConfig};
use crate::Connector;

/// One `[[source]]` table: the keys every kind shares, and the kind's own keys (flattened from the
/// same table; each kind's struct refuses keys it does not know).
#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Source name; records are identified as `<name>:<source key>`.
    pub name: String,
    /// The mapping file for this system's records, relative to the config file.
    pub mapping: PathBuf,
    /// USCCs of the agencies whose records this source may submit (optional; checked for every kind).
    #[serde(default)]
    pub agencies: Vec<String>,
    /// GB/T 2260 code of the area the source's agencies must be in (optional; checked for every kind).
    #[serde(default)]
    pub division: Option<String>,
    #[serde(flatten)]
    pub kind: SourceKind,
}

/// The kinds of department systems, each with its own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    /// A folder of export files; a file moves to `done/` or `failed/`.
    XmlDir(XmlDirConfig),
    /// A department database table, view or query, read by an incremental cursor.
    Sql(SqlConfig),
}

impl SourceKind {
    /// The kind's name as the config writes it.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::XmlDir(_) => "xml_dir",
            SourceKind::Sql(_) => "sql",
        }
    }

    /// The mapping formats this kind can read.
    pub fn formats(&self) -> &'static [SourceFormat] {
        match self {
            SourceKind::XmlDir(_) => &[
                SourceFormat::Xml,
                SourceFormat::Json,
                SourceFormat::Jsonl,
                SourceFormat::Csv,
            ],
            SourceKind::Sql(_) => &[SourceFormat::Row],
        }
    }

    /// Every problem with the kind's own keys, as messages without a location (the caller adds the
    /// file and line). Resolves secrets, so a missing environment variable is found by `dhub check`.
    pub fn check(&self, base_dir: &Path) -> Vec<String> {
        match self {
            SourceKind::XmlDir(config) => config.check(),
            SourceKind::Sql(config) => config.check(base_dir),
        }
    }

    /// The connector, ready to run.
    pub fn build(&self, base_dir: &Path) -> Result<Box<dyn Connector>, String> {
        match self {
            SourceKind::XmlDir(config) => Ok(Box::new(xml_dir::connector(config, base_dir))),
            SourceKind::Sql(config) => Ok(Box::new(sql::connector(config, base_dir)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SourceConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn shared_and_kind_keys_come_from_one_table() {
        let config = parse(
            "name = \"oa\"\nkind = \"xml_dir\"\nmapping = \"m.toml\"\npath = \"in\"\nagencies = [\"11371523004211234X\"]\ndivision = \"371523\"\n",
        )
        .unwrap();
        assert_eq!(config.name, "oa");
        assert_eq!(config.division.as_deref(), Some("371523"));
        assert_eq!(config.kind.name(), "xml_dir");
        let SourceKind::XmlDir(xml) = &config.kind else {
            panic!("an xml_dir source")
        };
        assert_eq!(xml.path, PathBuf::from("in"));
    }

    #[test]
    fn a_key_no_kind_knows_is_refused() {
        let error = parse("name = \"oa\"\nkind = \"xml_dir\"\nmapping = \"m.toml\"\npath = \"in\"\npoll_intervall_ms = 5\n")
            .unwrap_err();
        assert!(
            error.contains("unknown field `poll_intervall_ms`"),
            "{error}"
        );
    }

    #[test]
    fn a_sql_source_reads_rows_and_refuses_unknown_keys() {
        let config = parse(
            "name = \"cases\"\nkind = \"sql\"\nmapping = \"m.toml\"\nurl = { env = \"CASE_DB_URL\" }\ntable = \"enforcement_cases\"\ncursor = [\"updated_at\", \"case_no\"]\nnotify = \"dhub_cases\"\npoll_interval_ms = 5000\n",
        )
        .unwrap();
        assert_eq!(config.kind.name(), "sql");
        assert_eq!(config.kind.formats(), [SourceFormat::Row]);
        let error = parse(
            "name = \"cases\"\nkind = \"sql\"\nmapping = \"m.toml\"\nurl = \"sqlite://c.db\"\ntable = \"t\"\ncursor = [\"c\"]\nbatch_size = 5\n",
        )
        .unwrap_err();
        assert!(error.contains("unknown field `batch_size`"), "{error}");
    }

    #[test]
    fn an_unknown_kind_is_refused() {
        let error = parse("name = \"oa\"\nkind = \"ftp\"\nmapping = \"m.toml\"\n").unwrap_err();
        assert!(error.contains("unknown variant `ftp`"), "{error}");
    }
}
