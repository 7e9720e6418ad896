"""Users, passwords, sessions, tokens and login attempts in the warehouse (tables of migration 0003).

All reads are Ibis expressions; every write is one ``wh.transaction()`` with an audit-log entry
(secrets never go into the audit log: security events are appended, ``users`` rows are upserted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mifund.users.model import ROLES, Role, User

_HASHER = PasswordHasher()  # Argon2id, argon2-cffi's RFC 9106 "low memory" defaults
_DUMMY_HASH = _HASHER.hash("mifund-timing-equaliser")
USERNAME_RE = re.compile(r"[A-Za-z0-9_.\-]{2,64}")
MIN_PASSWORD = 10
MAX_TOKEN_DAYS = 3660  # ten years: beyond it a token is as good as permanent (and 1e9 days overflows a date)


class UserError(ValueError):
    """A bad request about users (unknown user, bad role or region, weak password, duplicate).

    The message is English (the CLI's); `reason` names the kind of refusal and `params` its values, so
    that the web pages can say it in their own language (catalogue line ``user_error_<reason>``)."""

    def __init__(self, message: str, reason: str = "invalid", **params):
        super().__init__(message)
        self.reason = reason
        self.params = params


class LoginFailed(Exception):
    """Wrong username or password, or a disabled user (deliberately not told apart)."""


class LoginRateLimited(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


@dataclass(frozen=True)
class RateLimits:
    """Failed logins allowed per username and per client address within `window_s` seconds."""

    per_user: int = 5
    per_client: int = 20
    window_s: int = 900


def _now() -> dt.datetime:
    return dt.datetime.now()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user_from_row(r) -> User:
    region = r["region_code"]
    return User(
        username=r["username"], role=r["role"], region_code=None if pd.isna(region) else region,
        display_name=None if pd.isna(r["display_name"]) else r["display_name"], disabled=bool(r["disabled"]),
    )


def _check_region(wh, region_code: str | None, role: str) -> None:
    if region_code is None:
        if role != Role.admin:
            raise UserError(f"role {role} needs a region (--region CODE): it sees only that region's subtree",
                            "needs_region", role=role)
        return
    r = wh.table("regions")
    if wh.to_pandas(r.filter(r.region_code == region_code).select("region_code")).empty:
        raise UserError(f"unknown region {region_code!r} (not in the regions table)", "unknown_region",
                        region=region_code)


def _check_password(password: str) -> None:
    """At least MIN_PASSWORD characters, and not only blanks (ten spaces are long enough and guessed first)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters", "password_short", n=MIN_PASSWORD)
    if not password.strip():
        raise UserError("password made only of blanks", "password_blank")


# -- users -------------------------------------------------------------------------------------------
def list_users(wh) -> pd.DataFrame:
    u = wh.table("users")
    return wh.to_pandas(u.order_by("username"))


def get_user(wh, username: str) -> User | None:
    u = wh.table("users")
    df = wh.to_pandas(u.filter(u.username == username))
    return None if df.empty else _user_from_row(df.iloc[0])


def add_user(wh, username: str, password: str, *, role: str, region_code: str | None = None,
             display_name: str | None = None, actor: str) -> User:
    if not USERNAME_RE.fullmatch(username or ""):
        raise UserError("username: 2-64 letters, digits, '_', '.', '-'", "bad_username")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", "bad_role", roles=", ".join(ROLES))
    _check_password(password)
    _check_region(wh, region_code, role)
    if get_user(wh, username) is not None:
        raise UserError(f"user {username!r} exists", "exists", username=username)
    now = _now()
    row = {"username": username, "display_name": display_name, "role": role, "region_code": region_code,
           "disabled": False, "created_at": now, "updated_at": now}
    with wh.transaction():
        wh.append("users", pd.DataFrame([row]))
        wh.append("user_passwords", pd.DataFrame([{"username": username, "password_hash": _HASHER.hash(password),
                                                   "set_at": now}]))
        wh.audit("user_add", actor=actor, table_name="users", record_key={"username": username},
                 new_values={k: v for k, v in row.items() if k not in ("created_at", "updated_at")})
    return User(username, role, region_code, display_name)


def _replace_user(wh, username: str, actor: str, action: str, **changes) -> User:
    u = wh.table("users")
    df = wh.to_pandas(u.filter(u.username == username))
    if df.empty:
        raise UserError(f"no user {username!r}", "no_user", username=username)
    df = df.assign(**changes, updated_at=_now())
    stage = wh.create_stage("users")
    try:
        wh.append(stage, df)
        wh.upsert("users", stage, ["username"], actor=actor, batch_id=uuid.uuid4().hex, detail=action)
    finally:
        wh.drop_stage(stage)
    return _user_from_row(df.iloc[0])


def set_disabled(wh, username: str, disabled: bool, *, actor: str) -> User:
    """Disable (or enable) a user; disabling ends the user's open sessions (tokens stop working too:
    a disabled user never authenticates)."""
    with wh.transaction():
        user = _replace_user(wh, username, actor, "user_disable" if disabled else "user_enable", disabled=disabled)
        ended = 0
        if disabled:
            open_ = _open_sessions(wh).filter(lambda s: s.username == username).select("session_hash")
            hashes = wh.to_pandas(open_)
            if len(hashes):
                wh.append("session_ends", hashes.assign(ended_at=_now(), reason="user disabled"))
            ended = len(hashes)
        wh.audit("user_disable" if disabled else "user_enable", actor=actor, table_name="users",
                 record_key={"username": username}, detail=f"sessions ended: {ended}")
    return user


def set_role(wh, username: str, *, role: str, region_code: str | None, actor: str) -> User:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", "bad_role", roles=", ".join(ROLES))
    _check_region(wh, region_code, role)
    with wh.transaction():
        return _replace_user(wh, username, actor, "user_role", role=role, region_code=region_code)


def set_password(wh, username: str, password: str, *, actor: str) -> None:
    _check_password(password)
    if get_user(wh, username) is None:
        raise UserError(f"no user {username!r}", "no_user", username=username)
    with wh.transaction():
        wh.append("user_passwords", pd.DataFrame([{"username": username, "password_hash": _HASHER.hash(password),
                                                   "set_at": _now()}]))
        wh.audit("password_set", actor=actor, table_name="user_passwords", record_key={"username": username})


def _password_hash(wh, username: str) -> str | None:
    p = wh.table("user_passwords")
    df = wh.to_pandas(p.filter(p.username == username).order_by(p.set_at.desc()).limit(1))
    return None if df.empty else df.iloc[0]["password_hash"]


# -- login -------------------------------------------------------------------------------------------
def _retry_after(wh, username: str, client: str | None, limits: RateLimits, now: dt.datetime) -> int:
    """Seconds until a login may be tried again (0: now). Counts failures in the window, per user and
    per client; a success resets a user's count."""
    a = wh.table("login_attempts")
    since = now - dt.timedelta(seconds=limits.window_s)
    recent = a.filter(a.attempted_at >= since)
    df = wh.to_pandas(recent.filter((recent.username == username) | (recent.client == (client or "")))
                      .select("username", "client", "attempted_at", "success"))
    wait = 0
    mine = df[df.username == username]
    last_ok = mine.loc[mine.success, "attempted_at"].max() if mine.success.any() else None
    fails = mine[~mine.success]
    if last_ok is not None:
        fails = fails[fails.attempted_at > last_ok]
    if len(fails) >= limits.per_user:
        oldest = fails.attempted_at.sort_values().iloc[-limits.per_user]
        wait = max(wait, int((oldest + pd.Timedelta(seconds=limits.window_s) - now).total_seconds()) + 1)
    cf = df[(df.client == (client or "")) & ~df.success] if client else df.iloc[0:0]
    if len(cf) >= limits.per_client:
        oldest = cf.attempted_at.sort_values().iloc[-limits.per_client]
        wait = max(wait, int((oldest + pd.Timedelta(seconds=limits.window_s) - now).total_seconds()) + 1)
    return max(wait, 0)


def authenticate(wh, username: str, password: str, *, client: str | None = None,
                 limits: RateLimits = RateLimits(), now: dt.datetime | None = None) -> User:  # noqa: B008
    """The user, if the password is right and the user enabled; else LoginFailed. Refused with
    LoginRateLimited (without checking the password) after too many recent failures. Every attempt
    is recorded (login_attempts, audit log)."""
    now = now or _now()
    wait = _retry_after(wh, username, client, limits, now)
    if wait > 0:
        with wh.transaction():
            wh.audit("login_refused", actor=username, table_name="login_attempts", detail=f"rate limited; client {client}")
        raise LoginRateLimited(wait)
    user = get_user(wh, username)
    stored = _password_hash(wh, username) if user else None
    ok = False
    try:
        ok = _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and not user.disabled
    with wh.transaction():
        wh.append("login_attempts", pd.DataFrame([{"username": username, "client": client or "",
                                                   "attempted_at": now, "success": ok}]))
        wh.audit("login" if ok else "login_failed", actor=username, table_name="login_attempts",
                 detail=f"client {client}")
    if not ok:
        raise LoginFailed("wrong username or password")
    return user


# -- sessions ----------------------------------------------------------------------------------------
def _open_sessions(wh, now: dt.datetime | None = None):
    s, e = wh.table("sessions"), wh.table("session_ends")
    s = s.filter(s.expires_at > (now or _now()))
    return s.anti_join(e, s.session_hash == e.session_hash)


def create_session(wh, user: User, *, client: str | None = None, hours: float = 8) -> tuple[str, str]:
    """(cookie value, CSRF token) of a new session."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with wh.transaction():
        wh.append("sessions", pd.DataFrame([{"session_hash": digest(sid), "username": user.username, "csrf_token": csrf,
                                             "created_at": now, "expires_at": now + dt.timedelta(hours=hours),
                                             "client": client or ""}]))
        wh.audit("session_start", actor=user.username, table_name="sessions", detail=f"client {client}")
    return sid, csrf


def session_user(wh, sid: str) -> tuple[User, str] | None:
    """(user, CSRF token) of an open session of an enabled user, else None."""
    if not sid:
        return None
    s = _open_sessions(wh)
    s = s.filter(s.session_hash == digest(sid))
    u = wh.table("users")
    j = s.join(u, s.username == u.username).select(u.username, u.display_name, u.role, u.region_code, u.disabled,
                                                   s.csrf_token)
    df = wh.to_pandas(j)
    if df.empty or bool(df.iloc[0]["disabled"]):
        return None
    return _user_from_row(df.iloc[0]), df.iloc[0]["csrf_token"]


def end_session(wh, sid: str, *, actor: str) -> None:
    with wh.transaction():
        wh.append("session_ends", pd.DataFrame([{"session_hash": digest(sid), "ended_at": _now(), "reason": "logout"}]))
        wh.audit("logout", actor=actor, table_name="sessions")


# -- API tokens --------------------------------------------------------------------------------------
def create_token(wh, username: str, *, name: str | None = None, days: float = 90, actor: str) -> str:
    """A new bearer token for `username` (shown once; only its digest is stored), valid for `days` (more
    than 0, at most MAX_TOKEN_DAYS: a token that is born expired, or one that never ends, is refused)."""
    if not 0 < days <= MAX_TOKEN_DAYS:
        raise UserError(f"days must be more than 0 and at most {MAX_TOKEN_DAYS}", "bad_days", max=MAX_TOKEN_DAYS)
    if get_user(wh, username) is None:
        raise UserError(f"no user {username!r}", "no_user", username=username)
    token = "mf_" + secrets.token_urlsafe(32)
    now = _now()
    with wh.transaction():
        wh.append("api_tokens", pd.DataFrame([{"token_hash": digest(token), "token_prefix": token[:10],
                                               "username": username, "name": name, "created_at": now,
                                               "expires_at": now + dt.timedelta(days=days)}]))
        wh.audit("token_create", actor=actor, table_name="api_tokens",
                 record_key={"username": username, "token_prefix": token[:10]}, detail=name)
    return token


def _live_tokens(wh):
    t, r = wh.table("api_tokens"), wh.table("token_revocations")
    t = t.filter(t.expires_at > _now())
    return t.anti_join(r, t.token_hash == r.token_hash)


def token_user(wh, token: str) -> User | None:
    if not token:
        return None
    t = _live_tokens(wh)
    t = t.filter(t.token_hash == digest(token))
    u = wh.table("users")
    df = wh.to_pandas(t.join(u, t.username == u.username).select(u.username, u.display_name, u.role, u.region_code,
                                                                u.disabled))
    if df.empty or bool(df.iloc[0]["disabled"]):
        return None
    return _user_from_row(df.iloc[0])


def list_tokens(wh, username: str | None = None) -> pd.DataFrame:
    t = _live_tokens(wh)
    if username:
        t = t.filter(t.username == username)
    return wh.to_pandas(t.select("token_prefix", "username", "name", "created_at", "expires_at").order_by("created_at"))


def revoke_token(wh, prefix: str, *, actor: str, username: str | None = None) -> int:
    """Revoke the live tokens starting with `prefix` (of `username` only, where given: a prefix is 10
    characters, and another user's token may share it). Returns how many."""
    t = _live_tokens(wh)
    t = t.filter(t.token_prefix == prefix)
    if username is not None:
        t = t.filter(t.username == username)
    df = wh.to_pandas(t.select("token_hash", "username"))
    if df.empty:
        raise UserError(f"no live token starting {prefix!r}", "no_token", prefix=prefix)
    with wh.transaction():
        wh.append("token_revocations", df[["token_hash"]].assign(revoked_at=_now()))
        for user in sorted(set(df.username)):
            wh.audit("token_revoke", actor=actor, table_name="api_tokens",
                     record_key={"username": user, "token_prefix": prefix})
    return len(df)


# -- demo --------------------------------------------------------------------------------------------
DEMO_PASSWORD = "mifund-demo-2024"  # noqa: S105 - published on purpose: the demo's synthetic data only


def create_demo_users(wh, *, actor: str = "demo", password: str = DEMO_PASSWORD) -> list[dict]:
    """Demo logins (one per role; the county analyst on the city's first county), for `mifund demo run`.
    Returns [{username, role, region_code, password}] to print. Existing demo users are left alone."""
    r = wh.table("regions")
    regions = wh.to_pandas(r.select("region_code", "level", "parent_code").order_by("region_code"))
    city = regions.loc[regions.level == "city", "region_code"]
    county = regions.loc[regions.level == "county", "region_code"]
    city = city.iloc[0] if len(city) else None
    county = county.iloc[0] if len(county) else city
    wanted = [("admin", "admin", None), ("analyst", "analyst", city), ("county", "analyst", county),
              ("supervisor", "supervisor", city), ("viewer", "viewer", city)]
    out = []
    with wh.transaction():
        for name, role, region in wanted:
            if role != "admin" and region is None:
                continue
            if get_user(wh, name) is None:
                add_user(wh, name, password, role=role, region_code=region, actor=actor,
                         display_name=f"demo {role}")
            out.append({"username": name, "role": role, "region_code": region or "(all)", "password": password})
    return out
