"""GM(1,1) against a worked example from the literature, and the statsmodels baselines."""

from __future__ import annotations

import numpy as np
import pytest

from mifund.projection.forecast import arima_forecast, ets_forecast, gm11, gm11_forecast, naive_forecast


def test_gm11_worked_example():
    """The textbook example x0 = (2.874, 3.278, 3.337, 3.390, 3.679) (Deng Julong's grey-system textbook
    example, reproduced in 司守奎《数学建模算法与应用》, chapter 'grey prediction'; verify the edition):
    published a = -0.0372, b = 3.0654, x1^(k+1) = 85.2761 e^{0.0372 k} - 82.4021 (rounded), restored
    values 3.2320, 3.3545, 3.4817, 3.6137. Level ratios 0.8768 .. 0.9844 lie inside
    (e^{-2/6}, e^{2/6}) = (0.7165, 1.3956): admissible. Hand check of the first restored value:
    (x0(1) - b/a)(e^{-a} - 1) e^{0} = 85.2665 * (e^{0.037204} - 1) = 3.2320."""
    m = gm11([2.874, 3.278, 3.337, 3.390, 3.679])
    assert m.a == pytest.approx(-0.0372, abs=5e-5)
    assert m.b == pytest.approx(3.0654, abs=5e-5)
    np.testing.assert_allclose(m.fitted[1:], [3.2320, 3.3545, 3.4817, 3.6137], atol=5e-4)
    assert m.admissible
    np.testing.assert_allclose(m.ratio_bounds, [np.exp(-2 / 6), np.exp(2 / 6)])
    np.testing.assert_allclose(m.level_ratios, [2.874 / 3.278, 3.278 / 3.337, 3.337 / 3.390, 3.390 / 3.679])
    # posterior-error ratio and small-error probability, by their definitions
    e = m.x0 - m.fitted
    assert m.C == pytest.approx(e.std() / m.x0.std())
    assert m.P == pytest.approx(np.mean(np.abs(e - e.mean()) < 0.6745 * m.x0.std()))
    assert m.grade in ("good", "qualified", "barely qualified", "unqualified")
    assert m.predict(1)[0] == pytest.approx(3.7507, abs=5e-4)


def test_gm11_exact_on_a_geometric_series_and_refuses_bad_input():
    x = 100 * 1.08 ** np.arange(8)
    m = gm11(x)
    assert m.C < 0.05 and m.P == 1 and m.grade == "good"
    np.testing.assert_allclose(m.predict(2), 100 * 1.08 ** np.array([8, 9]), rtol=2e-3)
    with pytest.raises(ValueError, match="at least 4"):
        gm11([1, 2, 3])
    with pytest.raises(ValueError, match="positive"):
        gm11([1, -2, 3, 4])
    assert not gm11([1, 10, 1, 10, 1]).admissible
    # a series crossing zero is shifted first
    assert np.isfinite(gm11_forecast([50, 20, -10, -40, -70], 2)).all()


def test_baselines_follow_a_linear_trend():
    x = 1000 + 50 * np.arange(10.0)
    for f in (ets_forecast, arima_forecast, naive_forecast):
        np.testing.assert_allclose(f(x, 3), [1500, 1550, 1600], rtol=0.02, err_msg=f.__name__)
