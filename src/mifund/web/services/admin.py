"""Imports through the browser (the CLI's validation: mifund.ingest.import_paths), the audit log, users."""

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


def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    return re.sub(r"[^\w.\-]", "_", base)[:120] or "upload"


def import_files(svc: Services, user: User, files: list[tuple[str, object]], *, table: str | None = None,
                 unit: str = "yuan", strict: bool = False) -> dict:
    """`files`: (original name, binary file object). All files in one transaction, as `mifund import`."""
    from mifund.ingest import ImportFailed, import_paths, load_or_create_id_key

    svc.require(user, "import_data")
    if unit not in UNITS:
        raise WebError(f"unit must be one of {', '.join(UNITS)}", code="validation_error", status=422)
    if not files:
        raise WebError("no file uploaded", code="validation_error", status=422)
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
                raise WebError(f"{name}: larger than {svc.settings.max_upload_mb} MB", code="upload_too_large", status=413)
            paths.append(p)
            labels[p] = Path(name).name
        key = load_or_create_id_key(svc.settings)
        with svc.locked() as wh:
            try:
                report = import_paths(wh, paths, table=table or None, unit=unit, actor=user.username, id_key=key,
                                      strict=strict, _labels=labels)
            except ImportFailed as e:
                raise ImportRejected(
                    str(e).splitlines()[0],
                    details=[{**i.as_dict(), "file": Path(i.file).name if i.file else i.file} for i in e.issues],
                ) from None
            finally:
                svc.invalidate()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "batch_id": report.batch_id,
        "files": [{"file": Path(f.file).name, "table": f.table, "rows": f.rows_read, "inserted": f.inserted,
                   "replaced": f.replaced, "unchanged": f.unchanged} for f in report.files],
        "warnings": [{**w.as_dict(), "file": Path(w.file).name if w.file else w.file} for w in report.warnings],
    }


def import_batches(svc: Services, user: User, limit: int = 50) -> pd.DataFrame:
    svc.require(user, "import_data")
    with svc.locked() as wh:
        b = wh.table("import_batches")
        return wh.to_pandas(b.order_by(b.logged_at.desc()).limit(limit).drop("warnings"))


def audit_log(svc: Services, user: User, *, limit: int = 100, offset: int = 0, action: str | None = None,
              actor: str | None = None) -> tuple[pd.DataFrame, int]:
    svc.require(user, "read_audit")
    with svc.locked() as wh:
        a = wh.table("audit_log")
        if action:
            a = a.filter(a.action == action)
        if actor:
            a = a.filter(a.actor == actor)
        total = int(wh.to_pandas(a.aggregate(n=a.count()))["n"].iloc[0])
        df = wh.to_pandas(a.order_by(a.audit_id.desc()).limit(limit, offset=offset))
    return df, total


def users(svc: Services, user: User) -> pd.DataFrame:
    from mifund.users import list_users

    svc.require(user, "manage_users")
    with svc.locked() as wh:
        return list_users(wh)


def add_user(svc: Services, user: User, **kw) -> None:
    from mifund.users import UserError, add_user

    svc.require(user, "manage_users")
    with svc.locked() as wh:
        try:
            add_user(wh, actor=user.username, **kw)
        except UserError as e:
            raise WebError(str(e), code="user_invalid", status=422) from None


def set_disabled(svc: Services, user: User, username: str, disabled: bool) -> None:
    from mifund.users import UserError, set_disabled

    svc.require(user, "manage_users")
    if username == user.username and disabled:
        raise WebError("you cannot disable yourself", code="user_invalid", status=422)
    with svc.locked() as wh:
        try:
            set_disabled(wh, username, disabled, actor=user.username)
        except UserError as e:
            raise WebError(str(e), code="user_invalid", status=422) from None
    svc.session_cache_drop(username=username)
