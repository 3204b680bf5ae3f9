//! The reference disclosure-platform subscriber: consumes a feed, keeps a searchable view.
//!
//! A county, city or province disclosure platform runs this (as `dhub platform --brokers B
//! --topic T --db URL [--listen ADDR]`, CONTRACT §1) to turn its Kafka feed (CONTRACT §4) into the
//! list of records in force. It consumes every partition of one topic (offsets kept in a consumer
//! group), applies envelopes to a view in SQLite or Postgres, ignoring versions lower than the one
//! held, keeping a tombstone for each retraction, and answers searches over HTTP. Kafka offsets are
//! committed only after the view's transaction that applied those messages has committed: at least
//! once, made harmless by the version rule.
//!
//! # Layout
//!
//! - [`envelope`]: a feed message and the envelope inside it; pure parsing that names the field at
//!   fault and never quotes the payload; extraction of the search columns from a record.
//! - [`view`]: the database view ([`View`]): migrations, the version rule ([`view::decide`]),
//!   batches applied in one transaction, tombstones, the `rejected` table, search and stats.
//! - [`search`]: the search query, parsed and validated from URL parameters once; cursors.
//! - [`http`]: the axum routes over a [`View`] (search API and public page), behind timeout,
//!   concurrency and body limits ([`HttpLimits`]).
//! - [`page`]: the public's page (行政执法信息公示), server-rendered HTML.
//! - `query`: how a search runs fast at a million records (ordered walk, trigram candidates).
//! - `consumer`: the rdkafka loop: batching, retrying the view, storing offsets after commit.
//! - `events`: every log line, one struct per happening.
//! - `migrations/{sqlite,postgres}`: the view's schema, one folder per database.
//! - `benches/platform.rs`: a million records applied and searched on both databases.
//!
//! [`run`] wires them together; tests use [`View`] and [`http::router`] directly.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

mod consumer;
pub mod documents;
pub mod envelope;
mod error;
mod events;
pub mod http;
pub mod page;
mod query;
pub mod search;
pub mod view;

pub use consumer::{BATCH_LINGER, MANAGED_PROPERTIES, MAX_BATCH_MESSAGES};
pub use envelope::{Envelope, EnvelopeError, FeedMessage, Operation};
pub use error::PlatformError;
pub use http::{router, router_with_limits, HttpLimits};
pub use search::{SearchQuery, SearchQueryError, SearchResult};
pub use view::{
    ApplyStats, Backend, HeldVersion, PartitionOffset, RejectedMessage, View, ViewStats,
};

/// What `dhub platform` is told on its command line.
#[derive(Clone)]
pub struct PlatformConfig {
    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// The one feed topic to consume, e.g. `disclosure.county.371523`.
    pub topic: String,
    /// The consumer group; [`default_group`] unless `--group` says otherwise.
    pub group: String,
    /// `sqlite://PATH` (created if missing) or `postgres://…`.
    pub db_url: String,
    /// Where to serve the search API; `None` runs the consumer only.
    pub listen: Option<SocketAddr>,
    /// Extra librdkafka properties (security, timeouts). The ones in [`MANAGED_PROPERTIES`] are
    /// set by the platform and refused here.
    pub kafka_properties: Vec<(String, String)>,
    /// Public keys (SPKI PEM, `openssl pkey -pubout`) of the hubs whose signatures are trusted
    /// (`--verify-key`, repeatable). When any is given, only envelopes whose `signature` header
    /// verifies with one of them are applied; the others are rejected (CONTRACT §4).
    pub verify_keys: Vec<PathBuf>,
    /// Timeout, concurrency and body limits of the HTTP server.
    pub http: HttpLimits,
    /// `--documents DIR`: where the documents the records name are kept (fetched from the hub,
    /// hash-checked, deleted once no record in force names them); `None`: not fetched.
    pub documents_dir: Option<PathBuf>,
}

/// The database URL and property values may hold secrets: Debug shows neither.
impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let property_names: Vec<&str> = self
            .kafka_properties
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        f.debug_struct("PlatformConfig")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .field("group", &self.group)
            .field("db", &view::Backend::from_url(&self.db_url).ok())
            .field("listen", &self.listen)
            .field("kafka_properties", &property_names)
            .field("verify_keys", &self.verify_keys)
            .field("http", &self.http)
            .finish()
    }
}

/// The consumer group a platform uses when none is given: `dhub-platform-<topic>`.
pub fn default_group(topic: &str) -> String {
    format!("dhub-platform-{topic}")
}

impl PlatformConfig {
    /// A config with the default group, no HTTP listener and no extra properties.
    pub fn new(
        brokers: impl Into<String>,
        topic: impl Into<String>,
        db_url: impl Into<String>,
    ) -> PlatformConfig {
        let topic = topic.into();
        PlatformConfig {
            brokers: brokers.into(),
            group: default_group(&topic),
            topic,
            db_url: db_url.into(),
            listen: None,
            kafka_properties: Vec::new(),
            verify_keys: Vec::new(),
            http: HttpLimits::default(),
            documents_dir: None,
        }
    }

    /// Checks the config without touching the network or the database.
    pub fn validate(&self) -> Result<(), PlatformError> {
        let invalid = |message: String| Err(PlatformError::InvalidConfig(message));
        if self.brokers.trim().is_empty() {
            return invalid("--brokers is empty; give host:port of at least one broker".into());
        }
        // Kafka's own rule for topic names.
        let topic_ok = !self.topic.is_empty()
            && self.topic.len() <= 249
            && self.topic != "."
            && self.topic != ".."
            && self
                .topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !topic_ok {
            return invalid(
                "--topic must be 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-', \
                 e.g. disclosure.county.371523"
                    .into(),
            );
        }
        if self.group.trim().is_empty() {
            return invalid("--group is empty; leave it out to use dhub-platform-<topic>".into());
        }
        view::Backend::from_url(&self.db_url)?;
        if self.http.max_concurrent_requests == 0 || self.http.request_timeout.is_zero() {
            return invalid(
                "the HTTP limits must allow at least one request and a non-zero timeout".into(),
            );
        }
        for (name, _) in &self.kafka_properties {
            if MANAGED_PROPERTIES.contains(&name.as_str()) {
                return invalid(format!(
                    "kafka property `{name}` is set by the platform itself; remove it \
                     (use --brokers and --group for servers and group)"
                ));
            }
        }
        Ok(())
    }
}

/// Runs the platform subscriber until `shutdown` resolves: opens (and migrates) the view,
/// serves the search API if `listen` is set, and consumes the feed. On shutdown it applies the
/// batch in hand, commits its offsets, lets in-flight HTTP requests finish, and returns `Ok`.
///
/// Returns an error at start for a bad config, an unreachable database or an unusable listen
/// address; later, only for a view failure that retrying cannot cure. Database outages and
/// broker errors are logged and retried.
pub async fn run(
    config: PlatformConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PlatformError> {
    config.validate()?;
    // Keys before the database: a wrong key file is a mistake to report at once.
    let verifier = if config.verify_keys.is_empty() {
        None
    } else {
        Some(dhub_support::signature::Verifier::from_files(
            &config.verify_keys,
        )?)
    };
    let mut view = View::open(&config.db_url).await?;
    if let Some(verifier) = verifier {
        events::VerifyingSignatures {
            key_ids: verifier.key_ids().map(|id| id.as_str()).collect(),
        }
        .emit();
        view = view.require_signatures(verifier);
    }

    let (stop_sender, stop) = watch::channel(false);
    let stop_sender = Arc::new(stop_sender);
    let signal = {
        let stop_sender = Arc::clone(&stop_sender);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_sender.send(true);
        })
    };

    let server = match config.listen {
        None => None,
        Some(addr) => {
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => listener,
                Err(source) => {
                    signal.abort();
                    view.close().await;
                    return Err(PlatformError::Listen { addr, source });
                }
            };
            events::ApiListening {
                addr: listener.local_addr().unwrap_or(addr),
            }
            .emit();
            let mut routes = http::router_with_limits(view.clone(), config.http);
            if let Some(dir) = &config.documents_dir {
                routes = routes.merge(documents::router(view.clone(), dir.clone()));
            }
            let mut server_stop = stop.clone();
            Some(tokio::spawn(async move {
                axum::serve(listener, routes)
                    .with_graceful_shutdown(
                        async move { consumer::stopped(&mut server_stop).await },
                    )
                    .await
            }))
        }
    };

    let keeper = match &config.documents_dir {
        Some(dir) => {
            if let Err(source) = std::fs::create_dir_all(dir) {
                return Err(PlatformError::InvalidConfig(format!(
                    "--documents {}: cannot create the folder: {source}",
                    dir.display()
                )));
            }
            Some(tokio::spawn(documents::keep(view.clone(), dir.clone(), stop.clone())))
        }
        None => None,
    };
    let consumed = consumer::consume(&config, &view, stop).await;
    if let Some(keeper) = keeper {
        let _ = keeper.await;
    }

    // The consumer may have ended on its own (an error): stop the API as well.
    let _ = stop_sender.send(true);
    signal.abort();
    let served = match server {
        None => Ok(()),
        Some(handle) => match handle.await {
            Ok(result) => result.map_err(PlatformError::Serve),
            Err(join) => Err(PlatformError::Serve(std::io::Error::other(
                join.to_string(),
            ))),
        },
    };
    view.close().await;
    consumed?;
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PlatformConfig {
        PlatformConfig::new(
            "127.0.0.1:9092",
            "disclosure.county.371523",
            "postgres://platform:s3cret@db/view",
        )
    }

    #[test]
    fn the_default_group_is_named_after_the_topic() {
        assert_eq!(config().group, "dhub-platform-disclosure.county.371523");
        assert!(config().validate().is_ok());
    }

    #[test]
    fn a_bad_topic_broker_group_or_database_is_refused() {
        let mut bad = config();
        bad.topic = "disclosure county".into();
        assert!(matches!(
            bad.validate(),
            Err(PlatformError::InvalidConfig(_))
        ));
        let mut bad = config();
        bad.brokers = " ".into();
        assert!(matches!(
            bad.validate(),
            Err(PlatformError::InvalidConfig(_))
        ));
        let mut bad = config();
        bad.group = String::new();
        assert!(matches!(
            bad.validate(),
            Err(PlatformError::InvalidConfig(_))
        ));
        let mut bad = config();
        bad.db_url = "mysql://x".into();
        assert!(matches!(
            bad.validate(),
            Err(PlatformError::UnsupportedDatabase { .. })
        ));
    }

    #[test]
    fn managed_kafka_properties_are_refused_and_values_never_shown() {
        let mut bad = config();
        bad.kafka_properties
            .push(("enable.auto.offset.store".into(), "true".into()));
        let err = bad.validate().unwrap_err();
        assert!(err.to_string().contains("enable.auto.offset.store"));

        let mut secret = config();
        secret
            .kafka_properties
            .push(("sasl.password".into(), "hunter2".into()));
        assert!(secret.validate().is_ok());
        let debug = format!("{secret:?}");
        assert!(debug.contains("sasl.password"));
        assert!(
            !debug.contains("hunter2") && !debug.contains("s3cret"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn run_refuses_a_bad_config_before_touching_anything() {
        let mut bad = config();
        bad.topic = String::new();
        let result = run(bad, std::future::pending()).await;
        assert!(matches!(result, Err(PlatformError::InvalidConfig(_))));
    }
}
