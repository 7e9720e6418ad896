"""Indicators fixes after review: amounts converted to 万元 for machines carry no float noise."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from typer.testing import CliRunner

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
