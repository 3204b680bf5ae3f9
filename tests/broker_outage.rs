//! The broker being down delays publishing and never loses a record: the hub runs with no broker
//! answering, stores what arrives, stops cleanly with its outbox still pending, and once started again
//! with a broker (here by the `DHUB_KAFKA__BROKERS` override, as an operator would) publishes all of
//! it. Works against any broker given in `DHUB_TEST_BROKERS`, because the outage is a wrong address.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{expected_views, free_port, HubSetup, Platforms};
use dhub_testkit::{generate, GenConfig, System};

fn run_hub(setup: &HubSetup, brokers: &str) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(setup.dir.path().join("hub.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(["run", "--config"])
        .arg(&setup.config_path)
        .env("DHUB_LOG", "warn")
        .env("DHUB_KAFKA__BROKERS", brokers)
        .env("DHUB_HUB__DRAIN_TIMEOUT_MS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// What the hub logged, for a failure message (the demo data's reasons name fields, not people).
fn hub_log(setup: &HubSetup) -> String {
    std::fs::read_to_string(setup.dir.path().join("hub.log")).unwrap_or_default()
}

fn stop(mut hub: std::process::Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status()
        .unwrap();
    hub.wait().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_wait_in_the_outbox_while_the_broker_is_down_and_go_out_when_it_is_back() {
    let setup = HubSetup::new(None);
    let nobody = format!("127.0.0.1:{}", free_port());
    let mut hub = run_hub(&setup, &nobody);
    setup.copy_samples("first");
    let store = setup.store().await;
    let started = Instant::now();
    let pending = loop {
        let done = std::fs::read_dir(setup.inbox(System::MarketSupervision).join("done"))
            .map(|d| d.count())
            .unwrap_or(0)
            + std::fs::read_dir(setup.inbox(System::FinanceOa).join("done"))
                .map(|d| d.count())
                .unwrap_or(0);
        if done == 5 {
            break store.pending_count().await.unwrap();
        }
        if let Some(status) = hub.try_wait().unwrap() {
            panic!(
                "the hub exited ({status}) while the broker was away; log:\n{}",
                hub_log(&setup)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the exports were not stored without a broker"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // 56 records on city and province, 28 + 24 on the counties: 164 envelopes, none sent.
    assert_eq!(pending, 164, "every envelope waits in the outbox");
    assert!(
        stop(hub).success(),
        "a stop with the broker away still exits 0 after the drain timeout"
    );
    assert_eq!(
        store.pending_count().await.unwrap(),
        164,
        "nothing was lost or marked sent"
    );

    let cases = generate(&GenConfig::default()).unwrap();
    let platforms = Platforms::start(&setup.prefix).await;
    let hub = run_hub(&setup, &dhub_testkit::test_brokers());
    platforms
        .wait_for(&expected_views(&cases), Duration::from_secs(60))
        .await;
    assert_eq!(store.pending_count().await.unwrap(), 0);
    assert!(stop(hub).success());
    platforms.stop().await;
}

/// The platforms' consumers get going again after the broker stopped answering for longer than
/// their group session: with a 6 s session and the broker frozen (SIGSTOP, as one cut off by the
/// network) for 15 s, every consumer's session expires and it rejoins its group; the revocations
/// exported after the broker is back reach every view. As dynamic group members the consumers
/// waited for ever on tansu after such an outage (the expired member stayed the group's leader);
/// as static members (`group.instance.id`) they rejoin as themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_resume_after_the_broker_froze_for_longer_than_their_group_session() {
    let setup = HubSetup::new(None);
    let broker = common::broker::PrivateBroker::start().await;
    let platforms = Platforms::start_with(
        &setup.prefix,
        &broker.address(),
        &[
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
        ],
    )
    .await;
    let hub = run_hub(&setup, &broker.address());
    let config = GenConfig::default();
    let first = generate(&config).unwrap();
    let later =
        dhub_testkit::revocation_export(&first, 0.12, config.seed, config.decided_to).unwrap();
    let second = dhub_testkit::apply_export(&first, &later);
    setup.copy_samples("first");
    platforms
        .wait_for(&expected_views(&first), Duration::from_secs(60))
        .await;

    broker.signal("STOP");
    tokio::time::sleep(Duration::from_secs(15)).await;
    broker.signal("CONT");
    setup.copy_samples("second");
    let took = platforms
        .try_wait_for(&expected_views(&second), Duration::from_secs(60))
        .await
        .unwrap_or_else(|report| panic!("{report}\nhub log:\n{}", hub_log(&setup)));
    eprintln!("the views caught up {took:?} after the broker came back");
    assert!(stop(hub).success());
    platforms.stop().await;
}
