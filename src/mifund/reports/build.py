"""Assemble the report: resolve the region and year, run the section builders in order, keep the
sections whose data exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from mifund.reports.context import ReportContext, ReportError, latest_year, resolve_region, subtree
from mifund.reports.i18n import Catalog
from mifund.reports.model import Report
from mifund.reports.sections import SECTIONS, SectionBuilder


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mifund")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "dev"


def _require_ledger_year(wh, tree, code: str, year: int) -> None:
    """An annual report needs the year's annual ledger rows in the region's subtree: without them every
    ledger section would silently show the earlier years (the trend up to the last ledger year, pooling
    over the ledger's span) under a later year's title."""
    led = wh.table("fund_ledger")
    e = led.filter(led.region_code.isin(list(tree.region_code)), led.month.isnull())
    years = wh.to_pandas(e.group_by("year").aggregate(n=e.count()).order_by("year"))
    if int(year) in set(years.year.astype(int)):
        return
    name = str(tree.loc[tree.region_code == code, "name"].iloc[0])
    have = (f"the ledger covers {int(years.year.min())}–{int(years.year.max())}" if len(years)
            else "the ledger has no annual rows for the region")
    m = led.filter(led.region_code.isin(list(tree.region_code)), led.year == int(year), led.month.notnull())
    months = wh.to_pandas(m.select("month").distinct())
    if len(months):  # monthly rows are not "no data": say where they are judged
        have += (f"; it holds monthly rows of {year} (to month {int(months.month.max())}), judged by "
                 f"`mifund warnings -r {code} -y {year}`")
    raise ReportError(f"no data for {name} ({code}) in {year}: the fund ledger has no annual rows for that "
                      f"year ({have}); nothing written")


def _synthetic(wh, codes: list[str]) -> bool:
    """Whether the region's ledger rows are the demo's made-up figures (their ``source`` says
    SYNTHETIC, as ``mifund demo generate`` writes it): such a report must never pass for a real one."""
    led = wh.table("fund_ledger")
    e = led.filter(led.region_code.isin(codes), led.source.upper().startswith("SYNTHETIC"))
    return len(wh.to_pandas(e.select("region_code").limit(1))) > 0


def build_report(
    wh,
    region: str | None = None,
    year: int | None = None,
    lang: str = "zh",
    *,
    rules=None,
    synthetic: bool | None = None,
    sections: Sequence[str] | None = None,
    builders: Sequence[SectionBuilder] | None = None,
    progress: Callable[[str], None] | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """The annual fund operation analysis of `region` (code or name; default: the top region) and its
    subtree for `year` (default: the latest year with an annual ledger row) in `lang` (zh | en).

    ``sections`` keeps only the named sections (ids of SECTIONS: summary, indicators, trend, warnings,
    settlement); ``builders`` replaces the list of builders. ``rules``: warning rules (default: shipped).
    ``synthetic``: mark the title and the header as synthetic demo data (None: when the region's ledger
    rows say so in their ``source``).
    Raises ReportError when the region is unknown, the ledger has no annual rows for ``year`` in the
    region's subtree, or no section has data. Sections without data are listed in ``Report.omitted`` and
    in a line of the report's header, with the reason.
    """
    t = Catalog(lang)
    code = resolve_region(wh, region)
    tree = subtree(wh, code)
    if year is None:
        year = latest_year(wh, list(tree.region_code))
    else:
        _require_ledger_year(wh, tree, code, int(year))
    ctx = ReportContext(wh, code, int(year), t, rules=rules, regions=tree)
    chosen = list(builders if builders is not None else SECTIONS)
    if sections is not None:
        known = {b.__name__ for b in chosen}
        unknown = sorted(set(sections) - known)
        if unknown:
            raise ReportError(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
        chosen = [b for b in chosen if b.__name__ in set(sections)]
    built, left_out = [], []
    for b in chosen:
        if progress:
            progress(b.__name__)
        s = b(ctx)
        if s is not None:
            built.append(s)
        else:
            left_out.append(b.__name__)

    def why(cat: Catalog, name: str) -> str:
        key, kw = ctx.omitted.get(name) or (f"omitted.{name}" if cat.get(f"omitted.{name}") else "omitted.no_data", {})
        return cat(key, **kw)

    omitted = {name: why(t, name) for name in left_out}
    ledger_sections = {"summary", "indicators", "trend", "warnings"}
    asked = {b.__name__ for b in chosen}
    if asked & ledger_sections and not any(s.id in ledger_sections for s in built):
        # an annual report of a year the ledger does not cover is not a report: stored projection runs
        # and screening results are not of a year, and alone they would make one look complete
        raise ReportError(f"no data for {ctx.region_name} ({code}) in {year}: the fund ledger has no rows "
                          f"for that year")
    if not built:
        en = Catalog("en")
        raise ReportError(f"no data for {ctx.region_name} ({code}) in {year} in the sections asked for: "
                          + "; ".join(f"{n}: {why(en, n)}" for n in left_out))
    for i, s in enumerate(built):
        s.title = t.section_number(i) + s.title
    n_below = len(tree) - 1
    scope = (t("report.scope", region=ctx.region_name, code=code, n=n_below) if n_below
             else t("report.scope_leaf", region=ctx.region_name, code=code))
    when = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    meta = [scope, t("report.generated", date=when, version=_version()), t("report.unit_note"), t("report.sources")]
    if synthetic is None:
        synthetic = _synthetic(wh, list(tree.region_code))
    title = t("report.title", region=ctx.region_name, year=year)
    if synthetic:  # in the title (HTML <title> and <h1>, the workbook's first cell) and the header's first line
        title += t("report.synthetic_mark")
        meta.insert(0, t("report.synthetic"))
    if omitted:  # a section without data is named with the reason, never dropped in silence
        items = [t("omitted.item", section=t.get(f"section.{k}", k), reason=v) for k, v in omitted.items()]
        meta.append(t("report.omitted", items=t("meta.list_sep").join(items)))
    return Report(
        lang=lang,
        title=title,
        region_code=code,
        region_name=ctx.region_name,
        year=int(year),
        meta_lines=meta,
        sections=built,
        omitted=omitted,
        labels={"contents": t("report.contents"), "chart_data": t("report.sheet_chart_data"),
                "chart_data_note": t("report.chart_data_note"), "title_short": t("report.title_short", year=year),
                "region": t("report.region"), "year": t("report.year")},
    )
