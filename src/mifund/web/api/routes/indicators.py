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
    scheme: Annotated[str | None, Query(pattern="^(total|employee|resident)$", description="Scheme: total, employee (职工) or resident (城乡居民); default: every scheme")] = None,
    fund_: Annotated[str | None, Query(alias="fund", pattern="^(total|pooled|account|combined)$", description="Fund: total, pooled (统筹基金), account (个人账户) or combined; default: every fund")] = None,
    subtree: Annotated[bool, Query(description="Include the regions below `region`")] = True,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json",
):
    if format != "json":
        svc.require(user, "export")
    df = fund.indicators(svc, user, region=region, years=year, scheme=scheme, fund=fund_, subtree=subtree)
    return tabular(df, format, f"indicators_{region or 'all'}", meta={"unit": "yuan"})
