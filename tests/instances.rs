//! Several instances on one Postgres state store (CONTRACT §2): two `dhub run` processes with the same
//! config share the sources, feeds and sweeps through leases. One is killed with SIGKILL mid-run: the
//! survivor takes every lease over within 10 s, and the platform views end exactly as a single clean
//! run leaves them (every record in force, at version 1, the revoked ones gone).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{expected_views, free_port, HubSetup, Platforms};
use dhub_testkit::{apply_export, generate, revoke, BadCases, GenConfig};

/// Every lease a hub with the demo's two sources and four platforms takes.
const LEASES: usize = 2 + 4 + 2;

struct Instance {
    child: Option<Child>,
    listen: u16,
}

impl Instance {
    fn start(setup: &HubSetup) -> Instance {
        let listen = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_dhub"))
            .args(["run", "--config"])
            .arg(&setup.config_path)
            .env("DHUB_LOG", "error")
            .env("DHUB_HUB__LISTEN", format!("127.0.0.1:{listen}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dhub run");
        Instance {
            child: Some(child),
            listen,
        }
    }

    /// The leases this instance says it holds (`/api/status`).
    async fn holds(&self) -> usize {
        let url = format!("http://127.0.0.1:{}/api/status", self.listen);
        let Ok(body) = fetch(&url).await else {
            return 0;
        };
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|status| status["holds"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

async fn fetch(url: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_the_survivor_of_a_sigkill_takes_over() {
    let config = GenConfig {
        seed: 77,
        finance_cases: 600,
        market_cases: 600,
        finance_bad: BadCases::NONE,
        market_bad: BadCases {
            secret: 2,
            internal: 0,
            minors: 2,
            majors_without_review: 1,
        },
        ..GenConfig::default()
    };
    let first = generate(&config).unwrap();
    let revocations = revoke(
        &first,
        0.1,
        11,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
    )
    .unwrap();
    let expected = expected_views(&apply_export(&first, &revocations));

    let db = dhub_testkit::fresh_postgres_db()
        .await
        .expect("postgres for tests (DHUB_TEST_POSTGRES)");
    let setup = HubSetup::new(Some(db.url()));
    let staged = tempfile::tempdir().unwrap();
    dhub_testkit::write_export_files(&first, &staged.path().join("first"), "a-first", 40).unwrap();
    dhub_testkit::write_export_files(&revocations, &staged.path().join("second"), "b-second", 20)
        .unwrap();
    let platforms = Platforms::start(&setup.prefix).await;

    let mut one = Instance::start(&setup);
    let mut two = Instance::start(&setup);
    // Both up, every lease taken by one or the other.
    let started = Instant::now();
    loop {
        let (a, b) = (one.holds().await, two.holds().await);
        if a + b == LEASES {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the two instances hold {a} + {b} of {LEASES} leases"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    setup.deliver(&staged.path().join("first"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Kill the one that holds more (it is surely doing work), mid-run.
    let (a, b) = (one.holds().await, two.holds().await);
    let (victim, survivor) = if a >= b {
        (&mut one, &two)
    } else {
        (&mut two, &one)
    };
    victim.kill_hard();
    let killed_at = Instant::now();
    loop {
        if survivor.holds().await == LEASES {
            break;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "the survivor holds {} of {LEASES} leases 10 s after the kill",
            survivor.holds().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let takeover = killed_at.elapsed();
    setup.deliver(&staged.path().join("second"));
    platforms
        .wait_for(&expected, Duration::from_secs(120))
        .await;
    for (topic, view) in &platforms.views {
        for record_id in &expected[topic] {
            let held = view.held(record_id).await.unwrap().expect("held");
            assert_eq!(held.version, 1, "{record_id} on {topic} stored once");
        }
    }
    eprintln!("takeover after SIGKILL: {takeover:?}");
    let store = setup.store().await;
    assert!(matches!(
        store.audit_verify().await.unwrap(),
        dhub_store::AuditCheck::Intact { .. }
    ));
    store.close().await;
    drop(one);
    drop(two);
    platforms.stop().await;
    db.drop().await.unwrap();
}
