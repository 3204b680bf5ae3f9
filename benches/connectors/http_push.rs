//! `http_push` section: 50 clients POST batches of cases to the hub at once, each sending its next
//! batch as soon as the last one was answered. The hub runs in-process (`dhub::hub::run`) with the
//! embedded SQLite state store (`synchronous=FULL`), the four demo platforms and its relay on the
//! broker at `DHUB_TEST_BROKERS`; one `http_push` source with the `county-push` mapping and its
//! `agencies`/`division` constraints.
//!
//! Prints records/s (records answered 202, over the wall time from the first request to the last
//! answer) and the p50 / p99 / max of the time to a 202. Target: at least 2,000 records/s.
//!
//! Knobs: `DHUB_BENCH_PUSH_CLIENTS` (50), `DHUB_BENCH_PUSH_BATCH` (records per request, 50),
//! `DHUB_BENCH_PUSH_RECORDS` (40,000).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

const TOKEN: &str = "bench-push-token-3c9e1a7b5d";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The county-push sample cases, as templates.
fn templates() -> anyhow::Result<Vec<Value>> {
    let path = repo().join("mappings/samples/county-push/first/cpyj-push-20261030-01.json");
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub async fn run() -> anyhow::Result<()> {
    let clients = env_number("DHUB_BENCH_PUSH_CLIENTS", 50);
    let batch = env_number("DHUB_BENCH_PUSH_BATCH", 50);
    let records = env_number("DHUB_BENCH_PUSH_RECORDS", 40_000);
    let requests_per_client = records.div_ceil(batch * clients);

    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let mut text = format!(
        "[hub]\nstate = \"sqlite://{}\"\nlisten = \"127.0.0.1:{port}\"\n\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{}.\"\n",
        dir.path().join("state.db").display(),
        dhub_testkit::test_brokers(),
        dhub_testkit::unique_name("bench-push"),
    );
    for platform in dhub_testkit::DEMO_PLATFORMS {
        text.push_str(&format!(
            "\n[[platform]]\nname = \"{level}-{division}\"\nlevel = \"{level}\"\ndivision = \"{division}\"\n",
            level = platform.level.as_str(),
            division = platform.division
        ));
    }
    text.push_str(&format!(
        "\n[[source]]\nname = \"county-push\"\nkind = \"http_push\"\nmapping = \"{}\"\ntoken = \"{TOKEN}\"\nagencies = [\"11371523MB1739421Y\"]\ndivision = \"371523\"\n",
        repo().join("mappings/county-push.toml").display()
    ));
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, &text)?;
    let config = dhub::config::HubConfig::parse(&text, &path, &[])
        .map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let hub = tokio::spawn(dhub::hub::run(config, async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        if Instant::now() > deadline {
            bail!("the hub did not answer on {base}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The bodies, built before the clock starts: every case its own record.
    let templates = templates()?;
    let bodies: Vec<Vec<String>> = (0..clients)
        .map(|client| {
            (0..requests_per_client)
                .map(|request| {
                    let cases: Vec<Value> = (0..batch)
                        .map(|i| {
                            let mut case = templates[i % templates.len()].clone();
                            case["案件编号"] = json!(format!("BENCH-{client}-{request}-{i}"));
                            case
                        })
                        .collect();
                    Value::Array(cases).to_string()
                })
                .collect()
        })
        .collect();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = format!("{base}/ingest/county-push");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for bodies in bodies {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            for body in bodies {
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .context("POST /ingest/county-push")?;
                let status = response.status();
                let answer = response.text().await?;
                if status.as_u16() != 202 {
                    bail!("answered {status}: {answer}");
                }
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    hub.await??;

    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let stored = latencies.len() * batch;
    let rate = stored as f64 / elapsed.as_secs_f64();
    println!("## http_push: {clients} clients, {batch} records per request, in-process hub, SQLite (synchronous=FULL)");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| records answered 202 | {stored} in {} requests, {:.2} s |",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "| throughput | **{rate:.0} records/s** ({:.0} requests/s; target 2,000 records/s: {}) |",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        if rate >= 2000.0 { "met" } else { "NOT met" }
    );
    println!(
        "| time to 202, p50 / p99 / max | {} ms / **{} ms** / {} ms |",
        at(0.50).as_millis(),
        at(0.99).as_millis(),
        latencies.last().map(Duration::as_millis).unwrap_or(0)
    );
    Ok(())
}
