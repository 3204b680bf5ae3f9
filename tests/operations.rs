//! The operator's view of a running hub: `/metrics` checked with Prometheus' own `promtool`, the
//! figures the dashboard needs in `/api/status`, the dashboard itself in headless Chromium (with a
//! screenshot kept under `target/test-artifacts/`), and `dhub status`.

mod common;
mod ops_common;

use std::time::Duration;

use common::{start_hub_in_process, HubSetup};
use ops_common::{get_json, get_text, promtool, sample, wait_for_metric};

/// Sample data fed to a hub in a temp folder; the test waits until both sources stored it.
async fn hub_with_samples() -> (
    HubSetup,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let setup = HubSetup::new(None);
    let (stop, task) = start_hub_in_process(setup.config());
    setup.copy_samples("first");
    let base = format!("http://127.0.0.1:{}", setup.listen);
    for source in ["finance-oa", "market-supervision"] {
        wait_for_metric(
            &base,
            &format!("dhub_source_last_success_timestamp_seconds{{source=\"{source}\"}}"),
            Duration::from_secs(60),
        )
        .await;
    }
    wait_until_settled(&base).await;
    (setup, stop, task)
}

/// Waits until the figures the tests compare stop changing (with a broker the feeds deliver after
/// the sources stored; without one nothing moves once stored).
async fn wait_until_settled(base: &str) {
    let figures = |status: &serde_json::Value| {
        serde_json::json!([
            status["outbox_pending"],
            status["quarantine_held"],
            status["source_figures"],
            status["feeds"].as_array().map(|feeds| feeds
                .iter()
                .map(|f| [f["published_recent"].clone(), f["waiting"].clone()])
                .collect::<Vec<_>>()),
        ])
    };
    let start = std::time::Instant::now();
    let mut last = serde_json::Value::Null;
    let mut same = 0;
    while same < 3 && start.elapsed() < Duration::from_secs(60) {
        let now = figures(&get_json(&format!("{base}/api/status")).await);
        same = if now == last { same + 1 } else { 0 };
        last = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_metrics_scrape_passes_promtool_and_has_the_operators_series() {
    let (setup, stop, task) = hub_with_samples().await;
    let base = format!("http://127.0.0.1:{}", setup.listen);
    let text = get_text(&format!("{base}/metrics")).await;

    let checked = promtool(&["check", "metrics"], Some(text.as_bytes()));
    assert!(
        checked.status.success(),
        "promtool check metrics found problems:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let build = sample(
        &text,
        "dhub_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
    );
    assert_eq!(build, Some(1.0), "build info:\n{text}");
    for source in ["finance-oa", "market-supervision"] {
        let last = sample(
            &text,
            "dhub_source_last_success_timestamp_seconds",
            &[("source", source)],
        )
        .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(now - last < 120.0 && last <= now + 1.0, "{source}: {last}");
        // The folder is empty again once its export is stored: caught up.
        let lag = sample(&text, "dhub_source_lag_seconds", &[("source", source)]);
        assert!(lag.is_some(), "no lag for {source}:\n{text}");
    }
    // One instance with SQLite holds every lease: each source, each feed, the two sweeps.
    let leases = sample(&text, "dhub_leases_held", &[]).unwrap();
    assert_eq!(leases, (2 + 4 + 2) as f64);
    // Every quarantine stage is there from the start; the samples hold some.
    for stage in dhub::telemetry_ops::QUARANTINE_STAGES {
        assert!(
            sample(&text, "dhub_quarantine_held", &[("stage", stage)]).is_some(),
            "{stage}"
        );
    }
    // No label carries record data: every label value is a config name or a fixed word.
    assert_no_record_data_in_labels(&text);

    let _ = stop.send(true);
    task.await.unwrap().unwrap();
}

/// Label values are source, platform, stage, rule, reason, op, outcome, task, le, version names:
/// short ASCII words. A record id, a name or a document number would be longer or Chinese.
fn assert_no_record_data_in_labels(text: &str) {
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('{'))
    {
        let labels = &line[line.find('{').unwrap() + 1..line.rfind('}').unwrap()];
        for pair in labels.split("\",") {
            let value = pair.split_once("=\"").map(|(_, v)| v.trim_end_matches('"'));
            let value = value.unwrap_or_default();
            assert!(
                value.is_ascii() && value.len() <= 48,
                "label value looks like data: {line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_status_has_throughput_backlog_quarantine_health_and_build() {
    let (setup, stop, task) = hub_with_samples().await;
    let base = format!("http://127.0.0.1:{}", setup.listen);
    let status = get_json(&format!("{base}/api/status")).await;
    let metrics = get_text(&format!("{base}/metrics")).await;

    let minutes = status["recent_minutes"].as_u64().unwrap() as usize;
    for source in status["source_figures"].as_array().unwrap() {
        let name = source["name"].as_str().unwrap();
        let per_minute = source["stored_per_minute"].as_array().unwrap();
        assert_eq!(per_minute.len(), minutes);
        // Everything this hub stored, it stored within the last minutes.
        let stored = sample(&metrics, "dhub_records_stored_total", &[("source", name)]).unwrap();
        assert_eq!(source["stored_recent"].as_f64().unwrap(), stored, "{name}");
        assert!(stored > 0.0, "{name} stored nothing");
        assert!(source["last_success"].as_f64().is_some());
    }
    assert_eq!(status["feeds"].as_array().unwrap().len(), 4);
    for feed in status["feeds"].as_array().unwrap() {
        assert!(feed["waiting"].is_i64() && feed["oldest_unacked_seconds"].is_f64());
    }
    let by_stage = status["quarantine_by_stage"].as_object().unwrap();
    let held: i64 = by_stage.values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(held, status["quarantine_held"].as_i64().unwrap());
    assert!(held > 0, "the samples carry planted bad records");
    for (stage, count) in by_stage {
        let gauge = sample(&metrics, "dhub_quarantine_held", &[("stage", stage)]);
        assert_eq!(gauge, count.as_f64(), "{stage}");
    }
    assert_eq!(status["health"]["store"]["ok"], true);
    assert!(status["health"]["broker"]["ok"].is_boolean());
    assert_eq!(status["leases_held"], 8);
    assert_eq!(status["build"]["version"], env!("CARGO_PKG_VERSION"));

    let _ = stop.send(true);
    task.await.unwrap().unwrap();
}

/// `data-figure="NAME">VALUE<` pairs of a dumped DOM.
fn figures_in(dom: &str) -> std::collections::BTreeMap<String, String> {
    let mut figures = std::collections::BTreeMap::new();
    for part in dom.split("data-figure=\"").skip(1) {
        let Some((name, rest)) = part.split_once('"') else {
            continue;
        };
        let value = rest
            .split_once('>')
            .map(|(_, after)| after.split('<').next().unwrap_or_default())
            .unwrap_or_default();
        figures.insert(name.to_string(), value.to_string());
    }
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_headless_chromium_shows_what_api_status_says() {
    let chromium = dhub_testkit::browser::Chromium::find().unwrap_or_else(|e| panic!("{e}"));
    let (setup, stop, task) = hub_with_samples().await;
    let base = format!("http://127.0.0.1:{}", setup.listen);

    let page = get_text(&format!("{base}/")).await;
    // No external assets: nothing is loaded from another host.
    for external in ["http://", "https://", "//cdn", "<link "] {
        let outside = page
            .match_indices(external)
            .any(|(i, _)| !page[i..].starts_with("http://www.w3.org/2000/svg"));
        assert!(!outside, "the dashboard loads `{external}`");
    }

    let url = format!("{base}/");
    let dom = {
        let (chromium, url) = (chromium.clone(), url.clone());
        tokio::task::spawn_blocking(move || chromium.dump_dom(&url))
            .await
            .unwrap()
            .unwrap()
    };
    let status = get_json(&format!("{base}/api/status")).await;
    assert!(
        dom.contains("data-loaded=\"yes\""),
        "the page never loaded its figures:\n{dom}"
    );
    for heading in [
        "数据来源吞吐",
        "公示平台推送",
        "隔离区",
        "公示期限",
        "租约",
        "运行健康",
    ] {
        assert!(dom.contains(heading), "no heading {heading}");
    }
    let figures = figures_in(&dom);

    let mut expected = std::collections::BTreeMap::new();
    expected.insert(
        "outbox_pending".to_string(),
        status["outbox_pending"].to_string(),
    );
    expected.insert(
        "quarantine_held".to_string(),
        status["quarantine_held"].to_string(),
    );
    expected.insert("leases_held".to_string(), status["leases_held"].to_string());
    for source in status["source_figures"].as_array().unwrap() {
        expected.insert(
            format!("source:{}:stored_recent", source["name"].as_str().unwrap()),
            source["stored_recent"].to_string(),
        );
    }
    for feed in status["feeds"].as_array().unwrap() {
        let name = feed["name"].as_str().unwrap();
        expected.insert(
            format!("feed:{name}:published_recent"),
            feed["published_recent"].to_string(),
        );
        expected.insert(format!("feed:{name}:waiting"), feed["waiting"].to_string());
    }
    for (stage, held) in status["quarantine_by_stage"].as_object().unwrap() {
        expected.insert(format!("quarantine:{stage}"), held.to_string());
    }
    match status["deadlines"].as_object() {
        Some(deadlines) => {
            let (mut overdue, mut due) = (0, 0);
            // The clocks only (publication, withdrawal); the object also carries notes such as
            // `estimated` and `uncovered_years`, which the page does not show as a row.
            let clocks = deadlines
                .iter()
                .filter(|(_, counts)| counts.get("met").is_some());
            for (kind, counts) in clocks {
                for state in ["met", "due", "overdue"] {
                    expected.insert(
                        format!("deadline:{kind}:{state}"),
                        counts[state].to_string(),
                    );
                }
                overdue += counts["overdue"].as_i64().unwrap_or(0);
                due += counts["due_soon"].as_i64().unwrap_or(0);
            }
            expected.insert("deadlines_overdue".into(), overdue.to_string());
            expected.insert("deadlines_due".into(), due.to_string());
        }
        None => {
            // Without the compliance figures the page says so instead of showing zeros.
            assert!(dom.contains("<p id=\"deadlines-absent\">"), "{dom}");
            assert_eq!(figures["deadlines_overdue"], "–");
        }
    }
    for (figure, want) in &expected {
        assert_eq!(
            figures.get(figure),
            Some(want),
            "figure {figure} on the page"
        );
    }
    assert!(
        figures["source:finance-oa:stored_recent"] != "0",
        "the sample data shows as throughput"
    );
    assert_eq!(figures["store_ok"], "正常 ok");

    let screenshot = dhub_testkit::browser::artifact_path("dashboard.png");
    {
        let (chromium, path) = (chromium.clone(), screenshot.clone());
        tokio::task::spawn_blocking(move || chromium.screenshot(&url, &path, 1400, 1500))
            .await
            .unwrap()
            .unwrap();
    }
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    println!("dashboard screenshot: {}", screenshot.display());

    let _ = stop.send(true);
    task.await.unwrap().unwrap();
}

fn dhub_command(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(args)
        .env("DHUB_LOG", "error")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dhub_status_prints_the_running_hubs_figures_as_tables() {
    let (setup, stop, task) = hub_with_samples().await;
    let config = setup.config_path.display().to_string();
    let shown =
        tokio::task::spawn_blocking(move || dhub_command(&["status", "--config", &config], &[]))
            .await
            .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let status = get_json(&format!("http://127.0.0.1:{}/api/status", setup.listen)).await;
    for source in status["source_figures"].as_array().unwrap() {
        let name = source["name"].as_str().unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{text}"));
        let stored: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(stored[1], source["stored_recent"].to_string(), "{line}");
    }
    for header in [
        "SOURCE",
        "FEED",
        "QUARANTINE STAGE",
        "LEASE",
        "state store ok",
    ] {
        assert!(text.contains(header), "no {header}:\n{text}");
    }
    assert!(text.contains(&format!("{} leases held here", status["leases_held"])));

    let _ = stop.send(true);
    task.await.unwrap().unwrap();

    // No hub any more: one line naming where it asked, exit 1; --quiet prints nothing either way.
    let url = format!("http://127.0.0.1:{}", setup.listen);
    let gone = dhub_command(&["status", "--url", &url], &[]);
    assert_eq!(gone.status.code(), Some(1));
    let error = String::from_utf8_lossy(&gone.stderr);
    assert!(
        error.starts_with("error: no hub answers on ") && error.contains(&url),
        "{error}"
    );
    let quiet = dhub_command(&["status", "--url", &url, "--quiet"], &[]);
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_all_quarantined_records_shows_progress_on_stderr() {
    let (setup, stop, task) = hub_with_samples().await;
    let status = get_json(&format!("http://127.0.0.1:{}/api/status", setup.listen)).await;
    let _ = stop.send(true);
    task.await.unwrap().unwrap();
    let store = setup.store().await;
    let held: Vec<_> = store
        .quarantine_list(false)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.source_name == "finance-oa")
        .collect();
    assert!(held.len() >= 2, "the samples hold bad records: {status}");
    store.close().await;

    let config = setup.config_path.display().to_string();
    let replayed = dhub_command(
        &[
            "quarantine",
            "replay",
            "--all",
            "--source",
            "finance-oa",
            "--config",
            &config,
        ],
        &[("DHUB_PROGRESS_EVERY_MS", "0")],
    );
    let out = String::from_utf8_lossy(&replayed.stdout);
    let err = String::from_utf8_lossy(&replayed.stderr);
    let n = held.len();
    // One progress line per record (every 0 ms) before the last, which says it is done.
    for done in 1..n {
        assert!(
            err.contains(&format!("quarantine replay: {done}/{n} (")),
            "no progress at {done}/{n}:\n{err}"
        );
    }
    assert!(
        err.contains(&format!("quarantine replay: {n}/{n} (100%)")) && err.contains("done in"),
        "{err}"
    );
    // The records are still bad, so each is held again (a new entry) and the command says so.
    assert!(
        out.starts_with("replayed ") && out.contains(&format!(" of {n} quarantine entries; ")),
        "{out}{err}"
    );
    assert!(!err.contains("DHUB") && !out.contains("payload"));

    let refused = dhub_command(&["quarantine", "replay", "--config", &config], &[]);
    assert_eq!(refused.status.code(), Some(1), "an id or --all is needed");
}
