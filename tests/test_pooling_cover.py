"""Review fixes: the "who covered it" figures add up wherever they are shown (``pooling compare``, the
annual report's pooling table, the dashboard), because the total they sum to is shown too:
covered_own_balance + covered_pool + covered_county_treasury + covered_city_treasury = to_cover =
deficit + contribution_beyond_surplus; and the report names the safety line its "years below" uses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mifund.pooling.cli import app as pooling_app
from mifund.pooling.engine import PoolingInput
from mifund.pooling.params import load_modes
from mifund.pooling.report import compare, run_modes
from mifund.reports.build import build_report
from mifund.storage import Warehouse

runner = CliRunner()
COVERED = ["covered_own_balance", "covered_pool", "covered_county_treasury", "covered_city_treasury"]


def _balance_shortfall_modes():
    mf = load_modes()
    af = mf.modes["adjustment_fund"]
    af = af.model_copy(update={"adjustment_fund": af.adjustment_fund.model_copy(
        update={"draw_trigger": "balance_shortfall"})})
    return mf.model_copy(update={"modes": {**mf.modes, "adjustment_fund": af}})


def test_covered_columns_sum_to_to_cover_in_every_mode_by_hand():
    """Three counties, one year (tests/test_pooling.py's hand-worked example), adjustment fund paying what
    a balance lacks: A surplus 100 pays its contribution 50 (K = 0); B deficit 200 and contribution 40
    (K = 1000 + 40 - 800 - 200 = 40); C deficit 300 and contribution 50 (K = 50). to_cover = 500 + 90 =
    590 = own balances 50 + 20 + pot 130 + county treasuries 190 + 200. The old table showed the deficit
    500 beside covered figures summing to 590."""
    inp = PoolingInput(["A", "B", "C"], [2024], np.array([[1000.0], [800.0], [1000.0]]),
                       np.array([[900.0], [1000.0], [1300.0]]), np.array([100.0, 50.0, 20.0]),
                       income_target=np.full((3, 1), 1000.0),
                       expenditure_budget=np.array([[1000.0], [1000.0], [1100.0]]))
    df = compare(run_modes(inp, _balance_shortfall_modes()), 3.0).set_index("mode")
    af = df.loc["adjustment_fund"]
    assert (af.deficit, af.contribution_beyond_surplus, af.to_cover) == pytest.approx((500, 90, 590))
    assert (af.covered_own_balance, af.covered_pool, af.covered_county_treasury) == pytest.approx((70, 130, 390))
    for mode, r in df.iterrows():
        assert r[COVERED].sum() == pytest.approx(r.to_cover), mode
        assert r.to_cover == pytest.approx(r.deficit + np.nan_to_num(r.contribution_beyond_surplus)), mode
    assert df.loc["county", "to_cover"] == pytest.approx(500)       # no pot: to cover = the deficit


@pytest.mark.slow
def test_compare_cli_prints_to_cover_and_says_what_it_is(demo_small):
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "-f", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    for x in rows:
        assert sum(x[c] for c in COVERED) == pytest.approx(x["to_cover"], abs=0.01), x["mode"]
    af = next(x for x in rows if x["mode"] == "adjustment_fund")
    assert af["to_cover"] == pytest.approx(af["deficit"] + af["contribution_beyond_surplus"], abs=0.01)
    table = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db)], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "to_cover" in table.output and "contribution_beyond_surplus" in table.output
    help_text = " ".join(runner.invoke(pooling_app, ["compare", "--help"], env={"COLUMNS": "250"}).output.split())
    assert "= to_cover = deficit + contribution_beyond_surplus" in help_text.replace("│", "").replace("  ", " ")


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_pooling_table_adds_up_and_names_its_line(demo_small, lang):
    """Table 7: deficit, contribution beyond surplus and to_cover are columns; the covered columns sum to
    to_cover (10k yuan, each rounded to 0.01: within 0.02); the title states the line (3 months, red: the
    mode file's level of payable_months_low) and the years-below column says what it counts. Its figures
    are the same as `pooling compare`'s (same ledgers, same rules)."""
    with Warehouse(demo_small.db, read_only=True) as wh:
        rep = build_report(wh, lang=lang, sections=["pooling"])
    tab = rep.table("pooling")
    keys = [c.key for c in tab.columns]
    assert keys[1:4] == ["deficit", "contribution_beyond_surplus", "to_cover"]
    d = tab.data
    np.testing.assert_allclose(d[COVERED].sum(axis=1), d.to_cover, atol=0.02)
    np.testing.assert_allclose(d.deficit + d.contribution_beyond_surplus, d.to_cover, atol=0.01)
    assert (d.contribution_beyond_surplus > 0).sum() == 1                    # only the adjustment fund
    labels = {c.key: c.label for c in tab.columns}
    if lang == "en":
        assert "safety line 3 months of expenditure, Red warning" in tab.title
        assert labels["share_years_below_safety_line"].startswith("Years with some county fund")
        assert "county-years" not in " ".join(rep.section("pooling").paragraphs)
    else:
        assert "安全线3个月支出，红色预警" in tab.title
        assert labels["share_years_below_safety_line"].startswith("有县区基金")
        assert "县区-年度" not in " ".join(rep.section("pooling").paragraphs)
    r = runner.invoke(pooling_app, ["compare", "--db", str(demo_small.db), "-f", "json"])
    shares = [x["share_years_below_safety_line"] for x in json.loads(r.output)]
    np.testing.assert_allclose(d.share_years_below_safety_line, shares)


@pytest.mark.slow
def test_dashboard_pooling_table_shows_to_cover(demo_small, tmp_path):
    from mifund.web.app import create_app
    from mifund.web.services import Services
    from mifund.web.settings import WebSettings
    from web_helpers import fast_hashing, login, web_warehouse

    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path)
        services = Services(WebSettings(db=db))
        try:
            with TestClient(create_app(WebSettings(db=db), services)) as c:
                login(c, "analyst")
                page = c.get("/pooling", headers={"accept-language": "en"}).text
        finally:
            services.close()
    head = page.split('id="pooling-table"')[1].split("</thead>")[0]
    assert "Contributions beyond surplus" in head and "To cover" in head
    assert 'id="pooling-cover-note"' in page
    assert "= to cover = deficit + contributions beyond surplus" in page
    assert "Safety line: 3 months of expenditure" in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    for row in rows:  # deficit, beyond surplus, to cover, own, pool, top-ups (10k yuan, one decimal)
        cells = [float(x.split("<")[0].replace(",", "")) for x in row.split('<td class="num">')[1:7]]
        assert cells[3] + cells[4] + cells[5] == pytest.approx(cells[2], abs=0.15)
        assert cells[0] + cells[1] == pytest.approx(cells[2], abs=0.1)


def test_tiered_label_states_when_counties_bear_their_shortfalls():
    """unified_tiered charges the counties only when the city fund is short (when_short): its label must
    say so, not promise that counties bear their shortfalls outright."""
    for name, m in load_modes().modes.items():
        charge = m.deficit_sharing.responsibility_charge if m.deficit_sharing else None
        if charge == "when_short":
            assert "市级基金不足时" in m.label_zh and "when the city fund is short" in m.label_en, name


def test_a_county_that_bears_nothing_shows_zero_not_minus_zero():
    """Two counties in surplus under unified_vertical / unified_tiered with money in the city fund: a
    point of faster spending costs the county nothing, so its share borne is +0.0 (printed 0.00 %)."""
    from mifund.pooling.report import incentives

    inp = PoolingInput(["A", "B"], [2023, 2024], np.full((2, 2), 1000.0), np.full((2, 2), 900.0),
                       np.array([500.0, 500.0]))
    inc = incentives(inp, load_modes(), ["unified_vertical", "unified_tiered"])
    share = inc.share_of_overspending_borne.to_numpy()
    assert (share == 0).all() and not np.signbit(share).any()
