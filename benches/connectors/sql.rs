//! The `sql` source on Postgres: latency from a department's COMMIT to the feed, by the NOTIFY
//! path (the trigger of `connectors/src/sql/notify_trigger.sql` wakes the source) and, for
//! comparison, by polling alone (`poll_interval_ms` = `DHUB_BENCH_POLL_MS`, default 1000).
//!
//! Each run: a fresh Postgres database with the case-db table (`mappings/samples/case-db/`), a hub
//! with the source at its default keys otherwise, a writer inserting new cases at the given rate
//! (each INSERT its own transaction, `updated_at = now()`), the instant each COMMIT returned, and
//! the instant each record arrived on the province's feed. The writer's session commits with
//! `synchronous_commit = off`, so its own WAL flush does not cap the rate (a row is visible to
//! readers at its commit either way).
//!
//! One more run has four writers at 1,000/s: their transactions commit out of order (a row whose
//! `now()` is older becomes visible after a newer one was read), and those rows are found by the
//! re-read, within `resync_interval_ms` (5 s by default), which shows in the maximum.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::support::{
    cpu_seconds, env_number, load_average, repo, stages, wall_ms, FeedWatch, Figures, HubConfig,
    RunningHub, Settings,
};

/// A row's record id and when its COMMIT returned: by the monotonic clock (latency) and as
/// wall-clock milliseconds (to compare with the state store's clocks).
type Commit = (String, (Instant, i64));

pub async fn run(settings: &Settings) {
    let poll_ms = env_number("DHUB_BENCH_POLL_MS", 1000);
    let rates: Vec<u64> = std::env::var("DHUB_BENCH_SQL_RATES")
        .unwrap_or_else(|_| "100,1000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    println!("\n## sql (Postgres), commit → feed consumer\n");
    println!("{}", Figures::header());
    let mut breakdown = Vec::new();
    let mut runs: Vec<(bool, u64, usize)> = rates.iter().map(|&rate| (true, rate, 1)).collect();
    runs.push((true, rates.iter().copied().max().unwrap_or(1000), 4));
    runs.extend(rates.iter().map(|&rate| (false, rate, 1)));
    {
        for (notify, rate, writers) in runs {
            let mut label = if notify {
                "NOTIFY".to_string()
            } else {
                format!("polling every {poll_ms} ms")
            };
            if writers > 1 {
                label.push_str(&format!(", {writers} writers"));
            }
            let load = load_average();
            let (figures, achieved, cpu, stages) =
                one_run(settings, notify, poll_ms, rate, writers).await;
            println!(
                "{}",
                figures.row(
                    &format!("{label} at {rate}/s"),
                    rate as f64,
                    achieved,
                    cpu,
                    &load
                )
            );
            breakdown.push(format!("- {label} at {rate}/s: {stages}"));
        }
    }
    println!("\nWhere the time goes, by the state store's clocks:\n");
    for line in breakdown {
        println!("{line}");
    }
}

/// One run; returns the figures, the rate the writers achieved, the CPU seconds the process (hub,
/// writers, consumer) used while writing and waiting for the feed, and where the time went.
async fn one_run(
    settings: &Settings,
    notify: bool,
    poll_ms: u64,
    rate: u64,
    writers: usize,
) -> (Figures, f64, f64, String) {
    let db = dhub_testkit::fresh_postgres_db()
        .await
        .expect("postgres for the benchmark (DHUB_TEST_POSTGRES)");
    let options = PgConnectOptions::from_str(db.url())
        .unwrap()
        .options([("synchronous_commit", "off")]);
    let pool = PgPoolOptions::new()
        .max_connections(writers as u32 + 1)
        .connect_with(options)
        .await
        .unwrap();
    let schema =
        std::fs::read_to_string(repo().join("mappings/samples/case-db/schema.sql")).unwrap();
    sqlx::raw_sql(&schema).execute(&pool).await.unwrap();
    if notify {
        let trigger =
            std::fs::read_to_string(repo().join("connectors/src/sql/notify_trigger.sql")).unwrap();
        sqlx::raw_sql(&trigger).execute(&pool).await.unwrap();
    }
    let listen = if notify {
        "notify = \"dhub_cases\"\n"
    } else {
        ""
    };
    let source = format!(
        "[[source]]\nname = \"case-db\"\nkind = \"sql\"\nmapping = \"{}\"\nurl = \"{}\"\ntable = \"enforcement_cases\"\ncursor = [\"updated_at\", \"case_no\"]\npoll_interval_ms = {poll_ms}\n{listen}",
        repo().join("mappings/case-db.toml").display(),
        db.url()
    );
    let config = HubConfig::new(settings, &source);
    let feed = FeedWatch::start(&settings.brokers, &config.province_topic());
    let hub = RunningHub::start(&config.path);

    // Warm-up: topics created, the consumer assigned, the source connected (and listening).
    let warm: Vec<String> = (0..5).map(|n| format!("WARM-{n}")).collect();
    for key in &warm {
        insert(&pool, key, 0).await;
    }
    let warm_ids: Vec<String> = warm.iter().map(|k| format!("case-db:{k}")).collect();
    let missing = feed.wait_all(&warm_ids, Duration::from_secs(120)).await;
    assert_eq!(missing, 0, "the warm-up cases never reached the feed");

    let cpu_before = cpu_seconds();
    let total = (rate * settings.seconds) as usize;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now() + Duration::from_millis(50);
    let commits: Arc<std::sync::Mutex<Vec<Commit>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let pool = pool.clone();
        let commits = commits.clone();
        tasks.push(tokio::spawn(async move {
            for n in (w..total).step_by(writers) {
                tokio::time::sleep_until((start + period * n as u32).into()).await;
                let key = format!("R{rate}-{n:06}");
                insert(&pool, &key, n).await;
                let committed = (Instant::now(), wall_ms());
                commits
                    .lock()
                    .unwrap()
                    .push((format!("case-db:{key}"), committed));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let achieved = total as f64 / (start.elapsed().as_secs_f64()).max(1e-9);
    let commits = std::mem::take(&mut *commits.lock().unwrap());
    let ids: Vec<String> = commits.iter().map(|(id, _)| id.clone()).collect();
    let missing = feed.wait_all(&ids, Duration::from_secs(60)).await;
    let cpu = cpu_seconds() - cpu_before;
    let latencies: Vec<Duration> = commits
        .iter()
        .filter_map(|(id, (committed, _))| {
            feed.arrived(id)
                .map(|arrived| arrived.saturating_duration_since(*committed))
        })
        .collect();
    let commits_ms: HashMap<String, i64> = commits
        .iter()
        .map(|(id, (_, at_ms))| (id.clone(), *at_ms))
        .collect();
    let arrivals_ms = feed.arrivals_ms();
    hub.stop().await;
    let stages = stages(
        &config.state_url(),
        "province-370000",
        &commits_ms,
        &arrivals_ms,
    )
    .await;
    feed.stop().await;
    pool.close().await;
    db.drop().await.unwrap();
    (Figures::of(latencies, missing), achieved, cpu, stages)
}

/// One new case, committed on its own; agencies cycle through the city and the two counties (all
/// in the province's feed).
async fn insert(pool: &PgPool, key: &str, n: usize) {
    let (org, uscc, division) = [
        ("聊城市综合行政执法局", "11371500MB28561014", "371500"),
        ("茌平县综合行政执法局", "11371523MB1966245Q", "371523"),
        ("东阿县综合行政执法局", "11371524MB19731894", "371524"),
    ][n % 3];
    sqlx::query(
        "INSERT INTO enforcement_cases (case_no, case_type, proc_type, status, org_name, org_uscc, org_division, doc_no, party_kind, party_name, party_uscc, violation, facts, basis, penalty_kinds, content, fine_yuan, decided_on, publicity_until, major, secrecy, updated_at) \
         VALUES ($1, 'CF', 'PT', '有效', $2, $3, $4, $5, 'ORG', '茌平县信发物流有限公司', '91371523MA3BQ5T45C', '运输渣土车辆未密闭', '当事人所属渣土运输车辆运输建筑垃圾时未采取密闭措施，沿途撒漏。', '《城市建筑垃圾管理规定》第二十三条', '罚款', '罚款人民币五千元', 5000.00, '2026-10-15', '2027-10-15', 0, '公开', now())",
    )
    .bind(key)
    .bind(org)
    .bind(uscc)
    .bind(division)
    .bind(format!("综执罚〔2026〕{n}号"))
    .execute(pool)
    .await
    .unwrap();
}
