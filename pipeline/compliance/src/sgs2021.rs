//! The output format `sgs.2021`: the national 双公示 field codes that credit platforms (信用中国 and the
//! provincial credit sites) take, for platforms configured with `format = "sgs.2021"`.
//!
//! Penalties become `CF_*` objects, licences `XK_*` objects; the other categories have no national
//! layout and keep `disclosure.v1` ([`to_sgs2021`] returns `None`; the feed says which in its `schema`
//! header). The input is the record *after* redaction, so nothing the policy removed comes back.
//!
//! # Source
//!
//! The field lists of the 双公示 data standard as revised in 2021 for the amended 行政处罚法 (the
//! 行政许可 / 行政处罚 collection templates of the 全国信用信息共享平台, issued by 国家公共信用信息中心):
//! 30 penalty fields, 28 licensing fields. The codes and labels below are the ones public
//! implementations of that template use verbatim; the value rules (相对人类别 as one of three words,
//! dates `YYYY/MM/DD` with `2099/12/31` meaning "long-term", amounts in 万元) are the template's
//! filling instructions.
//!
//! ## 行政处罚 (`category = "penalty"`)
//!
//! | code | label | from `disclosure.v1` |
//! |---|---|---|
//! | CF_XDR_MC | 行政相对人名称 | `counterparty.name` |
//! | CF_XDR_LB | 行政相对人类别 | `counterparty.kind`: 法人及非法人组织 / 自然人 / 个体工商户 |
//! | CF_XDR_SHXYM | 行政相对人代码_1（统一社会信用代码） | `counterparty.uscc` |
//! | CF_XDR_GSZC | 行政相对人代码_2（工商注册号） | `counterparty.registration_no` |
//! | CF_XDR_ZZJG | 行政相对人代码_3（组织机构代码） | `counterparty.org_code` |
//! | CF_XDR_SWDJ | 行政相对人代码_4（税务登记号） | `counterparty.tax_no` |
//! | CF_XDR_SYDW | 行政相对人代码_5（事业单位证书号） | `counterparty.institution_no` |
//! | CF_XDR_SHZZ | 行政相对人代码_6（社会组织登记证号） | `counterparty.social_org_no` |
//! | CF_FRDB | 法定代表人 | `counterparty.legal_rep.name` |
//! | CF_FR_ZJLX | 法定代表人证件类型 | `counterparty.legal_rep.id_type` (see below) |
//! | CF_FR_ZJHM | 法定代表人证件号码 | `counterparty.legal_rep.id_number` |
//! | CF_XDR_ZJLX | 证件类型 | `counterparty.id_type` |
//! | CF_XDR_ZJHM | 证件号码 | `counterparty.id_number` |
//! | CF_WSH | 行政处罚决定书文号 | `document_no` |
//! | CF_WFXW | 违法行为类型 | `violation_type` |
//! | CF_SY | 违法事实 | `facts` |
//! | CF_YJ | 处罚依据 | `legal_basis` |
//! | CF_CFLB | 处罚类别 | `penalty_kinds`, Chinese names joined by `;` (警告;罚款) |
//! | CF_NR | 处罚内容 | `content` |
//! | CF_NR_FK | 罚款金额（万元） | `fine_amount`, 万元 with six decimals (`"0.500000"`) |
//! | CF_NR_WFFF | 没收违法所得、没收非法财物的金额（万元） | `confiscated_amount`, likewise |
//! | CF_NR_ZKDX | 暂扣或吊销证照名称及编号 | `license_affected` |
//! | CF_JDRQ | 处罚决定日期 | `decided_on`, `YYYY/MM/DD` |
//! | CF_YXQ | 处罚有效期 | `valid_until`, `YYYY/MM/DD` |
//! | CF_GSJZQ | 公示截止期 | `publicity_until`, `YYYY/MM/DD` |
//! | CF_CFJG | 处罚机关 | `agency.name` |
//! | CF_CFJGDM | 处罚机关统一社会信用代码 | `agency.uscc` |
//! | CF_SJLY | 数据来源单位 | `source_unit.name`, else `agency.name` |
//! | CF_SJLYDM | 数据来源单位统一社会信用代码 | `source_unit.uscc`, else `agency.uscc` |
//! | BZ | 备注 | `remarks` |
//!
//! ## 行政许可 (`category = "licensing"`)
//!
//! `XK_XDR_MC`, `XK_XDR_LB`, `XK_XDR_SHXYM`, `XK_XDR_GSZC`, `XK_XDR_ZZJG`, `XK_XDR_SWDJ`,
//! `XK_XDR_SYDW`, `XK_XDR_SHZZ`, `XK_FRDB`, `XK_FR_ZJLX`, `XK_FR_ZJHM`, `XK_XDR_ZJLX`, `XK_XDR_ZJHM` as
//! their `CF_` twins, then:
//!
//! | code | label | from `disclosure.v1` |
//! |---|---|---|
//! | XK_XKWS | 行政许可决定文书名称 | `document_title` |
//! | XK_WSH | 行政许可决定文书号 | `document_no` |
//! | XK_XKLB | 许可类别 | `license.kind` (普通、特许、认可、核准、登记、其他, as the source wrote it) |
//! | XK_XKZS | 许可证书名称 | `license.certificate` |
//! | XK_XKBH | 许可编号 | `license.number` |
//! | XK_NR | 许可内容 | `content` |
//! | XK_JDRQ | 许可决定日期 | `decided_on`, `YYYY/MM/DD` |
//! | XK_YXQZ | 有效期自 | `license.valid_from`, `YYYY/MM/DD` |
//! | XK_YXQZI | 有效期至 | `license.valid_to`, `YYYY/MM/DD` |
//! | XK_XKJG | 许可机关 | `agency.name` |
//! | XK_XKJGDM | 许可机关统一社会信用代码 | `agency.uscc` |
//! | XK_ZT | 当前状态 | `status`: `1` 有效 (`in_force`, `changed`), `2` 无效 (the withdrawing statuses) |
//! | XK_LYDW | 数据来源单位 | `source_unit.name`, else `agency.name` |
//! | XK_LYDWDM | 数据来源单位统一社会信用代码 | `source_unit.uscc`, else `agency.uscc` |
//! | BZ | 备注 | `remarks` |
//!
//! ## Value rules
//!
//! - 证件类型 (CF_/XK_ `FR_ZJLX`, `XDR_ZJLX`): 身份证, 护照号, 港澳居民来往内地通行证, 台湾居民来往大陆通行证,
//!   外国人永久居留身份证; the schema's `other` becomes 其他.
//! - A field the record does not have (or that redaction removed) is left out, never filled with a
//!   guess: `XK_YXQZI` is not set to `2099/12/31` unless the source says so.
//! - Fields of `disclosure.v1` without a national code are not carried: `record_id` and `version`
//!   (they are in the envelope and the Kafka key), `status` of penalties, `procedure`, `random_check`,
//!   `division_code`, `major`, `legal_review`, `classification`, `source`, and for licences
//!   `publicity_until` and `valid_until`, `facts`, `legal_basis`, `violation_type` (no XK_ field).

use chrono::NaiveDate;
use dhub_schema::Amount;
use serde_json::{Map, Value};

/// The format's name in platform config and the feed's `schema` header.
pub const FORMAT_NAME: &str = "sgs.2021";

/// A record that cannot be converted. Messages name the field, never its value (it may be personal
/// data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sgs.2021: field {field}: {message}")]
pub struct Sgs2021Error {
    pub field: String,
    pub message: String,
}

/// The national field codes for a redacted `disclosure.v1` record: `Some` for penalties and
/// licences, `None` for the other categories (which keep `disclosure.v1`).
pub fn to_sgs2021(record: &Value) -> Result<Option<Value>, Sgs2021Error> {
    let Some(object) = record.as_object() else {
        return Err(error("(record)", "must be a JSON object"));
    };
    let source = Source(object);
    let family = match source.text(&["category"])?.as_deref() {
        Some("penalty") => Family::Penalty,
        Some("licensing") => Family::Licensing,
        Some("coercion" | "levy" | "fee" | "inspection") => return Ok(None),
        Some(_) => return Err(error("category", "is not a disclosure.v1 category")),
        None => return Err(error("category", "is missing")),
    };
    let mut out = Output(Map::new());
    let p = family.prefix();
    out.put(
        format!("{p}XDR_MC"),
        source.text(&["counterparty", "name"])?,
    );
    out.put(
        format!("{p}XDR_LB"),
        source.mapped(&["counterparty", "kind"], counterparty_kind)?,
    );
    for (code, field) in [
        ("XDR_SHXYM", "uscc"),
        ("XDR_GSZC", "registration_no"),
        ("XDR_ZZJG", "org_code"),
        ("XDR_SWDJ", "tax_no"),
        ("XDR_SYDW", "institution_no"),
        ("XDR_SHZZ", "social_org_no"),
    ] {
        out.put(format!("{p}{code}"), source.text(&["counterparty", field])?);
    }
    out.put(
        format!("{p}FRDB"),
        source.text(&["counterparty", "legal_rep", "name"])?,
    );
    out.put(
        format!("{p}FR_ZJLX"),
        source.mapped(&["counterparty", "legal_rep", "id_type"], id_type)?,
    );
    out.put(
        format!("{p}FR_ZJHM"),
        source.text(&["counterparty", "legal_rep", "id_number"])?,
    );
    out.put(
        format!("{p}XDR_ZJLX"),
        source.mapped(&["counterparty", "id_type"], id_type)?,
    );
    out.put(
        format!("{p}XDR_ZJHM"),
        source.text(&["counterparty", "id_number"])?,
    );
    let agency_name = source.text(&["agency", "name"])?;
    let agency_uscc = source.text(&["agency", "uscc"])?;
    let source_name = source
        .text(&["source_unit", "name"])?
        .or_else(|| agency_name.clone());
    let source_uscc = source
        .text(&["source_unit", "uscc"])?
        .or_else(|| agency_uscc.clone());
    match family {
        Family::Penalty => {
            out.put("CF_WSH", source.text(&["document_no"])?);
            out.put("CF_WFXW", source.text(&["violation_type"])?);
            out.put("CF_SY", source.text(&["facts"])?);
            out.put("CF_YJ", source.text(&["legal_basis"])?);
            out.put("CF_CFLB", source.penalty_kinds()?);
            out.put("CF_NR", source.text(&["content"])?);
            out.put("CF_NR_FK", source.wan_yuan("fine_amount")?);
            out.put("CF_NR_WFFF", source.wan_yuan("confiscated_amount")?);
            out.put("CF_NR_ZKDX", source.text(&["license_affected"])?);
            out.put("CF_JDRQ", source.date(&["decided_on"])?);
            out.put("CF_YXQ", source.date(&["valid_until"])?);
            out.put("CF_GSJZQ", source.date(&["publicity_until"])?);
            out.put("CF_CFJG", agency_name);
            out.put("CF_CFJGDM", agency_uscc);
            out.put("CF_SJLY", source_name);
            out.put("CF_SJLYDM", source_uscc);
        }
        Family::Licensing => {
            out.put("XK_XKWS", source.text(&["document_title"])?);
            out.put("XK_WSH", source.text(&["document_no"])?);
            out.put("XK_XKLB", source.text(&["license", "kind"])?);
            out.put("XK_XKZS", source.text(&["license", "certificate"])?);
            out.put("XK_XKBH", source.text(&["license", "number"])?);
            out.put("XK_NR", source.text(&["content"])?);
            out.put("XK_JDRQ", source.date(&["decided_on"])?);
            out.put("XK_YXQZ", source.date(&["license", "valid_from"])?);
            out.put("XK_YXQZI", source.date(&["license", "valid_to"])?);
            out.put("XK_XKJG", agency_name);
            out.put("XK_XKJGDM", agency_uscc);
            out.put("XK_ZT", source.mapped(&["status"], licence_state)?);
            out.put("XK_LYDW", source_name);
            out.put("XK_LYDWDM", source_uscc);
        }
    }
    out.put("BZ", source.text(&["remarks"])?);
    Ok(Some(Value::Object(out.0)))
}

#[derive(Clone, Copy)]
enum Family {
    Penalty,
    Licensing,
}

impl Family {
    fn prefix(self) -> &'static str {
        match self {
            Family::Penalty => "CF_",
            Family::Licensing => "XK_",
        }
    }
}

fn error(field: &str, message: &str) -> Sgs2021Error {
    Sgs2021Error {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

struct Output(Map<String, Value>);

impl Output {
    fn put(&mut self, code: impl Into<String>, value: Option<String>) {
        if let Some(value) = value {
            self.0.insert(code.into(), Value::String(value));
        }
    }
}

struct Source<'a>(&'a Map<String, Value>);

impl Source<'_> {
    fn get(&self, path: &[&str]) -> Option<&Value> {
        let mut value = self.0.get(path[0])?;
        for step in &path[1..] {
            value = value.as_object()?.get(*step)?;
        }
        (!value.is_null()).then_some(value)
    }

    fn text(&self, path: &[&str]) -> Result<Option<String>, Sgs2021Error> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(error(&path.join("."), "must be a string")),
        }
    }

    fn mapped(
        &self,
        path: &[&str],
        map: fn(&str) -> Option<&'static str>,
    ) -> Result<Option<String>, Sgs2021Error> {
        match self.text(path)? {
            None => Ok(None),
            Some(code) => map(&code)
                .map(|text| Some(text.to_owned()))
                .ok_or_else(|| error(&path.join("."), "is not a disclosure.v1 code")),
        }
    }

    fn date(&self, path: &[&str]) -> Result<Option<String>, Sgs2021Error> {
        match self.text(path)? {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map(|date| Some(date.format("%Y/%m/%d").to_string()))
                .map_err(|_| error(&path.join("."), "must be a date YYYY-MM-DD")),
        }
    }

    fn wan_yuan(&self, field: &str) -> Result<Option<String>, Sgs2021Error> {
        match self.text(&[field])? {
            None => Ok(None),
            Some(text) => Amount::parse_yuan(&text)
                .map(|amount| Some(wan_yuan(amount)))
                .map_err(|problem| error(field, &problem)),
        }
    }

    fn penalty_kinds(&self) -> Result<Option<String>, Sgs2021Error> {
        let Some(value) = self.get(&["penalty_kinds"]) else {
            return Ok(None);
        };
        let Some(kinds) = value.as_array() else {
            return Err(error("penalty_kinds", "must be a list"));
        };
        if kinds.is_empty() {
            return Ok(None);
        }
        let names = kinds
            .iter()
            .enumerate()
            .map(|(index, kind)| {
                kind.as_str().and_then(penalty_kind_name).ok_or_else(|| {
                    error(
                        &format!("penalty_kinds[{index}]"),
                        "is not a disclosure.v1 penalty kind",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(names.join(";")))
    }
}

/// Yuan as 万元 with six decimals: exact, since a fen is 0.000001 万元.
pub fn wan_yuan(amount: Amount) -> String {
    let fen = amount.fen();
    format!("{}.{:06}", fen / 1_000_000, fen % 1_000_000)
}

fn counterparty_kind(code: &str) -> Option<&'static str> {
    Some(match code {
        "legal_person" => "法人及非法人组织",
        "natural_person" => "自然人",
        "individual_business" => "个体工商户",
        _ => return None,
    })
}

fn id_type(code: &str) -> Option<&'static str> {
    Some(match code {
        "resident_id" => "身份证",
        "passport" => "护照号",
        "hk_macao_permit" => "港澳居民来往内地通行证",
        "taiwan_permit" => "台湾居民来往大陆通行证",
        "foreign_permanent_residence" => "外国人永久居留身份证",
        "other" => "其他",
        _ => return None,
    })
}

fn licence_state(code: &str) -> Option<&'static str> {
    Some(match code {
        "in_force" | "changed" => "1",
        "revoked" | "confirmed_illegal" | "confirmed_void" | "redecided" => "2",
        _ => return None,
    })
}

/// The Chinese name of a penalty kind (处罚类别), as the national template and CONTRACT §3 write it.
pub fn penalty_kind_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "warning" => "警告",
        "public_criticism" => "通报批评",
        "fine" => "罚款",
        "confiscate_gains" => "没收违法所得",
        "confiscate_property" => "没收非法财物",
        "suspend_license" => "暂扣许可证件",
        "lower_qualification" => "降低资质等级",
        "revoke_license" => "吊销许可证件",
        "restrict_operations" => "限制开展生产经营活动",
        "suspend_business" => "责令停产停业",
        "close" => "责令关闭",
        "restrict_practice" => "限制从业",
        "detention" => "行政拘留",
        "other" => "其他",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhub_schema::PenaltyKind;
    use serde_json::json;

    #[test]
    fn a_penalty_field_by_field() {
        let record = json!({
            "record_id": "market-supervision:2025-17", "version": 3, "category": "penalty",
            "status": "in_force", "procedure": "ordinary", "division_code": "371524",
            "agency": {"name": "东阿县市场监督管理局", "uscc": "11371524MB2850123X"},
            "source_unit": {"name": "东阿县市场监督管理局执法稽查大队", "uscc": "12371524MB28501234"},
            "document_no": "东市监罚〔2025〕17号",
            "counterparty": {"name": "东阿县某某食品有限公司", "kind": "legal_person",
                "uscc": "91371524MA3C1234X5", "registration_no": "371524200012345",
                "org_code": "MA3C1234X", "tax_no": "91371524MA3C1234X5",
                "legal_rep": {"name": "王某", "id_type": "resident_id"}},
            "violation_type": "生产经营超过保质期的食品", "facts": "2025年3月检查发现……",
            "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
            "penalty_kinds": ["warning", "fine", "confiscate_gains"],
            "content": "警告，罚款5000元，没收违法所得1234.56元",
            "fine_amount": "5000.00", "confiscated_amount": "1234.56",
            "decided_on": "2025-09-30", "valid_until": "2026-09-30",
            "publicity_until": "2026-09-30", "remarks": "无",
            "source": {"name": "market-supervision", "key": "2025-17", "fetched_at": "2025-10-01T08:00:00Z"}
        });
        let golden = json!({
            "CF_XDR_MC": "东阿县某某食品有限公司",
            "CF_XDR_LB": "法人及非法人组织",
            "CF_XDR_SHXYM": "91371524MA3C1234X5",
            "CF_XDR_GSZC": "371524200012345",
            "CF_XDR_ZZJG": "MA3C1234X",
            "CF_XDR_SWDJ": "91371524MA3C1234X5",
            "CF_FRDB": "王某",
            "CF_FR_ZJLX": "身份证",
            "CF_WSH": "东市监罚〔2025〕17号",
            "CF_WFXW": "生产经营超过保质期的食品",
            "CF_SY": "2025年3月检查发现……",
            "CF_YJ": "《中华人民共和国食品安全法》第一百二十四条",
            "CF_CFLB": "警告;罚款;没收违法所得",
            "CF_NR": "警告，罚款5000元，没收违法所得1234.56元",
            "CF_NR_FK": "0.500000",
            "CF_NR_WFFF": "0.123456",
            "CF_JDRQ": "2025/09/30",
            "CF_YXQ": "2026/09/30",
            "CF_GSJZQ": "2026/09/30",
            "CF_CFJG": "东阿县市场监督管理局",
            "CF_CFJGDM": "11371524MB2850123X",
            "CF_SJLY": "东阿县市场监督管理局执法稽查大队",
            "CF_SJLYDM": "12371524MB28501234",
            "BZ": "无"
        });
        assert_eq!(to_sgs2021(&record).unwrap().unwrap(), golden);
    }

    #[test]
    fn a_natural_person_after_redaction() {
        let record = json!({
            "record_id": "oa:9", "category": "penalty", "status": "in_force",
            "division_code": "371523", "agency": {"name": "茌平县财政局"},
            "counterparty": {"name": "张某", "kind": "natural_person", "id_type": "resident_id"},
            "penalty_kinds": ["fine"], "fine_amount": "200", "decided_on": "2019-03-01",
            "source": {"name": "oa", "key": "9", "fetched_at": "x"}
        });
        assert_eq!(
            to_sgs2021(&record).unwrap().unwrap(),
            json!({"CF_XDR_MC": "张某", "CF_XDR_LB": "自然人", "CF_XDR_ZJLX": "身份证",
                   "CF_CFLB": "罚款", "CF_NR_FK": "0.020000", "CF_JDRQ": "2019/03/01",
                   "CF_CFJG": "茌平县财政局", "CF_SJLY": "茌平县财政局"}),
            "no id number (redacted), no agency code (absent): nothing invented"
        );
    }

    #[test]
    fn a_licence_field_by_field() {
        let record = json!({
            "record_id": "oa:12", "version": 1, "category": "licensing", "status": "in_force",
            "division_code": "371503",
            "agency": {"name": "茌平区行政审批服务局", "uscc": "11371503MB1234567Y"},
            "document_no": "茌审批食〔2025〕88号", "document_title": "食品经营许可决定书",
            "counterparty": {"name": "茌平区某某超市", "kind": "individual_business",
                "uscc": "92371503MA3D000001", "legal_rep": {"name": "李某"}},
            "content": "预包装食品销售",
            "license": {"kind": "普通", "certificate": "食品经营许可证", "number": "JY13715030012345",
                "valid_from": "2025-10-09", "valid_to": "2030-10-08"},
            "decided_on": "2025-10-09", "publicity_until": "2030-10-08", "remarks": "新办",
            "source": {"name": "oa", "key": "12", "fetched_at": "x"}
        });
        let golden = json!({
            "XK_XDR_MC": "茌平区某某超市",
            "XK_XDR_LB": "个体工商户",
            "XK_XDR_SHXYM": "92371503MA3D000001",
            "XK_FRDB": "李某",
            "XK_XKWS": "食品经营许可决定书",
            "XK_WSH": "茌审批食〔2025〕88号",
            "XK_XKLB": "普通",
            "XK_XKZS": "食品经营许可证",
            "XK_XKBH": "JY13715030012345",
            "XK_NR": "预包装食品销售",
            "XK_JDRQ": "2025/10/09",
            "XK_YXQZ": "2025/10/09",
            "XK_YXQZI": "2030/10/08",
            "XK_XKJG": "茌平区行政审批服务局",
            "XK_XKJGDM": "11371503MB1234567Y",
            "XK_ZT": "1",
            "XK_LYDW": "茌平区行政审批服务局",
            "XK_LYDWDM": "11371503MB1234567Y",
            "BZ": "新办"
        });
        assert_eq!(to_sgs2021(&record).unwrap().unwrap(), golden);
        let mut revoked = record.clone();
        revoked["status"] = json!("revoked");
        assert_eq!(to_sgs2021(&revoked).unwrap().unwrap()["XK_ZT"], json!("2"));
    }

    #[test]
    fn other_categories_keep_disclosure_v1() {
        for category in ["coercion", "levy", "fee", "inspection"] {
            let record = json!({"category": category, "counterparty": {"name": "x"}});
            assert_eq!(to_sgs2021(&record).unwrap(), None, "{category}");
        }
    }

    #[test]
    fn bad_input_names_the_field_not_the_value() {
        let cases = [
            (
                json!([1]),
                "sgs.2021: field (record): must be a JSON object",
            ),
            (json!({}), "sgs.2021: field category: is missing"),
            (
                json!({"category": "tax"}),
                "sgs.2021: field category: is not a disclosure.v1 category",
            ),
            (
                json!({"category": "penalty", "counterparty": {"name": 11010519491231002_i64}}),
                "sgs.2021: field counterparty.name: must be a string",
            ),
            (
                json!({"category": "penalty", "counterparty": {"kind": "张三"}}),
                "sgs.2021: field counterparty.kind: is not a disclosure.v1 code",
            ),
            (
                json!({"category": "penalty", "penalty_kinds": ["fine", "flogging"]}),
                "sgs.2021: field penalty_kinds[1]: is not a disclosure.v1 penalty kind",
            ),
            (
                json!({"category": "penalty", "fine_amount": "5e3"}),
                "sgs.2021: field fine_amount: must be a decimal number of yuan such as \"5000.00\"",
            ),
            (
                json!({"category": "licensing", "decided_on": "2025/10/09"}),
                "sgs.2021: field decided_on: must be a date YYYY-MM-DD",
            ),
        ];
        for (record, message) in cases {
            assert_eq!(to_sgs2021(&record).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn wan_yuan_is_exact() {
        let wan = |yuan: &str| wan_yuan(Amount::parse_yuan(yuan).unwrap());
        assert_eq!(wan("0.01"), "0.000001");
        assert_eq!(wan("10000"), "1.000000");
        assert_eq!(wan("123456789.99"), "12345.678999");
        assert_eq!(wan("0"), "0.000000");
    }

    #[test]
    fn every_penalty_kind_has_a_chinese_name() {
        for kind in PenaltyKind::ALL {
            assert!(penalty_kind_name(kind.as_str()).is_some(), "{kind:?}");
        }
    }
}
