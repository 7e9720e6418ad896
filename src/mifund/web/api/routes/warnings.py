"""GET /api/v1/warnings: early warnings with their reasons (zh and en) and thresholds' sources."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from mifund.web.api.schemas import DOWNLOADS, WarningTable
from mifund.web.deps import CurrentUser, Svc
from mifund.web.export import tabular
from mifund.web.services import fund

router = APIRouter(tags=["warnings"])


@router.get("/warnings", response_model=WarningTable, responses=DOWNLOADS, summary="Early warnings (your regions only)")
def warnings(
    user: CurrentUser, svc: Svc,
    region: Annotated[str | None, Query(max_length=12, description="Region code: this region and every region below it (default: all of yours)")] = None,
    year: Annotated[list[int] | None, Query(description="Years (repeatable; default: every year)")] = None,
    level: Annotated[list[Literal["red", "orange", "yellow", "blue"]] | None, Query(description="Levels (repeatable)")] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json",
):
    if format != "json":
        svc.require(user, "export")
    df = fund.warnings(svc, user, region=region, years=year, levels=level)
    return tabular(df, format, f"warnings_{region or 'all'}")
