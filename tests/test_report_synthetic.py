"""A report on the demo's made-up figures says so in every file: its title and first header line carry the
synthetic-data marker (issue #4: "clearly marked synthetic in every file")."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from mifund.reports import build_report
from mifund.storage import Warehouse
from test_report import add_handmade_city

ZH, EN = "合成演示数据，非真实基金数据", "SYNTHETIC demo data, not real"


def test_demo_annual_reports_are_marked_in_every_file(demo_small):
    files = {p.name: p for p in demo_small.annual_reports}
    assert sorted(files) == ["annual_report_en.html", "annual_report_en.xlsx", "annual_report_zh.html",
                             "annual_report_zh.xlsx"]
    for name, p in files.items():
        mark = ZH if "_zh." in name else EN
        if p.suffix == ".html":
            text = p.read_text(encoding="utf-8")
            assert text.count(mark) >= 3, name  # <title>, <h1> and the header line
        else:  # the first sheet's title cell and header lines live in the shared strings
            with zipfile.ZipFile(p) as z:
                text = z.read("xl/sharedStrings.xml").decode("utf-8")
            assert mark in text, name


@pytest.mark.parametrize(("source", "marked"), [("SYNTHETIC demo data (mifund demo generate) - not real persons "
                                                 "or accounts", True), ("synthetic test rows", True),
                                                ("test", False)])
def test_the_marker_follows_the_ledger_rows_source(wh, source, marked):
    # `mifund report` run by hand on a demo warehouse is marked too: the ledger rows' source says SYNTHETIC
    add_handmade_city(wh)
    wh.con.raw_sql(f"UPDATE fund_ledger SET source = '{source}'")
    for lang, mark in (("zh", ZH), ("en", EN)):
        rep = build_report(wh, "990100", 2024, lang)
        assert (mark in rep.title) is marked and (mark in rep.meta_lines[0]) is marked
    # an explicit answer wins (the demo pipeline passes True)
    assert ZH in build_report(wh, "990100", 2024, "zh", synthetic=True).title
    assert ZH not in build_report(wh, "990100", 2024, "zh", synthetic=False).title


def test_real_ledger_rows_elsewhere_do_not_mark_a_region(tmp_path):
    # only the report's own subtree counts: a synthetic row of another city leaves 990100 unmarked
    with Warehouse(tmp_path / "w.duckdb") as wh:
        add_handmade_city(wh)
        wh.append("regions", pd.DataFrame({"region_code": ["880100"], "name": ["别市"], "name_en": ["Other"],
                                           "level": ["city"], "parent_code": [None]}))
        wh.append("fund_ledger", pd.DataFrame([dict(region_code="880100", year=2024, month=None, scheme="resident",
                                                    fund="pooled", insured=10, income_total=1.0, expenditure_total=1.0,
                                                    balance_end=1.0, source="SYNTHETIC demo data")]))
        assert ZH not in build_report(wh, "990100", 2024, "zh").title
        assert ZH in build_report(wh, "880100", 2024, "zh").title
