"""/policies/compare: out-of-pocket curves of the policies on standard inpatient profiles."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.api.routes.policies import parse_amounts
from mifund.web.deps import Svc, get_lang, region_namer, render, require
from mifund.web.i18n import translator
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
    lang = get_lang(request)
    t = translator(lang)
    region_name = region_namer(svc, lang)

    rows = [{**r, "region_name": region_name(r["region_code"])} for r in fund.records(df)]
    # the page compares one provider level: a series is a region and an insured category (which implies the scheme)
    chart = policies.chart(df, lambda reg, _scheme, cat, _lvl: f"{region_name(reg)} · {t('cat_' + cat, cat)}")
    compared = policies.compared_policies(svc, user, day)
    # a policy's name is its document's (Chinese) title; English pages name it by region and scheme
    names = [p["name"] if lang == "zh" else f"{region_name(p['region_code'])} {t('scheme_' + p['scheme'])}"
             for p in compared["names"]]
    return render(request, "compare.html", {"amounts": amounts, "day": day.isoformat(), "level": level,
                                            "rows": rows, "chart": chart,
                                            "compared": {"names": names, "demo": compared["demo"]}}, user=user)
