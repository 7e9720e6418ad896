"""Explanation of benefits for one claim: every step of its settlement, in words and figures."""

from __future__ import annotations

from mifund.settlement.reference import settle_reference


def _y(fen: int) -> str:
    return "no cap" if fen >= 10**12 else f"{fen / 100:,.2f}"


def explain_claim(con, prepared, policies, claim_id: str) -> list[str]:
    """Lines explaining `claim_id` (its person-year's earlier claims are settled first, as they must be)."""
    import pandas as pd

    hit = con.to_pandas(prepared.filter(prepared.claim_id == claim_id).select("person_id", "yr"))
    if hit.empty:
        raise KeyError(f"claim {claim_id} not found")
    pid, yr = hit.iloc[0]["person_id"], int(hit.iloc[0]["yr"])
    rows = con.to_pandas(prepared.filter((prepared.person_id == pid) & (prepared.yr == yr))).to_dict("records")
    for r in rows:
        r["discharge_date"] = pd.Timestamp(r["discharge_date"]).date()
        r["cross"] = bool(r["cross"])
        for k in ("T", "SP", "CF", "P", "yr", "provider_level"):
            r[k] = int(r[k])
        r["age"] = None if pd.isna(r.get("age")) else int(r["age"])
    settled = settle_reference(rows, policies, explain=True)
    claim = next(r for r in rows if r["claim_id"] == claim_id)
    res = next(r for r in settled if r["claim_id"] == claim_id)
    ex, prm = res["explain"], res["explain"]["params"]
    earlier = [r["claim_id"] for r in settled[: settled.index(res)] if r["claim_id"] != claim_id]
    pol = policies.policies[tuple(ex["policy"].split("/"))]
    refs = "; ".join(r["title"] for r in pol.reference_for()) or "—"
    out = [
        f"Claim {claim_id}: person {pid}, discharged {claim['discharge_date']}, {claim['visit_group']}, "
        f"provider level {claim['provider_level']}{', cross-region' if claim['cross'] else ''}",
        f"Insured: category {claim['category']}, special group {claim['special_group']}, "
        f"age {claim['age'] if claim['age'] is not None else 'unknown'}",
        f"Policy {ex['policy']} ({pol.name}), version in force from {ex['version']}; source: {refs}",
        f"Earlier claims this year (settled first): {', '.join(earlier) or 'none'}",
        f"Amounts: total {_y(claim['T'])} = self-paid {_y(claim['SP'])} + category-B co-pay {_y(claim['CF'])} "
        f"+ policy scope {_y(claim['P'])} + other {_y(claim['T'] - claim['SP'] - claim['CF'] - claim['P'])}",
        "1. Basic pooled fund",
    ]
    if claim["visit_group"] == "inpatient":
        out.append(f"   admission no. {ex['admission_no']} this year; deductible due {_y(ex['deductible_due'])}; "
                   f"applied {_y(res['deductible_applied'])}")
        if prm["rep_from"]:
            who = "everyone" if not prm["rep_aged"] else " or ".join(
                [f"under {prm['rep_lt']}"] * bool(prm["rep_lt"]) + [f"aged {prm['rep_ge']}+"] * (prm["rep_ge"] < 1000))
            out.append(f"   repeat-admission rule: from admission no. {prm['rep_from']} the deductible is "
                       f"{_y(prm['ded_rep'])}, for {who}")
    else:
        out.append(f"   annual deductible {_y(ex['deductible_due'])}, policy scope earlier this year "
                   f"{_y(ex['scope_before'])}; applied {_y(res['deductible_applied'])}")
    out.append(f"   eligible above the deductible: {_y(ex['eligible'])}")
    red = prm["xred"] if claim["cross"] else 0
    k = 0
    while k < 6 and prm[f"bw{k}"] > 0:
        lo, w = prm[f"bt{k}"], prm[f"bw{k}"]
        part = min(max(ex["eligible"] - lo, 0), w)
        if part or k == 0:
            rate = max(prm[f"br{k}"] - red, 0)
            hi = "∞" if w >= 10**12 else _y(lo + w)
            out.append(f"   band {_y(lo)}–{hi}: {_y(part)} × {rate / 100:g} % = {part * rate / 1e6:,.4f}")
        k += 1
    out.append(f"   before caps (rounded half up to the fen): {_y(ex['basic_raw'])}")
    if "type_cap" in ex:
        out.append(f"   {claim['visit_group']} annual cap {_y(ex['type_cap'])}: headroom before {_y(ex['type_headroom_before'])}")
    out.append(f"   pooled fund annual cap {_y(ex['pooled_cap'])}: headroom before {_y(ex['pooled_headroom_before'])}, "
               f"after {_y(ex['pooled_headroom_after'])}")
    out.append(f"   pooled_fund_paid = {_y(res['pooled_fund_paid'])}")
    out.append("2. Catastrophic illness insurance")
    if prm["cat_el"]:
        out.append(f"   cumulative policy-scope burden this year {_y(ex['cat_base_before'])} → {_y(ex['cat_base_after'])}; "
                   f"threshold {_y(prm['cth'])}; benefit on the cumulative (rounded) less what earlier claims "
                   f"had: {_y(ex['cat_raw'])}; cap {_y(ex['cat_cap'])}: headroom "
                   f"{_y(ex['cat_headroom_before'])} → {_y(ex['cat_headroom_after'])}")
    else:
        out.append("   not applicable (layer off for this visit type or policy version)")
    out.append(f"   catastrophic_paid = {_y(res['catastrophic_paid'])}")
    out.append("3. Medical assistance")
    if prm["a_el"]:
        out.append(f"   {prm['a_bp'] / 100:g} % of what is left {_y(ex['assist_base'])} = {_y(ex['assist_raw'])}; "
                   f"headroom {_y(ex['assist_headroom_before'])} → {_y(ex['assist_headroom_after'])}")
    else:
        out.append("   not applicable (not a special group covered by the policy)")
    out.append(f"   assistance_paid = {_y(res['assistance_paid'])}")
    out.append("4. Individual account")
    if prm["acct_bp"]:
        out.append(f"   {prm['acct_bp'] / 100:g} % of {_y(ex['account_base'])}; headroom {_y(ex['account_headroom_before'])}")
    out.append(f"   account_paid = {_y(res['account_paid'])}")
    out.append(f"Out of pocket = {_y(claim['T'])} − {_y(res['pooled_fund_paid'])} − {_y(res['catastrophic_paid'])} − "
               f"{_y(res['assistance_paid'])} − {_y(res['account_paid'])} = {_y(res['out_of_pocket'])}")
    return out
