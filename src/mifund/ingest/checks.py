"""Checks that need the whole file (or the warehouse): keys, references, identities.

Each check is an Ibis expression over the staged file (the stage carries `_row`, the row number in the
file) and the warehouse tables, giving one row per problem with the columns of ISSUE_COLUMNS. The checks
of a file are unioned and run as one query, so a check costs no Python loop over the data and a file
of millions of rows is checked inside the engine.

`merged()` is the table as it will be after the file's upsert (the file's rows replace the warehouse
rows with the same key): the balance identity and the combined/pooled rule look there, so a previous
period or a conflicting fund may be in the file or already in the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from mifund import contract as C
from mifund.ingest.report import ERROR, WARNING, ImportIssue

BALANCE_TOLERANCE = 0.005  # |balance gap| above 0.5% of the period's balance_end is a warning
BALANCE_TOLERANCE_ABS = 0.01  # yuan; a gap of a rounding fen is never a breach
AMOUNT_TOLERANCE = 0.01  # yuan, for parts against totals and lines against claims
LEVEL_RANK = {"country": 0, "province": 1, "city": 2, "county": 3}

ISSUE_COLUMNS = ("row", "severity", "column", "value", "reason")
# Sums and differences of amounts are computed in this type: an amount may use all 16 integer digits of
# DECIMAL(18,2), and the sum of two such (a previous balance plus an income) overflows that type
WIDE = "decimal(38,2)"


def wide(v: ir.Value) -> ir.Value:
    return v.cast(WIDE)


INSURED_SPLIT_TOLERANCE = 0.0005  # 0.05% of insured


def txt(*parts) -> ir.StringValue:
    """Concatenate literals and values as text; a NULL value shows as empty, not as a NULL message."""
    out = ibis.literal("")
    for p in parts:
        out = out + (ibis.literal(p) if isinstance(p, str) else p.cast("string").fill_null(""))
    return out


def issue(t: ir.Table, severity: str, column: str | None, value, reason) -> ir.Table:
    return t.select(
        row=t._row.cast("int64"),
        severity=ibis.literal(severity),
        column=ibis.literal(column or "", type="string"),
        value=(value if value is not None else ibis.null()).cast("string"),
        reason=reason,
    )


def key_text(t: ir.Table, key) -> ir.StringValue:
    parts: list = []
    for i, k in enumerate(key):
        parts += [("" if i == 0 else ", ") + f"{k}=", t[k]]
    return txt(*parts)


def merged(stage: ir.Table, target: ir.Table, key) -> ir.Table:
    """The target as it will be after upserting the stage, with `_row` NULL for warehouse rows."""
    cols = list(target.columns)
    kept = target.anti_join(stage, [target[k].identical_to(stage[k]) for k in key])
    return stage.select(*cols, "_row").union(kept.select(*cols, _row=ibis.null("int64")), distinct=False)


# -- checks every table has --------------------------------------------------------------------------
def duplicate_keys(s: ir.Table, table: C.Table) -> ir.Table:
    w = ibis.window(group_by=[s[k] for k in table.key])
    d = s.mutate(_first=s._row.min().over(w))
    d = d.filter(d._row != d._first)
    return issue(d, ERROR, table.key[0], key_text(d, table.key), txt("duplicate key: same as row ", d._first))


def reference(s: ir.Table, column: str, parent: ir.Table, parent_column: str, parent_name: str) -> ir.Table:
    v = s.filter(s[column].notnull())
    bad = v.anti_join(parent, v[column] == parent[parent_column])
    return issue(
        bad, ERROR, column, bad[column],
        txt(f"{column} ", bad[column], f" is not in {parent_name} (import it first, or in the same import)"),
    )


# -- per table ---------------------------------------------------------------------------------------
def regions_checks(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    target = wh.table("regions")
    known = s.select("region_code").union(target.select("region_code"))
    out = [reference(s, "parent_code", known, "region_code", "regions (this file or the warehouse)")]
    m = merged(s, target, ("region_code",))
    p = m.select(p_code=m.region_code, p_level=m.level)
    j = s.join(p, s.parent_code == p.p_code)
    rank = ibis.cases(*((j.level == k, v) for k, v in LEVEL_RANK.items()), else_=-1)
    prank = ibis.cases(*((j.p_level == k, v) for k, v in LEVEL_RANK.items()), else_=-1)
    bad = j.filter(prank >= rank)
    out.append(
        issue(bad, ERROR, "parent_code", bad.parent_code,
              txt("parent ", bad.parent_code, " is a ", bad.p_level, ", not above this ", bad.level))
    )
    return out


def ledger_checks(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    out = []
    bad = s.filter(s.fund.isin(["account", "combined"]) & (s.scheme != "employee"))
    out.append(issue(bad, ERROR, "fund", bad.fund,
                     txt("fund ", bad.fund, " exists only for scheme employee, not ", bad.scheme)))
    for total, all_parts in (("income_total", C.INCOME_PARTS), ("expenditure_total", C.EXPENDITURE_PARTS)):
        parts = [p for p in all_parts if p in present]  # a part the file lacks is NULL: nothing to check
        if not parts:
            continue
        for part in parts:
            bad = s.filter(wide(s[part]) > wide(s[total]) + AMOUNT_TOLERANCE)
            out.append(issue(bad, ERROR, part, bad[part], txt(f"{part} exceeds {total} ", bad[total])))
        any_part = s[parts[0]].notnull()
        for p in parts[1:]:
            any_part = any_part | s[p].notnull()
        summed = sum((wide(s[p]).fill_null(0) for p in parts[1:]), wide(s[parts[0]]).fill_null(0))
        t = s.mutate(_sum=summed, _any=any_part)
        bad = t.filter(t._any & (t._sum > wide(t[total]) + AMOUNT_TOLERANCE))
        out.append(issue(bad, ERROR, total, bad[total],
                         txt(f"the parts of {total} add up to ", bad._sum, ", more than the total")))
    if {"insured_in_service", "insured_retired"} <= present:
        both = s.filter(s.insured_in_service.notnull() & s.insured_retired.notnull())
        split = both.insured_in_service + both.insured_retired
        # Bulletins publish persons in 万人, so parts rounded separately may miss the total by 10,000
        # on hundreds of millions; only a difference above INSURED_SPLIT_TOLERANCE of insured is worth a warning.
        bad = both.filter((split - both.insured).abs() > both.insured * INSURED_SPLIT_TOLERANCE)
        diff = bad.insured_in_service + bad.insured_retired - bad.insured
        out.append(issue(bad, WARNING, "insured", bad.insured,
                         txt("insured_in_service + insured_retired = ", bad.insured_in_service + bad.insured_retired,
                             ", not insured (difference ", diff, ")")))
    m = merged(s, wh.table("fund_ledger"), C.FUND_LEDGER.key)
    out.append(_combined_conflict(s, m))
    out.append(_balance_identity(s, m))
    if _rows_above_others(wh, m):
        out += _region_vs_below(wh, m)
    return out


PARENT_TOLERANCE = 0.005  # a region's own figure and the sum of the regions below may differ by 0.5%
PARENT_FIGURES = ("insured", "income_total", "expenditure_total", "balance_end")


def _figure(name: str, v: ir.Value) -> ir.Value:
    return v if name == "insured" else wide(v)


def _rows_above_others(wh, m: ir.Table) -> bool:
    """Whether some ledger row (the warehouse's with this import's) is a region's that has regions below
    it: only then can a region's own row stand beside rows below it. Two small queries; most ledgers hold
    leaf-region rows only, and the full check (a closure of the region tree joined to every row) would cost
    every such import about a second."""
    r = wh.table("regions")
    parents = set(wh.to_pandas(r.filter(r.parent_code.notnull()).select(p=r.parent_code.strip()).distinct())["p"])
    rows = set(wh.to_pandas(m.select("region_code").distinct())["region_code"])
    return bool(rows & parents)


def _region_vs_below(wh, m: ir.Table) -> list[ir.Table]:
    """A region's own ledger row (a city's, beside its counties' rows) against the sum of the rows below
    it, where those cover every leaf region below it: a difference beyond PARENT_TOLERANCE is a warning.
    The region's own figures stand (indicators use them, not the sum); the warning says they disagree.

    Rows below are the leaf-most ones (no strict descendant has a row of the same key), as indicators sum
    them. Only pairs where this file gives the region's row or one of the rows below are reported: at the
    region's row, else at the first row below in the file."""
    from mifund.ledger.regions import closure, leaf_units

    # the region tree is small: its closure is computed once, here, not compiled into the check 3 times
    full = ibis.memtable(wh.to_arrow(closure(wh)))
    c = full.filter(full.depth > 0)
    units = leaf_units(wh, closure_table=full)
    k = m.mutate(_m=m.month.fill_null(0))
    key = ("year", "_m", "scheme", "fund")
    d = k.join(c, k.region_code == c.descendant).select(
        d_region=c.ancestor, **{f"d{x}": k[x] for x in key}).distinct()
    leaf = k.anti_join(d, [k.region_code == d.d_region, *[k[x] == d[f"d{x}"] for x in key]])
    up = leaf.join(c, leaf.region_code == c.descendant).select(
        anc=c.ancestor, src=leaf.region_code, row=leaf._row, **{x: leaf[x] for x in (*key, *PARENT_FIGURES)})
    n = up.count()
    sums = up.group_by(["anc", *key]).aggregate(
        n_rows=n, c_row=up.row.min(),
        **{f"c_{f}": ibis.cases((up[f].count() == n, _figure(f, up[f]).sum())) for f in PARENT_FIGURES})
    u = units.select(u_region=units.region_code, u_unit=units.unit)
    cov = up.join(u, up.src == u.u_region)
    cov = cov.group_by(["anc", *key]).aggregate(n_cov=cov.u_unit.nunique())
    cov = cov.rename({f"v{x}": x for x in ("anc", *key)})
    exp = units.group_by("region_code").aggregate(n_exp=units.count()).rename(e_region="region_code")
    j = sums.join(cov, [sums.anc == cov.vanc, *[sums[x] == cov[f"v{x}"] for x in key]])
    j = j.join(exp, j.anc == exp.e_region).filter(lambda t: t.n_cov == t.n_exp)
    p = k.select(p_region=k.region_code, p_row=k._row, p_month=k.month,
                 **{f"p{x}": k[x] for x in key}, **{f"p_{f}": k[f] for f in PARENT_FIGURES})
    j = j.join(p, [j.anc == p.p_region, *[j[x] == p[f"p{x}"] for x in key]])
    j = j.filter(j.p_row.notnull() | j.c_row.notnull())
    flags, parts = {}, []
    for f in PARENT_FIGURES:
        own, below = _figure(f, j[f"p_{f}"]), j[f"c_{f}"]
        diff = (own - below).abs()
        big = ibis.greatest(own.abs(), below.abs())
        flags[f] = (own.notnull() & below.notnull() & (diff > 1)
                    & (diff.cast("float64") > big.cast("float64") * PARENT_TOLERANCE)).fill_null(False)
        pct = ((own - below).cast("float64") * 100 / below.abs().cast("float64").nullif(0.0)).round(1)
        unit = "" if f == "insured" else " yuan"
        part = txt(f"; {f} ", j[f"p_{f}"], unit, " vs ", below, unit, " below (",
                   ibis.cases((pct.notnull(), txt(pct.cast("string"), "%")), else_=ibis.literal("n/a")), ")")
        parts.append(ibis.ifelse(flags[f], part, ibis.literal("")))
    j = j.mutate(_row=j.p_row.coalesce(j.c_row), _what=sum(parts[1:], parts[0]).substr(2),
                 _col=ibis.cases(*((flags[f], f) for f in PARENT_FIGURES), else_=ibis.null("string")))
    bad = j.filter(j._col.notnull())
    period = ibis.cases((bad.p_month.isnull(), txt(bad.year)), else_=txt(bad.year, "-", bad.p_month))
    col = bad._col
    value = ibis.cases(*((col == f, bad[f"p_{f}"].cast("string")) for f in PARENT_FIGURES))
    t = bad.select(row=bad._row.cast("int64"), severity=ibis.literal(WARNING), column=col, value=value,
                   reason=txt("the own row of ", bad.anc, " ", bad.scheme, " ", bad.fund, " ", period,
                              " disagrees with the sum of its ", bad.n_rows, " row(s) below, which cover all its "
                              "regions, by more than ", f"{PARENT_TOLERANCE:.1%}: ", bad._what,
                              "; indicators use the region's own figures"))
    return [t]


def _combined_conflict(s: ir.Table, m: ir.Table) -> ir.Table:
    o = m.select(o_region=m.region_code, o_year=m.year, o_month=m.month, o_scheme=m.scheme, o_fund=m.fund, o_row=m._row)
    j = s.join(o, [s.region_code == o.o_region, s.year == o.o_year, s.month.identical_to(o.o_month),
                   s.scheme == o.o_scheme])
    bad = j.filter(((j.fund == "combined") & j.o_fund.isin(["pooled", "account"]))
                   | (j.fund.isin(["pooled", "account"]) & (j.o_fund == "combined")))
    where = ibis.cases((bad.o_row.notnull(), txt("row ", bad.o_row)), else_=ibis.literal("the warehouse"))
    return issue(bad, ERROR, "fund", bad.fund,
                 txt("a combined fund row cannot stand beside pooled/account rows of the same region, year, "
                     "month and scheme (", bad.o_fund, " in ", where, ")"))


def _balance_identity(s: ir.Table, m: ir.Table) -> ir.Table:
    """balance_end(t) = balance_end(t-1) + income_total(t) - expenditure_total(t), where t-1 is present.

    The previous period of an annual row (month NULL) is the annual row of year-1; of month m the month
    m-1, and of January the December of year-1.
    """
    t = s.mutate(
        _py=ibis.cases((s.month.isnull() | (s.month == 1), s.year - 1), else_=s.year),
        _pm=ibis.cases((s.month.isnull(), ibis.null("int64")), (s.month == 1, 12), else_=s.month - 1),
    )
    p = m.select(p_region=m.region_code, p_year=m.year, p_month=m.month, p_scheme=m.scheme, p_fund=m.fund,
                 p_balance=m.balance_end)
    j = t.join(p, [t.region_code == p.p_region, t._py == p.p_year, t._pm.identical_to(p.p_month),
                   t.scheme == p.p_scheme, t.fund == p.p_fund])
    j = j.mutate(_gap=wide(j.balance_end) - (wide(j.p_balance) + wide(j.income_total) - wide(j.expenditure_total)))
    bal = j.balance_end.abs().cast("float64")
    j = j.mutate(_pct=ibis.cases((bal > 0, (j._gap.cast("float64") * 100 / bal).round(2)), else_=ibis.null("float64")))
    bad = j.filter(j._gap.abs().cast("float64") > ibis.greatest(bal * BALANCE_TOLERANCE, BALANCE_TOLERANCE_ABS))
    period = ibis.cases((bad.month.isnull(), txt(bad.year)), else_=txt(bad.year, "-", bad.month))
    pct = ibis.cases((bad._pct.notnull(), txt(bad._pct, "%")), else_=ibis.literal("n/a"))
    return issue(
        bad, WARNING, "balance_end", bad.balance_end,
        txt("balance identity broken for ", bad.region_code, " ", bad.scheme, " ", bad.fund, " ", period,
            ": balance_end ", bad.balance_end, " vs previous balance ", bad.p_balance, " + income ",
            bad.income_total, " - expenditure ", bad.expenditure_total, "; gap ", bad._gap, " yuan (", pct,
            f", tolerance {BALANCE_TOLERANCE:.1%})"),
    )


def _breakdown(t: ir.Table) -> ir.StringValue:
    """How a population row is broken down (which of sex and age_band it gives)."""
    return ibis.cases(
        (t.sex.isnull() & t.age_band.isnull(), "a total (no sex, no age_band)"),
        (t.age_band.isnull(), "by sex"),
        (t.sex.isnull(), "by age_band"),
        else_="by sex and age_band",
    )


def population_checks(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    """The rows of a region-year are summed into its population, so they must all be broken down the
    same way: a total row beside sex/age-band rows (or sex-only rows beside sex × age-band ones) would
    count the same persons twice. Looks at the table as it will be after this file's upsert."""
    t = s.mutate(_pat=_breakdown(s))
    m = merged(s, wh.table("population"), C.POPULATION.key)
    o = m.select(o_region=m.region_code, o_year=m.year, o_pat=_breakdown(m), o_row=m._row,
                 o_sex=m.sex.isnull(), o_age=m.age_band.isnull())
    j = t.join(o, [t.region_code == o.o_region, t.year == o.o_year, t._pat != o.o_pat])
    j = j.mutate(_col=ibis.ifelse(j.sex.isnull() == j.o_sex, "age_band", "sex"))
    g = j.group_by(["_row", "region_code", "year", "_pat", "_col"]).aggregate(
        o_row=j.o_row.min(), o_pat=j.o_pat.min(), o_n=j.count()
    )
    other = ibis.cases(
        (g.o_row.notnull(), txt("row ", g.o_row, " of the same region and year is ", g.o_pat)),
        else_=txt("the warehouse's rows of the same region and year are ", g.o_pat),
    )
    out = []
    for col in ("sex", "age_band"):
        bad = g.filter(g._col == col)
        out.append(issue(
            bad, ERROR, col, txt(bad.region_code, " ", bad.year),
            txt("this row is ", bad._pat, ", but ", other.name("o"), ": summed into one population they "
                "would count the same persons twice; give one breakdown per region and year"),
        ))
    return out


def enrollment_checks(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    bad = s.filter(s.birth_date.year() > s.year)
    return [issue(bad, ERROR, "birth_date", bad.birth_date, txt("born after the enrolment year ", bad.year)),
            duplicate_enrolment(s, wh)]


def duplicate_enrolment(s: ir.Table, wh) -> ir.Table:
    """A warning per row whose person is enrolled in the same year in another region or scheme too (in this
    file or already in the warehouse): duplicate enrolment (重复参保), as supervision's screen defines it. Not an
    error: such records exist, and that screen is where they are worked; but the importer should not let one
    arrive unsaid (a settlement takes one of the enrolments, and with it the claim's region and policy)."""
    cols = ["person_id", "year", "scheme", "region_code"]
    e = wh.table("enrollment").select(*cols)
    others = e.union(s.select(*cols), distinct=True).rename(o_person="person_id", o_year="year", o_scheme="scheme",
                                                            o_region="region_code")
    j = s.join(others, [s.person_id == others.o_person, s.year == others.o_year])
    j = j.filter((j.o_region != j.region_code) | (j.o_scheme != j.scheme))
    j = j.mutate(other=txt(j.o_region, " (", j.o_scheme, ")"))
    bad = j.group_by("_row").aggregate(other=j.other.min(), n=j.other.nunique(), year=j.year.max())
    return issue(bad, WARNING, "person_id", None,
                 txt("duplicate enrolment (重复参保): the person is also enrolled in ", bad.other,
                     ibis.ifelse(bad.n > 1, txt(" and ", bad.n - 1, " more"), ""), " for ", bad.year))


def claims_checks(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    prov = wh.table("providers")
    out = [reference(s, "provider_id", prov, "provider_id", "providers")]
    bad = s.filter(s.discharge_date < s.admit_date)
    out.append(issue(bad, ERROR, "discharge_date", bad.discharge_date, txt("before admit_date ", bad.admit_date)))
    paid = wide(s.self_pay_amount) + wide(s.copay_first_amount)
    bad = s.mutate(_paid=paid).filter(lambda t: t._paid > t.total_amount)
    out.append(issue(bad, ERROR, "self_pay_amount", bad.self_pay_amount,
                     txt("self_pay_amount + copay_first_amount = ", bad._paid, " exceeds total_amount ", bad.total_amount)))
    if "policy_scope_amount" in present:  # else the importer filled it with exactly that
        scope = s.mutate(_expect=wide(s.total_amount) - wide(s.self_pay_amount) - wide(s.copay_first_amount))
        bad = scope.filter((wide(scope.policy_scope_amount) - scope._expect).abs() > AMOUNT_TOLERANCE)
        out.append(issue(bad, ERROR, "policy_scope_amount", bad.policy_scope_amount,
                         txt("should be total - self_pay - copay_first = ", bad._expect)))
    return out


def claim_lines_checks(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    return [reference(s, "claim_id", wh.table("claims"), "claim_id", "claims")]


def region_reference(s: ir.Table, wh, present: set[str]) -> list[ir.Table]:
    return [reference(s, "region_code", wh.table("regions"), "region_code", "regions")]


TABLE_CHECKS: dict[str, list[Callable]] = {
    "regions": [regions_checks],
    "population": [region_reference, population_checks],
    "fund_ledger": [region_reference, ledger_checks],
    "enrollment": [region_reference, enrollment_checks],
    "providers": [region_reference],
    "claims": [claims_checks],
    "claim_lines": [claim_lines_checks],
    "catalog": [],
}


def file_checks(wh, table: C.Table, stage: str, present: set[str]) -> list[ir.Table]:
    """The checks of one staged file; `present` names the columns the file has (checks of absent
    optional columns are left out: they could not fire, and every check costs compile time)."""
    s = wh.table(stage)
    out = [duplicate_keys(s, table)]
    for fn in TABLE_CHECKS.get(table.name, []):
        out += fn(s, wh, present)
    return out


def lines_total_checks(wh, claim_stages: list[str], line_stages: list[str]) -> list[tuple[str, ir.Table]]:
    """Claims whose lines (in the warehouse after this import's upserts) do not add up to total_amount.

    Runs after every file of the import is upserted, so new lines and new claims meet whatever order
    they came in. A claim in a claims file is reported there; one only in a lines file, at its first line.
    """
    lines, claims = wh.table("claim_lines"), wh.table("claims")
    sums = lines.group_by("claim_id").aggregate(_sum=lines.amount.sum(), _n=lines.count())
    out = []
    for stage in claim_stages:
        s = wh.table(stage)
        j = s.join(sums, "claim_id")
        bad = j.filter((wide(j._sum) - wide(j.total_amount)).abs() > AMOUNT_TOLERANCE)
        out.append((stage, issue(bad, ERROR, "total_amount", bad.total_amount,
                                 txt("the claim's ", bad._n, " lines add up to ", bad._sum))))
    reported = [wh.table(st).select("claim_id") for st in claim_stages]
    for stage in line_stages:
        s = wh.table(stage)
        first = s.group_by("claim_id").aggregate(_row=s._row.min())
        for r in reported:
            first = first.anti_join(r, "claim_id")
        j = first.join(sums, "claim_id").join(claims.select("claim_id", "total_amount"), "claim_id")
        bad = j.filter((wide(j._sum) - wide(j.total_amount)).abs() > AMOUNT_TOLERANCE)
        out.append((stage, issue(bad, ERROR, "amount", bad._sum,
                                 txt("lines of claim ", bad.claim_id, " add up to ", bad._sum,
                                     ", not its total_amount ", bad.total_amount))))
    return out


def run(wh, exprs: list[ir.Table], file: str, limit: int) -> tuple[list[ImportIssue], dict[str, int]]:
    """Execute the union of check expressions: the first `limit` issues in row order, and how many
    more of each severity there were."""
    if not exprs:
        return [], {}
    u = ibis.union(*exprs, distinct=False)
    df = wh.to_pandas(u.order_by([u.row, u.column]).limit(limit + 1))
    hidden: dict[str, int] = {}
    if len(df) > limit:
        df = df.iloc[:limit]
        totals = wh.to_pandas(u.group_by("severity").aggregate(n=u.count()))
        for sev, n in zip(totals.severity, totals.n, strict=True):
            hidden[sev] = int(n) - int((df.severity == sev).sum())
    issues = [
        ImportIssue(file, None if r.row is None or r.row != r.row else int(r.row), r.column or None,
                    r.reason, None if r.value is None or r.value != r.value else str(r.value), r.severity)
        for r in df.itertuples(index=False)
    ]
    return issues, hidden
