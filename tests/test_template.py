"""The fund-ledger entry template: headers, comments, drop-downs, the lists sheet, and a filled-in
copy that has the shape the importer expects."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from mifund.contract import FUND_LEDGER, FUNDS, SCHEMES
from mifund.ledger.template import DATA_ROWS, column_name, header_text, write_ledger_template

REGIONS = pd.DataFrame({
    "region_code": ["360100", "110000", "000000"],
    "name": ["南昌市", "北京市", "全国"],
    "level": ["city", "province", "country"],
    "parent_code": ["360000", "000000", None],
})


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "ledger.xlsx"
    write_ledger_template(path, regions=REGIONS)
    return path


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "ledger_no_regions.xlsx"
    write_ledger_template(path)
    return path


def validations(ws) -> dict[str, object]:
    """Header column name -> its data validation."""
    heads = {cell.column_letter: column_name(cell.value) for cell in ws[1]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            first = re.match(r"([A-Z]+)2:\1(\d+)$", rng)
            assert first, rng
            assert int(first.group(2)) == DATA_ROWS + 1
            out[heads[first.group(1)]] = dv
    return out


def list_values(wb, formula: str) -> list[str]:
    m = re.fullmatch(r"'?lists'?!\$([A-Z]+)\$(\d+):\$\1\$(\d+)", formula)
    assert m, formula
    col, lo, hi = m.group(1), int(m.group(2)), int(m.group(3))
    return [wb["lists"][f"{col}{r}"].value for r in range(lo, hi + 1)]


def test_sheets_headers_and_comments(book):
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["基金收支 fund_ledger", "说明 README", "lists"]
    assert wb["lists"].sheet_state == "hidden"
    ws = wb.worksheets[0]
    heads = [c.value for c in ws[1]]
    assert heads == [f"{c.zh}（{c.name}）" for c in FUND_LEDGER.columns]
    assert "基金收入（income_total）" in heads
    assert [column_name(h) for h in heads] == FUND_LEDGER.names
    assert ws.freeze_panes == "A2"
    for cell, col in zip(ws[1], FUND_LEDGER.columns, strict=True):
        # required columns stand out: bold on orange; optional ones plain on blue
        assert cell.font.b is bool(col.required), col.name
        assert cell.fill.fgColor.rgb.endswith("F4B183" if col.required else "DDEBF7"), col.name
        text = cell.comment.text
        assert col.name in text and ("Required." in text) is col.required and ("必填。" in text) is col.required
        assert ws.column_dimensions[cell.column_letter].width >= 12
    amount = ws.cell(1, FUND_LEDGER.names.index("income_total") + 1).comment.text
    assert "Unit: yuan (元), two decimals." in amount and "Fund income" in amount


def test_drop_downs_and_checks(book):
    wb = openpyxl.load_workbook(book)
    dv = validations(wb.worksheets[0])
    assert list_values(wb, dv["scheme"].formula1) == ["employee 职工医保", "resident 居民医保"]
    assert list_values(wb, dv["scheme"].formula1) == [FUND_LEDGER.column("scheme").label(c) for c in SCHEMES]
    assert list_values(wb, dv["fund"].formula1) == ["pooled 统筹基金", "account 个人账户", "combined 统筹基金+个人账户"]
    assert len(FUNDS) == 3
    assert list_values(wb, dv["region_code"].formula1) == ["000000 全国", "110000 北京市", "360100 南昌市"]
    assert all(dv[c].type == "list" for c in ("scheme", "fund", "region_code"))
    assert (dv["month"].type, dv["month"].formula1, dv["month"].formula2) == ("whole", "1", "12")
    assert (dv["year"].type, dv["year"].formula1, dv["year"].formula2) == ("whole", "1990", "2200")
    assert (dv["insured"].type, dv["insured"].operator, dv["insured"].formula1) == ("whole", "greaterThanOrEqual", "0")
    for c in ("income_total", "expenditure_total", "income_fiscal_subsidy", "expenditure_inpatient"):
        assert (dv[c].type, dv[c].operator, dv[c].formula1) == ("decimal", "greaterThanOrEqual", "0"), c
    # the balance (and interest, other income) may be negative
    assert dv["balance_end"].type == "decimal" and float(dv["balance_end"].formula1) < 0
    assert "source" not in dv
    assert dv["scheme"].showInputMessage and dv["scheme"].prompt


def test_without_regions_a_six_digit_rule_with_an_input_message(bare):
    wb = openpyxl.load_workbook(bare)
    region = validations(wb.worksheets[0])["region_code"]
    assert region.type == "custom" and "LEN(A2)=6" in region.formula1
    assert "6" in region.prompt and "110000" in region.prompt
    assert wb["lists"]["A2"].value is None  # no region list


def test_readme_explains_units_identity_and_import(book):
    wb = openpyxl.load_workbook(book)
    text = "\n".join(str(c.value) for row in wb["说明 README"].iter_rows() for c in row if c.value)
    for needle in ("mifund import FILE.xlsx", "mifund import 文件名.xlsx", "balance_end(t) = balance_end(t-1)",
                   "上期期末结存", "yuan", "万元", "0.5%", "employee 职工医保", "基金收入（income_total）"):
        assert needle in text, needle


def test_filled_template_has_the_shape_the_importer_expects(book, tmp_path):
    wb = openpyxl.load_workbook(book)
    ws = wb.worksheets[0]
    names = [column_name(c.value) for c in ws[1]]
    rows = [
        {"region_code": "110000 北京市", "year": 2024, "scheme": "employee 职工医保", "fund": "pooled 统筹基金",
         "insured": 12_000_000, "income_total": 1.5e11, "expenditure_total": 1.2e11, "balance_end": 3.1e11},
        {"region_code": "110000 北京市", "year": 2024, "month": 6, "scheme": "resident 居民医保",
         "fund": "pooled 统筹基金", "insured": 4_000_000, "income_total": 9.1e9, "expenditure_total": 4.2e9,
         "balance_end": -1.25e8, "source": "test"},
    ]
    for i, row in enumerate(rows, start=2):
        for name, value in row.items():
            ws.cell(i, names.index(name) + 1, value)
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)

    df = pd.read_excel(filled, sheet_name=0, engine="calamine", dtype={"行政区划代码（region_code）": str})
    assert len(df) == 2  # the validated but empty rows below are not data
    df.columns = [column_name(c) for c in df.columns]
    assert list(df.columns) == FUND_LEDGER.names
    assert set(c.name for c in FUND_LEDGER.columns if c.required) <= set(df.dropna(axis=1, how="all").columns)
    # drop-down labels carry the code before the first space
    assert df["region_code"].str.split(" ").str[0].tolist() == ["110000", "110000"]
    assert df["scheme"].str.split(" ").str[0].tolist() == ["employee", "resident"]
    assert set(df["fund"].str.split(" ").str[0]) <= set(FUNDS)
    assert df["month"].isna().tolist() == [True, False]
    assert df["balance_end"].tolist() == [3.1e11, -1.25e8]
    # the filled workbook keeps its drop-downs and the hidden lists
    again = openpyxl.load_workbook(filled)
    assert again["lists"].sheet_state == "hidden" and "scheme" in validations(again.worksheets[0])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_languages(tmp_path, lang):
    path = tmp_path / f"{lang}.xlsx"
    write_ledger_template(path, lang=lang)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    heads = [c.value for c in ws[1]]
    assert [column_name(h) for h in heads] == FUND_LEDGER.names
    comment = ws["A1"].comment.text
    readme = "\n".join(str(c.value) for row in wb.worksheets[1].iter_rows() for c in row if c.value)
    if lang == "en":
        assert heads[0] == "region_code" and "必填" not in comment and "mifund import FILE.xlsx" in readme
        assert "mifund import 文件名.xlsx" not in readme
    else:
        assert heads[0] == "行政区划代码（region_code）" and "Required" not in comment
        assert "mifund import 文件名.xlsx" in readme and "mifund import FILE.xlsx" not in readme
    with pytest.raises(ValueError, match="lang"):
        write_ledger_template(tmp_path / "x.xlsx", lang="fr")


def test_header_helpers():
    col = FUND_LEDGER.column("income_total")
    assert header_text(col) == "基金收入（income_total）" and header_text(col, "en") == "income_total"
    assert column_name("基金收入（income_total）") == "income_total"
    assert column_name("基金收入(income_total) ") == "income_total"
    assert column_name("income_total") == "income_total"
