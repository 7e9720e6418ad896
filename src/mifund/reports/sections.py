"""The sections of the annual fund operation analysis report (基金运行分析报告), one builder each.

A builder takes the :class:`ReportContext` and returns a :class:`Section`, or None when the data it
needs is not in the warehouse (a section is never filled with made-up figures). ``SECTIONS`` is the
order of the report; a later part (projection, pooling and disparity, supervision) adds its section by
writing one builder and inserting it here, e.g.::

    def projection(ctx):               # reads the stored projection runs
        if not ctx.has_table("projection_runs"):
            return None
        ...
    SECTIONS.insert(SECTIONS.index(warnings) + 1, projection)

Amounts are converted to 万元 here (``units.wan_series``), so every renderer shows the same figure.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mifund.ledger.warning_rules import LEVELS
from mifund.ledger.warnings import months_text
from mifund.reports.context import SETTLEMENT_AMOUNTS, ReportContext
from mifund.reports.model import Chart, Column, Section, Series, Table
from mifund.reports.units import fmt_int, fmt_number, fmt_pct, round_half_up, wan_series, yuan_to_wan

SectionBuilder = Callable[[ReportContext], Section | None]

# (scheme, fund) pairs in report order
PAIRS = [("employee", "pooled"), ("employee", "account"), ("employee", "combined"), ("resident", "pooled"),
         ("total", "total")]  # fmt: skip
WAN_COLUMNS = ("income_total", "expenditure_total", "surplus", "balance_end")


def _section(ctx: ReportContext, id: str, **kw) -> Section:
    return Section(id=id, title=ctx.t(f"section.{id}"), sheet=ctx.t(f"sheet.{id}"), **kw)


def _pair_label(ctx: ReportContext, scheme: str, fund: str) -> str:
    return ctx.t.get(f"scheme_fund.{scheme}_{fund}") or f"{ctx.t.label('scheme', scheme)} {ctx.t.label('fund', fund)}"


def _pooled_pairs(ind: pd.DataFrame) -> list[tuple[str, str]]:
    """The pooled fund of each scheme: employee pooled (or combined where the fund is not split), resident
    pooled."""
    have = set(zip(ind.scheme, ind.fund, strict=True))
    out = []
    if ("employee", "pooled") in have:
        out.append(("employee", "pooled"))
    elif ("employee", "combined") in have:
        out.append(("employee", "combined"))
    if ("resident", "pooled") in have:
        out.append(("resident", "pooled"))
    return out


def _in_pair_order(df: pd.DataFrame, pairs=PAIRS) -> pd.DataFrame:
    order = {p: i for i, p in enumerate(pairs)}
    k = [order.get((s, f), len(order)) for s, f in zip(df.scheme, df.fund, strict=True)]
    return df.assign(_pair=k)[np.array(k) < len(order)]


def _to_wan(df: pd.DataFrame, cols=WAN_COLUMNS) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        if c in df:
            df[c] = wan_series(df[c])
    return df


def _growth(ctx: ReportContext, v) -> str:
    p = fmt_pct(abs(v)) if v is not None and not pd.isna(v) else None
    if p is None:
        return ctx.t("meta.growth_na")
    if p == "0.00%":
        return ctx.t("meta.growth_flat")
    return ctx.t("meta.growth_up" if v > 0 else "meta.growth_down", pct=p)


def _num(ctx: ReportContext, v, decimals: int = 2) -> str:
    return fmt_number(v, decimals) or ctx.t("meta.none")


def _joined(ctx: ReportContext, items: list[str]) -> str:
    return ctx.t("meta.list_sep").join(items)


# --------------------------------------------------------------------------------------------------
# coverage: a total summed from some of the regions below says which ones it lacks, wherever it is shown
# --------------------------------------------------------------------------------------------------
def _coverage_lines(ctx: ReportContext, rows: pd.DataFrame, key: str = "note.coverage") -> list[str]:
    """One sentence per region × year × set of missing regions among ``rows`` (indicator rows), naming
    the missing regions and the funds concerned; none where every total is whole."""
    if rows.empty or "missing_regions" not in rows:
        return []
    gaps = rows[rows.missing_regions.notna()]
    if gaps.empty:
        return []
    order = {p: i for i, p in enumerate(PAIRS)}
    shown: dict[tuple, set] = {}
    for code, year, scheme, fund in zip(rows.region_code, rows.year, rows.scheme, rows.fund, strict=True):
        shown.setdefault((code, year), set()).add((scheme, fund))
    said: dict[tuple, list[int]] = {}  # the same gap in several years is one sentence
    for (code, year, missing), g in gaps.groupby(["region_code", "year", "missing_regions"], sort=True):
        pairs = sorted(set(zip(g.scheme, g.fund, strict=True)), key=lambda p: order.get(p, len(order)))
        funds = (ctx.t("meta.all_funds") if set(pairs) == shown.get((code, year)) and len(pairs) > 1
                 else ctx.t("meta.name_sep").join(_pair_label(ctx, *p) for p in pairs))
        k = (code, missing, funds, int(g.units_covered.min()), int(g.units_expected.max()))
        said.setdefault(k, []).append(int(year))
    out = []
    for (code, missing, funds, covered, expected), years in said.items():
        names = [ctx.t("meta.region_with_code", region=ctx.name(c), code=c) for c in str(missing).split(",")]
        out.append(ctx.t(key, region=ctx.name(code), year=_years(ctx, years), covered=covered, expected=expected,
                         missing=ctx.t("meta.name_sep").join(names), funds=funds))
    return out


def _years(ctx: ReportContext, years: list[int]) -> str:
    """2015, 2016, 2017, 2019 -> '2015–2017, 2019' (zh: 2015—2017、2019)."""
    runs: list[list[int]] = []
    for y in sorted(set(years)):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    dash = "—" if ctx.lang == "zh" else "–"
    return ctx.t("meta.name_sep").join(str(r[0]) if len(r) == 1 else f"{r[0]}{dash}{r[-1]}" for r in runs)


def _with_coverage(ctx: ReportContext, data: pd.DataFrame, source: pd.DataFrame,
                   columns: list[Column]) -> list[Column]:
    """Where some row of a table is an incomplete total, a column 'regions covered' (1/9) after the fund
    column, filled on those rows only."""
    if "missing_regions" not in source or not source.missing_regions.notna().any():
        return columns
    data["coverage"] = [f"{c}/{e}" if isinstance(m, str) else "" for c, e, m in
                        zip(source.units_covered, source.units_expected, source.missing_regions, strict=True)]
    at = next((i + 1 for i, c in enumerate(columns) if c.key == "pair"), len(columns))
    return [*columns[:at], Column("coverage", ctx.t("col.coverage")), *columns[at:]]


def _note(*parts: str | None) -> str | None:
    text = " ".join(p for p in parts if p)
    return text or None


# --------------------------------------------------------------------------------------------------
# 1. summary: key figures and findings
# --------------------------------------------------------------------------------------------------
def _findings(ctx: ReportContext, own: pd.DataFrame) -> list[str]:
    t, year = ctx.t, ctx.year
    out: list[str] = []
    by_pair = {(r.scheme, r.fund): r for r in own.itertuples(index=False)}
    w = _to_wan(own)
    wan = {(r.scheme, r.fund): r for r in w.itertuples(index=False)}

    def figures(pair):
        r, m = by_pair[pair], wan[pair]
        return dict(income=_num(ctx, m.income_total), expenditure=_num(ctx, m.expenditure_total),
                    surplus=_num(ctx, m.surplus), balance=_num(ctx, m.balance_end),
                    months=_num(ctx, r.payable_months, 1), income_growth=_growth(ctx, r.income_growth),
                    expenditure_growth=_growth(ctx, r.expenditure_growth))

    if ("total", "total") in by_pair:
        out.append(t("finding.overall", year=year, region=ctx.region_name, **figures(("total", "total"))))
    warn = ctx.warnings
    for pair in _pooled_pairs(own):
        label = _pair_label(ctx, *pair)
        out.append(t("finding.scheme", scheme=label, **figures(pair)))
        r = by_pair[pair]
        ig, eg = r.income_growth, r.expenditure_growth
        if not (pd.isna(ig) or pd.isna(eg)):
            gap = t("meta.pct_points", value=fmt_number((eg - ig) * 100, 2))
            g = dict(scheme=label, income_growth=fmt_pct(ig), expenditure_growth=fmt_pct(eg))
            if eg > ig:
                run = warn[(warn.rule == "growth_gap") & (warn.region_code == ctx.region_code)
                           & (warn.scheme == pair[0]) & (warn.fund == pair[1])] if len(warn) else warn
                if len(run):
                    f = run.iloc[0]["figures"]
                    out.append(t("finding.growth_gap_run", gap=gap, run=int(f["run_years"]),
                                 first=int(f["first_year"]), year=year, **g))
                else:
                    out.append(t("finding.growth_gap", gap=gap, **g))
            else:
                out.append(t("finding.growth_ok", **g))
    # the regions below: safety line, deficits, idle balances
    ind = ctx.indicators
    below = ind[(ind.year == year) & ind.region_code.isin(ctx.below)]
    for pair in _pooled_pairs(own):
        label = _pair_label(ctx, *pair)
        sel = warn[(warn.scheme == pair[0]) & (warn.fund == pair[1]) & warn.region_code.isin(ctx.below)] \
            if len(warn) else pd.DataFrame(columns=["rule"])
        low = sel[sel.rule == "payable_months_low"]
        if len(low):
            # months on their side of the line: 5.9926 reads 5.99, never "6.0, below 6"
            items = [t("finding.below_item", region=ctx.name(r.region_code), months=months_text(r.value, r.threshold, True),
                       threshold=f"{r.threshold:g}", level=t.label("level", r.level))
                     for r in low.sort_values("value").itertuples(index=False)]
            out.append(t("finding.below_safety", scheme=label, n=len(items), items=_joined(ctx, items)))
        else:
            out.append(t("finding.below_safety_none", scheme=label))
        d = below[(below.scheme == pair[0]) & (below.fund == pair[1]) & (below.surplus < 0)]
        if len(d):
            d = _to_wan(d.sort_values("surplus"))
            items = [t("finding.deficit_item", region=ctx.name(r.region_code), surplus=_num(ctx, r.surplus))
                     for r in d.itertuples(index=False)]
            out.append(t("finding.deficit", scheme=label, n=len(items), items=_joined(ctx, items)))
        high = sel[sel.rule == "payable_months_high"]
        if len(high):
            items = [t("finding.idle_item", region=ctx.name(r.region_code), months=months_text(r.value, r.threshold, False))
                     for r in high.sort_values("value", ascending=False).itertuples(index=False)]
            thr = "/".join(f"{v:g}" for v in sorted(high.threshold.unique()))
            out.append(t("finding.idle", scheme=label, n=len(items), threshold=thr, items=_joined(ctx, items)))
    if len(warn):
        counts = warn.level.value_counts()
        levels = [t("finding.warnings_level", level=t.label("level", lv), n=int(counts[lv]))
                  for lv in LEVELS if lv in counts]
        out.append(t("finding.warnings", n=len(warn), levels=_joined(ctx, levels)))
    else:
        out.append(t("finding.warnings_none"))
    s = ctx.settlement
    if len(s):
        tot = s[list(SETTLEMENT_AMOUNTS)].sum()
        share = (tot.pooled_fund_paid + tot.catastrophic_paid) / tot.total_amount if tot.total_amount else None
        sw = {k: _num(ctx, v) for k, v in _to_wan(tot.to_frame().T, SETTLEMENT_AMOUNTS).iloc[0].items()}
        out.append(t("finding.settlement", claims=fmt_int(s.claims.sum()), total=sw["total_amount"],
                     pooled=sw["pooled_fund_paid"], catastrophic=sw["catastrophic_paid"],
                     assistance=sw["assistance_paid"], share=fmt_pct(share) or t("meta.none")))
    return out


def _indicator_columns(ctx: ReportContext, names: list[str]) -> list[Column]:
    kinds = {"insured": "int", "insured_rate": "pct", "surplus_rate": "pct", "payable_months": "months",
             "income_growth": "pct", "expenditure_growth": "pct", "expenditure_per_capita": "yuan",
             **dict.fromkeys(WAN_COLUMNS, "wan")}
    return [Column(n, ctx.t(f"col.{n}"), kinds.get(n, "text")) for n in names]


def summary(ctx: ReportContext) -> Section | None:
    ind = ctx.indicators
    own = ind[(ind.region_code == ctx.region_code) & (ind.year == ctx.year)]
    own = _in_pair_order(own).sort_values("_pair")
    if own.empty:
        return None
    t = ctx.t
    names = ["insured", "income_total", "expenditure_total", "surplus", "surplus_rate", "balance_end",
             "payable_months", "income_growth", "expenditure_growth"]
    data = _to_wan(own)
    data["pair"] = [_pair_label(ctx, s, f) for s, f in zip(own.scheme, own.fund, strict=True)]
    data["total_row"] = (own.scheme == "total").to_numpy()
    cols = _with_coverage(ctx, data, own, [Column("pair", t("col.fund"))] + _indicator_columns(ctx, names))
    key = Table("key_figures", t("table.key_figures", n=ctx.next_table(), year=ctx.year, region=ctx.region_name),
                cols, data.reset_index(drop=True), emphasis="total_row",
                note=_note(*_coverage_lines(ctx, own)))
    charts = []
    y = ind[(ind.year == ctx.year)]
    pairs = _pooled_pairs(y)
    if pairs:
        cats = list(ctx.regions.region_code)
        cats = [c for c in cats if c in set(y.region_code)]
        series = []
        for p in pairs:
            v = y[(y.scheme == p[0]) & (y.fund == p[1])].set_index("region_code")["payable_months"]
            series.append(Series(_pair_label(ctx, *p), [_round(v.get(c), 1) for c in cats]))
        charts.append(Chart("payable_months", t("chart.payable_months", year=ctx.year), "column",
                            [ctx.name(c) for c in cats], series, "months", t("chart.axis_months")))
    paragraphs = _coverage_lines(ctx, own, "finding.coverage") + _missing_schemes(ctx, own) + _findings(ctx, own)
    return _section(ctx, "summary", paragraphs=paragraphs, tables=[key], charts=charts)


def _missing_schemes(ctx: ReportContext, own: pd.DataFrame) -> list[str]:
    """A scheme the region's ledger has in other years but not in the report year: said, not dropped in
    silence with the two-scheme total (the national sample has no employee row for 2023)."""
    ind = ctx.indicators
    mine = ind[(ind.region_code == ctx.region_code) & (ind.scheme != "total")]
    out = []
    for scheme in ("employee", "resident"):
        years = mine.loc[mine.scheme == scheme, "year"]
        if len(years) and scheme not in set(own.scheme):
            out.append(ctx.t("finding.scheme_missing", scheme=ctx.t.label("scheme", scheme), year=ctx.year,
                             region=ctx.region_name, first=int(years.min()), last=int(years.max())))
    return out


def _round(v, nd: int) -> float | None:
    return None if v is None or pd.isna(v) else round(float(v), nd)


# --------------------------------------------------------------------------------------------------
# 2. indicators by region
# --------------------------------------------------------------------------------------------------
def indicators(ctx: ReportContext) -> Section | None:
    ind = ctx.indicators
    y = ind[ind.year == ctx.year]
    if y.empty:
        return None
    order = {c: i for i, c in enumerate(ctx.regions.region_code)}
    y = _in_pair_order(y)
    y = y.assign(_r=y.region_code.map(order)).sort_values(["_r", "_pair"])
    names = ["insured", "insured_rate", "income_total", "expenditure_total", "surplus", "surplus_rate",
             "balance_end", "payable_months", "income_growth", "expenditure_growth", "expenditure_per_capita"]
    data = _to_wan(y)
    data["region"] = [ctx.name(c) for c in y.region_code]
    data["pair"] = [_pair_label(ctx, s, f) for s, f in zip(y.scheme, y.fund, strict=True)]
    data["own"] = (y.region_code == ctx.region_code).to_numpy() & (len(ctx.regions) > 1)
    t = ctx.t
    cols = _with_coverage(ctx, data, y, [Column("region_code", t("col.region_code")), Column("region", t("col.region")),
                                         Column("pair", t("col.fund"))] + _indicator_columns(ctx, names))
    tab = Table("indicators", t("table.indicators", n=ctx.next_table(), year=ctx.year), cols,
                data.reset_index(drop=True), emphasis="own", note=_note(*_coverage_lines(ctx, y)))
    return _section(ctx, "indicators", tables=[tab], note=t("note.indicators"))


# --------------------------------------------------------------------------------------------------
# 3. the region's income and expenditure over the years
# --------------------------------------------------------------------------------------------------
def trend(ctx: ReportContext) -> Section | None:
    ind = ctx.indicators
    own = ind[ind.region_code == ctx.region_code]
    if own.year.nunique() < 2:
        return None  # one year is no trend; the summary has its figures
    t = ctx.t
    pairs = [*_pooled_pairs(own), ("total", "total")]
    # the table's parts add up to its total: with a split employee fund, its individual account is a row
    parts = pairs[:-1]
    if ("employee", "pooled") in parts and ("employee", "account") in set(zip(own.scheme, own.fund, strict=True)):
        parts.insert(parts.index(("employee", "pooled")) + 1, ("employee", "account"))
    own = _in_pair_order(own, [*parts, ("total", "total")]).sort_values(["year", "_pair"])
    names = ["income_total", "expenditure_total", "surplus", "balance_end", "payable_months", "income_growth",
             "expenditure_growth"]
    data = _to_wan(own)
    data["pair"] = [_pair_label(ctx, s, f) for s, f in zip(own.scheme, own.fund, strict=True)]
    data["total_row"] = (own.scheme == "total").to_numpy()
    cols = _with_coverage(ctx, data, own, [Column("year", t("col.year"), "text"), Column("pair", t("col.fund"))]
                          + _indicator_columns(ctx, names))
    tab = Table("trend", t("table.trend", n=ctx.next_table(), region=ctx.region_name), cols,
                data.reset_index(drop=True), emphasis="total_row", note=_note(*_coverage_lines(ctx, own)))
    years = sorted(own.year.unique())
    cats = [str(y) for y in years]

    def values(pair, col, nd=2, frame=data):
        v = frame[(frame.scheme == pair[0]) & (frame.fund == pair[1])].set_index("year")[col]
        return [_round(v.get(y), nd) for y in years]

    charts = []
    main = ("total", "total") if ((own.scheme == "total").any()) else pairs[0]
    charts.append(Chart("income_expenditure", t("chart.income_expenditure", region=ctx.region_name), "column",
                        cats, [Series(t("chart.series_income"), values(main, "income_total")),
                               Series(t("chart.series_expenditure"), values(main, "expenditure_total"))],
                        "wan", t("chart.axis_wan")))
    charts.append(Chart("balance", t("chart.balance", region=ctx.region_name), "line", cats,
                        [Series(_pair_label(ctx, *p), values(p, "balance_end")) for p in pairs], "wan",
                        t("chart.axis_wan")))
    growth = []
    for p in pairs[:-1]:
        label = _pair_label(ctx, *p)
        growth.append(Series(t("chart.series_income_growth", scheme=label), values(p, "income_growth", 4)))
        growth.append(Series(t("chart.series_expenditure_growth", scheme=label), values(p, "expenditure_growth", 4)))
    if growth:
        charts.append(Chart("growth", t("chart.growth", region=ctx.region_name), "line", cats, growth, "pct",
                            t("chart.axis_pct")))
    return _section(ctx, "trend", tables=[tab], charts=charts, note=t("note.trend"))


# --------------------------------------------------------------------------------------------------
# 4. warnings with their reasons
# --------------------------------------------------------------------------------------------------
def warnings(ctx: ReportContext) -> Section | None:
    if ctx.indicators[ctx.indicators.year == ctx.year].empty:
        return None  # no ledger for the year: nothing was judged
    t = ctx.t
    w = ctx.warnings
    if w.empty:
        return _section(ctx, "warnings", paragraphs=[t("finding.warnings_none")], note=t("note.warnings"))
    from mifund.ledger.warning_rules import RULE_IDS

    counts = w.pivot_table(index="rule", columns="level", values="region_code", aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=list(LEVELS), fill_value=0)
    counts = counts.reindex([r for r in RULE_IDS if r in counts.index])
    counts["total"] = counts.sum(axis=1)
    counts.loc["_total"] = counts.sum()
    counts = counts.reset_index()
    counts["rule_label"] = [t("col.total") if r == "_total" else t.label("rule", r) for r in counts.rule]
    counts["total_row"] = counts.rule == "_total"
    ctab = Table("warning_counts", t("table.warning_counts", n=ctx.next_table(), year=ctx.year),
                 [Column("rule_label", t("col.rule"))]
                 + [Column(lv, t.label("level", lv), "int") for lv in LEVELS] + [Column("total", t("col.total"), "int")],
                 counts, emphasis="total_row")
    order = {c: i for i, c in enumerate(ctx.regions.region_code)}
    lst = w.assign(_r=w.region_code.map(order)).copy()
    lst["region"] = [ctx.name(c) for c in lst.region_code]
    lst["pair"] = [_pair_label(ctx, s, f) for s, f in zip(lst.scheme, lst.fund, strict=True)]
    lst["rule_label"] = [t.label("rule", r) for r in lst.rule]
    lst["level_label"] = [t.label("level", lv) for lv in lst.level]
    lst["message"] = lst["message_zh" if ctx.lang == "zh" else "message_en"]
    lst["source"] = lst["source_zh" if ctx.lang == "zh" else "source"]  # evaluate() gives both
    ind = ctx.indicators
    warned = ind[ind.month.isna()].merge(w[["region_code", "year", "scheme", "fund"]].drop_duplicates(),
                                         on=["region_code", "year", "scheme", "fund"])
    ltab = Table("warning_list", t("table.warning_list", n=ctx.next_table(), year=ctx.year),
                 [Column("region_code", t("col.region_code")), Column("region", t("col.region")),
                  Column("pair", t("col.fund")), Column("rule_label", t("col.rule")),
                  Column("level_label", t("col.level")), Column("message", t("col.message")),
                  Column("source", t("col.source"))], lst.reset_index(drop=True),
                 note=_note(*_coverage_lines(ctx, warned)))
    by_region = w.groupby(["region_code", "level"]).size().unstack(fill_value=0)
    cats = [c for c in ctx.regions.region_code if c in by_region.index]
    series = [Series(t.label("level", lv), [int(by_region.loc[c, lv]) if lv in by_region else 0 for c in cats],
                     stack="warnings", key=lv) for lv in LEVELS]
    chart = Chart("warnings_by_region", t("chart.warnings_by_region", year=ctx.year), "column",
                  [ctx.name(c) for c in cats], series, "int", t("chart.axis_count"))
    return _section(ctx, "warnings", tables=[ctab, ltab], charts=[chart], note=t("note.warnings"))


# --------------------------------------------------------------------------------------------------
# 5. settlement by county × scheme × visit type
# --------------------------------------------------------------------------------------------------
def settlement(ctx: ReportContext) -> Section | None:
    s = ctx.settlement
    if s.empty:
        return None
    t = ctx.t
    order = {c: i for i, c in enumerate(ctx.regions.region_code)}
    s = s.assign(_r=s.region_code.map(order)).sort_values(["_r", "scheme", "visit_type"]).drop(columns="_r")
    total = s[["claims", *SETTLEMENT_AMOUNTS]].sum().to_frame().T
    total[["region_code", "scheme", "visit_type"]] = ["", "total", "total"]
    rows = pd.concat([s, total], ignore_index=True)
    rows["fund_share"] = (rows.pooled_fund_paid + rows.catastrophic_paid) / rows.total_amount.replace(0, np.nan)
    data = _to_wan(rows, SETTLEMENT_AMOUNTS)
    data["region"] = [ctx.name(c) if c else t("col.total") for c in rows.region_code]
    data["scheme_label"] = [t.label("scheme", x) for x in rows.scheme]
    data["visit_label"] = [t.label("visit_type", x) for x in rows.visit_type]
    data["total_row"] = rows.region_code == ""
    cols = [Column("region_code", t("col.region_code")), Column("region", t("col.region")),
            Column("scheme_label", t("col.scheme")), Column("visit_label", t("col.visit_type")),
            Column("claims", t("col.claims"), "int")]
    cols += [Column(a, t(f"col.{a}"), "wan") for a in SETTLEMENT_AMOUNTS]
    cols += [Column("fund_share", t("col.fund_share"), "pct")]
    tab = Table("settlement", t("table.settlement", n=ctx.next_table(), year=ctx.year), cols, data, emphasis="total_row")
    by_region = s.groupby("region_code")[list(SETTLEMENT_AMOUNTS)].sum()
    cats = [c for c in ctx.regions.region_code if c in by_region.index]
    parts = ["pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid", "out_of_pocket"]
    series = [Series(t(f"col.{p}"), list(wan_series(by_region.loc[cats, p])), stack="cost") for p in parts]
    chart = Chart("settlement_by_region", t("chart.settlement_by_region", year=ctx.year), "column",
                  [ctx.name(c) for c in cats], series, "wan", t("chart.axis_wan"))
    runs = ", ".join(ctx.settlement_runs) or "—"
    return _section(ctx, "settlement", tables=[tab], charts=[chart], note=t("note.settlement", runs=runs))


# --------------------------------------------------------------------------------------------------
# 5. disparity across the regions below (population-weighted, mifund.disparity's measures)
# --------------------------------------------------------------------------------------------------
_DISPARITY_INDICATORS = ("income_per_capita", "expenditure_per_capita", "payable_months")
_MEASURES = ("n", "weighted_mean", "min", "max", "max_min_ratio", "williamson_cv", "gini", "theil_t")


def disparity(ctx: ReportContext) -> Section | None:
    try:
        from mifund.disparity.measures import measures
    except ImportError:  # pragma: no cover - the disparity part is not installed
        return None
    depth = ctx.regions.set_index("region_code").depth
    ind = ctx.indicators
    y = ind[(ind.year == ctx.year) & ind.region_code.isin(ctx.below) & (ind.region_code != ctx.region_code)]
    if y.empty:
        return None
    y = y[y.region_code.map(depth) == y.region_code.map(depth).max()]  # one level: the lowest
    t = ctx.t
    rows, paras = [], []
    # per-insured-person figures weighted by the scheme's insured persons: the weighted mean is then the
    # area's own figure (its sums divided), and a county counts as much as the people it covers
    weight = "insured"
    wlabel = t(f"meta.weight_{weight}")
    pairs = _pooled_pairs(y)
    for pair in pairs:
        d = y[(y.scheme == pair[0]) & (y.fund == pair[1])]
        for name in _DISPARITY_INDICATORS:
            ok = d[name].notna() & d[weight].notna() & (d[name] > 0)
            if ok.sum() < 2:
                continue
            m = measures(d.loc[ok, name].to_numpy(float), d.loc[ok, weight].to_numpy(float))
            rows.append({"scheme": pair[0], "fund": pair[1], "indicator": name, "pair": _pair_label(ctx, *pair),
                         "indicator_label": t(f"col.{name}"), **{k: m.get(k) for k in _MEASURES}})
            if name == "expenditure_per_capita":
                paras.append(t("finding.disparity", scheme=_pair_label(ctx, *pair), gini=fmt_number(m["gini"], 3),
                               theil=fmt_number(m["theil_t"], 3), ratio=fmt_number(m["max_min_ratio"], 2),
                               weight=wlabel, n=m["n"]))
    if not rows:
        return None
    data = pd.DataFrame(rows)
    for c in ("weighted_mean", "min", "max", "max_min_ratio", "williamson_cv", "gini", "theil_t"):
        data[c] = [round_half_up(v, 2 if c in ("weighted_mean", "min", "max", "max_min_ratio") else 4)
                   for v in data[c]]
    kinds = {"n": "int", "williamson_cv": "ratio4", "gini": "ratio4", "theil_t": "ratio4"}
    tab = Table("disparity", t("table.disparity", n=ctx.next_table(), year=ctx.year, weight=wlabel),
                [Column("pair", t("col.fund")), Column("indicator_label", t("col.indicator"))]
                + [Column(k, t(f"col.{k}"), kinds.get(k, "ratio")) for k in _MEASURES], data)
    order = [c for c in ctx.regions.region_code if c in set(y.region_code)]
    series = []
    for pair in pairs:
        v = y[(y.scheme == pair[0]) & (y.fund == pair[1])].set_index("region_code").expenditure_per_capita
        series.append(Series(_pair_label(ctx, *pair), [_round(v.get(c), 2) for c in order]))
    chart = Chart("disparity", t("chart.disparity", year=ctx.year), "column", [ctx.name(c) for c in order], series,
                  "yuan", t("chart.axis_yuan"))
    return _section(ctx, "disparity", paragraphs=paras, tables=[tab], charts=[chart], note=t("note.disparity"))


# --------------------------------------------------------------------------------------------------
# 6. projection (from stored projection runs: `mifund project run --store`)
# --------------------------------------------------------------------------------------------------
def _has(ctx: ReportContext, table: str, columns: set[str]) -> bool:
    return ctx.has_table(table) and columns <= set(ctx.wh.columns(table))


_PROJ_COLS = {"run_id", "region_code", "scheme", "fund", "year", "income_total", "expenditure_total", "balance_end",
              "payable_months", "balance_p5", "balance_p50", "balance_p95", "p_below_safety_line", "p_exhausted"}


def projection(ctx: ReportContext) -> Section | None:
    if not (_has(ctx, "projection_results", _PROJ_COLS)
            and _has(ctx, "projection_runs", {"run_id", "started", "scenario_name", "base_year", "paths"})):
        return None
    wh = ctx.wh
    res, runs = wh.table("projection_results"), wh.table("projection_runs")
    mine = res.filter(res.region_code == ctx.region_code).select("run_id").distinct()
    cand = runs.join(mine, "run_id").filter(runs.base_year <= ctx.year)
    cand = wh.to_pandas(cand.order_by([cand.base_year.desc(), cand.started.desc()]).limit(1))
    if cand.empty:
        # say why: runs stored before the regions above their units were summed hold the counties only
        # (their percentiles cannot be added up into the city's), or every run starts after the year
        if wh.to_pandas(mine.count().name("n").as_table())["n"].iloc[0]:
            return ctx.omit("projection", "projection_base_year", year=ctx.year)
        below = res.filter(res.region_code.isin(ctx.codes)).count()
        if wh.to_pandas(below.name("n").as_table())["n"].iloc[0]:
            return ctx.omit("projection", "projection_below_only", region=ctx.region_name)
        return None
    run = cand.iloc[0]
    df = wh.to_pandas(res.filter(res.run_id == run.run_id, res.region_code == ctx.region_code,
                                 res.year > run.base_year).order_by("year"))
    pairs = [p for p in _pooled_pairs(df)]
    if df.empty or not pairs:
        return None
    t = ctx.t
    scenario, end = t.label("scenario", str(run.scenario_name)), int(df.year.max())
    paras, tables, charts = [], [], []
    names = ["income_total", "expenditure_total", "balance_end", "payable_months", "balance_p5", "balance_p50",
             "balance_p95", "p_below_safety_line", "p_exhausted"]
    money = ("income_total", "expenditure_total", "balance_end", "balance_p5", "balance_p50", "balance_p95")
    kinds = {**dict.fromkeys(money, "wan"), "payable_months": "months", "p_below_safety_line": "pct",
             "p_exhausted": "pct"}
    for pair in pairs:
        d = df[(df.scheme == pair[0]) & (df.fund == pair[1])].sort_values("year")
        label = _pair_label(ctx, *pair)
        worst = d.p_exhausted.max()
        neg = d[d.balance_end < 0]
        if len(neg):
            paras.append(t("finding.projection_exhausted", scenario=scenario, scheme=label, year=int(neg.year.iloc[0]),
                           end=end, p=fmt_pct(d.p_exhausted.iloc[-1]) or t("meta.none")))
        else:
            last = d.iloc[-1]
            paras.append(t("finding.projection_holds", scenario=scenario, scheme=label, end=end,
                           balance=_num(ctx, yuan_to_wan(last.balance_end)), months=_num(ctx, last.payable_months, 1),
                           p=fmt_pct(worst) or t("meta.none"),
                           below=fmt_pct(d.p_below_safety_line.max()) or t("meta.none")))
        data = _to_wan(d, money)
        tables.append(Table(f"projection_{pair[0]}_{pair[1]}",
                            t("table.projection", n=ctx.next_table(), region=ctx.region_name, scheme=label,
                              scenario=scenario),
                            [Column("year", t("col.year"))] + [Column(n, t(f"col.{n}"), kinds[n]) for n in names],
                            data.assign(year=data.year.astype(str)).reset_index(drop=True)))
        cats = [str(y) for y in d.year]
        series = [Series(t(f"chart.series_{k}"), [None if pd.isna(v) else v for v in data[col]])
                  for k, col in (("central", "balance_end"), ("p5", "balance_p5"), ("p50", "balance_p50"),
                                 ("p95", "balance_p95")) if data[col].notna().any()]
        charts.append(Chart(f"projection_{pair[0]}_{pair[1]}", t("chart.projection", region=ctx.region_name,
                            scheme=label), "line", cats, series, "wan", t("chart.axis_wan")))
    note = t("note.projection", run=run.run_id, scenario=scenario, base=int(run.base_year), paths=int(run.paths))
    return _section(ctx, "projection", paragraphs=paras, tables=tables, charts=charts, note=note)


# --------------------------------------------------------------------------------------------------
# 7. intelligent supervision (from stored screens: supervision_hits and supervision_cases)
# --------------------------------------------------------------------------------------------------
def _supervision_rule_names(lang: str) -> dict[str, str]:
    """Rule id -> name, from the supervision rule files (name_zh / name_en); empty if there are none."""
    from importlib import resources

    import yaml

    try:
        files = [f for f in resources.files("mifund.supervision").joinpath("rules").iterdir()
                 if f.name.endswith(".yaml")]
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return {}
    out = {}
    for f in files:
        doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        if isinstance(doc, dict) and doc.get("id"):
            out[str(doc["id"])] = str(doc.get(f"name_{lang}") or doc["id"])
    return out


def supervision(ctx: ReportContext) -> Section | None:
    if not (_has(ctx, "supervision_hits", {"rule_id", "claim_id", "service_date", "amount_at_stake", "case_id"})
            and _has(ctx, "supervision_cases", {"case_id", "region_code", "status", "suspected_amount",
                                               "confirmed_amount", "recovered_amount"})):
        return None
    wh, t = ctx.wh, ctx.t
    cases = wh.table("supervision_cases")
    cases = cases.filter(cases.region_code.isin(ctx.codes))
    hits = wh.table("supervision_hits")
    hits = hits.filter(hits.service_date.year() == ctx.year)
    j = hits.join(cases.select("case_id"), "case_id")
    by_rule = wh.to_pandas(j.group_by("rule_id").aggregate(
        hits=j.count(), hit_claims=j.claim_id.nunique(), amount_at_stake=j.amount_at_stake.sum()))
    by_case = wh.to_pandas(cases.group_by(["region_code", "status"]).aggregate(
        cases=cases.count(), suspected_amount=cases.suspected_amount.sum(),
        confirmed_amount=cases.confirmed_amount.sum(), recovered_amount=cases.recovered_amount.sum()))
    if by_rule.empty and by_case.empty:
        return None
    names = _supervision_rule_names(ctx.lang)
    paras, tables, charts = [], [], []
    if len(by_rule):
        by_rule = by_rule.sort_values(["amount_at_stake", "rule_id"], ascending=[False, True]).reset_index(drop=True)
        total = by_rule[["hits", "hit_claims", "amount_at_stake"]].sum()
        paras.append(t("finding.supervision", year=ctx.year, hits=fmt_int(total.hits),
                       amount=_num(ctx, yuan_to_wan(total.amount_at_stake)),
                       top=names.get(by_rule.rule_id.iloc[0], by_rule.rule_id.iloc[0])))
        data = _to_wan(by_rule, ("amount_at_stake",))
        data["rule"] = [names.get(r, r) for r in by_rule.rule_id]
        tables.append(Table("supervision_rules", t("table.supervision_rules", n=ctx.next_table(), year=ctx.year),
                            [Column("rule_id", t("col.rule_id")), Column("rule", t("col.supervision_rule"), "text"),
                             Column("hits", t("col.hits"), "int"), Column("hit_claims", t("col.hit_claims"), "int"),
                             Column("amount_at_stake", t("col.amount_at_stake"), "wan")], data))
        charts.append(Chart("supervision", t("chart.supervision", year=ctx.year), "column", list(data.rule),
                            [Series(t("col.amount_at_stake"), list(data.amount_at_stake))], "wan", t("chart.axis_wan")))
    if len(by_case):
        n = by_case.groupby("status").cases.sum()
        paras.append(t("finding.supervision_cases", n=fmt_int(by_case.cases.sum()), confirmed=fmt_int(n.get("confirmed", 0)),
                       recovered=fmt_int(n.get("recovered", 0)),
                       recovered_amount=_num(ctx, yuan_to_wan(by_case.recovered_amount.fillna(0).sum()))))
        order = {c: i for i, c in enumerate(ctx.regions.region_code)}
        by_case = by_case.assign(_r=by_case.region_code.map(order)).sort_values(["_r", "status"])
        data = _to_wan(by_case, ("suspected_amount", "confirmed_amount", "recovered_amount"))
        data["region"] = [ctx.name(c) for c in by_case.region_code]
        data["status_label"] = [t.label("status", x) for x in by_case.status]
        tables.append(Table("supervision_cases", t("table.supervision_cases", n=ctx.next_table()),
                            [Column("region_code", t("col.region_code")), Column("region", t("col.region")),
                             Column("status_label", t("col.status")), Column("cases", t("col.cases"), "int")]
                            + [Column(c, t(f"col.{c}"), "wan")
                               for c in ("suspected_amount", "confirmed_amount", "recovered_amount")],
                            data.reset_index(drop=True)))
    return _section(ctx, "supervision", paragraphs=paras, tables=tables, charts=charts, note=t("note.supervision"))


# --------------------------------------------------------------------------------------------------
# pooling modes (mifund.pooling: the counties' own ledgers replayed under each mode)
# --------------------------------------------------------------------------------------------------
# the covered_* columns sum to to_cover = deficit + contribution_beyond_surplus (the adjustment-fund
# contributions a county's surplus could not pay, also paid from its balance); all shown so the row adds up
_POOLING_COLS = ["deficit", "contribution_beyond_surplus", "to_cover", "covered_own_balance", "covered_pool",
                 "covered_county_treasury", "covered_city_treasury"]


def pooling(ctx: ReportContext) -> Section | None:
    if len(ctx.regions) < 3:  # a mode comparison needs a city with counties
        return None
    try:
        from mifund.pooling.data import PoolingDataError, ledger_input
        from mifund.pooling.params import SafetyLine, load_modes, safety_line_months
        from mifund.pooling.report import compare, run_modes
    except ImportError:  # pragma: no cover - the pooling part is not installed
        return None
    mf = load_modes()
    try:
        inp, _ = ledger_input(ctx.wh, city=ctx.region_code, scheme="resident", fund="pooled", targets=mf.targets)
    except (PoolingDataError, ValueError, KeyError):
        return None
    if len(inp.years) < 2:
        return None
    line = safety_line_months(mf)
    df = compare(run_modes(inp, mf), line)
    t = ctx.t
    labels = {k: (m.label_en if ctx.t.lang == "en" else m.label_zh) for k, m in mf.modes.items()}
    data = df[["mode", *_POOLING_COLS, "share_years_below_safety_line"]].copy()
    data["contribution_beyond_surplus"] = data["contribution_beyond_surplus"].fillna(0.0)  # none outside the pot
    data["mode"] = [labels.get(m, m) for m in data["mode"]]
    data = _to_wan(data, _POOLING_COLS)
    scheme = _pair_label(ctx, "resident", "pooled")
    first, last = min(inp.years), max(inp.years)
    # the pooling line (the mode file's level of payable_months_low), which need not be section 1's
    level = t.label("level", (mf.safety_line or SafetyLine()).level)
    tab = Table("pooling", t("table.pooling", n=ctx.next_table(), scheme=scheme, first=first, last=last,
                             months=f"{line:g}", level=level),
                [Column("mode", t("col.mode"))] + [Column(c, t(f"col.{c}"), "wan") for c in _POOLING_COLS]
                + [Column("share_years_below_safety_line", t("col.share_years_below_safety_line"), "pct")], data)
    by = df.set_index("mode")
    topup = by["covered_county_treasury"] + by["covered_city_treasury"]
    para = t("finding.pooling", scheme=scheme, n=len(inp.regions), first=first, last=last,
             deficit=_num(ctx, yuan_to_wan(float(by["deficit"].get("county", 0.0)))),
             county_pooling=_num(ctx, yuan_to_wan(float(topup.get("county", 0.0)))),
             unified=_num(ctx, yuan_to_wan(float(topup.get("unified_tiered", 0.0)))),
             below_county=fmt_pct(by["share_years_below_safety_line"].get("county")),
             below_unified=fmt_pct(by["share_years_below_safety_line"].get("unified_tiered")),
             months=f"{line:g}", level=level)
    return _section(ctx, "pooling", paragraphs=[para], tables=[tab], note=t("note.pooling"))


SECTIONS: list[SectionBuilder] = [summary, indicators, trend, warnings, disparity, pooling, projection,
                                  settlement, supervision]
