"""/ : the region tree and the treemap overview, coloured by each region's worst warning level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, render
from mifund.web.nav import NavItem
from mifund.web.services import fund

router = APIRouter()
NAV = [NavItem("nav_overview", "/", "view_figures", 10)]


@router.get("/")
def overview(request: Request, user: CurrentUser, svc: Svc,
             year: Annotated[int | None, Query(ge=1900, le=2200)] = None):
    ov = fund.overview(svc, user, year)
    warn = fund.warnings(svc, user, years=[ov["year"]] if ov["year"] else None)
    return render(request, "overview.html", {"ov": ov, "warnings": fund.records(warn.head(50)),
                                             "n_warnings": len(warn), "levels": fund.LEVELS}, user=user)
