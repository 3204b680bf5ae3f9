//! The one list of source kinds (CONTRACT §2). [`SourceKind`] is matched exhaustively wherever sources
//! are handled, so a new kind shows the compiler every place it must be wired; adding one is its own
//! folder plus a variant here.

use std::path::{Path, PathBuf};

use dhub_mapping::SourceFormat;
use serde::Deserialize;

use crate::http_pull::{HttpPullConfig, PullConnector};
use crate::http_push::{HttpPushConfig, PushEndpoint};
use crate::kafka::{self, KafkaConfig};
use crate::limits::LimitsConfig;
use crate::spreadsheet::{self, SpreadsheetConfig};
use crate::sql::{self, SqlConfig};
use crate::xml_dir::{self, XmlDirConfig};
use crate::Connector;

/// What sources may take from the hub's own sections of the config. Holds resolved secrets: no
/// `Debug`.
#[derive(Clone, Default)]
pub struct HubSettings {
    /// `[kafka] brokers`: the cluster of `kafka` sources that name none of their own.
    pub kafka_brokers: String,
    /// `[kafka.properties]`, resolved; they go with `kafka_brokers`.
    pub kafka_properties: Vec<(String, String)>,
}

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
    /// `[source.limits]`: how much of one document the source accepts (every kind; see
    /// [`crate::limits`]).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Limits on the documents its records bring (`documents = { max_bytes = …, media_types = […] }`).
    #[serde(default)]
    pub documents: Option<SourceDocumentsConfig>,
    #[serde(flatten)]
    pub kind: SourceKind,
}

impl SourceConfig {
    /// The connector or endpoint, reading within the source's own `[source.limits]`.
    pub fn build(&self, base_dir: &Path, hub: &HubSettings) -> Result<Built, String> {
        self.kind.build_within(base_dir, hub, &self.limits)
    }
}

/// `[[source]] documents`: a source's limits on decision documents and evidence (issue 11). The
/// hub checks each attachment against them; one over a limit is refused with a reason and the
/// record goes on without it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDocumentsConfig {
    /// Largest attachment in bytes (default 20 MiB).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Media types the source may send (default: every one the hub reads: DOCX, PDF, HTML, text,
    /// JPEG, PNG, MP4).
    #[serde(default)]
    pub media_types: Option<Vec<String>>,
}

/// The kinds of department systems, each with its own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    /// A folder of export files; a file moves to `done/` or `failed/`.
    XmlDir(XmlDirConfig),
    /// A department database table, view or query, read by an incremental cursor.
    Sql(SqlConfig),
    /// A topic department systems publish their cases to, one per message, read in a consumer
    /// group.
    Kafka(KafkaConfig),
    /// A folder of CSV / XLSX sheets in the national 双公示 template layout.
    Spreadsheet(SpreadsheetConfig),
    /// Departments POST their records to `POST /ingest/<name>` (CONTRACT §1).
    HttpPush(HttpPushConfig),
    /// The hub polls a department's API, page after page, and stores the cursor with each page.
    HttpPull(HttpPullConfig),
}

/// What a source kind gives the hub to run: a task that reads its system until shutdown, or an
/// endpoint that answers requests on the hub's HTTP server.
pub enum Built {
    /// Run under supervision ([`Connector::run`]), restarted after a failure.
    Task(Box<dyn Connector>),
    /// Mounted on the hub's HTTP server ([`crate::http_push::router`]); runs nothing of its own.
    Push(PushEndpoint),
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Built::Task(_) => f.write_str("Built::Task"),
            Built::Push(endpoint) => f.debug_tuple("Built::Push").field(endpoint).finish(),
        }
    }
}

impl SourceKind {
    /// The kind's name as the config writes it.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::XmlDir(_) => "xml_dir",
            SourceKind::Sql(_) => "sql",
            SourceKind::Kafka(_) => "kafka",
            SourceKind::Spreadsheet(_) => "spreadsheet",
            SourceKind::HttpPush(_) => "http_push",
            SourceKind::HttpPull(_) => "http_pull",
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
            SourceKind::Kafka(_) => &[SourceFormat::Json, SourceFormat::Jsonl, SourceFormat::Xml],
            SourceKind::Spreadsheet(_) => &spreadsheet::FORMATS,
            SourceKind::HttpPush(_) => {
                &[SourceFormat::Json, SourceFormat::Jsonl, SourceFormat::Xml]
            }
            // A page must say where the next one starts: a JSON member or an XML element.
            SourceKind::HttpPull(_) => &[SourceFormat::Json, SourceFormat::Xml],
        }
    }

    /// Every problem with the kind's own keys, as messages without a location (the caller adds the
    /// file and line). Resolves secrets, so a missing environment variable is found by `dhub check`.
    pub fn check(&self, base_dir: &Path) -> Vec<String> {
        match self {
            SourceKind::XmlDir(config) => config.check(),
            SourceKind::Sql(config) => config.check(base_dir),
            SourceKind::Kafka(config) => config.check(base_dir),
            SourceKind::Spreadsheet(config) => config.check(),
            SourceKind::HttpPush(config) => config.check(base_dir),
            SourceKind::HttpPull(config) => config.check(base_dir),
        }
    }

    /// The connector or endpoint, ready to run or mount. Resolves secrets. `hub` lends what the
    /// kind takes from the hub's own sections (a `kafka` source's default cluster).
    /// The default read limits apply; [`SourceConfig::build`] passes the source's own.
    pub fn build(&self, base_dir: &Path, hub: &HubSettings) -> Result<Built, String> {
        self.build_within(base_dir, hub, &LimitsConfig::default())
    }

    /// [`SourceKind::build`] with the source's `[source.limits]`; each kind adds its own document
    /// size key (`max_file_bytes`, `max_body_bytes`, `max_message_bytes`).
    pub fn build_within(
        &self,
        base_dir: &Path,
        hub: &HubSettings,
        limits: &LimitsConfig,
    ) -> Result<Built, String> {
        match self {
            SourceKind::XmlDir(config) => Ok(Built::Task(Box::new(
                xml_dir::connector(config, base_dir).within(limits),
            ))),
            SourceKind::Sql(config) => Ok(Built::Task(Box::new(
                sql::connector(config, base_dir)?.within(limits),
            ))),
            SourceKind::Kafka(config) => Ok(Built::Task(Box::new(
                kafka::connector(config, base_dir, hub)?.within(limits),
            ))),
            SourceKind::Spreadsheet(config) => Ok(Built::Task(Box::new(
                spreadsheet::connector(config, base_dir).within(limits),
            ))),
            SourceKind::HttpPush(config) => PushEndpoint::new(config, base_dir)
                .map(|endpoint| Built::Push(endpoint.within(limits))),
            SourceKind::HttpPull(config) => Ok(Built::Task(Box::new(
                PullConnector::new(config, base_dir)?.within(limits),
            ))),
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
            panic!("an xml_dir source: {:?}", config.kind);
        };
        assert_eq!(xml.path, PathBuf::from("in"));
    }

    #[test]
    fn a_sources_limits_table_is_its_own_and_refuses_unknown_keys() {
        let text = "name = \"oa\"\nkind = \"xml_dir\"\nmapping = \"m.toml\"\npath = \"in\"\nmax_file_bytes = 4096\n[limits]\nmax_depth = 12\n";
        let config = parse(text).unwrap();
        assert_eq!(config.limits.max_depth, Some(12));
        assert_eq!(config.limits.read_limits(4096).max_depth, 12);
        assert_eq!(
            parse("name = \"oa\"\nkind = \"xml_dir\"\nmapping = \"m.toml\"\npath = \"in\"\n")
                .unwrap()
                .limits,
            LimitsConfig::default()
        );
        let error = parse(&text.replace("max_depth", "max_deep")).unwrap_err();
        assert!(error.contains("unknown field `max_deep`"), "{error}");
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
    fn kafka_and_spreadsheet_sources_parse_with_their_own_keys() {
        let config = parse(
            "name = \"djt\"\nkind = \"kafka\"\nmapping = \"dept-kafka.toml\"\ntopic = \"djt.cases\"\ngroup = \"dhub-djt\"\nbatch_messages = 100\n",
        )
        .unwrap();
        assert_eq!(config.kind.name(), "kafka");
        assert!(config.kind.check(Path::new(".")).is_empty());
        assert_eq!(
            config.kind.formats(),
            [SourceFormat::Json, SourceFormat::Jsonl, SourceFormat::Xml]
        );
        let hub = HubSettings {
            kafka_brokers: "127.0.0.1:9092".into(),
            kafka_properties: Vec::new(),
        };
        assert!(config.kind.build(Path::new("."), &hub).is_ok());
        assert_eq!(
            config
                .kind
                .build(Path::new("."), &HubSettings::default())
                .err(),
            Some(
                "no brokers: set `brokers` on the source or [kafka] brokers for the hub"
                    .to_string()
            )
        );

        let config = parse(
            "name = \"sgs\"\nkind = \"spreadsheet\"\nmapping = \"sgs-penalty.toml\"\npath = \"in/sgs\"\nfailed_dir = \"rejected\"\n",
        )
        .unwrap();
        assert_eq!(config.kind.name(), "spreadsheet");
        assert_eq!(
            config.kind.formats(),
            [SourceFormat::Csv, SourceFormat::Xlsx]
        );
        let SourceKind::Spreadsheet(folder) = &config.kind else {
            panic!("a spreadsheet source");
        };
        assert_eq!(folder.failed_dir, Some(PathBuf::from("rejected")));
        let error = parse(
            "name = \"sgs\"\nkind = \"spreadsheet\"\nmapping = \"m.toml\"\npath = \"in\"\ntopic = \"t\"\n",
        )
        .unwrap_err();
        assert!(error.contains("unknown field `topic`"), "{error}");
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
