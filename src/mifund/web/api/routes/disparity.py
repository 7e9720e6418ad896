"""GET /api/v1/disparity: Lorenz curve, Gini and Theil of an indicator across the counties you may see."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from mifund.web.api.schemas import Disparity
from mifund.web.deps import CurrentUser, Svc
from mifund.web.services import disparity

router = APIRouter(tags=["disparity"])
Indicator = Literal["financing_per_capita", "fiscal_subsidy_per_capita", "expenditure_per_capita",
                    "reimbursement_ratio", "payable_months", "insured_rate"]


@router.get("/disparity", response_model=Disparity, response_model_exclude_unset=True,
            summary="Regional disparity of an indicator among your counties (weighted)")
def get_disparity(
    user: CurrentUser, svc: Svc,
    indicator: Annotated[Indicator, Query(description="The indicator compared across the counties (one of the listed names)")] = "expenditure_per_capita",
    weight: Annotated[Literal["population", "insured", "equal"], Query(description="Weight of each county: its population, its insured persons, or equal")] = "population",
    scheme: Annotated[Literal["resident", "employee"], Query(description="Insurance scheme: resident (城乡居民) or employee (职工)")] = "resident",
    year: Annotated[int | None, Query(ge=1900, le=2200, description="Lorenz curve year (default: latest); a year without figures: 404 year_not_found")] = None,
) -> dict:
    return disparity.disparity(svc, user, indicator=indicator, weight=weight, scheme=scheme, year=year)
