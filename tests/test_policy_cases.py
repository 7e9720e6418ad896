"""The worked examples inside policy files (`tests:`) settle as written; a wrong one fails, named."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from mifund.cli import app
from mifund.policy import load_policies
from mifund.policy.cases import run_policy_tests

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_policy_cases_pass():
    results = run_policy_tests(load_policies(ROOT / "policies"))
    assert len(results) >= 6
    assert {r.policy for r in results} >= {"230800/resident", "360100/resident", "360100/employee"}
    assert [(r.name, r.failures) for r in results if not r.passed] == []


def _line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def _copy(tmp_path, edit):
    d = tmp_path / "pol"
    shutil.copytree(ROOT / "policies", d)
    (d / "TEMPLATE.yaml").unlink()
    f = d / "230800_resident.yaml"
    f.write_text(edit(f.read_text(encoding="utf-8")), encoding="utf-8")
    return d


def test_wrong_expectation_fails_naming_claim_and_figure(tmp_path):
    d = _copy(tmp_path, lambda s: s.replace("pooled_fund_paid: 12545", "pooled_fund_paid: 12546"))
    bad = [r for r in run_policy_tests(load_policies(d)) if not r.passed]
    assert len(bad) == 1 and bad[0].policy == "230800/resident"
    line = _line_of(d / "230800_resident.yaml", "pooled_fund_paid: 12546")
    assert bad[0].failures == [f"line {line}: c1.pooled_fund_paid: expected 12546, settled 12545.00"]


def test_unknown_key_in_a_case_is_reported(tmp_path):
    d = _copy(tmp_path, lambda s: s.replace("{id: c1, date: 2018-06-01,", "{id: c1, dat: 2018-06-01,"))
    bad = [r for r in run_policy_tests(load_policies(d)) if not r.passed]
    line = _line_of(d / "230800_resident.yaml", "dat: 2018-06-01")
    assert len(bad) == 1 and any(f.startswith(f"line {line}: tests[1].claims[0].dat") for f in bad[0].failures), bad


def test_cli_policy_test(tmp_path):
    r = CliRunner().invoke(app, ["policy", "test", str(ROOT / "policies")])
    assert r.exit_code == 0, r.output
    assert "7 passed" in r.output or "passed" in r.output
    d = _copy(tmp_path, lambda s: s.replace("pooled_fund_paid: 12545", "pooled_fund_paid: 1"))
    r = CliRunner().invoke(app, ["policy", "test", str(d)])
    assert r.exit_code == 1 and "c1.pooled_fund_paid" in r.output
