"""Dashboard load: p95 latency of the region page and the indicators API at 50 concurrent users.

mifund: `mifund serve` (uvicorn, one process) on loopback against the demo warehouse (small demo
municipality, copied); 50 simulated users (asyncio + httpx, each with its own session cookie or bearer
token) each alternate GET /region/<county> (the HTML page with its charts' data) and
GET /api/v1/indicators?region=<county> (JSON), as fast as answers come. Latency per request from send
to last byte; p50/p95/p99 per kind. Not timed: a warm-up (the first request fills the caches; each
user opens the overview once, as after logging in). The service layer computes indicators and warnings for the
whole warehouse once and serves every user from that cache, filtered by the user's regions.
Naive: the same answer computed per request without the cache (compute_indicators + evaluate for the
county, in process, no HTTP at all), one request at a time; the ratio compares requests per second.
BENCH_SCALE scales the requests per user (1.0 = 20). Standalone:
`python bench/bench_web.py [--db demo/mifund.duckdb] [--users 50] [--requests 20]` prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USERS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(db: Path | None, work: Path, users: int) -> tuple[Path, list[str], str, list[str]]:
    """A warehouse copy with a bench user: (db, session cookies, token, county codes)."""
    from mifund.storage import Warehouse
    from mifund.users import add_user, create_session, create_token, get_user

    target = work / "bench_web.duckdb"
    if db is None:
        from mifund.demo.pipeline import run_demo

        db = run_demo(work / "demo", size="small", seed=1).db
    shutil.copy(db, target)
    with Warehouse(target) as wh:
        if get_user(wh, "bench") is None:
            add_user(wh, "bench", "bench-password-not-secret", role="analyst", region_code=_city(wh), actor="bench")
        user = get_user(wh, "bench")
        sessions = [create_session(wh, user, client="bench", hours=2)[0] for _ in range(users)]
        token = create_token(wh, "bench", name="bench", days=1, actor="bench")
        r = wh.table("regions")
        counties = list(wh.to_pandas(r.filter(r.level == "county").select("region_code")).region_code)
    return target, sessions, token, counties


def _city(wh) -> str:
    r = wh.table("regions")
    return wh.to_pandas(r.filter(r.level == "city").select("region_code")).region_code.iloc[0]


def _start(db: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "MIFUND_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "mifund.web.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--timeout-keep-alive", "60"], env=env)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the server did not start")


async def _load(base: str, sessions: list[str], token: str, counties: list[str], requests: int):
    import httpx

    lat: dict[str, list[float]] = {"region page": [], "indicators API": []}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=len(sessions) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        # warm-up, not timed: the first requests fill the caches (indicators, warnings, region tree), then
        # every user opens the overview once, as after logging in (a login puts the session in memory)
        await client.get(f"/region/{counties[0]}", cookies={"mifund_session": sessions[0]})
        await client.get("/api/v1/indicators", params={"region": counties[0]},
                         headers={"Authorization": f"Bearer {token}"})
        await asyncio.gather(*(client.get("/", cookies={"mifund_session": sid}) for sid in sessions))

        async def user(i: int) -> None:
            rnd = random.Random(i)
            for k in range(requests):
                c = rnd.choice(counties)
                t = time.perf_counter()
                if (i + k) % 2 == 0:
                    kind = "region page"
                    r = await client.get(f"/region/{c}", cookies={"mifund_session": sessions[i]})
                else:
                    kind = "indicators API"
                    r = await client.get("/api/v1/indicators", params={"region": c},
                                         headers={"Authorization": f"Bearer {token}"})
                lat[kind].append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors.append(f"{kind} {c}: {r.status_code}")

        t0 = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(len(sessions))))
        wall = time.perf_counter() - t0
    return lat, wall, errors


def _pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


def _naive(db: Path, counties: list[str], n: int = 6) -> float:
    """Requests per second when each answer is computed on demand (no cache, no HTTP)."""
    from mifund.ledger.indicators import compute_indicators
    from mifund.ledger.warnings import evaluate, load_rules
    from mifund.storage import Warehouse

    with Warehouse(db, read_only=True) as wh:
        t = time.perf_counter()
        for k in range(n):
            ind = compute_indicators(wh, regions=[counties[k % len(counties)]])
            evaluate(ind, load_rules())
        return n / (time.perf_counter() - t)


def measure(db: Path | None = None, users: int = USERS, requests: int = 20) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        target, sessions, token, counties = _prepare(db, work, users)
        naive_rps = _naive(target, counties)
        port = _free_port()
        proc = _start(target, port)
        try:
            lat, wall, errors = asyncio.run(_load(f"http://127.0.0.1:{port}", sessions, token, counties, requests))
        finally:
            proc.terminate()
            proc.wait(20)
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    total = sum(len(v) for v in lat.values())
    out = []
    for kind, xs in lat.items():
        ms = [x * 1000 for x in xs]
        rps = total / wall
        out.append({
            "name": f"{kind}, {users} concurrent users: p50 {_pct(ms, 50):.0f} ms, p95 {_pct(ms, 95):.0f} ms, "
                    f"p99 {_pct(ms, 99):.0f} ms, max {max(ms):.0f} ms (requests of both kinds: {total / wall:.0f}/s)",
            "rows": len(xs), "seconds": wall, "rows_per_s": rps, "naive_rows_per_s": naive_rps,
            "ratio": rps / naive_rps, "p50_ms": _pct(ms, 50), "p95_ms": _pct(ms, 95), "p99_ms": _pct(ms, 99),
        })
    return out


def run(scale: float = 1.0) -> list[dict]:
    """For bench/run.py: rows = requests of the kind; rows/s = requests of both kinds per second."""
    return measure(None, USERS, max(4, int(round(20 * scale))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="Warehouse to copy (default: build the small demo)")
    ap.add_argument("--users", type=int, default=USERS)
    ap.add_argument("--requests", type=int, default=20, help="Requests per user")
    a = ap.parse_args()
    rows = measure(a.db, a.users, a.requests)
    print("| what | requests | p50 ms | p95 ms | p99 ms | wall s | requests/s | naive requests/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name'].split(',')[0]} | {r['rows']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | "
              f"{r['seconds']:.1f} | {r['rows_per_s']:.0f} | {r['naive_rows_per_s']:.1f} |")


if __name__ == "__main__":
    main()
