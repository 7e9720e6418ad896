"""Tables from pooling results: per county-year, per county over the period, one row per mode, the
incentives check and the reconciliation with the ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mifund.pooling.engine import COUNTY_FIELDS, PoolingInput, PoolingResult, simulate
from mifund.pooling.params import ModeFile

MONEY = [f for f in COUNTY_FIELDS if f != "fund_months"]
HALF_FEN = 0.005   # yuan: money within half a fen of the safety line is at the line, not below it


def _short_of(months, monthly_expenditure, line) -> np.ndarray:
    """months < line by more than half a fen of money. A fund topped up exactly to the line (the
    adjustment fund's safety_line trigger) gets months = balance / (expenditure / 12), which float
    rounding can leave at 2.9999999999999996 for 3; that fund is at the line, not below it."""
    m = np.asarray(monthly_expenditure, dtype=float)
    tol = HALF_FEN / np.where(m > 0, m, np.inf)
    return np.asarray(months) < line - tol


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
    rows["p_below_safety_line"] = _short_of(c["fund_months"], c["expenditure"] / 12,
                                            _per_county(safety_line)).mean(axis=0).ravel()
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


def _per_county(line) -> np.ndarray | float:
    """A line given per county (N,) shaped to broadcast against (P, N, T) county arrays."""
    a = np.asarray(line, dtype=float)
    return a[None, :, None] if a.ndim == 1 else float(a)


def _below(res: PoolingResult, safety_line, city_line: float | None = None) -> dict[str, np.ndarray]:
    """(P, T) booleans, each defined the same way in every mode (NaN where the mode has no such fund):

    any_county_fund: some county's own fund holds fewer than `safety_line` months of its expenditure
    (county and adjustment-fund modes; under unified counties keep no fund of their own);
    city_fund: the one city fund of a unified mode; all_funds: all the money in the city's funds
    together (county funds + the adjustment pot, or the city fund) against the whole city's expenditure;
    paying_fund: the fund that pays some county's claims (any_county_fund, or the city fund under unified).
    `safety_line`: months, one number or one per county; `city_line` for the city-wide funds (default: the
    one number, or the strictest county line)."""
    if city_line is None:
        city_line = float(np.max(safety_line))
    c = res.county
    p, t = res.pool_balance.shape
    nan = np.full((p, t), np.nan)
    exp_m = c["expenditure"].sum(axis=1) / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        all_months = np.where(exp_m > 0, res.money_by_year() / exp_m, np.nan)
    if res.mode.kind == "unified":
        county, city = nan, _short_of(res.pool_months, exp_m, city_line).astype(float)
        paying = city
    else:
        county = _short_of(c["fund_months"], c["expenditure"] / 12, _per_county(safety_line)).any(axis=1)
        county, city = county.astype(float), nan
        paying = county
    return {"any_county_fund": county, "city_fund": city,
            "all_funds": _short_of(all_months, exp_m, city_line).astype(float),
            "paying_fund": paying, "all_funds_months": all_months}


def mode_summary(res: PoolingResult, safety_line, confidence: float = 0.95, city_line: float | None = None) -> dict:
    """One row: the period's totals (mean over paths), probabilities and the reserve needed.

    ``deficit`` is expenditure above income (the same in every mode); the adjustment fund's
    contributions are apart (``contributions_to_pot``, of which ``contribution_beyond_surplus`` had to
    come from a county's balance or a top-up). ``to_cover`` = deficit + contribution_beyond_surplus is
    what the ``covered_…`` columns sum to (in every mode; K is zero outside the adjustment fund). The
    safety-line figures are named for the fund they
    test (see ``_below``): ``p_…`` = share of paths with at least one year below, ``share_years_…`` =
    share of path-years below. ``p_below_safety_line`` / ``share_years_below_safety_line`` are the
    paying-fund figures, kept under their old names for the annual report and the dashboard."""
    c = res.county
    tot = {k: c[k].sum(axis=(1, 2)) for k in ("deficit", "contribution_beyond_surplus", "covered_own_balance",
                                               "covered_pool", "covered_county_treasury", "covered_city_treasury")}
    topups = tot["covered_county_treasury"] + tot["covered_city_treasury"]
    below = _below(res, safety_line, city_line)
    adj = res.mode.kind == "adjustment_fund"
    row = {
        "mode": res.mode_name,
        "label": res.mode.label_zh,
        "kind": res.mode.kind,
        "management": res.mode.management,
        "paths": res.n_paths,
        "deficit": tot["deficit"].mean(),
        "contributions_to_pot": c["contribution"].sum(axis=(1, 2)).mean() if adj else np.nan,
        "paid_from_pot": c["received_from_pool"].sum(axis=(1, 2)).mean() if adj else np.nan,
        "contribution_beyond_surplus": tot["contribution_beyond_surplus"].mean() if adj else np.nan,
        # what the covered_* figures below add up to: the deficit and, under the adjustment fund, the
        # contributions the surplus could not pay (paid from the balance too, so not "deficit" alone)
        "to_cover": (tot["deficit"] + tot["contribution_beyond_surplus"]).mean(),
        "covered_own_balance": tot["covered_own_balance"].mean(),
        "covered_pool": tot["covered_pool"].mean(),
        "covered_county_treasury": tot["covered_county_treasury"].mean(),
        "covered_city_treasury": tot["covered_city_treasury"].mean(),
        "treasury_topups": topups.mean(),
        "p_any_topup": float((topups > 0.005).mean()),
    }
    for k in ("any_county_fund", "city_fund", "all_funds"):
        b = below[k]
        row[f"p_{k}_below"] = float(b.max(axis=1).mean()) if not np.isnan(b).all() else np.nan
        row[f"share_years_{k}_below"] = float(b.mean()) if not np.isnan(b).all() else np.nan
    row["p_below_safety_line"] = float(below["paying_fund"].max(axis=1).mean())
    row["share_years_below_safety_line"] = float(below["paying_fund"].mean())
    exp_m_end = c["expenditure"][:, :, -1].sum(axis=1) / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        pool_months = np.where(exp_m_end > 0, res.pool_balance[:, -1] / exp_m_end, np.nan)
    q = round(confidence * 100)
    if res.interest_rate:  # paths from the projection: the interest each mode's own funds earned
        row["interest"] = res.total_interest().mean()
    return row | {
        f"reserve_city_q{q}": float(np.quantile(tot["covered_city_treasury"], confidence)),
        f"reserve_total_q{q}": float(np.quantile(topups, confidence)),
        "money_end": res.money_end().mean(),
        "all_funds_months_end": float(np.nanmean(below["all_funds_months"][:, -1])),
        "pool_end": res.pool_balance[:, -1].mean(),
        # the pot (or city fund) in months of the whole city's last-year expenditure: money held back
        "pool_months_end": float(np.nanmean(pool_months)) if res.mode.kind != "county" else np.nan,
    }


def run_modes(inp: PoolingInput, modes: ModeFile, only: list[str] | None = None,
              safety_line: float | None = None) -> dict[str, PoolingResult]:
    """Every mode (or `only` these) on `inp`; `safety_line` (months) for a safety_line draw trigger,
    by default the mode file's (read from the shipped warning rules)."""
    names = only or list(modes.modes)
    unknown = [m for m in names if m not in modes.modes]
    if unknown:
        raise KeyError(f"unknown mode(s) {unknown}; known: {', '.join(modes.modes)}")
    line = _line_for(modes, names, safety_line)
    return {m: simulate(inp, modes.modes[m], m, safety_line=line) for m in names}


def _line_for(modes: ModeFile, names: list[str], safety_line: float | None) -> float | None:
    """The safety line a safety_line draw trigger needs: the one given, else the mode file's."""
    if safety_line is None and any(modes.modes[m].adjustment_fund and modes.modes[m].adjustment_fund.draw_trigger
                                   == "safety_line" for m in names):
        from mifund.pooling.params import safety_line_months

        safety_line = safety_line_months(modes)
    return safety_line


def compare(results: dict[str, PoolingResult], safety_line, confidence: float = 0.95,
            city_line: float | None = None) -> pd.DataFrame:
    """One row per mode (``mode_summary``); `safety_line` one number or one per county."""
    df = pd.DataFrame([mode_summary(r, safety_line, confidence, city_line) for r in results.values()])
    base = df.loc[df.kind == "county", "treasury_topups"]
    if len(base):
        b = base.iloc[0]
        df["topups_removed_vs_county"] = (b - df.treasury_topups) / b if b > 0 else np.nan
    return df


def conservation(inp: PoolingInput, results: dict[str, PoolingResult]) -> pd.DataFrame:
    """Per mode (mean over paths): opening + income - expenditure + interest + top-ups and the money at the
    end; `difference` is zero when money is conserved (no administration costs). ``interest`` is what the
    mode's own funds earned (zero on the ledger, whose income holds it): it differs between modes, as it
    should, so ``money_end_less_topups`` - ``interest`` is the figure that is the same in every mode."""
    inc, exp, _, _, b0, _ = inp.arrays()
    base = b0.sum(axis=1) + inc.sum(axis=(1, 2)) - exp.sum(axis=(1, 2))
    rows = []
    for name, r in results.items():
        topups, interest = r.total_topups(), r.total_interest()
        rows.append({"mode": name, "opening": b0.sum(axis=1).mean(), "income": inc.sum(axis=(1, 2)).mean(),
                     "expenditure": exp.sum(axis=(1, 2)).mean(), "interest": interest.mean(),
                     "treasury_topups": topups.mean(),
                     "money_end": r.money_end().mean(), "money_end_less_topups": (r.money_end() - topups).mean(),
                     "difference": float(np.abs(r.money_end() - topups - interest - base).max())})
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


def incentives(inp: PoolingInput, modes: ModeFile, only: list[str] | None = None,
               safety_line: float | None = None) -> pd.DataFrame:
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
                       expenditure_budget=np.nan_to_num(targets_bud, nan=np.inf), weights=w,
                       interest_rate=inp.interest_rate)
    rows = []
    names = only or list(modes.modes)
    line = _line_for(modes, names, safety_line)
    for name in names:
        r = simulate(pin, modes.modes[name], name, safety_line=line)
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
                         # + 0.0: a county that bears nothing shows 0.00 %, not -0.00 % (negative zero)
                         "share_of_overspending_borne": -d_exp / extra_exp[i] + 0.0 if extra_exp[i] else np.nan})
    return pd.DataFrame(rows)
