//! The three databases behind one face: connection pools, the SQL dialect (quoting, placeholders,
//! the cursor comparison), and decoding each column with the database's own driver into a
//! [`Value`]. Everything above this file is the same for Postgres, MySQL/MariaDB and SQLite.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{
    PgConnectOptions, PgPool, PgPoolOptions, PgRow, PgTypeInfo, PgTypeKind, PgValueFormat, Postgres,
};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::types::BigDecimal;
use sqlx::{Column as _, Decode, Executor, Row, Statement as _, TypeInfo, ValueRef};

use super::config::{Backend, SqlSettings};
use super::value::Value;

/// How a column's values are decoded, decided once from the column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int16,
    Int32,
    Int64,
    UInt64,
    Float32,
    Float64,
    Decimal,
    Text,
    /// Bytes that should be UTF-8 text (MySQL strings with a binary collation, JSONB).
    Bytes,
    Jsonb,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    /// An integer that means a boolean (MySQL `TINYINT(1)`, SQLite `BOOLEAN`): 0/1 read as
    /// `false`/`true`, any other number as itself.
    IntBool,
    /// SQLite: whatever the value holds (INTEGER, REAL, TEXT); `DATETIME`/`TIMESTAMP` text is
    /// written with a `T` like the other databases' timestamps.
    SqliteAny {
        datetime: bool,
    },
    Unsupported,
}

impl Kind {
    /// Whether values of this kind can order rows and be bound back into a query.
    pub fn can_be_cursor(self) -> bool {
        !matches!(
            self,
            Kind::Bool
                | Kind::IntBool
                | Kind::Float32
                | Kind::Float64
                | Kind::Bytes
                | Kind::Jsonb
                | Kind::Uuid
                | Kind::Time
                | Kind::Unsupported
        )
    }
}

/// A column of the rows, as the database describes it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// The database's name of the type (`TIMESTAMP`, `VARCHAR`, `DECIMAL`).
    pub type_name: String,
    pub kind: Kind,
}

/// One cell: a value, NULL (`None`), or why it cannot be read (naming the type, never the value).
pub type Cell = Result<Option<Value>, String>;

/// Why a database call failed.
#[derive(Debug)]
pub enum DbError {
    /// Down, unreachable, busy, timed out: waiting and trying again helps.
    Unavailable(String),
    /// The statement itself is refused (no such table or column, no permission, bad credentials, a
    /// query that does not parse): someone has to fix the database or the config.
    Refused(String),
}

impl DbError {
    pub fn message(&self) -> &str {
        match self {
            DbError::Unavailable(message) | DbError::Refused(message) => message,
        }
    }
}

/// A pool of the source's database.
#[derive(Clone)]
pub enum Db {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// The pool's size: one connection reads, one spare for a re-read while a read's rows are held.
const POOL_SIZE: u32 = 2;

impl Db {
    /// A pool that connects on first use, so a database that is down at start is waited for like
    /// one that goes down later.
    pub fn connect_lazy(settings: &SqlSettings) -> Result<Db, String> {
        let url = settings.url.expose();
        let invalid =
            |error: sqlx::Error| format!("url `{}` cannot be used: {error}", settings.shown_url());
        Ok(match settings.backend {
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .application_name("dhub");
                Db::Postgres(
                    PgPoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(settings.connect_timeout)
                        .connect_lazy_with(options),
                )
            }
            Backend::MySql => {
                // sqlx sets the session time zone to UTC, so TIMESTAMP columns read as UTC instants.
                let options = MySqlConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .charset("utf8mb4");
                Db::MySql(
                    MySqlPoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(settings.connect_timeout)
                        .connect_lazy_with(options),
                )
            }
            Backend::Sqlite => {
                // Never creates the file: a wrong path must be an error, not an empty database.
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .create_if_missing(false)
                    .busy_timeout(settings.connect_timeout);
                Db::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(settings.connect_timeout)
                        .connect_lazy_with(options),
                )
            }
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Postgres(_) => Backend::Postgres,
            Db::MySql(_) => Backend::MySql,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Postgres(pool) => pool.close().await,
            Db::MySql(pool) => pool.close().await,
            Db::Sqlite(pool) => pool.close().await,
        }
    }

    /// The columns `sql` returns, with their types, without running it.
    pub async fn columns(&self, sql: &str) -> Result<Vec<ColumnInfo>, DbError> {
        let backend = self.backend();
        let fail = |error| classify(backend, error);
        Ok(match self {
            Db::Postgres(pool) => pool
                .prepare(sql)
                .await
                .map_err(fail)?
                .columns()
                .iter()
                .map(|c| info(c.name(), c.type_info().name(), pg_kind(c.type_info())))
                .collect(),
            Db::MySql(pool) => pool
                .prepare(sql)
                .await
                .map_err(fail)?
                .columns()
                .iter()
                .map(|c| {
                    info(
                        c.name(),
                        c.type_info().name(),
                        mysql_kind(c.type_info().name()),
                    )
                })
                .collect(),
            Db::Sqlite(pool) => pool
                .prepare(sql)
                .await
                .map_err(fail)?
                .columns()
                .iter()
                .map(|c| {
                    let declared = c.type_info().name();
                    let kind = match declared {
                        "BOOLEAN" => Kind::IntBool,
                        _ => Kind::SqliteAny {
                            datetime: declared == "DATETIME",
                        },
                    };
                    info(c.name(), declared, kind)
                })
                .collect(),
        })
    }

    /// Runs `sql` with `params` and decodes every column of every row by `kinds` (one per column,
    /// in order).
    pub async fn rows(
        &self,
        sql: &str,
        params: &[Value],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Cell>>, DbError> {
        let backend = self.backend();
        let fail = |error| classify(backend, error);
        match self {
            Db::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = bind_pg(query, param)?;
                }
                let rows = query.fetch_all(pool).await.map_err(fail)?;
                Ok(rows
                    .iter()
                    .map(|row| decode_row(row, kinds, pg_cell))
                    .collect())
            }
            Db::MySql(pool) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = bind_mysql(query, param)?;
                }
                let rows = query.fetch_all(pool).await.map_err(fail)?;
                Ok(rows
                    .iter()
                    .map(|row| decode_row(row, kinds, mysql_cell))
                    .collect())
            }
            Db::Sqlite(pool) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = bind_sqlite(query, param)?;
                }
                let rows = query.fetch_all(pool).await.map_err(fail)?;
                Ok(rows
                    .iter()
                    .map(|row| decode_row(row, kinds, sqlite_cell))
                    .collect())
            }
        }
    }

    /// A single whole number (`SELECT COUNT(*) …`).
    pub async fn count(&self, sql: &str) -> Result<i64, DbError> {
        let backend = self.backend();
        let fail = |error| classify(backend, error);
        match self {
            Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .map_err(fail),
            Db::MySql(pool) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .map_err(fail),
            Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .map_err(fail),
        }
    }
}

fn info(name: &str, type_name: &str, kind: Kind) -> ColumnInfo {
    ColumnInfo {
        name: name.to_string(),
        type_name: type_name.to_string(),
        kind,
    }
}

fn decode_row<R>(row: &R, kinds: &[Kind], cell: fn(&R, usize, Kind) -> Cell) -> Vec<Cell> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| cell(row, i, *kind))
        .collect()
}

/// Whether an error can pass by itself. SQLSTATE classes 42 (syntax, no such table or column, no
/// permission), 28 (authentication), 3D (no such database), 0A (not supported) and 22 (bad data in
/// the statement) need a person; SQLite's plain SQLITE_ERROR (1), CANTOPEN (14), NOTADB (26) too.
fn classify(backend: Backend, error: sqlx::Error) -> DbError {
    let message = error.to_string();
    match &error {
        sqlx::Error::Database(database) => {
            let code = database.code().map(|c| c.to_string()).unwrap_or_default();
            let refused = match backend {
                Backend::Postgres | Backend::MySql => ["42", "28", "3D", "0A", "22"]
                    .iter()
                    .any(|class| code.starts_with(class)),
                Backend::Sqlite => matches!(code.as_str(), "1" | "14" | "26"),
            };
            if refused {
                DbError::Refused(message)
            } else {
                DbError::Unavailable(message)
            }
        }
        sqlx::Error::Configuration(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_) => DbError::Refused(message),
        _ => DbError::Unavailable(message),
    }
}

// --- the dialect ---

/// SQL text for one backend.
#[derive(Debug, Clone, Copy)]
pub struct Dialect(pub Backend);

impl Dialect {
    /// A quoted identifier. Names were checked to hold no quote character.
    pub fn quote(self, name: &str) -> String {
        match self.0 {
            Backend::MySql => format!("`{name}`"),
            Backend::Postgres | Backend::Sqlite => format!("\"{name}\""),
        }
    }

    /// `schema.table` quoted part by part.
    pub fn quote_path(self, path: &str) -> String {
        path.split('.')
            .map(|part| self.quote(part))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A statement being written, with its parameters.
pub struct Sql {
    dialect: Dialect,
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    pub fn new(dialect: Dialect, text: impl Into<String>) -> Sql {
        Sql {
            dialect,
            text: text.into(),
            params: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Adds a parameter and writes its placeholder.
    pub fn bind(&mut self, value: &Value) -> &mut Sql {
        self.params.push(value.clone());
        match self.dialect.0 {
            Backend::Postgres => {
                let n = self.params.len();
                self.text.push_str(&format!("${n}"));
            }
            Backend::MySql | Backend::Sqlite => self.text.push('?'),
        }
        self
    }

    /// `(c1, c2, …) > (v1, v2, …)`, the cursor comparison as a row value. Postgres and SQLite
    /// compare row values natively (and Postgres walks the cursor index with it); MariaDB does not
    /// use an index for a row-value comparison, so it gets the same condition spelled out:
    /// `c1 > v1 OR (c1 = v1 AND c2 > v2) …`.
    pub fn after(&mut self, columns: &[String], values: &[Value]) -> &mut Sql {
        let quoted: Vec<String> = columns.iter().map(|c| self.dialect.quote(c)).collect();
        if columns.len() == 1 {
            self.push(&quoted[0]).push(" > ").bind(&values[0]);
            return self;
        }
        match self.dialect.0 {
            Backend::Postgres | Backend::Sqlite => {
                self.push(&format!("({}) > (", quoted.join(", ")));
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.bind(value);
                }
                self.push(")");
            }
            Backend::MySql => {
                self.push("(");
                for i in 0..columns.len() {
                    if i > 0 {
                        self.push(" OR ");
                    }
                    self.push("(");
                    for j in 0..i {
                        self.push(&quoted[j])
                            .push(" = ")
                            .bind(&values[j])
                            .push(" AND ");
                    }
                    self.push(&quoted[i]).push(" > ").bind(&values[i]).push(")");
                }
                self.push(")");
            }
        }
        self
    }
}

// --- binding ---

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;
type MySqlQuery<'q> = sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments>;
type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn unbindable(value: &Value) -> DbError {
    DbError::Refused(format!(
        "a stored cursor value of kind {} cannot be compared in this database; the cursor columns' types changed? (delete the source's position to read from the start)",
        value.kind()
    ))
}

fn decimal(text: &str) -> Result<BigDecimal, DbError> {
    BigDecimal::from_str(text).map_err(|_| {
        DbError::Refused("a stored decimal cursor value is not a decimal number".to_string())
    })
}

fn bind_pg<'q>(query: PgQuery<'q>, value: &Value) -> Result<PgQuery<'q>, DbError> {
    Ok(match value.clone() {
        Value::Text(text) => query.bind(text),
        Value::Int(n) => query.bind(n),
        Value::Decimal(text) => query.bind(decimal(&text)?),
        Value::Date(date) => query.bind(date),
        Value::Timestamp(at) => query.bind(at),
        Value::TimestampTz(at) => query.bind(at),
        other => return Err(unbindable(&other)),
    })
}

fn bind_mysql<'q>(query: MySqlQuery<'q>, value: &Value) -> Result<MySqlQuery<'q>, DbError> {
    Ok(match value.clone() {
        Value::Text(text) => query.bind(text),
        Value::Int(n) => query.bind(n),
        Value::UInt(n) => query.bind(n),
        Value::Decimal(text) => query.bind(decimal(&text)?),
        Value::Date(date) => query.bind(date),
        Value::Timestamp(at) => query.bind(at),
        Value::TimestampTz(at) => query.bind(at),
        other => return Err(unbindable(&other)),
    })
}

fn bind_sqlite<'q>(query: SqliteQuery<'q>, value: &Value) -> Result<SqliteQuery<'q>, DbError> {
    Ok(match value.clone() {
        Value::Text(text) => query.bind(text),
        Value::Int(n) => query.bind(n),
        Value::Real(x) => query.bind(x),
        other => return Err(unbindable(&other)),
    })
}

// --- decoding ---

fn unreadable(type_name: &str, error: impl std::fmt::Display) -> String {
    format!("its {type_name} value cannot be read ({error})")
}

fn pg_kind(type_info: &PgTypeInfo) -> Kind {
    match type_info.kind() {
        PgTypeKind::Enum(_) => return Kind::Text,
        PgTypeKind::Domain(base) => return pg_kind(base),
        _ => {}
    }
    match type_info.name().to_ascii_uppercase().as_str() {
        "BOOL" => Kind::Bool,
        "INT2" => Kind::Int16,
        "INT4" => Kind::Int32,
        "INT8" => Kind::Int64,
        "FLOAT4" => Kind::Float32,
        "FLOAT8" => Kind::Float64,
        "NUMERIC" => Kind::Decimal,
        "TEXT" | "VARCHAR" | "CHAR" | "NAME" | "\"CHAR\"" | "CITEXT" | "JSON" | "XML" => Kind::Text,
        "JSONB" => Kind::Jsonb,
        "UUID" => Kind::Uuid,
        "DATE" => Kind::Date,
        "TIME" => Kind::Time,
        "TIMESTAMP" => Kind::Timestamp,
        "TIMESTAMPTZ" => Kind::TimestampTz,
        _ => Kind::Unsupported,
    }
}

fn pg_cell(row: &PgRow, i: usize, kind: Kind) -> Cell {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    let type_name = raw.type_info().name().to_string();
    let fail = |error| unreadable(&type_name, error);
    let value = match kind {
        Kind::Bool => Value::Bool(<bool as Decode<Postgres>>::decode(raw).map_err(fail)?),
        Kind::Int16 => Value::Int(<i16 as Decode<Postgres>>::decode(raw).map_err(fail)?.into()),
        Kind::Int32 => Value::Int(<i32 as Decode<Postgres>>::decode(raw).map_err(fail)?.into()),
        Kind::Int64 => Value::Int(<i64 as Decode<Postgres>>::decode(raw).map_err(fail)?),
        Kind::Float32 => float32(<f32 as Decode<Postgres>>::decode(raw).map_err(fail)?),
        Kind::Float64 => Value::Real(<f64 as Decode<Postgres>>::decode(raw).map_err(fail)?),
        Kind::Decimal => Value::Decimal(
            <BigDecimal as Decode<Postgres>>::decode(raw)
                .map_err(fail)?
                .to_plain_string(),
        ),
        // Enums and text-like types are their text in both wire formats.
        Kind::Text => Value::Text(raw.as_str().map_err(fail)?.to_string()),
        Kind::Jsonb => {
            let bytes = raw.as_bytes().map_err(fail)?;
            let text = match raw.format() {
                // The binary form is a version byte (1) and the JSON text.
                PgValueFormat::Binary => bytes.get(1..).unwrap_or_default(),
                PgValueFormat::Text => bytes,
            };
            Value::Text(String::from_utf8(text.to_vec()).map_err(|e| unreadable(&type_name, e))?)
        }
        Kind::Uuid => match raw.format() {
            PgValueFormat::Binary => Value::Text(
                uuid_text(raw.as_bytes().map_err(fail)?).map_err(|e| unreadable(&type_name, e))?,
            ),
            PgValueFormat::Text => Value::Text(raw.as_str().map_err(fail)?.to_string()),
        },
        Kind::Date => Value::Date(<NaiveDate as Decode<Postgres>>::decode(raw).map_err(fail)?),
        Kind::Time => Value::Time(<NaiveTime as Decode<Postgres>>::decode(raw).map_err(fail)?),
        Kind::Timestamp => {
            Value::Timestamp(<NaiveDateTime as Decode<Postgres>>::decode(raw).map_err(fail)?)
        }
        Kind::TimestampTz => {
            Value::TimestampTz(<DateTime<Utc> as Decode<Postgres>>::decode(raw).map_err(fail)?)
        }
        _ => {
            return Err(format!(
                "its type {type_name} is not one the sql source reads"
            ))
        }
    };
    Ok(Some(value))
}

fn uuid_text(bytes: &[u8]) -> Result<String, String> {
    if bytes.len() != 16 {
        return Err(format!("{} bytes instead of 16", bytes.len()));
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// A 4-byte float as the decimal text it was written as (`0.1`, not `0.10000000149011612`).
fn float32(x: f32) -> Value {
    Value::Real(x.to_string().parse().unwrap_or(f64::from(x)))
}

fn mysql_kind(type_name: &str) -> Kind {
    match type_name {
        "BOOLEAN" => Kind::IntBool,
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" | "TINYINT UNSIGNED"
        | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => Kind::Int64,
        "BIGINT UNSIGNED" => Kind::UInt64,
        "FLOAT" => Kind::Float32,
        "DOUBLE" => Kind::Float64,
        "DECIMAL" => Kind::Decimal,
        "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
        | "JSON" => Kind::Text,
        // A binary collation sets the binary flag on text columns too: read the bytes as UTF-8.
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => Kind::Bytes,
        "DATE" => Kind::Date,
        "TIME" => Kind::Time,
        "DATETIME" => Kind::Timestamp,
        "TIMESTAMP" => Kind::TimestampTz,
        _ => Kind::Unsupported,
    }
}

fn mysql_cell(row: &MySqlRow, i: usize, kind: Kind) -> Cell {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    let type_name = raw.type_info().name().to_string();
    let fail = |error| unreadable(&type_name, error);
    let value = match kind {
        Kind::Int64 | Kind::IntBool => {
            Value::Int(<i64 as Decode<MySql>>::decode(raw).map_err(fail)?)
        }
        Kind::UInt64 => {
            let n = <u64 as Decode<MySql>>::decode(raw).map_err(fail)?;
            i64::try_from(n).map_or(Value::UInt(n), Value::Int)
        }
        Kind::Float32 => float32(<f32 as Decode<MySql>>::decode(raw).map_err(fail)?),
        Kind::Float64 => Value::Real(<f64 as Decode<MySql>>::decode(raw).map_err(fail)?),
        Kind::Decimal => Value::Decimal(
            <BigDecimal as Decode<MySql>>::decode(raw)
                .map_err(fail)?
                .to_plain_string(),
        ),
        Kind::Text | Kind::Bytes => {
            let bytes = <&[u8] as Decode<MySql>>::decode(raw).map_err(fail)?;
            Value::Text(
                std::str::from_utf8(bytes)
                    .map_err(|_| unreadable(&type_name, "bytes that are not UTF-8 text"))?
                    .to_string(),
            )
        }
        // A zero date (`0000-00-00`), which MariaDB stores unless NO_ZERO_DATE is set, is no date.
        Kind::Date => Value::Date(<NaiveDate as Decode<MySql>>::decode(raw).map_err(fail)?),
        Kind::Time => Value::Time(<NaiveTime as Decode<MySql>>::decode(raw).map_err(fail)?),
        Kind::Timestamp => {
            Value::Timestamp(<NaiveDateTime as Decode<MySql>>::decode(raw).map_err(fail)?)
        }
        Kind::TimestampTz => {
            Value::TimestampTz(<DateTime<Utc> as Decode<MySql>>::decode(raw).map_err(fail)?)
        }
        _ => {
            return Err(format!(
                "its type {type_name} is not one the sql source reads"
            ))
        }
    };
    Ok(Some(value))
}

fn sqlite_cell(row: &SqliteRow, i: usize, _kind: Kind) -> Cell {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    // SQLite types values, not columns: decode what this value holds.
    let held = raw.type_info().name().to_string();
    let fail = |error| unreadable(&held, error);
    let value = match held.as_str() {
        "INTEGER" | "BOOLEAN" => Value::Int(<i64 as Decode<Sqlite>>::decode(raw).map_err(fail)?),
        "REAL" => Value::Real(<f64 as Decode<Sqlite>>::decode(raw).map_err(fail)?),
        "TEXT" | "DATE" | "TIME" | "DATETIME" => {
            Value::Text(<String as Decode<Sqlite>>::decode(raw).map_err(fail)?)
        }
        _ => {
            return Err(format!(
                "it holds a {held} value, which the sql source does not read"
            ))
        }
    };
    Ok(Some(value))
}

/// The text a `row` mapping reads for a value of this column.
pub fn mapping_text(kind: Kind, value: &Value) -> String {
    match (kind, value) {
        (Kind::IntBool, Value::Int(0)) => "false".to_string(),
        (Kind::IntBool, Value::Int(1)) => "true".to_string(),
        (Kind::SqliteAny { datetime: true }, Value::Text(text)) => sqlite_datetime(text),
        _ => value.to_text(),
    }
}

/// SQLite keeps timestamps as the text they were written as, `2026-09-08 16:20:00` most often;
/// written with a `T` they read like every other database's timestamps. Anything else is left as
/// it is (the mapping decides what it accepts).
fn sqlite_datetime(text: &str) -> String {
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Value::Timestamp(at).to_text();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_cursor_comparison_in_each_dialect() {
        let values = [Value::Int(1), Value::Text("A".into())];
        let cols = columns(&["updated_at", "case_no"]);
        let mut pg = Sql::new(Dialect(Backend::Postgres), "WHERE ");
        pg.after(&cols, &values);
        assert_eq!(pg.text, "WHERE (\"updated_at\", \"case_no\") > ($1, $2)");
        let mut my = Sql::new(Dialect(Backend::MySql), "");
        my.after(&cols, &values);
        assert_eq!(
            my.text,
            "((`updated_at` > ?) OR (`updated_at` = ? AND `case_no` > ?))"
        );
        assert_eq!(my.params.len(), 3);
        let mut one = Sql::new(Dialect(Backend::Sqlite), "");
        one.after(&cols[..1], &values[..1]);
        assert_eq!(one.text, "\"updated_at\" > ?");
        assert_eq!(
            Dialect(Backend::Postgres).quote_path("dept.cases"),
            "\"dept\".\"cases\""
        );
    }

    #[test]
    fn sqlite_timestamps_and_booleans_read_like_the_others() {
        assert_eq!(
            mapping_text(
                Kind::SqliteAny { datetime: true },
                &Value::Text("2026-09-08 16:20:00".into())
            ),
            "2026-09-08T16:20:00"
        );
        assert_eq!(
            mapping_text(
                Kind::SqliteAny { datetime: true },
                &Value::Text("soon".into())
            ),
            "soon"
        );
        assert_eq!(mapping_text(Kind::IntBool, &Value::Int(1)), "true");
        assert_eq!(mapping_text(Kind::IntBool, &Value::Int(2)), "2");
        assert_eq!(mapping_text(Kind::Int64, &Value::Int(1)), "1");
    }

    #[test]
    fn uuids_print_in_their_usual_form() {
        let bytes: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            uuid_text(&bytes).unwrap(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert!(uuid_text(&bytes[..3]).is_err());
    }
}
