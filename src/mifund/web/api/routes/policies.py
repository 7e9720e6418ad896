"""GET /api/v1/policies/compare: out of pocket and fund payment on standard inpatient profiles."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from mifund.web.api.schemas import DOWNLOADS, PolicyCompareTable
from mifund.web.deps import Svc, require
from mifund.web.errors import WebError
from mifund.web.export import tabular
from mifund.web.services import policies

router = APIRouter(tags=["policies"])


AMOUNT = r"\s*[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?\s*"
AMOUNTS_PATTERN = f"^{AMOUNT}(?:,{AMOUNT}){{0,39}}$"


def parse_amounts(text: str) -> list[float]:
    try:
        vals = [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise WebError("amounts: comma-separated numbers", code="validation_error", status=422) from None
    if not vals or len(vals) > 40 or any(not (0 < v <= 1e8) for v in vals):
        raise WebError("amounts: 1 to 40 bills, each above 0 and at most 100,000,000 yuan",
                       code="validation_error", status=422)
    return vals


@router.get("/policies/compare", response_model=PolicyCompareTable, responses=DOWNLOADS, summary="Policy comparison on standard inpatient profiles (yuan)")
def compare(
    user: require("compare_policies"), svc: Svc,
    amounts: Annotated[str, Query(max_length=500, pattern=AMOUNTS_PATTERN,
                                  description="1 to 40 inpatient bills in yuan, comma-separated")] = "5000,20000,50000,100000,300000",
    date: Annotated[dt.date | None, Query(description="Policy date (default today)")] = None,
    level: Annotated[int | None, Query(ge=1, le=3, description="Provider level")] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json",
):
    if format != "json":
        svc.require(user, "export")
    df = policies.compare(svc, user, parse_amounts(amounts), date or dt.date.today(), level=level)
    return tabular(df, format, "policy_compare", meta={"unit": "yuan"})
