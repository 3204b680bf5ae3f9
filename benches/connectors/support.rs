//! What every section of the connector benchmark uses: settings from the environment, a hub config
//! with the four demo platforms, the hub running in-process, a consumer of one feed topic that
//! notes when each record arrives, and latency figures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dhub_testkit::DEMO_PLATFORMS;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the environment sets.
pub struct Settings {
    /// Seconds of writing per run (`DHUB_BENCH_SECONDS`, default 10).
    pub seconds: u64,
    pub brokers: String,
    /// `DHUB_BENCH_SECTIONS`, comma-separated; empty: all.
    sections: Vec<String>,
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings {
            seconds: env_number("DHUB_BENCH_SECONDS", 10),
            brokers: dhub_testkit::test_brokers(),
            sections: std::env::var("DHUB_BENCH_SECTIONS")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    pub fn wants(&self, section: &str) -> bool {
        self.sections.is_empty() || self.sections.iter().any(|s| s == section)
    }
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A hub config in a temp folder: SQLite state, topics under a prefix of their own, the four demo
/// platforms with the `public` policy, and the given `[[source]]` tables.
pub struct HubConfig {
    /// Holds the state store and the config until the run ends.
    _dir: tempfile::TempDir,
    pub prefix: String,
    pub path: PathBuf,
}

impl HubConfig {
    pub fn new(settings: &Settings, sources: &str) -> HubConfig {
        let dir = tempfile::tempdir().unwrap();
        let prefix = format!("{}.", dhub_testkit::unique_name("bench"));
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut text = format!(
            "[hub]\nstate = \"sqlite://{}\"\nlisten = \"127.0.0.1:{listen}\"\n\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{prefix}\"\npartitions = 2\n",
            dir.path().join("state.db").display(),
            settings.brokers
        );
        for p in DEMO_PLATFORMS {
            text.push_str(&format!(
                "\n[[platform]]\nname = \"{0}-{1}\"\nlevel = \"{0}\"\ndivision = \"{1}\"\npolicy = \"public\"\n",
                p.level.as_str(),
                p.division
            ));
        }
        text.push('\n');
        text.push_str(sources);
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, text).unwrap();
        HubConfig {
            _dir: dir,
            prefix,
            path,
        }
    }

    /// The hub's state store.
    pub fn state_url(&self) -> String {
        format!("sqlite://{}", self._dir.path().join("state.db").display())
    }

    /// The province's feed: every record of a Liaocheng (3715xx) agency goes to it.
    pub fn province_topic(&self) -> String {
        let province = DEMO_PLATFORMS
            .iter()
            .find(|p| p.division == "370000")
            .expect("the demo province");
        format!("{}{}", self.prefix, province.topic())
    }
}

/// The hub running in this process.
pub struct RunningHub {
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningHub {
    pub fn start(config: &Path) -> RunningHub {
        let text = std::fs::read_to_string(config).unwrap();
        let config = dhub::config::HubConfig::parse(&text, config, &[])
            .unwrap_or_else(|errors| panic!("bench config: {errors}"));
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(dhub::hub::run(config, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        RunningHub { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap().unwrap();
    }
}

/// Notes the instant each record (by its Kafka key, the record id) first arrives on a topic.
pub struct FeedWatch {
    arrivals: Arc<Mutex<HashMap<String, Instant>>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FeedWatch {
    pub fn start(brokers: &str, topic: &str) -> FeedWatch {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", dhub_testkit::unique_name("bench-feed"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            // Hand over each message as soon as the broker has it, not in half-second batches.
            .set("fetch.wait.max.ms", "5")
            .set("fetch.min.bytes", "1")
            .set("topic.metadata.refresh.interval.ms", "500")
            .create()
            .expect("a kafka consumer");
        // The hub creates the topic at start; subscribing first is fine (metadata is refreshed).
        consumer.subscribe(&[topic]).expect("subscribe");
        let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let (stop, mut stopped) = watch::channel(false);
        let seen = arrivals.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = consumer.recv() => {
                        let at = Instant::now();
                        if let Ok(message) = message {
                            if let Some(key) = message.key() {
                                let key = String::from_utf8_lossy(key).into_owned();
                                seen.lock().unwrap().entry(key).or_insert(at);
                            }
                        }
                    }
                    _ = stopped.wait_for(|stop| *stop) => return,
                }
            }
        });
        FeedWatch {
            arrivals,
            stop,
            task,
        }
    }

    /// Arrival instants as wall-clock milliseconds, for [`stages`].
    pub fn arrivals_ms(&self) -> HashMap<String, i64> {
        let (now, now_ms) = (Instant::now(), wall_ms());
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .map(|(id, at)| {
                (
                    id.clone(),
                    now_ms - now.duration_since(*at).as_millis() as i64,
                )
            })
            .collect()
    }

    pub fn arrived(&self, record_id: &str) -> Option<Instant> {
        self.arrivals.lock().unwrap().get(record_id).copied()
    }

    /// Waits until every one of `record_ids` arrived, or `timeout`; returns how many did not.
    pub async fn wait_all(&self, record_ids: &[String], timeout: Duration) -> usize {
        let start = Instant::now();
        loop {
            let missing = {
                let arrivals = self.arrivals.lock().unwrap();
                record_ids
                    .iter()
                    .filter(|id| !arrivals.contains_key(*id))
                    .count()
            };
            if missing == 0 || start.elapsed() > timeout {
                return missing;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Latency figures of one run.
pub struct Figures {
    pub count: usize,
    pub missing: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Figures {
    pub fn of(mut latencies: Vec<Duration>, missing: usize) -> Figures {
        latencies.sort();
        let at = |q: f64| {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i]
        };
        Figures {
            count: latencies.len(),
            missing,
            p50: at(0.50),
            p99: at(0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }

    /// One line of the results table; `cpu` is the process's CPU seconds during the run.
    pub fn row(&self, label: &str, offered: f64, achieved: f64, cpu: f64, load: &str) -> String {
        let per_row = if self.count > 0 {
            cpu * 1e6 / self.count as f64
        } else {
            0.0
        };
        format!(
            "| {label:<30} | {offered:>7.0} | {achieved:>8.0} | {:>6} | {:>7.1} | {:>7.1} | {:>8.1} | {:>7} | {per_row:>9.0} | {load:>5} |",
            self.count,
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.missing
        )
    }

    pub fn header() -> &'static str {
        "| path                           | rate /s | achieved | rows   | p50 ms  | p99 ms  | max ms   | missing | CPU µs/row | load |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    }
}

/// CPU seconds (user + system) this process has used: the hub, the writers and the consumer.
/// `/proc/self/stat` counts in clock ticks of 1/100 s (USER_HZ on Linux).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15, the 12th and 13th after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The machine's 1-minute load average, to read the figures against (the bench shares its cores).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Milliseconds since the Unix epoch, the clock of the state store's `created_at_ms` and
/// `acked_at_ms`.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Where the time of each record went, by the state store's clocks: from the department's commit to
/// the hub queueing its envelope (connector, mapping, ingest), from queueing to the broker's
/// acknowledgement (the ingest's commit, the relay, the broker), from the acknowledgement to the
/// consumer. p50 / p99 in ms of each stage.
pub async fn stages(
    state_url: &str,
    platform: &str,
    commits_ms: &HashMap<String, i64>,
    arrivals_ms: &HashMap<String, i64>,
) -> String {
    let Ok(pool) = sqlx::SqlitePool::connect(state_url).await else {
        return "stages: the state store cannot be read".into();
    };
    // The version's creation is the ingest commit that queued its envelope; the feed state keeps
    // when the broker acknowledged it (queue entries themselves are pruned once delivered).
    let rows: Result<Vec<(String, i64, Option<i64>)>, _> = sqlx::query_as(
        "SELECT s.record_id, v.created_at_ms, s.acked_at_ms FROM feed_state s \
         JOIN record_versions v ON v.record_id = s.record_id AND v.version = s.version \
         WHERE s.platform = $1 AND s.op = 'upsert'",
    )
    .bind(platform)
    .fetch_all(&pool)
    .await;
    pool.close().await;
    let rows = match rows {
        Ok(rows) if !rows.is_empty() => rows,
        Ok(_) => return format!("stages: nothing delivered to {platform} is recorded"),
        Err(error) => return format!("stages: cannot read the delivery state: {error}"),
    };
    let mut queued = Vec::new();
    let mut acked = Vec::new();
    let mut received = Vec::new();
    for (record_id, created, ack) in rows {
        let (Some(commit), Some(ack)) = (commits_ms.get(&record_id), ack) else {
            continue;
        };
        queued.push(created - commit);
        acked.push(ack - created);
        if let Some(arrived) = arrivals_ms.get(&record_id) {
            received.push(arrived - ack);
        }
    }
    let show = |mut values: Vec<i64>| {
        values.sort();
        let at = |q: f64| {
            values
                .get(((values.len() as f64 * q).ceil() as usize).clamp(1, values.len().max(1)) - 1)
                .copied()
                .unwrap_or_default()
        };
        format!("{} / {}", at(0.5), at(0.99))
    };
    format!(
        "commit → queued {}, queued → broker ack {}, ack → consumer {} (ms, p50 / p99)",
        show(queued),
        show(acked),
        show(received)
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
