"""The engine's plan: which window passes a parameter table lets it skip. Each skip is a closed form
that must equal the running computation (the Hypothesis test checks the results against the reference
for both kinds of policy); here, that the plan reads the parameter table right."""

from __future__ import annotations

from pathlib import Path

from mifund.policy import load_policies
from mifund.settlement.engine import cap_plan
from mifund.settlement.prepare import parameter_table
from settle_helpers import GOLDEN_POLICY, write_policy

ROOT = Path(__file__).resolve().parents[1]


def _plan(tmp_path, text):
    write_policy(tmp_path / "pol", text)
    return cap_plan(parameter_table(load_policies(tmp_path / "pol")))


def test_golden_policy_plan(tmp_path):
    plan = _plan(tmp_path, GOLDEN_POLICY)
    # the pooled cap rises on 2024-07-01: two values can meet in one person-year → running maximum
    assert plan["const"]["pcap"] is False
    # catastrophic cap and bands never change: closed forms
    assert plan["const"]["ccap"] is True and plan["cat_const"] is True
    # assistance has a cap (10,000) for extreme poverty: not "none"
    assert plan["assist"] is True and plan["none"]["a_cap"] is False
    assert plan["account"] is False


def test_a_change_on_1_january_keeps_caps_constant_within_the_year(tmp_path):
    text = GOLDEN_POLICY.replace("pooled_annual_cap: {values: {2024-01-01: 50000, 2024-07-01: 60000}}",
                                 "pooled_annual_cap: {values: {2024-01-01: 50000, 2025-01-01: 60000}}")
    assert _plan(tmp_path, text)["const"]["pcap"] is True
    # ... but not a catastrophic threshold that changes mid-year
    text2 = text.replace("  threshold: {values: {2024-01-01: 10000}}", "  threshold: {values: {2024-01-01: 10000, 2024-05-01: 9000}}")
    assert _plan(tmp_path / "b", text2)["cat_const"] is False


def test_shipped_policies_need_three_window_passes():
    """Nanchang and Jiamusi change values only on 1 January, and the employee account has no cap: the
    engine needs only its three inherent passes (admissions and outpatient deductible; basic-layer sums;
    the catastrophic base)."""
    plan = cap_plan(parameter_table(load_policies(ROOT / "policies")))
    assert all(plan["const"].values()), plan
    assert plan["cat_const"] and plan["none"]["acct_cap"], plan
