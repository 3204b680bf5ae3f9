//! Configuration of a `kafka` source: the keys as the config file writes them ([`KafkaConfig`]),
//! checked without I/O ([`KafkaConfig::check`]), and compiled once, with the hub's `[kafka]` section
//! as the default cluster, into [`KafkaSettings`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use dhub_mapping::ReadLimits;
use dhub_support::Secret;
use rdkafka::config::ClientConfig;
use serde::Deserialize;

use crate::registry::HubSettings;

/// `[[source]] kind = "kafka"`: a topic a department system publishes its cases to, one case (one
/// JSON object or XML document) per message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// The topic to consume. The department creates it (the hub never relies on auto-creation and
    /// waits for the topic to appear).
    pub topic: String,
    /// The consumer group. Every hub instance that reads this source uses the same group, so each
    /// partition is read by one of them at a time; the group's committed offsets serve lag
    /// monitoring only (the state store holds the positions the hub resumes from).
    pub group: String,
    /// Bootstrap servers of the department's cluster. Default: `[kafka] brokers`, together with
    /// `[kafka.properties]` (the hub's own cluster and credentials); when given, the hub's
    /// properties do not apply.
    #[serde(default)]
    pub brokers: Option<String>,
    /// librdkafka consumer properties passed through (`security.protocol`, `sasl.*`, `ssl.*`,
    /// `client.id`, `max.poll.interval.ms`…), applied over the hub's; values may be secrets
    /// (`{ env = … }`, `{ file = … }`). The properties the connector's guarantees rest on
    /// ([`MANAGED_PROPERTIES`]) are refused.
    #[serde(default)]
    pub properties: BTreeMap<String, Secret>,
    /// A message larger than this (bytes of its value) is not parsed: it is held in quarantine at
    /// the document stage, naming `topic/partition@offset`, and its partition goes on.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u64,
    /// The most messages stored in one transaction.
    #[serde(default = "default_batch_messages")]
    pub batch_messages: usize,
    /// How long to keep filling a batch after its first message: a quiet topic still stores each
    /// message within this delay, a busy one stores `batch_messages` at a time.
    #[serde(default = "default_batch_linger_ms")]
    pub batch_linger_ms: u64,
}

/// Consumer properties the connector sets itself: the cluster and group have their own keys, and
/// offsets are placed and committed by the connector (from the state store) and never by the
/// client, so that nothing is skipped.
pub const MANAGED_PROPERTIES: [&str; 5] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
];

fn default_max_message_bytes() -> u64 {
    // One case is a few kilobytes of JSON; Kafka's own default message size limit is 1 MB.
    1024 * 1024
}

fn default_batch_messages() -> usize {
    500
}

fn default_batch_linger_ms() -> u64 {
    50
}

/// The largest `max_message_bytes`: the default read limit of a whole document.
pub const MAX_MESSAGE_BYTES_CEILING: u64 = 256 * 1024 * 1024;
/// The largest `batch_messages`: a batch is one transaction, held in memory.
pub const MAX_BATCH_MESSAGES: usize = 100_000;
/// The longest `batch_linger_ms`.
pub const MAX_BATCH_LINGER_MS: u64 = 60_000;

/// librdkafka's default `max.poll.interval.ms`.
const DEFAULT_MAX_POLL_INTERVAL_MS: u64 = 300_000;

impl KafkaConfig {
    /// Every problem with the keys, without a location (the caller adds file and line). Resolves
    /// secret values, so a missing variable is found by `dhub check`; never prints a value.
    pub fn check(&self, base_dir: &Path) -> Vec<String> {
        let mut errors = Vec::new();
        if let Err(message) = check_topic(&self.topic) {
            errors.push(format!("topic `{}`: {message}", self.topic));
        }
        if self.group.trim().is_empty() {
            errors.push(
                "group = \"\": name the consumer group every hub instance reading this topic shares"
                    .to_string(),
            );
        }
        if self
            .brokers
            .as_ref()
            .is_some_and(|brokers| brokers.trim().is_empty())
        {
            errors.push(
                "brokers = \"\": name the bootstrap servers (host:port, comma separated), or leave the key out to use [kafka] brokers"
                    .to_string(),
            );
        }
        if self.max_message_bytes == 0 || self.max_message_bytes > MAX_MESSAGE_BYTES_CEILING {
            errors.push(format!(
                "max_message_bytes = {}: must be between 1 and {MAX_MESSAGE_BYTES_CEILING}",
                self.max_message_bytes
            ));
        }
        if self.batch_messages == 0 || self.batch_messages > MAX_BATCH_MESSAGES {
            errors.push(format!(
                "batch_messages = {}: must be between 1 and {MAX_BATCH_MESSAGES}",
                self.batch_messages
            ));
        }
        if self.batch_linger_ms > MAX_BATCH_LINGER_MS {
            errors.push(format!(
                "batch_linger_ms = {}: must be at most {MAX_BATCH_LINGER_MS}",
                self.batch_linger_ms
            ));
        }
        match self.resolve_properties(base_dir) {
            Ok(properties) => errors.extend(check_properties(&properties)),
            Err(messages) => errors.extend(messages),
        }
        errors
    }

    /// The source's own properties with their secrets read.
    fn resolve_properties(&self, base_dir: &Path) -> Result<Vec<(String, String)>, Vec<String>> {
        let mut resolved = Vec::new();
        let mut errors = Vec::new();
        for (key, secret) in &self.properties {
            match secret.resolve(base_dir) {
                Ok(value) => resolved.push((key.clone(), value.expose().to_string())),
                Err(message) => errors.push(format!("properties.{key}: {message}")),
            }
        }
        if errors.is_empty() {
            Ok(resolved)
        } else {
            Err(errors)
        }
    }

    /// The ready form: the cluster (this source's, else the hub's), the client properties, the
    /// limits. Fails only on what [`KafkaConfig::check`] reports.
    pub fn compile(&self, base_dir: &Path, hub: &HubSettings) -> Result<KafkaSettings, String> {
        let errors = self.check(base_dir);
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let own = self
            .resolve_properties(base_dir)
            .map_err(|errors| errors.join("; "))?;
        let (brokers, mut properties) = match &self.brokers {
            Some(brokers) => (brokers.clone(), Vec::new()),
            None => (hub.kafka_brokers.clone(), hub.kafka_properties.clone()),
        };
        if brokers.trim().is_empty() {
            return Err(
                "no brokers: set `brokers` on the source or [kafka] brokers for the hub"
                    .to_string(),
            );
        }
        // The hub's properties may name managed ones (they are meant for its producer): drop them
        // rather than let them change how this consumer places offsets.
        properties.retain(|(key, _)| !MANAGED_PROPERTIES.contains(&key.as_str()));
        properties.extend(own);
        let max_poll_interval_ms = properties
            .iter()
            .rev()
            .find(|(key, _)| key == "max.poll.interval.ms")
            .map(|(_, value)| value.parse::<u64>())
            .transpose()
            .map_err(|_| "properties.max.poll.interval.ms: must be a number of milliseconds")?
            .unwrap_or(DEFAULT_MAX_POLL_INTERVAL_MS);
        Ok(KafkaSettings {
            brokers,
            properties,
            topic: self.topic.clone(),
            group: self.group.clone(),
            max_message_bytes: self.max_message_bytes,
            limits: ReadLimits {
                max_document_bytes: self.max_message_bytes,
                ..ReadLimits::default()
            },
            batch_messages: self.batch_messages,
            batch_linger: Duration::from_millis(self.batch_linger_ms),
            store_budget: Duration::from_millis(max_poll_interval_ms / 2),
        })
    }
}

/// Kafka's rules for topic names: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn check_topic(topic: &str) -> Result<(), String> {
    if topic.is_empty() || topic.len() > 249 {
        return Err("a topic name has 1 to 249 characters".to_string());
    }
    if topic == "." || topic == ".." {
        return Err("`.` and `..` are not topic names".to_string());
    }
    if let Some(bad) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "the character `{bad}` is not allowed; topic names use a-z A-Z 0-9 . _ -"
        ));
    }
    Ok(())
}

/// Managed properties are refused; the rest must be properties librdkafka knows, with values it
/// accepts. librdkafka's message may quote the value, which may be a secret: it is masked.
fn check_properties(properties: &[(String, String)]) -> Vec<String> {
    let mut errors = Vec::new();
    for (key, value) in properties {
        if MANAGED_PROPERTIES.contains(&key.as_str()) {
            errors.push(format!(
                "properties.{key}: is set by the hub (use the source's `brokers` and `group` keys; offsets are placed from the state store)"
            ));
            continue;
        }
        let mut config = ClientConfig::new();
        config.set(key, value);
        if let Err(error) = config.create_native_config() {
            let mut message = error.to_string();
            if !value.is_empty() {
                message = message.replace(value.as_str(), "***");
            }
            errors.push(format!("properties.{key}: {message}"));
        }
    }
    errors
}

/// A `kafka` source ready to run. Holds resolved secrets: no `Debug`.
#[derive(Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    /// Pass-through properties, the hub's (when the source uses the hub's cluster) then the
    /// source's.
    pub properties: Vec<(String, String)>,
    pub topic: String,
    pub group: String,
    pub max_message_bytes: u64,
    /// `[source.limits]` with `max_message_bytes` as the document size.
    pub limits: ReadLimits,
    pub batch_messages: usize,
    pub batch_linger: Duration,
    /// How long one batch may keep failing to store before the connector gives up its partitions
    /// (and starts again from the stored positions): half of `max.poll.interval.ms`, so that the
    /// group never hands its partitions to another instance while this one still stores them.
    pub store_budget: Duration,
}

impl KafkaSettings {
    /// The consumer's client configuration: pass-through properties first, then the ones the
    /// connector's guarantees rest on.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group)
            // Offsets are placed from the state store at every assignment, and committed to the
            // group by hand after each stored batch, for lag monitoring.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // Applies only when a stored offset is out of range (the topic was recreated, or
            // retention removed messages never read): start from what the topic still has.
            .set("auto.offset.reset", "earliest");
        config
    }
}
