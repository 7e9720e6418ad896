"""`mifund report`: the annual fund operation analysis (issue #9 item 4).

Three kinds of test:
- units and catalogues: the 万元 conversion on hand-made numbers (and a property test against integer
  arithmetic on fen), the zh and en catalogues having the same keys and placeholders, every key the code
  asks for existing;
- a hand-made municipality (one city, two counties, two years) whose findings are worked out by hand;
- the demo municipality (``demo_small``): both languages, both formats, figures checked against the
  warehouse's raw tables (not against the indicator code the report itself uses).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mifund.ledger.warning_rules import LEVELS, RULE_IDS
from mifund.reports.build import build_report
from mifund.reports.cli import app
from mifund.reports.context import ReportError
from mifund.reports.html import render_html, write_html
from mifund.reports.i18n import LANGS, Catalog, load_messages, placeholders
from mifund.reports.units import fmt_cell, round_half_up, yuan_to_wan
from mifund.reports.xlsx import write_xlsx
from mifund.storage import Warehouse

SRC = Path(__file__).resolve().parents[1] / "src" / "mifund" / "reports"
CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------------------------------
# units
# --------------------------------------------------------------------------------------------------
def test_wan_conversion_and_rounding_by_hand():
    # 12,345 yuan = 1.2345 万元 -> 1.23 (the third decimal is 4)
    assert yuan_to_wan(12_345) == 1.23
    # exactly half a cent of 万元 goes up (四舍五入), for every one of these:
    assert yuan_to_wan(12_350) == 1.24  # 1.235
    assert yuan_to_wan(10_050) == 1.01  # 1.005: float rounding says 1.0 ...
    assert round(10_050 / 1e4, 2) == 1.0 and np.round(10_050 / 1e4, 2) == 1.0  # ... the trap avoided
    assert yuan_to_wan(26_750) == 2.68  # 2.675: round() gives 2.67
    assert yuan_to_wan(-26_750) == -2.68  # half away from zero for a deficit
    assert yuan_to_wan(50) == 0.01 and yuan_to_wan(49.99) == 0.0 and yuan_to_wan(-50) == -0.01
    # amounts to the fen, as stored (DECIMAL(18,2)) and as the warehouse hands them over (float)
    assert yuan_to_wan(30_114_890.22) == 3011.49
    assert yuan_to_wan(123_456_789.99) == 12345.68
    assert yuan_to_wan(Decimal("10050.00")) == 1.01
    assert yuan_to_wan(None) is None and yuan_to_wan(float("nan")) is None and yuan_to_wan(pd.NA) is None
    assert round_half_up(4.25, 1) == 4.3 and round_half_up(-0.125, 2) == -0.13
    assert fmt_cell(1234.5, "wan") == "1,234.50" and fmt_cell(0.0899, "pct") == "8.99%"
    assert fmt_cell(None, "wan") == "—" and fmt_cell(7593, "int") == "7,593" and fmt_cell(4.72, "months") == "4.7"


@given(st.integers(min_value=-10**13, max_value=10**13))
def test_wan_matches_integer_arithmetic_on_fen(fen):
    # 0.01 万元 = 100 yuan = 10,000 fen: the result in hundredths of 万元 is fen / 10,000 rounded half up
    q, r = divmod(abs(fen), 10_000)
    hundredths = (q + (r >= 5_000)) * (1 if fen >= 0 else -1)
    assert yuan_to_wan(fen / 100) == hundredths / 100


# --------------------------------------------------------------------------------------------------
# message catalogues
# --------------------------------------------------------------------------------------------------
def test_catalogues_have_the_same_keys_and_placeholders():
    zh, en = load_messages("zh"), load_messages("en")
    assert set(zh) == set(en), f"only zh: {set(zh) - set(en)}; only en: {set(en) - set(zh)}"
    for k in zh:
        if isinstance(zh[k], list):
            assert len(zh[k]) == len(en[k]), k
        else:
            assert placeholders(zh[k]) == placeholders(en[k]), k
    for lang in LANGS:
        t = Catalog(lang)
        for rid in RULE_IDS:
            assert t.get(f"rule.{rid}"), (lang, rid)
        for lv in LEVELS:
            assert t.get(f"level.{lv}"), (lang, lv)
        for v in ("inpatient", "outpatient", "chronic_outpatient", "pharmacy"):
            assert t.get(f"visit_type.{v}"), (lang, v)
    assert all(not CJK.search(v) for k, v in en.items() if isinstance(v, str) and k.startswith(("col.", "section.")))


def test_every_message_the_code_asks_for_exists():
    used = set()
    for f in SRC.glob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*f?["']([a-z_]+\.[a-z_.{}]+)["']""", f.read_text(encoding="utf-8")))
    static = {k for k in used if "{" not in k}
    assert len(static) > 40  # the scan found the calls
    messages = load_messages("zh")
    assert static <= set(messages), static - set(messages)
    # keys built from a variable: one per section id and column
    for k in (k for k in used if "{" in k):
        prefix = k.split("{")[0]
        assert any(m.startswith(prefix) for m in messages), k
    with pytest.raises(KeyError, match="missing"):
        Catalog("en")("no.such_key")
    with pytest.raises(ValueError):
        Catalog("fr")


# --------------------------------------------------------------------------------------------------
# a hand-made municipality: findings worked out by hand
# --------------------------------------------------------------------------------------------------
def _ledger(region, year, scheme, income, expenditure, balance, insured):
    return dict(region_code=region, year=year, month=None, scheme=scheme, fund="pooled", insured=insured,
                income_total=income, expenditure_total=expenditure, balance_end=balance, source="test")


def add_handmade_city(wh) -> None:
    """The hand-worked city of ``handmade`` (also used by test_report_projection): regions and ledger rows."""
    regions = pd.DataFrame({"region_code": ["990100", "990101", "990102"], "name": ["样例市", "甲县", "乙县"],
                            "name_en": ["Sample City", "County A", "County B"], "level": ["city", "county", "county"],
                            "parent_code": [None, "990100", "990100"]})
    rows = [
        _ledger("990101", 2023, "resident", 1_000_000, 900_000, 2_000_000, 1000),
        _ledger("990101", 2024, "resident", 1_050_000, 1_080_000, 1_970_000, 1000),
        _ledger("990102", 2023, "resident", 500_000, 480_000, 300_000, 600),
        _ledger("990102", 2024, "resident", 510_000, 600_000, 210_000, 600),
        _ledger("990101", 2023, "employee", 2_000_000, 1_500_000, 6_000_000, 500),
        _ledger("990101", 2024, "employee", 2_200_000, 1_600_000, 6_600_000, 500),
        _ledger("990102", 2023, "employee", 1_000_000, 900_000, 700_000, 300),
        _ledger("990102", 2024, "employee", 1_100_050, 1_000_000, 800_050, 300),
    ]
    wh.append("regions", regions)
    wh.append("fund_ledger", pd.DataFrame(rows))


@pytest.fixture
def handmade(wh):
    """City 990100 with counties 990101 (甲县, A) and 990102 (乙县, B); pooled funds only, 2023-2024.

    Resident pooled fund, 2024 (yuan):
      A: income 1,050,000 (+5 %), expenditure 1,080,000 (+20 %), balance 1,970,000
         -> surplus -30,000 = -3.00 万元; months = 1,970,000 / (1,080,000 / 12) = 21.9 (> 15: idle)
      B: income 510,000 (+2 %), expenditure 600,000 (+25 %), balance 210,000
         -> surplus -90,000 = -9.00 万元; months = 210,000 / 50,000 = 4.2 (< 6: orange, above red 3)
      city: income 1,560,000 (+4.00 % on 1,500,000), expenditure 1,680,000 (+21.74 % on 1,380,000),
         balance 2,180,000 -> 156.00 / 168.00 / -12.00 / 218.00 万元, 15.6 months; gap 17.74 points
    Employee pooled fund, 2024: A income 2,200,000, B 1,100,050 -> city 3,300,050 yuan = 330.005 万元,
      which rounds half up to 330.01 (a float round() would give 330.0).
    Every balance closes: balance(2024) = balance(2023) + income - expenditure.
    """
    add_handmade_city(wh)
    return wh


def test_handmade_findings_zh(handmade):
    rep = build_report(handmade, lang="zh")
    assert (rep.region_code, rep.year) == ("990100", 2024)  # the root and the latest year by default
    # no settlement in this warehouse: the section is left out, not faked
    assert [s.id for s in rep.sections] == ["summary", "indicators", "trend", "warnings", "disparity", "pooling"]
    # pooling modes replay the resident pooled ledgers: 2023 has no deficit, 2024 has A −30,000 and
    # B −90,000 = 12.00 万元; county pooling covers both from the counties' own balances, unified from the city fund
    pool = rep.table("pooling").data.set_index("mode")
    assert pool.loc["县级统筹（各县自求平衡）", "deficit"] == 12.0
    assert pool.loc["县级统筹（各县自求平衡）", "covered_own_balance"] == 12.0
    assert pool.filter(like="统收统支", axis=0)["covered_pool"].tolist() == [12.0, 12.0]
    text = "\n".join(rep.section("summary").paragraphs)
    assert "居民医保统筹基金收入156.00万元，增长4.00%；支出168.00万元，增长21.74%；当期结余-12.00万元；" \
           "累计结存218.00万元，可支付15.6个月。" in text
    assert "居民医保统筹基金支出增速（21.74%）高于收入增速（4.00%），高出17.74个百分点" in text
    assert "居民医保统筹基金可支付月数低于安全线的地区有1个：乙县4.2个月（低于6个月，橙色预警）。" in text
    assert "居民医保统筹基金当期收不抵支的地区有2个：乙县（当期结余-9.00万元）、甲县（当期结余-3.00万元）。" in text
    assert "结余过多（可支付月数高于15个月）的地区有" in text and "甲县21.9个月" in text
    assert "职工医保统筹基金可支付月数均未低于安全线" in text
    assert "基本医疗保险基金（职工医保与居民医保合计）" not in text  # no total without both schemes' funds
    key = rep.table("key_figures").data.set_index(["scheme", "fund"])
    assert key.loc[("employee", "pooled"), "income_total"] == 330.01  # 3,300,050 yuan, half up
    assert key.loc[("resident", "pooled"), "surplus"] == -12.0
    assert rep.title == "样例市2024年基本医疗保险基金运行分析报告"
    # disparity of resident expenditure per insured: A 1,080 yuan (1,000 insured), B 1,000 (600 insured);
    # weighted mean 1,680,000 / 1,600 = 1,050; Gini = 2·1000·600·80 / (2·1600²·1050) = 0.017857; max/min 1.08
    dis = rep.table("disparity").data.set_index(["scheme", "indicator"])
    assert dis.loc[("resident", "expenditure_per_capita"), "weighted_mean"] == 1050.0
    assert dis.loc[("resident", "expenditure_per_capita"), "gini"] == 0.0179
    assert "居民医保统筹基金人均基金支出的地区差异：基尼系数0.018" in "".join(rep.section("disparity").paragraphs)
    assert "最高地区为最低地区的1.08倍（参保人数加权，2个地区）" in "".join(rep.section("disparity").paragraphs)


def test_handmade_findings_en_and_county_subtree(handmade):
    rep = build_report(handmade, "County B", 2024, "en")
    assert rep.region_code == "990102" and rep.title.startswith("County B")
    ind = rep.table("indicators").data
    assert set(ind.region_code) == {"990102"}  # the subtree of a county is the county
    text = "\n".join(rep.section("summary").paragraphs)
    assert "Resident pooled fund: 1 region(s) below the safety line: County B 4.2 months (below 6, Orange warning)." in text
    assert "Resident pooled fund: expenditure grew faster (25.00%) than income (2.00%), by 23.00 percentage points" in text
    with pytest.raises(ReportError, match="no region"):
        build_report(handmade, "999999")
    with pytest.raises(ReportError, match="no data"):
        build_report(handmade, "990100", 2010)
    with pytest.raises(ReportError, match="unknown section"):
        build_report(handmade, sections=["forecast"])


def test_handmade_renders_both_formats(handmade, tmp_path):
    rep = build_report(handmade, lang="en", sections=["summary", "warnings"])
    wb = openpyxl.load_workbook(write_xlsx(rep, tmp_path / "r.xlsx"))
    assert wb.sheetnames == ["summary", "warnings", "chart data"]
    html = render_html(rep)
    assert "Overview of fund operation" in html and "Key indicators by region" not in html
    # names and texts from the data are escaped, never markup
    rep.sections[0].paragraphs.append('<img src="http://x/y.png">')
    assert '<img src="http' not in render_html(rep) and "&lt;img src=" in render_html(rep)


# --------------------------------------------------------------------------------------------------
# the demo municipality
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_wh(demo_small):
    wh = Warehouse(demo_small.db, read_only=True)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def reports(demo_wh):
    return {lang: build_report(demo_wh, "360100", 2024, lang) for lang in LANGS}


@pytest.fixture(scope="module")
def raw(demo_wh):
    """The warehouse's own tables, for figures computed here independently of the report's code."""
    t = {n: demo_wh.to_pandas(demo_wh.table(n)) for n in ("fund_ledger", "settlement", "claims", "enrollment")}
    return t


def _wan(yuan: float) -> float:
    """The expected figure: yuan to 万元, rounded half up, with plain Decimal arithmetic."""
    from decimal import ROUND_HALF_UP

    return float((Decimal(repr(float(yuan))) / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _expected_settlement(raw, year=2024) -> pd.DataFrame:
    e = raw["enrollment"].sort_values(["person_id", "year", "scheme", "region_code"])
    e = e.drop_duplicates(["person_id", "year"])[["person_id", "year", "region_code", "scheme"]]
    s = raw["settlement"][raw["settlement"].year == year]
    s = s.merge(raw["claims"][["claim_id", "visit_type"]], on="claim_id").merge(e, on=["person_id", "year"])
    return s


def _find(ws, text) -> tuple[int, int]:
    for row in ws.iter_rows():
        for c in row:
            if c.value == text:
                return c.row, c.column
    raise AssertionError(f"{text!r} not on sheet {ws.title}")


@pytest.fixture(scope="module")
def xlsx_files(reports, tmp_path_factory):
    d = tmp_path_factory.mktemp("xlsx")
    return {lang: write_xlsx(r, d / f"report_{lang}.xlsx") for lang, r in reports.items()}


@pytest.mark.parametrize("lang", LANGS)
def test_demo_xlsx_sheets_charts_and_figures(lang, reports, xlsx_files, raw):
    t = Catalog(lang)
    wb = openpyxl.load_workbook(xlsx_files[lang])
    ids = [s.id for s in reports[lang].sections]
    assert {"summary", "indicators", "trend", "warnings", "settlement"} <= set(ids)
    assert wb.sheetnames == [t(f"sheet.{i}") for i in ids] + [t("report.sheet_chart_data")]
    charts = {ws.title: len(ws._charts) for ws in wb.worksheets}
    assert charts[t("sheet.summary")] == 1 and charts[t("sheet.trend")] == 3
    assert charts[t("sheet.warnings")] == 1 and charts[t("sheet.settlement")] == 1
    # the charts plot cells of the chart-data sheet
    ref = wb[t("sheet.trend")]._charts[0].series[0].val.numRef.f
    assert t("report.sheet_chart_data") in ref

    # key figures: the city's 2024 sums, from the raw ledger rows of its nine counties
    led = raw["fund_ledger"]
    led = led[(led.year == 2024) & led.month.isna()]
    ws = wb[t("sheet.summary")]
    r0, c0 = _find(ws, t("col.income_total"))
    header = [c.value for c in ws[r0]]
    rows = {ws.cell(r, 1).value: [c.value for c in ws[r]] for r in range(r0 + 1, r0 + 6)}
    col = {k: header.index(t(f"col.{k}")) for k in ("income_total", "expenditure_total", "balance_end", "insured")}
    res = led[(led.scheme == "resident") & (led.fund == "pooled")]
    emp = led[(led.scheme == "employee") & (led.fund == "pooled")]
    both = led[led.fund.isin(["pooled", "account"])]
    for label, part in ((t("scheme_fund.resident_pooled"), res), (t("scheme_fund.employee_pooled"), emp),
                        (t("scheme_fund.total_total"), both)):
        for k in ("income_total", "expenditure_total", "balance_end"):
            assert rows[label][col[k]] == pytest.approx(_wan(part[k].sum()), abs=0.005), (label, k)
    assert rows[t("scheme_fund.total_total")][col["insured"]] == res.insured.sum() + emp.insured.sum()

    # settlement: the total row and one county x scheme x visit type, from raw settled claims
    s = _expected_settlement(raw)
    ws = wb[t("sheet.settlement")]
    r0, _ = _find(ws, t("col.total_amount"))
    header = [c.value for c in ws[r0]]
    body = [[c.value for c in ws[r]] for r in range(r0 + 1, ws.max_row + 1) if ws.cell(r, 1).value is not None]
    body = [b for b in body if isinstance(b[header.index(t("col.claims"))], int | float)]
    total = next(b for b in body if b[1] == t("col.total"))
    for k in ("total_amount", "pooled_fund_paid", "catastrophic_paid", "out_of_pocket"):
        assert total[header.index(t(f"col.{k}"))] == pytest.approx(_wan(s[k].sum()), abs=0.005), k
    assert total[header.index(t("col.claims"))] == len(s) == len(raw["settlement"])
    one = s[(s.region_code == "360123") & (s.scheme == "resident") & (s.visit_type == "inpatient")]
    row = next(b for b in body if b[0] == "360123" and b[2] == t("scheme.resident") and b[3] == t("visit_type.inpatient"))
    assert row[header.index(t("col.claims"))] == len(one) > 0
    assert row[header.index(t("col.pooled_fund_paid"))] == pytest.approx(_wan(one.pooled_fund_paid.sum()), abs=0.005)
    # every county x scheme x visit type row adds up to the total (to the cent of 万元 per row)
    parts = [b for b in body if b[1] != t("col.total")]
    assert len(parts) == len(s.groupby(["region_code", "scheme", "visit_type"]))
    assert sum(b[header.index(t("col.total_amount"))] for b in parts) == pytest.approx(
        _wan(s.total_amount.sum()), abs=0.005 * len(parts))


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: dict[str, list[str]] = {"th": [], "h2": [], "caption": []}
        self._stack: list[tuple[str, dict]] = []
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        self._stack.append((tag, dict(attrs)))
        self._buf = []

    def handle_data(self, data):
        self._buf.append(data)

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1][0] == tag:
            _, a = self._stack.pop()
            body = "".join(self._buf)
            if tag == "script":
                self.scripts.append((a, body))
            elif tag in self.text:
                self.text[tag].append(body)
            self._buf = []


@pytest.mark.parametrize("lang", LANGS)
def test_demo_html_is_self_contained_and_in_its_language(lang, reports, demo_wh, tmp_path):
    path = write_html(reports[lang], tmp_path / f"r_{lang}.html")
    doc = path.read_text(encoding="utf-8")
    p = _Tags()
    p.feed(doc)
    # nothing to fetch: no src/href pointing anywhere but into the page
    for tag, k, v in p.attrs:
        if k in ("src", "href", "srcset", "data", "action"):
            assert v.startswith("#"), (tag, k, v)
    assert not any(a.get("src") for a, _ in p.scripts)
    echarts = [body for _, body in p.scripts if 'version="5.6.0"' in body]
    assert len(echarts) == 1 and len(echarts[0]) > 900_000  # the vendored file, inlined whole
    specs = json.loads(next(body for a, body in p.scripts if a.get("id") == "chart-options"))
    assert [s["id"] for s in specs] == [c.id for s in reports[lang].sections for c in s.charts]
    assert {"payable_months", "income_expenditure", "balance", "growth", "warnings_by_region",
            "settlement_by_region"} <= {s["id"] for s in specs}
    for s in specs:
        assert f'id="chart-{s["id"]}"' in doc
    # the payable-months chart plots the indicator figures of 2024
    from mifund.ledger.indicators import compute_indicators

    ind = compute_indicators(demo_wh, years=[2023, 2024])
    ind = ind[(ind.year == 2024) & (ind.scheme == "resident") & (ind.fund == "pooled")].set_index("region_code")
    order = ["360100", *sorted(c for c in ind.index if c != "360100")]  # the region, then its counties
    assert specs[0]["option"]["xAxis"]["data"][0] == reports[lang].region_name
    assert specs[0]["option"]["series"][1]["data"] == [round(float(ind.loc[c, "payable_months"]), 1) for c in order]
    heads = p.text["th"] + p.text["h2"] + p.text["caption"]
    if lang == "zh":
        assert 'lang="zh-CN"' in doc
        for label in ("基金运行概况", "风险预警", "医保结算情况", "可支付月数（月）", "基金收入（万元）", "居民医保", "南昌市"):
            assert label in doc, label
        assert all(CJK.search(h) for h in p.text["h2"])
        assert "Fund income (10k yuan)" not in doc
    else:
        assert 'lang="en"' in doc
        for label in ("Overview of fund operation", "Risk early warnings", "Fund income (10k yuan)", "Nanchang"):
            assert label in doc, label
        assert not [h for h in heads if CJK.search(h)], [h for h in heads if CJK.search(h)]
        assert "基金收入（万元）" not in doc


def test_demo_findings_name_the_counties_below_the_safety_line(reports, demo_wh):
    from mifund.ledger.indicators import compute_indicators
    from mifund.ledger.warnings import evaluate

    w = evaluate(compute_indicators(demo_wh))
    low = w[(w.year == 2024) & (w.rule == "payable_months_low") & (w.region_code != "360100")]
    assert len(low) >= 1  # the demo plants thin counties
    zh = "\n".join(reports["zh"].section("summary").paragraphs)
    en = "\n".join(reports["en"].section("summary").paragraphs)
    names = pd.DataFrame(demo_wh.to_pandas(demo_wh.table("regions"))).set_index("region_code")
    for code in low.region_code:
        assert names.loc[code, "name"] in zh.split("低于安全线的地区")[1]
        assert names.loc[code, "name_en"] in en.split("below the safety line:")[1]
    assert "高于收入增速" in zh or "不低于支出增速" in zh


# --------------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_writes_both_formats_and_prints(demo_small, tmp_path):
    runner = CliRunner()
    db = str(demo_small.db)
    r = runner.invoke(app, ["--db", db, "-r", "360100", "-y", "2024", "-l", "en", "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.html").stat().st_size > 1_000_000 and "Findings" not in r.output
    assert "Nanchang: basic medical insurance fund operation analysis, 2024" in r.output
    r = runner.invoke(app, ["--db", db, "-r", "南昌县", "-o", str(tmp_path / "r.xlsx"), "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout[r.stdout.index("{"):r.stdout.rindex("}") + 1])
    assert doc["region_code"] == "360121" and doc["year"] == 2024 and doc["unit"] == "wan_yuan"
    assert "settlement" in doc["sections"] and doc["findings"][0].startswith("2024年，南昌县")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames[0] == "概况"
    r = runner.invoke(app, ["--db", db, "-f", "csv", "--section", "summary"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("region_code,year,scheme,fund,insured")
    for bad, msg in ((["-l", "fr"], "--lang"), (["-r", "999999"], "no region"), (["-y", "1990"], "no"),
                     (["-o", str(tmp_path / "r.pdf")], ".xlsx or .html"), (["-f", "xlsx"], "needs --out")):
        r = runner.invoke(app, ["--db", db, *bad])
        assert r.exit_code == 2 and msg in r.output, (bad, r.output)
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "-r", "360100"])
    assert r.exit_code == 2 and "No warehouse" in r.output


def test_cli_uses_a_rules_file(demo_small, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  payable_months_low:\n    enabled: false\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["--db", str(demo_small.db), "-l", "en", "--rules", str(rules),
                                 "--section", "summary"])
    assert r.exit_code == 0, r.output
    assert "no region is below the safety line" in r.output and "below the safety line:" not in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  payable_months_low:\n    colour: red\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["--db", str(demo_small.db), "--rules", str(bad)])
    assert r.exit_code == 2 and "Invalid warning rules" in r.output


# --------------------------------------------------------------------------------------------------
# sections from other parts' stored results: shown where the rows exist, absent otherwise
# --------------------------------------------------------------------------------------------------
def test_projection_and_supervision_sections_from_stored_rows(handmade, tmp_path):
    wh = handmade
    with pytest.raises(ReportError, match="no data"):
        build_report(wh, sections=["projection", "supervision"])  # no stored runs: both sections left out
    # a stored projection run for the city: resident pooled fund, base 2024, three years; it turns negative
    # in 2026 (central path) -> the finding names 2026
    wh.append("projection_runs", pd.DataFrame([dict(
        run_id="P1", started=pd.Timestamp("2025-01-02"), actor="t", scenario_name="baseline", scenario_json="{}",
        base_year=2024, years=3, paths=100, seed=1, units=2, seconds=0.1)]))
    wh.append("projection_results", pd.DataFrame([dict(
        run_id="P1", region_code="990100", scheme="resident", fund="pooled", year=y, income_total=1_600_000.0,
        expenditure_total=1_900_000.0 + 100_000 * k, balance_end=b, payable_months=m, balance_p5=b - 500_000,
        balance_p50=b, balance_p95=b + 500_000, p_below_safety_line=pb, p_exhausted=pe)
        for k, (y, b, m, pb, pe) in enumerate([(2025, 1_880_000.0, 11.9, 0.10, 0.0), (2026, -125_050.0, -0.8, 0.9, 0.55),
                                               (2027, -2_525_050.0, -14.4, 1.0, 0.97)])]))
    # supervision: two hits in 2024 (one in 2023, not counted) on a case of county B, confirmed
    wh.append("supervision_cases", pd.DataFrame([dict(
        case_id="P:H1", entity_type="provider", entity_id="H1", region_code="990102", status="confirmed", hits=3,
        claims=3, rules="[]", suspected_amount=30_050.0, score=1.0, confirmed_amount=20_000.0, recovered_amount=None)]))
    wh.append("supervision_hits", pd.DataFrame([dict(
        hit_id=f"h{i}", rule_id=r, kind="claim", case_by="provider", claim_id=f"C{i}", person_id="x",
        provider_id="H1", service_date=pd.Timestamp(d).date(), amount_at_stake=a, case_id="P:H1")
        for i, (r, d, a) in enumerate([("split_admission", "2024-03-01", 10_050.0),
                                       ("split_admission", "2024-05-01", 10_000.0),
                                       ("over_quantity", "2023-12-31", 10_000.0)])]))
    rep = build_report(wh, lang="zh")
    assert [s.id for s in rep.sections] == ["summary", "indicators", "trend", "warnings", "disparity", "pooling", "projection",
                                                  "supervision"]
    text = "\n".join(rep.section("projection").paragraphs)
    assert "按基准情景预测，居民医保统筹基金累计结存中央情景下于2026年转负；2027年耗尽概率97.00%。" == text
    proj = rep.table("projection_resident_pooled").data
    assert list(proj.balance_end) == [188.0, -12.51, -252.51]  # -125,050 yuan: half away from zero
    sup = "\n".join(rep.section("supervision").paragraphs)
    assert "智能监管筛查出2024年疑点2个，涉及金额2.01万元；金额最多的规则为分解住院。" in sup  # 20,050 yuan
    assert "共有监管案件1件，其中已认定1件、已追回0件，追回金额0.00万元" in sup
    rules = rep.table("supervision_rules").data
    assert list(rules.rule_id) == ["split_admission"] and list(rules.hits) == [2]
    assert rep.table("supervision_cases").data.region_code.tolist() == ["990102"]
    wb = openpyxl.load_workbook(write_xlsx(rep, tmp_path / "r.xlsx"))
    assert "收支预测" in wb.sheetnames and len(wb["智能监管"]._charts) == 1
    assert "chart-projection_resident_pooled" in render_html(rep)
    with pytest.raises(ReportError, match="no data"):  # county A has no case and no hit
        build_report(wh, "990101", lang="en", sections=["supervision"])


def test_demo_disparity_against_an_independent_weighted_gini(reports, demo_wh):
    from mifund.ledger.indicators import compute_indicators

    ind = compute_indicators(demo_wh, years=[2024])
    d = reports["en"].table("disparity").data.set_index(["scheme", "fund", "indicator"])
    for scheme in ("employee", "resident"):
        rows = ind[(ind.scheme == scheme) & (ind.fund == "pooled")]
        city = rows[rows.region_code == "360100"].iloc[0]
        c = rows[rows.region_level == "county"]
        y, w = c.expenditure_per_capita.to_numpy(float), c.insured.to_numpy(float)
        # weighted by the insured, the mean per-capita expenditure is the city's own (sum / sum)
        assert d.loc[(scheme, "pooled", "expenditure_per_capita"), "weighted_mean"] == pytest.approx(
            city.expenditure_per_capita, abs=0.005)
        # Gini as the weighted mean absolute difference over twice the mean
        gini = (np.outer(w, w) * np.abs(y[:, None] - y[None, :])).sum() / (2 * w.sum() ** 2 * (w @ y / w.sum()))
        assert d.loc[(scheme, "pooled", "expenditure_per_capita"), "gini"] == pytest.approx(gini, abs=5e-5)
        assert d.loc[(scheme, "pooled", "expenditure_per_capita"), "max_min_ratio"] == pytest.approx(
            y.max() / y.min(), abs=0.005)
