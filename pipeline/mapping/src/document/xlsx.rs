//! Excel workbooks (`.xlsx`) → source records: one sheet, its first non-empty row the header, every
//! later row with a value under a named column one record.
//!
//! Read with calamine. Cells become the text a person sees in the sheet, so that the same field
//! rules work on a sheet and on its CSV export: strings trimmed, whole numbers without `.0`, other
//! numbers in their shortest decimal form (`0.5`, never `5E-1`), dates `YYYY-MM-DD`, booleans
//! `true`/`false`. An error value (`#N/A`) is kept as such, so that a record fails naming the cell
//! only when the mapping reads it.
//!
//! Limits: a sheet may hold at most `max_records` records and `max_elements` non-empty cells (the
//! source's [`ReadLimits`]). A workbook is a zip archive that can unpack to far more than its size;
//! the cells are streamed and counted, so a hostile sheet is refused before it fills memory.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, XlsxError};

use crate::error::DocumentError;
use crate::limits::ReadLimits;
use crate::record::{RecordBody, SheetCell, SourceRecord};

/// The start of an OLE compound file: an old `.xls` workbook, or an encrypted `.xlsx`.
const OLE_MAGIC: [u8; 4] = [0xD0, 0xCF, 0x11, 0xE0];

pub(crate) fn read_xlsx(
    bytes: &[u8],
    origin: &str,
    sheet: Option<&str>,
    columns: &[String],
    limits: &ReadLimits,
) -> Result<Vec<SourceRecord>, DocumentError> {
    read_xlsx_limited(
        bytes,
        origin,
        sheet,
        columns,
        usize::try_from(limits.max_records).unwrap_or(usize::MAX),
        usize::try_from(limits.max_elements).unwrap_or(usize::MAX),
    )
}

fn read_xlsx_limited(
    bytes: &[u8],
    origin: &str,
    sheet: Option<&str>,
    columns: &[String],
    max_rows: usize,
    max_cells: usize,
) -> Result<Vec<SourceRecord>, DocumentError> {
    let mut workbook = open(bytes, origin)?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) if names.iter().any(|name| name == wanted) => wanted.to_string(),
        Some(wanted) => {
            return Err(DocumentError::whole(
                origin,
                format!(
                    "the workbook has no sheet `{wanted}` (its sheets: {}); is this the right mapping for the file?",
                    quote_list(&names)
                ),
            ))
        }
        None => names.first().cloned().ok_or_else(|| {
            DocumentError::whole(origin, "the workbook has no sheet")
        })?,
    };
    let rows = read_cells(&mut workbook, &name, origin, max_rows, max_cells)?;
    let mut rows = rows.into_iter();
    let Some((header_row, header_cells)) = rows.next() else {
        return Err(DocumentError::whole(
            origin,
            format!("sheet `{name}` is empty; its first non-empty row must name the columns"),
        ));
    };
    let header = header(&header_cells, header_row, &name, origin)?;
    let missing: Vec<&str> = columns
        .iter()
        .filter(|column| !header.values().any(|name| name == *column))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let present: Vec<&str> = header.values().map(String::as_str).collect();
        return Err(DocumentError::at(
            origin,
            u64::from(header_row) + 1,
            format!(
                "the header of sheet `{name}` lacks {}, which the mapping reads (the header has: {})",
                quote_list(&missing),
                quote_list(&present)
            ),
        ));
    }

    let mut records = Vec::new();
    for (row, cells) in rows {
        let by_column: BTreeMap<u32, &Data> =
            cells.iter().map(|(column, data)| (*column, data)).collect();
        if !header.keys().any(|column| by_column.contains_key(column)) {
            // Only cells outside the table (a note beside it): not a row of the table.
            continue;
        }
        let body: BTreeMap<String, SheetCell> = header
            .iter()
            .map(|(column, column_name)| {
                let cell = match by_column.get(column) {
                    None => SheetCell::Text(String::new()),
                    Some(data) => match cell_text(data) {
                        Ok(text) => SheetCell::Text(text),
                        Err(error) => SheetCell::Error {
                            cell: cell_reference(&name, row, *column),
                            error,
                        },
                    },
                };
                (column_name.clone(), cell)
            })
            .collect();
        records.push(SourceRecord::new(
            origin,
            u64::from(row) + 1,
            RecordBody::Sheet(body),
        ));
    }
    Ok(records)
}

fn open<'b>(bytes: &'b [u8], origin: &str) -> Result<Xlsx<Cursor<&'b [u8]>>, DocumentError> {
    Xlsx::new(Cursor::new(bytes)).map_err(|error| {
        let message = match error {
            XlsxError::Password => {
                "the workbook is encrypted (password protected); save it without a password".to_string()
            }
            XlsxError::Zip(_) if bytes.starts_with(&OLE_MAGIC) => {
                "this is an old-style .xls workbook (or another OLE file), not .xlsx; save it as \"Excel Workbook (*.xlsx)\"".to_string()
            }
            XlsxError::Zip(_) => {
                "not an .xlsx workbook (not a zip archive); save the sheet as \"Excel Workbook (*.xlsx)\"".to_string()
            }
            other => format!(
                "cannot read the workbook ({}); save it again as .xlsx",
                describe(&other)
            ),
        };
        DocumentError::whole(origin, message)
    })
}

/// calamine's message, except where it would quote a cell's content (which may be personal data).
fn describe(error: &XlsxError) -> String {
    match error {
        XlsxError::CellError(_) => "a cell holds an error value Excel does not define".to_string(),
        XlsxError::Unrecognized { typ, .. } => format!("a {typ} that is not understood"),
        other => other.to_string(),
    }
}

/// Every non-empty cell of the sheet, grouped by row (0-based), rows and cells in order.
fn read_cells(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    sheet: &str,
    origin: &str,
    max_rows: usize,
    max_cells: usize,
) -> Result<BTreeMap<u32, Vec<(u32, Data)>>, DocumentError> {
    let unreadable = |error: XlsxError| {
        let message = match error {
            XlsxError::NotAWorksheet(kind) => {
                format!("sheet `{sheet}` is not a worksheet but a {kind}; set `sheet` in the mapping to the sheet with the table")
            }
            other => format!(
                "cannot read sheet `{sheet}` ({}); save the workbook again as .xlsx",
                describe(&other)
            ),
        };
        DocumentError::whole(origin, message)
    };
    let mut reader = workbook.worksheet_cells_reader(sheet).map_err(unreadable)?;
    let mut rows: BTreeMap<u32, Vec<(u32, Data)>> = BTreeMap::new();
    let mut cells = 0usize;
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let data = Data::from(cell.get_value().clone());
        if is_blank(&data) {
            continue;
        }
        cells += 1;
        if cells > max_cells {
            return Err(DocumentError::whole(
                origin,
                format!("sheet `{sheet}` has more than {max_cells} filled cells; split it into several files"),
            ));
        }
        let (row, column) = cell.get_position();
        rows.entry(row).or_default().push((column, data));
        // The header row is not a record.
        if rows.len() > max_rows + 1 {
            return Err(DocumentError::whole(
                origin,
                format!(
                    "sheet `{sheet}` has more than {max_rows} rows; split it into several files"
                ),
            ));
        }
    }
    for cells in rows.values_mut() {
        cells.sort_by_key(|(column, _)| *column);
    }
    Ok(rows)
}

fn is_blank(data: &Data) -> bool {
    match data {
        Data::Empty => true,
        Data::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// Column number (0-based) → column name → the header's names. Header cells must be text a person
/// typed: an error value in the header, or a name twice, rejects the file.
fn header(
    cells: &[(u32, Data)],
    row: u32,
    sheet: &str,
    origin: &str,
) -> Result<BTreeMap<u32, String>, DocumentError> {
    let mut header = BTreeMap::new();
    for (column, data) in cells {
        let name = cell_text(data).map_err(|error| {
            DocumentError::at(
                origin,
                u64::from(row) + 1,
                format!(
                    "header cell {} holds the error {error}; the header row must name the columns",
                    cell_reference(sheet, row, *column)
                ),
            )
        })?;
        if header.values().any(|seen| seen == &name) {
            return Err(DocumentError::at(
                origin,
                u64::from(row) + 1,
                format!("column `{name}` appears twice in the header of sheet `{sheet}`"),
            ));
        }
        header.insert(*column, name);
    }
    Ok(header)
}

/// The text of a cell as a person reads it, or the error value it shows.
fn cell_text(data: &Data) -> Result<String, String> {
    match data {
        Data::Empty => Ok(String::new()),
        Data::String(text) => Ok(text.trim().to_string()),
        Data::Int(number) => Ok(number.to_string()),
        Data::Float(number) => number_text(*number),
        Data::Bool(flag) => Ok(flag.to_string()),
        Data::DateTime(moment) if moment.is_datetime() => {
            // A cell formatted as a date (or date and time) holds an Excel serial day number; the
            // schema has dates only, so a time of day is dropped.
            let (year, month, day, ..) = moment.to_ymd_hms_milli();
            Ok(format!("{year:04}-{month:02}-{day:02}"))
        }
        // A duration (`[h]:mm`) is a number of days.
        Data::DateTime(moment) => number_text(moment.as_f64()),
        Data::DateTimeIso(text) => Ok(iso_date(text)),
        Data::DurationIso(text) => Ok(text.clone()),
        Data::Error(error) => Err(error.to_string()),
    }
}

/// Whole numbers without `.0`, others in the shortest decimal text that reads back as the same
/// number (Rust's `Display` for `f64`, which never uses an exponent).
fn number_text(number: f64) -> Result<String, String> {
    if !number.is_finite() {
        return Err("#NUM!".to_string());
    }
    if number == 0.0 {
        // Also -0.
        return Ok("0".to_string());
    }
    Ok(format!("{number}"))
}

/// An ISO 8601 date or date-time cell (strict Office Open XML) → its date.
fn iso_date(text: &str) -> String {
    let text = text.trim();
    match text.get(..10) {
        Some(date) if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok() => {
            date.to_string()
        }
        _ => text.to_string(),
    }
}

/// `Sheet1!C7` for 0-based row 6, column 2.
fn cell_reference(sheet: &str, row: u32, column: u32) -> String {
    let mut letters = Vec::new();
    let mut rest = column + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + digit as u8));
        rest = (rest - 1) / 26;
    }
    let letters: String = letters.iter().rev().collect();
    format!("{sheet}!{letters}{}", row + 1)
}

fn quote_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn read_xlsx_default(
        bytes: &[u8],
        origin: &str,
        sheet: Option<&str>,
        columns: &[String],
    ) -> Result<Vec<SourceRecord>, DocumentError> {
        read_xlsx(bytes, origin, sheet, columns, &ReadLimits::default())
    }
    use std::io::Write;

    use crate::record::SourceRecord;

    /// One cell of a test sheet, as it is written in the sheet XML.
    pub(crate) enum TestCell<'a> {
        /// A shared string.
        Text(&'a str),
        /// An inline string (`t="inlineStr"`), as some exporters write.
        Inline(&'a str),
        /// A number, written as given (`5000`, `0.5`, `46300`).
        Number(&'a str),
        /// A number shown with a date format: an Excel serial date.
        Date(&'a str),
        Bool(bool),
        /// An error value: `#N/A`, `#DIV/0!`.
        Error(&'a str),
        /// An ISO 8601 date cell (`t="d"`).
        Iso(&'a str),
        /// Any type and raw value, as a broken exporter may write them.
        Typed(&'a str, &'a str),
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    /// A workbook with the given sheets; each row is `(1-based row number, [(column letters, cell)])`.
    #[allow(clippy::type_complexity)]
    pub(crate) fn workbook(sheets: &[(&str, Vec<(u32, Vec<(&str, TestCell)>)>)]) -> Vec<u8> {
        let mut strings: Vec<String> = Vec::new();
        let mut sheet_xml = Vec::new();
        for (_, rows) in sheets {
            let mut xml = String::from(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
            );
            for (row, cells) in rows {
                xml.push_str(&format!(r#"<row r="{row}">"#));
                for (column, cell) in cells {
                    let reference = format!("{column}{row}");
                    let cell = match cell {
                        TestCell::Text(text) => {
                            strings.push(text.to_string());
                            format!(
                                r#"<c r="{reference}" t="s"><v>{}</v></c>"#,
                                strings.len() - 1
                            )
                        }
                        TestCell::Inline(text) => format!(
                            r#"<c r="{reference}" t="inlineStr"><is><t>{}</t></is></c>"#,
                            escape(text)
                        ),
                        TestCell::Number(number) => {
                            format!(r#"<c r="{reference}"><v>{number}</v></c>"#)
                        }
                        TestCell::Date(serial) => {
                            format!(r#"<c r="{reference}" s="1"><v>{serial}</v></c>"#)
                        }
                        TestCell::Bool(flag) => {
                            format!(r#"<c r="{reference}" t="b"><v>{}</v></c>"#, u8::from(*flag))
                        }
                        TestCell::Error(error) => {
                            format!(r#"<c r="{reference}" t="e"><v>{}</v></c>"#, escape(error))
                        }
                        TestCell::Iso(text) => {
                            format!(r#"<c r="{reference}" t="d"><v>{text}</v></c>"#)
                        }
                        TestCell::Typed(kind, value) => format!(
                            r#"<c r="{reference}" t="{kind}"><v>{}</v></c>"#,
                            escape(value)
                        ),
                    };
                    xml.push_str(&cell);
                }
                xml.push_str("</row>");
            }
            xml.push_str("</sheetData></worksheet>");
            sheet_xml.push(xml);
        }
        let mut shared = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
            strings.len()
        );
        for text in &strings {
            shared.push_str(&format!(
                r#"<si><t xml:space="preserve">{}</t></si>"#,
                escape(text)
            ));
        }
        shared.push_str("</sst>");
        let sheets_entries: String = sheets
            .iter()
            .enumerate()
            .map(|(index, (name, _))| {
                format!(
                    r#"<sheet name="{}" sheetId="{}" r:id="rId{}"/>"#,
                    escape(name),
                    index + 1,
                    index + 1
                )
            })
            .collect();
        let relationships: String = (0..sheets.len())
            .map(|index| {
                format!(
                    r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{}.xml"/>"#,
                    index + 1,
                    index + 1
                )
            })
            .collect();
        let n = sheets.len();
        let mut files: Vec<(String, String)> = vec![
            (
                "[Content_Types].xml".into(),
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#.into(),
            ),
            (
                "_rels/.rels".into(),
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into(),
            ),
            (
                "xl/workbook.xml".into(),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets_entries}</sheets></workbook>"#
                ),
            ),
            (
                "xl/_rels/workbook.xml.rels".into(),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{relationships}<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
                    n + 1,
                    n + 2
                ),
            ),
            (
                // Style 1 is a date format (built-in number format 14, `m/d/yyyy`).
                "xl/styles.xml".into(),
                r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#.into(),
            ),
            ("xl/sharedStrings.xml".into(), shared),
        ];
        for (index, xml) in sheet_xml.into_iter().enumerate() {
            files.push((format!("xl/worksheets/sheet{}.xml", index + 1), xml));
        }
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, content) in files {
            writer.start_file(name, options).expect("zip entry");
            writer.write_all(content.as_bytes()).expect("zip write");
        }
        writer.finish().expect("zip finish").into_inner()
    }

    fn body(record: &SourceRecord) -> &BTreeMap<String, SheetCell> {
        match &record.body {
            RecordBody::Sheet(row) => row,
            _ => panic!("a sheet record"),
        }
    }

    fn text(value: &str) -> SheetCell {
        SheetCell::Text(value.to_string())
    }

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn cells_become_the_text_a_person_sees() {
        use TestCell::*;
        let bytes = workbook(&[(
            "行政处罚",
            vec![
                (
                    2,
                    vec![
                        ("B", Text("文号")),
                        ("C", Text("金额")),
                        ("D", Text("日期")),
                        ("E", Text("重大")),
                        ("F", Inline("序号")),
                        ("G", Text("ISO")),
                    ],
                ),
                (
                    3,
                    vec![
                        ("B", Text("  茌卫罚〔2026〕1号 ")),
                        ("C", Number("0.5")),
                        ("D", Date("46300")),
                        ("E", Bool(false)),
                        ("F", Number("7")),
                        ("G", Iso("2026-10-12T00:00:00")),
                    ],
                ),
                (
                    5,
                    vec![
                        ("B", Text("茌卫罚〔2026〕2号")),
                        ("C", Number("5000")),
                        ("D", Date("46300.75")),
                        ("E", Bool(true)),
                        ("F", Number("1.25E-2")),
                        ("G", Number("-0")),
                    ],
                ),
            ],
        )]);
        let records = read_xlsx_default(&bytes, "a.xlsx", None, &columns(&["文号"])).unwrap();
        assert_eq!(
            records.iter().map(SourceRecord::line).collect::<Vec<_>>(),
            vec![3, 5],
            "the sheet's row numbers; the empty row 4 is no record"
        );
        let first = body(&records[0]);
        assert_eq!(first["文号"], text("茌卫罚〔2026〕1号"));
        assert_eq!(first["金额"], text("0.5"));
        assert_eq!(first["日期"], text("2026-10-05"));
        assert_eq!(first["重大"], text("false"));
        assert_eq!(first["序号"], text("7"));
        assert_eq!(first["ISO"], text("2026-10-12"));
        let second = body(&records[1]);
        assert_eq!(second["金额"], text("5000"), "no `.0` on a whole number");
        assert_eq!(
            second["日期"],
            text("2026-10-05"),
            "the time of day is dropped"
        );
        assert_eq!(second["重大"], text("true"));
        assert_eq!(second["序号"], text("0.0125"), "never an exponent");
        assert_eq!(second["ISO"], text("0"));
    }

    #[test]
    fn an_error_cell_is_kept_with_its_reference() {
        use TestCell::*;
        let bytes = workbook(&[(
            "sheet1",
            vec![
                (1, vec![("A", Text("编号")), ("C", Text("金额"))]),
                (7, vec![("A", Text("K-1")), ("C", Error("#N/A"))]),
            ],
        )]);
        let records = read_xlsx_default(&bytes, "a.xlsx", None, &[]).unwrap();
        assert_eq!(
            body(&records[0])["金额"],
            SheetCell::Error {
                cell: "sheet1!C7".into(),
                error: "#N/A".into()
            }
        );
        let replayed = SourceRecord::from_raw_text(&records[0].raw_text()).unwrap();
        assert_eq!(replayed, records[0]);
    }

    #[test]
    fn the_named_sheet_is_read_and_a_missing_one_is_named() {
        use TestCell::*;
        let bytes = workbook(&[
            ("说明", vec![(1, vec![("A", Text("填报说明"))])]),
            (
                "行政许可",
                vec![(1, vec![("A", Text("编号"))]), (2, vec![("A", Text("1"))])],
            ),
        ]);
        let records =
            read_xlsx_default(&bytes, "a.xlsx", Some("行政许可"), &columns(&["编号"])).unwrap();
        assert_eq!(records.len(), 1);
        let error = read_xlsx_default(&bytes, "a.xlsx", None, &columns(&["编号"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xlsx:1: the header of sheet `说明` lacks `编号`, which the mapping reads (the header has: `填报说明`)"
        );
        let error = read_xlsx_default(&bytes, "a.xlsx", Some("处罚"), &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xlsx: the workbook has no sheet `处罚` (its sheets: `说明`, `行政许可`); is this the right mapping for the file?"
        );
    }

    #[test]
    fn header_problems_reject_the_file() {
        use TestCell::*;
        let twice = workbook(&[(
            "s",
            vec![(2, vec![("A", Text("编号")), ("B", Text("编号"))])],
        )]);
        let error = read_xlsx_default(&twice, "a.xlsx", None, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xlsx:2: column `编号` appears twice in the header of sheet `s`"
        );
        let broken = workbook(&[("s", vec![(1, vec![("A", Error("#REF!"))])])]);
        let error = read_xlsx_default(&broken, "a.xlsx", None, &[]).unwrap_err();
        assert!(
            error
                .message
                .contains("header cell s!A1 holds the error #REF!"),
            "{error}"
        );
        let empty = workbook(&[("s", vec![(1, vec![("A", Text("  "))])])]);
        let error = read_xlsx_default(&empty, "a.xlsx", None, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xlsx: sheet `s` is empty; its first non-empty row must name the columns"
        );
    }

    #[test]
    fn cells_outside_the_header_are_not_a_row() {
        use TestCell::*;
        let bytes = workbook(&[(
            "s",
            vec![
                (1, vec![("A", Text("编号"))]),
                (2, vec![("A", Text("1")), ("D", Text("beside"))]),
                (3, vec![("D", Text("制表：某某"))]),
            ],
        )]);
        let records = read_xlsx_default(&bytes, "a.xlsx", None, &[]).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(body(&records[0]).len(), 1, "only the named column");
    }

    #[test]
    fn bad_files_are_named() {
        let error = read_xlsx_default(b"id,name\n1,2\n", "in.xlsx", None, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "in.xlsx: not an .xlsx workbook (not a zip archive); save the sheet as \"Excel Workbook (*.xlsx)\""
        );
        let mut ole = OLE_MAGIC.to_vec();
        ole.extend([0u8; 600]);
        let error = read_xlsx_default(&ole, "old.xls", None, &[]).unwrap_err();
        assert!(error.message.contains("old-style .xls"), "{error}");
        let no_sheets = workbook(&[]);
        let error = read_xlsx_default(&no_sheets, "n.xlsx", None, &[]).unwrap_err();
        assert_eq!(error.to_string(), "n.xlsx: the workbook has no sheet");
    }

    #[test]
    fn malformed_cells_are_refused_without_quoting_them() {
        let bytes = workbook(&[("s", vec![(1, vec![("A", TestCell::Error("张三丰"))])])]);
        let error = read_xlsx_default(&bytes, "a.xlsx", None, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xlsx: cannot read sheet `s` (a cell holds an error value Excel does not define); save the workbook again as .xlsx"
        );
        let bytes = workbook(&[("s", vec![(1, vec![("A", TestCell::Typed("b", "张三丰"))])])]);
        let error = read_xlsx_default(&bytes, "a.xlsx", None, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.xlsx: cannot read sheet `s` (a boolean cell value that is not understood); save the workbook again as .xlsx"
        );
    }

    #[test]
    fn rows_and_cells_are_capped() {
        use TestCell::*;
        let rows: Vec<(u32, Vec<(&str, TestCell)>)> = (1..=5)
            .map(|row| (row, vec![("A", Number("1")), ("B", Number("2"))]))
            .collect();
        let bytes = workbook(&[("s", rows)]);
        assert_eq!(
            read_xlsx_limited(&bytes, "a.xlsx", None, &[], 4, 100)
                .unwrap()
                .len(),
            4
        );
        let error = read_xlsx_limited(&bytes, "a.xlsx", None, &[], 3, 100).unwrap_err();
        assert!(error.message.contains("more than 3 rows"), "{error}");
        let error = read_xlsx_limited(&bytes, "a.xlsx", None, &[], 10, 9).unwrap_err();
        assert!(
            error.message.contains("more than 9 filled cells"),
            "{error}"
        );
    }

    #[test]
    fn cell_references_count_columns_like_excel() {
        assert_eq!(cell_reference("s", 0, 0), "s!A1");
        assert_eq!(cell_reference("s", 6, 2), "s!C7");
        assert_eq!(cell_reference("s", 0, 25), "s!Z1");
        assert_eq!(cell_reference("s", 0, 26), "s!AA1");
        assert_eq!(cell_reference("s", 0, 701), "s!ZZ1");
        assert_eq!(cell_reference("s", 0, 702), "s!AAA1");
    }

    #[test]
    fn numbers_are_written_shortest_without_exponent() {
        assert_eq!(number_text(5000.0).unwrap(), "5000");
        assert_eq!(number_text(0.1 + 0.2).unwrap(), "0.30000000000000004");
        assert_eq!(number_text(1e21).unwrap(), "1000000000000000000000");
        assert_eq!(number_text(-0.0).unwrap(), "0");
        assert_eq!(number_text(f64::NAN).unwrap_err(), "#NUM!");
    }
}
