//! `dhub run`: wires the compiled config into running parts (connectors → ingest → store → relay →
//! Kafka, plus the HTTP endpoints, among them the `http_push` sources' `POST /ingest/<source>`) and stops them in order on SIGINT/SIGTERM: connectors first (the file
//! in hand is finished), then the relay drains the outbox, then the process exits 0.

pub mod http;
pub mod supervise;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dhub_connectors::{Built, SourceContext};
use dhub_ingest::{Ingestor, OutboxSignal, Routing};
use dhub_publish::Relay;
use dhub_store::Store;
use tokio::sync::watch;

use crate::config::{HubConfig, SourceSetup};
use crate::telemetry::Telemetry;
use supervise::Supervisor;

/// Runs the hub until `shutdown` resolves, then drains and returns.
pub async fn run(
    config: HubConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let telemetry = Arc::new(Telemetry::new());
    let store = Store::connect(&config.state_url).await.with_context(|| {
        format!(
            "cannot open the state store {}",
            redact_url(&config.state_url)
        )
    })?;
    let routing = Arc::new(Routing::new(config.platforms.clone()));
    let signal = OutboxSignal::default();
    let ingestor = Arc::new(ingestor(&config, &store, telemetry.clone(), signal.clone()));
    let producer = config
        .kafka
        .producer()
        .context("cannot create the kafka producer")?;

    let (stop_sources_tx, stop_sources) = watch::channel(false);
    let (stop_relay_tx, stop_relay) = watch::channel(false);
    let mut sources = Supervisor::new(telemetry.clone());
    let mut relay_tasks = Supervisor::new(telemetry.clone());
    let health = vec![sources.health.clone(), relay_tasks.health.clone()];

    // Every source is built before anything runs, so a config problem stops start-up. Push sources
    // answer on the HTTP server; the others run as supervised tasks, started below.
    let mut tasks = Vec::new();
    let mut pushes = Vec::new();
    for source in &config.sources {
        let name = source.name().to_string();
        let built = source
            .config
            .kind
            .build(&config.base_dir)
            .map_err(|message| anyhow::anyhow!("source `{name}`: {message}"))?;
        tracing::info!(source = %name, kind = source.config.kind.name(), "starting source");
        match built {
            Built::Task(_) => tasks.push(source),
            Built::Push(endpoint) => pushes.push(endpoint.bind(SourceContext {
                name,
                mapping: source.mapping.clone(),
                sink: ingestor.clone(),
                positions: Vec::new(),
                base_dir: config.base_dir.clone(),
                events: telemetry.clone(),
                shutdown: stop_sources.clone(),
            })),
        }
    }
    let push_routes = dhub_connectors::http_push::router(pushes).map_err(anyhow::Error::msg)?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (hub.listen); is another hub running?",
                config.listen
            )
        })?;
    let http_state = http::HttpState {
        telemetry: telemetry.clone(),
        store: store.clone(),
        producer: producer.clone(),
        platforms: config.platforms.clone(),
        sources: config
            .sources
            .iter()
            .map(|s| s.name().to_string())
            .collect(),
        health,
    };
    let mut http_stop = stop_relay.clone();
    let http_task = tokio::spawn(async move {
        let app = http::router(http_state, push_routes);
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    tracing::info!(listen = %config.listen, "serving metrics, health, dashboard and push endpoints");

    // The relay starts once the topics exist; until then records wait in the outbox.
    let relay_config = RelaySetup {
        store: store.clone(),
        kafka: config.kafka.clone(),
        topics: config.topics(),
        formats: config.formats(),
        telemetry: telemetry.clone(),
        signal: signal.clone(),
        shutdown: stop_relay.clone(),
    };
    relay_tasks.spawn(
        "relay".into(),
        move || relay_config.clone().run(),
        stop_relay.clone(),
    );

    for source in tasks {
        spawn_source(
            &mut sources,
            source,
            &config,
            &store,
            &ingestor,
            &telemetry,
            &stop_sources,
        );
    }

    let sweep_store = store.clone();
    let sweep_routing = (*routing).clone();
    let sweep_signal = signal.clone();
    let sweep_interval = config.publicity_check_interval;
    let sweep_stop = stop_sources.clone();
    sources.spawn(
        "publicity".into(),
        move || {
            let (store, routing, signal, stop) = (
                sweep_store.clone(),
                sweep_routing.clone(),
                sweep_signal.clone(),
                sweep_stop.clone(),
            );
            async move {
                dhub_ingest::publicity::run(store, routing, signal, sweep_interval, stop).await;
                Ok(())
            }
        },
        stop_sources.clone(),
    );

    let gauge_store = store.clone();
    let gauge_telemetry = telemetry.clone();
    let gauge_task = tokio::spawn(async move {
        loop {
            match gauge_store.pending_count().await {
                Ok(pending) => gauge_telemetry.outbox_pending.set(pending),
                Err(error) => gauge_telemetry.store_failed("count pending", &error),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });

    shutdown.await;
    tracing::info!("shutting down: finishing the files in hand");
    let _ = stop_sources_tx.send(true);
    sources.join().await;
    tracing::info!("draining the outbox to the broker");
    let _ = stop_relay_tx.send(true);
    match tokio::time::timeout(config.drain_timeout, relay_tasks.join()).await {
        Ok(_) => tracing::info!("outbox drained"),
        Err(_) => tracing::warn!(
            timeout_ms = config.drain_timeout.as_millis() as u64,
            "the broker did not take every pending record in time; they stay in the outbox for the next start"
        ),
    }
    gauge_task.abort();
    let _ = http_task.await;
    store.close().await;
    Ok(())
}

/// The pipeline step every source submits to, wired from the config.
pub fn ingestor(
    config: &HubConfig,
    store: &Store,
    telemetry: Arc<Telemetry>,
    signal: OutboxSignal,
) -> Ingestor {
    let constraints: HashMap<String, dhub_ingest::SourceConstraints> = config
        .sources
        .iter()
        .map(|s| (s.name().to_string(), s.constraints()))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    Ingestor {
        store: store.clone(),
        routing: Arc::new(Routing::new(config.platforms.clone())),
        policies: Arc::new(config.policies.clone()),
        constraints: Arc::new(constraints),
        events: telemetry,
        signal,
    }
}

/// Starts one source that runs as a task under supervision: each (re)start builds a fresh connector
/// and reads the source's stored positions, so it resumes after the last stored batch. (It was
/// built once already, so a config problem stopped start-up.)
fn spawn_source(
    supervisor: &mut Supervisor,
    source: &SourceSetup,
    config: &HubConfig,
    store: &Store,
    ingestor: &Arc<Ingestor>,
    telemetry: &Arc<Telemetry>,
    shutdown: &watch::Receiver<bool>,
) {
    let name = source.name().to_string();
    let kind = source.config.kind.clone();
    let base_dir = config.base_dir.clone();
    let mapping = source.mapping.clone();
    let store = store.clone();
    let sink: Arc<dyn dhub_schema::intake::IntakeSink> = ingestor.clone();
    let events: Arc<dyn dhub_connectors::ConnectorEvents> = telemetry.clone();
    let stop = shutdown.clone();
    let task_name = format!("source:{name}");
    supervisor.spawn(
        task_name,
        move || {
            let (kind, base_dir, mapping, store, sink, events, stop, name) = (
                kind.clone(),
                base_dir.clone(),
                mapping.clone(),
                store.clone(),
                sink.clone(),
                events.clone(),
                stop.clone(),
                name.clone(),
            );
            async move {
                let connector = match kind.build(&base_dir)? {
                    Built::Task(connector) => connector,
                    Built::Push(_) => {
                        return Err("a push source is served on the HTTP server, not run".into())
                    }
                };
                let positions = store
                    .source_positions(&name)
                    .await
                    .map_err(|error| format!("cannot read the stored position: {error}"))?;
                let context = SourceContext {
                    name,
                    mapping,
                    sink,
                    positions,
                    base_dir,
                    events,
                    shutdown: stop,
                };
                connector.run(context).await.map_err(|error| error.message)
            }
        },
        shutdown.clone(),
    );
}

/// What the relay task needs, cloned for each (re)start.
#[derive(Clone)]
struct RelaySetup {
    store: Store,
    kafka: dhub_publish::kafka::KafkaSettings,
    topics: Vec<String>,
    formats: HashMap<String, String>,
    telemetry: Arc<Telemetry>,
    signal: OutboxSignal,
    shutdown: watch::Receiver<bool>,
}

impl RelaySetup {
    /// Creates the feed topics (waiting for the broker as long as it takes), then relays until
    /// shutdown has drained the outbox.
    async fn run(self) -> Result<(), String> {
        let mut delays =
            dhub_support::retry::delays(Duration::from_millis(500), Duration::from_secs(30));
        let mut stop = self.shutdown.clone();
        loop {
            match self
                .kafka
                .ensure_topics(&self.topics, Duration::from_secs(10))
                .await
            {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot create the feed topics yet; records wait in the outbox");
                    tokio::select! {
                        _ = tokio::time::sleep(delays.next_delay()) => {}
                        _ = stop.wait_for(|stop| *stop) => return Ok(()),
                    }
                }
            }
        }
        tracing::info!(topics = self.topics.len(), "feed topics ready");
        let producer = self
            .kafka
            .producer()
            .map_err(|error| format!("cannot create the kafka producer: {error}"))?;
        let rebuild_settings = self.kafka.clone();
        Relay::new(
            self.store,
            producer,
            self.formats,
            self.telemetry,
            self.signal,
        )
        .with_rebuild(Arc::new(move || rebuild_settings.producer()))
        .run(self.shutdown)
        .await;
        Ok(())
    }
}

pub use dhub_support::redact_url;

/// Resolves on SIGINT or SIGTERM.
pub async fn termination_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// For one-shot commands (`dhub retract`, `dhub quarantine replay`): sends what is pending in the outbox
/// and returns whether everything was acknowledged within `timeout`. What is not stays in the outbox, and
/// a running hub's relay (or the next start) sends it.
pub async fn publish_pending(
    config: &HubConfig,
    store: &Store,
    timeout: Duration,
) -> anyhow::Result<bool> {
    let telemetry = Arc::new(Telemetry::new());
    let topics = config.topics();
    if let Err(error) = config.kafka.ensure_topics(&topics, timeout).await {
        tracing::warn!(%error, "broker not reachable now");
        return Ok(false);
    }
    let producer = config.kafka.producer()?;
    let relay = Relay::new(
        store.clone(),
        producer,
        config.formats(),
        telemetry,
        OutboxSignal::default(),
    );
    let (_stop_tx, stop) = watch::channel(true);
    let drained = tokio::time::timeout(timeout, relay.run(stop)).await.is_ok();
    Ok(drained && store.pending_count().await.unwrap_or(1) == 0)
}
