//! Shared harness of the end-to-end tests: a hub config in a temp folder with topics under a unique
//! prefix (so tests never see each other's messages on the shared broker), one reference platform per
//! feed running in-process, and the expected view of each platform computed from the testkit's cases.

#![allow(dead_code)]

pub mod broker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dhub_platform::{PlatformConfig, View};
use dhub_testkit::{Case, System, DEMO_PLATFORMS};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A hub set up in a temp folder: config, inboxes, state.
pub struct HubSetup {
    pub dir: tempfile::TempDir,
    pub prefix: String,
    pub config_path: PathBuf,
    pub listen: u16,
    /// Deletes the feed topics of this hub's prefix when the test ends (see `Drop`).
    cleanup: Option<dhub_testkit::kafka::Cleanup>,
}

impl HubSetup {
    /// `state` is a URL; `None` gives a SQLite file in the temp folder.
    pub fn new(state: Option<&str>) -> HubSetup {
        let dir = tempfile::tempdir().unwrap();
        let prefix = format!("{}.", dhub_testkit::unique_name("t"));
        let listen = free_port();
        let state = state
            .map(str::to_string)
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("state.db").display()));
        let mut text = format!(
            r#"[hub]
state = "{state}"
listen = "127.0.0.1:{listen}"
drain_timeout_ms = 20000

[kafka]
brokers = "{brokers}"
topic_prefix = "{prefix}"
partitions = 2
"#,
            brokers = dhub_testkit::test_brokers()
        );
        for platform in DEMO_PLATFORMS {
            text.push_str(&format!(
                "\n[[platform]]\nname = \"{level}-{division}\"\nlevel = \"{level}\"\ndivision = \"{division}\"\npolicy = \"public\"\n",
                level = platform.level.as_str(),
                division = platform.division
            ));
        }
        for (source, mapping) in [
            ("finance-oa", "finance-oa.toml"),
            ("market-supervision", "market-supervision.toml"),
        ] {
            text.push_str(&format!(
                "\n[[source]]\nname = \"{source}\"\nkind = \"xml_dir\"\nmapping = \"{}\"\npath = \"inbox/{source}\"\npoll_interval_ms = 200\n",
                repo().join("mappings").join(mapping).display()
            ));
        }
        let config_path = dir.path().join("hub.toml");
        std::fs::write(&config_path, text).unwrap();
        for source in ["finance-oa", "market-supervision"] {
            std::fs::create_dir_all(dir.path().join("inbox").join(source)).unwrap();
        }
        let cleanup = dhub_testkit::kafka::Cleanup {
            brokers: dhub_testkit::test_brokers(),
            topics: DEMO_PLATFORMS
                .iter()
                .map(|p| format!("{prefix}{}", p.topic()))
                .collect(),
            groups: Vec::new(),
        };
        HubSetup {
            dir,
            prefix,
            config_path,
            listen,
            cleanup: Some(cleanup),
        }
    }

    pub fn inbox(&self, system: System) -> PathBuf {
        self.dir.path().join("inbox").join(system.source_name())
    }

    pub fn config(&self) -> dhub::config::HubConfig {
        dhub::config::HubConfig::parse(
            &std::fs::read_to_string(&self.config_path).unwrap(),
            &self.config_path,
            &[],
        )
        .unwrap()
    }

    pub fn state_url(&self) -> String {
        self.config().state_url
    }

    /// Copies the demo's sample exports of `stage` (`first` or `second`) into the inboxes, each under
    /// a temporary name first and then renamed: the hub never sees half a file.
    pub fn copy_samples(&self, stage: &str) {
        for system in [System::FinanceOa, System::MarketSupervision] {
            let from = repo()
                .join("mappings/samples")
                .join(system.source_name())
                .join(stage);
            for entry in std::fs::read_dir(&from).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let tmp = self.inbox(system).join(format!(".{name}.part"));
                std::fs::copy(&path, &tmp).unwrap();
                std::fs::rename(&tmp, self.inbox(system).join(name)).unwrap();
            }
        }
    }

    /// The hub's state store (created if the hub has not started yet).
    pub async fn store(&self) -> dhub_store::Store {
        dhub_store::Store::connect(&self.state_url()).await.unwrap()
    }

    /// Moves every `.xml` file of `staged/<source>/` into the hub's inboxes (rename: atomic).
    pub fn deliver(&self, staged: &Path) {
        for system in [System::FinanceOa, System::MarketSupervision] {
            let from = staged.join(system.source_name());
            let Ok(entries) = std::fs::read_dir(&from) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "xml"))
                .collect();
            files.sort();
            for file in files {
                std::fs::rename(&file, self.inbox(system).join(file.file_name().unwrap())).unwrap();
            }
        }
    }
}

/// Feed topic (without prefix) → record ids a platform must show for these cases (latest versions).
pub fn expected_views(cases: &[Case]) -> BTreeMap<String, BTreeSet<String>> {
    DEMO_PLATFORMS
        .iter()
        .map(|platform| {
            let ids = cases
                .iter()
                .filter(|case| {
                    platform.contains(case.division_code())
                        && case.expected_outcome().is_published()
                })
                .map(Case::record_id)
                .collect();
            (platform.topic(), ids)
        })
        .collect()
}

/// One reference platform per demo feed, in-process, each with its own SQLite view.
pub struct Platforms {
    pub views: BTreeMap<String, View>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
    /// Deletes the run's feed topics and the platforms' consumer groups when the test ends: a shared
    /// broker must not fill up with every run's topics (see `Drop`).
    cleanup: Option<dhub_testkit::kafka::Cleanup>,
}

impl Platforms {
    pub async fn start(prefix: &str) -> Platforms {
        Platforms::start_on(prefix, &dhub_testkit::test_brokers()).await
    }

    /// [`Platforms::start`] on the broker at `brokers` (a test's private one).
    pub async fn start_on(prefix: &str, brokers: &str) -> Platforms {
        Platforms::start_with(prefix, brokers, &[]).await
    }

    /// [`Platforms::start_on`] with extra librdkafka properties for the subscribers.
    pub async fn start_with(prefix: &str, brokers: &str, properties: &[(&str, &str)]) -> Platforms {
        dhub_testkit::test_logs();
        let dir = tempfile::tempdir().unwrap();
        let (stop, stopped) = watch::channel(false);
        let mut views = BTreeMap::new();
        let mut tasks = Vec::new();
        let mut cleanup = dhub_testkit::kafka::Cleanup {
            brokers: brokers.to_owned(),
            topics: Vec::new(),
            groups: Vec::new(),
        };
        for platform in DEMO_PLATFORMS {
            let topic = platform.topic();
            let db_url = format!(
                "sqlite://{}",
                dir.path().join(format!("{topic}.db")).display()
            );
            let config = PlatformConfig {
                brokers: brokers.to_owned(),
                topic: format!("{prefix}{topic}"),
                group: {
                    let group = dhub_testkit::unique_name("platform");
                    cleanup.groups.push(group.clone());
                    cleanup.topics.push(format!("{prefix}{topic}"));
                    group
                },
                db_url: db_url.clone(),
                listen: None,
                // librdkafka's own debug contexts for the subscribers (`DHUB_TEST_KAFKA_DEBUG=cgrp`),
                // shown with `DHUB_TEST_LOG=info`.
                kafka_properties: properties
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .chain(
                        std::env::var("DHUB_TEST_KAFKA_DEBUG")
                            .map(|contexts| ("debug".to_string(), contexts)),
                    )
                    .collect(),
                verify_keys: Vec::new(),
                http: dhub_platform::HttpLimits::default(),
                documents_dir: None,
            };
            // Open (and migrate) the view before the subscriber starts, so the two never race to
            // create its tables.
            let view = View::open(&db_url).await.unwrap();
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(error) = dhub_platform::run(config, shutdown).await {
                    panic!("platform subscriber failed: {error}");
                }
            }));
            views.insert(topic, view);
        }
        Platforms {
            views,
            stop,
            tasks,
            _dir: dir,
            cleanup: Some(cleanup),
        }
    }

    pub async fn visible(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut all = BTreeMap::new();
        for (topic, view) in &self.views {
            all.insert(
                topic.clone(),
                view.visible_ids().await.unwrap().into_iter().collect(),
            );
        }
        all
    }

    /// Waits until every view equals `expected`; returns how long it took, or panics with the
    /// difference after `timeout`.
    pub async fn wait_for(
        &self,
        expected: &BTreeMap<String, BTreeSet<String>>,
        timeout: Duration,
    ) -> Duration {
        self.try_wait_for(expected, timeout)
            .await
            .unwrap_or_else(|report| panic!("{report}"))
    }

    /// [`Platforms::wait_for`] that returns the difference instead of panicking (for the controls
    /// that show a check fails when a guarantee is broken on purpose).
    pub async fn try_wait_for(
        &self,
        expected: &BTreeMap<String, BTreeSet<String>>,
        timeout: Duration,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let visible = self.visible().await;
            if &visible == expected {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                let mut report = String::new();
                for (topic, want) in expected {
                    let have = visible.get(topic).cloned().unwrap_or_default();
                    let missing: Vec<_> = want.difference(&have).take(5).collect();
                    let extra: Vec<_> = have.difference(want).take(5).collect();
                    report.push_str(&format!(
                        "\n  {topic}: want {} have {}; missing {missing:?} extra {extra:?}",
                        want.len(),
                        have.len()
                    ));
                }
                return Err(format!(
                    "platform views did not converge within {timeout:?}:{report}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            task.await.unwrap();
        }
    }
}

/// A test that fails while the platforms run stops their subscribers and leaves the topics alone:
/// deleting a topic under a running librdkafka consumer crashed the test process (SIGSEGV in its
/// metadata cache), which lost the failure message. The topics of a failed run stay for inspection.
impl Drop for Platforms {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        keep_topics_of_a_failed_test(&mut self.cleanup);
    }
}

impl Drop for HubSetup {
    fn drop(&mut self) {
        keep_topics_of_a_failed_test(&mut self.cleanup);
    }
}

fn keep_topics_of_a_failed_test(cleanup: &mut Option<dhub_testkit::kafka::Cleanup>) {
    if std::thread::panicking() {
        if let Some(cleanup) = cleanup.take() {
            eprintln!("the test failed; its topics are kept: {:?}", cleanup.topics);
            std::mem::forget(cleanup);
        }
    }
}

/// Reads every message of the run's four feed topics raw and checks them (`dhub_testkit::feed`):
/// keys, headers, version order, identical duplicates, and that the platform rule applied to them
/// shows exactly `expected` — so a record lost on the way, or one sent under two versions, is found
/// under what the views show. Panics with every violation.
pub async fn check_raw_feeds(
    prefix: &str,
    expected: &BTreeMap<String, BTreeSet<String>>,
    order: dhub_testkit::feed::Order,
) -> BTreeMap<String, dhub_testkit::feed::FeedState> {
    check_raw_feeds_on(&dhub_testkit::test_brokers(), prefix, expected, order).await
}

/// [`check_raw_feeds`] on the broker at `brokers`.
pub async fn check_raw_feeds_on(
    brokers: &str,
    prefix: &str,
    expected: &BTreeMap<String, BTreeSet<String>>,
    order: dhub_testkit::feed::Order,
) -> BTreeMap<String, dhub_testkit::feed::FeedState> {
    let brokers = brokers.to_owned();
    let prefix = prefix.to_owned();
    let expected = expected.clone();
    // A minute, and a millisecond more per record expected (a fault run's 100,000 cases are about
    // 260,000 records shown and more messages): the read stops as soon as every feed is complete.
    let records: usize = expected.values().map(BTreeSet::len).sum();
    let timeout = Duration::from_secs(60) + Duration::from_millis(records as u64);
    tokio::task::spawn_blocking(move || {
        dhub_testkit::feed::read_and_check(
            &brokers,
            &prefix,
            &expected,
            "disclosure.v1",
            order,
            timeout,
        )
    })
    .await
    .unwrap()
    .unwrap()
    .unwrap_or_else(|errors| {
        panic!(
            "the raw feeds break CONTRACT §4:\n  {}",
            errors.join("\n  ")
        )
    })
}

/// Every raw message of the run's feed topic `name` (unprefixed), read until `done` holds or 30 s.
pub async fn raw_topic(
    prefix: &str,
    name: &str,
    done: impl Fn(&[dhub_testkit::feed::RawMessage]) -> bool + Send + 'static,
) -> Vec<dhub_testkit::feed::RawMessage> {
    let topic = format!("{prefix}{name}");
    tokio::task::spawn_blocking(move || {
        dhub_testkit::feed::read_topics(
            &dhub_testkit::test_brokers(),
            &[topic],
            Duration::from_secs(30),
            Duration::from_millis(300),
            done,
        )
    })
    .await
    .unwrap()
    .unwrap()
}

/// The hub as a child process (`dhub run`), its stderr in `hub.log` of the setup's folder; killed
/// with SIGKILL when dropped, so a failing test leaves no hub behind.
pub struct HubProcess {
    child: Option<std::process::Child>,
    log: PathBuf,
}

impl HubProcess {
    pub fn start(setup: &HubSetup, env: &[(&str, &str)]) -> HubProcess {
        let log = setup.dir.path().join("hub.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dhub"));
        command
            .args(["run", "--config"])
            .arg(&setup.config_path)
            .env("DHUB_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(file));
        for (key, value) in env {
            command.env(key, value);
        }
        HubProcess {
            child: Some(command.spawn().expect("start dhub run")),
            log,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or_default()
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no chance to drain or clean up.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The exit status if the process has ended (e.g. killed itself at a failure point).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    /// SIGTERM and wait: the graceful stop.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap()
    }

    /// What the hub logged (the test data's reasons name fields and rules, not people).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// GET `http://127.0.0.1:<port><path>`: (status, body); `None` while nothing answers.
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

/// Polls `probe` every 100 ms until it returns `Some`, or panics naming `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the store has recorded every delivery (the broker has everything; its
/// acknowledgements may still be on their way into the store). After `timeout` it panics with what
/// an operator would look at — the queue's head, each feed's mark and backlog, who holds which
/// lease — and `context` (a hub's log, say).
pub async fn every_delivery_recorded(
    store: &dhub_store::Store,
    timeout: Duration,
    context: impl FnOnce() -> String,
) {
    let started = Instant::now();
    while store.pending_count().await.ok() != Some(0) {
        if started.elapsed() > timeout {
            panic!(
                "every delivery is recorded: not within {timeout:?}\n{}\n{}",
                delivery_state(store).await,
                context()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn delivery_state(store: &dhub_store::Store) -> String {
    let mut lines = vec![format!("queue head: {:?}", store.head_seq().await)];
    if let Ok(marks) = store.feed_marks().await {
        for (platform, mark) in marks {
            lines.push(format!(
                "feed {platform}: mark {mark}, backlog {:?}",
                store.backlog(&platform).await
            ));
        }
    }
    if let Ok(leases) = store.leases().await {
        for lease in leases {
            lines.push(format!(
                "lease {} held by {} until {}",
                lease.name, lease.holder, lease.expires_at_ms
            ));
        }
    }
    lines.join("\n")
}

/// Runs the hub in-process until the returned sender is set.
pub fn start_hub_in_process(
    config: dhub::config::HubConfig,
) -> (watch::Sender<bool>, JoinHandle<anyhow::Result<()>>) {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(dhub::hub::run(config, async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    (stop, task)
}
