"""Ledger indicators for a province: every county's ledger, aggregated up to cities and the province.

mifund: `compute_indicators` — one Ibis expression (joins on the region closure, self-join for the
previous year), executed by DuckDB. Naive: the slow, obviously-correct pure-Python reference the
tests compare it with (tests/test_indicators.py::reference), one row at a time with dictionaries —
what a spreadsheet macro or a hand-written script does.

On a small annual ledger the naive way wins (ratio < 1): Ibis compiling the expression to SQL costs a
fixed ~0.4 s per call, more than the work. At province scale with monthly rows the engine pays off.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mifund.ledger.indicators import compute_indicators
from mifund.storage import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def _reference():
    spec = importlib.util.spec_from_file_location("ref_tests", ROOT / "tests" / "test_indicators.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.reference


def province(n_cities: int, n_counties: int, years: range, seed: int = 7, monthly: bool = False):
    rng = np.random.default_rng(seed)
    regions = [("320000", "", "province")]
    for c in range(1, n_cities + 1):
        city = f"32{c:02d}00"
        regions.append((city, "320000", "city"))
        regions += [(f"32{c:02d}{k:02d}", city, "county") for k in range(1, n_counties + 1)]
    counties = [r[0] for r in regions if r[2] == "county"]
    ledger, population = [], []
    for code in counties:
        bal = {"pooled": 5e8, "account": 2e8, "rp": 3e8}
        for y in years:
            population.append({"region_code": code, "year": y, "persons": int(rng.integers(200_000, 900_000))})
            for m, scheme, fund, k in ((m, s, f, k) for m in (range(1, 13) if monthly else [None])
                                       for s, f, k in (("employee", "pooled", "pooled"), ("employee", "account", "account"), ("resident", "pooled", "rp"))):
                inc = float(round(rng.uniform(2e8, 6e8) / (12 if monthly else 1), 2))
                exp = float(round(inc * rng.uniform(0.85, 1.1), 2))
                bal[k] = round(bal[k] + inc - exp, 2)
                ledger.append({"region_code": code, "year": y, "month": m, "scheme": scheme, "fund": fund,
                               "insured": int(rng.integers(100_000, 500_000)), "insured_in_service": None,
                               "insured_retired": None, "income_total": inc, "expenditure_total": exp,
                               "balance_end": bal[k], "income_fiscal_subsidy": None})
    return regions, ledger, population


def measure(n_cities: int, monthly: bool) -> dict:
    regions, ledger, population = province(n_cities, 10, range(2013, 2025), monthly=monthly)
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "w.duckdb")
        wh.append("regions", pd.DataFrame(regions, columns=["region_code", "parent_code", "level"]).assign(name="x"))
        wh.append("population", pd.DataFrame(population))
        wh.append("fund_ledger", pd.DataFrame(ledger).drop(columns=["insured_in_service", "insured_retired", "income_fiscal_subsidy"]))
        t0 = time.perf_counter()
        df = compute_indicators(wh, monthly=monthly)
        secs = time.perf_counter() - t0
        wh.close()
    reference = _reference()
    t0 = time.perf_counter()
    ref = reference([(c, p or None) for c, p, _ in regions], ledger, population, monthly=monthly, aggregate=True)
    nsecs = time.perf_counter() - t0
    assert len(ref) == len(df), (len(ref), len(df))
    n = len(ledger)
    what = "monthly" if monthly else "annual"
    return {"name": f"{what} indicators, {n_cities} cities x 10 counties x 12 years (output {len(df):,} rows)",
            "rows": n, "seconds": secs, "rows_per_s": n / secs, "naive_rows_per_s": n / nsecs, "ratio": nsecs / secs}


def run(scale: float) -> list[dict]:
    """Annual (small: Ibis compiling its SQL, ~0.4 s, dominates) and monthly at province scale."""
    return [measure(max(2, round(10 * scale)), monthly=False), measure(max(2, round(20 * scale)), monthly=True)]
