"""Golden run: the published national fund figures (NHSA bulletins, see shared/reference) under the
default rules give exactly the expected warnings, including the published breaks of the series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mifund.ledger.warnings import evaluate, load_rules

# national_fund_ledger.csv: scheme, fund, year, insured, income_total, expenditure_total, balance_end (yuan)
M = 1_000_000  # figures below in million yuan
LEDGER = [
    ("resident", "pooled", 2020, 1_016_760_000, 901_401 * M, 811_527 * M, 604_988 * M),
    ("resident", "pooled", 2021, 1_008_660_000, 972_448 * M, 929_637 * M, 671_658 * M),
    ("resident", "pooled", 2022, 983_490_000, 1_012_890 * M, 935_344 * M, 753_413 * M),
    ("resident", "pooled", 2023, 962_940_000, 1_056_971 * M, 1_045_765 * M, 766_370 * M),
    ("resident", "pooled", 2024, 947_137_400, 1_118_090 * M, 1_066_149 * M, 818_302 * M),
    ("employee", "combined", 2020, 344_550_000, 1_562_461 * M, 1_283_399 * M, 2_532_351 * M),
    ("employee", "combined", 2021, 354_310_000, 1_900_310 * M, 1_474_673 * M, 2_943_972 * M),
    ("employee", "combined", 2022, 362_430_000, 2_079_327 * M, 1_524_380 * M, 3_510_576 * M),
    ("employee", "pooled", 2024, 379_483_400, 1_734_245 * M, 1_322_271 * M, 3_044_550 * M),
    ("employee", "account", 2024, 379_483_400, 639_001 * M, 587_983 * M, 1_447_175 * M),
    # derived by the indicator module where the fund is split: pooled + account, insured once
    ("employee", "combined", 2024, 379_483_400, 2_373_246 * M, 1_910_254 * M, 4_491_725 * M),
]


def national_indicators() -> pd.DataFrame:
    """Indicator rows as the indicator module defines them, worked out from the ledger figures."""
    df = pd.DataFrame(LEDGER, columns=["scheme", "fund", "year", "insured", "income_total", "expenditure_total", "balance_end"])
    df = df.assign(region_code="000000", region_name="全国", region_level="country", month=np.nan, source="NHSA")
    df = df.sort_values(["scheme", "fund", "year"]).reset_index(drop=True)
    prev = df.groupby(["scheme", "fund"])[["year", "insured", "income_total", "expenditure_total", "balance_end"]].shift()
    prev = prev.where((df["year"] - prev["year"]) == 1)  # growth only against the year before
    df["surplus"] = df["income_total"] - df["expenditure_total"]
    df["surplus_rate"] = df["surplus"] / df["income_total"]
    df["balance_start"] = prev["balance_end"]
    df["balance_gap"] = df["balance_end"] - (df["balance_start"] + df["surplus"])
    df["payable_months"] = df["balance_end"] / (df["expenditure_total"] / 12)
    for col, name in [("income_total", "income"), ("expenditure_total", "expenditure"), ("insured", "insured"),
                      ("balance_end", "balance")]:
        df[f"{name}_growth"] = df[col] / prev[col] - 1
    df["growth_gap"] = df["expenditure_growth"] - df["income_growth"]
    # the whole country, both schemes: derived, skipped by default
    total = df[df["year"] == 2021].groupby("year", as_index=False)[["income_total", "expenditure_total", "balance_end"]].sum()
    total = total.assign(scheme="total", fund="total", region_code="000000", region_name="全国", month=np.nan,
                         payable_months=1.0, surplus=-1.0, balance_gap=1e12)
    return pd.concat([df, total], ignore_index=True)


@pytest.fixture(scope="module")
def ind() -> pd.DataFrame:
    return national_indicators()


def at(ind, scheme, year, col):
    return ind[(ind.scheme == scheme) & (ind.year == year)][col].iloc[0]


def test_worked_figures(ind):
    # resident 2021: 671,658 / (929,637 / 12) = 8.670 months: inside the 6-9 norm, no safety-line warning
    assert at(ind, "resident", 2021, "payable_months") == pytest.approx(8.670, abs=5e-4)
    # resident 2021 balance_gap = 671,658 - (604,988 + 972,448 - 929,637) = +23,859 million = 3.55%
    assert at(ind, "resident", 2021, "balance_gap") == pytest.approx(23_859 * M)
    assert at(ind, "resident", 2021, "balance_gap") / at(ind, "resident", 2021, "balance_end") == pytest.approx(0.0355, abs=5e-5)
    # resident 2022: 753,413 - (671,658 + 1,012,890 - 935,344) = 4,209 million = 0.559% > 0.5%
    assert at(ind, "resident", 2022, "balance_gap") == pytest.approx(4_209 * M)
    # employee 2021: 2,943,972 - (2,532,351 + 425,637) = -14,016 million = 0.476% < 0.5%: no warning
    assert at(ind, "employee", 2021, "balance_gap") / at(ind, "employee", 2021, "balance_end") == pytest.approx(-0.00476, abs=5e-6)
    # resident 2021 收支倒挂: expenditure +14.55% vs income +7.88% (one year: counts, no warning at N=2)
    assert at(ind, "resident", 2021, "expenditure_growth") == pytest.approx(0.1455, abs=5e-5)
    assert at(ind, "resident", 2021, "income_growth") == pytest.approx(0.0788, abs=5e-5)
    # resident 2023: surplus 11,206 million: no deficit; income +4.35% vs expenditure +11.81% (run 1 again)
    assert at(ind, "resident", 2023, "surplus") == pytest.approx(11_206 * M)
    # resident insured: -0.80% (2021, within the 1% tolerance), -2.50%, -2.09%, -1.64%
    assert [round(at(ind, "resident", y, "insured_growth"), 4) for y in (2021, 2022, 2023, 2024)] == [
        -0.0080, -0.0250, -0.0209, -0.0164]
    # employee: 23.7 / 24.0 / 27.6 months combined 2020-2022, 27.6 pooled 2024: idle balance (> 15)
    # 2024 account (29.5) is not judged by months; 2024 combined (28.2) is derived beside the pooled row
    assert [round(v, 1) for v in ind[ind.scheme == "employee"].sort_values(["year", "fund"]).payable_months] == [
        23.7, 24.0, 27.6, 29.5, 28.2, 27.6]


def test_golden_national_warnings(ind):
    w = evaluate(ind, load_rules())
    got = {(r.rule, r.scheme, r.fund, int(r.year), r.level) for r in w.itertuples()}
    assert got == {
        # the published series do not close: 3.55% (2021) and 0.56% (2022) of the resident balance
        ("balance_identity", "resident", "pooled", 2021, "yellow"),
        ("balance_identity", "resident", "pooled", 2022, "yellow"),
        # resident enrolment fell by more than 1% a year from 2022
        ("insured_falling", "resident", "pooled", 2022, "yellow"),
        ("insured_falling", "resident", "pooled", 2023, "yellow"),
        ("insured_falling", "resident", "pooled", 2024, "yellow"),
        # the employee fund holds far more than 15 months of expenditure
        ("payable_months_high", "employee", "combined", 2020, "blue"),
        ("payable_months_high", "employee", "combined", 2021, "blue"),
        ("payable_months_high", "employee", "combined", 2022, "blue"),
        ("payable_months_high", "employee", "pooled", 2024, "blue"),
        # (not the derived 2024 combined row: the pooled row speaks for the split fund)
    }
    assert list(w.level) == ["yellow"] * 5 + ["blue"] * 4
    gap21 = w[(w.rule == "balance_identity") & (w.year == 2021)].iloc[0]
    assert gap21.value == pytest.approx(0.03552, abs=1e-5)
    # money in 万元, the report's unit, to 2 decimals in both languages
    assert "= 2,385,900.00 10k yuan, 3.55% of the balance > 0.5%" in gap21.message_en
    assert "= 2,385,900.00 万元" in gap21.message_zh and "3.55%" in gap21.message_zh


def test_growth_gap_counts_single_years_when_asked(ind, tmp_path):
    p = tmp_path / "one_year.yaml"
    p.write_text('rules: {growth_gap: {levels: {yellow: {value: 1, source: "every year"}}}}', encoding="utf-8")
    w = evaluate(ind, load_rules(p))
    # resident 2021 (+14.55% vs +7.88%) and 2023 (+11.81% vs +4.35%); 2022 and 2024 income grew faster;
    # employee income outgrew expenditure in 2021 and 2022
    assert {(r.scheme, int(r.year)) for r in w[w.rule == "growth_gap"].itertuples()} == {("resident", 2021), ("resident", 2023)}
