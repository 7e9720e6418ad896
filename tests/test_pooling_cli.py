"""CLIs of pooling, disparity and transfers, and the demo municipality's mode comparison, which must
reconcile with its ledgers (slow: uses the session's demo_small warehouse)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mifund.disparity.cli import app as disparity_app
from mifund.disparity.cli import transfers_app
from mifund.pooling.cli import app as pooling_app
from mifund.pooling.data import ledger_input
from mifund.pooling.params import load_modes
from mifund.pooling.report import conservation, reconcile_with_ledger, run_modes
from mifund.storage import Warehouse

pytestmark = pytest.mark.slow

runner = CliRunner()


def test_demo_modes_reconcile_with_ledger(demo_small):
    mf = load_modes()
    with Warehouse(demo_small.db, read_only=True) as wh:
        inp, led = ledger_input(wh, scheme="resident", fund="pooled", targets=mf.targets)
    assert len(inp.regions) == 9
    res = run_modes(inp, mf)
    # county pooling with no top-up reproduces every county's ledger balance, year by year
    county = res["county"]
    if county.total_topups()[0] == 0:
        want = led.pivot(index="region_code", columns="year", values="balance_end").loc[inp.regions].to_numpy()
        np.testing.assert_allclose(county.county["balance_end"][0], want, atol=0.01)
    # every mode: money in the funds less top-ups = the sum of the ledger balances, every year
    rec = reconcile_with_ledger(res, led)
    assert rec.difference.abs().max() < 0.01
    assert (conservation(inp, res).difference < 0.01).all()


def test_pooling_compare_cli(demo_small):
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db)])
    assert r.exit_code == 0, r.output
    assert "Money conserved across modes: True" in r.output
    assert "Reconciles with the ledger balances: True" in r.output
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "--paths", "50", "-f", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert {x["mode"] for x in rows} == {"county", "adjustment_fund", "unified_tiered", "unified_vertical"}
    assert all(0 <= x["p_below_safety_line"] <= 1 for x in rows)


def test_pooling_simulate_and_incentives_cli(demo_small, tmp_path):
    r = runner.invoke(pooling_app, ["simulate", "--db", str(demo_small.db), "-m", "county", "-f", "csv"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].startswith("mode,region_code")
    out = tmp_path / "sim.xlsx"
    r = runner.invoke(pooling_app, ["simulate", "--db", str(demo_small.db), "-f", "xlsx", "-o", str(out)])
    assert r.exit_code == 0 and out.stat().st_size > 0
    r = runner.invoke(pooling_app, ["incentives", "--db", str(demo_small.db), "-f", "json"])
    rows = json.loads(r.output)
    assert {round(x["gain_per_extra_yuan_collected"], 6) for x in rows if x["mode"] == "county"} == {1.0}
    r = runner.invoke(pooling_app, ["simulate", "--db", str(demo_small.db), "-m", "nope"])
    assert r.exit_code != 0


def test_disparity_and_transfers_cli(demo_small, tmp_path):
    r = runner.invoke(disparity_app, ["measure", "--db", str(demo_small.db), "-i", "payable_months", "-f", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert len(rows) == 10 and all(x["n"] == 9 for x in rows)
    r = runner.invoke(disparity_app, ["measure", "--db", str(demo_small.db), "-i", "reimbursement_ratio", "-f", "csv"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(disparity_app, ["lorenz", "--db", str(demo_small.db), "-f", "xlsx", "-o", str(tmp_path / "l.xlsx")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(transfers_app, ["allocate", "--db", str(demo_small.db), "-b", "500000", "--safety-line", "9",
                                      "-f", "json"])
    assert r.exit_code == 0, r.output
    s = {x["rule"]: x for x in json.loads(r.output)}
    assert s["min_below_line"]["regions_below_line"] == min(x["regions_below_line"] for x in s.values())


def test_modes_on_projection_paths(demo_small):
    """Paths from the projection module (the packaged baseline's cohort model and shocks) drive the
    pooling modes: the counties' projected income and expenditure, money conserved across modes."""
    from mifund.pooling.data import projection_input

    mf = load_modes()
    with Warehouse(demo_small.db, read_only=True) as wh:
        hist, led = ledger_input(wh, scheme="resident", fund="pooled", targets=mf.targets)
        inp = projection_input(wh, hist, n_paths=40, horizon=6, seed=3, targets=mf.targets)
    assert inp.income.shape == (40, 9, 6) and inp.years[0] == int(led.year.max()) + 1
    opening = led[led.year == led.year.max()].set_index("region_code").balance_end.reindex(inp.regions)
    np.testing.assert_allclose(inp.opening_balance, opening.to_numpy(float), rtol=1e-9)
    res = run_modes(inp, mf)
    assert (conservation(inp, res).difference < 0.01).all()
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "--from-projection", "default",
                                    "--paths", "30", "--horizon", "5"])
    assert r.exit_code == 0, r.output
    assert "30 paths from the projection (default)" in r.output and "Money conserved across modes: True" in r.output
