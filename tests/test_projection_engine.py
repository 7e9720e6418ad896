"""The cohort projection engine: a closed-form case by hand, the slow reference, seeds, demography."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mifund.projection.base import build_base
from mifund.projection.engine import Base, project, roll_cohorts
from mifund.projection.reference import per_path_loop, reference_project
from mifund.projection.scenario import load_scenario, scenario_from_dict
from mifund.projection.tables import N_BANDS, retirement_ages, retirement_fractions


def _base(units, insured_total=1000.0, expenditure=100.0, contributions=100.0, balance=50.0, year=2024):
    u = len(units)
    ins = np.zeros((u, 2, N_BANDS, 2))
    ins[:, 0, 8, :] = insured_total / 2  # everyone in band 40-44
    for i, (_, scheme) in enumerate(units):
        if scheme == "employee":
            ins[i, 1, 13, :] = insured_total / 4
    return Base(units=pd.DataFrame({"region_code": [r for r, _ in units], "region_name": "",
                                    "scheme": [s for _, s in units], "fund": "pooled"}),
                base_year=year, insured=ins, expenditure=np.full(u, expenditure),
                contributions=np.full(u, contributions), balance=np.full(u, balance),
                curve=np.ones((u, N_BANDS, 2)))


def _closed_form_scenario():
    return scenario_from_dict({
        "extends": "default", "name": "closed form", "paths": 0, "years": 7,
        "assumptions": {
            "wage_growth": {"mean": 0.0, "sd": 0.0, "source": "test"},
            "medical_inflation": {"mean": 0.06, "sd": 0.0, "source": "test"},
            "utilisation_trend": {"mean": 0.0, "sd": 0.0, "source": "test"},
            "enrolment_change": {"resident": {"mean": 0.0, "sd": 0.0, "source": "test"},
                                 "employee": {"mean": 0.0, "sd": 0.0, "source": "test"}},
            "interest_rate": {"value": 0.03, "source": "test"},
        },
        "levers": {
            "resident_individual": {"values": {2024: 100}, "source": "test"},
            "resident_fiscal": {"values": {2024: 0}, "source": "test"},
            "financing_growth": {"values": {2025: 0.02}, "source": "test"},
        },
    })


def test_closed_form_balance_and_depletion_year():
    """Constant rates, no ageing (cohorts held constant): income 100 growing 2 %, expenditure 100 growing
    6 %, opening balance 50 earning 3 %. By hand, B(t) = 1.03 B(t-1) + 100 * 1.02^t - 100 * 1.06^t:
      B1 = 50 * 1.03 + 102 - 106                 = 47.5
      B2 = 47.5 * 1.03 + 104.04 - 112.36         = 40.605
      B3 = 40.605 * 1.03 + 106.1208 - 119.1016   = 28.84235
      B4 = 28.84235 * 1.03 + 108.243216 - 126.247696 = 11.7031405
      B5 = 11.7031405 * 1.03 + 110.4080803 - 133.8225578 = -11.3602428  -> depleted in 2029 (base 2024)
    and in closed form B(t) = B0 r^t + C0 g (r^t - g^t)/(r - g) - X0 m (r^t - m^t)/(r - m) (factors 1+x)."""
    s = _closed_form_scenario()
    base = _base([("360102", "resident")])
    cohorts = np.repeat(base.insured[None], 8, axis=0)
    p = project(base, s, cohorts=cohorts)
    b = p.balance[0, 0]
    np.testing.assert_allclose(b[:5], [47.5, 40.605, 28.84235, 11.7031405, -11.3602428], atol=1e-6)
    t = np.arange(1, 5)
    closed = 50 * 1.03**t + 100 * 1.02 * (1.03**t - 1.02**t) / 0.01 - 100 * 1.06 * (1.03**t - 1.06**t) / -0.03
    np.testing.assert_allclose(b[:4], closed, rtol=1e-12)
    assert p.depletion_year()[0, 0] == 2029
    # after depletion no interest is earned on a negative balance
    assert p.interest[0, 0, 5] == 0
    np.testing.assert_allclose(p.payable_months[0, 0, 0], 47.5 / (106 / 12))


def test_employee_income_follows_wage_and_rate_lever():
    s = _closed_form_scenario()
    s.assumptions.wage_growth.mean = 0.05
    s.levers.employee_pooled_rate.values = {2024: 0.07, 2026: 0.084}  # +20 % from 2026
    base = _base([("360102", "employee")], contributions=70.0)
    cohorts = np.repeat(base.insured[None], 8, axis=0)
    p = project(base, s, cohorts=cohorts)
    np.testing.assert_allclose(p.contributions[0, 0, :3], [70 * 1.05, 70 * 1.05**2 * 1.2, 70 * 1.05**3 * 1.2])


small_units = st.lists(st.sampled_from(["employee", "resident"]), min_size=1, max_size=3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemes=small_units, paths=st.integers(1, 3), years=st.integers(1, 6), seed=st.integers(0, 10**6),
       balance=st.floats(-50, 500), reform=st.booleans())
def test_engine_equals_slow_reference(schemes, paths, years, seed, balance, reform):
    """The vectorised engine (cohorts rolled once, enrolment as a path factor) equals a scalar loop that
    rolls every path's own cohorts with the enrolment factor applied to the state each year."""
    s = load_scenario()
    s.levers.retirement_reform.value = reform
    base = _base([(f"36010{i}", sc) for i, sc in enumerate(schemes)], balance=balance)
    base.insured[:, 0, 3:12, :] += 37.0  # a spread of ages
    fast = project(base, s, paths=paths, years=years, seed=seed)
    slow = reference_project(base, s, paths=paths, years=years, seed=seed)
    for k in ("insured", "contributions", "interest", "expenditure", "balance"):
        np.testing.assert_allclose(getattr(fast, k), slow[k], rtol=1e-9, atol=1e-6, err_msg=k)
    loop = per_path_loop(base, s, paths=paths, years=years, seed=seed)
    np.testing.assert_allclose(fast.balance, loop, rtol=1e-9, atol=1e-6)


def test_seed_reproducible_and_different_seeds_differ():
    s = load_scenario()
    base = _base([("1", "resident"), ("2", "employee")])
    a = project(base, s, paths=50, years=10, seed=7)
    b = project(base, s, paths=50, years=10, seed=7)
    c = project(base, s, paths=50, years=10, seed=8)
    np.testing.assert_array_equal(a.balance, b.balance)
    assert not np.allclose(a.balance, c.balance)


def test_correlated_shocks_have_the_scenario_correlation():
    from mifund.projection.engine import draw_shocks

    s = load_scenario()
    z = draw_shocks(s, 20000, 2, seed=1).reshape(-1, 4)
    got = np.corrcoef(z.T)
    np.testing.assert_allclose(got, s.assumptions.correlation.matrix(), atol=0.02)


def test_population_is_conserved_without_deaths_and_entrants():
    """Survival 1 (no deaths): ageing and retirement move people, never create or lose them."""
    s = load_scenario()
    s.assumptions.birth_rate.value = 0.0
    s.assumptions.employee_entry_rate.value = 0.0
    base = _base([("1", "employee"), ("2", "resident")])
    import mifund.projection.engine as eng

    class Immortal:
        def annual_survival(self):
            return np.ones((N_BANDS, 2))

    orig = eng.load_life_table
    eng.load_life_table = lambda path=None: Immortal()   # the scenario's tables.life_table, here None
    try:
        n = roll_cohorts(base, s, np.arange(2025, 2045))
    finally:
        eng.load_life_table = orig
    totals = n.sum(axis=(2, 3, 4))
    np.testing.assert_allclose(totals, np.repeat(totals[:1], len(totals), axis=0))
    # with no entrants the employees' in-service count only falls and retirees only grow
    active, retired = n[:, 0, 0].sum(axis=(1, 2)), n[:, 0, 1].sum(axis=(1, 2))
    assert (np.diff(active) <= 1e-9).all() and (np.diff(retired) >= -1e-9).all()
    assert retired[-1] > retired[0] + 0.3 * active[0]
    # residents never retire; their mass moves up the bands (mean band rises by 1/5 band a year, up to 85+)
    assert n[:, 1, 1].sum() == 0
    mean_band = (n[:, 1, 0].sum(axis=2) * np.arange(N_BANDS)).sum(axis=1) / n[:, 1, 0].sum(axis=(1, 2))
    np.testing.assert_allclose(mean_band[:5], 8 + np.arange(5) / 5)


def test_retirement_ages_follow_the_2025_decision():
    """Men 60 -> 63 reached after 15 years (2.4 months a year); women workers 50 -> 55 (4 months a year)."""
    ages = retirement_ages([2024, 2025, 2030, 2039, 2045], female_worker_share=1.0)
    np.testing.assert_allclose(ages[:, 0], [60, 60.2, 61.2, 63, 63])
    np.testing.assert_allclose(ages[:, 1], [50, 50 + 1 / 3, 52, 55, 55])
    cadres = retirement_ages([2039], female_worker_share=0.0)
    assert cadres[0, 1] == pytest.approx(58)
    assert (retirement_ages([2030], reform=False) == [[60, 52.5]]).all()
    f = retirement_fractions(np.array([[60.0, 52.5]]))
    assert f[0, 11, 0] == 0 and f[0, 12, 0] == 1       # men: 55-59 stay, 60-64 retire
    # women: d = 52.5 - 50 = 2.5 -> f = (1 - 2.5/5) / (1 + 0.8 * 2.5) = 0.5 / 3 (see retirement_fractions)
    assert f[0, 10, 1] == pytest.approx(1 / 6)
    assert f[0, 11:, 1].tolist() == [1, 1, 1, 1, 1, 1, 1]


def test_retirement_fraction_around_fractional_ages_by_hand():
    """The band containing R keeps (1 - f) of (n - n/5 + F) after the ageing step; a steady band must
    hold F * d in service (d = R - 60), so f = (1 - d/5) / (1 + 0.8 d). By hand, band 60-64:
      R = 60.2: d = 0.2 -> 0.96 / 1.16 = 24/29;  R = 60.5: 0.9 / 1.4 = 9/14;  R = 61.0: 0.8 / 1.8 = 4/9
      R = 63.0: 0.4 / 3.4 = 2/17;  R = 60.0: d = 0, the band retires everyone (f = 1).
    The old 1/d rule gave 1, 1, 1 for the first three: the first years of the 2025 reform did nothing."""
    f = retirement_fractions(np.array([[60.2, 50.0], [60.5, 50.0], [61.0, 50.0], [63.0, 50.0], [60.0, 50.0]]))
    np.testing.assert_allclose(f[:, 12, 0], [24 / 29, 9 / 14, 4 / 9, 2 / 17, 1.0], rtol=1e-12)
    assert (f[:, 11, 0] == 0).all() and (f[:, 13:, 0] == 1).all()   # 55-59 never retire; 65+ always


def _men_employee_base(active_by_band: dict[int, float], retired_65: float = 0.0, contributions: float = 1.0):
    ins = np.zeros((1, 2, N_BANDS, 2))
    for band, persons in active_by_band.items():
        ins[0, 0, band, 0] = persons
    ins[0, 1, 13, 0] = retired_65
    return Base(units=pd.DataFrame({"region_code": ["1"], "region_name": "", "scheme": ["employee"],
                                    "fund": "pooled"}),
                base_year=2024, insured=ins, expenditure=np.array([100.0]),
                contributions=np.array([contributions]), balance=np.array([0.0]),
                curve=np.ones((1, N_BANDS, 2)))


def _immortal(monkeypatch):
    import mifund.projection.engine as eng

    class Immortal:
        def annual_survival(self):
            return np.ones((N_BANDS, 2))
    monkeypatch.setattr(eng, "load_life_table", lambda *a, **k: Immortal())


@pytest.mark.parametrize("d", [0.5, 1.0, 2.0, 2.5, 3.0])
def test_steady_inflow_keeps_f_times_years_to_retirement_in_service(monkeypatch, d):
    """Men only, survival 1, entrants F = 100 a year at 20-24, retirement age R = 60 + d held constant.
    With ages spread evenly each band 20..55 holds 5F in service and band 60-64 holds F * d (those aged
    60..R); entrants F = entry rate x in-service with rate 1/(40 + d). Started there, the cohort model
    must stay there. (With retirement counted twice, band 60-64 fell to 83.3 for d = 2, not 200.)"""
    _immortal(monkeypatch)
    F = 100.0
    s = load_scenario()
    s.levers.retirement_reform.value = False
    s.levers.retirement_age_offset.values = {2024: d}
    s.assumptions.entry_ages.value = {20: 1.0}
    s.assumptions.entrant_male_share.value = 1.0
    s.assumptions.employee_entry_rate.value = 1 / (40 + d)
    base = _men_employee_base({**{b: 5 * F for b in range(4, 12)}, 12: F * d})
    n = roll_cohorts(base, s, np.arange(2025, 2065))
    active = n[:, 0, 0, :, 0]                                       # (T+1, bands) men in service
    np.testing.assert_allclose(active[-1, 12], F * d, rtol=1e-9)
    np.testing.assert_allclose(active[-1, 4:12], 5 * F, rtol=1e-9)
    assert active[-1, 13:].sum() == 0
    np.testing.assert_allclose(np.diff(n[:, 0, 1].sum(axis=(1, 2))), F, rtol=1e-9)  # F retire a year


def test_delayed_retirement_adds_the_hand_computed_contributions(monkeypatch):
    """One employee unit, men only: 1000 in service at 55-59, survival 1, no entrants, no growth, no
    interest, retirees pay nothing, a flat cost curve (so expenditure does not depend on who retired).
    Year 2025: a fifth (200) ages into 60-64. Without the reform (R = 60) all 200 retire: 800 in service.
    With it (R = 60.2, d = 0.2) f = 24/29, so 200 * 5/29 = 1000/29 stay: 800 + 1000/29 in service.
    Contributions scale with in-service (29,000 for the base year's 1000), so the 2025 balance with the
    reform is 29,000 * (1000/29) / 1000 = 1,000 yuan higher. The old rule retired all 200 both ways: 0."""
    _immortal(monkeypatch)
    s = _closed_form_scenario()
    s.assumptions.medical_inflation.mean = 0.0
    s.assumptions.interest_rate.value = 0.0
    s.assumptions.birth_rate.value = 0.0
    s.assumptions.employee_entry_rate.value = 0.0
    s.levers.retiree_contribution_rate.values = {2024: 0.0}
    base = _men_employee_base({11: 1000.0}, retired_65=500.0, contributions=29000.0)
    out = {}
    for reform in (False, True):
        s.levers.retirement_reform.value = reform
        out[reform] = project(base, s, paths=0, years=2)
    np.testing.assert_allclose(out[False].cohort_active[0, 0], 800.0)
    np.testing.assert_allclose(out[True].cohort_active[0, 0], 800 + 1000 / 29)
    np.testing.assert_allclose(out[False].contributions[0, 0, 0], 29000 * 0.8)
    np.testing.assert_allclose(out[True].expenditure, out[False].expenditure)
    np.testing.assert_allclose(out[True].balance[0, 0, 0] - out[False].balance[0, 0, 0], 1000.0, rtol=1e-12)


def test_build_base_scales_to_ledger_and_uses_population():
    ledger = pd.DataFrame([
        {"region_code": "360102", "year": 2024, "month": np.nan, "scheme": "employee", "fund": "pooled",
         "insured": 300, "insured_in_service": 200, "insured_retired": 100, "income_total": 1000.0,
         "income_interest": 10.0, "expenditure_total": 900.0, "balance_end": 500.0},
        {"region_code": "360102", "year": 2024, "month": np.nan, "scheme": "resident", "fund": "pooled",
         "insured": 1000, "insured_in_service": np.nan, "insured_retired": np.nan, "income_total": 800.0,
         "income_interest": 0.0, "expenditure_total": 850.0, "balance_end": 300.0},
    ])
    pop = pd.DataFrame({"region_code": "360102", "year": 2024, "sex": ["M", "F"], "age_band": ["30-34", "65-69"],
                        "persons": [10, 10]})
    b = build_base(ledger, population=pop)
    emp, res = b.units.index[b.units.scheme == "employee"][0], b.units.index[b.units.scheme == "resident"][0]
    assert b.insured[emp, 0].sum() == pytest.approx(200) and b.insured[emp, 1].sum() == pytest.approx(100)
    assert b.insured[res].sum() == pytest.approx(1000)
    assert b.insured[res, 0, 6, 0] == pytest.approx(500) and b.insured[res, 0, 13, 1] == pytest.approx(500)
    assert b.contributions[emp] == pytest.approx(990)
