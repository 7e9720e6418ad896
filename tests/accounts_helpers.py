"""Shared test data for the account tests: a small rules file with round numbers and a hand-made city."""

from __future__ import annotations

import datetime as dt

import pandas as pd

RULES_YAML = """
schema: mifund.accounts/1
region_code: "990100"
name: test city accounts
transition_date: 2022-01-01
metadata:
  reference: [{title: 国办发〔2021〕14号, href: https://www.gov.cn/zhengce/content/2021-04/22/content_5601280.htm}]
levels:
  average_pension: {values: {2020-01-01: 3000}, metadata: {unit: yuan}}
  resident_contribution: {values: {2020-01-01: 400}, metadata: {unit: yuan}}
rules:
  crediting:
    in_service:
      from_employee: {values: {2015-01-01: 0.02}}
      from_employer:
        bands:
          - {from_age: 0, value: {values: {2015-01-01: 0.008, 2022-01-01: 0}}}
          - {from_age: 45, value: {values: {2015-01-01: 0.012, 2022-01-01: 0}}}
    retired:
      fixed_amount: {values: {2015-01-01: 0, 2022-01-01: 60}}
      pension_share:
        bands:
          - {from_age: 0, value: {values: {2015-01-01: 0.04, 2022-01-01: 0}}}
          - {from_age: 70, value: {values: {2015-01-01: 0.05, 2022-01-01: 0}}}
  uses:
    outpatient: {values: {2015-01-01: true}}
    pharmacy: {values: {2015-01-01: true}}
    chronic_outpatient: {values: {2015-01-01: true}}
    inpatient: {values: {2015-01-01: true}}
    self_pay: {values: {2015-01-01: false}}
    family_members: {values: {2015-01-01: false, 2022-01-01: true}}
    family_resident_contributions: {values: {2015-01-01: false, 2022-01-01: true}}
    commercial_premiums: {values: {2015-01-01: false, 2022-01-01: true}}
  outpatient_mutual_aid:
    visit_types: [outpatient, pharmacy]
    deductible: {values: {2015-01-01: 0, 2022-01-01: 300}}
    ratio:
      in_service: {values: {2015-01-01: 0, 2022-01-01: 0.6}}
      retired: {values: {2015-01-01: 0, 2022-01-01: 0.7}}
    annual_cap:
      in_service: {values: {2015-01-01: 0, 2022-01-01: 2000}}
      retired: {values: {2015-01-01: 0, 2022-01-01: 3000}}
"""


def write_rules(tmp_path):
    p = tmp_path / "990100_accounts.yaml"
    p.write_text(RULES_YAML, encoding="utf-8")
    return p


def hand_city() -> dict[str, pd.DataFrame]:
    """A: in-service, 50, wage 5,000, three claims; B: A's resident spouse, one outpatient claim;
    C: retiree aged 72, no claims, no family."""
    d = dt.date
    enrollment = pd.DataFrame([
        dict(person_id="A", year=2024, region_code="990101", scheme="employee", category="in_service",
             special_group="none", sex="M", birth_date=d(1974, 5, 1), family_id="F1", wage_base=5000.0),
        dict(person_id="B", year=2024, region_code="990101", scheme="resident", category="resident_adult",
             special_group="none", sex="F", birth_date=d(1976, 3, 1), family_id="F1", wage_base=None),
        dict(person_id="C", year=2024, region_code="990101", scheme="employee", category="retired",
             special_group="none", sex="F", birth_date=d(1952, 1, 1), family_id=None, wage_base=None),
    ])
    claims = pd.DataFrame([
        dict(claim_id="a1", person_id="A", provider_id="P3", visit_type="outpatient", admit_date=d(2024, 2, 10),
             discharge_date=d(2024, 2, 10), total_amount=500.0, self_pay_amount=0.0, copay_first_amount=0.0,
             policy_scope_amount=500.0),
        dict(claim_id="a2", person_id="A", provider_id="P3", visit_type="pharmacy", admit_date=d(2024, 3, 5),
             discharge_date=d(2024, 3, 5), total_amount=400.0, self_pay_amount=0.0, copay_first_amount=0.0,
             policy_scope_amount=400.0),
        dict(claim_id="a3", person_id="A", provider_id="P3", visit_type="inpatient", admit_date=d(2024, 6, 10),
             discharge_date=d(2024, 6, 20), total_amount=10000.0, self_pay_amount=1000.0,
             copay_first_amount=500.0, policy_scope_amount=8500.0),
        dict(claim_id="b1", person_id="B", provider_id="P3", visit_type="outpatient", admit_date=d(2024, 9, 1),
             discharge_date=d(2024, 9, 1), total_amount=300.0, self_pay_amount=0.0, copay_first_amount=0.0,
             policy_scope_amount=300.0),
    ])
    settlement = pd.DataFrame({
        "claim_id": ["a1", "a2", "a3", "b1"],
        "pooled_fund_paid": [0.0, 0.0, 7000.0, 100.0],  # a1/a2: recomputed by the mutual-aid rules
        "catastrophic_paid": [0.0] * 4, "assistance_paid": [0.0] * 4,
    })
    providers = pd.DataFrame({"provider_id": ["P3"], "level": [3]})
    return {"enrollment": enrollment, "claims": claims, "settlement": settlement, "providers": providers}
