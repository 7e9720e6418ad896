"""/policies/compare: out-of-pocket curves of the policies on standard inpatient profiles."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.api.routes.policies import parse_amounts
from mifund.web.deps import Svc, render, require
from mifund.web.nav import NavItem
from mifund.web.services import fund, policies

router = APIRouter()
NAV = [NavItem("nav_policies", "/policies/compare", "compare_policies", 50)]


@router.get("/policies/compare")
def compare(request: Request, user: require("compare_policies"), svc: Svc,
            amounts: Annotated[str, Query(max_length=400)] = "2000,5000,10000,20000,50000,100000,200000,300000",
            date: Annotated[dt.date | None, Query()] = None,
            level: Annotated[int, Query(ge=1, le=3)] = 2):
    day = date or dt.date.today()
    df = policies.compare(svc, user, parse_amounts(amounts), day, level=level)
    return render(request, "compare.html", {"amounts": amounts, "day": day.isoformat(), "level": level,
                                            "rows": fund.records(df), "chart": policies.chart(df),
                                            "policy_dir": str(svc.policy_dir())}, user=user)
