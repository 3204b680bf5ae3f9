//! Tamper evidence end to end: a hub with `[hub] audit_key` stores the demo exports, and `dhub audit
//! verify` accepts the result and names what was changed behind the hub's back (an edited record
//! version, an edited, deleted or truncated audit entry, a missing key).
//!
//! The broker is not needed: records are stored (and audited) whether or not they reach Kafka, so
//! the hub runs against an address where no broker answers.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{start_hub_in_process, HubSetup};

fn dhub(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(args)
        .env("DHUB_LOG", "error")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 1 with `named` in the one-line error.
fn assert_fails_naming(out: &Output, named: &str) {
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(out).contains(named), "{}", stderr(out));
}

/// A hub config with an audit key file, and no broker.
fn keyed_setup() -> HubSetup {
    let setup = HubSetup::new(None);
    std::fs::write(
        setup.dir.path().join("audit.key"),
        "5f0c1e8d2b7a49c6a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&setup.config_path).unwrap();
    let text = text
        .replacen(
            "[hub]\n",
            "[hub]\naudit_key = { file = \"audit.key\" }\n",
            1,
        )
        .replace("drain_timeout_ms = 20000", "drain_timeout_ms = 500");
    // No broker: port 9 (discard) on loopback refuses connections.
    let text = regex_free_replace_brokers(&text, "127.0.0.1:9");
    std::fs::write(&setup.config_path, text).unwrap();
    setup
}

fn regex_free_replace_brokers(text: &str, brokers: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("brokers = ") {
                format!("brokers = \"{brokers}\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Runs the hub until the first sample exports are stored.
async fn store_first_exports(setup: &HubSetup) {
    run_hub_on_first_exports(setup).await
}

async fn run_hub_on_first_exports(setup: &HubSetup) {
    let (stop, task) = start_hub_in_process(setup.config());
    setup.copy_samples("first");
    let store = setup.store().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inbox_empty = ["finance-oa", "market-supervision"].iter().all(|source| {
            std::fs::read_dir(setup.dir.path().join("inbox").join(source))
                .unwrap()
                .filter_map(Result::ok)
                .all(|e| e.path().is_dir())
        });
        let stored = store.current_records(None, 10).await.unwrap().len();
        if inbox_empty && stored > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hub did not store the samples"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_tampered_versions_and_entries() {
    let setup = keyed_setup();
    store_first_exports(&setup).await;
    let config = setup.config_path.display().to_string();
    let verify = || dhub(&["audit", "verify", "--config", &config]);

    let out = verify();
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(printed.contains("(keyed)"), "{printed}");
    assert!(printed.contains("record versions match"), "{printed}");

    let pool = sqlx::SqlitePool::connect(&setup.state_url()).await.unwrap();
    // An edited record version (a fine lowered by hand): named by record and version.
    let (record_id, version, json): (String, i64, String) = sqlx::query_as(
        "SELECT record_id, version, record_json FROM record_versions ORDER BY record_id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let edited = json.replacen("\"record_id\"", "\"remarks\":\"edited\",\"record_id\"", 1);
    assert_ne!(edited, json);
    sqlx::query(
        "UPDATE record_versions SET record_json = $1 WHERE record_id = $2 AND version = $3",
    )
    .bind(&edited)
    .bind(&record_id)
    .bind(version)
    .execute(&pool)
    .await
    .unwrap();
    assert_fails_naming(&verify(), &format!("record {record_id} version {version}"));
    sqlx::query(
        "UPDATE record_versions SET record_json = $1 WHERE record_id = $2 AND version = $3",
    )
    .bind(&json)
    .bind(&record_id)
    .bind(version)
    .execute(&pool)
    .await
    .unwrap();
    assert!(verify().status.success(), "restored");

    // An edited audit entry.
    let (detail,): (String,) = sqlx::query_as("SELECT detail FROM audit WHERE seq = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit SET detail = '{}' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    assert_fails_naming(&verify(), "entry 2:");
    sqlx::query("UPDATE audit SET detail = $1 WHERE seq = 2")
        .bind(&detail)
        .execute(&pool)
        .await
        .unwrap();
    assert!(verify().status.success(), "restored");

    // Without the key the keyed chain cannot be checked: exit 1 saying so.
    let text = std::fs::read_to_string(&setup.config_path).unwrap();
    let unkeyed = setup.dir.path().join("unkeyed.toml");
    std::fs::write(
        &unkeyed,
        text.replace("audit_key = { file = \"audit.key\" }\n", ""),
    )
    .unwrap();
    assert_fails_naming(
        &dhub(&[
            "audit",
            "verify",
            "--config",
            &unkeyed.display().to_string(),
        ]),
        "audit_key",
    );

    // A deleted entry, then a truncated chain.
    let (last,): (i64,) = sqlx::query_as("SELECT MAX(seq) FROM audit")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(last >= 3, "the samples make several entries");
    sqlx::query("DELETE FROM audit WHERE seq = $1")
        .bind(last - 1)
        .execute(&pool)
        .await
        .unwrap();
    assert_fails_naming(&verify(), &format!("entry {}:", last - 1));
    sqlx::query("DELETE FROM audit WHERE seq >= 2")
        .execute(&pool)
        .await
        .unwrap();
    assert_fails_naming(&verify(), "entry 2:");
}

#[test]
fn a_short_or_unreadable_audit_key_is_a_config_error() {
    let setup = HubSetup::new(None);
    let text = std::fs::read_to_string(&setup.config_path).unwrap();
    std::fs::write(setup.dir.path().join("short.key"), "too short\n").unwrap();
    for (key, expected) in [
        ("{ file = \"short.key\" }", "at least 32"),
        ("{ file = \"missing.key\" }", "missing.key"),
    ] {
        std::fs::write(
            &setup.config_path,
            text.replacen("[hub]\n", &format!("[hub]\naudit_key = {key}\n"), 1),
        )
        .unwrap();
        let out = dhub(&[
            "check",
            "--config",
            &setup.config_path.display().to_string(),
        ]);
        assert_fails_naming(&out, "hub.audit_key");
        assert_fails_naming(&out, expected);
        assert!(!stderr(&out).contains("too short"), "never prints the key");
    }
}

/// With the real broker: the hub publishes checkpoints of the chain's head; a chain rewritten by
/// someone who holds the audit key (so the chain itself verifies) or cut short consistently is
/// found by `--checkpoints`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_on_kafka_find_a_chain_rewritten_with_the_key() {
    let setup = keyed_setup();
    let text = std::fs::read_to_string(&setup.config_path).unwrap();
    let text = regex_free_replace_brokers(&text, &dhub_testkit::test_brokers()).replacen(
        "[hub]\n",
        "[hub]\naudit_checkpoint_interval_ms = 200\n",
        1,
    );
    std::fs::write(&setup.config_path, text).unwrap();
    run_hub_on_first_exports(&setup).await;
    let config = setup.config_path.display().to_string();
    let verify = || dhub(&["audit", "verify", "--checkpoints", "--config", &config]);
    let out = verify();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("checkpoints match it"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Rewritten with the key: every entry from 2 on appended again (same kinds and details, so the
    // chain and the versions still check out), which gives them other times and hashes.
    let pool = sqlx::SqlitePool::connect(&setup.state_url()).await.unwrap();
    let rows: Vec<(String, Option<String>, String)> =
        sqlx::query_as("SELECT kind, record_id, detail FROM audit WHERE seq >= 2 ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let (head_hash,): (String,) = sqlx::query_as("SELECT hash FROM audit WHERE seq = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit WHERE seq >= 2")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 1, hash = $1")
        .bind(&head_hash)
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let attacker = setup.store().await.with_audit_key(setup.config().audit_key);
    for (kind, record_id, detail) in &rows {
        let mut tx = attacker.begin().await.unwrap();
        let detail: serde_json::Value = serde_json::from_str(detail).unwrap();
        tx.audit(kind, record_id.as_deref(), &detail).await.unwrap();
        tx.commit().await.unwrap();
    }
    // The rewritten chain itself checks out with the key: only the checkpoints can tell.
    assert_eq!(
        attacker.audit_verify().await.unwrap(),
        dhub_store::AuditCheck::Intact {
            entries: rows.len() as i64 + 1
        }
    );
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("differs from the checkpoint"),
        "{}",
        stderr(&out)
    );

    // Cut short consistently (tail deleted, head moved back): only the checkpoints show it.
    sqlx::query("DELETE FROM audit WHERE seq >= 2")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 1, hash = $1")
        .bind(&head_hash)
        .execute(&pool)
        .await
        .unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cut short"), "{}", stderr(&out));
}
