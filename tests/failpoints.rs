//! Crashes exactly where a guarantee could break. The hub (a real `dhub run` process, built with the
//! `failpoints` feature) kills itself by SIGKILL at a named point (`dhub_support::failpoint`):
//!
//! - `source.after_store`: the batch is committed, the export file not yet moved to `done/`;
//! - `relay.after_broker_ack`: the broker acknowledged envelopes, the store has not recorded it;
//! - `store.mid_batch`: in the middle of a batch's transaction (versions written, outbox not);
//! - `store.mid_retraction`: in the middle of the transaction of a batch that withdraws records.
//!
//! After each crash the hub is restarted; at the end the platform views must equal a clean run's (the
//! expected views, every record at its first version and each revoked one retracted at its second)
//! and the raw feed topics must hold every record (nothing lost, duplicates identical). On SQLite and on
//! Postgres. The control breaks the guarantee on purpose (`bug.ack_before_store`: the file is moved to
//! `done/` before its batch is stored, then the hub dies) and shows that the same checks find the loss.
//!
//! The case count is small here (`tests/run.sh`); `DHUB_FAILPOINT_CASES` raises it for the fault
//! script.

mod common;

#[cfg(feature = "failpoints")]
mod with_failpoints {
    use std::collections::{BTreeMap, BTreeSet};
    use std::os::unix::process::ExitStatusExt;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use crate::common::{expected_views, HubProcess, HubSetup, Platforms};
    use dhub_testkit::feed::{read_and_check, FeedState, Order};
    use dhub_testkit::{apply_export, generate, revoke, BadCases, Case, GenConfig, System};

    type Views = BTreeMap<String, BTreeSet<String>>;

    fn cases_per_system() -> usize {
        std::env::var("DHUB_FAILPOINT_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(60)
    }

    struct Scenario {
        first: Vec<Case>,
        revocations: Vec<Case>,
        last: Vec<Case>,
    }

    fn scenario() -> Scenario {
        let n = cases_per_system();
        let first = generate(&GenConfig {
            seed: 9001,
            finance_cases: n,
            market_cases: n,
            finance_bad: BadCases {
                secret: 1,
                ..BadCases::NONE
            },
            market_bad: BadCases {
                minors: 1,
                ..BadCases::NONE
            },
            ..GenConfig::default()
        })
        .unwrap();
        let revocations = revoke(
            &first,
            0.15,
            5,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
        )
        .unwrap();
        let last = apply_export(&first, &revocations);
        Scenario {
            first,
            revocations,
            last,
        }
    }

    impl Scenario {
        /// Writes the two exports into a staging folder (`first/`, `second/`); returns it and the
        /// number of files of each.
        fn stage(&self) -> (tempfile::TempDir, usize, usize) {
            let staged = tempfile::tempdir().unwrap();
            let first = dhub_testkit::write_export_files(
                &self.first,
                &staged.path().join("first"),
                "a",
                10,
            )
            .unwrap();
            let second = dhub_testkit::write_export_files(
                &self.revocations,
                &staged.path().join("second"),
                "b",
                4,
            )
            .unwrap();
            (staged, first.len(), second.len())
        }
    }

    fn done_files(setup: &HubSetup) -> usize {
        [System::FinanceOa, System::MarketSupervision]
            .iter()
            .map(|s| {
                std::fs::read_dir(setup.inbox(*s).join("done"))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Runs the scenario with `failpoints` armed for the first start; every time the hub dies it is
    /// started again (without them). Returns how many times it died at the point.
    async fn run_with_crashes(
        setup: &HubSetup,
        staged: &Path,
        failpoints: &str,
        files: (usize, usize),
    ) -> (HubProcess, usize) {
        let mut hub = HubProcess::start(setup, &[("FAILPOINTS", failpoints)]);
        let mut crashes = 0;
        for (stage, until) in [("first", files.0), ("second", files.0 + files.1)] {
            setup.deliver(&staged.join(stage));
            let started = Instant::now();
            while done_files(setup) < until {
                if let Some(status) = hub.exited() {
                    assert_eq!(
                        status.signal(),
                        Some(9),
                        "the hub died otherwise than by its failure point: {status:?}\n{}",
                        hub.log()
                    );
                    crashes += 1;
                    hub = HubProcess::start(setup, &[]);
                }
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "the {stage} export was not read: {} of {until} files done",
                    done_files(setup)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        (hub, crashes)
    }

    /// The checks: the views equal a clean run's, and the raw topics hold every record in force at
    /// its first version and every revoked one retracted at its second.
    async fn check(
        platforms: &Platforms,
        prefix: &str,
        expected: &Views,
        timeout: Duration,
    ) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(report) = platforms.try_wait_for(expected, timeout).await {
            problems.push(report);
        }
        let (prefix, expected_raw) = (prefix.to_owned(), expected.clone());
        let raw = tokio::task::spawn_blocking(move || {
            read_and_check(
                &dhub_testkit::test_brokers(),
                &prefix,
                &expected_raw,
                "disclosure.v1",
                Order::Resends,
                timeout,
            )
        })
        .await
        .unwrap()
        .unwrap();
        match raw {
            Ok(feeds) => {
                let messages: usize = feeds.values().map(|f| f.messages).sum();
                let duplicates: usize = feeds.values().map(|f| f.duplicates).sum();
                eprintln!("raw feeds: {messages} messages, {duplicates} duplicates");
                problems.extend(versions_as_a_clean_run(&feeds));
            }
            Err(found) => problems.extend(found),
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// A re-read file or a resent batch may never make a new version: shown records are at version 1,
    /// retracted ones at 2.
    fn versions_as_a_clean_run(feeds: &BTreeMap<String, FeedState>) -> Vec<String> {
        let mut problems = Vec::new();
        for (topic, state) in feeds {
            for (record_id, (version, op)) in &state.held {
                let want = if op == "upsert" { 1 } else { 2 };
                if *version != want {
                    problems.push(format!("{topic}: {record_id} {op} at version {version}"));
                }
            }
        }
        problems
    }

    /// One crash run at a time: each runs a hub, restarts it and four platforms; side by side on
    /// two cores the Postgres runs' leases (renewed every 2 s) were lost to CPU starvation and their
    /// last acknowledgements waited past the test's patience. What is proven is the crash, not load.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    async fn crash_at(point: &str, postgres: bool) {
        let _alone = ONE_AT_A_TIME.lock().await;
        let scenario = scenario();
        let expected = expected_views(&scenario.last);
        let db = if postgres {
            Some(dhub_testkit::fresh_postgres_db().await.unwrap())
        } else {
            None
        };
        let setup = HubSetup::new(db.as_ref().map(|db| db.url()));
        let (staged, first, second) = scenario.stage();
        let platforms = Platforms::start(&setup.prefix).await;
        // The retraction point fires at the first withdrawal, and the acknowledgement point at the
        // first round of acks (on a quiet machine a small run's acks come in one or two rounds, so
        // waiting for the third could wait for ever); the others once a few batches went by.
        let failpoints = match point {
            "store.mid_retraction" | "relay.after_broker_ack" => format!("{point}=return"),
            _ => format!("{point}=2*off->return"),
        };
        let (hub, crashes) =
            run_with_crashes(&setup, staged.path(), &failpoints, (first, second)).await;
        assert_eq!(crashes, 1, "the hub died once, at {point}");
        if let Err(problems) = check(
            &platforms,
            &setup.prefix,
            &expected,
            Duration::from_secs(60),
        )
        .await
        {
            panic!(
                "after a crash at {point} ({}), the run differs from a clean one:\n  {}",
                if postgres { "postgres" } else { "sqlite" },
                problems.join("\n  ")
            );
        }
        let store = setup.store().await;
        // Generous: a restarted instance first waits out the dead one's leases (6 s), and on two
        // shared cores the last acknowledgement rounds of a Postgres store can take a while.
        crate::common::every_delivery_recorded(&store, Duration::from_secs(90), || {
            format!(
                "after a crash at {point} ({}); hub log:\n{}",
                if postgres { "postgres" } else { "sqlite" },
                hub.log()
            )
        })
        .await;
        assert!(matches!(
            store.audit_verify().await.unwrap(),
            dhub_store::AuditCheck::Intact { .. }
        ));
        assert!(hub.stop().await.success());
        platforms.stop().await;
        drop(store);
        if let Some(db) = db {
            db.drop().await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_crash_after_the_commit_before_the_source_is_acknowledged() {
        crash_at("source.after_store", false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_crash_after_the_commit_before_the_source_is_acknowledged() {
        crash_at("source.after_store", true).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_crash_after_the_broker_ack_before_it_is_recorded() {
        crash_at("relay.after_broker_ack", false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_crash_after_the_broker_ack_before_it_is_recorded() {
        crash_at("relay.after_broker_ack", true).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_crash_in_the_middle_of_a_batch_transaction() {
        crash_at("store.mid_batch", false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_crash_in_the_middle_of_a_batch_transaction() {
        crash_at("store.mid_batch", true).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_crash_during_a_retraction() {
        crash_at("store.mid_retraction", false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_crash_during_a_retraction() {
        crash_at("store.mid_retraction", true).await;
    }

    /// The control: acknowledging the source before storing (then dying) loses the file's records, and
    /// the checks above say so — they are not checks that pass whatever happens.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn control_acknowledging_before_the_commit_loses_records_and_the_checks_find_it() {
        let _alone = ONE_AT_A_TIME.lock().await;
        let scenario = scenario();
        let expected = expected_views(&scenario.last);
        let setup = HubSetup::new(None);
        let (staged, first, second) = scenario.stage();
        let platforms = Platforms::start(&setup.prefix).await;
        let (hub, crashes) = run_with_crashes(
            &setup,
            staged.path(),
            "bug.ack_before_store=1*return",
            (first, second),
        )
        .await;
        assert_eq!(crashes, 1);
        let problems = check(
            &platforms,
            &setup.prefix,
            &expected,
            Duration::from_secs(10),
        )
        .await
        .expect_err("a file acknowledged before it was stored loses its records");
        let all = problems.join("\n");
        assert!(
            all.contains("did not converge") && all.contains("missing"),
            "{all}"
        );
        assert!(
            all.contains("lost"),
            "the raw feed check finds the loss too: {all}"
        );
        assert!(hub.stop().await.success());
        platforms.stop().await;
    }
}

/// Built without the feature, the crash tests cannot run: that fails the run, loudly, unless
/// `DHUB_TEST_FAILPOINTS=off` says it is meant (then the skip is printed).
#[cfg(not(feature = "failpoints"))]
#[test]
fn failure_point_tests_need_the_failpoints_feature() {
    if std::env::var("DHUB_TEST_FAILPOINTS").as_deref() == Ok("off") {
        use std::io::Write;
        // Past the harness's capture, so the skip shows in the output of a passing run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the failure-point crash tests (DHUB_TEST_FAILPOINTS=off)"
        );
        return;
    }
    panic!(
        "the failure-point crash tests need `cargo test --features dhub/failpoints` (tests/run.sh \
         passes it); set DHUB_TEST_FAILPOINTS=off to skip them knowingly"
    );
}
