//! The law's clocks in the hub (issue 8), on a real SQLite state store through the real ingest step:
//! publicity expiry by the `record_facts` column at midnight Asia/Shanghai across a restart, with a
//! `publicity_expired` retraction for every platform that shows the record; deadlines met by the
//! platforms' acknowledgements (not by queuing), with 调休 and a year without calendar data; the
//! annual report of a generated year against counts computed here, its HTML page rendered in
//! headless Chromium; `sgs.2021` envelopes field by field; division codes on `decided_on`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use dhub::compliance::{self, ComplianceSetup};
use dhub::telemetry::Telemetry;
use dhub_compliance::{DeadlineKind, DeadlineState, PublicityRules};
use dhub_ingest::publicity::{next_wake, sweep_at};
use dhub_ingest::{Clocks, Ingestor, OutboxHandoff, Platform, Routing};
use dhub_redaction::Policy;
use dhub_schema::divisions::Level;
use dhub_schema::intake::{Intake, IntakeBatch, ItemOutcome, Origin};
use dhub_store::{FeedAck, OutboxOp, Store};
use serde_json::{json, Value};

const AGENCY_USCC: &str = "113715230042112358";

fn platform(name: &str, level: Level, division: &str, format: &str) -> Platform {
    Platform {
        name: name.into(),
        level,
        division: division.into(),
        policy: "public".into(),
        format: format.into(),
        topic: Platform::topic_name("", level, division),
    }
}

fn demo_routing() -> Routing {
    Routing::new(vec![
        platform("chiping-county", Level::County, "371523", "disclosure.v1"),
        platform("donge-county", Level::County, "371524", "disclosure.v1"),
        platform("liaocheng-city", Level::City, "371500", "disclosure.v1"),
        platform(
            "shandong-province",
            Level::Province,
            "370000",
            "disclosure.v1",
        ),
    ])
}

fn ingestor(store: &Store, routing: &Routing, clocks: Clocks) -> Ingestor {
    let public = Arc::new(Policy::builtin("public").unwrap());
    Ingestor {
        store: store.clone(),
        routing: Arc::new(routing.clone()),
        policies: Arc::new(
            routing
                .platforms()
                .iter()
                .map(|p| (p.name.clone(), public.clone()))
                .collect(),
        ),
        constraints: Arc::new(Default::default()),
        events: Arc::new(Telemetry::new()),
        handoff: OutboxHandoff::default(),
        handoff_order: Arc::default(),
        clocks,
        documents: None,
    }
}

/// A valid record of `category` decided on `decided_on` (a company as counterparty: no personal data).
fn record(key: &str, category: &str, division: &str, decided_on: &str) -> Value {
    let mut value = json!({
        "record_id": format!("oa:{key}"),
        "category": category,
        "status": "in_force",
        "procedure": "ordinary",
        "division_code": division,
        "agency": {"name": "茌平县财政局", "uscc": AGENCY_USCC},
        "document_no": format!("茌财〔2025〕{key}号"),
        "counterparty": {"name": "聊城福顺商贸有限公司", "kind": "legal_person", "uscc": "91371523MA3FFT4371"},
        "content": "依法作出决定",
        "decided_on": decided_on,
        "source": {"name": "oa", "key": key, "fetched_at": "2026-01-01T00:00:00Z"}
    });
    if category == "penalty" {
        value["penalty_kinds"] = json!(["warning", "fine"]);
        value["fine_amount"] = json!("5000.00");
        value["facts"] = json!("提供虚假材料");
        value["legal_basis"] = json!("《中华人民共和国政府采购法》第七十七条");
    }
    value
}

async fn submit(ingestor: &Ingestor, values: Vec<Value>) -> Vec<ItemOutcome> {
    let items = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Intake::Mapped {
            value,
            origin: Origin::File {
                path: "export.json".into(),
                line: i as u64 + 1,
            },
            raw: Arc::new(String::from("{}")),
        })
        .collect();
    let batch = IntakeBatch {
        source: "oa".into(),
        mapping_name: "test".into(),
        mapping_version: "1".into(),
        items,
        positions: Vec::new(),
        exported: None,
    };
    ingestor
        .ingest(Arc::new(batch), false)
        .await
        .unwrap()
        .outcomes
}

/// Acknowledges every queued entry on every platform it names, at `at` (as the relay does once the
/// broker answered).
async fn acknowledge_all(store: &Store, at: DateTime<Utc>) {
    let entries = store.entries_after(0, 100_000).await.unwrap();
    let mut by_platform: BTreeMap<String, Vec<FeedAck>> = BTreeMap::new();
    for entry in &entries {
        for platform in &entry.platforms {
            by_platform
                .entry(platform.clone())
                .or_default()
                .push(FeedAck {
                    record_id: entry.record_id.clone(),
                    version: entry.version,
                    op: entry.op,
                    seq: entry.seq,
                    partition: 0,
                    offset: entry.seq,
                    acked_at_ms: at.timestamp_millis(),
                });
        }
    }
    for (platform, acks) in by_platform {
        let mark = acks.iter().map(|a| a.seq).max().unwrap_or(0);
        store
            .record_acks(&platform, mark, &acks, None)
            .await
            .unwrap();
    }
}

fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, min, s)
        .unwrap()
        .with_timezone(&Utc)
}

async fn sqlite(dir: &Path) -> (Store, String) {
    let url = format!("sqlite://{}", dir.join("state.db").display());
    (Store::connect(&url).await.unwrap(), url)
}

/// The retract entries of a record: (reason, platforms).
async fn retractions(store: &Store, record_id: &str) -> Vec<(String, Vec<String>)> {
    store
        .entries_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record_id == record_id && e.op == OutboxOp::Retract)
        .map(|e| {
            let envelope: Value = serde_json::from_slice(&e.payload).unwrap();
            let mut platforms = e.platforms.clone();
            platforms.sort();
            (envelope["reason"].as_str().unwrap().to_string(), platforms)
        })
        .collect()
}

#[tokio::test]
async fn publicity_expires_at_midnight_in_shanghai_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = sqlite(dir.path()).await;
    let routing = demo_routing();
    let clocks = Clocks::default();
    let hub = ingestor(&store, &routing, clocks.clone());
    let mut ends_march = record("A1", "penalty", "371523", "2026-05-01");
    ends_march["publicity_until"] = json!("2027-03-31");
    let mut ends_april = record("A2", "licensing", "371524", "2026-05-01");
    ends_april["publicity_until"] = json!("2027-04-01");
    submit(&hub, vec![ends_march, ends_april]).await;

    // 23:59:59 on the last public day in Shanghai: still up.
    let last_second = shanghai(2027, 3, 31, 23, 59, 59);
    assert_eq!(
        sweep_at(&store, &routing, &clocks, last_second, None)
            .await
            .unwrap(),
        0
    );
    // The schedule comes from the store: the next wake-up is the first instant of April 1 there.
    let noon = shanghai(2027, 3, 31, 12, 0, 0);
    let at_noon = Clocks {
        now: Arc::new(move || noon),
        ..clocks.clone()
    };
    let wait = next_wake(&store, &at_noon, std::time::Duration::from_secs(86_400 * 7))
        .await
        .unwrap();
    assert_eq!(wait, std::time::Duration::from_secs(12 * 3600));

    // Restart: a new process opens the same state store.
    store.close().await;
    drop(store);
    let store = Store::connect(&url).await.unwrap();
    // Midnight in Shanghai is 16:00 UTC the day before: a UTC-date sweep would still wait 8 hours.
    let midnight = shanghai(2027, 4, 1, 0, 0, 0);
    assert_eq!(
        midnight.date_naive(),
        NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()
    );
    assert_eq!(
        sweep_at(&store, &routing, &clocks, midnight, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        retractions(&store, "oa:A1").await,
        [(
            "publicity_expired".to_string(),
            vec![
                "chiping-county".to_string(),
                "liaocheng-city".to_string(),
                "shandong-province".to_string()
            ]
        )]
    );
    assert!(retractions(&store, "oa:A2").await.is_empty());
    // Once only.
    assert_eq!(
        sweep_at(&store, &routing, &clocks, midnight, None)
            .await
            .unwrap(),
        0
    );
    let next_midnight = shanghai(2027, 4, 2, 0, 0, 0);
    assert_eq!(
        sweep_at(&store, &routing, &clocks, next_midnight, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        retractions(&store, "oa:A2").await,
        [(
            "publicity_expired".to_string(),
            vec![
                "donge-county".to_string(),
                "liaocheng-city".to_string(),
                "shandong-province".to_string()
            ]
        )]
    );
    let facts = store.all_facts(None).await.unwrap();
    assert!(facts
        .iter()
        .all(|f| f.facts.withdrawn_reason.as_deref() == Some("publicity_expired")));
    store.close().await;
}

#[tokio::test]
async fn configured_publicity_periods_are_stored_as_the_queryable_end() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite(dir.path()).await;
    let routing = demo_routing();
    let clocks = Clocks {
        publicity: Some(PublicityRules::default()),
        ..Clocks::default()
    };
    let hub = ingestor(&store, &routing, clocks);
    // A warning and a 5,000 yuan fine on a company: minor, 3 months from the decision.
    let minor = record("P1", "penalty", "371523", "2026-09-15");
    // The source's own date wins.
    let mut own = record("P2", "penalty", "371523", "2026-09-15");
    own["publicity_until"] = json!("2029-09-15");
    // Inspections have no configured period: no end.
    let inspection = record("P3", "inspection", "371523", "2026-09-15");
    submit(&hub, vec![minor, own, inspection]).await;
    let facts: BTreeMap<String, (Option<String>, String, Option<i64>)> = store
        .all_facts(None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.facts.record_id.clone(),
                (
                    f.facts.publicity_until,
                    f.facts.publicity_basis,
                    f.facts.fine_fen,
                ),
            )
        })
        .collect();
    assert_eq!(
        facts["oa:P1"],
        (
            Some("2026-12-15".into()),
            "minor_penalty".into(),
            Some(500_000)
        )
    );
    assert_eq!(
        facts["oa:P2"],
        (Some("2029-09-15".into()), "source".into(), Some(500_000))
    );
    assert_eq!(facts["oa:P3"], (None, "no_end".into(), None));
    store.close().await;
}

fn setup() -> ComplianceSetup {
    ComplianceSetup::default()
}

fn find(
    evaluated: &[compliance::Evaluated],
    record_id: &str,
    kind: DeadlineKind,
) -> compliance::Evaluated {
    evaluated
        .iter()
        .find(|e| e.record_id == record_id && e.deadline.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} deadline for {record_id}: {evaluated:?}"))
        .clone()
}

#[tokio::test]
async fn deadlines_count_working_days_with_tiaoxiu_and_are_met_only_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite(dir.path()).await;
    let routing = demo_routing();
    let hub = ingestor(&store, &routing, Clocks::default());
    // Friday 2025-09-26, before the National Day week: Sunday 09-28 is a working day (调休),
    // 10-01…10-08 are off, Saturday 10-11 works. 7 working days: 09-28, 09-29, 09-30, 10-09, 10-10,
    // 10-11, 10-13.
    let friday = record("D1", "penalty", "371523", "2025-09-26");
    // An inspection: 20 working days.
    let inspection = record("D2", "inspection", "371524", "2025-09-26");
    submit(&hub, vec![friday, inspection]).await;
    let setup = setup();

    let on = |d: &str| d.parse::<NaiveDate>().unwrap();
    let (evaluated, counts) = compliance::all_deadlines(&store, &setup, on("2025-10-10"))
        .await
        .unwrap();
    let d1 = find(&evaluated, "oa:D1", DeadlineKind::Publication);
    assert_eq!(d1.deadline.due.value, on("2025-10-13"));
    // (10-10, 10-13] holds two working days (Saturday 10-11 and Monday 10-13).
    assert_eq!(d1.state, DeadlineState::DueSoon);
    assert!(d1.uncovered_years.is_empty());
    assert_eq!(
        find(&evaluated, "oa:D2", DeadlineKind::Publication)
            .deadline
            .due
            .value,
        on("2025-10-30")
    );
    assert_eq!(
        counts.get(DeadlineKind::Publication, DeadlineState::DueSoon),
        1
    );
    assert_eq!(
        counts.get(DeadlineKind::Publication, DeadlineState::Open),
        1
    );
    // Queued is not published: after the due day it is overdue.
    let (evaluated, _) = compliance::all_deadlines(&store, &setup, on("2025-10-14"))
        .await
        .unwrap();
    assert_eq!(
        find(&evaluated, "oa:D1", DeadlineKind::Publication).state,
        DeadlineState::Overdue
    );
    let lines: Vec<_> = evaluated
        .iter()
        .filter_map(|e| {
            setup.deadlines.report_line(
                &setup.calendar,
                &e.record_id,
                &e.deadline,
                on("2025-10-14"),
                e.acknowledged_on,
                false,
            )
        })
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"record_id": "oa:D1", "deadline": "publication", "due": "2025-10-13", "state": "overdue"})
        ]
    );

    // Acknowledged by every platform on 10-09 (Shanghai): met, and on time.
    acknowledge_all(&store, shanghai(2025, 10, 9, 10, 0, 0)).await;
    let (evaluated, counts) = compliance::all_deadlines(&store, &setup, on("2025-10-14"))
        .await
        .unwrap();
    let d1 = find(&evaluated, "oa:D1", DeadlineKind::Publication);
    assert_eq!(d1.state, DeadlineState::Met);
    assert_eq!(d1.acknowledged_on, Some(on("2025-10-09")));
    assert!(!d1.deadline.late(on("2025-10-14"), d1.acknowledged_on));
    assert_eq!(counts.get(DeadlineKind::Publication, DeadlineState::Met), 2);
    assert_eq!(
        counts.to_json()["publication"],
        json!({"met": 2, "due": 0, "due_soon": 0, "overdue": 0})
    );

    // Revoked with effect from Friday 10-17: withdrawn within 3 calendar days, by 10-20; met only
    // when every platform that had it acknowledged the retraction.
    let mut revoked = record("D1", "penalty", "371523", "2025-09-26");
    revoked["status"] = json!("revoked");
    revoked["status_changed_on"] = json!("2025-10-17");
    submit(&hub, vec![revoked]).await;
    let (evaluated, _) = compliance::all_deadlines(&store, &setup, on("2025-10-21"))
        .await
        .unwrap();
    let withdrawal = find(&evaluated, "oa:D1", DeadlineKind::Withdrawal);
    assert_eq!(withdrawal.deadline.due.value, on("2025-10-20"));
    assert_eq!(withdrawal.state, DeadlineState::Overdue);
    acknowledge_all(&store, shanghai(2025, 10, 18, 9, 0, 0)).await;
    let (evaluated, _) = compliance::all_deadlines(&store, &setup, on("2025-10-21"))
        .await
        .unwrap();
    let withdrawal = find(&evaluated, "oa:D1", DeadlineKind::Withdrawal);
    assert_eq!(withdrawal.state, DeadlineState::Met);
    assert_eq!(withdrawal.acknowledged_on, Some(on("2025-10-18")));

    // Counted as working days in a region that says so: 10-20, 10-21, 10-22.
    let working: dhub_compliance::DeadlinesConfig =
        toml::from_str("[[region]]\ndivision = \"370000\"\nwithdrawal_day_kind = \"working\"\n")
            .unwrap();
    let regional = ComplianceSetup {
        deadlines: dhub_compliance::DeadlineRules::compile(&working).unwrap(),
        ..setup.clone()
    };
    let (evaluated, _) = compliance::all_deadlines(&store, &regional, on("2025-10-21"))
        .await
        .unwrap();
    assert_eq!(
        find(&evaluated, "oa:D1", DeadlineKind::Withdrawal)
            .deadline
            .due
            .value,
        on("2025-10-22")
    );
    store.close().await;
}

/// The running hub counts deadlines a page of records at a time (reading every record's facts at
/// once held 165 MB more at 360,000 records, every minute); the counts are those of every record.
#[tokio::test]
async fn the_hubs_deadline_counts_page_through_the_records_and_miss_none() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite(dir.path()).await;
    let routing = demo_routing();
    let hub = ingestor(&store, &routing, Clocks::default());
    let records = (0..7)
        .map(|n| {
            let category = if n % 2 == 0 { "penalty" } else { "inspection" };
            record(&format!("P{n}"), category, "371523", "2025-09-26")
        })
        .collect();
    submit(&hub, records).await;
    let setup = setup();
    let today: NaiveDate = "2025-10-10".parse().unwrap();
    let (evaluated, all) = compliance::all_deadlines(&store, &setup, today)
        .await
        .unwrap();
    assert_eq!(evaluated.len(), 7);
    // Pages of 3 (two full, one short), of 7 (full, then an empty one) and the hub's own size.
    for page in [3, 7, compliance::DEADLINE_PAGE] {
        let paged = compliance::deadline_counts(&store, &setup, today, page)
            .await
            .unwrap();
        assert_eq!(paged, all, "pages of {page}");
    }
    store.close().await;
}

#[tokio::test]
async fn a_deadline_in_a_year_without_calendar_data_is_flagged_never_guessed_silently() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite(dir.path()).await;
    let routing = demo_routing();
    let hub = ingestor(&store, &routing, Clocks::default());
    // The shipped calendar covers 2023–2026: a decision of 2022-12-20 runs through 2022.
    submit(&hub, vec![record("Y1", "penalty", "371523", "2022-12-20")]).await;
    let setup = setup();
    assert!(!setup.calendar.covers(2022));
    let today = NaiveDate::from_ymd_opt(2022, 12, 21).unwrap();
    let (evaluated, counts) = compliance::all_deadlines(&store, &setup, today)
        .await
        .unwrap();
    let y1 = find(&evaluated, "oa:Y1", DeadlineKind::Publication);
    // Weekdays only: 12-21, 22, 23, 26, 27, 28, 29.
    assert_eq!(
        y1.deadline.due.value,
        NaiveDate::from_ymd_opt(2022, 12, 29).unwrap()
    );
    assert_eq!(y1.uncovered_years, [2022]);
    assert_eq!(counts.uncovered_years.get(&2022), Some(&1));
    let line = setup
        .deadlines
        .report_line(&setup.calendar, "oa:Y1", &y1.deadline, today, None, true)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&line).unwrap(),
        json!({"record_id": "oa:Y1", "deadline": "publication", "due": "2022-12-29", "state": "open", "estimated": true})
    );
    // The hub's metric says so.
    let telemetry = Telemetry::new();
    telemetry.deadlines_checked(&counts);
    let metrics = telemetry.render();
    assert!(
        metrics.contains("dhub_calendar_uncovered_deadlines{year=\"2022\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dhub_deadlines{kind=\"publication\",state=\"open\"} 1"),
        "{metrics}"
    );
    store.close().await;
}

#[tokio::test]
async fn sgs2021_feeds_get_national_codes_for_penalties_and_licences_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite(dir.path()).await;
    let routing = Routing::new(vec![
        platform("credit-city", Level::City, "371500", "sgs.2021"),
        platform("chiping-county", Level::County, "371523", "disclosure.v1"),
    ]);
    let hub = ingestor(&store, &routing, Clocks::default());
    let penalty = record("S1", "penalty", "371523", "2026-05-01");
    let mut licence = record("S2", "licensing", "371523", "2026-05-02");
    licence["document_title"] = json!("准予行政许可决定书");
    licence["license"] = json!({"kind": "普通", "certificate": "政府采购代理资格证", "number": "XK-2026-0002", "valid_from": "2026-05-02", "valid_to": "2029-05-01"});
    let inspection = record("S3", "inspection", "371523", "2026-05-03");
    submit(&hub, vec![penalty, licence, inspection]).await;
    let entries = store.entries_after(0, 100).await.unwrap();
    let for_credit = |id: &str| -> Value {
        let entry = entries
            .iter()
            .find(|e| e.record_id == id && e.is_for("credit-city"))
            .unwrap();
        assert_eq!(
            dhub_publish::relay::envelope_schema(&entry.payload),
            serde_json::from_slice::<Value>(&entry.payload).unwrap()["schema"].as_str()
        );
        serde_json::from_slice(&entry.payload).unwrap()
    };
    let cf = for_credit("oa:S1");
    assert_eq!(cf["schema"], "sgs.2021");
    assert_eq!(
        cf["record"],
        json!({
            "CF_XDR_MC": "聊城福顺商贸有限公司",
            "CF_XDR_LB": "法人及非法人组织",
            "CF_XDR_SHXYM": "91371523MA3FFT4371",
            "CF_WSH": "茌财〔2025〕S1号",
            "CF_SY": "提供虚假材料",
            "CF_YJ": "《中华人民共和国政府采购法》第七十七条",
            "CF_CFLB": "警告;罚款",
            "CF_NR": "依法作出决定",
            "CF_NR_FK": "0.500000",
            "CF_JDRQ": "2026/05/01",
            "CF_CFJG": "茌平县财政局",
            "CF_CFJGDM": AGENCY_USCC,
            "CF_SJLY": "茌平县财政局",
            "CF_SJLYDM": AGENCY_USCC
        })
    );
    let xk = for_credit("oa:S2");
    assert_eq!(xk["schema"], "sgs.2021");
    assert_eq!(
        xk["record"],
        json!({
            "XK_XDR_MC": "聊城福顺商贸有限公司",
            "XK_XDR_LB": "法人及非法人组织",
            "XK_XDR_SHXYM": "91371523MA3FFT4371",
            "XK_XKWS": "准予行政许可决定书",
            "XK_WSH": "茌财〔2025〕S2号",
            "XK_XKLB": "普通",
            "XK_XKZS": "政府采购代理资格证",
            "XK_XKBH": "XK-2026-0002",
            "XK_NR": "依法作出决定",
            "XK_JDRQ": "2026/05/02",
            "XK_YXQZ": "2026/05/02",
            "XK_YXQZI": "2029/05/01",
            "XK_XKJG": "茌平县财政局",
            "XK_XKJGDM": AGENCY_USCC,
            "XK_ZT": "1",
            "XK_LYDW": "茌平县财政局",
            "XK_LYDWDM": AGENCY_USCC
        })
    );
    // No national layout for inspections: disclosure.v1, and the envelope (hence the header) says so.
    let other = for_credit("oa:S3");
    assert_eq!(other["schema"], "disclosure.v1");
    assert_eq!(other["record"]["category"], "inspection");
    // The county feed keeps disclosure.v1 for everything.
    let county = entries
        .iter()
        .find(|e| e.record_id == "oa:S1" && e.is_for("chiping-county"))
        .unwrap();
    assert_eq!(
        dhub_publish::relay::envelope_schema(&county.payload),
        Some("disclosure.v1")
    );
    // A retraction on the sgs feed names the schema of the record's upserts.
    let mut revoked = record("S1", "penalty", "371523", "2026-05-01");
    revoked["status"] = json!("revoked");
    submit(&hub, vec![revoked]).await;
    let entries = store.entries_after(0, 100).await.unwrap();
    let retract = entries
        .iter()
        .find(|e| e.record_id == "oa:S1" && e.op == OutboxOp::Retract && e.is_for("credit-city"))
        .unwrap();
    assert_eq!(
        dhub_publish::relay::envelope_schema(&retract.payload),
        Some("sgs.2021")
    );
    store.close().await;
}

#[tokio::test]
async fn division_codes_are_judged_on_the_decision_day_and_old_ones_route_to_the_successor() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite(dir.path()).await;
    // The platform of 茌平区 (371503), the code that replaced 茌平县 (371523) in 2019.
    let routing = Routing::new(vec![platform(
        "chiping-district",
        Level::County,
        "371503",
        "disclosure.v1",
    )]);
    let hub = ingestor(&store, &routing, Clocks::default());
    let old_code = record("V1", "penalty", "371523", "2026-05-01");
    let too_early = record("V2", "penalty", "371503", "2017-05-01");
    let outcomes = submit(&hub, vec![old_code, too_early]).await;
    assert!(
        matches!(&outcomes[0], ItemOutcome::Accepted { .. }),
        "{outcomes:?}"
    );
    match &outcomes[1] {
        ItemOutcome::Quarantined { reason, .. } => assert!(
            reason.contains("division_code: was not in use on decided_on"),
            "{reason}"
        ),
        other => panic!("not quarantined: {other:?}"),
    }
    let entries = store.entries_after(0, 100).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].platforms, ["chiping-district"]);
    store.close().await;
}

/// A generated year of cases (and some of the years around it), counted here independently.
struct Generated {
    values: Vec<Value>,
    expected: Value,
}

fn generate_year(year: i32) -> Generated {
    // A small deterministic generator (no dependency): the same cases every run.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let categories: Vec<&str> = dhub_schema::Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let divisions = ["371523", "371524", "371500"];
    let reasons = [
        "revoked",
        "confirmed_illegal",
        "confirmed_void",
        "redecided",
    ];
    let mut values = Vec::new();
    let mut by_category: BTreeMap<String, u64> =
        categories.iter().map(|c| (c.to_string(), 0)).collect();
    let mut by_division: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_agency: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_month: BTreeMap<String, u64> = (1..=12).map(|m| (format!("{m:02}"), 0)).collect();
    let mut by_reason: BTreeMap<String, u64> = [
        "revoked",
        "confirmed_illegal",
        "confirmed_void",
        "redecided",
        "publicity_expired",
        "manual",
    ]
    .iter()
    .map(|r| (r.to_string(), 0))
    .collect();
    let mut total = 0;
    let mut withdrawn = 0;
    for i in 0..240 {
        // One in six lies outside the year and must not count.
        let case_year = match next(6) {
            0 => year - 1,
            _ => year,
        };
        let month = next(12) as u32 + 1;
        let day = next(28) as u32 + 1;
        let decided_on = NaiveDate::from_ymd_opt(case_year, month, day).unwrap();
        let category = categories[next(6) as usize];
        let division = divisions[next(3) as usize];
        let mut value = record(
            &format!("G{i}"),
            category,
            division,
            &decided_on.to_string(),
        );
        let agency = if next(4) == 0 {
            value["agency"].as_object_mut().unwrap().remove("uscc");
            "unknown".to_string()
        } else {
            AGENCY_USCC.to_string()
        };
        let reason = (next(5) == 0).then(|| reasons[next(4) as usize]);
        if let Some(reason) = reason {
            value["status"] = json!(reason);
            value["status_changed_on"] = json!(decided_on.to_string());
        }
        if case_year == year {
            total += 1;
            *by_category.get_mut(category).unwrap() += 1;
            *by_division.entry(division.to_string()).or_default() += 1;
            *by_agency.entry(agency).or_default() += 1;
            *by_month.get_mut(&format!("{month:02}")).unwrap() += 1;
            if let Some(reason) = reason {
                withdrawn += 1;
                *by_reason.get_mut(reason).unwrap() += 1;
            }
        }
        values.push(value);
    }
    Generated {
        values,
        expected: json!({
            "year": year,
            "decisions": {"total": total, "by_category": by_category, "by_division": by_division,
                          "by_agency": by_agency, "by_month": by_month},
            "withdrawn": {"total": withdrawn, "by_reason": by_reason},
        }),
    }
}

fn hub_toml(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("hub.toml");
    std::fs::write(
        &path,
        "[hub]\nstate = \"sqlite://state.db\"\n\n[kafka]\nbrokers = \"127.0.0.1:9092\"\n\n\
         [[platform]]\nname = \"chiping-county\"\nlevel = \"county\"\ndivision = \"371523\"\n\n\
         [[platform]]\nname = \"donge-county\"\nlevel = \"county\"\ndivision = \"371524\"\n\n\
         [[platform]]\nname = \"liaocheng-city\"\nlevel = \"city\"\ndivision = \"371500\"\n\n\
         [[platform]]\nname = \"shandong-province\"\nlevel = \"province\"\ndivision = \"370000\"\n\n\
         [compliance]\ntime_zone = \"Asia/Shanghai\"\nissuer = \"聊城市司法局\"\n",
    )
    .unwrap();
    path
}

fn dhub(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_annual_report_of_a_generated_year_matches_independent_counts_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let config = hub_toml(dir.path());
    let (store, _) = sqlite(dir.path()).await;
    let hub = ingestor(&store, &demo_routing(), Clocks::default());
    let generated = generate_year(2025);
    submit(&hub, generated.values.clone()).await;
    // A manual withdrawal is counted by its reason too.
    let first_live = generated
        .values
        .iter()
        .find(|v| {
            v["status"] == "in_force" && v["decided_on"].as_str().unwrap().starts_with("2025")
        })
        .unwrap();
    dhub_ingest::retract_by_hand(
        &store,
        &demo_routing(),
        first_live["record_id"].as_str().unwrap(),
        dhub_ingest::RetractReason::Manual,
        None,
        None,
    )
    .await
    .unwrap();
    let mut expected = generated.expected.clone();
    expected["withdrawn"]["total"] = json!(expected["withdrawn"]["total"].as_u64().unwrap() + 1);
    expected["withdrawn"]["by_reason"]["manual"] = json!(1);
    // Published (acknowledged) on 2026-06-01 Shanghai: every 2025 publication is late by then.
    acknowledge_all(&store, shanghai(2026, 6, 1, 9, 0, 0)).await;
    store.close().await;

    let config_arg = config.to_str().unwrap();
    let json_out = dhub(&[
        "report", "annual", "--year", "2025", "--format", "json", "--config", config_arg,
    ]);
    assert!(
        json_out.status.success(),
        "{}",
        String::from_utf8_lossy(&json_out.stderr)
    );
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["year"], expected["year"]);
    assert_eq!(report["decisions"], expected["decisions"]);
    assert_eq!(report["withdrawn"], expected["withdrawn"]);
    // Every published 2025 decision was acknowledged in 2026: past its 7 / 20 working days, except
    // the ones withdrawn before publication (no publication deadline).
    let published = report["decisions"]["total"].as_u64().unwrap()
        - generated.expected["withdrawn"]["total"].as_u64().unwrap();
    assert_eq!(
        report["overdue"]["publication"].as_u64().unwrap(),
        published
    );
    assert!(
        report["publication_delay_working_days"]["median"]
            .as_i64()
            .unwrap()
            > 0
    );

    let csv_out = dhub(&[
        "report", "annual", "--year", "2025", "--format", "csv", "--config", config_arg,
    ]);
    assert!(csv_out.status.success());
    let csv = String::from_utf8(csv_out.stdout).unwrap();
    assert!(
        csv.starts_with('\u{feff}'),
        "CSV starts with a BOM for Excel"
    );
    assert!(
        csv.contains(&format!(
            "decisions.total,执法决定总数,{}\r\n",
            expected["decisions"]["total"]
        )),
        "{csv}"
    );

    let page = dir.path().join("annual-2025.html");
    let html_out = dhub(&[
        "report",
        "annual",
        "--year",
        "2025",
        "--format",
        "html",
        "--config",
        config_arg,
        "--output",
        page.to_str().unwrap(),
    ]);
    assert!(
        html_out.status.success(),
        "{}",
        String::from_utf8_lossy(&html_out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // No external assets (the SVG namespace URI is a name, not a fetch).
    for fetch in ["src=", "href=\"http", "url(", "@import", "<link", "<script"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    let chromium = dhub_testkit::browser::Chromium::find().unwrap();
    let url = format!("file://{}", page.display());
    let dom = chromium.dump_dom(&url).unwrap();
    assert!(
        dom.contains("行政执法统计年报") || dom.contains("统计年报"),
        "{dom}"
    );
    assert!(
        dom.matches("<svg").count() >= 3,
        "charts by category, month, division"
    );
    assert!(dom.contains(&expected["decisions"]["total"].to_string()));
    let shot = dhub_testkit::browser::artifact_path("annual-report-2025.png");
    chromium.screenshot(&url, &shot, 1280, 2400).unwrap();
    let size = std::fs::metadata(&shot).unwrap().len();
    // A blank page compresses to a few kilobytes; tables, charts and Chinese text do not.
    assert!(
        size > 40_000,
        "screenshot {} is {size} bytes: blank?",
        shot.display()
    );
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("screenshot of the annual report: {}\n", shot.display()).as_bytes(),
    );

    // The deadline report of the same store: CONTRACT §1 lines.
    let deadlines = dhub(&["report", "deadlines", "--config", config_arg]);
    assert!(
        deadlines.status.success(),
        "{}",
        String::from_utf8_lossy(&deadlines.stderr)
    );
    for line in String::from_utf8(deadlines.stdout).unwrap().lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        assert!(
            ["overdue", "due_soon"].contains(&line["state"].as_str().unwrap()),
            "{line}"
        );
        assert!(["publication", "withdrawal"].contains(&line["deadline"].as_str().unwrap()));
    }
}
