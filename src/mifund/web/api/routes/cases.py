"""/api/v1/cases: the supervision case queue, one case (hits, history), moves along the workflow."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from mifund.web.api.schemas import DOWNLOADS, CaseDetail, CaseStatus, CaseTable
from mifund.web.deps import Svc, check_csrf, require
from mifund.web.export import tabular
from mifund.web.services import cases
from mifund.web.services.fund import records

router = APIRouter(tags=["cases"])
Status = CaseStatus


@router.get("/cases", response_model=CaseTable, responses=DOWNLOADS, summary="Supervision cases of your regions, by expected amount")
def list_cases(
    user: require("work_cases"), svc: Svc,
    status: Annotated[list[Status] | None, Query(description="Statuses (repeatable)")] = None,
    entity_type: Annotated[Literal["provider", "person"] | None, Query(description="Only cases of providers, or of insured persons")] = None,
    region: Annotated[str | None, Query(max_length=12, description="Region code: this region and every region below it (default: all of yours)")] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1, description="Only cases scoring at least this (ratio, 0–1)")] = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="At most this many cases (count); `total` says how many match")] = 200,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json",
):
    if format != "json":  # a download is an export, as for every other table (the role must allow both)
        svc.require(user, "export")
    df, total = cases.queue(svc, user, status=status, entity_type=entity_type, region=region, min_score=min_score,
                            limit=limit)
    return tabular(df, format, "cases", meta={"total": total})


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="One case: its row, hits (evidence) and history")
def get_case(case_id: Annotated[str, Path(max_length=80, description="Case identifier, e.g. P:<provider id>")], user: require("work_cases"), svc: Svc):
    c = cases.case(svc, user, case_id)
    import pandas as pd

    return {"case": records(pd.DataFrame([c["case"]]))[0], "hits": records(c["hits"]),
            "history": records(c["history"]), "moves": c["moves"]}


class Move(BaseModel):
    """A move along the workflow. `amount` (yuan, to the fen) goes with `confirmed` (the amount confirmed,
    required; above the case's suspected amount only with `over_suspected` and a `note` saying why) and
    `recovered` (the amount of this recovery, required, > 0; recoveries add up to at most the confirmed
    amount); no other move takes one. A move the workflow or these rules refuse: 422 `case_invalid`."""
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"to": "in_review", "note": "medical records requested"},
        {"to": "confirmed", "amount": 2820.95, "note": "two duplicate bills confirmed"},
        {"to": "recovered", "amount": 1000}]}}
    to: Status
    amount: float | None = Field(default=None, ge=0, le=1e12, description="Yuan confirmed (confirmed) or recovered "
                                 "by this recovery (recovered); none for other moves")
    note: str | None = Field(default=None, max_length=2000)
    over_suspected: bool = Field(default=False, description="Confirm an amount above the suspected amount (needs a note)")


@router.post("/cases/{case_id}/move", summary="Move a case along the workflow (audited, with an event)")
def move(case_id: Annotated[str, Path(max_length=80, description="Case identifier, e.g. P:<provider id>")], body: Move, request: Request, user: require("work_cases"),
         svc: Svc) -> dict:
    import pandas as pd

    check_csrf(request, None)
    new = cases.move(svc, user, case_id, body.to, amount=body.amount, note=body.note,
                     over_suspected=body.over_suspected)
    return {"case": records(pd.DataFrame([new]))[0]}
