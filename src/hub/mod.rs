//! `dhub run`: wires the compiled config into running parts (connectors → ingest → store → relay →
//! Kafka, plus the HTTP endpoints) and stops them in order on SIGINT/SIGTERM: connectors first (the file
//! in hand is finished), then the relay drains the outbox, then the process exits 0.

pub mod documents;
pub mod http;
pub mod leases;
pub mod ops;
pub mod readiness;
pub mod supervise;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dhub_connectors::{Built, SourceContext};
use dhub_ingest::{Ingestor, OutboxHandoff, Routing};
use dhub_publish::{AckWriter, Feed, FeedRelay, SharedProducer};
use dhub_store::Store;
use tokio::sync::watch;

use crate::config::{HubConfig, SourceSetup};
use crate::telemetry::Telemetry;
use leases::{Class, Holdings, LeaseRunner, Leased};
use supervise::Supervisor;

/// How often delivered entries are pruned from the queue.
const PRUNE_EVERY: Duration = Duration::from_secs(5);

/// Runs the hub until `shutdown` resolves, then drains and returns.
pub async fn run(
    config: HubConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let telemetry = Arc::new(Telemetry::new());
    telemetry.export_sources(config.sources.iter().map(|s| s.name()));
    let store = Store::connect(&config.state_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the state store {}",
                redact_url(&config.state_url)
            )
        })?
        .with_audit_key(config.audit_key.clone());
    // A keyed chain needs its key; a wrong key shows now, not at the next `dhub audit verify`.
    store.check_audit_key().await?;
    // Every feed gets its mark now (a platform new to the config starts at the queue's head), so
    // what waits for a feed is counted from the start, broker or not.
    let feed_names: Vec<String> = config.platforms.iter().map(|p| p.name.clone()).collect();
    store
        .ensure_feed_marks(&feed_names)
        .await
        .context("cannot prepare the feed marks in the state store")?;
    let handoff = OutboxHandoff::default();
    let mut ingestor = ingestor(&config, &store, telemetry.clone(), handoff.clone());
    let documents = documents::settings(&config).await?;
    ingestor.documents = documents.clone();
    let ingestor = Arc::new(ingestor);
    let producer = SharedProducer::new(
        config
            .kafka
            .producer()
            .context("cannot create the kafka producer")?,
        Some({
            let settings = config.kafka.clone();
            Arc::new(move || settings.producer())
        }),
    );

    let acks = AckWriter::start(store.clone(), telemetry.clone());
    ops::spawn_quarantine_sampler(store.clone(), telemetry.clone());
    // One signer for every feed: an entry meant for several platforms is signed once.
    let signer = config
        .signer
        .clone()
        .map(|signer| Arc::new(dhub_publish::signing::EnvelopeSigner::new(signer)));
    let sources = Supervisor::new(telemetry.clone());
    let feeds = Supervisor::new(telemetry.clone());
    let health = vec![sources.health.clone(), feeds.health.clone()];
    let holdings = Arc::new(Holdings::default());
    let holder = leases::instance_name();

    // Every source is built before anything runs, so a config problem stops start-up. Push sources
    // answer on the HTTP server of every instance (each request is its own transaction: no lease);
    // the others run as leased tasks, set up below.
    let (stop_push_tx, stop_push) = watch::channel(false);
    let mut pushes = Vec::new();
    let mut tasks = Vec::new();
    for source in &config.sources {
        let name = source.name().to_string();
        let built = source
            .config
            .build(&config.base_dir, &config.source_settings())
            .map_err(|message| anyhow::anyhow!("source `{name}`: {message}"))?;
        match built {
            Built::Task(_) => {
                tasks.push(source_task(source, &config, &store, &ingestor, &telemetry))
            }
            Built::Push(endpoint) => {
                tracing::info!(source = %name, "answering pushes on POST /ingest/{name}");
                pushes.push(endpoint.bind(SourceContext {
                    name,
                    mapping: source.mapping.clone(),
                    sink: ingestor.clone(),
                    positions: Vec::new(),
                    base_dir: config.base_dir.clone(),
                    events: telemetry.clone(),
                    shutdown: stop_push.clone(),
                }))
            }
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
    if let Some(warning) = http::exposure_warning(config.listen) {
        tracing::warn!("{warning}");
    }
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
        holder: holder.clone(),
        holdings: holdings.clone(),
        documents: documents.as_ref().map(|d| d.store.clone()),
        readiness: readiness::Readiness::spawn(
            http::store_and_broker_probe(store.clone(), producer.clone()),
            Duration::from_secs(2),
        ),
    };
    let (stop_http_tx, stop_http) = watch::channel(false);
    let mut http_stop = stop_http.clone();
    let http_task = tokio::spawn(async move {
        let app = http::router(http_state, push_routes);
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    tracing::info!(listen = %config.listen, "serving metrics, health and dashboard");
    if let Some(settings) = &documents {
        let (store, documents) = (store.clone(), settings.store.clone());
        // Dropped with the runtime when the hub exits; a round cut short deletes nothing twice.
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(documents::PRUNE_EVERY).await;
                match documents::prune(&store, &documents).await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "pruned documents no record in force names"),
                    Err(error) => tracing::warn!(%error, "pruning documents failed; trying again later"),
                }
            }
        });
    }

    // The feed topics are created before any relay starts; until then entries wait in the queue.
    let topics_ready = ensure_topics_until_ready(&config, telemetry.clone());

    for platform in &config.platforms {
        let feed = Feed {
            platform: platform.name.clone(),
            topic: platform.topic.clone(),
            schema: platform.format.clone(),
        };
        let signer = signer.clone();
        let (store, acks, producer, telemetry, handoff, holder, topics_ready) = (
            store.clone(),
            acks.clone(),
            producer.clone(),
            telemetry.clone(),
            handoff.clone(),
            holder.clone(),
            topics_ready.clone(),
        );
        let lease = format!("feed:{}", platform.name);
        let task_lease = lease.clone();
        tasks.push(Leased {
            lease,
            class: Class::Feed,
            start: Box::new(move |supervisor, stop| {
                let (store, acks, producer, telemetry, handoff, holder, feed, lease, topics_ready) = (
                    store.clone(),
                    acks.clone(),
                    producer.clone(),
                    telemetry.clone(),
                    handoff.clone(),
                    holder.clone(),
                    feed.clone(),
                    task_lease.clone(),
                    topics_ready.clone(),
                );
                let task_stop = stop.clone();
                let signer = signer.clone();
                supervisor.spawn(
                    lease.clone(),
                    move || {
                        let relay = FeedRelay::new(
                            store.clone(),
                            acks.clone(),
                            producer.clone(),
                            feed.clone(),
                            telemetry.clone(),
                            &handoff,
                        )
                        .fenced_by(lease.clone(), holder.clone())
                        .signed_by(signer.clone());
                        let (stop, mut topics_ready) = (task_stop.clone(), topics_ready.clone());
                        async move {
                            // Nothing to send until the topics exist; a stop meanwhile ends the task.
                            let mut waiting_stop = stop.clone();
                            let ready =
                                async move { topics_ready.wait_for(|ready| *ready).await.is_ok() };
                            let stopped =
                                async move { waiting_stop.wait_for(|stop| *stop).await.is_ok() };
                            tokio::select! {
                                _ = ready => {}
                                _ = stopped => return Ok(()),
                            }
                            relay.run(stop).await.map_err(|error| error.to_string())
                        }
                    },
                    stop,
                )
            }),
        });
    }
    tasks.push(publicity_task(&config, &store, &handoff));
    tasks.push(prune_task(&config, &store, &telemetry));

    telemetry.ops.leases_wanted(tasks.len());
    let (stop_checkpoints, checkpoints) = checkpoint_task(&config, &store, topics_ready.clone())?;

    let (stop_tx, stop) = watch::channel(false);
    let runner = LeaseRunner {
        store: store.clone(),
        holder,
        tasks,
        sources,
        feeds,
        telemetry: telemetry.clone(),
        holdings,
    };
    let drain_timeout = config.drain_timeout;
    let runner_task = tokio::spawn(runner.run(stop, drain_timeout));
    let deadlines_task = tokio::spawn(crate::compliance::watch_deadlines(
        store.clone(),
        config.compliance.clone(),
        telemetry.clone(),
        stop_http.clone(),
    ));

    shutdown.await;
    // Pushes are refused (503, retry later) from now on; the tasks finish what they hold.
    let _ = stop_push_tx.send(true);
    let _ = stop_tx.send(true);
    let _ = runner_task.await;
    // The last checkpoint covers everything the drain appended (deliveries included).
    let _ = stop_checkpoints.send(true);
    let _ = checkpoints.await;
    producer.flush(Duration::from_secs(5));
    let _ = stop_http_tx.send(true);
    let _ = http_task.await;
    let _ = deadlines_task.await;
    store.close().await;
    Ok(())
}

/// Publishes the audit chain's head to the checkpoint topic every `audit_checkpoint_interval` when
/// it moved, and once more when `stop` turns true (then returns). Failures are logged and counted;
/// the next checkpoint covers what a failed one would have.
fn checkpoint_task(
    config: &HubConfig,
    store: &Store,
    mut topics_ready: watch::Receiver<bool>,
) -> anyhow::Result<(watch::Sender<bool>, tokio::task::JoinHandle<()>)> {
    use dhub_support::errors::{swallowed, Site};
    let producer = config
        .kafka
        .producer()
        .context("cannot create the kafka producer of the audit checkpoints")?;
    let (stop_tx, mut stop) = watch::channel(false);
    let (store, topic, signer, every) = (
        store.clone(),
        config.checkpoint_topic(),
        config.signer.clone(),
        config.audit_checkpoint_interval,
    );
    let task = tokio::spawn(async move {
        let mut published = 0_i64;
        let mut tick = tokio::time::interval(every);
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                _ = stop.wait_for(|stop| *stop) => true,
            };
            if *topics_ready.borrow_and_update() {
                match store.audit_head().await {
                    Ok((seq, hash)) if seq > published => {
                        let checkpoint = dhub_publish::checkpoint::Checkpoint {
                            seq,
                            hash,
                            at_ms: chrono::Utc::now().timestamp_millis(),
                        };
                        match dhub_publish::checkpoint::publish(
                            &producer,
                            &topic,
                            &checkpoint,
                            signer.as_deref(),
                        )
                        .await
                        {
                            Ok(()) => published = seq,
                            Err(error) => swallowed(Site::CheckpointPublish, &error),
                        }
                    }
                    Ok(_) => {}
                    Err(error) => swallowed(Site::CheckpointRead, &error),
                }
            }
            if stopping {
                return;
            }
        }
    });
    Ok((stop_tx, task))
}

/// Creates the feed topics, retrying as long as the broker does not answer; the returned signal
/// turns true once they exist.
fn ensure_topics_until_ready(
    config: &HubConfig,
    telemetry: Arc<Telemetry>,
) -> watch::Receiver<bool> {
    let (ready_tx, ready) = watch::channel(false);
    let kafka = config.kafka.clone();
    let mut topics = config.topics();
    topics.push(config.checkpoint_topic());
    tokio::spawn(async move {
        let mut delays =
            dhub_support::retry::delays(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            match kafka.ensure_topics(&topics, Duration::from_secs(10)).await {
                Ok(()) => {
                    tracing::info!(topics = topics.len(), "feed topics ready");
                    let _ = ready_tx.send(true);
                    return;
                }
                Err(error) => {
                    telemetry.broker_unavailable(&error.to_string());
                    tokio::time::sleep(delays.next_delay()).await;
                }
            }
        }
    });
    ready
}

/// The pipeline step every source submits to, wired from the config.
pub fn ingestor(
    config: &HubConfig,
    store: &Store,
    telemetry: Arc<Telemetry>,
    handoff: OutboxHandoff,
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
        handoff,
        handoff_order: Arc::default(),
        clocks: config.compliance.clocks.clone(),
        documents: None,
    }
}

/// One source as a leased task: each (re)start builds a fresh connector and reads the source's
/// stored positions, so it resumes after the last stored batch. (It was built once at start-up
/// already, so a config problem stopped the hub there.)
fn source_task(
    source: &SourceSetup,
    config: &HubConfig,
    store: &Store,
    ingestor: &Arc<Ingestor>,
    telemetry: &Arc<Telemetry>,
) -> Leased {
    let name = source.name().to_string();
    let settings = config.source_settings();
    // The whole `[[source]]` table: its kind builds the connector within its `[source.limits]`.
    let source_config = source.config.clone();
    let base_dir = config.base_dir.clone();
    let mapping = source.mapping.clone();
    let store = store.clone();
    let sink: Arc<dyn dhub_schema::intake::IntakeSink> = ingestor.clone();
    let events: Arc<dyn dhub_connectors::ConnectorEvents> = telemetry.clone();
    let lease = format!("source:{name}");
    let task_name = lease.clone();
    Leased {
        lease,
        class: Class::Source,
        start: Box::new(move |supervisor, stop| {
            let (source_config, base_dir, settings, mapping, store, sink, events, name) = (
                source_config.clone(),
                base_dir.clone(),
                settings.clone(),
                mapping.clone(),
                store.clone(),
                sink.clone(),
                events.clone(),
                name.clone(),
            );
            tracing::info!(source = %name, kind = source_config.kind.name(), "starting source");
            let task_stop = stop.clone();
            supervisor.spawn(
                task_name.clone(),
                move || {
                    let (source_config, base_dir, settings, mapping, store, sink, events, stop, name) = (
                        source_config.clone(),
                        base_dir.clone(),
                        settings.clone(),
                        mapping.clone(),
                        store.clone(),
                        sink.clone(),
                        events.clone(),
                        task_stop.clone(),
                        name.clone(),
                    );
                    async move {
                        let Built::Task(connector) = source_config.build(&base_dir, &settings)? else {
                            return Err(
                                "a push source answers on the HTTP server; it is not run".into()
                            );
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
                stop,
            )
        }),
    }
}

/// The publicity sweep, run by one instance.
fn publicity_task(config: &HubConfig, store: &Store, handoff: &OutboxHandoff) -> Leased {
    let (store, routing, handoff, interval, clocks) = (
        store.clone(),
        Routing::new(config.platforms.clone()),
        handoff.clone(),
        config.publicity_check_interval,
        config.compliance.clocks.clone(),
    );
    Leased {
        lease: "sweep:publicity".into(),
        class: Class::Source,
        start: Box::new(move |supervisor, stop| {
            let (store, routing, handoff, clocks) =
                (store.clone(), routing.clone(), handoff.clone(), clocks.clone());
            let task_stop = stop.clone();
            supervisor.spawn(
                "sweep:publicity".into(),
                move || {
                    let (store, routing, handoff, stop, clocks) = (
                        store.clone(),
                        routing.clone(),
                        handoff.clone(),
                        task_stop.clone(),
                        clocks.clone(),
                    );
                    async move {
                        // Rows carried over by migration 0004 get their configured period first.
                        match crate::compliance::settle_carried(&store, &clocks).await {
                            Ok(0) => {}
                            Ok(count) => tracing::info!(count, "set the publicity period of records stored before it was kept"),
                            Err(error) => return Err(format!("cannot set carried publicity periods: {error}")),
                        }
                        dhub_ingest::publicity::run(store, routing, handoff, interval, clocks, stop)
                            .await;
                        Ok(())
                    }
                },
                stop,
            )
        }),
    }
}

/// Deletes queue entries every feed has acknowledged, run by one instance.
fn prune_task(config: &HubConfig, store: &Store, telemetry: &Arc<Telemetry>) -> Leased {
    let platforms: Vec<String> = config.platforms.iter().map(|p| p.name.clone()).collect();
    let keep_ms = config.keep_delivered.as_millis() as i64;
    let (store, telemetry) = (store.clone(), telemetry.clone());
    Leased {
        lease: "sweep:prune".into(),
        class: Class::Source,
        start: Box::new(move |supervisor, stop| {
            let (store, telemetry, platforms) =
                (store.clone(), telemetry.clone(), platforms.clone());
            let task_stop = stop.clone();
            supervisor.spawn(
                "sweep:prune".into(),
                move || {
                    let (store, telemetry, platforms, mut stop) = (
                        store.clone(),
                        telemetry.clone(),
                        platforms.clone(),
                        task_stop.clone(),
                    );
                    async move {
                        loop {
                            loop {
                                let cutoff = chrono::Utc::now().timestamp_millis() - keep_ms;
                                match store.prune(&platforms, cutoff).await {
                                    Ok(deleted) => {
                                        telemetry.pruned(deleted);
                                        if deleted < dhub_store::PRUNE_PER_STATEMENT {
                                            break;
                                        }
                                    }
                                    Err(error) => {
                                        telemetry.store_failed("prune the outbox", &error);
                                        break;
                                    }
                                }
                            }
                            tokio::select! {
                                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                                _ = stop.wait_for(|stop| *stop) => return Ok(()),
                            }
                        }
                    }
                },
                stop,
            )
        }),
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

/// Whether a hub answers on the config's address (the commands queue their entries and say whether
/// a running hub will publish them now).
pub async fn hub_answers(config: &HubConfig) -> bool {
    let connect = tokio::net::TcpStream::connect(config.listen);
    matches!(
        tokio::time::timeout(Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}
