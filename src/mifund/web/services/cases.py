"""Supervision cases (mifund.supervision.store): the queue, a case with its hits and history, moves
along the workflow; only cases of the user's regions."""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from mifund.supervision import store
from mifund.users import User
from mifund.web.errors import NotFound, WebError
from mifund.web.services.core import Services

STATUSES = store.STATUSES


def queue(svc: Services, user: User, *, status: list[str] | None = None, entity_type: str | None = None,
          region: str | None = None, min_score: float | None = None, limit: int = 200) -> tuple[pd.DataFrame, int]:
    """(cases ranked by expected amount, number before the limit)."""
    svc.require(user, "work_cases")
    with svc.locked() as wh:
        df = store.cases(wh, status=status, entity_type=entity_type)
    df = svc.filter_regions(user, df)
    if region:
        svc.check_region(user, region)
        df = df[df.region_code.isin(svc.subtree(region))]
    if min_score is not None:
        df = df[df.score >= min_score]
    return df.head(limit).reset_index(drop=True), len(df)


def case(svc: Services, user: User, case_id: str) -> dict:
    svc.require(user, "work_cases")
    with svc.locked() as wh:
        # a case outside the user's regions answers exactly as one that does not exist (no enumeration of
        # other regions' case ids, no region named)
        try:
            row = store.get_case(wh, case_id)
        except store.CaseError:
            row = None
        if row is None or not svc.in_scope(user, row.get("region_code")):
            raise NotFound(f"no case {case_id} in your regions", code="case_not_found")
        hits = store.case_hits(wh, case_id)
        history = store.case_history(wh, case_id)
    return {"case": row, "hits": hits, "history": history, "moves": list(store.MOVES.get(row["status"], ()))}


def move(svc: Services, user: User, case_id: str, to: str, *, amount: float | None = None,
         note: str | None = None, over_suspected: bool = False, lang: str = "en") -> dict:
    """A move (store.move_case, which checks the workflow and the amounts); a move it refuses is a 422
    case_invalid with its message in `lang` (worded for any caller: it names no command-line option) and,
    for a refusal of the store, both wordings in its details ([{"lang": "en", ...}, {"lang": "zh", ...}])."""
    case(svc, user, case_id)  # exists, and in the user's regions
    with svc.locked() as wh:
        try:
            return store.move_case(wh, case_id, to, actor=user.username, amount=amount, note=note or None,
                                   over_suspected=over_suspected)
        except store.CaseError as e:
            raise WebError(e.text(lang), code="case_invalid", status=422,
                           details=[{"lang": "en", "message": e.en}, {"lang": "zh", "message": e.zh}]) from None
        except ValueError as e:  # any other refusal of the values given
            raise WebError(str(e), code="case_invalid", status=422) from None


@lru_cache
def _shipped_rule_names() -> dict[str, tuple[str, str]]:
    from mifund.supervision.spec import default_rules

    return {r.id: (r.name_zh, r.name_en) for r in default_rules()}


def rule_namer(lang: str):
    """rule id -> its name in `lang` (the rule files' name_zh / name_en); an id no shipped rule has (a
    user's own rule file) shows as it is."""
    names = _shipped_rule_names()
    i = 0 if lang == "zh" else 1
    return lambda rule_id: names[rule_id][i] if rule_id in names else rule_id


def rule_ids(rules) -> list[str]:
    """A case's `rules` column (a JSON list of rule ids, as the store keeps it) as a list."""
    if isinstance(rules, list):
        return [str(r) for r in rules]
    if not isinstance(rules, str) or not rules.strip():
        return []
    try:
        out = json.loads(rules)
    except ValueError:
        return [r.strip() for r in rules.split(",") if r.strip()]
    return [str(r) for r in out] if isinstance(out, list) else [str(out)]
