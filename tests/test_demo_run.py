"""End to end: `mifund demo run`, what `make demo` runs, on the small municipality (without serving)."""

from __future__ import annotations

import json

import openpyxl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mifund.cli import app


@pytest.mark.slow
def test_demo_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "run", "--size", "small", "--seed", "3", "--out", str(out), "--port", "8123"])
    assert r.exit_code == 0, r.output
    assert "Report:" in r.output and "fund_report.xlsx" in r.output
    assert "Dashboard: mifund serve --db" in r.output and "login admin /" in r.output
    assert "--port 8123" in r.output and "http://127.0.0.1:8123/" in r.output  # the port `make demo` serves on
    for f in ("annual_report_zh.html", "annual_report_en.xlsx", "accounts.xlsx", "supervision_evaluation.csv"):
        assert (out / f).exists(), f
    # the city's annual report projects the city (its counties summed path by path), in its language
    zh = (out / "annual_report_zh.html").read_text(encoding="utf-8")
    assert 'id="section-projection"' in zh and "南昌市居民医保统筹基金收支预测" in zh
    assert "Rationale" not in zh and "本报告未包含" not in zh  # every section has its data in the demo
    # every claim is settled, and the parts add up to the total (exactly, in fen)
    settled = pq.read_table(out / "settled.parquet").to_pandas()
    claims = pq.read_table(out / "data" / "claims.parquet")
    assert len(settled) == claims.num_rows
    parts = ["pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid", "out_of_pocket"]
    assert (settled[parts].sum(axis=1) == settled.total_amount).all()
    # ... and stored in the warehouse as one settlement run
    import duckdb

    with duckdb.connect(str(out / "mifund.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from settlement").fetchone()[0] == claims.num_rows
        assert con.sql("select count(*), sum(claims) from settlement_runs").fetchone() == (1, claims.num_rows)
    # the warehouse answers the analyst's questions: the city is aggregated from its counties
    monkeypatch.setenv("MIFUND_DB", str(out / "mifund.duckdb"))
    rows = json.loads(runner.invoke(app, ["indicators", "--region", "360100", "--format", "json"]).stdout)
    city = [x for x in rows if x["region_code"] == "360100" and x["year"] == 2024 and x["scheme"] == "resident"]
    assert city and city[0]["source"] == "aggregated" and city[0]["n_units"] >= 6
    warnings = json.loads(runner.invoke(app, ["warnings", "--format", "json"]).stdout)
    assert any(w["rule"] == "growth_gap" and w["scheme"] == "resident" for w in warnings)
    # the workbook: summary with native charts, then the tables
    wb = openpyxl.load_workbook(out / "fund_report.xlsx")
    assert wb.sheetnames[:4] == ["summary 概览", "indicators 指标", "warnings 预警", "settlement 结算"]
    assert len(wb["summary 概览"]._charts) == 2
