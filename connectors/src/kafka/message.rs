//! One Kafka message → the intake items of its records. A message is one source document: usually
//! one case (a JSON object, or an XML document), read with the source's mapping. Whatever cannot be
//! read (no value, over `max_message_bytes`, not JSON, no record in it) is held at the document
//! stage with the message's `topic/partition@offset` as its origin, so its partition goes on.

use std::sync::Arc;

use dhub_mapping::{MapContext, Mapping, ReadLimits};
use dhub_schema::intake::{Intake, Origin};

use crate::mapped::to_intake;

/// Where a message sits in its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageAt<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

impl MessageAt<'_> {
    pub fn origin(&self) -> Origin {
        Origin::Message {
            topic: self.topic.to_string(),
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// The intake items of one message, in the order its records appear.
pub fn message_items(
    mapping: &Mapping,
    source: &str,
    at: MessageAt<'_>,
    payload: Option<&[u8]>,
    limits: &ReadLimits,
    context: &MapContext,
) -> Vec<Intake> {
    // `max_document_bytes` is the source's `max_message_bytes`.
    let max_message_bytes = limits.max_document_bytes;
    let origin = at.origin();
    let shown = origin.to_string();
    let unreadable = |reason: String, kept: String| Intake::Unreadable {
        origin: origin.clone(),
        reason,
        raw: Arc::new(kept),
    };
    let Some(payload) = payload else {
        return vec![unreadable(
            format!("{shown}: the message has no value (a deletion marker?); every message must carry one case"),
            String::new(),
        )];
    };
    if payload.len() as u64 > max_message_bytes {
        // Not kept: holding it would defeat the limit. The department re-sends it once it is fixed.
        return vec![unreadable(
            format!(
                "{shown}: the message is {} bytes, over the source's limit of {max_message_bytes} bytes (max_message_bytes); raise it if the case is genuine",
                payload.len()
            ),
            String::new(),
        )];
    }
    let records = match mapping.read_document_with(payload, &shown, limits) {
        Ok(records) => records,
        // The reason names the message (and the line in it); the bytes are kept as text for
        // `dhub quarantine show`.
        Err(error) => {
            return vec![unreadable(
                error.to_string(),
                String::from_utf8_lossy(payload).into_owned(),
            )]
        }
    };
    if records.is_empty() {
        return vec![unreadable(
            format!("{shown}: the message holds no record; every message must carry one case"),
            String::from_utf8_lossy(payload).into_owned(),
        )];
    }
    records
        .into_iter()
        .map(|record| to_intake(mapping, source, record, origin.clone(), context))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn mapping() -> Mapping {
        Mapping::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/dept-kafka.toml"))
            .unwrap()
    }

    fn sample_lines() -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mappings/samples/dept-kafka/first/djt-cases-20261111.jsonl");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn context() -> MapContext {
        MapContext {
            source_name: "dept-kafka".into(),
            fetched_at: "2026-11-11T00:00:00Z".into(),
        }
    }

    const AT: MessageAt<'static> = MessageAt {
        topic: "djt.cases",
        partition: 2,
        offset: 41,
    };

    fn items(payload: Option<&[u8]>, limit: u64) -> Vec<Intake> {
        let limits = ReadLimits {
            max_document_bytes: limit,
            ..ReadLimits::default()
        };
        message_items(&mapping(), "dept-kafka", AT, payload, &limits, &context())
    }

    fn unreadable(items: &[Intake]) -> (String, String) {
        match items {
            [Intake::Unreadable {
                origin,
                reason,
                raw,
            }] => {
                assert_eq!(origin.to_string(), "djt.cases/2@41");
                (reason.clone(), raw.raw_text())
            }
            other => panic!("expected one unreadable item, got {}", other.len()),
        }
    }

    #[test]
    fn a_case_message_maps_to_one_record_with_the_message_as_origin() {
        let line = &sample_lines()[0];
        let items = items(Some(line.as_bytes()), 1024 * 1024);
        let [Intake::Mapped { value, origin, .. }] = items.as_slice() else {
            panic!("one mapped record");
        };
        assert_eq!(value["record_id"], "dept-kafka:DEJT-2026-0041");
        assert_eq!(
            *origin,
            Origin::Message {
                topic: "djt.cases".into(),
                partition: 2,
                offset: 41
            }
        );
    }

    #[test]
    fn a_message_over_the_limit_is_held_unread_and_not_kept() {
        let line = &sample_lines()[0];
        let (reason, kept) = unreadable(&items(Some(line.as_bytes()), 100));
        assert_eq!(
            reason,
            format!("djt.cases/2@41: the message is {} bytes, over the source's limit of 100 bytes (max_message_bytes); raise it if the case is genuine", line.len())
        );
        assert!(kept.is_empty(), "the oversized message is not stored");
    }

    #[test]
    fn a_message_that_is_not_json_is_held_naming_the_message() {
        let (reason, kept) = unreadable(&items(Some(b"{\"case_id\": \"X-1\", "), 1024));
        assert!(reason.starts_with("djt.cases/2@41:"), "{reason}");
        assert_eq!(kept, "{\"case_id\": \"X-1\", ");
    }

    #[test]
    fn a_message_without_a_value_or_a_record_is_held() {
        let (reason, _) = unreadable(&items(None, 1024));
        assert!(reason.contains("the message has no value"), "{reason}");
        let (reason, _) = unreadable(&items(Some(b"[]"), 1024));
        assert!(reason.contains("holds no record"), "{reason}");
    }

    #[test]
    fn a_record_that_does_not_map_keeps_the_message_as_origin() {
        let items = items(Some(b"{\"category\": \"2\"}"), 1024);
        let [Intake::Unmapped { origin, reason, .. }] = items.as_slice() else {
            panic!("one unmapped record");
        };
        assert_eq!(origin.to_string(), "djt.cases/2@41");
        assert!(reason.starts_with("key:"), "{reason}");
    }
}
