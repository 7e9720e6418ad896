"""Benchmark: the projection engine at 10,000 paths x 100 regions x 30 years x 18 age bands x 2 sexes
(x 2 states for employees), against a per-path Python loop (each path rolling its own cohort tensor)
in the same run. Prints seconds, peak resident memory and the speed ratio.

    .venv/bin/python bench/bench_projection.py [--paths 10000] [--units 100] [--years 30] [--loop-paths 100]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from mifund.projection.engine import Base, project
from mifund.projection.reference import per_path_loop
from mifund.projection.scenario import load_scenario
from mifund.projection.tables import N_BANDS, load_age_curve, load_age_structure


def synthetic_base(units: int, seed: int = 0) -> Base:
    rng = np.random.default_rng(seed)
    structure = load_age_structure().array()
    insured = np.zeros((units, 2, N_BANDS, 2))
    schemes = np.where(np.arange(units) % 2 == 0, "employee", "resident")
    for u in range(units):
        size = rng.uniform(2e5, 2e6)
        if schemes[u] == "employee":
            insured[u, 0, 4:12] = structure[4:12] * size
            insured[u, 1, 12:] = structure[12:] * size * 0.6
        else:
            insured[u, 0] = structure * size
    exp = insured.sum(axis=(1, 2, 3)) * rng.uniform(800, 3000, units)
    return Base(units=pd.DataFrame({"region_code": [f"{360000 + u:06d}" for u in range(units)], "region_name": "",
                                    "scheme": schemes, "fund": "pooled"}),
                base_year=2024, insured=insured, expenditure=exp, contributions=exp * rng.uniform(0.9, 1.1, units),
                balance=exp * rng.uniform(0.3, 1.5, units),
                curve=np.broadcast_to(load_age_curve().array(), (units, N_BANDS, 2)).copy())


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def measure(paths: int, units: int, years: int, loop_paths: int) -> dict:
    s = load_scenario()
    base = synthetic_base(units)
    t = time.perf_counter()
    p = project(base, s, paths=paths, years=years, seed=1)
    p.depletion_year()
    engine_s = time.perf_counter() - t
    t = time.perf_counter()
    loop = per_path_loop(base, s, paths=loop_paths, years=years, seed=1)
    loop_s = time.perf_counter() - t
    np.testing.assert_allclose(p.balance[:loop_paths], loop, rtol=1e-9)  # same draws, same result
    return {"engine_s": engine_s, "loop_full_s": loop_s / loop_paths * paths, "rss_gb": peak_rss_gb()}


def run(scale: float) -> list[dict]:
    """For bench/run.py: rows = path-region-years projected; naive = the per-path loop (timed on a
    hundredth of the paths, scaled up)."""
    paths = max(100, int(10_000 * scale))
    m = measure(paths, 100, 30, max(10, paths // 100))
    rows = paths * 100 * 30
    return [{"name": f"projection {paths:,} paths x 100 regions x 30 years x {N_BANDS} bands x 2 sexes (x 2 states); "
                     f"peak RSS {m['rss_gb']:.1f} GB; naive = per-path loop",
             "rows": rows, "seconds": m["engine_s"], "rows_per_s": rows / m["engine_s"],
             "naive_rows_per_s": rows / m["loop_full_s"], "ratio": m["loop_full_s"] / m["engine_s"]}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--loop-paths", type=int, default=100)
    ns = ap.parse_args()
    s = load_scenario()
    base = synthetic_base(ns.units)
    rss0 = peak_rss_gb()
    t = time.perf_counter()
    p = project(base, s, paths=ns.paths, years=ns.years, seed=1)
    dep = p.depletion_year()
    engine_s = time.perf_counter() - t
    rss1 = peak_rss_gb()
    t = time.perf_counter()
    loop = per_path_loop(base, s, paths=ns.loop_paths, years=ns.years, seed=1)
    loop_s = time.perf_counter() - t
    np.testing.assert_allclose(p.balance[: ns.loop_paths], loop, rtol=1e-9)  # same draws, same result
    loop_full = loop_s / ns.loop_paths * ns.paths
    cells = ns.paths * ns.units * ns.years * N_BANDS * 2
    print(f"projection: {ns.paths:,} paths x {ns.units} regions x {ns.years} years x {N_BANDS} bands x 2 sexes "
          f"(x 2 states) = {cells:,} path-cells")
    print(f"  vectorised engine:      {engine_s:8.2f} s   peak RSS {rss1:.2f} GB (before: {rss0:.2f} GB)")
    print(f"  per-path Python loop:   {loop_s:8.2f} s for {ns.loop_paths} paths -> {loop_full:8.1f} s "
          f"for {ns.paths:,} (extrapolated)")
    print(f"  ratio loop / engine:    {loop_full / engine_s:8.1f} x   (results equal on the first {ns.loop_paths} paths)")
    print(f"  depleted within {ns.years} years: {(dep > 0).mean():.1%} of path-regions")


if __name__ == "__main__":
    main()
