//! The whole path against the real broker, with the production state store (Postgres): the demo's
//! shipped exports in → every platform's `dhub platform` view holds exactly the records in force in its
//! area, redacted; the revoking export in → those records vanish from every view within 5 s.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{check_raw_feeds, expected_views, repo, start_hub_in_process, HubSetup, Platforms};
use dhub_testkit::feed::Order;
use dhub_testkit::export::render_finance_export;
use dhub_testkit::{
    apply_export, generate, revocation_export, Case, GenConfig, System, TextEncoding,
};

/// The demo's cases, first and after the second export, exactly as `gen-exports` makes the shipped
/// samples (see `mappings/samples/EXPECTED.md`).
fn demo_cases() -> (Vec<Case>, Vec<Case>) {
    let config = GenConfig::default();
    let first = generate(&config).unwrap();
    let later = revocation_export(&first, 0.12, config.seed, config.decided_to).unwrap();
    let second = apply_export(&first, &later);
    (first, second)
}

fn only_file(dir: &Path) -> Vec<u8> {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}", dir.display());
    std::fs::read(&files[0]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_exports_fill_every_platform_and_revocations_vanish_within_5s() {
    let (first, second) = demo_cases();
    let finance_first: Vec<Case> = first
        .iter()
        .filter(|c| c.system == System::FinanceOa)
        .cloned()
        .collect();
    assert_eq!(
        only_file(&repo().join("mappings/samples/finance-oa/first")),
        render_finance_export(&finance_first, TextEncoding::Gbk).unwrap(),
        "the shipped GBK sample is what the generator makes; regenerate mappings/samples if this fails"
    );
    let expected_first = expected_views(&first);
    let expected_second = expected_views(&second);
    let counts: Vec<usize> = expected_first.values().map(BTreeSet::len).collect();
    assert_eq!(
        counts,
        [56, 28, 24, 56],
        "city, county 371523, county 371524, province (EXPECTED.md)"
    );

    let db = dhub_testkit::fresh_postgres_db().await.unwrap();
    let setup = HubSetup::new(Some(db.url()));
    let platforms = Platforms::start(&setup.prefix).await;
    let (stop, hub) = start_hub_in_process(setup.config());

    setup.copy_samples("first");
    platforms
        .wait_for(&expected_first, Duration::from_secs(60))
        .await;

    // What reached the platforms is redacted: no ID number, phone or address of a natural person
    // that the exports carried, and their names only as pseudonyms.
    for (topic, view) in &platforms.views {
        for case in first
            .iter()
            .filter(|c| expected_first[topic].contains(&c.record_id()))
        {
            let shown = view
                .get(&case.record_id())
                .await
                .unwrap()
                .expect("visible record");
            let text = shown.to_string();
            if let Some(person) = case.natural_person() {
                assert!(
                    !text.contains(&person.id_number),
                    "{} leaks an ID number on {topic}",
                    case.record_id()
                );
                assert!(
                    !text.contains(&person.phone),
                    "{} leaks a phone on {topic}",
                    case.record_id()
                );
                assert!(
                    !text.contains(&person.name),
                    "{} leaks a name on {topic}",
                    case.record_id()
                );
                assert_eq!(shown["counterparty"]["name"], person.pseudonym());
            }
            for mention in &case.facts_mentions {
                assert!(
                    !text.contains(&mention.text),
                    "{} leaks a {:?} from its facts",
                    case.record_id(),
                    mention.kind
                );
            }
            assert_eq!(shown["version"], 1);
        }
    }

    setup.copy_samples("second");
    let took = platforms
        .wait_for(&expected_second, Duration::from_secs(5))
        .await;
    eprintln!("revocations reached every platform view in {took:?}");

    // Under the views: every message on the four topics, raw. No crash happened, so versions per key
    // never go back; each revoked record's retraction is on every topic that had its upsert, with
    // the status as its reason.
    let feeds = check_raw_feeds(&setup.prefix, &expected_second, Order::Strict).await;
    for (topic, state) in &feeds {
        for case in second.iter().filter(|c| !c.expected_outcome().is_published()) {
            let Some((version, op)) = state.held.get(&case.record_id()) else {
                continue;
            };
            assert!(
                expected_first[topic].contains(&case.record_id()),
                "{} reached {topic} although it was never shown there",
                case.record_id()
            );
            assert_eq!((*version, op.as_str()), (2, "retract"), "{} on {topic}", case.record_id());
        }
        let retracted = state.retracted().len();
        assert_eq!(
            retracted,
            expected_first[topic].len() - expected_second[topic].len(),
            "{topic}: one retraction per record withdrawn there"
        );
    }

    let _ = stop.send(true);
    hub.await.unwrap().unwrap();
    platforms.stop().await;
    db.drop().await.unwrap();
}
