"""Hits, cases and case history in the warehouse (tables of migration 0004).

API::

    from mifund.supervision.store import store_screen, move_case, cases, case_history, recovered_report

    run_id = store_screen(wh, screen(wh, rules), actor="alice")   # hits upserted, cases opened / updated
    move_case(wh, "P:SYN3601020001", "in_review", actor="bob", note="records requested")
    move_case(wh, "P:SYN3601020001", "confirmed", actor="bob", amount=2820.95)
    move_case(wh, "P:SYN3601020001", "recovered", actor="bob", amount=2820.95)

A hit belongs to a case of its provider (``P:<provider_id>``) or person (``R:<person_id>``), as its rule's
``case_by`` says. Storing a screen is one transaction: hits are upserted by hit_id (only new and changed ones
are written; changed ones go to the audit log; ``run_id`` is the screen that found a hit as it now reads),
every case touched is recomputed from all its hits (hits, claims, rules, suspected amount, score =
1 - prod(1 - best score of each rule); the suspected amount counts each claim line or claim once however
many rules hit it, see :func:`rule_suspected`), new cases open with an ``opened`` event, and existing cases that got
new hits get a ``hits`` event; their status is never changed by a screen. A screen replaces the evidence of
the rules it ran (without error): a stored hit of such a rule that it no longer finds (the claim was
corrected or deleted, or the rule's parameters changed) is taken out of its open or in-review case
(``case_id`` set to NULL, the hit as it was kept in the audit log), the case's figures are recomputed and a
``hits`` event says how many; so suspected amounts can go down as well as up.

A decided case (confirmed, dismissed, recovered) is history: a screen never adds hits to it nor rewrites
the hits it was decided on. New hits of its provider or person open a new case (``P:<id>#2``, ``#3`` ...)
whose ``previous_case_id`` names the earlier one, and the earlier case's history notes it. When a case is
confirmed, each rule's share of the confirmed amount is fixed (``supervision_case_rules``, in proportion to
the rule's part of the suspected amount, by hit count where the case has none; to the fen by largest remainder);
recoveries are split by the same shares, so the recovered report never re-splits money already confirmed.
A decided case keeps the hits it was decided on even when a later screen no longer finds them; its history
gets a note saying how many no longer hold (once per change of that count), for a supervisor to check.

A move is one transaction too: the case row (audited) and an event with user, time, amount and note.
Amounts (yuan, rounded half up to the fen before they are judged): ``confirmed`` needs the amount confirmed (>= 0; above the suspected amount only
when the caller says so explicitly, with a note saying why: the review may find more than the rules
flagged); ``recovered`` needs the amount of this recovery (> 0): recoveries may be partial, each is an event,
they add up and their sum never exceeds the confirmed amount (the case is ``recovered`` from the first one;
further ones may follow until the confirmed amount is reached); a recovery recorded by mistake (a
bounced payment, the wrong case, a mistyped amount) is never edited: a ``recovered`` move with a negative
amount and a note reverses that much of the recoveries (never below 0 in all), an event and an audit row
like any other (all of it reversed, the case is ``confirmed`` again); no other move takes an amount. Moving a
confirmed case back to ``in_review`` clears its confirmed amount (the history keeps it).

Texts are kept in English and Chinese (the bureau's supervisors read Chinese): each hit's ``evidence`` and
``evidence_zh``, the notes a screen writes in the history (``note`` and ``note_zh``; a person's note is
kept as written, ``note_zh`` NULL), and refusals (:class:`CaseError` ``.en`` / ``.zh``). A NULL Chinese
text (rows stored before migration 0007) is shown in English.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import numbers
import re
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
    "recovered": ("recovered",),  # a further (partial) recovery, up to the confirmed amount
}
ENTITY_TYPES = ("provider", "person")  # a case's entity_type: its rule's case_by
ACTIVE = ("open", "in_review")  # a screen adds hits to these; the others are decided
CASE_COLUMNS = ["case_id", "entity_type", "entity_id", "region_code", "status", "hits", "claims", "rules",
                "suspected_amount", "score", "confirmed_amount", "recovered_amount", "opened_at", "updated_at",
                "previous_case_id"]
_FIGURES = ["entity_type", "entity_id", "region_code", "hits", "claims", "rules", "suspected_amount", "score"]


STATUS_ZH = {"open": "待处理", "in_review": "核查中", "confirmed": "已确认", "dismissed": "已排除", "recovered": "已追回"}
# what a refused move lacks (CaseError.hint): an amount; leave to confirm above the suspected amount
HINTS = ("amount", "over_suspected")


class CaseError(ValueError):
    """A case that does not exist, or a move the workflow does not allow (the message is shown as it is
    by the CLI and the web pages, so it names no command-line option). It carries the message in English
    (``str(e)``, ``e.en``) and in Chinese (``e.zh``): supervisors read Chinese; ``e.text(lang)`` picks.
    ``e.hint`` names what the move lacks where giving it would do, for a caller to say how it is given
    (one of ``HINTS``; None otherwise)."""

    def __init__(self, en: str, zh: str | None = None, *, hint: str | None = None):
        super().__init__(en)
        self.en, self.zh = en, zh or en
        self.hint = hint

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def _status_zh(statuses) -> str:
    return "、".join(STATUS_ZH.get(x, x) for x in statuses)


def _upsert(wh, name: str, data: pa.Table | pd.DataFrame, key: list[str], *, actor: str, batch_id: str, detail: str):
    stage = wh.create_stage(name)
    try:
        wh.append(stage, data)
        return wh.upsert(name, stage, key, actor=actor, batch_id=batch_id, detail=detail)
    finally:
        wh.drop_stage(stage)


def _entity_keys(hits: ibis.Table) -> ibis.Table:
    """The base case id of each hit's provider (P:<id>) or person (R:<id>)."""
    prov = hits.case_by == "provider"
    return hits.mutate(entity_key=ibis.ifelse(prov, "P:" + hits.provider_id.fill_null("?"),
                                              "R:" + hits.person_id.fill_null("?")))


def _assign_cases(wh, keys: pd.DataFrame) -> pd.DataFrame:
    """For each incoming hit (hit_id, entity_key): its case_id, whether it is frozen (already stored in a
    decided case: left as it was), new (not stored before) and, for a hit opening a case after a decided
    one, that case (previous_case_id). Vectorised over the hits; one row per case of the entity is read."""
    h = wh.table("supervision_hits").select("hit_id", old_case="case_id")
    c = wh.table("supervision_cases").select("case_id", "status")
    stored = wh.to_pandas(h.left_join(c, h.old_case == c.case_id).select("hit_id", "old_case",
                                                                           old_status="status"))
    k = keys.merge(stored.drop_duplicates("hit_id"), on="hit_id", how="left")
    k["new"] = k.old_case.isna()
    k["frozen"] = ~k.new & k.old_status.notna() & ~k.old_status.isin(ACTIVE)
    allc = wh.to_pandas(c)
    allc["entity_key"] = allc.case_id.str.replace(r"#\d+$", "", regex=True)
    allc["seq"] = pd.to_numeric(allc.case_id.str.extract(r"#(\d+)$")[0], errors="coerce").fillna(1).astype(int)
    latest = (allc.sort_values(["entity_key", "seq"]).groupby("entity_key").tail(1)
              .rename(columns={"case_id": "latest_case", "status": "latest_status"}))
    k = k.merge(latest[["entity_key", "latest_case", "latest_status", "seq"]], on="entity_key", how="left")
    none_yet = k.latest_case.isna()
    follow = ~none_yet & ~k.latest_status.isin(ACTIVE)
    nxt = k.entity_key + "#" + (k.seq.fillna(1).astype(int) + 1).astype(str)
    k["case_id"] = k.old_case.where(~k.new, k.entity_key.where(none_yet, k.latest_case.where(~follow, nxt)))
    k["previous_case_id"] = k.latest_case.where(k.new & follow)
    return k[["hit_id", "case_id", "new", "frozen", "previous_case_id"]]


def _changed_hits(wh, rows: pa.Table) -> pa.Table:
    """The rows that are new or differ from the stored hit in anything but run_id (a screen of unchanged
    data writes nothing and logs no replacement)."""
    stage = wh.create_stage("supervision_hits")
    try:
        wh.append(stage, rows)
        s, t = wh.table(stage), wh.table("supervision_hits")
        same = [s[c].identical_to(t[c]) for c in s.columns if c != "run_id"]
        return wh.to_arrow(s.anti_join(t, same))
    finally:
        wh.drop_stage(stage)


def _stale_hits(wh, found_ids: pa.Array, ran: list[str]) -> pd.DataFrame:
    """The stored hits of a case (with the case's status) whose rule ran in this screen without error but
    which it no longer found: the claim was corrected or deleted, or the rule's parameters changed."""
    h = wh.table("supervision_hits")
    h = h.filter(h.case_id.notnull() & h.rule_id.isin(ran or [""]))
    h = h.anti_join(ibis.memtable(pa.table({"hit_id": found_ids})), "hit_id")
    c = wh.table("supervision_cases").select(c_case="case_id", c_status="status")
    j = h.join(c, h.case_id == c.c_case)
    return wh.to_pandas(j.select(*h.columns, "c_status"), decimals_as_float=False)


def _gone_notes(wh, case_ids: list[str]) -> dict[str, int]:
    """The count of the latest "no longer found" note of each decided case (so a screen that finds the
    same evidence gone again writes no second note)."""
    if not case_ids:
        return {}
    e = wh.table("supervision_case_events")
    e = e.filter(e.case_id.isin(case_ids) & (e.action == "note") & e.note.contains(" no longer found"))
    df = wh.to_pandas(e.select("case_id", "event_id", "note").order_by("event_id"))
    return {c: int(re.match(r"\d+", n).group()) for c, n in zip(df.case_id, df.note, strict=True)
            if re.match(r"\d+", n)}


def rule_suspected(h: ibis.Table) -> ibis.Table:
    """Each rule's part of its case's suspected amount (case_id, rule_id, suspected), counting every claim
    line and claim once per case, however many rules hit it: the parts of a case add up to its suspected
    amount. A line hit by several (line-level) rules counts for the largest of their amounts, split among
    them in proportion to their amounts; a claim counts for the largest of its claim-level amounts, or
    for the sum of its lines' amounts where that is larger (its lines are part of it), split among all
    the rules that hit it in proportion to what each puts in doubt there. A hit of no claim (a person's
    duplicate enrolment) counts by itself. A rule that hits one claim twice (the two stays of a
    readmission) counts its largest amount there."""
    h = h.mutate(unit=h.claim_id.fill_null("hit " + h.hit_id), line=h.line_no.fill_null(-1),
                 a=h.amount_at_stake.cast("float64").fill_null(0.0))
    # a rule's amount on a line (line-level rules) or claim (the others)
    r = h.group_by(["case_id", "rule_id", "unit", "line"]).aggregate(a=h.a.max())
    lines = r.filter(r.line >= 0)
    per_line = lines.group_by(["case_id", "unit", "line"]).aggregate(top=lines.a.max(), tot=lines.a.sum())
    r = r.left_join(per_line, ["case_id", "unit", "line"]).select(r, "top", "tot")
    r = r.mutate(w=ibis.ifelse(r.line >= 0, ibis.ifelse(r.tot > 0, r.a * r.top / r.tot, 0.0), r.a))
    # a rule's weight on a claim; the claim's amount counted once
    r = r.group_by(["case_id", "rule_id", "unit"]).aggregate(w=r.w.sum(), is_line=(r.line >= 0).max())
    per_claim = r.group_by(["case_id", "unit"]).aggregate(
        claim_top=r.w.max(where=~r.is_line).fill_null(0.0), line_sum=r.w.sum(where=r.is_line).fill_null(0.0),
        wsum=r.w.sum())
    r = r.join(per_claim, ["case_id", "unit"]).select(r, "claim_top", "line_sum", "wsum")
    counted = ibis.greatest(r.claim_top, r.line_sum)
    r = r.mutate(part=ibis.ifelse(r.wsum > 0, r.w * counted / r.wsum, 0.0))
    return r.group_by(["case_id", "rule_id"]).aggregate(suspected=r.part.sum())


def _case_aggregates(wh, case_ids: pa.Table) -> pd.DataFrame:
    """Recomputed figures of the given cases from all their stored hits."""
    h = wh.table("supervision_hits")
    h = h.semi_join(ibis.memtable(case_ids), "case_id")
    per_rule = h.group_by(["case_id", "rule_id"]).aggregate(best=h.score.max())
    pr = per_rule.group_by("case_id").aggregate(
        log_keep=(1 - ibis.least(per_rule.best, 0.999)).ln().sum(), rules=per_rule.rule_id.collect(order_by=per_rule.rule_id))
    rs = rule_suspected(h)
    sus = rs.group_by("case_id").aggregate(suspected_amount=rs.suspected.sum().round(2))
    agg = h.group_by("case_id").aggregate(
        entity_type=h.case_by.arbitrary(), entity_id=ibis.ifelse(h.case_by.arbitrary() == "provider",
                                                               h.provider_id.arbitrary(), h.person_id.arbitrary()),
        hits=h.count(), claims=h.claim_id.nunique())
    j = agg.join(pr, "case_id").join(sus, "case_id")
    df = wh.to_pandas(j.mutate(score=(1 - j.log_keep.exp()).round(4)).drop("log_keep"))
    df["rules"] = df.rules.map(lambda v: json.dumps(list(v)))
    # a case none of whose hits is found any more: nothing left to suspect (it stays in the queue, at the
    # bottom, until someone closes it; its history says why)
    empty = [c for c in case_ids.column("case_id").to_pylist() if c not in set(df.case_id)]
    if empty:
        c = wh.table("supervision_cases")
        left = wh.to_pandas(c.filter(c.case_id.isin(empty)).select("case_id", "entity_type", "entity_id"))
        left = left.assign(hits=0, claims=0, rules="[]", suspected_amount=0.0, score=0.0)
        df = pd.concat([df, left[df.columns]], ignore_index=True) if len(df) else left[list(df.columns)]
    return df


def _differs(a, b) -> bool:
    """A case figure changed (numbers to 4 decimals; missing equals missing)."""
    if pd.isna(a) or pd.isna(b):
        return not (pd.isna(a) and pd.isna(b))
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return round(float(a), 4) != round(float(b), 4)
    return str(a) != str(b)


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
    hits = _entity_keys(ibis.memtable(result.hits)).mutate(run_id=ibis.literal(run_id))
    found = hits.to_pyarrow()
    with wh.transaction():
        k = _assign_cases(wh, found.select(["hit_id", "entity_key"]).to_pandas())
        keep = pa.array(~k.frozen.to_numpy())
        rows = found.drop_columns(["entity_key"]).append_column("case_id", pa.array(k.case_id.astype(object)))
        rows = _changed_hits(wh, rows.filter(keep).select(wh.columns("supervision_hits").keys()))
        written = rows.select(["hit_id", "case_id"]).to_pandas()
        new_per_case = written[written.hit_id.isin(k.hit_id[k.new])].groupby("case_id").size()
        previous = k[k.previous_case_id.notna()].drop_duplicates("case_id").set_index("case_id").previous_case_id
        stats = _upsert(wh, "supervision_hits", rows, ["hit_id"], actor=actor, batch_id=run_id,
                        detail=f"supervision screen {run_id}")
        # hits of the rules that ran which this screen no longer finds: an open case's are taken out of it
        # (case_id set to NULL; the audit log keeps the hit as it was), a decided case keeps its hits and
        # its history says that the evidence no longer holds
        stale = _stale_hits(wh, found.column("hit_id"), sorted({r.rule_id for r in result.runs if not r.error}))
        active_stale = stale[stale.c_status.isin(ACTIVE)]
        gone_per_case = active_stale.groupby("case_id").size()
        gone_decided = stale[~stale.c_status.isin(ACTIVE)].groupby("case_id").size()
        if len(active_stale):
            retired = active_stale.drop(columns=["c_status"]).assign(case_id=None)
            retired = pa.Table.from_pandas(retired, preserve_index=False)
            _upsert(wh, "supervision_hits", retired, ["hit_id"], actor=actor, batch_id=run_id,
                    detail=f"supervision screen {run_id}: no longer found, taken out of its case")
        touched = pa.table({"case_id": sorted(set(written.case_id) | set(gone_per_case.index))})
        cases_df = _case_aggregates(wh, touched) if touched.num_rows else pd.DataFrame()
        opened = 0
        if len(cases_df):
            old = wh.to_pandas(wh.table("supervision_cases")).set_index("case_id")
            cases_df["region_code"] = _regions(wh, cases_df)
            is_old = cases_df.case_id.isin(old.index)
            for col, default in (("status", "open"), ("confirmed_amount", None), ("recovered_amount", None),
                                 ("opened_at", now)):
                cases_df[col] = [old.at[c, col] if o else default for c, o in zip(cases_df.case_id, is_old, strict=True)]
            cases_df["previous_case_id"] = [old.at[c, "previous_case_id"] if o else previous.get(c)
                                            for c, o in zip(cases_df.case_id, is_old, strict=True)]
            cases_df["updated_at"] = now
            differs = [not o or any(_differs(old.at[c, f], v) for f, v in zip(_FIGURES, r, strict=True))
                       for c, o, r in zip(cases_df.case_id, is_old, cases_df[_FIGURES].itertuples(index=False),
                                          strict=True)]
            if any(differs):
                _upsert(wh, "supervision_cases", cases_df.loc[differs, CASE_COLUMNS], ["case_id"], actor=actor,
                        batch_id=run_id, detail=f"supervision screen {run_id}")
            ev = []  # system-written notes, in English (note) and Chinese (note_zh)
            for c, o in zip(cases_df.case_id, is_old, strict=True):
                n_new = int(new_per_case.get(c, 0))
                if not o:
                    opened += 1
                    prev = previous.get(c)
                    was = old.at[prev, "status"] if prev else None
                    ev.append({"case_id": c, "event_at": now, "actor": actor, "action": "opened", "to_status": "open",
                               "note": f"{n_new} hit(s)" + (f"; follows case {prev}, already {was}" if prev else ""),
                               "note_zh": f"疑点 {n_new} 条" + (f"；接续案件 {prev}（{STATUS_ZH.get(was, was)}）"
                                                              if prev else ""),
                               "run_id": run_id})
                    if prev:
                        ev.append({"case_id": prev, "event_at": now, "actor": actor, "action": "note",
                                   "note": f"{n_new} new hit(s) after the decision: opened case {c}",
                                   "note_zh": f"办结后新增疑点 {n_new} 条：已立案 {c}",
                                   "run_id": run_id})
                elif n_new or gone_per_case.get(c, 0):
                    n_gone = int(gone_per_case.get(c, 0))
                    en = [f"{n_new} new hit(s)"] if n_new else []
                    zh = [f"新增疑点 {n_new} 条"] if n_new else []
                    if n_gone:
                        en.append(f"{n_gone} hit(s) no longer found (taken out of the case)")
                        zh.append(f"{n_gone} 条疑点本次筛查不再命中（已移出案件）")
                    ev.append({"case_id": c, "event_at": now, "actor": actor, "action": "hits",
                               "note": "; ".join(en), "note_zh": "；".join(zh), "run_id": run_id})
        else:
            ev = []
        noted = _gone_notes(wh, list(gone_decided.index))
        for c, n in gone_decided.items():
            if noted.get(c) != int(n):
                ev.append({"case_id": c, "event_at": now, "actor": actor, "action": "note",
                           "note": f"{n} hit(s) this case was decided on no longer found by screen {run_id}; "
                                   "the decision and its amounts stand, its evidence should be checked",
                           "note_zh": f"办结所依据的疑点中有 {n} 条在筛查 {run_id} 中不再命中；"
                                      "处理结论和金额不变，请复核其依据",
                           "run_id": run_id})
        if ev:
            wh.append("supervision_case_events", pd.DataFrame(ev))
        failures = {r.rule_id: r.error for r in result.failures}
        wh.append("supervision_runs", pa.Table.from_pylist([{
            "run_id": run_id, "started": now, "actor": actor, "rules": json.dumps([r.rule_id for r in result.runs]),
            "hits": found.num_rows, "amount_at_stake": round(sum(r.amount_at_stake for r in result.runs), 2),
            "failures": json.dumps(failures, ensure_ascii=False), "input_problems": json.dumps(result.input_problems,
                                                                                                ensure_ascii=False),
        }]))
        wh.audit("supervise", actor=actor, table_name="supervision_runs", record_key={"run_id": run_id},
                 batch_id=run_id, detail=json.dumps({"hits": found.num_rows, "hits_stats": vars(stats),
                                                     "hits_of_decided_cases_kept": int(k.frozen.sum()),
                                                     "hits_no_longer_found": {"taken_out": len(active_stale),
                                                                              "of_decided_cases": len(stale)
                                                                              - len(active_stale)},
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
        raise CaseError(f"no case {case_id!r} (see `mifund supervise cases`)",
                        f"没有案件 {case_id!r}（见 `mifund supervise cases`）")
    return rows.iloc[0].to_dict()


def case_hits(wh, case_id: str) -> pd.DataFrame:
    h = wh.table("supervision_hits")
    h = h.filter(h.case_id == case_id).order_by([ibis.desc("score"), ibis.desc("amount_at_stake"), "hit_id"])
    return wh.to_pandas(h.drop("case_id", "case_by"))


def case_history(wh, case_id: str) -> pd.DataFrame:
    e = wh.table("supervision_case_events")
    return wh.to_pandas(e.filter(e.case_id == case_id).order_by("event_id"))


def _rule_shares(wh, case_id: str) -> pd.DataFrame:
    """Each rule's share of the case: its part of the suspected amount over the case's (by hit count where
    the case has no amount at stake)."""
    h = wh.table("supervision_hits")
    h = h.filter(h.case_id == case_id)
    n = h.group_by("rule_id").aggregate(hits=h.count())
    per = wh.to_pandas(n.join(rule_suspected(h), "rule_id").select("rule_id", "suspected", "hits")
                       .order_by("rule_id"))
    tot = per.suspected.sum()
    per["share"] = per.suspected / tot if tot > 0 else per.hits / per.hits.sum()
    return per[["rule_id", "share"]]


def allocate(cents: int, shares: list[float]) -> list[int]:
    """`cents` split in proportion to `shares`, in whole cents summing exactly to `cents` (largest
    remainder; ties to the earlier share)."""
    if not shares:
        return []
    total = sum(shares)
    raw = [cents * x / total for x in shares] if total > 0 else [cents / len(shares)] * len(shares)
    out = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: cents - sum(out)]:
        out[i] += 1
    return out


def _cents(v) -> int:
    return 0 if v is None or pd.isna(v) else round(float(v) * 100)


def _to_fen(amount: float) -> float:
    """An amount of yuan rounded half up to the fen, as written (0.005 is 0.01, 2.675 is 2.68)."""
    return float(decimal.Decimal(repr(float(amount))).quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_UP))


def _check_amount(case: dict, to: str, amount: float | None, over_suspected: bool,
                  note: str | None) -> float | None:
    """The amount rules of a move (see the module docstring); raises CaseError. Returns the amount rounded
    to the fen: the rules judge the amount that is recorded (0.001 recovered is no recovery)."""
    cid = case["case_id"]
    if amount is not None and not math.isfinite(amount):
        raise CaseError("the amount must be a number of yuan", "金额须为以元计的数字")
    raw, amount = amount, None if amount is None else _to_fen(amount)
    if to == "confirmed":
        if amount is None:
            raise CaseError(f"confirming case {cid} needs the amount confirmed (yuan, 0 or more)",
                            f"确认案件 {cid} 须填写确认金额（元，不小于 0）", hint="amount")
        if raw < 0:
            raise CaseError("the amount confirmed must not be negative", "确认金额不能为负数")
        suspected = _cents(case["suspected_amount"])
        if round(amount * 100) > suspected:
            if not over_suspected:
                raise CaseError(f"the amount confirmed ({amount:,.2f}) is above the case's suspected amount "
                                f"({suspected / 100:,.2f}); confirm it as above the suspected amount explicitly, "
                                "with a note saying why",
                                f"确认金额（{amount:,.2f} 元）高于案件疑点金额（{suspected / 100:,.2f} 元）；"
                                "如确需超出疑点金额确认，请明确勾选超出疑点金额，并在备注中说明理由",
                                hint="over_suspected")
            if not (note or "").strip():
                raise CaseError("an amount confirmed above the suspected amount needs a note saying why",
                                "确认金额高于疑点金额时，须在备注中说明理由")
    elif to == "recovered":
        confirmed, recovered = _cents(case["confirmed_amount"]), _cents(case["recovered_amount"])
        if amount is not None and amount < 0:  # a reversal of recoveries already recorded
            if case["status"] != "recovered" or not recovered:
                raise CaseError(f"case {cid} has no recovery recorded to reverse",
                                f"案件 {cid} 没有已登记的追回可冲回")
            if not (note or "").strip():
                raise CaseError("reversing a recovery needs a note saying why (a bounced payment, a wrong case, "
                                "a mistyped amount)", "冲回追回金额须在备注中说明理由（退票、登记错案件、金额录错等）")
            if recovered + round(amount * 100) < 0:
                raise CaseError(f"case {cid}: only {recovered / 100:,.2f} is recorded as recovered; at most that "
                                f"can be reversed, not {-amount:,.2f}",
                                f"案件 {cid}：已登记追回 {recovered / 100:,.2f} 元，最多冲回该金额，不能冲回 {-amount:,.2f} 元")
            return amount
        if amount is None or amount <= 0:  # to the fen first: 0.001 recovers nothing
            raise CaseError(f"recording a recovery on case {cid} needs the amount recovered (yuan, more than 0: "
                            "at least 0.01; a negative amount with a note reverses recoveries already recorded)",
                            f"登记案件 {cid} 的追回须填写追回金额（元，大于 0，至少 0.01；冲回已登记的追回请填负数并备注理由）",
                            hint="amount" if amount is None else None)
        if recovered + round(amount * 100) > confirmed:
            left = (confirmed - recovered) / 100
            raise CaseError(f"case {cid}: {recovered / 100:,.2f} of the {confirmed / 100:,.2f} confirmed is already "
                            f"recovered; at most {left:,.2f} more can be recovered, not {amount:,.2f}",
                            f"案件 {cid}：确认金额 {confirmed / 100:,.2f} 元中已追回 {recovered / 100:,.2f} 元；"
                            f"最多还可追回 {left:,.2f} 元，不能追回 {amount:,.2f} 元")
    elif amount is not None:
        raise CaseError(f"a move to {to} takes no amount (amounts go with confirmed and recovered)",
                        f"转为“{STATUS_ZH.get(to, to)}”不填金额（金额只用于确认和追回）")
    return amount


def move_case(wh, case_id: str, to: str, *, actor: str, amount: float | None = None, note: str | None = None,
              over_suspected: bool = False) -> dict:
    """Move a case along the workflow (MOVES) with the amount rules of the module docstring: `amount` is
    the amount confirmed (confirmed) or of this recovery (recovered); `over_suspected` allows an amount
    confirmed above the suspected amount (with a note). Returns the new case row."""
    if to not in STATUSES:
        raise CaseError(f"unknown status {to!r}; one of {', '.join(STATUSES)}",
                        f"未知状态 {to!r}；可选：{', '.join(STATUSES)}")
    case = get_case(wh, case_id)
    frm = case["status"]
    if to not in MOVES[frm]:
        allowed = ", ".join(MOVES[frm]) or "none (final)"
        raise CaseError(f"case {case_id} is {frm}; it can move to: {allowed}",
                        f"案件 {case_id} 当前为“{STATUS_ZH.get(frm, frm)}”，只能转为：{_status_zh(MOVES[frm]) or '无（已办结）'}")
    amount = _check_amount(case, to, amount, over_suspected, note)
    now = dt.datetime.now()
    new = {k: case.get(k) for k in CASE_COLUMNS}
    new.update(status=to, updated_at=now)
    shares = None
    if to == "confirmed":
        new.update(confirmed_amount=amount, recovered_amount=None)
        shares = _rule_shares(wh, case_id)
        shares["confirmed_amount"] = [c / 100 for c in allocate(round(amount * 100), list(shares.share))]
        shares["recovered_amount"] = 0.0
    elif to == "recovered":
        total = _cents(case["recovered_amount"]) + round(amount * 100)
        new["recovered_amount"] = total / 100
        if not total:  # every recovery reversed: the case is confirmed and nothing recovered, as before
            new.update(status="confirmed", recovered_amount=None)
        r = wh.table("supervision_case_rules")
        shares = wh.to_pandas(r.filter(r.case_id == case_id).order_by("rule_id"))
        if not len(shares):  # confirmed before the shares were kept: fix them now
            shares = _rule_shares(wh, case_id)
            shares["confirmed_amount"] = [c / 100 for c in allocate(_cents(case["confirmed_amount"]),
                                                                    list(shares.share))]
        shares["recovered_amount"] = [c / 100 for c in allocate(total, list(shares.share))]
    elif frm == "confirmed":
        new["confirmed_amount"] = None
    for k in ("confirmed_amount", "recovered_amount", "suspected_amount"):
        new[k] = None if new[k] is None or pd.isna(new[k]) else round(float(new[k]), 2)
    batch = f"case-{uuid.uuid4().hex[:8]}"
    with wh.transaction():
        _upsert(wh, "supervision_cases", pd.DataFrame([new])[CASE_COLUMNS], ["case_id"], actor=actor, batch_id=batch,
                detail=f"case {case_id}: {frm} -> {new['status']}")
        if shares is not None:
            shares = shares.assign(case_id=case_id, fixed_at=now)
            _upsert(wh, "supervision_case_rules", shares[["case_id", "rule_id", "share", "confirmed_amount",
                                                          "recovered_amount", "fixed_at"]],
                    ["case_id", "rule_id"], actor=actor, batch_id=batch, detail=f"case {case_id}: {frm} -> {new['status']}")
        wh.append("supervision_case_events", pd.DataFrame([{
            "case_id": case_id, "event_at": now, "actor": actor, "action": "move", "from_status": frm,
            "to_status": new["status"],
            "amount": amount, "note": note}]))
        wh.audit("case_move", actor=actor, table_name="supervision_cases", record_key={"case_id": case_id},
                 old_values={"status": frm, "confirmed_amount": case["confirmed_amount"],
                             "recovered_amount": case["recovered_amount"]},
                 new_values={"status": new["status"], "amount": amount, "confirmed_amount": new["confirmed_amount"],
                             "recovered_amount": new["recovered_amount"]}, batch_id=batch, detail=note)
    return new


def recovered_report(wh, by: tuple[str, ...] = ("region_code", "rule_id")) -> pd.DataFrame:
    """Suspected, confirmed and recovered amounts by region and rule. Each rule's part of a case's
    confirmed and recovered amounts is the one fixed when the case was confirmed (supervision_case_rules),
    so neither later screens nor new rules change it."""
    h = wh.table("supervision_hits")
    n = h.group_by(["case_id", "rule_id"]).aggregate(hits=h.count())
    per = n.join(rule_suspected(h), ["case_id", "rule_id"]).select("case_id", "rule_id", "hits", "suspected")
    c = wh.table("supervision_cases").select("case_id", "region_code", "status")
    r = wh.table("supervision_case_rules").select("case_id", "rule_id", fixed_confirmed="confirmed_amount",
                                                  fixed_recovered="recovered_amount")
    j = per.join(c, "case_id").left_join(r, ["case_id", "rule_id"])
    decided = j.status.isin(["confirmed", "recovered"])
    j = j.mutate(confirmed=ibis.ifelse(decided, j.fixed_confirmed.cast("float64").fill_null(0), 0.0),
                 recovered=ibis.ifelse(j.status == "recovered", j.fixed_recovered.cast("float64").fill_null(0), 0.0))
    g = j.group_by(list(by)).aggregate(
        cases=j.case_id.nunique(), hits=j.hits.sum(), suspected_amount=j.suspected.sum().round(2),
        cases_confirmed=j.case_id.nunique(where=decided),
        confirmed_amount=j.confirmed.sum().round(2),
        cases_recovered=j.case_id.nunique(where=j.status == "recovered"), recovered_amount=j.recovered.sum().round(2))
    return wh.to_pandas(g.order_by([ibis.desc("recovered_amount"), *by]))
