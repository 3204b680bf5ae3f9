//! Tests leave nothing behind on the shared broker: `Cleanup` deletes the topics and consumer groups a
//! test made, when it is dropped (also when the test fails before its end).

use std::time::Duration;

use dhub_testkit::kafka::{create_topic, produce, Cleanup, Message};
use dhub_testkit::{test_brokers, unique_name};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};

fn topic_exists(topic: &str) -> bool {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", test_brokers())
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    metadata.topics().iter().any(|t| t.name() == topic)
}

fn group_exists(group: &str) -> bool {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", test_brokers())
        .create()
        .unwrap();
    let groups = consumer
        .fetch_group_list(None, Duration::from_secs(10))
        .unwrap();
    groups.groups().iter().any(|g| g.name() == group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_cleanup_deletes_its_topics_and_groups() {
    let brokers = test_brokers();
    let topic = unique_name("cleanup");
    let group = unique_name("cleanup-group");
    create_topic(&brokers, &[], &topic, 1).await.unwrap();
    produce(&brokers, &[], &topic, &[Message::new("x")])
        .await
        .unwrap();
    // A group with a committed offset, as a platform leaves one.
    let (topic_for, group_for) = (topic.clone(), group.clone());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", test_brokers())
            .set("group.id", &group_for)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&[&topic_for]).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            assert!(std::time::Instant::now() < deadline, "no message came");
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                consumer
                    .commit_message(&message.unwrap(), CommitMode::Sync)
                    .unwrap();
                break;
            }
        }
    })
    .await
    .unwrap();
    let (t, g) = (topic.clone(), group.clone());
    let before = tokio::task::spawn_blocking(move || (topic_exists(&t), group_exists(&g)))
        .await
        .unwrap();
    assert_eq!(before, (true, true), "the topic and the group exist");

    drop(Cleanup {
        brokers,
        topics: vec![topic.clone()],
        groups: vec![group.clone()],
    });
    let after = tokio::task::spawn_blocking(move || (topic_exists(&topic), group_exists(&group)))
        .await
        .unwrap();
    assert_eq!(after, (false, false), "both are gone");
}
