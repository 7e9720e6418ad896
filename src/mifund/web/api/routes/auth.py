"""POST /api/v1/auth/token (a bearer token for a username and password), GET /api/v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Request
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
