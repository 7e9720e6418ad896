"""What a section builder gets: the warehouse, the region subtree, the year, the catalogue, and the
shared data (indicators, warnings, settlement summary) computed once and only when a section asks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import ibis
import pandas as pd

from mifund.reports.i18n import Catalog

SETTLEMENT_AMOUNTS = ("total_amount", "pooled_fund_paid", "catastrophic_paid", "assistance_paid",
                      "account_paid", "out_of_pocket")  # fmt: skip


class ReportError(ValueError):
    """The report cannot be made as asked (unknown region, no data for the year)."""


def region_tree(wh) -> pd.DataFrame:
    r = wh.to_pandas(wh.table("regions"))
    r["region_code"] = r["region_code"].astype(str)
    r["parent_code"] = r["parent_code"].fillna("").astype(str).str.strip()
    return r


def resolve_region(wh, region: str | None) -> str:
    """A region code from a code, a Chinese or an English name; the root of the tree when None."""
    r = region_tree(wh)
    if r.empty:
        raise ReportError("the warehouse has no regions; import regions first")
    if region is None:
        roots = r[~r.parent_code.isin(set(r.region_code))]
        if len(roots) != 1:
            raise ReportError(f"several top regions ({', '.join(sorted(roots.region_code))}): name one with --region")
        return str(roots.region_code.iloc[0])
    q = region.strip()
    for col in ("region_code", "name", "name_en"):
        hit = r[r[col].astype(str).str.strip().str.casefold() == q.casefold()]
        if len(hit) == 1:
            return str(hit.region_code.iloc[0])
        if len(hit) > 1:
            raise ReportError(f"{region!r} names several regions: {', '.join(sorted(hit.region_code))}; give the code")
    raise ReportError(f"no region {region!r} in the warehouse")


def subtree(wh, code: str) -> pd.DataFrame:
    """The region and everything below it, with depth below the region; the region first, then by
    depth and code."""
    from mifund.ledger.regions import closure

    c = closure(wh)
    d = wh.to_pandas(c.filter(c.ancestor == code).select("descendant", "depth"))
    r = region_tree(wh).merge(d.rename(columns={"descendant": "region_code"}), on="region_code")
    return r.sort_values(["depth", "region_code"]).reset_index(drop=True)


def latest_year(wh, codes: list[str]) -> int:
    led = wh.table("fund_ledger")
    e = led.filter(led.region_code.isin(codes), led.month.isnull()).year.max()
    v = wh.to_pandas(e.name("y").as_table())["y"].iloc[0]
    if pd.isna(v):
        m = wh.to_pandas(led.filter(led.region_code.isin(codes), led.month.notnull()).select("year", "month")
                         .order_by([ibis.desc("year"), ibis.desc("month")]).limit(1))
        if len(m):  # a ledger kept by month: say so, and where its months are judged
            raise ReportError(f"no annual fund ledger rows for the region, only monthly ones (latest "
                              f"{int(m.year.iloc[0])}-{int(m.month.iloc[0]):02d}): an annual report needs the "
                              "year's annual row; `mifund warnings` judges the latest month")
        raise ReportError("no annual fund ledger rows for the region; give --year")
    return int(v)


def settlement_summary_expr(wh, codes: list[str], year: int) -> ibis.Table:
    """Settled claims of `year` summed by region of enrolment × scheme × visit type (one Ibis expression).

    The person-year's enrolment row is chosen as the settlement engine chooses it (first by scheme, then
    region code), so a duplicate enrolment does not count a claim twice.
    """
    s = wh.table("settlement")
    s = s.filter(s.year == year)
    c = wh.table("claims").select("claim_id", "visit_type")
    e = wh.table("enrollment")
    w = ibis.window(group_by=[e.person_id, e.year], order_by=[e.scheme, e.region_code])
    e = e.mutate(_k=ibis.row_number().over(w))
    e = e.filter(e._k == 0, e.region_code.isin(codes)).select("person_id", "year", "region_code", "scheme")
    j = s.join(c, "claim_id").join(e, ["person_id", "year"])
    return j.group_by(["region_code", "scheme", "visit_type"]).aggregate(
        claims=j.count(), **{a: j[a].sum() for a in SETTLEMENT_AMOUNTS}
    ).order_by(["region_code", "scheme", "visit_type"])


@dataclass
class ReportContext:
    wh: object  # mifund.storage.Warehouse
    region_code: str
    year: int
    t: Catalog
    rules: object | None = None  # mifund.ledger.warning_rules.WarningRules; None: the shipped defaults
    regions: pd.DataFrame = field(default=None)  # type: ignore[assignment]
    _tables: int = 0
    omitted: dict[str, tuple[str, dict]] = field(default_factory=dict)  # section id -> (message key, values)

    def __post_init__(self) -> None:
        if self.regions is None:
            self.regions = subtree(self.wh, self.region_code)
        if self.regions.empty:
            raise ReportError(f"no region {self.region_code!r} in the warehouse")

    @property
    def lang(self) -> str:
        return self.t.lang

    @property
    def codes(self) -> list[str]:
        return list(self.regions.region_code)

    @property
    def below(self) -> list[str]:
        """The regions under the report's region (its counties), or the region itself when it is a leaf."""
        b = list(self.regions.loc[self.regions.depth > 0, "region_code"])
        return b or [self.region_code]

    def name(self, code: str) -> str:
        row = self.regions[self.regions.region_code == code]
        if row.empty:
            return code
        col = "name" if self.lang == "zh" else "name_en"
        v = row[col].iloc[0]
        return str(v) if isinstance(v, str) and v.strip() else str(row["name"].iloc[0])

    @property
    def region_name(self) -> str:
        return self.name(self.region_code)

    def next_table(self) -> int:
        self._tables += 1
        return self._tables

    def omit(self, section: str, reason_key: str, **kw) -> None:
        """Record why ``section`` has no data (a key of the ``omitted`` messages); the report says so
        instead of dropping the section in silence. Returns None, for ``return ctx.omit(...)``."""
        self.t(f"omitted.{reason_key}", **kw)  # a missing message fails here, in the builder
        self.omitted[section] = (f"omitted.{reason_key}", kw)

    def has_table(self, name: str) -> bool:
        return name in self.wh.con.list_tables()

    # -- shared data -------------------------------------------------------------------------------
    @cached_property
    def indicators(self) -> pd.DataFrame:
        """Annual indicators of the subtree for every year up to the report year (growth and runs of
        years need the earlier ones)."""
        from mifund.ledger.indicators import compute_indicators

        ind = compute_indicators(self.wh, regions=[self.region_code], include_descendants=True)
        return ind[(ind.year <= self.year) & ind.month.isna()].reset_index(drop=True)

    @cached_property
    def warnings(self) -> pd.DataFrame:
        """Warnings of the report year in the subtree: the annual rows, and the monthly rows the rules'
        ``monthly`` setting judges (a county kept by month, without the year's annual row, is judged
        on its latest month, as ``mifund warnings`` does; dropping it would report its fund as safe)."""
        from mifund.ledger.indicators import compute_indicators, has_monthly_rows
        from mifund.ledger.warnings import evaluate, load_rules

        ind = self.indicators
        if ind.empty:
            return pd.DataFrame()
        if has_monthly_rows(self.wh, self.codes):
            m = compute_indicators(self.wh, regions=[self.region_code], include_descendants=True, monthly=True)
            m = m[m.year <= self.year]
            ind = pd.concat([ind, m], ignore_index=True) if len(m) else ind
        w = evaluate(ind, self.rules if self.rules is not None else load_rules())
        w = w[(w.year == self.year) & w.region_code.isin(self.codes)]
        return w.reset_index(drop=True)

    @cached_property
    def settlement(self) -> pd.DataFrame:
        """Settlement summary (yuan, exact decimals as float) of the report year; empty without one."""
        if not all(self.has_table(t) for t in ("settlement", "claims", "enrollment")):
            return pd.DataFrame()
        return self.wh.to_pandas(settlement_summary_expr(self.wh, self.codes, self.year))

    @cached_property
    def settlement_runs(self) -> list[str]:
        s = self.wh.table("settlement")
        d = self.wh.to_pandas(s.filter(s.year == self.year).select("run_id").distinct().order_by("run_id"))
        return [str(x) for x in d.run_id]
