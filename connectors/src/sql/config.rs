//! Configuration of a `sql` source: the keys (CONTRACT §2 plus this kind's own), their checks, and
//! the ready form the connector runs with.

use std::path::Path;
use std::time::Duration;

use dhub_mapping::ReadLimits;
use dhub_support::{redact_url, Secret, SecretString};
use serde::Deserialize;

/// `[[source]] kind = "sql"`: a department database table, view or query, read by an incremental
/// cursor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// The database: `postgres://…`, `mysql://…` (MariaDB, MySQL) or `sqlite://PATH` (relative to the
    /// config file). A secret: inline, `{ env = "NAME" }` or `{ file = "PATH" }`; never printed.
    pub url: Secret,
    /// The table (or view) to read, optionally `schema.table`. Exactly one of `table` and `query`.
    #[serde(default)]
    pub table: Option<String>,
    /// A `SELECT` whose rows are the records, without a trailing `;`. The source reads it as a
    /// subquery and adds the cursor condition, the order and the limit itself.
    #[serde(default)]
    pub query: Option<String>,
    /// Columns whose values only grow when a row changes, compared as a row value in this order:
    /// the first is the change time or change sequence, the last should be a unique key so that
    /// every row version has its own cursor values (`["updated_at", "case_no"]`).
    pub cursor: Vec<String>,
    /// Columns that name a row in messages and quarantine origins (`enforcement_cases[CASE-7]`);
    /// default: the last cursor column. Never name a column that holds personal data.
    #[serde(default)]
    pub row_key: Option<Vec<String>>,
    /// Postgres only: LISTEN on this channel; a NOTIFY (see `notify_trigger.sql`) wakes the source
    /// at once. Polling goes on as the fallback.
    #[serde(default)]
    pub notify: Option<String>,
    /// How often to look for new rows without a notification (the only trigger on MariaDB, MySQL
    /// and SQLite).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Rows read and stored per batch (one transaction of the state store each).
    #[serde(default = "default_batch_rows")]
    pub batch_rows: u64,
    /// The out-of-order window: the longest time between a row's cursor value being taken (with
    /// Postgres `now()`, the start of the writing transaction) and its commit. Rows that commit
    /// later than a newer row the source has already read are found by re-reading this window.
    /// 0 turns the re-read off (only for tables whose cursor values are assigned in commit order).
    #[serde(default = "default_overlap_ms")]
    pub overlap_ms: u64,
    /// How often the window is re-read for rows that committed late.
    #[serde(default = "default_resync_interval_ms")]
    pub resync_interval_ms: u64,
    /// How long to wait for a connection before the attempt counts as failed (and is retried).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// The folder a path column of the mapping's `[[documents]] file` is relative to (relative to
    /// the config file). Without it a row's documents are refused: a row can never name a file
    /// outside this folder.
    #[serde(default)]
    pub documents_dir: Option<std::path::PathBuf>,
}

fn default_poll_interval_ms() -> u64 {
    5000
}

fn default_batch_rows() -> u64 {
    500
}

fn default_overlap_ms() -> u64 {
    30_000
}

fn default_resync_interval_ms() -> u64 {
    5000
}

fn default_connect_timeout_ms() -> u64 {
    10_000
}

/// The most columns a cursor or row key may have.
const MAX_COLUMNS: usize = 4;
const DAY_MS: u64 = 86_400_000;

/// The database kinds the source reads, each through sqlx's own driver (the `Any` driver cannot
/// decode dates and decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    MySql,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A checked `sql` source, ready to connect.
#[derive(Debug, Clone)]
pub struct SqlSettings {
    pub backend: Backend,
    /// The URL with a relative SQLite path made absolute. Holds the password: only
    /// [`SqlSettings::shown_url`] goes into messages.
    pub url: SecretString,
    pub table: Option<String>,
    pub query: Option<String>,
    pub cursor: Vec<String>,
    pub row_key: Vec<String>,
    pub notify: Option<String>,
    pub poll_interval: Duration,
    pub batch_rows: usize,
    pub overlap: Duration,
    pub resync_interval: Duration,
    pub connect_timeout: Duration,
    /// `[source.limits]`: a column's text is at most `max_value_bytes`, a row's mapped columns
    /// together at most `max_record_bytes`; a row over either is held in quarantine.
    pub limits: ReadLimits,
    /// `documents_dir`, made absolute.
    pub documents_dir: Option<std::path::PathBuf>,
}

impl SqlSettings {
    /// The URL without its password.
    pub fn shown_url(&self) -> String {
        redact_url(self.url.expose())
    }

    /// What names the rows in origins: the table, or `query`.
    pub fn origin_table(&self) -> &str {
        self.table.as_deref().unwrap_or("query")
    }
}

impl SqlConfig {
    /// Every problem with the keys, without a location (the caller adds file and line). Resolves the
    /// URL secret, so a missing variable or file is found by `dhub check`; does not connect.
    pub fn check(&self, base_dir: &Path) -> Vec<String> {
        match self.settings(base_dir) {
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        }
    }

    /// The ready form, or every problem with the keys.
    pub fn settings(&self, base_dir: &Path) -> Result<SqlSettings, Vec<String>> {
        let mut errors = Vec::new();
        let url = match self.url.resolve(base_dir) {
            Ok(url) => match resolve_url(url.expose(), base_dir) {
                Ok((backend, url)) => Some((backend, SecretString::new(url))),
                Err(message) => {
                    errors.push(message);
                    None
                }
            },
            Err(message) => {
                errors.push(format!("url: {message}"));
                None
            }
        };
        match (&self.table, &self.query) {
            (Some(_), Some(_)) => errors.push(
                "give either `table` or `query`, not both (a query reads whatever tables it names)"
                    .to_string(),
            ),
            (None, None) => errors.push(
                "name the rows to read: `table = \"enforcement_cases\"` or `query = \"SELECT …\"`"
                    .to_string(),
            ),
            _ => {}
        }
        if let Some(table) = &self.table {
            let parts: Vec<&str> = table.split('.').collect();
            if parts.len() > 2 || parts.iter().any(|part| check_name(part).is_err()) {
                errors.push(format!(
                    "table = \"{table}\": write a table or view name, optionally as schema.table, without quotes"
                ));
            }
        }
        if let Some(query) = &self.query {
            let trimmed = query.trim();
            if trimmed.is_empty() {
                errors.push("query is empty".to_string());
            } else if trimmed.ends_with(';') {
                errors.push(
                    "query: remove the trailing `;` (the query is read as a subquery)".to_string(),
                );
            } else if query.contains('\0') {
                errors.push("query contains a NUL character".to_string());
            }
        }
        column_list("cursor", &self.cursor, &mut errors);
        if let Some(row_key) = &self.row_key {
            column_list("row_key", row_key, &mut errors);
        }
        if let Some(channel) = &self.notify {
            if channel.is_empty() || channel.len() > 63 || check_name(channel).is_err() {
                errors.push(format!(
                    "notify = \"{channel}\": a Postgres channel name of 1 to 63 bytes, without quotes"
                ));
            }
            if let Some((backend, _)) = &url {
                if *backend != Backend::Postgres {
                    errors.push(format!(
                        "notify: LISTEN/NOTIFY is a Postgres feature; a {} source is read by polling alone (remove `notify`)",
                        backend.name()
                    ));
                }
            }
        }
        in_range(
            "poll_interval_ms",
            self.poll_interval_ms,
            10,
            DAY_MS,
            &mut errors,
        );
        in_range("batch_rows", self.batch_rows, 1, 100_000, &mut errors);
        in_range("overlap_ms", self.overlap_ms, 0, DAY_MS, &mut errors);
        in_range(
            "resync_interval_ms",
            self.resync_interval_ms,
            10,
            DAY_MS,
            &mut errors,
        );
        in_range(
            "connect_timeout_ms",
            self.connect_timeout_ms,
            100,
            600_000,
            &mut errors,
        );
        match url {
            Some((backend, url)) if errors.is_empty() => Ok(SqlSettings {
                backend,
                url,
                table: self.table.clone(),
                query: self.query.clone(),
                cursor: self.cursor.clone(),
                row_key: self
                    .row_key
                    .clone()
                    .unwrap_or_else(|| self.cursor.last().cloned().into_iter().collect()),
                notify: self.notify.clone(),
                poll_interval: Duration::from_millis(self.poll_interval_ms),
                batch_rows: self.batch_rows as usize,
                overlap: Duration::from_millis(self.overlap_ms),
                resync_interval: Duration::from_millis(self.resync_interval_ms),
                connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                limits: ReadLimits::default(),
                documents_dir: self.documents_dir.as_ref().map(|dir| base_dir.join(dir)),
            }),
            _ => Err(errors),
        }
    }
}

fn in_range(key: &str, value: u64, min: u64, max: u64, errors: &mut Vec<String>) {
    if value < min || value > max {
        errors.push(format!("{key} = {value}: must be from {min} to {max}"));
    }
}

fn column_list(key: &str, columns: &[String], errors: &mut Vec<String>) {
    if columns.is_empty() || columns.len() > MAX_COLUMNS {
        errors.push(format!(
            "{key}: name 1 to {MAX_COLUMNS} columns, e.g. [\"updated_at\", \"case_no\"]"
        ));
    }
    for (i, column) in columns.iter().enumerate() {
        if check_name(column).is_err() {
            errors.push(format!(
                "{key}: `{column}` is not a column name (write it without quotes)"
            ));
        }
        if columns[..i].contains(column) {
            errors.push(format!("{key}: `{column}` is named twice"));
        }
    }
}

/// A table, column or channel name: anything the database allows inside quotes, except the quote
/// characters themselves and control characters (department tables may well have Chinese names).
fn check_name(name: &str) -> Result<(), ()> {
    let bad = |c: char| c == '"' || c == '`' || c == '.' || c.is_control();
    if name.trim().is_empty() || name.trim() != name || name.chars().any(bad) {
        return Err(());
    }
    Ok(())
}

/// The backend of a URL, and the URL with a relative SQLite path made absolute against the config
/// file's folder (like every other path in the config).
fn resolve_url(url: &str, base_dir: &Path) -> Result<(Backend, String), String> {
    let shown = redact_url(url);
    let (scheme, rest) = url.split_once(':').ok_or_else(|| {
        format!("url `{shown}`: write it as postgres://…, mysql://… or sqlite://PATH")
    })?;
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Ok((Backend::Postgres, url.to_string())),
        "mysql" | "mariadb" => Ok((
            Backend::MySql,
            // sqlx knows the scheme as mysql; MariaDB speaks the same protocol.
            format!("mysql:{rest}"),
        )),
        "sqlite" => {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let (file, params) = match path.split_once('?') {
                Some((file, params)) => (file, Some(params)),
                None => (path, None),
            };
            if file.is_empty() || file == ":memory:" {
                return Err(format!(
                    "url `{shown}`: name the department's SQLite database file (sqlite://PATH)"
                ));
            }
            let absolute = if Path::new(file).is_absolute() {
                Path::new(file).to_path_buf()
            } else {
                std::path::absolute(base_dir.join(file)).unwrap_or_else(|_| base_dir.join(file))
            };
            let mut resolved = format!("sqlite://{}", absolute.display());
            if let Some(params) = params {
                resolved.push('?');
                resolved.push_str(params);
            }
            Ok((Backend::Sqlite, resolved))
        }
        other => Err(format!(
            "url `{shown}`: the scheme `{other}` is not a database the sql source reads; use postgres://, mysql:// (MariaDB, MySQL) or sqlite://"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SqlConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_and_a_relative_sqlite_path() {
        let config = parse(
            "url = \"sqlite://cases/case.db?mode=ro\"\ntable = \"enforcement_cases\"\ncursor = [\"updated_at\", \"case_no\"]\n",
        );
        let settings = config.settings(Path::new("/etc/dhub")).unwrap();
        assert_eq!(settings.backend, Backend::Sqlite);
        assert_eq!(
            settings.url.expose(),
            "sqlite:///etc/dhub/cases/case.db?mode=ro"
        );
        assert_eq!(settings.row_key, ["case_no"]);
        assert_eq!(settings.poll_interval, Duration::from_secs(5));
        assert_eq!(settings.overlap, Duration::from_secs(30));
        assert_eq!(settings.batch_rows, 500);
        assert_eq!(settings.origin_table(), "enforcement_cases");
    }

    #[test]
    fn every_problem_is_reported_at_once_without_the_password() {
        let config = parse(
            r#"url = "mysql://root:s3cret@db/cases"
table = "enforcement_cases"
query = "SELECT * FROM cases;"
cursor = []
notify = "dhub_cases"
poll_interval_ms = 0
batch_rows = 0
overlap_ms = 100000000
"#,
        );
        let errors = config.check(Path::new("."));
        let all = errors.join("\n");
        for expected in [
            "either `table` or `query`",
            "trailing `;`",
            "cursor: name 1 to 4 columns",
            "notify: LISTEN/NOTIFY is a Postgres feature; a mysql source",
            "poll_interval_ms = 0: must be from 10 to 86400000",
            "batch_rows = 0: must be from 1 to 100000",
            "overlap_ms = 100000000",
        ] {
            assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
        }
        assert!(!all.contains("s3cret"), "{all}");
    }

    #[test]
    fn names_and_urls_are_checked() {
        let config = parse(
            "url = \"oracle://db/x\"\ntable = \"a.b.c\"\ncursor = [\"updated_at\", \"updated_at\", \"x\\\"y\"]\nrow_key = [\"\"]\n",
        );
        let all = config.check(Path::new(".")).join("\n");
        for expected in [
            "the scheme `oracle` is not a database",
            "table = \"a.b.c\"",
            "cursor: `updated_at` is named twice",
            "cursor: `x\"y` is not a column name",
            "row_key: `` is not a column name",
        ] {
            assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
        }
        let chinese =
            parse("url = \"postgres://h/db\"\ntable = \"执法.案件表\"\ncursor = [\"修改时间\"]\nnotify = \"dhub_cases\"\n");
        assert_eq!(chinese.check(Path::new(".")), Vec::<String>::new());
    }

    #[test]
    fn a_missing_secret_is_named() {
        let config = parse(
            "url = { env = \"DHUB_TEST_SURELY_UNSET_CASE_DB_URL\" }\ntable = \"t\"\ncursor = [\"c\"]\n",
        );
        let errors = config.check(Path::new("."));
        assert_eq!(
            errors,
            ["url: environment variable DHUB_TEST_SURELY_UNSET_CASE_DB_URL is not set"]
        );
    }
}
