"""Who gains and who loses: tables from a ``Simulation`` (both regimes; amounts in yuan).

A member's **net gain** from the new rules in a year is the change in their account's closing balance
minus the change in their cash outlays (out-of-pocket medical costs plus the resident contribution they
pay in cash), **before family transfers**: ``(closing_new − closing_old) − (cash_new − cash_old) −
family_net_received``, where ``family_net_received`` is the change in what the member received from the
family's accounts minus what their own account gave to the family. Money passed within a family is
neither a loss of the giver nor a gain of the receiver from the reform: it has its own columns, and
``net_gain_with_family`` is the gain after it. Per family the transfers cancel (``family_gains``). The
pooled fund's net gain is its
extra income (credits no longer paid into accounts) minus its extra spending (outpatient mutual aid);
by construction the members' net gains and the pooled fund's add up to zero, and ``pooled_summary``
shows the residual so a user can see it.

These are person-year tables of at most a city's members (one row each), so pandas is used here; the
claim-scale work is in ``engine``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mifund.accounts.engine import Simulation

AGE_BANDS = [0, 18, 35, 45, 55, 60, 70, 80, 200]
DIMENSIONS = ("age_band", "category", "chronic", "family_type")
FAMILY_TYPES = ("single", "adults_only", "with_children", "with_elderly", "three_generations")
ELDERLY_AGE = 60
CHILD_AGE = 18


def age_band(age: pd.Series) -> pd.Series:
    labels = [f"{a}-{b - 1}" if b < 200 else f"{a}+" for a, b in zip(AGE_BANDS, AGE_BANDS[1:], strict=False)]
    return pd.cut(age, AGE_BANDS, right=False, labels=labels).astype(str)


def family_types(members: pd.DataFrame) -> pd.DataFrame:
    """Per person-year: family_type, family_size, family_chronic (some member with chronic claims) and
    family_elderly (some member aged 60+ or retired)."""
    m = members[["person_id", "year", "family_id", "age", "category", "chronic"]].copy()
    m["_fam"] = m.family_id.where(m.family_id.notna(), "__single__" + m.person_id)
    m["_child"] = m.age < CHILD_AGE
    m["_old"] = (m.age >= ELDERLY_AGE) | (m.category == "retired")
    g = m.groupby(["year", "_fam"]).agg(family_size=("person_id", "size"), _c=("_child", "any"),
                                         _o=("_old", "any"), family_chronic=("chronic", "any"))
    ft = np.select([g.family_size == 1, g._c & g._o, g._c, g._o],
                   ["single", "three_generations", "with_children", "with_elderly"], "adults_only")
    g["family_type"] = ft
    g["family_elderly"] = g._o
    out = m.merge(g[["family_size", "family_type", "family_chronic", "family_elderly"]].reset_index(),
                  on=["year", "_fam"])
    return out[["person_id", "year", "family_type", "family_size", "family_chronic", "family_elderly"]]


def member_changes(sim: Simulation) -> pd.DataFrame:
    """One row per person-year: old and new balances and cash, the net gain, and the grouping columns."""
    old, new = sim.regime("old"), sim.regime("new")
    keys = ["person_id", "year"]
    cols = ["credit", "own_paid", "family_given", "family_received", "mutual_aid", "out_of_pocket",
            "contribution_cash", "closing"]
    j = new[keys + ["scheme", "category", "age", "region_code", "family_id", "chronic", "claims", "total",
                    "account_holder"] + cols].merge(old[keys + cols], on=keys, suffixes=("_new", "_old"))
    j["cash_new"] = j.out_of_pocket_new + j.contribution_cash_new
    j["cash_old"] = j.out_of_pocket_old + j.contribution_cash_old
    j["balance_change"] = j.closing_new - j.closing_old
    j["cash_change"] = j.cash_new - j.cash_old
    j["family_net_received"] = ((j.family_received_new - j.family_received_old)
                                - (j.family_given_new - j.family_given_old)).round(2)
    j["net_gain_with_family"] = (j.balance_change - j.cash_change).round(2)
    j["net_gain"] = (j.net_gain_with_family - j.family_net_received).round(2)
    j["age_band"] = age_band(j.age)
    j = j.merge(family_types(new), on=keys, how="left")
    return j


def gains_losses(changes: pd.DataFrame, dimensions=DIMENSIONS, *, scheme: str | None = None) -> pd.DataFrame:
    """The distribution of net gains (before family transfers) by each dimension in turn (rows: dimension,
    group), with the family transfers and the gain after them alongside."""
    c = changes if scheme is None else changes[changes.scheme == scheme]
    frames = []
    for d in dimensions:
        g = c.groupby(d, observed=True)
        t = pd.DataFrame({
            "members": g.size(),
            "gainers": g.net_gain.apply(lambda s: int((s > 0.005).sum())),
            "losers": g.net_gain.apply(lambda s: int((s < -0.005).sum())),
            "net_gain_mean": g.net_gain.mean(),
            "net_gain_p10": g.net_gain.quantile(0.10),
            "net_gain_median": g.net_gain.median(),
            "net_gain_p90": g.net_gain.quantile(0.90),
            "net_gain_total": g.net_gain.sum(),
            "balance_change_mean": g.balance_change.mean(),
            "cash_change_mean": g.cash_change.mean(),
            "mutual_aid_mean": g.mutual_aid_new.mean(),
            "family_received_mean": g.family_received_new.mean(),
            "family_given_mean": g.family_given_new.mean(),
            "net_gain_with_family_mean": g.net_gain_with_family.mean(),
            "losers_with_family": g.net_gain_with_family.apply(lambda s: int((s < -0.005).sum())),
        }).reset_index().rename(columns={d: "group"})
        t["group"] = t.group.astype(str)
        t.insert(0, "dimension", d)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out["loser_share"] = out.losers / out.members
    return out


def family_gains(changes: pd.DataFrame) -> pd.DataFrame:
    """Families (a member without a family_id is a family of one) by family type: the family's net gain
    per year, where transfers between its members cancel; gainers and losers are families."""
    c = changes.copy()
    c["_fam"] = c.family_id.where(c.family_id.notna(), "__single__" + c.person_id.astype(str))
    f = c.groupby(["year", "_fam"]).agg(family_type=("family_type", "first"), members=("person_id", "size"),
                                        net_gain=("net_gain", "sum"), transfers=("family_net_received",
                                                                                  lambda s: s.abs().sum() / 2))
    g = f.groupby("family_type")
    out = pd.DataFrame({
        "families": g.size(),
        "members": g.members.sum(),
        "gainers": g.net_gain.apply(lambda s: int((s > 0.005).sum())),
        "losers": g.net_gain.apply(lambda s: int((s < -0.005).sum())),
        "net_gain_mean": g.net_gain.mean(),
        "net_gain_median": g.net_gain.median(),
        "net_gain_total": g.net_gain.sum(),
        "transfers_within_mean": g.transfers.mean(),
    }).reset_index()
    out["loser_share"] = out.losers / out.families
    return out


def pooled_summary(sim: Simulation) -> pd.DataFrame:
    """Per year: what the pooled fund gains and spends under the new rules, and the members' side."""
    rows = []
    for y in sim.years:
        old = sim.members[(sim.members.regime == "old") & (sim.members.year == y)].set_index("person_id")
        new = sim.members[(sim.members.regime == "new") & (sim.members.year == y)].set_index("person_id")
        ins = old.category.isin(["in_service", "flexible"])
        extra_income = (old.credit - new.credit).sum()
        employer = (old.credit_employer - new.credit_employer).sum()
        retirees = (old.credit - new.credit)[old.category == "retired"].sum()
        extra_spending = (new.mutual_aid - old.mutual_aid).sum()
        cash_old = (old.out_of_pocket + old.contribution_cash).sum()
        cash_new = (new.out_of_pocket + new.contribution_cash).sum()
        member_gain = (new.closing.sum() - old.closing.sum()) - (cash_new - cash_old)
        holders = new.account_holder
        rows.append({
            "year": y,
            "pooled_extra_income": extra_income,
            "of_which_employer_share": employer,
            "of_which_employee_share": (old.credit - new.credit)[ins].sum() - employer,
            "of_which_retirees": retirees,
            "pooled_extra_outpatient_spending": extra_spending,
            "pooled_net_gain": extra_income - extra_spending,
            "members_net_gain": member_gain,
            "conservation_residual": round(member_gain + extra_income - extra_spending, 2),
            "account_credits_old": old.credit.sum(),
            "account_credits_new": new.credit.sum(),
            "account_spending_old": old.own_paid.sum(),
            "account_spending_new": new.own_paid.sum(),
            "family_sharing_new": new.family_given.sum(),
            "closing_balance_old": old.closing.sum(),
            "closing_balance_new": new.closing.sum(),
            "out_of_pocket_old": old.out_of_pocket.sum(),
            "out_of_pocket_new": new.out_of_pocket.sum(),
            "account_holders": int(holders.sum()),
        })
    return pd.DataFrame(rows)


def idle_balance(sim: Simulation, years: int | None = None) -> pd.DataFrame:
    """Idle money in the accounts at the end of the last simulated year, per regime.

    - *dormant*: balances of accounts that paid nothing (for the holder or the family) in the last
      ``years`` simulated years (default: all of them);
    - *beyond N years of use*: the part of each balance above ``years`` times the holder's average
      yearly use (own spending + family sharing) over the simulated years -- money that at the current
      rate of use would still be there after ``years`` more years. Default N = 3."""
    if years is not None and years < 1:
        raise ValueError(f"years is 1 or more, not {years}")
    n_dormant = min(years or len(sim.years), len(sim.years))
    n_ahead = 3 if years is None else years
    last = sim.years[-1]
    recent = sim.years[-n_dormant:]
    rows = []
    for regime in ("old", "new"):
        m = sim.regime(regime)
        m = m[m.account_holder]
        use = (m.own_paid + m.family_given).groupby(m.person_id)
        used_recent = (m[m.year.isin(recent)].own_paid + m[m.year.isin(recent)].family_given).groupby(
            m[m.year.isin(recent)].person_id).sum()
        avg_use = use.mean()
        end = m[m.year == last].set_index("person_id").closing
        dormant = end[used_recent.reindex(end.index).fillna(0) <= 0]
        beyond = (end - n_ahead * avg_use.reindex(end.index).fillna(0)).clip(lower=0)
        rows.append({
            "regime": regime, "year": last, "account_holders": len(end), "balance_total": end.sum(),
            "balance_per_holder": end.mean() if len(end) else 0.0,
            "dormant_years": n_dormant, "dormant_holders": len(dormant), "dormant_balance": dormant.sum(),
            "dormant_share": dormant.sum() / end.sum() if end.sum() else 0.0,
            "years_of_use": n_ahead, "balance_beyond_years_of_use": beyond.sum(),
            "beyond_share": beyond.sum() / end.sum() if end.sum() else 0.0,
            "years_of_use_held": end.sum() / use.sum().sum() * len(sim.years) if use.sum().sum() else np.inf,
        })
    return pd.DataFrame(rows)


def family_effect(changes: pd.DataFrame) -> pd.DataFrame:
    """Families with a chronically ill or an elderly member against the others: cash outlays of the whole
    family (out-of-pocket + resident contributions in cash) under the old and new rules, and what family
    sharing paid. One row per family kind (families counted once a year)."""
    c = changes[changes.family_size.fillna(1) > 1].copy()
    c["family_kind"] = np.select([c.family_chronic & c.family_elderly, c.family_chronic, c.family_elderly],
                                 ["chronic_and_elderly", "chronic", "elderly"], "neither")
    key = c.family_id.astype(str) + "/" + c.year.astype(str)
    f = c.groupby(key).agg(family_kind=("family_kind", "first"), cash_old=("cash_old", "sum"),
                           cash_new=("cash_new", "sum"), sharing=("family_received_new", "sum"),
                           balance_old=("closing_old", "sum"), balance_new=("closing_new", "sum"))
    g = f.groupby("family_kind")
    out = pd.DataFrame({
        "families": g.size(),
        "cash_old_mean": g.cash_old.mean(),
        "cash_new_mean": g.cash_new.mean(),
        "family_sharing_mean": g.sharing.mean(),
        "families_helped": g.sharing.apply(lambda s: int((s > 0).sum())),
        "balance_old_mean": g.balance_old.mean(),
        "balance_new_mean": g.balance_new.mean(),
    }).reset_index()
    out["cash_change_mean"] = out.cash_new_mean - out.cash_old_mean
    out["cash_change_share"] = out.cash_change_mean / out.cash_old_mean.replace(0, np.nan)
    return out


COARSE_AGES = [0, 18, 45, 60, 75, 200]


def _claim_history(total: pd.Series) -> pd.Series:
    """none / low / high: no claims; below / from the 90th percentile of the year's positive costs."""
    pos = total[total > 0]
    p90 = pos.quantile(0.9) if len(pos) else 0.0
    return pd.Series(np.select([total <= 0, total < p90], ["none", "low"], "high"), index=total.index)


def segments(sim: Simulation, *, regime: str = "new", method: str = "bands", k: int = 6,
             min_members: int = 20, year: int | None = None) -> pd.DataFrame:
    """Member risk segments with each one's expected cost (mean total cost), pooled payment, account
    balance and unmet out-of-pocket (cash after account and family sharing).

    ``bands``: explicit bands of age (0-17, 18-44, 45-59, 60-74, 75+), category, chronic status, family
    type and claim history (none / low / top 10% of cost); segments smaller than ``min_members`` are
    pooled into 'other'. ``kmeans``: k clusters (scikit-learn KMeans on standardised age, cost, claims,
    chronic status, family size and balance), each described by its members' means."""
    year = year or sim.years[-1]
    m = sim.regime(regime)
    m = m[m.year == year].merge(family_types(m[m.year == year]), on=["person_id", "year"])
    m["history"] = _claim_history(m.total)
    if method == "bands":
        m["age_group"] = pd.cut(m.age, COARSE_AGES, right=False,
                                labels=["0-17", "18-44", "45-59", "60-74", "75+"]).astype(str)
        keys = ["age_group", "category", "chronic", "family_type", "history"]
        m["segment"] = m[keys].astype(str).agg(" | ".join, axis=1)
        size = m.groupby("segment").person_id.transform("size")
        m.loc[size < min_members, "segment"] = "other (small segments)"
    elif method == "kmeans":
        if not 1 <= k <= len(m):
            raise ValueError(f"k is between 1 and the number of members ({len(m):,}), not {k}")
        from sklearn.cluster import KMeans
        from sklearn.preprocessing import StandardScaler

        feats = np.column_stack([m.age, np.log1p(m.total), m.claims, m.chronic.astype(float), m.family_size,
                                 np.log1p(m.closing)])
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(StandardScaler().fit_transform(feats))
        m["segment"] = [f"cluster {i + 1}" for i in labels]
    else:
        raise ValueError("method is 'bands' or 'kmeans'")
    g = m.groupby("segment")
    out = pd.DataFrame({
        "members": g.size(),
        "age_mean": g.age.mean(),
        "retired_share": g.category.apply(lambda s: (s == "retired").mean()),
        "chronic_share": g.chronic.mean(),
        "expected_cost": g.total.mean(),
        "pooled_paid_mean": g.pooled_paid.mean(),
        "account_balance_mean": g.closing.mean(),
        "unmet_out_of_pocket_mean": g.out_of_pocket.mean(),
        "unmet_p90": g.out_of_pocket.quantile(0.9),
        "oop_share_of_cost": g.out_of_pocket.sum() / g.total.sum().replace(0, np.nan),
    }).reset_index()
    return out.sort_values("expected_cost", ascending=False, ignore_index=True)
