"""Provider profiling (医疗机构画像): features per provider, robust z-scores within peer groups, and an
unsupervised anomaly score (scikit-learn Isolation Forest) of how far a provider is above its peers, with
the features that put it there.

API::

    from mifund.supervision.profiling import provider_profiles
    prof = provider_profiles(wh)      # one row per provider, ranked by anomaly score

Features (claim-scale aggregation in Ibis; the per-provider table is small and scored in pandas):

- ``cost_index`` — cost per case adjusted for diagnosis mix: the provider's billed total over its
  expected total, each claim expected to cost the municipality's mean for its visit type and diagnosis
  (observed / expected, 1 = as peers).
- ``case_mix_index`` — the expected cost of its cases over the mean cost of their visit types (more
  severe diagnoses give a higher index: coding up shows here).
- ``los_index`` — inpatient length of stay over the mean for the same diagnoses (observed / expected).
- ``readmission_rate`` — share of its inpatient stays followed by another stay of the person at the same
  provider within ``readmission_days`` of discharge.
- ``class_c_share`` — share of its line amounts in catalogue class C (fully self-paid) items.
- ``cases_per_day`` — claims per day with at least one claim.

Peer groups are provider level x type; a group smaller than ``min_peers`` is pooled with its type. Each
feature's robust z-score is (x - peer median) / (1.4826 x peer MAD); the ``z_*`` columns keep the sign.
The anomaly score is one-sided: every feature is one where only being *above* the peers points at abuse
(higher cost, more severe coding, longer stays, more readmissions, more self-paid items, more cases a
day), and a cheaper, quieter or shorter-staying provider is no case for an inspector (splitting a stay in
two shows in the readmissions and in the split-admission rule, not in a short LOS). So the Isolation
Forest is fit on the z-scores clipped at 0 (score = -score_samples, higher = more unusual above the
peers), ``max_z_above`` is the largest of them, and ``drivers`` lists the features above the peers by at
least 1 robust SD, largest first, with their z: the only inputs that can raise the score. They are the
largest deviations the score sees, not an attribution of the forest's score to features.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from mifund.supervision.checks import Tables

FEATURES = ("cost_index", "case_mix_index", "los_index", "readmission_rate", "class_c_share", "cases_per_day")


def provider_features(t: Tables, *, readmission_days: int = 30) -> ibis.Table:
    c = t.claims.mutate(amt=t.claims.total_amount.cast("float64"),
                        los=t.claims.discharge_date.delta(t.claims.admit_date, unit="day"))
    dx_w = ibis.window(group_by=["visit_type", "diagnosis_code"])
    vt_w = ibis.window(group_by=["visit_type"])
    c = c.mutate(exp_amt=c.amt.mean().over(dx_w), vt_amt=c.amt.mean().over(vt_w), exp_los=c.los.mean().over(dx_w))
    inp = c.filter(c.visit_type == "inpatient")
    w = ibis.window(group_by=["person_id", "provider_id"], order_by=["admit_date", "claim_id"])
    inp = inp.mutate(next_admit=inp.admit_date.lead().over(w))
    inp = inp.mutate(readmit=(inp.next_admit.notnull()
                              & (inp.next_admit.delta(inp.discharge_date, unit="day") <= readmission_days)).cast("int8"))
    base = c.group_by("provider_id").aggregate(
        cases=c.count(), amount=c.amt.sum(), expected=c.exp_amt.sum(), vt_expected=c.vt_amt.sum(),
        days=c.admit_date.nunique())
    stays = inp.group_by("provider_id").aggregate(stays=inp.count(), los=inp.los.sum(), exp_los=inp.exp_los.sum(),
                                                  readmits=inp.readmit.sum())
    ln = t.lines.join(t.claims.select("claim_id", "provider_id"), "claim_id")
    ln = ln.mutate(a=ln.amount.cast("float64"))
    lines = ln.group_by("provider_id").aggregate(line_amount=ln.a.sum(),
                                                 class_c=ln.a.sum(where=ln.catalog_class == "C"))
    j = base.left_join(stays, "provider_id").drop("provider_id_right")
    j = j.left_join(lines, "provider_id").drop("provider_id_right")
    return j.select(
        "provider_id", "cases", "amount",
        cost_per_case=(j.amount / j.cases).round(2),
        cost_index=(j.amount / j.expected).round(4),
        case_mix_index=(j.expected / j.vt_expected).round(4),
        los_index=ibis.ifelse(j.exp_los > 0, j.los / j.exp_los, ibis.null("float64")).round(4),
        readmission_rate=ibis.ifelse(j.stays > 0, j.readmits / j.stays, ibis.null("float64")).round(4),
        class_c_share=ibis.ifelse(j.line_amount > 0, j.class_c.fill_null(0) / j.line_amount,
                                  ibis.null("float64")).round(4),
        cases_per_day=(j.cases / j.days).round(3),
        stays=j.stays.fill_null(0), readmits=j.readmits.fill_null(0),
    )


def robust_z(x: pd.Series, groups: pd.Series) -> pd.Series:
    """(x - group median) / (1.4826 x group MAD); 0 where the MAD is 0 and x is the median."""
    med = x.groupby(groups).transform("median")
    mad = (x - med).abs().groupby(groups).transform("median") * 1.4826
    z = (x - med) / mad.replace(0, np.nan)
    z[(mad == 0) & (x == med)] = 0.0
    # a zero MAD with x away from the median: scale by the mean absolute deviation instead
    mean_ad = (x - med).abs().groupby(groups).transform("mean") * 1.2533
    left = z.isna() & x.notna()
    z[left] = ((x - med) / mean_ad.replace(0, np.nan))[left]
    return z


def readmission_z(df: pd.DataFrame) -> pd.Series:
    """How surprising a provider's readmissions are, as a z-score: the Poisson tail probability of at
    least its number of readmissions given its stays and its peer group's pooled rate, turned into a
    standard normal quantile (one-sided, 0 at or below expectation). A robust z of the raw rate would make 1 readmission in 6 stays an extreme
    outlier wherever most peers have none (zero median and MAD); the tail probability weighs the count
    by the stays behind it."""
    from scipy.stats import norm, poisson

    peer = df.groupby("peer_group")[["readmits", "stays"]].transform("sum")
    rate = (peer.readmits / peer.stays.where(peer.stays > 0)).fillna(0.0).to_numpy(float)
    lam = np.maximum(df.stays.to_numpy(float) * rate, 1e-9)
    k = df.readmits.to_numpy(float)
    p = poisson.sf(k - 1, lam)  # P(X >= k)
    # one-sided: fewer readmissions than peers is no evidence of anything (z = 0)
    z = np.clip(norm.isf(np.clip(p, 1e-300, 1.0)), 0.0, 10.0)
    return pd.Series(np.where(df.stays.to_numpy() > 0, z, np.nan), index=df.index)


def above_peers(Z: np.ndarray) -> np.ndarray:
    """The z-scores the anomaly score sees: above the peers only (see the module docstring), capped."""
    return np.clip(np.nan_to_num(Z, nan=0.0), 0.0, 50.0)


def anomaly_score(Z: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Isolation Forest score (higher = more unusual) of providers' signed z-scores, fit on their parts
    above the peers: a provider far below its peers scores like one at the median."""
    A = above_peers(Z)
    if len(A) < 2:
        return np.zeros(len(A))
    forest = IsolationForest(n_estimators=300, random_state=seed).fit(A)
    return np.round(-forest.score_samples(A), 4)


def drivers(Z: np.ndarray, *, top: int = 3) -> list[str]:
    """Per provider: the features above its peers by at least 1 robust SD, largest first (at most `top`)."""
    A = above_peers(Z)
    order = np.argsort(-A, axis=1, kind="stable")[:, :top]
    return [", ".join(f"{FEATURES[k]} z={A[i, k]:+.1f}" for k in order[i] if A[i, k] >= 1) for i in range(len(A))]


UPCODING_CASE_MIX_Z = 5.0  # case-mix index this many robust SDs above the peers' ...
UPCODING_COST_Z = 1.0      # ... with a cost index above the peers' too: suspected upcoding (高套编码)


def provider_profiles(source, *, min_peers: int = 5, top: int = 3, seed: int = 0,
                      readmission_days: int = 30) -> pd.DataFrame:
    """One row per provider with claims: features, peer group, robust z of each feature, the Isolation
    Forest score, its rank and the drivers. Ranked by score."""
    t = source if isinstance(source, Tables) else Tables.from_warehouse(source)
    f = provider_features(t, readmission_days=readmission_days).to_pyarrow().to_pandas()
    prov = t.providers.select("provider_id", "name", "region_code", "level", "type").to_pyarrow().to_pandas()
    df = prov.merge(f, on="provider_id", how="inner")
    if df.empty:
        return df
    df["peer_group"] = "L" + df.level.astype(str) + " " + df.type.astype(str)
    size = df.groupby("peer_group").provider_id.transform("size")
    df.loc[size < min_peers, "peer_group"] = "any " + df.type.astype(str)
    zcols = []
    for feat in FEATURES:
        z = readmission_z(df) if feat == "readmission_rate" else robust_z(df[feat].astype(float), df.peer_group)
        df[f"z_{feat}"] = z.round(3)
        zcols.append(f"z_{feat}")
    Z = df[zcols].fillna(0.0).clip(-50, 50).to_numpy()
    df["score"] = anomaly_score(Z, seed=seed)
    df["max_z_above"] = above_peers(Z).max(axis=1).round(3)
    # the explicit screen for upcoding: diagnoses far more severe than the peers' (case-mix index) and
    # billed above them (cost index); the score above ranks every kind of oddity, this names one
    df["upcoding_suspect"] = ((df.z_case_mix_index >= UPCODING_CASE_MIX_Z)
                              & (df.z_cost_index >= UPCODING_COST_Z)).fillna(False)
    df["drivers"] = drivers(Z, top=top)
    df = df.sort_values(["score", "max_z_above"], ascending=False, kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df
