//! Crash safety: the hub is killed with SIGKILL several times while it reads exports and publishes, and
//! restarted each time. At the end every platform's view must be exactly what a clean run gives: every
//! record in force in its area, each at version 1 (a re-read file stored nothing new), and the revoked
//! ones gone.

mod common;

use std::time::Duration;

use common::{check_raw_feeds, expected_views, HubProcess, HubSetup, Platforms};
use dhub_testkit::feed::Order;
use dhub_testkit::{apply_export, generate, revoke, BadCases, GenConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_several_times_ends_identical_to_a_clean_run() {
    let config = GenConfig {
        seed: 424242,
        finance_cases: 700,
        market_cases: 700,
        finance_bad: BadCases {
            secret: 3,
            internal: 0,
            minors: 0,
            majors_without_review: 2,
        },
        market_bad: BadCases {
            secret: 2,
            internal: 2,
            minors: 3,
            majors_without_review: 2,
        },
        ..GenConfig::default()
    };
    let first = generate(&config).unwrap();
    let revocations = revoke(
        &first,
        0.1,
        7,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
    )
    .unwrap();
    let last = apply_export(&first, &revocations);
    let expected = expected_views(&last);

    let setup = HubSetup::new(None);
    let staged = tempfile::tempdir().unwrap();
    dhub_testkit::write_export_files(&first, &staged.path().join("first"), "a-first", 50).unwrap();
    dhub_testkit::write_export_files(&revocations, &staged.path().join("second"), "b-second", 25)
        .unwrap();
    let platforms = Platforms::start(&setup.prefix).await;

    let mut hub = HubProcess::start(&setup, &[("DHUB_LOG", "error")]);
    setup.deliver(&staged.path().join("first"));
    // Kill at different moments: while files are read, while the outbox is being published.
    for delay_ms in [700u64, 1300, 400, 1900] {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        hub.kill_hard();
        hub = HubProcess::start(&setup, &[("DHUB_LOG", "error")]);
    }
    setup.deliver(&staged.path().join("second"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    hub.kill_hard();
    hub = HubProcess::start(&setup, &[("DHUB_LOG", "error")]);

    platforms
        .wait_for(&expected, Duration::from_secs(120))
        .await;
    // No record was stored twice: every record still shown is at its first version.
    for (topic, view) in &platforms.views {
        for record_id in &expected[topic] {
            let held = view.held(record_id).await.unwrap().expect("held");
            assert_eq!(
                held.version, 1,
                "{record_id} on {topic}: a re-read export must not create a new version"
            );
        }
    }
    // The raw topics: nothing lost, keys and headers right, and where a restart resent what the broker
    // already had, the copies are identical and the platform rule still converges.
    let feeds = check_raw_feeds(&setup.prefix, &expected, Order::Resends).await;
    let duplicates: usize = feeds.values().map(|f| f.duplicates).sum();
    eprintln!("raw feeds: {} messages, {duplicates} duplicates after the kills", feeds.values().map(|f| f.messages).sum::<usize>());
    // A graceful stop drains and exits 0.
    let status = hub.stop().await;
    assert!(
        status.success(),
        "dhub run exits 0 after SIGTERM: {status:?}"
    );

    let store = dhub_store::Store::connect(&setup.state_url())
        .await
        .unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 0);
    assert!(matches!(
        store.audit_verify().await.unwrap(),
        dhub_store::AuditCheck::Intact { .. }
    ));
    let done = std::fs::read_dir(setup.inbox(dhub_testkit::System::FinanceOa).join("done"))
        .unwrap()
        .count();
    assert!(done >= 14 + 3, "every finance export ends in done/: {done}");
    platforms.stop().await;
}
