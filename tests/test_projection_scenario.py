"""Scenario files and data tables: every shipped file loads; bad input is a clear error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mifund.projection.scenario import ScenarioError, diff, load_scenario
from mifund.projection.tables import load_life_table

SCENARIOS = sorted(Path(__file__).resolve().parents[1].joinpath("scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_load_and_name_their_sources(path):
    s = load_scenario(path)
    base = load_scenario(SCENARIOS[0].parent / "baseline.yaml")
    for row in diff(base, s):
        assert row["source"], row  # every change carries a source


def _write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text, key", [
    ("extends: default\nname: x\nassumptions:\n  wage_growht: {mean: 0.05, sd: 0.01, source: typo}\n",
     "assumptions.wage_growht: unknown key"),
    ("extends: default\nname: x\nassumptions:\n  wage_growth: {mean: 0.05, sd: -0.01, source: neg}\n",
     "assumptions.wage_growth.sd"),
    ("extends: default\nname: x\nassumptions:\n  interest_rate: {value: -0.01, source: neg}\n",
     "assumptions.interest_rate.value"),
    ("extends: default\nname: x\nlevers:\n  employee_pooled_rate: {values: {2026: -0.07}, source: neg}\n",
     "levers.employee_pooled_rate.values"),
    ("extends: default\nname: x\nlevers:\n  resident_fiscal: {values: {2026: 800}}\n",
     "levers.resident_fiscal.source"),
    ("extends: default\nname: x\nassumptions:\n  correlation: {wage_growth|medical_inflation: 0.99,"
     " wage_growth|utilisation_trend: 0.99, medical_inflation|utilisation_trend: -0.99, source: bad}\n",
     "positive semi-definite"),
    ("extends: nowhere.yaml\nname: x\n", "extends: no such file"),
    ("extends: default\nname: x\nsafety_line: purple\n", "safety_line"),
])
def test_bad_scenarios_name_the_key(tmp_path, text, key):
    with pytest.raises(ScenarioError) as e:
        load_scenario(_write(tmp_path, text))
    assert key in str(e.value)
    assert "s.yaml" in str(e.value)


def test_child_values_replace_parent_from_their_first_year(tmp_path):
    s = load_scenario(_write(tmp_path, "extends: default\nname: x\nlevers:\n  resident_individual:\n"
                                       "    values: {2024: 450}\n    source: test\n"))
    assert s.levers.resident_individual.values == {2021: 320, 2024: 450}
    assert s.levers.resident_individual.series([2020, 2023, 2024, 2030]).tolist() == [320, 320, 450, 450]


def test_child_entry_ages_replace_the_parents_bands(tmp_path):
    """A map-valued assumption is replaced whole: the child's two bands (0.6 + 0.4 = 1), not merged with the
    default's 20/25/30 (which made 0.6 + 0.4 + 0.2 = 1.2 and was refused, blaming the user's figures)."""
    s = load_scenario(_write(tmp_path, 'extends: default\nname: x\nassumptions:\n  entry_ages:\n'
                                       '    value: {"20": 0.6, "25": 0.4}\n    source: test\n'))
    assert s.assumptions.entry_ages.value == {20: 0.6, 25: 0.4}
    s = load_scenario(_write(tmp_path, 'extends: default\nname: x\nassumptions:\n  entry_ages:\n'
                                       '    value: {"20": 1.0}\n    source: test\n'))
    assert s.assumptions.entry_ages.value == {20: 1.0}


def test_life_table_that_does_not_decrease_is_refused(tmp_path):
    good = (Path(__file__).resolve().parents[1] / "src/mifund/projection/data/life_table.yaml").read_text()
    bad = good.replace("M: [100000, 99051, 98877", "M: [100000, 99051, 99277")
    assert bad != good
    p = _write(tmp_path, bad, "lt.yaml")
    with pytest.raises(ScenarioError) as e:
        load_life_table(p)
    assert "lx.M" in str(e.value) and "decrease" in str(e.value)
    surv = load_life_table().annual_survival()
    assert ((surv > 0.5) & (surv < 1)).all()
    assert surv[0, 0] > surv[12, 0] > surv[16, 0]   # mortality rises with age
