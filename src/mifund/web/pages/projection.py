"""/projection: the fan chart of a region's fund balance and the scenario comparison."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, render
from mifund.web.nav import NavItem
from mifund.web.services import fund, projection

router = APIRouter()
NAV = [NavItem("nav_projection", "/projection", "view_figures", 30)]


@router.get("/projection")
def page(request: Request, user: CurrentUser, svc: Svc,
         region: Annotated[str, Query(max_length=12)] = "",
         scheme: Annotated[str, Query(pattern="^(employee|resident|)$")] = "",
         run_id: Annotated[str, Query(max_length=64)] = ""):
    if run_id:
        projection.check_run(svc, run_id)  # an unknown run: 404, as in the API
    units = projection.units(svc, user)
    data = None
    if len(units):
        region = region or units.region_code.iloc[0]
        if not scheme:
            have = units[units.region_code == region].scheme
            scheme = "resident" if "resident" in set(have) or have.empty else have.iloc[0]
        data = projection.fan(svc, user, region, scheme, run_id or None)
    regs = svc.regions().set_index("region_code")
    choices = [(c, regs.loc[c, "name"], regs.loc[c, "name_en"]) for c in sorted(set(units.region_code))]
    return render(request, "projection.html", {"data": data, "region": region, "scheme": scheme,
                                               "choices": choices, "run_id": run_id,
                                               "levels": fund.LEVELS}, user=user)
