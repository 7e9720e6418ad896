"""Allocating a fiscal subsidy budget across regions, by rule, and the allocation that leaves the fewest
regions below the safety line (mixed-integer linear programme, SciPy HiGHS).

Rules (each returns an allocation summing to the budget):

* ``equal_per_capita``: in proportion to insured persons;
* ``fund_gap``: in proportion to each region's gap to the safety line (the balance it lacks to cover
  ``safety_line`` months of expenditure); equal per capita when no region has a gap;
* ``need``: in proportion to a need index (age structure, ability to pay; ``transfers.yaml``);
* ``performance``: in proportion to a score rewarding expenditure growth below the city's;
* ``min_below_line``: maximise the number of regions lifted to the safety line:
  max sum z_i  s.t.  x_i >= gap_i z_i,  sum x_i <= budget,  x >= 0,  z binary  (scipy.optimize.milp);
  what is left of the budget then goes to the regions still below the line, so as to make the largest
  remaining shortfall (in months of their own expenditure) as small as possible (water-filling: every
  region still short is brought up to the same shortfall t, the smallest t the money allows); only a
  budget larger than every gap is shared equal per capita beyond that.

``safety_line`` is months: one number, or one per region (lines resolved per region from the warning
rules, ``mifund.pooling.safety``).

For each rule: every region's months of payment capacity after the transfer, the number below the
line, and the weighted disparity of the months (Gini, Williamson CV, Theil T); where some region's
months are at or below 0 the ratio-type measures are null and Gini and CV are taken on the months
floored at 0 (``disparity_basis``, ``note``).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from mifund.disparity.measures import measures
from mifund.policy.schema import Metadata, Param

RULES = ("equal_per_capita", "fund_gap", "need", "performance", "min_below_line")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Need(_Strict):
    age_weight: Param
    income_elasticity: Param
    metadata: Metadata | None = None


class Performance(_Strict):
    weight: Param
    metadata: Metadata | None = None


class TransferRules(_Strict):
    schema_: str | None = None
    metadata: Metadata | None = None
    need: Need
    performance: Performance

    @model_validator(mode="before")
    @classmethod
    def _schema_key(cls, v):
        if isinstance(v, dict) and "schema" in v:
            v = dict(v)
            v["schema_"] = v.pop("schema")
        return v


class TransferError(ValueError):
    """Input that cannot be allocated: a bad budget, a missing ledger year, a bad rules file."""


def load_transfer_rules(path: str | Path | None = None) -> TransferRules:
    from pydantic import ValidationError

    src = Path(path) if path else resources.files("mifund.disparity").joinpath("transfers.yaml")
    try:
        data = yaml.safe_load(src.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise TransferError(f"{src}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise TransferError(f"{src}: not valid YAML: {e}") from None
    try:
        return TransferRules.model_validate(data)
    except ValidationError as e:
        lines = [f"{src}: {'.'.join(str(x) for x in d['loc'])}: {d['msg']}" for d in e.errors()]
        raise TransferError("\n".join(lines)) from None


def _at(p: Param, year: int) -> float:
    try:
        return float(p.at(dt.date(year, 1, 1)))
    except KeyError:
        return float(next(iter(p.values.values())))


def gaps(frame: pd.DataFrame, safety_line: float) -> np.ndarray:
    need = safety_line * frame.expenditure_total.to_numpy(float) / 12
    return np.maximum(need - frame.balance_end.to_numpy(float), 0.0)


def _proportional(budget: float, basis: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    basis = np.maximum(np.nan_to_num(basis), 0.0)
    b = basis if basis.sum() > 0 else fallback
    return budget * b / b.sum()


def _fill_shortfalls(left: float, gap: np.ndarray, monthly: np.ndarray) -> np.ndarray:
    """y (yuan per region, sum = min(left, sum gap)) minimising max_i (gap_i - y_i) / monthly_i, 0 <= y <= gap:
    y_i = max(gap_i - t monthly_i, 0) with the smallest t (months of shortfall) that `left` pays for."""
    if left <= 0 or gap.sum() <= 0:
        return np.zeros_like(gap)
    if left >= gap.sum():
        return gap.copy()
    m = np.where(monthly > 0, monthly, 1.0)
    lo, hi = 0.0, float((gap / m).max())
    for _ in range(200):  # bisection on t: cost(t) = sum max(gap - t m, 0) falls as t rises
        t = (lo + hi) / 2
        if np.maximum(gap - t * m, 0.0).sum() > left:
            lo = t
        else:
            hi = t
    y = np.maximum(gap - hi * m, 0.0)
    return y * (left / y.sum()) if y.sum() > 0 else y  # exact to the yuan despite the bisection's last step


def min_below_line(budget: float, gap: np.ndarray, insured: np.ndarray, monthly: np.ndarray | None = None) -> np.ndarray:
    """The MILP allocation (see module docstring); `monthly` = each region's expenditure per month."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = gap.size
    # variables [x_1..x_n, z_1..z_n]; maximise sum z  ->  minimise -sum z
    c = np.concatenate([np.zeros(n), -np.ones(n)])
    a_budget = np.concatenate([np.ones(n), np.zeros(n)])[None, :]
    a_lift = np.hstack([np.eye(n), -np.diag(gap)])  # x_i - gap_i z_i >= 0
    cons = [LinearConstraint(a_budget, -np.inf, budget), LinearConstraint(a_lift, 0, np.inf)]
    integrality = np.concatenate([np.zeros(n), np.ones(n)])
    res = milp(c, constraints=cons, integrality=integrality,
               bounds=Bounds(np.zeros(2 * n), np.concatenate([np.full(n, np.inf), np.ones(n)])))
    if not res.success:
        raise RuntimeError(f"allocation programme failed: {res.message}")
    z = np.round(res.x[n:])
    x = gap * z  # exactly the gaps of the regions lifted
    left = max(budget - x.sum(), 0.0)
    fill = _fill_shortfalls(left, gap * (1 - z), np.ones(n) if monthly is None else monthly)
    left -= fill.sum()
    return x + fill + _proportional(max(left, 0.0), insured, np.ones(n))


def _need_index(frame: pd.DataFrame, rules: TransferRules, year: int, notes: list[str] | None) -> np.ndarray:
    """insured x max(1 + a (share60_i / share60_city - 1), 0) x (ability_city / ability_i)^e, per region.

    A region whose share aged 60+ is unknown (no population by age in the year, or a population of 0)
    has no measured need: it gets no need share (index 0, named in ``notes``), and the city's share 60+
    is taken over the other regions, which keep their need-based split. With no region measured the
    rule cannot work: a TransferError."""
    insured = frame.insured.to_numpy(float)
    share = frame.share_60plus.to_numpy(float)
    known = np.isfinite(share) & (insured > 0)
    unknown = ~np.isfinite(share)                    # NaN: no population (or a population of 0)
    if unknown.any():
        codes = ", ".join(map(str, frame.region_code[unknown]))
        if notes is not None:
            notes.append(f"need: {codes} left out (no need share): no population by age in {year}, so no "
                         "share aged 60+")
    if not known.any():
        raise TransferError(f"need: no county has a population by age and insured persons in {year}; "
                            "the need index cannot be computed")
    income = frame.income_individual.to_numpy(float)
    city_share = (share[known] * insured[known]).sum() / insured[known].sum()
    city_ability = income[known].sum() / insured[known].sum()
    a, e = _at(rules.need.age_weight, year), _at(rules.need.income_elasticity, year)
    with np.errstate(divide="ignore", invalid="ignore"):
        ability = income / insured
        index = insured * np.maximum(1 + a * (share / city_share - 1), 0) * (city_ability / ability) ** e
    return np.where(known, index, 0.0)


def allocate(frame: pd.DataFrame, budget: float, rule: str, *, safety_line: float,
             rules: TransferRules | None = None, notes: list[str] | None = None) -> np.ndarray:
    """Allocation (yuan per region, in frame order). frame: region_code, year, insured, balance_end,
    expenditure_total, income_individual, share_60plus, expenditure_growth. What a rule had to leave out
    is appended to ``notes``."""
    rules = rules or load_transfer_rules()
    if not np.isfinite(budget) or budget < 0:
        raise TransferError(f"budget {budget:g}: must be a sum of yuan >= 0")
    insured = frame.insured.to_numpy(float)
    year = int(frame.year.max())
    if rule == "equal_per_capita":
        return _proportional(budget, insured, np.ones(len(frame)))
    if rule in ("fund_gap", "min_below_line") and budget > 0 and gaps(frame, safety_line).sum() <= 0 \
            and notes is not None:
        # both rules fall back to equal per capita: say so, or they read as three rules that happen to agree
        notes.append("no region below its safety line: allocated equal per capita")
    if rule == "fund_gap":
        return _proportional(budget, gaps(frame, safety_line), insured)
    if rule == "need":
        index = _need_index(frame, rules, year, notes)
        return _proportional(budget, index, np.where(np.isfinite(frame.share_60plus.to_numpy(float)), insured, 0))
    if rule == "performance":
        g = frame.expenditure_growth.to_numpy(float)
        exp = frame.expenditure_total.to_numpy(float)
        city_g = np.nansum(exp) / np.nansum(exp / (1 + g)) - 1
        score = insured * np.maximum(0, 1 + _at(rules.performance.weight, year) * (city_g - g) / 0.01)
        return _proportional(budget, np.nan_to_num(score, nan=0.0), insured)
    if rule == "min_below_line":
        return min_below_line(budget, gaps(frame, safety_line), insured,
                              frame.expenditure_total.to_numpy(float) / 12)
    raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")


def _disparity(months: np.ndarray, w: np.ndarray | None, codes: pd.Series) -> tuple[dict, str, str]:
    """(measures, basis, note) of the months after a transfer.

    All months positive: the measures of the months. Some at or below 0 (a balance in deficit): the
    ratio-type measures (Theil T, which takes logs of ratios to the mean, and the max/min ratio) are
    undefined and reported as null; Gini and Williamson CV are taken on the months floored at 0 (a fund
    in deficit has no month of payment capacity left), never on values clipped to a tiny positive
    number (which made max/min ratios of 10^10 and overstated Gini, CV and Theil)."""
    pos = months > 0
    if pos.all():
        return measures(months, w), "months", ""
    m = measures(np.maximum(months, 0.0), w)
    m["theil_t"] = m["max_min_ratio"] = np.nan
    bad = ", ".join(map(str, codes[~pos]))
    note = (f"months <= 0 for {bad}: Theil T and max/min ratio not applicable (null); Gini and Williamson CV "
            "on months floored at 0")
    return m, "months floored at 0", note


def evaluate(frame: pd.DataFrame, budget: float, *, safety_line: float, rules: TransferRules | None = None,
             only: list[str] | None = None, weight: str = "insured") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per region and rule: allocation and months after; one row per rule: regions below the line,
    disparity of months of payment capacity after the transfer). The row `none` is the starting point.

    ``disparity_basis`` says what the Gini, CV, Theil and ratio were taken on (see :func:`_disparity`);
    ``note`` what a rule or the measures had to leave out."""
    monthly = frame.expenditure_total.to_numpy(float) / 12
    w = frame[weight].to_numpy(float) if weight in frame else None
    regions, summary = [], []
    for rule in ["none", *(only or RULES)]:
        notes: list[str] = []
        x = np.zeros(len(frame)) if rule == "none" else allocate(frame, budget, rule, safety_line=safety_line,
                                                                 rules=rules, notes=notes)
        months = (frame.balance_end.to_numpy(float) + x) / monthly
        regions.append(pd.DataFrame({"rule": rule, "region_code": frame.region_code, "region_name": frame.get(
            "region_name", ""), "allocation": x, "allocation_per_insured": x / frame.insured.to_numpy(float),
            "months_before": frame.balance_end.to_numpy(float) / monthly, "months_after": months,
            "below_safety_line": months < safety_line - 1e-9}))
        m, basis, note = _disparity(months, w, frame.region_code.reset_index(drop=True))
        summary.append({"rule": rule, "allocated": x.sum(), "regions_below_line": int((months < safety_line - 1e-9).sum()),
                        "min_months": months.min(), "gini_months": m["gini"], "williamson_cv_months": m["williamson_cv"],
                        "theil_t_months": m["theil_t"], "max_min_ratio_months": m["max_min_ratio"],
                        "disparity_basis": basis, "note": "; ".join([*notes, note] if note else notes)})
    return pd.concat(regions, ignore_index=True), pd.DataFrame(summary)


def transfer_frame(wh, *, city: str | None = None, scheme: str = "resident", fund: str = "pooled",
                   year: int | None = None) -> pd.DataFrame:
    """The counties' figures for one year (default the latest): ledger, expenditure growth, share 60+."""
    from mifund.ledger.indicators import compute_indicators
    from mifund.pooling.data import counties_of

    counties = counties_of(wh, city)
    ind = compute_indicators(wh, schemes=[scheme], funds=[fund])
    ind = ind[ind.region_code.isin(counties.region_code) & ind.month.fillna(0).eq(0)]
    if ind.empty:
        raise TransferError(f"no annual {scheme}/{fund} ledger rows for the counties of the city")
    year = int(ind.year.max()) if year is None else year
    if year not in set(ind.year.astype(int)):
        have = sorted(set(ind.year.astype(int)))
        raise TransferError(f"no {scheme}/{fund} ledger for {year}: the counties' ledger has {have[0]}–{have[-1]}")
    ind = ind[ind.year == year]
    if (missing := set(counties.region_code) - set(ind.region_code)):
        raise TransferError(f"{year}: no {scheme}/{fund} ledger row for {', '.join(sorted(missing))}")
    pop = wh.table("population")
    pop = pop.filter(pop.year == year, pop.region_code.isin(counties.region_code.tolist()))
    old = pop.age_band.re_search(r"^(6\d|[7-9]\d|\d{3})")
    p = pop.group_by("region_code").aggregate(total=pop.persons.sum(), old=pop.persons.sum(where=old))
    p = wh.to_pandas(p)
    p["share_60plus"] = p.old / p.total
    df = ind.merge(p[["region_code", "share_60plus"]], on="region_code", how="left")
    cols = ["region_code", "region_name", "year", "insured", "population", "balance_end", "expenditure_total",
            "income_total", "income_individual", "income_fiscal_subsidy", "expenditure_growth", "share_60plus"]
    df = df[cols].sort_values("region_code").reset_index(drop=True)
    df["insured"] = df.insured.astype(float)
    df["population"] = df.population.astype(float)
    return df
