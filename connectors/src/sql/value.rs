//! One database value, as the drivers decode it, and the two things the source does with it: the
//! text a `row` mapping reads (DATE `2026-10-12`, TIMESTAMP `2026-10-12T08:30:00`, TIMESTAMPTZ
//! `2026-10-12T08:30:00Z`, DECIMAL `5000.00`, booleans `true`/`false`), and, for cursor columns, a
//! typed value that is stored in the source position and bound back into the next query exactly as
//! it was read (a cursor that lost a microsecond would skip or repeat rows).

use std::hash::{Hash, Hasher};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A value read from a row. `Debug` shows only the kind: text values are personal data.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Text(String),
    Int(i64),
    /// An unsigned integer above `i64::MAX` (MySQL `BIGINT UNSIGNED`).
    UInt(u64),
    Real(f64),
    /// Exact decimal text, as the database holds it (`5000.00`, never an exponent).
    Decimal(String),
    Bool(bool),
    Date(NaiveDate),
    Time(NaiveTime),
    /// A timestamp without a time zone (Postgres `TIMESTAMP`, MySQL `DATETIME`).
    Timestamp(NaiveDateTime),
    /// A point in time (Postgres `TIMESTAMPTZ`, MySQL `TIMESTAMP`, read in UTC).
    TimestampTz(DateTime<Utc>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value::{}(…)", self.kind())
    }
}

impl Value {
    /// The kind's name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Real(_) => "real",
            Value::Decimal(_) => "decimal",
            Value::Bool(_) => "bool",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamptz",
        }
    }

    /// The text a `row` mapping reads. Timestamps keep every fractional digit the database holds,
    /// and only those; a timestamp without a time zone has no offset (the database does not say
    /// which zone it is in, and guessing UTC would shift a Chinese department's local times by eight
    /// hours).
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Int(n) => n.to_string(),
            Value::UInt(n) => n.to_string(),
            // Rust prints the shortest text that reads back as the same float, never an exponent.
            Value::Real(x) => x.to_string(),
            Value::Decimal(text) => text.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Date(date) => date.format("%Y-%m-%d").to_string(),
            Value::Time(time) => time.format("%H:%M:%S%.f").to_string(),
            Value::Timestamp(at) => at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            Value::TimestampTz(at) => at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }
}

/// The identity of one row version in the source's memory: a 128-bit hash of its cursor values
/// (which the cursor's contract makes unique per row version). Two independent 64-bit SipHashes,
/// so a collision, which would make the re-read skip a row, is out of reach (about 2^-100 for a
/// million rows).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TupleId(u64, u64);

impl TupleId {
    pub fn of(values: &[Value]) -> TupleId {
        let text = serde_json::to_string(values).unwrap_or_else(|_| format!("{values:?}"));
        let half = |salt: u64| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            salt.hash(&mut hasher);
            text.hash(&mut hasher);
            hasher.finish()
        };
        TupleId(half(0x5eed_0001), half(0x5eed_0002))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_the_mapping_expects() {
        let date = NaiveDate::from_ymd_opt(2026, 10, 12).unwrap();
        let at = date.and_hms_micro_opt(8, 30, 5, 120_000).unwrap();
        let cases = [
            (Value::Date(date), "2026-10-12"),
            (
                Value::Timestamp(date.and_hms_opt(8, 30, 0).unwrap()),
                "2026-10-12T08:30:00",
            ),
            (Value::Timestamp(at), "2026-10-12T08:30:05.120"),
            (Value::TimestampTz(at.and_utc()), "2026-10-12T08:30:05.120Z"),
            (
                Value::TimestampTz(date.and_hms_micro_opt(8, 30, 5, 123_456).unwrap().and_utc()),
                "2026-10-12T08:30:05.123456Z",
            ),
            (Value::Decimal("5000.00".into()), "5000.00"),
            (Value::Int(-3), "-3"),
            (Value::UInt(u64::MAX), "18446744073709551615"),
            (Value::Real(0.5), "0.5"),
            (Value::Real(1e21), "1000000000000000000000"),
            (Value::Bool(true), "true"),
            (
                Value::Time(NaiveTime::from_hms_opt(23, 5, 1).unwrap()),
                "23:05:01",
            ),
        ];
        for (value, text) in cases {
            assert_eq!(value.to_text(), text, "{value:?}");
        }
    }

    #[test]
    fn a_stored_value_reads_back_exactly() {
        let at = NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 678_901)
            .unwrap();
        let values = vec![
            Value::Timestamp(at),
            Value::TimestampTz(at.and_utc()),
            Value::Decimal("12.30".into()),
            Value::Text("CASE-7".into()),
            Value::Int(42),
            Value::Real(0.1),
        ];
        let text = serde_json::to_string(&values).unwrap();
        let back: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, values);
        assert_eq!(TupleId::of(&back), TupleId::of(&values));
        assert_ne!(
            TupleId::of(&values[..1]),
            TupleId::of(&[Value::Timestamp(at + chrono::Duration::microseconds(1))])
        );
    }

    #[test]
    fn debug_hides_the_content() {
        let shown = format!("{:?}", Value::Text("张三丰".into()));
        assert!(!shown.contains("张三"), "{shown}");
    }
}
