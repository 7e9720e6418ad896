"""Fund-ledger indicators: golden values on the published national figures, aggregation up a small
region tree, monthly windows, NULL rules, CAGR, the generated docs, and a property test against a
slow pure-Python reference implementation."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mifund.samples
from mifund.contract import AMOUNT, INT, TABLES
from mifund.ledger.catalog import BY_NAME, INDICATORS, indicators_markdown
from mifund.ledger.indicators import AMOUNTS, OUTPUT_COLUMNS, PERSONS, cagr, compute_indicators
from mifund.ledger.regions import ancestors, closure, descendants

NATIONAL = Path(mifund.samples.__file__).parent / "national"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "indicators.md"
MILLION = 1e6


# -- helpers -----------------------------------------------------------------------------------------
def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """Rows typed as the contract says (Int64 / float64 amounts / str), ready for wh.append."""
    df = pd.DataFrame(rows)
    for c in TABLES[table].columns:
        if c.name not in df.columns:
            continue
        if c.type == INT:
            df[c.name] = df[c.name].astype("Int64")
        elif c.type == AMOUNT:
            df[c.name] = df[c.name].astype("float64")
        else:
            df[c.name] = df[c.name].astype(object).where(df[c.name].notna(), None)
    return df


def load(wh, regions=(), population=(), ledger=()) -> None:
    for name, rows in (("regions", regions), ("population", population), ("fund_ledger", ledger)):
        if rows:
            wh.append(name, frame(name, list(rows)))


def led(region, year, *, scheme="resident", fund="pooled", month=None, **kw) -> dict:
    row = dict(region_code=region, year=year, month=month, scheme=scheme, fund=fund)
    row.update(kw)
    return row


def one(df: pd.DataFrame, **where) -> pd.Series:
    m = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        m &= (df[k].isna() if v is None else (df[k] == v)).to_numpy(dtype=bool)
    hit = df[m]
    assert len(hit) == 1, f"{len(hit)} rows for {where}"
    return hit.iloc[0]


@pytest.fixture(scope="module")
def national_wh(tmp_path_factory):
    """The published national figures, loaded once for this module (read-only for the tests)."""
    from mifund.storage import Warehouse

    w = Warehouse(tmp_path_factory.mktemp("national") / "n.duckdb")
    w.append("regions", pd.read_csv(NATIONAL / "regions.csv", dtype=str))
    w.append("population", pd.read_csv(NATIONAL / "population.csv", dtype={"region_code": str}))
    w.append("fund_ledger", pd.read_csv(NATIONAL / "fund_ledger.csv", dtype={"region_code": str}))
    yield w
    w.close()


@pytest.fixture(scope="module")
def national(national_wh):
    return compute_indicators(national_wh)


# -- golden values: the published national figures ----------------------------------------------------
def test_columns_and_order(national):
    assert list(national.columns) == OUTPUT_COLUMNS
    keys = national[["region_code", "scheme", "fund", "year"]].astype(str).agg("|".join, axis=1)
    assert list(keys) == sorted(keys)
    assert national["month"].isna().all()  # annual rows


def test_national_resident_2021(national):
    r = one(national, scheme="resident", fund="pooled", year=2021)
    assert (r.region_name, r.region_level, r.source, r.n_units) == ("全国", "country", "reported", 1)
    # surplus = 972,448,000,000 − 929,637,000,000 = 42,811,000,000
    assert r.surplus == 42_811_000_000
    # surplus_rate = 42,811 / 972,448 = 4.4024 %
    assert r.surplus_rate == pytest.approx(0.044024, abs=5e-7)
    # payable_months = 671,658,000,000 / (929,637,000,000 / 12) = 8.670
    assert r.payable_months == pytest.approx(8.6699, abs=5e-5)
    # insured_rate = 1,008,660,000 / 1,412,600,000 = 71.4045 %
    assert r.insured_rate == pytest.approx(0.714045, abs=5e-7)
    # income_growth = 972,448 / 901,401 − 1 = 7.8818 %
    assert r.income_growth == pytest.approx(0.078818, abs=5e-7)
    # expenditure_growth = 929,637 / 811,527 − 1 = 14.554 %
    assert r.expenditure_growth == pytest.approx(0.14554, abs=5e-6)
    # growth_gap = 14.554 − 7.882 = 6.672 points (expenditure outgrowing income: 收支倒挂)
    assert r.growth_gap == pytest.approx(0.06672, abs=5e-6)
    # balance_start = 2020 balance_end = 604,988 million
    assert r.balance_start == 604_988 * MILLION
    # balance_gap = 671,658 − (604,988 + 42,811) = +23,859 million, 3.55 % of the balance (README's break)
    assert r.balance_gap == 23_859 * MILLION
    assert r.balance_gap / r.balance_end == pytest.approx(0.0355, abs=5e-5)
    # per capita: 972,448,000,000 / 1,008,660,000 = 964.10 yuan; 929,637e6 / 1,008.66e6 = 921.66 yuan
    assert r.income_per_capita == pytest.approx(964.0989, abs=5e-4)
    assert r.expenditure_per_capita == pytest.approx(921.6555, abs=5e-4)
    # not published: no fiscal-subsidy part, so no share (NaN, not 0)
    assert math.isnan(r.fiscal_subsidy_share) and math.isnan(r.support_ratio)


def test_national_resident_2022_break_of_0_56_percent(national):
    r = one(national, scheme="resident", fund="pooled", year=2022)
    # 753,413 − (671,658 + 1,012,890 − 935,344) = 753,413 − 749,204 = +4,209 million = 0.56 % of the balance
    assert r.balance_gap == 4_209 * MILLION
    assert r.balance_gap / r.balance_end == pytest.approx(0.0056, abs=5e-5)


def test_national_employee_2024_derived_combined(national):
    c = one(national, scheme="employee", fund="combined", year=2024)
    assert c.source == "derived" and c.n_units == 1
    # insured not doubled: pooled and account rows carry the same 379,483,400 persons
    assert c.insured == 379_483_400
    # income 1,734,245 + 639,001 = 2,373,246 million; expenditure 1,322,271 + 587,983 = 1,910,254 million
    assert c.income_total == 2_373_246 * MILLION
    assert c.expenditure_total == 1_910_254 * MILLION
    # balance 3,044,550 + 1,447,175 = 4,491,725 million
    assert c.balance_end == 4_491_725 * MILLION
    # payable_months = 4,491,725 / (1,910,254 / 12) = 28.217
    assert c.payable_months == pytest.approx(28.2165, abs=5e-5)
    # support_ratio = 274,918,400 / 104,575,000 = 2.629 (published 2.63)
    assert c.support_ratio == pytest.approx(2.6289, abs=5e-5)
    # no 2023 employee row: growth and balance_start are NULL, not growth against 2022
    assert math.isnan(c.income_growth) and math.isnan(c.balance_start) and math.isnan(c.balance_gap)
    # the two reported rows stay, as reported
    for fund in ("pooled", "account"):
        r = one(national, scheme="employee", fund=fund, year=2024)
        assert r.source == "reported" and r.insured == 379_483_400


def test_national_support_ratio_2022(national):
    r = one(national, scheme="employee", fund="combined", year=2022)
    assert r.source == "reported"
    # 266,040,000 / 96,390,000 = 2.760 (published 2.76)
    assert r.support_ratio == pytest.approx(2.7600, abs=5e-5)


def test_national_total_coverage(national):
    t = one(national, scheme="total", fund="total", year=2024)
    assert t.source == "derived"
    # insured summed across schemes: 379,483,400 + 947,137,400 = 1,326,620,800
    assert t.insured == 1_326_620_800
    # overall coverage = 1,326,620,800 / 1,408,280,000 = 94.20 %
    assert t.insured_rate == pytest.approx(0.94201, abs=5e-6)
    # income 2,373,246 + 1,118,090 = 3,491,336 million; balance 4,491,725 + 818,302 = 5,310,027 million
    assert t.income_total == 3_491_336 * MILLION and t.balance_end == 5_310_027 * MILLION
    # surplus_rate recomputed: (3,491,336 − 2,976,403) / 3,491,336 = 514,933 / 3,491,336 = 14.749 %
    assert t.surplus_rate == pytest.approx(0.147489, abs=5e-6)
    # 2023 has no employee row: no total for 2023; 2020-2022 and 2024 have one
    assert sorted(national.loc[national.scheme == "total", "year"]) == [2020, 2021, 2022, 2024]


def test_filters_keep_growth_from_the_unread_previous_year(national_wh):
    wh = national_wh
    df = compute_indicators(wh, years=[2024], schemes=["resident", "total"], regions=["000000"])
    assert set(df.year) == {2024} and set(df.scheme) == {"resident", "total"}
    r = one(df, scheme="resident")
    # 1,118,090 / 1,056,971 − 1 = 5.7825 % (2023 is read although only 2024 is shown)
    assert r.income_growth == pytest.approx(0.057825, abs=5e-7)
    assert r.balance_start == 766_370 * MILLION
    assert compute_indicators(wh, funds=["account"]).fund.unique().tolist() == ["account"]
    assert compute_indicators(wh, regions=["999999"]).empty


def test_cagr_national(national):
    out = cagr(national, "income_total", 2020, 2024)
    r = one(out, scheme="resident")
    # (1,118,090 / 901,401) ^ (1/4) − 1 = 1.240391 ^ 0.25 − 1 = 5.5333 %
    assert r.cagr == pytest.approx(0.055333, abs=5e-7)
    assert (r.value_start, r.value_end, r.start, r.end) == (
        901_401 * MILLION,
        1_118_090 * MILLION,
        2020,
        2024,
    )
    # employee combined: (2,373,246 / 1,562,461) ^ (1/4) − 1 = 1.518912 ^ 0.25 − 1 = 11.015 %
    assert one(out, scheme="employee").cagr == pytest.approx(0.110154, abs=5e-6)
    with pytest.raises(ValueError):
        cagr(national, "income_total", 2024, 2020)


def test_cagr_edge_cases():
    df = pd.DataFrame(
        {
            "region_code": ["A"] * 4 + ["B"] * 2 + ["C"] * 2,
            "scheme": "resident", "fund": "pooled", "month": pd.array([pd.NA] * 8, dtype="Int64"),
            "year": [2020, 2021, 2022, 2023, 2020, 2023, 2020, 2023],
            "balance_end": [1000.0, 5.0, 5.0, 1331.0, 0.0, 10.0, 10.0, -1.0],
        }
    )  # fmt: skip
    out = cagr(df, "balance_end", 2020, 2023).set_index("region_code")
    # A: (1331 / 1000) ^ (1/3) − 1 = 1.1 − 1 = 10 % (the years between do not matter)
    assert out.loc["A", "cagr"] == pytest.approx(0.10, abs=1e-12)
    # B: start 0 → NaN; C: negative end → NaN (no real root); never an exception
    assert math.isnan(out.loc["B", "cagr"]) and math.isnan(out.loc["C", "cagr"])


# -- a synthetic tree: province 320000 > city 320100 > counties 320102, 320104, 320105 ---------------------
TREE = [
    dict(region_code="320000", name="江苏省", level="province", parent_code=None),
    dict(region_code="320100", name="南京市", level="city", parent_code="320000"),
    dict(region_code="320102", name="玄武区", level="county", parent_code="320100"),
    dict(region_code="320104", name="秦淮区", level="county", parent_code="320100"),
    dict(region_code="320105", name="建邺区", level="county", parent_code="320100"),
]
COUNTIES_2023 = [  # insured, population, income, expenditure, balance, fiscal subsidy
    ("320102", 100, 200, 1000, 900, 500, 300),
    ("320104", 300, 400, 3000, 3300, 1200, 600),
    ("320105", 50, 1000, 400, 100, 2000, 100),
]


def _county_rows(year=2023, scale=1):
    return [
        led(code, year, insured=ins, income_total=inc * scale, expenditure_total=exp * scale,
            balance_end=bal * scale, income_fiscal_subsidy=fis * scale)
        for code, ins, _, inc, exp, bal, fis in COUNTIES_2023
    ]  # fmt: skip


def _county_population(year=2023):
    return [dict(region_code=code, year=year, persons=pop) for code, _, pop, *_ in COUNTIES_2023]


def test_aggregation_sums_and_recomputes_ratios(wh):
    load(
        wh,
        TREE,
        _county_population(2022) + _county_population(2023),
        _county_rows(2022, 1) + _county_rows(2023, 2),
    )
    df = compute_indicators(wh)
    city = one(df, region_code="320100", year=2023)
    assert (city.source, city.n_units, city.region_name, city.region_level) == (
        "aggregated",
        3,
        "南京市",
        "city",
    )
    # sums: insured 100 + 300 + 50 = 450; population 200 + 400 + 1000 = 1600
    assert (city.insured, city.population) == (450, 1600)
    # income 2×(1000 + 3000 + 400) = 8800; expenditure 2×(900 + 3300 + 100) = 8600; balance 2×3700 = 7400
    assert (city.income_total, city.expenditure_total, city.balance_end) == (8800, 8600, 7400)
    # insured_rate = 450 / 1600 = 28.125 %, not the average of 50 %, 75 %, 5 % = 43.33 %
    assert city.insured_rate == pytest.approx(0.28125)
    counties = df[(df.region_code != "320100") & (df.region_code != "320000") & (df.year == 2023)]
    assert counties.insured_rate.mean() == pytest.approx(0.43333, abs=1e-5)
    # surplus_rate = 200 / 8800 = 2.273 %, not the average of 10 %, −10 %, 75 % = 25 %
    assert city.surplus_rate == pytest.approx(200 / 8800)
    assert counties.surplus_rate.mean() == pytest.approx(0.25)
    # payable_months = 7400 / (8600 / 12) = 10.326; fiscal share = 2×1000 / 8800 = 22.73 %
    assert city.payable_months == pytest.approx(7400 / (8600 / 12))
    assert city.fiscal_subsidy_share == pytest.approx(2000 / 8800)
    # per capita = 8800 / 450 = 19.56 yuan
    assert city.income_per_capita == pytest.approx(8800 / 450)
    # growth against the aggregated 2022 row: 8800 / 4400 − 1 = 100 %; balance_start = 3700
    assert city.income_growth == pytest.approx(1.0) and city.balance_start == 3700
    # balance_gap = 7400 − (3700 + 8800 − 8600) = 3500
    assert city.balance_gap == 3500
    # the province above it: the same sum (the counties are the leaf-most rows)
    prov = one(df, region_code="320000", year=2023)
    assert (prov.source, prov.n_units, prov.insured, prov.income_total) == ("aggregated", 3, 450, 8800)
    # no total rows: no employee scheme anywhere
    assert "total" not in set(df.scheme)
    # aggregate=False: only the counties' own rows
    assert set(compute_indicators(wh, aggregate=False).region_code) == {"320102", "320104", "320105"}


def test_total_short_of_a_county_is_not_compared_with_a_whole_one(wh):
    # 2022: all three counties; 2023: 320105 has not reported yet. Summing 2 counties for 2023 and
    # comparing with 3 for 2022 would show a fall of insured 450 -> 400 (-11.1 %) that never happened
    load(wh, TREE, _county_population(2022) + _county_population(2023),
         _county_rows(2022, 1) + _county_rows(2023, 2)[:2])  # fmt: skip
    df = compute_indicators(wh)
    city = one(df, region_code="320100", year=2023)
    assert (city.n_units, city.units_covered, city.units_expected, city.missing_regions) == (2, 2, 3, "320105")
    # the sums of the two: insured 100 + 300 = 400, income 2×(1000 + 3000) = 8000
    assert (city.insured, city.income_total) == (400, 8000)
    # no comparison with the three-county 2022: no growth, no balance_start, no balance identity
    for c in ("income_growth", "expenditure_growth", "insured_growth", "balance_growth", "growth_gap",
              "balance_start", "balance_gap"):  # fmt: skip
        assert math.isnan(city[c]), c
    # figures of the year itself still stand: 2×(500 + 1200) / (2×(900 + 3300) / 12) = 3400 / 700
    assert city.payable_months == pytest.approx(3400 / 700)
    # the province above misses the same county; 2022 is whole everywhere
    prov = one(df, region_code="320000", year=2023)
    assert (prov.units_covered, prov.units_expected, prov.missing_regions) == (2, 3, "320105")
    whole = one(df, region_code="320100", year=2022)
    assert (whole.units_covered, whole.units_expected) == (3, 3) and pd.isna(whole.missing_regions)
    # a county's own row is whole, and its growth stands: 2000 / 1000 − 1 = 100 %
    county = one(df, region_code="320102", year=2023)
    assert (county.units_covered, county.units_expected) == (1, 1) and county.income_growth == pytest.approx(1.0)
    # 2024 whole again: still not compared with the short 2023
    load(wh, ledger=_county_rows(2024, 3))
    city24 = one(compute_indicators(wh, years=[2024]), region_code="320100")
    assert city24.units_covered == 3 and math.isnan(city24.income_growth) and math.isnan(city24.balance_start)
    # nor is the compound growth: 2022 whole, 2023 short of a county
    from mifund.ledger.indicators import cagr

    both = compute_indicators(wh, years=[2022, 2023])
    assert math.isnan(one(cagr(both, "insured", 2022, 2023), region_code="320100").cagr)
    assert one(cagr(both, "income_total", 2022, 2023), region_code="320102").cagr == pytest.approx(1.0)
    # the gaps, for the foot of a table: one line per region-year, with the county's name
    from mifund.ledger.indicators import coverage_gaps, coverage_lines

    gaps = coverage_gaps(df[df.year == 2023], {"320105": "建邺区"})
    assert list(gaps.region_code) == ["320000", "320100"]
    assert gaps.missing_names.iloc[1] == "320105 建邺区" and gaps.funds.iloc[1] == "resident pooled"
    assert "2 of 3" in coverage_lines(gaps)[1] and "建邺区" in coverage_lines(gaps, "zh")[1]


def test_reported_city_wins_over_the_sum(wh):
    city_row = led("320100", 2023, insured=999, income_total=7000, expenditure_total=6000, balance_end=100)
    load(wh, TREE, _county_population() + [dict(region_code="320100", year=2023, persons=2000)],
         _county_rows() + [city_row])  # fmt: skip
    df = compute_indicators(wh)
    city = one(df, region_code="320100")
    assert (city.source, city.n_units, city.insured, city.income_total) == ("reported", 1, 999, 7000)
    # its own population: 999 / 2000 = 49.95 %
    assert city.insured_rate == pytest.approx(0.4995)
    # the province sums the leaf-most rows (the counties), not the city's own figure
    prov = one(df, region_code="320000")
    assert (prov.source, prov.n_units, prov.insured, prov.income_total) == ("aggregated", 3, 450, 4400)
    # regions filter: the city and its subtree, or the city alone
    assert set(compute_indicators(wh, regions=["320100"]).region_code) == {
        "320100",
        "320102",
        "320104",
        "320105",
    }
    only = compute_indicators(wh, regions=["320100"], include_descendants=False)
    assert list(only.region_code) == ["320100"]


def test_aggregated_population_missing_part_gives_null_rate(wh):
    # 320105 has no population row: the city's denominator is unknown, not 600
    load(wh, TREE, _county_population()[:2], _county_rows())
    city = one(compute_indicators(wh), region_code="320100")
    assert pd.isna(city.population) and math.isnan(city.insured_rate)
    assert city.insured == 450  # the numerator is still there


def test_employee_combined_derived_per_county_and_aggregated(wh):
    emp = dict(scheme="employee", insured_in_service=60, insured_retired=20)
    rows = [
        # 320102 reports pooled + account (same 80 persons), 320104 reports combined
        led("320102", 2023, fund="pooled", insured=80, income_total=700, expenditure_total=600, balance_end=900, **emp),
        led("320102", 2023, fund="account", insured=80, income_total=300, expenditure_total=200, balance_end=400, **emp),
        led("320104", 2023, fund="combined", insured=40, income_total=500, expenditure_total=500, balance_end=50,
            scheme="employee", insured_in_service=30, insured_retired=10),
        led("320102", 2023, insured=120, income_total=240, expenditure_total=200, balance_end=100),
        led("320104", 2023, insured=60, income_total=120, expenditure_total=130, balance_end=30),
    ]  # fmt: skip
    load(wh, TREE, _county_population(), rows)
    df = compute_indicators(wh, regions=["320100"])
    d = one(df, region_code="320102", scheme="employee", fund="combined")
    # 700 + 300 = 1000 income, 900 + 400 = 1300 balance; insured 80, not 160
    assert (d.source, d.insured, d.income_total, d.balance_end) == ("derived", 80, 1000, 1300)
    assert d.support_ratio == pytest.approx(3.0)  # 60 / 20
    c = one(df, region_code="320100", scheme="employee", fund="combined")
    # 1000 + 500 = 1500 income; insured 80 + 40 = 120; support ratio (60 + 30) / (20 + 10) = 3.0
    assert (c.source, c.n_units, c.insured, c.income_total) == ("aggregated", 2, 120, 1500)
    assert c.support_ratio == pytest.approx(3.0)
    # pooled alone is summed only where reported: one county
    p = one(df, region_code="320100", scheme="employee", fund="pooled")
    assert (p.n_units, p.income_total) == (1, 700)
    # totals at each level; the city's is built from the city's aggregated rows
    t = one(df, region_code="320100", scheme="total")
    # insured 120 + 180 = 300; income 1500 + 360 = 1860; population 200 + 400 = 600 → 50 %
    assert (t.insured, t.income_total, t.population) == (300, 1860, 600)
    assert t.insured_rate == pytest.approx(0.5)
    assert math.isnan(t.support_ratio)  # the resident scheme has no in-service / retired split
    tc = one(df, region_code="320102", scheme="total")
    # county 320102: 80 + 120 = 200 insured of 200 residents = 100 %
    assert (tc.source, tc.insured, tc.insured_rate) == ("derived", 200, 1.0)
    # a third county with resident figures only: the city's resident row now covers three counties
    # (population 1600) and its employee row two (600), so the total has no known denominator
    load(wh, ledger=[led("320105", 2023, insured=10, income_total=20, expenditure_total=20, balance_end=5)])
    t = one(compute_indicators(wh, regions=["320100"], include_descendants=False, schemes=["total"]))
    # n_units = max(2 employee rows, 3 resident rows) = 3; insured 120 + 190 = 310
    assert (t.n_units, t.insured) == (3, 310)
    assert pd.isna(t.population) and math.isnan(t.insured_rate)


def test_parts_a_fund_cannot_have_count_as_zero_in_sums(wh):
    # employee pooled + account: no fiscal subsidy on either, no inpatient spending from the account;
    # resident: no employer. Blank there is 0, not unknown; income_interest missing on the account is
    # genuinely unknown and stays NULL
    emp = dict(scheme="employee", insured=80)
    rows = [
        led("320102", 2023, fund="pooled", income_total=700, income_employer=500, income_interest=10,
            expenditure_total=600, expenditure_inpatient=400, balance_end=900, **emp),
        led("320102", 2023, fund="account", income_total=300, income_employer=100,
            expenditure_total=200, expenditure_outpatient=200, balance_end=400, **emp),
        led("320102", 2023, insured=120, income_total=240, income_fiscal_subsidy=150, income_interest=5,
            expenditure_total=200, expenditure_inpatient=120, balance_end=100),
    ]  # fmt: skip
    load(wh, TREE, [], rows)
    df = compute_indicators(wh, aggregate=False)
    c = one(df, scheme="employee", fund="combined")
    # inpatient 400 + 0 = 400 (was NULL); employer 500 + 100 = 600; fiscal subsidy 0 + 0 = 0
    assert (c.expenditure_inpatient, c.income_employer, c.income_fiscal_subsidy) == (400, 600, 0)
    assert math.isnan(c.income_interest)  # 10 + unknown
    t = one(df, scheme="total")
    # fiscal subsidy 0 + 150 = 150 of income 1000 + 240 = 1240: share 12.10 % (was NULL)
    assert t.income_fiscal_subsidy == 150 and t.fiscal_subsidy_share == pytest.approx(150 / 1240)
    # employer 600 + 0 = 600; inpatient 400 + 120 = 520
    assert (t.income_employer, t.expenditure_inpatient) == (600, 520)
    assert math.isnan(t.income_interest) and math.isnan(t.expenditure_outpatient)  # unknown on one side
    # the reported rows themselves keep their blanks
    assert math.isnan(one(df, scheme="resident").income_employer)
    assert math.isnan(one(df, fund="account").expenditure_inpatient)


def test_insured_rate_is_not_clipped(wh):
    load(wh, TREE, [dict(region_code="320102", year=2023, persons=100)],
         [led("320102", 2023, insured=130, income_total=1, expenditure_total=1, balance_end=1)])  # fmt: skip
    # 130 / 100 = 130 %: duplicate enrolment shows, it is not hidden by a clip at 100 %
    assert one(compute_indicators(wh), region_code="320102").insured_rate == pytest.approx(1.3)


def test_missing_year_gives_null_growth(wh):
    rows = [
        led("320102", 2020, insured=100, income_total=1000, expenditure_total=800, balance_end=500),
        led("320102", 2022, insured=110, income_total=1200, expenditure_total=900, balance_end=900),
        led("320102", 2023, insured=121, income_total=1500, expenditure_total=1200, balance_end=1100),
    ]
    load(wh, TREE, [], rows)
    df = compute_indicators(wh, aggregate=False)
    r22 = one(df, year=2022)
    # 2021 absent: NULL, not 1200 / 1000 − 1 against 2020
    for c in ("income_growth", "expenditure_growth", "insured_growth", "balance_growth", "growth_gap",
              "balance_start", "balance_gap"):  # fmt: skip
        assert math.isnan(r22[c]), c
    r23 = one(df, year=2023)
    # 1500 / 1200 − 1 = 25 %; 1200 / 900 − 1 = 33.33 %; gap 8.33 points; insured 121 / 110 − 1 = 10 %
    assert r23.income_growth == pytest.approx(0.25)
    assert r23.expenditure_growth == pytest.approx(1 / 3)
    assert r23.growth_gap == pytest.approx(1 / 3 - 0.25)
    assert r23.insured_growth == pytest.approx(0.10)
    # balance_gap = 1100 − (900 + 1500 − 1200) = −100
    assert r23.balance_gap == -100
    # no population rows at all: insured_rate NULL
    assert math.isnan(r23.insured_rate)


def test_zero_denominators_give_nan_not_inf(wh):
    zero = dict(insured=0, insured_in_service=0, insured_retired=0, income_total=0, expenditure_total=0,
                income_fiscal_subsidy=0)  # fmt: skip
    rows = [
        led("320102", 2022, scheme="employee", fund="combined", balance_end=0, **zero),
        led("320102", 2023, scheme="employee", fund="combined", balance_end=100, **zero),
    ]
    load(wh, TREE, [dict(region_code="320102", year=2023, persons=0)], rows)
    df = compute_indicators(wh)
    numeric = df.select_dtypes("number").astype("float64")
    assert not np.isinf(numeric.to_numpy()).any()
    r = one(df, region_code="320102", year=2023)
    for c in ("insured_rate", "support_ratio", "surplus_rate", "payable_months", "income_growth",
              "expenditure_growth", "insured_growth", "balance_growth", "growth_gap", "income_per_capita",
              "expenditure_per_capita", "fiscal_subsidy_share"):  # fmt: skip
        assert math.isnan(r[c]), c
    assert r.surplus == 0 and r.balance_gap == 100  # 100 − (0 + 0 − 0)


def test_monthly_trailing_twelve_months(wh):
    rows = [  # 2023-01 … 2023-12 spend 100 × month; 2024-01 spends 1300, 2024-02 is missing, 2024-03 spends 1500
        led(
            "320102",
            2023,
            month=m,
            insured=100,
            income_total=1000,
            expenditure_total=100 * m,
            balance_end=6000,
        )
        for m in range(1, 13)
    ]
    rows[1]["balance_end"] = 3000  # 2023-02
    rows += [
        led(
            "320102", 2024, month=1, insured=100, income_total=1000, expenditure_total=1300, balance_end=6000
        ),
        led(
            "320102", 2024, month=3, insured=110, income_total=1000, expenditure_total=1500, balance_end=9000
        ),
        # an annual row beside the monthly ones: monthly=True ignores it, monthly=False shows only it
        led("320102", 2023, insured=100, income_total=12000, expenditure_total=7800, balance_end=6000),
    ]
    load(wh, TREE, [dict(region_code="320102", year=2024, persons=200)], rows)
    df = compute_indicators(wh, monthly=True, aggregate=False)
    assert len(df) == 14 and df.month.notna().all()
    feb23 = one(df, year=2023, month=2)
    # trailing window 2022-03 … 2023-02 holds Jan and Feb only: (100 + 200) / 2 = 150; 3000 / 150 = 20.0
    assert feb23.payable_months == pytest.approx(20.0)
    mar24 = one(df, year=2024, month=3)
    # window 2023-04 … 2024-03, 2024-02 missing: (400 + … + 1200) + 1300 + 1500 = 7200 + 2800 = 10,000
    # over 11 months = 909.09 a month; 9000 / 909.09 = 9.9
    assert mar24.payable_months == pytest.approx(9.9)
    # growth against the same month a year earlier: 1500 / 300 − 1 = 400 %; insured 110 / 100 − 1 = 10 %
    assert mar24.expenditure_growth == pytest.approx(4.0) and mar24.insured_growth == pytest.approx(0.1)
    # the previous month (2024-02) is missing: no balance_start
    assert math.isnan(mar24.balance_start) and math.isnan(mar24.balance_gap)
    # population of the year: 110 / 200 = 55 %
    assert mar24.insured_rate == pytest.approx(0.55)
    jan24 = one(df, year=2024, month=1)
    # January's previous period is December: 6000 − (6000 + 1000 − 1300) = 300
    assert jan24.balance_start == 6000 and jan24.balance_gap == 300
    # 1300 / 100 − 1 = 1200 %
    assert jan24.expenditure_growth == pytest.approx(12.0)
    annual = compute_indicators(wh, aggregate=False)
    assert len(annual) == 1 and pd.isna(annual.month.iloc[0])
    # annual: 6000 / (7800 / 12) = 9.231
    assert annual.payable_months.iloc[0] == pytest.approx(6000 / 650)


# -- the region tree ---------------------------------------------------------------------------------------
def test_closure_and_helpers(wh):
    odd = [  # a cycle and a parent that is not in the table must not hang or break anything
        dict(region_code="990001", name="x", level="county", parent_code="990002"),
        dict(region_code="990002", name="y", level="county", parent_code="990001"),
        dict(region_code="880101", name="z", level="county", parent_code="880100"),
    ]
    load(wh, TREE + odd)
    c = wh.to_pandas(closure(wh))
    depth = {(a, d): int(k) for a, d, k in c[["ancestor", "descendant", "depth"]].itertuples(index=False)}
    assert depth[("320105", "320105")] == 0
    assert depth[("320100", "320105")] == 1 and depth[("320000", "320105")] == 2
    assert ("320105", "320100") not in depth
    assert depth[("990002", "990001")] == 1 and depth[("880100", "880101")] == 1
    assert len(c) == len(set(depth))  # each pair once
    assert descendants(wh, ["320100"]) == ["320100", "320102", "320104", "320105"]
    assert descendants(wh, ["320100"], include_self=False) == ["320102", "320104", "320105"]
    assert ancestors(wh, "320104") == ["320100", "320000"]


# -- the catalogue and its document ----------------------------------------------------------------------
def test_catalog_covers_every_measure():
    keys = {
        "region_code",
        "region_name",
        "region_level",
        "year",
        "month",
        "scheme",
        "fund",
        "source",
        "n_units",
        "units_covered",
        "units_expected",
        "missing_regions",
    }
    measures = [c for c in OUTPUT_COLUMNS if c not in keys]
    assert [i.name for i in INDICATORS if i.column] == measures
    assert "cagr" in BY_NAME and BY_NAME["insured_rate"].zh == "参保率"
    glossary = {"insured": "参保人数", "support_ratio": "在职退休比", "income_total": "基金收入",
                "expenditure_total": "基金支出", "surplus": "当期结余", "surplus_rate": "当期结余率",
                "payable_months": "可支付月数", "cagr": "年均复合增长率", "income_per_capita": "人均筹资",
                "expenditure_per_capita": "人均支出", "fiscal_subsidy_share": "财政补助占比"}  # fmt: skip
    for name, zh in glossary.items():
        assert zh in BY_NAME[name].zh
    assert "收支倒挂" in BY_NAME["growth_gap"].zh and "同比增长" in BY_NAME["income_growth"].zh
    assert "累计结存" in BY_NAME["balance_end"].zh


def test_docs_are_up_to_date():
    assert DOCS.read_text(encoding="utf-8") == indicators_markdown(), (
        "docs/indicators.md is stale: python -m mifund.ledger.catalog > docs/indicators.md"
    )


# -- property test against a slow, obviously correct reference ---------------------------------------------
REF_TREE = [  # province > two cities > counties; 330300 has no row of its own in the regions table
    ("330000", None), ("330100", "330000"), ("330102", "330100"), ("330105", "330100"),
    ("330200", "330000"), ("330203", "330200"), ("330301", "330300"),
]  # fmt: skip
SLOTS = [("resident", "pooled"), ("employee", "combined"), ("employee", "pooled"), ("employee", "account")]
YEARS = [2020, 2021, 2022]
MONTHS = [None, 1, 2, 12]  # Feb's 12-month window reaches back to the previous December, not February


def _add(*xs):
    return None if any(x is None for x in xs) else sum(xs)


def _div(a, b):
    return None if a is None or b is None or b == 0 else a / b


NOT_APPLICABLE = {  # written out again, not imported: the reference stands on its own
    ("employee", "pooled"): {"income_fiscal_subsidy"},
    ("employee", "account"): {"income_fiscal_subsidy", "expenditure_inpatient"},
    ("employee", "combined"): {"income_fiscal_subsidy"},
    ("resident", "pooled"): {"income_employer"},
}


def _part(row, col, slot):
    """A side of a sum of two funds: a part the fund cannot have is 0 where its total is there."""
    total = "income_total" if col.startswith("income_") else "expenditure_total"
    if row[col] is None and col in NOT_APPLICABLE.get(slot, ()) and row[total] is not None:
        return 0
    return row[col]


def _minus1(x):
    return None if x is None else x - 1


def _support(r):
    """in service / retired, blank where the parts miss insured by more than the import check's tolerance."""
    from mifund.ingest.checks import INSURED_SPLIT_TOLERANCE

    srv, ret, ins = r["insured_in_service"], r["insured_retired"], r["insured"]
    if None not in (srv, ret, ins) and abs(srv + ret - ins) > ins * INSURED_SPLIT_TOLERANCE:
        return None
    return _div(srv, ret)


def reference(regions, ledger, population, *, monthly, aggregate):
    """Every rule of compute_indicators in plain Python, one row at a time."""
    parent = {code: p for code, p in regions}

    def above(code):  # strict ancestors
        out, p = [], parent.get(code)
        while p is not None and p not in out and p != code:
            out.append(p)
            p = parent.get(p)
        return out

    leaves = [c for c, _ in regions if c not in set(parent.values())]

    def units(code):  # the leaf regions at or below code
        return frozenset(leaf for leaf in leaves if leaf == code or code in above(leaf))

    pop = defaultdict(int)
    for p in population:
        pop[(p["region_code"], p["year"])] += p["persons"]
    def pop_of(code, year):
        """The region-year's own population rows; else the leaf-most holders' below it, where they cover
        every leaf region below it; else unknown."""
        if (code, year) in pop:
            return pop[(code, year)]
        holders = [c for (c, y) in pop if y == year and code in above(c)]
        leafmost = [d for d in holders if not any(d in above(e) for e in holders)]
        if not leafmost or frozenset().union(*(units(d) for d in leafmost)) != units(code):
            return None
        return sum(pop[(d, year)] for d in leafmost)

    own = {}
    for r in ledger:
        if (r["month"] is not None) != monthly:
            continue
        key = (r["region_code"], r["year"], r["month"] or 0, r["scheme"], r["fund"])
        own[key] = dict(source="reported", n_units=1, population=pop_of(*key[:2]), missing=frozenset(),
                        **{c: r.get(c) for c in (*PERSONS, *AMOUNTS)})  # fmt: skip
    for g, y, m, s, f in list(own):
        if (
            (s, f) == ("employee", "pooled")
            and (g, y, m, s, "account") in own
            and (g, y, m, s, "combined") not in own
        ):
            p, a = own[(g, y, m, s, "pooled")], own[(g, y, m, s, "account")]
            row = dict(source="derived", n_units=1, population=p["population"], missing=frozenset())
            row.update({c: _add(_part(p, c, ("employee", "pooled")), _part(a, c, ("employee", "account")))
                        for c in AMOUNTS})
            row.update({c: p[c] if p[c] is not None else a[c] for c in PERSONS})
            own[(g, y, m, s, "combined")] = row
    rows = dict(own)
    if aggregate:
        for tail in {k[1:] for k in own}:
            holders = [k[0] for k in own if k[1:] == tail]
            leafmost = [d for d in holders if not any(d in above(e) for e in holders)]
            for anc in {a for d in holders for a in above(d)}:
                if (anc, *tail) in own:
                    continue
                below = [d for d in leafmost if anc in above(d)]
                parts = [own[(d, *tail)] for d in below]
                covered = frozenset().union(*(units(d) for d in below))
                row = dict(source="aggregated", n_units=len(parts), missing=units(anc) - covered)
                for c in (*PERSONS, "population", *AMOUNTS):
                    row[c] = _add(*[p[c] for p in parts])
                rows[(anc, *tail)] = row
    for g, y, m, s, f in list(rows):
        if (s, f) == ("employee", "combined") and (g, y, m, "resident", "pooled") in rows:
            e, r = rows[(g, y, m, s, f)], rows[(g, y, m, "resident", "pooled")]
            row = dict(source="derived", n_units=max(e["n_units"], r["n_units"]), missing=e["missing"] | r["missing"])
            row.update({c: _add(e[c], r[c]) for c in PERSONS})
            row.update({c: _add(_part(e, c, ("employee", "combined")), _part(r, c, ("resident", "pooled")))
                        for c in AMOUNTS})
            row["population"] = e["population"] if e["population"] == r["population"] else None
            rows[(g, y, m, "total", "total")] = row

    out = {}
    for (g, y, m, s, f), r in rows.items():
        prev = (
            rows.get((g, y - 1, 12, s, f) if m == 1 else (g, y, m - 1, s, f))
            if monthly
            else rows.get((g, y - 1, 0, s, f))
        )
        yoy = rows.get((g, y - 1, m, s, f)) or {}
        # periods are compared only when both cover every leaf region below g
        if r["missing"] or (prev and prev["missing"]):
            prev = None
        if r["missing"] or yoy.get("missing"):
            yoy = {}
        if monthly:
            window = [rows.get((g, y - (i > m - 1), (m - 1 - i) % 12 + 1, s, f)) for i in range(12)]
            spent = [w["expenditure_total"] for w in window
                     if w and w["expenditure_total"] is not None and w["missing"] == r["missing"]]
            per_month = sum(spent) / len(spent) if spent else None
        else:
            per_month = None if r["expenditure_total"] is None else r["expenditure_total"] / 12
        surplus = _add(r["income_total"], None if r["expenditure_total"] is None else -r["expenditure_total"])
        start = prev["balance_end"] if prev else None
        ig = _minus1(_div(r["income_total"], yoy.get("income_total")))
        eg = _minus1(_div(r["expenditure_total"], yoy.get("expenditure_total")))
        n_units = len(units(g))
        out[(g, y, m, s, f)] = dict(
            r, units_expected=n_units, units_covered=n_units - len(r["missing"]),
            missing_regions=",".join(sorted(r["missing"])) or None, surplus=surplus, surplus_rate=_div(surplus, r["income_total"]), balance_start=start,
            balance_gap=None if start is None or surplus is None or r["balance_end"] is None
            else r["balance_end"] - (start + surplus),
            insured_rate=_div(r["insured"], r["population"]),
            support_ratio=_support(r),
            payable_months=_div(r["balance_end"], per_month),
            income_growth=ig, expenditure_growth=eg,
            insured_growth=_minus1(_div(r["insured"], yoy.get("insured"))),
            balance_growth=_minus1(_div(r["balance_end"], yoy.get("balance_end"))),
            growth_gap=None if ig is None or eg is None else eg - ig,
            income_per_capita=_div(r["income_total"], r["insured"]),
            expenditure_per_capita=_div(r["expenditure_total"], r["insured"]),
            fiscal_subsidy_share=_div(r["income_fiscal_subsidy"], r["income_total"]),
        )  # fmt: skip
    return out


maybe = st.none() | st.integers(0, 10**5)


@st.composite
def ledgers(draw):
    codes = [c for c, _ in REF_TREE]
    # dense on purpose: a few regions, slots and periods, then most of their combinations, so that a
    # county, its city and the province often hold the same key, and months a year apart meet
    some_codes = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=5, unique=True))
    some_slots = draw(st.lists(st.sampled_from(SLOTS), min_size=1, max_size=4, unique=True))
    periods = draw(st.lists(st.sampled_from([(y, m) for y in YEARS for m in MONTHS]), min_size=1, max_size=6,
                            unique=True))  # fmt: skip
    keys = [
        (g, y, m, sf)
        for g in some_codes
        for (y, m) in periods
        for sf in some_slots
        if draw(st.integers(0, 3))
    ]
    combined = {(g, y, m) for g, y, m, sf in keys if sf == ("employee", "combined")}
    # the contract: a combined row never stands beside pooled / account rows of the same key
    keys = [k for k in keys if not (k[3][0] == "employee" and k[3][1] != "combined" and k[:3] in combined)]
    rows = []
    for g, y, m, (s, f) in sorted(keys, key=str):
        emp = s == "employee"
        rows.append(dict(
            region_code=g, year=y, month=m, scheme=s, fund=f, insured=draw(st.integers(0, 1000)),
            insured_in_service=draw(maybe) if emp else None, insured_retired=draw(maybe) if emp else None,
            income_total=draw(st.integers(0, 10**6)), income_fiscal_subsidy=draw(maybe),
            income_employer=draw(maybe),
            expenditure_total=draw(st.integers(0, 10**6)), expenditure_inpatient=draw(maybe),
            balance_end=draw(st.integers(-(10**5), 10**7)),
        ))  # fmt: skip
    population = []
    for g in codes:
        for y in YEARS:
            for i, persons in enumerate(draw(st.lists(st.integers(0, 5000), max_size=2))):
                population.append(dict(region_code=g, year=y, sex="MF"[i], persons=persons))
    return rows, population


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA:
        return b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b)):
        return False
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=ledgers(), monthly=st.booleans(), aggregate=st.booleans())
def test_matches_reference_implementation(wh, data, monthly, aggregate):
    ledger, population = data
    for t in ("fund_ledger", "population", "regions"):
        wh.delete_all(t)
    regions = [dict(region_code=c, name=c, level="county", parent_code=p) for c, p in REF_TREE]
    load(wh, regions, population, ledger)
    df = compute_indicators(wh, monthly=monthly, aggregate=aggregate)
    expected = reference(REF_TREE, ledger, population, monthly=monthly, aggregate=aggregate)

    got = {}
    for rec in df.to_dict("records"):
        m = 0 if pd.isna(rec["month"]) else int(rec["month"])
        got[(rec["region_code"], int(rec["year"]), m, rec["scheme"], rec["fund"])] = rec
    assert set(got) == set(expected)
    for key, exp in expected.items():
        row = got[key]
        assert row["source"] == exp["source"] and row["n_units"] == exp["n_units"], key
        for c in ("units_expected", "units_covered"):
            assert row[c] == exp[c], (key, c, exp[c], row[c])
        assert (None if pd.isna(row["missing_regions"]) else row["missing_regions"]) == exp["missing_regions"], key
        for c in OUTPUT_COLUMNS[12:]:
            assert _same(exp[c], row[c]), (key, c, exp[c], row[c])
