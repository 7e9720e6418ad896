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
