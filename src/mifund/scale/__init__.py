"""Province scale (省级): claim-scale work on Parquet datasets, on DuckDB or on Apache Spark.

The same Ibis expressions as the warehouse path (``mifund.settlement``, ``mifund.supervision``); only the
backend differs (``mifund.storage.engines.connect``). Inputs and outputs are datasets laid out as
``<dir>/<table>/part_year=YYYY/*.parquet`` (``mifund.storage.engines.export_warehouse`` writes them from
a warehouse; a provincial platform writes the same layout from its own pipeline)::

    con = connect("spark", master="spark://head:7077")
    run = settle_dataset(con, "s3a://mi/2025/", load_policies("policies/"), out="s3a://mi/settled/")
    hits = screen_dataset(con, "s3a://mi/2025/", out="s3a://mi/hits/")
    agg = aggregate_settlement(con, "s3a://mi/settled/")     # region × scheme × year × visit group

Nothing is collected to the driver except counts, problems and the aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd

from mifund.storage.engines import read_dataset, write_dataset

AMOUNTS = ["deductible_applied", "pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid",
           "out_of_pocket", "total_amount"]


@dataclass
class DatasetRun:
    claims: int
    out: str


def _yuan(fen: ir.IntegerValue) -> ir.DecimalValue:
    """Integer fen -> exact DECIMAL(18,2) yuan on every engine (no float in between)."""
    return (fen.cast("decimal(20,0)") / 100).cast("decimal(18,2)")


def settled_expr(con, data_dir: str | Path, policies, *, year: int | None = None) -> ir.Table:
    """The settlement of ``data_dir``'s claims (with its enrollment and providers) as one expression on
    ``con``'s engine: the data contract's outputs in yuan, plus person_id, year, policy_key,
    policy_version, region_code, visit_group."""
    from mifund.settlement import settlement_inputs
    from mifund.settlement.engine import OUTPUT_COLUMNS, settle_expr

    d = str(data_dir).rstrip("/")
    src = {n: read_dataset(con, f"{d}/{n}") for n in ("claims", "enrollment", "providers")}
    con, prepared, params = settlement_inputs(src, policies, year=year, con=con, source_name=f"{d}/claims")
    e = settle_expr(prepared, params)
    return e.select(
        "claim_id", **{c: _yuan(e[c]) for c in OUTPUT_COLUMNS[1:]},
        person_id="person_id", year="yr", policy_key="policy_key", policy_version="valid_from",
        total_amount=_yuan(e.total_amount), region_code="region_code", visit_group="visit_group",
    )


def settle_dataset(con, data_dir: str | Path, policies, *, out: str | Path, year: int | None = None) -> DatasetRun:
    """Settle a dataset's claims and write the result as a dataset partitioned by year under ``out``."""
    expr = settled_expr(con, data_dir, policies, year=year)
    write_dataset(con, expr, out, partition_year="year")
    n = int(con.to_pyarrow(read_dataset(con, out).count()).as_py())
    return DatasetRun(n, str(out))


def aggregate_settlement(con, settled_dir: str | Path) -> pd.DataFrame:
    """Claims aggregated into fund expenditure: per insured region × scheme (policy) × year × visit group,
    the number of claims and each amount (yuan). The ledger's claim-based expenditure, at any scale."""
    s = read_dataset(con, settled_dir)
    g = s.group_by(["region_code", "policy_key", "year", "visit_group"]).aggregate(
        claims=s.count(), **{c: s[c].sum() for c in AMOUNTS})
    df = con.to_pandas(g.order_by(["region_code", "policy_key", "year", "visit_group"]))
    df.insert(2, "scheme", df.pop("policy_key").str.split("/").str[1])
    return df


def screen_dataset(con, data_dir: str | Path, *, out: str | Path | None = None, rules=None):
    """Run the supervision rule library over a dataset on ``con``'s engine. Returns the ScreenResult (hits
    as Arrow, rule runs); with ``out`` also writes the hits as Parquet."""
    from mifund.supervision.checks import Tables
    from mifund.supervision.engine import screen

    d = str(data_dir).rstrip("/")
    t = Tables(*(read_dataset(con, f"{d}/{n}") for n in ("claims", "claim_lines", "enrollment", "providers",
                                                           "catalog", "population")))
    res = screen(t, rules)
    if out is not None:
        import pyarrow.parquet as pq

        Path(out).mkdir(parents=True, exist_ok=True)
        pq.write_table(res.hits, Path(out) / "hits.parquet")
    return res


__all__ = ["DatasetRun", "aggregate_settlement", "screen_dataset", "settle_dataset", "settled_expr"]
