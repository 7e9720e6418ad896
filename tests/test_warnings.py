"""Early warning: each rule fires exactly where it should, and not on the line."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import pytest

from mifund.ledger.warning_rules import RULE_IDS
from mifund.ledger.warnings import OUTPUT_COLUMNS, evaluate, load_rules

INDICATOR_COLUMNS = (
    "region_code, region_name, region_level, year, month, scheme, fund, source, n_units, insured, "
    "insured_in_service, insured_retired, population, insured_rate, support_ratio, income_total, "
    "income_individual, income_employer, income_fiscal_subsidy, income_interest, income_other, "
    "expenditure_total, expenditure_inpatient, expenditure_outpatient, expenditure_other, surplus, "
    "surplus_rate, balance_start, balance_end, balance_gap, payable_months, income_growth, "
    "expenditure_growth, insured_growth, balance_growth, growth_gap, income_per_capita, "
    "expenditure_per_capita, fiscal_subsidy_share"
).split(", ")

NAMES = {"360000": "江西省", "360100": "南昌市", "360111": "青山湖区", "370100": "济南市", "000000": "全国"}


def frame(*rows: dict, **common) -> pd.DataFrame:
    """Indicator rows: every column NaN unless given; region 360100 resident pooled by default."""
    out = []
    for r in rows:
        d = {c: np.nan for c in INDICATOR_COLUMNS}
        d.update(region_code="360100", region_level="city", scheme="resident", fund="pooled", source="test")
        d.update(common)
        d.update(r)
        d["region_name"] = NAMES.get(d["region_code"], "")
        out.append(d)
    return pd.DataFrame(out, columns=INDICATOR_COLUMNS)


def user_rules(tmp_path, text: str, name: str = "my_rules.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules(p)


def fired(w: pd.DataFrame, rule: str | None = None) -> set[tuple]:
    """{(region_code, year, scheme, fund, level)} of the warnings of one rule."""
    if rule is not None:
        w = w[w["rule"] == rule]
    return {(r.region_code, int(r.year), r.scheme, r.fund, r.level) for r in w.itertuples()}


@pytest.fixture(scope="module")
def defaults():
    return load_rules()


# --------------------------------------------------------------------------------------------------
# the shipped defaults
# --------------------------------------------------------------------------------------------------
def test_defaults_have_every_rule_with_sourced_thresholds(defaults):
    for rid in RULE_IDS:
        rule = defaults.rule(rid)
        assert rule.enabled and rule.levels
        for t in rule.levels.values():
            assert len(t.source) > 10
        # the persons identity checks the employee split (residents have none)
        assert ("resident", "pooled") in rule.applies() or rid == "persons_identity"
        assert all(s != "total" and f != "total" for s, f in rule.applies())
    assert defaults.rules.payable_months_low.levels["red"].value == 3
    assert defaults.rules.payable_months_low.levels["orange"].value == 6
    assert "人社部发〔2009〕67号" in defaults.rules.payable_months_low.levels["red"].source
    assert defaults.rules.payable_months_high.levels["blue"].value == 15
    assert defaults.rules.consecutive_deficits.levels["orange"].value == 2
    assert defaults.rules.consecutive_deficits.levels["red"].value == 3
    assert defaults.rules.balance_identity.levels["yellow"].value == 0.005
    # the individual account alone is never judged by months of payment capacity
    assert ("employee", "account") not in defaults.rules.payable_months_low.applies()
    assert ("employee", "combined") in defaults.rules.payable_months_low.applies()


def test_output_shape_sorting_and_messages(defaults):
    ind = frame(
        # 2.4 months: red (< 3)
        {"year": 2023, "payable_months": 2.4, "balance_end": 2.4e8, "expenditure_total": 12e8},
        # 20 months: blue (> 15)
        {"year": 2023, "region_code": "360111", "payable_months": 20.0, "balance_end": 20e8, "expenditure_total": 12e8},
        # gap 1% of the balance: yellow
        {"year": 2022, "region_code": "360111", "balance_gap": 1e6, "balance_end": 1e8},
    )
    w = evaluate(ind, defaults)
    assert list(w.columns) == OUTPUT_COLUMNS
    assert list(w["level"]) == ["red", "yellow", "blue"]  # severity first, then region / year
    red = w.iloc[0]
    assert (red.rule, red.value, red.threshold) == ("payable_months_low", 2.4, 3.0)
    assert red.message_en.startswith("Months of payment capacity 2.4 < 3 (safety line, too little; 人社部发〔2009〕67号")
    assert red.message_zh.startswith("可支付月数 2.4 个月，低于安全线 3 个月")
    assert "人社部发〔2009〕67号" in red.source
    assert red.figures == {"payable_months": 2.4, "balance_end": 2.4e8, "expenditure_total": 12e8}
    assert red.region_name == "南昌市" and math.isnan(red.month)
    blue = w.iloc[2]
    assert blue.rule == "payable_months_high" and "20.0 > 15" in blue.message_en and "结余过多" in blue.message_zh


def test_empty_input_and_missing_columns(defaults):
    w = evaluate(frame().iloc[0:0], defaults)
    assert w.empty and list(w.columns) == OUTPUT_COLUMNS
    with pytest.raises(ValueError, match="payable_months"):
        evaluate(frame({"year": 2023}).drop(columns=["payable_months"]), defaults)


# --------------------------------------------------------------------------------------------------
# each rule, at and around its lines
# --------------------------------------------------------------------------------------------------
def test_payable_months_low_levels_and_edges(defaults):
    ind = frame(
        {"year": 2020, "payable_months": 2.99},  # < 3: red
        {"year": 2021, "payable_months": 3.0},  # not < 3, but < 6: orange
        {"year": 2022, "payable_months": 5.99},  # orange
        {"year": 2023, "payable_months": 6.0},  # on the line: nothing
        {"year": 2024, "payable_months": 8.67},  # in the 6-9 norm: nothing
        {"year": 2024, "scheme": "employee", "fund": "account", "payable_months": 1.0},  # account alone: skipped
        {"year": 2024, "scheme": "employee", "fund": "combined", "payable_months": 1.0},  # combined: red
        {"year": 2024, "scheme": "total", "fund": "total", "payable_months": 1.0},  # scheme total: skipped
        {"year": 2024, "scheme": "employee", "fund": "total", "payable_months": 1.0},  # fund total: skipped
    )
    w = evaluate(ind, defaults)
    assert fired(w, "payable_months_low") == {
        ("360100", 2020, "resident", "pooled", "red"),
        ("360100", 2021, "resident", "pooled", "orange"),
        ("360100", 2022, "resident", "pooled", "orange"),
        ("360100", 2024, "employee", "combined", "red"),
    }
    assert set(w["rule"]) == {"payable_months_low"}


def test_derived_combined_beside_pooled_is_skipped_unless_asked(defaults, tmp_path):
    ind = frame(
        # 2023 split: pooled, account and the derived combined; 2022 reported combined only
        {"year": 2023, "scheme": "employee", "fund": "pooled", "payable_months": 2.0},
        {"year": 2023, "scheme": "employee", "fund": "account", "payable_months": 30.0},
        {"year": 2023, "scheme": "employee", "fund": "combined", "payable_months": 5.0},
        {"year": 2022, "scheme": "employee", "fund": "combined", "payable_months": 5.0},
    )
    assert fired(evaluate(ind, defaults)) == {
        ("360100", 2023, "employee", "pooled", "red"),
        ("360100", 2022, "employee", "combined", "orange"),
    }
    both = user_rules(tmp_path, "rules: {payable_months_low: {combined_when_split: true}}")
    assert ("360100", 2023, "employee", "combined", "orange") in fired(evaluate(ind, both))


def test_payable_months_high_edge(defaults):
    ind = frame({"year": 2022, "payable_months": 15.0}, {"year": 2023, "payable_months": 15.01})
    assert fired(evaluate(ind, defaults)) == {("360100", 2023, "resident", "pooled", "blue")}


def test_current_deficit(defaults):
    ind = frame(
        # surplus -5e6 on income 1e8: rate -5% < 0: yellow
        {"year": 2021, "surplus": -5e6, "income_total": 1e8, "expenditure_total": 1.05e8},
        # balanced: surplus 0 is not a deficit
        {"year": 2023, "surplus": 0.0, "income_total": 1e8, "expenditure_total": 1e8},
        {"year": 2024, "surplus": 1.0, "income_total": 1e8, "expenditure_total": 1e8 - 1},
    )
    w = evaluate(ind, defaults)
    assert fired(w) == {("360100", 2021, "resident", "pooled", "yellow")}
    row = w.iloc[0]
    assert row.rule == "current_deficit" and row.value == pytest.approx(-0.05) and row.threshold == 0
    assert "-5.00%" in row.message_en and "surplus -500.00 10k yuan" in row.message_en
    assert "-500.00 万元" in row.message_zh
    y = evaluate(ind, defaults, unit="yuan").iloc[0]
    assert "surplus -5,000,000.00 yuan" in y.message_en and "-5,000,000.00 元" in y.message_zh
    with pytest.raises(ValueError, match="unknown unit"):
        evaluate(ind, defaults, unit="million")


def test_messages_give_the_same_figures_in_both_languages(defaults):
    """zh said 降至 0.07 万人 where en said 739 (853 and 852 both read 0.09 万人), and en gave the balance as
    1.3 million yuan where zh gave 125.75 万元: now persons are whole numbers and money is in 万元 with
    2 decimals (half up) in both."""
    ind = frame(
        {"year": 2023, "insured": 900.0, "insured_growth": np.nan, "balance_end": 2e6, "balance_growth": np.nan},
        {"year": 2024, "insured": 739.0, "insured_growth": 739 / 900 - 1, "balance_end": 1_257_549.99,
         "balance_growth": 1_257_549.99 / 2e6 - 1},
        {"year": 2024, "region_code": "360102", "insured": 852.0, "insured_growth": 852 / 900 - 1},
        {"year": 2024, "region_code": "360103", "insured": 853.0, "insured_growth": 853 / 900 - 1},
    )
    w = evaluate(ind, defaults)
    ins = w[w.rule == "insured_falling"].set_index("region_code")
    assert "降至 739 人" in ins.loc["360100"].message_zh and "to 739 persons" in ins.loc["360100"].message_en
    assert "降至 852 人" in ins.loc["360102"].message_zh and "降至 853 人" in ins.loc["360103"].message_zh
    bal = w[w.rule == "balance_falling"].iloc[0]
    assert "结存 125.75 万元" in bal.message_zh and "to 125.75 10k yuan" in bal.message_en


def test_consecutive_deficits_runs_break_on_a_gap_year_and_between_regions(defaults):
    # 360100: deficits 2017-2019 (run 1, 2, 3), surplus 2020, deficit 2021, [2022 missing], deficit 2023
    # 360111: deficit 2016 only -- must not extend 360100's run
    ind = frame(
        {"year": 2016, "region_code": "360111", "surplus": -1.0},
        *({"year": y, "surplus": s} for y, s in [(2017, -1.0), (2018, -2.0), (2019, -3.0), (2020, 4.0),
                                                    (2021, -1.0), (2023, -1.0)]),
    )
    w = evaluate(ind, defaults)
    assert fired(w, "consecutive_deficits") == {
        ("360100", 2018, "resident", "pooled", "orange"),  # 2 years (2017-2018)
        ("360100", 2019, "resident", "pooled", "red"),  # 3 years (2017-2019)
    }
    red = w[(w.rule == "consecutive_deficits") & (w.year == 2019)].iloc[0]
    assert red.value == 3 and red.threshold == 3 and red.figures["first_year"] == 2017
    assert "Deficits in 3 consecutive years (2017–2019) ≥ 3" in red.message_en
    assert "连续 3 年收不抵支（2017—2019年）" in red.message_zh
    # every deficit year is also a current-year deficit
    assert {y for _, y, *_ in fired(w, "current_deficit")} == {2016, 2017, 2018, 2019, 2021, 2023}


def test_growth_gap_consecutive_with_gap_year_and_edge(defaults):
    rows = [
        (2017, 0.05, 0.08),  # gap +3 points: run 1
        (2018, 0.05, 0.06),  # run 2: yellow
        (2019, 0.04, 0.05),  # run 3: orange
        (2020, 0.05, 0.05),  # equal growth: not an inversion; run ends
        (2021, 0.02, 0.09),  # run 1
        # 2022 missing: growths of 2023 are against 2022 -- say they were reported anyway
        (2023, 0.01, 0.10),  # run 1 again (2021 and 2023 are not consecutive)
        (2024, 0.01, 0.02),  # run 2: yellow
    ]
    ind = frame(*({"year": y, "income_growth": i, "expenditure_growth": e} for y, i, e in rows))
    w = evaluate(ind, defaults)
    assert fired(w, "growth_gap") == {
        ("360100", 2018, "resident", "pooled", "yellow"),
        ("360100", 2019, "resident", "pooled", "orange"),
        ("360100", 2024, "resident", "pooled", "yellow"),
    }
    y24 = w[(w.rule == "growth_gap") & (w.year == 2024)].iloc[0]
    assert y24.figures["first_year"] == 2023 and y24.figures["growth_gap"] == pytest.approx(0.01)
    assert "收支倒挂" in y24.message_en and "+2.00%" in y24.message_en and "+1.00%" in y24.message_en


def test_growth_gap_nan_growth_breaks_the_run(defaults):
    ind = frame(
        {"year": 2020, "income_growth": 0.01, "expenditure_growth": 0.05},
        {"year": 2021, "income_growth": np.nan, "expenditure_growth": 0.05},  # previous year missing
        {"year": 2022, "income_growth": 0.01, "expenditure_growth": 0.05},
    )
    assert fired(evaluate(ind, defaults)) == set()


def test_balance_falling(defaults):
    ind = frame(
        {"year": 2020, "balance_growth": 0.0, "balance_end": 100.0},  # flat: not a fall
        {"year": 2021, "balance_growth": -0.001, "balance_end": 99.9},  # 1 year: yellow
        {"year": 2022, "balance_growth": -0.2, "balance_end": 79.92},  # 2 years: orange
        {"year": 2023, "balance_growth": 0.1, "balance_end": 87.9},
    )
    w = evaluate(ind, defaults)
    assert fired(w) == {("360100", 2021, "resident", "pooled", "yellow"), ("360100", 2022, "resident", "pooled", "orange")}


def test_balance_falling_with_negative_balances(defaults):
    ind = frame(
        # a deficit deepening from -100 to -200: a naive growth rate says +100%, it is a fall of 100%
        {"year": 2021, "balance_start": -100.0, "balance_end": -200.0, "balance_growth": 1.0},
        # climbing back from -200 to -150: not a fall
        {"year": 2022, "balance_start": -200.0, "balance_end": -150.0, "balance_growth": -0.25},
    )
    w = evaluate(ind, defaults)
    assert fired(w, "balance_falling") == {("360100", 2021, "resident", "pooled", "yellow")}
    assert w[w.rule == "balance_falling"].iloc[0].figures["balance_growth"] == -1.0


def test_insured_falling_tolerance(defaults):
    ind = frame(
        {"year": 2020, "insured_growth": np.nan, "insured": 1000},
        {"year": 2021, "insured_growth": -0.01, "insured": 990},  # exactly the 1% tolerance: nothing
        {"year": 2022, "insured_growth": -0.0101, "insured": 980},  # beyond: yellow
        {"year": 2023, "insured_growth": -0.06, "insured": 921},  # beyond 5%: orange
        {"year": 2024, "insured_growth": 0.02, "insured": 940},
    )
    w = evaluate(ind, defaults)
    assert fired(w) == {("360100", 2022, "resident", "pooled", "yellow"), ("360100", 2023, "resident", "pooled", "orange")}
    y = w[w.year == 2022].iloc[0]
    assert y.value == pytest.approx(0.0101) and y.threshold == 0.01
    assert "fell 1.01%" in y.message_en and "1% tolerance" in y.message_en


def test_balance_identity_tolerance_and_funds(defaults):
    ind = frame(
        {"year": 2021, "balance_gap": 0.5, "balance_end": 100.0},  # 0.5%: on the line, nothing
        {"year": 2022, "balance_gap": -0.51, "balance_end": 100.0},  # 0.51%: yellow (either sign)
        {"year": 2023, "balance_gap": np.nan, "balance_end": 100.0},  # previous year missing
        {"year": 2022, "scheme": "employee", "fund": "account", "balance_gap": 1.0, "balance_end": 10.0},
        {"year": 2022, "scheme": "total", "fund": "total", "balance_gap": 1.0, "balance_end": 10.0},
    )
    w = evaluate(ind, defaults)
    assert fired(w) == {("360100", 2022, "resident", "pooled", "yellow"), ("360100", 2022, "employee", "account", "yellow")}


# --------------------------------------------------------------------------------------------------
# monthly rows
# --------------------------------------------------------------------------------------------------
def test_monthly_rows_latest_month_of_an_open_year_only(defaults, tmp_path):
    ind = frame(
        {"year": 2024, "payable_months": 7.0, "surplus": 1.0},  # annual row: the year is closed
        *({"year": 2024, "month": m, "payable_months": 2.0, "surplus": -1.0} for m in range(1, 13)),
        *({"year": 2025, "month": m, "payable_months": 6.0 - m, "surplus": -1.0} for m in range(1, 4)),
    )
    w = evaluate(ind, defaults)
    # 2025 has no annual row: its latest month (3: 3.0 months) is judged; 2024's months are not
    assert list(zip(w.rule, w.year, w.month, w.level, strict=True)) == [("payable_months_low", 2025, 3.0, "orange")]
    assert w.iloc[0].message_en.startswith("2025-03: Months of payment capacity 3.0 < 6")
    assert w.iloc[0].message_zh.startswith("2025年3月：可支付月数 3.0 个月")

    every = user_rules(tmp_path, "rules: {payable_months_low: {monthly: all}}")
    w = evaluate(ind, every)
    assert sorted(zip(w.year, w.month, w.level, strict=True)) == (
        [(2024, float(m), "red") for m in range(1, 13)] + [(2025, 1.0, "orange"), (2025, 2.0, "orange"), (2025, 3.0, "orange")]
    )
    off = user_rules(tmp_path, "rules: {payable_months_low: {monthly: 'off'}}")
    assert evaluate(ind, off).empty


# --------------------------------------------------------------------------------------------------
# per scheme, per region, user file
# --------------------------------------------------------------------------------------------------
def test_per_scheme_threshold(tmp_path):
    rules = user_rules(tmp_path, """
        rules:
          payable_months_low:
            overrides:
              - scheme: resident
                note: a yellow band for residents
                levels:
                  red: {value: 3, source: "人社部发〔2009〕67号"}
                  orange: {value: 6, source: "人社部发〔2009〕67号"}
                  yellow: {value: 9, source: "city target band 9-15 months"}
    """)
    ind = frame(
        {"year": 2023, "payable_months": 8.0},  # resident: < 9 -> yellow
        {"year": 2023, "scheme": "employee", "fund": "pooled", "payable_months": 8.0},  # employee: in norm
        {"year": 2024, "payable_months": 2.0},  # resident: still red
    )
    w = evaluate(ind, rules)
    assert fired(w) == {("360100", 2023, "resident", "pooled", "yellow"), ("360100", 2024, "resident", "pooled", "red")}
    assert w[w.level == "yellow"].iloc[0].source == "city target band 9-15 months"


def test_per_region_override_descendants_and_precedence(tmp_path):
    rules = user_rules(tmp_path, """
        rules:
          payable_months_low:
            overrides:
              - region_code: "360000"     # the province and all its cities and counties
                include_descendants: true
                levels: {red: {value: 2, source: "provincial adjustment fund backs every city"}}
              - region_code: "360100"     # this city only (not its counties); beats the province
                levels: {red: {value: 5, source: "city council decision"}}
              - region_code: ["370100"]
                enabled: false
    """)
    ind = frame(
        {"year": 2023, "region_code": "360000", "payable_months": 2.5},  # province rule: red < 2 only -> nothing
        {"year": 2023, "region_code": "360111", "payable_months": 1.5},  # county: province rule -> red
        {"year": 2024, "region_code": "360111", "payable_months": 4.0},  # county: no orange there -> nothing
        {"year": 2023, "region_code": "360100", "payable_months": 4.0},  # city: its own red < 5 -> red
        {"year": 2024, "region_code": "360100", "payable_months": 5.5},  # city: no orange -> nothing
        {"year": 2023, "region_code": "370100", "payable_months": 0.5},  # switched off
        {"year": 2023, "region_code": "000000", "payable_months": 4.0},  # untouched defaults: orange
    )
    w = evaluate(ind, rules)
    assert fired(w) == {
        ("360111", 2023, "resident", "pooled", "red"),
        ("360100", 2023, "resident", "pooled", "red"),
        ("000000", 2023, "resident", "pooled", "orange"),
    }
    city = w[w.region_code == "360100"].iloc[0]
    assert city.threshold == 5 and city.source == "city council decision"


def test_region_override_with_scheme_and_extra_threshold(tmp_path):
    rules = user_rules(tmp_path, """
        rules:
          growth_gap:
            overrides:
              - region_code: "360100"
                scheme: employee
                min_gap: {value: 0.02, source: "only gaps above 2 points count here"}
    """)
    gaps = [(2022, 0.05, 0.06), (2023, 0.05, 0.06)]  # 1-point gaps, 2 years
    ind = pd.concat([
        frame(*({"year": y, "income_growth": i, "expenditure_growth": e} for y, i, e in gaps)),
        frame(*({"year": y, "income_growth": i, "expenditure_growth": e} for y, i, e in gaps), scheme="employee"),
    ])
    assert fired(evaluate(ind, rules)) == {("360100", 2023, "resident", "pooled", "yellow")}


def test_user_file_overrides_defaults(tmp_path):
    rules = user_rules(tmp_path, """
        # raise the idle-balance line, count a single 收支倒挂 year, judge the account too
        rules:
          payable_months_high:
            levels:
              blue: {value: 24, source: "our board: 24 months"}
          growth_gap:
            levels:
              yellow: {value: 1, source: "watch every year"}
          balance_identity:
            enabled: false
          insured_falling:
            applies_to: {employee: [account]}
    """)
    assert rules.rules.payable_months_low.levels["red"].value == 3  # untouched rules keep the defaults
    ind = frame(
        {"year": 2023, "payable_months": 20.0, "income_growth": 0.01, "expenditure_growth": 0.02,
         "balance_gap": 50.0, "balance_end": 100.0, "insured_growth": -0.5},
        {"year": 2023, "scheme": "employee", "fund": "account", "insured_growth": -0.02},
    )
    w = evaluate(ind, rules)
    assert {(r.rule, r.scheme, r.fund, r.level) for r in w.itertuples()} == {
        ("growth_gap", "resident", "pooled", "yellow"),
        ("insured_falling", "employee", "account", "yellow"),
    }
    assert "orange" not in rules.rules.growth_gap.levels  # a user's level set is complete

