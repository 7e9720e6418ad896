"""Supervision cases (mifund.supervision.store): the queue, a case with its hits and history, moves
along the workflow; only cases of the user's regions."""

from __future__ import annotations

import pandas as pd

from mifund.users import User
from mifund.web.errors import NotFound, RegionForbidden, WebError
from mifund.web.services.core import Services


def _store():
    from mifund.supervision import store

    return store


def queue(svc: Services, user: User, *, status: list[str] | None = None, entity_type: str | None = None,
          region: str | None = None, min_score: float | None = None, limit: int = 200) -> tuple[pd.DataFrame, int]:
    """(cases ranked by expected amount, number before the limit)."""
    svc.require(user, "work_cases")
    with svc.locked() as wh:
        df = _store().cases(wh, status=status, entity_type=entity_type)
    df = svc.filter_regions(user, df)
    if region:
        svc.check_region(user, region)
        df = df[df.region_code.isin(svc.subtree(region))]
    if min_score is not None:
        df = df[df.score >= min_score]
    return df.head(limit).reset_index(drop=True), len(df)


def case(svc: Services, user: User, case_id: str) -> dict:
    store = _store()
    svc.require(user, "work_cases")
    with svc.locked() as wh:
        try:
            row = store.get_case(wh, case_id)
        except store.CaseError:
            raise NotFound(f"no case {case_id}", code="case_not_found") from None
        region, scope = row.get("region_code"), svc.scope(user)
        if scope is not None and not (isinstance(region, str) and region in scope):
            raise RegionForbidden(f"case {case_id} belongs to region {region}, outside your regions")
        hits = store.case_hits(wh, case_id)
        history = store.case_history(wh, case_id)
    return {"case": row, "hits": hits, "history": history, "moves": list(store.MOVES.get(row["status"], ()))}


def move(svc: Services, user: User, case_id: str, to: str, *, amount: float | None = None,
         note: str | None = None) -> dict:
    store = _store()
    case(svc, user, case_id)  # exists, and in the user's regions
    with svc.locked() as wh:
        try:
            return store.move_case(wh, case_id, to, actor=user.username, amount=amount, note=note or None)
        except store.CaseError as e:
            raise WebError(str(e), code="case_invalid", status=422) from None


STATUSES = ("open", "in_review", "confirmed", "dismissed", "recovered")
