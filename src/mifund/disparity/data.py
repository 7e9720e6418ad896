"""The indicators whose disparity is measured, per region and year, from the warehouse.

Ledger indicators come from ``mifund.ledger.indicators.compute_indicators`` (same definitions as
``mifund indicators``); the effective reimbursement ratio (实际报销比例: pooled fund paid / total
medical cost) is one Ibis aggregation over the stored ``settlement`` joined to each person-year's
insured region and scheme.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INDICATORS = {
    "financing_per_capita": ("人均筹资", "fund income per insured person (yuan)"),
    "fiscal_subsidy_per_capita": ("人均财政补助", "fiscal subsidy per insured person (yuan)"),
    "expenditure_per_capita": ("人均基金支出", "fund expenditure per insured person (yuan)"),
    "reimbursement_ratio": ("实际报销比例", "pooled fund paid / total medical cost of settled claims"),
    "payable_months": ("可支付月数", "months of payment capacity"),
    "insured_rate": ("参保率", "insured persons / resident population"),
}
WEIGHTS = ("population", "insured", "equal")


def reimbursement_frame(wh, scheme: str) -> pd.DataFrame:
    """region_code, year, reimbursement_ratio (from the stored settlement)."""
    if "settlement" not in wh.con.list_tables():
        return pd.DataFrame(columns=["region_code", "year", "reimbursement_ratio"])
    s = wh.table("settlement")
    e = wh.table("enrollment")
    e = e.group_by(["person_id", "year"]).aggregate(region_code=e.region_code.min(), scheme=e.scheme.min())
    j = s.join(e, ["person_id", "year"])
    j = j.filter(j.scheme == scheme)
    g = j.group_by(["region_code", "year"]).aggregate(
        paid=j.pooled_fund_paid.sum().cast("float64"), total=j.total_amount.sum().cast("float64"))
    df = wh.to_pandas(g)
    df["reimbursement_ratio"] = df.paid / df.total.where(df.total > 0)
    return df[["region_code", "year", "reimbursement_ratio"]]


def indicator_frame(wh, indicator: str, *, scheme: str = "resident", fund: str = "pooled", level: str = "county",
                    weight: str = "population", years: list[int] | None = None) -> pd.DataFrame:
    """region_code, region_name, parent_code, year, value, weight for the regions of `level`."""
    from mifund.ledger.indicators import compute_indicators

    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}; choose one of {', '.join(INDICATORS)}")
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}")
    ind = compute_indicators(wh, years=years, schemes=[scheme], funds=[fund])
    ind = ind[ind.region_level == level].copy()
    regions = wh.to_pandas(wh.table("regions"))[["region_code", "parent_code"]]
    ind = ind.merge(regions, on="region_code", how="left")
    ind["financing_per_capita"] = ind.income_per_capita
    ind["fiscal_subsidy_per_capita"] = ind.income_fiscal_subsidy / ind.insured.astype(float)
    if indicator == "reimbursement_ratio":
        ind = ind.merge(reimbursement_frame(wh, scheme), on=["region_code", "year"], how="left")
    w = {"population": ind.population, "insured": ind.insured, "equal": pd.Series(1.0, index=ind.index)}[weight]
    out = pd.DataFrame({
        "region_code": ind.region_code, "region_name": ind.region_name, "parent_code": ind.parent_code,
        "year": ind.year.astype(int), "value": pd.to_numeric(ind[indicator], errors="coerce").astype(float),
        "weight": pd.to_numeric(w, errors="coerce").astype(float),
    })
    return out.replace([np.inf, -np.inf], np.nan).sort_values(["year", "region_code"]).reset_index(drop=True)


def disparity_by_year(frame: pd.DataFrame, group_col: str | None = "parent_code") -> pd.DataFrame:
    """One row per year: the weighted measures and, with more than one group, the Theil decomposition."""
    from mifund.disparity.measures import measures, theil_decomposition

    rows = []
    for year, g in frame.dropna(subset=["value", "weight"]).groupby("year"):
        row = {"year": int(year), **measures(g.value, g.weight)}
        g = g[g.weight != 0]                              # left out of every measure (measures: n_zero_weight_left_out)
        if group_col and g[group_col].nunique() > 1 and (g.value > 0).all():
            d = theil_decomposition(g.value, g.weight, g[group_col].fillna(""))
            row.update({k: v for k, v in d.items() if k not in ("theil_t", "theil_l")})
        rows.append(row)
    return pd.DataFrame(rows)
