//! The path from an export folder into the state store, against the real store (SQLite and Postgres):
//! bad input ends in `failed/` or quarantine with a reason naming file, line or field; good records in
//! the same file are still stored; unchanged re-exports publish nothing; revocations, manual
//! retractions and ended publicity periods queue retractions for every platform that was sent the record.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dhub::telemetry::Telemetry;
use dhub_connectors::folder::{Folder, FolderConfig, FolderConnector};
use dhub_ingest::publicity::sweep_expired;
use dhub_ingest::{
    retract_by_hand, Ingestor, OutboxHandoff, Platform, RetractReason, Routing, SourceConstraints,
};
use dhub_mapping::Mapping;
use dhub_redaction::Policy;
use dhub_schema::divisions::Level;
use dhub_schema::identifiers::uscc_check_char;
use dhub_schema::intake::{HoldStage, IntakeBatch, ItemOutcome};
use dhub_store::{OutboxOp, QuarantineStage, Store};
use tokio::sync::watch;

const VALID_ID: &str = "11010519491231002X";
const BAD_CHECK_DIGIT_ID: &str = "110105194912310021";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn with_check(body: &str, check: fn(&[u8]) -> Option<u8>) -> String {
    let c = check(body.as_bytes()).expect("test body is well formed") as char;
    format!("{body}{c}")
}

/// One 茌平县财政局 case in the finance-oa export shape.
struct FinanceCase {
    key: &'static str,
    category: &'static str,
    status: &'static str,
    id_number: String,
    classification: &'static str,
    decided_on: &'static str,
    publicity_until: &'static str,
}

impl FinanceCase {
    fn valid(key: &'static str) -> FinanceCase {
        FinanceCase {
            key,
            category: "行政处罚",
            status: "有效",
            id_number: VALID_ID.into(),
            classification: "公开",
            decided_on: "2026年10月12日",
            publicity_until: "2099年10月12日",
        }
    }

    fn xml(&self) -> String {
        let agency_uscc = with_check("11371523004211234", uscc_check_char);
        format!(
            r#"  <案件 编号="{key}">
    <类别>{category}</类别>
    <程序>普通程序</程序>
    <状态>{status}</状态>
    <执法机关 统一社会信用代码="{agency_uscc}" 区划="371523">茌平县财政局</执法机关>
    <文书号>茌财罚〔2026〕12号</文书号>
    <当事人 类别="自然人"><名称>张三丰</名称><证件类型>身份证</证件类型><证件号码>{id}</证件号码><电话>13812345678</电话></当事人>
    <违法事实>当事人张三丰未按规定填制会计凭证，联系电话13812345678。</违法事实>
    <处罚依据>《中华人民共和国会计法》第四十二条</处罚依据>
    <处罚种类>警告、罚款</处罚种类>
    <罚款金额>0.5</罚款金额>
    <决定日期>{decided}</决定日期>
    <公示截止>{until}</公示截止>
    <重大执法决定>否</重大执法决定>
    <密级>{classification}</密级>
  </案件>
"#,
            key = self.key,
            category = self.category,
            status = self.status,
            id = self.id_number,
            classification = self.classification,
            decided = self.decided_on,
            until = self.publicity_until,
        )
    }
}

fn export(cases: &[FinanceCase]) -> String {
    let body: String = cases.iter().map(FinanceCase::xml).collect();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出 系统=\"财政局办公系统\">\n{body}</执法信息导出>\n")
}

fn routing() -> Routing {
    let platform = |name: &str, level, division: &str| Platform {
        name: name.into(),
        level,
        division: division.into(),
        policy: "public".into(),
        format: "disclosure.v1".into(),
        topic: Platform::topic_name("", level, division),
    };
    Routing::new(vec![
        platform("chiping-county", Level::County, "371523"),
        platform("donge-county", Level::County, "371524"),
        platform("liaocheng-city", Level::City, "371500"),
        platform("shandong-province", Level::Province, "370000"),
    ])
}

struct Harness {
    ingestor: Arc<Ingestor>,
    _dir: tempfile::TempDir,
    inbox: PathBuf,
    store: Store,
    routing: Routing,
    connector: Folder,
    shutdown: watch::Receiver<bool>,
    _shutdown_tx: watch::Sender<bool>,
}

impl Harness {
    async fn new(store: Store) -> Harness {
        Harness::build(tempfile::tempdir().unwrap(), store).await
    }

    /// A harness over a fresh SQLite store in its own temp folder.
    async fn on_sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let store = Store::connect(&url).await.unwrap();
        Harness::build(dir, store).await
    }

    async fn build(dir: tempfile::TempDir, store: Store) -> Harness {
        Harness::constrained(dir, store, HashMap::new()).await
    }

    async fn constrained(
        dir: tempfile::TempDir,
        store: Store,
        constraints: HashMap<String, SourceConstraints>,
    ) -> Harness {
        let inbox = dir.path().join("inbox");
        let routing = routing();
        let public = Arc::new(Policy::builtin("public").unwrap());
        let policies = routing
            .platforms()
            .iter()
            .map(|p| (p.name.clone(), public.clone()))
            .collect();
        let telemetry = Arc::new(Telemetry::new());
        let ingestor = Ingestor {
            store: store.clone(),
            routing: Arc::new(routing.clone()),
            policies: Arc::new(policies),
            constraints: Arc::new(constraints),
            events: telemetry.clone(),
            handoff: OutboxHandoff::default(),
            handoff_order: Arc::default(),
            clocks: Default::default(),
            documents: None,
        };
        let config = FolderConfig {
            path: inbox.clone(),
            done_dir: None,
            failed_dir: None,
            poll_interval_ms: 1000,
            settle_ms: 0,
            extensions: None,
            max_file_bytes: 64 * 1024 * 1024,
        };
        let mapping = Arc::new(Mapping::load(&repo().join("mappings/finance-oa.toml")).unwrap());
        let folder = FolderConnector::new(&config, dir.path(), &["xml"]);
        folder.paths.prepare().unwrap();
        let ingestor = Arc::new(ingestor);
        let connector = Folder::new(
            "finance-oa",
            folder.paths.clone(),
            mapping,
            ingestor.clone(),
            telemetry,
            folder.settle,
            folder.extensions.clone(),
            folder.max_file_bytes,
        );
        let (shutdown_tx, shutdown) = watch::channel(false);
        Harness {
            ingestor,
            _dir: dir,
            inbox,
            store,
            routing,
            connector,
            shutdown,
            _shutdown_tx: shutdown_tx,
        }
    }

    async fn drop_file(&mut self, name: &str, bytes: &[u8]) {
        std::fs::write(self.inbox.join(name), bytes).unwrap();
        self.connector.scan_once(&self.shutdown).await;
    }

    /// [`Harness::drop_file`] with the file's modification time set to `modified` (a file restored
    /// from a backup, or copied with `cp -p`, keeps the time it had).
    async fn drop_file_dated(&mut self, name: &str, bytes: &[u8], modified: std::time::SystemTime) {
        let path = self.inbox.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        self.connector.scan_once(&self.shutdown).await;
    }

    async fn outbox(&self, record_id: &str) -> Vec<(String, OutboxOp, i64)> {
        let history = self.store.history(record_id).await.unwrap();
        // No relay runs here, so every queued entry is still in the queue: one row per platform.
        history
            .queued
            .iter()
            .flat_map(|entry| {
                entry
                    .platforms
                    .iter()
                    .map(move |platform| (platform.clone(), entry.op, entry.version))
            })
            .collect()
    }

    fn folder(&self, name: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.inbox.join(name))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// Runs a test body on a fresh SQLite store and on a fresh Postgres database.
async fn on_both_backends<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("state.db").display()
    ))
    .await
    .unwrap();
    test(sqlite).await;
    let db = dhub_testkit::fresh_postgres_db()
        .await
        .expect("postgres for tests (DHUB_TEST_POSTGRES)");
    let postgres = Store::connect(db.url()).await.unwrap();
    test(postgres.clone()).await;
    postgres.close().await;
    db.drop().await.unwrap();
}

fn platforms_of(rows: &[(String, OutboxOp, i64)], op: OutboxOp, version: i64) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .filter(|(_, o, v)| *o == op && *v == version)
        .map(|(p, _, _)| p.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn bad_records_are_quarantined_with_field_and_line_and_the_rest_published() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        let mut unknown_code = FinanceCase::valid("CZ-2");
        unknown_code.category = "行政奖励";
        let mut bad_id = FinanceCase::valid("CZ-3");
        bad_id.id_number = BAD_CHECK_DIGIT_ID.into();
        harness
            .drop_file(
                "export-1.xml",
                export(&[FinanceCase::valid("CZ-1"), unknown_code, bad_id]).as_bytes(),
            )
            .await;

        assert_eq!(
            harness.folder("done"),
            ["export-1.xml"],
            "a file with some bad records is still stored"
        );
        let published = harness.outbox("finance-oa:CZ-1").await;
        assert_eq!(
            platforms_of(&published, OutboxOp::Upsert, 1),
            ["chiping-county", "liaocheng-city", "shandong-province"],
            "county, city and province of 371523; not the other county"
        );

        let held = harness.store.quarantine_list(false).await.unwrap();
        assert_eq!(held.len(), 2, "{held:?}");
        let mapping = held
            .iter()
            .find(|q| q.stage == QuarantineStage::Mapping)
            .expect("unknown code held at mapping");
        assert_eq!(mapping.record_id.as_deref(), Some("finance-oa:CZ-2"));
        assert!(
            mapping.reason.starts_with("category:"),
            "{}",
            mapping.reason
        );
        assert!(
            mapping.origin.contains("export-1.xml:"),
            "{}",
            mapping.origin
        );
        let validation = held
            .iter()
            .find(|q| q.stage == QuarantineStage::Validation)
            .expect("bad check digit held");
        assert_eq!(
            validation.reason,
            "counterparty.id_number: is not a valid resident ID: check digit does not match"
        );
        assert!(
            validation
                .origin
                .ends_with(&format!("export-1.xml:{}", line_of_case(&harness, "CZ-3"))),
            "{}",
            validation.origin
        );
        assert!(!validation.reason.contains(BAD_CHECK_DIGIT_ID));
        assert!(harness.outbox("finance-oa:CZ-3").await.is_empty());
    })
    .await;
}

fn line_of_case(harness: &Harness, key: &str) -> usize {
    let text = std::fs::read_to_string(harness.inbox.join("done/export-1.xml")).unwrap();
    text.lines()
        .position(|l| l.contains(&format!("编号=\"{key}\"")))
        .unwrap()
        + 1
}

#[tokio::test]
async fn unreadable_files_go_to_failed_with_a_reason_naming_file_and_line() {
    let mut harness = Harness::on_sqlite().await;

    let broken = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n  <案件 编号=\"1\">\n    <类别>行政处罚</类别>\n  </执法信息导出>\n";
    harness.drop_file("broken.xml", broken.as_bytes()).await;
    let mut gbk = b"<?xml version=\"1.0\" encoding=\"GBK\"?>\n<\xd6\xb4\xb7\xa8\xd0\xc5\xcf\xa2\xb5\xbc\xb3\xf6>\n".to_vec();
    gbk.extend_from_slice(b"  <x>\xff\xff</x>\n");
    harness.drop_file("bad-gbk.xml", &gbk).await;

    assert_eq!(
        harness.folder("failed"),
        [
            "bad-gbk.xml",
            "bad-gbk.xml.reason",
            "broken.xml",
            "broken.xml.reason"
        ]
    );
    let reason = std::fs::read_to_string(harness.inbox.join("failed/broken.xml.reason")).unwrap();
    assert!(
        reason.contains("broken.xml:5:"),
        "names the file and the line of the bad end tag: {reason}"
    );
    let reason = std::fs::read_to_string(harness.inbox.join("failed/bad-gbk.xml.reason")).unwrap();
    assert!(
        reason.contains("bad-gbk.xml:3:"),
        "names the line of the invalid GBK bytes: {reason}"
    );
    assert!(harness.folder("done").is_empty());
}

#[tokio::test]
async fn an_unchanged_reexport_publishes_nothing_and_a_revocation_retracts_everywhere() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        harness
            .drop_file("a.xml", export(&[FinanceCase::valid("CZ-1")]).as_bytes())
            .await;
        harness
            .drop_file("a.xml", export(&[FinanceCase::valid("CZ-1")]).as_bytes())
            .await;
        assert_eq!(
            harness.folder("done"),
            ["a.xml", "a.xml.1"],
            "the second file is kept, not overwritten"
        );
        assert_eq!(
            harness.outbox("finance-oa:CZ-1").await.len(),
            3,
            "unchanged content: no second publication"
        );

        let mut revoked = FinanceCase::valid("CZ-1");
        revoked.status = "已撤销";
        harness
            .drop_file("b.xml", export(&[revoked]).as_bytes())
            .await;
        let rows = harness.outbox("finance-oa:CZ-1").await;
        assert_eq!(
            platforms_of(&rows, OutboxOp::Retract, 2),
            ["chiping-county", "liaocheng-city", "shandong-province"]
        );
        let latest = harness
            .store
            .latest("finance-oa:CZ-1")
            .await
            .unwrap()
            .unwrap();
        assert!(latest.retracted);
        let payload = harness
            .store
            .history("finance-oa:CZ-1")
            .await
            .unwrap()
            .queued
            .last()
            .unwrap()
            .payload
            .clone();
        let envelope: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(envelope["op"], "retract");
        assert_eq!(envelope["reason"], "revoked");
        assert!(
            envelope.get("record").is_none(),
            "a retraction carries no personal data"
        );
    })
    .await;
}

#[tokio::test]
async fn published_envelopes_are_redacted() {
    let mut harness = Harness::on_sqlite().await;
    harness
        .drop_file("a.xml", export(&[FinanceCase::valid("CZ-1")]).as_bytes())
        .await;
    let history = harness.store.history("finance-oa:CZ-1").await.unwrap();
    assert!(!history.queued.is_empty());
    for entry in &history.queued {
        let text = String::from_utf8(entry.payload.to_vec()).unwrap();
        assert!(
            !text.contains(VALID_ID) && !text.contains("13812345678") && !text.contains("张三丰"),
            "{text}"
        );
        let envelope: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(envelope["record"]["counterparty"]["name"], "张某");
        assert_eq!(envelope["version"], 1);
        assert_eq!(envelope["schema"], "disclosure.v1");
    }
}

#[tokio::test]
async fn withheld_records_are_quarantined_and_never_queued() {
    let mut harness = Harness::on_sqlite().await;
    let mut secret = FinanceCase::valid("CZ-9");
    secret.classification = "秘密";
    harness
        .drop_file("a.xml", export(&[secret]).as_bytes())
        .await;
    assert!(harness.outbox("finance-oa:CZ-9").await.is_empty());
    let held = harness.store.quarantine_list(false).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].stage, QuarantineStage::Redaction);
    assert!(held[0].reason.contains("classified"), "{}", held[0].reason);
}

#[tokio::test]
async fn a_manual_retraction_sticks_until_the_source_changes() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        harness
            .drop_file("a.xml", export(&[FinanceCase::valid("CZ-1")]).as_bytes())
            .await;
        let platforms = retract_by_hand(
            &harness.store,
            &harness.routing,
            "finance-oa:CZ-1",
            RetractReason::Manual,
            Some("复核撤回"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(platforms, 3);
        harness
            .drop_file(
                "again.xml",
                export(&[FinanceCase::valid("CZ-1")]).as_bytes(),
            )
            .await;
        let rows = harness.outbox("finance-oa:CZ-1").await;
        assert_eq!(platforms_of(&rows, OutboxOp::Retract, 2).len(), 3);
        assert!(
            platforms_of(&rows, OutboxOp::Upsert, 3).is_empty(),
            "an unchanged re-export does not undo it"
        );
        assert!(retract_by_hand(
            &harness.store,
            &harness.routing,
            "finance-oa:CZ-1",
            RetractReason::Manual,
            None,
            None
        )
        .await
        .is_err());
        assert!(retract_by_hand(
            &harness.store,
            &harness.routing,
            "finance-oa:NOPE",
            RetractReason::Manual,
            None,
            None
        )
        .await
        .is_err());
    })
    .await;
}

#[tokio::test]
async fn ended_publicity_periods_are_withdrawn() {
    let mut harness = Harness::on_sqlite().await;
    let mut soon = FinanceCase::valid("CZ-1");
    soon.publicity_until = "2099年01月01日";
    let mut already = FinanceCase::valid("CZ-2");
    already.decided_on = "2020年01月02日";
    already.publicity_until = "2021年01月02日";
    harness
        .drop_file("a.xml", export(&[soon, already]).as_bytes())
        .await;
    assert!(
        harness.outbox("finance-oa:CZ-2").await.is_empty(),
        "expired on arrival: never published"
    );

    let before = chrono::NaiveDate::from_ymd_opt(2098, 12, 31).unwrap();
    assert_eq!(
        sweep_expired(&harness.store, &harness.routing, before, None)
            .await
            .unwrap(),
        0
    );
    let after = chrono::NaiveDate::from_ymd_opt(2099, 1, 2).unwrap();
    assert_eq!(
        sweep_expired(&harness.store, &harness.routing, after, None)
            .await
            .unwrap(),
        1
    );
    let rows = harness.outbox("finance-oa:CZ-1").await;
    assert_eq!(platforms_of(&rows, OutboxOp::Retract, 2).len(), 3);
    let last: serde_json::Value = serde_json::from_slice(
        &harness
            .store
            .history("finance-oa:CZ-1")
            .await
            .unwrap()
            .queued
            .last()
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(last["reason"], "publicity_expired");
}

/// Regression: an export that carries a decision and, further down, its revocation used to publish the
/// decision and send the retraction nowhere (the platforms were looked up before the batch was stored).
#[tokio::test]
async fn a_revocation_later_in_the_same_file_reaches_the_platforms_of_the_upsert() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        let mut revoked = FinanceCase::valid("CZ-1");
        revoked.status = "已撤销";
        harness
            .drop_file(
                "history.xml",
                export(&[FinanceCase::valid("CZ-1"), revoked]).as_bytes(),
            )
            .await;
        let rows = harness.outbox("finance-oa:CZ-1").await;
        let everywhere = ["chiping-county", "liaocheng-city", "shandong-province"];
        assert_eq!(platforms_of(&rows, OutboxOp::Upsert, 1), everywhere);
        assert_eq!(platforms_of(&rows, OutboxOp::Retract, 2), everywhere);
        assert!(
            harness
                .store
                .latest("finance-oa:CZ-1")
                .await
                .unwrap()
                .unwrap()
                .retracted
        );
    })
    .await;
}

#[tokio::test]
async fn a_decision_back_in_force_after_a_revocation_is_published_again() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        let mut revoked = FinanceCase::valid("CZ-1");
        revoked.status = "已撤销";
        harness
            .drop_file(
                "a.xml",
                export(&[FinanceCase::valid("CZ-1"), revoked]).as_bytes(),
            )
            .await;
        assert!(
            harness
                .store
                .latest("finance-oa:CZ-1")
                .await
                .unwrap()
                .unwrap()
                .retracted
        );

        // Redecided in the department system: in force again, in one file after its revocation.
        let mut again = FinanceCase::valid("CZ-1");
        again.status = "变更";
        let mut revoked_again = FinanceCase::valid("CZ-1");
        revoked_again.status = "已撤销";
        harness
            .drop_file("b.xml", export(&[revoked_again, again]).as_bytes())
            .await;
        let latest = harness
            .store
            .latest("finance-oa:CZ-1")
            .await
            .unwrap()
            .unwrap();
        assert!(!latest.retracted, "the batch's last version is in force");
        let rows = harness.outbox("finance-oa:CZ-1").await;
        assert_eq!(
            platforms_of(&rows, OutboxOp::Upsert, latest.version).len(),
            3
        );
    })
    .await;
}

/// The batch of one export file, mapped as the folder connector maps it.
fn batch_of(xml: &str) -> Arc<IntakeBatch> {
    let mapping = Mapping::load(&repo().join("mappings/finance-oa.toml")).unwrap();
    Arc::new(
        dhub_connectors::folder::map_document(&mapping, "finance-oa", xml.as_bytes(), "push.xml")
            .unwrap(),
    )
}

#[tokio::test]
async fn every_item_gets_its_outcome_in_batch_order() {
    let harness = Harness::on_sqlite().await;
    let mut unknown_code = FinanceCase::valid("CZ-2");
    unknown_code.category = "行政奖励";
    let mut secret = FinanceCase::valid("CZ-4");
    secret.classification = "秘密";
    let first = batch_of(&export(&[FinanceCase::valid("CZ-1")]));
    harness.ingestor.ingest(first, false).await.unwrap();
    let report = harness
        .ingestor
        .ingest(
            batch_of(&export(&[
                unknown_code,
                FinanceCase::valid("CZ-1"),
                FinanceCase::valid("CZ-3"),
                secret,
            ])),
            false,
        )
        .await
        .unwrap();
    let shapes: Vec<String> = report
        .outcomes
        .iter()
        .map(|outcome| match outcome {
            ItemOutcome::Accepted { record_id, version } => {
                format!("accepted {record_id} v{version}")
            }
            ItemOutcome::Unchanged { record_id } => format!("unchanged {record_id}"),
            ItemOutcome::Quarantined {
                record_id, stage, ..
            } => {
                format!(
                    "quarantined {} at {stage}",
                    record_id.as_deref().unwrap_or("?")
                )
            }
        })
        .collect();
    assert_eq!(
        shapes,
        [
            "quarantined finance-oa:CZ-2 at mapping",
            "unchanged finance-oa:CZ-1",
            "accepted finance-oa:CZ-3 v1",
            "accepted finance-oa:CZ-4 v1",
        ],
        "a secret decision is stored (a version) and withheld from every platform"
    );
}

#[tokio::test]
async fn a_record_of_another_agency_or_division_is_refused_by_the_source_constraints() {
    on_both_backends(|store| async move {
        let own_agency = with_check("11371523004211234", uscc_check_char);
        let mut constraints = HashMap::new();
        constraints.insert(
            "finance-oa".to_string(),
            SourceConstraints {
                agencies: vec![own_agency],
                division: Some("371524".into()),
            },
        );
        let harness = Harness::constrained(tempfile::tempdir().unwrap(), store, constraints).await;
        let report = harness
            .ingestor
            .ingest(batch_of(&export(&[FinanceCase::valid("CZ-1")])), false)
            .await
            .unwrap();
        let ItemOutcome::Quarantined { stage, reason, .. } = &report.outcomes[0] else {
            panic!("refused: {report:?}");
        };
        assert_eq!(*stage, HoldStage::Constraint);
        assert!(
            reason.contains("division 371523 is outside the source's division 371524"),
            "{reason}"
        );
        let held = harness.store.quarantine_list(false).await.unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].stage, QuarantineStage::Constraint);
        assert!(
            harness.outbox("finance-oa:CZ-1").await.is_empty(),
            "nothing published"
        );

        // The right division but another agency.
        let mut constraints = HashMap::new();
        constraints.insert(
            "finance-oa".to_string(),
            SourceConstraints {
                agencies: vec![with_check("11371524MB1234567", uscc_check_char)],
                division: None,
            },
        );
        let other = Harness::constrained(
            tempfile::tempdir().unwrap(),
            harness.store.clone(),
            constraints,
        )
        .await;
        let report = other
            .ingestor
            .ingest(batch_of(&export(&[FinanceCase::valid("CZ-9")])), false)
            .await
            .unwrap();
        let ItemOutcome::Quarantined { reason, .. } = &report.outcomes[0] else {
            panic!("refused: {report:?}");
        };
        assert!(
            reason.contains("is not one this source may submit records for"),
            "{reason}"
        );
    })
    .await;
}

/// The finance-oa mapping with the case's `<更新时间>` as `source.updated_at`, as a department system
/// that stamps its changes would be mapped.
fn stamped_mapping(dir: &std::path::Path) -> Arc<Mapping> {
    let text = std::fs::read_to_string(repo().join("mappings/finance-oa.toml")).unwrap();
    let text = text.replacen(
        "[fields]\n",
        "[fields]\n\"source.updated_at\" = { path = \"更新时间\" }\n",
        1,
    );
    let path = dir.join("finance-oa-stamped.toml");
    std::fs::write(&path, text).unwrap();
    Arc::new(Mapping::load(&path).unwrap())
}

/// An export of `cases`, each stamped with `updated_at` (`<更新时间>`).
fn stamped_export(cases: &[FinanceCase], updated_at: &str) -> String {
    export(cases).replace(
        "    <类别>",
        &format!("    <更新时间>{updated_at}</更新时间>\n    <类别>"),
    )
}

/// Regression (issue 9): a department resending an old export after a revoking one republished the
/// revoked decision. Now a version older than the stored one, by the source's own stamp, is held in
/// quarantine as `stale`: nothing is queued for it, the record stays withdrawn, its file still moves
/// to done/, and a record the old export carries that is new is stored as usual.
#[tokio::test]
async fn an_old_export_resent_after_a_revoking_one_is_stale_and_never_republished() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        let mapping_dir = tempfile::tempdir().unwrap();
        harness.connector.mapping = stamped_mapping(mapping_dir.path());
        let first = stamped_export(&[FinanceCase::valid("CZ-1")], "2026-10-30 09:00:00");
        harness.drop_file("a.xml", first.as_bytes()).await;
        let mut revoked = FinanceCase::valid("CZ-1");
        revoked.status = "已撤销";
        harness
            .drop_file("b.xml", stamped_export(&[revoked], "2026-11-07 09:00:00").as_bytes())
            .await;
        let before = harness.outbox("finance-oa:CZ-1").await;
        assert_eq!(
            platforms_of(&before, OutboxOp::Retract, 2),
            ["chiping-county", "liaocheng-city", "shandong-province"]
        );

        // The first export again (a re-sent file, a restored backup), with a case not seen before.
        let resent = stamped_export(
            &[FinanceCase::valid("CZ-1"), FinanceCase::valid("CZ-2")],
            "2026-10-30 09:00:00",
        );
        harness.drop_file("c.xml", resent.as_bytes()).await;

        assert_eq!(
            harness.outbox("finance-oa:CZ-1").await,
            before,
            "nothing is queued for the stale version"
        );
        let latest = harness.store.latest("finance-oa:CZ-1").await.unwrap().unwrap();
        assert_eq!(latest.version, 2);
        assert!(latest.retracted, "the revoked decision stays withdrawn");
        assert_eq!(
            harness.store.latest("finance-oa:CZ-2").await.unwrap().unwrap().version,
            1,
            "a new case in the old export is stored"
        );
        let held = harness.store.quarantine_list(false).await.unwrap();
        let stale: Vec<_> = held
            .iter()
            .filter(|entry| entry.stage == QuarantineStage::Stale)
            .collect();
        assert_eq!(stale.len(), 1, "{held:?}");
        assert_eq!(stale[0].record_id.as_deref(), Some("finance-oa:CZ-1"));
        assert!(stale[0].origin.ends_with("c.xml:3"), "{}", stale[0].origin);
        assert!(
            stale[0].reason.contains(
                "source.updated_at 2026-10-30T09:00:00 is older than source.updated_at 2026-11-07T09:00:00 of the stored version 2"
            ),
            "{}",
            stale[0].reason
        );
        assert_eq!(harness.folder("done"), ["a.xml", "b.xml", "c.xml"]);

        // The same stamp with other content is a correction the source did not restamp: stored.
        let mut corrected = FinanceCase::valid("CZ-2");
        corrected.decided_on = "2026年10月13日";
        harness
            .drop_file("d.xml", stamped_export(&[corrected], "2026-10-30 09:00:00").as_bytes())
            .await;
        assert_eq!(
            harness.store.latest("finance-oa:CZ-2").await.unwrap().unwrap().version,
            2
        );

        // A replay is the operator's decision: the stale version is stored and published.
        let old = stamped_export(&[FinanceCase::valid("CZ-1")], "2026-10-30 09:00:00");
        let old = Arc::new(
            dhub_connectors::folder::map_document(
                &harness.connector.mapping,
                "finance-oa",
                old.as_bytes(),
                "replay.xml",
            )
            .unwrap(),
        );
        let report = harness.ingestor.ingest(old.clone(), false).await.unwrap();
        assert!(
            matches!(&report.outcomes[0], ItemOutcome::Quarantined { stage: HoldStage::Stale, .. }),
            "{report:?}"
        );
        let report = harness.ingestor.replay(old, stale[0].id).await.unwrap();
        assert!(
            matches!(&report.outcomes[0], ItemOutcome::Accepted { version: 3, .. }),
            "{report:?}"
        );
    })
    .await;
}

/// The first export, a revoking one, and the first resent (`first` and `resend` write a file,
/// `revoking` the revoking one); then checks that the resent version was held as `stale` with a
/// reason containing `why`, nothing was queued for it, and the revoked decision stays withdrawn.
async fn resent_after_revocation_is_stale(
    harness: &mut Harness,
    first: &str,
    revoking: &str,
    resend: &str,
    why: &str,
) {
    let before = harness.outbox("finance-oa:CZ-1").await;
    assert_eq!(
        platforms_of(&before, OutboxOp::Retract, 2),
        ["chiping-county", "liaocheng-city", "shandong-province"],
        "{first} then {revoking}: the revocation is queued"
    );
    let held = harness.store.quarantine_list(false).await.unwrap();
    let stale: Vec<_> = held
        .iter()
        .filter(|entry| entry.stage == QuarantineStage::Stale)
        .collect();
    assert_eq!(stale.len(), 1, "{resend}: {held:?}");
    assert_eq!(stale[0].record_id.as_deref(), Some("finance-oa:CZ-1"));
    assert!(stale[0].origin.contains(resend), "{}", stale[0].origin);
    assert!(stale[0].reason.contains(why), "{}", stale[0].reason);
    let latest = harness
        .store
        .latest("finance-oa:CZ-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.version, 2);
    assert!(latest.retracted, "the revoked decision stays withdrawn");
    assert_eq!(harness.folder("done"), [first, revoking, resend]);
}

/// A finance-oa export stating when it was made (`导出时间`, the mapping's `exported_at`).
fn dated_export(cases: &[FinanceCase], exported_at: &str) -> String {
    export(cases).replacen(
        "系统=\"财政局办公系统\"",
        &format!("系统=\"财政局办公系统\" 导出时间=\"{exported_at}\""),
        1,
    )
}

/// Issue 9, the fallback where a mapping gives no source stamp: a record is aged by its export's
/// own time (finance-oa's `导出时间`, `[mapping] exported_at`). The first export resent after a
/// revoking one is held as `stale`; the platforms are sent nothing for it. An export time that does
/// not parse sends the file to `failed/`, without quoting the value.
#[tokio::test]
async fn without_a_source_stamp_an_old_export_is_stale_by_its_export_time() {
    on_both_backends(|store| async move {
        let mut harness = Harness::new(store).await;
        let mut revoked = FinanceCase::valid("CZ-1");
        revoked.status = "已撤销";
        let first = dated_export(&[FinanceCase::valid("CZ-1")], "2026-10-30 09:00:00");
        harness.drop_file("a.xml", first.as_bytes()).await;
        harness
            .drop_file("b.xml", dated_export(&[revoked], "2026-11-07 09:00:00").as_bytes())
            .await;
        let queued = harness.outbox("finance-oa:CZ-1").await;
        // Written after the revoking file, but stating the first export's time: a resent export.
        harness.drop_file("c.xml", first.as_bytes()).await;
        assert_eq!(harness.outbox("finance-oa:CZ-1").await, queued, "nothing queued");
        resent_after_revocation_is_stale(
            &mut harness,
            "a.xml",
            "b.xml",
            "c.xml",
            "export time 2026-10-30T09:00:00 is older than export time 2026-11-07T09:00:00 of the stored version 2",
        )
        .await;

        harness
            .drop_file("d.xml", dated_export(&[FinanceCase::valid("CZ-3")], "上周").as_bytes())
            .await;
        assert_eq!(harness.folder("failed"), ["d.xml", "d.xml.reason"]);
        let reason = std::fs::read_to_string(harness.inbox.join("failed/d.xml.reason")).unwrap();
        assert!(reason.contains("d.xml: the export time (`exported_at` of mapping `finance-oa`)"), "{reason}");
        assert!(!reason.contains("上周"), "{reason}");
        assert!(harness.store.latest("finance-oa:CZ-3").await.unwrap().is_none());
    })
    .await;
}

/// Issue 9, the last fallback: a mapping with neither a source stamp nor an export time ages a
/// record by its file's modification time at the claim. An old export restored with its time
/// (a backup, `cp -p`) after a revoking one is held as `stale`.
#[tokio::test]
async fn without_any_stamp_an_old_export_is_stale_by_its_file_time() {
    let mut harness = Harness::on_sqlite().await;
    let text = std::fs::read_to_string(repo().join("mappings/finance-oa.toml")).unwrap();
    let text: String = text
        .lines()
        .filter(|line| !line.starts_with("exported_at"))
        .map(|line| format!("{line}\n"))
        .collect();
    let mapping_dir = tempfile::tempdir().unwrap();
    let path = mapping_dir.path().join("finance-oa-plain.toml");
    std::fs::write(&path, text).unwrap();
    harness.connector.mapping = Arc::new(Mapping::load(&path).unwrap());
    let mut revoked = FinanceCase::valid("CZ-1");
    revoked.status = "已撤销";
    // The export files state their times, which this mapping does not read.
    let first = dated_export(&[FinanceCase::valid("CZ-1")], "2026-11-07 09:00:00");
    let then = std::time::SystemTime::now() - Duration::from_secs(3 * 3600);
    harness
        .drop_file_dated("a.xml", first.as_bytes(), then)
        .await;
    harness
        .drop_file_dated(
            "b.xml",
            dated_export(&[revoked], "2026-10-30 09:00:00").as_bytes(),
            then + Duration::from_secs(3600),
        )
        .await;
    let queued = harness.outbox("finance-oa:CZ-1").await;
    harness
        .drop_file_dated("c.xml", first.as_bytes(), then)
        .await;
    assert_eq!(
        harness.outbox("finance-oa:CZ-1").await,
        queued,
        "nothing queued"
    );
    resent_after_revocation_is_stale(&mut harness, "a.xml", "b.xml", "c.xml", "file time ").await;
    let held = harness.store.quarantine_list(false).await.unwrap();
    assert!(
        held[0].reason.contains("UTC is older than file time"),
        "{}",
        held[0].reason
    );
}

/// A source stamp the validation cannot read holds the record at the validation stage, naming the
/// field, rather than disabling the stale check for it.
#[tokio::test]
async fn an_unreadable_source_stamp_is_a_validation_error_naming_the_field() {
    let mut harness = Harness::on_sqlite().await;
    let mapping_dir = tempfile::tempdir().unwrap();
    harness.connector.mapping = stamped_mapping(mapping_dir.path());
    harness
        .drop_file(
            "a.xml",
            stamped_export(&[FinanceCase::valid("CZ-1")], "上周").as_bytes(),
        )
        .await;
    let held = harness.store.quarantine_list(false).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].stage, QuarantineStage::Validation);
    assert!(
        held[0].reason.contains("source.updated_at"),
        "{}",
        held[0].reason
    );
    assert!(!held[0].reason.contains("上周"), "{}", held[0].reason);
}

/// Issue 9: a NUL or another C0 control character in a record's text made a Postgres platform view
/// refuse the envelope. Validation refuses such a record with the field and the character named
/// (never the text), the records beside it in the file are stored, and what is published (TAB and
/// LF are text) is stored by a platform view on Postgres without a rejection.
#[tokio::test]
async fn control_characters_are_refused_by_validation_and_the_rest_reaches_a_postgres_view() {
    let state = dhub_testkit::fresh_postgres_db().await.unwrap();
    let mut harness = Harness::new(Store::connect(state.url()).await.unwrap()).await;
    let facts = "当事人张三丰未按规定填制会计凭证，联系电话13812345678。";
    let case = |key: &'static str, from: &str, to: &str| {
        let xml = FinanceCase::valid(key).xml();
        assert!(xml.contains(from));
        xml.replace(from, to)
    };
    let body = [
        case("CZ-1", facts, "第一行\t制表&#10;第二行&#13;"),
        case("CZ-2", facts, "当事人&#0;未按规定填制会计凭证。"),
        case("CZ-3", "茌财罚〔2026〕12号", "茌财罚&#x1B;〔2026〕12号"),
    ]
    .concat();
    let file = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<执法信息导出>\n{body}</执法信息导出>\n"
    );
    harness.drop_file("a.xml", file.as_bytes()).await;

    let held = harness.store.quarantine_list(false).await.unwrap();
    let reasons: Vec<(Option<&str>, QuarantineStage, &str)> = held
        .iter()
        .map(|q| (q.record_id.as_deref(), q.stage, q.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                Some("finance-oa:CZ-2"),
                QuarantineStage::Validation,
                "facts: contains the control character U+0000; remove it at the source"
            ),
            (
                Some("finance-oa:CZ-3"),
                QuarantineStage::Validation,
                "document_no: contains the control character U+001B; remove it at the source"
            ),
        ]
    );

    let view_db = dhub_testkit::fresh_postgres_db().await.unwrap();
    let view = dhub_platform::View::open(view_db.url()).await.unwrap();
    let messages: Vec<dhub_platform::FeedMessage> = harness
        .store
        .history("finance-oa:CZ-1")
        .await
        .unwrap()
        .queued
        .iter()
        .filter(|entry| entry.is_for("chiping-county"))
        .enumerate()
        .map(|(offset, entry)| {
            dhub_platform::FeedMessage::new(
                "disclosure.county.371523",
                0,
                offset as i64,
                Some(entry.record_id.as_str()),
                entry.payload.to_vec(),
            )
        })
        .collect();
    assert_eq!(messages.len(), 1);
    let stats = view.apply(&messages).await.unwrap();
    assert_eq!((stats.upserted, stats.rejected), (1, 0), "{stats:?}");
    let shown = view.get("finance-oa:CZ-1").await.unwrap().unwrap();
    assert!(
        shown.to_string().contains("第一行\\t制表\\n第二行"),
        "{shown}"
    );
    view.close().await;
    harness.store.close().await;
    view_db.drop().await.unwrap();
    state.drop().await.unwrap();
}
