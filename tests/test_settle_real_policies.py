"""Hand-worked settlements under the real policies shipped in policies/ (not test fixtures).

Jiamusi 230800 resident scheme, 2018 (policies/230800_resident.yaml): inpatient deductible 300 / 400 /
700 by level, ratio 80 / 75 / 65 % (extreme poverty and low income +5 points); cross-region (in-province)
deductible 1,000 and a flat 60 %; outpatient pooling 50 %, 100 a year; pooled cap 80,000; catastrophic
above 10,000 at 50 %, cap 200,000 (special groups: above 5,000, no cap). Persons are insured in a county
(230881 同江市) that has no file of its own: the city's policy applies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mifund.policy import load_policies
from settle_helpers import claim, person, run_engine_and_reference

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def policies(tmp_path):
    d = tmp_path / "pol"
    d.mkdir()
    for f in (REPO / "policies").glob("*.yaml"):
        if f.name != "TEMPLATE.yaml":
            shutil.copy(f, d)
    return load_policies(d)


def _run(policies, claims, persons):
    return run_engine_and_reference(policies, claims, persons)


def jms(pid, **kw):
    return person(pid, year=2018, region="230881", **kw)


def test_jiamusi_inpatient_cross_region_catastrophic(policies):
    r = _run(policies, [
        claim("j1", "A", "2018-03-10", 20000, provider="L3"),
        claim("j2", "A", "2018-05-01", 30000, provider="L2", cross=True),
    ], [jms("A")])
    # j1: level 3, deductible 700; (20000 − 700) × 65 % = 12545; catastrophic base 7455 < 10000
    assert r["j1"]["deductible_applied"] == 700 and r["j1"]["pooled_fund_paid"] == 12545
    assert r["j1"]["catastrophic_paid"] == 0 and r["j1"]["out_of_pocket"] == 7455
    # j2: cross-region: deductible 1000 (not level 2's 400), flat 60 %: 29000 × 60 % = 17400
    assert r["j2"]["deductible_applied"] == 1000 and r["j2"]["pooled_fund_paid"] == 17400
    # catastrophic base 7455 + 12600 = 20055 → (20055 − 10000) × 50 % = 5027.50
    assert r["j2"]["catastrophic_paid"] == 5027.5
    assert r["j2"]["out_of_pocket"] == 30000 - 17400 - 5027.5


def test_jiamusi_special_group_tilt_outpatient_cap_and_pooled_cap(policies):
    r = _run(policies, [
        claim("l1", "L", "2018-02-01", 10000, provider="L1"),
        claim("o1", "O", "2018-02-01", 150, provider="L1", visit="outpatient"),
        claim("o2", "O", "2018-03-01", 150, provider="L1", visit="outpatient"),
        claim("p1", "P", "2018-01-10", 60000, provider="L3"),
        claim("p2", "P", "2018-04-10", 60000, provider="L3"),
        claim("p3", "P", "2018-08-10", 60000, provider="L3"),
    ], [jms("L", special="low_income"), jms("O"), jms("P")])
    # low income, level 1: deductible 300, 85 % × 9700 = 8245; catastrophic base 1455 < 5000 (halved)
    assert r["l1"]["pooled_fund_paid"] == 8245 and r["l1"]["catastrophic_paid"] == 0
    # outpatient pooling: 50 % of 150 = 75; then only 25 left under the 100-yuan annual cap
    assert r["o1"]["pooled_fund_paid"] == 75 and r["o2"]["pooled_fund_paid"] == 25
    # pooled cap 80000: 59300 × 65 % = 38545 twice (77090), then headroom 2910
    assert r["p1"]["pooled_fund_paid"] == 38545 and r["p2"]["pooled_fund_paid"] == 38545
    assert r["p3"]["pooled_fund_paid"] == 2910
    # catastrophic: base after p1 21455 → 5727.50; after p2 42910 → cum 16455, pays 10727.50;
    # p3 leaves 57090 → base 100000 → cum 45000, pays 45000 − 16455 = 28545
    assert r["p1"]["catastrophic_paid"] == 5727.5
    assert r["p2"]["catastrophic_paid"] == 10727.5
    assert r["p3"]["catastrophic_paid"] == 28545
