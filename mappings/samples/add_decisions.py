#!/usr/bin/env python3
"""Gives three cases of the market-supervision sample export a decision document (issue 11).

Run after `gen-exports` (see EXPECTED.md): adds `<DecisionFile>decisions/<case id>.html</DecisionFile>`
to the cases below in `market-supervision/first/` and writes each decision, as the case system
would print it, to `market-supervision/decisions/` (the demo copies it into the inbox beside the
export). Everything in them is made up: the names,
the addresses and the witness; the resident ID numbers are the export's own (valid check digits) or
made here with a valid check digit. Idempotent: a case that already names its file is left alone.
"""

import html
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
FIRST = HERE / "market-supervision" / "first"
# Beside the exports in the inbox (`decisions/…`), kept apart here so that only exports are in first/.
DECISIONS = HERE / "market-supervision" / "decisions"
CASES = ["DESC-2026-000018", "DESC-2026-000020", "DESC-2026-000024"]


def id_number(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body17, weights))
    return body17 + "10X98765432"[total % 11]


def text(case: str, tag: str) -> str:
    found = re.search(rf"<{tag}[^>]*>([^<]*)</{tag}>", case)
    return found.group(1) if found else ""


def attribute(case: str, tag: str, name: str) -> str:
    found = re.search(rf"<{tag}\b[^>]*\b{name}=\"([^\"]*)\"", case)
    return found.group(1) if found else ""


def decision(case: str, number: int) -> str:
    agency = text(case, "Org")
    party = text(case, "Name")
    rep = text(case, "LegalRep")
    rep_id = attribute(case, "LegalRep", "idNo")
    witness_id = id_number(f"37152419850{number}1{number}12{number}")
    paragraphs = [
        f"当事人：{party}",
        f"统一社会信用代码：{text(case, 'CreditCode')}",
        f"经营者：{rep}，身份证号码：{rep_id}，住址：东阿县铜城街道文化路{17 + number}号",
        f"{text(case, 'Facts')}",
        f"证人王秀兰（身份证号码：{witness_id}）证实了上述事实。",
        f"依据{text(case, 'Basis')}，本局决定：{text(case, 'Content')}。",
        "当事人如不服本处罚决定，可以在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法提起行政诉讼。",
    ]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(text(case, 'DocTitle'))}</title></head><body>"
        f"<h1 style=\"text-align:center\">{html.escape(agency)}</h1>"
        f"<h2 style=\"text-align:center\">{html.escape(text(case, 'DocTitle'))}</h2>"
        f"<p style=\"text-align:right\">{html.escape(text(case, 'DocNo'))}</p>"
        f"{body}<p style=\"text-align:right\">{html.escape(agency)}</p>"
        f"<p style=\"text-align:right\">{text(case, 'DecisionDate')[:4]}年{int(text(case, 'DecisionDate')[4:6])}月{int(text(case, 'DecisionDate')[6:])}日</p>"
        "</body></html>\n"
    )


def main() -> None:
    DECISIONS.mkdir(exist_ok=True)
    for path in sorted(FIRST.glob("*.xml")):
        xml = path.read_text(encoding="utf-8")
        changed = xml
        for number, case_id in enumerate(CASES, start=1):
            found = re.search(rf"<Case id=\"{case_id}\">.*?</Case>", changed, re.S)
            if not found:
                continue
            case = found.group(0)
            (DECISIONS / f"{case_id}.html").write_text(decision(case, number), encoding="utf-8")
            if "<DecisionFile>" in case:
                continue
            named = re.sub(
                r"(\n(\s*)<DocTitle>[^<]*</DocTitle>)",
                rf"\1\n\2<DecisionFile>decisions/{case_id}.html</DecisionFile>",
                case,
                count=1,
            )
            changed = changed.replace(case, named)
        if changed != xml:
            path.write_text(changed, encoding="utf-8")


if __name__ == "__main__":
    main()
