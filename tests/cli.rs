//! The `dhub` command line as CONTRACT §1 describes it: exit codes, output shapes, and one-line errors
//! that name the file, line or record at fault.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{repo, start_hub_in_process, HubSetup};
use dhub_testkit::System;

fn dhub(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(args)
        .env("DHUB_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sample(system: &str, stage: &str) -> String {
    let dir = repo().join("mappings/samples").join(system).join(stage);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files[0].display().to_string()
}

#[test]
fn check_prints_ok_for_the_demo_and_every_error_with_its_line() {
    let ok = dhub(
        &[
            "check",
            "--config",
            &repo().join("deploy/demo/hub.toml").display().to_string(),
        ],
        None,
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), "ok\n");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("hub.toml");
    std::fs::write(&bad, "[kafka]\nbrokers = \"x:1\"\n\n[[platform]]\nname = \"p\"\nlevel = \"city\"\ndivision = \"999900\"\n").unwrap();
    let failed = dhub(&["check", "--config", &bad.display().to_string()], None);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains("hub.toml:4: platform `p`: division `999900` is not a GB/T 2260 code"),
        "{stderr}"
    );
}

#[test]
fn map_prints_normalized_jsonl_and_names_file_and_line_of_bad_records() {
    let mapping = repo()
        .join("mappings/finance-oa.toml")
        .display()
        .to_string();
    let out = dhub(
        &[
            "map",
            "--mapping",
            &mapping,
            "--input",
            &sample("finance-oa", "first"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 30);
    assert!(lines.iter().all(
        |r| r["record_id"].as_str().unwrap().starts_with("finance-oa:")
            && r["division_code"] == "371523"
    ));

    let broken =
        "<?xml version=\"1.0\"?>\n<执法信息导出>\n  <案件 编号=\"1\">\n  </执法信息导出>\n";
    let out = dhub(&["map", "--mapping", &mapping], Some(broken.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: stdin:4:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn redact_writes_one_line_per_record_with_report() {
    let mapping = repo()
        .join("mappings/market-supervision.toml")
        .display()
        .to_string();
    let mut records = Vec::new();
    for file in std::fs::read_dir(repo().join("mappings/samples/market-supervision/first")).unwrap()
    {
        let out = dhub(
            &[
                "map",
                "--mapping",
                &mapping,
                "--input",
                &file.unwrap().path().display().to_string(),
            ],
            None,
        );
        records.extend(out.stdout);
    }
    let count = text(&records).lines().count();
    let out = dhub(&["redact", "--report"], Some(&records));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), count, "one line out per record in");
    let withheld = lines.iter().filter(|l| l["withheld"] == true).count();
    assert_eq!(
        withheld, 4,
        "secret, internal, minor and unreviewed major of the market samples"
    );
    assert!(lines
        .iter()
        .any(|l| l["redactions"].as_array().is_some_and(|r| !r.is_empty())));
    for line in lines.iter().filter(|l| l.get("record").is_some()) {
        assert!(line["record"]["counterparty"].get("id_number").is_none());
    }

    let out = dhub(&["redact", "--policy", "no-such-policy"], Some(b""));
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_on_a_running_demo_state() {
    let setup = HubSetup::new(None);
    let config = setup.config_path.display().to_string();
    let (stop, hub) = start_hub_in_process(setup.config());
    setup.copy_samples("first");
    let store = setup.store().await;
    for _ in 0..600 {
        let done = std::fs::read_dir(setup.inbox(System::MarketSupervision).join("done"))
            .map(|d| d.count())
            .unwrap_or(0);
        if done == 4
            && store.pending_count().await.unwrap() == 0
            && store.quarantine_list(false).await.unwrap().len() == 6
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    hub.await.unwrap().unwrap();

    // quarantine list: the six withheld demo records, one JSON line each, with their reason.
    let out = dhub(&["quarantine", "list", "--config", &config], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let held: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(held.len(), 6);
    assert!(held
        .iter()
        .all(|h| h["stage"] == "redaction" && h["reason"].as_str().unwrap().contains("withheld")));
    let first_id = held[0]["id"].as_i64().unwrap().to_string();
    let out = dhub(
        &["quarantine", "show", &first_id, "--config", &config],
        None,
    );
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("\"payload\""));

    // trace: deliveries with topic, partition and offset.
    let published = store.current_records(None, 1000).await.unwrap();
    let record = published
        .iter()
        .find(|r| {
            r.record_id.starts_with("finance-oa:")
                && !held.iter().any(|h| h["record_id"] == r.record_id.as_str())
        })
        .unwrap();
    let out = dhub(&["trace", "--config", &config, &record.record_id], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trace: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let deliveries = trace["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries
        .iter()
        .all(|d| d["offset"].is_i64() && d["partition"].is_i64() && d["op"] == "upsert"));
    assert!(trace["versions"][0]["redaction"][0]["redactions"].is_array());

    // retract by hand: to every platform that received it, then it is known as withdrawn.
    let out = dhub(
        &[
            "retract",
            "--config",
            &config,
            "--record",
            &record.record_id,
            "--reason",
            "revoked",
            "--note",
            "复议决定撤销",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("3 platform(s)"),
        "{}",
        text(&out.stdout)
    );
    let out = dhub(
        &[
            "retract",
            "--config",
            &config,
            "--record",
            "finance-oa:NO-SUCH",
            "--reason",
            "revoked",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("finance-oa:NO-SUCH"),
        "{}",
        text(&out.stderr)
    );
    let out = dhub(
        &[
            "retract",
            "--config",
            &config,
            "--record",
            &record.record_id,
            "--reason",
            "because",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));

    // replay of a withheld record under the same policy: held again, exit 1; drop: audited.
    let out = dhub(
        &["quarantine", "replay", &first_id, "--config", &config],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("held again"));
    let again = store.quarantine_list(false).await.unwrap();
    let newest = again.iter().map(|q| q.id).max().unwrap().to_string();
    let out = dhub(&["quarantine", "drop", &newest, "--config", &config], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = dhub(&["quarantine", "drop", &newest, "--config", &config], None);
    assert_eq!(out.status.code(), Some(1), "dropping twice is an error");

    let out = dhub(&["audit", "verify", "--config", &config], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("audit chain intact"));
    // Tampering with one entry is found, and named.
    let pool = sqlx::SqlitePool::connect(&setup.state_url()).await.unwrap();
    sqlx::query("UPDATE audit SET detail = '{}' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    let out = dhub(&["audit", "verify", "--config", &config], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("entry 2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let unknown = dhub(&["frobnicate"], None);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("unrecognized subcommand"));
    let missing = dhub(&["check"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("--config"));
    let help = dhub(&["--help"], None);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("retract"));
}

#[test]
fn platform_properties_must_be_key_value_and_not_the_managed_ones() {
    let db = format!(
        "sqlite://{}",
        tempfile::tempdir().unwrap().path().join("v.db").display()
    );
    let malformed = dhub(
        &[
            "platform",
            "--brokers",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--db",
            &db,
            "--property",
            "nonsense",
        ],
        None,
    );
    assert_eq!(malformed.status.code(), Some(1));
    assert!(text(&malformed.stderr).contains("--property `nonsense` must be KEY=VALUE"));
    let managed = dhub(
        &[
            "platform",
            "--brokers",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--db",
            &db,
            "--property",
            "group.id=x",
        ],
        None,
    );
    assert_eq!(managed.status.code(), Some(1));
    assert!(text(&managed.stderr).contains("group.id"));
}

#[test]
fn redact_document_prints_the_public_version_and_holds_a_scan() {
    let samples = repo().join("pipeline/documents/tests/samples");
    let document = samples.join("penalty-person.docx").display().to_string();
    let record = samples.join("penalty-person.record.json").display().to_string();
    let out = dhub(
        &["redact", "--document", &document, "--record", &record, "--report"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = text(&out.stdout);
    assert!(html.contains("茌财罚〔2017〕12号") && html.contains("会计法"), "{html}");
    for personal in ["司马建国", "371523198001011231", "振兴路123号"] {
        assert!(!html.contains(personal), "{personal} in the public version");
    }
    let report = text(&out.stderr);
    assert!(report.contains("sha256\t"), "{report}");
    assert!(!report.contains("司马"), "the report names rules, never text: {report}");

    let scan = samples.join("scanned.pdf").display().to_string();
    let out = dhub(&["redact", "--document", &scan], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no text layer"), "{}", text(&out.stderr));
}

/// Issue 9: a hub listening beyond loopback serves its dashboard, `/api/status` and `/metrics` to
/// anyone who reaches it; it says so when it starts (and a loopback hub does not), and a `dhub
/// check` refuses a source's unusable `[source.limits]` with the file and line.
#[test]
fn a_hub_listening_beyond_loopback_warns_at_start_and_check_refuses_bad_limits() {
    use std::io::BufRead;
    for (address, warned) in [("0.0.0.0", true), ("127.0.0.1", false)] {
        let setup = HubSetup::new(None);
        let config = std::fs::read_to_string(&setup.config_path).unwrap().replace(
            &format!("listen = \"127.0.0.1:{}\"", setup.listen),
            &format!("listen = \"{address}:{}\"", setup.listen),
        );
        std::fs::write(&setup.config_path, config).unwrap();
        let mut hub = Command::new(env!("CARGO_BIN_EXE_dhub"))
            .args(["run", "--config"])
            .arg(&setup.config_path)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines_tx, lines) = std::sync::mpsc::channel();
        let stderr = hub.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        // The warning comes before the line that says the server is up.
        let mut seen = Vec::new();
        while let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) {
            let serving = line.contains("serving metrics, health and dashboard");
            seen.push(line);
            if serving {
                break;
            }
        }
        let _ = hub.kill();
        let _ = hub.wait();
        let warning = seen.iter().find(|l| l.contains("is not a loopback address"));
        assert_eq!(warning.is_some(), warned, "{address}: {seen:#?}");
        if let Some(warning) = warning {
            assert!(warning.contains("WARN") && warning.contains("without authentication"));
        }
    }

    let setup = HubSetup::new(None);
    let mut config = std::fs::read_to_string(&setup.config_path).unwrap();
    config.push_str("[source.limits]\nmax_depth = 0\n");
    std::fs::write(&setup.config_path, config).unwrap();
    let out = dhub(&["check", "--config", setup.config_path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("source `market-supervision` (limits): limit `max_depth` is 0"),
        "{stderr}"
    );
}
