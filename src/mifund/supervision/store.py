"""Hits, cases and case history in the warehouse (tables of migration 0004).

API::

    from mifund.supervision.store import store_screen, move_case, cases, case_history, recovered_report

    run_id = store_screen(wh, screen(wh, rules), actor="alice")   # hits upserted, cases opened / updated
    move_case(wh, "P:SYN3601020001", "in_review", actor="bob", note="records requested")
    move_case(wh, "P:SYN3601020001", "confirmed", actor="bob", amount=2820.95)
    move_case(wh, "P:SYN3601020001", "recovered", actor="bob", amount=2820.95)

A hit belongs to the case of its provider (``P:<provider_id>``) or person (``R:<person_id>``), as its rule's
``case_by`` says. Storing a screen is one transaction: hits are upserted by hit_id (changed ones to the
audit log), every case touched is recomputed from all its hits (hits, claims, rules, suspected amount,
score = 1 - prod(1 - best score of each rule)), new cases open with an ``opened`` event, and existing cases
that got new hits get a ``hits`` event; their status is never changed by a screen. A move is one
transaction too: the case row (audited) and an event with user, time, amount and note.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import ibis
import pandas as pd
import pyarrow as pa

from mifund.supervision.engine import ScreenResult

STATUSES = ("open", "in_review", "confirmed", "dismissed", "recovered")
MOVES: dict[str, tuple[str, ...]] = {
    "open": ("in_review", "dismissed"),
    "in_review": ("confirmed", "dismissed", "open"),
    "confirmed": ("recovered", "in_review"),
    "dismissed": ("open",),
    "recovered": (),
}
CASE_COLUMNS = ["case_id", "entity_type", "entity_id", "region_code", "status", "hits", "claims", "rules",
                "suspected_amount", "score", "confirmed_amount", "recovered_amount", "opened_at", "updated_at"]


class CaseError(ValueError):
    """A case that does not exist, or a move the workflow does not allow."""


def _upsert(wh, name: str, data: pa.Table | pd.DataFrame, key: list[str], *, actor: str, batch_id: str, detail: str):
    stage = wh.create_stage(name)
    try:
        wh.append(stage, data)
        return wh.upsert(name, stage, key, actor=actor, batch_id=batch_id, detail=detail)
    finally:
        wh.drop_stage(stage)


def _case_ids(hits: ibis.Table) -> ibis.Table:
    prov = hits.case_by == "provider"
    return hits.mutate(case_id=ibis.ifelse(prov, "P:" + hits.provider_id.fill_null("?"),
                                           "R:" + hits.person_id.fill_null("?")))


def _case_aggregates(wh, case_ids: pa.Table) -> pd.DataFrame:
    """Recomputed figures of the given cases from all their stored hits."""
    h = wh.table("supervision_hits")
    h = h.semi_join(ibis.memtable(case_ids), "case_id")
    per_rule = h.group_by(["case_id", "rule_id"]).aggregate(best=h.score.max())
    pr = per_rule.group_by("case_id").aggregate(
        log_keep=(1 - ibis.least(per_rule.best, 0.999)).ln().sum(), rules=per_rule.rule_id.collect(order_by=per_rule.rule_id))
    agg = h.group_by("case_id").aggregate(
        entity_type=h.case_by.arbitrary(), entity_id=ibis.ifelse(h.case_by.arbitrary() == "provider",
                                                               h.provider_id.arbitrary(), h.person_id.arbitrary()),
        hits=h.count(), claims=h.claim_id.nunique(), suspected_amount=h.amount_at_stake.sum())
    j = agg.join(pr, "case_id")
    df = wh.to_pandas(j.mutate(score=(1 - j.log_keep.exp()).round(4)).drop("log_keep"))
    df["rules"] = df.rules.map(lambda v: json.dumps(list(v)))
    return df


def _regions(wh, df: pd.DataFrame) -> pd.Series:
    p = wh.to_pandas(wh.table("providers").select("provider_id", "region_code")).set_index("provider_id").region_code
    e = wh.table("enrollment")
    w = ibis.window(group_by="person_id", order_by=[ibis.desc(e.year), ibis.ifelse(e.scheme == "employee", 0, 1),
                                                     e.region_code])
    e = e.mutate(nth=ibis.row_number().over(w))
    latest = e.filter(e.nth == 0).select("person_id", "region_code")
    persons = df.loc[df.entity_type == "person", "entity_id"]
    if len(persons):
        sel = latest.semi_join(ibis.memtable(pd.DataFrame({"person_id": persons.unique()})), "person_id")
        r = wh.to_pandas(sel).set_index("person_id").region_code
    else:
        r = pd.Series(dtype=object)
    return pd.Series([p.get(i) if t == "provider" else r.get(i) for t, i in zip(df.entity_type, df.entity_id,
                                                                                 strict=True)], index=df.index)


def store_screen(wh, result: ScreenResult, *, actor: str) -> str:
    """Store a screen's hits and roll them up into cases; returns the run id. All or nothing."""
    run_id = f"V{dt.datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now()
    hits = ibis.memtable(result.hits)
    hits = _case_ids(hits).mutate(run_id=ibis.literal(run_id))
    rows = hits.to_pyarrow()
    with wh.transaction():
        before = set(wh.to_pandas(wh.table("supervision_hits").select("hit_id")).hit_id)
        new_per_case = rows.to_pandas().loc[lambda d: ~d.hit_id.isin(before)].groupby("case_id").size()
        stats = _upsert(wh, "supervision_hits", rows, ["hit_id"], actor=actor, batch_id=run_id,
                        detail=f"supervision screen {run_id}")
        touched = pa.table({"case_id": sorted(set(rows.column("case_id").to_pylist()))})
        cases_df = _case_aggregates(wh, touched) if touched.num_rows else pd.DataFrame()
        opened = 0
        if len(cases_df):
            old = wh.to_pandas(wh.table("supervision_cases")).set_index("case_id")
            cases_df["region_code"] = _regions(wh, cases_df)
            is_old = cases_df.case_id.isin(old.index)
            for col, default in (("status", "open"), ("confirmed_amount", None), ("recovered_amount", None),
                                 ("opened_at", now)):
                cases_df[col] = [old.at[c, col] if o else default for c, o in zip(cases_df.case_id, is_old, strict=True)]
            cases_df["updated_at"] = now
            _upsert(wh, "supervision_cases", cases_df[CASE_COLUMNS], ["case_id"], actor=actor, batch_id=run_id,
                    detail=f"supervision screen {run_id}")
            ev = []
            for c, o in zip(cases_df.case_id, is_old, strict=True):
                n_new = int(new_per_case.get(c, 0))
                if not o:
                    opened += 1
                    ev.append({"case_id": c, "event_at": now, "actor": actor, "action": "opened", "to_status": "open",
                               "note": f"{n_new} hit(s)", "run_id": run_id})
                elif n_new:
                    ev.append({"case_id": c, "event_at": now, "actor": actor, "action": "hits",
                               "note": f"{n_new} new hit(s)", "run_id": run_id})
            if ev:
                wh.append("supervision_case_events", pd.DataFrame(ev))
        failures = {r.rule_id: r.error for r in result.failures}
        wh.append("supervision_runs", pa.Table.from_pylist([{
            "run_id": run_id, "started": now, "actor": actor, "rules": json.dumps([r.rule_id for r in result.runs]),
            "hits": rows.num_rows, "amount_at_stake": round(sum(r.amount_at_stake for r in result.runs), 2),
            "failures": json.dumps(failures, ensure_ascii=False), "input_problems": json.dumps(result.input_problems,
                                                                                                ensure_ascii=False),
        }]))
        wh.audit("supervise", actor=actor, table_name="supervision_runs", record_key={"run_id": run_id},
                 batch_id=run_id, detail=json.dumps({"hits": rows.num_rows, "hits_stats": vars(stats),
                                                     "cases_touched": len(cases_df), "cases_opened": opened,
                                                     "failures": failures}, ensure_ascii=False))
    return run_id


def cases(wh, *, status: list[str] | None = None, entity_type: str | None = None) -> pd.DataFrame:
    """Cases ranked by expected amount (score x suspected amount), then score."""
    c = wh.table("supervision_cases")
    if status:
        c = c.filter(c.status.isin(status))
    if entity_type:
        c = c.filter(c.entity_type == entity_type)
    c = c.mutate(priority=(c.score * c.suspected_amount.cast("float64")).round(2))
    c = c.order_by([c.priority.desc(), c.score.desc(), c.case_id])
    df = wh.to_pandas(c)
    df.insert(0, "rank", range(1, len(df) + 1))
    return df


def get_case(wh, case_id: str) -> dict:
    c = wh.table("supervision_cases")
    rows = wh.to_pandas(c.filter(c.case_id == case_id))
    if not len(rows):
        raise CaseError(f"no case {case_id!r} (see `mifund supervise cases`)")
    return rows.iloc[0].to_dict()


def case_hits(wh, case_id: str) -> pd.DataFrame:
    h = wh.table("supervision_hits")
    h = h.filter(h.case_id == case_id).order_by([ibis.desc("score"), ibis.desc("amount_at_stake"), "hit_id"])
    return wh.to_pandas(h.drop("case_id", "case_by"))


def case_history(wh, case_id: str) -> pd.DataFrame:
    e = wh.table("supervision_case_events")
    return wh.to_pandas(e.filter(e.case_id == case_id).order_by("event_id"))


def move_case(wh, case_id: str, to: str, *, actor: str, amount: float | None = None, note: str | None = None) -> dict:
    """Move a case along the workflow (MOVES); `amount` is required for recovered (the sum recovered)
    and optional for confirmed (the amount confirmed). Returns the new case row."""
    if to not in STATUSES:
        raise CaseError(f"unknown status {to!r}; one of {', '.join(STATUSES)}")
    case = get_case(wh, case_id)
    frm = case["status"]
    if to not in MOVES[frm]:
        allowed = ", ".join(MOVES[frm]) or "none (final)"
        raise CaseError(f"case {case_id} is {frm}; it can move to: {allowed}")
    if amount is not None and amount < 0:
        raise CaseError("amount must not be negative")
    if to == "recovered" and not amount:
        raise CaseError("recovered needs --amount (yuan recovered, > 0)")
    now = dt.datetime.now()
    new = {k: case[k] for k in CASE_COLUMNS}
    new.update(status=to, updated_at=now)
    if to == "confirmed" and amount is not None:
        new["confirmed_amount"] = amount
    if to == "recovered":
        new["recovered_amount"] = amount
    for k in ("confirmed_amount", "recovered_amount", "suspected_amount"):
        new[k] = None if new[k] is None or pd.isna(new[k]) else round(float(new[k]), 2)
    batch = f"case-{uuid.uuid4().hex[:8]}"
    with wh.transaction():
        _upsert(wh, "supervision_cases", pd.DataFrame([new])[CASE_COLUMNS], ["case_id"], actor=actor, batch_id=batch,
                detail=f"case {case_id}: {frm} -> {to}")
        wh.append("supervision_case_events", pd.DataFrame([{
            "case_id": case_id, "event_at": now, "actor": actor, "action": "move", "from_status": frm, "to_status": to,
            "amount": amount, "note": note}]))
        wh.audit("case_move", actor=actor, table_name="supervision_cases", record_key={"case_id": case_id},
                 old_values={"status": frm}, new_values={"status": to, "amount": amount}, batch_id=batch, detail=note)
    return new


def recovered_report(wh, by: tuple[str, ...] = ("region_code", "rule_id")) -> pd.DataFrame:
    """Suspected, confirmed and recovered amounts by region and rule. A case's confirmed and recovered
    amounts are shared among its rules in proportion to each rule's suspected amount (by hit count
    where the case has no amount at stake)."""
    h = wh.table("supervision_hits")
    per = h.group_by(["case_id", "rule_id"]).aggregate(suspected=h.amount_at_stake.cast("float64").sum(),
                                                       hits=h.count())
    c = wh.table("supervision_cases").select("case_id", "region_code", "status", "confirmed_amount",
                                             "recovered_amount")
    j = per.join(c, "case_id")
    w = ibis.window(group_by="case_id")
    tot, n = j.suspected.sum().over(w), j.hits.sum().over(w)
    share = ibis.ifelse(tot > 0, j.suspected / tot, j.hits.cast("float64") / n)
    j = j.mutate(confirmed=j.confirmed_amount.cast("float64").fill_null(0) * share,
                 recovered=j.recovered_amount.cast("float64").fill_null(0) * share)
    g = j.group_by(list(by)).aggregate(
        cases=j.case_id.nunique(), hits=j.hits.sum(), suspected_amount=j.suspected.sum().round(2),
        cases_confirmed=j.case_id.nunique(where=j.status.isin(["confirmed", "recovered"])),
        confirmed_amount=j.confirmed.sum().round(2),
        cases_recovered=j.case_id.nunique(where=j.status == "recovered"), recovered_amount=j.recovered.sum().round(2))
    return wh.to_pandas(g.order_by([ibis.desc("recovered_amount"), *by]))
