"""The outpatient mutual-aid figures of the account rules must equal the benefit policy's wherever both
are in force (mifund.accounts.consistency says why there are two copies)."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from mifund.accounts.cli import app
from mifund.accounts.consistency import check_against_policies
from mifund.accounts.rules import load_account_rules
from mifund.policy import load_policies

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "policies"
DEMO = ROOT / "src" / "mifund" / "demo" / "policies"


def test_shipped_account_rules_agree_with_the_benefit_policies():
    """Nanchang: 300 yuan a year, 65/60/55% (retirees +5 points), caps 2,000 / 3,000, in the real policy
    from 2025 and in the demo copy from 2015; the account rules' reform values from 2023."""
    rules = load_account_rules(region_code="360100")
    for d in (SHIPPED, DEMO):
        assert check_against_policies(rules, load_policies(d), "360102") == [], d


def _altered(tmp_path, old: str, new: str) -> Path:
    d = tmp_path / "pol"
    d.mkdir()
    text = (SHIPPED / "360100_employee.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (d / "360100_employee.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return d


def test_a_drifted_ratio_or_deductible_is_named(tmp_path):
    """The benefit policy raises the in-service level-1 ratio to 0.70 and the deductible to 400 from
    2025: both differences are named with the date, the keys and both files."""
    d = _altered(tmp_path, "level_1: {values: {2025-01-01: 0.65}}\n      level_2: {values: {2025-01-01: 0.60}}\n"
                           "      level_3: {values: {2025-01-01: 0.55}}\n    retired:",
                 "level_1: {values: {2025-01-01: 0.70}}\n      level_2: {values: {2025-01-01: 0.60}}\n"
                 "      level_3: {values: {2025-01-01: 0.55}}\n    retired:")
    (d / "360100_employee.yaml").write_text((d / "360100_employee.yaml").read_text(encoding="utf-8").replace(
        "deductible: {values: {2025-01-01: 300}", "deductible: {values: {2025-01-01: 400}"), encoding="utf-8")
    rules = load_account_rules(region_code="360100")
    problems = check_against_policies(rules, load_policies(d), "360100")
    text = "\n".join(problems)
    assert "rules.outpatient_mutual_aid.ratio.in_service.level_1 is 0.65 on 2025-01-01" in text
    assert "outpatient.ratio.in_service.level_1 is 0.7" in text
    assert "rules.outpatient_mutual_aid.deductible.in_service is 300 on 2025-01-01" in text
    assert "360100_accounts.yaml" in text and "360100_employee.yaml" in text
    assert "ratio.retired" not in text and "ratio.flexible" not in text  # unchanged figures are not named
    assert "annual_cap" not in text


def test_cli_refuses_to_simulate_on_drifted_figures(tmp_path):
    """Every accounts command stops (exit 2, no traceback) before simulating; the check runs before the
    warehouse is read, so any warehouse will do."""
    from accounts_helpers import hand_city
    from mifund.storage import Warehouse

    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh, wh.transaction():
        for name, df in hand_city().items():
            wh.append(name, df.assign(region_code="360102") if "region_code" in df else df)
    d = _altered(tmp_path, "retired: {values: {2025-01-01: 3000}", "retired: {values: {2025-01-01: 3500}")
    for cmd in ("simulate", "compare", "cover", "segments"):
        r = CliRunner().invoke(app, [cmd, "--db", str(db), "--policy", str(d)])
        assert r.exception is None or isinstance(r.exception, SystemExit), (cmd, r.exception)  # no traceback
        assert r.exit_code == 2, (cmd, r.output)
        assert "annual_cap.retired is 3000 on 2025-01-01" in " ".join(r.output.split()), r.output
    r = CliRunner().invoke(app, ["simulate", "--db", str(db), "--policy", str(SHIPPED), "--opening", "zero",
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    shutil.rmtree(d)
