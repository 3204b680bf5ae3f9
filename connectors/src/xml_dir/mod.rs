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
        let mut delays =
            dhub_support::retry::delays(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            match self.sink.submit(batch.clone()).await {
                Ok(_) => break,
                Err(error) if error.retryable => {
                    self.events.retrying(&self.name, &error.message);
                    if *shutdown.borrow() {
                        return FileOutcome::LeftInPlace;
                    }
                    tokio::time::sleep(delays.next_delay()).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use dhub_schema::intake::{IntakeError, IntakeSummary};
    use std::sync::Mutex;
    use std::time::SystemTime;

    /// A sink that keeps what it is given, or refuses it.
    #[derive(Default)]
    struct RecordingSink {
        batches: Mutex<Vec<IntakeBatch>>,
        refuse: bool,
    }

    impl IntakeSink for RecordingSink {
        async fn submit(&self, batch: IntakeBatch) -> Result<IntakeSummary, IntakeError> {
            if self.refuse {
                return Err(IntakeError {
                    message: "constraint violated".into(),
                    retryable: false,
                });
            }
            let accepted = batch.items.len();
            self.batches.lock().unwrap().push(batch);
            Ok(IntakeSummary {
                accepted,
                ..IntakeSummary::default()
            })
        }
    }

    struct Quiet;
    impl ConnectorEvents for Quiet {
        fn document_done(&self, _: &str, _: usize) {}
        fn document_failed(&self, _: &str, _: &str) {}
        fn retrying(&self, _: &str, _: &str) {}
    }

    fn connector(
        dir: &Path,
        sink: Arc<RecordingSink>,
        settle_ms: u64,
    ) -> XmlDirConnector<RecordingSink> {
        let mapping_path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/finance-oa.toml");
        let config = XmlDirConfig {
            name: "finance-oa".into(),
            mapping: mapping_path.clone(),
            path: "inbox".into(),
            done_dir: None,
            failed_dir: None,
            poll_interval_ms: 1000,
            settle_ms,
            extensions: vec!["xml".into()],
        };
        let mapping = Arc::new(Mapping::load(&mapping_path).unwrap());
        let connector = XmlDirConnector::new(&config, dir, mapping, sink, Arc::new(Quiet));
        connector.prepare().unwrap();
        connector
    }

    fn aged(path: &Path, seconds: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(seconds))
            .unwrap();
    }

    const EXPORT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n  <案件 编号=\"K1\"><类别>行政处罚</类别></案件>\n</执法信息导出>\n";

    #[test]
    fn only_settled_export_files_are_ready_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let connector = connector(dir.path(), Arc::default(), 10_000);
        let inbox = dir.path().join("inbox");
        for name in [
            "b.xml",
            "a.XML",
            ".hidden.xml",
            "c.xml.tmp",
            "notes.txt",
            "young.xml",
        ] {
            std::fs::write(inbox.join(name), EXPORT).unwrap();
            if name != "young.xml" {
                aged(&inbox.join(name), 60);
            }
        }
        let (ready, wait) = connector.ready_files();
        let names: Vec<_> = ready
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["a.XML", "b.xml"],
            "hidden, temporary, other and half-written files wait"
        );
        assert!(
            wait.is_some_and(|w| w <= Duration::from_secs(10)),
            "rescans when the young file settles"
        );
    }

    #[tokio::test]
    async fn a_stored_file_moves_to_done_and_a_name_taken_there_gets_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(RecordingSink::default());
        let connector = connector(dir.path(), sink.clone(), 0);
        let (_stop, shutdown) = watch::channel(false);
        for _ in 0..2 {
            let path = dir.path().join("inbox/export.xml");
            std::fs::write(&path, EXPORT).unwrap();
            assert_eq!(
                connector.process_file(&path, &shutdown).await,
                FileOutcome::Done { records: 1 }
            );
        }
        assert!(dir.path().join("inbox/done/export.xml").exists());
        assert!(dir.path().join("inbox/done/export.xml.1").exists());
        let batches = sink.batches.lock().unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].position.as_deref(), Some("export.xml"));
        assert_eq!(batches[0].mapping_name, "finance-oa");
    }

    #[tokio::test]
    async fn a_file_the_hub_cannot_store_is_set_aside_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(RecordingSink {
            refuse: true,
            ..RecordingSink::default()
        });
        let connector = connector(dir.path(), sink, 0);
        let (_stop, shutdown) = watch::channel(false);
        let path = dir.path().join("inbox/export.xml");
        std::fs::write(&path, EXPORT).unwrap();
        let outcome = connector.process_file(&path, &shutdown).await;
        assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
        let reason =
            std::fs::read_to_string(dir.path().join("inbox/failed/export.xml.reason")).unwrap();
        assert!(
            reason.contains("export.xml: the hub could not store it: constraint violated"),
            "{reason}"
        );
    }
}
