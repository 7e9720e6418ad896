"""Annotated dependencies: the services, the user (session cookie or bearer token), permissions, CSRF,
the language, and page rendering."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from mifund.users import User
from mifund.web.errors import CsrfFailed, Forbidden, NotAuthenticated
from mifund.web.i18n import pick_lang, translator
from mifund.web.services import Services

SESSION_COOKIE = "mifund_session"
LANG_COOKIE = "mifund_lang"
LOGIN_CSRF_COOKIE = "mifund_login_csrf"

bearer = HTTPBearer(auto_error=False, description="API token from `mifund users token NAME` or POST /api/v1/auth/token")


# Dependencies are `async def` where they only read memory, so that a request hops to a worker thread
# once (for its endpoint), not once per dependency; a warehouse read on a cache miss runs in a thread.
async def get_services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(get_services)]


def _session(request: Request, svc: Services) -> tuple[User, str] | None:
    from mifund.users import session_user

    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    hit = svc.session_cache_get(sid)
    if hit is None:
        with svc.locked() as wh:
            hit = session_user(wh, sid)
        if hit is None:
            return None
        svc.session_cache_put(sid, *hit)
    return hit


async def optional_user(request: Request, svc: Svc,
                        cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User | None:
    """The user of the bearer token, else of the session cookie, else None. A bearer token that is
    wrong is an error (never silently anonymous)."""
    if cred is not None:
        from mifund.users import token_user

        user = svc.token_cache_get(cred.credentials)
        if user is None:
            def lookup():
                with svc.locked() as wh:
                    return token_user(wh, cred.credentials)

            user = await run_in_threadpool(lookup)
            if user is not None:
                svc.token_cache_put(cred.credentials, user)
        if user is None:
            raise NotAuthenticated("invalid, expired or revoked token", code="invalid_token",
                                   headers={"WWW-Authenticate": "Bearer"})
        request.state.auth = "bearer"
        return user
    sid = request.cookies.get(SESSION_COOKIE)
    hit = svc.session_cache_get(sid) if sid else None
    if hit is None and sid:
        hit = await run_in_threadpool(_session, request, svc)
    if hit is None:
        return None
    request.state.auth = "session"
    request.state.csrf = hit[1]
    return hit[0]


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotAuthenticated("log in, or send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require(permission: str):
    async def dep(user: CurrentUser) -> User:
        if not user.can(permission):
            raise Forbidden(f"your role ({user.role}) may not {permission.replace('_', ' ')}")
        return user

    return Annotated[User, Depends(dep)]


def check_csrf(request: Request, token: str | None) -> None:
    """A write made with the session cookie must carry the session's CSRF token (form field
    ``csrf_token`` or header ``X-CSRF-Token``); bearer-token requests need none."""
    if getattr(request.state, "auth", None) == "bearer":
        return
    expected = getattr(request.state, "csrf", None)
    token = token or request.headers.get("x-csrf-token")
    if not expected or not token or not secrets.compare_digest(expected, token):
        raise CsrfFailed("missing or wrong CSRF token; reload the page and try again")


def get_lang(request: Request) -> str:
    svc: Services = request.app.state.services
    return pick_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), svc.settings.default_lang)


def region_namer(svc: Services, lang: str):
    """region code -> its name in `lang` (English: name_en where the regions table has one); a code the
    table lacks shows `default`, else itself. Rows of other modules carry only the Chinese region_name."""

    def load(wh):
        regs = svc.regions()
        return {c: (zh, en if isinstance(en, str) and en.strip() else zh)
                for c, zh, en in zip(regs.region_code, regs.name, regs.name_en, strict=True)}

    i = 0 if lang == "zh" else 1

    def name(code, default: str | None = None) -> str:
        # looked up on first use: a page that names no region (login, the error page) never reads the warehouse
        hit = svc.cached("region_names", load).get(code)
        return hit[i] if hit else (default or code or "")

    return name


def render(request: Request, template: str, context: dict, *, user: User | None = None, status_code: int = 200):
    """A page in the request's language, with the navigation the user may see."""
    from mifund.web.nav import visible_nav

    lang = get_lang(request)
    t = translator(lang)
    templates = request.app.state.templates
    ctx = {"request": request, "t": t, "lang": lang, "user": user, "nav": visible_nav(user) if user else [],
           "csrf": getattr(request.state, "csrf", ""), "region_name": region_namer(request.app.state.services, lang),
           **context}
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)
