"""Slow, obviously-correct implementations of the projection, for tests and the benchmark.

- :func:`reference_project`: scalar Python loops over paths, units, years, states, bands and sexes;
  each path rolls its own cohorts with the enrolment factor applied to the state every year (no
  factorisation), then money year by year. The vectorised engine must agree with it.
- :func:`per_path_loop`: what a straightforward implementation would do: a Python loop over paths, each
  rolling the cohort tensor (vectorised over units x ages x sexes) with that path's enrolment shocks.
  The benchmark compares the engine with it.
"""

from __future__ import annotations

import numpy as np

from mifund.projection.engine import ACTIVE, RETIRED, Base, draw_shocks, financing_standard, rates
from mifund.projection.scenario import Scenario
from mifund.projection.tables import (
    AGES,
    N_BANDS,
    WIDTH,
    load_life_table,
    load_retirement,
    retirement_ages,
    retirement_fractions,
)


def _common(base: Base, s: Scenario, T: int):
    a = s.assumptions
    y0 = base.base_year
    years = np.arange(y0 + 1, y0 + T + 1)
    all_years = np.arange(y0, y0 + T + 1)
    surv = load_life_table(s.tables.life_table).annual_survival()
    ret = retirement_fractions(retirement_ages(
        years, reform=s.levers.retirement_reform.value, female_worker_share=a.female_worker_share.value,
        offset=s.levers.retirement_age_offset.series(years), rules=load_retirement(s.tables.retirement)))
    entry = np.zeros((N_BANDS, 2))
    for band, share in a.entry_ages.value.items():
        entry[AGES.index(band), 0] += share * a.entrant_male_share.value
        entry[AGES.index(band), 1] += share * (1 - a.entrant_male_share.value)
    births = np.zeros((N_BANDS, 2))
    births[0] = [a.birth_male_share.value, 1 - a.birth_male_share.value]
    return years, all_years, surv, ret, entry, births


def reference_project(base: Base, s: Scenario, *, paths: int, years: int, seed: int | None):
    """dict of (P, U, T) arrays: insured, contributions, interest, expenditure, balance."""
    a, lv = s.assumptions, s.levers
    T = years
    yrs, all_years, surv, ret, entry, births = _common(base, s, T)
    z = draw_shocks(s, paths, T, seed)
    r = rates(s, z, base.employee)
    P, U = z.shape[0], len(base.units)
    factor = lv.expenditure_factor.series(all_years)
    rate = lv.employee_pooled_rate.series(all_years)
    rrate = lv.retiree_contribution_rate.series(all_years)
    std = financing_standard(s, all_years)
    ptw = a.pension_to_wage.value
    out = {k: np.zeros((P, U, T)) for k in ("insured", "contributions", "interest", "expenditure", "balance")}
    for p in range(P):
        for u in range(U):
            emp = bool(base.employee[u])
            n0 = base.insured[u]
            # base-year calibration
            w0 = sum(n0[k, b, x] * base.curve[u, b, x] for k in range(2) for b in range(N_BANDS) for x in range(2))
            act0 = sum(n0[ACTIVE, b, x] for b in range(N_BANDS) for x in range(2))
            ret0 = sum(n0[RETIRED, b, x] for b in range(N_BANDS) for x in range(2))
            tot0 = act0 + ret0
            wage_base = base.contributions[u] / (act0 * rate[0] + ret0 * ptw * rrate[0]) if emp else 0.0
            k_res = base.contributions[u] / (tot0 * std[0]) if not emp else 0.0
            n = [[[n0[k, b, x] for x in range(2)] for b in range(N_BANDS)] for k in range(2)]
            wage = price = util = 1.0
            bal = base.balance[u]
            for t in range(T):
                total = sum(n[k][b][x] for k in range(2) for b in range(N_BANDS) for x in range(2))
                active = sum(n[ACTIVE][b][x] for b in range(N_BANDS) for x in range(2))
                m = [[[n[k][b][x] * surv[b, x] for x in range(2)] for b in range(N_BANDS)] for k in range(2)]
                new = [[[0.0, 0.0] for _ in range(N_BANDS)] for _ in range(2)]
                for k in range(2):
                    for b in range(N_BANDS):
                        for x in range(2):
                            moving = m[k][b][x] / WIDTH if b < N_BANDS - 1 else 0.0
                            new[k][b][x] += m[k][b][x] - moving
                            if b < N_BANDS - 1:
                                new[k][b + 1][x] += moving
                if emp:
                    for b in range(N_BANDS):
                        for x in range(2):
                            retiring = new[ACTIVE][b][x] * ret[t, b, x]
                            new[ACTIVE][b][x] -= retiring
                            new[RETIRED][b][x] += retiring
                entrants = a.employee_entry_rate.value * active if emp else a.birth_rate.value * total
                shape = entry if emp else births
                e = r["enrolment_change"][p, u, t]
                for k in range(2):
                    for b in range(N_BANDS):
                        for x in range(2):
                            add = entrants * shape[b, x] if k == ACTIVE else 0.0
                            new[k][b][x] = (new[k][b][x] + add) * (1 + e)
                n = new
                wage *= 1 + r["wage_growth"][p, t]
                price *= 1 + r["medical_inflation"][p, t]
                util *= 1 + r["utilisation_trend"][p, t]
                w = sum(n[k][b][x] * base.curve[u, b, x] for k in range(2) for b in range(N_BANDS) for x in range(2))
                exp = base.expenditure[u] * w / w0 * price * util * factor[t + 1] / factor[0]
                act = sum(n[ACTIVE][b][x] for b in range(N_BANDS) for x in range(2))
                rt = sum(n[RETIRED][b][x] for b in range(N_BANDS) for x in range(2))
                if emp:
                    contrib = wage_base * wage * (act * rate[t + 1] + rt * ptw * rrate[t + 1])
                else:
                    contrib = k_res * std[t + 1] * (act + rt)
                interest = a.interest_rate.value * max(bal, 0.0)
                bal = bal + contrib + interest - exp
                out["insured"][p, u, t] = act + rt
                out["contributions"][p, u, t] = contrib
                out["interest"][p, u, t] = interest
                out["expenditure"][p, u, t] = exp
                out["balance"][p, u, t] = bal
    return out


def per_path_loop(base: Base, s: Scenario, *, paths: int, years: int, seed: int | None) -> np.ndarray:
    """(P, U, T) balances: a Python loop over paths, each rolling its own cohort tensor (U, 2, A, S)."""
    a, lv = s.assumptions, s.levers
    T = years
    yrs, all_years, surv, ret, entry, births = _common(base, s, T)
    z = draw_shocks(s, paths, T, seed)
    r = rates(s, z, base.employee)
    emp = base.employee
    empm = emp[:, None, None]
    shape = np.where(empm, entry, births)
    factor = lv.expenditure_factor.series(all_years)
    rate = lv.employee_pooled_rate.series(all_years)
    rrate = lv.retiree_contribution_rate.series(all_years)
    std = financing_standard(s, all_years)
    ptw = a.pension_to_wage.value
    n0 = base.insured
    w0 = np.einsum("ukas,uas->u", n0, base.curve)
    act0, ret0 = n0[:, ACTIVE].sum(axis=(1, 2)), n0[:, RETIRED].sum(axis=(1, 2))
    wage_base = base.contributions / np.where(emp, act0 * rate[0] + ret0 * ptw * rrate[0], 1)
    k_res = base.contributions / ((act0 + ret0) * std[0])
    P, U = z.shape[0], len(base.units)
    out = np.empty((P, U, T))
    for p in range(P):
        n = n0.copy()
        bal = base.balance.copy()
        wage = price = util = 1.0
        for t in range(T):
            total = n.sum(axis=(1, 2, 3))
            active = n[:, ACTIVE].sum(axis=(1, 2))
            m = n * surv
            up = m[:, :, :-1] / WIDTH
            m[:, :, :-1] -= up
            m[:, :, 1:] += up
            rr = m[:, ACTIVE] * (ret[t] * empm)
            m[:, ACTIVE] -= rr
            m[:, RETIRED] += rr
            ent = np.where(emp, a.employee_entry_rate.value * active, a.birth_rate.value * total)
            m[:, ACTIVE] += ent[:, None, None] * shape
            n = m * (1 + r["enrolment_change"][p, :, t])[:, None, None, None]
            wage *= 1 + r["wage_growth"][p, t]
            price *= 1 + r["medical_inflation"][p, t]
            util *= 1 + r["utilisation_trend"][p, t]
            exp = base.expenditure * np.einsum("ukas,uas->u", n, base.curve) / w0 * price * util * factor[t + 1] / factor[0]
            act, rt = n[:, ACTIVE].sum(axis=(1, 2)), n[:, RETIRED].sum(axis=(1, 2))
            contrib = np.where(emp, wage_base * wage * (act * rate[t + 1] + rt * ptw * rrate[t + 1]),
                               k_res * std[t + 1] * (act + rt))
            bal = bal + contrib + a.interest_rate.value * np.maximum(bal, 0) - exp
            out[p, :, t] = bal
    return out
