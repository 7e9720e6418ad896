"""A scenario's own tables (``tables: {life_table, age_cost_curve, retirement, age_structure}``): used by the
run, resolved relative to the scenario file, inherited through ``extends``, and refused with the file and key
when bad."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mifund.projection.base import national_base
from mifund.projection.cli import app
from mifund.projection.engine import project
from mifund.projection.scenario import ScenarioError, load_scenario
from mifund.projection.tables import AGES

DATA = Path(__file__).resolve().parents[1] / "src/mifund/projection/data"
runner = CliRunner()


def _shipped(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _dump(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _harsher_life_table() -> dict:
    """The shipped table with every 5-year death probability doubled (capped at 0.9) and e85 cut by 40 %:
    a table of clearly higher mortality that still decreases."""
    lt = _shipped("life_table.yaml")
    for s, lx in lt["lx"].items():
        out = [lx[0]]
        for i in range(1, len(lx)):
            q = 1 - lx[i] / lx[i - 1]
            out.append(round(out[-1] * (1 - min(2 * q, 0.9)), 3))
        lt["lx"][s] = out
        lt["e85"][s] = lt["e85"][s] * 0.6
    lt["name"] = "harsher test table"
    return lt


def _scenario(folder: Path, tables: dict, name: str = "city.yaml") -> Path:
    return _dump(folder / name, {"extends": "default", "name": "city", "tables": tables})


def test_higher_mortality_gives_fewer_retirees_and_lower_expenditure(tmp_path):
    _dump(tmp_path / "tables" / "harsh.yaml", _harsher_life_table())
    own = load_scenario(_scenario(tmp_path, {"life_table": "tables/harsh.yaml"}), years=15, paths=0)
    assert own.tables.life_table == str((tmp_path / "tables" / "harsh.yaml").resolve())
    default = load_scenario(None, years=15, paths=0)
    base = national_base()
    a, b = project(base, default, paths=0), project(base, own, paths=0)
    emp = base.employee
    # the same base year (both calibrated to the same ledger), then the harsher table loses more people
    # every year: fewer retirees, fewer insured, lower expenditure in every later year of every unit
    assert (b.retired[0][emp] < a.retired[0][emp]).all()
    assert (b.insured[0] < a.insured[0]).all()
    assert (b.expenditure[0, :, 1:] < a.expenditure[0, :, 1:]).all()
    assert b.retired[0][emp][:, -1].sum() < 0.9 * a.retired[0][emp][:, -1].sum()


def test_tables_are_inherited_through_extends_relative_to_the_file_that_names_them(tmp_path):
    _dump(tmp_path / "shared" / "tables" / "harsh.yaml", _harsher_life_table())
    _scenario(tmp_path / "shared", {"life_table": "tables/harsh.yaml"}, "province.yaml")
    child = _dump(tmp_path / "county" / "c.yaml", {"extends": "../shared/province.yaml", "name": "county"})
    s = load_scenario(child)
    assert Path(s.tables.life_table) == (tmp_path / "shared" / "tables" / "harsh.yaml").resolve()


def test_own_age_cost_curve_and_retirement_rules_change_the_run(tmp_path):
    curve = _shipped("age_cost_curve.yaml")
    for s in ("M", "F"):  # old age twice as dear: more expenditure as the population ages
        curve["relative"][s] = [v * (2 if AGES[i] >= 60 else 1) for i, v in enumerate(curve["relative"][s])]
    _dump(tmp_path / "curve.yaml", curve)
    ret = _shipped("retirement.yaml")
    for g in ret["groups"].values():  # everybody retires five years later, no delay
        g["base_age"] += 5
        g["target_age"] = g["base_age"]
    _dump(tmp_path / "ret.yaml", ret)
    s = load_scenario(_scenario(tmp_path, {"age_cost_curve": "curve.yaml", "retirement": "ret.yaml"}),
                      years=10, paths=0)
    d = load_scenario(None, years=10, paths=0)
    from mifund.projection.base import build_base, national_sample_frames

    f = national_sample_frames()
    own_base = build_base(f["fund_ledger"], population=f["population"], regions=f["regions"], tables=s.tables)
    base = national_base()
    assert not np.allclose(own_base.curve, base.curve)
    assert any("curve.yaml" in n for n in own_base.notes)
    a, b = project(base, d, paths=0), project(own_base, s, paths=0)
    emp = base.employee
    assert (b.retired[0][emp][:, -1] < a.retired[0][emp][:, -1]).all()    # later retirement: fewer retirees


def _bad_tables(tmp_path) -> list[tuple[str, Path, str]]:
    """(key, table file, words the error must hold) for each kind of bad table."""
    out = []
    lt = _shipped("life_table.yaml")
    lt["lx"]["M"][3] = lt["lx"]["M"][2] + 10
    out.append(("life_table", _dump(tmp_path / "rising.yaml", lt), "lx.M: survivors must decrease"))
    lt = _shipped("life_table.yaml")
    lt["survivors"] = lt.pop("lx")
    out.append(("life_table", _dump(tmp_path / "renamed.yaml", lt), "survivors: unknown key"))
    out.append(("life_table", tmp_path / "absent.yaml", "no such file"))
    c = _shipped("age_cost_curve.yaml")
    c["relative"]["F"][4] = -0.3
    out.append(("age_cost_curve", _dump(tmp_path / "negative.yaml", c), "relative.F: a relative cost must be positive; 20-24 = -0.3"))
    c = _shipped("age_cost_curve.yaml")
    c["relative"]["M"] = c["relative"]["M"][:10]
    out.append(("age_cost_curve", _dump(tmp_path / "short.yaml", c), "relative.M: needs 18 values"))
    r = _shipped("retirement.yaml")
    del r["groups"]["female_worker"]
    out.append(("retirement", _dump(tmp_path / "ret.yaml", r), "groups.female_worker: required key missing"))
    out.append(("age_structure", _dump(tmp_path / "list.yaml", [1, 2]), "top level must be a mapping"))  # type: ignore[arg-type]
    return out


def test_each_bad_table_is_a_clean_error_naming_scenario_key_and_file(tmp_path):
    for key, table, words in _bad_tables(tmp_path):
        scen = _scenario(tmp_path, {key: table.name})
        with pytest.raises(ScenarioError) as e:
            load_scenario(scen)
        msg = str(e.value)
        # file:line of the key in the scenario file, then the key and the table file
        assert re.match(rf"{re.escape(str(scen))}:\d+: tables\.{key}: {re.escape(str(table.resolve()))}", msg), msg
        assert words in msg, msg
        # the CLI: the same words, exit code 2, no traceback
        r = runner.invoke(app, ["run", "--sample", "national", "--scenario", str(scen), "--paths", "0"])
        assert r.exit_code == 2, r.output
        assert f"tables.{key}" in r.output and "Traceback" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)


def test_unknown_table_key_is_refused(tmp_path):
    scen = _scenario(tmp_path, {"life_tabel": "x.yaml"})
    with pytest.raises(ScenarioError, match=r"tables\.life_tabel: unknown key"):
        load_scenario(scen)
