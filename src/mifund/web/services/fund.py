"""Fund indicators and early warnings for the pages and the API, filtered by the user's regions."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from mifund.users import User
from mifund.web.errors import NotFound
from mifund.web.services.core import Services

LEVELS = ("red", "orange", "yellow", "blue")
SEVERITY = {lv: i for i, lv in enumerate(LEVELS)}
SCHEMES = ("total", "employee", "resident")


def _all_indicators(svc: Services) -> pd.DataFrame:
    def load(wh):
        from mifund.ledger.indicators import compute_indicators

        return compute_indicators(wh)

    return svc.cached("indicators", load)


def _all_warnings(svc: Services) -> pd.DataFrame:
    def load(wh):
        from mifund.ledger.indicators import compute_indicators, has_monthly_rows
        from mifund.ledger.warnings import evaluate, load_rules

        # the monthly rows too: the rules' `monthly` part judges the latest month of a year in progress
        ind = _all_indicators(svc)
        if has_monthly_rows(wh):
            ind = pd.concat([ind, compute_indicators(wh, monthly=True)], ignore_index=True)
        return evaluate(ind, load_rules())

    return svc.cached("warnings", load)


def indicators(svc: Services, user: User, *, region: str | None = None, years: list[int] | None = None,
               scheme: str | None = None, fund: str | None = None, subtree: bool = True) -> pd.DataFrame:
    """Annual indicator rows the user may see (a region asked for outside the scope: RegionForbidden)."""
    df = _all_indicators(svc)
    if region:
        svc.check_region(user, region)
        df = df[df.region_code == region] if not subtree else df[df.region_code.isin(svc.subtree(region))]
    df = svc.filter_regions(user, df)
    if years:
        df = df[df.year.isin(years)]
    if scheme:
        df = df[df.scheme == scheme]
    if fund:
        df = df[df.fund == fund]
    return df.reset_index(drop=True)


def warnings(svc: Services, user: User, *, region: str | None = None, years: list[int] | None = None,
             levels: list[str] | None = None, subtree: bool = True) -> pd.DataFrame:
    df = _all_warnings(svc)
    if region:
        svc.check_region(user, region)
        df = df[df.region_code == region] if not subtree else df[df.region_code.isin(svc.subtree(region))]
    df = svc.filter_regions(user, df)
    if years:
        df = df[df.year.isin(years)]
    if levels:
        df = df[df.level.isin(levels)]
    return df.reset_index(drop=True)


def years(svc: Services) -> list[int]:
    return sorted({int(y) for y in _all_indicators(svc)["year"].unique()})


def check_year(year: int | None, ys: list[int], what: str = "figures") -> None:
    """NotFound (year_not_found) for a year asked for that the data do not hold: a year without data must
    never look like a year without warnings."""
    if year is None or year in ys:
        return
    span = f"{ys[0]}–{ys[-1]}" if ys else "none"
    raise NotFound(f"no {what} for {year}; years with {what}: {span}", code="year_not_found",
                   key="year_not_found", params={"year": year, "first": ys[0] if ys else "—",
                                                 "last": ys[-1] if ys else "—"})


def overview(svc: Services, user: User, year: int | None = None) -> dict:
    """The region tree the user may see, each node with its worst warning level in `year` (default:
    the latest year; a year the warehouse has no figures for: NotFound year_not_found), counts by level, insured, months of payment capacity of the total (payable_months:
    it counts the employees' individual accounts, which pay no inpatient bills) and of each pooled fund
    with the lowest of them (pooled_months_*, the headline: see _pooled_months)."""
    ys = years(svc)
    check_year(year, ys)
    year = year or (ys[-1] if ys else None)
    regs = svc.filter_regions(user, svc.regions())
    ind = indicators(svc, user, years=[year] if year else None, scheme="total", fund="total")
    ind = ind.set_index("region_code")
    pooled = _pooled_months(indicators(svc, user, years=[year] if year else None, fund="pooled"))
    w = warnings(svc, user, years=[year] if year else None)
    nodes = {}
    for r in regs.itertuples():
        ww = w[w.region_code == r.region_code]
        counts = {lv: int((ww.level == lv).sum()) for lv in LEVELS}
        worst = next((lv for lv in LEVELS if counts[lv]), None)
        row = ind.loc[r.region_code] if r.region_code in ind.index else None
        nodes[r.region_code] = {
            "region_code": r.region_code, "name": r.name, "name_en": r.name_en, "level": r.level,
            "parent_code": r.parent_code if isinstance(r.parent_code, str) else None, "worst": worst, "counts": counts,
            "insured": _num(row["insured"]) if row is not None else None,
            "payable_months": _num(row["payable_months"]) if row is not None else None,
            **pooled.get((r.region_code, year), _NO_POOLED),
            "balance_end": _num(row["balance_end"]) if row is not None else None, "children": [],
        }
    roots = []
    for n in nodes.values():
        if isinstance(n["parent_code"], str) and n["parent_code"] in nodes:
            nodes[n["parent_code"]]["children"].append(n)
        else:
            roots.append(n)
    return {"year": year, "years": ys, "roots": roots, "nodes": nodes}


_NO_POOLED = {"pooled_months_employee": None, "pooled_months_resident": None, "pooled_months_min": None,
              "pooled_months_min_scheme": None}


def _pooled_months(df: pd.DataFrame) -> dict[tuple[str, int], dict]:
    """(region, year) -> months of payment capacity of the employee and the resident pooled funds and the
    lowest of the two (with its scheme). The headline figure: a pooled fund pays the claims and its months
    are what the 6-month safety line is about; the total adds the employees' individual accounts (money
    that cannot pay a pooled-fund deficit), which can make a region whose resident fund is under the line
    look comfortable (the demo's 进贤县: total 13.0 months, resident pooled fund 5.0)."""
    out: dict[tuple[str, int], dict] = {}
    for row in df[df.fund == "pooled"].itertuples():
        if row.scheme not in ("employee", "resident"):
            continue
        d = out.setdefault((row.region_code, int(row.year)), dict(_NO_POOLED))
        d[f"pooled_months_{row.scheme}"] = _num(row.payable_months)
    for d in out.values():
        known = [(d[f"pooled_months_{s}"], s) for s in ("resident", "employee") if d[f"pooled_months_{s}"] is not None]
        if known:
            d["pooled_months_min"], d["pooled_months_min_scheme"] = min(known)
    return out


def _num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def region_series(svc: Services, user: User, code: str, scheme: str = "total") -> dict:
    """Income, expenditure, balance and months of payment capacity by year of one region (its own
    row: reported, or summed from its counties), scheme × fund as the page shows it. payable_months is that
    scheme × fund's; pooled_months the scheme's pooled fund's (total: the lower of the employee and
    resident pooled funds, pooled_months_min_scheme says which), as the page heads it."""
    fund = {"total": "total", "resident": "pooled", "employee": "combined"}.get(scheme, "total")
    svc.check_region(user, code)  # before the cache: the cached rows are the same for every user who may see them

    def load(_wh):
        all_ = _all_indicators(svc)
        df = all_[(all_.region_code == code) & (all_.scheme == scheme) & (all_.fund == fund)].sort_values("year")
        cols = ["year", "insured", "income_total", "expenditure_total", "surplus", "balance_end", "payable_months",
                "income_growth", "expenditure_growth", "source"]
        pooled = _pooled_months(all_[all_.region_code == code])
        rows = records(df[cols])
        for r in rows:
            p = pooled.get((code, int(r["year"])), _NO_POOLED)
            r.update(p)
            # the page's figure: the scheme's pooled fund; for the total, the lower of the two pooled funds
            r["pooled_months"] = p["pooled_months_min"] if scheme == "total" else p[f"pooled_months_{scheme}"]
        return rows

    return {"region_code": code, "scheme": scheme, "fund": fund, "rows": svc.cached(("series", code, scheme), load)}


def _plain(v, money: bool):
    """One JSON-safe value: NaN/NA/NaT -> None, numpy scalars -> Python, dates -> ISO text; money rounded to
    the fen, other floats to 12 significant digits (no 1072913.070000000065193: binary noise of a sum)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        if not math.isfinite(f):
            return None
        return round(f, 2) + 0.0 if money else float(f"{f:.12g}")
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, list | tuple):
        return [_plain(x, False) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x, False) for k, x in v.items()}
    return v


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe rows (see _plain), money columns (web/columns.py) to the fen."""
    from mifund.web.columns import is_money

    cols = [str(c) for c in df.columns]
    money = [is_money(c) for c in cols]
    return [{c: _plain(v, m) for c, v, m in zip(cols, row, money, strict=True)}
            for row in df.itertuples(index=False, name=None)]


def records_json(df: pd.DataFrame) -> str:
    return json.dumps(records(df), ensure_ascii=False)
