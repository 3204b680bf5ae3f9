//! The hub's configuration (CONTRACT §2): parsed from TOML with unknown keys refused, overridden by
//! `DHUB_SECTION__KEY` environment variables, validated, and compiled once into a [`HubConfig`] whose
//! mappings and policies are ready to run. Every error is `path:line: message`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dhub_ingest::{Platform, SourceConstraints};
use dhub_mapping::Mapping;
use dhub_publish::kafka::KafkaSettings;
use dhub_redaction::Policy;
use dhub_schema::divisions::{self, Level};
use serde::Deserialize;

pub use dhub_support::Secret;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    hub: HubSection,
    kafka: KafkaSection,
    #[serde(default)]
    platform: Vec<toml::Spanned<PlatformSection>>,
    #[serde(default)]
    source: Vec<toml::Spanned<SourceConfig>>,
    /// The law's clocks: time zone, calendar, deadlines, publicity periods (`crate::compliance`).
    #[serde(default)]
    // Not `Spanned`: through it, an unknown key in a nested table (`[compliance.deadlines]`) is
    // reported as a type error instead of the key's name.
    compliance: Option<crate::compliance::ComplianceSection>,
    #[serde(default)]
    documents: Option<toml::Spanned<DocumentsSection>>,
}

/// `[documents]`: where the hub keeps decision documents and evidence (issue 11), and the address
/// platforms fetch them from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsSection {
    /// A folder (relative to the config file) or `s3://bucket/prefix` (credentials from the
    /// `AWS_*` environment variables).
    store: String,
    /// The hub as platforms reach it; default `http://<hub.listen>`.
    #[serde(default)]
    base_url: Option<String>,
    /// S3-compatible endpoint (MinIO, Ceph), for `s3://` stores.
    #[serde(default)]
    s3_endpoint: Option<String>,
}

/// `[documents]`, checked.
#[derive(Debug, Clone)]
pub struct DocumentsSetup {
    /// The store's location, a relative folder made absolute.
    pub store: String,
    pub base_url: String,
    pub s3_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HubSection {
    /// `sqlite://PATH` (relative to the config file) or `postgres://…`.
    #[serde(default = "default_state")]
    state: Secret,
    /// Address of the metrics, health, dashboard and ingest endpoints.
    #[serde(default = "default_listen")]
    listen: String,
    /// How long `dhub run` waits on SIGINT/SIGTERM for pending records to reach the broker.
    #[serde(default = "default_drain_timeout_ms")]
    drain_timeout_ms: u64,
    /// How often to look for records whose `publicity_until` has passed, to withdraw them.
    #[serde(default = "default_publicity_check_interval_ms")]
    publicity_check_interval_ms: u64,
    /// How long a delivered queue entry is kept before it is pruned (0: as soon as every feed has
    /// it). Keeping some lets `dhub trace` show recently sent envelopes.
    #[serde(default)]
    keep_delivered_ms: u64,
    /// The audit chain's HMAC key (a secret: `{ file = … }` or `{ env = … }`, at least 32 bytes),
    /// kept outside the state store so that database access alone cannot recompute the chain.
    #[serde(default)]
    audit_key: Option<Secret>,
    /// Ed25519 private key (PKCS#8 PEM, `{ file = … }`) that signs every envelope (CONTRACT §4).
    #[serde(default)]
    signing_key: Option<Secret>,
    /// How often the audit chain's head is published to the checkpoint topic (also on shutdown).
    #[serde(default = "default_audit_checkpoint_interval_ms")]
    audit_checkpoint_interval_ms: u64,
}

impl Default for HubSection {
    fn default() -> Self {
        HubSection {
            state: default_state(),
            listen: default_listen(),
            drain_timeout_ms: default_drain_timeout_ms(),
            publicity_check_interval_ms: default_publicity_check_interval_ms(),
            keep_delivered_ms: 0,
            audit_key: None,
            signing_key: None,
            audit_checkpoint_interval_ms: default_audit_checkpoint_interval_ms(),
        }
    }
}

fn default_state() -> Secret {
    Secret::Inline("sqlite://.dhub/state.db".into())
}
fn default_listen() -> String {
    "127.0.0.1:9464".into()
}
fn default_drain_timeout_ms() -> u64 {
    30_000
}
/// The shortest publicity sweep interval `dhub check` accepts.
const MIN_PUBLICITY_CHECK_INTERVAL_MS: u64 = 100;
/// The shortest audit checkpoint interval `dhub check` accepts: each checkpoint is a Kafka message
/// and a store read, pointless more often than this.
const MIN_AUDIT_CHECKPOINT_INTERVAL_MS: u64 = 100;

fn default_audit_checkpoint_interval_ms() -> u64 {
    60_000
}
fn default_publicity_check_interval_ms() -> u64 {
    // Publicity periods end on a date; an hourly look withdraws within the day.
    3_600_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaSection {
    brokers: String,
    #[serde(default)]
    topic_prefix: String,
    /// Partitions of each feed topic the hub creates.
    #[serde(default = "one")]
    partitions: i32,
    /// Replication factor of each feed topic the hub creates.
    #[serde(default = "one")]
    replication_factor: i32,
    /// Any librdkafka property, passed through (values may be secrets).
    #[serde(default)]
    properties: BTreeMap<String, Secret>,
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    #[serde(default)]
    security_protocol: Option<String>,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (with a `sasl_*` protocol).
    #[serde(default)]
    sasl_mechanism: Option<String>,
    #[serde(default)]
    sasl_username: Option<String>,
    #[serde(default)]
    sasl_password: Option<Secret>,
    /// PEM file of the CA certificates that sign the brokers' certificates (relative to the config).
    #[serde(default)]
    ssl_ca_location: Option<PathBuf>,
}

fn one() -> i32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformSection {
    name: String,
    level: Level,
    division: String,
    #[serde(default = "default_policy")]
    policy: String,
    #[serde(default = "default_format")]
    format: String,
}

fn default_policy() -> String {
    "public".into()
}
fn default_format() -> String {
    dhub_schema::SCHEMA_NAME.into()
}

pub use dhub_connectors::{HubSettings, SourceConfig, SourceKind};

/// A source ready to start: its config and its compiled mapping.
pub struct SourceSetup {
    pub config: SourceConfig,
    pub mapping: Arc<Mapping>,
}

impl SourceSetup {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// What the source may submit (`agencies`, `division`).
    /// The source's limits on documents (`documents = {…}`), checked.
    pub fn document_limits(&self) -> Result<dhub_ingest::SourceDocumentLimits, String> {
        SourceSetup::document_limits_of(self.config.documents.as_ref())
    }

    fn document_limits_of(
        config: Option<&dhub_connectors::SourceDocumentsConfig>,
    ) -> Result<dhub_ingest::SourceDocumentLimits, String> {
        let mut limits = dhub_ingest::SourceDocumentLimits::default();
        let Some(config) = config else {
            return Ok(limits);
        };
        if let Some(max) = config.max_bytes {
            if max == 0 {
                return Err("documents.max_bytes must be above 0".into());
            }
            limits.max_bytes = max;
        }
        if let Some(types) = &config.media_types {
            limits.media_types = types
                .iter()
                .map(|t| {
                    dhub_documents::MediaType::parse(t).ok_or_else(|| {
                        let known: Vec<&str> = dhub_documents::MediaType::ALL
                            .iter()
                            .map(|m| m.as_str())
                            .collect();
                        format!(
                            "documents.media_types: `{t}` is not one of {}",
                            known.join(", ")
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(limits)
    }

    pub fn constraints(&self) -> SourceConstraints {
        SourceConstraints {
            agencies: self.config.agencies.clone(),
            division: self.config.division.clone(),
        }
    }
}

/// The compiled configuration.
pub struct HubConfig {
    pub path: PathBuf,
    pub base_dir: PathBuf,
    pub state_url: String,
    pub listen: SocketAddr,
    pub drain_timeout: std::time::Duration,
    pub publicity_check_interval: std::time::Duration,
    /// How long delivered queue entries are kept before pruning.
    pub keep_delivered: std::time::Duration,
    /// `[hub] audit_key`: keys the audit chain.
    pub audit_key: Option<dhub_store::AuditKey>,
    /// `[hub] signing_key`: signs every envelope.
    pub signer: Option<Arc<dhub_support::signature::Signer>>,
    /// How often the audit chain's head is published to [`HubConfig::checkpoint_topic`].
    pub audit_checkpoint_interval: std::time::Duration,
    pub kafka: KafkaSettings,
    pub topic_prefix: String,
    pub platforms: Vec<Platform>,
    /// Policy by platform name.
    pub policies: HashMap<String, Arc<Policy>>,
    pub sources: Vec<SourceSetup>,
    /// Time zone, calendar, deadline rules, publicity periods (`[compliance]`).
    pub compliance: crate::compliance::ComplianceSetup,
    /// `[documents]`: `None` when not configured (records' attachments are then refused).
    pub documents: Option<DocumentsSetup>,
}

/// Shows where the config came from, not its content (it may resolve secrets).
impl std::fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubConfig")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Every problem found in a config, one `path:line: message` per line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

impl HubConfig {
    /// The topic the audit chain's checkpoints go to: `<topic_prefix>audit.checkpoints`.
    pub fn checkpoint_topic(&self) -> String {
        dhub_publish::checkpoint::topic_name(&self.topic_prefix)
    }

    /// Every platform's feed topic, for creating them.
    pub fn topics(&self) -> Vec<String> {
        self.platforms.iter().map(|p| p.topic.clone()).collect()
    }

    /// What sources take from the hub's own sections: `[kafka]` brokers and properties, the
    /// default cluster of `kafka` sources.
    pub fn source_settings(&self) -> HubSettings {
        HubSettings {
            kafka_brokers: self.kafka.brokers.clone(),
            kafka_properties: self.kafka.properties.clone(),
        }
    }

    /// Platform name → envelope schema, for the relay's `schema` header.
    pub fn formats(&self) -> HashMap<String, String> {
        self.platforms
            .iter()
            .map(|p| (p.name.clone(), p.format.clone()))
            .collect()
    }

    /// Loads, overrides from the environment, validates and compiles a config file.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigErrors(vec![format!(
                "{}: cannot read the config: {error}",
                path.display()
            )])
        })?;
        let overrides: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| key.starts_with("DHUB_") && key.contains("__"))
            .collect();
        HubConfig::parse(&text, path, &overrides)
    }

    /// [`HubConfig::load`] on text, with explicit environment overrides (for tests).
    pub fn parse(
        text: &str,
        path: &Path,
        overrides: &[(String, String)],
    ) -> Result<HubConfig, ConfigErrors> {
        let shown = path.display().to_string();
        let raw: RawConfig = toml::from_str(text)
            .map_err(|error| ConfigErrors(vec![toml_error(&shown, text, &error)]))?;
        if overrides.is_empty() {
            return compile(raw, text, path);
        }
        let overridden = apply_overrides(text, &shown, overrides)?;
        let raw: RawConfig = toml::from_str(&overridden).map_err(|error| {
            ConfigErrors(vec![format!(
                "{} (after DHUB_… environment overrides)",
                toml_error(&shown, &overridden, &error)
            )])
        })?;
        compile(raw, &overridden, path)
    }
}

fn toml_error(shown: &str, text: &str, error: &toml::de::Error) -> String {
    let line = error
        .span()
        .map(|span| line_of(text, span.start))
        .unwrap_or(1);
    format!("{shown}:{line}: {}", error.message().trim())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `DHUB_KAFKA__BROKERS=…` sets `kafka.brokers`: sections and keys joined by `__`, lowercased. The value
/// keeps the type of the key it replaces (a number stays a number); a key the file leaves out becomes a
/// number or boolean if it reads as one. The file is edited in place (toml_edit keeps its layout), so
/// errors still point at the file's lines. Returns the edited text.
fn apply_overrides(
    text: &str,
    shown: &str,
    overrides: &[(String, String)],
) -> Result<String, ConfigErrors> {
    let mut document: toml_edit::DocumentMut =
        text.parse().map_err(|error: toml_edit::TomlError| {
            ConfigErrors(vec![format!("{shown}: {}", error.message())])
        })?;
    for (variable, value) in overrides {
        let path: Vec<String> = variable["DHUB_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let (last, sections) = path.split_last().expect("split yields at least one part");
        let mut table = document.as_table_mut();
        for section in sections {
            let entry = table
                .entry(section)
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                ConfigErrors(vec![format!(
                    "{variable}: `{section}` is not a table in {shown}"
                )])
            })?;
        }
        let typed: Option<toml_edit::Value> =
            match table.get(last).and_then(toml_edit::Item::as_value) {
                Some(toml_edit::Value::Integer(_)) => value.parse::<i64>().ok().map(Into::into),
                Some(toml_edit::Value::Boolean(_)) => value.parse::<bool>().ok().map(Into::into),
                Some(_) => Some(value.as_str().into()),
                None => Some(
                    value
                        .parse::<i64>()
                        .map(toml_edit::Value::from)
                        .or_else(|_| value.parse::<bool>().map(toml_edit::Value::from))
                        .unwrap_or_else(|_| value.as_str().into()),
                ),
            };
        let typed = typed.ok_or_else(|| {
            ConfigErrors(vec![format!(
                "{variable}: must have the type of `{}` in {shown}",
                path.join(".")
            )])
        })?;
        table.insert(last, toml_edit::Item::Value(typed));
    }
    Ok(document.to_string())
}

fn compile(raw: RawConfig, text: &str, path: &Path) -> Result<HubConfig, ConfigErrors> {
    let shown = path.display().to_string();
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    let mut errors = Vec::new();

    // First: its `divisions_file` extends the division table the checks below use.
    let compliance_at = match text.find("[compliance") {
        Some(offset) => format!("{shown}:{}", line_of(text, offset)),
        None => shown.clone(),
    };
    let compliance = crate::compliance::compile(raw.compliance.as_ref(), &base_dir, &compliance_at)
        .unwrap_or_else(|problems| {
            errors.extend(problems);
            crate::compliance::ComplianceSetup::default()
        });

    let state_url = match raw.hub.state.resolve(&base_dir) {
        Ok(url) => resolve_state_url(url.expose(), &base_dir),
        Err(message) => {
            errors.push(format!("{shown}: hub.state: {message}"));
            String::new()
        }
    };
    let audit_key = raw.hub.audit_key.as_ref().and_then(|secret| {
        match secret
            .resolve(&base_dir)
            .and_then(|key| dhub_store::AuditKey::new(key.expose().as_bytes()))
        {
            Ok(key) => Some(key),
            Err(message) => {
                errors.push(format!("{shown}: hub.audit_key: {message}"));
                None
            }
        }
    });
    let signer = raw.hub.signing_key.as_ref().and_then(|secret| {
        let pem = match secret.resolve(&base_dir) {
            Ok(pem) => pem,
            Err(message) => {
                errors.push(format!("{shown}: hub.signing_key: {message}"));
                return None;
            }
        };
        match dhub_support::signature::Signer::from_pem(pem.expose()) {
            Some(signer) => Some(Arc::new(signer)),
            None => {
                errors.push(format!("{shown}: hub.signing_key: not an Ed25519 private key in PKCS#8 PEM; make one with `openssl genpkey -algorithm ed25519 -out FILE`"));
                None
            }
        }
    });
    let listen = raw.hub.listen.parse().unwrap_or_else(|_| {
        errors.push(format!(
            "{shown}: hub.listen: `{}` is not an address such as 127.0.0.1:9464",
            raw.hub.listen
        ));
        SocketAddr::from(([127, 0, 0, 1], 9464))
    });
    let mut properties = Vec::new();
    for (key, secret) in &raw.kafka.properties {
        match secret.resolve(&base_dir) {
            Ok(value) => properties.push((key.clone(), value.expose().to_string())),
            Err(message) => errors.push(format!("{shown}: kafka.properties.{key}: {message}")),
        }
        if dhub_publish::kafka::FIXED_PRODUCER_PROPERTIES
            .iter()
            .any(|(fixed, _)| fixed == key)
        {
            errors.push(format!("{shown}: kafka.properties.{key}: cannot be overridden: the hub relies on it for at-least-once, in-order delivery"));
        }
    }
    // A sweep every few milliseconds would keep the state store busy for nothing.
    if raw.hub.publicity_check_interval_ms < MIN_PUBLICITY_CHECK_INTERVAL_MS {
        errors.push(format!(
            "{shown}: hub.publicity_check_interval_ms: {} is below the minimum of {MIN_PUBLICITY_CHECK_INTERVAL_MS}",
            raw.hub.publicity_check_interval_ms
        ));
    }
    if raw.hub.audit_checkpoint_interval_ms < MIN_AUDIT_CHECKPOINT_INTERVAL_MS {
        errors.push(format!(
            "{shown}: hub.audit_checkpoint_interval_ms: {} is below the minimum of {MIN_AUDIT_CHECKPOINT_INTERVAL_MS}",
            raw.hub.audit_checkpoint_interval_ms
        ));
    }
    let sasl_password = raw.kafka.sasl_password.as_ref().and_then(|secret| {
        secret
            .resolve(&base_dir)
            .map_err(|message| errors.push(format!("{shown}: kafka.sasl_password: {message}")))
            .ok()
    });
    let ca = raw
        .kafka
        .ssl_ca_location
        .as_ref()
        .map(|ca| base_dir.join(ca));
    let security = dhub_publish::security::KafkaSecurity {
        protocol: raw.kafka.security_protocol.as_deref(),
        sasl_mechanism: raw.kafka.sasl_mechanism.as_deref(),
        sasl_username: raw.kafka.sasl_username.as_deref(),
        sasl_password: sasl_password.as_ref().map(|p| p.expose()),
        ssl_ca_location: ca.as_deref(),
    };
    match security.properties() {
        Ok(security) => {
            for (key, _) in &security {
                if properties.iter().any(|(given, _)| given == key) {
                    errors.push(format!("{shown}: kafka.properties.{key}: also set by a [kafka] security key; give it once"));
                }
            }
            properties.extend(security);
        }
        Err(messages) => {
            for message in messages {
                errors.push(format!("{shown}: kafka.{message}"));
            }
        }
    }
    if raw.kafka.partitions < 1 || raw.kafka.replication_factor < 1 {
        errors.push(format!(
            "{shown}: kafka: partitions and replication_factor must be at least 1"
        ));
    }

    let mut platforms = Vec::new();
    let mut policies = HashMap::new();
    let mut seen = HashSet::new();
    let mut topics = HashSet::new();
    for spanned in &raw.platform {
        let line = line_of(text, spanned.span().start);
        let at = format!("{shown}:{line}: platform `{}`", spanned.get_ref().name);
        let section = spanned.get_ref();
        if !seen.insert(section.name.clone()) {
            errors.push(format!("{at}: the name is used twice"));
        }
        if !divisions::is_known(&section.division) {
            errors.push(format!(
                "{at}: division `{}` is not a GB/T 2260 code",
                section.division
            ));
        } else if divisions::level_of(&section.division) != section.level {
            errors.push(format!(
                "{at}: division `{}` is a {} code, not a {} one",
                section.division,
                divisions::level_of(&section.division).as_str(),
                section.level.as_str()
            ));
        }
        if section.format != dhub_schema::SCHEMA_NAME
            && section.format != dhub_compliance::sgs2021::FORMAT_NAME
        {
            errors.push(format!(
                "{at}: format `{}` is not supported; use `{}` or `{}`",
                section.format,
                dhub_schema::SCHEMA_NAME,
                dhub_compliance::sgs2021::FORMAT_NAME
            ));
        }
        match Policy::resolve(&section.policy, &base_dir) {
            Ok(policy) => {
                policies.insert(section.name.clone(), Arc::new(policy));
            }
            Err(error) => errors.push(format!("{at}: policy `{}`: {error}", section.policy)),
        }
        let topic = Platform::topic_name(&raw.kafka.topic_prefix, section.level, &section.division);
        if !topics.insert(topic.clone()) {
            errors.push(format!(
                "{at}: another platform already feeds topic {topic}"
            ));
        }
        platforms.push(Platform {
            name: section.name.clone(),
            level: section.level,
            division: section.division.clone(),
            policy: section.policy.clone(),
            format: section.format.clone(),
            topic,
        });
    }
    if platforms.is_empty() {
        errors.push(format!(
            "{shown}: no [[platform]] is configured: records would go nowhere"
        ));
    }

    let mut sources = Vec::new();
    let mut source_names = HashSet::new();
    for spanned in raw.source {
        let line = line_of(text, spanned.span().start);
        let config = spanned.into_inner();
        let at = format!("{shown}:{line}: source `{}`", config.name);
        if !source_names.insert(config.name.clone()) {
            errors.push(format!("{at}: the name is used twice"));
        }
        if config.name.is_empty() || config.name.contains(':') {
            errors.push(format!(
                "{at}: a source name must be non-empty and without ':' (it prefixes record ids)"
            ));
        }
        for agency in &config.agencies {
            // A failed check digit is legal for early pilot codes (DOMAIN.md); a malformed code is not.
            if dhub_schema::identifiers::check_uscc(agency).is_err() {
                errors.push(format!(
                    "{at}: agencies: `{agency}` is not a unified social credit code (18 characters of 0-9 A-H J-N P-R T U W-Y)"
                ));
            }
        }
        if let Some(limits) = &config.documents {
            let probe = SourceSetup::document_limits_of(Some(limits));
            if let Err(message) = probe {
                errors.push(format!("{at}: {message}"));
            }
        }
        if let Some(division) = &config.division {
            if !divisions::is_known(division) {
                errors.push(format!(
                    "{at}: division `{division}` is not a GB/T 2260 code"
                ));
            }
        }
        for message in config.kind.check(&base_dir) {
            errors.push(format!("{at} ({}): {message}", config.kind.name()));
        }
        for message in config.limits.check() {
            errors.push(format!("{at} (limits): {message}"));
        }
        let mapping_path = base_dir.join(&config.mapping);
        match Mapping::load(&mapping_path) {
            Ok(mapping) => {
                if !config.kind.formats().contains(&mapping.format()) {
                    let accepted: Vec<&str> =
                        config.kind.formats().iter().map(|f| f.as_str()).collect();
                    errors.push(format!(
                        "{at}: mapping {} reads `{}`, but a `{}` source takes {}",
                        mapping_path.display(),
                        mapping.format(),
                        config.kind.name(),
                        accepted.join(", ")
                    ));
                }
                sources.push(SourceSetup {
                    config,
                    mapping: Arc::new(mapping),
                })
            }
            Err(mapping_errors) => {
                errors.push(format!("{at}: mapping has errors:\n{mapping_errors}"))
            }
        }
    }

    let documents = raw.documents.as_ref().map(|spanned| {
        let section = spanned.get_ref();
        let store = if section.store.contains("://") {
            section.store.clone()
        } else {
            let folder = base_dir.join(&section.store);
            std::path::absolute(&folder)
                .unwrap_or(folder)
                .display()
                .to_string()
        };
        if section.store.trim().is_empty() {
            errors.push(format!(
                "{shown}:{}: documents.store: name a folder or s3://bucket/prefix",
                line_of(text, spanned.span().start)
            ));
        }
        DocumentsSetup {
            store,
            base_url: section
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://{listen}"))
                .trim_end_matches('/')
                .to_string(),
            s3_endpoint: section.s3_endpoint.clone(),
        }
    });
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(HubConfig {
        documents,
        path: path.to_path_buf(),
        base_dir,
        state_url,
        listen,
        drain_timeout: std::time::Duration::from_millis(raw.hub.drain_timeout_ms),
        publicity_check_interval: std::time::Duration::from_millis(
            raw.hub.publicity_check_interval_ms,
        ),
        keep_delivered: std::time::Duration::from_millis(raw.hub.keep_delivered_ms),
        audit_key,
        signer,
        audit_checkpoint_interval: std::time::Duration::from_millis(
            raw.hub.audit_checkpoint_interval_ms,
        ),
        kafka: KafkaSettings {
            brokers: raw.kafka.brokers,
            properties,
            partitions: raw.kafka.partitions,
            replication_factor: raw.kafka.replication_factor,
        },
        topic_prefix: raw.kafka.topic_prefix,
        platforms,
        policies,
        sources,
        compliance,
    })
}

/// A relative SQLite path is relative to the config file, like every other path in it.
fn resolve_state_url(url: &str, base_dir: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(rest) if !rest.starts_with('/') && !rest.starts_with(":memory:") => {
            let absolute =
                std::path::absolute(base_dir.join(rest)).unwrap_or_else(|_| base_dir.join(rest));
            format!("sqlite://{}", absolute.display())
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/demo/hub.toml")
    }

    fn parse(text: &str) -> Result<HubConfig, ConfigErrors> {
        // Parsed as if it sat beside the demo config, so its relative mapping paths resolve.
        HubConfig::parse(text, &demo_path(), &[])
    }

    const MINIMAL: &str = r#"
[kafka]
brokers = "127.0.0.1:9092"

[[platform]]
name = "liaocheng-city"
level = "city"
division = "371500"
"#;

    #[test]
    fn the_demo_config_compiles() {
        let config = HubConfig::load(&demo_path()).unwrap();
        assert_eq!(config.platforms.len(), 4);
        // One source of every kind (two folders of XML exports, two of spreadsheets).
        assert_eq!(config.sources.len(), 8);
        assert!(
            config.state_url.starts_with("sqlite:///"),
            "relative SQLite path made absolute: {}",
            config.state_url
        );
        assert!(config.state_url.ends_with("deploy/demo/.dhub/state.db"));
        assert_eq!(config.platforms[0].topic, "disclosure.county.371523");
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9464");
        assert!(config.state_url.ends_with(".dhub/state.db"));
        assert_eq!(config.platforms[0].policy, "public");
        assert_eq!(config.platforms[0].format, "disclosure.v1");
    }

    #[test]
    fn a_publicity_sweep_interval_below_the_minimum_is_an_error_not_a_silent_clamp() {
        let text = format!("{MINIMAL}\n[hub]\npublicity_check_interval_ms = 5\n");
        let errors = parse(&text).unwrap_err().to_string();
        assert!(
            errors.contains("hub.publicity_check_interval_ms: 5 is below the minimum of 100"),
            "{errors}"
        );
        let text = format!("{MINIMAL}\n[hub]\npublicity_check_interval_ms = 100\n");
        assert_eq!(
            parse(&text).unwrap().publicity_check_interval,
            std::time::Duration::from_millis(100)
        );
    }

    #[test]
    fn an_audit_checkpoint_interval_below_the_minimum_is_an_error_not_a_silent_clamp() {
        let text = format!("{MINIMAL}\n[hub]\naudit_checkpoint_interval_ms = 10\n");
        let errors = parse(&text).unwrap_err().to_string();
        assert!(
            errors.contains("hub.audit_checkpoint_interval_ms: 10 is below the minimum of 100"),
            "{errors}"
        );
        let text = format!("{MINIMAL}\n[hub]\naudit_checkpoint_interval_ms = 250\n");
        assert_eq!(
            parse(&text).unwrap().audit_checkpoint_interval,
            std::time::Duration::from_millis(250)
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let text = format!("{MINIMAL}\n[hub]\nlisten = \"127.0.0.1:1\"\nstate_dir = \"x\"\n");
        let errors = parse(&text).unwrap_err().to_string();
        let line = text
            .lines()
            .position(|l| l.starts_with("state_dir"))
            .unwrap()
            + 1;
        assert!(
            errors.contains(&format!("hub.toml:{line}: unknown field `state_dir`")),
            "{errors}"
        );
    }

    #[test]
    fn environment_overrides_keys_and_keeps_types() {
        let overrides = vec![
            (
                "DHUB_KAFKA__BROKERS".to_string(),
                "10.0.0.1:9092".to_string(),
            ),
            ("DHUB_KAFKA__PARTITIONS".to_string(), "6".to_string()),
            ("DHUB_HUB__LISTEN".to_string(), "127.0.0.1:9999".to_string()),
        ];
        let text = MINIMAL.replace("[kafka]\n", "[kafka]\npartitions = 1\n");
        let config = HubConfig::parse(&text, &demo_path(), &overrides).unwrap();
        assert_eq!(config.kafka.brokers, "10.0.0.1:9092");
        assert_eq!(config.kafka.partitions, 6);
        assert_eq!(config.listen.to_string(), "127.0.0.1:9999");
        let bad = vec![("DHUB_KAFKA__PARTITIONS".to_string(), "many".to_string())];
        let errors = HubConfig::parse(&text, &demo_path(), &bad)
            .unwrap_err()
            .to_string();
        assert!(errors.starts_with("DHUB_KAFKA__PARTITIONS:"), "{errors}");
    }

    #[test]
    fn platform_errors_name_the_platform_line() {
        let text = format!("{MINIMAL}\n[[platform]]\nname = \"wrong\"\nlevel = \"county\"\ndivision = \"371500\"\n");
        let errors = parse(&text).unwrap_err().to_string();
        let line = text
            .lines()
            .position(|l| l.contains("name = \"wrong\""))
            .unwrap();
        assert!(errors.contains(&format!("hub.toml:{line}: platform `wrong`: division `371500` is a city code, not a county one")), "{errors}");
    }

    #[test]
    fn a_missing_mapping_names_the_source_line() {
        let text = format!("{MINIMAL}\n[[source]]\nname = \"oa\"\nkind = \"xml_dir\"\nmapping = \"nope.toml\"\npath = \"in\"\n");
        let errors = parse(&text).unwrap_err().to_string();
        let line = text
            .lines()
            .position(|l| l.contains("name = \"oa\""))
            .unwrap();
        assert!(
            errors.contains(&format!("hub.toml:{line}: source `oa`: mapping has errors")),
            "{errors}"
        );
        assert!(errors.contains("nope.toml"), "{errors}");
    }

    #[test]
    fn unknown_source_kind_is_refused() {
        let text = format!("{MINIMAL}\n[[source]]\nname = \"oa\"\nkind = \"ftp\"\nmapping = \"m.toml\"\npath = \"in\"\n");
        let errors = parse(&text).unwrap_err().to_string();
        assert!(errors.contains("unknown variant `ftp`"), "{errors}");
    }

    #[test]
    fn kafka_security_keys_reach_the_client_config_and_never_the_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        std::fs::write(dir.path().join("kafka.pw"), "pw-from-file\n").unwrap();
        let path = dir.path().join("hub.toml");
        let text = MINIMAL.replace(
            "[kafka]\n",
            "[kafka]\nsecurity_protocol = \"sasl_ssl\"\nsasl_mechanism = \"SCRAM-SHA-256\"\nsasl_username = \"hub\"\nsasl_password = { file = \"kafka.pw\" }\nssl_ca_location = \"ca.pem\"\n",
        );
        let mut config = HubConfig::parse(&text, &path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let client = config.kafka.client_config();
        assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
        assert_eq!(client.get("sasl.username"), Some("hub"));
        assert_eq!(client.get("sasl.password"), Some("pw-from-file"));
        assert_eq!(
            client.get("ssl.ca.location"),
            Some(dir.path().join("ca.pem").display().to_string().as_str())
        );
        assert!(!format!("{config:?}").contains("pw-from-file"));
        // This build of librdkafka speaks TLS: a producer with these settings can be created (it
        // connects lazily), where a build without OpenSSL refuses `security.protocol = sasl_ssl`.
        // (Without the CA file: librdkafka loads it at creation, and the test's is no certificate.)
        config.kafka.brokers = "127.0.0.1:9".into();
        config
            .kafka
            .properties
            .retain(|(key, _)| key != "ssl.ca.location");
        let _producer = config.kafka.producer().unwrap_or_else(|e| panic!("{e}"));

        let twice = text.replace(
            "[kafka]\n",
            "[kafka.properties]\n\"sasl.username\" = \"x\"\n\n[kafka]\n",
        );
        let errors = HubConfig::parse(&twice, &path, &[])
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("kafka.properties.sasl.username: also set"),
            "{errors}"
        );
        let missing = text.replace("sasl_username = \"hub\"\n", "");
        let errors = HubConfig::parse(&missing, &path, &[])
            .unwrap_err()
            .to_string();
        assert!(errors.contains("kafka.sasl_username: required"), "{errors}");
        assert!(!errors.contains("pw-from-file"), "{errors}");
    }

    #[test]
    fn idempotence_and_acks_cannot_be_overridden() {
        let text = format!("{MINIMAL}\n[kafka.properties]\n\"acks\" = \"1\"\n");
        let errors = parse(&text).unwrap_err().to_string();
        assert!(
            errors.contains("kafka.properties.acks: cannot be overridden"),
            "{errors}"
        );
    }
}
