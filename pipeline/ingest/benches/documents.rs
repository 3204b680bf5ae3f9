//! Ingest throughput with decision documents on a share of the cases (issue 11): batches of 500
//! records (the 5-page sample decision's record, one record id each) through the ingest step —
//! validation, redaction for four platforms under two policies (`public` ×3, `government`), the
//! decision's extraction and public version per policy, the document store (a folder), and the
//! SQLite transaction with the outbox — with documents on 0 % and 10 % of the cases (DOCX, then
//! PDF). The broker is not involved: the relay publishes from the outbox afterwards, and a
//! document adds nothing to the envelope but its descriptor.
//!
//! `cargo bench -p dhub-ingest --bench documents` (`DHUB_BENCH_CASES`, default 5000). Release
//! build, one run, prints cases/s.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dhub_documents::DocumentStore;
use dhub_ingest::{DocumentSettings, Ingestor, OutboxHandoff, Platform, Routing};
use dhub_redaction::Policy;
use dhub_schema::divisions::Level;
use dhub_schema::intake::{Attachment, Intake, IntakeBatch, Origin, RawSource};
use dhub_store::Store;
use serde_json::Value;

const BATCH: usize = 500;

struct WithDocuments(Vec<Attachment>);

impl RawSource for WithDocuments {
    fn raw_text(&self) -> String {
        String::new()
    }
    fn attachments(&self) -> &[Attachment] {
        &self.0
    }
}

async fn ingestor(dir: &Path) -> Ingestor {
    let url = format!("sqlite://{}", dir.join("state.db").display());
    let store = Store::connect(&url).await.unwrap();
    let documents = DocumentStore::open("docs", dir, &Default::default())
        .await
        .unwrap();
    let platform = |name: &str, level, division: &str, policy: &str| Platform {
        name: name.into(),
        level,
        division: division.into(),
        policy: policy.into(),
        format: "disclosure.v1".into(),
        topic: Platform::topic_name("", level, division),
    };
    let platforms = vec![
        platform("chiping-county", Level::County, "371523", "public"),
        platform("liaocheng-city", Level::City, "371500", "public"),
        platform("shandong-province", Level::Province, "370000", "public"),
        platform("supervision", Level::City, "371500", "government"),
    ];
    let policies: HashMap<String, Arc<Policy>> = platforms
        .iter()
        .map(|p| (p.name.clone(), Arc::new(Policy::builtin(&p.policy).unwrap())))
        .collect();
    Ingestor {
        store: store.clone(),
        routing: Arc::new(Routing::new(platforms)),
        policies: Arc::new(policies),
        constraints: Arc::default(),
        events: Arc::new(dhub_ingest::events::NoEvents),
        handoff: OutboxHandoff::default(),
        handoff_order: Arc::default(),
        clocks: Default::default(),
        documents: Some(Arc::new(DocumentSettings {
            store: documents,
            base_url: "http://hub.bench".into(),
            limits: HashMap::new(),
        })),
    }
}

async fn run(cases: usize, every: Option<usize>, document: &Arc<Vec<u8>>, record: &Value) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let ingestor = ingestor(dir.path()).await;
    let started = Instant::now();
    for first in (0..cases).step_by(BATCH) {
        let items = (first..(first + BATCH).min(cases))
            .map(|n| {
                let mut value = record.clone();
                value["record_id"] = format!("bench:CASE-{n:07}").into();
                value["source"]["key"] = format!("CASE-{n:07}").into();
                value["source"]["name"] = "bench".into();
                let attachments = match every {
                    Some(every) if n % every == 0 => vec![Attachment {
                        kind: "decision",
                        media_type: None,
                        label: "documents[1] (file)".into(),
                        content: Ok(document.clone()),
                    }],
                    _ => Vec::new(),
                };
                Intake::Mapped {
                    value,
                    origin: Origin::File {
                        path: "bench.xml".into(),
                        line: n as u64,
                    },
                    raw: Arc::new(WithDocuments(attachments)),
                }
            })
            .collect();
        let batch = IntakeBatch {
            source: "bench".into(),
            mapping_name: "bench".into(),
            mapping_version: "1".into(),
            items,
            positions: Vec::new(),
            exported: None,
        };
        let report = ingestor.ingest(Arc::new(batch), false).await.unwrap();
        assert_eq!(report.accepted(), report.outcomes.len(), "every case stored: {:?}", report.outcomes.first());
    }
    cases as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let cases: usize = std::env::var("DHUB_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/tests/samples");
    let mut record: Value = serde_json::from_str(
        &std::fs::read_to_string(samples.join("penalty-long.record.json")).unwrap(),
    )
    .unwrap();
    let object = record.as_object_mut().unwrap();
    object.remove("version");
    object.remove("publicity_until");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("ingest of {cases} cases in batches of {BATCH}, 4 platforms (public ×3, government), SQLite, folder document store");
    println!("{:<28} {:>10} {:>10}", "documents", "cases/s", "vs none");
    let none = runtime.block_on(run(cases, None, &Arc::new(Vec::new()), &record));
    println!("{:<28} {:>10.0} {:>9.0}%", "none", none, 100.0);
    for file in ["penalty-long.docx", "penalty-long.pdf"] {
        let document = Arc::new(std::fs::read(samples.join(file)).unwrap());
        let with = runtime.block_on(run(cases, Some(10), &document, &record));
        println!(
            "{:<28} {:>10.0} {:>9.0}%",
            format!("10 % with {file}"),
            with,
            100.0 * with / none
        );
    }
}
