"""Imports through the browser (the CLI's validation: mifund.ingest.import_paths), the audit log, users.

An administrator with a region (e.g. a county's) administers that region's subtree only, as every other
role sees only its subtree:

* users: it lists, adds, disables and enables only users whose region lies in its subtree; a user it adds
  needs such a region (never an unscoped user, never one wider than itself);
* imports: every row it imports must lie in its subtree (and so must every row it would replace); one row
  outside refuses the whole import, naming file, row and region. Tables without regions of their own
  (the city's drug catalogue) are the city administrator's; claims and their lines count as the region
  where the insured person is enrolled;
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
SHOWN_OUTSIDE = 200  # rows outside the administrator's regions named in a refusal; the rest are counted


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
# Refusals of an import the pages say in their own language: catalogue key -> the English reason (the
# API's), with {placeholders}; reason_text() finds the key of a reason again.
REASONS = {
    "import_reason_outside_region": "region outside your regions ({scope} and below)",
    "import_reason_outside_provider": "region outside your regions, or the provider is another region's "
                                      "({scope} and below)",
    "import_reason_outside_regions": "only regions within your own, or new ones below them, can be imported, "
                                     "and none moved ({scope} and below)",
    "import_reason_outside_claim": "the insured person is not enrolled in your regions ({scope} and below)",
    "import_reason_catalog": "the catalogue is the whole city's: only the city administrator imports it "
                             "({scope} and below are yours)",
    "import_reason_no_table": "cannot tell the table from the file name or its header; choose the table "
                              "({tables})",
    "import_reason_file_type": "unsupported file type (use .csv, .xlsx, .xls or .parquet)",
}
_REASON_RE = {k: re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(v))) for k, v in REASONS.items()}


def reason_text(reason: str, t) -> str:
    """An import issue's reason in a page's language (`t`), where the catalogue has it; else as it is."""
    for key, rx in _REASON_RE.items():
        if m := rx.fullmatch(reason or ""):
            return t(key, reason, **m.groupdict())
    return reason


def _outside_rows(wh, table: str, stage: str, scope: frozenset[str]) -> tuple[pd.DataFrame, str, str]:
    """Rows of a staged import outside `scope`: (expression of _row, value; column; REASONS key). A row is
    outside when its region is, and when the row it would replace (same key) is: moving another region's
    provider into one's own county replaces that region's row."""
    s = wh.table(stage)
    codes = sorted(scope)
    if table in ("population", "fund_ledger", "enrollment"):  # the key holds the region
        bad = s.filter(~s.region_code.isin(codes))
        return bad.select("_row", value=bad.region_code), "region_code", "import_reason_outside_region"
    if table == "providers":
        t = wh.table("providers")
        old = t.select(provider_id=t.provider_id, old_region=t.region_code)
        j = s.left_join(old, s.provider_id == old.provider_id)
        bad = j.filter(~j.region_code.isin(codes) | (j.old_region.notnull() & ~j.old_region.isin(codes)))
        value = bad.old_region.notnull().ifelse(bad.old_region.cast("string").concat(" → ", bad.region_code),
                                                  bad.region_code)
        return (bad.select("_row", value=value), "region_code", "import_reason_outside_provider")
    if table == "regions":
        t = wh.table("regions")
        old = t.select(old_code=t.region_code, old_parent=t.parent_code)
        j = s.left_join(old, s.region_code == old.old_code)
        same_parent = (j.parent_code == j.old_parent) | (j.parent_code.isnull() & j.old_parent.isnull())
        ok = (j.old_code.notnull() & j.region_code.isin(codes) & same_parent) | (
            j.old_code.isnull() & j.parent_code.isin(codes))
        bad = j.filter(~ok)
        return (bad.select("_row", value=bad.region_code), "region_code", "import_reason_outside_regions")
    if table in ("claims", "claim_lines"):
        e = wh.table("enrollment")
        outside = e.filter(~e.region_code.isin(codes)).select("person_id").distinct()
        known = e.select("person_id").distinct()
        c = wh.table("claims")
        if table == "claims":  # the claim, and the one it replaces
            old = c.select(old_claim=c.claim_id, old_person=c.person_id)
            j = s.left_join(old, s.claim_id == old.old_claim)
            rows = j.select("_row", "claim_id", "person_id", "old_person")
        else:  # the lines' claims are in the warehouse by now (claims are imported first, in this transaction)
            cc = c.select(line_claim=c.claim_id, person_id=c.person_id)
            j = s.left_join(cc, s.claim_id == cc.line_claim)
            rows = j.select("_row", "claim_id", "person_id", old_person=j.person_id)
        bad = rows.filter(rows.person_id.isnull()
                          | rows.person_id.isin(outside.person_id) | ~rows.person_id.isin(known.person_id)
                          | rows.old_person.isin(outside.person_id))
        return (bad.select("_row", value=bad.claim_id), "claim_id", "import_reason_outside_claim")
    return s.select("_row", value=s._row.cast("string")).limit(0), "", "import_reason_outside_region"


class _ScopedWarehouse:
    """The warehouse as an import by a region-scoped administrator uses it: every upsert (one per file, in
    the import's one transaction) first checks the staged rows against the administrator's regions and
    fails the import, naming the rows, if any lies outside. Everything else is the warehouse's own."""

    def __init__(self, wh, scope: frozenset[str], root: str):
        self._wh, self._scope, self._root = wh, scope, root

    def __getattr__(self, name):
        return getattr(self._wh, name)

    def append(self, name: str, data):
        # fail closed: rows reach a contract table only through upsert (checked above); an importer that
        # wrote them some other way would bypass the check
        from mifund.contract import TABLES

        if name in TABLES:
            raise RuntimeError(f"an import by a region-scoped administrator writes {name} only through upsert")
        return self._wh.append(name, data)

    def upsert(self, name: str, source: str, key, *, actor: str, batch_id: str, detail: str | None = None):
        from mifund.ingest import ImportFailed
        from mifund.ingest.report import ImportIssue

        label = (detail or "").removeprefix("import ")
        if name == "catalog":
            raise ImportFailed([ImportIssue(label, None, None,
                                            REASONS["import_reason_catalog"].format(scope=self._root))])
        bad, column, reason = _outside_rows(self._wh, name, source, self._scope)
        n = int(self._wh.to_pandas(bad.aggregate(n=bad.count()))["n"].iloc[0])
        if n:
            rows = self._wh.to_pandas(bad.order_by("_row").limit(SHOWN_OUTSIDE))
            raise ImportFailed([ImportIssue(label, int(row), column, REASONS[reason].format(scope=self._root),
                                            value=None if pd.isna(value) else str(value))
                                for row, value in zip(rows["_row"], rows["value"], strict=True)], more=n - len(rows))
        return self._wh.upsert(name, source, key, actor=actor, batch_id=batch_id, detail=detail)


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
            target = wh if scope is None else _ScopedWarehouse(wh, scope, user.region_code)
            try:
                report = import_paths(target, paths, table=table or None, unit=unit, actor=user.username, id_key=key,
                                      strict=strict, _labels=labels)
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

