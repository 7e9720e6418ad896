"""/region/{code}: income, expenditure, balance and months of payment capacity over the years; warnings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, render
from mifund.web.services import fund

router = APIRouter()


@router.get("/region/{code}")
def region(request: Request, code: str, user: CurrentUser, svc: Svc,
           scheme: Annotated[str, Query(pattern="^(total|employee|resident)$")] = "total",
           all_years: Annotated[bool, Query(description="Warnings of every year (default: the latest)")] = False):
    series = fund.region_series(svc, user, code, scheme)   # checks the region against the user's scope
    regs = svc.regions().set_index("region_code")
    reg = regs.loc[code]
    warn = fund.warnings(svc, user, region=code, subtree=False)
    latest = int(warn.year.max()) if len(warn) else None
    if not all_years and latest is not None:
        warn = warn[warn.year == latest]
    warn = warn.sort_values(["year", "level"], ascending=[False, True], key=lambda s: s.map(fund.SEVERITY)
                            if s.name == "level" else s)
    children = [c for c in svc.children_of(code) if svc.in_scope(user, c)]
    parent = svc.parent_of(code)
    parent = parent if parent and svc.in_scope(user, parent) else None
    return render(request, "region.html", {
        "code": code, "reg": reg, "series": series, "warnings": fund.records(warn), "scheme": scheme,
        "schemes": fund.SCHEMES, "all_years": all_years, "latest": latest, "children": [(c, regs.loc[c]) for c in children], "parent": parent,
        "parent_reg": regs.loc[parent] if parent else None,
    }, user=user)
