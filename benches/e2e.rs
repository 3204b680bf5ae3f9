//! End-to-end benchmark (`cargo bench --bench e2e`, or `tests/bench.sh` which starts the broker first).
//!
//! Three phases against the real broker, with the release `dhub` binary as a child process and the
//! embedded SQLite state store, all measured in one run so their ratios mean something on a shared,
//! noisy machine:
//!
//! 1. **Throughput**: `DHUB_BENCH_CASES` cases (default 100,000) as export files of 1,000 cases
//!    (finance-oa GBK, market-supervision UTF-8) are moved into the inboxes at once; the clock stops
//!    when the broker has acknowledged every envelope (`dhub_records_published_total`).
//! 2. **Raw produce**: the very same envelopes (read back from the outbox) are produced to fresh topics
//!    with the hub's producer settings (idempotent, `acks=all`, same linger, same headers), as fast as
//!    librdkafka takes them.
//! 3. **Latency**: 1,000 cases/s (10-case files every 10 ms) for `DHUB_BENCH_LATENCY_SECONDS` (20);
//!    latency per case is broker acknowledgement (`acked_at_ms` of its last envelope) minus the moment
//!    its export file appeared in the inbox.
//!
//! Then the hub's peak RSS (VmHWM) and the share of its wall time spent redacting, and three more
//! phases, each with a hub of its own:
//!
//! 4. **Postgres state store**: phase 1 again with `state = postgres://…` (a fresh database).
//! 5. **Pruning under a steady load**: `DHUB_BENCH_PRUNE_ROUNDS` (8) rounds of 10,000 cases with
//!    `keep_delivered_ms = 0`; the state database's size (file + WAL) after each round must level
//!    off, because delivered queue entries are pruned and their pages reused.
//! 6. **Backlog while the broker is down**: a hub whose broker never answers stores cases worth
//!    `DHUB_BENCH_BACKLOG_ENVELOPES` (1,000,000) envelopes, then waits
//!    `DHUB_BENCH_BACKLOG_HOLD_SECONDS` (65) more; its peak RSS shows that the waiting queue lives
//!    in the state store, not in memory, and that nothing periodic (the deadline check runs every
//!    minute) reads the whole store into memory.
//!
//! `DHUB_BENCH_PHASES` (default `throughput,postgres,prune,backlog`) runs only the phases named;
//! `throughput` is phases 1–3.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dhub_publish::kafka::KafkaSettings;
use dhub_testkit::{generate, BadCases, Case, GenConfig, System, DEMO_PLATFORMS};
use rdkafka::producer::FutureRecord;
use sqlx::Row;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `count` cases in batches of 10,000 (the generator's keys allow 5,000 per system); keys get the
/// batch number so every case is its own record.
fn cases(count: usize, tag: &str, seed: u64) -> Vec<Case> {
    let mut all = Vec::with_capacity(count);
    let mut batch = 0u64;
    while all.len() < count {
        let want = (count - all.len()).min(10_000);
        let config = GenConfig {
            seed: seed + batch,
            finance_cases: want / 2,
            market_cases: want - want / 2,
            finance_bad: BadCases::NONE,
            market_bad: BadCases::NONE,
            ..GenConfig::default()
        };
        for mut case in generate(&config).expect("generator config") {
            case.key = format!("{}-{tag}{batch}", case.key);
            all.push(case);
        }
        batch += 1;
    }
    all
}

fn envelopes_for(cases: &[Case]) -> u64 {
    cases
        .iter()
        .map(|c| {
            DEMO_PLATFORMS
                .iter()
                .filter(|p| p.contains(c.division_code()))
                .count() as u64
        })
        .sum()
}

struct Hub {
    child: Child,
    dir: tempfile::TempDir,
    listen: u16,
    prefix: String,
    state_url: String,
}

/// How a phase's hub differs from the throughput phase's.
struct HubOptions {
    /// `None`: embedded SQLite in the hub's folder.
    postgres_url: Option<String>,
    brokers: String,
    keep_delivered_ms: u64,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            postgres_url: None,
            brokers: dhub_testkit::test_brokers(),
            // the raw-produce phase reads the delivered envelopes back
            keep_delivered_ms: 86_400_000,
        }
    }
}

impl Hub {
    fn start(options: HubOptions) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let prefix = format!("{}.", dhub_testkit::unique_name("bench"));
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let state_url = options
            .postgres_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("state.db").display()));
        let mut text = format!(
            "[hub]\nstate = \"{state_url}\"\nlisten = \"127.0.0.1:{listen}\"\nkeep_delivered_ms = {}\n\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{prefix}\"\npartitions = 3\n",
            options.keep_delivered_ms, options.brokers
        );
        for p in DEMO_PLATFORMS {
            text.push_str(&format!(
                "\n[[platform]]\nname = \"{0}-{1}\"\nlevel = \"{0}\"\ndivision = \"{1}\"\n",
                p.level.as_str(),
                p.division
            ));
        }
        for (source, mapping) in [
            ("finance-oa", "finance-oa.toml"),
            ("market-supervision", "market-supervision.toml"),
        ] {
            text.push_str(&format!(
                "\n[[source]]\nname = \"{source}\"\nkind = \"xml_dir\"\nmapping = \"{}\"\npath = \"inbox/{source}\"\n",
                repo.join("mappings").join(mapping).display()
            ));
            std::fs::create_dir_all(dir.path().join("inbox").join(source)).unwrap();
        }
        let config = dir.path().join("hub.toml");
        std::fs::write(&config, text).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dhub"))
            .args(["run", "--config"])
            .arg(&config)
            .env("DHUB_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the dhub binary");
        Hub {
            child,
            dir,
            listen,
            prefix,
            state_url,
        }
    }

    async fn wait_ready(&self) {
        let ready = Instant::now();
        while fetch(&format!("http://127.0.0.1:{}/readyz", self.listen))
            .await
            .map(|b| b != "ready")
            .unwrap_or(true)
        {
            assert!(
                ready.elapsed() < Duration::from_secs(60),
                "the hub did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Until the hub has answered `/healthz` (it serves before the broker is reachable).
    async fn wait_serving(&self) {
        let started = Instant::now();
        while fetch(&format!("http://127.0.0.1:{}/healthz", self.listen))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the hub did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Until `cases` cases are stored (counted by the hub), for a phase where nothing is published.
    async fn wait_stored(&self, cases: u64, timeout: Duration) {
        let start = Instant::now();
        loop {
            let stored = self
                .metrics()
                .await
                .get("dhub_records_stored_total")
                .copied()
                .unwrap_or(0.0) as u64;
            if stored >= cases {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "only {stored} of {cases} cases stored after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Bytes the SQLite state store takes on disk: the database file and its write-ahead log.
    fn sqlite_bytes(&self) -> u64 {
        ["state.db", "state.db-wal"]
            .iter()
            .map(|f| {
                std::fs::metadata(self.dir.path().join(f))
                    .map(|m| m.len())
                    .unwrap_or(0)
            })
            .sum()
    }

    fn inbox(&self, system: System) -> PathBuf {
        self.dir.path().join("inbox").join(system.source_name())
    }

    async fn metrics(&self) -> HashMap<String, f64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.listen);
        let Ok(text) = fetch(&url).await else {
            return HashMap::new();
        };
        let mut sums = HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name_labels, value) = line.rsplit_once(' ').unwrap_or((line, "0"));
            let name = name_labels.split('{').next().unwrap_or(name_labels);
            *sums.entry(name.to_string()).or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
        }
        sums
    }

    async fn wait_published(&self, envelopes: u64, timeout: Duration) -> Instant {
        let start = Instant::now();
        let trace = std::env::var_os("DHUB_BENCH_TRACE").is_some();
        let mut last_trace = Instant::now();
        loop {
            let metrics = self.metrics().await;
            let published = metrics
                .get("dhub_records_published_total")
                .copied()
                .unwrap_or(0.0) as u64;
            if trace && last_trace.elapsed() > Duration::from_millis(500) {
                last_trace = Instant::now();
                let stored = metrics
                    .get("dhub_records_stored_total")
                    .copied()
                    .unwrap_or(0.0) as u64;
                println!(
                    "  {:>5.1} s: stored {stored:>7} cases, acknowledged {published:>7} envelopes",
                    start.elapsed().as_secs_f64()
                );
            }
            // Acknowledgements count resends too: done when every envelope was acknowledged and
            // nothing waits for any feed any more.
            let waiting = metrics.get("dhub_outbox_pending").copied().unwrap_or(1.0);
            if published >= envelopes && waiting == 0.0 {
                let finished = Instant::now();
                // The acknowledgements are recorded a moment later: wait for every feed's mark to
                // reach the queue's head, so what the bench reads from the state store is complete.
                let pool = sqlx::AnyPool::connect(&self.state_url).await.unwrap();
                loop {
                    let behind: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM feed_marks WHERE seq < (SELECT seq FROM outbox_head)",
                    )
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                    if behind == 0 {
                        return finished;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            assert!(
                start.elapsed() < timeout,
                "only {published} of {envelopes} envelopes acknowledged after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    /// CPU seconds (user + system) the hub process has used so far.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(self.child.id())
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) of a process, from `/proc/PID/stat` (clock ticks of 1/100 s).
fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of a process's threads, grouped by what they run (from `/proc/PID/task/*/{comm,stat}`):
/// SQLite's connection workers (sqlx), librdkafka's threads, the tokio runtime, the rest.
fn thread_cpu_by_group(pid: u32) -> HashMap<&'static str, f64> {
    let mut groups = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return groups;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let group = if comm.starts_with("sqlx-sqlite") {
            "sqlite"
        } else if comm.starts_with("rdk:") {
            "librdkafka"
        } else if comm.starts_with("tokio") {
            "tokio"
        } else {
            "other"
        };
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        *groups.entry(group).or_insert(0.0) += (ticks(11) + ticks(12)) / 100.0;
    }
    groups
}

/// The hub's own per-stage CPU counters (`dhub_stage_cpu_seconds_total{stage}`).
async fn stage_seconds(listen: u16) -> HashMap<String, f64> {
    let text = fetch(&format!("http://127.0.0.1:{listen}/metrics"))
        .await
        .unwrap_or_default();
    text.lines()
        .filter_map(|line| line.strip_prefix("dhub_stage_cpu_seconds_total{stage=\""))
        .filter_map(|rest| {
            let (stage, value) = rest.split_once("\"} ")?;
            Some((stage.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The broker's pid when it is the local tansu started by `tests/broker.sh`.
fn broker_pid() -> Option<u32> {
    let dir = std::env::var("DHUB_BROKER_DIR")
        .unwrap_or_else(|_| format!("{}/dhub-broker", std::env::temp_dir().display()));
    std::fs::read_to_string(format!("{dir}/tansu.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A plain HTTP/1.1 GET on loopback (the bench needs nothing more than the metrics text).
async fn fetch(url: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument can skip this benchmark.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with("--") && !"e2e".contains(a.as_str()))
    {
        return;
    }
    let count = env_number("DHUB_BENCH_CASES", 100_000) as usize;
    let phases = std::env::var("DHUB_BENCH_PHASES")
        .unwrap_or_else(|_| "throughput,postgres,prune,backlog".into());
    let wants = |phase: &str| phases.split(',').any(|p| p.trim() == phase);
    sqlx::any::install_default_drivers();
    println!("generating {count} cases…");
    let bulk = cases(count, "b", 1_000);
    let bulk_envelopes = envelopes_for(&bulk);
    if wants("throughput") {
        throughput_phases(&bulk, bulk_envelopes).await;
    }
    if wants("postgres") {
        postgres_phase(&bulk, bulk_envelopes).await;
    }
    if wants("prune") {
        prune_phase().await;
    }
    if wants("backlog") {
        backlog_phase().await;
    }
}

/// Phases 1–3 with one hub: throughput, raw produce of the same envelopes, latency.
async fn throughput_phases(bulk: &[Case], bulk_envelopes: u64) {
    let count = bulk.len();
    let latency_seconds = env_number("DHUB_BENCH_LATENCY_SECONDS", 20);
    let staged = tempfile::tempdir().unwrap();
    let files = dhub_testkit::write_export_files(bulk, staged.path(), "bulk", 1_000).unwrap();
    let bytes: u64 = files
        .iter()
        .map(|(p, _)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "{} export files, {:.1} MB, {bulk_envelopes} envelopes to publish",
        files.len(),
        bytes as f64 / 1e6
    );

    let hub = Hub::start(HubOptions::default());
    hub.wait_ready().await;

    // Phase 1: throughput.
    let threads_before = thread_cpu_by_group(hub.child.id());
    let stages_before = stage_seconds(hub.listen).await;
    let hub_cpu_before = hub.cpu_seconds();
    let broker_cpu_before = broker_pid().map(cpu_seconds_of);
    let started = Instant::now();
    for (path, system) in &files {
        std::fs::rename(path, hub.inbox(*system).join(path.file_name().unwrap())).unwrap();
    }
    let finished = hub
        .wait_published(bulk_envelopes, Duration::from_secs(1800))
        .await;
    let e2e_seconds = (finished - started).as_secs_f64();
    let e2e_rss = hub.peak_rss_mb();
    let hub_cpu = hub.cpu_seconds() - hub_cpu_before;
    let threads_after = thread_cpu_by_group(hub.child.id());
    let stages_after = stage_seconds(hub.listen).await;
    let broker_cpu = broker_pid()
        .map(cpu_seconds_of)
        .zip(broker_cpu_before)
        .map(|(after, before)| after - before);
    let redaction_seconds = hub
        .metrics()
        .await
        .get("dhub_redaction_seconds_total")
        .copied()
        .unwrap_or(f64::NAN);

    // Phase 2: the same envelopes, produced raw with the same producer settings. They are read back
    // from the hub's queue (the bench keeps delivered entries), one per platform an entry goes to.
    let pool = sqlx::SqlitePool::connect(&hub.state_url).await.unwrap();
    let topic_of: HashMap<String, String> = DEMO_PLATFORMS
        .iter()
        .map(|p| {
            (
                format!("{}-{}", p.level.as_str(), p.division),
                format!("raw.{}{}", hub.prefix, p.topic()),
            )
        })
        .collect();
    let rows = sqlx::query("SELECT record_id, platforms, payload FROM outbox_entries ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut envelopes: Vec<(String, String, Vec<u8>)> = Vec::new();
    for row in &rows {
        let platforms: String = row.get("platforms");
        let payload: Vec<u8> = row.get("payload");
        for platform in platforms.split_whitespace() {
            envelopes.push((
                topic_of[platform].clone(),
                row.get("record_id"),
                payload.clone(),
            ));
        }
    }
    assert_eq!(
        envelopes.len() as u64,
        bulk_envelopes,
        "every envelope read back from the queue"
    );
    let settings = KafkaSettings {
        brokers: dhub_testkit::test_brokers(),
        properties: Vec::new(),
        partitions: 3,
        replication_factor: 1,
    };
    let topics: Vec<String> = DEMO_PLATFORMS
        .iter()
        .map(|p| format!("raw.{}{}", hub.prefix, p.topic()))
        .collect();
    settings
        .ensure_topics(&topics, Duration::from_secs(30))
        .await
        .unwrap();
    let producer = settings.producer().unwrap();
    let raw_started = Instant::now();
    let mut futures = Vec::with_capacity(envelopes.len());
    for (topic, key, payload) in &envelopes {
        let headers = dhub_publish::feed_headers(dhub_schema::SCHEMA_NAME);
        let mut record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        loop {
            match producer.send_result(record) {
                Ok(future) => {
                    futures.push(future);
                    break;
                }
                Err((_, returned)) => {
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
    for future in futures {
        future.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    let raw_seconds = raw_started.elapsed().as_secs_f64();

    // Phase 3: latency at 1,000 cases/s.
    let steady = cases(latency_seconds as usize * 1000, "l", 9_000_000);
    let latency_envelopes = envelopes_for(&steady);
    let lat_dir = tempfile::tempdir().unwrap();
    let mut batches: Vec<(PathBuf, System, Vec<String>)> = Vec::new();
    for system in [System::FinanceOa, System::MarketSupervision] {
        let of_system: Vec<Case> = steady
            .iter()
            .filter(|c| c.system == system)
            .cloned()
            .collect();
        for (n, chunk) in of_system.chunks(10).enumerate() {
            let path = lat_dir
                .path()
                .join(format!("{}-{n:06}.xml", system.source_name()));
            dhub_testkit::write_system_export(chunk, &path).unwrap();
            batches.push((path, system, chunk.iter().map(Case::record_id).collect()));
        }
    }
    // Interleave the two systems as two departments exporting side by side.
    batches.sort_by_key(|(path, _, _)| {
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .rsplit('-')
            .next()
            .unwrap()
            .to_string()
    });
    let mut appeared: HashMap<String, i64> = HashMap::new();
    let tick = Instant::now();
    for (i, (path, system, ids)) in batches.iter().enumerate() {
        let due = tick + Duration::from_millis(10 * i as u64);
        tokio::time::sleep_until(due.into()).await;
        std::fs::rename(path, hub.inbox(*system).join(path.file_name().unwrap())).unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        for id in ids {
            appeared.insert(id.clone(), now);
        }
    }
    let offered = steady.len() as f64 / tick.elapsed().as_secs_f64();
    hub.wait_published(bulk_envelopes + latency_envelopes, Duration::from_secs(600))
        .await;
    let acked = sqlx::query("SELECT record_id, MAX(acked_at_ms) AS acked FROM feed_state WHERE record_id LIKE '%-l%' GROUP BY record_id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut latencies: Vec<f64> = acked
        .iter()
        .filter_map(|r| {
            let id: String = r.get("record_id");
            let acked: i64 = r.get("acked");
            appeared.get(&id).map(|t| (acked - t) as f64)
        })
        .collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rss = hub.peak_rss_mb();

    let e2e_rate = count as f64 / e2e_seconds;
    let raw_rate = count as f64 / raw_seconds;
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| cases (export files of 1,000) | {count} ({} files, {:.1} MB) |",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("| end-to-end: export file → broker ack | {e2e_rate:.0} cases/s ({:.0} envelopes/s, {e2e_seconds:.1} s) |", bulk_envelopes as f64 / e2e_seconds);
    println!("| raw produce of the same envelopes | {raw_rate:.0} cases/s ({:.0} envelopes/s, {raw_seconds:.1} s) |", envelopes.len() as f64 / raw_seconds);
    println!(
        "| end-to-end / raw produce | {:.0} % |",
        100.0 * e2e_rate / raw_rate
    );
    println!("| latency at {offered:.0} cases/s: p50 / p99 / max | {:.0} ms / {:.0} ms / {:.0} ms ({} cases) |",
        percentile(&latencies, 0.5), percentile(&latencies, 0.99), latencies.last().copied().unwrap_or(f64::NAN), latencies.len());
    println!("| hub peak RSS (VmHWM): after the end-to-end phase / after the latency phase | {e2e_rss:.0} MB / {rss:.0} MB |");
    println!(
        "| CPU during the end-to-end phase: hub / broker | {hub_cpu:.1} s ({:.0} µs per case) / {} |",
        hub_cpu * 1e6 / count as f64,
        broker_cpu.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "not measured (external broker)".into())
    );
    let final_metrics = hub.metrics().await;
    let metric = |name: &str| final_metrics.get(name).copied().unwrap_or(0.0);
    println!(
        "| acknowledgements beyond the envelopes (resends) / delivery failures / task restarts / producer replacements / parked | {} / {} / {} / {} / {} |",
        metric("dhub_records_published_total") as u64 - bulk_envelopes - latency_envelopes,
        metric("dhub_publish_failures_total"),
        metric("dhub_task_restarts_total"),
        metric("dhub_producer_replacements_total"),
        metric("dhub_outbox_parked_total"),
    );
    let per_case = |seconds: f64| seconds * 1e6 / count as f64;
    let thread = |group: &str| {
        threads_after.get(group).copied().unwrap_or(0.0)
            - threads_before.get(group).copied().unwrap_or(0.0)
    };
    let stage = |name: &str| {
        stages_after.get(name).copied().unwrap_or(0.0)
            - stages_before.get(name).copied().unwrap_or(0.0)
    };
    let mut accounted = 0.0;
    for name in ["read_decode", "map", "validate", "redact", "store", "relay"] {
        accounted += stage(name);
        println!(
            "| hub CPU per case: {name} (measured in the stage) | {:.1} µs |",
            per_case(stage(name))
        );
    }
    for group in ["sqlite", "librdkafka"] {
        println!(
            "| hub CPU per case: {group} threads | {:.1} µs |",
            per_case(thread(group))
        );
    }
    println!(
        "| hub CPU per case: the rest (runtime, scheduling, unmeasured) | {:.1} µs |",
        per_case(hub_cpu - accounted - thread("sqlite") - thread("librdkafka"))
    );
    println!("| redaction share of end-to-end wall time | {:.1} % ({redaction_seconds:.2} s of {e2e_seconds:.1} s) |", 100.0 * redaction_seconds / e2e_seconds);
    assert_eq!(
        latencies.len(),
        steady.len(),
        "every latency case was published"
    );
    drop(pool);
    drop(hub);
}

/// Moves freshly written export files of `cases` into the hub's inboxes.
fn feed(hub: &Hub, cases: &[Case], tag: &str) {
    let staged = tempfile::tempdir().unwrap();
    for (path, system) in
        dhub_testkit::write_export_files(cases, staged.path(), tag, 1_000).unwrap()
    {
        std::fs::rename(&path, hub.inbox(system).join(path.file_name().unwrap())).unwrap();
    }
}

/// Phase 4: the throughput phase with the Postgres state store.
async fn postgres_phase(bulk: &[Case], envelopes: u64) {
    let db = match dhub_testkit::fresh_postgres_db().await {
        Ok(db) => db,
        Err(error) => {
            println!("| end-to-end, Postgres state store | not measured: {error:#} |");
            return;
        }
    };
    let hub = Hub::start(HubOptions {
        postgres_url: Some(db.url().to_string()),
        keep_delivered_ms: 0,
        ..HubOptions::default()
    });
    hub.wait_ready().await;
    let cpu_before = hub.cpu_seconds();
    let started = Instant::now();
    feed(&hub, bulk, "pg");
    let finished = hub
        .wait_published(envelopes, Duration::from_secs(1800))
        .await;
    let seconds = (finished - started).as_secs_f64();
    let cpu = hub.cpu_seconds() - cpu_before;
    println!(
        "| end-to-end, Postgres state store | {:.0} cases/s ({:.0} envelopes/s, {seconds:.1} s); hub CPU {:.0} µs per case (Postgres server not included) |",
        bulk.len() as f64 / seconds,
        envelopes as f64 / seconds,
        cpu * 1e6 / bulk.len() as f64
    );
    drop(hub);
    db.drop().await.unwrap();
}

/// Phase 5: rounds of a steady load with immediate pruning; the state database must level off.
async fn prune_phase() {
    let rounds = env_number("DHUB_BENCH_PRUNE_ROUNDS", 8);
    let hub = Hub::start(HubOptions {
        keep_delivered_ms: 0,
        ..HubOptions::default()
    });
    hub.wait_ready().await;
    let pool = sqlx::SqlitePool::connect(&hub.state_url).await.unwrap();
    let mut envelopes = 0;
    let mut sizes = Vec::new();
    for round in 0..rounds {
        let load = cases(10_000, &format!("p{round}"), 20_000_000 + round * 100_000);
        envelopes += envelopes_for(&load);
        feed(&hub, &load, &format!("prune{round}"));
        hub.wait_published(envelopes, Duration::from_secs(600))
            .await;
        // The prune sweep runs every 5 s: wait until it has removed the round's delivered entries.
        let waited = Instant::now();
        loop {
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_entries")
                .fetch_one(&pool)
                .await
                .unwrap();
            if left == 0 || waited.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sizes.push(hub.sqlite_bytes() as f64 / 1e6);
    }
    let sizes: Vec<String> = sizes.iter().map(|mb| format!("{mb:.0}")).collect();
    println!(
        "| state database size (MB, file + WAL) after each of {rounds} rounds of 10,000 cases, pruned as delivered | {} |",
        sizes.join(" → ")
    );
}

/// Phase 6: a broker that never answers, and a backlog of about a million envelopes.
async fn backlog_phase() {
    let target = env_number("DHUB_BENCH_BACKLOG_ENVELOPES", 1_000_000);
    // Port 9 (discard) on loopback: nothing listens, every connection is refused.
    let hub = Hub::start(HubOptions {
        brokers: "127.0.0.1:9".into(),
        ..HubOptions::default()
    });
    hub.wait_serving().await;
    let started = Instant::now();
    let (mut stored_cases, mut envelopes, mut chunk) = (0u64, 0u64, 0u64);
    while envelopes < target {
        // In chunks: the bench itself need not hold a million envelopes' cases in memory.
        let load = cases(20_000, &format!("k{chunk}"), 40_000_000 + chunk * 100_000);
        envelopes += envelopes_for(&load);
        stored_cases += load.len() as u64;
        feed(&hub, &load, &format!("backlog{chunk}"));
        chunk += 1;
    }
    hub.wait_stored(stored_cases, Duration::from_secs(3600))
        .await;
    let stored_seconds = started.elapsed().as_secs_f64();
    let rss_storing = hub.peak_rss_mb();
    // The backlog then waits, as it would for a broker that stays down: long enough for the hub's
    // periodic work (the deadline check runs every minute) to meet every stored record.
    let hold = env_number("DHUB_BENCH_BACKLOG_HOLD_SECONDS", 65);
    tokio::time::sleep(Duration::from_secs(hold)).await;
    let pending = hub
        .metrics()
        .await
        .get("dhub_outbox_pending")
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "| broker down: {stored_cases} cases stored in {stored_seconds:.0} s, {envelopes} envelopes waiting (dhub_outbox_pending {pending:.0}); hub peak RSS while storing / after waiting {hold} s more | {rss_storing:.0} MB / {:.0} MB |",
        hub.peak_rss_mb()
    );
}
