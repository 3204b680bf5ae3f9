//! SQL text builders and row → struct decoding shared by [`crate::Store`] and [`crate::StoreTx`].
//!
//! All SQL is written once for both dialects: `$N` placeholders (sqlx-sqlite binds `$N` by
//! number, see `SqliteArguments::bind`), `ON CONFLICT … DO …`, `RETURNING`, `UPDATE … FROM
//! (VALUES …)` whose columns both engines name `column1`, `column2`, ….
//!
//! One exception: the multi-row statements use plain `?` on SQLite. SQLite keeps `$N` names in
//! a list that `sqlite3_bind_parameter_name` searches linearly, and sqlx asks for every
//! parameter's name on every execution, so a 7,000-parameter insert cost O(n²): 60–170 ms
//! instead of 10 ms per 1,000 rows.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::model::{
    AuditEntry, Backend, Entry, FeedState, OutboxOp, ParkedEntry, QuarantineEntry, QuarantineStage,
    QuarantineState, RecordVersion, VersionRow,
};

/// Rows per multi-row statement. Bounded by the engines' bind limits (SQLite 32,766,
/// Postgres 65,535) divided by the widest row (10 columns), with room to spare; beyond a few
/// hundred rows a bigger statement saves nothing measurable.
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` parameters (`(?, ?), (?, ?)` on SQLite,
/// see the module header); parameters are bound in that order.
pub(crate) fn values_list(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            push_param(&mut sql, backend, n);
        }
        sql.push(')');
    }
    sql
}

/// `$1, $2, …` (`?, ?, …` on SQLite) for an `IN (…)` list of `count` parameters, the
/// statement's only parameters.
pub(crate) fn param_list(backend: Backend, count: usize) -> String {
    let mut sql = String::with_capacity(count * 6);
    for n in 1..=count {
        if n > 1 {
            sql.push_str(", ");
        }
        push_param(&mut sql, backend, n);
    }
    sql
}

fn push_param(sql: &mut String, backend: Backend, n: usize) {
    match backend {
        Backend::Sqlite => sql.push('?'),
        Backend::Postgres => {
            sql.push('$');
            sql.push_str(&n.to_string());
        }
    }
}

/// The columns of `outbox_entries`, for [`entry`].
pub(crate) const ENTRY_COLUMNS: &str =
    "seq, record_id, version, op, platforms, payload, created_at_ms";

pub(crate) fn entry(row: &AnyRow) -> Result<Entry, StoreError> {
    let decode = || StoreError::db("read outbox entries");
    let seq: i64 = row.try_get("seq").map_err(decode())?;
    let op_text: String = row.try_get("op").map_err(decode())?;
    let op = OutboxOp::parse(&op_text).ok_or(StoreError::Corrupt {
        table: "outbox_entries",
        column: "op",
        key: seq.to_string(),
    })?;
    let platforms: String = row.try_get("platforms").map_err(decode())?;
    let payload: Vec<u8> = row.try_get("payload").map_err(decode())?;
    Ok(Entry {
        seq,
        record_id: row.try_get("record_id").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        op,
        platforms: split_platforms(&platforms),
        payload: payload.into(),
        created_at_ms: row.try_get("created_at_ms").map_err(decode())?,
    })
}

/// Platform names as stored: space-separated (names are config identifiers without spaces).
/// Of several items about one record, the one ranked highest (`rank`: its version or seq), one per
/// record, in record order. A multi-row upsert must touch each row once: Postgres refuses a second
/// touch ("ON CONFLICT DO UPDATE command cannot affect row a second time").
pub(crate) fn highest_per_record<'a, T>(
    items: &'a [T],
    record_id: impl Fn(&T) -> &str,
    rank: impl Fn(&T) -> i64,
) -> Vec<&'a T> {
    let mut highest: std::collections::BTreeMap<&str, &T> = std::collections::BTreeMap::new();
    for item in items {
        let slot = highest.entry(record_id(item)).or_insert(item);
        if rank(item) > rank(slot) {
            *slot = item;
        }
    }
    highest.into_values().collect()
}

pub(crate) fn join_platforms(platforms: &[String]) -> String {
    platforms.join(" ")
}

pub(crate) fn split_platforms(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

pub(crate) const FEED_STATE_COLUMNS: &str = "platform, record_id, version, op, seq, \
     kafka_partition, kafka_offset, acked_at_ms, first_acked_at_ms";

pub(crate) fn feed_state(row: &AnyRow) -> Result<FeedState, StoreError> {
    let decode = || StoreError::db("read feed state");
    let record_id: String = row.try_get("record_id").map_err(decode())?;
    let op_text: String = row.try_get("op").map_err(decode())?;
    let corrupt = |column| StoreError::Corrupt {
        table: "feed_state",
        column,
        key: record_id.clone(),
    };
    let op = OutboxOp::parse(&op_text).ok_or_else(|| corrupt("op"))?;
    let partition: i64 = row.try_get("kafka_partition").map_err(decode())?;
    Ok(FeedState {
        platform: row.try_get("platform").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        op,
        seq: row.try_get("seq").map_err(decode())?,
        partition: i32::try_from(partition).map_err(|_| corrupt("kafka_partition"))?,
        offset: row.try_get("kafka_offset").map_err(decode())?,
        acked_at_ms: row.try_get("acked_at_ms").map_err(decode())?,
        first_acked_at_ms: row.try_get("first_acked_at_ms").map_err(decode())?,
        record_id,
    })
}

pub(crate) const PARKED_COLUMNS: &str =
    "platform, seq, record_id, version, op, payload, reason, parked_at_ms, released_at_ms";

pub(crate) fn parked_entry(row: &AnyRow) -> Result<ParkedEntry, StoreError> {
    let decode = || StoreError::db("read parked entries");
    let seq: i64 = row.try_get("seq").map_err(decode())?;
    let op_text: String = row.try_get("op").map_err(decode())?;
    let op = OutboxOp::parse(&op_text).ok_or(StoreError::Corrupt {
        table: "outbox_parked",
        column: "op",
        key: seq.to_string(),
    })?;
    let payload: Vec<u8> = row.try_get("payload").map_err(decode())?;
    Ok(ParkedEntry {
        platform: row.try_get("platform").map_err(decode())?,
        seq,
        record_id: row.try_get("record_id").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        op,
        payload: payload.into(),
        reason: row.try_get("reason").map_err(decode())?,
        parked_at_ms: row.try_get("parked_at_ms").map_err(decode())?,
        released_at_ms: row.try_get("released_at_ms").map_err(decode())?,
    })
}

pub(crate) const VERSION_ROW_COLUMNS: &str =
    "record_id, latest_version, latest_hash, latest_status, retracted, platforms, source_stamp";

pub(crate) fn version_row(row: &AnyRow) -> Result<(String, VersionRow), StoreError> {
    let decode = || StoreError::db("read the latest version");
    let retracted: i64 = row.try_get("retracted").map_err(decode())?;
    let platforms: String = row.try_get("platforms").map_err(decode())?;
    Ok((
        row.try_get("record_id").map_err(decode())?,
        VersionRow {
            version: row.try_get("latest_version").map_err(decode())?,
            content_hash: row.try_get("latest_hash").map_err(decode())?,
            status: row.try_get("latest_status").map_err(decode())?,
            retracted: retracted != 0,
            platforms: split_platforms(&platforms),
            source_stamp: row.try_get("source_stamp").map_err(decode())?,
        },
    ))
}

pub(crate) const RECORD_VERSION_COLUMNS: &str = "record_id, version, content_hash, status, \
     record_json, mapping_name, mapping_version, source_name, origin, created_at_ms";

pub(crate) fn record_version(row: &AnyRow) -> Result<RecordVersion, StoreError> {
    let decode = || StoreError::db("read record versions");
    Ok(RecordVersion {
        record_id: row.try_get("record_id").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        content_hash: row.try_get("content_hash").map_err(decode())?,
        status: row.try_get("status").map_err(decode())?,
        record_json: row.try_get("record_json").map_err(decode())?,
        mapping_name: row.try_get("mapping_name").map_err(decode())?,
        mapping_version: row.try_get("mapping_version").map_err(decode())?,
        source_name: row.try_get("source_name").map_err(decode())?,
        origin: row.try_get("origin").map_err(decode())?,
        created_at_ms: row.try_get("created_at_ms").map_err(decode())?,
    })
}

pub(crate) const QUARANTINE_COLUMNS: &str = "id, source_name, origin, record_id, stage, reason, \
     payload, created_at_ms, state, resolved_at_ms";

pub(crate) fn quarantine_entry(row: &AnyRow) -> Result<QuarantineEntry, StoreError> {
    let decode = || StoreError::db("read quarantine entries");
    let id: i64 = row.try_get("id").map_err(decode())?;
    let corrupt = |column| StoreError::Corrupt {
        table: "quarantine",
        column,
        key: id.to_string(),
    };
    let stage: String = row.try_get("stage").map_err(decode())?;
    let state: String = row.try_get("state").map_err(decode())?;
    Ok(QuarantineEntry {
        id,
        source_name: row.try_get("source_name").map_err(decode())?,
        origin: row.try_get("origin").map_err(decode())?,
        record_id: row.try_get("record_id").map_err(decode())?,
        stage: QuarantineStage::parse(&stage).ok_or_else(|| corrupt("stage"))?,
        reason: row.try_get("reason").map_err(decode())?,
        payload: row.try_get("payload").map_err(decode())?,
        created_at_ms: row.try_get("created_at_ms").map_err(decode())?,
        state: QuarantineState::parse(&state).ok_or_else(|| corrupt("state"))?,
        resolved_at_ms: row.try_get("resolved_at_ms").map_err(decode())?,
    })
}

pub(crate) const AUDIT_COLUMNS: &str = "seq, at_ms, kind, record_id, detail, prev_hash, hash";

pub(crate) fn audit_entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let decode = || StoreError::db("read audit entries");
    Ok(AuditEntry {
        seq: row.try_get("seq").map_err(decode())?,
        at_ms: row.try_get("at_ms").map_err(decode())?,
        kind: row.try_get("kind").map_err(decode())?,
        record_id: row.try_get("record_id").map_err(decode())?,
        detail: row.try_get("detail").map_err(decode())?,
        prev_hash: row.try_get("prev_hash").map_err(decode())?,
        hash: row.try_get("hash").map_err(decode())?,
    })
}

/// Unix time in milliseconds, the store's one clock.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_across_rows() {
        assert_eq!(
            values_list(Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values_list(Backend::Postgres, 1, 1), "($1)");
        assert_eq!(values_list(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(param_list(Backend::Postgres, 3), "$1, $2, $3");
        assert_eq!(param_list(Backend::Sqlite, 2), "?, ?");
    }
}
