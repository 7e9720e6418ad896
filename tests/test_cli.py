"""End to end through the `mifund` command, as `make demo` runs it, on the national sample.

The published figures (NHSA statistical bulletins, in 亿元) must come out of `mifund indicators`.
"""

from __future__ import annotations

import json

import openpyxl
import pytest
from typer.testing import CliRunner

from mifund.cli import app

runner = CliRunner()


def run(*args, ok=True):
    r = runner.invoke(app, [str(a) for a in args])
    if ok:
        assert r.exit_code == 0, r.output
    return r


def test_help_everywhere():
    for args in ([], ["import"], ["indicators"], ["warnings"], ["ledger", "template"], ["db", "info"], ["db", "audit"]):
        r = runner.invoke(app, [*args, "--help"])
        assert r.exit_code == 0, (args, r.output)
        assert "Usage" in r.output


def test_demo_pipeline_on_national_sample(env):
    run("import", "--sample", "national")
    # indicators as JSON (yuan), checked against the bulletins
    out = run("indicators", "--format", "json").stdout
    rows = {(r["scheme"], r["fund"], r["year"]): r for r in json.loads(out) if r["region_code"] == "000000"}
    r24 = rows[("resident", "pooled", 2024)]
    # resident 2024: income 11,180.90 亿元, expenditure 10,661.49 亿元 (2024 bulletin, total minus employees)
    assert r24["income_total"] == pytest.approx(1_118_090_000_000.00)
    assert r24["expenditure_total"] == pytest.approx(1_066_149_000_000.00)
    # surplus = 11,180.90 − 10,661.49 = 519.41 亿元
    assert r24["surplus"] == pytest.approx(51_941_000_000.00)
    # months of payment capacity = 8,183.02 / (10,661.49 / 12) = 9.2104
    assert r24["payable_months"] == pytest.approx(8183.02 / (10661.49 / 12), rel=1e-9)
    # employee 2022 support ratio = 26,604 / 9,639 = 2.760 (published: 2.76)
    assert rows[("employee", "combined", 2022)]["support_ratio"] == pytest.approx(2.76, abs=0.005)

    # the people's table, in 亿元
    table = run("indicators", "--unit", "yi", "--scheme", "resident").stdout
    assert "11,181" in table or "11,180.90" in table  # resident 2024 income in 亿元
    assert "亿元" in table

    # warnings: the published series break the balance identity in 2021 (3.5%) and 2022 (0.56%)
    w = json.loads(run("warnings", "--format", "json").stdout)
    ident = {(x["scheme"], x["year"]) for x in w if x["rule"] == "balance_identity"}
    assert ("resident", 2021) in ident and ("resident", 2022) in ident

    # machines: xlsx out, template out, db info, audit
    run("indicators", "--format", "xlsx", "--output", str(env / "ind.xlsx"))
    wb = openpyxl.load_workbook(env / "ind.xlsx", read_only=True)
    assert wb.sheetnames[0] == "indicators"
    run("ledger", "template", str(env / "tpl.xlsx"))
    assert (env / "tpl.xlsx").exists()
    info = run("db", "info").stdout
    assert "fund_ledger" in info
    audit = run("db", "audit", "--format", "json").stdout
    assert all(a["actor"] == "analyst1" for a in json.loads(audit))


def test_bad_file_fails_cleanly_and_writes_nothing(env):
    run("import", "--sample", "national")
    before = run("indicators", "--format", "csv").stdout
    bad = env / "fund_ledger.csv"
    bad.write_text(
        "region_code,year,scheme,fund,insured,income_total,expenditure_total,balance_end\n"
        "000000,2025,resident,pooled,1,100,-5,10\n",
        encoding="utf-8",
    )
    r = run("import", str(bad), ok=False)
    assert r.exit_code == 1
    assert "row 2" in r.output and "expenditure_total" in r.output and "nothing was written" in r.output
    assert run("indicators", "--format", "csv").stdout == before


def test_read_commands_without_warehouse_say_so(env):
    r = run("indicators", ok=False)
    assert r.exit_code == 2 and "No warehouse" in r.output


def test_every_part_reads_the_main_db_option(env):
    """`mifund --db FILE <part> …` means FILE for every part (mifund.cli_options), not $MIFUND_DB."""
    root = env / "root.duckdb"
    for args in (["users", "list"], ["supervise", "cases"], ["accounts", "simulate"], ["pooling", "compare"],
                 ["disparity", "measure"], ["project", "backtest"], ["dataset", "export", str(env / "ds")],
                 ["report"], ["serve"], ["indicators"]):
        r = runner.invoke(app, ["--db", str(root), *args])
        assert r.exit_code == 2 and "No warehouse" in r.output, (args, r.output)
        assert "root.duckdb" in r.output.replace("\n", ""), (args, r.output)


def test_format_checked_before_work(env):
    for args in (["users", "list"], ["supervise", "rules"], ["dataset", "screen", str(env)], ["indicators"]):
        r = runner.invoke(app, [*args, "--format", "xlsx"])
        assert r.exit_code == 2 and "--format xlsx needs --output" in r.output, (args, r.output)
        r = runner.invoke(app, [*args, "--format", "html"])
        assert r.exit_code == 2 and "--format must be one of" in r.output, (args, r.output)


def test_template_filled_in_excel_imports(env):
    """The bilingual template, filled as an analyst would (drop-down labels, Chinese headers), imports."""
    run("import", "--sample", "national")
    tpl = env / "tpl.xlsx"
    run("ledger", "template", str(tpl))
    wb = openpyxl.load_workbook(tpl)
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    col = {h.split("（")[-1].rstrip("）").lstrip("*"): i + 1 for i, h in enumerate(headers) if h}
    values = {"region_code": "000000 全国", "year": 2025, "scheme": "resident 居民医保", "fund": "pooled 统筹基金",
              "insured": 940000000, "income_total": 11500.5, "expenditure_total": 11000.25, "balance_end": 8683.27}
    for name, v in values.items():
        ws.cell(row=2, column=col[name], value=v)
    wb.save(tpl)
    # amounts typed in 亿元: 8,183.02 + 11,500.50 − 11,000.25 = 8,683.27, the identity holds (no warning)
    r = run("import", str(tpl), "--unit", "yi")
    assert "balance identity" not in r.output
    rows = json.loads(run("indicators", "--year", "2025", "--scheme", "resident", "--format", "json").stdout)
    (row,) = [x for x in rows if x["fund"] == "pooled"]
    assert row["income_total"] == pytest.approx(1_150_050_000_000.00)  # 11,500.5 亿元 in yuan
    assert row["surplus"] == pytest.approx(50_025_000_000.00)  # 11,500.50 − 11,000.25 = 500.25 亿元
