"""`mifund warnings` and `mifund report` on hand-made ledgers, through the command: the monthly part of the
payable_months rules, the persons identity, and messages that do not round across a threshold."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mifund.cli import app

runner = CliRunner()

REGIONS = ("region_code,name,name_en,level,parent_code\n"
           "990100,样例市,Sample City,city,\n"
           "990101,甲县,County A,county,990100\n"
           "990102,乙县,County B,county,990100\n")
HEAD = "region_code,year,month,scheme,fund,insured,income_total,expenditure_total,balance_end\n"


def run(*args, ok=True):
    r = runner.invoke(app, [str(a) for a in args])
    if ok:
        assert r.exit_code == 0, r.output
    return r


def load(env, ledger: str, regions: str = REGIONS) -> None:
    d = env / "in"
    d.mkdir(exist_ok=True)
    (d / "regions.csv").write_text(regions, encoding="utf-8")
    (d / "fund_ledger.csv").write_text(HEAD + ledger, encoding="utf-8")
    run("import", d)


# County B kept by month, Jan-Jun 2024: income 100,000 and expenditure 150,000 a month, the balance falling
# 250,000 -> 0. Months of payment capacity in June = 0 / (mean of the 6 months' expenditure 150,000) = 0.0,
# below the red line 3 (人社部发〔2009〕67号): red, judged on June, the latest month of the open year.
MONTHLY_B = "".join(f"990102,2024,{m},resident,pooled,1000,100000.00,150000.00,{250000 - 50000 * (m - 1)}.00\n"
                    for m in range(1, 7))
# County A's annual rows: 2023 and 2024, balance 2,000,000 and 1,970,000 on expenditure 900,000 / 1,080,000
# a year -> 26.7 and 21.9 months (blue, idle); its own figures are not what these tests are about.
ANNUAL_A = ("990101,2023,,resident,pooled,1000,1000000.00,900000.00,2000000.00\n"
            "990101,2024,,resident,pooled,1000,1050000.00,1080000.00,1970000.00\n")


def test_warnings_judge_the_latest_month_of_a_year_in_progress(env):
    load(env, MONTHLY_B)
    w = json.loads(run("warnings", "-r", "990102", "--format", "json").stdout)
    low = [x for x in w if x["rule"] == "payable_months_low"]
    assert [(x["year"], x["month"], x["level"], x["value"]) for x in low] == [(2024, 6, "red", 0.0)]
    assert low[0]["message_en"].startswith("2024-06: ")
    # the people's table with a year: the red warning, never "No ledger rows" when monthly rows exist
    out = run("warnings", "-r", "990102", "-y", "2024", "--lang", "en").output
    assert "No ledger rows" not in out and "No warnings" not in out
    assert "red" in out and "payable_months_low" in out
    # a year the ledger does not hold at all still says so
    assert "No ledger rows for 2023" in run("warnings", "-r", "990102", "-y", "2023").output


def test_report_lists_a_monthly_county_and_names_monthly_rows(env, tmp_path):
    load(env, ANNUAL_A + MONTHLY_B)
    r = run("report", "-r", "990100", "-y", "2024", "-l", "en", "-f", "json")
    doc = json.loads(r.stdout)
    # the summary names County B below the safety line at 0.0 months (its June), not "no warnings"
    assert any("County B" in p and "0.0" in p for p in doc["findings"]), doc["findings"]
    from mifund.reports.build import build_report
    from mifund.storage import Warehouse

    with Warehouse(env / "w.duckdb", read_only=True) as wh:
        lst = build_report(wh, "990100", 2024, "en").table("warning_list").data
    red = lst[(lst.region_code == "990102") & (lst.rule == "payable_months_low")]
    assert list(red.level) == ["red"] and red.message.iloc[0].startswith("2024-06: ")
    # County B alone has no annual row: the report refuses, and says the monthly rows exist and where
    # they are judged, instead of "no annual fund ledger rows"
    for args in (["-r", "990102"], ["-r", "990102", "-y", "2024"]):
        r = run("report", *args, "-o", tmp_path / "b.html", ok=False)
        assert r.exit_code == 2
        assert "monthly" in r.output and "mifund warnings" in r.output, r.output


def test_persons_that_do_not_add_up_are_warned_and_give_no_support_ratio(env):
    # County A's employee row: 99,999 in service + 159 retired = 100,158, beside 627 insured (a keying
    # error). Difference 99,531 = 15,874.16% of insured, far above the 0.05% tolerance: a yellow
    # persons_identity warning, every time `mifund warnings` runs (not only once at import), and no support
    # ratio (99,999 / 159 = 628.92 would be read as a real one). County B's row adds up (400 + 100 = 500):
    # support ratio 400 / 100 = 4.00 and no warning; the city's sums (100,558 vs 1,127) miss too: blank.
    d = env / "in"
    d.mkdir()
    (d / "regions.csv").write_text(REGIONS, encoding="utf-8")
    (d / "fund_ledger.csv").write_text(
        "region_code,year,scheme,fund,insured,insured_in_service,insured_retired,income_total,expenditure_total,"
        "balance_end\n"
        "990101,2024,employee,pooled,627,99999,159,1000000.00,900000.00,900000.00\n"
        "990102,2024,employee,pooled,500,400,100,1000000.00,900000.00,900000.00\n", encoding="utf-8")
    run("import", d)
    w = json.loads(run("warnings", "--format", "json").stdout)
    bad = [x for x in w if x["rule"] == "persons_identity"]
    assert [(x["region_code"], x["level"]) for x in bad] == [("990100", "yellow"), ("990101", "yellow")]
    a = next(x for x in bad if x["region_code"] == "990101")
    assert a["value"] == pytest.approx(99_531 / 627)
    assert a["figures"]["persons_gap"] == 99_531
    assert "99,999" in a["message_en"] and "not the insured 627" in a["message_en"]
    assert "support ratio not computed" in a["message_en"] and "在职退休比不予计算" in a["message_zh"]
    assert "persons_identity" in run("warnings", "--lang", "en").output  # and in the people's table
    ind = {r["region_code"]: r for r in json.loads(run("indicators", "-s", "employee", "-f", "json").stdout)
           if r["fund"] == "pooled"}
    assert ind["990101"]["support_ratio"] is None and ind["990100"]["support_ratio"] is None
    assert ind["990102"]["support_ratio"] == pytest.approx(4.0)


def test_months_never_read_on_the_wrong_side_of_the_line(env):
    # County A 2024: balance 599,260 / (expenditure 1,200,000 / 12 = 100,000 a month) = 5.9926 months, below
    # the orange line 6. To 1 decimal it would read "6.0 < 6"; the message gives 5.99 (the first rounding
    # that stays below 6), and the people's table a fixed 2 decimals (5.99, not 4 significant digits' "5.993"
    # beside "10" for a County B of exactly 10.00 months: 1,000,000 / 100,000).
    load(env, "990101,2024,,resident,pooled,1000,1000000.00,1200000.00,599260.00\n"
              "990102,2024,,resident,pooled,1000,1300000.00,1200000.00,1000000.00\n")
    w = json.loads(run("warnings", "-r", "990101", "--format", "json").stdout)
    low = next(x for x in w if x["rule"] == "payable_months_low")
    assert low["level"] == "orange" and low["value"] == pytest.approx(5.9926)
    assert "Months of payment capacity 5.99 < 6" in low["message_en"]
    assert "可支付月数 5.99 个月，低于安全线 6 个月" in low["message_zh"]
    table = run("indicators", "-s", "resident").output
    assert "5.99 " in table and "10.00 " in table and "6.0 " not in table


def test_report_findings_keep_months_below_the_line(env):
    load(env, "990101,2024,,resident,pooled,1000,1000000.00,1200000.00,599260.00\n"
              "990102,2024,,resident,pooled,1000,1300000.00,1200000.00,1000000.00\n")
    doc = json.loads(run("report", "-r", "990100", "-y", "2024", "-l", "en", "-f", "json").stdout)
    assert any("County A 5.99 months (below 6" in p for p in doc["findings"]), doc["findings"]
