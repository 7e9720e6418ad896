"""/users: the administrator adds, disables and enables users (the CLI cannot open the warehouse while the
server holds it). A region-scoped administrator manages the users of its regions only (services/admin.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from mifund.users import ROLES
from mifund.web.deps import Svc, check_csrf, get_lang, render, require
from mifund.web.errors import WebError
from mifund.web.i18n import translator
from mifund.web.nav import NavItem
from mifund.web.services import admin, fund

router = APIRouter()
NAV = [NavItem("nav_users", "/users", "manage_users", 90)]


def _page(request, user, svc, error=None, status_code=200):
    return render(request, "users.html", {"users": fund.records(admin.users(svc, user)), "roles": ROLES,
                                          "tokens": fund.records(admin.tokens(svc, user)),
                                          "regions": fund.records(admin.manageable_regions(svc, user)),
                                          "all_regions": user.all_regions, "error": error},
                  user=user, status_code=status_code)


def _refused(request, user, svc, e: WebError):
    """The users page again with the refusal in the page's language (422, or 403 outside one's regions)."""
    return _page(request, user, svc, error=e.text(translator(get_lang(request))), status_code=e.status)


@router.get("/users")
def users(request: Request, user: require("manage_users"), svc: Svc):
    return _page(request, user, svc)


@router.post("/users")
def add(request: Request, user: require("manage_users"), svc: Svc,
        csrf_token: Annotated[str, Form(max_length=100)], username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)], role: Annotated[str, Form(max_length=20)],
        region_code: Annotated[str, Form(max_length=12)] = "", display_name: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    try:
        admin.add_user(svc, user, username=username, password=password, role=role, region_code=region_code or None,
                       display_name=display_name or None)
    except WebError as e:
        if e.status not in (403, 422):
            raise
        return _refused(request, user, svc, e)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}/{action}")
def toggle(request: Request, username: str, action: str, user: require("manage_users"), svc: Svc,
           csrf_token: Annotated[str, Form(max_length=100)]):
    check_csrf(request, csrf_token)
    if action not in ("disable", "enable"):
        raise WebError("action must be disable or enable", code="not_found", status=404)
    try:
        admin.set_disabled(svc, user, username, action == "disable")
    except WebError as e:
        if e.status not in (403, 422):
            raise
        return _refused(request, user, svc, e)
    return RedirectResponse("/users", status_code=303)
