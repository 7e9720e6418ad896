"""Review fixes of disparity and transfers: a county without population keeps the need rule need-based for
the others; a balance in deficit makes the ratio-type measures null (not 10^10) and Gini / CV are taken on
the months floored at 0; a zero-weight region takes no part in any measure."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.disparity.data import disparity_by_year
from mifund.disparity.measures import lorenz, measures, theil_decomposition
from mifund.disparity.transfers import TransferError, allocate, evaluate

runner = CliRunner()


def frame(**over):
    # as tests/test_disparity_transfers.py: three regions, 100 a month of expenditure each
    f = pd.DataFrame({
        "region_code": ["A", "B", "C"], "year": 2024, "insured": [100.0, 300.0, 600.0],
        "balance_end": [100.0, 250.0, 600.0], "expenditure_total": [1200.0] * 3,
        "income_individual": [10000.0, 30000.0, 120000.0], "share_60plus": [0.3, 0.2, 0.1],
        "expenditure_growth": [0.05, 0.03, 0.04],
    })
    for k, v in over.items():
        f[k] = v
    return f


# -- 2. need with a county of no population -------------------------------------------------------------
def test_need_leaves_out_a_county_without_population_and_keeps_the_others_need_based():
    f = frame(share_60plus=[0.3, 0.2, np.nan])          # C: population 0 -> 0/0
    x = allocate(f, 400, "need", safety_line=3)
    # over A and B: city share 60+ = (30 + 60) / 400 = 0.225, ability 100 each (city 100);
    # index A = 100 x 0.3/0.225 = 133.3, B = 300 x 0.2/0.225 = 266.7; C no need share
    # (it was equal per capita for all three, 40 / 120 / 240, the NaN having spread to every index)
    assert x.tolist() == pytest.approx([400 / 3, 800 / 3, 0])
    notes: list[str] = []
    allocate(f, 400, "need", safety_line=3, notes=notes)
    assert notes and "C" in notes[0] and "no need share" in notes[0]
    _, summary = evaluate(f, 400, safety_line=3, only=["need"])
    assert "C left out" in summary.set_index("rule").loc["need", "note"]
    with pytest.raises(TransferError, match="need: no county has a population"):
        allocate(frame(share_60plus=[np.nan] * 3), 400, "need", safety_line=3)


# -- 5. months at or below 0 ----------------------------------------------------------------------------
def test_a_balance_in_deficit_makes_ratio_measures_null_not_huge():
    f = frame(balance_end=[-100.0, 250.0, 600.0])        # months -1, 2.5, 6
    _, s = evaluate(f, 0, safety_line=3, only=["equal_per_capita"])
    none = s.set_index("rule").loc["none"]
    assert math.isnan(none.max_min_ratio_months) and math.isnan(none.theil_t_months)
    want = measures([0.0, 2.5, 6.0], [100, 300, 600])   # the floored months
    assert none.gini_months == pytest.approx(want["gini"]) and 0 <= none.gini_months <= 1
    assert none.williamson_cv_months == pytest.approx(want["williamson_cv"])
    assert none.disparity_basis == "months floored at 0"
    assert "months <= 0 for A" in none.note and "not applicable" in none.note
    ok = s.set_index("rule").loc["equal_per_capita"]       # budget 0: the same months
    assert ok.disparity_basis == "months floored at 0"
    _, s = evaluate(frame(), 250, safety_line=3, only=["fund_gap"])
    pos = s.set_index("rule").loc["fund_gap"]
    assert pos.disparity_basis == "months" and pos.note == "" and pos.max_min_ratio_months == pytest.approx(6 / 3)


# -- 6. zero weights -------------------------------------------------------------------------------------
def test_a_zero_weight_region_takes_no_part_in_any_measure():
    with_zero = measures([1, 3, 100], [3, 1, 0])
    without = measures([1, 3], [3, 1])
    assert with_zero["n"] == 2 and with_zero["n_zero_weight_left_out"] == 1 and without["n_zero_weight_left_out"] == 0
    for k in ("weighted_mean", "min", "max", "max_min_ratio", "williamson_cv", "gini", "theil_t", "theil_l"):
        assert with_zero[k] == pytest.approx(without[k]), k
    assert len(lorenz([1, 3, 100], [3, 1, 0])) == 3       # (0, 0) and the two regions with a weight
    d = theil_decomposition([1, 3, 0.0], [3, 1, 0], ["a", "b", "c"])   # a zero-weight region of value 0: no error
    assert d["theil_t"] == pytest.approx(without["theil_t"])
    frame_ = pd.DataFrame({"year": 2024, "region_code": ["A", "B", "C"], "parent_code": ["P", "Q", "Q"],
                           "value": [1.0, 3.0, 100.0], "weight": [3.0, 1.0, 0.0]})
    row = disparity_by_year(frame_).iloc[0]
    assert row.n == 2 and row.n_zero_weight_left_out == 1 and row["max"] == 3


# -- the commands, on a small warehouse --------------------------------------------------------------------
def _warehouse(folder, env_db):
    from mifund.cli import app as root

    (folder / "regions.csv").write_text(
        "region_code,name,name_en,level,parent_code\n369900,测试市,Testcity,city,\n369901,甲县,A,county,369900\n"
        "369902,乙县,B,county,369900\n369903,丙县,C,county,369900\n", encoding="utf-8")
    led = ["region_code,year,scheme,fund,insured,income_total,income_individual,income_fiscal_subsidy,"
           "income_interest,expenditure_total,balance_end"]
    for y, (b1, b2, b3) in {2023: (2200, 200, 900), 2024: (2400, -100, 1000)}.items():
        led += [f"369901,{y},resident,pooled,1000,1000,300,700,0,800,{b1}",
                f"369902,{y},resident,pooled,1000,1000,300,700,0,1300,{b2}",
                f"369903,{y},resident,pooled,500,600,200,400,0,500,{b3}"]
    (folder / "fund_ledger.csv").write_text("\n".join(led) + "\n", encoding="utf-8")
    pop = ["region_code,year,sex,age_band,persons"]
    bands = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]
    for y in (2023, 2024):
        for code, old in (("369901", 100), ("369902", 300), ("369903", 0)):
            for band in bands:
                for sex in "MF":
                    n = 0 if code == "369903" else (old if int(band.split("-")[0].rstrip("+")) >= 60 else 100)
                    pop.append(f"{code},{y},{sex},{band},{n}")
    (folder / "population.csv").write_text("\n".join(pop) + "\n", encoding="utf-8")
    r = runner.invoke(root, ["import", str(folder / "regions.csv"), str(folder / "population.csv"),
                             str(folder / "fund_ledger.csv")])
    assert r.exit_code == 0, r.output


def test_transfers_allocate_on_a_county_of_no_population_and_one_in_deficit(env, tmp_path):
    from mifund.disparity.cli import transfers_app

    _warehouse(tmp_path, env)
    r = runner.invoke(transfers_app, ["allocate", "-b", "1000", "--safety-line", "3", "-f", "json"])
    assert r.exit_code == 0, r.output
    s = {x["rule"]: x for x in json.loads(r.output)}
    assert s["none"]["max_min_ratio_months"] is None and s["none"]["theil_t_months"] is None   # 369902 < 0
    assert s["none"]["gini_months"] <= 1
    assert s["need"]["note"].startswith("need: 369903 left out")
    r = runner.invoke(transfers_app, ["allocate", "-b", "1000", "--safety-line", "3", "-f", "json", "--detail"])
    d = pd.DataFrame(json.loads(r.output))
    need = d[d.rule == "need"].set_index("region_code").allocation
    epc = d[d.rule == "equal_per_capita"].set_index("region_code").allocation
    assert need["369903"] == 0 and need.sum() == pytest.approx(1000)
    assert need["369902"] > need["369901"]          # older (more aged 60+): a larger need share
    assert not np.allclose(need.to_numpy(), epc.to_numpy())   # not the silent per-capita fallback
