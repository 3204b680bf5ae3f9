//! `dhub status`: what a running hub's `/api/status` says, as terminal tables (asked over HTTP, so
//! it works against any instance, local or not).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

/// The hub's base URL: `--url`, else the config's `hub.listen` (a wildcard address asked on
/// loopback), else the default listen address.
pub fn base_url(url: Option<&str>, config: Option<&std::path::Path>) -> anyhow::Result<String> {
    if let Some(url) = url {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let Some(path) = config else {
        return Ok("http://127.0.0.1:9464".into());
    };
    let config = super::load_config(path)?;
    let mut listen = config.listen;
    if listen.ip().is_unspecified() {
        listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(format!("http://{listen}"))
}

pub async fn status(
    url: Option<&str>,
    config: Option<&std::path::Path>,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let base = base_url(url, config)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let response = client
        .get(format!("{base}/api/status"))
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("no hub answers on {base}: {error}"))?;
    if !response.status().is_success() {
        anyhow::bail!("the hub on {base} answered {}", response.status());
    }
    let body = response
        .text()
        .await
        .map_err(|error| anyhow::anyhow!("the hub on {base} sent no status: {error}"))?;
    let status: Value = serde_json::from_str(&body)
        .map_err(|error| anyhow::anyhow!("the hub on {base} sent no status: {error}"))?;
    if !quiet {
        print!("{}", render(&status));
    }
    Ok(ExitCode::SUCCESS)
}

/// The status as text tables.
pub fn render(status: &Value) -> String {
    let mut out = String::new();
    let build = &status["build"];
    let _ = writeln!(
        out,
        "dhub {} ({}) · instance {} · {} leases held here",
        text(&build["version"]),
        text(&build["commit"]),
        text(&status["instance"]),
        text(&status["leases_held"]),
    );
    let health = &status["health"];
    let part = |v: &Value| {
        if v["ok"].as_bool() == Some(true) {
            "ok".to_string()
        } else {
            format!("DOWN: {}", text(&v["error"]))
        }
    };
    let _ = writeln!(
        out,
        "state store {} · broker {} · backlog {} · quarantine held {}",
        part(&health["store"]),
        part(&health["broker"]),
        text(&status["outbox_pending"]),
        text(&status["quarantine_held"]),
    );
    if let Some(down) = health["tasks_down"].as_array().filter(|d| !d.is_empty()) {
        let names: Vec<String> = down.iter().map(text).collect();
        let _ = writeln!(out, "tasks restarting: {}", names.join(", "));
    }
    let minutes = text(&status["recent_minutes"]);

    out.push('\n');
    let rows = rows_of(&status["source_figures"], |s| {
        vec![
            text(&s["name"]),
            text(&s["stored_recent"]),
            s["lag_seconds"].as_f64().map_or("–".into(), seconds),
            s["last_success"]
                .as_f64()
                .map_or("never".into(), |t| format!("{} ago", seconds(now() - t))),
        ]
    });
    table(
        &mut out,
        &[
            "SOURCE",
            &format!("STORED/{minutes}MIN"),
            "LAG",
            "LAST SUCCESS",
        ],
        rows,
    );

    out.push('\n');
    let rows = rows_of(&status["feeds"], |f| {
        vec![
            text(&f["name"]),
            text(&f["published_recent"]),
            text(&f["waiting"]),
            f["oldest_unacked_seconds"]
                .as_f64()
                .map_or("–".into(), seconds),
        ]
    });
    table(
        &mut out,
        &[
            "FEED",
            &format!("DELIVERED/{minutes}MIN"),
            "WAITING",
            "OLDEST UNACKED",
        ],
        rows,
    );

    out.push('\n');
    let rows = status["quarantine_by_stage"]
        .as_object()
        .map(|stages| {
            stages
                .iter()
                .map(|(stage, n)| vec![stage.clone(), text(n)])
                .collect()
        })
        .unwrap_or_default();
    table(&mut out, &["QUARANTINE STAGE", "HELD"], rows);

    if let Some(deadlines) = status["deadlines"].as_object() {
        out.push('\n');
        let rows = deadlines
            .iter()
            .map(|(kind, d)| {
                vec![
                    kind.clone(),
                    text(&d["met"]),
                    text(&d["due"]),
                    text(&d["overdue"]),
                ]
            })
            .collect();
        table(&mut out, &["DEADLINE", "MET", "DUE", "OVERDUE"], rows);
    }

    out.push('\n');
    let rows = rows_of(&status["leases"], |l| {
        let expires = l["expires_at_ms"]
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map_or("–".into(), |t| t.format("%H:%M:%S").to_string());
        vec![text(&l["name"]), text(&l["holder"]), expires]
    });
    table(&mut out, &["LEASE", "HOLDER", "EXPIRES (UTC)"], rows);
    out
}

fn rows_of(list: &Value, row: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    list.as_array()
        .map(|items| items.iter().map(row).collect())
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn seconds(s: f64) -> String {
    let s = s.max(0.0);
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Columns padded to their widest cell (in characters); numbers right-aligned.
fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>, out: &mut String| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let numeric = i > 0 && cell.parse::<f64>().is_ok();
                if numeric {
                    format!("{cell:>w$}", w = widths[i])
                } else {
                    format!("{cell:<w$}", w = widths[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect(), out);
    if rows.is_empty() {
        let _ = writeln!(out, "(none)");
    }
    for row in rows {
        line(row, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up_and_show_deadlines_only_when_present() {
        let status = serde_json::json!({
            "instance": "h-1", "leases_held": 3, "outbox_pending": 12, "quarantine_held": 2,
            "recent_minutes": 10,
            "build": {"version": "0.1.0", "commit": "abc"},
            "health": {"store": {"ok": true}, "broker": {"ok": false, "error": "timed out"}, "tasks_down": []},
            "source_figures": [{"name": "finance-oa", "stored_recent": 120, "lag_seconds": 4.2, "last_success": null}],
            "feeds": [{"name": "liaocheng-city", "published_recent": 7, "waiting": 12, "oldest_unacked_seconds": 600.0}],
            "quarantine_by_stage": {"mapping": 2},
            "leases": [],
        });
        let shown = render(&status);
        assert!(shown.contains("broker DOWN: timed out"), "{shown}");
        assert!(
            shown.contains(
                "SOURCE      STORED/10MIN  LAG  LAST SUCCESS\nfinance-oa           120  4 s  never"
            ),
            "{shown}"
        );
        assert!(
            shown.contains("liaocheng-city                7       12  10 min"),
            "{shown}"
        );
        assert!(
            shown.contains("LEASE  HOLDER  EXPIRES (UTC)\n(none)"),
            "{shown}"
        );
        assert!(!shown.contains("DEADLINE"));
        let mut with = status.clone();
        with["deadlines"] = serde_json::json!({"withdrawal": {"met": 5, "due": 1, "overdue": 2}});
        assert!(
            render(&with).contains("withdrawal    5    1        2"),
            "{}",
            render(&with)
        );
    }
}
