"""Population-weighted inequality measures of a regional indicator.

Regions differ greatly in size, so every measure weights a region by its share p_i of the weight
(resident population or insured persons); the weighted mean is m = sum p_i y_i.

* Williamson coefficient of variation: sqrt(sum p_i (y_i - m)^2) / m.
* Gini: from the weighted Lorenz curve, G = 1 - sum_k p_k (L_{k-1} + L_k) over regions sorted by y
  (exact for grouped data; equals sum_i sum_j p_i p_j |y_i - y_j| / (2m)).
* Theil T: sum p_i (y_i/m) ln(y_i/m); Theil L (mean log deviation): sum p_i ln(m/y_i).
* Decomposition by a grouping g: T = sum_g s_g T_g + sum_g s_g ln(m_g/m), s_g = the group's share of
  the total (P_g m_g / m); L = sum_g P_g L_g + sum_g P_g ln(m/m_g), P_g = the group's weight share.
  Between + within = total exactly.
* max/min ratio of the indicator (unweighted: the extremes).

A region of weight 0 (no population, no insured) is left out of every measure, the counts and
extremes included, and counted in ``n_zero_weight_left_out``.

With equal weights these are the textbook unweighted measures; the tests check Gini and Theil T (with
its decomposition) against PySAL ``inequality``. Theil T and L need y > 0: a region with y <= 0 is
an error, not silently dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _kept(y, w):
    """(y, w, regions left out for a zero weight): regions without a value or a weight dropped, and those
    of weight 0 too (a region that weighs nothing takes no part in any measure: not in the weighted
    ones, nor in n, min, max or the max/min ratio)."""
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    keep = ~(np.isnan(y) | np.isnan(w))
    y, w = y[keep], w[keep]
    if (w < 0).any():
        raise ValueError("weights must not be negative")
    zero = w == 0
    return y[~zero], w[~zero], int(zero.sum())


def _prep(y, w, with_zero: bool = False):
    y, w, zero = _kept(y, w)
    if y.size == 0 or w.sum() <= 0:
        raise ValueError("no region with a value and a positive weight")
    return (y, w / w.sum(), zero) if with_zero else (y, w / w.sum())


def lorenz(y, w=None) -> pd.DataFrame:
    """Points of the weighted Lorenz curve, from (0, 0) to (1, 1): cumulative weight share and
    cumulative share of the total (y x weight), regions sorted by y."""
    y, p = _prep(y, w)
    order = np.argsort(y, kind="stable")
    y, p = y[order], p[order]
    share = y * p / (y * p).sum()
    return pd.DataFrame({"weight_share": np.concatenate([[0.0], np.cumsum(p)]),
                         "value_share": np.concatenate([[0.0], np.cumsum(share)])})


def gini(y, w=None) -> float:
    lc = lorenz(y, w)
    dp = np.diff(lc.weight_share.to_numpy())
    lv = lc.value_share.to_numpy()
    return float(1 - (dp * (lv[:-1] + lv[1:])).sum())


def _theil(y, p):
    if (y <= 0).any():
        raise ValueError("Theil indices need positive values")
    m = (p * y).sum()
    r = y / m
    return float((p * r * np.log(r)).sum()), float((p * np.log(1 / r)).sum())


def measures(y, w=None) -> dict:
    """Weighted mean, Williamson CV, Gini, Theil T, Theil L, max/min ratio, n; regions of weight 0 are
    left out of every figure (n, min and max included), ``n_zero_weight_left_out`` says how many."""
    y, p, zero = _prep(y, w, with_zero=True)
    m = float((p * y).sum())
    cv = float(np.sqrt((p * (y - m) ** 2).sum()) / m) if m else np.nan
    try:
        t, ll = _theil(y, p)
    except ValueError:
        t, ll = np.nan, np.nan
    return {"n": int(y.size), "n_zero_weight_left_out": zero, "weighted_mean": m, "min": float(y.min()), "max": float(y.max()),
            "max_min_ratio": float(y.max() / y.min()) if y.min() > 0 else np.nan,
            "williamson_cv": cv, "gini": gini(y, p), "theil_t": t, "theil_l": ll}


def theil_decomposition(y, w, groups) -> dict:
    """Theil T and L split into between-group and within-group parts (they sum to the total)."""
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    g = np.asarray(groups)
    keep = ~(np.isnan(y) | np.isnan(w)) & (w != 0)   # weight 0: left out, as in `measures`
    y, w, g = y[keep], w[keep], g[keep]
    p = w / w.sum()
    t_total, l_total = _theil(y, p)
    m = (p * y).sum()
    t_within = t_between = l_within = l_between = 0.0
    for key in pd.unique(g):
        k = g == key
        pg = p[k].sum()
        mg = (p[k] * y[k]).sum() / pg
        tg, lg = _theil(y[k], p[k] / pg)
        sg = pg * mg / m
        t_within += sg * tg
        t_between += sg * np.log(mg / m)
        l_within += pg * lg
        l_between += pg * np.log(m / mg)
    return {"theil_t": t_total, "theil_t_between": float(t_between), "theil_t_within": float(t_within),
            "theil_l": l_total, "theil_l_between": float(l_between), "theil_l_within": float(l_within)}
