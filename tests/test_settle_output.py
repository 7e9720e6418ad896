"""`mifund settle` output files: the format the suffix names; bad paths and bad file cells refused before
anything is settled or stored, each error naming file, row and column."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mifund.cli import app
from mifund.storage import Warehouse
from settle_helpers import PROVIDERS, claim, person, write_policy

runner = CliRunner()


def _has(output: str, message: str) -> bool:
    """`message` in `output`, whatever the terminal wrapping and Rich's box did to it."""
    def flat(t):
        return "".join(t.replace("│", "").split())

    return flat(message) in flat(output)


@pytest.fixture
def opts(tmp_path):
    write_policy(tmp_path / "pol")
    pd.DataFrame([claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
                  claim("c1", "C", "2024-04-01", 42000, provider="L2", self_pay=2000)]).to_csv(
        tmp_path / "claims.csv", index=False)
    pd.DataFrame([person("A"), person("C", special="extreme_poverty")]).to_csv(tmp_path / "enrollment.csv", index=False)
    PROVIDERS.to_csv(tmp_path / "providers.csv", index=False)
    return ["--db", str(tmp_path / "w.duckdb"), "settle", str(tmp_path / "claims.csv"), "--policy", str(tmp_path / "pol"),
            "--enrollment", str(tmp_path / "enrollment.csv"), "--providers", str(tmp_path / "providers.csv")]


def test_format_follows_the_suffix(tmp_path, opts):
    r = runner.invoke(app, [*opts, "--out", str(tmp_path / "s.xlsx"), "--totals", str(tmp_path / "t.json")])
    assert r.exit_code == 0, r.output
    s = pd.read_excel(tmp_path / "s.xlsx", engine="openpyxl").set_index("claim_id")  # a real workbook
    assert s.loc["a1", "pooled_fund_paid"] == 20750 and s.loc["c1", "assistance_paid"] == 3991.40  # test_settle_golden
    t = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert {(x["person_id"], x["claims"]) for x in t} == {("A", 1), ("C", 1)}
    r = runner.invoke(app, [*opts, "--out", str(tmp_path / "s.json"), "--totals", str(tmp_path / "t.parquet")])
    assert r.exit_code == 0, r.output
    rows = {x["claim_id"]: x for x in json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))}
    assert rows["a1"]["pooled_fund_paid"] == 20750.0 and rows["a1"]["policy_version"] == "2024-01-01"
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 2


@pytest.mark.parametrize("name, message", [("s.txt", "unknown file type '.txt'"),
                                           ("nodir/s.parquet", "folder"),
                                           ("s.csv", "same file")])
def test_bad_output_refused_before_settling_or_storing(tmp_path, opts, name, message):
    """Checked first: a settlement stored in the warehouse and then a traceback is what this prevents."""
    totals = ["--totals", str(tmp_path / "s.csv")] if message == "same file" else []
    r = runner.invoke(app, [*opts, "--store", "--out", str(tmp_path / name), *totals])
    assert r.exit_code == 2 and _has(r.output, message), r.output
    assert not (tmp_path / "w.duckdb").exists()  # nothing stored, not even a warehouse created
    assert not list(tmp_path.glob("s.*"))


def test_settle_warehouse_bad_out_stores_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    Warehouse(db).close()
    r = runner.invoke(app, ["--db", str(db), "settle", "warehouse", "--policy", str(tmp_path), "--out",
                            str(tmp_path / "nodir" / "x.parquet")])
    assert r.exit_code == 2 and _has(r.output, "does not exist")
    with Warehouse(db, read_only=True) as w:
        assert w.count("settlement_runs") == 0


def test_bad_cells_named_by_row_and_column(tmp_path, opts):
    df = pd.read_csv(tmp_path / "claims.csv", dtype=str)
    df.loc[1, "total_amount"] = "1x00"
    df.loc[0, "discharge_date"] = "2024-09-xx"
    df.to_csv(tmp_path / "claims.csv", index=False)
    out = tmp_path / "s.parquet"
    r = runner.invoke(app, [*opts, "--out", str(out)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    assert _has(r.output, "claims.csv row 3, column total_amount: '1x00' is not a number")
    assert _has(r.output, "claims.csv row 2, column discharge_date: '2024-09-xx' is not a date")
    assert not out.exists()


def test_other_date_spellings_are_read(tmp_path, opts):
    df = pd.read_csv(tmp_path / "claims.csv", dtype=str)
    df.loc[0, ["admit_date", "discharge_date"]] = "2024/3/10"
    df.to_csv(tmp_path / "claims.csv", index=False)
    r = runner.invoke(app, [*opts, "--out", str(tmp_path / "s.parquet")])
    assert r.exit_code == 0, r.output
    s = {x["claim_id"]: x for x in pq.read_table(tmp_path / "s.parquet").to_pylist()}
    assert s["a1"]["pooled_fund_paid"] == Decimal("20750.00")


def test_missing_file_and_column(tmp_path, opts):
    r = runner.invoke(app, [*opts[:3], str(tmp_path / "nope.csv"), *opts[4:]])
    assert r.exit_code == 1 and _has(r.output, "nope.csv: no such file")
    pd.read_csv(tmp_path / "claims.csv").drop(columns="total_amount").to_csv(tmp_path / "claims.csv", index=False)
    r = runner.invoke(app, opts)
    assert r.exit_code == 1 and _has(r.output, "no column total_amount")
