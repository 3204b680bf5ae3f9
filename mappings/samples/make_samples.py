#!/usr/bin/env python3
"""Writes the sample data of the demo's non-file sources and of the 双公示 spreadsheets.

    pip install openpyxl==3.1.5
    python3 mappings/samples/make_samples.py

Writes, under mappings/samples/ (byte-identical on every run):

- case-db/schema.sql, first.sql, second.sql        (source kind sql, mapping case-db.toml)
- county-push/first/*.json, second/*.json          (http_push, county-push.toml)
- dept-api/first/page-*.json, second/page-*.json   (http_pull, dept-api.toml)
- dept-kafka/first/*.jsonl, second/*.jsonl         (kafka, one message per line, dept-kafka.toml)
- sgs-penalty/first/*.xlsx, second/*.xlsx          (spreadsheet, sgs-penalty.toml)
- sgs-licensing/first/*.csv, second/*.csv          (spreadsheet, GBK, sgs-licensing.toml)
- expected-sources.json: every case's expected outcome, read by
  pipeline/mapping/tests/samples.rs
- the part of EXPECTED.md after the line "<!-- make_samples.py -->"

Every person, company and number here is invented. Resident IDs, unified social credit codes,
organisation codes and registration numbers carry valid check digits (computed here, independently
of the hub), except where a case is meant to be quarantined for a bad code.

The product never runs this script; it only makes the committed files.
"""

import csv
import datetime as dt
import io
import json
import os
import zipfile
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = "<!-- make_samples.py -->"

# --- check digits (GB 11643, GB 32100, GB 11714, ISO 7064 MOD 11,10) -------------------------

RID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
RID_CHECK = "10X98765432"


def resident_id(division, birth, sequence):
    first17 = f"{division}{birth}{sequence:03d}"
    total = sum(int(d) * w for d, w in zip(first17, RID_WEIGHTS))
    return first17 + RID_CHECK[total % 11]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def org_code(first8):
    def value(c):
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    total = sum(value(c) * w for c, w in zip(first8, [3, 7, 9, 10, 5, 8, 4, 2]))
    check = 11 - total % 11
    return first8 + {10: "X", 11: "0"}.get(check, str(check))


def uscc(authority, org_type, division, code9):
    first17 = f"{authority}{org_type}{division}{code9}"
    assert len(first17) == 17 and all(c in USCC_ALPHABET for c in first17), first17
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


def registration_no(division, sequence):
    first14 = f"{division}{sequence:08d}"
    product = 10
    for d in first14:
        s = (product + int(d)) % 10 or 10
        product = (s * 2) % 11
    return first14 + str((11 - product) % 10)


def agency(name, division, body):
    return {"name": name, "division": division, "uscc": uscc("1", "1", division, org_code(body))}


def company(name, division, body, org_type="1", reg_seq=None):
    code = org_code(body)
    return {
        "kind": "legal_person" if org_type == "1" else "individual_business",
        "name": name,
        "uscc": uscc("9", org_type, division, code),
        "org_code": code,
        "registration_no": registration_no(division, reg_seq) if reg_seq else None,
    }


def rep(name, division, birth, sequence):
    return {"name": name, "id_type": "resident_id", "id_number": resident_id(division, birth, sequence)}


def person(name, division, birth, sequence, address, phone):
    return {
        "kind": "natural_person",
        "name": name,
        "id_type": "resident_id",
        "id_number": resident_id(division, birth, sequence),
        "address": address,
        "phone": phone,
    }


def d(text):
    return dt.date.fromisoformat(text)


def plus_years(date, years):
    return date.replace(year=date.year + years)


def wan(yuan):
    """Yuan (int) → 万元 as short decimal text: 5000 → '0.5'."""
    text = format(Decimal(yuan) / Decimal(10000), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cn_date(date):
    return f"{date.year}年{date.month}月{date.day}日"


# --- agencies (made up; divisions 聊城市 371500, 茌平县 371523, 东阿县 371524) -----------------

LC_ZF = agency("聊城市综合行政执法局", "371500", "MB285610")
CP_ZF = agency("茌平县综合行政执法局", "371523", "MB196624")
DE_ZF = agency("东阿县综合行政执法局", "371524", "MB197318")
CP_YJ = agency("茌平县应急管理局", "371523", "MB173942")
LC_HB = agency("聊城市生态环境局", "371500", "00415467")
DE_JT = agency("东阿县交通运输局", "371524", "00420981")
CP_WJ = agency("茌平县卫生健康局", "371523", "00421327")
LC_WL = agency("聊城市文化和旅游局", "371500", "MB285942")
DE_SP = agency("东阿县行政审批服务局", "371524", "MB196385")
LC_SP = agency("聊城市行政审批服务局", "371500", "MB285377")
# The county's data centre reports the health bureau's sheets (数据来源单位 ≠ 处罚机关).
CP_DSJ = agency("茌平县大数据中心", "371523", "MB19A054")

PERSON_PHRASES = {
    "id": "（身份证号{id}）",
    "phone": "，联系电话{phone}",
}


def case(**fields):
    base = {
        "category": "penalty",
        "procedure": "ordinary",
        "status": "in_force",
        "doc_title": None,
        "legal_rep": None,
        "violation": None,
        "facts": None,
        "basis": None,
        "penalty_kinds": [],
        "content": None,
        "fine_yuan": None,
        "confiscated_yuan": None,
        "license_affected": None,
        "license": None,
        "publicity_years": 1,
        "valid_until": None,
        "major": False,
        "review": None,
        "classification": "public",
        "remarks": None,
        "random_check": None,
        # What the hub must do: valid, or quarantined with a reason it must give.
        "expect": "valid",
        "withheld": None,
        "source_unit": None,
    }
    base.update(fields)
    base["decided_on"] = d(base["decided_on"]) if isinstance(base["decided_on"], str) else base["decided_on"]
    if base.get("publicity_until") is None and base["decided_on"] is not None:
        base["publicity_until"] = plus_years(base["decided_on"], base["publicity_years"])
    return base


def revoked(original, on, **changes):
    """The same case, revoked on `on` (a second export re-sends it whole)."""
    copy = dict(original)
    copy.update(status="revoked", revoked_on=d(on), expect="valid", withheld=None)
    copy.update(changes)
    return copy


# --- case-db: 聊城市综合行政执法 case system, shared by the city and two county bureaus ----------

CASE_DB = [
    case(
        key="LCZF-2026-0031", agency=LC_ZF, doc_no="聊综执罚〔2026〕31号",
        party=company("聊城市东昌府区鑫泰建材经营部", "371502", "MA3C7R21", reg_seq=602317),
        legal_rep=rep("孙立新", "371502", "19780412", 231),
        violation="未经批准擅自设置户外广告", facts="当事人未经城市管理部门批准，于2026年7月在柳园南路临街墙面擅自设置户外广告牌一块，面积约12平方米。",
        basis="《山东省城市市容和环境卫生管理条例》第二十三条", penalty_kinds=["警告", "罚款"],
        content="警告，罚款人民币三千元", fine_yuan=3000, decided_on="2026-09-08",
        updated_at="2026-09-08 16:20:00",
    ),
    case(
        key="LCZF-2026-0034", agency=LC_ZF, doc_no="聊综执罚〔2026〕34号",
        party=company("聊城市恒宇建筑工程有限公司", "371500", "MA3D2K68", reg_seq=500872),
        legal_rep=rep("马振东", "371500", "19700915", 117),
        violation="施工工地扬尘污染防治措施不落实", facts="当事人承建的湖南路住宅项目施工工地未对裸露土方进行覆盖，车辆出场未冲洗，造成扬尘污染。",
        basis="《中华人民共和国大气污染防治法》第一百一十五条", penalty_kinds=["罚款"],
        content="罚款人民币五万元", fine_yuan=50000, decided_on="2026-09-21", publicity_years=3,
        major=True, review={"passed": True, "reviewer": "法制审核科", "date": "2026-09-17"},
        updated_at="2026-09-21 10:05:00",
    ),
    case(
        key="LCZF-2026-0040", agency=LC_ZF, doc_no="聊综执罚〔2026〕40号",
        party=person("赵德明", "371502", "19830306", 415, "聊城市东昌府区古楼街道楼西街12号", "13906352718"),
        violation="占道经营", facts="当事人赵德明（身份证号{id}，联系电话{phone}）在东昌路与兴华路路口占用人行道摆摊经营水果，经责令改正拒不改正。",
        basis="《城市市容和环境卫生管理条例》第三十六条", penalty_kinds=["罚款"],
        content="罚款人民币二百元", fine_yuan=200, decided_on="2026-10-09",
        updated_at="2026-10-09 11:40:00",
    ),
    case(
        key="CPZF-2026-0112", agency=CP_ZF, doc_no="茌综执罚〔2026〕112号",
        party=company("茌平县信发物流有限公司", "371523", "MA3BQ5T4", reg_seq=300455),
        legal_rep=rep("王立华", "371523", "19750203", 352),
        violation="运输渣土车辆未密闭", facts="当事人所属渣土运输车辆在振兴路运输建筑垃圾时未采取密闭措施，沿途撒漏。",
        basis="《城市建筑垃圾管理规定》第二十三条", penalty_kinds=["罚款"],
        content="罚款人民币五千元", fine_yuan=5000, decided_on="2026-09-15",
        updated_at="2026-09-15 15:00:00",
    ),
    case(
        key="CPZF-2026-0118", agency=CP_ZF, doc_no="茌综执罚〔2026〕118号",
        party=person("李秀云", "371523", "19900718", 268, "茌平县振兴街道新华路88号", "15863572901"),
        violation="违法建设", facts="当事人李秀云在其位于振兴街道的住宅院内未取得建设工程规划许可证搭建彩钢板房约20平方米，联系电话{phone}。",
        basis="《中华人民共和国城乡规划法》第六十四条", penalty_kinds=["罚款", "其他"],
        content="限期拆除违法建筑，并处罚款人民币一千元", fine_yuan=1000, decided_on="2026-10-14",
        updated_at="2026-10-14 09:30:00",
    ),
    case(
        key="CPZF-2026-0121", agency=CP_ZF, doc_no="茌综执罚〔2026〕121号",
        party=person("周建军", "371523", "19680921", 173, "茌平县博平镇周庄村", "13563592478"),
        violation="违法建设", facts="当事人在博平镇集贸市场东侧未经批准建设门面房，身份证号{id}。",
        basis="《中华人民共和国城乡规划法》第六十五条", penalty_kinds=["罚款"],
        content="罚款人民币两千元", fine_yuan=2000, decided_on="2026-10-20",
        updated_at="2026-10-20 14:10:00",
        # The case system took the ID number with a typo: its check digit does not match.
        expect="quarantined:counterparty.id_number: is not a valid resident ID: check digit does not match",
        bad_id_number=True,
    ),
    case(
        key="CPZF-2026-0125", agency=CP_ZF, category="inspection", doc_no="茌综执检〔2026〕125号",
        doc_title="行政检查结果告知书",
        party=company("茌平县华信农产品批发市场有限公司", "371523", "MA3CH8W1", reg_seq=300961),
        legal_rep=rep("高红梅", "371523", "19811129", 426),
        violation=None, facts="对市场内燃气使用安全、消防通道进行双随机抽查，未发现问题。",
        basis="《山东省城镇燃气管理条例》第四十六条", content="检查合格", decided_on="2026-10-27",
        random_check=True, updated_at="2026-10-27 17:45:00",
    ),
    case(
        key="DEZF-2026-0077", agency=DE_ZF, doc_no="东综执罚〔2026〕77号",
        party=company("东阿县阿胶城餐饮有限公司", "371524", "MA3DF2N7", reg_seq=700288),
        legal_rep=rep("陈淑芬", "371524", "19850611", 284),
        violation="餐饮油烟未经处理直接排放", facts="当事人经营场所未安装油烟净化设施，油烟直接排放至居民楼。",
        basis="《中华人民共和国大气污染防治法》第一百一十八条", penalty_kinds=["罚款"],
        content="罚款人民币八千元，责令改正", fine_yuan=8000, decided_on="2026-09-30",
        updated_at="2026-09-30 10:00:00",
    ),
    case(
        key="DEZF-2026-0081", agency=DE_ZF, doc_no="东综执罚〔2026〕81号",
        party=company("东阿县鲁西印刷有限公司", "371524", "MA3DK7P9", reg_seq=700314),
        legal_rep=rep("刘成林", "371524", "19720308", 155),
        violation="擅自占用城市绿地", facts="当事人擅自占用城市绿地堆放纸张原料，面积约40平方米。",
        basis="《城市绿化条例》第二十七条", penalty_kinds=["罚款"], content="罚款人民币四千元",
        fine_yuan=4000, decided_on="2026-10-22", classification="internal",
        updated_at="2026-10-22 16:00:00",
        withheld="classified",
    ),
    case(
        key="DEZF-2026-0085", agency=DE_ZF, category="coercion", doc_no="东综执强〔2026〕85号",
        doc_title="查封决定书",
        party=company("东阿县顺达废旧物资回收有限公司", "371524", "MA3E0L26", reg_seq=700402),
        legal_rep=rep("杨国庆", "371524", "19790125", 339),
        facts="当事人在铜城街道违规堆放易燃废旧物资，存在重大火灾隐患，依法查封堆放场地。",
        basis="《中华人民共和国行政强制法》第二十二条", content="查封堆放场地，期限三十日",
        decided_on="2026-11-03", updated_at="2026-11-03 09:15:00",
    ),
]
CASE_DB_REVOKED = [
    revoked(CASE_DB[0], "2026-11-16", updated_at="2026-11-16 10:30:00"),
    revoked(CASE_DB[7], "2026-11-18", updated_at="2026-11-18 15:20:00"),
]

# --- county-push: 茌平县应急管理局 pushes JSON arrays ---------------------------------------

COUNTY_PUSH = [
    case(
        key="CPYJ-2026-0009", agency=CP_YJ, doc_no="茌应急罚〔2026〕9号",
        party=company("茌平县金源化工有限公司", "371523", "MA3B8F43", reg_seq=300128),
        legal_rep=rep("徐志刚", "371523", "19690517", 291),
        violation="未按规定对从业人员进行安全生产教育和培训", facts="经查，当事人2026年新入职的6名从业人员未经安全生产教育和培训即上岗作业。",
        basis="《中华人民共和国安全生产法》第九十七条", penalty_kinds=["警告", "罚款"],
        content="警告，罚款人民币二万元", fine_yuan=20000, decided_on="2026-09-10",
        review={"passed": True, "reviewer": "法规股", "date": "2026-09-08"},
    ),
    case(
        key="CPYJ-2026-0011", agency=CP_YJ, doc_no="茌应急罚〔2026〕11号",
        party=company("茌平县鼎盛铝业有限公司", "371523", "MA3BD7X5", reg_seq=300219),
        legal_rep=rep("韩丽", "371523", "19820822", 486),
        violation="未按规定设置安全警示标志", facts="当事人熔铸车间危险区域未设置明显的安全警示标志。",
        basis="《中华人民共和国安全生产法》第九十九条", penalty_kinds=["罚款"],
        content="罚款人民币一万五千元", fine_yuan=15000, decided_on="2026-09-24",
    ),
    case(
        key="CPYJ-2026-0012", agency=CP_YJ, doc_no="茌应急罚〔2026〕12号",
        party=person("孟庆山", "371523", "19740603", 219, "茌平县乐平铺镇孟庄村136号", "13793508124"),
        violation="非法储存烟花爆竹", facts="当事人孟庆山（身份证号{id}）在其住宅内非法储存烟花爆竹共计32箱，联系电话{phone}。",
        basis="《烟花爆竹安全管理条例》第三十六条", penalty_kinds=["没收非法财物", "罚款"],
        content="没收非法储存的烟花爆竹，罚款人民币一千元", fine_yuan=1000, decided_on="2026-10-13",
    ),
    case(
        key="CPYJ-2026-0015", agency=CP_YJ, doc_no="茌应急罚〔2026〕15号",
        party=company("茌平县宏达纺织有限公司", "371523", "MA3BL2R8", reg_seq=300577),
        legal_rep=rep("许建平", "371523", "19770130", 363),
        violation="未按规定制定生产安全事故应急救援预案", facts="当事人未制定生产安全事故应急救援预案，也未定期组织演练。",
        basis="《中华人民共和国安全生产法》第九十七条", penalty_kinds=["罚款"],
        content="罚款人民币三万元", fine_yuan=30000, decided_on="2026-10-21", publicity_years=3,
        major=True, review={"passed": True, "reviewer": "法规股", "date": "2026-10-19"},
    ),
    case(
        key="CPYJ-2026-0016", agency=CP_YJ, doc_no="茌应急罚〔2026〕16号",
        party=company("茌平县盛华五金加工厂", "371523", "MA3BN6C2", org_type="2"),
        legal_rep=None,
        violation="粉尘防爆措施不落实", facts="当事人打磨工位未设置粉尘收集装置，作业场所积尘未及时清理。",
        basis="《工贸企业粉尘防爆安全规定》第三十条", penalty_kinds=["警告", "罚款"],
        content="警告，罚款人民币五千元", fine_yuan=5000, decided_on="2026-10-29",
        # The push left the decision date out.
        expect="quarantined:decided_on: required, but `/决定日期` has no value",
        missing_decided_on=True,
    ),
    case(
        key="CPYJ-2026-0018", agency=CP_YJ, category="inspection", doc_no="茌应急检〔2026〕18号",
        party=company("茌平县恒通燃气有限公司", "371523", "MA3BP9E6", reg_seq=300690),
        legal_rep=rep("张永胜", "371523", "19730914", 137),
        facts="对液化气储配站开展双随机抽查，储罐区安全设施完好。", basis="《中华人民共和国安全生产法》第六十五条",
        content="检查合格", decided_on="2026-11-02",
    ),
    case(
        key="CPYJ-2026-0021", agency=CP_YJ, doc_no="茌应急罚〔2026〕21号",
        party=company("茌平县鑫达木业有限公司", "371523", "MA3BR3H9", reg_seq=300734),
        legal_rep=rep("曹明", "371523", "19860227", 258),
        violation="特种作业人员未持证上岗", facts="当事人2名电焊作业人员未取得特种作业操作证即上岗作业。",
        basis="《中华人民共和国安全生产法》第九十七条", penalty_kinds=["罚款"],
        content="罚款人民币一万元", fine_yuan=10000, decided_on="2026-11-06",
    ),
    case(
        key="CPYJ-2026-0022", agency=CP_YJ, doc_no="茌应急罚〔2026〕22号",
        party=person("吴国华", "371523", "19911105", 331, "茌平县温陈街道吴官屯村58号", "18254919736"),
        violation="无证经营危险化学品", facts="当事人吴国华在温陈街道无证销售汽油，联系电话{phone}，现场查获汽油约200升。",
        basis="《危险化学品安全管理条例》第七十七条", penalty_kinds=["没收违法所得", "没收非法财物", "罚款"],
        content="没收违法所得八百元及汽油约200升，罚款人民币一万元", fine_yuan=10000, confiscated_yuan=800,
        decided_on="2026-11-10",
    ),
]
COUNTY_PUSH_REVOKED = [revoked(COUNTY_PUSH[1], "2026-11-19")]

# --- dept-api: 聊城市生态环境局 paged API -------------------------------------------------

DEPT_API = [
    case(
        key="LCHB-2026-0101", agency=LC_HB, doc_no="聊环罚〔2026〕101号", doc_title="行政处罚决定书",
        party=company("聊城市华宇热电有限公司", "371500", "MA3CA4Q2", reg_seq=500123),
        legal_rep=rep("邢国栋", "371500", "19670819", 195),
        violation="超标排放大气污染物", facts="在线监测数据显示，当事人1号锅炉氮氧化物小时均值连续超过排放标准。",
        basis="《中华人民共和国大气污染防治法》第九十九条", penalty_kinds=["罚款"],
        content="罚款人民币二十万元", fine_yuan=200000, decided_on="2026-08-26", publicity_years=3,
        major=True, review={"passed": True, "reviewer": "法规与标准科", "date": "2026-08-20"},
    ),
    case(
        key="LCHB-2026-0104", agency=LC_HB, doc_no="聊环罚〔2026〕104号", doc_title="行政处罚决定书",
        party=company("聊城市东昌府区蓝天洗涤有限公司", "371502", "MA3C1T57", reg_seq=602405),
        legal_rep=rep("高秀兰", "371502", "19800402", 242),
        violation="未批先建", facts="当事人新建洗涤生产线未依法报批环境影响评价文件即开工建设。",
        basis="《中华人民共和国环境影响评价法》第三十一条", penalty_kinds=["罚款"],
        content="罚款人民币三万二千五百元", fine_yuan=32500, decided_on="2026-09-03",
    ),
    case(
        key="LCHB-2026-0107", agency=LC_HB, doc_no="聊环罚〔2026〕107号", doc_title="行政处罚决定书",
        party=company("聊城市金鼎铸造有限公司", "371500", "MA3CB8U3", reg_seq=500209),
        legal_rep=rep("姜伟", "371500", "19761212", 314),
        violation="未按规定贮存危险废物", facts="当事人将废矿物油露天堆放，未设置危险废物识别标志。",
        basis="《中华人民共和国固体废物污染环境防治法》第一百一十二条", penalty_kinds=["罚款"],
        content="罚款人民币十二万元", fine_yuan=120000, decided_on="2026-09-17", publicity_years=3,
        major=True, review={"passed": True, "reviewer": "法规与标准科", "date": "2026-09-11"},
    ),
    case(
        key="LCHB-2026-0110", agency=LC_HB, doc_no="聊环罚〔2026〕110号", doc_title="行政处罚决定书",
        party=person("田志远", "371502", "19870724", 153, "聊城市东昌府区道口铺街道田庄村", "13561251874"),
        violation="露天焚烧废弃物", facts="当事人田志远（身份证号{id}）在道口铺街道农田内露天焚烧废旧轮胎，产生有毒有害烟尘。",
        basis="《中华人民共和国大气污染防治法》第一百一十九条", penalty_kinds=["罚款"],
        content="罚款人民币五百元", fine_yuan=500, decided_on="2026-09-29",
    ),
    case(
        key="LCHB-2026-0113", agency=LC_HB, doc_no="聊环罚〔2026〕113号", doc_title="行政处罚决定书",
        party=company("聊城市祥和汽车维修有限公司", "371500", "MA3CD1W8", reg_seq=500386),
        legal_rep=rep("史文博", "371500", "19890316", 277),
        violation="喷漆作业未在密闭空间进行", facts="当事人在露天场地进行喷漆作业，挥发性有机物无组织排放。",
        basis="《中华人民共和国大气污染防治法》第一百零八条", penalty_kinds=["责令改正", "罚款"],
        content="责令改正，罚款人民币二万元", fine_yuan=20000, decided_on="2026-10-12",
        # The API sends ORDER_CORRECTION: 责令改正 is not a kind of administrative penalty.
        expect="quarantined:penalty_kinds: code `ORDER_CORRECTION` is not in code table `penalty`",
    ),
    case(
        key="LCHB-2026-0115", agency=LC_HB, category="inspection", doc_no="聊环检〔2026〕115号",
        doc_title="行政检查结果告知书",
        party=company("聊城市新发污水处理有限公司", "371500", "MA3CE5W4", reg_seq=500422),
        legal_rep=rep("鲁红军", "371500", "19710505", 158),
        facts="对污水处理厂出水水质开展双随机抽查，化学需氧量、氨氮均达标。", basis="《中华人民共和国水污染防治法》第三十条",
        content="检查合格", decided_on="2026-10-19",
    ),
    case(
        key="LCHB-2026-0118", agency=LC_HB, doc_no="聊环罚〔2026〕118号", doc_title="行政处罚决定书",
        party=company("聊城市鲁达化工有限公司", "371500", "MA3CF9X1", reg_seq=500518),
        legal_rep=rep("郝建新", "371500", "19640911", 216),
        violation="不正常运行水污染防治设施", facts="当事人污水处理设施停运期间仍组织生产，废水经雨水管网外排。",
        basis="《中华人民共和国水污染防治法》第八十三条", penalty_kinds=["罚款"],
        content="罚款人民币十五万元", fine_yuan=150000, decided_on="2026-10-28", publicity_years=3,
        major=True, review={"passed": True, "reviewer": "法规与标准科", "date": "2026-10-23"},
    ),
    case(
        key="LCHB-2026-0121", agency=LC_HB, doc_no="聊环罚〔2026〕121号", doc_title="行政处罚决定书",
        party=company("聊城市开发区瑞丰包装制品厂", "371500", "MA3CG2Y6", org_type="2"),
        legal_rep=None,
        violation="未按规定申领排污许可证", facts="当事人属于排污登记管理单位，未依法填报排污登记表即排放污染物。",
        basis="《排污许可管理条例》第四十三条", penalty_kinds=["警告"],
        content="警告", decided_on="2026-11-04",
    ),
    case(
        key="LCHB-2026-0124", agency=LC_HB, doc_no="聊环罚〔2026〕124号", doc_title="行政处罚决定书",
        party=company("聊城市天顺物流有限公司", "371500", "MA3CH6A2", reg_seq=500647),
        legal_rep=rep("付海涛", "371500", "19830127", 392),
        violation="重型柴油车排放不合格", facts="当事人所属重型柴油货车经路检排放不合格，未按规定维修。",
        basis="《中华人民共和国大气污染防治法》第一百一十一条", penalty_kinds=["罚款"],
        content="罚款人民币五千元", fine_yuan=5000, decided_on="2026-11-09",
    ),
    case(
        key="LCHB-2026-0126", agency=LC_HB, doc_no="聊环罚〔2026〕126号", doc_title="行政处罚决定书",
        party=company("聊城市润丰农牧有限公司", "371500", "MA3CJ0B9", reg_seq=500731),
        legal_rep=rep("魏建华", "371500", "19750606", 174),
        violation="畜禽养殖废弃物未经处理直接排放", facts="当事人养殖场粪污未经无害化处理直接排入周边沟渠。",
        basis="《畜禽规模养殖污染防治条例》第四十一条", penalty_kinds=["罚款"],
        content="罚款人民币三万元", fine_yuan=30000, decided_on="2026-11-12",
    ),
]
DEPT_API_REVOKED = [revoked(DEPT_API[1], "2026-11-20")]

# --- dept-kafka: 东阿县交通运输局 publishes one message per case ------------------------------

DEPT_KAFKA = [
    case(
        key="DEJT-2026-0041", agency=DE_JT, doc_no="东交罚〔2026〕41号",
        party=company("东阿县通达运输有限公司", "371524", "MA3D5G19", reg_seq=700155),
        legal_rep=rep("于德水", "371524", "19710418", 218),
        violation="道路运输车辆超限运输", facts="当事人所属货车车货总重超过限定标准，在国道220线东阿段被查获。",
        basis="《公路安全保护条例》第六十四条", penalty_kinds=["罚款"],
        content="罚款人民币三千元", fine_yuan=3000, decided_on="2026-09-05",
    ),
    case(
        key="DEJT-2026-0044", agency=DE_JT, doc_no="东交罚〔2026〕44号",
        party=person("郭长江", "371524", "19800914", 197, "东阿县刘集镇郭庄村26号", "15965281643"),
        violation="未取得道路运输经营许可擅自从事道路旅客运输", facts="当事人郭长江驾驶私家车在东阿汽车站附近非法营运，联系电话{phone}，身份证号{id}。",
        basis="《中华人民共和国道路运输条例》第六十三条", penalty_kinds=["罚款"],
        content="罚款人民币五千元", fine_yuan=5000, decided_on="2026-09-16",
    ),
    case(
        key="DEJT-2026-0046", agency=DE_JT, doc_no="东交罚〔2026〕46号",
        party=company("东阿县顺风驾驶员培训有限公司", "371524", "MA3D6H23", reg_seq=700189),
        legal_rep=rep("冯雪梅", "371524", "19840227", 426),
        violation="未按规定进行教学", facts="当事人未按照全国统一的教学大纲进行培训，学时记录弄虚作假。",
        basis="《机动车驾驶员培训管理规定》第五十二条", penalty_kinds=["警告", "罚款"],
        content="警告，罚款人民币二千元", fine_yuan=2000, decided_on="2026-09-25",
    ),
    case(
        key="DEJT-2026-0049", agency=DE_JT, doc_no="东交罚〔2026〕49号",
        party=company("东阿县安顺汽车维修有限公司", "371524", "MA3D7J48", reg_seq=700243),
        legal_rep=rep("石磊", "371524", "19880721", 355),
        violation="机动车维修竣工未出具合格证", facts="当事人对维修竣工车辆未进行竣工质量检验即出厂。",
        basis="《机动车维修管理规定》第五十二条", penalty_kinds=["罚款"],
        content="罚款人民币一千元", fine_yuan=1000, decided_on="2026-10-10",
        # The system wrote the letter O for the zero in the counterparty's code.
        expect="quarantined:counterparty.uscc: is not a unified social credit code: has a character outside",
        bad_party_uscc=True,
    ),
    case(
        key="DEJT-2026-0052", agency=DE_JT, doc_no="东交罚〔2026〕52号",
        party=company("东阿县宏运物流有限公司", "371524", "MA3D8K52", reg_seq=700276),
        legal_rep=rep("贾红旗", "371524", "19760503", 262),
        violation="危险货物运输车辆未按规定悬挂标志", facts="当事人运输危险货物的车辆未按规定悬挂危险货物运输标志。",
        basis="《道路危险货物运输管理规定》第六十五条", penalty_kinds=["罚款"],
        content="罚款人民币一万元", fine_yuan=10000, decided_on="2026-10-23",
        major=True, review={"passed": True, "reviewer": "法制股", "date": "2026-10-20"}, publicity_years=3,
    ),
    case(
        key="DEJT-2026-0055", agency=DE_JT, category="inspection", doc_no="东交检〔2026〕55号",
        party=company("东阿县公共交通有限公司", "371524", "MA3D9L67", reg_seq=700301),
        legal_rep=rep("齐建国", "371524", "19680830", 113),
        facts="对公交车辆安全设施配备情况开展双随机抽查，灭火器、安全锤配备齐全。", basis="《城市公共汽车和电车客运管理规定》第六十二条",
        content="检查合格", decided_on="2026-11-02",
    ),
    case(
        key="DEJT-2026-0058", agency=DE_JT, doc_no="东交罚〔2026〕58号",
        party=company("东阿县鲁中建材有限公司", "371524", "MA3DAM71", reg_seq=700377),
        legal_rep=rep("蒋文涛", "371524", "19820112", 295),
        violation="车辆超载运输", facts="当事人所属重型货车超载运输砂石料。",
        basis="《道路货物运输及站场管理规定》第六十九条", penalty_kinds=["罚款"],
        content="罚款人民币二千元", fine_yuan=2000, decided_on="2026-11-08",
    ),
    case(
        key="DEJT-2026-0061", agency=DE_JT, doc_no="东交罚〔2026〕61号",
        party=company("东阿县阿华出租汽车有限公司", "371524", "MA3DBN85", reg_seq=700412),
        legal_rep=rep("白玉洁", "371524", "19870419", 448),
        violation="巡游出租汽车拒载", facts="当事人所属出租汽车驾驶员在东阿县人民医院门口拒载乘客。",
        basis="《巡游出租汽车经营服务管理规定》第四十八条", penalty_kinds=["罚款"],
        content="罚款人民币二百元", fine_yuan=200, decided_on="2026-11-11",
    ),
]
DEPT_KAFKA_REVOKED = [revoked(DEPT_KAFKA[2], "2026-11-20")]

# --- sgs-penalty: 双公示 行政处罚 sheets of two small units ------------------------------------

SGS_PENALTY_CP = [
    case(
        key="茌卫医罚〔2026〕21号", agency=CP_WJ, source_unit=CP_DSJ, doc_no="茌卫医罚〔2026〕21号",
        party=company("茌平县康宁诊所有限公司", "371523", "MA3BW4J3", reg_seq=300812),
        legal_rep=rep("鲍春生", "371523", "19700726", 171),
        violation="使用非卫生技术人员从事医疗卫生技术工作", facts="当事人聘用未取得执业资格的人员从事静脉输液等诊疗活动。",
        basis="《医疗机构管理条例》第四十七条", penalty_kinds=["警告", "罚款"],
        content="警告，罚款人民币五千元", fine_yuan=5000, decided_on="2026-09-11",
    ),
    case(
        key="茌卫公罚〔2026〕23号", agency=CP_WJ, source_unit=CP_DSJ, doc_no="茌卫公罚〔2026〕23号",
        party=company("茌平县丽人美发店", "371523", "MA3BT8K7", org_type="2"),
        legal_rep=None,
        violation="从业人员未取得健康合格证明", facts="当事人3名从业人员未取得有效健康合格证明即从事直接为顾客服务的工作。",
        basis="《公共场所卫生管理条例实施细则》第三十八条", penalty_kinds=["警告"],
        content="警告", decided_on="2026-09-23",
    ),
    case(
        key="茌卫医罚〔2026〕26号", agency=CP_WJ, source_unit=CP_DSJ, doc_no="茌卫医罚〔2026〕26号",
        party=person("邵长河", "371523", "19660309", 255, "茌平县韩屯镇邵庄村", "13356251983"),
        violation="非医师行医", facts="当事人邵长河（身份证号{id}）未取得医师资格擅自在其住处开展诊疗活动，联系电话{phone}。",
        basis="《中华人民共和国医师法》第五十九条", penalty_kinds=["没收违法所得", "没收非法财物", "罚款"],
        content="没收违法所得三千二百元及药品器械，罚款人民币三万元", fine_yuan=30000, confiscated_yuan=3200,
        decided_on="2026-10-15", publicity_years=3,
    ),
    case(
        key="茌卫职罚〔2026〕29号", agency=CP_WJ, source_unit=CP_DSJ, doc_no="茌卫职罚〔2026〕29号",
        party=company("茌平县泰山石材有限公司", "371523", "MA3BU2L5", reg_seq=300907),
        legal_rep=rep("常玉峰", "371523", "19780914", 318),
        violation="未按规定组织职业健康检查", facts="当事人未组织接触粉尘的劳动者进行上岗前职业健康检查。",
        basis="《中华人民共和国职业病防治法》第七十一条", penalty_kinds=["罚款"],
        content="罚款人民币五万元", fine_yuan=50000, decided_on="2026-10-28",
        # The row was saved without its decision date.
        expect="quarantined:decided_on: required, but `处罚决定日期` has no value",
        missing_decided_on=True,
    ),
]
SGS_PENALTY_LC = [
    case(
        key="聊文旅罚〔2026〕8号", agency=LC_WL, source_unit=LC_WL, doc_no="聊文旅罚〔2026〕8号",
        party=company("聊城市星光网络科技有限公司", "371500", "MA3CK4D6", reg_seq=500803),
        legal_rep=rep("范立军", "371500", "19850820", 337),
        violation="擅自从事互联网上网服务经营活动", facts="当事人未取得网络文化经营许可证，擅自经营网吧。",
        basis="《互联网上网服务营业场所管理条例》第二十七条", penalty_kinds=["没收违法所得", "罚款"],
        content="没收违法所得一千五百元，罚款人民币一万元", fine_yuan=10000, confiscated_yuan=1500,
        decided_on="2026-09-18",
    ),
    case(
        key="聊文旅罚〔2026〕11号", agency=LC_WL, source_unit=LC_WL, doc_no="聊文旅罚〔2026〕11号",
        party=company("聊城市金色年华娱乐有限公司", "371500", "MA3CL8E2", reg_seq=500911),
        legal_rep=rep("沈海波", "371500", "19790104", 159),
        violation="娱乐场所超时营业", facts="当事人在每日凌晨2时至上午8时营业，经责令改正拒不改正。",
        basis="《娱乐场所管理条例》第四十八条", penalty_kinds=["警告", "罚款"],
        content="警告，罚款人民币八千元", fine_yuan=8000, decided_on="2026-10-09",
    ),
    case(
        key="聊文旅罚〔2026〕13号", agency=LC_WL, source_unit=LC_WL, doc_no="聊文旅罚〔2026〕13号",
        party=company("聊城市水城国际旅行社有限公司", "371500", "MA3CM2F9", reg_seq=501027),
        legal_rep=rep("秦晓燕", "371500", "19860512", 264),
        violation="未与旅游者签订书面旅游合同", facts="当事人组织的“江北水城一日游”团队未与游客签订书面合同。",
        basis="《中华人民共和国旅游法》第一百条", penalty_kinds=["罚款"],
        content="罚款人民币五千元", fine_yuan=5000, decided_on="2026-10-26",
    ),
    case(
        key="聊文旅罚〔2026〕15号", agency=LC_WL, source_unit=LC_WL, doc_no="聊文旅罚〔2026〕15号",
        party=company("聊城市东昌书城有限公司", "371500", "MA3CN6G3", reg_seq=501132),
        legal_rep=rep("汪平", "371500", "19730316", 146),
        violation="出版物发行单位未按规定办理变更", facts="当事人变更经营地址未办理出版物经营许可证变更手续。",
        basis="《出版物市场管理规定》第二十八条", penalty_kinds=["警告"],
        content="警告", decided_on="2026-11-05",
        license_affected=None,
    ),
]
SGS_PENALTY_REVOKED = [revoked(SGS_PENALTY_CP[0], "2026-11-17", remarks="已撤销")]

# --- sgs-licensing: 双公示 行政许可 CSV of two 行政审批服务局 --------------------------------

def licence(kind, certificate, number, years):
    return {"kind": kind, "certificate": certificate, "number": number, "years": years}


SGS_LICENSING_DE = [
    case(
        key="东审批食许〔2026〕201号", category="licensing", agency=DE_SP, source_unit=DE_SP,
        doc_title="食品经营许可决定书", doc_no="东审批食许〔2026〕201号",
        party=company("东阿县福源超市有限公司", "371524", "MA3DC8P2", reg_seq=700455),
        legal_rep=rep("章兴旺", "371524", "19770723", 231),
        license=licence("普通", "食品经营许可证", "JY13715240035681", 5),
        content="预包装食品销售（含冷藏冷冻食品），散装食品销售", decided_on="2026-09-09",
    ),
    case(
        key="东审批药许〔2026〕37号", category="licensing", agency=DE_SP, source_unit=DE_SP,
        doc_title="药品经营许可决定书", doc_no="东审批药许〔2026〕37号",
        party=company("东阿县仁和大药房有限公司", "371524", "MA3DD2Q6", reg_seq=700481),
        legal_rep=rep("屈小红", "371524", "19830909", 402),
        license=licence("普通", "药品经营许可证", "鲁DA6350412", 5),
        content="中成药、化学药制剂、抗生素制剂、生化药品零售", decided_on="2026-10-14",
    ),
    case(
        key="东审批建许〔2026〕58号", category="licensing", agency=DE_SP, source_unit=DE_SP,
        doc_title="建筑工程施工许可决定书", doc_no="东审批建许〔2026〕58号",
        party=company("东阿县安居置业有限公司", "371524", "MA3DE6R1", reg_seq=700512),
        legal_rep=rep("谭志明", "371524", "19690214", 177),
        license=licence("核准", "建筑工程施工许可证", "371524202610280101", 1),
        content="安居花园三期1#—6#住宅楼及地下车库", decided_on="2026-10-28",
    ),
    case(
        key="东审批卫许〔2026〕64号", category="licensing", agency=DE_SP, source_unit=DE_SP,
        doc_title="公共场所卫生许可决定书", doc_no="东审批卫许〔2026〕64号",
        party=person("房秀珍", "371524", "19880130", 266, "东阿县铜城街道曙光路19号", "15206359847"),
        license=licence("普通", "公共场所卫生许可证", "东卫公字〔2026〕第064号", 4),
        content="美容美发场所", decided_on="2026-11-04",
    ),
]
SGS_LICENSING_LC = [
    case(
        key="聊审批危化许〔2026〕12号", category="licensing", agency=LC_SP, source_unit=LC_SP,
        doc_title="危险化学品经营许可决定书", doc_no="聊审批危化许〔2026〕12号",
        party=company("聊城市恒昌化工贸易有限公司", "371500", "MA3CP1H7", reg_seq=501246),
        legal_rep=rep("柴明亮", "371500", "19740601", 285),
        license=licence("特许", "危险化学品经营许可证", "鲁聊危化经字〔2026〕000012", 3),
        content="批发（不带储存设施）：甲醇、乙醇、丙酮", decided_on="2026-09-14",
    ),
    case(
        key="聊审批道许〔2026〕45号", category="licensing", agency=LC_SP, source_unit=LC_SP,
        doc_title="道路运输经营许可决定书", doc_no="聊审批道许〔2026〕45号",
        party=company("聊城市畅达客运有限公司", "371500", "MA3CQ5J2", reg_seq=501318),
        legal_rep=rep("龚建设", "371500", "19660927", 131),
        license=licence("普通", "道路运输经营许可证", "鲁交运管许可聊字371500000456号", 4),
        content="县际班车客运、包车客运", decided_on="2026-10-16",
    ),
    case(
        key="聊审批环许〔2026〕27号", category="licensing", agency=LC_SP, source_unit=LC_SP,
        doc_title="建设项目环境影响报告表批复", doc_no="聊审批环许〔2026〕27号",
        party=company("聊城市绿源新材料有限公司", "371500", "MA3CR9K8", reg_seq=501402),
        legal_rep=rep("孔德胜", "371500", "19810811", 308),
        license=licence("核准", "建设项目环境影响报告表批复", "聊审批环许〔2026〕27号", 5),
        content="年产5000吨可降解塑料制品项目", decided_on="2026-10-30",
        # Typed by hand: the 许可机关's code lost two characters.
        expect="quarantined:agency.uscc: is not a unified social credit code: must be 18 characters long, found 16",
        bad_agency_uscc=True,
    ),
    case(
        key="聊审批人力许〔2026〕9号", category="licensing", agency=LC_SP, source_unit=LC_SP,
        doc_title="人力资源服务许可决定书", doc_no="聊审批人力许〔2026〕9号",
        party=company("聊城市才聚人力资源有限公司", "371500", "MA3CT3L4", reg_seq=501487),
        legal_rep=rep("段晓峰", "371500", "19870302", 356),
        license=licence("普通", "人力资源服务许可证", "（鲁）人服证字〔2026〕第1500009号", 5),
        content="职业介绍、人才供求信息的收集整理发布", decided_on="2026-11-06",
    ),
]
SGS_LICENSING_REVOKED = [revoked(SGS_LICENSING_DE[1], "2026-11-18")]


# --- small helpers over the case model -------------------------------------------------------

def party(c):
    return c["party"]


def facts(c):
    text = c["facts"]
    if text is None:
        return None
    p = party(c)
    return text.format(id=p.get("id_number", ""), phone=p.get("phone", ""))


def id_number(c):
    """The counterparty's ID number as the source system holds it (with a typo where planted)."""
    number = party(c).get("id_number")
    if number and c.get("bad_id_number"):
        last = number[-1]
        number = number[:-1] + ("0" if last != "0" else "1")
    return number


def party_uscc(c):
    code = party(c).get("uscc")
    if code and c.get("bad_party_uscc"):
        code = code[:10] + "O" + code[11:]
    return code


def agency_uscc(c):
    code = c["agency"]["uscc"]
    return code[:8] + code[10:] if c.get("bad_agency_uscc") else code


def is_person(c):
    return party(c)["kind"] == "natural_person"


def fine_text(yuan):
    return None if yuan is None else f"{yuan}.00"


def licence_dates(c):
    lic = c["license"]
    start = c["decided_on"]
    end = plus_years(start, lic["years"]) - dt.timedelta(days=1)
    return start, end


# --- writers ---------------------------------------------------------------------------------

def write(path, data, binary=False):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as out:
        out.write(data if binary else data.encode("utf-8"))


def sql_value(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    if isinstance(value, RawSql):
        return value.text
    return "'" + str(value).replace("'", "''") + "'"


class RawSql:
    def __init__(self, text):
        self.text = text


CASE_DB_COLUMNS = [
    ("case_no", "VARCHAR(40) NOT NULL PRIMARY KEY", "案件编号"),
    ("case_type", "VARCHAR(4) NOT NULL", "CF 处罚, JC 检查, QZ 强制, XK 许可"),
    ("proc_type", "VARCHAR(4)", "JY 简易程序, PT 普通程序"),
    ("status", "VARCHAR(8) NOT NULL", "有效, 变更, 撤销, 确认违法, 确认无效, 重新作出"),
    ("status_changed_on", "DATE", "状态变更日期"),
    ("org_name", "VARCHAR(100) NOT NULL", "执法机关"),
    ("org_uscc", "VARCHAR(18)", "执法机关统一社会信用代码"),
    ("org_division", "VARCHAR(6) NOT NULL", "执法机关行政区划代码"),
    ("doc_no", "VARCHAR(60)", "决定文书号"),
    ("doc_title", "VARCHAR(60)", "决定文书名称"),
    ("party_kind", "VARCHAR(8) NOT NULL", "ORG 法人及非法人组织, PERSON 自然人, INDIV 个体工商户"),
    ("party_name", "VARCHAR(200) NOT NULL", "当事人名称"),
    ("party_uscc", "VARCHAR(18)", "当事人统一社会信用代码"),
    ("party_id_type", "VARCHAR(4)", "自然人证件类型: SFZ 身份证, HZ 护照, GA 港澳通行证, TW 台湾通行证, QT 其他"),
    ("party_id_no", "VARCHAR(30)", "自然人证件号码"),
    ("party_address", "VARCHAR(200)", "自然人住址"),
    ("party_phone", "VARCHAR(30)", "自然人联系电话"),
    ("legal_rep", "VARCHAR(50)", "法定代表人"),
    ("legal_rep_id_type", "VARCHAR(4)", "法定代表人证件类型"),
    ("legal_rep_id_no", "VARCHAR(30)", "法定代表人证件号码"),
    ("violation", "VARCHAR(200)", "违法行为"),
    ("facts", "TEXT", "违法事实"),
    ("basis", "VARCHAR(500)", "依据"),
    ("penalty_kinds", "VARCHAR(200)", "处罚种类, 逗号分隔"),
    ("content", "TEXT", "处罚内容 / 决定内容"),
    ("fine_yuan", "DECIMAL(14,2)", "罚款金额（元）"),
    ("confiscated_yuan", "DECIMAL(14,2)", "没收金额（元）"),
    ("random_check", "SMALLINT", "双随机抽查 1/0, 检查类"),
    ("decided_on", "DATE", "决定日期"),
    ("publicity_until", "DATE", "公示截止日期"),
    ("major", "SMALLINT NOT NULL", "重大执法决定 1/0"),
    ("review_passed", "SMALLINT", "法制审核通过 1/0, 未审核为 NULL"),
    ("reviewer", "VARCHAR(50)", "法制审核机构"),
    ("reviewed_on", "DATE", "法制审核日期"),
    ("secrecy", "VARCHAR(4) NOT NULL", "公开, 内部, 秘密"),
    ("remarks", "TEXT", "备注"),
    ("updated_at", "TIMESTAMP NOT NULL", "最后修改时间: 每次修改都变大"),
]

CATEGORY_DB = {"penalty": "CF", "inspection": "JC", "coercion": "QZ", "licensing": "XK"}
KIND_DB = {"legal_person": "ORG", "natural_person": "PERSON", "individual_business": "INDIV"}


def case_db_row(c):
    p = party(c)
    review = c["review"] or {}
    lrep = c["legal_rep"] or {}
    return {
        "case_no": c["key"],
        "case_type": CATEGORY_DB[c["category"]],
        "proc_type": "PT" if c["procedure"] == "ordinary" else "JY",
        "status": "有效",
        "status_changed_on": None,
        "org_name": c["agency"]["name"],
        "org_uscc": c["agency"]["uscc"],
        "org_division": c["agency"]["division"],
        "doc_no": c["doc_no"],
        "doc_title": c["doc_title"] or ("行政处罚决定书" if c["category"] == "penalty" else None),
        "party_kind": KIND_DB[p["kind"]],
        "party_name": p["name"],
        "party_uscc": p.get("uscc"),
        "party_id_type": "SFZ" if is_person(c) else None,
        "party_id_no": id_number(c) if is_person(c) else None,
        "party_address": p.get("address"),
        "party_phone": p.get("phone"),
        "legal_rep": lrep.get("name"),
        "legal_rep_id_type": "SFZ" if lrep else None,
        "legal_rep_id_no": lrep.get("id_number"),
        "violation": c["violation"],
        "facts": facts(c),
        "basis": c["basis"],
        "penalty_kinds": ",".join(c["penalty_kinds"]) or None,
        "content": c["content"],
        "fine_yuan": RawSql(fine_text(c["fine_yuan"])) if c["fine_yuan"] is not None else None,
        "confiscated_yuan": RawSql(fine_text(c["confiscated_yuan"])) if c["confiscated_yuan"] is not None else None,
        "random_check": c["random_check"],
        "decided_on": c["decided_on"],
        "publicity_until": c["publicity_until"],
        "major": c["major"],
        "review_passed": review.get("passed"),
        "reviewer": review.get("reviewer"),
        "reviewed_on": d(review["date"]) if review else None,
        "secrecy": {"public": "公开", "internal": "内部", "secret": "秘密"}[c["classification"]],
        "remarks": c["remarks"],
        "updated_at": RawSql(f"'{c['updated_at']}'"),
    }


def write_case_db():
    lines = [
        "-- The case table of the 聊城市综合行政执法 case system (made up), as the demo's `sql` source reads it.",
        "-- Runs unchanged on SQLite, PostgreSQL and MariaDB (create a MariaDB database with",
        "-- CHARACTER SET utf8mb4). Written by mappings/samples/make_samples.py.",
        "--",
        "-- The sql source reads rows in the order of (updated_at, case_no) and remembers the last pair;",
        "-- every change of a row must raise updated_at.",
        "",
        "CREATE TABLE enforcement_cases (",
    ]
    width = max(len(name) for name, _, _ in CASE_DB_COLUMNS)
    for index, (name, sql_type, comment) in enumerate(CASE_DB_COLUMNS):
        comma = "," if index < len(CASE_DB_COLUMNS) - 1 else ""
        lines.append(f"    {name.ljust(width)} {sql_type}{comma}  -- {comment}")
    lines += [
        ");",
        "",
        "CREATE INDEX enforcement_cases_cursor ON enforcement_cases (updated_at, case_no);",
        "",
    ]
    write("case-db/schema.sql", "\n".join(lines))

    out = [
        "-- First state of enforcement_cases: the cases decided so far. Run after schema.sql.",
        "-- Written by mappings/samples/make_samples.py.",
        "",
    ]
    names = [name for name, _, _ in CASE_DB_COLUMNS]
    for c in CASE_DB:
        row = case_db_row(c)
        out.append(f"INSERT INTO enforcement_cases ({', '.join(names)}) VALUES")
        out.append("    (" + ", ".join(sql_value(row[name]) for name in names) + ");")
    out.append("")
    write("case-db/first.sql", "\n".join(out))

    out = [
        "-- Second state: two decisions revoked (状态 撤销). Run after first.sql.",
        "-- Written by mappings/samples/make_samples.py.",
        "",
    ]
    for c in CASE_DB_REVOKED:
        out.append(
            "UPDATE enforcement_cases SET status = '撤销', "
            f"status_changed_on = '{c['revoked_on'].isoformat()}', updated_at = '{c['updated_at']}' "
            f"WHERE case_no = '{c['key']}';"
        )
    out.append("")
    write("case-db/second.sql", "\n".join(out))


# county-push: Chinese member names, 万元 as text, dates 2026年10月12日.

CATEGORY_CN = {"penalty": "行政处罚", "inspection": "行政检查", "coercion": "行政强制", "licensing": "行政许可"}
KIND_CN = {"legal_person": "法人", "natural_person": "自然人", "individual_business": "个体工商户"}


def county_push_case(c):
    p = party(c)
    record = {
        "案件编号": c["key"],
        "案件类别": CATEGORY_CN[c["category"]],
        "程序": "普通程序",
        "状态": "已撤销" if c["status"] == "revoked" else "有效",
        "执法机关": {"名称": c["agency"]["name"], "统一社会信用代码": c["agency"]["uscc"]},
        "决定书文号": c["doc_no"],
    }
    who = {"类别": KIND_CN[p["kind"]], "名称": p["name"]}
    if p.get("uscc"):
        who["统一社会信用代码"] = p["uscc"]
    if c["legal_rep"]:
        who["法定代表人"] = {
            "姓名": c["legal_rep"]["name"],
            "证件类型": "身份证",
            "证件号码": c["legal_rep"]["id_number"],
        }
    if is_person(c):
        who.update({"证件类型": "身份证", "证件号码": id_number(c), "住址": p["address"], "电话": p["phone"]})
    record["当事人"] = who
    if c["violation"]:
        record["违法行为"] = c["violation"]
    record["违法事实"] = facts(c)
    record["处罚依据"] = c["basis"]
    if c["penalty_kinds"]:
        record["处罚种类"] = c["penalty_kinds"]
    record["处罚内容"] = c["content"]
    record["罚款金额"] = wan(c["fine_yuan"]) if c["fine_yuan"] is not None else ""
    record["没收金额"] = wan(c["confiscated_yuan"]) if c["confiscated_yuan"] is not None else ""
    if not c.get("missing_decided_on"):
        record["决定日期"] = cn_date(c["decided_on"])
    record["公示截止日期"] = cn_date(c["publicity_until"])
    record["重大执法决定"] = "是" if c["major"] else "否"
    if c["review"]:
        record["法制审核"] = {
            "结果": "通过" if c["review"]["passed"] else "未通过",
            "审核人": c["review"]["reviewer"],
            "日期": cn_date(d(c["review"]["date"])),
        }
    record["备注"] = c["remarks"] or ""
    return record


def json_text(value):
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def write_county_push():
    write("county-push/first/cpyj-push-20261030-01.json", json_text([county_push_case(c) for c in COUNTY_PUSH[:4]]))
    write("county-push/first/cpyj-push-20261112-01.json", json_text([county_push_case(c) for c in COUNTY_PUSH[4:]]))
    write("county-push/second/cpyj-push-20261119-01.json", json_text([county_push_case(c) for c in COUNTY_PUSH_REVOKED]))


# dept-api: camelCase, upper-case codes, amounts in 元 as JSON numbers.

PENALTY_API = {
    "警告": "WARNING", "通报批评": "PUBLIC_CRITICISM", "罚款": "FINE", "没收违法所得": "CONFISCATE_GAINS",
    "没收非法财物": "CONFISCATE_PROPERTY", "责令改正": "ORDER_CORRECTION", "其他": "OTHER",
}


def dept_api_case(c):
    p = party(c)
    record = {
        "caseId": c["key"],
        "caseType": {"penalty": "PENALTY", "inspection": "INSPECTION"}[c["category"]],
        "procedure": "ORDINARY",
        "state": "REVOKED" if c["status"] == "revoked" else "ACTIVE",
        "authority": {"name": c["agency"]["name"], "creditCode": c["agency"]["uscc"], "regionCode": c["agency"]["division"]},
        "decisionNo": c["doc_no"],
        "decisionTitle": c["doc_title"],
    }
    who = {
        "type": {"legal_person": "ENTERPRISE", "natural_person": "PERSON", "individual_business": "INDIVIDUAL_BUSINESS"}[p["kind"]],
        "name": p["name"],
        "creditCode": p.get("uscc"),
        "registrationNo": p.get("registration_no"),
    }
    if c["legal_rep"]:
        who["legalRep"] = {"name": c["legal_rep"]["name"], "idType": "ID_CARD", "idNo": c["legal_rep"]["id_number"]}
    if is_person(c):
        who.update({"idType": "ID_CARD", "idNo": id_number(c), "address": p["address"], "phone": p["phone"]})
    record["party"] = who
    record["violation"] = c["violation"]
    record["facts"] = facts(c)
    record["basis"] = c["basis"]
    record["penalties"] = [PENALTY_API[k] for k in c["penalty_kinds"]]
    record["content"] = c["content"]
    record["fineAmount"] = c["fine_yuan"]
    record["confiscatedAmount"] = c["confiscated_yuan"]
    record["decisionDate"] = c["decided_on"].isoformat()
    record["publicityEnd"] = c["publicity_until"].isoformat()
    record["major"] = c["major"]
    record["legalReview"] = (
        {"passed": c["review"]["passed"], "reviewer": c["review"]["reviewer"], "date": c["review"]["date"]}
        if c["review"] else None
    )
    record["remarks"] = c["remarks"]
    return record


def write_dept_api():
    pages = [DEPT_API[0:4], DEPT_API[4:8], DEPT_API[8:]]
    for index, items in enumerate(pages):
        last = index == len(pages) - 1
        page = {
            "items": [dept_api_case(c) for c in items],
            "next_cursor": None if last else f"2026-11-12T00:00:00Z~{items[-1]['key']}",
        }
        write(f"dept-api/first/page-{index + 1}.json", json_text(page))
    write("dept-api/second/page-1.json", json_text({"items": [dept_api_case(c) for c in DEPT_API_REVOKED], "next_cursor": None}))


# dept-kafka: snake_case, numeric codes, YYYYMMDD dates, 元 as text; one message per line.

PENALTY_KAFKA = {"警告": "1", "罚款": "3", "没收违法所得": "4", "没收非法财物": "5", "其他": "99"}


def compact(date):
    return date.strftime("%Y%m%d")


def dept_kafka_case(c):
    p = party(c)
    record = {
        "case_id": c["key"],
        "category": {"penalty": "2", "inspection": "6"}[c["category"]],
        "procedure": "2",
        "status": "1" if c["status"] == "revoked" else "0",
        "org": {"name": c["agency"]["name"], "uscc": c["agency"]["uscc"], "division": c["agency"]["division"]},
        "doc_no": c["doc_no"],
    }
    who = {"kind": {"legal_person": "1", "natural_person": "2", "individual_business": "3"}[p["kind"]], "name": p["name"]}
    if p.get("uscc"):
        who["uscc"] = party_uscc(c)
        who["org_code"] = p["org_code"]
    if c["legal_rep"]:
        who["legal_rep"] = {"name": c["legal_rep"]["name"], "id_type": "1", "id_no": c["legal_rep"]["id_number"]}
    if is_person(c):
        who.update({"id_type": "1", "id_no": id_number(c), "address": p["address"], "phone": p["phone"]})
    record["party"] = who
    record["violation"] = c["violation"] or ""
    record["facts"] = facts(c)
    record["basis"] = c["basis"]
    record["penalty_kinds"] = ",".join(PENALTY_KAFKA[k] for k in c["penalty_kinds"])
    record["content"] = c["content"]
    record["fine_yuan"] = str(c["fine_yuan"]) if c["fine_yuan"] is not None else ""
    record["confiscated_yuan"] = str(c["confiscated_yuan"]) if c["confiscated_yuan"] is not None else ""
    record["decided_on"] = compact(c["decided_on"])
    record["publicity_until"] = compact(c["publicity_until"])
    record["major"] = "1" if c["major"] else "0"
    if c["review"]:
        record["review"] = {"passed": "1" if c["review"]["passed"] else "0", "reviewer": c["review"]["reviewer"], "date": compact(d(c["review"]["date"]))}
    record["remarks"] = c["remarks"] or ""
    return record


def write_dept_kafka():
    lines = "".join(json.dumps(dept_kafka_case(c), ensure_ascii=False) + "\n" for c in DEPT_KAFKA)
    write("dept-kafka/first/djt-cases-20261111.jsonl", lines)
    lines = "".join(json.dumps(dept_kafka_case(c), ensure_ascii=False) + "\n" for c in DEPT_KAFKA_REVOKED)
    write("dept-kafka/second/djt-cases-20261120.jsonl", lines)


# The 双公示 templates (2021 edition).

PENALTY_HEADERS = [
    "行政相对人名称", "行政相对人类别",
    "行政相对人代码_1(统一社会信用代码)", "行政相对人代码_2(工商注册号)", "行政相对人代码_3(组织机构代码)",
    "行政相对人代码_4(税务登记号)", "行政相对人代码_5(事业单位证书号)", "行政相对人代码_6(社会组织登记证号)",
    "法定代表人", "法定代表人证件类型", "法定代表人证件号码", "证件类型", "证件号码",
    "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容",
    "罚款金额（万元）", "没收违法所得、没收非法财物的金额（万元）", "暂扣或吊销证照名称及编号",
    "处罚决定日期", "处罚有效期", "公示截止期", "处罚机关", "处罚机关统一社会信用代码",
    "数据来源单位", "数据来源单位统一社会信用代码", "备注",
]

LICENSING_HEADERS = [
    "行政相对人名称", "行政相对人类别",
    "行政相对人代码_1(统一社会信用代码)", "行政相对人代码_2(工商注册号)", "行政相对人代码_3(组织机构代码)",
    "行政相对人代码_4(税务登记号)", "行政相对人代码_5(事业单位证书号)", "行政相对人代码_6(社会组织登记证号)",
    "法定代表人", "法定代表人证件类型", "法定代表人证件号码", "证件类型", "证件号码",
    "行政许可决定文书名称", "行政许可决定文书号", "许可类别", "许可证书名称", "许可编号", "许可内容",
    "许可决定日期", "有效期自", "有效期至", "许可机关", "许可机关统一社会信用代码", "当前状态",
    "数据来源单位", "数据来源单位统一社会信用代码", "备注",
]

KIND_SGS = {"legal_person": "法人及非法人组织", "natural_person": "自然人", "individual_business": "个体工商户"}


def sgs_party(c):
    p = party(c)
    lrep = c["legal_rep"] or {}
    return {
        "行政相对人名称": p["name"],
        "行政相对人类别": KIND_SGS[p["kind"]],
        "行政相对人代码_1(统一社会信用代码)": p.get("uscc"),
        "行政相对人代码_2(工商注册号)": p.get("registration_no"),
        "行政相对人代码_3(组织机构代码)": p.get("org_code"),
        "行政相对人代码_4(税务登记号)": None,
        "行政相对人代码_5(事业单位证书号)": None,
        "行政相对人代码_6(社会组织登记证号)": None,
        "法定代表人": lrep.get("name"),
        "法定代表人证件类型": "身份证" if lrep else None,
        "法定代表人证件号码": lrep.get("id_number"),
        "证件类型": "身份证" if is_person(c) else None,
        "证件号码": id_number(c) if is_person(c) else None,
    }


def sgs_penalty_row(c, dates_as_cells):
    row = sgs_party(c)
    fine = c["fine_yuan"]
    confiscated = c["confiscated_yuan"]

    def date(value):
        if value is None:
            return None
        return value if dates_as_cells else value.strftime("%Y/%m/%d")

    row.update({
        "行政处罚决定书文号": c["doc_no"],
        "违法行为类型": c["violation"],
        "违法事实": facts(c),
        "处罚依据": c["basis"],
        "处罚类别": ";".join(c["penalty_kinds"]),
        "处罚内容": c["content"],
        # 万元 as numbers in the sheet.
        "罚款金额（万元）": Decimal(wan(fine)) if fine is not None else None,
        "没收违法所得、没收非法财物的金额（万元）": Decimal(wan(confiscated)) if confiscated is not None else None,
        "暂扣或吊销证照名称及编号": c["license_affected"],
        "处罚决定日期": None if c.get("missing_decided_on") else date(c["decided_on"]),
        "处罚有效期": date(plus_years(c["decided_on"], 1)),
        "公示截止期": date(c["publicity_until"]),
        "处罚机关": c["agency"]["name"],
        "处罚机关统一社会信用代码": agency_uscc(c),
        "数据来源单位": c["source_unit"]["name"],
        "数据来源单位统一社会信用代码": c["source_unit"]["uscc"],
        "备注": c["remarks"],
    })
    return row


FIXED_ZIP_TIME = (2026, 11, 1, 9, 0, 0)


def xlsx_bytes(sheet_name, headers, rows):
    import openpyxl  # only this part needs it

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    sheet.append(headers)
    for row in rows:
        values = []
        for header in headers:
            value = row.get(header)
            values.append(float(value) if isinstance(value, Decimal) else value)
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, (dt.date, dt.datetime)):
                cell.number_format = "yyyy-mm-dd"
    fixed = dt.datetime(*FIXED_ZIP_TIME)
    workbook.properties.creator = "make_samples.py"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return deterministic_zip(buffer.getvalue())


def deterministic_zip(data):
    """The same archive with fixed entry times (openpyxl stamps the current time)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl writes `modified` as now, whatever was set.
                text = content.decode("utf-8")
                start = text.find("<dcterms:modified")
                end = text.find("</dcterms:modified>")
                if start >= 0 and end >= 0:
                    text = (
                        text[:start]
                        + '<dcterms:modified xsi:type="dcterms:W3CDTF">2026-11-01T09:00:00Z'
                        + text[end:]
                    )
                content = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def write_sgs_penalty():
    # 茌平县卫生健康局 writes real date cells; 聊城市文化和旅游局 types dates as text.
    write("sgs-penalty/first/cpwj-xzcf-202610.xlsx",
          xlsx_bytes("行政处罚", PENALTY_HEADERS, [sgs_penalty_row(c, True) for c in SGS_PENALTY_CP]), binary=True)
    write("sgs-penalty/first/lcwl-xzcf-202611.xlsx",
          xlsx_bytes("Sheet1", PENALTY_HEADERS, [sgs_penalty_row(c, False) for c in SGS_PENALTY_LC]), binary=True)
    write("sgs-penalty/second/cpwj-xzcf-202611.xlsx",
          xlsx_bytes("行政处罚", PENALTY_HEADERS, [sgs_penalty_row(c, True) for c in SGS_PENALTY_REVOKED]), binary=True)


def sgs_licensing_row(c):
    row = sgs_party(c)
    lic = c["license"]
    start, end = licence_dates(c)
    row.update({
        "行政许可决定文书名称": c["doc_title"],
        "行政许可决定文书号": c["doc_no"],
        "许可类别": lic["kind"],
        "许可证书名称": lic["certificate"],
        "许可编号": lic["number"],
        "许可内容": c["content"],
        "许可决定日期": c["decided_on"].strftime("%Y/%m/%d"),
        "有效期自": start.strftime("%Y/%m/%d"),
        "有效期至": end.strftime("%Y/%m/%d"),
        "许可机关": c["agency"]["name"],
        "许可机关统一社会信用代码": agency_uscc(c),
        "当前状态": "2" if c["status"] == "revoked" else "1",
        "数据来源单位": c["source_unit"]["name"],
        "数据来源单位统一社会信用代码": c["source_unit"]["uscc"],
        "备注": c["remarks"],
    })
    return row


def csv_bytes(headers, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
    return buffer.getvalue().encode("gbk")


def write_sgs_licensing():
    write("sgs-licensing/first/desp-xzxk-202610.csv",
          csv_bytes(LICENSING_HEADERS, [sgs_licensing_row(c) for c in SGS_LICENSING_DE]), binary=True)
    write("sgs-licensing/first/lcsp-xzxk-202611.csv",
          csv_bytes(LICENSING_HEADERS, [sgs_licensing_row(c) for c in SGS_LICENSING_LC]), binary=True)
    write("sgs-licensing/second/desp-xzxk-202611.csv",
          csv_bytes(LICENSING_HEADERS, [sgs_licensing_row(c) for c in SGS_LICENSING_REVOKED]), binary=True)


# --- expectations ----------------------------------------------------------------------------

SOURCES = [
    # name, kind, mapping, first cases, second cases, description
    ("case-db", "sql", "case-db.toml", CASE_DB, CASE_DB_REVOKED,
     "聊城市综合行政执法 case database (city bureau and the 茌平县 / 东阿县 bureaus)"),
    ("county-push", "http_push", "county-push.toml", COUNTY_PUSH, COUNTY_PUSH_REVOKED,
     "茌平县应急管理局 office system, JSON arrays POSTed to /ingest/county-push"),
    ("dept-api", "http_pull", "dept-api.toml", DEPT_API, DEPT_API_REVOKED,
     "聊城市生态环境局 case API, pages of {items, next_cursor}"),
    ("dept-kafka", "kafka", "dept-kafka.toml", DEPT_KAFKA, DEPT_KAFKA_REVOKED,
     "东阿县交通运输局 case system, one JSON message per case"),
    ("sgs-penalty", "spreadsheet", "sgs-penalty.toml", SGS_PENALTY_CP + SGS_PENALTY_LC, SGS_PENALTY_REVOKED,
     "双公示 行政处罚 sheets (XLSX) of 茌平县卫生健康局 and 聊城市文化和旅游局"),
    ("sgs-licensing", "spreadsheet", "sgs-licensing.toml", SGS_LICENSING_DE + SGS_LICENSING_LC, SGS_LICENSING_REVOKED,
     "双公示 行政许可 CSV (GBK) of 东阿县 and 聊城市 行政审批服务局"),
]

PLATFORMS = [
    ("茌平县 county 371523", "371523", 6),
    ("东阿县 county 371524", "371524", 6),
    ("聊城市 city 371500", "371500", 4),
    ("山东省 province 370000", "370000", 2),
]


def expectation(c):
    if c["expect"] == "valid":
        entry = {
            "outcome": "valid",
            "category": c["category"],
            "status": c["status"],
            "division": c["agency"]["division"],
        }
        if c["withheld"]:
            entry["withheld"] = c["withheld"]
        return entry
    reason = c["expect"].split(":", 1)[1]
    return {"outcome": "quarantined", "reason_contains": reason}


def in_force(cases_by_key, division, digits):
    return sum(
        1
        for c in cases_by_key.values()
        if c["expect"] == "valid"
        and not c["withheld"]
        and c["status"] == "in_force"
        and c["agency"]["division"][:digits] == division[:digits]
    )


def expectations():
    data = {}
    for name, kind, mapping, first, second, _ in SOURCES:
        data[name] = {
            "kind": kind,
            "mapping": mapping,
            "first": {c["key"]: expectation(c) for c in first},
            "second": {c["key"]: expectation(c) for c in second},
        }
    return data


def markdown():
    out = [MARKER, ""]
    out.append("# Sources of the other connector kinds (sql, http_push, http_pull, kafka, spreadsheet)")
    out.append("")
    out.append("Written by `python3 mappings/samples/make_samples.py` (with openpyxl), which also writes the sample")
    out.append("data below and `expected-sources.json` (read by `pipeline/mapping/tests/samples.rs`). Every person,")
    out.append("company and code is invented; check digits are valid except where a case is planted to be quarantined.")
    out.append("Feed `first` of each source, then `second`. Valid cases are all `public` unless marked withheld;")
    out.append("no case is a simple-procedure warning, and no counterparty is a minor.")
    out.append("")
    out.append("## Records in force per platform (these sources only, `public` policy)")
    out.append("")
    out.append("| platform | after `first` | after `second` |")
    out.append("|---|---:|---:|")
    first_all = {}
    for name, _, _, first, _, _ in SOURCES:
        for c in first:
            first_all[(name, c["key"])] = c
    second_all = dict(first_all)
    for name, _, _, _, second, _ in SOURCES:
        for c in second:
            second_all[(name, c["key"])] = c
    for label, division, digits in PLATFORMS:
        out.append(f"| {label} | {in_force(first_all, division, digits)} | {in_force(second_all, division, digits)} |")
    out.append("")
    out.append("Add these to the figures of the XML sources above for the whole demo. Records whose publicity")
    out.append("period ends are withdrawn then; the earliest here ends on "
               + min(c["publicity_until"] for c in first_all.values() if c["expect"] == "valid").isoformat() + ".")
    out.append("")
    out.append("## Per source")
    out.append("")
    out.append("| source | kind | mapping | cases | valid | quarantined | withheld (`public`) | revoked by `second` |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|")
    for name, kind, mapping, first, second, _ in SOURCES:
        valid = sum(1 for c in first if c["expect"] == "valid")
        withheld = sum(1 for c in first if c["withheld"])
        out.append(
            f"| `{name}` | {kind} | `{mapping}` | {len(first)} | {valid} | {len(first) - valid} | {withheld} | {len(second)} |"
        )
    out.append("")
    for name, kind, mapping, first, second, description in SOURCES:
        out.append(f"### `{name}` ({kind}): {description}")
        out.append("")
        out.append(f"Files: {files_line(name)}")
        out.append("")
        out.append("| key (`record_id` = `" + name + ":<key>`) | category | agency | division | outcome |")
        out.append("|---|---|---|---|---|")
        revoked_keys = {c["key"]: c for c in second}
        for c in first:
            if c["expect"] == "valid":
                outcome = "valid"
                if c["withheld"]:
                    outcome += f", withheld `{c['withheld']}`"
                if c["key"] in revoked_keys:
                    outcome += f"; `second`: revoked ({revoked_keys[c['key']]['revoked_on'].isoformat()})"
                if is_person(c):
                    outcome += "; natural person"
            else:
                # Double backticks: the reason quotes codes in backticks itself.
                outcome = "**quarantined**: `` " + c["expect"].split(":", 1)[1] + " ``"
            out.append(
                f"| `{c['key']}` | {c['category']} | {c['agency']['name']} | {c['agency']['division']} | {outcome} |"
            )
        out.append("")
    out.append("Natural persons' ID numbers, phones and addresses also appear in the free text (`facts` /")
    out.append("违法事实) of several of them; the `public` policy must mask them there too.")
    out.append("")
    out.append("## Agencies")
    out.append("")
    out.append("| agency | division | USCC |")
    out.append("|---|---|---|")
    for a in [LC_ZF, CP_ZF, DE_ZF, CP_YJ, LC_HB, DE_JT, CP_WJ, LC_WL, DE_SP, LC_SP, CP_DSJ]:
        out.append(f"| {a['name']} | {a['division']} | `{a['uscc']}` |")
    out.append("")
    return "\n".join(out)


def files_line(name):
    root = os.path.join(HERE, name)
    found = []
    for dirpath, _, filenames in os.walk(root):
        for filename in filenames:
            found.append(os.path.relpath(os.path.join(dirpath, filename), HERE))
    return ", ".join(f"`{f}`" for f in sorted(found))


def write_expected():
    write("expected-sources.json", json.dumps(expectations(), ensure_ascii=False, indent=2) + "\n")
    path = os.path.join(HERE, "EXPECTED.md")
    with open(path, encoding="utf-8") as existing:
        text = existing.read()
    head = text.split(MARKER)[0].rstrip("\n") + "\n\n"
    with open(path, "w", encoding="utf-8") as out:
        out.write(head + markdown())


def main():
    write_case_db()
    write_county_push()
    write_dept_api()
    write_dept_kafka()
    write_sgs_penalty()
    write_sgs_licensing()
    write_expected()


if __name__ == "__main__":
    main()
