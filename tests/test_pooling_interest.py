"""Interest in the pooling modes: each mode earns it on the balances it holds (county funds, the adjustment
pot, the city fund), not on the counties' stand-alone balances (review finding 6)."""

from __future__ import annotations

import numpy as np
import pytest

from mifund.pooling.engine import PoolingInput, simulate
from mifund.pooling.params import load_modes
from mifund.pooling.report import compare, conservation, run_modes

MODES = load_modes()
# the adjustment pot pays what a balance would lack to stay >= 0 (5 % contributions, cap 3 x contribution,
# no county responsibility for an "other" deficit): the pot keeps money from one year to the next
AF = MODES.modes["adjustment_fund"].model_copy(update={"adjustment_fund": MODES.modes[
    "adjustment_fund"].adjustment_fund.model_copy(update={"draw_trigger": "balance_shortfall"})})
MODES_BAL = MODES.model_copy(update={"modes": {**MODES.modes, "adjustment_fund": AF}})

# Two counties, two years, interest 10 % on each fund's opening balance of the year (yuan).
#   A: opening 1000; income 1000 and expenditure 1000 in both years.
#   B: opening 0; year 1 income 1000, expenditure 1010 (deficit 10); year 2 income 1000, expenditure 1000.
# Stand-alone (the projection's own balances, no top-ups): A earns 100 then 110 (1100, 1210); B is at -10
# after year 1 and earns nothing. Stand-alone interest 210, which the old code credited to every mode.
TWO = PoolingInput(["A", "B"], [2025, 2026], np.array([[1000.0, 1000.0], [1000.0, 1000.0]]),
                   np.array([[1000.0, 1000.0], [1010.0, 1000.0]]), np.array([1000.0, 0.0]), interest_rate=0.10)


def test_each_mode_earns_interest_on_its_own_balances_by_hand():
    res = run_modes(TWO, MODES_BAL)
    # County pooling: A as stand-alone, 100 + 110 -> 1210; B's treasury tops up its -10, so B holds 0
    # and earns 0. Interest 210, top-ups 10, money 1210 = 1000 + 4000 - 4010 + 210 + 10.
    c = res["county"]
    np.testing.assert_allclose(c.county["interest"][0], [[100, 110], [0, 0]])
    np.testing.assert_allclose(c.county["balance_end"][0], [[1100, 1210], [0, 0]])
    assert c.total_interest()[0] == pytest.approx(210) and c.money_end()[0] == pytest.approx(1210)
    # Adjustment fund: year 1 A earns 100; contributions 50 + 50 = 100 go to the pot; A keeps
    # 1000 + 100 + 1000 - 50 - 1000 = 1050; B would be at 1000 - 50 - 1010 = -60 and draws 60 (cap 150):
    # the pot keeps 40. Year 2 A earns 105 (10 % of 1050), the pot earns 4 (10 % of 40); A keeps
    # 1050 + 105 - 50 = 1105; B would be at -50 and draws 50 of 40 + 4 + 100 = 144: the pot keeps 94.
    # Interest 100 + 105 + 4 = 209; money 1105 + 0 + 94 = 1199 = 1000 + 4000 - 4010 + 209, no top-ups.
    a = res["adjustment_fund"]
    np.testing.assert_allclose(a.county["interest"][0], [[100, 105], [0, 0]])
    np.testing.assert_allclose(a.pool_interest[0], [0, 4])
    np.testing.assert_allclose(a.county["received_from_pool"][0], [[0, 0], [60, 50]])
    np.testing.assert_allclose(a.pool_balance[0], [40, 94])
    assert a.total_interest()[0] == pytest.approx(209) and a.money_end()[0] == pytest.approx(1199)
    # Unified: one city fund of 1000. Year 1 it earns 100 and pays B's 10: 1090. Year 2 it earns 109 (not
    # 110: the 10 it paid for B earns nothing): 1199. The stand-alone interest would have given 1200.
    # Claims: the interest goes to the positive claims, A's alone: A 1100 then 1209, B -10; sum 1199.
    for name in ("unified_tiered", "unified_vertical"):
        u = res[name]
        np.testing.assert_allclose(u.pool_interest[0], [100, 109])
        np.testing.assert_allclose(u.pool_balance[0], [1090, 1199])
        np.testing.assert_allclose(u.county["balance_end"][0], [[1100, 1209], [-10, -10]])
        assert u.total_interest()[0] == pytest.approx(209) and u.total_topups()[0] == 0
    # Conservation: money_end - top-ups - the mode's own interest = 1000 + 4000 - 4010 = 990 in every
    # mode; the interest itself differs (210 where B's deficit was topped up by its treasury, 209 where
    # pooled money paid it and no longer earns).
    cons = conservation(TWO, res).set_index("mode")
    assert (cons.difference < 1e-9).all()
    np.testing.assert_allclose(cons.money_end_less_topups - cons.interest, 990)
    assert cons.interest.round(6).to_dict() == {"county": 210, "adjustment_fund": 209, "unified_tiered": 209,
                                                "unified_vertical": 209}
    assert compare(res, 3.0).set_index("mode").interest.round(6).to_dict() == cons.interest.round(6).to_dict()


def test_the_deficit_and_contributions_do_not_count_interest():
    # Interest is not income: B's deficit is 10 in every mode, the contributions 5 % of income alone, and
    # without a rate there is no interest (the ledger's income already holds what it earned), nor a column.
    for name, r in run_modes(TWO, MODES_BAL).items():
        np.testing.assert_allclose(r.county["deficit"][0], [[0, 0], [10, 0]], err_msg=name)
    np.testing.assert_allclose(simulate(TWO, AF, "af").county["contribution"][0], 50)
    no_rate = PoolingInput(TWO.regions, TWO.years, TWO.income, TWO.expenditure, TWO.opening_balance)
    r = run_modes(no_rate, MODES_BAL)
    assert all(x.total_interest()[0] == 0 for x in r.values())
    assert "interest" not in compare(r, 3.0).columns
