"""Claim explanation (mifund.settlement.explain), for claims of insured persons in the user's regions."""

from __future__ import annotations

import json

import pandas as pd

from mifund.users import User
from mifund.web.errors import NotFound, WebError
from mifund.web.services.core import Services


def _prepared(svc: Services):
    def load(wh):
        from mifund.settlement import settlement_inputs

        return settlement_inputs(wh, svc.policies())

    return svc.cached("settlement_prepared", load)


def _staleness(wh, claim_id: str, run_id: str | None, stored: dict, now: dict[str, float]) -> dict:
    """Whether the stored settlement still holds: the fields whose stored amount differs from `now` (to the
    fen), the run that stored it and when, and the latest import after that run that replaced the claim or
    one of its lines (audit log). A stored figure that no longer holds says so on the page and in the API:
    the reports and cases built on that run are as old as it is."""
    differs = [k for k, v in now.items() if stored.get(k) is None or round(stored[k] * 100) != round(v * 100)]
    out = {"stored_stale": bool(differs), "stored_differs": differs, "stored_run_id": run_id,
           "stored_run_started": None, "claim_replaced_at": None}
    if run_id is None:
        return out
    r = wh.table("settlement_runs")
    started = wh.to_pandas(r.filter(r.run_id == run_id).select("started"))
    if started.empty:
        return out
    t0 = started.iloc[0]["started"]
    out["stored_run_started"] = str(t0)[:19]
    a = wh.table("audit_log")
    # record_key is DuckDB's json_object of the key columns, e.g. {"claim_id":"C1","line_no":2}
    key = f'"claim_id":{json.dumps(claim_id, ensure_ascii=False)}'
    hits = a.filter(a.table_name.isin(["claims", "claim_lines"]) & (a.action == "replace") & (a.logged_at > t0)
                    & a.record_key.contains(key))
    last = wh.to_pandas(hits.aggregate(last=hits.logged_at.max()))["last"].iloc[0]
    out["claim_replaced_at"] = None if pd.isna(last) else str(last)[:19]
    return out


def explain(svc: Services, user: User, claim_id: str, lang: str = "en") -> dict:
    """{claim_id, region_code, person_id, year, policy, lines, stored, recomputed, stored_stale ...} for one
    claim; lines in `lang`. The stored settlement is compared with the claim settled now (``_staleness``).
    NotFound for an unknown claim and for one of another region alike."""
    from mifund.settlement import SettlementError
    from mifund.settlement.explain import AMOUNT_COLUMNS, explain_with_figures

    svc.require(user, "explain_claims")
    with svc.locked():
        try:
            con, prepared, _ = _prepared(svc)
        except SettlementError as e:
            raise WebError(f"the warehouse's claims cannot be settled: {e}", code="settlement_error") from None
        hit = con.to_pandas(prepared.filter(prepared.claim_id == claim_id)
                            .select("claim_id", "region_code", "person_id", "yr", "policy_key"))
        # a claim outside the user's regions answers exactly as one that does not exist: a 403 naming its
        # region would let a county user find out which claim ids exist elsewhere, and where
        if hit.empty or not svc.in_scope(user, hit.iloc[0]["region_code"]):
            raise NotFound(f"no claim {claim_id} in your regions", code="claim_not_found")
        row = hit.iloc[0]
        # the explanation settles the claim's person-year now: its figures are what the stored row is held to
        lines, fen = explain_with_figures(con, prepared, svc.policies(), claim_id, lang=lang)
        now = {k: fen[k] / 100 for k in AMOUNT_COLUMNS}
        s = svc.wh.table("settlement")
        stored = svc.wh.to_pandas(s.filter(s.claim_id == claim_id))
        settled, stale = None, {"stored_stale": False, "stored_differs": [], "stored_run_id": None,
                                "stored_run_started": None, "claim_replaced_at": None}
        if len(stored):
            first = stored.iloc[0].to_dict()
            run_id = first.pop("run_id")
            settled = {k: (float(v) if isinstance(v, float | int) and k != "year" else str(v) if v is not None
                           else None) for k, v in first.items()}
            stale = _staleness(svc.wh, claim_id, None if pd.isna(run_id) else str(run_id), settled, now)
    return {"claim_id": claim_id, "region_code": row["region_code"], "person_id": row["person_id"],
            "year": int(row["yr"]), "policy": str(row["policy_key"]), "lines": lines, "stored": settled,
            "recomputed": now, **stale}
