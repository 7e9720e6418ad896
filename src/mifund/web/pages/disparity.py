"""/disparity: Lorenz curve, Gini and Theil indices of an indicator across the user's counties."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, render
from mifund.web.errors import NotFound
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

    asked = None
    try:
        d = disparity.disparity(svc, user, indicator=indicator, weight=weight, scheme=scheme, year=year)
    except NotFound as e:
        if e.code != "year_not_found":
            raise
        # the page shows the latest year instead, and says so above the figures (the API refuses: 404)
        asked = year
        d = disparity.disparity(svc, user, indicator=indicator, weight=weight, scheme=scheme)
    return render(request, "disparity.html", {"d": d, "indicator": indicator, "weight": weight, "scheme": scheme,
                                              "indicators": INDICATORS, "weights": WEIGHTS, "asked": asked},
                  user=user)
