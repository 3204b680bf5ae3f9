//! The raw feed reader: every message of a run's feed topics, as the broker holds them, and the checks
//! CONTRACT §4 makes of them.
//!
//! The platform views only show the end result of applying a feed; a hub that sent a record twice
//! under two versions, a key that is not the `record_id`, a missing header or a version that went
//! backwards would all be hidden there by the platform's own rules. This reader goes under them: it
//! assigns itself every partition of a topic from the beginning (no group membership, nothing
//! committed) and reads until the caller's condition holds or a timeout. It never asks for watermarks:
//! tansu 0.6 answers them unreliably while a batch is being written, so "read up to the high
//! watermark" could stop early. Written independently of `dhub-platform`, so the two cannot share a
//! bug.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// One message of a feed topic: where it is, its key, its headers and its value parsed as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub headers: Vec<(String, Option<String>)>,
    /// The value's bytes, for the "duplicates are identical" check.
    pub value: Vec<u8>,
    /// The value as JSON (`Null` when it is not JSON; the check reports it).
    pub envelope: serde_json::Value,
}

impl RawMessage {
    pub fn record_id(&self) -> Option<&str> {
        self.envelope.get("record_id").and_then(|v| v.as_str())
    }

    pub fn version(&self) -> Option<i64> {
        self.envelope.get("version").and_then(|v| v.as_i64())
    }

    pub fn op(&self) -> Option<&str> {
        self.envelope.get("op").and_then(|v| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_deref())
    }
}

/// Every message of `topics`, read from the beginning until `done` says the messages read so far are
/// enough, or `timeout` passes (then whatever was read is returned: the checks say what is missing).
/// After `done` holds, reading goes on for `linger` to pick up trailing duplicates.
pub fn read_topics(
    brokers: &str,
    topics: &[String],
    timeout: Duration,
    linger: Duration,
    done: impl Fn(&[RawMessage]) -> bool,
) -> anyhow::Result<Vec<RawMessage>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        // Required by librdkafka for a consumer; never joined (assign, not subscribe) nor committed.
        .set("group.id", crate::unique_name("feed-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .with_context(|| format!("cannot create a kafka consumer for {brokers}"))?;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .with_context(|| format!("no metadata for topic {topic}"))?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        if partitions == 0 {
            bail!("topic {topic} does not exist or has no partitions");
        }
        for partition in 0..partitions as i32 {
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut satisfied_at: Option<Instant> = None;
    let mut messages = Vec::new();
    // `done` may look at every message read so far (the feed checks parse them all), and a pause in
    // the fetches calls for it: asked again only once more messages came, and not before four times
    // its last cost has passed, so that on a large feed the reading is not starved by the checks.
    let mut last_check: Option<(usize, Instant, Duration)> = None;
    loop {
        match satisfied_at {
            Some(at) if at.elapsed() >= linger => break,
            None if started.elapsed() >= timeout => break,
            _ => {}
        }
        let Some(polled) = consumer.poll(Duration::from_millis(100)) else {
            let due = match last_check {
                None => true,
                Some((read, at, cost)) => read != messages.len() && at.elapsed() >= cost * 4,
            };
            if satisfied_at.is_none() && due {
                let checking = Instant::now();
                let enough = done(&messages);
                last_check = Some((messages.len(), Instant::now(), checking.elapsed()));
                if enough {
                    satisfied_at = Some(Instant::now());
                }
            }
            continue;
        };
        let message = polled.context("reading a feed topic")?;
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            h.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let value = message.payload().unwrap_or_default().to_vec();
        messages.push(RawMessage {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            headers,
            envelope: serde_json::from_slice(&value).unwrap_or(serde_json::Value::Null),
            value,
        });
        // `done` may look at every message: ask it when caught up (above) and every few thousand
        // messages, not after each one.
        if satisfied_at.is_none() && messages.len() % 4096 == 0 && done(&messages) {
            satisfied_at = Some(Instant::now());
        }
    }
    Ok(messages)
}

/// How strict the version order check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Versions per key never decrease in offset order (a run without crashes or outages).
    Strict,
    /// At least once: after a crash the relay resends from its mark, so an older version may follow a
    /// newer one — but only as an identical copy of a message already on the feed. A version that
    /// first appears after a higher one is still an error.
    Resends,
}

/// What a feed's messages amount to, by the platform rule (apply in offset order per key, ignore a
/// version lower than what is held): the records shown, and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedState {
    /// `record_id` → (version, op) held after applying every message.
    pub held: BTreeMap<String, (i64, String)>,
    /// `record_id` → the envelope held (the last one applied).
    pub last: BTreeMap<String, serde_json::Value>,
    pub messages: usize,
    pub duplicates: usize,
}

impl FeedState {
    /// The records an upsert is held for (what a platform shows).
    pub fn shown(&self) -> BTreeSet<String> {
        self.held
            .iter()
            .filter(|(_, (_, op))| op == "upsert")
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The records whose last applied envelope is a retraction.
    pub fn retracted(&self) -> BTreeSet<String> {
        self.held
            .iter()
            .filter(|(_, (_, op))| op == "retract")
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// Checks every message of one topic against CONTRACT §4: key = `record_id`; headers
/// `content-type: application/json` and `schema: <schema>` (= the envelope's `schema`); a parseable
/// envelope with `op` `upsert` (carrying `record`) or `retract` (carrying a known `reason` and no
/// `record`); versions per key in offset order as `order` says; every copy of a (`record_id`,
/// `version`) byte-identical. Returns the feed's state, or every violation found (by position and
/// record id only, never content).
pub fn check_topic(
    messages: &[RawMessage],
    schema: &str,
    order: Order,
) -> Result<FeedState, Vec<String>> {
    const REASONS: [&str; 6] = [
        "revoked",
        "confirmed_illegal",
        "confirmed_void",
        "redecided",
        "publicity_expired",
        "manual",
    ];
    let mut errors = Vec::new();
    let mut sorted: Vec<&RawMessage> = messages.iter().collect();
    sorted.sort_by_key(|m| (m.partition, m.offset));
    let mut state = FeedState {
        messages: sorted.len(),
        ..FeedState::default()
    };
    // record_id → (partition of its first message, highest version seen)
    let mut keys: BTreeMap<String, (i32, i64)> = BTreeMap::new();
    let mut copies: BTreeMap<(String, i64), &RawMessage> = BTreeMap::new();
    for message in sorted {
        let at = format!(
            "{}[{}]@{}",
            message.topic, message.partition, message.offset
        );
        let (Some(record_id), Some(version), Some(op)) =
            (message.record_id(), message.version(), message.op())
        else {
            errors.push(format!(
                "{at}: not an envelope with record_id, version and op"
            ));
            continue;
        };
        if message.key.as_deref() != Some(record_id) {
            errors.push(format!("{at} ({record_id}): the key is not the record_id"));
        }
        if message.header("content-type") != Some("application/json") {
            errors.push(format!(
                "{at} ({record_id}): header content-type is {:?}",
                message.header("content-type")
            ));
        }
        if message.header("schema") != Some(schema)
            || message.envelope.get("schema").and_then(|s| s.as_str()) != Some(schema)
        {
            errors.push(format!(
                "{at} ({record_id}): header and envelope schema must be {schema}"
            ));
        }
        match op {
            "upsert" if message.envelope.get("record").is_some_and(|r| r.is_object()) => {}
            "retract"
                if message.envelope.get("record").is_none()
                    && message
                        .envelope
                        .get("reason")
                        .and_then(|r| r.as_str())
                        .is_some_and(|r| REASONS.contains(&r)) => {}
            _ => errors.push(format!(
                "{at} ({record_id}): op {op} without its fields (upsert: record; retract: a known reason and no record)"
            )),
        }
        let copy_key = (record_id.to_owned(), version);
        let duplicate = match copies.get(&copy_key) {
            Some(first) => {
                state.duplicates += 1;
                if first.value != message.value {
                    errors.push(format!(
                        "{at} ({record_id} v{version}): a duplicate differs from the copy at {}@{}",
                        first.partition, first.offset
                    ));
                }
                true
            }
            None => {
                copies.insert(copy_key, message);
                false
            }
        };
        match keys.get_mut(record_id) {
            None => {
                keys.insert(record_id.to_owned(), (message.partition, version));
            }
            Some((partition, highest)) => {
                if *partition != message.partition {
                    errors.push(format!(
                        "{at} ({record_id}): the key is in partitions {partition} and {}",
                        message.partition
                    ));
                }
                if version < *highest && !(order == Order::Resends && duplicate) {
                    errors.push(format!(
                        "{at} ({record_id}): version {version} after version {highest}"
                    ));
                }
                *highest = (*highest).max(version);
            }
        }
        // The platform rule: apply unless lower than what is held.
        let held = state.held.get(record_id).map(|(v, _)| *v);
        if held.is_none_or(|held| version >= held) {
            state
                .held
                .insert(record_id.to_owned(), (version, op.to_owned()));
            state
                .last
                .insert(record_id.to_owned(), message.envelope.clone());
        }
    }
    if errors.is_empty() {
        Ok(state)
    } else {
        Err(errors)
    }
}

/// Reads `topics` (each `<prefix><name>`) until every topic's state shows `expected[name]` exactly, or
/// `timeout`; then checks each topic. Returns each topic's state by unprefixed name, or every
/// violation and every difference from `expected` (records lost or shown too many).
pub fn read_and_check(
    brokers: &str,
    prefix: &str,
    expected: &BTreeMap<String, BTreeSet<String>>,
    schema: &str,
    order: Order,
    timeout: Duration,
) -> anyhow::Result<Result<BTreeMap<String, FeedState>, Vec<String>>> {
    let topics: Vec<String> = expected.keys().map(|t| format!("{prefix}{t}")).collect();
    let converged = |messages: &[RawMessage]| {
        // First what costs little: every record expected on a topic has a message there (keys
        // only). The whole check copies every message of a topic, so it runs only near the end.
        let mut keys: BTreeMap<&str, std::collections::HashSet<&str>> = BTreeMap::new();
        for message in messages {
            if let Some(key) = &message.key {
                keys.entry(message.topic.as_str())
                    .or_default()
                    .insert(key.as_str());
            }
        }
        let every_key_seen = expected.iter().all(|(name, want)| {
            let topic = format!("{prefix}{name}");
            keys.get(topic.as_str())
                .is_some_and(|seen| want.iter().all(|id| seen.contains(id.as_str())))
        });
        if !every_key_seen {
            return false;
        }
        expected.iter().all(|(name, want)| {
            let topic = format!("{prefix}{name}");
            let mine: Vec<RawMessage> = messages
                .iter()
                .filter(|m| m.topic == topic)
                .cloned()
                .collect();
            let state = check_topic(&mine, schema, Order::Resends).unwrap_or_default();
            &state.shown() == want
        })
    };
    let messages = read_topics(
        brokers,
        &topics,
        timeout,
        Duration::from_millis(500),
        converged,
    )?;
    let mut states = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, want) in expected {
        let topic = format!("{prefix}{name}");
        let mine: Vec<RawMessage> = messages
            .iter()
            .filter(|m| m.topic == topic)
            .cloned()
            .collect();
        match check_topic(&mine, schema, order) {
            Ok(state) => {
                let shown = state.shown();
                let lost: Vec<_> = want.difference(&shown).take(5).collect();
                let extra: Vec<_> = shown.difference(want).take(5).collect();
                if !lost.is_empty() || !extra.is_empty() {
                    errors.push(format!(
                        "{name}: want {} shown {}; lost {lost:?} extra {extra:?}",
                        want.len(),
                        shown.len()
                    ));
                }
                states.insert(name.clone(), state);
            }
            Err(found) => errors.extend(found.into_iter().map(|e| format!("{name}: {e}"))),
        }
    }
    Ok(if errors.is_empty() {
        Ok(states)
    } else {
        Err(errors)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(offset: i64, key: &str, version: i64, op: &str) -> RawMessage {
        let envelope = if op == "upsert" {
            json!({"schema": "disclosure.v1", "op": op, "record_id": key, "version": version, "emitted_at": "t", "record": {"a": 1}})
        } else {
            json!({"schema": "disclosure.v1", "op": op, "record_id": key, "version": version, "emitted_at": "t", "reason": "revoked"})
        };
        RawMessage {
            topic: "t".into(),
            partition: 0,
            offset,
            key: Some(key.into()),
            headers: vec![
                ("content-type".into(), Some("application/json".into())),
                ("schema".into(), Some("disclosure.v1".into())),
            ],
            value: serde_json::to_vec(&envelope).unwrap(),
            envelope,
        }
    }

    #[test]
    fn a_clean_feed_passes_and_gives_the_platform_state() {
        let feed = [
            message(0, "a", 1, "upsert"),
            message(1, "b", 1, "upsert"),
            message(2, "a", 2, "retract"),
            message(3, "b", 1, "upsert"),
        ];
        let state = check_topic(&feed, "disclosure.v1", Order::Strict).unwrap();
        assert_eq!(state.shown(), BTreeSet::from(["b".to_owned()]));
        assert_eq!(state.retracted(), BTreeSet::from(["a".to_owned()]));
        assert_eq!((state.messages, state.duplicates), (4, 1));
    }

    #[test]
    fn each_violation_is_found() {
        let mut wrong_key = message(0, "a", 1, "upsert");
        wrong_key.key = Some("x".into());
        let mut no_header = message(1, "b", 1, "upsert");
        no_header.headers.remove(0);
        let mut changed_copy = message(3, "b", 1, "upsert");
        changed_copy.value.push(b' ');
        let mut retract_with_record = message(4, "c", 2, "retract");
        retract_with_record.envelope["record"] = json!({"name": "x"});
        let feed = [
            wrong_key,
            no_header,
            message(2, "b", 3, "upsert"),
            changed_copy,
            retract_with_record,
        ];
        let errors = check_topic(&feed, "disclosure.v1", Order::Resends).unwrap_err();
        let all = errors.join("\n");
        assert!(all.contains("key is not the record_id"), "{all}");
        assert!(all.contains("content-type"), "{all}");
        assert!(all.contains("duplicate differs"), "{all}");
        assert!(all.contains("op retract without"), "{all}");
        assert_eq!(errors.len(), 4, "{all}");
    }

    #[test]
    fn an_older_version_after_a_newer_is_an_error_unless_it_is_a_resend() {
        let resend = [
            message(0, "a", 1, "upsert"),
            message(1, "a", 2, "upsert"),
            message(2, "a", 1, "upsert"),
            message(3, "a", 2, "upsert"),
        ];
        assert!(check_topic(&resend, "disclosure.v1", Order::Resends).is_ok());
        let strict = check_topic(&resend, "disclosure.v1", Order::Strict).unwrap_err();
        assert!(
            strict[0].contains("version 1 after version 2"),
            "{strict:?}"
        );
        let new_but_older = [message(0, "a", 2, "upsert"), message(1, "a", 1, "upsert")];
        assert!(check_topic(&new_but_older, "disclosure.v1", Order::Resends).is_err());
    }
}
