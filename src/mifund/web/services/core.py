"""The warehouse behind a lock, cached derived tables, and the region scope of a user.

One DuckDB connection serves the whole process (DuckDB allows one writer per file), so every use of
it holds ``Services.lock``. Indicators and warnings over the whole warehouse are computed once and
cached; the cache is dropped by every write made through the application (imports) — no other process
can write while the server holds the file.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from mifund.storage import Warehouse
from mifund.users import RateLimits, User
from mifund.web.errors import Forbidden, NotFound, RegionForbidden
from mifund.web.settings import WebSettings

_MISSING = object()


class Services:
    def __init__(self, settings: WebSettings, wh: Warehouse | None = None):
        self.settings = settings
        self.wh = wh or Warehouse(settings.db)
        self.lock = threading.RLock()
        self._cache: dict = {}
        self._sessions: dict[str, tuple[float, User, str]] = {}
        self.limits = RateLimits(settings.login_fail_per_user, settings.login_fail_per_client, settings.login_window_s)

    def close(self) -> None:
        with self.lock:
            self.wh.close()

    @contextmanager
    def locked(self):
        with self.lock:
            yield self.wh

    def invalidate(self) -> None:
        """Drop every cached derived table (after a write to the data)."""
        with self.lock:
            self._cache.clear()

    def cached(self, key, compute):
        hit = self._cache.get(key, _MISSING)  # a hit needs no lock (dict reads are atomic)
        if hit is not _MISSING:
            return hit
        with self.lock:
            if key not in self._cache:
                self._cache[key] = compute(self.wh)
            return self._cache[key]

    # -- sessions and tokens (a short in-memory cache in front of their tables; every change made
    # through the application drops the entries it affects) ---------------------------------------
    def session_cache_get(self, sid: str) -> tuple[User, str] | None:
        hit = self._sessions.get(sid)
        if hit and time.monotonic() - hit[0] < self.settings.session_cache_s:
            return hit[1], hit[2]
        return None

    def session_cache_put(self, sid: str, user: User, csrf: str) -> None:
        self._sessions[sid] = (time.monotonic(), user, csrf)

    def token_cache_get(self, token: str) -> User | None:
        from mifund.users.store import digest

        hit = self._sessions.get("bearer:" + digest(token))
        return hit[1] if hit and time.monotonic() - hit[0] < self.settings.session_cache_s else None

    def token_cache_put(self, token: str, user: User) -> None:
        from mifund.users.store import digest

        self._sessions["bearer:" + digest(token)] = (time.monotonic(), user, "")

    def session_cache_drop(self, sid: str | None = None, username: str | None = None) -> None:
        for k, (_, u, _) in list(self._sessions.items()):
            if k == sid or (username and u.username == username):
                self._sessions.pop(k, None)

    # -- regions and scope ---------------------------------------------------------------------------
    def regions(self) -> pd.DataFrame:
        """region_code, name, name_en, level, parent_code (sorted), cached."""

        def load(wh):
            r = wh.table("regions")
            df = wh.to_pandas(r.order_by("region_code"))
            df["parent_code"] = [p if isinstance(p, str) and p.strip() else None for p in df["parent_code"]]
            df["parent_code"] = df["parent_code"].astype(object)
            return df

        return self.cached("regions", load)

    def parents(self) -> dict[str, str | None]:
        def load(_wh):
            regs = self.regions()
            return {c: (p if isinstance(p, str) and p else None) for c, p in zip(regs.region_code, regs.parent_code,
                                                                               strict=True)}

        return self.cached("parents", load)

    def parent_of(self, code: str) -> str | None:
        return self.parents().get(code)

    def children_of(self, code: str) -> list[str]:
        return sorted(c for c, p in self.parents().items() if p == code)

    def subtree(self, code: str) -> frozenset[str]:
        def load(wh):
            from mifund.ledger.regions import descendants

            return frozenset(descendants(wh, [code]))

        return self.cached(("subtree", code), load)

    def scope(self, user: User) -> frozenset[str] | None:
        """Region codes the user may see; None = every region (city administrator without a region)."""
        if user.all_regions:
            return None
        return self.subtree(user.region_code)

    def in_scope(self, user: User, code: str) -> bool:
        s = self.scope(user)
        return s is None or code in s

    def check_region(self, user: User, code: str) -> None:
        """NotFound for a code that is no region, RegionForbidden for one outside the user's subtree."""
        if code not in self.parents():
            raise NotFound(f"no region {code}", code="region_not_found")
        if not self.in_scope(user, code):
            raise RegionForbidden(f"region {code} is outside your regions ({user.region_code} and below)")

    def filter_regions(self, user: User, df: pd.DataFrame, column: str = "region_code") -> pd.DataFrame:
        s = self.scope(user)
        if s is None:
            return df
        return df[df[column].isin(s)]

    @staticmethod
    def require(user: User, permission: str) -> None:
        if not user.can(permission):
            raise Forbidden(f"your role ({user.role}) may not {permission.replace('_', ' ')}")

    # -- policies ------------------------------------------------------------------------------------
    def policy_dir(self) -> Path:
        """--policies, else the directory the latest stored settlement run used, else the default."""
        if self.settings.policies:
            return Path(self.settings.policies)

        def latest(wh):
            r = wh.table("settlement_runs")
            df = wh.to_pandas(r.order_by(r.started.desc()).limit(1).select("policy_source"))
            if len(df) and df.iloc[0]["policy_source"] and Path(df.iloc[0]["policy_source"]).exists():
                return Path(df.iloc[0]["policy_source"])
            from mifund.policy import default_policy_dir

            return default_policy_dir()

        return self.cached("policy_dir", latest)

    def policies(self):
        def load(_wh):
            from mifund.policy import load_policies

            return load_policies(self.policy_dir())

        return self.cached("policies", load)
