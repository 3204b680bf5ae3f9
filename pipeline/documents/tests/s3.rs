//! The S3 backend against a real S3-compatible server, behind an environment switch:
//! `DHUB_TEST_S3_ENDPOINT=http://127.0.0.1:9000` (and optionally `DHUB_TEST_S3_BUCKET`, default
//! `dhub-test`, which must exist). `tests/s3.sh` starts a local server (moto), creates the bucket
//! and runs this test. Without the variable the test says so and checks nothing else.

#![cfg(feature = "s3")]

use std::path::Path;

use dhub_documents::{DocumentStore, Evidence, EvidenceLimits, S3Options, StoreError};
use dhub_support::secret::SecretString;

#[tokio::test]
async fn s3_store_put_get_exists_list_delete() {
    let Ok(endpoint) = std::env::var("DHUB_TEST_S3_ENDPOINT") else {
        eprintln!(
            "DHUB_TEST_S3_ENDPOINT is not set: the S3 store test did not run (see tests/s3.sh)"
        );
        return;
    };
    let bucket = std::env::var("DHUB_TEST_S3_BUCKET").unwrap_or_else(|_| "dhub-test".to_string());
    let options = S3Options {
        endpoint: Some(endpoint),
        region: Some("us-east-1".to_string()),
        access_key_id: Some("test".to_string()),
        secret_access_key: Some(SecretString::new("test")),
        allow_http: true,
    };
    // A prefix of its own per run, so runs against one bucket do not see each other.
    let prefix = format!("documents-{}", std::process::id());
    let location = format!("s3://{bucket}/{prefix}");
    let store = DocumentStore::open(&location, Path::new("."), &options)
        .await
        .unwrap();
    assert!(matches!(store, DocumentStore::S3(_)));

    assert!(store.list().await.unwrap().is_empty());
    let a = store
        .put("行政处罚决定书（公开版）".as_bytes())
        .await
        .unwrap();
    assert_eq!(
        store
            .put("行政处罚决定书（公开版）".as_bytes())
            .await
            .unwrap(),
        a
    );
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let evidence = Evidence::check(png.clone(), "image/png", &EvidenceLimits::default()).unwrap();
    let descriptor = store.put_evidence(&evidence, "http://hub").await.unwrap();
    let b = descriptor.sha256().to_string();

    assert_eq!(
        store.get(&a).await.unwrap().as_deref(),
        Some("行政处罚决定书（公开版）".as_bytes())
    );
    assert!(descriptor.matches(&store.get(&b).await.unwrap().unwrap()));
    assert!(store.exists(&a).await.unwrap());
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(store.list().await.unwrap(), both);

    assert!(store.delete(&a).await.unwrap());
    assert!(!store.delete(&a).await.unwrap());
    assert!(!store.exists(&a).await.unwrap());
    assert_eq!(store.get(&a).await.unwrap(), None);
    assert_eq!(store.list().await.unwrap(), std::slice::from_ref(&b));
    assert!(matches!(
        store.get("../x").await,
        Err(StoreError::InvalidHash(_))
    ));
    assert!(store.delete(&b).await.unwrap());
}
