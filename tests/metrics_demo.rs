//! The counters an operator watches agree with what the feeds hold: the demo's exports run through a
//! hub against the real broker, one reference platform per feed, and `/metrics` is scraped while it
//! runs and after each stage; every feed's delivered upserts and retractions equal what its
//! platform's view shows, and the source counters equal the state store's.

mod common;
mod ops_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{expected_views, start_hub_in_process, HubSetup, Platforms};
use dhub_testkit::{apply_export, generate, revocation_export, GenConfig, DEMO_PLATFORMS};
use ops_common::{get_text, promtool, sample};

/// Waits until no feed has an entry waiting for the broker, scraping all along; returns the last
/// scrape.
async fn scrape_until_drained(base: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let text = get_text(&format!("{base}/metrics")).await;
        let waiting = sample(&text, "dhub_feed_waiting", &[]).unwrap_or(f64::NAN);
        if waiting == 0.0 {
            return text;
        }
        assert!(
            start.elapsed() < timeout,
            "feeds still waiting after {timeout:?}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_during_the_demo_match_what_the_feeds_contain() {
    let config = GenConfig::default();
    let first = generate(&config).unwrap();
    let later = revocation_export(&first, 0.12, config.seed, config.decided_to).unwrap();
    let second = apply_export(&first, &later);
    let expected_first = expected_views(&first);
    let expected_second = expected_views(&second);

    let setup = HubSetup::new(None);
    let base = format!("http://127.0.0.1:{}", setup.listen);
    let platforms = Platforms::start(&setup.prefix).await;
    let (stop, hub) = start_hub_in_process(setup.config());

    setup.copy_samples("first");
    // Scrapes while the hub works: each one is a valid exposition.
    let scraping = {
        let base = base.clone();
        tokio::spawn(async move {
            let mut scrapes = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                if let Ok(response) = reqwest::get(format!("{base}/metrics")).await {
                    let text = response.text().await.unwrap();
                    let checked = promtool(&["check", "metrics"], Some(text.as_bytes()));
                    assert!(
                        checked.status.success(),
                        "{}",
                        String::from_utf8_lossy(&checked.stdout)
                    );
                    scrapes += 1;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            scrapes
        })
    };
    platforms
        .wait_for(&expected_first, Duration::from_secs(60))
        .await;
    assert!(scraping.await.unwrap() > 0);
    let text = scrape_until_drained(&base, Duration::from_secs(30)).await;

    for platform in DEMO_PLATFORMS {
        let name = format!("{}-{}", platform.level.as_str(), platform.division);
        let shown = platforms.views[&platform.topic()]
            .visible_ids()
            .await
            .unwrap()
            .len() as f64;
        let upserts = sample(
            &text,
            "dhub_records_published_total",
            &[("platform", &name), ("op", "upsert")],
        );
        assert_eq!(
            upserts.unwrap_or(0.0),
            shown,
            "{name}: delivered upserts vs the platform's view"
        );
        let enqueued = sample(
            &text,
            "dhub_outbox_enqueued_total",
            &[("platform", &name), ("op", "upsert")],
        );
        assert_eq!(enqueued.unwrap_or(0.0), shown, "{name}: queued upserts");
        assert_eq!(
            sample(
                &text,
                "dhub_feed_oldest_unacked_seconds",
                &[("platform", &name)]
            ),
            Some(0.0)
        );
    }
    // Every record read was stored or quarantined, as the state store says.
    let store = setup.store().await;
    let held = store.quarantine_count().await.unwrap() as f64;
    let quarantined = sample(&text, "dhub_records_quarantined_total", &[]).unwrap_or(0.0);
    // The held gauge is counted from the store every 10 s.
    let start = Instant::now();
    loop {
        let now = get_text(&format!("{base}/metrics")).await;
        let gauge = sample(&now, "dhub_quarantine_held", &[]);
        if gauge == Some(held) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "dhub_quarantine_held {gauge:?}, the store holds {held}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let received = sample(&text, "dhub_records_received_total", &[]).unwrap();
    let stored = sample(&text, "dhub_records_stored_total", &[]).unwrap();
    assert_eq!(received, first.len() as f64, "records in the exports");
    assert!(stored > 0.0 && quarantined > 0.0 && held > 0.0);

    // The revoking export: each feed's retractions are the records that left its view.
    setup.copy_samples("second");
    platforms
        .wait_for(&expected_second, Duration::from_secs(30))
        .await;
    let text = scrape_until_drained(&base, Duration::from_secs(30)).await;
    for platform in DEMO_PLATFORMS {
        let name = format!("{}-{}", platform.level.as_str(), platform.division);
        let topic = platform.topic();
        let gone: BTreeSet<_> = expected_first[&topic]
            .difference(&expected_second[&topic])
            .collect();
        let retracts = sample(
            &text,
            "dhub_records_published_total",
            &[("platform", &name), ("op", "retract")],
        );
        assert_eq!(
            retracts.unwrap_or(0.0),
            gone.len() as f64,
            "{name}: retractions"
        );
    }

    let _ = stop.send(true);
    hub.await.unwrap().unwrap();
    platforms.stop().await;
}
