"""Import: formats, conversions, checks, all-or-nothing, bookkeeping, citizen IDs, streaming."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal
from importlib import resources

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mifund.ingest import ImportFailed, import_paths, import_sample
from mifund.ingest import readers as readers_module
from mifund.storage import Warehouse

KEY = b"test-key"

REGIONS = [
    {"region_code": "000000", "name": "全国", "level": "country", "parent_code": ""},
    {"region_code": "110000", "name": "北京市", "level": "province", "parent_code": "000000"},
    {"region_code": "110100", "name": "北京市市辖区", "level": "city", "parent_code": "110000"},
    {"region_code": "110101", "name": "东城区", "level": "county", "parent_code": "110100"},
]
PROVIDERS = [{"provider_id": "H1", "name": "协和", "region_code": "110101", "level": "3", "type": "医院"}]
LEDGER = [  # 1100 + 600 - 500 = 1200: the identity holds
    {"region_code": "110100", "year": "2022", "scheme": "resident", "fund": "pooled", "insured": "1000",
     "income_total": "500.00", "expenditure_total": "400.00", "balance_end": "1100.00"},
    {"region_code": "110100", "year": "2023", "scheme": "resident", "fund": "pooled", "insured": "1000",
     "income_total": "600.00", "expenditure_total": "500.00", "balance_end": "1200.00"},
]


def write_csv(path, rows, *, encoding="utf-8", header=None):
    header = header or list(rows[0])
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(list(r.values()) if isinstance(r, dict) else r)
    return path


def imp(wh, paths, **kw):
    kw.setdefault("actor", "tester")
    kw.setdefault("id_key", KEY)
    return import_paths(wh, paths if isinstance(paths, list) else [paths], **kw)


def snapshot(wh) -> dict:
    """Every row of every table, as text, sorted: 'exactly as before' is equality of two snapshots."""
    out = {}
    for name in sorted(wh.con.list_tables()):
        rows = wh.to_arrow(wh.table(name)).to_pylist()
        out[name] = sorted(tuple(str(v) for v in row.values()) for row in rows)
    return out


@pytest.fixture(scope="module")
def base_file(tmp_path_factory):
    """A warehouse file holding regions, the two-year ledger and one provider, built once per module."""
    d = tmp_path_factory.mktemp("base")
    w = Warehouse(d / "base.duckdb")
    imp(w, [write_csv(d / "regions.csv", REGIONS), write_csv(d / "fund_ledger.csv", LEDGER),
            write_csv(d / "providers.csv", PROVIDERS)])
    w.close()
    return d / "base.duckdb"


@pytest.fixture
def base(base_file, tmp_path):
    shutil.copy(base_file, tmp_path / "base.duckdb")
    w = Warehouse(tmp_path / "base.duckdb")
    yield w
    w.close()


def fails(wh, paths, **kw) -> ImportFailed:
    before = snapshot(wh)
    with pytest.raises(ImportFailed) as exc:
        imp(wh, paths, **kw)
    assert snapshot(wh) == before
    return exc.value


# -- the national sample -------------------------------------------------------------------------------
def test_national_sample(wh):
    report = import_sample(wh, "national", actor="tester", id_key=KEY)
    counts = {f.table: f.inserted for f in report.files}
    assert counts == {"regions": 1, "population": 5, "fund_ledger": 10}
    assert {n: wh.count(n) for n in counts} == counts
    identity = [w for w in report.warnings if "balance identity" in w.reason]
    assert len(identity) == 2
    y2021, y2022 = sorted(identity, key=lambda w: w.row)
    assert "resident pooled 2021" in y2021.reason and "gap 23859000000.00 yuan (3.55%" in y2021.reason
    assert "resident pooled 2022" in y2022.reason and "gap 4209000000.00 yuan (0.56%" in y2022.reason
    assert all(w.severity == "warning" and w.column == "balance_end" for w in identity)
    # the bulletins round persons to 10,000: in-service + retired misses insured by that in three rows
    # (e.g. 2021: 261,060,000 + 93,240,000 = 354,300,000 vs 354,310,000, 0.003%), within the tolerance
    others = [w for w in report.warnings if w not in identity]
    assert others == []
    batches = wh.to_pandas(wh.table("import_batches"))
    assert len(batches) == 3 and batches.batch_id.nunique() == 1 and set(batches.unit) == {"yuan"}
    ledger_batch = batches[batches.table_name == "fund_ledger"].iloc[0]
    assert sum("balance identity" in w["reason"] for w in json.loads(ledger_batch.warnings)) == 2
    log = wh.to_pandas(wh.table("audit_log"))
    assert (log.action == "import").sum() == 3
    ledger = wh.to_pandas(wh.table("fund_ledger"), decimals_as_float=False)
    row = ledger[(ledger.year == 2020) & (ledger.scheme == "resident")].iloc[0]
    assert row.balance_end == Decimal("604988000000.00") and row.source.startswith("NHSA 2020")
    sample = resources.files("mifund.samples") / "national"
    with resources.as_file(sample) as d:  # strict: the published series' breaks stop the import
        err = fails(wh, d, strict=True)
    assert sum("balance identity" in i.reason for i in err.issues) == 2


# -- formats ---------------------------------------------------------------------------------------------
def ledger_table(wh):
    df = wh.to_pandas(wh.table("fund_ledger").order_by("year"), decimals_as_float=False)
    return df[["region_code", "year", "scheme", "fund", "insured", "income_total", "balance_end"]].values.tolist()


EXPECTED_LEDGER = [["110100", 2022, "resident", "pooled", 1000, Decimal("500.00"), Decimal("1100.00")],
                   ["110100", 2023, "resident", "pooled", 1000, Decimal("600.00"), Decimal("1200.00")]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(wh, tmp_path, encoding):
    zh_regions = [dict(r, name=r["name"] + "（测试）") for r in REGIONS]
    write_csv(tmp_path / "regions.csv", zh_regions, encoding=encoding)
    write_csv(tmp_path / "fund_ledger.csv", LEDGER, encoding=encoding)
    imp(wh, tmp_path)
    assert ledger_table(wh) == EXPECTED_LEDGER
    names = set(wh.to_pandas(wh.table("regions")).name)
    assert "东城区（测试）" in names
    if encoding == "utf-8-sig":
        assert (tmp_path / "regions.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_xlsx_with_chinese_headers_and_excel_cells(wh, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws["A1"] = "readme sheet"
    ws = wb.create_sheet("数据")
    ws.append(["行政区划代码（region_code）", "名称", "层级", "上级行政区划代码"])
    ws.append([0, "全国", "全国", None])  # a numeric 0 becomes 000000; 全国 is the level's alias
    ws.append([110000, "北京市", "省级", 0])
    ws.append([None, None, None, None])  # an empty row Excel leaves: ignored
    wb.save(tmp_path / "regions.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["行政区划代码", "年度", "险种", "基金", "参保人数 insured", "基金收入(income_total)", "基金支出",
               "累计结存", "备注"])
    ws.append([110000, 2023, "职工医保", "统筹基金", 1000.0, 1234.5, 1000, 234.5, "note"])
    ws.append(["110000 北京市", 2023, "employee 职工医保", "account 个人账户（本地叫法）", 1000, 10, 5, 5, None])
    wb.save(tmp_path / "ledger.xlsx")
    with pytest.raises(ImportFailed):  # the first sheet of regions.xlsx is the readme
        imp(wh, [tmp_path / "regions.xlsx"])
    imp(wh, [tmp_path / "regions.xlsx"], sheet="数据")
    report = imp(wh, [tmp_path / "ledger.xlsx"])
    regions = wh.to_pandas(wh.table("regions").order_by("region_code"))
    assert regions.region_code.tolist() == ["000000", "110000"] and regions.level.tolist() == ["country", "province"]
    assert regions.parent_code.tolist()[1] == "000000"
    ledger = wh.to_pandas(wh.table("fund_ledger").order_by("fund"), decimals_as_float=False)
    assert ledger[["region_code", "scheme", "fund"]].values.tolist() == [["110000", "employee", "account"],
                                                                         ["110000", "employee", "pooled"]]
    assert ledger.insured.tolist() == [1000, 1000] and ledger.income_total.tolist()[1] == Decimal("1234.50")
    extra = [w for w in report.warnings if w.severity == "info"]
    assert [w.column for w in extra] == ["备注"]


def test_csv_encoding_forced_or_wrong(wh, tmp_path):
    path = write_csv(tmp_path / "regions.csv", REGIONS, encoding="gb18030")
    err = fails(wh, path, encoding="utf-8")
    assert "encoding" in str(err)
    assert imp(wh, path, encoding="gb18030").files[0].inserted == 4


def test_malformed_csv_names_the_line(wh, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("region_code,name,level,parent_code\n000000,全国,country,\n\n110000,北京,province,000000,x\n")
    err = fails(wh, path)
    assert [i.row for i in err.issues] == [4] and "5 values, the header has 4 columns" in err.issues[0].reason


def test_first_row_longer_than_the_header_is_an_error(wh, tmp_path):
    # an unquoted 2,000,000.00 makes 10 values under 8 columns; pandas would keep the first 8 and
    # import income 2.00 without a word (a later row is an error anyway)
    header = "region_code,year,scheme,fund,insured,income_total,expenditure_total,balance_end\n"
    regions = write_csv(tmp_path / "regions.csv", REGIONS)
    path = tmp_path / "fund_ledger.csv"
    path.write_text(header + "110000,2025,resident,pooled,1700,2,000,000.00,1900000,1522816\n")
    err = fails(wh, [regions, path])
    assert [(i.file.endswith("fund_ledger.csv"), i.row) for i in err.issues] == [(True, 2)]
    assert "10 values, the header has 8 columns" in err.issues[0].reason
    assert wh.count("regions") == 0  # one transaction: the good file is not written either
    path.write_text(header + '110000,2025,resident,pooled,1700,"2,000,000.00",1900000,1522816\n')
    imp(wh, [regions, path])
    assert wh.to_pandas(wh.table("fund_ledger")).income_total.tolist() == [2_000_000.0]


def test_xlsx_claims_with_date_cells_and_excel_row_numbers(base, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    header = ["结算编号", "人员标识", "机构编码", "就诊类型", "入院日期", "出院日期", "诊断编码", "医疗总费用",
              "全自费金额", "乙类先行自付", "异地就医"]
    for col, h in enumerate(header, start=1):  # rows 1-2 empty: the header is the first non-empty row
        ws.cell(row=3, column=col, value=h)
    day = dt.date(2024, 3, 1)
    ws.append(["C1", "p1", "H1", "门诊", day, dt.datetime(2024, 3, 1), "J06", 120.5, 0, 0, "是"])
    ws.append([None] * 11)  # Excel row 5: empty, skipped
    ws.append(["C2", "p2", "H1", "门诊", day, dt.date(2024, 2, 28), "J06", 80, 0, 0, False])  # row 6
    wb.save(tmp_path / "claims.xlsx")
    err = fails(base, tmp_path / "claims.xlsx")
    assert [(i.row, i.column) for i in err.issues] == [(6, "discharge_date")]
    ws.cell(row=6, column=6, value=day)
    wb.save(tmp_path / "claims.xlsx")
    imp(base, tmp_path / "claims.xlsx")
    df = base.to_pandas(base.table("claims").order_by("claim_id"), decimals_as_float=False)
    assert [d.date() for d in df.admit_date] == [day, day] and df.cross_region.tolist() == [True, False]
    assert df.total_amount.tolist() == [Decimal("120.50"), Decimal("80.00")]


def test_xlsx_title_rows_above_the_header(base, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年基金收支台账"])  # row 1: a title
    ws.append(["单位：元", None, None, None, None, None, None, "制表：医保局"])  # row 2: a unit line
    ws.append(["行政区划代码", "年度", "险种", "基金", "参保人数", "基金收入", "基金支出", "累计结存"])  # row 3
    ws.append(["110100", 2024, "居民医保", "统筹基金", 1000, 700, 600, "x"])  # row 4: a bad balance
    path = tmp_path / "2024年报.xlsx"  # the name says nothing: the header, found under the title, does
    wb.save(path)
    err = fails(base, path)
    assert [(i.row, i.column) for i in err.issues] == [(4, "balance_end")]
    ws["H4"] = 1300  # 1200 + 700 − 600 = 1300: the identity holds
    wb.save(path)
    report = imp(base, path)
    assert report.files[0].table == "fund_ledger" and report.files[0].inserted == 1
    assert any(w.row == 3 and "header read from row 3" in w.reason for w in report.warnings)
    # no header anywhere near the top: the error says where it looked
    wb = openpyxl.Workbook()
    for r in (["2024年基金收支台账"], ["a", "b"], ["1", "2"]):
        wb.active.append(r)
    wb.save(path)
    err = fails(base, path, table="fund_ledger")
    assert "the header is read from row 1" in err.issues[0].reason and "title" in err.issues[0].reason


def test_parquet(wh, tmp_path):
    write_csv(tmp_path / "regions.csv", REGIONS)
    table = pa.table({
        "region_code": pa.array([110100, 110100], pa.int64()),  # numeric codes are zero-padded text
        "year": [2022, 2023], "scheme": ["resident", "resident"], "fund": ["pooled", "pooled"],
        "insured": [1000.0, 1000.0],
        "income_total": pa.array([Decimal("500.00"), Decimal("600.00")], pa.decimal128(12, 2)),
        "expenditure_total": [400.0, 500.0], "balance_end": [1100.0, 1200.0],
    })
    pq.write_table(table, tmp_path / "fund_ledger.parquet", row_group_size=1)
    imp(wh, [tmp_path / "regions.csv", tmp_path / "fund_ledger.parquet"])
    assert ledger_table(wh) == EXPECTED_LEDGER
    pq.write_table(table.set_column(4, "insured", pa.array([1000.0, -1.5])), tmp_path / "fund_ledger.parquet")
    err = fails(wh, tmp_path / "fund_ledger.parquet")
    assert [(i.row, i.column, i.value) for i in err.issues] == [(2, "insured", "-1.5")]


def test_thousands_separators_and_units(wh, tmp_path):
    write_csv(tmp_path / "regions.csv", REGIONS)
    rows = [dict(LEDGER[0], income_total="1,234.56", expenditure_total="1，000", balance_end="¥ 2,000,000.005")]
    write_csv(tmp_path / "ledger_wan.csv", rows)
    imp(wh, tmp_path / "regions.csv")
    report = imp(wh, tmp_path / "ledger_wan.csv", unit="wan")
    row = wh.to_pandas(wh.table("fund_ledger"), decimals_as_float=False).iloc[0]
    assert row.income_total == Decimal("12345600.00")
    assert row.expenditure_total == Decimal("10000000.00")
    assert row.balance_end == Decimal("20000000050.00")
    assert row.insured == 1000  # counts are not scaled
    assert report.files[0].table == "fund_ledger"
    imp(wh, tmp_path / "ledger_wan.csv", unit="yi")
    row = wh.to_pandas(wh.table("fund_ledger"), decimals_as_float=False).iloc[0]
    assert row.income_total == Decimal("123456000000.00")
    assert wh.to_pandas(wh.table("import_batches")).unit.tolist() == ["yuan", "wan", "yi"]


# -- errors leave the warehouse exactly as it was ------------------------------------------------------
@pytest.mark.parametrize(
    "change, row, column, words",
    [
        ({"region_code": "990000"}, 3, "region_code", "990000 is not in regions"),
        ({"expenditure_total": "-5"}, 3, "expenditure_total", "at least 0"),
        ({"year": "2022"}, 3, "region_code", "same as row 2"),
        ({"income_individual": "700.00"}, 3, "income_individual", "exceeds income_total"),
        ({"fund": "account"}, 3, "fund", "only for scheme employee"),
        ({"insured": "many"}, 3, "insured", "not a whole number"),
        ({"balance_end": ""}, 3, "balance_end", "required value missing"),
    ],
)
def test_ledger_errors(base, tmp_path, change, row, column, words):
    rows = [dict(LEDGER[0]), dict(LEDGER[1])]
    rows[1].update(change)
    header = sorted({k for r in rows for k in r}, key=lambda k: (k not in LEDGER[0], k))
    rows = [[r.get(h, "") for h in header] for r in rows]
    path = write_csv(tmp_path / "fund_ledger.csv", rows, header=header)
    err = fails(base, path)
    hits = [i for i in err.issues if i.row == row and i.column == column and words in i.reason]
    assert hits, str(err)
    assert hits[0].file == str(path)
    assert str(path) in str(err) and f"row {row}" in str(err)


def test_missing_required_column(base, tmp_path):
    rows = [{k: v for k, v in LEDGER[0].items() if k != "balance_end"}]
    err = fails(base, write_csv(tmp_path / "fund_ledger.csv", rows))
    assert [(i.column, i.row) for i in err.issues] == [("balance_end", 1)]
    assert "累计结存" in err.issues[0].reason


def test_balance_identity_warning_and_strict(base, tmp_path):
    rows = [dict(LEDGER[1], year="2024", balance_end="1400.00")]  # expected 1200 + 600 - 500 = 1300
    path = write_csv(tmp_path / "fund_ledger.csv", rows)
    err = fails(base, path, strict=True)
    assert err.strict and "strict" in str(err)
    assert [(i.row, i.column) for i in err.issues] == [(2, "balance_end")]
    report = imp(base, path)
    (w,) = report.warnings
    assert "110100 resident pooled 2024" in w.reason and "gap 100.00 yuan (7.14%" in w.reason
    rows = [dict(LEDGER[1], year="2024", balance_end="1305.00")]  # 0.38%: within the tolerance
    assert imp(base, write_csv(tmp_path / "fund_ledger.csv", rows)).warnings == []


def test_monthly_previous_period(base, tmp_path):
    rows = [dict(LEDGER[0], year="2024", month=str(m), balance_end=b) for m, b in ((12, "1000"), (1, "1100"))]
    rows.append(dict(LEDGER[0], year="2025", month="1", balance_end="1300"))  # previous: 2024-12
    report = imp(base, write_csv(tmp_path / "fund_ledger.csv", rows))
    (w,) = report.warnings  # 2024-01 has no 2023-12; 2025-01 follows 2024-12: 1000 + 500 - 400 = 1100
    assert "2025-1" in w.reason and w.row == 4


def test_combined_never_beside_pooled(base, tmp_path):
    rows = [dict(LEDGER[1], scheme="employee", fund="combined")]
    imp(base, write_csv(tmp_path / "ledger_a.csv", rows))  # employee combined 2023 beside resident pooled: fine
    rows = [dict(LEDGER[1], scheme="employee", fund="pooled")]
    err = fails(base, write_csv(tmp_path / "ledger_b.csv", rows))
    assert "the warehouse" in err.issues[0].reason and err.issues[0].column == "fund"
    rows = [dict(LEDGER[1], year="2024", scheme="employee", fund=f) for f in ("account", "combined")]
    err = fails(base, write_csv(tmp_path / "ledger_c.csv", rows))
    assert [(i.row, i.column) for i in err.issues] == [(2, "fund"), (3, "fund")]
    assert "in row 3" in err.issues[0].reason and "in row 2" in err.issues[1].reason


def test_population_total_never_beside_a_breakdown(base, tmp_path):
    # 1,634 persons by sex and age band in the warehouse; a 5,000 total beside them would be summed
    # into a population of 6,634 and the insured rate would fall from 95 % to 24 %
    by_band = [{"region_code": "110101", "year": "2024", "sex": sex, "age_band": band, "persons": n}
               for sex, band, n in (("M", "0-4", 800), ("F", "0-4", 834))]  # fmt: skip
    imp(base, write_csv(tmp_path / "population_a.csv", by_band))
    total = [{"region_code": "110101", "year": "2024", "persons": "5000"},
             {"region_code": "110101", "year": "2023", "persons": "5000"}]  # fmt: skip
    err = fails(base, write_csv(tmp_path / "population_b.csv", total))
    assert [(i.row, i.column) for i in err.issues] == [(2, "sex")]  # 2023 holds nothing else: fine
    assert "a total (no sex, no age_band)" in err.issues[0].reason
    assert "the warehouse's rows of the same region and year are by sex and age_band" in err.issues[0].reason
    # within one file: sex-only rows beside sex × age-band rows count the same persons twice too
    mixed = [{"region_code": "110101", "year": "2025", "sex": "M", "age_band": "", "persons": "10"},
             {"region_code": "110101", "year": "2025", "sex": "M", "age_band": "0-4", "persons": "4"}]  # fmt: skip
    err = fails(base, write_csv(tmp_path / "population_c.csv", mixed))
    assert [(i.row, i.column) for i in err.issues] == [(2, "age_band"), (3, "age_band")]
    assert "row 3 of the same region and year is by sex and age_band" in err.issues[0].reason
    # replacing the same breakdown is an upsert, not a clash
    imp(base, write_csv(tmp_path / "population_d.csv", [dict(by_band[0], persons=900)]))
    assert base.count("population") == 2


def test_regions_parent_must_exist_and_be_higher(base, tmp_path):
    rows = [{"region_code": "120000", "name": "天津市", "level": "province", "parent_code": "990000"},
            {"region_code": "110102", "name": "西城区", "level": "county", "parent_code": "110101"}]
    err = fails(base, write_csv(tmp_path / "regions.csv", rows))
    assert {(i.row, i.column) for i in err.issues} == {(2, "parent_code"), (3, "parent_code")}
    rows = [{"region_code": "110102", "name": "西城区", "level": "区县", "parent_code": "110100"}]
    imp(base, write_csv(tmp_path / "regions.csv", rows))
    assert base.count("regions") == 5


def test_directory_with_bad_last_file_writes_nothing(wh, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    write_csv(d / "regions.csv", REGIONS)
    write_csv(d / "population.csv", [{"region_code": "110000", "year": "2023", "persons": "21,858,000"}])
    write_csv(d / "labels.csv", [{"code": "x"}])  # names no table: skipped with a warning
    (d / "README.md").write_text("not data")
    write_csv(d / "fund_ledger.csv", [dict(LEDGER[0], expenditure_total="-1")])  # imported last
    err = fails(wh, d)
    assert {i.file for i in err.issues} == {str(d / "fund_ledger.csv")}
    assert wh.count("regions") == 0 and wh.count("population") == 0 and wh.count("import_batches") == 0
    write_csv(d / "fund_ledger.csv", LEDGER)
    report = imp(wh, [d, d / "regions.csv"])  # a file named twice is imported once
    assert [f.table for f in report.files] == ["regions", "population", "fund_ledger"]
    assert [w.file for w in report.warnings if w.severity == "warning"] == [str(d / "labels.csv")]
    assert wh.to_pandas(wh.table("population")).persons.tolist() == [21858000]


def test_unknown_file_name_recognised_by_header_or_forced(wh, tmp_path):
    path = write_csv(tmp_path / "export_2024.csv", REGIONS)
    assert imp(wh, path).files[0].table == "regions"  # the header carries the regions columns
    other = write_csv(tmp_path / "export_2025.csv", [{"code": "1"}])
    assert "--table" in str(fails(wh, other))
    assert imp(wh, path, table="regions").files[0].unchanged == 4


def test_reimport_replaces_and_audits(base, tmp_path):
    rows = [LEDGER[0], dict(LEDGER[1], insured="1500")]
    report = imp(base, write_csv(tmp_path / "fund_ledger.csv", rows))
    f = report.files[0]
    assert (f.rows_read, f.inserted, f.replaced, f.unchanged) == (2, 0, 1, 1)
    log = base.to_pandas(base.table("audit_log"))
    replaced = log[log.action == "replace"]
    assert len(replaced) == 1 and replaced.batch_id.iloc[0] == report.batch_id
    assert '"insured":1000' in replaced.old_values.iloc[0] and '"insured":1500' in replaced.new_values.iloc[0]
    assert base.count("fund_ledger") == 2


# -- enrollment, citizen IDs -------------------------------------------------------------------------------
def with_check(body17: str) -> str:
    check = (12 - sum(int(body17[i]) * (2 ** (17 - i) % 11) for i in range(17)) % 11) % 11
    return body17 + ("X" if check == 10 else str(check))


def enrollment_rows(ids):
    """Rows whose birth date and sex agree with each ID (positions 7-14, 17th digit odd = male)."""
    def facts(i):
        try:
            born = dt.date(int(i[6:10]), int(i[10:12]), int(i[12:14])).isoformat()
            return born, "男" if int(i[16]) % 2 else "女"
        except (ValueError, IndexError):
            return "1990-03-07", "女"  # an invalid ID: nothing to agree with

    return [{"公民身份号码": i, "年度": "2024", "参保地行政区划代码": "110101", "险种": "居民医保",
             "人员类别": "成年居民", "性别": facts(i)[1], "出生日期": facts(i)[0]} for i in ids]


def test_id_numbers_are_hashed_never_stored(base, tmp_path):
    ids = [with_check("11010119900307123"), with_check("11010119850101002"), with_check("11010120000229001")]
    ids = [i for i in ids]
    rows = enrollment_rows(ids)
    rows[1]["公民身份号码"] = ids[1].lower()  # a lower-case x is the same person
    imp(base, write_csv(tmp_path / "enrollment.csv", rows))
    df = base.to_pandas(base.table("enrollment"))
    assert len(df) == 3 and all(len(p) == 64 for p in df.person_id)
    assert df.special_group.tolist() == ["none"] * 3  # the contract's default
    again = imp(base, write_csv(tmp_path / "enrollment.csv", rows))
    assert again.files[0].unchanged == 3  # same key, same hash
    other = base.to_pandas(base.table("enrollment")).person_id
    for table in base.con.list_tables():
        cols = [c for c, t in base.columns(table).items() if t == "VARCHAR"]
        if not cols:
            continue
        text = "\n".join(base.to_pandas(base.table(table).select(*cols)).astype(str).fillna("").agg("|".join, axis=1))
        for raw in ids:
            assert raw not in text and raw[:17] not in text, table
    assert set(other) == set(df.person_id)


def test_invalid_id_numbers(base, tmp_path):
    good = with_check("11010119900307123")
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    bad_date = with_check("11010119900230123")
    err = fails(base, write_csv(tmp_path / "enrollment.csv", enrollment_rows([good, bad_check, bad_date, "123"])))
    assert [(i.row, i.column) for i in err.issues] == [(3, "id_number"), (4, "id_number"), (5, "id_number")]
    assert "check character" in err.issues[0].reason and "birth date" in err.issues[1].reason
    message = str(err)
    assert bad_check not in message and bad_date not in message
    assert bad_check[:4] + "*" * 10 + bad_check[-4:] in message


def test_birth_date_and_sex_must_agree_with_the_id_number(base, tmp_path):
    # 110101 19800101 123 5: born 1980-01-01, 17th digit 3 (odd) = male
    man = with_check("11010119800101123")
    rows = enrollment_rows([man, man[:6] + "1985" + man[10:17]])
    rows[1]["公民身份号码"] = with_check(rows[1]["公民身份号码"][:17])
    rows[0].update({"性别": "女", "出生日期": "1975-01-01"})  # the reviewer's row: F, 1975, beside a 1980 man
    err = fails(base, write_csv(tmp_path / "enrollment.csv", rows))
    assert [(i.row, i.column) for i in err.issues] == [(2, "birth_date"), (2, "sex")]
    assert "positions 7-14" in err.issues[0].reason and "odd = M" in err.issues[1].reason
    assert err.issues[0].value == "1975-01-01"
    assert man not in str(err) and man[6:14] not in str(err)  # the ID never shows, not even its date
    rows[0].update({"性别": "男", "出生日期": "1980-01-01"})
    imp(base, write_csv(tmp_path / "enrollment.csv", rows))
    assert base.count("enrollment") == 2


def test_enrollment_born_after_year(base, tmp_path):
    rows = enrollment_rows([with_check("11010119900307123")])
    rows[0]["出生日期"] = "2025-01-01"
    err = fails(base, write_csv(tmp_path / "enrollment.csv", rows))
    assert [(i.row, i.column) for i in err.issues] == [(2, "birth_date")]


# -- claims and lines; streaming ------------------------------------------------------------------------


def claim(i, **kw):
    row = {"claim_id": f"C{i:05d}", "person_id": f"p{i % 97}", "provider_id": "H1", "visit_type": "住院",
           "admit_date": "2024-01-02", "discharge_date": "2024-01-05", "diagnosis_code": "J18.9",
           "total_amount": "1000.00", "self_pay_amount": "100.00", "copay_first_amount": "50.00"}
    row.update(kw)
    return row


def test_claims_checks(base, tmp_path):
    wh = base
    rows = [claim(1), claim(2, policy_scope_amount="850.00"), claim(3, discharge_date="2024-01-01"),
            claim(4, self_pay_amount="990"), claim(5, policy_scope_amount="800"), claim(6, provider_id="H9")]
    header = list(rows[1])
    err = fails(wh, write_csv(tmp_path / "claims.csv", [[r.get(h, "") for h in header] for r in rows], header=header))
    assert {(i.row, i.column) for i in err.issues} == {
        (4, "discharge_date"), (5, "self_pay_amount"), (6, "policy_scope_amount"), (7, "provider_id")}
    imp(wh, write_csv(tmp_path / "claims.csv", [claim(1), claim(2)]))
    scope = wh.to_pandas(wh.table("claims"), decimals_as_float=False).policy_scope_amount
    assert scope.tolist() == [Decimal("850.00")] * 2  # filled where absent


def test_claim_lines_must_sum_to_total(base, tmp_path):
    wh = base
    lines = [{"claim_id": "C00001", "line_no": n, "item_code": "X", "item_category": "药品", "catalog_class": "甲类",
              "quantity": "1", "unit_price": "500", "amount": "500.00", "service_date": "2024-01-03"} for n in (1, 2)]
    claims_path = write_csv(tmp_path / "claims.csv", [claim(1)])
    imp(wh, [claims_path, write_csv(tmp_path / "claim_lines.csv", lines)])  # 500 + 500 = 1000
    lines[1]["amount"] = "400.00"
    err = fails(wh, write_csv(tmp_path / "claim_lines.csv", lines))
    assert [(i.row, i.column) for i in err.issues] == [(2, "amount")] and "C00001" in err.issues[0].reason
    err = fails(wh, write_csv(tmp_path / "claims.csv", [claim(1, total_amount="1200.00")]))
    assert [(i.row, i.column) for i in err.issues] == [(2, "total_amount")]
    lines[0]["claim_id"] = "C99999"
    err = fails(wh, write_csv(tmp_path / "claim_lines.csv", lines[:1]))
    assert "not in claims" in err.issues[0].reason


def test_streaming_chunks_catch_duplicates_across_chunks(base, tmp_path, monkeypatch):
    monkeypatch.setattr(readers_module, "CHUNK_ROWS", 1000)
    rows = [claim(i) for i in range(2500)]
    rows[2398] = claim(7)  # file row 2400 repeats file row 9
    seen = []
    err = fails(base, write_csv(tmp_path / "claims.csv", rows),
                progress=lambda f, done, total: seen.append(done))
    assert [(i.row, i.column) for i in err.issues] == [(2400, "claim_id")]
    assert "same as row 9" in err.issues[0].reason
    assert seen == [1000, 2000, 2500]
    rows[2398] = claim(2398, total_amount="abc")
    err = fails(base, write_csv(tmp_path / "claims.csv", rows))
    assert [(i.row, i.column) for i in err.issues] == [(2400, "total_amount")]
    rows[2398] = claim(2398)
    report = imp(base, write_csv(tmp_path / "claims.csv", rows))
    assert report.files[0].inserted == 2500 == base.count("claims")


def test_error_list_is_capped(base, tmp_path):
    rows = [dict(LEDGER[0], year=str(2000 + i), insured="x") for i in range(80)]
    err = fails(base, write_csv(tmp_path / "fund_ledger.csv", rows))
    assert err.total == 80 and "and 30 more" in str(err)
    assert len(str(err).splitlines()) == 52


def test_insured_split_beyond_rounding_is_a_warning(base, tmp_path):
    # 700 + 200 = 900 in-service + retired against 1000 insured: 10% off, far beyond the 0.05% that
    # rounding to 万人 explains -> a warning naming the row; the rows still import
    row = dict(LEDGER[0], scheme="employee", insured="1000", insured_in_service="700", insured_retired="200")
    write_csv(tmp_path / "fund_ledger.csv", [row])
    report = imp(base, [tmp_path / "fund_ledger.csv"])
    split = [w for w in report.warnings if w.column == "insured"]
    assert len(split) == 1 and split[0].row == 2 and "difference -100" in split[0].reason


def test_file_named_by_nothing_is_recognised_by_its_header(base, tmp_path):
    # '2023年报.csv' names no table; its header carries every required fund_ledger column
    write_csv(tmp_path / "2023年报.csv", LEDGER)
    report = imp(base, [tmp_path / "2023年报.csv"])
    assert [f.table for f in report.files] == ["fund_ledger"]


def test_unrecognisable_file_named_explicitly_is_an_error(base, tmp_path):
    write_csv(tmp_path / "notes.csv", [{"a": "1", "b": "2"}])
    exc = fails(base, [tmp_path / "notes.csv"])
    assert "give --table" in str(exc)
