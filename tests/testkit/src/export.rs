//! Writers for the two department export formats of mappings/README.md.
//!
//! Files are written atomically: the bytes go to `<name>.tmp` (which the hub's folder watcher
//! ignores), are synced, and the file is then renamed into place, so the hub never reads half an
//! export. The XML is built by hand: the formats are flat and fixed, and hand-writing keeps the
//! element order and the empty elements exactly as the README shows them.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::case::{Case, Counterparty, System};
use crate::generate::cn_date;

/// The character encoding of a finance-oa export. The real system writes GBK; UTF-8 is there to
/// test that the hub follows the XML declaration rather than assuming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Gbk,
    Utf8,
}

impl TextEncoding {
    /// The name in the XML declaration.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Gbk => "GBK",
            TextEncoding::Utf8 => "UTF-8",
        }
    }
}

/// Why an export could not be written. Only `Io` may succeed on retry (e.g. after freeing disk space).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("nothing to export: pass at least one case")]
    Empty,
    #[error("case {key} belongs to {found}, not {expected}; filter the cases by `system` before writing")]
    WrongSystem {
        key: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error("case {key}: category `{category}` has no code in the market-supervision export (XK, CF, JC, QZ only); generate it for finance-oa")]
    Unrepresentable { key: String, category: &'static str },
    #[error("case {key}: text has characters GBK cannot encode; write this export as UTF-8")]
    Unencodable { key: String },
    #[error("cannot write {}: {source}; check that the folder is writable and has space", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// When the export claims to have been made: 09:00 on the day after its latest decision or status
/// change, so a revocation export is always later than the first export of the same cases.
pub fn export_time(cases: &[Case]) -> Option<NaiveDateTime> {
    let latest = cases
        .iter()
        .map(|case| {
            case.status_changed_on
                .unwrap_or(case.decided_on)
                .max(case.decided_on)
        })
        .max()?;
    (latest + Duration::days(1)).and_hms_opt(9, 0, 0)
}

/// Renders a finance-oa export: `<执法信息导出>` with one `<案件>` per case, in `encoding`.
pub fn render_finance_export(
    cases: &[Case],
    encoding: TextEncoding,
) -> Result<Vec<u8>, ExportError> {
    let exported_at = export_time(cases).ok_or(ExportError::Empty)?;
    render_finance_export_at(cases, encoding, exported_at)
}

/// [`render_finance_export`] stamped `exported_at`.
pub fn render_finance_export_at(
    cases: &[Case],
    encoding: TextEncoding,
    exported_at: NaiveDateTime,
) -> Result<Vec<u8>, ExportError> {
    let mut parts = vec![format!(
        "<?xml version=\"1.0\" encoding=\"{}\"?>\n<执法信息导出 系统=\"财政局办公系统\" 导出时间=\"{}\">\n",
        encoding.label(),
        exported_at.format("%Y-%m-%d %H:%M:%S")
    )];
    for case in cases {
        expect_system(case, System::FinanceOa)?;
        parts.push(finance_case(case));
    }
    parts.push("</执法信息导出>\n".to_owned());
    match encoding {
        TextEncoding::Utf8 => Ok(parts.concat().into_bytes()),
        TextEncoding::Gbk => {
            // Encoded part by part (GBK is stateless, so the pieces concatenate) to name the case
            // whose text does not fit.
            let mut bytes = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let (encoded, _, unmappable) = encoding_rs::GBK.encode(part);
                if unmappable {
                    let key = i
                        .checked_sub(1)
                        .and_then(|i| cases.get(i))
                        .map(|c| c.key.clone())
                        .unwrap_or_default();
                    return Err(ExportError::Unencodable { key });
                }
                bytes.extend_from_slice(&encoded);
            }
            Ok(bytes)
        }
    }
}

/// Renders a market-supervision export: `<CaseExport>` with one `<Case>` per case, UTF-8.
pub fn render_market_export(cases: &[Case]) -> Result<String, ExportError> {
    let exported_at = export_time(cases).ok_or(ExportError::Empty)?;
    render_market_export_at(cases, exported_at)
}

/// [`render_market_export`] stamped `exported_at`.
pub fn render_market_export_at(
    cases: &[Case],
    exported_at: NaiveDateTime,
) -> Result<String, ExportError> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CaseExport system=\"SAMR-CASE\" exportedAt=\"{}\">\n",
        exported_at.format("%Y-%m-%dT%H:%M:%S")
    );
    for case in cases {
        expect_system(case, System::MarketSupervision)?;
        xml.push_str(&market_case(case)?);
    }
    xml.push_str("</CaseExport>\n");
    Ok(xml)
}

/// Writes a finance-oa export file atomically.
pub fn write_finance_export(
    cases: &[Case],
    path: impl AsRef<Path>,
    encoding: TextEncoding,
) -> Result<(), ExportError> {
    let bytes = render_finance_export(cases, encoding)?;
    write_atomically(path.as_ref(), &bytes)
}

/// Writes a market-supervision export file atomically.
pub fn write_market_export(cases: &[Case], path: impl AsRef<Path>) -> Result<(), ExportError> {
    let xml = render_market_export(cases)?;
    write_atomically(path.as_ref(), xml.as_bytes())
}

/// Writes one file of one system's cases as that system exports them (finance-oa in GBK, as the
/// real office system does; market-supervision in UTF-8).
pub fn write_system_export(cases: &[Case], path: impl AsRef<Path>) -> Result<(), ExportError> {
    let exported_at = export_time(cases).ok_or(ExportError::Empty)?;
    write_system_export_at(cases, path, exported_at)
}

/// [`write_system_export`] stamped `exported_at`.
fn write_system_export_at(
    cases: &[Case],
    path: impl AsRef<Path>,
    exported_at: NaiveDateTime,
) -> Result<(), ExportError> {
    match cases.first().map(|case| case.system) {
        None => Err(ExportError::Empty),
        Some(System::FinanceOa) => write_atomically(
            path.as_ref(),
            &render_finance_export_at(cases, TextEncoding::Gbk, exported_at)?,
        ),
        Some(System::MarketSupervision) => write_atomically(
            path.as_ref(),
            render_market_export_at(cases, exported_at)?.as_bytes(),
        ),
    }
}

/// Writes each system's cases into `dir/<source name>/` as export files of `per_file` cases, named
/// `<tag>-NNNNNN.xml` so that a later tag sorts after an earlier one. Returns every file written,
/// with its system, in writing order.
pub fn write_export_files(
    cases: &[Case],
    dir: &Path,
    tag: &str,
    per_file: usize,
) -> Result<Vec<(PathBuf, System)>, ExportError> {
    write_export_files_after(cases, dir, tag, per_file, &[])
}

/// [`write_export_files`] for a department's later export: each file is stamped no earlier than a
/// day after the export of `earlier` (a correction without a status change, such as a case found
/// secret, would otherwise claim an export time before the first export's, and the hub holds an
/// older export back as `stale`).
pub fn write_export_files_after(
    cases: &[Case],
    dir: &Path,
    tag: &str,
    per_file: usize,
    earlier: &[Case],
) -> Result<Vec<(PathBuf, System)>, ExportError> {
    let not_before = export_time(earlier).map(|at| at + Duration::days(1));
    let mut files = Vec::new();
    for system in [System::FinanceOa, System::MarketSupervision] {
        let of_system: Vec<Case> = cases
            .iter()
            .filter(|c| c.system == system)
            .cloned()
            .collect();
        for (n, chunk) in of_system.chunks(per_file.max(1)).enumerate() {
            let path = dir
                .join(system.source_name())
                .join(format!("{tag}-{n:06}.xml"));
            let exported_at = export_time(chunk).ok_or(ExportError::Empty)?;
            let exported_at = not_before.map_or(exported_at, |floor| exported_at.max(floor));
            write_system_export_at(chunk, &path, exported_at)?;
            files.push((path, system));
        }
    }
    Ok(files)
}

/// Writes `bytes` to `<path>.tmp`, syncs, and renames it to `path` (creating the parent folder).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Whole yuan as 万元 with up to four decimals: 5000 → `0.5`, 350 → `0.035`, 120000 → `12`.
pub fn wan_yuan(yuan: u64) -> String {
    let whole = yuan / 10_000;
    let fraction = yuan % 10_000;
    if fraction == 0 {
        whole.to_string()
    } else {
        let digits = format!("{fraction:04}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

fn expect_system(case: &Case, expected: System) -> Result<(), ExportError> {
    if case.system == expected {
        Ok(())
    } else {
        Err(ExportError::WrongSystem {
            key: case.key.clone(),
            found: case.system.source_name(),
            expected: expected.source_name(),
        })
    }
}

/// Escapes text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn compact_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

// `write!` into a String cannot fail; the results are ignored on purpose below.

fn finance_case(case: &Case) -> String {
    let mut x = String::new();
    let _ = writeln!(x, "  <案件 编号=\"{}\">", esc(&case.key));
    let _ = writeln!(x, "    <类别>{}</类别>", case.category.finance_label());
    let _ = writeln!(x, "    <程序>{}</程序>", case.procedure.finance_label());
    let _ = writeln!(x, "    <状态>{}</状态>", case.status.finance_label());
    let _ = writeln!(
        x,
        "    <执法机关 统一社会信用代码=\"{}\" 区划=\"{}\">{}</执法机关>",
        case.agency.uscc,
        case.agency.division,
        esc(case.agency.name)
    );
    let _ = writeln!(x, "    <文书号>{}</文书号>", esc(&case.document_no));
    let _ = writeln!(x, "    <文书名称>{}</文书名称>", esc(&case.document_title));
    let _ = writeln!(
        x,
        "    <当事人 类别=\"{}\">",
        case.counterparty.kind().finance_label()
    );
    let _ = writeln!(x, "      <名称>{}</名称>", esc(case.counterparty.name()));
    match &case.counterparty {
        Counterparty::LegalPerson {
            uscc, legal_rep, ..
        } => {
            let _ = writeln!(x, "      <统一社会信用代码>{uscc}</统一社会信用代码>");
            let _ = writeln!(
                x,
                "      <法定代表人 证件类型=\"身份证\" 证件号码=\"{}\">{}</法定代表人>",
                legal_rep.id_number,
                esc(&legal_rep.name)
            );
        }
        Counterparty::IndividualBusiness { uscc, operator, .. } => {
            let _ = writeln!(x, "      <统一社会信用代码>{uscc}</统一社会信用代码>");
            let _ = writeln!(
                x,
                "      <法定代表人 证件类型=\"身份证\" 证件号码=\"{}\">{}</法定代表人>",
                operator.id_number,
                esc(&operator.name)
            );
        }
        Counterparty::NaturalPerson(person) => {
            let _ = writeln!(x, "      <证件类型>身份证</证件类型>");
            let _ = writeln!(x, "      <证件号码>{}</证件号码>", person.id_number);
            let _ = writeln!(x, "      <住址>{}</住址>", esc(&person.address));
            let _ = writeln!(x, "      <电话>{}</电话>", person.phone);
        }
    }
    let _ = writeln!(x, "    </当事人>");
    let _ = writeln!(x, "    <违法行为>{}</违法行为>", esc(&case.violation));
    let _ = writeln!(x, "    <违法事实>{}</违法事实>", esc(&case.facts));
    let _ = writeln!(x, "    <处罚依据>{}</处罚依据>", esc(&case.legal_basis));
    let kinds: Vec<&str> = case
        .penalty_kinds
        .iter()
        .map(|k| k.finance_label())
        .collect();
    let _ = writeln!(x, "    <处罚种类>{}</处罚种类>", kinds.join("、"));
    let _ = writeln!(x, "    <处罚内容>{}</处罚内容>", esc(&case.content));
    let _ = writeln!(
        x,
        "    <罚款金额>{}</罚款金额>",
        case.fine_yuan.map(wan_yuan).unwrap_or_default()
    );
    let _ = writeln!(
        x,
        "    <没收金额>{}</没收金额>",
        case.confiscated_yuan.map(wan_yuan).unwrap_or_default()
    );
    if let Some(license) = &case.license {
        let _ = writeln!(
            x,
            "    <许可 类别=\"{}\" 证书名称=\"{}\" 编号=\"{}\" 有效期自=\"{}\" 有效期至=\"{}\"/>",
            esc(&license.kind),
            esc(&license.certificate),
            esc(&license.number),
            cn_date(license.valid_from),
            cn_date(license.valid_to)
        );
    }
    if let Some(random) = case.random_check {
        let _ = writeln!(
            x,
            "    <检查 双随机=\"{}\"/>",
            if random { "是" } else { "否" }
        );
    }
    let _ = writeln!(x, "    <决定日期>{}</决定日期>", cn_date(case.decided_on));
    let _ = writeln!(
        x,
        "    <公示截止>{}</公示截止>",
        cn_date(case.publicity_until)
    );
    let _ = writeln!(
        x,
        "    <重大执法决定>{}</重大执法决定>",
        if case.major { "是" } else { "否" }
    );
    if let Some(review) = &case.legal_review {
        let _ = writeln!(
            x,
            "    <法制审核 结果=\"{}\" 审核人=\"{}\" 日期=\"{}\"/>",
            if review.passed { "通过" } else { "未通过" },
            esc(&review.reviewer),
            cn_date(review.reviewed_on)
        );
    }
    let _ = writeln!(
        x,
        "    <密级>{}</密级>",
        case.classification.finance_label()
    );
    let _ = writeln!(x, "    <备注>{}</备注>", esc(&case.remarks));
    let _ = writeln!(x, "  </案件>");
    x
}

fn market_case(case: &Case) -> Result<String, ExportError> {
    let category = case
        .category
        .market_code()
        .ok_or_else(|| ExportError::Unrepresentable {
            key: case.key.clone(),
            category: case.category.as_str(),
        })?;
    // The other code lists are total; `unwrap_or_default` only guards against a future variant.
    let code = |c: Option<&'static str>| c.unwrap_or_default();
    let mut x = String::new();
    let _ = writeln!(x, "  <Case id=\"{}\">", esc(&case.key));
    let _ = writeln!(x, "    <CaseType>{category}</CaseType>");
    let _ = writeln!(
        x,
        "    <Procedure>{}</Procedure>",
        code(case.procedure.market_code())
    );
    let _ = writeln!(
        x,
        "    <Status>{}</Status>",
        code(case.status.market_code())
    );
    let _ = writeln!(
        x,
        "    <Org creditCode=\"{}\" division=\"{}\">{}</Org>",
        case.agency.uscc,
        case.agency.division,
        esc(case.agency.name)
    );
    let _ = writeln!(x, "    <DocNo>{}</DocNo>", esc(&case.document_no));
    let _ = writeln!(x, "    <DocTitle>{}</DocTitle>", esc(&case.document_title));
    let _ = writeln!(
        x,
        "    <Party kind=\"{}\">",
        code(case.counterparty.kind().market_code())
    );
    let _ = writeln!(x, "      <Name>{}</Name>", esc(case.counterparty.name()));
    match &case.counterparty {
        Counterparty::LegalPerson {
            uscc, legal_rep, ..
        } => {
            let _ = writeln!(x, "      <CreditCode>{uscc}</CreditCode>");
            let _ = writeln!(x, "      <RegNo></RegNo>");
            let _ = writeln!(
                x,
                "      <LegalRep idType=\"01\" idNo=\"{}\">{}</LegalRep>",
                legal_rep.id_number,
                esc(&legal_rep.name)
            );
            empty_person_fields(&mut x);
        }
        Counterparty::IndividualBusiness {
            uscc,
            registration_no,
            operator,
            ..
        } => {
            let _ = writeln!(x, "      <CreditCode>{uscc}</CreditCode>");
            let _ = writeln!(
                x,
                "      <RegNo>{}</RegNo>",
                registration_no.as_deref().unwrap_or_default()
            );
            let _ = writeln!(
                x,
                "      <LegalRep idType=\"01\" idNo=\"{}\">{}</LegalRep>",
                operator.id_number,
                esc(&operator.name)
            );
            empty_person_fields(&mut x);
        }
        Counterparty::NaturalPerson(person) => {
            let _ = writeln!(x, "      <CreditCode></CreditCode>");
            let _ = writeln!(x, "      <RegNo></RegNo>");
            let _ = writeln!(x, "      <IdType>01</IdType>");
            let _ = writeln!(x, "      <IdNo>{}</IdNo>", person.id_number);
            let _ = writeln!(x, "      <Address>{}</Address>", esc(&person.address));
            let _ = writeln!(x, "      <Phone>{}</Phone>", person.phone);
        }
    }
    let _ = writeln!(x, "    </Party>");
    let _ = writeln!(x, "    <Violation>{}</Violation>", esc(&case.violation));
    let _ = writeln!(x, "    <Facts>{}</Facts>", esc(&case.facts));
    let _ = writeln!(x, "    <Basis>{}</Basis>", esc(&case.legal_basis));
    if case.penalty_kinds.is_empty() {
        let _ = writeln!(x, "    <PenaltyTypes/>");
    } else {
        let types: String = case
            .penalty_kinds
            .iter()
            .map(|k| format!("<Type>{}</Type>", code(k.market_code())))
            .collect();
        let _ = writeln!(x, "    <PenaltyTypes>{types}</PenaltyTypes>");
    }
    let _ = writeln!(x, "    <Content>{}</Content>", esc(&case.content));
    let _ = writeln!(
        x,
        "    <FineYuan>{}</FineYuan>",
        case.fine_yuan.map(|y| y.to_string()).unwrap_or_default()
    );
    let _ = writeln!(
        x,
        "    <ConfiscatedYuan>{}</ConfiscatedYuan>",
        case.confiscated_yuan
            .map(|y| y.to_string())
            .unwrap_or_default()
    );
    if let Some(license) = &case.license {
        let _ = writeln!(
            x,
            "    <License kind=\"{}\" cert=\"{}\" no=\"{}\" from=\"{}\" to=\"{}\"/>",
            esc(&license.kind),
            esc(&license.certificate),
            esc(&license.number),
            compact_date(license.valid_from),
            compact_date(license.valid_to)
        );
    }
    if let Some(random) = case.random_check {
        let _ = writeln!(
            x,
            "    <RandomCheck>{}</RandomCheck>",
            if random { "Y" } else { "N" }
        );
    }
    let _ = writeln!(
        x,
        "    <DecisionDate>{}</DecisionDate>",
        compact_date(case.decided_on)
    );
    let _ = writeln!(
        x,
        "    <PublicityEnd>{}</PublicityEnd>",
        compact_date(case.publicity_until)
    );
    let _ = writeln!(
        x,
        "    <Major>{}</Major>",
        if case.major { "Y" } else { "N" }
    );
    if let Some(review) = &case.legal_review {
        let _ = writeln!(
            x,
            "    <Review passed=\"{}\" reviewer=\"{}\" date=\"{}\"/>",
            if review.passed { "Y" } else { "N" },
            esc(&review.reviewer),
            compact_date(review.reviewed_on)
        );
    }
    let _ = writeln!(
        x,
        "    <Secrecy>{}</Secrecy>",
        code(case.classification.market_code())
    );
    let _ = writeln!(x, "    <Remarks>{}</Remarks>", esc(&case.remarks));
    let _ = writeln!(x, "  </Case>");
    Ok(x)
}

fn empty_person_fields(x: &mut String) {
    x.push_str("      <IdType></IdType>\n      <IdNo></IdNo>\n      <Address></Address>\n      <Phone></Phone>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Category, Status};
    use crate::generate::{generate, revoke, GenConfig};
    use quick_xml::events::Event;
    use quick_xml::Reader;

    #[test]
    fn export_files_are_chunked_per_system_in_sortable_names_and_each_systems_encoding() {
        let cases = generate(&GenConfig::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = write_export_files(&cases, dir.path(), "first", 12).unwrap();
        let finance: Vec<_> = files
            .iter()
            .filter(|(_, s)| *s == System::FinanceOa)
            .collect();
        let market: Vec<_> = files
            .iter()
            .filter(|(_, s)| *s == System::MarketSupervision)
            .collect();
        assert_eq!(
            (finance.len(), market.len()),
            (3, 3),
            "30 and 32 cases in files of 12"
        );
        assert!(finance[0].0.ends_with("finance-oa/first-000000.xml"));
        assert!(market[2].0.ends_with("market-supervision/first-000002.xml"));
        let gbk = fs::read(&finance[0].0).unwrap();
        assert!(gbk.starts_with(b"<?xml version=\"1.0\" encoding=\"GBK\"?>"));
        let utf8 = fs::read_to_string(&market[0].0).unwrap();
        assert!(utf8.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(matches!(
            write_system_export(&[], dir.path().join("x.xml")),
            Err(ExportError::Empty)
        ));
    }

    fn cases_of(system: System) -> Vec<Case> {
        generate(&GenConfig::default())
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.system == system)
            .collect()
    }

    /// Parses `xml` and returns the count of `case_tag` elements and the (element, text) pairs of
    /// the elements that hold text; panics on malformed XML.
    fn parse(xml: &str, case_tag: &str) -> (usize, Vec<(String, String)>) {
        let mut reader = Reader::from_str(xml);
        let mut count = 0;
        let mut leaves = Vec::new();
        let mut current = String::new();
        let mut text = String::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    current = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    text.clear();
                    if current == case_tag {
                        count += 1;
                    }
                }
                Ok(Event::Text(t)) => text.push_str(&t.decode().unwrap_or_default()),
                Ok(Event::GeneralRef(r)) => {
                    // quick-xml 0.38 reports entity references as their own events.
                    let name = String::from_utf8_lossy(&r).into_owned();
                    let resolved =
                        quick_xml::escape::resolve_predefined_entity(&name).unwrap_or("?");
                    text.push_str(resolved);
                }
                Ok(Event::End(_)) => {
                    if !text.trim().is_empty() {
                        leaves.push((current.clone(), std::mem::take(&mut text)));
                    }
                    text.clear();
                }
                Ok(Event::Eof) => break,
                Err(e) => panic!("malformed XML at {}: {e}", reader.buffer_position()),
                _ => {}
            }
        }
        (count, leaves)
    }

    #[test]
    fn wan_yuan_keeps_every_yuan() {
        assert_eq!(wan_yuan(5000), "0.5");
        assert_eq!(wan_yuan(350), "0.035");
        assert_eq!(wan_yuan(120_000), "12");
        assert_eq!(wan_yuan(12_345), "1.2345");
        assert_eq!(wan_yuan(1), "0.0001");
    }

    #[test]
    fn gbk_finance_export_decodes_and_declares_gbk() {
        let cases = cases_of(System::FinanceOa);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("finance.xml");
        assert!(write_finance_export(&cases, &path, TextEncoding::Gbk).is_ok());
        let bytes = fs::read(&path).unwrap_or_default();
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "GBK bytes are not valid UTF-8"
        );
        let (text, _, malformed) = encoding_rs::GBK.decode(&bytes);
        assert!(!malformed);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"GBK\"?>"));
        let utf8 = render_finance_export(&cases, TextEncoding::Utf8).unwrap_or_default();
        let utf8 = String::from_utf8(utf8).unwrap_or_default();
        assert_eq!(
            text.replacen("encoding=\"GBK\"", "encoding=\"UTF-8\"", 1),
            utf8
        );
        assert!(text.contains("茌平县财政局") && text.contains("〔2026〕"));
        let (count, _) = parse(&text, "案件");
        assert_eq!(count, cases.len());
    }

    #[test]
    fn finance_export_carries_each_case_field() {
        let cases = cases_of(System::FinanceOa);
        let xml = String::from_utf8(
            render_finance_export(&cases, TextEncoding::Utf8).unwrap_or_default(),
        )
        .unwrap_or_default();
        let (_, leaves) = parse(&xml, "案件");
        let texts = |name: &str| {
            leaves
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            texts("违法事实").concat(),
            cases.iter().map(|c| c.facts.clone()).collect::<String>()
        );
        let fines: Vec<String> = cases
            .iter()
            .filter_map(|c| c.fine_yuan.map(wan_yuan))
            .collect();
        assert_eq!(texts("罚款金额"), fines);
        assert!(texts("决定日期")
            .iter()
            .all(|d| d.starts_with("2026年") && d.ends_with('日')));
        assert!(xml.contains("<密级>秘密</密级>"));
        assert!(
            xml.contains("<当事人 类别=\"自然人\">") && xml.contains("<证件类型>身份证</证件类型>")
        );
        assert!(xml.contains("<检查 双随机="));
        assert!(xml.contains("<许可 类别=\"普通\" 证书名称=\"代理记账许可证书\""));
        assert!(xml.contains("导出时间=\"2026-"));
    }

    #[test]
    fn market_export_uses_codes_and_compact_dates() {
        let cases = cases_of(System::MarketSupervision);
        let xml = render_market_export(&cases).unwrap_or_default();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CaseExport system=\"SAMR-CASE\" exportedAt=\"2026-"));
        let (count, leaves) = parse(&xml, "Case");
        assert_eq!(count, cases.len());
        let texts = |name: &str| {
            leaves
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .collect::<Vec<_>>()
        };
        assert!(texts("CaseType")
            .iter()
            .all(|t| ["XK", "CF", "JC", "QZ"].contains(&t.as_str())));
        assert!(texts("DecisionDate")
            .iter()
            .all(|d| d.len() == 8 && d.starts_with("2026")));
        assert!(texts("Status").iter().all(|s| s == "0"));
        let fines: Vec<String> = cases
            .iter()
            .filter_map(|c| c.fine_yuan.map(|f| f.to_string()))
            .collect();
        assert_eq!(texts("FineYuan"), fines);
        assert!(xml.contains("<Secrecy>2</Secrecy>") && xml.contains("<Secrecy>1</Secrecy>"));
        assert!(xml.contains("<Party kind=\"2\">") && xml.contains("<IdType>01</IdType>"));
        assert!(xml.contains("division=\"371500\"") && xml.contains("division=\"371524\""));
    }

    #[test]
    fn a_later_export_is_stamped_after_the_earlier_one_even_without_a_status_change() {
        let first = cases_of(System::MarketSupervision);
        let oldest: Vec<Case> = {
            let mut by_date = first.clone();
            by_date.sort_by_key(|c| c.decided_on);
            by_date.into_iter().take(1).collect()
        };
        let dir = tempfile::tempdir().unwrap();
        let plain = write_export_files(&oldest, dir.path(), "plain", 10).unwrap();
        let later = write_export_files_after(&oldest, dir.path(), "later", 10, &first).unwrap();
        let stamp = |path: &Path| {
            let xml = fs::read_to_string(path).unwrap();
            let at = xml.split("exportedAt=\"").nth(1).unwrap()[..19].to_owned();
            NaiveDateTime::parse_from_str(&at, "%Y-%m-%dT%H:%M:%S").unwrap()
        };
        let first_export = export_time(&first).unwrap();
        assert!(stamp(&plain[0].0) <= first_export);
        assert_eq!(stamp(&later[0].0), first_export + Duration::days(1));
    }

    #[test]
    fn revocation_export_changes_the_status_codes() {
        let on = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap_or_default();
        let finance = revoke(&cases_of(System::FinanceOa), 0.12, 1, on).unwrap_or_default();
        assert!(finance.iter().any(|c| c.status == Status::Revoked));
        let xml = String::from_utf8(
            render_finance_export(&finance, TextEncoding::Utf8).unwrap_or_default(),
        )
        .unwrap_or_default();
        assert!(xml.contains("<状态>已撤销</状态>") && !xml.contains("<状态>有效</状态>"));
        assert!(xml.contains("导出时间=\"2026-11-11 09:00:00\""));
        let market = revoke(&cases_of(System::MarketSupervision), 0.12, 1, on).unwrap_or_default();
        let xml = render_market_export(&market).unwrap_or_default();
        assert!(xml.contains("<Status>1</Status>") && !xml.contains("<Status>0</Status>"));
        assert!(
            xml.contains("<Status>2</Status>"),
            "every fourth revocation is confirmed illegal"
        );
    }

    #[test]
    fn writers_refuse_the_other_systems_cases_and_empty_lists() {
        let market = cases_of(System::MarketSupervision);
        let finance = cases_of(System::FinanceOa);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let err = write_finance_export(&market, dir.path().join("a.xml"), TextEncoding::Gbk);
        assert!(matches!(err, Err(ExportError::WrongSystem { .. })));
        let err = write_market_export(&finance, dir.path().join("b.xml"));
        assert!(matches!(err, Err(ExportError::WrongSystem { .. })));
        assert!(matches!(
            write_market_export(&[], dir.path().join("c.xml")),
            Err(ExportError::Empty)
        ));
        assert_eq!(
            fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(99),
            0,
            "nothing written on error"
        );
    }

    #[test]
    fn market_writer_refuses_categories_without_a_code() {
        let mut case = cases_of(System::MarketSupervision).remove(0);
        case.category = Category::Fee;
        let err = render_market_export(&[case]);
        let Err(err) = err else {
            panic!("fee accepted")
        };
        assert!(matches!(err, ExportError::Unrepresentable { .. }));
        assert!(err.to_string().contains("fee"));
    }

    #[test]
    fn gbk_refuses_text_it_cannot_encode_and_names_the_case() {
        let mut cases = cases_of(System::FinanceOa);
        cases[1].remarks = "emoji 😀 is not in GBK".to_owned();
        let key = cases[1].key.clone();
        match render_finance_export(&cases, TextEncoding::Gbk) {
            Err(ExportError::Unencodable { key: found }) => assert_eq!(found, key),
            other => panic!("expected Unencodable, got {:?}", other.map(|b| b.len())),
        }
        assert!(render_finance_export(&cases, TextEncoding::Utf8).is_ok());
    }

    #[test]
    fn escaping_survives_markup_characters() {
        let mut cases = cases_of(System::MarketSupervision);
        cases[0].remarks = "A&B <c> \"d\" 'e'".to_owned();
        let xml = render_market_export(&cases[..1]).unwrap_or_default();
        let (_, leaves) = parse(&xml, "Case");
        let remarks: String = leaves
            .iter()
            .filter(|(n, _)| n == "Remarks")
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(remarks, "A&B <c> \"d\" 'e'");
    }

    #[test]
    fn atomic_write_leaves_no_tmp_file_and_replaces_old_content() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("sub").join("export.xml");
        assert!(write_atomically(&path, b"one").is_ok());
        assert!(write_atomically(&path, b"two").is_ok());
        assert_eq!(fs::read(&path).unwrap_or_default(), b"two");
        let names: Vec<String> = fs::read_dir(dir.path().join("sub"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names, vec!["export.xml".to_owned()]);
    }

    #[test]
    fn io_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let blocker = dir.path().join("file");
        assert!(fs::write(&blocker, b"x").is_ok());
        let err = write_atomically(&blocker.join("export.xml"), b"x");
        let Err(err) = err else {
            panic!("write under a file succeeded")
        };
        assert!(err.to_string().contains("export.xml"), "{err}");
    }
}
