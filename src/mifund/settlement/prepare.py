"""Inputs of a settlement: claims joined to the person's enrolment for the claim's year and to the
provider; amounts in integer fen; the policy of the person's insured region and scheme; checks.

Any bad input (an empty id, amount or date, a negative amount, parts above the total, a discharge before
the admission, an unknown person, provider or visit type, a provider without a level or with a level the
policy has not, a category the policy's scheme has not, an unknown special group, no policy for the
person's region and scheme, no policy version in force on the discharge date) raises SettlementError
naming the claim (and its file row where known); nothing is settled or written, and no claim is ever
left out: a claim that finds no parameter row for any other reason is reported too (``problems_of``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from mifund.policy.load import PolicySet
from mifund.policy.schema import SPECIAL_GROUPS

NO_SPECIAL_GROUP = "none"  # an empty special_group: the person belongs to none

VISIT_GROUP = {"inpatient": "inpatient", "outpatient": "outpatient", "pharmacy": "outpatient",
               "chronic_outpatient": "chronic_outpatient"}
MAX_REPORTED = 10


class SettlementError(ValueError):
    def __init__(self, problems: list[str], more: int = 0):
        self.problems = problems
        tail = [f"… and {more} more"] if more else []
        super().__init__("\n".join(problems + tail))


def _num(col):
    """A float NaN (pandas' missing value) is NULL, on every engine: DuckDB reads pandas NaN as NULL,
    Spark keeps it as NaN (and its ANSI mode refuses to cast NaN to an integer)."""
    return ibis.ifelse(col.isnan(), ibis.null(col.type()), col) if col.type().is_floating() else col


def _fen(col) -> ir.IntegerValue:
    if col.type().is_null() or col.type().is_string():
        col = col.cast("float64")
    return (col * 100).round().cast("int64")


def policy_map(enrollment: ir.Table, policies: PolicySet, con) -> ir.Table:
    """(region_code, scheme) -> policy_key for every pair in the enrolment, from the policy files."""
    pairs = con.to_pandas(enrollment.select("region_code", "scheme").distinct())
    rows = []
    for r in pairs.itertuples(index=False):
        p = policies.policy_for(str(r.region_code), str(r.scheme))
        rows.append({"region_code": str(r.region_code), "scheme": str(r.scheme), "policy_key": p.key if p else None})
    df = pd.DataFrame(rows, columns=["region_code", "scheme", "policy_key"]).astype(
        {"region_code": "string", "scheme": "string", "policy_key": "string"})
    return ibis.memtable(df)


def parameter_table(policies: PolicySet) -> ir.Table:
    rows = [r for p in policies for r in p.parameter_rows()]
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c in ("valid_from", "valid_to"):
            df[c] = pd.to_datetime(df[c]).dt.date
        elif c in ("policy_key", "category", "special_group", "visit_group"):
            df[c] = df[c].astype("string")
        else:
            df[c] = df[c].astype("int64")
    df["pid"] = range(len(df))  # the parameter row's id: the engine joins parameters back by it
    # on every row, the outpatient and chronic-outpatient caps of its person-year's policy version (the
    # largest over provider levels; 0 where the visit group has none): where a cap cannot change within a
    # person-year, the engine reads it from here instead of a running maximum over the claims
    key = ["policy_key", "valid_from", "category", "special_group"]
    for name, vg in (("tcap_out", "outpatient"), ("tcap_chr", "chronic_outpatient")):
        caps = df[df["visit_group"] == vg].groupby(key, as_index=False)["tcap"].max().rename(columns={"tcap": name})
        df = df.merge(caps, on=key, how="left")
        df[name] = df[name].fillna(0).astype("int64")
    return ibis.memtable(df)


PREPARED_COLUMNS = ["claim_id", "person_id", "yr", "discharge_date", "visit_group", "provider_level", "cross",
                    "T", "SP", "CF", "P", "category", "special_group", "policy_key", "region_code", "age"]


def prepare_claims(claims: ir.Table, enrollment: ir.Table, providers: ir.Table, pmap: ir.Table,
                   params: ir.Table, *, year: int | None = None) -> tuple[ir.Table, ir.Table]:
    """(prepared claims with g, problems) — both Ibis expressions; `problems` lists bad rows."""
    k = prepare_relation(claims, enrollment, providers, pmap, params, year=year)
    return k.filter(k.problem.isnull()).select(*PREPARED_COLUMNS, "g"), problems_of(k)


def _s(x) -> ir.StringValue:
    """A value for a message: a NULL would make the whole message NULL (and the problem vanish)."""
    return x.cast("string").fill_null("(empty)")


def problems_of(k: ir.Table) -> ir.Table:
    """The bad claims: those with a `problem`, and (once ``engine.with_parameter_ids`` has added pid) any
    claim that still finds no parameter row. The last is a catch-all: the checks above should name every
    cause, but a claim is never dropped from a settlement without a word."""
    problem = k.problem
    if "pid" in k.columns:
        problem = problem.fill_null(ibis.ifelse(
            k.pid.isnull(),
            "no parameter row in policy " + _s(k.policy_key) + " for category " + _s(k.category) + ", special group "
            + _s(k.special_group) + ", provider level " + _s(k.provider_level) + ", visit " + _s(k.visit_group)
            + " on " + _s(k.discharge_date), ibis.null("string")))
    return k.mutate(problem=problem).filter(lambda t: t.problem.notnull()).select("src_row", "claim_id", "problem")


def _allowed(params: ir.Table, col: str) -> dict[str, list]:
    """policy_key -> the values of `col` (category, provider_level) its parameter rows have."""
    df = params.select("policy_key", col).distinct().to_pandas()
    return {str(key): sorted(g[col].tolist()) for key, g in df.groupby("policy_key")}


def _first_version(k: ir.Table, params: ir.Table) -> ir.StringValue:
    """' (its first version starts YYYY-MM-DD)' for the claim's policy: the likely cause of a claim no
    version covers is a policy directory for other years (e.g. a 2025 policy on 2024 claims)."""
    df = params.group_by("policy_key").aggregate(first=params.valid_from.min()).to_pandas()
    return ibis.cases(*[(k.policy_key == str(r.policy_key), f" (its first version starts {pd.Timestamp(r.first).date()})")
                        for r in df.itertuples(index=False)], else_="")


def _not_in_policy(k: ir.Table, col: str, allowed: dict[str, list]):
    """(test, list) for a value of `col` that the claim's policy has no parameter row for, and the values
    it has, as text: one CASE over the (few) policies, no join."""
    test = ibis.cases(*[(k.policy_key == key, ~k[col].isin(vals)) for key, vals in allowed.items()], else_=False)
    names = ibis.cases(*[(k.policy_key == key, ", ".join(map(str, vals))) for key, vals in allowed.items()],
                       else_="")
    return test, names


def prepare_relation(claims: ir.Table, enrollment: ir.Table, providers: ir.Table, pmap: ir.Table,
                     params: ir.Table, *, year: int | None = None, distributed: bool = False) -> ir.Table:
    """Every claim, prepared (PREPARED_COLUMNS, src_row), with `problem` (NULL where the row is good) and
    g, the claim's person-year (NULL where the person is not enrolled): one relation from which both the
    settlement and the validation read.

    g comes from the enrolment row the claim joins, so numbering person-years costs a sort of the
    enrolment, not of the claims: on one machine (DuckDB) the rank of (person_id, year), a narrow
    integer for every later window to partition by; on a distributed engine (``distributed=True``,
    Spark), where a global rank would run as one task, the pair as a string key."""
    cols = claims.columns
    c = claims
    if year is not None:  # a claim without a discharge date stays, to be reported (its year is unknown)
        dd = c.discharge_date.cast("date")
        c = c.filter(dd.isnull() | (dd.year() == year))
    row = c["_row"] if "_row" in cols else ibis.null("int64")
    P = (_num(c.policy_scope_amount) if "policy_scope_amount" in cols else ibis.null("decimal(18,2)"))
    cross, cross_bad = _cross_region(c) if "cross_region" in cols else (ibis.literal(False), ibis.literal(False))
    vg = c.visit_type.cases(*VISIT_GROUP.items(), else_=None)
    c = c.select(
        claim_id=c.claim_id.cast("string"), person_id=c.person_id.cast("string"),
        provider_id=c.provider_id.cast("string"), visit_type=c.visit_type, visit_group=vg,
        admit_date=c.admit_date.cast("date"), discharge_date=c.discharge_date.cast("date"),
        yr=c.discharge_date.cast("date").year().cast("int64"),
        T=_fen(_num(c.total_amount)), SP=_fen(_num(c.self_pay_amount).fill_null(0)),
        CF=_fen(_num(c.copay_first_amount).fill_null(0)),
        P_given=_fen(P), cross=cross.cast("boolean"), cross_bad=cross_bad, src_row=row,
    )
    # A person enrolled twice in a year (duplicate enrolment, 重复参保: supervision's concern) must not
    # have each claim settled twice: settle under one enrolment, the employee scheme first (the one
    # the person's employment makes compulsory), then the lowest region code, deterministically.
    w = ibis.window(group_by=[enrollment.person_id, enrollment.year],
                    order_by=[enrollment.scheme, enrollment.region_code])
    enrollment = enrollment.mutate(_k=ibis.row_number().over(w)).filter(lambda t: t._k == 0).drop("_k")
    if distributed:
        g = enrollment.person_id.cast("string") + "|" + enrollment.year.cast("string")
    else:
        g = ibis.row_number().over(order_by=[enrollment.person_id, enrollment.year]).cast("int64")
    birth = enrollment.birth_date.cast("date") if "birth_date" in enrollment.columns else ibis.null("date")
    special = (enrollment.special_group.cast("string") if "special_group" in enrollment.columns  # (opt) in the contract
               else ibis.null("string"))
    e = enrollment.select(
        e_person=enrollment.person_id.cast("string"), e_year=enrollment.year.cast("int64"), birth=birth,
        region_code=enrollment.region_code.cast("string"), scheme=enrollment.scheme.cast("string"),
        category=enrollment.category.cast("string"),
        special_group=special.nullif("").fill_null(NO_SPECIAL_GROUP), g=g,
    )
    pv = providers.select(p_id=providers.provider_id.cast("string"),
                          provider_level=_num(providers.level).cast("int64"), p_known=ibis.literal(True))
    j = c.left_join(e, [c.person_id == e.e_person, c.yr == e.e_year])
    j = j.left_join(pv, j.provider_id == pv.p_id)
    j = j.left_join(pmap, [j.region_code == pmap.region_code, j.scheme == pmap.scheme]).drop(
        "region_code_right", "scheme_right")
    # age in whole years on the discharge date (NULL where the birth date is not known)
    dd, bd = j.discharge_date, j.birth
    age = (dd.year() - bd.year() - ibis.ifelse(dd.month() * 100 + dd.day() < bd.month() * 100 + bd.day(), 1, 0))
    j = j.mutate(P=j.P_given.fill_null(j.T - j.SP - j.CF), age=age.cast("int64"))
    versions = params.select("policy_key", v_from="valid_from", v_to="valid_to").distinct()
    k = j.left_join(versions, [j.policy_key == versions.policy_key, j.discharge_date >= versions.v_from,
                               j.discharge_date < versions.v_to]).drop("policy_key_right")
    bad_category, categories = _not_in_policy(k, "category", _allowed(params, "category"))
    bad_level, levels = _not_in_policy(k, "provider_level", _allowed(params, "provider_level"))
    groups = [NO_SPECIAL_GROUP, *SPECIAL_GROUPS]
    problem = ibis.cases(
        *[(k[col].isnull(), ibis.literal(f"{col} is empty")) for col in ("claim_id", "person_id", "provider_id")],
        (k.T.isnull(), ibis.literal("total_amount is empty")),
        (k.admit_date.isnull(), ibis.literal("admit_date is empty")),
        (k.discharge_date.isnull(), ibis.literal("discharge_date is empty")),
        (k.visit_group.isnull(), "unknown visit_type " + _s(k.visit_type)),
        (k.cross_bad, ibis.literal("cross_region is not true or false")),
        (k.T < 0, ibis.literal("negative amount in total_amount")),
        (k.SP < 0, ibis.literal("negative amount in self_pay_amount")),
        (k.CF < 0, ibis.literal("negative amount in copay_first_amount")),
        (k.P_given.fill_null(0) < 0, ibis.literal("negative amount in policy_scope_amount")),
        (k.SP + k.CF + ibis.greatest(k.P, 0) > k.T, ibis.literal("self_pay + copay_first + policy_scope exceed total_amount")),
        (k.discharge_date < k.admit_date, ibis.literal("discharge_date before admit_date")),
        (k.e_person.isnull(), "person " + k.person_id + " not enrolled in " + k.yr.cast("string")),
        (k.p_known.isnull(), "unknown provider " + k.provider_id),
        (k.policy_key.isnull(), "no policy for insured region " + _s(k.region_code) + " scheme " + _s(k.scheme)),
        (k.category.isnull(), ibis.literal("enrolment has no category")),
        (bad_category, "category " + k.category + " is not one of policy " + k.policy_key + "'s categories ("
         + categories + ")"),
        (~k.special_group.isin(groups), "unknown special_group " + _s(k.special_group) + " (one of "
         + ", ".join(groups) + ", or empty)"),
        (k.provider_level.isnull(), "provider " + _s(k.provider_id) + " has no level"),
        (bad_level, "provider " + k.provider_id + " has level " + _s(k.provider_level) + ", not one of policy "
         + k.policy_key + "'s provider levels (" + levels + ")"),
        (k.v_from.isnull(), "no version of policy " + k.policy_key + " in force on " + k.discharge_date.cast("string")
         + _first_version(k, params)),
        else_=None,
    )
    return k.select(*PREPARED_COLUMNS, "g", "src_row", problem=problem)


_TRUE = ["true", "t", "1", "yes", "y", "是"]
_FALSE = ["false", "f", "0", "no", "n", "否", ""]


def _cross_region(c: ir.Table):
    """(cross-region flag, bad value): a boolean column as it is; a number: not 0; text: true/false,
    1/0, yes/no, 是/否 (any other text is a bad value, reported); empty: not cross-region."""
    x = c.cross_region
    if x.type().is_boolean() or x.type().is_null():
        return x.fill_null(False), ibis.literal(False)
    if x.type().is_numeric():
        return (x != 0).fill_null(False), ibis.literal(False)
    v = x.cast("string").strip().lower()
    return v.isin(_TRUE).fill_null(False), (~v.isin(_TRUE + _FALSE)).fill_null(False)


def raise_duplicate_providers(con, providers: ir.Table, *, source: str = "providers") -> None:
    """A provider listed twice would join each of its claims twice (and the claims, not the providers,
    would be blamed as given twice): refuse the providers first."""
    dup = providers.group_by(pid=providers.provider_id.cast("string")).aggregate(times=providers.count())
    dup = dup.filter(dup.times > 1)
    df = con.to_pandas(dup.order_by("pid").limit(MAX_REPORTED))
    if len(df):
        n = int(con.to_pyarrow(dup.count()).as_py())
        lines = [f"{source}: provider_id {r.pid} given {int(r.times)} times" for r in df.itertuples(index=False)]
        raise SettlementError(lines, more=n - len(lines))


def _where(source: str, src_row) -> str:
    """'claims row 12' where the file row is known, else the source's name."""
    return f"{source} row {int(src_row)}" if pd.notna(src_row) else source


def raise_duplicates(con, k: ir.Table, *, source: str = "claims") -> None:
    """A claim id given twice would be settled twice (and its counters run twice): refuse the input.
    One cheap count first; the repeated ids are looked up only when there are some."""
    counts = con.to_pandas(k.aggregate(n=k.count(), d=k.claim_id.nunique()))
    if int(counts.n.iloc[0]) == int(counts.d.iloc[0]):
        return
    dup = k.group_by("claim_id").aggregate(times=k.count(), src_row=k.src_row.max()).filter(lambda t: t.times > 1)
    n = int(con.to_pyarrow(dup.count()).as_py())
    df = con.to_pandas(dup.order_by("src_row", "claim_id").limit(MAX_REPORTED))
    lines = [f"{_where(source, r.src_row)}, claim {r.claim_id}: claim_id given {int(r.times)} times"
             for r in df.itertuples(index=False)]
    raise SettlementError(lines, more=max(0, n - len(lines)))


def raise_problems(con, problems: ir.Table, *, source: str = "claims") -> None:
    n = int(con.to_pyarrow(problems.count()).as_py())
    if not n:
        return
    df = con.to_pandas(problems.order_by("src_row", "claim_id").limit(MAX_REPORTED))
    lines = [f"{_where(source, r.src_row)}, claim {r.claim_id}: {r.problem}" for r in df.itertuples(index=False)]
    raise SettlementError(lines, more=max(0, n - len(lines)))
