"""The check templates behind the rules: each a vectorised Ibis expression over the warehouse tables.

A check takes the input tables and its validated parameters and returns one row per hit with the
columns of :data:`HIT_COLUMNS` (the engine adds rule_id, kind, score). Checks never loop over claims in
Python; the same expressions run on DuckDB here and on another Ibis backend later. Parameters come only
from the rule files (``rules/*.yaml``): a check holds no thresholds of its own.

Hit columns: claim_id; line_no (line-level checks, else null); person_id; provider_id;
related_claim_id (the other claim of a pair, else null); service_date; amount_at_stake (yuan: the part
of the claim the rule puts in doubt, a share computed in integer fen so every engine gives the same fen); severity (0..1, how far past the line; the score is the rule's
weight x severity); evidence and evidence_zh (a readable sentence with the figures, in English and in
Chinese: the bureau's supervisors read the Chinese one, and an English one is kept for exports and other
readers; both are built here, in the same expression, so they always name the same figures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field

HIT_COLUMNS = ("claim_id", "line_no", "person_id", "provider_id", "related_claim_id", "service_date",
               "amount_at_stake", "severity", "evidence", "evidence_zh")
HIT_TYPES = {"claim_id": "string", "line_no": "int64", "person_id": "string", "provider_id": "string",
             "related_claim_id": "string", "service_date": "date", "amount_at_stake": "float64",
             "severity": "float64", "evidence": "string", "evidence_zh": "string"}
VISIT_TYPES = ("inpatient", "outpatient", "chronic_outpatient", "pharmacy")
VisitType = Literal["inpatient", "outpatient", "chronic_outpatient", "pharmacy"]


@dataclass
class Tables:
    """The input tables, as Ibis tables (from the warehouse, or memtables in tests)."""

    claims: ir.Table
    lines: ir.Table
    enrollment: ir.Table
    providers: ir.Table
    catalog: ir.Table
    population: ir.Table | None = None

    @classmethod
    def from_warehouse(cls, wh) -> Tables:
        return cls(*(wh.table(n) for n in ("claims", "claim_lines", "enrollment", "providers", "catalog",
                                           "population")))

    def persons(self) -> ir.Table:
        """One row per person: sex and birth date (the first enrolment row's)."""
        e = self.enrollment
        return e.group_by("person_id").aggregate(sex=e.sex.arbitrary(), birth_date=e.birth_date.min())


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class Check:
    name: str
    params: type[Params]
    fn: Callable[[Tables, Params], ir.Table]
    level: Literal["claim", "line"]


CHECKS: dict[str, Check] = {}


def check(name: str, params: type[Params], level: Literal["claim", "line"] = "claim"):
    def deco(fn):
        CHECKS[name] = Check(name, params, fn, level)
        return fn

    return deco


# -- helpers -------------------------------------------------------------------------------------
def s(v) -> ir.StringValue:
    """A value as text (numbers rounded to 2 decimals where fractional)."""
    if isinstance(v, str):
        return ibis.literal(v)
    if isinstance(v, ir.FloatingValue | ir.DecimalValue):
        return v.cast("float64").round(2).cast("string")
    return v.cast("string")


def text(*parts) -> ir.StringValue:
    out = s(parts[0])
    for p in parts[1:]:
        out = out + s(p)
    return out


# Chinese words for the codes the evidence names (terms of /work/shared/GLOSSARY.md)
FIELD_ZH = {"person_id": "参保人", "provider_id": "定点医疗机构", "visit_type": "就诊类型", "admit_date": "入院日期",
            "discharge_date": "出院日期", "diagnosis_code": "诊断编码", "total_amount": "总金额",
            "self_pay_amount": "全自费金额", "level": "医院等级", "type": "机构类型"}
VISIT_ZH = {"inpatient": "住院", "outpatient": "门诊", "chronic_outpatient": "门诊慢特病", "pharmacy": "定点药店购药"}
SEX_ZH = {"M": "男", "F": "女"}
PERIOD_ZH = {"day": "日", "week": "周", "month": "月", "year": "年"}


def zh_of(v: ir.StringValue, words: dict[str, str]) -> ir.StringValue:
    """A code column in Chinese words (a code without one shows as it is)."""
    return v.substitute(words, else_=v)


def out(t: ir.Table, *, role: str | None = None, **cols) -> ir.Table:
    """The standard hit columns, in order and type; absent ones null. `role` tells apart two hits of one
    rule on the same claim (a readmission's stay that is both the first part of one pair and the second
    of another); it becomes part of the hit id, so each keeps its own row in the warehouse."""
    sel = {}
    for c in HIT_COLUMNS:
        v = cols.get(c, t[c] if c in t.columns else None)
        sel[c] = ibis.null(HIT_TYPES[c]) if v is None else (v if isinstance(v, ir.Value) else ibis.literal(v)).cast(
            HIT_TYPES[c])
    sel["role"] = ibis.literal(role, type="string")
    return t.select(**sel)


def amount(v) -> ir.FloatingValue:
    return v.cast("float64")


# Amounts that are a part of an amount (a share of the days, the excess of a quantity or a price) are
# computed in integer fen, multiplied first and divided last with the remainder rounded half up: the same
# figure on every engine (floating point would round a half fen one way on DuckDB and the other on Spark).
MILLI = 1000  # quantities in thousandths of a unit
PRICE_SCALE = 10000  # unit prices in 1/10000 yuan (the data's unit prices have 4 decimals)


def scaled(v, scale: int) -> ir.IntegerValue:
    """A decimal or float value times `scale`, rounded to an integer (int64)."""
    return (v.cast("float64") * scale).round().cast("int64")


def fen(v) -> ir.IntegerValue:
    """A yuan amount (decimal or float) in integer fen."""
    return scaled(v, 100)


def div_half_up(num: ir.IntegerValue, den: ir.IntegerValue) -> ir.IntegerValue:
    """num / den rounded half up, exactly, for integers num >= 0 and den > 0 (2 x num + den below 2**53:
    the engines divide in floating point, exact for a multiple of den that size)."""
    x = num * 2 + den
    d = den * 2
    return ((x - x % d) // d).cast("int64")


def yuan(fen_amount: ir.IntegerValue) -> ir.FloatingValue:
    """Integer fen as yuan (float64, exact to the fen)."""
    return fen_amount.cast("float64") / 100


def part_of(total, num: ir.IntegerValue, den: ir.IntegerValue) -> ir.FloatingValue:
    """`total` (yuan) x num / den, exact to the fen (rounded half up); den <= 0 gives 0."""
    den = den.cast("int64")
    ok = den > 0
    return ibis.ifelse(ok, yuan(div_half_up(fen(total) * num.cast("int64"), ibis.ifelse(ok, den, 1))), 0.0)


def clip01(v) -> ir.FloatingValue:
    return ibis.greatest(ibis.least(v.cast("float64"), 1.0), 0.0)


def los_days(c: ir.Table) -> ir.IntegerValue:
    return c.discharge_date.delta(c.admit_date, unit="day")


def of_types(c: ir.Table, types: list[str] | None) -> ir.Table:
    return c if not types else c.filter(c.visit_type.isin(types))


# -- duplicate billing ---------------------------------------------------------------------------
class DuplicateParams(Params):
    match: list[Literal["person_id", "provider_id", "visit_type", "admit_date", "discharge_date",
                        "diagnosis_code", "total_amount", "self_pay_amount"]] = Field(min_length=2)
    match_lines: bool = Field(True, description="also require the same number of lines and line amounts")
    visit_types: list[VisitType] | None = None


@check("duplicate_claims", DuplicateParams)
def duplicate_claims(t: Tables, p: DuplicateParams) -> ir.Table:
    """Claims equal in every `match` column (and in their lines' count and amounts): every claim after
    the first (by claim_id) of such a group is a duplicate of the first."""
    c = of_types(t.claims, p.visit_types)
    keys = list(p.match)
    if p.match_lines:
        ln = t.lines
        sig = ln.group_by("claim_id").aggregate(n_lines=ln.count(), line_sum=ln.amount.sum(),
                                                 line_sumsq=(ln.amount.cast("float64") ** 2).sum().round(2))
        c = c.left_join(sig, "claim_id").drop("claim_id_right")
        c = c.mutate(n_lines=c.n_lines.fill_null(0), line_sum=c.line_sum.fill_null(0),
                     line_sumsq=c.line_sumsq.fill_null(0))
        keys += ["n_lines", "line_sum", "line_sumsq"]
    w = ibis.window(group_by=keys, order_by="claim_id")
    c = c.mutate(rank=ibis.row_number().over(w), first=c.claim_id.first().over(w), n=c.count().over(
        ibis.window(group_by=keys)))
    d = c.filter(c["rank"] > 0)
    return out(d, related_claim_id=d["first"], service_date=d.admit_date, amount_at_stake=amount(d.total_amount),
               severity=1.0, evidence=text("same ", ", ".join(p.match), " as ", d["first"], " (", d.n,
                                           " claims billed for one service), total ", d.total_amount),
               evidence_zh=text("与 ", d["first"], " 的", "、".join(FIELD_ZH.get(m, m) for m in p.match), "相同（同一服务",
                                d.n, " 张结算单），总金额 ", d.total_amount, " 元"))


# -- split admission -----------------------------------------------------------------------------
class ReadmissionParams(Params):
    max_gap_days: int = Field(ge=0, description="readmitted at most this many days after discharge")
    same_provider: bool = True
    same_diagnosis: bool = True
    diagnosis_chars: int | None = Field(None, ge=1, description="compare only the first N characters of the code")
    visit_types: list[VisitType] = ["inpatient"]


@check("readmission", ReadmissionParams)
def readmission(t: Tables, p: ReadmissionParams) -> ir.Table:
    """A stay that begins at most max_gap_days after the previous stay of the same person (at the same
    provider, for the same diagnosis) ended: both stays are hits, each naming the other."""
    c = of_types(t.claims, p.visit_types)
    dx = c.diagnosis_code.substr(0, p.diagnosis_chars) if p.diagnosis_chars else c.diagnosis_code
    c = c.mutate(dx=dx)
    keys = ["person_id"] + (["provider_id"] if p.same_provider else []) + (["dx"] if p.same_diagnosis else [])
    w = ibis.window(group_by=keys, order_by=["admit_date", "discharge_date", "claim_id"])
    c = c.mutate(prev_claim=c.claim_id.lag().over(w), prev_discharge=c.discharge_date.lag().over(w))
    gap = c.admit_date.delta(c.prev_discharge, unit="day")
    second = c.filter(c.prev_claim.notnull() & (gap >= 0) & (gap <= p.max_gap_days)).mutate(gap=gap)
    same = [k for k, on in (("provider", p.same_provider), ("diagnosis", p.same_diagnosis)) if on]
    same_zh = "、".join({"provider": "同一机构", "diagnosis": "同一诊断"}[k] for k in same)
    later = out(second, related_claim_id=second.prev_claim, service_date=second.admit_date,
                amount_at_stake=amount(second.total_amount),
                severity=clip01(1.0 - second.gap / (p.max_gap_days + 1) / 2),
                evidence=text("readmitted ", second.gap, " day(s) after discharge of ", second.prev_claim,
                              " (same ", " and ".join(same), " ", second.dx, ")"),
                evidence_zh=text(second.prev_claim, " 出院后 ", second.gap, " 天再次入院（", same_zh, " ", second.dx,
                                 "）"))
    first = c.select("claim_id", "person_id", "provider_id", "admit_date").join(
        second.select(prev_claim="prev_claim", nxt="claim_id", gap="gap"), [c.claim_id == second.prev_claim])
    earlier = out(first, role="first", related_claim_id=first.nxt, service_date=first.admit_date, amount_at_stake=0.0,
                  severity=clip01(1.0 - first.gap / (p.max_gap_days + 1) / 2),
                  evidence=text("first part: readmitted ", first.gap, " day(s) after this discharge as ", first.nxt),
                  evidence_zh=text("前段：本次出院后 ", first.gap, " 天以 ", first.nxt, " 再次入院"))
    return later.union(earlier)


# -- overlapping stays ---------------------------------------------------------------------------
class OverlapParams(Params):
    min_overlap_days: int = Field(1, ge=1, description="nights both stays claim")
    exclude_identical: bool = Field(True, description="leave stays with the same provider and dates to duplicate billing")
    visit_types: list[VisitType] = ["inpatient"]


@check("overlapping_stays", OverlapParams)
def overlapping_stays(t: Tables, p: OverlapParams) -> ir.Table:
    """A stay that begins before an earlier-admitted stay of the same person has ended, by at least
    min_overlap_days nights (a transfer on the day of discharge is not an overlap). The stay is compared
    with the earlier stay that ends last, not only the one just before it: a stay inside a long stay is
    found even when another short stay lies between them. The related claim is that latest-ending earlier
    stay (of several ending that day, the one admitted last)."""
    c = of_types(t.claims, p.visit_types)
    order = ["admit_date", "discharge_date", "claim_id"]
    c = c.mutate(nth=ibis.row_number().over(ibis.window(group_by="person_id", order_by=order)))
    before = ibis.window(group_by="person_id", order_by=order, rows=(None, -1))
    c = c.mutate(prev_end=c.discharge_date.max().over(before))
    nights = ibis.least(c.discharge_date, c.prev_end).delta(c.admit_date, unit="day")
    h = c.mutate(nights=nights).filter(c.prev_end.notnull() & (nights >= p.min_overlap_days))
    e = c.select(e_person="person_id", e_claim="claim_id", e_admit="admit_date", e_discharge="discharge_date",
                 e_provider="provider_id", e_nth="nth")
    j = h.join(e, [h.person_id == e.e_person, e.e_discharge == h.prev_end, e.e_nth < h.nth])
    j = j.mutate(pick=ibis.row_number().over(ibis.window(group_by="claim_id", order_by=ibis.desc(j.e_nth))))
    h = j.filter(j.pick == 0)
    if p.exclude_identical:
        h = h.filter(~((h.e_provider == h.provider_id) & (h.e_admit == h.admit_date)
                       & (h.e_discharge == h.discharge_date)))
    stay = los_days(h)
    return out(h, related_claim_id=h.e_claim, service_date=h.admit_date,
               amount_at_stake=part_of(h.total_amount, h.nights, ibis.greatest(stay, 1)),
               severity=clip01(h.nights / ibis.greatest(stay, 1)),
               evidence=text("overlaps stay ", h.e_claim, " at ", h.e_provider, " by ", h.nights, " night(s)"),
               evidence_zh=text("与 ", h.e_provider, " 的住院 ", h.e_claim, " 重叠 ", h.nights, " 晚"))


# -- phantom stay: use elsewhere during a stay --------------------------------------------------
class DuringStayParams(Params):
    visit_types: list[VisitType] = ["outpatient", "pharmacy"]
    stay_types: list[VisitType] = ["inpatient"]
    other_provider_only: bool = True
    exclude_first_and_last_day: bool = True


@check("use_during_stay", DuringStayParams)
def use_during_stay(t: Tables, p: DuringStayParams) -> ir.Table:
    """An inpatient stay during which the person visited (or bought at) another provider: the stay is
    the hit, the outside claim its evidence (the first such claim when there are several)."""
    stays = of_types(t.claims, p.stay_types)
    visits = of_types(t.claims, p.visit_types).select(
        v_claim="claim_id", v_person="person_id", v_provider="provider_id", v_date="admit_date", v_type="visit_type")
    inside = ((visits.v_date > stays.admit_date) & (visits.v_date < stays.discharge_date)
              if p.exclude_first_and_last_day else
              (visits.v_date >= stays.admit_date) & (visits.v_date <= stays.discharge_date))
    pred = [stays.person_id == visits.v_person, inside]
    if p.other_provider_only:
        pred.append(stays.provider_id != visits.v_provider)
    j = stays.join(visits, pred)
    g = j.group_by(["claim_id", "person_id", "provider_id", "admit_date", "discharge_date", "total_amount"]).aggregate(
        n=j.count(), related=j.v_claim.min(), first_date=j.v_date.min(), first_type=j.v_type.arbitrary())
    stay = los_days(g)
    return out(g, related_claim_id=g.related, service_date=g.admit_date, amount_at_stake=amount(g.total_amount),
               severity=clip01(0.6 + 0.2 * g.n),
               evidence=text(g.n, " claim(s) elsewhere during the ", stay, "-day stay, first ", g.related, " (",
                             g.first_type, ") on ", g.first_date),
               evidence_zh=text("住院 ", stay, " 天期间在其他机构结算 ", g.n, " 次，首次 ", g.related, "（",
                                zh_of(g.first_type, VISIT_ZH), "）于 ", g.first_date))


# -- phantom stay: bed and nursing only ---------------------------------------------------------
class HollowStayParams(Params):
    min_days: int = Field(ge=1, description="stays at least this long")
    item_codes: list[str] = []
    item_name_contains: list[str] = Field([], description="catalogue or line item names containing any of these")
    min_share: float = Field(1.0, gt=0, le=1, description="share of the stay's amount in these items")
    visit_types: list[VisitType] = ["inpatient"]


@check("hollow_stay", HollowStayParams)
def hollow_stay(t: Tables, p: HollowStayParams) -> ir.Table:
    """A long stay billed (almost) only for bed and nursing: no drug, test or treatment, as when the
    patient is registered but not there (挂床住院)."""
    if not p.item_codes and not p.item_name_contains:
        raise ValueError("hollow_stay needs item_codes or item_name_contains")
    c = of_types(t.claims, p.visit_types)
    c = c.filter(los_days(c) >= p.min_days)
    ln = t.lines.semi_join(c, "claim_id")
    cat = t.catalog.select(cat_code="item_code", cat_name="name")
    ln = ln.left_join(cat, ln.item_code == cat.cat_code)
    name = ln.cat_name.fill_null(ln.item_name).fill_null("")
    hit = ibis.literal(False)
    if p.item_codes:
        hit = hit | ln.item_code.isin(p.item_codes)
    for word in p.item_name_contains:
        hit = hit | name.contains(word)
    ln = ln.mutate(hollow=ibis.ifelse(hit, ln.amount.cast("float64"), 0.0), amt=ln.amount.cast("float64"))
    g = ln.group_by("claim_id").aggregate(hollow=ln.hollow.sum(), amt=ln.amt.sum(), n=ln.count())
    g = g.filter((g.amt > 0) & (g.hollow >= g.amt * p.min_share - 0.005))
    h = c.join(g, "claim_id")
    return out(h, service_date=h.admit_date, amount_at_stake=amount(h.total_amount), severity=1.0,
               evidence=text(los_days(h), "-day stay, ", h.n, " lines, ", (h.hollow / h.amt * 100).round(1),
                             "% of the amount bed/nursing only, no treatment"),
               evidence_zh=text("住院 ", los_days(h), " 天，", h.n, " 条明细，", (h.hollow / h.amt * 100).round(1),
                                "% 的金额仅为床位费、护理费，无治疗"))


# -- restricted items ----------------------------------------------------------------------------
class RestrictionParams(Params):
    restriction: Literal["sex", "age"]
    age_basis: Literal["completed_years", "calendar_year"] = Field(
        "completed_years", description="age at the service date, or service year minus birth year")


@check("item_restriction", RestrictionParams, level="line")
def item_restriction(t: Tables, p: RestrictionParams) -> ir.Table:
    """A line whose catalogue item is restricted to one sex (or to an age range) billed for a person
    outside it. Persons without an enrolment row are left to `outside_enrolment`."""
    cat = t.catalog
    if p.restriction == "sex":
        cat = cat.filter(cat.sex_restriction.notnull() & (cat.sex_restriction != ""))
    else:
        cat = cat.filter(cat.min_age.notnull() | cat.max_age.notnull())
    cat = cat.select("item_code", "sex_restriction", "min_age", "max_age", cat_name="name")
    ln = t.lines.join(cat, "item_code")
    c = t.claims.select("claim_id", "person_id", "provider_id")
    ln = ln.join(c, "claim_id")
    pers = t.persons()
    ln = ln.join(pers, "person_id")
    if p.restriction == "sex":
        h = ln.filter(ln.sex.notnull() & (ln.sex != ln.sex_restriction))
        ev = text(h.item_code, " ", h.cat_name.fill_null(h.item_code),
                  " is for sex ", h.sex_restriction, ", billed for a person of sex ", h.sex)
        ev_zh = text(h.item_code, " ", h.cat_name.fill_null(h.item_code), " 限", zh_of(h.sex_restriction, SEX_ZH),
                     "性使用，结算给", zh_of(h.sex, SEX_ZH), "性参保人")
        return out(h, service_date=h.service_date, amount_at_stake=amount(h.amount), severity=1.0, evidence=ev,
                   evidence_zh=ev_zh)
    if p.age_basis == "calendar_year":
        age = ln.service_date.year() - ln.birth_date.year()
    else:
        years = ln.service_date.year() - ln.birth_date.year()
        before_birthday = (ln.service_date.month() < ln.birth_date.month()) | (
            (ln.service_date.month() == ln.birth_date.month()) & (ln.service_date.day() < ln.birth_date.day()))
        age = years - ibis.ifelse(before_birthday, 1, 0)
    ln = ln.mutate(age=age)
    bad = (ln.min_age.notnull() & (ln.age < ln.min_age)) | (ln.max_age.notnull() & (ln.age > ln.max_age))
    h = ln.filter(ln.birth_date.notnull() & bad)
    rng = ibis.ifelse(h.max_age.isnull(), text(h.min_age, "+"),
                      text(h.min_age.cast("string").fill_null("0"), "-", h.max_age))
    ev = text(h.item_code, " ", h.cat_name.fill_null(h.item_code), " is for ages ", rng, ", billed for a person aged ",
              h.age)
    ev_zh = text(h.item_code, " ", h.cat_name.fill_null(h.item_code), " 限 ", rng, " 岁使用，结算给 ", h.age,
                 " 岁的参保人")
    return out(h, service_date=h.service_date, amount_at_stake=amount(h.amount), severity=1.0, evidence=ev,
               evidence_zh=ev_zh)


# -- quantity above the daily limit -------------------------------------------------------------
class DailyQuantityParams(Params):
    tolerance: float = Field(0.0, ge=0, description="allowed excess as a fraction of the limit")
    visit_types: list[VisitType] | None = None


@check("daily_quantity", DailyQuantityParams, level="line")
def daily_quantity(t: Tables, p: DailyQuantityParams) -> ir.Table:
    """Lines of an item whose quantity on one service date of one claim, summed, exceeds the
    catalogue's max_daily_quantity; the amount at stake is the excess share of the lines' amount."""
    cat = t.catalog.filter(t.catalog.max_daily_quantity.notnull()).select("item_code", "max_daily_quantity")
    c = of_types(t.claims, p.visit_types).select("claim_id", "person_id", "provider_id")
    ln = t.lines.join(cat, "item_code").join(c, "claim_id")
    w = ibis.window(group_by=["claim_id", "item_code", "service_date"])
    ln = ln.mutate(day_q=ln.quantity.sum().over(w), day_qm=scaled(ln.quantity, MILLI).sum().over(w))
    h = ln.filter(ln.day_q > ln.max_daily_quantity * (1 + p.tolerance))
    excess = (h.day_q - h.max_daily_quantity) / h.day_q
    max_qm = scaled(h.max_daily_quantity, MILLI)
    return out(h, service_date=h.service_date, amount_at_stake=part_of(h.amount, h.day_qm - max_qm, h.day_qm),
               severity=clip01(0.5 + excess),
               evidence=text(h.item_code, " quantity ", h.day_q, " on ", h.service_date, " > max daily ",
                             h.max_daily_quantity),
               evidence_zh=text(h.item_code, " 于 ", h.service_date, " 用量 ", h.day_q, "，超过日最大用量 ",
                                h.max_daily_quantity))


# -- price above the cap -------------------------------------------------------------------------
class PriceCapParams(Params):
    tolerance: float = Field(0.0, ge=0, description="allowed excess as a fraction of the cap")


@check("price_cap", PriceCapParams, level="line")
def price_cap(t: Tables, p: PriceCapParams) -> ir.Table:
    """Lines whose unit price (amount / quantity where unit_price is absent) is above the catalogue's
    price_cap; the amount at stake is (price - cap) x quantity."""
    cat = t.catalog.filter(t.catalog.price_cap.notnull()).select("item_code", cap=t.catalog.price_cap.cast("float64"))
    c = t.claims.select("claim_id", "person_id", "provider_id")
    ln = t.lines.join(cat, "item_code").join(c, "claim_id")
    price = ln.unit_price.fill_null(ln.amount.cast("float64") / ibis.ifelse(ln.quantity > 0, ln.quantity, 1.0))
    ln = ln.mutate(price=price)
    h = ln.filter(ln.price > ln.cap * (1 + p.tolerance) + 0.005)
    # (price - cap) x quantity in integers: prices in 1/10000 yuan, quantities in thousandths
    qm, cap_x = scaled(h.quantity, MILLI), scaled(h.cap, PRICE_SCALE)
    no_price = ibis.ifelse(h.quantity > 0, fen(h.amount) * (PRICE_SCALE // 100) * MILLI - cap_x * qm,
                           (fen(h.amount) * (PRICE_SCALE // 100) - cap_x) * qm)  # price = amount / 1
    excess = ibis.ifelse(h.unit_price.notnull(), (scaled(h.unit_price, PRICE_SCALE) - cap_x) * qm, no_price)
    at_stake = yuan(div_half_up(ibis.greatest(excess, 0), ibis.literal(PRICE_SCALE // 100 * MILLI, "int64")))
    return out(h, service_date=h.service_date, amount_at_stake=at_stake,
               severity=clip01(0.5 + (h.price - h.cap) / h.cap),
               evidence=text(h.item_code, " unit price ", h.price, " > cap ", h.cap),
               evidence_zh=text(h.item_code, " 单价 ", h.price, " 元，超过限价 ", h.cap, " 元"))


# -- length of stay beyond the peer norm ---------------------------------------------------------
class LongStayParams(Params):
    factor: float = Field(gt=1, description="flag a stay longer than factor x the peer median")
    min_excess_days: int = Field(0, ge=0, description="... and longer than the median by at least this")
    min_peer_stays: int = Field(ge=2, description="peer groups smaller than this are not judged")
    peer_by: list[Literal["diagnosis_code", "level", "type"]] = ["diagnosis_code"]
    visit_types: list[VisitType] = ["inpatient"]


@check("long_stay", LongStayParams)
def long_stay(t: Tables, p: LongStayParams) -> ir.Table:
    """A stay longer than `factor` times the median length of stay of its peer stays (same diagnosis,
    optionally the same provider level / type); the amount at stake is the share of the extra days."""
    c = of_types(t.claims, p.visit_types)
    if {"level", "type"} & set(p.peer_by):
        c = c.join(t.providers.select("provider_id", "level", "type"), "provider_id")
    c = c.mutate(los=los_days(c))
    w = ibis.window(group_by=list(p.peer_by))
    c = c.mutate(norm=c.los.median().over(w), peers=c.count().over(w))
    h = c.filter((c.peers >= p.min_peer_stays) & (c.los > c.norm * p.factor)
                 & (c.los - c.norm >= p.min_excess_days) & (c.los > 0))
    extra = (h.los - h.norm) / h.los
    norm2 = (h.norm.cast("float64") * 2).round().cast("int64")  # a median may end in .5 day
    return out(h, service_date=h.admit_date, amount_at_stake=part_of(h.total_amount, h.los * 2 - norm2, h.los * 2),
               severity=clip01(extra), evidence=text(h.los, "-day stay; peer median ", h.norm, " days over ",
                                                     h.peers, " stays (", " & ".join(p.peer_by), ")"),
               evidence_zh=text("住院 ", h.los, " 天；同类 ", h.peers, " 次住院（按", "、".join(
                   FIELD_ZH.get(k, k) for k in p.peer_by), "）的中位数为 ", h.norm, " 天"))


# -- frequency of one person ---------------------------------------------------------------------
class FrequencyParams(Params):
    period: Literal["day", "week", "month", "year"]
    max_claims: int = Field(ge=1, description="claims allowed per person and period")
    visit_types: list[VisitType] = ["outpatient", "pharmacy"]
    per_provider: bool = False


@check("frequency", FrequencyParams)
def frequency(t: Tables, p: FrequencyParams) -> ir.Table:
    """A person's claims beyond max_claims in one period (calendar day, ISO week, month or year); the
    claims past the limit (by date, then claim_id) are the hits."""
    c = of_types(t.claims, p.visit_types)
    d = c.admit_date
    per = {"day": d, "week": d.truncate("W"), "month": d.truncate("M"), "year": d.truncate("Y")}[p.period]
    c = c.mutate(period=per.cast("timestamp").date())  # DuckDB truncates a date to a timestamp: a day here
    keys = ["person_id", "period"] + (["provider_id"] if p.per_provider else [])
    w = ibis.window(group_by=keys, order_by=["admit_date", "claim_id"])
    c = c.mutate(nth=ibis.row_number().over(w) + 1, n=c.count().over(ibis.window(group_by=keys)))
    h = c.filter(c.nth > p.max_claims)
    return out(h, service_date=h.admit_date, amount_at_stake=amount(h.total_amount),
               severity=clip01(h.n / (2.0 * p.max_claims)),
               evidence=text(h.n, " claims in the ", p.period, " from ", h.period, " (limit ", str(p.max_claims),
                             "); this is number ", h.nth),
               evidence_zh=text("自 ", h.period, " 起的一", PERIOD_ZH[p.period], "内结算 ", h.n, " 次（上限 ",
                                str(p.max_claims), " 次），本单为第 ", h.nth, " 次"))


# -- services outside the period of enrolment -----------------------------------------------------
class OutsideEnrolmentParams(Params):
    date: Literal["admit_date", "discharge_date"] = "discharge_date"


@check("outside_enrolment", OutsideEnrolmentParams)
def outside_enrolment(t: Tables, p: OutsideEnrolmentParams) -> ir.Table:
    """A claim whose service year has no enrolment row of the person (enrolment is by person and year)."""
    c = t.claims.mutate(svc=t.claims[p.date])
    e = t.enrollment
    years = e.group_by(["person_id", "year"]).aggregate(birth=e.birth_date.min())
    j = c.left_join(years, [c.person_id == years.person_id, c.svc.year() == years.year])
    h = j.filter(j.year.isnull())
    ev = text("no enrolment of the person in ", h.svc.year(), " (", p.date, " ", h.svc, ")")
    ev_zh = text("参保人 ", h.svc.year(), " 年无参保记录（", FIELD_ZH[p.date], " ", h.svc, "）")
    return out(h, service_date=h.svc, amount_at_stake=amount(h.total_amount), severity=1.0, evidence=ev,
               evidence_zh=ev_zh)


# -- duplicate enrolment (a person-level check) ---------------------------------------------------
class DuplicateEnrolmentParams(Params):
    by: list[Literal["region_code", "scheme"]] = Field(["region_code", "scheme"], min_length=1,
                                                       description="differences that make two rows a duplicate")


@check("duplicate_enrolment", DuplicateEnrolmentParams, level="person")
def duplicate_enrolment(t: Tables, p: DuplicateEnrolmentParams) -> ir.Table:
    """A person enrolled more than once in one year, in different regions or schemes (重复参保): one hit
    per person and year, naming every enrolment."""
    e = t.enrollment
    e = e.mutate(what=text(e.region_code.fill_null("?"), "/", e.scheme.fill_null("?"), "/", e.category.fill_null("?")))
    g = e.group_by(["person_id", "year"]).aggregate(
        n=e.count(), n_kinds=ibis.struct({k: e[k] for k in p.by}).nunique(), rows=e.what.collect(),
    )
    h = g.filter((g["n"] > 1) & (g.n_kinds > 1))
    # sorted: collect() has no order, and the evidence must read the same on every engine and run
    ev = text("enrolled ", h["n"], " times in ", h.year, ": ", h.rows.sort().join("; "))
    ev_zh = text(h.year, " 年参保 ", h["n"], " 次：", h.rows.sort().join("；"))
    day = ibis.date(h.year.cast("int32"), 1, 1)
    return out(h, service_date=day, amount_at_stake=0.0, severity=1.0, evidence=ev, evidence_zh=ev_zh)
