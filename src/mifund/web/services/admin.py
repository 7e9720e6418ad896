"""Imports through the browser (the CLI's validation: mifund.ingest.import_paths), the audit log, users.

An administrator with a region (e.g. a county's) administers that region's subtree only, as every other
role sees only its subtree:

* users: it lists, adds, disables and enables only users whose region lies in its subtree; a user it adds
  needs such a region (never an unscoped user, never one wider than itself);
* imports: every row it imports must lie in its subtree (and so must every row it would replace); one row
  outside refuses the whole import, naming file, row and region. Tables without regions of their own
  (the city's drug catalogue) are the city administrator's; claims and their lines count as the region
  where the insured person is enrolled (the importer applies this itself: ``mifund.ingest.scope``);
* the audit log and the import batches: only entries made by users of its subtree.

The city administrator (admin without a region) does all of this for every region.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from mifund.users import User
from mifund.web.errors import ImportRejected, WebError
from mifund.web.services.core import Services

UNITS = ("yuan", "wan", "yi")


class UserInvalid(WebError):
    """A refused change of users: 422 user_invalid, or 403 region_forbidden for a user or region outside
    the administrator's regions; `key`/`params` give the pages' catalogue line (user_error_<reason>)."""

    status, code = 422, "user_invalid"


def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    return re.sub(r"[^\w.\-]", "_", base)[:120] or "upload"


def _scope_names(svc: Services, user: User) -> list[str] | None:
    """Usernames of the users whose region lies in `user`'s scope (None: every user)."""
    from mifund.users import list_users

    scope = svc.scope(user)  # the regions it administers; None: every region
    if scope is None:
        return None
    with svc.locked() as wh:
        df = list_users(wh)
    return sorted(df.loc[df.region_code.isin(scope), "username"])


# -- imports -----------------------------------------------------------------------------------------
def reason_text(issue: dict, t) -> str:
    """An import issue's reason in a page's language (`t`), where the issue carries a catalogue key
    (``ingest.scope.REASONS``); else its reason as it is (the importer's own words, naming columns and values)."""
    reason = issue.get("reason") or ""
    key = issue.get("key")
    return t(key, reason, **(issue.get("params") or {})) if key else reason


_CLI_WORDS = ((re.compile(r"give --table \("), "choose the table ("),
              (re.compile(r"\s*\(--strict: warnings count as errors\)"), " (strict: warnings count as errors)"))


def _plain(text: str, labels: dict[str, str]) -> str:
    """A message of the importer as an upload's page says it: the uploaded file's own name for the
    server's temporary copy, no command-line options."""
    for tmp, name in labels.items():
        text = text.replace(tmp, name)
    for pattern, repl in _CLI_WORDS:
        text = pattern.sub(repl, text)
    return text


def import_files(svc: Services, user: User, files: list[tuple[str, object]], *, table: str | None = None,
                 unit: str = "yuan", strict: bool = False) -> dict:
    """`files`: (original name, binary file object). All files in one transaction, as `mifund import`.
    A region-scoped administrator imports only rows of its regions (see the module's docstring)."""
    from mifund.ingest import ImportFailed, import_paths, load_or_create_id_key

    svc.require(user, "import_data")
    if unit not in UNITS:
        raise WebError(f"unit must be one of {', '.join(UNITS)}", code="validation_error", status=422)
    if not files:
        raise WebError("no file uploaded", code="validation_error", status=422)
    scope = svc.scope(user)  # the regions it administers; None: every region
    tmp = Path(tempfile.mkdtemp(prefix="mifund-upload-"))
    try:
        paths, labels = [], {}
        limit = svc.settings.max_upload_mb * 1024 * 1024
        for i, (name, fh) in enumerate(files):
            d = tmp / str(i)
            d.mkdir()
            p = d / _safe_name(name)
            with p.open("wb") as out:
                shutil.copyfileobj(fh, out)
            if p.stat().st_size > limit:
                raise WebError(f"{Path(name).name}: larger than {svc.settings.max_upload_mb} MB",
                               code="upload_too_large", status=413)
            paths.append(p)
            labels[p] = Path(name).name
        by_text = {str(p): n for p, n in sorted(labels.items(), key=lambda kv: -len(str(kv[0])))}
        key = load_or_create_id_key(svc.settings)
        with svc.locked() as wh:
            try:
                report = import_paths(wh, paths, table=table or None, unit=unit, actor=user.username, id_key=key,
                                      strict=strict, allowed_regions=scope, scope_label=user.region_code or "",
                                      _labels=labels)
            except ImportFailed as e:
                raise ImportRejected(
                    _plain(str(e).splitlines()[0], by_text),
                    details=[{**i.as_dict(), "file": by_text.get(i.file, Path(i.file).name) if i.file else i.file,
                              "reason": _plain(i.reason, by_text)} for i in e.issues],
                    params={"n": e.total},
                ) from None
            finally:
                svc.invalidate()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "batch_id": report.batch_id,
        "files": [{"file": Path(f.file).name, "table": f.table, "rows": f.rows_read, "inserted": f.inserted,
                   "replaced": f.replaced, "unchanged": f.unchanged} for f in report.files],
        "warnings": [{**w.as_dict(), "file": by_text.get(w.file, Path(w.file).name) if w.file else w.file,
                      "reason": _plain(w.reason, by_text)} for w in report.warnings],
    }


def import_batches(svc: Services, user: User, limit: int = 50) -> pd.DataFrame:
    """Recent import batches: every one for the city administrator, else those made by users of the
    administrator's regions."""
    svc.require(user, "import_data")
    names = _scope_names(svc, user)
    with svc.locked() as wh:
        b = wh.table("import_batches")
        if names is not None:
            b = b.filter(b.actor.isin(names))
        return wh.to_pandas(b.order_by(b.logged_at.desc()).limit(limit).drop("warnings"))


def audit_log(svc: Services, user: User, *, limit: int = 100, offset: int = 0, action: str | None = None,
              actor: str | None = None) -> tuple[pd.DataFrame, int]:
    """Entries newest first: every one for the city administrator, else those made by users of the
    administrator's regions (its own included)."""
    svc.require(user, "read_audit")
    names = _scope_names(svc, user)
    with svc.locked() as wh:
        a = wh.table("audit_log")
        if names is not None:
            a = a.filter(a.actor.isin(names))
        if action:
            a = a.filter(a.action == action)
        if actor:
            a = a.filter(a.actor == actor)
        total = int(wh.to_pandas(a.aggregate(n=a.count()))["n"].iloc[0])
        df = wh.to_pandas(a.order_by(a.audit_id.desc()).limit(limit, offset=offset))
    return df, total


# -- users -------------------------------------------------------------------------------------------
def users(svc: Services, user: User) -> pd.DataFrame:
    """Users the administrator manages: all, or those whose region lies in its regions."""
    from mifund.users import list_users

    svc.require(user, "manage_users")
    with svc.locked() as wh:
        df = list_users(wh)
    scope = svc.scope(user)  # the regions it administers; None: every region
    if scope is not None:
        df = df[df.region_code.isin(scope)].reset_index(drop=True)
    return df


def manageable_regions(svc: Services, user: User) -> pd.DataFrame:
    """Regions a user added by `user` may be given (region_code, name, name_en, ...)."""
    return svc.filter_regions(user, svc.regions())


def _user_error(e) -> UserInvalid:
    return UserInvalid(str(e), key=f"user_error_{e.reason}", params=e.params)


def add_user(svc: Services, user: User, **kw) -> None:
    """Add a user. A region-scoped administrator adds users of its regions only: a region is required and
    must lie in its subtree (so never an unscoped user, never a wider scope than its own)."""
    from mifund.users import UserError, add_user

    svc.require(user, "manage_users")
    scope = svc.scope(user)  # the regions it administers; None: every region
    region = kw.get("region_code")
    if scope is not None:
        if not region:
            raise UserInvalid(f"you administer {user.region_code} and below: a user you add needs a region there",
                              key="user_error_region_required", params={"scope": user.region_code})
        if region in svc.parents() and region not in scope:
            raise UserInvalid(f"region {region} is outside your regions ({user.region_code} and below)",
                              code="region_forbidden", status=403, key="user_error_region_outside",
                              params={"region": region, "scope": user.region_code})
    with svc.locked() as wh:
        try:
            add_user(wh, actor=user.username, **kw)
        except UserError as e:
            raise _user_error(e) from None


def set_disabled(svc: Services, user: User, username: str, disabled: bool) -> None:
    """Disable or enable a user; a region-scoped administrator only users of its regions (any other user
    answers as an unknown one: no list of the city's usernames through refusals)."""
    from mifund.users import UserError, get_user, set_disabled

    svc.require(user, "manage_users")
    if username == user.username and disabled:
        raise UserInvalid("you cannot disable yourself", key="user_error_disable_self")
    scope = svc.scope(user)  # the regions it administers; None: every region
    with svc.locked() as wh:
        if scope is not None:
            target = get_user(wh, username)
            if target is None or target.region_code not in scope:
                raise UserInvalid(f"no user {username!r} in your regions", key="user_error_no_user",
                                  params={"username": username})
        try:
            set_disabled(wh, username, disabled, actor=user.username)
        except UserError as e:
            raise _user_error(e) from None
    svc.session_cache_drop(username=username)



# -- API tokens and one's own password (the CLI cannot open the warehouse while the server holds it, so
# without these a leaked token could only be stopped by disabling its user) ------------------------------
def tokens(svc: Services, user: User) -> pd.DataFrame:
    """Live tokens (token_prefix, username, name, created_at, expires_at) the user may revoke: its own, and
    for an administrator those of the users it administers (all, or those of its regions)."""
    from mifund.users import list_tokens, list_users

    with svc.locked() as wh:
        df = list_tokens(wh)
        if user.can("manage_users"):
            scope = svc.scope(user)
            people = list_users(wh)
            mine = set(people.username) if scope is None else set(people[people.region_code.isin(scope)].username)
        else:
            mine = set()
    keep = df.username.isin(mine | {user.username})
    return df[keep].sort_values(["username", "created_at"]).reset_index(drop=True)


def revoke_token(svc: Services, user: User, prefix: str, username: str | None = None) -> int:
    """Revoke `username`'s live tokens starting with `prefix` (default: the user's own). Another user's only
    by an administrator of that user's region; any other answers as an unknown token (no probing of which
    users or prefixes exist). The token stops working at once (the server's token cache is dropped)."""
    from mifund.users import UserError, get_user, revoke_token

    username = username or user.username
    not_yours = UserInvalid(f"no live token starting {prefix!r} among yours", key="user_error_no_token",
                            params={"prefix": prefix}, status=404, code="token_not_found")
    with svc.locked() as wh:
        if username != user.username:
            scope = svc.scope(user)
            target = get_user(wh, username) if user.can("manage_users") else None
            if target is None or (scope is not None and target.region_code not in scope):
                raise not_yours
        try:
            n = revoke_token(wh, prefix, actor=user.username, username=username)
        except UserError:
            raise not_yours from None
    svc.session_cache_drop(username=username)
    return n


def change_password(svc: Services, user: User, current: str, new: str, client: str | None = None) -> None:
    """The user sets its own password, after giving the current one (so a session left open is not enough
    to take the account over); a wrong current password counts as a failed login (rate-limited). Audited
    as password_set. Open sessions and tokens stay (revoke tokens on the same page)."""
    from mifund.users import LoginFailed, LoginRateLimited, UserError, authenticate, set_password
    from mifund.web.errors import RateLimited

    with svc.locked() as wh:
        try:
            authenticate(wh, user.username, current, client=client, limits=svc.limits)
        except LoginRateLimited as e:
            raise RateLimited(str(e), headers={"Retry-After": str(e.retry_after)}) from None
        except LoginFailed:
            raise UserInvalid("the current password is wrong", key="user_error_password_wrong") from None
        try:
            set_password(wh, user.username, new, actor=user.username)
        except UserError as e:
            raise _user_error(e) from None
