"""Amounts at stake are exact integer fen: the same figure on DuckDB and on Spark, half a fen rounded up.

The rules that put a *part* of an amount in doubt (the excess share of a quantity, the overlapping nights
of a stay, the extra days of a long stay, the excess of a price) used to compute it in floating point and
round: 2,385.97 x 4 / 8 = 1,192.985 read 1,192.98 on DuckDB and 1,192.99 on Spark."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mifund.scale import screen_dataset
from mifund.storage.engines import connect
from mifund.supervision import load_rules
from test_supervision import CATALOG, PERSONS, PROVIDERS, SCHEMAS, claim, enrol, hits_of, line, stay, tables

D = dt.date
DAY = D(2024, 4, 15)
DEC = pa.decimal128(18, 2)


def test_half_a_fen_is_rounded_up_in_integer_fen():
    # over_quantity: 8 units of an item limited to 3 a day -> 2,385.97 x 5 / 8 = 1,491.23125 (1,491.23);
    # XDF limited to 2, 4 given -> 2,385.97 x 2 / 4 = 1,192.985: half a fen, rounded up
    c = claim("C1", pid="P2", vt="outpatient", admit=DAY, total=2385.97 * 2)
    lines = [line("C1", 1, item="XD1", qty=8, amount=2385.97, day=DAY),
             line("C1", 2, item="XDF", qty=4, amount=2385.97, day=DAY)]
    h = hits_of("over_quantity", tables([c], lines)).set_index("line_no")
    assert h.amount_at_stake.to_dict() == {1: 1491.23, 2: 1192.99}
    # overlapping_stay: 2 of a stay's 4 nights inside another stay; 200.01 x 2 / 4 = 100.005 -> 100.01
    a = stay("S1", D(2024, 3, 1), 10)
    b = stay("S2", D(2024, 3, 9), 4, prov="H2", total=200.01)
    h = hits_of("overlapping_stay", tables([a, b]))
    assert h.amount_at_stake.tolist() == [100.01]


def test_price_above_cap_in_integer_fen():
    # SVB capped at 80: unit price 80.125 x 3 -> 0.375 over the cap (0.38); no unit price: 240.03 for 3
    # -> 0.03 over (a price of 80.01)
    c = claim("C1", vt="outpatient", admit=DAY, total=480.41)
    lines = [line("C1", 1, item="SVB", qty=3, amount=240.38, price=80.125, day=DAY),
             {**line("C1", 2, item="SVB", qty=3, amount=240.03, day=DAY), "unit_price": None}]
    h = hits_of("price_above_cap", tables([c], lines)).set_index("line_no")
    assert h.amount_at_stake.to_dict() == {1: 0.38, 2: 0.03}


def _dataset(d):
    """The half-fen cases as Parquet files with the data contract's decimal amounts."""
    claims = [claim("C1", pid="P2", vt="outpatient", admit=DAY, total=4771.94),
              stay("S1", D(2024, 3, 1), 10), stay("S2", D(2024, 3, 9), 4, prov="H2", total=200.01)]
    lines = [line("C1", 1, item="XD1", qty=8, amount=2385.97, day=DAY),
             line("C1", 2, item="XDF", qty=4, amount=2385.97, day=DAY),
             line("C1", 3, item="SVB", qty=3, amount=240.38, price=80.125, day=DAY)]
    money = {"total_amount", "self_pay_amount", "copay_first_amount", "policy_scope_amount", "amount", "price_cap"}

    arrow = {"string": pa.string(), "date": pa.date32(), "float64": pa.float64(), "int64": pa.int64(),
             "boolean": pa.bool_()}

    def write(name, rows, schema):
        arrays = {k: pa.array([None if r[k] is None else Decimal(str(round(r[k], 2))) for r in rows], DEC)
                  if k in money else pa.array([r[k] for r in rows], arrow[t]) for k, t in schema.items()}
        (d / name).mkdir(parents=True)
        pq.write_table(pa.table(arrays), d / name / "part-0.parquet")

    write("claims", claims, SCHEMAS["claims"])
    write("claim_lines", lines, SCHEMAS["lines"])
    write("enrollment", [enrol(p, s, b) for p, s, b in PERSONS], SCHEMAS["enrollment"])
    write("providers", PROVIDERS, SCHEMAS["providers"])
    write("catalog", CATALOG, SCHEMAS["catalog"])
    write("population", [{"region_code": "360102", "year": 2024, "persons": 4}],
          {"region_code": "string", "year": "int64", "persons": "int64"})
    return d


EXPECTED = {"over_quantity:C1:1": 1491.23, "over_quantity:C1:2": 1192.99, "price_above_cap:C1:3": 0.38,
            "overlapping_stay:S2:-": 100.01}


def _amounts(con, d):
    rules = load_rules(only=["over_quantity", "price_above_cap", "overlapping_stay"])
    res = screen_dataset(con, d, rules=rules)
    assert not res.failures, [(r.rule_id, r.error) for r in res.failures]
    h = res.hits.to_pandas()
    return dict(zip(h.hit_id, h.amount_at_stake, strict=True))


def test_decimal_dataset_on_duckdb(tmp_path):
    assert _amounts(connect("duckdb"), _dataset(tmp_path / "ds")) == EXPECTED


@pytest.mark.slow
def test_same_amounts_on_duckdb_and_spark(tmp_path):
    assert shutil.which("java"), "Spark needs Java on PATH"
    d = _dataset(tmp_path / "ds")
    spark = connect("spark", master="local[1]", config={"spark.sql.shuffle.partitions": "1"})
    try:
        on_spark = _amounts(spark, d)
    finally:
        spark._session.stop()
    assert on_spark == _amounts(connect("duckdb"), d) == EXPECTED
