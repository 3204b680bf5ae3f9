#!/usr/bin/env python3
"""Writes the `input.xlsx` workbooks of the golden cases that read Excel files.

    pip install openpyxl==3.1.5 msoffcrypto-tool==6.1.0
    python3 pipeline/mapping/tests/golden/make_xlsx.py

Byte-identical on every run, except `xlsx-encrypted/input.xlsx` (encryption salts are random).
The workbooks are made with openpyxl, as a unit's own spreadsheet program would: strings, numbers,
date cells, booleans and error values are real cell types, not text.
"""

import datetime as dt
import io
import os
import sys
import zipfile

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED = (2026, 11, 1, 9, 0, 0)


def save(case, workbook):
    workbook.properties.creator = "make_xlsx.py"
    workbook.properties.created = dt.datetime(*FIXED)
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = deterministic(buffer.getvalue())
    with open(os.path.join(HERE, case, "input.xlsx"), "wb") as out:
        out.write(data)
    return data


def deterministic(data):
    """The same archive with fixed entry times and a fixed `modified` (openpyxl stamps now)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                start = text.find("<dcterms:modified")
                end = text.find("</dcterms:modified>")
                if start >= 0 and end >= 0:
                    text = text[:start] + '<dcterms:modified xsi:type="dcterms:W3CDTF">2026-11-01T09:00:00Z' + text[end:]
                content = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def date_cell(sheet, reference, value, number_format="yyyy-mm-dd"):
    sheet[reference] = value
    sheet[reference].number_format = number_format


def xlsx_case():
    """Cell types: text, whole and fractional numbers, date cells (a date, a serial number formatted
    as a date, a date-time), a text date, booleans, an error value; the header below an empty first
    row; a note outside the table; the table on the second sheet."""
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "填报说明"
    notes["A1"] = "本表由各单位按月填报"
    sheet = workbook.create_sheet("数据")
    sheet.append([])
    sheet.append(["编号", "类别", "罚款（万元）", "决定日期", "重大", "序号", "备注"])
    sheet.append(["  K-1 ", "罚款", 0.5, None, False, 1, "按期缴纳"])
    date_cell(sheet, "D3", dt.date(2026, 10, 12))
    sheet.append(["K-2", "警告", None, "2026年10月13日", True, 2.0, None])
    sheet.append(["K-3", "罚款", "#N/A", None, False, 3, None])
    date_cell(sheet, "D5", dt.date(2026, 10, 14))
    sheet.append(["K-4", "罚款", 1.25, None, False, 4, None])
    # 46310 is 2026-10-15 as an Excel serial day number, shown with a date format.
    date_cell(sheet, "D6", 46310, "yyyy/m/d")
    sheet.append(["K-5", "罚款", 0.0125, None, False, 5, None])
    date_cell(sheet, "D7", dt.datetime(2026, 10, 16, 15, 30), "yyyy-mm-dd hh:mm")
    sheet["J4"] = "制表人：某某"
    save("xlsx", workbook)


def missing_column_case():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["编号", "类别", "决定日期"])
    sheet.append(["K-1", "罚款", "2026-10-12"])
    return save("xlsx-missing-column", workbook)


def encrypted_case():
    try:
        import msoffcrypto
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        sys.exit("pip install msoffcrypto-tool to write xlsx-encrypted/input.xlsx")
    del msoffcrypto
    workbook = openpyxl.Workbook()
    workbook.active.append(["编号"])
    workbook.active.append(["K-1"])
    plain = io.BytesIO()
    workbook.save(plain)
    plain.seek(0)
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt("dhub", encrypted)
    with open(os.path.join(HERE, "xlsx-encrypted", "input.xlsx"), "wb") as out:
        out.write(encrypted.getvalue())


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


def sgs_penalty_case():
    """The national penalty template as a unit fills it in: a company (date cells, a number), a
    natural person (text dates, full-width separators, 没收), a revocation sent again with
    备注 = 已撤销, an individual business with a suspended licence, and a row whose fine is #VALUE!."""
    agency = ["茌平县卫生健康局", "11371523004213273L", "茌平县大数据中心", "11371523MB19A054XP"]
    rows = [
        ["茌平县康宁诊所有限公司", "法人及非法人组织", "91371523MA3BW4J33F", "371523003008128", "MA3BW4J33", None, None, None,
         "鲍春生", "身份证", "371523197007261712", None, None,
         "茌卫医罚〔2026〕21号", "使用非卫生技术人员从事医疗卫生技术工作", "当事人聘用未取得执业资格的人员从事诊疗活动。",
         "《医疗机构管理条例》第四十七条", "警告;罚款", "警告，罚款人民币五千元", 0.5, None, None,
         dt.date(2026, 9, 11), dt.date(2027, 9, 11), dt.date(2027, 9, 11)] + agency + [None],
        ["邵长河", "自然人", None, None, None, None, None, None,
         None, None, None, "身份证", "371523196603092551", "茌卫医罚〔2026〕26号", "非医师行医",
         "当事人邵长河（身份证号371523196603092551）未取得医师资格擅自开展诊疗活动，联系电话13356251983。",
         "《中华人民共和国医师法》第五十九条", "没收违法所得；没收非法财物；罚款", "没收违法所得三千二百元及药品器械，罚款人民币三万元",
         3, 0.32, None, "2026年10月15日", "2027/10/15", "20291015"] + agency + [None],
        ["茌平县康宁诊所有限公司", "法人及非法人组织", "91371523MA3BW4J33F", "371523003008128", "MA3BW4J33", None, None, None,
         "鲍春生", "身份证", "371523197007261712", None, None,
         "茌卫医罚〔2026〕21号", "使用非卫生技术人员从事医疗卫生技术工作", "当事人聘用未取得执业资格的人员从事诊疗活动。",
         "《医疗机构管理条例》第四十七条", "警告;罚款", "警告，罚款人民币五千元", 0.5, None, None,
         dt.date(2026, 9, 11), dt.date(2027, 9, 11), dt.date(2027, 9, 11)] + agency + ["已撤销"],
        ["茌平县丽人美发店", "个体工商户", "92371523MA3BT8K770", None, None, None, None, None,
         None, None, None, None, None, "茌卫公罚〔2026〕23号", "从业人员未取得健康合格证明",
         "当事人3名从业人员未取得有效健康合格证明即从事服务工作。", "《公共场所卫生管理条例实施细则》第三十八条",
         "警告；暂扣许可证件", "警告，暂扣公共场所卫生许可证一个月", None, None, "公共场所卫生许可证 茌卫公字〔2025〕第117号",
         dt.date(2026, 9, 23), None, dt.date(2026, 12, 23)] + agency + [None],
        ["茌平县泰山石材有限公司", "法人及非法人组织", "91371523MA3BU2L560", None, None, None, None, None,
         "常玉峰", "身份证", "371523197809143187", None, None, "茌卫职罚〔2026〕29号", "未按规定组织职业健康检查",
         "当事人未组织接触粉尘的劳动者进行上岗前职业健康检查。", "《中华人民共和国职业病防治法》第七十一条", "罚款",
         "罚款人民币五万元", "#VALUE!", None, None, dt.date(2026, 10, 28), None, dt.date(2027, 10, 28)] + agency + [None],
    ]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "行政处罚"
    sheet.append(PENALTY_HEADERS)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    save("sgs-penalty", workbook)


def main():
    xlsx_case()
    missing_column_case()
    sgs_penalty_case()
    encrypted_case()


if __name__ == "__main__":
    main()
