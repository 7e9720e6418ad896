"""Import fixes after review: the ID-hash key's fingerprint, amounts at the edge of DECIMAL(18,2), region
codes, age bands, amounts finer than the fen (CSV and Parquet), and a region's own ledger row against the
sum of its regions below."""

from __future__ import annotations

import csv
import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mifund.ingest import idnumber
from mifund.storage import Warehouse
from test_ingest import KEY, fails, imp  # the import tests' helpers

REGIONS = [
    {"region_code": "000000", "name": "全国", "level": "country", "parent_code": ""},
    {"region_code": "110000", "name": "北京市", "level": "province", "parent_code": "000000"},
    {"region_code": "110100", "name": "北京市市辖区", "level": "city", "parent_code": "110000"},
    {"region_code": "110101", "name": "东城区", "level": "county", "parent_code": "110100"},
    {"region_code": "110102", "name": "西城区", "level": "county", "parent_code": "110100"},
]


def write_csv(path, rows, header=None):
    header = header or list(rows[0])
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])
    return path


@pytest.fixture
def regions_wh(tmp_path):
    w = Warehouse(tmp_path / "w.duckdb")
    imp(w, write_csv(tmp_path / "regions.csv", REGIONS))
    yield w
    w.close()


def with_check(body17: str) -> str:
    check = (12 - sum(int(body17[i]) * (2 ** (17 - i) % 11) for i in range(17)) % 11) % 11
    return body17 + ("X" if check == 10 else str(check))


def enrollment_rows(bodies):
    out = []
    for b in bodies:
        i = with_check(b)
        born = dt.date(int(i[6:10]), int(i[10:12]), int(i[12:14])).isoformat()
        out.append({"公民身份号码": i, "年度": "2024", "参保地行政区划代码": "110101", "险种": "居民医保",
                    "人员类别": "成年居民", "性别": "男" if int(i[16]) % 2 else "女", "出生日期": born})
    return out


IDS = ["11010119900307123", "11010119850101002", "11010120000229001"]


# -- 1. the ID-hash key ----------------------------------------------------------------------------------
def test_a_second_key_is_refused_not_a_second_person(regions_wh, tmp_path):
    path = write_csv(tmp_path / "enrollment.csv", enrollment_rows(IDS))
    imp(regions_wh, path)
    fp = idnumber.recorded_fingerprint(regions_wh)
    assert fp is not None and fp[0] == idnumber.key_fingerprint(KEY) and fp[2] == "tester"
    assert fp[0] != KEY.hex() and len(fp[0]) == 64  # a keyed hash of a fixed text, not the key
    err = fails(regions_wh, path, id_key=b"another key")
    (issue,) = err.issues
    assert issue.column == "id_number" and issue.file == str(path)
    assert "not the key this warehouse's person_id values were made with" in issue.reason
    assert regions_wh.count("enrollment") == 3
    again = imp(regions_wh, path)  # the right key: the same persons, unchanged
    assert again.files[0].unchanged == 3 and regions_wh.count("enrollment") == 3


def test_a_failed_first_import_records_no_fingerprint(regions_wh, tmp_path):
    rows = enrollment_rows(IDS)
    rows[1]["险种"] = "no such scheme"
    fails(regions_wh, write_csv(tmp_path / "enrollment.csv", rows))
    assert idnumber.recorded_fingerprint(regions_wh) is None


def test_copied_warehouse_without_its_key_file_is_refused(tmp_path, monkeypatch):
    """The reviewer's case: a copy of the warehouse without its .idkey (or another MIFUND_ID_KEY) made 5 new
    persons beside the 5 there; now the import fails and writes nothing."""
    from mifund.cli import app

    monkeypatch.delenv("MIFUND_ID_KEY", raising=False)
    monkeypatch.setenv("MIFUND_USER", "analyst1")
    runner = CliRunner()
    regions = write_csv(tmp_path / "regions.csv", REGIONS)
    enrol = write_csv(tmp_path / "enrollment.csv", enrollment_rows(IDS))
    e = tmp_path / "e.duckdb"
    for p in (regions, enrol):
        r = runner.invoke(app, ["--db", str(e), "import", str(p)])
        assert r.exit_code == 0, r.output
    shutil.copy(e, tmp_path / "f.duckdb")  # without e.duckdb.idkey
    r = runner.invoke(app, ["--db", str(tmp_path / "f.duckdb"), "import", "--table", "enrollment", str(enrol)])
    assert r.exit_code == 1 and "nothing was written" in r.output and "idkey" in r.output
    monkeypatch.setenv("MIFUND_ID_KEY", "abc")
    r = runner.invoke(app, ["--db", str(e), "import", "--table", "enrollment", str(enrol)])
    assert r.exit_code == 1 and "not the key this warehouse" in r.output
    for db in (e, tmp_path / "f.duckdb"):
        with Warehouse(db, read_only=True) as wh:
            assert wh.count("enrollment") == 3


# -- 6. amounts at the edge of DECIMAL(18,2) -------------------------------------------------------------
def ledger(year, balance, income="505166.20", expenditure="533992.98", region="110101"):
    return {"region_code": region, "year": str(year), "scheme": "resident", "fund": "pooled", "insured": "860",
            "income_total": income, "expenditure_total": expenditure, "balance_end": balance}


def test_largest_amounts_do_not_overflow_the_checks(regions_wh, tmp_path):
    """A previous balance of 9,999,999,999,999,999.99 plus an income overflowed DECIMAL(18) in the balance
    identity (a traceback, then a second one from dropping the stage in the aborted transaction)."""
    rows = [ledger(2015, "9999999999999999.99"), ledger(2016, "1529746.94")]
    path = write_csv(tmp_path / "fund_ledger.csv", rows)
    err = fails(regions_wh, path, strict=True)  # the identity is broken: a warning, an error with strict
    assert [(i.row, i.column) for i in err.issues] == [(3, "balance_end")]
    assert "balance identity broken" in err.issues[0].reason
    report = imp(regions_wh, path)
    assert [(w.row, w.column) for w in report.warnings] == [(3, "balance_end")]
    assert not [t for t in regions_wh.con.list_tables() if t.startswith("_stage_")]


def test_largest_parts_do_not_overflow_the_part_sums(regions_wh, tmp_path):
    row = ledger(2015, "1.00", income="9999999999999999.99")
    row.update(income_individual="9999999999999999.99", income_fiscal_subsidy="9999999999999999.99")
    err = fails(regions_wh, write_csv(tmp_path / "fund_ledger.csv", [row]))
    assert any(i.row == 2 and i.column == "income_total" and "add up to" in i.reason for i in err.issues), str(err)


def test_a_failed_statement_leaves_one_clean_error(regions_wh, tmp_path, monkeypatch):
    """Whatever fails inside the transaction, the cleanup does not raise a second exception over it."""
    from mifund.ingest import checks

    def broken(*a, **kw):
        regions_wh.con.con.execute("SELECT CAST(1e30 AS DECIMAL(18,2))")  # aborts the transaction

    monkeypatch.setattr(checks, "run", broken)
    with pytest.raises(Exception) as exc:
        imp(regions_wh, write_csv(tmp_path / "fund_ledger.csv", [ledger(2015, "1.00")]))
    assert "Transaction" not in type(exc.value).__name__ and exc.value.__context__ is None
    assert regions_wh.count("fund_ledger") == 0


# -- 7. region codes -------------------------------------------------------------------------------------
def test_short_region_codes_are_refused_not_padded(regions_wh, tmp_path):
    rows = [ledger(2015, "100.00", region="1101"), ledger(2016, "100.00", region="110101.0")]
    err = fails(regions_wh, write_csv(tmp_path / "fund_ledger.csv", rows))
    assert [(i.row, i.column, i.value) for i in err.issues] == [(2, "region_code", "1101")]
    assert "6-digit" in err.issues[0].reason
    table = pa.table({"region_code": pa.array([3601], pa.int64()), "name": ["x"], "level": ["city"]})
    pq.write_table(table, tmp_path / "regions.parquet")
    err = fails(regions_wh, tmp_path / "regions.parquet")
    assert [(i.row, i.column, i.value) for i in err.issues] == [(1, "region_code", "3601")]
    # the country's 000000 read from a number cell as 0 is the one short form taken
    imp(regions_wh, write_csv(tmp_path / "regions2.csv", [dict(REGIONS[0], region_code="0")]))
    assert "000000" in set(regions_wh.to_pandas(regions_wh.table("regions")).region_code)


# -- 8. age bands ----------------------------------------------------------------------------------------
def test_age_bands_have_one_spelling(regions_wh, tmp_path):
    def pop(band, n="10", sex="M"):
        return {"region_code": "110101", "year": "2024", "sex": sex, "age_band": band, "persons": n}

    err = fails(regions_wh, write_csv(tmp_path / "population.csv",
                                      [pop("5-9"), pop("5-9y", "20"), pop("9-5", sex="F"), pop("elderly", sex="F")]))
    assert [(i.row, i.column, i.value) for i in err.issues] == [
        (3, "age_band", "5-9y"), (4, "age_band", "9-5"), (5, "age_band", "elderly")]
    assert "LOW-HIGH or LOW+" in err.issues[0].reason
    # the Chinese and padded spellings of a band are that band: a second one beside it is a duplicate
    err = fails(regions_wh, write_csv(tmp_path / "population.csv", [pop("5-9"), pop("5-9岁", "20")]))
    assert [(i.row, i.column) for i in err.issues] == [(3, "region_code")] and "duplicate" in err.issues[0].reason
    imp(regions_wh, write_csv(tmp_path / "population.csv",
                              [pop("0-4"), pop("05～09岁"), pop("85岁及以上"), pop("85+", sex="F")]))
    bands = regions_wh.to_pandas(regions_wh.table("population")).sort_values(["sex", "age_band"])
    assert list(bands.age_band) == ["85+", "0-4", "5-9", "85+"]


# -- 12. decimals finer than the fen ---------------------------------------------------------------------
def test_amounts_finer_than_the_fen_are_refused(regions_wh, tmp_path):
    path = write_csv(tmp_path / "fund_ledger.csv", [ledger(2015, "1234.567")])
    err = fails(regions_wh, path)
    assert [(i.file, i.row, i.column, i.value) for i in err.issues] == [(str(path), 2, "balance_end", "1234.567")]
    assert "more than 2 decimals" in err.issues[0].reason
    # in 万元 the fen is the 6th decimal: 0.123456 万元 = 1,234.56 yuan is exact, a 7th decimal is not
    imp(regions_wh, write_csv(tmp_path / "ledger_wan.csv", [ledger(2015, "0.123456", "1.5", "0.000001")]),
        unit="wan")
    row = regions_wh.to_pandas(regions_wh.table("fund_ledger")).iloc[0]
    assert (row.balance_end, row.income_total, row.expenditure_total) == (1234.56, 15000.0, 0.01)
    err = fails(regions_wh, write_csv(tmp_path / "ledger_wan.csv", [ledger(2016, "0.1234567")]), unit="wan")
    assert [(i.row, i.column) for i in err.issues] == [(2, "balance_end")] and "6 decimals" in err.issues[0].reason


def test_parquet_floats_finer_than_the_fen_are_refused_float_noise_is_not(regions_wh, tmp_path):
    def table(balance):
        return pa.table({"region_code": ["110101"], "year": [2015], "scheme": ["resident"], "fund": ["pooled"],
                         "insured": [860], "income_total": [0.1 + 0.2], "expenditure_total": [1234.5600000000002],
                         "balance_end": [balance]})

    pq.write_table(table(100.004), tmp_path / "fund_ledger.parquet")
    err = fails(regions_wh, tmp_path / "fund_ledger.parquet")
    assert [(i.row, i.column, i.value) for i in err.issues] == [(1, "balance_end", "100.004")]
    from mifund.ingest.readers import cell_text

    assert [cell_text(v) for v in (0.1 + 0.2, 1234.5600000000002, 100.004)] == ["0.3", "1234.56", "100.004"]
    pq.write_table(table(12345678901234.56), tmp_path / "fund_ledger.parquet")
    imp(regions_wh, tmp_path / "fund_ledger.parquet")  # float noise is the float's, not the figure's
    row = regions_wh.to_pandas(regions_wh.table("fund_ledger"), decimals_as_float=False).iloc[0]
    assert [str(row[c]) for c in ("income_total", "expenditure_total", "balance_end")] == [
        "0.30", "1234.56", "12345678901234.56"]


# -- 10. a region's own row against the sum of the rows below ---------------------------------------------
def test_a_city_row_far_from_its_counties_sum_is_a_warning(regions_wh, tmp_path):
    """Counties 110101 and 110102 are the whole of 110100: a city row of 99,999 insured beside counties
    summing to 12,416 used to pass without a word. It is kept (the city's own figure), with a warning
    (an error with --strict); within 0.5% it is quiet; with a county missing it is not compared."""
    counties = [dict(ledger(2024, "1000.00", "600.00", "500.00", region="110101"), insured="6208"),
                dict(ledger(2024, "2000.00", "600.00", "500.00", region="110102"), insured="6208")]
    imp(regions_wh, write_csv(tmp_path / "fund_ledger.csv", counties))
    city = dict(ledger(2024, "3000.00", "1200.00", "1000.00", region="110100"), insured="99999")
    path = write_csv(tmp_path / "city.csv", [city])
    err = fails(regions_wh, path, table="fund_ledger", strict=True)
    assert [(i.row, i.column, i.value) for i in err.issues] == [(2, "insured", "99999")]
    report = imp(regions_wh, path, table="fund_ledger")
    (w,) = report.warnings
    assert "110100 resident pooled 2024" in w.reason and "insured 99999 vs 12416 below" in w.reason
    assert "income_total" not in w.reason  # the amounts agree
    assert regions_wh.to_pandas(regions_wh.table("fund_ledger")).insured.max() == 99999  # kept
    # a county re-imported against the city's row in the warehouse: reported at the county's row
    report = imp(regions_wh, write_csv(tmp_path / "fund_ledger.csv", [counties[1]]))
    assert [(w.row, w.column) for w in report.warnings] == [(2, "insured")]
    ok = dict(city, insured="12450", balance_end="3010.00")  # 0.27% and 0.33% apart: rounding, not a mistake
    assert imp(regions_wh, write_csv(tmp_path / "city.csv", [ok]), table="fund_ledger").warnings == []


def test_a_city_row_is_not_compared_with_part_of_its_counties(regions_wh, tmp_path):
    rows = [dict(ledger(2024, "1000.00", "600.00", "500.00", region="110101"), insured="6208"),
            dict(ledger(2024, "3000.00", "1200.00", "1000.00", region="110100"), insured="99999")]
    assert imp(regions_wh, write_csv(tmp_path / "fund_ledger.csv", rows)).warnings == []
