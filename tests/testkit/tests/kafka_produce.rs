//! `kafka-produce` against the real broker: it creates the missing topic through the admin API,
//! sends one message per line with the key from the pointer, and names the line at fault.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use dhub_testkit::kafka::Cleanup;
use dhub_testkit::{test_brokers, unique_name};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// The messages of the topic, by partition, as (key, value): until `count` came, or `wait` passed.
fn read_all(
    topic: &str,
    partitions: i32,
    count: usize,
    wait: Duration,
) -> BTreeMap<i32, Vec<(String, String)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", test_brokers())
        .set("group.id", unique_name("kafka-produce-check"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut all: BTreeMap<i32, Vec<(String, String)>> = BTreeMap::new();
    let deadline = std::time::Instant::now() + wait;
    while all.values().map(Vec::len).sum::<usize>() < count && std::time::Instant::now() < deadline
    {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            let text = |bytes: Option<&[u8]>| {
                String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned()
            };
            all.entry(message.partition())
                .or_default()
                .push((text(message.key()), text(message.payload())));
        }
    }
    all
}

#[tokio::test]
async fn a_jsonl_file_becomes_one_message_per_line_keyed_by_the_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.jsonl");
    std::fs::write(
        &file,
        "{\"case_id\": \"A\", \"v\": 1}\n{\"case_id\": \"B\", \"v\": 1}\n\n{\"case_id\": \"A\", \"v\": 2}\n{\"case_id\": \"B\", \"v\": 2}\n",
    )
    .unwrap();
    let topic = unique_name("kafka-produce");
    let _cleanup = Cleanup {
        brokers: test_brokers(),
        topics: vec![topic.clone()],
        groups: Vec::new(),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_kafka-produce"))
        .args(["--brokers", &test_brokers(), "--topic", &topic])
        .args(["--key-pointer", "/case_id", "--partitions", "3"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("sent 4 message(s) to {topic}")),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("created topic"));

    let all = read_all(&topic, 3, 4, Duration::from_secs(20));
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for messages in all.values() {
        for (key, value) in messages {
            by_key.entry(key.clone()).or_default().push(value.clone());
        }
    }
    assert_eq!(
        by_key,
        BTreeMap::from([
            (
                "A".to_string(),
                vec![
                    "{\"case_id\": \"A\", \"v\": 1}".to_string(),
                    "{\"case_id\": \"A\", \"v\": 2}".to_string()
                ]
            ),
            (
                "B".to_string(),
                vec![
                    "{\"case_id\": \"B\", \"v\": 1}".to_string(),
                    "{\"case_id\": \"B\", \"v\": 2}".to_string()
                ]
            ),
        ]),
        "one message per line, each key's versions in order in one partition"
    );

    std::fs::write(&file, "{\"case_id\": \"C\"}\n{\"id\": 1}\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kafka-produce"))
        .args(["--brokers", &test_brokers(), "--topic", &topic])
        .args(["--key-pointer", "/case_id"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cases.jsonl: line 2: no string or number at /case_id"),
        "{stderr}"
    );

    // --recreate: the earlier messages are gone, only the file's are there.
    std::fs::write(&file, "{\"case_id\": \"D\"}\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kafka-produce"))
        .args([
            "--brokers",
            &test_brokers(),
            "--topic",
            &topic,
            "--recreate",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    // Read a little longer than one message would take, so that left-overs would show.
    let all = read_all(&topic, 1, 5, Duration::from_secs(3));
    let values: Vec<&str> = all.values().flatten().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["{\"case_id\": \"D\"}"]);
}
