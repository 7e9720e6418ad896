"""/cases: the supervision case queue with filters; /cases/{id}: evidence, history and the workflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from mifund.web.deps import Svc, check_csrf, get_lang, render, require
from mifund.web.errors import WebError
from mifund.web.i18n import translator
from mifund.web.nav import NavItem
from mifund.web.services import cases
from mifund.web.services.fund import records

router = APIRouter()
NAV = [NavItem("nav_cases", "/cases", "work_cases", 45)]


@router.get("/cases")
def queue(request: Request, user: require("work_cases"), svc: Svc,
          status: Annotated[str, Query(max_length=20)] = "open",
          entity_type: Annotated[str, Query(max_length=10)] = "",
          region: Annotated[str, Query(max_length=12)] = ""):
    if status not in (*cases.STATUSES, "all"):  # an unknown status is said so, never every status shown
        t = translator(get_lang(request))
        raise WebError(f"unknown status {status!r}; one of {', '.join(cases.STATUSES)}, all", code="validation_error",
                       status=422, key="case_status_unknown",
                       params={"status": status, "statuses": t("list_sep").join(
                           [*(t(f"status_{s}") for s in cases.STATUSES), t("all")])})
    if entity_type not in ("", "provider", "person"):
        raise WebError(f"unknown subject {entity_type!r}; one of provider, person", code="validation_error",
                       status=422, key="case_entity_unknown", params={"entity": entity_type})
    st = [status] if status in cases.STATUSES else None
    df, total = cases.queue(svc, user, status=st, entity_type=entity_type or None, region=region or None)
    regs = svc.filter_regions(user, svc.regions())
    rows = [{**r, "rule_list": cases.rule_ids(r.get("rules"))} for r in records(df)]
    return render(request, "cases.html", {"rows": rows, "total": total, "status": status,
                                          "entity_type": entity_type, "region": region, "statuses": cases.STATUSES,
                                          "regions": records(regs), "rule_name": cases.rule_namer(get_lang(request))},
                  user=user)


@router.get("/cases/{case_id}")
def one(request: Request, case_id: str, user: require("work_cases"), svc: Svc):
    return _case_page(request, case_id, user, svc)


def _case_page(request: Request, case_id: str, user, svc, error: str | None = None):
    c = cases.case(svc, user, case_id)
    import pandas as pd

    return render(request, "case.html", {"c": records(pd.DataFrame([c["case"]]))[0], "hits": records(c["hits"].head(200)),
                                         "n_hits": len(c["hits"]), "history": records(c["history"]),
                                         "moves": c["moves"], "error": error,
                                         "rule_name": cases.rule_namer(get_lang(request))}, user=user,
                  status_code=422 if error else 200)


@router.post("/cases/{case_id}/move")
def move(request: Request, case_id: str, user: require("work_cases"), svc: Svc,
         csrf_token: Annotated[str, Form(max_length=100)], to: Annotated[str, Form(max_length=20)],
         amount: Annotated[str, Form(max_length=30)] = "", note: Annotated[str, Form(max_length=2000)] = "",
         over_suspected: Annotated[str, Form(max_length=10)] = ""):
    check_csrf(request, csrf_token)
    t = translator(get_lang(request))
    try:
        value = float(amount.replace(",", "")) if amount.strip() else None
    except ValueError:
        return _case_page(request, case_id, user, svc, error=t("amount_not_a_number", amount=amount))
    try:
        cases.move(svc, user, case_id, to, amount=value, note=note, over_suspected=bool(over_suspected),
                   lang=get_lang(request))
    except WebError as e:
        if e.status != 422:
            raise
        # the catalogue's sentence, then the store's reason (which names the figures)
        return _case_page(request, case_id, user, svc, error=f"{t('error_case_invalid')} {e.message}")
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
