"""The settlement's window passes written in pandas, for the benchmark's "same work in pandas" line.

Input: the engine's prepared claims (with g, the person-year; rn, the settlement order; pid, the
parameter row) and the parameter table, both as pandas. Output: the same fen columns as
``mifund.settlement.engine.settle_expr``. Every cumulative runs as a pandas groupby over g on the frame
sorted by rn — the idiomatic vectorised pandas way (no Python loop per claim). The benchmark checks
the result equals the engine's, claim by claim, before it reports a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mifund.policy.load import NBANDS, NCAT

HUGE = np.int64(2**62)


def _hu(x):
    return (x + 5000) // 10000


def _bands(df, prefix, n, amount, red=None):
    total = np.zeros(len(df), dtype=np.int64)
    for k in range(n):
        part = np.minimum(np.maximum(amount - df[f"{prefix}t{k}"].to_numpy(), 0), df[f"{prefix}w{k}"].to_numpy())
        rate = df[f"{prefix}r{k}"].to_numpy()
        if red is not None:
            rate = np.maximum(rate - red, 0)
        total += rate * part
    return total


def settle_pandas(prepared: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    df = prepared.merge(params.drop(columns=[c for c in ("policy_key", "category", "special_group",
                                                          "provider_level", "visit_group", "valid_from",
                                                          "valid_to", "vg_on") if c in params.columns]),
                        on="pid", how="inner")
    df = df.sort_values("rn", kind="stable").reset_index(drop=True)
    g = df["g"].to_numpy()

    def cum(x, how="sum"):
        s = pd.Series(x).groupby(g)
        return getattr(s, "cum" + how)().to_numpy()

    def prev_min(m):
        """Running minimum over the earlier rows of the person-year (HUGE where none)."""
        return pd.Series(m).groupby(g).shift(1).fillna(HUGE).to_numpy().astype(np.int64)

    def capped(cumv, cap, raw):
        m = cum(cap - cumv, "min")
        mp = prev_min(m)
        return (cumv + np.minimum(m, 0)) - (cumv - raw + np.minimum(mp, 0))

    vg = df["visit_group"].to_numpy()
    inp, out, chr_ = vg == "inpatient", vg == "outpatient", vg == "chronic_outpatient"
    P, CF, T = (df[c].to_numpy().astype(np.int64) for c in ("P", "CF", "T"))
    cross = df["cross"].to_numpy().astype(bool)
    prm = {c: df[c].to_numpy().astype(np.int64) for c in ("ded", "ded_rep", "rep_from", "rep_aged", "rep_lt",
                                                            "rep_ge", "xred", "xded", "tcap", "pcap", "ccap", "a_cap", "acct_cap", "cat_el", "cth",
                                                            "a_el", "a_bp", "acct_bp", "acct_sp")}
    # pass 1: admission number, scope sums per visit group, running maxima of the caps
    adm_n = cum(inp.astype(np.int64))
    age = df["age"].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        age_ok = (prm["rep_aged"] == 0) | (age < prm["rep_lt"]) | (age >= prm["rep_ge"])
    on = df["vg_on"].to_numpy() == 1  # the visit group's layer in force: only then counts towards its deductible
    cum_p_o, cum_p_c = cum(np.where(out & on, P, 0)), cum(np.where(chr_ & on, P, 0))
    tcap_o, tcap_c = cum(np.where(out, prm["tcap"], 0), "max"), cum(np.where(chr_, prm["tcap"], 0), "max")
    pcap_m, ccap_m = cum(prm["pcap"], "max"), cum(prm["ccap"], "max")
    acap_m, xcap_m = cum(prm["a_cap"], "max"), cum(prm["acct_cap"], "max")
    # deductible and the basic layer before caps
    cum_own = np.select([out, chr_], [cum_p_o, cum_p_c], 0)
    ded_due = np.where(cross & (prm["xded"] >= 0), prm["xded"],
                       np.where((prm["rep_from"] > 0) & (adm_n >= prm["rep_from"]) & age_ok, prm["ded_rep"], prm["ded"]))
    ded = np.where(inp, np.minimum(ded_due, P), np.minimum(np.maximum(prm["ded"] - np.maximum(cum_own - P, 0), 0), P))
    raw_b = _hu(_bands(df, "b", NBANDS, P - ded, np.where(cross, prm["xred"], 0)))
    # visit-group caps
    cum_r_i = cum(np.where(inp, raw_b, 0))
    cum_r_o, cum_r_c = cum(np.where(out, raw_b, 0)), cum(np.where(chr_, raw_b, 0))
    m_o = cum(np.where(out, tcap_o - cum_r_o, HUGE), "min")
    m_c = cum(np.where(chr_, tcap_c - cum_r_c, HUGE), "min")
    s_o = (cum_r_o + np.minimum(m_o, 0)) - (cum_r_o - raw_b + np.minimum(prev_min(m_o), 0))
    s_c = (cum_r_c + np.minimum(m_c, 0)) - (cum_r_c - raw_b + np.minimum(prev_min(m_c), 0))
    s_b = np.select([out, chr_], [s_o, s_c], raw_b)
    cum_s = cum_r_i + cum_r_o + np.minimum(m_o, 0) + cum_r_c + np.minimum(m_c, 0)
    pooled = capped(cum_s, pcap_m, s_b)
    # catastrophic
    x_c = np.where(prm["cat_el"] == 1, P - pooled, 0)
    cum_x = cum(x_c)
    g1 = _bands(df, "c", NCAT, np.maximum(cum_x - prm["cth"], 0))
    g0 = _bands(df, "c", NCAT, np.maximum(cum_x - x_c - prm["cth"], 0))
    raw_c = np.where(prm["cat_el"] == 1, _hu(g1) - _hu(g0), 0)
    cat = capped(cum(raw_c), ccap_m, raw_c)
    # assistance
    raw_a = np.where(prm["a_el"] == 1, _hu(prm["a_bp"] * (P - pooled - cat)), 0)
    asst = capped(cum(raw_a), acap_m, raw_a)
    # individual account
    q = P - pooled - cat - asst + CF + np.where(prm["acct_sp"] == 1, T - P - CF, 0)
    raw_x = _hu(prm["acct_bp"] * q)
    acct = capped(cum(raw_x), xcap_m, raw_x)
    return pd.DataFrame({"claim_id": df["claim_id"].to_numpy(), "deductible_applied": ded,
                         "pooled_fund_paid": pooled, "catastrophic_paid": cat, "assistance_paid": asst,
                         "account_paid": acct, "out_of_pocket": T - pooled - cat - asst - acct})
