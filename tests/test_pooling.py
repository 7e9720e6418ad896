"""Pooling simulator: a hand-worked three-county example per mode (to the yuan), conservation of money
across modes, the vectorised engine against the slow reference, incentives, the demo municipality."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mifund.pooling.engine import PoolingInput, simulate
from mifund.pooling.params import ModeFile, load_modes
from mifund.pooling.reference import simulate_reference
from mifund.pooling.report import (
    conservation,
    county_years,
    cross_subsidy,
    incentives,
    mode_summary,
    run_modes,
)

MODES = load_modes()


def with_trigger(mode, trigger):
    return mode.model_copy(update={"adjustment_fund": mode.adjustment_fund.model_copy(
        update={"draw_trigger": trigger})})


# The hand-worked examples below were written for the pot paying only what a balance would lack to stay
# >= 0; the shipped mode now draws up to the safety line (tested apart, with its own figures).
AF_BALANCE = with_trigger(MODES.modes["adjustment_fund"], "balance_shortfall")
MODES_BAL = MODES.model_copy(update={"modes": {**MODES.modes, "adjustment_fund": AF_BALANCE}})

# Three counties, one year (yuan). Opening balances 100 / 50 / 20.
#   A: income 1000 = target, expenditure 900 (budget 1000): surplus 100.
#   B: income 800 against a target of 1000 (collection shortfall 200), expenditure 1000 = budget.
#   C: income 1000 = target, expenditure 1300 against a budget of 1100 (overrun 200).
THREE = dict(
    regions=["A", "B", "C"], years=[2024],
    income=np.array([[1000.0], [800.0], [1000.0]]), expenditure=np.array([[900.0], [1000.0], [1300.0]]),
    opening_balance=np.array([100.0, 50.0, 20.0]),
    income_target=np.array([[1000.0], [1000.0], [1000.0]]), expenditure_budget=np.array([[1000.0], [1000.0], [1100.0]]),
)


def three() -> PoolingInput:
    return PoolingInput(**THREE)


def col(res, name):
    return res.county[name][0, :, 0].round(6).tolist()


def variant(text: str, name: str = "v"):
    return ModeFile.model_validate(yaml.safe_load(text)).modes[name]


def test_county_mode_by_hand():
    # B: deficit 200, its balance 50 pays 50, its treasury tops up 150. C: deficit 300, balance 20 pays
    # 20, treasury 280. A keeps 100 + 100 = 200. Top-ups 430: 170 + 2800 - 3200 + 430 = 200 left.
    r = simulate(three(), MODES.modes["county"], "county")
    assert col(r, "deficit") == [0, 200, 300]
    assert col(r, "deficit_collection") == [0, 200, 0]
    assert col(r, "deficit_spending") == [0, 0, 200]
    assert col(r, "deficit_other") == [0, 0, 100]
    assert col(r, "covered_own_balance") == [0, 50, 20]
    assert col(r, "covered_county_treasury") == [0, 150, 280]
    assert col(r, "covered_city_treasury") == [0, 0, 0]
    assert col(r, "balance_end") == [200, 0, 0]
    assert r.money_end()[0] == 200


def test_adjustment_fund_by_hand():
    # Contributions 5% of income: 50, 40, 50 -> pot 140.
    # B: deficit 1000 - 800 = 200 (collection 200); the 40 contributed on top is reported apart
    #    (contribution_beyond_surplus), not as deficit; its responsibility 200 (collection).
    #    Own fund 50 + 800 - 40 - 1000 = -190 short; eligible = max(190 - 200, 0) = 0: no draw; its
    #    treasury pays 190 (within its responsibility); the balance paid 50 (of deficit + contribution 240).
    # C: deficit 1300 - 1000 = 300 (spending 200, other 100) + contribution 50; responsibility 200. Short
    #    330; eligible 130; cap 3 x 50 = 150 -> draw 130; pot 140 - 130 = 10. Still short 200 = its
    #    responsibility: county treasury 200. The balance paid 20.
    # A: 100 + 1000 - 50 - 900 = 150. Money: 150 + pot 10 = 160 = 170 + 2800 - 3200 + 390.
    r = simulate(three(), AF_BALANCE, "adjustment_fund")
    assert col(r, "contribution") == [50, 40, 50]
    assert col(r, "deficit") == [0, 200, 300]
    assert col(r, "contribution_beyond_surplus") == [0, 40, 50]
    assert col(r, "county_responsibility") == [0, 200, 200]
    assert col(r, "received_from_pool") == [0, 0, 130]
    assert col(r, "covered_own_balance") == [0, 50, 20]
    assert col(r, "covered_county_treasury") == [0, 190, 200]
    assert col(r, "covered_city_treasury") == [0, 0, 0]
    assert col(r, "balance_end") == [150, 0, 0]
    assert r.pool_balance[0, 0] == pytest.approx(10)
    cs = cross_subsidy(r)
    assert cs.net_cross_subsidy.round(6).tolist() == [-50, -40, 80]


def test_adjustment_fund_surplus_county_is_not_in_deficit():
    # A: income 1000, expenditure 980 (a surplus of 20), contribution 5% = 50: the fund needs 30 more
    # than its surplus, but its deficit is 0 (the reviewer's 西湖区 case); the 30 is
    # contribution_beyond_surplus. Opening balance 0: the pot (50 + 50 = 100) pays A's objective 30.
    # B: 1000 - 900 - 50 = 50 kept. Money: 0 + 50 + pot 70 = 120 = 2000 - 1880.
    inp = PoolingInput(["A", "B"], [2024], np.array([[1000.0], [1000.0]]), np.array([[980.0], [900.0]]),
                       np.array([0.0, 0.0]))
    r = simulate(inp, AF_BALANCE, "adjustment_fund")
    assert col(r, "deficit") == [0, 0]
    assert col(r, "contribution_beyond_surplus") == [30, 0]
    assert col(r, "covered_pool") == [30, 0]
    assert col(r, "balance_end") == [0, 50]
    assert r.pool_balance[0, 0] == pytest.approx(70)


def test_adjustment_fund_safety_line_trigger_by_hand():
    # Safety line 1.2 months: floors A 90, B 100, C 130 (1.2 x expenditure / 12). Pot 50 + 40 + 50 = 140.
    # A: 100 + 1000 - 50 - 900 = 150 >= 90: nothing. B: -190 after the year, 290 below its floor, less its
    # responsibility 200 -> asks 90 (cap 120). C: -330, 460 below, less 200 -> 260, cap 150 -> 150.
    # Asked 240 > 140: paid pro rata 7/12 -> B 52.5, C 87.5; the pot is empty.
    # B: short 137.5 <= its responsibility: county treasury 137.5. C: short 242.5: its 200, the other 42.5
    # half and half -> county 221.25, city 21.25.
    r = simulate(three(), with_trigger(MODES.modes["adjustment_fund"], "safety_line"), "af", safety_line=1.2)
    assert col(r, "received_from_pool") == [0, 52.5, 87.5]
    assert col(r, "covered_county_treasury") == [0, 137.5, 221.25]
    assert col(r, "covered_city_treasury") == [0, 0, 21.25]
    assert col(r, "covered_own_balance") == [0, 50, 20]
    assert r.pool_balance[0, 0] == pytest.approx(0)
    # a county in surplus but below the line draws too; the draw beyond its need tops its balance up:
    # one county, balance 0, income 1000, expenditure 900, pot 50: floor 1.2 x 75 = 90, after the year 50
    # -> asks 40 (cap 150) -> balance 90; nothing of it "covers" a deficit.
    one = PoolingInput(["A"], [2024], np.array([[1000.0]]), np.array([[900.0]]), np.array([0.0]))
    r = simulate(one, with_trigger(MODES.modes["adjustment_fund"], "safety_line"), "af", safety_line=1.2)
    assert col(r, "received_from_pool") == [40] and col(r, "covered_pool") == [0]
    assert col(r, "balance_end") == [90] and r.pool_balance[0, 0] == pytest.approx(10)
    with pytest.raises(ValueError, match="safety line"):
        simulate(one, with_trigger(MODES.modes["adjustment_fund"], "safety_line"), "af")


def test_a_county_topped_up_to_the_safety_line_is_not_below_it():
    """The safety_line trigger tops county A up to exactly 3 months: expenditure 421,736.14 (the demo's
    360103 in 2015), opening balance 0.2 x that, income = expenditure, contribution 5 % = 21,086.807:
    after the year 84,347.228 - 21,086.807 = 63,260.421; floor 3 x 421,736.14 / 12 = 105,434.035; it draws
    42,173.614 (cap 3 x 21,086.807; the pot holds B's 42,173.614 too) and ends at the floor. In floats its
    months come out 2.9999999999999996; it is at the line, not below (half a fen is the tolerance)."""
    e = 421736.14
    inp = PoolingInput(["A", "B"], [2024], np.array([[e], [2 * e]]), np.array([[e], [e]]), np.array([0.2 * e, 1e6]))
    r = simulate(inp, with_trigger(MODES.modes["adjustment_fund"], "safety_line"), "af", safety_line=3.0)
    assert r.county["balance_end"][0, 0, 0] == pytest.approx(105434.035, abs=1e-6)
    assert r.county["fund_months"][0, 0, 0] < 3.0                      # the float artefact is there
    assert county_years(r, 3.0)["p_below_safety_line"].tolist() == [0.0, 0.0]
    s = mode_summary(r, 3.0)
    assert s["p_any_county_fund_below"] == 0 and s["share_years_below_safety_line"] == 0
    # a fund one fen short of its line is below it: county mode, balance 0.25 x 1,200 - 0.01 = 299.99
    one = PoolingInput(["A"], [2024], np.array([[1200.0]]), np.array([[1200.0]]), np.array([299.99]))
    r = simulate(one, MODES.modes["county"], "county")
    assert county_years(r, 3.0)["p_below_safety_line"].tolist() == [1.0]
    at = simulate(PoolingInput(["A"], [2024], np.array([[1200.0]]), np.array([[1200.0]]), np.array([300.0])),
                  MODES.modes["county"], "county")
    assert county_years(at, 3.0)["p_below_safety_line"].tolist() == [0.0]


USER_VARIANT = """
modes:
  v:
    kind: adjustment_fund
    label_zh: 调剂金 2%
    label_en: adjustment fund at 2%
    deficit_sharing:
      county_share:
        collection_shortfall: {values: {2020-01-01: 1}}
        spending_overrun: {values: {2020-01-01: 1}}
        other: {values: {2020-01-01: 0}}
      fiscal_topup_split:
        city: {values: {2020-01-01: 0.5}}
        county: {values: {2020-01-01: 0.5}}
    adjustment_fund:
      contribution_rate: {values: {2020-01-01: 0.02}}
      draw_share: {values: {2020-01-01: 1}}
      cap: {basis: contribution, value: {values: {2020-01-01: 3}}}
"""


def test_user_variant_pot_pro_rata_and_treasury_split_by_hand():
    # Contributions 2%: 20, 16, 20 -> pot 56.
    # B: deficit 216 (collection 200, other 16), responsibility 200; short 50 + 800 - 16 - 1000 = -166;
    #    eligible 0; county treasury 166.
    # C: deficit 320 (spending 200, other 120), responsibility 200; short 300; eligible 100; cap 3 x 20
    #    = 60 asked; the pot has 56 only: draw 56. Short 244: county pays its 200, the other 44 is split
    #    half and half: county 222, city 22. A: 100 + 1000 - 20 - 900 = 180 = all money left.
    r = simulate(three(), variant(USER_VARIANT), "v")
    assert col(r, "received_from_pool") == [0, 0, 56]
    assert col(r, "covered_county_treasury") == [0, 166, 222]
    assert col(r, "covered_city_treasury") == [0, 0, 22]
    assert col(r, "covered_own_balance") == [0, 50, 20]
    assert r.pool_balance[0, 0] == pytest.approx(0)
    assert col(r, "balance_end") == [180, 0, 0]


def test_unified_tiered_by_hand():
    # One fund: 170 + (100 - 200 - 300) = -230. Responsibilities B 200 (collection), C 200 (spending):
    # charged when short, pro rata 230/400: B 115, C 115. Fund ends at 0.
    # Claims on the city fund: A 100 + 100 = 200, B 50 - 200 + 115 = -35, C 20 - 300 + 115 = -165.
    r = simulate(three(), MODES.modes["unified_tiered"], "unified_tiered")
    assert col(r, "covered_county_treasury") == [0, 115, 115]
    assert col(r, "covered_city_treasury") == [0, 0, 0]
    assert col(r, "covered_pool") == [0, 85, 185]
    assert col(r, "balance_end") == [200, -35, -165]
    assert r.pool_balance[0, 0] == pytest.approx(0)
    # net cross-subsidy: A handed over its surplus 100 and opening 100; B got 85 and handed 50; C 185 - 20
    assert cross_subsidy(r).net_cross_subsidy.round(6).tolist() == [-200, 35, 165]


def test_unified_vertical_by_hand():
    # The city treasury pays the whole 230, allotted by deficit for the claims: B 92, C 138.
    r = simulate(three(), MODES.modes["unified_vertical"], "unified_vertical")
    assert col(r, "covered_county_treasury") == [0, 0, 0]
    assert col(r, "covered_city_treasury") == [0, 92, 138]
    assert col(r, "balance_end") == [200, -58, -142]


def test_unified_always_charges_responsibility_even_when_fund_solvent():
    text = USER_VARIANT.replace("kind: adjustment_fund", "kind: unified").split("    adjustment_fund:")[0]
    text = text.replace("    deficit_sharing:\n", "    deficit_sharing:\n      responsibility_charge: always\n")
    r = simulate(three(), variant(text), "v")
    # B and C pay their 200 each: fund 170 - 400 + 400 = 170; claims 200, 50, -80.
    assert col(r, "covered_county_treasury") == [0, 200, 200]
    assert r.pool_balance[0, 0] == pytest.approx(170)
    assert col(r, "balance_end") == [200, 50, -80]


def test_money_conserved_across_modes_three_counties():
    inp = three()
    res = run_modes(inp, MODES_BAL)
    c = conservation(inp, res)
    assert (c.difference < 1e-9).all()
    # the same money before top-ups in every mode: 170 + 2800 - 3200 = -230
    assert np.allclose(c.money_end_less_topups, -230)
    assert c.set_index("mode").treasury_topups.round(6).to_dict() == {
        "county": 430, "adjustment_fund": 390, "unified_tiered": 230, "unified_vertical": 230}


def test_deficit_fully_accounted_for():
    for name, r in run_modes(three(), MODES).items():
        c = r.county
        covered = c["covered_own_balance"] + c["covered_pool"] + c["covered_county_treasury"] + c["covered_city_treasury"]
        assert np.allclose(covered, c["deficit"] + c["contribution_beyond_surplus"]), name


def test_mode_file_rejects_unknown_keys():
    with pytest.raises(ValueError):
        variant(USER_VARIANT.replace("draw_share:", "draw_shares:"))
    with pytest.raises(ValueError):  # an adjustment mode without its block
        variant(USER_VARIANT.split("    adjustment_fund:")[0])


def test_incentives_three_counties():
    inc = incentives(three(), MODES_BAL).set_index(["mode", "region_code"])
    g = inc.gain_per_extra_yuan_collected
    assert g[("county", "A")] == pytest.approx(1.0)
    # county pooling: B's treasury pays its deficit, so a yuan collected is a yuan less to pay
    assert g[("county", "B")] == pytest.approx(1.0)
    assert g[("adjustment_fund", "A")] == pytest.approx(0.95)  # 5% goes to the pot
    # unified, vertical: nothing the county does reaches its treasury ("responsibility without interest")
    assert g[("unified_vertical", "A")] == pytest.approx(0.0)
    assert inc.cost_of_1pt_faster_spending[("unified_vertical", "C")] == pytest.approx(0.0)
    # unified, tiered (when short): C bears part of its own overspending through the charge
    assert inc.share_of_overspending_borne[("unified_tiered", "C")] > 0


# -- engine against the slow reference ------------------------------------------------------------
amount = st.floats(0, 5000, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def inputs(draw):
    n = draw(st.integers(1, 4))
    t = draw(st.integers(1, 4))
    p = draw(st.integers(1, 2))
    arr = lambda shape: np.array(draw(st.lists(amount, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)  # noqa: E731
    with_targets = draw(st.booleans())
    return PoolingInput([f"R{i}" for i in range(n)], list(range(2020, 2020 + t)), arr((p, n, t)), arr((p, n, t)),
                        arr((p, n)), income_target=arr((p, n, t)) if with_targets else None,
                        expenditure_budget=arr((p, n, t)) if with_targets else None, weights=np.ones((n, t)),
                        interest_rate=draw(st.sampled_from([0.0, 0.025, 0.3])))


VARIANTS = {**MODES.modes, "v": variant(USER_VARIANT)}
VARIANTS["v_current"] = with_trigger(VARIANTS["v"], "current_deficit")
VARIANTS["v_balance"] = AF_BALANCE


@settings(max_examples=60, deadline=None)
@given(inputs(), st.sampled_from(sorted(VARIANTS)))
def test_engine_matches_reference(inp, mode_name):
    mode = VARIANTS[mode_name]
    fast = simulate(inp, mode, mode_name, safety_line=2.5)
    slow = simulate_reference(inp, mode, safety_line=2.5)
    for f in ("deficit", "contribution_beyond_surplus", "county_responsibility", "covered_own_balance", "covered_pool", "covered_county_treasury",
              "covered_city_treasury", "balance_end", "paid_to_pool", "received_from_pool", "interest"):
        ref = np.array([[[slow[p][i][t][f] for t in range(len(inp.years))] for i in range(len(inp.regions))]
                        for p in range(fast.n_paths)])
        np.testing.assert_allclose(fast.county[f], ref, atol=1e-6, err_msg=f)
    pool = np.array([[slow[p][0][t]["pool_balance"] for t in range(len(inp.years))] for p in range(fast.n_paths)])
    np.testing.assert_allclose(fast.pool_balance, pool, atol=1e-6)
    pool_int = np.array([[slow[p][0][t]["pool_interest"] for t in range(len(inp.years))] for p in range(fast.n_paths)])
    np.testing.assert_allclose(fast.pool_interest, pool_int, atol=1e-6)
    # conservation (with the interest the mode's own funds earned) and nothing negative
    c = conservation(inp, {mode_name: fast})
    assert c.difference.iloc[0] < 1e-6
    for f in ("covered_own_balance", "covered_pool", "covered_county_treasury", "covered_city_treasury"):
        assert (fast.county[f] > -1e-9).all(), f


def test_compare_names_the_fund_each_safety_figure_tests():
    # Safety line 3 months. County pooling ends A 200 (2.7 months of 900), B 0, C 0: a county fund is below.
    # Unified keeps no county funds (NaN there) and one city fund of 0: below. All funds together:
    # 200 (county) or 0 (unified) against 3200 / 12 = 266.7 a month: below in both.
    from mifund.pooling.report import compare

    df = compare(run_modes(three(), MODES_BAL), 3.0).set_index("mode")
    assert df.loc["county", "share_years_any_county_fund_below"] == 1
    assert np.isnan(df.loc["county", "share_years_city_fund_below"])
    assert np.isnan(df.loc["unified_tiered", "share_years_any_county_fund_below"])
    assert df.loc["unified_tiered", "share_years_city_fund_below"] == 1
    assert (df.share_years_all_funds_below == 1).all()
    assert df.loc["county", "all_funds_months_end"] == pytest.approx(200 / (3200 / 12))
    # the adjustment pot (10 left) in months of the city's expenditure; contributions apart from deficits
    assert df.loc["adjustment_fund", "pool_months_end"] == pytest.approx(10 / (3200 / 12))
    assert df.loc["adjustment_fund", "contributions_to_pot"] == pytest.approx(140)
    assert df.loc["adjustment_fund", "deficit"] == df.loc["county", "deficit"] == pytest.approx(500)
