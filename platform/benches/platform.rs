//! Platform benchmark (`cargo bench -p dhub-platform --bench platform`, or
//! `tests/bench-platform.sh`): a province's view, loaded and searched.
//!
//! For each backend (SQLite file, then a fresh Postgres database):
//!
//! 1. **Apply**: `DHUB_BENCH_RECORDS` (default 1,000,000) upsert envelopes of realistic Chinese
//!    records go through the real apply path, [`View::apply`], in batches of
//!    [`MAX_BATCH_MESSAGES`] as the consumer makes them. The clock runs only around `apply`
//!    (building the envelopes is not the view's work); the figure is envelopes per second, and
//!    the CPU this process spent in `apply` per envelope (steadier than the wall clock on a shared
//!    machine; on Postgres most of the work is the server's, not counted). `DHUB_BENCH_BATCH`
//!    changes the batch size, to measure what it does.
//! 2. **Query**: `DHUB_BENCH_QUERIES` (default 200) searches of each kind, with values drawn from
//!    the loaded records, through [`View::search`] (the HTTP handler adds only JSON encoding):
//!    free text, counterparty (3+ characters), a two-character counterparty, document number,
//!    agency, category + a 30-day range, and a deep keyset page. Prints p50 / p99 / max.
//!
//! Records come from `dhub-testkit`'s generator (invented names, real place names, the
//! generator's texts and dates), spread over a province's worth of agencies: 48 counties of 山东
//! × ten kinds of bureau, so an agency search is not a search for one of three. Document numbers
//! count up per agency and year.
//!
//! Arrival order (`DHUB_BENCH_ARRIVAL`): `date` (default) delivers records roughly in decision
//! order, as a live feed does (the hub publishes decisions as they are made; here shuffled within
//! windows of 2,000, a few days); `random` delivers them in random date order, as a backfill of
//! years of history in no order would. The view's ordered indexes take appends in the first case
//! and random inserts in the second, which costs far more writing at a million rows.
//!
//! `DHUB_BENCH_BACKENDS=sqlite` (or `postgres`) runs one backend only; `DHUB_BENCH_SQLITE_DIR`
//! and `DHUB_BENCH_POSTGRES_URL` put the views where they are kept for a look afterwards.
//!
//! `DHUB_BENCH_WITHOUT_GRAMS=1` drops the triggers that post the gram index before loading: the
//! apply rate of the view without any substring index, the floor any such index adds to. Searches
//! by substring then find nothing; their figures mean nothing in that run.

use std::time::{Duration, Instant};

use dhub_platform::search::Cursor;
use dhub_platform::{FeedMessage, SearchQuery, View, MAX_BATCH_MESSAGES};
use dhub_testkit::rng::SplitMix64;
use dhub_testkit::{generate, BadCases, Case, Counterparty, GenConfig};
use serde_json::json;

/// The allocator `dhub platform` runs with (see `src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOPIC: &str = "disclosure.province.370000";

/// County-level divisions of 山东 (a sample of the 136: enough for a province's spread of names).
const COUNTIES: &[(&str, &str)] = &[
    ("历下区", "370102"),
    ("市中区", "370103"),
    ("槐荫区", "370104"),
    ("天桥区", "370105"),
    ("历城区", "370112"),
    ("长清区", "370113"),
    ("章丘区", "370114"),
    ("平阴县", "370124"),
    ("商河县", "370126"),
    ("市南区", "370202"),
    ("市北区", "370203"),
    ("黄岛区", "370211"),
    ("崂山区", "370212"),
    ("胶州市", "370281"),
    ("平度市", "370283"),
    ("莱西市", "370285"),
    ("张店区", "370303"),
    ("临淄区", "370305"),
    ("桓台县", "370321"),
    ("沂源县", "370323"),
    ("滕州市", "370481"),
    ("东营区", "370502"),
    ("广饶县", "370523"),
    ("芝罘区", "370602"),
    ("龙口市", "370681"),
    ("蓬莱区", "370614"),
    ("潍城区", "370702"),
    ("寿光市", "370783"),
    ("青州市", "370781"),
    ("任城区", "370811"),
    ("曲阜市", "370881"),
    ("泰山区", "370902"),
    ("新泰市", "370982"),
    ("环翠区", "371002"),
    ("荣成市", "371082"),
    ("东港区", "371102"),
    ("兰山区", "371302"),
    ("沂水县", "371323"),
    ("德城区", "371402"),
    ("东昌府区", "371502"),
    ("茌平区", "371523"),
    ("东阿县", "371524"),
    ("冠县", "371525"),
    ("高唐县", "371526"),
    ("临清市", "371581"),
    ("滨城区", "371602"),
    ("牡丹区", "371702"),
    ("曹县", "371721"),
];

/// Kinds of bureau, with the character a document number uses for it.
const BUREAUS: &[(&str, &str)] = &[
    ("市场监督管理局", "市监"),
    ("财政局", "财"),
    ("生态环境局", "环"),
    ("应急管理局", "应急"),
    ("交通运输局", "交"),
    ("自然资源局", "自然"),
    ("住房和城乡建设局", "建"),
    ("卫生健康局", "卫健"),
    ("农业农村局", "农"),
    ("城市管理局", "城管"),
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Distinct cases to draw from (the generator gives at most 5,000 per system per call).
fn base_cases(count: usize) -> Vec<Case> {
    let mut all = Vec::with_capacity(count);
    let mut batch = 0u64;
    while all.len() < count {
        let config = GenConfig {
            seed: 7_000 + batch,
            finance_cases: 5_000,
            market_cases: 5_000,
            finance_bad: BadCases::NONE,
            market_bad: BadCases::NONE,
            facts_pii_fraction: 0.0,
            decided_from: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).expect("a date"),
            decided_to: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("a date"),
            ..GenConfig::default()
        };
        all.extend(generate(&config).expect("generator config"));
        batch += 1;
    }
    all.truncate(count);
    all
}

/// The published (redacted) name: natural persons appear as surname + 某.
fn public_name(counterparty: &Counterparty) -> String {
    match counterparty {
        Counterparty::NaturalPerson(person) => person.pseudonym(),
        other => other.name().to_owned(),
    }
}

/// One record to come: which base case, re-homed to which agency, decided when.
struct Planned {
    base: u32,
    county: u16,
    bureau: u16,
    decided_on: chrono::NaiveDate,
}

/// The records in arrival order (see the module docs).
fn plan(records: u64, bases: &[Case], by_date: bool, rng: &mut SplitMix64) -> Vec<Planned> {
    let mut planned: Vec<Planned> = (0..records)
        .map(|_| {
            let base = (rng.next_u64() % bases.len() as u64) as u32;
            Planned {
                base,
                county: (rng.next_u64() % COUNTIES.len() as u64) as u16,
                bureau: (rng.next_u64() % BUREAUS.len() as u64) as u16,
                decided_on: bases[base as usize].decided_on,
            }
        })
        .collect();
    if by_date {
        planned.sort_by_key(|p| p.decided_on);
        for window in planned.chunks_mut(2_000) {
            for i in (1..window.len()).rev() {
                window.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
        }
    }
    planned
}

/// Record `n` of the province: a base case re-homed to one of the province's agencies, with the
/// agency's next document number of the year.
fn record(
    n: u64,
    planned: &Planned,
    base: &Case,
    numbers: &mut std::collections::HashMap<(u16, u16, i32), u32>,
) -> serde_json::Value {
    let (county, division) = COUNTIES[planned.county as usize];
    let (bureau, short) = BUREAUS[planned.bureau as usize];
    let agency = format!("{county}{bureau}");
    let year = chrono::Datelike::year(&planned.decided_on);
    let number = numbers
        .entry((planned.county, planned.bureau, year))
        .or_insert(0);
    *number += 1;
    let kind = match base.category.as_str() {
        "penalty" => "罚",
        "licensing" => "许",
        "inspection" => "检",
        "coercion" => "强",
        _ => "决",
    };
    let county_short: String = county.chars().next().into_iter().collect();
    let document_no = format!("{county_short}{short}{kind}〔{year}〕{number}号");
    json!({
        "record_id": format!("bench:{n:07}"),
        "version": 1,
        "category": base.category.as_str(),
        "status": "in_force",
        "division_code": division,
        "agency": {"name": agency, "uscc": base.agency.uscc},
        "document_no": document_no,
        "document_title": base.document_title,
        "counterparty": {"name": public_name(&base.counterparty),
                          "kind": base.counterparty.kind().as_str()},
        "violation": base.violation,
        "legal_basis": base.legal_basis,
        "content": base.content,
        "fine_yuan": base.fine_yuan,
        "decided_on": planned.decided_on.format("%Y-%m-%d").to_string(),
        "publicity_until": base.publicity_until.format("%Y-%m-%d").to_string(),
        "classification": "public",
    })
}

fn message(n: u64, record: &serde_json::Value) -> FeedMessage {
    let envelope = json!({
        "schema": "disclosure.v1",
        "op": "upsert",
        "record_id": record["record_id"],
        "version": 1,
        "emitted_at": "2026-07-01T08:00:00.000Z",
        "record": record,
    });
    FeedMessage::new(
        TOPIC,
        (n % 3) as i32,
        (n / 3) as i64,
        record["record_id"].as_str(),
        envelope.to_string(),
    )
}

/// What queries draw their values from: a sample of the loaded records.
struct Sample {
    counterparty: String,
    document_no: String,
    agency: String,
    category: String,
    decided_on: chrono::NaiveDate,
    record_id: String,
}

/// `len` characters of `text` starting at a random place (the whole text when shorter).
fn substring(text: &str, len: usize, rng: &mut SplitMix64) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= len {
        return text.to_owned();
    }
    let start = (rng.next_u64() % (chars.len() - len + 1) as u64) as usize;
    chars[start..start + len].iter().collect()
}

/// CPU time (user + system, every thread) this process has used so far, from `/proc/self/stat`
/// (Linux; zero elsewhere). On a shared machine the wall-clock rate depends on what else runs;
/// CPU per envelope does not, or much less.
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The fields after the command name (which may hold spaces) and its ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

/// The view without its gram index's writers (`DHUB_BENCH_WITHOUT_GRAMS`).
async fn drop_gram_triggers(url: &str) {
    use sqlx::Connection;
    let triggers: &[&str] = if url.starts_with("sqlite") {
        &[
            "DROP TRIGGER records_grams_insert",
            "DROP TRIGGER records_grams_update",
            "DROP TRIGGER records_grams_delete",
        ]
    } else {
        &[
            "DROP TRIGGER records_grams_inserted ON records",
            "DROP TRIGGER records_grams_updated ON records",
            "DROP TRIGGER records_grams_deleted ON records",
        ]
    };
    let mut connection = sqlx::AnyConnection::connect(url)
        .await
        .expect("a connection to the view");
    for drop in triggers {
        sqlx::Executor::execute(&mut connection, *drop)
            .await
            .expect("the gram triggers drop");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn bench_backend(name: &str, url: &str, records: u64, queries: usize, by_date: bool) {
    let view = View::open(url).await.expect("the view opens");
    if std::env::var("DHUB_BENCH_WITHOUT_GRAMS").as_deref() == Ok("1") {
        drop_gram_triggers(url).await;
        println!("{name}: gram triggers dropped (DHUB_BENCH_WITHOUT_GRAMS=1): no substring index");
    }
    let bases = base_cases(20_000);
    let mut rng = SplitMix64::new(42);
    let planned = plan(records, &bases, by_date, &mut rng);
    let mut numbers = std::collections::HashMap::new();
    let mut samples: Vec<Sample> = Vec::new();

    // DHUB_BENCH_REUSE=1: the view is already loaded (kept from an earlier run); only query it.
    if std::env::var("DHUB_BENCH_REUSE").as_deref() == Ok("1") {
        while samples.len() < 1_000 {
            let n = rng.next_u64() % records;
            if let Some(record) = view.get(&format!("bench:{n:07}")).await.expect("a read") {
                samples.push(sample_of(&record));
            }
        }
        query_kinds(name, &view, &samples, queries, &mut rng).await;
        view.close().await;
        return;
    }

    // 1. Apply.
    let batch_size = env_number("DHUB_BENCH_BATCH", MAX_BATCH_MESSAGES as u64);
    let mut applied = Duration::ZERO;
    let mut applied_cpu = Duration::ZERO;
    let mut n = 0u64;
    let started = Instant::now();
    while n < records {
        let size = (records - n).min(batch_size);
        let mut batch = Vec::with_capacity(size as usize);
        for _ in 0..size {
            let next = &planned[n as usize];
            let record = record(n, next, &bases[next.base as usize], &mut numbers);
            if rng.next_u64().is_multiple_of(1_000) {
                samples.push(sample_of(&record));
            }
            batch.push(message(n, &record));
            n += 1;
        }
        let t = Instant::now();
        let cpu_before = process_cpu();
        let stats = view.apply(&batch).await.expect("a batch applies");
        applied += t.elapsed();
        applied_cpu += process_cpu().saturating_sub(cpu_before);
        assert_eq!(stats.upserted, size, "every envelope is new");
        if n.is_multiple_of(100_000) {
            eprintln!(
                "  {name}: {n} applied, {:.0} envelopes/s so far",
                n as f64 / applied.as_secs_f64()
            );
        }
    }
    let arrival = if by_date {
        "date order"
    } else {
        "random order"
    };
    println!(
        "{name}: applied {records} envelopes ({arrival}) in {:.1} s of apply ({:.1} s wall): {:.0} envelopes/s",
        applied.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        records as f64 / applied.as_secs_f64()
    );
    println!(
        "{name}: apply CPU (this process, every thread) {:.1} s: {:.0} µs per envelope, {:.0} envelopes per CPU-second; load average {}",
        applied_cpu.as_secs_f64(),
        applied_cpu.as_secs_f64() * 1e6 / records as f64,
        records as f64 / applied_cpu.as_secs_f64().max(1e-9),
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
    if name == "postgres" {
        // What autovacuum does by itself after a load: statistics and the visibility map (for
        // index-only walks). Done here so the queries measure the steady state, not the minute
        // after a million inserts.
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .expect("a connection");
        sqlx::Executor::execute(&mut conn, "VACUUM ANALYZE")
            .await
            .expect("vacuum");
    }

    query_kinds(name, &view, &samples, queries, &mut rng).await;
    view.close().await;
}

fn sample_of(record: &serde_json::Value) -> Sample {
    Sample {
        counterparty: record["counterparty"]["name"].as_str().unwrap().to_owned(),
        document_no: record["document_no"].as_str().unwrap().to_owned(),
        agency: record["agency"]["name"].as_str().unwrap().to_owned(),
        category: record["category"].as_str().unwrap().to_owned(),
        decided_on: chrono::NaiveDate::parse_from_str(
            record["decided_on"].as_str().unwrap(),
            "%Y-%m-%d",
        )
        .unwrap(),
        record_id: record["record_id"].as_str().unwrap().to_owned(),
    }
}

/// 2. Queries: `queries` of each kind, values drawn from `samples`.
async fn query_kinds(
    name: &str,
    view: &View,
    samples: &[Sample],
    queries: usize,
    rng: &mut SplitMix64,
) {
    type MakeQuery = fn(&Sample, &mut SplitMix64) -> SearchQuery;
    let kinds: [(&str, MakeQuery); 7] = [
        ("free text (q, 3-4 chars)", |s, rng| {
            let source = if rng.next_u64() % 2 == 0 && s.counterparty.chars().count() >= 3 {
                &s.counterparty
            } else {
                &s.document_no
            };
            let len = 3 + (rng.next_u64() % 2) as usize;
            SearchQuery {
                text: Some(substring(source, len, rng)),
                ..SearchQuery::default()
            }
        }),
        ("counterparty (3+ chars)", |s, rng| {
            let len = 3 + (rng.next_u64() % 4) as usize;
            SearchQuery {
                counterparty: Some(substring(&s.counterparty, len, rng)),
                ..SearchQuery::default()
            }
        }),
        ("counterparty (2 chars)", |s, rng| SearchQuery {
            counterparty: Some(substring(&s.counterparty, 2, rng)),
            ..SearchQuery::default()
        }),
        ("document number", |s, _| SearchQuery {
            document_no: Some(s.document_no.clone()),
            ..SearchQuery::default()
        }),
        ("agency", |s, rng| {
            // The whole name, its county or its kind of bureau.
            let agency = match rng.next_u64() % 3 {
                0 => s.agency.clone(),
                1 => s.agency.chars().take(3).collect(),
                _ => s.agency.chars().skip(3).collect(),
            };
            SearchQuery {
                agency: Some(agency),
                ..SearchQuery::default()
            }
        }),
        ("category + 30-day range", |s, _| SearchQuery {
            category: Some(s.category.clone()),
            decided_from: Some(s.decided_on - chrono::Duration::days(15)),
            decided_to: Some(s.decided_on + chrono::Duration::days(15)),
            ..SearchQuery::default()
        }),
        ("deep keyset page", |s, _| SearchQuery {
            after: Some(Cursor {
                sort_date: s.decided_on.format("%Y-%m-%d").to_string(),
                record_id: s.record_id.clone(),
            }),
            ..SearchQuery::default()
        }),
    ];
    // Natural persons are published as surname + 某: two characters. The 3+ kinds draw from the
    // other names, the two-character kind from all.
    let long_names: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.counterparty.chars().count() >= 3)
        .collect();
    let all_samples: Vec<&Sample> = samples.iter().collect();
    for (kind, make) in kinds {
        let samples = if kind.starts_with("counterparty (3") {
            &long_names
        } else {
            &all_samples
        };
        let mut latencies = Vec::with_capacity(queries);
        let mut slowest: Vec<(Duration, String)> = Vec::new();
        let mut matched = 0u64;
        for i in 0..queries {
            let sample = samples[(rng.next_u64() as usize + i) % samples.len()];
            let query = make(sample, rng);
            let t = Instant::now();
            let result = view.search(&query).await.expect("a search");
            let elapsed = t.elapsed();
            latencies.push(elapsed);
            matched += result.records.len() as u64;
            if elapsed > Duration::from_millis(50) {
                // Invented names only: the values are shown so a slow case can be looked into.
                let shown = [&query.text, &query.counterparty, &query.agency]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",");
                slowest.push((elapsed, format!("{shown} (total {})", result.total)));
            }
        }
        slowest.sort();
        for (elapsed, shown) in slowest.iter().rev().take(5) {
            eprintln!(
                "  {name}: slow {kind}: {:.0} ms for {shown}",
                elapsed.as_secs_f64() * 1e3
            );
        }
        latencies.sort();
        println!(
            "{name}: {kind:<26} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({:.1} results/page)",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
            matched as f64 / queries as f64
        );
    }
}

fn main() {
    let records = env_number("DHUB_BENCH_RECORDS", 1_000_000);
    let queries = env_number("DHUB_BENCH_QUERIES", 200) as usize;
    let backends =
        std::env::var("DHUB_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let by_date = match std::env::var("DHUB_BENCH_ARRIVAL").as_deref() {
        Ok("random") => false,
        Ok("date") | Err(_) => true,
        Ok(other) => panic!("DHUB_BENCH_ARRIVAL={other}: use date or random"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for backend in backends.split(',') {
            match backend.trim() {
                "sqlite" => {
                    let dir = tempfile::tempdir().expect("a temp dir");
                    // DHUB_BENCH_SQLITE_DIR keeps the view for a look afterwards.
                    let dir_path = std::env::var("DHUB_BENCH_SQLITE_DIR")
                        .map(std::path::PathBuf::from)
                        .unwrap_or_else(|_| dir.path().to_path_buf());
                    let url = format!("sqlite://{}/view.db", dir_path.display());
                    bench_backend("sqlite", &url, records, queries, by_date).await;
                    let size = std::fs::metadata(dir_path.join("view.db"))
                        .map(|m| m.len())
                        .unwrap_or_default();
                    println!("sqlite: view file {} MB", size / 1_000_000);
                }
                "postgres" => {
                    // DHUB_BENCH_POSTGRES_URL: an existing (empty) database, kept afterwards.
                    if let Ok(url) = std::env::var("DHUB_BENCH_POSTGRES_URL") {
                        bench_backend("postgres", &url, records, queries, by_date).await;
                        continue;
                    }
                    let db = dhub_testkit::fresh_postgres_db()
                        .await
                        .expect("a fresh postgres database (DHUB_TEST_POSTGRES)");
                    bench_backend("postgres", db.url(), records, queries, by_date).await;
                    db.drop().await.expect("drop the bench database");
                }
                other => panic!("unknown backend {other}; use sqlite and/or postgres"),
            }
        }
    });
}
