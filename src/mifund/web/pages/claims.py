"""/claims/explain: a claim's settlement explained step by step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import Svc, get_lang, render, require
from mifund.web.errors import WebError
from mifund.web.i18n import translator
from mifund.web.nav import NavItem
from mifund.web.services import claims

router = APIRouter()
NAV = [NavItem("nav_explain", "/claims/explain", "explain_claims", 40)]


@router.get("/claims/explain")
def explain(request: Request, user: require("explain_claims"), svc: Svc,
            claim_id: Annotated[str | None, Query(max_length=64)] = None):
    result, error = None, None
    if claim_id:
        try:
            result = claims.explain(svc, user, claim_id.strip(), lang=get_lang(request))
        except WebError as e:
            if e.status == 403:
                raise
            # the catalogue's sentence for the code (an unknown claim and another region's read the same)
            error = translator(get_lang(request))(f"error_{e.code}", _default=e.message) if e.status == 404 else e.message
    return render(request, "explain.html", {"claim_id": claim_id or "", "result": result, "error": error}, user=user)
