"""GET /api/v1/indicators: fund indicators (annual), as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mifund.web.api.schemas import DOWNLOADS, IndicatorTable
from mifund.web.deps import CurrentUser, Svc
from mifund.web.export import tabular
from mifund.web.services import fund

router = APIRouter(tags=["indicators"])


@router.get("/indicators", response_model=IndicatorTable, responses=DOWNLOADS, summary="Fund indicators per region × year × scheme × fund (your regions only)")
def indicators(
    user: CurrentUser, svc: Svc,
    region: Annotated[str | None, Query(max_length=12, description="Region code; its subtree is included")] = None,
    year: Annotated[list[int] | None, Query(description="Years (repeatable)")] = None,
    scheme: Annotated[str | None, Query(pattern="^(total|employee|resident)$")] = None,
    fund_: Annotated[str | None, Query(alias="fund", pattern="^(total|pooled|account|combined)$")] = None,
    subtree: Annotated[bool, Query(description="Include the regions below `region`")] = True,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
):
    if format != "json":
        svc.require(user, "export")
    df = fund.indicators(svc, user, region=region, years=year, scheme=scheme, fund=fund_, subtree=subtree)
    return tabular(df, format, f"indicators_{region or 'all'}", meta={"unit": "yuan"})
