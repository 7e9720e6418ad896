"""/audit: the audit log, newest first, filtered by action and actor, paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import Svc, render, require
from mifund.web.nav import NavItem
from mifund.web.services import admin, fund

router = APIRouter()
NAV = [NavItem("nav_audit", "/audit", "read_audit", 80)]
PAGE = 50
# the actions the application writes to the audit log (each has a name in the catalogues: action_<code>)
ACTIONS = ("import", "replace", "settle", "project", "supervise", "case_move", "user_add", "user_disable",
           "user_enable", "password_set", "token_create", "token_revoke", "login", "login_failed",
           "login_refused", "session_start", "logout")


@router.get("/audit")
def audit(request: Request, user: require("read_audit"), svc: Svc,
          page: Annotated[int, Query(ge=1, le=10**6)] = 1,
          action: Annotated[str | None, Query(max_length=40)] = None,
          actor: Annotated[str | None, Query(max_length=64)] = None):
    df, total = admin.audit_log(svc, user, limit=PAGE, offset=(page - 1) * PAGE, action=action or None,
                                actor=actor or None)
    return render(request, "audit.html", {"rows": fund.records(df), "total": total, "page": page,
                                          "pages": max(1, -(-total // PAGE)), "action": action or "",
                                          "actor": actor or "", "actions": ACTIONS}, user=user)
