"""People's tables keep what matters (views.output by column kind); machine formats of the projection
carry a year or null plus a boolean, never display words."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mifund.projection.cli import app
from mifund.projection.scenario import diff, load_scenario
from mifund.views.output import _cell, format_frame

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_cells_by_column_kind():
    assert _cell(0.002358, "gini", set()) == "0.002358"  # an index: 4 significant digits, not 0.00
    assert _cell(0.075, "employee_pooled_rate", set()) == "0.075"
    assert _cell(1234.5, "balance_end", set()) == "1,234.50"  # money to the fen
    assert _cell(4.5, "deficit", set()) == "4.50"
    assert _cell(0.3, "share_years_x", {"share_years_x"}) == "30.00%"
    assert _cell(0.075, "raise_contributions", set(), {"raise_contributions": "ratio"}) == "0.075"
    assert _cell(11.436, "payable_months", set()) == "11.44"
    f = format_frame(pd.DataFrame({"gini": [0.00236], "income": [10.0]}))
    assert f.iloc[0].tolist() == ["0.00236", "10.00"]


def test_diff_shows_the_base_scenarios_value_in_force():
    a = load_scenario(ROOT / "scenarios/baseline.yaml")
    b = load_scenario(ROOT / "scenarios/raise_contributions.yaml")
    rows = {r["key"]: r for r in diff(a, b)}
    r = rows["levers.employee_pooled_rate.values.2026"]
    assert r[a.name] == 0.07 and r[b.name] == 0.075  # the baseline's 2024 rate still holds in 2026


def test_compare_machine_formats_have_null_and_boolean():
    args = ["compare", str(ROOT / "scenarios/baseline.yaml"), str(ROOT / "scenarios/raise_contributions.yaml"),
            "--sample", "national", "--paths", "0", "--years", "30"]
    r = runner.invoke(app, [*args, "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert all(isinstance(x["a_depleted_within_horizon"], bool) for x in rows)
    for x in rows:
        if not x["a_depleted_within_horizon"]:
            assert x["a_depletion_year"] is None
        else:
            assert isinstance(x["a_depletion_year"], int)
        assert x["years_gained"] is None or isinstance(x["years_gained"], int)
    assert "after" not in r.output and "—" not in r.output
    r = runner.invoke(app, [*args, "--format", "csv"])
    assert "after" not in r.output
    lasting = [x for x in rows if not x["a_depleted_within_horizon"]]
    if lasting:  # people still read the words
        r = runner.invoke(app, args)
        assert "after 20" in r.output
