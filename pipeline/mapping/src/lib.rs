//! Declarative mappings from department systems to `disclosure.v1` records.
//!
//! Each department system exports its enforcement cases in its own shape: GBK XML with Chinese
//! element names and amounts in 万元, UTF-8 XML with numeric codes, JSON, CSV, Excel sheets in the
//! national 双公示 template, rows of a case database. A *mapping* is one TOML file per system (in
//! `mappings/`) that says, field by field, how a case in that shape becomes a `disclosure.v1`
//! record (CONTRACT §3). This crate loads a mapping once — parsed, checked and compiled into a
//! ready form, with every mistake reported as `path:line: message` — then splits source documents
//! into source records (or takes records that arrive one by one: a database row, a parsed JSON
//! message) and maps each record.
//!
//! ```no_run
//! # use dhub_mapping::{Mapping, MapContext};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mapping = Mapping::load("mappings/finance-oa.toml".as_ref())?;
//! let bytes = std::fs::read("export.xml")?;
//! let context = MapContext { source_name: "finance-bureau-oa".into(), fetched_at: "2026-01-01T00:00:00Z".into() };
//! for record in mapping.read_document(&bytes, "export.xml")? {
//!     let normalized = mapping.apply(&record, &context)?;   // a disclosure.v1 object, minus `version`
//!     println!("{normalized}");
//! }
//! # Ok(()) }
//! ```
//!
//! Records that do not come as a document: [`Mapping::row_record`] (a database row, for a `row`
//! mapping; [`Mapping::columns`] lists the columns it reads) and [`Mapping::json_record`] (a JSON
//! object already parsed, for a `json` / `jsonl` mapping).
//!
//! # Layout
//!
//! - `lib.rs`: the public API ([`Mapping`], [`MapContext`], [`SourceFormat`]) and this format reference.
//! - `compile.rs`: mapping file → [`Mapping`]; all validation of mapping files lives here.
//! - `toml_tree.rs`: the TOML file as a tree with a line on every key and value (via `toml_edit`).
//! - `targets.rs`: the disclosure.v1 fields a mapping may fill, with their shapes.
//! - `plan.rs`: compiled field rules (paths, constants, code tables, conditions) and their evaluation.
//! - `convert.rs`: amounts (元/万元 → `"5000.00"`, decimal arithmetic on text) and dates.
//! - `record.rs`: [`SourceRecord`], the owned record tree, path lookups, the raw JSON form for quarantine.
//! - `document/`: bytes → records: `decode.rs` (encodings, line of a bad byte), `xml.rs`, `json.rs`
//!   (JSON and JSONL), `csv.rs`, `xlsx.rs` (Excel workbooks, via calamine); each checks the
//!   [`ReadLimits`] as it reads; `row.rs` (database rows); `mod.rs` (dispatch by format, parsed JSON
//!   objects).
//! - `error.rs`: [`MappingErrors`], [`DocumentError`], [`RecordError`].
//! - `limits.rs`: [`ReadLimits`], what a document may hold before it is refused.
//! - `tests/golden/<case>/`: one folder per end-to-end case, run by `tests/golden.rs` (the Excel
//!   inputs are written by `tests/golden/make_xlsx.py`).
//! - `tests/samples.rs`: every sample in `mappings/samples/` maps (and validates) as expected.
//! - `tests/hostile.rs`: regression tests for hostile input (deep nesting, attribute floods, NUL);
//!   `tests/fuzz.rs`: property tests over reading and mapping (`PROPTEST_CASES` sets the count).
//!
//! # Mapping file format
//!
//! ```toml
//! [mapping]
//! name = "market-supervision"   # required
//! version = "1"                 # required, a string; recorded in each record's lineage
//! format = "xml"                # required: xml | json | jsonl | csv | xlsx | row
//! records = "CaseExport/Case"   # see below
//! key = { path = "@id" }        # required: the case's id in the source system
//! encoding = "GBK"              # optional, see "Encodings" (not for xlsx and row)
//! delimiter = ","               # optional, csv only (one ASCII character, e.g. "\t")
//! sheet = "行政处罚"            # optional, xlsx only: the sheet to read (default: the first)
//! exported_at = "CaseExport/@exportedAt"  # optional, xml only: the root attribute saying when the
//!                               # export was made; a record without a source stamp takes it as its age
//!
//! [fields]                      # one entry per disclosure.v1 field
//! category = { path = "CaseType", codes = "case_type", required = true }
//! "agency.name" = { path = "Org" }
//! penalty_kinds = { path = "PenaltyTypes/Type", list = true, codes = "penalty_kind" }
//! fine_amount = { path = "FineYuan", amount = "yuan" }
//! decided_on = { path = "DecisionDate", date = "%Y%m%d" }
//!
//! [codes.case_type]             # a code table: source code = output value
//! "CF" = "penalty"
//! ```
//!
//! ## `[mapping]`
//!
//! - `records` — which part of a document is one record.
//!   - **xml** (required): the element path from the root element to a record element,
//!     `"执法信息导出/案件"`. The root must be the first element of the path (else the document is
//!     rejected: it is probably the wrong mapping); every element at the path is a record; a file
//!     with none is rejected. `records = "案件"` makes the root itself the one record.
//!   - **json** (optional, default `""`, the whole document): a JSON pointer to an array of record
//!     objects, or to one record object. An empty array is zero records, not an error.
//!   - **jsonl** / **csv** / **xlsx** / **row**: not allowed; every non-blank line / every row after
//!     the header / every database row is a record.
//! - `key` — `{ path = "…" }`, or `{ concat = [...], separator = "…" }` (see below). Every record
//!   must have a key; `record_id` is `"<source name>:<key>"`.
//!
//! ## Paths
//!
//! A `path` is read relative to the record, in the syntax of the format:
//!
//! | format | path | means |
//! |---|---|---|
//! | xml | `a/b` | the text of every `<b>` inside every `<a>` in the record element |
//! | xml | `a/b/@c` | attribute `c` of those elements; `@c` alone: an attribute of the record element |
//! | xml | `.` | the record element's own text |
//! | json, jsonl | `/a/b` | a JSON pointer (RFC 6901) into the record object |
//! | csv, xlsx | `列名` | the column with that header name (checked against each file's header) |
//! | row | `case_no` | the column of that name (a plain name, no `/`; checked against each row) |
//!
//! Values are trimmed; an empty value (empty element, empty column or cell, `""`, `null`, SQL NULL)
//! counts as absent. JSON numbers and booleans are read as their text (`0.5`, `true`). A path may
//! find several values (repeated XML elements, a JSON array): that is only allowed for list fields
//! (`list = true`).
//!
//! ## Formats without a text file
//!
//! - **xlsx** — an Excel workbook (`.xlsx`; not the old `.xls`). The first sheet is read, or the one
//!   `sheet` names. Its first non-empty row is the header; every later row with a value under a
//!   named column is a record, whose line is its row number in the sheet. Cells are read as the text
//!   a person sees: strings trimmed, whole numbers without `.0` (`5000`), other numbers in their
//!   shortest decimal form (`0.5`, `0.0125`, never an exponent), date cells (Excel serial days
//!   formatted as dates, ISO date cells) as `YYYY-MM-DD` (a time of day is dropped), booleans
//!   `true`/`false`. A cell holding an error value (`#N/A`, `#VALUE!`) fails the record that reads
//!   it, naming the cell (`行政处罚!T6`). Give date fields the formats of both kinds, e.g.
//!   `date = ["%Y-%m-%d", "%Y年%m月%d日"]`: a date typed as text keeps its own form. A file that is
//!   not an `.xlsx` workbook, is encrypted, lacks the sheet, or holds more than 100 000 rows or
//!   5 000 000 filled cells is rejected as a whole.
//! - **row** — a row of a database table or query, handed over by the `sql` source with every value
//!   as text (DATE `2026-10-12`, TIMESTAMP RFC 3339, DECIMAL `5000.00`, NULL absent). Such a
//!   mapping reads no documents. A row without a column the mapping reads is rejected (the sql
//!   source also checks [`Mapping::columns`] against the table at start); rows have no line.
//! - **json** records may also arrive one by one, already parsed (an HTTP push, a Kafka message):
//!   [`Mapping::json_record`] takes the object itself; `records` applies only to whole documents.
//!
//! ## Field rules
//!
//! A field is a table (inline or `[fields.x]`), or an array of tables tried in order (below).
//! Field names are disclosure.v1 fields; dotted names fill nested objects (`"agency.name"`,
//! `"counterparty.legal_rep.name"`, `"legal_review.passed"`, `"license.valid_from"`), and may also be
//! written as nested TOML tables (`[fields.agency]` + `name = {…}`). Unknown names are errors (with
//! a "did you mean"); `record_id`, `source` and `version` are not mappable. A rule has exactly one
//! source:
//!
//! - `path = "…"` — a value from the record.
//! - `value = …` — a constant: a string, `true`/`false`, or an array of strings.
//! - `concat = [ { path = "违法行为" }, { text = "：" }, { path = "违法事实" } ]` — the parts joined
//!   in order, with an optional `separator = "…"` between parts. Absent parts are skipped; when no
//!   path part has a value, the field is absent.
//!
//! optionally, on the value of a `path` or `concat`:
//!
//! - `chars = [2, 8]` — only characters 2 to 7 (0-based; the end is excluded) of the value:
//!   characters, not bytes. Characters 3–8 of a unified social credit code are the GB/T 2260
//!   division of the registering authority, so `division_code = { path = "处罚机关统一社会信用代码",
//!   chars = [2, 8] }`. Applied before `split` and the conversion; a value shorter than the end
//!   fails the record (giving its length, not the value). Checked at load: two whole numbers,
//!   start < end.
//!
//! and at most one conversion:
//!
//! - `codes = "table"` — look the value up in `[codes.table]` (exact match after trimming). A
//!   table maps to strings, or to booleans (`"是" = true`); the entry `"*"` catches any code not
//!   listed. A code with no entry and no `"*"` fails the record, naming the field, the table and
//!   the code (the code is left out when the field may hold personal data).
//! - `date = "%Y年%m月%d日"` (or an array of formats, tried in order) — chrono `strftime` formats; the
//!   output is `YYYY-MM-DD`. `%m`/`%d` accept `1` as well as `01`. Formats are checked at load.
//! - `amount = "yuan"` (元) or `"wan_yuan"` (万元) — the output is yuan with exactly two decimals
//!   (`0.5` 万元 → `"5000.00"`), computed on the decimal text, never with floats. Full-width digits
//!   are accepted; signs, thousands separators and units are not; an amount finer than a fen fails.
//!
//! and optionally:
//!
//! - `split = "、"` — one text holds several values: split, trim, drop empty items. Makes a list.
//!   Several separators: `split = [";", "；"]` cuts at any of them.
//! - `list = true` — the field is a list of every value the path finds (`PenaltyTypes/Type`).
//!   With `codes`, every item is mapped.
//! - `default = …` — the output value when the source is absent (not run through `codes`).
//! - `required = true` — an absent value (and no default) fails the record.
//! - `when = { path = "当事人/@类别", equals = "自然人" }` — the rule only applies when the
//!   condition holds; also `in = ["1", "是"]` or `present = true|false`. Compared with the trimmed
//!   source text, before any code table.
//!
//! Field shapes are checked at load: `random_check`, `major`, `legal_review.passed` need booleans
//! (a boolean code table or a boolean `value`); `penalty_kinds` needs a list; everything else text.
//!
//! **Several rules** — `status = [ { value = "revoked", when = { path = "撤销标志", equals = "1" } },
//! { path = "状态", codes = "status", default = "in_force" } ]`: rules whose condition holds are
//! tried in order and the first that gives a value wins; when none does, the field is left out.
//!
//! ## Encodings
//!
//! A byte order mark wins. Otherwise XML uses the encoding of its declaration
//! (`<?xml version="1.0" encoding="GBK"?>`), then the mapping's `encoding`, then UTF-8; JSON, JSONL
//! and CSV use the mapping's `encoding` or UTF-8. XLSX is always Unicode inside, and rows come as
//! text from the database driver: neither takes `encoding`. Any label encoding_rs knows works (GBK,
//! GB18030, Big5, …). Bytes that are invalid in the encoding reject the file, naming the line.
//!
//! ## Limits
//!
//! [`Mapping::read_document_with`] reads within a source's [`ReadLimits`]
//! ([`Mapping::read_document`] uses the defaults, far above any real export). A document that
//! exceeds one is rejected as a whole, naming the line, the limit and its value:
//! `in.xml:12: element depth exceeds the limit of 64 (max_depth); raise it in the source's limits if
//! this export is genuine`.
//!
//! | limit | default | counts |
//! |---|---|---|
//! | `max_document_bytes` | 256 MiB | the file's bytes, checked before parsing |
//! | `max_depth` | 64 | nesting: XML elements (root = 1), JSON arrays and objects (outermost = 1); at most [`ReadLimits::DEPTH_CEILING`] (256) |
//! | `max_elements` | 10,000,000 | XML elements; JSON arrays, objects and the members and items in them |
//! | `max_attributes` | 1,000 | attributes of one XML element; fields of one CSV row |
//! | `max_value_bytes` | 16 MiB | one XML text or attribute value, JSON string (as written), CSV field |
//! | `max_record_bytes` | 64 MiB | one record's text: XML element, JSON object, JSONL line, CSV row |
//! | `max_records` | 1,000,000 | records in one document (CSV: rows after the header) |
//!
//! ## Control characters
//!
//! C0 control characters (other than TAB, LF, CR) and DEL are read like any other character:
//! from JSON escapes (`"\u0000"`), from XML character references (`&#0;`, which XML 1.0 forbids;
//! the reader accepts it so that one bad case does not hold back the whole export) and literally.
//! `dhub-schema`'s validation then refuses the record that holds one, naming the field and the
//! code point. A source key holding one fails the record here, since the key becomes its id.
//! Error messages write such characters as `U+0000`.
//!
//! # Output
//!
//! [`Mapping::apply`] returns a JSON object: the mapped fields (absent ones left out, nested objects
//! only when one of their fields is present), `record_id` = `"<source name>:<key>"` and
//! `source` = `{ "name", "key", "fetched_at" }`. It does not emit `version` (the hub assigns it) and
//! does not validate values against the schema (that is `dhub-schema`'s job): it only guarantees that
//! the mapping did what it declares.
//!
//! # Personal data
//!
//! Source records hold names, ID numbers, addresses and phone numbers. Errors and `Debug` output name
//! files, lines, source keys, fields, paths and code tables, never values read from a record —
//! except unknown codes of non-personal fields, and a date or amount's *shape* (`9999年99月99日`)
//! with digits and letters masked.

mod compile;
mod convert;
mod document;
mod documents;
mod error;
mod limits;
mod plan;
mod record;
mod targets;
mod toml_tree;

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

pub use documents::{DocumentRef, Locator, DOCUMENT_KINDS};
pub use error::{DocumentError, MappingError, MappingErrors, RecordError};
pub use limits::ReadLimits;
pub use record::SourceRecord;

use plan::{FieldPlan, Source};

/// How a department's documents are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Xml,
    Json,
    Jsonl,
    Csv,
    /// An Excel workbook (Office Open XML): one sheet, a header row, one record per row.
    Xlsx,
    /// A database row handed over by the `sql` source: paths are column names.
    Row,
}

impl SourceFormat {
    pub fn from_name(name: &str) -> Option<SourceFormat> {
        match name {
            "xml" => Some(SourceFormat::Xml),
            "json" => Some(SourceFormat::Json),
            "jsonl" => Some(SourceFormat::Jsonl),
            "csv" => Some(SourceFormat::Csv),
            "xlsx" => Some(SourceFormat::Xlsx),
            "row" => Some(SourceFormat::Row),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Xml => "xml",
            SourceFormat::Json => "json",
            SourceFormat::Jsonl => "jsonl",
            SourceFormat::Csv => "csv",
            SourceFormat::Xlsx => "xlsx",
            SourceFormat::Row => "row",
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document read whole: its records and the export time it states.
#[derive(Debug)]
pub struct ReadExport {
    pub records: Vec<SourceRecord>,
    pub exported_at: Option<String>,
}

/// What a mapped record needs to know besides its source record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapContext {
    /// The configured source (`[[source]] name`); prefixes `record_id`.
    pub source_name: String,
    /// When the record was fetched (RFC 3339), recorded in `source.fetched_at`.
    pub fetched_at: String,
}

/// A compiled mapping: checked once at load, then applied to any number of records.
/// `Send + Sync`; share it with `Arc`.
#[derive(Debug)]
pub struct Mapping {
    name: String,
    version: String,
    format: SourceFormat,
    /// XML: element path from the root to a record.
    records_path: Vec<String>,
    /// JSON: pointer to the array of records (or the record).
    json_pointer: String,
    key: Source,
    fields: Vec<FieldPlan>,
    encoding: Option<&'static encoding_rs::Encoding>,
    delimiter: u8,
    /// XLSX: the sheet to read (`None`: the first).
    sheet: Option<String>,
    /// CSV, XLSX, row: every column the mapping reads, in the order the mapping first names them.
    columns: Vec<String>,
    /// `[[documents]]`: where each record's decision document and evidence are.
    documents: Vec<documents::DocumentRule>,
    /// XML: the root element's attribute that holds when the export was made (`exported_at`).
    exported_at: Option<String>,
}

impl Mapping {
    /// Reads and compiles a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, MappingErrors> {
        let text = std::fs::read_to_string(path).map_err(|error| MappingErrors {
            errors: vec![MappingError {
                path: path.to_path_buf(),
                line: None,
                message: format!("cannot read the mapping file: {error}"),
            }],
        })?;
        Mapping::parse(&text, path)
    }

    /// Compiles mapping text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Mapping, MappingErrors> {
        compile::compile(text, path)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mapping's own version, recorded in each record's lineage.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn format(&self) -> SourceFormat {
        self.format
    }

    /// Every column the mapping reads (key, fields, conditions), each once, in the order the
    /// mapping first names them: for `row` mappings, what the `sql` source checks against the table
    /// at start; for `csv` and `xlsx`, what each file's header must have. Empty for other formats.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Parses a whole source document (file bytes) into its source records, within the default
    /// [`ReadLimits`]. `origin` is the file path or name used in errors. A `row` mapping reads no
    /// documents (see [`Mapping::row_record`]).
    pub fn read_document(
        &self,
        bytes: &[u8],
        origin: &str,
    ) -> Result<Vec<SourceRecord>, DocumentError> {
        self.read_document_with(bytes, origin, &ReadLimits::default())
    }

    /// [`Mapping::read_document`] within the source's own limits; a breach rejects the document,
    /// naming the line and the limit.
    pub fn read_document_with(
        &self,
        bytes: &[u8],
        origin: &str,
        limits: &ReadLimits,
    ) -> Result<Vec<SourceRecord>, DocumentError> {
        document::read_document(self, bytes, origin, limits).map(|read| read.records)
    }

    /// [`Mapping::read_document_with`], with the export time the document states
    /// (`[mapping] exported_at`, as written; `None` when the mapping names none or the document
    /// lacks it).
    pub fn read_export_with(
        &self,
        bytes: &[u8],
        origin: &str,
        limits: &ReadLimits,
    ) -> Result<ReadExport, DocumentError> {
        document::read_document(self, bytes, origin, limits)
    }

    /// One database row as a source record, for a `row` mapping: the columns as the database gave
    /// them, each value already text (the `sql` source writes DATE as `YYYY-MM-DD`, TIMESTAMP as
    /// RFC 3339, numbers as decimal text) and `None` for NULL. `origin` names the row in errors (the
    /// table and the row's cursor values, say); the record's line is 0, since rows have none.
    ///
    /// Fails when the mapping is not a `row` mapping, when a column name repeats (a query joining
    /// two tables with the same column name would otherwise lose one), or when a column the mapping
    /// reads is not in the row at all (a renamed column would otherwise map every row as absent).
    pub fn row_record(
        &self,
        origin: &str,
        columns: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Result<SourceRecord, DocumentError> {
        document::row::row_record(self, origin, columns)
    }

    /// One JSON object that is already parsed (an HTTP push body's item, a Kafka message) as a
    /// source record, for a `json` or `jsonl` mapping; `line` is where it starts in its document,
    /// or 1 for a message of its own. The mapping's `records` pointer is not applied: `value` is
    /// the record. Anything but an object is refused, as is a mapping of another format.
    pub fn json_record(
        &self,
        origin: &str,
        line: u64,
        value: Value,
    ) -> Result<SourceRecord, DocumentError> {
        document::json_record(self, origin, line, value)
    }

    /// Maps one source record to a disclosure.v1 object (without `version`). Errors name origin,
    /// line, source key (if found) and the field.
    pub fn apply(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Value, RecordError> {
        let failure = |key: Option<&str>, field: &str, message: String| RecordError {
            origin: record.origin().to_string(),
            line: record.line(),
            source_key: key.map(str::to_string),
            field: field.to_string(),
            message: error::printable(message),
        };
        let expected = match self.format {
            SourceFormat::Json | SourceFormat::Jsonl => "json",
            other => other.as_str(),
        };
        if record.body.kind() != expected {
            return Err(failure(
                None,
                "record",
                format!(
                    "the record was read as {}, but mapping `{}` reads {}",
                    record.body.kind(),
                    self.name,
                    self.format
                ),
            ));
        }
        let keys = self
            .key
            .texts(record)
            .map_err(|message| failure(None, "key", message))?;
        let key = match keys.as_slice() {
            [key] => key.clone(),
            [] => {
                return Err(failure(
                    None,
                    "key",
                    format!(
                        "the record has no key: {} is missing or empty",
                        self.key.describe()
                    ),
                ))
            }
            more => {
                return Err(failure(
                    None,
                    "key",
                    format!(
                        "the key path {} has {} values; it must find exactly one",
                        self.key.describe(),
                        more.len()
                    ),
                ))
            }
        };
        // The key becomes the record's id in the store, the quarantine and every feed.
        if let Some(control) = error::control_character(&key) {
            return Err(failure(
                None,
                "key",
                format!(
                    "the key contains the control character U+{:04X}; remove it at the source",
                    u32::from(control)
                ),
            ));
        }

        let mut output = Map::new();
        output.insert(
            "record_id".into(),
            Value::String(format!("{}:{}", ctx.source_name, key)),
        );
        let mut source = Map::new();
        source.insert("name".into(), Value::String(ctx.source_name.clone()));
        source.insert("key".into(), Value::String(key.clone()));
        source.insert("fetched_at".into(), Value::String(ctx.fetched_at.clone()));
        output.insert("source".into(), Value::Object(source));

        for plan in &self.fields {
            let value = plan
                .evaluate(record)
                .map_err(|message| failure(Some(&key), plan.target.name, message))?;
            if let Some(value) = value {
                insert_nested(&mut output, plan.target.name, value);
            }
        }
        Ok(Value::Object(output))
    }

    /// Whether the mapping names documents (`[[documents]]`).
    pub fn has_documents(&self) -> bool {
        !self.documents.is_empty()
    }

    /// The documents `record` names (`[[documents]]`), in the mapping's order. Fails like a field
    /// does (a path with a bad value), naming the entry, never the value.
    pub fn documents(&self, record: &SourceRecord) -> Result<Vec<DocumentRef>, RecordError> {
        let mut found = Vec::new();
        for (index, rule) in self.documents.iter().enumerate() {
            let refs = rule
                .refs(record, index + 1)
                .map_err(|message| RecordError {
                    origin: record.origin().to_string(),
                    line: record.line(),
                    source_key: self
                        .key
                        .texts(record)
                        .ok()
                        .and_then(|k| k.into_iter().next()),
                    field: format!("documents[{}]", index + 1),
                    message: error::printable(message),
                })?;
            found.extend(refs);
        }
        Ok(found)
    }

    /// Reads a document and maps every record: what `dhub map` prints. A document that cannot be
    /// read fails as a whole; each record maps or fails on its own.
    pub fn map_document(
        &self,
        bytes: &[u8],
        origin: &str,
        ctx: &MapContext,
    ) -> Result<Vec<Result<Value, RecordError>>, DocumentError> {
        Ok(self
            .read_document(bytes, origin)?
            .iter()
            .map(|record| self.apply(record, ctx))
            .collect())
    }
}

/// Puts `value` at a dotted field name, creating the objects on the way. Target names come from a
/// fixed list with no name that is also a prefix object, so a non-object is never in the way.
fn insert_nested(output: &mut Map<String, Value>, dotted: &str, value: Value) {
    let mut segments: Vec<&str> = dotted.split('.').collect();
    let Some(last) = segments.pop() else {
        return;
    };
    let mut current = output;
    for segment in segments {
        let entry = current
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> MapContext {
        MapContext {
            source_name: "src".into(),
            fetched_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    const CSV_MAPPING: &str = r#"
[mapping]
name = "t"
version = "7"
format = "csv"
key = { path = "编号" }
[fields]
category = { value = "penalty" }
"agency.name" = { path = "机关" }
"counterparty.legal_rep.name" = { path = "法人" }
"legal_review.passed" = { path = "审核", codes = "yn" }
[codes.yn]
"是" = true
"否" = false
"#;

    #[test]
    fn mapping_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Mapping>();
        assert_send_sync::<SourceRecord>();
    }

    #[test]
    fn apply_builds_nested_objects_record_id_and_source() {
        let mapping = Mapping::parse(CSV_MAPPING, Path::new("t.toml")).unwrap();
        assert_eq!(
            (mapping.name(), mapping.version(), mapping.format()),
            ("t", "7", SourceFormat::Csv)
        );
        let records = mapping
            .read_document("编号,机关,法人,审核\nA-1,某局,,是\n".as_bytes(), "in.csv")
            .unwrap();
        let value = mapping.apply(&records[0], &context()).unwrap();
        assert_eq!(
            value,
            json!({
                "record_id": "src:A-1",
                "source": {"name": "src", "key": "A-1", "fetched_at": "2026-01-01T00:00:00Z"},
                "category": "penalty",
                "agency": {"name": "某局"},
                "legal_review": {"passed": true}
            }),
            "the empty legal_rep leaves no counterparty object; no version"
        );
    }

    #[test]
    fn exported_at_reads_the_root_attribute_of_an_xml_export() {
        let text = |exported_at: &str| {
            format!("[mapping]\nname = \"x\"\nversion = \"1\"\nformat = \"xml\"\nrecords = \"Export/Case\"\nexported_at = \"{exported_at}\"\nkey = {{ path = \"@id\" }}\n[fields]\nfacts = {{ path = \"F\" }}\n")
        };
        let mapping = Mapping::parse(&text("Export/@at"), Path::new("x.toml")).unwrap();
        let limits = ReadLimits::default();
        let read = mapping
            .read_export_with(
                b"<Export at=\"2026-11-07 09:00:00\"><Case id=\"1\"><F>f</F></Case></Export>",
                "e.xml",
                &limits,
            )
            .unwrap();
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.exported_at.as_deref(), Some("2026-11-07 09:00:00"));
        // An attribute of a record is not the export's.
        let read = mapping
            .read_export_with(
                b"<Export><Case id=\"1\" at=\"x\"/></Export>",
                "e.xml",
                &limits,
            )
            .unwrap();
        assert_eq!(read.exported_at, None);
        for (path, message) in [
            ("Export/Case/@at", "is an attribute of the root element"),
            ("@at", "is an attribute of the root element"),
            (
                "Other/@at",
                "names the root element `Other`, but `records` starts at `Export`",
            ),
        ] {
            let error = Mapping::parse(&text(path), Path::new("x.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("x.toml:6:") && error.contains(message),
                "{path}: {error}"
            );
        }
        let csv = CSV_MAPPING.replace("key = ", "exported_at = \"a/@b\"\nkey = ");
        let error = Mapping::parse(&csv, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`exported_at` is only for format = \"xml\""),
            "{error}"
        );
    }

    #[test]
    fn a_missing_key_fails_the_record_without_a_key() {
        let mapping = Mapping::parse(CSV_MAPPING, Path::new("t.toml")).unwrap();
        let records = mapping
            .read_document("编号,机关,法人,审核\n ,某局,,是\n".as_bytes(), "in.csv")
            .unwrap();
        let error = mapping.apply(&records[0], &context()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.csv:2: key: the record has no key: `编号` is missing or empty"
        );
    }

    #[test]
    fn a_record_of_another_format_is_refused() {
        let mapping = Mapping::parse(CSV_MAPPING, Path::new("t.toml")).unwrap();
        let record = SourceRecord::from_raw_text(
            r#"{"origin":"a.jsonl","line":3,"format":"json","record":{"编号":"1"}}"#,
        )
        .unwrap();
        let error = mapping.apply(&record, &context()).unwrap_err();
        assert_eq!(error.field, "record");
        assert_eq!(error.line, 3);
    }

    #[test]
    fn a_quarantined_record_replays_after_a_fix() {
        let broken = CSV_MAPPING.replace("\"否\" = false", "");
        let broken = Mapping::parse(&broken, Path::new("t.toml")).unwrap();
        let records = broken
            .read_document(
                "编号,机关,法人,审核\nA-2,某局,张三,否\n".as_bytes(),
                "in.csv",
            )
            .unwrap();
        let error = broken.apply(&records[0], &context()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.csv:2: record A-2: legal_review.passed: code `否` is not in code table `yn`; add it to [codes.yn] or give the table a \"*\" fallback"
        );
        let kept = records[0].raw_text();
        let fixed = Mapping::parse(CSV_MAPPING, Path::new("t.toml")).unwrap();
        let replayed = SourceRecord::from_raw_text(&kept).unwrap();
        let value = fixed.apply(&replayed, &context()).unwrap();
        assert_eq!(value["legal_review"]["passed"], json!(false));
        assert_eq!(value["counterparty"]["legal_rep"]["name"], json!("张三"));
    }

    #[test]
    fn load_reports_an_unreadable_file() {
        let error = Mapping::load(Path::new("/nonexistent/m.toml")).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("/nonexistent/m.toml: cannot read the mapping file"));
    }

    #[test]
    fn load_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, CSV_MAPPING).unwrap();
        assert_eq!(Mapping::load(&path).unwrap().name(), "t");
    }

    #[test]
    fn map_document_maps_each_record_on_its_own() {
        let mapping = Mapping::parse(CSV_MAPPING, Path::new("t.toml")).unwrap();
        let results = mapping
            .map_document(
                "编号,机关,法人,审核\n1,a,,是\n2,b,,也许\n".as_bytes(),
                "in.csv",
                &context(),
            )
            .unwrap();
        assert!(results[0].is_ok());
        assert_eq!(
            results[1].as_ref().unwrap_err().source_key.as_deref(),
            Some("2")
        );
    }

    /// A mapping that is wrong in every way a record can trip over, fed personal data: no error
    /// message may contain any of it.
    #[test]
    fn record_errors_never_contain_personal_values() {
        let mapping = Mapping::parse(
            r#"
[mapping]
name = "t"
version = "1"
format = "xml"
records = "R/C"
key = { path = "@id" }
[fields]
decided_on = { path = "当事人/证件号码", date = "%Y%m%d" }
fine_amount = { path = "当事人/电话", amount = "yuan" }
"counterparty.name" = { path = "当事人/名称", codes = "names" }
"counterparty.address" = { path = "当事人/住址", required = true }
facts = { path = "当事人/住址" }
[codes.names]
"x" = "y"
"#,
            Path::new("t.toml"),
        )
        .unwrap();
        let personal = [
            "11010519491231002X",
            "13812345678",
            "张三丰",
            "茌平县振兴路1号",
        ];
        let variants = [
            "<当事人><证件号码>11010519491231002X</证件号码></当事人>",
            "<当事人><电话>13812345678x</电话></当事人>",
            "<当事人><名称>张三丰</名称></当事人>",
            "<当事人><住址></住址></当事人>",
            "<当事人><住址>茌平县振兴路1号</住址><住址>茌平县振兴路1号</住址></当事人>",
        ];
        for (index, body) in variants.iter().enumerate() {
            let document = format!("<R><C id=\"K{index}\">{body}</C></R>");
            let records = mapping
                .read_document(document.as_bytes(), "in.xml")
                .unwrap();
            let error = mapping.apply(&records[0], &context()).unwrap_err();
            let shown = format!("{error} {error:?} {:?}", records[0]);
            for value in personal {
                assert!(!shown.contains(value), "{value} leaked: {shown}");
            }
        }
    }

    #[test]
    fn dot_path_reads_the_record_elements_own_text() {
        let mapping = Mapping::parse(
            "[mapping]\nname = \"t\"\nversion = \"1\"\nformat = \"xml\"\nrecords = \"R/C\"\nkey = { path = \"@id\" }\n[fields]\nremarks = { path = \".\" }\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let records = mapping
            .read_document("<R><C id=\"1\"> 备注文字 <x/></C></R>".as_bytes(), "in.xml")
            .unwrap();
        let value = mapping.apply(&records[0], &context()).unwrap();
        assert_eq!(value["remarks"], json!("备注文字"));
    }

    #[test]
    fn insert_nested_creates_and_reuses_objects() {
        let mut output = Map::new();
        insert_nested(&mut output, "counterparty.legal_rep.name", json!("a"));
        insert_nested(&mut output, "counterparty.name", json!("b"));
        assert_eq!(
            Value::Object(output),
            json!({"counterparty": {"name": "b", "legal_rep": {"name": "a"}}})
        );
    }
}
