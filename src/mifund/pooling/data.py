"""Inputs of the pooling simulator: the counties' historical ledgers from the warehouse, their targets,
and Monte Carlo paths projected from them.

``ledger_input(wh, city=..., scheme=..., fund=...)`` reads the annual ``fund_ledger`` rows of the
counties directly under ``city`` (one Ibis expression), requires every county to have every year
(a gap is an error that names it), and returns a ``PoolingInput`` of one path with the opening
balance = first year's balance_end - income + expenditure (so that the county mode reproduces the
ledger's balances). ``monte_carlo_input(hist, ...)`` projects paths for later years; projection
paths from elsewhere (e.g. the projection module) come in through ``paths_input(df, ...)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mifund.pooling.engine import PoolingInput
from mifund.pooling.params import Target, Targets, value_at


class PoolingDataError(ValueError):
    pass


def _target(target: Target, values: np.ndarray, insured: np.ndarray, years: list[int], *, upper: bool):
    """(P, N, T) target (income) or budget (expenditure); -inf / +inf where there is none."""
    none = np.full(values.shape, np.inf if upper else -np.inf)
    if target.basis == "none":
        return none
    tol = np.array([value_at(target.tolerance, y) if target.tolerance else 0.0 for y in years])
    factor = (1 + tol) if upper else (1 - tol)
    if target.basis == "city_per_capita":
        per = values.sum(axis=1, keepdims=True) / insured.sum(axis=0)[None, None, :]
        return per * insured[None] * factor
    tot = values.sum(axis=1, keepdims=True)
    growth = np.ones_like(tot)
    growth[:, :, 1:] = tot[:, :, 1:] / tot[:, :, :-1]
    out = none.copy()
    out[:, :, 1:] = values[:, :, :-1] * growth[:, :, 1:] * factor[1:]
    return out


def with_targets(inp: PoolingInput, targets: Targets | None, insured: np.ndarray) -> PoolingInput:
    """`inp` with income_target and expenditure_budget set by the rules in `targets`."""
    if targets is None:
        return inp
    inc, exp, *_ = inp.arrays()
    inp.income_target = _target(targets.income, inc, insured, inp.years, upper=False)
    inp.expenditure_budget = _target(targets.expenditure, exp, insured, inp.years, upper=True)
    inp.weights = insured
    return inp


def counties_of(wh, city: str | None) -> pd.DataFrame:
    """region_code, name of the counties whose parent is `city` (the only city when None)."""
    r = wh.to_pandas(wh.table("regions"))
    if city is None:
        cities = r.loc[r.level == "city", "region_code"].tolist()
        if len(cities) != 1:
            raise PoolingDataError(f"give --city: the warehouse has {len(cities)} cities ({', '.join(cities[:5])})")
        city = cities[0]
    c = r[(r.parent_code == city) & (r.level == "county")].sort_values("region_code")
    if c.empty:
        raise PoolingDataError(f"no counties under {city} in the regions table")
    return c[["region_code", "name"]].reset_index(drop=True)


def city_of(wh, county: str) -> str:
    """The parent region of a county (the city whose pooling is simulated)."""
    r = wh.table("regions")
    got = wh.to_pandas(r.filter(r.region_code == county).select("parent_code"))
    return str(got.parent_code.iloc[0]) if len(got) and got.parent_code.iloc[0] else county


_COLS = ("insured", "income_total", "income_fiscal_subsidy", "expenditure_total", "balance_end")


def ledger_frame(wh, codes: list[str], scheme: str, fund: str, years: list[int] | None = None) -> pd.DataFrame:
    """Annual ledger rows of `codes`. Employee ``combined`` (统账合计) where a county reports it split: derived
    as ``mifund.ledger.indicators`` does, pooled + account (amounts summed, NULL if either is missing; the
    insured taken once, the same persons), a reported combined row taking precedence."""
    t = wh.table("fund_ledger")
    t = t.filter(t.month.isnull(), t.scheme == scheme, t.region_code.isin(codes))
    if years:
        t = t.filter(t.year.isin(list(years)))
    t = t.select("region_code", "year", "fund", *_COLS)
    out = t.filter(t.fund == fund).drop("fund")
    if fund == "combined":
        keys = ["region_code", "year"]
        pooled = t.filter(t.fund == "pooled").drop("fund")
        acc = t.filter(t.fund == "account").drop("fund").rename({f"a_{c}": c for c in _COLS})
        j = pooled.join(acc, keys).anti_join(out, keys)
        derived = j.select(*keys, insured=j.insured.coalesce(j.a_insured),
                           **{c: j[c] + j[f"a_{c}"] for c in _COLS if c != "insured"})
        out = out.union(derived.select(*keys, *_COLS), distinct=False)
    return wh.to_pandas(out.order_by(["region_code", "year"]))


def ledger_input(wh, *, city: str | None = None, scheme: str = "resident", fund: str = "pooled",
                 years: list[int] | None = None, targets: Targets | None = None) -> tuple[PoolingInput, pd.DataFrame]:
    """(PoolingInput of one path, the ledger rows it came from). ``account`` is refused: individual
    accounts belong to their holders and are not pooled."""
    if fund not in ("pooled", "combined"):
        raise PoolingDataError(f"fund {fund!r}: pooled or combined (individual accounts are not pooled)")
    counties = counties_of(wh, city)
    codes = counties.region_code.tolist()
    df = ledger_frame(wh, codes, scheme, fund, years)
    if df.empty:
        raise PoolingDataError(f"no annual {scheme}/{fund} ledger rows for the counties {codes}")
    yrs = sorted(df.year.unique().tolist())
    full = pd.MultiIndex.from_product([codes, yrs], names=["region_code", "year"])
    d = df.set_index(["region_code", "year"]).reindex(full)
    missing = d[d[["income_total", "expenditure_total", "balance_end", "insured"]].isna().any(axis=1)]
    if len(missing):
        gaps = ", ".join(f"{r}/{y}" for r, y in missing.index[:8])
        raise PoolingDataError(f"{scheme}/{fund} ledger has gaps (every county needs every year): {gaps}")
    n, t_n = len(codes), len(yrs)

    def arr(col):
        return d[col].to_numpy(dtype=float).reshape(n, t_n)

    inc, exp, bal, ins = arr("income_total"), arr("expenditure_total"), arr("balance_end"), arr("insured")
    inp = PoolingInput(codes, yrs, inc, exp, bal[:, 0] - inc[:, 0] + exp[:, 0],
                       names=dict(zip(counties.region_code, counties.name, strict=True)))
    return with_targets(inp, targets, ins), df


def monte_carlo_input(hist: PoolingInput, insured_last: np.ndarray, *, horizon: int, n_paths: int, seed: int,
                      opening_balance: np.ndarray, targets: Targets | None = None) -> PoolingInput:
    """Paths of the next `horizon` years: each county's log growth of income and expenditure drawn
    from a multivariate normal whose mean is the county's historical mean growth and whose covariance
    (2N x 2N, across counties and both flows) is the Ledoit-Wolf shrinkage estimate of the history's
    (scikit-learn), so that counties move together as they did. Insured held at the last year.

    A county-year of income or expenditure at or below 0 has no log growth: the year-to-year steps into
    and out of it are left out of the fit (for every county, so that the steps stay joint), and a note in
    ``notes`` names it; an error names it where that leaves fewer than 2 steps, or where it is the last
    year (the paths grow from it)."""
    from sklearn.covariance import LedoitWolf

    inc, exp, *_ = hist.arrays()
    inc, exp = inc[0], exp[0]
    if inc.shape[1] < 3:
        raise PoolingDataError("Monte Carlo needs at least 3 historical years")
    bad = ~(np.isfinite(inc) & np.isfinite(exp) & (inc > 0) & (exp > 0))          # (N, T)

    def named(cells) -> str:
        return ", ".join(f"{hist.regions[i]}/{hist.years[t]} (" + ("income" if not inc[i, t] > 0 else "expenditure")
                         + f" {inc[i, t] if not inc[i, t] > 0 else exp[i, t]:g})" for i, t in cells)

    where = named(zip(*np.nonzero(bad), strict=True))
    if bad[:, -1].any():
        last = named((i, bad.shape[1] - 1) for i in np.flatnonzero(bad[:, -1]))
        raise PoolingDataError(f"Monte Carlo: the paths grow from the last year {hist.years[-1]}, where income or "
                               f"expenditure is not positive: {last}")
    steps = ~(bad[:, :-1] | bad[:, 1:]).any(axis=0)                                  # (T-1,) steps fit
    if steps.sum() < 2:
        raise PoolingDataError(f"Monte Carlo: income or expenditure not positive in {where}; without "
                               f"the steps into and out of those years fewer than 2 year-to-year steps are left "
                               f"to fit the growth")
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.vstack([np.diff(np.log(inc), axis=1), np.diff(np.log(exp), axis=1)]).T[steps]  # (steps, 2N)
    notes = []
    if not steps.all():
        notes.append(f"Monte Carlo growth fitted without the steps into and out of years with income or "
                     f"expenditure not positive: {where} ({int(steps.sum())} of {steps.size} steps kept)")
    mean = g.mean(axis=0)
    cov = LedoitWolf().fit(g).covariance_
    rng = np.random.default_rng(seed)
    shocks = rng.multivariate_normal(mean, cov, size=(n_paths, horizon))  # (P, H, 2N)
    n = inc.shape[0]
    growth = np.exp(np.cumsum(shocks, axis=1)).transpose(0, 2, 1)  # (P, 2N, H)
    p_inc = inc[:, -1][None, :, None] * growth[:, :n]
    p_exp = exp[:, -1][None, :, None] * growth[:, n:]
    last = hist.years[-1]
    years = list(range(last + 1, last + 1 + horizon))
    ins = np.repeat(np.asarray(insured_last, dtype=float)[:, None], horizon, axis=1)
    inp = PoolingInput(list(hist.regions), years, p_inc, p_exp, np.asarray(opening_balance, dtype=float),
                       names=dict(hist.names), notes=[*hist.notes, *notes])
    return with_targets(inp, targets, ins)


def paths_input(df: pd.DataFrame, opening: dict[str, float], insured: dict[str, float] | None = None,
                targets: Targets | None = None, names: dict[str, str] | None = None,
                interest_rate: float = 0.0) -> PoolingInput:
    """Paths given as a table with columns path, region_code, year, income_total, expenditure_total
    (e.g. the projection module's Monte Carlo output); opening balances by region. `interest_rate`: the
    rate the modes' funds earn on their balances, where income_total leaves interest out (0: it holds it)."""
    need = {"path", "region_code", "year", "income_total", "expenditure_total"}
    if missing := need - set(df.columns):
        raise PoolingDataError(f"paths table lacks columns {sorted(missing)}")
    codes = sorted(df.region_code.astype(str).unique())
    yrs = sorted(df.year.unique().tolist())
    paths = sorted(df.path.unique().tolist())
    idx = pd.MultiIndex.from_product([paths, codes, yrs], names=["path", "region_code", "year"])
    d = df.assign(region_code=df.region_code.astype(str)).set_index(["path", "region_code", "year"]).reindex(idx)
    if d[["income_total", "expenditure_total"]].isna().any().any():
        raise PoolingDataError("paths table must have every path x region x year")
    shape = (len(paths), len(codes), len(yrs))
    inp = PoolingInput(codes, yrs, d.income_total.to_numpy(float).reshape(shape),
                       d.expenditure_total.to_numpy(float).reshape(shape),
                       np.array([opening[c] for c in codes], dtype=float), names=names or {},
                       interest_rate=interest_rate)
    ins = np.ones((len(codes), len(yrs))) if insured is None else np.repeat(
        np.array([insured[c] for c in codes], dtype=float)[:, None], len(yrs), axis=1)
    return with_targets(inp, targets, ins)


def projection_input(wh, hist: PoolingInput, *, scheme: str = "resident", fund: str = "pooled",
                     scenario: str | None = None, n_paths: int = 500, horizon: int = 10, seed: int = 1,
                     targets: Targets | None = None) -> PoolingInput:
    """The counties' Monte Carlo paths from the projection module (cohort model, the scenario's correlated
    shocks) instead of this module's own growth model: each path's projected income and expenditure of
    the counties' `scheme` fund, from their balances at the end of the ledger's last year.

    Income is the projected contributions only, and the scenario's interest rate goes with it: the
    projection's own interest was earned on each county's stand-alone balance, which no pooled mode
    holds (a city fund, a pot, a county topped up to 0), so each mode earns its interest on its own
    balances (``mifund.pooling.engine``)."""
    from mifund.projection.base import base_from_warehouse
    from mifund.projection.engine import project
    from mifund.projection.scenario import load_scenario

    s = load_scenario(scenario, paths=n_paths, years=horizon, seed=seed)
    # the scenario's own tables (life table, cost curve, age structure) and cost curve choice, as
    # `mifund project run` uses them
    base = base_from_warehouse(wh, region_codes=list(hist.regions), schemes=[scheme], tables=s.tables,
                               curve=s.expenditure_curve)
    u = base.units.reset_index(drop=True)
    keep = (u.scheme == scheme) & (u.fund == fund) & u.region_code.astype(str).isin(hist.regions)
    if not keep.any():
        raise PoolingDataError(f"the projection has no {scheme}/{fund} units for the counties {hist.regions}")
    p = project(base, s)
    idx = np.flatnonzero(keep.to_numpy())
    codes = u.region_code.astype(str).to_numpy()[idx]
    P, T = p.income.shape[0], len(p.years)
    df = pd.DataFrame({
        "path": np.repeat(np.arange(P), len(idx) * T),
        "region_code": np.tile(np.repeat(codes, T), P),
        "year": np.tile(np.asarray(p.years), P * len(idx)),
        "income_total": p.contributions[:, idx, :].reshape(-1),  # no interest: each mode earns its own
        "expenditure_total": p.expenditure[:, idx, :].reshape(-1),
    })
    opening = dict(zip(codes, base.balance[idx], strict=True))
    insured = dict(zip(codes, p.insured[0, idx, 0], strict=True))
    return paths_input(df, opening, insured, targets, names=hist.names,
                       interest_rate=s.assumptions.interest_rate.value)
