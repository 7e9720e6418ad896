"""Compare policies on standard patient profiles; harmonise: re-settle claims under a unified policy."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from mifund.policy.load import PolicySet
from mifund.policy.schema import CATEGORIES
from mifund.settlement.reference import settle_reference

COST_BANDS = [0, 5_000, 20_000, 50_000, 100_000, 300_000, float("inf")]


def compare_profiles(policies: PolicySet, amounts: list[float], *, day: dt.date,
                     regions: list[str] | None = None, special_group: str | None = None) -> pd.DataFrame:
    """One inpatient admission of each amount (all within policy scope, the year's first) at each
    provider level, per region × scheme × insured category: what each layer pays and out of pocket."""
    rows = []
    for pol in policies:
        if regions and pol.region_code not in regions:
            continue
        if pol.version_at(day) is None:
            continue
        cats = [c for c in CATEGORIES if (c in ("in_service", "retired", "flexible")) == (pol.scheme == "employee")]
        for cat in cats:
            for level in (1, 2, 3):
                for amt in amounts:
                    fen = int(round(amt * 100))
                    c = {"claim_id": "x", "person_id": "x", "yr": day.year, "discharge_date": day,
                         "visit_group": "inpatient", "provider_level": level, "cross": False, "T": fen, "SP": 0,
                         "CF": 0, "P": fen, "category": cat, "special_group": special_group or "none",
                         "policy_key": pol.key}
                    r = settle_reference([c], policies)[0]
                    fund = r["pooled_fund_paid"] + r["catastrophic_paid"] + r["assistance_paid"]
                    rows.append({"region_code": pol.region_code, "scheme": pol.scheme, "category": cat,
                                 "provider_level": level, "bill": amt,
                                 **{k: r[k] / 100 for k in ("deductible_applied", "pooled_fund_paid",
                                                            "catastrophic_paid", "assistance_paid", "account_paid",
                                                            "out_of_pocket")},
                                 "fund_share": fund / fen if fen else float("nan")})
    return pd.DataFrame(rows)


def harmonise(source, before: PolicySet, after: PolicySet, *, year: int | None = None) -> pd.DataFrame:
    """Settle the same claims under `before` and `after`; change by county, category and cost band."""
    from mifund.settlement import settlement_inputs
    from mifund.settlement.engine import settle_expr

    con, prepared, params_b = settlement_inputs(source, before, year=year)
    a = con.to_pandas(settle_expr(prepared, params_b).select("claim_id", "pooled_fund_paid", "catastrophic_paid",
                                                             "assistance_paid", "out_of_pocket"))
    con2, prepared2, params_a = settlement_inputs(source, after, year=year)
    b = con2.to_pandas(settle_expr(prepared2, params_a).select("claim_id", "pooled_fund_paid", "catastrophic_paid",
                                                               "assistance_paid", "out_of_pocket"))
    info = con.to_pandas(prepared.select("claim_id", "region_code", "category", "T"))
    df = info.merge(a, on="claim_id").merge(b, on="claim_id", suffixes=("_before", "_after"))
    for s in ("before", "after"):
        df[f"fund_{s}"] = df[f"pooled_fund_paid_{s}"] + df[f"catastrophic_paid_{s}"] + df[f"assistance_paid_{s}"]
    df["cost_band"] = pd.cut(df["T"] / 100, COST_BANDS, right=False,
                             labels=[f"{int(lo):,}–" + ("" if hi == float("inf") else f"{int(hi):,}")
                                     for lo, hi in zip(COST_BANDS[:-1], COST_BANDS[1:], strict=True)]).astype(str)
    g = df.groupby(["region_code", "category", "cost_band"], observed=True).agg(
        claims=("claim_id", "count"), fund_before=("fund_before", "sum"), fund_after=("fund_after", "sum"),
        oop_before=("out_of_pocket_before", "sum"), oop_after=("out_of_pocket_after", "sum")).reset_index()
    for c in ("fund_before", "fund_after", "oop_before", "oop_after"):
        g[c] = g[c] / 100
    g["fund_change"] = g["fund_after"] - g["fund_before"]
    g["oop_change"] = g["oop_after"] - g["oop_before"]
    return g
