use super::*;
use std::path::PathBuf;

fn parse(text: &str) -> Result<KafkaConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

fn hub() -> HubSettings {
    HubSettings {
        kafka_brokers: "hub-broker:9092".into(),
        kafka_properties: vec![
            ("security.protocol".into(), "plaintext".into()),
            ("linger.ms".into(), "5".into()),
        ],
    }
}

fn base() -> PathBuf {
    PathBuf::from(".")
}

const MINIMAL: &str = "topic = \"djt.cases\"\ngroup = \"dhub-djt\"\n";

#[test]
fn defaults_take_the_hubs_cluster_and_document_the_limits() {
    let config = parse(MINIMAL).unwrap();
    assert!(config.check(&base()).is_empty());
    let settings = config.compile(&base(), &hub()).unwrap();
    assert_eq!(settings.brokers, "hub-broker:9092");
    assert_eq!(settings.max_message_bytes, 1024 * 1024);
    assert_eq!(settings.batch_messages, 500);
    assert_eq!(settings.batch_linger, Duration::from_millis(50));
    assert_eq!(settings.store_budget, Duration::from_secs(150));
    let client = settings.client_config();
    assert_eq!(client.get("bootstrap.servers"), Some("hub-broker:9092"));
    assert_eq!(client.get("security.protocol"), Some("plaintext"));
    assert_eq!(client.get("group.id"), Some("dhub-djt"));
    assert_eq!(client.get("enable.auto.commit"), Some("false"));
    assert_eq!(client.get("enable.auto.offset.store"), Some("false"));
    assert_eq!(client.get("auto.offset.reset"), Some("earliest"));
}

#[test]
fn a_cluster_of_its_own_does_not_take_the_hubs_properties() {
    let config = parse(&format!(
        "{MINIMAL}brokers = \"dept:9093\"\nmax_message_bytes = 2048\nbatch_messages = 10\nbatch_linger_ms = 0\n[properties]\n\"client.id\" = \"dhub\"\n\"max.poll.interval.ms\" = \"60000\"\n"
    ))
    .unwrap();
    let settings = config.compile(&base(), &hub()).unwrap();
    let client = settings.client_config();
    assert_eq!(client.get("bootstrap.servers"), Some("dept:9093"));
    assert_eq!(client.get("security.protocol"), None);
    assert_eq!(client.get("client.id"), Some("dhub"));
    assert_eq!(settings.max_message_bytes, 2048);
    assert_eq!(settings.batch_messages, 10);
    assert_eq!(settings.batch_linger, Duration::ZERO);
    assert_eq!(
        settings.store_budget,
        Duration::from_secs(30),
        "half of max.poll.interval.ms"
    );
}

#[test]
fn the_hubs_properties_never_change_how_offsets_are_placed() {
    let mut hub = hub();
    hub.kafka_properties
        .push(("enable.auto.commit".into(), "true".into()));
    let settings = parse(MINIMAL).unwrap().compile(&base(), &hub).unwrap();
    assert_eq!(
        settings.client_config().get("enable.auto.commit"),
        Some("false")
    );
}

#[test]
fn every_key_is_validated() {
    let config = parse(
        "topic = \"cases/2026\"\ngroup = \" \"\nbrokers = \"\"\nmax_message_bytes = 0\nbatch_messages = 0\nbatch_linger_ms = 600000\n[properties]\n\"enable.auto.commit\" = \"true\"\n\"no.such.property\" = \"s3cret-value\"\n\"fetch.wait.max.ms\" = \"often\"\n",
    )
    .unwrap();
    let errors = config.check(&base());
    let expected = [
        "topic `cases/2026`: the character `/` is not allowed",
        "group = \"\": name the consumer group",
        "brokers = \"\": name the bootstrap servers",
        "max_message_bytes = 0: must be between 1 and 268435456",
        "batch_messages = 0: must be between 1 and 100000",
        "batch_linger_ms = 600000: must be at most 60000",
        "properties.enable.auto.commit: is set by the hub",
        "properties.no.such.property:",
        "properties.fetch.wait.max.ms:",
    ];
    for want in expected {
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "missing `{want}` in {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    assert!(
        errors.iter().all(|e| !e.contains("s3cret-value")),
        "a property value may be a secret: {errors:#?}"
    );
    assert!(config.compile(&base(), &hub()).is_err());
}

#[test]
fn secret_properties_are_resolved_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "pa55word\n").unwrap();
    let config = parse(&format!(
        "{MINIMAL}[properties]\n\"sasl.password\" = {{ file = \"password\" }}\n\"sasl.username\" = {{ env = \"DHUB_KAFKA_TEST_SURELY_UNSET\" }}\n"
    ))
    .unwrap();
    let errors = config.check(dir.path());
    assert_eq!(
        errors,
        ["properties.sasl.username: environment variable DHUB_KAFKA_TEST_SURELY_UNSET is not set"]
    );
    let printed = format!("{config:?}");
    assert!(!printed.contains("pa55word"), "{printed}");

    let config = parse(&format!(
        "{MINIMAL}[properties]\n\"sasl.password\" = {{ file = \"password\" }}\n"
    ))
    .unwrap();
    let settings = config.compile(dir.path(), &hub()).unwrap();
    assert_eq!(
        settings.client_config().get("sasl.password"),
        Some("pa55word")
    );
}

#[test]
fn unknown_keys_and_missing_topic_are_refused() {
    let error = parse(&format!("{MINIMAL}batch_size = 5\n")).unwrap_err();
    assert!(error.contains("unknown field `batch_size`"), "{error}");
    let error = parse("group = \"g\"\n").unwrap_err();
    assert!(error.contains("missing field `topic`"), "{error}");
}

#[test]
fn no_brokers_anywhere_is_an_error() {
    let error = parse(MINIMAL)
        .unwrap()
        .compile(&base(), &HubSettings::default())
        .err()
        .unwrap();
    assert!(error.starts_with("no brokers"), "{error}");
}

#[test]
fn stored_positions_are_read_per_partition_of_this_topic_only() {
    let stored = [
        Position {
            scope: "djt.cases/0".into(),
            value: "17".into(),
        },
        Position {
            scope: "djt.cases/2".into(),
            value: "0".into(),
        },
        Position {
            scope: "old.topic/1".into(),
            value: "99".into(),
        },
        Position::whole("a-file.xml"),
    ];
    let positions = partition_positions("djt.cases", &stored).unwrap();
    assert_eq!(positions, HashMap::from([(0, 17), (2, 0)]));
    assert_eq!(scope("djt.cases", 3), "djt.cases/3");

    let broken = [Position {
        scope: "djt.cases/1".into(),
        value: "-4".into(),
    }];
    let error = partition_positions("djt.cases", &broken).unwrap_err();
    assert!(!error.retryable);
    assert!(error.message.contains("djt.cases/1"), "{}", error.message);
}
