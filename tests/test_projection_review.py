"""Review fixes of `mifund project`: scenarios of the same name compared apart, a depletion-year gain known
only as a bound, a too-wide sd refused (and a draw at -100 % a clean error), scenario errors at the file
and line where the key is written, units left out or unknown named, backtest MAPE named by what it holds."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.projection.base import build_base, national_base
from mifund.projection.cli import app
from mifund.projection.engine import rates
from mifund.projection.scenario import ScenarioError, diff, load_scenario
from mifund.projection.summary import compare, for_people

runner = CliRunner()
HICOST = """name: {name}
extends: default
assumptions:
  medical_inflation:
    mean: 0.06
    sd: 0.01
    source: "test higher cost growth"
"""


def _write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def _flat(r) -> str:
    return " ".join(r.output.split())


# -- 1. two scenarios of the same name ------------------------------------------------------------------
def test_compare_keeps_apart_two_scenarios_of_the_same_name(tmp_path):
    a = _write(tmp_path, "base.yaml", "name: same\nextends: default\n")
    b = _write(tmp_path, "hicost.yaml", HICOST.format(name="same"))
    sa, sb = load_scenario(a, years=30), load_scenario(b, years=30)
    res = compare(national_base(), sa, sb, paths=0, horizon=10)
    assert (res.a_balance_y10 != res.b_balance_y10).all()          # each its own figures, not B's twice
    assert (res.b_balance_y10 < res.a_balance_y10).all()           # dearer care: less left
    assert set(res.a_scenario) == {"same (base)"} and set(res.b_scenario) == {"same (hicost)"}
    rows = diff(sa, sb)
    assert rows and {"same (base)", "same (hicost)"} <= set(rows[0])
    r = runner.invoke(app, ["compare", str(a), str(b), "--sample", "national", "--paths", "0", "--years", "30",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert all(x["a_balance_y10"] != x["b_balance_y10"] for x in out)
    # same name and same file stem (two folders): A and B
    (tmp_path / "other").mkdir()
    b2 = _write(tmp_path / "other", "base.yaml", HICOST.format(name="same"))
    res = compare(national_base(), sa, load_scenario(b2, years=30), paths=0, horizon=10)
    assert set(res.a_scenario) == {"same (A)"} and set(res.b_scenario) == {"same (B)"}
    assert (res.a_balance_y10 != res.b_balance_y10).all()


# -- 8. a gain known only as a bound --------------------------------------------------------------------
def test_years_gained_is_a_bound_where_only_b_depletes(tmp_path):
    b = _write(tmp_path, "hicost.yaml", HICOST.format(name="hicost"))
    sa, sb = load_scenario(None, years=30), load_scenario(b, years=30)
    res = compare(national_base(), sa, sb, paths=0, horizon=10)
    end = 2024 + 30
    emp = res[res.scheme == "employee"].iloc[0]
    assert pd.isna(emp.a_depletion_year) and not pd.isna(emp.b_depletion_year)  # A lasts, B depletes
    assert pd.isna(emp.years_gained)                                  # not exact: A's year is unknown
    assert emp.years_gained_at_most == emp.b_depletion_year - (end + 1)
    assert pd.isna(emp.years_gained_at_least)
    people = for_people(res, end)
    assert people.loc[res.scheme == "employee", "years_gained"].iloc[0] == f"<= {emp.years_gained_at_most}"
    assert "years_gained_at_most" not in people
    both = res[~res.a_depletion_year.isna() & ~res.b_depletion_year.isna()]
    assert (both.years_gained == both.b_depletion_year - both.a_depletion_year).all()  # exact where both do


# -- 3. an sd that takes a rate to -100 % ---------------------------------------------------------------
def test_an_sd_too_wide_for_its_mean_is_refused_with_the_bound(tmp_path):
    p = _write(tmp_path, "bigsd.yaml", "name: bigsd\nextends: default\nassumptions:\n  utilisation_trend:\n"
                                       "    mean: 0.02\n    sd: 0.6\n    source: test big sd\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:4: assumptions.utilisation_trend: sd 0.6 is too wide"), msg
    assert "0.255" in msg                                             # the bound, (1 + 0.02) / 4
    r = runner.invoke(app, ["run", "--sample", "national", "--scenario", str(p), "--paths", "100"])
    assert r.exit_code == 2 and "Scenario error" in r.output and r.exception is None or \
        isinstance(r.exception, SystemExit), r.output
    ok = _write(tmp_path, "ok.yaml", "name: ok\nextends: default\nassumptions:\n  utilisation_trend:\n"
                                     "    mean: 0.02\n    sd: 0.25\n    source: test wide sd\n")
    assert load_scenario(ok).assumptions.utilisation_trend.sd == 0.25


def test_a_draw_at_minus_100_percent_is_a_clean_scenario_error(monkeypatch):
    wide = load_scenario(None, paths=200, years=10)
    wide.assumptions.utilisation_trend.sd = 0.6                     # past the schema (as a draw beyond 4 sd)
    z = np.zeros((1, 10, 4))
    z[0, 3, 2] = -5
    with pytest.raises(ScenarioError, match=r"assumptions\.utilisation_trend: a drawn yearly rate"):
        rates(wide, z, np.array([True]))
    import mifund.projection.cli as cli

    monkeypatch.setattr(cli, "_scenario", lambda path, **over: copy.deepcopy(wide))
    r = runner.invoke(app, ["run", "--sample", "national", "--paths", "200"])
    assert r.exit_code == 2, r.output
    assert "Scenario error" in r.output and "utilisation_trend" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


# -- 9. errors at the file and line where the key is written --------------------------------------------
def test_scenario_errors_name_the_file_and_line_where_the_key_is_written(tmp_path):
    parent = _write(tmp_path, "parent.yaml", "name: parent\nextends: default\nlevers:\n  expenditure_factr:\n"
                                             "    values: {2026: 1.2}\n    source: x test\n")
    child = _write(tmp_path, "child.yaml", "name: child\nextends: parent.yaml\nyears: 5\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(child)
    msg = str(e.value)
    # the parent's typo, at the parent's line 4, not blamed on the child
    assert msg.startswith(f"{parent.resolve()}:4: levers.expenditure_factr: unknown key"), msg
    assert f"read through {child}" in msg
    own = _write(tmp_path, "own.yaml", "name: own\nextends: parent.yaml\nlevers:\n  expenditure_factor:\n"
                                       "    values: {2026: 1.2}\n    source: test\n    unti: x\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(own)
    assert f"{own}:7: levers.expenditure_factor.unti: unknown key" in str(e.value)
    assert f"{parent.resolve()}:4: levers.expenditure_factr" in str(e.value)
    bad = _write(tmp_path, "bad.yaml", "name: bad\nextends: default\nlevers:\n  expenditure_factor:\n"
                                       "    values: {2026: 1.2\n    source: test\n")
    with pytest.raises(ScenarioError, match=rf"^{re.escape(str(bad))}:\d+: invalid YAML"):
        load_scenario(bad)
    nosrc = _write(tmp_path, "nosrc.yaml", "name: n\nextends: default\n\nlevers:\n  resident_fiscal:\n"
                                           "    values: {2026: 800}\n")
    with pytest.raises(ScenarioError, match=rf"^{re.escape(str(nosrc))}:5: levers\.resident_fiscal\.source"):
        load_scenario(nosrc)
    # an override from the command line is named as such, not as a line of the file
    with pytest.raises(ScenarioError, match=r"\(--years on the command line\): years"):
        load_scenario(own.with_name("child.yaml"), years=500)
    r = runner.invoke(app, ["run", "--sample", "national", "--scenario", str(child), "--paths", "0"])
    assert r.exit_code == 2 and "parent.yaml:4:levers.expenditure_factr" in _flat(r).replace(" ", ""), r.output


# -- 10. units left out, unknown region or scheme -------------------------------------------------------
def _ledger():
    rows = []
    for code, insured in (("369901", 1000), ("369902", 800), ("369903", 0)):
        rows.append({"region_code": code, "year": 2024, "month": np.nan, "scheme": "resident", "fund": "pooled",
                     "insured": insured, "income_total": 1000.0 if insured else 0.0, "income_interest": 0.0,
                     "expenditure_total": 900.0 if insured else 0.0, "balance_end": 500.0 if insured else 0.0})
    return pd.DataFrame(rows)


def test_a_unit_without_insured_is_named_and_unknown_codes_are_refused_by_name():
    base = build_base(_ledger())
    assert list(base.units.region_code) == ["369901", "369902"]
    assert any(n.startswith("left out 369903 resident") and "insured = 0" in n for n in base.notes), base.notes
    with pytest.raises(ValueError, match="unknown region 999999"):
        build_base(_ledger(), region_codes=["999999"])
    with pytest.raises(ValueError, match="unknown scheme foo"):
        build_base(_ledger(), schemes=["foo"])
    with pytest.raises(ValueError, match=r"no region x scheme with insured persons .*369903"):
        build_base(_ledger(), region_codes=["369903"])
    r = runner.invoke(app, ["run", "--sample", "national", "--paths", "0", "-r", "999999"])
    assert r.exit_code == 2 and "unknown region 999999" in _flat(r), r.output
    r = runner.invoke(app, ["run", "--sample", "national", "--paths", "0", "-s", "foo"])
    assert r.exit_code == 2 and "unknown scheme foo" in _flat(r), r.output


def test_run_says_which_unit_it_left_out(monkeypatch):
    import mifund.projection.base as B

    frames = B.national_sample_frames()
    led = frames["fund_ledger"]
    last = led["year"].max()
    zero = led[(led.year == last) & (led.scheme == "resident")].copy()
    zero["region_code"] = "999998"
    zero["insured"] = 0
    frames["fund_ledger"] = pd.concat([led, zero], ignore_index=True)
    monkeypatch.setattr(B, "national_sample_frames", lambda: {k: v.copy() for k, v in frames.items()})
    r = runner.invoke(app, ["run", "--sample", "national", "--paths", "0", "--years", "5", "-f", "csv"])
    assert r.exit_code == 0, r.output
    assert "left out 999998 resident" in _flat(r)


# -- 7. backtest: mape is a fraction and named so --------------------------------------------------------
def test_backtest_machine_columns_hold_what_their_names_say(monkeypatch):
    import mifund.projection.base as B

    years = np.arange(2012, 2025)
    g = 1.06 ** (years - years[0])
    led = pd.DataFrame({"region_code": "000001", "year": years, "month": np.nan, "scheme": "resident",
                        "fund": "pooled", "insured": 1e6, "income_total": 1e9 * g * (1 + 0.02 * np.sin(years)),
                        "income_interest": 0.0, "expenditure_total": 0.9e9 * g, "balance_end": 5e8 * g})
    monkeypatch.setattr(B, "national_sample_frames", lambda: {"fund_ledger": led.copy()})
    r = runner.invoke(app, ["backtest", "--sample", "national", "-f", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows and "mape" in rows[0] and "mape_pct" not in rows[0] and "max_ape" in rows[0]
    d = json.loads(runner.invoke(app, ["backtest", "--sample", "national", "-f", "json", "--detail"]).output)
    ape = pd.DataFrame(d).groupby(["scheme", "series", "method"]).ape.mean()
    for x in rows:                                                   # a fraction: the mean of the apes
        assert x["mape"] == pytest.approx(ape[(x["scheme"], x["series"], x["method"])])
    table = _flat(runner.invoke(app, ["backtest", "--sample", "national"]))
    top = next(x for x in rows if x["mape"] > 0.01)
    assert f"{top['mape'] * 100:.2f}%" in table                      # people read a percentage
