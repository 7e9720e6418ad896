"""Execution engines for claim-scale work: the same Ibis expressions on DuckDB (default) or Apache Spark.

Only this module (with the warehouse) knows the engines. Settlement, supervision rules and claim
aggregation take an Ibis backend from :func:`connect` and never name an engine themselves::

    from mifund.storage.engines import connect, read_dataset

    con = connect("spark", master="local[2]")             # or remote="sc://host:15002" (Spark Connect)
    claims = read_dataset(con, "s3a://bucket/claims/")     # a Parquet dataset partitioned year=/region=
    settled = settle_fen({"claims": claims, ...}, policies, con=con)

Spark is an optional extra (``pip install mifund[spark]``); its session is configured from
``SPARK_CONF`` below plus ``MIFUND_SPARK_CONF`` (``key=value,key=value``) and ``config=``. Spark's ANSI
mode stays on: a cast that would overflow is an error, not a silent wrong figure.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import ibis

ENGINES = ("duckdb", "spark")

# Defaults for a local session; a cluster's own settings (spark-submit --conf, spark-defaults.conf)
# take precedence over nothing here except where a key is given again in MIFUND_SPARK_CONF / config=.
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",          # dates are calendar dates: no shift by the JVM's zone
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",          # claims of one city: a few partitions, not 200
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
}


class EngineError(RuntimeError):
    pass


def _conf_from_env() -> dict[str, str]:
    raw = os.environ.get("MIFUND_SPARK_CONF", "").strip()
    out = {}
    for item in filter(None, (x.strip() for x in raw.split(","))):
        if "=" not in item:
            raise EngineError(f"MIFUND_SPARK_CONF: {item!r} is not key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def spark_session(*, master: str | None = None, remote: str | None = None, app_name: str = "mifund",
                  config: dict[str, Any] | None = None):
    """A SparkSession: local (``master``, default ``local[*]``), a cluster master URL, or Spark Connect
    (``remote``, ``sc://host:port``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the install
        raise EngineError("the Spark engine needs PySpark: pip install 'mifund[spark]'") from e
    b = SparkSession.builder.appName(app_name)
    b = b.remote(remote) if remote else b.master(master or os.environ.get("MIFUND_SPARK_MASTER", "local[*]"))
    conf = dict(SPARK_CONF)
    if not remote:  # a local session keeps its managed tables out of the working directory
        conf["spark.sql.warehouse.dir"] = str(Path(tempfile.gettempdir()) / "mifund-spark-warehouse")
        conf["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={tempfile.gettempdir()}"
        conf["spark.driver.memory"] = "2g"  # local mode: the driver is the executor
    conf.update(_conf_from_env())
    conf.update({k: str(v) for k, v in (config or {}).items()})
    for k, v in conf.items():
        b = b.config(k, v)
    return b.getOrCreate()


def connect(engine: str = "duckdb", *, master: str | None = None, remote: str | None = None,
            config: dict[str, Any] | None = None, session=None):
    """An Ibis backend for claim-scale work. ``duckdb``: in memory, spilling to a temp directory when
    memory runs short; ``spark``: a new or given SparkSession."""
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql(f"SET temp_directory = '{Path(tempfile.gettempdir()) / 'mifund-duckdb-spill'}'")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(session or spark_session(master=master, remote=remote, config=config))
    raise EngineError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")


def engine_name(con) -> str:
    return "spark" if con.name == "pyspark" else con.name


PARTITION_COLUMN = "part_year"  # Hive partition key of claim-scale datasets: part_year=2024/


def read_dataset(con, path: str | Path, *, table_name: str | None = None):
    """A Parquet file, or a directory of Parquet files partitioned Hive-style (``part_year=2024/…``) as
    :func:`write_dataset` writes them, as an Ibis table on ``con``'s engine. The partition column is
    dropped: readers see the data contract's columns. Nothing is read until the expression runs, and
    engines read only the partitions a filter on the data's own year needs."""
    p = str(path)
    if engine_name(con) == "duckdb":
        pattern = p if p.endswith(".parquet") else os.path.join(p, "**", "*.parquet")
        t = con.read_parquet(pattern, table_name=table_name, hive_partitioning=not p.endswith(".parquet"))
    else:
        t = con.read_parquet(p, table_name=table_name)
    return t.drop(PARTITION_COLUMN) if PARTITION_COLUMN in t.columns else t


def _sql(con, expr) -> str:
    return str(con.compile(expr))


def write_dataset(con, expr, path: str | Path, *, partition_year: str | None = None) -> None:
    """Write an expression's rows as Parquet under directory ``path`` (replacing it), partitioned
    Hive-style by the year of column ``partition_year`` when given (``part_year=2024/``), so that no
    single file must hold a province. The layout :func:`read_dataset` reads, on either engine."""
    import shutil

    p = Path(path)
    if p.exists():
        shutil.rmtree(p)
    if partition_year is not None:
        col = expr[partition_year]
        year = col if col.type().is_integer() else col.year()
        expr = expr.mutate(**{PARTITION_COLUMN: year.cast("int32")})
    partitioned = PARTITION_COLUMN in expr.columns
    if engine_name(con) == "duckdb":
        p.mkdir(parents=True)
        target = str(p) if partitioned else str(p / "part-0.parquet")
        opts = f"FORMAT PARQUET, PARTITION_BY ({PARTITION_COLUMN})" if partitioned else "FORMAT PARQUET"
        con.raw_sql(f"COPY ({_sql(con, expr)}) TO '{target}' ({opts})")
        return
    df = con._session.sql(_sql(con, expr))
    w = df.write.mode("overwrite")
    if partitioned:
        w = w.partitionBy(PARTITION_COLUMN)
    w.parquet(str(p))


# Which column partitions each contract table's dataset (None: one file).
DATASET_PARTITIONS = {"claims": "discharge_date", "claim_lines": None, "enrollment": "year",
                      "providers": None, "catalog": None, "regions": None, "population": "year",
                      "fund_ledger": "year"}


def export_warehouse(wh, out_dir: str | Path, tables: list[str] | None = None) -> dict[str, Path]:
    """The warehouse's contract tables as Parquet datasets under ``out_dir/<table>/`` (claims and
    enrolment partitioned by year; claim lines follow their claim's year), for a Spark cluster or any
    engine to read with :func:`read_dataset`."""
    out = Path(out_dir)
    names = tables or [n for n in DATASET_PARTITIONS if n in wh.con.list_tables()]
    paths = {}
    for n in names:
        expr = wh.table(n)
        part = DATASET_PARTITIONS.get(n)
        if n == "claim_lines":  # a line goes with its claim: the claim's discharge year
            c = wh.table("claims")
            c = c.select(_cid="claim_id", **{PARTITION_COLUMN: c.discharge_date.year().cast("int32")})
            expr = expr.join(c, expr.claim_id == c._cid).drop("_cid")
        write_dataset(wh.con, expr, out / n, partition_year=part)
        paths[n] = out / n
    return paths
