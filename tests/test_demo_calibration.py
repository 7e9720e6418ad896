"""The small demo municipality meets the calibration targets (mifund.demo.calibration.TARGETS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mifund.demo import calibration as K
from mifund.demo import generate


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo_calibration") / "small"
    generate("small", seed=7, out_dir=d)
    return d


@pytest.fixture(scope="module")
def measured(demo_dir):
    c = pd.read_parquet(demo_dir / "claims.parquet")
    e = pd.read_parquet(demo_dir / "enrollment.parquet").drop_duplicates("person_id")
    p = pd.read_csv(demo_dir / "providers.csv", dtype={"region_code": str})
    led = pd.read_csv(demo_dir / "fund_ledger.csv", dtype={"region_code": str})
    c = c.merge(p[["provider_id", "level"]], on="provider_id").merge(e[["person_id", "scheme"]], on="person_id")
    for col in ("total_amount", "self_pay_amount", "copay_first_amount"):
        c[col] = c[col].astype(float)
    n = len(e)
    out = {}
    for y in (2024, 2021):
        r = led[(led.scheme == "resident") & (led.year == y)]
        out[f"resident_financing_per_person_{y}"] = (r.income_individual + r.income_fiscal_subsidy).sum() / r.insured.sum()
    ep = led[(led.scheme == "employee") & (led.fund == "pooled") & (led.year == K.LATEST_YEAR)]
    out["employee_support_ratio_city_2024"] = ep.insured_in_service.sum() / ep.insured_retired.sum()
    ea = led[(led.scheme == "employee") & (led.year == K.LATEST_YEAR)]
    wage = e.wage_base.astype(float)
    out["employer_rate"] = ea.income_employer.sum() / (12 * wage[e.category == "in_service"].sum())
    acc = ea[ea.fund == "account"]
    out["employee_rate"] = acc.income_individual.sum() / (12 * wage[e.category.isin(["in_service", "flexible"])].sum())
    age = K.LATEST_YEAR - pd.to_datetime(e.birth_date).dt.year
    out["share_60_city"] = (age >= 60).mean()
    inp = c[c.visit_type == "inpatient"]
    out["admissions_per_insured"] = len(inp) / n
    for lv in (1, 2, 3):
        out[f"cost_per_admission_level{lv}"] = inp[inp.level == lv].total_amount.mean()
    out["outpatient_visits_per_insured"] = (c.visit_type == "outpatient").sum() / n
    ri = led[(led.scheme == "resident") & (led.year == K.LATEST_YEAR)]
    rc = inp[inp.scheme == "resident"]
    scope = (rc.total_amount - rc.self_pay_amount - rc.copay_first_amount).sum()
    out["resident_inpatient_fund_share_of_scope"] = ri.expenditure_inpatient.sum() / scope
    month = pd.to_datetime(c.discharge_date).dt.month
    per_day = month.value_counts().sort_index().to_numpy() / np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    out["winter_to_summer_claims_per_day"] = (per_day[0] + per_day[11]) / (per_day[6] + per_day[7])
    out["_ages"] = (e.assign(age=age))
    out["_ledger"] = led
    return out


@pytest.mark.parametrize("target", K.TARGETS, ids=lambda t: t.name)
def test_target(measured, target):
    assert measured[target.name] == pytest.approx(target.value, abs=target.tolerance), target.source


def test_counties_differ_in_ageing_and_support(measured):
    e = measured["_ages"]
    led = measured["_ledger"]
    ep = led[(led.scheme == "employee") & (led.fund == "pooled") & (led.year == K.LATEST_YEAR)].set_index("region_code")
    for c in K.COUNTIES:
        share = (e[e.region_code == c.code].age >= 60).mean()
        assert share == pytest.approx(c.share_60, abs=0.04), c.name
        ratio = ep.loc[c.code].insured_in_service / ep.loc[c.code].insured_retired
        assert ratio == pytest.approx(c.support, rel=0.35), c.name
    ratios = ep.insured_in_service / ep.insured_retired
    assert ratios.max() / ratios.min() > 2  # old industrial and rural counties far below the young CBD
