//! `dhub run`: wires the compiled config into running parts (connectors → ingest → store → relay →
//! Kafka, plus the HTTP endpoints) and stops them in order on SIGINT/SIGTERM: connectors first (the file
//! in hand is finished), then the relay drains the outbox, then the process exits 0.

pub mod http;
pub mod ingest;
pub mod publicity;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dhub_connectors::xml_dir::XmlDirConnector;
use dhub_publish::{Relay, RelayHandle, Routing};
use dhub_store::Store;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{HubConfig, SourceConfig};
use crate::telemetry::Telemetry;
use ingest::Ingestor;

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
    let relay_handle = RelayHandle::default();
    let ingestor = Arc::new(Ingestor {
        store: store.clone(),
        routing: routing.clone(),
        policies: Arc::new(config.policies.clone()),
        telemetry: telemetry.clone(),
        relay: relay_handle.clone(),
    });
    let producer = config
        .kafka
        .producer()
        .context("cannot create the kafka producer")?;

    let (stop_sources_tx, stop_sources) = watch::channel(false);
    let (stop_relay_tx, stop_relay) = watch::channel(false);

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
            .map(|s| s.config.name().to_string())
            .collect(),
    };
    let mut http_stop = stop_relay.clone();
    let http_task = tokio::spawn(async move {
        let app = http::router(http_state);
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    tracing::info!(listen = %config.listen, "serving metrics, health and dashboard");

    // The relay starts once the topics exist; until then records wait in the outbox.
    let topics = config.topics();
    let kafka = config.kafka.clone();
    let rebuild_settings = config.kafka.clone();
    let relay = Relay::new(
        store.clone(),
        producer.clone(),
        config.formats(),
        telemetry.clone(),
        relay_handle,
    )
    .with_rebuild(Arc::new(move || rebuild_settings.producer()));
    let mut relay_stop_for_topics = stop_relay.clone();
    let relay_task = tokio::spawn(async move {
        let mut delays =
            dhub_support::retry::delays(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            match kafka.ensure_topics(&topics, Duration::from_secs(10)).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot create the feed topics yet; records wait in the outbox");
                    let delay = delays.next_delay();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = relay_stop_for_topics.wait_for(|stop| *stop) => return,
                    }
                }
            }
        }
        tracing::info!(topics = topics.len(), "feed topics ready");
        relay.run(stop_relay).await;
    });

    let mut connectors = JoinSet::new();
    for source in &config.sources {
        match &source.config {
            SourceConfig::XmlDir(xml) => {
                let connector = XmlDirConnector::new(
                    xml,
                    &config.base_dir,
                    source.mapping.clone(),
                    ingestor.clone(),
                    telemetry.clone(),
                );
                connector
                    .prepare()
                    .with_context(|| format!("source `{}`", xml.name))?;
                tracing::info!(source = %xml.name, folder = %connector.paths.inbox.display(), "watching export folder");
                let stop = stop_sources.clone();
                connectors.spawn(async move { connector.run(stop).await });
            }
        }
    }

    let publicity_task = tokio::spawn(publicity::run(
        store.clone(),
        (*routing).clone(),
        ingestor.relay.clone(),
        config.publicity_check_interval,
        stop_sources.clone(),
    ));

    let gauge_store = store.clone();
    let gauge_telemetry = telemetry.clone();
    let gauge_task = tokio::spawn(async move {
        loop {
            if let Ok(pending) = gauge_store.pending_count().await {
                gauge_telemetry.outbox_pending.set(pending);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });

    shutdown.await;
    tracing::info!("shutting down: finishing the files in hand");
    let _ = stop_sources_tx.send(true);
    while let Some(result) = connectors.join_next().await {
        if let Ok(Err(error)) = result {
            tracing::error!(%error, "connector stopped with an error");
        }
    }
    let _ = publicity_task.await;
    tracing::info!("draining the outbox to the broker");
    let _ = stop_relay_tx.send(true);
    match tokio::time::timeout(config.drain_timeout, relay_task).await {
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
        RelayHandle::default(),
    );
    let (_stop_tx, stop) = watch::channel(true);
    let drained = tokio::time::timeout(timeout, relay.run(stop)).await.is_ok();
    Ok(drained && store.pending_count().await.unwrap_or(1) == 0)
}
