"""/account: the signed-in user's own API tokens (listed, revocable) and password change; /tokens/revoke
also serves the Users page, where an administrator revokes the tokens of the users it administers. Logging
out ends the session only: tokens are for scripts and live until they expire or are revoked here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from mifund.web.deps import CurrentUser, Svc, check_csrf, get_lang, render
from mifund.web.errors import WebError
from mifund.web.i18n import translator
from mifund.web.services import admin, fund

router = APIRouter()


def _page(request, user, svc, error=None, done=None, status_code=200):
    tokens = admin.tokens(svc, user)
    return render(request, "account.html", {"tokens": fund.records(tokens[tokens.username == user.username]),
                                            "error": error, "done": done}, user=user, status_code=status_code)


@router.get("/account")
def account(request: Request, user: CurrentUser, svc: Svc, done: str | None = None):
    return _page(request, user, svc, done=done if done in ("password", "revoked") else None)


@router.post("/account/password")
def password(request: Request, user: CurrentUser, svc: Svc, csrf_token: Annotated[str, Form(max_length=100)],
             current: Annotated[str, Form(max_length=1024)], new: Annotated[str, Form(max_length=1024)],
             confirm: Annotated[str, Form(max_length=1024)]):
    check_csrf(request, csrf_token)
    t = translator(get_lang(request))
    if new != confirm:
        return _page(request, user, svc, error=t("password_mismatch"), status_code=422)
    try:
        admin.change_password(svc, user, current, new, client=request.client.host if request.client else None)
    except WebError as e:
        if e.status not in (422, 429):
            raise
        return _page(request, user, svc, error=e.text(t), status_code=e.status)
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/tokens/revoke")
def revoke(request: Request, user: CurrentUser, svc: Svc, csrf_token: Annotated[str, Form(max_length=100)],
           prefix: Annotated[str, Form(max_length=20)], username: Annotated[str, Form(max_length=64)] = "",
           back: Annotated[str, Form(max_length=20)] = "/account"):
    check_csrf(request, csrf_token)
    back = back if back in ("/account", "/users") else "/account"
    try:
        admin.revoke_token(svc, user, prefix, username or None)
    except WebError as e:
        if e.status != 404:
            raise
        return _page(request, user, svc, error=e.text(translator(get_lang(request))), status_code=404)
    return RedirectResponse(back + ("?done=revoked" if back == "/account" else ""), status_code=303)
