"""Fund-ledger indicators: coverage, surplus, months of payment capacity, growth, per-capita figures.

``compute_indicators(wh)`` builds one Ibis expression over ``fund_ledger``, ``population`` and the
region tree and executes it once. The steps, all as joins and group-bys:

1. **own rows**: the ledger rows of the period kind asked for (annual rows have ``month`` NULL;
   internally month 0 so that keys join without NULL trouble), each with the resident population of
   its region-year (population rows summed over sex and age bands; a region without population rows of
   its own, e.g. a city reporting its own ledger row with population given by county, takes the sum of
   the regions below where they cover all its leaf regions, else NULL). Where a region-period has
   employee ``pooled`` and ``account`` rows and no ``combined`` row, a ``combined`` row is derived:
   flows and balances summed, insured taken once (both rows carry the same persons).
2. **aggregation** up the region tree: a region with its own row for (year, month, scheme, fund)
   keeps it; otherwise its row is the sum of the leaf-most own rows below it (rows whose region has
   no descendant with a row for the same key). Everything is summed (flows, balances, insured,
   population); a sum over rows of which any lacks the value is NULL, never a partial sum.
3. **overall rows** (scheme = fund = ``total``): employee ``combined`` + resident ``pooled`` of the
   same region-period, where both exist.
4. **coverage**: which leaf regions of the tree (regions without children: counties, usually)
   stand behind each row. A reported row covers every leaf below its region; an aggregated row only
   the leaves below the rows it summed, so a city total summed from 8 of its 9 counties says
   ``units_covered`` 8, ``units_expected`` 9, ``missing_regions`` = the ninth county's code.
5. **indicators** from the sums: ratios recomputed (never averaged), ``balance_start`` and the
   year-on-year growth from a self-join on the previous period (a missing period gives NULL, not
   growth against an older one), months of payment capacity from the trailing twelve months.
   Comparisons across periods need both periods complete: a total short of a county is not
   compared with a whole one (growth, ``balance_start`` and ``balance_gap`` are NULL there), and the
   trailing window only averages months of the same coverage.

The definitions, in English and Chinese, are in ``mifund.ledger.catalog.INDICATORS`` and
docs/indicators.md.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from mifund.contract import EXPENDITURE_PARTS, INCOME_PARTS
from mifund.ingest.checks import INSURED_SPLIT_TOLERANCE
from mifund.ledger.regions import closure, leaf_units, strict_closure

KEY = ("region_code", "year", "month", "scheme", "fund")
SERIES = ("region_code", "scheme", "fund")  # one time series per region x scheme x fund
PERSONS = ("insured", "insured_in_service", "insured_retired")
AMOUNTS = ("income_total", *INCOME_PARTS, "expenditure_total", *EXPENDITURE_PARTS, "balance_end")
_ROW_COLUMNS = (*KEY, "source", "n_units", *PERSONS, "population", *AMOUNTS)
_AMOUNT_TYPE = "decimal(38,2)"

# Sources of an output row.
REPORTED, DERIVED, AGGREGATED = "reported", "derived", "aggregated"
TOTAL = "total"

OUTPUT_COLUMNS = [
    "region_code", "region_name", "region_level", "year", "month", "scheme", "fund", "source", "n_units",
    "units_covered", "units_expected", "missing_regions",
    "insured", "insured_in_service", "insured_retired", "population", "insured_rate", "support_ratio",
    "income_total", "income_individual", "income_employer", "income_fiscal_subsidy", "income_interest",
    "income_other", "expenditure_total", "expenditure_inpatient", "expenditure_outpatient",
    "expenditure_other", "surplus", "surplus_rate", "balance_start", "balance_end", "balance_gap",
    "payable_months", "income_growth", "expenditure_growth", "insured_growth", "balance_growth",
    "growth_gap", "income_per_capita", "expenditure_per_capita", "fiscal_subsidy_share",
]  # fmt: skip
# Parts a fund cannot have: the employee scheme gets no fiscal subsidy (财政补助 is a resident-scheme
# income), residents have no employer, and individual accounts pay no inpatient care. Where such a part
# is missing beside its total, it is 0, not unknown, when the fund is summed with another (employee
# combined = pooled + account; total = employee combined + resident pooled): a resident subsidy of
# 495,130 yuan must not vanish from the total because the employee row leaves the column blank. Any
# other missing part stays NULL (a sum with an unknown part is unknown).
NOT_APPLICABLE: dict[tuple[str, str], frozenset[str]] = {
    ("employee", "pooled"): frozenset({"income_fiscal_subsidy"}),
    ("employee", "account"): frozenset({"income_fiscal_subsidy", "expenditure_inpatient"}),
    ("employee", "combined"): frozenset({"income_fiscal_subsidy"}),
    ("resident", "pooled"): frozenset({"income_employer"}),
}
_INT_OUTPUT = ("month", "n_units", "units_covered", "units_expected", *PERSONS, "population")


# -- small expression helpers ----------------------------------------------------------------------
def _div(num: ir.Value, den: ir.Value) -> ir.FloatingValue:
    """num / den in float64; NULL where either side is NULL or den is 0 (never inf)."""
    return num.cast("float64") / den.cast("float64").nullif(0.0)


def _shape(t: ir.Table, **exprs) -> ir.Table:
    """Select the canonical row columns (one schema for every union), from t's columns or exprs."""
    out = {}
    for c in _ROW_COLUMNS:
        e = exprs.get(c, t[c] if c in t.columns else None)
        if c in AMOUNTS:
            e = e.cast(_AMOUNT_TYPE)
        elif c in ("year", "month", "n_units", "population", *PERSONS):
            e = e.cast("int64")
        elif c in ("region_code", "scheme", "fund", "source"):
            e = e.cast("string")
        out[c] = e
    return t.select(**out)


def _prefixed(t: ir.Table, prefix: str) -> ir.Table:
    return t.rename({f"{prefix}{c}": c for c in t.columns})


def _on(left: ir.Table, right: ir.Table, cols: Iterable[str], prefix: str) -> list[ir.BooleanValue]:
    return [left[c] == right[prefix + c] for c in cols]


def _side(t: ir.Table, prefix: str, col: str, scheme: str, fund: str) -> ir.Value:
    """One side's value of ``col`` in a sum of two funds: 0 for a part the fund cannot have (its total
    being there), else the value as it is."""
    v = t[prefix + col]
    if col not in NOT_APPLICABLE.get((scheme, fund), ()):
        return v
    total = t[prefix + ("income_total" if col.startswith("income_") else "expenditure_total")]
    return ibis.ifelse(v.isnull() & total.notnull(), ibis.literal(0).cast(v.type()), v)


def _strict_sum(col: ir.Value, n: ir.IntegerScalar) -> ir.Scalar:
    """Sum, but NULL unless every row of the group has a value (no silent partial sums)."""
    return ibis.cases((col.count() == n, col.sum()))


# -- the steps ---------------------------------------------------------------------------------------
def _own_rows(wh, *, monthly: bool, years: set[int] | None) -> ir.Table:
    """Reported ledger rows with their region-year population, plus derived employee combined rows."""
    led = wh.table("fund_ledger")
    led = led.filter(led.month.notnull() if monthly else led.month.isnull())
    pop = wh.table("population")
    if years is not None:
        led = led.filter(led.year.isin(sorted(years)))
        pop = pop.filter(pop.year.isin(sorted(years)))
    pop = _population(wh, pop.group_by(["region_code", "year"]).aggregate(population=pop.persons.sum()))
    p = _prefixed(pop, "p_")
    led = led.left_join(p, _on(led, p, ("region_code", "year"), "p_"))
    base = _shape(
        led,
        month=led.month.fill_null(0),
        source=ibis.literal(REPORTED),
        n_units=ibis.literal(1),
        population=led.p_population,
    )

    emp = base.filter(base.scheme == "employee")
    pooled = emp.filter(emp.fund == "pooled")
    account = _prefixed(emp.filter(emp.fund == "account"), "a_")
    combined = _prefixed(emp.filter(emp.fund == "combined"), "c_")
    keys = ("region_code", "year", "month")
    j = pooled.join(account, _on(pooled, account, keys, "a_"))
    j = j.anti_join(combined, _on(j, combined, keys, "c_"))
    # NULL if either part is missing (unless the fund cannot have it)
    sums = {c: _side(j, "", c, "employee", "pooled") + _side(j, "a_", c, "employee", "account") for c in AMOUNTS}
    persons = {c: j[c].coalesce(j["a_" + c]) for c in PERSONS}  # the same persons: never summed
    derived = _shape(j, fund=ibis.literal("combined"), source=ibis.literal(DERIVED), **sums, **persons)
    return ibis.union(base, derived, distinct=False)


def _population(wh, pop: ir.Table) -> ir.Table:
    """``region_code, year, population``: a region-year's own population rows, else the sum of the
    population of the regions below it, where those cover every leaf region below it (a city reporting
    its own ledger row with population given by county has the counties' sum; 8 counties of 9 give none).
    Summed from the leaf-most regions with population (none of whose strict descendants has any)."""
    c = strict_closure(wh)
    units = _units(wh)
    below = pop.join(c, pop.region_code == c.descendant).select(b_anc=c.ancestor, b_year=pop.year).distinct()
    leaf = pop.anti_join(below, [pop.region_code == below.b_anc, pop.year == below.b_year])
    up = leaf.join(c, leaf.region_code == c.descendant).select(
        region_code=c.ancestor, year=leaf.year, population=leaf.population, src=leaf.region_code)
    u = _prefixed(units, "u_")
    cov = up.join(u, up.src == u.u_region_code)
    covered = cov.group_by(["region_code", "year"]).aggregate(n_cov=cov.u_unit.nunique())
    sums = up.group_by(["region_code", "year"]).aggregate(population=up.population.sum())
    expected = _prefixed(units.group_by("region_code").aggregate(n=units.count()), "e_")
    cv = _prefixed(covered, "v_")
    d = sums.join(cv, [sums.region_code == cv.v_region_code, sums.year == cv.v_year])
    d = d.join(expected, d.region_code == expected.e_region_code).filter(lambda t: t.v_n_cov == t.e_n)
    own = _prefixed(pop.select("region_code", "year"), "o_")
    d = d.anti_join(own, [d.region_code == own.o_region_code, d.year == own.o_year])
    d = d.select("region_code", "year", population=d.population.cast(pop.population.type()))
    return ibis.union(pop, d, distinct=False)


def _leaf_up(wh, own: ir.Table) -> ir.Table:
    """The leaf-most own rows (no strict descendant holds a row for the same key), each joined with
    every strict ancestor of its region (column ``ancestor``)."""
    c = strict_closure(wh)
    k = own.select(*KEY)
    # keys that some strict descendant of region_code also has -> those rows are not leaf-most
    covered = k.join(c, k.region_code == c.descendant).select(
        region_code=c.ancestor, year=k.year, month=k.month, scheme=k.scheme, fund=k.fund
    )
    covered = _prefixed(covered.distinct(), "d_")
    leaf = own.anti_join(covered, _on(own, covered, KEY, "d_"))
    return leaf.join(c, leaf.region_code == c.descendant)


def _aggregate(own: ir.Table, up: ir.Table) -> ir.Table:
    """Own rows plus, for every ancestor without its own row for a key, the sum of the leaf-most rows
    (`up`: ``_leaf_up``)."""
    k = own.select(*KEY)
    n = up.count()
    sums = {col: _strict_sum(up[col], n) for col in (*PERSONS, "population", *AMOUNTS)}
    agg = up.group_by(
        region_code=up.ancestor, year=up.year, month=up.month, scheme=up.scheme, fund=up.fund
    ).aggregate(n_units=n, **sums)
    mine = _prefixed(k, "o_")
    agg = agg.anti_join(mine, _on(agg, mine, KEY, "o_"))
    agg = _shape(agg, source=ibis.literal(AGGREGATED))
    return ibis.union(own, agg, distinct=False)


def _totals(rows: ir.Table) -> ir.Table:
    """scheme = fund = 'total': employee combined + resident pooled of the same region-period."""
    emp = rows.filter(rows.scheme == "employee", rows.fund == "combined")
    res = _prefixed(rows.filter(rows.scheme == "resident", rows.fund == "pooled"), "r_")
    j = emp.join(res, _on(emp, res, ("region_code", "year", "month"), "r_"))
    sums = {c: j[c] + j["r_" + c] for c in PERSONS}  # different persons: summed
    sums.update({c: _side(j, "", c, "employee", "combined") + _side(j, "r_", c, "resident", "pooled")
                 for c in AMOUNTS})
    # the same territory when both sides cover it; otherwise the denominator is unknown
    population = ibis.ifelse(j.population == j.r_population, j.population, ibis.null("int64"))
    total = _shape(
        j,
        scheme=ibis.literal(TOTAL),
        fund=ibis.literal(TOTAL),
        source=ibis.literal(DERIVED),
        n_units=ibis.greatest(j.n_units, j.r_n_units),
        population=population,
        **sums,
    )
    return ibis.union(rows, total, distinct=False)


def _units(wh) -> ir.Table:
    """``region_code, unit``: the leaf regions (regions nobody names as parent) at or below each region."""
    return leaf_units(wh)


def _coverage(wh, rows: ir.Table, up: ir.Table | None) -> ir.Table:
    """rows + ``units_expected`` (leaf regions at or below the region), ``units_covered`` (those the
    figures stand for) and ``missing_regions`` (the others' codes, comma-separated; NULL when none).

    A reported or derived row covers every leaf below its region. An aggregated row covers the leaves
    below the leaf-most rows it summed (`up`: ``_leaf_up``, None without aggregation); a total row misses
    what either scheme's row misses.
    """
    units = _units(wh)
    expected = units.group_by("region_code").aggregate(e_units=units.count())
    expected = _prefixed(expected, "e_")
    missing = None
    if up is not None:
        u = _prefixed(units, "u_")
        agg = rows.filter(rows.source == AGGREGATED).select(*KEY)
        want = agg.join(u, agg.region_code == u.u_region_code).select(*KEY, unit=u.u_unit)
        have = up.join(u, up.region_code == u.u_region_code).select(
            region_code=up.ancestor, year=up.year, month=up.month, scheme=up.scheme, fund=up.fund,
            unit=u.u_unit,
        )
        have = _prefixed(have.distinct(), "h_")
        missing = want.anti_join(have, _on(want, have, (*KEY, "unit"), "h_"))
        parts = missing.filter(
            ((missing.scheme == "employee") & (missing.fund == "combined"))
            | ((missing.scheme == "resident") & (missing.fund == "pooled"))
        )
        total = parts.mutate(scheme=ibis.literal(TOTAL), fund=ibis.literal(TOTAL)).distinct()
        missing = ibis.union(missing, total, distinct=False)
        missing = missing.group_by(list(KEY)).aggregate(
            n_missing=missing.count(), missing_regions=missing.unit.group_concat(",", order_by=missing.unit)
        )
        missing = _prefixed(missing, "m_")
        rows = rows.left_join(missing, _on(rows, missing, KEY, "m_"))
    rows = rows.left_join(expected, rows.region_code == expected.e_region_code)
    n_expected = rows.e_e_units.fill_null(0).cast("int64")
    n_missing = rows.m_n_missing.fill_null(0) if missing is not None else ibis.literal(0)
    out = rows.mutate(
        units_expected=n_expected,
        units_covered=(n_expected - n_missing).cast("int64"),
        missing_regions=rows.m_missing_regions if missing is not None else ibis.null("string"),
    )
    return out.drop(*(c for c in out.columns if c.startswith(("m_", "e_"))))


def _with_indicators(rows: ir.Table, *, monthly: bool) -> ir.Table:
    """Ratios, previous-period balance, year-on-year growth, months of payment capacity."""
    per = rows.year * 12 + rows.month - 1 if monthly else rows.year
    # a period is compared with another only when both are complete (a total short of a county is
    # not compared with a whole one); the trailing window averages months of the same coverage
    t = rows.mutate(
        _per=per, _whole=rows.units_covered == rows.units_expected, _cov=rows.missing_regions.fill_null("")
    )
    series = t.select(*SERIES, "_per", "_whole", "_cov", "income_total", "expenditure_total", "insured",
                      "balance_end")  # fmt: skip

    # previous period (the month before, or the year before): balance_start
    prev = _prefixed(series.select(*SERIES, "_per", "_whole", "balance_end"), "p_")
    t = t.left_join(prev, [*_on(t, prev, SERIES, "p_"), prev.p__per == t._per - 1])
    both = t._whole & t.p__whole
    t = t.mutate(balance_start=ibis.ifelse(both, t.p_balance_end, ibis.null(_AMOUNT_TYPE))).drop(*prev.columns)

    # the same period a year earlier: growth
    yoy = _prefixed(series, "y_")
    t = t.left_join(yoy, [*_on(t, yoy, SERIES, "y_"), yoy.y__per == t._per - (12 if monthly else 1)])
    both = t._whole & t.y__whole
    t = t.mutate(**{f"y_{c}": ibis.ifelse(both, t[f"y_{c}"], ibis.null(t[f"y_{c}"].type()))
                    for c in ("income_total", "expenditure_total", "insured", "balance_end")})

    # average monthly expenditure: the year's / 12, or the trailing 12 months available
    if monthly:
        w = _prefixed(series.select(*SERIES, "_per", "_cov", "expenditure_total"), "w_")
        s = series.select(*SERIES, "_per", "_cov")
        win = s.join(w, [*_on(s, w, (*SERIES, "_cov"), "w_"), w.w__per.between(s._per - 11, s._per)])
        win = win.group_by([*SERIES, "_per"]).aggregate(_avg=win.w_expenditure_total.cast("float64").mean())
        win = _prefixed(win, "m_")
        t = t.left_join(win, [*_on(t, win, SERIES, "m_"), win.m__per == t._per])
        monthly_exp = t.m__avg
    else:
        monthly_exp = t.expenditure_total.cast("float64") / 12

    surplus = t.income_total - t.expenditure_total
    income_growth = _div(t.income_total, t.y_income_total) - 1
    expenditure_growth = _div(t.expenditure_total, t.y_expenditure_total) - 1
    out = t.mutate(
        month=ibis.ifelse(t.month == 0, ibis.null("int64"), t.month),
        insured_rate=_div(t.insured, t.population),
        # blank where the parts miss insured beyond the import check's tolerance: 99,999 in service
        # beside 627 insured is a keying error, not a support ratio of 628.9 (warning persons_identity)
        support_ratio=ibis.ifelse(
            (t.insured_in_service + t.insured_retired - t.insured).abs().cast("float64")
            > t.insured.cast("float64") * INSURED_SPLIT_TOLERANCE,
            ibis.null("float64"), _div(t.insured_in_service, t.insured_retired)),
        surplus=surplus,
        surplus_rate=_div(surplus, t.income_total),
        balance_gap=t.balance_end - (t.balance_start + t.income_total - t.expenditure_total),
        payable_months=_div(t.balance_end, monthly_exp),
        income_growth=income_growth,
        expenditure_growth=expenditure_growth,
        insured_growth=_div(t.insured, t.y_insured) - 1,
        balance_growth=_div(t.balance_end, t.y_balance_end) - 1,
        growth_gap=expenditure_growth - income_growth,
        income_per_capita=_div(t.income_total, t.insured),
        expenditure_per_capita=_div(t.expenditure_total, t.insured),
        fiscal_subsidy_share=_div(t.income_fiscal_subsidy, t.income_total),
    )
    return out


def indicators_expr(
    wh,
    *,
    regions: list[str] | None = None,
    include_descendants: bool = True,
    years: list[int] | None = None,
    schemes: list[str] | None = None,
    funds: list[str] | None = None,
    monthly: bool = False,
    aggregate: bool = True,
) -> ir.Table:
    """The Ibis expression behind compute_indicators (not executed)."""
    wanted_years = None if years is None else {int(y) for y in years}
    # the previous year is read too: balance_start, growth and the trailing window reach back to it
    read_years = None if wanted_years is None else wanted_years | {y - 1 for y in wanted_years}

    own = _own_rows(wh, monthly=monthly, years=read_years)
    up = _leaf_up(wh, own) if aggregate else None  # built once: the sums and their coverage both read it
    rows = _aggregate(own, up) if aggregate else own
    rows = _totals(rows)
    rows = _coverage(wh, rows, up)
    t = _with_indicators(rows, monthly=monthly)

    # filters apply to the output only: aggregation, totals and growth need the rest
    if wanted_years is not None:
        t = t.filter(t.year.isin(sorted(wanted_years)))
    if schemes is not None:
        t = t.filter(t.scheme.isin(list(schemes)))
    if funds is not None:
        t = t.filter(t.fund.isin(list(funds)))
    if regions is not None:
        codes = list(regions)
        cond = t.region_code.isin(codes)
        if include_descendants:
            c = closure(wh)
            cond = cond | t.region_code.isin(c.filter(c.ancestor.isin(codes)).descendant)
        t = t.filter(cond)

    reg = wh.table("regions")
    reg = reg.select(g_region_code=reg.region_code, region_name=reg.name, region_level=reg.level)
    t = t.left_join(reg, t.region_code == reg.g_region_code)
    return t.select(*OUTPUT_COLUMNS).order_by(["region_code", "scheme", "fund", "year", "month"])


def compute_indicators(
    wh,
    *,
    regions: list[str] | None = None,
    include_descendants: bool = True,
    years: list[int] | None = None,
    schemes: list[str] | None = None,
    funds: list[str] | None = None,
    monthly: bool = False,
    aggregate: bool = True,
) -> pd.DataFrame:
    """One row per region x year (x month when ``monthly``) x scheme x fund, with every indicator.

    - ``regions``: region codes to report (with ``include_descendants``, each code's whole subtree).
      Aggregation still reads every region below, whatever the filter.
    - ``years``, ``schemes``, ``funds``: keep only these in the output (``scheme``/``fund`` may be
      ``'total'``); the previous year is still read for growth and balance_start.
    - ``monthly``: use the monthly ledger rows (month 1-12, flows of the month) instead of the annual
      ones (month NULL).
    - ``aggregate``: add rows for regions without their own figures, summed from below.

    Columns: ``OUTPUT_COLUMNS``; definitions in ``mifund.ledger.catalog.INDICATORS``. Amounts are
    float64 yuan, ratios float64 (0.942 = 94.2 %), counts pandas ``Int64``; NULL is NaN / <NA>.
    """
    expr = indicators_expr(
        wh,
        regions=regions,
        include_descendants=include_descendants,
        years=years,
        schemes=schemes,
        funds=funds,
        monthly=monthly,
        aggregate=aggregate,
    )
    df = wh.to_pandas(expr)
    for c in _INT_OUTPUT:
        df[c] = df[c].astype("Int64")
    df["year"] = df["year"].astype("int64")
    for c in OUTPUT_COLUMNS:
        if c not in _INT_OUTPUT and c != "year" and pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].astype("float64")
    return df.reset_index(drop=True)


def cagr(df: pd.DataFrame, measure: str, start: int, end: int) -> pd.DataFrame:
    """Compound annual growth rate of ``measure`` from year ``start`` to year ``end``.

    ``df`` is compute_indicators output. One row per region x scheme x fund (x month, for monthly
    input: the same month of both years) that has a row in both years:
    ``(value_end / value_start) ** (1 / (end - start)) - 1``. NaN where either value is missing, the
    start value is not positive, the end value is negative (no real root), or either row misses a
    region below (``missing_regions`` set: a total short of a county is not compared).

    Columns: region_code, region_name, region_level, scheme, fund, month, measure, start, end,
    value_start, value_end, cagr.
    """
    start, end = int(start), int(end)
    if end <= start:
        raise ValueError(f"cagr needs end > start, got start={start}, end={end}")
    if measure not in df.columns:
        raise KeyError(f"no column {measure!r} in the indicators")
    keys = ["region_code", "scheme", "fund", "month"]
    labels = [c for c in ("region_name", "region_level") if c in df.columns]
    whole = df["missing_regions"].isna() if "missing_regions" in df.columns else pd.Series(True, index=df.index)
    a = df.loc[df["year"] == start, keys + labels + [measure]].rename(columns={measure: "value_start"})
    b = df.loc[df["year"] == end, keys + [measure]].rename(columns={measure: "value_end"})
    a["_whole0"], b["_whole1"] = whole[a.index], whole[b.index]
    m = a.merge(b, on=keys, how="inner")
    v0 = pd.to_numeric(m["value_start"], errors="coerce").astype("float64").to_numpy()
    v1 = pd.to_numeric(m["value_end"], errors="coerce").astype("float64").to_numpy()
    ok = (v0 > 0) & (v1 >= 0) & m["_whole0"].to_numpy(dtype=bool) & m["_whole1"].to_numpy(dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(
            ok, np.power(np.where(ok, v1 / np.where(ok, v0, 1.0), 1.0), 1.0 / (end - start)) - 1, np.nan
        )
    out = m.assign(measure=measure, start=start, end=end, value_start=v0, value_end=v1, cagr=rate)
    cols = ["region_code", *labels, "scheme", "fund", "month", "measure", "start", "end",
            "value_start", "value_end", "cagr"]  # fmt: skip
    return out[cols].sort_values(["region_code", "scheme", "fund", "month"]).reset_index(drop=True)


def coverage_gaps(df: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """The rows of compute_indicators output that stand for fewer leaf regions than their region holds.

    One row per region × year × month × set of missing regions (a city short of one county is short
    of it in every scheme), with ``funds`` listing the scheme/fund pairs concerned and
    ``missing_names`` the missing regions as "code name" (``names``: code → name). These are the
    totals whose growth and balance identity are not computed: what a reader must know before
    comparing them with another year.
    """
    cols = ["region_code", "region_name", "year", "month", "units_covered", "units_expected",
            "missing_regions", "missing_names", "funds"]  # fmt: skip
    if df.empty or "missing_regions" not in df.columns:
        return pd.DataFrame(columns=cols)
    gaps = df[df["missing_regions"].notna()].copy()
    if gaps.empty:
        return pd.DataFrame(columns=cols)
    names = names or {}
    gaps["month"] = gaps["month"].astype("Int64") if "month" in gaps.columns else pd.NA
    gaps["_pair"] = gaps["scheme"] + " " + gaps["fund"]
    key = ["region_code", "year", "month", "missing_regions"]
    out = gaps.groupby(key, dropna=False, sort=True).agg(
        region_name=("region_name", "first"),
        units_covered=("units_covered", "min"),
        units_expected=("units_expected", "max"),
        funds=("_pair", lambda s: ", ".join(sorted(set(s)))),
    ).reset_index()
    out["missing_names"] = [
        ", ".join(f"{c} {names.get(c, '')}".strip() for c in m.split(",")) for m in out["missing_regions"]
    ]
    return out[cols].reset_index(drop=True)


def coverage_lines(gaps: pd.DataFrame, lang: str = "en") -> list[str]:
    """coverage_gaps as sentences for the foot of a people's table (zh or en)."""
    out = []
    for g in gaps.itertuples(index=False):
        when = f"{g.year}" if pd.isna(g.month) else f"{g.year}-{int(g.month):02d}"
        if lang == "zh":
            when = f"{g.year}年" if pd.isna(g.month) else f"{g.year}年{int(g.month)}月"
            out.append(f"{g.region_name or g.region_code}（{g.region_code}）{when}：{g.units_expected} 个下级地区中"
                       f"仅 {g.units_covered} 个有数据，缺 {g.missing_names}（{g.funds}）；不与其他期比较"
                       "（增长率、期初结存、勾稽均不计算）")
        else:
            out.append(f"{g.region_name or g.region_code} ({g.region_code}) {when}: figures from {g.units_covered} of "
                       f"{g.units_expected} regions below, missing {g.missing_names} ({g.funds}); not compared "
                       "with other periods (no growth, balance_start or balance identity)")
    return out


def has_monthly_rows(wh, regions: list[str] | None = None) -> bool:
    """Whether the ledger holds any monthly row (of ``regions``, codes as stored, when given)."""
    led = wh.table("fund_ledger")
    led = led.filter(led.month.notnull())
    if regions is not None:
        led = led.filter(led.region_code.isin(list(regions)))
    return len(wh.to_pandas(led.select("month").limit(1))) > 0


def warning_indicators(wh, **kw) -> pd.DataFrame:
    """Annual rows plus, where the ledger holds monthly rows, the monthly ones: what
    ``mifund.ledger.warnings.evaluate`` needs to judge the ``monthly`` part of the payable_months
    rules (the latest month of a year in progress). Annual rows alone would let a county kept by month
    run its fund to 0 with no warning. ``kw``: compute_indicators' filters (not ``monthly``)."""
    annual = compute_indicators(wh, **kw)
    if not has_monthly_rows(wh):
        return annual
    months = compute_indicators(wh, monthly=True, **kw)
    if months.empty:
        return annual
    if annual.empty:
        return months
    return pd.concat([annual, months], ignore_index=True)
