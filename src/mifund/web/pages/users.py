"""/users: the city administrator adds, disables and enables users (the CLI cannot open the warehouse
while the server holds it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from mifund.users import ROLES
from mifund.web.deps import Svc, check_csrf, render, require
from mifund.web.errors import WebError
from mifund.web.nav import NavItem
from mifund.web.services import admin, fund

router = APIRouter()
NAV = [NavItem("nav_users", "/users", "manage_users", 90)]


def _page(request, user, svc, error=None, status_code=200):
    return render(request, "users.html", {"users": fund.records(admin.users(svc, user)), "roles": ROLES,
                                          "regions": fund.records(svc.regions()), "error": error},
                  user=user, status_code=status_code)


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
        return _page(request, user, svc, error=e.message, status_code=422)
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
        return _page(request, user, svc, error=e.message, status_code=422)
    return RedirectResponse("/users", status_code=303)
