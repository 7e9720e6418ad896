"""Slow, obviously-correct account simulation: plain Python, one member and one claim at a time.

The tests compare it with the vectorised engine (``engine.simulate_fen``) on random data. It follows the
same definitions (see ``engine`` module doc) written the direct way: a balance that goes up by the
month's credit and down by each payment, mutual-aid counters that run claim by claim, and the family's
leftover balances shared out at the year's end. Integer fen throughout. Only for small inputs.
"""

from __future__ import annotations

import pandas as pd

from mifund.accounts.engine import FEN_COLUMNS
from mifund.accounts.rules import PPM, AccountRules


def _fen(x) -> int:
    return 0 if x is None or pd.isna(x) else int(round(float(x) * 100))


def _rdiv(n: int, d: int) -> int:
    return (n + d // 2) // d


def _share(amount: int, weights: dict[str, int]) -> dict[str, int]:
    total = sum(weights.values())
    if total <= 0:
        return dict.fromkeys(weights, 0)
    out = {k: amount * w // total for k, w in weights.items()}
    rest = amount - sum(out.values())
    for k in sorted(weights, key=lambda k: (-weights[k], k))[:rest]:
        out[k] += 1
    return out


def simulate_reference(tables: dict[str, pd.DataFrame], rules: AccountRules, year: int, regime: str,
                       opening: dict[str, int] | None = None, family_use: float = 1.0) -> pd.DataFrame:
    """The member table (fen) of one year under one regime."""
    r = rules.resolve(year, regime)
    opening = opening or {}
    e = tables["enrollment"]
    e = e[e.year == year].copy()
    e["_pri"] = (e.scheme != "employee").astype(int)
    e = e.sort_values(["person_id", "_pri", "category", "region_code"]).drop_duplicates("person_id")
    levels = dict(zip(tables["providers"].provider_id, tables["providers"].level.astype(int), strict=True))
    sett = tables["settlement"].set_index("claim_id")
    claims = tables["claims"].copy()
    claims["ddate"] = pd.to_datetime(claims.discharge_date).dt.date
    in_year = pd.Series([d.year == year for d in claims.ddate], index=claims.index, dtype=bool)
    claims = claims[in_year].sort_values(["person_id", "ddate", "claim_id"])
    by_person = {p: g for p, g in claims.groupby("person_id")}
    rows = []
    for m in e.itertuples(index=False):
        age = year - pd.Timestamp(m.birth_date).year
        wage = _fen(m.wage_base)
        monthly, employer, has_rule = 0, 0, False
        if m.scheme == "employee":
            for c in r.crediting:
                if c["category"] == m.category and c["from_age"] <= age < c["to_age"]:
                    has_rule = True
                    employer = _rdiv(wage * c["employer_ppm"], PPM)
                    monthly = (_rdiv(wage * c["employee_ppm"], PPM) + employer + c["fixed"]
                               + _rdiv(r.average_pension * c["pension_ppm"], PPM))
        ma = {x["level"]: x for x in r.mutual_aid if x["category"] == m.category}
        bal = opening.get(m.person_id, 0)
        open_ = bal
        credited_months = 0
        acc = dict.fromkeys(["claims", "total", "pooled_paid", "mutual_aid", "other_layers", "burden",
                             "eligible", "own_paid"], 0)
        chronic = False
        base_used = raw_paid = 0
        for k in (by_person.get(m.person_id, pd.DataFrame()).itertuples(index=False)):
            while credited_months < k.ddate.month:  # the credits of every month up to this claim's
                bal += monthly
                credited_months += 1
            total, selfp, copay = _fen(k.total_amount), _fen(k.self_pay_amount), _fen(k.copay_first_amount)
            scope = total - selfp - copay if pd.isna(k.policy_scope_amount) else _fen(k.policy_scope_amount)
            s = sett.loc[k.claim_id]
            other = _fen(s.catastrophic_paid) + _fen(s.assistance_paid)
            level = levels.get(k.provider_id, 3)
            if m.scheme == "employee" and k.visit_type in r.mutual_aid_visit_types and level in ma:
                p = ma[level]
                base = max(scope, 0)
                above = max(0, base_used + base - p["deductible"]) - max(0, base_used - p["deductible"])
                base_used += base
                raw = _rdiv(above * p["ratio_ppm"], PPM)
                mutual = min(raw_paid + raw, p["cap"]) - min(raw_paid, p["cap"])
                raw_paid += raw
                pooled = mutual
            else:
                mutual, pooled = 0, _fen(s.pooled_fund_paid)
            burden = max(0, total - pooled - other)
            self_part = max(0, min(selfp, burden))
            allowed = r.uses.get(k.visit_type, False)
            elig = (burden - (0 if r.uses["self_pay"] else self_part)) if allowed else 0
            pay = max(0, min(elig, bal))
            bal -= pay
            chronic |= k.visit_type == "chronic_outpatient"
            for name, v in [("claims", 1), ("total", total), ("pooled_paid", pooled), ("mutual_aid", mutual),
                            ("other_layers", other), ("burden", burden), ("eligible", elig), ("own_paid", pay)]:
                acc[name] += v
        credit = 12 * monthly
        rows.append({"person_id": m.person_id, "scheme": m.scheme, "category": m.category, "age": age,
                     "region_code": m.region_code, "family_id": None if pd.isna(m.family_id) else m.family_id,
                     "chronic": chronic, "account_holder": m.scheme == "employee" and (has_rule or open_ > 0),
                     "opening": open_, "credit": credit, "credit_employer": 12 * employer, **acc,
                     "contribution_due": r.resident_contribution if m.scheme == "resident" else 0})
    df = pd.DataFrame(rows)
    df["leftover"] = df.opening + df.credit - df.own_paid
    df["family_received"] = 0
    df["family_given"] = 0
    df["contribution_received"] = 0
    if r.uses["family_members"]:
        pays_contrib = r.uses["family_resident_contributions"]
        for _fam, g in df[df.family_id.notna()].groupby("family_id"):
            demand = {i: 0 if x.account_holder else int(x.eligible - x.own_paid
                                                        + (x.contribution_due if pays_contrib else 0))
                      for i, x in g.iterrows()}
            supply = {i: int(x.leftover) if x.account_holder else 0 for i, x in g.iterrows()}
            draw = min(sum(demand.values()), sum(supply.values())) * round(family_use * PPM) // PPM
            ids = {i: df.at[i, "person_id"] for i in g.index}
            got = _share(draw, {ids[i]: v for i, v in demand.items()})
            gave = _share(draw, {ids[i]: v for i, v in supply.items()})
            for i in g.index:
                df.at[i, "family_received"] = got[ids[i]]
                df.at[i, "family_given"] = gave[ids[i]]
                if pays_contrib:
                    df.at[i, "contribution_received"] = min(got[ids[i]], int(df.at[i, "contribution_due"]))
    df["out_of_pocket"] = df.burden - df.own_paid - (df.family_received - df.contribution_received)
    df["contribution_cash"] = df.contribution_due - df.contribution_received
    df["closing"] = df.leftover - df.family_given
    df["year"] = year
    df["regime"] = regime
    return df[["person_id", "year", "regime", "scheme", "category", "age", "region_code", "family_id",
               "chronic", "claims", "account_holder", *FEN_COLUMNS]]
