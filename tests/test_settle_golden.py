"""Hand-worked settlements under tests/settle_helpers.GOLDEN_POLICY (arithmetic beside each figure).

Policy in short: inpatient deductible 100 / 400 / 1000 by level (level 3: 800 from 2024-07-01), half
from the 2nd admission; ratio 90 / 80 / 70 % (extreme poverty 80 %), +5 points on the part of the
eligible amount above 20,000; cross-region −10 points. Outpatient: 200 a year, 50 %, cap 1,000.
Pooled cap 50,000 (60,000 from 2024-07-01). Catastrophic above 10,000: 60 %, 70 % above 30,000; cap
100,000; extreme poverty: above 5,000, +10 points, no cap. Assistance (extreme poverty) 70 %, cap 10,000.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from mifund.policy import load_policies
from mifund.settlement import SettlementError, person_year_totals, settle, settle_fen
from settle_helpers import claim, person, run_engine_and_reference, source, write_policy


@pytest.fixture
def policies(tmp_path):
    write_policy(tmp_path / "pol")
    return load_policies(tmp_path / "pol")


def _run(policies, claims, persons):
    return run_engine_and_reference(policies, claims, persons)


def test_deductible_band_and_catastrophic_threshold_crossed_mid_year(policies):
    r = _run(policies, [
        claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
        claim("a2", "A", "2024-05-10", 10000, provider="L1"),
    ], [person("A")])
    a1, a2 = r["a1"], r["a2"]
    # a1: P = 32000 − 1000 − 1000 = 30000; deductible 1000 (level 3); eligible 29000:
    #     20000 × 70 % = 14000, 9000 × 75 % = 6750 → pooled 20750
    assert a1["deductible_applied"] == 1000 and a1["pooled_fund_paid"] == 20750
    # catastrophic base 30000 − 20750 = 9250 < 10000: nothing
    assert a1["catastrophic_paid"] == 0 and a1["out_of_pocket"] == 32000 - 20750
    # a2: 2nd admission, deductible 100 × 0.5 = 50; 9950 × 90 % = 8955
    assert a2["deductible_applied"] == 50 and a2["pooled_fund_paid"] == 8955
    # catastrophic base: 9250 + (10000 − 8955 = 1045) = 10295 → (10295 − 10000) × 60 % = 177
    assert a2["catastrophic_paid"] == 177
    assert a2["out_of_pocket"] == 10000 - 8955 - 177  # 868


def test_cap_reached_mid_claim_and_mid_year_policy_change_carries_counters(policies):
    r = _run(policies, [
        claim("b1", "B", "2024-02-01", 50000),
        claim("b2", "B", "2024-03-01", 10000),
        claim("b3", "B", "2024-08-01", 5000),
    ], [person("B")])
    # b1: deductible 100; eligible 49900: 20000 × 90 % = 18000 + 29900 × 95 % = 28405 → 46405
    assert r["b1"]["pooled_fund_paid"] == 46405
    # b2: 2nd admission: deductible 50; 9950 × 90 % = 8955 but only 50000 − 46405 = 3595 left of the cap
    assert r["b2"]["deductible_applied"] == 50 and r["b2"]["pooled_fund_paid"] == 3595
    # catastrophic base 3595 + (10000 − 3595) = 10000: exactly the threshold, nothing yet
    assert r["b2"]["catastrophic_paid"] == 0
    # b3 under the 2024-07-01 version: cap 60000, so 10000 of headroom; the admission counter carries:
    # 3rd admission → deductible 50; 4950 × 90 % = 4455
    assert r["b3"]["deductible_applied"] == 50 and r["b3"]["pooled_fund_paid"] == 4455
    # catastrophic base 10000 + 545 → 545 × 60 % = 327
    assert r["b3"]["catastrophic_paid"] == 327


def test_outpatient_cap_then_admission_shares_the_pooled_cap(policies):
    """The pooled fund's cap counts what the outpatient layer paid after its own cap, not before it.
    (An engine that took the outpatient cumulative uncapped on the inpatient row paid 48,500 here.)"""
    r = _run(policies, [
        claim("o1", "D", "2024-02-01", 3200, visit="outpatient"),
        claim("d2", "D", "2024-03-01", 60000),
    ], [person("D")])
    # o1: annual deductible 200; 3000 × 50 % = 1500, but the outpatient cap is 1000
    assert r["o1"]["deductible_applied"] == 200 and r["o1"]["pooled_fund_paid"] == 1000
    # d2: deductible 100; eligible 59900: 20000 × 90 % = 18000 + 39900 × 95 % = 37905 → 55905,
    #     but the pooled cap 50000 has 50000 − 1000 = 49000 left
    assert r["d2"]["deductible_applied"] == 100 and r["d2"]["pooled_fund_paid"] == 49000
    # catastrophic (inpatient): base 60000 − 49000 = 11000 → (11000 − 10000) × 60 % = 600
    assert r["d2"]["catastrophic_paid"] == 600 and r["d2"]["out_of_pocket"] == 10400


def test_special_group_through_all_three_layers(policies):
    r = _run(policies, [claim("c1", "C", "2024-04-01", 42000, provider="L2", self_pay=2000)],
             [person("C", special="extreme_poverty")])
    c = r["c1"]
    # P = 40000; deductible 400 (level 2); eligible 39600 at the group's 80 %:
    # 20000 × 80 % = 16000 + 19600 × 85 % = 16660 → 32660
    assert c["deductible_applied"] == 400 and c["pooled_fund_paid"] == 32660
    # catastrophic: base 40000 − 32660 = 7340, group threshold 5000: 2340 × (60 + 10) % = 1638
    assert c["catastrophic_paid"] == 1638
    # assistance: 70 % of what is left, 40000 − 32660 − 1638 = 5702 → 3991.40
    assert c["assistance_paid"] == 3991.40
    assert round(c["out_of_pocket"], 2) == 3710.60  # 42000 − 32660 − 1638 − 3991.40 (incl. the 2000 self-paid)


def test_round_half_up_per_layer(policies):
    # level 1 inpatient of 100.05: deductible 100, eligible 0.05 × 90 % = 0.045 → 0.05 (half up); the rest
    # is out of pocket
    r = _run(policies, [claim("h1", "H", "2024-03-01", 100.05)], [person("H")])
    assert r["h1"]["pooled_fund_paid"] == 0.05 and round(r["h1"]["out_of_pocket"], 2) == 100.00


def test_catastrophic_rounds_the_cumulative_benefit_not_each_claim(policies):
    # The catastrophic benefit is defined on the year's cumulative base, so the cumulative benefit is
    # rounded and a claim pays rounded-after − rounded-before: no fen of drift per claim.
    r = _run(policies, [
        claim("k0", "K", "2024-01-10", 60000, provider="L1"),
        *[claim(f"k{i}", "K", f"2024-0{i + 1}-10", 0.01, provider="L1") for i in (1, 2, 3)],
    ], [person("K")])
    # k0: deductible 100; 20000 × 90 % + 39900 × 95 % = 55905, above the pooled cap 50000 → 50000;
    #     catastrophic base 60000 − 50000 = 10000: exactly the threshold, nothing yet
    assert r["k0"]["pooled_fund_paid"] == 50000 and r["k0"]["catastrophic_paid"] == 0
    # k1–k3: 0.01 each, all deductible (0.01 < 50), the pooled cap is spent: the base grows 0.01 a claim.
    # Cumulative benefit 60 % × 0.01 = 0.006 → 0.01; × 0.02 = 0.012 → 0.01; × 0.03 = 0.018 → 0.02,
    # so the claims pay 0.01, 0, 0.01 (rounding each claim would pay 0.01 three times: 0.03 for 0.018)
    assert [r[f"k{i}"]["catastrophic_paid"] for i in (1, 2, 3)] == [0.01, 0, 0.01]
    assert [r[f"k{i}"]["out_of_pocket"] for i in (1, 2, 3)] == [0, 0.01, 0]


def test_outpatient_annual_deductible_and_cap_and_cross_region(policies):
    r = _run(policies, [
        claim("o1", "D", "2024-01-05", 150, visit="outpatient"),
        claim("o2", "D", "2024-01-06", 300, visit="outpatient"),
        claim("o3", "D", "2024-02-01", 2500, visit="outpatient"),
        claim("x1", "D", "2024-03-01", 10000, provider="L3", cross=True),
    ], [person("D")])
    # annual deductible 200: 150 used by o1, the remaining 50 by o2; o2 pays (300 − 50) × 50 % = 125
    assert (r["o1"]["deductible_applied"], r["o1"]["pooled_fund_paid"]) == (150, 0)
    assert (r["o2"]["deductible_applied"], r["o2"]["pooled_fund_paid"]) == (50, 125)
    # o3: 2500 × 50 % = 1250, but the outpatient cap 1000 leaves 875
    assert r["o3"]["pooled_fund_paid"] == 875
    # x1: cross-region, level 3: (10000 − 1000) × (70 − 10) % = 5400
    assert r["x1"]["pooled_fund_paid"] == 5400


def test_outputs_are_exact_decimals_and_person_year_totals(policies):
    src = source([claim("a1", "A", "2024-03-10", 32000.01, provider="L3")], [person("A")])
    t = settle(src, policies, detail=True)
    row = t.to_pylist()[0]
    parts = sum(row[c] for c in ("pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid",
                                 "out_of_pocket"))
    assert parts == Decimal("32000.01") and isinstance(row["out_of_pocket"], Decimal)
    tot = person_year_totals(t).to_pylist()
    assert tot[0]["claims"] == 1 and tot[0]["total_amount"] == Decimal("32000.01")


@pytest.mark.parametrize("bad, message", [
    (dict(total=-5), "negative amount"),
    (dict(total=100, self_pay=80, copay=30), "exceed total_amount"),
    (dict(provider="NOPE"), "unknown provider NOPE"),
    (dict(person="Z"), "person Z not enrolled in 2024"),
    (dict(day="2023-06-01"), "not enrolled in 2023"),
])
def test_bad_claims_are_named(policies, bad, message):
    kw = dict(total=1000, provider="L1", person="A", day="2024-03-01")
    kw.update(bad)
    c = claim("bad1", kw.pop("person"), kw.pop("day"), kw.pop("total"), **kw)
    with pytest.raises(SettlementError, match=message) as e:
        settle_fen(source([c], [person("A")]), policies)
    assert "claim bad1" in str(e.value)


def test_discharge_before_admission(policies):
    import datetime as dt

    c = claim("d1", "A", "2024-03-01", 100, admit=dt.date(2024, 3, 5))
    with pytest.raises(SettlementError, match="discharge_date before admit_date"):
        settle_fen(source([c], [person("A")]), policies)


def test_a_claim_id_given_twice_is_refused(policies):
    """Settled twice, a claim would pay twice and count two admissions: the input is refused, naming it."""
    cl = [claim("r1", "A", "2024-03-01", 100), claim("r2", "A", "2024-03-02", 100), claim("r1", "A", "2024-04-01", 50)]
    with pytest.raises(SettlementError, match="claim r1: claim_id given 2 times") as e:
        settle_fen(source(cl, [person("A")]), policies)
    assert "r2" not in str(e.value)


def test_duplicate_enrolment_settles_each_claim_once():
    """A person enrolled in two regions in one year (planted in the demo data) is settled once, under
    the employee enrolment (employee before resident, then the lowest region code)."""
    import pandas as pd

    from mifund.policy import default_policy_dir, load_policies
    from mifund.settlement import settle_fen

    enrollment = pd.DataFrame({"person_id": ["p1", "p1"], "year": [2025, 2025], "region_code": ["360102", "360103"],
                               "scheme": ["resident", "employee"], "category": ["resident_adult", "in_service"],
                               "special_group": ["none", "none"]})
    providers = pd.DataFrame({"provider_id": ["H1"], "level": [3]})
    claims = pd.DataFrame({"claim_id": ["c1"], "person_id": ["p1"], "provider_id": ["H1"], "visit_type": ["inpatient"],
                           "admit_date": [pd.Timestamp("2025-03-01")], "discharge_date": [pd.Timestamp("2025-03-05")],
                           "total_amount": [10800.0], "self_pay_amount": [0.0], "copay_first_amount": [0.0]})
    out = settle_fen({"claims": claims, "enrollment": enrollment, "providers": providers},
                     load_policies(default_policy_dir()))
    assert len(out) == 1
    # employee, level 3 (洪医保发〔2025〕27号): (10,800 − 800) × 85% = 8,500.00 yuan = 850,000 fen
    assert out.pooled_fund_paid.iloc[0] == 850_000
