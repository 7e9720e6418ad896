"""`mifund dataset`: export the warehouse as partitioned datasets, settle and screen them (DuckDB engine
here; tests/test_spark.py runs the same on Spark)."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from mifund.cli import app
from mifund.demo.generate import DEMO_POLICIES


def test_export_settle_screen_on_datasets(demo_small, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    run = CliRunner()
    r = run.invoke(app, ["--db", str(demo_small.db), "dataset", "export", str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    assert list((tmp_path / "ds" / "claims").glob("part_year=2024/*.parquet"))
    r = run.invoke(app, ["dataset", "settle", str(tmp_path / "ds"), "--out", str(tmp_path / "settled"),
                         "--policy", str(DEMO_POLICIES), "--format", "json"])
    assert r.exit_code == 0, r.output
    agg = pd.DataFrame(json.loads(r.stdout[r.stdout.index("["):]))
    settled = pd.read_parquet(tmp_path / "settled")
    stored = pd.read_parquet(demo_small.settled)  # what `demo run` settled from the warehouse
    assert agg["claims"].sum() == len(settled) == len(stored)
    assert abs(agg["pooled_fund_paid"].astype(float).sum() - stored["pooled_fund_paid"].astype(float).sum()) < 0.005
    r = run.invoke(app, ["dataset", "screen", str(tmp_path / "ds"), "--out", str(tmp_path / "hits")])
    assert r.exit_code == 0, r.output
    assert pd.read_parquet(tmp_path / "hits" / "hits.parquet")["rule_id"].nunique() >= 8
    r = run.invoke(app, ["dataset", "screen", str(tmp_path / "ds"), "--engine", "oracle"])
    assert r.exit_code != 0 and "unknown engine" in r.output
