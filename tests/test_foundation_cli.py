"""`mifund indicators`, `mifund warnings`, `mifund db` and `mifund import` as a user meets them: totals
short of a county, bad filter values, machine formats, the warehouse's tables."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from test_cli import run

runner = CliRunner()

REGIONS = [
    ("region_code", "name", "level", "parent_code"),
    ("320100", "南京市", "city", ""),
    ("320102", "玄武区", "county", "320100"),
    ("320104", "秦淮区", "county", "320100"),
    ("320105", "建邺区", "county", "320100"),
]
LEDGER_HEADER = ("region_code", "year", "scheme", "fund", "insured", "income_total", "expenditure_total",
                 "balance_end")  # fmt: skip
# each county's series closes (balance 2023 = balance 2022 + income − expenditure): only a short city
# total can break the identity or fall
COUNTY_ROWS = [
    ("320102", 2022, "resident", "pooled", 100, 1000, 900, 500),
    ("320104", 2022, "resident", "pooled", 300, 3000, 2900, 1200),
    ("320105", 2022, "resident", "pooled", 50, 400, 300, 2000),
    ("320102", 2023, "resident", "pooled", 100, 1000, 900, 600),
    ("320104", 2023, "resident", "pooled", 300, 3000, 2900, 1300),
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def short_city(env):
    """南京市 with three counties; 建邺区 has not reported 2023 yet."""
    run("import", write_csv(env / "regions.csv", REGIONS),
        write_csv(env / "fund_ledger.csv", [LEDGER_HEADER, *COUNTY_ROWS]))  # fmt: skip
    return env


def test_warnings_do_not_compare_a_short_total_and_say_so(short_city):
    # without the county, the city's 2023 insured 400 against 2022's 450 reads as a fall of 11.1 %,
    # its balance 1,900 against 3,700 as a fall of 48.6 %, and the identity 1,900 − (3,700 + 4,000 −
    # 3,800) = −2,000 as broken: none of it happened
    out = run("warnings", "-r", "320100", "-y", "2023", "--lang", "en", "-f", "json")
    w = json.loads(out.stdout)
    assert [x for x in w if x["region_code"] == "320100"] == []
    assert "320100" in out.stderr and "2 of 3" in out.stderr and "320105 建邺区" in out.stderr
    table = run("warnings", "-r", "320100", "-y", "2023").stdout
    assert "覆盖不全" in table and "建邺区" in table and "3 个下级地区中仅 2 个" in table


def test_indicators_table_shows_coverage(short_city):
    out = run("indicators", "-r", "320100", "-y", "2023", "--lang", "en").stdout
    assert "coverage" in out and "2/3" in out
    assert "missing 320105 建邺区 (resident pooled)" in out
    rows = json.loads(run("indicators", "-r", "320100", "-y", "2023", "-f", "json").stdout)
    city = next(r for r in rows if r["region_code"] == "320100")
    assert (city["units_covered"], city["units_expected"], city["missing_regions"]) == (2, 3, "320105")
    assert city["insured_growth"] is None and city["balance_gap"] is None
    # a whole year shows no coverage column ("insured (coverage) rate" is another column)
    whole = run("indicators", "-r", "320100", "-y", "2022", "--lang", "en").stdout
    assert "│ coverage" not in whole.replace("┃", "│") and "incomplete" not in whole


def test_filter_values_that_match_nothing_are_errors(short_city):
    for args, words in (
        (("indicators", "-s", "foo"), "--scheme 'foo': not one of employee, resident, total"),
        (("indicators", "--fund", "pool"), "--fund 'pool': not one of pooled, account, combined, total"),
        (("indicators", "-r", "999999"), "--region 999999: not in the regions table"),
        (("warnings", "--level", "purple"), "--level 'purple': not one of red, orange, yellow, blue"),
        (("warnings", "-s", "foo"), "--scheme 'foo'"),
        (("warnings", "-r", "320100", "-r", "999999"), "--region 999999"),
    ):
        r = run(*args, ok=False)
        assert r.exit_code == 2, (args, r.output)
        assert words in " ".join(r.output.split()), (args, r.output)
    # the importer's Chinese names work as filters too: 居民 = resident, 统筹基金 = pooled
    rows = json.loads(run("indicators", "-s", "居民", "--fund", "统筹基金", "-r", "320102", "-f", "json").stdout)
    assert {(r["scheme"], r["fund"]) for r in rows} == {("resident", "pooled")} and len(rows) == 2
    # a valid filter without rows says so, and does not send the user to import a ledger again
    r = run("indicators", "-y", "1999")
    assert "No ledger rows for 1999 (the ledger's annual rows cover" in r.output and "Import a fund_ledger" not in r.output
    assert "No ledger rows for 1999" in run("warnings", "-y", "1999").output


def test_machine_formats_carry_units_and_json_figures(short_city):
    # --unit wan: 1,000 yuan is 0.1 万元, and the column says so
    rows = json.loads(run("indicators", "--unit", "wan", "-r", "320102", "-y", "2022", "-f", "json").stdout)
    r = rows[0]
    assert "income_total" not in r and r["income_total_wan"] == pytest.approx(0.1)
    assert r["balance_end_wan"] == pytest.approx(0.05)
    # per capita stays in yuan: 1,000 / 100 = 10 yuan
    assert r["income_per_capita"] == pytest.approx(10.0)
    # the default unit keeps the plain names
    assert "income_total" in json.loads(run("indicators", "-r", "320102", "-f", "json").stdout)[0]
    # warnings as csv: figures are JSON text, not a Python dict's repr
    ledger = short_city / "fund_ledger_deficit.csv"
    write_csv(ledger, [LEDGER_HEADER, ("320105", 2023, "resident", "pooled", 50, 400, 600, 1800)])
    run("import", ledger)
    out = run("warnings", "-r", "320105", "-y", "2023", "-f", "csv").stdout
    rec = next(r for r in csv.DictReader(out.splitlines()) if r["rule"] == "current_deficit")
    figures = json.loads(rec["figures"])
    # surplus 400 − 600 = −200, rate −200 / 400 = −50 %
    assert figures["surplus"] == -200 and figures["surplus_rate"] == pytest.approx(-0.5)


def test_db_info_lists_every_table_by_part(short_city):
    from mifund.storage import Warehouse

    rows = json.loads(run("db", "info", "-f", "json").stdout)
    with Warehouse(short_city / "w.duckdb", read_only=True) as wh:
        tables = set(wh.con.list_tables())
        version = wh.schema_version()
    assert {r["table"] for r in rows} == tables and len(rows) == len(tables) > 20
    by_table = {r["table"]: r for r in rows}
    # 4 regions and 5 ledger rows imported; the users and the settlement tables are there, empty
    assert by_table["regions"]["rows"] == 4 and by_table["fund_ledger"]["rows"] == 5
    assert by_table["regions"]["part"] == "0001 contract_tables"
    assert by_table["settlement"]["part"].endswith("settlement") and by_table["users"]["rows"] == 0
    assert {r["schema_version"] for r in rows} == {version}
    table = run("db", "info").stdout
    assert f"{len(tables)} tables" in table and "supervision_cases" in table


def test_cagr_table_shows_years_as_years(short_city):
    out = run("indicators", "--cagr", "2022:2023", "-r", "320102").stdout
    # 320102 income 1,000 → 1,000: 0.00 %; the span reads 2022 and 2023, not "2,022"
    assert "2,022" not in out and "2,023" not in out and "│ 2022" in out and "0.00%" in out
