"""Weighted disparity measures: hand-worked cases, agreement with PySAL `inequality` at equal weights,
the Theil decomposition summing to the total, weights acting as replication."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inequality.gini import Gini
from inequality.theil import Theil, TheilD

from mifund.disparity.measures import gini, lorenz, measures, theil_decomposition


def test_two_regions_by_hand():
    # y = 1 (weight 3), 3 (weight 1): mean (3 + 3)/4 = 1.5.
    # Williamson: sqrt(0.75 * 0.25 + 0.25 * 2.25) / 1.5 = sqrt(0.75) / 1.5 = 0.57735
    # Gini: pairs 2 * 0.75 * 0.25 * |1 - 3| / (2 * 1.5) = 0.25
    # Theil T: 0.75 * (2/3) ln(2/3) + 0.25 * 2 ln 2 = 0.5 ln(2/3) + 0.5 ln 2 = 0.5 ln(4/3)
    # Theil L: 0.75 ln(1.5) + 0.25 ln(0.5)
    m = measures([1, 3], [3, 1])
    assert m["weighted_mean"] == pytest.approx(1.5)
    assert m["williamson_cv"] == pytest.approx(math.sqrt(0.75) / 1.5)
    assert m["gini"] == pytest.approx(0.25)
    assert m["theil_t"] == pytest.approx(0.5 * math.log(4 / 3))
    assert m["theil_l"] == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert m["max_min_ratio"] == 3
    lc = lorenz([3, 1], [1, 3])
    assert lc.weight_share.tolist() == pytest.approx([0, 0.75, 1])
    assert lc.value_share.tolist() == pytest.approx([0, 0.5, 1])


def test_equality_gives_zero():
    m = measures([5, 5, 5], [1, 10, 100])
    assert m["gini"] == pytest.approx(0) and m["theil_t"] == pytest.approx(0) and m["williamson_cv"] == 0


values = st.lists(st.floats(0.5, 1000, allow_nan=False), min_size=2, max_size=30)


@settings(max_examples=80, deadline=None)
@given(values)
def test_equal_weights_agree_with_pysal(y):
    y = np.array(y)
    m = measures(y)
    assert m["gini"] == pytest.approx(Gini(y).g, abs=1e-9)
    assert m["theil_t"] == pytest.approx(Theil(y).T, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_decomposition_sums_and_matches_pysal(y, data):
    y = np.array(y)
    groups = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(y), max_size=len(y))))
    d = theil_decomposition(y, None, groups)
    ref = TheilD(y, groups)
    assert d["theil_t"] == pytest.approx(ref.T, abs=1e-9)
    assert d["theil_t_between"] == pytest.approx(float(np.ravel(ref.bg)[0]), abs=1e-9)
    assert d["theil_t_within"] == pytest.approx(float(np.ravel(ref.wg)[0]), abs=1e-9)
    w = np.array(data.draw(st.lists(st.floats(0.1, 50), min_size=len(y), max_size=len(y))))
    dw = theil_decomposition(y, w, groups)
    assert dw["theil_t_between"] + dw["theil_t_within"] == pytest.approx(dw["theil_t"], abs=1e-12)
    assert dw["theil_l_between"] + dw["theil_l_within"] == pytest.approx(dw["theil_l"], abs=1e-12)
    assert dw["theil_t_between"] >= -1e-12 and dw["theil_l_between"] >= -1e-12


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_integer_weights_equal_replication(y, data):
    # a region with weight k counts as k equal regions: compare with PySAL on the replicated list
    k = np.array(data.draw(st.lists(st.integers(1, 4), min_size=len(y), max_size=len(y))))
    rep = np.repeat(np.array(y), k)
    m = measures(y, k)
    assert m["gini"] == pytest.approx(Gini(rep).g, abs=1e-9)
    assert m["theil_t"] == pytest.approx(Theil(rep).T, abs=1e-9)
    # the pairwise definition of the weighted Gini
    p = k / k.sum()
    yy = np.array(y)
    pair = (p[:, None] * p[None, :] * np.abs(yy[:, None] - yy[None, :])).sum() / (2 * (p * yy).sum())
    assert gini(y, k) == pytest.approx(pair, abs=1e-9)


def test_theil_rejects_non_positive():
    with pytest.raises(ValueError):
        theil_decomposition([0.0, 1.0], None, [0, 1])
    assert math.isnan(measures([0.0, 1.0])["theil_t"])
