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
    // Kill at different moments: while files are read, while the outbox is being published.
    killed_mid_run(700, &[700, 1300, 400, 1900], 50, Duration::from_secs(120)).await;
}

/// The long fault run of `tests/faults.sh` (issue 9), not part of the normal test command:
/// `DHUB_FAULT_CASES` cases (default 100,000, half per department system) in files of
/// `DHUB_FAULT_FILE_CASES` (default 1,000), the hub SIGKILLed `DHUB_FAULT_KILLS` times (default
/// 20) every `DHUB_FAULT_KILL_EVERY_MS` (default 1,500) while it reads and publishes; the platform
/// views must end identical to a clean run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run by tests/faults.sh"]
async fn long_fault_run_sigkill_many_times_ends_identical_to_a_clean_run() {
    let setting = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v}: a number")))
            .unwrap_or(default)
    };
    let cases = setting("DHUB_FAULT_CASES", 100_000);
    let kills = setting("DHUB_FAULT_KILLS", 20);
    let every = setting("DHUB_FAULT_KILL_EVERY_MS", 1_500);
    let file_cases = setting("DHUB_FAULT_FILE_CASES", 1_000);
    // Varied moments around the mean, the same for every run.
    let delays: Vec<u64> = (0..kills).map(|i| every / 2 + (i * 7919) % every).collect();
    let started = std::time::Instant::now();
    killed_mid_run(
        (cases / 2) as usize,
        &delays,
        file_cases as usize,
        Duration::from_secs(1800),
    )
    .await;
    eprintln!(
        "fault run: {cases} cases, {kills} SIGKILLs, views identical to a clean run after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `cases_per_system` cases of each system, then a revoking export; the hub is SIGKILLed after each
/// of `kill_delays_ms` and restarted; the views must end as a clean run leaves them.
async fn killed_mid_run(
    cases_per_system: usize,
    kill_delays_ms: &[u64],
    cases_per_file: usize,
    settle: Duration,
) {
    // The generator's case numbers allow 5,000 per system: larger runs are batches whose keys get
    // the batch number, so every case stays its own record.
    let batches = cases_per_system.div_ceil(5_000);
    let mut first = Vec::new();
    for batch in 0..batches {
        let size = (cases_per_system - batch * 5_000).min(5_000);
        let mut cases = generate(&generator(424242 + batch as u64, size)).unwrap();
        if batches > 1 {
            for case in &mut cases {
                case.key = format!("{}-b{batch}", case.key);
            }
        }
        first.extend(cases);
    }
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
    dhub_testkit::write_export_files(
        &first,
        &staged.path().join("first"),
        "a-first",
        cases_per_file,
    )
    .unwrap();
    dhub_testkit::write_export_files(
        &revocations,
        &staged.path().join("second"),
        "b-second",
        cases_per_file.div_ceil(2),
    )
    .unwrap();
    let platforms = Platforms::start(&setup.prefix).await;

    let mut hub = HubProcess::start(&setup, &[("DHUB_LOG", "error")]);
    setup.deliver(&staged.path().join("first"));
    for &delay_ms in kill_delays_ms {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        hub.kill_hard();
        hub = HubProcess::start(&setup, &[("DHUB_LOG", "error")]);
    }
    setup.deliver(&staged.path().join("second"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    hub.kill_hard();
    hub = HubProcess::start(&setup, &[("DHUB_LOG", "error")]);

    platforms.wait_for(&expected, settle).await;
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
    let finance_files = cases_per_system.div_ceil(cases_per_file);
    assert!(
        done >= finance_files,
        "every finance export ends in done/: {done}"
    );
    platforms.stop().await;
}

/// Both systems' cases with a few bad ones of each kind.
fn generator(seed: u64, cases_per_system: usize) -> GenConfig {
    GenConfig {
        seed,
        finance_cases: cases_per_system,
        market_cases: cases_per_system,
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
    }
}
