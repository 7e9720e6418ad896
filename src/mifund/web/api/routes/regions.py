"""GET /api/v1/regions: the region tree the user may see, with the worst warning level of a year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from mifund.web.api.schemas import RegionSeries, RegionTree
from mifund.web.deps import CurrentUser, Svc
from mifund.web.services import fund

router = APIRouter(tags=["regions"])


@router.get("/regions", response_model=RegionTree, summary="Region tree (your regions) coloured by warning level")
def regions(user: CurrentUser, svc: Svc,
            year: Annotated[int | None, Query(ge=1900, le=2200, description="Default: the latest year; a year without figures: 404 year_not_found")] = None) -> dict:
    ov = fund.overview(svc, user, year)
    return {"year": ov["year"], "years": ov["years"], "regions": ov["roots"]}


@router.get("/regions/{region_code}/series", response_model=RegionSeries, summary="Income, expenditure, balance, months of payment capacity by year")
def series(region_code: Annotated[str, Path(max_length=12, description="Region code (one of your regions)")],
           user: CurrentUser, svc: Svc,
           scheme: Annotated[str, Query(pattern="^(total|employee|resident)$", description="Scheme: total, employee (职工) or resident (城乡居民)")] = "total") -> dict:
    return fund.region_series(svc, user, region_code, scheme)
