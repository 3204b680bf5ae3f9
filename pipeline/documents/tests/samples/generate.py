#!/usr/bin/env python3
"""Generates the made-up decision documents of dhub-documents' tests.

Every person, number and address here is invented; identifiers carry valid check digits (GB 11643,
GB 32100) so the detectors treat them as real. For each sample it writes:

  <name>.docx          a minimal valid WordprocessingML package (zipfile; document.xml by hand)
  <name>.html          the same document as HTML (also the source of the PDF)
  <name>.pdf           printed by headless Chromium, so it has a real CJK text layer (CID fonts)
  <name>.record.json   the disclosure.v1 record the document belongs to
  <name>.case.json     what its public version must never contain and must keep

plus `penalty-person.type3.pdf` (the same printed with Type 3 fonts), `penalty-person.gbk.txt`
(plain text in GBK) and `scanned.pdf` (a page image, no text layer).

Run from anywhere: `python3 pipeline/documents/tests/samples/generate.py` (needs `chromium` and
`fonts-noto-cjk`: `apt-get install -y chromium fonts-noto-cjk`). The product never runs Python.
"""

import datetime
import html
import json
import os
import subprocess
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(division, birth, seq):
    first17 = f"{division}{birth}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS))
    return first17 + ID_CHECK[total % 11]


def org_code(first8):
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first8, ORG_WEIGHTS))
    check = 11 - total % 11
    return first8 + {10: "X", 11: "0"}.get(check, str(check))


def uscc(authority, kind, division, first8):
    first17 = authority + kind + division + org_code(first8)
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


# ---------------------------------------------------------------------------------------------
# The documents. Blocks: (style, text); styles: agency, title, docno, party, body, sign, date, seal.

CZJ_USCC = "113715230042112358"

P_NAME = "司马建国"
P_ID = resident_id("371523", "19800101", 123)
P_ADDR = "聊城市茌平区振兴路123号4栋2单元301室"
P_PHONE = "13812345678"
WITNESS = "李秀英"
WITNESS_PHONE = "13905358866"
WIFE = "王丽华"
WIFE_ADDR = "聊城市茌平区信发街88号3单元502室"
OLD_ID = resident_id("371523", "19790505", 246)  # only in a tracked deletion of the DOCX

PENALTY_PERSON = [
    ("agency", "茌平县财政局"),
    ("title", "行政处罚决定书"),
    ("docno", "茌财罚〔2017〕12号"),
    ("party", f"当事人：{P_NAME}，男，1980年1月1日出生，汉族"),
    ("party", f"公民身份号码：{P_ID}"),
    ("party", f"住址：{P_ADDR}"),
    ("party", f"联系电话：{P_PHONE}"),
    ("body", f"当事人{P_NAME}未按规定填制会计凭证一案，本局于2017年8月20日立案调查，现已调查终结。"),
    ("body", "经查明：当事人于2017年3月至6月为聊城市鑫源商贸有限公司（统一社会信用代码91371523MA3C8QW1XY）代理记账期间，"
             "未按规定取得原始凭证即填制记账凭证共计23张，涉及金额人民币186,400.00元。"),
    ("body", f"证人{WITNESS}（联系电话{WITNESS_PHONE}）证实，上述记账凭证均由当事人一人填制。"
             f"当事人之妻{WIFE}（住{WIFE_ADDR}）于2017年9月5日到本局说明情况，对上述事实无异议。"),
    ("body", "以上事实有询问笔录、记账凭证复印件、证人证言等证据为证。"),
    ("body", "本局认为，当事人的上述行为违反了《中华人民共和国会计法》第十四条第一款的规定。"
             "本局于2017年9月20日向当事人送达了《行政处罚事先告知书》（茌财罚告〔2017〕12号），"
             "当事人在法定期限内未提出陈述、申辩。"),
    ("body", "依据《中华人民共和国会计法》第四十二条第一款的规定，本局决定：对当事人处以警告，"
             "并处罚款人民币伍仟元整（5,000.00元）。"),
    ("body", "当事人应当自收到本决定书之日起十五日内，将罚款缴至茌平县非税收入汇缴结算户。"
             "逾期不缴纳罚款的，每日按罚款数额的百分之三加处罚款。"),
    ("body", "当事人如不服本处罚决定，可以在收到本决定书之日起六十日内向茌平县人民政府申请行政复议，"
             "或者在六个月内直接向茌平县人民法院提起行政诉讼。"),
    ("sign", "茌平县财政局"),
    ("date", "2017年10月12日"),
    ("seal", "（印章）"),
]

C_NAME = "聊城市鑫源食品有限公司"
C_USCC = uscc("9", "1", "371502", "MA3C8QX7")
C_ADDR = "聊城市东昌府区柳园路100号"
C_REP = "张伟"
C_REP_ID = resident_id("371502", "19750505", 234)
AGENT = "赵敏"
AGENT_ID = resident_id("371502", "19900312", 128)
AGENT_PHONE = "13705351234"
MANAGER = "刘洋"
MANAGER_WIFE = "周芳"
CUSTOMER = "陈静"
CUSTOMER_ADDR = "聊城市东昌府区花园路8号2单元101室"

PENALTY_COMPANY = [
    ("agency", "聊城市市场监督管理局"),
    ("title", "行政处罚决定书"),
    ("docno", "聊市监处字〔2019〕45号"),
    ("party", f"当事人：{C_NAME}"),
    ("party", f"统一社会信用代码：{C_USCC}"),
    ("party", f"住所：{C_ADDR}"),
    ("party", f"法定代表人：{C_REP}，身份证号码：{C_REP_ID}"),
    ("party", f"委托代理人：{AGENT}，该公司员工，身份证号码：{AGENT_ID}，联系电话：{AGENT_PHONE}"),
    ("body", "2019年5月14日，本局执法人员依法对当事人位于聊城市东昌府区柳园路的经营场所进行检查，"
             "发现当事人销售的“鑫源”牌酱牛肉（生产日期2019年4月2日）已超过保质期。"),
    ("body", f"检查时，当事人现场负责人{MANAGER}在场。据{MANAGER}陈述，上述产品由其妻子{MANAGER_WIFE}负责上架销售。"
             f"证人{CUSTOMER}（住{CUSTOMER_ADDR}）证实，其于2019年5月12日在该场所购买了上述产品。"),
    ("body", "当事人销售超过保质期的食品，货值金额人民币1,260.00元，违法所得人民币860.00元。"),
    ("body", "以上事实有现场检查笔录、询问笔录、销售记录、证人证言及照片等证据为证。"),
    ("body", "本局认为，当事人的上述行为违反了《中华人民共和国食品安全法》第三十四条第（十）项的规定。"),
    ("body", "依据《中华人民共和国食品安全法》第一百二十四条第一款第（五）项的规定，本局决定："
             "一、没收违法所得人民币860.00元；二、没收超过保质期的酱牛肉12.6千克；三、罚款人民币伍万元整（50,000.00元）。"),
    ("body", "当事人如不服本处罚决定，可以在收到本决定书之日起六十日内向聊城市人民政府申请行政复议，"
             "也可以在六个月内依法向聊城市东昌府区人民法院提起行政诉讼。"),
    ("sign", "聊城市市场监督管理局"),
    ("date", "2019年6月3日"),
    ("seal", "（印章）"),
]

L_NAME = "山东茌平恒达建材有限公司"
L_USCC = uscc("9", "1", "371523", "MA3D2K5N")
L_ADDR = "茌平县信发街道工业园区纬二路18号"
L_REP = "孟庆山"
L_REP_ID = resident_id("371523", "19680808", 111)
CLERK = "孙丽娟"
CLERK_ID = resident_id("371523", "19920215", 206)
CLERK_PHONE = "15866351122"
STAFF = "马超"
STAFF_FATHER = "马国庆"

LICENSE_COMPANY = [
    ("agency", "茌平县行政审批服务局"),
    ("title", "行政许可决定书"),
    ("docno", "茌审批许字〔2020〕0086号"),
    ("party", f"申请人：{L_NAME}"),
    ("party", f"统一社会信用代码：{L_USCC}"),
    ("party", f"住所：{L_ADDR}"),
    ("party", f"法定代表人：{L_REP}（身份证号码{L_REP_ID}）"),
    ("party", f"经办人：{CLERK}，身份证号码：{CLERK_ID}，联系电话：{CLERK_PHONE}"),
    ("body", "你单位于2020年3月2日提出的建筑用砂石开采加工项目环境影响报告表审批申请，本局已于当日受理。"),
    ("body", f"2020年3月5日，本局工作人员对项目现场进行了核查，申请人员工{STAFF}及其父{STAFF_FATHER}（系土地出租方）在场。"
             "经审查，该申请符合《中华人民共和国环境影响评价法》第二十二条及《建设项目环境保护管理条例》第九条规定的条件。"),
    ("body", "根据《中华人民共和国行政许可法》第三十八条第一款的规定，本局决定准予行政许可。"),
    ("body", "许可内容：同意该项目按照报告表所列性质、规模、地点和环境保护措施进行建设。"
             "许可证编号：JY13715240001234，有效期自2020年3月10日至2025年3月9日。"),
    ("body", "申请人如对本决定不服，可以在收到本决定书之日起六十日内向茌平县人民政府申请行政复议，"
             "或者在六个月内向茌平县人民法院提起行政诉讼。"),
    ("sign", "茌平县行政审批服务局"),
    ("date", "2020年3月10日"),
    ("seal", "（印章）"),
]


def long_penalty():
    """The natural-person penalty with a long list of findings: about five A4 pages, for the bench."""
    blocks = PENALTY_PERSON[:9]
    for n in range(1, 17):
        day = 1 + (n * 3) % 28
        month = 3 + n % 4
        blocks.append(("body", f"（{n}）{2017}年{month}月{day}日，当事人为聊城市鑫源商贸有限公司填制第{100 + n}号记账凭证，"
                               f"摘要为“支付货款”，金额人民币{n * 1234 % 90000 + 1000:,}.00元，未附原始凭证；"
                               f"经向收款单位核实，该笔款项未实际发生，当事人对此无异议，并在询问笔录上签字确认。"))
    blocks += PENALTY_PERSON[9:]
    return blocks


SAMPLES = {
    "penalty-person": PENALTY_PERSON,
    "penalty-company": PENALTY_COMPANY,
    "license-company": LICENSE_COMPANY,
    "penalty-long": long_penalty(),
}

RECORDS = {
    "penalty-person": {
        "record_id": "finance-bureau-oa:CZCF-2017-0012", "version": 1, "category": "penalty",
        "status": "in_force", "procedure": "ordinary", "division_code": "371523",
        "agency": {"name": "茌平县财政局", "uscc": CZJ_USCC},
        "source_unit": {"name": "茌平县财政局", "uscc": CZJ_USCC},
        "document_no": "茌财罚〔2017〕12号", "document_title": "行政处罚决定书",
        "counterparty": {"name": P_NAME, "kind": "natural_person", "id_type": "resident_id",
                         "id_number": P_ID, "address": P_ADDR, "phone": P_PHONE},
        "violation_type": "未按规定填制会计凭证",
        "facts": f"当事人{P_NAME}未按规定取得原始凭证即填制记账凭证共计23张。",
        "legal_basis": "《中华人民共和国会计法》第四十二条第一款",
        "penalty_kinds": ["warning", "fine"], "content": "警告，并处罚款人民币5,000.00元",
        "fine_amount": "5000.00", "decided_on": "2017-10-12", "publicity_until": "2018-10-12",
        "major": False, "classification": "public",
        "source": {"name": "finance-bureau-oa", "key": "CZCF-2017-0012", "fetched_at": "2017-10-20T09:00:00Z"},
    },
    "penalty-company": {
        "record_id": "market-oa:LCSJ-2019-0045", "version": 1, "category": "penalty",
        "status": "in_force", "procedure": "ordinary", "division_code": "371500",
        "agency": {"name": "聊城市市场监督管理局", "uscc": uscc("1", "1", "371500", "MB285919")},
        "document_no": "聊市监处字〔2019〕45号", "document_title": "行政处罚决定书",
        "counterparty": {"name": C_NAME, "kind": "legal_person", "uscc": C_USCC, "address": C_ADDR,
                         "legal_rep": {"name": C_REP, "id_type": "resident_id", "id_number": C_REP_ID}},
        "violation_type": "销售超过保质期的食品",
        "facts": "当事人销售超过保质期的食品，货值金额人民币1,260.00元。",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
        "penalty_kinds": ["confiscate_gains", "confiscate_property", "fine"],
        "content": "没收违法所得860.00元，没收超过保质期的食品，罚款50,000.00元",
        "fine_amount": "50000.00", "confiscated_amount": "860.00",
        "decided_on": "2019-06-03", "publicity_until": "2022-06-03", "major": False,
        "classification": "public",
        "source": {"name": "market-oa", "key": "LCSJ-2019-0045", "fetched_at": "2019-06-04T09:00:00Z"},
    },
    "license-company": {
        "record_id": "approval-db:CPSP-2020-0086", "version": 1, "category": "licensing",
        "status": "in_force", "procedure": "ordinary", "division_code": "371523",
        "agency": {"name": "茌平县行政审批服务局", "uscc": uscc("1", "1", "371523", "MB1957237")[:18]},
        "document_no": "茌审批许字〔2020〕0086号", "document_title": "行政许可决定书",
        "counterparty": {"name": L_NAME, "kind": "legal_person", "uscc": L_USCC, "address": L_ADDR,
                         "legal_rep": {"name": L_REP, "id_type": "resident_id", "id_number": L_REP_ID}},
        "content": "同意该项目按照报告表所列性质、规模、地点和环境保护措施进行建设",
        "license": {"kind": "普通", "certificate": "环境影响评价批复", "number": "JY13715240001234",
                    "valid_from": "2020-03-10", "valid_to": "2025-03-09"},
        "decided_on": "2020-03-10", "publicity_until": "2025-03-09", "major": False,
        "classification": "public",
        "source": {"name": "approval-db", "key": "CPSP-2020-0086", "fetched_at": "2020-03-11T09:00:00Z"},
    },
}
RECORDS["penalty-long"] = RECORDS["penalty-person"]

PERSON_LEAKS = [P_NAME, P_ID, P_ADDR, "123号4栋2单元301室", P_PHONE, "1980年1月1日",
                WITNESS, WITNESS_PHONE, WIFE, WIFE_ADDR, "88号3单元502室", OLD_ID]
CASES = {
    "penalty-person": {
        "must_not_leak": PERSON_LEAKS,
        "must_keep": ["茌平县财政局", "行政处罚决定书", "茌财罚〔2017〕12号", "司马某", "李某", "王某",
                      "《中华人民共和国会计法》第四十二条第一款", "对当事人处以警告，并处罚款人民币伍仟元整（5,000.00元）",
                      "91371523MA3C8QW1XY", "茌平县人民政府申请行政复议", "2017年10月12日", "茌财罚告〔2017〕12号"],
    },
    "penalty-company": {
        "must_not_leak": [C_REP_ID, AGENT, AGENT_ID, AGENT_PHONE, MANAGER, MANAGER_WIFE, CUSTOMER,
                          CUSTOMER_ADDR, "8号2单元101室"],
        "must_keep": ["聊城市市场监督管理局", "聊市监处字〔2019〕45号", C_NAME, C_USCC, C_REP,
                      "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
                      "三、罚款人民币伍万元整（50,000.00元）", "聊城市人民政府申请行政复议", "2019年6月3日"],
    },
    "license-company": {
        "must_not_leak": [L_REP_ID, CLERK, CLERK_ID, CLERK_PHONE, STAFF, STAFF_FATHER],
        "must_keep": ["茌平县行政审批服务局", "行政许可决定书", "茌审批许字〔2020〕0086号", L_NAME, L_USCC, L_REP,
                      "《中华人民共和国行政许可法》第三十八条第一款", "本局决定准予行政许可",
                      "JY13715240001234", "2020年3月10日"],
    },
}
# Only in a tracked deletion of the DOCX: not in the document's text, and never to appear.
CASES["penalty-person"]["hidden_in_source"] = [OLD_ID]
CASES["penalty-long"] = CASES["penalty-person"]

# ---------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 37mm 26mm 35mm 28mm; }
body { font-family: FONT; font-size: 16pt; line-height: 1.75; margin: 0; }
p { margin: 0; }
.agency { text-align: center; font-size: 22pt; }
.title { text-align: center; font-size: 22pt; letter-spacing: 0.2em; }
.docno { text-align: right; margin-bottom: 1em; }
.body { text-indent: 2em; }
.sign, .date, .seal { text-align: right; }
.sign { margin-top: 2em; }
"""


# AR PL SungtiL GB (a TrueType file) is embedded by Chromium as a Type0 CID font with Identity-H
# encoding and a ToUnicode map, as WPS and Word embed 宋体/仿宋; Noto Serif CJK (CFF outlines) comes
# out as Type 3 fonts, the other shape a text layer can take. No bold: Chromium draws synthetic
# bold as Type 3 glyphs too.
CID_FONT = "'AR PL SungtiL GB', serif"
TYPE3_FONT = "'Noto Serif CJK SC', serif"


def to_html(blocks, font=CID_FONT):
    out = ['<!DOCTYPE html>', '<html lang="zh-CN"><head><meta charset="utf-8">',
           f'<title>{html.escape(blocks[1][1])}</title><style>{CSS.replace("FONT", font)}</style>',
           '<script>console.log("not document text")</script></head><body>']
    for style, text in blocks:
        out.append(f'<p class="{style}">{html.escape(text)}</p>')
    out.append('</body></html>')
    return "\n".join(out) + "\n"


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
ALIGN = {"agency": "center", "title": "center", "docno": "right", "sign": "right", "date": "right", "seal": "right"}


def esc(text):
    return html.escape(text, quote=False)


def run(text):
    return f'<w:r><w:rPr><w:rFonts w:eastAsia="仿宋"/></w:rPr><w:t xml:space="preserve">{esc(text)}</w:t></w:r>'


def to_docx_xml(blocks, tracked_deletion):
    paras = []
    for style, text in blocks:
        ppr = ""
        if style in ALIGN:
            ppr = f'<w:pPr><w:jc w:val="{ALIGN[style]}"/></w:pPr>'
        elif style == "body":
            ppr = '<w:pPr><w:ind w:firstLineChars="200"/></w:pPr>'
        if style == "party" and "：" in text:
            # The label and the value in separate runs, with a tab in between as clerks type them.
            label, value = text.split("：", 1)
            body = run(label + "：") + '<w:r><w:tab/></w:r>' + run(value)
        elif style == "body" and len(text) > 60:
            # Long paragraphs split over several runs, as Word saves them after edits.
            cut = len(text) // 2
            body = run(text[:cut]) + '<w:proofErr w:type="spellStart"/>' + run(text[cut:])
        else:
            body = run(text)
        if tracked_deletion and style == "party" and text.startswith("公民身份号码"):
            # A tracked deletion of an earlier, wrong ID number: never part of the document's text.
            body += f'<w:del w:id="1" w:author="clerk" w:date="2017-10-11T09:00:00Z"><w:r><w:delText>（原{OLD_ID}）</w:delText></w:r></w:del>'
        paras.append(f"<w:p>{ppr}{body}</w:p>")
    # A field code (page number) whose instruction text is not document text either.
    paras.append('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
                 '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W}><w:body>'
            + "".join(paras)
            + '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1588"/></w:sectPr>'
            + "</w:body></w:document>")


CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>"""


def app_xml(pages):
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>dhub sample generator</Application><Pages>{pages}</Pages></Properties>")


def write_docx(path, blocks, pages, tracked_deletion):
    # Fixed timestamps, so that regenerating gives the same bytes.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", RELS),
                           ("docProps/app.xml", app_xml(pages)),
                           ("word/document.xml", to_docx_xml(blocks, tracked_deletion))]:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8"))


def chromium(*args):
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", *args],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_pdf(html_path, pdf_path):
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf_path}", "file://" + html_path)


def pdf_pages(path):
    info = subprocess.run(["pdfinfo", path], check=True, capture_output=True, text=True).stdout
    return int(next(l.split()[1] for l in info.splitlines() if l.startswith("Pages:")))


def main():
    for name, blocks in SAMPLES.items():
        html_path = os.path.join(HERE, f"{name}.html")
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(to_html(blocks))
        pdf_path = os.path.join(HERE, f"{name}.pdf")
        print_pdf(html_path, pdf_path)
        pages = pdf_pages(pdf_path)
        write_docx(os.path.join(HERE, f"{name}.docx"), blocks, pages, name == "penalty-person")
        with open(os.path.join(HERE, f"{name}.record.json"), "w", encoding="utf-8") as f:
            json.dump(RECORDS[name], f, ensure_ascii=False, indent=2)
            f.write("\n")
        with open(os.path.join(HERE, f"{name}.case.json"), "w", encoding="utf-8") as f:
            json.dump(CASES[name], f, ensure_ascii=False, indent=2)
            f.write("\n")
        print(f"{name}: {pages} page(s)")

    # The same document printed with a font that Chromium embeds as Type 3.
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "type3.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(to_html(PENALTY_PERSON, TYPE3_FONT))
        print_pdf(page, os.path.join(HERE, "penalty-person.type3.pdf"))

    # Plain text in GBK, one paragraph per line, as older case systems export.
    with open(os.path.join(HERE, "penalty-person.gbk.txt"), "wb") as f:
        f.write("\r\n".join(t for _, t in PENALTY_PERSON).encode("gbk") + b"\r\n")

    # A scan: the first page as a picture, printed into a PDF that has no text layer at all.
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "page.png")
        chromium("--hide-scrollbars", "--window-size=794,1123", f"--screenshot={png}",
                 "file://" + os.path.join(HERE, "penalty-person.html"))
        page = os.path.join(tmp, "scan.html")
        with open(page, "w") as f:
            f.write('<!DOCTYPE html><html><head><style>@page{size:A4;margin:0}body{margin:0}'
                    'img{width:210mm;height:297mm;display:block}</style></head>'
                    f'<body><img src="file://{png}"></body></html>')
        print_pdf(page, os.path.join(HERE, "scanned.pdf"))
    print("scanned.pdf, penalty-person.gbk.txt")


if __name__ == "__main__":
    main()
