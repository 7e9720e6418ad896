"""Login (rate-limited, CSRF-protected), logout, language switch."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from mifund.web.deps import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    OptionalUser,
    Svc,
    check_csrf,
    render,
)
from mifund.web.errors import CsrfFailed
from mifund.web.i18n import LANGS

router = APIRouter()


def safe_next(path: str | None) -> str:
    """Only a local path (no scheme, no //host) may be a redirect target."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", {"next": safe_next(next), "login_csrf": token, "error": None})
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                    secure=request.app.state.services.settings.cookie_secure)
    return resp


@router.post("/login")
def login(request: Request, svc: Svc, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)], csrf_token: Annotated[str, Form(max_length=100)],
          next: Annotated[str, Form(max_length=500)] = "/"):
    from mifund.users import LoginFailed, LoginRateLimited, authenticate, create_session

    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        raise CsrfFailed("the login form expired; reload the page")
    client = request.client.host if request.client else None
    error, status = None, 200
    with svc.locked() as wh:
        try:
            user = authenticate(wh, username, password, client=client, limits=svc.limits)
            sid, csrf = create_session(wh, user, client=client, hours=svc.settings.session_hours)
            svc.session_cache_put(sid, user, csrf)
        except LoginRateLimited as e:
            error, status = ("login_rate_limited", {"seconds": e.retry_after}), 429
        except LoginFailed:
            error, status = ("login_failed", {}), 401
    if error:
        token = secrets.token_urlsafe(24)
        resp = render(request, "login.html", {"next": safe_next(next), "login_csrf": token, "error": error},
                      status_code=status)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=svc.settings.cookie_secure)
        return resp
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=svc.settings.cookie_secure,
                    max_age=int(svc.settings.session_hours * 3600), path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, user: CurrentUser, svc: Svc, csrf_token: Annotated[str, Form(max_length=100)]):
    from mifund.users import end_session

    check_csrf(request, csrf_token)
    sid = request.cookies.get(SESSION_COOKIE, "")
    with svc.locked() as wh:
        end_session(wh, sid, actor=user.username)
    svc.session_cache_drop(sid=sid)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str, next: str | None = None):
    resp = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGS:
        resp.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400, path="/",
                        secure=request.app.state.services.settings.cookie_secure)
    return resp
