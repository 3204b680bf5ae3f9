//! Shared by the source tests (`source_kafka.rs`, `source_spreadsheet.rs`): a source built from its
//! `[[source]]` TOML the way the hub builds it, running on the real [`Ingestor`] over a real state
//! store, with the four demo platforms.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhub::telemetry::Telemetry;
use dhub_connectors::{ConnectorError, HubSettings, SourceConfig, SourceContext};
use dhub_ingest::{Ingestor, OutboxHandoff, Platform, Routing};
use dhub_mapping::Mapping;
use dhub_redaction::Policy;
use dhub_schema::divisions::Level;
use dhub_schema::intake::IntakeSink;
use dhub_store::{OutboxOp, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh SQLite store in `dir`.
pub async fn sqlite_store(dir: &Path) -> Store {
    Store::connect(&format!("sqlite://{}", dir.join("state.db").display()))
        .await
        .unwrap()
}

/// The four demo platforms (two counties, the city, the province), all on the `public` policy.
pub fn ingestor(store: &Store) -> Arc<Ingestor> {
    let platform = |name: &str, level, division: &str| Platform {
        name: name.into(),
        level,
        division: division.into(),
        policy: "public".into(),
        format: "disclosure.v1".into(),
        topic: Platform::topic_name("", level, division),
    };
    let routing = Routing::new(vec![
        platform("chiping-county", Level::County, "371523"),
        platform("donge-county", Level::County, "371524"),
        platform("liaocheng-city", Level::City, "371500"),
        platform("shandong-province", Level::Province, "370000"),
    ]);
    let public = Arc::new(Policy::builtin("public").unwrap());
    let policies = routing
        .platforms()
        .iter()
        .map(|p| (p.name.clone(), public.clone()))
        .collect();
    Arc::new(Ingestor {
        store: store.clone(),
        routing: Arc::new(routing),
        policies: Arc::new(policies),
        constraints: Arc::new(Default::default()),
        events: Arc::new(Telemetry::new()),
        handoff: OutboxHandoff::default(),
        handoff_order: Arc::default(),
        clocks: Default::default(),
        documents: None,
    })
}

/// A source running as the hub runs it, until stopped.
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ConnectorError>>,
}

impl Running {
    /// Parses `[[source]]` TOML (with `mapping` relative to the repository), builds the connector
    /// with `hub` as the hub's settings and runs it on `ingestor`, from the stored positions.
    pub async fn start(
        source_toml: &str,
        base_dir: &Path,
        hub: &HubSettings,
        ingestor: &Arc<Ingestor>,
    ) -> Running {
        Running::start_on(
            source_toml,
            base_dir,
            hub,
            ingestor.clone(),
            &ingestor.store,
        )
        .await
    }

    /// [`Running::start`] on any sink over `store`.
    pub async fn start_on(
        source_toml: &str,
        base_dir: &Path,
        hub: &HubSettings,
        sink: Arc<dyn IntakeSink>,
        store: &Store,
    ) -> Running {
        dhub_testkit::test_logs();
        let config: SourceConfig = toml::from_str(source_toml).unwrap();
        let errors = config.kind.check(base_dir);
        assert!(errors.is_empty(), "{errors:?}");
        let mapping = Arc::new(Mapping::load(&repo().join(&config.mapping)).unwrap());
        assert!(config.kind.formats().contains(&mapping.format()));
        let dhub_connectors::Built::Task(connector) = config.kind.build(base_dir, hub).unwrap()
        else {
            panic!("source `{}` runs as a task", config.name);
        };
        let (stop, shutdown) = watch::channel(false);
        let context = SourceContext {
            name: config.name.clone(),
            mapping,
            sink,
            positions: store.source_positions(&config.name).await.unwrap(),
            base_dir: base_dir.to_path_buf(),
            events: Arc::new(Telemetry::new()),
            shutdown,
        };
        let task = tokio::spawn(connector.run(context));
        Running { stop, task }
    }

    /// Asks it to stop and waits until it has (the batch in hand stored or left).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the source stops within 30 s")
            .unwrap()
            .expect("the source ends without an error");
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Waits until `check` returns true, panicking with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(platform, op, version)` of every queued entry of a record, one per platform, sorted (no relay
/// runs in these tests, so nothing is pruned).
pub async fn outbox(store: &Store, record_id: &str) -> Vec<(String, OutboxOp, i64)> {
    let mut rows: Vec<(String, OutboxOp, i64)> = store
        .history(record_id)
        .await
        .unwrap()
        .queued
        .iter()
        .flat_map(|entry| {
            entry
                .platforms
                .iter()
                .map(move |platform| (platform.clone(), entry.op, entry.version))
        })
        .collect();
    rows.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    rows
}

/// The platforms a record was sent with `op` at `version`.
pub fn platforms_of(rows: &[(String, OutboxOp, i64)], op: OutboxOp, version: i64) -> Vec<String> {
    rows.iter()
        .filter(|(_, o, v)| *o == op && *v == version)
        .map(|(p, _, _)| p.clone())
        .collect()
}
