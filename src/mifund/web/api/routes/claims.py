"""GET /api/v1/claims/{claim_id}/explanation: every step of a claim's settlement."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from mifund.web.api.schemas import ClaimExplanation
from mifund.web.deps import Svc, require
from mifund.web.services import claims

router = APIRouter(tags=["settlement"])


@router.get("/claims/{claim_id}/explanation", response_model=ClaimExplanation,
            summary="Explanation of benefits for one claim (insured in your regions)")
def explanation(claim_id: str = Path(max_length=64, description="Claim identifier (结算单号)"), *, user: require("explain_claims"), svc: Svc,
                lang: Annotated[Literal["en", "zh"], Query(description="Language of the lines")] = "en") -> dict:
    return claims.explain(svc, user, claim_id, lang=lang)
