"""The cohort projection, deterministic and Monte Carlo, vectorised in NumPy.

Model (one year a step, t = 1..T after the base year; u = region x scheme unit, k = state: 0 =
in-service employee or resident, 1 = retired employee; a = 5-year age band; s = sex):

1. **Demography** ``N[t, u, k, a, s]``: survival by band and sex (life table); ageing (a fifth of each
   closed band moves up a band); retirement of in-service employees by the statutory age of the year
   (2025 gradual delay as a lever); new entrants: births (``birth_rate`` x insured) into 0-4 for
   residents, young workers (``employee_entry_rate`` x in-service) into ``entry_ages`` for employees.
2. **Enrolment** drift and shocks multiply a unit's insured by ``E[p, u, t] = prod(1 + e)`` where
   ``e = mean + sd * z`` (per scheme). Every other step is linear in N and entrants are proportional to
   N, so the insured of path p are exactly ``N_det[t] * E[p, t]``: the age tensor is rolled once, not
   once per path (tests/test_projection_engine.py checks this against a per-path, per-age loop).
3. **Expenditure** = sum over k, a, s of N x cost per capita, the cost curve scaled so that the base
   year reproduces the ledger's expenditure, x medical price index x utilisation index (each
   ``prod(1 + mean + sd * z)``) x the ``expenditure_factor`` lever (relative to the base year).
4. **Contribution income**: employees ``E x wage index x wage base x (in-service x pooled rate +
   retired x pension_to_wage x retiree rate)``, the wage base implied by the base year's contribution
   income; residents ``E x insured x financing standard (individual + fiscal) x the region's ratio of
   its base-year income per insured to the standard``, the standard growing by ``financing_growth``
   after its last dated value.
5. **Balance**: ``B[t] = B[t-1] + contributions + interest - expenditure``, interest =
   ``interest_rate x max(B[t-1], 0)``. Months of payment capacity = B / (expenditure / 12).

Shocks: ``z[p, t, :]`` standard normal, correlated by the scenario's correlation matrix, common to all
units of a path (macro shocks). Path 0 of ``paths=0`` is the deterministic projection (z = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mifund.projection.scenario import SHOCKS, Scenario, ScenarioError
from mifund.projection.tables import (
    AGES,
    N_BANDS,
    WIDTH,
    load_life_table,
    load_retirement,
    retirement_ages,
    retirement_fractions,
)

ACTIVE, RETIRED = 0, 1


@dataclass
class Base:
    """The starting point of a projection: one unit per region x scheme, at the end of base_year."""

    units: pd.DataFrame            # region_code, region_name, scheme, fund, source
    base_year: int
    insured: np.ndarray            # (U, 2, A, S) persons by state, band, sex
    expenditure: np.ndarray        # (U,) base-year fund expenditure, yuan
    contributions: np.ndarray      # (U,) base-year income other than interest, yuan
    balance: np.ndarray            # (U,) accumulated balance at the end of base_year, yuan
    curve: np.ndarray              # (U, A, S) relative expenditure per insured (shape only)
    notes: list[str] = field(default_factory=list)

    @property
    def employee(self) -> np.ndarray:
        return (self.units["scheme"] == "employee").to_numpy()

    def __post_init__(self):
        u = len(self.units)
        for name, shape in (("insured", (u, 2, N_BANDS, 2)), ("expenditure", (u,)), ("contributions", (u,)),
                            ("balance", (u,)), ("curve", (u, N_BANDS, 2))):
            a = np.asarray(getattr(self, name), dtype=float)
            if a.shape != shape:
                raise ValueError(f"Base.{name}: shape {a.shape}, expected {shape}")
            if name != "balance" and (a < 0).any():
                raise ValueError(f"Base.{name}: negative values")
            setattr(self, name, a)
        if (self.insured.sum(axis=(1, 2, 3)) <= 0).any():
            raise ValueError("Base.insured: a unit without insured persons")


@dataclass
class Projection:
    """Arrays (P, U, T) per path, unit, projected year (years = base_year + 1 ...)."""

    base: Base
    scenario: Scenario
    years: np.ndarray
    enrolment: np.ndarray          # (P, U, T) enrolment factor; insured = cohort counts (U, T) x factor
    cohort_active: np.ndarray      # (U, T) in-service / resident persons before the enrolment factor
    cohort_retired: np.ndarray     # (U, T)
    contributions: np.ndarray
    interest: np.ndarray
    expenditure: np.ndarray
    balance: np.ndarray
    deterministic: bool
    seed: int | None

    @property
    def in_service(self) -> np.ndarray:
        return self.cohort_active[None] * self.enrolment

    @property
    def retired(self) -> np.ndarray:
        return self.cohort_retired[None] * self.enrolment

    @property
    def insured(self) -> np.ndarray:
        return (self.cohort_active + self.cohort_retired)[None] * self.enrolment

    @property
    def income(self) -> np.ndarray:
        return self.contributions + self.interest

    @property
    def payable_months(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expenditure > 0, self.balance / (self.expenditure / 12), np.nan)

    def depletion_year(self) -> np.ndarray:
        """(P, U): first year whose closing balance is negative; 0 where the fund lasts the horizon."""
        neg = self.balance < 0
        first = neg.argmax(axis=2)
        return np.where(neg.any(axis=2), self.years[first], 0)


# -- demography --------------------------------------------------------------------------------------
def roll_cohorts(base: Base, s: Scenario, years: np.ndarray) -> np.ndarray:
    """(T+1, U, 2, A, S) insured before enrolment drift: index 0 = base year."""
    a = s.assumptions
    surv = load_life_table(s.tables.life_table).annual_survival()   # (A, S): the scenario's or the shipped
    ret_age = retirement_ages(years, reform=s.levers.retirement_reform.value,
                              female_worker_share=a.female_worker_share.value,
                              offset=s.levers.retirement_age_offset.series(years),
                              rules=load_retirement(s.tables.retirement))
    ret = retirement_fractions(ret_age)                              # (T, A, S)
    emp = base.employee[:, None, None]                               # (U, 1, 1)
    entry = np.zeros((N_BANDS, 2))
    for band, share in a.entry_ages.value.items():
        entry[AGES.index(band)] += share * np.array([a.entrant_male_share.value, 1 - a.entrant_male_share.value])
    births = np.zeros((N_BANDS, 2))
    births[0] = [a.birth_male_share.value, 1 - a.birth_male_share.value]

    n = base.insured.copy()
    out = np.empty((len(years) + 1, *n.shape))
    out[0] = n
    move = 1.0 / WIDTH
    for t in range(len(years)):
        total = n.sum(axis=(1, 2, 3))
        active = n[:, ACTIVE].sum(axis=(1, 2))
        m = n * surv                                                 # survive the year
        up = m[:, :, :-1] * move                                     # a fifth moves up a band
        m[:, :, :-1] -= up
        m[:, :, 1:] += up
        r = m[:, ACTIVE] * (ret[t] * emp)                            # employees reaching the statutory age
        m[:, ACTIVE] -= r
        m[:, RETIRED] += r
        entrants = np.where(base.employee, a.employee_entry_rate.value * active, a.birth_rate.value * total)
        m[:, ACTIVE] += entrants[:, None, None] * np.where(emp, entry, births)
        n = m
        out[t + 1] = n
    return out


# -- shocks ------------------------------------------------------------------------------------------
def draw_shocks(s: Scenario, paths: int, years: int, seed: int | None) -> np.ndarray:
    """(P, T, 4) correlated standard-normal shocks in the order of SHOCKS; zeros when paths == 0."""
    if paths == 0:
        return np.zeros((1, years, len(SHOCKS)))
    corr = s.assumptions.correlation.matrix()
    w, v = np.linalg.eigh(corr)
    root = v * np.sqrt(np.clip(w, 0, None))                          # corr = root @ root.T (PSD-safe)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((paths, years, len(SHOCKS)))
    return z @ root.T


def rates(s: Scenario, z: np.ndarray, employee: np.ndarray) -> dict[str, np.ndarray]:
    """Yearly rates from shocks: wage, medical, utilisation (P, T); enrolment (P, U, T)."""
    a = s.assumptions
    out = {}
    for i, name in enumerate(SHOCKS[:3]):
        x = getattr(a, name)
        out[name] = x.mean + x.sd * z[:, :, i]
    e_mean = np.where(employee, a.enrolment_change.employee.mean, a.enrolment_change.resident.mean)
    e_sd = np.where(employee, a.enrolment_change.employee.sd, a.enrolment_change.resident.sd)
    out["enrolment_change"] = e_mean[None, :, None] + e_sd[None, :, None] * z[:, None, :, 3]
    for name, r in out.items():
        if (r <= -1).any():
            x = getattr(a, name) if name != "enrolment_change" else None
            what = f" (mean {x.mean:g}, sd {x.sd:g})" if x is not None else ""
            raise ScenarioError(s.file or s.name, [(
                f"assumptions.{name}", f"a drawn yearly rate{what} is -100 % or below ({r.min():.4g}), in "
                f"{int((r <= -1).sum())} of {r.size:,} draws; lower its sd")])
    return out


def financing_standard(s: Scenario, years: np.ndarray) -> np.ndarray:
    """Resident financing standard per person (individual + fiscal) for each year in ``years``.

    Each part follows its dated values up to its last dated year, then grows by ``financing_growth``.
    """
    lv = s.levers
    grow = lv.financing_growth.series(years)
    total = np.zeros(len(years))
    for part in (lv.resident_individual, lv.resident_fiscal):
        last = part.last_year()
        out = part.series(years).astype(float)
        level = float(part.series([last])[0])
        for i, y in enumerate(years):
            if y > last:
                level *= 1 + grow[i]
                out[i] = level
        total += out
    return total


# -- the projection ----------------------------------------------------------------------------------
def project(base: Base, s: Scenario, *, paths: int | None = None, years: int | None = None,
            seed: int | None = None, cohorts: np.ndarray | None = None) -> Projection:
    """Project every unit of ``base`` under scenario ``s``.

    ``paths``: Monte Carlo paths (default the scenario's); 0 = the deterministic projection (one path,
    every shock zero). ``cohorts``: a precomputed :func:`roll_cohorts` result (the tornado reuses it
    where the demography does not change).
    """
    paths = s.paths if paths is None else int(paths)
    T = s.years if years is None else int(years)
    seed = s.seed if seed is None else seed
    y0 = base.base_year
    yrs = np.arange(y0 + 1, y0 + T + 1)
    all_years = np.arange(y0, y0 + T + 1)
    lv, a = s.levers, s.assumptions
    emp = base.employee

    n = roll_cohorts(base, s, yrs) if cohorts is None else cohorts   # (T+1, U, 2, A, S)
    z = draw_shocks(s, paths, T, seed)
    r = rates(s, z, emp)
    wage = np.cumprod(1 + r["wage_growth"], axis=1)                  # (P, T)
    price = np.cumprod(1 + r["medical_inflation"], axis=1)
    util = np.cumprod(1 + r["utilisation_trend"], axis=1)
    enrol = np.cumprod(1 + r["enrolment_change"], axis=2)            # (P, U, T)

    # expenditure: cost per capita calibrated to the base year
    weight0 = np.einsum("ukas,uas->u", base.insured, base.curve)
    cost = base.curve * (base.expenditure / np.where(weight0 > 0, weight0, 1))[:, None, None]
    exp_det = np.einsum("tukas,uas->ut", n[1:], cost)                # (U, T)
    factor = lv.expenditure_factor.series(all_years)
    exp_det = exp_det * (factor[1:] / factor[0])[None, :]
    expenditure = exp_det[None] * enrol
    expenditure *= (price * util)[:, None, :]

    # contributions
    active = n[:, :, ACTIVE].sum(axis=(2, 3))                        # (T+1, U)
    retired = n[:, :, RETIRED].sum(axis=(2, 3))
    total = active + retired
    rate = lv.employee_pooled_rate.series(all_years)
    rrate = lv.retiree_contribution_rate.series(all_years)
    ptw = a.pension_to_wage.value
    emp_weight = active * rate[:, None] + retired * ptw * rrate[:, None]          # (T+1, U)
    wage0 = base.contributions / np.where(emp_weight[0] > 0, emp_weight[0], 1)
    std = financing_standard(s, all_years)
    k = base.contributions / np.where(total[0] > 0, total[0] * std[0], 1)
    emp_det = wage0[:, None] * emp_weight[1:].T                                    # (U, T)
    res_det = k[:, None] * total[1:].T * std[None, 1:]
    contributions = np.where(emp[:, None], emp_det, res_det)[None] * enrol          # (P, U, T)
    contributions[:, emp, :] *= wage[:, None, :]                                   # wage index: employees

    # balance
    P, U = expenditure.shape[:2]
    balance = np.empty((P, U, T))
    interest = np.empty((P, U, T))
    b = np.broadcast_to(base.balance, (P, U)).astype(float)
    ir = a.interest_rate.value
    for t in range(T):
        interest[:, :, t] = ir * np.maximum(b, 0)
        b = b + contributions[:, :, t] + interest[:, :, t] - expenditure[:, :, t]
        balance[:, :, t] = b

    return Projection(base=base, scenario=s, years=yrs, enrolment=enrol, cohort_active=active[1:].T,
                      cohort_retired=retired[1:].T, contributions=contributions, interest=interest,
                      expenditure=expenditure, balance=balance, deterministic=paths == 0,
                      seed=None if paths == 0 else seed)
