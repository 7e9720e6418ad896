"""Who gains and who loses: tables from a ``Simulation`` (both regimes; amounts in yuan).

A member's **net gain** from the new rules in a year is what the new rules change **during that year**:
the change in the year's movement of their account (closing − opening balance, new rules minus old)
minus the change in their cash outlays (out-of-pocket medical costs plus the resident contribution they
pay in cash), **before family transfers**: ``((closing_new − opening_new) − (closing_old − opening_old))
− (cash_new − cash_old) − family_net_received``, where ``family_net_received`` is the change in what the
member received from the family's accounts minus what their own account gave to the family. Money passed
within a family is neither a loss of the giver nor a gain of the receiver from the reform: it has its own
columns, and ``net_gain_with_family`` is the gain after it. Per family the transfers cancel
(``family_gains``). The pooled fund's net gain is its extra income (credits no longer paid into accounts)
minus its extra spending (outpatient mutual aid); by construction the members' net gains and the pooled
fund's add up to zero in every year, and ``pooled_summary`` shows the residual so a user can see it.

**Flows and balances.** Every gain, change, credit, spending, transfer and cash figure is a flow of one
year (summing them over years gives the gain over those years). The closing (year-end) balances are
stocks: the balances carry from year to year, so from the second simulated year on the gap between the
regimes' closing balances holds every earlier year's gains as well -- it is shown (``closing_gap``,
``closing_balance_*``) but it is not the year's gain. ``COLUMN_NOTES`` says for every column which it is.

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


FLOW = "flow in the year"
STOCK_END = "balance at year end (cumulative)"
STOCK_START = "balance at start of year"
NEW_MINUS_OLD = "new rules − old rules"

# What every figure of the tables below is: a flow of one year (what happened during it; gains of
# several years add up) or a balance (a stock: the closing balance carries every earlier year's gains).
COLUMN_NOTES: dict[str, tuple[str, str]] = {
    # pooled_summary (one column per measure; `accounts simulate` shows them as rows)
    "pooled_extra_income": (FLOW, "credits the pooled fund no longer pays into accounts (old − new)"),
    "of_which_employer_share": (FLOW, "part of the extra income from the employer's share"),
    "of_which_employee_share": (FLOW, "part of the extra income from the employee's share"),
    "of_which_retirees": (FLOW, "part of the extra income from retirees' credits"),
    "pooled_extra_outpatient_spending": (FLOW, "extra outpatient mutual aid the pooled fund pays (new − old)"),
    "pooled_net_gain": (FLOW, "pooled fund's extra income − extra spending"),
    "members_net_gain": (FLOW, "members' gain in the year: members_balance_change − members_cash_change"),
    "members_balance_change": (FLOW, "change in the accounts during the year (closing − opening), "
                                     + NEW_MINUS_OLD),
    "members_cash_change": (FLOW, "members' cash outlays (out-of-pocket + resident contributions in cash), "
                                  + NEW_MINUS_OLD),
    "conservation_residual": (FLOW, "members_net_gain + pooled_net_gain; 0 by construction"),
    "account_credits_old": (FLOW, "credits into accounts, old rules"),
    "account_credits_new": (FLOW, "credits into accounts, new rules"),
    "account_spending_old": (FLOW, "account spending on the holders' own claims, old rules"),
    "account_spending_new": (FLOW, "account spending on the holders' own claims, new rules"),
    "family_sharing_new": (FLOW, "account money spent on family members, new rules"),
    "opening_balance_old": (STOCK_START, "account balances at the start of the year, old rules"),
    "opening_balance_new": (STOCK_START, "account balances at the start of the year, new rules"),
    "closing_balance_old": (STOCK_END, "account balances at the end of the year, old rules"),
    "closing_balance_new": (STOCK_END, "account balances at the end of the year, new rules"),
    "out_of_pocket_old": (FLOW, "members' out-of-pocket medical costs, old rules"),
    "out_of_pocket_new": (FLOW, "members' out-of-pocket medical costs, new rules"),
    "account_holders": ("count", "members with an account (new rules)"),
    # gains_losses (per member-year)
    "dimension": ("label", "the grouping"),
    "group": ("label", "the group"),
    "members": ("count", "member-years (a member counts once in each simulated year)"),
    "gainers": ("count", "member-years with a net gain above 0"),
    "losers": ("count", "member-years with a net gain below 0"),
    "loser_share": ("share", "losers ÷ members"),
    "net_gain_mean": (FLOW, "net gain in the year, before family transfers: balance_change − cash_change − "
                            "family transfers"),
    "net_gain_p10": (FLOW, "10th percentile of the net gain in the year"),
    "net_gain_median": (FLOW, "median net gain in the year"),
    "net_gain_p90": (FLOW, "90th percentile of the net gain in the year"),
    "net_gain_total": (FLOW, "sum of the net gains (over the simulated years)"),
    "balance_change_mean": (FLOW, "change in the account during the year (closing − opening), " + NEW_MINUS_OLD),
    "closing_gap_mean": (STOCK_END, "year-end balance, " + NEW_MINUS_OLD + "; holds every earlier year's "
                                    "gains, not the year's gain"),
    "cash_change_mean": (FLOW, "cash outlays (out-of-pocket + resident contributions in cash), " + NEW_MINUS_OLD),
    "mutual_aid_mean": (FLOW, "outpatient mutual aid received, new rules"),
    "family_received_mean": (FLOW, "received from family members' accounts, new rules"),
    "family_given_mean": (FLOW, "given from the own account to family members, new rules"),
    "net_gain_with_family_mean": (FLOW, "net gain in the year after family transfers"),
    "losers_with_family": ("count", "member-years with a net gain after family transfers below 0"),
    # family_gains (per family-year)
    "family_type": ("label", "the family's type"),
    "families": ("count", "family-years (a family counts once in each simulated year)"),
    "transfers_within_mean": (FLOW, "money passed between the family's members in the year"),
    # family_effect (per family-year)
    "family_kind": ("label", "families with a chronically ill and/or an elderly member"),
    "cash_old_mean": (FLOW, "family's cash outlays, old rules"),
    "cash_new_mean": (FLOW, "family's cash outlays, new rules"),
    "family_sharing_mean": (FLOW, "paid by family sharing, new rules"),
    "families_helped": ("count", "family-years that received family sharing"),
    "closing_balance_old_mean": (STOCK_END, "family's account balances at year end, old rules"),
    "closing_balance_new_mean": (STOCK_END, "family's account balances at year end, new rules"),
    "cash_change_share": ("share", "cash_change_mean ÷ cash_old_mean"),
}
# in family_gains and family_effect a net gain or cash change is the family's, not a member's
FAMILY_NOTES = {"net_gain_mean": (FLOW, "family's net gain in the year (transfers within the family cancel)"),
                "net_gain_median": (FLOW, "median family net gain in the year"),
                "net_gain_total": (FLOW, "sum of the families' net gains (over the simulated years)"),
                "gainers": ("count", "family-years with a net gain above 0"),
                "losers": ("count", "family-years with a net gain below 0"),
                "loser_share": ("share", "losers ÷ families"),
                "members": ("count", "member-years in these families"),
                "cash_change_mean": (FLOW, "family's cash outlays, " + NEW_MINUS_OLD)}


def column_notes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """For each table and column: whether the figure is a flow of the year or a balance (``COLUMN_NOTES``),
    and what it is; for the machine-readable outputs of ``accounts compare``."""
    rows = []
    for name, df in tables.items():
        for col in df.columns:
            notes = {**COLUMN_NOTES, **FAMILY_NOTES} if name.startswith("family") else COLUMN_NOTES
            basis, meaning = notes.get(col, ("", ""))
            rows.append({"of_table": name, "column": col, "basis": basis, "meaning": meaning})
    return pd.DataFrame(rows, columns=["of_table", "column", "basis", "meaning"])


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
    """One row per person-year: old and new balances and cash, the net gain, and the grouping columns.

    ``balance_change`` is the change during the year (``(closing_new − opening_new) − (closing_old −
    opening_old)``), the flow the year's net gain is made of; ``closing_gap`` (``closing_new −
    closing_old``) is the gap between the year-end balances, cumulative over every simulated year so far
    (in the first year, with the same opening balance under both regimes, the two are equal)."""
    old, new = sim.regime("old"), sim.regime("new")
    keys = ["person_id", "year"]
    cols = ["opening", "credit", "own_paid", "family_given", "family_received", "mutual_aid", "out_of_pocket",
            "contribution_cash", "closing"]
    j = new[keys + ["scheme", "category", "age", "region_code", "family_id", "chronic", "claims", "total",
                    "account_holder"] + cols].merge(old[keys + cols], on=keys, suffixes=("_new", "_old"))
    j["cash_new"] = j.out_of_pocket_new + j.contribution_cash_new
    j["cash_old"] = j.out_of_pocket_old + j.contribution_cash_old
    j["balance_change"] = ((j.closing_new - j.opening_new) - (j.closing_old - j.opening_old)).round(2)
    j["closing_gap"] = (j.closing_new - j.closing_old).round(2)
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
    group), with the family transfers and the gain after them alongside. One member-year is one
    observation, and every figure is a flow of its year except ``closing_gap_mean`` (year-end balances,
    cumulative; see ``COLUMN_NOTES``)."""
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
            "closing_gap_mean": g.closing_gap.mean(),
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
    """Per year: what the pooled fund gains and spends under the new rules, and the members' side.

    Every figure is a flow of the year except ``opening_balance_*`` and ``closing_balance_*`` (balances at
    the start and the end of the year, which carry every earlier year's gains). ``members_net_gain`` =
    ``members_balance_change`` (the change in the accounts during the year, new rules minus old) −
    ``members_cash_change``; ``conservation_residual`` = members' + pooled fund's net gain, 0 each year."""
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
        # the year's flow: what each regime's accounts changed by during the year, not the closing balances
        # (from the second year on these carry every earlier year's gain too)
        balance_change = (new.closing - new.opening).sum() - (old.closing - old.opening).sum()
        member_gain = balance_change - (cash_new - cash_old)
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
            "members_balance_change": balance_change,
            "members_cash_change": cash_new - cash_old,
            "conservation_residual": round(member_gain + extra_income - extra_spending, 2),
            "account_credits_old": old.credit.sum(),
            "account_credits_new": new.credit.sum(),
            "account_spending_old": old.own_paid.sum(),
            "account_spending_new": new.own_paid.sum(),
            "family_sharing_new": new.family_given.sum(),
            "opening_balance_old": old.opening.sum(),
            "opening_balance_new": new.opening.sum(),
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
    sharing paid (flows of the year), and the family's account balances at the end of the year (stocks,
    cumulative). One row per family kind (families counted once a year)."""
    c = changes[changes.family_size.fillna(1) > 1].copy()
    c["family_kind"] = np.select([c.family_chronic & c.family_elderly, c.family_chronic, c.family_elderly],
                                 ["chronic_and_elderly", "chronic", "elderly"], "neither")
    key = c.family_id.astype(str) + "/" + c.year.astype(str)
    f = c.groupby(key).agg(family_kind=("family_kind", "first"), cash_old=("cash_old", "sum"),
                           cash_new=("cash_new", "sum"), sharing=("family_received_new", "sum"),
                           closing_old=("closing_old", "sum"), closing_new=("closing_new", "sum"))
    g = f.groupby("family_kind")
    out = pd.DataFrame({
        "families": g.size(),
        "cash_old_mean": g.cash_old.mean(),
        "cash_new_mean": g.cash_new.mean(),
        "family_sharing_mean": g.sharing.mean(),
        "families_helped": g.sharing.apply(lambda s: int((s > 0).sum())),
        "closing_balance_old_mean": g.closing_old.mean(),
        "closing_balance_new_mean": g.closing_new.mean(),
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
