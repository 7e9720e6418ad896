"""/ : the region tree and the treemap overview, coloured by each region's worst warning level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, render
from mifund.web.errors import NotFound
from mifund.web.nav import NavItem
from mifund.web.services import fund

router = APIRouter()
NAV = [NavItem("nav_overview", "/", "view_figures", 10)]
SHOWN = 50  # warnings listed unless every one is asked for (all_warnings)


@router.get("/")
def overview(request: Request, user: CurrentUser, svc: Svc,
             year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
             all_warnings: Annotated[bool, Query(description="List every warning of the year")] = False):
    try:
        ov = fund.overview(svc, user, year)
    except NotFound as e:
        if e.code != "year_not_found":
            raise
        # a year without data: say so (404), never show every region as without warnings
        ov = {"year": year, "years": fund.years(svc), "roots": [], "nodes": {}}
        return render(request, "overview.html", {"ov": ov, "missing": e, "warnings": [], "n_warnings": 0,
                                                 "all_warnings": False, "levels": fund.LEVELS}, user=user,
                      status_code=404)
    warn = fund.warnings(svc, user, years=[ov["year"]] if ov["year"] else None)
    # most severe first (stable: the rules' order within a level), so that the first SHOWN are the ones to read
    warn = warn.sort_values("level", key=lambda s: s.map(fund.SEVERITY), kind="stable")
    shown = warn if all_warnings else warn.head(SHOWN)
    return render(request, "overview.html", {"ov": ov, "missing": None, "warnings": fund.records(shown),
                                             "n_warnings": len(warn), "all_warnings": all_warnings,
                                             "levels": fund.LEVELS}, user=user)
