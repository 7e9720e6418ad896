"""Claim settlement under benefit policies: the vectorised engine, person-year totals, explanations.

API::

    from mifund.policy import load_policies
    from mifund.settlement import settle, person_year_totals

    policies = load_policies("policies/")
    settled = settle(wh, policies)                          # claims, enrollment, providers from the warehouse
    settled = settle({"claims": df, "enrollment": e, "providers": p}, policies, year=2025)
    totals = person_year_totals(settled)

`settle` returns a pyarrow Table: claim_id, deductible_applied, pooled_fund_paid, catastrophic_paid,
assistance_paid, account_paid, out_of_pocket (DECIMAL(18,2) yuan, exact) and, with ``detail=True``,
also person_id, year, policy_key, policy_version, total_amount. ``settle_fen`` returns the same with
integer fen (int64) columns as pandas, for fast downstream arithmetic.
"""

from __future__ import annotations

import uuid
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from mifund.settlement.engine import (
    OUTPUT_COLUMNS,
    fen_to_decimal,
    settle_expr,
    with_order_keys,
    with_parameter_ids,
)
from mifund.settlement.prepare import (
    PREPARED_COLUMNS,
    SettlementError,
    parameter_table,
    policy_map,
    prepare_relation,
    problems_of,
    raise_duplicate_providers,
    raise_duplicates,
    raise_problems,
)

__all__ = ["OUTPUT_COLUMNS", "SettlementError", "person_year_totals", "settle", "settle_arrow", "settle_fen",
           "settle_with_gaps", "settlement_inputs"]

AMOUNTS = OUTPUT_COLUMNS[1:]


def _as_table(x: Any):
    if isinstance(x, ibis.expr.types.Table):
        return x
    return ibis.memtable(x)


def settlement_inputs(source, policies, *, year: int | None = None, claims=None, source_name: str = "claims",
                      con=None):
    """(connection, prepared claims, parameter table), after checking every claim.

    `source` is a Warehouse, or a mapping with 'claims', 'enrollment', 'providers' (Ibis tables, pandas
    or pyarrow). `claims` overrides the source's claims (e.g. a file settled against the warehouse's
    enrolment). `con` is the Ibis backend that runs a mapping's settlement (default: an in-memory
    DuckDB; `mifund.storage.engines.connect("spark")` for Spark): the expressions are the same."""
    from mifund.storage import Warehouse

    if isinstance(source, Warehouse):
        con = source.con
        tables = {n: source.table(n) for n in ("claims", "enrollment", "providers")}
    else:
        tables = {n: _as_table(source[n]) for n in ("claims", "enrollment", "providers")}
    if claims is not None:
        tables["claims"] = _as_table(claims)
    if con is None:
        con = _backend_of(tables) or ibis.duckdb.connect()
    params = parameter_table(policies)
    raise_duplicate_providers(con, tables["providers"])
    pmap = policy_map(tables["enrollment"], policies, con)
    k = prepare_relation(tables["claims"], tables["enrollment"], tables["providers"], pmap, params, year=year,
                         distributed=con.name != "duckdb")
    # the parameter row of each claim (left join: a bad row stays, to be reported; problems_of reports a
    # claim without one even where no check above names why, so none is ever left out) and the integer
    # settlement order; materialised once, so the validation and the settlement read the same rows
    k = with_order_keys(with_parameter_ids(k, params, how="left"))
    k = _materialise(con, k)
    raise_problems(con, problems_of(k), source=source_name)
    raise_duplicates(con, k, source=source_name)
    prepared = k.select(*PREPARED_COLUMNS, "valid_from", "pid", "vg_on", "g", "rn")
    return con, prepared, params


def _backend_of(tables: dict):
    """The backend that holds the mapping's Ibis tables (e.g. a file's claims settled against the
    warehouse's enrolment and providers: the in-memory data joins the warehouse's tables there), or None
    where every table is in memory. Tables on two different backends cannot be joined: refused."""
    found = []
    for t in tables.values():
        try:
            b = t._find_backend(use_default=False)
        except ibis.common.exceptions.IbisError:  # a memtable: no backend of its own
            continue
        if all(b is not x for x in found):
            found.append(b)
    if len(found) > 1:
        raise ValueError("claims, enrollment and providers are tables of different connections; give them "
                         "on one connection (or as in-memory data)")
    return found[0] if found else None


def _materialise(con, expr):
    """A temporary table holding `expr` (through the Ibis backend), or `expr` itself where the
    connection cannot create one (a read-only warehouse)."""
    name = f"_settle_{uuid.uuid4().hex[:12]}"
    try:
        return con.create_table(name, expr, temp=True)
    except Exception:  # noqa: BLE001 - any backend refusal: fall back to the lazy expression
        return expr


def settle_fen(source, policies, *, year: int | None = None, claims=None, detail: bool = False,
               source_name: str = "claims", con=None) -> pd.DataFrame:
    """Settle; integer fen columns (pandas). See module doc."""
    con, prepared, params = settlement_inputs(source, policies, year=year, claims=claims, source_name=source_name,
                                              con=con)
    return _settled(con, prepared, params, detail)


def _settled(con, prepared, params, detail: bool) -> pd.DataFrame:
    expr = settle_expr(prepared, params)
    cols = OUTPUT_COLUMNS + (["person_id", "yr", "policy_key", "valid_from", "total_amount"] if detail else [])
    return con.to_pandas(expr.select(*cols).order_by("claim_id"))


def settle_arrow(source, policies, *, year: int | None = None, claims=None, source_name: str = "claims") -> pa.Table:
    """Settle; integer fen columns with detail (person_id, yr, policy_key, valid_from, total_amount), as
    Arrow in settlement order (person, year, discharge date, claim id): no pandas, no final sort."""
    con, prepared, params = settlement_inputs(source, policies, year=year, claims=claims, source_name=source_name)
    expr = settle_expr(prepared, params)
    cols = OUTPUT_COLUMNS + ["person_id", "yr", "policy_key", "valid_from", "total_amount"]
    return con.to_pyarrow(expr.order_by(["g", "rn"]).select(*cols))


def settle(source, policies, *, year: int | None = None, claims=None, detail: bool = False,
           source_name: str = "claims") -> pa.Table:
    """Settle every claim (optionally only those discharged in `year`); exact DECIMAL(18,2) yuan."""
    return settle_with_gaps(source, policies, year=year, claims=claims, detail=detail, source_name=source_name)[0]


def settle_with_gaps(source, policies, *, year: int | None = None, claims=None, detail: bool = False,
                     source_name: str = "claims") -> tuple[pa.Table, pd.DataFrame]:
    """`settle`, and the claims a policy has no basic layer for (e.g. outpatient claims under a policy
    that models only inpatient care): per policy_key × visit_group, claims and total_amount (yuan). Those
    claims settle with nothing from the pooled fund; that is the policy file's gap, not a benefit rule,
    so it must be said wherever such a settlement is shown."""
    con, prepared, params = settlement_inputs(source, policies, year=year, claims=claims, source_name=source_name)
    df = _settled(con, prepared, params, True)
    off = prepared.filter(prepared.vg_on == 0)
    gaps = con.to_pandas(off.group_by(["policy_key", "visit_group"]).aggregate(claims=off.count(), total_amount=off.T.sum())
                         .order_by(["policy_key", "visit_group"]))
    gaps["total_amount"] = gaps["total_amount"].astype("int64") / 100
    return _to_arrow(df, detail), gaps


def _to_arrow(df: pd.DataFrame, detail: bool) -> pa.Table:
    arrays = {"claim_id": pa.array(df["claim_id"].astype(str), pa.string())}
    for c in AMOUNTS:
        arrays[c] = fen_to_decimal(df[c].to_numpy())
    if detail:
        arrays["person_id"] = pa.array(df["person_id"].astype(str), pa.string())
        arrays["year"] = pa.array(df["yr"].astype("int64"))
        arrays["policy_key"] = pa.array(df["policy_key"].astype(str), pa.string())
        arrays["policy_version"] = pa.array(pd.to_datetime(df["valid_from"]).dt.date, pa.date32())
        arrays["total_amount"] = fen_to_decimal(df["total_amount"].to_numpy())
    return pa.table(arrays)


def person_year_totals(settled: pa.Table | pd.DataFrame) -> pa.Table:
    """Per person and year: claims, total_amount and every output summed (needs ``detail`` columns)."""
    rel = settled if isinstance(settled, pa.Table) else pa.Table.from_pandas(settled, preserve_index=False)
    con = ibis.duckdb.connect()
    t = ibis.memtable(rel)
    agg = {c: t[c].sum() for c in ["total_amount", *AMOUNTS]}
    expr = t.group_by(["person_id", "year"]).aggregate(claims=t.count(), **agg).order_by(["person_id", "year"])
    return con.to_pyarrow(expr)
