//! Mapping file → [`Mapping`]: validate every table, key and value, collect every problem with its
//! line, and build the ready-to-run form once.
//!
//! The walk keeps going after a problem so that one `dhub check` shows them all; a part that failed
//! is left out of later checks that depend on it, so one typo does not cause a cascade of errors.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;
use serde_json::Value;

use crate::convert::{check_date_format, AmountUnit};
use crate::error::{MappingError, MappingErrors};
use crate::plan::{
    CharRange, CodeTable, Condition, FieldPlan, Part, Rule, Source, Test, Transform,
};
use crate::record::SourcePath;
use crate::targets::{self, Target, TargetKind};
use crate::toml_tree::{self, Entry, Node, NodeValue};
use crate::{Mapping, SourceFormat};

/// Keys a field rule may have. A table in `[fields]` with none of them is a nesting level
/// (`[fields.agency]` + `name = {…}` is the same as `"agency.name" = {…}`).
const RULE_KEYS: &[&str] = &[
    "path",
    "value",
    "concat",
    "separator",
    "chars",
    "codes",
    "date",
    "amount",
    "split",
    "list",
    "default",
    "required",
    "when",
];

pub(crate) fn compile(text: &str, path: &Path) -> Result<Mapping, MappingErrors> {
    let mut compiler = Compiler {
        path,
        errors: Vec::new(),
        columns: Vec::new(),
    };
    let root = match toml_tree::parse(text) {
        Ok(root) => root,
        Err(syntax) => {
            compiler.errors.push(MappingError {
                path: path.to_path_buf(),
                line: syntax.line,
                message: format!("invalid TOML: {}", syntax.message),
            });
            return Err(compiler.finish_errors());
        }
    };
    let mapping = compiler.mapping(&root);
    match mapping {
        Some(mapping) if compiler.errors.is_empty() => Ok(mapping),
        _ => Err(compiler.finish_errors()),
    }
}

struct Compiler<'a> {
    path: &'a Path,
    errors: Vec<MappingError>,
    /// Every column the mapping reads (csv, xlsx, row), checked against each document's header or
    /// the database table.
    columns: Vec<String>,
}

/// What `[mapping]` declares.
struct Header {
    name: Option<String>,
    version: Option<String>,
    format: Option<SourceFormat>,
    records: Vec<String>,
    json_pointer: String,
    key: Option<Source>,
    encoding: Option<&'static Encoding>,
    delimiter: u8,
    sheet: Option<String>,
    /// XML: the root element's attribute holding the export time, and the line naming it.
    exported_at: Option<(String, String, usize)>,
}

/// A rule's output shape, checked against the target field's kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Text,
    Bool,
}

impl<'a> Compiler<'a> {
    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(MappingError {
            path: self.path.to_path_buf(),
            line: Some(line),
            message: message.into(),
        });
    }

    fn file_error(&mut self, message: impl Into<String>) {
        self.errors.push(MappingError {
            path: self.path.to_path_buf(),
            line: None,
            message: message.into(),
        });
    }

    fn finish_errors(mut self) -> MappingErrors {
        // File order; whole-file problems first. The sort is stable, so same-line errors keep the
        // order they were found in.
        self.errors.sort_by_key(|error| error.line);
        MappingErrors {
            errors: self.errors,
        }
    }

    fn mapping(&mut self, root: &Node) -> Option<Mapping> {
        let entries = self.table(root, "the mapping file")?;
        let mut header_node = None;
        let mut fields_node = None;
        let mut codes_node = None;
        let mut documents_node = None;
        for entry in entries {
            match entry.key.as_str() {
                "mapping" => header_node = Some(&entry.node),
                "fields" => fields_node = Some(&entry.node),
                "codes" => codes_node = Some(&entry.node),
                "documents" => documents_node = Some(&entry.node),
                other => self.error(
                    entry.line,
                    format!("unknown table `{other}`; a mapping has [mapping], [fields], [codes.<name>] and [[documents]]"),
                ),
            }
        }
        let header = match header_node {
            Some(node) => self.header(node),
            None => {
                self.file_error(
                    "no [mapping] table; it names the mapping, its version and the source format",
                );
                return None;
            }
        };
        let codes = codes_node
            .map(|node| self.code_tables(node))
            .unwrap_or_default();
        let fields = match fields_node {
            Some(node) => self.fields(node, header.format, &codes),
            None => {
                self.file_error("no [fields] table; map at least one disclosure.v1 field");
                Vec::new()
            }
        };
        let documents = documents_node
            .map(|node| self.documents(node, header.format))
            .unwrap_or_default();
        Some(Mapping {
            documents,
            name: header.name?,
            version: header.version?,
            format: header.format?,
            records_path: header.records,
            json_pointer: header.json_pointer,
            key: header.key?,
            fields,
            encoding: header.encoding,
            delimiter: header.delimiter,
            sheet: header.sheet,
            exported_at: header.exported_at.map(|(_, attribute, _)| attribute),
            columns: std::mem::take(&mut self.columns),
        })
    }

    // --- [mapping] ---

    fn header(&mut self, node: &Node) -> Header {
        let mut header = Header {
            name: None,
            version: None,
            format: None,
            records: Vec::new(),
            json_pointer: String::new(),
            key: None,
            encoding: None,
            delimiter: b',',
            sheet: None,
            exported_at: None,
        };
        let Some(entries) = self.table(node, "[mapping]") else {
            return header;
        };
        // The format decides how `records`, `key` and every path are read: find it first.
        let format_entry = entries.iter().find(|entry| entry.key == "format");
        match format_entry {
            Some(entry) => {
                if let Some(name) = self.string(&entry.node, "`mapping.format`") {
                    header.format = SourceFormat::from_name(&name);
                    if header.format.is_none() {
                        self.error(
                            entry.node.line,
                            format!("unknown format `{name}`; expected xml, json, jsonl, csv, xlsx or row"),
                        );
                    }
                }
            }
            None => self.error(
                node.line,
                "[mapping] needs `format` (xml, json, jsonl, csv, xlsx or row)",
            ),
        }
        let mut records_line = None;
        for entry in entries {
            match entry.key.as_str() {
                "format" => {}
                "name" => header.name = self.non_empty_string(&entry.node, "`mapping.name`"),
                "version" => {
                    header.version = match &entry.node.value {
                        NodeValue::Integer(_) | NodeValue::Float => {
                            self.error(
                                entry.node.line,
                                "`mapping.version` must be a string: write it in quotes, like version = \"1\"",
                            );
                            None
                        }
                        _ => self.non_empty_string(&entry.node, "`mapping.version`"),
                    }
                }
                "records" => {
                    records_line = Some(entry.line);
                    if let Some(records) = self.string(&entry.node, "`mapping.records`") {
                        self.records(&records, header.format, entry.node.line, &mut header);
                    }
                }
                "key" => header.key = self.key(&entry.node, header.format),
                "exported_at" => {
                    if header.format.is_some_and(|format| format != SourceFormat::Xml) {
                        self.error(
                            entry.line,
                            "`exported_at` is only for format = \"xml\" (an attribute of the export's root element)",
                        );
                    } else if let Some(path) =
                        self.non_empty_string(&entry.node, "`mapping.exported_at`")
                    {
                        match path.split_once("/@") {
                            Some((root, attribute))
                                if !root.is_empty()
                                    && !root.contains('/')
                                    && !attribute.is_empty()
                                    && !attribute.contains('/') =>
                            {
                                header.exported_at =
                                    Some((root.into(), attribute.into(), entry.node.line));
                            }
                            _ => self.error(
                                entry.node.line,
                                "`mapping.exported_at` is an attribute of the root element, like \"CaseExport/@exportedAt\"",
                            ),
                        }
                    }
                }
                "encoding" if matches!(header.format, Some(SourceFormat::Xlsx | SourceFormat::Row)) => self.error(
                    entry.line,
                    "`encoding` does not apply to xlsx (always Unicode inside) or row (the database driver decodes text)",
                ),
                "sheet" => {
                    if header.format.is_some_and(|format| format != SourceFormat::Xlsx) {
                        self.error(entry.line, "`sheet` is only for format = \"xlsx\"");
                    } else if let Some(sheet) = self.non_empty_string(&entry.node, "`mapping.sheet`") {
                        header.sheet = Some(sheet);
                    }
                }
                "encoding" => {
                    if let Some(label) = self.string(&entry.node, "`mapping.encoding`") {
                        header.encoding = Encoding::for_label(label.as_bytes());
                        if header.encoding.is_none() {
                            self.error(
                                entry.node.line,
                                format!("unknown encoding `{label}`; use e.g. UTF-8, GBK or GB18030"),
                            );
                        }
                    }
                }
                "delimiter" => {
                    if let Some(delimiter) = self.string(&entry.node, "`mapping.delimiter`") {
                        match (delimiter.as_bytes(), header.format) {
                            (_, Some(format)) if format != SourceFormat::Csv => self.error(
                                entry.line,
                                "`delimiter` is only for format = \"csv\"",
                            ),
                            ([byte], _) if byte.is_ascii() => header.delimiter = *byte,
                            _ => self.error(
                                entry.node.line,
                                "`mapping.delimiter` must be one ASCII character, like \",\" or \"\\t\"",
                            ),
                        }
                    }
                }
                other => self.error(
                    entry.line,
                    format!(
                        "unknown key `{other}` in [mapping]; expected name, version, format, records, key, exported_at, encoding, delimiter or sheet"
                    ),
                ),
            }
        }
        for (required, what) in [
            (header.name.is_none() && !has_key(entries, "name"), "`name`"),
            (
                header.version.is_none() && !has_key(entries, "version"),
                "`version` (recorded in each record's lineage)",
            ),
            (
                header.key.is_none() && !has_key(entries, "key"),
                "`key`, e.g. key = { path = \"@id\" } (the record's id in the source system)",
            ),
        ] {
            if required {
                self.error(node.line, format!("[mapping] needs {what}"));
            }
        }
        if let (Some((root, _, line)), Some(first)) = (&header.exported_at, header.records.first())
        {
            if root != first {
                self.error(
                    *line,
                    format!("`mapping.exported_at` names the root element `{root}`, but `records` starts at `{first}`"),
                );
            }
        }
        if header.format == Some(SourceFormat::Xml) && records_line.is_none() {
            self.error(
                node.line,
                "[mapping] needs `records` for XML: the element path of one record, like \"CaseExport/Case\"",
            );
        }
        header
    }

    fn records(
        &mut self,
        records: &str,
        format: Option<SourceFormat>,
        line: usize,
        header: &mut Header,
    ) {
        match format {
            Some(SourceFormat::Xml) => {
                let segments: Vec<String> =
                    records.split('/').map(|s| s.trim().to_string()).collect();
                if records.starts_with('/')
                    || segments
                        .iter()
                        .any(|segment| segment.is_empty() || segment.starts_with('@'))
                {
                    self.error(
                        line,
                        "`mapping.records` for XML is an element path from the root element, like \"CaseExport/Case\" (no leading `/`, no attributes)",
                    );
                } else {
                    header.records = segments;
                }
            }
            Some(SourceFormat::Json) => {
                if records.is_empty() || records.starts_with('/') {
                    header.json_pointer = records.to_string();
                } else {
                    self.error(
                        line,
                        format!("`mapping.records` for JSON is a JSON pointer: write \"/{records}\""),
                    );
                }
            }
            Some(
                SourceFormat::Jsonl | SourceFormat::Csv | SourceFormat::Xlsx | SourceFormat::Row,
            ) => self.error(
                line,
                "`mapping.records` is only for xml and json; jsonl, csv and xlsx have one record per line or row, and row one per database row",
            ),
            None => {}
        }
    }

    fn key(&mut self, node: &Node, format: Option<SourceFormat>) -> Option<Source> {
        let entries = self.table(node, "`mapping.key`")?;
        let mut source = None;
        let mut separator = String::new();
        let mut complete = true;
        for entry in entries {
            match entry.key.as_str() {
                "path" | "concat" if source.is_some() => {
                    self.error(
                        entry.line,
                        "`mapping.key` takes `path` or `concat`, not both",
                    );
                    complete = false;
                }
                "path" => match self.string(&entry.node, "`mapping.key.path`") {
                    Some(text) => match self.source_path(&text, format, entry.node.line) {
                        Some(path) => source = Some(Source::Path(path)),
                        None => complete = false,
                    },
                    None => complete = false,
                },
                "concat" => match self.concat_parts(&entry.node, format) {
                    Some(parts) => {
                        source = Some(Source::Concat {
                            parts,
                            separator: String::new(),
                        })
                    }
                    None => complete = false,
                },
                "separator" => match self.string(&entry.node, "`mapping.key.separator`") {
                    Some(text) => separator = text,
                    None => complete = false,
                },
                other => {
                    self.error(
                        entry.line,
                        format!("unknown key `{other}` in `mapping.key`; expected path, or concat with an optional separator"),
                    );
                    complete = false;
                }
            }
        }
        match source {
            Some(Source::Concat { parts, .. }) => {
                complete.then_some(Source::Concat { parts, separator })
            }
            Some(path) => complete.then_some(path),
            None => {
                if complete {
                    self.error(node.line, "`mapping.key` needs `path` (or `concat`)");
                }
                None
            }
        }
    }

    // --- [codes.*] ---

    fn code_tables(&mut self, node: &Node) -> HashMap<String, (Arc<CodeTable>, Scalar)> {
        let mut tables = HashMap::new();
        let Some(entries) = self.table(node, "[codes]") else {
            return tables;
        };
        for entry in entries {
            let what = format!("[codes.{}]", entry.key);
            let Some(codes) = self.table(&entry.node, &what) else {
                continue;
            };
            if codes.is_empty() {
                self.error(entry.line, format!("code table `{}` is empty", entry.key));
                continue;
            }
            let mut table = CodeTable {
                name: entry.key.clone(),
                entries: HashMap::new(),
                fallback: None,
            };
            let mut kinds = Vec::new();
            let mut complete = true;
            for code in codes {
                let value = match &code.node.value {
                    NodeValue::String(text) => {
                        kinds.push((Scalar::Text, code.line));
                        Value::String(text.clone())
                    }
                    NodeValue::Bool(flag) => {
                        kinds.push((Scalar::Bool, code.line));
                        Value::Bool(*flag)
                    }
                    other => {
                        self.error(
                            code.node.line,
                            format!(
                                "code `{}` in {what} maps to {}; map codes to strings or to true/false",
                                code.key,
                                other.type_name()
                            ),
                        );
                        complete = false;
                        continue;
                    }
                };
                if code.key == "*" {
                    table.fallback = Some(value);
                } else {
                    table.entries.insert(code.key.trim().to_string(), value);
                }
            }
            let first = kinds.first().map(|(kind, _)| *kind);
            if let Some((_, line)) = kinds.iter().find(|(kind, _)| Some(*kind) != first) {
                self.error(
                    *line,
                    format!(
                        "{what} mixes strings and booleans; a code table maps to one kind of value"
                    ),
                );
                complete = false;
            }
            if let (true, Some(kind)) = (complete, first) {
                tables.insert(entry.key.clone(), (Arc::new(table), kind));
            } else {
                // Known but broken: fields using it should not also report it as missing.
                tables.insert(
                    entry.key.clone(),
                    (
                        Arc::new(CodeTable {
                            name: entry.key.clone(),
                            entries: HashMap::new(),
                            fallback: None,
                        }),
                        first.unwrap_or(Scalar::Text),
                    ),
                );
            }
        }
        tables
    }

    // --- [fields] ---

    fn fields(
        &mut self,
        node: &Node,
        format: Option<SourceFormat>,
        codes: &HashMap<String, (Arc<CodeTable>, Scalar)>,
    ) -> Vec<FieldPlan> {
        let mut flat: Vec<(String, &Entry)> = Vec::new();
        if let Some(entries) = self.table(node, "[fields]") {
            flatten(entries, "", &mut flat);
        }
        if flat.is_empty() && matches!(node.value, NodeValue::Table(_)) {
            self.error(
                node.line,
                "[fields] is empty; map at least one disclosure.v1 field",
            );
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut plans = Vec::new();
        for (name, entry) in &flat {
            if let Some(first) = seen.insert(name, entry.line) {
                self.error(
                    entry.line,
                    format!("field `{name}` is mapped twice (first on line {first})"),
                );
                continue;
            }
            let Some(target) = self.target(name, entry.line) else {
                continue;
            };
            let rules: Vec<Option<Rule>> = match &entry.node.value {
                NodeValue::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|item| self.rule(target, item, format, codes))
                    .collect(),
                NodeValue::Table(_) => vec![self.rule(target, &entry.node, format, codes)],
                _ => {
                    self.error(
                        entry.node.line,
                        format!(
                            "field `{name}` must be a table like {{ path = \"…\" }} or an array of them, not {}",
                            entry.node.value.type_name()
                        ),
                    );
                    continue;
                }
            };
            if rules.iter().all(Option::is_some) {
                plans.push(FieldPlan {
                    target,
                    rules: rules.into_iter().flatten().collect(),
                });
            }
        }
        plans
    }

    fn target(&mut self, name: &str, line: usize) -> Option<&'static Target> {
        if let Some(target) = targets::find(name) {
            return Some(target);
        }
        let first = name.split('.').next().unwrap_or(name);
        let message = if targets::RESERVED.contains(&first) {
            match first {
                "version" => "`version` is assigned by the hub, not by a mapping".to_string(),
                _ => format!("`{first}` is filled by the mapping itself from `key` and the source name; remove it"),
            }
        } else {
            let hint = targets::closest(name)
                .map(|close| format!(" (did you mean `{close}`?)"))
                .unwrap_or_default();
            format!("`{name}` is not a disclosure.v1 field{hint}")
        };
        self.error(line, message);
        None
    }

    fn rule(
        &mut self,
        target: &'static Target,
        node: &Node,
        format: Option<SourceFormat>,
        codes: &HashMap<String, (Arc<CodeTable>, Scalar)>,
    ) -> Option<Rule> {
        let field = target.name;
        let entries = self.table(node, &format!("field `{field}`"))?;
        let mut complete = true;
        let mut sources: Vec<(&str, usize)> = Vec::new();
        let mut source = None;
        let mut separator = None;
        let mut transforms: Vec<(&str, usize)> = Vec::new();
        let mut transform = Transform::None;
        let mut output = Scalar::Text;
        let mut split = None;
        let mut chars = None;
        let mut list = false;
        let mut default = None;
        let mut required = false;
        let mut when = None;

        for entry in entries {
            let line = entry.node.line;
            let what = format!("`{}` of field `{field}`", entry.key);
            let mut ok = true;
            match entry.key.as_str() {
                "path" => {
                    sources.push(("path", entry.line));
                    match self.string(&entry.node, &what) {
                        Some(text) => match self.source_path(&text, format, line) {
                            Some(path) => source = Some(Source::Path(path)),
                            None => ok = false,
                        },
                        None => ok = false,
                    }
                }
                "value" => {
                    sources.push(("value", entry.line));
                    match self.constant(&entry.node, &what) {
                        Some(value) => source = Some(Source::Constant(value)),
                        None => ok = false,
                    }
                }
                "concat" => {
                    sources.push(("concat", entry.line));
                    match self.concat_parts(&entry.node, format) {
                        Some(parts) => {
                            source = Some(Source::Concat {
                                parts,
                                separator: String::new(),
                            })
                        }
                        None => ok = false,
                    }
                }
                "separator" => match self.string(&entry.node, &what) {
                    Some(text) => separator = Some((text, entry.line)),
                    None => ok = false,
                },
                "codes" => {
                    transforms.push(("codes", entry.line));
                    match self.string(&entry.node, &what) {
                        Some(name) => match codes.get(&name) {
                            Some((table, kind)) => {
                                transform = Transform::Codes(table.clone());
                                output = *kind;
                            }
                            None => {
                                let mut known: Vec<&str> =
                                    codes.keys().map(String::as_str).collect();
                                known.sort_unstable();
                                let known = if known.is_empty() {
                                    "there are no [codes.*] tables".to_string()
                                } else {
                                    format!("known tables: {}", known.join(", "))
                                };
                                self.error(
                                    line,
                                    format!("field `{field}` uses code table `{name}`, which is not defined ({known})"),
                                );
                                ok = false;
                            }
                        },
                        None => ok = false,
                    }
                }
                "date" => {
                    transforms.push(("date", entry.line));
                    match self.string_or_strings(&entry.node, &what) {
                        Some(formats) if !formats.is_empty() => {
                            for format in &formats {
                                if let Err(message) = check_date_format(format) {
                                    self.error(line, format!("field `{field}`: {message}"));
                                    ok = false;
                                }
                            }
                            transform = Transform::Date(formats);
                        }
                        Some(_) => {
                            self.error(line, format!("{what} needs at least one format"));
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                "amount" => {
                    transforms.push(("amount", entry.line));
                    match self.string(&entry.node, &what) {
                        Some(unit) => match AmountUnit::from_name(&unit) {
                            Some(unit) => transform = Transform::Amount(unit),
                            None => {
                                self.error(
                                    line,
                                    format!("{what} is `{unit}`; expected \"yuan\" (元) or \"wan_yuan\" (万元)"),
                                );
                                ok = false;
                            }
                        },
                        None => ok = false,
                    }
                }
                "split" => match self.string_or_strings(&entry.node, &what) {
                    Some(separators)
                        if !separators.is_empty() && separators.iter().all(|s| !s.is_empty()) =>
                    {
                        split = Some(separators)
                    }
                    Some(_) => {
                        self.error(
                            line,
                            format!("{what} needs a separator, like \"、\", or several, like [\";\", \"；\"]; none may be empty"),
                        );
                        ok = false;
                    }
                    None => ok = false,
                },
                "chars" => match self.char_range(&entry.node, &what) {
                    Some(range) => chars = Some(range),
                    None => ok = false,
                },
                "list" => match self.boolean(&entry.node, &what) {
                    Some(flag) => list = flag,
                    None => ok = false,
                },
                "required" => match self.boolean(&entry.node, &what) {
                    Some(flag) => required = flag,
                    None => ok = false,
                },
                "default" => match self.constant(&entry.node, &what) {
                    Some(value) => default = Some((value, entry.node.line)),
                    None => ok = false,
                },
                "when" => match self.condition(&entry.node, format, field) {
                    Some(condition) => when = Some(condition),
                    None => ok = false,
                },
                other => {
                    self.error(
                        entry.line,
                        format!(
                            "unknown key `{other}` in field `{field}`; expected one of {}",
                            RULE_KEYS.join(", ")
                        ),
                    );
                    ok = false;
                }
            }
            complete &= ok;
        }

        // Combinations.
        if sources.len() != 1 {
            let line = sources.get(1).map(|(_, line)| *line).unwrap_or(node.line);
            self.error(
                line,
                format!("field `{field}` needs exactly one of `path`, `value` or `concat`"),
            );
            return None;
        }
        let (source_kind, _) = sources[0];
        if transforms.len() > 1 {
            self.error(
                transforms[1].1,
                format!(
                    "field `{field}` has both `{}` and `{}`; use one conversion per rule",
                    transforms[0].0, transforms[1].0
                ),
            );
            complete = false;
        }
        if let Some((_, line)) = &separator {
            if source_kind != "concat" {
                self.error(
                    *line,
                    format!("`separator` of field `{field}` only goes with `concat`"),
                );
                complete = false;
            }
        }
        if source_kind == "value" {
            let extras: Vec<&str> = entries
                .iter()
                .map(|entry| entry.key.as_str())
                .filter(|key| {
                    [
                        "codes", "date", "amount", "split", "chars", "list", "default", "required",
                    ]
                    .contains(key)
                })
                .collect();
            if !extras.is_empty() {
                self.error(
                    node.line,
                    format!(
                        "field `{field}` has a constant `value`; {} do not apply to it",
                        extras
                            .iter()
                            .map(|key| format!("`{key}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                complete = false;
            }
        }
        if !complete {
            return None;
        }
        let source = source?;
        let source = match (source, separator) {
            (Source::Concat { parts, .. }, Some((separator, _))) => {
                Source::Concat { parts, separator }
            }
            (source, _) => source,
        };

        // Output shape against the target's kind.
        let (produces, is_list) = match &source {
            Source::Constant(value) => shape_of(value),
            _ => (Some(output), split.is_some() || list),
        };
        if !self.shape_fits(target, produces, is_list, node.line) {
            return None;
        }
        if let Some((value, line)) = &default {
            let (default_scalar, default_list) = shape_of(value);
            if default_list != is_list || (default_scalar.is_some() && default_scalar != produces) {
                self.error(
                    *line,
                    format!(
                        "`default` of field `{field}` must be {}, like the values the rule produces",
                        target.kind.describe()
                    ),
                );
                return None;
            }
        }
        Some(Rule {
            when,
            source,
            chars,
            split,
            list,
            transform,
            default: default.map(|(value, _)| value),
            required,
        })
    }

    fn shape_fits(
        &mut self,
        target: &Target,
        produces: Option<Scalar>,
        is_list: bool,
        line: usize,
    ) -> bool {
        let field = target.name;
        let message = match (target.kind, produces, is_list) {
            (TargetKind::Text, Some(Scalar::Text), false)
            | (TargetKind::Bool, Some(Scalar::Bool), false)
            | (TargetKind::TextList, Some(Scalar::Text) | None, true) => return true,
            (TargetKind::TextList, _, false) => format!(
                "field `{field}` is a list: add `split = \"、\"` (one text holds several) or `list = true` (repeated elements)"
            ),
            (TargetKind::Bool, _, _) => format!(
                "field `{field}` is a boolean: map it through a code table whose values are true/false (like \"是\" = true), or write `value = true`"
            ),
            (_, Some(Scalar::Bool), _) => format!(
                "field `{field}` is {} but its code table maps to booleans",
                target.kind.describe()
            ),
            (_, _, true) => format!(
                "field `{field}` holds one value; remove `split`/`list`"
            ),
            _ => format!("field `{field}` must be {}", target.kind.describe()),
        };
        self.error(line, message);
        false
    }

    fn condition(
        &mut self,
        node: &Node,
        format: Option<SourceFormat>,
        field: &str,
    ) -> Option<Condition> {
        let entries = self.table(node, &format!("`when` of field `{field}`"))?;
        let mut path = None;
        let mut tests = Vec::new();
        let mut complete = true;
        for entry in entries {
            let what = format!("`when.{}` of field `{field}`", entry.key);
            match entry.key.as_str() {
                "path" => match self.string(&entry.node, &what) {
                    Some(text) => {
                        path = self.source_path(&text, format, entry.node.line);
                        complete &= path.is_some();
                    }
                    None => complete = false,
                },
                "equals" => match self.string(&entry.node, &what) {
                    Some(text) => tests.push(Test::Equals(text.trim().to_string())),
                    None => complete = false,
                },
                "in" => match self.string_or_strings(&entry.node, &what) {
                    Some(texts) => tests.push(Test::In(
                        texts.iter().map(|t| t.trim().to_string()).collect(),
                    )),
                    None => complete = false,
                },
                "present" => match self.boolean(&entry.node, &what) {
                    Some(flag) => tests.push(Test::Present(flag)),
                    None => complete = false,
                },
                other => {
                    self.error(
                        entry.line,
                        format!("unknown key `{other}` in `when` of field `{field}`; expected path and one of equals, in, present"),
                    );
                    complete = false;
                }
            }
        }
        if !complete {
            return None;
        }
        let has_path = entries.iter().any(|entry| entry.key == "path");
        if !has_path || tests.len() != 1 {
            self.error(
                node.line,
                format!("`when` of field `{field}` needs `path` and exactly one of `equals`, `in` or `present`"),
            );
            return None;
        }
        Some(Condition {
            path: path?,
            test: tests.pop()?,
        })
    }

    fn concat_parts(&mut self, node: &Node, format: Option<SourceFormat>) -> Option<Vec<Part>> {
        let NodeValue::Array(items) = &node.value else {
            self.error(
                node.line,
                format!("`concat` must be an array like [{{ path = \"a\" }}, {{ text = \"：\" }}, {{ path = \"b\" }}], not {}", node.value.type_name()),
            );
            return None;
        };
        let mut parts = Vec::new();
        let mut complete = true;
        for item in items {
            let part = match &item.value {
                NodeValue::Table(entries) if entries.len() == 1 => {
                    let entry = &entries[0];
                    match entry.key.as_str() {
                        "path" => self
                            .string(&entry.node, "`concat` path")
                            .and_then(|text| self.source_path(&text, format, entry.node.line))
                            .map(Part::Path),
                        "text" => self.string(&entry.node, "`concat` text").map(Part::Text),
                        _ => None,
                    }
                    .or_else(|| {
                        if !matches!(entry.key.as_str(), "path" | "text") {
                            self.error(
                                entry.line,
                                "each `concat` part is { path = \"…\" } or { text = \"…\" }",
                            );
                        }
                        None
                    })
                }
                _ => {
                    self.error(
                        item.line,
                        "each `concat` part is { path = \"…\" } or { text = \"…\" }",
                    );
                    None
                }
            };
            match part {
                Some(part) => parts.push(part),
                None => complete = false,
            }
        }
        if complete && !parts.iter().any(|part| matches!(part, Part::Path(_))) {
            self.error(
                node.line,
                "`concat` needs at least one { path = \"…\" } part",
            );
            return None;
        }
        complete.then_some(parts)
    }

    /// Checks a path's syntax against the format; remembers CSV columns.
    fn source_path(
        &mut self,
        text: &str,
        format: Option<SourceFormat>,
        line: usize,
    ) -> Option<SourcePath> {
        let text = text.trim();
        match format? {
            SourceFormat::Xml => {
                if text == "." {
                    return Some(SourcePath::Xml {
                        elements: Vec::new(),
                        attribute: None,
                    });
                }
                if text.starts_with('/') {
                    self.error(line, format!("XML path `{text}` must be relative to the record element: drop the leading `/`"));
                    return None;
                }
                let mut elements: Vec<String> = text
                    .split('/')
                    .map(|segment| segment.trim().to_string())
                    .collect();
                let attribute = match elements.last().and_then(|last| last.strip_prefix('@')) {
                    Some(name) => {
                        let name = name.to_string();
                        elements.pop();
                        Some(name)
                    }
                    None => None,
                };
                let bad_segment = elements.iter().any(|segment| {
                    segment.is_empty()
                        || segment.starts_with('@')
                        || segment.chars().any(char::is_whitespace)
                });
                let bad_attribute = attribute
                    .as_ref()
                    .is_some_and(|name| name.is_empty() || name.chars().any(char::is_whitespace));
                if text.is_empty() || bad_segment || bad_attribute {
                    self.error(
                        line,
                        format!("XML path `{text}` is malformed; write `a/b` for text, `a/b/@c` for an attribute, `.` for the record's own text"),
                    );
                    return None;
                }
                Some(SourcePath::Xml {
                    elements,
                    attribute,
                })
            }
            SourceFormat::Json | SourceFormat::Jsonl => {
                if !text.starts_with('/') {
                    self.error(
                        line,
                        format!("JSON path `{text}` must be a JSON pointer: write \"/{text}\""),
                    );
                    return None;
                }
                Some(SourcePath::Json(text.to_string()))
            }
            SourceFormat::Csv | SourceFormat::Xlsx => {
                if text.is_empty() {
                    self.error(line, "a CSV or XLSX path must name a column of the header");
                    return None;
                }
                Some(self.column(text))
            }
            SourceFormat::Row => {
                if text.is_empty() || text.contains('/') {
                    self.error(
                        line,
                        format!("`{text}` is not a column name; a row path is a plain column name of the table, like \"case_no\" (no `/`)"),
                    );
                    return None;
                }
                Some(self.column(text))
            }
        }
    }

    /// A column path, remembered for the header (csv, xlsx) or table (row) check.
    fn column(&mut self, name: &str) -> SourcePath {
        if !self.columns.iter().any(|column| column == name) {
            self.columns.push(name.to_string());
        }
        SourcePath::Column(name.to_string())
    }

    // --- [[documents]] ---

    /// `[[documents]]`: each entry a table with `kind`, exactly one of `file` / `url` / `base64`
    /// (a path of the record), and an optional `media_type` or `media_type_path`.
    fn documents(
        &mut self,
        node: &Node,
        format: Option<SourceFormat>,
    ) -> Vec<crate::documents::DocumentRule> {
        use crate::documents::{DocumentRule, Locator, DOCUMENT_KINDS};
        let NodeValue::Array(items) = &node.value else {
            self.error(
                node.line,
                "`documents` must be an array of tables: write each entry as [[documents]]",
            );
            return Vec::new();
        };
        let mut rules = Vec::new();
        for item in items {
            let Some(entries) = self.table(item, "a [[documents]] entry") else {
                continue;
            };
            let mut kind = None;
            let mut located: Option<(Locator, SourcePath)> = None;
            let mut media_type = None;
            let mut media_type_source = None;
            let mut complete = true;
            for entry in entries {
                let locator = match entry.key.as_str() {
                    "file" => Some(Locator::File),
                    "url" => Some(Locator::Url),
                    "base64" => Some(Locator::Base64),
                    _ => None,
                };
                match (entry.key.as_str(), locator) {
                    (_, Some(locator)) => {
                        if located.is_some() {
                            self.error(entry.line, "a [[documents]] entry takes one of `file`, `url` and `base64`, not several");
                            complete = false;
                            continue;
                        }
                        let what = format!("`documents.{}`", locator.as_str());
                        match self
                            .string(&entry.node, &what)
                            .and_then(|text| self.source_path(&text, format, entry.node.line))
                        {
                            Some(path) => located = Some((locator, path)),
                            None => complete = false,
                        }
                    }
                    ("kind", None) => {
                        match self.string(&entry.node, "`documents.kind`") {
                            Some(text) => match DOCUMENT_KINDS.iter().find(|k| **k == text) {
                                Some(known) => kind = Some(*known),
                                None => {
                                    self.error(entry.node.line, format!("unknown document kind `{text}`; use decision or evidence"));
                                    complete = false;
                                }
                            },
                            None => complete = false,
                        }
                    }
                    ("media_type", None) => {
                        match self.non_empty_string(&entry.node, "`documents.media_type`") {
                            Some(text) => media_type = Some(text.trim().to_string()),
                            None => complete = false,
                        }
                    }
                    ("media_type_path", None) => {
                        match self
                            .string(&entry.node, "`documents.media_type_path`")
                            .and_then(|text| self.source_path(&text, format, entry.node.line))
                        {
                            Some(path) => media_type_source = Some(Source::Path(path)),
                            None => complete = false,
                        }
                    }
                    (other, None) => {
                        self.error(entry.line, format!("unknown key `{other}` in [[documents]]; expected kind, file | url | base64, media_type or media_type_path"));
                        complete = false;
                    }
                }
            }
            if media_type.is_some() && media_type_source.is_some() {
                self.error(
                    item.line,
                    "a [[documents]] entry takes `media_type` or `media_type_path`, not both",
                );
                complete = false;
            }
            if kind.is_none() && complete {
                self.error(
                    item.line,
                    "a [[documents]] entry needs `kind` (decision or evidence)",
                );
                complete = false;
            }
            if located.is_none() && complete {
                self.error(item.line, "a [[documents]] entry needs one of `file`, `url` and `base64`: the path of the record that names the document");
                complete = false;
            }
            if let (true, Some(kind), Some((locator, path))) = (complete, kind, located) {
                rules.push(DocumentRule {
                    kind,
                    locator,
                    source: Source::Path(path),
                    media_type,
                    media_type_source,
                });
            }
        }
        rules
    }

    // --- small typed accessors that report wrong types ---

    fn table<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Entry]> {
        match &node.value {
            NodeValue::Table(entries) => Some(entries),
            other => {
                self.error(
                    node.line,
                    format!("{what} must be a table, not {}", other.type_name()),
                );
                None
            }
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            NodeValue::String(text) => Some(text.clone()),
            other => {
                self.error(
                    node.line,
                    format!("{what} must be a string, not {}", other.type_name()),
                );
                None
            }
        }
    }

    fn non_empty_string(&mut self, node: &Node, what: &str) -> Option<String> {
        let text = self.string(node, what)?;
        if text.trim().is_empty() {
            self.error(node.line, format!("{what} must not be empty"));
            return None;
        }
        Some(text)
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            NodeValue::Bool(flag) => Some(*flag),
            other => {
                self.error(
                    node.line,
                    format!("{what} must be true or false, not {}", other.type_name()),
                );
                None
            }
        }
    }

    /// `chars = [start, end]`: two integers, `0 <= start < end`.
    fn char_range(&mut self, node: &Node, what: &str) -> Option<CharRange> {
        let bounds = match &node.value {
            NodeValue::Array(items) => items
                .iter()
                .map(|item| match item.value {
                    NodeValue::Integer(number) => usize::try_from(number).ok(),
                    _ => None,
                })
                .collect::<Option<Vec<usize>>>(),
            _ => None,
        };
        match bounds.as_deref() {
            Some(&[start, end]) if start < end => Some(CharRange { start, end }),
            _ => {
                self.error(
                    node.line,
                    format!("{what} must be [start, end]: two whole numbers with 0 <= start < end, counting characters from 0, end excluded (characters 3–8 are [2, 8])"),
                );
                None
            }
        }
    }

    fn string_or_strings(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        match &node.value {
            NodeValue::String(text) => Some(vec![text.clone()]),
            NodeValue::Array(items) => items.iter().map(|item| self.string(item, what)).collect(),
            other => {
                self.error(
                    node.line,
                    format!(
                        "{what} must be a string or an array of strings, not {}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }

    /// A constant output value: a string, a boolean or an array of strings.
    fn constant(&mut self, node: &Node, what: &str) -> Option<Value> {
        match &node.value {
            NodeValue::String(text) => Some(Value::String(text.clone())),
            NodeValue::Bool(flag) => Some(Value::Bool(*flag)),
            NodeValue::Array(items) => items
                .iter()
                .map(|item| self.string(item, what).map(Value::String))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            other => {
                self.error(
                    node.line,
                    format!(
                        "{what} must be a string, true/false or an array of strings, not {}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }
}

fn has_key(entries: &[Entry], key: &str) -> bool {
    entries.iter().any(|entry| entry.key == key)
}

/// The scalar kind and list-ness of a constant (`None` scalar for an empty array).
fn shape_of(value: &Value) -> (Option<Scalar>, bool) {
    match value {
        Value::Bool(_) => (Some(Scalar::Bool), false),
        Value::Array(items) if items.is_empty() => (None, true),
        Value::Array(_) => (Some(Scalar::Text), true),
        _ => (Some(Scalar::Text), false),
    }
}

/// `[fields]` entries with nesting tables (no rule keys) unfolded into dotted names.
fn flatten<'n>(entries: &'n [Entry], prefix: &str, out: &mut Vec<(String, &'n Entry)>) {
    for entry in entries {
        let name = if prefix.is_empty() {
            entry.key.clone()
        } else {
            format!("{prefix}.{}", entry.key)
        };
        match &entry.node.value {
            NodeValue::Table(inner)
                if !inner.is_empty()
                    && !inner.iter().any(|e| RULE_KEYS.contains(&e.key.as_str())) =>
            {
                flatten(inner, &name, out)
            }
            _ => out.push((name, entry)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> String {
        match compile(text, Path::new("m.toml")) {
            Ok(_) => String::from("(compiled)"),
            Err(errors) => errors.to_string(),
        }
    }

    const HEADER: &str =
        "[mapping]\nname = \"t\"\nversion = \"1\"\nformat = \"csv\"\nkey = { path = \"编号\" }\n";

    #[test]
    fn a_minimal_mapping_compiles() {
        let text = format!("{HEADER}[fields]\ncategory = {{ value = \"penalty\" }}\n");
        assert_eq!(errors(&text), "(compiled)");
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let error = errors("[mapping]\nname = \"t\nversion = \"1\"\n");
        assert!(error.starts_with("m.toml:2: invalid TOML"), "{error}");
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let text = format!(
            "{HEADER}color = 1\n[fields]\ndecided_at = {{ path = \"日期\" }}\nmajor = {{ path = \"重大\" }}\nstatus = {{ path = \"状态\", codes = \"nope\" }}\nfine_amount = {{ path = \"罚款\", amount = \"dollars\" }}\n"
        );
        let error = errors(&text);
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 5, "{error}");
        assert!(
            lines[0].starts_with("m.toml:6: unknown key `color` in [mapping]"),
            "{error}"
        );
        assert!(
            lines[1].starts_with(
                "m.toml:8: `decided_at` is not a disclosure.v1 field (did you mean `decided_on`?)"
            ),
            "{error}"
        );
        assert!(
            lines[2].starts_with("m.toml:9: field `major` is a boolean"),
            "{error}"
        );
        assert!(
            lines[3].starts_with("m.toml:10: field `status` uses code table `nope`"),
            "{error}"
        );
        assert!(
            lines[4].starts_with("m.toml:11: `amount` of field `fine_amount` is `dollars`"),
            "{error}"
        );
    }

    #[test]
    fn header_problems() {
        let error = errors("[mapping]\nversion = 1\nformat = \"yaml\"\n[fields]\ncategory = { value = \"penalty\" }\n");
        assert!(
            error.contains("m.toml:1: [mapping] needs `name`"),
            "{error}"
        );
        assert!(error.contains("m.toml:1: [mapping] needs `key`"), "{error}");
        assert!(
            error.contains("m.toml:2: `mapping.version` must be a string"),
            "{error}"
        );
        assert!(error.contains("m.toml:3: unknown format `yaml`"), "{error}");
        let error = errors("[fields]\ncategory = { value = \"penalty\" }\n");
        assert_eq!(
            error,
            "m.toml: no [mapping] table; it names the mapping, its version and the source format"
        );
    }

    #[test]
    fn paths_are_checked_against_the_format() {
        let xml = "[mapping]\nname = \"t\"\nversion = \"1\"\nformat = \"xml\"\nrecords = \"/R/C\"\nkey = { path = \"/id\" }\n[fields]\nfacts = { path = \"a//b\" }\n";
        let error = errors(xml);
        assert!(
            error.contains("m.toml:5: `mapping.records` for XML"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:6: XML path `/id` must be relative"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:8: XML path `a//b` is malformed"),
            "{error}"
        );
        let json = "[mapping]\nname = \"t\"\nversion = \"1\"\nformat = \"jsonl\"\nkey = { path = \"id\" }\n[fields]\nfacts = { path = \"/a\" }\n";
        assert_eq!(
            errors(json),
            "m.toml:5: JSON path `id` must be a JSON pointer: write \"/id\""
        );
    }

    #[test]
    fn shapes_must_fit_the_target() {
        let text = format!(
            "{HEADER}[fields]\npenalty_kinds = {{ path = \"种类\" }}\nfacts = {{ path = \"事实\", split = \"、\" }}\n[codes.yn]\n\"是\" = true\n\"否\" = false\n"
        );
        let error = errors(&text);
        assert!(
            error.contains("m.toml:7: field `penalty_kinds` is a list"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:8: field `facts` holds one value"),
            "{error}"
        );
        let text = format!("{HEADER}[fields]\ncategory = {{ path = \"类别\", codes = \"yn\" }}\n[codes.yn]\n\"是\" = true\n");
        assert!(errors(&text).contains("its code table maps to booleans"));
    }

    #[test]
    fn code_tables_must_be_of_one_kind_and_not_empty() {
        let text = format!(
            "{HEADER}[fields]\nmajor = {{ path = \"重大\", codes = \"yn\" }}\n[codes.yn]\n\"是\" = true\n\"否\" = \"false\"\n[codes.empty]\n"
        );
        let error = errors(&text);
        assert!(
            error.contains("m.toml:10: [codes.yn] mixes strings and booleans"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:11: code table `empty` is empty"),
            "{error}"
        );
        assert!(
            !error.contains("not defined"),
            "a broken table is still known: {error}"
        );
    }

    #[test]
    fn reserved_fields_and_duplicates_are_rejected() {
        let text = format!(
            "{HEADER}[fields]\nrecord_id = {{ path = \"id\" }}\nversion = {{ value = \"1\" }}\n\"agency.name\" = {{ path = \"机关\" }}\n[fields.agency]\nname = {{ path = \"机关2\" }}\n"
        );
        let error = errors(&text);
        assert!(
            error.contains("m.toml:7: `record_id` is filled by the mapping itself"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:8: `version` is assigned by the hub"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:11: field `agency.name` is mapped twice (first on line 9)"),
            "{error}"
        );
    }

    #[test]
    fn nested_tables_are_dotted_fields() {
        let text = format!(
            "{HEADER}[fields.agency]\nname = {{ path = \"机关\" }}\nuscc = {{ path = \"代码\" }}\n"
        );
        let mapping = compile(&text, Path::new("m.toml")).unwrap();
        let names: Vec<&str> = mapping.fields.iter().map(|plan| plan.target.name).collect();
        assert_eq!(names, vec!["agency.name", "agency.uscc"]);
    }

    #[test]
    fn rule_combinations_are_checked() {
        let text = format!(
            "{HEADER}[fields]\nfacts = {{ path = \"a\", value = \"b\" }}\ndecided_on = {{ path = \"d\", date = \"%Y%m%d\", amount = \"yuan\" }}\nremarks = {{ value = \"x\", codes = \"c\" }}\ncontent = {{ path = \"c\", separator = \"-\" }}\nlegal_basis = {{ path = \"b\", when = {{ path = \"x\" }} }}\nmajor = {{ value = true, bogus = 1 }}\n"
        );
        let error = errors(&text);
        assert!(
            error.contains("m.toml:7: field `facts` needs exactly one of"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:8: field `decided_on` has both `date` and `amount`"),
            "{error}"
        );
        assert!(
            error
                .contains("m.toml:9: field `remarks` has a constant `value`; `codes` do not apply"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:10: `separator` of field `content` only goes with `concat`"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:11: `when` of field `legal_basis` needs `path` and exactly one"),
            "{error}"
        );
        assert!(
            error.contains("m.toml:12: unknown key `bogus` in field `major`"),
            "{error}"
        );
    }

    #[test]
    fn defaults_must_have_the_rule_output_shape() {
        let text = format!("{HEADER}[fields]\nstatus = {{ path = \"s\", default = true }}\n");
        assert!(errors(&text).contains("m.toml:7: `default` of field `status` must be text"));
    }

    #[test]
    fn date_formats_are_checked_at_load() {
        let text = format!("{HEADER}[fields]\ndecided_on = {{ path = \"d\", date = \"%Y\" }}\n");
        assert!(errors(&text).contains(
            "m.toml:7: field `decided_on`: date format `%Y` does not describe a whole date"
        ));
    }

    #[test]
    fn xlsx_and_row_headers_take_only_their_own_keys() {
        let xlsx = "[mapping]\nname = \"t\"\nversion = \"1\"\nformat = \"xlsx\"\nsheet = \"行政处罚\"\nencoding = \"GBK\"\ndelimiter = \";\"\nrecords = \"x\"\nkey = { path = \"文号\" }\n[fields]\nfacts = { path = \"事实\" }\n";
        let error = errors(xlsx);
        assert_eq!(
            error,
            "m.toml:6: `encoding` does not apply to xlsx (always Unicode inside) or row (the database driver decodes text)\n\
             m.toml:7: `delimiter` is only for format = \"csv\"\n\
             m.toml:8: `mapping.records` is only for xml and json; jsonl, csv and xlsx have one record per line or row, and row one per database row"
        );
        let mapping = compile(
            &xlsx.replace(
                "encoding = \"GBK\"\ndelimiter = \";\"\nrecords = \"x\"\n",
                "",
            ),
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(mapping.sheet.as_deref(), Some("行政处罚"));
        assert_eq!(mapping.columns, vec!["文号", "事实"]);
        let csv = format!("{HEADER}sheet = \"s\"\n[fields]\nfacts = {{ path = \"事实\" }}\n");
        assert_eq!(
            errors(&csv),
            "m.toml:6: `sheet` is only for format = \"xlsx\""
        );
        let empty_sheet = xlsx.replace("sheet = \"行政处罚\"", "sheet = \" \"");
        assert!(errors(&empty_sheet).contains("m.toml:5: `mapping.sheet` must not be empty"));
    }

    #[test]
    fn chars_must_be_a_proper_character_range() {
        for (bad, line) in [
            ("[8, 2]", 7),
            ("[2, 2]", 7),
            ("[-1, 2]", 7),
            ("[2]", 7),
            ("\"2-8\"", 7),
            ("[2, 8.5]", 7),
        ] {
            let text =
                format!("{HEADER}[fields]\ndivision_code = {{ path = \"代码\", chars = {bad} }}\n");
            let error = errors(&text);
            assert!(
                error.starts_with(&format!(
                    "m.toml:{line}: `chars` of field `division_code` must be [start, end]"
                )),
                "{bad}: {error}"
            );
        }
        let text = format!("{HEADER}[fields]\ndivision_code = {{ path = \"代码\", chars = [2, 8] }}\nremarks = {{ value = \"x\", chars = [0, 1] }}\n");
        assert_eq!(
            errors(&text),
            "m.toml:8: field `remarks` has a constant `value`; `chars` do not apply to it"
        );
    }

    #[test]
    fn split_takes_one_separator_or_several() {
        let text = format!(
            "{HEADER}[fields]\npenalty_kinds = {{ path = \"类别\", split = [\";\", \"；\"] }}\n"
        );
        assert_eq!(errors(&text), "(compiled)");
        for bad in ["\"\"", "[]", "[\";\", \"\"]"] {
            let text =
                format!("{HEADER}[fields]\npenalty_kinds = {{ path = \"类别\", split = {bad} }}\n");
            assert!(
                errors(&text)
                    .starts_with("m.toml:7: `split` of field `penalty_kinds` needs a separator"),
                "{bad}: {}",
                errors(&text)
            );
        }
    }

    #[test]
    fn csv_columns_are_collected_for_the_header_check() {
        let text = format!(
            "{HEADER}[fields]\nfacts = {{ concat = [{{ path = \"a\" }}, {{ text = \"-\" }}, {{ path = \"b\" }}] }}\nstatus = {{ value = \"revoked\", when = {{ path = \"撤销\", equals = \"1\" }} }}\n"
        );
        let mapping = compile(&text, Path::new("m.toml")).unwrap();
        assert_eq!(mapping.columns, vec!["编号", "a", "b", "撤销"]);
    }
}
