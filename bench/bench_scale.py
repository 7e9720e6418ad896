"""Province scale (issue #10): the scaling curve of the full three-layer settlement of a Parquet dataset,
DuckDB against Spark local mode on this machine, at growing numbers of claims.

Both engines run the same expression (`mifund.scale.settle_dataset`: read the partitioned dataset, settle,
write the result partitioned by year) and their outputs are checked equal before a time is reported.
The "naive" column is Spark local (the ratio says how many times faster DuckDB is on one machine);
Spark's session start-up is timed separately and not counted in its rows per second.
`BENCH_SCALE=0.1` runs a tenth of the claims.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
ROOT = HERE.parent


def _write(src: dict, root: Path) -> None:
    for name, df in src.items():
        d = root / name
        d.mkdir(parents=True)
        if name == "claims":
            df = df.assign(part_year=pd.to_datetime(df["discharge_date"]).dt.year.astype("int32"))
            pq.write_to_dataset(pa.Table.from_pandas(df, preserve_index=False), str(d), partition_cols=["part_year"])
        else:
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), d / "part-0.parquet")


def run(scale: float) -> list[dict]:
    sys.path.insert(0, str(HERE))
    from bench_settle import generate

    from mifund.policy import load_policies
    from mifund.scale import settle_dataset
    from mifund.storage.engines import connect

    pols = load_policies(ROOT / "policies")
    sizes = sorted({max(10_000, int(n * scale)) for n in (100_000, 300_000, 1_000_000)})
    tmp = Path(tempfile.mkdtemp(prefix="mifund-bench-scale-"))
    rows = []
    try:
        t0 = time.perf_counter()
        spark = connect("spark", master="local[*]")
        start = time.perf_counter() - t0
        duck = connect("duckdb")
        for n in sizes:
            data = tmp / f"d{n}"
            _write(generate(n), data)
            secs = {}
            for name, con in (("duckdb", duck), ("spark", spark)):
                t0 = time.perf_counter()
                run_ = settle_dataset(con, data, pols, out=tmp / f"out_{name}_{n}")
                secs[name] = time.perf_counter() - t0
                assert run_.claims == n
            a = pd.read_parquet(tmp / f"out_duckdb_{n}").sort_values("claim_id").reset_index(drop=True)
            b = pd.read_parquet(tmp / f"out_spark_{n}").sort_values("claim_id").reset_index(drop=True)
            for c in ("pooled_fund_paid", "catastrophic_paid", "out_of_pocket"):
                assert (a[c].astype(str) == b[c].astype(str)).all(), f"engines differ on {c}"
            rows.append({"name": f"dataset settlement, DuckDB vs Spark local[*] ({n:,} claims; Spark start "
                                 f"{start:.0f} s not counted)",
                         "rows": n, "seconds": secs["duckdb"], "rows_per_s": n / secs["duckdb"],
                         "naive_rows_per_s": n / secs["spark"], "ratio": secs["spark"] / secs["duckdb"]})
        spark._session.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    """The out-of-core run: `python bench/bench_scale.py --claims 100000000` writes a dataset in chunks
    (bounded memory) and settles it on DuckDB only, spilling to disk as needed."""
    import argparse
    import resource

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--claims", type=int, default=100_000_000)
    ap.add_argument("--chunk", type=int, default=5_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_settle import generate

    from mifund.policy import load_policies
    from mifund.scale import settle_dataset
    from mifund.storage.engines import connect

    root = a.dir or Path(tempfile.mkdtemp(prefix="mifund-bench-100m-"))
    data = root / "data"
    t0 = time.perf_counter()
    n = 0
    for k in range(-(-a.claims // a.chunk)):
        src = generate(min(a.chunk, a.claims - n), seed=100 + k)
        for name, cols in (("claims", ("claim_id", "person_id")), ("enrollment", ("person_id",))):
            for c in cols:
                src[name][c] = f"K{k}." + src[name][c].astype(str)
        for name, df in src.items():
            d = data / name
            if name == "providers":
                if k:
                    continue
                d.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pandas(df, preserve_index=False), d / "part-0.parquet")
                continue
            if name == "claims":
                d = d / "part_year=2025"
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), d / f"part-{k}.parquet")
        n += len(src["claims"])
        print(f"  wrote {n:,} claims ({time.perf_counter() - t0:.0f} s)", flush=True)
    gen_s = time.perf_counter() - t0
    con = connect("duckdb")
    t0 = time.perf_counter()
    run_ = settle_dataset(con, data, load_policies(ROOT / "policies"), out=root / "settled")
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"dataset written in {gen_s:.0f} s; DuckDB settled {run_.claims:,} claims in {secs:.1f} s = "
          f"{run_.claims / secs:,.0f} claims/s; peak RSS {rss:.1f} GB; output {root / 'settled'}")


if __name__ == "__main__":
    main()
