"""`mifund project` on the national sample and on the demo municipality (session fixture demo_small)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.projection.cli import app
from mifund.storage import Warehouse

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _ok(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.output


def test_national_sample_projects_reproducibly():
    args = ["run", "--sample", "national", "--scenario", str(ROOT / "scenarios/baseline.yaml"),
            "--paths", "200", "--years", "20", "--show", "depletion", "--format", "json"]
    a, b = json.loads(_ok(args)), json.loads(_ok(args))
    assert a == b
    assert {r["scheme"] for r in a} == {"employee", "resident"}
    for scheme in ("employee", "resident"):
        assert sum(r["share"] for r in a if r["scheme"] == scheme) == pytest.approx(1)
    c = json.loads(_ok([*args, "--seed", "99"]))
    assert c != a


def test_bad_scenario_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("extends: default\nname: bad\nassumptions:\n  medical_inflaton: {mean: 0.1, sd: 0, source: x}\n")
    r = runner.invoke(app, ["run", "--sample", "national", "--scenario", str(p)])
    assert r.exit_code == 2
    assert "assumptions.medical_inflaton: unknown key" in r.output


def test_compare_raise_contributions_buys_years():
    out = json.loads(_ok(["compare", str(ROOT / "scenarios/baseline.yaml"),
                          str(ROOT / "scenarios/raise_contributions.yaml"), "--sample", "national",
                          "--paths", "0", "--format", "json"]))
    res = next(r for r in out if r["scheme"] == "resident")
    assert int(res["b_depletion_year"]) > int(res["a_depletion_year"])
    assert res["b_balance_y10"] > res["a_balance_y10"]


@pytest.fixture(scope="module")
def demo_db(demo_small, tmp_path_factory):
    p = tmp_path_factory.mktemp("proj") / "demo.duckdb"
    shutil.copy(demo_small.db, p)
    return p


@pytest.mark.slow
def test_compare_on_demo_has_the_city_row(demo_db):
    """`project compare` shows the city above its nine counties (as `project run` does), its balances the
    sums of the counties' (deterministic run: one path, so path by path = the plain sum)."""
    out = pd.DataFrame(json.loads(_ok(["compare", str(ROOT / "scenarios/no_delay.yaml"),
                                       str(ROOT / "scenarios/baseline.yaml"), "--db", str(demo_db),
                                       "--paths", "0", "-s", "employee", "--format", "json"])))
    city = out[out.region_code == "360100"]
    assert len(city) == 1 and city.basis.iloc[0] == "sum of 9 regions, path by path"
    assert out.region_code.iloc[0] == "360100"                       # the city first
    counties = out[out.basis == "modelled"]
    assert len(counties) == 9
    for col in ("a_balance_y10", "b_balance_y10"):
        assert city[col].iloc[0] == pytest.approx(counties[col].sum(), rel=1e-9)
    # the 2025 delay buys the city money by year 10 (retirement counted once: it buys from the first year)
    assert city.b_balance_y10.iloc[0] > city.a_balance_y10.iloc[0]


@pytest.mark.slow
def test_backtest_on_the_demo_ledgers(demo_db):
    out = _ok(["backtest", "--db", str(demo_db), "--format", "csv"])
    from io import StringIO

    df = pd.read_csv(StringIO(out))
    assert set(df["method"]) == {"gm11", "ets", "arima", "drift", "cohort"}
    assert (df["units"] == 9).all()  # nine counties per scheme
    assert df["mape"].notna().all()  # a fraction (0.06 = 6 %), named by what it holds
    table = _ok(["backtest", "--db", str(demo_db)])
    assert "MAPE" in table
    # the "cohort" line is the projection's accounting with frozen cohorts: the table must say so
    assert "cohorts held fixed (no ageing, entrants or retirement)" in " ".join(table.split())


@pytest.mark.slow
def test_run_on_demo_stores_and_writes_xlsx_and_charts(demo_db, tmp_path):
    xlsx = tmp_path / "p.xlsx"
    with Warehouse(demo_db, read_only=True) as wh:  # `demo run` already stored its own baseline run
        before = set(wh.to_pandas(wh.table("projection_runs"))["run_id"])
    _ok(["run", "--db", str(demo_db), "--paths", "300", "--years", "12", "--store", "--format", "xlsx",
         "--output", str(xlsx), "--charts", str(tmp_path / "charts"), "--region", "360102",
         "--region", "360124"])
    sheets = pd.read_excel(xlsx, sheet_name=None, engine="openpyxl")
    assert {"central", "bands", "risk", "depletion", "tornado", "notes"} <= set(sheets)
    assert set(sheets["central"]["region_code"].astype(str)) == {"360102", "360124"}
    assert "enrolment" in " ".join(sheets["notes"]["note"])
    assert len(list((tmp_path / "charts").glob("fan_*.png"))) == 4
    assert len(list((tmp_path / "charts").glob("tornado_*.png"))) == 4
    with Warehouse(demo_db, read_only=True) as wh:
        runs = wh.to_pandas(wh.table("projection_runs").filter(lambda t: ~t.run_id.isin(list(before))))
        res = wh.to_pandas(wh.table("projection_results").filter(lambda t: ~t.run_id.isin(list(before))))
        audit = wh.to_pandas(wh.table("audit_log").filter(lambda t: t.action == "project"))
    assert len(runs) == 1 and runs["paths"][0] == 300 and len(audit) == 1 + len(before)
    assert len(res) == 4 * 12 and res["balance_p50"].notna().all()
    claims = _ok(["run", "--db", str(demo_db), "--paths", "0", "--years", "5", "--format", "csv",
                  "--scenario", str(_claims_scenario(tmp_path))])
    assert "360102" in claims


def _claims_scenario(tmp_path):
    p = tmp_path / "claims.yaml"
    p.write_text(f"extends: {ROOT / 'scenarios/baseline.yaml'}\nname: claims curve\nexpenditure_curve: claims\n")
    return p
