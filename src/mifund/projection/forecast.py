"""Trend baselines on the ledger series and the backtest of every method, the cohort model included.

- :func:`gm11` — the grey model GM(1,1) of Chinese fund studies (no maintained library has it): 1-AGO,
  background values z(k) = (x1(k) + x1(k-1)) / 2, least squares [a, b] from x0(k) = -a z(k) + b, time
  response x1^(k+1) = (x0(1) - b/a) e^{-ak} + b/a, restored by differences. Admissibility: every level
  ratio x0(k-1)/x0(k) inside (e^{-2/(n+1)}, e^{2/(n+1)}). Accuracy: posterior-error ratio C = S2/S1
  (residual sd over data sd) and small-error probability P = share of |e(k) - mean e| < 0.6745 S1;
  grade good C <= 0.35 and P >= 0.95, qualified C <= 0.5 and P >= 0.80, barely C <= 0.65 and
  P >= 0.70, else unqualified (the grading table of Deng Julong's grey-system textbooks).
- :func:`ets_forecast` (statsmodels Holt's additive trend) and :func:`arima_forecast` (statsmodels
  ARIMA(1,1,0) with drift).
- :func:`backtest` — for each region x scheme of the warehouse's ledger: fit on years up to T-k, forecast
  k years ahead, MAPE of income, expenditure and balance per method.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

SERIES = ("income_total", "expenditure_total", "balance_end")


@dataclass
class GM11:
    a: float
    b: float
    x0: np.ndarray
    fitted: np.ndarray
    level_ratios: np.ndarray
    admissible: bool
    ratio_bounds: tuple[float, float]
    C: float
    P: float
    grade: str

    def predict(self, steps: int) -> np.ndarray:
        """The next ``steps`` restored values after the data."""
        n = len(self.x0)
        k = np.arange(n - 1, n + steps)
        x1 = (self.x0[0] - self.b / self.a) * np.exp(-self.a * k) + self.b / self.a
        return np.diff(x1)


def gm11(x0) -> GM11:
    x0 = np.asarray(x0, dtype=float)
    n = len(x0)
    if n < 4:
        raise ValueError(f"GM(1,1) needs at least 4 values, got {n}")
    if (x0 <= 0).any():
        raise ValueError("GM(1,1) needs positive values (shift the series by a constant first)")
    ratios = x0[:-1] / x0[1:]
    lo, hi = np.exp(-2 / (n + 1)), np.exp(2 / (n + 1))
    x1 = np.cumsum(x0)
    z = 0.5 * (x1[1:] + x1[:-1])
    B = np.column_stack([-z, np.ones(n - 1)])
    (a, b), *_ = np.linalg.lstsq(B, x0[1:], rcond=None)
    if a == 0:
        raise ValueError("GM(1,1): development coefficient a is 0 (a constant series)")
    k = np.arange(n)
    x1hat = (x0[0] - b / a) * np.exp(-a * k) + b / a
    fitted = np.concatenate([[x0[0]], np.diff(x1hat)])
    e = x0 - fitted
    s1, s2 = x0.std(), e.std()
    C = s2 / s1 if s1 > 0 else np.inf
    P = float(np.mean(np.abs(e - e.mean()) < 0.6745 * s1))
    if C <= 0.35 and P >= 0.95:
        grade = "good"
    elif C <= 0.5 and P >= 0.80:
        grade = "qualified"
    elif C <= 0.65 and P >= 0.70:
        grade = "barely qualified"
    else:
        grade = "unqualified"
    return GM11(a=float(a), b=float(b), x0=x0, fitted=fitted, level_ratios=ratios,
                admissible=bool(((ratios > lo) & (ratios < hi)).all()), ratio_bounds=(lo, hi), C=float(C), P=P,
                grade=grade)


def gm11_forecast(x, steps: int) -> np.ndarray:
    """GM(1,1) forecast; a series with non-positive values is shifted up by a constant first."""
    x = np.asarray(x, dtype=float)
    shift = 0.0 if x.min() > 0 else -x.min() + max(abs(x).max(), 1.0)
    return gm11(x + shift).predict(steps) - shift


def ets_forecast(x, steps: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(np.asarray(x, dtype=float), trend="add", initialization_method="estimated").fit()
    return np.asarray(fit.forecast(steps))


def arima_forecast(x, steps: int) -> np.ndarray:
    from statsmodels.tsa.arima.model import ARIMA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ARIMA(np.asarray(x, dtype=float), order=(1, 1, 0), trend="t").fit()
    return np.asarray(fit.forecast(steps))


def naive_forecast(x, steps: int) -> np.ndarray:
    """Random walk with the fit window's average change (the drift baseline every method should beat)."""
    x = np.asarray(x, dtype=float)
    drift = (x[-1] - x[0]) / (len(x) - 1)
    return x[-1] + drift * np.arange(1, steps + 1)


METHODS = {"gm11": gm11_forecast, "ets": ets_forecast, "arima": arima_forecast, "drift": naive_forecast}


def _cohort_forecast(hist: pd.DataFrame, unit: pd.Series, k: int, scenario) -> dict[str, np.ndarray]:
    """The cohort model from the fit window: base = last fit year, trends estimated from the window.

    Medical inflation x utilisation is set to the window's growth of expenditure per insured net of the
    cohort model's own ageing effect (approximated by the whole trend), wage growth to the growth of
    contributions per insured, enrolment drift to the insured trend; everything else from ``scenario``.
    """
    import copy

    from mifund.projection.base import build_base
    from mifund.projection.engine import project

    h = hist.sort_values("year")
    n = len(h) - 1

    def cagr(col):
        v0, v1 = float(h[col].iloc[0]), float(h[col].iloc[-1])
        return (v1 / v0) ** (1 / n) - 1 if v0 > 0 and v1 > 0 else 0.0

    s = copy.deepcopy(scenario)
    ins_g = cagr("insured")
    per_exp = (1 + cagr("expenditure_total")) / (1 + ins_g) - 1
    contrib = h["income_total"] - h["income_interest"].fillna(0) if "income_interest" in h else h["income_total"]
    c0, c1 = float(contrib.iloc[0]), float(contrib.iloc[-1])
    per_inc = ((c1 / c0) ** (1 / n) if c0 > 0 and c1 > 0 else 1.0) / (1 + ins_g) - 1
    a = s.assumptions
    a.medical_inflation.mean, a.utilisation_trend.mean = per_exp, 0.0
    a.wage_growth.mean = per_inc
    getattr(a.enrolment_change, unit["scheme"]).mean = ins_g
    a.employee_entry_rate.value = 0.0
    a.birth_rate.value = 0.0
    last_year = int(h["year"].iloc[-1])
    # residents: the standard grows with the window's income per insured (no dated standards)
    lv = s.levers
    lv.resident_individual.values = {last_year: 1.0}
    lv.resident_fiscal.values = {last_year: 0.0}
    lv.financing_growth.values = {last_year: per_inc}
    lv.employee_pooled_rate.values = {last_year: 1.0}
    lv.expenditure_factor.values = {last_year: 1.0}
    s.assumptions.wage_growth.mean = per_inc
    ledger = h.assign(month=np.nan)
    base = build_base(ledger, base_year=last_year, region_codes=[unit["region_code"]], schemes=[unit["scheme"]])
    # no ageing inside the window's trends: the trends above already contain it
    cohorts = np.repeat(base.insured[None], k + 1, axis=0)
    p = project(base, s, paths=0, years=k, cohorts=cohorts)
    return {"income_total": p.income[0, 0], "expenditure_total": p.expenditure[0, 0], "balance_end": p.balance[0, 0]}


def backtest(ledger: pd.DataFrame, *, k: int = 3, min_fit: int = 5, scenario=None,
             region_codes: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(errors, summary). errors: one row per unit x method x series x horizon year with the forecast, the
    actual and the absolute percentage error; summary: MAPE per method x series (x scheme).

    Fit on years up to T-k (T = the unit's last ledger year), forecast the k later years. Units are the
    region x scheme series of :func:`mifund.projection.base.pick_units` with at least ``min_fit`` fit years.
    """
    from mifund.projection.scenario import load_scenario

    scenario = scenario or load_scenario()
    led = ledger[ledger["month"].isna()] if "month" in ledger.columns else ledger
    rank = {("resident", "pooled"): 0, ("employee", "pooled"): 0, ("employee", "combined"): 1}
    led = led[[(s, f) in rank for s, f in zip(led["scheme"], led["fund"], strict=True)]]
    if region_codes:
        led = led[led["region_code"].isin(region_codes)]
    rows = []
    for (region, scheme, fund), g in led.groupby(["region_code", "scheme", "fund"]):
        g = g.sort_values("year")
        years = g["year"].to_numpy()
        if len(g) < min_fit + k or not (np.diff(years) == 1).all():
            continue
        fit, test = g.iloc[:-k], g.iloc[-k:]
        unit = pd.Series({"region_code": region, "scheme": scheme})
        forecasts = {m: {c: f(fit[c].to_numpy(float), k) for c in SERIES} for m, f in METHODS.items()}
        try:
            forecasts["cohort"] = _cohort_forecast(fit, unit, k, scenario)
        except ValueError:
            pass
        for method, fc in forecasts.items():
            for col in SERIES:
                actual = test[col].to_numpy(float)
                for i in range(k):
                    rows.append({"region_code": region, "scheme": scheme, "fund": fund, "method": method,
                                 "series": col, "fit_to": int(fit["year"].iloc[-1]), "year": int(test["year"].iloc[i]),
                                 "horizon": i + 1, "forecast": float(fc[col][i]), "actual": actual[i],
                                 "ape": abs(fc[col][i] - actual[i]) / abs(actual[i]) if actual[i] else np.nan})
    errors = pd.DataFrame(rows)
    if errors.empty:
        return errors, errors
    summary = (errors.groupby(["scheme", "series", "method"], as_index=False)
               .agg(units=("region_code", "nunique"), mape=("ape", "mean"), max_ape=("ape", "max")))
    summary = summary.sort_values(["scheme", "series", "mape"]).reset_index(drop=True)
    return errors, summary
