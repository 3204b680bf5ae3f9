//! Helpers of the operations tests: Prometheus' `promtool`, HTTP gets, samples read out of a
//! Prometheus text exposition.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `promtool` with `args` (and `stdin`), failing loudly when it is not installed: these checks
/// are part of the test command and must not be skipped quietly.
pub fn promtool(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = match Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => panic!(
            "promtool is needed by this test and cannot be run ({error}): install the Debian \
             package `prometheus`, e.g. with `bash tests/deps.sh`"
        ),
    };
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub async fn get_text(url: &str) -> String {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.text().await.unwrap()
}

pub async fn get_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&get_text(url).await).unwrap()
}

/// The value of the sample `name` whose labels include every one of `labels` (the one without
/// labels when `labels` is empty and the metric has none), summed over the matching series.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = match line.rsplit_once(' ') {
            Some(parts) => parts,
            None => continue,
        };
        let (metric, series_labels) = match series.split_once('{') {
            Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let matches = labels.iter().all(|(k, v)| {
            series_labels
                .split(',')
                .any(|pair| pair == format!("{k}=\"{v}\""))
        });
        if matches {
            let value: f64 = value.parse().ok()?;
            found = Some(found.unwrap_or(0.0) + value);
        }
    }
    found
}

/// Waits until `/metrics` has a line starting with `series`; panics after `timeout`.
pub async fn wait_for_metric(base: &str, series: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(response) = reqwest::get(format!("{base}/metrics")).await {
            if let Ok(text) = response.text().await {
                if text.lines().any(|line| line.starts_with(series)) {
                    return text;
                }
                if start.elapsed() > timeout {
                    panic!("no `{series}` within {timeout:?}:\n{text}");
                }
            }
        } else if start.elapsed() > timeout {
            panic!("the hub at {base} did not answer within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
