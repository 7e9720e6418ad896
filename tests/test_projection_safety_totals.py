"""`mifund project run`: the safety line (its level named, resolved per region x scheme x fund from the warning
rules, ``--rules`` laid over them) and the city rows (the sum of its counties path by path) printed first."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.projection.base import national_base
from mifund.projection.cli import app
from mifund.projection.engine import project
from mifund.projection.scenario import load_scenario
from mifund.projection.summary import risk

runner = CliRunner(env={"COLUMNS": "300"})
COUNTY = "360102"   # 东湖区 of the demo municipality 南昌市 360100


@pytest.fixture(scope="module")
def db(demo_small, tmp_path_factory):
    p = tmp_path_factory.mktemp("proj_safety") / "demo.duckdb"
    shutil.copy(demo_small.db, p)
    return str(p)


def _run(*args) -> str:
    r = runner.invoke(app, ["run", *args])
    assert r.exit_code == 0, r.output
    return r.output


def _json(*args) -> pd.DataFrame:
    return pd.DataFrame(json.loads(_run(*args, "--format", "json")))


def _rules(tmp_path, levels: str, name="r.yaml"):
    p = tmp_path / name
    p.write_text("version: 1\nrules:\n  payable_months_low:\n    overrides:\n"
                 f"      - region_code: \"{COUNTY}\"\n        levels: {levels}\n", encoding="utf-8")
    return p


# -- the safety line ------------------------------------------------------------------------------
def test_risk_compares_each_unit_with_its_own_line():
    """Worked by hand on the national sample: the share of paths whose months fall below each unit's line."""
    s = load_scenario(None, years=4, paths=40, seed=3)
    p = project(national_base(), s)
    line = np.array([5.0, 30.0])[: len(p.base.units)]
    r = risk(p, line)
    for u in range(len(p.base.units)):
        expect = (p.payable_months[:, u, :] < line[u]).mean(axis=0)
        got = r[r.region_code == p.base.units.region_code[u]]
        got = got[got.scheme == p.base.units.scheme[u]]
        assert np.allclose(got["p_below_safety_line"], expect)
        assert (got["safety_line_months"] == line[u]).all()


def test_default_line_is_named_orange_six_months(db):
    out = _run("--db", db, "--paths", "20", "--years", "3", "--show", "risk")
    assert "safety line 6 months (orange level of payable_months_low)" in out
    df = _json("--db", db, "--paths", "20", "--years", "3", "--show", "risk")
    assert (df["safety_line_months"] == 6).all()
    assert (df["safety_line_level"] == "orange (payable_months_low)").all()


def test_scenario_level_red_is_three_months(db, tmp_path):
    s = tmp_path / "red.yaml"
    s.write_text("extends: default\nname: red line\nsafety_line: red\n", encoding="utf-8")
    out = _run("--db", db, "--paths", "20", "--years", "3", "--show", "risk", "--scenario", str(s))
    assert "safety line 3 months (red level of payable_months_low)" in out


def test_rules_override_the_line_and_warning_levels_per_region(db, tmp_path):
    rules = _rules(tmp_path, "{red: {value: 2, source: test red}, orange: {value: 4, source: test orange}}")
    base = ["--db", db, "--paths", "30", "--years", "4", "--show", "risk"]
    df = _json(*base, "--rules", str(rules))
    county = df.region_code.astype(str) == COUNTY
    assert (df.loc[county, "safety_line_months"] == 4).all()
    assert (df.loc[~county, "safety_line_months"] == 6).all()
    assert "4–6 months by region (orange level of payable_months_low, r.yaml)" in _run(*base, "--rules", str(rules))
    # the same paths (same seed) against a lower line: never more paths below it, and no other unit changes
    d = _json(*base)
    assert (df.loc[county, "p_below_safety_line"].to_numpy() <= d.loc[county, "p_below_safety_line"].to_numpy()).all()
    assert np.allclose(df.loc[~county, "p_below_safety_line"], d.loc[~county, "p_below_safety_line"])
    # warning levels of the central path follow the rules too: an orange band up to 1000 months flags every
    # year of the county that is not already red
    high = _rules(tmp_path, "{red: {value: 0.001, source: test red}, orange: {value: 1000, source: test orange}}",
                  "high.yaml")
    c = _json("--db", db, "--paths", "0", "--years", "4", "--rules", str(high))
    cc = c[c.region_code.astype(str) == COUNTY]
    assert set(cc.loc[cc.payable_months > 0.001, "warning_level"]) == {"orange"}
    other = c[c.region_code.astype(str) != COUNTY]
    assert "orange" not in set(other.loc[other.payable_months >= 6, "warning_level"])


def test_bad_rules_and_a_missing_level_are_clean_errors(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  payable_months_lo: {}\n", encoding="utf-8")
    r = runner.invoke(app, ["run", "--db", db, "--paths", "0", "--years", "2", "--rules", str(bad)])
    assert r.exit_code == 2 and "bad.yaml" in r.output and "payable_months_lo" in r.output
    no_orange = _rules(tmp_path, "{red: {value: 2, source: only red}}", "nored.yaml")
    r = runner.invoke(app, ["run", "--db", db, "--paths", "0", "--years", "2", "--rules", str(no_orange)])
    assert r.exit_code == 2 and "no orange level" in r.output and COUNTY in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


# -- the city rows --------------------------------------------------------------------------------
def test_city_rows_come_first_as_the_sum_of_its_counties(db):
    df = _json("--db", db, "--paths", "0", "--years", "3")
    city = df[df.region_code.astype(str) == "360100"]
    assert not city.empty and df.index[: len(city)].tolist() == city.index.tolist()   # first
    assert city["basis"].str.match(r"sum of \d+ regions, path by path").all()
    assert (df.loc[df.region_code.astype(str) != "360100", "basis"] == "modelled").all()
    counties = df[df.basis == "modelled"]
    for (scheme, year), g in city.groupby(["scheme", "year"]):
        c = counties[(counties.scheme == scheme) & (counties.year == year)]
        n = int(g["basis"].iloc[0].split()[2])
        assert len(c) == n
        for col in ("balance_end", "expenditure_total", "income_total", "insured"):
            assert g[col].iloc[0] == pytest.approx(c[col].sum(), rel=1e-9, abs=1)
    out = _run("--db", db, "--paths", "0", "--years", "2")
    assert out.index("南昌市") < out.index("东湖区")


def test_city_bands_are_taken_on_the_summed_paths(db):
    """The city's percentiles are those of the counties' balances summed path by path (percentiles do not
    add), recomputed here from the engine with the same seed."""
    from mifund.projection.base import base_from_warehouse
    from mifund.storage import Warehouse

    df = _json("--db", db, "--paths", "200", "--years", "5", "--show", "bands", "--scheme", "resident")
    city = df[df.region_code.astype(str) == "360100"].sort_values("year")
    with Warehouse(db, read_only=True) as wh:
        base = base_from_warehouse(wh, schemes=["resident"])
    mc = project(base, load_scenario(None, paths=200, years=5))
    summed = mc.balance.sum(axis=1)                                   # (P, T): the city, path by path
    assert np.allclose(city["p5"], np.percentile(summed, 5, axis=0), rtol=1e-9)
    assert np.allclose(city["p95"], np.percentile(summed, 95, axis=0), rtol=1e-9)
    assert not np.allclose(city["p5"], np.percentile(mc.balance, 5, axis=0).sum(axis=0), rtol=1e-6)
