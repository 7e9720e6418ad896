"""GET /api/v1/audit: the audit log (administrators; one with a region: entries of its regions' users)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mifund.web.api.schemas import DOWNLOADS, AuditTable
from mifund.web.deps import Svc, require
from mifund.web.export import tabular
from mifund.web.services import admin

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=AuditTable, responses=DOWNLOADS, summary="Audit log, newest first (an administrator with a region: entries of its regions' users)")
def audit(user: require("read_audit"), svc: Svc,
          limit: Annotated[int, Query(ge=1, le=5000, description="Entries per page (count), newest first")] = 100,
          offset: Annotated[int, Query(ge=0, le=10**9, description="Entries to skip, for the next pages (count)")] = 0,
          action: Annotated[str | None, Query(max_length=40, description="Only this action, e.g. import, replace, login, case_move")] = None,
          actor: Annotated[str | None, Query(max_length=64, description="Only entries made by this username")] = None,
          format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json"):
    df, total = admin.audit_log(svc, user, limit=limit, offset=offset, action=action, actor=actor)
    return tabular(df, format, "audit_log", meta={"total": total, "offset": offset})
