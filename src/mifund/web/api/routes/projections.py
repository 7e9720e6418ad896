"""GET /api/v1/projections: stored projection results (central path, percentiles) of your regions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from mifund.web.api.schemas import DOWNLOADS, ProjectionRunTable, ProjectionTable
from mifund.web.deps import CurrentUser, Svc
from mifund.web.export import tabular
from mifund.web.services import projection

router = APIRouter(tags=["projections"])


@router.get("/projections/runs", response_model=ProjectionRunTable, responses=DOWNLOADS, summary="Stored projection runs, newest first")
def runs(user: CurrentUser, svc: Svc, format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json"):
    if format != "json":  # a download is an export, as for every other table (the role must allow both)
        svc.require(user, "export")
    return tabular(projection.runs(svc), format, "projection_runs")


@router.get("/projections", response_model=ProjectionTable, responses=DOWNLOADS,
            summary="Projected income, expenditure, balance and its percentiles by year (your regions only)")
def results(
    user: CurrentUser, svc: Svc,
    region: Annotated[str | None, Query(max_length=12, description="Region code: this region only, not those below (default: all of yours)")] = None,
    scheme: Annotated[Literal["employee", "resident"] | None, Query(description="Insurance scheme: employee (职工) or resident (城乡居民); default: both")] = None,
    run_id: Annotated[str | None, Query(max_length=64, description="Default: every stored run")] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json",
):
    if format != "json":
        svc.require(user, "export")
    return tabular(projection.results(svc, user, region=region, scheme=scheme, run_id=run_id), format, "projections")
