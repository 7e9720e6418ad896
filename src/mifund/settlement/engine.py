"""The vectorised settlement engine: one engine-neutral Ibis expression chain, no loop per claim.

Rules (the reference settler in ``reference.py`` does exactly the same, claim by claim):

* Money is integer fen; ratios are integer basis points (1/10000). Every layer of every claim is
  rounded half up to the fen once (``(x + 5000) // 10000`` of a basis-point-fen amount);
  ``out_of_pocket`` takes the remainder, so the parts sum to ``total_amount`` exactly.
* Per person and calendar year (of the discharge date) claims are settled in
  (discharge_date, claim_id) order. Each claim takes the policy version in force on its discharge
  date; counters (admission number, deductible used, cap used, cumulative amounts) run over the year
  whatever the version.
* Basic pooled fund. Policy-scope amount P (given, else total − self_pay − copay_first).
  Inpatient: deductible per admission by provider level, ``deductible × factor`` from the n-th
  admission of the year; outpatient / chronic outpatient: an annual deductible (what is still due).
  The amount above the deductible is paid band by band (ratio by category or special group × level,
  plus the band's increase), less ``cross_region_reduction`` points for a cross-region claim. Then
  the visit group's annual cap (outpatient, chronic outpatient), then the pooled fund's annual cap.
* Catastrophic: on the year's cumulative policy-scope amount left after the basic layer (eligible
  visit types only) above the threshold; tiered rates; this claim pays F(cum after) − F(cum before)
  under the version in force; special groups: own threshold, rate increase, cap (null = none).
* Assistance (special groups): ratio × what is left of P, annual cap.
* Account: share × (what is left of P + copay_first [+ the self-paid rest if ``covers_self_pay``]),
  annual cap.
* A cap: a claim may use what is left of the largest cap in force so far in the year
  (a cap lowered mid-year is not clawed back from benefits already granted).
  Closed form used here: S_i = cum_i + min(0, min_{j<=i}(C_j − cum_j)), paid_i = S_i − S_{i-1}.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from mifund.policy.load import NBANDS, NCAT

OUTPUT_COLUMNS = ["claim_id", "deductible_applied", "pooled_fund_paid", "catastrophic_paid",
                  "assistance_paid", "account_paid", "out_of_pocket"]
KEY = ["person_id", "yr"]
ORDER = ["discharge_date", "claim_id"]


def _hu(x: ir.IntegerValue) -> ir.IntegerValue:
    """x / 10000 rounded half up, exactly, for x >= 0 (integer arithmetic only)."""
    y = x + 5000
    return ((y - y % 10000) // 10000).cast("int64")


def _lmin(a, b):
    return ibis.least(a, b)


def _lmax(a, b):
    return ibis.greatest(a, b)


def _bands(t: ir.Table, prefix: str, n: int, amount, reduce_bp=None):
    total = ibis.literal(0, "int64")
    for k in range(n):
        part = _lmin(_lmax(amount - t[f"{prefix}t{k}"], 0), t[f"{prefix}w{k}"])
        rate = t[f"{prefix}r{k}"] if reduce_bp is None else _lmax(t[f"{prefix}r{k}"] - reduce_bp, 0)
        total = total + rate * part
    return total


def settle_expr(prepared: ir.Table, params: ir.Table) -> ir.Table:
    """Settle prepared claims (``prepare.prepare_claims``) against the parameter table
    (``prepare.parameter_table``). Returns fen columns: OUTPUT_COLUMNS + person_id, yr, policy_key,
    valid_from (the version)."""
    c, p = prepared, params
    t = c.join(
        p,
        [c.policy_key == p.policy_key, c.category == p.category, c.special_group == p.special_group,
         c.provider_level == p.provider_level, c.visit_group == p.visit_group,
         c.discharge_date >= p.valid_from, c.discharge_date < p.valid_to],
    ).drop("policy_key_right", "category_right", "special_group_right", "provider_level_right",
           "visit_group_right", "valid_to")
    w = ibis.cumulative_window(group_by=KEY, order_by=ORDER)
    wp = ibis.window(group_by=KEY, order_by=ORDER, rows=(None, -1))

    def inp(t):
        return t.visit_group == "inpatient"

    def out_(t):
        return t.visit_group == "outpatient"

    def chr_(t):
        return t.visit_group == "chronic_outpatient"

    # stage 1: counters and running maxima of caps
    t = t.mutate(
        adm_n=inp(t).cast("int64").sum().over(w),
        cum_p_o=ibis.ifelse(out_(t), t.P, 0).sum().over(w),
        cum_p_c=ibis.ifelse(chr_(t), t.P, 0).sum().over(w),
        tcap_o=ibis.ifelse(out_(t), t.tcap, 0).max().over(w),
        tcap_c=ibis.ifelse(chr_(t), t.tcap, 0).max().over(w),
        pcap_m=t.pcap.max().over(w),
        ccap_m=t.ccap.max().over(w),
        acap_m=t.a_cap.max().over(w),
        xcap_m=t.acct_cap.max().over(w),
    )
    # stage 2: deductible and the basic layer before caps
    cum_p_own = ibis.cases((out_(t), t.cum_p_o), (chr_(t), t.cum_p_c), else_=0)
    ded_due = ibis.ifelse((t.rep_from > 0) & (t.adm_n >= t.rep_from), t.ded_rep, t.ded)
    ded = ibis.ifelse(inp(t), _lmin(ded_due, t.P), _lmin(_lmax(t.ded - (cum_p_own - t.P), 0), t.P))
    t = t.mutate(ded_fen=ded)
    red = ibis.ifelse(t.cross, t.xred, 0)
    t = t.mutate(raw_b=_hu(_bands(t, "b", NBANDS, t.P - t.ded_fen, red)))
    # stage 3: visit-group caps (outpatient, chronic outpatient)
    t = t.mutate(
        cum_r_o=ibis.ifelse(out_(t), t.raw_b, 0).sum().over(w),
        cum_r_c=ibis.ifelse(chr_(t), t.raw_b, 0).sum().over(w),
    )
    t = t.mutate(
        m_o=ibis.ifelse(out_(t), t.tcap_o - t.cum_r_o, None).min().over(w),
        m_c=ibis.ifelse(chr_(t), t.tcap_c - t.cum_r_c, None).min().over(w),
        mp_o=ibis.ifelse(out_(t), t.tcap_o - t.cum_r_o, None).min().over(wp),
        mp_c=ibis.ifelse(chr_(t), t.tcap_c - t.cum_r_c, None).min().over(wp),
    )

    def capped(cum, m, mprev, raw):
        return (cum + _lmin(m, 0)) - (cum - raw + _lmin(mprev.fill_null(0), 0))

    t = t.mutate(s_b=ibis.cases((out_(t), capped(t.cum_r_o, t.m_o, t.mp_o, t.raw_b)),
                                (chr_(t), capped(t.cum_r_c, t.m_c, t.mp_c, t.raw_b)), else_=t.raw_b))
    # stage 4: the pooled fund's annual cap
    t = t.mutate(cum_s=t.s_b.sum().over(w))
    t = t.mutate(m_p=(t.pcap_m - t.cum_s).min().over(w), mp_p=(t.pcap_m - t.cum_s).min().over(wp))
    t = t.mutate(pooled=capped(t.cum_s, t.m_p, t.mp_p, t.s_b))
    # stage 5: catastrophic
    t = t.mutate(x_c=ibis.ifelse(t.cat_el == 1, t.P - t.pooled, 0))
    t = t.mutate(cum_x=t.x_c.sum().over(w))
    g1 = _bands(t, "c", NCAT, _lmax(t.cum_x - t.cth, 0))
    g0 = _bands(t, "c", NCAT, _lmax(t.cum_x - t.x_c - t.cth, 0))
    t = t.mutate(raw_c=ibis.ifelse(t.cat_el == 1, _hu(g1 - g0), 0))
    t = t.mutate(cum_rc=t.raw_c.sum().over(w))
    t = t.mutate(m_cat=(t.ccap_m - t.cum_rc).min().over(w), mp_cat=(t.ccap_m - t.cum_rc).min().over(wp))
    t = t.mutate(cat=capped(t.cum_rc, t.m_cat, t.mp_cat, t.raw_c))
    # stage 6: medical assistance
    t = t.mutate(left=t.P - t.pooled - t.cat)
    t = t.mutate(raw_a=ibis.ifelse(t.a_el == 1, _hu(t.a_bp * t.left), 0))
    t = t.mutate(cum_ra=t.raw_a.sum().over(w))
    t = t.mutate(m_a=(t.acap_m - t.cum_ra).min().over(w), mp_a=(t.acap_m - t.cum_ra).min().over(wp))
    t = t.mutate(asst=capped(t.cum_ra, t.m_a, t.mp_a, t.raw_a))
    # stage 7: individual account
    q = t.left - t.asst + t.CF + ibis.ifelse(t.acct_sp == 1, t.T - t.P - t.CF, 0)
    t = t.mutate(raw_x=_hu(t.acct_bp * q))
    t = t.mutate(cum_rx=t.raw_x.sum().over(w))
    t = t.mutate(m_x=(t.xcap_m - t.cum_rx).min().over(w), mp_x=(t.xcap_m - t.cum_rx).min().over(wp))
    t = t.mutate(acct=capped(t.cum_rx, t.m_x, t.mp_x, t.raw_x))
    return t.select(
        "claim_id", "person_id", "yr", "policy_key", "valid_from",
        deductible_applied=t.ded_fen.cast("int64"),
        pooled_fund_paid=t.pooled.cast("int64"),
        catastrophic_paid=t.cat.cast("int64"),
        assistance_paid=t.asst.cast("int64"),
        account_paid=t.acct.cast("int64"),
        out_of_pocket=(t.T - t.pooled - t.cat - t.asst - t.acct).cast("int64"),
        total_amount=t.T,
    )


def fen_to_decimal(values) -> pa.Array:
    """Integer fen (int64) -> exact DECIMAL(18,2) yuan, without going through floats."""
    a = np.ascontiguousarray(np.asarray(values, dtype=np.int64))
    n = len(a)
    wide = np.empty((n, 2), dtype=np.int64)
    wide[:, 0] = a
    wide[:, 1] = np.where(a < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [None, pa.py_buffer(wide.tobytes())])
