"""`mifund report` fixes after review: a total short of some counties says which (zh and en), machine
formats name the unit, the terminal table prints money to 0.01 万元, and the trend table's parts add up to
its total (the employee individual account has its row)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.reports.build import build_report
from mifund.reports.cli import app

REGIONS = pd.DataFrame({
    "region_code": ["990100", "990101", "990102", "990103"], "name": ["样例市", "甲县", "乙县", "丙县"],
    "name_en": ["Sample City", "County A", "County B", "County C"], "level": ["city", "county", "county", "county"],
    "parent_code": [None, "990100", "990100", "990100"]})


def _row(region, year, scheme, fund, income, expenditure, balance, insured):
    return dict(region_code=region, year=year, month=None, scheme=scheme, fund=fund, insured=insured,
                income_total=income, expenditure_total=expenditure, balance_end=balance, source="test")


def ledger(counties=("990101", "990102")):
    """Counties A and B (C only when asked), 2023-2024: resident pooled, employee pooled and account.
    2024 county A resident income 1,638,700 yuan = 163.87 万元 (4 significant digits would say 163.9)."""
    rows = []
    for k, code in enumerate(counties):
        for year, grow in ((2023, 0), (2024, 1)):
            rows += [
                _row(code, year, "resident", "pooled", 1_500_000 + 138_700 * grow + k, 1_400_000, 3_000_000 + 238_700 * grow + k, 1000),
                _row(code, year, "employee", "pooled", 2_000_000, 1_500_000, 5_000_000 + 500_000 * grow, 500),
                _row(code, year, "employee", "account", 900_000, 800_000, 1_000_000 + 100_000 * grow, 500),
            ]
    return pd.DataFrame(rows)


@pytest.fixture
def partial(wh):
    wh.append("regions", REGIONS)
    wh.append("fund_ledger", ledger())
    return wh


def test_a_partial_city_says_which_counties_are_missing(partial):
    zh = build_report(partial, "990100", 2024, "zh")
    first = zh.section("summary").paragraphs[0]
    assert first.startswith("注意：样例市2024年的合计不完整") and "所辖3个地区中仅2个有台账数据，缺丙县（990103）" in first
    assert "（各险种基金均如此）" in first
    for table in ("key_figures", "indicators", "trend"):
        tab = zh.table(table)
        assert "缺丙县（990103）" in tab.note, table
        assert "coverage" in [c.key for c in tab.columns] and "2/3" in set(tab.data.coverage), table
    assert zh.table("trend").note.startswith("样例市2023—2024年数据不完整")  # every incomplete year, once
    en = build_report(partial, "990100", 2024, "en")
    first = en.section("summary").paragraphs[0]
    assert "the 2024 totals of Sample City are incomplete" in first and "missing County C (990103)" in first
    assert "missing County C (990103)" in en.table("indicators").note
    assert en.table("key_figures").columns[1].label == "Regions covered"


def test_a_whole_city_has_no_coverage_notes(partial):
    partial.append("fund_ledger", ledger(("990103",)))
    rep = build_report(partial, "990100", 2024, "zh")
    assert not rep.section("summary").paragraphs[0].startswith("注意")
    for table in ("key_figures", "indicators", "trend"):
        assert rep.table(table).note is None and "coverage" not in [c.key for c in rep.table(table).columns]


def test_trend_parts_add_up_to_the_total(partial):
    """Table 3 listed employee pooled and resident pooled under a total that includes the individual
    account (925.41 + 730.60 ≠ 2,606.11): the account is a row of its own now."""
    rep = build_report(partial, "990100", 2024, "en")
    d = rep.table("trend").data
    assert list(d[d.year == 2024].pair) == ["Employee pooled fund", "Employee individual account",
                                            "Resident pooled fund", "Both schemes"]
    for year, g in d.groupby("year"):
        parts, total = g[g.scheme != "total"], g[g.scheme == "total"].iloc[0]
        for col in ("income_total", "expenditure_total", "balance_end"):
            assert parts[col].sum() == pytest.approx(total[col], abs=0.011), (year, col)
    assert "Both schemes = employee pooled fund + employee individual account" in rep.section("trend").note


def cli(db, *args):
    r = CliRunner().invoke(app, ["--db", str(db), "-r", "990100", "-y", "2024", *args])
    assert r.exit_code == 0, r.output
    return r


def test_machine_formats_name_the_unit_and_the_coverage(partial, tmp_path):
    db = partial.path
    partial.close()
    rows = list(csv.DictReader(io.StringIO(cli(db, "-f", "csv").stdout)))
    assert "income_total_wan" in rows[0] and "income_total" not in rows[0] and "balance_end_wan" in rows[0]
    res = next(r for r in rows if (r["scheme"], r["fund"]) == ("resident", "pooled"))
    # A 1,638,700 + B 1,638,701 = 3,277,401 yuan = 327.74 万元
    assert res["income_total_wan"] == "327.74" and res["missing_regions"] == "990103"
    assert (res["units_covered"], res["units_expected"]) == ("2", "3")
    doc = json.loads(cli(db, "-f", "json").stdout)
    fig = doc["key_figures"][0]
    assert "income_total_wan" in fig and "income_total" not in fig and fig["missing_regions"] == "990103"


def test_terminal_table_prints_money_to_the_hundredth(wh):
    wh.append("regions", REGIONS.iloc[[1]].assign(parent_code=None))
    wh.append("fund_ledger", ledger(("990101",)))
    db = wh.path
    wh.close()
    out = CliRunner().invoke(app, ["--db", str(db), "-r", "990101", "-y", "2024"]).output
    # resident income 163.87 万元, balance 323.87; not 163.9 / 323.9 (4 significant digits)
    assert "163.87" in out and "323.87" in out and "163.9 " not in out
    assert "1,000" in out  # insured persons with a thousands separator
