"""/pooling: pooling-mode comparison on the city's historic ledgers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mifund.web.deps import CurrentUser, Svc, get_lang, render
from mifund.web.errors import WebError
from mifund.web.i18n import translator
from mifund.web.nav import NavItem
from mifund.web.services import pooling
from mifund.web.services.fund import records

router = APIRouter()
NAV = [NavItem("nav_pooling", "/pooling", "view_figures", 33)]


@router.get("/pooling")
def page(request: Request, user: CurrentUser, svc: Svc, city: Annotated[str, Query(max_length=12)] = "",
         scheme: Annotated[str, Query(pattern="^(resident|employee)$")] = "resident"):
    cities = pooling.cities(svc, user)
    rows, error, detail, status = [], None, None, 200
    if cities:
        city = city or cities[0]
        try:
            rows = records(pooling.compare(svc, user, city, scheme))
        except WebError as e:
            if e.status == 403:
                raise
            # in the page's language; the comparison's own (English) reason only as a detail
            t = translator(get_lang(request))
            if e.code == "region_not_found":
                error = t("pooling_no_region", city=city)
            else:
                error = e.text(t)
                detail = None if e.key else e.message
            status = e.status
    line_months, line_level = _safety_line()
    return render(request, "pooling.html", {"cities": cities, "city": city, "scheme": scheme, "rows": rows,
                                            "error": error, "error_detail": detail, "line_months": line_months,
                                            "line_level": line_level}, user=user, status_code=status)


def _safety_line() -> tuple[float | None, str]:
    """The line the comparison's "years below" uses (the mode file's level of payable_months_low), shown on
    the page: the region pages' safety line is another level of the same rule."""
    from mifund.pooling.params import SafetyLine, load_modes, safety_line_months

    try:
        mf = load_modes()
        return safety_line_months(mf), (mf.safety_line or SafetyLine()).level
    except Exception:  # noqa: BLE001 - the note is an aid; the table still shows without it
        return None, "red"
