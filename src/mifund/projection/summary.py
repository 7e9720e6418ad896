"""Tables from a projection: the yearly path, fan-chart bands, risk by year, depletion years, tornado.

Warning levels and the safety line come from the early-warning rules (``mifund.ledger`` rules YAML,
rule ``payable_months_low`` / ``payable_months_high``, with their per-scheme, per-fund and per-region
overrides and a user's ``--rules`` file laid over the shipped one): no threshold is repeated here. The
safety line is resolved per unit through :mod:`mifund.pooling.safety`, the same resolver pooling and
transfers use, so one fund gets one line everywhere; its level (the scenario's ``safety_line``, orange
= 6 months by default where pooling uses red = 3) is named in every title and column that uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pandas as pd

from mifund.ledger.warning_rules import LEVELS, load_rules
from mifund.projection.engine import Base, Projection, project, roll_cohorts
from mifund.projection.scenario import SHOCKS, Scenario

QUANTILES = (5, 25, 50, 75, 95)


def thresholds(rules_path=None) -> tuple[dict[str, float], dict[str, float]]:
    """(low, high): level -> months of payment capacity, from the warning rules."""
    r = load_rules(rules_path)
    low = {lvl: t.value for lvl, t in r.rules.payable_months_low.levels.items()}
    high = {lvl: t.value for lvl, t in r.rules.payable_months_high.levels.items()}
    return low, high


def safety_line(level: str, rules_path=None) -> float:
    """The rules' base line of ``level`` (no overrides); commands use :func:`unit_safety_line`."""
    low, _ = thresholds(rules_path)
    if level not in low:
        raise ValueError(f"safety_line: the warning rules have no payable_months_low level {level!r}")
    return low[level]


def unit_safety_line(p: Projection, level: str | None = None, rules_path=None):
    """``mifund.pooling.safety.SafetyLine`` for every unit of ``p`` (months (U,), level, rules file): the
    scenario's level (or ``level``) after the rules' overrides for each region x scheme x fund."""
    from mifund.pooling.safety import resolve

    return resolve(p.base.units, level=level or p.scenario.safety_line, rules=rules_path)


def _levels_per_row(months: np.ndarray, rows: pd.DataFrame, rules_path) -> np.ndarray:
    from mifund.ledger.warnings import _Params

    wr = load_rules(rules_path)
    r = rows[["region_code", "scheme", "fund"]].astype(str).reset_index(drop=True)
    low, _, _ = _Params("payable_months_low", wr.rule("payable_months_low"), r).pick(months, "below")
    high, _, _ = _Params("payable_months_high", wr.rule("payable_months_high"), r).pick(months, "above")
    out = np.where(low != "", low, high).astype(object)
    out[np.isnan(months)] = ""
    return out


def warning_level(months: np.ndarray, rules_path=None, rows: pd.DataFrame | None = None) -> np.ndarray:
    """Most severe level whose payable-months condition holds (strict, as the warning rules); '' if none.

    With ``rows`` (region_code, scheme, fund per value) the rules' overrides for each row apply, as in
    ``mifund warnings``; without, the rules' base levels."""
    m = np.asarray(months, dtype=float)
    if rows is not None:
        return _levels_per_row(m, rows, rules_path)
    low, high = thresholds(rules_path)
    out = np.full(m.shape, "", dtype=object)
    for lvl in reversed(LEVELS):  # least severe first, more severe overwrite
        if lvl in low:
            out[m < low[lvl]] = lvl
        if lvl in high:
            out[m > high[lvl]] = lvl
    out[np.isnan(m)] = ""
    return out


def _unit_cols(p: Projection) -> pd.DataFrame:
    return p.base.units[["region_code", "region_name", "scheme", "fund"]]


def yearly(p: Projection, path: int = 0, rules_path=None) -> pd.DataFrame:
    """One row per unit x year of one path (path 0 of a deterministic projection: the central path);
    ``warning_level`` by the warning rules (``rules_path`` laid over the shipped ones) for each unit."""
    U, T = p.balance.shape[1:]
    emp = p.base.employee
    rows = _unit_cols(p).loc[np.repeat(np.arange(U), T)].reset_index(drop=True)
    rows.insert(2, "year", np.tile(p.years, U))
    f = lambda x: x[path].reshape(-1)  # noqa: E731
    rows["insured"] = np.round(f(p.insured)).astype("int64")
    rows["insured_in_service"] = pd.array(np.where(np.repeat(emp, T), np.round(f(p.in_service)), np.nan), "Int64")
    rows["insured_retired"] = pd.array(np.where(np.repeat(emp, T), np.round(f(p.retired)), np.nan), "Int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["support_ratio"] = np.where(np.repeat(emp, T), f(p.in_service) / f(p.retired), np.nan)
    rows["income_total"] = f(p.income)
    rows["income_interest"] = f(p.interest)
    rows["expenditure_total"] = f(p.expenditure)
    rows["surplus"] = rows["income_total"] - rows["expenditure_total"]
    rows["balance_end"] = f(p.balance)
    rows["payable_months"] = f(p.payable_months)
    rows["warning_level"] = warning_level(rows["payable_months"].to_numpy(), rules_path, rows=rows)
    return rows


def bands(p: Projection, measure: str = "balance", quantiles=QUANTILES) -> pd.DataFrame:
    """Percentiles over paths of a measure (balance, payable_months, income, expenditure, insured)."""
    x = getattr(p, measure)
    q = np.percentile(x, quantiles, axis=0)                            # (Q, U, T)
    U, T = x.shape[1:]
    rows = _unit_cols(p).loc[np.repeat(np.arange(U), T)].reset_index(drop=True)
    rows.insert(2, "year", np.tile(p.years, U))
    rows.insert(5, "measure", measure)
    for i, qq in enumerate(quantiles):
        rows[f"p{qq}"] = q[i].reshape(-1)
    rows["mean"] = x.mean(axis=0).reshape(-1)
    return rows


def risk(p: Projection, line) -> pd.DataFrame:
    """Per unit x year: share of paths below the safety line and exhausted (balance < 0).

    ``line``: a ``mifund.pooling.safety.SafetyLine`` (months per unit, and its level, named in the
    ``safety_line_level`` column), or months: one number or one per unit."""
    months = p.payable_months
    U, T = months.shape[1:]
    level = getattr(line, "level", None)
    m = np.broadcast_to(np.asarray(getattr(line, "months", line), dtype=float), (U,))
    rows = _unit_cols(p).loc[np.repeat(np.arange(U), T)].reset_index(drop=True)
    rows.insert(2, "year", np.tile(p.years, U))
    rows["paths"] = months.shape[0]
    if level is not None:
        rows["safety_line_level"] = f"{level} ({getattr(line, 'rule', 'payable_months_low')})"
    rows["safety_line_months"] = np.repeat(m, T)
    rows["p_below_safety_line"] = (months < m[None, :, None]).mean(axis=0).reshape(-1)
    rows["p_exhausted"] = (p.balance < 0).mean(axis=0).reshape(-1)
    rows["balance_p50"] = np.median(p.balance, axis=0).reshape(-1)
    rows["payable_months_p50"] = np.median(months, axis=0).reshape(-1)
    return rows


def depletion(p: Projection) -> pd.DataFrame:
    """Distribution of the depletion year per unit: share of paths first negative in each year."""
    d = p.depletion_year()                                             # (P, U), 0 = lasts
    P = d.shape[0]
    out = []
    for u in range(d.shape[1]):
        vals, counts = np.unique(d[:, u], return_counts=True)
        cum = 0.0
        for v, c in sorted(zip(vals, counts, strict=True), key=lambda x: (x[0] == 0, x[0])):
            share = c / P
            cum += share
            out.append({**_unit_cols(p).iloc[u].to_dict(),
                        "depletion_year": f"after {p.years[-1]}" if v == 0 else str(int(v)),
                        "paths": int(c), "share": share, "cumulative": cum})
    return pd.DataFrame(out)


def _year_or_na(v) -> object:
    """A depletion year for machines: the year, or NA (<NA>, null in json, empty in csv) where the fund
    lasts the horizon; a ``…depleted_within_horizon`` boolean column says which. ``for_people`` turns
    the NA back into 'after YYYY' for a people's table."""
    return pd.NA if v == 0 or not np.isfinite(v) else int(v)


def for_people(df: pd.DataFrame, end: int) -> pd.DataFrame:
    """The words people read in place of machine nulls: a missing depletion year reads 'after {end}', a
    missing years_gained '—', '>= n' (its lower bound) or '<= n' (its upper bound); the booleans and bound
    columns that say the same are dropped."""
    out = df.copy()
    for c in out.columns:
        if c.endswith("depletion_year") or c.startswith("year_p") or c.startswith("depletion_"):
            out[c] = [f"after {end}" if pd.isna(v) else str(int(v)) for v in out[c]]
    if "years_gained" in out:
        na = pd.Series(pd.NA, index=out.index)
        lb, ub = out.get("years_gained_at_least", na), out.get("years_gained_at_most", na)
        out["years_gained"] = [str(int(g)) if pd.notna(g) else f">= {int(b)}" if pd.notna(b)
                               else f"<= {int(t)}" if pd.notna(t) else "—"
                               for g, b, t in zip(out["years_gained"], lb, ub, strict=True)]
    drop = [c for c in out.columns if c.endswith("depleted_within_horizon")
            or c in ("years_gained_at_least", "years_gained_at_most")]
    return out.drop(columns=drop)


def machine_depletion(df: pd.DataFrame) -> pd.DataFrame:
    """``depletion`` (whose text column the warehouse stores) for csv/json/xlsx: year or null + boolean."""
    out = df.copy()
    words = out["depletion_year"].astype(str)
    out["depleted_within_horizon"] = ~words.str.startswith("after")
    out["depletion_year"] = pd.array([pd.NA if w.startswith("after") else int(w) for w in words], dtype="Int64")
    return out


def depletion_summary(p: Projection) -> pd.DataFrame:
    """Per unit: probability of depletion within the horizon and percentiles of the depletion year (NA where
    that share of paths lasts the horizon: see ``for_people``)."""
    d = p.depletion_year().astype(float)
    rows = []
    for u in range(d.shape[1]):
        x = d[:, u]
        hit = x[x > 0]
        row = {**_unit_cols(p).iloc[u].to_dict(), "paths": len(x), "p_depleted": len(hit) / len(x)}
        for q in (5, 50, 95):
            # the q-th percentile over all paths, paths that never deplete counting as 'later'
            v = np.percentile(np.where(x > 0, x, np.inf), q, method="inverted_cdf")
            row[f"year_p{q}"] = _year_or_na(v)
            row[f"year_p{q}_depleted_within_horizon"] = bool(np.isfinite(v))
        rows.append(row)
    out = pd.DataFrame(rows)
    for q in (5, 50, 95):
        out[f"year_p{q}"] = out[f"year_p{q}"].astype("Int64")
    return out


# -- sensitivity ----------------------------------------------------------------------------------------
def _variants(s: Scenario) -> list[tuple[str, str, Scenario, Scenario]]:
    """(assumption, range text, low scenario, high scenario): stochastic means -/+ one sd, scalars -/+ 20 %."""
    out = []
    a = s.assumptions
    for name in SHOCKS[:3]:
        x = getattr(a, name)
        lo, hi = copy.deepcopy(s), copy.deepcopy(s)
        getattr(lo.assumptions, name).mean = x.mean - x.sd
        getattr(hi.assumptions, name).mean = x.mean + x.sd
        out.append((name, f"{x.mean - x.sd:.4g} .. {x.mean + x.sd:.4g}", lo, hi))
    for scheme in ("resident", "employee"):
        x = getattr(a.enrolment_change, scheme)
        lo, hi = copy.deepcopy(s), copy.deepcopy(s)
        getattr(lo.assumptions.enrolment_change, scheme).mean = x.mean - x.sd
        getattr(hi.assumptions.enrolment_change, scheme).mean = x.mean + x.sd
        out.append((f"enrolment_change.{scheme}", f"{x.mean - x.sd:.4g} .. {x.mean + x.sd:.4g}", lo, hi))
    for name in ("interest_rate", "birth_rate", "employee_entry_rate", "pension_to_wage"):
        v = getattr(a, name).value
        lo, hi = copy.deepcopy(s), copy.deepcopy(s)
        getattr(lo.assumptions, name).value = v * 0.8
        getattr(hi.assumptions, name).value = v * 1.2
        out.append((name, f"{v * 0.8:.4g} .. {v * 1.2:.4g}", lo, hi))
    return out


_DEMOGRAPHIC = {"birth_rate", "employee_entry_rate"}


def tornado(base: Base, s: Scenario, *, horizon: int = 10) -> pd.DataFrame:
    """Deterministic sensitivity of the depletion year and the year-``horizon`` balance to each assumption.

    One row per unit x assumption: the central value, the values at the low and high end, and the swing
    (high - low) of the balance; rows sorted by the absolute swing (the widest bar first).
    """
    years = max(s.years, horizon)
    cohorts = roll_cohorts(base, s, np.arange(base.base_year + 1, base.base_year + years + 1))
    central = project(base, s, paths=0, years=years, cohorts=cohorts)
    h = horizon - 1
    rows = []

    def dep(p):
        return p.depletion_year()[0]

    c_dep, c_bal = dep(central), central.balance[0, :, h]
    for name, rng, lo, hi in _variants(s):
        kw = {} if name in _DEMOGRAPHIC else {"cohorts": cohorts}
        plo = project(base, lo, paths=0, years=years, **kw)
        phi = project(base, hi, paths=0, years=years, **kw)
        for u in range(len(base.units)):
            fmt = _year_or_na
            rows.append({**base.units.iloc[u][["region_code", "region_name", "scheme", "fund"]].to_dict(),
                         "assumption": name, "range": rng,
                         "depletion_central": fmt(c_dep[u]), "depletion_low": fmt(dep(plo)[u]),
                         "depletion_high": fmt(dep(phi)[u]),
                         f"balance_y{horizon}_central": c_bal[u],
                         f"balance_y{horizon}_low": plo.balance[0, u, h],
                         f"balance_y{horizon}_high": phi.balance[0, u, h],
                         "swing": phi.balance[0, u, h] - plo.balance[0, u, h]})
    df = pd.DataFrame(rows)
    for c in ("depletion_central", "depletion_low", "depletion_high"):
        df[c] = df[c].astype("Int64")
    df["_abs"] = df["swing"].abs()
    df = df.sort_values(["region_code", "scheme", "_abs"], ascending=[True, True, False]).drop(columns="_abs")
    return df.reset_index(drop=True)


def compare(base: Base, a: Scenario, b: Scenario, *, paths: int | None = None, years: int | None = None,
            horizon: int = 10, base_b: Base | None = None, names: tuple[str, str] | None = None,
            totals: Callable[[Projection], Projection] | None = None) -> pd.DataFrame:
    """Per unit: depletion year (deterministic), year-``horizon`` balance and, with paths, the probability of
    depletion within the horizon, under scenario a and b, and the years b buys over a.

    ``base_b``: b's own starting point where b's tables (age-cost curve, age structure) differ from a's;
    it must hold the same units in the same order. ``names``: what the ``a_scenario`` / ``b_scenario``
    columns say (default ``scenario.labels``: the names, told apart where a and b share one); the results
    are held by position, never by name, so two scenarios of the same name keep their own figures.
    ``totals``: applied to every run (the CLI adds the city above its counties, summed path by path,
    so the figure a bureau asks for, the city's years gained, is a row too).

    ``years_gained`` (B's depletion year less A's) is exact where both deplete within the horizon; where
    only one does, the other's year is only known to be after the horizon, so it is a bound:
    ``years_gained_at_least`` (only A depletes: B lasts at least that much longer) or
    ``years_gained_at_most`` (only B depletes: B gains at most that, a loss), ``years_gained`` null."""
    from mifund.projection.scenario import labels

    names = names or labels(a, b)
    res = []
    for s, bs in ((a, base), (b, base if base_b is None else base_b)):
        T = years or max(a.years, b.years)
        det = project(bs, s, paths=0, years=T)
        mc = project(bs, s, paths=paths, years=T) if (paths if paths is not None else s.paths) > 0 else None
        if totals is not None:
            det, mc = totals(det), None if mc is None else totals(mc)
        res.append((det, mc))
    out = []
    end = res[0][0].years[-1]
    units = res[0][0].base.units
    cols = ["region_code", "region_name", "scheme", "fund", *(["basis"] if "basis" in units else [])]
    for u in range(len(units)):
        row = units.iloc[u][cols].to_dict()
        deps = {}
        for i, tag in enumerate(("a", "b")):
            det, mc = res[i]
            y = det.depletion_year()[0, u]
            deps[tag] = y
            row[f"{tag}_scenario"] = names[i]
            row[f"{tag}_depletion_year"] = _year_or_na(y)
            row[f"{tag}_depleted_within_horizon"] = bool(y != 0)
            h = min(horizon, len(det.years)) - 1
            row[f"{tag}_balance_y{horizon}"] = det.balance[0, u, h]
            row[f"{tag}_months_y{horizon}"] = det.payable_months[0, u, h]
            if mc is not None:
                row[f"{tag}_p_depleted"] = float((mc.depletion_year()[:, u] > 0).mean())
        # a fund that lasts the horizon depletes in end + 1 at the earliest
        ya, yb = (deps["a"] or end + 1), (deps["b"] or end + 1)
        both = deps["a"] != 0 and deps["b"] != 0
        row["years_gained"] = int(yb - ya) if both else pd.NA
        row["years_gained_at_least"] = int(yb - ya) if deps["a"] != 0 and deps["b"] == 0 else pd.NA
        row["years_gained_at_most"] = int(yb - ya) if deps["a"] == 0 and deps["b"] != 0 else pd.NA
        out.append(row)
    df = pd.DataFrame(out)
    for c in ("a_depletion_year", "b_depletion_year", "years_gained", "years_gained_at_least",
              "years_gained_at_most"):
        df[c] = df[c].astype("Int64")
    return df
