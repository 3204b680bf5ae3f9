//! No personal data in the logs (issue 3, STYLE.md): the demo exports go through the hub with logging at
//! debug level, and not one ID number or mobile number from the input appears in what it logged.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::HubSetup;
use dhub_testkit::{generate, GenConfig, MentionKind, System};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_of_the_demo_carry_no_id_or_mobile_number() {
    let setup = HubSetup::new(None);
    let log_path = setup.dir.path().join("hub.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut hub = Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(["run", "--config"])
        .arg(&setup.config_path)
        .env("DHUB_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();

    for stage in ["first", "second"] {
        setup.copy_samples(stage);
    }
    // Wait until both exports are stored and everything pending was acknowledged.
    let start = Instant::now();
    let store = setup.store().await;
    loop {
        let inboxes_empty = [System::FinanceOa, System::MarketSupervision]
            .iter()
            .all(|system| {
                std::fs::read_dir(setup.inbox(*system))
                    .unwrap()
                    .filter(|e| e.as_ref().unwrap().path().is_file())
                    .count()
                    == 0
            });
        if inboxes_empty && store.pending_count().await.unwrap() == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the hub did not finish the demo exports"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status()
        .unwrap();
    assert!(hub.wait().unwrap().success());

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.contains("DEBUG"), "the hub logged at debug level");
    assert!(
        logs.contains("record quarantined"),
        "the withheld records were logged (by rule, not content)"
    );
    let cases = generate(&GenConfig::default()).unwrap();
    let mut checked = 0;
    for case in &cases {
        let person = case.counterparty.person();
        for secret in [&person.id_number, &person.phone] {
            assert!(
                !logs.contains(secret.as_str()),
                "{} leaked personal data into the logs",
                case.record_id()
            );
            checked += 1;
        }
        for mention in case
            .facts_mentions
            .iter()
            .filter(|m| matches!(m.kind, MentionKind::IdNumber | MentionKind::Phone))
        {
            assert!(
                !logs.contains(&mention.text),
                "{} leaked a {:?} from its facts into the logs",
                case.record_id(),
                mention.kind
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "checked {checked} values");
}
