"""The account simulator: one vectorised Ibis pass per year and regime (old / new rules).

For every member of the warehouse in a year (``enrollment``; with a region, only those enrolled in it or
below it in the region tree) and their claims (``claims`` with the stored ``settlement`` and
``providers``):

1. **Crediting.** Employees' accounts are credited monthly (from January, one twelfth of the year's
   amount at the start of each month): in-service and flexible members a share of the monthly wage base
   from their own and from the employer's contribution; retirees a fixed amount plus a share of the
   pension (the local average pension). Ages are ``year − birth year``; twelve months a year.
2. **Outpatient mutual aid.** On claims of the mutual-aid visit types, the pooled fund pays
   ``ratio × (policy-scope amount above the yearly deductible)`` up to the yearly cap, the counters running
   over the member's claims in discharge order. Every other claim keeps the pooled, catastrophic and
   assistance payments of the stored settlement (the same under both regimes).
3. **Personal burden and spending order.** What the three layers leave is split into fully self-paid
   items, category-B co-pay and the policy-scope remainder. The account pays, claim by claim in
   discharge order, the parts its rules allow, as far as the balance available at that claim goes
   (opening balance + credits of the months up to the claim's month). In closed form, with ``cum_k`` the
   cumulative eligible burden and ``A_k`` the available credits: paid up to claim k =
   ``cum_k + min(0, min_{j<=k}(A_j − cum_j))``, a running minimum that is one window function.
4. **Family sharing** (where the rules allow): over the year, the balances the family's account holders
   have left pay the remaining eligible burden of the family's members who have no account of their own
   (resident spouse, children, parents) and, where allowed, their resident individual contributions
   (``family_use`` = 1, all of it, is an upper bound of what sharing can do; a share below 1 scales each
   family's draw down): ``draw = min(demand, supply)``, shared in proportion to each
   member's demand and taken in proportion to each holder's balance (to the fen; the fen left by
   rounding go to the largest shares).

Every amount is integer fen (int64) inside; ``simulate`` returns yuan. Money is conserved by
construction and checked by the tests: per member ``closing = opening + credit − own_paid −
family_given``; per family ``Σ given = Σ received``; and between regimes the pooled fund's net gain equals
minus the members' total net gain. ``reference.py`` is the slow claim-by-claim implementation the
property tests compare with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from mifund.accounts.rules import PPM, REGIMES, AccountRules, Resolved

FEN_COLUMNS = [
    "total", "pooled_paid", "mutual_aid", "other_layers", "burden", "eligible", "opening", "credit",
    "credit_employer", "own_paid", "family_given", "family_received", "contribution_received",
    "contribution_due", "out_of_pocket", "contribution_cash", "closing",
]
MEMBER_COLUMNS = ["person_id", "year", "regime", "scheme", "category", "age", "region_code", "family_id",
                  "chronic", "claims", "account_holder", *FEN_COLUMNS]
VISIT_USE = {"outpatient": "outpatient", "pharmacy": "pharmacy", "chronic_outpatient": "chronic_outpatient",
             "inpatient": "inpatient"}
BIG = 10**13


@dataclass
class Inputs:
    con: Any
    enrollment: ir.Table
    claims: ir.Table
    providers: ir.Table
    settlement: ir.Table
    fund_ledger: ir.Table | None
    regions: ir.Table | None = None  # the region tree (region_code, parent_code): what the ledger rows sum
    # the region codes whose members are simulated (a region and everything below it, ``region_subtree``);
    # None: every member of the source
    region_codes: list[str] | None = None


def inputs_of(source) -> Inputs:
    """From a Warehouse, or a mapping with enrollment, claims, providers, settlement (fund_ledger and
    regions optional) as pandas / pyarrow / Ibis tables."""
    from mifund.storage import Warehouse

    if isinstance(source, Warehouse):
        names = source.con.list_tables()
        t = {n: source.table(n) for n in ("enrollment", "claims", "providers", "settlement")}
        ledger = source.table("fund_ledger") if "fund_ledger" in names else None
        regions = source.table("regions") if "regions" in names else None
        return Inputs(source.con, t["enrollment"], t["claims"], t["providers"], t["settlement"], ledger, regions)
    con = ibis.duckdb.connect()

    def as_t(x):
        return x if isinstance(x, ir.Table) else ibis.memtable(x)

    ledger = as_t(source["fund_ledger"]) if source.get("fund_ledger") is not None else None
    regions = as_t(source["regions"]) if source.get("regions") is not None else None
    return Inputs(con, as_t(source["enrollment"]), as_t(source["claims"]), as_t(source["providers"]),
                  as_t(source["settlement"]), ledger, regions)


def _fen(col: ir.Value) -> ir.IntegerValue:
    return (col.cast("decimal(18,2)") * 100).round(0).cast("int64")


def _idiv(num: ir.IntegerValue, den) -> ir.IntegerValue:
    """Integer floor division of non-negative integers, exact (the engine's `/` may go through a float)."""
    return ((num - num % den) / den).round(0).cast("int64")


def _rdiv(num: ir.IntegerValue, den: int) -> ir.IntegerValue:
    """num / den rounded half up, for non-negative integers."""
    return _idiv(num + den // 2, den)


def members_expr(inp: Inputs, year: int) -> ir.Table:
    """One row per person enrolled in `year` (an employee row wins over a resident one), only those whose
    row is in ``inp.region_codes`` where it is set: the region is chosen after the row, so that an
    employee of another county who is also on a resident roll here is not simulated here as a resident."""
    e = inp.enrollment.filter(inp.enrollment.year == year)
    e = e.mutate(_pri=ibis.ifelse(e.scheme == "employee", 0, 1))
    w = ibis.window(group_by="person_id", order_by=["_pri", "category", "region_code"])
    e = e.mutate(_rn=ibis.row_number().over(w)).filter(lambda t: t._rn == 0)
    if inp.region_codes is not None:
        e = e.filter(e.region_code.isin(inp.region_codes))
    return e.select(
        "person_id", "scheme", "category", "region_code",
        family_id=e.family_id.cast("string"),
        age=(ibis.literal(year) - e.birth_date.cast("date").year()).cast("int64"),
        wage=ibis.ifelse(e.wage_base.isnull(), 0, _fen(e.wage_base)),
    )


def credits_expr(members: ir.Table, r: Resolved) -> ir.Table:
    """members + monthly credit parts (fen): m_employee, m_employer, m_retired."""
    rows = r.crediting or [{"category": "", "from_age": 0, "to_age": 0, "employee_ppm": 0, "employer_ppm": 0,
                            "fixed": 0, "pension_ppm": 0}]
    c = ibis.memtable(pd.DataFrame(rows).astype({"from_age": "int64", "to_age": "int64", "employee_ppm": "int64",
                                                 "employer_ppm": "int64", "fixed": "int64",
                                                 "pension_ppm": "int64"}))
    m = members
    j = m.left_join(c, [m.category == c.category, m.scheme == "employee", m.age >= c.from_age, m.age < c.to_age])
    emp = j.employee_ppm.fill_null(0)
    er = j.employer_ppm.fill_null(0)
    return j.select(
        *[j[x] for x in m.columns],
        has_rule=j.from_age.notnull(),
        m_employee=_rdiv(j.wage * emp, PPM),
        m_employer=_rdiv(j.wage * er, PPM),
        m_retired=j.fixed.fill_null(0) + _rdiv(ibis.literal(r.average_pension) * j.pension_ppm.fill_null(0), PPM),
    )


def claim_burdens(inp: Inputs, members: ir.Table, r: Resolved) -> ir.Table:
    """Claims discharged in the year, with the regime's pooled payment and the personal burden split."""
    year = r.year
    k = inp.claims
    k = k.filter(k.discharge_date.cast("date").year() == year)
    s = inp.settlement.select("claim_id", s_pooled=_fen(inp.settlement.pooled_fund_paid),
                              s_other=_fen(inp.settlement.catastrophic_paid) + _fen(inp.settlement.assistance_paid))
    p = inp.providers.select(p_id=inp.providers.provider_id, level=inp.providers.level.cast("int64"))
    total = _fen(k.total_amount)
    selfp = _fen(k.self_pay_amount.fill_null(0))
    copay = _fen(k.copay_first_amount.fill_null(0))
    scope = ibis.ifelse(k.policy_scope_amount.isnull(), total - selfp - copay, _fen(k.policy_scope_amount))
    k = k.select("claim_id", "person_id", "provider_id", "visit_type", ddate=k.discharge_date.cast("date"),
                 total=total, self_pay=selfp, copay_first=copay, scope=scope)
    k = k.inner_join(members.select("person_id", "scheme", "category"), "person_id")
    k = k.left_join(s, "claim_id").drop("claim_id_right")
    k = k.left_join(p, k.provider_id == p.p_id).drop("p_id")
    ma_rows = [x for x in r.mutual_aid] or [{"category": "", "level": 0, "deductible": 0, "ratio_ppm": 0, "cap": 0}]
    ma = ibis.memtable(pd.DataFrame(ma_rows).astype({"level": "int64", "deductible": "int64", "ratio_ppm": "int64",
                                                     "cap": "int64"})).rename(ma_category="category",
                                                                              ma_level="level")
    in_scope = k.visit_type.isin(r.mutual_aid_visit_types or ["-"]) & (k.scheme == "employee")
    k = k.mutate(in_scope=in_scope)
    k = k.left_join(ma, [k.in_scope, k.category == ma.ma_category, k.level.fill_null(3) == ma.ma_level])
    k = k.mutate(in_scope=k.in_scope & k.ratio_ppm.notnull())
    base = ibis.ifelse(k.in_scope, k.scope.clip(lower=0), 0)
    k = k.mutate(base=base)
    w = ibis.window(group_by="person_id", order_by=["ddate", "claim_id"], rows=(None, 0))
    k = k.mutate(cum_base=k.base.sum().over(w))
    ded = k.deductible.fill_null(0)
    above = (k.cum_base - ded).clip(lower=0) - (k.cum_base - k.base - ded).clip(lower=0)
    k = k.mutate(raw=_rdiv(above * k.ratio_ppm.fill_null(0), PPM))
    k = k.mutate(cum_raw=k.raw.sum().over(w))
    cap = k.cap.fill_null(BIG)
    ma_paid = ibis.least(k.cum_raw, cap) - ibis.least(k.cum_raw - k.raw, cap)
    mutual = ibis.ifelse(k.in_scope, ma_paid, 0).cast("int64")
    pooled = ibis.ifelse(k.in_scope, mutual, k.s_pooled.fill_null(0)).cast("int64")
    other = k.s_other.fill_null(0)
    burden = (k.total - pooled - other).clip(lower=0).cast("int64")
    k = k.mutate(mutual_aid=mutual, pooled_paid=pooled, other_layers=other, burden=burden)
    self_part = ibis.least(k.self_pay, k.burden).clip(lower=0)
    copay_part = ibis.least(k.copay_first, k.burden - self_part).clip(lower=0)
    k = k.mutate(self_part=self_part, copay_part=copay_part, scope_part=k.burden - self_part - copay_part)
    allowed = ibis.literal(False)
    for vt, use in VISIT_USE.items():
        if r.uses.get(use):
            allowed = allowed | (k.visit_type == vt)
    elig = ibis.ifelse(allowed, k.burden - (0 if r.uses.get("self_pay") else k.self_part), 0).cast("int64")
    return k.select("claim_id", "person_id", "visit_type", "ddate", "level", "total", "mutual_aid", "pooled_paid",
                    "other_layers", "burden", "self_part", "copay_part", "scope_part", eligible=elig)


def own_account_expr(claims: ir.Table, credits: ir.Table, opening: ir.Table) -> ir.Table:
    """claims + own_paid: what the member's own account pays of each claim (spending order: discharge
    date, claim id; available = opening + monthly credit × month of the claim)."""
    c = credits.select("person_id", monthly=credits.m_employee + credits.m_employer + credits.m_retired)
    o = opening
    k = claims.left_join(c, "person_id").drop("person_id_right")
    k = k.left_join(o, "person_id").drop("person_id_right")
    avail = k.opening.fill_null(0) + k.monthly.fill_null(0) * k.ddate.month().cast("int64")
    w = ibis.window(group_by="person_id", order_by=["ddate", "claim_id"], rows=(None, 0))
    k = k.mutate(avail=avail, cum=k.eligible.sum().over(w))
    k = k.mutate(x=k.avail - k.cum)
    k = k.mutate(runmin=k.x.min().over(w))
    k = k.mutate(paid_cum=k.cum + ibis.least(0, k.runmin))
    k = k.mutate(own_paid=(k.paid_cum - (k.paid_cum.lag().over(ibis.window(group_by="person_id", order_by=["ddate", "claim_id"]))
                                  .fill_null(0))).cast("int64"))
    return k.drop("monthly", "opening", "avail", "cum", "x", "runmin", "paid_cum")


def _allocate(t: ir.Table, group: str, amount: str, weight: str, total_weight: str, out: str) -> ir.Table:
    """Share t[amount] (the group's total, on every row) in proportion to t[weight], to the fen: floors,
    then one fen more to the largest weights (ties by person_id) until the total is met."""
    base = ibis.ifelse(t[total_weight] > 0, _idiv(t[amount] * t[weight], t[total_weight].nullif(0)), 0)
    t = t.mutate(_base=base)
    wg = ibis.window(group_by=group)
    t = t.mutate(_rem=t[amount] - t._base.sum().over(wg))
    wr = ibis.window(group_by=group, order_by=[ibis.desc(weight), "person_id"])
    t = t.mutate(_rank=ibis.row_number().over(wr))
    t = t.mutate(**{out: (t._base + ibis.ifelse(t._rank < t._rem, 1, 0)).cast("int64")})
    return t.drop("_base", "_rem", "_rank")


def _use_ppm(share: float) -> int:
    if not 0 <= share <= 1:
        raise ValueError("the family-sharing use is a share between 0 and 1")
    return round(share * PPM)


def _materialise(con, expr: ir.Table) -> ir.Table:
    """A temporary table holding `expr` (so that later steps do not recompute it), or, where the
    connection refuses one (a read-only warehouse), the rows executed to Arrow and read back."""
    name = f"_accounts_{uuid.uuid4().hex[:12]}"
    try:
        return con.create_table(name, expr, temp=True)
    except Exception:  # noqa: BLE001 - any backend refusal: execute once instead
        return ibis.memtable(con.to_pyarrow(expr))


def year_expr(inp: Inputs, rules: AccountRules, year: int, regime: str, opening: ir.Table, *,
              family_use: float = 1.0) -> ir.Table:
    """The member table of one year under one regime (fen). `family_use`: the share of the possible
    family sharing that families use (1 = all of it, an upper bound)."""
    r = rules.resolve(year, regime)
    opening = _materialise(inp.con, opening)
    credits = _materialise(inp.con, credits_expr(members_expr(inp, year), r))
    claims = claim_burdens(inp, credits, r)
    claims = _materialise(inp.con, own_account_expr(claims, credits, opening))
    py = claims.group_by("person_id").aggregate(
        claims=claims.count().cast("int64"),
        chronic=(claims.visit_type == "chronic_outpatient").any(),
        total=claims.total.sum(), pooled_paid=claims.pooled_paid.sum(), mutual_aid=claims.mutual_aid.sum(),
        other_layers=claims.other_layers.sum(), burden=claims.burden.sum(), eligible=claims.eligible.sum(),
        own_paid=claims.own_paid.sum())
    m = credits.left_join(py, "person_id").drop("person_id_right")
    m = m.left_join(opening, "person_id").drop("person_id_right")
    zero = ibis.literal(0, type="int64")
    fills = {c: m[c].fill_null(zero).cast("int64") for c in
             ["claims", "total", "pooled_paid", "mutual_aid", "other_layers", "burden", "eligible", "own_paid"]}
    m = m.mutate(**fills, chronic=m.chronic.fill_null(False), opening=m.opening.fill_null(zero).cast("int64"))
    m = m.mutate(credit=(12 * (m.m_employee + m.m_employer + m.m_retired)).cast("int64"),
                 credit_employer=(12 * m.m_employer).cast("int64"),
                 account_holder=(m.scheme == "employee") & (m.has_rule | (m.opening > 0)),
                 contribution_due=ibis.ifelse(m.scheme == "resident", r.resident_contribution, 0).cast("int64"))
    m = m.mutate(leftover=m.opening + m.credit - m.own_paid, residual=m.eligible - m.own_paid)
    if r.uses.get("family_members"):
        contrib = m.contribution_due if r.uses.get("family_resident_contributions") else zero
        fam_member = m.family_id.notnull()
        m = m.mutate(demand=ibis.ifelse(fam_member & ~m.account_holder, m.residual + contrib, 0).cast("int64"),
                     supply=ibis.ifelse(fam_member & m.account_holder, m.leftover, 0).cast("int64"))
        fam = ibis.window(group_by="family_id")
        m = m.mutate(fam_demand=m.demand.sum().over(fam).cast("int64"),
                     fam_supply=m.supply.sum().over(fam).cast("int64"))
        use_ppm = _use_ppm(family_use)
        m = m.mutate(fam_draw=_idiv(ibis.least(m.fam_demand, m.fam_supply) * use_ppm, PPM))
        m = m.mutate(_g=ibis.coalesce(m.family_id, m.person_id))
        m = _allocate(m, "_g", "fam_draw", "demand", "fam_demand", "family_received")
        m = _allocate(m, "_g", "fam_draw", "supply", "fam_supply", "family_given")
        m = m.mutate(contribution_received=ibis.least(m.family_received, contrib).cast("int64"))
        m = m.drop("demand", "supply", "fam_demand", "fam_supply", "fam_draw", "_g")
    else:
        m = m.mutate(family_received=zero, family_given=zero, contribution_received=zero)
    claim_received = m.family_received - m.contribution_received
    m = m.mutate(out_of_pocket=(m.burden - m.own_paid - claim_received).cast("int64"),
                 contribution_cash=(m.contribution_due - m.contribution_received).cast("int64"),
                 closing=(m.leftover - m.family_given).cast("int64"))
    return m.select(
        "person_id", year=ibis.literal(year, type="int64"), regime=ibis.literal(regime), scheme=m.scheme,
        category=m.category, age=m.age, region_code=m.region_code, family_id=m.family_id, chronic=m.chronic,
        claims=m.claims, account_holder=m.account_holder, **{c: m[c] for c in FEN_COLUMNS})


def opening_from_ledger(inp: Inputs, rules: AccountRules, year: int) -> ir.Table:
    """Opening balances: each county's account balance at the end of year − 1 (fund_ledger, employee,
    fund account, annual row) shared among its account holders in proportion to their old-regime
    yearly credit. Counties without a ledger row open at zero."""
    members = members_expr(inp, year)
    cr = credits_expr(members, rules.resolve(year, "old"))
    cr = cr.filter(cr.has_rule).mutate(w=12 * (cr.m_employee + cr.m_employer + cr.m_retired))
    if inp.fund_ledger is None:
        return cr.select("person_id", opening=ibis.literal(0, type="int64"))
    f = inp.fund_ledger
    f = f.filter((f.year == year - 1) & (f.scheme == "employee") & (f.fund == "account") & f.month.isnull())
    f = f.select(l_region=f.region_code, balance=_fen(f.balance_end))
    j = cr.left_join(f, cr.region_code == f.l_region)
    j = j.mutate(w_total=j.w.sum().over(ibis.window(group_by="region_code")))
    j = j.mutate(balance=j.balance.fill_null(0))
    j = _allocate(j, "region_code", "balance", "w", "w_total", "opening")
    return j.select("person_id", opening=j.opening.cast("int64"))


@dataclass
class Simulation:
    """Both regimes, every simulated year: ``members`` (one row per person, year, regime; amounts in
    yuan) and what it was run with."""

    members: pd.DataFrame
    years: list[int]
    region_code: str
    transition_date: dt.date
    references: list[dict] = field(default_factory=list)
    opening: str = "ledger"

    # the region whose members were simulated (it and everything below it: ``region_codes``); None: every
    # member of the warehouse
    region: str | None = None
    region_codes: list[str] | None = None
    family_use: float = 1.0  # the share of the possible family sharing used (1: all of it, an upper bound)

    def regime(self, name: str) -> pd.DataFrame:
        return self.members[self.members.regime == name]


def region_subtree(source, region: str) -> list[str]:
    """`region` and every region below it in the region tree (``regions``), sorted; a region the tree
    does not hold (or a source without a tree) is itself alone."""
    from mifund.ledger.regions import closure

    inp = source if isinstance(source, Inputs) else inputs_of(source)
    if inp.regions is None:
        return [region]
    c = closure(inp.regions)
    got = inp.con.to_pyarrow(c.filter(c.ancestor == region).select("descendant")).column(0).to_pylist()
    return sorted({region, *got})


def available_years(inp: Inputs) -> list[int]:
    """The years of the enrolment (a year without claims is still a year of crediting), of the simulated
    regions only where ``inp.region_codes`` is set."""
    e = inp.enrollment
    if inp.region_codes is not None:
        e = e.filter(e.region_code.isin(inp.region_codes))
    e = inp.con.to_pyarrow(e.select("year").distinct()).column("year").to_pylist()
    return sorted(int(y) for y in e if y is not None)


def simulate_fen(source, rules: AccountRules, *, years: list[int] | None = None, opening: str = "ledger",
                 family_use: float = 1.0, region: str | None = None, progress=None) -> pd.DataFrame:
    """The member table in fen (int64), both regimes; balances carry from year to year per regime.
    `region`: only the members enrolled in it or below it (``region_subtree``); None: every member."""
    inp = inputs_of(source)
    if region is not None:
        inp.region_codes = region_subtree(inp, region)
    have = available_years(inp)
    if not have:
        raise ValueError("no enrolment in the warehouse" if region is None else
                         f"no member enrolled in region {region} or below it")
    years = sorted(set(years)) if years else have
    missing = [y for y in years if y not in have]
    if missing:
        raise ValueError(f"no enrolment in {', '.join(map(str, missing))}; the enrolment has the years "
                         f"{', '.join(map(str, have))}")
    if years != list(range(years[0], years[-1] + 1)):
        raise ValueError(f"the years must follow one another (balances carry from one year to the next), "
                         f"not {', '.join(map(str, years))}")
    if opening not in ("ledger", "zero"):
        raise ValueError(f"opening is 'ledger' or 'zero', not {opening!r}")
    if not 0 <= family_use <= 1:
        raise ValueError(f"family_use is a share between 0 and 1, not {family_use}")
    first = years[0]
    if opening == "ledger":
        open0 = inp.con.to_pyarrow(opening_from_ledger(inp, rules, first))
    else:
        open0 = pd.DataFrame({"person_id": pd.Series([], dtype=str), "opening": pd.Series([], dtype="int64")})
    frames = []
    for regime in REGIMES:
        op = open0
        for y in years:
            expr = year_expr(inp, rules, y, regime, ibis.memtable(op), family_use=family_use)
            df = inp.con.to_pandas(expr)
            frames.append(df)
            op = df.loc[df.closing != 0, ["person_id", "closing"]].rename(columns={"closing": "opening"})
            if progress:
                progress(f"{regime} {y}")
    out = pd.concat(frames, ignore_index=True)
    return out[MEMBER_COLUMNS].sort_values(["regime", "year", "person_id"], ignore_index=True)


def simulate(source, rules: AccountRules, *, years: list[int] | None = None, opening: str = "ledger",
             family_use: float = 1.0, region: str | None = None, progress=None) -> Simulation:
    """Simulate both regimes (see module doc); amounts in yuan. `opening`: 'ledger' (county account
    balances of the year before the first, from fund_ledger) or 'zero'; `family_use`: the share of the
    possible family sharing families use (1 = all: an upper bound); `region`: only the members enrolled
    in that region or below it (the rules are `rules` whatever the region; None: every member)."""
    df = simulate_fen(source, rules, years=years, opening=opening, family_use=family_use, region=region,
                      progress=progress)
    df = df.copy()
    for c in FEN_COLUMNS:
        df[c] = df[c].astype("int64") / 100
    yrs = sorted(df.year.unique().tolist())
    codes = None if region is None else region_subtree(source, region)
    return Simulation(df, [int(y) for y in yrs], rules.region_code, rules.transition_date, rules.references(),
                      opening, region=region, region_codes=codes, family_use=family_use)


def burden_components(source, rules: AccountRules, year: int, regime: str = "new") -> pd.DataFrame:
    """Per person and visit type: what the three layers leave to the patient (yuan), split into the
    policy-scope remainder, the category-B co-pay and fully self-paid items (what a commercial product
    may cover)."""
    inp = inputs_of(source)
    r = rules.resolve(year, regime)
    members = _materialise(inp.con, members_expr(inp, year))
    k = claim_burdens(inp, members, r)
    g = k.group_by(["person_id", "visit_type"]).aggregate(
        claims=k.count().cast("int64"), scope_part=k.scope_part.sum(), copay_part=k.copay_part.sum(),
        self_part=k.self_part.sum())
    df = inp.con.to_pandas(g)
    for c in ("scope_part", "copay_part", "self_part"):
        df[c] = df[c].astype("int64") / 100
    return df
