"""`mifund policy compare`: bad input is a clear error (no traceback, non-zero exit, nothing written); a
date before every policy's first version says so instead of printing an empty table."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mifund.cli import app
from mifund.policy.compare import parse_amounts

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
POL = ["policy", "compare", "--policy", str(ROOT / "policies")]


def _run(*args):
    r = runner.invoke(app, [*POL, *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    return r


def test_a_date_before_any_version_is_an_error():
    # Nanchang resident from 2022, employee from 2025; Jiamusi from 2018
    r = _run("--date", "2017-01-01")
    assert r.exit_code == 1 and "No policy in force on 2017-01-01" in r.output, r.output
    assert "230800/resident: no version in force on 2017-01-01 (first version 2018-01-01)" in r.output


def test_policies_not_yet_in_force_are_named_and_left_out(tmp_path):
    out = tmp_path / "c.csv"
    r = _run("--date", "2020-06-01", "--amounts", "5000", "--format", "csv", "--output", str(out))
    assert r.exit_code == 0, r.output
    assert "360100/employee: no version in force on 2020-06-01" in r.output
    text = out.read_text(encoding="utf-8")
    assert "230800" in text and "360100" not in text


@pytest.mark.parametrize("args, message", [
    (["--amounts", "5k"], "'5k' is not an amount in yuan"),
    (["--amounts", "5000,-1"], "a bill is a positive amount"),
    (["--amounts", "5000.001"], "more than 2 decimals"),
    (["--date", "2024-13-01"], "'2024-13-01' is not a date"),
    (["--region", "360102"], "No policy file for region 360102"),
])
def test_bad_input_is_a_clean_error(tmp_path, args, message):
    out = tmp_path / "c.csv"
    r = _run(*args, "--format", "csv", "--output", str(out))
    assert r.exit_code != 0 and message in " ".join(r.output.split()), r.output
    assert not out.exists()


def test_a_wrong_plot_name_writes_nothing(tmp_path):
    out = tmp_path / "c.csv"
    r = _run("--date", "2025-06-01", "--format", "csv", "--output", str(out), "--plot", str(tmp_path / "x.png"))
    assert r.exit_code != 0 and not out.exists()


def test_parse_amounts():
    assert parse_amounts("5000, 20000.5") == [5000.0, 20000.5]


def test_money_below_1000_is_shown_to_the_fen():
    """Nanchang resident, level 1, a bill of 987.65: deductible 100, (987.65 − 100) × 90 % = 798.885 → 798.89
    (half up), out of pocket 987.65 − 798.89 = 188.76. The table used to show 987.6 and 188.8 (4 significant
    digits for columns without a money word) and the deductible as 100 beside money to the fen."""
    r = _run("--date", "2024-06-01", "--amounts", "987.65", "-r", "360100")
    assert r.exit_code == 0, r.output
    assert "987.65" in r.output and "188.76" in r.output and "798.89" in r.output and "100.00" in r.output
    assert "987.6 " not in r.output and "188.8 " not in r.output


def test_special_group_profiles(tmp_path):
    """Jiamusi's resident inpatients in extreme poverty get 5 points more: level 1 (deductible 300),
    (20000 − 300) × 85 % = 16,745 against 80 % = 15,760 with no group."""
    out = tmp_path / "c.csv"
    r = _run("--date", "2025-06-01", "--amounts", "20000", "-r", "230800", "--special-group", "extreme_poverty",
             "--special-group", "none", "-f", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    import pandas as pd

    df = pd.read_csv(out)
    lvl1 = df[(df.category == "resident_adult") & (df.provider_level == 1)].set_index("special_group")
    assert lvl1.loc["extreme_poverty", "pooled_fund_paid"] == 16745.0
    assert lvl1.loc["none", "pooled_fund_paid"] == 15760.0
    assert "--special-group" in runner.invoke(app, ["policy", "compare", "--help"]).output
    bad = _run("--special-group", "poor")
    assert bad.exit_code == 2 and "not a special group" in bad.output


def test_region_includes_its_counties(tmp_path):
    """`-r 360100` is the city's subtree: a county's own policy file (360121, level-2 deductible 300 from
    2024-07-01) is compared too; `-r 360000` (the province) covers both."""
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "360100_resident.yaml").write_text((ROOT / "policies" / "360100_resident.yaml").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    (pol / "360121_resident.yaml").write_text(
        'schema: mifund.policy/1\nregion_code: "360121"\nscheme: resident\nname: county\ninherits: "360100"\n'
        "metadata: {reference: [{title: county document}]}\n"
        "inpatient:\n  deductible:\n    level_2: {values: {2024-07-01: 300}}\n", encoding="utf-8")
    for reg in ("360100", "360000"):
        out = tmp_path / f"{reg}.csv"
        r = runner.invoke(app, ["policy", "compare", "--policy", str(pol), "--date", "2024-08-01", "--amounts", "5000",
                                "-r", reg, "-f", "csv", "-o", str(out)])
        assert r.exit_code == 0, r.output
        text = out.read_text(encoding="utf-8")
        # level 2 in the county: (5000 − 300) × 80 % = 3,760
        assert "360100,resident" in text and "360121,resident,resident_adult,2,5000.0,300.0,3760.0" in text
