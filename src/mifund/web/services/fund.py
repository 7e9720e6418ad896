"""Fund indicators and early warnings for the pages and the API, filtered by the user's regions."""

from __future__ import annotations

import json
import math

import pandas as pd

from mifund.users import User
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
    def load(_wh):
        from mifund.ledger.warnings import evaluate, load_rules

        return evaluate(_all_indicators(svc), load_rules())

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


def overview(svc: Services, user: User, year: int | None = None) -> dict:
    """The region tree the user may see, each node with its worst warning level in `year` (default:
    the latest year), counts by level, insured and months of payment capacity (scheme/fund total)."""
    ys = years(svc)
    year = year or (ys[-1] if ys else None)
    regs = svc.filter_regions(user, svc.regions())
    ind = indicators(svc, user, years=[year] if year else None, scheme="total", fund="total")
    ind = ind.set_index("region_code")
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
            "balance_end": _num(row["balance_end"]) if row is not None else None, "children": [],
        }
    roots = []
    for n in nodes.values():
        if isinstance(n["parent_code"], str) and n["parent_code"] in nodes:
            nodes[n["parent_code"]]["children"].append(n)
        else:
            roots.append(n)
    return {"year": year, "years": ys, "roots": roots, "nodes": nodes}


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
    row: reported, or summed from its counties), scheme × fund as the page shows it."""
    fund = {"total": "total", "resident": "pooled", "employee": "combined"}.get(scheme, "total")
    svc.check_region(user, code)  # before the cache: the cached rows are the same for every user who may see them

    def load(_wh):
        df = _all_indicators(svc)
        df = df[(df.region_code == code) & (df.scheme == scheme) & (df.fund == fund)].sort_values("year")
        cols = ["year", "insured", "income_total", "expenditure_total", "surplus", "balance_end", "payable_months",
                "income_growth", "expenditure_growth", "source"]
        return records(df[cols])

    return {"region_code": code, "scheme": scheme, "fund": fund, "rows": svc.cached(("series", code, scheme), load)}


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe rows (NaN/NA -> None, timestamps -> ISO text), through pandas' JSON writer."""
    return json.loads(records_json(df))


def records_json(df: pd.DataFrame) -> str:
    return df.to_json(orient="records", date_format="iso", force_ascii=False, double_precision=15)
