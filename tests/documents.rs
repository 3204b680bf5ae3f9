//! Decision documents end to end (issue 11): the hub process (`dhub run`), the broker, and three
//! reference platforms in-process with `--documents` folders. A market-supervision export names a
//! decision (HTML beside the export) and an evidence photo: the public feeds get the decision's
//! public version only, the `government` feed gets it and the photo; each platform fetches and
//! keeps what its feed names, serves it, and the public version holds none of the persons' data.
//! A second export revokes the decision: the records leave the views, the platforms delete the
//! documents and the hub no longer serves them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{free_port, repo};
use dhub_platform::{PlatformConfig, View};
use serde_json::Value;
use tokio::sync::watch;
use tower::ServiceExt;

const CASE: &str = "DESC-2026-000020";
const RECORD: &str = "market-supervision:DESC-2026-000020";

/// (name, level, division, policy)
const PLATFORMS: [(&str, &str, &str, &str); 3] = [
    ("donge-county", "county", "371524", "public"),
    ("liaocheng-city", "city", "371500", "public"),
    ("shandong-supervision", "province", "370000", "government"),
];

/// The sample export's case, alone, naming its decision and a photo; `status` 0 in force, 1 revoked.
fn export(status: &str) -> String {
    let sample = std::fs::read_to_string(
        repo().join("mappings/samples/market-supervision/first/samr-case-371524-20261028-01.xml"),
    )
    .unwrap();
    let start = sample.find(&format!("<Case id=\"{CASE}\">")).unwrap();
    let end = start + sample[start..].find("</Case>").unwrap() + "</Case>".len();
    let case = sample[start..end]
        .replace("<Status>0</Status>", &format!("<Status>{status}</Status>"))
        .replace(
            "</DocTitle>",
            "</DocTitle>\n    <EvidencePhoto>decisions/photo.png</EvidencePhoto>",
        );
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CaseExport system=\"SAMR-CASE\">\n  {case}\n</CaseExport>\n")
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[0; 64]);
    bytes
}

struct Setup {
    dir: tempfile::TempDir,
    prefix: String,
    config: PathBuf,
    listen: u16,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("{}.", dhub_testkit::unique_name("docs"));
    let listen = free_port();
    let mapping = std::fs::read_to_string(repo().join("mappings/market-supervision.toml")).unwrap()
        + "\n[[documents]]\nkind = \"evidence\"\nfile = \"EvidencePhoto\"\nmedia_type = \"image/png\"\n";
    std::fs::write(dir.path().join("mapping.toml"), mapping).unwrap();
    let mut text = format!(
        "[hub]\nstate = \"sqlite://{state}\"\nlisten = \"127.0.0.1:{listen}\"\n\n[kafka]\nbrokers = \"{brokers}\"\ntopic_prefix = \"{prefix}\"\n\n[documents]\nstore = \"documents\"\n",
        state = dir.path().join("state.db").display(),
        brokers = dhub_testkit::test_brokers()
    );
    for (name, level, division, policy) in PLATFORMS {
        text.push_str(&format!(
            "\n[[platform]]\nname = \"{name}\"\nlevel = \"{level}\"\ndivision = \"{division}\"\npolicy = \"{policy}\"\n"
        ));
    }
    text.push_str("\n[[source]]\nname = \"market-supervision\"\nkind = \"xml_dir\"\nmapping = \"mapping.toml\"\npath = \"inbox\"\npoll_interval_ms = 200\nsettle_ms = 0\n");
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, text).unwrap();
    std::fs::create_dir_all(dir.path().join("inbox/decisions")).unwrap();
    Setup {
        dir,
        prefix,
        config,
        listen,
    }
}

/// Drops a file into the inbox whole (written aside, then renamed).
fn deliver(inbox: &Path, name: &str, bytes: &[u8]) {
    let aside = inbox.join(format!(".{}.part", name.replace('/', "_")));
    std::fs::write(&aside, bytes).unwrap();
    std::fs::rename(&aside, inbox.join(name)).unwrap();
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kept(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_show_the_public_version_evidence_reaches_only_the_government_feed_and_a_revocation_removes_them(
) {
    let setup = setup();
    let inbox = setup.dir.path().join("inbox");
    let mut hub = Command::new(env!("CARGO_BIN_EXE_dhub"))
        .args(["run", "--config"])
        .arg(&setup.config)
        .env("DHUB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(setup.dir.path().join("hub.log")).unwrap(),
        ))
        .spawn()
        .unwrap();

    let (stop, stopped) = watch::channel(false);
    let mut views = Vec::new();
    let mut tasks = Vec::new();
    for (name, level, division, _) in PLATFORMS {
        let db = format!("sqlite://{}", setup.dir.path().join(format!("{name}.db")).display());
        let documents = setup.dir.path().join(format!("{name}.documents"));
        let mut config = PlatformConfig::new(
            dhub_testkit::test_brokers(),
            format!("{}disclosure.{level}.{division}", setup.prefix),
            db.clone(),
        );
        config.group = dhub_testkit::unique_name("platform");
        config.documents_dir = Some(documents.clone());
        let view = View::open(&db).await.unwrap();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            dhub_platform::run(config, shutdown).await.unwrap();
        }));
        views.push((name, view, documents));
    }

    // Documents first: the export names them.
    let decision = std::fs::read(repo().join(format!(
        "mappings/samples/market-supervision/decisions/{CASE}.html"
    )))
    .unwrap();
    deliver(&inbox, &format!("decisions/{CASE}.html"), &decision);
    deliver(&inbox, "decisions/photo.png", &png());
    deliver(&inbox, "first.xml", export("0").as_bytes());

    let mut sent = Vec::new();
    for (name, view, documents) in &views {
        let record: Value = eventually(&format!("{name} shows the record with its documents kept"), async || {
            let record = view.get(RECORD).await.ok()??;
            let named = record["documents"].as_array()?.len();
            (kept(documents).len() == named).then_some(record)
        })
        .await;
        let kinds: Vec<&str> = record["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if *name == "shandong-supervision" {
            &["decision", "evidence"]
        } else {
            &["decision"]
        };
        assert_eq!(kinds, expected, "{name}");

        // The platform serves the public version it kept.
        let sha256 = record["documents"][0]["sha256"].as_str().unwrap().to_string();
        let response = dhub_platform::documents::router(view.clone(), documents.clone())
            .oneshot(Request::get(format!("/documents/{sha256}")).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let html = String::from_utf8(
            axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec(),
        )
        .unwrap();
        assert!(html.contains("东市监罚〔2026〕18号") && html.contains("食品安全法"), "{name}: {html}");
        if *name != "shandong-supervision" {
            // The witness and the IDs in the body are the persons' data the public feeds never get.
            assert!(!html.contains("王秀兰"), "{name}: the witness's name is in the public version");
        }
        sent.push(sha256);
    }

    // Revoked: every view drops the record, every platform deletes its documents, and the hub
    // serves them no more.
    deliver(&inbox, "second.xml", export("1").as_bytes());
    for (name, view, documents) in &views {
        eventually(&format!("{name} drops the record and its documents"), async || {
            (view.get(RECORD).await.ok()?.is_none() && kept(documents).is_empty()).then_some(())
        })
        .await;
    }
    let client = reqwest::Client::new();
    for sha256 in &sent {
        let status = client
            .get(format!("http://127.0.0.1:{}/documents/{sha256}", setup.listen))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    }

    let _ = stop.send(true);
    for task in tasks {
        task.await.unwrap();
    }
    Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status()
        .unwrap();
    assert!(hub.wait().unwrap().success());
}
