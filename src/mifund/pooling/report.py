"""Tables from pooling results: per county-year, per county over the period, one row per mode, the
incentives check and the reconciliation with the ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mifund.pooling.engine import COUNTY_FIELDS, PoolingInput, PoolingResult, simulate
from mifund.pooling.params import ModeFile

MONEY = [f for f in COUNTY_FIELDS if f != "fund_months"]


def county_years(res: PoolingResult, safety_line: float, names: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per county and year: the money (mean over paths), and with paths the probabilities
    of a current deficit, of a treasury top-up and of the fund that pays the county being below the
    safety line."""
    c = res.county
    p, n, t = c["income"].shape
    rows = {
        "mode": res.mode_name,
        "region_code": np.repeat(res.regions, t),
        "region_name": [(names or {}).get(r, "") for r in np.repeat(res.regions, t)],
        "year": np.tile(res.years, n),
    }
    for f in MONEY:
        rows[f] = c[f].mean(axis=0).ravel()
    rows["fund_months"] = np.nanmean(c["fund_months"], axis=0).ravel() if p > 1 else c["fund_months"][0].ravel()
    topup = c["covered_county_treasury"] + c["covered_city_treasury"]
    rows["p_deficit"] = (c["deficit"] > 0.005).mean(axis=0).ravel()
    rows["p_topup"] = (topup > 0.005).mean(axis=0).ravel()
    rows["p_below_safety_line"] = (c["fund_months"] < safety_line).mean(axis=0).ravel()
    return pd.DataFrame(rows)


def cross_subsidy(res: PoolingResult, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per county over the whole period (mean over paths): paid to the pool (adjustment contributions;
    unified: surpluses and the opening balance handed to the city fund), received from it, the net
    cross-subsidy (received - paid, positive = subsidised by the others), top-ups by treasury."""
    c = res.county
    paid = c["paid_to_pool"].sum(axis=2).mean(axis=0)
    received = c["received_from_pool"].sum(axis=2).mean(axis=0)
    return pd.DataFrame({
        "mode": res.mode_name,
        "region_code": res.regions,
        "region_name": [(names or {}).get(r, "") for r in res.regions],
        "deficit": c["deficit"].sum(axis=2).mean(axis=0),
        "county_responsibility": c["county_responsibility"].sum(axis=2).mean(axis=0),
        "paid_to_pool": paid,
        "received_from_pool": received,
        "net_cross_subsidy": received - paid,
        "county_treasury_topup": c["covered_county_treasury"].sum(axis=2).mean(axis=0),
        "city_treasury_topup": c["covered_city_treasury"].sum(axis=2).mean(axis=0),
        "balance_end": c["balance_end"][:, :, -1].mean(axis=0),
    })


def mode_summary(res: PoolingResult, safety_line: float, confidence: float = 0.95) -> dict:
    """One row: the period's totals (mean over paths), probabilities and the reserve needed."""
    c = res.county
    tot = {k: c[k].sum(axis=(1, 2)) for k in ("deficit", "covered_own_balance", "covered_pool",
                                               "covered_county_treasury", "covered_city_treasury")}
    topups = tot["covered_county_treasury"] + tot["covered_city_treasury"]
    if res.mode.kind == "unified":
        below = res.pool_months < safety_line  # (P, T): the one fund every county relies on
        short_years = below.any(axis=0)
    else:
        below = (c["fund_months"] < safety_line).any(axis=1)  # (P, T): any county fund below
    return {
        "mode": res.mode_name,
        "label": res.mode.label_zh,
        "kind": res.mode.kind,
        "management": res.mode.management,
        "paths": res.n_paths,
        "deficit": tot["deficit"].mean(),
        "covered_own_balance": tot["covered_own_balance"].mean(),
        "covered_pool": tot["covered_pool"].mean(),
        "covered_county_treasury": tot["covered_county_treasury"].mean(),
        "covered_city_treasury": tot["covered_city_treasury"].mean(),
        "treasury_topups": topups.mean(),
        "p_any_topup": float((topups > 0.005).mean()),
        "p_below_safety_line": float(below.any(axis=1).mean()),
        "share_years_below_safety_line": float(below.mean()),
        f"reserve_city_q{round(confidence * 100)}": float(np.quantile(tot["covered_city_treasury"], confidence)),
        f"reserve_total_q{round(confidence * 100)}": float(np.quantile(topups, confidence)),
        "money_end": res.money_end().mean(),
        "pool_end": res.pool_balance[:, -1].mean(),
    } | ({"unified_years_below": int(short_years.sum())} if res.mode.kind == "unified" else {})


def run_modes(inp: PoolingInput, modes: ModeFile, only: list[str] | None = None) -> dict[str, PoolingResult]:
    names = only or list(modes.modes)
    unknown = [m for m in names if m not in modes.modes]
    if unknown:
        raise KeyError(f"unknown mode(s) {unknown}; known: {', '.join(modes.modes)}")
    return {m: simulate(inp, modes.modes[m], m) for m in names}


def compare(results: dict[str, PoolingResult], safety_line: float, confidence: float = 0.95) -> pd.DataFrame:
    df = pd.DataFrame([mode_summary(r, safety_line, confidence) for r in results.values()])
    base = df.loc[df.kind == "county", "treasury_topups"]
    if len(base):
        b = base.iloc[0]
        df["topups_removed_vs_county"] = (b - df.treasury_topups) / b if b > 0 else np.nan
    return df


def conservation(inp: PoolingInput, results: dict[str, PoolingResult]) -> pd.DataFrame:
    """Per mode (mean over paths): opening + income - expenditure + top-ups and the money at the end;
    `difference` is zero when money is conserved (no administration costs)."""
    inc, exp, _, _, b0, _ = inp.arrays()
    base = b0.sum(axis=1) + inc.sum(axis=(1, 2)) - exp.sum(axis=(1, 2))
    rows = []
    for name, r in results.items():
        topups = r.total_topups()
        rows.append({"mode": name, "opening": b0.sum(axis=1).mean(), "income": inc.sum(axis=(1, 2)).mean(),
                     "expenditure": exp.sum(axis=(1, 2)).mean(), "treasury_topups": topups.mean(),
                     "money_end": r.money_end().mean(), "money_end_less_topups": (r.money_end() - topups).mean(),
                     "difference": float(np.abs(r.money_end() - topups - base).max())})
    return pd.DataFrame(rows)


def reconcile_with_ledger(results: dict[str, PoolingResult], ledger: pd.DataFrame) -> pd.DataFrame:
    """Historical run: per mode and year, the money in all funds less the top-ups so far, against the
    sum of the counties' ledger balances; the county mode, where no top-up was needed, also matches
    every county's own balance."""
    led = ledger.groupby("year").balance_end.sum()
    rows = []
    for name, r in results.items():
        c = r.county
        topups = np.cumsum((c["covered_county_treasury"] + c["covered_city_treasury"])[0].sum(axis=0))
        if r.mode.kind == "unified":
            money = r.pool_balance[0]
        else:
            money = c["balance_end"][0].sum(axis=0) + r.pool_balance[0]
        for t, y in enumerate(r.years):
            rows.append({"mode": name, "year": y, "ledger_balance": float(led.loc[y]),
                         "money_in_funds": money[t], "topups_to_date": topups[t],
                         "difference": money[t] - topups[t] - float(led.loc[y])})
    return pd.DataFrame(rows)


def incentives(inp: PoolingInput, modes: ModeFile, only: list[str] | None = None) -> pd.DataFrame:
    """For each mode and county: what collecting one more yuan every year, or letting expenditure grow one
    point a year faster, does to the county's own position at the end of the period (its own fund's
    balance, where it keeps one, less what its treasury paid). Computed by simulating the perturbed
    county as extra paths of the same run (exact, no approximation beyond the rules' kinks)."""
    inc, exp, tgt, bud, b0, w = inp.arrays()
    if inc.shape[0] != 1:
        inc, exp, tgt, bud, b0 = (a.mean(axis=0, keepdims=True) for a in (inc, exp, tgt, bud, b0))
    n, t_n = inc.shape[1], inc.shape[2]
    k = 2 * n + 1  # base path, +1 yuan income per county, +1 point growth per county
    inc_p = np.repeat(inc, k, axis=0)
    exp_p = np.repeat(exp, k, axis=0)
    grow = 1.01 ** np.arange(1, t_n + 1)
    for i in range(n):
        inc_p[1 + i, i, :] += 1.0
        exp_p[1 + n + i, i, :] *= grow
    targets_tgt = np.repeat(np.where(np.isfinite(tgt), tgt, np.nan), k, axis=0)
    targets_bud = np.repeat(np.where(np.isfinite(bud), bud, np.nan), k, axis=0)
    pin = PoolingInput(inp.regions, inp.years, inc_p, exp_p, np.repeat(b0, k, axis=0),
                       income_target=np.nan_to_num(targets_tgt, nan=-np.inf),
                       expenditure_budget=np.nan_to_num(targets_bud, nan=np.inf), weights=w)
    rows = []
    for name in only or list(modes.modes):
        r = simulate(pin, modes.modes[name], name)
        c = r.county
        keeps_fund = r.mode.kind != "unified"
        own = (c["balance_end"][:, :, -1] if keeps_fund else 0.0) - c["covered_county_treasury"].sum(axis=2)
        extra_exp = exp_p[1 + n:, :, :].sum(axis=2)[np.arange(n), np.arange(n)] - exp[0].sum(axis=1)
        for i, code in enumerate(inp.regions):
            d_inc = (own[1 + i, i] - own[0, i]) / t_n
            d_exp = own[1 + n + i, i] - own[0, i]
            rows.append({"mode": name, "region_code": code, "region_name": inp.names.get(code, ""),
                         "gain_per_extra_yuan_collected": d_inc,
                         "cost_of_1pt_faster_spending": d_exp,
                         "extra_spending_of_1pt": extra_exp[i],
                         "share_of_overspending_borne": -d_exp / extra_exp[i] if extra_exp[i] else np.nan})
    return pd.DataFrame(rows)
