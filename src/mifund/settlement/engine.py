"""The vectorised settlement engine: one engine-neutral Ibis expression chain, no loop per claim.

Rules (the reference settler in ``reference.py`` does exactly the same, claim by claim):

* Money is integer fen; ratios are integer basis points (1/10000). Every layer of every claim is
  rounded half up to the fen once (``(x + 5000) // 10000`` of a basis-point-fen amount), except the
  catastrophic layer, whose benefit is defined on the year's cumulative base: there the cumulative
  benefit is rounded and a claim pays rounded-after − rounded-before, so the year's catastrophic total
  is exactly the rounded benefit of the year's base (no drift of a fen per claim);
  ``out_of_pocket`` takes the remainder, so the parts sum to ``total_amount`` exactly.
* Per person and calendar year (of the discharge date) claims are settled in
  (discharge_date, claim_id) order. Each claim takes the policy version in force on its discharge
  date; counters (admission number, deductible used, cap used, cumulative amounts) run over the year
  whatever the version.
* Basic pooled fund. Policy-scope amount P (given, else total − self_pay − copay_first).
  Inpatient: deductible per admission by provider level, ``deductible × factor`` from the n-th
  admission of the year (optionally only for those under / from given ages on the discharge date);
  outpatient / chronic outpatient: an annual deductible (what is still due).
  The amount above the deductible is paid band by band (ratio by category or special group × level,
  plus the band's increase), less ``cross_region_reduction`` points for a cross-region claim (or, with
  ``cross_region_ratio``, that flat ratio; ``cross_region_deductible`` replaces an admission's deductible). Then
  the visit group's annual cap (outpatient, chronic outpatient), then the pooled fund's annual cap.
* Catastrophic: on the year's cumulative policy-scope amount left after the basic layer (eligible
  visit types only) above the threshold; tiered rates; this claim pays hu(F(cum after)) −
  hu(F(cum before)) under the version in force; special groups: own threshold, rate increase, cap (null = none).
* Assistance (special groups): ratio × what is left of P, annual cap.
* Account: share × (what is left of P + copay_first [+ the self-paid rest if ``covers_self_pay``]),
  annual cap.
* A cap: a claim may use what is left of the largest cap in force so far in the year
  (a cap lowered mid-year is not clawed back from benefits already granted).
  Closed form used here: S_i = cum_i + min(0, min_{j<=i}(C_j − cum_j)), paid_i = S_i − S_{i-1}.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from mifund.policy.load import BIG, NBANDS, NCAT

OUTPUT_COLUMNS = ["claim_id", "deductible_applied", "pooled_fund_paid", "catastrophic_paid",
                  "assistance_paid", "account_paid", "out_of_pocket"]
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


# Plan: which window passes a given parameter table can do without. A cap whose value cannot change
# within a person-year (same policy, category and special group; versions that change it only start on
# 1 January) needs no running minimum: S_i = min(cum_i, C). A cap that is "none" (BIG) wherever its
# layer can pay needs no running sum at all. Catastrophic bands that cannot change within a person-year
# make the layer's running sum a closed form (F of the cumulative base, see settle_expr). Each fact is
# read from the parameter table, so the expression stays exact for any policy; the window passes are
# the cost of a settlement (each one re-sorts the claims), and most policies need few of them.
_CAP_GROUPS = {"pcap": None, "ccap": None, "a_cap": None, "acct_cap": None,
               "tcap_o": "outpatient", "tcap_c": "chronic_outpatient"}
_PLAN_KEYS = ["policy_key", "category", "special_group"]


def _boundary_years(df) -> list[int]:
    """Calendar years in which some version starts or ends: the only years two versions can share."""
    ys = {d.year for d in df["valid_from"]}
    ys |= {(d - pd.Timedelta(days=1)).year for d in pd.to_datetime(df["valid_to"]) if d.year < 9999}
    return sorted(ys)


def constant_in_person_year(df, cols: list[str], keys: list[str] = _PLAN_KEYS) -> bool:
    """True if `cols` take one set of values for every person-year: within each group of `keys`, all
    rows in force during any one calendar year agree on them (whatever the provider level or visit)."""
    if len(df) == 0:
        return True
    vf = pd.to_datetime(df["valid_from"])
    vt = pd.to_datetime(df["valid_to"].astype(str).str.replace("9999-12-31", "2262-04-11"))
    for y in _boundary_years(df):
        live = df[(vf <= pd.Timestamp(y, 12, 31)) & (vt > pd.Timestamp(y, 1, 1))]
        if (live[keys + cols].drop_duplicates().groupby(keys).size() > 1).any():
            return False
    return True


def cap_plan(params: ir.Table) -> dict:
    """What the parameter table lets settle_expr skip: constant caps, absent caps, constant catastrophic
    bands, layers never used."""
    df = params.to_pandas()
    const, none = {}, {}
    for cap, vg in _CAP_GROUPS.items():
        sub = df if vg is None else df[df["visit_group"] == vg]
        const[cap] = constant_in_person_year(sub, ["tcap" if vg else cap])
    # a cap is absent where every row on which its layer can pay has the cap at BIG
    none["a_cap"] = bool((df.loc[(df["a_el"] * df["a_bp"]) > 0, "a_cap"] >= BIG).all())
    none["acct_cap"] = bool((df.loc[df["acct_bp"] > 0, "acct_cap"] >= BIG).all())
    cat_cols = ["cth"] + [f"c{x}{k}" for k in range(NCAT) for x in "twr"]
    return {"const": const, "none": none, "nb": _bands_used(df, "b", NBANDS), "nc": _bands_used(df, "c", NCAT),
            "cat_const": constant_in_person_year(df[df["cat_el"] == 1], cat_cols),
            "assist": bool((df["a_el"] * df["a_bp"]).any()), "account": bool(df["acct_bp"].any())}


def _bands_used(df, prefix: str, n: int) -> int:
    """How many of a scale's padded brackets can pay: 1 + the last bracket with a rate above 0 on some row.
    A bracket at rate 0 everywhere adds nothing (the cross-region reduction only lowers a rate), so the
    brackets above the last paying one are left out of the expression: each costs three columns joined
    and a least/greatest/multiply per claim, and most policies use one or two of the padded six."""
    used = [k for k in range(n) if (df[f"{prefix}r{k}"] > 0).any()]
    return used[-1] + 1 if used else 0


def with_order_keys(prepared: ir.Table) -> ir.Table:
    """Add rn, the settlement order within the person-year g (which ``prepare.prepare_relation`` takes from
    the enrolment): every later window partitions by g and orders by rn. rn is computed partition by
    partition on any engine; the pair (g, rn) identifies a claim."""
    if "g" not in prepared.columns:
        raise ValueError("prepared claims without g (use prepare.prepare_claims or settlement_inputs)")
    if "rn" in prepared.columns:
        return prepared
    return prepared.mutate(rn=ibis.row_number().over(group_by="g", order_by=ORDER).cast("int64"))


def with_parameter_ids(prepared: ir.Table, params: ir.Table, how: str = "inner") -> ir.Table:
    """Add pid, the row of the parameter table that applies to each claim, valid_from (its version) and
    vg_on (whether the claim's visit-group layer is in force: pass 1 needs it before any parameter join)."""
    if "pid" in prepared.columns:
        if "vg_on" in prepared.columns:
            return prepared
        q = params.select(_pid="pid", vg_on="vg_on")
        return prepared.join(q, prepared.pid == q._pid).drop("_pid")
    c, p = prepared, params.select("pid", "policy_key", "category", "special_group", "provider_level",
                                   "visit_group", "valid_from", "valid_to", "vg_on")
    return c.join(
        p,
        [c.policy_key == p.policy_key, c.category == p.category, c.special_group == p.special_group,
         c.provider_level == p.provider_level, c.visit_group == p.visit_group,
         c.discharge_date >= p.valid_from, c.discharge_date < p.valid_to], how=how,
    ).select(*c.columns, "pid", "valid_from", "vg_on")


def settle_expr(prepared: ir.Table, params: ir.Table, plan: dict | None = None) -> ir.Table:
    """Settle prepared claims (``prepare.prepare_claims``) against the parameter table
    (``prepare.parameter_table``). Returns fen columns: OUTPUT_COLUMNS + person_id, yr, policy_key,
    valid_from (the version), total_amount.

    Every window shares one specification (partition g, order rn); between passes only a few narrow
    integer columns travel, and the policy parameters are joined back by pid where a stage needs them
    (the window sort carries every column it is given, which is what made wide passes slow)."""
    plan = plan or cap_plan(params)
    const, nb, nc = plan["const"], plan["nb"], plan["nc"]
    if "pid" not in params.columns:
        raise ValueError("parameter table without pid (use prepare.parameter_table)")
    base = with_order_keys(with_parameter_ids(prepared, params))
    w = ibis.cumulative_window(group_by="g", order_by="rn")
    wp = ibis.window(group_by="g", order_by="rn", rows=(None, -1))
    ZERO = ibis.literal(0, "int64")

    def csum(x):
        """Running sum over the person-year, as BIGINT: DuckDB sums BIGINT into HUGEINT (128-bit), and every
        later expression would then run in 128-bit arithmetic. Ibis drops a cast to the type it already
        believes the value has (its SUM of int64 is int64), so the Cast node is built directly."""
        return ops.Cast(x.sum().over(w), to=dt.int64).to_expr()

    def par(t, *cols, **named):
        q = params.select("pid", *cols, **{k: params[c] for k, c in named.items()}).rename(_pid="pid")
        return t.join(q, t.pid == q._pid).drop("_pid")

    def keep(t, *cols, **exprs):
        return t.select("g", "rn", "pid", *cols, **exprs)

    vg = base.visit_group
    t = base.select("g", "rn", "pid", "P", "CF", "T", "cross", "age", "vg_on",
                    v=ibis.cases((vg == "inpatient", 0), (vg == "outpatient", 1), else_=2).cast("int8"))
    # the caps of the later layers, where they cannot change within a person-year, are joined after the
    # last window pass (not carried through the sorts before it); the others need their running maxima here
    late_caps = {name: col for name, col in (("ccap_m", "ccap"), ("acap_m", "a_cap"), ("xcap_m", "acct_cap"))
                 if const[col]}
    run_caps = [(name, col) for name, col in (("pcap_m", "pcap"), ("ccap_m", "ccap"), ("acap_m", "a_cap"),
                                              ("xcap_m", "acct_cap")) if name not in late_caps]
    # a cap that can change within a person-year needs its running maximum in pass 1, so it is joined
    # before it; a constant one is its own running maximum, joined after pass 1 with the other parameters.
    # A visit group's cap (outpatient, chronic): the running maximum over the group's claims so far, or,
    # where constant, the person-year's cap itself (equal wherever it is used: a claim before the group's
    # first has nothing of the group to cap)
    vg_caps = {"tcap_o": ("tcap_out", 1), "tcap_c": ("tcap_chr", 2)}  # cap -> (constant's column, v)
    col_of = dict(run_caps)
    running = [name for name in vg_caps if not const[name]] + [name for name, col in run_caps if not const[col]]
    if running:
        t = par(t, *(["tcap"] if set(vg_caps) & set(running) else []), *[col_of[n] for n in running if n in col_of])
    running = {name: (ibis.ifelse(t.v == vg_caps[name][1], t.tcap, 0) if name in vg_caps else t[col_of[name]])
               for name in running}
    inp, out_, chr_ = t.v == 0, t.v == 1, t.v == 2
    # pass 1: admission number, policy-scope sums by visit group (while its layer is in force: the annual
    # deductible counts nothing from before), running maxima of the caps
    t = keep(t, "v", "P", "CF", "T", "cross", "age",
             adm_n=csum(inp.cast("int64")),
             cum_p_o=csum(ibis.ifelse(out_ & (t.vg_on == 1), t.P, 0)),
             cum_p_c=csum(ibis.ifelse(chr_ & (t.vg_on == 1), t.P, 0)),
             **{name: x.max().over(w) for name, x in running.items()})
    caps = ["tcap_o", "tcap_c", *[name for name, _ in run_caps]]
    # deductible and the basic layer before caps; the constant caps; whether the catastrophic layer counts
    # the claim (carried to pass 3)
    t = par(t, "ded", "rep_from", "ded_rep", "rep_aged", "rep_lt", "rep_ge", "xred", "xded", "cat_el",
            *[f"b{x}{k}" for k in range(nb) for x in "twr"],
            **{name: col for name, (col, _) in vg_caps.items() if const[name]},
            **{name: col for name, col in run_caps if const[col]})
    inp, out_, chr_ = t.v == 0, t.v == 1, t.v == 2
    cum_p_own = ibis.cases((out_, t.cum_p_o), (chr_, t.cum_p_c), else_=0)
    age_ok = (t.rep_aged == 0) | ((t.age < t.rep_lt) | (t.age >= t.rep_ge)).fill_null(False)
    ded_due = ibis.cases((t.cross & (t.xded >= 0), t.xded),
                         ((t.rep_from > 0) & (t.adm_n >= t.rep_from) & age_ok, t.ded_rep), else_=t.ded)
    # the annual deductible still due: the policy-scope amounts of the year's earlier claims of the group
    # (cum_p_own − P, clamped at 0 for a claim before the layer's start, which cum_p_own leaves out and
    # whose deductible is 0)
    ded = ibis.ifelse(inp, _lmin(ded_due, t.P), _lmin(_lmax(t.ded - _lmax(cum_p_own - t.P, 0), 0), t.P))
    red = ibis.ifelse(t.cross, t.xred, 0)
    t = keep(t, "v", "P", "CF", "T", "cat_el", *caps, ded_fen=ded,
             raw_b=_hu(_bands(t, "b", nb, t.P - ded, red)))
    inp, out_, chr_ = t.v == 0, t.v == 1, t.v == 2

    def capped_general(t, cum, C, raw):
        """(this claim's capped amount, capped cumulative): one running-minimum pass."""
        m = (C - cum).min().over(w)
        mp = (C - cum).min().over(wp)
        return (cum + _lmin(m, 0)) - (cum - raw + _lmin(mp.fill_null(0), 0)), cum + _lmin(m.fill_null(0), 0)

    def capped_const(cum, C, raw):
        return _lmin(cum, C) - _lmin(cum - raw, C), _lmin(cum, C)

    # visit-group caps (outpatient, chronic outpatient)
    t = keep(t, "v", "P", "CF", "T", "cat_el", *caps, "ded_fen", "raw_b",
             cum_r_i=csum(ibis.ifelse(inp, t.raw_b, 0)),
             cum_r_o=csum(ibis.ifelse(out_, t.raw_b, 0)),
             cum_r_c=csum(ibis.ifelse(chr_, t.raw_b, 0)))
    inp, out_, chr_ = t.v == 0, t.v == 1, t.v == 2
    if const["tcap_o"] and const["tcap_c"]:
        so, s_o = capped_const(t.cum_r_o, t.tcap_o, t.raw_b)
        sc, s_c = capped_const(t.cum_r_c, t.tcap_c, t.raw_b)
        t = keep(t, "v", "P", "CF", "T", "cat_el", *caps, "ded_fen",
                 s_b=ibis.cases((out_, so), (chr_, sc), else_=t.raw_b), cum_s=t.cum_r_i + s_o + s_c)
    else:
        m_o = ibis.ifelse(out_, t.tcap_o - t.cum_r_o, None).min().over(w)
        m_c = ibis.ifelse(chr_, t.tcap_c - t.cum_r_c, None).min().over(w)
        mp_o = ibis.ifelse(out_, t.tcap_o - t.cum_r_o, None).min().over(wp)
        mp_c = ibis.ifelse(chr_, t.tcap_c - t.cum_r_c, None).min().over(wp)

        def cap_(cum, m, mp, raw):
            return (cum + _lmin(m, 0)) - (cum - raw + _lmin(mp.fill_null(0), 0))

        t = keep(t, "v", "P", "CF", "T", "cat_el", *caps, "ded_fen", "cum_r_i", "cum_r_o", "cum_r_c",
                 s_b=ibis.cases((out_, cap_(t.cum_r_o, m_o, mp_o, t.raw_b)),
                                (chr_, cap_(t.cum_r_c, m_c, mp_c, t.raw_b)), else_=t.raw_b),
                 m_o=m_o, m_c=m_c)
        # the capped cumulative of a visit group telescopes: Σ s_b over its claims = cum + min(0, m)
        t = keep(t, "v", "P", "CF", "T", "cat_el", *caps, "ded_fen", "s_b",
                 cum_s=t.cum_r_i + t.cum_r_o + _lmin(t.m_o.fill_null(0), 0) + t.cum_r_c + _lmin(t.m_c.fill_null(0), 0))
    carry = ["v", "P", "CF", "T", "cat_el", *[name for name, _ in run_caps if name != "pcap_m"], "ded_fen"]
    # the pooled fund's annual cap
    if const["pcap"]:
        pooled, _ = capped_const(t.cum_s, t.pcap_m, t.s_b)
    else:
        pooled, _ = capped_general(t, t.cum_s, t.pcap_m, t.s_b)
    t = keep(t, *carry, pooled=pooled)
    # catastrophic: on the year's cumulative policy-scope amount left after the basic layer
    t = keep(t, *carry, "pooled", cum_x=csum(ibis.ifelse(t.cat_el == 1, t.P - t.pooled, 0)))
    # every parameter the layers after the last window pass need, in one join
    later = [*(["a_el", "a_bp"] if plan["assist"] else []), *(["acct_bp", "acct_sp"] if plan["account"] else [])]
    t = par(t, "cth", *[f"c{x}{k}" for k in range(nc) for x in "twr"], *later, **late_caps)
    carry = carry + [*late_caps, *later]
    x_c = ibis.ifelse(t.cat_el == 1, t.P - t.pooled, 0)
    g1 = _bands(t, "c", nc, _lmax(t.cum_x - t.cth, 0))
    g0 = _bands(t, "c", nc, _lmax(t.cum_x - x_c - t.cth, 0))
    carry = [c for c in carry if c != "ccap_m"] + ["pooled"]
    if plan["cat_const"]:
        # the bands are the same on every eligible claim of the person-year, so the layer's running sum
        # telescopes: Σ (hu(F(cum_j)) − hu(F(cum_j − x_j))) = hu(F(cum_i)); no window pass
        t = keep(t, *carry, "ccap_m", raw_c=ibis.ifelse(t.cat_el == 1, _hu(g1) - _hu(g0), 0), cum_rc=_hu(g1))
    else:
        t = keep(t, *carry, "ccap_m", raw_c=ibis.ifelse(t.cat_el == 1, _hu(g1) - _hu(g0), 0))
        t = keep(t, *carry, "ccap_m", "raw_c", cum_rc=csum(t.raw_c))
    cat, _ = (capped_const if const["ccap"] else lambda *a: capped_general(t, *a))(t.cum_rc, t.ccap_m, t.raw_c)
    carry = [c for c in carry if c != "acap_m"]
    t = keep(t, *carry, "acap_m", cat=cat)
    # medical assistance (special groups), on what is still left of the policy-scope amount
    carry = carry + ["cat"]
    if plan["assist"]:
        t = keep(t, *carry, "acap_m", raw_a=ibis.ifelse(t.a_el == 1, _hu(t.a_bp * (t.P - t.pooled - t.cat)), 0))
        if plan["none"]["a_cap"]:
            asst = t.raw_a
        else:
            t = keep(t, *carry, "acap_m", "raw_a", cum_ra=csum(t.raw_a))
            asst, _ = (capped_const if const["a_cap"] else lambda *a: capped_general(t, *a))(t.cum_ra, t.acap_m, t.raw_a)
        t = keep(t, *[c for c in carry if c != "xcap_m"], "xcap_m", asst=asst)
    else:
        t = keep(t, *carry, asst=ZERO)
    carry = [c for c in carry if c != "xcap_m"] + ["asst"]
    # individual account
    if plan["account"]:
        q = t.P - t.pooled - t.cat - t.asst + t.CF + ibis.ifelse(t.acct_sp == 1, t.T - t.P - t.CF, 0)
        t = keep(t, *carry, "xcap_m", raw_x=_hu(t.acct_bp * q))
        if plan["none"]["acct_cap"]:
            acct = t.raw_x
        else:
            t = keep(t, *carry, "xcap_m", "raw_x", cum_rx=csum(t.raw_x))
            acct, _ = (capped_const if const["acct_cap"] else lambda *a: capped_general(t, *a))(t.cum_rx, t.xcap_m, t.raw_x)
        t = keep(t, *carry, acct=acct)
    else:
        t = keep(t, *carry, acct=ZERO)
    r = t.select(
        _g="g", _rn="rn",
        deductible_applied=t.ded_fen.cast("int64"),
        pooled_fund_paid=t.pooled.cast("int64"),
        catastrophic_paid=t.cat.cast("int64"),
        assistance_paid=t.asst.cast("int64"),
        account_paid=t.acct.cast("int64"),
        out_of_pocket=(t.T - t.pooled - t.cat - t.asst - t.acct).cast("int64"),
    )
    b = base.select("g", "rn", "claim_id", "person_id", "yr", "policy_key", "valid_from", "region_code", "visit_group",
                    total_amount="T")
    j = b.join(r, [b.g == r._g, b.rn == r._rn])
    return j.select("claim_id", "person_id", "yr", "policy_key", "valid_from", *OUTPUT_COLUMNS[1:],
                    "total_amount", "g", "rn", "region_code", "visit_group")


def fen_to_decimal(values) -> pa.Array:
    """Integer fen (int64) -> exact DECIMAL(18,2) yuan, without going through floats."""
    a = np.ascontiguousarray(np.asarray(values, dtype=np.int64))
    n = len(a)
    wide = np.empty((n, 2), dtype=np.int64)
    wide[:, 0] = a
    wide[:, 1] = np.where(a < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [None, pa.py_buffer(wide.tobytes())])
