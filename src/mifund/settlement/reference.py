"""The reference settler: short, plain Python, one claim at a time. Used by the tests (and the benchmark)
to check the vectorised engine to the fen; never used to settle for real.

Input: prepared claims (``mifund.settlement.prepare``; amounts in integer fen) and a PolicySet.
Rules, identical to the engine (see ``mifund.settlement.engine`` for the full statement):
per person and calendar year, claims in (discharge_date, claim_id) order; each layer rounded half up
to the fen per claim; caps: a claim may use what is left of the largest cap in force so far that year.
"""

from __future__ import annotations

from collections import defaultdict

from mifund.policy.load import NBANDS, NCAT


def _hu(x: int) -> int:
    """x / 10000 rounded half up (x >= 0, in basis-point fen)."""
    return (x + 5000) // 10000


def _scale(prm: dict, prefix: str, n: int, amount: int, reduce_bp: int = 0) -> int:
    """Σ rate_k × (part of `amount` inside band k), in basis-point fen."""
    total = 0
    for k in range(n):
        part = min(max(amount - prm[f"{prefix}t{k}"], 0), prm[f"{prefix}w{k}"])
        total += max(prm[f"{prefix}r{k}"] - reduce_bp, 0) * part
    return total


def _age_qualifies(prm: dict, age) -> bool:
    """The repeat-admission rule's age condition (none: everyone; an unknown age never qualifies)."""
    if not prm["rep_aged"]:
        return True
    return age is not None and (age < prm["rep_lt"] or age >= prm["rep_ge"])


def settle_reference(claims: list[dict], policies, *, explain: bool = False) -> list[dict]:
    """Settle prepared claims; returns one dict per claim (fen). With explain=True each dict also holds
    the parameters and counters used (for `mifund settle explain`)."""
    order = sorted(claims, key=lambda c: (c["person_id"], c["yr"], c["discharge_date"], c["claim_id"]))
    out = []
    state: dict = {}
    for c in order:
        key = (c["person_id"], c["yr"])
        if key not in state:
            state[key] = {"adm": 0, "cumP": defaultdict(int), "tpaid": defaultdict(int), "tcap": defaultdict(int),
                          "pooled": 0, "pcap": 0, "cumX": 0, "cat": 0, "ccap": 0, "asst": 0, "acap": 0,
                          "acct": 0, "acctcap": 0}
        s = state[key]
        pol = policies.policies[tuple(c["policy_key"].split("/"))]
        prm = pol.resolve(c["discharge_date"], category=c["category"], special_group=c["special_group"],
                          level=c["provider_level"], visit_group=c["visit_group"])
        T, CF, P = c["T"], c["CF"], c["P"]
        vg = c["visit_group"]
        ex: dict = {"claim_id": c["claim_id"], "policy": pol.key, "version": pol.version_at(c["discharge_date"]),
                    "params": prm, "visit_group": vg}
        # 1. basic pooled fund: deductible
        if vg == "inpatient":
            s["adm"] += 1
            if c["cross"] and prm["xded"] >= 0:
                d = prm["xded"]
            elif prm["rep_from"] and s["adm"] >= prm["rep_from"] and _age_qualifies(prm, c.get("age")):
                d = prm["ded_rep"]
            else:
                d = prm["ded"]
            ded = min(d, P)
            ex.update(admission_no=s["adm"], deductible_due=d)
        else:
            ded = min(max(prm["ded"] - s["cumP"][vg], 0), P)
            ex.update(deductible_due=prm["ded"], scope_before=s["cumP"][vg])
        if prm["vg_on"]:  # a claim before the visit group's layer started counts nothing towards it
            s["cumP"][vg] += P
        eligible = P - ded
        raw = _hu(_scale(prm, "b", NBANDS, eligible, prm["xred"] if c["cross"] else 0))
        ex.update(eligible=eligible, basic_raw=raw)
        # visit-group cap (outpatient, chronic outpatient), then the pooled fund's annual cap
        if vg != "inpatient":
            s["tcap"][vg] = max(s["tcap"][vg], prm["tcap"])
            head = max(s["tcap"][vg] - s["tpaid"][vg], 0)
            ex.update(type_cap=s["tcap"][vg], type_headroom_before=head)
            raw = min(raw, head)
            s["tpaid"][vg] += raw
        s["pcap"] = max(s["pcap"], prm["pcap"])
        head = max(s["pcap"] - s["pooled"], 0)
        pooled = min(raw, head)
        s["pooled"] += pooled
        ex.update(pooled_cap=s["pcap"], pooled_headroom_before=head, pooled_headroom_after=head - pooled)
        # 2. catastrophic: on the year's cumulative policy-scope amount left after the basic layer
        x = (P - pooled) if prm["cat_el"] else 0
        before, s["cumX"] = s["cumX"], s["cumX"] + x
        g1 = _scale(prm, "c", NCAT, max(s["cumX"] - prm["cth"], 0))
        g0 = _scale(prm, "c", NCAT, max(before - prm["cth"], 0))
        craw = (_hu(g1) - _hu(g0)) if prm["cat_el"] else 0  # the cumulative benefit is what is rounded
        s["ccap"] = max(s["ccap"], prm["ccap"])
        head = max(s["ccap"] - s["cat"], 0)
        cat = min(craw, head)
        s["cat"] += cat
        ex.update(cat_base_before=before, cat_base_after=s["cumX"], cat_raw=craw, cat_cap=s["ccap"],
                  cat_headroom_before=head, cat_headroom_after=head - cat)
        # 3. medical assistance: special groups, on what is still left of the policy-scope amount
        left = P - pooled - cat
        araw = _hu(prm["a_bp"] * left) if prm["a_el"] else 0
        s["acap"] = max(s["acap"], prm["a_cap"])
        head = max(s["acap"] - s["asst"], 0)
        asst = min(araw, head)
        s["asst"] += asst
        ex.update(assist_base=left, assist_raw=araw, assist_headroom_before=head, assist_headroom_after=head - asst)
        # 4. individual account
        q = left - asst + CF + ((T - P - CF) if prm["acct_sp"] else 0)
        qraw = _hu(prm["acct_bp"] * q)
        s["acctcap"] = max(s["acctcap"], prm["acct_cap"])
        head = max(s["acctcap"] - s["acct"], 0)
        acct = min(qraw, head)
        s["acct"] += acct
        ex.update(account_base=q, account_headroom_before=head)
        row = {"claim_id": c["claim_id"], "deductible_applied": ded, "pooled_fund_paid": pooled,
               "catastrophic_paid": cat, "assistance_paid": asst, "account_paid": acct,
               "out_of_pocket": T - pooled - cat - asst - acct}
        if explain:
            row["explain"] = ex
        out.append(row)
    return out


def reference_inputs(source, policies, **kw) -> list[dict]:
    """Prepared claims as plain dicts (fen ints, date objects) for settle_reference."""
    from mifund.settlement import settlement_inputs

    con, prepared, _ = settlement_inputs(source, policies, **kw)
    return reference_rows(con.to_pandas(prepared))


def reference_rows(prepared) -> list[dict]:
    """Prepared claims (a pandas frame of ``prepare.PREPARED_COLUMNS``) as the plain dicts settle_reference
    reads: date objects, Python ints, None for an unknown age."""
    import pandas as pd

    rows = prepared.to_dict("records")
    for r in rows:
        r["discharge_date"] = pd.Timestamp(r["discharge_date"]).date()
        r["cross"] = bool(r["cross"])
        for k in ("T", "SP", "CF", "P", "yr", "provider_level"):
            r[k] = int(r[k])
        r["age"] = None if pd.isna(r.get("age")) else int(r["age"])
    return rows
