use super::*;
use dhub_schema::intake::{IntakeError, IntakeReport, ItemOutcome};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A sink that keeps what it is given, or refuses it; `on_submit` runs inside `submit` (to change
/// the file while its batch is being stored).
#[derive(Default)]
struct RecordingSink {
    batches: Mutex<Vec<Arc<IntakeBatch>>>,
    refuse: bool,
    on_submit: Mutex<Option<Box<dyn FnMut() + Send>>>,
}

impl IntakeSink for RecordingSink {
    fn submit(&self, batch: Arc<IntakeBatch>) -> BoxFuture<'_, Result<IntakeReport, IntakeError>> {
        Box::pin(async move {
            if let Some(hook) = self.on_submit.lock().unwrap().as_mut() {
                hook();
            }
            if self.refuse {
                return Err(IntakeError {
                    message: "constraint violated".into(),
                    retryable: false,
                });
            }
            let outcomes = (0..batch.items.len())
                .map(|i| ItemOutcome::Accepted {
                    record_id: format!("r:{i}"),
                    version: 1,
                })
                .collect();
            self.batches.lock().unwrap().push(batch);
            Ok(IntakeReport { outcomes })
        })
    }
}

/// Counts what the connector reports.
#[derive(Default)]
struct Counting {
    retries: AtomicUsize,
    failed: AtomicUsize,
}

impl ConnectorEvents for Counting {
    fn document_done(&self, _: &str, _: usize) {}
    fn document_failed(&self, _: &str, _: &str) {
        self.failed.fetch_add(1, Ordering::SeqCst);
    }
    fn retrying(&self, _: &str, _: &str) {
        self.retries.fetch_add(1, Ordering::SeqCst);
    }
}

struct Setup {
    dir: tempfile::TempDir,
    sink: Arc<RecordingSink>,
    events: Arc<Counting>,
    folder: Folder,
}

fn setup_with(
    sink: RecordingSink,
    settle_ms: u64,
    config: impl FnOnce(&mut FolderConfig),
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mapping_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/finance-oa.toml");
    let mut folder_config = FolderConfig {
        path: "inbox".into(),
        done_dir: None,
        failed_dir: None,
        poll_interval_ms: 1000,
        settle_ms,
        extensions: None,
        max_file_bytes: 1024 * 1024,
    };
    config(&mut folder_config);
    let connector = FolderConnector::new(&folder_config, dir.path(), &["xml"]);
    connector.paths.prepare().unwrap();
    let sink = Arc::new(sink);
    let events = Arc::new(Counting::default());
    let folder = Folder::new(
        "finance-oa",
        connector.paths.clone(),
        Arc::new(Mapping::load(&mapping_path).unwrap()),
        sink.clone(),
        events.clone(),
        connector.settle,
        connector.extensions.clone(),
        connector.max_file_bytes,
    );
    Setup {
        dir,
        sink,
        events,
        folder,
    }
}

fn setup(settle_ms: u64) -> Setup {
    setup_with(RecordingSink::default(), settle_ms, |_| {})
}

fn shutdown() -> watch::Receiver<bool> {
    watch::channel(false).1
}

const EXPORT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n  <案件 编号=\"K1\"><类别>行政处罚</类别></案件>\n</执法信息导出>\n";
const EXPORT_TWO: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n  <案件 编号=\"K1\"><类别>行政处罚</类别></案件>\n  <案件 编号=\"K2\"><类别>行政处罚</类别></案件>\n</执法信息导出>\n";

#[tokio::test]
async fn only_settled_export_files_are_taken_in_name_order() {
    let mut s = setup(200);
    let inbox = s.dir.path().join("inbox");
    for name in [
        "b.xml",
        "a.XML",
        ".hidden.xml",
        "~$b.xml",
        "c.xml.tmp",
        "notes.txt",
    ] {
        std::fs::write(inbox.join(name), EXPORT).unwrap();
    }
    // First sight: nothing has been seen unchanged for the settle time yet.
    let wait = s.folder.scan_once(&shutdown()).await;
    assert!(s.sink.batches.lock().unwrap().is_empty());
    assert!(
        wait.is_some_and(|w| w <= Duration::from_millis(200)),
        "{wait:?}"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    s.folder.scan_once(&shutdown()).await;
    let positions: Vec<String> = s
        .sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.positions[0].value.clone())
        .collect();
    assert_eq!(
        positions,
        ["a.XML", "b.xml"],
        "hidden, Office lock, temporary and other files stay"
    );
    assert!(inbox.join("done/a.XML").exists() && inbox.join("done/b.xml").exists());
    assert!(inbox.join(".hidden.xml").exists() && inbox.join("notes.txt").exists());
    assert!(inbox.join("~$b.xml").exists());
}

/// Regression: a file still being written (its size changing between scans) used to be read as soon
/// as its modification time was older than `settle_ms`.
#[tokio::test]
async fn a_file_still_growing_is_waited_for() {
    let mut s = setup(300);
    let path = s.dir.path().join("inbox/slow.xml");
    let half = &EXPORT_TWO[..EXPORT_TWO.len() / 2];
    std::fs::write(&path, half).unwrap();
    for _ in 0..4 {
        s.folder.scan_once(&shutdown()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The writer adds a little at a time, more often than the settle time.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push(' ');
        std::fs::write(&path, text).unwrap();
    }
    assert!(
        s.sink.batches.lock().unwrap().is_empty(),
        "nothing read while it grows"
    );
    assert_eq!(
        s.events.failed.load(Ordering::SeqCst),
        0,
        "and nothing failed"
    );
    std::fs::write(&path, EXPORT_TWO).unwrap();
    s.folder.scan_once(&shutdown()).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    s.folder.scan_once(&shutdown()).await;
    let batches = s.sink.batches.lock().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].items.len(), 2, "the whole file");
}

#[tokio::test]
async fn a_stored_file_moves_to_done_and_a_name_taken_there_gets_a_number() {
    let mut s = setup(0);
    for _ in 0..2 {
        let path = s.dir.path().join("inbox/export.xml");
        std::fs::write(&path, EXPORT).unwrap();
        assert_eq!(
            s.folder.process_file(&path, &shutdown()).await,
            FileOutcome::Done { records: 1 }
        );
    }
    assert!(s.dir.path().join("inbox/done/export.xml").exists());
    assert!(s.dir.path().join("inbox/done/export.xml.1").exists());
    let batches = s.sink.batches.lock().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].positions, [Position::whole("export.xml")]);
    assert_eq!(batches[0].mapping_name, "finance-oa");
    assert_eq!(
        batches[0].items[0].origin().to_string(),
        format!(
            "{}:3",
            s.dir.path().join("inbox/.work/export.xml").display()
        )
    );
}

#[tokio::test]
async fn a_file_the_hub_cannot_store_is_set_aside_with_its_reason() {
    let mut s = setup_with(
        RecordingSink {
            refuse: true,
            ..RecordingSink::default()
        },
        0,
        |_| {},
    );
    let path = s.dir.path().join("inbox/export.xml");
    std::fs::write(&path, EXPORT).unwrap();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
    let reason =
        std::fs::read_to_string(s.dir.path().join("inbox/failed/export.xml.reason")).unwrap();
    assert!(
        reason.contains("export.xml: the hub could not store it: constraint violated"),
        "{reason}"
    );
}

/// Regression (issue 9): a file over the size limit must go to failed/ unread, with the reason.
#[tokio::test]
async fn a_file_over_the_size_limit_is_set_aside_unread() {
    let mut s = setup_with(RecordingSink::default(), 0, |c| c.max_file_bytes = 100);
    let path = s.dir.path().join("inbox/huge.xml");
    std::fs::write(&path, EXPORT_TWO).unwrap();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
    let reason =
        std::fs::read_to_string(s.dir.path().join("inbox/failed/huge.xml.reason")).unwrap();
    assert!(
        reason.contains("over the source's limit of 100 bytes (max_file_bytes)"),
        "{reason}"
    );
    assert!(s.sink.batches.lock().unwrap().is_empty());
}

/// The reason a file was set aside with.
fn failed_reason(s: &Setup, name: &str) -> String {
    std::fs::read_to_string(s.dir.path().join(format!("inbox/failed/{name}.reason"))).unwrap()
}

/// An export whose one record nests `depth` elements inside its `<备注>`.
fn nested_export(depth: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n<案件 编号=\"K1\"><类别>行政处罚</类别><备注>{}{}</备注></案件>\n</执法信息导出>\n",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
}

/// Regression (issue 9): an export nesting 200,000 elements aborted the hub with a stack overflow
/// and stayed in the inbox, so every restart died on it. Now it goes to failed/ with the limit
/// named, on a worker thread's ordinary stack, and the next file is read.
#[tokio::test]
async fn a_file_nesting_200000_elements_is_set_aside_with_the_limit_named() {
    let mut s = setup_with(RecordingSink::default(), 0, |c| {
        c.max_file_bytes = 8 * 1024 * 1024
    });
    let path = s.dir.path().join("inbox/deep.xml");
    std::fs::write(&path, nested_export(200_000)).unwrap();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
    let reason = failed_reason(&s, "deep.xml");
    assert!(
        reason.contains("deep.xml:3: element depth exceeds the limit of 64 (max_depth)"),
        "{reason}"
    );
    let next = s.dir.path().join("inbox/next.xml");
    std::fs::write(&next, EXPORT).unwrap();
    let outcome = s.folder.process_file(&next, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Done { .. }), "{outcome:?}");
}

/// Regression (issue 9): 60,000 attributes on one element took seconds in a quadratic check. The
/// file is refused at the attribute limit (the count is checked as attributes are read), and a
/// source that raises the limit reads the flood in linear time (the time is printed, not asserted:
/// speed is measured in benchmarks).
#[tokio::test]
async fn an_attribute_flood_is_set_aside_and_read_in_linear_time_when_allowed() {
    let attributes: String = (0..60_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let export = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n<案件 编号=\"K1\"><类别{attributes}>行政处罚</类别></案件>\n</执法信息导出>\n"
    );
    let mut s = setup_with(RecordingSink::default(), 0, |c| {
        c.max_file_bytes = 8 * 1024 * 1024
    });
    let path = s.dir.path().join("inbox/flood.xml");
    std::fs::write(&path, &export).unwrap();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
    let reason = failed_reason(&s, "flood.xml");
    assert!(reason.contains("(max_attributes)"), "{reason}");

    let raised: LimitsConfig = toml::from_str("max_attributes = 100000").unwrap();
    let mut s = setup_with(RecordingSink::default(), 0, |c| {
        c.max_file_bytes = 8 * 1024 * 1024
    });
    s.folder = s.folder.with_limits(&raised);
    let path = s.dir.path().join("inbox/flood.xml");
    std::fs::write(&path, &export).unwrap();
    let started = Instant::now();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    eprintln!(
        "60,000 attributes read and mapped in {:?}",
        started.elapsed()
    );
    assert!(matches!(outcome, FileOutcome::Done { .. }), "{outcome:?}");
    assert_eq!(s.sink.batches.lock().unwrap()[0].items.len(), 1);
}

/// Issue 9: `[source.limits]` is per source: the same export passes one source's limits and breaks
/// another's, and the breach names the limit and the file's line.
#[tokio::test]
async fn a_sources_own_limits_apply_to_its_files_only() {
    let export = nested_export(10);
    let mut lenient = setup(0);
    let path = lenient.dir.path().join("inbox/a.xml");
    std::fs::write(&path, &export).unwrap();
    let outcome = lenient.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Done { .. }), "{outcome:?}");

    let strict: LimitsConfig = toml::from_str("max_depth = 8").unwrap();
    let mut s = setup(0);
    s.folder = s.folder.with_limits(&strict);
    let path = s.dir.path().join("inbox/a.xml");
    std::fs::write(&path, &export).unwrap();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
    let reason = failed_reason(&s, "a.xml");
    assert!(
        reason.contains("a.xml:3: element depth exceeds the limit of 8 (max_depth)"),
        "{reason}"
    );
    // The file size limit stays the source's `max_file_bytes`.
    assert_eq!(s.folder.limits.max_document_bytes, 1024 * 1024);
    let many: LimitsConfig = toml::from_str("max_records = 1").unwrap();
    let mut s = setup(0);
    s.folder = s.folder.with_limits(&many);
    let path = s.dir.path().join("inbox/two.xml");
    std::fs::write(&path, EXPORT_TWO).unwrap();
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert!(matches!(outcome, FileOutcome::Failed { .. }), "{outcome:?}");
    assert!(failed_reason(&s, "two.xml").contains("(max_records)"));
}

/// Regression (issue 9): a file rewritten in place while its batch was being stored was moved to
/// done/ with the new content never read.
#[tokio::test]
async fn a_file_rewritten_while_stored_is_read_again_before_it_moves() {
    let rewrite: Arc<Mutex<Option<PathBuf>>> = Arc::default();
    let target = rewrite.clone();
    let sink = RecordingSink::default();
    *sink.on_submit.lock().unwrap() = Some(Box::new(move || {
        // The first submit: the department rewrites the file in place (same inode).
        if let Some(path) = target.lock().unwrap().take() {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .unwrap();
            file.write_all(EXPORT_TWO.as_bytes()).unwrap();
        }
    }));
    let mut s = setup_with(sink, 0, |_| {});
    let path = s.dir.path().join("inbox/export.xml");
    std::fs::write(&path, EXPORT).unwrap();
    *rewrite.lock().unwrap() = Some(s.dir.path().join("inbox/.work/export.xml"));
    let outcome = s.folder.process_file(&path, &shutdown()).await;
    assert_eq!(outcome, FileOutcome::Done { records: 2 });
    let batches = s.sink.batches.lock().unwrap();
    assert_eq!(
        batches.len(),
        2,
        "stored as first read, then again as rewritten"
    );
    assert_eq!(batches[1].items.len(), 2);
    assert_eq!(
        std::fs::read_to_string(s.dir.path().join("inbox/done/export.xml")).unwrap(),
        EXPORT_TWO
    );
}

/// A file claimed by a run that crashed before storing it is taken up first at the next start.
#[tokio::test]
async fn a_claimed_file_left_by_a_crash_is_taken_up_first() {
    let mut s = setup(0);
    std::fs::write(s.dir.path().join("inbox/.work/z-left.xml"), EXPORT).unwrap();
    std::fs::write(s.dir.path().join("inbox/a-new.xml"), EXPORT_TWO).unwrap();
    s.folder.scan_once(&shutdown()).await;
    let positions: Vec<String> = s
        .sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.positions[0].value.clone())
        .collect();
    assert_eq!(
        positions,
        ["a-new.xml", "z-left.xml"],
        "both, in name order"
    );
    assert!(s.dir.path().join("inbox/done/z-left.xml").exists());
}

/// Regression (issue 9): a move that fails must not be retried in a tight loop; the other files go on.
#[tokio::test]
async fn a_move_that_fails_is_retried_later_while_other_files_go_on() {
    let mut s = setup(0);
    // done/ replaced by a plain file: every move into it fails.
    let done = s.dir.path().join("inbox/done");
    std::fs::remove_dir(&done).unwrap();
    std::fs::write(&done, "not a folder").unwrap();
    std::fs::write(s.dir.path().join("inbox/a.xml"), EXPORT).unwrap();
    std::fs::write(s.dir.path().join("inbox/b.xml"), EXPORT).unwrap();
    let wait = s.folder.scan_once(&shutdown()).await;
    assert_eq!(s.sink.batches.lock().unwrap().len(), 2, "both stored");
    assert!(
        wait.is_some_and(|w| w >= Duration::from_millis(500)),
        "next try later: {wait:?}"
    );
    let retries = s.events.retries.load(Ordering::SeqCst);
    for _ in 0..20 {
        s.folder.scan_once(&shutdown()).await;
    }
    assert_eq!(
        s.events.retries.load(Ordering::SeqCst),
        retries,
        "no retry before its time"
    );
    assert_eq!(
        s.sink.batches.lock().unwrap().len(),
        2,
        "not stored again meanwhile"
    );
    std::fs::remove_file(&done).unwrap();
    std::fs::create_dir(&done).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    s.folder.scan_once(&shutdown()).await;
    assert!(done.join("a.xml").exists() && done.join("b.xml").exists());
}

/// A `done_dir` on another file system (tmpfs here): the move copies, fsyncs and unlinks.
#[tokio::test]
async fn a_done_folder_on_another_file_system_gets_a_copy() {
    let other = Path::new("/dev/shm");
    if !other.is_dir() {
        eprintln!("skipped: no /dev/shm (tmpfs) on this machine to stand for another file system");
        return;
    }
    let elsewhere = tempfile::tempdir_in(other).unwrap();
    let done = elsewhere.path().join("done");
    let mut s = setup_with(RecordingSink::default(), 0, |c| {
        c.done_dir = Some(done.clone())
    });
    let path = s.dir.path().join("inbox/export.xml");
    std::fs::write(&path, EXPORT).unwrap();
    assert_eq!(
        s.folder.process_file(&path, &shutdown()).await,
        FileOutcome::Done { records: 1 }
    );
    assert_eq!(
        std::fs::read_to_string(done.join("export.xml")).unwrap(),
        EXPORT
    );
    assert!(!s.dir.path().join("inbox/.work/export.xml").exists());
    assert!(!done.join("export.xml.part").exists());
}

/// Regression: the scan's own opening of the folder and of files woke the scan again, forever.
#[test]
fn only_events_that_can_bring_an_export_wake_the_scan() {
    use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode};
    assert!(!wakes_the_scan(&EventKind::Access(AccessKind::Open(
        AccessMode::Any
    ))));
    assert!(!wakes_the_scan(&EventKind::Access(AccessKind::Close(
        AccessMode::Read
    ))));
    assert!(wakes_the_scan(&EventKind::Access(AccessKind::Close(
        AccessMode::Write
    ))));
    assert!(wakes_the_scan(&EventKind::Create(CreateKind::File)));
    assert!(wakes_the_scan(&EventKind::Modify(ModifyKind::Name(
        RenameMode::To
    ))));
}

/// The watcher wakes the loop once for a new file, not continuously while the folder is scanned.
#[tokio::test]
async fn scanning_the_folder_does_not_wake_the_watcher() {
    let s = setup(0);
    let inbox = s.dir.path().join("inbox");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(64);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| wakes_the_scan(&event.kind)) {
            let _ = tx.try_send(());
        }
    })
    .unwrap();
    use notify::Watcher as _;
    watcher
        .watch(&inbox, notify::RecursiveMode::NonRecursive)
        .unwrap();
    for _ in 0..20 {
        let _ = std::fs::read_dir(&inbox).unwrap().count();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.try_recv().is_err(), "reading the folder woke the scan");
    std::fs::write(inbox.join("new.xml"), EXPORT).unwrap();
    tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("a new file wakes the scan");
}
