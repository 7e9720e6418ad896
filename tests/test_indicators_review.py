"""Indicators fixes after review: a city's own ledger row keeps the population of its counties; amounts
converted to 万元 for machines carry no float noise."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.ledger.indicators import compute_indicators

REGIONS = pd.DataFrame({
    "region_code": ["360100", "360102", "360103"], "name": ["南昌市", "东湖区", "西湖区"],
    "level": ["city", "county", "county"], "parent_code": [None, "360100", "360100"]})


def _row(region, insured, income=1_000_000, expenditure=900_000, balance=2_000_000):
    return dict(region_code=region, year=2024, month=None, scheme="resident", fund="pooled", insured=insured,
                income_total=income, expenditure_total=expenditure, balance_end=balance, source="test")


def _pop(region, persons, sex):
    return dict(region_code=region, year=2024, sex=sex, age_band="0-4", persons=persons, source="test")


@pytest.fixture
def city(wh):
    wh.append("regions", REGIONS)
    wh.append("fund_ledger", pd.DataFrame([_row("360102", 739), _row("360103", 853), _row("360100", 1592)]))
    return wh


def test_a_city_row_keeps_the_population_of_its_counties(city):
    """Population is given by county; the city reports its own ledger row. Its population was NULL (no
    population row of 360100), so was its insured rate: now it is the counties' 1,634 + 1,781."""
    city.append("population", pd.DataFrame([_pop("360102", 800, "M"), _pop("360102", 834, "F"),
                                            _pop("360103", 1781, "M")]))
    df = compute_indicators(city, years=[2024]).set_index("region_code")
    assert df.loc["360100", "source"] == "reported" and df.loc["360100", "insured"] == 1592
    assert df.loc["360100", "population"] == 1634 + 1781
    assert df.loc["360100", "insured_rate"] == pytest.approx(1592 / 3415)
    assert df.loc["360102", "population"] == 1634


def test_a_city_population_is_never_a_partial_sum(city):
    city.append("population", pd.DataFrame([_pop("360102", 1634, "M")]))  # 西湖区 has none
    df = compute_indicators(city, years=[2024]).set_index("region_code")
    assert pd.isna(df.loc["360100", "population"]) and pd.isna(df.loc["360100", "insured_rate"])
    # the city's own population rows win over the sum below
    city.append("population", pd.DataFrame([_pop("360100", 5000, "M")]))
    df = compute_indicators(city, years=[2024]).set_index("region_code")
    assert df.loc["360100", "population"] == 5000


def test_unit_conversion_has_no_float_noise(city, monkeypatch):
    from mifund.cli import app

    city.append("fund_ledger", pd.DataFrame([dict(_row("360102", 739, income=4_302_259.67), year=2025)]))
    db = city.path
    city.close()
    monkeypatch.setenv("MIFUND_DB", str(db))
    r = CliRunner().invoke(app, ["indicators", "-r", "360102", "-y", "2025", "--unit", "wan", "-f", "csv"])
    assert r.exit_code == 0, r.output
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert row["income_total_wan"] == "430.225967"  # not 430.22596699999997
    r = CliRunner().invoke(app, ["indicators", "-r", "360102", "-y", "2025", "--unit", "yi", "-f", "csv"])
    assert next(csv.DictReader(io.StringIO(r.stdout)))["income_total_yi"] == "0.0430225967"
