"""Review fix of pooling's Monte Carlo input: a county-year of zero income or expenditure (no log growth)
is left out of the growth fit with a note, or is a clear error naming the region and year; never
scikit-learn's "Input X contains infinity"."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mifund.pooling.data import PoolingDataError, monte_carlo_input
from mifund.pooling.engine import PoolingInput

runner = CliRunner()


def history(zero_at: tuple[int, int] | None, years: int = 6, what: str = "expenditure") -> PoolingInput:
    rng = np.random.default_rng(0)
    g = np.cumprod(1 + rng.normal(0.05, 0.02, (2, years)), axis=1)
    inc, exp = 1000 * g, 900 * g[::-1]
    if zero_at is not None:
        (exp if what == "expenditure" else inc)[zero_at] = 0.0
    return PoolingInput(["369901", "369902"], list(range(2019, 2019 + years)), inc, exp, np.array([500.0, 500.0]))


def _mc(hist: PoolingInput, **kw) -> PoolingInput:
    return monte_carlo_input(hist, np.array([1000.0, 1000.0]), horizon=5, n_paths=50, seed=1,
                             opening_balance=np.array([500.0, 500.0]), **kw)


def test_a_zero_year_is_left_out_of_the_fit_with_a_note():
    inp = _mc(history((1, 2)))                           # 369902 spent nothing in 2021
    assert np.isfinite(inp.income).all() and np.isfinite(inp.expenditure).all()
    assert len(inp.notes) == 1 and "369902/2021 (expenditure 0)" in inp.notes[0], inp.notes
    assert "3 of 5 steps kept" in inp.notes[0]           # 2020->2021 and 2021->2022 left out
    assert _mc(history(None)).notes == []
    # the steps kept are exactly those of a history without the year: the same fit, the same paths
    clean = history(None)
    keep = [0, 3, 4]                                     # growth steps 2019->20, 2022->23, 2023->24
    same = _mc(history((1, 2)))
    g_inc = np.diff(np.log(clean.income), axis=1)[:, keep]
    assert np.allclose(np.log(same.income[:, :, 0] / clean.income[None, :, -1]).mean(axis=0),
                       g_inc.mean(axis=1), atol=0.05)


def test_zero_in_the_last_year_or_too_few_steps_is_an_error_naming_it():
    with pytest.raises(PoolingDataError, match=r"last year 2024.*369901/2024 \(income 0\)"):
        _mc(history((0, 5), what="income"))
    with pytest.raises(PoolingDataError, match=r"369902/2020 \(expenditure 0\).*fewer than 2"):
        _mc(history((1, 1), years=3))


def test_pooling_compare_with_paths_on_a_zero_year(env, tmp_path):
    from mifund.cli import app as root
    from mifund.pooling.cli import app as pooling_app

    (tmp_path / "regions.csv").write_text(
        "region_code,name,name_en,level,parent_code\n369900,测试市,Testcity,city,\n369901,甲县,A,county,369900\n"
        "369902,乙县,B,county,369900\n", encoding="utf-8")
    led = ["region_code,year,scheme,fund,insured,income_total,income_individual,income_fiscal_subsidy,"
           "income_interest,expenditure_total,balance_end"]
    b1 = b2 = 1000
    for y in range(2019, 2025):
        e2 = 0 if y == 2021 else 950 + 10 * (y - 2019)
        b1, b2 = b1 + 1000 + 20 * (y - 2019) - 800, b2 + 1000 + 20 * (y - 2019) - e2
        led += [f"369901,{y},resident,pooled,1000,{1000 + 20 * (y - 2019)},300,700,0,800,{b1}",
                f"369902,{y},resident,pooled,1000,{1000 + 20 * (y - 2019)},300,700,0,{e2},{b2}"]
    (tmp_path / "fund_ledger.csv").write_text("\n".join(led) + "\n", encoding="utf-8")
    r = runner.invoke(root, ["import", str(tmp_path / "regions.csv"), str(tmp_path / "fund_ledger.csv")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(pooling_app, ["compare", "--paths", "30"])
    assert r.exit_code == 0, r.output
    assert "369902/2021 (expenditure 0)" in " ".join(r.output.split()) and "Traceback" not in r.output
