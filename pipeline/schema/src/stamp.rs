//! The source-side age of a record version: `source.updated_at` (when the department's system last
//! changed the case) and `source.seq` (its change sequence), where a mapping gives them.
//!
//! A department that resends an old export would otherwise store the old version over a newer one,
//! and republish a decision revoked since. The hub compares the stamp of each incoming version with
//! the one stored with the record's latest version and holds an older one back as `stale` (issue 9).
//! Stamps are normalized into text that sorts in time order, so the state store keeps and compares
//! them without knowing their kind; only stamps of the same kind are compared.
//!
//! Where the mapping gives neither, a record takes the age of the document it came in: the export's
//! own time where the format carries one (`[mapping] exported_at`, kind `export`), else the file's
//! modification time when the folder source claimed it (kind `mtime`, UTC). A resent old export is
//! then held back too, as long as it keeps its export time or its file time.

use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::record::SourceRef;

/// The formats `source.updated_at` may take: RFC 3339 (with an offset: compared in UTC), or a local
/// date-time / date of the department's system (compared as written, one clock per source).
const LOCAL_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y%m%d%H%M%S",
    "%Y/%m/%d %H:%M:%S",
];

/// The normalized, sortable stamp of a record's lineage, or `None` when the mapping gives neither
/// `source.updated_at` nor `source.seq`. `Err` names the field and why (a validation error).
pub fn source_stamp(source: &SourceRef) -> Result<Option<String>, (&'static str, String)> {
    let at = source
        .updated_at
        .as_deref()
        .map(|text| updated_at(text).map_err(|message| ("source.updated_at", message)))
        .transpose()?;
    let seq = source
        .seq
        .as_deref()
        .map(|text| sequence(text).map_err(|message| ("source.seq", message)))
        .transpose()?;
    Ok(match (at, seq) {
        (None, None) => None,
        (Some(at), None) => Some(format!("at:{}", at.format("%Y-%m-%dT%H:%M:%S%.9f"))),
        (None, Some(seq)) => Some(format!("seq:{seq:020}")),
        (Some(at), Some(seq)) => Some(format!(
            "at+seq:{}/{seq:020}",
            at.format("%Y-%m-%dT%H:%M:%S%.9f")
        )),
    })
}

/// The stamp of a document's export time as its format writes it (`[mapping] exported_at`), in the
/// formats of `source.updated_at`; `Err` says why the text is not one.
pub fn export_stamp(text: &str) -> Result<String, String> {
    updated_at(text).map(|at| format!("export:{}", at.format("%Y-%m-%dT%H:%M:%S%.9f")))
}

/// The stamp of an export file's modification time (UTC), for a folder source whose mapping has no
/// export time.
pub fn file_stamp(modified: SystemTime) -> String {
    let at: DateTime<Utc> = modified.into();
    format!("mtime:{}", at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.9f"))
}

/// Whether `incoming` is older than `stored`: both present, of the same kind, and `incoming` sorts
/// first. An equal stamp is not older (a correction the source did not restamp is stored).
pub fn is_older(incoming: Option<&str>, stored: Option<&str>) -> bool {
    match (incoming, stored) {
        (Some(incoming), Some(stored)) => kind(incoming) == kind(stored) && incoming < stored,
        _ => false,
    }
}

/// A stamp as people read it, for quarantine reasons: the kind prefix and padding removed.
pub fn shown(stamp: &str) -> String {
    let (kind, value) = stamp.split_once(':').unwrap_or(("", stamp));
    let trim_seq = |seq: &str| {
        let trimmed = seq.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        }
    };
    let trim_at = |at: &str| at.trim_end_matches('0').trim_end_matches('.').to_string();
    match kind {
        "seq" => format!("source.seq {}", trim_seq(value)),
        "at" => format!("source.updated_at {}", trim_at(value)),
        "export" => format!("export time {}", trim_at(value)),
        "mtime" => format!("file time {} UTC", trim_at(value)),
        _ => {
            let (at, seq) = value.split_once('/').unwrap_or((value, ""));
            format!(
                "source.updated_at {} / source.seq {}",
                trim_at(at),
                trim_seq(seq)
            )
        }
    }
}

fn kind(stamp: &str) -> &str {
    stamp.split_once(':').map_or("", |(kind, _)| kind)
}

fn updated_at(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.naive_utc());
    }
    for format in LOCAL_FORMATS {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at);
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    Err(
        "is not a date-time (RFC 3339, `YYYY-MM-DD HH:MM:SS`, `YYYYMMDDHHMMSS` or `YYYY-MM-DD`)"
            .into(),
    )
}

fn sequence(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a whole number of at most 20 digits".into());
    }
    text.parse::<u64>()
        .map_err(|_| "is not a whole number of at most 20 digits".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineage(updated_at: Option<&str>, seq: Option<&str>) -> SourceRef {
        SourceRef {
            name: "oa".into(),
            key: "A-1".into(),
            fetched_at: "2026-01-01T00:00:00Z".into(),
            updated_at: updated_at.map(str::to_string),
            seq: seq.map(str::to_string),
        }
    }

    fn stamp(updated_at: Option<&str>, seq: Option<&str>) -> Option<String> {
        source_stamp(&lineage(updated_at, seq)).unwrap()
    }

    #[test]
    fn stamps_sort_in_time_and_sequence_order_whatever_the_writing() {
        let early = stamp(Some("2026-10-30 09:00:00"), None);
        let late = stamp(Some("2026-11-07T09:00:00+08:00"), None);
        assert!(is_older(early.as_deref(), late.as_deref()));
        assert!(!is_older(late.as_deref(), early.as_deref()));
        assert!(!is_older(late.as_deref(), late.as_deref()));
        assert_eq!(stamp(Some("20261030090000"), None), early);
        assert_eq!(
            stamp(Some("2026-10-30T01:00:00Z"), None),
            stamp(Some("2026-10-30T09:00:00+08:00"), None)
        );
        // 9 sorts after 10 as text; the padded stamps do not.
        assert!(is_older(
            stamp(None, Some("9")).as_deref(),
            stamp(None, Some("10")).as_deref()
        ));
        assert_eq!(shown(&stamp(None, Some("10")).unwrap()), "source.seq 10");
        assert_eq!(
            shown(&early.unwrap()),
            "source.updated_at 2026-10-30T09:00:00"
        );
    }

    #[test]
    fn stamps_of_different_kinds_or_a_missing_one_are_not_compared() {
        let at = stamp(Some("2026-10-30"), None);
        let seq = stamp(None, Some("1"));
        assert!(!is_older(seq.as_deref(), at.as_deref()));
        assert!(!is_older(None, at.as_deref()));
        assert!(!is_older(at.as_deref(), None));
        assert_eq!(stamp(None, None), None);
    }

    #[test]
    fn export_and_file_times_are_stamps_of_their_own_kinds() {
        let early = export_stamp("2026-10-30 09:00:00").unwrap();
        let late = export_stamp("2026-11-07T09:00:00").unwrap();
        assert!(is_older(Some(&early), Some(&late)));
        assert_eq!(shown(&early), "export time 2026-10-30T09:00:00");
        assert!(export_stamp("last week").is_err());
        let base = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000);
        let file = file_stamp(base);
        let later_file = file_stamp(base + std::time::Duration::from_nanos(1_500));
        assert!(is_older(Some(&file), Some(&later_file)));
        assert_eq!(shown(&file), "file time 2026-09-21T14:13:20 UTC");
        // An export time, a file time and a source stamp are never compared with each other.
        let updated = stamp(Some("2027-01-01"), None).unwrap();
        assert!(!is_older(Some(&early), Some(&file)));
        assert!(!is_older(Some(&file), Some(&late)));
        assert!(!is_older(Some(&early), Some(&updated)));
    }

    #[test]
    fn unreadable_stamps_name_their_field() {
        assert_eq!(
            source_stamp(&lineage(Some("yesterday"), None))
                .unwrap_err()
                .0,
            "source.updated_at"
        );
        assert_eq!(
            source_stamp(&lineage(None, Some("-1"))).unwrap_err().0,
            "source.seq"
        );
        assert_eq!(
            source_stamp(&lineage(None, Some("123456789012345678901")))
                .unwrap_err()
                .0,
            "source.seq"
        );
    }
}
