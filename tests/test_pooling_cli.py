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
    cons = conservation(inp, res).set_index("mode")
    assert (cons.difference < 0.01).all()
    # Income is the projected contributions; each mode earns the scenario's rate on its own balances. The
    # county mode holds the stand-alone balances, so where a county's projected balance never goes below 0
    # (no top-up) it reproduces the projection's balance, interest and all. Unified earns on the city fund
    # instead: a different interest, the same money before interest and top-ups (conservation).
    from mifund.projection.base import base_from_warehouse
    from mifund.projection.engine import project
    from mifund.projection.scenario import load_scenario

    s = load_scenario(None, paths=40, years=6, seed=3)
    with Warehouse(demo_small.db, read_only=True) as wh:
        base = base_from_warehouse(wh, region_codes=list(hist.regions), schemes=["resident"], tables=s.tables,
                                   curve=s.expenditure_curve)
    p = project(base, s)
    u = base.units.reset_index(drop=True)
    idx = np.flatnonzero(((u.scheme == "resident") & (u.fund == "pooled")).to_numpy())
    assert inp.interest_rate == s.assumptions.interest_rate.value > 0
    np.testing.assert_allclose(inp.income, p.contributions[:, idx, :], rtol=1e-12)
    own = p.balance[:, idx, :]
    alone = (own >= 0).all(axis=2)
    assert alone.any()
    np.testing.assert_allclose(res["county"].county["balance_end"][alone], own[alone], rtol=1e-9)
    np.testing.assert_allclose(res["county"].county["interest"][alone], p.interest[:, idx, :][alone], rtol=1e-9)
    assert cons.loc["county", "interest"] != pytest.approx(cons.loc["unified_vertical", "interest"])
    same = cons.money_end_less_topups - cons.interest
    np.testing.assert_allclose(same, same.iloc[0], rtol=1e-9)
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "--from-projection", "default",
                                    "--paths", "30", "--horizon", "5"])
    assert r.exit_code == 0, r.output
    assert "30 paths from the projection (default)" in r.output and "Money conserved across modes: True" in r.output
    assert "earned by each mode on its own balances" in " ".join(r.output.split()) and "interest" in r.output


def flat(r) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(r.output.split())


BAD_MODES = """schema: mifund.pooling/1
modes:
  mine:
    kind: county
    label_zh: x
    label_en: x
    deficit_sharing:
      county_share:
        collection_shortfall: {values: {2000-01-01: 1.5}}
        spending_overrun: {values: {2000-01-01: 1}}
        other: {values: {2000-01-01: 0}}
      fiscal_topup_split:
        city: {values: {2000-01-01: 0.5}}
        county: {values: {2000-01-01: 0.6}}
"""


def test_pooling_input_errors_are_clean(demo_small, tmp_path):
    """Bad mode files, a missing file, a bad scenario, a bad rules file: a message naming the file and the
    key, exit code non-zero, no traceback."""
    db = str(demo_small.db)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_MODES, encoding="utf-8")
    r = runner.invoke(pooling_app, ["compare", "--db", db, "--modes", str(bad)])
    assert r.exit_code == 1 and r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert "bad.yaml" in flat(r) and "county_share" in flat(r) and "collection_shortfall" in flat(r)
    assert "must sum to 1" in flat(r) and "Traceback" not in flat(r)
    neg = tmp_path / "neg.yaml"
    neg.write_text(BAD_MODES.replace("1.5", "1").replace("0.6", "0.5").replace("kind: county", "kind: county\n"
                   "    bogus: 1"), encoding="utf-8")
    r = runner.invoke(pooling_app, ["compare", "--db", db, "--modes", str(neg)])
    assert r.exit_code == 1 and "modes.mine.bogus" in flat(r), r.output
    r = runner.invoke(pooling_app, ["compare", "--db", db, "--modes", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 1 and "nope.yaml: cannot read" in flat(r), r.output
    sc = tmp_path / "sc.yaml"
    sc.write_text("name: x\nassumptions:\n  wage_grwth: {mean: 0.05, sd: 0.01, source: me}\n", encoding="utf-8")
    r = runner.invoke(pooling_app, ["compare", "--db", db, "--from-projection", str(sc)])
    assert r.exit_code == 2 and "sc.yaml" in flat(r) and "wage_grwth" in flat(r), r.output
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  payable_months_low:\n    levelz: 1\n", encoding="utf-8")
    r = runner.invoke(pooling_app, ["compare", "--db", db, "--rules", str(rules)])
    assert r.exit_code == 1 and "rules.yaml" in flat(r) and "levelz" in flat(r), r.output
    r = runner.invoke(pooling_app, ["compare", "--db", db, "-s", "employee", "--fund", "account"])
    assert r.exit_code != 0 and "not pooled" in flat(r)


def test_pooling_employee_combined_is_derived(demo_small):
    """The demo reports employee pooled and account rows only; combined is their sum (as `indicators`)."""
    from mifund.pooling.data import ledger_frame

    with Warehouse(demo_small.db, read_only=True) as wh:
        codes = ["360102", "360103"]
        p, a, c = (ledger_frame(wh, codes, "employee", f) for f in ("pooled", "account", "combined"))
    assert len(c) == len(p) > 0
    np.testing.assert_allclose(c.income_total, p.income_total + a.income_total)
    np.testing.assert_allclose(c.balance_end, p.balance_end + a.balance_end)
    assert (c.insured == p.insured).all()  # the same persons, taken once
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "-s", "employee", "--fund", "combined"])
    assert r.exit_code == 0, r.output
    assert "Reconciles with the ledger balances: True" in r.output


def test_pooling_rules_file_sets_the_safety_line(demo_small, tmp_path):
    """--rules: the red level for the resident pooled fund of one county is 8 months there, 3 elsewhere;
    the title says which level and the range used."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("""version: 1
rules:
  payable_months_low:
    overrides:
      - region_code: "360102"
        levels:
          red: {value: 8, source: "test band"}
""", encoding="utf-8")
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "--rules", str(rules)])
    assert r.exit_code == 0, r.output
    assert "3–8 months by region (red level of payable_months_low, rules.yaml)" in flat(r)
    r = runner.invoke(pooling_app, ["simulate", "--db", str(demo_small.db), "-m", "county", "-f", "json",
                                    "--rules", str(rules), "--paths", "20"])
    rows = json.loads(r.output)
    hi = {x["p_below_safety_line"] for x in rows if x["region_code"] == "360102"}
    assert max(hi) > 0  # 8 months is above what 东湖区 holds on some paths


def test_transfers_bad_input_is_clean(demo_small):
    db = str(demo_small.db)
    r = runner.invoke(transfers_app, ["allocate", "--db", db, "-b", "-5"])
    assert r.exit_code != 0 and "must be >= 0" in flat(r) and r.exception is None or isinstance(r.exception, SystemExit)
    r = runner.invoke(transfers_app, ["allocate", "--db", db, "-b", "100", "-y", "1990"])
    assert r.exit_code == 1 and "no resident/pooled ledger for 1990" in flat(r), r.output
    # the leftover of the MILP goes to the county still below the line, not to the richest (进贤县 360124)
    r = runner.invoke(transfers_app, ["allocate", "--db", db, "-b", "500000", "--safety-line", "8", "--detail",
                                      "-f", "json"])
    rows = [x for x in json.loads(r.output) if x["rule"] == "min_below_line"]
    lifted_or_short = {x["region_code"] for x in rows if x["months_before"] < 8}
    assert all(x["allocation"] < 1e-6 for x in rows if x["region_code"] not in lifted_or_short)


def test_transfers_name_their_disparity_weight_and_match_disparity_measure(demo_small):
    """The `none` row's Gini of months is weighted by insured persons by default and says so; with
    `-w population` it is the Gini that `disparity measure -i payable_months` gives (population weight)."""
    db = str(demo_small.db)
    r = runner.invoke(transfers_app, ["allocate", "--db", db, "-b", "2000000"], env={"COLUMNS": "250"})
    assert r.exit_code == 0 and "disparity of months weighted by insured persons" in flat(r), r.output
    r = runner.invoke(transfers_app, ["allocate", "--db", db, "-b", "2000000", "-w", "population", "-f", "json"])
    rows = {x["rule"]: x for x in json.loads(r.output)}
    year = str(2024)
    m = runner.invoke(disparity_app, ["measure", "--db", db, "-i", "payable_months", "-y", year, "-f", "json"])
    assert m.exit_code == 0, m.output
    ginis = [x["gini"] for x in json.loads(m.output) if x.get("scheme", "resident") == "resident"
             and x.get("fund", "pooled") == "pooled" and "gini" in x]
    assert any(abs(g - rows["none"]["gini_months"]) < 1e-9 for g in ginis), (ginis, rows["none"])
    r = runner.invoke(transfers_app, ["allocate", "--db", db, "-b", "1", "-w", "households"])
    assert r.exit_code != 0 and "one of insured, population, equal" in flat(r)
