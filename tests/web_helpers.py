"""Helpers for the web tests: a writable copy of the demo warehouse with the demo users, logins."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mifund.storage import Warehouse
from mifund.users import create_demo_users
from mifund.users.store import DEMO_PASSWORD

PASSWORD = DEMO_PASSWORD


def web_warehouse(demo_db: Path, tmp: Path) -> Path:
    """Copy the demo warehouse (demo_small.db) to `tmp` and add the demo users: admin (all regions),
    analyst (city 360100), county (analyst of 360102 东湖区), supervisor and viewer (city)."""
    db = tmp / "web.duckdb"
    shutil.copy(demo_db, db)
    wal = Path(str(demo_db) + ".wal")
    if wal.exists():
        shutil.copy(wal, Path(str(db) + ".wal"))
    with Warehouse(db) as wh:
        create_demo_users(wh, actor="test")
    return db


def login(client, username: str, password: str = PASSWORD, next: str = "/"):
    """Log in through the form (with its CSRF token); returns the response after redirects."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": next})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def fast_hashing(monkeypatch) -> None:
    """Cheap Argon2 parameters for tests (the 2-core test machine needs ~0.4 s per default hash). The
    scheme stays Argon2id; only its cost changes."""
    from argon2 import PasswordHasher

    import mifund.users.store as store

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(store, "_HASHER", fast)
    monkeypatch.setattr(store, "_DUMMY_HASH", fast.hash("dummy"))


def ensure_cases(db: Path, data_dir: Path, out_dir: Path) -> int:
    """Supervision cases in the warehouse copy: `mifund demo run` screens the claims; should a demo
    warehouse lack them, screen here (the same step). Returns the number of cases."""
    with Warehouse(db) as wh:
        c = wh.table("supervision_cases")
        n = int(wh.to_pandas(c.aggregate(n=c.count()))["n"].iloc[0])
        if n == 0:
            from mifund.supervision.demo import demo_step

            out_dir.mkdir(parents=True, exist_ok=True)
            demo_step(wh, data_dir / "truth" / "labels.csv", out_dir, actor="test")
            n = int(wh.to_pandas(c.aggregate(n=c.count()))["n"].iloc[0])
    return n


def ensure_projection(db: Path) -> int:
    """A stored projection run in the warehouse copy (`mifund demo run` stores one; should a demo
    warehouse lack it, the same demo step stores it here). Returns the number of runs."""
    with Warehouse(db) as wh:
        r = wh.table("projection_runs")
        n = int(wh.to_pandas(r.aggregate(n=r.count()))["n"].iloc[0])
        if n == 0:
            from mifund.demo.pipeline import _project

            _project(wh, "test")
            n = 1
    return n
