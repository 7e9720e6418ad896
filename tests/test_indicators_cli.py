"""`mifund indicators` through the command: regions by name, a year the ledger does not hold, and --cagr in
the unit asked for."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from test_cli import run
from test_warnings_cli import ANNUAL_A, MONTHLY_B, load


def test_region_by_code_or_name_in_indicators_and_warnings(env):
    load(env, ANNUAL_A + MONTHLY_B)
    by_code = json.loads(run("indicators", "-r", "990101", "-f", "json").stdout)
    assert {r["region_code"] for r in by_code} == {"990101"}
    for name in ("甲县", "County A", "county a"):  # zh, en, any case: the same rows as the code
        assert json.loads(run("indicators", "-r", name, "-f", "json").stdout) == by_code
    w = json.loads(run("warnings", "-r", "乙县", "-f", "json").stdout)
    assert {x["region_code"] for x in w} == {"990102"} and w
    r = run("indicators", "-r", "丙县", ok=False)
    assert r.exit_code == 2 and "not in the regions table" in r.output


def test_a_name_two_regions_share_is_refused_with_their_codes(env):
    load(env, ANNUAL_A, regions="region_code,name,name_en,level,parent_code\n990100,样例市,Sample City,city,\n"
                                "990101,新区,New District,county,990100\n990102,新区,New District,county,990100\n")
    r = run("warnings", "-r", "新区", ok=False)
    assert r.exit_code == 2 and "990101, 990102" in r.output and "give the code" in r.output


def test_a_year_the_ledger_does_not_hold_says_so(env):
    # annual rows: 2023-2024 (County A); monthly rows: 2024 (County B)
    load(env, ANNUAL_A + MONTHLY_B)
    r = run("indicators", "-y", "1999")
    assert "No ledger rows for 1999 (the ledger's annual rows cover 2023–2024)." in r.output
    assert "┏" not in r.output  # no empty bordered table
    r = run("indicators", "-y", "1999", "--monthly")
    assert "No ledger rows for 1999 (the ledger's monthly rows cover 2024–2024)." in r.output
    # rows of the year exist, but only another county's: the filters left nothing, not the year
    r = run("indicators", "-y", "2023", "-r", "990102")
    assert "No ledger rows match these filters." in r.output and "1999" not in r.output
    r = run("indicators", "-y", "1999", "-f", "csv")
    assert "No ledger rows for 1999" in r.stderr and "No ledger rows" not in r.stdout


@pytest.mark.parametrize(("unit", "factor", "label"), [("yi", 1e8, "亿元"), ("wan", 1e4, "万元")])
def test_cagr_in_the_unit_asked_for_with_persons_whole(env, unit, factor, label):
    # County A 2023 -> 2024: income 1,000,000 -> 1,050,000 yuan (+5.00 %), balance 2,000,000 -> 1,970,000,
    # insured 1,000 -> 1,000. In 亿元: 0.01 -> 0.0105; in 万元: 100 -> 105. Persons stay 1,000 (not 1,000.00).
    load(env, ANNUAL_A)
    out = pd.read_csv(io.StringIO(run("indicators", "-r", "990101", "--cagr", "2023:2024", "--unit", unit,
                                      "-f", "csv").stdout)).set_index("measure")
    assert out.loc["income_total", "unit"] == unit and out.loc["insured", "unit"] == "persons"
    assert out.loc["income_total", "value_start"] == pytest.approx(1_000_000 / factor)
    assert out.loc["income_total", "value_end"] == pytest.approx(1_050_000 / factor)
    assert out.loc["income_total", "cagr"] == pytest.approx(0.05)
    assert out.loc["insured", "value_start"] == 1000
    table = run("indicators", "-r", "990101", "--cagr", "2023:2024", "--unit", unit).stdout
    assert label in table and "1,000 " in table and "1,000.00" not in table
    assert ("0.01 " if unit == "yi" else "100.00 ") in table
