//! Decision documents through ingest (issue 11): the public version per policy in the upsert's
//! `documents`, evidence only where the policy allows it, a scan held, an oversize or mistyped
//! attachment refused while the record goes on, the documents a version sent recorded for serving
//! and pruning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dhub_documents::DocumentStore;
use dhub_ingest::{
    DocumentSettings, Ingestor, OutboxHandoff, Platform, Routing, SourceDocumentLimits,
};
use dhub_redaction::Policy;
use dhub_schema::divisions::Level;
use dhub_schema::intake::{Attachment, Intake, IntakeBatch, ItemOutcome, Origin, RawSource};
use dhub_store::Store;
use serde_json::Value;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/tests/samples")
}

/// The sample decision's record, in force (its publicity period would have ended in 2018).
fn record() -> Value {
    let text = std::fs::read_to_string(samples().join("penalty-person.record.json")).unwrap();
    let mut record: Value = serde_json::from_str(&text).unwrap();
    let object = record.as_object_mut().unwrap();
    object.remove("version");
    object.remove("publicity_until");
    record
}

struct WithDocuments(Vec<Attachment>);

impl RawSource for WithDocuments {
    fn raw_text(&self) -> String {
        "{}".into()
    }
    fn attachments(&self) -> &[Attachment] {
        &self.0
    }
}

fn attachment(kind: &'static str, file: &str, media_type: Option<&str>) -> Attachment {
    Attachment {
        kind,
        media_type: media_type.map(str::to_string),
        label: format!("documents[{}] (file)", if kind == "decision" { 1 } else { 2 }),
        content: Ok(Arc::new(std::fs::read(samples().join(file)).unwrap())),
    }
}

/// A small PNG (signature and IHDR are all the sniffer needs).
fn png() -> Attachment {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[0; 32]);
    Attachment {
        kind: "evidence",
        media_type: Some("image/png".into()),
        label: "documents[2] (base64)".into(),
        content: Ok(Arc::new(bytes)),
    }
}

struct Hub {
    _dir: tempfile::TempDir,
    store: Store,
    documents: DocumentStore,
    ingestor: Ingestor,
}

async fn hub(limits: SourceDocumentLimits) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    let store = Store::connect(&url).await.unwrap();
    let documents = DocumentStore::open("docs", dir.path(), &Default::default())
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
    let routing = Routing::new(vec![
        platform("chiping-county", Level::County, "371523", "public"),
        platform("supervision", Level::City, "371500", "government"),
    ]);
    let policies: HashMap<String, Arc<Policy>> = [
        ("chiping-county", "public"),
        ("supervision", "government"),
    ]
    .into_iter()
    .map(|(p, policy)| (p.to_string(), Arc::new(Policy::builtin(policy).unwrap())))
    .collect();
    let ingestor = Ingestor {
        store: store.clone(),
        routing: Arc::new(routing),
        policies: Arc::new(policies),
        constraints: Arc::default(),
        events: Arc::new(dhub_ingest::events::NoEvents),
        handoff: OutboxHandoff::default(),
        handoff_order: Arc::default(),
        clocks: Default::default(),
        documents: Some(Arc::new(DocumentSettings {
            store: documents.clone(),
            base_url: "http://hub.test".into(),
            limits: HashMap::from([("oa".to_string(), limits)]),
        })),
    };
    Hub {
        _dir: dir,
        store,
        documents,
        ingestor,
    }
}

async fn submit(hub: &Hub, record: Value, attachments: Vec<Attachment>) -> ItemOutcome {
    let batch = IntakeBatch {
        source: "oa".into(),
        mapping_name: "m".into(),
        mapping_version: "1".into(),
        items: vec![Intake::Mapped {
            value: record,
            origin: Origin::File {
                path: "in/a.xml".into(),
                line: 3,
            },
            raw: Arc::new(WithDocuments(attachments)),
        }],
        positions: Vec::new(),
        exported: None,
    };
    let report = hub.ingestor.ingest(Arc::new(batch), false).await.unwrap();
    report.outcomes.into_iter().next().unwrap()
}

/// The last upsert envelope each platform is sent, by platform name.
async fn upserts(store: &Store) -> HashMap<String, Value> {
    let mut found = HashMap::new();
    for entry in store.entries_after(0, 100).await.unwrap() {
        let envelope: Value = serde_json::from_slice(&entry.payload).unwrap();
        if envelope["op"] == "upsert" {
            for platform in &entry.platforms {
                found.insert(platform.clone(), envelope.clone());
            }
        }
    }
    found
}

fn kinds(envelope: &Value) -> Vec<String> {
    envelope["documents"]
        .as_array()
        .map(|d| d.iter().map(|d| d["kind"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn public_feeds_get_the_public_version_and_only_the_government_feed_gets_evidence() {
    let hub = hub(SourceDocumentLimits::default()).await;
    let decision = attachment("decision", "penalty-person.docx", None);
    let original = decision.content.as_ref().unwrap().clone();
    let outcome = submit(&hub, record(), vec![decision, png()]).await;
    assert!(matches!(outcome, ItemOutcome::Accepted { .. }), "{outcome:?}");

    let upserts = upserts(&hub.store).await;
    assert_eq!(kinds(&upserts["chiping-county"]), ["decision"]);
    assert_eq!(kinds(&upserts["supervision"]), ["decision", "evidence"]);
    let public = &upserts["chiping-county"]["documents"][0];
    assert_eq!(
        public.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["kind", "media_type", "sha256", "size", "url"],
        "CONTRACT §4's fields exactly"
    );
    assert_eq!(public["media_type"], "text/html");
    let sha256 = public["sha256"].as_str().unwrap();
    assert_eq!(public["url"], format!("http://hub.test/documents/{sha256}"));
    assert_ne!(sha256, dhub_documents::sha256_hex(&original), "never the original");

    let html = String::from_utf8(hub.documents.get(sha256).await.unwrap().unwrap()).unwrap();
    for personal in ["司马建国", "371523198001011231", "振兴路123号", "13812345678"] {
        assert!(!html.contains(personal), "{personal} in the public version");
    }
    for kept in ["茌平县财政局", "茌财罚〔2017〕12号", "会计法"] {
        assert!(html.contains(kept), "{kept} kept");
    }
    // The government feed's version is made under its own policy: another document.
    assert_ne!(upserts["supervision"]["documents"][0]["sha256"], public["sha256"]);

    // Served while in force; an arbitrary hash is not.
    let served = hub.store.document_in_force(sha256).await.unwrap().unwrap();
    assert_eq!(served.media_type, "text/html");
    assert!(hub.store.document_in_force(&"0".repeat(64)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_revoked_record_no_longer_serves_its_documents_and_they_are_left_for_pruning() {
    let hub = hub(SourceDocumentLimits::default()).await;
    submit(&hub, record(), vec![attachment("decision", "penalty-person.pdf", None)]).await;
    let upserts = upserts(&hub.store).await;
    let sha256 = upserts["chiping-county"]["documents"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hub.store.document_in_force(&sha256).await.unwrap().is_some());
    let mut revoked = record();
    revoked["status"] = "revoked".into();
    let outcome = submit(&hub, revoked, Vec::new()).await;
    assert!(matches!(outcome, ItemOutcome::Accepted { version: 2, .. }), "{outcome:?}");
    assert!(hub.store.document_in_force(&sha256).await.unwrap().is_none());
    let sent = hub.store.documents_ever_sent().await.unwrap();
    let in_force = hub.store.documents_in_force().await.unwrap();
    assert!(sent.contains(&sha256) && !in_force.contains(&sha256), "left for pruning");
}

#[tokio::test]
async fn a_scanned_decision_holds_the_record_with_that_reason() {
    let hub = hub(SourceDocumentLimits::default()).await;
    let outcome = submit(&hub, record(), vec![attachment("decision", "scanned.pdf", None)]).await;
    let ItemOutcome::Quarantined { stage, reason, .. } = outcome else {
        panic!("held: {outcome:?}");
    };
    assert_eq!(stage.as_str(), "document");
    assert!(reason.contains("documents[1] (file)") && reason.contains("no text layer"), "{reason}");
}

#[tokio::test]
async fn an_oversize_or_mistyped_attachment_is_refused_and_the_record_goes_on() {
    let hub = hub(SourceDocumentLimits {
        max_bytes: 50_000,
        media_types: vec![
            dhub_documents::MediaType::Docx,
            dhub_documents::MediaType::Jpeg,
        ],
    })
    .await;
    // The PDF is 70 KB, over 50,000 bytes; the PNG is a type this source may not send.
    let outcome = submit(
        &hub,
        record(),
        vec![attachment("decision", "penalty-person.pdf", None), png()],
    )
    .await;
    assert!(matches!(outcome, ItemOutcome::Accepted { .. }), "{outcome:?}");
    let upserts = upserts(&hub.store).await;
    assert!(kinds(&upserts["chiping-county"]).is_empty());
    assert!(kinds(&upserts["supervision"]).is_empty());
    assert!(upserts["chiping-county"].get("documents").is_none(), "no empty list either");

    // The DOCX is within the limits: a new version with its document.
    let outcome =
        submit(&hub, record(), vec![attachment("decision", "penalty-person.docx", None)]).await;
    assert!(matches!(outcome, ItemOutcome::Accepted { version: 2, .. }), "{outcome:?}");
}
