"""Import throughput: a claims CSV through `mifund import` against the naive way.

mifund: streamed in chunks, vectorised conversion and checks, staged and upserted in one transaction.
Naive: Python's csv module row by row, each value parsed (Decimal, date) and checked in Python, rows
inserted with `executemany` — what a hand-written import script does. The naive run uses fewer rows
(it is slow) and the ratio compares rows per second.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from mifund.ingest import import_paths
from mifund.storage import Warehouse

KEY = b"bench-key-0123456789abcdef012345"


def make_files(d: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    pd.DataFrame(
        {"region_code": ["320500", "320505", "320506"], "name": ["苏州市", "虎丘区", "吴中区"],
         "level": ["city", "county", "county"], "parent_code": ["", "320500", "320500"]}
    ).to_csv(d / "regions.csv", index=False)
    pd.DataFrame(
        {"provider_id": [f"P{i:04d}" for i in range(50)], "name": [f"医院{i}" for i in range(50)],
         "region_code": ["320505", "320506"] * 25, "level": rng.integers(1, 4, 50), "type": "hospital"}
    ).to_csv(d / "providers.csv", index=False)
    admit = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
    los = rng.integers(0, 15, n)
    total = np.round(rng.gamma(2.0, 3000.0, n), 2)
    self_pay = np.round(total * rng.uniform(0, 0.1, n), 2)
    copay = np.round(total * rng.uniform(0, 0.1, n), 2)
    pd.DataFrame(
        {"claim_id": [f"C{i:09d}" for i in range(n)], "person_id": [f"H{i % 200000:08d}" for i in range(n)],
         "provider_id": [f"P{i:04d}" for i in rng.integers(0, 50, n)],
         "visit_type": np.where(los > 0, "inpatient", "outpatient"),
         "admit_date": admit.strftime("%Y-%m-%d"), "discharge_date": (admit + pd.to_timedelta(los, unit="D")).strftime("%Y-%m-%d"),
         "diagnosis_code": "J18.9", "total_amount": total, "self_pay_amount": self_pay, "copay_first_amount": copay}
    ).to_csv(d / "claims.csv", index=False)


def naive_import(path: Path, db: Path) -> int:
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE claims (claim_id VARCHAR, person_id VARCHAR, provider_id VARCHAR, visit_type VARCHAR,"
                " admit_date DATE, discharge_date DATE, diagnosis_code VARCHAR, total_amount DECIMAL(18,2),"
                " self_pay_amount DECIMAL(18,2), copay_first_amount DECIMAL(18,2), policy_scope_amount DECIMAL(18,2))")
    rows, seen = [], set()
    with open(path, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["claim_id"] in seen:
                raise ValueError("duplicate")
            seen.add(r["claim_id"])
            a, b = dt.date.fromisoformat(r["admit_date"]), dt.date.fromisoformat(r["discharge_date"])
            t, s, c = (Decimal(r[k]) for k in ("total_amount", "self_pay_amount", "copay_first_amount"))
            if b < a or min(t, s, c) < 0 or s + c > t:
                raise ValueError("bad row")
            rows.append((r["claim_id"], r["person_id"], r["provider_id"], r["visit_type"], a, b,
                         r["diagnosis_code"], t, s, c, t - s - c))
    con.execute("BEGIN")
    con.executemany("INSERT INTO claims VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.execute("COMMIT")
    con.close()
    return len(rows)


def run(scale: float) -> list[dict]:
    n = max(10_000, int(1_000_000 * scale))
    n_naive = max(2_000, int(20_000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_files(d, n)
        wh = Warehouse(d / "w.duckdb")
        t0 = time.perf_counter()
        import_paths(wh, [d / "regions.csv", d / "providers.csv", d / "claims.csv"], actor="bench", id_key=KEY)
        secs = time.perf_counter() - t0
        assert wh.count("claims") == n
        wh.close()
        nd = d / "naive"
        nd.mkdir()
        make_files(nd, n_naive, seed=2)
        t0 = time.perf_counter()
        naive_import(nd / "claims.csv", nd / "n.duckdb")
        nsecs = time.perf_counter() - t0
    fast, slow = n / secs, n_naive / nsecs
    return [{"name": "claims CSV import", "rows": n, "seconds": secs, "rows_per_s": fast,
             "naive_rows_per_s": slow, "ratio": fast / slow}]
