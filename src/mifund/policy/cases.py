"""Run the YAML test cases written inside policy files (`tests:`), OpenFisca-style.

A policy file may end with worked examples that whoever writes the file computes from the document::

    tests:
      - name: level-3 admission of 20,000
        person: {category: resident_adult}            # region_code defaults to the file's, scheme too;
                                                        # birth_date where a rule depends on age
        claims:
          - {id: c1, date: 2018-03-10, level: 3, total: 20000}
          - {id: c2, date: 2018-05-01, level: 2, total: 30000, cross_region: true}
        expect:
          - {claim: c1, deductible_applied: 700, pooled_fund_paid: 12545}

Every case is settled by the real engine against the whole policy set (so a county file's cases run under
inheritance) and each expected figure must match to the fen. The cases live beside the figures they check,
so a change of a value that breaks a worked example fails `mifund policy test` and `make test`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from mifund.policy.load import PolicySet
from mifund.policy.schema import CATEGORIES, SPECIAL_GROUPS

OUTPUTS = ["deductible_applied", "pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid",
           "out_of_pocket"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CasePerson(_Strict):
    category: Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
    special_group: Literal[tuple(SPECIAL_GROUPS)] | None = None  # type: ignore[valid-type]
    region_code: str | None = None
    birth_date: dt.date | None = None  # for age-dependent rules; unknown when left out


class CaseClaim(_Strict):
    id: str
    date: dt.date
    visit: Literal["inpatient", "outpatient", "chronic_outpatient", "pharmacy"] = "inpatient"
    level: Literal[1, 2, 3] = 1
    total: Decimal
    self_pay: Decimal = Decimal(0)
    copay: Decimal = Decimal(0)
    policy_scope: Decimal | None = None
    cross_region: bool = False


class CaseExpect(_Strict):
    claim: str
    deductible_applied: Decimal | None = None
    pooled_fund_paid: Decimal | None = None
    catastrophic_paid: Decimal | None = None
    assistance_paid: Decimal | None = None
    account_paid: Decimal | None = None
    out_of_pocket: Decimal | None = None


@dataclass
class CaseResult:
    policy: str
    file: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _settle_case(policies: PolicySet, scheme: str, region: str, person: CasePerson,
                 claims: list[CaseClaim]) -> dict[str, dict[str, int]]:
    from mifund.settlement import settle_fen

    def yuan(x):
        return None if x is None else float(x)

    years = sorted({c.date.year for c in claims})
    src = {
        "claims": pd.DataFrame([{
            "claim_id": c.id, "person_id": "CASE", "provider_id": f"L{c.level}", "visit_type": c.visit,
            "admit_date": c.date, "discharge_date": c.date, "total_amount": float(c.total),
            "self_pay_amount": float(c.self_pay), "copay_first_amount": float(c.copay),
            "policy_scope_amount": yuan(c.policy_scope), "cross_region": c.cross_region} for c in claims]),
        "enrollment": pd.DataFrame([{
            "person_id": "CASE", "year": y, "region_code": person.region_code or region, "scheme": scheme,
            "category": person.category, "special_group": person.special_group,
            "birth_date": person.birth_date} for y in years]),
        "providers": pd.DataFrame([{"provider_id": f"L{k}", "level": k} for k in (1, 2, 3)]),
    }
    src["claims"]["policy_scope_amount"] = src["claims"]["policy_scope_amount"].astype("float64")
    df = settle_fen(src, policies)
    return {r["claim_id"]: {c: int(r[c]) for c in OUTPUTS} for r in df.to_dict("records")}


def _line(pol, loc: tuple) -> str:
    """'line N: ' of the deepest part of `loc` the policy's own file has (its cases are its own)."""
    while loc:
        hit = pol.origin.get(loc)
        if hit is not None and hit[0] == pol.files[-1]:
            return f"line {hit[1]}: "
        loc = loc[:-1]
    return ""


def run_policy_tests(policies: PolicySet) -> list[CaseResult]:
    """Every `tests:` case of every policy file in the set; one result per case."""
    results = []
    for pol in policies:
        for i, case in enumerate(pol.model.tests):
            res = CaseResult(pol.key, pol.files[-1], case.name or f"case {i + 1}")
            results.append(res)
            parts = [("person", None, CasePerson, case.person)]
            parts += [("claims", j, CaseClaim, c) for j, c in enumerate(case.claims)]
            parts += [("expect", j, CaseExpect, x) for j, x in enumerate(case.expect)]
            parsed: dict[str, list] = {"person": [], "claims": [], "expect": []}
            for part, j, model, raw in parts:
                try:
                    parsed[part].append(model.model_validate(raw))
                except ValidationError as e:
                    at = ("tests", i, part) + (() if j is None else (j,))
                    res.failures += [f"{_line(pol, at + tuple(err['loc']))}tests[{i}].{part}"
                                     f"{'' if j is None else f'[{j}]'}.{'.'.join(map(str, err['loc']))}: {err['msg']}"
                                     for err in e.errors()]
            if res.failures:
                continue
            person, claims, expects = parsed["person"][0], parsed["claims"], parsed["expect"]
            try:
                got = _settle_case(policies, pol.scheme, pol.region_code, person, claims)
            except Exception as e:  # noqa: BLE001 - a case that cannot settle is a failed case, named
                res.failures.append(f"could not settle: {e}")
                continue
            for j, ex in enumerate(expects):
                at = _line(pol, ("tests", i, "expect", j))
                if ex.claim not in got:
                    res.failures.append(f"{at}expect names claim {ex.claim!r}, which the case does not have")
                    continue
                for col in OUTPUTS:
                    want = getattr(ex, col)
                    if want is None:
                        continue
                    have = got[ex.claim][col]
                    if int((want * 100).to_integral_value()) != have:
                        res.failures.append(f"{at}{ex.claim}.{col}: expected {want}, settled {have / 100:.2f}")
    return results
