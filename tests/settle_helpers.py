"""Shared by the policy and settlement tests: a small test policy and claim builders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

# A made-up test region (990100 / county 990102); every figure is chosen for easy hand arithmetic.
GOLDEN_POLICY = """\
schema: mifund.policy/1
region_code: "990100"
scheme: resident
name: golden test policy
metadata:
  reference: [{title: test fixture}]
inpatient:
  deductible:
    level_1: {values: {2024-01-01: 100}}
    level_2: {values: {2024-01-01: 400}}
    level_3: {values: {2024-01-01: 1000, 2024-07-01: 800}}
  repeat_admission:
    from_admission: {values: {2024-01-01: 2}}
    deductible_factor: {values: {2024-01-01: 0.5}}
  ratio:
    default:
      level_1: {values: {2024-01-01: 0.90}}
      level_2: {values: {2024-01-01: 0.80}}
      level_3: {values: {2024-01-01: 0.70}}
    extreme_poverty: {values: {2024-01-01: 0.80}}
  bands:
    brackets:
      - {threshold: {values: {2024-01-01: 0}}, rate: {values: {2024-01-01: 0}}}
      - {threshold: {values: {2024-01-01: 20000}}, rate: {values: {2024-01-01: 0.05}}}
  cross_region_reduction: {values: {2024-01-01: 0.10}}
outpatient:
  deductible: {values: {2024-01-01: 200}}
  ratio: {default: {values: {2024-01-01: 0.5}}}
  annual_cap: {values: {2024-01-01: 1000}}
pooled_annual_cap: {values: {2024-01-01: 50000, 2024-07-01: 60000}}
catastrophic:
  threshold: {values: {2024-01-01: 10000}}
  scale:
    brackets:
      - {threshold: {values: {2024-01-01: 0}}, rate: {values: {2024-01-01: 0.6}}}
      - {threshold: {values: {2024-01-01: 20000}}, rate: {values: {2024-01-01: 0.7}}}
  annual_cap: {values: {2024-01-01: 100000}}
  special_groups:
    extreme_poverty:
      threshold: {values: {2024-01-01: 5000}}
      rate_increase: {values: {2024-01-01: 0.1}}
      annual_cap: {values: {2024-01-01: null}}
assistance:
  groups:
    extreme_poverty:
      ratio: {values: {2024-01-01: 0.7}}
      annual_cap: {values: {2024-01-01: 10000}}
"""


def write_policy(dirpath: Path, text: str = GOLDEN_POLICY, name: str = "990100_resident.yaml") -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / name
    p.write_text(text, encoding="utf-8")
    return p


def claim(cid, person, day, total, *, provider="L1", visit="inpatient", self_pay=0.0, copay=0.0, scope=None,
          cross=False, admit=None):
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dict(claim_id=cid, person_id=person, provider_id=provider, visit_type=visit, admit_date=admit or d,
                discharge_date=d, total_amount=float(total), self_pay_amount=float(self_pay),
                copay_first_amount=float(copay), policy_scope_amount=None if scope is None else float(scope),
                cross_region=cross)


def person(pid, year=2024, *, region="990102", scheme="resident", category="resident_adult", special=None, born=None):
    d = dict(person_id=pid, year=year, region_code=region, scheme=scheme, category=category, special_group=special)
    if born is not None:
        d["birth_date"] = dt.date.fromisoformat(born) if isinstance(born, str) else born
    return d


PROVIDERS = pd.DataFrame([dict(provider_id=f"L{k}", level=k) for k in (1, 2, 3)])


def source(claims: list[dict], persons: list[dict]) -> dict:
    cl = pd.DataFrame(claims)
    cl["policy_scope_amount"] = cl["policy_scope_amount"].astype("float64")
    en = pd.DataFrame(persons)
    if "birth_date" in en.columns:  # a person without one: NaT (unknown age), not NaN
        en["birth_date"] = pd.to_datetime(en["birth_date"]).dt.date
    return {"claims": cl, "enrollment": en, "providers": PROVIDERS}


def run_engine_and_reference(policies, claims: list[dict], persons: list[dict]) -> dict[str, dict[str, float]]:
    """Settle with the engine and the reference, insist they agree to the fen, return yuan per claim."""
    from mifund.settlement import settle_fen
    from mifund.settlement.reference import reference_inputs, settle_reference

    src = source(claims, persons)
    eng = settle_fen(src, policies).set_index("claim_id")
    ref = {r["claim_id"]: r for r in settle_reference(reference_inputs(src, policies), policies)}
    for cid, row in eng.iterrows():
        for col in eng.columns:
            assert int(row[col]) == ref[cid][col], (cid, col, int(row[col]), ref[cid][col])
    return {cid: {c: int(v) / 100 for c, v in row.items()} for cid, row in eng.iterrows()}
