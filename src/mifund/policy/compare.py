"""Compare policies on standard patient profiles; harmonise: re-settle claims under a unified policy."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pandas as pd

from mifund.policy.load import Policy, PolicySet
from mifund.policy.schema import CATEGORIES
from mifund.settlement.reference import settle_reference

COST_BANDS = [0, 5_000, 20_000, 50_000, 100_000, 300_000, float("inf")]


def parse_amounts(text: str) -> list[float]:
    """'5000,20000.50' → bills in yuan; ValueError naming the item that is not a positive amount to the fen."""
    out = []
    for item in text.split(","):
        item = item.strip()
        try:
            d = Decimal(item)
        except InvalidOperation:
            raise ValueError(f"{item!r} is not an amount in yuan (write 5000, not 5k or 5,000)") from None
        if not d.is_finite() or d <= 0:
            raise ValueError(f"{item!r}: a bill is a positive amount in yuan")
        if d != d.quantize(Decimal("0.01")):
            raise ValueError(f"{item!r} has more than 2 decimals (yuan to the fen)")
        out.append(float(d))
    return out


def in_force(policies: PolicySet, day: dt.date, regions: list[str] | None = None) -> tuple[list[Policy], list[Policy]]:
    """(policies with a version in force on `day`, those whose first version is later), of `regions`."""
    chosen = [p for p in policies if not regions or p.region_code in regions]
    return ([p for p in chosen if p.version_at(day) is not None],
            [p for p in chosen if p.version_at(day) is None])


def region_subtree(regions: list[str], codes) -> list[str]:
    """The `codes` under any of `regions` (a province XX0000 covers its cities and counties, a city XXYY00
    its counties, a county itself): what ``--region`` means on the command line."""
    prefixes = []
    for r in regions:
        while len(r) > 2 and r.endswith("00"):
            r = r[:-2]
        prefixes.append(r)
    return sorted({c for c in codes if any(c.startswith(p) for p in prefixes)})


# money columns of a comparison (yuan, to the fen: below 1,000 too)
PROFILE_MONEY = ["bill", "deductible_applied", "pooled_fund_paid", "catastrophic_paid", "assistance_paid",
                 "account_paid", "out_of_pocket"]


def compare_profiles(policies: PolicySet, amounts: list[float], *, day: dt.date,
                     regions: list[str] | None = None, special_group: str | list[str] | None = None) -> pd.DataFrame:
    """One inpatient admission of each amount (all within policy scope, the year's first) at each
    provider level, per region × scheme × insured category: what each layer pays and out of pocket.

    `special_group`: one or more of ``schema.SPECIAL_GROUPS`` or 'none' (no special group); given, each
    profile is settled for each of them and a ``special_group`` column says which (the tilts for the poor:
    a higher ratio, a lower catastrophic threshold, medical assistance)."""
    groups = [special_group] if isinstance(special_group, str) else list(special_group or [])
    rows = []
    for pol in policies:
        if regions and pol.region_code not in regions:
            continue
        if pol.version_at(day) is None:
            continue
        for cat, sg, level, amt in ((c, g, lv, a) for c in pol.categories for g in groups or [None]
                                    for lv in (1, 2, 3) for a in amounts):
            fen = int(round(amt * 100))
            c = {"claim_id": "x", "person_id": "x", "yr": day.year, "discharge_date": day,
                 "visit_group": "inpatient", "provider_level": level, "cross": False, "T": fen, "SP": 0,
                 "CF": 0, "P": fen, "category": cat, "special_group": sg or "none",
                 "policy_key": pol.key}
            r = settle_reference([c], policies)[0]
            fund = r["pooled_fund_paid"] + r["catastrophic_paid"] + r["assistance_paid"]
            rows.append({"region_code": pol.region_code, "scheme": pol.scheme, "category": cat,
                         **({"special_group": sg} if groups else {}), "provider_level": level, "bill": amt,
                         **{k: r[k] / 100 for k in ("deductible_applied", "pooled_fund_paid",
                                                    "catastrophic_paid", "assistance_paid", "account_paid",
                                                    "out_of_pocket")},
                         "fund_share": fund / fen if fen else float("nan")})
    return pd.DataFrame(rows)


# money columns of a harmonisation (yuan, to the fen), and the counts of who gains and who loses
# ("fund": pooled fund + catastrophic insurance + medical assistance; "account": the employees' individual
# accounts, also money the bureau manages; fund + account + oop = the bills)
MONEY = ["fund_before", "fund_after", "fund_change", "account_before", "account_after", "account_change",
         "oop_before", "oop_after", "oop_change"]
COUNTS = ["claims", "claims_better_off", "claims_worse_off", "persons", "persons_better_off", "persons_worse_off"]
ALL = "(all)"


def _band_labels() -> list[str]:
    return [f"{int(lo):,}–" + ("" if hi == float("inf") else f"{int(hi):,}")
            for lo, hi in zip(COST_BANDS[:-1], COST_BANDS[1:], strict=True)]


@dataclass
class Harmonisation:
    """The change under the unified policy at three levels. Each frame has the money columns (yuan,
    rounded to the fen; change = after − before: a positive fund_change costs the fund, a positive
    oop_change costs the patients) and who gains / loses: claims and persons whose out of pocket falls
    (better off) or rises (worse off); a person counts by the sum of their claims in the row."""

    by_band: pd.DataFrame  # county × insured category × cost band
    by_county: pd.DataFrame  # county
    total: pd.DataFrame  # one row: what it costs the fund, in all


def _per_person(source, before: PolicySet, after: PolicySet, year: int | None, source_name: str = "claims"):
    """Ibis: one row per county × category × cost band × person, integer fen. Both settlements run on
    one connection and are joined there: no claim-level data leaves the engine."""
    import ibis

    from mifund.settlement import settlement_inputs
    from mifund.settlement.engine import settle_expr

    con, prepared, params_b = settlement_inputs(source, before, year=year, source_name=source_name)
    con, prepared_a, params_a = settlement_inputs(source, after, year=year, con=con, source_name=source_name)

    def settled(prep, params, when):
        s = settle_expr(prep, params)
        return s.select("claim_id", **{f"fund_{when}": s.pooled_fund_paid + s.catastrophic_paid + s.assistance_paid,
                                       f"account_{when}": s.account_paid, f"oop_{when}": s.out_of_pocket})

    info = prepared.select("claim_id", "person_id", "region_code", "category", "T")
    j = info.join(settled(prepared, params_b, "before"), "claim_id").join(settled(prepared_a, params_a, "after"),
                                                                           "claim_id")
    band = ibis.cases(*[(j.T < int(hi * 100), i) for i, hi in enumerate(COST_BANDS[1:-1])],
                      else_=len(COST_BANDS) - 2)
    d = j.oop_after - j.oop_before
    j = j.mutate(band=band, d=d)
    keys = ["region_code", "category", "band", "person_id"]
    pp = j.group_by(keys).aggregate(
        claims=j.claim_id.count(), fund_before=j.fund_before.sum(), fund_after=j.fund_after.sum(),
        account_before=j.account_before.sum(), account_after=j.account_after.sum(), oop_before=j.oop_before.sum(), oop_after=j.oop_after.sum(),
        claims_better_off=(j.d < 0).cast("int64").sum(), claims_worse_off=(j.d > 0).cast("int64").sum())
    return con, pp


def _level(con, pp, keys: list[str]):
    """Sum the per-person rows to `keys`; a person is better off where their summed out of pocket falls."""
    sums = ["claims", "fund_before", "fund_after", "account_before", "account_after", "oop_before", "oop_after",
            "claims_better_off", "claims_worse_off"]
    p = pp.group_by([*keys, "person_id"]).aggregate(**{c: pp[c].sum() for c in sums})
    dp = p.oop_after - p.oop_before
    agg = {c: p[c].sum() for c in sums}
    agg.update(persons=p.person_id.count(), persons_better_off=(dp < 0).cast("int64").sum(),
               persons_worse_off=(dp > 0).cast("int64").sum())
    g = p.group_by(keys).aggregate(**agg) if keys else p.aggregate(**agg)
    return con.to_pandas(g)


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """Fen → yuan (exact to the fen: integer sums divided once, then rounded), changes, column order."""
    for c in ("fund", "account", "oop"):
        df[f"{c}_change"] = df[f"{c}_after"] - df[f"{c}_before"]
    for c in MONEY:
        df[c] = (df[c].astype("int64") / 100).round(2)
    for c in COUNTS:
        df[c] = df[c].fillna(0).astype("int64")
    return df


def harmonise_report(source, before: PolicySet, after: PolicySet, *, year: int | None = None,
                     source_name: str = "claims") -> Harmonisation:
    """Settle the same claims under `before` and `after`; the change by county × category × cost band, by
    county, and in all. `source_name` names the claims in error messages (a file's name)."""
    con, pp = _per_person(source, before, after, year, source_name)
    try:  # the per-person rows are read three times: hold them once where the connection allows it
        pp = con.create_table(f"_harmonise_{uuid.uuid4().hex[:12]}", pp, temp=True)
    except Exception:  # noqa: BLE001 - a read-only connection: the three reads recompute it
        pass
    labels = _band_labels()
    cat_order = {c: i for i, c in enumerate(CATEGORIES)}
    detail = _level(con, pp, ["region_code", "category", "band"])
    detail = detail.assign(_c=detail["category"].map(cat_order)).sort_values(["region_code", "_c", "band"])
    detail["cost_band"] = detail["band"].map(dict(enumerate(labels)))
    detail = _finish(detail)[["region_code", "category", "cost_band", *COUNTS, *MONEY]].reset_index(drop=True)
    county = _finish(_level(con, pp, ["region_code"]).sort_values("region_code"))
    county = county[["region_code", *COUNTS, *MONEY]].reset_index(drop=True)
    total = _finish(_level(con, pp, []))
    total.insert(0, "region_code", ALL)
    return Harmonisation(by_band=detail, by_county=county, total=total[["region_code", *COUNTS, *MONEY]])


def harmonise(source, before: PolicySet, after: PolicySet, *, year: int | None = None) -> pd.DataFrame:
    """Settle the same claims under `before` and `after`; change by county, category and cost band (the
    bands in increasing order). See `harmonise_report` for the county totals and the grand total."""
    return harmonise_report(source, before, after, year=year).by_band
