"""Reconciliation: the simulator's account figures beside the ledger's and the stored settlement's.

One warehouse holds three models of what the employee individual accounts spend in a year, and they
need not agree:

- the **simulator** (``engine``): every member's account balance, credited and spent claim by claim
  under the old and the new rules, with family sharing under the new ones;
- the **fund ledger** (``fund_ledger`` rows with ``fund = 'account'``, ``scheme = 'employee'``, annual
  rows): the accounts' expenditure and year-end balance as booked;
- the **stored settlement** (``settlement``, the latest result of every claim): its ``account_paid``
  comes from the benefit policy's ``account`` section, which knows no balances (a modelling share of the
  burden), so it is neither of the other two.

Reports and the dashboard read the settlement; the accounts commands read the simulator. This table puts
the figures side by side per year, with the rules the transition date puts in force that year, the
differences and their shares, and ``largest_gap`` names the biggest one, so that a user sees the
disagreement instead of finding it.

Only like is compared with like. The settlement's ``account_paid`` is what each member's account pays of
their **own** claims, so it stands on the ``own_claims`` row, beside the simulator's spending on own
claims. ``account_spending`` is the accounts' whole spending in the year -- own claims plus family
sharing -- which the simulator and the ledger's expenditure both count; the settlement has no such figure
(it knows no family sharing), and the ledger none for own claims alone, so neither stands on the other's
row. Spending and sharing are flows of the year; ``closing_balance`` is the balance at the year's end.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from mifund.accounts.engine import Inputs, Simulation, inputs_of
from mifund.ledger.regions import strict_closure

MEASURES = ("account_spending", "own_claims", "family_sharing", "closing_balance")
MEASURE_LABEL = {"account_spending": "account spending (own claims + family sharing)",
                 "own_claims": "account spending on own claims", "family_sharing": "family sharing",
                 "closing_balance": "closing balance (year end)"}
SOURCE_LABEL = {"simulated_in_force": "simulator (rules in force)", "ledger": "ledger",
                "settlement": "stored settlement account_paid"}
# (first, second) sources compared; a measure gets a difference only where both have a figure for it: the
# ledger and the simulator on account_spending and closing_balance, the settlement and the simulator on
# own_claims (the ledger's expenditure includes family sharing, the settlement's account_paid does not, so
# the two are never compared)
PAIRS = (("simulated_in_force", "ledger"), ("settlement", "simulated_in_force"))
SETTLEMENT_MEASURES = ("own_claims",)  # what the settlement's account_paid is: own claims only


def rules_in_force(year: int, transition: dt.date) -> str:
    """'old', 'new', or 'mixed' where the transition falls inside the year (then neither simulated regime
    is the year as it was, and the in-force figure is left empty)."""
    if transition <= dt.date(year, 1, 1):
        return "new"
    if transition > dt.date(year, 12, 31):
        return "old"
    return "mixed"


def _leaf_rows(df: pd.DataFrame, below: pd.DataFrame) -> pd.DataFrame:
    """Drop the ledger rows of a region below which some region has a row of its own in the same year (a
    city row beside its counties' rows), so that nothing is counted twice. `below`: the region tree's
    ``ancestor, descendant`` pairs, the region itself left out (``ledger.regions.strict_closure``); a
    region the tree does not hold is a leaf."""
    pairs = df[["year", "region_code"]].merge(below, left_on="region_code", right_on="descendant")
    summed = set(zip(pairs.year, pairs.ancestor, strict=True))  # (year, region) with a row below it
    return df[[(y, c) not in summed for y, c in zip(df.year, df.region_code, strict=True)]]


def ledger_figures(inp: Inputs, years: list[int]) -> pd.DataFrame:
    """Per year: the employee account fund's expenditure and year-end balance in the ledger (yuan), summed
    over the leaf-most rows of the region tree (``inp.regions``; without it every row counts), of the
    simulated regions only where ``inp.region_codes`` is set (a county's members are never set against
    its city's ledger); empty where the warehouse has no such rows."""
    if inp.fund_ledger is None:
        return pd.DataFrame(columns=["year", "expenditure", "balance"])
    f = inp.fund_ledger
    f = f.filter((f.scheme == "employee") & (f.fund == "account") & f.month.isnull() & f.year.isin(years))
    if inp.region_codes is not None:
        f = f.filter(f.region_code.isin(inp.region_codes))
    g = f.group_by(["year", "region_code"]).aggregate(expenditure=f.expenditure_total.sum(),
                                                      balance=f.balance_end.sum())
    df = inp.con.to_pandas(g)
    if df.empty:
        return pd.DataFrame(columns=["year", "expenditure", "balance"])
    if inp.regions is None:
        below = pd.DataFrame({"ancestor": pd.Series(dtype=object), "descendant": pd.Series(dtype=object)})
    else:
        c = strict_closure(inp.regions)
        below = inp.con.to_pandas(c.select("ancestor", "descendant"))
    df = _leaf_rows(df, below)
    out = df.groupby("year", as_index=False)[["expenditure", "balance"]].sum()
    return out.astype({"year": "int64", "expenditure": "float64", "balance": "float64"})


def settlement_figures(inp: Inputs, years: list[int]) -> pd.DataFrame:
    """Per year (of discharge, as in the simulator): the stored settlement's account_paid on the claims of
    members who are employees that year (in the simulated regions where ``inp.region_codes`` is set), and
    how many of the year's claims are settled at all."""
    s = inp.settlement
    if "account_paid" not in s.columns:
        return pd.DataFrame(columns=["year", "account_paid", "settled"])
    k = inp.claims
    k = k.select("claim_id", "person_id", year=k.discharge_date.cast("date").year().cast("int64"))
    k = k.filter(k.year.isin(years))
    e = inp.enrollment.filter(inp.enrollment.scheme == "employee")
    if inp.region_codes is not None:
        e = e.filter(e.region_code.isin(inp.region_codes))
    e = e.select("person_id", e_year=e.year.cast("int64")).distinct()
    k = k.semi_join(e, [k.person_id == e.person_id, k.year == e.e_year])
    j = k.inner_join(s.select("claim_id", "account_paid"), "claim_id")
    g = j.group_by("year").aggregate(account_paid=j.account_paid.sum(), settled=j.count())
    df = inp.con.to_pandas(g)
    return df.astype({"year": "int64", "account_paid": "float64", "settled": "int64"})


def _share(num: float, den: float) -> float:
    return num / den if den and not math.isnan(den) and not math.isnan(num) else math.nan


def reconcile(sim: Simulation, source) -> pd.DataFrame:
    """One row per simulated year × measure (``MEASURES``): the simulator's figure under the old and the
    new rules and under the rules in force that year, the ledger's and the stored settlement's (empty
    where a source has no figure for that measure or year), and for each pair of sources (``PAIRS``) the
    difference (first − second) and the first as a share of the second. The settlement's account_paid
    (own claims only) stands on the ``own_claims`` row alone; ``account_spending`` (own claims + family
    sharing) is compared with the ledger's expenditure only. The ledger and the settlement are read for
    the simulation's regions (``sim.region_codes``) alone. Yuan."""
    inp = inputs_of(source)
    inp.region_codes = sim.region_codes
    years = list(sim.years)
    led = ledger_figures(inp, years).set_index("year")
    st = settlement_figures(inp, years).set_index("year")
    rows = []
    for y in years:
        force = rules_in_force(y, sim.transition_date)
        sims = {}
        for regime in ("old", "new"):
            m = sim.members[(sim.members.regime == regime) & (sim.members.year == y)]
            sims[regime] = {"own_claims": m.own_paid.sum(), "family_sharing": m.family_given.sum(),
                            "account_spending": m.own_paid.sum() + m.family_given.sum(),
                            "closing_balance": m.closing.sum()}
        ledger = {"account_spending": led.expenditure.get(y, math.nan), "closing_balance": led.balance.get(y, math.nan)}
        settled = st.account_paid.get(y, math.nan) if st.settled.get(y, 0) > 0 else math.nan
        for measure in MEASURES:
            r = {"year": y, "measure": measure, "rules_in_force": force,
                 "simulated_old": round(float(sims["old"][measure]), 2),
                 "simulated_new": round(float(sims["new"][measure]), 2)}
            r["simulated_in_force"] = r.get(f"simulated_{force}", math.nan)
            r["ledger"] = ledger.get(measure, math.nan)
            r["settlement"] = settled if measure in SETTLEMENT_MEASURES else math.nan
            for a, b in PAIRS:
                name = f"{a.removesuffix('_in_force')}_minus_{b.removesuffix('_in_force')}"
                r[name] = round(r[a] - r[b], 2) if not (math.isnan(r[a]) or math.isnan(r[b])) else math.nan
                r[f"{a.removesuffix('_in_force')}_share_of_{b.removesuffix('_in_force')}"] = _share(r[a], r[b])
            rows.append(r)
    return pd.DataFrame(rows)


def family_sharing_note(table: pd.DataFrame, family_use: float) -> str:
    """A sentence naming family sharing as a cause of the account-spending gap with the ledger (in the
    year of the largest such gap), and saying when it is simulated at its upper bound (`family_use` 1):
    the simulator counts sharing in the accounts' spending, the ledger only what families really drew, so
    with every family using all the sharing its balances allow the two cannot close. '' where no year has
    both figures or the simulator shares nothing that year."""
    sp = table[(table.measure == "account_spending") & table.simulated_minus_ledger.notna()]
    if sp.empty:
        return ""
    r = sp.loc[sp.simulated_minus_ledger.abs().idxmax()]
    fam = table[(table.year == r.year) & (table.measure == "family_sharing")].simulated_in_force
    fam = float(fam.iloc[0]) if len(fam) else math.nan
    if math.isnan(fam) or fam == 0:
        return ""
    how = ("at its upper bound (--family-use 1: every family uses all the sharing its balances allow)"
           if family_use >= 1 else f"at {family_use:g} of its upper bound (--family-use {family_use:g})")
    gap = r.simulated_minus_ledger
    part = f", {fam / gap:.0%} of the {gap:+,.2f} gap with the ledger" if gap > 0 else ""
    return (f"Family sharing: the simulator's {r.year} account spending includes {fam:,.2f} yuan of family "
            f"sharing {how}{part}; from the same opening balances it lowers that year-end balance by as "
            "much. A smaller --family-use lowers it.")


def largest_gap(table: pd.DataFrame, family_use: float | None = None) -> str:
    """One line naming the largest absolute difference between two sources in ``reconcile``'s table; with
    `family_use` (the simulation's), followed by ``family_sharing_note``."""
    line = _largest_gap(table)
    extra = family_sharing_note(table, family_use) if family_use is not None else ""
    return f"{line} {extra}" if extra else line


def _largest_gap(table: pd.DataFrame) -> str:
    best = None
    for a, b in PAIRS:
        col = f"{a.removesuffix('_in_force')}_minus_{b.removesuffix('_in_force')}"
        d = table[col].abs()
        if d.notna().any():
            i = d.idxmax()
            if best is None or d[i] > best[0]:
                best = (d[i], i, a, b)
    if best is None:
        return ("Reconciliation: nothing to compare; the warehouse has no employee account rows in the ledger "
                "and no stored settlement for the simulated years.")
    _, i, a, b = best
    r = table.loc[i]
    sa, sb = (SOURCE_LABEL[x].replace("rules in force", f"{r.rules_in_force} rules, in force") for x in (a, b))
    share = _share(r[a], r[b])
    pct = "" if math.isnan(share) else f", the first {share:.0%} of the second"
    return (f"Largest gap: {r.year} {MEASURE_LABEL[r.measure]}: {sa} {r[a]:,.2f} vs {sb} "
            f"{r[b]:,.2f} yuan, a difference of {r[a] - r[b]:+,.2f}{pct}.")


