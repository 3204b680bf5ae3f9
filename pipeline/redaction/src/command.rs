//! The body of `dhub redact` (CONTRACT §1): JSONL records in, one line per record out.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::Value;

use crate::{Outcome, Policy, Redaction};

/// The `reason` written for an input line that is not a JSON object.
pub const UNREADABLE: &str = "unreadable";

/// What one run of the command did, for its summary and for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactStats {
    /// Input lines that carried something (blank lines are skipped).
    pub records: u64,
    pub published: u64,
    /// Withheld records by reason code, `unreadable` included.
    pub withheld: BTreeMap<&'static str, u64>,
    /// Redactions by rule over all published records.
    pub redactions: BTreeMap<&'static str, u64>,
    /// 1-based numbers of the input lines that were not JSON objects.
    pub unreadable_lines: Vec<u64>,
}

/// Why `dhub redact` did not finish cleanly. No variant quotes input text.
#[derive(Debug, thiserror::Error)]
pub enum RedactCommandError {
    /// Reading the input failed; retrying helps only if the input was a flaky stream.
    #[error("cannot read the input at line {line}: {source}; check the input file")]
    Read {
        line: u64,
        #[source]
        source: std::io::Error,
    },
    /// Writing the output failed (a closed pipe, a full disk).
    #[error("cannot write the output: {source}; check that the output is writable")]
    Write {
        #[source]
        source: std::io::Error,
    },
    /// Every other line was processed, and each unreadable one written as withheld
    /// `unreadable`; the command must still fail so the operator looks at the input.
    #[error(
        "input line {} is not a JSON object ({} such line(s), each written as withheld `unreadable`): fix the input and run again",
        .lines.first().copied().unwrap_or_default(),
        .lines.len()
    )]
    Unreadable { lines: Vec<u64>, stats: RedactStats },
}

#[derive(Serialize)]
struct PublishedLine<'a> {
    record: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    redactions: Option<&'a [Redaction]>,
}

#[derive(Serialize)]
struct WithheldLine<'a> {
    record_id: &'a Value,
    withheld: bool,
    reason: &'a str,
    /// Only with `--report`: which fields and rules decided (never values).
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct UnreadableLine {
    line: u64,
    withheld: bool,
    reason: &'static str,
}

/// The `dhub redact` command body: reads JSONL records, writes one line per record exactly as
/// CONTRACT §1: `{"record":{…}}` or `{"record_id":…,"withheld":true,"reason":…}`; with `report`,
/// `"redactions":[{"rule","field","count"}]` on published records and `"detail"` on withheld ones.
///
/// Blank lines are skipped. A line that is not a JSON object is written as
/// `{"line":N,"withheld":true,"reason":"unreadable"}`, the rest of the input is still processed, and
/// the command then returns [`RedactCommandError::Unreadable`] naming the line, so the CLI exits 1.
pub fn run_redact_command(
    policy: &Policy,
    mut input: impl BufRead,
    mut output: impl Write,
    report: bool,
) -> Result<RedactStats, RedactCommandError> {
    let mut stats = RedactStats::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let read =
            input
                .read_until(b'\n', &mut buf)
                .map_err(|source| RedactCommandError::Read {
                    line: line_no + 1,
                    source,
                })?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let line = buf.trim_ascii();
        if line.is_empty() {
            continue;
        }
        stats.records += 1;
        let record = std::str::from_utf8(line)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .filter(Value::is_object);
        let Some(record) = record else {
            stats.unreadable_lines.push(line_no);
            *stats.withheld.entry(UNREADABLE).or_default() += 1;
            let out = UnreadableLine {
                line: line_no,
                withheld: true,
                reason: UNREADABLE,
            };
            write_line(&mut output, &out)?;
            continue;
        };
        match policy.redact(&record) {
            Outcome::Publish {
                record: redacted,
                redactions,
            } => {
                stats.published += 1;
                for r in &redactions {
                    *stats.redactions.entry(r.rule).or_default() += u64::from(r.count);
                }
                let out = PublishedLine {
                    record: &redacted,
                    redactions: report.then_some(redactions.as_slice()),
                };
                write_line(&mut output, &out)?;
            }
            Outcome::Withhold { reason, detail } => {
                *stats.withheld.entry(reason.code()).or_default() += 1;
                // The record id is the source name and key: an identity, not personal data. Any
                // other shape is not echoed.
                let record_id = match record.get("record_id") {
                    Some(id @ (Value::String(_) | Value::Number(_))) => id,
                    _ => &Value::Null,
                };
                let out = WithheldLine {
                    record_id,
                    withheld: true,
                    reason: reason.code(),
                    detail: report.then_some(detail.as_str()),
                };
                write_line(&mut output, &out)?;
            }
        }
    }
    output
        .flush()
        .map_err(|source| RedactCommandError::Write { source })?;
    if !stats.unreadable_lines.is_empty() {
        return Err(RedactCommandError::Unreadable {
            lines: stats.unreadable_lines.clone(),
            stats,
        });
    }
    Ok(stats)
}

fn write_line(output: &mut impl Write, line: &impl Serialize) -> Result<(), RedactCommandError> {
    serde_json::to_writer(&mut *output, line).map_err(|e| RedactCommandError::Write {
        source: std::io::Error::other(e),
    })?;
    output
        .write_all(b"\n")
        .map_err(|source| RedactCommandError::Write { source })
}
