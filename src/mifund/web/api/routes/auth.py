"""POST /api/v1/auth/token (a bearer token for a username and password), GET /api/v1/me, and the tokens one
may revoke: GET /api/v1/auth/tokens, DELETE /api/v1/auth/tokens/{prefix}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from mifund.web.api.schemas import Me
from mifund.web.deps import CurrentUser, Svc
from mifund.web.errors import NotAuthenticated, RateLimited

router = APIRouter(tags=["auth"])


class TokenRequest(BaseModel):
    """A user's name and password for a bearer token (failed logins are rate-limited: 429)."""
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"username": "analyst", "password": "…", "name": "monthly report script", "days": 30}]}}
    username: str = Field(min_length=1, max_length=64, description="The user's name")
    password: str = Field(min_length=1, max_length=1024, description="The user's password")
    name: str | None = Field(default=None, max_length=200, description="What the token is for")
    days: float = Field(default=30, gt=0, le=366, description="Valid for this many days")


class TokenAnswer(BaseModel):
    token: str = Field(description="The bearer token: send it as `Authorization: Bearer <token>`")
    token_type: str = Field(default="bearer", description="Always `bearer`")
    username: str = Field(description="The user's name")
    role: str = Field(description="The user's role")
    region_code: str | None = Field(description="Region the user is limited to (and those below); null: all")


@router.post("/auth/token", response_model=TokenAnswer, summary="Exchange a username and password for a bearer token")
def issue_token(body: TokenRequest, request: Request, svc: Svc) -> TokenAnswer:
    from mifund.users import LoginFailed, LoginRateLimited, authenticate, create_token

    client = request.client.host if request.client else None
    with svc.locked() as wh:
        try:
            user = authenticate(wh, body.username, body.password, client=client, limits=svc.limits)
        except LoginRateLimited as e:
            raise RateLimited(str(e), headers={"Retry-After": str(e.retry_after)}) from None
        except LoginFailed:
            raise NotAuthenticated("wrong username or password", code="login_failed") from None
        token = create_token(wh, user.username, name=body.name or "api", days=body.days, actor=user.username)
    return TokenAnswer(token=token, username=user.username, role=user.role, region_code=user.region_code)


@router.get("/me", response_model=Me, summary="Who the token belongs to, and what it may do")
def me(user: CurrentUser) -> Me:
    from mifund.users import PERMISSIONS

    return Me(username=user.username, role=user.role, region_code=user.region_code, display_name=user.display_name,
              permissions=sorted(p for p in PERMISSIONS if user.can(p)))


class TokenInfo(BaseModel):
    token_prefix: str = Field(description="The token's first 10 characters (the token itself is never stored)")
    username: str = Field(description="Whose token it is")
    name: str | None = Field(description="What the token is for")
    created_at: str = Field(description="Created (local time)")
    expires_at: str = Field(description="Expires (local time)")


class TokenList(BaseModel):
    rows: list[TokenInfo] = Field(description="Live tokens: your own, and for an administrator those of the "
                                  "users it administers")


class Revoked(BaseModel):
    revoked: int = Field(description="How many tokens were revoked (count)")


@router.get("/auth/tokens", response_model=TokenList, summary="Live API tokens you may revoke")
def tokens(user: CurrentUser, svc: Svc) -> TokenList:
    from mifund.web.services import admin

    df = admin.tokens(svc, user)
    return TokenList(rows=[TokenInfo(token_prefix=r.token_prefix, username=r.username,
                                     name=None if r.name is None or r.name != r.name else str(r.name),
                                     created_at=str(r.created_at)[:19], expires_at=str(r.expires_at)[:19])
                           for r in df.itertuples()])


@router.delete("/auth/tokens/{prefix}", response_model=Revoked,
               summary="Revoke a token: your own, or (administrators) one of a user you administer")
def revoke(request: Request, user: CurrentUser, svc: Svc,
           prefix: Annotated[str, PathParam(min_length=3, max_length=20, description="The token's first "
                                            "characters, as `GET /auth/tokens` lists them")],
           username: Annotated[str | None, Query(max_length=64, description="Whose token (default: yours); "
                                                 "another user's needs an administrator of its region")] = None,
           ) -> Revoked:
    from mifund.web.deps import check_csrf
    from mifund.web.services import admin

    check_csrf(request, None)
    return Revoked(revoked=admin.revoke_token(svc, user, prefix, username))
