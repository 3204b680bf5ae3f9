//! The README's promises where they could break, each against the real hub process, the real broker
//! and the platforms' views, and under the views the raw feed topics (`dhub_testkit::feed`):
//!
//! - a later version that a policy now withholds (classified, a minor's) or that moved to another
//!   division is retracted from exactly the platforms that showed the earlier one, and shown nowhere
//!   again;
//! - every withdrawing status (`revoked`, `confirmed_illegal`, `confirmed_void`, `redecided`) travels
//!   from a department export to every platform view, with its reason on the feed;
//! - the hub's HTTP endpoints: `/readyz` fails while the broker or the state store is away and
//!   recovers, `/metrics` has every metric the README lists, `/api/status` matches the store;
//! - a broker that stops answering in mid-stream (its process frozen with envelopes in flight, then
//!   resumed) and a Postgres state store whose connections are killed again and again mid-run each end
//!   in the views of a clean run, with nothing lost on the raw feeds.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use common::broker::PrivateBroker;
use common::{
    check_raw_feeds, check_raw_feeds_on, eventually, every_delivery_recorded, expected_views,
    http_get, repo, HubProcess, HubSetup, Platforms,
};
use dhub_testkit::feed::{FeedState, Order};
use dhub_testkit::{
    apply_export, generate, BadCases, Case, Counterparty, GenConfig, Status, System,
    LIAOCHENG_MARKET,
};

type Views = BTreeMap<String, BTreeSet<String>>;

/// A small, clean set of cases: both systems, every market case decided by 东阿县's bureau, so each
/// record is shown on its county, the city and the province.
fn clean_cases(seed: u64) -> Vec<Case> {
    generate(&GenConfig {
        seed,
        finance_cases: 12,
        market_cases: 16,
        finance_bad: BadCases::NONE,
        market_bad: BadCases::NONE,
        market_city_fraction: 0.0,
        ..GenConfig::default()
    })
    .unwrap()
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// A hub run that publishes `first`, then receives `changed` (later versions of some of the cases),
/// with the views and the raw feeds after each step.
struct TwoExports {
    setup: HubSetup,
    platforms: Platforms,
    hub: HubProcess,
    before: Views,
    after: Views,
    feeds: BTreeMap<String, FeedState>,
    staged: tempfile::TempDir,
}

async fn publish_then_change(first: &[Case], changed: &[Case]) -> TwoExports {
    let before = expected_views(first);
    let after = expected_views(&apply_export(first, changed));
    let setup = HubSetup::new(None);
    let staged = tempfile::tempdir().unwrap();
    dhub_testkit::write_export_files(first, &staged.path().join("first"), "a-first", 100).unwrap();
    dhub_testkit::write_export_files_after(
        changed,
        &staged.path().join("second"),
        "b-second",
        100,
        first,
    )
    .unwrap();
    let platforms = Platforms::start(&setup.prefix).await;
    let hub = HubProcess::start(&setup, &[]);
    setup.deliver(&staged.path().join("first"));
    platforms.wait_for(&before, Duration::from_secs(60)).await;
    setup.deliver(&staged.path().join("second"));
    platforms.wait_for(&after, Duration::from_secs(60)).await;
    // No crash here: versions never go back on any topic.
    let feeds = check_raw_feeds(&setup.prefix, &after, Order::Strict).await;
    TwoExports {
        setup,
        platforms,
        hub,
        before,
        after,
        feeds,
        staged,
    }
}

impl TwoExports {
    /// For each changed record on each topic: shown before and not after → its last envelope is a
    /// retraction (version 2, the given reason, no record and none of `secrets`); shown after → an
    /// upsert of version 2; never shown there → not a single message on that topic.
    fn assert_retracted_exactly_where_shown(
        &self,
        changed: &[Case],
        reason: impl Fn(&Case) -> &'static str,
    ) {
        for case in changed {
            let id = case.record_id();
            for (topic, state) in &self.feeds {
                let (shown_before, shown_after) = (
                    self.before[topic].contains(&id),
                    self.after[topic].contains(&id),
                );
                let held = state.held.get(&id).cloned();
                match (shown_before, shown_after) {
                    (_, true) => assert_eq!(held, Some((2, "upsert".into())), "{id} on {topic}"),
                    (true, false) => {
                        assert_eq!(held, Some((2, "retract".into())), "{id} on {topic}");
                        let envelope = &state.last[&id];
                        assert_eq!(envelope["reason"], reason(case), "{id} on {topic}");
                        assert!(envelope.get("record").is_none(), "{id} on {topic}");
                        let text = envelope.to_string();
                        for secret in secrets(case) {
                            assert!(
                                !text.contains(&secret),
                                "the retraction of {id} on {topic} carries personal data"
                            );
                        }
                    }
                    (false, false) => assert_eq!(
                        held, None,
                        "{id} was never shown on {topic}: nothing may be sent there"
                    ),
                }
            }
        }
    }

    /// Stops and restarts the hub and sends the second export again (same content, new file names):
    /// nothing new may reach any feed, and the views stay as they are.
    async fn resend_changes_after_restart(self, changed: &[Case]) {
        let TwoExports {
            setup,
            platforms,
            hub,
            after,
            feeds,
            staged,
            ..
        } = self;
        assert!(hub.stop().await.success());
        let hub = HubProcess::start(&setup, &[]);
        let again = staged.path().join("again");
        let written = dhub_testkit::write_export_files(changed, &again, "c-again", 100).unwrap();
        let done_before = files_in(&setup.inbox(System::FinanceOa).join("done"))
            + files_in(&setup.inbox(System::MarketSupervision).join("done"));
        setup.deliver(&again);
        eventually(
            "the re-sent export is read",
            Duration::from_secs(30),
            || async {
                let done = files_in(&setup.inbox(System::FinanceOa).join("done"))
                    + files_in(&setup.inbox(System::MarketSupervision).join("done"));
                (done == done_before + written.len()).then_some(())
            },
        )
        .await;
        // Give the relay time to send anything it (wrongly) queued.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let later = check_raw_feeds(&setup.prefix, &after, Order::Strict).await;
        for (topic, state) in &later {
            assert_eq!(
                state.messages, feeds[topic].messages,
                "{topic}: a re-sent export put new messages on the feed"
            );
        }
        platforms.wait_for(&after, Duration::from_secs(5)).await;
        assert!(hub.stop().await.success());
        platforms.stop().await;
    }
}

/// Personal data of the case's natural persons, which no retraction may carry.
fn secrets(case: &Case) -> Vec<String> {
    let person = match &case.counterparty {
        Counterparty::NaturalPerson(person) => person,
        Counterparty::LegalPerson { legal_rep, .. } => legal_rep,
        Counterparty::IndividualBusiness { operator, .. } => operator,
    };
    vec![
        person.name.clone(),
        person.id_number.clone(),
        person.phone.clone(),
    ]
}

fn published(cases: &[Case], system: System) -> impl Iterator<Item = &Case> {
    cases
        .iter()
        .filter(move |c| c.system == system && c.expected_outcome().is_published())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_a_policy_now_withholds_is_retracted_from_exactly_the_platforms_that_showed_the_last(
) {
    let first = clean_cases(31);
    let mut market = published(&first, System::MarketSupervision);
    let person = published(&first, System::MarketSupervision)
        .find(|c| c.natural_person().is_some())
        .expect("a published natural person in the market cases; pick another seed");
    let others: Vec<&Case> = market
        .by_ref()
        .filter(|c| c.key != person.key)
        .take(2)
        .collect();
    let finance = published(&first, System::FinanceOa).next().unwrap();

    // v2: 东阿县's case becomes secret; the person turns out to be 16 on the decision date; another
    // 东阿县 case was in truth decided by the city's bureau; the finance case becomes internal.
    let classified = dhub_testkit::Case {
        classification: dhub_testkit::Classification::Secret,
        ..others[0].clone()
    };
    let mut minor = person.clone();
    if let Counterparty::NaturalPerson(p) = &mut minor.counterparty {
        let birth =
            NaiveDate::from_ymd_opt(minor.decided_on.year() - 16, minor.decided_on.month(), 1)
                .unwrap();
        p.id_number = dhub_testkit::ids::resident_id(&p.id_number[..6], birth, 7);
        p.birth_date = birth;
    }
    let moved = dhub_testkit::Case {
        agency: &LIAOCHENG_MARKET,
        ..others[1].clone()
    };
    let internal = dhub_testkit::Case {
        classification: dhub_testkit::Classification::Internal,
        ..finance.clone()
    };
    let changed = vec![classified, minor, moved.clone(), internal];
    assert_eq!(
        changed
            .iter()
            .map(|c| c.expected_outcome().label())
            .collect::<Vec<_>>(),
        [
            "withheld:classified",
            "withheld:minor",
            "published",
            "withheld:classified"
        ]
    );

    let run = publish_then_change(&first, &changed).await;
    // The moved case leaves 东阿县's county feed but stays on the city's and the province's.
    let county = "disclosure.county.371524";
    assert!(run.before[county].contains(&moved.record_id()));
    assert!(!run.after[county].contains(&moved.record_id()));
    assert!(run.after["disclosure.city.371500"].contains(&moved.record_id()));
    // A withdrawal the department did not ask for is `manual` (CONTRACT §4), with a note why.
    run.assert_retracted_exactly_where_shown(&changed, |_| "manual");
    // The withheld versions wait in quarantine with their reasons.
    let store = run.setup.store().await;
    assert_eq!(store.quarantine_count().await.unwrap(), 3);
    run.resend_changes_after_restart(&changed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_withdrawing_status_travels_from_the_export_to_every_platform_with_its_reason() {
    let first = clean_cases(47);
    let on = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
    let mut finance = published(&first, System::FinanceOa);
    let mut market = published(&first, System::MarketSupervision);
    let changed = vec![
        finance.next().unwrap().with_status(Status::Revoked, on),
        market
            .next()
            .unwrap()
            .with_status(Status::ConfirmedIllegal, on),
        finance
            .next()
            .unwrap()
            .with_status(Status::ConfirmedVoid, on),
        market.next().unwrap().with_status(Status::Redecided, on),
        finance.next().unwrap().with_status(Status::Redecided, on),
        market
            .next()
            .unwrap()
            .with_status(Status::ConfirmedVoid, on),
    ];
    let run = publish_then_change(&first, &changed).await;
    for case in &changed {
        assert!(
            run.after
                .values()
                .all(|ids| !ids.contains(&case.record_id())),
            "{} is shown nowhere",
            case.record_id()
        );
    }
    run.assert_retracted_exactly_where_shown(&changed, |case| case.status.as_str());
    run.resend_changes_after_restart(&changed).await;
}

/// The metrics the README lists after "Metrics:", with their labels. A name written as `_x_total`
/// shares the previous name's prefix (`dhub_records_received_total`, `_stored_total` →
/// `dhub_records_stored_total`).
fn readme_metrics() -> Vec<(String, Vec<String>)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("Metrics: ")
        .expect("the README lists the metrics");
    let paragraph = readme[start..].split("\n\n").next().unwrap();
    let mut metrics: Vec<(String, Vec<String>)> = Vec::new();
    for span in paragraph.split('`').skip(1).step_by(2) {
        let (name, labels) = match span.split_once('{') {
            Some((name, rest)) => (
                name,
                rest.trim_end_matches('}')
                    .split(',')
                    .map(str::to_owned)
                    .collect(),
            ),
            None => (span, Vec::new()),
        };
        let name = if name.starts_with('_') {
            let previous = &metrics
                .last()
                .expect("an abbreviation follows a full name")
                .0;
            let replaced = name.matches('_').count();
            let kept: Vec<&str> = previous.split('_').collect();
            format!("{}{name}", kept[..kept.len() - replaced].join("_"))
        } else {
            name.to_owned()
        };
        metrics.push((name, labels));
    }
    metrics
}

#[test]
fn the_readme_metric_list_is_read_whole() {
    let metrics = readme_metrics();
    let names: Vec<&str> = metrics.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"dhub_records_stored_total"), "{names:?}");
    assert!(names.contains(&"dhub_records_unchanged_total"), "{names:?}");
    assert!(
        names.contains(&"dhub_producer_replacements_total"),
        "{names:?}"
    );
    assert!(metrics.len() >= 15, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("dhub_")), "{names:?}");
}

/// Which README metrics `/metrics` lacks, or lacks a label of.
fn missing_metrics(exposition: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for (name, labels) in readme_metrics() {
        if !exposition.contains(&format!("# TYPE {name} ")) {
            missing.push(name);
            continue;
        }
        for label in labels {
            let labelled = exposition.lines().any(|line| {
                line.starts_with(&name)
                    && line.contains('{')
                    && line.contains(&format!("{label}=\""))
            });
            if !labelled {
                missing.push(format!("{name}{{{label}}}"));
            }
        }
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_broker_and_the_store_and_metrics_and_status_tell_the_truth() {
    let mut broker = PrivateBroker::start().await;
    let db = dhub_testkit::fresh_postgres_db().await.unwrap();
    let setup = HubSetup::new(Some(db.url()));
    // Deliveries to a broker that is away fail after 3 s instead of 5 min, so the failure is counted.
    let mut config = std::fs::read_to_string(&setup.config_path).unwrap();
    config.push_str("\n[kafka.properties]\n\"message.timeout.ms\" = \"3000\"\n");
    std::fs::write(&setup.config_path, config).unwrap();
    let hub = HubProcess::start(&setup, &[("DHUB_KAFKA__BROKERS", &broker.address())]);
    let port = setup.listen;
    let ready = |want: u16| async move {
        http_get(port, "/readyz")
            .await
            .filter(|(status, _)| *status == want)
            .map(|(_, body)| body)
    };
    eventually("/readyz answers 200", Duration::from_secs(30), || {
        ready(200)
    })
    .await;
    assert_eq!(http_get(port, "/healthz").await, Some((200, "ok".into())));

    setup.copy_samples("first");
    let store = setup.store().await;
    eventually(
        "the samples are stored and sent",
        Duration::from_secs(60),
        || async {
            let done = files_in(&setup.inbox(System::FinanceOa).join("done"))
                + files_in(&setup.inbox(System::MarketSupervision).join("done"));
            (done == 5 && store.pending_count().await.ok()? == 0).then_some(())
        },
    )
    .await;

    // /api/status is the store's own account.
    let (_, body) = http_get(port, "/api/status").await.unwrap();
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        status["outbox_pending"],
        store.pending_count().await.unwrap()
    );
    assert_eq!(
        status["quarantine_held"],
        store.quarantine_count().await.unwrap()
    );
    assert!(
        store.quarantine_count().await.unwrap() > 0,
        "the samples hold withheld records"
    );
    let platforms: Vec<&str> = status["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(platforms.len(), dhub_testkit::DEMO_PLATFORMS.len());
    assert_eq!(
        status["sources"],
        serde_json::json!(["finance-oa", "market-supervision"])
    );

    // The broker goes away: not ready, and what is sent meanwhile fails and is counted.
    broker.kill();
    let body = eventually(
        "/readyz fails without the broker",
        Duration::from_secs(30),
        || ready(503),
    )
    .await;
    assert!(body.contains("broker"), "{body}");
    setup.copy_samples("second");
    eventually(
        "the failed deliveries are counted",
        Duration::from_secs(30),
        || async {
            let (_, metrics) = http_get(port, "/metrics").await?;
            metrics
                .contains("dhub_publish_failures_total{")
                .then_some(())
        },
    )
    .await;
    let (_, body) = http_get(port, "/api/status").await.unwrap();
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(status["outbox_pending"].as_i64().unwrap() > 0, "{body}");
    broker.resume().await;
    // In-memory, the broker came back empty: give it the topics, as a real one keeps them.
    for platform in dhub_testkit::DEMO_PLATFORMS {
        let topic = format!("{}{}", setup.prefix, platform.topic());
        dhub_testkit::kafka::create_topic(&broker.address(), &[], &topic, 2)
            .await
            .unwrap();
    }
    eventually(
        "/readyz recovers with the broker",
        Duration::from_secs(30),
        || ready(200),
    )
    .await;

    // The store goes away: no new connection is allowed and the hub's are ended.
    let admin = dhub_testkit::test_postgres_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    let name = db.name().to_owned();
    sqlx::query(&format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut conn)
        .await
        .unwrap();
    let body = eventually(
        "/readyz fails without the store",
        Duration::from_secs(30),
        || ready(503),
    )
    .await;
    assert!(body.contains("state store"), "{body}");
    eventually(
        "store errors are counted",
        Duration::from_secs(30),
        || async {
            let (_, metrics) = http_get(port, "/metrics").await?;
            metrics.contains("dhub_store_errors_total{").then_some(())
        },
    )
    .await;
    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .execute(&mut conn)
        .await
        .unwrap();
    eventually(
        "/readyz recovers with the store",
        Duration::from_secs(30),
        || ready(200),
    )
    .await;

    // The latest export sent again: its records are counted as unchanged.
    setup.copy_samples("second");
    eventually(
        "the re-sent samples are read",
        Duration::from_secs(30),
        || async {
            let (_, metrics) = http_get(port, "/metrics").await?;
            metrics
                .contains("dhub_records_unchanged_total{")
                .then_some(())
        },
    )
    .await;

    // Every metric the README lists, with its labels.
    let (code, metrics) = http_get(port, "/metrics").await.unwrap();
    assert_eq!(code, 200);
    let missing = missing_metrics(&metrics);
    assert!(
        missing.is_empty(),
        "/metrics lacks what the README lists: {missing:?}"
    );

    assert!(hub.stop().await.success());
    drop(store);
    drop(conn);
    db.drop().await.unwrap();
}

/// A larger run for the outage tests: both systems, some withheld, then a revocation export.
fn outage_scenario() -> (Vec<Case>, Vec<Case>, Views) {
    let first = generate(&GenConfig {
        seed: 77,
        finance_cases: 250,
        market_cases: 250,
        finance_bad: BadCases {
            secret: 2,
            ..BadCases::NONE
        },
        market_bad: BadCases {
            minors: 2,
            ..BadCases::NONE
        },
        ..GenConfig::default()
    })
    .unwrap();
    let revocations = dhub_testkit::revoke(
        &first,
        0.1,
        3,
        NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
    )
    .unwrap();
    let expected = expected_views(&apply_export(&first, &revocations));
    (first, revocations, expected)
}

/// Every record shown is at version 1 and every retracted one at 2, as in a clean run: an outage may
/// cause resends, never new versions.
fn assert_versions_of_a_clean_run(feeds: &BTreeMap<String, FeedState>) {
    for (topic, state) in feeds {
        for (record_id, (version, op)) in &state.held {
            let want = if op == "upsert" { 1 } else { 2 };
            assert_eq!(*version, want, "{record_id} {op} on {topic}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_frozen_in_mid_stream_delays_publishing_and_loses_nothing() {
    let broker = PrivateBroker::start().await;
    let (first, revocations, expected) = outage_scenario();
    let setup = HubSetup::new(None);
    let staged = tempfile::tempdir().unwrap();
    dhub_testkit::write_export_files(&first, &staged.path().join("first"), "a", 25).unwrap();
    dhub_testkit::write_export_files(&revocations, &staged.path().join("second"), "b", 10).unwrap();
    let platforms = Platforms::start_on(&setup.prefix, &broker.address()).await;
    let hub = HubProcess::start(&setup, &[("DHUB_KAFKA__BROKERS", &broker.address())]);
    let store = setup.store().await;
    setup.deliver(&staged.path().join("first"));
    // Freeze the broker once the first envelopes are through and more wait: in mid-stream.
    eventually("publishing has begun", Duration::from_secs(60), || async {
        let shown: usize = platforms.visible().await.values().map(BTreeSet::len).sum();
        (shown > 0).then_some(())
    })
    .await;
    broker.signal("STOP");
    let pending = store.pending_count().await.unwrap();
    // While it is away the revocations come in and wait too.
    setup.deliver(&staged.path().join("second"));
    tokio::time::sleep(Duration::from_secs(8)).await;
    let pending_while_away = store.pending_count().await.unwrap();
    broker.signal("CONT");
    assert!(
        pending > 0 || pending_while_away > 0,
        "the broker was frozen with nothing in flight; the test proves nothing"
    );
    platforms
        .wait_for(&expected, Duration::from_secs(120))
        .await;
    let feeds =
        check_raw_feeds_on(&broker.address(), &setup.prefix, &expected, Order::Resends).await;
    assert_versions_of_a_clean_run(&feeds);
    eprintln!(
        "frozen broker: {pending} envelopes pending at the freeze, {pending_while_away} after 8 s; {} duplicates on the feeds",
        feeds.values().map(|f| f.duplicates).sum::<usize>()
    );
    every_delivery_recorded(&store, Duration::from_secs(30), || hub.log()).await;
    assert!(hub.stop().await.success());
    platforms.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_whose_connections_are_killed_mid_run_ends_in_the_same_views() {
    let (first, revocations, expected) = outage_scenario();
    let db = dhub_testkit::fresh_postgres_db().await.unwrap();
    let setup = HubSetup::new(Some(db.url()));
    let staged = tempfile::tempdir().unwrap();
    dhub_testkit::write_export_files(&first, &staged.path().join("first"), "a", 25).unwrap();
    dhub_testkit::write_export_files(&revocations, &staged.path().join("second"), "b", 10).unwrap();
    let platforms = Platforms::start(&setup.prefix).await;
    let mut hub = HubProcess::start(&setup, &[]);
    // Mid-run: once the hub is up (a store that is away at start-up stops it, by design).
    let port = setup.listen;
    eventually("the hub is ready", Duration::from_secs(30), || async {
        http_get(port, "/readyz")
            .await
            .filter(|(status, _)| *status == 200)
    })
    .await;
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&dhub_testkit::test_postgres_url())
            .await
            .unwrap();
    let mut killed = 0i64;
    for stage in ["first", "second"] {
        setup.deliver(&staged.path().join(stage));
        // Every 300 ms for 4 s, end every connection the hub has to its store (pg_terminate_backend:
        // the server closes them, as on a failover or a restart).
        for _ in 0..13 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (ended,): (i64,) = sqlx::query_as(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(db.name())
            .fetch_one(&mut admin)
            .await
            .unwrap();
            killed += ended;
        }
    }
    assert!(
        killed > 0,
        "no connection of the hub was ended; the test proves nothing"
    );
    assert!(
        hub.exited().is_none(),
        "the hub exited when its store connections were killed:\n{}",
        hub.log()
    );
    platforms
        .wait_for(&expected, Duration::from_secs(120))
        .await;
    let feeds = check_raw_feeds(&setup.prefix, &expected, Order::Resends).await;
    assert_versions_of_a_clean_run(&feeds);
    eprintln!("killed {killed} store connections mid-run");
    let store = setup.store().await;
    every_delivery_recorded(&store, Duration::from_secs(30), || hub.log()).await;
    assert!(hub.stop().await.success());
    platforms.stop().await;
    drop(store);
    drop(admin);
    db.drop().await.unwrap();
}
