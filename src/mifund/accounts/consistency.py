"""The outpatient mutual-aid figures kept twice: in the account rules and in the benefit policy.

Why two copies. The benefit policy (``policies/<city>_employee.yaml``, section ``outpatient``) says what
the pooled fund pays today, dated from the document that set it (洪医保发〔2025〕27号: from 2025). The
account simulator needs more than that: the same benefit *before* the reform (none: ratio 0) for the old
regime, and the reform's values from the account rules' ``transition_date`` (2023 in the demo), years the
benefit policy does not cover. Reading the benefit policy would leave both regimes without figures for
those dates, so the account rules hold their own dated copy, and this check keeps the copies equal
wherever both are in force (on and after the transition date): it runs on every ``mifund accounts``
command against the benefit policies (``--policy``) and in the tests against the shipped files.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mifund.accounts.rules import ACCOUNT_CATEGORIES, AccountRules
from mifund.policy.schema import LEVELS, Param, category_param, level_param


def _dates(*params: Param | None) -> set[dt.date]:
    return {d for p in params if p is not None for d in p.values}


def _at(p: Param | None, day: dt.date) -> Decimal | None | str:
    """The value in force, None for 'no limit', or 'absent' (no value yet / no such key)."""
    if p is None:
        return "absent"
    try:
        return p.at(day)
    except KeyError:
        return "absent"


def mutual_aid_disagreements(rules: AccountRules, policy) -> list[str]:
    """Every date (from the transition date on), category and level where the account rules'
    ``outpatient_mutual_aid`` and the benefit policy's ``outpatient`` section are both in force and give
    a different deductible, ratio or annual cap. Empty: they agree (or the policy has no outpatient
    benefit to compare with)."""
    out_rules = policy.model.outpatient
    if out_rules is None:
        return []
    ma = rules.model.rules.outpatient_mutual_aid
    where = policy.files[-1] if policy.files else policy.key
    problems: list[str] = []
    for cat in ACCOUNT_CATEGORIES:
        a_ratio = ma.ratio.get(cat, ma.ratio.get("default"))
        b_ratio = out_rules.ratio.get(cat, out_rules.ratio.get("default"))
        for level in LEVELS:
            pairs = {
                "deductible": (category_param(ma.deductible, cat, None), level_param(out_rules.deductible, level),
                               f"deductible.{cat}", "deductible" if isinstance(out_rules.deductible, Param)
                               else f"deductible.level_{level}"),
                "ratio": (level_param(a_ratio, level) if a_ratio is not None else None,
                          level_param(b_ratio, level) if b_ratio is not None else None,
                          f"ratio.{cat}.level_{level}", f"ratio.{cat}.level_{level}"),
                "annual_cap": (category_param(ma.annual_cap, cat, None),
                               category_param(out_rules.annual_cap, cat, None),
                               f"annual_cap.{cat}", f"annual_cap.{cat}"),
            }
            for a, b, a_key, b_key in pairs.values():
                days = sorted(d for d in _dates(a, b) | {rules.transition_date} if d >= rules.transition_date)
                for day in days:
                    va, vb = _at(a, day), _at(b, day)
                    if va == "absent" or vb == "absent" or va == vb:
                        continue
                    msg = (f"{rules.file}: rules.outpatient_mutual_aid.{a_key} is {va} on {day}, but the benefit "
                           f"policy {where}: outpatient.{b_key} is {vb}")
                    if msg not in problems:
                        problems.append(msg)
    return problems


def check_against_policies(rules: AccountRules, policies, region_code: str) -> list[str]:
    """Disagreements with the employee benefit policy of `region_code` (its city's where the county has
    none) in a PolicySet; empty where the set has no such policy."""
    policy = policies.policy_for(region_code, "employee")
    return [] if policy is None else mutual_aid_disagreements(rules, policy)
