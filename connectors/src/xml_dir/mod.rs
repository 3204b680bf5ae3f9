//! `xml_dir`: watches a folder of XML exports.
//!
//! A file is read whole, split into records and mapped by the source's mapping, then submitted to the
//! sink as one batch. Only after the sink answered that the batch is durably stored does the file move
//! to `done/`; a file that cannot be parsed (bad XML, bytes invalid in the declared encoding, no records)
//! moves to `failed/` with a `.reason` file naming the file and line. A crash at any point leaves the file
//! in the folder or in `done/`: re-reading it after a restart stores nothing new, because unchanged
//! records are recognised by their content hash.
//!
//! Files are taken in name order, one at a time, so a revoking export named after the first is applied
//! after it.

pub mod config;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use dhub_mapping::{MapContext, Mapping};
use dhub_schema::intake::{IntakeBatch, IntakeSink};
use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

pub use config::XmlDirConfig;

use crate::ConnectorEvents;

/// Folders of one `xml_dir` source, resolved against the config file's directory.
#[derive(Debug, Clone)]
pub struct XmlDirPaths {
    pub inbox: PathBuf,
    pub done: PathBuf,
    pub failed: PathBuf,
}

impl XmlDirPaths {
    pub fn resolve(config: &XmlDirConfig, base_dir: &Path) -> XmlDirPaths {
        let inbox = base_dir.join(&config.path);
        XmlDirPaths {
            done: config
                .done_dir
                .as_ref()
                .map(|d| base_dir.join(d))
                .unwrap_or_else(|| inbox.join("done")),
            failed: config
                .failed_dir
                .as_ref()
                .map(|d| base_dir.join(d))
                .unwrap_or_else(|| inbox.join("failed")),
            inbox,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum XmlDirError {
    #[error(
        "cannot prepare folder {path}: {source}; check that it exists and the hub may write to it"
    )]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct XmlDirConnector<S: IntakeSink> {
    pub name: String,
    pub paths: XmlDirPaths,
    pub mapping: Arc<Mapping>,
    pub sink: Arc<S>,
    pub events: Arc<dyn ConnectorEvents>,
    pub poll_interval: Duration,
    pub settle: Duration,
    pub extensions: Vec<String>,
}

/// A file read and mapped, ready to store.
enum Mapped {
    Batch(Result<IntakeBatch, String>),
    Unreadable,
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    Done {
        records: usize,
    },
    Failed {
        reason: String,
    },
    /// Shutdown came while the sink was unavailable: the file stays where it is for the next start.
    LeftInPlace,
}

impl<S: IntakeSink> XmlDirConnector<S> {
    pub fn new(
        config: &XmlDirConfig,
        base_dir: &Path,
        mapping: Arc<Mapping>,
        sink: Arc<S>,
        events: Arc<dyn ConnectorEvents>,
    ) -> XmlDirConnector<S> {
        XmlDirConnector {
            name: config.name.clone(),
            paths: XmlDirPaths::resolve(config, base_dir),
            mapping,
            sink,
            events,
            poll_interval: Duration::from_millis(config.poll_interval_ms.max(10)),
            settle: Duration::from_millis(config.settle_ms),
            extensions: config
                .extensions
                .iter()
                .map(|e| e.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Creates the folders if they are missing.
    pub fn prepare(&self) -> Result<(), XmlDirError> {
        for path in [&self.paths.inbox, &self.paths.done, &self.paths.failed] {
            std::fs::create_dir_all(path).map_err(|source| XmlDirError::Folder {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Watches the folder until `shutdown` turns true. The file being processed when shutdown comes is
    /// finished first (its batch is either stored and acknowledged, or left in place).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), XmlDirError> {
        self.prepare()?;
        let (event_tx, mut event_rx) = mpsc::channel::<()>(1);
        // The watcher only wakes the loop; the loop always rescans the folder, so a lost or coalesced
        // event costs at most one poll interval.
        let mut watcher =
            notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
                let _ = event_tx.try_send(());
            })
            .ok();
        if let Some(watcher) = watcher.as_mut() {
            if watcher
                .watch(&self.paths.inbox, RecursiveMode::NonRecursive)
                .is_err()
            {
                tracing::warn!(source = %self.name, "cannot watch the folder for events; polling only");
            }
        }
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let next_wait = match self.scan_once(&shutdown).await {
                Some(settle_wait) => settle_wait.min(self.poll_interval),
                None => self.poll_interval,
            };
            tokio::select! {
                _ = event_rx.recv() => {}
                _ = tokio::time::sleep(next_wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Processes every ready file once, in name order. While one file's records are being stored,
    /// the next file is already read and mapped on a blocking thread, so parsing and the state
    /// store's writes overlap. Returns how long until a too-young file settles.
    pub async fn scan_once(&self, shutdown: &watch::Receiver<bool>) -> Option<Duration> {
        let (ready, wait) = self.ready_files();
        let mut next = ready.first().map(|path| self.read_and_map(path));
        for (i, path) in ready.iter().enumerate() {
            let Some(current) = next.take() else { break };
            if *shutdown.borrow() {
                break;
            }
            next = ready.get(i + 1).map(|path| self.read_and_map(path));
            self.store_and_move(path, current.await, shutdown).await;
        }
        wait
    }

    fn ready_files(&self) -> (Vec<PathBuf>, Option<Duration>) {
        let Ok(entries) = std::fs::read_dir(&self.paths.inbox) else {
            return (Vec::new(), None);
        };
        let now = SystemTime::now();
        let mut ready = Vec::new();
        let mut wait: Option<Duration> = None;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') || !self.wanted(&path) {
                continue;
            }
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            let age = metadata
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age < self.settle {
                let remaining = self.settle - age;
                wait = Some(wait.map_or(remaining, |w| w.min(remaining)));
                continue;
            }
            ready.push(path);
        }
        ready.sort();
        (ready, wait)
    }

    fn wanted(&self, path: &Path) -> bool {
        path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            self.extensions
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(e))
        })
    }

    /// Reads, maps and submits one file, then moves it to `done/` or `failed/`.
    pub async fn process_file(&self, path: &Path, shutdown: &watch::Receiver<bool>) -> FileOutcome {
        let mapped = self.read_and_map(path).await;
        self.store_and_move(path, mapped, shutdown).await
    }

    /// Reads and maps a file on a blocking thread (parsing is CPU work).
    fn read_and_map(&self, path: &Path) -> tokio::task::JoinHandle<Mapped> {
        let mapping = self.mapping.clone();
        let source = self.name.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let origin = path.display().to_string();
            match std::fs::read(&path) {
                Ok(bytes) => Mapped::Batch(map_document(&mapping, &source, &bytes, &origin)),
                // Gone (another process took it) or unreadable now: the next scan will see.
                Err(_) => Mapped::Unreadable,
            }
        })
    }

    async fn store_and_move(
        &self,
        path: &Path,
        mapped: Result<Mapped, tokio::task::JoinError>,
        shutdown: &watch::Receiver<bool>,
    ) -> FileOutcome {
        let batch = match mapped {
            Ok(Mapped::Batch(Ok(batch))) => batch,
            Ok(Mapped::Batch(Err(reason))) => return self.set_aside(path, reason).await,
            Ok(Mapped::Unreadable) => return FileOutcome::LeftInPlace,
            Err(_) => {
                return self
                    .set_aside(path, format!("{}: the mapping task failed", path.display()))
                    .await
            }
        };
        let records = batch.items.len();
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(10))
            .without_max_times()
            .build();
        loop {
            match self.sink.submit(batch.clone()).await {
                Ok(_) => break,
                Err(error) if error.retryable => {
                    self.events.retrying(&self.name, &error.message);
                    if *shutdown.borrow() {
                        return FileOutcome::LeftInPlace;
                    }
                    tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(10))).await;
                }
                Err(error) => {
                    return self
                        .set_aside(
                            path,
                            format!(
                                "{}: the hub could not store it: {}",
                                path.display(),
                                error.message
                            ),
                        )
                        .await;
                }
            }
        }
        match move_into(path, &self.paths.done).await {
            Ok(_) => {
                self.events.document_done(&self.name, records);
                FileOutcome::Done { records }
            }
            Err(error) => {
                // Stored but not moved: it will be read again and found unchanged.
                tracing::warn!(source = %self.name, file = %path.display(), %error, "stored but could not move to done/");
                FileOutcome::Done { records }
            }
        }
    }

    async fn set_aside(&self, path: &Path, reason: String) -> FileOutcome {
        self.events.document_failed(&self.name, &reason);
        match move_into(path, &self.paths.failed).await {
            Ok(target) => {
                let mut reason_path = target.into_os_string();
                reason_path.push(".reason");
                if let Err(error) = tokio::fs::write(&reason_path, format!("{reason}\n")).await {
                    tracing::warn!(source = %self.name, %error, "cannot write the .reason file");
                }
            }
            Err(error) => {
                tracing::warn!(source = %self.name, file = %path.display(), %error, "cannot move to failed/");
            }
        }
        FileOutcome::Failed { reason }
    }
}

/// Parses and maps one document. `Err` is a reason naming the file (and line) for `failed/`.
pub fn map_document(
    mapping: &Mapping,
    source: &str,
    bytes: &[u8],
    origin: &str,
) -> Result<IntakeBatch, String> {
    let records = mapping
        .read_document(bytes, origin)
        .map_err(|error| error.to_string())?;
    let context = MapContext {
        source_name: source.to_string(),
        fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let items = records
        .iter()
        .map(|record| crate::to_intake(mapping, source, record, &context))
        .collect();
    let position = Path::new(origin)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    Ok(IntakeBatch {
        source: source.to_string(),
        mapping_name: mapping.name().to_string(),
        mapping_version: mapping.version().to_string(),
        items,
        position,
    })
}

/// Moves a file into a folder, keeping its name; a name already taken there gets a numeric suffix, so
/// an export re-sent under the same name never overwrites the earlier one.
async fn move_into(path: &Path, folder: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let mut target = folder.join(&name);
    let mut n = 1;
    while tokio::fs::try_exists(&target).await.unwrap_or(false) {
        let mut numbered = name.clone();
        numbered.push(format!(".{n}"));
        target = folder.join(numbered);
        n += 1;
    }
    tokio::fs::rename(path, &target).await?;
    // The rename must survive a crash before the next file is taken.
    if let Ok(dir) = tokio::fs::File::open(folder).await {
        let _ = dir.sync_all().await;
    }
    Ok(target)
}
