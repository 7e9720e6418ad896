"""/disparity: Lorenz curve and Gini / Theil of an indicator across the counties the user may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, render
from mifund.web.nav import NavItem
from mifund.web.services import disparity

router = APIRouter()
NAV = [NavItem("nav_disparity", "/disparity", "view_figures", 35)]


@router.get("/disparity")
def page(request: Request, user: CurrentUser, svc: Svc,
         indicator: Annotated[str, Query(max_length=40)] = "expenditure_per_capita",
         weight: Annotated[str, Query(pattern="^(population|insured|equal)$")] = "population",
         scheme: Annotated[str, Query(pattern="^(resident|employee)$")] = "resident",
         year: Annotated[int | None, Query(ge=1900, le=2200)] = None):
    from mifund.disparity.data import INDICATORS, WEIGHTS

    d = disparity.disparity(svc, user, indicator=indicator, weight=weight, scheme=scheme, year=year)
    return render(request, "disparity.html", {"d": d, "indicator": indicator, "weight": weight, "scheme": scheme,
                                              "indicators": INDICATORS, "weights": WEIGHTS}, user=user)
