//! A folder of export files, the engine behind `xml_dir` and `spreadsheet`.
//!
//! A file's life: it lands in the inbox; once it has not been written to for `settle_ms` (its
//! modification time is that old) it is **claimed** (renamed into `<inbox>/.work/`, so a department re-sending a file of
//! the same name does not touch the one being read); it is read (never more than `max_file_bytes`),
//! split into records and mapped by the source's mapping, then submitted to the sink as one batch.
//! Only after the sink answered that the batch is durably stored, and the file is still exactly the
//! one that was read (same size, modification time and inode: a file rewritten in place while it was
//! stored is read again, never moved unread), does it move to `done/`. A file that cannot be read
//! (bad XML, bytes invalid in the declared encoding, too large, no records) moves to `failed/` with a
//! `.reason` file naming file and line.
//!
//! A crash at any point leaves the file in the inbox, in `.work/` (taken up first at the next start)
//! or in `done/`: reading it again stores nothing new, because unchanged records are recognised by
//! their content hash. A move that fails (another file system: copy, fsync, unlink; permissions) is
//! retried with a growing delay, never in a tight loop, while the other files go on.
//!
//! Files are taken in name order, one at a time, so a revoking export named after the first is
//! applied after it. While one file's records are stored, the next is already read and mapped.

pub mod config;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dhub_mapping::{Mapping, ReadLimits};
use dhub_schema::intake::{IntakeBatch, IntakeSink, Position};
use dhub_support::cpu::{self, Stage};
use dhub_support::retry;
use futures::future::BoxFuture;
use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

pub use config::FolderConfig;

use crate::context::{ConnectorEvents, SourceContext};
use crate::documents::LocalDocuments;
use crate::limits::LimitsConfig;
use crate::mapped::{file_origin, map_context, to_intake_with};
use crate::{Connector, ConnectorError};

/// The hidden folder inside the inbox where claimed files are read (same file system, so the claim is
/// an atomic rename).
const WORK_DIR: &str = ".work";

/// How often a file that keeps changing while it is read is read again before it is set aside.
const MAX_REREADS: u32 = 5;

/// Folders of one folder source, resolved against the config file's directory.
#[derive(Debug, Clone)]
pub struct FolderPaths {
    pub inbox: PathBuf,
    pub work: PathBuf,
    pub done: PathBuf,
    pub failed: PathBuf,
}

impl FolderPaths {
    pub fn resolve(config: &FolderConfig, base_dir: &Path) -> FolderPaths {
        let inbox = base_dir.join(&config.path);
        FolderPaths {
            work: inbox.join(WORK_DIR),
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

    /// Creates the folders if they are missing.
    pub fn prepare(&self) -> Result<(), ConnectorError> {
        for path in [&self.inbox, &self.work, &self.done, &self.failed] {
            std::fs::create_dir_all(path).map_err(|error| {
                ConnectorError::retryable(format!(
                    "cannot prepare folder {}: {error}; check that it exists and the hub may write to it",
                    path.display()
                ))
            })?;
        }
        Ok(())
    }
}

/// A folder source, ready to run.
pub struct FolderConnector {
    pub paths: FolderPaths,
    pub poll_interval: Duration,
    pub settle: Duration,
    pub extensions: Vec<String>,
    pub max_file_bytes: u64,
    /// What one file may hold (`[source.limits]`, with `max_file_bytes` as the document size).
    pub limits: ReadLimits,
}

impl FolderConnector {
    /// Reads within the source's `[source.limits]`.
    pub fn within(mut self, limits: &LimitsConfig) -> FolderConnector {
        self.limits = limits.read_limits(self.max_file_bytes);
        self
    }

    /// `default_extensions` apply when the config names none.
    pub fn new(
        config: &FolderConfig,
        base_dir: &Path,
        default_extensions: &[&str],
    ) -> FolderConnector {
        let extensions = match &config.extensions {
            Some(listed) => listed.iter().map(|e| e.to_ascii_lowercase()).collect(),
            None => default_extensions.iter().map(|e| e.to_string()).collect(),
        };
        FolderConnector {
            paths: FolderPaths::resolve(config, base_dir),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            settle: Duration::from_millis(config.settle_ms),
            extensions,
            max_file_bytes: config.max_file_bytes,
            limits: LimitsConfig::default().read_limits(config.max_file_bytes),
        }
    }
}

impl Connector for FolderConnector {
    fn run(
        self: Box<Self>,
        context: SourceContext,
    ) -> BoxFuture<'static, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.paths.prepare()?;
            let folder = Folder {
                name: context.name.clone(),
                paths: self.paths.clone(),
                mapping: context.mapping.clone(),
                sink: context.sink.clone(),
                events: context.events.clone(),
                settle: self.settle,
                extensions: self.extensions.clone(),
                max_file_bytes: self.max_file_bytes,
                limits: self.limits,
                stuck: HashMap::new(),
            };
            folder.watch(self.poll_interval, context.shutdown).await;
            Ok(())
        })
    }
}

/// The running state of one folder source.
pub struct Folder {
    pub name: String,
    pub paths: FolderPaths,
    pub mapping: Arc<Mapping>,
    pub sink: Arc<dyn IntakeSink>,
    pub events: Arc<dyn ConnectorEvents>,
    pub settle: Duration,
    pub extensions: Vec<String>,
    pub max_file_bytes: u64,
    /// What one file may hold; its `max_document_bytes` is `max_file_bytes`.
    pub limits: ReadLimits,
    /// Files in `.work/` whose move to `done/` or `failed/` failed: tried again later.
    stuck: HashMap<PathBuf, Stuck>,
}

/// A move to retry, with a growing delay so a folder that stays unwritable is not hammered.
struct Stuck {
    to: PathBuf,
    /// The `.reason` to write beside a file set aside.
    reason: Option<String>,
    at: Instant,
    delays: retry::Delays,
}

/// What identifies one version of a file: a rewrite in place changes at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(metadata: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(metadata);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }
    }
}

/// A file read and mapped, ready to store.
enum Read {
    Batch {
        batch: IntakeBatch,
        stamp: FileStamp,
    },
    /// Cannot be read as an export: goes to `failed/` with this reason.
    Refused(String),
    /// Gone or unreadable for now (another process took it, a permission to be fixed): left in place.
    Unavailable(String),
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
    /// Shutdown came while the sink was unavailable, or the file could not be read or moved now: it
    /// stays where it is and is taken up again later.
    LeftInPlace,
}

impl Folder {
    /// A folder engine over `paths` (tests and the connector).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        paths: FolderPaths,
        mapping: Arc<Mapping>,
        sink: Arc<dyn IntakeSink>,
        events: Arc<dyn ConnectorEvents>,
        settle: Duration,
        extensions: Vec<String>,
        max_file_bytes: u64,
    ) -> Folder {
        Folder {
            name: name.to_string(),
            paths,
            mapping,
            sink,
            events,
            settle,
            extensions,
            max_file_bytes,
            limits: LimitsConfig::default().read_limits(max_file_bytes),
            stuck: HashMap::new(),
        }
    }

    /// Reads within `limits` (`[source.limits]`), keeping `max_file_bytes` as the file size limit.
    pub fn with_limits(mut self, limits: &LimitsConfig) -> Folder {
        self.limits = limits.read_limits(self.max_file_bytes);
        self
    }

    /// Watches the folder until `shutdown` turns true. The file being processed when shutdown comes is
    /// finished first (its batch is either stored and acknowledged, or left in place).
    pub async fn watch(mut self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let (event_tx, mut event_rx) = mpsc::channel::<()>(1);
        // The watcher only wakes the loop; the loop always rescans the folder, so a lost or coalesced
        // event costs at most one poll interval.
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|event| wakes_the_scan(&event.kind)) {
                    let _ = event_tx.try_send(());
                }
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
                return;
            }
            let next_wait = match self.scan_once(&shutdown).await {
                Some(wait) => wait.min(poll_interval),
                None => poll_interval,
            };
            tokio::select! {
                _ = event_rx.recv() => {}
                _ = tokio::time::sleep(next_wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Processes every ready file once, in name order: first what an earlier run claimed and did not
    /// finish, then the inbox's settled files. Returns how long until a file not yet settled (or a
    /// stuck move) is due.
    pub async fn scan_once(&mut self, shutdown: &watch::Receiver<bool>) -> Option<Duration> {
        self.retry_stuck_moves().await;
        self.report_lag();
        let (settled, settle_wait) = self.settled_files();
        for path in settled {
            if let Err(error) = claim(&path, &self.paths.work).await {
                // Gone (another process took it) or not ours to rename: the next scan will see.
                tracing::warn!(source = %self.name, file = %path.display(), %error, "cannot claim the file; will look again");
            }
        }
        let claimed: Vec<PathBuf> = claimed_files(&self.paths.work)
            .into_iter()
            .filter(|path| !self.stuck.contains_key(path))
            .collect();
        let mut next = claimed.first().map(|path| self.read_and_map(path));
        for (i, path) in claimed.iter().enumerate() {
            let Some(current) = next.take() else { break };
            if *shutdown.borrow() {
                break;
            }
            next = claimed.get(i + 1).map(|path| self.read_and_map(path));
            let read = current.await.unwrap_or_else(|_| {
                Read::Refused(format!("{}: the mapping task failed", path.display()))
            });
            self.store_and_move(path, read, shutdown).await;
        }
        self.report_lag();
        earliest(settle_wait, self.next_stuck_move())
    }

    /// The source lag: the age of the oldest export waiting in the inbox or claimed and not yet
    /// stored (its modification time), zero when none waits.
    fn report_lag(&self) {
        let now = SystemTime::now();
        let waiting = self
            .wanted_files(&self.paths.inbox)
            .into_iter()
            .chain(claimed_files(&self.paths.work));
        let lag = waiting
            .filter_map(|path| std::fs::metadata(path).ok()?.modified().ok())
            .filter_map(|modified| now.duration_since(modified).ok())
            .max()
            .unwrap_or_default();
        self.events.source_lag(&self.name, lag);
    }

    /// Inbox files not written to for `settle` (their modification time is that old), in name order,
    /// and how long until the next one settles. A writer still writing keeps moving the
    /// modification time, so a half-written export is waited for; a file renamed in whole keeps its
    /// (older) time and is taken at once.
    fn settled_files(&mut self) -> (Vec<PathBuf>, Option<Duration>) {
        let mut ready = Vec::new();
        let mut wait = None;
        let now = SystemTime::now();
        for path in self.wanted_files(&self.paths.inbox) {
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            // A time in the future (a clock set back) counts as just written.
            let age = metadata
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .unwrap_or_default();
            if age >= self.settle {
                ready.push(path);
            } else {
                wait = earliest(wait, Some(self.settle - age));
            }
        }
        (ready, wait)
    }

    /// Wanted files directly in `folder` (not hidden, not an Office lock file, a wanted
    /// extension), in name order.
    fn wanted_files(&self, folder: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.path())
            .filter(|path| {
                // `~$name.xlsx` is the lock file Excel and WPS keep beside a workbook that is
                // open on a shared folder: never an export.
                let hidden = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_none_or(|n| n.starts_with('.') || n.starts_with("~$"));
                !hidden && self.wanted(path)
            })
            .collect();
        files.sort();
        files
    }

    fn wanted(&self, path: &Path) -> bool {
        path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            self.extensions
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(e))
        })
    }

    /// Claims, reads, maps and submits one inbox file, then moves it to `done/` or `failed/`.
    pub async fn process_file(
        &mut self,
        path: &Path,
        shutdown: &watch::Receiver<bool>,
    ) -> FileOutcome {
        let claimed = match claim(path, &self.paths.work).await {
            Ok(claimed) => claimed,
            Err(_) => return FileOutcome::LeftInPlace,
        };
        let read = self.read_and_map(&claimed).await.unwrap_or_else(|_| {
            Read::Refused(format!("{}: the mapping task failed", path.display()))
        });
        self.store_and_move(&claimed, read, shutdown).await
    }

    /// Reads (at most `max_file_bytes`) and maps a claimed file on a blocking thread (parsing is CPU
    /// work).
    fn read_and_map(&self, path: &Path) -> tokio::task::JoinHandle<Read> {
        let mapping = self.mapping.clone();
        let source = self.name.clone();
        let path = path.to_path_buf();
        let limits = ReadLimits {
            max_document_bytes: self.max_file_bytes,
            ..self.limits
        };
        let inbox = self.paths.inbox.clone();
        tokio::task::spawn_blocking(move || read_file(&mapping, &source, &path, &limits, &inbox))
    }

    async fn store_and_move(
        &mut self,
        path: &Path,
        read: Read,
        shutdown: &watch::Receiver<bool>,
    ) -> FileOutcome {
        let mut read = read;
        let mut rereads = 0;
        loop {
            let (batch, stamp) = match read {
                Read::Batch { batch, stamp } => (batch, stamp),
                Read::Refused(reason) => return self.set_aside(path, reason).await,
                Read::Unavailable(error) => {
                    tracing::warn!(source = %self.name, file = %path.display(), error, "cannot read the file now; will try again");
                    return FileOutcome::LeftInPlace;
                }
            };
            let records = batch.items.len();
            // A deliberately broken order for the crash tests' control: acknowledge first, then die
            // before storing — the loss their checks must find.
            if dhub_support::failpoint::enabled("bug.ack_before_store") {
                let _ = move_into(path, &self.paths.done).await;
                dhub_support::failpoint::kill_self();
            }
            if let Some(outcome) = self.submit(Arc::new(batch), path, shutdown).await {
                return outcome;
            }
            // Stored and committed, not yet acknowledged (moved to done/).
            dhub_support::failpoint::hit("source.after_store");
            // The batch is stored. Is the file still the one that was read?
            match std::fs::metadata(path) {
                Ok(metadata) if FileStamp::of(&metadata) == stamp => {
                    return self.finish(path, records).await;
                }
                Ok(_) if rereads < MAX_REREADS => {
                    rereads += 1;
                    tracing::warn!(source = %self.name, file = %path.display(), "the file changed while it was stored; reading it again");
                    read = self.read_and_map(path).await.unwrap_or_else(|_| {
                        Read::Refused(format!("{}: the mapping task failed", path.display()))
                    });
                }
                Ok(_) => {
                    let reason = format!(
                        "{}: the file kept changing while it was read ({MAX_REREADS} times); write it under another name and rename it into the folder when complete",
                        path.display()
                    );
                    return self.set_aside(path, reason).await;
                }
                // Gone after storing: whoever removed it had it; what was read is stored.
                Err(_) => {
                    self.events.document_done(&self.name, records);
                    return FileOutcome::Done { records };
                }
            }
        }
    }

    /// Submits until stored (`None`), or until shutdown came first (the file stays claimed for the
    /// next start) or the sink refused the batch for good (the file is set aside).
    async fn submit(
        &mut self,
        batch: Arc<IntakeBatch>,
        path: &Path,
        shutdown: &watch::Receiver<bool>,
    ) -> Option<FileOutcome> {
        let mut delays = retry::delays(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            match self.sink.submit(batch.clone()).await {
                Ok(_) => return None,
                Err(error) if error.retryable => {
                    self.events.retrying(&self.name, &error.message);
                    if *shutdown.borrow() {
                        return Some(FileOutcome::LeftInPlace);
                    }
                    tokio::time::sleep(delays.next_delay()).await;
                }
                Err(error) => {
                    let reason = format!(
                        "{}: the hub could not store it: {}",
                        path.display(),
                        error.message
                    );
                    return Some(self.set_aside(path, reason).await);
                }
            }
        }
    }

    /// Moves a stored file to `done/`; a failed move is retried later with a growing delay.
    async fn finish(&mut self, path: &Path, records: usize) -> FileOutcome {
        match move_into(path, &self.paths.done).await {
            Ok(_) => {
                self.events.document_done(&self.name, records);
                FileOutcome::Done { records }
            }
            Err(error) => {
                self.events.retrying(
                    &self.name,
                    &format!(
                        "{} is stored but cannot be moved to {}: {error}; will try again",
                        path.display(),
                        self.paths.done.display()
                    ),
                );
                self.stuck_move(path, self.paths.done.clone(), None);
                FileOutcome::LeftInPlace
            }
        }
    }

    fn stuck_move(&mut self, path: &Path, to: PathBuf, reason: Option<String>) {
        let mut delays = retry::delays(Duration::from_secs(1), Duration::from_secs(300));
        let at = Instant::now() + delays.next_delay();
        self.stuck.insert(
            path.to_path_buf(),
            Stuck {
                to,
                reason,
                at,
                delays,
            },
        );
    }

    /// How long until the next stuck move is due.
    fn next_stuck_move(&self) -> Option<Duration> {
        self.stuck
            .values()
            .map(|stuck| stuck.at.saturating_duration_since(Instant::now()))
            .min()
    }

    /// Tries again the moves that are due.
    async fn retry_stuck_moves(&mut self) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .stuck
            .iter()
            .filter(|(_, stuck)| stuck.at <= now)
            .map(|(path, _)| path.clone())
            .collect();
        for path in due {
            let Some(stuck) = self.stuck.get_mut(&path) else {
                continue;
            };
            if !path.exists() {
                self.stuck.remove(&path);
                continue;
            }
            match move_into(&path, &stuck.to).await {
                Ok(target) => {
                    if let Some(reason) = &stuck.reason {
                        write_reason(&target, reason).await;
                    }
                    self.stuck.remove(&path);
                }
                Err(error) => {
                    let delay = stuck.delays.next_delay();
                    stuck.at = Instant::now() + delay;
                    let message = format!(
                        "{} still cannot be moved to {}: {error}; next try in {} s",
                        path.display(),
                        stuck.to.display(),
                        delay.as_secs()
                    );
                    self.events.retrying(&self.name, &message);
                }
            }
        }
    }

    async fn set_aside(&mut self, path: &Path, reason: String) -> FileOutcome {
        self.events.document_failed(&self.name, &reason);
        match move_into(path, &self.paths.failed).await {
            Ok(target) => {
                if !write_reason(&target, &reason).await {
                    self.events.retrying(
                        &self.name,
                        &format!("cannot write {}.reason", target.display()),
                    );
                }
            }
            Err(error) => {
                self.events.retrying(
                    &self.name,
                    &format!(
                        "{} cannot be moved to {}: {error}; it stays in {}",
                        path.display(),
                        self.paths.failed.display(),
                        self.paths.work.display()
                    ),
                );
                self.stuck_move(path, self.paths.failed.clone(), Some(reason.clone()));
            }
        }
        FileOutcome::Failed { reason }
    }
}

/// Writes `<file>.reason` beside a file set aside; `false` if it could not be written.
async fn write_reason(target: &Path, reason: &str) -> bool {
    let mut reason_path = target.as_os_str().to_owned();
    reason_path.push(".reason");
    tokio::fs::write(&reason_path, format!("{reason}\n"))
        .await
        .is_ok()
}

/// Whether a file-system event can mean a new or finished export. Opening and reading (the scan's
/// own `read_dir`, reading a file) are access events: waking on them made every scan trigger the
/// next one, a loop that burned most of the hub's CPU while files were waiting.
fn wakes_the_scan(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Every file in the work folder, in name order: all were claimed by this source (a second claim of
/// one name is numbered `name.1`, which sorts after it).
fn claimed_files(work: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(work) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && !n.ends_with(".part"))
        })
        .collect();
    files.sort();
    files
}

/// Reads a claimed file (refusing one over `limit` before reading it) and maps its records.
fn read_file(
    mapping: &Mapping,
    source: &str,
    path: &Path,
    limits: &ReadLimits,
    inbox: &Path,
) -> Read {
    let limit = limits.max_document_bytes;
    use std::io::Read as _;
    let shown = path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => return Read::Unavailable(error.to_string()),
    };
    if metadata.len() > limit {
        return Read::Refused(format!(
            "{shown}: the file is {} bytes, over the source's limit of {limit} bytes (max_file_bytes); raise it if this export is genuine",
            metadata.len()
        ));
    }
    let stamp = FileStamp::of(&metadata);
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    let opened =
        std::fs::File::open(path).and_then(|file| file.take(limit + 1).read_to_end(&mut bytes));
    if let Err(error) = opened {
        return Read::Unavailable(error.to_string());
    }
    if bytes.len() as u64 > limit {
        return Read::Refused(format!(
            "{shown}: the file grew over the source's limit of {limit} bytes (max_file_bytes) while it was read"
        ));
    }
    match map_document_in(mapping, source, &bytes, &shown, limits, Some(inbox)) {
        Ok(mut batch) => {
            // Without an export time of its own, the file's modification time tells an old export
            // resent from a newer one (the claim's rename keeps it).
            if batch.exported.is_none() {
                batch.exported = stamp.modified.map(dhub_schema::stamp::file_stamp);
            }
            Read::Batch { batch, stamp }
        }
        Err(reason) => Read::Refused(reason),
    }
}

/// Parses and maps one document within the default limits. `Err` is a reason naming the file (and
/// line) for `failed/`.
pub fn map_document(
    mapping: &Mapping,
    source: &str,
    bytes: &[u8],
    origin: &str,
) -> Result<IntakeBatch, String> {
    map_document_within(mapping, source, bytes, origin, &ReadLimits::default())
}

/// [`map_document`] within the source's limits: a breach is the reason, naming file, line and limit.
/// Files its records name are read beside `origin`.
pub fn map_document_within(
    mapping: &Mapping,
    source: &str,
    bytes: &[u8],
    origin: &str,
    limits: &ReadLimits,
) -> Result<IntakeBatch, String> {
    let beside = Path::new(origin).parent();
    map_document_in(mapping, source, bytes, origin, limits, beside)
}

/// [`map_document_within`], reading the files its records name (`[[documents]] file`) in
/// `documents_dir`: the inbox the export was dropped in (it is read from `.work/`, but its
/// documents stay beside it).
pub fn map_document_in(
    mapping: &Mapping,
    source: &str,
    bytes: &[u8],
    origin: &str,
    limits: &ReadLimits,
    documents_dir: Option<&Path>,
) -> Result<IntakeBatch, String> {
    let read = cpu::measure(Stage::ReadDecode, || {
        mapping.read_export_with(bytes, origin, limits)
    })
    .map_err(|error| error.to_string())?;
    let exported = read
        .exported_at
        .map(|text| {
            dhub_schema::stamp::export_stamp(&text).map_err(|message| {
                format!(
                    "{origin}: the export time (`exported_at` of mapping `{}`) {message}",
                    mapping.name()
                )
            })
        })
        .transpose()?;
    let records = read.records;
    let context = map_context(source);
    // Documents a record names (`[[documents]] file`) are files beside the export.
    let beside = LocalDocuments {
        dir: documents_dir.map(Path::to_path_buf),
    };
    let items = cpu::measure(Stage::Map, || {
        records
            .into_iter()
            .map(|record| {
                let origin = file_origin(&record);
                to_intake_with(mapping, source, record, origin, &context, &beside)
            })
            .collect()
    });
    let positions = Path::new(origin)
        .file_name()
        .map(|n| Position::whole(n.to_string_lossy()))
        .into_iter()
        .collect();
    Ok(IntakeBatch {
        source: source.to_string(),
        mapping_name: mapping.name().to_string(),
        mapping_version: mapping.version().to_string(),
        items,
        positions,
        exported,
    })
}

/// Renames an inbox file into the work folder (same file system: atomic), keeping its name, or a
/// numbered one when a file of that name is already claimed.
async fn claim(path: &Path, work: &Path) -> std::io::Result<PathBuf> {
    let target = free_name(path, work).await;
    tokio::fs::rename(path, &target).await?;
    sync_dir(work).await;
    Ok(target)
}

/// A name in `folder` for `path`'s file that nothing has yet: its own, else with `.1`, `.2`, … added,
/// so an export re-sent under the same name never overwrites the earlier one.
async fn free_name(path: &Path, folder: &Path) -> PathBuf {
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
    target
}

/// Moves a file into a folder, keeping its name (numbered when taken). Across file systems (a
/// `done_dir` on another mount), copies under a temporary name, fsyncs, renames into place, then
/// removes the original: a crash leaves the file in one place or both, never in none.
pub async fn move_into(path: &Path, folder: &Path) -> std::io::Result<PathBuf> {
    let target = free_name(path, folder).await;
    match tokio::fs::rename(path, &target).await {
        Ok(()) => {}
        Err(error) if error.raw_os_error() == Some(libc_exdev()) => {
            copy_durably(path, &target).await?;
            tokio::fs::remove_file(path).await?;
        }
        Err(error) => return Err(error),
    }
    // The move must survive a crash before the next file is taken.
    sync_dir(folder).await;
    if let Some(parent) = path.parent() {
        sync_dir(parent).await;
    }
    Ok(target)
}

/// `EXDEV`: rename across file systems.
fn libc_exdev() -> i32 {
    18
}

async fn copy_durably(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut temporary = to.as_os_str().to_owned();
    temporary.push(".part");
    let temporary = PathBuf::from(temporary);
    let from = from.to_path_buf();
    let to = to.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::copy(&from, &temporary)?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, &to)
    })
    .await
    .unwrap_or_else(|_| Err(std::io::Error::other("the copy task failed")))
}

async fn sync_dir(folder: &Path) {
    if let Ok(dir) = tokio::fs::File::open(folder).await {
        // Best effort: some file systems cannot fsync a directory; the rename itself has happened.
        let _ = dir.sync_all().await;
    }
}

#[cfg(test)]
mod tests;
