//! The `spreadsheet` source on the real ingest path: the shipped 双公示 samples (`sgs-penalty` XLSX,
//! `sgs-licensing` CSV in GBK) are stored, their bad rows held in quarantine naming `file:row`, the
//! second export revokes; a file that is not a workbook goes to `failed/` with its reason; the
//! config accepts only `csv` and `xlsx` mappings for the kind.

mod intake;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dhub_connectors::HubSettings;
use dhub_store::{OutboxOp, QuarantineStage, Store};
use intake::{ingestor, outbox, platforms_of, repo, sqlite_store, wait_until, Running};

/// A spreadsheet source over `<dir>/inbox/<name>`.
fn source_toml(name: &str, mapping: &str) -> String {
    format!(
        "name = \"{name}\"\nkind = \"spreadsheet\"\nmapping = \"mappings/{mapping}\"\npath = \"inbox/{name}\"\npoll_interval_ms = 100\nsettle_ms = 0\n"
    )
}

fn inbox(dir: &Path, name: &str) -> PathBuf {
    dir.join("inbox").join(name)
}

/// Copies a sample stage into the inbox, each file under a hidden name first, then renamed in.
fn deliver(dir: &Path, name: &str, stage: &str) -> usize {
    let target = inbox(dir, name);
    std::fs::create_dir_all(&target).unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(repo().join("mappings/samples").join(name).join(stage)).unwrap()
    {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let hidden = target.join(format!(".{file}.part"));
        std::fs::copy(&path, &hidden).unwrap();
        std::fs::rename(&hidden, target.join(&file)).unwrap();
        count += 1;
    }
    count
}

fn listed(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn wait_for_done(dir: &Path, name: &str, files: usize) {
    let done = inbox(dir, name).join("done");
    wait_until(
        "the files to move to done/",
        Duration::from_secs(30),
        || {
            let done = done.clone();
            async move { listed(&done).len() >= files }
        },
    )
    .await;
}

/// The record ids stored (latest versions), without the source prefix.
async fn stored_keys(store: &Store, source: &str) -> Vec<String> {
    store
        .current_records(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            r.record_id
                .strip_prefix(&format!("{source}:"))
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Feeds `first/` then `second/` of a sample source through the running connector and checks what
/// the store holds after each.
async fn first_then_second(
    source: &str,
    mapping: &str,
    held: (&str, &str, QuarantineStage, &str),
    revoked: (&str, [&str; 3]),
) {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let ingestor = ingestor(&store);
    let running = Running::start(
        &source_toml(source, mapping),
        dir.path(),
        &HubSettings::default(),
        &ingestor,
    )
    .await;

    let files = deliver(dir.path(), source, "first");
    wait_for_done(dir.path(), source, files).await;
    assert_eq!(
        stored_keys(&store, source).await.len(),
        7,
        "seven valid rows"
    );
    let (key, origin, stage, reason) = held;
    let quarantined = store.quarantine_list(false).await.unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let entry = &quarantined[0];
    assert_eq!(
        entry.record_id.as_deref(),
        Some(format!("{source}:{key}").as_str())
    );
    assert_eq!(entry.stage, stage);
    assert!(
        entry.origin.ends_with(origin),
        "names the file and row: {}",
        entry.origin
    );
    assert_eq!(entry.reason, reason);
    assert!(listed(&inbox(dir.path(), source).join("failed")).is_empty());

    let second = deliver(dir.path(), source, "second");
    wait_for_done(dir.path(), source, files + second).await;
    let (key, platforms) = revoked;
    let record_id = format!("{source}:{key}");
    let rows = outbox(&store, &record_id).await;
    assert_eq!(platforms_of(&rows, OutboxOp::Upsert, 1), platforms);
    assert_eq!(platforms_of(&rows, OutboxOp::Retract, 2), platforms);
    assert!(store.latest(&record_id).await.unwrap().unwrap().retracted);
    assert_eq!(stored_keys(&store, source).await.len(), 7);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_penalty_workbooks_are_stored_and_the_second_revokes() {
    first_then_second(
        "sgs-penalty",
        "sgs-penalty.toml",
        (
            "茌卫职罚〔2026〕29号",
            "cpwj-xzcf-202610.xlsx:5",
            QuarantineStage::Mapping,
            "decided_on: required, but `处罚决定日期` has no value",
        ),
        (
            "茌卫医罚〔2026〕21号",
            ["chiping-county", "liaocheng-city", "shandong-province"],
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_licensing_csv_in_gbk_is_stored_and_the_second_revokes() {
    first_then_second(
        "sgs-licensing",
        "sgs-licensing.toml",
        (
            "聊审批环许〔2026〕27号",
            "lcsp-xzxk-202611.csv:4",
            QuarantineStage::Validation,
            "agency.uscc: is not a unified social credit code: must be 18 characters long, found 16",
        ),
        (
            "东审批药许〔2026〕37号",
            ["donge-county", "liaocheng-city", "shandong-province"],
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_workbook_goes_to_failed_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let ingestor = ingestor(&store);
    let running = Running::start(
        &source_toml("sgs-penalty", "sgs-penalty.toml"),
        dir.path(),
        &HubSettings::default(),
        &ingestor,
    )
    .await;
    let folder = inbox(dir.path(), "sgs-penalty");
    std::fs::create_dir_all(&folder).unwrap();
    // A CSV saved with the wrong extension, Excel's lock file of an open workbook, and a CSV the
    // xlsx source does not read.
    std::fs::write(
        folder.join("cpwj-xzcf-202612.xlsx"),
        "行政相对人名称,处罚机关\n",
    )
    .unwrap();
    std::fs::write(folder.join("~$cpwj-xzcf-202612.xlsx"), [0u8; 165]).unwrap();
    std::fs::write(folder.join("notes.csv"), "a,b\n").unwrap();
    wait_until("the file to be set aside", Duration::from_secs(30), || {
        let failed = folder.join("failed");
        async move { listed(&failed).len() == 2 }
    })
    .await;
    running.stop().await;
    assert_eq!(
        listed(&folder.join("failed")),
        ["cpwj-xzcf-202612.xlsx", "cpwj-xzcf-202612.xlsx.reason"]
    );
    let reason =
        std::fs::read_to_string(folder.join("failed/cpwj-xzcf-202612.xlsx.reason")).unwrap();
    assert!(
        reason.contains("cpwj-xzcf-202612.xlsx")
            && reason.contains("not an .xlsx workbook (not a zip archive)"),
        "names the file and what is wrong with it: {reason}"
    );
    assert!(
        folder.join("~$cpwj-xzcf-202612.xlsx").exists(),
        "a lock file is left alone"
    );
    assert!(
        folder.join("notes.csv").exists(),
        "an xlsx source reads *.xlsx only"
    );
    assert!(store.current_records(None, 10).await.unwrap().is_empty());
}

#[test]
fn the_config_takes_only_csv_and_xlsx_mappings_for_spreadsheets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    let base = format!(
        "[kafka]\nbrokers = \"127.0.0.1:9092\"\n\n[[platform]]\nname = \"city\"\nlevel = \"city\"\ndivision = \"371500\"\n\n[[source]]\nname = \"sgs\"\nkind = \"spreadsheet\"\nmapping = \"{}\"\npath = \"in\"\n",
        repo().join("mappings/finance-oa.toml").display()
    );
    std::fs::write(&config, &base).unwrap();
    let errors = dhub::config::HubConfig::load(&config)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("reads `xml`, but a `spreadsheet` source takes csv, xlsx"),
        "{errors}"
    );
    let ok = base.replace("finance-oa.toml", "sgs-licensing.toml");
    std::fs::write(&config, &ok).unwrap();
    let loaded = dhub::config::HubConfig::load(&config).unwrap();
    assert_eq!(loaded.sources[0].config.kind.name(), "spreadsheet");
    let kafka = format!(
        "{ok}\n[[source]]\nname = \"djt\"\nkind = \"kafka\"\nmapping = \"{}\"\ntopic = \"djt.cases\"\ngroup = \"dhub-djt\"\n",
        repo().join("mappings/sgs-penalty.toml").display()
    );
    std::fs::write(&config, &kafka).unwrap();
    let errors = dhub::config::HubConfig::load(&config)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("reads `xlsx`, but a `kafka` source takes json, jsonl, xml"),
        "{errors}"
    );
}
